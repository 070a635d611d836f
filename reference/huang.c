/* reference/huang.c — Huang et al. 2020 relative position embeddings, method 4 (scores form).
 *
 * Sources checked: Huang, Liang, Xu & Xiang 2020, "Improve Transformer Models with Better Relative Position
 * Embeddings" (Findings of EMNLP 2020): only the abstract was retrievable through the search tool (the stored pages
 * stop before section 3), so the formula is taken from the implementation the field uses and that names it
 * "Method 4" of this paper: HF transformers BertSelfAttention with position_embedding_type="relative_key_query"
 * (modeling_bert.py and its copies in RoBERTa, ELECTRA, ...; read 2026-12-06 through the search tool):
 *     distance = position_ids_l - position_ids_r                       (query - key)
 *     a = distance_embedding(distance + max_position_embeddings - 1)   (nn.Embedding(2*max_pos - 1, head_size))
 *     scores = (q.k + einsum("bhld,lrd->bhlr", q, a) + einsum("bhrd,lrd->bhlr", k, a)) / sqrt(head_size)
 * one table shared by all heads, no clipping (a distance past max_pos - 1 indexes out of the table: an error).
 * With N = max_distance = max_position_embeddings - 1 and w = tensor "w" [2N+1, D] (row r = distance r - N):
 *
 *     out[h][i][j] = (q_i . k_j + q_i . w[qpos_i - kpos_j + N] + k_j . w[qpos_i - kpos_j + N]) / sqrt(D)
 *
 * and -inf where causal and kpos_j > qpos_i. |qpos - kpos| > N or a fractional distance is an invalid problem.
 * Method 3 of the paper (and methods 1-2) are not represented: no stored source defines them.
 * The logits depend on qpos - kpos only: relative-shift invariance EXACT.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static int64_t at3(const pecs_tensor *t, int64_t a, int64_t b, int64_t c)
{
    return a * t->stride[0] + b * t->stride[1] + c * t->stride[2];
}

PECS_REF_HOOK_SCORES(huang)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "huang needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t N = pecs_param_int(p, "max_distance", 511);
    int causal = pecs_param_int(p, "causal", 1) != 0;
    const pecs_tensor *w = pecs_ref_weights(p, 2 * N + 1, D, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data, scale = sqrt((double)D);
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double dist = pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j);
            if (dist != floor(dist) || fabs(dist) > (double)N) {
                snprintf(why, why_len, "huang: distance qpos - kpos = %g is not an integer within +-max_distance %lld "
                         "(the table has no row for it)", dist, (long long)N);
                return PECS_INVALID;
            }
            int64_t r = (int64_t)dist + N;
            for (int64_t h = 0; h < H; h++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++) {
                    double a = wd[r * w->stride[0] + d * w->stride[1]], qv = qd[at3(q, i, h, d)], kv = kd[at3(k, j, h, d)];
                    s += qv * kv + qv * a + kv * a;
                }
                od[at3(out, h, i, j)] = causal && dist < 0 ? -INFINITY : s / scale;
            }
        }
    return PECS_OK;
}
