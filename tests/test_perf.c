/* tests/test_perf.c — paired measurement (--calibration paired), the calibration ISA, the cache-aware
 * roofline, the FMA peak a compute-bound case is paired with, the threads a call ran with, and the counters'
 * hardware/absent paths (issue 14). Behaviour only:
 * no speed figure is asserted (the machine is shared). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "pairbw.h"
#include "results.h"
#include "runner.h"
#include "testutil.h"
#include "tolerance.h"
#include "util.h"

#define SMALL "rope dtype=f32 tokens=4 heads=2 head_dim=8" /* 256 bytes: judged by latency when paired */
#define MID "rope dtype=f32 tokens=256 heads=8 head_dim=64"  /* 1 MiB: judged against a bandwidth when paired */

static pecs_tolerances g_tols;
static pecs_loaded_backend g_lb;

static void setup(void)
{
    char why[512], tpath[512];
    cr_assert_eq(pecs_tol_load(&g_tols, tu_src(tpath, sizeof tpath, "configs/tolerances.yaml"), why, sizeof why), PECS_OK);
    cr_assert_eq(pecs_backend_load("scalar", &g_lb, why, sizeof why), PECS_OK, "%s", why);
}

static void teardown(void)
{
    pecs_backend_unload(&g_lb);
    pecs_tol_free(&g_tols);
}

