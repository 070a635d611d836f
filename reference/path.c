/* reference/path.c — PaTH attention logits (scores form): accumulated data-dependent Householder transforms.
 *
 * Sources checked (read 2026-12-06 through the search tool): fla-org/flash-linear-attention
 *   fla/layers/path_attn.py PaTHAttention.forward: w = l2_norm(w_proj(x)) per head (after an optional short
 *     convolution), beta = 2 * sigmoid(bt_proj(x)) ("allowing negative eigenvalues"), one w and beta per token and
 *     key head; the decode path updates every cached key with the new token's factor, k <- k - beta (k.w) w, before
 *     appending the new token's key unchanged;
 *   fla/modules/l2norm.py l2norm_fwd: y = x / sqrt(sum x^2 + eps), eps = 1e-6 by default;
 *   fla/ops/path_attn/parallel.py parallel_path_attention: scale defaults to D^-0.5;
 *   tests/ops/test_path_attn.py naive_path_attn (the authors' reference): within a chunk the query side takes the
 *     factors of tokens a <= i (tril, diagonal kept), the key side those of tokens b > j (triu mask, diagonal
 *     dropped), through the UT transform of the chunk's factors; earlier chunks multiply the query on the right in
 *     turn; logits above the diagonal are -inf, and (A + gate) * scale.
 * Both paths give, with H_t = I - beta_t u_t u_t^T, u_t = w_t / sqrt(|w_t|^2 + 1e-6), beta_t = 2 sigmoid(b_t):
 *
 *     out[h][i][j] = q_i^T H_i H_{i-1} ... H_{j+1} k_j / sqrt(D)     (j <= i; the empty product for j = i)
 *
 * the latest token's factor leftmost (it is applied to the cached keys last), tokens j+1 .. i inclusive of the
 * query's own token, exclusive of the key's. Arxiv 2505.16381 (Yang et al. 2025) is the paper; the stored pages do
 * not give its equations, so the code above is the definition. The forget gate (use_forget_gate, off by default:
 * FoX's logsigmoid gate added before the scale) is not part of this row.
 *
 * pecs's reading of the inputs: the learned data tensor w [H*Lq, D+1] holds, in row h*Lq + t, token t's raw
 * w_proj output for head h (columns 0..D-1, before l2_norm) and its raw bt_proj output b (column D); the kernel
 * applies the normalisation and 2 sigmoid, as the layer does after its Linear maps. The tokens are the keys: the
 * call must be self-attention over one sequence (Lq == Lk; the weights grammar counts the rows by Lq) with strictly
 * increasing key positions (the product is ordered by token). Key j is visible to query i iff kpos_j <= qpos_i, and
 * the factors between them are those of the keys t with kpos_j < kpos_t <= qpos_i (for qpos == kpos = arange,
 * tokens j+1 .. i). Positions enter through comparisons only: relative-shift invariance EXACT.
 *
 * This reference forms the D x D product explicitly, one dense matrix product per factor, as the issue asks:
 * P_j = H_{i} ... H_{j+1} is built for each query by P <- P H_t while j walks down, so the cost is
 * O(H Lq Lk D^3) (cubic in D; the naive form, cubic in the length too if each product were rebuilt per pair).
 * The scalar kernel applies the reflections to the query vector one at a time (O(H Lq Lk D)).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

/* Row r of the learned data: the unit vector u (D values) and beta = 2 sigmoid(b). */
static double path_factor(const pecs_tensor *w, int64_t r, int64_t D, double *u)
{
    const double *wd = w->data;
    double n2 = 0.0;
    for (int64_t d = 0; d < D; d++) {
        u[d] = wd[r * w->stride[0] + d * w->stride[1]];
        n2 += u[d] * u[d];
    }
    double inv = 1.0 / sqrt(n2 + 1e-6), b = wd[r * w->stride[0] + D * w->stride[1]];
    for (int64_t d = 0; d < D; d++)
        u[d] *= inv;
    return 2.0 / (1.0 + exp(-b));
}

PECS_REF_HOOK_SCORES(path)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "path needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq != Lk) {
        snprintf(why, why_len, "path: the factors belong to the tokens of one sequence: Lq (%lld) must equal Lk (%lld)",
                 (long long)Lq, (long long)Lk);
        return PECS_INVALID;
    }
    for (int64_t j = 1; j < Lk; j++)
        if (!(pecs_pos_at(kp, 0, j) > pecs_pos_at(kp, 0, j - 1))) {
            snprintf(why, why_len, "path: key positions must increase strictly (the product is ordered by token); "
                     "kpos[%lld] <= kpos[%lld]", (long long)j, (long long)(j - 1));
            return PECS_INVALID;
        }
    const pecs_tensor *w = pecs_ref_weights(p, H * Lq, D + 1, why, why_len);
    if (!w)
        return PECS_INVALID;
    size_t dd = (size_t)(D > 0 ? D : 1);
    double *P = malloc(dd * dd * sizeof *P), *F = malloc(dd * dd * sizeof *F), *T = malloc(dd * dd * sizeof *T);
    double *u = malloc(dd * sizeof *u);
    pecs_status st = P && F && T && u ? PECS_OK : PECS_NOMEM;
    double scale = sqrt((double)D);
    const double *qd = q->data, *kd = k->data;
    double *od = out->data;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t a = 0; a < D; a++)
                for (int64_t b = 0; b < D; b++)
                    P[a * D + b] = a == b;
            for (int64_t j = Lk - 1; j >= 0; j--) {
                if (pecs_pos_at(kp, 0, j) > qi) {
                    od[pecs_at3(out, h, i, j)] = -INFINITY;
                    continue;
                }
                double s = 0.0; /* q_i^T P k_j, P = the factors of the keys after j up to the query */
                for (int64_t a = 0; a < D; a++) {
                    double pk = 0.0;
                    for (int64_t b = 0; b < D; b++)
                        pk += P[a * D + b] * kd[pecs_at3(k, j, h, b)];
                    s += qd[pecs_at3(q, i, h, a)] * pk;
                }
                od[pecs_at3(out, h, i, j)] = s / scale;
                double beta = path_factor(w, h * Lq + j, D, u); /* P <- P H_j, H_j = I - beta u u^T as a matrix */
                for (int64_t a = 0; a < D; a++)
                    for (int64_t b = 0; b < D; b++)
                        F[a * D + b] = (a == b) - beta * u[a] * u[b];
                pecs_ref_matmul(P, F, D, T);
                memcpy(P, T, (size_t)(D * D) * sizeof *P);
            }
        }
    free(P);
    free(F);
    free(T);
    free(u);
    return st;
}
