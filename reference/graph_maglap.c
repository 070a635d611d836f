/* reference/graph_maglap.c — magnetic-Laplacian eigenvector positional encoding of a directed graph (embed form; the
 * one embed row whose P reads a graph).
 *
 * Sources checked (read 2026-12-07 through the search tool):
 *   - Geisler, Li, Mankowitz, Cemgil, Günnemann, Paduraru 2023, "Transformers Meet Directed Graphs" (arXiv 2302.00049):
 *     L_q = I - (D_s^-1/2 A_s D_s^-1/2) . exp(i Theta_q), Theta_q = 2 pi q (A - A^T), its lowest eigenvectors as PE.
 *   - The authors' code, deepmind/digraph_transformer (not stored itself), as carried into haiku_geometric: its
 *     eigv_magnetic_laplacian_numba / eigv_magnetic_laplacian ("adapted from or completely taken from
 *     https://github.com/deepmind/digraph_transformer"; defaults q = 0.25, q_absolute False, use_symmetric_norm False,
 *     sign_rotate True, l2_norm True) and a stored magnet.py (repository not named by the search) whose
 *     magnetic_laplacian has the same A_s, q and normalisations as the port. Read, not transcribed:
 *       adj          0/1 (multi-edges clipped to 1); A_s = adj + adj^T, halved where both directions exist (so
 *                    A_s = adj OR adj^T, a self loop counts 1); deg = row sums of A_s
 *       q            relative unless q_absolute: q / m, m = min(#{u < v : adj[u][v] != adj[v][u]}, n), 1 if m = 0
 *       Theta        2 pi q (adj - adj^T)
 *       symmetric    I - (Dc^-1/2 A_s Dc^-1/2) . exp(i Theta), Dc = max(deg, 1) (jnp.clip / where(deg < 1, 1, deg))
 *       otherwise    D - A_s . exp(i Theta)  (the combinatorial form; the code's default)
 *       eigh         ascending; eigenvalues/-vectors [k_excl, k_excl + k); zero columns past n (the padding).
 *   - torch_geometric's AddMagneticLaplacianEigenvectorPlain (a stored copy): the same Theta and L (its q default
 *     1e-4, absolute, 'sym' normalisation); complex eigenvectors returned as they are.
 * What the sources do not fix, and what pecs chooses (docs/encodings.md, graph.maglap):
 *   - the default q: the code's 0.25 (relative) is taken; the normalisation: the paper's symmetric form by default,
 *     `normalization none` gives the code's function default.
 *   - the phase. An eigenvector is defined only up to a unit complex factor. The code's sign_rotate picks the row of
 *     the largest imaginary part of the FIRST vector as the solver returned it (a function of the solver's arbitrary
 *     phase, not of the graph), so it is not reproducible across solvers. pecs fixes each vector's phase at its own
 *     largest-modulus entry r (a function of the eigenspace alone): v <- v conj(v[r]) / |v[r]|, so v[r] > 0. Ties
 *     (a graph automorphism gives exactly equal moduli) go to the lowest node index: r = the first node whose squared
 *     modulus is within 1e-8 of the largest, relative (any threshold between MAGLAP_TIE_LO and MAGLAP_TIE_HI gives the
 *     same r on every graph the reference accepts).
 *   - the layout: P[t] = [Re v_1[t] .. Re v_k[t] | Im v_1[t] .. Im v_k[t] | 0 ..] (the stacked real and imaginary
 *     parts the MagLapPE node encoders feed their linear map, posenc_dim = 2 max_freqs); 2k <= D.
 *   - the graph input: w [T, T], an edge u -> v iff w[u][v] > edge_threshold (a 0/1 matrix reads as itself).
 * Judging: a case is REFUSED (PECS_INVALID with the reason) where the answer is not determined well enough to judge
 * a kernel in double: two eigenvalues at or next to the kept window (the k-th and (k+1)-th, the k_excl-th and the one
 * before, or two kept ones) closer than MAGLAP_GAP times the spectrum's scale (their eigenvectors mix), or a kept
 * vector with a node whose squared modulus is between MAGLAP_TIE_LO and MAGLAP_TIE_HI below the largest, relative
 * (neither tied nor clear: a kernel's rounding could pick another anchor). A double kernel's error is far inside both
 * margins (its eigenvectors are right to ~T eps |L| / gap).
 * The eigendecomposition: cyclic Jacobi on the real symmetric embedding [[Re L, -Im L], [Im L, Re L]] (2T x 2T), whose
 * eigenvalues are L's, each twice, with eigenvectors (x; y) <-> x + i y; one vector of each pair is taken. T <= 128.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

#define MAGLAP_GAP 1e-5    /* smallest eigenvalue gap around the kept window, relative to the spectrum's scale */
#define MAGLAP_TIE_LO 1e-10 /* squared moduli within this of the largest (relative) are tied with it ... */
#define MAGLAP_TIE_HI 1e-7  /* ... and those farther than this are not; one in between refuses the graph */
#define MAGLAP_MAX_T 128

