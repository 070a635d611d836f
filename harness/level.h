/* harness/level.h — the angle error model of a conformance level (docs/levels.md).
 *
 * A level is a tolerance profile of configs/tolerances.yaml; besides the per-element abs/rel/nmse/drift
 * budgets (rounding of the output and of cos/sin), a level whose angles are formed in a finite precision
 * (angle_eps > 0: f32angle) allows each rotate pair i at position p an angle error
 *
 *     dtheta_i(p) = angle_eps * (angle_c0 + angle_c1 * i + |ln f_i|) * |p * f_i|
 *
 * where f_i is the schedule's exact inverse frequency: c0 covers rounding the position, the product and
 * the attention/interpolation arithmetic of HF-style kernels (powf, reciprocal), |ln f_i| the rounding of
 * the exponent 2i/R (its effect on base^(2i/R) is ln(base) 2i/R = |ln f_i|), c1 the float32 recurrence
 * theta *= theta_scale of ggml-style kernels (one rounding of the scale and one of the product per pair).
 * An output pair then may differ from the exact rotation by dtheta_i * |(y_a, y_b)| on top of the
 * per-element budget, and the logits of q' and k' by 2 (A P_0 + A P_d) * |q'| |k'| at shift d, with
 * A = max_i angle_eps (c0 + c1 i + |ln f_i|) f_i the largest angle error per unit of position.
 * Where the largest dtheta exceeds angle_max, the level cannot say anything useful about the case:
 * BEYOND_LEVEL (equivalence), or the shift is not judged (invariance).
 */
#ifndef PECS_LEVEL_H
#define PECS_LEVEL_H

#include "case.h"

/* Per-element extra allowance of a rotate case (logical [T][H][D], from the exact expected output with
 * gains divided out; the caller zero-fills it, so unrotated channels get none) and the largest angle error
 * the model allows over the case's judged angles. A (token, pair) whose allowed angle error exceeds angle_max
 * gets INFINITY: its angle is not judged (the comparator skips it; the runner checks its norm, which no
 * angle error changes); *beyond counts them out of *angles = T * R/2. pos is the position tensor as
 * generated (never a buffer the backend could write). extra may be NULL. Returns PECS_OK with everything
 * 0 when the level has no angle model. */
pecs_status pecs_level_rotate_allowance(const pecs_problem *p, const pecs_case *c, const pecs_tensor *pos,
                                        const pecs_tol *tol, const double *expected, double *extra,
                                        double *max_dtheta, int64_t *beyond, int64_t *angles, char *why,
                                        size_t why_len);

/* The pairs marked INFINITY in extra: 1 if each keeps its norm within the level's element budget, else 0
 * with the first offender in why. actual/expected as given to the comparator. */
int pecs_level_norms_ok(const pecs_problem *p, const pecs_case *c, const pecs_tol *tol, const double *extra,
                        const double *actual, const double *expected, char *why, size_t why_len);

/* A above: the model's angle error per unit of position (0 without an angle model or for other forms). */
double pecs_level_angle_per_position(const pecs_problem *p, const pecs_case *c, const pecs_tol *tol);

#endif
