/* tests/test_t2harpe.c — known answers and properties of rope.harpe (reference/rope_harpe.c, the rotate driver's
 * per-head frequencies in reference/forms.c; the scalar schedule in impls/common/schedule.c, kernel impls/scalar/rotate.c).
 *
 * HARPE (Lian et al., COLING 2025, arXiv 2412.07171 sec. 3.2): head h is plain RoPE at its own base b_h,
 * inv_freq[h][i] = b_h^(-2i/R); the bases are Eq. 9's uniform set b_min + h (b_max - b_min)/(H - 1) (ascending, or
 * descending as sec. 5.2 tries), the paper's Table 2 (32 heads), or a given list. Every check runs the reference (f64)
 * and the scalar backend (f32 storage).
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

enum { NMAX = 4 * 32 * 8 };

/* out [T, H, D] of a rotate case on x [T, H, D] at positions pos[T]: by the reference (f64, lb NULL) or by a backend
 * (f32 tensors). */
static pecs_status rot_run(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D,
                           const double *x, const double *pos, double *out, char *why, size_t why_len)
{
    pecs_problem p = ref_problem(c);
    int64_t n = T * H * D;
    cr_assert(n <= NMAX);
    if (!lb) {
        pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, T, H, D, (void *)(uintptr_t)x),
                            ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, (void *)(uintptr_t)pos),
                            ref_tensor("out", PECS_DT_F64, 3, T, H, D, out)};
        p.tensors = t, p.n_tensors = 3;
        return pecs_ref_run(&p, why, why_len);
    }
    float xf[NMAX], of[NMAX];
    for (int64_t i = 0; i < n; i++)
        xf[i] = (float)x[i];
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F32, 3, T, H, D, xf),
                        ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", PECS_DT_F32, 3, T, H, D, of)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 3;
    if (!lb->b->supports(lb->b->ctx, &p, why, why_len))
        return PECS_UNSUPPORTED;
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; st == PECS_OK && i < n; i++)
        out[i] = (double)of[i];
    return st;
}

static void rot_ok(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D, const double *x,
                   const double *pos, double *out)
{
    char why[256] = "";
    cr_assert_eq(rot_run(lb, c, T, H, D, x, pos, out, why, sizeof why), PECS_OK, "%s: %s", lb ? "backend" : "reference", why);
}

static void fill(double *v, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(float)((double)(seed >> 11) * 0x1p-52 - 1.0);
    }
}

/* A mutant's kernel (build/mutants) loaded in process, or 0 when it is not built. */
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

/* H = 3 heads, D = R = 4 (pairs 0 and 1, interleaved), uniform bases from 4 to 64: Eq. 9 gives b = 4, 34, 64, so pair 1
 * turns at b_h^(-2/4) = 1/2, 1/sqrt(34), 1/8 and pair 0 at 1 in every head. One token at position 2, every head
 * x = (1, 0, 1, 0): out = (cos 2, sin 2, cos a_h, sin a_h), a_h = 2 b_h^(-1/2) = 1, 2/sqrt(34), 1/4. order=descending
 * gives the heads 1/4, 2/sqrt(34), 1. Catches the heads reversed (head 0 at 1/4), one base for every head (a = 1 in
 * all three), the spacing over H instead of H - 1 (bases 4, 24, 44), and a base read per pair instead of per head. */
static double hand_worked_error(const pecs_loaded_backend *lb)
{
    double x[12], out[12], pos = 2.0, err = 0.0;
    static const char *const orders[] = {"ascending", "descending"};
    double a[3] = {1.0, 2.0 / sqrt(34.0), 0.25};
    for (int h = 0; h < 3; h++)
        x[4 * h] = 1.0, x[4 * h + 1] = 0.0, x[4 * h + 2] = 1.0, x[4 * h + 3] = 0.0;
    for (int o = 0; o < 2; o++) {
        pecs_case *c = ref_case("rope.harpe", "pairing", "interleaved", "min_base", "4", "max_base", "64", "order", orders[o],
                                NULL);
        rot_ok(lb, c, 1, 3, 4, x, &pos, out);
        for (int h = 0; h < 3; h++) {
            double ah = a[o ? 2 - h : h], want[4] = {cos(2.0), sin(2.0), cos(ah), sin(ah)};
            for (int d = 0; d < 4; d++)
                err = fmax(err, fabs(out[4 * h + d] - want[d]));
        }
        ref_case_free(c);
    }
    return err;
}

