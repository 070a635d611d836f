/* tests/test_t2selrope.c — known answers and properties of rope.selective (reference/rope_selective.c with the rotate
 * driver's content phase in reference/forms.c; the scalar schedule in impls/common/schedule.c).
 *
 * Selective RoPE (timurcarstensen/selective-rope rotary.py SelectiveRoPE.forward, rotary_temperature): pair i of head h
 * at token t (of the call, in order) turns by
 *     angle = temp_i * (w[0][h*R + i] + sum_{s <= t} w[1 + s][h*R + i]),   temp_i = temp_max / base^(2i/head_dim),
 * R = head_dim/2, row 0 of w the earlier tokens' sum (the code's phi_tilde_offset). Every check runs the reference
 * (f64) and the scalar backend (f32 storage, w in f32).
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

/* out [T, H, D] of encoding c on x [T, H, D] at positions pos[T], w [T+1, H*D/2] (NULL: no w, for rope): by the
 * reference (f64, lb NULL) or by a backend (f32 tensors). */
static pecs_status sel_run(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D,
                           const double *x, const double *pos, const double *w, int64_t wrows, double *out, char *why,
                           size_t why_len)
{
    pecs_problem p = ref_problem(c);
    int64_t n = T * H * D, wc = H * D / 2, nw = wrows * wc;
    cr_assert(n <= NMAX && nw <= WMAX);
    if (!lb) {
        pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F64, 3, T, H, D, (void *)(uintptr_t)x),
                            ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, (void *)(uintptr_t)pos),
                            ref_tensor("out", PECS_DT_F64, 3, T, H, D, out),
                            ref_tensor("w", PECS_DT_F64, 2, wrows, wc, 0, (void *)(uintptr_t)w)};
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
                        ref_tensor("out", PECS_DT_F32, 3, T, H, D, of), ref_tensor("w", PECS_DT_F32, 2, wrows, wc, 0, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = w ? 4 : 3;
    if (!lb->b->supports(lb->b->ctx, &p, why, why_len))
        return PECS_UNSUPPORTED;
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; st == PECS_OK && i < n; i++)
        out[i] = (double)of[i];
    return st;
}

static void sel_ok(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D, const double *x,
                   const double *pos, const double *w, double *out)
{
    char why[256] = "";
    cr_assert_eq(sel_run(lb, c, T, H, D, x, pos, w, T + 1, out, why, sizeof why), PECS_OK, "%s: %s",
                 lb ? "backend" : "reference", why);
}

static void fill(double *v, int64_t n, uint64_t seed, double scale)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(float)(((double)(seed >> 11) * 0x1p-52 - 1.0) * scale);
    }
}

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

/* H = 1, D = 4 (pairs (0, 2) and (1, 3), pairing half), base 16, temp_max 1: temp = (1, 16^(-2/4)) = (1, 1/4).
 * w rows: offset (0.5, 2), phi_0 (1, -1), phi_1 (0.25, 4). Running sums: token 0 (1.5, 1), token 1 (1.75, 5);
 * angles: token 0 (1.5, 0.25), token 1 (1.75, 1.25). x = (1, 2, 3, 4) at both tokens, so out = (cos a0 - 3 sin a0,
 * 2 cos a1 - 4 sin a1, sin a0 + 3 cos a0, 2 sin a1 + 4 cos a1). Positions 7, 8 (not read for the angle).
 * An exclusive sum gives token 0 angles (0.5, 0.5); the exponent over head_dim/2 gives temp_1 = 1/16; the offset
 * ignored gives token 0 angles (1, -0.25). */
