/* harness/compare.c */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double pecs_round_to(double v, pecs_dtype dt)
{
    unsigned char tmp[8] = {0};
    pecs_store_f64(tmp, dt, 0, v);
    return pecs_load_f64(tmp, dt, 0);
}

/* Map a float's bits to integers that are ordered like the values (sign-magnitude -> two's complement). */
static int64_t ordinal(double v, pecs_dtype dt)
{
    unsigned char tmp[8] = {0};
    pecs_store_f64(tmp, dt, 0, v);
    int64_t mag, neg;
    switch (dt) {
    case PECS_DT_F64: {
        uint64_t u;
        memcpy(&u, tmp, 8);
        mag = (int64_t)(u & ~(UINT64_C(1) << 63));
        neg = (int64_t)(u >> 63);
        break;
    }
    case PECS_DT_F32: {
        uint32_t u;
        memcpy(&u, tmp, 4);
        mag = u & 0x7fffffffu;
        neg = u >> 31;
        break;
    }
    default: {
        uint16_t u;
        memcpy(&u, tmp, 2);
        mag = u & 0x7fffu;
        neg = u >> 15;
        break;
    }
    }
    return neg ? -mag : mag;
}

/* The value of ordinal o (the inverse of ordinal()); o = 0 is +0. */
static double from_ordinal(int64_t o, pecs_dtype dt)
{
    unsigned char tmp[8] = {0};
    uint64_t mag = (uint64_t)(o < 0 ? -o : o);
    switch (dt) {
    case PECS_DT_F64: {
        uint64_t u = mag | (o < 0 ? UINT64_C(1) << 63 : 0);
        memcpy(tmp, &u, 8);
        break;
    }
    case PECS_DT_F32: {
        uint32_t u = (uint32_t)mag | (o < 0 ? UINT32_C(1) << 31 : 0);
        memcpy(tmp, &u, 4);
        break;
    }
    default: {
        uint16_t u = (uint16_t)(mag | (o < 0 ? 0x8000u : 0));
        memcpy(tmp, &u, 2);
        break;
    }
    }
    return pecs_load_f64(tmp, dt, 0);
}

pecs_verdict pecs_compare_rounding(const double *actual, const double *expected, const double *extra, const double *gain,
                                   int64_t n, pecs_dtype dt, const pecs_tol *tol, pecs_metrics *m, char *why,
                                   size_t why_len)
{
    double sum = 0.0;
    int64_t first = -1;
    m->round_judged = m->round_wrong = 0;
    m->round_wrong_frac = m->round_bias = 0.0;
    if (dt == PECS_DT_F64)
        return PECS_V_PASSED;
    for (int64_t i = 0; i < n; i++) {
        double e = expected[i], a = actual[i], r = pecs_round_to(e, dt);
        double more = extra ? extra[i] * (gain ? fabs(gain[i]) : 1.0) : 0.0;
        if (!isfinite(e) || !isfinite(r) || isnan(more) || isinf(more))
            continue;
        int64_t o = ordinal(r, dt);
        double nb = from_ordinal(o + (e >= r ? 1 : -1), dt); /* the neighbour of r on e's side */
        if (!isfinite(nb))
            continue;
        /* r and nb are values of a dtype of at most 24 bits: their sum and half are exact in double */
        double dist = fabs(e - 0.5 * (r + nb)), margin = tol->round_abs + tol->round_rel * fabs(e) + more;
        if (!(dist > margin))
            continue;
        m->round_judged++;
        if (a == r && (a != 0.0 || signbit(a) == signbit(r)))
            continue;
        if (first < 0)
            first = i;
        m->round_wrong++;
        double d = isnan(a) ? 1e9 : fmin(pecs_ulp_distance(a, r, dt), 1e9); /* a is a value of dt */
        int away = isnan(a) ? 1 : fabs(a) > fabs(r) || (a != 0.0 && signbit(a) != signbit(r));
        sum += away ? d : -d;
    }
    if (m->round_judged) {
        m->round_wrong_frac = (double)m->round_wrong / (double)m->round_judged;
        m->round_bias = sum / (double)m->round_judged;
    }
    if (m->round_judged < PECS_ROUND_MIN || !m->round_wrong)
        return PECS_V_PASSED;
    if ((tol->round_frac > 0 && m->round_wrong_frac > tol->round_frac) ||
        (tol->round_bias > 0 && fabs(m->round_bias) > tol->round_bias)) {
        snprintf(why, why_len, "rounding: %lld of %lld elements whose correctly rounded %s value is decidable differ from "
                 "it (%.1f%%, limit %.3g%%; mean error %+.3f ulp, limit %.3g): first at index %lld: got %.9g, want %.9g "
                 "(exact %.17g)", (long long)m->round_wrong, (long long)m->round_judged, pecs_dtype_name(dt),
                 100.0 * m->round_wrong_frac, 100.0 * tol->round_frac, m->round_bias, tol->round_bias, (long long)first,
                 actual[first], pecs_round_to(expected[first], dt), expected[first]);
        return PECS_V_FAILED;
    }
    return PECS_V_PASSED;
}

