/* harness/runner.h — run one case on one backend: equivalence with the reference, relative-shift
 * invariance, and timing.
 *
 * Equivalence: the backend runs on guarded buffers; stray writes, error returns and lies of
 * supports() are caught; the output is compared with the reference (compare.h).
 *
 * Invariance (check=invariance): for each shift d of the sweep, q and k (rotate, embed) or the bias
 * are recomputed BY THE BACKEND at positions p+d and logits are formed in double from its outputs:
 *     rotate/embed  L_d[h][i][j] = sum_c q'(i)[h][c] * k'(j)[h][c]        bias  L_d = B_d
 * drift(d) = max |L_d - L_0| / scale, scale = max_i |q'_i| * max_j |k'_j| (the Cauchy-Schwarz bound on
 * |L|; bias: max |B_0|), and the same is computed from the reference's outputs, which must stay within
 * PECS_REF_DRIFT_MAX for relative encodings (else the case is an ERROR of the harness). The invariance
 * horizon is the largest d of the sweep with drift(d') <= tol.drift for every d' <= d.
 *   expected exact/fixed-L: PASSED iff the horizon is the whole sweep;
 *   expected none (absolute encodings, the negative control): PASSED iff drift at the first d > 0
 *   exceeds the tolerance, i.e. the check does see that the encoding is not relative.
 *
 * Determinism: a passing equivalence case is run a second time on the same (regenerated) inputs and the
 * two outputs must be bitwise equal, else NONDETERMINISTIC.
 *
 * Timing (mode perf): warm-up runs, then individually timed runs until both a minimum count and a
 * minimum time are met (capped); median, min, p10, p90; throughput from the registry's bytes model.
 * Every timed call's output is poisoned before and compared bytewise with the checked output after.
 *
 * Backends are called through backends.h: a crash, hang, forged answer or changed FP environment of an
 * isolated backend is this case's verdict (CRASHED, TIMEOUT, ERROR, FAILED), never the run's end.
 */
#ifndef PECS_RUNNER_H
#define PECS_RUNNER_H

#include "backends.h"
#include "case.h"
#include "compare.h"
#include "counters.h"
#include "tolerance.h"
#include "verdict.h"

/* The reference's own drift allowed for relative encodings (it measures ~1e-16 at shift 2^20). */
#define PECS_REF_DRIFT_MAX 1e-12

/* Paired, a case whose bytes the paired kernel moves in under this many seconds (median over the pairs) is
 * judged by its latency, not a bandwidth fraction: a decode token of 32 heads x 128 (16 KiB in bf16, 32 KiB
 * in f32) is moved in ~0.2-0.3 us, of which the two clock reads around the pass (18 ns each on the Xeon guest)
 * are a tenth to a fifth, while the call's fixed costs (dispatch, argument checks, its cos/sin table) take
 * ~1.7 us. A fraction would measure those costs against a pass too short to time; the bf16 one moved 1.39x
 * between identical runs (issue 14). */
#define PECS_LATENCY_BOUND_S 1e-6

typedef struct pecs_perf {
    int done;
    int reps;
    double median_s, min_s, p10_s, p90_s, mean_s;
    double tokens_per_s, elems_per_s, gbytes_per_s;
    double bytes;            /* per call, from the bytes model */
    double timer_res_s;
    int noisy;               /* median under 100 timer ticks, or a spread over 20 %: p90/p10 of the paired
                                ratios (ordinary stores) when paired, else p90/p10 of the times */
    pecs_counters counters;  /* totals over the timed calls; status says what could be counted */
    double roof_gbs;         /* the relevant calibrated bandwidth, ordinary stores (0: no calibration given) */
    const char *roof_kernel; /* which calibration kernel that is */
    double roof_nt_gbs;      /* the same pattern with streaming stores (0: not in the calibration) */
    const char *roof_nt_kernel;
    int roof_threads;        /* the calibration's thread count these come from */
    double rtt_median_s;     /* isolated: median round trip of the timed calls on the parent's clock */
    double ping_s;           /* isolated: median round trip of an empty request (the IPC share of rtt) */
    /* Where the footprint (bytes_per_call) lives: the smallest cache level holding it, else "memory". */
    const char *level;
    int threads_used;        /* threads the backend call ran with: measured (process CPU time / wall time over
                                the warm-up calls, in-process backends) or the requested count (isolated) */
    const char *threads_source; /* "measured" or "requested" */
    /* --calibration paired (pairbw.h): one ratio per timed repetition, ordinary stores and (footprint beyond
     * every cache level) streaming stores; median, p10, p90 of them; the paired kernels' median GB/s. */
    int paired;
    const char *pair_isa;
    const char *pair_clock;  /* "thread_cpu" (one thread in-process, calls >= 1 ms) or "wall": what the pairs are timed on */
    double *ratio, *nt_ratio;   /* [reps], malloc'd (freed by pecs_case_result_free); nt_ratio NULL if not paired */
    double frac[3], nt_frac[3]; /* median, p10, p90 */
    double pair_gbs, pair_nt_gbs;
    double overhead_ns;      /* median over pairs of t_case - t_kernel (ordinary stores): time beyond moving the bytes */
    double bytes_ns;         /* median over pairs of t_kernel: the paired kernel's time for the case's bytes */
    int latency;             /* bytes_ns < PECS_LATENCY_BOUND_S: judged by latency; frac/nt_frac are not reported
                                and noisy comes from the call times */
    /* Compute, paired the same way (encodings with a flops model): before and after each timed call, the FMA
     * peak kernel (pairbw.h) on the same threads; ratio = the case's flop rate (registry flops x output
     * elements / time) over the kernel's at the geometric mean of its two passes. fma_ratio NULL when not paired or the model has no flops. */
    double flops_per_elem, *fma_ratio, fma_frac[3], fma_gflops, case_gflops;
    const char *fma_isa;
    /* Device backends (backend.h "Devices"): median_s and its quantiles are end to end (transfers in, run, sync,
     * transfer out, on the harness's clock); the kernel alone, by the device's events, has its own quantiles
     * (device_reps of the reps reported one the clock allows), and the device roofline is the case's bytes over
     * the kernel's median time against the backend's own copy bandwidth measured at load. Host pairing does not
     * apply to them. */
    int device;
    int device_reps;
    double kernel_s[3];      /* median, p10, p90 */
    double device_gbs, device_frac;
} pecs_perf;

