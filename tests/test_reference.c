/* tests/test_reference.c — the double-precision oracle: exact angles against MPFR, known answers from the
 * published definitions (ALiBi slopes, YaRN ramp and temperature, linear/NTK schedules, sinusoidal
 * tables), schedule plumbing (freq_factors, attn_factor, validation) and properties of the rotate and
 * bias forms over every registry encoding of that form. */
#include <criterion/criterion.h>

#include <math.h>
#include <mpfr.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "gen.h"
#include "reference.h"
#include "refutil.h"
#include "registry.h"

#define REF_SEED 20240607u

/* ---- helpers --------------------------------------------------------------------------------------- */

/* A case of encoding `id` with key/value parameter strings (NULL-terminated), defaults elsewhere.
 * Heap-allocated: its params point into the case itself, so it must not move. */
static int rel_close(double a, double b, double rel)
{
    return fabs(a - b) <= rel * fabs(b);
}

/* ---- pecs_ref_sincos against MPFR -------------------------------------------------------------------- */

/* Error of pecs_ref_sincos(pos, w) and of the naive sin/cos(pos*w) against 256-bit MPFR of the exact
 * product pos*w (exact in 256 bits: 106 significant bits at most). */
static void sincos_errors(double pos, double w, double *err_ref, double *err_naive)
{
    mpfr_t x, s, c, t;
    mpfr_inits2(256, x, s, c, t, (mpfr_ptr)0);
    mpfr_set_d(x, pos, MPFR_RNDN);
    mpfr_mul_d(x, x, w, MPFR_RNDN);
    mpfr_sin_cos(s, c, x, MPFR_RNDN);
    double rs, rc;
    pecs_ref_sincos(pos, w, &rs, &rc);
    mpfr_sub_d(t, s, rs, MPFR_RNDN);
    double es = fabs(mpfr_get_d(t, MPFR_RNDN));
    mpfr_sub_d(t, c, rc, MPFR_RNDN);
    double ec = fabs(mpfr_get_d(t, MPFR_RNDN));
    *err_ref = fmax(es, ec);
    if (err_naive) {
        double a = pos * w;
        mpfr_sub_d(t, s, sin(a), MPFR_RNDN);
        es = fabs(mpfr_get_d(t, MPFR_RNDN));
        mpfr_sub_d(t, c, cos(a), MPFR_RNDN);
        ec = fabs(mpfr_get_d(t, MPFR_RNDN));
        *err_naive = fmax(es, ec);
    }
    mpfr_clears(x, s, c, t, (mpfr_ptr)0);
}

/* RoPE-like angles: integer positions up to 2^24 with w = base^(-2i/128) for bases 1e4 and 5e5, real
 * positions, and huge positions with w = 1. Catches a reduction that loses the product's low part, a
 * 2*pi constant with too few bits (TWO_PI_LO dropped), or mishandled negative positions. (The
 * first-order r_lo correction is below 2.2e-16, so this 4e-16 bound cannot see it missing.) */
Test(reference, sincos_matches_mpfr)
{
    static const double bases[] = {1e4, 5e5};
    double worst = 0.0, worst_pos = 0.0, worst_w = 0.0;
    uint64_t idx = 0;
    for (int n = 0; n < 2400; n++) {
        uint64_t u = pecs_gen_u64(REF_SEED, 7, idx++);
        double pos, w;
        int kind = n % 12;
        if (kind < 8) { /* integer position in [0, 2^24] */
            pos = (double)(u % ((UINT64_C(1) << 24) + 1));
            int i = (int)((u >> 40) % 64);
            w = pow(bases[(u >> 50) & 1], -(double)(2 * i) / 128.0);
        } else if (kind < 11) { /* real position in [0, 2^20) */
            pos = ldexp((double)(u >> 11), -33);
            int i = (int)(pecs_gen_u64(REF_SEED, 8, idx) % 64);
            w = pow(bases[n & 1], -(double)(2 * i) / 128.0);
        } else { /* huge position up to 2^40, w = 1 */
            pos = (double)(u >> 24);
            w = 1.0;
        }
        double e;
        sincos_errors(pos, w, &e, NULL);
        if (e > worst) {
            worst = e;
            worst_pos = pos;
            worst_w = w;
        }
    }
    /* the extreme corners too */
    static const double corner[][2] = {{0x1p24, 1.0}, {0x1p40, 1.0}, {0x1p40 - 1.0, 1.0}, {0x1p24, 0x1.fffffffffffffp-1},
                                       {3.0, 0x1.921fb54442d18p+0}, {0x1p20, 0x1.921fb54442d18p+2},
                                       {-0x1p24, 1.0}, {-12345.678, 0.3}, {-0x1p40 + 7.0, 1.0}};
    for (size_t k = 0; k < sizeof corner / sizeof corner[0]; k++) {
        double e;
        sincos_errors(corner[k][0], corner[k][1], &e, NULL);
        cr_assert(e < 4e-16, "pos=%a w=%a: error %g", corner[k][0], corner[k][1], e);
    }
    cr_assert(worst < 4e-16, "worst error %g at pos=%a w=%a", worst, worst_pos, worst_w);
}

/* Why the exact reduction matters: the naive sin(pos*w) in double rounds the product (~1e6 rad at
 * pos ~2^20) and is off by more than 1e-11 somewhere, while the reference stays below 4e-16 at the same
 * points. A reference that dropped the TwoProd/double-double reduction would fail sincos_matches_mpfr. */
Test(reference, naive_sincos_is_not_good_enough)
{
    double worst_naive = 0.0, worst_ref = 0.0;
    double w = pow(1e4, -2.0 / 128.0);
    for (int k = 0; k < 64; k++) {
        double pos = 0x1p20 + (double)(pecs_gen_u64(REF_SEED, 9, (uint64_t)k) % 4096u);
        double er, en;
        sincos_errors(pos, w, &er, &en);
        worst_naive = fmax(worst_naive, en);
        worst_ref = fmax(worst_ref, er);
    }
    cr_assert(worst_naive > 1e-11, "naive error only %g: the demonstration needs a larger angle", worst_naive);
    cr_assert(worst_ref < 4e-16, "reference error %g", worst_ref);
}

