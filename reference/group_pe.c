/* reference/group_pe.c — group position encoding for streaming: separate id streams for source and target (posmap
 * form, P = 1).
 *
 * Sources checked (2026-12-06, through the search tool): Tong et al. 2025, "LLM as Effective Streaming Processor:
 * Bridging Streaming-Batch Mismatches with Group Position Encoding" (ACL Findings; the paper itself not read here),
 * and the authors' code, EIT-NLP/StreamingLLM @a92587c StreamingLLM_GPE/dataloader_hf.py,
 * StreamingDataCollator.calculate_lengths: the training input is the source (instruction, user prompt, source text,
 * end marker; source_token_len tokens) followed by the target (assistant prompt, target text, end marker); in
 * 'streaming' mode the ids are list(range(source_token_len)) followed by range(pe_cache_length, pe_cache_length +
 * input_batch_len - source_token_len) ("pe_cache_length: start position id of target tokens in streaming mode",
 * default 0); in 'batch' mode they are range(input_batch_len). The interleaving of source and target in streaming
 * is done by the attention mask (attn_mask_index), not by the ids. A third-party fork's generation loop
 * (find_string hit, "Target[0] is always pe_cache_length") gives the target ids at inference the same way,
 * pe_cache_length + past_target_length.
 * The map, with S = source_len (the code's source_token_len) and target_start = pe_cache_length:
 *     out[0][t] = idx[t]                          if idx[t] < S     (source group)
 *               = target_start + (idx[t] - S)     otherwise         (target group)
 * idx[t] is the token's index in the concatenated source + target input (0..T-1 in the collator; any integer here).
 * Batch mode is the identity (target_start = S).
 */
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_POSMAP(group_pe)
{
    (void)why, (void)why_len;
    double S = (double)pecs_param_int(p, "source_len", 16), start = (double)pecs_param_int(p, "target_start", 0);
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    double *od = out->data;
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        double i = pecs_pos_at(idx, 0, t);
        od[t * out->stride[1]] = i < S ? i : start + (i - S);
    }
    return PECS_OK;
}