typedef struct {
    int64_t T, k, k_excl;
    double q, thr;
    int q_absolute, sym, ready;
    unsigned char *adj; /* [T][T] */
    double *P;          /* [T][2k] */
    pecs_status st;
    char why[256];
} maglap_memo;

/* The decomposition is per graph, the hook per token: the last graph's answer is kept (the harness is single-threaded
 * per process; _Thread_local keeps any threaded caller correct). */
static _Thread_local maglap_memo g_memo;

/* Cyclic Jacobi on the symmetric n x n matrix a (destroyed): eigenvalues on a's diagonal, eigenvectors in v's columns. */
static void jacobi(double *a, double *v, int64_t n)
{
    for (int64_t i = 0; i < n * n; i++)
        v[i] = 0.0;
    for (int64_t i = 0; i < n; i++)
        v[i * n + i] = 1.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, all = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                all += a[i * n + j] * a[i * n + j];
                if (i != j)
                    off += a[i * n + j] * a[i * n + j];
            }
        if (off <= 1e-32 * all || off == 0.0)
            break;
        for (int64_t p = 0; p < n; p++)
            for (int64_t q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (fabs(apq) < 1e-300)
                    continue;
                /* J = [[c, s], [-s, c]] on (p, q): (J^T A J)_pq = 0 for t the smaller root of t^2 + 2 theta t - 1 */
                double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int64_t r = 0; r < n; r++) { /* columns p, q */
                    double x = a[r * n + p], y = a[r * n + q];
                    a[r * n + p] = c * x - s * y;
                    a[r * n + q] = s * x + c * y;
                }
                for (int64_t r = 0; r < n; r++) { /* rows p, q */
                    double x = a[p * n + r], y = a[q * n + r];
                    a[p * n + r] = c * x - s * y;
                    a[q * n + r] = s * x + c * y;
                }
                a[p * n + q] = a[q * n + p] = 0.0;
                for (int64_t r = 0; r < n; r++) {
                    double x = v[r * n + p], y = v[r * n + q];
                    v[r * n + p] = c * x - s * y;
                    v[r * n + q] = s * x + c * y;
                }
            }
    }
}

