/* harness/cli/certify.c — pecs certify: run a certification profile on one backend, isolated, on a fresh
 * challenge, and write the certificate directory (docs/certification.md). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certify.h"
#include "cli_int.h"
#include "datapath.h"
#include "shard.h"

static const char CERTIFY_HELP[] =
    "usage: pecs certify --backend PLUGIN --claim WORD [--claim WORD ...] [--level L] [--profile P] [--out DIR]\n"
    "\n"
    "Certify a backend against a certification profile (default pecs-cert-1: configs/certify/pecs-cert-1.yaml).\n"
    "The claim is a level and words FAMILY[:DTYPES] or ENCODING[:DTYPES] of the profile, e.g.\n"
    "    pecs certify --backend ./libmine.so --claim rotate:f32,bf16 --claim alibi --level f32angle\n"
    "Every case of the profile's suites runs with the backend isolated (in pecs-worker), judged at the level,\n"
    "on inputs from a seed and a position offset drawn afresh for this certification. The certificate is\n"
    "CONFORMANT when every claimed (encoding, dtype) has cases, all of them pass (or lie beyond the level),\n"
    "none is declined, and no case outside the claim fails (decline what you do not claim).\n"
    "\n"
    "  --backend B        a plugin path (.so) or a built-in name (run in pecs-worker too)\n"
    "  --claim WORD       FAMILY[:DTYPES] or ENCODING[:DTYPES]; repeatable (pecs certify --list-profile)\n"
    "  --level L          exact (default) or f32angle (docs/levels.md)\n"
    "  --profile P        a profile name (configs/certify/P.yaml) or a file\n"
    "  --out DIR          the certificate directory (default pecs-certificate); it must not exist\n"
    "  --timeout S        per-case time limit (default 60)\n"
    "  --threads N        threads asked of every call (default 0: the backend's choice)\n"
    "  --mem-cap MIB      buffers one case may ask for (default 4096)\n"
    "  --list-profile     print the profile's families, encodings and dtypes, and exit\n"
    "\n"
    "Spread over machines (docs/certification.md): one challenge for all, each machine one shard, then merge:\n"
    "  --draw-challenge   print a fresh SEED:OFFSET and exit\n"
    "  --challenge S:O    use this challenge instead of a fresh one (recorded as given)\n"
    "  --shard K/N        run shard K of N of the certification's cases; DIR gets results.json only\n"
    "  --results FILE     certify a finished run instead of running (the merged shards: pecs merge)\n"
    "\n"
    "DIR gets certificate.json (claim, verdict per claimed unit, the challenge, the environment, the sha256 of\n"
    "every file), certificate.md (the same for people), results.json (every case) and profile.yaml (the\n"
    "profile used). Check it with pecs verify DIR [--rerun]. Exit 0: conformant; 1: not conformant; 2: bad\n"
    "input; 3: the certificate could not be written.\n";

/* A data file (e.g. "suites/smoke.yaml"): as given if it exists, else through the data search path
 * (harness/datapath.h: PECS_DATA_PATH, the source tree, the install prefix). */
const char *cli_find_data(const char *rel, char *buf, size_t n)
{
    char why[2048];
    if (access(rel, R_OK) == 0)
        return rel;
    return pecs_data_find(PECS_DATA_SHARE, rel, buf, n, why, sizeof why) == PECS_OK ? buf : NULL;
}

/* The profile file of --profile (a path, or a name under configs/certify/). */
const char *cli_find_profile(const char *given, char *buf, size_t n)
{
    const char *p = given ? given : "pecs-cert-1";
    if (strchr(p, '/') || (strlen(p) > 5 && !strcmp(p + strlen(p) - 5, ".yaml")))
        return access(p, R_OK) == 0 ? p : NULL;
    char rel[256];
    snprintf(rel, sizeof rel, "configs/certify/%s.yaml", p);
    const char *found = cli_find_data(rel, buf, n);
    if (found == rel) /* found in the working directory: buf must hold it, rel is gone on return */
        snprintf(buf, n, "%s", rel);
    return found ? buf : NULL;
}

typedef pecs_cert_challenge_t challenge;

