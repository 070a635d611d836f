/* harness/cli.h — the command line (pecs run | list | describe | eval | version). */
#ifndef PECS_CLI_H
#define PECS_CLI_H

/* Returns the process exit code: 0 ok, 1 failing cases, 2 bad input or usage, 3 results not written. */
int pecs_cli_main(int argc, char **argv);

#endif
