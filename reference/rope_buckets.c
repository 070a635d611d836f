/* reference/rope_buckets.c — Attention Buckets: each copy of the model is RoPE at its own base.
 *
 * Sources checked (2026-12-07, with the search tool):
 *   Chen et al., "Fortify the Shortest Stave in Attention: Enhancing Context Awareness of Large Language
 *     Models for Effective Tool Use" (arXiv 2312.04455): several copies of the model run in parallel, each
 *     with a different RoPE base ("attention buckets"), and their predictions are combined;
 *   AlibabaResearch/DAMO-ConvAI attention-buckets/modeling_llama.py (commit ef1f2e1d72bf):
 *     LlamaAttention._set_base_batch stores base_list; in forward, q, k and v are repeated over a batch of
 *     len(base_list) copies and copy i gets LlamaRotaryEmbedding._set_base(base_list[i]):
 *     inv_freq = 1 / base ** (arange(0, dim, 2) / dim), positions unchanged, paired by rotate_half;
 *     base_rag/test_nq_kl.py passes base_list = [10000, 13000, 16000, 19000, 22000, 25000, 28000].
 * What pecs covers: the rotation of one copy, the one selected by `bucket` (the batch index of the repeated
 * q/k): inv[i] = bases[bucket]^(-2i/R). The combination of the copies' last-token logits
 * (LlamaForCausalLM.forward's base_mean branch: weights softmax over the copies of each copy's top logit,
 * then a weighted sum of the logits) acts on the LM head's output, outside every pecs form, and is not
 * covered (docs/encodings.md says so).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_buckets)
{
    const pecs_param *bases = pecs_problem_param(p, "bases");
    int64_t j = pecs_param_int(p, "bucket", 0);
    if (!bases || j >= bases->n) {
        snprintf(why, why_len, "rope.buckets: bucket %lld names no base (bases has %lld)", (long long)j,
                 (long long)(bases ? bases->n : 0));
        return PECS_INVALID;
    }
    for (int64_t i = 0; i < sched->R / 2; i++)
        sched->inv_freq[i] = pow(bases->list[j], -(double)(2 * i) / (double)sched->R);
    return PECS_OK;
}
