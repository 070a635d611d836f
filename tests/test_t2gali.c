/* tests/test_t2gali.c — rope.gali (GALI, arXiv 2502.02659v2, noise-free): hand-worked known answers (the paper's
 * Figure 1 setting, L_tr 4, s 2, L_w 2, prefill 6; and a decode step with group size 3), the definition as a property
 * against an independent transcription (Algorithm 2's loop and slice for the ids, Eq. 3 on a written-out rotation),
 * plain RoPE whenever the sequence fits L_tr, bad parameter combinations and positions. The property test also runs
 * the three rope.gali mutants (impls/mutants/mutants.def) and the mutants' control. */
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

/* Algorithm 2 as written (construct_new_pi with start_pos 0): the ids of the T tokens of a chunk ending at T > L_tr. */
static void algorithm2(int64_t T, int64_t Ltr, int64_t Lw, double *ids)
{
    int64_t g = (int64_t)ceil((double)(T - Lw) / (double)(Ltr - Lw)), i = 0, total = Ltr, n = 0;
    double interval = 1.0 / (double)g, *pi = malloc((size_t)(2 * T + Ltr + 2) * sizeof *pi);
    cr_assert_not_null(pi);
    while (total < T) {
        for (int64_t j = 0; j < g; j++)
            pi[n++] = (double)i + interval * (double)j;
        i++;
        total = Ltr - i + n;
    }
    int64_t seg = Ltr - i;
    for (int64_t t = 0; t < T - seg; t++)
        ids[t] = pi[t];
    for (int64_t t = 0; t < seg; t++)
        ids[T - seg + t] = (double)(i + t);
    free(pi);
}

/* Mismatches of out against the definition: chunks [0, L_tr), then s tokens each, the last cut at L = max qpos + 1;
 * ids by algorithm2 for the query's chunk (plain indices when it ends at or before L_tr); the logit by Eq. 3 with
 * r = ceil(id_m) - id_n between the plain RoPE logits at floor r and ceil r; -inf after the query. */
static int64_t gali_violations(const wr_io *s, const double *out, int64_t Ltr, int64_t Lw, int64_t cs, double base, int half,
                               double tol)
{
    int64_t bad = 0, L = 0;
    for (int64_t i = 0; i < s->Lq; i++)
        L = (int64_t)s->qpos[i] + 1 > L ? (int64_t)s->qpos[i] + 1 : L;
    double *ids = malloc((size_t)(L + 1) * sizeof *ids);
    cr_assert_not_null(ids);
    for (int64_t i = 0; i < s->Lq; i++) {
        int64_t m = (int64_t)s->qpos[i], T = Ltr;
        while (T <= m)
            T += cs;
        T = T < L ? T : L;
        if (T <= Ltr)
            for (int64_t t = 0; t < T; t++)
                ids[t] = (double)t;
        else
            algorithm2(T, Ltr, Lw, ids);
        for (int64_t h = 0; h < s->H; h++)
            for (int64_t j = 0; j < s->Lk; j++) {
                double e = out[(h * s->Lq + i) * s->Lk + j];
                int64_t n = (int64_t)s->kpos[j];
                if (n > m) {
                    bad += !(isinf(e) && e < 0);
                    continue;
                }
                double r = ceil(ids[m]) - ids[n], lo = floor(r), hi = ceil(r), frac = r - lo;
                if (fabs(frac - round(frac)) < 1e-9) /* the float ids of Algorithm 2 (i + j/g) round near integers */
                    frac = round(frac), lo = hi = round(r);
                double alo = plain_rope(s, h, i, j, lo, 0.0, base, half), ahi = plain_rope(s, h, i, j, hi, 0.0, base, half);
                double want = alo - (alo - ahi) * frac;
                bad += !(fabs(e - want) <= tol * (1.0 + fabs(want)));
            }
    }
    free(ids);
    return bad;
}

/* Hand-worked, the paper's Figure 1 setting: L_tr 4, chunk size 2, L_w 2, prefill of 6 tokens (chunks [0, 4), [4, 6)).
 * Chunk 2 ends at T = 6: g = ceil((6 - 2)/(4 - 2)) = 2, the loop stops at i = 2 (4 - 2 + 4 >= 6), ids
 * [0, .5, 1, 1.5, 2, 3]. D = 2 (one pair, frequency 1), q = (1, 0), k = (1, 1): a(r) = (cos r + sin r)/sqrt 2.
 *   rows 0..3 (chunk 1): a(i - j)
 *   row 4 (id 2):  a(2)  (a(1)+a(2))/2  a(1)  (a(0)+a(1))/2  a(0)  -inf
 *   row 5 (id 3):  a(3)  (a(2)+a(3))/2  a(2)  (a(1)+a(2))/2  a(1)  a(0)
 * (key 1, id .5: r = 3 - .5, floor 2, ceil 3, r mod 1 = .5). Catches plain RoPE for the second chunk (row 5 would read
 * a(5) a(4) ...), ids without the local window (g = ceil(6/4) = 2: the same here, see the decode answer), rounding the
 * ids instead of interpolating. */
