/* reference/rope_selective.c — Selective RoPE: rotation angles from a running sum of a per-token, input-derived phase.
 *
 * Source checked (2026-12-07, through the search tool): the authors' code, timurcarstensen/selective-rope @9d06c33,
 * src/selective_rope/modules/rotary.py:
 *   rotary_temperature(type="rope", theta, pe_dim = head_k_dim, temp_max): temp_max / theta^(arange(0, head_dim, 2) /
 *     head_dim), i.e. temp_i = temp_max * theta^(-2i/head_dim) for i < head_dim/2 (RoPE's inverse frequencies at base
 *     theta, scaled by temp_max); SelectiveRoPE defaults: temp_type "rope", temp_theta 500000, temp_max 1.0.
 *   SelectiveRoPE.forward(q, k, hidden_states, cache): phi [b, t, H, head_dim/2] comes from the layer input
 *     (l2_norm per head, a low-rank or per-head projection, then a causal short convolution, or a first difference
 *     over time when skip_conv; optionally + exp(phi_bias) and times a sigmoid gate); then
 *     phi_tilde = cumsum(phi, dim = time), plus phi_tilde_offset (the cache: the running sum of the earlier tokens,
 *     returned as phi_tilde[:, -1:] when output_final_state) when a cache is given;
 *     angle = temperature * phi_tilde; q and k are concatenated along heads and turn by the same angle table:
 *     lanes (i, i + head_dim/2) -> (x_i cos - x_{i+R} sin, x_i sin + x_{i+R} cos) (half pairing, the whole head).
 *     The positions (position ids) are never read.
 * So per token t (of the call, in order), head h, pair i < R = head_dim/2:
 *     angle(t, h, i) = temp_i * (offset[h][i] + sum_{s <= t} phi[s][h][i])        (inclusive: token t's own phi)
 * and with phi = 1 and offset 0 it is RoPE at base theta at position t + 1 (times temp_max).
 *
 * pecs form (rotate): phi is given as data, after the projection, convolution, bias and gate (those run outside,
 * like rope.psc's maps; they are a layer, not a position rule). "w" [T + 1, H * R] (registry "L+1,H*D/2", L = the
 * call's tokens): row 0 is the cache's phi_tilde_offset (zeros for a call that starts a sequence), row 1 + t is token
 * t's phi; column h * R + i is head h, pair i. The kernel forms the running sum and the temperature.
 *
 * What "t" means: the running sum is over the call's tokens in their order, starting from row 0; a decode call
 * passes the earlier tokens' sum there, as the code's cache does. The positions do not enter the angle, but they must
 * say the tokens are consecutive tokens of one sequence: pos[t] = pos[0] + t (any pos[0]). A call whose positions
 * are not (random ids, several tokens at one position, a grid with rows) is rejected: the sum would not be the
 * sequence's. Invariance: none (the angle is content-dependent; shifting positions changes nothing here, and the
 * logits depend on the phases between the tokens, not on a distance).
 * Here: base = temp_theta, temp_max as the code, the whole head (rotary_dim must be head_dim); pairing half is the
 * code's layout (pairing interleaved is the same rotation on adjacent lanes); freq_factors and attn_factor apply as
 * for every rotate row. Not in this row: temp_type "rfa" (tan-shaped temperatures), a learned temperature (temp_grad:
 * the temperature is the fixed table here), the Triton kernels (same arithmetic), float32 angles.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_selective)
{
    double base = pecs_param_real(p, "base", 500000.0), tmax = pecs_param_real(p, "temp_max", 1.0);
    int64_t R = sched->R, H = sched->heads, n = R / 2;
    for (int64_t i = 0; i < n; i++)
        sched->inv_freq[i] = tmax * pow(base, -(double)(2 * i) / (double)R);
    if (H <= 0)
        return PECS_OK; /* without heads (pecs eval, the level model): the temperatures only */
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *wt = pecs_problem_tensor(p, "w"),
                      *pos = pecs_problem_tensor(p, "pos");
    int64_t D = x && x->ndim == 3 ? x->shape[2] : wt && wt->ndim == 2 ? 2 * wt->shape[1] / H : R;
    if (D != R) {
        snprintf(why, why_len, "rope.selective turns every lane of the head (pairs (i, i + head_dim/2)): rotary_dim "
                 "must be 0 (the whole head, %lld), got %lld", (long long)D, (long long)R);
        return PECS_INVALID;
    }
    if (!x || x->ndim != 3)
        return PECS_OK; /* the registry check (no tensors): parameters only */
    int64_t T = x->shape[0];
    const pecs_tensor *w = pecs_ref_weights(p, T + 1, H * n, why, why_len);
    if (!w)
        return PECS_INVALID;
    for (int64_t t = 1; pos && t < T; t++)
        if (pecs_pos_at(pos, 0, t) != pecs_pos_at(pos, 0, 0) + (double)t) {
            snprintf(why, why_len, "rope.selective sums the phase over the call's tokens in order: they must be "
                     "consecutive tokens of one sequence (pos[t] = pos[0] + t), but pos[%lld] = %.17g after pos[0] = "
                     "%.17g (a decode call passes the earlier tokens' sum in row 0 of w)",
                     (long long)t, pecs_pos_at(pos, 0, t), pecs_pos_at(pos, 0, 0));
            return PECS_INVALID;
        }
    double *ph = malloc((size_t)(T * H * n > 0 ? T * H * n : 1) * sizeof *ph);
    if (!ph) {
        snprintf(why, why_len, "rope.selective: out of memory");
        return PECS_NOMEM;
    }
    const double *wd = w->data;
    for (int64_t t = 0; t < T; t++) /* each entry summed afresh: offset, then tokens 0..t in order */
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < n; i++) {
                int64_t c = h * n + i;
                double acc = wd[c * w->stride[1]];
                for (int64_t s = 0; s <= t; s++)
                    acc += wd[(1 + s) * w->stride[0] + c * w->stride[1]];
                ph[(t * H + h) * n + i] = acc;
            }
    sched->phase = ph;
    return PECS_OK;
}
