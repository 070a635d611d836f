/* impls/simd/simd.h — internals of the SIMD backend (AVX2 and AVX-512; rotate form).
 *
 * Per token, a cos/sin table for the R/2 pairs is built from double angles pos * inv_freq with SLEEF's
 * vector sincos (Sleef_sincosd4_u10avx2 / Sleef_sincosd8_u10avx512f: 1-ulp double sincos with full
 * range reduction, so the angle is right at any position below 2^50, as the strict profile demands;
 * a float32 angle would be off by ~4e-3 rad at position 70000). The gains (attention factor, xPos) are
 * folded into the table, which is then laid out for the pairing:
 *     interleaved: C = [c0 c0 c1 c1 ...], S = [-s0 s0 -s1 s1 ...]; out = x * C + swap_pairs(x) * S
 *     half:        C = [c0 .. c(R/2-1)], S = [s0 ..];  out_a = xa*C - xb*S, out_b = xa*S + xb*C
 * and streamed over every head of the token with FMAs in f32; storage f32, f16 (F16C) or bf16 (shift on
 * load; round-to-nearest-even on store, AVX512-BF16 where present). The table is rebuilt per call and per
 * token inside the timed region (a table cached across calls would be a separate, labelled mode).
 */
#ifndef PECS_SIMD_H
#define PECS_SIMD_H

#include "pecs/backend.h"
#include "../common/schedule.h"

/* Scratch one thread needs for one call: 2 tables of R floats and the angle/gain work arrays. */
size_t simd_scratch_floats(int64_t R);

/* Rotate tokens [t0, t1) of problem p with schedule sc; scratch from simd_scratch_floats(R). */
typedef void (*simd_tokens_fn)(const pecs_problem *p, const scalar_sched *sc, int64_t t0, int64_t t1, float *scratch);
void simd_tokens_avx2(const pecs_problem *p, const scalar_sched *sc, int64_t t0, int64_t t1, float *scratch);
void simd_tokens_avx512(const pecs_problem *p, const scalar_sched *sc, int64_t t0, int64_t t1, float *scratch);

/* Bias and mask rows [r0, r1) (r = i * H + h) of problem p; scratch from simd_pairwise_scratch_floats(Lk). */
typedef void (*simd_rows_fn)(const pecs_problem *p, int64_t r0, int64_t r1, float *scratch);
void simd_pairwise_avx2(const pecs_problem *p, int64_t r0, int64_t r1, float *scratch);
void simd_pairwise_avx512(const pecs_problem *p, int64_t r0, int64_t r1, float *scratch);
size_t simd_pairwise_scratch_floats(int64_t K);
simd_rows_fn simd_pairwise_kernel(const char *isa);
/* The SIMD pairwise encodings. */
int simd_is_pairwise(const char *encoding);

/* The ISA this process uses: PECS_ARCH (scalar|avx2|avx512) if set, else the best the CPU has. Returns
 * NULL and writes a reason when PECS_ARCH asks for one the CPU lacks. "scalar" means no SIMD kernel. */
const char *simd_isa(char *why, size_t why_len);
simd_tokens_fn simd_kernel(const char *isa);

/* 1 if the problem is one this backend's kernels take (rotate form, or alibi/t5/masks; f32/f16/bf16;
 * unit inner stride). */
int simd_takes(const pecs_problem *p, char *reason, size_t reason_size);

#endif
