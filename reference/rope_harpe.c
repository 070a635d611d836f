/* reference/rope_harpe.c — HARPE (Head-Adaptive Rotary Position Encoding): plain RoPE, one base per head.
 *
 * Source checked (2026-12, with the search tool; no code was released): Lian, Chen, Huang, Xiong, Hu et al.,
 * "Breaking the Stage Barrier: A Novel Single-Stage Approach to Long Context Extension for Large Language Models",
 * COLING 2025 (arXiv 2412.07171), read in a stored full-text conversion (source-index file id 63634624931):
 *   sec. 3.2, Eqs. 6-8: head h rotates with RoPE at its own base b_h, theta_(h,i) = b_h^(-2(i-1)/d), i = 1..d/2 (Eq. 5
 *     with b replaced by b_h); the cardinality of the base set is the number of attention heads;
 *   Eq. 9, the uniform set: b_h = b_min + h (b_max - b_min)/(N - 1), h = 0..N-1, N the number of heads;
 *   Eq. 10 and Algorithm 1, the peak/valley search over candidates b_min + i s: its peak and valley functions f_p, f_v
 *     are named, not given, so pecs takes the search's published result, Table 2 (32 heads, LLaMA2-7B, b_min 1e6,
 *     b_max 5e6, s = 30k, bases in millions; every one is 1e6 + k * 30000, so the two printed decimals are exact);
 *   sec. 4 "HARPE Base Setting": b_min = 1m, b_max = 5m (the defaults here);
 *   sec. 5.2 / Table 6: the uniform set tried in ascending and in descending order over the heads.
 * Convention fixed here (H = heads of x; the paper's model is multi-head, queries and keys of head h share b_h):
 *   base_set=uniform   ascending: b_h of Eq. 9; descending: b_(H-1-h). Eq. 9 divides by H - 1: H >= 2, and
 *                      min_base <= max_base (a reversed range is the descending order, said so);
 *   base_set=table2    b_h = Table 2's head h+1 (H must be 32);
 *   base_set=list      b_h = bases[h] (H values).
 *   inv_freq of pair i of head h = b_h^(-2i/R) (head_freq), R the rotary dimension; pairing, partial rotary,
 *   freq_factors and attn_factor as rope's. Without heads (pecs eval of the schedule alone) inv_freq is head 0's.
 * Not fixed by the paper, so not offered: GQA (which query heads' base a shared KV head takes), Algorithm 1 itself.
 * Invariance: exact (RoPE per head; q and k of a head turn at the same frequencies).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

/* Table 2 of the paper, head 1..32, in millions. */
static const double g_table2[32] = {1.00, 1.15, 1.30, 1.45, 2.17, 2.20, 2.23, 2.47, 2.50, 2.65, 2.68,
                                    2.71, 2.74, 2.80, 2.83, 2.92, 3.01, 3.04, 3.10, 3.13, 3.16, 3.22,
                                    3.43, 3.46, 3.61, 3.88, 4.09, 4.15, 4.39, 4.45, 4.51, 4.54};

/* The base of head h of H (h < H; H >= 1 after validation), or 0 with a reason. */
static double harpe_base(const pecs_problem *p, int64_t H, int64_t h, char *why, size_t why_len)
{
    const pecs_param *l = pecs_problem_param(p, "bases");
    int64_t nl = l ? l->n : 0;
    int desc = pecs_param_is(p, "order", "descending");
    if (pecs_param_is(p, "base_set", "list")) {
        if (nl != H || H < 1 || desc) {
            snprintf(why, why_len, "rope.harpe base_set=list needs bases with one value per head (%lld), got %lld%s",
                     (long long)H, (long long)nl, desc ? "; order=descending applies to base_set=uniform only" : "");
            return 0.0;
        }
        return l->list[h];
    }
    if (nl > 0 || (desc && !pecs_param_is(p, "base_set", "uniform"))) {
        snprintf(why, why_len, "rope.harpe: %s", nl > 0 ? "bases is read only with base_set=list"
                                                        : "order=descending applies to base_set=uniform only");
        return 0.0;
    }
    if (pecs_param_is(p, "base_set", "table2")) {
        if (H != 32) {
            snprintf(why, why_len, "rope.harpe base_set=table2 is the paper's 32-head set (LLaMA2-7B); this call has %lld "
                     "heads", (long long)H);
            return 0.0;
        }
        return g_table2[h] * 1e6;
    }
    double lo = pecs_param_real(p, "min_base", 1e6), hi = pecs_param_real(p, "max_base", 5e6);
    if (H < 2 || lo > hi) {
        snprintf(why, why_len, "rope.harpe base_set=uniform: %s", H < 2 ? "Eq. 9 divides by N - 1, so it needs at least "
                 "2 heads (use base_set=list for one)" : "min_base > max_base (order=descending reverses the heads)");
        return 0.0;
    }
    int64_t k = desc ? H - 1 - h : h;
    return lo + (double)k * (hi - lo) / (double)(H - 1);
}

PECS_REF_HOOK_ROTATE(rope_harpe)
{
    int64_t n = sched->R / 2, H = sched->heads > 0 ? sched->heads : 0;
    /* without heads: head 0 of the smallest call the set allows (uniform 2, table2 32, list its length) */
    const pecs_param *l = pecs_problem_param(p, "bases");
    int64_t H0 = H > 0 ? H : pecs_param_is(p, "base_set", "table2") ? 32 : pecs_param_is(p, "base_set", "list") ? (l ? l->n : 0) : 2;
    double b0 = harpe_base(p, H0, 0, why, why_len);
    if (b0 <= 0.0)
        return PECS_INVALID;
    for (int64_t i = 0; i < n; i++)
        sched->inv_freq[i] = pow(b0, -(double)(2 * i) / (double)sched->R);
    if (H == 0)
        return PECS_OK;
    if (!(sched->head_freq = calloc((size_t)(H * (n > 0 ? n : 1)), sizeof *sched->head_freq)))
        return PECS_NOMEM;
    for (int64_t h = 0; h < H; h++) {
        double b = harpe_base(p, H, h, why, why_len);
        if (b <= 0.0)
            return PECS_INVALID; /* head_freq is freed with the schedule */
        for (int64_t i = 0; i < n; i++)
            sched->head_freq[h * n + i] = pow(b, -(double)(2 * i) / (double)sched->R);
    }
    return PECS_OK;
}
