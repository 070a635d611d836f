/* tests/test_suite.c — suite files: expansion (cartesian products, list parameters, includes, sets,
 * precedence, suite tolerances, duplicates), the smoke suite, every rejection with its exact
 * "file:line:col:" location, nothing left allocated on failure, and the recorded sha256 of the files.
 * Fixtures: tests/data/suites/. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "case.h"
#include "suite.h"
#include "tolerance.h"
#include "util.h"
#include "yamlx.h"

TestSuite(suite);

/* ---- helpers --------------------------------------------------------------------------------------- */

static const char *src_dir(void)
{
    const char *s = getenv("PECS_SRC");
    return s && *s ? s : ".";
}

/* Path of a fixture under tests/data/suites/, exactly as the loader will print it. */
static void fixture(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/tests/data/suites/%s", src_dir(), name);
}

static void load_ok(pecs_suite *s, const char *name)
{
    char path[1024], why[2048] = "";
    fixture(path, sizeof path, name);
    pecs_status st = pecs_suite_load(s, path, why, sizeof why);
    cr_assert_eq(st, PECS_OK, "%s: status %d: %s", name, (int)st, why);
}

/* The canonical string of `enc` with the given generic knobs and everything else at its default. */
#define TAIL_ROPE(dtype, tokens, heads, head_dim, view, positions, seed, extra)                                    \
    "dtype=" dtype " tokens=" tokens " heads=" heads " head_dim=" head_dim " layout=thd view=" view                \
    " positions=" positions " pos_dtype=i32 seed=" seed " check=equivalence level=exact" extra

static void expect_cases(const pecs_suite *s, const char *const *want, int n)
{
    cr_expect_eq(s->n_cases, n, "%d cases, expected %d", s->n_cases, n);
    for (int i = 0; i < n && i < s->n_cases; i++)
        cr_expect_str_eq(s->cases[i], want[i], "case %d", i);
}

static int count_prefix(const pecs_suite *s, const char *prefix)
{
    int k = 0;
    for (int i = 0; i < s->n_cases; i++)
        k += strncmp(s->cases[i], prefix, strlen(prefix)) == 0;
    return k;
}

static int has_case(const pecs_suite *s, const char *str)
{
    for (int i = 0; i < s->n_cases; i++)
        if (strcmp(s->cases[i], str) == 0)
            return 1;
    return 0;
}

/* The unique case whose string contains `needle` (NULL and a failed expectation otherwise). */
static const char *case_with(const pecs_suite *s, const char *needle)
{
    const char *found = NULL;
    int k = 0;
    for (int i = 0; i < s->n_cases; i++)
        if (strstr(s->cases[i], needle)) {
            found = s->cases[i];
            k++;
        }
    cr_expect_eq(k, 1, "%d cases contain '%s'", k, needle);
    return k == 1 ? found : NULL;
}

static void expect_zeroed(const pecs_suite *s, const char *name)
{
    cr_expect_null(s->name, "%s: name left allocated", name);
    cr_expect_null(s->path, "%s: path left allocated", name);
    cr_expect_null(s->files, "%s: files left allocated", name);
    cr_expect_null(s->cases, "%s: cases left allocated", name);
    cr_expect_eq(s->n_files, 0, "%s", name);
    cr_expect_eq(s->n_cases, 0, "%s", name);
}

/* Load `name`, expect failure with status `status` and a message that is exactly
 * "<src>/tests/data/suites/<at>:<line>:<col>: <rest>" (rest == NULL: only the prefix is checked) and
 * contains `part` (if given). The suite struct must come back zeroed. */
static void expect_error(const char *name, pecs_status status, const char *at, int line, int col, const char *rest,
                         const char *part)
{
    char path[1024], where[1200], why[2048] = "";
    fixture(path, sizeof path, name);
    pecs_suite s;
    memset(&s, 0x5A, sizeof s); /* the loader must not depend on the caller zeroing it */
    pecs_status st = pecs_suite_load(&s, path, why, sizeof why);
    if (st == PECS_OK) {
        cr_expect_fail("%s: loaded (%d cases), expected an error", name, s.n_cases);
        pecs_suite_free(&s);
        return;
    }
    cr_expect_eq(st, status, "%s: status %d (%s), expected %d", name, (int)st, why, (int)status);
    snprintf(where, sizeof where, "%s/tests/data/suites/%s:%d:%d: ", src_dir(), at, line, col);
    cr_expect_eq(strncmp(why, where, strlen(where)), 0, "%s: message '%s' does not start with '%s'", name, why, where);
    if (rest && strncmp(why, where, strlen(where)) == 0)
        cr_expect_str_eq(why + strlen(where), rest, "%s", name);
    if (part)
        cr_expect_not_null(strstr(why, part), "%s: message '%s' lacks '%s'", name, why, part);
    expect_zeroed(&s, name);
}

/* ---- good files --------------------------------------------------------------------------------------- */

