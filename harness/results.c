/* harness/results.c */
#include "results.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "pairbw.h"
#include "util.h"

/* JSON has no NaN or infinity: non-finite numbers are written as null. */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

char *pecs_reproducer_of(const char *case_str, const pecs_loaded_backend *lb)
{
    pecs_sb b = {0};
    pecs_sb_addf(&b, "pecs run --case '%s' --backend %s", case_str, pecs_backend_token(lb));
    return pecs_sb_take(&b);
}

char *pecs_reproducer(const pecs_case_result *r, const pecs_loaded_backend *lb)
{
    return pecs_reproducer_of(r->case_str ? r->case_str : "", lb);
}

static json_t *metrics_json(const pecs_metrics *m)
{
    return json_pack("{s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I,s:o,s:o}}", "elements", (json_int_t)m->n,
                     "mismatches", (json_int_t)m->mismatches, "unjudged", (json_int_t)m->unjudged,
                     "max_abs", num(m->max_abs), "max_rel", num(m->max_rel), "max_ulp", num(m->max_ulp), "nmse",
                     num(m->nmse), "zero_fraction", num(m->zero_fraction), "rounding", "judged",
                     (json_int_t)m->round_judged, "wrong", (json_int_t)m->round_wrong, "wrong_fraction",
                     num(m->round_wrong_frac), "mean_error_ulp", num(m->round_bias));
}

static json_t *tol_json(const pecs_tol *t)
{
    json_t *o = json_object();
#define PECS_X_(name, doc) json_object_set_new(o, #name, num(t->name));
    PECS_TOL_LIST(PECS_X_)
#undef PECS_X_
    return o;
}

static json_t *inv_json(const pecs_inv_result *iv)
{
    json_t *sh = json_array(), *dr = json_array(), *rd = json_array(), *vr = json_array(), *al = json_array();
    for (int i = 0; i < iv->n; i++) {
        json_array_append_new(al, num(iv->allowed[i]));
        json_array_append_new(sh, json_integer((json_int_t)iv->shift[i]));
        json_array_append_new(dr, num(iv->drift[i]));
        json_array_append_new(rd, num(iv->ref_drift[i]));
        json_array_append_new(vr, num(iv->vs_ref[i]));
    }
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:I,s:b}", "shifts", sh, "drift", dr, "allowed_drift", al, "reference_drift",
                     rd, "vs_reference", vr, "horizon", (json_int_t)iv->horizon, "horizon_full", iv->horizon_full);
}

/* Counters per timed call (totals / reps), what was dropped and why; IPC, bytes per cycle and LLC misses
 * per call when the hardware events were counted; else "hardware" says why there are none (the SDE counts
 * are kept either way). */
static json_t *counters_json(const pecs_counters *c, int reps, double bytes)
{
    json_t *o = json_pack("{s:s}", "status", c->status), *ev = json_object(), *dr = json_object();
    double cyc = 0, ins = 0, llc = -1;
    int hw = 0;
    for (int i = 0; i < c->n; i++) {
        double per = reps ? (double)c->value[i] / reps : 0.0;
        json_object_set_new(ev, c->name[i], num(per));
        hw += !strncmp(c->name[i], "PAPI_", 5);
        if (!strcmp(c->name[i], "PAPI_TOT_CYC"))
            cyc = per;
        if (!strcmp(c->name[i], "PAPI_TOT_INS"))
            ins = per;
        if (!strcmp(c->name[i], "PAPI_L3_TCM"))
            llc = per;
    }
    const char *hw_why = NULL; /* the first hardware event's reason for being dropped */
    for (int i = 0; i < c->n_dropped; i++) {
        json_object_set_new(dr, c->dropped[i], json_string(c->dropped_why[i]));
        if (!hw_why && !strncmp(c->dropped[i], "PAPI_", 5))
            hw_why = c->dropped_why[i];
    }
    json_object_set_new(o, "per_call", ev);
    json_object_set_new(o, "dropped", dr);
    if (cyc > 0 && ins > 0)
        json_object_set_new(o, "ipc", num(ins / cyc));
    if (cyc > 0 && bytes > 0)
        json_object_set_new(o, "bytes_per_cycle", num(bytes / cyc));
    if (llc >= 0)
        json_object_set_new(o, "llc_misses", num(llc));
    json_t *h = hw ? json_pack("{s:b,s:i}", "available", 1, "events", hw)
                   : json_pack("{s:b,s:s}", "available", 0, "reason",
                               hw_why ? hw_why : strncmp(c->status, "unavailable", 11) ? "no hardware event asked" : c->status);
    json_object_set_new(o, "hardware", h);
    return o;
}

