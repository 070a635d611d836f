/* impls/simd/avx512.c — the rotate kernel for AVX-512 (F, BW, VL, BF16); only this file is built with
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
#define FNMADD(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define SWAP_PAIRS(v) _mm512_permute_ps(v, 0xB1)
#define LOAD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p)))
#define STORE_F16(p, v) \
    _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define LOAD_BF16(p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(p))), 16))
#define STORE_BF16(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (__m256i)_mm512_cvtneps_pbh(v))
#define SINCOS(a, s, c)                                      \
    do {                                                     \
        Sleef___m512d_2 r_ = Sleef_sincosd8_u35avx512f(_mm512_loadu_pd(a)); \
        (s) = r_.x;                                          \
        (c) = r_.y;                                          \
    } while (0)
#define STREAM_F32(p, v) _mm512_stream_ps(p, v)
#define STREAM_F16(p, v) \
    _mm256_stream_si256((__m256i *)(void *)(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define STREAM_BF16(p, v) _mm256_stream_si256((__m256i *)(void *)(p), (__m256i)_mm512_cvtneps_pbh(v))
#define FENCE() _mm_sfence()
#define FN simd_tokens_avx512

#include "rotate_body.h"

#define FN_PAIR simd_pairwise_avx512
#include "pairwise_body.h"
