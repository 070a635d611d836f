/* tests/test_t2comrope.c — known answers and properties of rope.comrope (reference/rope_comrope.c).
 *
 * ComRoPE turns block j (lanes j*b .. j*b+b-1) of every head by exp(sum_i pos_i B_ij), B_ij skew-symmetric
 * generators built from the learned tensor w (Longin-Yu/ComRoPE model.py). The known answers are worked by hand
 * from closed forms: a 2 x 2 skew block theta*J exponentiates to the rotation by theta, and a 4 x 4 generator
 * theta*K with K^2 = -I to cos(theta) I + sin(theta) K. The properties (b = 2 equals RoPE, norm preservation,
 * relative-shift invariance) are checked on the reference and the scalar backend.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "reference.h"
#include "refutil.h"

/* One rotate problem: x [T][H][D], pos [2][T] (f64), w [H+2][D*b] (NULL: no w tensor), out [T][H][D]. */
static pecs_status run_ref(const pecs_case *c, int64_t T, int64_t H, int64_t D, int64_t b, const double *x,
                           const double *pos, int64_t P, const double *w, double *out, char *why, size_t why_len)
{
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F64, 3, T, H, D, (void *)(uintptr_t)x),
                        ref_tensor("pos", PECS_DT_F64, 2, P, T, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", PECS_DT_F64, 3, T, H, D, out),
                        ref_tensor("w", PECS_DT_F64, 2, H + 2, D * b, 0, (void *)(uintptr_t)w)};
    p.tensors = t, p.n_tensors = w ? 4 : 3;
    return pecs_ref_run(&p, why, why_len);
}

