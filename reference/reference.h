/* reference/reference.h — the scalar oracle: every encoding in double precision, exact conventions.
 *
 * Contract
 *   pecs_ref_run() takes a pecs_problem whose activation tensors are F64 (any strides) and computes the
 *   exact output of the encoding for the SAME rounded inputs the backend gets (the harness converts them
 *   exactly to double). Positions keep their own dtype. Angles are computed as an exact product
 *   pos * inv_freq reduced modulo 2*pi in double-double (pecs_ref_sincos), so the reference keeps
 *   relative-shift invariance to ~1e-15 at any position below 2^50.
 *   Compiled with -O2 -ffp-contract=off and no fast-math (see the Makefile): clarity and precision, not
 *   speed.
 *
 * Per-encoding hooks (one file per encoding, named after the registry row; a missing hook is a link
 * error). Signatures by form:
 *   ROTATE  pecs_ref_<sym>(p, sched, why, why_len)   the frequency schedule (pecs_ref_rot below): inverse
 *           frequencies (radians per position unit), the position row of each pair, the xPos scale and
 *           the attention factor. The form driver applies freq_factors and attn_factor and rotates.
 *   BIAS    pecs_ref_<sym>(p, H, h, qpos, kpos, &bias, why, why_len)   one element of B[h][i][j].
 *   EMBED   pecs_ref_<sym>(p, D, pos, pos_rows, t, row[D], why, why_len) the row P(pos, 0..D-1) of token t.
 *   MASK    pecs_ref_<sym>(p, qpos, kpos, &allowed, why, why_len)      1 if the key is visible.
 *   SCORES  pecs_ref_<sym>(p, why, why_len)                             the whole logits tensor "out".
 *   POSMAP  pecs_ref_<sym>(p, why, why_len)                             every row of "out" [P, T] (f64) from
 *           "idx" [1, T]. Called without tensors (n_tensors 0) it only checks the parameters.
 *   Hooks read the learned-data tensor "w" (registry `weights`), in double, from p when they have one.
 *   Hooks return PECS_INVALID with a one-line reason when parameters are inconsistent in ways the
 *   schema's per-parameter bounds cannot express (e.g. beta_fast < beta_slow).
 */
#ifndef PECS_REFERENCE_H
#define PECS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "pecs/backend.h"

#define PECS_PI 3.14159265358979323846

/* A rotate-form frequency schedule. The driver fills the inputs and the defaults (axis 0, zeta 1, rates 0,
 * offsets 0, attn 1, softmax_scale 1) before calling the hook; the hook overwrites what its encoding defines.
 * Pair i of token t is rotated by angle (pos[axis[i]][t] + pos_offset) * inv_freq[i] and multiplied by
 *     attn * zeta[i] ^ ((pos[0][t] - zeta_center) * zeta_rate)          (xPos; 1 when zeta_rate = 0)
 *          * ln(pos[0][t] + 1) / ln(log_gain_len)   where pos[0][t] + 1 > log_gain_len (Entropy-ABF queries;
 *                                                    1 elsewhere and when log_gain_len = 0).
 * Per-head schedules (Ms-PoE, MHRoPE) call pecs_ref_rot_heads() and fill head_scale / head_axis: pair i of head h
 * then uses inverse frequency inv_freq[i] * head_scale[h] (0: the head is NoPE) and position row head_axis[h]
 * when that is >= 0 (else axis[i]); head_imag[h] = 1 turns head h a quarter back (RoPE++ imaginary heads): its cos and
 * sin are replaced by sin and -cos of the same angle (the rotation at angle - pi/2, exact). `heads` is 0 when the schedule is evaluated without tensors (pecs eval):
 * the per-head arrays stay NULL and the schedule is the head-independent part. */
