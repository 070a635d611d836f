/* harness/cli/run.c — pecs run. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_int.h"

static volatile sig_atomic_t g_stop; /* set by SIGINT/SIGTERM: stop after the current case */

static void on_stop_signal(int sig) { g_stop = sig; }

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
            if (bw > 0)
                json_object_set_new(roof, F[n][1], json_real(bw));
            if (bw > 0 && json_object_get(roof, F[n][2])) /* absent: cache-resident, not judged against the table */
                json_object_set_new(roof, F[n][2], json_real(json_number_value(json_object_get(perf, "gbytes_per_s")) / bw));
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
    fprintf(cli_console(), "calibration %s", what);
    if (json_is_number(json_object_get(cal, "array_mib")))
        fprintf(cli_console(), " (%g MiB per array, best of %lld)", json_number_value(json_object_get(cal, "array_mib")),
               (long long)json_integer_value(json_object_get(cal, "reps")));
    fprintf(cli_console(), " at %d thread(s):", used ? used : run_threads);
    for (int i = 0; i < 3; i++)
        if (g[i] > 0)
            fprintf(cli_console(), " %s %.1f GB/s%s", shown[i], g[i], i < 2 ? "," : "");
        else
            fprintf(cli_console(), " %s -%s", shown[i], i < 2 ? "," : "");
    fprintf(cli_console(), "\n");
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
                            const char *cal_sha, const pecs_require *req, char *why, size_t why_len)
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
    char *given = req->given ? json_dumps(req->given, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    pecs_ident_set(id, "--require", "%s", given ? given : "none"); /* each file with its sha256 */
    free(given);
    pecs_ident_set(id, "--shard", cfg->shard_n ? "%d/%d" : "none", cfg->shard_k, cfg->shard_n);
    if (cfg->calibration && strcmp(cfg->calibration, "auto"))
        pecs_ident_set(id, "--calibration", "%s sha256 %s", cfg->calibration, cal_sha);
    else
        pecs_ident_set(id, "--calibration", "%s", cfg->calibration ? cfg->calibration : "none");
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

/* The journal of this run (journal.h): new, or with --resume the validated records of an interrupted one.
 * *id_out gets the run identity (recorded in the results too). */
static int journal_open(const run_cfg *cfg, const run_inputs *in, const pecs_loaded_backend *lbs, int n_lbs,
                        const char *cal_sha, const pecs_require *req, const char *path, json_t **records, FILE **f,
                        json_t **id_out)
{
    char why[4096] = "", note[1024] = "";
    int rc = EXIT_OK;
    json_t *id = run_identity(cfg, in, lbs, n_lbs, cal_sha, req, why, sizeof why);
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
    if (rc == EXIT_OK)
        *id_out = id;
    else
        json_decref(id);
    return rc;
}

int pecs_cmd_run(int argc, char **argv)
{
    run_cfg cfg;
    int rc = cli_parse_run_args(argc, argv, &cfg);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    char *command = cli_join_args(argc, argv);
    rc = cli_run(&cfg, command ? command : "pecs run", NULL);
    free(command);
    return rc;
}

int cli_run(const run_cfg *cfgp, const char *command, int counts_out[PECS_V_COUNT])
{
    run_cfg cfg = *cfgp;
    int rc = EXIT_OK;
    run_inputs in;
    pecs_loaded_backend lbs[MAX_ARGS];
    int n_loaded = 0, n_results = 0;
    char why[1024] = "";
    pecs_case_result *results = NULL;
    pecs_run_meta meta = {0};
    json_t *all = NULL, *cal = NULL, *identity = NULL;
    pecs_require req = {0};
    pecs_shard shard = {0};
    FILE *journal = NULL;
    char cal_sha[65] = "";
    pecs_out_lock lock = {.fd = -1};
    const char *out = cfg.out ? cfg.out : "pecs-results.json";
    pecs_utc_iso(meta.started);
    memset(&in, 0, sizeof in);

    const int to_stdout = !strcmp(out, "-");
    if (to_stdout && (cfg.resume || !pecs_stdout_claim())) {
        fprintf(stderr, "pecs run: --out -: %s\n", cfg.resume ? "nothing to resume: a run to standard output keeps no "
                "journal past its end" : "cannot keep standard output for the results");
        rc = EXIT_USAGE;
        goto cleanup;
    }
    /* Before anything else: one run per results file, and a results directory that can be written. */
    if (!to_stdout && pecs_out_lock_take(&lock, out, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs run: %s\n", why);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if ((rc = cli_inputs_load("run", &cfg, &in)) != EXIT_OK ||
        (rc = cli_backends_load("run", cfg.backends, cfg.n_backends,
                            &(pecs_backend_opts){cfg.isolate, cfg.timeout, cfg.mem_cap + (cfg.mem_cap > 0 ? 256.0 * 1048576 : 0)},
                            lbs, &n_loaded)) != EXIT_OK)
        goto cleanup;
    for (int i = 0; i < n_loaded; i++) /* an in-process plugin's prints go to standard error, not into the table */
        if (!to_stdout && !lbs[i].isolated && strcmp(lbs[i].source, "builtin") && !cli_console_keep()) {
            fprintf(stderr, "pecs run: cannot keep standard output apart from the plugin's: %s\n", strerror(errno));
            rc = EXIT_IO;
            goto cleanup;
        }
    for (int i = 0; i < cfg.n_requires; i++) /* required cases: a SKIPPED one is FAILED (require.h) */
        if (pecs_require_add(&req, cfg.requires[i], why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs run: %s\n", why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
    if (cfg.shard_n && pecs_shard_select(in.cases, &in.n_cases, cfg.shard_k, cfg.shard_n, &shard, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs run: %s\n", why);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    /* The run's thread count: what the backend calls are asked for, else what OpenMP gives by default. */
    const int run_threads = cfg.threads > 0 ? (int)cfg.threads : pecs_calibration_default_threads();
    const int paired = cfg.calibration && !strcmp(cfg.calibration, "paired");
    if (cfg.calibration && !paired && (rc = calibration_load(&cfg, run_threads, &cal, cal_sha)) != EXIT_OK)
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
    o.pair = paired;
    if (paired) /* a fraction is the median of the per-pair ratios: 21 of them at least (the slowest cases took
                 * 5, and a median of 5 moves with one outlier; p10/p90 of 5 are two of the five) */
        o.min_reps = 21;
    o.determinism = !cfg.no_determinism;
    o.tols = &in.tols;
    o.dump_dir = cfg.dump;
    if (cfg.dump && mkdir(cfg.dump, 0755) != 0 && errno != EEXIST) { /* bad input before any case runs */
        fprintf(stderr, "pecs run: --dump %s: %s\n", cfg.dump, strerror(errno));
        rc = EXIT_USAGE;
        goto cleanup;
    }
    pecs_sb jpath = {0};
    if (to_stdout) /* a journal for this process alone (SIGINT still stops cleanly), removed at the end */
        pecs_sb_addf(&jpath, "%s/pecs-stdout-%ld.journal", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    else
        pecs_sb_addf(&jpath, "%s.journal", out);
    if ((rc = journal_open(&cfg, &in, lbs, n_loaded, cal_sha, &req, pecs_sb_str(&jpath), &all, &journal, &identity)) !=
        EXIT_OK) {
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
    if (!cfg.quiet) {
        fprintf(cli_console(), "pecs %s: %d case(s) x %d backend(s), mode %s, tolerances %s\n", pecs_version, in.n_cases, n_loaded,
               cfg.mode, in.tol_path);
        if (cfg.shard_n)
            fprintf(cli_console(), "shard %d/%d: %d of the %d selected case(s)\n", shard.k, shard.n, in.n_cases, shard.selected);
    }
    if (cal && !cfg.quiet)
        print_calibration(cfg.calibration, cal, run_threads);
    if (paired && !cfg.quiet)
        fprintf(cli_console(), "calibration paired (%s kernels): every timed call follows a kernel moving its bytes at its footprint "
               "and thread count\n", pecs_pair_isa());
    if (cfg.resume && !cfg.quiet)
        fprintf(cli_console(), "resuming: %d result(s) from %s\n", resumed, pecs_sb_str(&jpath));
    fflush(cli_console());
    cli_progress prog;
    cli_progress_start(&prog, in.n_cases * n_loaded - resumed, cfg.quiet);
    for (int b = 0; b < n_loaded && !g_stop; b++)
        for (int k = 0; k < in.n_cases && !g_stop; k++) {
            if (resumed && pecs_journal_has(all, pecs_backend_token(&lbs[b]), in.cases[k]))
                continue;
            pecs_case_result *r = &results[n_results];
            cli_progress_show(&prog, in.cases[k], pecs_backend_token(&lbs[b]));
            pecs_run_case(&lbs[b], in.cases[k], &o, r);
            r->backend_slot = b;
            int verdict = (int)r->verdict;
            if (pecs_require_apply(&req, r->case_str, &verdict, r->reason, sizeof r->reason))
                r->verdict = (pecs_verdict)verdict;
            if (cal && r->perf.done) {
                char id[64];
                snprintf(id, sizeof id, "%.*s", (int)strcspn(in.cases[k], " "), in.cases[k]);
                const pecs_encoding_info *e = pecs_registry_find(id);
                if (e) { /* at the thread count the calls ran with, not the one asked for */
                    int used = r->perf.threads_used > 0 ? r->perf.threads_used : run_threads;
                    r->perf.roof_gbs = pecs_calibration_bandwidth(cal, e->form, used, 0, &r->perf.roof_kernel,
                                                                  &r->perf.roof_threads);
                    r->perf.roof_nt_gbs = pecs_calibration_bandwidth(cal, e->form, used, 1,
                                                                     &r->perf.roof_nt_kernel, NULL);
                }
            }
            cli_progress_done(&prog, pecs_verdict_fails(r->verdict));
            if (cfg.verbose || pecs_verdict_fails(r->verdict))
                cli_progress_clear(&prog); /* the result's lines must not land on the progress line */
            cli_print_result(r, &lbs[b], cfg.verbose);
            n_results++;
            json_t *cj = pecs_result_json(r, &lbs[b]);
            if (cj && journal) {
                json_dumpf(cj, journal, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
                fputc('\n', journal);
                fflush(journal); /* in the kernel's hands: survives kill -9 */
            }
            if (cj)
                json_array_append_new(all, cj);
            fflush(cli_console());
        }
    cli_progress_clear(&prog);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (journal)
        fclose(journal);
    journal = NULL;
    if (g_stop) {
        fprintf(cli_console(), "interrupted by signal %d after %d case(s): %s was not touched; continue with --resume (journal %s)\n",
               (int)g_stop, (int)json_array_size(all), out, pecs_sb_str(&jpath));
        rc = EXIT_INTERRUPTED;
        pecs_sb_free(&jpath);
        goto cleanup;
    }
    if (cal && !strcmp(cfg.calibration, "auto")) {
        calibration_remeasure(&cfg, run_threads, cal, all, cal_sha);
        if (!cfg.quiet)
            print_calibration("auto, better of before and after the cases", cal, run_threads);
    }
    for (int i = 0; i < n_loaded; i++) /* no plugin process outlives the cases: nothing can touch the results */
        pecs_backend_stop(&lbs[i]);
    cli_print_skips(results, n_results);
    if (!cfg.quiet)
        cli_print_table(results, n_results, lbs, n_loaded);
    int count[PECS_V_COUNT] = {0}, failed = pecs_results_count(all, count);
    if (counts_out)
        memcpy(counts_out, count, sizeof count);
    pecs_utc_iso(meta.finished);
    meta.command = command;
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
    meta.require = req.given;
    meta.shard = cfg.shard_n ? &shard : NULL;
    meta.identity = identity;
    if (pecs_results_write(out, &meta, all, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs run: cannot write results: %s\n", why);
        rc = EXIT_IO;
    } else {
        if (!cfg.quiet)
            fprintf(cli_console(), "results: %s\n", to_stdout ? "standard output" : out);
        unlink(pecs_sb_str(&jpath)); /* complete: nothing left to resume */
    }
    pecs_sb_free(&jpath);
    if (failed)
        fprintf(cli_console(), "(%d FAILED, %d ERROR, %d MISTRUSTED, %d CRASHED, %d TIMEOUT, %d NONDETERMINISTIC)\n",
               count[PECS_V_FAILED], count[PECS_V_ERROR], count[PECS_V_MISTRUSTED], count[PECS_V_CRASHED],
               count[PECS_V_TIMEOUT], count[PECS_V_NONDETERMINISTIC]);
    /* Coverage counts: a backend that declined every case judged nothing, and must not go green. */
    int unjudged = 0;
    for (int b = 0; b < n_loaded; b++) {
        int bc[PECS_V_COUNT] = {0}, n = pecs_results_count_backend(all, pecs_backend_token(&lbs[b]), bc);
        if (n > 0 && bc[PECS_V_SKIPPED] == n) {
            fprintf(cli_console(), "backend %s judged none of the %d cases: all SKIPPED\n", pecs_backend_token(&lbs[b]), n);
            unjudged++;
        }
    }
    fprintf(cli_console(), "%d passed, %d failed, %d skipped\n", count[PECS_V_PASSED], failed, count[PECS_V_SKIPPED]);
    if (rc == EXIT_OK && (failed || unjudged))
        rc = EXIT_FAILURES;
cleanup:
    if (journal)
        fclose(journal);
    json_decref(all);
    json_decref(cal);
    json_decref(identity);
    pecs_require_free(&req);
    for (int i = 0; i < n_results; i++)
        pecs_case_result_free(&results[i]);
    free(results);
    for (int i = 0; i < n_loaded; i++)
        pecs_backend_unload(&lbs[i]);
    cli_inputs_free(&in);
    pecs_out_lock_release(&lock);
    return rc;
}

