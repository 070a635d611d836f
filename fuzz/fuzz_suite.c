/* fuzz/fuzz_suite.c — libFuzzer target: the YAML suite loader and expander on arbitrary bytes.
 * Any input must give PECS_OK or an error message, never a crash, a hang or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/pecs-fuzz-suite-%ld.yaml", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    pecs_suite s;
    char why[1024];
    if (pecs_suite_load(&s, path, why, sizeof why) == PECS_OK)
        pecs_suite_free(&s);
    return 0;
}
