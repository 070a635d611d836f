/* tests/test_t2scores.c — known answers and algorithm equivalences of the tier-2 scores encodings (shaw, music, txl,
 * huang, tra, path, gateloop, cable; tra's hand-worked answer, count rule and undecided-threshold rule, then path's,
 * then gateloop's hand-worked answer, recurrence equivalence and unit-gate property, then cable's hand-worked answer,
 * running-sum property and bad input, are near the end).
 *
 * Known answers come from tests/data/kat/t2scores.json, written by tests/kat/gen_kat_t2scores.py: Python
 * transcriptions of tensor2tensor (Shaw's relative keys; Music Transformer's pad/reshape/slice skewing) and of
 * kimiyoung/transformer-xl (PositionalEmbedding, _rel_shift), and of HF BertSelfAttention's relative_key_query (huang). The references evaluate every logit directly from its
 * own distance, the scalar backend uses the papers' algorithms (skewing, rel_shift), so each known answer checks two
 * codes written from two descriptions. The equivalence tests check the algorithms against each other on inputs the
 * harness generates: music's skewing kernel against Shaw's direct form, txl's rel_shift kernel against its direct
 * reference, each with memory (Lq < Lk). The mutants in impls/mutants carry the bugs named per test.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "compare.h"
#include "reference.h"
#include "refutil.h"
#include "katutil.h"
#include "registry.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------------------ */

static json_t *g_kat;

static json_t *kat(const char *section) { return kat_section(&g_kat, "t2scores.json", section); }


static double *dalloc(int64_t n)
{
    double *d = calloc((size_t)(n > 0 ? n : 1), sizeof *d);
    cr_assert_not_null(d);
    return d;
}

/* A scores problem in double: q [Lq,H,D], k [Lk,H,D], positions, w [wr, wc]. */
typedef struct scores_io {
    int64_t H, D, Lq, Lk, wr, wc;
    double *q, *k, *qpos, *kpos, *w;
} scores_io;

static void io_free(scores_io *s)
{
    free(s->q), free(s->k), free(s->qpos), free(s->kpos), free(s->w);
}

static pecs_problem make_problem(const pecs_case *c, pecs_dtype dt, pecs_tensor t[6], const scores_io *s, void *q, void *k,
                                 void *w, void *out)
{
    pecs_problem p = ref_problem(c);
    t[0] = ref_tensor("q", dt, 3, s->Lq, s->H, s->D, q);
    t[1] = ref_tensor("k", dt, 3, s->Lk, s->H, s->D, k);
    t[2] = ref_tensor("qpos", PECS_DT_F64, 1, s->Lq, 0, 0, s->qpos);
    t[3] = ref_tensor("kpos", PECS_DT_F64, 1, s->Lk, 0, 0, s->kpos);
    t[4] = ref_tensor("w", dt, 2, s->wr, s->wc, 0, w);
    t[5] = ref_tensor("out", dt, 3, s->H, s->Lq, s->Lk, out);
    p.dtype = dt, p.tensors = t, p.n_tensors = 6;
    return p;
}

static void ref_scores(const pecs_case *c, const scores_io *s, double *out)
{
    pecs_tensor t[6];
    pecs_problem p = make_problem(c, PECS_DT_F64, t, s, s->q, s->k, s->w, out);
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

static float *to_f32(const double *d, int64_t n)
{
    float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    cr_assert_not_null(f);
    for (int64_t i = 0; i < n; i++)
        f[i] = (float)d[i];
    return f;
}

/* The scalar backend on the same problem in float32 (inputs rounded to f32 first). */
static void scalar_scores(const pecs_case *c, const scores_io *s, double *out)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    int64_t n = s->H * s->Lq * s->Lk;
    float *q = to_f32(s->q, s->Lq * s->H * s->D), *k = to_f32(s->k, s->Lk * s->H * s->D), *w = to_f32(s->w, s->wr * s->wc),
          *of = malloc((size_t)n * sizeof *of);
    cr_assert_not_null(of);
    pecs_tensor t[6];
    pecs_problem p = make_problem(c, PECS_DT_F32, t, s, q, k, w, of);
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support %s: %s", c->enc->id, why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < n; i++)
        out[i] = of[i];
    free(q), free(k), free(w), free(of);
}

static void jflat(json_t *a, double *dst, int64_t n)
{
    /* flatten nested arrays in row-major order */
    int64_t at = 0;
    json_t *stack[4] = {a};
    size_t idx[4] = {0};
    int depth = 0;
    while (depth >= 0) {
        json_t *cur = stack[depth];
        if (idx[depth] >= json_array_size(cur)) {
            depth--;
            if (depth >= 0)
                idx[depth]++;
            continue;
        }
        json_t *e = json_array_get(cur, idx[depth]);
        if (json_is_array(e)) {
            cr_assert_lt(depth, 3);
            stack[++depth] = e;
            idx[depth] = 0;
        } else {
            cr_assert_lt(at, n, "KAT array longer than %lld", (long long)n);
            dst[at++] = json_is_null(e) ? -INFINITY : json_number_value(e);
            idx[depth]++;
        }
    }
    cr_assert_eq(at, n, "KAT array has %lld values, want %lld", (long long)at, (long long)n);
}

/* A KAT case as a problem: shapes from q, k, w; positions; the expected logits [H][Lq][Lk] into *want. */
static scores_io kat_io(json_t *cs, double **want)
{
    json_t *q = jget(cs, "q"), *k = jget(cs, "k"), *w = jget(cs, "w");
    scores_io s = {.H = jint(cs, "heads"), .D = jint(cs, "head_dim"), .Lq = (int64_t)json_array_size(q),
                   .Lk = (int64_t)json_array_size(k), .wr = (int64_t)json_array_size(w),
                   .wc = (int64_t)json_array_size(json_array_get(w, 0))};
    s.q = dalloc(s.Lq * s.H * s.D), s.k = dalloc(s.Lk * s.H * s.D), s.w = dalloc(s.wr * s.wc);
    s.qpos = dalloc(s.Lq), s.kpos = dalloc(s.Lk);
    jflat(q, s.q, s.Lq * s.H * s.D);
    jflat(k, s.k, s.Lk * s.H * s.D);
    jflat(w, s.w, s.wr * s.wc);
    jflat(jget(cs, "qpos"), s.qpos, s.Lq);
    jflat(jget(cs, "kpos"), s.kpos, s.Lk);
    *want = dalloc(s.H * s.Lq * s.Lk);
    jflat(jget(cs, "logits"), *want, s.H * s.Lq * s.Lk);
    return s;
}

static void expect_close(const char *what, size_t kcase, const double *got, const double *want, int64_t n, double tol)
{
    for (int64_t i = 0; i < n; i++) {
        if (isinf(want[i]) || isinf(got[i])) {
            cr_assert(got[i] == want[i], "%s case %zu element %lld: %g vs %g (masking)", what, kcase, (long long)i, got[i],
                      want[i]);
            continue;
        }
        cr_assert(fabs(got[i] - want[i]) <= tol * (1.0 + fabs(want[i])), "%s case %zu element %lld: %.17g vs %.17g", what,
                  kcase, (long long)i, got[i], want[i]);
    }
}

/* Run a KAT section: the reference to 1e-12 and the scalar backend to 1e-5 (float32) on every case. */
static void run_kat(const char *section, const char *id, void (*set)(pecs_case *, json_t *))
{
    json_t *cases = jget(kat(section), "cases");
    cr_assert_gt(json_array_size(cases), 0);
    for (size_t kc = 0; kc < json_array_size(cases); kc++) {
        json_t *cs = json_array_get(cases, kc);
        double *want;
        scores_io s = kat_io(cs, &want);
        pecs_case *c = ref_case(id, NULL);
        set(c, cs);
        int64_t n = s.H * s.Lq * s.Lk;
        double *r = dalloc(n), *f = dalloc(n);
        ref_scores(c, &s, r);
        expect_close(id, kc, r, want, n, 1e-12);
        scalar_scores(c, &s, f);
        expect_close(id, kc, f, want, n, 1e-5);
        free(r), free(f), free(want);
        io_free(&s);
        ref_case_free(c);
    }
}

static void set_int(pecs_case *c, const char *k, int64_t v)
{
    char buf[32], why[256] = "";
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    cr_assert_eq(pecs_case_set(c, k, buf, why, sizeof why), PECS_OK, "set %s=%s: %s", k, buf, why);
}

static void set_shaw(pecs_case *c, json_t *cs)
{
    char why[256] = "";
    set_int(c, "max_relative_position", jint(cs, "max_relative_position"));
    cr_assert_eq(pecs_case_set(c, "causal", json_is_true(jget(cs, "causal")) ? "true" : "false", why, sizeof why), PECS_OK);
}

static void set_huang(pecs_case *c, json_t *cs)
{
    char why[256] = "";
    set_int(c, "max_distance", jint(cs, "max_distance"));
    cr_assert_eq(pecs_case_set(c, "causal", json_is_true(jget(cs, "causal")) ? "true" : "false", why, sizeof why), PECS_OK);
}

static void set_music(pecs_case *c, json_t *cs) { set_int(c, "max_relative_position", jint(cs, "max_relative_position")); }

static void set_txl(pecs_case *c, json_t *cs)
{
    set_int(c, "d_model", jint(cs, "d_model"));
    set_int(c, "clamp_len", jint(cs, "clamp_len"));
}

/* ---- known answers --------------------------------------------------------------------------------------- */