/* Remove a directory this command created and the files in it (no subdirectories are made). */
static void remove_dir(const char *dir)
{
    static const char *const files[] = {"results.json", "profile.yaml", "certificate.md", "certificate.json",
                                        "results.json.lock", "results.json.journal"};
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (snprintf(path, sizeof path, "%s/%s", dir, files[i]) < (int)sizeof path)
            unlink(path);
    rmdir(dir);
}

static void print_profile(const pecs_cert_profile *p)
{
    printf("profile %s version %d: %s\nsuites:", p->name, p->version, p->description);
    for (int s = 0; s < p->n_suites; s++)
        printf(" %s", p->suites[s]);
    printf("\nlevels:");
    for (int l = 0; l < p->n_levels; l++)
        printf(" %s", p->levels[l]);
    printf("\n");
    for (int g = 0; g < p->n_families; g++) {
        const pecs_cert_family *f = &p->families[g];
        printf("\nfamily %-10s %s\n  dtypes:", f->name, f->what);
        for (int d = 0; d < f->n_dtypes; d++)
            printf(" %s", f->dtypes[d]);
        printf("\n  encodings:");
        for (int e = 0; e < f->n_encodings; e++)
            printf(" %s", f->encodings[e]);
        printf("\n");
    }
}

/* The certificate object around an evaluation: everything but files["certificate.md"]. */
static json_t *certificate_object(json_t *results, json_t *eval, const pecs_cert_profile *p, const char *prof_sha,
                                  const char *const *words, int n_words, const char *level, const challenge *ch,
                                  int given, const char *results_sha)
{
    char issued[32], seed[32];
    pecs_utc_iso(issued);
    snprintf(seed, sizeof seed, "%llu", ch->seed);
    json_t *w = json_array();
    for (int i = 0; w && i < n_words; i++)
        json_array_append_new(w, json_string(words[i]));
    json_t *env = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:s}", "pecs", json_object_get(results, "pecs"), "machine",
                            json_object_get(results, "machine"), "suites", json_object_get(results, "suites"),
                            "tolerances", json_object_get(results, "tolerances"), "thread_binding",
                            json_object_get(results, "thread_binding"), "device",
                            "none: host memory (the backend ABI passes host pointers)");
    /* a results file not written by this pecs may lack a field: "?" gives null, never a crash */
    return json_pack("{s:s, s:i, s:s, s:s?, s:{s:o, s:s}, s:{s:s, s:i, s:s, s:s}, s:{s:s, s:I, s:s}, s:O?, s:o, "
                     "s:O?, s:O, s:{s:s, s:s}}",
                     "schema", "pecs-certificate", "schema_version", PECS_CERT_SCHEMA_VERSION, "issued", issued, "command",
                     json_string_value(json_object_get(results, "command")), "claim", "words", w, "level", level,
                     "profile", "name", p->name, "version", p->version, "file", "profile.yaml", "sha256", prof_sha,
                     "challenge", "seed", seed, "pos_offset", (json_int_t)ch->pos_offset, "source",
                     given ? "given (--challenge)" : "fresh (getrandom)", "backend",
                     json_array_get(json_object_get(results, "backends"), 0), "environment", env, "summary",
                     json_object_get(results, "summary"), "evaluation", eval, "files", "results.json", results_sha,
                     "profile.yaml", prof_sha);
}

/* Render certificate.md, hash it into files, write both files of the certificate into dir. */
static pecs_status cli_certificate_write(const char *dir, json_t *cert, char *why, size_t why_len)
{
    char path[PATH_MAX + 64], sha[65];
    char *md = pecs_cert_render_md(cert), *text = NULL;
    pecs_status st = PECS_NOMEM;
    if (!md)
        goto cleanup;
    pecs_sha256_hex(md, strlen(md), sha);
    json_object_set_new(json_object_get(cert, "files"), "certificate.md", json_string(sha));
    if (!(text = json_dumps(cert, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))))
        goto cleanup;
    snprintf(path, sizeof path, "%s/certificate.md", dir);
    if ((st = pecs_write_atomic(path, md, strlen(md), why, why_len)) != PECS_OK)
        goto cleanup;
    snprintf(path, sizeof path, "%s/certificate.json", dir);
    st = pecs_write_atomic(path, text, strlen(text), why, why_len);
cleanup:
    if (st == PECS_NOMEM)
        snprintf(why, why_len, "out of memory");
    free(md);
    free(text);
    return st;
}

