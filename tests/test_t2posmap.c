/* tests/test_t2posmap.c — known answers and properties of the tier-2 position maps (pose, self_extend, bipe,
 * randomized, group_pe, cream, v2pe, position_coupling).
 *
 * Known answers are worked by hand from the definitions the reference files cite (PoSE's
 * train_preprocess_function_pose: ids arange(len) + lt for the first rt1 tokens, + rt after; Self-Extend's
 * self_extend_forward: p // G for keys, p // G + W - W / G for queries once max(p) >= W). Every check runs on the
 * double reference and on the scalar kernel in each position dtype (out has idx's dtype). The properties are
 * the ones a plausible wrong map breaks: the chunk edge (mutant pose_chunk_inclusive), floor against round or
 * truncation (self_extend_round; negative ids), the window test (self_extend_window_gt), Self-Extend's
 * promise that grouped distances continue the neighbour window's exact ones, and BiPE's separator closing its
 * segment (bipe_separator_opens; get_bilevel_ids' shifted cumulative sums), and a randomized PE draw left
 * in draw order instead of sorted (randomized_unsorted; repeats kept), group PE's target stream restarting at
 * target_start (group_pe_no_restart), CREAM's middle chunk ending at end_id (cream_end_exclusive) and V2PE's image steps
 * and </img> ceiling (v2pe_full_stride, v2pe_floor_continue; its ids are real: f64 only, judged within 4 float32 ulps),
 * and position coupling's one id per digit significance across operands and result (pcoup_result_unreversed,
 * pcoup_sep_next).
 * The harness tests run the posmap mutants and expect the id comparison to fail them.
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

#define MAXT 64

/* out[P][T] of the double reference on idx[0..T-1]. */
static void ref_map(const pecs_case *c, const double *idx, int64_t T, double *out)
{
    pecs_problem p = ref_problem(c);
    pecs_tensor t[2];
    t[0] = ref_tensor("idx", PECS_DT_F64, 2, 1, T, 0, (void *)idx);
    t[1] = ref_tensor("out", PECS_DT_F64, 2, c->enc->pos_rows, T, 0, out);
    p.tensors = t, p.n_tensors = 2;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

/* out[P][T] of the scalar kernel with idx and out stored in dtype dt. */
static void scalar_map(const pecs_case *c, pecs_dtype dt, const double *idx, int64_t T, double *out)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    int64_t P = c->enc->pos_rows;
    unsigned char ib[MAXT * 8], ob[3 * MAXT * 8];
    cr_assert(T <= MAXT);
    for (int64_t t = 0; t < T; t++)
        pecs_store_f64(ib, dt, t, idx[t]);
    memset(ob, 0x5a, sizeof ob);
    pecs_problem p = ref_problem(c);
    pecs_tensor ts[2];
    ts[0] = ref_tensor("idx", dt, 2, 1, T, 0, ib);
    ts[1] = ref_tensor("out", dt, 2, P, T, 0, ob);
    p.dtype = PECS_DT_F32, p.tensors = ts, p.n_tensors = 2;
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support %s: %s", c->enc->id, why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < P * T; i++)
        out[i] = pecs_load_f64(ob, dt, i);
}

static const pecs_dtype DTYPES[] = {PECS_DT_I32, PECS_DT_I64, PECS_DT_F64};

/* The reference and the scalar kernel in every position dtype give exactly want[P][T]. */
static void expect_map(const pecs_case *c, const double *idx, int64_t T, const double *want, const char *what)
{
    double got[3 * MAXT];
    int64_t n = c->enc->pos_rows * T;
    ref_map(c, idx, T, got);
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(got[i], want[i], "%s: reference row %lld token %lld: %.17g, want %.17g", what, (long long)(i / T),
                     (long long)(i % T), got[i], want[i]);
    for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
        scalar_map(c, DTYPES[d], idx, T, got);
        for (int64_t i = 0; i < n; i++)
            cr_expect_eq(got[i], want[i], "%s: scalar (%s) row %lld token %lld: %.17g, want %.17g", what,
                         pecs_dtype_name(DTYPES[d]), (long long)(i / T), (long long)(i % T), got[i], want[i]);
    }
}

static void iota(double *d, int64_t n, double from)
{
    for (int64_t i = 0; i < n; i++)
        d[i] = from + (double)i;
}

/* ---- PoSE ----------------------------------------------------------------------------------------------- */

/* train_pose.py with rt1 = 3, lt = 0, rt = 10 on an 8-token chunked input: ids 0 1 2 | 13 .. 17. */
Test(t2posmap, kat_pose_two_chunks)
{
    pecs_case *c = ref_case("pose", "chunk1", "3", "skip2", "10", NULL);
    double idx[8], want[8] = {0, 1, 2, 13, 14, 15, 16, 17};
    iota(idx, 8, 0);
    expect_map(c, idx, 8, want, "rt1 3, lt 0, rt 10");
    ref_case_free(c);
    /* the earlier revision's random lt: chunk 0 moves too */
    c = ref_case("pose", "chunk1", "2", "skip1", "5", "skip2", "7", NULL);
    double want2[5] = {5, 6, 9, 10, 11};
    expect_map(c, idx, 5, want2, "rt1 2, lt 5, rt 7");
    ref_case_free(c);
}

/* The chunk edge: idx chunk1 - 1 is the last of chunk 0, idx chunk1 the first of chunk 1 (a kernel testing
 * idx <= chunk1 moves the edge by one). Within a chunk ids step by 1; across the edge by 1 + skip2 - skip1. */
