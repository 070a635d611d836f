/* tests/test_t2fitm.c — fitm.calibration (kattn form): Found-in-the-Middle's attention calibration of one layer
 * (reference/fitm_calibration.c states the convention). Keys are [M prompt | L local]; per (query, head) the causal
 * softmax's weights on each prompt document k are rescaled by alpha_k / A_k * C: A_k the document's mean weight,
 * alpha = softmax((A_k - w[h L + i][k]) / t), C keeping the documents' total weight.
 *
 * Known answer worked by hand (uniform weights, two documents of 1 and 2 tokens): sum-instead-of-mean, the subtraction
 * reversed and a missing C each give another row. Properties: eq. 6 read through indicator values (the value of a key
 * is the one-hot vector of its document, so the output is the calibrated weight per document): the documents' total
 * is the uncalibrated one and their means are in the ratios of alpha, at the paper's t and at larger ones; one
 * document filling the prompt makes the calibration the identity (plain causal softmax attention). End to end: the
 * scalar kernel and the mutants' control pass through the harness; the three mutants fail the smoke cases.
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
#include "refutil.h"
#include "runutil.h"
#include "registry.h"
#include "runner.h"
#include "testutil.h"
#include "kattnutil.h"

/* A fitm.calibration problem: keys [M prompt | L local], w [H L, K]. */
static kio fio_new(int64_t M, int64_t L, int64_t H, int64_t D, int64_t K) { return kio_new_w(L, M + L, H, D, H * L, K); }

/* Hand-worked: M = 3, L = 1, H = 1, D = 2, t = 1; documents [1, 2] from key 0 (doc 0 = key 0, doc 1 = keys 1, 2;
 * key 3 is the local token). q = 0: every score 0, p = 1/4 each, so A_0 = A_1 = 1/4 and S = 3/4.
 * w = (1/4 - ln 3, 1/4): rel = (ln 3, 0), alpha = (3/4, 1/4); sum alpha N = 3/4 + 2/4 = 5/4, C = S / (5/4) = 3/5.
 *   p'_0 = 3/4 / (1/4) * 1/4 * 3/5 = 9/20,  p'_1 = p'_2 = 1/4 / (1/4) * 1/4 * 3/5 = 3/20,  p'_3 = 1/4 = 5/20.
 * (means 9/20 and 3/20: in the ratio 3 of alpha; total on the documents 15/20 = S.)
 * v = (20, 0), (0, 20), (0, 0), (0, 20):  out = (9, 3 + 5) = (9, 8).
 * Wrong kernels: C left out gives p'_0 = 3/4, p'_1 = p'_2 = 1/4, out (15, 10); the means taken as sums give A_1 = 1/2,
 * rel = (ln 3, 1/4): another alpha; dummy minus document gives alpha = (1/4, 3/4): out (3, 14). */
Test(t2fitm, known_answer_two_documents)
{
    pecs_case *c = ref_case("fitm.calibration", "memory", "3", "doc_lengths", "1,2", "temperature", "1", "head_dim", "2",
                            "heads", "1", "tokens", "1", NULL);
    kio s = fio_new(3, 1, 1, 2, 2);
    s.w[0] = 0.25 - log(3.0), s.w[1] = 0.25;
    s.v[0] = 20.0, s.v[3] = 20.0, s.v[7] = 20.0;
    double want[2] = {9.0, 8.0};
    kio_expect_both(c, &s, want, "two documents");
    kio_free(&s);
    ref_case_free(c);
}

/* Plain causal softmax attention over keys 0..M+i for query i, head h, channel d (the uncalibrated layer). */
static double plain(const kio *s, int64_t M, int64_t i, int64_t h, int64_t d)
{
    double mx = -INFINITY, z = 0.0, acc = 0.0;
    for (int64_t pass = 0; pass < 2; pass++)
        for (int64_t j = 0; j <= M + i; j++) {
            double dot = 0.0;
            for (int64_t e = 0; e < s->D; e++)
                dot += s->q[(i * s->H + h) * s->D + e] * s->k[(j * s->H + h) * s->D + e];
            dot /= sqrt((double)s->D);
            if (!pass)
                mx = dot > mx ? dot : mx;
            else
                z += exp(dot - mx), acc += exp(dot - mx) * s->v[(j * s->H + h) * s->D + d];
        }
    return acc / z;
}

