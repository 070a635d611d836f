/* reference/positional_attention.c — positional attention: attention logits computed from positions only.
 *
 * Sources checked (read 2026-12-07 through the search tool): de Luca, Giapitzakis, Yang, Veličković, Fountoulakis,
 * "Positional Attention: Expressivity and Learnability of Algorithmic Computation" (arXiv 2410.01686; the stored
 * pages hold the abstract and introduction only, so the definition is the authors' code), opallab/positional_attention:
 *   model.py   MultiheadAttention.__init__ / _reset_parameters: with positional=True the query/key width d_k is
 *              pos_dim = n, and ONE Linear qk_proj: n -> 2 n H (weight W [2nH, n], bias b [2nH], the bias filled with
 *              0 at init but trained);
 *              MultiheadAttention.forward: qk = qk_proj(p) (p, not x), reshaped [T, H, 2n] and permuted to [H, T, 2n]
 *              (so head h owns the columns 2nh .. 2nh + 2n - 1), then q, k = chunk(2, dim=-1) (q the first n of
 *              them, k the last n), then F.scaled_dot_product_attention(q, k, v) with no mask and its default scale
 *              1/sqrt(n) (the last dimension of q); v comes from x.
 *   utils.py   identity_pe(n) = eye(n); get_pe: the first T - a tokens take rows 0 .. T - a - 1, the a additional
 *              nodes the last a rows (n = the task length + a, experiment_scale.py).
 * So with P's row for position p the one-hot e_p, the pre-softmax logit of head h is
 *     out[h][i][j] = sum_c Q_h(qpos_i)[c] K_h(kpos_j)[c] / sqrt(n),   c = 0 .. n-1
 *     Q_h(p)[c] = W[2nh + c][p] + b[2nh + c],   K_h(p)[c] = W[2nh + n + c][p] + b[2nh + n + c]
 * and the learned data is w [n + 1, 2nH]: rows 0 .. n-1 are W transposed (w[r][col] = W[col][r]), row n is b.
 * Conventions pecs fixes: a position names P's row (the caller passes an additional node's row, n - a + k, as its
 * position), so positions are integers in [0, n); anything else is invalid input. The bias form's output is the
 * logits: the softmax that follows in the model is not applied. Not causal: the code passes no mask (every key of
 * the call is visible).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static int one_hot_row(double pos, int64_t n) { return pos == floor(pos) && pos >= 0.0 && pos < (double)n; }

PECS_REF_HOOK_BIAS(positional_attention)
{
    int64_t n = pecs_param_int(p, "pos_dim", 9);
    const pecs_tensor *w = pecs_ref_weights(p, n + 1, 2 * n * H, why, why_len);
    if (!w)
        return PECS_INVALID;
    if (!one_hot_row(qpos, n) || !one_hot_row(kpos, n)) {
        snprintf(why, why_len, "positional_attention: position %g is not a row of the one-hot P = eye(pos_dim = %lld): "
                 "positions must be integers in [0, %lld)", one_hot_row(qpos, n) ? kpos : qpos, (long long)n,
                 (long long)n);
        return PECS_INVALID;
    }
    const double *wd = w->data;
    int64_t rq = (int64_t)qpos, rk = (int64_t)kpos, q0 = 2 * n * h, k0 = q0 + n;
    double s = 0.0;
    for (int64_t c = 0; c < n; c++) {
        double qv = wd[rq * w->stride[0] + (q0 + c) * w->stride[1]] + wd[n * w->stride[0] + (q0 + c) * w->stride[1]];
        double kv = wd[rk * w->stride[0] + (k0 + c) * w->stride[1]] + wd[n * w->stride[0] + (k0 + c) * w->stride[1]];
        s += qv * kv;
    }
    *bias = s / sqrt((double)n);
    return PECS_OK;
}