/* The whole P [T][2k] of one graph, or a refusal in why. */
static pecs_status maglap_solve(maglap_memo *m, char *why, size_t why_len)
{
    int64_t T = m->T, k = m->k, n = 2 * T;
    double *re = calloc((size_t)(T * T), sizeof *re), *im = calloc((size_t)(T * T), sizeof *im);
    double *a = malloc((size_t)(n * n) * sizeof *a), *v = malloc((size_t)(n * n) * sizeof *v);
    double *deg = calloc((size_t)T, sizeof *deg), *lam = malloc((size_t)n * sizeof *lam);
    int64_t *ord = malloc((size_t)n * sizeof *ord);
    pecs_status st = PECS_OK;
    if (!re || !im || !a || !v || !deg || !lam || !ord) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    const unsigned char *A = m->adj;
    int64_t m_imag = 0;
    double maxdeg = 0.0;
    for (int64_t u = 0; u < T; u++)
        for (int64_t w = 0; w < T; w++) {
            deg[u] += (A[u * T + w] | A[w * T + u]) ? 1.0 : 0.0;
            m_imag += u < w && A[u * T + w] != A[w * T + u];
        }
    for (int64_t u = 0; u < T; u++)
        maxdeg = fmax(maxdeg, deg[u]);
    double q = m->q;
    if (!m->q_absolute) {
        int64_t mm = m_imag < T ? m_imag : T;
        q /= (double)(mm > 0 ? mm : 1);
    }
    for (int64_t u = 0; u < T; u++)
        for (int64_t w = 0; w < T; w++) {
            double as = (A[u * T + w] | A[w * T + u]) ? 1.0 : 0.0;
            double th = 2.0 * PECS_PI * q * ((double)A[u * T + w] - (double)A[w * T + u]);
            double scale = m->sym ? as / sqrt(fmax(deg[u], 1.0) * fmax(deg[w], 1.0)) : as;
            re[u * T + w] = (u == w ? (m->sym ? 1.0 : deg[u]) : 0.0) - scale * cos(th);
            im[u * T + w] = -scale * sin(th);
        }
    for (int64_t i = 0; i < T; i++) /* [[Re, -Im], [Im, Re]] */
        for (int64_t j = 0; j < T; j++) {
            a[i * n + j] = a[(T + i) * n + T + j] = re[i * T + j];
            a[i * n + T + j] = -im[i * T + j];
            a[(T + i) * n + j] = im[i * T + j];
        }
    jacobi(a, v, n);
    for (int64_t i = 0; i < n; i++) {
        lam[i] = a[i * n + i];
        ord[i] = i;
    }
    for (int64_t i = 1; i < n; i++) /* insertion sort, ascending */
        for (int64_t j = i; j > 0 && lam[ord[j]] < lam[ord[j - 1]]; j--) {
            int64_t tmp = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = tmp;
        }
    /* complex eigenvalue j = the pair 2j, 2j + 1 of the sorted real ones */
    int64_t lo = m->k_excl, hi = m->k_excl + k < T ? m->k_excl + k : T; /* kept: [lo, hi) */
    double gap = MAGLAP_GAP * (m->sym ? 2.0 : fmax(1.0, 2.0 * maxdeg));
    for (int64_t j = lo > 0 ? lo - 1 : 0; j + 1 < T && j < hi; j++) {
        double l0 = 0.5 * (lam[ord[2 * j]] + lam[ord[2 * j + 1]]), l1 = 0.5 * (lam[ord[2 * j + 2]] + lam[ord[2 * j + 3]]);
        if (l1 - l0 < gap) {
            snprintf(why, why_len,
                     "graph.maglap: eigenvalues %lld and %lld (%.9g, %.9g) are closer than %.3g, so the kept eigenvectors "
                     "are not determined: the graph is refused, not judged",
                     (long long)j, (long long)(j + 1), l0, l1, gap);
            st = PECS_INVALID;
            goto cleanup;
        }
    }
    for (int64_t i = 0; i < T * 2 * k; i++)
        m->P[i] = 0.0;
    for (int64_t j = lo; j < hi; j++) {
        int64_t c = ord[2 * j], r1 = -1;
        double m1 = 0.0;
        for (int64_t r = 0; r < T; r++)
            m1 = fmax(m1, v[r * n + c] * v[r * n + c] + v[(T + r) * n + c] * v[(T + r) * n + c]);
        for (int64_t r = 0; r < T; r++) {
            double d = (m1 - (v[r * n + c] * v[r * n + c] + v[(T + r) * n + c] * v[(T + r) * n + c])) / m1;
            if (d > MAGLAP_TIE_LO && d < MAGLAP_TIE_HI) {
                snprintf(why, why_len,
                         "graph.maglap: node %lld's squared modulus in eigenvector %lld is %.3g below the largest (relative), "
                         "neither tied (<= %.0e) nor clear (>= %.0e), so the phase anchor is ambiguous: the graph is "
                         "refused, not judged",
                         (long long)r, (long long)j, d, MAGLAP_TIE_LO, MAGLAP_TIE_HI);
                st = PECS_INVALID;
                goto cleanup;
            }
            if (r1 < 0 && d <= MAGLAP_TIE_LO) /* the lowest-index node tied at the largest modulus */
                r1 = r;
        }
        m1 = v[r1 * n + c] * v[r1 * n + c] + v[(T + r1) * n + c] * v[(T + r1) * n + c];
        double nr = 0.0;
        for (int64_t r = 0; r < T; r++)
            nr += v[r * n + c] * v[r * n + c] + v[(T + r) * n + c] * v[(T + r) * n + c];
        nr = sqrt(nr);
        /* multiply by conj(v[r1]) / |v[r1]| so that v[r1] is real and positive; divide by the norm (1 up to rounding) */
        double pr = v[r1 * n + c] / sqrt(m1), pi = -v[(T + r1) * n + c] / sqrt(m1);
        for (int64_t r = 0; r < T; r++) {
            double x = v[r * n + c], y = v[(T + r) * n + c];
            m->P[r * 2 * k + (j - lo)] = (x * pr - y * pi) / nr;
            m->P[r * 2 * k + k + (j - lo)] = (x * pi + y * pr) / nr;
        }
    }
cleanup:
    free(re);
    free(im);
    free(a);
    free(v);
    free(deg);
    free(lam);
    free(ord);
    return st;
}