/* tensor2tensor's relative keys: key - query distances clipped to +-K, q scaled before both terms; Lq != Lk, keys after
 * the query visible (encoder), K = 1 with distances of +-100, decode. Catches: the clip at K-1 (shaw_clip_short), the
 * table indexed by query - key as HF's relative_key does (shaw_query_minus_key: case 0 sees both signs), the
 * relative term left unscaled. */
Test(t2scores, kat_shaw_tensor2tensor) { run_kat("shaw", "shaw", set_shaw); }

/* HF BertSelfAttention relative_key_query (Huang et al. method 4): q.k + q.a + k.a over sqrt(D), a indexed by
 * query - key + max_position_embeddings - 1; a full 4-token window both ways, gaps with the mask, the smallest table.
 * Catches: the k.a term dropped (huang_key_term_missing: HF's relative_key run for a relative_key_query model), the
 * table read by key - query (the sign of Shaw's tensor2tensor layout: case 0 is not symmetric). */
Test(t2scores, kat_huang_hf_relative_key_query) { run_kat("huang", "huang", set_huang); }

/* tensor2tensor's masked relative attention v2, computed with its own pad/reshape/slice skewing: L above, below
 * and at M, M = 1, shifted positions. The reference (direct) and the scalar kernel (skewing over the column
 * distances) both match. Catches: a skew off by one column (music_skew_shifted), distances beyond M-1 given E's first
 * row instead of t2t's zero rows (music_far_clipped: case 0 has L = 6 > M = 3). */
Test(t2scores, kat_music_tensor2tensor_skewing) { run_kat("music", "music", set_music); }

/* Transformer-XL's RelPartialLearnableMultiHeadAttn with memory (mlen 2 and 6), clamp_len, and no memory: AC + BD
 * after _rel_shift, [sin | cos] sinusoid of width d_model. Catches: u and v swapped (txl_uv_swapped), an interleaved
 * sinusoid (txl_sincos_interleaved), the clamp ignored (case 1), the rel_shift off by a row. */
Test(t2scores, kat_txl_mem_transformer) { run_kat("txl", "txl", set_txl); }

/* ---- algorithm equivalences --------------------------------------------------------------------------------- */

/* Inputs in [-1, 1) from a fixed sequence (the harness's generator is not needed: any values do). */
static void fill(double *d, int64_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        d[i] = (double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
}

static scores_io random_io(int64_t H, int64_t D, int64_t Lq, int64_t Lk, double q0, double k0, int64_t wr, int64_t wc,
                           uint64_t seed)
{
    scores_io s = {.H = H, .D = D, .Lq = Lq, .Lk = Lk, .wr = wr, .wc = wc};
    s.q = dalloc(Lq * H * D), s.k = dalloc(Lk * H * D), s.w = dalloc(wr * wc), s.qpos = dalloc(Lq), s.kpos = dalloc(Lk);
    fill(s.q, Lq * H * D, seed);
    fill(s.k, Lk * H * D, seed + 1);
    fill(s.w, wr * wc, seed + 2);
    for (int64_t i = 0; i < Lq; i++)
        s.qpos[i] = q0 + (double)i;
    for (int64_t j = 0; j < Lk; j++)
        s.kpos[j] = k0 + (double)j;
    return s;
}

/* Music Transformer's skewing (the scalar kernel) equals Shaw's direct logits (the shaw reference, causal) with
 * K = M - 1 and Shaw's rows 0..K set to E, wherever every visible distance is within -(M-1)..0: a prefill (Lq = Lk = 24,
 * M = 24), queries at the start of longer keys (Lq 9 < Lk 24, M 24), and a decode query (M = Lk). Both are also
 * compared to the music reference. Beyond M-1 the two conventions differ (zero rows vs the clipped row): shown on
 * L = 12 > M = 4, where music and shaw must disagree. */
Test(t2scores, music_skewing_equals_shaw_direct)
{
    static const struct { int64_t Lq, Lk, M; double q0, k0; } cfg[] = {
        {24, 24, 24, 0, 0}, {9, 24, 24, 100, 100}, {1, 20, 20, 519, 500}};
    for (size_t n = 0; n < sizeof cfg / sizeof cfg[0]; n++) {
        int64_t H = 3, D = 16, M = cfg[n].M, K = M - 1;
        scores_io m = random_io(H, D, cfg[n].Lq, cfg[n].Lk, cfg[n].q0, cfg[n].k0, M, D, 40 + n);
        scores_io sh = random_io(H, D, cfg[n].Lq, cfg[n].Lk, cfg[n].q0, cfg[n].k0, 2 * K + 1, D, 40 + n);
        memcpy(sh.w, m.w, (size_t)(M * D) * sizeof *m.w); /* rows 0..K: distances -K..0 = E; the rest never visible */
        pecs_case *cm = ref_case("music", NULL), *cs = ref_case("shaw", NULL);
        set_int(cm, "max_relative_position", M);
        set_int(cs, "max_relative_position", K);
        int64_t cnt = H * m.Lq * m.Lk;
        double *skew = dalloc(cnt), *direct = dalloc(cnt), *mref = dalloc(cnt);
        scalar_scores(cm, &m, skew);
        ref_scores(cs, &sh, direct);
        ref_scores(cm, &m, mref);
        expect_close("music skew vs shaw direct", n, skew, direct, cnt, 2e-5);
        expect_close("music reference vs shaw reference", n, mref, direct, cnt, 1e-12);
        free(skew), free(direct), free(mref);
        io_free(&m), io_free(&sh);
        ref_case_free(cm), ref_case_free(cs);
    }
    /* beyond the table: t2t's zero rows are not Shaw's clipped row */
    int64_t H = 1, D = 8, M = 4, L = 12;
    scores_io m = random_io(H, D, L, L, 0, 0, M, D, 7), sh = random_io(H, D, L, L, 0, 0, 2 * (M - 1) + 1, D, 7);
    memcpy(sh.w, m.w, (size_t)(M * D) * sizeof *m.w);
    pecs_case *cm = ref_case("music", "max_relative_position", "4", NULL), *cs = ref_case("shaw", "max_relative_position", "3", NULL);
    double *a = dalloc(L * L), *b = dalloc(L * L);
    ref_scores(cm, &m, a);
    ref_scores(cs, &sh, b);
    cr_assert(fabs(a[11 * L + 0] - b[11 * L + 0]) > 1e-3, "distance -11 with M = 4: zero row vs clipped row must differ");
    cr_assert(fabs(a[11 * L + 8] - b[11 * L + 8]) < 1e-12, "distance -3 is within both tables");
    free(a), free(b);
    io_free(&m), io_free(&sh);
    ref_case_free(cm), ref_case_free(cs);
}

/* Transformer-XL's rel_shift kernel (scalar) equals the direct evaluation (reference) with memory: a segment of 16
 * queries over 40 keys (mlen 24, the last query at the last key), Lq = Lk, one decode query, and clamp_len 5; on
 * enwik8's head width with d_model 64. */
Test(t2scores, txl_rel_shift_equals_direct)
{
    static const struct { int64_t Lq, Lk, clamp; double q0, k0; } cfg[] = {
        {16, 40, 0, 24, 0}, {16, 16, 0, 0, 0}, {1, 33, 0, 1032, 1000}, {16, 40, 5, 1024, 1000}};
    for (size_t n = 0; n < sizeof cfg / sizeof cfg[0]; n++) {
        int64_t H = 2, D = 64, dm = 64;
        scores_io s = random_io(H, D, cfg[n].Lq, cfg[n].Lk, cfg[n].q0, cfg[n].k0, H * D, dm + 2, 90 + n);
        pecs_case *c = ref_case("txl", "d_model", "64", NULL);
        set_int(c, "clamp_len", cfg[n].clamp);
        int64_t cnt = H * s.Lq * s.Lk;
        double *shift = dalloc(cnt), *direct = dalloc(cnt);
        scalar_scores(c, &s, shift);
        ref_scores(c, &s, direct);
        expect_close("txl rel_shift vs direct", n, shift, direct, cnt, 2e-5);
        free(shift), free(direct);
        io_free(&s);
        ref_case_free(c);
    }
}

/* ---- contracts -------------------------------------------------------------------------------------------- */

/* The skewing kernels need consecutive positions: the scalar backend declines others with the reason (SKIPPED in a
 * run, never a wrong answer), and takes consecutive ones; shaw (direct) takes any. */
Test(t2scores, scalar_declines_what_skewing_cannot_do)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    static const char *const ids[] = {"music", "txl", "shaw"};
    for (int e = 0; e < 3; e++) {
        pecs_case *c = ref_case(ids[e], NULL);
        int64_t wr = e == 0 ? 256 : e == 1 ? 2 * 4 : 33, wc = e == 0 ? 4 : e == 1 ? 514 : 4;
        scores_io s = random_io(2, 4, 3, 5, 0, 0, wr, wc, 3);
        float q[24] = {0}, k[40] = {0}, out[30], *w = to_f32(s.w, wr * wc);
        pecs_tensor t[6];
        char why[256] = "";
        s.kpos[2] = 7; /* a gap */
        pecs_problem p = make_problem(c, PECS_DT_F32, t, &s, q, k, w, out);
        int ok = lb->b->supports(lb->b->ctx, &p, why, sizeof why);
        if (e < 2)
            cr_assert(!ok && strstr(why, "consecutive"), "%s: %s", ids[e], why);
        else
            cr_assert(ok, "shaw takes any positions: %s", why);
        s.kpos[2] = 2;
        s.qpos[0] = 3, s.qpos[1] = 4, s.qpos[2] = 5; /* the last query after the last key */
        ok = lb->b->supports(lb->b->ctx, &p, why, sizeof why);
        cr_assert(e == 2 || (!ok && strstr(why, "last query")), "%s: %s", ids[e], why);
        s.qpos[0] = 2, s.qpos[1] = 3, s.qpos[2] = 4;
        cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "%s: %s", ids[e], why);
        free(w);
        io_free(&s);
        ref_case_free(c);
    }
}

