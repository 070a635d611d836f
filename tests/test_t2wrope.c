/* tests/test_t2wrope.c — rope.windowed (WRoPE, A^2ATS; junhuihe-hjh/vqkey vqkey/models/llama_masked.py): hand-worked
 * known answers, the two halves of the definition as properties against an independent plain RoPE (q and k rotated at
 * their own positions, or the query at P and the key unrotated, as the code scores the quantised keys), relative-shift
 * invariance, bad input. The property test also runs the four rope.windowed mutants (impls/mutants/mutants.def) and
 * the mutants' control: the control must satisfy the properties, every mutant must break them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "reference.h"
#include "refutil.h"
#include "registry.h"
#include "testutil.h"

#include "ropescoreutil.h"

/* Hand-worked, H = 1, D = 2 (one pair, frequency 1 whatever the base), tokens at 0..3, W = 2, S = 1, P = 5,
 * q_i = (1, 0), k_j = (1, 1): the pair term is cos(r)(q.k) + sin(r)(q_a k_b - q_b k_a) = cos r + sin r, r the
 * effective distance: the true i - j inside the window (i - j < 2) and for key 0 (the sink), 5 beyond.
 *   q\k  0            1            2            3
 *    0   c(0)         -inf         -inf         -inf          c(r) = (cos r + sin r)/sqrt 2
 *    1   c(1)         c(0)         -inf         -inf
 *    2   c(2) sink    c(1)         c(0)         -inf
 *    3   c(3) sink    c(5) = P     c(1)         c(0)
 * The same at positions 100..103 (the sink is key 0, not position 0). Catches: beyond the window at W (row 3 key 1
 * c(2); mutant wrope_cap_at_window), the window i - j <= W (row 2 key 0 and row 3 key 1 would keep c(2);
 * wrope_window_inclusive), sinks by position (row 3 key 0 c(5) at 100..103; wrope_sink_by_position), R(kpos - qpos)
 * (c(-1) = (cos 1 - sin 1)/sqrt 2; wrope_distance_reversed), a missing 1/sqrt(D), no causal mask. */
Test(t2wrope, known_answer_4x4)
{
    double q[8] = {1, 0, 1, 0, 1, 0, 1, 0}, k[8] = {1, 1, 1, 1, 1, 1, 1, 1}, pos[4] = {0, 1, 2, 3};
    const double NI = -INFINITY;
#define C_(r) ((cos(r) + sin(r)) / sqrt(2.0))
    double want[16] = {C_(0), NI, NI, NI, C_(1), C_(0), NI, NI, C_(2), C_(1), C_(0), NI, C_(3), C_(5), C_(1), C_(0)};
#undef C_
    wr_io s = {.H = 1, .D = 2, .Lq = 4, .Lk = 4, .q = q, .k = k, .qpos = pos, .kpos = pos};
    pecs_case *c = ref_case("rope.windowed", "wrope_local_window", "2", "attention_sink", "1", "wrope_relative_pos", "5",
                            NULL);
    for (int shifted = 0; shifted < 2; shifted++) {
        double o[16];
        for (int t = 0; t < 4; t++)
            pos[t] = (shifted ? 100.0 : 0.0) + (double)t;
        wr_ref(c, &s, o);
        wr_expect(shifted ? "reference at 100" : "reference", o, want, 16, 1e-13);
        wr_backend("scalar", c, &s, o);
        wr_expect(shifted ? "scalar at 100" : "scalar", o, want, 16, 1e-6);
    }
    ref_case_free(c);
}

/* Hand-worked, the pairing: H = 1, D = 4, base 100 (frequencies 1 and 0.1), one query at 10 over keys at 0..10,
 * W = 3, S = 2, P = 7, q = (1, 0, 0, 0), k = (0, 0, 1, 0). Half pairs (0, 2) and (1, 3): the first pair's term is
 * sin(r) (q_a = 1, k_b = 1), the second 0, so out = sin(r)/2 with r = 10, 9 (sinks), 7 (keys 2..7, P), 2, 1, 0.
 * Interleaved pairs (0, 1) and (2, 3): q and k share no pair, out = 0 everywhere. */
