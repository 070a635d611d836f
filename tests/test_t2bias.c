/* tests/test_t2bias.c — known answers and properties of the tier-2 bias encodings (alibi.pi, mpnet, bam, masa,
 * irpe, positional_attention; positional_attention's known answer is worked by hand in its section, not a KAT file).
 *
 * Known answers come from tests/data/kat/t2bias.json, written by tests/kat/gen_kat_t2bias.py: independent Python
 * transcriptions of the authors' or the canonical code (sources in each section and in the reference headers).
 * The reference is checked against them in double, the scalar backend (impls/scalar/bias.c, a second code) in
 * float32. Each test names the plausible wrong implementation it catches and shows that it would miss the known
 * answers (the mutants in impls/mutants carry the same bugs).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "reference.h"
#include "refutil.h"
#include "katutil.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------------------ */

static json_t *g_kat;

static json_t *kat(const char *section) { return kat_section(&g_kat, "t2bias.json", section); }

/* out[h][i][j] of a [H][Lq][Lk] KAT array. */
static double jbias(json_t *b, int64_t h, int64_t i, int64_t j)
{
    return json_number_value(json_array_get(json_array_get(json_array_get(b, (size_t)h), (size_t)i), (size_t)j));
}

/* A list of numbers as a parameter value "a,b,c". */
static void set_list(pecs_case *c, const char *k, json_t *arr)
{
    char buf[512] = "";
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(arr); i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%.17g", i ? "," : "", json_number_value(json_array_get(arr, i)));
    char why[256] = "";
    cr_assert_eq(pecs_case_set(c, k, buf, why, sizeof why), PECS_OK, "set %s=%s: %s", k, buf, why);
}

static void set(pecs_case *c, const char *k, const char *v)
{
    char why[256] = "";
    cr_assert_eq(pecs_case_set(c, k, v, why, sizeof why), PECS_OK, "set %s=%s: %s", k, v, why);
}

static void setf(pecs_case *c, const char *k, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    set(c, k, buf);
}


/* A bias problem: H heads over qpos[Lq] x kpos[Lk] (f64 positions), the table w [wr, wc] when wr > 0. */
typedef struct bias_io {
    int64_t H, Lq, Lk, wr, wc;
    const double *qpos, *kpos, *w;
} bias_io;

/* The reference into out[H*Lq*Lk]; returns its status (why gets the reason). */
static pecs_status ref_bias(const pecs_case *c, const bias_io *b, double *out, char *why, size_t why_len)
{
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {ref_tensor("qpos", PECS_DT_F64, 1, b->Lq, 0, 0, (void *)(uintptr_t)b->qpos),
                        ref_tensor("kpos", PECS_DT_F64, 1, b->Lk, 0, 0, (void *)(uintptr_t)b->kpos),
                        ref_tensor("out", PECS_DT_F64, 3, b->H, b->Lq, b->Lk, out),
                        ref_tensor("w", PECS_DT_F64, 2, b->wr, b->wc, 0, (void *)(uintptr_t)b->w)};
    p.tensors = t, p.n_tensors = b->wr > 0 ? 4 : 3;
    return pecs_ref_run(&p, why, why_len);
}

