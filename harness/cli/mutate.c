/* harness/cli/mutate.c — pecs mutate. */
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

/* ---- mutate ---------------------------------------------------------------------------------------------- */

static const char MUTATE_HELP[] =
    "usage: pecs mutate [SUITE.yaml ...] [--dir DIR] [--backend B ...] [--level L]\n"
    "\n"
    "Proof that the suites bite: run every mutant (DIR/libpecs-mutant-*.so, default: mutants/ in the data\n"
    "search path: build/mutants next to a pecs in its build tree, PREFIX/lib/pecs/mutants installed) over the\n"
    "suites (files, or names looked up in the search path like pecs run's; default: smoke, the four t1-*\n"
    "suites, invariance and t1-pairwise; each mutant runs the cases of its own encoding first, then the rest,\n"
    "each part round-robin over encoding-and-parameter groups, so a mutant meets its bug early). The search\n"
    "path: PECS_DATA_PATH, the source tree, the install prefix. A mutant is\n"
    "CAUGHT when one of\n"
    "its cases FAILS or is an ERROR (the run of that mutant stops there and prints the case's reproducer).\n"
    "The control (mutant-none: the mutants' kernel without a bug) and every correct backend (--backend,\n"
    "default: all built-ins; none: the control only) must pass every case: anything else is a FALSE ALARM.\n"
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

/* Mutant `name`'s ("mutant-<row>") row of impls/mutants/mutants.def, the one table; NULL for a mutant this pecs
 * does not know. */
static const struct mutant_row {
    const char *name, *cls, *levels;
} *mutant_row(const char *name)
{
    static const struct mutant_row rows[] = {
#define MUTANT(row, cls, what, levels) {"mutant-" #row, cls, levels},
#include "../impls/mutants/mutants.def"
#undef MUTANT
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!strcmp(rows[i].name, name))
            return &rows[i];
    return NULL;
}

/* Is mutant `name` a bug at `level`? (One this pecs does not know is judged at every level.) */
static int mutant_bug_at(const char *name, const char *level)
{
    const struct mutant_row *r = mutant_row(name);
    return !r || !strcmp(r->levels, "all") || !strcmp(r->levels, level);
}

/* The order one mutant runs the cases in: those of the encoding its bug is in (its mutants.def class) first, then
 * the rest, each part in the interleaved order. Only the time to the first failure changes: a mutant is CAUGHT
 * when any case fails, and a MISSED one runs every case either way. */
static void target_first(char **cases, int n, const char *name, char **order)
{
    const struct mutant_row *r = mutant_row(name);
    size_t l = r ? strlen(r->cls) : 0;
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            int hit = r && !strncmp(cases[i], r->cls, l) && (cases[i][l] == ' ' || cases[i][l] == '\0');
            if (hit == !pass)
                order[k++] = cases[i];
        }
}

int pecs_cmd_mutate(int argc, char **argv)
{
    const char *suites_arg[MAX_ARGS], *backends[MAX_ARGS], *dir = NULL, *level = NULL;
    int n_suites_arg = 0, n_backends = 0, rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
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
            return cli_usage_error("mutate", missing ? "an option is missing its value" : "unknown option");
        else if (n_suites_arg < MAX_ARGS)
            suites_arg[n_suites_arg++] = argv[i];
    }
    /* Names, looked up in the data search path (cli_inputs_load) unless such a file is in the current directory. */
    static const char *const default_suites[] = {"smoke", "t1-rotate", "t1-multiaxis", "t1-bias", "t1-other", "invariance",
                                                 "t1-pairwise"};
    if (!n_suites_arg)
        for (size_t k = 0; k < sizeof default_suites / sizeof default_suites[0]; k++)
            suites_arg[n_suites_arg++] = default_suites[k];
    char dirbuf[PATH_MAX], dirwhy[4096];
    if (!dir) { /* mutants/ in the data search path (harness/datapath.h) */
        if (pecs_data_find(PECS_DATA_LIB, "mutants", dirbuf, sizeof dirbuf, dirwhy, sizeof dirwhy) != PECS_OK) {
            fprintf(stderr, "pecs mutate: %s (build them with: make mutants; or give --dir DIR)\n", dirwhy);
            return EXIT_USAGE;
        }
        dir = dirbuf;
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
    for (int i = 0; i < n_backends; i++)
        if (!strcmp(backends[i], "none")) { /* the control only (tests run the built-ins' own conformance) */
            if (n_backends > 1)
                return cli_usage_error("mutate", "--backend none cannot be combined with other backends");
            n_backends = 0;
        }
    run_inputs in;
    pecs_loaded_backend correct[MAX_ARGS];
    int n_mut = 0, n_correct = 0;
    char **muts = NULL, **order = NULL, why[1024], first[2048];
    if ((rc = cli_inputs_load("mutate", &cfg, &in)) != EXIT_OK ||
        (rc = cli_backends_load("mutate", backends, n_backends, &(pecs_backend_opts){-1, 60.0, 0}, correct, &n_correct)) != EXIT_OK)
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
    order = malloc((size_t)(in.n_cases ? in.n_cases : 1) * sizeof *order);
    if (!order) {
        fprintf(stderr, "pecs mutate: out of memory\n");
        rc = EXIT_IO;
        goto cleanup;
    }
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
        target_first(in.cases, in.n_cases, lb.id.name, order);
        int failed = run_all(&lb, order, in.n_cases, &o, !control, first, sizeof first, &ran);
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
    free(order);
    for (int i = 0; i < n_correct; i++)
        pecs_backend_unload(&correct[i]);
    cli_inputs_free(&in);
    return rc;
}

