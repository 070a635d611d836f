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
        } else if (isnan(a) || isnan(e)) {
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
            snprintf(why, why_len, "%lld of %lld elements outside abs %.3g + rel %.3g + the level's angle allowance (%.3g "
                     "there); first at index %lld: got %.9g, want %.9g", (long long)m->mismatches, (long long)n,
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