static double hand_worked_error(const pecs_loaded_backend *lb)
{
    double w[6] = {0.5, 2.0, 1.0, -1.0, 0.25, 4.0}, x[8] = {1, 2, 3, 4, 1, 2, 3, 4}, pos[2] = {7.0, 8.0}, out[8];
    double ang[2][2] = {{1.5, 0.25}, {1.75, 1.25}}, err = 0.0;
    pecs_case *c = ref_case("rope.selective", "pairing", "half", "base", "16", NULL);
    sel_ok(lb, c, 2, 1, 4, x, pos, w, out);
    for (int t = 0; t < 2; t++) {
        double a0 = ang[t][0], a1 = ang[t][1];
        double want[4] = {cos(a0) - 3 * sin(a0), 2 * cos(a1) - 4 * sin(a1), sin(a0) + 3 * cos(a0),
                          2 * sin(a1) + 4 * cos(a1)};
        for (int d = 0; d < 4; d++)
            err = fmax(err, fabs(out[t * 4 + d] - want[d]));
    }
    ref_case_free(c);
    return err;
}

Test(t2selrope, hand_worked_d4)
{
    double e = hand_worked_error(NULL);
    cr_assert(e <= 1e-14, "reference: error %.3g", e);
    e = hand_worked_error(ref_scalar_backend());
    cr_assert(e <= 1e-6, "scalar: error %.3g", e);
}

