/* harness/runner.c */
#include "runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>

#include "calibrate.h"
#include "gen.h"
#include "instance.h"
#include "level.h"
#include "pairbw.h"
#include "reference.h"
#include "util.h"

void pecs_run_opts_default(pecs_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->correctness = 1;
    o->determinism = 1;
    o->min_time_s = 0.05;
    o->min_reps = 5;
    o->max_reps = 1000;
    o->warmup = 2;
}

static pecs_verdict set_reason(pecs_case_result *r, pecs_verdict v, const char *msg)
{
    r->verdict = v;
    snprintf(r->reason, sizeof r->reason, "%s", msg);
    return v;
}

/* Isolated: tensors in a shared arena; in correctness runs they end against the guard page, so a read
 * past the end faults too (timed runs keep 64-byte-aligned starts, as framework allocators give). */
static int instance_flags(const pecs_loaded_backend *lb, const pecs_run_opts *o)
{
    return lb->isolated ? PECS_INST_SHARED | (o && o->perf ? 0 : PECS_INST_END_ALIGNED) : 0;
}

/* The verdict of a call that did not return normally (CRASHED, TIMEOUT, a forged answer, a changed FP
 * environment, an error status). */
static pecs_verdict call_failed(const pecs_call *k, pecs_case_result *r)
{
    char msg[640];
    switch (k->kind) {
    case PECS_CALL_CRASHED: return set_reason(r, PECS_V_CRASHED, k->reason);
    case PECS_CALL_TIMEOUT: return set_reason(r, PECS_V_TIMEOUT, k->reason);
    case PECS_CALL_BROKEN: return set_reason(r, PECS_V_ERROR, k->reason);
    case PECS_CALL_FENV:
    case PECS_CALL_STRAY: return set_reason(r, PECS_V_FAILED, k->reason);
    case PECS_CALL_STATUS:
        if (k->st == PECS_UNSUPPORTED)
            return set_reason(r, PECS_V_ERROR, "supports() accepted the case, then run() returned 'not supported'");
        if (k->reason[0]) /* a device hook's failure, named */
            snprintf(msg, sizeof msg, "backend run() returned '%s': %s", pecs_status_str(k->st), k->reason);
        else
            snprintf(msg, sizeof msg, "backend run() returned '%s'", pecs_status_str(k->st));
        return set_reason(r, PECS_V_ERROR, msg);
    default: return PECS_V_PASSED;
    }
}

/* Run the backend once on an instance, with the ABI's rules enforced; the output is captured into
 * private memory before anything is judged. */
static pecs_verdict backend_call(pecs_loaded_backend *lb, pecs_instance *in, pecs_case_result *r)
{
    char why[512] = "";
    pecs_call k;
    pecs_backend_supports(lb, &in->problem, &in->arena, &k);
    if (k.kind == PECS_CALL_DECLINED) {
        char msg[600];
        snprintf(msg, sizeof msg, "not supported: %s", k.reason[0] ? k.reason : "(no reason given)");
        return set_reason(r, PECS_V_SKIPPED, msg);
    }
    if (k.kind != PECS_CALL_OK)
        return call_failed(&k, r);
    pecs_backend_run(lb, &in->problem, &in->arena, &k);
    pecs_counters_note_call(pecs_case_bytes(in->c), in->n_out);
    if (!pecs_instance_capture(in))
        return set_reason(r, PECS_V_ERROR, "out of memory capturing the output");
    if (k.kind == PECS_CALL_CRASHED && k.fault_offset >= 0 &&
        pecs_instance_fault_where(in, k.fault_offset, k.fault_access, why, sizeof why)) {
        /* the worker's fault notice, located like a stray write into a canary */
        set_reason(r, PECS_V_CRASHED, why);
        size_t l = strlen(r->reason);
        snprintf(r->reason + l, sizeof r->reason - l, ": %s", k.reason);
        return PECS_V_CRASHED;
    }
    if (k.kind != PECS_CALL_OK)
        return call_failed(&k, r);
    if (!pecs_instance_guards_ok(in, why, sizeof why))
        return set_reason(r, PECS_V_FAILED, why);
    return PECS_V_PASSED;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;
    return i + 1 < n ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

/* This thread's CPU time (seconds). */
static double thread_cpu(void)
{
    struct timespec ts;
    return clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) ? 0.0 : (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* On-CPU nanoseconds of each thread of this process (/proc/self/task/<tid>/schedstat), up to max; returns
 * how many were read (0 where /proc has none). */
static int task_cpu(long tid[], double ns[], int max)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    while (d && n < max && (e = readdir(d))) {
        char path[300];
        double v;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fscanf(f, "%lf", &v) == 1)
            tid[n] = strtol(e->d_name, NULL, 10), ns[n++] = v;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* Threads of this process that ran, since task_cpu() gave (tid0, ns0), for at least a third of the CPU time
 * of the busiest one: the team size of the calls in between. Relative, not to the wall time: on a shared
 * machine a team thread may get a quarter of a core; a sleeping pool thread gets nothing. */
static int busy_threads(const long tid0[], const double ns0[], int n0)
{
    long tid[256];
    double ns[256], max = 0.0;
    int n = task_cpu(tid, ns, 256), busy = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n0; j++)
            if (tid0[j] == tid[i])
                ns[i] -= ns0[j];
        max = ns[i] > max ? ns[i] : max;
    }
    for (int i = 0; i < n; i++)
        busy += max > 0 && ns[i] >= max / 3.0;
    return busy;
}

/* The read/write split of the bytes model: the output is written once, everything else is read. */
static void case_traffic(const pecs_case *c, double *rd, double *wr)
{
    *wr = (double)pecs_case_out_elems(c) * (double)pecs_dtype_size(c->dtype);
    *rd = pecs_case_bytes(c) - *wr;
    if (*rd < 0)
        *rd = 0;
}

/* median, p10, p90 of v[0..n) (sorted in place). */
static void spread(double *v, int n, double out[3])
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    out[0] = quantile(v, n, 0.50), out[1] = quantile(v, n, 0.10), out[2] = quantile(v, n, 0.90);
}

/* Timed calls. Each one is checked: the output is put back to its poisoned state before the call and its
 * bytes must equal those of the call that passed every check after it (determinism is required anyway),
 * so a kernel cannot be right when checked and fast and wrong when timed. Poisoning and comparing are
 * outside the timed region. With o->pair, every timed call follows a paired calibration kernel (pairbw.h)
 * on the same bytes, footprint and threads, and the ratio of the two is recorded per call. Returns a
 * verdict other than PASSED when a timed call misbehaves. */
