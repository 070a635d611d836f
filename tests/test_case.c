/* tests/test_case.c — knobs (pecs_case_set) with their exact error wording, encoding parameters, the
 * canonical case string (format -> parse -> format is a fixed point), cross-knob validation and
 * pecs_case_copy. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "registry.h"
#include "suite.h"

TestSuite(case);

/* ---- helpers --------------------------------------------------------------------------------------- */

static const pecs_encoding_info *enc(const char *id)
{
    const pecs_encoding_info *e = pecs_registry_find(id);
    cr_assert_not_null(e, "no encoding '%s'", id);
    return e;
}

static void init(pecs_case *c, const char *id)
{
    cr_assert_eq(pecs_case_init(c, enc(id)), PECS_OK, "pecs_case_init('%s')", id);
}

static int param_index(const pecs_case *c, const char *name)
{
    for (int i = 0; i < c->n_params; i++)
        if (strcmp(c->params[i].name, name) == 0)
            return i;
    cr_assert_fail("'%s' has no parameter '%s'", c->enc->id, name);
    return -1;
}

/* Set key=value on a fresh case of `id`; expect PECS_INVALID and exactly `msg`. */
static void expect_set_error(const char *id, const char *key, const char *value, const char *msg)
{
    pecs_case c;
    char why[512] = "";
    init(&c, id);
    cr_expect_eq(pecs_case_set(&c, key, value, why, sizeof why), PECS_INVALID, "%s %s='%s' was accepted", id, key,
                 value);
    cr_expect_str_eq(why, msg, "%s %s='%s'", id, key, value);
    pecs_case_free(&c);
}

/* Set key=value on a fresh case of `id`; expect OK and `fragment` (" key=value") in the canonical string. */
static void expect_set_ok(const char *id, const char *key, const char *value, const char *fragment)
{
    pecs_case c;
    char why[512] = "";
    init(&c, id);
    cr_expect_eq(pecs_case_set(&c, key, value, why, sizeof why), PECS_OK, "%s %s='%s': %s", id, key, value, why);
    if (fragment) {
        char *s = pecs_case_format(&c);
        cr_assert_not_null(s);
        cr_expect_not_null(strstr(s, fragment), "%s %s='%s': '%s' not in '%s'", id, key, value, fragment, s);
        free(s);
    }
    pecs_case_free(&c);
}

/* Parse `spec` (which includes validation); expect `status` and, when given, `msg` as a substring. */
static void expect_parse(const char *spec, pecs_status status, const char *msg)
{
    pecs_case c;
    char why[512] = "";
    pecs_status st = pecs_case_parse(&c, spec, why, sizeof why);
    cr_expect_eq(st, status, "'%s': status %d (%s), expected %d", spec, (int)st, why, (int)status);
    if (msg)
        cr_expect_not_null(strstr(why, msg), "'%s': message '%s' lacks '%s'", spec, why, msg);
    if (st == PECS_OK)
        pecs_case_free(&c);
}

static char *format_spec(const char *spec)
{
    pecs_case c;
    char why[512] = "";
    cr_assert_eq(pecs_case_parse(&c, spec, why, sizeof why), PECS_OK, "'%s': %s", spec, why);
    char *s = pecs_case_format(&c);
    cr_assert_not_null(s);
    pecs_case_free(&c);
    return s;
}

/* ---- defaults -------------------------------------------------------------------------------------- */

/* Catches a changed generic default (the documented defaults of `pecs describe` and the suites). */
Test(case, generic_defaults)
{
    pecs_case c;
    init(&c, "rope");
    cr_expect_eq(c.dtype, PECS_DT_F32);
    cr_expect_eq(c.tokens, 8);
    cr_expect_eq(c.heads, 2);
    cr_expect_eq(c.head_dim, 16);
    cr_expect_eq(c.keys, 0);
    cr_expect_eq(c.layout, PECS_LAYOUT_THD);
    cr_expect_eq(c.view, PECS_VIEW_CONTIGUOUS);
    cr_expect_eq(c.pos_kind, PECS_POS_CONTIG);
    cr_expect_eq(c.pos_arg, 0);
    cr_expect_eq(c.pos_dtype, PECS_DT_I32);
    cr_expect_eq(c.seed, 1);
    cr_expect_eq(c.check, PECS_CHECK_EQUIVALENCE);
    static const int64_t shifts[] = {0, 1, 16, 256, 4096, 65536, 1048576};
    cr_assert_eq(c.n_shifts, 7);
    for (int i = 0; i < 7; i++)
        cr_expect_eq(c.shifts[i], shifts[i]);
    cr_expect_str_eq(c.level, "exact");
    cr_expect(isnan(c.tol_override.abs) && isnan(c.tol_override.rel) && isnan(c.tol_override.nmse) &&
              isnan(c.tol_override.ulp) && isnan(c.tol_override.pos_abs) && isnan(c.tol_override.drift));
    cr_expect_str_eq(c.params[param_index(&c, "pairing")].s, "interleaved");
    cr_expect_eq(c.params[param_index(&c, "base")].r, 10000.0);
    cr_expect_eq(c.params[param_index(&c, "freq_factors")].n, 0);
    cr_expect_null(c.params[param_index(&c, "freq_factors")].list);
    pecs_case_free(&c);
}

/* Catches the knob documentation table drifting from the knobs (names unique, defaults given). */
Test(case, knob_docs)
{
    int n = 0;
    const pecs_knob_doc *d = pecs_case_knobs(&n);
    cr_assert_eq(n, 18 + 14, "18 generic knobs + one tol_* per metric");
    for (int i = 0; i < n; i++) {
        cr_expect(pecs_case_is_known_key(d[i].name), "'%s'", d[i].name);
        cr_expect_gt(strlen(d[i].doc), 0, "'%s'", d[i].name);
        for (int j = i + 1; j < n; j++)
            cr_expect_str_neq(d[i].name, d[j].name);
    }
    cr_expect_str_eq(d[0].name, "dtype");
    cr_expect_str_eq(d[n - 1].name, "tol_round_bias");
}

