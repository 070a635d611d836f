/* tests/test_counters.c — the PAPI path, exercised through software-defined events on any machine. */
#include <criterion/criterion.h>
#include <string.h>

#include "counters.h"
#include "runner.h"
#include "testutil.h"
#include "tolerance.h"

static long long value_of(const pecs_counters *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->name[i], name))
            return c->value[i];
    return -1;
}

#ifdef PECS_HAVE_PAPI
/* pecs's own counts go out as SDEs and come back through PAPI as deltas over the counted region. */
Test(counters, sde_counts_read_back_through_papi)
{
    static const char *const ev[] = {"sde:::pecs::bytes_moved", "sde:::pecs::elements", "sde:::pecs::calls", NULL};
    pecs_counters_note_call(1e6, 1000); /* before the region: must not be counted */
    pecs_counters c;
    pecs_counters_start(&c, ev);
    cr_assert_str_eq(c.status, "ok");
    for (int i = 0; i < 3; i++)
        pecs_counters_note_call(100.0, 10);
    pecs_counters_stop(&c);
    cr_assert_eq(value_of(&c, "sde:::pecs::bytes_moved"), 300);
    cr_assert_eq(value_of(&c, "sde:::pecs::elements"), 30);
    cr_assert_eq(value_of(&c, "sde:::pecs::calls"), 3);
}

/* Events that cannot be counted here (no hardware counters in this VM, or a bogus name) are dropped with
 * PAPI's reason; the rest are still counted. */
Test(counters, unavailable_events_are_dropped_with_a_reason)
{
    static const char *const ev[] = {"PAPI_TOT_CYC", "NO_SUCH_EVENT", "sde:::pecs::calls", NULL};
    pecs_counters c;
    pecs_counters_start(&c, ev);
    pecs_counters_note_call(1.0, 1);
    pecs_counters_stop(&c);
    cr_assert_eq(value_of(&c, "sde:::pecs::calls"), 1, "%s", c.status);
    int bogus_dropped = 0;
    for (int i = 0; i < c.n_dropped; i++) {
        cr_assert_gt(strlen(c.dropped_why[i]), 0);
        bogus_dropped |= !strcmp(c.dropped[i], "NO_SUCH_EVENT");
    }
    cr_assert(bogus_dropped);
    cr_assert(!strncmp(c.status, "partial: ", 9), "%s", c.status);
}

/* A timed case records the counters per call: bytes from the SDE equal the registry's bytes model. */
Test(counters, timed_case_reports_bytes_moved_per_call)
{
    char why[512], tpath[512];
    pecs_tolerances tols;
    pecs_loaded_backend lb;
    cr_assert_eq(pecs_tol_load(&tols, tu_src(tpath, sizeof tpath, "configs/tolerances.yaml"), why, sizeof why), PECS_OK);
    cr_assert_eq(pecs_backend_load("scalar", &lb, why, sizeof why), PECS_OK);
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &tols;
    o.perf = 1;
    o.min_time_s = 0.001;
    pecs_case_result r;
    pecs_run_case(&lb, "rope dtype=f32 tokens=4 heads=2 head_dim=8", &o, &r);
    cr_assert_eq(r.verdict, PECS_V_PASSED, "%s", r.reason);
    cr_assert(r.perf.done);
    long long bytes = value_of(&r.perf.counters, "sde:::pecs::bytes_moved");
    cr_assert_eq(bytes, (long long)r.perf.bytes * r.perf.reps, "%lld vs %g x %d", bytes, r.perf.bytes, r.perf.reps);
    pecs_case_result_free(&r);
    pecs_backend_unload(&lb);
    pecs_tol_free(&tols);
}
#else
Test(counters, stub_says_why)
{
    pecs_counters c;
    pecs_counters_start(&c, pecs_counter_events);
    pecs_counters_stop(&c);
    cr_assert(strstr(c.status, "unavailable: pecs built without PAPI"), "%s", c.status);
}
#endif
