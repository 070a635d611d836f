/* impls/scalar/scores.c — scores-form kernels: CoPE with f32 dot products and f32 gates. With
 * division=all the position term is scaled by 1/sqrt(D) too, as (q.k + z)/sqrt(D) in the authors' code.
 * Tier 2: Shaw's relative keys evaluated directly; Music Transformer and Transformer-XL by their papers' own
 * algorithms (the skewing / _rel_shift of a relative-logit matrix), which the references evaluate directly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "scalar.h"

SCALAR_HOOK_SCORES(cope)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], npos = pecs_param_int(p, "npos", 16);
    if (w->shape[0] != D || w->shape[1] != npos)
        return PECS_INVALID;
    float *logit = malloc((size_t)Lk * sizeof *logit), *z = malloc((size_t)npos * sizeof *z);
    pecs_status st = logit && z ? PECS_OK : PECS_NOMEM;
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    float zscale = pecs_param_is(p, "division", "all") ? inv_sqrt_d : 1.0f;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < Lk; j++) {
                float acc = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                           pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                logit[j] = pecs_pos_at(kp, 0, j) <= qi ? acc * inv_sqrt_d : -INFINITY;
            }
            for (int64_t n = 0; n < npos; n++) {
                float acc = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                           pecs_load_f32(w->data, w->dtype, d * w->stride[0] + n * w->stride[1]);
                z[n] = acc;
            }
            float cum = 0.0f;
            for (int64_t j = Lk - 1; j >= 0; j--) {
                cum += 1.0f / (1.0f + expf(-logit[j])); /* a masked logit's gate is exactly 0 */
                float pos = cum < (float)(npos - 1) ? cum : (float)(npos - 1);
                float lo = floorf(pos), frac = pos - lo;
                float v = z[(int64_t)ceilf(pos)] * frac + z[(int64_t)lo] * (1.0f - frac);
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), logit[j] + v * zscale);
            }
        }
    free(logit);
    free(z);
    return st;
}

/* ---- tier 2: relative-position logits (shaw direct; music and txl by skewing) ------------------------------ */

/* Shaw relative keys, direct: (q.k + q.a[clip(kpos - qpos, -K, K) + K]) / sqrt(D), f32 sums. */
SCALAR_HOOK_SCORES(shaw)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t K = pecs_param_int(p, "max_relative_position", 16);
    int causal = pecs_param_int(p, "causal", 1) != 0;
    if (w->shape[0] != 2 * K + 1 || w->shape[1] != D)
        return PECS_INVALID;
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double dist = pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i);
            if (dist != floor(dist))
                return PECS_INVALID;
            int64_t r = (dist < (double)-K ? -K : dist > (double)K ? K : (int64_t)dist) + K;
            for (int64_t h = 0; h < H; h++) {
                float qk = 0.0f, qa = 0.0f;
                for (int64_t d = 0; d < D; d++) {
                    float qv = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d));
                    qk += qv * pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                    qa += qv * pecs_load_f32(w->data, w->dtype, r * w->stride[0] + d * w->stride[1]);
                }
                float v = causal && dist > 0 ? -INFINITY : (qk + qa) * inv_sqrt_d;
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
        }
    return PECS_OK;
}

/* Huang et al. method 4 (HF relative_key_query), direct: (q.k + q.a + k.a) / sqrt(D), a = w[qpos - kpos + N]. */
SCALAR_HOOK_SCORES(huang)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t N = pecs_param_int(p, "max_distance", 511);
    int causal = pecs_param_int(p, "causal", 1) != 0;
    if (w->shape[0] != 2 * N + 1 || w->shape[1] != D)
        return PECS_INVALID;
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double dist = pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j);
            if (dist != floor(dist) || fabs(dist) > (double)N)
                return PECS_INVALID;
            int64_t r = (int64_t)dist + N;
            for (int64_t h = 0; h < H; h++) {
                float qk = 0.0f, qa = 0.0f, ka = 0.0f;
                for (int64_t d = 0; d < D; d++) {
                    float qv = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)),
                          kv = pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d)),
                          a = pecs_load_f32(w->data, w->dtype, r * w->stride[0] + d * w->stride[1]);
                    qk += qv * kv;
                    qa += qv * a;
                    ka += kv * a;
                }
                float v = causal && dist < 0 ? -INFINITY : (qk + qa + ka) * inv_sqrt_d;
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
        }
    return PECS_OK;
}