static void ref_bias_ok(const pecs_case *c, const bias_io *b, double *out)
{
    char why[256] = "";
    cr_assert_eq(ref_bias(c, b, out, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

/* The built-in scalar backend on the same problem in float32 (the table rounded to f32 first). */
static void scalar_bias(const pecs_case *c, const bias_io *b, double *out)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    char why[256] = "";
    int64_t n = b->H * b->Lq * b->Lk, nw = b->wr * b->wc;
    float *of = malloc((size_t)n * sizeof *of), *wf = malloc((size_t)(nw > 0 ? nw : 1) * sizeof *wf);
    cr_assert(of && wf);
    for (int64_t i = 0; i < nw; i++)
        wf[i] = (float)b->w[i];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {ref_tensor("qpos", PECS_DT_F64, 1, b->Lq, 0, 0, (void *)(uintptr_t)b->qpos),
                        ref_tensor("kpos", PECS_DT_F64, 1, b->Lk, 0, 0, (void *)(uintptr_t)b->kpos),
                        ref_tensor("out", PECS_DT_F32, 3, b->H, b->Lq, b->Lk, of), ref_tensor("w", PECS_DT_F32, 2, b->wr, b->wc, 0, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = b->wr > 0 ? 4 : 3;
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support %s: %s", c->enc->id, why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < n; i++)
        out[i] = of[i];
    free(of);
    free(wf);
}

static double *dalloc(int64_t n)
{
    double *d = calloc((size_t)(n > 0 ? n : 1), sizeof *d);
    cr_assert_not_null(d);
    return d;
}

/* Positions 0..n-1 (raster indices of a grid, or token indices). */
static double *iota(int64_t n, double from)
{
    double *d = dalloc(n);
    for (int64_t i = 0; i < n; i++)
        d[i] = from + (double)i;
    return d;
}

/* A table whose entry (r, c) tells where it was read from: the output of a lookup is its index. */
static double *index_table(int64_t rows, int64_t cols)
{
    double *w = dalloc(rows * cols);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            w[r * cols + c] = (double)(r * cols + c);
    return w;
}

/* ---- alibi.pi ----------------------------------------------------------------------------------------- */

/* Cerebras' AlibiPositionEmbeddingLayer with alibi_scaling on 3 to 12 heads: a fixed factor, the dynamic rule
 * above and below train_seq_len, decode. Catches: the scale taken from the query length (cases 1 and 3 have
 * fewer queries than train_seq_len and more keys: shown to give another scale), a one-sided (causal) distance
 * (case 0 has keys after its queries), the slope multiplied by s instead of divided. */
Test(t2bias, kat_alibi_pi_cerebras)
{
    json_t *cases = jget(kat("alibi_pi"), "cases");
    cr_assert_eq(json_array_size(cases), 5);
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *qa = jget(cs, "qpos"), *ka = jget(cs, "kpos"), *want = jget(cs, "bias");
        bias_io b = {.H = jint(cs, "heads"), .Lq = (int64_t)json_array_size(qa), .Lk = (int64_t)json_array_size(ka)};
        double *q = dalloc(b.Lq), *kp = dalloc(b.Lk);
        for (int64_t i = 0; i < b.Lq; i++)
            q[i] = json_number_value(json_array_get(qa, (size_t)i));
        for (int64_t j = 0; j < b.Lk; j++)
            kp[j] = json_number_value(json_array_get(ka, (size_t)j));
        b.qpos = q, b.kpos = kp;
        pecs_case *c = ref_case("alibi.pi", NULL);
        setf(c, "factor", jreal(cs, "factor"));
        setf(c, "train_seq_len", jreal(cs, "train_seq_len"));
        int64_t n = b.H * b.Lq * b.Lk;
        double *r = dalloc(n), *f = dalloc(n);
        ref_bias_ok(c, &b, r);
        scalar_bias(c, &b, f);
        for (int64_t h = 0; h < b.H; h++)
            for (int64_t i = 0; i < b.Lq; i++)
                for (int64_t j = 0; j < b.Lk; j++) {
                    double w = jbias(want, h, i, j), got = r[(h * b.Lq + i) * b.Lk + j], sc = f[(h * b.Lq + i) * b.Lk + j];
                    cr_assert(fabs(got - w) <= 1e-14 * fabs(w) + 1e-15, "case %zu h%lld (%lld,%lld): %.17g vs %.17g", k,
                              (long long)h, (long long)i, (long long)j, got, w);
                    cr_assert(fabs(sc - w) <= 2e-6 * fabs(w) + 1e-6, "scalar case %zu: %.9g vs %.9g", k, sc, w);
                }
        double train = jreal(cs, "train_seq_len");
        if (k == 1 || k == 3) { /* the query-length bug would use another scale here */
            double wrong = (double)b.Lq > train ? (double)b.Lq / train : 1.0;
            cr_assert(fabs(wrong - jreal(cs, "scale")) > 0.5, "case %zu does not separate key and query length", k);
        }
        free(q), free(kp), free(r), free(f);
        ref_case_free(c);
    }
}

/* The configuration rules the Cerebras validator enforces are refusals, not silent defaults. */
Test(t2bias, alibi_pi_rejects_what_the_validator_rejects)
{
    double q = 0, k = 1, out[1];
    bias_io b = {.H = 1, .Lq = 1, .Lk = 1, .qpos = &q, .kpos = &k};
    char why[256] = "";
    pecs_case *c = ref_case("alibi.pi", "factor", "1", NULL);
    cr_expect_eq(ref_bias(c, &b, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "factor must be > 1"), "%s", why);
    ref_case_free(c);
    c = ref_case("alibi.pi", "train_seq_len", "1", NULL);
    cr_expect_eq(ref_bias(c, &b, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "train_seq_len must be > 1"), "%s", why);
    ref_case_free(c);
}

/* ---- mpnet -------------------------------------------------------------------------------------------- */

/* HF MPNet's relative_position_bucket for rel = key - query in -300..300 (32/128, 16/40, odd 33, 64/40), read
 * through an index table so the bias is the bucket. Catches the sign of rel swapped, the clamp missing (rel 300
 * > 128), the log denominator without max_exact, and T5's causal rule reused (shown to differ). And mpnet equals
 * the t5 reference with bidirectional=true bucket for bucket: the two are written from opposite signs. */
Test(t2bias, kat_mpnet_buckets_and_t5)
{
    json_t *cases = jget(kat("mpnet"), "cases");
    double q = 300, *kp = iota(601, 0), r[601], f[601], t[601], tc[601];
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *want = jget(cs, "buckets");
        int64_t nb = jint(cs, "num_buckets"), md = jint(cs, "max_distance");
        double *w = index_table(nb, 1);
        bias_io b = {.H = 1, .Lq = 1, .Lk = 601, .qpos = &q, .kpos = kp, .w = w, .wr = nb, .wc = 1};
        pecs_case *c = ref_case("mpnet", NULL), *t5 = ref_case("t5", NULL), *t5c = ref_case("t5", "bidirectional", "false", NULL);
        setf(c, "num_buckets", (double)nb), setf(c, "max_distance", (double)md);
        setf(t5, "num_buckets", (double)nb), setf(t5, "max_distance", (double)md);
        setf(t5c, "num_buckets", (double)nb), setf(t5c, "max_distance", (double)md);
        ref_bias_ok(c, &b, r);
        scalar_bias(c, &b, f);
        ref_bias_ok(t5, &b, t);
        int causal_differs = 0;
        char why[256] = "";
        int causal_ok = ref_bias(t5c, &b, tc, why, sizeof why) == PECS_OK; /* 16/40 has no causal form: max_exact 8 */
        for (int j = 0; j < 601; j++) {
            double bk = json_number_value(json_array_get(want, (size_t)j));
            cr_assert_eq(r[j], bk, "nb %lld md %lld rel %d: %g vs %g", (long long)nb, (long long)md, j - 300, r[j], bk);
            cr_assert_eq(f[j], bk, "scalar nb %lld rel %d: %g vs %g", (long long)nb, j - 300, f[j], bk);
            cr_assert_eq(t[j], r[j], "t5 bidirectional and mpnet disagree at rel %d: %g vs %g", j - 300, t[j], r[j]);
            causal_differs |= causal_ok && tc[j] != bk;
        }
        cr_assert(causal_differs || !causal_ok, "T5's causal rule matched MPNet's buckets (nb %lld)", (long long)nb);
        ref_case_free(c), ref_case_free(t5), ref_case_free(t5c);
        free(w);
    }
    free(kp);
}

/* ---- bam ---------------------------------------------------------------------------------------------- */

/* BAM's AttentionPrior on 6 tokens and 4 heads: the 'slope' init (theta_alpha = ALiBi slopes, scale
 * exp(slope)) and learned-like values with negative shapes and offsets. Catches the scale taken as theta_alpha
 * itself, the offset subtracted from i - j (the README's formula) instead of j - i (the code), shown to differ
 * exactly where theta_mu != 0, and a missing eps (the diagonal of head 0 is -(1e-5)^beta * exp(alpha), not 0). */
Test(t2bias, kat_bam_attention_prior)
{
    json_t *cases = jget(kat("bam"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *want = jget(cs, "bias");
        int64_t L = jint(cs, "seq_len"), H = 4, n = H * L * L;
        double *pos = iota(L, 0), *r = dalloc(n), *f = dalloc(n);
        bias_io b = {.H = H, .Lq = L, .Lk = L, .qpos = pos, .kpos = pos};
        pecs_case *c = ref_case("bam", NULL);
        if (k > 0) /* case 0 leaves theta_alpha empty: the slope init */
            set_list(c, "theta_alpha", jget(cs, "theta_alpha"));
        set_list(c, "theta_beta", jget(cs, "theta_beta"));
        set_list(c, "theta_mu", jget(cs, "theta_mu"));
        ref_bias_ok(c, &b, r);
        scalar_bias(c, &b, f);
        int readme_differs = 0;
        for (int64_t h = 0; h < H; h++) {
            double al = json_number_value(json_array_get(jget(cs, "theta_alpha"), (size_t)h));
            double be = json_number_value(json_array_get(jget(cs, "theta_beta"), (size_t)h));
            double mu = json_number_value(json_array_get(jget(cs, "theta_mu"), (size_t)h)), m = exp(mu) - exp(-mu);
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < L; j++) {
                    double w = jbias(want, h, i, j), got = r[(h * L + i) * L + j];
                    cr_assert(fabs(got - w) <= 1e-13 * fabs(w), "case %zu h%lld (%lld,%lld): %.17g vs %.17g", k, (long long)h,
                              (long long)i, (long long)j, got, w);
                    cr_assert(fabs(f[(h * L + i) * L + j] - w) <= 3e-6 * fabs(w), "scalar case %zu: %.9g vs %.9g", k,
                              f[(h * L + i) * L + j], w);
                    double readme = -pow(fabs((double)(i - j) - m) + 1e-5, be) * exp(al);
                    readme_differs |= fabs(readme - w) > 1e-9 * fabs(w);
                    if (mu == 0.0)
                        cr_assert(fabs(readme - w) <= 1e-13 * fabs(w), "README and code differ with mu = 0");
                    if (k == 0)
                        cr_assert(fabs(-pow(fabs((double)(j - i)) + 1e-5, be) * al - w) > 1e-3 * fabs(w),
                                  "the scale taken as theta_alpha would pass");
                }
        }
        cr_assert_eq(readme_differs, k > 0, "case %zu: the README form %s", k, k > 0 ? "matched" : "differed");
        free(pos), free(r), free(f);
        ref_case_free(c);
    }
}

/* ---- masa --------------------------------------------------------------------------------------------- */

/* RMT's RetNetRelPos2d on 3x4 (heads_range 4) and 2x5 (heads_range 6) grids over raster positions. Catches the
 * distance taken on the raster index (RetNet's 1-D decay: token (1,0) would be W away from (0,0), not 1), the
 * decay exponent over H-1 heads instead of H, and log(gamma) replaced by gamma. */
Test(t2bias, kat_masa_manhattan_decay)
{
    json_t *cases = jget(kat("masa"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *want = jget(cs, "bias");
        int64_t Wd = jint(cs, "width"), L = jint(cs, "height") * Wd, H = jint(cs, "heads"), n = H * L * L;
        double *pos = iota(L, 0), *r = dalloc(n), *f = dalloc(n);
        bias_io b = {.H = H, .Lq = L, .Lk = L, .qpos = pos, .kpos = pos};
        pecs_case *c = ref_case("masa", NULL);
        setf(c, "width", (double)Wd), setf(c, "initial_value", jreal(cs, "initial_value"));
        setf(c, "heads_range", jreal(cs, "heads_range"));
        ref_bias_ok(c, &b, r);
        scalar_bias(c, &b, f);
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < L; j++) {
                    double w = jbias(want, h, i, j), got = r[(h * L + i) * L + j];
                    cr_assert(fabs(got - w) <= 1e-13 * fabs(w) + 1e-15, "case %zu h%lld (%lld,%lld): %.17g vs %.17g", k,
                              (long long)h, (long long)i, (long long)j, got, w);
                    cr_assert(fabs(f[(h * L + i) * L + j] - w) <= 2e-6 * fabs(w) + 1e-7, "scalar case %zu", k);
                }
        /* raster distance: (0,0) to (1,0) is W on the raster index, 1 in Manhattan distance */
        cr_assert(fabs(jbias(want, 0, 0, Wd) - jbias(want, 0, 0, 1)) < 1e-15 && Wd > 1,
                  "one row down and one column across must decay alike");
        free(pos), free(r), free(f);
        ref_case_free(c);
    }
}

/* ---- irpe --------------------------------------------------------------------------------------------- */

/* The iRPE bucket ids of a 7x9 grid for the product, Euclidean and quantization methods at ratios 1.9 (the
 * authors' configs: 49 / 7 buckets) and 2.5 (121 / 11), and at alpha 1, beta 4, gamma 16 (81 / 9), read through
 * an index table. Catches rows and columns swapped in the product bucket (shown to differ), C's round() instead
 * of torch's half-to-even (the last configuration has an exact tie: offset 4 gives 2.5, which must index 2, not
 * 3), and the offset taken as key - query (the product ids are not symmetric). */
Test(t2bias, kat_irpe_buckets)
{
    json_t *cases = jget(kat("irpe"), "cases");
    cr_assert_eq(json_array_size(cases), 9);
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *want = jget(cs, "buckets");
        int64_t Wd = jint(cs, "width"), L = jint(cs, "height") * Wd, nb = jint(cs, "num_buckets");
        const char *method = json_string_value(jget(cs, "method"));
        double *pos = iota(L, 0), *w = index_table(1, nb), *r = dalloc(L * L), *f = dalloc(L * L);
        bias_io b = {.H = 1, .Lq = L, .Lk = L, .qpos = pos, .kpos = pos, .w = w, .wr = 1, .wc = nb};
        pecs_case *c = ref_case("irpe", "method", method, NULL);
        setf(c, "alpha", jreal(cs, "alpha")), setf(c, "beta", jreal(cs, "beta")), setf(c, "gamma", jreal(cs, "gamma"));
        setf(c, "width", (double)Wd), setf(c, "num_buckets", (double)nb);
        ref_bias_ok(c, &b, r);
        scalar_bias(c, &b, f);
        int64_t S = (int64_t)sqrt((double)nb), swapped_differs = 0;
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) {
                double id = json_number_value(json_array_get(json_array_get(want, (size_t)i), (size_t)j));
                cr_assert_eq(r[i * L + j], id, "%s ratio %g (%lld,%lld): %g vs %g", method, jreal(cs, "alpha"), (long long)i,
                             (long long)j, r[i * L + j], id);
                cr_assert_eq(f[i * L + j], id, "scalar %s (%lld,%lld): %g vs %g", method, (long long)i, (long long)j,
                             f[i * L + j], id);
                int64_t b = (int64_t)id;
                swapped_differs |= !strcmp(method, "product") && (b % S) * S + b / S != b;
            }
        cr_assert(strcmp(method, "product") || swapped_differs, "the swapped product layout would pass");
        free(pos), free(w), free(r), free(f);
        ref_case_free(c);
    }
}

