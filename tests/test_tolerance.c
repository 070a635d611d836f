/* tests/test_tolerance.c — tolerance profiles: configs/tolerances.yaml, base chains, per-encoding rows,
 * case tol_* overrides, and every rejection with its location. Fixtures: tests/data/tolerances/. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "case.h"
#include "tolerance.h"

TestSuite(tolerance);

/* ---- helpers --------------------------------------------------------------------------------------- */

static const char *src_dir(void)
{
    const char *s = getenv("PECS_SRC");
    return s && *s ? s : ".";
}

static void config_path(char *buf, size_t n) { snprintf(buf, n, "%s/configs/tolerances.yaml", src_dir()); }

static void fixture(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/tests/data/tolerances/%s", src_dir(), name);
}

static void load_ok(pecs_tolerances *t, const char *path)
{
    char why[1024] = "";
    pecs_status st = pecs_tol_load(t, path, why, sizeof why);
    cr_assert_eq(st, PECS_OK, "%s: status %d: %s", path, (int)st, why);
}

/* Resolve the tolerances of the case `spec` (a canonical case string); expect success. */
static pecs_tol resolve_ok(pecs_tolerances *t, const char *spec)
{
    pecs_case c;
    pecs_tol out;
    char why[1024] = "";
    cr_assert_eq(pecs_case_parse(&c, spec, why, sizeof why), PECS_OK, "'%s': %s", spec, why);
    pecs_status st = pecs_tol_resolve(t, &c, &out, why, sizeof why);
    pecs_case_free(&c);
    cr_assert_eq(st, PECS_OK, "'%s': status %d: %s", spec, (int)st, why);
    return out;
}

/* Resolve `spec`; expect PECS_INVALID with exactly `msg`. */
static void resolve_error(pecs_tolerances *t, const char *spec, const char *msg)
{
    pecs_case c;
    pecs_tol out;
    char why[1024] = "";
    cr_assert_eq(pecs_case_parse(&c, spec, why, sizeof why), PECS_OK, "'%s': %s", spec, why);
    pecs_status st = pecs_tol_resolve(t, &c, &out, why, sizeof why);
    pecs_case_free(&c);
    cr_expect_eq(st, PECS_INVALID, "'%s': status %d", spec, (int)st);
    cr_expect_str_eq(why, msg, "'%s'", spec);
}

static void expect_tol(pecs_tol got, double abs, double rel, double nmse, double ulp, double pos_abs, double drift,
                       const char *what)
{
    cr_expect_eq(got.abs, abs, "%s: abs %g, expected %g", what, got.abs, abs);
    cr_expect_eq(got.rel, rel, "%s: rel %g, expected %g", what, got.rel, rel);
    cr_expect_eq(got.nmse, nmse, "%s: nmse %g, expected %g", what, got.nmse, nmse);
    cr_expect_eq(got.ulp, ulp, "%s: ulp %g, expected %g", what, got.ulp, ulp);
    cr_expect_eq(got.pos_abs, pos_abs, "%s: pos_abs %g, expected %g", what, got.pos_abs, pos_abs);
    cr_expect_eq(got.drift, drift, "%s: drift %g, expected %g", what, got.drift, drift);
}

/* Load a bad fixture; expect PECS_INVALID and exactly "<path>:<line>:<col>: <rest>", with t zeroed. */
static void expect_load_error(const char *name, int line, int col, const char *rest)
{
    char path[1024], want[1400], why[1024] = "";
    fixture(path, sizeof path, name);
    pecs_tolerances t;
    pecs_status st = pecs_tol_load(&t, path, why, sizeof why);
    if (st == PECS_OK) {
        cr_expect_fail("%s: loaded, expected an error", name);
        pecs_tol_free(&t);
        return;
    }
    cr_expect_eq(st, PECS_INVALID, "%s: status %d (%s)", name, (int)st, why);
    snprintf(want, sizeof want, "%s:%d:%d: %s", path, line, col, rest);
    cr_expect_str_eq(why, want, "%s", name);
    cr_expect_eq(t.y.loaded, 0, "%s: document left loaded", name);
    cr_expect_null(t.y.path, "%s: path left allocated", name);
}

/* ---- configs/tolerances.yaml ------------------------------------------------------------------------ */