Test(t2posmap, pose_chunk_edge_and_steps)
{
    for (int64_t k = 1; k <= 6; k++) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)k);
        pecs_case *c = ref_case("pose", "chunk1", v, "skip1", "1", "skip2", "40", NULL);
        double idx[8], out[8];
        iota(idx, 8, 0);
        for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
            scalar_map(c, DTYPES[d], idx, 8, out);
            for (int64_t t = 1; t < 8; t++)
                cr_expect_eq(out[t] - out[t - 1], t == k ? 40.0 : 1.0, "chunk1 %lld, %s: step into token %lld",
                             (long long)k, pecs_dtype_name(DTYPES[d]), (long long)t);
            cr_expect_eq(out[k - 1], (double)(k - 1) + 1.0, "last token of chunk 0 keeps skip1");
        }
        ref_map(c, idx, 8, out);
        cr_expect_eq(out[k], (double)k + 40.0, "first token of chunk 1 takes skip2 (reference)");
        ref_case_free(c);
    }
}

/* The biases never decrease (rt is drawn in [lt, ...]): skip2 < skip1 is invalid, equal is one chunk. */
Test(t2posmap, pose_skip_order_is_checked)
{
    char why[256] = "";
    pecs_case *c = ref_case("pose", "skip1", "4", "skip2", "3", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "skip2") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("pose", "chunk1", "2", "skip1", "3", "skip2", "3", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    double idx[4] = {0, 1, 2, 3}, want[4] = {3, 4, 5, 6};
    expect_map(c, idx, 4, want, "skip1 == skip2");
    ref_case_free(c);
}

/* ---- Self-Extend ---------------------------------------------------------------------------------------- */

/* G 2, W 4 on ids 0..9 (max 9 >= W: shift s = 4, s - s/G = 2). */
Test(t2posmap, kat_self_extend_rows)
{
    pecs_case *c = ref_case("self_extend", "group_size", "2", "window", "4", NULL);
    double idx[10], want[30] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9,  /* neighbour */
                                2, 2, 3, 3, 4, 4, 5, 5, 6, 6,  /* grouped queries */
                                0, 0, 1, 1, 2, 2, 3, 3, 4, 4}; /* grouped keys */
    iota(idx, 10, 0);
    expect_map(c, idx, 10, want, "G 2, W 4, ids 0..9");
    ref_case_free(c);
}

/* The code's test is max(query_position) < W: ids up to W - 1 leave the shift off, one id at W turns it on for
 * every token (a kernel testing > W is off by one at exactly this length). */
Test(t2posmap, self_extend_window_edge)
{
    pecs_case *c = ref_case("self_extend", "group_size", "4", "window", "16", NULL);
    double idx[17], out[51];
    iota(idx, 17, 0);
    for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
        scalar_map(c, DTYPES[d], idx, 16, out); /* max 15 */
        for (int64_t t = 0; t < 16; t++)
            cr_expect_eq(out[16 + t], out[32 + t], "%s: max idx W-1: query row == key row at %lld",
                         pecs_dtype_name(DTYPES[d]), (long long)t);
        scalar_map(c, DTYPES[d], idx, 17, out); /* max 16 == W */
        for (int64_t t = 0; t < 17; t++)
            cr_expect_eq(out[17 + t] - out[34 + t], 12.0, "%s: max idx W: shift W - W/G = 12 at %lld",
                         pecs_dtype_name(DTYPES[d]), (long long)t);
    }
    ref_case_free(c);
}

/* Python's // floors: p // G for p % G = G-1 stays in the group (round would move it up) and -1 // 4 is -1
 * (C's truncating division gives 0). The harness never generates negative ids, so this is the check. */
Test(t2posmap, self_extend_groups_floor)
{
    pecs_case *c = ref_case("self_extend", "group_size", "4", "window", "8", NULL);
    double idx[9] = {-5, -4, -1, 0, 2, 3, 6, 7, 9}, want[27] = {-5, -4, -1, 0, 2, 3, 6, 7, 9,
                                                                  4, 5, 5, 6, 6, 6, 7, 7, 8,
                                                                  -2, -1, -1, 0, 0, 0, 1, 1, 2};
    expect_map(c, idx, 9, want, "G 4, W 8, negative and mid-group ids");
    ref_case_free(c);
}

/* What the map is for: with queries and keys on ids 0..T-1 and the code's pass choice (neighbour ids where
 * i - j < W, grouped rows (1, 2) elsewhere), every used distance is exact inside the window, equals W at its
 * edge (the grouped distances continue the exact ones) and lies in [W, i - j] beyond it. */
Test(t2posmap, self_extend_neighbour_window_exact_and_grouped_continuous)
{
    static const int64_t GW[][2] = {{2, 4}, {4, 8}, {3, 12}, {8, 16}, {1, 5}};
    for (size_t g = 0; g < sizeof GW / sizeof GW[0]; g++) {
        char gs[24], ws[24];
        snprintf(gs, sizeof gs, "%lld", (long long)GW[g][0]);
        snprintf(ws, sizeof ws, "%lld", (long long)GW[g][1]);
        pecs_case *c = ref_case("self_extend", "group_size", gs, "window", ws, NULL);
        int64_t T = 40, W = GW[g][1];
        double idx[40], out[120];
        iota(idx, T, 0);
        scalar_map(c, PECS_DT_I64, idx, T, out);
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j <= i; j++) {
                int64_t d = i - j;
                double used = d < W ? out[i] - out[j] : out[T + i] - out[2 * T + j];
                if (d < W)
                    cr_expect_eq(used, (double)d, "G %s W %s: (%lld, %lld) inside the window", gs, ws, (long long)i,
                                 (long long)j);
                else if (d == W)
                    cr_expect_eq(used, (double)W, "G %s W %s: (%lld, %lld) at the edge", gs, ws, (long long)i,
                                 (long long)j);
                else
                    cr_expect(used >= (double)W && used <= (double)d, "G %s W %s: (%lld, %lld) grouped %.17g", gs, ws,
                              (long long)i, (long long)j, used);
            }
        ref_case_free(c);
    }
}