static void ref(const pecs_case *c, int64_t T, int64_t H, int64_t D, int64_t b, const double *x, const double *pos,
                const double *w, double *out)
{
    char why[256] = "";
    cr_assert_eq(run_ref(c, T, H, D, b, x, pos, 2, w, out, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

/* The scalar backend in float32 on the same problem (x and w rounded to f32 first). */
static void scalar(const pecs_case *c, int64_t T, int64_t H, int64_t D, int64_t b, const double *x, const double *pos,
                   const double *w, double *out)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    int64_t n = T * H * D, nw = (H + 2) * D * b;
    float *xf = malloc((size_t)n * sizeof *xf), *of = malloc((size_t)n * sizeof *of), *wf = malloc((size_t)nw * sizeof *wf);
    cr_assert(xf && of && wf);
    for (int64_t i = 0; i < n; i++)
        xf[i] = (float)x[i];
    for (int64_t i = 0; i < nw; i++)
        wf[i] = (float)w[i];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F32, 3, T, H, D, xf),
                        ref_tensor("pos", PECS_DT_F64, 2, 2, T, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", PECS_DT_F32, 3, T, H, D, of), ref_tensor("w", PECS_DT_F32, 2, H + 2, D * b, 0, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 4;
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support %s: %s", c->enc->id, why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < n; i++)
        out[i] = of[i];
    free(xf);
    free(of);
    free(wf);
}

/* Deterministic values in [-1, 1), rounded to float32 (so the scalar backend's f32 inputs are the same values). */
static void fill(double *v, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(float)((double)(seed >> 11) * 0x1p-52 - 1.0);
    }
}

/* ---- known answers ---------------------------------------------------------------------------------------- */

/* AP, b = 2, one head of 8 lanes (4 blocks): block j turns with row h for even j, row w for odd j (j % 2). Generators
 * P_j = [[0,0],[theta_j,0]], theta = (pi/2, pi/4, pi/2, pi/4), give S_j = theta_j J, J = [[0,-1],[1,0]], so block j
 * at position p is the rotation by p*theta_j: (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos). x = [1,0, 0,1, 1,0, 0,1]:
 *   token 0 at (h, w) = (1, 1): blocks 0, 2 by pi/2 -> (0, 1); blocks 1, 3 by pi/4 -> (-sqrt(1/2), sqrt(1/2))
 *   token 1 at (h, w) = (0, 2): blocks 0, 2 by 0 -> (1, 0); blocks 1, 3 by pi/2 -> (-1, 0)
 * Catches: exp(-A) (a transposed block: every sin sign flips), blocks given to the axes in two halves (h h w w:
 * block 1 would read row h and stay (0, 1) at token 1), and generators not made skew (P instead of P - P^T). */
Test(t2comrope, ap_b2_known_answer)
{
    pecs_case *c = ref_case("rope.comrope", "variant", "ap", "block", "2", NULL);
    const double pi = 3.14159265358979323846, r = sqrt(0.5);
    double x[2 * 8] = {1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1}, pos[2 * 2] = {1, 0, 1, 2}, w[3 * 16] = {0};
    for (int j = 0; j < 4; j++)
        w[j * 4 + 2] = j % 2 ? pi / 4 : pi / 2; /* P_j[1][0] */
    double want[16] = {0, 1, -r, r, 0, 1, -r, r, 1, 0, -1, 0, 1, 0, -1, 0}, out[16], sc[16];
    ref(c, 2, 1, 8, 2, x, pos, w, out);
    scalar(c, 2, 1, 8, 2, x, pos, w, sc);
    for (int i = 0; i < 16; i++) {
        cr_assert(fabs(out[i] - want[i]) <= 1e-15, "lane %d: %.17g, want %.17g", i, out[i], want[i]);
        cr_assert(fabs(sc[i] - want[i]) <= 2e-7, "scalar lane %d: %.9g, want %.17g", i, sc[i], want[i]);
    }
    ref_case_free(c);
}

/* LD, b = 4, one dense block: P = the upper triangle of K, K = [[0,a,b,c],[-a,0,-c,b],[-b,c,0,-a],[-c,-b,a,0]] with
 * (a, b, c) = (2/3, 1/3, 2/3), so S = K and K^2 = -I; multipliers theta_h = 0.5, theta_w = -0.25. At (h, w) the
 * block turns by exp(s K) = cos(s) I + sin(s) K, s = 0.5 h - 0.25 w. Checked at (h, w) = (3, 2) (s = 1) and
 * (-4, 6) (s = -3.5) on x = [1, -2, 0.5, 3]. Catches a kernel that pairs lanes (2i, 2i+1) instead of exponentiating
 * the whole block, the LD multiplier of the wrong axis (s = 0.5 w - 0.25 h) and a transposed block. */
Test(t2comrope, ld_b4_known_answer)
{
    pecs_case *c = ref_case("rope.comrope", "variant", "ld", "block", "4", NULL);
    const double a = 2.0 / 3.0, bb = 1.0 / 3.0, cc = 2.0 / 3.0;
    const double K[16] = {0, a, bb, cc, -a, 0, -cc, bb, -bb, cc, 0, -a, -cc, -bb, a, 0};
    for (int r = 0; r < 4; r++) /* K^2 = -I: the closed form below holds */
        for (int q = 0; q < 4; q++) {
            double s = 0;
            for (int k = 0; k < 4; k++)
                s += K[r * 4 + k] * K[k * 4 + q];
            cr_assert(fabs(s + (r == q)) < 1e-15);
        }
    double w[3 * 16] = {0}, x[2 * 4] = {1, -2, 0.5, 3, 1, -2, 0.5, 3}, pos[2 * 2] = {3, -4, 2, 6}, out[8], sc[8];
    for (int r = 0; r < 4; r++)
        for (int q = r + 1; q < 4; q++)
            w[r * 4 + q] = K[r * 4 + q];
    w[16] = 0.5, w[32] = -0.25; /* theta of row h, row w for block 0 */
    ref(c, 2, 1, 4, 4, x, pos, w, out);
    scalar(c, 2, 1, 4, 4, x, pos, w, sc);
    const double s[2] = {1.0, -3.5};
    for (int t = 0; t < 2; t++)
        for (int r = 0; r < 4; r++) {
            double want = cos(s[t]) * x[r];
            for (int q = 0; q < 4; q++)
                want += sin(s[t]) * K[r * 4 + q] * x[q];
            cr_assert(fabs(out[t * 4 + r] - want) <= 4e-15, "token %d lane %d: %.17g, want %.17g", t, r, out[t * 4 + r], want);
            cr_assert(fabs(sc[t * 4 + r] - want) <= 2e-6, "scalar token %d lane %d: %.9g, want %.17g", t, r, sc[t * 4 + r], want);
        }
    ref_case_free(c);
}

/* ---- properties --------------------------------------------------------------------------------------------- */

/* b = 2 is RoPE: generators theta_j J with theta_j = 10000^(-2j/D) on every head, both position rows equal (text
 * tokens: h = w = p), make ComRoPE-AP the reference RoPE (interleaved pairs) at p, and ComRoPE-LD with multipliers
 * (1, 0) the same. Positions up to 123456: the exponential's scaling and squaring stays exact enough. Catches any
 * block exponential that is not the rotation (a sign, a transpose, a truncated series at large angles). */
Test(t2comrope, b2_is_rope)
{
    enum { T = 5, H = 2, D = 64, B = 2 };
    static double x[T * H * D], pos[2 * T], pos1[T], w[(H + 2) * D * B], want[T * H * D], out[T * H * D];
    const double at[T] = {0, 1, 100, 4097, 123456};
    fill(x, T * H * D, 11);
    for (int t = 0; t < T; t++)
        pos[t] = pos[T + t] = pos1[t] = at[t];
    for (int h = 0; h < H; h++)
        for (int j = 0; j < D / B; j++)
            w[h * D * B + j * 4 + 2] = pow(10000.0, -2.0 * j / D); /* P_j[1][0] */
    for (int j = 0; j < D / B; j++)
        w[H * D * B + j] = 1.0; /* LD: theta of row h 1, of row w 0 */
    pecs_case *rc = ref_case("rope", "pairing", "interleaved", NULL);
    pecs_problem p = ref_problem(rc);
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, T, H, D, x), ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, pos1),
                        ref_tensor("out", PECS_DT_F64, 3, T, H, D, want)};
    p.tensors = t, p.n_tensors = 3;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s", why);
    const char *variants[2] = {"ap", "ld"};
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case("rope.comrope", "variant", variants[v], "block", "2", NULL);
        ref(c, T, H, D, B, x, pos, w, out);
        for (int i = 0; i < T * H * D; i++)
            cr_assert(fabs(out[i] - want[i]) <= 1e-10, "%s element %d: %.17g vs rope %.17g", variants[v], i, out[i], want[i]);
        ref_case_free(c);
    }
    ref_case_free(rc);
}

