/* reference/rope_linear.c — linear position interpolation (PI).
 *
 * Source checked: Chen et al., "Extending Context Window of Large Language Models via Positional
 * Interpolation" (arXiv 2306.15595) eq. 4: f'(x, m) = f(x, m L / L'), i.e. positions divided by s = L'/L;
 * HuggingFace _compute_linear_scaling_rope_parameters: inv_freq /= factor, attention factor 1.
 * Dividing the frequency equals dividing the position (exactly so in the reference's exact-angle
 * arithmetic up to the rounding of inv_freq itself).
 */
#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_linear)
{
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    double s = pecs_param_real(p, "factor", 1.0);
    for (int64_t i = 0; i < sched->R / 2; i++)
        sched->inv_freq[i] /= s;
    return st;
}
