/* reference/rope_giraffe.c — Giraffe's scaled and truncated RoPE bases (Abacus.AI).
 *
 * Sources checked (2026-12, with the search tool):
 *   Pal et al., "Giraffe: Adventures in Expanding Context Lengths in LLMs" (arXiv 2308.10882), sec. 3
 *     (linear scaling, power scaling, truncated basis);
 *   abacusai/Long-Context python/models/interpolate.py (the authors' code): ScaledLlamaRotaryEmbedding.__init__
 *     builds freq = 1/base^(arange(0, dim, 2)/dim), then
 *       if scale > 1:       freq /= scale
 *       if scale_power > 0: freq *= (1 - arange(dim/2)/(dim/2))^scale_power
 *       if truncate > 0:    freq = truncate_frequency(freq, 2pi/truncate, 2pi/(truncate*16), 8)
 *     with truncate_frequency(f, t, low, z) = where(f < t/z, 0, where(f < t, low, f)); split-halves pairing
 *     (cat(freqs, freqs)); python/train/finetune_context.py passes either scale or scale_power, with
 *     truncate (`--truncate-pos`) in both cases.
 * Convention fixed here (R = rotary dim, n = R/2, parameters in include/pecs/encodings.def):
 *   f[k] = base^(-2k/R);  f /= factor if factor > 1;  f *= (1 - k/n)^scale_power if scale_power > 0;
 *   with L = truncate_len > 0 and t = 2pi/L:  f >= t -> f;  t/8 <= f < t -> rho = 2pi/(16 L) = t/16;  f < t/8 -> 0.
 * The comparisons are made on the double frequencies; the authors' code compares float32 values, which can
 * classify a frequency within ~1e-7 relative of t or t/8 differently (the suites keep away from the edges).
 * Power scaling sends the last pair's frequency towards 0 ((1/n)^power). Attention factor 1.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_giraffe)
{
    int64_t n = sched->R / 2;
    double s = pecs_param_real(p, "factor", 1.0), power = pecs_param_real(p, "scale_power", 0.0);
    double L = (double)pecs_param_int(p, "truncate_len", 0);
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    for (int64_t k = 0; k < n; k++) {
        double f = sched->inv_freq[k];
        if (s > 1.0)
            f /= s;
        if (power > 0.0)
            f *= pow(1.0 - (double)k / (double)n, power);
        if (L > 0.0) {
            double t = 2.0 * PECS_PI / L;
            f = f < t / 8.0 ? 0.0 : f < t ? 2.0 * PECS_PI / (L * 16.0) : f;
        }
        sched->inv_freq[k] = f;
    }
    return st;
}