/* The SIMD and OpenMP backends have no scores kernels: they decline shaw, music, txl, huang, tra, nope.temperature, path,
 * gateloop, cable and tape with a reason (SKIPPED). */
Test(t2scores, simd_and_openmp_decline_cleanly)
{
    static const char *const names[] = {"simd", "openmp"}, *const ids[] = {"shaw", "music", "txl", "huang", "tra", "nope.temperature",
                                                                         "path", "gateloop", "cable", "tape"};
    for (int b = 0; b < 2; b++) {
        if (strstr(pecs_builtin_list(), names[b]) == NULL)
            continue;
        pecs_loaded_backend lb;
        char why[256] = "";
        cr_assert_eq(pecs_backend_load(names[b], &lb, why, sizeof why), PECS_OK, "%s", why);
        for (int e = 0; e < (int)(sizeof ids / sizeof ids[0]); e++) {
            pecs_case *c = ref_case(ids[e], NULL);
            scores_io s = random_io(1, 4, 2, 2, 0, 0, 1, 1, 1);
            pecs_tensor t[6];
            float buf[64] = {0};
            pecs_problem p = make_problem(c, PECS_DT_F32, t, &s, buf, buf, buf, buf);
            why[0] = '\0';
            cr_assert(!lb.b->supports(lb.b->ctx, &p, why, sizeof why) && why[0], "%s took %s", names[b], ids[e]);
            io_free(&s);
            ref_case_free(c);
        }
        pecs_backend_unload(&lb);
    }
}

/* Registry weights terms are sums of products: txl's w is [H*D, d_model + 2], shaw's [2K+1, D], music's [M, D]. */
Test(t2scores, weights_shapes)
{
    int64_t shape[2];
    pecs_case *c = ref_case("txl", "d_model", "30", NULL);
    cr_assert(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 3, 20, shape));
    cr_assert(shape[0] == 60 && shape[1] == 32, "txl w [%lld, %lld]", (long long)shape[0], (long long)shape[1]);
    ref_case_free(c);
    c = ref_case("shaw", "max_relative_position", "7", NULL);
    cr_assert(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 3, 20, shape));
    cr_assert(shape[0] == 15 && shape[1] == 20);
    ref_case_free(c);
    c = ref_case("music", "max_relative_position", "5", NULL);
    cr_assert(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 3, 20, shape));
    cr_assert(shape[0] == 5 && shape[1] == 20);
    ref_case_free(c);
}

/* The tables are indexed by the distance: a fractional one is an invalid problem, not a rounded index (and for huang
 * one past max_distance too: HF indexes out of its table). */
Test(t2scores, fractional_distance_is_invalid)
{
    static const char *const ids[] = {"shaw", "music", "txl", "huang"};
    for (int e = 0; e < 4; e++) {
        pecs_case *c = ref_case(ids[e], NULL);
        int64_t wr = e == 0 ? 33 : e == 1 ? 256 : e == 2 ? 8 : 1023, wc = e == 2 ? 514 : 4;
        scores_io s = random_io(2, 4, 2, 3, 0, 0, wr, wc, 5);
        s.qpos[1] = 1.5;
        double out[12];
        pecs_tensor t[6];
        pecs_problem p = make_problem(c, PECS_DT_F64, t, &s, s.q, s.k, s.w, out);
        char why[256] = "";
        cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID, "%s", ids[e]);
        cr_assert(strstr(why, "integer"), "%s: %s", ids[e], why);
        io_free(&s);
        ref_case_free(c);
    }
    pecs_case *c = ref_case("huang", "max_distance", "2", NULL);
    scores_io s = random_io(1, 4, 1, 4, 3, 0, 5, 4, 6); /* query 3, keys 0..3: distance 3 > 2 */
    double out[4];
    pecs_tensor t[6];
    pecs_problem p = make_problem(c, PECS_DT_F64, t, &s, s.q, s.k, s.w, out);
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "max_distance"), "%s", why);
    io_free(&s);
    ref_case_free(c);
}

/* ---- tra (threshold relative attention) ------------------------------------------------------------------------ */

/* Hand-worked, D = 1 (s = q k), 3 queries x 3 keys at positions 0, 1, 2, k = [0.5, -0.25, 2]; w holds the gates' raw
 * projections a, g = logsigmoid(a) = ln sigmoid(a): a = ln(1/3) -> ln(1/4), 0 -> ln(1/2), ln 3 -> ln(3/4).
 *   head 0, q = [2, 1, 1]:  row 0  s = [1]            kept {0}       c = [1]       -> [1 + ln(1/4), -, -]
 *                           row 1  s = [.5, -.25]     kept {0}       c = [1]       -> [.5 + ln(1/2), -, -]
 *                           row 2  s = [.5, -.25, 2]  kept {0, 2}    c = [2, -, 1] -> [.5 + 2 ln(3/4), -, 2 + ln(3/4)]
 *   head 1, q negated:      row 0  s = [-1]           nothing kept: the whole row -inf
 *                           row 1  s = [-.5, .25]     kept {1}       c = [-, 1]    -> [-, .25 + ln(1/2), -]
 *                           row 2  s = [-.5, .25, -2] kept {1}       c = [-, 1, -] -> [-, .25 + ln(3/4), -]
 * Catches: counting the kept keys from the start to j (tra_count_from_start: row 2 of head 0 would get c = [1, -, 2]),
 * s >= 0 kept, the gate used without logsigmoid, a dropped key given a finite logit. */
Test(t2scores, tra_known_answer_3x3)
{
    const double L4 = log(0.25), L2 = log(0.5), L34 = log(0.75), NI = -INFINITY;
    double q[6] = {2, -2, 1, -1, 1, -1}; /* [Lq][H][D]: (i, h) */
    double k[6] = {0.5, 0.5, -0.25, -0.25, 2, 2};
    double w[6] = {log(1.0 / 3.0), 0, log(3.0), log(1.0 / 3.0), 0, log(3.0)}; /* [H][Lq] */
    double pos[3] = {0, 1, 2};
    double want[18] = {1 + L4, NI, NI, 0.5 + L2, NI, NI, 0.5 + 2 * L34, NI, 2 + L34,
                       NI,     NI, NI, NI,       0.25 + L2, NI, NI, 0.25 + L34, NI};
    scores_io s = {.H = 2, .D = 1, .Lq = 3, .Lk = 3, .wr = 2, .wc = 3, .q = q, .k = k, .qpos = pos, .kpos = pos, .w = w};
    pecs_case *c = ref_case("tra", NULL);
    double r[18], f[18];
    ref_scores(c, &s, r);
    expect_close("tra reference", 0, r, want, 18, 1e-12);
    scalar_scores(c, &s, f);
    expect_close("tra scalar", 0, f, want, 18, 1e-6);
    ref_case_free(c);
}

/* The count rule on random data: with a = 0 (g = -ln 2), (out - s) / g is the number of kept keys at positions from
 * kpos_j to qpos_i, counted here directly; with a = 40 (g ~ -4e-18) out is s wherever the key is kept. Positions
 * are random with repeats (keys at one position count each other) and unsorted, so the scalar kernel's sorted sweep
 * is checked against the reference's direct count too. */
Test(t2scores, tra_count_rule_and_zero_gate)
{
    int64_t H = 2, D = 16, Lq = 12, Lk = 20;
    scores_io s = random_io(H, D, Lq, Lk, 0, 0, H, Lq, 77);
    for (int64_t j = 0; j < Lk; j++)
        s.kpos[j] = (double)((j * 7) % 9); /* 0 7 5 3 1 8 6 4 2 0 7 ...: unsorted, repeated */
    for (int64_t i = 0; i < Lq; i++)
        s.qpos[i] = (double)(i % 10);
    pecs_case *c = ref_case("tra", NULL);
    int64_t n = H * Lq * Lk, kept_total = 0, multi = 0;
    double *r = dalloc(n), *f = dalloc(n);
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t e = 0; e < H * Lq; e++)
            s.w[e] = pass ? 40.0 : 0.0;
        ref_scores(c, &s, r);
        scalar_scores(c, &s, f);
        expect_close("tra scalar vs reference", (size_t)pass, f, r, n, 2e-5);
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Lq; i++)
                for (int64_t j = 0; j < Lk; j++) {
                    double sij = 0.0;
                    for (int64_t d = 0; d < D; d++)
                        sij += s.q[(i * H + h) * D + d] * s.k[(j * H + h) * D + d];
                    sij /= sqrt((double)D);
                    int keep = s.kpos[j] <= s.qpos[i] && sij > 0.0;
                    double o = r[(h * Lq + i) * Lk + j];
                    if (!keep) {
                        cr_assert(isinf(o) && o < 0, "dropped (%lld, %lld, %lld) must be -inf: %g", (long long)h,
                                  (long long)i, (long long)j, o);
                        continue;
                    }
                    if (pass) {
                        cr_assert(fabs(o - sij) < 1e-12, "a = 40: the logit is s where kept: %.17g vs %.17g", o, sij);
                        continue;
                    }
                    int64_t cnt = 0;
                    for (int64_t t = 0; t < Lk; t++) {
                        double st = 0.0;
                        for (int64_t d = 0; d < D; d++)
                            st += s.q[(i * H + h) * D + d] * s.k[(t * H + h) * D + d];
                        cnt += s.kpos[t] >= s.kpos[j] && s.kpos[t] <= s.qpos[i] && st > 0.0;
                    }
                    cr_assert(fabs((o - sij) / -log(2.0) - (double)cnt) < 1e-9, "c(%lld, %lld, %lld) = %.17g, want %lld",
                              (long long)h, (long long)i, (long long)j, (o - sij) / -log(2.0), (long long)cnt);
                    kept_total++;
                    multi += cnt > 1;
                }
    }
    cr_assert(kept_total > 20 && multi > 10, "the data must keep keys with counts above 1: %lld kept, %lld counts > 1",
              (long long)kept_total, (long long)multi);
    free(r), free(f);
    io_free(&s);
    ref_case_free(c);
}

