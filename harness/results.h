/* harness/results.h — the results file: JSON, the source of truth (schema: docs/results-schema.md).
 * Written once, atomically (temporary file + rename): a crash or an interrupted run never leaves a
 * partial or corrupted file at the target path.
 *
 * The journal (<results>.journal, journal.h): while a run goes on, each finished case is appended as one
 * line of JSON (the same object as in the results). An interrupted run (SIGINT, SIGTERM, kill -9) leaves the
 * last complete results file untouched and the journal behind; `pecs run ... --resume` checks that the
 * journal belongs to the same run, skips the journaled cases and writes the full results. A completed run
 * removes its journal. */
#ifndef PECS_RESULTS_H
#define PECS_RESULTS_H

#include <jansson.h>

#include "backends.h"
#include "runner.h"
#include "shard.h"
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
    const char *calibration_path, *calibration_sha256; /* NULL: no calibration used; "auto": measured in the run */
    json_t *calibration;                               /* the calibration object (its table is embedded) */
    json_t *require;          /* what --require was given (pecs_require.given); NULL: none */
    const pecs_shard *shard;  /* --shard K/N; NULL: not sharded */
    json_t *identity;         /* the run identity (the journal's header, identity.h); NULL: not recorded */
} pecs_run_meta;

/* Write the results file around `cases` (an array of pecs_result_json() objects, e.g. from this run and
 * from a resumed journal); the summary is counted from their statuses. `cases` is not consumed. */
pecs_status pecs_results_write(const char *path, const pecs_run_meta *m, json_t *cases, char *why, size_t why_len);

/* A results (or any JSON) file; "-" reads standard input (`pecs run --out - | pecs report -`). */
json_t *pecs_json_load(const char *path, json_error_t *err);

/* One case's result as the JSON object the results file and the journal hold (includes backend_source,
 * the backend word of the reproducer: a built-in's name or a plugin's path). */
json_t *pecs_result_json(const pecs_case_result *r, const pecs_loaded_backend *lb);
const char *pecs_backend_token(const pecs_loaded_backend *lb);

/* The value at a dotted path ("pecs.version", "machine.cpu_model") of a results object, NULL if absent. */
json_t *pecs_json_at(json_t *root, const char *dotted);
/* Add the verdicts of an array of case objects to counts[]; returns how many of them count as failures. */
int pecs_results_count(json_t *cases, int counts[PECS_V_COUNT]);
/* The same for the cases of one backend (its backend_source: pecs_backend_token); returns how many there are. */
int pecs_results_count_backend(json_t *cases, const char *token, int counts[PECS_V_COUNT]);

/* The one-line reproducer of a result (malloc'd): pecs run --case '<case>' --backend <token>. */
char *pecs_reproducer(const pecs_case_result *r, const pecs_loaded_backend *lb);
char *pecs_reproducer_of(const char *case_str, const pecs_loaded_backend *lb);

#endif
