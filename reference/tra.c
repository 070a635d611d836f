/* reference/tra.c — Threshold Relative Attention (scores form).
 *
 * Sources checked: Opper et al. 2025, arXiv 2503.23174: the stored pages give the abstract and introduction only
 * (the method section is not reachable), and the authors' mopper97/TRA holds a README. The definition is therefore
 * the authors' workshop notebook, abhishekpanigrahi1996/MOSS submissions/submission-96/TRA_FFL.ipynb (commit
 * 17086f98, read 2026-12-06 through the search tool), code cell "g6XQCFmHxQRj", class TRA.forward:
 *     q, k = qk_norm(q), qk_norm(k)                          RMSNorm without affine: outside this kernel
 *     S = q @ k^T / sqrt(e);  S[j > i] = -1e11;  S = relu(S);  mask = (S == 0)
 *     delta = logsigmoid(delta_proj(x))                      [b, h, s, 1]: one gate per query row and head
 *     D = (~mask) * delta;  D = D.flip(-1).cumsum(-1).flip(-1)
 *     A = S + D;  A[mask] = -1e11;  softmax;  rows with every key masked -> probabilities 0
 * So with s_ij = q_i . k_j / sqrt(D), key j is kept by query i iff it is causal and s_ij > 0 (s == 0 is dropped),
 * g_hi = logsigmoid(a_hi) <= 0, and
 *
 *     out[h][i][j] = s_ij + g_hi * c_ij,   c_ij = #{ kept j' : kpos_j <= kpos_j' }   (kept implies kpos_j' <= qpos_i)
 *
 * for kept keys and -inf for every other key (a row with nothing kept is all -inf: no distribution, as the
 * notebook's zeroed row). c counts the key itself (c >= 1).
 *
 * pecs's choices where the notebook is silent: (1) the kernel input `w` [H, Lq] is the gate projection's raw
 * output a = delta_proj(x_i)[h] (the Linear's output, bias included) and the kernel applies logsigmoid: the
 * notebook applies it inside TRA.forward to a per-token Linear output, as the kernel receives q and k after their
 * Linear maps; the qk RMS norm and the projections stay outside. (2) The notebook's keys and queries are token
 * indices 0..s-1, so "the keys from j to i" is both an index range and a position range; pecs reads positions:
 * causal iff kpos_j <= qpos_i and c counts kept keys at positions from kpos_j up (keys at equal positions count each
 * other). For sorted distinct positions this is the notebook's flip-cumsum-flip over the key axis.
 *
 * Positions enter through kpos_j <= qpos_i and the order of key positions only, so a common shift changes nothing:
 * relative-shift invariance EXACT.
 *
 * The keep decision is a threshold on s: pecs_ref_tra_undecided() below names the elements a kernel computing s in
 * float32 (the levels' arithmetic) may legitimately get the other way; the harness does not judge those.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

static double logsigmoid(double a) { return a < 0.0 ? a - log1p(exp(a)) : -log1p(exp(-a)); }

static int tra_tensors(const pecs_problem *p, const pecs_tensor **q, const pecs_tensor **k, const pecs_tensor **qp,
                       const pecs_tensor **kp, const pecs_tensor **out, char *why, size_t why_len)
{
    *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *qp = pecs_problem_tensor(p, "qpos");
    *kp = pecs_problem_tensor(p, "kpos"), *out = pecs_problem_tensor(p, "out");
    if (*q && *k && *qp && *kp && *out)
        return 1;
    snprintf(why, why_len, "tra needs tensors q, k, qpos, kpos, w and out");
    return 0;
}

static double tra_dot(const pecs_tensor *q, const pecs_tensor *k, int64_t i, int64_t j, int64_t h, int64_t D, double *abs_sum)
{
    const double *qd = q->data, *kd = k->data;
    double s = 0.0, a = 0.0;
    for (int64_t d = 0; d < D; d++) {
        double x = qd[pecs_at3(q, i, h, d)] * kd[pecs_at3(k, j, h, d)];
        s += x;
        a += fabs(x);
    }
    if (abs_sum)
        *abs_sum = a;
    return s;
}

PECS_REF_HOOK_SCORES(tra)
{
    const pecs_tensor *q, *k, *qp, *kp, *out;
    if (!tra_tensors(p, &q, &k, &qp, &kp, &out, why, why_len))
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    const pecs_tensor *w = pecs_ref_weights(p, H, Lq, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *wd = w->data;
    double *od = out->data, scale = sqrt((double)D);
    double *s = malloc((size_t)(Lk > 0 ? Lk : 1) * sizeof *s);
    unsigned char *kept = malloc((size_t)(Lk > 0 ? Lk : 1));
    pecs_status st = s && kept ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i), g = logsigmoid(wd[h * w->stride[0] + i * w->stride[1]]);
            for (int64_t j = 0; j < Lk; j++) {
                s[j] = tra_dot(q, k, i, j, h, D, NULL) / scale;
                kept[j] = pecs_pos_at(kp, 0, j) <= qi && s[j] > 0.0;
            }
            for (int64_t j = 0; j < Lk; j++) {
                double c = 0.0, kj = pecs_pos_at(kp, 0, j);
                for (int64_t jj = 0; kept[j] && jj < Lk; jj++)
                    c += kept[jj] && pecs_pos_at(kp, 0, jj) >= kj;
                od[pecs_at3(out, h, i, j)] = kept[j] ? s[j] + g * c : -INFINITY;
            }
        }
    free(s);
    free(kept);
    return st;
}

/* The float32 dot product's decision for each key of one row: 0 dropped whatever the rounding (or not visible), 1 kept
 * whatever the rounding, 2 undecided; s[j] gets the exact score. Returns the latest undecided key's position. */