/* W % G != 0: the authors' eager (s / G) and decode (s // G) paths disagree, so the case is invalid. */
Test(t2posmap, self_extend_window_multiple_of_group)
{
    char why[256] = "";
    pecs_case *c = ref_case("self_extend", "group_size", "3", "window", "8", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "multiple") != NULL, "%s", why);
    ref_case_free(c);
}

/* ---- BiPE ----------------------------------------------------------------------------------------------- */

/* get_bilevel_ids on ids 5 9 . 4 . . 7 ('.' = 13, the separator): a separator closes its segment. */
Test(t2posmap, kat_bipe_bilevel_ids)
{
    pecs_case *c = ref_case("bipe", "separators", "13", NULL);
    double idx[7] = {5, 9, 13, 4, 13, 13, 7}, want[14] = {0, 1, 2, 0, 1, 0, 0,  /* intra (offset) */
                                                         0, 0, 0, 1, 1, 2, 3}; /* inter (segment) */
    expect_map(c, idx, 7, want, "one separator id");
    ref_case_free(c);
    /* two separator ids, one first, and the clamp at train_scale 2 (offsets >= 2 become 1) */
    c = ref_case("bipe", "separators", "13,869", "train_scale", "2", NULL);
    double idx2[8] = {869, 1, 2, 3, 13, 5, 6, 7}, want2[16] = {0, 0, 1, 1, 1, 0, 1, 1,
                                                               0, 1, 1, 1, 1, 2, 2, 2};
    expect_map(c, idx2, 8, want2, "two separator ids, train_scale 2");
    ref_case_free(c);
}

/* The offset restarts at 0 on the token after every separator and the segment index steps by one there, never at
 * the separator itself (the mutant bipe_separator_opens counts it into the next segment). */
Test(t2posmap, bipe_offsets_restart_after_each_separator)
{
    pecs_case *c = ref_case("bipe", "separators", "0,1", NULL);
    double idx[40], out[80];
    uint64_t x = 7;
    for (int i = 0; i < 40; i++) { /* ids in [0, 4): about half are separators, some consecutive */
        x = x * 6364136223846793005u + 1442695040888963407u;
        idx[i] = (double)(x >> 62);
    }
    for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
        scalar_map(c, DTYPES[d], idx, 40, out);
        cr_expect_eq(out[0], 0.0);
        cr_expect_eq(out[40], 0.0);
        for (int t = 1; t < 40; t++) {
            int sep = idx[t - 1] <= 1.0;
            cr_expect_eq(out[t], sep ? 0.0 : out[t - 1] + 1.0, "%s: offset of token %d", pecs_dtype_name(DTYPES[d]), t);
            cr_expect_eq(out[40 + t], out[40 + t - 1] + (sep ? 1.0 : 0.0), "%s: segment of token %d",
                         pecs_dtype_name(DTYPES[d]), t);
        }
    }
    ref_case_free(c);
}

Test(t2posmap, bipe_separators_are_token_ids)
{
    char why[256] = "";
    pecs_case *c = ref_case("bipe", "separators", "13.5", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "token id") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("bipe", "separators", "", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "the code asserts at least one separator");
    ref_case_free(c);
}

/* ---- randomized PE ------------------------------------------------------------------------------------------ */

/* noisy_fixed_positional_encodings: the draw, sorted ascending (jnp.sort); a repeated id (pecs's random@N may repeat
 * where the code's draw without replacement does not) keeps both occurrences. */
Test(t2posmap, kat_randomized_sorted_draw)
{
    pecs_case *c = ref_case("randomized", NULL);
    double idx[6] = {1500, 3, 977, 2047, 3, 40}, want[6] = {3, 3, 40, 977, 1500, 2047};
    expect_map(c, idx, 6, want, "a draw from [0, 2048) with a repeat");
    double one[1] = {1234};
    expect_map(c, one, 1, one, "one token");
    double asc[5] = {0, 1, 2, 3, 4}, desc[5] = {4, 3, 2, 1, 0};
    expect_map(c, asc, 5, asc, "an ascending draw stays");
    expect_map(c, desc, 5, asc, "a descending draw is reversed");
    ref_case_free(c);
}

/* The output is nondecreasing and holds the draw's ids with their multiplicities: what a kernel that keeps the draw
 * order (mutant randomized_unsorted), sorts descending or drops repeats (a unique-sort) breaks. */
Test(t2posmap, randomized_output_is_the_sorted_multiset_of_the_draw)
{
    pecs_case *c = ref_case("randomized", NULL);
    double idx[MAXT], out[MAXT];
    uint64_t x = 11;
    for (int i = 0; i < MAXT; i++) { /* ids in [0, 32): repeats certain */
        x = x * 6364136223846793005u + 1442695040888963407u;
        idx[i] = (double)(x >> 59);
    }
    for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
        scalar_map(c, DTYPES[d], idx, MAXT, out);
        for (int t = 1; t < MAXT; t++)
            cr_expect(out[t - 1] <= out[t], "%s: token %d: %g after %g", pecs_dtype_name(DTYPES[d]), t, out[t], out[t - 1]);
        for (int v = 0; v < 32; v++) {
            int nin = 0, nout = 0;
            for (int t = 0; t < MAXT; t++)
                nin += idx[t] == v, nout += out[t] == v;
            cr_expect_eq(nout, nin, "%s: id %d occurs %d times in the draw, %d in the output", pecs_dtype_name(DTYPES[d]),
                         v, nin, nout);
        }
    }
    ref_case_free(c);
}

/* ---- group PE ------------------------------------------------------------------------------------------------ */

