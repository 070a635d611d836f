/* harness/cli/merge.c — pecs merge: the results of the shards of one run (`pecs run --shard K/N`) joined into
 * one results file, the same schema as a run's (docs/scale-out.md, docs/results-schema.md#merging-shards). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_int.h"

static const char MERGE_HELP[] =
    "usage: pecs merge OUT.json SHARD.json...\n"
    "\n"
    "Join the results files of the shards of one run (pecs run ... --shard K/N, K = 1..N) into OUT.json, a\n"
    "results file like the unsharded run's (written atomically; its summary counted again; the shards listed\n"
    "under 'merged'). Refused (exit 2, naming the file and the field), nothing written:\n"
    "  - a file that is not a results file of this schema, or not a shard (no 'shard': run with --shard);\n"
    "  - shards of different runs: pecs.version, pecs.git_commit, suites (path and sha256), tolerances.sha256,\n"
    "    backends (name, source, version, abi, sha256), mode, threads, require, shard.n, shard.selected,\n"
    "    shard.selection_sha256, or any entry of run_identity (the options, environment, backend identities)\n"
    "    but the shard's own 'cases' and '--shard';\n"
    "  - a shard twice, a shard missing (1..N must each be there once), a (backend, case) in two shards;\n"
    "  - joined cases that are not the selection: a count other than shard.selected x backends, or case\n"
    "    strings whose sha256 (sorted) is not shard.selection_sha256.\n"
    "Like pecs run, the merge ends with 'N passed, N failed, N skipped' and gates on the whole run: exit 0 if\n"
    "nothing failed, 1 on any failing verdict or when a backend judged none of the cases (all SKIPPED),\n"
    "2 refused or bad usage (nothing written), 3 OUT could not be written.\n";

typedef struct shard_file {
    const char *path;
    json_t *root;
    int k;
} shard_file;

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The value at a dotted path, compact JSON (malloc'd), "(absent)" if missing. */
static char *text_at(json_t *root, const char *dotted)
{
    json_t *v = pecs_json_at(root, dotted);
    if (!v)
        return pecs_strdup("(absent)");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

/* What must be equal in every shard, as compact JSON: the suite files (path, sha256), the backends' identity. */
static char *suites_text(json_t *root)
{
    json_t *a = json_array(), *f;
    size_t i;
    json_array_foreach(json_object_get(root, "suites"), i, f)
        json_array_append_new(a, json_pack("{s:s,s:s}", "path", jstr(f, "path"), "sha256", jstr(f, "sha256")));
    char *t = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(a);
    return t;
}

static char *backends_text(json_t *root)
{
    json_t *a = json_array(), *b;
    size_t i;
    json_array_foreach(json_object_get(root, "backends"), i, b)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", jstr(b, "name"), "source", jstr(b, "source"),
                                           "version", jstr(b, "version"), "abi", jstr(b, "abi"), "sha256", jstr(b, "sha256")));
    char *t = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(a);
    return t;
}

/* One field of shard f against shard 0: PECS_INVALID with both values when they differ. */
static int field_refused(const shard_file *ref, const shard_file *f, const char *field, char *ta, char *tb)
{
    int differ = !ta || !tb || strcmp(ta, tb);
    if (differ)
        fprintf(stderr, "pecs merge: refusing: %s and %s are not shards of one run: they differ in %s (%s has %s, %s "
                "has %s)\n", ref->path, f->path, field, ref->path, ta ? ta : "?", f->path, tb ? tb : "?");
    free(ta);
    free(tb);
    return differ;
}

