/* harness/cli/common.c — what the commands share: option and case selection, the results printout, loading inputs and backends. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"
#include "datapath.h"

int cli_usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "pecs %s: %s (see: pecs %s --help)\n", cmd, msg, cmd);
    return EXIT_USAGE;
}

int cli_is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

/* configs/tolerances.yaml: --tolerances, $PECS_TOLERANCES, then the data search path (harness/datapath.h:
 * PECS_DATA_PATH, the source tree, the install prefix). Found nowhere: says where it looked (stderr) and returns
 * the relative path, which the caller's load then reports as missing (exit 2). */
const char *cli_find_tolerances(const char *given, char *buf, size_t n)
{
    if (given)
        return given;
    const char *env = getenv("PECS_TOLERANCES");
    if (env && *env)
        return env;
    char why[4096];
    if (pecs_data_find(PECS_DATA_SHARE, "configs/tolerances.yaml", buf, n, why, sizeof why) == PECS_OK)
        return buf;
    fprintf(stderr, "pecs: %s (or give --tolerances FILE)\n", why);
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
    "                        FILE.lock is held for the run: a second run with the same FILE refuses (exit 2);\n"
    "                        --out - writes the JSON to standard output and everything else to standard error\n"
    "  --tolerances FILE     tolerance profiles (default configs/tolerances.yaml)\n"
    "  --dump DIR            a FAILED case writes its tensors to DIR/<backend>-<case hash>/ as .npy (inputs,\n"
    "                        got, want rounded once) and eval.txt, the `pecs eval --check` that judges them again\n"
    "  --isolate             run each case in a child process: a crash is CRASHED, a hang TIMEOUT, and the\n"
    "                        run goes on (default for plugins given by path; --no-isolate turns it off)\n"
    "  --timeout S           per-case time limit of isolated cases (default 60)\n"
    "  --no-determinism      do not run passing cases a second time to compare the outputs bitwise\n"
    "  --resume              continue an interrupted run: skip the cases in FILE.journal (see --out); only a\n"
    "                        journal of the same run is taken (same suite, tolerance and plugin files by\n"
    "                        sha256, options and cases; every record valid), else exit 2 naming what differs\n"
    "  --mem-cap MIB         buffers one case may ask for (default 4096); a case over it is an ERROR\n";

/* The rest of the help (one string literal may not exceed 4095 characters in ISO C). */
static const char RUN_HELP_MORE[] =
    "  --require R           a required case may not be SKIPPED: it becomes FAILED ('required by R: <the\n"
    "                        backend's reason>'); R is a family (rotate, bias, embed, posmap, mask, scores), an\n"
    "                        encoding id, or a text file with one family, encoding id or case-string regex per\n"
    "                        line (# comments); repeatable\n"
    "  --shard K/N           run shard K of N of the selected cases (split deterministically, balanced by\n"
    "                        estimated cost); join the N results files with pecs merge (docs/scale-out.md)\n"
    "  --calibration FILE    bandwidths from `pecs calibrate`: each timed case reports its roofline fractions,\n"
    "                        of the same access pattern with ordinary and with streaming stores (rotate:\n"
    "                        rw22/rw22_nt, bias and mask: fill/fill_nt, else copy/copy_nt) at the run's\n"
    "                        thread count (--threads, else the OpenMP default; single-threaded backends\n"
    "                        compare best at --threads 1); the table is embedded in the results\n"
    "  --calibration auto    measure the bandwidths in this run first (at 1 and the run's thread count)\n"
    "  --calibration paired  pair every timed call with a kernel moving the same bytes (read/write mix,\n"
    "                        footprint, threads used, ordinary and streaming stores) run before and after\n"
    "                        it; the roofline fraction is the median of the per-pair ratios (p10-p90\n"
    "                        given), over at least 21 timed calls;\n"
    "                        encodings with a flops model are paired with the FMA peak kernel too\n"
    "  --calibration-mib M   array size of --calibration auto, MiB per array (default 256; 1..65536)\n"
    "  -v, --verbose         print every case; without it, failing cases are printed, and SKIPPED and\n"
    "                        BEYOND_LEVEL ones are counted by reason at the end\n"
    "  -q, --quiet           print only failing cases, the SKIPPED/BEYOND_LEVEL counts by reason and the\n"
    "                        final tally; on a terminal without -q, a progress line on stderr (cases done,\n"
    "                        encoding, failures, ETA; NO_COLOR turns its colour off)\n"
    "\n"
    "Every case that does not pass prints its reproducer: pecs run --case '...' --backend B\n"
    "Each finished case is appended to FILE.journal; SIGINT or SIGTERM stop after the current case and leave\n"
    "the last complete results file untouched (so does kill -9); --resume finishes the run.\n"
    "The run ends with 'N passed, N failed, N skipped'; exit 0 if nothing failed, 1 on any failing verdict or\n"
    "when a backend judged none of the cases (every one SKIPPED), 2 on bad input (suite, case, option, a\n"
    "selection of no case), 3 if the results cannot be written, 130 if interrupted.\n";



/* --dtype: a comma-separated list of the case dtypes, each one known (msg names the first that is not). */
int cli_dtype_list_ok(const char *list, char *msg, size_t n)
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

int cli_dtype_selected(const char *list, const char *case_str)
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

/* Where the run's console goes: standard output, unless an in-process plugin is loaded (cli_console_keep):
 * then pecs keeps its own copy of standard output for the console and points descriptor 1 at standard error,
 * so whatever the plugin prints cannot land inside the table. Isolated plugins print into their worker's
 * standard error already (worker.c). */
static FILE *g_console;

FILE *cli_console(void) { return g_console ? g_console : stdout; }

int cli_console_keep(void)
{
    if (g_console)
        return 1;
    fflush(stdout);
    int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3); /* no worker inherits the data or console stream */
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        if (f)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        return 0;
    }
    setvbuf(f, NULL, isatty(fd) ? _IOLBF : _IOFBF, 0);
    g_console = f;
    return 1;
}