typedef struct pecs_inv_result {
    int n;
    int64_t shift[PECS_MAX_SHIFTS];
    double drift[PECS_MAX_SHIFTS];      /* backend */
    double ref_drift[PECS_MAX_SHIFTS];  /* reference */
    double vs_ref[PECS_MAX_SHIFTS];     /* backend logits vs reference logits at the same shift */
    double allowed[PECS_MAX_SHIFTS];    /* the drift the level allows at that shift (tol.drift + angle model) */
    int64_t horizon;                    /* -1: not invariant even at the first shift */
    int horizon_full;
} pecs_inv_result;

typedef struct pecs_case_result {
    char *case_str;          /* canonical (owned) */
    const char *backend;     /* name (borrowed from the descriptor) */
    int backend_slot;        /* index of the backend in the run (two backends may share a name) */
    pecs_verdict verdict;
    char reason[768];
    int has_metrics;
    pecs_metrics metrics;
    int has_tol;
    pecs_tol tol;
    int has_inv;
    pecs_inv_result inv;
    pecs_perf perf;
    double seconds;          /* wall time of the whole case */
    char dump[512];          /* where this case's tensors were dumped (--dump), or "" */
} pecs_case_result;

typedef struct pecs_run_opts {
    int correctness;         /* run invariance cases (equivalence is checked in every mode) */
    int determinism;         /* run each passing equivalence case twice; different bits: NONDETERMINISTIC */
    int perf;                /* time the backend */
    double min_time_s;       /* per timed case */
    int min_reps, max_reps, warmup;
    int pair;                /* pair every timed call with a calibration kernel moving the same bytes (pairbw.h) */
    int threads;             /* problem->n_threads for every call (0: the backend's choice); with determinism,
                                the repeat runs at 1 thread, so a result that depends on the thread count is
                                NONDETERMINISTIC */
    pecs_tolerances *tols;
    const char *dump_dir;    /* FAILED equivalence cases write their tensors to dump_dir/<backend>-<case hash>/
                                (instance.h pecs_instance_dump); NULL: no dumps */
} pecs_run_opts;

void pecs_run_opts_default(pecs_run_opts *o);

/* Never fails: problems become the result's verdict (ERROR with a reason). */
void pecs_run_case(pecs_loaded_backend *lb, const char *case_str, const pecs_run_opts *o, pecs_case_result *r);
void pecs_case_result_free(pecs_case_result *r);
/* `pecs eval --check`: judge a given output on given inputs as a run judges a backend's output on its case
 * (same comparison, level model, rounding check and located failure; no determinism repeat, no timing).
 * case_str sets the encoding, its parameters, the shapes, dtype and level; given[] are the inputs by role
 * (instance.h pecs_instance_give), out the output. An input the case has and given[] lacks keeps its generated
 * values. Errors in the given tensors are an ERROR verdict with the reason. */
void pecs_judge_given(const char *case_str, pecs_tolerances *tols, const pecs_tensor *given, int n_given,
                      const pecs_tensor *out, pecs_case_result *r);

#endif
