/* harness/cli/cli_int.h — what the commands of the pecs command line share: exit codes, the run options and
 * the case selection every command that runs cases goes through (common.c). One file per command beside it. */
#ifndef PECS_CLI_INT_H
#define PECS_CLI_INT_H

#include <limits.h>
#include <stdio.h>

#include "cli.h"
#include <limits.h>
#include <stdio.h>
#include "backends.h"
#include "calibrate.h"
#include "case.h"
#include "counters.h"
#include "pairbw.h"
#include "diff.h"
#include "gen.h"
#include "identity.h"
#include "instance.h"
#include "journal.h"
#include "machine.h"
#include "npy.h"
#include "reference.h"
#include "registry.h"
#include "report.h"
#include "require.h"
#include "results.h"
#include "runner.h"
#include "shard.h"
#include "suite.h"
#include "tolerance.h"
#include "util.h"

/* Exit codes (the values of cli.h's PECS_EXIT_*). */
enum { EXIT_OK = 0, EXIT_FAILURES = 1, EXIT_USAGE = 2, EXIT_IO = 3, EXIT_INTERRUPTED = 130 };

#define MAX_ARGS 64

typedef struct run_cfg {
    const char *suites[MAX_ARGS], *cases[MAX_ARGS], *backends[MAX_ARGS], *sets[MAX_ARGS];
    int n_suites, n_cases, n_backends, n_sets;
    const char *filter, *dtypes, *out, *tolerances, *mode, *calibration, *dump;
    double min_time, timeout, threads, calibration_mib;
    int verbose;
    int quiet; /* -q: failing cases, the skip summary and the tally only; no progress line */
    int isolate; /* -1: plugins only (default), 0: never, 1: always */
    double mem_cap; /* bytes (0: the default cap, no worker limit) */
    int no_determinism, resume;
    const char *requires[MAX_ARGS]; /* --require FAMILY|ENCODING|FILE (harness/require.h) */
    int n_requires;
    int shard_k, shard_n; /* --shard K/N (harness/shard.h); 0/0: not sharded */
    /* For commands that run cases on a user's behalf (certify, verify --rerun): cases given as a list (any
     * number, after --case and before the suites' cases), and a hook that may change each selected case
     * before it is formatted (certify's fresh seed and position offset). */
    char **case_list;
    int n_case_list;
    void (*rewrite)(pecs_case *c, void *ctx);
    void *rewrite_ctx;
} run_cfg;

/* What a run needs before any case runs: tolerance profiles, the suites, and their filtered cases. */
typedef struct run_inputs {
    pecs_tolerances tols;
    int have_tols;
    const char *tol_path;
    char tolbuf[PATH_MAX];
    pecs_suite suites[MAX_ARGS];
    int n_suites;
    char **cases;
    int n_cases;
} run_inputs;

/* Shared by the commands (common.c). */
int cli_usage_error(const char *cmd, const char *msg);
int cli_is_help(const char *a);
const char *cli_find_tolerances(const char *given, char *buf, size_t n);
int cli_dtype_list_ok(const char *list, char *msg, size_t n);
int cli_dtype_selected(const char *list, const char *case_str);
const char *cli_field(const char *case_str, const char *key, char *buf, size_t n);
void cli_print_result(const pecs_case_result *r, const pecs_loaded_backend *lb, int verbose);
FILE *cli_console(void);
int cli_console_keep(void);
void cli_print_table(const pecs_case_result *r, int n, const pecs_loaded_backend *lbs, int n_lbs);
/* SKIPPED and BEYOND_LEVEL results counted by backend and reason (the run prints those cases only with -v). */
void cli_print_skips(const pecs_case_result *r, int n);
char *cli_join_args(int argc, char **argv);
int cli_parse_run_args(int argc, char **argv, run_cfg *cfg);
int cli_collect_cases(const run_cfg *cfg, pecs_suite *suites, pecs_tolerances *tols, char ***out, int *n_out);
void cli_inputs_free(run_inputs *in);
int cli_inputs_load(const char *cmd, const run_cfg *cfg, run_inputs *in);
int cli_backends_load(const char *cmd, const char *const *names, int n, const pecs_backend_opts *bo,
                      pecs_loaded_backend *lbs, int *n_loaded);

/* The progress line of a run (progress.c): "[done/total] pct  encoding on backend  N failed  ETA", redrawn
 * in place on stderr when stderr is a terminal and the run is not quiet; nothing at all otherwise. Failures
 * are red unless NO_COLOR is set and not empty. show() before a case, done() after it, clear() before
 * anything else is printed while the line may be up, and at the end. */
typedef struct cli_progress {
    int on, colour, shown, total, done, failed;
    double t0, last;
} cli_progress;
void cli_progress_start(cli_progress *p, int total, int quiet);
void cli_progress_show(cli_progress *p, const char *case_str, const char *backend);
void cli_progress_done(cli_progress *p, int failed);
void cli_progress_clear(cli_progress *p);

/* The body of `pecs run` for a parsed configuration: loads, runs, prints, writes cfg->out; returns the exit
 * code and, if counts is not NULL, the verdict counts of the results written. */
int cli_run(const run_cfg *cfg, const char *command, int counts[PECS_V_COUNT]);

/* One function per command (harness/cli/<command>.c): argv[0] is the command's name; returns the exit code. */
int pecs_cmd_run(int argc, char **argv);
int pecs_cmd_list(int argc, char **argv);
int pecs_cmd_describe(int argc, char **argv);
int pecs_cmd_eval(int argc, char **argv);
int pecs_cmd_mutate(int argc, char **argv);
int pecs_cmd_coverage(int argc, char **argv);
int pecs_cmd_compare(int argc, char **argv);
int pecs_cmd_merge(int argc, char **argv);
int pecs_cmd_calibrate(int argc, char **argv);
int pecs_cmd_certify(int argc, char **argv);
int pecs_cmd_verify(int argc, char **argv);

/* A data file by its path under a data root (e.g. "suites/smoke.yaml"): as given if it exists, else through
 * the data search path (datapath.h); buf holds the result; NULL if none. */
const char *cli_find_data(const char *rel, char *buf, size_t n);
/* pecs verify DIR [--rerun]: prints each check; returns the exit code; *invalid (if not NULL) gets the number of
 * checks that failed (0: the certificate is what it says, conformant or not). */
int cli_verify_dir(const char *dir, int do_rerun, const char *backend, double timeout, int *invalid);
/* The file of a certification profile: a path, or a name under configs/certify/ (default pecs-cert-1). */
const char *cli_find_profile(const char *given, char *buf, size_t n);

#endif
