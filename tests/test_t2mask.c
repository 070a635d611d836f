/* tests/test_t2mask.c — known answers and properties of the tier-2 masks.
 *
 * Known answers are worked by hand from the definitions the reference files cite (LM-Infinite's
 * Lambda_Attention_Matrix: causal keys within local_branch of the query or among the first global_branch;
 * LongLoRA's forward_flashattn: causal segments of G, the second half of the heads cut at G // 2 + kG; CCA's
 * cca_forward: rings of concentric_pos inside the image block, causal around it; Prepacking's PrePackProcessor.process:
 * tril on each packed prompt's block; AnchorContext's anchor_attn_mod: causal inside a document or onto the anchor at 0;
 * Parallel Context Windows' pcw_wrapper.py: windows causal alone, task tokens over the combined cache; ETC's
 * input_utils.py make_global_local_transformer_side_inputs: g2g, l2l band, l2g/g2l by sentence). Every
 * check runs on the double reference and on the scalar kernel in each position dtype. The properties are the
 * ones a plausible wrong mask breaks (named per test); the last test runs the mask mutants through the harness
 * and expects them to fail.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "reference.h"
#include "refutil.h"
#include "runutil.h"
#include "registry.h"
#include "runner.h"
#include "tolerance.h"
#include "testutil.h"

#define MAXL 64

/* vis[i*Lk + j] = 1 where the double reference leaves key j visible to query i. */
static void ref_vis(const pecs_case *c, const double *qpos, int64_t Lq, const double *kpos, int64_t Lk, int *vis)
{
    double out[MAXL * MAXL];
    cr_assert(Lq <= MAXL && Lk <= MAXL);
    pecs_problem p = ref_problem(c);
    pecs_tensor t[3];
    t[0] = ref_tensor("qpos", PECS_DT_F64, 1, Lq, 0, 0, (void *)qpos);
    t[1] = ref_tensor("kpos", PECS_DT_F64, 1, Lk, 0, 0, (void *)kpos);
    t[2] = ref_tensor("out", PECS_DT_F64, 3, 1, Lq, Lk, out);
    p.tensors = t, p.n_tensors = 3;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
    for (int64_t i = 0; i < Lq * Lk; i++) {
        cr_assert(out[i] == 0.0 || out[i] == -INFINITY, "%s: element %lld is %g", c->enc->id, (long long)i, out[i]);
        vis[i] = out[i] == 0.0;
    }
}

/* The same from the scalar kernel, positions stored in dt, out in f32. */
static void scalar_vis(const pecs_case *c, pecs_dtype dt, const double *qpos, int64_t Lq, const double *kpos, int64_t Lk,
                       int *vis)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    unsigned char qb[MAXL * 8], kb[MAXL * 8];
    float out[MAXL * MAXL];
    cr_assert(Lq <= MAXL && Lk <= MAXL);
    for (int64_t i = 0; i < Lq; i++)
        pecs_store_f64(qb, dt, i, qpos[i]);
    for (int64_t j = 0; j < Lk; j++)
        pecs_store_f64(kb, dt, j, kpos[j]);
    for (int64_t i = 0; i < Lq * Lk; i++)
        out[i] = 1.0f; /* neither 0 nor -inf: an element the kernel does not write is caught */
    pecs_problem p = ref_problem(c);
    pecs_tensor ts[3];
    ts[0] = ref_tensor("qpos", dt, 1, Lq, 0, 0, qb);
    ts[1] = ref_tensor("kpos", dt, 1, Lk, 0, 0, kb);
    ts[2] = ref_tensor("out", PECS_DT_F32, 3, 1, Lq, Lk, out);
    p.dtype = PECS_DT_F32, p.tensors = ts, p.n_tensors = 3;
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support %s: %s", c->enc->id, why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < Lq * Lk; i++) {
        cr_assert(out[i] == 0.0f || out[i] == -INFINITY, "%s: scalar element %lld is %g", c->enc->id, (long long)i,
                  (double)out[i]);
        vis[i] = out[i] == 0.0f;
    }
}

static const pecs_dtype DTYPES[] = {PECS_DT_I32, PECS_DT_I64, PECS_DT_F64};

/* The reference and the scalar kernel in every position dtype agree with want ("1" visible, "." masked, one row
 * string per query). */
static void expect_vis(const pecs_case *c, const double *qpos, int64_t Lq, const double *kpos, int64_t Lk,
                       const char *const *want, const char *what)
{
    int got[MAXL * MAXL];
    ref_vis(c, qpos, Lq, kpos, Lk, got);
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++)
            cr_expect_eq(got[i * Lk + j], want[i][j] == '1', "%s: reference query %g key %g: %d, want %c", what, qpos[i],
                         kpos[j], got[i * Lk + j], want[i][j]);
    for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
        scalar_vis(c, DTYPES[d], qpos, Lq, kpos, Lk, got);
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++)
                cr_expect_eq(got[i * Lk + j], want[i][j] == '1', "%s: scalar (%s) query %g key %g: %d, want %c", what,
                             pecs_dtype_name(DTYPES[d]), qpos[i], kpos[j], got[i * Lk + j], want[i][j]);
    }
}

static void iota(double *v, int64_t n, double from)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = from + (double)i;
}

/* A small deterministic generator for the property tests' positions. */
static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* ---- LM-Infinite ---------------------------------------------------------------------------------------- */

/* backend.h's diagram: n_local 2, n_global 1, keys 0..6. Query 4 sees key 0 (global) and keys 3, 4 (local);
 * query 6 sees 0, 5, 6; query 1 sees 0 and 1 (both local); query 0 sees only itself. */