/* num_buckets must be the table the authors' get_num_buckets gives; alpha <= beta < gamma keep indices inside. */
Test(t2bias, irpe_rejects_inconsistent_tables)
{
    double q = 0, k = 1, out[1], w[64] = {0};
    bias_io b = {.H = 1, .Lq = 1, .Lk = 1, .qpos = &q, .kpos = &k, .w = w, .wr = 1, .wc = 49};
    char why[256] = "";
    pecs_case *c = ref_case("irpe", "method", "euclidean", NULL); /* 7 buckets, the table has 49 */
    cr_expect_eq(ref_bias(c, &b, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "set num_buckets: 7"), "%s", why);
    ref_case_free(c);
    c = ref_case("irpe", "alpha", "5", "beta", "3.8", NULL);
    cr_expect_eq(ref_bias(c, &b, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "alpha <= beta"), "%s", why);
    ref_case_free(c);
}

/* ---- invariance per axis ----------------------------------------------------------------------------- */

/* masa and irpe on raster positions: shifting every position by a multiple of the width (whole rows) leaves the
 * bias unchanged, a shift by one token does not (it moves tokens across row ends): the invariance the registry
 * declares is per axis, and the suites sweep whole rows. */
Test(t2bias, masa_irpe_invariant_under_row_shifts_only)
{
    const char *ids[] = {"masa", "irpe"};
    int64_t W = 4, L = 12, n = 2 * L * L;
    double *w = index_table(2, 49);
    for (int e = 0; e < 2; e++) {
        pecs_case *c = ref_case(ids[e], "width", "4", NULL);
        double *base = dalloc(n), *o = dalloc(n);
        double *p0 = iota(L, 3);
        bias_io b = {.H = 2, .Lq = L, .Lk = L, .qpos = p0, .kpos = p0, .w = w, .wr = e ? 2 : 0, .wc = 49};
        ref_bias_ok(c, &b, base);
        const double shifts[] = {4, 4096, 1048576, 1};
        for (int s = 0; s < 4; s++) {
            double *ps = iota(L, 3 + shifts[s]);
            b.qpos = b.kpos = ps;
            ref_bias_ok(c, &b, o);
            int same = !memcmp(o, base, (size_t)n * sizeof *o);
            cr_assert_eq(same, fmod(shifts[s], (double)W) == 0.0, "%s shift %g: %s", ids[e], shifts[s],
                         same ? "unchanged" : "changed");
            free(ps);
        }
        free(p0), free(base), free(o);
        ref_case_free(c);
    }
    free(w);
}

