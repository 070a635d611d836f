/* fuzz/fuzz_npy.c — libFuzzer target: the .npy reader on arbitrary bytes (what `pecs eval --in` reads). */
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pecs_npy a;
    char why[512];
    if (pecs_npy_read_mem("fuzz.npy", data, size, (size_t)1 << 26, &a, why, sizeof why) == PECS_OK)
        pecs_npy_free(&a);
    return 0;
}
