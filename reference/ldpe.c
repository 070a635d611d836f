/* reference/ldpe.c — length-difference positional encoding (LDPE): the remaining length as a sinusoid.
 *
 * Sources checked (2026-12-06, through the search tool):
 *   Takase & Okazaki 2019, "Positional Encoding to Control Output Sequence Length" (NAACL), which defines
 *   LDPE as the sinusoid of (len - pos), and the authors' code, takase/control-length @d9bc6b9e
 *   encdec/fairseq/modules/sinusoidal_positional_embedding.py (SinusoidalPositionalEmbedding.forward with
 *   sinpostype='absolute', get_embedding with length=None) and encdec/fairseq/models/transformer.py
 *   @bd961c35 (TransformerDecoder.forward: --represent-length-by-ldpe adds this term to the decoder input,
 *   on top of the ordinary sinusoid when --ordinary-sinpos is set). Butcher et al. 2024 ("Precise Length
 *   Control in Large Language Models", arXiv 2412.11937) adopt LDPE for decoder-only models; their scaling
 *   of the added term is not in any stored source, so this row is the original definition, as coded.
 * What the code computes, which differs from the paper's equation in three ways:
 *   - the table is fairseq's: row r = [sin(r w_0..w_{h-1}) | cos(r w_0..w_{h-1})], h = D/2,
 *     w_i = 10000^(-i/(h-1)) (halves, not interleaved; denominator h-1); an odd D appends a zero column;
 *   - the row read by decoder input token t (0-based, the BOS at t = 0) is minuspos = (len + 3) - position,
 *     where make_positions gives position = padding_idx + 1 + t = 2 + t (fairseq's pad index is 1, which
 *     the hard-coded 3 assumes): row len + 1 - t, in training and in incremental decoding alike;
 *   - get_embedding zeroes row padding_idx = 1, so the token at t = len (remaining length 0 after the +1)
 *     gets exactly zero. Rows below 0 (t > len + 1) are an index error in the code: invalid here.
 * pecs position pos = t. The rows are the formula, not a float32 table; angles in double-double.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(ldpe)
{
    int64_t half = D / 2, len = pecs_param_int(p, "length", 64);
    if (half < 2) {
        snprintf(why, why_len, "ldpe needs head_dim >= 4 (fairseq's denominator half-1), got %lld", (long long)D);
        return PECS_INVALID;
    }
    double r = (double)len + 1.0 - pos;
    if (r < 0.0 || pos != floor(pos)) {
        snprintf(why, why_len, "ldpe: position %.17g reads table row %.17g (length %lld): rows are integers >= 0",
                 pos, r, (long long)len);
        return PECS_INVALID;
    }
    for (int64_t d = 0; d < D; d++)
        row[d] = 0.0;
    if (r == 1.0) /* fairseq's padding row */
        return PECS_OK;
    for (int64_t i = 0; i < half; i++)
        pecs_ref_sincos(r, pow(10000.0, -(double)i / (double)(half - 1)), &row[i], &row[half + i]);
    return PECS_OK;
}
