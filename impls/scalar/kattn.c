/* impls/scalar/kattn.c — kattn-form kernels (attention outputs). urpe (at the end): softmax attention times a
 * learned Toeplitz factor, summed directly. toeplitz.fft: kernelized attention with RPE where the Toeplitz
 * factor exp(b[j - i]) is applied by FFT (Luo et al. 2021, the O(n log n) algorithm; reference/toeplitz_fft.c
 * sums directly). Per head, every lane of A_j = phi(k_j) (x) [v_j, 1] (m (D + 1) lanes) is convolved with
 * r[s] = exp(b[-s]), s = i - j, by a zero-padded radix-2 complex FFT of L >= Lq + Lk - 1 points (two real
 * lanes per complex transform: r is real, so the real and imaginary parts convolve separately). Features and
 * transforms in double; outputs rounded once to the storage dtype. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scalar.h"

/* In-place iterative radix-2 FFT of n (a power of two) points; sign -1 forward, +1 inverse (unscaled). */
static void fft(double *re, double *im, int64_t n, int sign)
{
    for (int64_t i = 1, j = 0; i < n; i++) { /* bit reversal */
        int64_t bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j |= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j], re[j] = t;
            t = im[i];
            im[i] = im[j], im[j] = t;
        }
    }
    for (int64_t len = 2; len <= n; len <<= 1)
        for (int64_t k = 0; k < len / 2; k++) {
            double a = sign * 6.283185307179586476925 * (double)k / (double)len, wr = cos(a), wi = sin(a);
            for (int64_t s = 0; s < n; s += len) {
                int64_t u = s + k, v = u + len / 2;
                double xr = re[v] * wr - im[v] * wi, xi = re[v] * wi + im[v] * wr;
                re[v] = re[u] - xr, im[v] = im[u] - xi;
                re[u] += xr, im[u] += xi;
            }
        }
}

static void features(const pecs_tensor *x, int64_t t, int64_t h, int64_t D, const pecs_tensor *w, int64_t woff, int64_t m,
                     double *f)
{
    double scale = pow((double)D, -0.25), n2 = 0.0;
    for (int64_t d = 0; d < D; d++) {
        double v = pecs_load_f64(x->data, x->dtype, scalar_at3(x, t, h, d)) * scale;
        n2 += v * v;
    }
    for (int64_t r = 0; r < m; r++) {
        double s = 0.0;
        for (int64_t d = 0; d < D; d++)
            s += pecs_load_f64(w->data, w->dtype, (woff + r * D + d) * w->stride[1]) *
                 pecs_load_f64(x->data, x->dtype, scalar_at3(x, t, h, d)) * scale;
        f[r] = exp(s - 0.5 * n2) / sqrt((double)m);
    }
}

SCALAR_HOOK_KATTN(toeplitz_fft)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t N = pecs_param_int(p, "max_distance", 64), m = pecs_param_int(p, "features", 16);
    if (Lq - 1 > N || Lk - 1 > N || w->shape[1] != H * (2 * N + 1) + m * D)
        return PECS_INVALID;
    int64_t L = 1, lanes = m * (D + 1);
    while (L < Lq + Lk - 1)
        L <<= 1;
    double *fq = malloc((size_t)(Lq * m) * sizeof *fq), *fk = malloc((size_t)(Lk * m) * sizeof *fk),
           *rre = malloc((size_t)L * sizeof *rre), *rim = malloc((size_t)L * sizeof *rim),
           *are = malloc((size_t)L * sizeof *are), *aim = malloc((size_t)L * sizeof *aim),
           *num = malloc((size_t)(Lq * (D + 1)) * sizeof *num);
    pecs_status st = fq && fk && rre && rim && are && aim && num ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        int64_t boff = h * (2 * N + 1) + N; /* b[d] at column boff + d */
        for (int64_t i = 0; i < Lq; i++)
            features(q, i, h, D, w, H * (2 * N + 1), m, fq + i * m);
        for (int64_t j = 0; j < Lk; j++)
            features(k, j, h, D, w, H * (2 * N + 1), m, fk + j * m);
        for (int64_t s = 0; s < L; s++)
            rre[s] = rim[s] = 0.0;
        for (int64_t s = -(Lk - 1); s <= Lq - 1; s++) /* r[s] = c(j - i) = exp(b[-s]) at index s mod L */
            rre[s < 0 ? s + L : s] = exp(pecs_load_f64(w->data, w->dtype, (boff - s) * w->stride[1]));
        fft(rre, rim, L, -1);
        for (int64_t n = 0; n < Lq * (D + 1); n++)
            num[n] = 0.0;
        for (int64_t l0 = 0; l0 < lanes; l0 += 2) { /* lanes l0 (real part) and l0 + 1 (imaginary part) */
            for (int64_t j = 0; j < L; j++) {
                are[j] = aim[j] = 0.0;
                for (int64_t c = 0; c < 2 && j < Lk && l0 + c < lanes; c++) {
                    int64_t r = (l0 + c) / (D + 1), e = (l0 + c) % (D + 1);
                    double a = fk[j * m + r] * (e < D ? pecs_load_f64(v->data, v->dtype, scalar_at3(v, j, h, e)) : 1.0);
                    *(c ? &aim[j] : &are[j]) = a;
                }
            }
            fft(are, aim, L, -1);
            for (int64_t f = 0; f < L; f++) {
                double xr = are[f] * rre[f] - aim[f] * rim[f], xi = are[f] * rim[f] + aim[f] * rre[f];
                are[f] = xr, aim[f] = xi;
            }
            fft(are, aim, L, +1);
            for (int64_t i = 0; i < Lq; i++)
                for (int64_t c = 0; c < 2 && l0 + c < lanes; c++) {
                    int64_t r = (l0 + c) / (D + 1), e = (l0 + c) % (D + 1);
                    num[i * (D + 1) + e] += fq[i * m + r] * (c ? aim[i] : are[i]) / (double)L;
                }
        }
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t e = 0; e < D; e++)
                pecs_store_f64(out->data, out->dtype, scalar_at3(out, i, h, e), num[i * (D + 1) + e] / num[i * (D + 1) + D]);
    }
    free(fq);
    free(fk);
    free(rre);
    free(rim);
    free(are);
    free(aim);
    free(num);
    return st;
}

