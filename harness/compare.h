/* harness/compare.h — numerical equivalence of a backend's output with the reference.
 *
 * expected[] is the exact (double) reference for the same rounded inputs; it is rounded once to the
 * output dtype before the per-element check (oneDNN benchdnn's rule), while NMSE is taken against the
 * exact values. The compat profile's pos_abs widens both: abs by pos_abs*max|pos|, NMSE by its square.
 * NaN-aware: where the reference is NaN the output must be NaN (any payload, quiet or not), a NaN anywhere
 * else is a mismatch; infinities must match with their sign; elements that are not finite on both sides
 * take no part in the error metrics. MISTRUSTED: more than half of the rounded expected values are exactly
 * zero, so agreement would prove little.
 *
 * Rounding (pecs_compare_rounding, docs/levels.md): every correct kernel stores the value it computed
 * rounded to nearest even; where the exact value lies farther from a rounding boundary (the midpoint of
 * two neighbours of the output dtype) than the kernel's own error before that rounding can reach, the
 * stored value is decidable: it must be the reference rounded once. A truncating or otherwise biased
 * conversion gets about half of those wrong, by one unit, always toward zero.
 */
#ifndef PECS_COMPARE_H
#define PECS_COMPARE_H

#include "case.h"
#include "verdict.h"

typedef struct pecs_metrics {
    int64_t n, mismatches;
    int64_t unjudged;                /* elements the level's model could not judge (level.h) */
    double max_abs, max_rel, max_ulp, nmse;
    double zero_fraction;
    int64_t first_bad;               /* logical index, -1 if none */
    double first_actual, first_expected;
    /* rounding (f16/bf16/f32 outputs): elements whose correctly rounded value is decidable, how many of them
     * differ from it, that fraction, and the mean error over them in units in the last place (signed by
     * magnitude: negative = toward zero) */
    int64_t round_judged, round_wrong;
    double round_wrong_frac, round_bias;
} pecs_metrics;

/* Relative error denominators never go below this (|e| near 0). */
#define PECS_REL_FLOOR 1e-3

/* v rounded (RNE) to dtype dt and widened back: the value the dtype would store. */
double pecs_round_to(double v, pecs_dtype dt);

/* Replace each of the `rows` rows of `n` values by its softmax (max-subtracted, in double; -inf -> 0). */
void pecs_softmax_rows(double *v, int64_t rows, int64_t n);

pecs_verdict pecs_compare(const double *actual, const double *expected, int64_t n, pecs_dtype dt, const pecs_tol *tol,
                          double max_abs_pos, pecs_metrics *m, char *why, size_t why_len);

/* The same, with a per-element extra absolute allowance (NULL: none) that also widens NMSE's budget by
 * sum(extra^2) / sum(expected^2): the level's angle model (level.h). */
pecs_verdict pecs_compare_ex(const double *actual, const double *expected, const double *extra, int64_t n, pecs_dtype dt,
                             const pecs_tol *tol, double max_abs_pos, pecs_metrics *m, char *why, size_t why_len);

/* The elements pecs_compare_ex left unjudged (an infinite extra) because the reference cannot decide a threshold
 * for them (pecs_ref_undecided): each must still be a value some combination of the decisions gives. skip[i] = 1:
 * finite within [lo[i], hi[i]] widened by the tolerance (abs + pos_abs*max|pos| + rel*max(|lo|, |hi|)) after
 * rounding both ends to dt; skip[i] = 2: that, or -inf. NaN and +inf are never right. FAILED with the count and
 * the first such element in m (mismatches, first_*) and why; PASSED otherwise, m untouched. */
pecs_verdict pecs_compare_undecided(const double *actual, const unsigned char *skip, const double *lo, const double *hi,
                                    int64_t n, pecs_dtype dt, const pecs_tol *tol, double max_abs_pos, pecs_metrics *m,
                                    char *why, size_t why_len);

/* The smallest positive (subnormal) value of dt: the spacing of its values below the smallest normal. */
double pecs_dtype_true_min(pecs_dtype dt);

/* The rounding check on the raw output (before any softmax or gain is divided out): an element is judged
 * where its exact value e is farther than tol->round_abs + tol->round_rel*|e| + extra[i]*gain[i] (extra, gain
 * may be NULL; an infinite extra is not judged) from the rounding boundary next to it; FAILED if more than
 * tol->round_frac of at least PECS_ROUND_MIN judged elements differ from e rounded once (0: not checked),
 * or if the mean signed error exceeds tol->round_bias ulp in magnitude (0: not checked). Fills the round_*
 * metrics; f64 outputs are not judged (the reference is their exact value). */
#define PECS_ROUND_MIN 8
pecs_verdict pecs_compare_rounding(const double *actual, const double *expected, const double *extra, const double *gain,
                                   int64_t n, pecs_dtype dt, const pecs_tol *tol, pecs_metrics *m, char *why,
                                   size_t why_len);

/* ULP distance between two values of a float dtype (both exactly representable in it). */
double pecs_ulp_distance(double a, double b, pecs_dtype dt);

#endif