/* Catches the shipped configuration failing its own validation, or a wrong recorded sha256. */
Test(tolerance, config_loads)
{
    char path[1024];
    config_path(path, sizeof path);
    pecs_tolerances t;
    load_ok(&t, path);
    cr_expect(pecs_tol_has_profile(&t, "exact"));
    cr_expect(pecs_tol_has_profile(&t, "f32angle"));
    cr_expect_not(pecs_tol_has_profile(&t, "nope"));
    cr_expect_not(pecs_tol_has_profile(&t, "version"));
    /* sha256 as coreutils' sha256sum computes it (an independent implementation) */
    char cmd[1200], hex[65] = "";
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%64s", hex), 1);
    pclose(f);
    cr_expect_str_eq(t.sha256, hex);
    pecs_tol_free(&t);
}

/* Catches strict values resolving to another dtype's row or losing a metric. */
Test(tolerance, config_strict_values)
{
    char path[1024];
    config_path(path, sizeof path);
    pecs_tolerances t;
    load_ok(&t, path);
    expect_tol(resolve_ok(&t, "rope dtype=f32"), 1.0e-6, 1.0e-6, 1.0e-12, 0, 0, 2.0e-6, "strict f32");
    expect_tol(resolve_ok(&t, "rope dtype=f16"), 2.0e-3, 2.0e-3, 1.0e-6, 0, 0, 4.0e-3, "strict f16");
    expect_tol(resolve_ok(&t, "rope dtype=bf16"), 1.6e-2, 1.6e-2, 1.0e-4, 0, 0, 3.2e-2, "strict bf16");
    expect_tol(resolve_ok(&t, "rope dtype=f64"), 1.0e-12, 1.0e-12, 1.0e-24, 0, 0, 1.0e-12, "strict f64");
    /* the config has no per-encoding rows: every encoding resolves the same */
    expect_tol(resolve_ok(&t, "alibi dtype=f16"), 2.0e-3, 2.0e-3, 1.0e-6, 0, 0, 4.0e-3, "strict f16 alibi");
    expect_tol(resolve_ok(&t, "sinusoidal.concat dtype=bf16"), 1.6e-2, 1.6e-2, 1.0e-4, 0, 0, 3.2e-2, "strict bf16 emb");
    pecs_tol_free(&t);
}

/* Catches f32angle not inheriting exact (base:) or its angle model not applied; exact has none. */
Test(tolerance, config_f32angle_inherits_exact)
{
    char path[1024];
    config_path(path, sizeof path);
    pecs_tolerances t;
    load_ok(&t, path);
    const char *dts[] = {"f32", "f16", "bf16"};
    for (int i = 0; i < 3; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "rope dtype=%s level=f32angle", dts[i]);
        pecs_tol a = resolve_ok(&t, spec);
        snprintf(spec, sizeof spec, "rope dtype=%s", dts[i]);
        pecs_tol e = resolve_ok(&t, spec);
        expect_tol(a, e.abs, e.rel, e.nmse, e.ulp, 0, e.drift, spec);
        cr_expect_eq(a.angle_eps, 0x1p-24, "%s", spec);
        cr_expect(a.angle_c0 == 8 && a.angle_c1 == 3 && a.angle_max == 1e-2, "%s", spec);
        cr_expect(e.angle_eps == 0 && e.angle_c0 == 0 && e.angle_c1 == 0 && e.angle_max == 0, "%s: exact has no angle model",
                  spec);
    }
    /* f32angle has no f64 row: exact's, whole */
    expect_tol(resolve_ok(&t, "rope dtype=f64 level=f32angle"), 1.0e-12, 1.0e-12, 1.0e-24, 0, 0, 1.0e-12, "f32angle f64");
    cr_expect_eq(resolve_ok(&t, "rope dtype=f64 level=f32angle").angle_eps, 0);
    pecs_tol_free(&t);
}

/* Catches an unknown profile resolved silently (e.g. to zeros) or reported without the profile/file. */
Test(tolerance, unknown_profile)
{
    char path[1024], msg[1200];
    config_path(path, sizeof path);
    pecs_tolerances t;
    load_ok(&t, path);
    snprintf(msg, sizeof msg, "key 'level': value 'nope' is not a level of %s (levels: exact, f32angle)", path);
    resolve_error(&t, "rope level=nope", msg);
    pecs_tol_free(&t);
}