/* NoPE head scale: lambda_h / sqrt(D) rounded to f32 once per head and applied to the f32 q.k sum, as the authors'
 * query_scale multiplies the query by one per-head factor before the product. */
SCALAR_HOOK_SCORES(nope_temperature)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (w->ndim != 2 || w->shape[0] != 1 || w->shape[1] != H)
        return PECS_INVALID;
    for (int64_t h = 0; h < H; h++) {
        float scale = (float)((double)pecs_load_f32(w->data, w->dtype, h * w->stride[1]) / sqrt((double)D));
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                float qk = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    qk += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                          pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                float v = pecs_pos_at(kp, 0, j) > pecs_pos_at(qp, 0, i) ? -INFINITY : qk * scale;
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
    }
    return PECS_OK;
}

int scalar_skew_supported(const pecs_problem *p, char *reason, size_t reason_size)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos");
    if (!qp || !kp || qp->shape[0] < 1 || kp->shape[0] < 1)
        return 1; /* run() reports the missing tensor */
    int64_t Lq = qp->shape[0], Lk = kp->shape[0];
    double q0 = pecs_pos_at(qp, 0, 0), k0 = pecs_pos_at(kp, 0, 0);
    int ok = q0 == floor(q0) && k0 == floor(k0);
    for (int64_t i = 1; ok && i < Lq; i++)
        ok = pecs_pos_at(qp, 0, i) == q0 + (double)i;
    for (int64_t j = 1; ok && j < Lk; j++)
        ok = pecs_pos_at(kp, 0, j) == k0 + (double)j;
    if (!ok) {
        snprintf(reason, reason_size, "%s: the skewing kernel needs consecutive integer positions (qpos[i] = qpos[0] + i, "
                 "kpos[j] = kpos[0] + j)", p->encoding);
        return 0;
    }
    if (q0 + (double)(Lq - 1) > k0 + (double)(Lk - 1)) {
        snprintf(reason, reason_size, "%s: the skewing kernel needs the last query at or before the last key (a visible "
                 "key would read past the relative matrix's row)", p->encoding);
        return 0;
    }
    return 1;
}

/* The skew of Music Transformer sec. 3.4.1 / Transformer-XL's _rel_shift: X [Lq, Lk] holds in column c the
 * relative term for the column distance of c (c + 1 - Lq steps from the diagonal), padded with a zero column on
 * the left. Viewed as a flat array, the [Lq, Lk+1] padded matrix re-read as [Lk+1, Lq], its first row dropped and
 * re-read as [Lq, Lk], puts X[i][Lq - 1 + j - i] at (i, j): padded[Lq + i*Lk + j]. The cells it leaves (j - i > Lk - Lq:
 * the next row's entries) are exactly the masked ones under scalar_skew_supported(). */
static float skewed(const float *padded, int64_t Lq, int64_t Lk, int64_t i, int64_t j)
{
    return padded[Lq + i * Lk + j];
}

/* Music Transformer: Srel by skewing q.E_r^T, E_r for the column distances (kpos[0] - qpos[0]) + c + 1 - Lq. */
SCALAR_HOOK_SCORES(music)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t M = pecs_param_int(p, "max_relative_position", 256);
    if (w->shape[0] != M || w->shape[1] != D)
        return PECS_INVALID;
    double off = pecs_pos_at(kp, 0, 0) - pecs_pos_at(qp, 0, 0);
    float *padded = malloc((size_t)(Lq * (Lk + 1)) * sizeof *padded);
    if (!padded)
        return PECS_NOMEM;
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    for (int64_t h = 0; h < H; h++) {
        for (int64_t i = 0; i < Lq; i++) {
            padded[i * (Lk + 1)] = 0.0f;
            for (int64_t c = 0; c < Lk; c++) {
                double dist = off + (double)(c + 1 - Lq);
                float s = 0.0f;
                if (dist <= 0 && dist >= -(double)(M - 1)) { /* t2t's zero rows beyond M - 1 back */
                    int64_t r = (int64_t)dist + M - 1;
                    for (int64_t d = 0; d < D; d++)
                        s += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                             pecs_load_f32(w->data, w->dtype, r * w->stride[0] + d * w->stride[1]);
                }
                padded[i * (Lk + 1) + 1 + c] = s;
            }
        }
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                float v = -INFINITY;
                if (pecs_pos_at(kp, 0, j) <= pecs_pos_at(qp, 0, i)) {
                    float qk = 0.0f;
                    for (int64_t d = 0; d < D; d++)
                        qk += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                              pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                    v = (qk + skewed(padded, Lq, Lk, i, j)) * inv_sqrt_d;
                }
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
    }
    free(padded);
    return PECS_OK;
}