/* ---- ALiBi slopes -------------------------------------------------------------------------------------- */

static void alibi_slopes(int64_t H, const char *max_bias, double *out)
{
    pecs_case *c = max_bias ? ref_case("alibi", "max_bias", max_bias, (const char *)NULL)
                            : ref_case("alibi", (const char *)NULL);
    pecs_problem p = ref_problem(c);
    for (int64_t h = 0; h < H; h++) {
        char why[256] = "";
        double b = NAN;
        cr_assert_eq(pecs_ref_alibi(&p, H, h, 1.0, 0.0, &b, why, sizeof why), PECS_OK, "%s", why);
        out[h] = -b; /* bias(q=1, k=0) = -slope */
    }
    ref_case_free(c);
}

static void check_slopes(int64_t H, const char *max_bias, const double *expect, double rel)
{
    double got[64];
    alibi_slopes(H, max_bias, got);
    for (int64_t h = 0; h < H; h++) {
        if (rel == 0.0)
            cr_assert_eq(got[h], expect[h], "H=%lld head %lld: slope %a, expected %a", (long long)H, (long long)h,
                         got[h], expect[h]);
        else
            cr_assert(rel_close(got[h], expect[h], rel), "H=%lld head %lld: slope %a, expected %a", (long long)H,
                      (long long)h, got[h], expect[h]);
    }
}

/* Power-of-two head counts: the paper's geometric sequence 2^(-8/n), ratio 2^(-8/n). Catches an exponent
 * off by one (2^(-8h/n) starting at 1 instead of 2^(-8/n)). */
Test(reference, alibi_slopes_power_of_two)
{
    const double e8[] = {0x1p-1, 0x1p-2, 0x1p-3, 0x1p-4, 0x1p-5, 0x1p-6, 0x1p-7, 0x1p-8};
    check_slopes(8, NULL, e8, 0.0);
    const double e1[] = {0x1p-8};
    check_slopes(1, NULL, e1, 0.0);
    const double e4[] = {0x1p-4, 0x1p-8, 0x1p-12, 0x1p-16}; /* max_bias 16 (ggml generalisation) */
    check_slopes(4, "16", e4, 0.0);
}

/* Non-powers of two follow the authors' get_slopes: slopes(P) then every other slope of slopes(2P).
 * Catches the plain geometric sequence 2^(-8(h+1)/H) (which gives 2^(-8/3), ... for H=3) and
 * appending slopes(2P)[1::2] or in sorted order instead of the authors' order. */
Test(reference, alibi_slopes_authors_order)
{
    const double e3[] = {0x1p-4, 0x1p-8, 0x1p-2};
    check_slopes(3, NULL, e3, 0.0);
    const double e6[] = {0x1p-2, 0x1p-4, 0x1p-6, 0x1p-8, 0x1p-1, 0x1p-3};
    check_slopes(6, NULL, e6, 0.0);
    const double e12[] = {0x1p-1, 0x1p-2, 0x1p-3, 0x1p-4, 0x1p-5, 0x1p-6, 0x1p-7, 0x1p-8,
                          M_SQRT1_2, M_SQRT1_2 / 2, M_SQRT1_2 / 4, M_SQRT1_2 / 8}; /* 2^-0.5 .. 2^-3.5 */
    check_slopes(12, NULL, e12, 2e-16);
    double got[12];
    alibi_slopes(12, NULL, got);
    for (int h = 0; h < 8; h++)
        cr_assert_eq(got[h], ldexp(1.0, -(h + 1)), "the first 8 of 12 heads are exact powers of two");
}

/* ---- YaRN ---------------------------------------------------------------------------------------------- */

enum { YR = 128 };

/* Run a schedule on problem p for rotary dim R: the encoding's hook alone (hook != NULL) or the full
 * pecs_ref_schedule (freq_factors, attn_factor). Copies inv_freq[R/2] and the attention factor out. */
typedef pecs_status (*rot_hook_fn)(const pecs_problem *, pecs_ref_rot *, char *, size_t);
static pecs_status sched_run(const pecs_problem *p, rot_hook_fn hook, int64_t R, double *inv, double *attn, char *why,
                             size_t why_len)
{
    pecs_ref_rot s;
    cr_assert_eq(pecs_ref_rot_alloc(&s, R), PECS_OK);
    pecs_ref_rot_reset(&s);
    s.seq_len = pecs_problem_seq_len(p);
    pecs_status st = hook ? hook(p, &s, why, why_len) : pecs_ref_schedule(p, &s, why, why_len);
    if (st == PECS_OK) {
        memcpy(inv, s.inv_freq, (size_t)(R / 2) * sizeof *inv);
        *attn = s.attn;
    }
    pecs_ref_rot_free(&s);
    return st;
}

static void rope_schedule_hook(const char *id, pecs_case *c, int64_t R, double *inv, double *attn)
{
    pecs_problem p = ref_problem(c);
    char why[256] = "";
    rot_hook_fn hook = !strcmp(id, "rope")          ? pecs_ref_rope
                       : !strcmp(id, "rope.linear") ? pecs_ref_rope_linear
                       : !strcmp(id, "rope.ntk")    ? pecs_ref_rope_ntk
                                                    : pecs_ref_rope_yarn;
    pecs_status st = sched_run(&p, hook, R, inv, attn, why, sizeof why);
    cr_assert_eq(st, PECS_OK, "%s: %s", id, why);
}

/* Llama-2 numbers (R=128, base 1e4, L=4096, beta 32/1): correction dims 20.94 -> low 20 and 45.03 ->
 * high 46. Pairs 0..20 are pure extrapolation (plain RoPE), 46..63 pure interpolation (plain/s),
 * 21..45 strictly in between. Catches rounding the bounds the other way (ceil low / floor high), a
 * correction dim without the 2*pi, and ln(L/(n 2 pi)) with L and n swapped. */
