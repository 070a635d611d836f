/* harness/worker_main.c — the pecs-worker binary: runs an isolated backend for pecs (backends.h). */
#include "wire.h"

int main(int argc, char **argv) { return pecs_worker_main(argc, argv); }