/* ---- positional_attention ----------------------------------------------------------------------------- */

/* w [n+1, 2nH] for n = 2, H = 2, worked by hand (reference/positional_attention.c): head h's q at columns 4h, 4h+1,
 * its k at 4h+2, 4h+3; rows 0 and 1 are the one-hot positions' rows of qk_proj's weight (transposed), row 2 its bias.
 *   head 0: Q(0) = [1 0] + [1 -1] = [2 -1]  Q(1) = [0 3] + [1 -1] = [1 2]
 *           K(0) = [2 1] + [0 1]  = [2 2]   K(1) = [-1 1] + [0 1] = [-1 2]
 *   head 1: Q(0) = [0 1]  Q(1) = [1 1]  (bias 0)     K(0) = [1 0] + [1 0] = [2 0]  K(1) = [0 2] + [1 0] = [1 2]
 * Queries at positions [1, 0], keys at [0, 1]; logits Q.K / sqrt(2). */
static const double PA_W[3 * 8] = {1, 0, 2, 1, /**/ 0, 1, 1, 0,  /* position 0 */
                                   0, 3, -1, 1, /**/ 1, 1, 0, 2, /* position 1 */
                                   1, -1, 0, 1, /**/ 0, 0, 1, 0}; /* qk_proj's bias */
