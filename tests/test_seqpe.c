/* tests/test_seqpe.c — known answers, a property and the rejections of seqpe (SeqPE, reference/seqpe.c).
 *
 * tests/data/kat/seqpe.json (written by tests/kat/gen_kat_seqpe.py) holds an independent Python transcription of the
 * authors' forward pass on four small encoders. A second known answer is worked by hand on a tiny encoder (2 digit
 * slots, width 3, one head, one block) whose weights make every stage a closed form: the query and key weights are zero
 * (uniform attention over the allowed keys), the value is the LayerNorm output, the MLP is zero. The reference is
 * checked in double, the scalar kernel in float32; each test names the wrong kernel it catches (the mutants seqpe_* in
 * impls/mutants carry the same bugs).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "reference.h"
#include "katutil.h"
#include "refutil.h"
#include "testutil.h"

static pecs_tensor sq_tens(const char *name, pecs_dtype dt, int64_t d0, int64_t d1, void *data)
{
    pecs_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name, t.dtype = dt, t.ndim = 2, t.data = data;
    t.shape[0] = d0, t.shape[1] = d1;
    t.stride[0] = d1, t.stride[1] = 1;
    return t;
}

/* P = out - x (x = 0) of the reference on positions pos[T], w [wr, wc]; returns the status. */
static pecs_status sq_ref(const pecs_case *c, int64_t T, int64_t D, const double *pos, const double *w, int64_t wr,
                          int64_t wc, double *out, char *why, size_t why_len)
{
    double *x = calloc((size_t)(T * D), sizeof *x);
    cr_assert_not_null(x);
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {sq_tens("x", PECS_DT_F64, T, D, x), sq_tens("pos", PECS_DT_F64, 1, T, (void *)(uintptr_t)pos),
                        sq_tens("out", PECS_DT_F64, T, D, out), sq_tens("w", PECS_DT_F64, wr, wc, (void *)(uintptr_t)w)};
    p.tensors = t, p.n_tensors = 4;
    pecs_status st = pecs_ref_run(&p, why, why_len);
    free(x);
    return st;
}

/* The built-in scalar backend on the same problem in float32 (w rounded to f32), P into out. */
static pecs_status sq_scalar(const pecs_case *c, int64_t T, int64_t D, const double *pos, const double *w, int64_t wr,
                             int64_t wc, double *out)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    float *xf = calloc((size_t)(T * D), sizeof *xf), *of = calloc((size_t)(T * D), sizeof *of),
          *wf = malloc((size_t)(wr * wc) * sizeof *wf);
    cr_assert(xf && of && wf);
    for (int64_t i = 0; i < wr * wc; i++)
        wf[i] = (float)w[i];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {sq_tens("x", PECS_DT_F32, T, D, xf), sq_tens("pos", PECS_DT_F64, 1, T, (void *)(uintptr_t)pos),
                        sq_tens("out", PECS_DT_F32, T, D, of), sq_tens("w", PECS_DT_F32, wr, wc, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 4;
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support seqpe: %s", why);
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; i < T * D; i++)
        out[i] = of[i];
    free(xf), free(of), free(wf);
    return st;
}

/* The tiny encoder: max_digits 2, hidden 3, heads 1, layers 1, D 3: w [47, 12] (13 + 2 + 29 + 3 rows, 4h columns).
 *   E_tok[d] = (d, 0, 0); E_pos[0] = (0, 1, 0), E_pos[1] = (0, 2, 0); cls = 0; LN_f, ln_1 and ln_2: weight 1, bias 0;
 *   c_attn: q and k columns 0 (uniform attention), v = a (W_v = I); attn c_proj = I; the MLP all zero; out_proj = I with
 *   bias (1/2, -1/4, 0). Rows: B = 15 (ln_1 15, 16; c_attn 17..19 and bias 20; c_proj 21..23 and bias 24; ln_2 25, 26;
 *   c_fc 27..29, bias 30; mlp c_proj 31..42, bias 43), out_proj O = 44..46. */
