/* harness/cli/verify.c — pecs verify: re-check a certificate directory (hashes, internal consistency, the
 * evaluation computed again), and with --rerun run its cases again on the plugin and require every verdict. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certify.h"
#include "cli_int.h"

static const char VERIFY_HELP[] =
    "usage: pecs verify DIR [--rerun] [--backend PLUGIN] [--timeout S]\n"
    "\n"
    "Check a certificate directory written by pecs certify:\n"
    "  - every file's sha256 against certificate.json (results.json, profile.yaml, certificate.md);\n"
    "  - certificate.json against results.json: backend, environment and verdict counts as the run recorded\n"
    "    them, the counts against the cases, the evaluation (verdict, every claimed unit, the problems)\n"
    "    computed again from the results, the profile and the claim, and certificate.md rendered again;\n"
    "  - with --rerun: the plugin (--backend, default the path the certificate names) must have the\n"
    "    certified sha256; every case of results.json runs again on it, isolated, with the certificate's\n"
    "    seeds and positions, and must reproduce its verdict.\n"
    "Exit 0: a valid certificate of conformance; 1: not conformant, or the certificate does not check out\n"
    "(each reason printed); 2: bad input.\n";

static int n_bad;

static const char *js(json_t *j)
{
    const char *s = json_string_value(j);
    return s ? s : "";
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL  ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    n_bad++;
}

static json_t *load_json(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    json_error_t e;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        bad("%s: %s (line %d)", path, e.text, e.line);
    return j;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The certified cases must be exactly the profile's suites under the certificate's challenge and level, in
 * order: a results file with a case removed, added or altered (a seed, a position) is not the run the
 * certificate claims. The suites are expanded again from this pecs's files, which must be the certified ones. */
