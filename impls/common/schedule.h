/* impls/common/schedule.h — the frequency schedules every in-tree backend shares (scalar, simd, openmp).
 *
 * A backend's rotate kernel asks impl_schedule() for the problem's schedule: inverse frequencies,
 * the position row of each pair, the xPos gain and the attention factor, with freq_factors and
 * attn_factor already applied. The schedules are computed in double the way engines do it (iterated
 * theta_scale as ggml, ggml-style YaRN blend, ggml's M-RoPE sector rules): an implementation
 * independent of reference/, so the suites compare two codes, not one with itself. Not hot: once per
 * call. Built against include/pecs only.
 */
#ifndef PECS_IMPL_SCHEDULE_H
#define PECS_IMPL_SCHEDULE_H

#include "pecs/backend.h"

typedef struct scalar_sched {
    int64_t R;          /* rotary dimension */
    double *inv_freq;   /* [R/2] */
    int *axis;          /* [R/2] position row */
    double *zeta;       /* [R/2] xPos scale bases */
    double zeta_rate, zeta_center;
    double pos_offset;  /* added to every position before the angle (STRING's shifted queries) */
    double log_gain_len; /* > 1: gain x ln(pos+1)/ln(log_gain_len) where pos+1 > it (Entropy-ABF queries) */
    int64_t H;          /* heads of the problem's x (0 without one) */
    double *head_scale; /* [H] or NULL (per-head schedules: Ms-PoE, MHRoPE): inv_freq multiplier of head h */
    int *head_axis;     /* [H] or NULL: position row of every pair of head h, -1 = axis[i] */
    int *head_imag;     /* [H] or NULL: 1 = head h turns at angle - pi/2 (RoPE++): (cos, sin) -> (sin, -cos) */
    double *head_freq;  /* [H][R/2] or NULL (HARPE, one base per head): pair i of head h uses head_freq[h*R/2 + i] in
                         * place of inv_freq[i]; set with head_scale (impl_schedule_heads), so per-head kernels see it */
    double attn;
    int64_t block;      /* > 0: a block schedule (ComRoPE): lanes j*b..j*b+b-1 turn by exp(sum_i pos[i][t] B_ij); no pair angles */
    int64_t gen_rows;   /* position rows the generators read */
    double *gen;        /* [H][gen_rows][R/block][block][block] skew-symmetric generators B_ij of head h, or NULL */
    const pecs_tensor *gate; /* PSC: the maps "w" [4*H*D, D] (backend dtype), or NULL: before the rotation, head h's
                              * lanes become x * (1 + tanh(silu(x U_h) V_h) / 2), U_h = rows gate_row0 + h*D .., V_h =
                              * rows gate_row0 + (H + h)*D .. (D x D each) */
    int64_t gate_row0;  /* 0 (role=query) or 2*H*D (role=key) */
    double *phase;      /* [T][H][R/2] or NULL (Selective RoPE): pair i of head h at token t turns by
                         * phase[(t*H + h)*(R/2) + i] * inv_freq[i]; the positions do not enter the angle */
} scalar_sched;

/* Per-encoding schedule hooks, generated from the registry (rotate rows only). */
#define SCALAR_HOOK_ROTATE(sym) pecs_status scalar_##sym(const pecs_problem *p, scalar_sched *s)
#define IMPL_DECL_ROTATE(sym) SCALAR_HOOK_ROTATE(sym);
#define IMPL_DECL_BIAS(sym)
#define IMPL_DECL_EMBED(sym)
#define IMPL_DECL_MASK(sym)
#define IMPL_DECL_SCORES(sym)
#define IMPL_DECL_POSMAP(sym)
#define IMPL_DECL_KATTN(sym)
#define PECS_ENCODING(sym, id, form, ...) IMPL_DECL_##form(sym)
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM

typedef pecs_status (*scalar_schedule_fn)(const pecs_problem *p, scalar_sched *s);

/* The schedule hook of a rotate encoding id, or NULL. */
scalar_schedule_fn impl_schedule_of(const char *id);

/* Rotary dimension of a rotate problem with head_dim D (rotary_dim, 0 = D); 0 if invalid. */
int64_t impl_rotary_dim(const pecs_problem *p, int64_t D);

/* Allocate s for rotary dim R and fill it for problem p: the encoding's hook, then freq_factors and
 * attn_factor; checks that every pair's position row exists in "pos". Free with impl_schedule_free. */
pecs_status impl_schedule(const pecs_problem *p, int64_t R, scalar_sched *s);
void impl_schedule_free(scalar_sched *s);

/* 1 if the rotate encoding id can turn heads a quarter back (scalar_sched.head_imag: RoPE++). Backends whose
 * kernels take only head_scale / head_axis decline these. */
int impl_schedule_has_imag(const char *id);

/* 1 if the rotate encoding id has per-head inverse frequencies (scalar_sched.head_freq: HARPE). Backends whose kernels
 * take one inv_freq row for all heads decline these. */
int impl_schedule_has_head_freq(const char *id);

/* 1 if the rotate encoding id gates x with learned maps before rotating (scalar_sched.gate: PSC). Backends whose
 * kernels only rotate decline these. */
int impl_schedule_has_gate(const char *id);

/* 1 if the rotate encoding id turns each (token, head, pair) by a content phase (scalar_sched.phase: Selective
 * RoPE). Backends whose kernels take one angle per (token, pair) decline these. */
int impl_schedule_has_phase(const char *id);

/* 1 if the rotate encoding id has a block schedule (scalar_sched.block > 0: not pair rotations). Backends whose
 * kernels rotate pairs decline these. */