Test(t2mask, kat_lm_infinite_lambda)
{
    pecs_case *c = ref_case("lm_infinite", "n_local", "2", "n_global", "1", NULL);
    double q[4] = {0, 1, 4, 6}, k[7];
    iota(k, 7, 0);
    const char *const want[4] = {"1......", "11.....", "1..11..", "1....11"};
    expect_vis(c, q, 4, k, 7, want, "n_local 2, n_global 1");
    ref_case_free(c);
    /* arguments.py's defaults (2048, 100) on a 4097-token sequence's last query: keys 0..99 and 2049..4096. */
    c = ref_case("lm_infinite", NULL);
    double q2[1] = {4096}, k2[6] = {0, 99, 100, 2048, 2049, 4096};
    const char *const want2[1] = {"11..11"};
    expect_vis(c, q2, 1, k2, 6, want2, "defaults 2048 / 100");
    ref_case_free(c);
}

/* The first n_global keys are visible only to queries at or after them: the global branch is causal too (the
 * code masks it with triu(-local_branch + 1 + Lk - Lq), which covers every future key). A kernel that opens the
 * first keys to every query (mutant lm_infinite_global_acausal) fails here. */
Test(t2mask, lm_infinite_global_keys_stay_causal)
{
    pecs_case *c = ref_case("lm_infinite", "n_local", "1", "n_global", "4", NULL);
    double q[6], k[6];
    iota(q, 6, 0);
    iota(k, 6, 0);
    const char *const rows[6] = {"1.....", "11....", "111...", "1111..", "11111.", "1111.1"};
    expect_vis(c, q, 6, k, 6, rows, "n_local 1, n_global 4");
    ref_case_free(c);
}

/* With n_global 0 the Lambda is its local band: mask.window with window = n_local, on random positions. With
 * n_global past every position it is mask.causal. */
Test(t2mask, lm_infinite_degenerates_to_window_and_causal)
{
    uint64_t s = 7;
    for (int trial = 0; trial < 20; trial++) {
        double q[16], k[24];
        for (int i = 0; i < 16; i++)
            q[i] = (double)(rnd(&s) % 64);
        for (int j = 0; j < 24; j++)
            k[j] = (double)(rnd(&s) % 64);
        char nl[8];
        snprintf(nl, sizeof nl, "%d", 1 + trial % 9);
        pecs_case *lm = ref_case("lm_infinite", "n_local", nl, "n_global", "0", NULL);
        pecs_case *win = ref_case("mask.window", "window", nl, NULL);
        pecs_case *lmc = ref_case("lm_infinite", "n_local", nl, "n_global", "64", NULL);
        pecs_case *cau = ref_case("mask.causal", NULL);
        int a[16 * 24], b[16 * 24];
        ref_vis(win, q, 16, k, 24, b);
        scalar_vis(lm, PECS_DT_I64, q, 16, k, 24, a);
        cr_expect_eq(memcmp(a, b, sizeof a), 0, "n_global 0, n_local %s: not mask.window", nl);
        ref_vis(cau, q, 16, k, 24, b);
        scalar_vis(lmc, PECS_DT_I32, q, 16, k, 24, a);
        cr_expect_eq(memcmp(a, b, sizeof a), 0, "n_global past every key, n_local %s: not mask.causal", nl);
        ref_case_free(lm), ref_case_free(win), ref_case_free(lmc), ref_case_free(cau);
    }
}

/* ---- LongLoRA S2-Attn ----------------------------------------------------------------------------------- */

/* G 4 on positions 0..9. Unshifted groups {0..3}, {4..7}, {8, 9}; shifted (s = 2) {0, 1}, {2..5}, {6..9}. */
Test(t2mask, kat_s2attn_groups)
{
    double q[4] = {1, 3, 5, 9}, k[10];
    iota(k, 10, 0);
    pecs_case *c = ref_case("s2attn", "group_size", "4", NULL);
    const char *const un[4] = {"11........", "1111......", "....11....", "........11"};
    expect_vis(c, q, 4, k, 10, un, "G 4, unshifted half");
    ref_case_free(c);
    c = ref_case("s2attn", "group_size", "4", "half", "shifted", NULL);
    const char *const sh[4] = {"11........", "..11......", "..1111....", "......1111"};
    expect_vis(c, q, 4, k, 10, sh, "G 4, shifted half");
    ref_case_free(c);
    /* Odd G: the flash path's boundaries are at G // 2 + kG (1, 4, 7 for G 3), so token 0 is alone. */
    c = ref_case("s2attn", "group_size", "3", "half", "shifted", NULL);
    double q3[4] = {0, 3, 4, 9};
    const char *const odd[4] = {"1.........", ".111......", "....1.....", ".......111"};
    expect_vis(c, q3, 4, k, 10, odd, "G 3, shifted half");
    ref_case_free(c);
}

/* The shifted half is the unshifted mask moved by G // 2: visible(q, k) = unshifted(q - G//2, k - G//2), on
 * random positions (a kernel that ignores the shift, mutant s2attn_shift_ignored, fails), and no query sees more
 * than G keys of distinct positions. */