static void check_cases(const pecs_cert_profile *prof, json_t *cert, json_t *results)
{
    static char paths[PECS_CERT_MAX_SUITES][PATH_MAX];
    run_cfg cfg;
    run_inputs in;
    char level_set[64];
    pecs_cert_challenge_t ch;
    json_t *chj = json_object_get(cert, "challenge"), *c;
    const char *seed = json_string_value(json_object_get(chj, "seed"));
    memset(&cfg, 0, sizeof cfg);
    memset(&in, 0, sizeof in);
    int64_t sd = -1;
    if (!seed || !pecs_parse_i64(seed, &sd) || sd < 0 || !json_is_integer(json_object_get(chj, "pos_offset"))) {
        bad("certificate.json: challenge has no seed or pos_offset");
        return;
    }
    ch.seed = (unsigned long long)sd;
    ch.pos_offset = json_integer_value(json_object_get(chj, "pos_offset"));
    if (ch.pos_offset < 1 || ch.pos_offset > 4096) {
        bad("certificate.json: challenge pos_offset %lld is outside 1..4096", (long long)ch.pos_offset);
        return;
    }
    for (int s = 0; s < prof->n_suites; s++) {
        char rel[128];
        snprintf(rel, sizeof rel, "suites/%s.yaml", prof->suites[s]);
        const char *sp = cli_find_data(rel, paths[s], PATH_MAX);
        if (!sp) {
            bad("suite '%s' of the profile is not on this machine: verify with the pecs that issued the certificate",
                prof->suites[s]);
            return;
        }
        if (sp != paths[s])
            snprintf(paths[s], PATH_MAX, "%s", sp);
        cfg.suites[cfg.n_suites++] = paths[s];
    }
    snprintf(level_set, sizeof level_set, "level=%s", js(json_object_get(json_object_get(cert, "claim"), "level")));
    cfg.sets[cfg.n_sets++] = level_set;
    cfg.rewrite = pecs_cert_challenge_hook;
    cfg.rewrite_ctx = &ch;
    if (cli_inputs_load("verify", &cfg, &in) != EXIT_OK) {
        bad("the profile's suites do not load on this pecs");
        goto cleanup;
    }
    for (int s = 0; s < in.n_suites; s++) /* the same suite files (and includes) as the certified run */
        for (int f = 0; f < in.suites[s].n_files; f++) {
            const char *mine = in.suites[s].files[f].path, *base = strrchr(mine, '/');
            base = base ? base + 1 : mine;
            int same = 0;
            size_t k;
            json_array_foreach(json_object_get(results, "suites"), k, c)
            {
                const char *p = js(json_object_get(c, "path")), *b = strrchr(p, '/');
                same |= !strcmp(b ? b + 1 : p, base) && !strcmp(js(json_object_get(c, "sha256")), in.suites[s].files[f].sha256);
            }
            if (!same)
                bad("%s: this pecs's file is not the certified one (sha256 %.16s... not in results.json's suites)", mine,
                    in.suites[s].files[f].sha256);
        }
    /* as sets: the merged shards of a certification hold the cases grouped by shard */
    json_t *cases = json_object_get(results, "cases");
    size_t n = json_array_size(cases), differ = 0;
    const char **got = calloc(n + 1, sizeof *got);
    if (!got) {
        bad("out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        got[i] = js(json_object_get(json_array_get(cases, i), "case"));
    qsort(got, n, sizeof *got, cmp_cstr);
    qsort(in.cases, (size_t)in.n_cases, sizeof *in.cases, cmp_cstr);
    if (n != (size_t)in.n_cases)
        bad("results.json has %zu cases; the profile's suites under the challenge are %d", n, in.n_cases);
    for (size_t i = 0; i < n && i < (size_t)in.n_cases; i++)
        if (strcmp(got[i], in.cases[i]) && differ++ < 5)
            bad("results.json has case '%s' where the profile's suites under the challenge give '%s'", got[i],
                in.cases[i]);
    free(got);
    if (!n_bad)
        printf("  ok    the %d cases are the profile's suites under the certificate's challenge\n", in.n_cases);
cleanup:
    cli_inputs_free(&in);
}

/* Run every case of the certified results again and compare the verdicts. */
static void rerun(const char *dir, json_t *cert, json_t *results, const char *backend_arg, double timeout)
{
    json_t *be = json_object_get(cert, "backend");
    const char *src = json_string_value(json_object_get(be, "source")),
               *want_sha = json_string_value(json_object_get(be, "sha256"));
    const char *backend = backend_arg ? backend_arg : src && strcmp(src, "builtin") ? src : json_string_value(json_object_get(be, "name"));
    char sha[65] = "", why[1024], tmpdir[] = "/tmp/pecs-verify-XXXXXX", out[PATH_MAX];
    json_t *again = NULL, *c;
    char **list = NULL;
    size_t n = json_array_size(json_object_get(results, "cases")), i;
    if (!backend) {
        bad("--rerun: the certificate names no backend");
        return;
    }
    if (strcmp(src ? src : "", "builtin")) {
        if (pecs_sha256_file(backend, sha, why, sizeof why) != PECS_OK) {
            bad("--rerun: %s", why);
            return;
        }
        if (!want_sha || strcmp(sha, want_sha)) {
            bad("--rerun: %s has sha256 %s, the certificate is for %s", backend, sha, want_sha ? want_sha : "?");
            return;
        }
    }
    if (!mkdtemp(tmpdir)) {
        bad("--rerun: cannot create a temporary directory: %s", strerror(errno));
        return;
    }
    snprintf(out, sizeof out, "%s/results.json", tmpdir);
    if (!(list = calloc(n + 1, sizeof *list)))
        goto cleanup;
    json_array_foreach(json_object_get(results, "cases"), i, c) list[i] = (char *)json_string_value(json_object_get(c, "case"));
    run_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backends[cfg.n_backends++] = backend;
    cfg.case_list = list;
    cfg.n_case_list = (int)n;
    cfg.isolate = 1;
    cfg.timeout = timeout;
    cfg.mode = "correctness";
    cfg.out = out;
    cfg.threads = (double)json_integer_value(json_object_get(results, "threads"));
    printf("rerunning %zu case(s) on %s\n", n, backend);
    fflush(stdout);
    int rc = cli_run(&cfg, "pecs verify --rerun", NULL);
    json_error_t e;
    if ((rc != EXIT_OK && rc != EXIT_FAILURES) || !(again = json_load_file(out, 0, &e))) {
        bad("--rerun: the run did not complete (exit %d)", rc);
        goto cleanup;
    }
    if (!json_equal(json_object_get(again, "tolerances"), json_object_get(results, "tolerances")) &&
        strcmp(js(json_object_get(json_object_get(again, "tolerances"), "sha256")),
               js(json_object_get(json_object_get(results, "tolerances"), "sha256"))))
        bad("--rerun: this pecs's tolerance file differs from the certificate's (sha256)");
    size_t differ = 0;
    json_t *ca = json_object_get(again, "cases");
    if (json_array_size(ca) != n)
        bad("--rerun: %zu results for %zu cases", json_array_size(ca), n);
    json_array_foreach(json_object_get(results, "cases"), i, c)
    {
        json_t *r = json_array_get(ca, i);
        const char *s0 = json_string_value(json_object_get(c, "status")), *s1 = json_string_value(json_object_get(r, "status"));
        if (!r || strcmp(js(json_object_get(r, "case")), list[i]) || strcmp(s0 ? s0 : "", s1 ? s1 : "")) {
            if (differ++ < 20)
                bad("--rerun: %s: certified %s, now %s%s%s", list[i], s0 ? s0 : "?", s1 ? s1 : "missing",
                    r ? ": " : "", r ? json_string_value(json_object_get(r, "reason")) : "");
        }
    }
    if (differ > 20)
        bad("--rerun: ... and %zu more verdicts differ", differ - 20);
    if (!differ)
        printf("  ok    --rerun: all %zu verdicts reproduced\n", n);
cleanup:
    (void)dir;
    json_decref(again);
    free(list);
    unlink(out);
    rmdir(tmpdir);
}

int pecs_cmd_verify(int argc, char **argv)
{
    const char *dir = NULL, *backend = NULL;
    int do_rerun = 0;
    double timeout = 60;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
            fputs(VERIFY_HELP, stdout);
            return EXIT_OK;
        }
        if ((v = pecs_opt(argc, argv, &i, "--backend", &missing)))
            backend = v;
        else if ((v = pecs_opt(argc, argv, &i, "--timeout", &missing))) {
            if (!pecs_parse_f64(v, &timeout) || !(timeout > 0 && timeout <= 86400))
                return cli_usage_error("verify", "--timeout takes seconds in (0, 86400]");
        } else if (!strcmp(argv[i], "--rerun"))
            do_rerun = 1;
        else if (missing || argv[i][0] == '-' || dir)
            return cli_usage_error("verify", missing ? "an option is missing its value" : "give one certificate directory");
        else
            dir = argv[i];
    }
    if (!dir || strlen(dir) > PATH_MAX - 64)
        return cli_usage_error("verify", dir ? "the directory's path is too long" : "give a certificate directory");
    return cli_verify_dir(dir, do_rerun, backend, timeout, NULL);
}

