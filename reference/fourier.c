/* reference/fourier.c — learnable Fourier features (Li et al. 2021), one-dimensional positions, weights given.
 *
 * Sources checked (2026-12-06, through the search tool): Li, Si, Li, Hsieh & Bengio 2021, "Learnable Fourier
 * Features for Multi-Dimensional Spatial Positional Encoding" (NeurIPS), Algorithm 1: the Fourier features
 * r_x = [cos(x Wr^T) || sin(x Wr^T)] / sqrt(|F|) (eq. 2), then PE_x = GELU(r_x W1 + B1) W2 + B2 (eq. 6), added
 * to the input. The authors' own code is not in the stored corpus; the public transcriptions of Algorithm 1
 * agree on every detail used here: willGuimont/learnable_fourier_positional_encoding
 * learnable_fourier_pos_encoding.py @220e9385 (Wr = Linear(M, F/2, bias=False), cat([cos, sin]) / sqrt(F_dim),
 * Linear(F, H) -> nn.GELU() (the exact, erf form) -> Linear(H, D/G), both with bias) and the
 * LearnableFourierFeatures module copied across several repositories (div_term = sqrt(f_dim), same order).
 * One variant seen uses nn.GELU(approximate="tanh"); that is not Algorithm 1's GeLU (mutant fourier_gelu_tanh).
 * The embed form carries one position row: M = 1 and G = 1 (positions x are the token's scalar position).
 *
 * "w" [hidden+1, features+D+1] (registry), F = features, Hd = hidden:
 *   row r < Hd:  w[r][f] = W1[f][r] (Linear(F,Hd).weight[r][f]) for f < F;  w[r][F] = B1[r];
 *                w[r][F+1+d] = W2[r][d] (Linear(Hd,D).weight[d][r]) for d < D
 *   row Hd:      w[Hd][k] = Wr[k] (Linear(1,F/2).weight[k][0]) for k < F/2; columns F/2..F unused;
 *                w[Hd][F+1+d] = B2[d]
 * Angles x * Wr[k] are exact products reduced in double-double (pecs_ref_sincos); GELU(z) = z (1 + erf(z/sqrt 2)) / 2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(fourier)
{
    int64_t F = pecs_param_int(p, "features", 64), Hd = pecs_param_int(p, "hidden", 32), h = F / 2;
    if (F % 2) {
        snprintf(why, why_len, "fourier: features must be even (cos and sin halves), got %lld", (long long)F);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, Hd + 1, F + D + 1, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *wd = w->data;
#define W(r, c) wd[(r) * w->stride[0] + (c) * w->stride[1]]
    double *feat = malloc((size_t)F * sizeof *feat);
    if (!feat) {
        snprintf(why, why_len, "fourier: out of memory");
        return PECS_NOMEM;
    }
    double inv = 1.0 / sqrt((double)F);
    for (int64_t k = 0; k < h; k++) {
        double s, c;
        pecs_ref_sincos(pos, W(Hd, k), &s, &c);
        feat[k] = c * inv;
        feat[h + k] = s * inv;
    }
    for (int64_t d = 0; d < D; d++)
        row[d] = W(Hd, F + 1 + d);
    for (int64_t r = 0; r < Hd; r++) {
        double z = W(r, F);
        for (int64_t f = 0; f < F; f++)
            z += feat[f] * W(r, f);
        double g = 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
        for (int64_t d = 0; d < D; d++)
            row[d] += g * W(r, F + 1 + d);
    }
#undef W
    free(feat);
    return PECS_OK;
}