/* The undecided rule (pecs_ref_undecided): one query over 5 keys at positions 0..4, D = 2, q = [1, 1]. Key 2 has
 * s = (1e-9 - 0)/sqrt(2), inside float32's bound for its products (|q_d k_d| = 1, 1 - 1e-9), so its own element and
 * every earlier key that is not dropped either way (keys 0 and 1: s = 0.5 > 0 kept; key 1 is made decisively
 * negative) are not judged; keys 3 and 4 after it are. With q = 0 every product is 0: s = 0 exactly, dropped by any
 * kernel, nothing undecided. */
Test(t2scores, tra_undecided_threshold)
{
    double q[2] = {1, 1}, k[10] = {0.25, 0.25, -0.5, -0.5, 1, -(1 - 1e-9), 0.5, 0.5, -1, 0.25};
    double w[1] = {0}, pos[5] = {0, 1, 2, 3, 4}, qpos[1] = {4}, out[5];
    scores_io s = {.H = 1, .D = 2, .Lq = 1, .Lk = 5, .wr = 1, .wc = 1, .q = q, .k = k, .qpos = qpos, .kpos = pos, .w = w};
    pecs_case *c = ref_case("tra", NULL);
    pecs_tensor t[6];
    pecs_problem p = make_problem(c, PECS_DT_F64, t, &s, q, k, w, out);
    unsigned char skip[5] = {0};
    double lo[5], hi[5], s0 = 0.5 / sqrt(2.0), s2 = 1e-9 / sqrt(2.0), ln2 = log(2.0);
    cr_assert_eq(pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, lo, hi), 2);
    cr_assert(skip[0] == 1 && !skip[1] && skip[2] == 2 && !skip[3] && !skip[4], "skip %d%d%d%d%d", skip[0], skip[1],
              skip[2], skip[3], skip[4]);
    /* g = logsigmoid(0) = -ln 2. Key 0 counts keys 0 and 3 for sure and key 2 maybe: 2 or 3 kept keys. Key 2, if kept,
     * counts itself and key 3. */
    cr_assert(fabs(lo[0] - (s0 - 3 * ln2)) < 1e-15 && fabs(hi[0] - (s0 - 2 * ln2)) < 1e-15, "key 0: [%.17g, %.17g]",
              lo[0], hi[0]);
    cr_assert(fabs(lo[2] - (s2 - 2 * ln2)) < 1e-15 && lo[2] == hi[2], "key 2: [%.17g, %.17g]", lo[2], hi[2]);
    /* Unjudged is not unchecked (pecs_compare_undecided): -inf only where the key's own decision is open, never NaN,
     * +inf or a count no decision gives. */
    pecs_tol tol = {.abs = 1e-6, .rel = 1e-6};
    pecs_metrics m = {.first_bad = -1};
    char why[512];
    double good[5] = {s0 - 3 * ln2, 0, -INFINITY, 0, 0}, bad[4][5] = {
        {NAN, 0, -INFINITY, 0, 0}, {-INFINITY, 0, -INFINITY, 0, 0}, {s0 - 2 * ln2, 0, INFINITY, 0, 0},
        {s0 - 4 * ln2, 0, s2 - 2 * ln2, 0, 0}};
    cr_assert_eq(pecs_compare_undecided(good, skip, lo, hi, 5, PECS_DT_F32, &tol, 0, &m, why, sizeof why), PECS_V_PASSED,
                 "%s", why);
    for (int b = 0; b < 4; b++)
        cr_assert_eq(pecs_compare_undecided(bad[b], skip, lo, hi, 5, PECS_DT_F32, &tol, 0, &m, why, sizeof why),
                     PECS_V_FAILED, "bad output %d passed", b);
    k[5] = -0.5; /* s = 0.25 > bound: decided, nothing undecided */
    memset(skip, 0, sizeof skip);
    cr_assert_eq(pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, NULL, NULL), 0);
    q[0] = q[1] = 0;
    cr_assert_eq(pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, NULL, NULL), 0, "exact zeros are dropped by every kernel");
    pecs_case *sh = ref_case("shaw", NULL);
    p.encoding = sh->enc->id;
    cr_assert_eq(pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, NULL, NULL), 0, "no threshold, nothing undecided");
    ref_case_free(sh);
    ref_case_free(c);
}

/* tra's gates are one per query row: w is [H, L] for a call of L queries ("H,L"); without L there is no shape. */
Test(t2scores, tra_weights_shape_per_query_row)
{
    int64_t shape[2];
    pecs_case *c = ref_case("tra", NULL);
    cr_assert(pecs_registry_weights_shape_l(c->enc, c->params, c->n_params, 3, 20, 7, shape));
    cr_assert(shape[0] == 3 && shape[1] == 7, "tra w [%lld, %lld]", (long long)shape[0], (long long)shape[1]);
    cr_assert_not(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 3, 20, shape), "L unknown");
    ref_case_free(c);
}

/* ---- gateloop (GateLoop's surrogate attention) ---------------------------------------------------------------- */

/* Hand-worked, H = 2, D = 1, tokens at positions 0, 1, 2, q = [1, 2, -1], k = [2, 1, 4] in both heads. w [2H, L] holds
 * the gate Linear's raw output, rows h0 re, h1 re, h0 im, h1 im; the gate is a = sigmoid(|c|) c/|c|, so |c| = ln 3
 * gives |a| = 3/4 and c = 0 gives a = 1/2 (token 0's gate, which no weight reads). out[n][m] = q_n k_m Re(prod a_j,
 * j = m+1..n):
 *   head 0, real gates  a1 = 3/4, a2 = -3/4:   row 0  [2, -, -]
 *                                               row 1  [2*2*3/4 = 3, 2*1 = 2, -]
 *                                               row 2  [-1*2*(-9/16) = 9/8, -1*1*(-3/4) = 3/4, -4]
 *   head 1, imaginary   a1 = 3i/4, a2 = -3i/4: row 1  [4 Re(3i/4) = 0, 2, -]
 *                                               row 2  [-2 Re(9/16) = -9/8, -1 Re(-3i/4) = 0, -4]
 * Catches: key m's own gate in its product (gateloop_own_gate: row 1 of head 0 would be [3/2, 3/2, -]), the real
 * part taken per gate instead of once (head 1 row 2, m = 0 would be 0), the raw c used as the gate, a 1/sqrt(D) or a
 * softmax, and a visible key made -inf. */
Test(t2scores, gateloop_known_answer_3x3)
{
    const double L3 = log(3.0), NI = -INFINITY;
    double q[6] = {1, 1, 2, 2, -1, -1}; /* [Lq][H][D]: (i, h) */
    double k[6] = {2, 2, 1, 1, 4, 4};
    double w[12] = {0, L3, -L3, 0, 0, 0, 0, 0, 0, 0, L3, -L3}; /* [2H][L] */
    double pos[3] = {0, 1, 2};
    double want[18] = {2, NI, NI, 3, 2, NI, 9.0 / 8.0, 0.75, -4, /* head 0 */
                       2, NI, NI, 0, 2, NI, -9.0 / 8.0, 0, -4};  /* head 1 */
    scores_io s = {.H = 2, .D = 1, .Lq = 3, .Lk = 3, .wr = 4, .wc = 3, .q = q, .k = k, .qpos = pos, .kpos = pos, .w = w};
    pecs_case *c = ref_case("gateloop", NULL);
    double r[18], f[18];
    ref_scores(c, &s, r);
    expect_close("gateloop reference", 0, r, want, 18, 1e-12);
    scalar_scores(c, &s, f);
    expect_close("gateloop scalar", 0, f, want, 18, 1e-6);
    ref_case_free(c);
}

/* The recurrence itself: with values v_t (one per token and head), S_t = a_t S_{t-1} + k_t v_t (complex, D wide: the
 * binary_operator's a_j kv_i + kv_j in token order) and y_t = Re(q_t . S_t) must equal sum_m out[t][m] v_m over the
 * visible keys, for the reference (direct products) and the scalar kernel (a backward running product). Random gates
 * in both signs and phases, L = 24. */
