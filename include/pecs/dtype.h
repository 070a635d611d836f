/* pecs/dtype.h — element types and their conversions (header-only, shared by host and plugins).
 *
 * Storage types:
 *   F64  IEEE binary64            F32  IEEE binary32
 *   F16  IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa; max finite 65504, min normal 2^-14,
 *        min subnormal 2^-24.
 *   BF16 bfloat16: the top 16 bits of a binary32: 1 sign, 8 exponent (bias 127), 7 mantissa.
 *   I32, I64  two's complement integers (positions only).
 *
 * Conversion contract (tested exhaustively over all 65536 bit patterns in tests/test_dtype.c):
 *   - narrowing conversions round to nearest, ties to even, with gradual underflow and overflow to
 *     infinity (a value >= max finite + half an ulp becomes inf);
 *   - NaN stays NaN (quiet), sign kept; infinities keep their sign;
 *   - f64 -> f16 and f64 -> bf16 round ONCE from the double (never through f32, which would round twice);
 *   - widening conversions (f16/bf16 -> f32 -> f64) are exact.
 *   The rounding is done with integer arithmetic on the bits, so it does not depend on the
 *   floating-point rounding mode.
 */
#ifndef PECS_DTYPE_H
#define PECS_DTYPE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* X(ENUM, name, size in bytes, is_float) */
#define PECS_DTYPE_LIST(X) \
    X(F64,  "f64",  8, 1)  \
    X(F32,  "f32",  4, 1)  \
    X(F16,  "f16",  2, 1)  \
    X(BF16, "bf16", 2, 1)  \
    X(I32,  "i32",  4, 0)  \
    X(I64,  "i64",  8, 0)

typedef enum pecs_dtype {
#define PECS_X_(e, n, s, f) PECS_DT_##e,
    PECS_DTYPE_LIST(PECS_X_)
#undef PECS_X_
    PECS_DT_COUNT_
} pecs_dtype;

static inline const char *pecs_dtype_name(pecs_dtype t)
{
    switch (t) {
#define PECS_X_(e, n, s, f) case PECS_DT_##e: return n;
        PECS_DTYPE_LIST(PECS_X_)
#undef PECS_X_
    default: return "?";
    }
}

static inline size_t pecs_dtype_size(pecs_dtype t)
{
    switch (t) {
#define PECS_X_(e, n, s, f) case PECS_DT_##e: return s;
        PECS_DTYPE_LIST(PECS_X_)
#undef PECS_X_
    default: return 0;
    }
}

static inline int pecs_dtype_is_float(pecs_dtype t)
{
    switch (t) {
#define PECS_X_(e, n, s, f) case PECS_DT_##e: return f;
        PECS_DTYPE_LIST(PECS_X_)
#undef PECS_X_
    default: return 0;
    }
}

/* Machine epsilon (distance from 1 to the next value) of a float dtype. */
static inline double pecs_dtype_eps(pecs_dtype t)
{
    switch (t) {
    case PECS_DT_F64: return 0x1p-52;
    case PECS_DT_F32: return 0x1p-23;
    case PECS_DT_F16: return 0x1p-10;
    case PECS_DT_BF16: return 0x1p-7;
    default: return 0.0;
    }
}

/* ---- binary32 <-> binary16 / bfloat16 (fast paths used by kernels) -------------------------------- */

static inline uint16_t pecs_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) /* inf stays inf; NaN becomes a quiet NaN keeping the top payload bits */
        return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? (0x200u | ((a >> 13) & 0x3ffu)) : 0u));
    if (a >= 0x477ff000u) /* >= 65520 = 65504 + half an ulp: ties to even go up, to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* normal in f16 (>= 2^-14) */
        a += 0xfffu + ((a >> 13) & 1u); /* ties to even on the 13 dropped bits; carry may bump the exponent */
        a -= 0x38000000u;               /* exponent bias 127 -> 15 */
        return (uint16_t)(sign | (a >> 13));
    }
    if (a <= 0x33000000u) /* <= 2^-25, half the smallest subnormal: ties to even -> zero */
        return sign;
    /* subnormal in f16: value = m * 2^-24 */
    uint32_t e = a >> 23;
    uint32_t mant = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14 .. 24 */
    uint32_t m = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (m & 1u)))
        m++; /* m == 0x400 encodes the smallest normal, which is right */
    return (uint16_t)(sign | m);
}

static inline float pecs_f16_to_f32(uint16_t h)
{
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t e = ((uint32_t)h >> 10) & 0x1fu;
    uint32_t m = (uint32_t)h & 0x3ffu;
    uint32_t x;
    if (e == 0x1fu) {
        x = sign | 0x7f800000u | (m << 13);
    } else if (e != 0) {
        x = sign | ((e + 112u) << 23) | (m << 13);
    } else if (m == 0) {
        x = sign;
    } else { /* subnormal: exact as a binary32 normal */
        float v = (float)m * 0x1p-24f;
        memcpy(&x, &v, sizeof x);
        x |= sign;
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static inline uint16_t pecs_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);        /* ties to even; overflow carries into inf */
    return (uint16_t)(x >> 16);
}

