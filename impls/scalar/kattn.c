/* impls/scalar/kattn.c — kattn-form kernels (attention outputs). urpe (at the end): softmax attention times a
 * learned Toeplitz factor, summed directly. toeplitz.fft: kernelized attention with RPE where the Toeplitz
 * factor exp(b[j - i]) is applied by FFT (Luo et al. 2021, the O(n log n) algorithm; reference/toeplitz_fft.c
 * sums directly). Per head, every lane of A_j = phi(k_j) (x) [v_j, 1] (m (D + 1) lanes) is convolved with
 * r[s] = exp(b[-s]), s = i - j, by a zero-padded radix-2 complex FFT of L >= Lq + Lk - 1 points (two real
 * lanes per complex transform: r is real, so the real and imaginary parts convolve separately). Features and
 * transforms in double; outputs rounded once to the storage dtype. */
#include <math.h>
#include <stdlib.h>

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

SCALAR_HOOK_KATTN(extended_mind) { return memory_layer(p, pecs_param_int(p, "topk", 10)); }

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