int impl_schedule_has_blocks(const char *id);

/* E = exp(A), b x b row-major, in double (scaling to norm <= 1, Horner Taylor, squaring); work: 2*b*b doubles. */
void impl_expm(const double *A, int64_t b, double *E, double *work);

/* For per-head schedule hooks: allocate head_scale (1), head_axis (-1) and head_imag (0) for s->H heads. */
pecs_status impl_schedule_heads(scalar_sched *s);

/* Angle of pair i of head h at token t: (pos[row][t] + pos_offset) * inv_freq[i] * head_scale[h], the row being
 * head_axis[h] when >= 0, else axis[i]; head_freq[h][i] replaces inv_freq[i] when the schedule has it (HARPE). */
double impl_angle(const scalar_sched *s, const pecs_tensor *pos, int64_t t, int64_t h, int64_t i);

/* Gain of pair i at token t (attn, times the xPos or Entropy-ABF factor when the schedule has one), and
 * whether the schedule has such a per-token gain at all (otherwise every gain is attn). */
double impl_gain(const scalar_sched *s, const pecs_tensor *pos, int64_t t, int64_t i);
int impl_has_token_gain(const scalar_sched *s);

/* Bias helpers the in-tree backends share: ALiBi's slope of head h of H (ggml soft_max_ext form, double),
 * and HF T5's bucket of rel = key - query (double arithmetic; the reference follows HF's float32). */
double impl_alibi_slope(int64_t n_head, int64_t h, double max_bias);
int64_t impl_t5_bucket(int64_t rel, int bidirectional, int64_t num_buckets, int64_t max_distance);

/* T5's parameters fit its weight table w [num_buckets, H] and give buckets in range (max_distance beyond
 * max_exact, at least two buckets per direction). */
int impl_t5_params_ok(const pecs_problem *p, const pecs_tensor *w, int64_t H);

/* Tier-2 bias rows whose form is a T1 row's with another distance function or slope rule (impls/scalar/bias.c
 * and impls/simd/pairwise_body.h both use these, so the two backends share one reading of each rule). */

/* ALiBi-PI's slope divisor s (factor, or key_len (0: n_keys) / train_seq_len beyond it, else 1); 0 if the
 * parameters are invalid (factor in (0, 1], train_seq_len 1). */
double impl_alibi_pi_scale(const pecs_problem *p, int64_t n_keys);

/* Raster index -> (row, column) on a grid W wide (floor division, so negative indices stay on the grid). */
void impl_grid_rc(double pos, double W, double *y, double *x);

/* MaSA's decay of head h of H, ln(1 - 2^-(a + b h/H)), in double. */
double impl_masa_decay(const pecs_problem *p, int64_t H, int64_t h);

/* BAM's per-head lists have 0, 1 or H values; the constants of head h: scale exp(theta_alpha_h) (ALiBi
 * slope when theta_alpha is empty), shape theta_beta_h, offset mu_h = exp(theta_mu_h) - exp(-theta_mu_h). */
int impl_bam_params_ok(const pecs_problem *p, int64_t H);
void impl_bam_head(const pecs_problem *p, int64_t H, int64_t h, float *scale, float *beta, float *off);

/* iRPE's bucket rule: set up once per call (0 if the parameters or the table w [H, num_buckets] are
 * inconsistent), then the bucket of (query, key) raster positions, in [0, num_buckets). */
typedef struct impl_irpe {
    float alpha, beta, log_ratio, span;
    int64_t B, nb;
    int method; /* 0 product, 1 euclidean, 2 quant */
    double W;
} impl_irpe;
int impl_irpe_init(const pecs_problem *p, const pecs_tensor *w, int64_t H, impl_irpe *c);
int64_t impl_irpe_bucket(const impl_irpe *c, double qpos, double kpos);

/* Frequency k of a sinusoidal table over D dims, log_base = ln(base): base^(-2k/D) (Vaswani, pair k holds dims
 * 2k, 2k+1), or with concat base^(-k/(D/2 - 1)) (fairseq: dims k and D/2 + k). */
double impl_sinusoidal_freq(double log_base, int64_t k, int64_t D, int concat);

/* Embed rows that read fairseq's [sin | cos] table (sinusoidal.concat, ldpe, pia): impls/scalar/embed.c and
 * impls/simd/embed_body.h both use this, so the backends share one reading of each row rule. A token at position
 * pos reads table row off + sign * pos (the angle multiplier of the row's frequencies impl_sinusoidal_freq(log_base,
 * k, D, 1)); the token at zero_pos (where has_zero) reads fairseq's zero pad row; where integral (ldpe) the position
 * must be an integer and the row >= 0.
 *   sinusoidal.concat   off = padding_idx + 1, zero at -1 (padding_idx >= 0; else the row is pos itself)
 *   pia                 off = padding_idx + 1, zero at -1, base 10000
 *   ldpe                off = length + 1, sign -1, zero at length (row 1), base 10000 */
typedef struct impl_concat {
    double off, sign, zero_pos, log_base;
    int has_zero, integral;
} impl_concat;
void impl_concat_init(const pecs_problem *p, impl_concat *c);
/* 1 and the row in *r; 0 for the zero row; -1 if pos is not a position of this encoding. */
int impl_concat_row(const impl_concat *c, double pos, double *r);

/* inv_freq[i] = base^(-2i/R) for i < R/2, by repeated multiplication as ggml does. */
void scalar_default_freqs(double base, int64_t R, double *inv_freq);

#endif