PECS_REF_HOOK_EMBED(graph_maglap)
{
    (void)pos;
    int64_t k = pecs_param_int(p, "k", 2), k_excl = pecs_param_int(p, "k_excl", 0);
    double q = pecs_param_real(p, "q", 0.25), thr = pecs_param_real(p, "edge_threshold", 0.0);
    int q_absolute = pecs_param_int(p, "q_absolute", 0) != 0, sym = !pecs_param_is(p, "normalization", "none");
    if (k < 1 || k_excl < 0 || 2 * k > D) {
        snprintf(why, why_len, "graph.maglap: k %lld needs 2k <= D = %lld columns (real parts, then imaginary parts)",
                 (long long)k, (long long)D);
        return PECS_INVALID;
    }
    for (int64_t c = 0; c < D; c++)
        row[c] = 0.0;
    const pecs_tensor *x = pecs_problem_tensor(p, "x");
    if (!x || t < 0) /* parameters only */
        return PECS_OK;
    int64_t T = x->shape[0];
    if (T > MAGLAP_MAX_T) {
        snprintf(why, why_len, "graph.maglap: %lld nodes is over the reference's %d (a dense eigendecomposition per call)",
                 (long long)T, MAGLAP_MAX_T);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, T, T, why, why_len);
    if (!w)
        return PECS_INVALID;
    unsigned char *adj = malloc((size_t)(T * T));
    if (!adj)
        return PECS_NOMEM;
    const double *wd = w->data;
    for (int64_t u = 0; u < T; u++)
        for (int64_t v = 0; v < T; v++) {
            double e = wd[u * w->stride[0] + v * w->stride[1]];
            if (isnan(e)) {
                snprintf(why, why_len, "graph.maglap: adjacency w[%lld][%lld] is NaN (neither an edge nor none)",
                         (long long)u, (long long)v);
                free(adj);
                return PECS_INVALID;
            }
            adj[u * T + v] = e > thr;
        }
    maglap_memo *m = &g_memo;
    int hit = m->ready && m->T == T && m->k == k && m->k_excl == k_excl && m->q == q && m->thr == thr &&
              m->q_absolute == q_absolute && m->sym == sym && !memcmp(m->adj, adj, (size_t)(T * T));
    if (!hit) {
        free(m->adj);
        free(m->P);
        memset(m, 0, sizeof *m);
        *m = (maglap_memo){.T = T, .k = k, .k_excl = k_excl, .q = q, .thr = thr, .q_absolute = q_absolute, .sym = sym,
                           .adj = adj, .P = malloc((size_t)(T * 2 * k) * sizeof(double))};
        adj = NULL;
        if (!m->P) {
            free(m->adj);
            memset(m, 0, sizeof *m);
            return PECS_NOMEM;
        }
        m->st = maglap_solve(m, m->why, sizeof m->why);
        if (m->st == PECS_NOMEM) {
            free(m->adj);
            free(m->P);
            memset(m, 0, sizeof *m);
            return PECS_NOMEM;
        }
        m->ready = 1;
    }
    free(adj);
    if (m->st != PECS_OK) {
        snprintf(why, why_len, "%s", m->why);
        return m->st;
    }
    for (int64_t c = 0; c < 2 * k; c++)
        row[c] = m->P[t * 2 * k + c];
    return PECS_OK;
}
