/* reference/xpos.c — xPos: RoPE with an exponential per-pair scale.
 *
 * Sources checked: Sun et al. 2022, "A Length-Extrapolatable Transformer" (xPos); microsoft/torchscale
 * torchscale/component/xpos_relative_position.py (XPOS): zeta_i = (2i + 0.4 R)/(1.4 R) for i < R/2
 * (gamma = 0.4), scale = zeta^(pos/scale_base) with scale_base 512, queries multiplied by the scale and
 * keys by its inverse (downscale=True), both the cos and the sin term; the angles are RoPE's
 * (10000^(-2i/R)), pairs interleaved. torchscale centres the exponent on the window:
 * pos runs from min_pos = -(N)//2 (Python floor division: -ceil(N/2)), so e = (p - ceil(N/2))/scale_base
 * for absolute position p in a window of N. seq_len = N here (0: no centring, e = p/scale_base: the
 * scales then grow with position, which is where f16 overflows and the invariance suite shows it).
 * q.k keeps zeta_i^((m-n)/scale_base): relative in exact arithmetic.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(xpos)
{
    int64_t R = sched->R;
    double gamma = pecs_param_real(p, "gamma", 0.4), N = (double)pecs_param_int(p, "seq_len", 0);
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    for (int64_t i = 0; i < R / 2; i++)
        sched->zeta[i] = ((double)(2 * i) + gamma * (double)R) / ((1.0 + gamma) * (double)R);
    sched->zeta_rate = (pecs_param_is(p, "role", "key") ? -1.0 : 1.0) / pecs_param_real(p, "scale_base", 512.0);
    sched->zeta_center = ceil(N / 2.0);
    return st;
}
