/* reference/cope.c — Contextual Position Encoding (scores form).
 *
 * Sources checked: Golovneva et al. 2024, "Contextual Position Encoding: Learning to Count What's
 * Important", the paper's code (CoPE module + SelfAttn): with a_ij = q_i.k_j / sqrt(D) and the causal mask
 * (masked logits -inf, so their gates are 0):
 *     g_ij = sigmoid(a_ij);   p_ij = sum_{t >= j} g_it   (reverse cumulative sum over the key axis)
 *     p_ij = min(p_ij, npos - 1);   z_i[k] = q_i . e[:, k]   (unscaled q; e is tensor "w" [D, npos])
 *     logits_ij = a_ij + z_i[ceil p] * (p - floor p) + z_i[floor p] * (1 - (p - floor p))
 * and -inf where masked. A query counts its own gate (p_ii = g_ii). That is division=content (default).
 *
 * division=all: the authors' training code, facebookresearch/RAM projects/cope/src/cope/context_position.py
 * ContextPosSelfAttn.forward (commits 5420e201 and eff93c70, read 2026-12-05 through the search tool),
 * computes the same gates sigmoid(q.k/sqrt(D)) (masked gates multiplied by 0) and the same interpolated
 * z term, but then, unless --cope-nodiv is given (its default is False, and projects/cope/run.sh never
 * passes it), adds z to the raw q.k and divides the sum:
 *     logits_ij = (q_i.k_j + z_i(p_ij)) / sqrt(D)      i.e. the position term is divided by sqrt(D) too.
 * --cope-nodiv restores the paper's form (= division=content). The default stays content so that existing
 * case strings and results (which omit default parameters) keep their meaning; see docs/encodings.md.
 *
 * Positions enter only through the causal mask (key visible iff kpos <= qpos), so a common position shift
 * changes nothing: the relative-shift check does not apply (registry NA); CoPE is "not invariant" in the
 * catalogue's sense because its positions depend on content.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"


PECS_REF_HOOK_SCORES(cope)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "cope needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t npos = pecs_param_int(p, "npos", 16);
    int div_all = pecs_param_is(p, "division", "all");
    const pecs_tensor *w = pecs_ref_weights(p, D, npos, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data;
    double *a = malloc((size_t)Lk * sizeof *a), *z = malloc((size_t)npos * sizeof *z);
    pecs_status st = a && z ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < Lk; j++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++)
                    s += qd[pecs_at3(q, i, h, d)] * kd[pecs_at3(k, j, h, d)];
                a[j] = pecs_pos_at(kp, 0, j) <= qi ? s / sqrt((double)D) : -INFINITY;
            }
            for (int64_t n = 0; n < npos; n++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++)
                    s += qd[pecs_at3(q, i, h, d)] * wd[d * w->stride[0] + n * w->stride[1]];
                z[n] = s;
            }
            double cum = 0.0;
            for (int64_t j = Lk - 1; j >= 0; j--) {
                cum += isinf(a[j]) ? 0.0 : 1.0 / (1.0 + exp(-a[j]));
                double pos = fmin(cum, (double)(npos - 1)), lo = floor(pos), frac = pos - lo;
                double zz = z[(int64_t)ceil(pos)] * frac + z[(int64_t)lo] * (1.0 - frac);
                od[pecs_at3(out, h, i, j)] = isinf(a[j]) ? -INFINITY : div_all ? a[j] + zz / sqrt((double)D) : a[j] + zz;
            }
        }
    free(a);
    free(z);
    return st;
}