static pecs_verdict time_backend(pecs_loaded_backend *lb, pecs_instance *in, const pecs_run_opts *o, pecs_perf *pf,
                                 pecs_case_result *r)
{
    char why[512];
    struct timespec res;
    clock_getres(CLOCK_MONOTONIC, &res);
    pf->timer_res_s = (double)res.tv_sec + 1e-9 * (double)res.tv_nsec;
    if (!pecs_instance_keep_checked(in))
        return set_reason(r, PECS_V_ERROR, "out of memory keeping the checked output");
    const pecs_case *c = in->c;
    double bytes = pecs_case_bytes(c), rd, wr;
    case_traffic(c, &rd, &wr);
    pf->level = pecs_cache_level_of(pecs_cache_info_get(), bytes);
    pecs_call k;
    for (int i = 0; i < o->warmup; i++) {
        pecs_instance_poison(in);
        pecs_backend_run(lb, &in->problem, &in->arena, &k);
        if (k.kind != PECS_CALL_OK)
            return call_failed(&k, r);
    }
    /* The thread count the calls run with (a backend may run fewer than asked: openmp on one decode token
     * runs its 1-thread path): the threads that ran across back-to-back calls (untimed, not poisoned; at
     * least 3 and 20 ms). Where the process has no /proc/self/task, and for an
     * isolated backend (its threads are its worker's), the requested count. */
    const int asked = o->threads > 0 ? o->threads : pecs_calibration_default_threads();
    pf->threads_used = asked, pf->threads_source = "requested";
    long tid0[256];
    double ns0[256];
    int n0 = lb->isolated ? 0 : task_cpu(tid0, ns0, 256);
    if (n0 > 0) {
        double w0 = pecs_now(), wall = 0.0;
        for (int i = 0; i < 100000 && (i < 3 || wall < 0.02); i++) {
            pecs_backend_run(lb, &in->problem, &in->arena, &k);
            if (k.kind != PECS_CALL_OK)
                return call_failed(&k, r);
            wall = pecs_now() - w0;
        }
        int t = busy_threads(tid0, ns0, n0);
        pf->threads_used = t < 1 ? 1 : t > asked ? asked : t;
        pf->threads_source = "measured";
    }
    pecs_pair_kernel pk = {0};
    /* A device kernel is not paired with a host kernel: it has the device's own copy bandwidth (device.h). */
    const int pair = o->pair && !lb->id.device[0];
    /* Streaming stores pair only beyond the last known cache level (into a cache-resident footprint they
     * measure the way to DRAM). */
    int nt = pair && (!strcmp(pf->level, "memory") || !strcmp(pf->level, "beyond-L2"));
    if (pair && !pecs_pair_kernel_init(&pk, rd, wr))
        return set_reason(r, PECS_V_ERROR, "out of memory for the paired calibration kernel");
    /* Compute-bound figures: the FMA peak paired like the bandwidth, where the registry models flops. */
    const double flops = c->enc->flops * (double)in->n_out;
    const int fma = pair && flops > 0;
    /* Per repetition: the call's wall (k.seconds) and CPU time, and the kernels' wall and CPU times of the
     * passes right before it; one more pass of each kernel follows the last call, so call i sits between
     * pass i and pass i + 1. */
    const size_t m = (size_t)o->max_reps + 1;
    double *t = malloc(m * 16 * sizeof *t), total = 0.0;
    if (!t) {
        pecs_pair_kernel_free(&pk);
        return set_reason(r, PECS_V_ERROR, "out of memory for the timings");
    }
    double *rtt = t + m, *call_cpu = rtt + m, *kern = call_cpu + m, *ratio = kern + m, *nt_ratio = ratio + m;
    double *fma_ratio = nt_ratio + m, *over = fma_ratio + m, *ts = over + m; /* ts: the call times, sorted */
    double *kw = ts + m, *kc = kw + m, *kntw = kc + m, *kntc = kntw + m; /* ordinary, streaming: wall, CPU */
    double *fmaw = kntc + m, *fmac = fmaw + m, ff = 0.0; /* FMA: wall, CPU; its flops per pass (always the same) */
    double *kb = fmac + m; /* the ordinary-store kernel's wall time for the case's bytes, per pair */
    int n = 0, nk = 0;
    pecs_verdict v = PECS_V_PASSED;
    if (pair) { /* one untimed pass each: the kernels' pages and the ISA choice are settled */
        pecs_pair_kernel_run(&pk, pf->threads_used, 0);
        if (nt)
            pecs_pair_kernel_run(&pk, pf->threads_used, 1);
    }
    pecs_counters_start(&pf->counters, pecs_counter_events);
    for (;;) {
        const int more = n < o->max_reps && (n < o->min_reps || total < o->min_time_s);
        if (more)
            pecs_instance_poison(in);
        /* The kernels' passes before call n (after the last call when there is no more): FMA, streaming,
         * ordinary last, right before the call. */
        if (fma) { /* ~0.1-1 ms: long enough for the clocks, short next to the bandwidth pairs */
            double c0 = thread_cpu();
            fmaw[n] = pecs_pair_fma_run(pf->threads_used, 1L << 16, &ff);
            fmac[n] = thread_cpu() - c0;
        }
        if (nt) {
            double c0 = thread_cpu();
            kntw[n] = pecs_pair_kernel_run(&pk, pf->threads_used, 1);
            kntc[n] = thread_cpu() - c0;
        }
        if (pair) {
            double c0 = thread_cpu();
            kw[n] = pecs_pair_kernel_run(&pk, pf->threads_used, 0);
            kc[n] = thread_cpu() - c0;
        }
        if (!more)
            break;
        double c4 = pair ? thread_cpu() : 0.0;
        pecs_backend_run(lb, &in->problem, &in->arena, &k);
        call_cpu[n] = pair ? thread_cpu() - c4 : 0.0;
        pecs_counters_note_call(bytes, in->n_out);
        if (k.kind != PECS_CALL_OK) {
            v = call_failed(&k, r);
            break;
        }
        if (!pecs_instance_same_as_checked(in, why, sizeof why)) {
            char msg[640];
            snprintf(msg, sizeof msg, "timed call %d: %s", n + 1, why);
            v = set_reason(r, PECS_V_FAILED, msg);
            break;
        }
        t[n] = k.seconds;
        rtt[n] = k.rtt;
        if (k.kernel_seconds > 0)
            kern[nk++] = k.kernel_seconds;
        total += t[n++];
    }
    pecs_counters_stop(&pf->counters);
    const double kbytes = pk.bytes; /* the kernels' bytes per pass, kept past freeing their buffers */
    pecs_pair_kernel_free(&pk);
    if (v != PECS_V_PASSED || n == 0) {
        free(t);
        return v;
    }
    memcpy(ts, t, (size_t)n * sizeof *t); /* t stays in repetition order: the ratios pair t[i] with pass i */
    qsort(ts, (size_t)n, sizeof *ts, cmp_double);
    pf->done = 1;
    pf->reps = n;
    pf->min_s = ts[0];
    pf->p10_s = quantile(ts, n, 0.10);
    pf->median_s = quantile(ts, n, 0.50);
    pf->p90_s = quantile(ts, n, 0.90);
    pf->mean_s = total / n;
    if (pair) {
        /* One thread in-process and calls of a millisecond or more: the pairs are timed on the thread's CPU
         * clock, so a time slice lost to another process (2 cores, several builds) is in neither side; shorter
         * calls are rarely preempted and the clock's own cost would weigh, so they stay on the wall clock. */
        const int cpu = pf->threads_used == 1 && !lb->isolated && pf->median_s >= 1e-3;
        pf->pair_clock = cpu ? "thread_cpu" : "wall";
        const double *call = cpu ? call_cpu : t, *ko = cpu ? kc : kw, *kn = cpu ? kntc : kntw, *kf = cpu ? fmac : fmaw;
        for (int i = 0; i < n; i++) {
            /* Call i between the kernels' passes i and i + 1 (pairbw.h): a bandwidth drifting during the
             * pair cancels, where a pass before only is off by the drift over one call. */
            ratio[i] = pecs_pair_ratio(bytes, call[i], kbytes, ko[i], ko[i + 1]);
            nt_ratio[i] = nt ? pecs_pair_ratio(bytes, call[i], kbytes, kn[i], kn[i + 1]) : 0.0;
            fma_ratio[i] = fma ? pecs_pair_ratio(flops, call[i], ff, kf[i], kf[i + 1]) : 0.0;
            kb[i] = sqrt(kw[i] * kw[i + 1]) * bytes / kbytes;
            over[i] = t[i] - kb[i];
        }
        pf->ratio = malloc((size_t)n * sizeof *pf->ratio);
        pf->nt_ratio = nt ? malloc((size_t)n * sizeof *pf->nt_ratio) : NULL;
        pf->fma_ratio = fma ? malloc((size_t)n * sizeof *pf->fma_ratio) : NULL;
        if (!pf->ratio || (nt && !pf->nt_ratio) || (fma && !pf->fma_ratio)) {
            free(t);
            pf->done = 0;
            return set_reason(r, PECS_V_ERROR, "out of memory for the paired ratios");
        }
        pf->paired = 1;
        pf->pair_isa = pecs_pair_isa();
        memcpy(pf->ratio, ratio, (size_t)n * sizeof *ratio); /* in repetition order */
        spread(ratio, n, pf->frac);
        if (nt) {
            memcpy(pf->nt_ratio, nt_ratio, (size_t)n * sizeof *nt_ratio);
            spread(nt_ratio, n, pf->nt_frac);
        }
        if (fma) {
            memcpy(pf->fma_ratio, fma_ratio, (size_t)n * sizeof *fma_ratio);
            spread(fma_ratio, n, pf->fma_frac);
            pf->fma_isa = pecs_fma_isa();
            pf->flops_per_elem = c->enc->flops;
        }
        double ov[3], kt[3];
        spread(over, n, ov);
        pf->overhead_ns = ov[0] * 1e9;
        spread(kb, n, kt);
        pf->bytes_ns = kt[0] * 1e9;
        pf->latency = kt[0] < PECS_LATENCY_BOUND_S;
    }
    if (lb->id.device[0]) {
        pf->device = 1;
        pf->device_reps = nk;
        pf->device_gbs = lb->id.device_gbs;
        if (nk > 0) {
            spread(kern, nk, pf->kernel_s);
            pf->device_frac = pf->device_gbs > 0 ? bytes / pf->kernel_s[0] * 1e-9 / pf->device_gbs : 0.0;
        }
    }
    if (lb->isolated) { /* the parent's own clock: a bound on what the worker reports (docs/threat-model.md) */
        qsort(rtt, (size_t)n, sizeof *rtt, cmp_double);
        pf->rtt_median_s = quantile(rtt, n, 0.50);
        pf->ping_s = pecs_backend_ping_s(lb);
    }
    pf->bytes = bytes;
    pf->tokens_per_s = (double)pecs_case_tokens(c) / pf->median_s;
    pf->elems_per_s = (double)pecs_case_out_elems(c) / pf->median_s;
    pf->gbytes_per_s = pf->bytes / pf->median_s * 1e-9;
    if (pf->paired) { /* the kernels' bandwidth at the median ratio: what the fraction is of */
        pf->pair_gbs = pf->gbytes_per_s / pf->frac[0];
        pf->pair_nt_gbs = pf->nt_ratio ? pf->gbytes_per_s / pf->nt_frac[0] : 0.0;
        pf->case_gflops = flops / pf->median_s * 1e-9;
        pf->fma_gflops = pf->fma_ratio ? pf->case_gflops / pf->fma_frac[0] : 0.0;
    }
    /* Paired, the spread of the ratios is the measurement's: a neighbour that slows both sides of a pair
     * does not widen it, one that comes and goes within a pair does. A case judged by latency has the spread
     * of its times. */
    const int by_ratio = pf->paired && !pf->latency;
    double spread_hi = by_ratio ? pf->frac[2] : pf->p90_s, spread_lo = by_ratio ? pf->frac[1] : pf->p10_s;
    pf->noisy = spread_hi > 1.2 * spread_lo || pf->median_s < 100.0 * pf->timer_res_s;
    free(t);
    return PECS_V_PASSED;
}