/* Transformer-XL: BD[i][c] = (q_i + v).(W_R R(s_c)) for the column distances s_c = (qpos[0] - kpos[0]) + Lq - 1 - c
 * (pos_seq = klen-1 .. 0 in the standard layout), then _rel_shift, AC = (q + u).k, (AC + BD) / sqrt(D). */
SCALAR_HOOK_SCORES(txl)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t dm = pecs_param_int(p, "d_model", 512), clamp = pecs_param_int(p, "clamp_len", 0);
    if (dm % 2 != 0 || w->shape[0] != H * D || w->shape[1] != dm + 2)
        return PECS_INVALID;
    double off = pecs_pos_at(qp, 0, 0) - pecs_pos_at(kp, 0, 0);
    float *padded = malloc((size_t)(Lq * (Lk + 1)) * sizeof *padded), *R = malloc((size_t)(Lk * dm) * sizeof *R),
          *rk = malloc((size_t)(Lk * D) * sizeof *rk);
    pecs_status st = padded && R && rk ? PECS_OK : PECS_NOMEM;
    /* R(s_c): [sin | cos] of s_c * 10000^(-2m/d_model), angles in double (PositionalEmbedding) */
    for (int64_t c = 0; st == PECS_OK && c < Lk; c++) {
        double s = off + (double)(Lq - 1 - c);
        if (clamp > 0 && s > (double)clamp)
            s = (double)clamp;
        for (int64_t m = 0; m < dm / 2; m++) {
            double a = s * pow(10000.0, -(double)(2 * m) / (double)dm);
            R[c * dm + m] = (float)sin(a);
            R[c * dm + dm / 2 + m] = (float)cos(a);
        }
    }
#define WF_(row, col) pecs_load_f32(w->data, w->dtype, (row) * w->stride[0] + (col) * w->stride[1])
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        for (int64_t c = 0; c < Lk; c++) /* r_head_k = r_net(R) for this head */
            for (int64_t d = 0; d < D; d++) {
                float s = 0.0f;
                for (int64_t m = 0; m < dm; m++)
                    s += WF_(h * D + d, m) * R[c * dm + m];
                rk[c * D + d] = s;
            }
        for (int64_t i = 0; i < Lq; i++) {
            padded[i * (Lk + 1)] = 0.0f;
            for (int64_t c = 0; c < Lk; c++) {
                float s = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    s += (pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) + WF_(h * D + d, dm + 1)) * rk[c * D + d];
                padded[i * (Lk + 1) + 1 + c] = s;
            }
        }
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                float v = -INFINITY;
                if (pecs_pos_at(kp, 0, j) <= pecs_pos_at(qp, 0, i)) {
                    float ac = 0.0f;
                    for (int64_t d = 0; d < D; d++)
                        ac += (pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) + WF_(h * D + d, dm)) *
                              pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                    v = (ac + skewed(padded, Lq, Lk, i, j)) * (float)(1.0 / sqrt((double)D));
                }
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
    }
#undef WF_
    free(padded);
    free(R);
    free(rk);
    return st;
}

/* ---- tra: threshold relative attention (float32 dot products and gate) ------------------------------------------
 * Keys sorted by position once; per (head, query) one pass from the latest key position down accumulates the kept
 * count, a group of equal positions at a time (they count each other): the notebook's flip-cumsum-flip over the
 * key axis, generalised to any key order. */
typedef struct tra_key {
    double pos;
    int64_t j;
} tra_key;

static int tra_key_cmp(const void *a, const void *b)
{
    const tra_key *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos ? 1 : (x->j > y->j) - (x->j < y->j);
}

