/* reference/nope_temperature.c — NoPE with a learned per-head temperature ("head scale"), scores form.
 *
 * Sources checked: Wang, Ji, Wu, Yan, Gui, Zhang, Huang & Wang 2024, "Length Generalization of Causal
 * Transformers without Position Encoding" (arXiv 2404.12224; only the abstract is in the stored pages), and the
 * authors' code AntNLP/nope_head_scale (README: "the code for the Head Scale length generalization method", the
 * paper's citation), models/llama_nope.py, read through the search tool on 2026-12-06:
 *   - nope_monkey_patch replaces apply_rotary_pos_emb by the identity: no position term anywhere;
 *   - ScaleMixin.__init__ (SoftMaxScaleType.HS): scale_param = one value per head, initialised to softmax_scale;
 *   - ScaleMixin.query_scale: query *= scale_param[h] / sqrt(head_dim) (HS; CONST: softmax_scale / sqrt(head_dim)
 *     for every head, the case of equal values), and the attention then runs with softmax_scale = 1 (flash) or
 *     no further scale (eager: attn_weights = q.k^T "scaled in query scale"), plus Llama's causal mask.
 * So the logit the encoding defines, with lambda = tensor "w" [1, H] (the learned scale_param):
 *
 *     out[h][i][j] = lambda_h * (q_i . k_j) / sqrt(D),   -inf where kpos_j > qpos_i
 *
 * The code scales the query in the model's dtype before the product; the reference takes the exact product (a
 * kernel's rounding of lambda_h / sqrt(D) is within the form's tolerance). HS asserts head_dim 64; the formula
 * does not depend on it and D is free here. Positions enter through the causal mask only: relative-shift
 * invariance EXACT (trivially: the logits do not depend on position at all).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_SCORES(nope_temperature)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "%s needs tensors q, k, qpos, kpos, w and out", p->encoding);
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    const pecs_tensor *w = pecs_ref_weights(p, 1, H, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data, root = sqrt((double)D);
    for (int64_t h = 0; h < H; h++) {
        double lambda = wd[h * w->stride[1]];
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                double s = 0.0;
                for (int64_t c = 0; c < D; c++)
                    s += qd[pecs_at3(q, i, h, c)] * kd[pecs_at3(k, j, h, c)];
                od[pecs_at3(out, h, i, j)] =
                    pecs_pos_at(kp, 0, j) > pecs_pos_at(qp, 0, i) ? -INFINITY : lambda * s / root;
            }
    }
    return PECS_OK;
}
