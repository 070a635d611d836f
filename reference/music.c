/* reference/music.c — Music Transformer relative attention (scores form), evaluated directly.
 *
 * Sources checked: Huang et al. 2018, "Music Transformer", sec. 3 (Srel = Q E_r^T rearranged so that entry
 * (i, j) holds q_i . E_r for r = j - i; logits (Q K^T + Srel) / sqrt(D_h); E_r for the distances -(L-1)..0 of
 * masked self-attention) and sec. 3.4.1 (the skewing procedure: pad a zero column on the left of Q E_r^T,
 * reshape to (L+1, L), drop the first row); tensor2tensor layers/common_attention.py (read through the search
 * tool, 2026-12-06): dot_product_self_attention_relative_v2 (masked only), get_relative_embeddings_left (table
 * [max_relative_position, depth]; for a length L > M it pads L - M zero rows on the far-left side, so distances
 * beyond -(M-1) get a zero relative term, not the clipped row Shaw uses), matmul_with_relative_keys,
 * _relative_position_to_absolute_position_masked, and multihead_attention (q scaled by depth^-0.5 first).
 *
 *     out[h][i][j] = (q_i . k_j + q_i . E(kpos_j - qpos_i)) / sqrt(D),   E(r) = w[r + M - 1] for -(M-1) <= r <= 0,
 *                                                                         E(r) = 0 for r < -(M-1)
 * with w = tensor "w" [M, D] shared by all heads (heads_share_relative_embedding=True; per-head tables are the
 * same computation per head with its own w), and -inf where kpos_j > qpos_i (always causal: the skewing of the
 * paper is the masked form). The kernel computes this with the skewing algorithm (impls/scalar/scores.c); this
 * reference is the direct form, so the suites compare the two algorithms, and tests/test_t2scores.c checks it
 * equals shaw with K = M - 1 wherever every distance is within -(M-1)..0. Distances must be integers.
 * The logits depend on kpos - qpos only: relative-shift invariance EXACT.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static int64_t at3(const pecs_tensor *t, int64_t a, int64_t b, int64_t c)
{
    return a * t->stride[0] + b * t->stride[1] + c * t->stride[2];
}

PECS_REF_HOOK_SCORES(music)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "music needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t M = pecs_param_int(p, "max_relative_position", 256);
    const pecs_tensor *w = pecs_ref_weights(p, M, D, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data, scale = sqrt((double)D);
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double dist = pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i);
            if (dist != floor(dist)) {
                snprintf(why, why_len, "music: distance kpos - qpos = %g is not an integer (E is indexed by it)", dist);
                return PECS_INVALID;
            }
            int have_e = dist <= 0 && dist >= -(double)(M - 1);
            int64_t r = have_e ? (int64_t)dist + M - 1 : 0;
            for (int64_t h = 0; h < H; h++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++)
                    s += qd[at3(q, i, h, d)] * (kd[at3(k, j, h, d)] + (have_e ? wd[r * w->stride[0] + d * w->stride[1]] : 0.0));
                od[at3(out, h, i, j)] = dist > 0 ? -INFINITY : s / scale;
            }
        }
    return PECS_OK;
}