Test(t2scores, gateloop_equals_the_recurrence)
{
    int64_t H = 2, D = 3, L = 24;
    scores_io s = random_io(H, D, L, L, 5, 5, 2 * H, L, 91);
    double *v = dalloc(L * H), *r = dalloc(H * L * L), *f = dalloc(H * L * L);
    fill(v, L * H, 93);
    pecs_case *c = ref_case("gateloop", NULL);
    ref_scores(c, &s, r);
    scalar_scores(c, &s, f);
    for (int pass = 0; pass < 2; pass++) {
        const double *o = pass ? f : r;
        for (int64_t h = 0; h < H; h++) {
            double Sr[3] = {0}, Si[3] = {0};
            for (int64_t t = 0; t < L; t++) {
                double cr = s.w[h * L + t], ci = s.w[(H + h) * L + t], m = hypot(cr, ci), g = 1.0 / (1.0 + exp(-m));
                double ar = m > 0 ? g * cr / m : g, ai = m > 0 ? g * ci / m : 0, y = 0.0, want = 0.0;
                for (int64_t d = 0; d < D; d++) {
                    double nr = ar * Sr[d] - ai * Si[d] + s.k[(t * H + h) * D + d] * v[t * H + h];
                    Si[d] = ar * Si[d] + ai * Sr[d];
                    Sr[d] = nr;
                    want += s.q[(t * H + h) * D + d] * Sr[d];
                }
                for (int64_t j = 0; j < L; j++) {
                    double e = o[(h * L + t) * L + j];
                    cr_assert(j <= t ? isfinite(e) : (isinf(e) && e < 0), "%s (%lld, %lld, %lld): %g",
                              pass ? "scalar" : "reference", (long long)h, (long long)t, (long long)j, e);
                    y += j <= t ? e * v[j * H + h] : 0.0;
                }
                cr_assert(fabs(y - want) < (pass ? 1e-5 : 1e-12) * (1.0 + fabs(want)), "%s y(%lld, %lld) = %.17g, want %.17g",
                          pass ? "scalar" : "reference", (long long)h, (long long)t, y, want);
            }
        }
    }
    free(v), free(r), free(f);
    io_free(&s);
    ref_case_free(c);
}

/* Gates of modulus 1 (c = 40 + 0i: sigmoid(40) = 1 - 4e-18) make GateLoop plain causal q.k: no 1/sqrt(D), no decay.
 * Positions random, unsorted and repeated, so the scalar kernel's sorted backward sweep is also checked against the
 * reference's direct product on random gates (second pass), where keys at one position must not gate each other. */
Test(t2scores, gateloop_unit_gates_give_plain_qk)
{
    int64_t H = 2, D = 16, L = 20, n = H * L * L;
    scores_io s = random_io(H, D, L, L, 0, 0, 2 * H, L, 57);
    for (int64_t j = 0; j < L; j++)
        s.kpos[j] = (double)((j * 7) % 9), s.qpos[j] = s.kpos[j]; /* 0 7 5 3 1 8 6 4 2 0 7 ...: unsorted, repeated */
    double *saved = dalloc(2 * H * L), *r = dalloc(n), *f = dalloc(n);
    memcpy(saved, s.w, (size_t)(2 * H * L) * sizeof *saved);
    for (int64_t e = 0; e < 2 * H * L; e++)
        s.w[e] = e < H * L ? 40.0 : 0.0;
    pecs_case *c = ref_case("gateloop", NULL);
    ref_scores(c, &s, r);
    scalar_scores(c, &s, f);
    expect_close("gateloop unit gates, scalar vs reference", 0, f, r, n, 2e-5);
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) {
                double dot = 0.0, o = r[(h * L + i) * L + j];
                for (int64_t d = 0; d < D; d++)
                    dot += s.q[(i * H + h) * D + d] * s.k[(j * H + h) * D + d];
                if (s.kpos[j] > s.qpos[i])
                    cr_assert(isinf(o) && o < 0, "(%lld, %lld, %lld) after the query: %g", (long long)h, (long long)i,
                              (long long)j, o);
                else
                    cr_assert(fabs(o - dot) < 1e-12, "(%lld, %lld, %lld) = %.17g, want q.k %.17g", (long long)h,
                              (long long)i, (long long)j, o, dot);
            }
    memcpy(s.w, saved, (size_t)(2 * H * L) * sizeof *saved);
    ref_scores(c, &s, r);
    scalar_scores(c, &s, f);
    expect_close("gateloop random gates, scalar vs reference", 1, f, r, n, 2e-5);
    free(saved), free(r), free(f);
    io_free(&s);
    ref_case_free(c);
}

/* The gates are one per token of the one sequence: w is [2H, L] ("2*H,L"), and a call whose query and key counts
 * differ is invalid with the reason (the recurrence has no gates for keys that are not its tokens). */
/* The shared rule of the one-sequence scores rows (gateloop, path): w's shape at H = 3, D = 20, L = 7 is [wr, wc], and
 * the problem s (queries and keys of different counts) is invalid with `reason` in the message. */
static void expect_one_sequence(const pecs_case *c, int64_t wr, int64_t wc, scores_io *s, const char *reason)
{
    int64_t shape[2];
    cr_assert(pecs_registry_weights_shape_l(c->enc, c->params, c->n_params, 3, 20, 7, shape));
    cr_assert(shape[0] == wr && shape[1] == wc, "%s w [%lld, %lld]", c->enc->id, (long long)shape[0], (long long)shape[1]);
    double out[64];
    cr_assert(s->H * s->Lq * s->Lk <= 64);
    pecs_tensor t[6];
    pecs_problem p = make_problem(c, PECS_DT_F64, t, s, s->q, s->k, s->w, out);
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, reason), "%s", why);
}

Test(t2scores, gateloop_one_sequence_and_weights_shape)
{
    pecs_case *c = ref_case("gateloop", NULL);
    scores_io s = random_io(1, 4, 2, 3, 1, 0, 2, 2, 3);
    expect_one_sequence(c, 6, 7, &s, "one sequence");
    io_free(&s);
    ref_case_free(c);
}

/* ---- cable (CABLE's context-aware biases) --------------------------------------------------------------------- */

/* Hand-worked, H = 2, D = 2, tokens at positions 0, 1, 2. w [H, L] holds the bias Linear's raw output h; softplus
 * of 0, ln 3, ln 7 is ln 2, 2 ln 2, 3 ln 2 (l = ln 2) and of -ln 3 is r = ln(4/3). z_t = -sum_{t' <= t} softplus(h_t'),
 * bias(i, j) = z_i - z_j = -(softplus of tokens j+1 .. i).
 *   head 0  h = [ln 7, 0, ln 3]   softplus [3l, l, 2l]   bias row 1 [-l, 0],  row 2 [-3l, -2l, 0]
 *   head 1  h = [0, -ln 3, ln 3]  softplus [l, r, 2l]    bias row 1 [-r, 0],  row 2 [-r - 2l, -2l, 0]
 *   head 0  q = (1,0) (0,2) (1,1), k = (2,0) (1,1) (0,-2):  q.k row 0 [2], row 1 [0, 2], row 2 [2, 2, -2]
 *   head 1  q = (-1,1) each,       k as head 0:             q.k row 0 [-2], row 1 [-2, 0], row 2 [-2, 0, -2]
 * qk_scale d_model: q.k / sqrt(H*D) = q.k / 2 (root Cable.py's 1/sqrt(n_embd)); none: q.k (src/Cable.py).
 * Catches: the bias reversed (z_j - z_i: row 1 of head 0 would be [+l, ..]; mutant cable_bias_reversed), the key's own
 * token in the sum (row 1 [-4l, ..] as token 0's 3l enters; cable_key_own_token), a cumsum that excludes the token
 * itself (row 2 [-4l, -l, ..]), relu for softplus (head 1 row 1 [-1, ..] as relu(-ln 3) = 0; cable_relu), the
 * head-width scale 1/sqrt(D) (1/sqrt 2), and a visible key made -inf. */
Test(t2scores, cable_known_answer_3x3)
{
    const double l = log(2.0), r = log(4.0 / 3.0), NI = -INFINITY;
    double q[12] = {1, 0, -1, 1, 0, 2, -1, 1, 1, 1, -1, 1}; /* [Lq][H][D] */
    double k[12] = {2, 0, 2, 0, 1, 1, 1, 1, 0, -2, 0, -2};
    double w[6] = {log(7.0), 0, log(3.0), 0, -log(3.0), log(3.0)}; /* [H][L] */
    double pos[3] = {0, 1, 2};
    double want_dm[18] = {1, NI, NI, -l, 1, NI, 1 - 3 * l, 1 - 2 * l, -1,               /* head 0 */
                          -1, NI, NI, -1 - r, 0, NI, -1 - r - 2 * l, -2 * l, -1};       /* head 1 */
    double want_none[18] = {2, NI, NI, -l, 2, NI, 2 - 3 * l, 2 - 2 * l, -2,
                            -2, NI, NI, -2 - r, 0, NI, -2 - r - 2 * l, -2 * l, -2};
    scores_io s = {.H = 2, .D = 2, .Lq = 3, .Lk = 3, .wr = 2, .wc = 3, .q = q, .k = k, .qpos = pos, .kpos = pos, .w = w};
    for (int v = 0; v < 2; v++) {
        pecs_case *c = v ? ref_case("cable", "qk_scale", "none", NULL) : ref_case("cable", NULL);
        const double *want = v ? want_none : want_dm;
        double o[18], f[18];
        ref_scores(c, &s, o);
        expect_close("cable reference", (size_t)v, o, want, 18, 1e-12);
        scalar_scores(c, &s, f);
        expect_close("cable scalar", (size_t)v, f, want, 18, 1e-6);
        ref_case_free(c);
    }
}