Test(t2wrope, known_answer_pairing)
{
    double q[4] = {1, 0, 0, 0}, k[44], qpos[1] = {10}, kpos[11];
    for (int j = 0; j < 11; j++) {
        k[4 * j] = 0, k[4 * j + 1] = 0, k[4 * j + 2] = 1, k[4 * j + 3] = 0;
        kpos[j] = j;
    }
    double half[11], zero[11] = {0}, r[11] = {10, 9, 7, 7, 7, 7, 7, 7, 2, 1, 0};
    for (int j = 0; j < 11; j++)
        half[j] = sin(r[j]) / 2.0;
    wr_io s = {.H = 1, .D = 4, .Lq = 1, .Lk = 11, .q = q, .k = k, .qpos = qpos, .kpos = kpos};
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case("rope.windowed", "wrope_local_window", "3", "attention_sink", "2", "wrope_relative_pos",
                                "7", "base", "100", "pairing", v ? "interleaved" : "half", NULL);
        double o[11];
        wr_ref(c, &s, o);
        wr_expect(v ? "reference interleaved" : "reference half", o, v ? zero : half, 11, 1e-13);
        wr_backend("scalar", c, &s, o);
        wr_expect(v ? "scalar interleaved" : "scalar half", o, v ? zero : half, 11, 1e-6);
        ref_case_free(c);
    }
}

/* Mismatches of out against the definition's two halves, written from the plain rotation: a key inside the window
 * (qpos - kpos < W) or among the first S keys scores as plain RoPE with q at qpos and k at kpos; any other visible key
 * as q rotated at P against the unrotated k (the code's query_states_wrope . key); keys after the query are -inf. */
static int64_t wr_violations(const wr_io *s, const double *out, double W, int64_t S, double P, int half, double tol)
{
    int64_t bad = 0;
    for (int64_t h = 0; h < s->H; h++)
        for (int64_t i = 0; i < s->Lq; i++)
            for (int64_t j = 0; j < s->Lk; j++) {
                double e = out[(h * s->Lq + i) * s->Lk + j], d = s->qpos[i] - s->kpos[j], want;
                if (d < 0) {
                    bad += !(isinf(e) && e < 0);
                    continue;
                }
                if (d < W || j < S)
                    want = plain_rope(s, h, i, j, s->qpos[i], s->kpos[j], 10000.0, half);
                else
                    want = plain_rope(s, h, i, j, P, 0.0, 10000.0, half);
                bad += !(fabs(e - want) <= tol * (1.0 + fabs(want)));
            }
    return bad;
}

/* The properties on random inputs (H = 2, D = 16, 24 tokens at 500..523, W = 4, S = 3, P = 2048, both pairings), for
 * the reference, the scalar kernel and the mutants' control; each rope.windowed mutant breaks them. Then every key a
 * sink (S = Lk), or a window past every distance, gives plain RoPE for every visible key, and the logits do not move
 * when qpos and kpos shift together by 12345 (exact for the reference). */