Test(t2mask, s2attn_shifted_half_is_the_moved_grid)
{
    uint64_t s = 11;
    for (int trial = 0; trial < 24; trial++) {
        int64_t G = 2 + trial % 7;
        char gs[8];
        snprintf(gs, sizeof gs, "%lld", (long long)G);
        double q[16], k[32], q0[16], k0[32];
        for (int i = 0; i < 16; i++)
            q[i] = (double)(rnd(&s) % 32) + (double)(G / 2), q0[i] = q[i] - (double)(G / 2);
        for (int j = 0; j < 32; j++)
            k[j] = (double)j + (double)(G / 2), k0[j] = (double)j;
        pecs_case *sh = ref_case("s2attn", "group_size", gs, "half", "shifted", NULL);
        pecs_case *un = ref_case("s2attn", "group_size", gs, NULL);
        int a[16 * 32], b[16 * 32];
        ref_vis(un, q0, 16, k0, 32, b);
        for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
            scalar_vis(sh, DTYPES[d], q, 16, k, 32, a);
            cr_expect_eq(memcmp(a, b, sizeof a), 0, "G %s (%s): the shifted half is not the grid moved by G // 2", gs,
                         pecs_dtype_name(DTYPES[d]));
        }
        for (int i = 0; i < 16; i++) {
            int n = 0;
            for (int j = 0; j < 32; j++)
                n += a[i * 32 + j];
            cr_expect(n >= 1 && n <= G, "G %s: query %g sees %d keys", gs, q[i], n);
        }
        ref_case_free(sh), ref_case_free(un);
    }
}


/* ---- CCA ------------------------------------------------------------------------------------------------ */

/* grid 4 from position 2: image tokens 2..17 (rings: border 0, centre patches t = 5, 6, 9, 10 ring 1), text 0, 1
 * before and 18, 19 after. */
Test(t2mask, kat_cca_rings)
{
    pecs_case *c = ref_case("cca", "grid", "4", "image_start", "2", NULL);
    double q[5] = {1, 2, 7, 12, 18}, k[20];
    iota(k, 20, 0);
    const char *const want[5] = {
        "11..................", /* text before the image: causal */
        "1111111..11..11111..", /* corner patch, ring 0: all of ring 0 (later ones too), no centre, no text after */
        "111111111111111111..", /* centre patch t = 5: every ring */
        "111111111111111111..", /* centre patch t = 10: every ring, earlier and later */
        "1111111111111111111.", /* text after: the whole image, causal text */
    };
    expect_vis(c, q, 5, k, 20, want, "grid 4, image_start 2");
    ref_case_free(c);
}

/* CCA's mask is mask.causal on CCA's own position ids (image_start + ring for a patch, t - N + grid/2 after the
 * image): what cca_forward builds from concentric_pos. Random token pairs around a 6 x 6 image; a kernel keeping
 * the causal triangle inside the image (mutant cca_keeps_causal) or inverting the rings fails. */
Test(t2mask, cca_is_causal_on_concentric_ids)
{
    const int64_t side = 6, start = 5, n = side * side;
    pecs_case *c = ref_case("cca", "grid", "6", "image_start", "5", NULL);
    double q[32], k[48];
    uint64_t s = 5;
    for (int i = 0; i < 32; i++)
        q[i] = (double)(rnd(&s) % (uint64_t)(start + n + 8));
    for (int j = 0; j < 48; j++)
        k[j] = (double)j;
    int got[32 * 48];
    for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
        scalar_vis(c, DTYPES[d], q, 32, k, 48, got);
        for (int i = 0; i < 32; i++)
            for (int j = 0; j < 48; j++) {
                int64_t ids[2], t[2] = {(int64_t)q[i], (int64_t)k[j]};
                for (int e = 0; e < 2; e++) {
                    int64_t u = t[e] - start, r = u / side, col = u % side;
                    int64_t rho = r < col ? r : col;
                    rho = side - 1 - r < rho ? side - 1 - r : rho;
                    rho = side - 1 - col < rho ? side - 1 - col : rho;
                    ids[e] = t[e] < start ? t[e] : t[e] < start + n ? start + rho : t[e] - n + side / 2;
                }
                cr_expect_eq(got[i * 48 + j], ids[1] <= ids[0], "%s: query %lld key %lld (CCA ids %lld, %lld)",
                             pecs_dtype_name(DTYPES[d]), (long long)t[0], (long long)t[1], (long long)ids[0],
                             (long long)ids[1]);
            }
    }
    ref_case_free(c);
}

/* The code's rings close on a 2 x 2 centre (H = W = 24): an odd side is rejected, not guessed. */
Test(t2mask, cca_rejects_odd_grid)
{
    char why[256] = "";
    pecs_case *c = ref_case("cca", "grid", "5", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "even") != NULL, "%s", why);
    ref_case_free(c);
}

/* ---- Prepacking ----------------------------------------------------------------------------------------- */

/* lengths 3, 1, 4, 2: blocks {0,1,2} {3} {4..7} {8,9} of the packed sequence (processor.py's tril on each block). */
Test(t2mask, kat_packing_blocks)
{
    pecs_case *c = ref_case("packing", "lengths", "3,1,4,2", NULL);
    double q[6] = {0, 2, 3, 5, 7, 9}, k[10];
    iota(k, 10, 0);
    const char *const want[6] = {
        "1.........", /* first token of the first prompt: itself */
        "111.......", /* last token of the first prompt: its prompt */
        "...1......", /* the one-token prompt: itself, not the prompt before */
        "....11....", /* inside the third prompt: causal from its first token */
        "....1111..", /* last token of the third prompt */
        "........11", /* the last prompt */
    };
    expect_vis(c, q, 6, k, 10, want, "lengths 3,1,4,2");
    ref_case_free(c);
    c = ref_case("packing", NULL); /* no lengths: one prompt, the causal triangle at any position */
    double q2[2] = {0, 1000003}, k2[4] = {0, 1, 1000003, 1000004};
    const char *const want2[2] = {"1...", "111."};
    expect_vis(c, q2, 2, k2, 4, want2, "no lengths");
    ref_case_free(c);
}

