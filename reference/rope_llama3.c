/* reference/rope_llama3.c — Llama 3.1 frequency band scaling.
 *
 * Sources checked: HuggingFace transformers modeling_rope_utils._compute_llama3_parameters, the same rule as
 * meta-llama's apply_scaling: with wavelen_i = 2 pi / inv_freq_i, lo = L / low_freq_factor,
 * hi = L / high_freq_factor (L = original_max_position_embeddings):
 *     wavelen > lo          -> inv_freq / factor                        (low frequencies interpolated)
 *     wavelen < hi          -> inv_freq                                 (high frequencies kept)
 *     otherwise (medium)    -> (1 - k) inv_freq / factor + k inv_freq,  k = (L / wavelen - low) / (high - low)
 * Both edges belong to the medium band, where the blend is continuous with its neighbours (k = 0 at lo,
 * k = 1 at hi). Attention factor 1. HF validation: high_freq_factor > low_freq_factor.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_llama3)
{
    double factor = pecs_param_real(p, "factor", 8.0);
    double low = pecs_param_real(p, "low_freq_factor", 1.0), high = pecs_param_real(p, "high_freq_factor", 4.0);
    double L = (double)pecs_param_int(p, "original_max_position", 8192);
    if (!(high > low)) {
        snprintf(why, why_len, "rope.llama3 needs high_freq_factor > low_freq_factor, got %g <= %g", high, low);
        return PECS_INVALID;
    }
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    double lo_wavelen = L / low, hi_wavelen = L / high;
    for (int64_t i = 0; i < sched->R / 2; i++) {
        double f = sched->inv_freq[i], wavelen = 2.0 * PECS_PI / f;
        if (wavelen > lo_wavelen) {
            sched->inv_freq[i] = f / factor;
        } else if (!(wavelen < hi_wavelen)) {
            double k = (L / wavelen - low) / (high - low);
            sched->inv_freq[i] = (1.0 - k) * f / factor + k * f;
        }
    }
    return st;
}