static int same_run(const shard_file *ref, const shard_file *f)
{
    static const char *const fields[] = {"pecs.version", "pecs.git_commit", "tolerances.sha256", "mode", "threads",
                                         "require", "shard.n", "shard.selected", "shard.selection_sha256"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (field_refused(ref, f, fields[i], text_at(ref->root, fields[i]), text_at(f->root, fields[i])))
            return 0;
    if (field_refused(ref, f, "suites[] (path, sha256)", suites_text(ref->root), suites_text(f->root)) ||
        field_refused(ref, f, "backends[] (name, source, version, abi, sha256)", backends_text(ref->root),
                      backends_text(f->root)))
        return 0;
    /* Every entry of the run identity but the shard's own selection. */
    json_t *ia = json_object_get(ref->root, "run_identity"), *ib = json_object_get(f->root, "run_identity"), *v;
    const char *key;
    for (int side = 0; side < 2; side++) {
        json_object_foreach(side ? ib : ia, key, v)
        {
            if (!strcmp(key, "cases") || !strcmp(key, "--shard") || (side && json_object_get(ia, key)))
                continue;
            char field[300];
            snprintf(field, sizeof field, "run_identity.%s", key);
            if (field_refused(ref, f, field, json_dumps(json_object_get(ia, key), JSON_ENCODE_ANY),
                              json_dumps(json_object_get(ib, key), JSON_ENCODE_ANY)))
                return 0;
        }
    }
    return 1;
}

/* Load a shard's results: schema, version and a valid shard object. */
static int load_shard(shard_file *f)
{
    json_error_t err;
    f->root = pecs_json_load(f->path, &err);
    if (!f->root) {
        fprintf(stderr, "pecs merge: %s:%d:%d: not a results file: %s\n", f->path, err.line, err.column, err.text);
        return 0;
    }
    json_t *sh = json_object_get(f->root, "shard"), *ver = json_object_get(f->root, "schema_version");
    if (strcmp(jstr(f->root, "schema"), "pecs-results") || !json_is_integer(ver) ||
        json_integer_value(ver) != PECS_RESULTS_SCHEMA_VERSION || !json_is_array(json_object_get(f->root, "cases"))) {
        fprintf(stderr, "pecs merge: %s: not a pecs results file of schema_version %d\n", f->path,
                PECS_RESULTS_SCHEMA_VERSION);
        return 0;
    }
    json_int_t k = json_integer_value(json_object_get(sh, "k")), n = json_integer_value(json_object_get(sh, "n"));
    if (!json_is_object(sh) || k < 1 || k > n || !json_is_integer(json_object_get(sh, "selected")) ||
        strlen(jstr(sh, "selection_sha256")) != 64) {
        fprintf(stderr, "pecs merge: %s: not a shard (no valid 'shard' object: k, n, selected, selection_sha256; "
                "shards come from pecs run --shard K/N)\n", f->path);
        return 0;
    }
    f->k = (int)k;
    return 1;
}

static int cmp_k(const void *x, const void *y) { return ((const shard_file *)x)->k - ((const shard_file *)y)->k; }
static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The cases of the shards, backend by backend (the first shard's backends[] order), shard by shard. Refuses a
 * (backend, case) seen twice, a count that is not the selection's, and a set of case strings that is not it. */
static json_t *join_cases(const shard_file *f, int nf)
{
    json_t *ref = f[0].root, *joined = json_array(), *seen = json_object(), *b, *c;
    json_t *sh = json_object_get(ref, "shard");
    size_t bi, ci;
    int ok = joined && seen, selected = (int)json_integer_value(json_object_get(sh, "selected"));
    char **strs = NULL;
    json_array_foreach(json_object_get(ref, "backends"), bi, b)
    {
        const char *name = jstr(b, "name"), *token = strcmp(jstr(b, "source"), "builtin") ? jstr(b, "source") : name;
        int n = 0;
        free(strs);
        strs = calloc((size_t)selected + 1, sizeof *strs);
        ok = ok && strs;
        for (int s = 0; s < nf && ok; s++)
            json_array_foreach(json_object_get(f[s].root, "cases"), ci, c)
            {
                if (strcmp(jstr(c, "backend"), name) || strcmp(jstr(c, "backend_source"), token))
                    continue;
                pecs_sb key = {0};
                pecs_sb_addf(&key, "%s\n%s", token, jstr(c, "case"));
                const char *prev = json_string_value(json_object_get(seen, pecs_sb_str(&key)));
                if (prev) {
                    fprintf(stderr, "pecs merge: refusing: backend %s, case '%s' is in both %s and %s\n", token,
                            jstr(c, "case"), prev, f[s].path);
                    ok = 0;
                } else if (n == selected) {
                    fprintf(stderr, "pecs merge: refusing: the shards hold more than the %d selected case(s) for "
                            "backend %s (shard.selected)\n", selected, token);
                    ok = 0;
                } else {
                    json_object_set_new(seen, pecs_sb_str(&key), json_string(f[s].path));
                    json_array_append(joined, c);
                    strs[n++] = (char *)jstr(c, "case");
                }
                pecs_sb_free(&key);
                if (!ok)
                    break;
            }
        if (!ok)
            break;
        if (n != selected) {
            fprintf(stderr, "pecs merge: refusing: the shards hold %d case(s) for backend %s, the selection has %d "
                    "(shard.selected): a shard is incomplete\n", n, token, selected);
            ok = 0;
            break;
        }
        char hex[65];
        qsort(strs, (size_t)n, sizeof *strs, cmp_str);
        if (pecs_selection_sha256(strs, n, hex) != PECS_OK || strcmp(hex, jstr(sh, "selection_sha256"))) {
            fprintf(stderr, "pecs merge: refusing: the joined cases of backend %s are not the selection (their sha256 "
                    "%s, shard.selection_sha256 %s)\n", token, hex, jstr(sh, "selection_sha256"));
            ok = 0;
            break;
        }
    }
    if (ok && json_array_size(joined) != json_array_size(json_object_get(ref, "backends")) * (size_t)selected) {
        fprintf(stderr, "pecs merge: refusing: %zu case(s) joined, the selection is %d x %zu backend(s)\n",
                json_array_size(joined), selected, json_array_size(json_object_get(ref, "backends")));
        ok = 0;
    }
    size_t total = 0;
    for (int s = 0; s < nf; s++)
        total += json_array_size(json_object_get(f[s].root, "cases"));
    if (ok && total != json_array_size(joined)) {
        fprintf(stderr, "pecs merge: refusing: the shards hold %zu case(s) of which %zu belong to their backends[]\n",
                total, json_array_size(joined));
        ok = 0;
    }
    free(strs);
    json_decref(seen);
    if (!ok) {
        json_decref(joined);
        joined = NULL;
    }
    return joined;
}

/* The merged file: the first shard's metadata in its order, 'shard' replaced by 'merged', the command, dates,
 * summary and cases of the whole. */
static json_t *merged_root(const shard_file *f, int nf, json_t *cases, const char *command)
{
    json_t *root = json_object(), *ref = f[0].root, *v, *list = json_array();
    const char *key, *started = jstr(ref, "started"), *finished = jstr(ref, "finished");
    int counts[PECS_V_COUNT] = {0};
    for (int s = 0; s < nf; s++) {
        char sha[65] = "", why[256];
        if (strcmp(jstr(f[s].root, "started"), started) < 0)
            started = jstr(f[s].root, "started");
        if (strcmp(jstr(f[s].root, "finished"), finished) > 0)
            finished = jstr(f[s].root, "finished");
        pecs_sha256_file(f[s].path, sha, why, sizeof why);
        json_t *e = json_pack("{s:i,s:s,s:s,s:s,s:s,s:O?}", "k", f[s].k, "path", f[s].path, "sha256", sha, "started",
                              jstr(f[s].root, "started"), "finished", jstr(f[s].root, "finished"), "machine",
                              json_object_get(f[s].root, "machine"));
        json_array_append_new(list, e);
    }
    pecs_results_count(cases, counts);
    json_object_foreach(ref, key, v)
    {
        if (!strcmp(key, "command"))
            json_object_set_new(root, key, json_string(command));
        else if (!strcmp(key, "started"))
            json_object_set_new(root, key, json_string(started));
        else if (!strcmp(key, "finished"))
            json_object_set_new(root, key, json_string(finished));
        else if (!strcmp(key, "shard"))
            json_object_set_new(root, "merged", json_pack("{s:O,s:O,s:O,s:o}", "n", json_object_get(v, "n"), "selected",
                                                          json_object_get(v, "selected"), "selection_sha256",
                                                          json_object_get(v, "selection_sha256"), "shards", list));
        else if (!strcmp(key, "run_identity")) {
            json_t *id = json_deep_copy(v);
            json_object_set_new(id, "--shard", json_sprintf("merged: shards 1..%d", nf));
            json_object_set_new(id, "cases", json_sprintf("%lld selected, sorted sha256 %s",
                                                          (long long)json_integer_value(json_object_get(json_object_get(ref, "shard"), "selected")),
                                                          jstr(json_object_get(ref, "shard"), "selection_sha256")));
            json_object_set_new(root, key, id);
        } else if (!strcmp(key, "summary")) {
            json_t *sum = json_object();
            for (int i = 0; i < PECS_V_COUNT; i++)
                json_object_set_new(sum, pecs_verdict_name((pecs_verdict)i), json_integer(counts[i]));
            json_object_set_new(root, key, sum);
        } else if (!strcmp(key, "cases"))
            json_object_set(root, key, cases);
        else
            json_object_set_new(root, key, json_deep_copy(v));
    }
    return root;
}

int pecs_cmd_merge(int argc, char **argv)
{
    int rc = EXIT_OK, nf = 0, n = 0;
    const char *out = NULL;
    shard_file *f = calloc((size_t)argc + 1, sizeof *f);
    json_t *cases = NULL, *root = NULL;
    char *command = cli_join_args(argc, argv), *text = NULL, why[1024];
    if (!f || !command) {
        rc = EXIT_IO;
        goto cleanup;
    }
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(MERGE_HELP, stdout);
            goto cleanup;
        }
        if (argv[i][0] == '-' && argv[i][1]) { /* "-" alone: standard output (OUT) or input (one shard) */
            snprintf(why, sizeof why, "unknown option '%s'", argv[i]);
            rc = cli_usage_error("merge", why);
            goto cleanup;
        }
        if (!out)
            out = argv[i];
        else
            f[nf++].path = argv[i];
    }
    if (!out || !nf) {
        rc = cli_usage_error("merge", "give the output file and the shards' results files");
        goto cleanup;
    }
    struct stat so, si;
    for (int s = 0; s < nf; s++) {
        if (stat(out, &so) == 0 && stat(f[s].path, &si) == 0 && so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
            snprintf(why, sizeof why, "the output %s is one of the shards", out);
            rc = cli_usage_error("merge", why);
            goto cleanup;
        }
        if (!load_shard(&f[s])) {
            rc = EXIT_USAGE;
            goto cleanup;
        }
    }
    for (int s = 1; s < nf; s++)
        if (!same_run(&f[0], &f[s])) {
            rc = EXIT_USAGE;
            goto cleanup;
        }
    n = (int)json_integer_value(json_object_get(json_object_get(f[0].root, "shard"), "n"));
    qsort(f, (size_t)nf, sizeof *f, cmp_k);
    for (int s = 1; s < nf; s++)
        if (f[s].k == f[s - 1].k) {
            fprintf(stderr, "pecs merge: refusing: %s and %s are both shard %d/%d\n", f[s - 1].path, f[s].path, f[s].k, n);
            rc = EXIT_USAGE;
            goto cleanup;
        }
    if (nf != n) {
        pecs_sb miss = {0};
        for (int k = 1, s = 0; k <= n; k++) {
            if (s < nf && f[s].k == k)
                s++;
            else
                pecs_sb_addf(&miss, "%s%d", miss.len ? ", " : "", k);
        }
        fprintf(stderr, "pecs merge: refusing: shard(s) %s of %d missing (every shard 1..%d once)\n", pecs_sb_str(&miss),
                n, n);
        pecs_sb_free(&miss);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if (!(cases = join_cases(f, nf))) {
        rc = EXIT_USAGE;
        goto cleanup;
    }
    root = merged_root(f, nf, cases, command);
    text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    if (!text) {
        fprintf(stderr, "pecs merge: out of memory\n");
        rc = EXIT_IO;
        goto cleanup;
    }
    if (pecs_write_atomic(out, text, strlen(text), why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs merge: cannot write %s: %s\n", out, why);
        rc = EXIT_IO;
        goto cleanup;
    }
    int counts[PECS_V_COUNT] = {0}, failed = pecs_results_count(cases, counts), unjudged = 0;
    printf("merged %d shard(s): %zu result(s) into %s\n", nf, json_array_size(cases), out);
    json_t *b;
    size_t bi;
    json_array_foreach(json_object_get(root, "backends"), bi, b)
    {
        const char *token = strcmp(jstr(b, "source"), "builtin") ? jstr(b, "source") : jstr(b, "name");
        int bc[PECS_V_COUNT] = {0}, nb = pecs_results_count_backend(cases, token, bc);
        if (nb > 0 && bc[PECS_V_SKIPPED] == nb) {
            printf("backend %s judged none of the %d cases: all SKIPPED\n", token, nb);
            unjudged++;
        }
    }
    printf("%d passed, %d failed, %d skipped\n", counts[PECS_V_PASSED], failed, counts[PECS_V_SKIPPED]);
    if (failed || unjudged)
        rc = EXIT_FAILURES;
cleanup:
    for (int s = 0; f && s < nf; s++)
        json_decref(f[s].root);
    free(f);
    json_decref(cases);
    json_decref(root);
    free(text);
    free(command);
    return rc;
}