/* Packing is exact (the catalogue's property): inside a prompt's block the mask is mask.causal on the prompt's own
 * restarted ids (packed index - block start: what the prompt sees unpacked), across blocks nothing. Random lengths
 * 1..6 and random queries; a kernel seeing earlier prompts (mutant packing_cross_prompt) or putting a prompt's first
 * token in the block before (cumulative lengths compared with <=) fails. */
Test(t2mask, packing_is_causal_per_prompt)
{
    pecs_case *causal = ref_case("mask.causal", NULL);
    uint64_t s = 17;
    for (int round = 0; round < 8; round++) {
        char list[256] = "";
        int64_t start[MAXL + 1], block[MAXL], n = 0, total = 0;
        while (total < 40) {
            int64_t len = 1 + (int64_t)(rnd(&s) % 6);
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%lld", n ? "," : "", (long long)len);
            start[n] = total;
            for (int64_t t = total; t < total + len && t < MAXL; t++)
                block[t] = n;
            total += len, n++;
        }
        cr_assert(total <= MAXL);
        pecs_case *c = ref_case("packing", "lengths", list, NULL);
        double q[24], k[MAXL];
        for (int i = 0; i < 24; i++)
            q[i] = (double)(rnd(&s) % (uint64_t)total);
        iota(k, total, 0);
        int got[24 * MAXL];
        for (size_t d = 0; d <= sizeof DTYPES / sizeof DTYPES[0]; d++) {
            if (d == sizeof DTYPES / sizeof DTYPES[0])
                ref_vis(c, q, 24, k, total, got);
            else
                scalar_vis(c, DTYPES[d], q, 24, k, total, got);
            for (int i = 0; i < 24; i++)
                for (int64_t j = 0; j < total; j++) {
                    int64_t bq = block[(int64_t)q[i]], want = 0;
                    if (block[j] == bq) {
                        double rq = q[i] - (double)start[bq], rk = (double)j - (double)start[bq];
                        int w[1];
                        ref_vis(causal, &rq, 1, &rk, 1, w);
                        want = w[0];
                    }
                    cr_expect_eq(got[i * total + j], want, "%s, lengths %s: query %g key %lld",
                                 d < sizeof DTYPES / sizeof DTYPES[0] ? pecs_dtype_name(DTYPES[d]) : "reference", list,
                                 q[i], (long long)j);
                }
        }
        ref_case_free(c);
    }
    ref_case_free(causal);
}

/* Without `lengths` a segment-layout mask is the plain causal mask, at any position. */
static void expect_no_lengths_is_causal(const char *id)
{
    pecs_case *c = ref_case(id, NULL);
    double q[2] = {0, 1000003}, k[4] = {0, 1, 1000003, 1000004};
    const char *const want[2] = {"1...", "111."};
    expect_vis(c, q, 2, k, 4, want, "no lengths");
    ref_case_free(c);
}

/* The bad input every segment-layout mask shares (lengths 3, 2): `over` tokens reach past the layout (rejected with
 * `past`; NULL when tokens past the layout are task tokens, as PCW's), `fits` tokens are a valid case, a fractional
 * length is not a token count, and the fractional position `frac` is not a token index. */
static void expect_segment_bad_input(const char *id, const char *over, const char *past, const char *fits, double frac)
{
    char why[256] = "";
    pecs_case *c;
    if (over) {
        c = ref_case(id, "lengths", "3,2", "tokens", over, "keys", over, NULL);
        cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "%s", id);
        cr_expect(strstr(why, past) != NULL, "%s", why);
        ref_case_free(c);
    }
    c = ref_case(id, "lengths", "3,2", "tokens", fits, "keys", fits, NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case(id, "lengths", "3,2.5", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "%s", id);
    cr_expect(strstr(why, "token count") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case(id, "lengths", "3,2", NULL);
    double q[1] = {frac}, k[1] = {0}, out[1];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[3] = {ref_tensor("qpos", PECS_DT_F64, 1, 1, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 1, 0, 0, k),
                        ref_tensor("out", PECS_DT_F64, 3, 1, 1, 1, out)};
    p.tensors = t, p.n_tensors = 3;
    cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID, "%s", id);
    cr_expect(strstr(why, "token index") != NULL, "%s", why);
    ref_case_free(c);
}

/* Padding is not a prompt: a case whose positions reach past the lengths' sum is bad input, as are lengths that
 * are not token counts and positions that are not token indices. */
Test(t2mask, packing_rejects_padding)
{
    expect_segment_bad_input("packing", "6", "past the packed prompts", "5", 1.5);
    char why[256] = "";
    pecs_case *c = ref_case("packing", "lengths", "1", "tokens", "1", "keys", "1", NULL); /* one prompt of one token */
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
}

/* ---- AnchorAttention ----------------------------------------------------------------------------------- */

/* lengths 3, 1, 4, 2 after the anchor: token 0, documents {1,2,3} {4} {5..8} {9,10} (train.py's doc_ids 0, 1..4;
 * anchor_attn_mod: same document or key id 0, and causal). */
Test(t2mask, kat_anchor_documents)
{
    pecs_case *c = ref_case("anchor", "lengths", "3,1,4,2", NULL);
    double q[7] = {0, 1, 3, 4, 6, 8, 10}, k[11];
    iota(k, 11, 0);
    const char *const want[7] = {
        "1..........", /* the anchor: itself only */
        "11.........", /* first token of the first document: the anchor and itself */
        "1111.......", /* last token of the first document */
        "1...1......", /* the one-token document: the anchor and itself, not the document before */
        "1....11....", /* inside the third document: the anchor, causal from its first token */
        "1....1111..", /* last token of the third document */
        "1........11", /* the last document */
    };
    expect_vis(c, q, 7, k, 11, want, "lengths 3,1,4,2");
    ref_case_free(c);
    expect_no_lengths_is_causal("anchor"); /* one document after the anchor, the causal triangle */
}

