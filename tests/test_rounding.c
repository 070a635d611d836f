/* tests/test_rounding.c — the rounding check (compare.h, docs/levels.md): where the correctly rounded value
 * of an f16/bf16 output is decidable, a kernel must store it. A correctly rounding output passes, a
 * truncating one fails with about half of the decidable elements one unit toward zero; elements near a
 * rounding boundary (within the margin, or the level's angle allowance) are not judged; and through the
 * runner the truncating mutant fails the exact level while the control passes both levels. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "compare.h"
#include "runner.h"
#include "runutil.h"
#include "testutil.h"

static pecs_tol exact_f16(void)
{
    return (pecs_tol){.abs = 2e-3, .rel = 2e-3, .nmse = 1e-6, .round_abs = 1e-6, .round_rel = 1e-6,
                      .round_frac = 0.02, .round_bias = 0.05};
}

/* n exact values with a spread of fractional positions between f16 neighbours. */
static void exact_values(double *e, int n)
{
    for (int i = 0; i < n; i++)
        e[i] = sin(0.731 * i + 0.2) * (1.0 + 0.01 * i);
}

/* dtype.h's store is RNE; truncation: one step toward zero wherever RNE rounded away from zero. */
static double truncated(double e, pecs_dtype dt)
{
    double r = pecs_round_to(e, dt);
    if (fabs(r) <= fabs(e))
        return r;
    unsigned char b[8] = {0};
    pecs_store_f64(b, dt, 0, r);
    uint16_t h;
    memcpy(&h, b, 2);
    h--;
    memcpy(b, &h, 2);
    return pecs_load_f64(b, dt, 0);
}

Test(rounding, correctly_rounded_output_passes)
{
    static double e[512], a[512];
    exact_values(e, 512);
    for (int i = 0; i < 512; i++)
        a[i] = pecs_round_to(e[i], PECS_DT_F16);
    pecs_tol t = exact_f16();
    pecs_metrics m;
    char why[512] = "";
    memset(&m, 0, sizeof m);
    cr_assert_eq(pecs_compare_rounding(a, e, NULL, NULL, 512, PECS_DT_F16, &t, &m, why, sizeof why), PECS_V_PASSED, "%s",
                 why);
    cr_expect_gt(m.round_judged, 500, "nearly every element is far from a boundary: %lld", (long long)m.round_judged);
    cr_expect_eq(m.round_wrong, 0);
    cr_expect_eq(m.round_bias, 0.0);
}

Test(rounding, truncation_fails_with_half_wrong_toward_zero)
{
    static double e[512], a[512];
    exact_values(e, 512);
    for (pecs_dtype dt = PECS_DT_F16; dt <= PECS_DT_BF16; dt++) {
        for (int i = 0; i < 512; i++)
            a[i] = truncated(e[i], dt);
        pecs_tol t = exact_f16();
        pecs_metrics m;
        char why[512] = "";
        memset(&m, 0, sizeof m);
        cr_assert_eq(pecs_compare_rounding(a, e, NULL, NULL, 512, dt, &t, &m, why, sizeof why), PECS_V_FAILED);
        cr_expect(m.round_wrong_frac > 0.35 && m.round_wrong_frac < 0.65, "%s: %g", pecs_dtype_name(dt),
                  m.round_wrong_frac);
        cr_expect(m.round_bias < -0.35, "truncation errs toward zero: mean %g ulp", m.round_bias);
        cr_expect(strstr(why, "rounding:") && strstr(why, "correctly rounded"), "%s", why);
        /* and the per-element budget alone would not see it: one unit is within 2e-3 + 2e-3 |e| */
        cr_expect_eq(pecs_compare(a, e, 512, dt, &t, 0, &m, why, sizeof why), dt == PECS_DT_F16 ? PECS_V_PASSED
                                                                                              : PECS_V_FAILED);
    }
}

/* 0 limits: reported, not checked (the f32angle level). */
Test(rounding, zero_limits_report_without_judging)
{
    static double e[256], a[256];
    exact_values(e, 256);
    for (int i = 0; i < 256; i++)
        a[i] = truncated(e[i], PECS_DT_F16);
    pecs_tol t = exact_f16();
    t.round_frac = t.round_bias = 0;
    pecs_metrics m;
    char why[512] = "";
    cr_assert_eq(pecs_compare_rounding(a, e, NULL, NULL, 256, PECS_DT_F16, &t, &m, why, sizeof why), PECS_V_PASSED);
    cr_expect_gt(m.round_wrong, 50);
}

/* An element whose exact value sits within the margin of the midpoint is not judged: there a kernel with
 * a float32 error of that size may legitimately round either way. */
