/* harness/cli.c — the pecs command line: run, list, describe, eval. */
#include "cli.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"
#include "calibrate.h"
#include "case.h"
#include "counters.h"
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
#include "results.h"
#include "runner.h"
#include "suite.h"
#include "tolerance.h"
#include "util.h"

/* Exit codes. */
enum { EXIT_OK = 0, EXIT_FAILURES = 1, EXIT_USAGE = 2, EXIT_IO = 3, EXIT_INTERRUPTED = 130 };

static volatile sig_atomic_t g_stop; /* set by SIGINT/SIGTERM: stop after the current case */

static void on_stop_signal(int sig) { g_stop = sig; }

#define MAX_ARGS 64


static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "pecs %s: %s (see: pecs %s --help)\n", cmd, msg, cmd);
    return EXIT_USAGE;
}

static int is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

/* configs/tolerances.yaml: --tolerances, $PECS_TOLERANCES, ./configs, <exe>/../configs, <exe>/../share/pecs/configs */
static const char *find_tolerances(const char *given, char *buf, size_t n)
{
    if (given)
        return given;
    const char *env = getenv("PECS_TOLERANCES");
    if (env && *env)
        return env;
    if (access("configs/tolerances.yaml", R_OK) == 0)
        return "configs/tolerances.yaml";
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        static const char *const rel[] = {"/../configs/tolerances.yaml", "/../share/pecs/configs/tolerances.yaml"};
        for (int i = 0; i < 2; i++) {
            int w = snprintf(buf, n, "%s%s", exe, rel[i]);
            if (w > 0 && (size_t)w < n && access(buf, R_OK) == 0)
                return buf;
        }
    }
    return "configs/tolerances.yaml";
}

/* ---- run ----------------------------------------------------------------------------------------------- */

static const char RUN_HELP[] =
    "usage: pecs run [SUITE.yaml ...] [--case 'SPEC'] [options]\n"
    "\n"
    "Run suites (and/or single cases) on backends: numerical equivalence with the double-precision\n"
    "reference, relative-shift invariance, and timing.\n"
    "\n"
    "  --case 'SPEC'         run one case given as its canonical string (the reproducer); repeatable\n"
    "  --backend B           built-in name, 'all' (every built-in), or a plugin path (.so); repeatable;\n"
    "                        default: scalar\n"
    "  --filter REGEX        keep cases whose canonical string matches (POSIX extended regex)\n"
    "  --dtype LIST          keep cases of these dtypes (comma-separated: f32,f16,bf16,f64)\n"
    "                        (a filter or dtype list that keeps no case is bad input: exit 2)\n"
    "  --level L             judge every case at conformance level L: exact (default) or f32angle\n"
    "                        (docs/levels.md; the same as --set level=L)\n"
    "  --set KEY=VALUE       override a knob on every case (e.g. --set seed=7); repeatable\n"
    "  --mode M              correctness (default) | perf | all   (perf times every passing case)\n"
    "  --min-time S          minimum timed seconds per perf case (default 0.05)\n"
    "  --threads N           threads asked of every backend call (problem->n_threads; default 0 = the\n"
    "                        backend's choice, OMP_NUM_THREADS for openmp); the determinism repeat runs at 1\n"
    "                        thread and must match the first run bit for bit\n"
    "  --out FILE            results JSON (default pecs-results.json), written atomically at the end;\n"
    "                        FILE.lock is held for the run: a second run with the same FILE refuses (exit 2)\n"
    "  --tolerances FILE     tolerance profiles (default configs/tolerances.yaml)\n"
    "  --isolate             run each case in a child process: a crash is CRASHED, a hang TIMEOUT, and the\n"
    "                        run goes on (default for plugins given by path; --no-isolate turns it off)\n"
    "  --timeout S           per-case time limit of isolated cases (default 60)\n"
    "  --no-determinism      do not run passing cases a second time to compare the outputs bitwise\n"
    "  --resume              continue an interrupted run: skip the cases in FILE.journal (see --out); only a\n"
    "                        journal of the same run is taken (same suite, tolerance and plugin files by\n"
    "                        sha256, options and cases; every record valid), else exit 2 naming what differs\n"
    "  --mem-cap MIB         buffers one case may ask for (default 4096); a case over it is an ERROR\n"
    "  --calibration FILE    bandwidths from `pecs calibrate`: each timed case reports its roofline fractions,\n"
    "                        of the same access pattern with ordinary and with streaming stores (rotate:\n"
    "                        rw22/rw22_nt, bias and mask: fill/fill_nt, else copy/copy_nt) at the run's\n"
    "                        thread count (--threads, else the OpenMP default; single-threaded backends\n"
    "                        compare best at --threads 1); the table is embedded in the results\n"
    "  --calibration auto    measure the bandwidths in this run first (at 1 and the run's thread count)\n"
    "  --calibration-mib M   array size of --calibration auto, MiB per array (default 256; 1..65536)\n"
    "  -v, --verbose         print every case, not only the ones that did not pass\n"
    "\n"
    "Every case that does not pass prints its reproducer: pecs run --case '...' --backend B\n"
    "Each finished case is appended to FILE.journal; SIGINT or SIGTERM stop after the current case and leave\n"
    "the last complete results file untouched (so does kill -9); --resume finishes the run.\n"
    "The run ends with 'N passed, N failed, N skipped'; exit 0 if nothing failed, 1 on any failing verdict,\n"
    "2 on bad input (suite, case, option), 3 if the results cannot be written, 130 if interrupted.\n";

typedef struct run_cfg {
    const char *suites[MAX_ARGS], *cases[MAX_ARGS], *backends[MAX_ARGS], *sets[MAX_ARGS];
    int n_suites, n_cases, n_backends, n_sets;
    const char *filter, *dtypes, *out, *tolerances, *mode, *calibration;
    double min_time, timeout, threads, calibration_mib;
    int verbose;
    int isolate; /* -1: plugins only (default), 0: never, 1: always */
    double mem_cap; /* bytes (0: the default cap, no worker limit) */
    int no_determinism, resume;
} run_cfg;


/* --dtype: a comma-separated list of the case dtypes, each one known (msg names the first that is not). */
static int dtype_list_ok(const char *list, char *msg, size_t n)
{
    static const char *const known[] = {"f32", "f16", "bf16", "f64"};
    for (const char *p = list;; p++) {
        size_t l = strcspn(p, ",");
        int ok = 0;
        for (int k = 0; k < 4 && !ok; k++)
            ok = l == strlen(known[k]) && !strncmp(p, known[k], l);
        if (!ok) {
            snprintf(msg, n, "--dtype: value '%.*s' is not a dtype (f32, f16, bf16, f64; comma-separated)", (int)l, p);
            return 0;
        }
        p += l;
        if (!*p)
            return 1;
    }
}

static int dtype_selected(const char *list, const char *case_str)
{
    if (!list)
        return 1;
    const char *d = strstr(case_str, " dtype=");
    if (!d)
        return 0;
    d += 7;
    size_t dl = strcspn(d, " ");
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        if (l == dl && !strncmp(p, d, l))
            return 1;
        p += l + (p[l] == ',');
    }
    return 0;
}

static void print_result(const pecs_case_result *r, const pecs_loaded_backend *lb, int verbose)
{
    if (r->verdict == PECS_V_PASSED && !verbose)
        return;
    printf("%-10s %-8s %s\n", pecs_verdict_name(r->verdict), r->backend, r->case_str ? r->case_str : "");
    if (r->reason[0])
        printf("           %s\n", r->reason);
    if (r->perf.done) {
        char roof[96] = "";
        if (r->perf.roof_gbs > 0) {
            int w = snprintf(roof, sizeof roof, ", %.0f%% of %s", 100 * r->perf.gbytes_per_s / r->perf.roof_gbs,
                             r->perf.roof_kernel);
            if (r->perf.roof_nt_gbs > 0 && w > 0 && (size_t)w < sizeof roof)
                snprintf(roof + w, sizeof roof - (size_t)w, " (%.0f%% of %s)",
                         100 * r->perf.gbytes_per_s / r->perf.roof_nt_gbs, r->perf.roof_nt_kernel);
        }
        printf("           %.3g s median (%d reps%s), %.3g GB/s%s, %.3g tokens/s\n", r->perf.median_s, r->perf.reps,
               r->perf.noisy ? ", noisy" : "", r->perf.gbytes_per_s, roof, r->perf.tokens_per_s);
    }
    {
        char *rep = pecs_reproducer(r, lb);
        printf("           reproduce: %s\n", rep ? rep : "?");
        free(rep);
    }
}

/* One row of the closing table: backend x encoding x dtype x check. */
typedef struct table_row {
    const char *backend;
    char enc[40], dtype[8], check[16];
    int count[PECS_V_COUNT];
    double worst_abs, worst_nmse, best_gbps;
    int64_t min_horizon;
    int has_inv, has_metrics;
} table_row;

static const char *field(const char *case_str, const char *key, char *buf, size_t n)
{
    char pat[40];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(case_str, pat);
    if (!p) {
        snprintf(buf, n, "-");
        return buf;
    }
    p += strlen(pat);
    snprintf(buf, n, "%.*s", (int)strcspn(p, " "), p);
    return buf;
}

static void print_table(const pecs_case_result *r, int n)
{
    table_row *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    int nr = 0;
    if (!rows)
        return;
    for (int i = 0; i < n; i++) {
        char enc[40], dt[8], ck[16];
        const char *cs = r[i].case_str ? r[i].case_str : "?";
        snprintf(enc, sizeof enc, "%.*s", (int)strcspn(cs, " "), cs);
        field(cs, "dtype", dt, sizeof dt);
        field(cs, "check", ck, sizeof ck);
        int k = 0;
        for (; k < nr; k++)
            if (!strcmp(rows[k].backend, r[i].backend) && !strcmp(rows[k].enc, enc) && !strcmp(rows[k].dtype, dt) &&
                !strcmp(rows[k].check, ck))
                break;
        if (k == nr) {
            rows[nr].backend = r[i].backend;
            memcpy(rows[nr].enc, enc, sizeof enc);
            memcpy(rows[nr].dtype, dt, sizeof dt);
            memcpy(rows[nr].check, ck, sizeof ck);
            rows[nr].min_horizon = INT64_MAX;
            nr++;
        }
        table_row *t = &rows[k];
        t->count[r[i].verdict]++;
        if (r[i].has_metrics) {
            t->has_metrics = 1;
            t->worst_abs = fmax(t->worst_abs, r[i].metrics.max_abs);
            t->worst_nmse = fmax(t->worst_nmse, r[i].metrics.nmse);
        }
        if (r[i].perf.done)
            t->best_gbps = fmax(t->best_gbps, r[i].perf.gbytes_per_s);
        if (r[i].has_inv) {
            t->has_inv = 1;
            if (r[i].inv.horizon < t->min_horizon)
                t->min_horizon = r[i].inv.horizon;
        }
    }
    printf("\n%-8s %-18s %-5s %-11s %5s %5s %5s %5s  %-9s %-9s %-9s %s\n", "backend", "encoding", "dtype", "check", "pass",
           "fail", "skip", "err", "max_abs", "max_nmse", "horizon", "best GB/s");
    for (int k = 0; k < nr; k++) {
        table_row *t = &rows[k];
        char hz[24] = "-", gb[24] = "-", ab[24] = "-", nm[24] = "-";
        if (t->has_metrics) {
            snprintf(ab, sizeof ab, "%.2e", t->worst_abs);
            snprintf(nm, sizeof nm, "%.2e", t->worst_nmse);
        }
        if (t->has_inv)
            snprintf(hz, sizeof hz, "%lld", (long long)t->min_horizon);
        if (t->best_gbps > 0)
            snprintf(gb, sizeof gb, "%.2f", t->best_gbps);
        printf("%-8s %-18s %-5s %-11s %5d %5d %5d %5d  %-9s %-9s %-9s %s\n", t->backend, t->enc, t->dtype, t->check,
               t->count[PECS_V_PASSED], t->count[PECS_V_FAILED], t->count[PECS_V_SKIPPED],
               t->count[PECS_V_ERROR] + t->count[PECS_V_MISTRUSTED] + t->count[PECS_V_CRASHED] + t->count[PECS_V_TIMEOUT] +
                   t->count[PECS_V_NONDETERMINISTIC],
               ab, nm, hz, gb);
    }
    free(rows);
}

