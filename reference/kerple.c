/* reference/kerple.c — KERPLE logarithmic and power kernels (two registry rows, one file).
 *
 * Sources checked: Chi et al. 2022, "KERPLE: Kernelized Relative Positional Embedding for Length
 * Extrapolation" (the log and power variants of the conditionally positive definite kernels); the
 * authors' gpt-neox fork, positional_embeddings.py ParallelKerpleLog / ParallelKerplePower (read
 * 2026-11-22 through the search tool; the repository name was not shown): distance d = tril(i - j), i.e.
 * i - j for keys at or before the query and 0 above the diagonal (masked elsewhere), and
 *     log:    bias = -r1 * log(1 + r2 * d)        (code: -bias_p * log(1 + bias_a * d))
 *     power:  bias = -r1 * d^r2,  0 < r2 <= 2     (code: -bias_a * d^bias_p: the names swap; here r1 is
 *                                                  always the outer coefficient, r2 the inner one)
 * with r1, r2 learned per head and clamped to >= 0.01 (r2 <= 2 for power) before use; the parameter
 * bounds here are those clamps, and the values given are the effective ones.
 */
#include <math.h>

#include "reference.h"

static pecs_status kerple(const pecs_problem *p, int64_t H, int64_t h, double dist, int power, double *bias, char *why,
                          size_t why_len)
{
    if (!pecs_ref_list_len_ok(p, "r1", H, 1, why, why_len) || !pecs_ref_list_len_ok(p, "r2", H, 1, why, why_len))
        return PECS_INVALID;
    const pecs_param *r1 = pecs_problem_param(p, "r1"), *r2 = pecs_problem_param(p, "r2");
    double a = r1->list[r1->n == 1 ? 0 : h], b = r2->list[r2->n == 1 ? 0 : h];
    *bias = power ? -a * pow(dist, b) : -a * log1p(b * dist);
    return PECS_OK;
}

PECS_REF_HOOK_BIAS(kerple_log) { return kerple(p, H, h, fmax(qpos - kpos, 0.0), 0, bias, why, why_len); }

PECS_REF_HOOK_BIAS(kerple_power) { return kerple(p, H, h, fmax(qpos - kpos, 0.0), 1, bias, why, why_len); }
