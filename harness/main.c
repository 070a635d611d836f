/* harness/main.c — the pecs binary.
 *
 * Timed work (run --mode perf|all, calibrate) wants OpenMP threads pinned: an unpinned thread that the
 * scheduler moves mid-case loses its caches and its memory locality, and the timing with it. The OpenMP
 * runtime reads OMP_PROC_BIND / OMP_PLACES when it is loaded, before main, so when neither is set pecs
 * sets OMP_PROC_BIND=close, OMP_PLACES=cores and executes itself again (once: the variables are then
 * set). The results record the binding that applied. Set either variable yourself to choose another, or
 * PECS_NO_PIN=1 to leave the runtime's default.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int timed(int argc, char **argv)
{
    if (argc < 2)
        return 0;
    if (!strcmp(argv[1], "calibrate"))
        return 1;
    if (strcmp(argv[1], "run"))
        return 0;
    for (int i = 2; i < argc; i++) {
        const char *m = NULL;
        if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            m = argv[i + 1];
        else if (!strncmp(argv[i], "--mode=", 7))
            m = argv[i] + 7;
        if (m && (!strcmp(m, "perf") || !strcmp(m, "all")))
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (timed(argc, argv) && !getenv("OMP_PROC_BIND") && !getenv("OMP_PLACES") && !getenv("PECS_NO_PIN")) {
        setenv("OMP_PROC_BIND", "close", 1);
        setenv("OMP_PLACES", "cores", 1);
        execv("/proc/self/exe", argv); /* returns only on failure: then run unpinned, as before */
        unsetenv("OMP_PROC_BIND");
        unsetenv("OMP_PLACES");
    }
    return pecs_cli_main(argc, argv);
}