static const double PA_Q[2] = {1, 0}, PA_K[2] = {0, 1};
/* out[h][i][j] * sqrt(2): head 0: Q(1).K(0) = 6, Q(1).K(1) = 3, Q(0).K(0) = 2, Q(0).K(1) = -4;
 *                         head 1: Q(1).K(0) = 2, Q(1).K(1) = 3, Q(0).K(0) = 0, Q(0).K(1) = 2 */
static const double PA_WANT[8] = {6, 3, 2, -4, /**/ 2, 3, 0, 2};

/* The logits of the PA_W problem with q and k read from `layout`'s columns: 0 = the code's [q_h | k_h] per head,
 * 1 = all heads' q then all heads' k (the split done before the per-head reshape: mutant pa_qk_blocks), 2 = the
 * halves swapped ([k_h | q_h]). */
static void pa_by_hand(int layout, int with_bias, double *out)
{
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int q0 = layout == 1 ? 2 * h : layout == 2 ? 4 * h + 2 : 4 * h;
                int k0 = layout == 1 ? 4 + 2 * h : layout == 2 ? 4 * h : 4 * h + 2, rq = (int)PA_Q[i], rk = (int)PA_K[j];
                double s = 0;
                for (int c = 0; c < 2; c++)
                    s += (PA_W[rq * 8 + q0 + c] + with_bias * PA_W[16 + q0 + c]) *
                         (PA_W[rk * 8 + k0 + c] + with_bias * PA_W[16 + k0 + c]);
                out[(h * 2 + i) * 2 + j] = s / sqrt(2.0);
            }
}