void cli_print_result(const pecs_case_result *r, const pecs_loaded_backend *lb, int verbose)
{
    /* Declined cases are counted by reason at the end (cli_print_skips): a plugin that supports two encodings
     * would otherwise print three lines for every case of the others. */
    if ((r->verdict == PECS_V_PASSED || r->verdict == PECS_V_SKIPPED || r->verdict == PECS_V_BEYOND_LEVEL) && !verbose)
        return;
    fprintf(cli_console(), "%-10s %-8s %s\n", pecs_verdict_name(r->verdict), r->backend, r->case_str ? r->case_str : "");
    if (r->reason[0])
        fprintf(cli_console(), "           %s\n", r->reason);
    if (r->dump[0])
        fprintf(cli_console(), "           tensors: %s/ (judge again: sh -c \"$(tail -1 %s/eval.txt)\")\n", r->dump, r->dump);
    if (r->perf.done) {
        char roof[256] = "";
        if (r->perf.paired && r->perf.latency) {
            snprintf(roof, sizeof roof, ", judged by latency: %.0f ns a call (p10-p90 %.0f-%.0f), %.0f of them beyond "
                     "moving the bytes in %s (%.0f ns at paired %s)", 1e9 * r->perf.median_s, 1e9 * r->perf.p10_s,
                     1e9 * r->perf.p90_s, r->perf.overhead_ns, r->perf.level, r->perf.bytes_ns, r->perf.pair_isa);
        } else if (r->perf.paired) {
            int w = snprintf(roof, sizeof roof, ", %.0f%% of paired %s at %s (p10-p90 %.0f-%.0f%%)",
                             100 * r->perf.frac[0], r->perf.pair_isa, r->perf.level, 100 * r->perf.frac[1],
                             100 * r->perf.frac[2]);
            if (r->perf.nt_ratio && w > 0 && (size_t)w < sizeof roof)
                w += snprintf(roof + w, sizeof roof - (size_t)w, " (%.0f%% nt)", 100 * r->perf.nt_frac[0]);
            if (r->perf.fma_ratio && w > 0 && (size_t)w < sizeof roof)
                snprintf(roof + w, sizeof roof - (size_t)w, ", %.3g GFLOP/s: %.0f%% of the %s FMA peak",
                         r->perf.case_gflops, 100 * r->perf.fma_frac[0], r->perf.fma_isa);
        } else if (r->perf.roof_gbs > 0 && r->perf.level && strcmp(r->perf.level, "memory") &&
                   strcmp(r->perf.level, "beyond-L2")) {
            snprintf(roof, sizeof roof, ", in %s: not judged against DRAM", r->perf.level);
        } else if (r->perf.roof_gbs > 0) {
            int w = snprintf(roof, sizeof roof, ", %.0f%% of %s", 100 * r->perf.gbytes_per_s / r->perf.roof_gbs,
                             r->perf.roof_kernel);
            if (r->perf.roof_nt_gbs > 0 && w > 0 && (size_t)w < sizeof roof)
                snprintf(roof + w, sizeof roof - (size_t)w, " (%.0f%% of %s)",
                         100 * r->perf.gbytes_per_s / r->perf.roof_nt_gbs, r->perf.roof_nt_kernel);
        }
        fprintf(cli_console(), "           %.3g s median (%d reps%s), %.3g GB/s%s, %.3g tokens/s\n", r->perf.median_s, r->perf.reps,
               r->perf.noisy ? ", noisy" : "", r->perf.gbytes_per_s, roof, r->perf.tokens_per_s);
    }
    {
        char *rep = pecs_reproducer(r, lb);
        fprintf(cli_console(), "           reproduce: %s\n", rep ? rep : "?");
        free(rep);
    }
}