/* calculate_lengths in streaming mode: range(S) for the source, then range(pe_cache_length, ...) for the target. */
Test(t2posmap, kat_group_pe_two_streams)
{
    double idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    pecs_case *c = ref_case("group_pe", "source_len", "3", NULL);
    double want0[8] = {0, 1, 2, 0, 1, 2, 3, 4};
    expect_map(c, idx, 8, want0, "S 3, target from 0 (the collator's default)");
    ref_case_free(c);
    c = ref_case("group_pe", "source_len", "3", "target_start", "10", NULL);
    double want10[8] = {0, 1, 2, 10, 11, 12, 13, 14};
    expect_map(c, idx, 8, want10, "S 3, target from 10");
    ref_case_free(c);
    c = ref_case("group_pe", "source_len", "3", "target_start", "3", NULL);
    expect_map(c, idx, 8, idx, "target_start = S: batch mode, the identity");
    ref_case_free(c);
    c = ref_case("group_pe", "source_len", "0", "target_start", "5", NULL);
    double all[8] = {5, 6, 7, 8, 9, 10, 11, 12};
    expect_map(c, idx, 8, all, "S 0: every token is target");
    ref_case_free(c);
}

/* Each group is contiguous and the target restarts at target_start on the token with idx = S, whatever S (the
 * mutant group_pe_no_restart keeps counting from idx). */
Test(t2posmap, group_pe_each_stream_contiguous_target_restarts)
{
    static const char *const S[] = {"1", "7", "31"}, *const start[] = {"0", "2", "100"};
    double idx[40], out[40];
    for (int t = 0; t < 40; t++)
        idx[t] = t;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++) {
            pecs_case *c = ref_case("group_pe", "source_len", S[a], "target_start", start[b], NULL);
            int s = atoi(S[a]);
            for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
                scalar_map(c, DTYPES[d], idx, 40, out);
                for (int t = 0; t < 40; t++)
                    cr_expect_eq(out[t], t < s ? (double)t : t == s ? atof(start[b]) : out[t - 1] + 1.0,
                                 "%s: S %s, target_start %s, token %d", pecs_dtype_name(DTYPES[d]), S[a], start[b], t);
            }
            ref_case_free(c);
        }
}

/* ---- CREAM --------------------------------------------------------------------------------------------------- */

/* CREAM() on L 16, factor 2, H 4, end_id 20: head 0..3, middle arange(20 - 7, 21), tail arange(32 - 4, 32); and the
 * smallest window, L 3 with H 1 (a middle of one token). */
Test(t2posmap, kat_cream_segments)
{
    double idx[16], want[16] = {0, 1, 2, 3, 13, 14, 15, 16, 17, 18, 19, 20, 28, 29, 30, 31};
    for (int t = 0; t < 16; t++)
        idx[t] = t;
    pecs_case *c = ref_case("cream", "window", "16", "factor", "2", "head_len", "4", "end_id", "20", NULL);
    expect_map(c, idx, 16, want, "L 16, factor 2, H 4, end_id 20");
    ref_case_free(c);
    c = ref_case("cream", "window", "3", "factor", "2", "head_len", "1", "end_id", "4", NULL);
    double want3[3] = {0, 4, 5};
    expect_map(c, idx, 3, want3, "L 3, H 1, end_id 4");
    ref_case_free(c);
}

/* Over the window the ids increase, the middle ends exactly at end_id and the tail exactly at factor * L - 1, for
 * end_id at both ends of its range (mutant cream_end_exclusive stops the middle one short). */
Test(t2posmap, cream_middle_ends_at_end_id_and_tail_at_factor_window)
{
    static const char *const end[] = {"11", "20", "27"}; /* L 16, factor 2, H 4: [L - H - 1, 2 L - H - 1] */
    double idx[16], out[16];
    for (int t = 0; t < 16; t++)
        idx[t] = t;
    for (size_t e = 0; e < 3; e++) {
        pecs_case *c = ref_case("cream", "window", "16", "factor", "2", "head_len", "4", "end_id", end[e], NULL);
        for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
            scalar_map(c, DTYPES[d], idx, 16, out);
            cr_expect_eq(out[11], atof(end[e]), "%s: end_id %s: last middle id", pecs_dtype_name(DTYPES[d]), end[e]);
            cr_expect_eq(out[15], 31.0, "%s: end_id %s: last tail id", pecs_dtype_name(DTYPES[d]), end[e]);
            for (int t = 1; t < 16; t++)
                cr_expect(out[t] > out[t - 1], "%s: end_id %s: token %d", pecs_dtype_name(DTYPES[d]), end[e], t);
        }
        ref_case_free(c);
    }
}

