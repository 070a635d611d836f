/* harness/compare.h — numerical equivalence of a backend's output with the reference.
 *
 * expected[] is the exact (double) reference for the same rounded inputs; it is rounded once to the
 * output dtype before the per-element check (oneDNN benchdnn's rule), while NMSE is taken against the
 * exact values. The compat profile's pos_abs widens both: abs by pos_abs*max|pos|, NMSE by its square. NaN on either side is a mismatch (no case expects NaN yet); infinities must match
 * with their sign. MISTRUSTED: more than half of the rounded expected values are exactly zero, so
 * agreement would prove little.
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

/* ULP distance between two values of a float dtype (both exactly representable in it). */
double pecs_ulp_distance(double a, double b, pecs_dtype dt);

#endif
