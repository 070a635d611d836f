/* reference/rope_dynamic_ntk.c — dynamic NTK-aware scaling.
 *
 * Sources checked: HuggingFace transformers modeling_rope_utils._compute_dynamic_ntk_parameters (and the
 * legacy LlamaDynamicNTKScalingRotaryEmbedding): with L = max(seq_len, Lmax),
 *     base' = base * ((s * L / Lmax) - (s - 1)) ^ (R / (R - 2)),   inv_freq[i] = base'^(-2i/R),
 * attention factor 1; Lmax is config.max_position_embeddings; seq_len is max(position_ids) + 1.
 * YaRN paper sec. 3.3 describes the same rule ("Dynamic NTK").
 * HF rounds base' to float32 before the power (a one-ulp effect, catalogue/implementations.md note 2); the
 * reference keeps it exact. The schedule depends on the current length, so relative-shift invariance
 * holds only with seq_len fixed (invariance FIXED_L).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_dynamic_ntk)
{
    int64_t R = sched->R;
    if (R <= 2) {
        snprintf(why, why_len, "rope.dynamic_ntk needs rotary_dim > 2 (the exponent is R/(R-2)), got %lld", (long long)R);
        return PECS_INVALID;
    }
    double s = pecs_param_real(p, "factor", 1.0), Lmax = (double)pecs_param_int(p, "max_position", 2048);
    double L = fmax(sched->seq_len, Lmax);
    double base = pecs_param_real(p, "base", 10000.0) * pow(s * L / Lmax - (s - 1.0), (double)R / (double)(R - 2));
    for (int64_t i = 0; i < R / 2; i++)
        sched->inv_freq[i] = pow(base, -(double)(2 * i) / (double)R);
    return PECS_OK;
}
