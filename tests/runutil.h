/* tests/runutil.h — one case through the harness's runner, as `pecs run --case` does, for the tests that show a
 * kernel passing and a mutant failing end to end. */
#ifndef PECS_RUNUTIL_H
#define PECS_RUNUTIL_H

#include <criterion/criterion.h>
#include <stdio.h>

#include "backends.h"
#include "runner.h"
#include "testutil.h"
#include "tolerance.h"

/* Run `spec` on `backend` (a built-in name or a plugin path) with the default tolerance profile and `threads`
 * (0: the backend's choice); isolate as pecs_backend_opts (-1: plugins isolated, built-ins in process). The
 * caller frees *r (pecs_case_result_free). Returns its verdict. */
static inline pecs_verdict tu_run_case(const char *backend, const char *spec, int threads, int isolate,
                                       pecs_case_result *r)
{
    char why[1024], tpath[512];
    pecs_tolerances tols;
    pecs_loaded_backend lb;
    cr_assert_eq(pecs_tol_load(&tols, tu_src(tpath, sizeof tpath, "configs/tolerances.yaml"), why, sizeof why), PECS_OK,
                 "%s", why);
    pecs_backend_opts bo = {.isolate = isolate};
    cr_assert_eq(pecs_backend_open(backend, &bo, &lb, why, sizeof why), PECS_OK, "%s: %s", backend, why);
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &tols;
    o.threads = threads;
    pecs_run_case(&lb, spec, &o, r);
    pecs_backend_unload(&lb);
    pecs_tol_free(&tols);
    return r->verdict;
}

/* tu_run_case with the defaults (plugins isolated), keeping only the verdict and its reason. */
static inline pecs_verdict tu_run_verdict(const char *backend, const char *spec, char *reason, size_t n)
{
    pecs_case_result r;
    pecs_verdict v = tu_run_case(backend, spec, 0, -1, &r);
    snprintf(reason, n, "%s", r.reason);
    pecs_case_result_free(&r);
    return v;
}

/* End to end: every case of ok[] PASSES on the scalar kernel and on the mutants' control (mutant-none), and every
 * mutant of bad[] (a row name of impls/mutants/mutants.def) FAILS ok[0], the case its bug shows on. */
static inline void tu_expect_scalar_passes_mutants_fail(const char *const *ok, size_t n_ok, const char *const *bad,
                                                         size_t n_bad)
{
    char reason[768], path[512];
    for (size_t i = 0; i < n_ok; i++)
        cr_expect_eq(tu_run_verdict("scalar", ok[i], reason, sizeof reason), PECS_V_PASSED, "%s: %s", ok[i], reason);
    snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-none.so", tu_env("PECS_BUILD", "build"));
    for (size_t i = 0; i < n_ok; i++)
        cr_expect_eq(tu_run_verdict(path, ok[i], reason, sizeof reason), PECS_V_PASSED, "control, %s: %s", ok[i], reason);
    for (size_t m = 0; m < n_bad; m++) {
        snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"), bad[m]);
        cr_expect_eq(tu_run_verdict(path, ok[0], reason, sizeof reason), PECS_V_FAILED, "%s: %s", bad[m], reason);
    }
}

#endif
