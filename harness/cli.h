/* harness/cli.h — the command line: pecs_cli_main dispatches to harness/cli/<command>.c. */
#ifndef PECS_CLI_H
#define PECS_CLI_H

/* Process exit codes, for commands implemented outside cli.c (cli.c's private EXIT_* have the same values). */
enum { PECS_EXIT_OK = 0, PECS_EXIT_FAILURES = 1, PECS_EXIT_USAGE = 2, PECS_EXIT_IO = 3 };

/* Returns the process exit code: 0 ok, 1 failing cases, 2 bad input or usage, 3 results not written. */
int pecs_cli_main(int argc, char **argv);

#endif