/* The known answer can fail: the mutants' correct kernel passes it, each rope.selective mutant misses it. */
Test(t2selrope, hand_worked_catches_the_mutants)
{
    static const char *const names[] = {"none", "selrope_exclusive", "selrope_temp_pe_dim", "selrope_no_offset"};
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

/* phi = 1 with offset p0 (the sum of p0 earlier ones) at positions p0 .. p0 + T - 1: the angle is temp_i (p0 + t + 1),
 * RoPE at base theta at position pos + 1 (pecs's rope reference and scalar kernel). Both pairings. Max error of a
 * backend (NULL: the reference) against rope at pos + 1, over p0 in {0, 1000}. */
static double phi_one_error(const pecs_loaded_backend *lb)
{
    enum { T = 4, H = 2, D = 8, N = T * H * D, W = (T + 1) * H * D / 2 };
    double x[N], w[W], pos[T], next[T], out[N], plain[N], err = 0.0;
    static const char *const pairings[] = {"half", "interleaved"};
    static const double starts[] = {0.0, 1000.0};
    fill(x, N, 31, 1.0);
    for (int pi = 0; pi < 2; pi++)
        for (int si = 0; si < 2; si++) {
            for (int64_t t = 0; t < T; t++)
                pos[t] = starts[si] + (double)t, next[t] = pos[t] + 1.0;
            for (int64_t i = 0; i < W; i++)
                w[i] = i < H * D / 2 ? starts[si] : 1.0;
            pecs_case *c = ref_case("rope.selective", "pairing", pairings[pi], NULL);
            pecs_case *r = ref_case("rope", "pairing", pairings[pi], "base", "500000", NULL);
            char why[256] = "";
            sel_ok(lb, c, T, H, D, x, pos, w, out);
            cr_assert_eq(sel_run(lb ? ref_scalar_backend() : NULL, r, T, H, D, x, next, NULL, 0, plain, why, sizeof why),
                         PECS_OK, "%s", why);
            for (int64_t i = 0; i < N; i++)
                err = fmax(err, fabs(out[i] - plain[i]));
            ref_case_free(c);
            ref_case_free(r);
        }
    return err;
}

Test(t2selrope, phi_one_is_rope_at_the_next_position)
{
    double e = phi_one_error(NULL);
    cr_assert(e <= 1e-12, "reference: error %.3g", e);
    e = phi_one_error(ref_scalar_backend());
    cr_assert(e <= 1e-5, "scalar: error %.3g", e);
}

/* An exclusive running sum (the token's own phi left out) is RoPE at pos, not pos + 1: the property fails on it. */
Test(t2selrope, phi_one_catches_an_exclusive_sum)
{
    pecs_loaded_backend lb;
    if (!load_mutant("selrope_exclusive", &lb))
        cr_skip_test("mutant selrope_exclusive not built");
    double e = phi_one_error(&lb);
    cr_assert(e > 1e-2, "mutant-selrope_exclusive passes (error %.3g)", e);
    pecs_backend_unload(&lb);
}

/* The cache: a sequence run in one call equals the same sequence in two calls, the second given the first's final
 * running sum as its offset (the code's phi_tilde_offset, output_final_state). Random phi and offset. Catches a kernel
 * that drops the offset or restarts the sum per call (the mutant selrope_no_offset fails it). Max error of a backend
 * between the one-call and two-call outputs. */
static double chunked_error(const pecs_loaded_backend *lb)
{
    enum { T = 5, T1 = 2, H = 3, D = 6, R = D / 2, N = T * H * D, W = (T + 1) * H * R };
    double x[N], w[W], w2[W], pos[T], out[N], part[N], err = 0.0;
    fill(x, N, 41, 1.0);
    fill(w, W, 42, 1.0);
    for (int64_t t = 0; t < T; t++)
        pos[t] = 300.0 + (double)t;
    pecs_case *c = ref_case("rope.selective", "pairing", "half", "base", "100", NULL);
    sel_ok(lb, c, T, H, D, x, pos, w, out);
    sel_ok(lb, c, T1, H, D, x, pos, w, part); /* first call: rows 0 .. T1 of w */
    for (int64_t i = 0; i < T1 * H * D; i++)
        err = fmax(err, fabs(part[i] - out[i]));
    for (int64_t k = 0; k < H * R; k++) { /* second call: offset = offset + phi_0 + .. + phi_{T1-1}, then the rest */
        double acc = w[k];
        for (int64_t s = 0; s < T1; s++)
            acc += w[(1 + s) * H * R + k];
        w2[k] = acc;
        for (int64_t s = T1; s < T; s++)
            w2[(1 + s - T1) * H * R + k] = w[(1 + s) * H * R + k];
    }
    sel_ok(lb, c, T - T1, H, D, x + T1 * H * D, pos + T1, w2, part);
    for (int64_t i = 0; i < (T - T1) * H * D; i++)
        err = fmax(err, fabs(part[i] - out[T1 * H * D + i]));
    ref_case_free(c);
    return err;
}

Test(t2selrope, two_calls_with_the_cached_sum_equal_one)
{
    double e = chunked_error(NULL);
    cr_assert(e <= 1e-12, "reference: error %.3g", e);
    e = chunked_error(ref_scalar_backend());
    cr_assert(e <= 1e-5, "scalar: error %.3g", e);
    pecs_loaded_backend lb;
    if (!load_mutant("selrope_no_offset", &lb))
        cr_skip_test("mutant selrope_no_offset not built");
    e = chunked_error(&lb);
    cr_assert(e > 1e-2, "mutant-selrope_no_offset passes (error %.3g)", e);
    pecs_backend_unload(&lb);
}

/* Bad input is an error with a reason, never a crash: no w, w with the wrong row count, positions that are not one run
 * of consecutive tokens (reference and scalar), a partial rotary_dim. */
Test(t2selrope, bad_input_is_rejected)
{
    char why[256] = "";
    double x[48] = {0}, w[64] = {0}, pos[3] = {4.0, 5.0, 7.0}, out[48];
    pecs_case *c = ref_case("rope.selective", "pairing", "half", NULL);
    cr_assert_eq(sel_run(NULL, c, 3, 2, 8, x, pos, NULL, 0, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "\"w\""), "%s", why);
    cr_assert_eq(sel_run(NULL, c, 3, 2, 8, x, pos, w, 3, out, why, sizeof why), PECS_INVALID); /* T rows, not T + 1 */
    cr_assert(strstr(why, "[4, 8]"), "%s", why);
    cr_assert_eq(sel_run(NULL, c, 3, 2, 8, x, pos, w, 4, out, why, sizeof why), PECS_INVALID); /* 4, 5, 7 */
    cr_assert(strstr(why, "consecutive"), "%s", why);
    cr_assert_neq(sel_run(ref_scalar_backend(), c, 3, 2, 8, x, pos, w, 4, out, why, sizeof why), PECS_OK);
    pos[2] = 6.0;
    cr_assert_eq(sel_run(NULL, c, 3, 2, 8, x, pos, w, 4, out, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case("rope.selective", "rotary_dim", "4", NULL);
    cr_assert_eq(sel_run(NULL, c, 3, 2, 8, x, pos, w, 4, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "rotary_dim"), "%s", why);
    ref_case_free(c);
}