/* ---- urpe: out_i = sum_j softmax_j(q_i.k_j/sqrt(D) + B(j - i)) C(j - i) v_j (reference/urpe.c) ---------------
 * The two Toeplitz factors are gathered once per head into vectors over d = j - i in [-(Lq-1), Lk-1]; the rows
 * come from the authors' signed bucket (T5's magnitude bucket in float32, +2 for d >= 0, shifted by the
 * max_seq_len square's minimum). Scores, softmax (max subtracted) and sums in double; one rounding at the store. */
static int64_t urpe_mag(int64_t n, int64_t num_buckets, int64_t max_distance)
{
    int64_t half = num_buckets / 2, max_exact = half / 2;
    if (n < max_exact)
        return n;
    float f = logf((float)n / (float)max_exact) / (float)log((double)max_distance / (double)max_exact) *
              (float)(half - max_exact);
    int64_t b = max_exact + (int64_t)f;
    return b < half - 1 ? b : half - 1;
}

static int64_t urpe_row(int64_t d, int64_t nb, int64_t maxd, int64_t msl)
{
    int64_t shift = msl > 1 ? urpe_mag(msl - 1, nb, maxd) : -2;
    return (d < 0 ? -urpe_mag(-d, nb, maxd) : urpe_mag(d, nb, maxd) + 2) + shift;
}

SCALAR_HOOK_KATTN(urpe)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t nb = pecs_param_int(p, "rp_bucket", 64), maxd = pecs_param_int(p, "max_rp", 128),
            unb = pecs_param_int(p, "ur_rp_bucket", 64), umaxd = pecs_param_int(p, "ur_max_rp", 128),
            msl = pecs_param_int(p, "max_seq_len", 256);
    if (Lq > msl || Lk > msl || w->shape[0] != nb + unb + 2 || w->shape[1] != H || maxd <= nb / 4 || umaxd <= unb / 4)
        return PECS_INVALID;
    int64_t nd = Lq + Lk - 1, d0 = Lq - 1; /* vector index d + d0 for d = j - i */
    double *bv = malloc((size_t)nd * sizeof *bv), *cv = malloc((size_t)nd * sizeof *cv),
           *qi = malloc((size_t)D * sizeof *qi), *pr = malloc((size_t)Lk * sizeof *pr),
           *acc = malloc((size_t)D * sizeof *acc);
    pecs_status st = bv && cv && qi && pr && acc ? PECS_OK : PECS_NOMEM;
    double rs = 1.0 / sqrt((double)D);
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        for (int64_t d = -d0; d < Lk; d++) {
            bv[d + d0] = pecs_load_f64(w->data, w->dtype, urpe_row(d, nb, maxd, msl) * w->stride[0] + h * w->stride[1]);
            cv[d + d0] = pecs_load_f64(w->data, w->dtype,
                                       (nb + 1 + urpe_row(d, unb, umaxd, msl)) * w->stride[0] + h * w->stride[1]);
        }
        for (int64_t i = 0; i < Lq; i++) {
            double mx = -INFINITY, den = 0.0;
            for (int64_t e = 0; e < D; e++) /* q * scaling first, as the code does */
                qi[e] = pecs_load_f64(q->data, q->dtype, scalar_at3(q, i, h, e)) * rs;
            for (int64_t j = 0; j < Lk; j++) {
                double sc = bv[j - i + d0];
                for (int64_t e = 0; e < D; e++)
                    sc += qi[e] * pecs_load_f64(k->data, k->dtype, scalar_at3(k, j, h, e));
                pr[j] = sc;
                mx = sc > mx ? sc : mx;
            }
            for (int64_t j = 0; j < Lk; j++)
                den += pr[j] = exp(pr[j] - mx);
            for (int64_t e = 0; e < D; e++)
                acc[e] = 0.0;
            for (int64_t j = 0; j < Lk; j++) {
                double a = pr[j] / den * cv[j - i + d0];
                for (int64_t e = 0; e < D; e++)
                    acc[e] += a * pecs_load_f64(v->data, v->dtype, scalar_at3(v, j, h, e));
            }
            for (int64_t e = 0; e < D; e++)
                pecs_store_f64(out->data, out->dtype, scalar_at3(out, i, h, e), acc[e]);
        }
    }
    free(bv);
    free(cv);
    free(qi);
    free(pr);
    free(acc);
    return st;
}

