/* harness/cli/compare.c — pecs compare. */
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

/* ---- compare -------------------------------------------------------------------------------------------- */

static const char COMPARE_HELP[] =
    "usage: pecs compare A.json B.json [--threshold FRACTION] [--strict]   (one of them may be -: standard input)\n"
    "\n"
    "Compare two results files case by case, matched on backend and the exact case string. Regressions:\n"
    "  - a verdict that got worse: PASSED in A and SKIPPED, ERROR or any failing verdict in B (coverage\n"
    "    lost), or not failing in A and failing in B ('BROKEN', with both verdicts);\n"
    "  - a case of A missing from B ('MISSING'); cases only in B are listed ('NEW'), not regressions;\n"
    "  - a slowdown ('SLOWER'): B's p10 above A's p90 x (1 + --threshold), noisy or not; or, with neither\n"
    "    measurement noisy, the median more than --threshold slower (default 0.05). A noisy case slower only\n"
    "    by its median is marked 'noisy', not flagged.\n"
    "For cases timed in both: the ratio A/B of median times and its geometric mean per backend and encoding.\n"
    "\n"
    "First the two runs' metadata, field by field:\n"
    "  refused (exit 2)   a different schema or schema_version; a (backend, case) twice in one file\n"
    "  warned             a different pecs.version or pecs.git_commit, machine.cpu_model, suite file sha256\n"
    "                     (by path), tolerances.sha256, threads, thread_binding (OMP_PROC_BIND, OMP_PLACES,\n"
    "                     OMP_NUM_THREADS): 'warning: the runs differ in ...' on stderr, and the comparison goes on\n"
    "  --strict           every warning refuses the comparison instead (exit 2)\n"
    "Exit 0: no regression; 1: regressions; 2: bad input, or a comparison refused.\n";

int pecs_cmd_compare(int argc, char **argv)
{
    const char *files[2];
    int nf = 0, strict = 0;
    double threshold = 0.05;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
            fputs(COMPARE_HELP, stdout);
            return EXIT_OK;
        }
        if ((v = pecs_opt(argc, argv, &i, "--threshold", &missing))) {
            if (!pecs_parse_f64(v, &threshold) || threshold < 0 || threshold > 10)
                return cli_usage_error("compare", "--threshold takes a fraction in [0, 10] (0.05 = 5 %)");
        } else if (!strcmp(argv[i], "--strict")) {
            strict = 1;
        } else if (missing || (argv[i][0] == '-' && argv[i][1]) || nf == 2) { /* "-": standard input */
            return cli_usage_error("compare", "give two results files");
        } else {
            files[nf++] = argv[i];
        }
    }
    if (nf != 2)
        return cli_usage_error("compare", "give two results files");
    pecs_diff_summary sum;
    pecs_diff_opts o = {.threshold = threshold, .strict = strict, .out = stdout, .warn = stderr};
    char why[4096];
    pecs_status st = pecs_diff_results(files[0], files[1], &o, &sum, why, sizeof why);
    if (st != PECS_OK) {
        fprintf(stderr, "pecs compare: %s\n", st == PECS_NOMEM ? "out of memory" : why);
        return st == PECS_NOMEM ? EXIT_IO : EXIT_USAGE;
    }
    return sum.regressions || sum.status_regressions || sum.only_a ? EXIT_FAILURES : EXIT_OK;
}