/* ---- equivalence ---------------------------------------------------------------------------------- */

/* The raw output and reference (what the rounding check and the determinism repeat judge) are the compared
 * arrays themselves until something rescales those (softmax, a rotate gain): only then are they copied. A bias
 * of 32 x 4096 x 4096 holds 537M elements, and every double array of them is 4 GiB. */
static int keep_raw(const double *actual, const double *expected, int64_t n, double **first, double **raw_expected)
{
    if (*first != actual)
        return 1;
    double *f = pecs_malloc_big((size_t)n * sizeof *f), *e = pecs_malloc_big((size_t)n * sizeof *e);
    if (!f || !e) {
        free(f), free(e);
        return 0;
    }
    memcpy(f, actual, (size_t)n * sizeof *f);
    memcpy(e, expected, (size_t)n * sizeof *e);
    *first = f, *raw_expected = e;
    return 1;
}

/* Divide rotate outputs ([T][H][D], logical order) by the schedule's per-(token, pair) gain where it has
 * one (xPos): elements are then judged against the rotation they are (see pecs_ref_rotate_gain). The
 * reference is rounded to the output dtype first, as every comparison does: where the gain under- or
 * overflows the dtype, the representable answer (0 or infinity) is what the kernel must store.
 * Divided out, a stored value's quantum grows by 1/g: below the smallest normal it is the dtype's subnormal
 * spacing q, whatever the element's size, and a kernel's float32 gain is itself subnormal below 2^-126 (the
 * authors' code computes it in float32). With a gain, the raw arrays are kept apart first (keep_raw), *gain_el
 * gets each element's gain and *quantum (both allocated here, NULL without a gain) each element's
 * allowance for both, (|r| + 1) q / g with r the rotation and q the larger of float32's and the dtype's
 * spacing: twice the two half-quantum roundings; negligible wherever the stored value is normal
 * (xpos gamma=0.8 scale_base=16 at position 3000: g ~ 1e-44, one quantum is half the value). */
