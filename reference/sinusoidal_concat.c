/* reference/sinusoidal_concat.c — sinusoidal embedding as [sin | cos] halves.
 *
 * Sources checked: fairseq fairseq/modules/sinusoidal_positional_embedding.py get_embedding:
 *   half_dim = d // 2; emb = log(10000) / (half_dim - 1); w = exp(arange(half_dim) * -emb);
 *   table = cat(sin(pos * w), cos(pos * w)); odd d gets a zero column appended; with a padding index,
 *   positions of real tokens start at padding_idx + 1 (make_positions);
 * tensor2tensor get_timing_signal_1d uses the same log_timescale_increment = log(max/min) / (n - 1).
 * Here w_i = base^(-i/(half-1)) exactly (the definition, not fairseq's float32 exp of a product).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(sinusoidal_concat)
{
    int64_t half = D / 2;
    if (half < 2) {
        snprintf(why, why_len, "sinusoidal.concat needs head_dim >= 4 (denominator half-1), got %lld", (long long)D);
        return PECS_INVALID;
    }
    double base = pecs_param_real(p, "base", 10000.0);
    int64_t pad = pecs_param_int(p, "padding_idx", -1);
    double q = pad >= 0 ? pos + (double)pad + 1.0 : pos;
    for (int64_t i = 0; i < half; i++) {
        double s, c;
        pecs_ref_sincos(q, pow(base, -(double)i / (double)(half - 1)), &s, &c);
        row[i] = s;
        row[half + i] = c;
    }
    if (D % 2)
        row[D - 1] = 0.0;
    return PECS_OK;
}
