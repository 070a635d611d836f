/* reference/alibi_pi.c — ALiBi with position interpolation of the slopes (ALiBi-PI).
 *
 * Sources checked: Al-Khateeb, Dey, Soboleva, Hestness 2023, "Position Interpolation Improves ALiBi
 * Extrapolation" (arXiv 2310.13017): the slopes are divided by the interpolation factor. The code, by the
 * same group: Cerebras' AlibiPositionEmbeddingLayer as carried by the JAIS / BTLM modeling files, read
 * 2026-12-05 through the search tool in a Qualcomm adaptation of modeling_jais.py
 * (QCAlibiPositionEmbeddingLayer_forward) and in vLLM's / TGI's JAIS ports (AlibiPositionEmbeddingLayer.forward):
 *     relative_position = |memory_position - context_position|           (symmetric, both directions)
 *     scale = alibi_scaling["factor"]                         if a factor is configured
 *           = L / alibi_scaling["train_seq_len"]              elif L > train_seq_len, L = relative_position.shape[-1]
 *           = 1                                               otherwise (or with no alibi_scaling)
 *     alibi = (slopes / -scale) * relative_position
 * and the configuration validator: factor must be a float > 1.0, train_seq_len an integer > 1. L is the key
 * length of the call (cached keys included), so the slope of a dynamic case changes with the key count: the
 * bias is relative-shift invariant only while L is fixed (registry FIXED_L; the invariance sweep keeps it).
 * Slopes: _get_alibi_slopes is Press's get_slopes (power-of-two rule plus the interleave for other head
 * counts), the same as reference/alibi.c (repeated here so each reference file stands alone), with the
 * paper's 8 generalised to max_bias.
 * The bias is defined for every (i, j): |i - j|, not clipped to the causal half.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static double press_slope(int64_t H, int64_t h, double max_bias)
{
    int64_t P = 1;
    while (P * 2 <= H)
        P *= 2;
    if (h < P)
        return exp2(-max_bias * (double)(h + 1) / (double)P);
    return exp2(-max_bias * (double)(2 * (h - P) + 1) / (double)(2 * P)); /* slopes(2P)[0::2][h-P] */
}

PECS_REF_HOOK_BIAS(alibi_pi)
{
    double factor = pecs_param_real(p, "factor", 0.0);
    int64_t train = pecs_param_int(p, "train_seq_len", 0), L = pecs_param_int(p, "key_len", 0);
    if (factor != 0.0 && factor <= 1.0) {
        snprintf(why, why_len, "alibi.pi factor must be > 1 (the alibi_scaling validator), or 0 for none; got %g", factor);
        return PECS_INVALID;
    }
    if (train == 1) {
        snprintf(why, why_len, "alibi.pi train_seq_len must be > 1 (the alibi_scaling validator), or 0 for none");
        return PECS_INVALID;
    }
    double s = 1.0;
    if (factor > 0.0) {
        s = factor;
    } else if (train > 0) {
        const pecs_tensor *kp = pecs_problem_tensor(p, "kpos");
        if (L == 0)
            L = kp ? kp->shape[0] : 1;
        if (L > train)
            s = (double)L / (double)train;
    }
    *bias = -(press_slope(H, h, pecs_param_real(p, "max_bias", 8.0)) / s) * fabs(kpos - qpos);
    return PECS_OK;
}