static int unscale_gains(const pecs_instance *in, double *actual, double *expected, double **first, double **raw_expected,
                         double **gain_el, double **quantum)
{
    const pecs_case *c = in->c;
    int64_t T = pecs_case_tokens(c), H = c->heads, D = c->head_dim, R = 0;
    double *gain = malloc((size_t)(T * D) * sizeof *gain); /* T x R/2 <= T x D */
    if (!gain)
        return 0;
    pecs_problem tp;
    pecs_tensor tt[8];
    pecs_instance_trusted(in, &tp, tt);
    *quantum = *gain_el = NULL;
    if (pecs_ref_rotate_gain(&tp, gain, &R)) {
        int half = pecs_param_is(&in->problem, "pairing", "half");
        double q = fmax(pecs_dtype_true_min(PECS_DT_F32), pecs_dtype_true_min(c->dtype));
        *quantum = calloc((size_t)in->n_out, sizeof **quantum);
        *gain_el = malloc((size_t)in->n_out * sizeof **gain_el);
        if (!*quantum || !*gain_el || !keep_raw(actual, expected, in->n_out, first, raw_expected)) {
            free(gain);
            return 0;
        }
        for (int64_t i = 0; i < in->n_out; i++)
            (*gain_el)[i] = 1.0;
        for (int64_t t = 0; t < T; t++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < R / 2; i++) {
                    double g = gain[t * (R / 2) + i];
                    int64_t a = (t * H + h) * D + (half ? i : 2 * i), b = a + (half ? R / 2 : 1);
                    actual[a] /= g, actual[b] /= g;
                    (*gain_el)[a] = g, (*gain_el)[b] = g;
                    (*quantum)[a] = (fabs(expected[a] / g) + 1.0) * q / g;
                    (*quantum)[b] = (fabs(expected[b] / g) + 1.0) * q / g;
                    expected[a] = pecs_round_to(expected[a], c->dtype) / g;
                    expected[b] = pecs_round_to(expected[b], c->dtype) / g;
                }
    }
    free(gain);
    return 1;
}

/* The largest share of a case's elements the reference may leave undecided (pecs_ref_undecided) before the case is
 * MISTRUSTED: with inputs uniform in [-1, 1) a float32 threshold is undecided for about 2e-5 of tra's keys at D = 64.
 * A kattn case (extended_mind's top-k) may also leave one whole (query, head) row: about 0.1% of its rows are
 * undecided at M = 64, D = 64, and one row of a short case is already over 1%. */
#define PECS_UNDECIDED_MAX_FRAC 0.01

/* pine decides one document order for a whole group of rows (a document's queries, at one head): one group, its
 * longest document's rows, may be left like extended_mind's one row. 1 for every other encoding. */
static int64_t pine_group_rows(const pecs_case *c)
{
    int64_t rows = 1;
    for (int i = 0; !strcmp(c->enc->id, "pine") && i < c->n_params; i++)
        for (int64_t j = 0; !strcmp(c->params[i].name, "lengths") && j < c->params[i].n; j++)
            rows = c->params[i].list[j] > (double)rows ? (int64_t)c->params[i].list[j] : rows;
    return rows;
}

/* Judge the captured output of an instance against the reference: verdict, metrics, the first bad element
 * located in the tensor, and rounding, in r. *first_out (if not NULL) gets the raw output (malloc'd), for the
 * determinism repeat. The run's backends and `pecs eval --check`'s given output take the same path. */
/* Slack of a real-valued position id (PECS_REAL_POSITIONS): 4 float32 ulps of the expected id, enough for a kernel
 * that computes the ids in float32 as the authors' code does (torch.linspace / torch.arange, a few roundings each),
 * 0 at 0 (an f32 kernel stores 0 exactly). */
static double real_id_slack(double expected)
{
    double a = fabs(expected);
    return a > 0 && isfinite(a) ? 4.0 * ldexp(1.0, ilogb(a) - 23) : 0.0;
}