/* The bias's structure, on random inputs (L = 24, raw h in [-4, 4): both signs, so softplus and relu differ), for the
 * reference and the scalar prefix-sum kernel, with b = out - scale q.k:
 *   b(i, i) = 0 (the key's own token is not summed), b(i, i-1) = -softplus(h_i) (the query's own token is),
 *   b(i, m) = b(i, j) + b(j, m) for m <= j <= i (a difference of one running sum), b <= 0,
 * and the root Cable.py's folded form: with q' = [q, sqrt(C), z_i], k' = [k, -z_j, sqrt(C)], C = H*D, the default
 * qk_scale gives q'.k'/sqrt(C). Key positions with gaps (0, 3, 6, ...): only the order of the tokens matters, the
 * result equals the one at positions 0..L-1. A reversed bias, a cumsum without or with the key's own token, relu for
 * softplus and a 1/sqrt(D) scale each break one of these. */
Test(t2scores, cable_bias_is_a_running_sum_of_softplus)
{
    int64_t H = 2, D = 3, L = 24, n = H * L * L;
    scores_io s = random_io(H, D, L, L, 0, 0, H, L, 131);
    for (int64_t e = 0; e < H * L; e++)
        s.w[e] *= 4.0;
    double *r = dalloc(n), *f = dalloc(n), *g = dalloc(n), *z = dalloc(L);
    pecs_case *c = ref_case("cable", NULL);
    ref_scores(c, &s, r);
    scalar_scores(c, &s, f);
    expect_close("cable scalar vs reference", 0, f, r, n, 2e-5);
    double C = (double)(H * D), sc = 1.0 / sqrt(C);
    for (int pass = 0; pass < 2; pass++) {
        const double *o = pass ? f : r;
        double tol = pass ? 2e-5 : 1e-12;
        for (int64_t h = 0; h < H; h++) {
            double acc = 0.0;
            for (int64_t t = 0; t < L; t++) {
                double x = s.w[h * L + t];
                acc -= log1p(exp(x)); /* softplus, written another way */
                z[t] = acc;
            }
            double b[24][24];
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < L; j++) {
                    double dot = 0.0, folded = 0.0, e = o[(h * L + i) * L + j];
                    if (j > i) {
                        cr_assert(isinf(e) && e < 0, "(%lld, %lld, %lld) after the query: %g", (long long)h,
                                  (long long)i, (long long)j, e);
                        continue;
                    }
                    for (int64_t d = 0; d < D; d++)
                        dot += s.q[(i * H + h) * D + d] * s.k[(j * H + h) * D + d];
                    b[i][j] = e - sc * dot;
                    folded = (dot + sqrt(C) * (-z[j]) + z[i] * sqrt(C)) / sqrt(C);
                    cr_assert(fabs(e - folded) <= tol * (1.0 + fabs(folded)), "%s (%lld, %lld, %lld) = %.17g, root "
                              "Cable.py's folded form %.17g", pass ? "scalar" : "reference", (long long)h, (long long)i,
                              (long long)j, e, folded);
                    cr_assert(b[i][j] <= tol, "bias (%lld, %lld, %lld) = %g > 0", (long long)h, (long long)i,
                              (long long)j, b[i][j]);
                }
            for (int64_t i = 0; i < L; i++) {
                cr_assert(fabs(b[i][i]) <= tol, "bias (%lld, %lld, %lld) = %g, want 0", (long long)h, (long long)i,
                          (long long)i, b[i][i]);
                if (i > 0) {
                    double sp = log1p(exp(s.w[h * L + i]));
                    cr_assert(fabs(b[i][i - 1] + sp) <= tol * (1.0 + sp), "bias (%lld, %lld, %lld) = %.17g, want "
                              "-softplus(h_i) = %.17g", (long long)h, (long long)i, (long long)(i - 1), b[i][i - 1], -sp);
                }
                for (int64_t j = 0; j <= i; j++)
                    for (int64_t m = 0; m <= j; m++)
                        cr_assert(fabs(b[i][m] - b[i][j] - b[j][m]) <= 4 * tol * (1.0 + fabs(b[i][m])),
                                  "bias (%lld, %lld, %lld) != (%lld, %lld) + (%lld, %lld)", (long long)h, (long long)i,
                                  (long long)m, (long long)i, (long long)j, (long long)j, (long long)m);
            }
        }
    }
    for (int64_t t = 0; t < L; t++)
        s.qpos[t] = s.kpos[t] = 1000.0 + 3.0 * (double)t;
    ref_scores(c, &s, g);
    expect_close("cable reference, gapped positions", 0, g, r, n, 1e-12);
    scalar_scores(c, &s, g);
    expect_close("cable scalar, gapped positions", 0, g, r, n, 2e-5);
    free(r), free(f), free(g), free(z);
    io_free(&s);
    ref_case_free(c);
}

/* Bad input is an invalid problem with the reason: queries and keys of different lengths (the biases are the tokens'
 * of one sequence), key positions not strictly increasing (the sum is ordered by token); the scalar kernel refuses
 * the same problems. w is [H, L]. */
Test(t2scores, cable_bad_input_and_weights_shape)
{
    pecs_case *c = ref_case("cable", NULL);
    scores_io s = random_io(1, 4, 2, 3, 0, 0, 1, 2, 3);
    expect_one_sequence(c, 3, 7, &s, "Lq");
    io_free(&s);
    double out[16];
    pecs_tensor t[6];
    char why[256] = "";
    pecs_problem p;
    s = random_io(1, 4, 3, 3, 0, 0, 1, 3, 8);
    s.kpos[2] = 1; /* a repeat */
    p = make_problem(c, PECS_DT_F64, t, &s, s.q, s.k, s.w, out);
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "increase"), "%s", why);
    pecs_loaded_backend *lb = ref_scalar_backend();
    float *qf = to_f32(s.q, 12), *kf = to_f32(s.k, 12), *wf = to_f32(s.w, 3), of[9];
    p = make_problem(c, PECS_DT_F32, t, &s, qf, kf, wf, of);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_INVALID);
    free(qf), free(kf), free(wf);
    io_free(&s);
    ref_case_free(c);
}

/* ---- nope.temperature ----------------------------------------------------------------------------------- */

/* Worked by hand (H 2, D 4, sqrt(D) 2, lambda = (2, -0.5)): head 0's factor lambda/sqrt(D) is 1, head 1's -0.25;
 * queries at positions 1 and 2, keys at 0, 1, 2 (the key at 2 is after the first query: -inf).
 *   head 0  q0 = 1 2 0 1, q1 = 0 1 1 0; k0 = 1 0 1 0, k1 = 2 1 0 1, k2 = 0 0 2 2
 *           q0.k = 1 5 (2, masked)   q1.k = 1 1 2
 *   head 1  q0 = 1 1 1 1, q1 = 2 0 0 0; k0 = 1 1 0 0, k1 = 0 0 0 4, k2 = 1 -1 1 -1
 *           q0.k = 2 4 (0, masked)   q1.k = 2 0 2      -> times -0.25
 * Catches: lambda read as a temperature (nope_temperature_divides: head 0 gives 0.25 and 1.25), one head's lambda
 * for all heads, the causal mask missing or reversed. Checked on the reference and the scalar kernel. */
Test(t2scores, kat_nope_temperature_by_hand)
{
    static const double q[2][2][4] = {{{1, 2, 0, 1}, {1, 1, 1, 1}}, {{0, 1, 1, 0}, {2, 0, 0, 0}}};
    static const double k[3][2][4] = {{{1, 0, 1, 0}, {1, 1, 0, 0}}, {{2, 1, 0, 1}, {0, 0, 0, 4}},
                                      {{0, 0, 2, 2}, {1, -1, 1, -1}}};
    static const double want[2][2][3] = {{{1, 5, -INFINITY}, {1, 1, 2}}, {{-0.5, -1, -INFINITY}, {-0.5, 0, -0.5}}};
    scores_io s = {.H = 2, .D = 4, .Lq = 2, .Lk = 3, .wr = 1, .wc = 2};
    s.q = dalloc(16), s.k = dalloc(24), s.w = dalloc(2), s.qpos = dalloc(2), s.kpos = dalloc(3);
    memcpy(s.q, q, sizeof q), memcpy(s.k, k, sizeof k);
    s.w[0] = 2.0, s.w[1] = -0.5, s.qpos[0] = 1, s.qpos[1] = 2, s.kpos[0] = 0, s.kpos[1] = 1, s.kpos[2] = 2;
    pecs_case *c = ref_case("nope.temperature", NULL);
    double got[2][12];
    ref_scores(c, &s, got[0]);
    scalar_scores(c, &s, got[1]);
    for (int b = 0; b < 2; b++)
        for (int n = 0; n < 12; n++)
            cr_expect(got[b][n] == (&want[0][0][0])[n], "%s [%d]: %g, want %g", b ? "scalar" : "reference", n, got[b][n],
                      (&want[0][0][0])[n]);
    io_free(&s);
    ref_case_free(c);
}

/* The scale is linear in lambda per head and nothing else depends on it: on generated inputs, the logits with
 * lambda = w equal w[h] times the logits with lambda = 1 (visible keys), on the reference and on scalar, and moving
 * every position by 10^6 changes nothing (no position term). A kernel that divides by lambda, adds it, or takes
 * another head's lambda fails the first; one that reads the positions beyond the mask fails the second. */
