/* impls/simd/avx2.c — the kernels for AVX2 + FMA + F16C (this file only is built with -mavx2 -mfma -mf16c;
 * they are called only after isa.c's CPUID probe says the CPU has them). */
#include <immintrin.h>
#include <sleef.h>

#include "simd.h"

#define VW 8
#define VD 4
#define VF __m256
#define VDT __m256d
#define LOADU(p) _mm256_loadu_ps(p)
#define STOREU(p, v) _mm256_storeu_ps(p, v)
#define STORED(p, v) _mm256_storeu_pd(p, v)
#define MUL(a, b) _mm256_mul_ps(a, b)
#define FMADD(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ADD(a, b) _mm256_add_ps(a, b)
#define SUB(a, b) _mm256_sub_ps(a, b)
#define ABS(v) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)
#define MAX(a, b) _mm256_max_ps(a, b)
#define SET1(x) _mm256_set1_ps(x)
#define ZERO() _mm256_setzero_ps()
#define GATHER(base, idx) _mm256_i32gather_ps(base, _mm256_loadu_si256((const __m256i *)(const void *)(idx)), 4)
#define LOG1PF(v) Sleef_log1pf8_u10avx2(v)
#define POWF(a, b) Sleef_powf8_u10avx2(a, b)
#define FNMADD(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define SWAP_PAIRS(v) _mm256_permute_ps(v, 0xB1)
#define LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define STORE_F16(p, v) _mm_storeu_si128((__m128i *)(void *)(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define LOAD_BF16(p) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p))), 16))
#define STORE_BF16(p, v) _mm_storeu_si128((__m128i *)(void *)(p), bf16_avx2(v))
#define LOADD(p) _mm256_loadu_pd(p)
#define SET1D(x) _mm256_set1_pd(x)
#define MULD(a, b) _mm256_mul_pd(a, b)
#define STORE_PD_AS_PS(p, v) _mm_storeu_ps(p, _mm256_cvtpd_ps(v))
#define ZEROD() _mm256_setzero_pd()
#define ADDD(a, b) _mm256_add_pd(a, b)
#define FMADDD(a, b, c) _mm256_fmadd_pd(a, b, c)
#define LOADF_PD(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define HSUMD(v) hsum_pd_avx2(v)
#define SINCOS(a, s, c)                                      \
    do {                                                     \
        Sleef___m256d_2 r_ = Sleef_sincosd4_u35avx2(_mm256_loadu_pd(a)); \
        (s) = r_.x;                                          \
        (c) = r_.y;                                          \
    } while (0)
#define SINCOSF(v, s, c)                                  \
    do {                                                  \
        Sleef___m256_2 r_ = Sleef_sincosf8_u10avx2(v);     \
        (s) = r_.x;                                       \
        (c) = r_.y;                                       \
    } while (0)
#define REDUCE_ANGLES(q, f, hi, lo) reduce_angles_avx2(q, f, &(hi), &(lo))
#define REDUCE_D(q, f) reduce_d_avx2(_mm256_set1_pd(q), f)
#define FNMADDD(a, b, c) _mm256_fnmadd_pd(a, b, c)
#define SC_INTERLEAVE(s, c) sc_interleave_avx2(s, c)
#define INTERLEAVE(s, c, lo, hi)                                                       \
    do {                                                                               \
        __m256 a_ = _mm256_unpacklo_ps(s, c), b_ = _mm256_unpackhi_ps(s, c);           \
        (lo) = _mm256_permute2f128_ps(a_, b_, 0x20);                                   \
        (hi) = _mm256_permute2f128_ps(a_, b_, 0x31);                                   \
    } while (0)
#define STREAM_F32(p, v) _mm256_stream_ps(p, v)
#define STREAM_F16(p, v) \
    _mm_stream_si128((__m128i *)(void *)(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define STREAM_BF16(p, v) _mm_stream_si128((__m128i *)(void *)(p), bf16_avx2(v))
#define STREAM2_F16(p, a, b)                                                                                  \
    _mm256_stream_si256((__m256i *)(void *)(p), _mm256_set_m128i(_mm256_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), \
                                                                 _mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)))
#define STREAM2_BF16(p, a, b) _mm256_stream_si256((__m256i *)(void *)(p), _mm256_set_m128i(bf16_avx2(b), bf16_avx2(a)))
#define STORE2_F16(p, a, b)                                                                                   \
    _mm256_storeu_si256((__m256i *)(void *)(p), _mm256_set_m128i(_mm256_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), \
                                                                 _mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)))
#define STORE2_BF16(p, a, b) _mm256_storeu_si256((__m256i *)(void *)(p), _mm256_set_m128i(bf16_avx2(b), bf16_avx2(a)))
#define SUBD(a, b) _mm256_sub_pd(a, b)
#define FENCE() _mm_sfence()

/* f32 -> bf16 round-to-nearest-even, NaN kept quiet (as pecs_f32_to_bf16). */
static inline __m128i bf16_avx2(__m256 v)
{
    __m256i b = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(b, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(0x40)), nan);
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08));
}

static inline double hsum_pd_avx2(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* q * f[0..3] reduced mod 2pi in double (see embed_body.h). */
static inline __m256d reduce_d_avx2(__m256d qv, const double *f)
{
    const __m256d inv = _mm256_set1_pd(0.15915494309189535), c1 = _mm256_set1_pd(6.283185307179586),
                  c2 = _mm256_set1_pd(2.4492935982947064e-16);
    __m256d a = _mm256_mul_pd(qv, _mm256_loadu_pd(f));
    __m256d k = _mm256_round_pd(_mm256_mul_pd(a, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm256_fnmadd_pd(k, c2, _mm256_fnmadd_pd(k, c1, a));
}

/* q * f[0..7] reduced mod 2pi in double, split into f32 hi + lo (see embed_body.h). */
static inline void reduce_angles_avx2(double q, const double *f, __m256 *hi, __m256 *lo)
{
    __m128 h[2], l[2];
    for (int i = 0; i < 2; i++) {
        __m256d r = reduce_d_avx2(_mm256_set1_pd(q), f + 4 * i);
        h[i] = _mm256_cvtpd_ps(r);
        l[i] = _mm256_cvtpd_ps(_mm256_sub_pd(r, _mm256_cvtps_pd(h[i])));
    }
    *hi = _mm256_set_m128(h[1], h[0]);
    *lo = _mm256_set_m128(l[1], l[0]);
}

/* [s0 c0 s1 c1 s2 c2 s3 c3] in f32 from four double sines and cosines. */
static inline __m256 sc_interleave_avx2(__m256d s, __m256d c)
{
    __m128 s4 = _mm256_cvtpd_ps(s), c4 = _mm256_cvtpd_ps(c);
    return _mm256_set_m128(_mm_unpackhi_ps(s4, c4), _mm_unpacklo_ps(s4, c4));
}

#include "rotate_body.h"
#include "pairwise_body.h"
#include "embed_body.h"

const simd_kernels simd_kernels_avx2 = {"avx2", rotate_units, pairwise_units, embed_units};