static void judge(pecs_instance *in, const pecs_case *c, pecs_case_result *r, double **first_out)
{
    char why[512] = "";
    pecs_status st;
    double *expected = NULL, *actual = NULL, *first = NULL, *extra = NULL, *raw_expected = NULL, *gain_el = NULL;
    double *quantum = NULL;
    unsigned char *skip = NULL; /* scores elements behind a threshold the reference cannot decide (pecs_ref_undecided) */
    double *skip_lo = NULL, *skip_hi = NULL; /* the range every combination of those decisions gives */
    int64_t n_skip = 0;
    expected = pecs_malloc_big((size_t)in->n_out * sizeof *expected);
    actual = pecs_malloc_big((size_t)in->n_out * sizeof *actual);
    int undecidable = c->enc->form == PECS_FORM_SCORES || c->enc->form == PECS_FORM_KATTN; /* tra, extended_mind */
    if (undecidable) {
        skip = calloc((size_t)in->n_out, 1);
        skip_lo = pecs_malloc_big((size_t)in->n_out * sizeof *skip_lo);
        skip_hi = pecs_malloc_big((size_t)in->n_out * sizeof *skip_hi);
    }
    if (!expected || !actual || (undecidable && (!skip || !skip_lo || !skip_hi))) {
        set_reason(r, PECS_V_ERROR, "out of memory for the comparison");
        goto cleanup;
    }
    st = pecs_instance_reference_ex(in, expected, skip, skip_lo, skip_hi, &n_skip, why, sizeof why);
    if (st != PECS_OK) {
        set_reason(r, PECS_V_ERROR, why);
        goto cleanup;
    }
    pecs_instance_actual(in, actual);
    r->has_metrics = 1;
    first = actual, raw_expected = expected; /* aliases until a rescaling needs them apart (keep_raw) */
    if (c->compare == PECS_COMPARE_SOFTMAX) { /* forms equal after softmax only: compare probabilities */
        int64_t K = pecs_case_keys(c);
        if (!keep_raw(actual, expected, in->n_out, &first, &raw_expected)) {
            set_reason(r, PECS_V_ERROR, "out of memory for the comparison");
            goto cleanup;
        }
        pecs_softmax_rows(actual, in->n_out / K, K);
        pecs_softmax_rows(expected, in->n_out / K, K);
    }
    if (c->enc->form == PECS_FORM_ROTATE && !unscale_gains(in, actual, expected, &first, &raw_expected, &gain_el, &quantum)) {
        set_reason(r, PECS_V_ERROR, "out of memory for the comparison");
        goto cleanup;
    }
    if (r->tol.angle_eps > 0 && c->enc->form == PECS_FORM_ROTATE) { /* the level's angle model (level.h) */
        pecs_problem tp;
        pecs_tensor tt[8];
        double max_dtheta = 0.0;
        int64_t beyond = 0, angles = 0;
        pecs_instance_trusted(in, &tp, tt);
        if (!(extra = calloc((size_t)in->n_out, sizeof *extra))) {
            set_reason(r, PECS_V_ERROR, "out of memory for the comparison");
            goto cleanup;
        }
        st = pecs_level_rotate_allowance(&tp, c, pecs_problem_tensor(&tp, "pos"), &r->tol, expected, extra, &max_dtheta,
                                         &beyond, &angles, why, sizeof why);
        if (st != PECS_OK) {
            set_reason(r, PECS_V_ERROR, why);
            goto cleanup;
        }
        for (int64_t i = 0; quantum && i < in->n_out; i++)
            extra[i] += quantum[i];
        if (beyond && beyond == angles) {
            snprintf(r->reason, sizeof r->reason, "beyond the %s level's range at position %.3g: its angle error "
                     "allowance exceeds %.3g rad for every pair, so the check would prove nothing", c->level,
                     in->max_abs_pos, r->tol.angle_max);
            r->verdict = PECS_V_BEYOND_LEVEL;
            r->has_metrics = 0;
            goto cleanup;
        }
        r->verdict = pecs_compare_ex(actual, expected, extra, in->n_out, c->dtype, &r->tol, in->max_abs_pos, &r->metrics,
                                     r->reason, sizeof r->reason);
        if (r->verdict == PECS_V_PASSED && beyond &&
            !pecs_level_norms_ok(&tp, c, &r->tol, extra, actual, expected, r->reason, sizeof r->reason))
            r->verdict = PECS_V_FAILED;
        if (r->verdict == PECS_V_PASSED && beyond)
            snprintf(r->reason, sizeof r->reason, "%lld of %lld (token, pair) angles beyond the %s level's range (allowance "
                     "over %.3g rad, up to position %.3g): judged by their norm only", (long long)beyond,
                     (long long)angles, c->level, r->tol.angle_max, in->max_abs_pos);
    } else {
        extra = quantum, quantum = NULL; /* NULL without a gain */
        if (n_skip > 0 && !extra && !(extra = calloc((size_t)in->n_out, sizeof *extra))) {
            set_reason(r, PECS_V_ERROR, "out of memory for the comparison");
            goto cleanup;
        }
        for (int64_t i = 0; n_skip > 0 && i < in->n_out; i++)
            if (skip[i])
                extra[i] = INFINITY; /* not judged: counted in metrics.unjudged */
        r->verdict = pecs_compare_ex(actual, expected, extra, in->n_out, c->dtype, &r->tol, in->max_abs_pos, &r->metrics,
                                     r->reason, sizeof r->reason);
        if (n_skip > 0 && r->verdict != PECS_V_FAILED && /* unjudged is not unchecked: NaN there is still wrong */
            pecs_compare_undecided(actual, skip, skip_lo, skip_hi, in->n_out, c->dtype, &r->tol, in->max_abs_pos,
                                   &r->metrics, r->reason, sizeof r->reason) == PECS_V_FAILED)
            r->verdict = PECS_V_FAILED;
        if (n_skip > 0 && r->verdict == PECS_V_PASSED) {
            /* Undecided elements depend on the data alone, never on the kernel; past a small share the agreement
             * on the rest proves too little (docs/encodings.md, tra). */
            /* kattn (extended_mind, longheads, pine) leaves whole (query, head) rows: one row (pine: one document's
             * rows, which one order decides) is allowed whatever the share */
            int pine = !strcmp(c->enc->id, "pine");
            int64_t row = c->enc->form == PECS_FORM_KATTN ? c->head_dim * pine_group_rows(c) : 0;
            int over = (double)n_skip > PECS_UNDECIDED_MAX_FRAC * (double)in->n_out && n_skip > row;
            const char *what = pine ? "a document order"
                               : !strcmp(c->enc->id, "longheads") ? "a top-k chunk selection"
                               : c->enc->form == PECS_FORM_KATTN ? "a top-k memory selection"
                                                                 : "a keep threshold of the dot product";
            snprintf(r->reason, sizeof r->reason, "%lld of %lld elements undecided (%s within float32 rounding): not "
                     "judged%s", (long long)n_skip, (long long)in->n_out, what,
                     over ? (pine ? "; more than the 1% (or one document's rows) a case may leave unjudged"
                                  : "; more than the 1% (or one row) a case may leave unjudged")
                          : "");
            if (over)
                r->verdict = PECS_V_MISTRUSTED;
        }
    }
    if (c->enc->form == PECS_FORM_POSMAP && r->verdict != PECS_V_ERROR) { /* ids: exact, whatever the dtype */
        int64_t bad = 0;
        int real = pecs_registry_real_positions(c->enc) != NULL; /* real ids: within float32 rounding */
        for (int64_t i = 0; i < in->n_out; i++)
            if (!(actual[i] == expected[i] || (real && fabs(actual[i] - expected[i]) <= real_id_slack(expected[i]))) &&
                bad++ == 0)
                r->metrics.first_bad = i, r->metrics.first_actual = actual[i], r->metrics.first_expected = expected[i];
        r->metrics.mismatches = bad;
        if (bad)
            snprintf(r->reason, sizeof r->reason, "%lld of %lld position ids differ (%s): first %.17g, expected %.17g",
                     (long long)bad, (long long)in->n_out,
                     real ? "real ids are compared within 4 float32 ulps" : "ids are compared exactly",
                     r->metrics.first_actual, r->metrics.first_expected);
        r->verdict = bad ? PECS_V_FAILED : PECS_V_PASSED;
        if (!bad)
            r->reason[0] = '\0';
    }
    if (r->verdict == PECS_V_FAILED && r->metrics.first_bad >= 0) { /* the flat index, located in the tensor */
        char loc[384];
        size_t l = strlen(r->reason);
        pecs_instance_locate(in, r->metrics.first_bad, loc, sizeof loc);
        if (l < sizeof r->reason)
            snprintf(r->reason + l, sizeof r->reason - l, "; that is %s", loc);
    }
    /* Rounding, where decidable (compare.h): on the raw output; softmax-compared forms differ from the reference
     * by a per-row constant by design, so their stored values say nothing about rounding. */
    if ((r->verdict == PECS_V_PASSED || r->verdict == PECS_V_MISTRUSTED) && c->compare == PECS_COMPARE_RAW &&
        c->enc->form != PECS_FORM_POSMAP && /* ids are stored exactly or not at all: judged above */
        pecs_compare_rounding(first, raw_expected, extra, gain_el, in->n_out, c->dtype, &r->tol, &r->metrics, why,
                              sizeof why) == PECS_V_FAILED)
        set_reason(r, PECS_V_FAILED, why);
    if (c->enc->form == PECS_FORM_MASK && r->verdict == PECS_V_MISTRUSTED) {
        /* A mask is zeros by design; it proves nothing only when it is uniform (all visible or none). */
        int64_t visible = 0;
        for (int64_t i = 0; i < in->n_out; i++)
            visible += expected[i] == 0.0;
        if (visible > 0 && visible < in->n_out)
            r->verdict = PECS_V_PASSED, r->reason[0] = '\0';
    }
    if (first_out) {
        *first_out = first;
        if (first == actual)
            actual = NULL;
        first = NULL;
    }
cleanup:
    free(skip);
    free(skip_lo);
    free(skip_hi);
    if (first != actual)
        free(first);
    if (raw_expected != expected)
        free(raw_expected);
    free(expected);
    free(actual);
    free(extra);
    free(gain_el);
    free(quantum);
}