Test(t2harpe, hand_worked_three_heads)
{
    double e = hand_worked_error(NULL);
    cr_assert(e <= 1e-15, "reference: error %.3g", e);
    e = hand_worked_error(ref_scalar_backend());
    cr_assert(e <= 1e-6, "scalar: error %.3g", e);
}

/* The known answer can fail: the mutants' correct kernel passes it, each rope.harpe mutant misses it by far more than
 * f32 rounding (the smallest gap: spacing over H, head 1 at 2/sqrt(24) instead of 2/sqrt(34), 0.07 rad). */
Test(t2harpe, hand_worked_catches_the_mutants)
{
    static const char *const names[] = {"none", "harpe_heads_reversed", "harpe_one_base", "harpe_spacing_over_n"};
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

/* Table 2 as the schedule holds it: head h's pair 1 frequency b_h^(-2/R) gives back b_h, the paper's values (in
 * millions, head 1..32, typed here from the table). */
Test(t2harpe, table2_bases)
{
    static const double want[32] = {1.00, 1.15, 1.30, 1.45, 2.17, 2.20, 2.23, 2.47, 2.50, 2.65, 2.68,
                                    2.71, 2.74, 2.80, 2.83, 2.92, 3.01, 3.04, 3.10, 3.13, 3.16, 3.22,
                                    3.43, 3.46, 3.61, 3.88, 4.09, 4.15, 4.39, 4.45, 4.51, 4.54};
    char why[256] = "";
    pecs_case *c = ref_case("rope.harpe", "base_set", "table2", NULL);
    pecs_problem p = ref_problem(c);
    pecs_ref_rot s;
    cr_assert_eq(pecs_ref_rot_alloc(&s, 8), PECS_OK);
    s.heads = 32;
    cr_assert_eq(pecs_ref_schedule(&p, &s, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_not_null(s.head_freq);
    for (int h = 0; h < 32; h++) {
        double b = pow(s.head_freq[h * 4 + 1], -4.0);
        cr_assert(fabs(b - want[h] * 1e6) <= 1e-6 * b, "head %d: base %.10g, Table 2 %.2fm", h + 1, b, want[h]);
        cr_assert_eq(s.head_freq[h * 4], 1.0);
    }
    pecs_ref_rot_free(&s);
    ref_case_free(c);
}

/* ---- properties ------------------------------------------------------------------------------------------- */

/* Head h of a HARPE call is rope at base b_h on that head: on random x over 32 heads (Table 2), 4 heads of a given list
 * and 3 heads of Eq. 9 (descending), at positions 0 .. 131071, both pairings, partial rotary, each head of the HARPE
 * output equals that head of rope's output at base b_h; by the reference and by the scalar backend. And with every base
 * equal the whole call is rope at that base. Catches any kernel that gives a head another head's base or one base to
 * all (the heads' frequencies differ: rope at b_0 misses head 1 by far). */
Test(t2harpe, each_head_is_rope_at_its_base)
{
    static const double t2[32] = {1.00, 1.15, 1.30, 1.45, 2.17, 2.20, 2.23, 2.47, 2.50, 2.65, 2.68,
                                  2.71, 2.74, 2.80, 2.83, 2.92, 3.01, 3.04, 3.10, 3.13, 3.16, 3.22,
                                  3.43, 3.46, 3.61, 3.88, 4.09, 4.15, 4.39, 4.45, 4.51, 4.54};
    struct {
        int64_t H;
        const char *set, *bases, *order, *pairing, *rdim;
        double b[32];
    } cfg[] = {
        {32, "table2", NULL, "ascending", "half", "0", {0}},
        {4, "list", "500000,10,10000,77", "ascending", "interleaved", "4", {500000, 10, 10000, 77}},
        {3, "uniform", NULL, "descending", "interleaved", "0", {1000, 505, 10}},
    };
    for (int h = 0; h < 32; h++)
        cfg[0].b[h] = t2[h] * 1e6;
    int64_t T = 4, D = 8;
    double pos[4] = {0.0, 3.0, 4096.0, 131071.0};
    double x[NMAX], out[NMAX], ref[NMAX];
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        int64_t H = cfg[k].H;
        fill(x, T * H * D, 40 + k);
        pecs_case *c = cfg[k].bases ? ref_case("rope.harpe", "base_set", cfg[k].set, "bases", cfg[k].bases, "pairing",
                                               cfg[k].pairing, "rotary_dim", cfg[k].rdim, NULL)
                                    : ref_case("rope.harpe", "base_set", cfg[k].set, "order", cfg[k].order, "min_base", "10",
                                               "max_base", "1000", "pairing", cfg[k].pairing, "rotary_dim", cfg[k].rdim, NULL);
        for (int b = 0; b < 2; b++) {
            const pecs_loaded_backend *lb = b ? ref_scalar_backend() : NULL;
            double tol = b ? 2e-6 : 1e-15;
            rot_ok(lb, c, T, H, D, x, pos, out);
            int differs = 0;
            for (int64_t h = 0; h < H; h++) {
                char base[64];
                snprintf(base, sizeof base, "%.17g", cfg[k].b[h]);
                pecs_case *r = ref_case("rope", "base", base, "pairing", cfg[k].pairing, "rotary_dim", cfg[k].rdim, NULL);
                rot_ok(lb, r, T, H, D, x, pos, ref);
                for (int64_t t = 0; t < T; t++)
                    for (int64_t d = 0; d < D; d++) {
                        int64_t i = (t * H + h) * D + d;
                        cr_assert(fabs(out[i] - ref[i]) <= tol, "%s case %zu head %lld t %lld lane %lld: %.17g, rope(%s) %.17g",
                                  b ? "scalar" : "reference", k, (long long)h, (long long)t, (long long)d, out[i], base, ref[i]);
                        /* another head's lanes under this head's base: a one-base kernel would match everywhere */
                        int64_t o = (t * H + (h + 1) % H) * D + d;
                        differs |= cfg[k].b[(h + 1) % H] != cfg[k].b[h] && fabs(out[o] - ref[o]) > 1e-3;
                    }
                ref_case_free(r);
            }
            cr_assert(differs, "case %zu: every head looks like one base", k);
        }
        ref_case_free(c);
    }
    /* all bases equal: rope at that base, whole call */
    int64_t H = 3;
    fill(x, T * H * D, 77);
    pecs_case *c = ref_case("rope.harpe", "min_base", "500000", "max_base", "500000", "pairing", "half", NULL);
    pecs_case *r = ref_case("rope", "base", "500000", "pairing", "half", NULL);
    for (int b = 0; b < 2; b++) {
        const pecs_loaded_backend *lb = b ? ref_scalar_backend() : NULL;
        rot_ok(lb, c, T, H, D, x, pos, out);
        rot_ok(lb, r, T, H, D, x, pos, ref);
        for (int64_t i = 0; i < T * H * D; i++)
            cr_assert(fabs(out[i] - ref[i]) <= (b ? 1e-6 : 1e-15), "%s equal bases, element %lld: %.17g, rope %.17g",
                      b ? "scalar" : "reference", (long long)i, out[i], ref[i]);
    }
    ref_case_free(c);
    ref_case_free(r);
}

/* The same property fails on the mutants' wrong kernels: head 1 of the 3-head descending set is not rope at its base. */
Test(t2harpe, each_head_property_catches_the_mutants)
{
    static const char *const names[] = {"harpe_heads_reversed", "harpe_one_base", "harpe_spacing_over_n"};
    int64_t T = 4, H = 3, D = 8;
    double pos[4] = {0.0, 3.0, 4096.0, 131071.0}, x[96], out[96], ref[96];
    fill(x, T * H * D, 5);
    pecs_case *c = ref_case("rope.harpe", "min_base", "10", "max_base", "1000", "order", "descending", NULL);
    pecs_case *r = ref_case("rope", "base", "1000", NULL); /* head 0's base (descending) */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pecs_loaded_backend lb;
        if (!load_mutant(names[i], &lb))
            cr_skip_test("mutant %s not built", names[i]);
        rot_ok(&lb, c, T, H, D, x, pos, out);
        rot_ok(NULL, r, T, H, D, x, pos, ref);
        double e = 0.0; /* heads 0 and 2 (head 1 is the middle base, which reversal keeps) */
        for (int64_t t = 0; t < T; t++)
            for (int64_t d = 0; d < D; d++)
                e = fmax(e, fabs(out[t * H * D + d] - ref[t * H * D + d]));
        pecs_case *r2 = ref_case("rope", "base", "10", NULL);
        double ref2[96], e2 = 0.0;
        rot_ok(NULL, r2, T, H, D, x, pos, ref2);
        for (int64_t t = 0; t < T; t++)
            for (int64_t d = 0; d < D; d++)
                e2 = fmax(e2, fabs(out[(t * H + 2) * D + d] - ref2[(t * H + 2) * D + d]));
        cr_assert(fmax(e, e2) > 1e-2, "mutant-%s: heads 0 and 2 look right (errors %.3g, %.3g)", names[i], e, e2);
        ref_case_free(r2);
        pecs_backend_unload(&lb);
    }
    ref_case_free(c);
    ref_case_free(r);
}

/* Bad input is an error with a reason, never a crash: uniform on one head (Eq. 9 divides by H - 1), min_base above
 * max_base, table2 on another head count, a list of the wrong length, bases without base_set=list, descending on a
 * list; the scalar backend refuses the same problems. */
Test(t2harpe, bad_input_is_rejected)
{
    struct {
        int64_t H;
        const char *k1, *v1, *k2, *v2, *msg;
    } bad[] = {
        {1, "order", "ascending", NULL, NULL, "at least 2 heads"},
        {2, "min_base", "1000", "max_base", "10", "min_base > max_base"},
        {4, "base_set", "table2", NULL, NULL, "32-head"},
        {2, "base_set", "list", "bases", "10,20,30", "one value per head (2), got 3"},
        {2, "bases", "10,20", NULL, NULL, "only with base_set=list"},
    };
    double x[32] = {0}, out[32], pos = 0.0;
    char why[256];
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        pecs_case *c = bad[k].k2 ? ref_case("rope.harpe", bad[k].k1, bad[k].v1, bad[k].k2, bad[k].v2, NULL)
                                 : ref_case("rope.harpe", bad[k].k1, bad[k].v1, NULL);
        why[0] = 0;
        cr_assert_eq(rot_run(NULL, c, 1, bad[k].H, 4, x, &pos, out, why, sizeof why), PECS_INVALID, "case %zu", k);
        cr_assert(strstr(why, bad[k].msg), "case %zu: %s", k, why);
        pecs_status st = rot_run(ref_scalar_backend(), c, 1, bad[k].H, 4, x, &pos, out, why, sizeof why);
        cr_assert(st == PECS_INVALID || st == PECS_UNSUPPORTED, "scalar case %zu: status %d", k, (int)st);
        ref_case_free(c);
    }
    pecs_case *c = ref_case("rope.harpe", "base_set", "list", "bases", "10,20", "order", "descending", NULL);
    cr_assert_eq(rot_run(NULL, c, 1, 2, 4, x, &pos, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "descending"), "%s", why);
    ref_case_free(c);
}