Test(t2posmap, cream_rejects_draws_the_code_cannot_make)
{
    char why[256] = "";
    pecs_case *c = ref_case("cream", "window", "16", "factor", "2", "head_len", "8", "end_id", "20", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "2 H = L leaves no middle");
    cr_expect(strstr(why, "middle") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("cream", "window", "16", "factor", "2", "head_len", "4", "end_id", "10", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "end_id below L - H - 1: the middle overlaps the head");
    cr_expect(strstr(why, "end_id") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("cream", "window", "16", "factor", "2", "head_len", "4", "end_id", "28", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "end_id past factor L - H - 1: it overlaps the tail");
    ref_case_free(c);
    c = ref_case("cream", "window", "16", "factor", "2", "head_len", "4", "end_id", "27", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
}

/* ---- the form in the harness ---------------------------------------------------------------------------- */

Test(t2posmap, registry_rows_and_form)
{
    const pecs_encoding_info *pose = pecs_registry_find("pose"), *se = pecs_registry_find("self_extend");
    cr_assert(pose && se);
    cr_expect_eq(pose->form, PECS_FORM_POSMAP);
    cr_expect_eq(se->form, PECS_FORM_POSMAP);
    cr_expect_eq(pose->pos_rows, 1);
    cr_expect_eq(pecs_registry_find("bipe")->pos_rows, 2);
    cr_expect_eq(se->pos_rows, 3);
    cr_expect_eq(pose->invariance, PECS_INV_NA);
    cr_expect_str_eq(pecs_form_name(PECS_FORM_POSMAP), "posmap");
    char why[256] = "";
    pecs_case *c = ref_case("pose", "view", "inplace", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "inplace has no idx of out's shape");
    ref_case_free(c);
}

/* End to end: the scalar kernel passes in every position dtype and on strided rows; each posmap mutant fails
 * on exactly the case its bug shows on, with the exact-comparison reason naming the row and token. */
Test(t2posmap, harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "pose chunk1=3 skip2=10 tokens=8 pos_dtype=i32",
        "pose chunk1=4294967293 skip2=1000 tokens=9 pos_dtype=i64 positions=contig@4294967290",
        "self_extend group_size=4 window=16 tokens=17 pos_dtype=f64 view=strided",
        "self_extend group_size=2 window=6 tokens=33 positions=random@1000",
        "bipe separators=2,5 tokens=40 positions=random@6 pos_dtype=i64 view=strided",
        "randomized tokens=40 positions=random@2048 pos_dtype=i32 view=strided",
        "randomized tokens=9 positions=random@1099511627776 pos_dtype=i64",
        "group_pe source_len=6 target_start=3 tokens=16 pos_dtype=f64 view=strided",
        "cream window=16 factor=2 head_len=4 end_id=20 tokens=40 positions=random@40 pos_dtype=i64",
    };
    char reason[768];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict("scalar", ok[i], reason, sizeof reason), PECS_V_PASSED, "%s: %s", ok[i], reason);
    static const struct {
        const char *mutant, *spec, *where;
    } bad[] = {
        {"pose_chunk_inclusive", "pose chunk1=3 skip2=10 tokens=8", "row 0, token 3"},
        {"self_extend_round", "self_extend group_size=4 window=16 tokens=16", "row 1, token 2"},
        {"self_extend_window_gt", "self_extend group_size=4 window=16 tokens=17", "row 1, token 0"},
        {"bipe_separator_opens", "bipe separators=13 tokens=16 positions=contig@10", "row 0, token 3"},
        {"randomized_unsorted", "randomized tokens=40 positions=random@2048", "row 0, token 0"},
        {"group_pe_no_restart", "group_pe source_len=6 tokens=16", "row 0, token 6"},
        {"cream_end_exclusive", "cream window=16 factor=2 head_len=4 end_id=20 tokens=16", "row 0, token 4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"),
                 bad[i].mutant);
        cr_expect_eq(tu_run_verdict(path, bad[i].spec, reason, sizeof reason), PECS_V_FAILED, "%s: %s", bad[i].mutant, reason);
        cr_expect(strstr(reason, "compared exactly") && strstr(reason, bad[i].where), "%s: %s", bad[i].mutant, reason);
    }
}

/* ---- V2PE ------------------------------------------------------------------------------------------------ */

/* Reference and scalar kernel (f64 idx and out: the ids are fractional) on any length. */
static void v2pe_maps(const pecs_case *c, const double *idx, int64_t T, double *ref, double *sca)
{
    ref_map(c, idx, T, ref);
    pecs_loaded_backend *lb = ref_scalar_backend();
    pecs_problem p = ref_problem(c);
    pecs_tensor ts[2];
    ts[0] = ref_tensor("idx", PECS_DT_F64, 2, 1, T, 0, (void *)idx);
    ts[1] = ref_tensor("out", PECS_DT_F64, 2, 1, T, 0, sca);
    p.dtype = PECS_DT_F32, p.tensors = ts, p.n_tensors = 2;
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support v2pe: %s", why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of v2pe");
}

static void v2pe_expect(const pecs_case *c, const double *idx, int64_t T, const double *want, const char *what)
{
    double ref[MAXT], sca[MAXT];
    cr_assert(T <= MAXT);
    v2pe_maps(c, idx, T, ref, sca);
    for (int64_t t = 0; t < T; t++) {
        cr_expect_eq(ref[t], want[t], "%s: reference token %lld: %.17g, want %.17g", what, (long long)t, ref[t], want[t]);
        cr_expect_eq(sca[t], want[t], "%s: scalar token %lld: %.17g, want %.17g", what, (long long)t, sca[t], want[t]);
    }
}

/* get_rope_pos_id by hand, <img> = 0, </img> = 1, 4 tokens per tile at stride 2 (steps of 1/2): text 0, <img> 1,
 * a whole tile 1.5 .. 3, </img> ceil(3) + 1 = 4, text 5, <img> 6, three image tokens 6.5 .. 7.5 (not a whole
 * tile: the code asserts; the same steps here), </img> ceil(7.5) + 1 = 9 (floor would give 8), text 10. */
Test(t2posmap, kat_v2pe_images_and_text)
{
    pecs_case *c = ref_case("v2pe", "num_image_token", "4", "stride", "2", "pos_dtype", "f64", NULL);
    double idx[15] = {7, 0, 5, 5, 5, 5, 1, 9, 0, 5, 5, 5, 1, 9, 9},
           want[15] = {0, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 6.5, 7, 7.5, 9, 10, 11};
    v2pe_expect(c, idx, 15, want, "two images, num_image_token 4, stride 2");
    ref_case_free(c);
    /* Outside what the code accepts: a stray </img> is text, an empty image puts </img> at <img> + 1, an <img>
     * inside an image is an image token, an image open at the end keeps its steps (every prefix of a well-formed
     * sequence gets the code's ids). 256 tokens per tile at stride 64: steps of 1/4. */
    c = ref_case("v2pe", "stride", "64", "pos_dtype", "f64", NULL);
    double idx2[8] = {1, 0, 1, 0, 0, 5, 5, 5}, want2[8] = {0, 1, 2, 3, 3.25, 3.5, 3.75, 4};
    v2pe_expect(c, idx2, 8, want2, "stray </img>, empty image, nested <img>, unterminated");
    ref_case_free(c);
}

