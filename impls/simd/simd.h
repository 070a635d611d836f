/* impls/simd/simd.h — internals of the SIMD backend (AVX2 and AVX-512), shared with the OpenMP backend.
 *
 * A call is prepared once as a simd_job (job.c: schedule, per-call tables, store mode) and cut into units
 * that threads take in contiguous blocks; every output element is computed by the same code from the same
 * inputs whatever the blocks, so results are bitwise independent of the thread count.
 *
 *   form     units                 kernel (one per ISA: avx2.c, avx512.c)
 *   rotate   tokens                rotate_body.h: per token a cos/sin table of the R/2 pairs from double
 *                                  angles pos * inv_freq with SLEEF's double sincos (Sleef_sincosd4_u35avx2 /
 *                                  Sleef_sincosd8_u35avx512f: full range reduction, so the angle is right at
 *                                  any position below 2^50 as the strict profile demands; a float32 angle is
 *                                  off by ~4e-3 rad at position 70000), gains folded in, laid out per pairing
 *                                      interleaved: C = [c0 c0 c1 c1 ...], S = [-s0 s0 -s1 s1 ...]
 *                                                   out = x * C + swap_pairs(x) * S
 *                                      half:        C = [c0 .. c(R/2-1)], S = [s0 ..]
 *                                                   out_a = xa*C - xb*S, out_b = xa*S + xb*C
 *                                  and streamed over every head of the token with FMAs in f32. Along runs
 *                                  of consecutive positions (position-linear schedules) the double sines and
 *                                  cosines come from the angle-addition recurrence instead, as embed's
 *                                  sinusoidal rows do (rotate_body.h: rot_step).
 *   bias     rows r = i * H + h    pairwise_body.h: alibi, t5, kerple.log, kerple.power, fire; tier 2
 *                                  alibi.pi, mpnet (t5's kernel), bam, masa, irpe
 *   mask     rows r = i            pairwise_body.h: mask.causal, mask.window
 *   embed    tokens                embed_body.h: sinusoidal, sinusoidal.concat, learned, nope; tier 2 ldpe, pia
 *                                  (sinusoidal.concat's row), sigma_gpt (learned's gather), fourier (its MLP)
 *
 * Storage f32, f16 (F16C) or bf16 (shift on load; round-to-nearest-even on store, AVX512-BF16 where
 * present); arithmetic in f32, angles and distances in double. Tables (cos/sin per token, T5 weights per
 * distance) are rebuilt per call inside the timed region; a table cached across calls would be a separate,
 * labelled mode. Outputs are written with non-temporal stores when the call's footprint (inputs + output)
 * exceeds the last-level cache and the call is not in place: those lines would be evicted before any reuse,
 * and streaming them saves the read-for-ownership an ordinary store pays.
 */
#ifndef PECS_SIMD_H
#define PECS_SIMD_H

#include "pecs/backend.h"
#include "../common/schedule.h"

/* What a bias/mask row computes (chosen once per call). */
typedef enum {
    SIMD_PW_ALIBI,     /* -slope_h * (q_i - k_j) */
    SIMD_PW_ALIBI_KEY, /* slope_h * k_j (BLOOM's key-index form) */
    SIMD_PW_T5,        /* w[bucket(k_j - q_i), h], gathered from a per-call table over clamped distances */
    SIMD_PW_KERPLE_LOG,
    SIMD_PW_KERPLE_POW,
    SIMD_PW_FIRE,
    SIMD_PW_MASK,
    /* tier 2: T1 rows with another distance function or slope rule (the rules in impls/common) */
    SIMD_PW_ALIBI_ABS, /* alibi.pi: -(slope_h / s) * |q_i - k_j| */
    SIMD_PW_BAM,       /* -scale_h * (|(k_j - q_i) - off_h| + eps)^beta_h: kerple.power's row, offset per head */
    SIMD_PW_MASA,      /* decay_h * (|dy| + |dx|) on the raster grid: alibi's row, Manhattan distance */
    SIMD_PW_IRPE       /* w[h][bucket(dy, dx)]: T5's by-bucket gather, iRPE's bucket rule */
} simd_pw_kind;

/* What an embed row computes. Tier 2 is here where a row is a T1 row with another row rule: ldpe and pia are
 * sinusoidal.concat's row at impl_concat_row's table row, sigma_gpt is learned's gather with two half-width
 * segments (one per position row); fourier's row is its own (an MLP over sincos features). */
typedef enum { SIMD_EMB_SIN, SIMD_EMB_SIN_CONCAT, SIMD_EMB_LEARNED, SIMD_EMB_NOPE, SIMD_EMB_FOURIER } simd_emb_kind;

typedef struct simd_job simd_job;
typedef void (*simd_unit_fn)(const simd_job *j, int64_t u0, int64_t u1, float *scratch);

/* One ISA's kernels (avx2.c, avx512.c). */
typedef struct simd_kernels {
    const char *isa;
    simd_unit_fn rotate, pairwise, embed;
} simd_kernels;
extern const simd_kernels simd_kernels_avx2, simd_kernels_avx512;

