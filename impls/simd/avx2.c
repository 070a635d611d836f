/* impls/simd/avx2.c — the rotate kernel for AVX2 + FMA + F16C (this file only is built with -mavx2 -mfma
 * -mf16c; simd.c calls it only after __builtin_cpu_supports says the CPU has them). */
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
#define FNMADD(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define SWAP_PAIRS(v) _mm256_permute_ps(v, 0xB1)
#define LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define STORE_F16(p, v) _mm_storeu_si128((__m128i *)(void *)(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define LOAD_BF16(p) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p))), 16))
#define STORE_BF16(p, v) store_bf16_avx2(p, v)
#define SINCOS(a, s, c)                                      \
    do {                                                     \
        Sleef___m256d_2 r_ = Sleef_sincosd4_u35avx2(_mm256_loadu_pd(a)); \
        (s) = r_.x;                                          \
        (c) = r_.y;                                          \
    } while (0)
#define STREAM_F32(p, v) _mm256_stream_ps(p, v)
#define STREAM_F16(p, v) \
    _mm_stream_si128((__m128i *)(void *)(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define STREAM_BF16(p, v) store_bf16_avx2(p, v) /* 16-byte result: ordinary store */
#define FENCE() _mm_sfence()
#define FN simd_tokens_avx2

/* f32 -> bf16 round-to-nearest-even, NaN kept quiet (as pecs_f32_to_bf16). */
static inline void store_bf16_avx2(uint16_t *p, __m256 v)
{
    __m256i b = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(b, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(0x40)), nan);
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    _mm_storeu_si128((__m128i *)(void *)p, _mm256_castsi256_si128(packed));
}

#include "rotate_body.h"

#define FN_PAIR simd_pairwise_avx2
#include "pairwise_body.h"