int cli_verify_dir(const char *dir, int do_rerun, const char *backend, double timeout, int *invalid)
{
    int rc = EXIT_OK;
    char path[PATH_MAX + 64], sha[65], why[1024], *md = NULL, *md_file = NULL;
    size_t md_len = 0;
    n_bad = 0;
    pecs_cert_profile *prof = calloc(1, sizeof *prof);
    pecs_cert_claim *claim = calloc(1, sizeof *claim);
    json_t *cert = NULL, *results = NULL, *eval = NULL, *v;
    const char *k, *words[MAX_ARGS];
    int n_words = 0;
    if (!prof || !claim) {
        rc = EXIT_IO;
        goto cleanup;
    }
    printf("pecs verify %s\n", dir);
    snprintf(path, sizeof path, "%s/certificate.json", dir);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "pecs verify: %s: not a certificate directory (no readable certificate.json)\n", dir);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if (!(cert = load_json(dir, "certificate.json")))
        goto verdict;
    if (strcmp(js(json_object_get(cert, "schema")), "pecs-certificate") ||
        json_integer_value(json_object_get(cert, "schema_version")) != PECS_CERT_SCHEMA_VERSION) {
        bad("certificate.json: not a pecs-certificate of schema version %d", PECS_CERT_SCHEMA_VERSION);
        goto verdict;
    }
    /* 1. Every file against its recorded hash; the three files must all be there. */
    static const char *const need[] = {"results.json", "profile.yaml", "certificate.md"};
    for (size_t n = 0; n < 3; n++)
        if (!json_is_string(json_object_get(json_object_get(cert, "files"), need[n])))
            bad("certificate.json: files has no %s", need[n]);
    json_object_foreach(json_object_get(cert, "files"), k, v)
    {
        if (strchr(k, '/') || !strcmp(k, "..")) {
            bad("certificate.json: file name '%s' is outside the directory", k);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, k);
        if (pecs_sha256_file(path, sha, why, sizeof why) != PECS_OK)
            bad("%s", why);
        else if (strcmp(sha, js(v)))
            bad("%s: sha256 %s, the certificate records %s", k, sha, json_string_value(v) ? json_string_value(v) : "?");
        else
            printf("  ok    %s sha256 %.16s...\n", k, sha);
    }
    if (strcmp(js(json_object_get(json_object_get(cert, "profile"), "sha256")),
               js(json_object_get(json_object_get(cert, "files"), "profile.yaml"))))
        bad("certificate.json: profile.sha256 differs from files[profile.yaml]");
    /* 2. The profile and the claim. */
    snprintf(path, sizeof path, "%s/profile.yaml", dir);
    if (pecs_cert_profile_load(prof, path, why, sizeof why) != PECS_OK) {
        bad("%s", why);
        goto verdict;
    }
    json_t *cl = json_object_get(cert, "claim"), *pj = json_object_get(cert, "profile");
    if (strcmp(prof->name, js(json_object_get(pj, "name"))) ||
        prof->version != json_integer_value(json_object_get(pj, "version")))
        bad("certificate.json: profile %s version %lld, but profile.yaml is %s version %d",
            js(json_object_get(pj, "name")), (long long)json_integer_value(json_object_get(pj, "version")),
            prof->name, prof->version);
    size_t i;
    json_array_foreach(json_object_get(cl, "words"), i, v) if (n_words < MAX_ARGS && json_is_string(v)) words[n_words++] =
        json_string_value(v);
    if (pecs_cert_claim_parse(prof, words, n_words, js(json_object_get(cl, "level")), claim, why,
                              sizeof why) != PECS_OK) {
        bad("certificate.json: claim: %s", why);
        goto verdict;
    }
    /* 3. The results, and everything the certificate says of them. */
    if (!(results = load_json(dir, "results.json")))
        goto verdict;
    static const char *const same[][2] = {{"backend", "backends"}, {"summary", "summary"}};
    if (!json_equal(json_object_get(cert, same[0][0]), json_array_get(json_object_get(results, same[0][1]), 0)) ||
        json_array_size(json_object_get(results, "backends")) != 1)
        bad("certificate.json: backend differs from results.json's (exactly one backend)");
    if (!json_equal(json_object_get(cert, same[1][0]), json_object_get(results, same[1][1])))
        bad("certificate.json: summary differs from results.json's");
    static const char *const env_keys[] = {"pecs", "machine", "suites", "tolerances", "thread_binding"};
    for (size_t n = 0; n < sizeof env_keys / sizeof env_keys[0]; n++)
        if (!json_equal(json_object_get(json_object_get(cert, "environment"), env_keys[n]),
                        json_object_get(results, env_keys[n])))
            bad("certificate.json: environment.%s differs from results.json's", env_keys[n]);
    int counts[PECS_V_COUNT] = {0};
    pecs_results_count(json_object_get(results, "cases"), counts);
    for (int vv = 0; vv < PECS_V_COUNT; vv++) {
        json_t *s = json_object_get(json_object_get(results, "summary"), pecs_verdict_name((pecs_verdict)vv));
        if (json_integer_value(s) != counts[vv])
            bad("results.json: summary %s %lld, the cases have %d", pecs_verdict_name((pecs_verdict)vv),
                (long long)json_integer_value(s), counts[vv]);
    }
    if (!json_array_size(json_object_get(results, "cases")))
        bad("results.json: no cases");
    if (!(eval = pecs_cert_evaluate(prof, claim, results))) {
        rc = EXIT_IO;
        goto cleanup;
    }
    if (!json_equal(eval, json_object_get(cert, "evaluation")))
        bad("certificate.json: the evaluation does not follow from results.json, the profile and the claim "
            "(computed again: %s, %lld problem(s))",
            json_string_value(json_object_get(eval, "verdict")), (long long)json_integer_value(json_object_get(eval, "problems_total")));
    else
        printf("  ok    evaluation computed again: %s\n", json_string_value(json_object_get(eval, "verdict")));
    snprintf(path, sizeof path, "%s/certificate.md", dir);
    if (!(md = pecs_cert_render_md(cert)) || pecs_read_file(path, &md_file, &md_len, why, sizeof why) != PECS_OK ||
        md_len != strlen(md) || memcmp(md, md_file, md_len))
        bad("certificate.md is not the rendering of certificate.json");
    check_cases(prof, cert, results);
    if (do_rerun && !n_bad)
        rerun(dir, cert, results, backend, timeout);
verdict:
    if (n_bad)
        printf("\nINVALID: %d check(s) failed: the certificate cannot be trusted\n", n_bad);
    else
        printf("\nvalid certificate: %s\n", json_string_value(json_object_get(eval, "verdict")));
    rc = n_bad || strcmp(js(json_object_get(eval, "verdict")), "CONFORMANT") ? EXIT_FAILURES : EXIT_OK;
cleanup:
    if (invalid)
        *invalid = n_bad + (rc != EXIT_OK && rc != EXIT_FAILURES);
    free(md);
    free(md_file);
    json_decref(eval);
    json_decref(results);
    json_decref(cert);
    free(claim);
    free(prof);
    return rc;
}