Test(t2wrope, window_is_rope_beyond_is_rope_at_P, .timeout = 60)
{
    static const char *const mutants[] = {"wrope_cap_at_window", "wrope_sink_by_position", "wrope_window_inclusive",
                                          "wrope_distance_reversed"};
    int64_t H = 2, D = 16, L = 24, n = H * L * L;
    wr_io s = wr_random(H, D, L, L, 500.0, 500.0, 17);
    double *o = wr_alloc(n), *r = wr_alloc(n);
    for (int v = 0; v < 2; v++) {
        const char *pairing = v ? "interleaved" : "half";
        pecs_case *c = ref_case("rope.windowed", "wrope_local_window", "4", "attention_sink", "3", "pairing", pairing,
                                NULL);
        wr_ref(c, &s, r);
        cr_expect_eq(wr_violations(&s, r, 4, 3, 2048, !v, 1e-12), 0, "reference, %s", pairing);
        wr_backend("scalar", c, &s, o);
        cr_expect_eq(wr_violations(&s, o, 4, 3, 2048, !v, 2e-5), 0, "scalar, %s", pairing);
        wr_backend("none", c, &s, o);
        cr_expect_eq(wr_violations(&s, o, 4, 3, 2048, !v, 2e-5), 0, "mutants' control, %s", pairing);
        for (size_t m = 0; m < sizeof mutants / sizeof mutants[0]; m++) {
            wr_backend(mutants[m], c, &s, o);
            cr_expect_gt(wr_violations(&s, o, 4, 3, 2048, !v, 2e-5), 0, "mutant %s passes the properties, %s",
                         mutants[m], pairing);
        }
        for (int64_t t = 0; t < L; t++)
            s.qpos[t] += 12345.0, s.kpos[t] += 12345.0;
        wr_ref(c, &s, o);
        for (int64_t e = 0; e < n; e++)
            cr_expect(o[e] == r[e] || (isinf(o[e]) && isinf(r[e])), "reference moves under a shift at %lld: %.17g vs "
                      "%.17g", (long long)e, o[e], r[e]);
        wr_backend("scalar", c, &s, o);
        cr_expect_eq(wr_violations(&s, o, 4, 3, 2048, !v, 2e-5), 0, "scalar shifted, %s", pairing);
        for (int64_t t = 0; t < L; t++)
            s.qpos[t] -= 12345.0, s.kpos[t] -= 12345.0;
        ref_case_free(c);
        for (int all = 0; all < 2; all++) { /* plain RoPE: every key a sink, or the window past every distance */
            c = all ? ref_case("rope.windowed", "wrope_local_window", "1000000", "attention_sink", "0", "pairing",
                               pairing, NULL)
                    : ref_case("rope.windowed", "wrope_local_window", "0", "attention_sink", "24", "pairing", pairing,
                               NULL);
            wr_ref(c, &s, r);
            wr_backend("scalar", c, &s, o);
            cr_expect_eq(wr_violations(&s, r, 1e300, 0, 0, !v, 1e-12), 0, "reference, plain RoPE case %d, %s", all,
                         pairing);
            cr_expect_eq(wr_violations(&s, o, 1e300, 0, 0, !v, 2e-5), 0, "scalar, plain RoPE case %d, %s", all,
                         pairing);
            ref_case_free(c);
        }
    }
    free(o), free(r);
    wr_free(&s);
}

/* Bad input: an odd head width (RoPE rotates pairs) is invalid with the reason, in the reference and the scalar
 * kernel; a negative window is refused when the case is built. */
Test(t2wrope, bad_input)
{
    pecs_case *c = ref_case("rope.windowed", NULL);
    wr_io s = wr_random(1, 5, 2, 2, 0, 0, 3);
    double out[4];
    float qf[10], kf[10], of[4];
    pecs_tensor t[5];
    char why[256] = "";
    pecs_problem p = wr_problem(c, PECS_DT_F64, t, &s, s.q, s.k, out);
    cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "even") != NULL, "%s", why);
    for (int e = 0; e < 10; e++)
        qf[e] = (float)s.q[e], kf[e] = (float)s.k[e];
    p = wr_problem(c, PECS_DT_F32, t, &s, qf, kf, of);
    pecs_loaded_backend *lb = ref_scalar_backend();
    cr_expect_eq(lb->b->run(lb->b->ctx, &p), PECS_INVALID);
    wr_free(&s);
    cr_expect_neq(pecs_case_set(c, "wrope_local_window", "-1", why, sizeof why), PECS_OK);
    ref_case_free(c);
}
