/* tests/test_t2urpe.c — urpe (kattn form): out_i = sum_j softmax_j(q_i.k_j/sqrt(D) + B(j - i)) C(j - i) v_j.
 *
 * Known answers worked by hand (reference/urpe.c states the convention): a 2 x 2 problem with D = 2 that a kernel
 * renormalising after the product with C, reading C by an unsigned distance, or leaving out 1/sqrt(D) gets wrong;
 * and the table rows the signed bucket gives at the defaults (exact, log-spaced, clamped, both signs, the +2 gap
 * and the max_seq_len shift). Property: the output is linear in C (scaling every C row by 3 scales every output
 * by 3), which a kernel that renormalises after the product or folds C into the logits breaks. End to end: the
 * scalar kernel and the mutants' control pass through the harness, mutant urpe_renormalised fails.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "case.h"
#include "reference.h"
#include "kattnutil.h"
#include "refutil.h"
#include "runutil.h"
#include "registry.h"
#include "runner.h"
#include "testutil.h"

/* A urpe problem: w [rows, H] (the B and C tables). */
static kio uio_new(int64_t Lq, int64_t Lk, int64_t H, int64_t D, int64_t rows) { return kio_new_w(Lq, Lk, H, D, rows, H); }

/* Hand-worked, H = 1, D = 2, Lq = Lk = 2, rp_bucket = ur_rp_bucket = 4, max_rp = ur_max_rp = 2, max_seq_len = 2:
 * 2 buckets per direction, max_exact 1, so |d| = 1 is bucket 1; the square's minimum is -1, so the rows are
 * d = -1 -> -1 + 1 = 0,  d = 0 -> 0 + 2 + 1 = 3,  d = +1 -> 1 + 2 + 1 = 4   (rows 1, 2 unused: the +2 gap).
 * w [10, 1]: B rows 0..4, C rows 5..9.  B(-1) = 0, B(0) = 0, B(+1) = ln 3;  C(-1) = 3, C(0) = 2, C(+1) = -1;
 * the unused rows hold 100 (a wrong row shows).  q0 = (0, 0), q1 = (1, 1); k0 = (0, 0), k1 = (a, a), a = ln2/sqrt2;
 * v0 = (4, 1), v1 = (8, -2).
 *   query 0: logits (0 + B(0), 0 + B(1)) = (0, ln 3): p = (1/4, 3/4); out0 = 1/4 * 2 * v0 + 3/4 * (-1) * v1 = (-4, 2)
 *   query 1: logits (0 + B(-1), q1.k1/sqrt2 + B(0)) = (0, ln 2): p = (1/3, 2/3); out1 = 1/3 * 3 * v0 + 2/3 * 2 * v1
 *            = v0 + 4/3 v1 = (44/3, -5/3)
 * Wrong kernels: renormalised after C, query 0 weights (1/2, -3/4) / (-1/4) = (-2, 3): out0 = (16, -8); C read by
 * |d|, query 1 gets C(+1) = -1 for key 0: out1 = (28/3, -3); without 1/sqrt(D) the logit is sqrt2 ln 2, p differs. */
Test(t2urpe, known_answer_2x2)
{
    pecs_case *c = ref_case("urpe", "rp_bucket", "4", "max_rp", "2", "ur_rp_bucket", "4", "ur_max_rp", "2", "max_seq_len",
                            "2", "head_dim", "2", NULL);
    kio s = uio_new(2, 2, 1, 2, 10);
    for (int r = 0; r < 10; r++)
        s.w[r] = 100.0;
    s.w[0] = 0.0, s.w[3] = 0.0, s.w[4] = log(3.0);
    s.w[5 + 0] = 3.0, s.w[5 + 3] = 2.0, s.w[5 + 4] = -1.0;
    double a = log(2.0) / sqrt(2.0);
    s.q[2] = 1.0, s.q[3] = 1.0;
    s.k[2] = a, s.k[3] = a;
    s.v[0] = 4.0, s.v[1] = 1.0, s.v[2] = 8.0, s.v[3] = -2.0;
    double want[4] = {-4.0, 2.0, 44.0 / 3.0, -5.0 / 3.0};
    kio_expect_both(c, &s, want, "2x2");
    kio_free(&s);
    ref_case_free(c);
}

