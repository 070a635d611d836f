/* reference/rope_carope.c — CARoPE: context-aware RoPE, each head's phase a running sum of powers of a per-token base.
 *
 * Source checked (2026-12-07, through the search tool): Veisi, Fartoot, Amirzadeh, "Context-aware Rotary Position
 * Embedding" (arXiv 2507.23083v1), sec. 2 "Proposed Method", read in full in a stored markdown conversion (source
 * index file id 63566365033). No code is public (searched: the code index for CARoPE; Axiom Lab's stored repositories
 * hold CABLE only). The paper:
 *   RoPE's phase phi_i(m) = m theta_i, theta_i = 10000^(-2i/d), rewritten as sum_{t=1..m} theta_i and, theta_i being
 *   theta_1^i (so i counts pairs from 0: theta_0 = 1), as sum_{t=1..m} theta_1^i.
 *   CARoPE: phi_i^(h)(m) = sum_{t=1..m} f(x_t)_h ^ i, f(x_t) = 1 / (softplus(x_t W) + 1) in (0, 1), W in R^(d x H)
 *   (one scalar per head from the token embedding x_t); cos and sin of phi are "applied to the query and key vectors
 *   using the standard RoPE formulation" (the same angle for q and k).
 * pecs form (rotate): the projection x_t W stays outside (a layer); "w" [T + R, H] (registry "L+D/2,H", R = D/2
 * pairs): rows 0 .. T-1 hold the head logits z[t][h] = (x_t W)_h, and the kernel applies f = 1/(softplus(z) + 1) (as
 * path's row applies its normalisation to the raw projection); rows T + i hold o[i][h], the sum carried in from the
 * sequence's earlier tokens (zeros for a call starting the sequence), so a decode step can be run. Then
 *     angle(t, h, i) = o[i][h] + sum over the call's tokens s <= t with pos[s] >= 1 of f(z[s][h])^i.
 * What m and t are: the paper's m is RoPE's position (phi(m) = m theta); pecs takes the call's positions as m, as
 * pecs's rope does (position 0: angle 0). sum_{t=1..m} then reads the tokens at positions 1 .. m: the token at position
 * 0 turns by o only and its f is never summed; with f = theta_1 constant and o the sum for positions 1 .. pos[0]-1 it is
 * RoPE at the call's positions exactly. The paper does not say whether its first token is at position 0 or 1 (a
 * 1-based caller passes positions from 1). The sum needs the sequence's tokens in order: positions must be
 * consecutive, pos[t] = pos[0] + t, and pos[0] >= 0; other calls are rejected with the reason.
 * Not fixed by the paper, and what this row does: the pairing ("the standard RoPE formulation"; the parameter pairing,
 * default interleaved, RoFormer eq. 34's (x_{2i}, x_{2i+1}), the formulation of the paper it cites (Su et al.)); how W
 * is initialised to reproduce RoPE (outside this row); partial rotary (every lane turns: rotary_dim is head_dim).
 * Invariance: none (content-dependent phases).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

/* f = 1 / (softplus(z) + 1), softplus(z) = ln(1 + e^z) computed without overflow. */
static double carope_f(double z) { return 1.0 / ((z > 0.0 ? z + log1p(exp(-z)) : log1p(exp(z))) + 1.0); }

PECS_REF_HOOK_ROTATE(rope_carope)
{
    int64_t R = sched->R, H = sched->heads, n = R / 2;
    for (int64_t i = 0; i < n; i++)
        sched->inv_freq[i] = 1.0; /* the angle is the phase itself */
    if (H <= 0)
        return PECS_OK; /* without heads (pecs eval, the level model) */
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos");
    int64_t D = x && x->ndim == 3 ? x->shape[2] : R;
    if (D != R) {
        snprintf(why, why_len, "rope.carope turns every lane of the head: rotary_dim must be 0 (the whole head, %lld), "
                 "got %lld", (long long)D, (long long)R);
        return PECS_INVALID;
    }
    if (!x || x->ndim != 3)
        return PECS_OK; /* the registry check (no tensors): parameters only */
    int64_t T = x->shape[0];
    const pecs_tensor *w = pecs_ref_weights(p, T + n, H, why, why_len);
    if (!w)
        return PECS_INVALID;
    double p0 = pos && T > 0 ? pecs_pos_at(pos, 0, 0) : 0.0;
    if (p0 < 0.0) {
        snprintf(why, why_len, "rope.carope sums over positions 1 .. m: the first position must be >= 0, got %.17g", p0);
        return PECS_INVALID;
    }
    for (int64_t t = 1; pos && t < T; t++)
        if (pecs_pos_at(pos, 0, t) != p0 + (double)t) {
            snprintf(why, why_len, "rope.carope sums over the sequence's tokens in order: the call's tokens must be "
                     "consecutive (pos[t] = pos[0] + t), but pos[%lld] = %.17g after pos[0] = %.17g (earlier tokens' "
                     "sums go in w's last D/2 rows)", (long long)t, pecs_pos_at(pos, 0, t), p0);
            return PECS_INVALID;
        }
    double *ph = malloc((size_t)(T * H * n > 0 ? T * H * n : 1) * sizeof *ph);
    if (!ph) {
        snprintf(why, why_len, "rope.carope: out of memory");
        return PECS_NOMEM;
    }
    const double *wd = w->data;
    for (int64_t t = 0; t < T; t++) /* each entry summed afresh: o, then f^i of the tokens at positions 1 .. pos[t] */
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < n; i++) {
                double acc = wd[(T + i) * w->stride[0] + h * w->stride[1]];
                for (int64_t s = 0; s <= t; s++)
                    if (p0 + (double)s >= 1.0)
                        acc += pow(carope_f(wd[s * w->stride[0] + h * w->stride[1]]), (double)i);
                ph[(t * H + h) * n + i] = acc;
            }
    sched->phase = ph;
    return PECS_OK;
}
