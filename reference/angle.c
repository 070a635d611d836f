/* reference/angle.c — exact angles for the oracle.
 *
 * A RoPE angle pos*w at pos = 2^20 is about 1e6 rad; rounding that product to double already costs
 * ~1e-10 rad, which would show up as invariance drift in the reference itself. So the product is kept
 * exact (TwoProd with fma) and reduced by a double-double 2*pi before calling sin/cos. fma() is an
 * explicit libm call, not a contraction, so -ffp-contract=off does not affect it.
 * Checked against MPFR at 256 bits in tests/test_reference.c.
 */
#include <math.h>

#include "reference.h"

/* 2*pi = TWO_PI_HI + TWO_PI_LO to ~107 bits (mpmath at 300 bits). */
static const double TWO_PI_HI = 0x1.921fb54442d18p+2;
static const double TWO_PI_LO = 0x1.1a62633145c07p-52;

static void two_prod(double a, double b, double *p, double *e)
{
    *p = a * b;
    *e = fma(a, b, -*p);
}

static void two_sum(double a, double b, double *s, double *e)
{
    *s = a + b;
    double bb = *s - a;
    *e = (a - (*s - bb)) + (b - bb);
}

void pecs_ref_sincos(double pos, double w, double *s, double *c)
{
    double x_hi, x_lo;
    two_prod(pos, w, &x_hi, &x_lo);
    double k = nearbyint(x_hi / TWO_PI_HI);
    double p_hi, p_lo, q_hi, q_lo;
    two_prod(k, TWO_PI_HI, &p_hi, &p_lo);
    two_prod(k, TWO_PI_LO, &q_hi, &q_lo);
    double r = x_hi - p_hi; /* exact: both within a factor of two of each other (Sterbenz) */
    double r_hi, r_lo;
    two_sum(r, x_lo, &r_hi, &r_lo);
    double tail = ((r_lo - p_lo) - q_hi) - q_lo;
    two_sum(r_hi, tail, &r_hi, &r_lo);
    double sh = sin(r_hi), ch = cos(r_hi);
    *s = sh + r_lo * ch; /* first-order correction; r_lo^2 is below 1e-31 */
    *c = ch - r_lo * sh;
}
