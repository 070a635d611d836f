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
 *   ROTATE  pecs_ref_<sym>(p, R, inv_freq[R/2], &attn, why, why_len)   the frequency schedule:
 *           inverse frequencies (radians per position) and the schedule's attention factor. The form
 *           driver applies freq_factors and attn_factor and performs the rotation.
 *   BIAS    pecs_ref_<sym>(p, H, h, qpos, kpos, &bias, why, why_len)   one element of B[h][i][j].
 *   EMBED   pecs_ref_<sym>(p, D, pos, row[D], why, why_len)             the table row P(pos, 0..D-1).
 *   Hooks return PECS_INVALID with a one-line reason when parameters are inconsistent in ways the
 *   schema's per-parameter bounds cannot express (e.g. beta_fast < beta_slow).
 */
#ifndef PECS_REFERENCE_H
#define PECS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "pecs/backend.h"

#define PECS_PI 3.14159265358979323846

#define PECS_REF_HOOK_ROTATE(sym) \
    pecs_status pecs_ref_##sym(const pecs_problem *p, int64_t R, double *inv_freq, double *attn, char *why, size_t why_len)
#define PECS_REF_HOOK_BIAS(sym)                                                                          \
    pecs_status pecs_ref_##sym(const pecs_problem *p, int64_t H, int64_t h, double qpos, double kpos, double *bias, \
                               char *why, size_t why_len)
#define PECS_REF_HOOK_EMBED(sym) \
    pecs_status pecs_ref_##sym(const pecs_problem *p, int64_t D, double pos, double *row, char *why, size_t why_len)

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

/* The full frequency schedule of a rotate problem: the encoding's hook, then freq_factors
 * (inv_freq[i] /= ff[i]) and attn_factor. inv_freq must hold R/2 values. */
pecs_status pecs_ref_schedule(const pecs_problem *p, int64_t R, double *inv_freq, double *attn, char *why,
                              size_t why_len);

/* Validate the parameters of a problem (no tensors needed) by evaluating the encoding once: the
 * schedule for rotate, one row for embed, one element per head for bias. */
pecs_status pecs_ref_check(const pecs_problem *p, int64_t heads, int64_t head_dim, char *why, size_t why_len);

/* Compute the problem's "out" tensor (F64) from its inputs. */
pecs_status pecs_ref_run(const pecs_problem *p, char *why, size_t why_len);

#endif