/* ---- landmark: causal grouped softmax (reference/landmark.c) ------------------------------------------------
 * Per query, each closed block b is reduced to its value average y_b = sum_j softmax_b(s)_j v_j (its regular keys)
 * and enters the query's softmax as one member, its landmark's logit: out_i = (sum_b e^(s_l(b) - m) y_b +
 * sum_{own block} e^(s_j - m) v_j) / Z. Scores (q scaled by D^-1/2 first), exps and sums in double; one rounding. */
SCALAR_HOOK_KATTN(landmark)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], B = pecs_param_int(p, "block_size", 51);
    if (Lq != Lk || B < 2)
        return PECS_INVALID;
    double *qi = malloc((size_t)(D + 1) * sizeof *qi), *sc = malloc((size_t)(Lk + 1) * sizeof *sc),
           *num = malloc((size_t)(D + 1) * sizeof *num), *yb = malloc((size_t)(D + 1) * sizeof *yb);
    pecs_status st = qi && sc && num && yb ? PECS_OK : PECS_NOMEM;
    double rs = 1.0 / sqrt((double)D);
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            int64_t start = i - i % B; /* the query's own block starts here */
            for (int64_t e = 0; e < D; e++)
                qi[e] = pecs_load_f64(q->data, q->dtype, scalar_at3(q, i, h, e)) * rs;
            for (int64_t j = 0; j <= i; j++) {
                double t = 0.0;
                for (int64_t e = 0; e < D; e++)
                    t += qi[e] * pecs_load_f64(k->data, k->dtype, scalar_at3(k, j, h, e));
                sc[j] = t;
            }
            double m = -INFINITY, z = 0.0;
            for (int64_t l = B - 1; l < start; l += B) /* closed blocks' landmarks */
                m = sc[l] > m ? sc[l] : m;
            for (int64_t j = start; j <= i && j < start + B - 1; j++) /* own block, its landmark left out */
                m = sc[j] > m ? sc[j] : m;
            for (int64_t e = 0; e < D; e++)
                num[e] = 0.0;
            for (int64_t lo = 0; lo < start; lo += B) {
                double bm = -INFINITY, bz = 0.0, g = exp(sc[lo + B - 1] - m);
                for (int64_t j = lo; j < lo + B - 1; j++)
                    bm = sc[j] > bm ? sc[j] : bm;
                for (int64_t e = 0; e < D; e++)
                    yb[e] = 0.0;
                for (int64_t j = lo; j < lo + B - 1; j++) {
                    double x = exp(sc[j] - bm);
                    bz += x;
                    for (int64_t e = 0; e < D; e++)
                        yb[e] += x * pecs_load_f64(v->data, v->dtype, scalar_at3(v, j, h, e));
                }
                z += g;
                for (int64_t e = 0; e < D; e++)
                    num[e] += g * yb[e] / bz;
            }
            for (int64_t j = start; j <= i && j < start + B - 1; j++) {
                double x = exp(sc[j] - m);
                z += x;
                for (int64_t e = 0; e < D; e++)
                    num[e] += x * pecs_load_f64(v->data, v->dtype, scalar_at3(v, j, h, e));
            }
            for (int64_t e = 0; e < D; e++)
                pecs_store_f64(out->data, out->dtype, scalar_at3(out, i, h, e), num[e] / z);
        }
    free(qi);
    free(sc);
    free(num);
    free(yb);
    return st;
}

/* ---- memory layers: focused_memory (FoT / LongLLaMA, full lookup; reference/focused_memory.c) and extended_mind
 * (Extended Mind, manual memories; reference/extended_mind.c) ---------------------------------------------------
 * Keys [M memory | L local]. Per head the local keys are rotated once (a cos/sin table over positions 0..L-1,
 * half-split pairs); memory keys are used as they are (rotation at position 0 is the identity); each query is
 * rotated at its index and scaled by D^-1/2. With topk < M (extended_mind) each (query, head) first selects its topk
 * memory keys by the cosine between the rotated query and the memory key (the memory keys' norms computed once per
 * head; ties: the lower index); focused_memory keeps every memory key. Then one softmax over the kept memory keys
 * and the local keys j <= i. Tables, scores, exps and sums in double; one rounding. */