SCALAR_HOOK_SCORES(tra)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (w->shape[0] != H || w->shape[1] != Lq)
        return PECS_INVALID;
    size_t nk = (size_t)(Lk > 0 ? Lk : 1);
    tra_key *order = malloc(nk * sizeof *order);
    float *s = malloc(nk * sizeof *s);
    unsigned char *kept = malloc(nk);
    pecs_status st = order && s && kept ? PECS_OK : PECS_NOMEM;
    for (int64_t j = 0; st == PECS_OK && j < Lk; j++)
        order[j] = (tra_key){pecs_pos_at(kp, 0, j), j};
    if (st == PECS_OK)
        qsort(order, (size_t)Lk, sizeof *order, tra_key_cmp);
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            float a = pecs_load_f32(w->data, w->dtype, h * w->stride[0] + i * w->stride[1]);
            float g = a < 0.0f ? a - log1pf(expf(a)) : -log1pf(expf(-a)); /* logsigmoid */
            for (int64_t j = 0; j < Lk; j++) {
                float acc = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                           pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                s[j] = acc * inv_sqrt_d;
                kept[j] = pecs_pos_at(kp, 0, j) <= qi && s[j] > 0.0f;
            }
            int64_t count = 0;
            for (int64_t e = Lk; e > 0;) { /* groups of equal positions, latest first */
                int64_t b = e - 1;
                while (b > 0 && order[b - 1].pos == order[e - 1].pos)
                    b--;
                for (int64_t t = b; t < e; t++)
                    count += kept[order[t].j];
                for (int64_t t = b; t < e; t++) {
                    int64_t j = order[t].j;
                    float v = kept[j] ? s[j] + g * (float)count : -INFINITY;
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
                }
                e = b;
            }
        }
    free(order);
    free(s);
    free(kept);
    return st;
}

/* ---- path: PaTH attention (float32) -----------------------------------------------------------------------------
 * Per (head, query) the query vector v starts as q_i and walks the keys down from the latest: key j's logit is
 * v . k_j / sqrt(D), then v <- H_j v (H_j symmetric), so key j - 1 sees q_i^T H_i ... H_j. One reflection per key:
 * O(D) instead of the reference's explicit D x D products. u_j = w_j / sqrt(|w_j|^2 + 1e-6), beta_j = 2 sigmoid(b_j). */
SCALAR_HOOK_SCORES(path)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq != Lk || w->ndim != 2 || w->shape[0] != H * Lq || w->shape[1] != D + 1)
        return PECS_INVALID;
    for (int64_t j = 1; j < Lk; j++)
        if (!(pecs_pos_at(kp, 0, j) > pecs_pos_at(kp, 0, j - 1)))
            return PECS_INVALID;
    size_t dd = (size_t)(D > 0 ? D : 1);
    float *v = malloc(dd * sizeof *v), *u = malloc(dd * sizeof *u);
    pecs_status st = v && u ? PECS_OK : PECS_NOMEM;
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t d = 0; d < D; d++)
                v[d] = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d));
            for (int64_t j = Lk - 1; j >= 0; j--) {
                if (pecs_pos_at(kp, 0, j) > qi) {
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -INFINITY);
                    continue;
                }
                float acc = 0.0f, n2 = 0.0f, uv = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += v[d] * pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), acc * inv_sqrt_d);
                int64_t r = h * Lq + j;
                for (int64_t d = 0; d < D; d++) {
                    u[d] = pecs_load_f32(w->data, w->dtype, r * w->stride[0] + d * w->stride[1]);
                    n2 += u[d] * u[d];
                }
                float b = pecs_load_f32(w->data, w->dtype, r * w->stride[0] + D * w->stride[1]);
                float beta = 2.0f / (1.0f + expf(-b)), inv = 1.0f / sqrtf(n2 + 1e-6f);
                for (int64_t d = 0; d < D; d++) {
                    u[d] *= inv;
                    uv += u[d] * v[d];
                }
                for (int64_t d = 0; d < D; d++)
                    v[d] -= beta * uv * u[d];
            }
        }
    free(v);
    free(u);
    return st;
}

/* ---- gateloop: GateLoop's surrogate attention (float32, complex gates as (re, im) pairs) ---------------------------
 * The recurrence S_n = a_n S_{n-1} + k_n^T v_n read backwards: per (head, query) one pass over the keys sorted by
 * position, from the query's position down, carries the running product P of the gates of the keys already passed;
 * key m's weight is (q_n . k_m) Re(P) with P over the keys after m (a group of equal positions at a time: they do not
 * gate each other), then m's group multiplies its gates into P. O(Lk) products per row, as the scan. */