enum { TR = 47, TC = 12 };
static void tiny_weights(double *w)
{
    memset(w, 0, TR * TC * sizeof *w); /* a caller may pass a larger buffer */
#define TW(r, c) w[(r) * TC + (c)]
    for (int d = 0; d < 10; d++)
        TW(d, 0) = d;
    TW(10, 1) = 1, TW(11, 1) = 2;
    for (int c = 0; c < 3; c++) {
        TW(13, c) = TW(15, c) = TW(25, c) = 1; /* LN_f, ln_1, ln_2 weights */
        TW(17 + c, 6 + c) = 1;                 /* c_attn.weight[c][2h + c]: v = a */
        TW(21 + c, c) = 1;                     /* attn.c_proj.weight = I */
        TW(44 + c, c) = 1;                     /* out_proj.weight = I */
    }
    TW(44, 3) = 0.5, TW(45, 3) = -0.25; /* out_proj.bias in column h */
#undef TW
}

/* LayerNorm of a 3-vector, weight 1, bias 0, eps 1e-5, biased variance. */
static void ln3(const double v[3], double y[3])
{
    double mu = (v[0] + v[1] + v[2]) / 3.0, var = 0.0;
    for (int c = 0; c < 3; c++)
        var += (v[c] - mu) * (v[c] - mu) / 3.0;
    for (int c = 0; c < 3; c++)
        y[c] = (v[c] - mu) / sqrt(var + 1e-5);
}

/* P by hand for digit slots (d0, d1) of the tiny encoder: slot s is the token (d_s, s + 1, 0), its value a_s = LN(it),
 * the class token's 0 (LN of zeros is the zero bias); the class token attends uniformly to the allowed keys (all three;
 * pad0: slot 0 is a pad, masked), so its row is the mean m of the allowed values (the class value counts, as 0); then
 * LN_f (last_ln) and out_proj adds (1/2, -1/4, 0). */
static void tiny_by_hand(int d0, int d1, int pad0, int last_ln, double P[3])
{
    double t0[3] = {d0, 1, 0}, t1[3] = {d1, 2, 0}, a0[3], a1[3], m[3], z[3];
    ln3(t0, a0), ln3(t1, a1);
    for (int c = 0; c < 3; c++)
        m[c] = pad0 ? a1[c] / 2.0 : (a0[c] + a1[c]) / 3.0;
    if (last_ln)
        ln3(m, z);
    else
        memcpy(z, m, sizeof z);
    P[0] = z[0] + 0.5, P[1] = z[1] - 0.25, P[2] = z[2];
}

/* The hand-worked answers on positions 7 (a pad slot, digit 0, then 7), 70, 0 and 99, with and without mask_padding and
 * the last LayerNorm, in the reference and the scalar kernel. Catches: digits least significant first (P(70) would be
 * the answer for slots (0, 7): the mutant seqpe_digits_reversed), right padding (P(7) from slots (7, 0)), the pad slot
 * attended under mask_padding, the last LayerNorm skipped (seqpe_no_final_layernorm), and the last digit pooled instead
 * of the class token (seqpe_pools_last_digit: that row starts at (d_1, 2, 0)). */
