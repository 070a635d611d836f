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

#include "reference.h"

/* Clipped to +-K, shifted by K (tensor2tensor's _generate_relative_positions_matrix). */
static int64_t shaw_row(const pecs_ref_relkey *rk, double d) { return (int64_t)fmax(-(double)rk->n, fmin((double)rk->n, d)) + rk->n; }

PECS_REF_HOOK_SCORES(shaw)
{
    int64_t K = pecs_param_int(p, "max_relative_position", 16);
    pecs_ref_relkey rk = {.rows = 2 * K + 1, .masked_after = pecs_param_int(p, "causal", 1) != 0, .row = shaw_row, .n = K, .n_name = "max_relative_position"};
    return pecs_ref_relkey_logits(p, &rk, why, why_len);
}