SCALAR_HOOK_SCORES(gateloop)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq != Lk || w->shape[0] != 2 * H || w->shape[1] != Lk)
        return PECS_INVALID;
    size_t nk = (size_t)(Lk > 0 ? Lk : 1);
    tra_key *order = malloc(nk * sizeof *order);
    float *ar = malloc(nk * sizeof *ar), *ai = malloc(nk * sizeof *ai);
    pecs_status st = order && ar && ai ? PECS_OK : PECS_NOMEM;
    for (int64_t j = 0; st == PECS_OK && j < Lk; j++)
        order[j] = (tra_key){pecs_pos_at(kp, 0, j), j};
    if (st == PECS_OK)
        qsort(order, (size_t)Lk, sizeof *order, tra_key_cmp);
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        for (int64_t j = 0; j < Lk; j++) { /* a = sigmoid(|c|) c/|c| */
            float re = pecs_load_f32(w->data, w->dtype, h * w->stride[0] + j * w->stride[1]);
            float im = pecs_load_f32(w->data, w->dtype, (H + h) * w->stride[0] + j * w->stride[1]);
            float r = hypotf(re, im), m = 1.0f / (1.0f + expf(-r));
            ar[j] = r > 0.0f ? m * (re / r) : m;
            ai[j] = r > 0.0f ? m * (im / r) : 0.0f;
        }
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            float pr = 1.0f, pi = 0.0f;
            for (int64_t e = Lk; e > 0;) { /* groups of equal positions, latest first */
                int64_t b = e - 1;
                while (b > 0 && order[b - 1].pos == order[e - 1].pos)
                    b--;
                int visible = order[b].pos <= qi;
                for (int64_t t = b; t < e; t++) {
                    int64_t j = order[t].j;
                    float acc = 0.0f;
                    for (int64_t d = 0; visible && d < D; d++)
                        acc += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                               pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), visible ? acc * pr : -INFINITY);
                }
                for (int64_t t = b; visible && t < e; t++) { /* the group's gates join P for the keys before it */
                    int64_t j = order[t].j;
                    float r = pr * ar[j] - pi * ai[j];
                    pi = pr * ai[j] + pi * ar[j];
                    pr = r;
                }
                e = b;
            }
        }
    }
    free(order);
    free(ar);
    free(ai);
    return st;
}

/* BROS crel: the inverse frequencies once, each pair's 8 x m/2 angles in double (s (key box - query box) reaches
 * thousands of radians), the projection P shared by the heads accumulated in double, q.k in f32. */
SCALAR_HOOK_SCORES(bros_crel)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out || qp->ndim != 2 || kp->ndim != 2 || qp->shape[0] != 8 ||
        kp->shape[0] != 8)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], m = pecs_param_int(p, "sinusoid_dim", 24);
    if (m % 2 != 0 || w->ndim != 2 || w->shape[0] != 8 * m || w->shape[1] != D)
        return PECS_INVALID;
    double s = pecs_param_real(p, "bbox_scale", 100.0), *inv = malloc((size_t)(m / 2) * sizeof *inv),
           *P = malloc((size_t)D * sizeof *P);
    pecs_status st = inv && P ? PECS_OK : PECS_NOMEM;
    for (int64_t r = 0; st == PECS_OK && r < m / 2; r++)
        inv[r] = pow(10000.0, -2.0 * (double)r / (double)m);
    for (int64_t i = 0; st == PECS_OK && i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            for (int64_t d = 0; d < D; d++)
                P[d] = 0.0;
            for (int64_t c = 0; c < 8; c++) {
                double delta = s * (pecs_pos_at(kp, c, j) - pecs_pos_at(qp, c, i));
                for (int64_t r = 0; r < m / 2; r++) {
                    double sn = sin(delta * inv[r]), cs = cos(delta * inv[r]);
                    int64_t rs = c * m + r, rc = rs + m / 2;
                    for (int64_t d = 0; d < D; d++)
                        P[d] += (double)pecs_load_f32(w->data, w->dtype, rs * w->stride[0] + d * w->stride[1]) * sn +
                                (double)pecs_load_f32(w->data, w->dtype, rc * w->stride[0] + d * w->stride[1]) * cs;
                }
            }
            for (int64_t h = 0; h < H; h++) {
                float qk = 0.0f;
                double qP = 0.0;
                for (int64_t d = 0; d < D; d++) {
                    float qv = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d));
                    qk += qv * pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                    qP += (double)qv * P[d];
                }
                float v = (float)(((double)qk + qP) / sqrt((double)D));
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
        }
    free(inv);
    free(P);
    return st;
}

/* ---- cable: CABLE's context-aware biases (float32 dot products, double prefix sum) ---------------------------------
 * Per head the prefix sum z_t = -sum_{t' <= t} softplus(w[h][t']) over the keys in order (strictly increasing
 * positions), once: O(L). Query i's bias for key j is z_m - z_j, m the last key at or before qpos_i (a binary
 * search), so each element costs its dot product only: O(H L^2 D) in all, against O(H L^3) for summing each bias.
 * z is accumulated in double: |z| grows like L while z_m - z_j may be small, so a float32 prefix loses the difference
 * to cancellation as L grows (the authors' float32 cumsum has the same loss; pecs judges against the exact sum). */