static pecs_status memory_layer(const pecs_problem *p, int64_t topk)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !out)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], M = pecs_param_int(p, "memory", 16),
            P = D / 2;
    double base = pecs_param_real(p, "base", 10000.0);
    if (M < 0 || topk < 1 || Lk != M + L || D % 2)
        return PECS_INVALID;
    int64_t T = topk < M ? topk : M;
    size_t lp = (size_t)(L * P + 1), ld = (size_t)(L * D + 1), nm = (size_t)(M + 1);
    double *cs = malloc(lp * sizeof *cs), *sn = malloc(lp * sizeof *sn), *kr = malloc(ld * sizeof *kr),
           *qi = malloc((size_t)(D + 1) * sizeof *qi), *sc = malloc((size_t)(Lk + 1) * sizeof *sc),
           *num = malloc((size_t)(D + 1) * sizeof *num), *kn = malloc(nm * sizeof *kn), *cosm = malloc(nm * sizeof *cosm);
    unsigned char *sel = malloc(nm);
    pecs_status st = cs && sn && kr && qi && sc && num && kn && cosm && sel ? PECS_OK : PECS_NOMEM;
    for (int64_t t = 0; t < L && st == PECS_OK; t++)
        for (int64_t d = 0; d < P; d++) {
            double a = (double)t / pow(base, (double)(2 * d) / (double)D);
            cs[t * P + d] = cos(a);
            sn[t * P + d] = sin(a);
        }
    double rs = 1.0 / sqrt((double)D);
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        for (int64_t t = 0; t < L; t++)
            for (int64_t d = 0; d < P; d++) {
                double x1 = pecs_load_f64(k->data, k->dtype, scalar_at3(k, M + t, h, d)),
                       x2 = pecs_load_f64(k->data, k->dtype, scalar_at3(k, M + t, h, d + P));
                kr[t * D + d] = x1 * cs[t * P + d] - x2 * sn[t * P + d];
                kr[t * D + d + P] = x2 * cs[t * P + d] + x1 * sn[t * P + d];
            }
        for (int64_t m = 0; m < M && T < M; m++) {
            double n2 = 0.0;
            for (int64_t e = 0; e < D; e++) {
                double x = pecs_load_f64(k->data, k->dtype, scalar_at3(k, m, h, e));
                n2 += x * x;
            }
            kn[m] = sqrt(n2);
        }
        for (int64_t i = 0; i < L; i++) {
            double qn = 0.0;
            for (int64_t d = 0; d < P; d++) {
                double x1 = pecs_load_f64(q->data, q->dtype, scalar_at3(q, i, h, d)),
                       x2 = pecs_load_f64(q->data, q->dtype, scalar_at3(q, i, h, d + P));
                qi[d] = (x1 * cs[i * P + d] - x2 * sn[i * P + d]) * rs;
                qi[d + P] = (x2 * cs[i * P + d] + x1 * sn[i * P + d]) * rs;
                qn += x1 * x1 + x2 * x2;
            }
            qn = sqrt(qn) * rs;
            for (int64_t m = 0; m < M; m++) { /* memory scores; with a top-k their cosines select */
                double t = 0.0;
                for (int64_t e = 0; e < D; e++)
                    t += qi[e] * pecs_load_f64(k->data, k->dtype, scalar_at3(k, m, h, e));
                sc[m] = t;
                cosm[m] = T < M && qn > 0.0 && kn[m] > 0.0 ? t / (qn * kn[m]) : 0.0;
                sel[m] = T == M;
            }
            for (int64_t n = 0; n < T && T < M; n++) {
                int64_t best = -1;
                for (int64_t m = 0; m < M; m++)
                    if (!sel[m] && (best < 0 || cosm[m] > cosm[best]))
                        best = m;
                if (best >= 0)
                    sel[best] = 1;
            }
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j <= M + i; j++) {
                if (j < M && !sel[j])
                    continue;
                if (j >= M) {
                    double t = 0.0;
                    for (int64_t e = 0; e < D; e++)
                        t += qi[e] * kr[(j - M) * D + e];
                    sc[j] = t;
                }
                mx = sc[j] > mx ? sc[j] : mx;
            }
            for (int64_t e = 0; e < D; e++)
                num[e] = 0.0;
            for (int64_t j = 0; j <= M + i; j++) {
                if (j < M && !sel[j])
                    continue;
                double x = exp(sc[j] - mx);
                z += x;
                for (int64_t e = 0; e < D; e++)
                    num[e] += x * pecs_load_f64(v->data, v->dtype, scalar_at3(v, j, h, e));
            }
            for (int64_t e = 0; e < D; e++)
                pecs_store_f64(out->data, out->dtype, scalar_at3(out, i, h, e), num[e] / z);
        }
    }
    free(cs);
    free(sn);
    free(kr);
    free(qi);
    free(sc);
    free(num);
    free(kn);
    free(cosm);
    free(sel);
    return st;
}

SCALAR_HOOK_KATTN(focused_memory) { return memory_layer(p, INT64_MAX); }