typedef struct pecs_ref_rot {
    int64_t R;             /* in: rotary dimension */
    double seq_len;        /* in: current sequence length (pecs_problem_seq_len) */
    double *inv_freq;      /* out [R/2] */
    int32_t *axis;         /* out [R/2] position row of each pair */
    double *zeta;          /* out [R/2] xPos scale bases */
    double zeta_rate, zeta_center;
    double pos_offset;     /* out: added to every position before the angle (STRING's shifted queries) */
    double log_gain_len;   /* out: > 1 turns on the logarithmic token gain above (Entropy-ABF) */
    int64_t heads;         /* in: H of the problem (0: unknown) */
    double *head_scale;    /* out [heads] or NULL: inv_freq multiplier of head h (pecs_ref_rot_heads) */
    int32_t *head_axis;    /* out [heads] or NULL: position row of every pair of head h, -1 = axis[i] */
    int32_t *head_imag;    /* out [heads] or NULL: 1 = head h rotates at angle - pi/2 (cos, sin) -> (sin, -cos) */
    double *head_freq;     /* out [heads][R/2] or NULL: per-head inverse frequencies (HARPE, one base per head): pair i of
                            * head h uses head_freq[h * R/2 + i] in place of inv_freq[i] (times head_scale[h] when set);
                            * freq_factors divide it too. Allocated by the hook (calloc), freed with the head arrays. */
    double attn;           /* out: multiplies cos and sin */
    double softmax_scale;  /* out: multiplier a model applies to its softmax scale (reported, not applied) */
    /* Block schedules (ComRoPE): not pair rotations. block = b > 0 says the R channels of a head are R/b blocks of
     * b consecutive lanes, each turned by a matrix exponential; inv_freq stays 0 (no pair angle). With heads > 0 the
     * hook fills gen (pecs_ref_rot_blocks): gen[((h * gen_rows + i) * (R/b) + j) * b * b + r * b + c] is entry (r, c)
     * of the skew-symmetric generator B_ij of head h for position row i, and the driver sets block j of head h at
     * token t to exp(sum_i pos[i][t] B_ij) x_block (pecs_ref_expm). */
    int64_t block;         /* out: b, or 0 for a pair schedule */
    int64_t gen_rows;      /* out: position rows the generators read */
    double *gen;           /* out [heads][gen_rows][R/b][b][b] or NULL */
    /* Content gate (PSC): when gate is set, the driver first replaces the D lanes of head h at token t by
     * x * (1 + tanh(silu(x U_h) V_h) / 2), lane by lane, and rotates that: U_h = gate rows gate_row0 + h*D ..,
     * V_h = rows gate_row0 + (H + h)*D .. (each D x D, row-major: U_h[i][j] = gate[gate_row0 + h*D + i][j]).
     * Position-free, so the logits stay exactly relative. */
    const pecs_tensor *gate; /* out: the learned maps (f64, [4*H*D, D]) or NULL */
    int64_t gate_row0;       /* out: first row of this call's maps (0 for queries, 2*H*D for keys) */
    /* Content phase (Selective RoPE): when phase is set (owned, malloc'd by the hook), pair i of head h at token t
     * turns by phase[(t * heads + h) * (R/2) + i] * inv_freq[i]: the positions are not read for the angle. */
    double *phase;           /* out [T][heads][R/2] or NULL */
} pecs_ref_rot;

#define PECS_REF_HOOK_ROTATE(sym) \
    pecs_status pecs_ref_##sym(const pecs_problem *p, pecs_ref_rot *sched, char *why, size_t why_len)
#define PECS_REF_HOOK_BIAS(sym)                                                                          \
    pecs_status pecs_ref_##sym(const pecs_problem *p, int64_t H, int64_t h, double qpos, double kpos, double *bias, \
                               char *why, size_t why_len)
#define PECS_REF_MAX_POS_ROWS 8 /* position rows a hook may get (the registry's largest is 4) */
/* Embed hooks get the token's position on row 0 as `pos` and all its P = registry `rows` positions as
 * pos_rows[0 .. P-1] (pos == pos_rows[0]; only sigma_gpt has P = 2), and the token's index t in x (peg reads x's
 * neighbouring rows through p; t is -1 when the hook is called without tensors, to check parameters or positions). */