/* Catches a missing file crashing or being reported without its path. */
Test(tolerance, missing_file)
{
    char path[1024], want[1200], why[1024] = "";
    fixture(path, sizeof path, "no_such_file.yaml");
    pecs_tolerances t;
    cr_expect_eq(pecs_tol_load(&t, path, why, sizeof why), PECS_IO);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    cr_expect_str_eq(why, want);
}

/* ---- resolution order (tests/data/tolerances/good.yaml) ------------------------------------------------ */

/* Catches per-encoding rows not applied, applied to other encodings (rope vs rope.yarn), or to other
 * dtypes. */
Test(tolerance, per_encoding_rows)
{
    char path[1024];
    fixture(path, sizeof path, "good.yaml");
    pecs_tolerances t;
    load_ok(&t, path);
    expect_tol(resolve_ok(&t, "rope dtype=f32 profile=root"), 1.0e-6, 2.0e-6, 3.0e-12, 1, 0, 4.0e-6, "root rope f32");
    expect_tol(resolve_ok(&t, "alibi dtype=f32 profile=root"), 1.0e-6, 5.0e-5, 3.0e-12, 1, 0, 4.0e-6, "root alibi f32");
    expect_tol(resolve_ok(&t, "alibi dtype=f16 profile=root"), 1.0e-3, 2.0e-3, 3.0e-6, 2, 0, 4.0e-3, "root alibi f16");
    expect_tol(resolve_ok(&t, "rope.yarn dtype=f16 profile=root"), 8.0e-3, 2.0e-3, 3.0e-6, 6, 0, 4.0e-3,
               "root yarn f16");
    expect_tol(resolve_ok(&t, "rope dtype=f16 profile=root"), 1.0e-3, 2.0e-3, 3.0e-6, 2, 0, 4.0e-3, "root rope f16");
    expect_tol(resolve_ok(&t, "rope.yarn dtype=bf16 profile=root"), 1.0e-2, 2.0e-2, 3.0e-4, 3, 0, 4.0e-2,
               "root yarn bf16");
    pecs_tol_free(&t);
}

/* Catches a base chain that stops after one level or lets the base override the child. */
Test(tolerance, base_chain)
{
    char path[1024];
    fixture(path, sizeof path, "good.yaml");
    pecs_tolerances t;
    load_ok(&t, path);
    expect_tol(resolve_ok(&t, "rope dtype=f32 profile=child"), 1.0e-6, 2.0e-6, 3.0e-12, 1, 1.0e-7, 4.0e-6,
               "child rope f32");
    /* base's encoding row, the child's dtype row and the child's encoding row all apply */
    expect_tol(resolve_ok(&t, "alibi dtype=f32 profile=child"), 1.0e-6, 5.0e-5, 3.0e-12, 1, 1.0e-7, 1.0e-3,
               "child alibi f32");
    expect_tol(resolve_ok(&t, "alibi dtype=f32 profile=grandchild"), 3.0e-6, 5.0e-5, 3.0e-12, 1, 1.0e-7, 1.0e-3,
               "grandchild alibi f32");
    expect_tol(resolve_ok(&t, "rope dtype=f64 profile=grandchild"), 1.0e-12, 2.0e-12, 3.0e-24, 0, 0, 4.0e-12,
               "grandchild rope f64");
    pecs_tol_free(&t);
}