double pecs_dtype_true_min(pecs_dtype dt) { return from_ordinal(1, dt); }

double pecs_ulp_distance(double a, double b, pecs_dtype dt)
{
    int64_t oa = ordinal(a, dt), ob = ordinal(b, dt);
    if ((oa >= 0) == (ob >= 0)) /* same sign: the integer difference is exact (f64 ordinals need all 63 bits) */
        return (double)(oa > ob ? oa - ob : ob - oa);
    return (double)(oa < 0 ? -oa : oa) + (double)(ob < 0 ? -ob : ob);
}

pecs_verdict pecs_compare(const double *actual, const double *expected, int64_t n, pecs_dtype dt, const pecs_tol *tol,
                          double max_abs_pos, pecs_metrics *m, char *why, size_t why_len)
{
    return pecs_compare_ex(actual, expected, NULL, n, dt, tol, max_abs_pos, m, why, why_len);
}

pecs_verdict pecs_compare_undecided(const double *actual, const unsigned char *skip, const double *lo, const double *hi,
                                    int64_t n, pecs_dtype dt, const pecs_tol *tol, double max_abs_pos, pecs_metrics *m,
                                    char *why, size_t why_len)
{
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        if (!skip[i])
            continue;
        double a = actual[i], l = pecs_round_to(lo[i], dt), h = pecs_round_to(hi[i], dt);
        double allow = tol->abs + tol->pos_abs * max_abs_pos + tol->rel * fmax(fabs(lo[i]), fabs(hi[i]));
        int ok = (skip[i] == 2 && a == -INFINITY) || (isfinite(a) && a >= l - allow && a <= h + allow);
        if (!ok && bad++ == 0)
            first = i;
    }
    if (!bad)
        return PECS_V_PASSED;
    m->mismatches += bad;
    m->first_bad = first, m->first_actual = actual[first], m->first_expected = lo[first];
    snprintf(why, why_len, "%lld undecided elements (a keep threshold or top-k selection within float32 rounding) hold "
             "a value no decision gives: first %.9g, every decision gives %s[%.9g, %.9g] (index %lld)", (long long)bad, actual[first],
             skip[first] == 2 ? "-inf or " : "", lo[first], hi[first], (long long)first);
    return PECS_V_FAILED;
}