Test(reference, yarn_llama2_ramp_bounds)
{
    double lo = YR * log(4096.0 / (32.0 * 2.0 * PECS_PI)) / (2.0 * log(10000.0));
    double hi = YR * log(4096.0 / (1.0 * 2.0 * PECS_PI)) / (2.0 * log(10000.0));
    cr_assert(lo > 20.9 && lo < 21.0 && floor(lo) == 20.0, "corr(beta_fast) = %.4f", lo);
    cr_assert(hi > 45.0 && hi < 45.1 && ceil(hi) == 46.0, "corr(beta_slow) = %.4f", hi);

    pecs_case *cy = ref_case("rope.yarn", "factor", "16", (const char *)NULL);
    pecs_case *cr = ref_case("rope", (const char *)NULL);
    double inv[YR / 2], plain[YR / 2], attn = 0.0, pattn = 0.0;
    rope_schedule_hook("rope.yarn", cy, YR, inv, &attn);
    rope_schedule_hook("rope", cr, YR, plain, &pattn);
    cr_assert_eq(pattn, 1.0);
    for (int i = 0; i < YR / 2; i++) {
        if (i <= 20)
            cr_assert(rel_close(inv[i], plain[i], 1e-15), "pair %d must be extrapolated: %a vs plain %a", i, inv[i],
                      plain[i]);
        else if (i >= 46)
            cr_assert(rel_close(inv[i], plain[i] / 16.0, 1e-15), "pair %d must be interpolated: %a vs plain/s %a", i,
                      inv[i], plain[i] / 16.0);
        else
            cr_assert(inv[i] < plain[i] * (1 - 1e-12) && inv[i] > plain[i] / 16.0 * (1 + 1e-12),
                      "pair %d must be on the ramp: %a, plain %a", i, inv[i], plain[i]);
    }
    /* the ramp is linear in i: the interpolation weight at pair i is (i - 20) / 26 */
    for (int i = 21; i <= 45; i++) {
        double r = (double)(i - 20) / 26.0;
        double expect = plain[i] / 16.0 * r + plain[i] * (1.0 - r);
        cr_assert(rel_close(inv[i], expect, 1e-14), "pair %d: %a, expected %a", i, inv[i], expect);
    }
    ref_case_free(cy);
    ref_case_free(cr);
}

/* High-frequency pairs (small i, many rotations over L) must keep their frequency (extrapolation) and
 * low-frequency pairs get divided by s. Catches an inverted ramp (interpolating the wrong end). */
Test(reference, yarn_ramp_not_inverted)
{
    pecs_case *cy = ref_case("rope.yarn", "factor", "16", (const char *)NULL);
    double inv[YR / 2], attn = 0.0;
    rope_schedule_hook("rope.yarn", cy, YR, inv, &attn);
    cr_assert_eq(inv[0], 1.0, "the highest frequency is not interpolated (inverted ramp gives 1/16)");
    cr_assert(rel_close(inv[YR / 2 - 1], pow(10000.0, -(double)(YR - 2) / YR) / 16.0, 1e-15),
              "the lowest frequency is divided by s");
    double prev = 1.0;
    for (int i = 1; i < YR / 2; i++) { /* ratio to plain RoPE goes monotonically from 1 down to 1/s */
        double ratio = inv[i] * pow(10000.0, (double)(2 * i) / YR);
        cr_assert(ratio <= prev + 1e-15, "ratio at pair %d is %g > %g", i, ratio, prev);
        prev = ratio;
    }
    ref_case_free(cy);
}

/* Attention temperature sqrt(1/t) = 0.1 m ln(s) + 1, only for s > 1. Catches ln vs log10, a missing
 * mscale, and applying the factor at s = 1. */
Test(reference, yarn_attention_factor)
{
    static const struct {
        const char *factor, *mscale;
        double expect;
    } cases[] = {{"16", "1", 0.0}, {"16", "0.707", 0.0}, {"1", "1", 1.0}, {"1", "0.707", 1.0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pecs_case *c = ref_case("rope.yarn", "factor", cases[k].factor, "mscale", cases[k].mscale, (const char *)NULL);
        double inv[YR / 2], attn = 0.0;
        rope_schedule_hook("rope.yarn", c, YR, inv, &attn);
        double expect = cases[k].expect;
        if (k == 0)
            expect = 0.1 * log(16.0) + 1.0;
        else if (k == 1)
            expect = 0.1 * 0.707 * log(16.0) + 1.0;
        cr_assert(rel_close(attn, expect, 1e-15), "factor %s mscale %s: attn %.17g, expected %.17g", cases[k].factor,
                  cases[k].mscale, attn, expect);
        ref_case_free(c);
    }
}

/* ---- rope.linear / rope.ntk ------------------------------------------------------------------------------ */

/* PI: every inverse frequency divided by the factor, attention 1. Catches multiplying instead of
 * dividing, or scaling only part of the pairs. */
Test(reference, rope_linear_schedule)
{
    pecs_case *cl = ref_case("rope.linear", "factor", "8", "base", "500000", (const char *)NULL);
    pecs_case *cr = ref_case("rope", "base", "500000", (const char *)NULL);
    double inv[YR / 2], plain[YR / 2], attn = 0.0, pattn = 0.0;
    rope_schedule_hook("rope.linear", cl, YR, inv, &attn);
    rope_schedule_hook("rope", cr, YR, plain, &pattn);
    cr_assert_eq(attn, 1.0);
    for (int i = 0; i < YR / 2; i++)
        cr_assert(rel_close(inv[i], plain[i] / 8.0, 1e-15), "pair %d: %a vs %a", i, inv[i], plain[i] / 8.0);
    ref_case_free(cl);
    ref_case_free(cr);
}

/* NTK-aware: base' = base * s^(R/(R-2)), so inv_freq[0] stays 1 and the lowest frequency becomes exactly
 * the plain lowest frequency divided by s: (b s^(R/(R-2)))^(-(R-2)/R) = b^(-(R-2)/R) / s. Catches the
 * exponent R/(R-2) replaced by 1 or (R-2)/R, or the head_dim used instead of the rotary dim. */
Test(reference, rope_ntk_schedule)
{
    static const struct {
        int64_t R;
        const char *base, *factor;
    } cfg[] = {{128, "10000", "16"}, {64, "500000", "4"}, {8, "10000", "2.5"}};
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        int64_t R = cfg[k].R;
        double b = strtod(cfg[k].base, NULL), s = strtod(cfg[k].factor, NULL);
        pecs_case *cn = ref_case("rope.ntk", "factor", cfg[k].factor, "base", cfg[k].base, (const char *)NULL);
        pecs_case *cr = ref_case("rope", "base", cfg[k].base, (const char *)NULL);
        double inv[64], plain[64], attn = 0.0, pattn = 0.0;
        rope_schedule_hook("rope.ntk", cn, R, inv, &attn);
        rope_schedule_hook("rope", cr, R, plain, &pattn);
        cr_assert_eq(attn, 1.0);
        cr_assert_eq(inv[0], 1.0, "inv_freq[0] = 1 for any base");
        double scaled = b * pow(s, (double)R / (double)(R - 2));
        for (int64_t i = 0; i < R / 2; i++) {
            double expect = pow(scaled, -(double)(2 * i) / (double)R);
            cr_assert(rel_close(inv[i], expect, 1e-14), "R=%lld pair %lld: %a vs %a", (long long)R, (long long)i,
                      inv[i], expect);
        }
        double low = inv[R / 2 - 1], plain_low = plain[R / 2 - 1];
        cr_assert(rel_close(low, plain_low / s, 1e-13), "R=%lld: lowest ntk frequency %a, plain/s %a", (long long)R, low,
                  plain_low / s);
        ref_case_free(cn);
        ref_case_free(cr);
    }
}