static inline float pecs_bf16_to_f32(uint16_t b)
{
    uint32_t x = (uint32_t)b << 16;
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/* ---- binary64 -> f16 / bf16 with a single rounding (used by the oracle side) ------------------------ */

/* x to the bit pattern of a binary format with p significant bits, `ebits` exponent bits and exponent bias `bias`
 * (sign in bit ebits + p - 1), rounded once, to nearest with ties to even, with gradual underflow and overflow to
 * infinity. Integer arithmetic on x's bits: the 53-bit significand M (x = M 2^(e-52)) is shifted to the target's
 * quantum 2^(E-p+1), E = max(e, 1 - bias), and the dropped bits decide the rounding; the result's bits are
 * ((E - emin) << (p - 1)) + n for either a normal or a subnormal result (a carry out of the significand moves
 * into the exponent field, as it must). NaN becomes the quiet NaN without payload, sign kept. (The tests hold it
 * to MPFR's rounding; it replaced a frexp/ldexp version that took a third of a T1 suite run's CPU time.) */
static inline uint16_t pecs_f64_to_small_(double x, int p, int ebits, int bias)
{
    uint64_t u, n, M;
    memcpy(&u, &x, sizeof u);
    const uint16_t sign = (uint16_t)((u >> 63) << (ebits + p - 1));
    const uint64_t inf = (uint64_t)((1u << ebits) - 1u) << (p - 1);
    const int be = (int)((u >> 52) & 0x7ff), emin = 1 - bias;
    if (be == 0x7ff) /* inf, or NaN (quiet) */
        return (uint16_t)(sign | inf | ((u << 12) ? 1u << (p - 2) : 0u));
    if (be == 0) /* zero, or a double subnormal: far below half the smallest subnormal of either format */
        return sign;
    const int e = be - 1023;
    if (e > bias) /* at least twice the largest finite value */
        return (uint16_t)(sign | inf);
    const int E = e < emin ? emin : e, s = (E - e) + 53 - p; /* s >= 53 - p >= 42 */
    M = (u & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
    if (s > 63)
        n = 0;
    else {
        const uint64_t rem = M & ((UINT64_C(1) << s) - 1), half = UINT64_C(1) << (s - 1);
        n = M >> s;
        if (rem > half || (rem == half && (n & 1)))
            n++;
    }
    const uint64_t bits = ((uint64_t)(E - emin) << (p - 1)) + n;
    return (uint16_t)(sign | (bits >= inf ? inf : bits));
}

static inline uint16_t pecs_f64_to_f16(double x)
{
    return pecs_f64_to_small_(x, 11, 5, 15);
}

static inline uint16_t pecs_f64_to_bf16(double x)
{
    return pecs_f64_to_small_(x, 8, 8, 127);
}

/* ---- element access by dtype (i = linear element index, already multiplied out from strides) -------- */

static inline double pecs_load_f64(const void *base, pecs_dtype t, int64_t i)
{
    switch (t) {
    case PECS_DT_F64: return ((const double *)base)[i];
    case PECS_DT_F32: return (double)((const float *)base)[i];
    case PECS_DT_F16: return (double)pecs_f16_to_f32(((const uint16_t *)base)[i]);
    case PECS_DT_BF16: return (double)pecs_bf16_to_f32(((const uint16_t *)base)[i]);
    case PECS_DT_I32: return (double)((const int32_t *)base)[i];
    case PECS_DT_I64: return (double)((const int64_t *)base)[i];
    default: return NAN;
    }
}

/* Store a double, rounding once to the storage type (integers: caller passes exact integers). */
static inline void pecs_store_f64(void *base, pecs_dtype t, int64_t i, double v)
{
    switch (t) {
    case PECS_DT_F64: ((double *)base)[i] = v; break;
    case PECS_DT_F32: ((float *)base)[i] = (float)v; break;
    case PECS_DT_F16: ((uint16_t *)base)[i] = pecs_f64_to_f16(v); break;
    case PECS_DT_BF16: ((uint16_t *)base)[i] = pecs_f64_to_bf16(v); break;
    case PECS_DT_I32: ((int32_t *)base)[i] = (int32_t)v; break;
    case PECS_DT_I64: ((int64_t *)base)[i] = (int64_t)v; break;
    default: break;
    }
}

/* Kernel-side helpers: storage <-> f32 arithmetic. */
static inline float pecs_load_f32(const void *base, pecs_dtype t, int64_t i)
{
    switch (t) {
    case PECS_DT_F32: return ((const float *)base)[i];
    case PECS_DT_F16: return pecs_f16_to_f32(((const uint16_t *)base)[i]);
    case PECS_DT_BF16: return pecs_bf16_to_f32(((const uint16_t *)base)[i]);
    default: return (float)pecs_load_f64(base, t, i);
    }
}

static inline void pecs_store_f32(void *base, pecs_dtype t, int64_t i, float v)
{
    switch (t) {
    case PECS_DT_F32: ((float *)base)[i] = v; break;
    case PECS_DT_F16: ((uint16_t *)base)[i] = pecs_f32_to_f16(v); break;
    case PECS_DT_BF16: ((uint16_t *)base)[i] = pecs_f32_to_bf16(v); break;
    default: pecs_store_f64(base, t, i, (double)v); break;
    }
}

#endif