static void run_equivalence(pecs_loaded_backend *lb, const pecs_case *c, const pecs_run_opts *o,
                            pecs_case_result *r)
{
    char why[512] = "";
    pecs_instance in;
    double *first = NULL, *actual = NULL;
    pecs_status st = pecs_instance_create_ex(&in, c, 0, PECS_STREAM_X, instance_flags(lb, o), why, sizeof why);
    if (st != PECS_OK) {
        set_reason(r, PECS_V_ERROR, why[0] ? why : pecs_status_str(st));
        return;
    }
    in.problem.n_threads = c->threads ? c->threads : o->threads; /* the case's threads= wins over --threads */
    if (backend_call(lb, &in, r) != PECS_V_PASSED)
        goto cleanup;
    judge(&in, c, r, &first); /* checked in every mode: a wrong kernel's timing is not reported as a result */
    if (o->dump_dir && r->verdict == PECS_V_FAILED) {
        char hex[65], dir[sizeof r->dump];
        pecs_sha256_hex(r->case_str, strlen(r->case_str), hex);
        snprintf(dir, sizeof dir, "%s/%s-%.12s", o->dump_dir, lb->id.name, hex);
        if (pecs_instance_dump(&in, dir, why, sizeof why) == PECS_OK)
            snprintf(r->dump, sizeof r->dump, "%s", dir);
        else /* the verdict stands; the reason says the dump is missing */
            snprintf(r->reason + strlen(r->reason), sizeof r->reason - strlen(r->reason), " (--dump failed: %s)", why);
    }
    if (o->determinism && r->verdict == PECS_V_PASSED && first) {
        /* Same inputs again: the output must be the same bits. */
        if (!(actual = pecs_malloc_big((size_t)in.n_out * sizeof *actual))) {
            set_reason(r, PECS_V_ERROR, "out of memory for the comparison");
            goto cleanup;
        }
        pecs_instance_reset(&in);
        in.problem.n_threads = 1; /* the repeat: same inputs, one thread */
        if (backend_call(lb, &in, r) != PECS_V_PASSED)
            goto cleanup;
        in.problem.n_threads = c->threads ? c->threads : o->threads;
        pecs_instance_actual(&in, actual);
        for (int64_t i = 0; i < in.n_out; i++)
            if (memcmp(&actual[i], &first[i], sizeof *actual) != 0) {
                snprintf(r->reason, sizeof r->reason, "a second run on the same inputs (at 1 thread; the first at %s) "
                         "differs at element %lld: %.9g, then %.9g", c->threads || o->threads ? "the requested "
                         "threads" : "the backend's default threads", (long long)i, first[i], actual[i]);
                r->verdict = PECS_V_NONDETERMINISTIC;
                break;
            }
    }
    if (o->perf && r->verdict == PECS_V_PASSED) {
        free(first), free(actual); /* judged: the timing holds its own checked copy, not these */
        first = actual = NULL;
        time_backend(lb, &in, o, &r->perf, r);
    }
cleanup:
    free(first);
    free(actual);
    pecs_instance_free(&in);
}

/* ---- invariance ------------------------------------------------------------------------------------ */

/* Logits of one shift from outputs a (q side) and b (k side, NULL for bias). */
static void logits(const pecs_case *c, const double *a, const double *b, double *L)
{
    int64_t T = pecs_case_tokens(c), H = c->heads, D = c->head_dim;
    if (pecs_form_pairwise(c->enc->form)) {
        memcpy(L, a, (size_t)pecs_case_out_elems(c) * sizeof *L);
        return;
    }
    if (c->enc->form == PECS_FORM_EMBED)
        H = 1;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++)
                    s += a[(i * H + h) * D + d] * b[(j * H + h) * D + d];
                L[(h * T + i) * T + j] = s;
            }
}

static double logit_scale(const pecs_case *c, const double *a, const double *b, int64_t nL, const double *L)
{
    double s = 0.0;
    if (pecs_form_pairwise(c->enc->form)) {
        for (int64_t i = 0; i < nL; i++)
            if (isfinite(L[i]))
                s = fmax(s, fabs(L[i]));
        return s > 0.0 ? s : 1.0;
    }
    int64_t T = pecs_case_tokens(c), H = c->enc->form == PECS_FORM_EMBED ? 1 : c->heads, D = c->head_dim;
    double qa = 0.0, kb = 0.0;
    for (int64_t t = 0; t < T * H; t++) {
        double nq = 0.0, nk = 0.0;
        for (int64_t d = 0; d < D; d++) {
            nq += a[t * D + d] * a[t * D + d];
            nk += b[t * D + d] * b[t * D + d];
        }
        qa = fmax(qa, sqrt(nq));
        kb = fmax(kb, sqrt(nk));
    }
    return qa * kb > 0.0 ? qa * kb : 1.0;
}

static double max_diff(const double *x, const double *y, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] == y[i] ? 0.0 : fabs(x[i] - y[i]); /* equal infinities (masked logits) agree */
        m = isnan(d) ? INFINITY : fmax(m, d);
    }
    return m;
}