/* Every block is orthogonal (exp of a skew matrix): the norm of each block of x is kept, on random generators,
 * b = 8, positions up to 4096, both variants, in the reference and the scalar backend. Catches generators not
 * made skew-symmetric (P instead of P - P^T) and a truncated or unsquared series. */
Test(t2comrope, blocks_keep_the_norm)
{
    enum { T = 4, H = 3, D = 32, B = 8 };
    static double x[T * H * D], pos[2 * T] = {0, 7, 4095, 30, 3, 0, 1000, 2222}, w[(H + 2) * D * B], out[T * H * D],
                                sc[T * H * D];
    fill(x, T * H * D, 3);
    fill(w, (H + 2) * D * B, 5);
    const char *variants[2] = {"ap", "ld"};
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case("rope.comrope", "variant", variants[v], "block", "8", NULL);
        ref(c, T, H, D, B, x, pos, w, out);
        scalar(c, T, H, D, B, x, pos, w, sc);
        for (int k = 0; k < T * H * D / B; k++) {
            double n0 = 0, n1 = 0, n2 = 0;
            for (int e = 0; e < B; e++) {
                n0 += x[k * B + e] * x[k * B + e], n1 += out[k * B + e] * out[k * B + e];
                n2 += sc[k * B + e] * sc[k * B + e];
                cr_assert(fabs(sc[k * B + e] - out[k * B + e]) <= 1e-5, "%s: scalar %.9g vs reference %.17g", variants[v],
                          sc[k * B + e], out[k * B + e]);
            }
            cr_assert(fabs(sqrt(n1) - sqrt(n0)) <= 1e-11 * sqrt(n0), "%s block %d: |y| %.17g, |x| %.17g", variants[v], k,
                      sqrt(n1), sqrt(n0));
            cr_assert(fabs(sqrt(n2) - sqrt(n0)) <= 1e-6 * sqrt(n0), "%s block %d (scalar)", variants[v], k);
        }
        ref_case_free(c);
    }
}

/* Turning by position p then by -p is the identity (exp(-A) exp(A) = I), for integer and real positions, b = 8,
 * both variants. Catches a kernel that turns by the transpose on one sign only, or reads negative or real positions
 * wrongly. */
Test(t2comrope, negative_position_inverts)
{
    enum { T = 4, H = 2, D = 16, B = 8 };
    static double x[T * H * D], w[(H + 2) * D * B], y[T * H * D], z[T * H * D];
    const double pp[2 * T] = {3, 0.625, 100, 17.25, 1, 2, -7.5, 4096}, pn[2 * T] = {-3, -0.625, -100, -17.25, -1, -2, 7.5, -4096};
    fill(x, T * H * D, 31);
    fill(w, (H + 2) * D * B, 32);
    const char *variants[2] = {"ap", "ld"};
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case("rope.comrope", "variant", variants[v], "block", "8", NULL);
        ref(c, T, H, D, B, x, pp, w, y);
        ref(c, T, H, D, B, y, pn, w, z);
        for (int i = 0; i < T * H * D; i++)
            cr_assert(fabs(z[i] - x[i]) <= 1e-11, "%s element %d: %.17g -> %.17g", variants[v], i, x[i], z[i]);
        ref_case_free(c);
    }
}

