/* tests/test_t2lheads.c — longheads (kattn form): one LongHeads attention layer's prefill (reference/longheads.c
 * states the convention). Keys = tokens; q and k come unrotated; queries before begin_selective_length B use causal
 * RoPE attention; a later query i (chunk c = i / w, r = i % w) attends to chunk 0, c - 1, c and the K - 3 best
 * earlier chunks by q_i . c_g, their keys (the own chunk's before i only) rotated at contiguous positions 0, 1, ..
 * and itself at (K - 1) w + r.
 *
 * Known answers worked by hand with D = 2 (one pair: the angle is the position in radians at any base): w = 1 (a
 * chunk is a token, its key the token's key), where the selection, the remap and the missing own key each change
 * query 4's row; and w = 2, where the chunk key (the chunk's summary attending over its keys) picks another chunk
 * than the plain mean of its keys would. Property: with no query past B the layer is plain causal RoPE attention
 * (focused_memory with no memory). Bad input: the case rules and the parameter rules. End to end: the scalar kernel
 * and the mutants' control pass the harness, every mutant fails the smoke case.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "case.h"
#include "compare.h"
#include "reference.h"
#include "refutil.h"
#include "runutil.h"
#include "registry.h"
#include "runner.h"
#include "testutil.h"
#include "kattnutil.h"

/* Hand-worked: w = 1, atten_length 4 (K = 4), B = 3, L = 5, H = 1, D = 2. q_0 .. q_3 = 0 (uniform weights);
 * q_4 = (sqrt 2, 0). With w = 1 a chunk's key is its token's key (one token attends to itself: m = v, and the
 * summary's softmax over one key is 1).
 *   k_0 = ln 2 (cos 3, sin 3)   v_0 = (3, 0)        k_1 = (-1, 0)   v_1 = (12, 12)
 *   k_2 = ln 3 (cos 2, sin 2)   v_2 = (0, 2)        k_3 = (0, 0)    v_3 = (0, 0)      k_4 = (ln 6, 0)  v_4 = (-6, 6)
 *   queries 0, 1, 2 (< B): causal means: (3, 0), (7.5, 6), (5, 14/3).
 *   query 3 (c = 3, r = 0): chunks 0, 2, 3 forced, the one candidate (1) taken; the own chunk gives r = 0 keys:
 *            keys 0, 1, 2, uniform: (5, 14/3).
 *   query 4 (c = 4, r = 0): chunks 0, 3, 4 forced; one of 1, 2 by q_4 . k_g: sqrt 2 (-1) < sqrt 2 ln 3 cos 2 (-0.65):
 *            chunk 2. Keys 0, 2, 3 at positions 0, 1, 2, the query at 3: a logit is (q . R(p - 3) k) / sqrt 2 =
 *            [R(p - 3) k]_x: ln 2, ln 3, 0 -> e^s = (2, 3, 1), out_4 = ((6, 0) + (0, 6)) / 6 = (1, 1).
 * Wrong kernels: the own key too (k_4 at 3, e^s 6) gives (-2.5, 3.5); keys at their token index and the query at 4
 * gives e^s (2^cos 1, 3, 1) (0.80, 1.10); a selection by the rotated query takes chunk 1 ((1.52 12 + 6, ...)). */
Test(t2lheads, known_answer_selection_remap_own_key)
{
    pecs_case *c = ref_case("longheads", "window_size", "1", "atten_length", "4", "begin_selective_length", "3",
                            "head_dim", "2", "tokens", "5", NULL);
    kio s = kio_new(5, 5, 1, 2);
    s.q[8] = sqrt(2.0);
    s.k[0] = log(2.0) * cos(3.0), s.k[1] = log(2.0) * sin(3.0);
    s.k[2] = -1.0;
    s.k[4] = log(3.0) * cos(2.0), s.k[5] = log(3.0) * sin(2.0);
    s.k[8] = log(6.0);
    s.v[0] = 3.0, s.v[2] = s.v[3] = 12.0, s.v[5] = 2.0, s.v[8] = -6.0, s.v[9] = 6.0;
    double want[10] = {3.0, 0.0, 7.5, 6.0, 5.0, 14.0 / 3.0, 5.0, 14.0 / 3.0, 1.0, 1.0};
    kio_expect_both(c, &s, want, "w = 1, K = 4");
    kio_free(&s);
    ref_case_free(c);
}