/* Outputs (backend and reference) of one side (stream) at one shift. */
static pecs_verdict side_outputs(pecs_loaded_backend *lb, const pecs_case *c, int64_t shift, uint64_t stream,
                                 double *act, double *ref, pecs_case_result *r, double *max_pos, double *a_per_pos)
{
    char why[512] = "";
    pecs_instance in;
    pecs_status st = pecs_instance_create_ex(&in, c, shift, stream, instance_flags(lb, NULL), why, sizeof why);
    if (st != PECS_OK)
        return set_reason(r, PECS_V_ERROR, why[0] ? why : pecs_status_str(st));
    *max_pos = in.max_abs_pos;
    in.problem.n_threads = c->threads; /* the case's threads= (0: the backend's choice) */
    if (a_per_pos) {
        pecs_problem tp;
        pecs_tensor tt[8];
        pecs_instance_trusted(&in, &tp, tt);
        *a_per_pos = pecs_level_angle_per_position(&tp, c, &r->tol);
    }
    pecs_verdict v = backend_call(lb, &in, r);
    if (v == PECS_V_PASSED) {
        pecs_instance_actual(&in, act);
        if ((st = pecs_instance_reference(&in, ref, why, sizeof why)) != PECS_OK)
            v = set_reason(r, PECS_V_ERROR, why);
    }
    pecs_instance_free(&in);
    return v;
}

/* A negative control judges the drift between the backend's logits at shift 0 and at the first nonzero
 * shift. NaN or infinity in the outputs makes that drift infinite, which would read as "not invariant, as
 * expected": the control proves something only from finite logits at both shifts. L0 holds shift 0's
 * logits; with those finite, drift[1] is finite exactly when the logits at shift[1] are. Returns the shift
 * whose logits are not finite, or -1 if both are. */
static int64_t control_nonfinite_shift(const pecs_inv_result *iv, const double *L0, int64_t nL)
{
    for (int64_t i = 0; i < nL; i++)
        if (!isfinite(L0[i]))
            return iv->shift[0];
    return iv->n > 1 && !isfinite(iv->drift[1]) ? iv->shift[1] : -1;
}

static void run_invariance(pecs_loaded_backend *lb, const pecs_case *c, pecs_case_result *r)
{
    int64_t T = pecs_case_tokens(c), n = pecs_case_out_elems(c);
    int pairwise = pecs_form_pairwise(c->enc->form);
    int64_t nL = pairwise ? n : (c->enc->form == PECS_FORM_EMBED ? 1 : c->heads) * T * T;
    int two = !pairwise;
    double *qa = malloc((size_t)n * sizeof(double)), *qr = malloc((size_t)n * sizeof(double));
    double *ka = two ? malloc((size_t)n * sizeof(double)) : NULL, *kr = two ? malloc((size_t)n * sizeof(double)) : NULL;
    double *L0 = malloc((size_t)nL * sizeof(double)), *R0 = malloc((size_t)nL * sizeof(double));
    double *L = malloc((size_t)nL * sizeof(double)), *Rl = malloc((size_t)nL * sizeof(double));
    if (!qa || !qr || (two && (!ka || !kr)) || !L0 || !R0 || !L || !Rl) {
        set_reason(r, PECS_V_ERROR, "out of memory for the invariance sweep");
        goto cleanup;
    }
    pecs_inv_result *iv = &r->inv;
    iv->n = 0; /* counts completed shifts: a sweep cut short by an error reports only what it measured */
    iv->horizon = -1;
    double scale = 1.0, ref_scale = 1.0, a_per_pos = 0.0, p0 = 0.0;
    int broken = 0;
    int64_t beyond = -1; /* the first shift beyond the level's range (not judged) */
    for (int s = 0; s < c->n_shifts; s++) {
        int64_t d = c->shifts[s];
        double pq = 0.0, pk = 0.0;
        if (side_outputs(lb, c, d, PECS_STREAM_X, qa, qr, r, &pq, s == 0 ? &a_per_pos : NULL) != PECS_V_PASSED)
            goto cleanup;
        if (two && side_outputs(lb, c, d, PECS_STREAM_K, ka, kr, r, &pk, NULL) != PECS_V_PASSED)
            goto cleanup;
        double pmax = fmax(pq, pk);
        if (s == 0)
            p0 = pmax;
        /* The level's angle model (level.h): q' and k' may each be off by A*P in angle at shift 0 and at d. */
        double allowed = r->tol.drift + 2.0 * a_per_pos * (p0 + pmax);
        if (r->tol.angle_max > 0 && a_per_pos * pmax > r->tol.angle_max) {
            beyond = d;
            break;
        }
        double *Lb = s == 0 ? L0 : L, *Lr = s == 0 ? R0 : Rl;
        logits(c, qa, ka, Lb);
        logits(c, qr, kr, Lr);
        if (s == 0) {
            scale = logit_scale(c, qa, ka, nL, Lb);
            ref_scale = logit_scale(c, qr, kr, nL, Lr);
        }
        iv->n = s + 1;
        r->has_inv = 1;
        iv->shift[s] = d;
        iv->drift[s] = max_diff(Lb, L0, nL) / scale;
        iv->ref_drift[s] = max_diff(Lr, R0, nL) / ref_scale;
        iv->vs_ref[s] = max_diff(Lb, Lr, nL) / ref_scale;
        iv->allowed[s] = allowed;
        if (!broken && iv->drift[s] <= allowed)
            iv->horizon = d;
        else
            broken = 1;
    }
    iv->horizon_full = !broken && beyond < 0;
    char msg[512];
    double max_drift = 0.0, max_ref_drift = 0.0;
    for (int s = 0; s < iv->n; s++) {
        max_drift = fmax(max_drift, iv->drift[s]);
        max_ref_drift = fmax(max_ref_drift, iv->ref_drift[s]);
    }
    /* The oracle itself must be invariant, or the check measures the reference, not the backend. */
    if (c->enc->invariance != PECS_INV_NONE && max_ref_drift > PECS_REF_DRIFT_MAX) {
        if (c->enc->invariance == PECS_INV_FIXED_L)
            snprintf(r->reason, sizeof r->reason, "the reference itself drifts by %.3g: '%s' is invariant only while its "
                     "length-dependent quantity is fixed (set seq_len, or keep positions under the threshold); the case "
                     "does not test invariance", max_ref_drift, c->enc->id);
        else
            snprintf(r->reason, sizeof r->reason, "the reference itself drifts by %.3g (> %.0e): harness error, not a "
                     "verdict on the backend (positions beyond what double can represent for this encoding?)",
                     max_ref_drift, PECS_REF_DRIFT_MAX);
        r->verdict = PECS_V_ERROR;
        goto cleanup;
    }
    int64_t first_bad = 0;
    double bad_drift = 0.0;
    for (int s = 0; s < iv->n; s++)
        if (iv->drift[s] > iv->allowed[s]) {
            first_bad = iv->shift[s];
            bad_drift = iv->drift[s];
            break;
        }
    if (c->enc->invariance == PECS_INV_NONE) {
        int64_t nonfinite = control_nonfinite_shift(iv, L0, nL);
        if (nonfinite >= 0) {
            snprintf(msg, sizeof msg, "a negative control needs finite output: the logits formed from the backend's "
                     "outputs at shift %lld are NaN or infinite, so their drift says nothing about position",
                     (long long)nonfinite);
            r->verdict = PECS_V_FAILED;
        } else if (iv->n > 1 && iv->drift[1] > r->tol.drift) {
            snprintf(msg, sizeof msg, "negative control: not invariant, as expected (drift %.3g at shift %lld)",
                     iv->drift[1], (long long)iv->shift[1]);
            r->verdict = PECS_V_PASSED;
        } else {
            snprintf(msg, sizeof msg, "negative control failed: an absolute encoding looked shift-invariant "
                     "(drift %.3g at shift %lld); the check cannot see position",
                     iv->n > 1 ? iv->drift[1] : 0.0, (long long)(iv->n > 1 ? iv->shift[1] : 0));
            r->verdict = PECS_V_FAILED;
        }
    } else if (beyond >= 0 && !broken && iv->n < 2) {
        snprintf(msg, sizeof msg, "beyond the %s level's range: at shift %lld its angle error allowance exceeds %.3g "
                 "rad, so the check would prove nothing", c->level, (long long)beyond, r->tol.angle_max);
        r->verdict = PECS_V_BEYOND_LEVEL;
    } else if (beyond >= 0 && !broken) {
        snprintf(msg, sizeof msg, "invariant up to shift %lld, where the %s level's range ends (shifts from %lld on "
                 "are not judged: its angle error allowance there exceeds %.3g rad%s)", (long long)iv->horizon, c->level,
                 (long long)beyond, r->tol.angle_max, c->min_horizon > iv->horizon ? "; the required horizon lies "
                 "beyond it" : "");
        r->verdict = PECS_V_PASSED;
    } else if (iv->horizon_full) {
        snprintf(msg, sizeof msg, "invariant over the whole sweep (horizon %lld, max drift %.3g)", (long long)iv->horizon,
                 max_drift);
        r->verdict = PECS_V_PASSED;
    } else if (c->min_horizon >= 0 && iv->horizon >= c->min_horizon) {
        snprintf(msg, sizeof msg, "invariance horizon %lld (required %lld): drift %.3g at shift %lld exceeds %.3g",
                 (long long)iv->horizon, (long long)c->min_horizon, bad_drift, (long long)first_bad,
                 broken ? iv->allowed[iv->n - 1] : r->tol.drift);
        r->verdict = PECS_V_PASSED;
    } else {
        snprintf(msg, sizeof msg, "invariance horizon %lld: drift %.3g at shift %lld exceeds %.3g", (long long)iv->horizon,
                 bad_drift, (long long)first_bad, iv->allowed[iv->n - 1]);
        r->verdict = PECS_V_FAILED;
    }
    snprintf(r->reason, sizeof r->reason, "%s", msg);
cleanup:
    free(qa), free(qr), free(ka), free(kr), free(L0), free(R0), free(L), free(Rl);
}

