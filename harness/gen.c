/* harness/gen.c */
#include "gen.h"

static uint64_t splitmix64(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t pecs_gen_u64(uint64_t seed, uint64_t stream, uint64_t index)
{
    return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index);
}

double pecs_gen_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    return (double)(pecs_gen_u64(seed, stream, index) >> 11) * 0x1p-52 - 1.0;
}