#define PECS_REF_HOOK_EMBED(sym)                                                                          \
    pecs_status pecs_ref_##sym(const pecs_problem *p, int64_t D, double pos,                              \
                               const double *pos_rows __attribute__((unused)), int64_t t __attribute__((unused)), \
                               double *row, char *why, size_t why_len)
#define PECS_REF_HOOK_MASK(sym) \
    pecs_status pecs_ref_##sym(const pecs_problem *p, double qpos, double kpos, int *allowed, char *why, size_t why_len)
#define PECS_REF_HOOK_SCORES(sym) pecs_status pecs_ref_##sym(const pecs_problem *p, char *why, size_t why_len)
#define PECS_REF_HOOK_POSMAP(sym) pecs_status pecs_ref_##sym(const pecs_problem *p, char *why, size_t why_len)
#define PECS_REF_HOOK_KATTN(sym) pecs_status pecs_ref_##sym(const pecs_problem *p, char *why, size_t why_len)

#define PECS_ENCODING(sym, id, form, ...) PECS_REF_HOOK_##form(sym);
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM

/* sin and cos of the exact angle pos*w (both doubles), with the product and the reduction modulo 2*pi
 * carried in double-double. Absolute error about 1e-16 for |pos*w| < 2^50. */
void pecs_ref_sincos(double pos, double w, double *s, double *c);

/* Rotary dimension R of a rotate problem (rotary_dim, 0 meaning head_dim) after validation:
 * R even, 2 <= R <= D. Returns 0 and writes a reason if invalid. */
int64_t pecs_ref_rotary_dim(const pecs_problem *p, int64_t head_dim, char *why, size_t why_len);

/* Allocate / free the arrays of a schedule for rotary dimension R; reset sets the defaults a hook starts
 * from (what pecs_ref_schedule does before calling it). */
pecs_status pecs_ref_rot_alloc(pecs_ref_rot *s, int64_t R);
void pecs_ref_rot_reset(pecs_ref_rot *s);
void pecs_ref_rot_free(pecs_ref_rot *s);

/* For per-head schedules: allocate head_scale / head_axis / head_imag for s->heads heads, filled with 1, -1, 0. Does nothing
 * (and leaves them NULL) when s->heads is 0. */
pecs_status pecs_ref_rot_heads(pecs_ref_rot *s);

/* The full frequency schedule of a rotate problem (s allocated for its R): the encoding's hook, then
 * freq_factors (inv_freq[i] /= ff[i]) and attn_factor. Positions, when p has them, give seq_len. */
pecs_status pecs_ref_schedule(const pecs_problem *p, pecs_ref_rot *s, char *why, size_t why_len);

/* Small shared checks for hooks: a REAL_LIST parameter of n values (or 1 broadcast when `broadcast`), and
 * integral sections summing to `total`. Return 0 and write the reason on failure. */
int pecs_ref_list_len_ok(const pecs_problem *p, const char *name, int64_t n, int broadcast, char *why, size_t why_len);
int pecs_ref_sections(const pecs_problem *p, int64_t total, int64_t sec[3], char *why, size_t why_len);

/* The learned-data tensor "w" as double, or NULL (with a reason) when missing or of the wrong shape. */
const pecs_tensor *pecs_ref_weights(const pecs_problem *p, int64_t rows, int64_t cols, char *why, size_t why_len);

/* Segments laid out back to back from index `origin`, one per element of the REAL_LIST parameter `lengths` (packing's
 * prompts, anchor's documents after the anchor, PCW's windows): the segment holding packed index t (-1 when t is before
 * origin or at or past the end), its first index, the first longest segment (np.argmax) and the end. The lengths must
 * be token counts summing to at most 2^53 and t a token index (an integer from 0): else PECS_INVALID with the reason,
 * prefixed with the encoding's id. Every length is checked, the ones after t's segment too. */