/* The anchor is shared and the rest is packing: key 0 is visible to every query, and on the other keys the mask is
 * packing's on the same lengths shifted by the anchor (packed index - 1). Random lengths 1..6 and random queries; a
 * kernel hiding the anchor from later documents (mutant anchor_not_shared, the code's intra_doc_mod), one counting
 * documents from 0 (the anchor's token taken as the first document's) or one seeing earlier documents fails. */
Test(t2mask, anchor_is_packing_plus_a_shared_key)
{
    uint64_t s = 23;
    for (int round = 0; round < 8; round++) {
        char list[256] = "";
        int64_t n = 0, total = 1;
        while (total < 40) {
            int64_t len = 1 + (int64_t)(rnd(&s) % 6);
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%lld", n ? "," : "", (long long)len);
            total += len, n++;
        }
        cr_assert(total <= MAXL);
        pecs_case *c = ref_case("anchor", "lengths", list, NULL), *packing = ref_case("packing", "lengths", list, NULL);
        double q[24], k[MAXL];
        for (int i = 0; i < 24; i++)
            q[i] = (double)(rnd(&s) % (uint64_t)total);
        iota(k, total, 0);
        int got[24 * MAXL];
        for (size_t d = 0; d <= sizeof DTYPES / sizeof DTYPES[0]; d++) {
            if (d == sizeof DTYPES / sizeof DTYPES[0])
                ref_vis(c, q, 24, k, total, got);
            else
                scalar_vis(c, DTYPES[d], q, 24, k, total, got);
            for (int i = 0; i < 24; i++)
                for (int64_t j = 0; j < total; j++) {
                    int want = j == 0;
                    if (q[i] > 0 && j > 0) {
                        double rq = q[i] - 1, rk = (double)j - 1;
                        ref_vis(packing, &rq, 1, &rk, 1, &want);
                    }
                    cr_expect_eq(got[i * total + j], want, "%s, lengths %s: query %g key %lld",
                                 d < sizeof DTYPES / sizeof DTYPES[0] ? pecs_dtype_name(DTYPES[d]) : "reference", list,
                                 q[i], (long long)j);
                }
        }
        ref_case_free(packing);
        ref_case_free(c);
    }
}

/* The packed sequence ends with its last document: positions at or past 1 + the lengths' sum are bad input, as are
 * lengths that are not token counts and positions that are not token indices. */
Test(t2mask, anchor_rejects_past_the_documents)
{
    expect_segment_bad_input("anchor", "7", "past the packed documents", "6", 0.5);
}

/* ---- Parallel Context Windows --------------------------------------------------------------------------- */

/* lengths 3, 4, 2: windows {0,1,2} {3..6} {7,8}, task tokens from 9. Window 1 is the longest: its cache is kept whole,
 * windows 0 and 2 lose their first token (0 and 7) for the task tokens (pcw_wrapper.py combine_past_key_values). */
Test(t2mask, kat_parallel_context_windows)
{
    pecs_case *c = ref_case("parallel_context", "lengths", "3,4,2", NULL);
    double q[6] = {2, 3, 6, 8, 9, 11}, k[12];
    iota(k, 12, 0);
    const char *const want[6] = {
        "111.........", /* window 0: causal inside it */
        "...1........", /* first token of window 1: itself, not window 0 */
        "...1111.....", /* last token of the longest window */
        ".......11...", /* window 2: its own tokens only */
        ".111111.11..", /* first task token: every kept window key (not 0, 7) and itself */
        ".111111.1111", /* a later task token: causal over the task tokens */
    };
    expect_vis(c, q, 6, k, 12, want, "lengths 3,4,2");
    ref_case_free(c);
    /* equal longest windows: np.argmax keeps the first, the second loses its start (key 3) */
    c = ref_case("parallel_context", "lengths", "3,3", NULL);
    double q2[2] = {4, 6}, k2[7];
    iota(k2, 7, 0);
    const char *const want2[2] = {"...11..", "111.111"};
    expect_vis(c, q2, 2, k2, 7, want2, "lengths 3,3");
    ref_case_free(c);
    expect_no_lengths_is_causal("parallel_context"); /* no windows: every token a task token */
}

/* The catalogue's invariance: windows reordered (the same lengths permuted, their tokens moved with them) leave every
 * task token's visible set the same up to that permutation, when the longest window is unique (with a tie the kept
 * start moves to the new first longest window: kat_parallel_context_windows). Random windows 1..6 tokens with one
 * longest, random permutations, 6 task tokens; a kernel letting windows see each other, keeping or dropping the wrong
 * starts by index (the first window's, the last's) or counting a window's start off by one fails. */
