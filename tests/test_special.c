/* tests/test_special.c — issue 19's knobs and the bugs they expose: values=special (NaN payloads, +-Inf, +-0,
 * subnormals, extremes seeded into x) with the NaN-aware comparison, out_view (out strides apart from
 * x's) and threads=N (problem->n_threads per case, over --threads). Each knob is shown to matter: the
 * mutant of its bug class passes without it and fails with it, and the control passes both. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "compare.h"
#include "gen.h"
#include "instance.h"
#include "runner.h"
#include "runutil.h"
#include "testutil.h"

/* ---- the generator ------------------------------------------------------------------------------------ */

static double kind_value(int k, pecs_dtype dt)
{
    unsigned char b[8] = {0};
    cr_assert(pecs_gen_special_kind(k, dt, b));
    return pecs_load_f64(b, dt, 0);
}

Test(special, kinds_are_what_they_say_in_every_dtype)
{
    static const double max_finite[] = {1.7976931348623157e308, 3.4028234663852886e38, 65504.0, 0x1.fep127};
    static const double min_normal[] = {0x1p-1022, 0x1p-126, 0x1p-14, 0x1p-126};
    for (pecs_dtype dt = PECS_DT_F64; dt <= PECS_DT_BF16; dt++) {
        cr_expect(kind_value(0, dt) == 0.0 && !signbit(kind_value(0, dt)));
        cr_expect(kind_value(1, dt) == 0.0 && signbit(kind_value(1, dt)));
        cr_expect(kind_value(2, dt) == INFINITY && kind_value(3, dt) == -INFINITY);
        cr_expect(isnan(kind_value(4, dt)) && isnan(kind_value(5, dt)) && isnan(kind_value(6, dt)));
        for (int k = 7; k <= 9; k++)
            cr_expect(kind_value(k, dt) != 0.0 && fabs(kind_value(k, dt)) < min_normal[dt], "%s kind %d: %g",
                      pecs_dtype_name(dt), k, kind_value(k, dt));
        cr_expect_eq(kind_value(10, dt), max_finite[dt]);
        cr_expect_eq(kind_value(11, dt), -max_finite[dt]);
        cr_expect_eq(kind_value(12, dt), min_normal[dt]);
    }
    /* the signalling NaN has its quiet bit clear and a payload: f16 0x7c05, bf16 0x7f81 */
    unsigned char b[8];
    uint16_t h;
    pecs_gen_special_kind(5, PECS_DT_F16, b);
    memcpy(&h, b, 2);
    cr_expect_eq(h, 0x7c05);
    pecs_gen_special_kind(5, PECS_DT_BF16, b);
    memcpy(&h, b, 2);
    cr_expect_eq(h, 0x7f81);
    cr_expect_not(pecs_gen_special_kind(PECS_GEN_N_SPECIAL, PECS_DT_F32, b));
    cr_expect_not(pecs_gen_special_kind(0, PECS_DT_I32, b));
}

Test(special, one_per_row_every_kind_deterministic)
{
    int kinds[PECS_GEN_N_SPECIAL] = {0}, n = 0, per_row = 0;
    for (uint64_t i = 0; i < 8192 * 16; i++) {
        unsigned char b[4], c[4];
        int s = pecs_gen_special(7, PECS_STREAM_X, i, 16, PECS_DT_F32, b);
        cr_assert_eq(s, pecs_gen_special(7, PECS_STREAM_X, i, 16, PECS_DT_F32, c));
        per_row += s;
        if (i % 16 == 15) {
            cr_assert_eq(per_row, 1, "row %llu has %d special elements", (unsigned long long)(i / 16), per_row);
            per_row = 0;
        }
        if (!s)
            continue;
        cr_assert_eq(memcmp(b, c, 4), 0);
        n++;
        for (int k = 0; k < PECS_GEN_N_SPECIAL; k++) {
            unsigned char kb[4];
            pecs_gen_special_kind(k, PECS_DT_F32, kb);
            kinds[k] += !memcmp(kb, b, 4);
        }
    }
    cr_expect_eq(n, 8192);
    for (int k = 0; k < PECS_GEN_N_SPECIAL; k++)
        cr_expect_gt(kinds[k], 400, "kind %d seen %d times", k, kinds[k]);
}