/* --calibration paired: the per-repetition ratios in repetition order and their median, p10, p90. */
static json_t *ratios_json(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, num(v[i]));
    return a;
}

/* A case the paired kernel would move in under PECS_LATENCY_BOUND_S is judged by its latency (runner.h): its
 * roofline has the level, the kernel's time for its bytes and the call's times, no fraction and no ratios. */
static json_t *paired_json(const pecs_perf *p)
{
    json_t *roof = json_pack("{s:s,s:s,s:s,s:s,s:o,s:i,s:s,s:s,s:o,s:o,s:o}", "method", "paired", "judged",
                             p->latency ? "latency" : "bandwidth", "isa", p->pair_isa, "level", p->level,
                             "footprint_bytes", num(p->bytes), "threads", p->threads_used, "threads_source",
                             p->threads_source, "clock", p->pair_clock, "kernel_ns_for_bytes", num(p->bytes_ns),
                             "ns_per_call", num(p->median_s * 1e9), "overhead_ns_per_call", num(p->overhead_ns));
    if (roof && p->latency) {
        json_object_set_new(roof, "ns_per_call_p10", num(p->p10_s * 1e9));
        json_object_set_new(roof, "ns_per_call_p90", num(p->p90_s * 1e9));
        json_object_set_new(roof, "latency_bound_ns", num(PECS_LATENCY_BOUND_S * 1e9));
        json_object_set_new(roof, "note", json_string("the paired kernel moves this footprint in under latency_bound_ns: "
                                                      "the call's fixed costs, not its bandwidth, set its time, so it "
                                                      "is judged by ns_per_call (no fraction)"));
        return roof;
    }
    if (roof) {
        json_object_set_new(roof, "bandwidth_gbytes_per_s", num(p->pair_gbs));
        json_object_set_new(roof, "fraction", num(p->frac[0]));
        json_object_set_new(roof, "fraction_p10", num(p->frac[1]));
        json_object_set_new(roof, "fraction_p90", num(p->frac[2]));
        json_object_set_new(roof, "ratios", ratios_json(p->ratio, p->reps));
    }
    if (roof && p->nt_ratio) {
        json_object_set_new(roof, "nt_bandwidth_gbytes_per_s", num(p->pair_nt_gbs));
        json_object_set_new(roof, "nt_fraction", num(p->nt_frac[0]));
        json_object_set_new(roof, "nt_fraction_p10", num(p->nt_frac[1]));
        json_object_set_new(roof, "nt_fraction_p90", num(p->nt_frac[2]));
        json_object_set_new(roof, "nt_ratios", ratios_json(p->nt_ratio, p->reps));
    }
    return roof;
}