SCALAR_HOOK_SCORES(cable)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq != Lk || w->ndim != 2 || w->shape[0] != H || w->shape[1] != Lk)
        return PECS_INVALID;
    for (int64_t j = 1; j < Lk; j++)
        if (!(pecs_pos_at(kp, 0, j) > pecs_pos_at(kp, 0, j - 1)))
            return PECS_INVALID;
    double *z = malloc((size_t)(Lk > 0 ? Lk : 1) * sizeof *z);
    pecs_status st = z ? PECS_OK : PECS_NOMEM;
    float scale = pecs_param_is(p, "qk_scale", "none") ? 1.0f : (float)(1.0 / sqrt((double)(H * D)));
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        double acc = 0.0;
        for (int64_t t = 0; t < Lk; t++) {
            double x = (double)pecs_load_f32(w->data, w->dtype, h * w->stride[0] + t * w->stride[1]);
            acc -= (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
            z[t] = acc;
        }
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            int64_t lo = 0, hi = Lk; /* m = lo - 1: the last key with kpos <= qpos_i */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (pecs_pos_at(kp, 0, mid) <= qi)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (int64_t j = 0; j < Lk; j++) {
                if (j >= lo) {
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -INFINITY);
                    continue;
                }
                float dot = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    dot += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                           pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), scale * dot + (float)(z[lo - 1] - z[j]));
            }
        }
    }
    free(z);
    return st;
}

/* TAPA (arXiv 2509.12635 Eq. 12): amplitude q_A.k_A over the first A = theta D channels (an f32 sum) and phase q_P.k_P
 * over the rest, summed in double because it is an angle: 2 pi |qpos - kpos|^alpha (q_P.k_P) / sqrt(D - A) multiplies
 * the sum's error by up to 2 pi d^alpha (a float32 phase sum is off by 0.03 rad at alpha 1 and d 5e4, as a float32
 * RoPE angle is at large positions). The cosine in double, the product rounded once. A = theta D must be an integer in
 * 1 .. D-1. */
SCALAR_HOOK_SCORES(rope_tapa)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    double theta = pecs_param_real(p, "theta", 0.5), alpha = pecs_param_real(p, "alpha", 0.1), a = theta * (double)D;
    int64_t A = (int64_t)llround(a);
    if (fabs(a - (double)A) > 1e-9 * (double)D || A < 1 || A > D - 1)
        return PECS_INVALID;
    int causal = pecs_param_int(p, "causal", 1) != 0;
    float inv_sa = (float)(1.0 / sqrt((double)A));
    double w = 2.0 * 3.14159265358979323846 / sqrt((double)(D - A));
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double qi = pecs_pos_at(qp, 0, i), kj = pecs_pos_at(kp, 0, j), dpow = pow(fabs(qi - kj), alpha);
            for (int64_t h = 0; h < H; h++) {
                if (causal && kj > qi) {
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -INFINITY);
                    continue;
                }
                float amp = 0.0f;
                double ph = 0.0;
                for (int64_t d = 0; d < D; d++) {
                    float qv = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)),
                          kv = pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                    if (d < A)
                        amp += qv * kv;
                    else
                        ph += (double)qv * (double)kv;
                }
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), (float)((double)(amp * inv_sa) * cos(w * dpow * ph)));
            }
        }
    return PECS_OK;
}

/* ---- rope.windowed: WRoPE (float32 dot products, angles from the distance in double) -----------------------------
 * Per (query, key) the effective distance r (the true qpos - kpos inside the window or for a sink key, P beyond) is
 * formed once and its D/2 cos/sin pairs are shared by the heads. The angle r w_f is taken in double from r, so the
 * rotation does not degrade with the absolute position (a kernel rotating q and k at their own positions in float32
 * loses the difference to rounding at large positions). */
