/* harness/diff.h — `pecs compare A.json B.json`: two results files, case by case.
 *
 * Cases are matched on (backend, canonical case string) — the exact parameter string — so a changed
 * parameter is a different case, never a silent mismatch. For every case timed in both files:
 *   ratio = median_s(A) / median_s(B)        (> 1: B is faster)
 * and per encoding the geometric mean of the ratios. A case is a REGRESSION when B is slower than A by
 * more than the threshold (default 5 %) and neither measurement is flagged noisy; a noisy one is marked
 * "noisy", not flagged. A case that passed in A and fails in B is a regression whatever the timing.
 * Cases present in only one file are counted and listed.
 */
#ifndef PECS_DIFF_H
#define PECS_DIFF_H

#include <stdio.h>

#include "pecs/status.h"

typedef struct pecs_diff_summary {
    int matched, timed, regressions, status_regressions, noisy, only_a, only_b;
} pecs_diff_summary;

pecs_status pecs_diff_results(const char *path_a, const char *path_b, double threshold, FILE *out, pecs_diff_summary *sum,
                              char *why, size_t why_len);

#endif
