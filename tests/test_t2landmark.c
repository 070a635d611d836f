/* tests/test_t2landmark.c — landmark (kattn form): causal softmax attention with Landmark attention's grouped
 * softmax (reference/landmark.c states the convention; token t is a landmark when t % block_size == block_size - 1).
 *
 * Known answers worked by hand: six tokens in blocks of 3 (D = 1), where a kernel that does not gate closed blocks
 * by their landmark's probability, or lets a landmark query close its own block, gets a row wrong; and three tokens
 * in blocks of 2 with D = 4 (the 1/sqrt(D) scale; the landmark's own value never weighted). Properties: with every
 * value the same vector c every output is c (each query's weights sum to 1: an ungated kernel's sum to more), and
 * a prefix of the sequence gives the same outputs (causal: no key after the query counts). End to end: the scalar
 * kernel and the mutants' control pass the smoke case through the harness, both landmark mutants fail it.
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

/* A landmark problem: self-attention, keys = queries. */
static kio lio_new(int64_t L, int64_t H, int64_t D) { return kio_new(L, L, H, D); }

/* Hand-worked, block_size 3, six tokens, H = 1, D = 1: landmarks at 2 and 5; blocks {0, 1 | L2}, {3, 4 | L5}.
 * q_i = 1, so s_ij = k_j: k = (0, ln 3, 0, 0, ln 2, 0); v_j = j.
 *   query 0: own block {0}                                            out = v0 = 0
 *   query 1: own block {0, 1}: e^s = (1, 3), p = (1/4, 3/4)           out = 3/4
 *   query 2 (landmark, its own L2 masked): own block {0, 1}           out = 3/4
 *   query 3: last group {L2: 1, 3: 1}, Z = 2: p3 = 1/2, gate(L2) = 1/2; block 0 in itself (1/4, 3/4):
 *            a = (1/8, 3/8, 0, 1/2)                                   out = 3/8 + 3/2 = 15/8
 *   query 4: last group {L2: 1, 3: 1, 4: 2}, Z = 4: a = (1/16, 3/16, 0, 1/4, 1/2)
 *                                                                     out = 3/16 + 3/4 + 2 = 47/16
 *   query 5 (landmark, L5 masked: its block is still the own block): the same groups as query 4   out = 47/16
 * Wrong kernels: closed blocks not gated (weights 1/4, 3/4 kept) give query 3 3/4 + 3/2 = 9/4; a landmark query
 * treating its own block as closed (L5 joins the last group: {L2: 1, L5: 1}, block 1 in itself (1/3, 2/3)) gives
 * query 5 1/2 x 3/4 + 1/2 x (1 + 8/3) = 53/24. */
Test(t2landmark, known_answer_blocks_of_3)
{
    pecs_case *c = ref_case("landmark", "block_size", "3", "head_dim", "1", "tokens", "6", NULL);
    kio s = lio_new(6, 1, 1);
    for (int j = 0; j < 6; j++)
        s.q[j] = 1.0, s.v[j] = (double)j;
    s.k[1] = log(3.0), s.k[4] = log(2.0);
    double want[6] = {0.0, 0.75, 0.75, 15.0 / 8.0, 47.0 / 16.0, 47.0 / 16.0};
    kio_expect_both(c, &s, want, "blocks of 3");
    kio_free(&s);
    ref_case_free(c);
}

/* Hand-worked, block_size 2 (one regular token per block), three tokens, H = 1, D = 4: landmark at 1.
 * q0 = q1 = 0, q2 = (1, 1, 1, 1); k1 = (a, a, a, a) with a = ln 3 / 2, k0 = (5, 5, 5, 5), k2 = 0;
 * v0 = (4, 0, 0, 0), v1 = (100, 100, 100, 100), v2 = (0, 8, 0, 0).
 *   query 0: out = v0;  query 1 (landmark): own block {0}, out = v0 (v1 never weighted)
 *   query 2: last group {L1: q2.k1 / sqrt(4) = 2a = ln 3 -> 3, 2: 0 -> 1}, Z = 4; block 0 is token 0 alone
 *            (in-block weight 1, whatever k0): out = 3/4 v0 + 1/4 v2 = (3, 2, 0, 0)
 * Without 1/sqrt(D) the landmark's logit is 2 ln 3 (9 against 1): out = (3.6, 0.8, 0, 0). */
Test(t2landmark, known_answer_scale_and_landmark_value)
{
    pecs_case *c = ref_case("landmark", "block_size", "2", "head_dim", "4", "tokens", "3", NULL);
    kio s = lio_new(3, 1, 4);
    double a = log(3.0) / 2.0;
    for (int d = 0; d < 4; d++) {
        s.q[2 * 4 + d] = 1.0;
        s.k[0 * 4 + d] = 5.0, s.k[1 * 4 + d] = a;
        s.v[1 * 4 + d] = 100.0;
    }
    s.v[0] = 4.0, s.v[2 * 4 + 1] = 8.0;
    double want[12] = {4, 0, 0, 0, 4, 0, 0, 0, 3, 2, 0, 0};
    kio_expect_both(c, &s, want, "blocks of 2, D = 4");
    kio_free(&s);
    ref_case_free(c);
}

/* Property: each query's weights sum to 1. Random q, k (logits up to ~+-25), every value the same vector c: every
 * output is c, for blocks of 2, 3, 4 and 51 over 40 tokens. A kernel that does not gate closed blocks by their
 * landmark (or gives the landmark its own weight besides) sums to more than 1. */