/* The hand-worked logits, from the reference (double) and the scalar kernel (f32). Catches: q and k split before
 * the per-head reshape, the bias row dropped, q and k read from each other's half (each shown to miss
 * the known answer here; the scale is pinned by the values themselves). */
Test(t2bias, positional_attention_known_answer)
{
    bias_io b = {.H = 2, .Lq = 2, .Lk = 2, .qpos = PA_Q, .kpos = PA_K, .w = PA_W, .wr = 3, .wc = 8};
    pecs_case *c = ref_case("positional_attention", "pos_dim", "2", NULL);
    double r[8], f[8], hand[8], wrong[8];
    ref_bias_ok(c, &b, r);
    scalar_bias(c, &b, f);
    pa_by_hand(0, 1, hand);
    for (int e = 0; e < 8; e++) {
        double want = PA_WANT[e] / sqrt(2.0);
        cr_assert(fabs(hand[e] - want) < 1e-15, "worked example %d: %.17g vs %.17g", e, hand[e], want);
        cr_assert(fabs(r[e] - want) <= 1e-15, "reference %d: %.17g vs %.17g", e, r[e], want);
        cr_assert(fabs(f[e] - want) <= 1e-6, "scalar %d: %.9g vs %.9g", e, f[e], want);
    }
    int differs[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) { /* blocked q | k layout, bias dropped, halves swapped */
        pa_by_hand(k == 0 ? 1 : k == 1 ? 0 : 2, k != 1, wrong);
        for (int e = 0; e < 8; e++)
            differs[k] |= fabs(wrong[e] - r[e]) > 0.1;
    }
    cr_assert(differs[0] && differs[1] && differs[2], "the example does not separate the wrong layouts: %d %d %d",
              differs[0], differs[1], differs[2]);
    ref_case_free(c);
}

