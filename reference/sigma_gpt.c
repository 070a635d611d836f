/* reference/sigma_gpt.c — sigma-GPT's double positional encoding (embed form, two position rows).
 *
 * Source checked: Pannatier et al. 2024, "sigma-GPTs: A New Approach to Autoregressive Models" (arXiv
 * 2404.09562), as the authors' code implements it: idiap/sigma-gpt text/sigmagpt.py (read 2026-12-06 through
 * the search tool), class sigmaGPT:
 *     wpe = nn.Embedding(block_size, n_embd // 2)                 ("Only change here // 2")
 *     _pos_emb: order_input = order[:, :-1], order_target = order[:, 1:];
 *               wpe(cat((order_input, order_target), dim=2)).flatten(2)
 *     forward:  x = tok_emb + pos_emb
 * i.e. token t, generated in the order `order`, carries the half-width embedding of its own position (order[t])
 * in the first D/2 channels and that of the position it predicts next (order[t+1]) in the last D/2:
 *
 *     out[t][d] = x[t][d] + w[pos[0][t]][d]            d <  D/2     pos row 0: own position
 *     out[t][d] = x[t][d] + w[pos[1][t]][d - D/2]      d >= D/2     pos row 1: next position in the order
 *
 * with w [npos, D/2] the table (npos = block_size). D must be even (odd n_embd gives a 2*floor(D/2)-wide
 * embedding that cannot be added to x: a shape error in the authors' model). Positions must be integers in
 * [0, npos); anything else is an invalid problem, as for `learned`. Absolute: no relative-shift invariance.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(sigma_gpt)
{
    (void)pos;
    int64_t npos = pecs_param_int(p, "npos", 1024), half = D / 2;
    if (D % 2) {
        snprintf(why, why_len, "sigma_gpt: head_dim %lld must be even (two half-width table rows per token)",
                 (long long)D);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, npos, half, why, why_len);
    if (!w)
        return PECS_INVALID;
    for (int r = 0; r < 2; r++) {
        double q = pos_rows[r];
        if (q < 0 || q >= (double)npos || q != floor(q)) {
            snprintf(why, why_len, "sigma_gpt: %s position %.17g is outside the table [0, %lld)", r ? "next" : "own", q,
                     (long long)npos);
            return PECS_INVALID;
        }
        for (int64_t d = 0; d < half; d++)
            row[r * half + d] = ((const double *)w->data)[(int64_t)q * w->stride[0] + d * w->stride[1]];
    }
    return PECS_OK;
}
