/* tests/test_engines.c — the engine-faithful plugins (tests/plugins/engines/) on the T1 rotate suite: the
 * double-angle kernel meets the default strict profile everywhere; the float32 engines (HF/PyTorch eager,
 * ggml CPU) meet compat wherever positions stay below 4096, skip only what their engine cannot express,
 * and their error at position 100000 is printed (the number the strict profile exists to catch).
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

/* Largest position a canonical case string places (contig@N spans N .. N+tokens-1, random@N stays below
 * N); LLONG_MAX if it names none. */
static long long case_max_position(const char *c)
{
    const char *p = strstr(c, " positions="), *tk = strstr(c, " tokens=");
    const char *at = p ? strchr(p, '@') : NULL;
    if (!at)
        return LLONG_MAX;
    long long N = strtoll(at + 1, NULL, 10), T = tk ? strtoll(tk + 8, NULL, 10) : 1;
    if (!strncmp(p + 11, "contig@", 7))
        return N + T - 1;
    if (!strncmp(p + 11, "random@", 7))
        return N - 1;
    return N;
}

typedef struct etally {
    int n, skipped, v[PECS_V_COUNT];
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

/* Every equivalence case of suites/t1-rotate.yaml (only those below position `below` when it is > 0) on
 * the engine plugin, with `extra` appended to each case string. */
static etally run_rotate(const char *engine, long long below, const char *extra)
{
    char why[1024], path[512], tpath[512], so[512];
    pecs_suite s;
    pecs_tolerances tols;
    pecs_loaded_backend lb;
    etally t;
    memset(&t, 0, sizeof t);
    cr_assert_eq(pecs_suite_load(&s, tu_src(path, sizeof path, "suites/t1-rotate.yaml"), why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_tol_load(&tols, tu_src(tpath, sizeof tpath, "configs/tolerances.yaml"), why, sizeof why), PECS_OK,
                 "%s", why);
    pecs_backend_opts bo = {.isolate = 0};
    cr_assert_eq(pecs_backend_open(engine_so(so, sizeof so, engine), &bo, &lb, why, sizeof why), PECS_OK, "%s", why);
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &tols;
    o.determinism = 0;
    for (int i = 0; i < s.n_cases; i++) {
        if (!strstr(s.cases[i], "check=equivalence") || (below > 0 && case_max_position(s.cases[i]) >= below))
            continue;
        char spec[2048];
        snprintf(spec, sizeof spec, "%s%s%s", s.cases[i], extra ? " " : "", extra ? extra : "");
        pecs_case_result r;
        pecs_run_case(&lb, spec, &o, &r);
        t.v[r.verdict]++;
        if (r.verdict == PECS_V_SKIPPED) {
            set_add(t.skipped_encodings, sizeof t.skipped_encodings, s.cases[i], strcspn(s.cases[i], " "));
            t.skipped++;
        } else {
            t.n++;
        }
        if (r.verdict != PECS_V_PASSED && r.verdict != PECS_V_SKIPPED && !t.first_fail[0]) {
            char *rep = pecs_reproducer(&r, &lb);
            snprintf(t.first_fail, sizeof t.first_fail, "%s: %s | %s", pecs_verdict_name(r.verdict), r.reason, rep);
            free(rep);
        }
        pecs_case_result_free(&r);
    }
    pecs_backend_unload(&lb);
    pecs_tol_free(&tols);
    pecs_suite_free(&s);
    return t;
}

/* The double-angle kernel is what `strict` is written for: every case passes, nothing is skipped. */
Test(engines, double_passes_strict_on_t1_rotate, .timeout = 300)
{
    etally t = run_rotate("double", 0, NULL);
    cr_assert_gt(t.n, 2000);
    cr_assert_eq(t.skipped, 0, "skipped: %s", t.skipped_encodings);
    cr_assert_eq(t.v[PECS_V_PASSED], t.n, "%d of %d passed; first: %s", t.v[PECS_V_PASSED], t.n, t.first_fail);
}

/* max_abs of one case on an engine (printed, not asserted: it documents the float32 engines' error). */
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
    cr_log_info("engine %s: max_abs %.3g (%s under %s) for %s", engine, r.metrics.max_abs, pecs_verdict_name(r.verdict),
                strstr(spec, "profile=compat") ? "compat" : "strict", spec);
    pecs_case_result_free(&r);
    pecs_backend_unload(&lb);
    pecs_tol_free(&tols);
}

/* The float32 engines against compat on the cases whose largest position is below 4096 (rope.shift's
 * negative deltas, down to -4096, included); what they skip is only what their engine has no form of (HF:
 * nothing in this suite; ggml: dynamic NTK, xPos and YaRN without truncation). */
static void engine_passes_compat(const char *engine, const char *may_skip)
{
    etally t = run_rotate(engine, 4096, "profile=compat");
    cr_assert_gt(t.n, 900, "%s ran %d cases", engine, t.n);
    cr_assert_eq(t.v[PECS_V_PASSED], t.n, "%s: %d of %d passed; first: %s", engine, t.v[PECS_V_PASSED], t.n, t.first_fail);
    for (const char *e = t.skipped_encodings + (t.skipped_encodings[0] == ' '); *e;) {
        size_t k = strcspn(e, " ");
        char enc[80];
        snprintf(enc, sizeof enc, " %.*s ", (int)k, e);
        cr_assert(strstr(may_skip, enc), "%s skipped%scases (allowed:%s)", engine, enc, may_skip);
        e += k + (e[k] == ' ');
    }
    cr_log_info("engine %s: %d passed compat below position 4096, %d skipped (%s)", engine, t.v[PECS_V_PASSED], t.skipped,
                t.skipped_encodings[0] ? t.skipped_encodings : "none");
    static const char *const pairing[] = {"", "pairing=half "};
    for (int k = 0; k < 2; k++) {
        char spec[512];
        snprintf(spec, sizeof spec,
                 "rope %sdtype=f32 tokens=1 heads=32 head_dim=128 layout=thd view=contiguous positions=decode@100000 "
                 "pos_dtype=i32 seed=3 check=equivalence profile=compat",
                 pairing[k]);
        print_max_abs(engine, spec);
    }
}

Test(engines, hf_passes_compat_below_4096, .timeout = 300) { engine_passes_compat("hf", " "); }

Test(engines, ggml_passes_compat_below_4096, .timeout = 300)
{
    engine_passes_compat("ggml", " rope.dynamic_ntk xpos rope.yarn ");
}