typedef struct pecs_ref_segments {
    int64_t n;          /* number of segments (0: no lengths given) */
    int64_t seg;        /* segment of t, or -1 */
    int64_t longest;    /* first segment of the largest length (0 when n == 0) */
    double seg_start;   /* first index of segment seg */
    double end;         /* origin + the sum of the lengths */
} pecs_ref_segments;
pecs_status pecs_ref_segment_of(const pecs_problem *p, double origin, double t, pecs_ref_segments *s, char *why,
                                size_t why_len);

/* Block schedules: allocate s->gen for s->heads heads, `rows` position rows and R/b blocks of b x b (zeroed), and
 * set s->block = b, s->gen_rows = rows. Freed by pecs_ref_rot_free / reset. */
pecs_status pecs_ref_rot_blocks(pecs_ref_rot *s, int64_t b, int64_t rows);

/* E = exp(A) for a b x b matrix (row-major), in double: scaling by 2^-s until the 1-norm is <= 1/2, a 30-term
 * Taylor series (truncation below 2^-31/31!, far under one rounding), then s squarings. work holds 3*b*b
 * doubles. Non-finite A gives a NaN E. */
void pecs_ref_expm(const double *A, int64_t b, double *E, double *work);

/* c = a b for b x b row-major matrices (c distinct from a and b), summed in index order. */
void pecs_ref_matmul(const double *a, const double *b_, int64_t b, double *c);

/* Element offset of [a][b][c] in a 3-D tensor. */
static inline int64_t pecs_at3(const pecs_tensor *t, int64_t a, int64_t b, int64_t c)
{
    return a * t->stride[0] + b * t->stride[1] + c * t->stride[2];
}

/* Relative-key logits, the direct form shared by shaw, music and huang (one table "w" [rows, D] for all heads):
 *     out[h][i][j] = (q_i . k_j + q_i . a + key_term * k_j . a) / sqrt(D),   a = w[row(d)] (0 when row(d) == -1)
 * for the distance d = kpos_j - qpos_i, which must be an integer; -inf where masked_after and d > 0. row(d) is
 * the table row of d, -1 for no relative term, or -2 when d has none and the problem is invalid (why says it). */
typedef struct pecs_ref_relkey {
    int64_t rows;
    int key_term, masked_after;
    int64_t (*row)(const struct pecs_ref_relkey *rk, double d);
    int64_t n;                /* the encoding's own table parameter (K, M or N) for row() */
    const char *n_name;       /* its name, for the message of a distance without a row */
} pecs_ref_relkey;
pecs_status pecs_ref_relkey_logits(const pecs_problem *p, const pecs_ref_relkey *rk, char *why, size_t why_len);

/* The positions a case generates: every position lies in [lo, hi], and (pairwise forms) every query-key
 * distance |qpos - kpos| is at most dist. */
typedef struct pecs_ref_span {
    double lo, hi, dist;
} pecs_ref_span;

/* Validate the parameters of a problem (no tensors needed) by evaluating the encoding once: the
 * schedule for rotate, one row for embed, one element per head for bias. With a span, the encoding is
 * also evaluated at its ends (embed at lo and hi; bias, mask and scores at a query at hi with a key dist
 * before it and a query at lo with a key dist after it), so a position a table cannot hold (a learned
 * row past npos, a relative distance past huang's max_distance) is bad input before anything runs. */
pecs_status pecs_ref_check(const pecs_problem *p, int64_t heads, int64_t head_dim, const pecs_ref_span *span,
                           char *why, size_t why_len);

/* Per-(token, pair) gain zeta_i^((pos - c) * rate) of a rotate problem whose schedule scales (xPos), in
 * gain[t * R/2 + i]; returns 0 and writes nothing when every gain is 1 (every other schedule). The
 * harness divides outputs by it before the element check: a float32 kernel's error grows with the
 * gain (cancellation in x_a cos - x_b sin at gain 150 costs 150 ulps), so elements are judged relative
 * to the rotation they are, and NMSE (scale-free) still sees the gains. */
