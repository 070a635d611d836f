/* impls/common/maglap.h — graph.maglap's kernel (header-only: the scalar backend and the mutants include it).
 *
 * P [T][2k] of one directed graph (include/pecs/backend.h, EMBED, graph.maglap): the k eigenvectors of the magnetic
 * Laplacian from the (k_excl+1)-th lowest eigenvalue up, each with its phase fixed at its largest-modulus entry (real,
 * > 0 there; ties within 1e-8 of the largest squared modulus go to the lowest node index), laid out
 * [Re v_1 .. Re v_k | Im v_1 .. Im v_k]; columns past T zero. Computed in double by a complex Jacobi iteration on
 * the Hermitian L (a pivot's phase is first moved into the eigenvector basis, then a real plane rotation zeroes it),
 * a different route from the reference's real 2T x 2T embedding.
 * `bugs` is 0 for the kernel; the mutants (impls/mutants) pass one MAGLAP_BUG_* bit.
 */
#ifndef PECS_IMPLS_MAGLAP_H
#define PECS_IMPLS_MAGLAP_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define MAGLAP_BUG_Q_SIGN 1u        /* Theta = 2 pi q (A^T - A): the potential's sign flipped */
#define MAGLAP_BUG_COMBINATORIAL 2u /* D - A_s exp(i Theta) where the symmetric normalisation was asked for */
#define MAGLAP_BUG_HIGHEST 4u       /* the highest eigenvalues' eigenvectors instead of the lowest */

