/* harness/diff.h — `pecs compare A.json B.json`: two results files, case by case.
 *
 * Cases are matched on (backend, canonical case string) — the exact parameter string — so a changed
 * parameter is a different case, never a silent mismatch. For every case timed in both files:
 *   ratio = median_s(A) / median_s(B)        (> 1: B is faster)
 * and per encoding the geometric mean of the ratios. A case is a REGRESSION when B is slower than A by
 * more than the threshold (default 5 %) and neither measurement is flagged noisy; a noisy one is marked
 * "noisy", not flagged. A case that passed in A and fails in B is a regression whatever the timing.
 * Cases present in only one file are counted and listed.
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
    int matched, timed, regressions, status_regressions, noisy, only_a, only_b;
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