Test(t2gali, known_answer_figure1_prefill)
{
    double q[12], k[12], pos[6] = {0, 1, 2, 3, 4, 5}, want[36];
    for (int t = 0; t < 6; t++)
        q[2 * t] = 1, q[2 * t + 1] = 0, k[2 * t] = 1, k[2 * t + 1] = 1;
#define A_(r) ((cos((double)(r)) + sin((double)(r))) / sqrt(2.0))
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            want[i * 6 + j] = j > i ? -INFINITY : A_(i - j);
    double r4[5] = {A_(2), (A_(1) + A_(2)) / 2, A_(1), (A_(0) + A_(1)) / 2, A_(0)};
    double r5[6] = {A_(3), (A_(2) + A_(3)) / 2, A_(2), (A_(1) + A_(2)) / 2, A_(1), A_(0)};
    memcpy(want + 24, r4, sizeof r4);
    memcpy(want + 30, r5, sizeof r5);
    wr_io s = {.H = 1, .D = 2, .Lq = 6, .Lk = 6, .q = q, .k = k, .qpos = pos, .kpos = pos};
    pecs_case *c = ref_case("rope.gali", "train_len", "4", "local_window", "2", "chunk_size", "2", NULL);
    double o[36];
    wr_ref(c, &s, o);
    wr_expect("reference", o, want, 36, 1e-13);
    wr_backend("scalar", c, &s, o);
    wr_expect("scalar", o, want, 36, 1e-6);
    ref_case_free(c);
}

/* Hand-worked decode step, group size 3: L_tr 4, L_w 2, one query at 7 over keys 0..7 (a one-token chunk, T = 8):
 * g = ceil(6/2) = 3, i stops at 2 (4 - 2 + 6 >= 8), ids [0, 1/3, 2/3, 1, 4/3, 5/3, 2, 3]; query id 3.
 *   key   0     1                  2                  3     4                  5                  6     7
 *   out   a(3)  a(2)/3 + 2a(3)/3   2a(2)/3 + a(3)/3   a(2)  a(1)/3 + 2a(2)/3   2a(1)/3 + a(2)/3   a(1)  a(0)
 * (key 1: r = 3 - 1/3 = 8/3, a(2) - (a(2) - a(3)) 2/3). Catches the coefficient on the wrong end (key 1 would be
 * 2a(2)/3 + a(3)/3; mutant gali_interp_reversed), g without L_w (ceil(8/4) = 2: ids in halves; gali_no_window). */
Test(t2gali, known_answer_decode_group3)
{
    double q[2] = {1, 0}, k[16], qpos[1] = {7}, kpos[8], want[8];
    for (int j = 0; j < 8; j++)
        k[2 * j] = 1, k[2 * j + 1] = 1, kpos[j] = j;
    double w[8] = {A_(3), A_(2) / 3 + 2 * A_(3) / 3, 2 * A_(2) / 3 + A_(3) / 3, A_(2),
                   A_(1) / 3 + 2 * A_(2) / 3, 2 * A_(1) / 3 + A_(2) / 3, A_(1), A_(0)};
#undef A_
    memcpy(want, w, sizeof w);
    wr_io s = {.H = 1, .D = 2, .Lq = 1, .Lk = 8, .q = q, .k = k, .qpos = qpos, .kpos = kpos};
    pecs_case *c = ref_case("rope.gali", "train_len", "4", "local_window", "2", "chunk_size", "2", NULL);
    double o[8];
    wr_ref(c, &s, o);
    wr_expect("reference", o, want, 8, 1e-13);
    wr_backend("scalar", c, &s, o);
    wr_expect("scalar", o, want, 8, 1e-6);
    ref_case_free(c);
}

/* On random inputs (H 2, D 16; L_tr 16, L_w 4, s 5): a 40-token prefill (chunks ending at 16, 21, ..., 40) and a
 * decode query at 57 over keys 0..57, both pairings, against the transcription above, for the reference, the scalar
 * kernel and the mutants' control; each rope.gali mutant breaks it. A sequence that fits L_tr (24 tokens, L_tr 32) is
 * plain RoPE at qpos - kpos, in both codes. */