Test(rounding, near_boundary_and_angle_allowance_are_not_judged)
{
    double lo = 1.0, hi = 1.0 + 0x1p-10; /* f16 neighbours */
    double e[16], a[16], extra[16];
    for (int i = 0; i < 16; i++) {
        e[i] = 0.5 * (lo + hi) + 1e-7 * (i % 2 ? 1 : -1); /* 1e-7 from the midpoint: inside the 2e-6 margin */
        a[i] = e[i] > 0.5 * (lo + hi) ? lo : hi;          /* the "wrong" side every time */
        extra[i] = 0.0;
    }
    pecs_tol t = exact_f16();
    pecs_metrics m;
    char why[512] = "";
    cr_assert_eq(pecs_compare_rounding(a, e, NULL, NULL, 16, PECS_DT_F16, &t, &m, why, sizeof why), PECS_V_PASSED);
    cr_expect_eq(m.round_judged, 0);
    /* far from the midpoint it is judged and wrong ... */
    for (int i = 0; i < 16; i++)
        e[i] = lo + 0x1p-13, a[i] = hi;
    cr_assert_eq(pecs_compare_rounding(a, e, NULL, NULL, 16, PECS_DT_F16, &t, &m, why, sizeof why), PECS_V_FAILED);
    cr_expect_eq(m.round_judged, 16);
    /* ... unless the level's angle allowance (times the gain) reaches the boundary, or the angle is not judged */
    for (int i = 0; i < 16; i++)
        extra[i] = i % 2 ? 0x1p-11 : INFINITY;
    cr_assert_eq(pecs_compare_rounding(a, e, extra, NULL, 16, PECS_DT_F16, &t, &m, why, sizeof why), PECS_V_PASSED);
    cr_expect_eq(m.round_judged, 0);
    double gain[16];
    for (int i = 0; i < 16; i++)
        extra[i] = 0x1p-14, gain[i] = 0.25; /* 2^-16 after the gain: judged again */
    cr_assert_eq(pecs_compare_rounding(a, e, extra, gain, 16, PECS_DT_F16, &t, &m, why, sizeof why), PECS_V_FAILED);
    cr_expect_eq(m.round_judged, 16);
}

/* f64 outputs are the reference's own precision: never judged. */
Test(rounding, f64_not_judged)
{
    double e[16], a[16];
    for (int i = 0; i < 16; i++)
        e[i] = 0.1 * i, a[i] = e[i] * (1 + 1e-15);
    pecs_tol t = exact_f16();
    pecs_metrics m;
    char why[256];
    cr_assert_eq(pecs_compare_rounding(a, e, NULL, NULL, 16, PECS_DT_F64, &t, &m, why, sizeof why), PECS_V_PASSED);
    cr_expect_eq(m.round_judged, 0);
}

/* Through the runner: the truncating mutant fails exact on an f16 rope case and passes f32angle (where
 * arithmetic in the storage dtype is allowed); the control passes both and its rounding metrics are clean. */
static const char *mutant(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"), name);
    return buf;
}

Test(rounding, truncating_mutant_fails_exact_control_passes, .timeout = 60)
{
    static const char *const spec = "rope dtype=f16 tokens=7 heads=3 head_dim=16 positions=random@4096";
    char path[512], s[512];
    pecs_case_result r;
    snprintf(s, sizeof s, "%s level=exact", spec);
    cr_expect_eq(tu_run_case(mutant(path, sizeof path, "round_truncate"), s, 0, 0, &r), PECS_V_FAILED, "%s", r.reason);
    cr_expect(strstr(r.reason, "rounding:") != NULL, "%s", r.reason);
    cr_expect_gt(r.metrics.round_wrong_frac, 0.2);
    pecs_case_result_free(&r);
    snprintf(s, sizeof s, "%s level=f32angle", spec);
    cr_expect_eq(tu_run_case(path, s, 0, 0, &r), PECS_V_PASSED, "%s", r.reason);
    pecs_case_result_free(&r);
    for (int lv = 0; lv < 2; lv++) {
        snprintf(s, sizeof s, "%s level=%s", spec, lv ? "f32angle" : "exact");
        cr_expect_eq(tu_run_case(mutant(path, sizeof path, "none"), s, 0, 0, &r), PECS_V_PASSED, "%s", r.reason);
        cr_expect_gt(r.metrics.round_judged, 100);
        cr_expect_eq(r.metrics.round_wrong, 0);
        pecs_case_result_free(&r);
    }
    /* and pecs's own scalar backend rounds once, correctly, in bf16 too */
    cr_expect_eq(tu_run_case("scalar", "rope dtype=bf16 tokens=7 heads=3 head_dim=16 positions=contig@65536", 0, 0, &r),
                 PECS_V_PASSED, "%s", r.reason);
    cr_expect_gt(r.metrics.round_judged, 100);
    cr_expect_eq(r.metrics.round_wrong, 0);
    pecs_case_result_free(&r);
}