/* Hand-worked: w = 2, atten_length 8 (K = 4), B = 8, L = 9, H = 1, D = 2; every q = 0 but q_8 = (1, -1);
 * s = sqrt 2 ln 3.
 *   chunk 1 (tokens 2, 3): k_2 = (1, 0), k_3 = R(-1)(0, 1) (so R(1) k_3 = (0, 1)), v_2 = v_3 = (s, 0). Its queries are
 *     0: o_t = the chunk's mean value, m_1 = (s, 0); the summary's logits m . ~k_u / sqrt 2 = (ln 3, 0): weights
 *     (3/4, 1/4), c_1 = (3/4, 1/4).
 *   chunk 2 (tokens 4, 5): k_4 = (1, 0), k_5 = R(-1)(0, 1/2), v_4 = (0, 1), v_5 = (0, -1): m_2 = 0, weights (1/2, 1/2),
 *     c_2 = (1/2, 1/4).
 *   chunks 0 and 3 (tokens 0, 1, 6, 7) and token 8: k = v = 0.
 *   query 8 (c = 4, r = 0): chunks 0, 3, 4 forced; q_8 . c_1 = 1/2 > q_8 . c_2 = 1/4: chunk 1. Keys 0, 1, 2, 3, 6, 7 at
 *     0 .. 5, the query at 6; only k_2 (at 2) and k_3 (at 3) are not 0: logits a = q_8 . R(-4)(1, 0) / sqrt 2 =
 *     (cos 4 + sin 4) / sqrt 2 and b = q_8 . R(-4)(0, 1) / sqrt 2 = (sin 4 - cos 4) / sqrt 2;
 *     out_8 = (s (e^a + e^b) / (4 + e^a + e^b), 0).
 *   queries 0 .. 7 (< B): causal means: (0, 0), (0, 0), (s/3, 0), (s/2, 0), (2s/5, 1/5), (s/3, 0), (2s/7, 0), (s/4, 0).
 * The plain mean of a chunk's keys ((1/2, 1/2) and (1/2, 1/4): scores 0 and 1/4) would take chunk 2: out_8 = (0, y). */
Test(t2lheads, known_answer_chunk_key_is_the_summary_attending)
{
    pecs_case *c = ref_case("longheads", "window_size", "2", "atten_length", "8", "begin_selective_length", "8",
                            "head_dim", "2", "tokens", "9", NULL);
    kio s = kio_new(9, 9, 1, 2);
    double sq = sqrt(2.0) * log(3.0), a = (cos(4.0) + sin(4.0)) / sqrt(2.0), b = (sin(4.0) - cos(4.0)) / sqrt(2.0);
    s.q[16] = 1.0, s.q[17] = -1.0;
    s.k[4] = 1.0, s.k[6] = sin(1.0), s.k[7] = cos(1.0);
    s.k[8] = 1.0, s.k[10] = 0.5 * sin(1.0), s.k[11] = 0.5 * cos(1.0);
    s.v[4] = s.v[6] = sq, s.v[9] = 1.0, s.v[11] = -1.0;
    double want[18] = {0, 0, 0, 0, sq / 3, 0, sq / 2, 0, 2 * sq / 5, 0.2, sq / 3, 0, 2 * sq / 7, 0, sq / 4, 0,
                       sq * (exp(a) + exp(b)) / (4.0 + exp(a) + exp(b)), 0};
    kio_expect_both(c, &s, want, "w = 2, the chunk key");
    kio_free(&s);
    ref_case_free(c);
}

/* Property: with no query at or past B every query is plain causal RoPE attention, which is focused_memory with no
 * memory (random q, k, v; L = 12, H = 2, D = 8, base 100; reference and scalar). With B = 8 < 12 the selective rows
 * differ (the remap and the missing own key are not no-ops). */
