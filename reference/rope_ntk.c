/* reference/rope_ntk.c — NTK-aware base scaling.
 *
 * Source checked: YaRN (Peng et al., arXiv 2309.00071) sec. 3.1 eq. 12-13 (from bloc97's NTK-aware
 * proposal): b' = b * s^(|D|/(|D|-2)), with |D| the rotary dimension (here R); attention factor 1.
 * HuggingFace has only the dynamic form of this (rope.dynamic_ntk, T1 completion issue).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_ntk)
{
    int64_t R = sched->R;
    if (R <= 2) {
        snprintf(why, why_len, "rope.ntk needs rotary_dim > 2 (the exponent is R/(R-2)), got %lld", (long long)R);
        return PECS_INVALID;
    }
    double base = pecs_param_real(p, "base", 10000.0);
    double s = pecs_param_real(p, "factor", 1.0);
    double scaled = base * pow(s, (double)R / (double)(R - 2));
    for (int64_t i = 0; i < R / 2; i++)
        sched->inv_freq[i] = pow(scaled, -(double)(2 * i) / (double)R);
    return PECS_OK;
}
