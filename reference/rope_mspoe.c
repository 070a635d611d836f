/* reference/rope_mspoe.c — Ms-PoE (Multi-scale Positional Encoding): per-head position compression.
 *
 * Sources checked (2026-12, with the search tool):
 *   Zhang et al., "Found in the Middle: How Language Models Use Long Contexts Better via Plug-and-Play Positional
 *     Encoding" (arXiv 2403.04797), sec. 3 (head-wise scaling ratios between r_min and r_max, heads ordered by
 *     their position-awareness);
 *   VITA-Group/Ms-PoE utils/modify_arch/llama.py (the authors' code): MsPoELlamaRotaryEmbedding builds, for
 *     k = 0..num_heads-1, compress_ratio_k = min_ratio + (max_ratio - min_ratio) * (k / num_heads) (divided by
 *     num_heads, not num_heads - 1) and caches cos/sin of (arange(len) / compress_ratio_k) * inv_freq, split halves;
 *     MsPoELlamaAttention.forward takes head_order = argsort(outlier) from the first forward pass
 *     (_calculate_outlier: data-dependent), then cos = cos[head_order] for the queries (query head h gets ratio
 *     index head_order[h], the permutation itself, not its inverse) and cos[head_order][::num_key_value_groups]
 *     for the keys (KV head g gets head_order[g * groups]); src/ms_poe.sh and inference.py: ratios 1.2 and 1.8,
 *     layers 2..31 (the class defaults 1 and 3 are not used).
 * Convention fixed here (H = heads of x; H_q = H for role=query, H * kv_groups for role=key; order = head_order,
 * the identity when empty, which must be a permutation of 0..H_q-1):
 *   head h uses q(h) = order[h] (query) or order[h * kv_groups] (key), r = r_min + (r_max - r_min) * q(h) / H_q,
 *   and RoPE at position p / r: inv_freq[i] * (1/r) for every pair (pecs_ref_rot head_scale).
 * The head order is data-dependent in the model; here it is an input, so the kernel is deterministic.
 * Invariance: exact for MHA (kv_groups 1: q and k of head h share r). With GQA the code gives a KV head the ratio
 * of the first query head of its group while the group's other query heads use their own: q and k of such a head
 * are compressed differently and the logits depend on absolute positions (catalogue note 5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_mspoe)
{
    double rmin = pecs_param_real(p, "min_ratio", 1.2), rmax = pecs_param_real(p, "max_ratio", 1.8);
    int64_t groups = pecs_param_int(p, "kv_groups", 1);
    int key = pecs_param_is(p, "role", "key");
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    if (st != PECS_OK || sched->heads <= 0)
        return st; /* without heads (pecs eval of the schedule alone): the shared RoPE frequencies */
    int64_t Hq = key ? sched->heads * groups : sched->heads;
    const pecs_param *ord = pecs_problem_param(p, "head_order");
    int64_t n = ord ? ord->n : 0;
    if (n > 0) {
        if (n != Hq) {
            snprintf(why, why_len, "head_order has %lld values, %lld query heads need %lld", (long long)n, (long long)Hq,
                     (long long)Hq);
            return PECS_INVALID;
        }
        char *seen = calloc((size_t)Hq, 1);
        if (!seen)
            return PECS_NOMEM;
        for (int64_t k = 0; k < n; k++) {
            double v = ord->list[k];
            if (v != floor(v) || v < 0 || v >= (double)Hq || seen[(int64_t)v]) {
                snprintf(why, why_len, "head_order must be a permutation of 0..%lld; value %g at %lld", (long long)(Hq - 1), v,
                         (long long)k);
                free(seen);
                return PECS_INVALID;
            }
            seen[(int64_t)v] = 1;
        }
        free(seen);
    }
    if ((st = pecs_ref_rot_heads(sched)) != PECS_OK)
        return st;
    for (int64_t h = 0; h < sched->heads; h++) {
        int64_t qh = key ? h * groups : h;
        double idx = n > 0 ? ord->list[qh] : (double)qh;
        sched->head_scale[h] = 1.0 / (rmin + (rmax - rmin) * (idx / (double)Hq));
    }
    return PECS_OK;
}