/* Catches a wrong product size or order: 2 dtypes x 3 heads = 6 cases, the last key varying fastest. */
Test(suite, cartesian_product_order)
{
    pecs_suite s;
    load_ok(&s, "cartesian.yaml");
    static const char *const want[] = {
        "rope " TAIL_ROPE("f32", "8", "1", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f32", "8", "2", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f32", "8", "3", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f16", "8", "1", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f16", "8", "2", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f16", "8", "3", "16", "contiguous", "contig@0", "1", ""),
        /* same axes written the other way round: dtype now varies fastest */
        "rope.linear " TAIL_ROPE("f32", "8", "1", "16", "contiguous", "contig@0", "1", ""),
        "rope.linear " TAIL_ROPE("f16", "8", "1", "16", "contiguous", "contig@0", "1", ""),
        "rope.linear " TAIL_ROPE("f32", "8", "2", "16", "contiguous", "contig@0", "1", ""),
        "rope.linear " TAIL_ROPE("f16", "8", "2", "16", "contiguous", "contig@0", "1", ""),
        "rope.linear " TAIL_ROPE("f32", "8", "3", "16", "contiguous", "contig@0", "1", ""),
        "rope.linear " TAIL_ROPE("f16", "8", "3", "16", "contiguous", "contig@0", "1", ""),
    };
    expect_cases(&s, want, 12);
    cr_expect_str_eq(s.name, "cartesian");
    cr_expect_eq(s.n_files, 1);
    pecs_suite_free(&s);
    expect_zeroed(&s, "after pecs_suite_free");
}

/* Catches a list of numbers for a list parameter being expanded as an axis (or a list of lists not). */
Test(suite, list_valued_parameter)
{
    pecs_suite s;
    load_ok(&s, "list_param.yaml");
    static const char *const want[] = {
        "rope freq_factors=1,2 " TAIL_ROPE("f32", "8", "2", "4", "contiguous", "contig@0", "1", ""),
        "rope.linear freq_factors=1,2 " TAIL_ROPE("f32", "8", "2", "4", "contiguous", "contig@0", "1", ""),
        "rope.linear freq_factors=3,4 " TAIL_ROPE("f32", "8", "2", "4", "contiguous", "contig@0", "1", ""),
        "rope.ntk " TAIL_ROPE("f32", "8", "2", "4", "contiguous", "contig@0", "1", ""), /* [] = no factors */
    };
    expect_cases(&s, want, 4);
    pecs_suite_free(&s);
}

/* Catches includes resolved against the working directory or the main suite instead of the including
 * file (inc/shared.yaml includes more.yaml, which lives in inc/), and files recorded in the wrong order. */
Test(suite, include_relative_to_including_file)
{
    pecs_suite s;
    load_ok(&s, "include_main.yaml");
    char p0[1024], p1[1024], p2[1024];
    fixture(p0, sizeof p0, "include_main.yaml");
    fixture(p1, sizeof p1, "inc/shared.yaml");
    fixture(p2, sizeof p2, "inc/more.yaml");
    cr_assert_eq(s.n_files, 3);
    cr_expect_str_eq(s.files[0].path, p0);
    cr_expect_str_eq(s.files[1].path, p1);
    cr_expect_str_eq(s.files[2].path, p2);
    cr_expect_str_eq(s.path, p0);
    static const char *const want[] = {
        "rope " TAIL_ROPE("f32", "3", "2", "4", "contiguous", "contig@0", "1", ""),
        "rope pairing=half " TAIL_ROPE("f32", "3", "2", "4", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f32", "3", "2", "4", "strided", "contig@0", "1", ""),
        "rope pairing=half " TAIL_ROPE("f32", "3", "2", "4", "strided", "contig@0", "1", ""),
        "rope rotary_dim=32 " TAIL_ROPE("f32", "2", "1", "64", "contiguous", "contig@0", "1", ""),
    };
    expect_cases(&s, want, 5);
    pecs_suite_free(&s);
}

/* Regression test (bug found and fixed while building the spine): load_file() skips an already-loaded include by comparing the path string as written
 * (dir_join result) instead of the realpath it has just computed. diamond.yaml includes
 * inc/dia_common.yaml directly and through inc/dia_mid.yaml as "../inc/dia_common.yaml"; the second
 * spelling loads the same file again and fails with
 *   ".../inc/../inc/dia_common.yaml:2:3: shape 'dia' is already defined at .../inc/dia_common.yaml:2:8".
 * Expected: the file is loaded once and the suite expands to 2 cases. */
/* Catches the same include reached through two spellings of its path being loaded twice. */
Test(suite, include_same_file_twice_loaded_once)
{
    char path[1024], why[2048] = "";
    fixture(path, sizeof path, "diamond.yaml");
    pecs_suite s;
    pecs_status st = pecs_suite_load(&s, path, why, sizeof why);
    cr_expect_eq(st, PECS_OK, "%s", why);
    if (st == PECS_OK) {
        cr_expect_eq(s.n_cases, 2);
        pecs_suite_free(&s);
    }
}

/* Catches `use:` taking only the first set, or a set's single (non-list) value being dropped. */
Test(suite, use_merges_sets)
{
    pecs_suite s;
    load_ok(&s, "use_sets.yaml");
    static const char *const want[] = {
        "sinusoidal dtype=f32 tokens=4 head_dim=16 view=contiguous positions=contig@0 pos_dtype=i32 seed=7 "
        "check=equivalence level=exact",
        "sinusoidal dtype=f32 tokens=4 head_dim=16 view=strided positions=contig@0 pos_dtype=i32 seed=7 "
        "check=equivalence level=exact",
        "sinusoidal dtype=f16 tokens=4 head_dim=16 view=contiguous positions=contig@0 pos_dtype=i32 seed=7 "
        "check=equivalence level=exact",
        "sinusoidal dtype=f16 tokens=4 head_dim=16 view=strided positions=contig@0 pos_dtype=i32 seed=7 "
        "check=equivalence level=exact",
    };
    expect_cases(&s, want, 4);
    pecs_suite_free(&s);
}

/* Catches defaults overriding a shape preset (defaults < shape preset). */
Test(suite, precedence_defaults_below_preset)
{
    pecs_suite s;
    load_ok(&s, "precedence.yaml");
    cr_expect_eq(s.n_cases, 7);
    const char *c = case_with(&s, " seed=11 ");
    cr_expect(c && strstr(c, " tokens=5 heads=3 "), "'%s'", c ? c : "");
    /* and defaults do apply where nothing else sets the key */
    c = case_with(&s, " seed=15 ");
    cr_expect(c && strstr(c, " tokens=100 heads=4 "), "'%s'", c ? c : "");
    pecs_suite_free(&s);
}

/* Catches a shape preset overriding a used set (shape preset < used sets). */
Test(suite, precedence_preset_below_sets)
{
    pecs_suite s;
    load_ok(&s, "precedence.yaml");
    const char *c = case_with(&s, " seed=12 ");
    cr_expect(c && strstr(c, " tokens=7 heads=3 "), "'%s'", c ? c : "");
    pecs_suite_free(&s);
}

/* Catches a used set overriding the suite's tolerances (used sets < suite tolerances), and suite
 * tolerances wiping metrics they do not name. */
Test(suite, precedence_sets_below_tolerances)
{
    pecs_suite s;
    load_ok(&s, "precedence.yaml");
    const char *c = case_with(&s, " seed=13 ");
    cr_expect(c && strstr(c, " level=exact tol_abs=0.5 tol_rel=0.125"), "'%s'", c ? c : "");
    pecs_suite_free(&s);
}

/* Catches suite tolerances overriding the case's own tol_* keys (suite tolerances < case keys). */
Test(suite, precedence_tolerances_below_case)
{
    pecs_suite s;
    load_ok(&s, "precedence.yaml");
    const char *c = case_with(&s, " seed=14 ");
    cr_expect(c && strstr(c, " tol_abs=0.0625") && !strstr(c, "tol_abs=0.5"), "'%s'", c ? c : "");
    /* the case's own keys beat presets, sets and defaults too */
    c = case_with(&s, " seed=16 ");
    cr_expect(c && strstr(c, " tokens=9 heads=6 "), "'%s'", c ? c : "");
    c = case_with(&s, " seed=17 ");
    cr_expect(c && strstr(c, " tokens=2 heads=4 "), "'%s'", c ? c : "");
    pecs_suite_free(&s);
}

/* Catches suite tolerances applied to the wrong encoding or dtype, or not printed as tol_* knobs. */
Test(suite, tolerances_become_tol_knobs)
{
    pecs_suite s;
    load_ok(&s, "tolerances.yaml");
    static const char *const want[] = {
        "rope " TAIL_ROPE("f32", "8", "2", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f16", "8", "2", "16", "contiguous", "contig@0", "1", " tol_abs=0.01 tol_ulp=4"),
        "alibi dtype=f32 tokens=8 heads=2 keys=8 view=contiguous positions=contig@0 pos_dtype=i32 seed=1 "
        "check=equivalence level=exact tol_rel=0.001 tol_drift=0.5",
        "alibi dtype=f16 tokens=8 heads=2 keys=8 view=contiguous positions=contig@0 pos_dtype=i32 seed=1 "
        "check=equivalence level=exact",
    };
    expect_cases(&s, want, 4);
    /* the case string reproduces the tolerance exactly */
    pecs_case c;
    char why[512] = "";
    cr_assert_eq(pecs_case_parse(&c, s.cases[1], why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.tol_override.abs, 0.01);
    cr_expect_eq(c.tol_override.ulp, 4.0);
    pecs_case_free(&c);
    pecs_suite_free(&s);
}

/* Regression test (bug found and fixed while building the spine): expand_entry() applies the suite `tolerances:` row (chosen by c->dtype) at LEVEL_TOLERANCES,
 * before the case entry's own keys (LEVEL_CASE) have set the dtype. With
 *   tolerances: {rope: {f16: {abs: 0.5}, f32: {abs: 0.25}}}   cases: [{encoding: rope, dtype: f16}]
 * the f16 case gets the f32 row: "... dtype=f16 ... tol_abs=0.25". Expected tol_abs=0.5 (the row of the
 * case's final dtype). Only dtypes from defaults/sets are seen correctly. */
/* Catches suite tolerances chosen by a dtype other than the case's final dtype. */
Test(suite, tolerances_follow_case_dtype)
{
    pecs_suite s;
    load_ok(&s, "tolerances_case_dtype.yaml");
    cr_assert_eq(s.n_cases, 1);
    cr_expect_str_eq(s.cases[0], "rope " TAIL_ROPE("f16", "8", "2", "16", "contiguous", "contig@0", "1", " tol_abs=0.5"));
    pecs_suite_free(&s);
}

/* Catches keys from defaults, presets or sets being applied to (and rejected by) an encoding that
 * lacks them, or not applied to encodings that have them. */
Test(suite, shared_keys_not_applied_where_lacking)
{
    pecs_suite s;
    load_ok(&s, "lacks.yaml");
    static const char *const want[] = {
        "alibi dtype=f32 tokens=4 heads=2 keys=4 view=contiguous positions=contig@0 pos_dtype=i32 seed=1 "
        "check=equivalence level=exact",
        "rope pairing=half base=500000 " TAIL_ROPE("f32", "4", "2", "8", "contiguous", "contig@0", "1", ""),
        "rope.linear pairing=half base=500000 factor=2 " TAIL_ROPE("f32", "4", "2", "8", "contiguous", "contig@0", "1", ""),
    };
    expect_cases(&s, want, 3);
    pecs_suite_free(&s);
}

/* Catches a parameter the encoding lacks being silently ignored when written in the case itself. */
Test(suite, case_key_encoding_lacks_is_error)
{
    expect_error("bad_param_not_in_enc.yaml", PECS_INVALID, "bad_param_not_in_enc.yaml", 5, 14,
                 "key 'pairing' is not a parameter of encoding 'alibi' (see: pecs describe alibi)", NULL);
}

/* Catches identical cases (same values, or values that format the same) being run twice. */
Test(suite, duplicates_removed)
{
    pecs_suite s;
    load_ok(&s, "dupes.yaml");
    static const char *const want[] = {
        "rope " TAIL_ROPE("f32", "4", "2", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f32", "5", "2", "16", "contiguous", "contig@0", "1", ""),
        "rope " TAIL_ROPE("f32", "1", "2", "16", "contiguous", "decode@10", "1", ""), /* tokens 3 and 5 both -> 1 */
    };
    expect_cases(&s, want, 3);
    pecs_suite_free(&s);
}

/* Catches a change in the smoke suite's expansion. Count by hand from suites/smoke.yaml, x3 dtypes from
 * defaults in every entry:
 *   rope 3 shapes x 2 pairings x 2 layouts x 3 views x 4 positions = 144      -> 432
 *   rope partial 3 shapes x 2 positions x 2 bases = 12                        -> 36
 *   rope, alibi with i64 positions: 2 encodings x 2 shapes x 2 positions = 8  -> 24 (12 each)
 *   alibi with i64 positions crossing 2^31: 1                                 -> 3
 *   rope freq_factors 1 x 2 attn_factor x 2 pairings = 4                      -> 12
 *   rope.linear 2 x 2 x 2 x 2 = 16 -> 48;  rope.ntk the same                  -> 48
 *   rope.yarn 2 shapes x 2 factors x 2 mscale x 2 pairings x 3 positions = 48 -> 144
 *   alibi 2 shapes x 5 heads x 2 positions x 2 views = 40                     -> 120
 *   alibi max_bias [8, 16]: max_bias=8 on bias-small is the heads=8 case above -> 3
 *   sinusoidal(.concat) 2 encodings x 2 shapes x 3 views x 3 positions = 36   -> 108
 *   sinusoidal.concat padding_idx [-1, 1]: -1 is the default, seen above      -> 3
 *   sinusoidal.concat pad tokens: 2 shapes x 3 padding_idx x 2 positions = 12  -> 36
 *   sinusoidal(.concat) past 2^31: 2 encodings x 2 shapes x 2 positions = 8    -> 24
 *   invariance: rope 2 pairings -> 6, rope.yarn -> 3, alibi -> 3, sinusoidal x2 -> 6
 *   total 1059, + 126 tier-2 rotate = 1185, + 54 tier-2 bias = 1239.
 * Issue 19's blocks (x3 dtypes): special values rope at const@0 2 shapes x 2 pairings -> 12, nope -> 3,
 * rope and rope.yarn 2 shapes x 2 pairings x 2 positions -> 24 each, sinusoidal(.concat), learned 2
 * positions -> 6 each; threads: rope 2 token counts x 2 pairings x 3 counts -> 36, alibi and mask.causal
 * 2 counts -> 6 each, sinusoidal -> 6; out_view: rope 2 shapes x 2 pairings x 2 -> 24, rope strided 2
 * layouts -> 6, sinusoidal and nope 2 views x 2 out views -> 12 each: + 189 = 1428; + 24 tier-2 embed = 1452;
 * + 24 tier-2 scores (shaw 2 causal x 2 positions, huang 1, music 1, txl 2 clamp_len; x3 dtypes) = 1476;
 * + 21 tier-2 position maps (f32 only, 3 pos_dtypes: pose 1, self_extend 2 token counts, bipe 1, randomized 1,
 * group_pe 1, cream 1) = 1497;
 * + 3 sigma_gpt (one random order) = 1500;
 * + 6 tier-2 kernelized attention (toeplitz.fft 8 x 8 and 5 x 12; x3 dtypes) = 1506;
 * + 24 rope.comrope (2 variants x 2 blocks x 2 positions, x3 dtypes) = 1530;
 * + 18 tier-2 masks (f32, 3 pos_dtypes: lm_infinite 1, s2attn 1, cca 1, packing 1, anchor 1, parallel_context 1) = 1548;
 * + 3 urpe (40 tokens; x3 dtypes) = 1551;
 * + 3 nope.temperature (8 x 12; x3 dtypes) = 1554;
 * + 21 rope.plusplus (3 imag selections x 2 positions, 1 yarn; x3 dtypes) = 1575;
 * + 2 v2pe (f32, f64 positions only: 2 token counts) = 1577;
 * + 9 peg (13 tokens x 2 views, 12 tokens; x3 dtypes) = 1586;
 * + 6 tra (2 positions; x3 dtypes) = 1592;
 * + 3 position_coupling (f32, 3 pos_dtypes: one layout) = 1595;
 * + 12 rope.clex (2 t x 2 positions; x3 dtypes) = 1607;
 * + 6 path (2 positions; x3 dtypes) = 1613;
 * + 6 gateloop (2 positions; x3 dtypes) = 1619;
 * + 3 landmark (40 tokens, blocks of 4; x3 dtypes) = 1622;
 * + 3 etc (f32, 3 pos_dtypes: one layout) = 1625;
 * + 24 rope.psc (2 pairings x 2 roles x 2 positions; x3 dtypes) = 1649;
 * + 3 xpos.bca (f32, 3 pos_dtypes: one layout) = 1652;
 * + 6 positional_attention (2 positions; x3 dtypes) = 1658;
 * + 6 bros.crel (2 positions; x3 dtypes) = 1664;
 * + 3 focused_memory (24 tokens after 8 memory keys; x3 dtypes) = 1667;
 * + 12 cable (2 q.k scales x 2 positions; x3 dtypes) = 1679;
 * + 36 rope.buckets (3 copies x 2 pairings x 2 positions; x3 dtypes) = 1715;
 * + 3 extended_mind (32 tokens after 16 memory keys, top 10; x3 dtypes) = 1718;
 * + 12 rope.selective (2 temp_max x 2 positions; x3 dtypes) = 1730;
 * + 12 rope.carope (2 pairings x 2 positions; x3 dtypes) = 1742;
 * + 27 rope.harpe (2 orders x 2 pairings x 2 positions, Table 2 on 32 heads; x3 dtypes) = 1769;
 * + 6 rope.tapa (2 positions; x3 dtypes) = 1775;
 * + 18 rope.windowed (2 pairings x 3 positions; x3 dtypes) = 1793;
 * + 12 rope.gali (2 pairings x 2 positions; x3 dtypes) = 1805;
 * + 6 fitm.calibration (2 temperatures; x3 dtypes) = 1811;
 * + 6 tape (2 positions; x3 dtypes) = 1817;
 * + 3 longheads (48 tokens, 4-token chunks, K = 5; x3 dtypes) = 1820;
 * + 3 pine (40 tokens: bos, five documents, 14 suffix queries; x3 dtypes) = 1823;
 * + 15 seqpe (2 shapes x 2 positions + bi with masked padding; x3 dtypes) = 1838;
 * + 9 graph.maglap (1 + 2 views; x3 dtypes) = 1847;
 * + 12 sinusoidal runs by recurrence (2 encodings x 2 model dims x 3 thread counts, f32) = 1859;
 * + 4 16-bit rows of two vectors a store (sinusoidal, learned x f16, bf16) = 1863 (listed before the rope runs);
 * + 24 rope runs by recurrence (2 encodings x 2 head dims x 2 pairings x 3 thread counts, f32) = 1887. */
Test(suite, smoke_suite, .timeout = 30)
{
    char path[1024], shapes[1024], why[2048] = "";
    snprintf(path, sizeof path, "%s/suites/smoke.yaml", src_dir());
    snprintf(shapes, sizeof shapes, "%s/suites/shapes.yaml", src_dir());
    pecs_suite s;
    cr_assert_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_OK, "%s", why);
    cr_expect_str_eq(s.name, "smoke");
    cr_assert_eq(s.n_files, 2);
    cr_expect_str_eq(s.files[0].path, path);
    cr_expect_str_eq(s.files[1].path, shapes);
    cr_expect_eq(s.n_cases, 1059 + 126 + 54 + 189 + 24 + 24 + 21 + 3 + 6 + 24 + 18 + 3 + 3 + 21 + 2 + 9 + 6 + 3 + 12 + 6 + 6 + 3 + 3 + 24 + 3 + 6 + 6 + 3 + 12 + 36 + 3 + 12 + 12 + 27 + 6 + 18 + 12 + 6 + 6 + 3 + 3 + 15 + 9 + 12 + 4 + 24); /* + the tier-2 rotate and bias blocks (below), issue 19's, tier-2 embed, scores, posmap, sigma_gpt, kattn, comrope, mask, urpe, nope.temperature, rope.plusplus, v2pe, peg, tra, position_coupling, rope.clex, path, gateloop, landmark, etc, rope.psc, xpos.bca, positional_attention, bros.crel, focused_memory, cable, rope.buckets, extended_mind, rope.selective, rope.carope, rope.harpe, rope.tapa, rope.windowed, rope.gali, fitm.calibration, tape, longheads, pine, seqpe, graph.maglap, the sinusoidal runs, the 16-bit two-vector rows, the rope runs */
    cr_expect_eq(count_prefix(&s, "seqpe "), 15);
    cr_expect_eq(count_prefix(&s, "sigma_gpt "), 3);
    cr_expect_eq(count_prefix(&s, "graph.maglap "), 9);
    cr_expect_eq(count_prefix(&s, "toeplitz.fft "), 6);
    cr_expect_eq(count_prefix(&s, "urpe "), 3);
    cr_expect_eq(count_prefix(&s, "landmark "), 3);
    cr_expect_eq(count_prefix(&s, "focused_memory "), 3);
    cr_expect_eq(count_prefix(&s, "extended_mind "), 3);
    cr_expect_eq(count_prefix(&s, "fitm.calibration "), 6);
    cr_expect_eq(count_prefix(&s, "pine "), 3);
    cr_expect_eq(count_prefix(&s, "rope.plusplus "), 21);
    cr_expect_eq(count_prefix(&s, "rope.comrope "), 24);
    cr_expect_eq(count_prefix(&s, "rope.clex "), 12);
    cr_expect_eq(count_prefix(&s, "rope.psc "), 24);
    cr_expect_eq(count_prefix(&s, "rope.selective "), 12);
    cr_expect_eq(count_prefix(&s, "rope.carope "), 12);
    cr_expect_eq(count_prefix(&s, "rope.harpe "), 27);
    cr_expect_eq(count_prefix(&s, "rope.tapa "), 6);
    cr_expect_eq(count_prefix(&s, "positional_attention "), 6);
    cr_expect_eq(count_prefix(&s, "bros.crel "), 6);
    cr_expect_eq(count_prefix(&s, "pose "), 3);
    cr_expect_eq(count_prefix(&s, "self_extend "), 6);
    cr_expect_eq(count_prefix(&s, "bipe "), 3);
    cr_expect_eq(count_prefix(&s, "randomized "), 3);
    cr_expect_eq(count_prefix(&s, "group_pe "), 3);
    cr_expect_eq(count_prefix(&s, "cream "), 3);
    cr_expect_eq(count_prefix(&s, "lm_infinite "), 3);
    cr_expect_eq(count_prefix(&s, "s2attn "), 3);
    cr_expect_eq(count_prefix(&s, "cca "), 3);
    cr_expect_eq(count_prefix(&s, "packing "), 3);
    cr_expect_eq(count_prefix(&s, "v2pe "), 2);
    cr_expect_eq(count_prefix(&s, "position_coupling "), 3);
    cr_expect_eq(count_prefix(&s, "anchor "), 3);
    cr_expect_eq(count_prefix(&s, "parallel_context "), 3);
    cr_expect_eq(count_prefix(&s, "etc "), 3);
    cr_expect_eq(count_prefix(&s, "rope "), 432 + 36 + 12 + 12 + 6 + 12 + 24 + 36 + 24 + 6 + 12);
    cr_expect_eq(count_prefix(&s, "nope "), 3 + 12);
    cr_expect_eq(count_prefix(&s, "learned "), 6 + 2);
    cr_expect_eq(count_prefix(&s, "mask.causal "), 6);
    cr_expect_eq(count_prefix(&s, "rope.linear "), 48);
    cr_expect_eq(count_prefix(&s, "rope.ntk "), 48);
    cr_expect_eq(count_prefix(&s, "rope.yarn "), 144 + 3 + 24 + 12);
    cr_expect_eq(count_prefix(&s, "alibi "), 120 + 3 + 3 + 3 + 12 + 6);
    cr_expect_eq(count_prefix(&s, "sinusoidal "), 54 + 3 + 12 + 6 + 6 + 12 + 6 + 2);
    cr_expect_eq(count_prefix(&s, "sinusoidal.concat "), 54 + 3 + 3 + 12 + 36 + 6 + 6);
    /* tier 2: p 2 x pairings 2 x positions 2 x dtypes 3; giraffe 2 factors x 2 powers x 2 positions x 3; the others
     * 2 x 2 x 3, mhrope 2 pairings x 3 */
    static const struct {
        const char *prefix;
        int n;
    } t2[] = {{"rope.p ", 24},         {"rope.giraffe ", 24},     {"rope.rmt ", 12},    {"rope.vrope ", 12},
              {"rope.hope_vlm ", 12},  {"rope.entropy_abf ", 12}, {"rope.string ", 12}, {"rope.mspoe ", 12},
              {"rope.mhrope ", 6},
              /* tier-2 bias: alibi.pi 2 heads x 2 positions x 3 + invariance 3; mpnet, bam, masa 2 x 3 + 3; irpe
               * product 2 positions x 3 + euclidean 3 + invariance 3 */
              {"alibi.pi ", 15},       {"mpnet ", 9},             {"bam ", 9},          {"masa ", 9},
              {"irpe ", 12},
              /* tier-2 embed: ldpe, pia 2 shapes x 3; fourier 2 shapes x 2 positions x 3 */
              {"ldpe ", 6},            {"pia ", 6},               {"fourier ", 12}};
    for (size_t k = 0; k < sizeof t2 / sizeof t2[0]; k++)
        cr_expect_eq(count_prefix(&s, t2[k].prefix), t2[k].n, "%s", t2[k].prefix);
    /* first case: defaults' dtype is the slowest axis, the entry's last key (positions) the fastest */
    cr_assert_gt(s.n_cases, 4);
    cr_expect_str_eq(s.cases[0], "rope " TAIL_ROPE("f32", "5", "3", "8", "contiguous", "contig@0", "1", ""));
    cr_expect_str_eq(s.cases[1], "rope " TAIL_ROPE("f32", "5", "3", "8", "contiguous", "random@4096", "1", ""));
    cr_expect_str_eq(s.cases[3], "rope " TAIL_ROPE("f32", "1", "3", "8", "contiguous", "decode@1048576", "1", ""));
    static const char *const some[] = {
        "rope pairing=half dtype=f16 tokens=1 heads=32 head_dim=128 layout=htd view=inplace "
        "positions=decode@1048576 pos_dtype=i32 seed=1 check=equivalence level=exact",
        "rope rotary_dim=64 base=500000 " TAIL_ROPE("f32", "8", "4", "256", "contiguous", "contig@1048576", "1", ""),
        "rope pairing=half base=500000 " TAIL_ROPE("bf16", "16", "8", "64", "contiguous", "contig@0", "1", ""),
        "rope pairing=half freq_factors=1,1.5,2,4 attn_factor=0.5 "
        TAIL_ROPE("bf16", "5", "3", "8", "contiguous", "contig@0", "1", ""),
        "rope.yarn pairing=half rotary_dim=32 factor=32 mscale=0.707 "
        TAIL_ROPE("f16", "1", "4", "80", "contiguous", "decode@131071", "1", ""),
        "rope.yarn factor=16 original_max_position=64 dtype=f32 tokens=5 heads=3 head_dim=8 layout=thd "
        "view=contiguous positions=contig@0 pos_dtype=i32 seed=1 check=invariance "
        "shifts=0,1,16,256,4096,65536,1048576 level=exact",
        "alibi dtype=bf16 tokens=1 heads=12 keys=7 view=strided positions=decode@100000 pos_dtype=i32 seed=1 "
        "check=equivalence level=exact",
        "alibi max_bias=16 dtype=f16 tokens=6 heads=8 keys=9 view=contiguous positions=contig@0 pos_dtype=i32 "
        "seed=1 check=equivalence level=exact",
        "sinusoidal.concat padding_idx=1 dtype=f32 tokens=9 head_dim=16 view=contiguous positions=contig@0 "
        "pos_dtype=i32 seed=1 check=equivalence level=exact",
        "sinusoidal dtype=f16 tokens=6 head_dim=15 view=inplace positions=random@4096 pos_dtype=i32 seed=1 "
        "check=equivalence level=exact",
    };
    for (size_t i = 0; i < sizeof some / sizeof some[0]; i++)
        cr_expect(has_case(&s, some[i]), "missing '%s'", some[i]);
    /* no duplicates survive */
    for (int i = 0; i < s.n_cases; i++)
        for (int j = i + 1; j < s.n_cases; j++)
            if (strcmp(s.cases[i], s.cases[j]) == 0)
                cr_expect_fail("duplicate case %d/%d '%s'", i, j, s.cases[i]);
    pecs_suite_free(&s);
}

/* ---- sha256 of the loaded files -------------------------------------------------------------------- */

/* Catches a wrong or missing sha256 for the suite file and its includes (results record them). */
Test(suite, sha256_of_files)
{
    pecs_suite s;
    load_ok(&s, "sha.yaml");
    cr_assert_eq(s.n_files, 2);
    /* from `sha256sum tests/data/suites/sha.yaml tests/data/suites/inc/sha_inc.yaml` */
    static const char *const want[] = {
        "ea657e132bbf4ecef2df20ff9a4be73689429d49adb0e3b372ab78cac7791e30",
        "fe1fe496dfb266f024be6a5b5ee358729ad94b5f702c703b93dafc3ca32e0559",
    };
    for (int i = 0; i < 2; i++) {
        char util[65], why[256] = "";
        cr_assert_eq(pecs_sha256_file(s.files[i].path, util, why, sizeof why), PECS_OK, "%s", why);
        cr_expect_str_eq(util, want[i], "%s", s.files[i].path);
        cr_expect_str_eq(s.files[i].sha256, want[i], "%s", s.files[i].path);
    }
    pecs_suite_free(&s);
}

/* ---- bad files ------------------------------------------------------------------------------------- */

/* Catches libyaml syntax errors reported without libyaml's own mark. */
Test(suite, error_yaml_syntax)
{
    expect_error("bad_syntax.yaml", PECS_PARSE, "bad_syntax.yaml", 5, 10, NULL, "YAML syntax error: ");
    expect_error("bad_syntax.yaml", PECS_PARSE, "bad_syntax.yaml", 5, 10, NULL, "flow sequence");
}

/* Catches a misspelt knob being accepted or reported without a suggestion. */
Test(suite, error_typo_key)
{
    expect_error("bad_typo_key.yaml", PECS_INVALID, "bad_typo_key.yaml", 4, 5,
                 "unknown key 'tokns' (did you mean 'tokens'?)", NULL);
}

/* Catches an unknown top-level key being ignored. */
Test(suite, error_unknown_top_level_key)
{
    expect_error("bad_toplevel.yaml", PECS_INVALID, "bad_toplevel.yaml", 2, 1,
                 "unknown key 'default' (did you mean 'defaults'?)", NULL);
}

/* Catches an unknown encoding in a list of encodings (located at the bad item, with a suggestion). */
Test(suite, error_unknown_encoding)
{
    expect_error("bad_encoding.yaml", PECS_INVALID, "bad_encoding.yaml", 4, 22,
                 "key 'encoding': unknown encoding 'ropee' (did you mean 'rope'?)", NULL);
}

/* Catches a negative size accepted, or reported without the key and value. */
Test(suite, error_negative_size)
{
    expect_error("bad_negative.yaml", PECS_INVALID, "bad_negative.yaml", 5, 13,
                 "key 'tokens': value '-4' must be an integer in [1, 16777216]", NULL);
}

/* Catches ["3,1", "2,2"] for a list parameter silently read as the one list 3,1,2,2 (meant: an axis of two). */
Test(suite, error_list_param_of_lists_as_strings)
{
    expect_error("bad_list_param.yaml", PECS_INVALID, "bad_list_param.yaml", 6, 15,
                 "key 'lengths': a list of numbers is one value, and element '3,1' is itself a list; an axis of lists "
                 "is a list of lists ([[3, 1], [2, 2]])", NULL);
}

/* Catches a missing include reported without the include as written and the path tried. */
Test(suite, error_missing_include)
{
    char resolved[1024], rest[1400];
    fixture(resolved, sizeof resolved, "inc/nope.yaml");
    snprintf(rest, sizeof rest, "include 'inc/nope.yaml': cannot open %s: No such file or directory", resolved);
    expect_error("bad_missing_include.yaml", PECS_INVALID, "bad_missing_include.yaml", 4, 5, rest, NULL);
}

/* Catches include cycles looping (or overflowing the include stack) instead of being reported. */
Test(suite, error_include_cycle)
{
    expect_error("bad_cycle.yaml", PECS_INVALID, "inc/cycle_b.yaml", 2, 22,
                 "include cycle: '../bad_cycle.yaml' includes itself", NULL);
    expect_error("bad_self_include.yaml", PECS_INVALID, "bad_self_include.yaml", 2, 10,
                 "include cycle: 'bad_self_include.yaml' includes itself", NULL);
}

/* Catches an unknown shape name being ignored (located at the name in the list). */
Test(suite, error_unknown_shape)
{
    expect_error("bad_unknown_shape.yaml", PECS_INVALID, "bad_unknown_shape.yaml", 6, 20, "key 'shape': no shape 'huge'",
                 NULL);
}

/* Catches an unknown set in `use:` being ignored. */
Test(suite, error_unknown_set)
{
    expect_error("bad_unknown_set.yaml", PECS_INVALID, "bad_unknown_set.yaml", 6, 18, "key 'use': no set 'nope'", NULL);
}

/* Regression test (bug found and fixed while building the spine): `use:` is accepted as a key of `defaults:` (check_knob_key allows the special keys there) but
 * axes_from_map() skips "use", so it is silently ignored: bad_use_in_defaults.yaml with
 *   defaults: {use: [no-such-set]}
 * loads and expands to 1 case. Expected: an error (either "unknown key 'use'" in defaults or
 * "key 'use': no set 'no-such-set'"), never a silent no-op. */
/* Catches `use:` in defaults being silently dropped. */
Test(suite, error_use_in_defaults_not_ignored)
{
    char path[1024], why[2048] = "";
    fixture(path, sizeof path, "bad_use_in_defaults.yaml");
    pecs_suite s;
    pecs_status st = pecs_suite_load(&s, path, why, sizeof why);
    cr_expect_neq(st, PECS_OK, "defaults: {use: [no-such-set]} was accepted and ignored");
    if (st == PECS_OK)
        pecs_suite_free(&s);
    else
        cr_expect_not_null(strstr(why, "use"), "%s", why);
}

/* Catches a mapping where a value (or a list of values) is expected being accepted. */
Test(suite, error_mapping_as_value)
{
    expect_error("bad_mapping_value.yaml", PECS_INVALID, "bad_mapping_value.yaml", 4, 12,
                 "key 'heads': expected a value or a list of values, found a mapping", NULL);
    expect_error("bad_mapping_item.yaml", PECS_INVALID, "bad_mapping_item.yaml", 4, 16,
                 "key 'heads': expected a value, found a mapping", NULL);
}

/* Catches an empty axis silently producing zero cases. */
Test(suite, error_empty_list)
{
    expect_error("bad_empty_list.yaml", PECS_INVALID, "bad_empty_list.yaml", 4, 12, "key 'heads': empty list (no cases)",
                 NULL);
}

/* Catches duplicate mapping keys (libyaml keeps both) being accepted, located at the second one. */
Test(suite, error_duplicate_key)
{
    expect_error("bad_duplicate_key.yaml", PECS_INVALID, "bad_duplicate_key.yaml", 6, 5, "duplicate key 'tokens'", NULL);
}

/* Catches a shape defined in two included files being silently overwritten. */
Test(suite, error_duplicate_shape_across_files)
{
    char first[1024], part[1200];
    fixture(first, sizeof first, "inc/dup_a.yaml");
    snprintf(part, sizeof part, "shape 'sq' is already defined at %s:2:", first);
    expect_error("bad_dup_shape.yaml", PECS_INVALID, "inc/dup_b.yaml", 3, 3, NULL, part);
}

/* Catches a case without an encoding being accepted or reported at the wrong entry. */
Test(suite, error_case_without_encoding)
{
    expect_error("bad_no_encoding.yaml", PECS_INVALID, "bad_no_encoding.yaml", 4, 5,
                 "case has no 'encoding' or 'model' (here or in defaults)", NULL);
}

/* Catches a suite without cases (missing or empty list) loading as an empty, always-passing suite. */
Test(suite, error_cases_missing_or_empty)
{
    expect_error("bad_no_cases.yaml", PECS_INVALID, "bad_no_cases.yaml", 1, 1, "a suite needs a non-empty 'cases' list",
                 NULL);
    expect_error("bad_empty_cases.yaml", PECS_INVALID, "bad_empty_cases.yaml", 2, 8,
                 "a suite needs a non-empty 'cases' list", NULL);
}

/* Catches cross-validation errors reported without the offending case string. */
Test(suite, error_case_fails_validation)
{
    expect_error("bad_cross.yaml", PECS_INVALID, "bad_cross.yaml", 5, 5,
                 "case 'rope rotary_dim=10 " TAIL_ROPE("f32", "8", "2", "8", "contiguous", "contig@0", "1", "")
                 "': rotary_dim 10 must be even, >= 2 and <= head_dim 8",
                 NULL);
}

/* Catches unknown encodings, dtypes or metrics in a suite's `tolerances:` being ignored. */
Test(suite, error_tolerances_section)
{
    expect_error("bad_tol_encoding.yaml", PECS_INVALID, "bad_tol_encoding.yaml", 4, 3,
                 "tolerances: unknown encoding 'ropee' (did you mean 'rope'?)", NULL);
    /* a catalogued id without a reference says what is missing, as a case naming it does */
    expect_error("bad_tol_catalogued.yaml", PECS_INVALID, "bad_tol_catalogued.yaml", 4, 3, NULL,
                 "tolerances: 'rope.hyperbolic' is catalogued but undefined: ");
    expect_error("bad_tol_dtype.yaml", PECS_INVALID, "bad_tol_dtype.yaml", 5, 5, NULL, "unknown key 'f8'");
    expect_error("bad_tol_metric.yaml", PECS_INVALID, "bad_tol_metric.yaml", 4, 21,
                 "tolerances: unknown metric 'absolute'", NULL);
}

/* Regression test (bug found and fixed while building the spine): a non-scalar tolerance value is silently dropped: apply_tolerances() passes "" for a list, and
 * "" means "not overridden" to the tol_* setter. bad_tol_value.yaml with
 *   tolerances: {rope: {f32: {abs: [0.1, 0.2]}}}
 * loads and the rope f32 case has no tol_abs. Expected: an error located at the list (3:21) naming
 * key 'abs' / 'tol_abs'. */
/* Catches a list given as a tolerance value being silently ignored. */
Test(suite, error_tolerance_value_not_a_number)
{
    expect_error("bad_tol_value.yaml", PECS_INVALID, "bad_tol_value.yaml", 3, 21, NULL, "abs");
}

/* Catches a missing suite file crashing or reporting a location that does not exist. */
Test(suite, error_missing_suite_file)
{
    char path[1024], rest[1200], why[2048] = "";
    fixture(path, sizeof path, "no_such_suite.yaml");
    pecs_suite s;
    memset(&s, 0x5A, sizeof s);
    cr_expect_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_IO);
    snprintf(rest, sizeof rest, "%s: cannot open: No such file or directory", path);
    cr_expect_str_eq(why, rest);
    expect_zeroed(&s, "no_such_suite.yaml");
}

/* ---- limits and checks against the tolerance file (files written to a scratch directory) ---------------- */

static char g_scratch[64];

static const char *scratch(const char *name, const char *text, size_t len)
{
    static char path[128];
    if (!g_scratch[0]) {
        snprintf(g_scratch, sizeof g_scratch, "/tmp/pecs-suite-XXXXXX");
        cr_assert_not_null(mkdtemp(g_scratch));
    }
    snprintf(path, sizeof path, "%s/%s", g_scratch, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return path;
}

static void scratch_remove(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_scratch, name);
    remove(path);
    rmdir(g_scratch); /* once empty */
}

/* A 100k-deep flow sequence used to take libyaml ~1 min to reject. The loader stops at the 65th level, with
 * its location, in well under a second; 64 levels are still allowed (and a suite needs 5). */
Test(suite, error_deep_nesting_is_rejected_fast, .timeout = 20)
{
    enum { N = 100000 };
    char *text = malloc(2 * N + 2), why[2048] = "", want[256];
    cr_assert_not_null(text);
    memset(text, '[', N);
    memset(text + N, ']', N);
    memcpy(text + 2 * N, "\n", 2);
    const char *path = scratch("deep.yaml", text, 2 * N + 1);
    free(text);
    pecs_suite s;
    double t0 = pecs_now();
    pecs_status st = pecs_suite_load(&s, path, why, sizeof why);
    double dt = pecs_now() - t0;
    cr_expect_eq(st, PECS_LIMIT, "%s", why);
    snprintf(want, sizeof want, "%s:1:65: YAML nested deeper than 64 levels (a list inside 64 others)", path);
    cr_expect_str_eq(why, want);
    cr_expect_lt(dt, 0.5, "rejected in %.3f s", dt);
    expect_zeroed(&s, "deep.yaml");
    /* a suite value nested 61 deep is 64 levels (root, cases, entry): not a nesting error; 62 is */
    for (int extra = 0; extra < 2; extra++) {
        pecs_sb b = {0};
        pecs_sb_adds(&b, "suite: x\ncases:\n  - encoding: rope\n    freq_factors: ");
        for (int i = 0; i < 61 + extra; i++)
            pecs_sb_adds(&b, "[");
        pecs_sb_adds(&b, "1");
        for (int i = 0; i < 61 + extra; i++)
            pecs_sb_adds(&b, "]");
        pecs_sb_adds(&b, "\n");
        path = scratch("deep64.yaml", pecs_sb_str(&b), b.len);
        pecs_sb_free(&b);
        st = pecs_suite_load(&s, path, why, sizeof why);
        cr_expect_neq(st, PECS_OK);
        if (extra) {
            snprintf(want, sizeof want, "%s:4:80: YAML nested deeper than 64 levels", path);
            cr_expect(!strncmp(why, want, strlen(want)), "%s", why);
        } else {
            cr_expect_null(strstr(why, "nested deeper"), "64 levels are allowed: %s", why);
        }
    }
    scratch_remove("deep.yaml");
    scratch_remove("deep64.yaml");
}

/* A YAML file over 16 MiB is refused before libyaml parses it, located where the cap is reached; one of
 * exactly 16 MiB is read. */
Test(suite, error_file_over_size_cap, .timeout = 20)
{
    size_t line = 64, lines = PECS_YAML_MAX_BYTES / line;
    char *text = malloc(PECS_YAML_MAX_BYTES + 2), why[2048] = "", want[256];
    cr_assert_not_null(text);
    for (size_t i = 0; i < lines; i++) {
        memset(text + i * line, 'x', line - 1);
        text[i * line] = '#';
        text[i * line + line - 1] = '\n';
    }
    memcpy(text + PECS_YAML_MAX_BYTES, "x\n", 2);
    pecs_suite s;
    const char *path = scratch("big.yaml", text, PECS_YAML_MAX_BYTES + 2);
    cr_expect_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_LIMIT, "%s", why);
    snprintf(want, sizeof want, "%s:%zu:1: file is over the 16 MiB cap for a YAML file", path, lines + 1);
    cr_expect(!strncmp(why, want, strlen(want)), "want '%s', got '%s'", want, why);
    expect_zeroed(&s, "big.yaml");
    path = scratch("big.yaml", text, PECS_YAML_MAX_BYTES); /* at the cap: read (and empty: only comments) */
    cr_expect_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_PARSE, "%s", why);
    cr_expect(strstr(why, "empty YAML file"), "%s", why);
    free(text);
    scratch_remove("big.yaml");
}

/* With the tolerance file, a profile it lacks is an error located at the value that chose it (defaults, a
 * set, the case), before any case exists; without it (pecs_suite_load), the suite loads. */
Test(suite, error_unknown_profile_located)
{
    char tpath[1024], why[2048] = "", want[1200];
    snprintf(tpath, sizeof tpath, "%s/configs/tolerances.yaml", src_dir());
    pecs_tolerances t;
    cr_assert_eq(pecs_tol_load(&t, tpath, why, sizeof why), PECS_OK, "%s", why);
    static const struct {
        const char *yaml;
        int line, col;
    } bad[] = {
        {"suite: x\ndefaults:\n  level: exactt\ncases:\n  - encoding: rope\n", 3, 10},
        {"suite: x\nsets:\n  p: {level: [exact, nope]}\ncases:\n  - encoding: rope\n    use: p\n", 3, 22},
        {"suite: x\ncases:\n  - encoding: alibi\n  - encoding: rope\n    profile: nope\n", 5, 14},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *path = scratch("prof.yaml", bad[i].yaml, strlen(bad[i].yaml));
        pecs_suite s;
        cr_expect_eq(pecs_suite_load_checked(&s, path, &t, why, sizeof why), PECS_INVALID, "%zu: %s", i, why);
        snprintf(want, sizeof want, "%s:%d:%d: key 'level': value '%s' is not a level of %s (levels: exact, "
                 "f32angle)", path, bad[i].line, bad[i].col, i ? "nope" : "exactt", tpath);
        cr_expect_str_eq(why, want, "%zu", i);
        expect_zeroed(&s, "prof.yaml");
        cr_expect_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_OK, "%zu: %s", i, why);
        pecs_suite_free(&s);
    }
    pecs_tol_free(&t);
    scratch_remove("prof.yaml");
}