static int cmp_count_desc(const void *a, const void *b)
{
    const int *x = a, *y = b;
    return y[1] - x[1];
}

void cli_print_skips(const pecs_case_result *r, int n)
{
    int (*tally)[2] = calloc((size_t)(n ? n : 1), sizeof *tally), kinds = 0, total = 0; /* {first index, count} */
    if (!tally)
        return;
    for (int i = 0; i < n; i++) {
        if (r[i].verdict != PECS_V_SKIPPED && r[i].verdict != PECS_V_BEYOND_LEVEL)
            continue;
        total++;
        int k = 0;
        for (; k < kinds; k++) {
            const pecs_case_result *f = &r[tally[k][0]];
            if (f->verdict == r[i].verdict && !strcmp(f->backend, r[i].backend) && !strcmp(f->reason, r[i].reason))
                break;
        }
        if (k == kinds)
            tally[kinds++][0] = i;
        tally[k][1]++;
    }
    qsort(tally, (size_t)kinds, sizeof *tally, cmp_count_desc);
    if (total)
        fprintf(cli_console(), "\n%d case(s) not judged, by backend and reason (-v lists every case):\n", total);
    for (int k = 0; k < kinds && k < 12; k++) {
        const pecs_case_result *f = &r[tally[k][0]];
        fprintf(cli_console(), "%6d  %-12s %-8s %s\n", tally[k][1], pecs_verdict_name(f->verdict), f->backend, f->reason);
    }
    if (kinds > 12)
        fprintf(cli_console(), "        ... and %d other reason(s)\n", kinds - 12);
    free(tally);
}

/* One row of the closing table: backend x encoding x dtype x check. */
typedef struct table_row {
    char backend[160];
    int slot;
    char enc[40], dtype[8], check[16];
    int count[PECS_V_COUNT];
    double worst_abs, worst_nmse, best_gbps;
    int64_t min_horizon;
    int has_inv, has_metrics;
} table_row;

const char *cli_field(const char *case_str, const char *key, char *buf, size_t n)
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

/* A backend's label in the table: its name, or name@file when another backend of the run has the same name
 * (two plugins named alike must not merge into one row). */
static void backend_label(const pecs_loaded_backend *lbs, int n_lbs, int slot, char *buf, size_t n)
{
    const char *name = lbs[slot].id.name, *src = pecs_backend_token(&lbs[slot]), *base = strrchr(src, '/');
    int clash = 0;
    for (int i = 0; i < n_lbs; i++)
        clash |= i != slot && !strcmp(lbs[i].id.name, name);
    if (clash)
        snprintf(buf, n, "%s@%s", name, base ? base + 1 : src);
    else
        snprintf(buf, n, "%s", name);
}