/* ---- sinusoidal tables ------------------------------------------------------------------------------- */

/* Vaswani interleaved layout: at position 0 the row is [sin 0, cos 0, ...] = [0, 1, 0, 1, ...]; with an
 * odd D the last column is a sin (0). Catches a [sin | cos] layout or a swapped sin/cos. */
Test(reference, sinusoidal_row_at_zero)
{
    pecs_case *c = ref_case("sinusoidal", (const char *)NULL);
    pecs_problem p = ref_problem(c);
    static const int64_t dims[] = {16, 15, 2, 1};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        int64_t D = dims[k];
        double row[16];
        char why[256] = "";
        cr_assert_eq(pecs_ref_sinusoidal(&p, D, 0.0, (const double[1]){0.0}, 0, row, why, sizeof why), PECS_OK, "%s", why);
        for (int64_t d = 0; d < D; d++)
            cr_assert_eq(row[d], (d % 2) ? 1.0 : 0.0, "D=%lld column %lld = %g", (long long)D, (long long)d, row[d]);
    }
    /* and pair i uses w = base^(-2i/D): column 2i at a position is the sin of that angle */
    double row[16], s, co;
    char why[256] = "";
    cr_assert_eq(pecs_ref_sinusoidal(&p, 16, 12345.0, (const double[1]){12345.0}, 0, row, why, sizeof why), PECS_OK);
    pecs_ref_sincos(12345.0, pow(10000.0, -6.0 / 16.0), &s, &co);
    cr_assert(row[6] == s && row[7] == co, "pair 3: (%a, %a) vs (%a, %a)", row[6], row[7], s, co);
    ref_case_free(c);
}

/* fairseq/tensor2tensor [sin | cos] halves with w_i = base^(-i/(half-1)): for D=16, w_0 = 1 and
 * w_7 = 1e-4 exactly. Observed at position 2^40, where one ulp of w moves the angle by ~1e-8 rad.
 * Catches the Vaswani denominator (half instead of half-1), which makes w_7 = 1e4^(-7/8). */
Test(reference, sinusoidal_concat_frequencies)
{
    pecs_case *c = ref_case("sinusoidal.concat", (const char *)NULL);
    pecs_problem p = ref_problem(c);
    double row[16], s, co;
    char why[256] = "";
    const double P = 0x1p40;
    cr_assert_eq(pecs_ref_sinusoidal_concat(&p, 16, P, (const double[1]){P}, 0, row, why, sizeof why), PECS_OK, "%s", why);
    pecs_ref_sincos(P, 1.0, &s, &co);
    cr_assert(row[0] == s && row[8] == co, "w_0 must be 1: (%a, %a) vs (%a, %a)", row[0], row[8], s, co);
    pecs_ref_sincos(P, 1e-4, &s, &co);
    cr_assert(row[7] == s && row[15] == co, "w_7 must be 1e-4 exactly: (%a, %a) vs (%a, %a)", row[7], row[15], s, co);
    /* row at 0: [0 x8 | 1 x8] */
    cr_assert_eq(pecs_ref_sinusoidal_concat(&p, 16, 0.0, (const double[1]){0.0}, 0, row, why, sizeof why), PECS_OK);
    for (int d = 0; d < 16; d++)
        cr_assert_eq(row[d], d < 8 ? 0.0 : 1.0, "column %d at position 0", d);
    ref_case_free(c);
}

/* padding_idx = 1 shifts every position by padding_idx + 1 = 2 (fairseq make_positions); an odd D
 * appends a zero column and otherwise equals the D-1 table. Catches an offset of padding_idx (1), and
 * an odd D that computes half from D+1 or leaves the last column uninitialised. */
