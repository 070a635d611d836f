/* tests/test_compare.c — the comparator must pass a right output and fail every kind of wrong one. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "compare.h"

static pecs_tol strict_f32(void)
{
    return (pecs_tol){.abs = 1e-6, .rel = 1e-6, .nmse = 1e-12, .ulp = 0, .pos_abs = 0, .drift = 2e-6};
}

static void fill(double *e, double *a, int n)
{
    for (int i = 0; i < n; i++)
        e[i] = a[i] = (float)sin(0.37 * i + 0.1); /* f32-exact values */
}

Test(compare, exact_output_passes)
{
    double e[64], a[64];
    fill(e, a, 64);
    pecs_tol t = strict_f32();
    pecs_metrics m;
    char why[256] = "";
    cr_assert_eq(pecs_compare(a, e, 64, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_PASSED, "%s", why);
    cr_assert_eq(m.mismatches, 0);
    cr_assert_eq(m.max_abs, 0.0);
}

/* A deliberately wrong output (one element off by 1e-3) must fail and name the element. */
Test(compare, one_wrong_element_fails_with_its_index)
{
    double e[64], a[64];
    fill(e, a, 64);
    a[17] += 1e-3;
    pecs_tol t = strict_f32();
    pecs_metrics m;
    char why[256];
    cr_assert_eq(pecs_compare(a, e, 64, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_FAILED);
    cr_assert_eq(m.mismatches, 1);
    cr_assert_eq(m.first_bad, 17);
    cr_assert(strstr(why, "index 17"), "%s", why);
}

/* The expected value is rounded to the output dtype first: an output that is that rounding passes with
 * 0 ULP; an output 0.01 away fails. */
Test(compare, expected_is_rounded_to_output_dtype)
{
    double e[32], a[32];
    pecs_tol t = {.abs = 2e-3, .rel = 2e-3, .nmse = 1e-6};
    for (int i = 0; i < 32; i++) {
        e[i] = 0.3 + 0.01 * i + 1e-7; /* not representable in f16 */
        unsigned char b[2];
        pecs_store_f64(b, PECS_DT_F16, 0, e[i]);
        a[i] = pecs_load_f64(b, PECS_DT_F16, 0);
    }
    pecs_metrics m;
    char why[256] = "";
    cr_assert_eq(pecs_compare(a, e, 32, PECS_DT_F16, &t, 0, &m, why, sizeof why), PECS_V_PASSED, "%s", why);
    cr_assert_eq(m.max_ulp, 0.0);
    a[3] = e[3] + 0.01;
    cr_assert_eq(pecs_compare(a, e, 32, PECS_DT_F16, &t, 0, &m, why, sizeof why), PECS_V_FAILED);
}

Test(compare, nan_in_output_fails)
{
    double e[16], a[16];
    fill(e, a, 16);
    a[5] = NAN;
    pecs_tol t = strict_f32();
    pecs_metrics m;
    char why[256];
    cr_assert_eq(pecs_compare(a, e, 16, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_FAILED);
    cr_assert_eq(m.first_bad, 5);
}

Test(compare, infinities_must_match_in_sign)
{
    double e[16], a[16];
    fill(e, a, 16);
    e[2] = a[2] = -INFINITY;
    pecs_tol t = strict_f32();
    pecs_metrics m;
    char why[256];
    cr_assert_eq(pecs_compare(a, e, 16, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_PASSED, "%s", why);
    a[2] = INFINITY;
    cr_assert_eq(pecs_compare(a, e, 16, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_FAILED);
}

/* Many tiny errors, each inside abs/rel, can still fail the NMSE bound. */
Test(compare, nmse_bound_catches_systematic_small_errors)
{
    double e[256], a[256];
    fill(e, a, 256);
    for (int i = 0; i < 256; i++)
        a[i] = e[i] * (1 + 9e-7);
    pecs_tol t = strict_f32();
    t.nmse = 1e-14;
    pecs_metrics m;
    char why[256];
    cr_assert_eq(pecs_compare(a, e, 256, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_FAILED);
    cr_assert(strstr(why, "NMSE"), "%s", why);
}

/* An output that is mostly exact zeros proves little: MISTRUSTED, not PASSED. */
Test(compare, mostly_zero_output_is_mistrusted)
{
    double e[16] = {0}, a[16] = {0};
    e[0] = a[0] = 1.0;
    pecs_tol t = strict_f32();
    pecs_metrics m;
    char why[256];
    cr_assert_eq(pecs_compare(a, e, 16, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_MISTRUSTED);
}

/* compat's pos_abs widens abs and NMSE with the largest position; strict (pos_abs 0) does not. */
Test(compare, position_term_of_compat_profile)
{
    double e[64], a[64];
    fill(e, a, 64);
    for (int i = 0; i < 64; i++)
        a[i] += 1e-3 * ((i & 1) ? 1 : -1);
    pecs_tol t = strict_f32();
    pecs_metrics m;
    char why[256];
    cr_assert_eq(pecs_compare(a, e, 64, PECS_DT_F32, &t, 65536, &m, why, sizeof why), PECS_V_FAILED);
    t.pos_abs = 2.4e-7;
    cr_assert_eq(pecs_compare(a, e, 64, PECS_DT_F32, &t, 65536, &m, why, sizeof why), PECS_V_PASSED, "%s", why);
    cr_assert_eq(pecs_compare(a, e, 64, PECS_DT_F32, &t, 16, &m, why, sizeof why), PECS_V_FAILED);
}

Test(compare, ulp_distance)
{
    cr_assert_eq(pecs_ulp_distance(1.0, nextafterf(1.0f, 2.0f), PECS_DT_F32), 1.0);
    cr_assert_eq(pecs_ulp_distance(-0.0, 0.0, PECS_DT_F32), 0.0);
    cr_assert_eq(pecs_ulp_distance(1.0, 1.0 + 0x1p-10, PECS_DT_F16), 1.0);
    cr_assert_eq(pecs_ulp_distance(1.0, 1.0 + 0x1p-7, PECS_DT_BF16), 1.0);
    cr_assert_eq(pecs_ulp_distance(-0x1p-24, 0x1p-24, PECS_DT_F16), 2.0); /* across zero */
    cr_assert_eq(pecs_ulp_distance(1.0, nextafter(1.0, 2.0), PECS_DT_F64), 1.0);
}

/* ---- pecs compare (harness/diff.c): regressions of verdicts, coverage and speed ---------------------------- */

#include <jansson.h>

#include "diff.h"
#include "testutil.h"
#include "util.h"

static void diff_tmp(void) { tu_tmp_make("diff"); }

/* A results file: n cases "rope tokens=<i>" on scalar, case i with `status[i]` (NULL: "PASSED") and timed with
 * median m[i], p10 lo[i], p90 hi[i], noisy flag (m NULL: not timed). */
static void diff_file(const char *name, int n, const char *const *status, const double *m, const double *lo,
                      const double *hi, int noisy)
{
    json_t *cases = json_array();
    for (int i = 0; i < n; i++) {
        char cs[64];
        snprintf(cs, sizeof cs, "rope tokens=%d", i + 1);
        json_t *c = json_pack("{s:s,s:s,s:s}", "backend", "scalar", "case", cs, "status",
                              status && status[i] ? status[i] : "PASSED");
        if (m)
            json_object_set_new(c, "perf", json_pack("{s:f,s:f,s:f,s:b}", "median_s", m[i], "p10_s", lo[i], "p90_s",
                                                     hi[i], "noisy", noisy));
        json_array_append_new(cases, c);
    }
    json_t *root = json_pack("{s:s,s:i,s:o}", "schema", "pecs-results", "schema_version", 1, "cases", cases);
    cr_assert_eq(json_dump_file(root, tu_tmp_path(name), 0), 0);
    json_decref(root);
}

/* Compare two files of tu_tmp_dir(): the summary, the printed comparison in *text (caller frees). */
static pecs_diff_summary diff_run(const char *a, const char *b, char **text)
{
    char why[1024] = "", pa[256], pb[256];
    size_t len;
    pecs_diff_summary sum;
    snprintf(pa, sizeof pa, "%s", tu_tmp_path(a));
    snprintf(pb, sizeof pb, "%s", tu_tmp_path(b));
    FILE *out = fopen(tu_tmp_path("diff.txt"), "w");
    cr_assert_not_null(out);
    pecs_diff_opts o = {.threshold = 0.05, .out = out, .warn = out};
    cr_assert_eq(pecs_diff_results(pa, pb, &o, &sum, why, sizeof why), PECS_OK, "%s", why);
    fclose(out);
    cr_assert_eq(pecs_read_file(tu_tmp_path("diff.txt"), text, &len, why, sizeof why), PECS_OK, "%s", why);
    return sum;
}

/* The exit status of `pecs compare A B` (the CI gate). */
static int diff_exit(const char *a, const char *b)
{
    char args[1024], *out;
    snprintf(args, sizeof args, "compare '%s' '%s'", tu_tmp_path(a), tu_tmp_path(b));
    int rc = tu_pecs(args, &out);
    free(out);
    return rc;
}

static const double M1[4] = {1e-3, 1e-3, 1e-3, 1e-3}, LO1[4] = {0.9e-3, 0.9e-3, 0.9e-3, 0.9e-3},
                    HI1[4] = {1.3e-3, 1.3e-3, 1.3e-3, 1.3e-3};

Test(compare, diff_identical_runs_exit_0, .init = diff_tmp, .fini = tu_tmp_remove)
{
    char *text;
    diff_file("a.json", 4, NULL, M1, LO1, HI1, 1);
    diff_file("b.json", 4, NULL, M1, LO1, HI1, 1);
    pecs_diff_summary s = diff_run("a.json", "b.json", &text);
    cr_assert_eq(s.matched, 4);
    cr_assert_eq(s.regressions + s.status_regressions + s.only_a + s.only_b, 0, "%s", text);
    cr_assert(strstr(text, "no regression"), "%s", text);
    free(text);
    cr_assert_eq(diff_exit("a.json", "b.json"), 0);
}

/* A plugin rebuilt to decline a case: PASSED -> SKIPPED is a regression, as are ERROR and a failing verdict. */
Test(compare, diff_passed_to_skipped_is_a_regression, .init = diff_tmp, .fini = tu_tmp_remove)
{
    static const char *const worse[] = {"SKIPPED", "ERROR", "FAILED", "CRASHED"};
    char *text;
    diff_file("a.json", 4, NULL, NULL, NULL, NULL, 0);
    diff_file("b.json", 4, (const char *const[]){NULL, "SKIPPED", NULL, NULL}, NULL, NULL, NULL, 0);
    pecs_diff_summary s = diff_run("a.json", "b.json", &text);
    cr_assert_eq(s.status_regressions, 1, "%s", text);
    cr_assert(strstr(text, "BROKEN") && strstr(text, "rope tokens=2 (PASSED -> SKIPPED)"), "%s", text);
    free(text);
    cr_assert_eq(diff_exit("a.json", "b.json"), 1);
    for (int i = 0; i < 4; i++) {
        diff_file("b.json", 4, (const char *const[]){worse[i], NULL, NULL, NULL}, NULL, NULL, NULL, 0);
        cr_assert_eq(diff_exit("a.json", "b.json"), 1, "PASSED -> %s", worse[i]);
    }
    /* SKIPPED -> PASSED is progress, not a regression */
    cr_assert_eq(diff_exit("b.json", "a.json"), 0);
}

/* The issue's ~70x slowdown on a shared runner: every measurement noisy (p90 > 1.2 x p10 on both sides); the
 * distributions are far apart, so every case is flagged. */
Test(compare, diff_70x_slowdown_flagged_even_when_noisy, .init = diff_tmp, .fini = tu_tmp_remove)
{
    double m[4], lo[4], hi[4];
    char *text;
    for (int i = 0; i < 4; i++) {
        m[i] = 70 * M1[i];
        lo[i] = 70 * LO1[i];
        hi[i] = 70 * HI1[i];
        cr_assert_gt(hi[i], 1.2 * lo[i]);
        cr_assert_gt(HI1[i], 1.2 * LO1[i]);
    }
    diff_file("a.json", 4, NULL, M1, LO1, HI1, 1);
    diff_file("b.json", 4, NULL, m, lo, hi, 1);
    pecs_diff_summary s = diff_run("a.json", "b.json", &text);
    cr_assert_eq(s.regressions, 4, "%s", text);
    cr_assert_eq(s.noisy, 0, "%s", text);
    cr_assert(strstr(text, "SLOWER   0.014"), "%s", text);
    free(text);
    cr_assert_eq(diff_exit("a.json", "b.json"), 1);
    /* overlapping noisy distributions (B's p10 inside A's spread): marked noisy, not flagged */
    double m2[4], lo2[4], hi2[4];
    for (int i = 0; i < 4; i++) {
        m2[i] = 1.2 * M1[i];
        lo2[i] = LO1[i];
        hi2[i] = 1.6 * HI1[i];
    }
    diff_file("b.json", 4, NULL, m2, lo2, hi2, 1);
    s = diff_run("a.json", "b.json", &text);
    cr_assert_eq(s.regressions, 0, "%s", text);
    cr_assert_eq(s.noisy, 4, "%s", text);
    free(text);
    cr_assert_eq(diff_exit("a.json", "b.json"), 0);
    /* the same 20 % on quiet measurements: the median rule flags it */
    diff_file("b.json", 4, NULL, m2, lo2, hi2, 0);
    diff_file("a.json", 4, NULL, M1, LO1, HI1, 0);
    cr_assert_eq(diff_exit("a.json", "b.json"), 1);
}

/* A run missing cases: each listed as MISSING and a regression; a case only in B is listed, not a regression. */
Test(compare, diff_missing_cases_are_regressions, .init = diff_tmp, .fini = tu_tmp_remove)
{
    char *text;
    diff_file("a.json", 4, NULL, NULL, NULL, NULL, 0);
    diff_file("b.json", 2, NULL, NULL, NULL, NULL, 0);
    pecs_diff_summary s = diff_run("a.json", "b.json", &text);
    cr_assert_eq(s.only_a, 2, "%s", text);
    cr_assert(strstr(text, "MISSING") && strstr(text, "rope tokens=3 (PASSED in A, not in B)") &&
                  strstr(text, "rope tokens=4 (PASSED in A, not in B)"),
              "%s", text);
    cr_assert(strstr(text, "2 regression(s)"), "%s", text);
    free(text);
    cr_assert_eq(diff_exit("a.json", "b.json"), 1);
    s = diff_run("b.json", "a.json", &text);
    cr_assert_eq(s.only_b, 2, "%s", text);
    cr_assert(strstr(text, "NEW") && strstr(text, "rope tokens=4 (PASSED in B, not in A)"), "%s", text);
    free(text);
    cr_assert_eq(diff_exit("b.json", "a.json"), 0);
}