Test(seqpe, kat_tiny_encoder_by_hand)
{
    double w[TR * TC], pos[4] = {7, 70, 0, 99}, out[4 * 3], sc[4 * 3], want[3];
    static const int slots[4][2] = {{0, 7}, {7, 0}, {0, 0}, {9, 9}}, npad[4] = {1, 0, 1, 0};
    tiny_weights(w);
    char why[256] = "";
    for (int mp = 0; mp < 2; mp++)
        for (int ll = 0; ll < 2; ll++) {
            pecs_case *c = ref_case("seqpe", "max_digits", "2", "hidden", "3", "attn_heads", "1", "layers", "1", "mask_padding",
                                    mp ? "true" : "false", "last_layernorm", ll ? "true" : "false", NULL);
            cr_assert_eq(sq_ref(c, 4, 3, pos, w, TR, TC, out, why, sizeof why), PECS_OK, "%s", why);
            cr_assert_eq(sq_scalar(c, 4, 3, pos, w, TR, TC, sc), PECS_OK);
            for (int t = 0; t < 4; t++) {
                tiny_by_hand(slots[t][0], slots[t][1], mp && npad[t], ll, want);
                for (int d = 0; d < 3; d++) {
                    cr_expect(fabs(out[t * 3 + d] - want[d]) < 1e-12, "mask_padding %d last_ln %d pos %g [%d]: %.15g, want %.15g",
                              mp, ll, pos[t], d, out[t * 3 + d], want[d]);
                    cr_expect(fabs(sc[t * 3 + d] - want[d]) < 1e-6, "scalar mask_padding %d last_ln %d pos %g [%d]: %.9g, "
                              "want %.9g", mp, ll, pos[t], d, sc[t * 3 + d], want[d]);
                }
            }
            /* the wrong kernels' answers are far from these: reversed digits, right padding, LN_f toggled */
            double rev[3], right[3], noln[3], dr = 0, dp = 0, dn = 0;
            tiny_by_hand(0, 7, 0, ll, rev);    /* "07" for 70 */
            tiny_by_hand(7, 0, 0, ll, right);  /* 7 right-padded */
            tiny_by_hand(0, 7, mp, !ll, noln); /* 7 with the other LN_f setting */
            for (int d = 0; d < 3; d++)
                dr += fabs(rev[d] - out[3 + d]), dp += fabs(right[d] - out[d]), dn += fabs(noln[d] - out[d]);
            cr_expect(dr > 0.05 && dp > 0.05 && dn > 0.05, "reversed %g, right-padded %g, LN_f toggled %g", dr, dp, dn);
            ref_case_free(c);
        }
}

/* The authors' forward pass (tests/kat/gen_kat_seqpe.py, ghrua/seqpe SequentialPE.forward with pos2seq and
 * get_seqpe_mask, in float64) on four encoders: causal and bi, with and without mask_padding and the last LayerNorm, 1
 * to 3 blocks, 1 to 4 heads, 2 to 5 digit slots, positions 0, 10^m - 1 and zeros inside the digits. The reference must
 * agree to 1e-12; the scalar kernel (w rounded to f32) must agree with the reference on the same rounded w to the
 * exact level's f32 budget. Catches any departure from the code: digit order or padding side, the slot of the class
 * token, pre- vs post-LN, the mask, the attention scale, the GELU form, the pooled row. */
Test(seqpe, kat_authors_forward)
{
    static json_t *g_kat;
    json_t *cases = jget(kat_section(&g_kat, "seqpe.json", "seqpe"), "cases");
    cr_assert_gt(json_array_size(cases), 3);
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *kc = json_array_get(cases, k), *jw = jget(kc, "w"), *jp = jget(kc, "pos"), *jP = jget(kc, "P");
        int64_t D = jint(kc, "dim"), T = (int64_t)json_array_size(jp), wr = (int64_t)json_array_size(jw),
                wc = (int64_t)json_array_size(json_array_get(jw, 0));
        char m[24], h[24], nh[24], nl[24], why[256] = "";
        snprintf(m, sizeof m, "%lld", (long long)jint(kc, "max_digits"));
        snprintf(h, sizeof h, "%lld", (long long)jint(kc, "hidden"));
        snprintf(nh, sizeof nh, "%lld", (long long)jint(kc, "attn_heads"));
        snprintf(nl, sizeof nl, "%lld", (long long)jint(kc, "layers"));
        pecs_case *c = ref_case("seqpe", "max_digits", m, "hidden", h, "attn_heads", nh, "layers", nl, "direction",
                                json_string_value(jget(kc, "direction")), "mask_padding",
                                json_is_true(jget(kc, "mask_padding")) ? "true" : "false", "last_layernorm",
                                json_is_true(jget(kc, "last_layernorm")) ? "true" : "false", NULL);
        double *w = calloc((size_t)(wr * wc), sizeof *w), *wf = calloc((size_t)(wr * wc), sizeof *wf),
               *pos = calloc((size_t)T, sizeof *pos), *out = calloc((size_t)(T * D), sizeof *out),
               *outf = calloc((size_t)(T * D), sizeof *outf), *sc = calloc((size_t)(T * D), sizeof *sc);
        cr_assert(w && wf && pos && out && outf && sc);
        for (int64_t r = 0; r < wr; r++)
            for (int64_t q = 0; q < wc; q++) {
                w[r * wc + q] = jnum(json_array_get(jw, (size_t)r), (size_t)q);
                wf[r * wc + q] = (float)w[r * wc + q];
            }
        for (int64_t t = 0; t < T; t++)
            pos[t] = jnum(jp, (size_t)t);
        cr_assert_eq(sq_ref(c, T, D, pos, w, wr, wc, out, why, sizeof why), PECS_OK, "case %zu: %s", k, why);
        cr_assert_eq(sq_ref(c, T, D, pos, wf, wr, wc, outf, why, sizeof why), PECS_OK, "case %zu: %s", k, why);
        cr_assert_eq(sq_scalar(c, T, D, pos, w, wr, wc, sc), PECS_OK, "case %zu", k);
        for (int64_t t = 0; t < T; t++)
            for (int64_t d = 0; d < D; d++) {
                double want = jnum(json_array_get(jP, (size_t)t), (size_t)d), got = out[t * D + d];
                cr_expect(fabs(got - want) <= 1e-12 * (1.0 + fabs(want)), "case %zu pos %g [%lld]: %.15g, authors' %.15g", k,
                          pos[t], (long long)d, got, want);
                cr_expect(fabs(sc[t * D + d] - outf[t * D + d]) <= 1e-6 * (1.0 + fabs(outf[t * D + d])),
                          "scalar case %zu pos %g [%lld]: %.9g, reference %.9g", k, pos[t], (long long)d, sc[t * D + d],
                          outf[t * D + d]);
            }
        free(w), free(wf), free(pos), free(out), free(outf), free(sc);
        ref_case_free(c);
    }
}