Test(t2scores, nope_temperature_is_a_per_head_scale)
{
    int64_t H = 4, D = 32, L = 9;
    pecs_case *c = ref_case("nope.temperature", NULL);
    scores_io s = random_io(H, D, L, L, 0, 0, 1, H, 77);
    scores_io one = random_io(H, D, L, L, 1e6, 1e6, 1, H, 77);
    for (int64_t h = 0; h < H; h++)
        one.w[h] = 1.0;
    int64_t n = H * L * L;
    double *a = dalloc(n), *b = dalloc(n), *sa = dalloc(n), *sb = dalloc(n);
    ref_scores(c, &s, a), ref_scores(c, &one, b);
    scalar_scores(c, &s, sa), scalar_scores(c, &one, sb);
    for (int64_t h = 0; h < H; h++)
        for (int64_t e = 0; e < L * L; e++) {
            int64_t at = h * L * L + e;
            if (isinf(a[at])) {
                cr_expect(isinf(b[at]) && isinf(sa[at]) && isinf(sb[at]), "mask differs at %lld", (long long)at);
                continue;
            }
            cr_expect(fabs(a[at] - s.w[h] * b[at]) <= 1e-12 * (1 + fabs(a[at])), "reference h %lld: %g vs %g x %g",
                      (long long)h, a[at], s.w[h], b[at]);
            cr_expect(fabs(sa[at] - (float)s.w[h] * sb[at]) <= 1e-5 * (1 + fabs(sa[at])), "scalar h %lld: %g vs %g x %g",
                      (long long)h, sa[at], s.w[h], sb[at]);
        }
    free(a), free(b), free(sa), free(sb);
    io_free(&s), io_free(&one);
    ref_case_free(c);
}

/* ---- path (PaTH attention) ------------------------------------------------------------------------------------- */

/* Hand-worked, H = 1, D = 2, three tokens at positions 0, 1, 2 (Lq = Lk: the factors are the tokens'). The raw w
 * rows are large (|w| = 1000 or 1000 sqrt 2) so that u = w / sqrt(|w|^2 + 1e-6) is the unit vector within 1e-13:
 *   token 0: u = (0, 1), b = 0 (beta = 1)   H0 = diag(1, 0)
 *   token 1: u = (1, 0), b = 0 (beta = 1)   H1 = diag(0, 1)
 *   token 2: u = (1, 1)/sqrt 2, b = 40 (beta = 2 - 8e-18)   H2 = [[0, -1], [-1, 0]]
 * q0 = (1, 0), q1 = (0, 1), q2 = (1, 2); k0 = (3, 4), k1 = (5, 6), k2 = (7, 8); every logit / sqrt 2:
 *   row 0: q0.k0 = 3                                 (keys 1, 2 after the query: -inf)
 *   row 1: q1.H1 k0 = (0, 1).(0, 4) = 4, q1.k1 = 6
 *   row 2: q2.H2 H1 k0 = q2.H2 (0, 4) = (1, 2).(-4, 0) = -4, q2.H2 k1 = (1, 2).(-6, -5) = -16, q2.k2 = 23
 * Catches: the product reversed (path_reflections_reversed: row 2 key 0 gets q2.H1 H2 k0 = -6), the key's own factor
 * included (path_range_includes_key: row 2 gets 0 and -6, row 1 gets 0 and 0), the query's own factor left out (row
 * 2 key 0: 8), beta taken as sigmoid (not 2 sigmoid) or w not normalised. */
Test(t2scores, path_known_answer_d2)
{
    const double r2 = sqrt(2.0), NI = -INFINITY;
    double q[6] = {1, 0, 0, 1, 1, 2}, k[6] = {3, 4, 5, 6, 7, 8};
    double w[9] = {0, 1000, 0, 1000, 0, 0, 1000, 1000, 40}; /* [H*L][D+1]: token t's raw w and b */
    double pos[3] = {0, 1, 2};
    double want[9] = {3 / r2, NI, NI, 4 / r2, 6 / r2, NI, -4 / r2, -16 / r2, 23 / r2};
    scores_io s = {.H = 1, .D = 2, .Lq = 3, .Lk = 3, .wr = 3, .wc = 3, .q = q, .k = k, .qpos = pos, .kpos = pos, .w = w};
    pecs_case *c = ref_case("path", NULL);
    double r[9], f[9];
    ref_scores(c, &s, r);
    expect_close("path reference", 0, r, want, 9, 1e-9);
    scalar_scores(c, &s, f);
    expect_close("path scalar", 0, f, want, 9, 1e-5);
    ref_case_free(c);
}

/* The two algorithms agree on random data (H 2, D 8, L 12, positions from 100): the reference's explicit D x D
 * products and the scalar kernel's reflections of the query, one per key. Then two properties on the reference:
 * b = -40 (beta ~ 4e-18) leaves every factor the identity, so the logits are the plain causal q.k / sqrt(D); and two
 * consecutive tokens with the same w and b = 40 (beta = 2: H_t H_t = I for a unit u) cancel, so for every key before
 * them the logits of the queries after them equal those with both factors turned off (b = -40). A reversed or
 * shifted product breaks the first; a beta not doubled, or u not normalised, breaks the second. */
Test(t2scores, path_scalar_equals_explicit_product_and_properties)
{
    int64_t H = 2, D = 8, L = 12, n = H * L * L;
    scores_io s = random_io(H, D, L, L, 100, 100, H * L, D + 1, 91);
    pecs_case *c = ref_case("path", NULL);
    double *r = dalloc(n), *f = dalloc(n), *r2 = dalloc(n);
    ref_scores(c, &s, r);
    scalar_scores(c, &s, f);
    expect_close("path scalar vs explicit product", 0, f, r, n, 2e-5);
    for (int64_t e = 0; e < H * L; e++)
        s.w[e * (D + 1) + D] = -40.0;
    ref_scores(c, &s, r);
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) {
                double dot = 0.0, o = r[(h * L + i) * L + j];
                for (int64_t d = 0; d < D; d++)
                    dot += s.q[(i * H + h) * D + d] * s.k[(j * H + h) * D + d];
                if (j > i)
                    cr_assert(isinf(o) && o < 0, "(%lld, %lld, %lld) after the query: %g", (long long)h, (long long)i,
                              (long long)j, o);
                else
                    cr_assert(fabs(o - dot / sqrt((double)D)) < 1e-12, "beta = 0: %.17g vs %.17g", o, dot / sqrt((double)D));
            }
    int64_t t = 5; /* tokens 5 and 6 share w (scaled by 1000: l2_norm's eps leaves |u|^2 = 1 - 1e-12); b = 40 cancels */
    for (int64_t h = 0; h < H; h++)
        for (int64_t d = 0; d < D; d++)
            s.w[(h * L + t + 1) * (D + 1) + d] = s.w[(h * L + t) * (D + 1) + d] *= 1000.0;
    ref_scores(c, &s, r2); /* both off */
    for (int64_t h = 0; h < H; h++)
        s.w[(h * L + t) * (D + 1) + D] = s.w[(h * L + t + 1) * (D + 1) + D] = 40.0;
    ref_scores(c, &s, r);
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = t + 1; i < L; i++)
            for (int64_t j = 0; j < t; j++) {
                double a = r[(h * L + i) * L + j], b = r2[(h * L + i) * L + j];
                cr_assert(fabs(a - b) < 1e-9, "H_t H_t = I: (%lld, %lld, %lld) %.17g vs %.17g", (long long)h,
                          (long long)i, (long long)j, a, b);
            }
    double moved = 0.0; /* the key between them sees one reflection: it must move */
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = t + 1; i < L; i++)
            moved = fmax(moved, fabs(r[(h * L + i) * L + t] - r2[(h * L + i) * L + t]));
    cr_assert(moved > 1e-3, "the key between the two factors sees one reflection: max change %g", moved);
    free(r), free(f), free(r2);
    io_free(&s);
    ref_case_free(c);
}

/* Bad input is an invalid problem with the reason: queries and keys of different lengths (the factors are the
 * tokens of one sequence), key positions not strictly increasing (the product is ordered by token); the scalar
 * kernel refuses the same problems. w is [H*L, D+1]. */
Test(t2scores, path_bad_input_and_weights_shape)
{
    pecs_case *c = ref_case("path", NULL);
    scores_io s = random_io(1, 4, 3, 4, 0, 0, 3, 5, 7);
    expect_one_sequence(c, 21, 21, &s, "Lq");
    io_free(&s);
    double out[16];
    pecs_tensor t[6];
    char why[256] = "";
    pecs_problem p;
    s = random_io(1, 4, 3, 3, 0, 0, 3, 5, 8);
    s.kpos[2] = 1; /* a repeat */
    p = make_problem(c, PECS_DT_F64, t, &s, s.q, s.k, s.w, out);
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "increase"), "%s", why);
    pecs_loaded_backend *lb = ref_scalar_backend();
    float *qf = to_f32(s.q, 12), *kf = to_f32(s.k, 12), *wf = to_f32(s.w, 15), of[9];
    p = make_problem(c, PECS_DT_F32, t, &s, qf, kf, wf, of);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_INVALID);
    free(qf), free(kf), free(wf);
    io_free(&s);
    ref_case_free(c);
}

/* ---- bros.crel ---------------------------------------------------------------------------------------- */

/* A bros.crel problem: q [Lq,H,D], k, qpos [8, Lq], kpos [8, Lk] (box coordinates), w [8m, D], out [H,Lq,Lk];
 * through the reference (dt f64) or the scalar backend (dt f32, inputs rounded first). Returns the run's status. */