SCALAR_HOOK_SCORES(rope_windowed)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], F = D / 2;
    if (D % 2 != 0)
        return PECS_INVALID;
    double W = (double)pecs_param_int(p, "wrope_local_window", 64), P = (double)pecs_param_int(p, "wrope_relative_pos", 2048);
    int64_t S = pecs_param_int(p, "attention_sink", 8);
    double base = pecs_param_real(p, "base", 10000.0);
    int half = !pecs_param_is(p, "pairing", "interleaved");
    double *inv = malloc((size_t)(F > 0 ? F : 1) * sizeof *inv);
    float *cs = malloc((size_t)(F > 0 ? 2 * F : 1) * sizeof *cs);
    pecs_status st = inv && cs ? PECS_OK : PECS_NOMEM;
    for (int64_t f = 0; f < F && st == PECS_OK; f++)
        inv[f] = pow(base, -(double)(2 * f) / (double)D);
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    for (int64_t i = 0; i < Lq && st == PECS_OK; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double r = pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j);
            if (r < 0.0) {
                for (int64_t h = 0; h < H; h++)
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -INFINITY);
                continue;
            }
            if (!(r < W) && j >= S)
                r = P;
            for (int64_t f = 0; f < F; f++) {
                double a = r * inv[f];
                cs[2 * f] = (float)cos(a), cs[2 * f + 1] = (float)sin(a);
            }
            for (int64_t h = 0; h < H; h++) {
                float acc = 0.0f;
                for (int64_t f = 0; f < F; f++) {
                    int64_t a = half ? f : 2 * f, b = half ? f + F : 2 * f + 1;
                    float qa = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, a)),
                          qb = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, b)),
                          ka = pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, a)),
                          kb = pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, b));
                    acc += cs[2 * f] * (qa * ka + qb * kb) + cs[2 * f + 1] * (qa * kb - qb * ka);
                }
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), acc * inv_sqrt_d);
            }
        }
    free(inv);
    free(cs);
    return st;
}

/* ---- rope.gali: GALI's noise-free logit interpolation (float32 dot products, angles from the distance in double) --
 * Per query: the end T of its chunk, construct_new_pi's group size g, i* and F in closed form (the ids are t/g below F,
 * i* + t - F from F), so a call costs nothing per token it does not read. Per key: the two integer distances
 * ceil(id_q) - ceil(id_k) and ceil(id_q) - floor(id_k) and the coefficient ceil(id_k) - id_k (0 for an integer id: one
 * logit). The cos/sin of each distance are taken in double and shared by the heads. */
static void gali_ids(int64_t T, int64_t Ltr, int64_t Lw, int64_t *g, int64_t *istar, int64_t *F)
{
    if (T <= Ltr) {
        *g = 1, *istar = 0, *F = 0;
        return;
    }
    *g = (T - Lw + (Ltr - Lw) - 1) / (Ltr - Lw);
    *istar = (T - Ltr + (*g - 1) - 1) / (*g - 1);
    *F = T - Ltr + *istar;
}

SCALAR_HOOK_SCORES(rope_gali)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], F2 = D / 2, L = 0;
    int64_t Ltr = pecs_param_int(p, "train_len", 4096), Lw = pecs_param_int(p, "local_window", 128),
            s = pecs_param_int(p, "chunk_size", 1000);
    if (D % 2 != 0 || Lw >= Ltr || s < 1)
        return PECS_INVALID;
    for (int64_t n = 0; n < Lq + Lk; n++) {
        double v = n < Lq ? pecs_pos_at(qp, 0, n) : pecs_pos_at(kp, 0, n - Lq);
        if (!(v >= 0.0 && v < 9007199254740992.0 && v == floor(v)))
            return PECS_INVALID;
        if (n < Lq && (int64_t)v + 1 > L)
            L = (int64_t)v + 1;
    }
    double base = pecs_param_real(p, "base", 500000.0);
    int half = !pecs_param_is(p, "pairing", "interleaved");
    double *inv = malloc((size_t)(F2 > 0 ? F2 : 1) * sizeof *inv);
    float *cs = malloc((size_t)(F2 > 0 ? 4 * F2 : 1) * sizeof *cs);
    pecs_status st = inv && cs ? PECS_OK : PECS_NOMEM;
    for (int64_t f = 0; f < F2 && st == PECS_OK; f++)
        inv[f] = pow(base, -(double)(2 * f) / (double)D);
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    for (int64_t i = 0; i < Lq && st == PECS_OK; i++) {
        int64_t m = (int64_t)pecs_pos_at(qp, 0, i), g, istar, F;
        int64_t T = m < Ltr ? Ltr : Ltr + ((m - Ltr) / s + 1) * s;
        gali_ids(T < L ? T : L, Ltr, Lw, &g, &istar, &F);
        int64_t cm = m < F ? (m + g - 1) / g : istar + (m - F); /* ceil(id_m) */
        for (int64_t j = 0; j < Lk; j++) {
            int64_t n = (int64_t)pecs_pos_at(kp, 0, j);
            if (n > m) {
                for (int64_t h = 0; h < H; h++)
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -INFINITY);
                continue;
            }
            int64_t ce = n < F ? (n + g - 1) / g : istar + (n - F), fl = n < F ? n / g : ce;
            float c = n < F ? (float)((double)(ce * g - n) / (double)g) : 0.0f;
            for (int64_t f = 0; f < F2; f++) {
                double a0 = (double)(cm - ce) * inv[f], a1 = (double)(cm - fl) * inv[f];
                cs[4 * f] = (float)cos(a0), cs[4 * f + 1] = (float)sin(a0);
                cs[4 * f + 2] = (float)cos(a1), cs[4 * f + 3] = (float)sin(a1);
            }
            for (int64_t h = 0; h < H; h++) {
                float af = 0.0f, ac = 0.0f;
                for (int64_t f = 0; f < F2; f++) {
                    int64_t a = half ? f : 2 * f, b = half ? f + F2 : 2 * f + 1;
                    float qa = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, a)),
                          qb = pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, b)),
                          ka = pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, a)),
                          kb = pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, b));
                    float dot = qa * ka + qb * kb, crs = qa * kb - qb * ka;
                    af += cs[4 * f] * dot + cs[4 * f + 1] * crs;
                    ac += cs[4 * f + 2] * dot + cs[4 * f + 3] * crs;
                }
                af *= inv_sqrt_d, ac *= inv_sqrt_d;
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), af - (af - ac) * c);
            }
        }
    }
    free(inv);
    free(cs);
    return st;
}