Test(t2mask, parallel_context_task_rows_follow_window_permutations)
{
    uint64_t s = 29;
    for (int round = 0; round < 12; round++) {
        int64_t n = 2 + (int64_t)(rnd(&s) % 5), len[8], perm[8], start[8], pstart[8], total = 0, longest = 0;
        for (int64_t b = 0; b < n; b++)
            len[b] = 1 + (int64_t)(rnd(&s) % 6), longest = len[b] > len[longest] ? b : longest;
        len[longest] = 7; /* the unique longest */
        for (int64_t b = 0; b < n; b++)
            perm[b] = b;
        for (int64_t b = n - 1; b > 0; b--) { /* Fisher-Yates: new slot b holds old window perm[b] */
            int64_t r = (int64_t)(rnd(&s) % (uint64_t)(b + 1)), t = perm[b];
            perm[b] = perm[r], perm[r] = t;
        }
        char list[128] = "", plist[128] = "";
        for (int64_t b = 0; b < n; b++) {
            size_t u = strlen(list), pu = strlen(plist);
            snprintf(list + u, sizeof list - u, "%s%lld", b ? "," : "", (long long)len[b]);
            snprintf(plist + pu, sizeof plist - pu, "%s%lld", b ? "," : "", (long long)len[perm[b]]);
            start[b] = total, total += len[b];
        }
        for (int64_t b = 0, at = 0; b < n; b++)
            pstart[perm[b]] = at, at += len[perm[b]];
        int64_t S = total, L = total + 6, map[MAXL];
        cr_assert(L <= MAXL);
        for (int64_t b = 0; b < n; b++)
            for (int64_t o = 0; o < len[b]; o++)
                map[start[b] + o] = pstart[b] + o;
        for (int64_t t = S; t < L; t++)
            map[t] = t;
        pecs_case *c = ref_case("parallel_context", "lengths", list, NULL),
                  *pc = ref_case("parallel_context", "lengths", plist, NULL);
        double q[6], k[MAXL];
        iota(q, 6, (double)S);
        iota(k, L, 0);
        int got[6 * MAXL], pgot[6 * MAXL];
        for (size_t d = 0; d <= sizeof DTYPES / sizeof DTYPES[0]; d++) {
            if (d == sizeof DTYPES / sizeof DTYPES[0]) {
                ref_vis(c, q, 6, k, L, got);
                ref_vis(pc, q, 6, k, L, pgot);
            } else {
                scalar_vis(c, DTYPES[d], q, 6, k, L, got);
                scalar_vis(pc, DTYPES[d], q, 6, k, L, pgot);
            }
            for (int i = 0; i < 6; i++)
                for (int64_t j = 0; j < L; j++)
                    cr_expect_eq(pgot[i * L + map[j]], got[i * L + j],
                                 "%s, lengths %s permuted to %s: task query %g, key %lld (at %lld permuted)",
                                 d < sizeof DTYPES / sizeof DTYPES[0] ? pecs_dtype_name(DTYPES[d]) : "reference", list,
                                 plist, q[i], (long long)j, (long long)map[j]);
        }
        ref_case_free(pc);
        ref_case_free(c);
    }
}

/* Lengths that are not token counts and positions that are not token indices are bad input. */
Test(t2mask, parallel_context_rejects_bad_input)
{
    expect_segment_bad_input("parallel_context", NULL, NULL, "9", 6.5);
}

/* ---- ETC ------------------------------------------------------------------------------------------------ */

/* lengths 3, 1, 4, local_radius 2: global tokens 0, 1, 2 (sentences 0, 1, 2), then the long tokens: sentence 0 =
 * {3, 4, 5}, sentence 1 = {6}, sentence 2 = {7..10} (input_utils.py make_global_local_transformer_side_inputs with
 * one example: g2g all; l2l |i - j| <= local_radius, across sentences; l2g / g2l all, or by sentence when hard). */
Test(t2mask, kat_etc_pieces)
{
    pecs_case *c = ref_case("etc", "lengths", "3,1,4", "local_radius", "2", NULL);
    double q[6] = {0, 2, 3, 6, 10, 8}, k[11];
    iota(k, 11, 0);
    const char *const soft[6] = {
        "11111111111", /* a global token: every global and every long token */
        "11111111111",
        "111111.....", /* first long token: every global token, the long tokens up to 2 to its right */
        "111.11111..", /* the one-token sentence: 2 either side, into sentences 0 and 2 (sentences do not cut l2l) */
        "111.....111", /* last long token: 2 to its left */
        "111...11111", /* inside sentence 2 */
    };
    expect_vis(c, q, 6, k, 11, soft, "lengths 3,1,4, soft");
    ref_case_free(c);
    c = ref_case("etc", "lengths", "3,1,4", "local_radius", "2", "hard_l2g", "true", "hard_g2l", "true", NULL);
    const char *const hard[6] = {
        "111111.....", /* global 0: every global token, the long tokens of sentence 0 */
        "111....1111", /* global 2: sentence 2 */
        "1..111.....", /* sentence 0's long token: global token 0 only */
        ".1..11111..", /* sentence 1's: global token 1 only, l2l unchanged */
        "..1.....111",
        "..1...11111",
    };
    expect_vis(c, q, 6, k, 11, hard, "lengths 3,1,4, hard");
    ref_case_free(c);
    /* only hard_l2g: the long rows lose global tokens, the global rows keep every long token */
    c = ref_case("etc", "lengths", "3,1,4", "local_radius", "2", "hard_l2g", "true", NULL);
    double q2[2] = {1, 6};
    const char *const l2g[2] = {"11111111111", ".1..11111.."};
    expect_vis(c, q2, 2, k, 11, l2g, "lengths 3,1,4, hard l2g");
    ref_case_free(c);
    /* a zero length is a global token with no long tokens: under hard_g2l it sees the global tokens only */
    c = ref_case("etc", "lengths", "0,2", "local_radius", "1", "hard_g2l", "true", NULL);
    double q3[3] = {0, 1, 2}, k3[4];
    iota(k3, 4, 0);
    const char *const zero[3] = {"11..", "1111", "1111"};
    expect_vis(c, q3, 3, k3, 4, zero, "lengths 0,2, hard g2l");
    ref_case_free(c);
    /* no lengths: no global tokens, the l2l band of radius 1 */
    c = ref_case("etc", "local_radius", "1", NULL);
    double q4[2] = {0, 5}, k4[7];
    iota(k4, 7, 0);
    const char *const band[2] = {"11.....", "....111"};
    expect_vis(c, q4, 2, k4, 7, band, "no lengths");
    ref_case_free(c);
}

