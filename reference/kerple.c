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
 * with r1, r2 learned per head and clamped before use; the parameter bounds here are those clamps, and
 * the values given are the effective ones.
 *
 * The clamp value. The same classes in chijames/KERPLE megatron/mpu/layers.py (commit 73f1ee2d, read
 * 2026-12-05 through the search tool) set eps = 1e-2 and run param.data.clamp(min=eps) (max=2 on the
 * power exponent) in every forward. On float32 parameters that leaves float32(0.01) =
 * 0.009999999776482582, below 0.01 (bfloat16 and float16 parameters round above it), so the lower bound
 * is float32(0.01) and that value is accepted. Below it pecs rejects the case instead of clamping: a value
 * under the clamp never reaches the authors' kernel, so it is a configuration error, and a silent clamp
 * would give two case strings one meaning.
 *
 * Not represented: ParallelKerplePower also has a multiplicative weight kernel, returning
 * x * exp(-wei_a * d^wei_p) + bias for the scaled scores x, when the pos_emb name has a non-empty weight
 * part. It multiplies the content scores, so it is not a bias (a function of positions added to q.k) and
 * cannot be a row of this form; the authors' released configs (generate_ymls.py: kerple_power_ap_, an
 * empty weight part) do not enable it. docs/encodings.md gives the reasoning.
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
