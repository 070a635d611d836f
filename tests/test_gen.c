/* tests/test_gen.c — the deterministic counter-based generator (harness/gen.h): pinned golden values,
 * the splitmix64 construction, range and grid of the uniforms, independence of seeds/streams/indices,
 * and first and second moments. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>

#include "gen.h"

/* Golden values computed once from the generator as specified (splitmix64 of a mixed counter). Any
 * change to the generator changes every case's inputs and breaks results comparability across
 * versions, so it must be deliberate: these catch it. */
static const struct {
    uint64_t seed, stream, index, u64;
    double uniform;
} GOLDEN[] = {
    {0u, 0u, 0u, UINT64_C(0x238275bc38fcbe91), -0x1.71f6290f1c0d2p-1},
    {0u, 0u, 1u, UINT64_C(0x2f32a78496c67c60), -0x1.433561eda4e62p-1},
    {1u, 0u, 0u, UINT64_C(0xb18a02f46d8d86c3), 0x1.8c5017a36c6cp-2},
    {42u, 0u, 0u, UINT64_C(0x6310bf04d8207f46), -0x1.cef40fb27df88p-3},
    {42u, 1u, 0u, UINT64_C(0x93be8420bb55b94c), 0x1.3be8420bb55b8p-3},
    {42u, 2u, 7u, UINT64_C(0xef5e260bc49c3c6f), 0x1.bd78982f1270ep-1},
    {42u, 3u, 123456789u, UINT64_C(0x99d8c1103d2144c1), 0x1.9d8c1103d214p-3},
    {20240607u, 0u, 1000000u, UINT64_C(0xe7f79b72c70a0e48), 0x1.9fde6dcb1c282p-1},
    {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_C(0x595b17f487c0e71b), -0x1.3527405bc1f9p-2},
    {7u, 0u, UINT64_C(0x100000000), UINT64_C(0x06ef069c05f72843), -0x1.e443e58fe8236p-1},
};
#define N_GOLDEN (sizeof GOLDEN / sizeof GOLDEN[0])