/* ---- tape: one TAPE layer's logits from the tokens' position states (float32) --------------------------------------
 * Per (head, token) the state is w's row h*L + t: C_t (D values) then S_t (D values). q~ = q*C + rotate_half(q)*S
 * (rotate_half(x) = (-x[D/2:], x[:D/2])), k~ likewise; out = q~.k~/sqrt(D), -inf where kpos_j > qpos_i. Lq == Lk
 * (token t is query t and key t), D even. The key side is formed once per (head, key), the query side per query. */
SCALAR_HOOK_SCORES(tape)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], half = D / 2;
    if (Lq != Lk || D % 2 != 0 || w->ndim != 2 || w->shape[0] != H * Lq || w->shape[1] != 2 * D)
        return PECS_INVALID;
    size_t n = (size_t)(Lk * D > 0 ? Lk * D : 1), dd = (size_t)(D > 0 ? D : 1);
    float *kt = malloc(n * sizeof *kt), *qt = malloc(dd * sizeof *qt);
    pecs_status st = kt && qt ? PECS_OK : PECS_NOMEM;
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    /* x~ of token t, head h into dst: x is q or k */
#define TAPE_ST(t, d) pecs_load_f32(w->data, w->dtype, (h * Lq + (t)) * w->stride[0] + (d) * w->stride[1])
#define TAPE_TILDE(x, t, dst)                                                                                            \
    for (int64_t f = 0; f < half; f++) {                                                                                 \
        int64_t b = f + half;                                                                                            \
        float xf = pecs_load_f32((x)->data, (x)->dtype, scalar_at3((x), (t), h, f)),                                     \
              xb = pecs_load_f32((x)->data, (x)->dtype, scalar_at3((x), (t), h, b));                                     \
        (dst)[f] = xf * TAPE_ST(t, f) - xb * TAPE_ST(t, D + f);                                                          \
        (dst)[b] = xb * TAPE_ST(t, b) + xf * TAPE_ST(t, D + b);                                                          \
    }
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        for (int64_t j = 0; j < Lk; j++) {
            float *dst = kt + j * D;
            TAPE_TILDE(k, j, dst)
        }
        for (int64_t i = 0; i < Lq; i++) {
            TAPE_TILDE(q, i, qt)
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < Lk; j++) {
                float acc = 0.0f;
                if (pecs_pos_at(kp, 0, j) > qi) {
                    pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -INFINITY);
                    continue;
                }
                for (int64_t d = 0; d < D; d++)
                    acc += qt[d] * kt[j * D + d];
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), acc * inv_sqrt_d);
            }
        }
    }
#undef TAPE_TILDE
#undef TAPE_ST
    free(kt);
    free(qt);
    return st;
}
