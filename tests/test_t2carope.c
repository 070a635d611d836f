/* tests/test_t2carope.c — known answers and properties of rope.carope (reference/rope_carope.c with the rotate driver's
 * content phase in reference/forms.c; the scalar schedule in impls/common/schedule.c).
 *
 * CARoPE (arXiv 2507.23083 sec. 2): pair i of head h at token t turns by
 *     o[i][h] + sum over the call's tokens s <= t at positions >= 1 of f_s^i,   f = 1 / (softplus(z[s][h]) + 1),
 * w [T + D/2, H]: rows 0 .. T-1 the head logits z, rows T + i the carried sums o. Every check runs the reference (f64)
 * and the scalar backend (f32 storage, w in f32).
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
#include "testutil.h"

enum { NMAX = 512, WMAX = 512 };

/* out [T, H, D] of encoding c on x [T, H, D] at positions pos[T], w [wrows, H] (NULL: no w, for rope): by the reference
 * (f64, lb NULL) or by a backend (f32 tensors). */
static pecs_status ca_run(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D,
                          const double *x, const double *pos, const double *w, int64_t wrows, double *out, char *why,
                          size_t why_len)
{
    pecs_problem p = ref_problem(c);
    int64_t n = T * H * D, nw = wrows * H;
    cr_assert(n <= NMAX && nw <= WMAX);
    if (!lb) {
        pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F64, 3, T, H, D, (void *)(uintptr_t)x),
                            ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, (void *)(uintptr_t)pos),
                            ref_tensor("out", PECS_DT_F64, 3, T, H, D, out),
                            ref_tensor("w", PECS_DT_F64, 2, wrows, H, 0, (void *)(uintptr_t)w)};
        p.tensors = t, p.n_tensors = w ? 4 : 3;
        return pecs_ref_run(&p, why, why_len);
    }
    float xf[NMAX], of[NMAX], wf[WMAX];
    for (int64_t i = 0; i < n; i++)
        xf[i] = (float)x[i];
    for (int64_t i = 0; w && i < nw; i++)
        wf[i] = (float)w[i];
    pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F32, 3, T, H, D, xf),
                        ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", PECS_DT_F32, 3, T, H, D, of), ref_tensor("w", PECS_DT_F32, 2, wrows, H, 0, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = w ? 4 : 3;
    if (!lb->b->supports(lb->b->ctx, &p, why, why_len))
        return PECS_UNSUPPORTED;
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; st == PECS_OK && i < n; i++)
        out[i] = (double)of[i];
    return st;
}

static void ca_ok(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D, const double *x,
                  const double *pos, const double *w, double *out)
{
    char why[256] = "";
    cr_assert_eq(ca_run(lb, c, T, H, D, x, pos, w, T + D / 2, out, why, sizeof why), PECS_OK, "%s: %s",
                 lb ? "backend" : "reference", why);
}

static void fill(double *v, int64_t n, uint64_t seed, double scale)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(float)(((double)(seed >> 11) * 0x1p-52 - 1.0) * scale);
    }
}

/* The logit z with 1 / (softplus(z) + 1) = f, f in (0, 1): softplus(z) = 1/f - 1, z = ln(e^(1/f - 1) - 1). */
static double logit_of(double f) { return log(expm1(1.0 / f - 1.0)); }

