/* harness/gen.c */
#include "gen.h"

#include <string.h>

static uint64_t splitmix64(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t pecs_gen_key(uint64_t seed, uint64_t stream)
{
    return splitmix64(splitmix64(seed) ^ stream);
}

uint64_t pecs_gen_u64(uint64_t seed, uint64_t stream, uint64_t index)
{
    return splitmix64(pecs_gen_key(seed, stream) ^ index);
}

double pecs_gen_uniform_k(uint64_t key, uint64_t index)
{
    return (double)(splitmix64(key ^ index) >> 11) * 0x1p-52 - 1.0;
}

double pecs_gen_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    return pecs_gen_uniform_k(pecs_gen_key(seed, stream), index);
}

/* One row per kind: f64, f32, f16, bf16 bit patterns. Signalling NaNs keep their payload in the low bits
 * (a conversion that only looks at the exponent, or rounds the payload away, turns them into Inf). */
static const struct {
    uint64_t f64;
    uint32_t f32;
    uint16_t f16, bf16;
} SPECIAL[PECS_GEN_N_SPECIAL] = {
    {UINT64_C(0x0000000000000000), 0x00000000u, 0x0000u, 0x0000u}, /* +0 */
    {UINT64_C(0x8000000000000000), 0x80000000u, 0x8000u, 0x8000u}, /* -0 */
    {UINT64_C(0x7ff0000000000000), 0x7f800000u, 0x7c00u, 0x7f80u}, /* +Inf */
    {UINT64_C(0xfff0000000000000), 0xff800000u, 0xfc00u, 0xff80u}, /* -Inf */
    {UINT64_C(0x7ff8000000001234), 0x7fc01234u, 0x7e12u, 0x7fc3u}, /* quiet NaN, payload */
    {UINT64_C(0x7ff0000000000123), 0x7f800123u, 0x7c05u, 0x7f81u}, /* signalling NaN, payload */
    {UINT64_C(0xfff8000000000042), 0xffc00042u, 0xfe01u, 0xffc1u}, /* negative quiet NaN */
    {UINT64_C(0x0000000000000001), 0x00000001u, 0x0001u, 0x0001u}, /* smallest subnormal */
    {UINT64_C(0x800fffffffffffff), 0x807fffffu, 0x83ffu, 0x807fu}, /* largest negative subnormal */
    {UINT64_C(0x0000012345678901), 0x00012345u, 0x0123u, 0x0012u}, /* a subnormal */
    {UINT64_C(0x7fefffffffffffff), 0x7f7fffffu, 0x7bffu, 0x7f7fu}, /* largest finite */
    {UINT64_C(0xffefffffffffffff), 0xff7fffffu, 0xfbffu, 0xff7fu}, /* -largest finite */
    {UINT64_C(0x0010000000000000), 0x00800000u, 0x0400u, 0x0080u}, /* smallest normal */
};

int pecs_gen_special_kind(int k, pecs_dtype dt, void *dst)
{
    if (k < 0 || k >= PECS_GEN_N_SPECIAL)
        return 0;
    switch (dt) {
    case PECS_DT_F64: memcpy(dst, &SPECIAL[k].f64, 8); return 1;
    case PECS_DT_F32: memcpy(dst, &SPECIAL[k].f32, 4); return 1;
    case PECS_DT_F16: memcpy(dst, &SPECIAL[k].f16, 2); return 1;
    case PECS_DT_BF16: memcpy(dst, &SPECIAL[k].bf16, 2); return 1;
    default: return 0;
    }
}

int pecs_gen_special(uint64_t seed, uint64_t stream, uint64_t index, uint64_t row_len, pecs_dtype dt, void *dst)
{
    /* its own counter range of the stream, per row: independent of the elements' uniform values */
    uint64_t n = row_len ? row_len : 1, h = pecs_gen_u64(seed, stream ^ UINT64_C(0x5350454349414c00), index / n);
    if (index % n != h % n)
        return 0;
    return pecs_gen_special_kind((int)((h >> 32) % PECS_GEN_N_SPECIAL), dt, dst);
}