static json_t *perf_json(const pecs_perf *p)
{
    json_t *o = json_pack("{s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "reps", p->reps, "median_s",
                     num(p->median_s), "min_s", num(p->min_s), "p10_s", num(p->p10_s), "p90_s", num(p->p90_s), "mean_s",
                     num(p->mean_s), "tokens_per_s", num(p->tokens_per_s), "elements_per_s", num(p->elems_per_s),
                     "gbytes_per_s", num(p->gbytes_per_s), "bytes_per_call", num(p->bytes), "timer_resolution_s",
                     num(p->timer_res_s), "noisy", p->noisy, "counters", counters_json(&p->counters, p->reps, p->bytes));
    if (o && p->rtt_median_s > 0) /* isolated: the parent's own clock next to the worker's */
        json_object_set_new(o, "parent_clock", json_pack("{s:o,s:o}", "round_trip_median_s", num(p->rtt_median_s),
                                                         "empty_round_trip_s", num(p->ping_s)));
    if (o && p->fma_ratio) /* compute, paired with the FMA peak kernel (runner.h) */
        json_object_set_new(o, "compute", json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "method", "paired", "isa",
                                                    p->fma_isa, "flops_per_element", num(p->flops_per_elem),
                                                    "gflops_per_s", num(p->case_gflops), "fma_peak_gflops_per_s",
                                                    num(p->fma_gflops), "fraction", num(p->fma_frac[0]), "fraction_p10",
                                                    num(p->fma_frac[1]), "fraction_p90", num(p->fma_frac[2]), "ratios",
                                                    ratios_json(p->fma_ratio, p->reps)));
    if (o && p->device) { /* median_s above is end to end; the kernel alone and the device's own roofline */
        json_t *dv = json_pack("{s:s,s:o,s:i}", "end_to_end", "median_s (transfers in, run, sync, transfer out)",
                               "copy_gbytes_per_s", num(p->device_gbs), "kernel_reps", p->device_reps);
        if (dv && p->device_reps > 0) {
            json_object_set_new(dv, "kernel_median_s", num(p->kernel_s[0]));
            json_object_set_new(dv, "kernel_p10_s", num(p->kernel_s[1]));
            json_object_set_new(dv, "kernel_p90_s", num(p->kernel_s[2]));
            json_object_set_new(dv, "kernel_gbytes_per_s", num(p->bytes / p->kernel_s[0] * 1e-9));
            json_object_set_new(dv, "kernel_time_source", json_string("the device's events, as the backend reports "
                                                                      "them (bounded by the harness's clock)"));
            if (p->device_frac > 0)
                json_object_set_new(dv, "roofline_fraction", num(p->device_frac));
        }
        json_object_set_new(o, "device", dv);
    }
    json_t *roof = NULL;
    if (o && p->paired)
        roof = paired_json(p);
    else if (o && p->roof_gbs > 0) {
        roof = json_pack("{s:s,s:s,s:s,s:o}", "method", "table", "level", p->level ? p->level : "memory", "kernel",
                         p->roof_kernel, "bandwidth_gbytes_per_s", num(p->roof_gbs));
        /* A table is measured far beyond the caches: a cache-resident case is not judged against it (beyond L2
         * with no L3 size known, it is, and `level` says what is unknown). */
        int cached = p->level && strcmp(p->level, "memory") && strcmp(p->level, "beyond-L2");
        if (roof && cached)
            json_object_set_new(roof, "note", json_string("the footprint fits a cache level: not judged against the "
                                                          "table's DRAM bandwidth (--calibration paired measures it "
                                                          "at the case's footprint)"));
        else if (roof)
            json_object_set_new(roof, "fraction", num(p->gbytes_per_s / p->roof_gbs));
        if (roof && p->roof_nt_gbs > 0) {
            json_object_set_new(roof, "nt_kernel", json_string(p->roof_nt_kernel));
            json_object_set_new(roof, "nt_bandwidth_gbytes_per_s", num(p->roof_nt_gbs));
            if (!cached)
                json_object_set_new(roof, "nt_fraction", num(p->gbytes_per_s / p->roof_nt_gbs));
        }
        if (roof)
            json_object_set_new(roof, "threads", json_integer(p->roof_threads));
    }
    if (roof)
        json_object_set_new(o, "roofline", roof);
    if (o && p->threads_source) {
        json_object_set_new(o, "threads_used", json_integer(p->threads_used));
        json_object_set_new(o, "threads_source", json_string(p->threads_source));
    }
    return o;
}

int pecs_results_count(json_t *cases, int counts[PECS_V_COUNT])
{
    json_t *c;
    size_t i;
    int failed = 0;
    json_array_foreach(cases, i, c)
    {
        pecs_verdict v = pecs_verdict_from_name(json_string_value(json_object_get(c, "status")));
        if (v != PECS_V_COUNT) {
            counts[v]++;
            failed += pecs_verdict_fails(v);
        }
    }
    return failed;
}

