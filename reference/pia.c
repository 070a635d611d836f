/* reference/pia.c — Shortformer's position-infused attention (PIA): the sinusoid added to queries and keys.
 *
 * Sources checked (2026-12-06, through the search tool): Press, Smith & Lewis 2021, "Shortformer: Better
 * Language Modeling using Shorter Inputs" (ACL), sec. 4 (position embeddings added to the queries and keys
 * of every attention sublayer, not to the values or the word embeddings; the cache carries none); and the
 * authors' code, ofirpress/shortformer:
 *   fairseq/models/transformer.py @aa6786f8 TransformerDecoder.extract_features_scriptable: `x += positions`
 *     is commented out and `positions` goes to every layer;
 *   fairseq/modules/transformer_layer.py @6c5453e9 TransformerDecoderLayer.forward: y = [cache; x],
 *     pos_key = positions[:len(y)], pos_query = positions[len(y)-len(x) : len(y)] (training) or
 *     positions[to_see-1] (token-by-token inference), then self_attn(query = x + pos_query,
 *     key = y + pos_key, value = y): positions count from the start of the [cache; current] window;
 *   fairseq/modules/sinusoidal_positional_embedding.py @aa6786f8 get_embedding: fairseq's table, row r =
 *     [sin(r w_0..w_{h-1}) | cos(r w_0..w_{h-1})], h = D/2, w_i = 10000^(-i/(h-1)), odd D a zero column,
 *     row padding_idx zero; make_positions puts window index p on row p + padding_idx + 1.
 * So the kernel is x + P(p) with P that table row, x being the (layer-normed, when pre-norm) attention input
 * and p the window index; the caller applies it to the query and key inputs only. pecs position p = -1 is a
 * pad token (row padding_idx): zero, as in fairseq. The rows are the formula, angles in double-double.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(pia)
{
    int64_t half = D / 2, pad = pecs_param_int(p, "padding_idx", 1);
    if (half < 2) {
        snprintf(why, why_len, "pia needs head_dim >= 4 (fairseq's denominator half-1), got %lld", (long long)D);
        return PECS_INVALID;
    }
    for (int64_t d = 0; d < D; d++)
        row[d] = 0.0;
    if (pos == -1.0) /* a pad token: fairseq's zero row padding_idx */
        return PECS_OK;
    double r = pos + (double)pad + 1.0;
    for (int64_t i = 0; i < half; i++)
        pecs_ref_sincos(r, pow(10000.0, -(double)i / (double)(half - 1)), &row[i], &row[half + i]);
    return PECS_OK;
}