Test(reference, sinusoidal_concat_padding_and_odd)
{
    pecs_case *cp = ref_case("sinusoidal.concat", "padding_idx", "1", (const char *)NULL);
    pecs_case *c0 = ref_case("sinusoidal.concat", (const char *)NULL);
    pecs_problem pp = ref_problem(cp), p0 = ref_problem(c0);
    char why[256] = "";
    static const double positions[] = {0.0, 1.0, 5.0, 1000.0, 0x1p30};
    for (size_t k = 0; k < sizeof positions / sizeof positions[0]; k++) {
        double a[16], b[16];
        cr_assert_eq(pecs_ref_sinusoidal_concat(&pp, 16, positions[k], (const double[1]){positions[k]}, 0, a, why, sizeof why), PECS_OK, "%s", why);
        cr_assert_eq(pecs_ref_sinusoidal_concat(&p0, 16, positions[k] + 2.0, (const double[1]){positions[k] + 2.0}, 0, b, why, sizeof why), PECS_OK, "%s", why);
        cr_assert(memcmp(a, b, sizeof a) == 0, "padding_idx=1 at %g must equal no padding at %g", positions[k],
                  positions[k] + 2.0);
    }
    double odd[17], even[16];
    for (int d = 0; d < 17; d++)
        odd[d] = NAN;
    cr_assert_eq(pecs_ref_sinusoidal_concat(&p0, 17, 77.0, (const double[1]){77.0}, 0, odd, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_ref_sinusoidal_concat(&p0, 16, 77.0, (const double[1]){77.0}, 0, even, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(odd[16], 0.0, "odd D: last column must be 0, got %g", odd[16]);
    cr_assert(memcmp(odd, even, sizeof even) == 0, "odd D=17 must equal the D=16 table plus a zero column");
    ref_case_free(cp);
    ref_case_free(c0);
}

/* ---- pecs_ref_schedule: freq_factors, attn_factor, validation --------------------------------------- */

/* freq_factors divide inv_freq pair by pair and attn_factor multiplies the schedule's own attention
 * factor. Catches multiplying by freq_factors (ggml divides) and attn_factor replacing YaRN's factor. */
Test(reference, schedule_freq_factors_and_attn_factor)
{
    pecs_case *cf = ref_case("rope", "freq_factors", "1,2,4,0.5", "attn_factor", "0.5", (const char *)NULL);
    pecs_case *cr = ref_case("rope", (const char *)NULL);
    pecs_problem pf = ref_problem(cf);
    double inv[4], plain[4], attn = 0.0, pattn = 0.0;
    char why[256] = "";
    cr_assert_eq(sched_run(&pf, NULL, 8, inv, &attn, why, sizeof why), PECS_OK, "%s", why);
    rope_schedule_hook("rope", cr, 8, plain, &pattn);
    static const double ff[] = {1, 2, 4, 0.5};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(inv[i], plain[i] / ff[i], "pair %d: %a vs %a", i, inv[i], plain[i] / ff[i]);
    cr_assert_eq(attn, 0.5);

    pecs_case *cy = ref_case("rope.yarn", "factor", "16", "attn_factor", "2", (const char *)NULL);
    pecs_problem py = ref_problem(cy);
    double yinv[64];
    cr_assert_eq(sched_run(&py, NULL, YR, yinv, &attn, why, sizeof why), PECS_OK, "%s", why);
    cr_assert(rel_close(attn, 2.0 * (0.1 * log(16.0) + 1.0), 1e-15), "yarn attn %.17g", attn);
    ref_case_free(cf);
    ref_case_free(cr);
    ref_case_free(cy);
}

/* A freq_factors list whose length is not R/2 is rejected, naming both lengths; so is a YaRN ramp with
 * beta_fast < beta_slow. Catches silently reading past the list or ignoring the extra values. */
Test(reference, schedule_rejects_inconsistent_params)
{
    pecs_case *cf = ref_case("rope", "freq_factors", "1,1,1,1,1,1,1", (const char *)NULL);
    pecs_problem pf = ref_problem(cf);
    double inv[32], attn = 1.0;
    char why[256] = "";
    cr_assert_eq(sched_run(&pf, NULL, 40, inv, &attn, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "7") && strstr(why, "20"), "message must name 7 and 20: '%s'", why);

    pecs_case *cy = ref_case("rope.yarn", "factor", "16", "beta_fast", "1", "beta_slow", "32", (const char *)NULL);
    pecs_problem py = ref_problem(cy);
    why[0] = '\0';
    cr_assert_eq(sched_run(&py, NULL, YR, inv, &attn, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "beta_fast") != NULL, "message: '%s'", why);
    ref_case_free(cf);
    ref_case_free(cy);
}

/* ---- rotate-form properties over every rotate encoding ------------------------------------------------ */

typedef struct rot_cfg {
    int64_t D;
    const char *rotary_dim; /* "0" = head_dim */
} rot_cfg;

static const rot_cfg ROT_CFGS[] = {{24, "16"}, {16, "0"}, {6, "4"}};
#define N_ROT_CFGS (sizeof ROT_CFGS / sizeof ROT_CFGS[0])

/* Case for encoding e with attention factor exactly 1: schedule factor 16 where there is one (so the
 * schedule is not the plain RoPE one), YaRN's mscale 0 (0.1*0*ln s + 1 = 1) and attention_factor 1 where
 * it overrides (LongRoPE); a fixed seq_len for length-dependent schedules (the long branch of LongRoPE,
 * a scaled base for dynamic NTK); xPos with scale_base 1e12 so its gains stay near 1 up to 2^25; Entropy-ABF with
 * train_length 1e15 so its query gain is exactly 1 below 1e15 (its gain is tested in tests/test_t2.c). */
static pecs_case *rot_case(const pecs_encoding_info *e, const char *pairing, const char *rotary_dim)
{
    pecs_case *c = ref_case(e->id, "pairing", pairing, "rotary_dim", rotary_dim, (const char *)NULL);
    char why[256] = "";
    static const char *const knobs[][2] = {{"factor", "16"},       {"mscale", "0"},    {"attention_factor", "1"},
                                           {"max_position", "4096"}, {"scale_base", "1e12"}, {"train_length", "1e15"}};
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
        if (pecs_registry_param(e, knobs[i][0]))
            cr_assert_eq(pecs_case_set(c, knobs[i][0], knobs[i][1], why, sizeof why), PECS_OK, "%s", why);
    if (e->invariance == PECS_INV_FIXED_L && pecs_registry_param(e, "seq_len"))
        cr_assert_eq(pecs_case_set(c, "seq_len", "100000", why, sizeof why), PECS_OK, "%s", why);
    return c;
}

/* The key side of a rotate case: role=key for encodings whose q and k transforms differ (xPos). */
static pecs_case *rot_case_key(const pecs_encoding_info *e, const char *pairing, const char *rotary_dim)
{
    pecs_case *c = rot_case(e, pairing, rotary_dim);
    char why[256] = "";
    if (pecs_registry_param(e, "role"))
        cr_assert_eq(pecs_case_set(c, "role", "key", why, sizeof why), PECS_OK, "%s", why);
    return c;
}

/* 1 if the encoding scales as well as rotates (its outputs are not norm-preserving). */
static int rot_scales(const pecs_encoding_info *e) { return pecs_registry_param(e, "role") != NULL; }

/* Run the reference rotate form: x and out [T,H,D] F64 contiguous, pos [P,T] of dtype pos_dt with every
 * row the same (row stride 0: text tokens of a multi-axis encoding, t = h = w). */
static void rot_run(const pecs_case *c, int64_t T, int64_t H, int64_t D, const double *x, pecs_dtype pos_dt,
                    const void *pos, double *out)
{
    pecs_problem p = ref_problem(c);
    pecs_tensor t[3];
    memset(t, 0, sizeof t);
    t[0].name = "x";
    t[0].dtype = PECS_DT_F64;
    t[0].ndim = 3;
    t[0].shape[0] = T, t[0].shape[1] = H, t[0].shape[2] = D;
    t[0].stride[0] = H * D, t[0].stride[1] = D, t[0].stride[2] = 1;
    t[0].data = (void *)(uintptr_t)x;
    t[1].name = "pos";
    t[1].dtype = pos_dt;
    t[1].ndim = 2;
    t[1].shape[0] = c->enc->pos_rows, t[1].shape[1] = T;
    t[1].stride[0] = 0, t[1].stride[1] = 1;
    t[1].data = (void *)(uintptr_t)pos;
    t[2] = t[0];
    t[2].name = "out";
    t[2].data = out;
    p.tensors = t;
    p.n_tensors = 3;
    char why[256] = "";
    pecs_status st = pecs_ref_run(&p, why, sizeof why);
    cr_assert_eq(st, PECS_OK, "%s: %s", c->enc->id, why);
}

static void fill_uniform(double *x, int64_t n, uint64_t stream)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = pecs_gen_uniform(REF_SEED, stream, (uint64_t)i);
}

/* The rotate encodings with a pair schedule. A rotate row with learned data (registry `weights`: rope.comrope's
 * block schedule) has no pairing or rotary_dim; its norm, inverse and shift properties are in
 * tests/test_t2comrope.c. */
static int rotate_encodings(const pecs_encoding_info **out)
{
    int n = 0;
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        if (e && e->form == PECS_FORM_ROTATE && !e->weights[0])
            out[n++] = e;
    }
    cr_assert_geq(n, 4, "expected rope, rope.linear, rope.ntk, rope.yarn at least");
    return n;
}

enum { RT = 8, RH = 3, RDMAX = 24 };

/* Rotation with attention factor 1 preserves each pair's norm and copies channels R..D-1 exactly.
 * Catches a wrong sign in one of the two rotation outputs (-x_b sin vs +x_b sin gives no rotation),
 * sin/cos of different angles within a pair, pairing the wrong channels, and touching the tail. */
Test(reference, rotate_preserves_pair_norms)
{
    const pecs_encoding_info *enc[PECS_ENC_COUNT];
    int ne = rotate_encodings(enc);
    static const char *const pairings[] = {"interleaved", "half"};
    double x[RT * RH * RDMAX], y[RT * RH * RDMAX];
    int64_t pos[RT];
    for (int t = 0; t < RT; t++)
        pos[t] = (int64_t)(pecs_gen_u64(REF_SEED, 11, (uint64_t)t) % (UINT64_C(1) << 24)) - (t == 3 ? (1 << 25) : 0);
    for (int ei = 0; ei < ne; ei++)
        for (int pi = 0; pi < 2; pi++)
            for (size_t k = 0; k < N_ROT_CFGS; k++) {
                int64_t D = ROT_CFGS[k].D;
                if (rot_scales(enc[ei]))
                    continue; /* xPos scales by design; its gains are tested in tests/test_t1.c */
                pecs_case *c = rot_case(enc[ei], pairings[pi], ROT_CFGS[k].rotary_dim);
                int64_t R = strcmp(ROT_CFGS[k].rotary_dim, "0") ? strtoll(ROT_CFGS[k].rotary_dim, NULL, 10) : D;
                fill_uniform(x, RT * RH * D, 12);
                rot_run(c, RT, RH, D, x, PECS_DT_I64, pos, y);
                for (int64_t t = 0; t < RT; t++)
                    for (int64_t h = 0; h < RH; h++) {
                        const double *xr = x + (t * RH + h) * D, *yr = y + (t * RH + h) * D;
                        for (int64_t i = 0; i < R / 2; i++) {
                            int64_t a = pi ? i : 2 * i, b = pi ? i + R / 2 : 2 * i + 1;
                            double nx = hypot(xr[a], xr[b]), ny = hypot(yr[a], yr[b]);
                            cr_assert(fabs(nx - ny) <= 1e-14 * nx, "%s %s D=%lld R=%lld t=%lld h=%lld pair %lld: %.17g vs %.17g",
                                      enc[ei]->id, pairings[pi], (long long)D, (long long)R, (long long)t, (long long)h,
                                      (long long)i, nx, ny);
                        }
                        for (int64_t d = R; d < D; d++)
                            cr_assert(memcmp(&xr[d], &yr[d], sizeof(double)) == 0, "%s: tail channel %lld changed",
                                      enc[ei]->id, (long long)d);
                    }
                ref_case_free(c);
            }
}

/* rotate(p) then rotate(-p) is the identity, for i64 positions and for real f64 positions. Catches a
 * rotation by the transpose (sign of sin) on one path only, and positions read with the wrong dtype
 * or sign (e.g. an i64 loaded as unsigned). */
Test(reference, rotate_inverse_is_negative_position)
{
    const pecs_encoding_info *enc[PECS_ENC_COUNT];
    int ne = rotate_encodings(enc);
    static const char *const pairings[] = {"interleaved", "half"};
    double x[RT * RH * RDMAX], y[RT * RH * RDMAX], z[RT * RH * RDMAX];
    int64_t ip[RT], in[RT];
    double fp[RT], fn[RT];
    for (int t = 0; t < RT; t++) {
        ip[t] = (int64_t)(pecs_gen_u64(REF_SEED, 13, (uint64_t)t) % (UINT64_C(1) << 30));
        in[t] = -ip[t];
        fp[t] = ldexp((double)(pecs_gen_u64(REF_SEED, 14, (uint64_t)t) >> 11), -33); /* real, in [0, 2^20) */
        fn[t] = -fp[t];
    }
    for (int ei = 0; ei < ne; ei++)
        for (int pi = 0; pi < 2; pi++)
            for (size_t k = 0; k < N_ROT_CFGS; k++) {
                int64_t D = ROT_CFGS[k].D, n = RT * RH * D;
                /* RoPE++'s imaginary query heads turn by p*w - pi/2: at -p after p that is a half turn, by design
                 * (its own tests in test_t2.c); its keys are plain RoPE and must invert. */
                pecs_case *c = pecs_registry_param(enc[ei], "imag") ? rot_case_key(enc[ei], pairings[pi], ROT_CFGS[k].rotary_dim)
                                                                     : rot_case(enc[ei], pairings[pi], ROT_CFGS[k].rotary_dim);
                fill_uniform(x, n, 15);
                for (int kind = 0; kind < 2; kind++) {
                    rot_run(c, RT, RH, D, x, kind ? PECS_DT_F64 : PECS_DT_I64, kind ? (const void *)fp : (const void *)ip,
                            y);
                    rot_run(c, RT, RH, D, y, kind ? PECS_DT_F64 : PECS_DT_I64, kind ? (const void *)fn : (const void *)in,
                            z);
                    for (int64_t i = 0; i < n; i++)
                        cr_assert(fabs(z[i] - x[i]) <= 1e-14, "%s %s D=%lld %s positions: element %lld %.17g -> %.17g",
                                  enc[ei]->id, pairings[pi], (long long)D, kind ? "f64" : "i64", (long long)i, x[i], z[i]);
                }
                ref_case_free(c);
            }
}

/* Half-split pairing is interleaved pairing conjugated by the permutation i -> 2i, i + R/2 -> 2i + 1,
 * bit for bit. Catches a half pairing that uses inv_freq[2i] or pairs (i, i + D/2) under partial rotary. */
Test(reference, rotate_half_is_permuted_interleaved)
{
    const pecs_encoding_info *enc[PECS_ENC_COUNT];
    int ne = rotate_encodings(enc);
    double x[RT * RH * RDMAX], xp[RT * RH * RDMAX], yh[RT * RH * RDMAX], yi[RT * RH * RDMAX],
        yb[RT * RH * RDMAX];
    int64_t pos[RT];
    for (int t = 0; t < RT; t++)
        pos[t] = (int64_t)(pecs_gen_u64(REF_SEED, 16, (uint64_t)t) % (UINT64_C(1) << 40));
    for (int ei = 0; ei < ne; ei++)
        for (size_t k = 0; k < N_ROT_CFGS; k++) {
            int64_t D = ROT_CFGS[k].D, n = RT * RH * D;
            int64_t R = strcmp(ROT_CFGS[k].rotary_dim, "0") ? strtoll(ROT_CFGS[k].rotary_dim, NULL, 10) : D;
            pecs_case *ch = rot_case(enc[ei], "half", ROT_CFGS[k].rotary_dim);
            pecs_case *ci = rot_case(enc[ei], "interleaved", ROT_CFGS[k].rotary_dim);
            fill_uniform(x, n, 17);
            rot_run(ch, RT, RH, D, x, PECS_DT_I64, pos, yh);
            for (int64_t r = 0; r < RT * RH; r++) { /* x -> interleaved order */
                const double *src = x + r * D;
                double *dst = xp + r * D;
                for (int64_t i = 0; i < R / 2; i++) {
                    dst[2 * i] = src[i];
                    dst[2 * i + 1] = src[i + R / 2];
                }
                for (int64_t d = R; d < D; d++)
                    dst[d] = src[d];
            }
            rot_run(ci, RT, RH, D, xp, PECS_DT_I64, pos, yi);
            for (int64_t r = 0; r < RT * RH; r++) { /* and back */
                const double *src = yi + r * D;
                double *dst = yb + r * D;
                for (int64_t i = 0; i < R / 2; i++) {
                    dst[i] = src[2 * i];
                    dst[i + R / 2] = src[2 * i + 1];
                }
                for (int64_t d = R; d < D; d++)
                    dst[d] = src[d];
            }
            for (int64_t i = 0; i < n; i++)
                cr_assert(memcmp(&yh[i], &yb[i], sizeof(double)) == 0, "%s D=%lld R=%lld element %lld: half %a, permuted %a",
                          enc[ei]->id, (long long)D, (long long)R, (long long)i, yh[i], yb[i]);
            ref_case_free(ch);
            ref_case_free(ci);
        }
}

/* The relative property of the oracle itself: q.k after rotating q at m and k at n equals the same at
 * m + d and n + d, for d up to 2^30, within 1e-13 |q||k|. Catches angles computed as a rounded
 * product pos*w (drift ~1e-7 at 2^30) and q and k rotated with different schedules or directions. */
Test(reference, rotate_relative_shift_invariance)
{
    const pecs_encoding_info *enc[PECS_ENC_COUNT];
    int ne = rotate_encodings(enc);
    static const char *const pairings[] = {"interleaved", "half"};
    static const int64_t shifts[] = {0, 1, 12345, INT64_C(1) << 20, (INT64_C(1) << 30) - 1, INT64_C(1) << 30};
    enum { NS = sizeof shifts / sizeof shifts[0], QH = 2 };
    double q[NS * QH * RDMAX], k[NS * QH * RDMAX], qr[NS * QH * RDMAX], kr[NS * QH * RDMAX];
    for (int trial = 0; trial < 4; trial++) {
        int64_t m = (int64_t)(pecs_gen_u64(REF_SEED, 18, (uint64_t)trial) % 70000u);
        int64_t n = (int64_t)(pecs_gen_u64(REF_SEED, 19, (uint64_t)trial) % 70000u);
        int64_t qpos[NS], kpos[NS];
        for (int s = 0; s < NS; s++) {
            qpos[s] = m + shifts[s];
            kpos[s] = n + shifts[s];
        }
        for (int ei = 0; ei < ne; ei++)
            for (int pi = 0; pi < 2; pi++)
                for (size_t cf = 0; cf < N_ROT_CFGS; cf++) {
                    int64_t D = ROT_CFGS[cf].D;
                    pecs_case *c = rot_case(enc[ei], pairings[pi], ROT_CFGS[cf].rotary_dim);
                    pecs_case *ck = rot_case_key(enc[ei], pairings[pi], ROT_CFGS[cf].rotary_dim);
                    /* the same q and k vectors at every shift */
                    for (int s = 0; s < NS; s++) {
                        for (int64_t i = 0; i < QH * D; i++) {
                            q[s * QH * D + i] = pecs_gen_uniform(REF_SEED, 20 + (uint64_t)trial, (uint64_t)i);
                            k[s * QH * D + i] = pecs_gen_uniform(REF_SEED, 30 + (uint64_t)trial, (uint64_t)i);
                        }
                    }
                    rot_run(c, NS, QH, D, q, PECS_DT_I64, qpos, qr);
                    rot_run(ck, NS, QH, D, k, PECS_DT_I64, kpos, kr);
                    for (int64_t h = 0; h < QH; h++) {
                        double dot0 = 0.0, nq = 0.0, nk = 0.0;
                        for (int64_t d = 0; d < D; d++) {
                            dot0 += qr[h * D + d] * kr[h * D + d];
                            nq += q[h * D + d] * q[h * D + d];
                            nk += k[h * D + d] * k[h * D + d];
                        }
                        double scale = sqrt(nq) * sqrt(nk);
                        for (int s = 1; s < NS; s++) {
                            double dot = 0.0;
                            for (int64_t d = 0; d < D; d++)
                                dot += qr[(s * QH + h) * D + d] * kr[(s * QH + h) * D + d];
                            cr_assert(fabs(dot - dot0) <= 1e-13 * scale,
                                      "%s %s D=%lld m=%lld n=%lld shift %lld head %lld: %.17g vs %.17g (drift %g)",
                                      enc[ei]->id, pairings[pi], (long long)D, (long long)m, (long long)n,
                                      (long long)shifts[s], (long long)h, dot, dot0, fabs(dot - dot0) / scale);
                        }
                    }
                    ref_case_free(c);
                    ref_case_free(ck);
                }
    }
}

/* ---- bias-form property ---------------------------------------------------------------------------------- */

/* Run the alibi bias form for H heads over positions pos[L] (as both qpos and kpos). */
static void alibi_run(const pecs_case *c, int64_t H, int64_t L, pecs_dtype dt, const void *pos, double *out)
{
    pecs_problem p = ref_problem(c);
    pecs_tensor t[3];
    memset(t, 0, sizeof t);
    t[0].name = "qpos";
    t[0].dtype = dt;
    t[0].ndim = 1;
    t[0].shape[0] = L;
    t[0].stride[0] = 1;
    t[0].data = (void *)(uintptr_t)pos;
    t[1] = t[0];
    t[1].name = "kpos";
    t[2].name = "out";
    t[2].dtype = PECS_DT_F64;
    t[2].ndim = 3;
    t[2].shape[0] = H, t[2].shape[1] = L, t[2].shape[2] = L;
    t[2].stride[0] = L * L, t[2].stride[1] = L, t[2].stride[2] = 1;
    t[2].data = out;
    p.tensors = t;
    p.n_tensors = 3;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s", why);
}

/* ALiBi bias -m_h (i - j) is antisymmetric, B(i,j) = -B(j,i), and exactly shift invariant for integer
 * positions (the difference is exact). Catches the authors' +m*j key-only variant (not antisymmetric,
 * not shift invariant), |i-j| (symmetric), and qpos/kpos swapped in the driver (sign of every bias). */
Test(reference, alibi_antisymmetric_and_shift_invariant)
{
    enum { L = 9, H = 12 };
    pecs_case *c = ref_case("alibi", (const char *)NULL);
    static const int64_t base[L] = {0, 1, 2, 5, 17, 100, 1023, 4096, 65537};
    static const int64_t shifts[] = {1, 1000, INT64_C(1) << 20, INT64_C(1) << 40};
    double b0[H * L * L], b1[H * L * L];
    alibi_run(c, H, L, PECS_DT_I64, base, b0);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < L; i++)
            for (int j = 0; j < L; j++) {
                double bij = b0[(h * L + i) * L + j], bji = b0[(h * L + j) * L + i];
                cr_assert_eq(bij, -bji, "head %d: B(%d,%d)=%a, B(%d,%d)=%a", h, i, j, bij, j, i, bji);
                if (base[i] > base[j])
                    cr_assert_lt(bij, 0.0, "a query after its key gets a negative bias");
            }
    for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
        int64_t sp[L];
        double fp[L];
        for (int i = 0; i < L; i++) {
            sp[i] = base[i] + shifts[s];
            fp[i] = (double)sp[i];
        }
        alibi_run(c, H, L, PECS_DT_I64, sp, b1);
        for (int i = 0; i < H * L * L; i++)
            cr_assert_eq(b1[i], b0[i], "i64 shift %lld element %d: %a vs %a", (long long)shifts[s], i, b1[i], b0[i]);
        alibi_run(c, H, L, PECS_DT_F64, fp, b1);
        for (int i = 0; i < H * L * L; i++)
            cr_assert_eq(b1[i], b0[i], "f64 shift %lld element %d: %a vs %a", (long long)shifts[s], i, b1[i], b0[i]);
    }
    ref_case_free(c);
}
