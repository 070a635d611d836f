/* reference/rope.c — RoPE default frequency schedule.
 *
 * Source checked: RoFormer (Su et al., arXiv 2104.09864) eq. 15/34: theta_i = 10000^(-2(i-1)/d),
 * i = 1..d/2; HuggingFace transformers modeling_rope_utils._compute_default_rope_parameters:
 * inv_freq = 1 / base ** (arange(0, dim, 2) / dim) with dim = rotary dim (partial_rotary_factor * head_dim),
 * attention factor 1. Pairing (interleaved vs half-split) and partial rotary are done by the rotate
 * driver in forms.c and documented in include/pecs/backend.h.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope)
{
    (void)why, (void)why_len;
    double base = pecs_param_real(p, "base", 10000.0);
    for (int64_t i = 0; i < sched->R / 2; i++)
        sched->inv_freq[i] = pow(base, -(double)(2 * i) / (double)sched->R);
    return PECS_OK;
}