/* A deterministic irregular w in [-1, 1) (no RNG: reproducible). */
static void det_fill(double *w, int64_t n, uint64_t salt)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull + salt;
        z ^= z >> 31, z *= 0xBF58476D1CE4E5B9ull, z ^= z >> 29;
        w[i] = (double)(z >> 11) * 0x1p-52 - 1.0;
    }
}

/* Property (random weights, max_digits 3, hidden 4, 2 heads, 2 layers, D 5): under mask_padding the pad slots are never
 * read, so rewriting the slot embedding of slot 0 changes nothing for 1- and 2-digit positions and changes the 3-digit
 * ones; without mask_padding it changes every position (the pads are digit-0 tokens the encoder attends to). Catches a
 * kernel that ignores mask_padding, or masks the pads as queries only, and one that masks by digit value (a zero digit
 * inside 305 is not a pad). */
Test(seqpe, mask_padding_never_reads_the_pad_slots)
{
    enum { M = 3, HID = 4, NL = 2, DD = 5, ROWS = 13 + M + NL * (7 * HID + 8) + DD, COLS = 4 * HID, T = 4 };
    double w[ROWS * COLS], w2[ROWS * COLS], pos[T] = {5, 42, 305, 999}, a[T * DD], b[T * DD], sa[T * DD];
    det_fill(w, ROWS * COLS, 11);
    memcpy(w2, w, sizeof w);
    for (int c = 0; c < HID; c++)
        w2[10 * COLS + c] += c % 2 ? 0.75 : -0.5; /* E_pos[0], not a constant shift (every LayerNorm removes those) */
    char why[256] = "";
    for (int mp = 0; mp < 2; mp++) {
        pecs_case *c = ref_case("seqpe", "max_digits", "3", "hidden", "4", "attn_heads", "2", "layers", "2", "mask_padding",
                                mp ? "true" : "false", NULL);
        cr_assert_eq(sq_ref(c, T, DD, pos, w, ROWS, COLS, a, why, sizeof why), PECS_OK, "%s", why);
        cr_assert_eq(sq_ref(c, T, DD, pos, w2, ROWS, COLS, b, why, sizeof why), PECS_OK, "%s", why);
        cr_assert_eq(sq_scalar(c, T, DD, pos, w, ROWS, COLS, sa), PECS_OK);
        for (int t = 0; t < T; t++) {
            double diff = 0.0, mag = 0.0;
            for (int d = 0; d < DD; d++) {
                diff = fmax(diff, fabs(a[t * DD + d] - b[t * DD + d]));
                mag = fmax(mag, fabs(a[t * DD + d]));
                cr_expect(fabs(sa[t * DD + d] - a[t * DD + d]) <= 1e-6 * (1.0 + fabs(a[t * DD + d])), "scalar pos %g [%d]",
                          pos[t], d);
            }
            int padded = pos[t] < 100;
            if (mp && padded)
                cr_expect(diff == 0.0, "mask_padding: pos %g read its pad slot (changed by %g)", pos[t], diff);
            else
                cr_expect(diff > 1e-3, "mask_padding %d: pos %g must read slot 0 (changed by %g)", mp, pos[t], diff);
            cr_expect(mag > 0.1 && mag < 50.0, "the generated-scale weights give O(1) rows: pos %g max |P| %g", pos[t], mag);
        }
        ref_case_free(c);
    }
}