/* Rows of the signed bucket at the defaults (64 buckets: 32 per direction, max_exact 16; max_rp 128; max_seq_len 256,
 * whose square's minimum is -31): row(d) = sgn(d) mag(|d|) + (d >= 0 ? 2 : 0) + 31, mag(n) = n for n < 16, else
 * min(31, 16 + floor(ln(n/16) / ln 8 * 16)):
 *   d    0  1  15  16  31  32  112  113  200 |  -1  -15  -16  -112  -113  -200
 *   row 33 34  48  49  54  54   63   64   64 |  30   16   15     1     0     0
 * (ln(7)/ln 8 * 16 = 14.97: 112 is bucket 30; ln(113/16)/ln 8 * 16 = 15.04: 113 is the last, 31.) Probed with
 * q = k = 0, B = 0 (uniform softmax), C(row) = row + 0.5: one query over 201 keys with v_j = e_j (D = 201) gives
 * out[j] = C(row(j))/201; 201 queries over one key (p = 1) give out[i] = C(row(-i)). An unsigned bucket, T5's
 * bucket (positive distances offset by 16, no +2 gap) or a missing shift fails here. */
static void probe_rows(const char *msl, const int64_t *ds, const int64_t *rows, int n, int64_t L)
{
    pecs_case *c = ref_case("urpe", "max_seq_len", msl, "head_dim", "1", NULL);
    kio s = uio_new(1, L, 1, L, 130); /* positive d: one query, L keys, D = L */
    for (int r = 0; r < 130; r++)
        s.w[r] = r < 65 ? 0.0 : (double)(r - 65) + 0.5;
    for (int64_t j = 0; j < L; j++)
        s.v[j * L + j] = 1.0;
    kio_run_ref(c, &s);
    double *sc = calloc((size_t)L, sizeof *sc);
    cr_assert_not_null(sc);
    kio_run_scalar(c, &s, sc);
    for (int t = 0; t < n; t++)
        if (ds[t] >= 0) {
            double w = ((double)rows[t] + 0.5) / (double)L;
            cr_expect(fabs(s.out[ds[t]] - w) <= 1e-13, "max_seq_len %s: reference row(%lld) = %g, want %lld", msl,
                      (long long)ds[t], s.out[ds[t]] * (double)L - 0.5, (long long)rows[t]);
            cr_expect(fabs(sc[ds[t]] - w) <= 1e-6 * w, "max_seq_len %s: scalar row(%lld) = %g, want %lld", msl,
                      (long long)ds[t], sc[ds[t]] * (double)L - 0.5, (long long)rows[t]);
        }
    kio_free(&s);
    free(sc);
    s = uio_new(L, 1, 1, 1, 130); /* negative d: L queries, one key */
    for (int r = 0; r < 130; r++)
        s.w[r] = r < 65 ? 0.0 : (double)(r - 65) + 0.5;
    s.v[0] = 1.0;
    sc = calloc((size_t)L, sizeof *sc);
    cr_assert_not_null(sc);
    kio_run_ref(c, &s);
    kio_run_scalar(c, &s, sc);
    for (int t = 0; t < n; t++)
        if (ds[t] < 0) {
            double w = (double)rows[t] + 0.5;
            cr_expect(fabs(s.out[-ds[t]] - w) <= 1e-13 * w, "max_seq_len %s: reference row(%lld) = %g, want %lld", msl,
                      (long long)ds[t], s.out[-ds[t]] - 0.5, (long long)rows[t]);
            cr_expect(fabs(sc[-ds[t]] - w) <= 1e-6 * w, "max_seq_len %s: scalar row(%lld) = %g, want %lld", msl,
                      (long long)ds[t], sc[-ds[t]] - 0.5, (long long)rows[t]);
        }
    kio_free(&s);
    free(sc);
    ref_case_free(c);
}

Test(t2urpe, known_answer_bucket_rows)
{
    static const int64_t ds[] = {0, 1, 15, 16, 31, 32, 112, 113, 200, -1, -15, -16, -112, -113, -200};
    static const int64_t rows[] = {33, 34, 48, 49, 54, 54, 63, 64, 64, 30, 16, 15, 1, 0, 0};
    probe_rows("256", ds, rows, (int)(sizeof ds / sizeof ds[0]), 201);
    /* A 9-token model square: the minimum is -mag(8) = -8, so row(d) = d + 8 for d < 0 and d + 10 for d >= 0. */
    static const int64_t ds9[] = {0, 1, 8, -1, -8};
    static const int64_t rows9[] = {10, 11, 18, 7, 0};
    probe_rows("9", ds9, rows9, (int)(sizeof ds9 / sizeof ds9[0]), 9);
}

/* Property: out is linear in C. Random q, k, v, B, C (fixed LCG), 23 queries over 37 keys at the defaults;
 * scaling rows rp_bucket + 1.. of w by 3 scales every output by 3 (reference and scalar). A kernel renormalising
 * after the product is invariant to the scale; one adding C to the logits (C before the softmax) is not linear. */
