/* reference/rope_rmt.c — the rotary part of RMT (Retentive Networks Meet Vision Transformers).
 *
 * Sources checked (2026-12, with the search tool):
 *   Fan et al., "RMT: Retentive Networks Meet Vision Transformers" (CVPR 2024), sec. 3 (MaSA; the xPos-style
 *     rotation of q and k before the Manhattan decay);
 *   qhfan/RMT classfication_release/RMT.py (the authors' code), RetNetRelPos2d:
 *     angle = 1/(10000 ** linspace(0, 1, key_dim // 2)), repeated per pair ([a0 a0 a1 a1 ...]);
 *     forward: index = arange(H*W), sin/cos = sin/cos(index[:, None] * angle), reshaped to (h, w, d) — the
 *     raster index l = y*W + x of the patch is the position; theta_shift(x) = x*cos + rotate_every_two(x)*sin
 *     with rotate_every_two(x) = stack(-x[1::2], x[::2]): interleaved pairs, the standard rotation;
 *     applied to q and to k (k pre-scaled by key_dim^-0.5, outside this kernel).
 *   The Manhattan decay mask of MaSA is a bias-form encoding (catalogue "masa"), not part of this kernel.
 * Convention fixed here (R = rotary dim, n = R/2 pairs):
 *   inv[k] = base^(-k/(n-1)) for n > 1 (exponent linspace(0,1,n)[k] = k/(n-1), NOT 2k/R); inv[0] = 1 when n = 1
 *   (torch.linspace(0, 1, 1) = [0]). Positions are the raster index (`grid@W` gives it with one position row).
 *   Attention factor 1. The code fixes base 10000 and interleaved pairs (the registry defaults).
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_rmt)
{
    (void)why, (void)why_len;
    int64_t n = sched->R / 2;
    double base = pecs_param_real(p, "base", 10000.0);
    for (int64_t k = 0; k < n; k++)
        sched->inv_freq[k] = n > 1 ? pow(base, -(double)k / (double)(n - 1)) : 1.0;
    return PECS_OK;
}
