/* reference/sinusoidal_concat.c — sinusoidal embedding as [sin | cos] halves.
 *
 * Sources checked: fairseq fairseq/modules/sinusoidal_positional_embedding.py get_embedding:
 *   half_dim = d // 2; emb = log(10000) / (half_dim - 1); w = exp(arange(half_dim) * -emb);
 *   table = cat(sin(pos * w), cos(pos * w)); odd d gets a zero column appended; with a padding index,
 *   positions of real tokens start at padding_idx + 1 (make_positions);
 * and the padding row: get_embedding sets emb[padding_idx, :] = 0 whenever padding_idx is not None, and
 * fairseq/utils.py make_positions maps every pad token to table row padding_idx (real tokens to
 * padding_idx + 1 + their index), so a pad token gets exactly zero. (facebookresearch/fairseq
 * sinusoidal_positional_embedding.py @0491f269 and utils.py @003179f3, read 2026-12-05 through the search
 * tool.) Here a position p is table row p + padding_idx + 1, so with padding_idx >= 0 the position -1 is
 * that zero row; there is no separate switch, because fairseq has no padding index without it. Positions
 * below -1 are rows fairseq's make_positions never produces; they keep the formula. With padding_idx = -1
 * (no padding) position -1 is an ordinary sinusoid.
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
    if (pad >= 0 && pos == -1.0) { /* the padding row */
        for (int64_t d = 0; d < D; d++)
            row[d] = 0.0;
        return PECS_OK;
    }
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
