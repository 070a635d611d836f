/* reference/shaw.c — Shaw et al. relative position representations (scores form, relative keys).
 *
 * Sources checked: Shaw, Uszkoreit & Vaswani 2018, "Self-Attention with Relative Position Representations",
 * eqs. 4-5 (e_ij = x_i W^Q (x_j W^K + a^K_ij)^T / sqrt(d_z)) and sec. 3.2 (a^K_ij = w^K_clip(j-i, k),
 * clip(x, k) = max(-k, min(k, x)), 2k+1 learned vectors shared across heads); tensor2tensor
 * layers/common_attention.py (read through the search tool, 2026-12-06): _generate_relative_positions_matrix
 * (distance_mat = range_k[None, :] - range_q[:, None], i.e. key - query, clipped to +-max_relative_position and
 * shifted by +max_relative_position to index the table), _generate_relative_positions_embeddings (one table
 * [2K+1, depth] for all heads), _relative_attention_inner (q.k^T + q.a^T), and multihead_attention, which
 * multiplies q by depth_per_head^-0.5 before both terms, so the whole logit is divided by sqrt(D).
 *
 *     out[h][i][j] = (q_i . k_j + q_i . w[clip(kpos_j - qpos_i, -K, K) + K]) / sqrt(D)
 *
 * with w = tensor "w" [2K+1, D] (row r = a^K for distance r - K) and -inf where causal and kpos_j > qpos_i. The
 * relative values a^V (added to the attention output) are not part of the logits and not represented.
 * Distances must be integers (the table is indexed by them); a fractional one is an invalid problem.
 * The logits depend on kpos - qpos only: relative-shift invariance EXACT.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static int64_t at3(const pecs_tensor *t, int64_t a, int64_t b, int64_t c)
{
    return a * t->stride[0] + b * t->stride[1] + c * t->stride[2];
}

PECS_REF_HOOK_SCORES(shaw)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "shaw needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t K = pecs_param_int(p, "max_relative_position", 16);
    int causal = pecs_param_int(p, "causal", 1) != 0;
    const pecs_tensor *w = pecs_ref_weights(p, 2 * K + 1, D, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data, scale = sqrt((double)D);
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double dist = pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i);
            if (dist != floor(dist)) {
                snprintf(why, why_len, "shaw: distance kpos - qpos = %g is not an integer (the table is indexed by it)",
                         dist);
                return PECS_INVALID;
            }
            int64_t r = (int64_t)fmax(-(double)K, fmin((double)K, dist)) + K;
            for (int64_t h = 0; h < H; h++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++)
                    s += qd[at3(q, i, h, d)] * (kd[at3(k, j, h, d)] + wd[r * w->stride[0] + d * w->stride[1]]);
                od[at3(out, h, i, j)] = causal && dist > 0 ? -INFINITY : s / scale;
            }
        }
    return PECS_OK;
}