/* Catches a `base` cycle recursing forever instead of being reported. */
Test(tolerance, base_cycle)
{
    char path[1024], msg[1200];
    fixture(path, sizeof path, "good.yaml");
    pecs_tolerances t;
    load_ok(&t, path);
    pecs_case c;
    pecs_tol out;
    char why[1024] = "";
    cr_assert_eq(pecs_case_parse(&c, "rope profile=loop-a", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_tol_resolve(&t, &c, &out, why, sizeof why), PECS_INVALID);
    pecs_case_free(&c);
    snprintf(msg, sizeof msg, "%s: level '", path);
    cr_expect_eq(strncmp(why, msg, strlen(msg)), 0, "'%s'", why);
    cr_expect_not_null(strstr(why, "'base' chain too deep (a cycle?)"), "'%s'", why);
    pecs_tol_free(&t);
}

/* Catches case tol_* knobs (suite tolerances arrive this way) not overriding profile, base and
 * encoding rows. */
Test(tolerance, case_knobs_override_everything)
{
    char path[1024];
    fixture(path, sizeof path, "good.yaml");
    pecs_tolerances t;
    load_ok(&t, path);
    expect_tol(resolve_ok(&t, "alibi dtype=f32 profile=grandchild tol_abs=0.5 tol_rel=0.25 tol_drift=0"), 0.5, 0.25,
               3.0e-12, 1, 1.0e-7, 0, "grandchild alibi f32 + knobs");
    expect_tol(resolve_ok(&t, "rope.yarn dtype=f16 profile=root tol_abs=1 tol_ulp=0 tol_nmse=7 tol_pos_abs=2"), 1, 2.0e-3,
               7, 0, 2, 4.0e-3, "root yarn f16 + knobs");
    pecs_tol_free(&t);
    /* and on the shipped config */
    config_path(path, sizeof path);
    load_ok(&t, path);
    expect_tol(resolve_ok(&t, "rope dtype=bf16 level=f32angle tol_pos_abs=0 tol_rel=0.125"), 1.6e-2, 0.125, 1.0e-4, 0, 0,
               3.2e-2, "compat bf16 + knobs");
    pecs_tol_free(&t);
}

/* Catches a metric missing for a dtype resolving to NaN/0 instead of an error naming profile, metric
 * and dtype; a case knob may supply it. */
Test(tolerance, missing_metric)
{
    char path[1024], msg[1200];
    fixture(path, sizeof path, "good.yaml");
    pecs_tolerances t;
    load_ok(&t, path);
    snprintf(msg, sizeof msg, "%s: level 'partial' defines no 'drift' tolerance for f32", path);
    resolve_error(&t, "rope dtype=f32 profile=partial", msg);
    snprintf(msg, sizeof msg, "%s: level 'partial' defines no 'abs' tolerance for f16", path);
    resolve_error(&t, "rope dtype=f16 profile=partial", msg);
    expect_tol(resolve_ok(&t, "rope dtype=f32 profile=partial tol_drift=0.5"), 1.0e-6, 1.0e-6, 1.0e-12, 0, 0, 0.5,
               "partial f32 + tol_drift");
    pecs_tol_free(&t);
}

/* ---- bad files ------------------------------------------------------------------------------------- */

/* Catches an unknown metric name being ignored (with its location and a suggestion). */
Test(tolerance, error_unknown_metric)
{
    expect_load_error("bad_metric.yaml", 5, 26, "unknown key 'abss' (did you mean 'abs'?)");
}

/* Catches negative or NaN tolerances being accepted (in dtype rows and in encoding rows). */
Test(tolerance, error_bad_value)
{
    expect_load_error("bad_negative.yaml", 5, 31, "key 'rel': value '-1' must be a finite number >= 0");
    expect_load_error("bad_nan.yaml", 6, 21, "key 'nmse': value 'nan' must be a finite number >= 0");
}

/* Catches an unknown dtype in a profile's dtypes or in an encoding row being accepted. */
Test(tolerance, error_unknown_dtype)
{
    expect_load_error("bad_dtype.yaml", 6, 7, "unknown key 'f8' (did you mean 'f64'?)");
    expect_load_error("bad_enc_dtype.yaml", 5, 35, "unknown key 'i32' (did you mean 'f32'?)");
}

/* Catches an unknown encoding id in a profile being accepted, and a catalogued id without a reference being
 * called unknown instead of saying what is missing (as a case naming it does). */
Test(tolerance, error_unknown_encoding)
{
    expect_load_error("bad_encoding.yaml", 8, 7, "unknown encoding 'ropee' (did you mean 'rope'?)");
    char path[1024], why[2048] = "";
    fixture(path, sizeof path, "bad_catalogued.yaml");
    pecs_tolerances t;
    cr_assert_eq(pecs_tol_load(&t, path, why, sizeof why), PECS_INVALID, "%s", why);
    cr_expect(strstr(why, ":8:7: 'rope.hyperbolic' is catalogued but undefined: "), "%s", why);
}

/* Catches `base` naming a missing profile being accepted at load time. */
Test(tolerance, error_missing_base)
{
    expect_load_error("bad_base.yaml", 7, 11, "key 'base': no level 'strikt'");
}

/* Catches misspelt structural keys (top level and profile level) being ignored. */
Test(tolerance, error_unknown_structure_keys)
{
    expect_load_error("bad_top.yaml", 2, 1, "unknown key 'levelz' (did you mean 'levels'?)");
    expect_load_error("bad_profile_key.yaml", 4, 5, "unknown key 'dtype' (did you mean 'dtypes'?)");
}