/* ---- pine (PINE, one layer over a whole prompt; reference/pine.c) -----------------------------------------------
 * Tokens [prefix P | documents l_0 .. l_n-1 (N in all) | suffix], Lq = Lk = L. Per head, q, k and v are read once
 * into double. Each group of queries (a document's tokens, or one suffix token) orders the documents by its
 * position-free attention weights (the document's queries: softmax over the other documents' keys, per-document
 * mean, summed over the document's queries, own document first, needs n > 2; a suffix query: softmax over every
 * document key, needs n > 1; ties to the lower index), gives document j the positions P + N - l_j - shift_j + u
 * (shift_j the length ranked before it), rotates every key once at its group position (a cos/sin table over
 * 0..L-1: every position is an integer below L) and attends: document queries by position (key <= query among the
 * prefix and documents), prefix and suffix queries causally by index. Exps and sums in double; one rounding. */
static pecs_status pine_layer(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    const pecs_param *lp = pecs_problem_param(p, "lengths");
    if (!q || !k || !v || !out || !lp || lp->n < 1)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], P = pecs_param_int(p, "prefix", 1), n = lp->n, N = 0,
            R = D / 2;
    for (int64_t j = 0; j < n; j++) {
        if (!(lp->list[j] >= 1.0) || lp->list[j] != floor(lp->list[j]) || lp->list[j] > (double)L)
            return PECS_INVALID;
        N += (int64_t)lp->list[j];
    }
    if (k->shape[0] != L || D % 2 || P < 0 || P + N >= L)
        return PECS_INVALID;
    double base = pecs_param_real(p, "base", 10000.0), rs = 1.0 / sqrt((double)D);
    size_t ld = (size_t)(L * D + 1), lr = (size_t)(L * R + 1), nl = (size_t)(L + 1), nn = (size_t)(n + 1);
    double *cs = malloc(lr * sizeof *cs), *sn = malloc(lr * sizeof *sn), *Q = malloc(ld * sizeof *Q),
           *K = malloc(ld * sizeof *K), *V = malloc(ld * sizeof *V), *KR = malloc(ld * sizeof *KR),
           *qi = malloc((size_t)(D + 1) * sizeof *qi), *sc = malloc(nl * sizeof *sc), *num = malloc((size_t)(D + 1) * sizeof *num),
           *imp = malloc(nn * sizeof *imp);
    int64_t *doc = malloc(nl * sizeof *doc), *st = malloc(nn * sizeof *st), *len = malloc(nn * sizeof *len),
            *pos = malloc(nl * sizeof *pos);
    unsigned char *used = malloc(nn);
    pecs_status status = cs && sn && Q && K && V && KR && qi && sc && num && imp && doc && st && len && pos && used
                             ? PECS_OK
                             : PECS_NOMEM;
    for (int64_t t = 0; t < L && status == PECS_OK; t++) {
        doc[t] = -1;
        for (int64_t d = 0; d < R; d++) {
            double a = (double)t / pow(base, (double)(2 * d) / (double)D);
            cs[t * R + d] = cos(a), sn[t * R + d] = sin(a);
        }
    }
    for (int64_t j = 0, t = P; j < n && status == PECS_OK; j++) {
        st[j] = t, len[j] = (int64_t)lp->list[j];
        for (int64_t u = 0; u < len[j]; u++)
            doc[t++] = j;
    }
    for (int64_t h = 0; h < H && status == PECS_OK; h++) {
        for (int64_t t = 0; t < L; t++)
            for (int64_t e = 0; e < D; e++) {
                Q[t * D + e] = pecs_load_f64(q->data, q->dtype, scalar_at3(q, t, h, e));
                K[t * D + e] = pecs_load_f64(k->data, k->dtype, scalar_at3(k, t, h, e));
                V[t * D + e] = pecs_load_f64(v->data, v->dtype, scalar_at3(v, t, h, e));
            }
        /* group -1: the prefix; 0..n-1: the documents; n..: one suffix token each */
        for (int64_t g = -1; g < n + (L - P - N); g++) {
            int64_t own = g >= 0 && g < n ? g : -1, t0 = g < 0 ? 0 : own >= 0 ? st[own] : g - n + P + N,
                    t1 = g < 0 ? P : own >= 0 ? t0 + len[own] : t0 + 1;
            for (int64_t j = 0; j < n; j++)
                imp[j] = 0.0, used[j] = 0;
            for (int64_t t = t0; g >= 0 && t < t1 && (own >= 0 ? n > 2 : n > 1); t++) { /* the order's weights */
                double mx = -INFINITY, z = 0.0;
                for (int64_t u = P; u < P + N; u++) {
                    if (doc[u] == own)
                        continue;
                    double s = 0.0;
                    for (int64_t e = 0; e < D; e++)
                        s += Q[t * D + e] * K[u * D + e];
                    sc[u] = s * rs;
                    mx = sc[u] > mx ? sc[u] : mx;
                }
                for (int64_t u = P; u < P + N; u++)
                    if (doc[u] != own)
                        z += (sc[u] = exp(sc[u] - mx));
                for (int64_t u = P; u < P + N; u++)
                    if (doc[u] != own)
                        imp[doc[u]] += sc[u] / z / (double)len[doc[u]];
            }
            int64_t shift = 0;
            for (int64_t t = 0; t < L; t++)
                pos[t] = t;
            for (int64_t c = 0; c < n; c++) { /* own first, then by decreasing weight (ties: the lower index) */
                int64_t best = c == 0 && own >= 0 ? own : -1;
                for (int64_t j = 0; j < n && best < 0; j++)
                    if (!used[j])
                        best = j;
                for (int64_t j = 0; j < n && !(c == 0 && own >= 0); j++)
                    if (!used[j] && imp[j] > imp[best])
                        best = j;
                used[best] = 1;
                for (int64_t u = 0; u < len[best]; u++)
                    pos[st[best] + u] = P + N - len[best] - shift + u;
                shift += len[best];
            }
            int64_t kmax = g < 0 ? P : own >= 0 ? P + N : t1;
            for (int64_t j = 0; j < kmax; j++)
                for (int64_t d = 0; d < R; d++) {
                    double x1 = K[j * D + d], x2 = K[j * D + d + R], c = cs[pos[j] * R + d], s = sn[pos[j] * R + d];
                    KR[j * D + d] = x1 * c - x2 * s, KR[j * D + d + R] = x2 * c + x1 * s;
                }
            for (int64_t i = t0; i < t1; i++) {
                for (int64_t d = 0; d < R; d++) {
                    double x1 = Q[i * D + d], x2 = Q[i * D + d + R], c = cs[pos[i] * R + d], s = sn[pos[i] * R + d];
                    qi[d] = (x1 * c - x2 * s) * rs, qi[d + R] = (x2 * c + x1 * s) * rs;
                }
                double mx = -INFINITY, z = 0.0;
                for (int64_t j = 0; j < kmax; j++) {
                    if (own >= 0 ? pos[j] > pos[i] : j > i)
                        continue;
                    double s = 0.0;
                    for (int64_t e = 0; e < D; e++)
                        s += qi[e] * KR[j * D + e];
                    sc[j] = s;
                    mx = s > mx ? s : mx;
                }
                for (int64_t e = 0; e < D; e++)
                    num[e] = 0.0;
                for (int64_t j = 0; j < kmax; j++) {
                    if (own >= 0 ? pos[j] > pos[i] : j > i)
                        continue;
                    double x = exp(sc[j] - mx);
                    z += x;
                    for (int64_t e = 0; e < D; e++)
                        num[e] += x * V[j * D + e];
                }
                for (int64_t e = 0; e < D; e++)
                    pecs_store_f64(out->data, out->dtype, scalar_at3(out, i, h, e), num[e] / z);
            }
        }
    }
    free(cs), free(sn), free(Q), free(K), free(V), free(KR), free(qi), free(sc), free(num), free(imp);
    free(doc), free(st), free(len), free(pos), free(used);
    return status;
}