static double tra_decide(const pecs_tensor *q, const pecs_tensor *k, const pecs_tensor *qp, const pecs_tensor *kp,
                         int64_t h, int64_t i, double gamma, double tiny, double *s, unsigned char *cls)
{
    int64_t Lk = k->shape[0], D = q->shape[2];
    double qi = pecs_pos_at(qp, 0, i), top = -INFINITY, scale = sqrt((double)D);
    for (int64_t j = 0; j < Lk; j++) {
        double a;
        s[j] = tra_dot(q, k, i, j, h, D, &a) / scale;
        /* |fl(q.k) - q.k| <= gamma_D sum |q_d k_d| for any order of float32 sums and products */
        double bound = gamma * a / scale + (a > 0.0 ? tiny : 0.0);
        if (pecs_pos_at(kp, 0, j) > qi || a == 0.0 || s[j] < -bound) /* exact zeros are dropped by every kernel */
            cls[j] = 0;
        else
            cls[j] = s[j] > bound ? 1 : 2;
        if (cls[j] == 2)
            top = fmax(top, pecs_pos_at(kp, 0, j));
    }
    return top;
}

int64_t pecs_ref_tra_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo, double *hi)
{
    char why[256];
    const pecs_tensor *q, *k, *qp, *kp, *out, *w = NULL;
    if (!tra_tensors(p, &q, &k, &qp, &kp, &out, why, sizeof why))
        return 0;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], n = 0;
    double gamma = (double)D * unit / (1.0 - (double)D * unit);
    double *s = malloc((size_t)(Lk > 0 ? Lk : 1) * sizeof *s);
    unsigned char *cls = malloc((size_t)(Lk > 0 ? Lk : 1));
    if (!s || !cls || ((lo || hi) && !(w = pecs_ref_weights(p, H, Lq, why, sizeof why)))) {
        n = -1;
        goto cleanup;
    }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double top = tra_decide(q, k, qp, kp, h, i, gamma, tiny, s, cls);
            for (int64_t j = 0; j < Lk && top > -INFINITY; j++) { /* its own element and the counts that include it */
                double kj = pecs_pos_at(kp, 0, j);
                if (kj > top || cls[j] == 0)
                    continue;
                int64_t e = (h * Lq + i) * Lk + j, c_lo = cls[j] == 2, c_hi = 0;
                skip[e] = cls[j];
                n++;
                for (int64_t jj = 0; jj < Lk; jj++) /* kept keys at or after kj: the certain ones, and the undecided */
                    if (cls[jj] && pecs_pos_at(kp, 0, jj) >= kj)
                        c_lo += cls[jj] == 1, c_hi++;
                if (lo && hi) { /* g = logsigmoid(.) <= 0: the most kept keys give the lowest logit */
                    double g = logsigmoid(((const double *)w->data)[h * w->stride[0] + i * w->stride[1]]);
                    lo[e] = s[j] + g * (double)c_hi;
                    hi[e] = s[j] + g * (double)c_lo;
                }
            }
        }
cleanup:
    free(s);
    free(cls);
    return n;
}