static pecs_status bros_run(const pecs_case *c, const scores_io *s, int scalar, double *out)
{
    int64_t n = s->H * s->Lq * s->Lk, nq = s->Lq * s->H * s->D, nk = s->Lk * s->H * s->D, nw = s->wr * s->wc;
    float *qf = to_f32(s->q, nq), *kf = to_f32(s->k, nk), *wf = to_f32(s->w, nw), *of = malloc((size_t)n * sizeof *of);
    cr_assert_not_null(of);
    pecs_dtype dt = scalar ? PECS_DT_F32 : PECS_DT_F64;
    pecs_problem p = ref_problem(c);
    pecs_tensor t[6] = {ref_tensor("q", dt, 3, s->Lq, s->H, s->D, scalar ? (void *)qf : s->q),
                        ref_tensor("k", dt, 3, s->Lk, s->H, s->D, scalar ? (void *)kf : s->k),
                        ref_tensor("qpos", PECS_DT_F64, 2, 8, s->Lq, 0, s->qpos),
                        ref_tensor("kpos", PECS_DT_F64, 2, 8, s->Lk, 0, s->kpos),
                        ref_tensor("w", dt, 2, s->wr, s->wc, 0, scalar ? (void *)wf : s->w),
                        ref_tensor("out", dt, 3, s->H, s->Lq, s->Lk, scalar ? (void *)of : out)};
    p.dtype = dt, p.tensors = t, p.n_tensors = 6;
    char why[256] = "";
    pecs_status st;
    if (scalar) {
        pecs_loaded_backend *lb = ref_scalar_backend();
        cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support bros.crel: %s", why);
        st = lb->b->run(lb->b->ctx, &p);
        for (int64_t i = 0; st == PECS_OK && i < n; i++)
            out[i] = of[i];
    } else
        st = pecs_ref_run(&p, why, sizeof why);
    free(qf), free(kf), free(wf), free(of);
    return st;
}

/* Worked by hand: H = 1, D = 64, m = sinusoid_dim = 2 (one sine and one cosine per coordinate, inv_0 = 1): w [16, 64]
 * with row 2c the sine and row 2c+1 the cosine of coordinate c. Only column 0 of w is set: w[0][0] = 1 (coordinate
 * 0's sine), w[3][0] = 2 (coordinate 1's cosine); q = e_0; bbox_scale = pi/2. The query's box is all zeros.
 *   key 0: box all zeros, k = 0:          delta = 0:   P[0] = 1 sin 0 + 2 cos 0 = 2            out = (0 + 2)/8 = 1/4
 *   key 1: coordinates 1, 2, rest 0, k = 5 e_0:  delta_0 = pi/2, delta_1 = pi:  P[0] = 1 sin(pi/2) + 2 cos(pi) = -1
 *                                                                                  out = (5 - 1)/8 = 1/2
 * Catches the difference taken query minus key (key 1: sin(-pi/2), P[0] = -3, out 1/4), the scale left out (key 1:
 * P[0] = sin 1 + 2 cos 2), sine and cosine swapped, and the 1/sqrt(D) applied to q.k only. */
Test(t2scores, bros_crel_known_answer)
{
    scores_io s = {.H = 1, .D = 64, .Lq = 1, .Lk = 2, .wr = 16, .wc = 64};
    s.q = dalloc(64), s.k = dalloc(128), s.w = dalloc(16 * 64), s.qpos = dalloc(8), s.kpos = dalloc(16);
    s.q[0] = 1, s.k[64] = 5, s.w[0 * 64] = 1, s.w[3 * 64] = 2;
    s.kpos[0 * 2 + 1] = 1, s.kpos[1 * 2 + 1] = 2; /* kpos[c][j]: key 1's coordinates 0 and 1 */
    char scale[64];
    snprintf(scale, sizeof scale, "%.17g", M_PI / 2);
    pecs_case *c = ref_case("bros.crel", "bbox_scale", scale, "sinusoid_dim", "2", NULL);
    double r[2], f[2], want[2] = {0.25, 0.5};
    cr_assert_eq(bros_run(c, &s, 0, r), PECS_OK);
    expect_close("bros.crel reference", 0, r, want, 2, 1e-14);
    cr_assert_eq(bros_run(c, &s, 1, f), PECS_OK);
    expect_close("bros.crel scalar", 0, f, want, 2, 1e-6);
    ref_case_free(c);
    io_free(&s);
}

/* Properties on random data (H = 2, D = 32, m = 2: w [16, 32]; 5 queries, 7 keys, random boxes): the scalar kernel agrees
 * with the reference; moving every box (queries' and keys') by the same amount on every coordinate changes nothing
 * (the encoding reads key - query only: a kernel that embeds absolute boxes fails); with w = 0 the logits are
 * q.k/sqrt(D); and the box term is shared by the heads: with the heads' q and k equal, the heads' logits are equal
 * (a kernel that slices the projection per head fails). */
Test(t2scores, bros_crel_relative_shared_and_reduces_to_qk)
{
    const int64_t H = 2, D = 32, Lq = 5, Lk = 7, N = H * Lq * Lk;
    scores_io s = random_io(H, D, Lq, Lk, 0, 0, H * D / 4, D, 11);
    free(s.qpos), free(s.kpos);
    s.qpos = dalloc(8 * Lq), s.kpos = dalloc(8 * Lk);
    fill(s.qpos, 8 * Lq, 12), fill(s.kpos, 8 * Lk, 13);
    for (int64_t e = 0; e < 8 * Lq; e++)
        s.qpos[e] = floor(50 * s.qpos[e]);
    for (int64_t e = 0; e < 8 * Lk; e++)
        s.kpos[e] = floor(50 * s.kpos[e]);
    pecs_case *c = ref_case("bros.crel", "bbox_scale", "0.5", "sinusoid_dim", "2", NULL);
    double *r = dalloc(N), *f = dalloc(N), *o = dalloc(N);
    cr_assert_eq(bros_run(c, &s, 0, r), PECS_OK);
    cr_assert_eq(bros_run(c, &s, 1, f), PECS_OK);
    for (int64_t e = 0; e < N; e++)
        cr_assert(fabs(f[e] - r[e]) <= 1e-5 * (1 + fabs(r[e])), "scalar %lld: %.9g vs %.17g", (long long)e, f[e], r[e]);
    for (int64_t e = 0; e < 8 * Lq; e++)
        s.qpos[e] += 1000;
    for (int64_t e = 0; e < 8 * Lk; e++)
        s.kpos[e] += 1000;
    cr_assert_eq(bros_run(c, &s, 0, o), PECS_OK);
    for (int64_t e = 0; e < N; e++)
        cr_assert(fabs(o[e] - r[e]) <= 1e-9 * (1 + fabs(r[e])), "shifted boxes %lld: %.17g vs %.17g", (long long)e, o[e], r[e]);
    int box_term = 0; /* the positions matter at all */
    double *w0 = s.w;
    s.w = dalloc(s.wr * s.wc);
    cr_assert_eq(bros_run(c, &s, 0, o), PECS_OK);
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                double qk = 0;
                for (int64_t d = 0; d < D; d++)
                    qk += s.q[(i * H + h) * D + d] * s.k[(j * H + h) * D + d];
                int64_t e = (h * Lq + i) * Lk + j;
                cr_assert(fabs(o[e] - qk / sqrt((double)D)) <= 1e-12, "w = 0: %.17g vs %.17g", o[e], qk / sqrt((double)D));
                box_term |= fabs(r[e] - o[e]) > 1e-3;
            }
    cr_assert(box_term, "the box term never mattered");
    free(s.w);
    s.w = w0;
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t d = 0; d < D; d++)
            s.q[(i * H + 1) * D + d] = s.q[(i * H) * D + d];
    for (int64_t j = 0; j < Lk; j++)
        for (int64_t d = 0; d < D; d++)
            s.k[(j * H + 1) * D + d] = s.k[(j * H) * D + d];
    cr_assert_eq(bros_run(c, &s, 0, o), PECS_OK);
    cr_assert_eq(bros_run(c, &s, 1, f), PECS_OK);
    for (int64_t e = 0; e < Lq * Lk; e++) {
        cr_assert(fabs(o[e] - o[Lq * Lk + e]) <= 1e-12, "heads differ (reference) at %lld", (long long)e);
        cr_assert(fabs(f[e] - f[Lq * Lk + e]) <= 1e-5 * (1 + fabs(f[e])), "heads differ (scalar) at %lld", (long long)e);
    }
    free(r), free(f), free(o);
    ref_case_free(c);
    io_free(&s);
}

/* An odd sinusoid_dim (its [sin | cos] would not fill the projection's 8m inputs) and positions without the 8
 * coordinate rows are refused: by the reference with the reason, at case load, and by the scalar kernel. */
Test(t2scores, bros_crel_rejects_odd_widths_and_one_row_positions)
{
    scores_io s = random_io(1, 8, 1, 1, 0, 0, 24, 8, 3); /* w [8 * 3, 8] */
    free(s.qpos), free(s.kpos);
    s.qpos = dalloc(8), s.kpos = dalloc(8);
    pecs_case *c = ref_case("bros.crel", "sinusoid_dim", "3", NULL);
    double out[1];
    cr_expect_eq(bros_run(c, &s, 0, out), PECS_INVALID);
    char why[256] = "";
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "even sinusoid_dim"), "%s", why);
    cr_assert_eq(pecs_case_set(c, "sinusoid_dim", "2", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    /* one-row positions: the scalar kernel refuses */
    io_free(&s);
    s = random_io(1, 8, 1, 1, 0, 0, 16, 8, 3);
    pecs_tensor t[6];
    float *q = to_f32(s.q, 8), *k = to_f32(s.k, 8), *w = to_f32(s.w, 16 * 8), of[1];
    pecs_problem p = make_problem(c, PECS_DT_F32, t, &s, q, k, w, of);
    pecs_loaded_backend *lb = ref_scalar_backend();
    cr_expect_eq(lb->b->run(lb->b->ctx, &p), PECS_INVALID);
    free(q), free(k), free(w);
    ref_case_free(c);
    io_free(&s);
}