SCALAR_HOOK_KATTN(pine) { return pine_layer(p); }
SCALAR_HOOK_KATTN(extended_mind) { return memory_layer(p, pecs_param_int(p, "topk", 10)); }

/* ---- longheads (LongHeads prefill; reference/longheads.c) ------------------------------------------------------
 * Keys = tokens. Per head: every chunk g that a query may compare (g <= C - 3, full) gets its key c_g once (the
 * chunk's q and k rotated at their offset in the chunk, its non-causal self-attention averaged over the chunk, that
 * mean attending over the rotated keys, whose weighted sum is c_g). Query i < B: causal RoPE attention. Query
 * i >= B in chunk c = i / w (r = i % w): chunks 0, c - 1, c and the K - 3 best of 1 .. c - 2 by q_i . c_g (ties: the
 * lower chunk) in index order; their keys, the own chunk's first r only, rotated at 0, 1, .. and the query at
 * (K - 1) w + r. One cos/sin table over positions 0 .. max(L, K w) - 1; everything in double, one rounding. */
static void lh_softmax(double *s, int64_t n)
{
    double mx = -INFINITY, z = 0.0;
    for (int64_t j = 0; j < n; j++)
        mx = s[j] > mx ? s[j] : mx;
    for (int64_t j = 0; j < n; j++)
        z += (s[j] = exp(s[j] - mx));
    for (int64_t j = 0; j < n; j++)
        s[j] /= z;
}

/* row t of x at head h rotated at table position pos, into y */
static void lh_rot(const pecs_tensor *x, int64_t t, int64_t h, int64_t D, const double *cs, const double *sn, int64_t pos,
                   double *y)
{
    int64_t P = D / 2;
    for (int64_t d = 0; d < P; d++) {
        double x1 = pecs_load_f64(x->data, x->dtype, scalar_at3(x, t, h, d)),
               x2 = pecs_load_f64(x->data, x->dtype, scalar_at3(x, t, h, d + P));
        y[d] = x1 * cs[pos * P + d] - x2 * sn[pos * P + d];
        y[d + P] = x2 * cs[pos * P + d] + x1 * sn[pos * P + d];
    }
}