/* Property (eq. 6): values one-hot on the key's document (channel K for the question and the local keys), so out[c]
 * is the calibrated weight on document c. Then the documents' total is the uncalibrated one (C), and document c's
 * mean weight out[c] / N_c is proportional to alpha_c = softmax((A_c - w_c) / t), A_c read from the same layer without
 * calibration (one-hot values through plain attention). Random q, k (scaled so the weights differ), w near A so alpha
 * is spread; t = 5e-5 (the paper's), 0.01 and 1e12 (alpha uniform: the means equal). */
Test(t2fitm, eq6_document_means_follow_alpha)
{
    static const char *const ts[] = {"5e-5", "0.01", "1e12"};
    const int64_t M = 40, L = 3, H = 2, D = 8, K = 4, start = 5, len[4] = {6, 3, 12, 9};
    for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
        double t = atof(ts[ti]);
        pecs_case *c = ref_case("fitm.calibration", "memory", "40", "doc_start", "5", "doc_lengths", "6,3,12,9",
                                "temperature", ts[ti], "head_dim", "8", "heads", "2", "tokens", "3", NULL);
        kio s = fio_new(M, L, H, D, K);
        kio_random(&s, 11 + ti, 3.0);
        for (int64_t n = 0; n < L * H * D; n++) /* f32 inputs: the scalar run rounds them, the reference must see the same */
            s.q[n] = (float)s.q[n];
        for (int64_t n = 0; n < (M + L) * H * D; n++)
            s.k[n] = (float)s.k[n];
        for (int64_t j = 0; j < M + L; j++) /* one-hot values: the key's document, or channel K */
            for (int64_t h = 0; h < H; h++) {
                int64_t doc = K;
                for (int64_t a = start, k = 0; k < K; a += len[k], k++)
                    doc = j >= a && j < a + len[k] ? k : doc;
                for (int64_t d = 0; d < D; d++)
                    s.v[(j * H + h) * D + d] = d == doc ? 1.0 : 0.0;
            }
        double A[2 * 3 * 4], S[2 * 3];
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < L; i++) {
                S[h * L + i] = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    double tot = plain(&s, M, i, h, k);
                    A[(h * L + i) * K + k] = tot / (double)len[k];
                    S[h * L + i] += tot;
                    /* dummy attention near A (within a few t): alpha is spread, not one document's */
                    s.w[(h * L + i) * K + k] = (float)(A[(h * L + i) * K + k] - (t < 1.0 ? t : 1.0) * (double)((k * 7 + i) % 4));
                }
            }
        double *sc = calloc((size_t)(L * H * D), sizeof *sc);
        cr_assert_not_null(sc);
        kio_run_ref(c, &s);
        kio_run_scalar(c, &s, sc);
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < L; i++) {
                double tot = 0.0, z = 0.0, al[4];
                for (int64_t k = 0; k < K; k++)
                    al[k] = exp((A[(h * L + i) * K + k] - s.w[(h * L + i) * K + k]) / t), z += al[k];
                for (int64_t k = 0; k < K; k++)
                    tot += s.out[(i * H + h) * D + k];
                cr_expect(fabs(tot - S[h * L + i]) <= 1e-12, "t %s: documents' total %.17g, uncalibrated %.17g", ts[ti], tot,
                          S[h * L + i]);
                double unit = s.out[(i * H + h) * D + 0] / (double)len[0] / (al[0] / z);
                for (int64_t k = 0; k < K; k++) {
                    double mean = s.out[(i * H + h) * D + k] / (double)len[k], want = unit * al[k] / z;
                    cr_expect(fabs(mean - want) <= 1e-12 * (1.0 + fabs(want)) + 1e-15, "t %s, head %lld query %lld doc %lld: "
                              "mean %.17g, alpha says %.17g", ts[ti], (long long)h, (long long)i, (long long)k, mean, want);
                    cr_expect(fabs(sc[(i * H + h) * D + k] - s.out[(i * H + h) * D + k]) <= 1e-5,
                              "t %s: scalar %.9g, reference %.9g", ts[ti], sc[(i * H + h) * D + k], s.out[(i * H + h) * D + k]);
                }
            }
        free(sc);
        kio_free(&s);
        ref_case_free(c);
    }
}

/* Property: one document filling the whole prompt has alpha = 1 and C = S / N: the calibration is the identity, the
 * output that of plain causal softmax attention, whatever w and t. */
