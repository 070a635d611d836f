/* harness/cli.c — the pecs command line: the command table; each command is in harness/cli/<command>.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"

/* ---- main ------------------------------------------------------------------------------------------------ */

static const char MAIN_HELP[] =
    "pecs — Positional Encoding Conformance Suite\n"
    "\n"
    "usage: pecs COMMAND [options]      (pecs help COMMAND, or pecs COMMAND --help, for each)\n"
    "  run        run suites or single cases on backends; results JSON; exit status for CI\n"
    "  list       list encodings, backends, or the cases a suite expands to\n"
    "  describe   an encoding's parameters, tensors, invariance and source\n"
    "  eval       evaluate the reference or a backend on .npy tensors\n"
    "  mutate     run the mutants: the mutation score of the suites, and no false alarms\n"
    "  coverage   pairwise coverage of the suites per encoding; --generate writes the missing cases\n"
    "  compare    two results files case by case: speed ratios, regressions (exit status for CI)\n"
    "  merge      join the results of the shards of a run (run --shard K/N) into one results file\n"
    "  report     render results files as Markdown, CSV, JUnit XML or an HTML page (results/)\n"
    "  calibrate  the machine's memory bandwidth (STREAM-style) for roofline fractions\n"
    "  certify    certify a backend against a certification profile: a certificate directory\n"
    "  verify     check a certificate (hashes, consistency; --rerun: every verdict again on the plugin)\n"
    "  version    print the version and build\n";

int pecs_cli_main(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(MAIN_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help")) { /* pecs help CMD == pecs CMD --help */
        if (argc < 3) {
            fputs(MAIN_HELP, stdout);
            return EXIT_OK;
        }
        if (argc > 3 || !strcmp(argv[2], "help") || !strcmp(argv[2], "version")) {
            fprintf(stderr, "pecs help: give one command, e.g. pecs help run\n\n%s", MAIN_HELP);
            return EXIT_USAGE;
        }
        char help_flag[] = "--help";
        char *sub[] = {argv[0], argv[2], help_flag, NULL};
        return pecs_cli_main(3, sub);
    }
    if (!strcmp(cmd, "run"))
        return pecs_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "list"))
        return pecs_cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "describe"))
        return pecs_cmd_describe(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval"))
        return pecs_cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "mutate"))
        return pecs_cmd_mutate(argc - 1, argv + 1);
    if (!strcmp(cmd, "coverage"))
        return pecs_cmd_coverage(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return pecs_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge"))
        return pecs_cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return pecs_report_cmd(argc - 1, argv + 1);
    if (!strcmp(cmd, "certify"))
        return pecs_cmd_certify(argc - 1, argv + 1);
    if (!strcmp(cmd, "verify"))
        return pecs_cmd_verify(argc - 1, argv + 1);
    if (!strcmp(cmd, "calibrate"))
        return pecs_cmd_calibrate(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("pecs %s (%s)\n  flags: %s\n  compiler: %s\n  counters: %s\n", pecs_version, pecs_git_commit,
               pecs_build_flags, __VERSION__, pecs_counters_describe());
        return EXIT_OK;
    }
    fprintf(stderr, "pecs: unknown command '%s'\n\n%s", cmd, MAIN_HELP);
    return EXIT_USAGE;
}

