/* harness/diff.h — `pecs compare A.json B.json`: two results files, case by case.
 *
 * Cases are matched on (backend, canonical case string) — the exact parameter string — so a changed
 * parameter is a different case, never a silent mismatch. Regressions (exit 1):
 *   - a verdict that got worse: PASSED in A and anything else in B (SKIPPED, ERROR, BEYOND_LEVEL or a
 *     failing verdict: coverage lost counts like a failure), or not failing in A and failing in B;
 *   - a case in A missing from B (listed "MISSING"); a case only in B is listed ("NEW"), not a regression;
 *   - a slowdown, for every case timed in both (ratio = median_s(A) / median_s(B), > 1: B is faster):
 *       B's p10_s > A's p90_s x (1 + threshold): the two distributions are apart, flagged whether or not
 *       either side is noisy (a 70x slowdown is not noise);
 *       else, neither side noisy and ratio < 1 / (1 + threshold): flagged (the median rule);
 *       else a noisy case slower by the median rule is marked "noisy", not flagged.
 * Per backend/encoding the geometric mean of the ratios. Default threshold 5 %.
 *
 * Before any case is compared, the two files' metadata, field by field (docs/results-schema.md#comparing):
 *   refuse (PECS_INVALID, exit 2): schema or schema_version differ (or are not pecs-results / an integer);
 *       a (backend, case) key appears twice in one file (it could not be matched);
 *   warn (a line on `warn`, the comparison goes on; with strict, refuse instead):
 *       pecs.version, pecs.git_commit, machine.cpu_model, every suite file's sha256 (matched by path; a file
 *       in one only counts), tolerances.sha256, threads, thread_binding (OMP_PROC_BIND, OMP_PLACES,
 *       OMP_NUM_THREADS).
 * A field absent from both files is equal; absent from one, it differs (shown as "(absent)").
 */
#ifndef PECS_DIFF_H
#define PECS_DIFF_H

#include <stdio.h>

#include "pecs/status.h"

typedef struct pecs_diff_summary {
    int matched, timed, regressions, status_regressions, noisy, only_a, only_b; /* regressions: slower ones;
                                           every only_a (missing from B) and status_regressions are regressions too */
    int warnings; /* metadata fields that differ (warned, or refused with strict) */
} pecs_diff_summary;

typedef struct pecs_diff_opts {
    double threshold; /* a case slower than 1 + threshold is a regression */
    int strict;       /* metadata warnings refuse the comparison */
    FILE *out;        /* the comparison */
    FILE *warn;       /* metadata warnings (one "warning: ..." line each) */
} pecs_diff_opts;

/* PECS_OK: compared (sum says what was found); PECS_PARSE: a file is not a results file; PECS_INVALID:
 * refused by the policy above (why says why; nothing was written to out); PECS_NOMEM. */
pecs_status pecs_diff_results(const char *path_a, const char *path_b, const pecs_diff_opts *o, pecs_diff_summary *sum,
                              char *why, size_t why_len);

#endif