Test(t2fitm, one_document_is_the_identity)
{
    pecs_case *c = ref_case("fitm.calibration", "memory", "20", "doc_lengths", "20", "temperature", "5e-5", "head_dim", "8",
                            "heads", "2", "tokens", "6", NULL);
    kio s = fio_new(20, 6, 2, 8, 1);
    kio_random(&s, 3, 2.0);
    for (int64_t r = 0; r < 2 * 6; r++)
        s.w[r] = 0.37 * (double)r - 2.0;
    double *want = calloc(6 * 2 * 8, sizeof *want);
    cr_assert_not_null(want);
    for (int64_t i = 0; i < 6; i++)
        for (int64_t h = 0; h < 2; h++)
            for (int64_t d = 0; d < 8; d++)
                want[(i * 2 + h) * 8 + d] = plain(&s, 20, i, h, d);
    kio_expect_within(c, &s, want, "one document", 1e-12, 1e-5);
    free(want);
    kio_free(&s);
    ref_case_free(c);
}

/* The registry row and the case rules: form kattn, tier 2, w [H L, K] (K the number of documents); keys default to
 * memory + tokens; any head_dim (nothing rotates); documents past the prompt, a fractional length, keys set otherwise
 * and a bad temperature are bad input with the reason (never a crash). */
Test(t2fitm, registry_and_case_rules)
{
    const pecs_encoding_info *e = pecs_registry_find("fitm.calibration");
    cr_assert_not_null(e);
    cr_expect_eq(e->form, PECS_FORM_KATTN);
    cr_expect_eq(e->tier, 2);
    cr_expect_null(pecs_registry_find_catalogued("fitm.calibration"));
    pecs_case *c = ref_case("fitm.calibration", "tokens", "8", "heads", "3", "head_dim", "5", "doc_lengths", "4,4,4",
                            NULL);
    int64_t ws[2] = {0, 0};
    cr_expect(pecs_registry_weights_shape_l(e, c->params, c->n_params, 3, 5, 8, ws));
    cr_expect_eq(ws[0], 24);
    cr_expect_eq(ws[1], 3);
    char why[512] = "";
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_keys(c), 72);
    ref_case_free(c);
    static const char *const bad[][2] = {
        {"fitm.calibration tokens=4 memory=20 doc_start=4 doc_lengths=8,9", "doc_start (4) + sum of doc_lengths (17"},
        {"fitm.calibration tokens=4 doc_lengths=8,2.5", "doc_lengths[1] = 2.5 is not a whole number"},
        {"fitm.calibration tokens=4 keys=9", "keys (9) must be memory (64) + tokens (4)"},
        {"fitm.calibration tokens=4 temperature=0", "temperature"},
        {"fitm.calibration tokens=4 doc_lengths=0,3", "doc_lengths"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pecs_case pc;
        why[0] = '\0';
        pecs_status st = pecs_case_parse(&pc, bad[i][0], why, sizeof why);
        if (st == PECS_OK) {
            st = pecs_case_validate(&pc, why, sizeof why);
            pecs_case_free(&pc);
        }
        cr_expect_eq(st, PECS_INVALID, "%s was accepted", bad[i][0]);
        cr_expect(strstr(why, bad[i][1]) != NULL, "%s: %s", bad[i][0], why);
    }
}

/* End to end: the scalar kernel and the mutants' control pass through the harness; the three mutants fail the smoke
 * cases. */
Test(t2fitm, harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "fitm.calibration tokens=8 heads=2 head_dim=16 doc_start=4 temperature=5e-5",
        "fitm.calibration tokens=8 heads=2 head_dim=16 doc_start=4 temperature=0.5",
        "fitm.calibration tokens=17 heads=2 head_dim=64 memory=300 doc_start=12 doc_lengths=30,90,40,100 dtype=bf16 "
        "view=strided",
        "fitm.calibration tokens=1 heads=1 head_dim=8 doc_lengths=1,1,1 temperature=100 dtype=f16",
    };
    static const char *const bad[] = {"fitm_doc_sum", "fitm_rel_reversed", "fitm_no_renorm"};
    tu_expect_scalar_passes_mutants_fail(ok, sizeof ok / sizeof ok[0], bad, sizeof bad / sizeof bad[0]);
}
