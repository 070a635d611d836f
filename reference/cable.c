/* reference/cable.c — CABLE, context-aware biases for length extrapolation (scores form).
 *
 * Sources checked (read 2026-12-07 through the search tool): arXiv 2503.08067 (the stored pages give the abstract and
 * introduction only, no equations), so the definition is the authors' code, repository axiomlab/Cable:
 *   - Cable.py (root, commit 087c3a11), class CausalSelfAttention, forward: h = b_attn(x) (a Linear n_embd -> n_head:
 *     one raw value per token and head), z = cumsum over the token axis of -softplus(h); per head the query gets two
 *     extra columns [sqrt(C), z_i] and the key [-z_j, sqrt(C)], the causal -inf upper triangle is added by baddbmm and
 *     the sum is divided by sqrt(C), C = n_embd (the model width H*D, not the head width):
 *         (q_i.k_j - sqrt(C) z_j + z_i sqrt(C)) / sqrt(C) = q_i.k_j / sqrt(H*D) + z_i - z_j.
 *     (As stored, that forward would not run: c_attn's output is 3 n_embd + n_head wide, so split(n_embd) yields four
 *     chunks for three names, and the block_size x block_size mask needs T == block_size. Its algebra is read here.)
 *   - src/Cable.py, class CausalSelfAttention, forward: b = cumsum(-softplus(h_attn(x))) per head, Bias[i][j] = b_i - b_j
 *     plus the causal -inf triangle, scores = baddbmm(Bias, q / sqrt(C/n_embd), k^T / sqrt(C/n_embd)); C is x's last
 *     dimension, which is n_embd, so the divisor is 1: q_i.k_j + z_i - z_j with no scale at all.
 * The two files disagree on the scale of q.k only; the parameter qk_scale picks it: d_model = 1/sqrt(H*D) (the root
 * file, the default), none = 1 (src/). No 1/sqrt(D) appears in either file. Softmax follows in both (outside the form).
 *
 *     z_t = -sum_{t' <= t} softplus(h_t'),   z_i - z_j = -sum_{t = j+1..i} softplus(h_t)   (j <= i; 0 for j = i)
 *
 * so the bias is never positive, counts the query's own token and never the key's, and decays with the content of
 * the tokens in between (no position enters except through the order).
 *
 * pecs's reading of the inputs: (1) w [H, Lq] holds h, the bias Linear's raw output (bias included) of token t for
 * head h, and the kernel applies -softplus, as the layer does after the Linear; softplus(x) = max(x, 0) +
 * log1p(exp(-|x|)) (torch's softplus, beta 1; its threshold 20 switch to x differs by < 2.1e-9). (2) The cumsum runs
 * over one sequence: queries and keys are its tokens (Lq == Lk; w's column t is key t's) with strictly increasing key
 * positions (the sum is ordered by token). Key j is visible to query i iff kpos_j <= qpos_i, and the bias sums the
 * keys t with kpos_j < kpos_t <= qpos_i (for qpos == kpos = arange: tokens j+1 .. i, i.e. z_i - z_j), as path and
 * gateloop read their factors. Positions enter through comparisons only: relative-shift invariance EXACT.
 *
 * This reference sums each element's bias directly (O(H Lq Lk^2) for the biases); the scalar kernel forms the prefix
 * sum z once per head (O(H L)) and reads z_m(i) - z_j, m(i) the last key at or before qpos_i.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static double cable_softplus(double x)
{
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

PECS_REF_HOOK_SCORES(cable)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "cable needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq != Lk) {
        snprintf(why, why_len, "cable: the biases are summed over the tokens of one sequence: Lq (%lld) must equal "
                               "Lk (%lld)", (long long)Lq, (long long)Lk);
        return PECS_INVALID;
    }
    for (int64_t j = 1; j < Lk; j++)
        if (!(pecs_pos_at(kp, 0, j) > pecs_pos_at(kp, 0, j - 1))) {
            snprintf(why, why_len, "cable: key positions must increase strictly (the sum is ordered by token); "
                     "kpos[%lld] <= kpos[%lld]", (long long)j, (long long)(j - 1));
            return PECS_INVALID;
        }
    const pecs_tensor *w = pecs_ref_weights(p, H, Lq, why, why_len);
    if (!w)
        return PECS_INVALID;
    double scale = pecs_param_is(p, "qk_scale", "none") ? 1.0 : 1.0 / sqrt((double)(H * D));
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < Lk; j++) {
                double kj = pecs_pos_at(kp, 0, j), dot = 0.0, bias = 0.0;
                if (kj > qi) {
                    od[pecs_at3(out, h, i, j)] = -INFINITY;
                    continue;
                }
                for (int64_t t = 0; t < Lk; t++) {
                    double kt = pecs_pos_at(kp, 0, t);
                    if (kt > kj && kt <= qi)
                        bias -= cable_softplus(wd[h * w->stride[0] + t * w->stride[1]]);
                }
                for (int64_t d = 0; d < D; d++)
                    dot += qd[pecs_at3(q, i, h, d)] * kd[pecs_at3(k, j, h, d)];
                od[pecs_at3(out, h, i, j)] = scale * dot + bias;
            }
        }
    return PECS_OK;
}