pecs_verdict pecs_compare_ex(const double *actual, const double *expected, const double *extra, int64_t n, pecs_dtype dt,
                             const pecs_tol *tol, double max_abs_pos, pecs_metrics *m, char *why, size_t why_len)
{
    double extra_sq = 0.0;
    memset(m, 0, sizeof *m);
    m->n = n;
    m->first_bad = -1;
    double num = 0.0, den = 0.0, allowed_abs = tol->abs + tol->pos_abs * max_abs_pos;
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = actual[i], e = pecs_round_to(expected[i], dt);
        int bad;
        if (extra && isinf(extra[i])) { /* not judged by the level (level.h); the caller checks it otherwise */
            m->unjudged++;
            continue;
        } else if (isnan(e)) { /* NaN where the reference is NaN is right (any payload) */
            bad = !isnan(a);
        } else if (isnan(a)) {
            bad = 1;
        } else if (isinf(a) || isinf(e)) {
            bad = a != e;
        } else {
            double err = fabs(a - e);
            double rel = err / fmax(fabs(e), PECS_REL_FLOOR);
            double ulp = pecs_ulp_distance(a, e, dt);
            m->max_abs = fmax(m->max_abs, err);
            m->max_rel = fmax(m->max_rel, rel);
            m->max_ulp = fmax(m->max_ulp, ulp);
            num += (a - expected[i]) * (a - expected[i]);
            den += expected[i] * expected[i];
            double more = extra ? extra[i] : 0.0;
            extra_sq += more * more;
            bad = err > allowed_abs + more + tol->rel * fabs(e);
        }
        zeros += e == 0.0;
        if (bad) {
            if (m->first_bad < 0) {
                m->first_bad = i;
                m->first_actual = a;
                m->first_expected = e;
            }
            m->mismatches++;
        }
    }
    m->nmse = den > 0.0 ? num / den : (num > 0.0 ? INFINITY : 0.0);
    m->zero_fraction = n ? (double)zeros / (double)n : 1.0;
    if (m->mismatches) {
        if (extra)
            snprintf(why, why_len, "%lld of %lld elements outside abs %.3g + rel %.3g + the element's allowance (%.3g "
                     "there: the level's angle model, a gain's stored quantum); first at index %lld: got %.9g, want %.9g", (long long)m->mismatches, (long long)n,
                     allowed_abs, tol->rel, extra[m->first_bad], (long long)m->first_bad, m->first_actual,
                     m->first_expected);
        else
            snprintf(why, why_len, "%lld of %lld elements outside abs %.3g + rel %.3g; first at index %lld: got %.9g, want %.9g",
                     (long long)m->mismatches, (long long)n, allowed_abs, tol->rel, (long long)m->first_bad, m->first_actual,
                     m->first_expected);
        return PECS_V_FAILED;
    }
    /* The position term grows NMSE's allowance like the squared absolute error it allows (outputs are O(1)). */
    double allowed_nmse = tol->nmse + (tol->pos_abs * max_abs_pos) * (tol->pos_abs * max_abs_pos) +
                          (den > 0.0 ? extra_sq / den : 0.0); /* the angle model's allowance, squared, relative */
    if (m->nmse > allowed_nmse) {
        snprintf(why, why_len, "NMSE %.3g exceeds %.3g", m->nmse, allowed_nmse);
        return PECS_V_FAILED;
    }
    if (tol->ulp > 0 && m->max_ulp > tol->ulp) {
        snprintf(why, why_len, "max ULP distance %.0f exceeds %.0f", m->max_ulp, tol->ulp);
        return PECS_V_FAILED;
    }
    if (n == 0 || m->zero_fraction > 0.5) {
        snprintf(why, why_len, "%.0f%% of expected values are exactly zero: agreement proves little",
                 100.0 * m->zero_fraction);
        return PECS_V_MISTRUSTED;
    }
    return PECS_V_PASSED;
}

void pecs_softmax_rows(double *v, int64_t rows, int64_t n)
{
    for (int64_t r = 0; r < rows; r++) {
        double *x = v + r * n, mx = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < n; j++)
            mx = fmax(mx, x[j]);
        for (int64_t j = 0; j < n; j++) {
            x[j] = isinf(mx) ? 0.0 : exp(x[j] - mx); /* a row with no finite logit has no distribution */
            sum += x[j];
        }
        for (int64_t j = 0; j < n && sum > 0.0; j++)
            x[j] /= sum;
    }
}