static void run_timed(pecs_loaded_backend *lb, const char *cs, int pair, int threads, pecs_case_result *r)
{
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &g_tols;
    o.perf = 1;
    o.pair = pair;
    o.threads = threads;
    o.min_time_s = 0.001;
    o.min_reps = 9;
    pecs_run_case(lb, cs, &o, r);
    cr_assert_eq(r->verdict, PECS_V_PASSED, "%s", r->reason);
    cr_assert(r->perf.done);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One ratio per timed repetition, and the reported median/p10/p90 are those of exactly these ratios. */
Test(perf, pairing_records_one_ratio_per_repetition, .init = setup, .fini = teardown)
{
    pecs_case_result r;
    run_timed(&g_lb, MID, 1, 1, &r);
    cr_assert(r.perf.paired);
    cr_assert_geq(r.perf.reps, 9);
    cr_assert_not_null(r.perf.ratio);
    double *v = malloc((size_t)r.perf.reps * sizeof *v);
    cr_assert_not_null(v);
    memcpy(v, r.perf.ratio, (size_t)r.perf.reps * sizeof *v);
    for (int i = 0; i < r.perf.reps; i++)
        cr_assert(isfinite(v[i]) && v[i] > 0, "ratio %d is %g", i, v[i]);
    qsort(v, (size_t)r.perf.reps, sizeof *v, cmp);
    cr_assert_eq(r.perf.frac[0], pecs_quantile(v, r.perf.reps, 0.5));
    cr_assert_eq(r.perf.frac[1], pecs_quantile(v, r.perf.reps, 0.1));
    cr_assert_eq(r.perf.frac[2], pecs_quantile(v, r.perf.reps, 0.9));
    cr_assert_leq(r.perf.frac[1], r.perf.frac[0]);
    cr_assert_leq(r.perf.frac[0], r.perf.frac[2]);
    /* noisy follows the ratios' spread (or a median under 100 timer ticks), not the times' */
    int want = r.perf.frac[2] > 1.2 * r.perf.frac[1] || r.perf.median_s < 100.0 * r.perf.timer_res_s;
    cr_assert_eq(r.perf.noisy, want);
    free(v);
    pecs_case_result_free(&r);
}

/* Paired, a footprint the kernel moves in under PECS_LATENCY_BOUND_S is judged by latency: the results have the
 * call's times and the kernel's time for its bytes, no fraction and no ratios, and noisy comes from the times.
 * A footprint it takes longer over keeps its fraction. */
Test(perf, a_footprint_moved_in_under_the_bound_is_judged_by_latency, .init = setup, .fini = teardown)
{
    pecs_case_result r;
    run_timed(&g_lb, SMALL, 1, 1, &r);
    cr_assert(r.perf.paired);
    cr_assert(r.perf.latency, "256 bytes moved in %g ns", r.perf.bytes_ns);
    cr_assert(r.perf.bytes_ns > 0 && r.perf.bytes_ns < PECS_LATENCY_BOUND_S * 1e9, "%g ns", r.perf.bytes_ns);
    int want = r.perf.p90_s > 1.2 * r.perf.p10_s || r.perf.median_s < 100.0 * r.perf.timer_res_s;
    cr_assert_eq(r.perf.noisy, want);
    json_t *j = pecs_result_json(&r, &g_lb);
    json_t *roof = json_object_get(json_object_get(j, "perf"), "roofline");
    cr_assert_str_eq(json_string_value(json_object_get(roof, "judged")), "latency");
    cr_assert_str_eq(json_string_value(json_object_get(roof, "level")), r.perf.level);
    cr_assert_null(json_object_get(roof, "fraction"));
    cr_assert_null(json_object_get(roof, "ratios"));
    cr_assert_null(json_object_get(roof, "bandwidth_gbytes_per_s"));
    cr_assert_eq(json_real_value(json_object_get(roof, "ns_per_call")), r.perf.median_s * 1e9);
    cr_assert_eq(json_real_value(json_object_get(roof, "ns_per_call_p10")), r.perf.p10_s * 1e9);
    cr_assert_eq(json_real_value(json_object_get(roof, "ns_per_call_p90")), r.perf.p90_s * 1e9);
    cr_assert_eq(json_real_value(json_object_get(roof, "kernel_ns_for_bytes")), r.perf.bytes_ns);
    cr_assert_not_null(json_object_get(roof, "overhead_ns_per_call"));
    cr_assert_not_null(json_object_get(roof, "note"));
    json_decref(j);
    pecs_case_result_free(&r);

    run_timed(&g_lb, MID, 1, 1, &r);
    cr_assert(!r.perf.latency, "1 MiB moved in %g ns", r.perf.bytes_ns);
    cr_assert_geq(r.perf.bytes_ns, PECS_LATENCY_BOUND_S * 1e9);
    j = pecs_result_json(&r, &g_lb);
    roof = json_object_get(json_object_get(j, "perf"), "roofline");
    cr_assert_str_eq(json_string_value(json_object_get(roof, "judged")), "bandwidth");
    cr_assert_gt(json_number_value(json_object_get(roof, "fraction")), 0.0);
    cr_assert_null(json_object_get(roof, "ns_per_call_p10"));
    json_decref(j);
    pecs_case_result_free(&r);
}

/* Without pairing nothing is paired and no ratio is kept. */
Test(perf, unpaired_runs_keep_no_ratios, .init = setup, .fini = teardown)
{
    pecs_case_result r;
    run_timed(&g_lb, SMALL, 0, 1, &r);
    cr_assert(!r.perf.paired);
    cr_assert_null(r.perf.ratio);
    json_t *j = pecs_result_json(&r, &g_lb);
    cr_assert_null(json_object_get(json_object_get(j, "perf"), "roofline"));
    json_decref(j);
    pecs_case_result_free(&r);
}

/* The ISA is the widest the CPU has, and it is recorded with the case. */
Test(perf, calibration_isa_is_the_widest_and_recorded, .init = setup, .fini = teardown)
{
    const char *isa = pecs_pair_isa();
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512f") ? "avx512f" : __builtin_cpu_supports("avx2") ? "avx2" : "sse2";
    cr_assert_str_eq(isa, want);
#else
    cr_assert_str_eq(isa, "generic");
#endif
    pecs_case_result r;
    run_timed(&g_lb, SMALL, 1, 1, &r);
    json_t *j = pecs_result_json(&r, &g_lb);
    json_t *roof = json_object_get(json_object_get(j, "perf"), "roofline");
    cr_assert_str_eq(json_string_value(json_object_get(roof, "isa")), isa);
    cr_assert_str_eq(json_string_value(json_object_get(roof, "method")), "paired");
    json_decref(j);
    pecs_case_result_free(&r);
}

Test(perf, cache_level_of_a_footprint)
{
    pecs_cache_info ci = {.n = 3, .name = {"L1d", "L2", "L3"}, .bytes = {48e3, 1e6, 32e6}};
    cr_assert_str_eq(pecs_cache_level_of(&ci, 32768), "L1d");
    cr_assert_str_eq(pecs_cache_level_of(&ci, 5e5), "L2");
    cr_assert_str_eq(pecs_cache_level_of(&ci, 4e6), "L3");
    cr_assert_str_eq(pecs_cache_level_of(&ci, 128e6), "memory");
    ci.n = 2; /* L3 unknown: never called DRAM, since it might be L3 */
    cr_assert_str_eq(pecs_cache_level_of(&ci, 4e6), "beyond-L2");
    ci.n = 0;
    cr_assert_str_eq(pecs_cache_level_of(&ci, 4e6), "memory");
}

/* A footprint that fits L1/L2 is held to the paired kernel at that footprint (ordinary stores only), and a
 * DRAM table never judges it: the roofline then has no fraction, only a note. */
Test(perf, cache_resident_case_is_not_judged_against_dram, .init = setup, .fini = teardown)
{
    const pecs_cache_info *ci = pecs_cache_info_get();
    if (ci->n == 0)
        cr_skip_test("no cache sizes on this machine (%s)", ci->source);
    pecs_case_result r;
    run_timed(&g_lb, SMALL, 1, 1, &r);
    cr_assert(!strcmp(r.perf.level, "L1d") || !strcmp(r.perf.level, "L2"), "%s", r.perf.level);
    cr_assert_null(r.perf.nt_ratio, "a streaming-store pair into a cache-resident footprint measures DRAM");
    pecs_case_result_free(&r);

    run_timed(&g_lb, SMALL, 0, 1, &r);
    r.perf.roof_gbs = 10.0, r.perf.roof_kernel = "rw22"; /* as run.c sets them from a DRAM table */
    r.perf.roof_nt_gbs = 12.0, r.perf.roof_nt_kernel = "rw22_nt";
    json_t *j = pecs_result_json(&r, &g_lb);
    json_t *roof = json_object_get(json_object_get(j, "perf"), "roofline");
    cr_assert_not_null(roof);
    cr_assert_str_eq(json_string_value(json_object_get(roof, "method")), "table");
    cr_assert_null(json_object_get(roof, "fraction"));
    cr_assert_null(json_object_get(roof, "nt_fraction"));
    cr_assert_not_null(json_object_get(roof, "note"));
    json_decref(j);
    pecs_case_result_free(&r);
}

/* The new fields survive the results file's serialisation exactly (17 significant digits). */
Test(perf, results_json_round_trips_the_paired_fields, .init = setup, .fini = teardown)
{
    pecs_case_result r;
    run_timed(&g_lb, MID, 1, 1, &r);
    json_t *j = pecs_result_json(&r, &g_lb);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_t *back = json_loads(text, 0, NULL);
    cr_assert_not_null(back);
    json_t *perf = json_object_get(back, "perf"), *roof = json_object_get(perf, "roofline");
    cr_assert_eq(json_real_value(json_object_get(roof, "fraction")), r.perf.frac[0]);
    cr_assert_eq(json_real_value(json_object_get(roof, "fraction_p10")), r.perf.frac[1]);
    cr_assert_eq(json_real_value(json_object_get(roof, "fraction_p90")), r.perf.frac[2]);
    json_t *ratios = json_object_get(roof, "ratios");
    cr_assert_eq((int)json_array_size(ratios), r.perf.reps);
    for (int i = 0; i < r.perf.reps; i++)
        cr_assert_eq(json_real_value(json_array_get(ratios, (size_t)i)), r.perf.ratio[i]);
    cr_assert_str_eq(json_string_value(json_object_get(roof, "level")), r.perf.level);
    cr_assert_eq(json_integer_value(json_object_get(roof, "threads")), r.perf.threads_used);
    cr_assert_eq(json_integer_value(json_object_get(perf, "threads_used")), r.perf.threads_used);
    cr_assert_str_eq(json_string_value(json_object_get(perf, "threads_source")), "measured");
    cr_assert_str_eq(json_string_value(json_object_get(roof, "clock")), r.perf.pair_clock);
    cr_assert(!strcmp(r.perf.pair_clock, "wall") || !strcmp(r.perf.pair_clock, "thread_cpu"));
    cr_assert_str_eq(r.perf.pair_clock, r.perf.median_s >= 1e-3 ? "thread_cpu" : "wall"); /* scalar: 1 thread */
    cr_assert_not_null(json_object_get(roof, "ns_per_call"));
    cr_assert_not_null(json_object_get(roof, "overhead_ns_per_call"));
    cr_assert_eq(json_is_true(json_object_get(perf, "noisy")), r.perf.noisy);
    free(text);
    json_decref(back);
    json_decref(j);
    pecs_case_result_free(&r);
}

/* The FMA peak kernel does the flops it counts: 2 per lane per multiply-add, twelve chains, and in a time that
 * a real core can take (chains the compiler dropped would finish in no time: over a teraflop a thread). */
Test(perf, fma_kernel_counts_what_it_runs)
{
    const char *isa = pecs_fma_isa();
    int lanes = !strcmp(isa, "avx512f") ? 16 : !strcmp(isa, "avx2+fma") ? 8 : !strncmp(isa, "sse2", 4) ? 4 : 1;
    double flops = 0.0, t = pecs_pair_fma_run(1, 100000, &flops);
    cr_assert_eq(flops, 2.0 * lanes * 12 * 100000.0, "%s: %g flops", isa, flops);
    cr_assert(t > 0 && flops / t < 1e12, "%s: %g flops in %g s", isa, flops, t);
    double f2 = 0.0;
    pecs_pair_fma_run(2, 1000, &f2);
    cr_assert_eq(f2, 2.0 * 2.0 * lanes * 12 * 1000.0, "two threads count twice the flops (%g)", f2);
}

/* A paired case whose encoding models flops (fire: an MLP per distance) is paired with the FMA peak too: one
 * ratio per repetition, its quantiles, the case's flop rate from the registry's model, and all of it in the
 * results; unpaired, none of it. */
Test(perf, compute_is_paired_with_the_fma_peak, .init = setup, .fini = teardown)
{
    const char *cs = "fire dtype=f32 heads=2 tokens=16 keys=16";
    pecs_case_result r;
    run_timed(&g_lb, cs, 1, 1, &r);
    cr_assert_not_null(r.perf.fma_ratio);
    cr_assert_eq(r.perf.flops_per_elem, 80.0); /* the registry's model for fire */
    double *v = malloc((size_t)r.perf.reps * sizeof *v);
    cr_assert_not_null(v);
    memcpy(v, r.perf.fma_ratio, (size_t)r.perf.reps * sizeof *v);
    qsort(v, (size_t)r.perf.reps, sizeof *v, cmp);
    cr_assert_eq(r.perf.fma_frac[0], pecs_quantile(v, r.perf.reps, 0.5));
    cr_assert_eq(r.perf.fma_frac[1], pecs_quantile(v, r.perf.reps, 0.1));
    cr_assert_eq(r.perf.fma_frac[2], pecs_quantile(v, r.perf.reps, 0.9));
    free(v);
    cr_assert_float_eq(r.perf.case_gflops, 80.0 * 2 * 16 * 16 / r.perf.median_s * 1e-9, 1e-9 * r.perf.case_gflops);
    cr_assert_float_eq(r.perf.fma_gflops, r.perf.case_gflops / r.perf.fma_frac[0], 1e-9 * r.perf.fma_gflops);
    json_t *j = pecs_result_json(&r, &g_lb), *cp = json_object_get(json_object_get(j, "perf"), "compute");
    cr_assert_not_null(cp);
    cr_assert_str_eq(json_string_value(json_object_get(cp, "isa")), pecs_fma_isa());
    cr_assert_eq(json_real_value(json_object_get(cp, "fraction")), r.perf.fma_frac[0]);
    cr_assert_eq((int)json_array_size(json_object_get(cp, "ratios")), r.perf.reps);
    json_decref(j);
    pecs_case_result_free(&r);
    run_timed(&g_lb, cs, 0, 1, &r);
    cr_assert_null(r.perf.fma_ratio);
    j = pecs_result_json(&r, &g_lb);
    cr_assert_null(json_object_get(json_object_get(j, "perf"), "compute"));
    json_decref(j);
    pecs_case_result_free(&r);
}

/* The roofline uses the threads a call ran with: openmp asked for 2 on one decode token runs its 1-thread
 * path; on 256 tokens it runs 2. */
Test(perf, threads_used_are_measured, .init = setup, .fini = teardown)
{
    char why[512];
    pecs_loaded_backend omp;
    if (pecs_backend_load("openmp", &omp, why, sizeof why) != PECS_OK)
        cr_skip_test("no openmp backend in this build: %s", why);
    pecs_case_result r;
    run_timed(&omp, "rope dtype=f32 tokens=1 heads=32 head_dim=128 positions=decode@100000 pairing=half", 1, 2, &r);
    cr_assert_str_eq(r.perf.threads_source, "measured");
    cr_assert_eq(r.perf.threads_used, 1);
    pecs_case_result_free(&r);
    run_timed(&omp, "rope dtype=f32 tokens=256 heads=8 head_dim=64", 1, 2, &r);
    cr_assert_eq(r.perf.threads_used, 2);
    pecs_case_result_free(&r);
    run_timed(&g_lb, "rope dtype=f32 tokens=256 heads=8 head_dim=64", 1, 2, &r); /* scalar ignores n_threads */
    cr_assert_eq(r.perf.threads_used, 1);
    pecs_case_result_free(&r);
    pecs_backend_unload(&omp);
}

/* The counters-absent path, deterministically: hardware events dropped with PAPI's reason; the results say
 * so and keep the SDE counts, with no IPC. */
Test(perf, counters_absent_path_records_the_reason, .init = setup, .fini = teardown)
{
    pecs_case_result r;
    run_timed(&g_lb, SMALL, 0, 1, &r);
    pecs_counters *c = &r.perf.counters;
    memset(c, 0, sizeof *c);
    snprintf(c->status, sizeof c->status, "partial: 1 of 2 events (dropped PAPI_TOT_CYC: Event does not exist)");
    c->n = 1;
    snprintf(c->name[0], sizeof c->name[0], "sde:::pecs::calls");
    c->value[0] = r.perf.reps;
    c->n_dropped = 1;
    snprintf(c->dropped[0], sizeof c->dropped[0], "PAPI_TOT_CYC");
    snprintf(c->dropped_why[0], sizeof c->dropped_why[0], "Event does not exist");
    json_t *j = pecs_result_json(&r, &g_lb);
    json_t *cnt = json_object_get(json_object_get(j, "perf"), "counters"), *hw = json_object_get(cnt, "hardware");
    cr_assert(json_is_false(json_object_get(hw, "available")));
    cr_assert_str_eq(json_string_value(json_object_get(hw, "reason")), "Event does not exist");
    cr_assert_eq(json_number_value(json_object_get(json_object_get(cnt, "per_call"), "sde:::pecs::calls")), 1.0);
    cr_assert_null(json_object_get(cnt, "ipc"));
    cr_assert_null(json_object_get(cnt, "bytes_per_cycle"));
    json_decref(j);
    pecs_case_result_free(&r);
}

/* The live path: where PAPI finds hardware events, cycles and instructions give IPC and bytes per cycle;
 * where it finds none (a VM without a PMU), the test is skipped with PAPI's reason. */
Test(perf, counters_hardware_path, .init = setup, .fini = teardown)
{
    pecs_case_result r;
    run_timed(&g_lb, SMALL, 0, 1, &r);
    json_t *j = pecs_result_json(&r, &g_lb);
    json_t *cnt = json_object_get(json_object_get(j, "perf"), "counters"), *hw = json_object_get(cnt, "hardware");
    cr_assert_not_null(hw);
    char why[256] = "";
    int have = json_is_true(json_object_get(hw, "available"));
    if (have) {
        cr_assert_not_null(json_object_get(cnt, "ipc"));
        cr_assert_not_null(json_object_get(cnt, "bytes_per_cycle"));
    } else {
        snprintf(why, sizeof why, "%s", json_string_value(json_object_get(hw, "reason")));
        cr_assert(why[0], "absent hardware counters must say why");
    }
    json_decref(j);
    pecs_case_result_free(&r);
    if (!have)
        cr_skip_test("no hardware counters here: %s", why);
}

/* A pair's ratio holds the kernel at the call's moment: a machine slowing down by 21% across the pair (the
 * kernel's pass before 1.0 s, after 1.21 s) and a case moving the same bytes in 1.1 s is at 1.0 of it, where a
 * pass before only would say 0.91; a case moving twice the bytes in twice the time is at the same fraction. */
Test(perf, pair_ratio_uses_the_passes_before_and_after)
{
    cr_assert_float_eq(pecs_pair_ratio(100, 1.1, 100, 1.0, 1.21), 1.0, 1e-12);
    cr_assert_float_eq(pecs_pair_ratio(200, 2.2, 100, 1.0, 1.21), 1.0, 1e-12);
    cr_assert_float_eq(pecs_pair_ratio(100, 2.0, 100, 1.0, 1.0), 0.5, 1e-12);
    cr_assert_float_eq(pecs_pair_ratio(100, 1.0, 100, 1.21, 1.0), 1.1, 1e-12);
}

/* `pecs run --calibration paired` takes at least 21 pairs per case (the median of five moved by tens of percent
 * between runs), whatever --min-time says; without pairing the default minimum stays. */
Test(perf, paired_cli_runs_take_at_least_21_pairs)
{
    tu_tmp_make("perf-reps");
    char *out = NULL, args[1024];
    const char *mode[2] = {"--calibration paired", ""};
    for (int m = 0; m < 2; m++) {
        snprintf(args, sizeof args, "run --case '" MID "' --backend scalar --mode perf --threads 1 --min-time 0 %s -q --out '%s'",
                 mode[m], tu_tmp_path("r.json"));
        cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
        free(out);
        json_error_t jerr;
        json_t *j = json_load_file(tu_tmp_path("r.json"), 0, &jerr);
        cr_assert_not_null(j, "%s", jerr.text);
        json_t *perf = json_object_get(json_array_get(json_object_get(j, "cases"), 0), "perf");
        json_int_t reps = json_integer_value(json_object_get(perf, "reps"));
        if (m == 0) {
            cr_expect_geq(reps, 21);
            cr_expect_eq(json_array_size(json_object_get(json_object_get(perf, "roofline"), "ratios")), (size_t)reps);
        } else
            cr_expect_lt(reps, 21, "unpaired runs keep the default minimum of 5 (got %lld)", (long long)reps);
        json_decref(j);
    }
    tu_tmp_remove();
}

/* The loaded-machine experiment's neighbour is bounded: it exits by itself after --seconds with status 0, and a
 * bad argument is a message naming the option and exit 2, before any memory is taken. */
Test(perf, hog_is_bounded_and_rejects_bad_arguments)
{
    char cmd[1024];
    const char *dir = tu_env("PECS_BUILD", "build");
    snprintf(cmd, sizeof cmd, "timeout 20 '%s/pecs-hog' --seconds 0.3 --mib 4 --on-ms 50 --off-ms 50", dir);
    double t0 = pecs_now();
    int st = system(cmd);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "pecs-hog did not exit by itself: status %d", st);
    cr_expect_lt(pecs_now() - t0, 15.0);
    const char *bad[] = {"--mib 0", "--mib 99999", "--seconds x", "--seconds 0", "--on-ms", "--frobnicate 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char got[1024] = "";
        snprintf(cmd, sizeof cmd, "'%s/pecs-hog' %s 2>&1; echo \"rc=$?\"", dir, bad[i]);
        FILE *f = popen(cmd, "r");
        cr_assert_not_null(f);
        size_t len = fread(got, 1, sizeof got - 1, f);
        got[len] = 0;
        pclose(f);
        char opt[32];
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(bad[i], " "), bad[i]);
        cr_expect(strstr(got, opt) && strstr(got, "rc=2"), "pecs-hog %s: %s", bad[i], got);
    }
}