/* InternVL2.5's layout: text, an image of 2 tiles of 256 tokens, text, two single-tile images back to back, text.
 * For every stride v2pe_rnd draws: reference and scalar agree; ids strictly increase; text steps by 1, image tokens
 * by stride / 256 (a kernel stepping by stride, mutant v2pe_full_stride, spans 256 times too far); </img> is
 * tiles * stride + 1 past its <img>; stride 256 gives the plain ids 0..T-1 (the code's 'default' version). */
Test(t2posmap, v2pe_strides_on_a_multi_image_prompt)
{
    enum { T = 10 + 1 + 512 + 1 + 5 + 1 + 256 + 1 + 1 + 256 + 1 + 3 };
    double *idx = malloc(T * sizeof *idx), *ref = malloc(T * sizeof *ref), *sca = malloc(T * sizeof *sca);
    int *tiles = malloc(T * sizeof *tiles); /* at each </img>: its image's tile count; else 0 */
    cr_assert(idx && ref && sca && tiles);
    int n = 0;
    const int layout[][2] = {{10, 0}, {0, 2}, {5, 0}, {0, 1}, {0, 1}, {3, 0}}; /* text tokens or image tiles */
    for (size_t s = 0; s < sizeof layout / sizeof layout[0]; s++) {
        for (int i = 0; i < layout[s][0]; i++)
            tiles[n] = 0, idx[n] = 1000.0 + (double)n, n++; /* text ids, never the markers */
        if (layout[s][1]) {
            tiles[n] = 0, idx[n++] = 92544;
            for (int i = 0; i < 256 * layout[s][1]; i++)
                tiles[n] = 0, idx[n++] = 7;
            tiles[n] = layout[s][1], idx[n++] = 92545;
        }
    }
    cr_assert_eq(n, T);
    for (int stride = 1; stride <= 256; stride *= 2) {
        char v[16];
        snprintf(v, sizeof v, "%d", stride);
        pecs_case *c = ref_case("v2pe", "img_start", "92544", "img_end", "92545", "stride", v, "pos_dtype", "f64", NULL);
        v2pe_maps(c, idx, T, ref, sca);
        double open = -1;
        for (int t = 0; t < T; t++) {
            cr_assert_eq(sca[t], ref[t], "stride %d token %d: scalar %.17g, reference %.17g", stride, t, sca[t], ref[t]);
            if (stride == 256)
                cr_assert_eq(ref[t], (double)t, "stride 256: token %d", t);
            if (t == 0) {
                cr_assert_eq(ref[0], 0.0);
                continue;
            }
            cr_assert_gt(ref[t], ref[t - 1], "stride %d: ids not strictly increasing at token %d", stride, t);
            int in_image = open >= 0 && !tiles[t];
            if (tiles[t])
                cr_assert_eq(ref[t], open + (double)(tiles[t] * stride) + 1.0, "stride %d: </img> at token %d", stride, t);
            else
                cr_assert_eq(ref[t] - ref[t - 1], in_image ? (double)stride / 256.0 : 1.0, "stride %d: step into token %d",
                             stride, t);
            if (idx[t] == 92544)
                open = ref[t];
            else if (tiles[t])
                open = -1;
        }
        ref_case_free(c);
    }
    free(idx), free(ref), free(sca), free(tiles);
}

/* The ids are real numbers: integer position dtypes are refused (PECS_REAL_POSITIONS), as are equal marker ids. */
Test(t2posmap, v2pe_needs_f64_positions_and_two_markers)
{
    char why[256] = "";
    pecs_case *c = ref_case("v2pe", NULL); /* its default case holds real ids */
    cr_expect_eq(c->pos_dtype, PECS_DT_F64);
    ref_case_free(c);
    c = ref_case("v2pe", "pos_dtype", "i32", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "key 'pos_dtype': value 'i32' cannot hold the ids of 'v2pe'") && strstr(why, "use f64"), "%s",
              why);
    ref_case_free(c);
    c = ref_case("v2pe", "pos_dtype", "i64", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "'i64'") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("v2pe", "pos_dtype", "f64", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case("v2pe", "pos_dtype", "f64", "img_start", "5", "img_end", "5", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "different") != NULL, "%s", why);
    ref_case_free(c);
    cr_expect_null(pecs_registry_real_positions(pecs_registry_find("pose")), "integer ids stay exact");
    cr_expect_not_null(pecs_registry_real_positions(pecs_registry_find("v2pe")));
}

/* float32 ids as torch.linspace makes them on the CPU (step (end - start) / (steps - 1) in float, start + i step for
 * the first half, end - (steps - 1 - i) step for the second), for one image of N tokens after the <img> id `last`. */
static float linspace_f32(double last, double s, int64_t N, int64_t k)
{
    float a = (float)last, b = (float)(last + s * (double)N), step = (b - a) / (float)N;
    return k < (N + 1) / 2 ? a + step * (float)k : b - step * (float)(N - k);
}

/* The slack the judge gives real ids (runner.c real_id_slack): 4 float32 ulps. A float32 kernel doing what the
 * authors' evaluation code does stays inside it even where float32 cannot hold the 1/256 steps (ids past 2^16, up
 * to the paper's 1M-token contexts). The price: a kernel one step of 1/256 off is told apart only below 2^13
 * (steps of 1 below 2^21); the mutants' errors (a whole step of stride, a ceiling off by one) are far larger. */