Test(t2gali, matches_algorithms_2_and_3_and_is_rope_within_train_len, .timeout = 60)
{
    static const char *const mutants[] = {"gali_interp_reversed", "gali_ids_global", "gali_no_window"};
    for (int v = 0; v < 2; v++) {
        const char *pairing = v ? "interleaved" : "half";
        for (int dec = 0; dec < 2; dec++) {
            int64_t Lq = dec ? 1 : 40, Lk = dec ? 58 : 40, n = 2 * Lq * Lk;
            wr_io s = wr_random(2, 16, Lq, Lk, dec ? 57.0 : 0.0, 0.0, 29 + (uint64_t)dec);
            double *o = wr_alloc(n);
            pecs_case *c = ref_case("rope.gali", "train_len", "16", "local_window", "4", "chunk_size", "5", "pairing",
                                    pairing, NULL);
            wr_ref(c, &s, o);
            cr_expect_eq(gali_violations(&s, o, 16, 4, 5, 500000.0, !v, 1e-12), 0, "reference, %s, decode %d", pairing, dec);
            wr_backend("scalar", c, &s, o);
            cr_expect_eq(gali_violations(&s, o, 16, 4, 5, 500000.0, !v, 2e-5), 0, "scalar, %s, decode %d", pairing, dec);
            wr_backend("none", c, &s, o);
            cr_expect_eq(gali_violations(&s, o, 16, 4, 5, 500000.0, !v, 2e-5), 0, "control, %s, decode %d", pairing, dec);
            for (size_t m = 0; m < sizeof mutants / sizeof mutants[0]; m++) {
                if (dec && m == 1)
                    continue; /* one chunk: global and per-chunk ids agree */
                wr_backend(mutants[m], c, &s, o);
                cr_expect_gt(gali_violations(&s, o, 16, 4, 5, 500000.0, !v, 2e-5), 0, "mutant %s passes, %s, decode %d",
                             mutants[m], pairing, dec);
            }
            ref_case_free(c);
            free(o);
            wr_free(&s);
        }
        wr_io s = wr_random(2, 16, 24, 24, 0.0, 0.0, 41);
        double *o = wr_alloc(2 * 24 * 24), *f = wr_alloc(2 * 24 * 24);
        pecs_case *c = ref_case("rope.gali", "train_len", "32", "local_window", "4", "chunk_size", "5", "pairing", pairing,
                                "base", "10000", NULL);
        wr_ref(c, &s, o);
        wr_backend("scalar", c, &s, f);
        for (int64_t h = 0; h < 2; h++)
            for (int64_t i = 0; i < 24; i++)
                for (int64_t j = 0; j <= i; j++) {
                    double want = plain_rope(&s, h, i, j, (double)i, (double)j, 10000.0, !v);
                    cr_expect(fabs(o[(h * 24 + i) * 24 + j] - want) <= 1e-12, "reference (%lld %lld %lld) not RoPE",
                              (long long)h, (long long)i, (long long)j);
                    cr_expect(fabs(f[(h * 24 + i) * 24 + j] - want) <= 2e-5, "scalar (%lld %lld %lld) not RoPE",
                              (long long)h, (long long)i, (long long)j);
                }
        ref_case_free(c);
        free(o), free(f);
        wr_free(&s);
    }
}

/* Bad input: L_w >= L_tr (the group size divides by L_tr - L_w), fractional or negative positions (token indices), an
 * odd head width; each invalid with the reason in the reference and refused by the scalar kernel. */
Test(t2gali, bad_parameters_and_positions)
{
    char why[256] = "";
    double out[9];
    float qf[12], kf[12], of[9];
    pecs_tensor t[5];
    pecs_loaded_backend *lb = ref_scalar_backend();
    wr_io s = wr_random(1, 4, 3, 3, 0, 0, 3);
    for (int e = 0; e < 12; e++)
        qf[e] = (float)s.q[e], kf[e] = (float)s.k[e];
    pecs_case *c = ref_case("rope.gali", "train_len", "8", "local_window", "8", NULL);
    pecs_problem p = wr_problem(c, PECS_DT_F64, t, &s, s.q, s.k, out);
    cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "local_window") && strstr(why, "train_len"), "%s", why);
    p = wr_problem(c, PECS_DT_F32, t, &s, qf, kf, of);
    cr_expect_eq(lb->b->run(lb->b->ctx, &p), PECS_INVALID);
    ref_case_free(c);
    c = ref_case("rope.gali", "train_len", "8", "local_window", "2", NULL);
    for (int bad = 0; bad < 2; bad++) {
        s.kpos[1] = bad ? -1.0 : 0.5;
        p = wr_problem(c, PECS_DT_F64, t, &s, s.q, s.k, out);
        cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
        cr_expect(strstr(why, "token indices") != NULL, "%s", why);
        p = wr_problem(c, PECS_DT_F32, t, &s, qf, kf, of);
        cr_expect_eq(lb->b->run(lb->b->ctx, &p), PECS_INVALID);
    }
    wr_free(&s);
    s = wr_random(1, 3, 2, 2, 0, 0, 5);
    p = wr_problem(c, PECS_DT_F64, t, &s, s.q, s.k, out);
    cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "even") != NULL, "%s", why);
    wr_free(&s);
    ref_case_free(c);
}