int pecs_ref_rotate_gain(const pecs_problem *p, double *gain, int64_t *R_out);

/* Elements of a scores (or kattn) problem's "out" (row-major [H, Lq, Lk]; kattn [Lq, H, D]) that sit behind a
 * threshold a kernel may decide the other way; the count is returned, 0 for encodings without one. A kernel is
 * modelled as computing the D-term dot
 * products in arithmetic of unit roundoff `unit` (2^-24: float32, the levels' arithmetic) and may store them in the
 * case dtype, whose smallest subnormal is `tiny`. For each such element (the caller zeroes skip):
 *   skip[e] = 1  the element is finite whatever the decisions, and lies in [lo[e], hi[e]] (exact values over every
 *                combination of the undecided decisions);
 *   skip[e] = 2  its own decision is undecided: -inf, or finite in [lo[e], hi[e]].
 * lo and hi (n_out doubles each) may be NULL. The caller judges these elements against the range, never skips them:
 * NaN, +inf or a value outside every decision is wrong whatever the rounding.
 * tra: key j is kept iff s = q.k/sqrt(D) > 0; where |s| <= gamma_D sum_d |q_d k_d| / sqrt(D) + tiny the decision
 * is undecided, and so are the element of that key and of every key at or before its position that is not dropped
 * whatever the rounding (their counts include it). Keys after the latest undecided key stay judged, and so does
 * every -inf that is -inf either way. */
int64_t pecs_ref_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo, double *hi);
/* The top-k near-tie ranges (extended_mind, longheads) enumerate selections: C(n, r) saturating past cap, and the
 * r-subsets of 0..n-1 in lexicographic order (start with pick = 0..r-1; the call advances pick to the next subset and
 * returns 0 after the last one). */
int64_t pecs_ref_choose(int64_t n, int64_t r, int64_t cap);
/* Row `row`, head h of a kattn tensor t [L, H, D] (F64) rotated by RoPE at position pos into y [D]: half-split pairs
 * (d, d + D/2), inv_freq[d] = base^(-2d/D) (extended_mind, longheads, pine). */
void pecs_ref_rotate_half_row(const pecs_tensor *t, int64_t row, int64_t h, double pos, double base, double *y);
int pecs_ref_next_subset(int64_t *pick, int64_t n, int64_t r);
int64_t pecs_ref_tra_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo,
                               double *hi);
/* extended_mind (kattn, "out" [Lq, H, D]): a float32 kernel's cosine of memory key m for query i is modelled within
 * eps_m of the exact one (reference/extended_mind.c); where the top-k cut is within those bounds (some key neither
 * surely in nor surely out, and the sure ones do not fix the set) every element of row (i, h) gets skip 1, with
 * [lo, hi] over every admissible selection (or the hull of the values it can reach past 4096 selections). */
int64_t pecs_ref_xmind_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo,
                                 double *hi);
/* pine (kattn): a float32 kernel's document weights are modelled within a relative and absolute bound of the exact
 * ones (reference/pine.c); where two documents adjacent in a group's order are not surely apart, every element of
 * the group's rows (a document's queries or one suffix query, head h) gets skip 1, with [lo, hi] over every
 * admissible order (or the hull of the visible values past 120 orders). */
int64_t pecs_ref_pine_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo,
                                double *hi);

/* longheads (kattn): the same for a selective query's top-(K - 3) chunks by q_i . c_g (reference/longheads.c), the
 * chunk keys' float32 error modelled to first order through both softmaxes. */
int64_t pecs_ref_longheads_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo,
                                     double *hi);

/* Compute the problem's "out" tensor (F64) from its inputs. */
pecs_status pecs_ref_run(const pecs_problem *p, char *why, size_t why_len);

#endif