Test(t2landmark, weights_sum_to_one)
{
    static const char *const bs[] = {"2", "3", "4", "51"};
    for (size_t b = 0; b < sizeof bs / sizeof bs[0]; b++) {
        pecs_case *c = ref_case("landmark", "block_size", bs[b], "head_dim", "8", "heads", "2", "tokens", "40", NULL);
        kio s = lio_new(40, 2, 8);
        kio_random(&s, 99 + b, 3.0);
        for (int64_t i = 0; i < 40 * 2 * 8; i++)
            s.v[i] = (double)(i % 8) - 2.5;
        double *sc = calloc((size_t)(40 * 2 * 8), sizeof *sc);
        cr_assert_not_null(sc);
        kio_run_ref(c, &s);
        kio_run_scalar(c, &s, sc);
        for (int64_t i = 0; i < 40 * 2 * 8; i++) {
            double want = (double)(i % 8) - 2.5;
            cr_expect(fabs(s.out[i] - want) <= 1e-12, "block_size %s: reference out[%lld] = %.17g, want %g", bs[b],
                      (long long)i, s.out[i], want);
            cr_expect(fabs(sc[i] - want) <= 1e-5, "block_size %s: scalar out[%lld] = %.9g, want %g", bs[b], (long long)i,
                      sc[i], want);
        }
        free(sc);
        kio_free(&s);
        ref_case_free(c);
    }
}

/* Property: causal. The first 21 tokens alone (a sequence ending on a regular token of an open block) give the
 * same outputs as rows 0..20 of the 40-token sequence, reference and scalar, blocks of 4: keys after a query,
 * and the blocks they would close, never count. */
Test(t2landmark, prefix_gives_the_same_rows)
{
    pecs_case *c40 = ref_case("landmark", "block_size", "4", "head_dim", "6", "heads", "2", "tokens", "40", NULL),
              *c21 = ref_case("landmark", "block_size", "4", "head_dim", "6", "heads", "2", "tokens", "21", NULL);
    kio a = lio_new(40, 2, 6), b = lio_new(21, 2, 6);
    kio_random(&a, 7, 3.0);
    memcpy(b.q, a.q, 21 * 12 * sizeof *b.q);
    memcpy(b.k, a.k, 21 * 12 * sizeof *b.k);
    memcpy(b.v, a.v, 21 * 12 * sizeof *b.v);
    double *sa = calloc(40 * 12, sizeof *sa), *sb = calloc(21 * 12, sizeof *sb);
    cr_assert(sa && sb);
    kio_run_ref(c40, &a);
    kio_run_ref(c21, &b);
    kio_run_scalar(c40, &a, sa);
    kio_run_scalar(c21, &b, sb);
    for (int64_t i = 0; i < 21 * 12; i++) {
        cr_expect(fabs(a.out[i] - b.out[i]) <= 1e-13 * (1.0 + fabs(a.out[i])), "reference out[%lld]: %.17g vs %.17g",
                  (long long)i, a.out[i], b.out[i]);
        cr_expect(fabs(sa[i] - sb[i]) <= 1e-6 * (1.0 + fabs(sa[i])), "scalar out[%lld]: %.9g vs %.9g", (long long)i, sa[i],
                  sb[i]);
        cr_expect(fabs(sa[i] - a.out[i]) <= 1e-5 * (1.0 + fabs(a.out[i])), "scalar out[%lld] = %.9g, reference %.9g",
                  (long long)i, sa[i], a.out[i]);
    }
    free(sa), free(sb);
    kio_free(&a), kio_free(&b);
    ref_case_free(c40), ref_case_free(c21);
}

/* The registry row and the case rules: form kattn, no learned data; keys != tokens and block_size 1 are bad input
 * (exit 2), never a crash. */
Test(t2landmark, registry_and_case_rules)
{
    const pecs_encoding_info *e = pecs_registry_find("landmark");
    cr_assert_not_null(e);
    cr_expect_eq(e->form, PECS_FORM_KATTN);
    cr_expect_eq(e->tier, 2);
    pecs_case *c = ref_case("landmark", "tokens", "8", "heads", "3", NULL);
    int64_t ws[2] = {0, 0};
    cr_expect(!pecs_registry_weights_shape(e, c->params, c->n_params, 3, 16, ws));
    char why[512] = "";
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case("landmark", "tokens", "8", "keys", "12", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "keys (12) must equal tokens (8)") != NULL, "%s", why);
    ref_case_free(c);
    pecs_case pc;
    cr_expect_eq(pecs_case_parse(&pc, "landmark tokens=8 block_size=1", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "block_size") != NULL, "%s", why);
}

/* End to end: the scalar kernel and the mutants' control pass through the harness; both mutants fail the smoke case. */
Test(t2landmark, harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "landmark tokens=40 heads=2 head_dim=16 block_size=4",
        "landmark tokens=103 heads=3 head_dim=20 dtype=bf16 view=strided",
        "landmark tokens=7 heads=1 head_dim=8 dtype=f16 block_size=2",
    };
    static const char *const bad[] = {"landmark_ungated", "landmark_own_block_closed"};
    tu_expect_scalar_passes_mutants_fail(ok, sizeof ok / sizeof ok[0], bad, sizeof bad / sizeof bad[0]);
}