Test(t2urpe, linear_in_c)
{
    pecs_case *c = ref_case("urpe", "head_dim", "6", "heads", "2", NULL);
    kio s = uio_new(23, 37, 2, 6, 130);
    uint64_t st = 12345;
    double *arrs[4] = {s.q, s.k, s.v, s.w};
    int64_t lens[4] = {23 * 12, 37 * 12, 37 * 12, 260};
    for (int a = 0; a < 4; a++)
        for (int64_t i = 0; i < lens[a]; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            arrs[a][i] = (double)(st >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        }
    int64_t n = 23 * 12;
    double *r1 = calloc((size_t)n, sizeof *r1), *s1 = calloc((size_t)n, sizeof *s1), *s3 = calloc((size_t)n, sizeof *s3);
    cr_assert(r1 && s1 && s3);
    kio_run_ref(c, &s);
    memcpy(r1, s.out, (size_t)n * sizeof *r1);
    kio_run_scalar(c, &s, s1);
    for (int64_t i = 65 * 2; i < 130 * 2; i++) /* C: rows 65..129, both heads */
        s.w[i] *= 3.0;
    kio_run_ref(c, &s);
    kio_run_scalar(c, &s, s3);
    double mx = 0.0;
    for (int64_t i = 0; i < n; i++)
        mx = fabs(r1[i]) > mx ? fabs(r1[i]) : mx;
    cr_assert(mx > 0.05, "outputs too small to test (%g)", mx);
    for (int64_t i = 0; i < n; i++) {
        cr_expect(fabs(s.out[i] - 3.0 * r1[i]) <= 1e-12 * (1.0 + fabs(r1[i])), "reference out[%lld]: %.17g, want 3 x %.17g",
                  (long long)i, s.out[i], r1[i]);
        cr_expect(fabs(s3[i] - 3.0 * s1[i]) <= 1e-5 * mx, "scalar out[%lld]: %.9g, want 3 x %.9g", (long long)i, s3[i], s1[i]);
        cr_expect(fabs(s1[i] - r1[i]) <= 1e-5 * mx, "scalar out[%lld] = %.9g, reference %.9g", (long long)i, s1[i], r1[i]);
    }
    free(r1), free(s1), free(s3);
    kio_free(&s);
    ref_case_free(c);
}

/* The registry row and the case rules: form kattn, w [rp_bucket + ur_rp_bucket + 2, H]; Lq or Lk over max_seq_len
 * and max_rp not above max_exact are bad input (exit 2), never a crash. */
Test(t2urpe, registry_and_case_rules)
{
    const pecs_encoding_info *e = pecs_registry_find("urpe");
    cr_assert_not_null(e);
    cr_expect_eq(e->form, PECS_FORM_KATTN);
    pecs_case *c = ref_case("urpe", "tokens", "8", "heads", "3", NULL);
    int64_t ws[2] = {0, 0};
    cr_expect(pecs_registry_weights_shape(e, c->params, c->n_params, 3, 16, ws));
    cr_expect_eq(ws[0], 130);
    cr_expect_eq(ws[1], 3);
    char why[512] = "";
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case("urpe", "tokens", "257", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "max_seq_len") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("urpe", "tokens", "8", "keys", "20", "max_seq_len", "16", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    ref_case_free(c);
    c = ref_case("urpe", "tokens", "16", "max_seq_len", "16", NULL); /* the edge */
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case("urpe", "ur_rp_bucket", "32", "ur_max_rp", "8", NULL); /* max_exact 8: log(8/8) = 0 */
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "ur_max_rp") != NULL, "%s", why);
    ref_case_free(c);
}

/* End to end: the scalar kernel and the mutants' control pass through the harness; the renormalising mutant fails. */
Test(t2urpe, harness_passes_scalar_and_fails_renormalised_mutant)
{
    static const char *const ok[] = {
        "urpe tokens=40 heads=2 head_dim=16",
        "urpe tokens=5 keys=150 heads=3 head_dim=20 dtype=bf16 view=strided",
        "urpe tokens=33 heads=1 head_dim=16 dtype=f16 rp_bucket=16 max_rp=20 ur_rp_bucket=8 ur_max_rp=12",
    };
    char reason[768], path[512];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict("scalar", ok[i], reason, sizeof reason), PECS_V_PASSED, "%s: %s", ok[i], reason);
    snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-none.so", tu_env("PECS_BUILD", "build"));
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict(path, ok[i], reason, sizeof reason), PECS_V_PASSED, "control, %s: %s", ok[i], reason);
    snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-urpe_renormalised.so", tu_env("PECS_BUILD", "build"));
    cr_expect_eq(tu_run_verdict(path, ok[0], reason, sizeof reason), PECS_V_FAILED, "renormalised: %s", reason);
}