/* The command line as a shell would need it to run it again: words with anything but safe characters are
 * single-quoted ('\'' for a quote inside). */
static char *join_args(int argc, char **argv)
{
    pecs_sb b = {0};
    pecs_sb_adds(&b, "pecs");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") == strlen(a)) {
            pecs_sb_addf(&b, " %s", a);
            continue;
        }
        pecs_sb_adds(&b, " '");
        for (; *a; a++)
            pecs_sb_adds(&b, *a == '\'' ? "'\\''" : (char[2]){*a, 0});
        pecs_sb_adds(&b, "'");
    }
    return pecs_sb_take(&b);
}

static int parse_run_args(int argc, char **argv, run_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = "correctness";
    cfg->min_time = 0.05;
    cfg->timeout = 60.0;
    cfg->isolate = -1;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (is_help(argv[i])) {
            fputs(RUN_HELP, stdout);
            return -1;
        }
        if ((v = pecs_opt(argc, argv, &i, "--case", &missing)) && cfg->n_cases < MAX_ARGS)
            cfg->cases[cfg->n_cases++] = v;
        else if ((v = pecs_opt(argc, argv, &i, "--backend", &missing)) && cfg->n_backends < MAX_ARGS)
            cfg->backends[cfg->n_backends++] = v;
        else if ((v = pecs_opt(argc, argv, &i, "--set", &missing)) && cfg->n_sets < MAX_ARGS)
            cfg->sets[cfg->n_sets++] = v;
        else if ((v = pecs_opt(argc, argv, &i, "--level", &missing)) && cfg->n_sets < MAX_ARGS) {
            static char level_sets[MAX_ARGS][64]; /* --level L is --set level=L */
            snprintf(level_sets[cfg->n_sets], sizeof level_sets[0], "level=%s", v);
            cfg->sets[cfg->n_sets] = level_sets[cfg->n_sets];
            cfg->n_sets++;
        }
        else if ((v = pecs_opt(argc, argv, &i, "--filter", &missing)))
            cfg->filter = v;
        else if ((v = pecs_opt(argc, argv, &i, "--dtype", &missing))) {
            char msg[256];
            if (!dtype_list_ok(v, msg, sizeof msg))
                return usage_error("run", msg);
            cfg->dtypes = v;
        }
        else if ((v = pecs_opt(argc, argv, &i, "--out", &missing)))
            cfg->out = v;
        else if ((v = pecs_opt(argc, argv, &i, "--tolerances", &missing)))
            cfg->tolerances = v;
        else if ((v = pecs_opt(argc, argv, &i, "--mode", &missing))) {
            if (strcmp(v, "correctness") && strcmp(v, "perf") && strcmp(v, "all"))
                return usage_error("run", "--mode takes correctness, perf or all");
            cfg->mode = v;
        } else if ((v = pecs_opt(argc, argv, &i, "--min-time", &missing))) {
            if (!pecs_parse_f64(v, &cfg->min_time) || cfg->min_time < 0 || cfg->min_time > 60)
                return usage_error("run", "--min-time takes seconds in [0, 60]");
        } else if ((v = pecs_opt(argc, argv, &i, "--threads", &missing))) {
            if (!pecs_parse_f64(v, &cfg->threads) || cfg->threads != floor(cfg->threads) || cfg->threads < 0 ||
                cfg->threads > 1024)
                return usage_error("run", "--threads takes 0..1024 (0: the backend's choice, e.g. OMP_NUM_THREADS)");
        } else if ((v = pecs_opt(argc, argv, &i, "--timeout", &missing))) {
            if (!pecs_parse_f64(v, &cfg->timeout) || cfg->timeout <= 0 || cfg->timeout > 86400)
                return usage_error("run", "--timeout takes seconds in (0, 86400]");
        } else if (!strcmp(argv[i], "--isolate"))
            cfg->isolate = 1;
        else if (!strcmp(argv[i], "--no-isolate"))
            cfg->isolate = 0;
        else if (!strcmp(argv[i], "--no-determinism"))
            cfg->no_determinism = 1;
        else if (!strcmp(argv[i], "--resume"))
            cfg->resume = 1;
        else if ((v = pecs_opt(argc, argv, &i, "--calibration", &missing)))
            cfg->calibration = v;
        else if ((v = pecs_opt(argc, argv, &i, "--calibration-mib", &missing))) {
            if (!pecs_parse_f64(v, &cfg->calibration_mib) || cfg->calibration_mib < 1 || cfg->calibration_mib > 65536)
                return usage_error("run", "--calibration-mib takes MiB per array in [1, 65536]");
        }
        else if ((v = pecs_opt(argc, argv, &i, "--mem-cap", &missing))) {
            double mib;
            if (!pecs_parse_f64(v, &mib) || mib < 1 || mib > 1048576)
                return usage_error("run", "--mem-cap takes MiB in [1, 1048576]");
            pecs_case_set_mem_cap(mib * 1048576.0);
            cfg->mem_cap = mib * 1048576.0;
        }
        else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            cfg->verbose = 1;
        else if (missing)
            return usage_error("run", "an option is missing its value");
        else if (argv[i][0] == '-') {
            char msg[256];
            snprintf(msg, sizeof msg, "unknown option '%s'", argv[i]);
            return usage_error("run", msg);
        } else if (cfg->n_suites < MAX_ARGS)
            cfg->suites[cfg->n_suites++] = argv[i];
        if (missing)
            return usage_error("run", "an option is missing its value");
    }
    if (cfg->calibration_mib > 0 && (!cfg->calibration || strcmp(cfg->calibration, "auto")))
        return usage_error("run", "--calibration-mib goes with --calibration auto");
    if (!cfg->n_suites && !cfg->n_cases)
        return usage_error("run", "give a suite file or --case");
    if (!cfg->n_backends)
        cfg->backends[cfg->n_backends++] = "scalar";
    return 0;
}

/* Case strings with --set overrides applied, filtered. Returns malloc'd array of malloc'd strings. Every
 * case's tolerances must resolve (an unknown profile, e.g. from --set, is bad input, not an ERROR per case),
 * and filters that leave no case are bad input too: the message says which filter. */
static int collect_cases(const run_cfg *cfg, pecs_suite *suites, pecs_tolerances *tols, char ***out, int *n_out)
{
    regex_t re;
    int have_re = 0, rc = EXIT_OK, n = 0, cap = 0, n_dtype = 0, n_re = 0;
    char **list = NULL;
    if (cfg->filter) {
        if (regcomp(&re, cfg->filter, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "pecs run: --filter '%s' is not a valid regular expression\n", cfg->filter);
            return EXIT_USAGE;
        }
        have_re = 1;
    }
    int total = cfg->n_cases;
    for (int s = 0; s < cfg->n_suites; s++)
        total += suites[s].n_cases;
    for (int k = 0; k < total && rc == EXIT_OK; k++) {
        const char *src = k < cfg->n_cases ? cfg->cases[k] : NULL;
        for (int s = 0, base = cfg->n_cases; !src && s < cfg->n_suites; base += suites[s].n_cases, s++)
            if (k - base < suites[s].n_cases)
                src = suites[s].cases[k - base];
        pecs_sb spec = {0};
        pecs_sb_adds(&spec, src);
        for (int i = 0; i < cfg->n_sets; i++)
            pecs_sb_addf(&spec, " %s", cfg->sets[i]);
        pecs_case c;
        pecs_tol tol;
        char why[768];
        pecs_status pst = pecs_case_parse(&c, pecs_sb_str(&spec), why, sizeof why);
        if (pst != PECS_OK && pst != PECS_LIMIT) { /* over a limit: run, and reported as ERROR */
            fprintf(stderr, "pecs run: case '%s': %s\n", pecs_sb_str(&spec), why);
            rc = EXIT_USAGE;
        } else if (tols && pecs_tol_resolve(tols, &c, &tol, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs run: case '%s': %s\n", pecs_sb_str(&spec), why);
            pecs_case_free(&c);
            rc = EXIT_USAGE;
        } else {
            char *canon = pecs_case_format(&c);
            pecs_case_free(&c);
            int by_dtype = canon && dtype_selected(cfg->dtypes, canon);
            int by_re = canon && (!have_re || regexec(&re, canon, 0, NULL, 0) == 0);
            n_dtype += by_dtype;
            n_re += by_re;
            if (by_dtype && by_re) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    char **l = realloc(list, (size_t)cap * sizeof *l);
                    if (!l) {
                        free(canon);
                        rc = EXIT_IO;
                        pecs_sb_free(&spec);
                        break;
                    }
                    list = l;
                }
                list[n++] = canon;
            } else {
                free(canon);
            }
        }
        pecs_sb_free(&spec);
    }
    if (rc == EXIT_OK && n == 0 && total > 0) {
        if (cfg->dtypes && n_dtype == 0)
            fprintf(stderr, "pecs run: no case selected: --dtype '%s' matches none of the %d cases\n", cfg->dtypes, total);
        else if (have_re && n_re == 0)
            fprintf(stderr, "pecs run: no case selected: --filter '%s' matches none of the %d cases\n", cfg->filter, total);
        else
            fprintf(stderr, "pecs run: no case selected: --filter '%s' matches %d and --dtype '%s' %d of the %d cases, "
                    "but no case both\n", cfg->filter, n_re, cfg->dtypes, n_dtype, total);
        rc = EXIT_USAGE;
    }
    if (have_re)
        regfree(&re);
    *out = list;
    *n_out = n;
    return rc;
}

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

static void inputs_free(run_inputs *in)
{
    for (int i = 0; i < in->n_cases; i++)
        free(in->cases[i]);
    free(in->cases);
    for (int i = 0; i < in->n_suites; i++)
        pecs_suite_free(&in->suites[i]);
    if (in->have_tols)
        pecs_tol_free(&in->tols);
    in->n_cases = in->n_suites = in->have_tols = 0;
    in->cases = NULL;
}