/* Catches an integer position dtype accepted for an encoding whose ids are real numbers (PECS_REAL_POSITIONS:
 * V2PE's fractional image ids): rejected at load, at the entry, naming the key, the value and the fix. */
Test(suite, real_position_ids_need_f64)
{
    expect_error("bad_real_positions.yaml", PECS_INVALID, "bad_real_positions.yaml", 5, 5, NULL,
                 "key 'pos_dtype': value 'i64' cannot hold the ids of 'v2pe' (V2PE's image ids are fractional");
    expect_error("bad_real_positions.yaml", PECS_INVALID, "bad_real_positions.yaml", 5, 5, NULL, "use f64");
}

/* Catches a failure after files and cases were collected leaving them allocated (the struct must come
 * back zeroed; ASan checks the memory itself). */
Test(suite, failure_frees_everything)
{
    /* bad_cross fails after its first entry produced a case and after the file list was built */
    expect_error("bad_cross.yaml", PECS_INVALID, "bad_cross.yaml", 5, 5, NULL, "rotary_dim 10");
    /* fails inside an include, after two files were recorded */
    expect_error("bad_cycle.yaml", PECS_INVALID, "inc/cycle_b.yaml", 2, 22, NULL, "include cycle");
    /* fails in the loader of the second include */
    expect_error("bad_dup_shape.yaml", PECS_INVALID, "inc/dup_b.yaml", 3, 3, NULL, "already defined");
}