/* ---- the NaN-aware comparison ------------------------------------------------------------------------ */

Test(special, nan_where_the_reference_is_nan_is_right)
{
    double e[16], a[16];
    for (int i = 0; i < 16; i++)
        e[i] = a[i] = (float)(0.1 * i - 0.7);
    e[3] = a[3] = NAN;
    e[5] = a[5] = -INFINITY;
    pecs_tol t = {.abs = 1e-6, .rel = 1e-6, .nmse = 1e-12};
    pecs_metrics m;
    char why[512] = "";
    cr_expect_eq(pecs_compare(a, e, 16, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_PASSED, "%s", why);
    cr_expect(isfinite(m.nmse) && m.max_abs == 0.0, "non-finite elements take no part in the error metrics");
    a[3] = INFINITY; /* NaN turned into Inf */
    cr_expect_eq(pecs_compare(a, e, 16, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_FAILED);
    cr_expect_eq(m.first_bad, 3);
    a[3] = NAN;
    a[7] = NAN; /* NaN where a number is due */
    cr_expect_eq(pecs_compare(a, e, 16, PECS_DT_F32, &t, 0, &m, why, sizeof why), PECS_V_FAILED);
    cr_expect_eq(m.first_bad, 7);
}

/* ---- the knobs ------------------------------------------------------------------------------------------- */

static void parse_ok(const char *spec, const char *want_in_format)
{
    pecs_case c;
    char why[512] = "";
    cr_assert_eq(pecs_case_parse(&c, spec, why, sizeof why), PECS_OK, "%s: %s", spec, why);
    char *f = pecs_case_format(&c);
    cr_expect(strstr(f, want_in_format) != NULL, "%s -> %s", spec, f);
    pecs_case c2;
    cr_assert_eq(pecs_case_parse(&c2, f, why, sizeof why), PECS_OK, "%s", why);
    char *f2 = pecs_case_format(&c2);
    cr_expect_str_eq(f, f2);
    free(f), free(f2);
    pecs_case_free(&c), pecs_case_free(&c2);
}

static void parse_bad(const char *spec, const char *want_in_why)
{
    pecs_case c;
    char why[512] = "";
    cr_assert_eq(pecs_case_parse(&c, spec, why, sizeof why), PECS_INVALID, "%s", spec);
    cr_expect(strstr(why, want_in_why) != NULL, "%s: %s", spec, why);
}

Test(special, knobs_parse_format_and_validate)
{
    parse_ok("rope values=special", " values=special ");
    parse_ok("sinusoidal values=special out_view=strided", " out_view=strided ");
    parse_ok("rope out_view=transposed threads=3", " threads=3 ");
    parse_ok("rope layout=htd view=strided out_view=contiguous", " out_view=contiguous ");
    /* defaults are not printed: every existing case string stays the same */
    pecs_case c;
    char why[256];
    cr_assert_eq(pecs_case_parse(&c, "rope values=uniform out_view=same threads=0", why, sizeof why), PECS_OK);
    char *f = pecs_case_format(&c);
    cr_expect(!strstr(f, "values=") && !strstr(f, "out_view=") && !strstr(f, "threads="), "%s", f);
    free(f);
    pecs_case_free(&c);
    parse_bad("rope values=odd", "key 'values': value 'odd' is not one of uniform, special");
    parse_bad("rope threads=1025", "key 'threads': value '1025' must be an integer in [0, 1024]");
    parse_bad("rope threads=-1", "key 'threads'");
    parse_bad("rope out_view=diagonal", "key 'out_view'");
    parse_bad("alibi values=special", "seeds x, which bias-form 'alibi' does not have");
    parse_bad("mask.causal out_view=strided", "applies to rotate and embed forms");
    parse_bad("rope view=inplace out_view=strided", "contradicts view=inplace");
    parse_bad("sinusoidal out_view=transposed", "rotate-form encodings only");
    parse_bad("rope values=special check=invariance", "applies to equivalence checks");
}

/* out_view gives out strides of its own; `same` keeps x's. */
Test(special, out_view_strides)
{
    static const struct {
        const char *spec;
        int64_t x[3], out[3];
    } rows[] = {
        {"rope tokens=5 heads=3 head_dim=8", {24, 8, 1}, {24, 8, 1}},
        {"rope tokens=5 heads=3 head_dim=8 out_view=strided", {24, 8, 1}, {39, 13, 1}},
        {"rope tokens=5 heads=3 head_dim=8 out_view=transposed", {24, 8, 1}, {8, 40, 1}},
        {"rope tokens=5 heads=3 head_dim=8 layout=htd out_view=transposed", {8, 40, 1}, {24, 8, 1}},
        {"rope tokens=5 heads=3 head_dim=8 view=strided out_view=contiguous", {33, 11, 1}, {24, 8, 1}},
        {"sinusoidal tokens=5 head_dim=8 out_view=strided", {8, 1, 0}, {13, 1, 0}},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        pecs_case c;
        pecs_instance in;
        char why[512] = "";
        cr_assert_eq(pecs_case_parse(&c, rows[k].spec, why, sizeof why), PECS_OK, "%s", why);
        cr_assert_eq(pecs_instance_create(&in, &c, 0, PECS_STREAM_X, why, sizeof why), PECS_OK, "%s", why);
        for (int d = 0; d < in.x.t.ndim; d++) {
            cr_expect_eq(in.x.t.stride[d], rows[k].x[d], "%s: x stride %d", rows[k].spec, d);
            cr_expect_eq(in.out.t.stride[d], rows[k].out[d], "%s: out stride %d", rows[k].spec, d);
        }
        pecs_instance_free(&in);
        pecs_case_free(&c);
    }
}

/* The reference's twin holds the very bits the backend's x holds (NaN payloads aside, which widen to NaN). */
Test(special, twin_sees_the_special_values)
{
    pecs_case c;
    pecs_instance in;
    char why[512] = "";
    cr_assert_eq(pecs_case_parse(&c, "nope dtype=f16 tokens=64 head_dim=16 values=special", why, sizeof why), PECS_OK,
                 "%s", why);
    cr_assert_eq(pecs_instance_create(&in, &c, 0, PECS_STREAM_X, why, sizeof why), PECS_OK, "%s", why);
    double *expected = malloc((size_t)in.n_out * sizeof *expected);
    cr_assert_eq(pecs_instance_reference(&in, expected, why, sizeof why), PECS_OK, "%s", why);
    int nan = 0, inf = 0, sub = 0;
    for (int64_t i = 0; i < in.n_out; i++) {
        double x = pecs_load_f64(in.x.t.data, PECS_DT_F16, i); /* contiguous [T][D] */
        cr_expect(isnan(x) ? isnan(expected[i]) : x == expected[i], "element %lld: x %g, reference %g", (long long)i, x,
                  expected[i]);
        nan += isnan(x) != 0, inf += isinf(x) != 0, sub += x != 0.0 && fabs(x) < 0x1p-14;
    }
    cr_expect(nan > 0 && inf > 0 && sub > 0, "nan %d inf %d subnormal %d", nan, inf, sub);
    free(expected);
    pecs_instance_free(&in);
    pecs_case_free(&c);
}

/* ---- each knob catches its bug ---------------------------------------------------------------------------- */

static pecs_verdict run_one(const char *backend, const char *spec, int threads, char *reason, size_t n)
{
    pecs_case_result r;
    pecs_verdict v = tu_run_case(backend, spec, threads, 0, &r);
    snprintf(reason, n, "%s", r.reason);
    pecs_case_result_free(&r);
    return v;
}

static const char *mutant(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"), name);
    return buf;
}

typedef struct knob_row {
    const char *mutant, *without, *with;
} knob_row;

Test(special, each_knob_catches_its_mutant, .timeout = 120)
{
    static const knob_row rows[] = {
        {"nan_to_inf", "rope dtype=bf16 tokens=7 heads=5 head_dim=14 positions=const@0",
         "rope dtype=bf16 tokens=7 heads=5 head_dim=14 positions=const@0 values=special"},
        {"nan_to_inf", "rope dtype=f16 tokens=7 heads=5 head_dim=14 positions=random@4096",
         "rope dtype=f16 tokens=7 heads=5 head_dim=14 positions=random@4096 values=special"},
        {"subnormal_flush", "rope dtype=f16 tokens=7 heads=5 head_dim=14 positions=const@0 tol_abs=0 tol_rel=0",
         "rope dtype=f16 tokens=7 heads=5 head_dim=14 positions=const@0 values=special tol_abs=0 tol_rel=0"},
        {"subnormal_flush", "rope dtype=f32 tokens=5 heads=3 head_dim=8 positions=const@0 tol_abs=0 tol_rel=0",
         "rope dtype=f32 tokens=5 heads=3 head_dim=8 positions=const@0 values=special tol_abs=0 tol_rel=0"},
        {"out_input_strides", "rope tokens=5 heads=3 head_dim=8 view=strided",
         "rope tokens=5 heads=3 head_dim=8 view=strided out_view=contiguous"},
        {"out_input_strides", "rope tokens=5 heads=3 head_dim=8", "rope tokens=5 heads=3 head_dim=8 out_view=transposed"},
        {"out_input_strides", "sinusoidal tokens=6 head_dim=15", "sinusoidal tokens=6 head_dim=15 out_view=strided"},
        {"omp_chunk_tail", "rope tokens=7 heads=3 head_dim=8", "rope tokens=7 heads=3 head_dim=8 threads=3"},
        {"omp_chunk_tail", "rope tokens=11 heads=3 head_dim=8 threads=1", "rope tokens=11 heads=3 head_dim=8 threads=2"},
    };
    char path[512], none[512], why[768];
    mutant(none, sizeof none, "none");
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        mutant(path, sizeof path, rows[k].mutant);
        cr_expect_eq(run_one(path, rows[k].without, 0, why, sizeof why), PECS_V_PASSED, "%s without the knob: %s: %s",
                     rows[k].mutant, rows[k].without, why);
        cr_expect_eq(run_one(path, rows[k].with, 0, why, sizeof why), PECS_V_FAILED, "%s with the knob: %s: %s",
                     rows[k].mutant, rows[k].with, why);
        cr_expect_eq(run_one(none, rows[k].with, 0, why, sizeof why), PECS_V_PASSED, "control: %s: %s", rows[k].with, why);
        for (int b = 0; b < 3; b++) {
            static const char *const builtin[] = {"scalar", "simd", "openmp"};
            cr_expect_eq(run_one(builtin[b], rows[k].with, 0, why, sizeof why), PECS_V_PASSED, "%s: %s: %s", builtin[b],
                         rows[k].with, why);
        }
    }
}

/* The case's threads= wins over the run's --threads: 9 tokens split in 3 lose none, in 2 lose one. */
Test(special, case_threads_win_over_the_run, .timeout = 60)
{
    char path[512], why[768];
    mutant(path, sizeof path, "omp_chunk_tail");
    cr_expect_eq(run_one(path, "rope tokens=9 heads=3 head_dim=8", 2, why, sizeof why), PECS_V_FAILED, "%s", why);
    cr_expect_eq(run_one(path, "rope tokens=9 heads=3 head_dim=8 threads=3", 2, why, sizeof why), PECS_V_PASSED, "%s",
                 why);
    cr_expect_eq(run_one(path, "rope tokens=9 heads=3 head_dim=8 threads=2", 3, why, sizeof why), PECS_V_FAILED, "%s",
                 why);
}