static int inputs_load(const char *cmd, const run_cfg *cfg, run_inputs *in)
{
    char why[1024];
    memset(in, 0, sizeof *in);
    in->tol_path = find_tolerances(cfg->tolerances, in->tolbuf, sizeof in->tolbuf);
    if (pecs_tol_load(&in->tols, in->tol_path, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs %s: %s\n", cmd, why);
        return EXIT_USAGE;
    }
    in->have_tols = 1;
    for (int i = 0; i < cfg->n_suites; i++, in->n_suites++)
        if (pecs_suite_load_checked(&in->suites[i], cfg->suites[i], &in->tols, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs %s: %s\n", cmd, why);
            return EXIT_USAGE;
        }
    return collect_cases(cfg, in->suites, &in->tols, &in->cases, &in->n_cases);
}

/* Load backends by name or path; "all" stands for every built-in. */
static int backends_load(const char *cmd, const char *const *names, int n, const pecs_backend_opts *bo,
                         pecs_loaded_backend *lbs, int *n_loaded)
{
    char why[1024];
    for (int i = 0; i < n; i++) {
        int all = !strcmp(names[i], "all");
        char list[256];
        snprintf(list, sizeof list, "%s", all ? pecs_builtin_list() : names[i]);
        char *save = NULL;
        for (char *tok = all ? strtok_r(list, " ", &save) : list; tok; tok = all ? strtok_r(NULL, " ", &save) : NULL) {
            if (*n_loaded == MAX_ARGS)
                break;
            if (pecs_backend_open(tok, bo, &lbs[*n_loaded], why, sizeof why) != PECS_OK) {
                fprintf(stderr, "pecs %s: %s\n", cmd, why);
                return EXIT_USAGE;
            }
            (*n_loaded)++;
        }
    }
    return EXIT_OK;
}

/* What --calibration auto measures, before the cases and again after them: 1 and the run's thread count,
 * --calibration-mib MiB per array (default 256), best of 5. */
static json_t *calibration_measure_auto(const run_cfg *cfg, int run_threads, char *why, size_t why_len)
{
    const int counts[2] = {1, run_threads};
    return pecs_calibration_measure(counts, 2, cfg->calibration_mib > 0 ? cfg->calibration_mib : 256, 5, why, why_len);
}

/* --calibration FILE, or auto (measured here, at 1 and the run's thread count): the table, and the sha256
 * of its bytes (the file's, or the serialised measurement's). */
static int calibration_load(const run_cfg *cfg, int run_threads, json_t **out, char sha[65])
{
    char why[1024] = "", *text = NULL;
    json_t *cal = NULL;
    int rc = EXIT_OK;
    if (!strcmp(cfg->calibration, "auto")) {
        cal = calibration_measure_auto(cfg, run_threads, why, sizeof why);
        text = cal ? pecs_calibration_dump(cal) : NULL;
        if (!text) {
            fprintf(stderr, "pecs run: --calibration auto: %s (a smaller --calibration-mib?)\n", cal ? "out of memory" : why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        pecs_sha256_hex(text, strlen(text), sha);
        json_decref(cal); /* read back what was hashed: the figures used are the ones the hash covers */
        cal = json_loads(text, 0, NULL);
        if (!cal) {
            fprintf(stderr, "pecs run: --calibration auto: out of memory\n");
            rc = EXIT_IO;
            goto cleanup;
        }
    } else {
        json_error_t jerr;
        cal = json_load_file(cfg->calibration, 0, &jerr);
        if (!cal || pecs_sha256_file(cfg->calibration, sha, why, sizeof why) != PECS_OK ||
            !json_is_object(json_object_get(cal, "gbytes_per_s"))) {
            fprintf(stderr, "pecs run: --calibration %s: %s (make one with: pecs calibrate)\n", cfg->calibration,
                    !cal ? jerr.text : why[0] ? why : "not a pecs calibration (no gbytes_per_s table)");
            rc = EXIT_USAGE;
            goto cleanup;
        }
        if (json_integer_value(json_object_get(cal, "schema_version")) < 2)
            fprintf(stderr, "pecs run: warning: --calibration %s was made by an older pecs: its rw22 is the in-place "
                            "kernel and it has no streaming-store figures (make a new one: pecs calibrate)\n",
                    cfg->calibration);
    }
cleanup:
    free(text);
    if (rc != EXIT_OK) {
        json_decref(cal);
        cal = NULL;
    }
    *out = cal;
    return rc;
}

/* --calibration auto, measured again after the cases: this machine's bandwidth swings by tens of percent, and
 * a table measured in a slow moment flatters every fraction. Each figure keeps the better of the two
 * measurements (STREAM's best-of rule) and the cases' fractions are recomputed against it, so a fraction is
 * never taken against less than the machine showed during the run. */
static void calibration_remeasure(const run_cfg *cfg, int run_threads, json_t *cal, json_t *all, char sha[65])
{
    static const char *const F[2][3] = {{"kernel", "bandwidth_gbytes_per_s", "fraction"},
                                        {"nt_kernel", "nt_bandwidth_gbytes_per_s", "nt_fraction"}};
    char why[256] = "";
    json_t *again = calibration_measure_auto(cfg, run_threads, why, sizeof why);
    json_t *table = json_object_get(cal, "gbytes_per_s"), *row, *v, *c;
    const char *th, *k;
    json_object_foreach(table, th, row) json_object_foreach(row, k, v)
    {
        double b = json_number_value(json_object_get(json_object_get(json_object_get(again, "gbytes_per_s"), th), k));
        if (b > json_number_value(v))
            json_object_set_new(row, k, json_real(b));
    }
    json_object_set_new(cal, "measured", json_string(again ? "before and after the cases, each figure the better"
                                                           : "before the cases (measuring again failed)"));
    char *text = pecs_calibration_dump(cal);
    if (text)
        pecs_sha256_hex(text, strlen(text), sha);
    free(text);
    size_t i;
    json_array_foreach(all, i, c)
    {
        json_t *perf = json_object_get(c, "perf"), *roof = json_object_get(perf, "roofline");
        char key[16];
        snprintf(key, sizeof key, "%d", (int)json_integer_value(json_object_get(roof, "threads")));
        for (int n = 0; roof && n < 2; n++) {
            double bw = json_number_value(
                json_object_get(json_object_get(table, key), json_string_value(json_object_get(roof, F[n][0]))));
            if (bw > 0) {
                json_object_set_new(roof, F[n][1], json_real(bw));
                json_object_set_new(roof, F[n][2], json_real(json_number_value(json_object_get(perf, "gbytes_per_s")) / bw));
            }
        }
    }
    if (!again)
        fprintf(stderr, "pecs run: warning: --calibration auto: measuring again after the cases failed: %s\n", why);
    json_decref(again);
}

/* One line before the cases: the figures a rotate and a bias are held to, at the run's thread count. */
static void print_calibration(const char *what, json_t *cal, int run_threads)
{
    static const char *const shown[] = {"rw22", "rw22_nt", "fill"};
    double g[3];
    int used = 0;
    for (int i = 0; i < 3; i++) {
        int t = 0;
        g[i] = pecs_calibration_kernel(cal, shown[i], run_threads, &t);
        used = t > used ? t : used;
    }
    printf("calibration %s", what);
    if (json_is_number(json_object_get(cal, "array_mib")))
        printf(" (%g MiB per array, best of %lld)", json_number_value(json_object_get(cal, "array_mib")),
               (long long)json_integer_value(json_object_get(cal, "reps")));
    printf(" at %d thread(s):", used ? used : run_threads);
    for (int i = 0; i < 3; i++)
        if (g[i] > 0)
            printf(" %s %.1f GB/s%s", shown[i], g[i], i < 2 ? "," : "");
        else
            printf(" %s -%s", shown[i], i < 2 ? "," : "");
    printf("\n");
}

/* The words of a repeatable option, each single-quoted, or "none". */
static void quoted_list(pecs_sb *b, const char *const *v, int n)
{
    for (int i = 0; i < n; i++)
        pecs_sb_addf(b, "%s'%s'", i ? " " : "", v[i]);
    if (!n)
        pecs_sb_adds(b, "none");
}

/* What this run's verdicts depend on (identity.h): the journal's header, which --resume must find equal. */
static json_t *run_identity(const run_cfg *cfg, const run_inputs *in, const pecs_loaded_backend *lbs, int n_lbs,
                            const char *cal_sha, char *why, size_t why_len)
{
    json_t *id = json_object();
    pecs_sb list = {0};
    char buf[256];
    int ok = id != NULL;
    if (!ok)
        goto cleanup;
    pecs_ident_set(id, "pecs", "%s %s", pecs_version, pecs_git_commit);
    for (int s = 0; s < in->n_suites; s++)
        for (int f = 0; f < in->suites[s].n_files; f++) {
            pecs_sb key = {0};
            pecs_sb_addf(&key, "suite %s", in->suites[s].files[f].path);
            pecs_ident_set(id, pecs_sb_str(&key), "sha256 %s", in->suites[s].files[f].sha256);
            pecs_sb_free(&key);
        }
    pecs_ident_set(id, "tolerances", "%s sha256 %s", in->tol_path, in->tols.sha256);
    for (int b = 0; b < n_lbs && ok; b++) {
        pecs_sb key = {0};
        pecs_sb_addf(&key, "backend %s", pecs_backend_token(&lbs[b]));
        if ((ok = pecs_backend_identity(&lbs[b], buf, sizeof buf, why, why_len) == PECS_OK))
            pecs_ident_set(id, pecs_sb_str(&key), "%s", buf);
        pecs_sb_free(&key);
    }
    pecs_ident_set(id, "--mode", "%s", cfg->mode);
    pecs_ident_set(id, "--dtype", "%s", cfg->dtypes ? cfg->dtypes : "all");
    pecs_ident_set(id, "--filter", cfg->filter ? "'%s'" : "%s", cfg->filter ? cfg->filter : "none");
    quoted_list(&list, cfg->cases, cfg->n_cases);
    pecs_ident_set(id, "--case", "%s", pecs_sb_str(&list));
    pecs_sb_free(&list);
    quoted_list(&list, cfg->sets, cfg->n_sets);
    pecs_ident_set(id, "--set", "%s", pecs_sb_str(&list));
    pecs_sb_free(&list);
    pecs_ident_set(id, "--threads", "%g", cfg->threads);
    pecs_ident_set(id, "--no-determinism", "%s", cfg->no_determinism ? "yes" : "no");
    pecs_ident_set(id, "--mem-cap", "%g MiB", pecs_case_mem_cap() / 1048576.0);
    pecs_ident_set(id, "--isolate", "%s", cfg->isolate > 0 ? "always" : cfg->isolate == 0 ? "never" : "plugins given by path");
    pecs_ident_set(id, "--timeout", "%g s", cfg->timeout);
    if (cfg->calibration && strcmp(cfg->calibration, "auto"))
        pecs_ident_set(id, "--calibration", "%s sha256 %s", cfg->calibration, cal_sha);
    else
        pecs_ident_set(id, "--calibration", "%s", cfg->calibration ? "auto" : "none");
    static const char *const env[] = {"PECS_ARCH", "PECS_NT", "OMP_NUM_THREADS"}; /* kernels and thread counts */
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "environment %s", env[i]);
        pecs_ident_set(id, buf, "%s", getenv(env[i]) ? getenv(env[i]) : "unset");
    }
    for (int k = 0; k < in->n_cases; k++)
        pecs_sb_addf(&list, "%s\n", in->cases[k]);
    char hex[65];
    pecs_sha256_hex(pecs_sb_str(&list), list.len, hex);
    ok = ok && !list.oom;
    pecs_sb_free(&list);
    pecs_ident_set(id, "cases", "%d selected, sha256 %s", in->n_cases, hex);
cleanup:
    if (!ok) {
        json_decref(id);
        id = NULL;
    }
    return id;
}

/* The journal of this run (journal.h): new, or with --resume the validated records of an interrupted one. */
static int journal_open(const run_cfg *cfg, const run_inputs *in, const pecs_loaded_backend *lbs, int n_lbs,
                        const char *cal_sha, const char *path, json_t **records, FILE **f)
{
    char why[4096] = "", note[1024] = "";
    int rc = EXIT_OK;
    json_t *id = run_identity(cfg, in, lbs, n_lbs, cal_sha, why, sizeof why);
    pecs_journal_scope scope = {in->cases, in->n_cases, lbs, n_lbs};
    if (!id) {
        fprintf(stderr, "pecs run: %s\n", why[0] ? why : "out of memory");
        rc = why[0] ? EXIT_USAGE : EXIT_IO;
        goto cleanup;
    }
    pecs_status st = pecs_journal_open(path, id, cfg->resume, &scope, records, f, note, sizeof note, why, sizeof why);
    if (st == PECS_INVALID || st == PECS_IO) {
        fprintf(stderr, "pecs run: cannot resume: %s\n", why);
        rc = EXIT_USAGE;
    } else if (st != PECS_OK) {
        fprintf(stderr, "pecs run: %s\n", pecs_status_str(st));
        rc = EXIT_IO;
    } else {
        if (note[0])
            fprintf(stderr, "pecs run: %s\n", note);
        if (!*f)
            fprintf(stderr, "pecs run: warning: %s: an interrupted run could not resume\n", why);
    }
cleanup:
    json_decref(id);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    run_cfg cfg;
    int rc = parse_run_args(argc, argv, &cfg);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    run_inputs in;
    pecs_loaded_backend lbs[MAX_ARGS];
    int n_loaded = 0, n_results = 0;
    char why[1024] = "";
    pecs_case_result *results = NULL;
    char *command = join_args(argc, argv);
    pecs_run_meta meta = {0};
    json_t *all = NULL, *cal = NULL;
    FILE *journal = NULL;
    char cal_sha[65] = "";
    pecs_out_lock lock = {.fd = -1};
    const char *out = cfg.out ? cfg.out : "pecs-results.json";
    pecs_utc_iso(meta.started);
    memset(&in, 0, sizeof in);

    /* Before anything else: one run per results file, and a results directory that can be written. */
    if (pecs_out_lock_take(&lock, out, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs run: %s\n", why);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if ((rc = inputs_load("run", &cfg, &in)) != EXIT_OK ||
        (rc = backends_load("run", cfg.backends, cfg.n_backends,
                            &(pecs_backend_opts){cfg.isolate, cfg.timeout, cfg.mem_cap + (cfg.mem_cap > 0 ? 256.0 * 1048576 : 0)},
                            lbs, &n_loaded)) != EXIT_OK)
        goto cleanup;
    /* The run's thread count: what the backend calls are asked for, else what OpenMP gives by default. */
    const int run_threads = cfg.threads > 0 ? (int)cfg.threads : pecs_calibration_default_threads();
    if (cfg.calibration && (rc = calibration_load(&cfg, run_threads, &cal, cal_sha)) != EXIT_OK)
        goto cleanup;
    results = calloc((size_t)(in.n_cases * n_loaded + 1), sizeof *results);
    if (!results) {
        rc = EXIT_IO;
        goto cleanup;
    }
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.correctness = strcmp(cfg.mode, "perf") != 0;
    o.perf = strcmp(cfg.mode, "correctness") != 0;
    o.min_time_s = cfg.min_time;
    o.threads = (int)cfg.threads;
    o.determinism = !cfg.no_determinism;
    o.tols = &in.tols;
    pecs_sb jpath = {0};
    pecs_sb_addf(&jpath, "%s.journal", out);
    if ((rc = journal_open(&cfg, &in, lbs, n_loaded, cal_sha, pecs_sb_str(&jpath), &all, &journal)) != EXIT_OK) {
        pecs_sb_free(&jpath);
        goto cleanup;
    }
    int resumed = (int)json_array_size(all);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    printf("pecs %s: %d case(s) x %d backend(s), mode %s, tolerances %s\n", pecs_version, in.n_cases, n_loaded, cfg.mode,
           in.tol_path);
    if (cal)
        print_calibration(cfg.calibration, cal, run_threads);
    if (cfg.resume)
        printf("resuming: %d result(s) from %s\n", resumed, pecs_sb_str(&jpath));
    fflush(stdout);
    for (int b = 0; b < n_loaded && !g_stop; b++)
        for (int k = 0; k < in.n_cases && !g_stop; k++) {
            if (resumed && pecs_journal_has(all, pecs_backend_token(&lbs[b]), in.cases[k]))
                continue;
            pecs_case_result *r = &results[n_results];
            pecs_run_case(&lbs[b], in.cases[k], &o, r);
            r->backend_slot = b;
            if (cal && r->perf.done) {
                char id[64];
                snprintf(id, sizeof id, "%.*s", (int)strcspn(in.cases[k], " "), in.cases[k]);
                const pecs_encoding_info *e = pecs_registry_find(id);
                if (e) {
                    r->perf.roof_gbs = pecs_calibration_bandwidth(cal, e->form, run_threads, 0, &r->perf.roof_kernel,
                                                                  &r->perf.roof_threads);
                    r->perf.roof_nt_gbs = pecs_calibration_bandwidth(cal, e->form, run_threads, 1,
                                                                     &r->perf.roof_nt_kernel, NULL);
                }
            }
            print_result(r, &lbs[b], cfg.verbose);
            n_results++;
            json_t *cj = pecs_result_json(r, &lbs[b]);
            if (cj && journal) {
                json_dumpf(cj, journal, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
                fputc('\n', journal);
                fflush(journal); /* in the kernel's hands: survives kill -9 */
            }
            if (cj)
                json_array_append_new(all, cj);
            fflush(stdout);
        }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (journal)
        fclose(journal);
    journal = NULL;
    if (g_stop) {
        printf("interrupted by signal %d after %d case(s): %s was not touched; continue with --resume (journal %s)\n",
               (int)g_stop, (int)json_array_size(all), out, pecs_sb_str(&jpath));
        rc = EXIT_INTERRUPTED;
        pecs_sb_free(&jpath);
        goto cleanup;
    }
    if (cal && !strcmp(cfg.calibration, "auto")) {
        calibration_remeasure(&cfg, run_threads, cal, all, cal_sha);
        print_calibration("auto, better of before and after the cases", cal, run_threads);
    }
    for (int i = 0; i < n_loaded; i++) /* no plugin process outlives the cases: nothing can touch the results */
        pecs_backend_stop(&lbs[i]);
    print_table(results, n_results);
    int count[PECS_V_COUNT] = {0}, failed = pecs_results_count(all, count);
    pecs_utc_iso(meta.finished);
    meta.command = command ? command : "pecs run";
    meta.suites = in.suites;
    meta.n_suites = in.n_suites;
    meta.tolerances_path = in.tol_path;
    meta.tolerances_sha256 = in.tols.sha256;
    meta.backends = lbs;
    meta.n_backends = n_loaded;
    meta.mode = cfg.mode;
    meta.threads = (int)cfg.threads;
    meta.calibration_path = cfg.calibration;
    meta.calibration_sha256 = cal_sha;
    meta.calibration = cal;
    if (pecs_results_write(out, &meta, all, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs run: cannot write results: %s\n", why);
        rc = EXIT_IO;
    } else {
        printf("results: %s\n", out);
        unlink(pecs_sb_str(&jpath)); /* complete: nothing left to resume */
    }
    pecs_sb_free(&jpath);
    if (failed)
        printf("(%d FAILED, %d ERROR, %d MISTRUSTED, %d CRASHED, %d TIMEOUT, %d NONDETERMINISTIC)\n",
               count[PECS_V_FAILED], count[PECS_V_ERROR], count[PECS_V_MISTRUSTED], count[PECS_V_CRASHED],
               count[PECS_V_TIMEOUT], count[PECS_V_NONDETERMINISTIC]);
    printf("%d passed, %d failed, %d skipped\n", count[PECS_V_PASSED], failed, count[PECS_V_SKIPPED]);
    if (rc == EXIT_OK && failed)
        rc = EXIT_FAILURES;
cleanup:
    if (journal)
        fclose(journal);
    json_decref(all);
    json_decref(cal);
    for (int i = 0; i < n_results; i++)
        pecs_case_result_free(&results[i]);
    free(results);
    for (int i = 0; i < n_loaded; i++)
        pecs_backend_unload(&lbs[i]);
    inputs_free(&in);
    free(command);
    pecs_out_lock_release(&lock);
    return rc;
}

/* ---- list ---------------------------------------------------------------------------------------------- */

static const char LIST_HELP[] =
    "usage: pecs list encodings | backends | cases [--tolerances FILE] SUITE.yaml ...\n"
    "\n"
    "  encodings   every registered encoding: id, kernel form, tier, expected invariance, the backends\n"
    "              with a kernel for it, summary\n"
    "  backends    the built-in backends (plugins are given by path to --backend)\n"
    "  cases       expand suites into their canonical case strings (validates the suites, including every\n"
    "              case's tolerance profile against the tolerance file `pecs run` would use, or --tolerances\n"
    "              FILE; runs nothing)\n";

/* Built-in backends that accept a default case of this encoding (asked with real tensors, as in a run). */
static void kernels_for(const pecs_encoding_info *e, char *buf, size_t n)
{
    buf[0] = '\0';
    char names[256], why[256];
    snprintf(names, sizeof names, "%s", pecs_builtin_list());
    char *save = NULL;
    size_t off = 0;
    pecs_case c;
    pecs_instance in;
    if (pecs_case_init(&c, e) != PECS_OK)
        return;
    if (pecs_instance_create(&in, &c, 0, PECS_STREAM_X, why, sizeof why) == PECS_OK) {
        for (char *tok = strtok_r(names, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            pecs_loaded_backend lb;
            if (pecs_backend_load(tok, &lb, why, sizeof why) != PECS_OK)
                continue;
            pecs_call k;
            pecs_backend_supports(&lb, &in.problem, &in.arena, &k);
            if (k.kind == PECS_CALL_OK && off < n)
                off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? "," : "", tok);
            pecs_backend_unload(&lb);
        }
        pecs_instance_free(&in);
    }
    pecs_case_free(&c);
    if (!buf[0])
        snprintf(buf, n, "-");
}

static int cmd_list(int argc, char **argv)
{
    if (argc < 2 || is_help(argv[1])) {
        fputs(LIST_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "encodings")) {
        printf("%-18s %-7s %-4s %-9s %-9s %-10s %s\n", "id", "form", "tier", "invariant", "reference", "kernels", "summary");
        for (int i = 0; i < PECS_ENC_COUNT; i++) {
            const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
            char k[128];
            kernels_for(e, k, sizeof k);
            printf("%-18s %-7s T%-3d %-9s %-9s %-10s %s\n", e->id, pecs_form_name(e->form), e->tier,
                   pecs_invariance_name(e->invariance), "yes", k, e->summary);
        }
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "backends")) {
        char names[256], why[512];
        snprintf(names, sizeof names, "%s", pecs_builtin_list());
        char *save = NULL;
        for (char *tok = strtok_r(names, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            pecs_loaded_backend lb;
            if (pecs_backend_load(tok, &lb, why, sizeof why) != PECS_OK) {
                printf("%-10s (failed to load: %s)\n", tok, why);
                continue;
            }
            printf("%-10s %-6s abi %u.%u  isa %-8s %s\n", lb.id.name, lb.id.version, lb.id.abi_major, lb.id.abi_minor,
                   lb.id.isa, lb.id.description);
            pecs_backend_unload(&lb);
        }
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "cases")) {
        const char *files[MAX_ARGS], *tol_given = NULL;
        int n_files = 0, rc = EXIT_OK;
        for (int i = 2; i < argc; i++) {
            int missing = 0;
            const char *v = pecs_opt(argc, argv, &i, "--tolerances", &missing);
            if (v)
                tol_given = v;
            else if (missing || argv[i][0] == '-' || n_files == MAX_ARGS)
                return usage_error("list", missing ? "--tolerances needs a file" : "'list cases' takes suite files");
            else
                files[n_files++] = argv[i];
        }
        if (!n_files)
            return usage_error("list", "'list cases' needs suite files");
        /* The profiles are checked against the tolerance file a run would use: bad input here, not an ERROR
         * per case at run time. */
        char tolbuf[PATH_MAX], why[1024];
        pecs_tolerances tols;
        if (pecs_tol_load(&tols, find_tolerances(tol_given, tolbuf, sizeof tolbuf), why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs list: %s\n", why);
            return EXIT_USAGE;
        }
        for (int i = 0; i < n_files && rc == EXIT_OK; i++) {
            pecs_suite s;
            if (pecs_suite_load_checked(&s, files[i], &tols, why, sizeof why) != PECS_OK) {
                fprintf(stderr, "pecs list: %s\n", why);
                rc = EXIT_USAGE;
                break;
            }
            for (int k = 0; k < s.n_cases; k++)
                printf("%s\n", s.cases[k]);
            fprintf(stderr, "%s: %d cases\n", files[i], s.n_cases);
            pecs_suite_free(&s);
        }
        pecs_tol_free(&tols);
        return rc;
    }
    return usage_error("list", "list what? encodings, backends or cases");
}

/* ---- describe -------------------------------------------------------------------------------------------- */

static const char *const FORM_TENSORS[] = {
    /* rotate */ "inputs:  x [T, H, D] (f64|f32|f16), pos [T] or [P, T] (i32|i64|f64; P rows: t,h,w / h,w)\n"
                 "  outputs: out [T, H, D]; schedules also give inv_freq [R/2], attn [], axis [R/2] (position row of\n"
                 "  each pair) and softmax_scale [] (f64; --in pos gives length-dependent schedules their length)",
    /* bias   */ "inputs:  qpos [Lq], kpos [Lk] (i32|i64|f64); --set heads=H; w [rows, cols] if it reads data\n"
                 "  outputs: out [H, Lq, Lk]",
    /* embed  */ "inputs:  x [T, D] (f64|f32|f16), pos [T] or [1, T] (i32|i64|f64); w [npos, D] if a table\n"
                 "  outputs: out [T, D] = x + P(pos)",
    "-",
    /* mask   */ "inputs:  qpos [Lq], kpos [Lk] (i32|i64|f64)\n"
                 "  outputs: out [1, Lq, Lk] (0 visible, -inf masked)",
    /* scores */ "inputs:  q [Lq, H, D], k [Lk, H, D] (f64|f32|f16), qpos [Lq], kpos [Lk], w [rows, cols]\n"
                 "  outputs: out [H, Lq, Lk] (logits, -inf where masked)"};

static int cmd_describe(int argc, char **argv)
{
    if (argc < 2 || is_help(argv[1])) {
        fputs("usage: pecs describe ENCODING\n\nParameters (type, default, range, meaning), kernel form, expected\n"
              "invariance, tensors for `pecs eval`, and the source the reference was checked against.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const pecs_encoding_info *e = pecs_registry_find(argv[1]);
    if (!e) {
        const char *sug = pecs_registry_suggest(argv[1]);
        fprintf(stderr, "pecs describe: unknown encoding '%s'%s%s%s (see: pecs list encodings)\n", argv[1],
                sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
        return EXIT_USAGE;
    }
    printf("%s — %s\n  form: %s   tier: T%d   relative-shift invariance: %s\n  source: %s\n", e->id, e->summary,
           pecs_form_name(e->form), e->tier, pecs_invariance_name(e->invariance), e->source);
    printf("  bytes model: %.0f read + 1 written activation element(s) per output element; %.0f flop(s) each\n",
           e->reads, e->flops);
    printf("  %s\n\nparameters:\n", FORM_TENSORS[e->form]);
    for (int i = 0; i < e->n_params; i++) {
        const pecs_param_schema *p = &e->params[i];
        char lo[32], hi[32], range[96];
        if (p->type == PECS_PARAM_CHOICE)
            snprintf(range, sizeof range, "%s", p->choices);
        else if (p->type == PECS_PARAM_BOOL)
            snprintf(range, sizeof range, "true|false");
        else
            snprintf(range, sizeof range, "[%s, %s]", pecs_fmt_real(p->lo, lo, sizeof lo), pecs_fmt_real(p->hi, hi, sizeof hi));
        printf("  %-22s %-9s default %-12s %s\n  %-22s %s\n", p->name, pecs_param_type_name(p->type),
               p->dflt[0] ? p->dflt : "(none)", range, "", p->doc);
    }
    int n;
    const pecs_knob_doc *k = pecs_case_knobs(&n);
    printf("\ncase knobs (every encoding):\n");
    for (int i = 0; i < n; i++)
        printf("  %-12s %-38s default %-10s %s\n", k[i].name, k[i].values, k[i].dflt[0] ? k[i].dflt : "-", k[i].doc);
    return EXIT_OK;
}

/* ---- eval ------------------------------------------------------------------------------------------------ */

static const char EVAL_HELP[] =
    "usage: pecs eval ENCODING [--backend B] [--set KEY=VALUE ...] --in NAME=FILE.npy ... --out NAME=FILE.npy ...\n"
    "\n"
    "Evaluate the reference (default) or a backend on tensors given as NumPy .npy files, the way a vendor\n"
    "checks a dump from their own pipeline. Tensor names and shapes by form: see `pecs describe ENCODING`.\n"
    "  --set KEY=VALUE    encoding parameters (lists comma-separated) and heads= for bias encodings\n"
    "  --in NAME=FILE     input tensors (f64, f32 or f16 activations; i32, i64 or f64 positions)\n"
    "  --out NAME=FILE    outputs: out; for rotate encodings also inv_freq, attn, axis, softmax_scale (the schedule\n"
    "                     alone needs no inputs: give --set head_dim=D)\n"
    "  --backend B        run a backend instead of the reference (built-in name or plugin path)\n"
    "The reference writes out in f64; a backend writes out in the dtype of x (bias: f32).\n";

typedef struct named_file {
    char name[32];
    const char *path;
} named_file;

static int split_named(const char *arg, named_file *f)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof f->name || !eq[1])
        return 0;
    snprintf(f->name, sizeof f->name, "%.*s", (int)(eq - arg), arg);
    f->path = eq + 1;
    return 1;
}

static const named_file *find_named_file(const named_file *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return &f[i];
    return NULL;
}

static pecs_tensor tensor_of(const char *name, const pecs_npy *a)
{
    pecs_tensor t = {.name = name, .dtype = a->dtype, .ndim = a->ndim, .data = a->data};
    int64_t s = 1;
    for (int i = a->ndim - 1; i >= 0; i--) {
        t.shape[i] = a->shape[i];
        t.stride[i] = s;
        s *= a->shape[i];
    }
    return t;
}

/* Positions as a [1, T] view. */
static pecs_tensor pos_view(const char *name, const pecs_npy *a)
{
    pecs_tensor t = tensor_of(name, a);
    if (a->ndim == 1) {
        t.ndim = 2;
        t.shape[1] = a->shape[0];
        t.stride[1] = 1;
        t.shape[0] = 1;
        t.stride[0] = a->shape[0];
    }
    return t;
}

/* The reference reads activations as f64: widen an input array exactly, in place. */
static int widen_f64(pecs_npy *a)
{
    if (a->dtype == PECS_DT_F64)
        return 1;
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v)
        return 0;
    for (int64_t i = 0; i < n; i++)
        v[i] = pecs_load_f64(a->data, a->dtype, i);
    free(a->data);
    a->data = v;
    a->dtype = PECS_DT_F64;
    return 1;
}

/* A backend call on eval's own tensors: they are copied into an arena (shared with the worker when the
 * backend is isolated) and the output copied back. */
static pecs_status eval_call(pecs_loaded_backend *lb, const pecs_problem *p, pecs_call *k)
{
    pecs_arena a;
    pecs_tensor t[8];
    size_t bytes[8], total = 0;
    pecs_problem q = *p;
    memset(k, 0, sizeof *k);
    if (p->n_tensors > 8)
        return PECS_INVALID;
    for (int i = 0; i < p->n_tensors; i++) {
        int64_t span = 1;
        for (int d = 0; d < p->tensors[i].ndim; d++)
            span += (p->tensors[i].shape[d] - 1) * p->tensors[i].stride[d];
        bytes[i] = (size_t)span * pecs_dtype_size(p->tensors[i].dtype);
        total += bytes[i];
    }
    pecs_status st = pecs_arena_create(&a, total, p->n_tensors, lb->isolated);
    if (st != PECS_OK)
        return st;
    for (int i = 0; i < p->n_tensors; i++) {
        size_t len;
        t[i] = p->tensors[i];
        if (!(t[i].data = pecs_arena_body(&a, bytes[i], &len))) {
            pecs_arena_free(&a);
            return PECS_NOMEM;
        }
        memcpy(t[i].data, p->tensors[i].data, bytes[i]);
    }
    q.tensors = t;
    pecs_backend_case_start(lb);
    pecs_backend_supports(lb, &q, &a, k);
    if (k->kind == PECS_CALL_OK)
        pecs_backend_run(lb, &q, &a, k);
    for (int i = 0; i < p->n_tensors; i++)
        if (!strcmp(t[i].name, "out"))
            memcpy(p->tensors[i].data, t[i].data, bytes[i]);
    pecs_arena_free(&a);
    return PECS_OK;
}

static int cmd_eval(int argc, char **argv)
{
    if (argc < 2 || is_help(argv[1])) {
        fputs(EVAL_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const pecs_encoding_info *e = pecs_registry_find(argv[1]);
    if (!e) {
        fprintf(stderr, "pecs eval: unknown encoding '%s' (see: pecs list encodings)\n", argv[1]);
        return EXIT_USAGE;
    }
    named_file ins[8], outs[8];
    int n_in = 0, n_out = 0, rc = EXIT_OK, have_case = 0, have_lb = 0;
    const char *backend = NULL;
    char why[1024] = "";
    pecs_npy arrs[8];
    memset(arrs, 0, sizeof arrs);
    pecs_case c;
    pecs_loaded_backend lb;
    void *outbuf = NULL;
    double *inv = NULL;
    if (pecs_case_init(&c, e) != PECS_OK)
        return EXIT_IO;
    have_case = 1;
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (is_help(argv[i])) {
            fputs(EVAL_HELP, stdout);
            goto cleanup;
        }
        if ((v = pecs_opt(argc, argv, &i, "--set", &missing))) {
            char key[64];
            const char *eq = strchr(v, '=');
            if (!eq || (size_t)(eq - v) >= sizeof key) {
                rc = usage_error("eval", "--set takes KEY=VALUE");
                goto cleanup;
            }
            snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
            if (pecs_case_set(&c, key, eq + 1, why, sizeof why) != PECS_OK) {
                fprintf(stderr, "pecs eval: --set %s: %s\n", v, why);
                rc = EXIT_USAGE;
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--in", &missing))) {
            if (n_in == 8 || !split_named(v, &ins[n_in++])) {
                rc = usage_error("eval", "--in takes NAME=FILE.npy (at most 8)");
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--out", &missing))) {
            if (n_out == 8 || !split_named(v, &outs[n_out++])) {
                rc = usage_error("eval", "--out takes NAME=FILE.npy (at most 8)");
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--backend", &missing))) {
            backend = v;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, missing ? "option '%s' needs a value" : "unknown argument '%s'", argv[i]);
            rc = usage_error("eval", msg);
            goto cleanup;
        }
    }
    if (!n_out) {
        rc = usage_error("eval", "give at least one --out NAME=FILE.npy");
        goto cleanup;
    }
    for (int i = 0; i < n_in; i++)
        if (pecs_npy_read(ins[i].path, (size_t)1 << 33, &arrs[i], why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: --in %s: %s\n", ins[i].name, why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
#define INPUT(name) (find_named_file(ins, n_in, name) ? &arrs[find_named_file(ins, n_in, name) - ins] : NULL)
    const pecs_npy *x = INPUT("x"), *pos = INPUT("pos"), *qpos = INPUT("qpos"), *kpos = INPUT("kpos"), *w = INPUT("w");
    const pecs_npy *qin = INPUT("q"), *kin = INPUT("k");
    int pairwise = pecs_form_pairwise(e->form);
    for (int i = 0; i < n_in; i++) {
        const char *nm = ins[i].name;
        int ok = (pairwise ? (!strcmp(nm, "qpos") || !strcmp(nm, "kpos")) : (!strcmp(nm, "x") || !strcmp(nm, "pos"))) ||
                 (e->form == PECS_FORM_SCORES && (!strcmp(nm, "q") || !strcmp(nm, "k"))) ||
                 (e->weights[0] && !strcmp(nm, "w"));
        if (!ok) {
            fprintf(stderr, "pecs eval: %s takes no input named '%s' (see: pecs describe %s)\n", e->id, nm, e->id);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        /* Positions are exact numbers: finite, within 2^53, and integers where the encoding indexes by them
         * (T5's buckets, a learned table's rows); the reference would otherwise compute from garbage. */
        int integers = !strcmp(e->id, "t5") || !strcmp(e->id, "learned");
        if ((!strcmp(nm, "pos") || !strcmp(nm, "qpos") || !strcmp(nm, "kpos")) &&
            pecs_npy_check_positions(&arrs[i], ins[i].path, integers, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: --in %s: %s\n", nm, why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
    }
    if (backend) {
        if (pecs_backend_load(backend, &lb, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        have_lb = 1;
    }
    pecs_problem p = {.struct_size = sizeof p, .encoding = e->id, .form = e->form, .params = c.params, .n_params = c.n_params};
    pecs_tensor in_t[1];
    /* The frequency schedule alone. */
    const named_file *o_inv = find_named_file(outs, n_out, "inv_freq"), *o_attn = find_named_file(outs, n_out, "attn");
    const named_file *o_axis = find_named_file(outs, n_out, "axis"), *o_sm = find_named_file(outs, n_out, "softmax_scale");
    if (o_inv || o_attn || o_axis || o_sm) {
        if (e->form != PECS_FORM_ROTATE || backend) {
            rc = usage_error("eval", "inv_freq and attn come from the reference of rotate-form encodings");
            goto cleanup;
        }
        int64_t D = x && x->ndim == 3 ? x->shape[2] : c.head_dim;
        int64_t R = pecs_ref_rotary_dim(&p, D, why, sizeof why);
        pecs_ref_rot sc;
        if (pos) { /* positions give the current length of length-dependent schedules */
            in_t[0] = tensor_of("pos", pos);
            p.tensors = in_t, p.n_tensors = 1;
        }
        if (!R || pecs_ref_rot_alloc(&sc, R) != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why[0] ? why : "out of memory");
            rc = EXIT_USAGE;
            goto cleanup;
        }
        inv = sc.inv_freq; /* freed by cleanup */
        pecs_status sst = pecs_ref_schedule(&p, &sc, why, sizeof why);
        int64_t half = R / 2;
        double *axis = malloc((size_t)half * sizeof *axis);
        for (int64_t i = 0; axis && i < half; i++)
            axis[i] = sc.axis[i];
        if (sst != PECS_OK || !axis) {
            fprintf(stderr, "pecs eval: %s\n", sst != PECS_OK ? why : "out of memory");
            rc = EXIT_USAGE;
        } else if ((o_inv && pecs_npy_write(o_inv->path, PECS_DT_F64, 1, &half, inv, why, sizeof why) != PECS_OK) ||
                   (o_attn && pecs_npy_write(o_attn->path, PECS_DT_F64, 0, NULL, &sc.attn, why, sizeof why) != PECS_OK) ||
                   (o_axis && pecs_npy_write(o_axis->path, PECS_DT_F64, 1, &half, axis, why, sizeof why) != PECS_OK) ||
                   (o_sm && pecs_npy_write(o_sm->path, PECS_DT_F64, 0, NULL, &sc.softmax_scale, why, sizeof why) != PECS_OK)) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_IO;
        }
        free(axis);
        sc.inv_freq = NULL; /* freed with `inv` */
        pecs_ref_rot_free(&sc);
        p.tensors = NULL, p.n_tensors = 0;
        if (rc != 0)
            goto cleanup;
    }
    const named_file *o_out = find_named_file(outs, n_out, "out");
    if (o_out) {
        pecs_tensor t[7];
        int nt = 0;
        int64_t shape[3];
        int ndim;
        pecs_dtype odt;
        if (e->weights[0] && (!w || w->ndim != 2)) {
            rc = usage_error("eval", "this encoding reads learned data: give --in w=[rows,cols].npy (layout: pecs describe)");
            goto cleanup;
        }
        if (pairwise) {
            if (!qpos || !kpos || qpos->ndim != 1 || kpos->ndim != 1) {
                rc = usage_error("eval", "bias, mask and scores encodings need --in qpos=[Lq].npy and --in kpos=[Lk].npy");
                goto cleanup;
            }
            if (e->form == PECS_FORM_SCORES) {
                if (!qin || !kin || qin->ndim != 3 || kin->ndim != 3 || qin->shape[0] != qpos->shape[0] ||
                    kin->shape[0] != kpos->shape[0] || qin->shape[1] != kin->shape[1] || qin->shape[2] != kin->shape[2]) {
                    rc = usage_error("eval", "scores encodings need --in q=[Lq,H,D].npy and --in k=[Lk,H,D].npy");
                    goto cleanup;
                }
                if ((!backend && (!widen_f64(&arrs[find_named_file(ins, n_in, "q") - ins]) ||
                                  !widen_f64(&arrs[find_named_file(ins, n_in, "k") - ins])))) {
                    rc = EXIT_IO;
                    goto cleanup;
                }
                t[nt++] = tensor_of("q", qin);
                t[nt++] = tensor_of("k", kin);
                c.heads = qin->shape[1];
            }
            t[nt++] = tensor_of("qpos", qpos);
            t[nt++] = tensor_of("kpos", kpos);
            ndim = 3, shape[0] = e->form == PECS_FORM_MASK ? 1 : c.heads, shape[1] = qpos->shape[0], shape[2] = kpos->shape[0];
            odt = backend ? PECS_DT_F32 : PECS_DT_F64;
        } else {
            int want = e->form == PECS_FORM_ROTATE ? 3 : 2;
            int rows_ok = pos && (pos->ndim == 1 ? e->pos_rows == 1 : pos->ndim == 2 && pos->shape[0] == e->pos_rows);
            if (!x || !pos || x->ndim != want || !rows_ok || pos->shape[pos->ndim - 1] != x->shape[0]) {
                char msg[160];
                snprintf(msg, sizeof msg, "%s encodings need --in x=%s.npy and --in pos=%s.npy",
                         pecs_form_name(e->form), want == 3 ? "[T,H,D]" : "[T,D]", e->pos_rows == 1 ? "[T]" :
                         e->pos_rows == 2 ? "[2,T] (h, w)" : "[3,T] (t, h, w)");
                rc = usage_error("eval", msg);
                goto cleanup;
            }
            if (!pecs_dtype_is_float(x->dtype) || !(pos->dtype == PECS_DT_I32 || pos->dtype == PECS_DT_I64 || pos->dtype == PECS_DT_F64)) {
                rc = usage_error("eval", "x must be f64, f32 or f16; pos must be i32, i64 or f64");
                goto cleanup;
            }
            ndim = want;
            for (int i = 0; i < ndim; i++)
                shape[i] = x->shape[i];
            odt = backend ? x->dtype : PECS_DT_F64;
            if (!backend && !widen_f64(&arrs[find_named_file(ins, n_in, "x") - ins])) {
                rc = EXIT_IO;
                goto cleanup;
            }
            t[nt++] = tensor_of("x", x);
            t[nt++] = pos_view("pos", pos);
        }
        if (e->weights[0]) {
            if (!backend && !widen_f64(&arrs[find_named_file(ins, n_in, "w") - ins])) {
                rc = EXIT_IO;
                goto cleanup;
            }
            t[nt++] = tensor_of("w", w);
        }
        int64_t n = 1;
        for (int i = 0; i < ndim; i++)
            n *= shape[i];
        outbuf = calloc((size_t)(n ? n : 1), pecs_dtype_size(odt));
        if (!outbuf) {
            rc = EXIT_IO;
            goto cleanup;
        }
        pecs_npy oa = {.dtype = odt, .ndim = ndim, .data = outbuf};
        for (int i = 0; i < ndim; i++)
            oa.shape[i] = shape[i];
        t[nt] = tensor_of("out", &oa);
        nt++;
        p.tensors = t;
        p.n_tensors = nt;
        p.dtype = odt;
        pecs_status st;
        if (backend) {
            pecs_call k;
            st = eval_call(&lb, &p, &k);
            if (st == PECS_OK && k.kind == PECS_CALL_DECLINED) {
                fprintf(stderr, "pecs eval: backend %s does not support this: %s\n", lb.id.name, k.reason);
                rc = EXIT_USAGE;
                goto cleanup;
            }
            if (st == PECS_OK && k.kind != PECS_CALL_OK)
                st = k.kind == PECS_CALL_STATUS ? k.st : PECS_BACKEND;
            if (st != PECS_OK)
                snprintf(why, sizeof why, "backend %s: %s%s%s", lb.id.name, pecs_status_str(st), k.reason[0] ? ": " : "",
                         k.reason);
        } else {
            st = pecs_ref_run(&p, why, sizeof why);
        }
        if (st != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        if (pecs_npy_write(o_out->path, odt, ndim, shape, outbuf, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_IO;
            goto cleanup;
        }
    }
    for (int i = 0; i < n_out; i++)
        if (strcmp(outs[i].name, "out") && strcmp(outs[i].name, "inv_freq") && strcmp(outs[i].name, "attn") &&
            strcmp(outs[i].name, "axis") && strcmp(outs[i].name, "softmax_scale")) {
            fprintf(stderr, "pecs eval: no output named '%s' (out, inv_freq, attn, axis, softmax_scale)\n", outs[i].name);
            rc = EXIT_USAGE;
        }
#undef INPUT
cleanup:
    for (int i = 0; i < 8; i++)
        pecs_npy_free(&arrs[i]);
    free(outbuf);
    free(inv);
    if (have_lb)
        pecs_backend_unload(&lb);
    if (have_case)
        pecs_case_free(&c);
    return rc;
}

/* ---- mutate ---------------------------------------------------------------------------------------------- */

static const char MUTATE_HELP[] =
    "usage: pecs mutate [SUITE.yaml ...] [--dir DIR] [--backend B ...] [--level L] [--out FILE]\n"
    "\n"
    "Proof that the suites bite: run every mutant (DIR/libpecs-mutant-*.so, default: the mutants directory\n"
    "next to the pecs binary) over the suites (default: smoke, the four t1-*.yaml and invariance.yaml; cases\n"
    "are run round-robin over encoding-and-parameter groups, so a mutant meets its bug early). A mutant is\n"
    "CAUGHT when one of\n"
    "its cases FAILS or is an ERROR (the run of that mutant stops there and prints the case's reproducer).\n"
    "The control (mutant-none: the mutants' kernel without a bug) and every correct backend (--backend,\n"
    "default: all built-ins) must pass every case: anything else is a FALSE ALARM.\n"
    "--level L judges every case at conformance level L (default: each case's own, exact by default); a\n"
    "mutant whose bug is the convention L allows (impls/mutants/mutants.def: angles in float32 at f32angle)\n"
    "is listed as CONFORMS and not counted.\n"
    "Prints the mutation score; exit 0 only with every mutant caught and no false alarm.\n";

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Run `cases` on one backend; returns the number of failing cases (stops at the first if stop_first);
 * *first gets the first failing result's reproducer and reason. */
static int run_all(pecs_loaded_backend *lb, char **cases, int n, const pecs_run_opts *o, int stop_first,
                   char *first, size_t first_len, int *ran)
{
    int failed = 0;
    *ran = 0;
    first[0] = '\0';
    for (int k = 0; k < n; k++) {
        pecs_case_result r;
        pecs_run_case(lb, cases[k], o, &r);
        if (r.verdict != PECS_V_SKIPPED)
            (*ran)++;
        if (pecs_verdict_fails(r.verdict)) {
            if (!failed++) {
                char *rep = pecs_reproducer(&r, lb);
                snprintf(first, first_len, "%s: %s\n             %s", pecs_verdict_name(r.verdict), r.reason, rep ? rep : "");
                free(rep);
            }
        }
        pecs_case_result_free(&r);
        if (failed && stop_first)
            break;
    }
    return failed;
}

/* Reorder cases round-robin over groups (the first case of every group, then the second, ...), keeping
 * each group's own order. A group is an encoding with its non-default parameters and its position
 * dtype: the part of a case a bug usually lives in. A mutant then meets a case of its group within a few
 * dozen cases instead of after every case of the suites before it; every case still runs if none fails. */
static void interleave_by_group(char **cases, int n)
{
    char **tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    int *rank = calloc((size_t)(n ? n : 1), sizeof *rank), *group = calloc((size_t)(n ? n : 1), sizeof *group);
    int n_groups = 0, done = 0, max_rank = 0;
    if (!tmp || !rank || !group)
        goto cleanup; /* out of memory: keep the suites' order */
    for (int i = 0; i < n; i++) {
        const char *dt = strstr(cases[i], " dtype="), *pd = strstr(cases[i], " pos_dtype=");
        size_t l = dt ? (size_t)(dt - cases[i]) : strlen(cases[i]);
        int g = 0;
        for (; g < n_groups; g++) { /* groups are few (hundreds): a linear scan over their first cases */
            const char *c0 = tmp[g], *dt0 = strstr(c0, " dtype="), *pd0 = strstr(c0, " pos_dtype=");
            if ((size_t)(dt0 ? dt0 - c0 : (ptrdiff_t)strlen(c0)) == l && !strncmp(c0, cases[i], l) &&
                (pd && pd0 ? strncmp(pd, pd0, 14) == 0 : pd == pd0))
                break;
        }
        if (g == n_groups)
            tmp[n_groups++] = cases[i];
        group[i] = g;
        rank[i] = 0;
        for (int k = 0; k < i; k++) /* rank within the group */
            rank[i] += group[k] == g;
        if (rank[i] > max_rank)
            max_rank = rank[i];
    }
    for (int r = 0; r <= max_rank; r++)
        for (int i = 0; i < n; i++)
            if (rank[i] == r)
                tmp[done++] = cases[i];
    memcpy(cases, tmp, (size_t)n * sizeof *cases);
cleanup:
    free(tmp);
    free(rank);
    free(group);
}

/* Is mutant `name` ("mutant-<row>") a bug at `level`? From impls/mutants/mutants.def, the one table. */
static int mutant_bug_at(const char *name, const char *level)
{
    static const struct {
        const char *name, *levels;
    } rows[] = {
#define MUTANT(row, cls, what, levels) {"mutant-" #row, levels},
#include "../impls/mutants/mutants.def"
#undef MUTANT
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!strcmp(rows[i].name, name))
            return !strcmp(rows[i].levels, "all") || !strcmp(rows[i].levels, level);
    return 1; /* a mutant this pecs does not know: judged at every level */
}

static int cmd_mutate(int argc, char **argv)
{
    const char *suites_arg[MAX_ARGS], *backends[MAX_ARGS], *dir = NULL, *level = NULL;
    int n_suites_arg = 0, n_backends = 0, rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (is_help(argv[i])) {
            fputs(MUTATE_HELP, stdout);
            return EXIT_OK;
        }
        if ((v = pecs_opt(argc, argv, &i, "--dir", &missing)))
            dir = v;
        else if ((v = pecs_opt(argc, argv, &i, "--level", &missing)))
            level = v;
        else if ((v = pecs_opt(argc, argv, &i, "--backend", &missing)) && n_backends < MAX_ARGS)
            backends[n_backends++] = v;
        else if (missing || argv[i][0] == '-')
            return usage_error("mutate", missing ? "an option is missing its value" : "unknown option");
        else if (n_suites_arg < MAX_ARGS)
            suites_arg[n_suites_arg++] = argv[i];
    }
    static const char *const default_suites[] = {"suites/smoke.yaml",     "suites/t1-rotate.yaml", "suites/t1-multiaxis.yaml",
                                                 "suites/t1-bias.yaml",   "suites/t1-other.yaml",  "suites/invariance.yaml"};
    if (!n_suites_arg)
        for (size_t k = 0; k < sizeof default_suites / sizeof default_suites[0]; k++)
            suites_arg[n_suites_arg++] = default_suites[k];
    char dirbuf[PATH_MAX];
    if (!dir) {
        ssize_t len = readlink("/proc/self/exe", dirbuf, sizeof dirbuf - 16);
        char *slash = len > 0 ? (dirbuf[len] = '\0', strrchr(dirbuf, '/')) : NULL;
        if (slash)
            snprintf(slash, sizeof dirbuf - (size_t)(slash - dirbuf), "/mutants");
        dir = slash ? dirbuf : "build/mutants";
    }
    run_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    for (int i = 0; i < n_suites_arg; i++)
        cfg.suites[cfg.n_suites++] = suites_arg[i];
    char level_set[64];
    if (level) { /* every case judged at this level; mutants that conform to it are not counted */
        snprintf(level_set, sizeof level_set, "level=%s", level);
        cfg.sets[cfg.n_sets++] = level_set;
    }
    if (!n_backends)
        backends[n_backends++] = "all";
    run_inputs in;
    pecs_loaded_backend correct[MAX_ARGS];
    int n_mut = 0, n_correct = 0;
    char **muts = NULL, why[1024], first[2048];
    if ((rc = inputs_load("mutate", &cfg, &in)) != EXIT_OK ||
        (rc = backends_load("mutate", backends, n_backends, &(pecs_backend_opts){-1, 60.0, 0}, correct, &n_correct)) != EXIT_OK)
        goto cleanup;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "pecs mutate: cannot open the mutants directory %s (build them with: make mutants)\n", dir);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "libpecs-mutant-", 15) || l < 4 || strcmp(e->d_name + l - 3, ".so"))
            continue;
        char **m = realloc(muts, (size_t)(n_mut + 1) * sizeof *m);
        pecs_sb path = {0};
        pecs_sb_addf(&path, "%s/%s", dir, e->d_name);
        if (!m || path.oom) {
            free(m ? NULL : NULL);
            pecs_sb_free(&path);
            closedir(d);
            rc = EXIT_IO;
            goto cleanup;
        }
        muts = m;
        muts[n_mut++] = pecs_sb_take(&path);
    }
    closedir(d);
    if (!n_mut) {
        fprintf(stderr, "pecs mutate: no libpecs-mutant-*.so in %s (build them with: make mutants)\n", dir);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    qsort(muts, (size_t)n_mut, sizeof *muts, cmp_str);
    interleave_by_group(in.cases, in.n_cases);
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &in.tols;
    int caught = 0, mutants = 0, false_alarms = 0;
    printf("pecs mutate: %d mutant(s) from %s over %d case(s)\n\n", n_mut, dir, in.n_cases);
    for (int i = 0; i < n_mut; i++) {
        pecs_loaded_backend lb;
        if (pecs_backend_load(muts[i], &lb, why, sizeof why) != PECS_OK) {
            printf("%-28s LOAD ERROR  %s\n", muts[i], why);
            false_alarms++;
            continue;
        }
        int control = !strcmp(lb.id.name, "mutant-none"), ran;
        if (!control && !mutant_bug_at(lb.id.name, level ? level : "exact")) {
            printf("%-28s %-8s a bug at the exact level only: at %s it is the allowed convention\n", lb.id.name,
                   "CONFORMS", level);
            pecs_backend_unload(&lb);
            continue;
        }
        int failed = run_all(&lb, in.cases, in.n_cases, &o, !control, first, sizeof first, &ran);
        if (control) {
            printf("%-28s %-8s %d of %d cases failed (%s)\n", lb.id.name, failed ? "ALARM" : "clean", failed, ran,
                   lb.id.description);
            if (failed)
                printf("             first: %s\n", first);
            false_alarms += failed > 0;
        } else {
            mutants++;
            caught += failed > 0;
            printf("%-28s %-8s %s\n", lb.id.name, failed ? "CAUGHT" : "MISSED", lb.id.description);
            printf("             %s\n", failed ? first : "no case of the suites fails: a gap in the suites");
        }
        fflush(stdout);
        pecs_backend_unload(&lb);
    }
    for (int i = 0; i < n_correct; i++) {
        int ran;
        int failed = run_all(&correct[i], in.cases, in.n_cases, &o, 0, first, sizeof first, &ran);
        printf("%-28s %-8s %d of %d cases failed (correct backend)\n", correct[i].id.name, failed ? "ALARM" : "clean",
               failed, ran);
        if (failed)
            printf("             first: %s\n", first);
        false_alarms += failed > 0;
    }
    printf("\nmutation score: %d/%d caught; false alarms: %d\n", caught, mutants, false_alarms);
    printf("%d passed, %d failed, 0 skipped\n", caught, (mutants - caught) + false_alarms);
    if (caught != mutants || false_alarms)
        rc = EXIT_FAILURES;
cleanup:
    for (int i = 0; i < n_mut; i++)
        free(muts[i]);
    free(muts);
    for (int i = 0; i < n_correct; i++)
        pecs_backend_unload(&correct[i]);
    inputs_free(&in);
    return rc;
}

/* ---- compare -------------------------------------------------------------------------------------------- */

static const char COMPARE_HELP[] =
    "usage: pecs compare A.json B.json [--threshold FRACTION] [--strict]\n"
    "\n"
    "Compare two results files case by case, matched on backend and the exact case string. For cases timed\n"
    "in both: the ratio A/B of median times and its geometric mean per backend and encoding. A case more than\n"
    "--threshold slower in B (default 0.05), with neither measurement noisy, is a regression; a noisy one is\n"
    "marked, not flagged. A case passing in A and failing in B is a regression too.\n"
    "\n"
    "First the two runs' metadata, field by field:\n"
    "  refused (exit 2)   a different schema or schema_version; a (backend, case) twice in one file\n"
    "  warned             a different pecs.version or pecs.git_commit, machine.cpu_model, suite file sha256\n"
    "                     (by path), tolerances.sha256, threads, thread_binding (OMP_PROC_BIND, OMP_PLACES,\n"
    "                     OMP_NUM_THREADS): 'warning: the runs differ in ...' on stderr, and the comparison goes on\n"
    "  --strict           every warning refuses the comparison instead (exit 2)\n"
    "Exit 0: no regression; 1: regressions; 2: bad input, or a comparison refused.\n";

static int cmd_compare(int argc, char **argv)
{
    const char *files[2];
    int nf = 0, strict = 0;
    double threshold = 0.05;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (is_help(argv[i])) {
            fputs(COMPARE_HELP, stdout);
            return EXIT_OK;
        }
        if ((v = pecs_opt(argc, argv, &i, "--threshold", &missing))) {
            if (!pecs_parse_f64(v, &threshold) || threshold < 0 || threshold > 10)
                return usage_error("compare", "--threshold takes a fraction in [0, 10] (0.05 = 5 %)");
        } else if (!strcmp(argv[i], "--strict")) {
            strict = 1;
        } else if (missing || argv[i][0] == '-' || nf == 2) {
            return usage_error("compare", "give two results files");
        } else {
            files[nf++] = argv[i];
        }
    }
    if (nf != 2)
        return usage_error("compare", "give two results files");
    pecs_diff_summary sum;
    pecs_diff_opts o = {.threshold = threshold, .strict = strict, .out = stdout, .warn = stderr};
    char why[4096];
    pecs_status st = pecs_diff_results(files[0], files[1], &o, &sum, why, sizeof why);
    if (st != PECS_OK) {
        fprintf(stderr, "pecs compare: %s\n", st == PECS_NOMEM ? "out of memory" : why);
        return st == PECS_NOMEM ? EXIT_IO : EXIT_USAGE;
    }
    return sum.regressions || sum.status_regressions ? EXIT_FAILURES : EXIT_OK;
}

/* ---- calibrate ------------------------------------------------------------------------------------------ */

static const char CALIBRATE_HELP[] =
    "usage: pecs calibrate [--out FILE] [--threads N] [--mib M] [--reps R]\n"
    "\n"
    "Measure the memory bandwidth STREAM-style at 1..N threads (default: all cores; OpenMP builds only, else\n"
    "1), on four float32 arrays of M MiB each (default 256: far beyond the last-level cache), best of R runs\n"
    "(default 5); bytes are counted as STREAM does (the arrays named, no write-allocate traffic). Kernels:\n"
    "  fill           a[i] = s: write only (bias, mask)\n"
    "  copy, scale, add, triad         as STREAM\n"
    "  rw22           (c,d)[i] = rotate((a,b)[i]): read 2, write 2 elsewhere (an out-of-place rotate)\n"
    "  rw22_inplace   (a,b)[i] = rotate((a,b)[i]): the same in place (no write-allocate: the strictest)\n"
    "  fill_nt, copy_nt, rw22_nt       fill, copy, rw22 with streaming (non-temporal) stores (x86 SSE2;\n"
    "                 elsewhere ordinary stores, and the file's nt_stores is false)\n"
    "Writes FILE (default pecs-calibration.json) and prints the table; `pecs run --calibration FILE` then\n"
    "reports each timed case's fraction of the relevant bandwidths (`pecs run --calibration auto` measures\n"
    "them in the run instead). OMP_PROC_BIND and OMP_PLACES are recorded.\n";

/* The table as printed: one row per thread count, one column per kernel, GB/s. */
static void print_calibration_table(json_t *cal)
{
    json_t *rows = json_object_get(cal, "gbytes_per_s"), *row, *v;
    const char *key, *k;
    int header = 0;
    json_object_foreach(rows, key, row)
    {
        if (!header++) {
            printf("%-7s", "threads");
            json_object_foreach(row, k, v)
                printf(" %*s", strlen(k) > 7 ? (int)strlen(k) : 7, k);
            printf("   (GB/s)\n");
        }
        printf("%-7s", key);
        json_object_foreach(row, k, v)
            printf(" %*.2f", strlen(k) > 7 ? (int)strlen(k) : 7, json_number_value(v));
        printf("\n");
    }
}

static int cmd_calibrate(int argc, char **argv)
{
    const char *out = "pecs-calibration.json";
    double threads = (double)sysconf(_SC_NPROCESSORS_ONLN), mib = 256, reps = 5;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (is_help(argv[i])) {
            fputs(CALIBRATE_HELP, stdout);
            return EXIT_OK;
        }
        if ((v = pecs_opt(argc, argv, &i, "--out", &missing)))
            out = v;
        else if ((v = pecs_opt(argc, argv, &i, "--threads", &missing))) {
            if (!pecs_parse_f64(v, &threads) || threads != floor(threads) || threads < 1 || threads > 1024)
                return usage_error("calibrate", "--threads takes 1..1024");
        } else if ((v = pecs_opt(argc, argv, &i, "--mib", &missing))) {
            if (!pecs_parse_f64(v, &mib) || mib < 1 || mib > 65536)
                return usage_error("calibrate", "--mib takes 1..65536");
        } else if ((v = pecs_opt(argc, argv, &i, "--reps", &missing))) {
            if (!pecs_parse_f64(v, &reps) || reps != floor(reps) || reps < 1 || reps > 1000)
                return usage_error("calibrate", "--reps takes 1..1000");
        } else {
            return usage_error("calibrate", missing ? "an option is missing its value" : "unknown argument");
        }
    }
    char why[512];
    int rc = EXIT_OK, counts[1024];
    for (int t = 1; t <= (int)threads; t++)
        counts[t - 1] = t;
    json_t *cal = pecs_calibration_measure(counts, (int)threads, mib, (int)reps, why, sizeof why);
    if (!cal || pecs_calibration_write(out, cal, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs calibrate: %s\n", why);
        rc = EXIT_IO;
        goto cleanup;
    }
    print_calibration_table(cal);
    printf("calibration: %s\n", out);
cleanup:
    json_decref(cal);
    return rc;
}

/* ---- main ------------------------------------------------------------------------------------------------ */

static const char MAIN_HELP[] =
    "pecs — Positional Encoding Conformance Suite\n"
    "\n"
    "usage: pecs COMMAND [options]      (pecs COMMAND --help for each)\n"
    "  run        run suites or single cases on backends; results JSON; exit status for CI\n"
    "  list       list encodings, backends, or the cases a suite expands to\n"
    "  describe   an encoding's parameters, tensors, invariance and source\n"
    "  eval       evaluate the reference or a backend on .npy tensors\n"
    "  mutate     run the mutants: the mutation score of the suites, and no false alarms\n"
    "  compare    two results files case by case: speed ratios, regressions (exit status for CI)\n"
    "  report     render a results file as a Markdown or CSV table (for publishing under results/)\n"
    "  calibrate  the machine's memory bandwidth (STREAM-style) for roofline fractions\n"
    "  version    print the version and build\n";

int pecs_cli_main(int argc, char **argv)
{
    if (argc < 2 || is_help(argv[1])) {
        fputs(MAIN_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "list"))
        return cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "describe"))
        return cmd_describe(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval"))
        return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "mutate"))
        return cmd_mutate(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return pecs_report_cmd(argc - 1, argv + 1);
    if (!strcmp(cmd, "calibrate"))
        return cmd_calibrate(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("pecs %s (%s)\n  flags: %s\n  compiler: %s\n  counters: %s\n", pecs_version, pecs_git_commit,
               pecs_build_flags, __VERSION__, pecs_counters_describe());
        return EXIT_OK;
    }
    fprintf(stderr, "pecs: unknown command '%s'\n\n%s", cmd, MAIN_HELP);
    return EXIT_USAGE;
}