int pecs_cmd_certify(int argc, char **argv)
{
    const char *backend = NULL, *profile_arg = NULL, *out = "pecs-certificate", *level = "exact", *words[MAX_ARGS];
    const char *results_in = NULL;
    int n_words = 0, list_only = 0, rc = EXIT_OK, have_given = 0, shard_k = 0, shard_n = 0;
    challenge given = {0, 0};
    double timeout = 60, threads = 0, mem_cap = 0;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
            fputs(CERTIFY_HELP, stdout);
            return EXIT_OK;
        }
        if ((v = pecs_opt(argc, argv, &i, "--backend", &missing))) {
            if (backend)
                return cli_usage_error("certify", "one --backend per certificate");
            backend = v;
        } else if ((v = pecs_opt(argc, argv, &i, "--claim", &missing)) && n_words < MAX_ARGS)
            words[n_words++] = v;
        else if ((v = pecs_opt(argc, argv, &i, "--level", &missing)))
            level = v;
        else if ((v = pecs_opt(argc, argv, &i, "--profile", &missing)))
            profile_arg = v;
        else if ((v = pecs_opt(argc, argv, &i, "--out", &missing)))
            out = v;
        else if ((v = pecs_opt(argc, argv, &i, "--timeout", &missing))) {
            if (!pecs_parse_f64(v, &timeout) || !(timeout > 0 && timeout <= 86400))
                return cli_usage_error("certify", "--timeout takes seconds in (0, 86400]");
        } else if ((v = pecs_opt(argc, argv, &i, "--threads", &missing))) {
            if (!pecs_parse_f64(v, &threads) || threads != floor(threads) || threads < 0 || threads > 1024)
                return cli_usage_error("certify", "--threads takes 0..1024");
        } else if ((v = pecs_opt(argc, argv, &i, "--mem-cap", &missing))) {
            if (!pecs_parse_f64(v, &mem_cap) || mem_cap < 1 || mem_cap > 1048576)
                return cli_usage_error("certify", "--mem-cap takes MiB in [1, 1048576]");
            pecs_case_set_mem_cap(mem_cap * 1048576.0);
            mem_cap *= 1048576.0;
        } else if ((v = pecs_opt(argc, argv, &i, "--challenge", &missing))) {
            int64_t sd = -1, off = 0;
            const char *colon = strchr(v, ':');
            char head[32];
            snprintf(head, sizeof head, "%.*s", colon ? (int)(colon - v) : 0, v);
            if (!colon || !pecs_parse_i64(head, &sd) || sd < 0 || !pecs_parse_i64(colon + 1, &off) || off < 1 ||
                off > 4096)
                return cli_usage_error("certify", "--challenge takes SEED:OFFSET (seed 0..2^63-1, offset 1..4096; "
                                                  "pecs certify --draw-challenge prints a fresh one)");
            given.seed = (unsigned long long)sd;
            given.pos_offset = off;
            have_given = 1;
        } else if ((v = pecs_opt(argc, argv, &i, "--shard", &missing))) {
            char msg[256];
            if (pecs_shard_parse(v, &shard_k, &shard_n, msg, sizeof msg) != PECS_OK)
                return cli_usage_error("certify", msg);
        } else if ((v = pecs_opt(argc, argv, &i, "--results", &missing)))
            results_in = v;
        else if (!strcmp(argv[i], "--draw-challenge")) {
            challenge ch;
            char why[256];
            if (pecs_cert_challenge(&ch.seed, &ch.pos_offset, why, sizeof why) != PECS_OK) {
                fprintf(stderr, "pecs certify: %s\n", why);
                return EXIT_IO;
            }
            printf("%llu:%lld\n", ch.seed, ch.pos_offset);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--list-profile"))
            list_only = 1;
        else {
            char msg[256];
            snprintf(msg, sizeof msg, missing ? "option '%s' is missing its value" : "unknown argument '%s'", argv[i]);
            return cli_usage_error("certify", msg);
        }
    }
    char pbuf[PATH_MAX], why[2048], tmp[PATH_MAX], results_path[PATH_MAX + 64], prof_sha[65], res_sha[65], *prof_text = NULL;
    const char *ppath = cli_find_profile(profile_arg, pbuf, sizeof pbuf);
    pecs_cert_profile *prof = calloc(1, sizeof *prof);
    pecs_cert_claim *claim = calloc(1, sizeof *claim);
    char (*suite_paths)[PATH_MAX] = calloc(PECS_CERT_MAX_SUITES, PATH_MAX);
    json_t *results = NULL, *eval = NULL, *cert = NULL;
    size_t prof_len = 0;
    int made_tmp = 0;
    if (!prof || !claim || !suite_paths) {
        rc = EXIT_IO;
        goto cleanup;
    }
    if (strlen(out) > PATH_MAX - 64) {
        rc = cli_usage_error("certify", "--out: the path is too long");
        goto cleanup;
    }
    if (!ppath) {
        fprintf(stderr, "pecs certify: --profile %s: no such profile (no file, and no configs/certify/%s.yaml in the "
                        "data search path: PECS_DATA_PATH, the source tree, the install prefix)\n",
                profile_arg ? profile_arg : "pecs-cert-1", profile_arg ? profile_arg : "pecs-cert-1");
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if (pecs_cert_profile_load(prof, ppath, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs certify: %s\n", why);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if (list_only) {
        print_profile(prof);
        goto cleanup;
    }
    if ((shard_n || results_in) && !have_given) {
        rc = cli_usage_error("certify", "--shard and --results need the certification's --challenge SEED:OFFSET (one "
                                        "for all shards: pecs certify --draw-challenge)");
        goto cleanup;
    }
    if (results_in && (shard_n || backend)) {
        rc = cli_usage_error("certify", "--results certifies a finished (merged) run: no --backend or --shard");
        goto cleanup;
    }
    if (!backend && !results_in) {
        rc = cli_usage_error("certify", "give the backend to certify: --backend PLUGIN.so");
        goto cleanup;
    }
    if (pecs_cert_claim_parse(prof, words, n_words, level, claim, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs certify: %s\n", why);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if (pecs_read_file(ppath, &prof_text, &prof_len, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs certify: %s\n", why);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    pecs_sha256_hex(prof_text, prof_len, prof_sha);
    run_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    for (int s = 0; s < prof->n_suites; s++) {
        char rel[128];
        snprintf(rel, sizeof rel, "suites/%s.yaml", prof->suites[s]);
        const char *sp = cli_find_data(rel, suite_paths[s], PATH_MAX);
        if (!sp) {
            fprintf(stderr, "pecs certify: profile %s: suite '%s' not found (%s in the data search path)\n",
                    prof->name, prof->suites[s], rel);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        if (sp != suite_paths[s])
            snprintf(suite_paths[s], PATH_MAX, "%s", sp);
        cfg.suites[cfg.n_suites++] = suite_paths[s];
    }
    struct stat stt;
    if (stat(out, &stt) == 0 || errno != ENOENT) {
        fprintf(stderr, "pecs certify: --out %s already exists: a certificate is written into a new directory\n", out);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    if (mkdir(tmp, 0755) != 0) {
        fprintf(stderr, "pecs certify: cannot create %s: %s\n", tmp, strerror(errno));
        rc = EXIT_USAGE;
        goto cleanup;
    }
    made_tmp = 1;
    challenge ch = given;
    if (!have_given && pecs_cert_challenge(&ch.seed, &ch.pos_offset, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs certify: %s\n", why);
        rc = EXIT_IO;
        goto cleanup;
    }
    char level_set[64];
    snprintf(level_set, sizeof level_set, "level=%s", claim->level);
    snprintf(results_path, sizeof results_path, "%s/results.json", tmp);
    if (results_in) { /* a run made elsewhere (pecs merge of the shards): its cases are checked like any run's */
        char *text = NULL;
        size_t len = 0;
        if (pecs_read_file(results_in, &text, &len, why, sizeof why) != PECS_OK ||
            pecs_write_atomic(results_path, text, len, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs certify: --results: %s\n", why);
            free(text);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        free(text);
    } else {
        cfg.backends[cfg.n_backends++] = backend;
        cfg.sets[cfg.n_sets++] = level_set;
        cfg.isolate = 1;
        cfg.timeout = timeout;
        cfg.threads = threads;
        cfg.mem_cap = mem_cap;
        cfg.mode = prof->throughput_min_time > 0 ? "all" : "correctness";
        cfg.min_time = prof->throughput_min_time;
        cfg.out = results_path;
        cfg.rewrite = pecs_cert_challenge_hook;
        cfg.rewrite_ctx = &ch;
        cfg.shard_k = shard_k;
        cfg.shard_n = shard_n;
        printf("pecs certify: profile %s version %d, level %s, %d claimed unit(s); challenge seed %llu, position "
               "offset %lld%s\n",
               prof->name, prof->version, claim->level, claim->n_units, ch.seed, ch.pos_offset,
               shard_n ? " (a shard: the certificate comes from the merged shards)" : "");
        char *command = cli_join_args(argc, argv);
        rc = cli_run(&cfg, command ? command : "pecs certify", NULL);
        free(command);
        if (rc != EXIT_OK && rc != EXIT_FAILURES)
            goto cleanup;
        rc = EXIT_OK;
    }
    if (shard_n) { /* a shard's directory holds its results only */
        if (rename(tmp, out) != 0) {
            fprintf(stderr, "pecs certify: cannot rename %s to %s: %s\n", tmp, out, strerror(errno));
            rc = EXIT_IO;
            goto cleanup;
        }
        made_tmp = 0;
        printf("\nshard %d/%d of the certification: %s/results.json. When every shard is done:\n"
               "  pecs merge merged.json <the shards' results.json>\n"
               "  pecs certify --results merged.json --challenge %llu:%lld --claim ... --level %s --profile %s\n",
               shard_k, shard_n, out, ch.seed, ch.pos_offset, claim->level, prof->name);
        goto cleanup;
    }
    json_error_t jerr;
    if (!(results = json_load_file(results_path, 0, &jerr)) ||
        pecs_sha256_file(results_path, res_sha, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs certify: cannot read back %s: %s\n", results_path, results ? why : jerr.text);
        rc = EXIT_IO;
        goto cleanup;
    }
    if (!(eval = pecs_cert_evaluate(prof, claim, results)) ||
        !(cert = certificate_object(results, eval, prof, prof_sha, words, n_words, claim->level, &ch, have_given,
                                    res_sha))) {
        rc = EXIT_IO;
        goto cleanup;
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/profile.yaml", tmp);
    if (pecs_write_atomic(path, prof_text, prof_len, why, sizeof why) != PECS_OK ||
        cli_certificate_write(tmp, cert, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs certify: %s\n", why);
        rc = EXIT_IO;
        goto cleanup;
    }
    if (results_in) { /* a run pecs did not make here: it must be the profile's cases under the challenge */
        int invalid = 0;
        printf("checking %s as pecs verify would:\n", results_in);
        cli_verify_dir(tmp, 0, NULL, timeout, &invalid);
        if (invalid) {
            fprintf(stderr, "pecs certify: --results %s is not a complete certification run of profile %s under "
                            "challenge %llu:%lld (above): no certificate\n",
                    results_in, prof->name, ch.seed, ch.pos_offset);
            rc = EXIT_USAGE;
            goto cleanup;
        }
    }
    if (rename(tmp, out) != 0) {
        fprintf(stderr, "pecs certify: cannot rename %s to %s: %s\n", tmp, out, strerror(errno));
        rc = EXIT_IO;
        goto cleanup;
    }
    made_tmp = 0;
    const char *verdict = json_string_value(json_object_get(eval, "verdict"));
    printf("\ncertificate: %s/certificate.md\n%s: %s at level %s (%lld problem(s))\n", out, verdict,
           json_string_value(json_object_get(json_object_get(cert, "backend"), "name")), claim->level,
           (long long)json_integer_value(json_object_get(eval, "problems_total")));
    size_t k;
    json_t *pj;
    json_array_foreach(json_object_get(eval, "problems"), k, pj) printf("  %s\n", json_string_value(pj));
    rc = strcmp(verdict, "CONFORMANT") ? EXIT_FAILURES : EXIT_OK;
cleanup:
    if (made_tmp)
        remove_dir(tmp);
    json_decref(cert);
    json_decref(eval);
    json_decref(results);
    free(prof_text);
    free(suite_paths);
    free(claim);
    free(prof);
    return rc;
}
