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

#include "reference.h"

/* E_r for -(M-1) <= r <= 0 at row r + M - 1; farther back, tensor2tensor's zero padding: no relative term. */
static int64_t music_row(const pecs_ref_relkey *rk, double d)
{
    return d <= 0 && d >= -(double)(rk->n - 1) ? (int64_t)d + rk->n - 1 : d <= 0 ? -1 : 0; /* d > 0 is masked */
}

PECS_REF_HOOK_SCORES(music)
{
    int64_t M = pecs_param_int(p, "max_relative_position", 256);
    pecs_ref_relkey rk = {.rows = M, .masked_after = 1, .row = music_row, .n = M, .n_name = "max_relative_position"};
    return pecs_ref_relkey_logits(p, &rk, why, why_len);
}