SCALAR_HOOK_KATTN(longheads)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !out)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], W = pecs_param_int(p, "window_size", 256),
            A = pecs_param_int(p, "atten_length", 4096), B = pecs_param_int(p, "begin_selective_length", 4096), P = D / 2;
    double base = pecs_param_real(p, "base", 10000.0), rs = 1.0 / sqrt((double)D);
    if (W < 1 || A % W || A / W < 3 || B % W || B < A - W || k->shape[0] != L || D % 2)
        return PECS_INVALID;
    int64_t K = A / W, C = (L + W - 1) / W, G = C > 2 ? C - 2 : 0, NP = L > K * W ? L : K * W;
    double *cs = malloc((size_t)(NP * P + 1) * sizeof *cs), *sn = malloc((size_t)(NP * P + 1) * sizeof *sn),
           *ck = malloc((size_t)(G * D + 1) * sizeof *ck), *kt = malloc((size_t)(W * D + 1) * sizeof *kt),
           *qt = malloc((size_t)(W * D + 1) * sizeof *qt), *m = malloc((size_t)(D + 1) * sizeof *m),
           *qi = malloc((size_t)(D + 1) * sizeof *qi), *kj = malloc((size_t)(D + 1) * sizeof *kj),
           *sc = malloc((size_t)(NP + W + 1) * sizeof *sc), *num = malloc((size_t)(D + 1) * sizeof *num),
           *gs = malloc((size_t)(C + 1) * sizeof *gs);
    int64_t *tok = malloc((size_t)(NP + 1) * sizeof *tok);
    unsigned char *sel = malloc((size_t)(C + 1));
    pecs_status st = cs && sn && ck && kt && qt && m && qi && kj && sc && num && gs && tok && sel ? PECS_OK : PECS_NOMEM;
    for (int64_t t = 0; t < NP && st == PECS_OK; t++)
        for (int64_t d = 0; d < P; d++) {
            double a = (double)t / pow(base, (double)(2 * d) / (double)D);
            cs[t * P + d] = cos(a);
            sn[t * P + d] = sin(a);
        }
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        for (int64_t g = 0; g < G && L > B; g++) { /* chunk keys */
            for (int64_t t = 0; t < W; t++) {
                lh_rot(k, g * W + t, h, D, cs, sn, t, kt + t * D);
                lh_rot(q, g * W + t, h, D, cs, sn, t, qt + t * D);
            }
            for (int64_t d = 0; d < D; d++)
                m[d] = 0.0;
            for (int64_t t = 0; t < W; t++) {
                for (int64_t u = 0; u < W; u++) {
                    double s = 0.0;
                    for (int64_t d = 0; d < D; d++)
                        s += qt[t * D + d] * kt[u * D + d];
                    sc[u] = s * rs;
                }
                lh_softmax(sc, W);
                for (int64_t u = 0; u < W; u++)
                    for (int64_t d = 0; d < D; d++)
                        m[d] += sc[u] * pecs_load_f64(v->data, v->dtype, scalar_at3(v, g * W + u, h, d)) / (double)W;
            }
            for (int64_t u = 0; u < W; u++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++)
                    s += m[d] * kt[u * D + d];
                sc[u] = s * rs;
            }
            lh_softmax(sc, W);
            for (int64_t d = 0; d < D; d++) {
                double s = 0.0;
                for (int64_t u = 0; u < W; u++)
                    s += sc[u] * kt[u * D + d];
                ck[g * D + d] = s;
            }
        }
        for (int64_t i = 0; i < L; i++) {
            int64_t n = 0, c = i / W, r = i % W;
            if (i < B) {
                for (int64_t j = 0; j <= i; j++)
                    tok[n++] = j;
                lh_rot(q, i, h, D, cs, sn, i, qi);
            } else {
                for (int64_t g = 1; g <= c - 2; g++) {
                    double s = 0.0;
                    for (int64_t d = 0; d < D; d++)
                        s += pecs_load_f64(q->data, q->dtype, scalar_at3(q, i, h, d)) * ck[g * D + d];
                    gs[g] = s;
                }
                memset(sel, 0, (size_t)C);
                sel[0] = sel[c - 1] = sel[c] = 1;
                for (int64_t t = 0; t < K - 3; t++) {
                    int64_t best = -1;
                    for (int64_t g = 1; g <= c - 2; g++)
                        if (!sel[g] && (best < 0 || gs[g] > gs[best]))
                            best = g;
                    if (best >= 0)
                        sel[best] = 1;
                }
                for (int64_t g = 0; g <= c; g++)
                    for (int64_t t = 0; sel[g] && t < (g == c ? r : W); t++)
                        tok[n++] = g * W + t;
                lh_rot(q, i, h, D, cs, sn, (K - 1) * W + r, qi);
            }
            for (int64_t j = 0; j < n; j++) { /* key j sits at j (selective: the remap), or at its token */
                double s = 0.0;
                lh_rot(k, tok[j], h, D, cs, sn, i < B ? tok[j] : j, kj);
                for (int64_t d = 0; d < D; d++)
                    s += qi[d] * kj[d];
                sc[j] = s * rs;
            }
            lh_softmax(sc, n);
            for (int64_t d = 0; d < D; d++)
                num[d] = 0.0;
            for (int64_t j = 0; j < n; j++)
                for (int64_t d = 0; d < D; d++)
                    num[d] += sc[j] * pecs_load_f64(v->data, v->dtype, scalar_at3(v, tok[j], h, d));
            for (int64_t d = 0; d < D; d++)
                pecs_store_f64(out->data, out->dtype, scalar_at3(out, i, h, d), num[d]);
        }
    }
    free(cs);
    free(sn);
    free(ck);
    free(kt);
    free(qt);
    free(m);
    free(qi);
    free(kj);
    free(sc);
    free(num);
    free(gs);
    free(tok);
    free(sel);
    return st;
}

