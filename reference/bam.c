/* reference/bam.c — BAM: the Bayesian Attention Mechanism's generalized Gaussian positional prior.
 *
 * Sources checked: Bianchessi, Aguirre, Barros, Kupssinsku 2025, "Bayesian Attention Mechanism: A
 * Probabilistic Framework for Positional Encoding and Context Length Extrapolation" (arXiv 2505.22842,
 * ICLR 2026); the authors' BAM repository, read 2026-12-05 through the search tool: README ("Implementation
 * Details") and the model files (models/bam.py, models/bam_ssmax.py), class AttentionPrior:
 *     b = positions[None, :] - positions[:, None]        b[i][j] = key position - query position
 *     b = b - (exp(theta_mu) - exp(-theta_mu))
 *     prior = -((|b| + eps) ** theta_beta) * exp(theta_alpha)          eps = 1e-5
 * with theta_alpha (log-scale), theta_beta (shape), theta_mu (offset) one per head. The README's formula
 * writes |(i - j) - mu|; the code subtracts mu from (j - i). They agree for mu = 0 (theta_mu = 0, the
 * default, not trained unless --theta_mu_trainable=1); pecs follows the code. Initialisation 'slope' puts
 * ALiBi's get_slopes(n_heads) (Press's rule, defined in the same file) into theta_alpha itself, so the
 * initial scale is exp(slope), not the slope: the empty default of theta_alpha reproduces that. With
 * theta_beta = 1 and mu = 0 the prior is a symmetric ALiBi (up to eps); theta_beta = 0 makes it a
 * constant (NoPE after softmax).
 * Not represented: the _ssmax variants multiply the whole score (content + prior) by
 * log(section length) * seq_scale; that is a scale of the logits, not part of the prior. The global variant
 * adds the same prior once for all layers; per call it is the same bias.
 * Computed in double (the code runs in float32).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static double press_slope(int64_t H, int64_t h)
{
    int64_t P = 1;
    while (P * 2 <= H)
        P *= 2;
    if (h < P)
        return exp2(-8.0 * (double)(h + 1) / (double)P);
    return exp2(-8.0 * (double)(2 * (h - P) + 1) / (double)(2 * P));
}

PECS_REF_HOOK_BIAS(bam)
{
    const pecs_param *al = pecs_problem_param(p, "theta_alpha"), *be = pecs_problem_param(p, "theta_beta"),
                     *mu = pecs_problem_param(p, "theta_mu");
    if ((al && al->n > 0 && !pecs_ref_list_len_ok(p, "theta_alpha", H, 1, why, why_len)) ||
        !pecs_ref_list_len_ok(p, "theta_beta", H, 1, why, why_len) || !pecs_ref_list_len_ok(p, "theta_mu", H, 1, why, why_len))
        return PECS_INVALID;
    double a = al && al->n > 0 ? al->list[al->n == 1 ? 0 : h] : press_slope(H, h);
    double beta = be->list[be->n == 1 ? 0 : h], t = mu->list[mu->n == 1 ? 0 : h];
    double b = (kpos - qpos) - (exp(t) - exp(-t));
    *bias = -pow(fabs(b) + pecs_param_real(p, "eps", 1e-5), beta) * exp(a);
    return PECS_OK;
}