int pecs_results_count_backend(json_t *cases, const char *token, int counts[PECS_V_COUNT])
{
    json_t *c;
    size_t i;
    int n = 0;
    json_array_foreach(cases, i, c)
    {
        const char *src = json_string_value(json_object_get(c, "backend_source"));
        pecs_verdict v = pecs_verdict_from_name(json_string_value(json_object_get(c, "status")));
        if (!src || strcmp(src, token))
            continue;
        n++;
        if (v != PECS_V_COUNT)
            counts[v]++;
    }
    return n;
}

const char *pecs_backend_token(const pecs_loaded_backend *lb)
{
    return strcmp(lb->source, "builtin") ? lb->source : lb->id.name;
}

json_t *pecs_result_json(const pecs_case_result *r, const pecs_loaded_backend *lb)
{
    char *repro = pecs_reproducer(r, lb);
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "backend", r->backend, "backend_source", pecs_backend_token(lb),
                          "case", r->case_str ? r->case_str : "", "reproducer", repro ? repro : "", "status",
                          pecs_verdict_name(r->verdict), "reason", r->reason, "seconds", num(r->seconds));
    free(repro);
    if (!c)
        return NULL;
    if (r->has_tol)
        json_object_set_new(c, "tolerance", tol_json(&r->tol));
    if (r->has_metrics)
        json_object_set_new(c, "metrics", metrics_json(&r->metrics));
    if (r->has_inv)
        json_object_set_new(c, "invariance", inv_json(&r->inv));
    if (r->perf.done)
        json_object_set_new(c, "perf", perf_json(&r->perf));
    if (r->dump[0])
        json_object_set_new(c, "dump", json_string(r->dump));
    return c;
}