/* ---- fitm.calibration (Found-in-the-Middle; reference/fitm_calibration.c) -------------------------------------
 * Keys [M prompt | L local]; per (head, query) one causal softmax in double, then each document's weights are scaled
 * by one factor f_k = alpha_k / A_k * C (A_k the document's mean weight, alpha_k = softmax((A_k - w) / t), C keeping
 * the documents' total): the factor is applied to the document's share of the output, accumulated apart, so the
 * value rows are read once. One rounding. */
SCALAR_HOOK_KATTN(fitm_calibration)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    const pecs_param *len = pecs_problem_param(p, "doc_lengths");
    if (!q || !k || !v || !w || !out || !len || len->n < 1)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], M = pecs_param_int(p, "memory", 64),
            K = len->n, end = pecs_param_int(p, "doc_start", 0);
    double t = pecs_param_real(p, "temperature", 5e-5), rs = 1.0 / sqrt((double)D);
    for (int64_t c = 0; c < K; c++)
        end += (int64_t)len->list[c];
    if (Lk != M + L || end > M || w->shape[0] != H * L || w->shape[1] != K)
        return PECS_INVALID;
    /* doc[j]: the document of prompt key j, or -1 */
    int64_t *doc = malloc((size_t)(M + 1) * sizeof *doc);
    double *e = malloc((size_t)(Lk + 1) * sizeof *e), *part = malloc((size_t)(K + 1) * (size_t)(D + 1) * sizeof *part),
           *mass = malloc((size_t)(K + 1) * sizeof *mass), *g = malloc((size_t)(K + 1) * sizeof *g);
    pecs_status st = doc && e && part && mass && g ? PECS_OK : PECS_NOMEM;
    for (int64_t j = 0; j < M && st == PECS_OK; j++)
        doc[j] = -1;
    for (int64_t c = 0, j = pecs_param_int(p, "doc_start", 0); c < K && st == PECS_OK; c++)
        for (int64_t n = 0; n < (int64_t)len->list[c]; n++)
            doc[j++] = c;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < L; i++) {
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j <= M + i; j++) {
                double d = 0.0;
                for (int64_t x = 0; x < D; x++)
                    d += pecs_load_f64(q->data, q->dtype, scalar_at3(q, i, h, x)) *
                         pecs_load_f64(k->data, k->dtype, scalar_at3(k, j, h, x));
                e[j] = d * rs;
                mx = e[j] > mx ? e[j] : mx;
            }
            /* part[c] accumulates document c's e-weighted values, part[K] everything else */
            for (int64_t c = 0; c <= K; c++) {
                mass[c] = 0.0;
                for (int64_t x = 0; x < D; x++)
                    part[c * D + x] = 0.0;
            }
            for (int64_t j = 0; j <= M + i; j++) {
                double x = exp(e[j] - mx);
                int64_t c = j < M && doc[j] >= 0 ? doc[j] : K;
                z += x;
                mass[c] += x;
                for (int64_t y = 0; y < D; y++)
                    part[c * D + y] += x * pecs_load_f64(v->data, v->dtype, scalar_at3(v, j, h, y));
            }
            double gmx = -INFINITY, gz = 0.0, docs = 0.0, an = 0.0;
            for (int64_t c = 0; c < K; c++) { /* g: rel / t with A_c = mass_c / (z N_c) */
                g[c] = (mass[c] / (z * len->list[c]) -
                        pecs_load_f64(w->data, w->dtype, (h * L + i) * w->stride[0] + c * w->stride[1])) / t;
                gmx = g[c] > gmx ? g[c] : gmx;
                docs += mass[c];
            }
            for (int64_t c = 0; c < K; c++)
                gz += exp(g[c] - gmx);
            for (int64_t c = 0; c < K; c++)
                an += exp(g[c] - gmx) / gz * len->list[c];
            for (int64_t y = 0; y < D; y++) {
                double o = part[K * D + y];
                for (int64_t c = 0; c < K; c++) /* document c scaled to alpha_c N_c / sum(alpha N) of their total */
                    o += part[c * D + y] * (exp(g[c] - gmx) / gz * len->list[c] / an) * (docs / mass[c]);
                pecs_store_f64(out->data, out->dtype, scalar_at3(out, i, h, y), o / z);
            }
        }
    free(doc);
    free(e);
    free(part);
    free(mass);
    free(g);
    return st;
}