/* Relative-shift invariance: <R(p + d) q, R(r + d) k> = <R(p) q, R(r) k> for a shift d of both rows (the generators
 * of a block commute), at d up to 2^20, b = 4, both variants. And the logits move when only the query moves (the
 * test is not vacuous). The bound grows with d: the exponent d*S is formed and exponentiated in double, so its
 * angles carry an absolute error of a few eps * |d S| (2.3e-9 measured at d = 2^20, |S| <= 4): the reference is
 * exact to the rounding of its input, not to 1e-15 at any position as the pair schedules' double-double angles. */
Test(t2comrope, logits_are_shift_invariant)
{
    enum { T = 3, H = 2, D = 16, B = 4 };
    static double q[T * H * D], k[T * H * D], w[(H + 2) * D * B], qo[T * H * D], ko[T * H * D], qs[T * H * D], ks[T * H * D];
    const double base[2 * T] = {0, 5, 2, 1, 3, 9};
    fill(q, T * H * D, 21);
    fill(k, T * H * D, 22);
    fill(w, (H + 2) * D * B, 23);
    const char *variants[2] = {"ap", "ld"};
    const double shifts[3] = {1, 977, 1048576};
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case("rope.comrope", "variant", variants[v], "block", "4", NULL);
        ref(c, T, H, D, B, q, base, w, qo);
        ref(c, T, H, D, B, k, base, w, ko);
        for (int si = 0; si < 3; si++) {
            double sp[2 * T];
            for (int i = 0; i < 2 * T; i++)
                sp[i] = base[i] + shifts[si];
            ref(c, T, H, D, B, q, sp, w, qs);
            ref(c, T, H, D, B, k, sp, w, ks);
            for (int h = 0; h < H; h++)
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++) {
                        double l0 = 0, l1 = 0;
                        for (int d = 0; d < D; d++) {
                            l0 += qo[(i * H + h) * D + d] * ko[(j * H + h) * D + d];
                            l1 += qs[(i * H + h) * D + d] * ks[(j * H + h) * D + d];
                        }
                        cr_assert(fabs(l1 - l0) <= 1e-14 * (shifts[si] + 16.0), "%s shift %g head %d (%d, %d): %.17g vs %.17g", variants[v],
                                  shifts[si], h, i, j, l1, l0);
                    }
        }
        double l0 = 0, l1 = 0; /* query 0 vs key 1, then the query alone moved by (1, 0) */
        for (int d = 0; d < D; d++)
            l0 += qo[d] * ko[H * D + d];
        double moved[2 * T];
        memcpy(moved, base, sizeof moved);
        moved[0] += 1;
        ref(c, T, H, D, B, q, moved, w, qs);
        for (int d = 0; d < D; d++)
            l1 += qs[d] * ko[H * D + d];
        cr_assert(fabs(l1 - l0) > 1e-3, "%s: moving the query changed nothing (%.17g)", variants[v], l1);
        ref_case_free(c);
    }
}

/* The parameter rules: AP needs head_dim % (2b) == 0 (two axes, whole blocks each), LD head_dim % b == 0; no w
 * tensor is an error, not a crash. */
Test(t2comrope, rejects_inconsistent_blocks)
{
    char why[256] = "";
    pecs_case *ap = ref_case("rope.comrope", "variant", "ap", "block", "4", NULL);
    pecs_problem p = ref_problem(ap);
    cr_assert_eq(pecs_ref_check(&p, 2, 12, NULL, why, sizeof why), PECS_INVALID, "12 %% 8 != 0 must be rejected");
    cr_assert(strstr(why, "multiple of 2 x 4"), "%s", why);
    cr_assert_eq(pecs_ref_check(&p, 2, 16, NULL, why, sizeof why), PECS_OK, "%s", why);
    pecs_case *ld = ref_case("rope.comrope", "variant", "ld", "block", "4", NULL);
    p = ref_problem(ld);
    cr_assert_eq(pecs_ref_check(&p, 2, 12, NULL, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_ref_check(&p, 2, 10, NULL, why, sizeof why), PECS_INVALID);
    double x[8] = {0}, pos[2] = {0}, out[8];
    cr_assert_eq(run_ref(ld, 1, 1, 8, 4, x, pos, 2, NULL, out, why, sizeof why), PECS_INVALID);
    cr_assert_eq(run_ref(ld, 1, 1, 8, 4, x, pos, 1, (double[3 * 32]){0}, out, why, sizeof why), PECS_INVALID,
                 "one position row must be rejected");
    cr_assert(strstr(why, "position rows"), "%s", why);
    ref_case_free(ap);
    ref_case_free(ld);
}