/* Catches is_known_key accepting typos or the suite-only words (encoding, shape, use). */
Test(case, known_keys)
{
    cr_expect(pecs_case_is_known_key("tokens"));
    cr_expect(pecs_case_is_known_key("tol_pos_abs"));
    cr_expect(pecs_case_is_known_key("pairing"));
    cr_expect(pecs_case_is_known_key("max_bias"));
    cr_expect_not(pecs_case_is_known_key("tokns"));
    cr_expect_not(pecs_case_is_known_key("encoding"));
    cr_expect_not(pecs_case_is_known_key("shape"));
    cr_expect_not(pecs_case_is_known_key("use"));
    cr_expect_not(pecs_case_is_known_key("tol_"));
    cr_expect_not(pecs_case_is_known_key(""));
}

/* ---- generic knobs: good values -------------------------------------------------------------------- */

/* Catches a setter rejecting a documented value or a boundary of its range, or a formatter printing
 * something else than what was set. */
Test(case, generic_knobs_good_values)
{
    static const struct {
        const char *enc, *key, *value, *fragment;
    } rows[] = {
        {"rope", "dtype", "f64", " dtype=f64 "},
        {"rope", "dtype", "f16", " dtype=f16 "},
        {"rope", "dtype", "bf16", " dtype=bf16 "},
        {"rope", "tokens", "1", " tokens=1 "},
        {"rope", "tokens", "16777216", " tokens=16777216 "},
        {"rope", "heads", "65536", " heads=65536 "},
        {"rope", "head_dim", "1", " head_dim=1 "},
        {"alibi", "keys", "0", " keys=8 "}, /* 0 = tokens */
        {"alibi", "keys", "16777216", " keys=16777216 "},
        {"rope", "layout", "htd", " layout=htd "},
        {"rope", "view", "strided", " view=strided "},
        {"rope", "view", "inplace", " view=inplace "},
        {"rope", "positions", "contig", " positions=contig@0 "},
        {"rope", "positions", "contig@1125899906842624", " positions=contig@1125899906842624 "},
        {"rope", "positions", "random", " positions=random@1048576 "},
        {"rope", "positions", "random@1", " positions=random@1 "},
        {"rope", "positions", "decode@0", " positions=decode@0 "},
        {"rope", "pos_dtype", "i64", " pos_dtype=i64 "},
        {"rope", "pos_dtype", "f64", " pos_dtype=f64 "},
        {"rope", "seed", "0", " seed=0 "},
        {"rope", "seed", "9223372036854775807", " seed=9223372036854775807 "},
        {"rope", "check", "invariance", " check=invariance shifts=0,1,16,256,4096,65536,1048576 "},
        {"rope", "level", "f32angle", " level=f32angle"},
        {"rope", "profile", "f32angle", " level=f32angle"}, /* the knob's old name is still read */
        {"rope", "level", "my-level_2", " level=my-level_2"},
        {"rope", "level", "abcdefghijklmno", " level=abcdefghijklmno"}, /* 15 chars fit */
        {"rope", "tol_abs", "0", " tol_abs=0"},
        {"rope", "tol_rel", "1e-3", " tol_rel=0.001"},
        {"rope", "tol_nmse", "2.5e-07", " tol_nmse=2.5e-07"},
        {"rope", "tol_ulp", "4", " tol_ulp=4"},
        {"rope", "tol_pos_abs", "2.4e-7", " tol_pos_abs=2.4e-07"},
        {"rope", "tol_drift", "0.5", " tol_drift=0.5"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_set_ok(rows[i].enc, rows[i].key, rows[i].value, rows[i].fragment);
}

/* Catches shifts not printed/stored as given (1 and 16 values are the limits). */
Test(case, shifts_good_values)
{
    pecs_case c;
    char why[256] = "";
    init(&c, "rope");
    cr_assert_eq(pecs_case_set(&c, "shifts", "0", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.n_shifts, 1);
    cr_assert_eq(pecs_case_set(&c, "shifts", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,1099511627776", why, sizeof why),
                 PECS_OK, "%s", why);
    cr_expect_eq(c.n_shifts, 16);
    cr_expect_eq(c.shifts[15], INT64_C(1) << 40);
    pecs_case_free(&c);
}

/* Catches an empty tol_* value not resetting the override (it must mean "not overridden"). */
Test(case, tol_empty_resets_override)
{
    pecs_case c;
    char why[256] = "";
    init(&c, "rope");
    cr_assert_eq(pecs_case_set(&c, "tol_abs", "0.5", why, sizeof why), PECS_OK);
    cr_expect_eq(c.tol_override.abs, 0.5);
    cr_assert_eq(pecs_case_set(&c, "tol_abs", "", why, sizeof why), PECS_OK);
    cr_expect(isnan(c.tol_override.abs));
    char *s = pecs_case_format(&c);
    cr_expect_null(strstr(s, "tol_"), "'%s'", s);
    free(s);
    pecs_case_free(&c);
}

/* ---- generic knobs: bad values and exact messages ------------------------------------------------- */

/* Catches an accepted bad value or a changed error wording for every generic knob. */
Test(case, generic_knobs_bad_values)
{
    static const struct {
        const char *key, *value, *msg;
    } rows[] = {
        {"dtype", "f8", "key 'dtype': value 'f8' is not one of f64, f32, f16, bf16"},
        {"dtype", "i32", "key 'dtype': value 'i32' is not one of f64, f32, f16, bf16"},
        {"dtype", "F32", "key 'dtype': value 'F32' is not one of f64, f32, f16, bf16"},
        {"tokens", "-4", "key 'tokens': value '-4' must be an integer in [1, 16777216]"},
        {"tokens", "0", "key 'tokens': value '0' must be an integer in [1, 16777216]"},
        {"tokens", "16777217", "key 'tokens': value '16777217' must be an integer in [1, 16777216]"},
        {"tokens", "1.5", "key 'tokens': value '1.5' must be an integer in [1, 16777216]"},
        {"tokens", "8x", "key 'tokens': value '8x' must be an integer in [1, 16777216]"},
        {"tokens", "", "key 'tokens': value '' must be an integer in [1, 16777216]"},
        {"tokens", "99999999999999999999", "key 'tokens': value '99999999999999999999' must be an integer in [1, 16777216]"},
        {"heads", "65537", "key 'heads': value '65537' must be an integer in [1, 65536]"},
        {"heads", "0", "key 'heads': value '0' must be an integer in [1, 65536]"},
        {"head_dim", "0", "key 'head_dim': value '0' must be an integer in [1, 65536]"},
        {"keys", "-1", "key 'keys': value '-1' must be an integer in [0, 16777216]"},
        {"layout", "tdh", "key 'layout': value 'tdh' is not one of thd, htd"},
        {"view", "packed", "key 'view': value 'packed' is not one of contiguous, strided, inplace"},
        {"positions", "linear", "key 'positions': value 'linear' is not contig[@offset], random[@bound], decode@position, const@position or grid@width"},
        {"positions", "contiguous", "key 'positions': value 'contiguous' is not contig[@offset], random[@bound], decode@position, const@position or grid@width"},
        {"positions", "decode", "key 'positions': value 'decode' needs its argument: decode@N, const@N or grid@W"},
        {"positions", "contig@-1", "key 'positions': value 'contig@-1' has a position that is not an integer in [0, 2^50]"},
        {"positions", "contig@", "key 'positions': value 'contig@' has a position that is not an integer in [0, 2^50]"},
        {"positions", "contig@1125899906842625",
         "key 'positions': value 'contig@1125899906842625' has a position that is not an integer in [0, 2^50]"},
        {"positions", "random@0", "key 'positions': value 'random@0' has a bound that is not an integer in [1, 2^50]"},
        {"pos_dtype", "f32", "key 'pos_dtype': value 'f32' is not one of i32, i64, f64"},
        {"seed", "-1", "key 'seed': value '-1' must be an integer in [0, 9223372036854775807]"},
        {"seed", "9223372036854775808", "key 'seed': value '9223372036854775808' must be an integer in [0, 9223372036854775807]"},
        {"check", "equal", "key 'check': value 'equal' is not one of equivalence, invariance"},
        {"shifts", "1,2", "key 'shifts': value '1,2' must start with 0 (the unshifted logits every offset is compared with)"},
        {"shifts", "", "key 'shifts': value '' must start with 0 (the unshifted logits every offset is compared with)"},
        {"shifts", "0,5,5", "key 'shifts': value '0,5,5' must be strictly increasing"},
        {"shifts", "0,9,3", "key 'shifts': value '0,9,3' must be strictly increasing"},
        {"shifts", "0,,1", "key 'shifts': value '0,,1' must be 1 to 16 comma-separated integers in [0, 2^40]"},
        {"shifts", "0,-1", "key 'shifts': value '0,-1' must be 1 to 16 comma-separated integers in [0, 2^40]"},
        {"shifts", "0,1099511627777", "key 'shifts': value '0,1099511627777' must be 1 to 16 comma-separated integers in [0, 2^40]"},
        {"shifts", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
         "key 'shifts': value '0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16' must be 1 to 16 comma-separated integers in [0, 2^40]"},
        {"level", "Exact", "key 'level': value 'Exact' is not a level name (lower-case letters, digits, '_' and '-')"},
        {"level", "", "key 'level': value '' is not a level name (lower-case letters, digits, '_' and '-')"},
        {"profile", "a b", "key 'level': value 'a b' is not a level name (lower-case letters, digits, '_' and '-')"},
        {"level", "abcdefghijklmnop", "key 'level': value 'abcdefghijklmnop' is not a level name (lower-case letters, digits, '_' and '-')"},
        {"level", "compat", "key 'level': value 'compat' was replaced by the level 'f32angle' (compat was vacuous at large positions)"},
        {"tol_abs", "-1", "key 'tol_abs': value '-1' must be a finite number >= 0"},
        {"tol_rel", "nan", "key 'tol_rel': value 'nan' must be a finite number >= 0"},
        {"tol_nmse", "inf", "key 'tol_nmse': value 'inf' must be a finite number >= 0"},
        {"tol_ulp", "x", "key 'tol_ulp': value 'x' must be a finite number >= 0"},
        {"tol_drift", "1e999", "key 'tol_drift': value '1e999' must be a finite number >= 0"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_set_error("rope", rows[i].key, rows[i].value, rows[i].msg);
}

/* Catches the suite-only words or misspelt keys being accepted as knobs. */
Test(case, unknown_keys)
{
    expect_set_error("rope", "tokns", "2", "unknown key 'tokns'");
    expect_set_error("rope", "encoding", "alibi", "unknown key 'encoding'");
    expect_set_error("rope", "shape", "tiny", "unknown key 'shape'");
    expect_set_error("rope", "", "1", "unknown key ''");
}

/* ---- encoding parameters --------------------------------------------------------------------------- */

/* Catches INT/REAL/CHOICE/REAL_LIST parameters rejecting valid values or storing them wrongly. */
Test(case, params_good_values)
{
    pecs_case c;
    char why[256] = "";
    init(&c, "rope.yarn");
    cr_assert_eq(pecs_case_set(&c, "rotary_dim", "32", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.params[param_index(&c, "rotary_dim")].i, 32);
    cr_assert_eq(pecs_case_set(&c, "original_max_position", "1099511627776", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.params[param_index(&c, "original_max_position")].i, INT64_C(1) << 40);
    cr_assert_eq(pecs_case_set(&c, "factor", "16", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.params[param_index(&c, "factor")].r, 16.0);
    cr_assert_eq(pecs_case_set(&c, "base", "1.0000001", why, sizeof why), PECS_OK, "%s", why); /* lo inclusive */
    cr_assert_eq(pecs_case_set(&c, "base", "1e12", why, sizeof why), PECS_OK, "%s", why);      /* hi inclusive */
    cr_assert_eq(pecs_case_set(&c, "attn_factor", "0", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_case_set(&c, "pairing", "half", why, sizeof why), PECS_OK, "%s", why);
    int ip = param_index(&c, "pairing");
    cr_expect_str_eq(c.params[ip].s, "half");
    cr_expect_eq(c.params[ip].s, c.choice_buf[ip], "CHOICE value must live in the case's own buffer");
    int iff = param_index(&c, "freq_factors");
    cr_assert_eq(pecs_case_set(&c, "freq_factors", "1,1.5,2", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(c.params[iff].n, 3);
    cr_expect_eq(c.params[iff].list[0], 1.0);
    cr_expect_eq(c.params[iff].list[1], 1.5);
    cr_expect_eq(c.params[iff].list[2], 2.0);
    /* replacing a list frees the old one (ASan) and an empty value clears it */
    cr_assert_eq(pecs_case_set(&c, "freq_factors", "4", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.params[iff].n, 1);
    cr_assert_eq(pecs_case_set(&c, "freq_factors", "", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.params[iff].n, 0);
    cr_expect_null(c.params[iff].list);
    pecs_case_free(&c);

    init(&c, "sinusoidal.concat");
    cr_assert_eq(pecs_case_set(&c, "padding_idx", "-1", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_case_set(&c, "padding_idx", "1", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.params[param_index(&c, "padding_idx")].i, 1);
    pecs_case_free(&c);
}

/* Catches out-of-range, non-numeric, NaN and infinite parameter values being accepted, and a changed
 * error wording. */
Test(case, params_bad_values)
{
    static const struct {
        const char *enc, *key, *value, *msg;
    } rows[] = {
        {"rope", "rotary_dim", "-2", "key 'rotary_dim': value '-2' must be an integer in [0, 1048576]"},
        {"rope", "rotary_dim", "1048577", "key 'rotary_dim': value '1048577' must be an integer in [0, 1048576]"},
        {"rope", "rotary_dim", "8.0", "key 'rotary_dim': value '8.0' must be an integer in [0, 1048576]"},
        {"rope.yarn", "original_max_position", "1099511627777",
         "key 'original_max_position': value '1099511627777' must be an integer in [1, 1099511627776]"},
        {"rope.yarn", "original_max_position", "0",
         "key 'original_max_position': value '0' must be an integer in [1, 1099511627776]"},
        {"sinusoidal.concat", "padding_idx", "-2", "key 'padding_idx': value '-2' must be an integer in [-1, 1099511627776]"},
        {"rope", "base", "1", "key 'base': value '1' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "1e13", "key 'base': value '1e13' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "nan", "key 'base': value 'nan' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "NAN", "key 'base': value 'NAN' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "inf", "key 'base': value 'inf' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "-inf", "key 'base': value '-inf' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "1e400", "key 'base': value '1e400' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "ten", "key 'base': value 'ten' must be a number in [1.0000001, 1e+12]"},
        {"rope", "base", "", "key 'base': value '' must be a number in [1.0000001, 1e+12]"},
        {"rope", "attn_factor", "-0.5", "key 'attn_factor': value '-0.5' must be a number in [0, 1e+06]"},
        {"rope.linear", "factor", "0.5", "key 'factor': value '0.5' must be a number in [1, 1e+06]"},
        {"alibi", "max_bias", "0", "key 'max_bias': value '0' must be a number in [1e-06, 1e+06]"},
        {"alibi", "max_bias", "inf", "key 'max_bias': value 'inf' must be a number in [1e-06, 1e+06]"},
        {"rope", "pairing", "neox", "key 'pairing': value 'neox' is not one of interleaved|half"},
        {"rope", "pairing", "", "key 'pairing': value '' is not one of interleaved|half"},
        {"rope", "pairing", "halff", "key 'pairing': value 'halff' is not one of interleaved|half"},
        {"rope", "freq_factors", "1,2,x", "key 'freq_factors': value '1,2,x' must be a list of numbers in [1e-09, 1e+09]"},
        {"rope", "freq_factors", "1,nan", "key 'freq_factors': value '1,nan' must be a list of numbers in [1e-09, 1e+09]"},
        {"rope", "freq_factors", "inf", "key 'freq_factors': value 'inf' must be a list of numbers in [1e-09, 1e+09]"},
        {"rope", "freq_factors", "1,,2", "key 'freq_factors': value '1,,2' must be a list of numbers in [1e-09, 1e+09]"},
        {"rope", "freq_factors", "1,2,", "key 'freq_factors': value '1,2,' must be a list of numbers in [1e-09, 1e+09]"},
        {"rope", "freq_factors", "0", "key 'freq_factors': value '0' must be a list of numbers in [1e-09, 1e+09]"},
        {"rope", "freq_factors", "1,2e9", "key 'freq_factors': value '1,2e9' must be a list of numbers in [1e-09, 1e+09]"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_set_error(rows[i].enc, rows[i].key, rows[i].value, rows[i].msg);
}

/* Catches a parameter of another encoding being silently accepted (or reported as plain unknown). */
Test(case, param_of_other_encoding)
{
    expect_set_error("alibi", "pairing", "half", "key 'pairing' is not a parameter of encoding 'alibi' (see: pecs describe alibi)");
    expect_set_error("rope", "max_bias", "8", "key 'max_bias' is not a parameter of encoding 'rope' (see: pecs describe rope)");
    expect_set_error("rope", "factor", "2", "key 'factor' is not a parameter of encoding 'rope' (see: pecs describe rope)");
    expect_set_error("sinusoidal", "padding_idx", "1",
                     "key 'padding_idx' is not a parameter of encoding 'sinusoidal' (see: pecs describe sinusoidal)");
    expect_set_error("rope", "pairng", "half", "unknown key 'pairng'");
}

/* Catches a freq_factors item longer than the parser's item buffer overflowing it. */
Test(case, param_list_long_item_rejected)
{
    char v[128];
    memset(v, '1', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    pecs_case c;
    char why[512] = "";
    init(&c, "rope");
    cr_expect_eq(pecs_case_set(&c, "freq_factors", v, why, sizeof why), PECS_INVALID);
    cr_expect_not_null(strstr(why, "has an item longer than 63 characters"), "%s", why);
    cr_expect_eq(c.params[param_index(&c, "freq_factors")].n, 0);
    pecs_case_free(&c);
}

/* ---- canonical string ------------------------------------------------------------------------------ */

/* Catches a change of the canonical string (it is the identity of a case in results and compare). */
Test(case, format_defaults_exact)
{
    static const struct {
        const char *id, *str;
    } rows[] = {
        {"rope", "rope dtype=f32 tokens=8 heads=2 head_dim=16 layout=thd view=contiguous positions=contig@0 "
                 "pos_dtype=i32 seed=1 check=equivalence level=exact"},
        {"alibi", "alibi dtype=f32 tokens=8 heads=2 keys=8 view=contiguous positions=contig@0 pos_dtype=i32 seed=1 "
                  "check=equivalence level=exact"},
        {"sinusoidal", "sinusoidal dtype=f32 tokens=8 head_dim=16 view=contiguous positions=contig@0 pos_dtype=i32 "
                       "seed=1 check=equivalence level=exact"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pecs_case c;
        init(&c, rows[i].id);
        char *s = pecs_case_format(&c);
        cr_expect_str_eq(s, rows[i].str);
        free(s);
        pecs_case_free(&c);
    }
}

/* Catches default-valued parameters being printed, or non-default ones omitted or out of schema order. */
Test(case, format_non_default_params_only)
{
    char *s = format_spec("rope base=10000 pairing=interleaved attn_factor=1 rotary_dim=0 freq_factors=");
    cr_expect_str_eq(s, "rope dtype=f32 tokens=8 heads=2 head_dim=16 layout=thd view=contiguous positions=contig@0 "
                        "pos_dtype=i32 seed=1 check=equivalence level=exact");
    free(s);
    /* given in reverse order: printed in schema order (pairing, rotary_dim, base, freq_factors, attn_factor) */
    s = format_spec("rope attn_factor=0.5 freq_factors=1,2,3,4 base=500000 rotary_dim=8 pairing=half");
    cr_expect_str_eq(s, "rope pairing=half rotary_dim=8 base=500000 freq_factors=1,2,3,4 attn_factor=0.5 dtype=f32 "
                        "tokens=8 heads=2 head_dim=16 layout=thd view=contiguous positions=contig@0 pos_dtype=i32 "
                        "seed=1 check=equivalence level=exact");
    free(s);
    s = format_spec("rope.yarn factor=16 original_max_position=4096 mscale=0.707");
    cr_expect_str_eq(s, "rope.yarn factor=16 mscale=0.707 dtype=f32 tokens=8 heads=2 head_dim=16 layout=thd "
                        "view=contiguous positions=contig@0 pos_dtype=i32 seed=1 check=equivalence level=exact");
    free(s);
}

/* Catches a decode case printing its configured token count (decode always runs one token). */
Test(case, format_decode_forces_one_token)
{
    char *s = format_spec("rope tokens=64 positions=decode@100");
    cr_expect_not_null(strstr(s, " tokens=1 "), "'%s'", s);
    cr_expect_not_null(strstr(s, " positions=decode@100 "), "'%s'", s);
    cr_expect_null(strstr(s, "tokens=64"), "'%s'", s);
    free(s);
    /* bias: keys keep the configured count, so the case is still reproducible */
    s = format_spec("alibi tokens=6 positions=decode@100");
    cr_expect_not_null(strstr(s, " tokens=1 heads=2 keys=6 "), "'%s'", s);
    free(s);
}

/* Catches knobs printed for forms that do not use them, or invariance/tolerance knobs missing. */
Test(case, format_knobs_per_form)
{
    char *s = format_spec("sinusoidal heads=7 check=invariance tol_abs=0.5 tol_ulp=2");
    cr_expect_str_eq(s, "sinusoidal dtype=f32 tokens=8 head_dim=16 view=contiguous positions=contig@0 pos_dtype=i32 "
                        "seed=1 check=invariance shifts=0,1,16,256,4096,65536,1048576 level=exact tol_abs=0.5 "
                        "tol_ulp=2");
    free(s);
    s = format_spec("alibi head_dim=7 keys=3 tol_drift=0.25");
    cr_expect_str_eq(s, "alibi dtype=f32 tokens=8 heads=2 keys=3 view=contiguous positions=contig@0 pos_dtype=i32 "
                        "seed=1 check=equivalence level=exact tol_drift=0.25");
    free(s);
}

/* Catches format -> parse -> format not being a fixed point for hand-picked awkward values. */
Test(case, format_parse_fixed_point_handpicked)
{
    static const char *const specs[] = {
        "rope base=123456.789 attn_factor=0.1 freq_factors=0.1,0.2,0.30000000000000004,1e-09 head_dim=8",
        "rope.ntk factor=1.0000000000000002 positions=random@4096 pos_dtype=f64 seed=9223372036854775807",
        "alibi max_bias=0.3 keys=5 positions=decode@4 tokens=9",
        "sinusoidal.concat padding_idx=1 head_dim=15 view=inplace dtype=bf16",
        "rope check=invariance shifts=0,3,1099511627776 pos_dtype=i64 tol_nmse=1e-300 tol_pos_abs=2.4e-07",
        "rope.linear factor=8 layout=htd view=strided level=f32angle tol_rel=0.000123",
    };
    char why[512] = "";
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        char *a = format_spec(specs[i]);
        pecs_case c;
        cr_assert_eq(pecs_case_parse(&c, a, why, sizeof why), PECS_OK, "'%s': %s", a, why);
        char *b = pecs_case_format(&c);
        cr_expect_str_eq(b, a);
        pecs_case_free(&c);
        free(a);
        free(b);
    }
}

/* Catches any case of the smoke suite whose canonical string does not reproduce itself. */
Test(case, format_parse_fixed_point_smoke_suite, .timeout = 30)
{
    const char *src = getenv("PECS_SRC") ? getenv("PECS_SRC") : ".";
    char path[1024], why[1024] = "";
    snprintf(path, sizeof path, "%s/suites/smoke.yaml", src);
    pecs_suite s;
    cr_assert_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_gt(s.n_cases, 100);
    for (int i = 0; i < s.n_cases; i++) {
        pecs_case c;
        cr_assert_eq(pecs_case_parse(&c, s.cases[i], why, sizeof why), PECS_OK, "'%s': %s", s.cases[i], why);
        char *again = pecs_case_format(&c);
        cr_expect_str_eq(again, s.cases[i]);
        /* and once more from the re-formatted string */
        pecs_case d;
        cr_assert_eq(pecs_case_parse(&d, again, why, sizeof why), PECS_OK, "'%s': %s", again, why);
        char *third = pecs_case_format(&d);
        cr_expect_str_eq(third, again);
        free(third);
        pecs_case_free(&d);
        free(again);
        pecs_case_free(&c);
    }
    pecs_suite_free(&s);
}

/* Catches the parser accepting malformed strings or changing its messages. */
Test(case, parse_errors)
{
    expect_parse("", PECS_INVALID, "empty case string");
    expect_parse("   \t ", PECS_INVALID, "empty case string");
    expect_parse("ropee tokens=4", PECS_INVALID, "unknown encoding 'ropee' (did you mean 'rope'?)");
    expect_parse("xyz", PECS_INVALID, "unknown encoding 'xyz'");
    expect_parse("rope tokens", PECS_INVALID, "'tokens' is not key=value");
    expect_parse("rope tokens=0", PECS_INVALID, "key 'tokens': value '0' must be an integer in [1, 16777216]");
    expect_parse("alibi pairing=half", PECS_INVALID, "key 'pairing' is not a parameter of encoding 'alibi'");
    expect_parse("rope bogus=1", PECS_INVALID, "unknown key 'bogus'");
    expect_parse("  rope\ttokens=4   heads=3\n", PECS_OK, NULL); /* any run of blanks separates words */
    pecs_case c;
    char why[256] = "";
    cr_expect_neq(pecs_case_parse(&c, "xyz", why, sizeof why), PECS_OK);
    cr_expect_str_eq(why, "unknown encoding 'xyz'");
}

/* ---- validation ------------------------------------------------------------------------------------ */

/* Catches a case whose positions a table cannot hold being accepted and failing later as a run-time ERROR
 * (exit 1) instead of bad input (exit 2): a learned row past npos, a relative distance past huang's
 * max_distance, in every position pattern that reaches them (contiguous tokens or keys, random, decode,
 * the invariance shifts); the largest span that fits is still accepted. */
Test(case, validate_positions_within_the_tables)
{
    expect_parse("learned npos=64 tokens=65", PECS_INVALID, "learned: position 64 is outside the table [0, 64)");
    expect_parse("learned npos=64 tokens=64", PECS_OK, NULL);
    expect_parse("learned npos=64 tokens=4 positions=contig@61", PECS_INVALID,
                 "learned: position 64 is outside the table [0, 64)");
    expect_parse("learned npos=64 tokens=4 positions=random@65", PECS_INVALID,
                 "learned: position 64 is outside the table [0, 64)");
    expect_parse("learned npos=64 tokens=4 positions=random@64", PECS_OK, NULL);
    expect_parse("learned npos=64 positions=decode@64", PECS_INVALID, "learned: position 64 is outside the table [0, 64)");
    expect_parse("learned npos=64 positions=const@-1", PECS_INVALID, "learned: position -1 is outside the table [0, 64)");
    expect_parse("huang max_distance=8 tokens=10", PECS_INVALID,
                 "huang: distance kpos - qpos = -9 is not an integer within the range of its table (max_distance 8)");
    expect_parse("huang max_distance=8 tokens=9", PECS_OK, NULL);
    expect_parse("huang max_distance=8 tokens=1 keys=10 positions=decode@20", PECS_INVALID,
                 "huang: distance kpos - qpos = -9 is not an integer within the range of its table (max_distance 8)");
    expect_parse("huang max_distance=8 tokens=4 check=invariance shifts=0,100", PECS_OK, NULL);
}

/* Catches rotary_dim odd, larger than head_dim, or an odd head_dim standing for it, passing validation. */
Test(case, validate_rotary_dim)
{
    expect_parse("rope rotary_dim=3", PECS_INVALID, "rotary_dim 3 must be even, >= 2 and <= head_dim 16");
    expect_parse("rope rotary_dim=32", PECS_INVALID, "rotary_dim 32 must be even, >= 2 and <= head_dim 16");
    expect_parse("rope rotary_dim=10 head_dim=8", PECS_INVALID, "rotary_dim 10 must be even, >= 2 and <= head_dim 8");
    expect_parse("rope head_dim=15", PECS_INVALID, "rotary_dim 15 must be even, >= 2 and <= head_dim 15");
    expect_parse("rope.yarn head_dim=1", PECS_INVALID, "rotary_dim 1 must be even, >= 2 and <= head_dim 1");
    expect_parse("rope rotary_dim=8 head_dim=15", PECS_OK, NULL); /* partial rotary of an odd head */
    expect_parse("rope rotary_dim=16", PECS_OK, NULL);
    expect_parse("rope rotary_dim=2", PECS_OK, NULL);
}

/* Catches freq_factors of the wrong length (must be rotary_dim/2) passing validation. */
Test(case, validate_freq_factors_length)
{
    expect_parse("rope head_dim=8 freq_factors=1,2,3", PECS_INVALID, "freq_factors has 3 values, rotary_dim 8 needs 4");
    expect_parse("rope head_dim=8 freq_factors=1,2,3,4,5", PECS_INVALID, "freq_factors has 5 values, rotary_dim 8 needs 4");
    expect_parse("rope head_dim=16 rotary_dim=4 freq_factors=1,2,3,4", PECS_INVALID,
                 "freq_factors has 4 values, rotary_dim 4 needs 2");
    expect_parse("rope head_dim=8 freq_factors=1,2,3,4", PECS_OK, NULL);
    expect_parse("rope.linear head_dim=16 rotary_dim=4 freq_factors=1,2", PECS_OK, NULL);
}

/* Catches layout=htd or view=inplace being accepted for forms where they mean nothing. */
Test(case, validate_layout_and_view_per_form)
{
    expect_parse("alibi layout=htd", PECS_INVALID,
                 "key 'layout': value 'htd' applies to rotate-form encodings only ('alibi' is bias)");
    expect_parse("sinusoidal layout=htd", PECS_INVALID,
                 "key 'layout': value 'htd' applies to rotate-form encodings only ('sinusoidal' is embed)");
    expect_parse("alibi view=inplace", PECS_INVALID,
                 "key 'view': value 'inplace' does not apply to bias-form 'alibi' (no input of the output's shape to overwrite)");
    expect_parse("alibi view=strided", PECS_OK, NULL);
    expect_parse("sinusoidal view=inplace", PECS_OK, NULL);
    expect_parse("rope layout=htd view=inplace", PECS_OK, NULL);
}

/* Catches positions that overflow an i32 position tensor (largest position, keys, shifts) being
 * accepted. */
Test(case, validate_i32_positions)
{
    expect_parse("rope positions=contig@2147483647 tokens=1", PECS_OK, NULL);
    expect_parse("rope positions=contig@2147483647 tokens=2", PECS_INVALID,
                 "key 'pos_dtype': value 'i32' cannot hold position 2147483648 (use i64)");
    expect_parse("rope positions=contig@2147483647 tokens=2 pos_dtype=i64", PECS_OK, NULL);
    expect_parse("rope positions=random@2147483648", PECS_OK, NULL);
    expect_parse("rope positions=random@2147483649", PECS_INVALID, "cannot hold position 2147483648");
    expect_parse("rope positions=decode@2147483648", PECS_INVALID, "cannot hold position 2147483648");
    /* bias: the keys run past the queries */
    expect_parse("alibi tokens=2 keys=10 positions=contig@2147483638", PECS_OK, NULL);
    expect_parse("alibi tokens=2 keys=11 positions=contig@2147483638", PECS_INVALID, "cannot hold position 2147483648");
    /* invariance adds the largest shift (2^20 by default) */
    expect_parse("rope tokens=5 positions=contig@2146435072", PECS_OK, NULL);
    expect_parse("rope tokens=5 positions=contig@2146435072 check=invariance", PECS_INVALID,
                 "key 'pos_dtype': value 'i32' cannot hold position 2147483652 (use i64)");
    expect_parse("rope tokens=5 positions=contig@2146435072 check=invariance pos_dtype=i64", PECS_OK, NULL);
    expect_parse("rope tokens=5 positions=contig@2146435072 check=invariance shifts=0,1000", PECS_OK, NULL);
    expect_parse("rope positions=contig@0 check=invariance shifts=0,2147483641 tokens=8", PECS_INVALID,
                 "cannot hold position 2147483648");
}

/* Catches a bias decode case whose keys would need negative positions. */
Test(case, validate_bias_decode_room)
{
    expect_parse("alibi keys=9 positions=decode@5", PECS_INVALID,
                 "key 'positions': decode@5 leaves no room for 9 keys ending there");
    expect_parse("alibi keys=6 positions=decode@5", PECS_OK, NULL);
}

/* Catches the invariance logit cap (heads x tokens^2 <= 2^22) not being enforced. */
Test(case, validate_invariance_cap)
{
    pecs_case c;
    char why[512] = "";
    cr_expect_eq(pecs_case_parse(&c, "rope check=invariance tokens=2048", why, sizeof why), PECS_LIMIT);
    cr_expect_str_eq(why, "key 'tokens': invariance forms heads x tokens^2 logits; 2048 tokens x 2 heads is over the "
                          "2^22 cap");
    expect_parse("rope check=invariance tokens=1448", PECS_OK, NULL); /* 2 * 1448^2 < 2^22 */
    expect_parse("rope check=invariance tokens=2048 heads=1", PECS_OK, NULL);
}

/* Catches the buffer-size cap not firing for huge shapes (the run would try to allocate terabytes). */
Test(case, validate_memory_cap)
{
    pecs_case c;
    char why[512] = "";
    cr_expect_eq(pecs_case_parse(&c, "rope tokens=65536 heads=32 head_dim=128", why, sizeof why), PECS_LIMIT);
    /* 3 * 2 * 4 bytes + 7 doubles (rotate's judge arrays) per element over 2^28 elements, + positions: 20480.75 MiB */
    cr_expect_str_eq(why, "case needs about 20481 MiB of buffers, over the 4096 MiB cap");
    cr_expect_eq(pecs_case_parse(&c, "rope tokens=16777216 heads=65536 head_dim=65536 pos_dtype=i64", why, sizeof why),
                 PECS_LIMIT);
    cr_expect_not_null(strstr(why, "MiB"), "%s", why);
    cr_expect_not_null(strstr(why, "over the 4096 MiB cap"), "%s", why);
    cr_expect_eq(pecs_case_parse(&c, "sinusoidal tokens=16777216 head_dim=65536 pos_dtype=i64", why, sizeof why),
                 PECS_LIMIT);
    cr_expect_not_null(strstr(why, "MiB"), "%s", why);
    expect_parse("rope tokens=4096 heads=32 head_dim=128", PECS_OK, NULL); /* 640 MiB: under the cap */
}

/* Regression test (bug found and fixed while building the spine): pecs_case_out_elems computes heads*tokens*keys in int64 without overflow checks; with heads=65536,
 * tokens=keys=2^24 the product is 2^64, wraps to 0 (signed overflow, UB), the byte estimate becomes a
 * few hundred MiB and pecs_case_validate returns PECS_OK for a case needing 2^64 output elements.
 * Expected: PECS_LIMIT "case needs about ... MiB of buffers, over the 4096 MiB cap". */
/* Catches the memory cap being bypassed through integer overflow of the bias output size. */
Test(case, validate_memory_cap_bias_overflow)
{
    pecs_case c;
    char why[512] = "";
    pecs_status st = pecs_case_parse(&c, "alibi heads=65536 tokens=16777216 keys=16777216 pos_dtype=i64", why, sizeof why);
    if (st == PECS_OK)
        pecs_case_free(&c);
    cr_expect_eq(st, PECS_LIMIT, "a 2^64-element bias case validated (status %d)", (int)st);
    cr_expect_not_null(strstr(why, "MiB"), "'%s'", why);
}

/* Catches the output-size and bytes model (used for throughput) drifting from the registry. */
Test(case, derived_sizes)
{
    pecs_case c;
    char why[256] = "";
    cr_assert_eq(pecs_case_parse(&c, "rope", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_out_elems(&c), 8 * 2 * 16);
    cr_expect_eq(pecs_case_bytes(&c), 2.0 * 256 * 4 + 8 * 4); /* (reads+1)*elems*4 + positions*4 */
    pecs_case_free(&c);
    cr_assert_eq(pecs_case_parse(&c, "alibi tokens=6 keys=9 heads=8", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_tokens(&c), 6);
    cr_expect_eq(pecs_case_keys(&c), 9);
    cr_expect_eq(pecs_case_out_elems(&c), 8 * 6 * 9);
    cr_expect_eq(pecs_case_bytes(&c), 1.0 * 432 * 4 + (6 + 9) * 4);
    pecs_case_free(&c);
    cr_assert_eq(pecs_case_parse(&c, "sinusoidal tokens=9 head_dim=16 dtype=f16 pos_dtype=i64", why, sizeof why),
                 PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_out_elems(&c), 9 * 16);
    cr_expect_eq(pecs_case_bytes(&c), 2.0 * 144 * 2 + 9 * 8);
    pecs_case_free(&c);
    /* learned reads x and the table row of every token: three rows of traffic per output row */
    cr_assert_eq(pecs_case_parse(&c, "learned tokens=9 head_dim=16 dtype=bf16", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_bytes(&c), 3.0 * 144 * 2 + 9 * 4);
    pecs_case_free(&c);
    cr_assert_eq(pecs_case_parse(&c, "rope tokens=40 positions=decode@7", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_tokens(&c), 1);
    cr_expect_eq(pecs_case_out_elems(&c), 1 * 2 * 16);
    pecs_case_free(&c);
}

/* ---- copy -------------------------------------------------------------------------------------------- */

/* Catches a shallow copy of list parameters (double free / use after free under ASan) and CHOICE
 * values left pointing into the source's buffer. */
Test(case, copy_is_deep)
{
    pecs_case *src = calloc(1, sizeof *src), dst;
    cr_assert_not_null(src);
    char why[256] = "";
    cr_assert_eq(pecs_case_parse(src, "rope head_dim=8 freq_factors=1,1.5,2,4 pairing=half tokens=3", why, sizeof why),
                 PECS_OK, "%s", why);
    char *before = pecs_case_format(src);
    cr_assert_eq(pecs_case_copy(&dst, src), PECS_OK);
    int iff = param_index(&dst, "freq_factors"), ip = param_index(&dst, "pairing");
    cr_expect_neq(dst.params[iff].list, src->params[iff].list, "list shared between copies");
    cr_expect_eq(dst.params[ip].s, dst.choice_buf[ip], "choice points into the source case");
    /* destroy the source completely: the copy must not depend on it */
    pecs_case_free(src);
    memset(src, 0xA5, sizeof *src);
    free(src);
    cr_assert_eq(dst.params[iff].n, 4);
    cr_expect_eq(dst.params[iff].list[3], 4.0);
    cr_expect_str_eq(dst.params[ip].s, "half");
    char *after = pecs_case_format(&dst);
    cr_expect_str_eq(after, before);
    /* the copy owns its list: replacing it frees the copy's memory only */
    cr_expect_eq(pecs_case_set(&dst, "freq_factors", "2,2,2,2", why, sizeof why), PECS_OK, "%s", why);
    pecs_case_free(&dst);
    free(before);
    free(after);
}

/* Catches copies of list-free cases (or empty lists) allocating or sharing anything. */
Test(case, copy_without_lists)
{
    pecs_case src, dst;
    char why[256] = "";
    cr_assert_eq(pecs_case_parse(&src, "alibi max_bias=4 heads=3", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_case_copy(&dst, &src), PECS_OK);
    pecs_case_free(&src);
    char *s = pecs_case_format(&dst);
    cr_expect_not_null(strstr(s, "alibi max_bias=4 "), "'%s'", s);
    free(s);
    pecs_case_free(&dst);
    init(&src, "rope");
    cr_assert_eq(pecs_case_copy(&dst, &src), PECS_OK);
    cr_expect_null(dst.params[param_index(&dst, "freq_factors")].list);
    pecs_case_free(&src);
    pecs_case_free(&dst);
}