Test(t2posmap, v2pe_float32_linspace_within_the_real_id_slack)
{
    const double bases[] = {20, 65600, 300000, 1048000};
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
        for (int stride = 1; stride <= 256; stride *= 4) {
            double s = (double)stride / 256.0;
            for (int64_t k = 1; k <= 512; k++) {
                double exact = bases[b] + (double)k * s, got = (double)linspace_f32(bases[b], s, 512, k);
                double slack = 4.0 * ldexp(1.0, ilogb(exact) - 23);
                cr_expect_leq(fabs(got - exact), slack, "base %.0f stride %d k %lld: %.17g vs %.17g", bases[b], stride,
                              (long long)k, got, exact);
                if (exact < 8192.0 || (exact < 2097152.0 && stride == 256))
                    cr_expect_gt(s, slack, "a step is larger than the slack below 2^13 (steps 1/256), 2^21 (steps 1)");
            }
        }
}

/* End to end: the scalar kernel passes (strided rows, ids past 2^16); both V2PE mutants fail on the smoke case. */
Test(t2posmap, v2pe_harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "v2pe num_image_token=4 stride=2 tokens=48 positions=random@4 pos_dtype=f64 view=strided",
        "v2pe img_start=65600 img_end=65857 stride=1 tokens=66000 pos_dtype=f64",
    };
    char reason[768];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict("scalar", ok[i], reason, sizeof reason), PECS_V_PASSED, "%s: %s", ok[i], reason);
    static const char *const bad[] = {"v2pe_full_stride", "v2pe_floor_continue"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"), bad[i]);
        cr_expect_eq(tu_run_verdict(path, "v2pe num_image_token=4 stride=2 tokens=48 positions=random@4 pos_dtype=f64",
                                    reason, sizeof reason),
                     PECS_V_FAILED, "%s: %s", bad[i], reason);
        cr_expect(strstr(reason, "within 4 float32 ulps") != NULL, "%s: %s", bad[i], reason);
    }
}

/* ---- position coupling ----------------------------------------------------------------------------------- */

/* AdditionDatasetWithCoupledPositions.__getitem__ + tokenize_for_decoder by hand. 12+345=357, start 1: max_len 3,
 * end 5; "12" takes range(3, 6) (its '+' 5), "345" range(2, 6) ('=' 5), the result range(2, 5), reversed with the
 * reversed digits "753"; [0] before, 0 for EOS after. */
Test(t2posmap, kat_position_coupling_addition)
{
    double idx[16];
    iota(idx, 16, 0);
    pecs_case *c = ref_case("position_coupling", "lengths", "2,3,3", "start", "1", NULL);
    double rev[12] = {0, 3, 4, 5, 2, 3, 4, 5, 4, 3, 2, 0};
    expect_map(c, idx, 12, rev, "12+345=753 (reversed), start 1, EOS");
    ref_case_free(c);
    c = ref_case("position_coupling", "lengths", "2,3,3", "start", "1", "reverse_output", "false", NULL);
    double fwd[12] = {0, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4, 0};
    expect_map(c, idx, 12, fwd, "12+345=357, start 1, EOS");
    ref_case_free(c);
    c = ref_case("position_coupling", "lengths", "2,3,3", "start", "7", NULL);
    double drawn[11] = {0, 9, 10, 11, 8, 9, 10, 11, 10, 9, 8};
    expect_map(c, idx, 11, drawn, "12+345=753, a training draw start 7 (end 11)");
    ref_case_free(c);
    /* addition_coupled.yaml pads: 012+345=0357 reversed "7530", then EOS and two pads */
    c = ref_case("position_coupling", "lengths", "3,3,4", "start", "1", NULL);
    double pad[15] = {0, 2, 3, 4, 5, 2, 3, 4, 5, 4, 3, 2, 1, 0, 0};
    expect_map(c, idx, 15, pad, "012+345=7530, start 1, EOS, padding");
    ref_case_free(c);
    /* MultipleAdditionDatasetWithCoupledPositions: 5+67+890=962 reversed "269", start 1 (end 5) */
    c = ref_case("position_coupling", "lengths", "1,2,3,3", "start", "1", NULL);
    double three[13] = {0, 4, 5, 3, 4, 5, 2, 3, 4, 5, 4, 3, 2};
    expect_map(c, idx, 13, three, "5+67+890=269, start 1");
    ref_case_free(c);
    /* a prefix while generating, and token indices out of order */
    double some[4] = {10, 0, 7, 3}, want[4] = {2, 0, 5, 5};
    c = ref_case("position_coupling", "lengths", "2,3,3", NULL);
    expect_map(c, some, 4, want, "12+345=753, tokens 10, 0, 7, 3");
    ref_case_free(c);
}

/* What coupling promises, on every layout: tokens of one significance (operand digits, result digits, read the
 * way reverse_output writes them) share one id; one significance up is one id down; every operand's '+' / '=' sits
 * one above the units digits; BOS and the tail take 0. Checked on the scalar kernel in each dtype and on the
 * reference (mutants pcoup_result_unreversed and pcoup_sep_next break the second and third). */