pecs_status pecs_results_write(const char *path, const pecs_run_meta *m, json_t *cases, char *why, size_t why_len)
{
    pecs_machine mc;
    pecs_machine_probe(&mc);
    json_t *root = json_object(), *suites = json_array(), *backends = json_array();
    int counts[PECS_V_COUNT] = {0};
    for (int i = 0; i < m->n_suites; i++)
        for (int f = 0; f < m->suites[i].n_files; f++)
            json_array_append_new(suites, json_pack("{s:s,s:s,s:s}", "suite", m->suites[i].name, "path",
                                                    m->suites[i].files[f].path, "sha256", m->suites[i].files[f].sha256));
    for (int i = 0; i < m->n_backends; i++) {
        const pecs_loaded_backend *lb = &m->backends[i];
        const pecs_backend_ident *b = &lb->id;
        char abi[32];
        snprintf(abi, sizeof abi, "%u.%u", b->abi_major, b->abi_minor);
        json_array_append_new(backends, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "name", b->name, "version",
                                                  b->version, "description", b->description, "source", lb->source,
                                                  "sha256", lb->sha256, "abi", abi, "isa",
                                                  strcmp(b->isa, "?") ? b->isa : "unreported", "isolated", lb->isolated,
                                                  "sandbox", lb->sandbox));
        if (b->device[0]) { /* a device backend (ABI 1.1): what init() named, and its copy() bandwidth at load */
            json_t *dv = json_pack("{s:s,s:s,s:o}", "name", b->device, "driver", b->driver, "copy_gbytes_per_s",
                                   num(b->device_gbs));
            if (dv && b->device_bw_why[0])
                json_object_set_new(dv, "copy_note", json_string(b->device_bw_why));
            json_object_set_new(json_array_get(backends, json_array_size(backends) - 1), "device", dv);
        }
    }
    pecs_results_count(cases, counts);
    json_t *summary = json_object();
    for (int v = 0; v < PECS_V_COUNT; v++)
        json_object_set_new(summary, pecs_verdict_name((pecs_verdict)v), json_integer(counts[v]));
    json_object_set_new(root, "schema", json_string("pecs-results"));
    json_object_set_new(root, "schema_version", json_integer(PECS_RESULTS_SCHEMA_VERSION));
    json_object_set_new(root, "pecs", json_pack("{s:s,s:s,s:s,s:s}", "version", pecs_version, "git_commit", pecs_git_commit,
                                                "compiler", __VERSION__, "flags", pecs_build_flags));
    json_object_set_new(root, "command", json_string(m->command));
    json_object_set_new(root, "started", json_string(m->started));
    json_object_set_new(root, "finished", json_string(m->finished));
    json_object_set_new(root, "mode", json_string(m->mode));
    json_object_set_new(root, "threads", json_integer(m->threads));
    /* The thread binding the OpenMP runtime was given (pinning changes bandwidth; record what was asked). */
    const char *bind = getenv("OMP_PROC_BIND"), *places = getenv("OMP_PLACES"), *nth = getenv("OMP_NUM_THREADS");
    json_object_set_new(root, "thread_binding", json_pack("{s:s,s:s,s:s}", "OMP_PROC_BIND", bind ? bind : "unset",
                                                          "OMP_PLACES", places ? places : "unset", "OMP_NUM_THREADS",
                                                          nth ? nth : "unset"));
    json_object_set_new(root, "machine", json_pack("{s:s,s:s,s:i,s:o,s:s,s:b}", "cpu_model", mc.cpu_model, "isa", mc.isa,
                                                   "cores", mc.cores, "memory_bytes", num(mc.memory_bytes), "os", mc.os,
                                                   "hypervisor", mc.hypervisor));
    json_object_set_new(root, "suites", suites);
    json_object_set_new(root, "tolerances", json_pack("{s:s,s:s}", "path", m->tolerances_path ? m->tolerances_path : "",
                                                      "sha256", m->tolerances_sha256 ? m->tolerances_sha256 : ""));
    json_object_set_new(root, "backends", backends);
    if (m->calibration_path) {
        /* The table itself too, so the file is self-contained (an auto calibration has no file). */
        json_t *cal = json_pack("{s:s,s:s}", "path", m->calibration_path, "sha256",
                                m->calibration_sha256 ? m->calibration_sha256 : "");
        static const char *const copied[] = {"array_mib", "reps", "nt_stores", "measured", "gbytes_per_s"};
        for (size_t i = 0; cal && i < sizeof copied / sizeof *copied; i++) {
            json_t *v = json_object_get(m->calibration, copied[i]);
            if (v)
                json_object_set(cal, copied[i], v);
        }
        if (cal && !strcmp(m->calibration_path, "paired")) { /* no table: the kernels' ISA and the caches */
            const pecs_cache_info *ci = pecs_cache_info_get();
            json_t *lv = json_object();
            for (int i = 0; i < ci->n; i++)
                json_object_set_new(lv, ci->name[i], json_real(ci->bytes[i]));
            json_object_set_new(cal, "isa", json_string(pecs_pair_isa()));
            json_object_set_new(cal, "cache_bytes", lv);
            json_object_set_new(cal, "cache_source", json_string(ci->source));
        }
        json_object_set_new(root, "calibration", cal);
    }
    json_object_set_new(root, "require", m->require ? json_deep_copy(m->require) : json_array());
    if (m->shard)
        json_object_set_new(root, "shard", json_pack("{s:i,s:i,s:i,s:s}", "k", m->shard->k, "n", m->shard->n,
                                                     "selected", m->shard->selected, "selection_sha256",
                                                     m->shard->selection_sha256));
    if (m->identity)
        json_object_set_new(root, "run_identity", json_deep_copy(m->identity));
    json_object_set_new(root, "summary", summary);
    json_object_set(root, "cases", cases);
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text) {
        snprintf(why, why_len, "cannot serialise the results (out of memory?)");
        return PECS_NOMEM;
    }
    size_t len = strlen(text);
    pecs_status st = pecs_write_atomic(path, text, len, why, why_len);
    free(text);
    return st;
}

json_t *pecs_json_at(json_t *root, const char *dotted)
{
    json_t *v = root;
    for (const char *p = dotted; v && *p;) {
        size_t l = strcspn(p, ".");
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)l, p);
        v = json_object_get(v, key);
        p += l + (p[l] == '.');
    }
    return v;
}

json_t *pecs_json_load(const char *path, json_error_t *err)
{
    return strcmp(path, "-") ? json_load_file(path, 0, err) : json_loadf(stdin, 0, err);
}
