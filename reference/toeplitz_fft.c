/* reference/toeplitz_fft.c — kernelized attention with relative positional encoding (kattn form), the DIRECT sum.
 *
 * Luo et al. 2021, "Stable, Fast and Accurate: Kernelized Attention with Relative Positional Encoding"
 * (NeurIPS 2021, arXiv 2106.12566). The paper itself was not read beyond its abstract (pages corpus:
 * papers.nips.cc abstract, arxiv.deeppaper.ai, innervu.ai table of contents "2.3 Incorporating RPE into
 * Kernelized Attention", "3.2 Fast Attention Calculation using Fast Fourier Transform"). The definition below
 * is the paper's equation as transcribed, with its Algorithm 1, by a third-party implementation read through
 * the search tool on 2026-12-06:
 *   alemassaad/efficient-rpe-vit models/rpe/kerple.py (class docstring and apply_rpe_fft: "z_i = phi(Q_i)
 *     sum_j exp(b_{j-i}) phi(K_j)^T V_j / phi(Q_i) sum_j exp(b_{j-i}) phi(K_j)^T", Toeplitz C[i,j] =
 *     exp(b_{j-i}), b [heads, 2n-1] learned; D1 = C (phi(K) (x) V) and D2 = C phi(K) per Algorithm 1 /
 *     "Equations 11-13"), models/rpe/fft_utils.py (the Toeplitz product by a zero-padded circulant FFT),
 *     models/attention/favor_plus.py (out_i = phi(Q_i) D1_i / phi(Q_i) D2_i);
 * and independently by arijitthegame/Fast-Attention performer_lucidrains.py (Attention.forward,
 * use_mask_pos: the per-head bias vector applied to k (x) v and to k by rfft/irfft with n = 2 * length, i.e.
 * zero-padded linear convolution, then the normaliser 1/(q . weighted_k)). That code uses the learned vector
 * as the Toeplitz entries directly; the exp(b) parameterisation is Luo et al.'s (both transcriptions of the
 * paper agree on exp). The catalogue's note (/work/shared/spec/catalogue/cat2.md) states the same.
 *
 * Convention (docs/encodings.md, "toeplitz.fft"):
 *   per head h, with query i at token index i and key j at index j (0-based):
 *       out[i][h] = sum_j c(j - i) phi(q_i).phi(k_j) v_j / sum_j c(j - i) phi(q_i).phi(k_j),  c(d) = exp(b_h[d])
 *       phi(x)_r = exp(w_r . x' - |x'|^2 / 2) / sqrt(m),  x' = x / D^(1/4),  r = 0..m-1
 *   phi is Performer's positive random feature map for the softmax kernel exp(q.k/sqrt(D)) (FAVOR+), as the
 *   stored implementations compute it (lucidrains softmax_kernel with normalize_data: data * D^(-1/4),
 *   projection, minus |x'|^2/2, ratio m^(-1/2)) WITHOUT their numerical stabilisers (the per-row max
 *   subtracted before exp, eps = 1e-4 added after it): those change the result, are not part of the
 *   definition, and cancel only partly in the ratio. The projection rows w_r are data ("w"), not drawn here.
 *   The paper's choice of feature map (positive random features vs others) and any query/key normalisation
 *   it recommends for stability are not read; this encoding fixes the FAVOR+ map above.
 *   w [1, H*(2N+1) + m*D]: head h's b_h[d] for d = -N..N at h*(2N+1) + N + d, then W [m, D] row-major.
 *   N = max_distance bounds |j - i|: Lq - 1 <= N and Lk - 1 <= N (checked by the case validation).
 *
 * This reference is the O(Lq Lk) direct sum in double; the scalar kernel applies the Toeplitz factor by FFT.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

/* phi(x) for one [H, D] row slice: feat[r] for r < m. */
static void phi_row(const pecs_tensor *x, const double *xd, int64_t t, int64_t h, int64_t D, const double *W, int64_t m,
                    double *feat)
{
    double scale = pow((double)D, -0.25), n2 = 0.0;
    for (int64_t d = 0; d < D; d++) {
        double v = xd[pecs_at3(x, t, h, d)] * scale;
        n2 += v * v;
    }
    for (int64_t r = 0; r < m; r++) {
        double s = 0.0;
        for (int64_t d = 0; d < D; d++)
            s += W[r * D + d] * xd[pecs_at3(x, t, h, d)] * scale;
        feat[r] = exp(s - 0.5 * n2) / sqrt((double)m);
    }
}

PECS_REF_HOOK_KATTN(toeplitz_fft)
{
    int64_t N = pecs_param_int(p, "max_distance", 64), m = pecs_param_int(p, "features", 16);
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *v = pecs_problem_tensor(p, "v"), *out = pecs_problem_tensor(p, "out");
    if (!q && !k && !v && !out) /* parameters only (pecs_ref_check): the registry bounds hold them */
        return PECS_OK;
    if (!q || !k || !v || !out) {
        snprintf(why, why_len, "toeplitz.fft needs tensors q, k, v, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq - 1 > N || Lk - 1 > N) {
        snprintf(why, why_len, "toeplitz.fft: %lld queries and %lld keys need max_distance >= %lld (it is %lld)",
                 (long long)Lq, (long long)Lk, (long long)(Lq > Lk ? Lq - 1 : Lk - 1), (long long)N);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, 1, H * (2 * N + 1) + m * D, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *vd = v->data, *wd = w->data, *W = wd + H * (2 * N + 1);
    double *od = out->data;
    double *fq = malloc((size_t)m * sizeof *fq), *fk = malloc((size_t)(Lk * m) * sizeof *fk),
           *acc = malloc((size_t)D * sizeof *acc);
    pecs_status st = fq && fk && acc ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        const double *b = wd + h * (2 * N + 1) + N; /* b[d], d = -N..N */
        for (int64_t j = 0; j < Lk; j++)
            phi_row(k, kd, j, h, D, W, m, fk + j * m);
        for (int64_t i = 0; i < Lq; i++) {
            phi_row(q, qd, i, h, D, W, m, fq);
            double den = 0.0;
            for (int64_t d = 0; d < D; d++)
                acc[d] = 0.0;
            for (int64_t j = 0; j < Lk; j++) {
                double kap = 0.0;
                for (int64_t r = 0; r < m; r++)
                    kap += fq[r] * fk[j * m + r];
                double a = exp(b[j - i]) * kap;
                den += a;
                for (int64_t d = 0; d < D; d++)
                    acc[d] += a * vd[pecs_at3(v, j, h, d)];
            }
            for (int64_t d = 0; d < D; d++)
                od[pecs_at3(out, i, h, d)] = acc[d] / den;
        }
    }
    free(fq);
    free(fk);
    free(acc);
    return st;
}