struct simd_job {
    const pecs_problem *p;
    simd_unit_fn run;      /* the kernel for this problem */
    int64_t units;         /* tokens or rows */
    size_t scratch_floats; /* per thread; even, so every thread's slice stays 8-byte aligned */
    int nt;                /* non-temporal stores for the output */
    pecs_dtype dt;
    /* rotate */
    scalar_sched sc;
    int has_sched, half;
    int rot_rows; /* rotate, with the recurrence (tab != NULL): the position rows it steps (1 to 4) */
    /* bias / mask / embed */
    simd_pw_kind pw;
    simd_emb_kind emb;
    int64_t H, K, window, maxd;
    int64_t t5nb; /* T5: 0 = the table is by clamped distance; else the table is by bucket ([H][t5nb]) */
    int t5bidir;
    double c, L, eps; /* FIRE; BAM's eps (a float, held exactly) */
    impl_irpe irpe;   /* iRPE's bucket rule */
    double gridW;     /* MaSA's raster width */
    float *tab;       /* per call: T5 [H][2*maxd+1] weights by clamped distance (or [H][t5nb] by bucket when
                         max_distance is too large for that); FIRE weights in f32;
                         KERPLE r1, r2 per head; ALiBi slopes (ALiBi-PI's over s); BAM scale, beta, offset
                         per head ([3][H]); MaSA decay per head; iRPE w [H][nb]; sinusoidal: the
                         frequencies f, cos f and sin f as doubles, SIMD_SIN_NP(D) each; rotate (position-linear
                         schedules): 2^rot_rows step tables, table m the cos and sin (SIMD_SIN_NP(R) doubles
                         each) of the step of every pair whose position row r has bit r set in m, and of 0
                         (1 and 0) for the others; else NULL */
    int64_t hidden;   /* FIRE's and fourier's hidden width */
    impl_concat cc;   /* sinusoidal.concat, ldpe, pia: the table row rule */
    int64_t segs;     /* learned: 1 table row of width D; sigma_gpt: 2 of width D/2, from position rows 0 and 1 */
    int64_t F;        /* fourier: features */
    const float *fw;  /* fourier: the table w in f32 (w itself, or j->tab converted from f16/bf16) */
    int64_t fw_ld;    /* its row stride in floats */
};

/* Floats of each bias scratch row for K keys: K rounded up to whole vectors, plus one vector, so a vector
 * store may start at any j < K. */
/* T5's table by clamped distance up to this max_distance (2^16+1 floats per head); by bucket beyond. */
#define SIMD_T5_DIST_MAX 32768
#define SIMD_ROW_PAD(K) (((K) + 31) & ~(int64_t)15)

/* Floats of each embed scratch row for model dimension D: D plus two vectors of padding, whole vectors. */
#define SIMD_EMBED_PAD(D) (((D) + 64) & ~(int64_t)15)

/* Sinusoidal rows (sinusoidal, sinusoidal.concat, ldpe, pia): frequencies, and the recurrence's state, as doubles
 * per pair, (D + 1) / 2 pairs rounded up to whole vectors of either ISA. A run of tokens whose table rows step by
 * +1 is computed by the angle-addition recurrence from a sincos taken at the run's start, restarted at every
 * token index that is a multiple of SIMD_SIN_BLOCK (so a token's bits do not depend on how the tokens are split
 * over threads, and the double recurrence's error stays below 1e-13; see embed_body.h). The rotate kernel's
 * recurrence (rotate_body.h) holds SIMD_SIN_NP(R) pairs for rotary dimension R the same way. */
#define SIMD_SIN_NP(D) ((((D) + 1) / 2 + 15) & ~(int64_t)15)
#define SIMD_SIN_BLOCK 64

/* Doubles of each of fourier's per-token feature arrays (angles, cos, sin) for F features: F/2 rounded up to
 * whole double vectors of either ISA. */
#define SIMD_FOURIER_HP(F) (((F) / 2 + 15) & ~(int64_t)15)

/* Prepare p for the ISA's kernels; on failure nothing is left to free. */
pecs_status simd_job_init(simd_job *j, const pecs_problem *p, const simd_kernels *k);
void simd_job_free(simd_job *j);

/* Run a whole call: prepare, run the units on `threads` threads through par (NULL or threads <= 1: this
 * thread alone), free. par runs fn(j, u0, u1, scratch + k * j->scratch_floats) over k blocks. */
typedef void (*simd_par_fn)(const simd_job *j, int threads, float *scratch);
pecs_status simd_call(const pecs_problem *p, int threads, simd_par_fn par);

/* The ISA this process uses: PECS_ARCH (scalar|avx2|avx512) if set, else the best the CPU has. Returns
 * NULL and writes a reason when PECS_ARCH asks for one the CPU lacks. "scalar" means no SIMD kernel. */
const char *simd_isa(char *why, size_t why_len);
const simd_kernels *simd_kernels_for(const char *isa);

/* The kernel kind (simd_pw_kind, simd_emb_kind; 0 for a rotate schedule) of a problem these kernels cover,
 * else -1: job.c's one list of covered encodings. */
int simd_kind_of(const pecs_problem *p);

/* 1 if the problem's encoding reads a weight tensor "w" (t5, mpnet, fire, irpe). */
int simd_needs_w(const pecs_problem *p);

/* 1 if the problem is one these kernels take (every pair schedule of impls/common, T1 and T2; alibi, t5,
 * kerple, fire, the masks and the T2 bias rows alibi.pi, mpnet, bam, masa, irpe; sinusoidal, learned, nope and
 * the T2 embed rows ldpe, pia, sigma_gpt, fourier; f32/f16/bf16; unit inner stride), else 0 and the reason. */
int simd_takes(const pecs_problem *p, char *reason, size_t reason_size);

/* The backend entry both backends share: NULL, logged with the reason, when PECS_ARCH cannot be honoured
 * (a forced choice must fail the run, not skip every case). */
const pecs_backend *simd_entry(const pecs_backend *b, uint32_t host_abi_major, const pecs_host *host);

/* Size of the last-level cache in bytes (sysfs; 32 MiB when unknown), read once. */
double simd_llc_bytes(void);

#endif