/* 0 on success, -1 out of memory. adj [T][T] 0/1 (u -> v at adj[u*T + v]). */
static inline int maglap_pe(const unsigned char *adj, int64_t T, int64_t k, int64_t k_excl, double q, int q_absolute,
                            int sym, unsigned bugs, double *P)
{
    size_t nn = (size_t)(T * T);
    double *hr = malloc(nn * sizeof *hr), *hi = malloc(nn * sizeof *hi), *vr = calloc(nn, sizeof *vr),
           *vi = calloc(nn, sizeof *vi), *deg = calloc((size_t)T, sizeof *deg);
    int64_t *ord = malloc((size_t)T * sizeof *ord);
    int rc = -1;
    if (!hr || !hi || !vr || !vi || !deg || !ord)
        goto done;
    int64_t one_way = 0;
    for (int64_t u = 0; u < T; u++)
        for (int64_t v = 0; v < T; v++) {
            if (adj[u * T + v] || adj[v * T + u])
                deg[u] += 1.0;
            if (u < v && adj[u * T + v] != adj[v * T + u])
                one_way++;
        }
    if (!q_absolute)
        q /= (double)(one_way < 1 ? 1 : one_way < T ? one_way : T);
    if (bugs & MAGLAP_BUG_Q_SIGN)
        q = -q;
    int norm = sym && !(bugs & MAGLAP_BUG_COMBINATORIAL);
    const double two_pi = 6.283185307179586476925286766559;
    for (int64_t u = 0; u < T; u++)
        for (int64_t v = 0; v < T; v++) {
            double a = (adj[u * T + v] || adj[v * T + u]) ? 1.0 : 0.0;
            if (norm && a != 0.0)
                a /= sqrt((deg[u] < 1.0 ? 1.0 : deg[u]) * (deg[v] < 1.0 ? 1.0 : deg[v]));
            double ang = two_pi * q * (double)((int)adj[u * T + v] - (int)adj[v * T + u]);
            hr[u * T + v] = (u == v ? (norm ? 1.0 : deg[u]) : 0.0) - a * cos(ang);
            hi[u * T + v] = -a * sin(ang);
        }
    for (int64_t i = 0; i < T; i++)
        vr[i * T + i] = 1.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, tot = 0.0;
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                double e = hr[i * T + j] * hr[i * T + j] + hi[i * T + j] * hi[i * T + j];
                tot += e;
                off += i != j ? e : 0.0;
            }
        if (off == 0.0 || off <= 1e-32 * tot)
            break;
        for (int64_t p = 0; p < T; p++)
            for (int64_t r = p + 1; r < T; r++) {
                double ar = hr[p * T + r], ai = hi[p * T + r], mag = hypot(ar, ai);
                if (mag < 1e-300)
                    continue;
                /* S = diag(.., e^{-i phi} at r, ..): column r times e^{-i phi}, row r times e^{i phi}; h_pr becomes |h_pr| */
                double cr = ar / mag, ci = -ai / mag; /* e^{-i phi} */
                for (int64_t s = 0; s < T; s++) {
                    double x = hr[s * T + r], y = hi[s * T + r];
                    hr[s * T + r] = x * cr - y * ci, hi[s * T + r] = x * ci + y * cr;
                    x = vr[s * T + r], y = vi[s * T + r];
                    vr[s * T + r] = x * cr - y * ci, vi[s * T + r] = x * ci + y * cr;
                }
                for (int64_t s = 0; s < T; s++) { /* row r times conj(e^{-i phi}) */
                    double x = hr[r * T + s], y = hi[r * T + s];
                    hr[r * T + s] = x * cr + y * ci, hi[r * T + s] = -x * ci + y * cr;
                }
                hi[r * T + r] = 0.0;
                double theta = (hr[r * T + r] - hr[p * T + p]) / (2.0 * mag);
                double t = (theta >= 0.0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), sn = t * c;
                for (int64_t s = 0; s < T; s++) { /* columns p, r; then rows p, r; then the basis */
                    double xr = hr[s * T + p], xi = hi[s * T + p], yr = hr[s * T + r], yi = hi[s * T + r];
                    hr[s * T + p] = c * xr - sn * yr, hi[s * T + p] = c * xi - sn * yi;
                    hr[s * T + r] = sn * xr + c * yr, hi[s * T + r] = sn * xi + c * yi;
                }
                for (int64_t s = 0; s < T; s++) {
                    double xr = hr[p * T + s], xi = hi[p * T + s], yr = hr[r * T + s], yi = hi[r * T + s];
                    hr[p * T + s] = c * xr - sn * yr, hi[p * T + s] = c * xi - sn * yi;
                    hr[r * T + s] = sn * xr + c * yr, hi[r * T + s] = sn * xi + c * yi;
                }
                hr[p * T + r] = hi[p * T + r] = hr[r * T + p] = hi[r * T + p] = 0.0;
                hi[p * T + p] = hi[r * T + r] = 0.0;
                for (int64_t s = 0; s < T; s++) {
                    double xr = vr[s * T + p], xi = vi[s * T + p], yr = vr[s * T + r], yi = vi[s * T + r];
                    vr[s * T + p] = c * xr - sn * yr, vi[s * T + p] = c * xi - sn * yi;
                    vr[s * T + r] = sn * xr + c * yr, vi[s * T + r] = sn * xi + c * yi;
                }
            }
    }
    for (int64_t i = 0; i < T; i++)
        ord[i] = i;
    for (int64_t i = 1; i < T; i++) /* ascending (descending for the bug) */
        for (int64_t j = i; j > 0; j--) {
            double a = hr[ord[j] * T + ord[j]], b = hr[ord[j - 1] * T + ord[j - 1]];
            if (!((bugs & MAGLAP_BUG_HIGHEST) ? a > b : a < b))
                break;
            int64_t tmp = ord[j];
            ord[j] = ord[j - 1], ord[j - 1] = tmp;
        }
    for (int64_t i = 0; i < T * 2 * k; i++)
        P[i] = 0.0;
    for (int64_t j = 0; j < k && k_excl + j < T; j++) {
        int64_t c = ord[k_excl + j], r1 = 0;
        double best = 0.0, nrm = 0.0;
        for (int64_t s = 0; s < T; s++) {
            double m = vr[s * T + c] * vr[s * T + c] + vi[s * T + c] * vi[s * T + c];
            nrm += m;
            best = m > best ? m : best;
        }
        while (vr[r1 * T + c] * vr[r1 * T + c] + vi[r1 * T + c] * vi[r1 * T + c] < best * (1.0 - 1e-8))
            r1++; /* the lowest-index node tied (within 1e-8, relative) at the largest modulus */
        best = vr[r1 * T + c] * vr[r1 * T + c] + vi[r1 * T + c] * vi[r1 * T + c];
        double mod = sqrt(best), nr = sqrt(nrm), pr = vr[r1 * T + c] / mod, pi = -vi[r1 * T + c] / mod;
        for (int64_t s = 0; s < T; s++) {
            double x = vr[s * T + c], y = vi[s * T + c];
            P[s * 2 * k + j] = (x * pr - y * pi) / nr;
            P[s * 2 * k + k + j] = (x * pi + y * pr) / nr;
        }
    }
    rc = 0;
done:
    free(hr);
    free(hi);
    free(vr);
    free(vi);
    free(deg);
    free(ord);
    return rc;
}

#endif