/* Three properties the code fixes without stating a formula: (1) with hard_l2g == hard_g2l the mask is symmetric (g2l
 * is the transpose of l2g in input_utils.py, and the l2l window is centred); (2) with soft masks and local_radius =
 * L - 1, the smallest radius that covers the long input, every key is visible (FusedGlobalLocalAttention's docstring:
 * standard attention over [global | long] as the special case); (3) with hard masks every long token sees exactly
 * one global token and global token g exactly lengths[g] long tokens. Random lengths 0..5 (zeros included), random
 * radii, reference and scalar in every position dtype. A causal l2l, l2l cut at sentence boundaries, a window off by
 * one (mutant etc_radius_exclusive) or hard_l2g ignored (mutant etc_l2g_all_globals) fails one of them. */
Test(t2mask, etc_symmetric_full_at_covering_radius_one_global_per_long_token)
{
    uint64_t s = 31;
    for (int round = 0; round < 16; round++) {
        int64_t n = 1 + (int64_t)(rnd(&s) % 6), len[8], L = 0;
        char list[64] = "";
        for (int64_t b = 0; b < n; b++) {
            len[b] = (int64_t)(rnd(&s) % 6);
            L += len[b];
        }
        if (L < 2)
            len[n - 1] += 2, L += 2;
        for (int64_t b = 0; b < n; b++) {
            size_t u = strlen(list);
            snprintf(list + u, sizeof list - u, "%s%lld", b ? "," : "", (long long)len[b]);
        }
        int64_t T = n + L;
        cr_assert(T <= MAXL);
        int hard = round % 2, full = round % 4 < 2;
        char radius[24];
        snprintf(radius, sizeof radius, "%lld", full ? (long long)(L - 1) : (long long)(1 + rnd(&s) % (uint64_t)L));
        const char *flag = hard ? "true" : "false";
        pecs_case *c = ref_case("etc", "lengths", list, "local_radius", radius, "hard_l2g", flag, "hard_g2l", flag, NULL);
        double t[MAXL];
        iota(t, T, 0);
        int got[MAXL * MAXL];
        for (size_t d = 0; d <= sizeof DTYPES / sizeof DTYPES[0]; d++) {
            const char *who = d < sizeof DTYPES / sizeof DTYPES[0] ? pecs_dtype_name(DTYPES[d]) : "reference";
            if (d == sizeof DTYPES / sizeof DTYPES[0])
                ref_vis(c, t, T, t, T, got);
            else
                scalar_vis(c, DTYPES[d], t, T, t, T, got);
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 0; j < T; j++) {
                    cr_expect_eq(got[i * T + j], got[j * T + i], "%s, lengths %s radius %s hard %d: (%lld, %lld) is "
                                 "not (%lld, %lld)", who, list, radius, hard, (long long)i, (long long)j, (long long)j,
                                 (long long)i);
                    if (full && !hard)
                        cr_expect(got[i * T + j], "%s, lengths %s radius %s (covering): (%lld, %lld) masked", who, list,
                                  radius, (long long)i, (long long)j);
                }
            for (int64_t i = 0; hard && i < T; i++) {
                int64_t seen = 0;
                for (int64_t j = i < n ? n : 0; j < (i < n ? T : n); j++)
                    seen += got[i * T + j];
                cr_expect_eq(seen, i < n ? len[i] : 1, "%s, lengths %s hard: token %lld sees %lld tokens of the other "
                             "stream", who, list, (long long)i, (long long)seen);
            }
        }
        ref_case_free(c);
    }
}

/* Positions past the long tokens, lengths that are not token counts and positions that are not token indices are bad
 * input (lengths 3, 2: 2 global tokens and 5 long ones, 7 tokens). */
Test(t2mask, etc_rejects_bad_input)
{
    expect_segment_bad_input("etc", "8", "past the long tokens", "7", 1.5);
}

/* xPos BCA, l = 6 (blocks of 3: {0 1 2} {3 4 5} {6 7 8} {9}): a query sees its own block up to itself and the whole
 * block before (sec. 3.3: "its own block and the last block"). Query 7 sees 3..7, not 0..2; query 2 sees 0..2 (block
 * 0 has no block before); query 9 sees 6..9. A kernel with blocks of l (bca_block_is_train_len) lets query 7 see
 * 0..7; one without the previous block (bca_own_block_only) hides 3..5 from it. */
Test(t2mask, kat_xpos_bca_blocks)
{
    pecs_case *c = ref_case("xpos.bca", "train_len", "6", NULL);
    double q[5] = {0, 2, 3, 7, 9}, k[10];
    iota(k, 10, 0);
    const char *const want[5] = {"1.........", "111.......", "1111......", "...11111..", "......1111"};
    expect_vis(c, q, 5, k, 10, want, "train_len 6");
    ref_case_free(c);
    /* the paper's l = 1024 (blocks of 512) past the training length: query 1500 (block 2) sees 512..1500 */
    c = ref_case("xpos.bca", NULL);
    double q2[1] = {1500}, k2[6] = {0, 511, 512, 1023, 1500, 1501};
    const char *const want2[1] = {"..111."};
    expect_vis(c, q2, 1, k2, 6, want2, "train_len 1024");
    ref_case_free(c);
}