void cli_print_table(const pecs_case_result *r, int n, const pecs_loaded_backend *lbs, int n_lbs)
{
    table_row *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    int nr = 0;
    if (!rows)
        return;
    for (int i = 0; i < n; i++) {
        char enc[40], dt[8], ck[16];
        const char *cs = r[i].case_str ? r[i].case_str : "?";
        snprintf(enc, sizeof enc, "%.*s", (int)strcspn(cs, " "), cs);
        cli_field(cs, "dtype", dt, sizeof dt);
        cli_field(cs, "check", ck, sizeof ck);
        int k = 0;
        for (; k < nr; k++)
            if (rows[k].slot == r[i].backend_slot && !strcmp(rows[k].enc, enc) && !strcmp(rows[k].dtype, dt) &&
                !strcmp(rows[k].check, ck))
                break;
        if (k == nr) {
            rows[nr].slot = r[i].backend_slot;
            if (r[i].backend_slot >= 0 && r[i].backend_slot < n_lbs)
                backend_label(lbs, n_lbs, r[i].backend_slot, rows[nr].backend, sizeof rows[nr].backend);
            else
                snprintf(rows[nr].backend, sizeof rows[nr].backend, "%s", r[i].backend);
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
    int bw = 8; /* the backend column fits the longest name (plugins are named like scalar@libpecs-scalar.so) */
    for (int k = 0; k < nr; k++)
        bw = (int)strlen(rows[k].backend) > bw ? (int)strlen(rows[k].backend) : bw;
    fprintf(cli_console(), "\n%-*s %-18s %-5s %-11s %5s %5s %5s %5s  %-9s %-9s %-9s %s\n", bw, "backend", "encoding", "dtype", "check", "pass",
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
        fprintf(cli_console(), "%-*s %-18s %-5s %-11s %5d %5d %5d %5d  %-9s %-9s %-9s %s\n", bw, t->backend, t->enc, t->dtype, t->check,
               t->count[PECS_V_PASSED], t->count[PECS_V_FAILED], t->count[PECS_V_SKIPPED],
               t->count[PECS_V_ERROR] + t->count[PECS_V_MISTRUSTED] + t->count[PECS_V_CRASHED] + t->count[PECS_V_TIMEOUT] +
                   t->count[PECS_V_NONDETERMINISTIC],
               ab, nm, hz, gb);
    }
    free(rows);
}

/* The command line as a shell would need it to run it again: words with anything but safe characters are
 * single-quoted ('\'' for a quote inside). */
char *cli_join_args(int argc, char **argv)
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

int cli_parse_run_args(int argc, char **argv, run_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = "correctness";
    cfg->min_time = 0.05;
    cfg->timeout = 60.0;
    cfg->isolate = -1;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
            fputs(RUN_HELP, stdout);
            fputs(RUN_HELP_MORE, stdout);
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
            if (!cli_dtype_list_ok(v, msg, sizeof msg))
                return cli_usage_error("run", msg);
            cfg->dtypes = v;
        }
        else if ((v = pecs_opt(argc, argv, &i, "--out", &missing)))
            cfg->out = v;
        else if ((v = pecs_opt(argc, argv, &i, "--dump", &missing)))
            cfg->dump = v;
        else if ((v = pecs_opt(argc, argv, &i, "--tolerances", &missing)))
            cfg->tolerances = v;
        else if ((v = pecs_opt(argc, argv, &i, "--mode", &missing))) {
            if (strcmp(v, "correctness") && strcmp(v, "perf") && strcmp(v, "all"))
                return cli_usage_error("run", "--mode takes correctness, perf or all");
            cfg->mode = v;
        } else if ((v = pecs_opt(argc, argv, &i, "--min-time", &missing))) {
            if (!pecs_parse_f64(v, &cfg->min_time) || cfg->min_time < 0 || cfg->min_time > 60)
                return cli_usage_error("run", "--min-time takes seconds in [0, 60]");
        } else if ((v = pecs_opt(argc, argv, &i, "--threads", &missing))) {
            if (!pecs_parse_f64(v, &cfg->threads) || cfg->threads != floor(cfg->threads) || cfg->threads < 0 ||
                cfg->threads > 1024)
                return cli_usage_error("run", "--threads takes 0..1024 (0: the backend's choice, e.g. OMP_NUM_THREADS)");
        } else if ((v = pecs_opt(argc, argv, &i, "--timeout", &missing))) {
            if (!pecs_parse_f64(v, &cfg->timeout) || cfg->timeout <= 0 || cfg->timeout > 86400)
                return cli_usage_error("run", "--timeout takes seconds in (0, 86400]");
        } else if (!strcmp(argv[i], "--isolate"))
            cfg->isolate = 1;
        else if (!strcmp(argv[i], "--no-isolate"))
            cfg->isolate = 0;
        else if (!strcmp(argv[i], "--no-determinism"))
            cfg->no_determinism = 1;
        else if (!strcmp(argv[i], "--resume"))
            cfg->resume = 1;
        else if ((v = pecs_opt(argc, argv, &i, "--require", &missing))) {
            if (cfg->n_requires == MAX_ARGS)
                return cli_usage_error("run", "too many --require (at most 64: put them in a file)");
            cfg->requires[cfg->n_requires++] = v;
        } else if ((v = pecs_opt(argc, argv, &i, "--shard", &missing))) {
            char msg[256];
            if (pecs_shard_parse(v, &cfg->shard_k, &cfg->shard_n, msg, sizeof msg) != PECS_OK)
                return cli_usage_error("run", msg);
        }
        else if ((v = pecs_opt(argc, argv, &i, "--calibration", &missing)))
            cfg->calibration = v;
        else if ((v = pecs_opt(argc, argv, &i, "--calibration-mib", &missing))) {
            if (!pecs_parse_f64(v, &cfg->calibration_mib) || cfg->calibration_mib < 1 || cfg->calibration_mib > 65536)
                return cli_usage_error("run", "--calibration-mib takes MiB per array in [1, 65536]");
        }
        else if ((v = pecs_opt(argc, argv, &i, "--mem-cap", &missing))) {
            double mib;
            if (!pecs_parse_f64(v, &mib) || mib < 1 || mib > 1048576)
                return cli_usage_error("run", "--mem-cap takes MiB in [1, 1048576]");
            pecs_case_set_mem_cap(mib * 1048576.0);
            cfg->mem_cap = mib * 1048576.0;
        }
        else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            cfg->verbose = 1;
        else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
            cfg->quiet = 1;
        else if (missing)
            return cli_usage_error("run", "an option is missing its value");
        else if (argv[i][0] == '-') {
            char msg[256];
            snprintf(msg, sizeof msg, "unknown option '%s'", argv[i]);
            return cli_usage_error("run", msg);
        } else if (cfg->n_suites < MAX_ARGS)
            cfg->suites[cfg->n_suites++] = argv[i];
        if (missing)
            return cli_usage_error("run", "an option is missing its value");
    }
    if (cfg->verbose && cfg->quiet)
        return cli_usage_error("run", "-v and -q exclude each other");
    if (cfg->calibration_mib > 0 && (!cfg->calibration || strcmp(cfg->calibration, "auto")))
        return cli_usage_error("run", "--calibration-mib goes with --calibration auto");
    if (!cfg->n_suites && !cfg->n_cases)
        return cli_usage_error("run", "give a suite file or --case");
    if (!cfg->n_backends)
        cfg->backends[cfg->n_backends++] = "scalar";
    return 0;
}

