/* harness/cli/list.c — pecs list. */
#include <dirent.h>
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

/* ---- list ---------------------------------------------------------------------------------------------- */

static const char LIST_HELP[] =
    "usage: pecs list encodings [--tier N] [--status S] | backends | cases [--filter RE] [--tolerances FILE] SUITE.yaml ...\n"
    "\n"
    "  encodings   every id of the catalogue (docs/encodings.md): id, kernel form, tier, status, expected\n"
    "              invariance, the backends with a kernel for it, summary. Status: implemented (a\n"
    "              reference), undefined (no public source defines it exactly: `pecs describe ID` says what\n"
    "              was searched), defined (a source defines it, not implemented yet) or unchecked (tier 2,\n"
    "              sources not checked yet). --tier 1|2|3 and --status keep only those rows\n"
    "  backends    the built-in backends (plugins are given by path to --backend)\n"
    "  cases       expand suites into their canonical case strings (validates the suites, including every\n"
    "              case's tolerance profile against the tolerance file `pecs run` would use, or --tolerances\n"
    "              FILE; runs nothing); --filter RE keeps the cases matching the extended regular\n"
    "              expression RE, as `pecs run --filter` does\n";

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

int pecs_cmd_list(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(LIST_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "encodings")) {
        int tier = 0; /* 0: every tier */
        const char *status = NULL;
        for (int i = 2; i < argc; i++) {
            int missing = 0;
            const char *v;
            if ((v = pecs_opt(argc, argv, &i, "--tier", &missing)) != NULL) {
                char *end;
                long t = strtol(v, &end, 10);
                if (*end || t < 1 || t > 3)
                    return cli_usage_error("list", "--tier takes 1, 2 or 3");
                tier = (int)t;
            } else if ((v = pecs_opt(argc, argv, &i, "--status", &missing)) != NULL) {
                if (strcmp(v, "implemented") && strcmp(v, "undefined") && strcmp(v, "defined") && strcmp(v, "unchecked"))
                    return cli_usage_error("list", "--status takes implemented, undefined, defined or unchecked");
                status = v;
            } else
                return cli_usage_error("list", missing ? "--tier and --status need a value"
                                                       : "'list encodings' takes --tier N and --status S");
        }
        printf("%-20s %-7s %-4s %-11s %-16s %-10s %s\n", "id", "form", "tier", "status", "invariant", "kernels", "summary");
        for (int i = 0; i < PECS_ENC_COUNT; i++) {
            const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
            if ((tier && e->tier != tier) || (status && strcmp(status, "implemented")))
                continue;
            char k[128];
            kernels_for(e, k, sizeof k);
            printf("%-20s %-7s T%-3d %-11s %-16s %-10s %s\n", e->id, pecs_form_name(e->form), e->tier, "implemented",
                   pecs_invariance_name(e->invariance), k, e->summary);
        }
        /* Catalogued ids without a reference: listed so the catalogue and this list agree (no kernels). */
        for (int i = 0; i < pecs_registry_n_catalogued(); i++) {
            const pecs_catalogued *c = pecs_registry_catalogued(i);
            const char *st = pecs_cat_status_name(c->status);
            if ((tier && c->tier != tier) || (status && strcmp(status, st)))
                continue;
            printf("%-20s %-7s T%-3d %-11s %-16s %-10s %s\n", c->id, pecs_form_name(c->form), c->tier, st,
                   c->invariance, "-", c->summary);
        }
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "backends")) {
        if (argc > 2)
            return cli_usage_error("list", "'list backends' takes no options (plugins are listed by `pecs run --backend PATH`)");
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
        const char *files[MAX_ARGS], *tol_given = NULL, *filter = NULL;
        regex_t re;
        int n_files = 0, rc = EXIT_OK;
        for (int i = 2; i < argc; i++) {
            int missing = 0;
            const char *v = pecs_opt(argc, argv, &i, "--tolerances", &missing), *f = NULL;
            if (v)
                tol_given = v;
            else if (!missing && (f = pecs_opt(argc, argv, &i, "--filter", &missing)))
                filter = f;
            else if (missing || argv[i][0] == '-' || n_files == MAX_ARGS)
                return cli_usage_error("list", missing ? "an option is missing its value"
                                                       : "'list cases' takes suite files, --filter RE and --tolerances FILE");
            else
                files[n_files++] = argv[i];
        }
        if (!n_files)
            return cli_usage_error("list", "'list cases' needs suite files");
        if (filter && regcomp(&re, filter, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stderr, "pecs list: --filter '%s' is not an extended regular expression\n", filter);
            return EXIT_USAGE;
        }
        /* The profiles are checked against the tolerance file a run would use: bad input here, not an ERROR
         * per case at run time. */
        char tolbuf[PATH_MAX], why[4096];
        pecs_tolerances tols;
        if (pecs_tol_load(&tols, cli_find_tolerances(tol_given, tolbuf, sizeof tolbuf), why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs list: %s\n", why);
            return EXIT_USAGE;
        }
        for (int i = 0; i < n_files && rc == EXIT_OK; i++) {
            pecs_suite s;
            char path[PATH_MAX]; /* a file, else a suite name in the data search path (datapath.h) */
            if (pecs_data_suite(files[i], path, sizeof path, why, sizeof why) != PECS_OK ||
                pecs_suite_load_checked(&s, path, &tols, why, sizeof why) != PECS_OK) {
                fprintf(stderr, "pecs list: %s\n", why);
                rc = EXIT_USAGE;
                break;
            }
            int shown = 0;
            for (int k = 0; k < s.n_cases; k++)
                if (!filter || regexec(&re, s.cases[k], 0, NULL, 0) == 0) {
                    printf("%s\n", s.cases[k]);
                    shown++;
                }
            fflush(stdout); /* the count after the cases, also when both go to one file */
            if (s.library)
                fprintf(stderr, "%s: an include library (shapes, sets, models), not a suite: no cases\n", path);
            else if (filter)
                fprintf(stderr, "%s: %d of %d cases match --filter\n", path, shown, s.n_cases);
            else
                fprintf(stderr, "%s: %d cases\n", path, s.n_cases);
            pecs_suite_free(&s);
        }
        pecs_tol_free(&tols);
        if (filter)
            regfree(&re);
        return rc;
    }
    return cli_usage_error("list", "list what? encodings, backends or cases");
}