/* A pseudo-random w [n+1, 2nH] in [-1, 1). */
static double *pa_random_w(int64_t n, int64_t H, unsigned seed)
{
    double *w = dalloc((n + 1) * 2 * n * H);
    for (int64_t e = 0; e < (n + 1) * 2 * n * H; e++) {
        seed = seed * 1103515245u + 12345u;
        w[e] = (double)((seed >> 8) & 0xffff) / 32768.0 - 1.0;
    }
    return w;
}

/* Properties of the one-hot Linear, on a random w (n = 5, H = 3, every slot as query and key):
 *   - moving a vector v from the bias row into every position row (w[p] -= v, w[n] += v) changes nothing: Q = P Wq + bq
 *     with P one-hot adds the bias row to exactly one weight row (a kernel that drops the bias, or adds it to
 *     K only, fails);
 *   - a head's logits read only that head's 2n columns: changing head 2's columns leaves heads 0 and 1 unchanged
 *     (a kernel that splits q | k before the per-head reshape reads other heads' columns, and fails);
 *   - scaling w by a scales the logits by a^2.
 * The reference and the scalar kernel both, the scalar kernel against the reference within f32 accuracy. */
Test(t2bias, positional_attention_one_hot_linear_properties)
{
    const int64_t n = 5, H = 3, L = 5, wc = 2 * n * H, N = H * L * L;
    double *w = pa_random_w(n, H, 7), *w2 = dalloc((n + 1) * wc), *pos = iota(L, 0);
    double *base = dalloc(N), *o = dalloc(N), *fs = dalloc(N);
    pecs_case *c = ref_case("positional_attention", "pos_dim", "5", NULL);
    bias_io b = {.H = H, .Lq = L, .Lk = L, .qpos = pos, .kpos = pos, .w = w, .wr = n + 1, .wc = wc};
    ref_bias_ok(c, &b, base);
    scalar_bias(c, &b, fs);
    for (int64_t e = 0; e < N; e++)
        cr_assert(fabs(fs[e] - base[e]) <= 1e-5 * (1 + fabs(base[e])), "scalar %lld: %.9g vs %.17g", (long long)e, fs[e],
                  base[e]);
    /* the bias row moved into the position rows */
    for (int64_t col = 0; col < wc; col++) {
        double v = 0.25 + 0.125 * (double)(col % 7);
        for (int64_t r = 0; r < n; r++)
            w2[r * wc + col] = w[r * wc + col] - v;
        w2[n * wc + col] = w[n * wc + col] + v;
    }
    b.w = w2;
    ref_bias_ok(c, &b, o);
    scalar_bias(c, &b, fs);
    for (int64_t e = 0; e < N; e++) {
        cr_assert(fabs(o[e] - base[e]) <= 1e-13, "bias moved, reference %lld: %.17g vs %.17g", (long long)e, o[e], base[e]);
        cr_assert(fabs(fs[e] - base[e]) <= 1e-5 * (1 + fabs(base[e])), "bias moved, scalar %lld", (long long)e);
    }
    /* head 2's columns changed */
    memcpy(w2, w, (size_t)((n + 1) * wc) * sizeof *w2);
    for (int64_t r = 0; r <= n; r++)
        for (int64_t col = 2 * n * 2; col < wc; col++)
            w2[r * wc + col] += 0.5;
    ref_bias_ok(c, &b, o);
    scalar_bias(c, &b, fs);
    int head2_changed = 0;
    for (int64_t e = 0; e < N; e++) {
        if (e < 2 * L * L) {
            cr_assert_eq(o[e], base[e], "head %lld changed with head 2's columns (reference)", (long long)(e / (L * L)));
            cr_assert(fabs(fs[e] - base[e]) <= 1e-5 * (1 + fabs(base[e])), "head %lld changed (scalar)", (long long)(e / (L * L)));
        } else
            head2_changed |= fabs(o[e] - base[e]) > 1e-3;
    }
    cr_assert(head2_changed, "head 2 did not read its own columns");
    /* scaling */
    for (int64_t e = 0; e < (n + 1) * wc; e++)
        w2[e] = -3.0 * w[e];
    ref_bias_ok(c, &b, o);
    for (int64_t e = 0; e < N; e++)
        cr_assert(fabs(o[e] - 9.0 * base[e]) <= 1e-12 * (1 + fabs(base[e])), "scaled %lld", (long long)e);
    free(w), free(w2), free(pos), free(base), free(o), free(fs);
    ref_case_free(c);
}

