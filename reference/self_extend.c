/* reference/self_extend.c — Self-Extend grouped and neighbour position ids (posmap form, P = 3).
 *
 * Sources checked (2026-12-06, through the search tool):
 *   Jin et al. 2024, "LLM Maybe LongLM: Self-Extend LLM Context Window Without Tuning" (ICML; arXiv 2401.01325),
 *   as its README summarises it: relative distances below the neighbour window W are kept, beyond it they are
 *   floor-grouped by G and shifted by W - W/G. The paper's own equations were not read here: the definition
 *   below is the code's.
 *   The authors' code, datamllab/LongLM self_extend_patch/Llama.py @18950b5a, self_extend_forward (q_len ==
 *   kv_seq_len branch): neighbour ids = position_ids for queries and keys; group_key_position = p // G;
 *   group_query_position = p // G + s - s / G with s = 0 if max(query_position) < W else W; the neighbour
 *   pass is taken where the mask neighbor_attention_mask is set: causal pairs with i - j < W (the grouped
 *   lower triangle shifted by W is subtracted), the grouped pass elsewhere.
 * Where the code is not exact: s / G is a true division in the eager path and s // G in the decode path
 * of flash_self_extend_forward; they agree only when W % G == 0, so other W are rejected here rather than
 * choosing. Python // floors, so negative ids floor too.
 * Output rows (each is a plain position row for rope's "pos"):
 *     out[0][t] = idx[t]                                  neighbour pass, queries and keys
 *     out[1][t] = floor(idx[t]/G) + s - s/G               grouped pass, queries
 *     out[2][t] = floor(idx[t]/G)                         grouped pass, keys
 * The per-pair choice (row 0 with row 0 when idx[i] - idx[j] < W, else row 1 with row 2) is the attention
 * mask's business, documented in include/pecs/backend.h; the decode path (q_len 1) rotates keys at the
 * difference instead and is not this map.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_POSMAP(self_extend)
{
    int64_t G = pecs_param_int(p, "group_size", 8), W = pecs_param_int(p, "window", 1024);
    if (W % G != 0) {
        snprintf(why, why_len, "self_extend: window %lld must be a multiple of group_size %lld (the authors' eager "
                 "and decode paths disagree otherwise)", (long long)W, (long long)G);
        return PECS_INVALID;
    }
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    int64_t T = idx->shape[idx->ndim - 1];
    double m = -INFINITY;
    for (int64_t t = 0; t < T; t++)
        m = fmax(m, pecs_pos_at(idx, 0, t));
    double s = m >= (double)W ? (double)W : 0.0, g = (double)G;
    double *od = out->data;
    for (int64_t t = 0; t < T; t++) {
        double i = pecs_pos_at(idx, 0, t), k = floor(i / g);
        od[0 * out->stride[0] + t * out->stride[1]] = i;
        od[1 * out->stride[0] + t * out->stride[1]] = k + s - s / g;
        od[2 * out->stride[0] + t * out->stride[1]] = k;
    }
    return PECS_OK;
}