/* Bad input is an invalid problem with the reason, in the reference and the scalar kernel: a position with more digits
 * than max_digits (100 with 2 slots: the authors' pos2seq would build 3 tokens for 2 slot embeddings), a negative or
 * fractional position, w one row short or one column wide, hidden not a multiple of heads; and a suite case whose
 * positions reach past 10^max_digits - 1 is rejected when it is loaded. */
Test(seqpe, rejects_long_positions_bad_tables_and_heads)
{
    double w[(TR + 1) * (TC + 1)] = {0}, out[3], pos[1]; /* room for the wrong shapes the backend copy reads */
    tiny_weights(w);
    char why[512] = "";
    pecs_case *c = ref_case("seqpe", "max_digits", "2", "hidden", "3", "attn_heads", "1", "layers", "1", NULL);
    static const double bad[3] = {100, -1, 2.5};
    for (int k = 0; k < 3; k++) {
        pos[0] = bad[k];
        cr_expect_eq(sq_ref(c, 1, 3, pos, w, TR, TC, out, why, sizeof why), PECS_INVALID, "position %g", bad[k]);
        cr_expect(strstr(why, "max_digits 2"), "%s", why);
        cr_expect_eq(sq_scalar(c, 1, 3, pos, w, TR, TC, out), PECS_INVALID, "scalar position %g", bad[k]);
    }
    pos[0] = 99;
    cr_expect_eq(sq_ref(c, 1, 3, pos, w, TR, TC, out, why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(sq_ref(c, 1, 3, pos, w, TR - 1, TC, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "[47, 12]"), "%s", why);
    cr_expect_eq(sq_scalar(c, 1, 3, pos, w, TR - 1, TC, out), PECS_INVALID);
    cr_expect_eq(sq_ref(c, 1, 3, pos, w, TR, TC + 1, out, why, sizeof why), PECS_INVALID);
    cr_expect_eq(sq_scalar(c, 1, 3, pos, w, TR, TC + 1, out), PECS_INVALID);
    ref_case_free(c);
    c = ref_case("seqpe", "max_digits", "2", "hidden", "3", "attn_heads", "2", "layers", "1", NULL);
    cr_expect_eq(sq_ref(c, 1, 3, pos, w, TR, TC, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "multiple of attn_heads"), "%s", why);
    ref_case_free(c);
    pecs_case pc;
    cr_expect_eq(pecs_case_parse(&pc, "seqpe max_digits=2 tokens=9 positions=contig@95", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "max_digits 2"), "a suite case past 99 is bad input: %s", why);
    cr_expect_eq(pecs_case_parse(&pc, "seqpe hidden=6 attn_heads=4", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "multiple of attn_heads"), "%s", why);
}

/* The registry's weights spec "max_digits+13+layers*hidden*7+layers*8+D,4*hidden": products of three factors summed (a
 * parser that multiplied only two, or dropped a term, gives another row count). */
Test(seqpe, weights_shape_counts_every_block)
{
    pecs_case *c = ref_case("seqpe", "max_digits", "3", "hidden", "8", "attn_heads", "2", "layers", "3", NULL);
    int64_t shape[2] = {0, 0};
    cr_assert(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 1, 10, shape));
    cr_expect_eq(shape[0], 3 + 13 + 3 * (7 * 8 + 8) + 10);
    cr_expect_eq(shape[1], 32);
    ref_case_free(c);
}
