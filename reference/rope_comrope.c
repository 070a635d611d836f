/* reference/rope_comrope.c — ComRoPE: rotary embedding by trainable commuting angle matrices (block schedule).
 *
 * Sources checked (2026-12-06, through the search tool): Yu et al. 2025, "ComRoPE: Scalable and Robust Rotary
 * Position Embedding Parameterized by Trainable Commuting Angle Matrices" (arXiv 2506.03737), as stated in the
 * authors' repository Longin-Yu/ComRoPE @d6e0fbed:
 *   README.md: A_i = diag(B_i1, ..., B_im), b x b blocks, skew-symmetric and commuting; ComRoPE-AP
 *     B_ij = P_j - P_j^T if j = i (mod N) else 0; ComRoPE-LD B_ij = theta_i (P - P^T).
 *   model.py RoPESelfAttentionBase.get_rotation_matrix: lnR = sum over axes of A * pos (per block), R =
 *     torch.matrix_exp(lnR) per (token, head, block), scattered onto the block diagonal by
 *     block_diag_selector = kron(eye(head_dim / b), ones(b, b)) (block j = lanes j*b .. j*b+b-1, row-major),
 *     then Q = R @ q and K = R @ k (column vectors): y_block = exp(lnR_j) x_block.
 *   model.py ComRoPEAPAttention: freqs [heads, 1, head_dim/b, b, b]; get_exponent_matrix = (freqs - freqs^T)
 *     times mask[i, j] = 1 iff j % num_axes == i (_create_mask: mask[i, i::num_axes] = 1); it requires
 *     head_dim % num_axes == 0 and (head_dim / num_axes) % b == 0.
 *   model.py ComRoPELDAttention: freqs [heads, 1, head_dim/b, b, b] and multiplier [1, num_axes, head_dim/b, 1, 1]:
 *     B_ij = multiplier[i][j] (freqs_j - freqs_j^T). The code's theta is per axis AND per block (the README writes
 *     one theta_i per axis); the code is followed. It requires head_dim % b == 0.
 *   Positions are [bs, len, num_axes] (get_positions: meshgrid "ij", axis 0 the row, axis 1 the column; with
 *   axis_scale (pos + 0.5) / n, a real number). num_axes is 2 (images) or 3 (video); this row has 2 rows: h, w.
 * Both parameterisations make lnR_j = c_j(t) S_j with one fixed skew matrix S_j per (head, block), so the
 * generators commute and R(x)^T R(y) = R(y - x): the logits are exactly relative-shift invariant.
 *
 * "w" [H+2, D*b] (registry), m = D/b blocks:
 *   row h < H:      w[h][j*b*b + r*b + c] = freqs[h][0][j][r][c] (P_j of head h, block j, row r, column c)
 *   rows H, H+1:    w[H+i][j] = multiplier[0][i][j][0][0] (theta of axis i, block j; ld only; columns >= m and
 *                   both rows under ap are not read)
 * The matrix exponential: pecs_ref_expm (reference/forms.c), scaling and squaring with a 30-term Taylor series in
 * double. There is no rotary_dim, pairing, base or attention factor: every lane is in a block (the code rotates
 * the whole head).
 */
#include <stdio.h>

#include "reference.h"

#define COMROPE_AXES 2

PECS_REF_HOOK_ROTATE(rope_comrope)
{
    int64_t b = pecs_param_int(p, "block", 2), D = sched->R, H = sched->heads;
    int ld = pecs_param_is(p, "variant", "ld");
    if (b < 1 || D % (ld ? b : COMROPE_AXES * b)) {
        snprintf(why, why_len, "rope.comrope: head_dim %lld must be a multiple of %s%lld (block %lld, variant %s)",
                 (long long)D, ld ? "" : "2 x ", (long long)b, (long long)b, ld ? "ld" : "ap");
        return PECS_INVALID;
    }
    pecs_status st = pecs_ref_rot_blocks(sched, b, COMROPE_AXES);
    if (st != PECS_OK || H <= 0)
        return st; /* without heads (pecs eval of the schedule, the level model): the parameters only */
    const pecs_tensor *w = pecs_ref_weights(p, H + COMROPE_AXES, D * b, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *wd = w->data;
#define W(r, c) wd[(r) * w->stride[0] + (c) * w->stride[1]]
    int64_t m = D / b, n = b * b;
    for (int64_t h = 0; h < H; h++)
        for (int64_t j = 0; j < m; j++)
            for (int64_t i = 0; i < COMROPE_AXES; i++) {
                double coef = ld ? W(H + i, j) : (j % COMROPE_AXES == i ? 1.0 : 0.0);
                double *B = sched->gen + ((h * COMROPE_AXES + i) * m + j) * n;
                for (int64_t r = 0; r < b; r++)
                    for (int64_t c = 0; c < b; c++)
                        B[r * b + c] = coef * (W(h, j * n + r * b + c) - W(h, j * n + c * b + r));
            }
#undef W
    return PECS_OK;
}