Test(t2lheads, before_begin_is_causal_rope_attention)
{
    int64_t n = 12 * 2 * 8;
    pecs_case *f = ref_case("focused_memory", "memory", "0", "head_dim", "8", "heads", "2", "tokens", "12", "base", "100",
                            NULL);
    kio a = kio_new(12, 12, 2, 8);
    kio_random(&a, 91, 2.0);
    kio_run_ref(f, &a);
    double *plain = calloc((size_t)n, sizeof *plain), *sc = calloc((size_t)n, sizeof *sc);
    cr_assert(plain && sc);
    memcpy(plain, a.out, (size_t)n * sizeof *plain);
    static const char *const bs[] = {"12", "100", "8"};
    for (int t = 0; t < 3; t++) {
        pecs_case *c = ref_case("longheads", "window_size", "2", "atten_length", "6", "begin_selective_length", bs[t],
                                "head_dim", "8", "heads", "2", "tokens", "12", "base", "100", NULL);
        kio_run_ref(c, &a);
        kio_run_scalar(c, &a, sc);
        double dmax = 0.0, first = 0.0;
        for (int64_t i = 0; i < n; i++) {
            dmax = fmax(dmax, fabs(a.out[i] - plain[i]));
            if (i < 8 * 2 * 8)
                first = fmax(first, fabs(a.out[i] - plain[i]));
            cr_expect(fabs(sc[i] - a.out[i]) <= 1e-5 * (1.0 + fabs(a.out[i])), "B %s: scalar out[%lld] = %.9g, "
                      "reference %.9g", bs[t], (long long)i, sc[i], a.out[i]);
        }
        if (t < 2)
            cr_expect(dmax <= 1e-13, "B %s: differs from causal RoPE attention by %g", bs[t], dmax);
        else {
            cr_expect(first <= 1e-13, "B 8: queries before 8 differ by %g", first);
            cr_expect(dmax > 1e-3, "B 8: the selective rows equal causal RoPE attention (%g)", dmax);
        }
        ref_case_free(c);
    }
    free(plain), free(sc);
    kio_free(&a);
    ref_case_free(f);
}

/* The registry row and the bad input: form kattn, tier 2, no learned data, no longer catalogued; keys other than the
 * tokens, an odd head_dim, atten_length not a multiple of window_size or under 3 chunks, B not a multiple of
 * window_size or under atten_length - window_size: each a clear error, never a crash. */
Test(t2lheads, registry_and_bad_input)
{
    const pecs_encoding_info *e = pecs_registry_find("longheads");
    cr_assert_not_null(e);
    cr_expect_eq(e->form, PECS_FORM_KATTN);
    cr_expect_eq(e->tier, 2);
    cr_expect_null(pecs_registry_find_catalogued("longheads"));
    char why[512] = "";
    pecs_case *c = ref_case("longheads", "tokens", "8", "heads", "3", NULL);
    int64_t ws[2] = {0, 0};
    cr_expect(!pecs_registry_weights_shape(e, c->params, c->n_params, 3, 16, ws));
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_keys(c), 8);
    ref_case_free(c);
    c = ref_case("longheads", "tokens", "8", "keys", "12", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "keys (12) must equal tokens (8)") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("longheads", "tokens", "8", "head_dim", "3", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "head_dim must be even") != NULL, "%s", why);
    ref_case_free(c);
    static const char *const bad[][2] = {
        {"longheads tokens=8 window_size=4 atten_length=10 begin_selective_length=8", "a multiple of window_size"},
        {"longheads tokens=8 window_size=4 atten_length=8 begin_selective_length=8", "at least 3 chunks"},
        {"longheads tokens=8 window_size=4 atten_length=16 begin_selective_length=14", "begin_selective_length"},
        {"longheads tokens=8 window_size=4 atten_length=16 begin_selective_length=8", ">= atten_length - window_size"},
        {"longheads tokens=8 window_size=0", "window_size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pecs_case pc;
        pecs_status st = pecs_case_parse(&pc, bad[i][0], why, sizeof why);
        if (st == PECS_OK) {
            st = pecs_case_validate(&pc, why, sizeof why);
            pecs_case_free(&pc);
        }
        cr_expect_eq(st, PECS_INVALID, "%s: accepted", bad[i][0]);
        cr_expect(strstr(why, bad[i][1]) != NULL, "%s: %s", bad[i][0], why);
    }
}

/* End to end: the scalar kernel and the mutants' control pass through the harness; every mutant fails the smoke
 * case (ok[0]). */
Test(t2lheads, harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "longheads tokens=48 heads=2 head_dim=16 window_size=4 atten_length=20 begin_selective_length=16",
        "longheads tokens=45 heads=3 head_dim=64 window_size=4 atten_length=12 begin_selective_length=8 dtype=bf16 "
        "view=strided",
        "longheads tokens=7 heads=2 head_dim=8 window_size=2 atten_length=6 begin_selective_length=4 dtype=f16",
        "longheads tokens=64 heads=2 head_dim=16 window_size=4 atten_length=24 begin_selective_length=20 base=10",
    };
    static const char *const bad[] = {"lh_token_positions", "lh_own_key", "lh_mean_key"};
    tu_expect_scalar_passes_mutants_fail(ok, sizeof ok / sizeof ok[0], bad, sizeof bad / sizeof bad[0]);
}