/* Independent splitmix64 (Vigna), to pin the construction rather than only sampled outputs. */
static uint64_t sm64(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Catches any change to the integer generator (constants, mixing order, a 32-bit truncation of the
 * index: the last row uses index 2^32). */
Test(gen, u64_golden_values)
{
    for (size_t k = 0; k < N_GOLDEN; k++) {
        uint64_t got = pecs_gen_u64(GOLDEN[k].seed, GOLDEN[k].stream, GOLDEN[k].index);
        cr_assert_eq(got, GOLDEN[k].u64, "u64(%llu, %llu, %llu) = 0x%016llx, golden 0x%016llx",
                     (unsigned long long)GOLDEN[k].seed, (unsigned long long)GOLDEN[k].stream,
                     (unsigned long long)GOLDEN[k].index, (unsigned long long)got, (unsigned long long)GOLDEN[k].u64);
    }
}

/* Catches a change to the u64 -> double mapping (bits kept, scaling, offset). */
Test(gen, uniform_golden_values)
{
    for (size_t k = 0; k < N_GOLDEN; k++) {
        double got = pecs_gen_uniform(GOLDEN[k].seed, GOLDEN[k].stream, GOLDEN[k].index);
        cr_assert_eq(got, GOLDEN[k].uniform, "uniform(%llu, %llu, %llu) = %a, golden %a",
                     (unsigned long long)GOLDEN[k].seed, (unsigned long long)GOLDEN[k].stream,
                     (unsigned long long)GOLDEN[k].index, got, GOLDEN[k].uniform);
    }
}

/* u64(seed, stream, index) = sm(sm(sm(seed) ^ stream) ^ index), and sm is the published splitmix64
 * (its first output from state 0 is 0xe220a8397b1dcdaf). Catches a swapped mixing order (stream and
 * index exchanged) that the sampled golden values might miss. */
Test(gen, u64_is_nested_splitmix64)
{
    cr_assert_eq(sm64(0), UINT64_C(0xe220a8397b1dcdaf), "the test's own splitmix64 is wrong");
    for (uint64_t i = 0; i < 4096; i++) {
        uint64_t seed = sm64(i * 3 + 1), stream = i % 5, index = sm64(i) >> (i % 64);
        uint64_t expect = sm64(sm64(sm64(seed) ^ stream) ^ index);
        cr_assert_eq(pecs_gen_u64(seed, stream, index), expect, "triple %llu", (unsigned long long)i);
    }
}

/* Every uniform is in [-1, 1), a multiple of 2^-52 (53 random bits, exact in double, no rounding) and
 * equals (u64 >> 11) * 2^-52 - 1. Catches a [0, 1) mapping, dividing by 2^53 - 1 (values off the grid,
 * and 1.0 reachable), or using the low bits. */
Test(gen, uniform_range_and_grid)
{
    for (uint64_t i = 0; i < 100000; i++) {
        uint64_t s = i % 7, st = i % 4;
        double v = pecs_gen_uniform(s, st, i);
        cr_assert(v >= -1.0 && v < 1.0, "uniform(%llu) = %a out of [-1, 1)", (unsigned long long)i, v);
        double scaled = ldexp(v, 52);
        cr_assert_eq(scaled, floor(scaled), "uniform(%llu) = %a is not a multiple of 2^-52", (unsigned long long)i, v);
        uint64_t u = pecs_gen_u64(s, st, i);
        cr_assert_eq(v, (double)(u >> 11) * 0x1p-52 - 1.0, "uniform(%llu) is not the top 53 bits of u64",
                     (unsigned long long)i);
    }
}

/* A pure function of (seed, stream, index): the same call gives the same value in any order, and
 * changing any one coordinate changes the value (all 4 x 4 x 256 values distinct). Catches hidden
 * state (a stateful PRNG), a stream or seed that is ignored, and index aliasing. */
Test(gen, deterministic_and_distinct)
{
    enum { NS = 4, NT = 4, NI = 256, N = NS * NT * NI };
    static uint64_t vals[N];
    static const uint64_t seeds[NS] = {0, 1, 42, UINT64_C(0x8000000000000000)};
    static const uint64_t streams[NT] = {PECS_STREAM_X, PECS_STREAM_K, PECS_STREAM_POS, PECS_STREAM_KPOS};
    int n = 0;
    for (int a = 0; a < NS; a++)
        for (int b = 0; b < NT; b++)
            for (int c = 0; c < NI; c++)
                vals[n++] = pecs_gen_u64(seeds[a], streams[b], (uint64_t)c);
    /* again, in reverse order: identical */
    for (int a = NS - 1; a >= 0; a--)
        for (int b = NT - 1; b >= 0; b--)
            for (int c = NI - 1; c >= 0; c--) {
                int k = (a * NT + b) * NI + c;
                cr_assert_eq(pecs_gen_u64(seeds[a], streams[b], (uint64_t)c), vals[k], "not deterministic at %d", k);
                cr_assert_eq(pecs_gen_uniform(seeds[a], streams[b], (uint64_t)c),
                             (double)(vals[k] >> 11) * 0x1p-52 - 1.0);
            }
    /* all distinct (a 64-bit collision among 4096 values has probability ~5e-13) */
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            cr_assert_neq(vals[i], vals[j], "values %d and %d collide: 0x%016llx", i, j, (unsigned long long)vals[i]);
    /* the uniforms differ too across each coordinate */
    cr_assert_neq(pecs_gen_uniform(5, 0, 0), pecs_gen_uniform(6, 0, 0), "seed ignored");
    cr_assert_neq(pecs_gen_uniform(5, 0, 0), pecs_gen_uniform(5, 1, 0), "stream ignored");
    cr_assert_neq(pecs_gen_uniform(5, 0, 0), pecs_gen_uniform(5, 0, 1), "index ignored");
    cr_assert_neq(pecs_gen_uniform(5, 1, 2), pecs_gen_uniform(5, 2, 1), "stream and index interchangeable");
}

/* Mean of 1e5 draws within 0.01 of 0 and variance within 0.01 of 1/3 (the standard error of the mean
 * is ~0.0018), for a few seed/stream pairs. Catches a [0, 1) range (mean 0.5), a [-0.5, 0.5) range
 * (variance 1/12) and gross bias. */
Test(gen, uniform_moments)
{
    static const uint64_t pairs[][2] = {{0, PECS_STREAM_X}, {1, PECS_STREAM_K}, {20240607, PECS_STREAM_POS}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        double sum = 0.0, sum2 = 0.0;
        const int n = 100000;
        for (int i = 0; i < n; i++) {
            double v = pecs_gen_uniform(pairs[p][0], pairs[p][1], (uint64_t)i);
            sum += v;
            sum2 += v * v;
        }
        double mean = sum / n, var = sum2 / n - mean * mean;
        cr_assert(fabs(mean) < 0.01, "seed %llu stream %llu: mean %g", (unsigned long long)pairs[p][0],
                  (unsigned long long)pairs[p][1], mean);
        cr_assert(fabs(var - 1.0 / 3.0) < 0.01, "seed %llu stream %llu: variance %g", (unsigned long long)pairs[p][0],
                  (unsigned long long)pairs[p][1], var);
    }
}

/* Bits are balanced: over 1e5 draws each of the 64 bits is set 50% +- 1.5% of the time. Catches a
 * mixer that leaves low or high bits constant (e.g. an index that only reaches the low word). */
Test(gen, u64_bit_balance)
{
    static uint32_t ones[64];
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        uint64_t u = pecs_gen_u64(3, PECS_STREAM_X, (uint64_t)i);
        for (int b = 0; b < 64; b++)
            ones[b] += (uint32_t)((u >> b) & 1u);
    }
    for (int b = 0; b < 64; b++)
        cr_assert(fabs((double)ones[b] / n - 0.5) < 0.015, "bit %d set in %u of %d draws", b, ones[b], n);
}

/* The per-stream key gives the same values as the three-hash form (the instance fills tensors with it):
 * catches a key that mixes seed and stream in another order or forgets one of them. */
Test(gen, keyed_uniform_equals_uniform)
{
    for (uint64_t seed = 0; seed < 5; seed++)
        for (uint64_t stream = 0; stream < 6; stream++) {
            uint64_t key = pecs_gen_key(seed * 0x9e3779b97f4a7c15u, stream);
            for (uint64_t i = 0; i < 1000; i += 7)
                cr_assert_eq(pecs_gen_uniform_k(key, i), pecs_gen_uniform(seed * 0x9e3779b97f4a7c15u, stream, i),
                             "seed %llu stream %llu index %llu", (unsigned long long)seed, (unsigned long long)stream,
                             (unsigned long long)i);
        }
    cr_assert_neq(pecs_gen_key(1, 2), pecs_gen_key(2, 1));
}