/* Case strings with --set overrides applied, filtered. Returns malloc'd array of malloc'd strings. Every
 * case's tolerances must resolve (an unknown profile, e.g. from --set, is bad input, not an ERROR per case),
 * and filters that leave no case are bad input too: the message says which filter. */
int cli_collect_cases(const run_cfg *cfg, pecs_suite *suites, pecs_tolerances *tols, char ***out, int *n_out)
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
    int total = cfg->n_cases + cfg->n_case_list;
    for (int s = 0; s < cfg->n_suites; s++)
        total += suites[s].n_cases;
    for (int k = 0; k < total && rc == EXIT_OK; k++) {
        const char *src = k < cfg->n_cases                      ? cfg->cases[k]
                          : k < cfg->n_cases + cfg->n_case_list ? cfg->case_list[k - cfg->n_cases]
                                                                : NULL;
        for (int s = 0, base = cfg->n_cases + cfg->n_case_list; !src && s < cfg->n_suites; base += suites[s].n_cases, s++)
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
        if ((pst == PECS_OK || pst == PECS_LIMIT) && cfg->rewrite)
            cfg->rewrite(&c, cfg->rewrite_ctx);
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
            int by_dtype = canon && cli_dtype_selected(cfg->dtypes, canon);
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

void cli_inputs_free(run_inputs *in)
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

int cli_inputs_load(const char *cmd, const run_cfg *cfg, run_inputs *in)
{
    char why[4096];
    memset(in, 0, sizeof *in);
    in->tol_path = cli_find_tolerances(cfg->tolerances, in->tolbuf, sizeof in->tolbuf);
    if (pecs_tol_load(&in->tols, in->tol_path, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs %s: %s\n", cmd, why);
        return EXIT_USAGE;
    }
    in->have_tols = 1;
    for (int i = 0; i < cfg->n_suites; i++) {
        char path[PATH_MAX]; /* a file that exists, else suites/<name>.yaml in the data search path */
        pecs_suite *s = &in->suites[in->n_suites];
        if (pecs_data_suite(cfg->suites[i], path, sizeof path, why, sizeof why) != PECS_OK ||
            pecs_suite_load_checked(s, path, &in->tols, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs %s: %s\n", cmd, why);
            return EXIT_USAGE;
        }
        if (s->library) { /* a glob over suites/ names shapes.yaml too: say so, run the rest */
            fprintf(stderr, "pecs %s: %s: an include library (shapes, sets, models), not a suite: skipped\n", cmd, path);
            pecs_suite_free(s);
            continue;
        }
        in->n_suites++;
    }
    if (cfg->n_suites && !in->n_suites) {
        fprintf(stderr, "pecs %s: no suite among the files given (only include libraries)\n", cmd);
        return EXIT_USAGE;
    }
    return cli_collect_cases(cfg, in->suites, &in->tols, &in->cases, &in->n_cases);
}

/* Load backends by name or path; "all" stands for every built-in. */
int cli_backends_load(const char *cmd, const char *const *names, int n, const pecs_backend_opts *bo,
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