/* A position that is not a row of eye(pos_dim) (negative, pos_dim or beyond, fractional) is invalid input: the case
 * is refused at load with the reason, the reference and the scalar kernel return PECS_INVALID (no read outside w),
 * and a w of another shape is refused. */
Test(t2bias, positional_attention_rejects_positions_off_the_one_hot_rows)
{
    pecs_case *c = ref_case("positional_attention", "pos_dim", "4", NULL);
    double *w = pa_random_w(4, 1, 3), out[2];
    const double bad[] = {-1, 4, 1e9, 0.5};
    for (int k = 0; k < 4; k++) {
        double q[1] = {bad[k]}, kp[2] = {0, 3};
        bias_io b = {.H = 1, .Lq = 1, .Lk = 2, .qpos = q, .kpos = kp, .w = w, .wr = 5, .wc = 8};
        char why[256] = "";
        cr_expect_eq(ref_bias(c, &b, out, why, sizeof why), PECS_INVALID, "position %g", bad[k]);
        cr_expect(strstr(why, "integers in [0, 4)"), "%s", why);
        b.qpos = kp, b.kpos = q, b.Lq = 2, b.Lk = 1; /* as a key */
        cr_expect_eq(ref_bias(c, &b, out, why, sizeof why), PECS_INVALID, "key position %g", bad[k]);
        /* the scalar kernel */
        float of[2], wf[40];
        for (int e = 0; e < 40; e++)
            wf[e] = (float)w[e];
        pecs_problem p = ref_problem(c);
        pecs_tensor t[4] = {ref_tensor("qpos", PECS_DT_F64, 1, 1, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 2, 0, 0, kp),
                            ref_tensor("out", PECS_DT_F32, 3, 1, 1, 2, of), ref_tensor("w", PECS_DT_F32, 2, 5, 8, 0, wf)};
        p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 4;
        pecs_loaded_backend *lb = ref_scalar_backend();
        cr_expect_eq(lb->b->run(lb->b->ctx, &p), PECS_INVALID, "scalar, position %g", bad[k]);
    }
    /* at load: contig@0 over 5 slots with pos_dim 4 reaches position 4 */
    char why[256] = "";
    cr_assert_eq(pecs_case_set(c, "tokens", "5", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_case_set(c, "keys", "5", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "position 4 is not a row"), "%s", why);
    cr_assert_eq(pecs_case_set(c, "keys", "4", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_case_set(c, "tokens", "4", why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    /* w of another shape */
    double q[1] = {0}, kp[1] = {1};
    bias_io b = {.H = 1, .Lq = 1, .Lk = 1, .qpos = q, .kpos = kp, .w = w, .wr = 4, .wc = 8};
    cr_expect_eq(ref_bias(c, &b, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "[5, 8]"), "%s", why);
    free(w);
    ref_case_free(c);
}
