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