void pecs_run_case(pecs_loaded_backend *lb, const char *case_str, const pecs_run_opts *o, pecs_case_result *r)
{
    memset(r, 0, sizeof *r);
    double t0 = pecs_now();
    r->backend = lb->id.name;
    r->verdict = PECS_V_PASSED;
    pecs_backend_case_start(lb);
    char why[512] = "";
    pecs_case c;
    pecs_status st = pecs_case_parse(&c, case_str, why, sizeof why);
    if (st == PECS_LIMIT) { /* a valid case over the memory cap: an ERROR that says what it asked for */
        r->case_str = pecs_case_format(&c);
        set_reason(r, PECS_V_ERROR, why);
        pecs_case_free(&c);
        return;
    }
    if (st != PECS_OK) {
        r->case_str = pecs_strdup(case_str);
        set_reason(r, PECS_V_ERROR, why);
        return;
    }
    r->case_str = pecs_case_format(&c);
    if (o->tols && (st = pecs_tol_resolve(o->tols, &c, &r->tol, why, sizeof why)) != PECS_OK) {
        set_reason(r, PECS_V_ERROR, why);
        goto cleanup;
    }
    r->has_tol = o->tols != NULL;
    if (c.check == PECS_CHECK_INVARIANCE) {
        if (o->correctness)
            run_invariance(lb, &c, r);
        else
            set_reason(r, PECS_V_SKIPPED, "invariance check not run in perf mode");
    } else {
        run_equivalence(lb, &c, o, r);
    }
cleanup:
    pecs_case_free(&c);
    r->seconds = pecs_now() - t0;
}

void pecs_judge_given(const char *case_str, pecs_tolerances *tols, const pecs_tensor *given, int n_given,
                      const pecs_tensor *out, pecs_case_result *r)
{
    memset(r, 0, sizeof *r);
    r->backend = "given";
    r->verdict = PECS_V_PASSED;
    char why[512] = "";
    pecs_case c;
    pecs_instance in;
    int have_case = 0, have_in = 0;
    pecs_status st = pecs_case_parse(&c, case_str, why, sizeof why);
    r->case_str = st == PECS_OK ? pecs_case_format(&c) : pecs_strdup(case_str);
    have_case = st == PECS_OK || st == PECS_LIMIT;
    if (st != PECS_OK || (st = pecs_tol_resolve(tols, &c, &r->tol, why, sizeof why)) != PECS_OK ||
        (st = pecs_instance_create(&in, &c, 0, PECS_STREAM_X, why, sizeof why)) != PECS_OK) {
        set_reason(r, PECS_V_ERROR, why[0] ? why : pecs_status_str(st));
        goto cleanup;
    }
    have_in = 1;
    r->has_tol = 1;
    for (int i = 0; i < n_given && st == PECS_OK; i++)
        st = pecs_instance_give(&in, given[i].name, &given[i], why, sizeof why);
    if (st != PECS_OK || (st = pecs_instance_give_output(&in, out, why, sizeof why)) != PECS_OK) {
        set_reason(r, PECS_V_ERROR, why[0] ? why : pecs_status_str(st));
        goto cleanup;
    }
    judge(&in, &c, r, NULL);
cleanup:
    if (have_in)
        pecs_instance_free(&in);
    if (have_case)
        pecs_case_free(&c);
}

void pecs_case_result_free(pecs_case_result *r)
{
    free(r->case_str);
    r->case_str = NULL;
    free(r->perf.ratio);
    free(r->perf.nt_ratio);
    free(r->perf.fma_ratio);
    r->perf.ratio = r->perf.nt_ratio = r->perf.fma_ratio = NULL;
}