Test(t2posmap, position_coupling_places_share_ids)
{
    static const char *const layouts[] = {"2,3,3", "3,3,4", "7,1,7", "1,7,8", "4,2,3,5", "1,1,1"};
    static const char *const starts[] = {"1", "9", "100"};
    double idx[MAXT], out[MAXT];
    iota(idx, MAXT, 0);
    for (size_t a = 0; a < sizeof layouts / sizeof layouts[0]; a++)
        for (size_t s = 0; s < 3; s++)
            for (int rev = 0; rev < 2; rev++) {
                pecs_case *c = ref_case("position_coupling", "lengths", layouts[a], "start", starts[s],
                                        "reverse_output", rev ? "true" : "false", NULL);
                int len[8], n = 0;
                for (const char *q = layouts[a]; *q; q += *q == ',')
                    len[n++] = (int)strtol(q, (char **)&q, 10);
                int64_t T = 1;
                for (int k = 0; k < n; k++)
                    T += len[k] + (k < n - 1);
                T += 2; /* EOS and one pad */
                for (int d = -1; d < (int)(sizeof DTYPES / sizeof DTYPES[0]); d++) {
                    if (d < 0)
                        ref_map(c, idx, T, out);
                    else
                        scalar_map(c, DTYPES[d], idx, T, out);
                    const char *dn = d < 0 ? "reference" : pecs_dtype_name(DTYPES[d]);
                    double at[MAXT + 1]; /* id of significance p (p = -1: the separators) at at[p + 1], NAN unset */
                    for (int i = 0; i <= MAXT; i++)
                        at[i] = NAN;
                    int64_t t = 1;
                    for (int k = 0; k < n; k++)
                        for (int o = 0; o < len[k] + (k < n - 1); o++, t++) {
                            int place = k < n - 1 ? len[k] - 1 - o : rev ? o : len[k] - 1 - o;
                            if (isnan(at[place + 1]))
                                at[place + 1] = out[t];
                            cr_expect_eq(out[t], at[place + 1], "%s: %s start %s rev %d: token %lld (significance %d)",
                                         dn, layouts[a], starts[s], rev, (long long)t, place);
                        }
                    for (int p = 0; p < MAXT && !isnan(at[p + 1]); p++)
                        cr_expect_eq(at[p], at[p + 1] + 1.0, "%s: %s start %s rev %d: significance %d vs %d", dn,
                                     layouts[a], starts[s], rev, p - 1, p);
                    cr_expect_eq(out[0], 0.0, "%s: BOS", dn);
                    cr_expect(out[T - 2] == 0.0 && out[T - 1] == 0.0, "%s: EOS and pad", dn);
                    int M = 0;
                    for (int k = 0; k < n - 1; k++)
                        M = len[k] > M ? len[k] : M;
                    cr_expect_eq(at[0], atof(starts[s]) + M + 1, "%s: %s start %s: '+' and '=' at start + max_len + 1", dn,
                                 layouts[a], starts[s]);
                }
                ref_case_free(c);
            }
}

/* Layouts the code cannot make are rejected with the reason, before any kernel runs; so is an idx that is not a token
 * index. */
Test(t2posmap, position_coupling_rejects_bad_layouts)
{
    static const struct {
        const char *lengths, *start, *says;
    } bad[] = {
        {"3,4", "1", "at least two operands"},       /* one operand and a result */
        {"", "1", "at least two operands"},          /* nothing */
        {"2.5,3,3", "1", "is not a digit count"},    /* half a digit */
        {"1,1,5", "1", "does not fit"},              /* a 5-digit sum of two 1-digit numbers: first id 3 - 5 < 0 */
        {"2,3,7", "1", "does not fit"},
    };
    char why[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        pecs_case *c = ref_case("position_coupling", "lengths", bad[i].lengths, "start", bad[i].start, NULL);
        cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "lengths '%s'", bad[i].lengths);
        cr_expect(strstr(why, bad[i].says) != NULL, "lengths '%s': %s", bad[i].lengths, why);
        ref_case_free(c);
    }
    why[0] = '\0';
    pecs_case *c = ref_case("position_coupling", NULL); /* an operand of no digits: the registry's bound */
    cr_expect_eq(pecs_case_set(c, "lengths", "0,3,3", why, sizeof why), PECS_INVALID, "lengths 0,3,3");
    cr_expect(strstr(why, "lengths") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("position_coupling", "lengths", "1,1,3", NULL); /* the edge: first result id 0 */
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    /* idx must be token indices */
    c = ref_case("position_coupling", "lengths", "2,3,3", NULL);
    const double neg[2] = {0, -1}, frac[2] = {0, 2.5};
    double out[2];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[2];
    p.tensors = t, p.n_tensors = 2;
    t[1] = ref_tensor("out", PECS_DT_F64, 2, 1, 2, 0, out);
    t[0] = ref_tensor("idx", PECS_DT_F64, 2, 1, 2, 0, (void *)neg);
    cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID, "idx -1");
    cr_expect(strstr(why, "not a token index") != NULL, "%s", why);
    t[0] = ref_tensor("idx", PECS_DT_F64, 2, 1, 2, 0, (void *)frac);
    cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID, "idx 2.5");
    cr_expect(strstr(why, "not a token index") != NULL, "%s", why);
    ref_case_free(c);
}

/* End to end: the scalar kernel passes (strided rows, random indices, ids past 2^31); both mutants fail on the smoke
 * case, at the token their bug shows on (the '+' at index 4; the result's units digit at index 11). */
Test(t2posmap, position_coupling_harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "position_coupling lengths=3,5,5 start=2 tokens=18 pos_dtype=i32",
        "position_coupling lengths=5,2,7,7 start=4 tokens=40 positions=random@40 pos_dtype=i64 view=strided",
        "position_coupling lengths=40,40,41 start=91 reverse_output=false tokens=160 pos_dtype=f64",
        "position_coupling lengths=6,4,7 start=4294967290 tokens=20 pos_dtype=i64",
    };
    char reason[768];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict("scalar", ok[i], reason, sizeof reason), PECS_V_PASSED, "%s: %s", ok[i], reason);
    static const struct {
        const char *mutant, *where;
    } bad[] = {{"pcoup_result_unreversed", "row 0, token 11"}, {"pcoup_sep_next", "row 0, token 4"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"), bad[i].mutant);
        cr_expect_eq(tu_run_verdict(path, "position_coupling lengths=3,5,5 start=2 tokens=18", reason, sizeof reason),
                     PECS_V_FAILED, "%s: %s", bad[i].mutant, reason);
        cr_expect(strstr(reason, "compared exactly") && strstr(reason, bad[i].where), "%s: %s", bad[i].mutant, reason);
    }
}
