/* tests/test_dtype.c — f16/bf16 conversions of include/pecs/dtype.h: exhaustive round trips over all
 * 65536 bit patterns, exhaustive round-to-nearest-even at every midpoint, the fast f32 path against the
 * single-rounding f64 path, the double-rounding hazard, and pecs_load_f64/pecs_store_f64. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <mpfr.h>

#include "pecs/dtype.h"

/* ---- helpers --------------------------------------------------------------------------------------- */

static int f16_is_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }
static int f16_is_inf_or_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u; }
static int bf16_is_nan(uint16_t b) { return (b & 0x7f80u) == 0x7f80u && (b & 0x7fu) != 0; }
static int bf16_is_inf_or_nan(uint16_t b) { return (b & 0x7f80u) == 0x7f80u; }

static uint32_t f32_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    return x;
}

static float f32_from_bits(uint32_t x)
{
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static double f16_val(uint16_t h) { return (double)pecs_f16_to_f32(h); }
static double bf16_val(uint16_t b) { return (double)pecs_bf16_to_f32(b); }

/* The next pattern upward in value of a finite pattern (sign bit `signbit_`), treating -0 like +0.
 * Returns 0 (and leaves *next alone) when the successor is not finite or the pattern is -0. */
static int next_up(uint16_t h, uint16_t signbit_, uint16_t maxfinite, uint16_t *next)
{
    uint16_t mag = (uint16_t)(h & (uint16_t)(signbit_ - 1u));
    if (h & signbit_) {
        if (mag == 0)
            return 0; /* -0: the pair (+0, min subnormal) is covered from +0 */
        *next = (uint16_t)(signbit_ | (mag - 1u));
        return 1;
    }
    if (mag >= maxfinite)
        return 0;
    *next = (uint16_t)(mag + 1u);
    return 1;
}

/* ---- exhaustive round trips ------------------------------------------------------------------------ */

/* f16 -> f32 -> f16 is the identity: catches a widening that loses subnormals or mis-biases the
 * exponent, and a narrowing that mis-rounds exactly representable values. NaN stays a quiet NaN. */
Test(dtype, f16_roundtrip_exhaustive)
{
    for (uint32_t i = 0; i < 65536u; i++) {
        uint16_t h = (uint16_t)i;
        float f = pecs_f16_to_f32(h);
        uint16_t back = pecs_f32_to_f16(f);
        uint16_t back64 = pecs_f64_to_f16((double)f);
        if (f16_is_nan(h)) {
            cr_assert(isnan(f), "f16 0x%04x is NaN but widened to %a", (unsigned)h, (double)f);
            cr_assert(f16_is_nan(back) && (back & 0x200u), "NaN 0x%04x -> 0x%04x is not a quiet NaN", (unsigned)h,
                      (unsigned)back);
            cr_assert(f16_is_nan(back64) && (back64 & 0x200u), "f64 path: NaN 0x%04x -> 0x%04x", (unsigned)h,
                      (unsigned)back64);
            cr_assert_eq(back & 0x8000u, h & 0x8000u, "NaN sign lost: 0x%04x -> 0x%04x", (unsigned)h, (unsigned)back);
            cr_assert_eq(back64 & 0x8000u, h & 0x8000u, "f64 path NaN sign lost: 0x%04x -> 0x%04x", (unsigned)h,
                         (unsigned)back64);
        } else {
            cr_assert_eq(back, h, "f16 0x%04x -> %a -> 0x%04x", (unsigned)h, (double)f, (unsigned)back);
            cr_assert_eq(back64, h, "f16 0x%04x -> %a -> (f64 path) 0x%04x", (unsigned)h, (double)f, (unsigned)back64);
        }
    }
}

/* Same for bf16: catches a widening that is not the plain top-16-bit shift, and a NaN that gets
 * rounded into infinity (0x7f81 + rounding carry) instead of staying quiet. */
Test(dtype, bf16_roundtrip_exhaustive)
{
    for (uint32_t i = 0; i < 65536u; i++) {
        uint16_t b = (uint16_t)i;
        float f = pecs_bf16_to_f32(b);
        cr_assert_eq(f32_bits(f), (uint32_t)b << 16, "bf16 0x%04x widened to bits 0x%08x", (unsigned)b,
                     (unsigned)f32_bits(f));
        uint16_t back = pecs_f32_to_bf16(f);
        uint16_t back64 = pecs_f64_to_bf16((double)f);
        if (bf16_is_nan(b)) {
            cr_assert(bf16_is_nan(back) && (back & 0x40u), "NaN 0x%04x -> 0x%04x is not a quiet NaN", (unsigned)b,
                      (unsigned)back);
            cr_assert(bf16_is_nan(back64) && (back64 & 0x40u), "f64 path: NaN 0x%04x -> 0x%04x", (unsigned)b,
                      (unsigned)back64);
            cr_assert_eq(back & 0x8000u, b & 0x8000u, "NaN sign lost: 0x%04x -> 0x%04x", (unsigned)b, (unsigned)back);
            cr_assert_eq(back64 & 0x8000u, b & 0x8000u, "f64 path NaN sign lost: 0x%04x -> 0x%04x", (unsigned)b,
                         (unsigned)back64);
        } else {
            cr_assert_eq(back, b, "bf16 0x%04x -> %a -> 0x%04x", (unsigned)b, (double)f, (unsigned)back);
            cr_assert_eq(back64, b, "bf16 0x%04x -> %a -> (f64 path) 0x%04x", (unsigned)b, (double)f,
                         (unsigned)back64);
        }
    }
}

/* A signalling NaN input (quiet bit clear) must come out quiet on every path: catches a narrowing that
 * copies the payload without setting the quiet bit (which would also turn 0x7f800001 into inf). */
Test(dtype, signalling_nan_becomes_quiet)
{
    float snan = f32_from_bits(0x7f800001u), nsnan = f32_from_bits(0xff800001u);
    uint16_t h = pecs_f32_to_f16(snan), hn = pecs_f32_to_f16(nsnan);
    uint16_t b = pecs_f32_to_bf16(snan), bn = pecs_f32_to_bf16(nsnan);
    cr_assert(f16_is_nan(h) && (h & 0x200u) && !(h & 0x8000u), "f16 of sNaN: 0x%04x", (unsigned)h);
    cr_assert(f16_is_nan(hn) && (hn & 0x200u) && (hn & 0x8000u), "f16 of -sNaN: 0x%04x", (unsigned)hn);
    cr_assert(bf16_is_nan(b) && (b & 0x40u) && !(b & 0x8000u), "bf16 of sNaN: 0x%04x", (unsigned)b);
    cr_assert(bf16_is_nan(bn) && (bn & 0x40u) && (bn & 0x8000u), "bf16 of -sNaN: 0x%04x", (unsigned)bn);
}

/* ---- exhaustive round to nearest, ties to even ----------------------------------------------------- */

/* For every pair of adjacent finite f16 values a < b: the midpoint goes to the one with the even
 * mantissa, a hair above goes to b, a hair below goes to a; on both the f64 and the f32 path.
 * Catches round-half-up/away (ties not to even), truncation, off-by-one in the subnormal shift, and a
 * sign lost on negative ties that round to -0. */
Test(dtype, f16_ties_to_even_exhaustive)
{
    long pairs = 0;
    for (uint32_t i = 0; i < 65536u; i++) {
        uint16_t ha = (uint16_t)i, hb;
        if (f16_is_inf_or_nan(ha) || !next_up(ha, 0x8000u, 0x7bffu, &hb))
            continue;
        double a = f16_val(ha), b = f16_val(hb);
        cr_assert(a < b || (a == 0.0 && b > 0.0), "0x%04x=%a, 0x%04x=%a not increasing", (unsigned)ha, a,
                  (unsigned)hb, b);
        double mid = (a + b) / 2.0; /* exact: 12 significant bits */
        float midf = (float)mid;
        cr_assert_eq((double)midf, mid, "midpoint %a not exact in f32", mid);
        uint16_t even = (ha & 1u) ? hb : ha;
        cr_assert_eq(pecs_f64_to_f16(mid), even, "f64 tie %a between 0x%04x and 0x%04x -> 0x%04x", mid, (unsigned)ha,
                     (unsigned)hb, (unsigned)pecs_f64_to_f16(mid));
        cr_assert_eq(pecs_f32_to_f16(midf), even, "f32 tie %a between 0x%04x and 0x%04x -> 0x%04x", mid,
                     (unsigned)ha, (unsigned)hb, (unsigned)pecs_f32_to_f16(midf));
        cr_assert_eq(pecs_f64_to_f16(nextafter(mid, INFINITY)), hb, "f64: just above %a", mid);
        cr_assert_eq(pecs_f64_to_f16(nextafter(mid, -INFINITY)), ha, "f64: just below %a", mid);
        cr_assert_eq(pecs_f32_to_f16(nextafterf(midf, INFINITY)), hb, "f32: just above %a", mid);
        cr_assert_eq(pecs_f32_to_f16(nextafterf(midf, -INFINITY)), ha, "f32: just below %a", mid);
        pairs++;
    }
    /* 2 * (0x7bff pairs per sign) + nothing for -0: every finite neighbour pair seen once. */
    cr_assert_eq(pairs, 2L * 0x7bff, "checked %ld pairs", pairs);
}

/* The same over all bf16 neighbours (midpoints have 9 significant bits: exact in f32 and f64, also in
 * the f32 subnormal range). Catches the same rounding bugs in the bf16 paths. */
Test(dtype, bf16_ties_to_even_exhaustive)
{
    long pairs = 0;
    for (uint32_t i = 0; i < 65536u; i++) {
        uint16_t ba = (uint16_t)i, bb;
        if (bf16_is_inf_or_nan(ba) || !next_up(ba, 0x8000u, 0x7f7fu, &bb))
            continue;
        double a = bf16_val(ba), b = bf16_val(bb);
        double mid = (a + b) / 2.0;
        float midf = (float)mid;
        cr_assert_eq((double)midf, mid, "midpoint %a not exact in f32", mid);
        uint16_t even = (ba & 1u) ? bb : ba;
        cr_assert_eq(pecs_f64_to_bf16(mid), even, "f64 tie %a between 0x%04x and 0x%04x -> 0x%04x", mid,
                     (unsigned)ba, (unsigned)bb, (unsigned)pecs_f64_to_bf16(mid));
        cr_assert_eq(pecs_f32_to_bf16(midf), even, "f32 tie %a between 0x%04x and 0x%04x -> 0x%04x", mid,
                     (unsigned)ba, (unsigned)bb, (unsigned)pecs_f32_to_bf16(midf));
        cr_assert_eq(pecs_f64_to_bf16(nextafter(mid, INFINITY)), bb, "f64: just above %a", mid);
        cr_assert_eq(pecs_f64_to_bf16(nextafter(mid, -INFINITY)), ba, "f64: just below %a", mid);
        cr_assert_eq(pecs_f32_to_bf16(nextafterf(midf, INFINITY)), bb, "f32: just above %a", mid);
        cr_assert_eq(pecs_f32_to_bf16(nextafterf(midf, -INFINITY)), ba, "f32: just below %a", mid);
        pairs++;
    }
    cr_assert_eq(pairs, 2L * 0x7f7f, "checked %ld pairs", pairs);
}

/* Overflow boundary: 65520 = 65504 + half an ulp is a tie whose even neighbour is 2^16, i.e. inf.
 * Catches saturation to 65504, and an overflow test written as "> 65520" instead of ">= 65520". */
Test(dtype, f16_overflow_boundary)
{
    for (int sgn = 0; sgn < 2; sgn++) {
        double s = sgn ? -1.0 : 1.0;
        uint16_t sb = (uint16_t)(sgn ? 0x8000u : 0u);
        cr_assert_eq(pecs_f64_to_f16(s * 65504.0), sb | 0x7bffu);
        cr_assert_eq(pecs_f32_to_f16((float)(s * 65504.0)), sb | 0x7bffu);
        cr_assert_eq(pecs_f64_to_f16(s * 65520.0), sb | 0x7c00u, "%g must round to inf", s * 65520.0);
        cr_assert_eq(pecs_f32_to_f16((float)(s * 65520.0)), sb | 0x7c00u, "%g must round to inf (f32)", s * 65520.0);
        cr_assert_eq(pecs_f64_to_f16(nextafter(s * 65520.0, 0.0)), sb | 0x7bffu);
        cr_assert_eq(pecs_f32_to_f16(nextafterf((float)(s * 65520.0), 0.0f)), sb | 0x7bffu);
        cr_assert_eq(pecs_f64_to_f16(s * 1e300), sb | 0x7c00u);
        cr_assert_eq(pecs_f32_to_f16((float)(s * 1e30)), sb | 0x7c00u);
        cr_assert_eq(pecs_f64_to_f16(s * INFINITY), sb | 0x7c00u, "inf keeps its sign");
        cr_assert_eq(pecs_f32_to_f16((float)(s * INFINITY)), sb | 0x7c00u, "inf keeps its sign (f32)");
    }
}

/* bf16 overflow: 0x1.ffp127 is the tie between the largest finite 0x1.fep127 and 2^128 (inf). */
Test(dtype, bf16_overflow_boundary)
{
    for (int sgn = 0; sgn < 2; sgn++) {
        double s = sgn ? -1.0 : 1.0;
        uint16_t sb = (uint16_t)(sgn ? 0x8000u : 0u);
        cr_assert_eq(pecs_f64_to_bf16(s * 0x1.fep127), sb | 0x7f7fu);
        cr_assert_eq(pecs_f64_to_bf16(s * 0x1.ffp127), sb | 0x7f80u);
        cr_assert_eq(pecs_f32_to_bf16((float)(s * 0x1.ffp127)), sb | 0x7f80u);
        cr_assert_eq(pecs_f64_to_bf16(nextafter(s * 0x1.ffp127, 0.0)), sb | 0x7f7fu);
        cr_assert_eq(pecs_f32_to_bf16(nextafterf((float)(s * 0x1.ffp127), 0.0f)), sb | 0x7f7fu);
        cr_assert_eq(pecs_f64_to_bf16(s * 1e300), sb | 0x7f80u, "beyond the f32 range is still inf");
        cr_assert_eq(pecs_f64_to_bf16(s * INFINITY), sb | 0x7f80u);
        cr_assert_eq(pecs_f32_to_bf16((float)(s * INFINITY)), sb | 0x7f80u);
    }
}

/* Gradual underflow: 2^-25 (half the smallest subnormal) ties to even -> 0; just above it -> 2^-24;
 * 3*2^-25 ties to 2^-23; signed zeros keep their sign. Catches flush-to-zero and a subnormal path that
 * rounds half up. */
Test(dtype, f16_underflow_and_zero)
{
    for (int sgn = 0; sgn < 2; sgn++) {
        double s = sgn ? -1.0 : 1.0;
        uint16_t sb = (uint16_t)(sgn ? 0x8000u : 0u);
        cr_assert_eq(pecs_f64_to_f16(s * 0x1p-25), sb, "2^-25 ties to (signed) zero");
        cr_assert_eq(pecs_f32_to_f16((float)(s * 0x1p-25)), sb);
        cr_assert_eq(pecs_f64_to_f16(nextafter(s * 0x1p-25, s)), sb | 1u, "just above 2^-25 is the min subnormal");
        cr_assert_eq(pecs_f32_to_f16(nextafterf((float)(s * 0x1p-25), (float)s)), sb | 1u);
        cr_assert_eq(pecs_f64_to_f16(s * 0x1p-24), sb | 1u);
        cr_assert_eq(pecs_f64_to_f16(s * 3 * 0x1p-25), sb | 2u, "3*2^-25 ties to even 2*2^-24");
        cr_assert_eq(pecs_f32_to_f16((float)(s * 3 * 0x1p-25)), sb | 2u);
        cr_assert_eq(pecs_f64_to_f16(s * 0x1p-14), sb | 0x400u, "min normal");
        cr_assert_eq(pecs_f64_to_f16(s * 0x1.ff8p-15), sb | 0x3ffu, "max subnormal");
        cr_assert_eq(pecs_f64_to_f16(s * 0x1p-60), sb);
        cr_assert_eq(pecs_f32_to_f16((float)(s * 0x1p-140)), sb, "f32 subnormal input");
        cr_assert_eq(pecs_f64_to_f16(s * 0.0), sb, "zero keeps its sign");
        cr_assert_eq(pecs_f32_to_f16((float)(s * 0.0)), sb, "zero keeps its sign (f32)");
        cr_assert_eq(pecs_f64_to_bf16(s * 0.0), sb);
        cr_assert_eq(pecs_f32_to_bf16((float)(s * 0.0)), sb);
        cr_assert_eq(pecs_f64_to_bf16(s * 0x1p-134), sb, "bf16 half min subnormal ties to zero");
        cr_assert_eq(pecs_f64_to_bf16(nextafter(s * 0x1p-134, s)), sb | 1u);
        cr_assert_eq(pecs_f64_to_bf16(s * 0x1p-200), sb, "far below the f32 range");
    }
    cr_assert(signbit(pecs_f16_to_f32(0x8000u)) && pecs_f16_to_f32(0x8000u) == 0.0f);
    cr_assert(signbit(pecs_bf16_to_f32(0x8000u)) && pecs_bf16_to_f32(0x8000u) == 0.0f);
}

/* ---- f32 fast path vs the single-rounding f64 path ------------------------------------------------ */

/* For every 4099th f32 bit pattern (about a million values spanning all exponents, both signs, NaNs
 * and subnormals) the fast integer f32 path agrees with rounding the same value once from double.
 * Catches a fast path that mis-rounds some exponent range (e.g. the normal/subnormal seam). */
Test(dtype, f32_path_matches_f64_path)
{
    for (uint64_t x = 0; x <= UINT32_MAX; x += 4099u) {
        float f = f32_from_bits((uint32_t)x);
        uint16_t h32 = pecs_f32_to_f16(f), h64 = pecs_f64_to_f16((double)f);
        uint16_t b32 = pecs_f32_to_bf16(f), b64 = pecs_f64_to_bf16((double)f);
        if (isnan(f)) {
            cr_assert(f16_is_nan(h32) && f16_is_nan(h64) && (h32 & 0x8000u) == (h64 & 0x8000u), "NaN bits 0x%08x",
                      (unsigned)x);
            cr_assert(bf16_is_nan(b32) && bf16_is_nan(b64) && (b32 & 0x8000u) == (b64 & 0x8000u), "NaN bits 0x%08x",
                      (unsigned)x);
            continue;
        }
        cr_assert_eq(h32, h64, "f16 of %a (bits 0x%08x): f32 path 0x%04x, f64 path 0x%04x", (double)f, (unsigned)x,
                     (unsigned)h32, (unsigned)h64);
        cr_assert_eq(b32, b64, "bf16 of %a (bits 0x%08x): f32 path 0x%04x, f64 path 0x%04x", (double)f, (unsigned)x,
                     (unsigned)b32, (unsigned)b64);
    }
}

/* Double rounding: d = 1 + 2^-11 + 2^-40 is just above the f16 tie between 1 and 1 + 2^-10. Rounding to
 * f32 first drops the 2^-40 and leaves an exact tie, which then goes to the even 1.0; rounding once
 * gives 1 + 2^-10. Catches a pecs_f64_to_f16 implemented as pecs_f32_to_f16((float)d). */
Test(dtype, no_double_rounding_constructed)
{
    double d = 1.0 + 0x1p-11 + 0x1p-40;
    cr_assert_eq(pecs_f32_to_f16((float)d), 0x3c00u, "the hazard: via f32 the value becomes a tie -> 1.0");
    cr_assert_eq(pecs_f64_to_f16(d), 0x3c01u, "single rounding gives 1 + 2^-10");
    cr_assert_eq(pecs_f64_to_f16(-d), 0xbc01u);
    double e = 1.0 + 0x1p-8 + 0x1p-40; /* bf16: tie between 1 and 1 + 2^-7 */
    cr_assert_eq(pecs_f32_to_bf16((float)e), 0x3f80u, "the hazard for bf16");
    cr_assert_eq(pecs_f64_to_bf16(e), 0x3f81u, "single rounding for bf16");
    /* Below the tie the other way: f32 rounding up onto the tie would then round to even upward. */
    double g = 1.0 + 0x1p-10 + 0x1p-11 - 0x1p-40; /* just below the tie 1+3*2^-11 between 0x3c01 and 0x3c02 */
    cr_assert_eq(pecs_f32_to_f16((float)g), 0x3c02u, "via f32: tie -> even 0x3c02");
    cr_assert_eq(pecs_f64_to_f16(g), 0x3c01u, "single rounding stays below the tie");
}

/* Search: over every positive finite f16 pair, the doubles a hair (2^-30 relative) off the midpoint
 * are exactly the values where f32-then-f16 differs from one rounding. There must be many such
 * hazards and pecs_f64_to_f16 must give the single-rounding answer at every one of them. */
Test(dtype, no_double_rounding_search)
{
    long hazards = 0;
    for (uint16_t ha = 0; ha < 0x7bffu; ha++) {
        uint16_t hb = (uint16_t)(ha + 1u);
        double a = f16_val(ha), b = f16_val(hb), mid = (a + b) / 2.0;
        double up = mid + ldexp(b - a, -30), dn = mid - ldexp(b - a, -30);
        if (pecs_f32_to_f16((float)up) != hb)
            hazards++;
        if (pecs_f32_to_f16((float)dn) != ha)
            hazards++;
        cr_assert_eq(pecs_f64_to_f16(up), hb, "%a must round up to 0x%04x", up, (unsigned)hb);
        cr_assert_eq(pecs_f64_to_f16(dn), ha, "%a must round down to 0x%04x", dn, (unsigned)ha);
    }
    cr_assert_eq(hazards, 0x7bffL, "every pair has exactly one double-rounding hazard side, got %ld", hazards);
}

/* ---- load/store by dtype --------------------------------------------------------------------------- */

/* Each dtype stores a representable double and loads it back exactly, at the right element offset.
 * Catches a wrong element size/cast in the switch (e.g. F16 stored through a float pointer). */
Test(dtype, load_store_roundtrip_each_dtype)
{
    static const double vals[] = {0.0, -0.0, 1.0, -2.5, 0.375, 61440.0, -0x1p-24, 1024.0};
    static const double ints[] = {0.0, -1.0, 7.0, -2147483648.0, 2147483647.0, 123456.0};
    unsigned char buf[8 * 16];
    for (int t = 0; t < PECS_DT_COUNT_; t++) {
        pecs_dtype dt = (pecs_dtype)t;
        int fl = pecs_dtype_is_float(dt);
        const double *v = fl ? vals : ints;
        size_t n = fl ? sizeof vals / sizeof vals[0] : sizeof ints / sizeof ints[0];
        memset(buf, 0xab, sizeof buf);
        for (size_t i = 0; i < n; i++)
            pecs_store_f64(buf, dt, (int64_t)i, v[i]);
        for (size_t i = 0; i < n; i++) {
            double got = pecs_load_f64(buf, dt, (int64_t)i);
            cr_assert(got == v[i] && signbit(got) == signbit(v[i]), "%s[%zu]: stored %a, loaded %a",
                      pecs_dtype_name(dt), i, v[i], got);
        }
        /* nothing written past the last element */
        size_t end = n * pecs_dtype_size(dt);
        for (size_t k = end; k < sizeof buf; k++)
            cr_assert_eq(buf[k], 0xab, "%s: byte %zu past the end was written", pecs_dtype_name(dt), k);
        /* f32 kernel helpers agree for the float storage types */
        if (fl && dt != PECS_DT_F64)
            for (size_t i = 0; i < n; i++)
                cr_assert_eq((double)pecs_load_f32(buf, dt, (int64_t)i), v[i], "%s load_f32", pecs_dtype_name(dt));
    }
    /* i64 holds integers beyond 2^31 and up to 2^53 exactly */
    int64_t big[2];
    pecs_store_f64(big, PECS_DT_I64, 0, 0x1p53);
    pecs_store_f64(big, PECS_DT_I64, 1, -0x1p40 - 3.0);
    cr_assert_eq(big[0], INT64_C(1) << 53);
    cr_assert_eq(pecs_load_f64(big, PECS_DT_I64, 1), -0x1p40 - 3.0);
}

/* Every f16 and bf16 pattern survives load_f64 -> store_f64 (and load_f32 -> store_f32) bit for bit;
 * a non-representable double is rounded once on store. */
Test(dtype, load_store_exhaustive_half_types)
{
    static const pecs_dtype halves[] = {PECS_DT_F16, PECS_DT_BF16};
    for (int k = 0; k < 2; k++) {
        pecs_dtype dt = halves[k];
        for (uint32_t i = 0; i < 65536u; i++) {
            /* 8-byte buffers: the dtype switch also has wider cases, which -O2 -Warray-bounds sees */
            uint16_t inb[4] = {(uint16_t)i, 0, 0, 0}, outb[4] = {0, 0, 0, 0}, out32b[4] = {0, 0, 0, 0};
            double v = pecs_load_f64(inb, dt, 0);
            pecs_store_f64(outb, dt, 0, v);
            pecs_store_f32(out32b, dt, 0, pecs_load_f32(inb, dt, 0));
            uint16_t in = inb[0], out = outb[0], out32 = out32b[0];
            if (isnan(v)) {
                cr_assert(dt == PECS_DT_F16 ? f16_is_nan(out) : bf16_is_nan(out), "%s NaN 0x%04x -> 0x%04x",
                          pecs_dtype_name(dt), (unsigned)in, (unsigned)out);
                continue;
            }
            cr_assert_eq(out, in, "%s 0x%04x -> %a -> 0x%04x", pecs_dtype_name(dt), (unsigned)in, v, (unsigned)out);
            cr_assert_eq(out32, in, "%s f32 helpers 0x%04x -> 0x%04x", pecs_dtype_name(dt), (unsigned)in,
                         (unsigned)out32);
        }
    }
    uint16_t h[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0};
    pecs_store_f64(h, PECS_DT_F16, 0, 1.0 + 0x1p-11 + 0x1p-40);
    pecs_store_f64(b, PECS_DT_BF16, 0, 1.0 + 0x1p-8 + 0x1p-40);
    cr_assert_eq(h[0], 0x3c01u, "store_f64 rounds once to f16");
    cr_assert_eq(b[0], 0x3f81u, "store_f64 rounds once to bf16");
}

/* ---- against MPFR ---------------------------------------------------------------------------------- */

/* x rounded by MPFR to p bits in a format whose largest exponent is bias and smallest normal one 1 - bias
 * (MPFR's exponents are one more: x = m 2^e, m in [1/2, 1)), with gradual underflow (mpfr_subnormalize). */
static double mpfr_small(double x, int p, int bias)
{
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_t m;
    mpfr_set_emin((1 - bias) - p + 2);
    mpfr_set_emax(bias + 1);
    mpfr_init2(m, p);
    int i = mpfr_set_d(m, x, MPFR_RNDN);
    i = mpfr_check_range(m, i, MPFR_RNDN);
    mpfr_subnormalize(m, i, MPFR_RNDN);
    double r = mpfr_get_d(m, MPFR_RNDN);
    mpfr_clear(m);
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
    return r;
}

/* The bit-level f64 -> f16/bf16 rounding equals MPFR's on doubles of every binade from below the smallest
 * subnormal to past overflow, random and at the midpoints between neighbours (where ties go to even), and
 * around each format's largest finite value. Catches a wrong shift, a tie rounded away from zero, a carry
 * that does not reach the exponent field, a subnormal taken as normal, and overflow at the wrong place. */
Test(dtype, f64_narrowing_matches_mpfr)
{
    static const struct { int p, bias; uint16_t (*to)(double); double (*val)(uint16_t); const char *name; } fm[] = {
        {11, 15, pecs_f64_to_f16, f16_val, "f16"}, {8, 127, pecs_f64_to_bf16, bf16_val, "bf16"}};
    uint64_t st = 0x9e3779b97f4a7c15u;
    for (int f = 0; f < 2; f++) {
        long bad = 0;
        for (long k = 0; k < 400000 && bad < 5; k++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            int lo = (1 - fm[f].bias) - fm[f].p - 3, span = 2 * fm[f].bias + fm[f].p + 8;
            int e = lo + (int)(st % (uint64_t)span);
            uint64_t mant = (st >> 11) & ((UINT64_C(1) << 52) - 1);
            double x = ldexp(1.0 + ldexp((double)mant, -52), e);
            if (k % 3 == 1) { /* a midpoint: the quantum of binade e (or the subnormal one), half of it added */
                int E = e < 1 - fm[f].bias ? 1 - fm[f].bias : e, q = E - (fm[f].p - 1);
                x = ldexp(floor(ldexp(x, -q)) + 0.5, q);
            }
            if (k % 7 == 3)
                x = -x;
            double got = fm[f].val(fm[f].to(x)), want = mpfr_small(x, fm[f].p, fm[f].bias);
            if (!(got == want && signbit(got) == signbit(want))) {
                cr_log_error("%s: %.17g gives %.17g, MPFR %.17g", fm[f].name, x, got, want);
                bad++;
            }
        }
        cr_expect_eq(bad, 0, "%s: %ld value(s) rounded differently from MPFR", fm[f].name, bad);
    }
}
