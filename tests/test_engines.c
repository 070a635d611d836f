/* tests/test_engines.c — the engine-faithful plugins (tests/plugins/engines/) on the T1 rotate suite: the
 * double-angle kernel meets the exact level everywhere; the float32 engines (HF/PyTorch eager, ggml CPU)
 * meet the f32angle level on every rotate case of the T1 and invariance suites (docs/levels.md), and their
 * error at position 100000 is printed (the number the exact level exists to catch).
 *
 * The plugins are ours and deterministic, so they run in process and without the determinism repeat:
 * isolation and determinism are tested on other plugins (test_conformance.c, test_attacks.c), and the
 * three suite runs here stay within about a minute on the 2-core machine. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "results.h"
#include "runner.h"
#include "suite.h"
#include "testutil.h"
#include "tolerance.h"

static const char *engine_so(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/libengine-%s.so", tu_env("PECS_ENGINE_DIR", "build/engine-plugins"), name);
    return buf;
}

typedef struct etally {
    int n, skipped, failing, v[PECS_V_COUNT];
    char skipped_encodings[256]; /* " a b ": each encoding once, every word between spaces */
    char first_fail[1024];
} etally;

/* Add `word` to a set kept as " a b " (unless there, or out of room). */
static void set_add(char *set, size_t n, const char *word, size_t wlen)
{
    char key[80];
    snprintf(key, sizeof key, " %.*s ", (int)wlen, word);
    size_t len = strlen(set);
    if (!strstr(set, key))
        snprintf(set + (len ? len - 1 : 0), n - (len ? len - 1 : 0), "%s", key);
}

/* Every case of the rotate suites (t1-rotate, t1-multiaxis, invariance; equivalence and invariance) on the
 * engine plugin at conformance level `level`. */
static etally run_rotate(const char *engine, const char *level)
{
    static const char *const suites[] = {"suites/t1-rotate.yaml", "suites/t1-multiaxis.yaml", "suites/invariance.yaml"};
    char why[1024], path[512], tpath[512], so[512];
    pecs_tolerances tols;
    pecs_loaded_backend lb;
    etally t;
    memset(&t, 0, sizeof t);
    cr_assert_eq(pecs_tol_load(&tols, tu_src(tpath, sizeof tpath, "configs/tolerances.yaml"), why, sizeof why), PECS_OK,
                 "%s", why);
    pecs_backend_opts bo = {.isolate = 0};
    cr_assert_eq(pecs_backend_open(engine_so(so, sizeof so, engine), &bo, &lb, why, sizeof why), PECS_OK, "%s", why);
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &tols;
    o.determinism = 0;
    for (size_t k = 0; k < sizeof suites / sizeof suites[0]; k++) {
        pecs_suite s;
        cr_assert_eq(pecs_suite_load(&s, tu_src(path, sizeof path, suites[k]), why, sizeof why), PECS_OK, "%s", why);
        for (int i = 0; i < s.n_cases; i++) {
            char spec[2048];
            snprintf(spec, sizeof spec, "%s level=%s", s.cases[i], level);
            pecs_case_result r;
            pecs_run_case(&lb, spec, &o, &r);
            t.v[r.verdict]++;
            if (r.verdict == PECS_V_SKIPPED) {
                set_add(t.skipped_encodings, sizeof t.skipped_encodings, s.cases[i], strcspn(s.cases[i], " "));
                t.skipped++;
            } else {
                t.n++;
            }
            if (pecs_verdict_fails(r.verdict) && !t.first_fail[0]) {
                char *rep = pecs_reproducer(&r, &lb);
                snprintf(t.first_fail, sizeof t.first_fail, "%s: %s | %s", pecs_verdict_name(r.verdict), r.reason, rep);
                free(rep);
            }
            t.failing += pecs_verdict_fails(r.verdict);
            pecs_case_result_free(&r);
        }
        pecs_suite_free(&s);
    }
    pecs_backend_unload(&lb);
    pecs_tol_free(&tols);
    return t;
}

/* max_abs of one case on an engine at the exact level (printed, not asserted: it documents the float32
 * engines' error, the number the exact level exists to catch). */
static void print_max_abs(const char *engine, const char *spec)
{
    char why[512], tpath[512], so[512];
    pecs_tolerances tols;
    pecs_loaded_backend lb;
    cr_assert_eq(pecs_tol_load(&tols, tu_src(tpath, sizeof tpath, "configs/tolerances.yaml"), why, sizeof why), PECS_OK);
    pecs_backend_opts bo = {.isolate = 0};
    cr_assert_eq(pecs_backend_open(engine_so(so, sizeof so, engine), &bo, &lb, why, sizeof why), PECS_OK, "%s", why);
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &tols;
    o.determinism = 0;
    pecs_case_result r;
    pecs_run_case(&lb, spec, &o, &r);
    cr_log_info("engine %s: max_abs %.3g (%s at the exact level) for %s", engine, r.metrics.max_abs,
                pecs_verdict_name(r.verdict), spec);
    pecs_case_result_free(&r);
    pecs_backend_unload(&lb);
    pecs_tol_free(&tols);
}

/* Each engine passes the level that describes it on every rotate case of the T1 and invariance suites:
 * nothing fails (cases beyond the level's range are BEYOND_LEVEL, what the engine has no form of is
 * SKIPPED with its reason), and it claims at least `min_claimed` cases. */
static void engine_passes_level(const char *engine, const char *level, int min_claimed)
{
    etally t = run_rotate(engine, level);
    cr_assert_geq(t.n, min_claimed, "%s claimed %d cases", engine, t.n);
    cr_assert_eq(t.failing, 0, "%s at %s: %d failing; first: %s", engine, level, t.failing, t.first_fail);
    cr_log_info("engine %s at %s: %d passed, %d beyond the level, %d skipped (%s)", engine, level, t.v[PECS_V_PASSED],
                t.v[PECS_V_BEYOND_LEVEL], t.skipped, t.skipped_encodings[0] ? t.skipped_encodings : "none");
    static const char *const pairing[] = {"", "pairing=half "};
    for (int k = 0; k < 2; k++) {
        char spec[512];
        snprintf(spec, sizeof spec,
                 "rope %sdtype=f32 tokens=1 heads=32 head_dim=128 layout=thd view=contiguous positions=decode@100000 "
                 "pos_dtype=i32 seed=3 check=equivalence level=exact",
                 pairing[k]);
        print_max_abs(engine, spec);
    }
}

/* The double-angle kernel is what `exact` is written for. */
Test(engines, double_passes_exact, .timeout = 600) { engine_passes_level("double", "exact", 4000); }

/* The float32 engines pass `f32angle`, and fail `exact` (at large positions). */
Test(engines, hf_passes_f32angle, .timeout = 600)
{
    engine_passes_level("hf", "f32angle", 4000);
    cr_assert_gt(run_rotate("hf", "exact").failing, 0);
}

Test(engines, ggml_passes_f32angle, .timeout = 600) { engine_passes_level("ggml", "f32angle", 2300); }
