/* impls/simd/avx512.c — the kernels for AVX-512 (F, BW, VL, BF16); only this file is built with
 * those flags, and simd.c calls it only when the CPU has them. bf16 stores use vcvtneps2bf16 (RNE). */
#include <immintrin.h>
#include <sleef.h>

#include "simd.h"

#define VW 16
#define VD 8
#define VF __m512
#define VDT __m512d
#define LOADU(p) _mm512_loadu_ps(p)
#define STOREU(p, v) _mm512_storeu_ps(p, v)
#define STORED(p, v) _mm512_storeu_pd(p, v)
#define MUL(a, b) _mm512_mul_ps(a, b)
#define FMADD(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ADD(a, b) _mm512_add_ps(a, b)
#define SUB(a, b) _mm512_sub_ps(a, b)
#define ABS(v) _mm512_abs_ps(v)
#define MAX(a, b) _mm512_max_ps(a, b)
#define SET1(x) _mm512_set1_ps(x)
#define ZERO() _mm512_setzero_ps()
#define GATHER(base, idx) _mm512_i32gather_ps(_mm512_loadu_si512((const void *)(idx)), base, 4)
#define LOG1PF(v) Sleef_log1pf16_u10avx512f(v)
#define POWF(a, b) Sleef_powf16_u10avx512f(a, b)
#define FNMADD(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define SWAP_PAIRS(v) _mm512_permute_ps(v, 0xB1)
#define LOAD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p)))
#define STORE_F16(p, v) \
    _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define LOAD_BF16(p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(p))), 16))
#define STORE_BF16(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (__m256i)_mm512_cvtneps_pbh(v))
#define LOADD(p) _mm512_loadu_pd(p)
#define SET1D(x) _mm512_set1_pd(x)
#define MULD(a, b) _mm512_mul_pd(a, b)
#define STORE_PD_AS_PS(p, v) _mm256_storeu_ps(p, _mm512_cvtpd_ps(v))
#define ZEROD() _mm512_setzero_pd()
#define ADDD(a, b) _mm512_add_pd(a, b)
#define FMADDD(a, b, c) _mm512_fmadd_pd(a, b, c)
#define LOADF_PD(p) _mm512_cvtps_pd(_mm256_loadu_ps(p))
#define HSUMD(v) _mm512_reduce_add_pd(v)
#define SINCOS(a, s, c)                                      \
    do {                                                     \
        Sleef___m512d_2 r_ = Sleef_sincosd8_u35avx512f(_mm512_loadu_pd(a)); \
        (s) = r_.x;                                          \
        (c) = r_.y;                                          \
    } while (0)
#define SINCOSF(v, s, c)                                       \
    do {                                                       \
        Sleef___m512_2 r_ = Sleef_sincosf16_u10avx512f(v);      \
        (s) = r_.x;                                            \
        (c) = r_.y;                                            \
    } while (0)
#define REDUCE_ANGLES(q, f, hi, lo) reduce_angles_avx512(q, f, &(hi), &(lo))
#define REDUCE_D(q, f) reduce_d_avx512(_mm512_set1_pd(q), f)
#define FNMADDD(a, b, c) _mm512_fnmadd_pd(a, b, c)
#define SC_INTERLEAVE(s, c) sc_interleave_avx512(s, c)
#define INTERLEAVE(s, c, lo, hi)                                                                              \
    do {                                                                                                      \
        (lo) = _mm512_permutex2var_ps(s, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), c); \
        (hi) = _mm512_permutex2var_ps(s, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), c); \
    } while (0)
#define STREAM_F32(p, v) _mm512_stream_ps(p, v)
#define STREAM_F16(p, v) \
    _mm256_stream_si256((__m256i *)(void *)(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define STREAM_BF16(p, v) _mm256_stream_si256((__m256i *)(void *)(p), (__m256i)_mm512_cvtneps_pbh(v))
#define STREAM2_F16(p, a, b)                                                                                  \
    _mm512_stream_si512((void *)(p), _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), \
                                                        _mm512_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), 1))
#define STREAM2_BF16(p, a, b) _mm512_stream_si512((void *)(p), (__m512i)_mm512_cvtne2ps_pbh(b, a))
#define STORE2_F16(p, a, b)                                                                                   \
    _mm512_storeu_si512((void *)(p), _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), \
                                                        _mm512_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), 1))
#define STORE2_BF16(p, a, b) _mm512_storeu_si512((void *)(p), (__m512i)_mm512_cvtne2ps_pbh(b, a))
#define SUBD(a, b) _mm512_sub_pd(a, b)
#define FENCE() _mm_sfence()

/* q * f[0..7] reduced mod 2pi in double (see embed_body.h). */
static inline __m512d reduce_d_avx512(__m512d qv, const double *f)
{
    const __m512d inv = _mm512_set1_pd(0.15915494309189535), c1 = _mm512_set1_pd(6.283185307179586),
                  c2 = _mm512_set1_pd(2.4492935982947064e-16);
    __m512d a = _mm512_mul_pd(qv, _mm512_loadu_pd(f));
    __m512d k = _mm512_roundscale_pd(_mm512_mul_pd(a, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_fnmadd_pd(k, c2, _mm512_fnmadd_pd(k, c1, a));
}

/* q * f[0..15] reduced mod 2pi in double, split into f32 hi + lo (see embed_body.h). */
static inline void reduce_angles_avx512(double q, const double *f, __m512 *hi, __m512 *lo)
{
    __m256 h[2], l[2];
    for (int i = 0; i < 2; i++) {
        __m512d r = reduce_d_avx512(_mm512_set1_pd(q), f + 8 * i);
        h[i] = _mm512_cvtpd_ps(r);
        l[i] = _mm512_cvtpd_ps(_mm512_sub_pd(r, _mm512_cvtps_pd(h[i])));
    }
    *hi = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(h[0])), _mm256_castps_pd(h[1]), 1));
    *lo = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(l[0])), _mm256_castps_pd(l[1]), 1));
}

/* [s0 c0 s1 c1 ... s7 c7] in f32 from eight double sines and cosines. */
static inline __m512 sc_interleave_avx512(__m512d s, __m512d c)
{
    __m512 v = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(_mm512_cvtpd_ps(s))),
                                                   _mm256_castps_pd(_mm512_cvtpd_ps(c)), 1));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15), v);
}

#include "rotate_body.h"
#include "pairwise_body.h"
#include "embed_body.h"

const simd_kernels simd_kernels_avx512 = {"avx512", rotate_units, pairwise_units, embed_units};
