/* reference/fire.c — FIRE: functional interpolation for relative positions.
 *
 * Sources checked: Li et al. 2023, "Functional Interpolation for Relative Positions Improves Long Context
 * Transformers", appendix code (replicated in public repositories): with query position i, key j,
 *     psi(x) = log(|c x| + 1),  L = |L_mult * init_L|,
 *     b(i, j) = f( psi(i - j) / (psi(max(i, L)) + eps) ),  f = Linear(hidden, H) o ReLU o Linear(1, hidden)
 * The MLP weights are data: tensor "w" [H + 2, hidden + 1] holds
 *     row 0: W1[0..hidden-1]      row 1: b1[0..hidden-1]      row 2+h: W2[h][0..hidden-1], b2[h]
 * (the last column of rows 0 and 1 is unused). Invariant under a common shift only while every query
 * position is below L (the normaliser is psi(L) there): invariance FIXED_L.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_BIAS(fire)
{
    int64_t hidden = pecs_param_int(p, "hidden", 32);
    const pecs_tensor *w = pecs_ref_weights(p, H + 2, hidden + 1, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *wd = w->data;
    int64_t rs = w->stride[0], cs = w->stride[1];
    double c = pecs_param_real(p, "c", 0.1), eps = pecs_param_real(p, "eps", 1e-6);
    double L = fabs(pecs_param_real(p, "L_mult", 1.0) * pecs_param_real(p, "init_L", 512.0));
    double u = log(fabs(c * (qpos - kpos)) + 1.0) / (log(fabs(c * fmax(qpos, L)) + 1.0) + eps);
    double acc = wd[(2 + h) * rs + hidden * cs];
    for (int64_t k = 0; k < hidden; k++)
        acc += wd[(2 + h) * rs + k * cs] * fmax(wd[k * cs] * u + wd[rs + k * cs], 0.0);
    *bias = acc;
    return PECS_OK;
}