/* A mutant's kernel (build/mutants) loaded in process, or 0 (the test is then skipped) when it is not built. */
static int load_mutant(const char *name, pecs_loaded_backend *lb)
{
    char path[1024], why[256] = "";
    snprintf(path, sizeof path, "%s/../mutants/libpecs-mutant-%s.so", tu_env("PECS_PLUGIN_DIR", "build/plugins"), name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    pecs_backend_opts o = {.isolate = 0};
    cr_assert_eq(pecs_backend_open(path, &o, lb, why, sizeof why), PECS_OK, "%s", why);
    return 1;
}

/* ---- known answer ----------------------------------------------------------------------------------------- */

/* H = 1, D = 4 (pairs (0, 1) and (2, 3), pairing interleaved), positions 0, 1, 2. Logits z = ln(e - 1) (f = 1/2: softplus
 * 1), again ln(e - 1) (f = 1/2), ln(e^2 - 1) (f = 1/3: softplus 2); carried sums o = (0.25, -0.5). The token at
 * position 0 is not summed, so pair 0 (f^0 = 1) turns by 0.25, 1.25, 2.25 and pair 1 (f^1) by -0.5, 0, 1/3.
 * x = (1, 2, 3, 4) at every token: out = (cos a0 - 2 sin a0, sin a0 + 2 cos a0, 3 cos a1 - 4 sin a1, 3 sin a1 + 4 cos a1).
 * f^(i+1) gives pair 0 angles 0.25, 0.75, ..; summing position 0 too gives 1.25 at token 0; sigmoid(-z) for f gives
 * 1/e, not 1/2. */
static double hand_worked_error(const pecs_loaded_backend *lb)
{
    double l2 = log(expm1(1.0)), l3 = log(expm1(2.0));
    double w[5] = {l2, l2, l3, 0.25, -0.5}, x[12] = {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}, pos[3] = {0.0, 1.0, 2.0};
    double ang[3][2] = {{0.25, -0.5}, {1.25, 0.0}, {2.25, 1.0 / 3.0}}, out[12], err = 0.0;
    pecs_case *c = ref_case("rope.carope", NULL); /* default pairing: interleaved */
    ca_ok(lb, c, 3, 1, 4, x, pos, w, out);
    for (int t = 0; t < 3; t++) {
        double a0 = ang[t][0], a1 = ang[t][1];
        double want[4] = {cos(a0) - 2 * sin(a0), sin(a0) + 2 * cos(a0), 3 * cos(a1) - 4 * sin(a1),
                          3 * sin(a1) + 4 * cos(a1)};
        for (int d = 0; d < 4; d++)
            err = fmax(err, fabs(out[t * 4 + d] - want[d]));
    }
    ref_case_free(c);
    return err;
}

Test(t2carope, hand_worked_d4)
{
    double e = hand_worked_error(NULL);
    cr_assert(e <= 1e-14, "reference: error %.3g", e);
    e = hand_worked_error(ref_scalar_backend());
    cr_assert(e <= 1e-6, "scalar: error %.3g", e);
}

/* The known answer can fail: the mutants' correct kernel passes it, each rope.carope mutant misses it. */
Test(t2carope, hand_worked_catches_the_mutants)
{
    static const char *const names[] = {"none", "carope_exponent_plus_one", "carope_counts_position_zero",
                                        "carope_sigmoid"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pecs_loaded_backend lb;
        if (!load_mutant(names[i], &lb))
            cr_skip_test("mutant %s not built", names[i]);
        double e = hand_worked_error(&lb);
        if (i == 0)
            cr_assert(e <= 1e-6, "mutant-none: error %.3g", e);
        else
            cr_assert(e > 1e-2, "mutant-%s passes the known answer (error %.3g)", names[i], e);
        pecs_backend_unload(&lb);
    }
}

/* ---- properties ------------------------------------------------------------------------------------------- */

/* The paper's special case: f = theta_1 = 10000^(-2/D) for every token and head makes the phase of pair i at position m
 * m theta_1^i = m 10000^(-2i/D): RoPE. With the carried sums o[i] = (p0 - 1) theta_1^i (positions 1 .. p0-1) it holds at
 * positions p0 .. p0+T-1 too, and at p0 = 0 with o = 0. Max error of a backend against pecs's rope at the same
 * positions, both pairings. */
static double rope_case_error(const pecs_loaded_backend *lb)
{
    enum { T = 4, H = 2, D = 8, N = T * H * D, W = (T + D / 2) * H };
    double x[N], w[W], pos[T], out[N], plain[N], err = 0.0, th = pow(10000.0, -2.0 / D), z = logit_of(th);
    static const char *const pairings[] = {"interleaved", "half"};
    static const double starts[] = {0.0, 1.0, 100.0};
    fill(x, N, 51, 1.0);
    for (int pi = 0; pi < 2; pi++)
        for (int si = 0; si < 3; si++) {
            for (int64_t t = 0; t < T; t++)
                pos[t] = starts[si] + (double)t;
            for (int64_t r = 0; r < T + D / 2; r++)
                for (int64_t h = 0; h < H; h++)
                    w[r * H + h] = r < T ? z : fmax(starts[si] - 1.0, 0.0) * pow(th, (double)(r - T));
            pecs_case *c = ref_case("rope.carope", "pairing", pairings[pi], NULL);
            pecs_case *r = ref_case("rope", "pairing", pairings[pi], NULL);
            char why[256] = "";
            ca_ok(lb, c, T, H, D, x, pos, w, out);
            cr_assert_eq(ca_run(lb ? ref_scalar_backend() : NULL, r, T, H, D, x, pos, NULL, 0, plain, why, sizeof why),
                         PECS_OK, "%s", why);
            for (int64_t i = 0; i < N; i++)
                err = fmax(err, fabs(out[i] - plain[i]));
            ref_case_free(c);
            ref_case_free(r);
        }
    return err;
}

Test(t2carope, constant_theta1_is_rope)
{
    double e = rope_case_error(NULL);
    cr_assert(e <= 1e-11, "reference: error %.3g", e);
    e = rope_case_error(ref_scalar_backend());
    cr_assert(e <= 1e-4, "scalar: error %.3g", e); /* z and the carried sums stored in f32 */
}

/* A kernel summing the token at position 0 too (a plain cumsum) is RoPE at pos + 1: the property fails on it; so does
 * one with the exponent from 1 (pair i at theta_1^(i+1)). */
Test(t2carope, constant_theta1_catches_the_mutants)
{
    static const char *const names[] = {"carope_counts_position_zero", "carope_exponent_plus_one"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pecs_loaded_backend lb;
        if (!load_mutant(names[i], &lb))
            cr_skip_test("mutant %s not built", names[i]);
        double e = rope_case_error(&lb);
        cr_assert(e > 1e-2, "mutant-%s passes (error %.3g)", names[i], e);
        pecs_backend_unload(&lb);
    }
}

/* The carried sums: one call over positions 0 .. T-1 equals two calls, the second (from position T1) given the first
 * call's final phases as its carried sums. Random logits and sums. Max error between the two. */
Test(t2carope, two_calls_with_the_carried_sums_equal_one)
{
    enum { T = 5, T1 = 2, H = 3, D = 6, R = D / 2, N = T * H * D, W = (T + R) * H };
    double x[N], w[W], w2[W], pos[T], out[N], part[N];
    fill(x, N, 61, 1.0);
    fill(w, W, 62, 1.0);
    for (int64_t t = 0; t < T; t++)
        pos[t] = (double)t;
    pecs_case *c = ref_case("rope.carope", "pairing", "half", NULL);
    for (int b = 0; b < 2; b++) {
        const pecs_loaded_backend *lb = b ? ref_scalar_backend() : NULL;
        double err = 0.0, tol = b ? 1e-5 : 1e-12;
        ca_ok(lb, c, T, H, D, x, pos, w, out);
        for (int64_t h = 0; h < H; h++) { /* second call: z of tokens T1.., then o + sum over positions 1..T1-1 */
            for (int64_t s = T1; s < T; s++)
                w2[(s - T1) * H + h] = w[s * H + h];
            for (int64_t i = 0; i < R; i++) {
                double acc = w[(T + i) * H + h];
                for (int64_t s = 1; s < T1; s++) {
                    double zz = w[s * H + h];
                    acc += pow(1.0 / (log1p(exp(zz)) + 1.0), (double)i);
                }
                w2[(T - T1 + i) * H + h] = acc;
            }
        }
        ca_ok(lb, c, T - T1, H, D, x + T1 * H * D, pos + T1, w2, part);
        for (int64_t i = 0; i < (T - T1) * H * D; i++)
            err = fmax(err, fabs(part[i] - out[T1 * H * D + i]));
        cr_assert(err <= tol, "%s: error %.3g", b ? "scalar" : "reference", err);
    }
    ref_case_free(c);
}

/* Bad input is an error with a reason, never a crash: no w, w with the wrong row count, positions that are not one run
 * of consecutive tokens or start below 0 (reference and scalar). */
Test(t2carope, bad_input_is_rejected)
{
    char why[256] = "";
    double x[48] = {0}, w[64] = {0}, pos[3] = {4.0, 5.0, 7.0}, out[48];
    pecs_case *c = ref_case("rope.carope", NULL);
    cr_assert_eq(ca_run(NULL, c, 3, 2, 8, x, pos, NULL, 0, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "\"w\""), "%s", why);
    cr_assert_eq(ca_run(NULL, c, 3, 2, 8, x, pos, w, 3, out, why, sizeof why), PECS_INVALID); /* T rows, not T + 4 */
    cr_assert(strstr(why, "[7, 2]"), "%s", why);
    cr_assert_eq(ca_run(NULL, c, 3, 2, 8, x, pos, w, 7, out, why, sizeof why), PECS_INVALID); /* 4, 5, 7 */
    cr_assert(strstr(why, "consecutive"), "%s", why);
    cr_assert_neq(ca_run(ref_scalar_backend(), c, 3, 2, 8, x, pos, w, 7, out, why, sizeof why), PECS_OK);
    double neg[3] = {-1.0, 0.0, 1.0};
    cr_assert_eq(ca_run(NULL, c, 3, 2, 8, x, neg, w, 7, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, ">= 0"), "%s", why);
    cr_assert_neq(ca_run(ref_scalar_backend(), c, 3, 2, 8, x, neg, w, 7, out, why, sizeof why), PECS_OK);
    pos[2] = 6.0;
    cr_assert_eq(ca_run(NULL, c, 3, 2, 8, x, pos, w, 7, out, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
}
