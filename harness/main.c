/* harness/main.c */
#include "cli.h"

int main(int argc, char **argv) { return pecs_cli_main(argc, argv); }
