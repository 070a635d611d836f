/* harness/results.h — the results file: JSON, the source of truth (schema: docs/results-schema.md).
 * Written once, atomically (temporary file + rename): a crash or an interrupted run never leaves a
 * partial or corrupted file at the target path. */
#ifndef PECS_RESULTS_H
#define PECS_RESULTS_H

#include "backends.h"
#include "runner.h"
#include "suite.h"

#define PECS_RESULTS_SCHEMA_VERSION 1

typedef struct pecs_run_meta {
    const char *command;
    char started[32], finished[32];
    const pecs_suite *suites;
    int n_suites;
    const char *tolerances_path, *tolerances_sha256;
    const pecs_loaded_backend *backends;
    int n_backends;
    const char *mode;
    int threads;
} pecs_run_meta;

pecs_status pecs_results_write(const char *path, const pecs_run_meta *m, const pecs_case_result *r, int n, char *why,
                               size_t why_len);

/* The one-line reproducer of a result (malloc'd). */
char *pecs_reproducer(const pecs_case_result *r, const pecs_loaded_backend *lb);

#endif