/* On random positions, every query sees between min(q, B) + 1 and 2B keys of a contiguous key range ending at itself,
 * and the mask is mask.causal once l/2 is past every position (one block) and a window of the block's start
 * otherwise: a query's first visible key is the start of the block before its own. */
Test(t2mask, xpos_bca_span_is_one_to_two_blocks)
{
    uint64_t s = 11;
    for (int trial = 0; trial < 20; trial++) {
        int64_t B = 1 + trial % 7;
        char l[16];
        snprintf(l, sizeof l, "%lld", (long long)(2 * B));
        pecs_case *c = ref_case("xpos.bca", "train_len", l, NULL);
        double q[8], k[48];
        for (int i = 0; i < 8; i++)
            q[i] = (double)(rnd(&s) % 48);
        iota(k, 48, 0);
        int a[8 * 48];
        scalar_vis(c, trial % 2 ? PECS_DT_I64 : PECS_DT_F64, q, 8, k, 48, a);
        for (int i = 0; i < 8; i++) {
            int64_t qi = (int64_t)q[i], first = (qi / B - 1) * B;
            if (first < 0)
                first = 0;
            for (int64_t j = 0; j < 48; j++)
                cr_expect_eq(a[i * 48 + j], j >= first && j <= qi, "B %lld, query %lld, key %lld", (long long)B,
                             (long long)qi, (long long)j);
        }
        ref_case_free(c);
    }
    char why[256] = "";
    pecs_case *odd = ref_case("xpos.bca", "train_len", "5", NULL);
    cr_expect_eq(pecs_case_validate(odd, why, sizeof why), PECS_INVALID, "an odd l was accepted");
    cr_expect(strstr(why, "even train_len") != NULL, "%s", why);
    ref_case_free(odd);
}

/* ---- the form in the harness ---------------------------------------------------------------------------- */

/* End to end: the scalar kernel passes; each mask mutant fails on the smoke case its bug shows on. */
Test(t2mask, harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "lm_infinite n_local=2 n_global=3 tokens=8 keys=8 pos_dtype=i32",
        "lm_infinite n_local=3 n_global=2 tokens=1 keys=12 positions=decode@11 pos_dtype=f64 dtype=bf16",
        "s2attn group_size=4 half=shifted tokens=8 keys=8 pos_dtype=i64",
        "s2attn group_size=3 half=shifted tokens=16 keys=16 positions=random@40 view=strided",
        "cca grid=4 image_start=2 tokens=20 keys=20 pos_dtype=f64",
        "cca grid=24 image_start=35 tokens=16 keys=640 positions=random@700 dtype=f16 view=strided",
        "packing lengths=3,1,4,2 tokens=10 keys=10 pos_dtype=i64",
        "packing lengths=37,120,5,300 tokens=16 keys=462 positions=random@462 dtype=bf16 view=strided",
        "anchor lengths=3,1,4,2 tokens=11 keys=11 pos_dtype=i64",
        "anchor lengths=40,200,3,268 tokens=16 keys=512 positions=random@512 dtype=bf16 view=strided",
        "parallel_context lengths=3,4,2 tokens=12 keys=12 pos_dtype=i64",
        "parallel_context lengths=300,512,200 tokens=16 keys=1028 positions=random@1028 dtype=bf16 view=strided",
        "etc lengths=3,1,4 local_radius=2 hard_l2g=true tokens=11 keys=11 pos_dtype=i64",
        "etc lengths=20,35,12,40 local_radius=84 hard_g2l=true tokens=16 keys=111 positions=random@111 dtype=bf16 "
        "view=strided",
        "xpos.bca train_len=6 tokens=10 keys=10 pos_dtype=i64",
        "xpos.bca train_len=1024 tokens=16 keys=256 positions=random@8192 dtype=bf16 view=strided",
    };
    char reason[768];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict("scalar", ok[i], reason, sizeof reason), PECS_V_PASSED, "%s: %s", ok[i], reason);
    static const struct {
        const char *mutant, *spec;
    } bad[] = {
        {"lm_infinite_global_acausal", "lm_infinite n_local=2 n_global=3 tokens=8 keys=8"},
        {"s2attn_shift_ignored", "s2attn group_size=4 half=shifted tokens=8 keys=8"},
        {"cca_keeps_causal", "cca grid=4 image_start=2 tokens=20 keys=20"},
        {"packing_cross_prompt", "packing lengths=3,1,4,2 tokens=10 keys=10"},
        {"anchor_not_shared", "anchor lengths=3,1,4,2 tokens=11 keys=11"},
        {"pcw_cross_window", "parallel_context lengths=3,4,2 tokens=12 keys=12"},
        {"pcw_keeps_every_start", "parallel_context lengths=3,4,2 tokens=12 keys=12"},
        {"etc_l2g_all_globals", "etc lengths=3,1,4 local_radius=2 hard_l2g=true tokens=11 keys=11"},
        {"etc_radius_exclusive", "etc lengths=3,1,4 local_radius=2 hard_l2g=true tokens=11 keys=11"},
        {"bca_block_is_train_len", "xpos.bca train_len=6 tokens=10 keys=10"},
        {"bca_own_block_only", "xpos.bca train_len=6 tokens=10 keys=10"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"),
                 bad[i].mutant);
        cr_expect_eq(tu_run_verdict(path, bad[i].spec, reason, sizeof reason), PECS_V_FAILED, "%s: %s", bad[i].mutant, reason);
    }
}
