/* tests/test_t2embed.c — known answers and properties of the tier-2 embed encodings (ldpe, pia, fourier,
 * sigma_gpt, peg, graph.maglap).
 *
 * Known answers come from tests/data/kat/t2embed.json, written by tests/kat/gen_kat_t2embed.py: independent
 * Python transcriptions of the authors' code (sources in each section and in the reference headers). The
 * reference is checked against them in double, the scalar backend (impls/scalar/embed.c, a second code) in
 * float32, and the SIMD and OpenMP kernels (impls/simd/embed_body.h, where built) against the scalar output. Each test names the plausible wrong implementation it catches and shows that it would miss the known
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

static json_t *kat(const char *section) { return kat_section(&g_kat, "t2embed.json", section); }

/* P[t][d] of a [T][D] KAT array. */
static double jat(json_t *a, int64_t t, int64_t d)
{
    return json_number_value(json_array_get(json_array_get(a, (size_t)t), (size_t)d));
}

static void set(pecs_case *c, const char *k, const char *v)
{
    char why[256] = "";
    cr_assert_eq(pecs_case_set(c, k, v, why, sizeof why), PECS_OK, "set %s=%s: %s", k, v, why);
}

static void seti(pecs_case *c, const char *k, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    set(c, k, buf);
}

static pecs_tensor tens(const char *name, pecs_dtype dt, int64_t d0, int64_t d1, void *data)
{
    pecs_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name, t.dtype = dt, t.ndim = 2, t.data = data;
    t.shape[0] = d0, t.shape[1] = d1;
    t.stride[0] = d1, t.stride[1] = 1;
    return t;
}

static double *dalloc(int64_t n)
{
    double *d = calloc((size_t)(n > 0 ? n : 1), sizeof *d);
    cr_assert_not_null(d);
    return d;
}

/* An embed problem: x [T, D] (zeros when x is NULL, so out = P), positions pos [P, T] (P = 1 when 0), the
 * table w [wr, wc]. */
typedef struct embed_io {
    int64_t T, D, wr, wc;
    const double *pos, *x, *w;
    int64_t P;
} embed_io;

static int64_t rows_of(const embed_io *e) { return e->P > 0 ? e->P : 1; }

/* The reference into out[T*D]; returns its status (why gets the reason). */
static pecs_status ref_embed(const pecs_case *c, const embed_io *e, double *out, char *why, size_t why_len)
{
    double *x = dalloc(e->T * e->D);
    if (e->x)
        memcpy(x, e->x, (size_t)(e->T * e->D) * sizeof *x);
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {tens("x", PECS_DT_F64, e->T, e->D, x), tens("pos", PECS_DT_F64, rows_of(e), e->T, (void *)(uintptr_t)e->pos),
                        tens("out", PECS_DT_F64, e->T, e->D, out),
                        tens("w", PECS_DT_F64, e->wr, e->wc, (void *)(uintptr_t)e->w)};
    p.tensors = t, p.n_tensors = e->wr > 0 ? 4 : 3;
    pecs_status st = pecs_ref_run(&p, why, why_len);
    free(x);
    return st;
}

static void ref_embed_ok(const pecs_case *c, const embed_io *e, double *out)
{
    char why[256] = "";
    cr_assert_eq(ref_embed(c, e, out, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

/* The built-in backend `name` on the same problem in float32 (x and the table rounded to f32 first) into out;
 * returns its run status (NULL lb: loaded here; a backend that is not built is PECS_UNSUPPORTED). */
static pecs_status backend_embed(const char *name, const pecs_case *c, const embed_io *e, double *out)
{
    pecs_loaded_backend own, *lb = !strcmp(name, "scalar") ? ref_scalar_backend() : &own;
    char why[256] = "";
    if (lb == &own && (!strstr(pecs_builtin_list(), name) || pecs_backend_load(name, &own, why, sizeof why) != PECS_OK))
        return PECS_UNSUPPORTED;
    int64_t n = e->T * e->D, nw = e->wr * e->wc;
    float *xf = calloc((size_t)n, sizeof *xf), *of = malloc((size_t)n * sizeof *of),
          *wf = malloc((size_t)(nw > 0 ? nw : 1) * sizeof *wf);
    cr_assert(xf && of && wf);
    for (int64_t i = 0; e->x && i < n; i++)
        xf[i] = (float)e->x[i];
    for (int64_t i = 0; i < nw; i++)
        wf[i] = (float)e->w[i];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {tens("x", PECS_DT_F32, e->T, e->D, xf), tens("pos", PECS_DT_F64, rows_of(e), e->T, (void *)(uintptr_t)e->pos),
                        tens("out", PECS_DT_F32, e->T, e->D, of), tens("w", PECS_DT_F32, e->wr, e->wc, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = e->wr > 0 ? 4 : 3;
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "%s does not support %s: %s", name, c->enc->id, why);
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; i < n; i++)
        out[i] = of[i];
    free(xf), free(of), free(wf);
    if (lb == &own)
        pecs_backend_unload(&own);
    return st;
}

/* The built-in scalar backend on the same problem in float32. The SIMD and OpenMP kernels (where built) run it too
 * and must agree with the scalar output to the exact level's f32 budget, so the known answers each test checks on
 * the scalar output hold for them as well (catches, e.g., a SIMD kernel's dropped tail lanes: D 5 to 12 here is
 * mostly tail). */
static void scalar_embed_run(const pecs_case *c, const embed_io *e, double *out)
{
    static const char *const others[] = {"simd", "openmp"};
    cr_assert_eq(backend_embed("scalar", c, e, out), PECS_OK, "scalar run of %s", c->enc->id);
    double *o = dalloc(e->T * e->D);
    for (int k = 0; k < 2; k++) {
        pecs_status st = backend_embed(others[k], c, e, o);
        if (st == PECS_UNSUPPORTED)
            continue;
        cr_assert_eq(st, PECS_OK, "%s run of %s", others[k], c->enc->id);
        for (int64_t i = 0; i < e->T * e->D; i++)
            cr_assert(fabs(o[i] - out[i]) <= 1e-6 * (1.0 + fabs(out[i])), "%s %s [%lld]: %.9g, scalar %.9g", others[k],
                      c->enc->id, (long long)i, o[i], out[i]);
    }
    free(o);
}

/* Positions from, from+1, ... */
static double *iota(int64_t n, double from)
{
    double *d = dalloc(n);
    for (int64_t i = 0; i < n; i++)
        d[i] = from + (double)i;
    return d;
}

/* ---- ldpe --------------------------------------------------------------------------------------------- */

/* takase/control-length's LDPE on decoder inputs of lengths 0, 5, 75 and 300 (D 8, 9, 16, 6). Catches: the row
 * len - pos (the paper's len - pos read with 0-based positions: one row off everywhere), the interleaved
 * sin/cos layout of the paper's equation (the code's table is [sin | cos] halves), the denominator half instead
 * of half-1, and the pad row kept (the token at t = len would get the sinusoid of row 1, not zero). */
Test(t2embed, kat_ldpe_takase)
{
    json_t *cases = jget(kat("ldpe"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *want = jget(cs, "P");
        int64_t L = jint(cs, "length"), T = jint(cs, "tokens"), D = jint(cs, "dim"), half = D / 2;
        double *pos = iota(T, 0), *r = dalloc(T * D), *f = dalloc(T * D);
        embed_io e = {.T = T, .D = D, .pos = pos};
        pecs_case *c = ref_case("ldpe", NULL);
        seti(c, "length", L);
        ref_embed_ok(c, &e, r);
        scalar_embed_run(c, &e, f);
        int off_by_one = 0, interleaved = 0, zero_rows = 0;
        for (int64_t t = 0; t < T; t++) {
            double rowsq = 0.0;
            for (int64_t d = 0; d < D; d++) {
                double w = jat(want, t, d), got = r[t * D + d];
                rowsq += w * w;
                cr_assert(fabs(got - w) <= 1e-12, "case %zu t%lld d%lld: %.17g vs %.17g", k, (long long)t, (long long)d, got, w);
                cr_assert(fabs(f[t * D + d] - w) <= 2e-6, "scalar case %zu t%lld d%lld: %.9g vs %.9g", k, (long long)t,
                          (long long)d, f[t * D + d], w);
                /* the wrong rows: len - t, and the paper's interleaved layout */
                int64_t i = d < half ? d : d - half;
                double wi = pow(10000.0, -(double)i / (double)(half - 1)), m = (double)(L - t);
                double wrong = (D % 2 && d == D - 1) ? 0.0 : d < half ? sin(m * wi) : cos(m * wi);
                off_by_one |= fabs(wrong - w) > 1e-3;
                double wi2 = pow(10000.0, -(double)(d - d % 2) / (double)D), m2 = (double)(L + 1 - t);
                interleaved |= fabs((d % 2 ? cos(m2 * wi2) : sin(m2 * wi2)) - w) > 1e-3;
            }
            zero_rows += rowsq == 0.0;
            cr_assert_eq(rowsq == 0.0, t == L, "case %zu: row of token %lld %s zero", k, (long long)t, t == L ? "not" : "is");
        }
        cr_assert(off_by_one, "case %zu: the row len - pos would pass", k);
        cr_assert(interleaved, "case %zu: the interleaved layout would pass", k);
        cr_assert_eq(zero_rows, L < T ? 1 : 0);
        free(pos), free(r), free(f);
        ref_case_free(c);
    }
}

/* Rows below 0 are an index error in the authors' code: positions past length + 1 (and fractional ones) are
 * invalid problems, not values; length + 1 itself is row 0 = [0.. | 1..]. */
Test(t2embed, ldpe_rejects_rows_below_zero)
{
    pecs_case *c = ref_case("ldpe", "length", "7", NULL);
    double pos[3] = {8, 9, 2.5}, out[3 * 8];
    char why[256] = "";
    embed_io e = {.T = 1, .D = 8, .pos = &pos[0]};
    ref_embed_ok(c, &e, out);
    for (int d = 0; d < 8; d++)
        cr_assert_eq(out[d], d < 4 ? 0.0 : 1.0, "row 0, d%d: %g", d, out[d]);
    for (int k = 1; k < 3; k++) {
        e.pos = &pos[k];
        cr_assert_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID, "position %g accepted", pos[k]);
        cr_assert(strstr(why, "row"), "%s", why);
    }
    ref_case_free(c);
}

/* ---- pia ---------------------------------------------------------------------------------------------- */

/* Shortformer's position embeddings for a [cache; current] window (cache 0, 3, 6, 128; D 6 to 12; padding_idx
 * 0 and 1): the keys are window indices 0..C+N-1, the queries C..C+N-1. Catches: a 0-based table (row p, the
 * HF/Vaswani convention: every row off by padding_idx + 1), queries numbered from 0 (as if the cache were not
 * there: the queries' rows would be the keys' first rows), and the interleaved layout. */
Test(t2embed, kat_pia_shortformer_window)
{
    json_t *cases = jget(kat("pia"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k);
        int64_t C = jint(cs, "cache"), N = jint(cs, "current"), D = jint(cs, "dim"), PI = jint(cs, "padding_idx"),
                half = D / 2;
        pecs_case *c = ref_case("pia", NULL);
        seti(c, "padding_idx", PI);
        for (int q = 0; q < 2; q++) { /* keys, then queries */
            json_t *want = jget(cs, q ? "Pq" : "Pk");
            int64_t T = q ? N : C + N;
            double *pos = iota(T, q ? (double)C : 0.0), *r = dalloc(T * D), *f = dalloc(T * D);
            embed_io e = {.T = T, .D = D, .pos = pos};
            ref_embed_ok(c, &e, r);
            scalar_embed_run(c, &e, f);
            int zero_based = 0, from_zero = 0;
            for (int64_t t = 0; t < T; t++)
                for (int64_t d = 0; d < D; d++) {
                    double w = jat(want, t, d), got = r[t * D + d];
                    cr_assert(fabs(got - w) <= 1e-12, "case %zu %s t%lld d%lld: %.17g vs %.17g", k, q ? "q" : "k",
                              (long long)t, (long long)d, got, w);
                    cr_assert(fabs(f[t * D + d] - w) <= 2e-6, "scalar case %zu: %.9g vs %.9g", k, f[t * D + d], w);
                    int64_t i = d < half ? d : d - half;
                    double wi = pow(10000.0, -(double)i / (double)(half - 1)), m = pos[t];
                    double row0 = (D % 2 && d == D - 1) ? 0.0 : d < half ? sin(m * wi) : cos(m * wi);
                    zero_based |= fabs(row0 - w) > 1e-3;
                    if (q && C > 0) /* queries numbered from 0: the keys' row t */
                        from_zero |= fabs(jat(jget(cs, "Pk"), t, d) - w) > 1e-3;
                }
            cr_assert(zero_based, "case %zu: a 0-based table would pass", k);
            cr_assert(from_zero == (q && C > 0), "case %zu: queries from 0 %s", k, from_zero ? "differ" : "would pass");
            free(pos), free(r), free(f);
        }
        ref_case_free(c);
    }
}

/* A pad token (position -1, fairseq's table row padding_idx) adds exactly nothing, at any padding_idx. */
Test(t2embed, pia_pad_token_adds_nothing)
{
    static const char *const pads[] = {"0", "1", "5"};
    for (int k = 0; k < 3; k++) {
        pecs_case *c = ref_case("pia", "padding_idx", pads[k], NULL);
        double pos[2] = {-1, 0}, x[2 * 9], r[2 * 9], f[2 * 9];
        for (int i = 0; i < 18; i++)
            x[i] = 0.25 * (i + 1);
        embed_io e = {.T = 2, .D = 9, .pos = pos, .x = x};
        ref_embed_ok(c, &e, r);
        scalar_embed_run(c, &e, f);
        for (int d = 0; d < 9; d++) {
            cr_assert_eq(r[d], x[d], "padding_idx %s d%d", pads[k], d);
            cr_assert_eq(f[d], x[d], "scalar padding_idx %s d%d", pads[k], d);
        }
        cr_assert_neq(r[9], x[9], "a real token gets its sinusoid");
        ref_case_free(c);
    }
}

/* ---- fourier ------------------------------------------------------------------------------------------ */

/* A 1-D learnable-Fourier row computed here from w with the two plausible wrong choices switchable: [sin | cos]
 * instead of [cos | sin], and the tanh-approximate GELU instead of nn.GELU()'s erf form. */
static void fourier_variant(const double *w, int64_t F, int64_t Hd, int64_t D, double x, int swap, int tanh_gelu, double *row)
{
    int64_t C = F + D + 1;
    double feat[64], g[16];
    for (int64_t k = 0; k < F / 2; k++) {
        double a = x * w[Hd * C + k];
        feat[k] = (swap ? sin(a) : cos(a)) / sqrt((double)F);
        feat[F / 2 + k] = (swap ? cos(a) : sin(a)) / sqrt((double)F);
    }
    for (int64_t r = 0; r < Hd; r++) {
        double z = w[r * C + F];
        for (int64_t f = 0; f < F; f++)
            z += feat[f] * w[r * C + f];
        g[r] = tanh_gelu ? 0.5 * z * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z)))
                         : 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    }
    for (int64_t d = 0; d < D; d++) {
        row[d] = w[Hd * C + F + 1 + d];
        for (int64_t r = 0; r < Hd; r++)
            row[d] += g[r] * w[r * C + F + 1 + d];
    }
}

/* Algorithm 1 (willGuimont's transcription) with deterministic weights: |F| 2/8/16, |H| 1/4/8, D 4/6/5, positions
 * up to 1000003. Checks the layout of w (a transposed W1 or W2, or Wr read from another row, fails every case),
 * and that [sin | cos] and the tanh GELU would miss the known answers (the mutants fourier_sin_cos_swapped and
 * fourier_gelu_tanh). Tolerance 1e-9: Python rounds the angle x * Wr to double, the reference does not. */
Test(t2embed, kat_fourier_algorithm1)
{
    json_t *cases = jget(kat("fourier"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *want = jget(cs, "P"), *jw = jget(cs, "w"), *jp = jget(cs, "pos");
        int64_t F = jint(cs, "features"), Hd = jint(cs, "hidden"), D = jint(cs, "dim"), T = (int64_t)json_array_size(jp);
        int64_t wr = Hd + 1, wc = F + D + 1;
        cr_assert(F <= 64 && Hd <= 16);
        double *w = dalloc(wr * wc), *pos = dalloc(T), *r = dalloc(T * D), *f = dalloc(T * D), v[64];
        for (int64_t i = 0; i < wr; i++)
            for (int64_t j = 0; j < wc; j++)
                w[i * wc + j] = jat(jw, i, j);
        for (int64_t t = 0; t < T; t++)
            pos[t] = json_number_value(json_array_get(jp, (size_t)t));
        pecs_case *c = ref_case("fourier", NULL);
        seti(c, "features", F);
        seti(c, "hidden", Hd);
        embed_io e = {.T = T, .D = D, .wr = wr, .wc = wc, .pos = pos, .w = w};
        ref_embed_ok(c, &e, r);
        scalar_embed_run(c, &e, f);
        double swap_err = 0.0, tanh_err = 0.0;
        for (int64_t t = 0; t < T; t++) {
            for (int64_t d = 0; d < D; d++) {
                double want_td = jat(want, t, d);
                cr_assert(fabs(r[t * D + d] - want_td) <= 1e-9, "case %zu t%lld d%lld: %.17g vs %.17g", k, (long long)t,
                          (long long)d, r[t * D + d], want_td);
            }
            /* the scalar backend reads w rounded to f32: compare it to the reference on the same rounded table */
            fourier_variant(w, F, Hd, D, pos[t], 1, 0, v);
            for (int64_t d = 0; d < D; d++)
                swap_err = fmax(swap_err, fabs(v[d] - jat(want, t, d)));
            fourier_variant(w, F, Hd, D, pos[t], 0, 1, v);
            for (int64_t d = 0; d < D; d++)
                tanh_err = fmax(tanh_err, fabs(v[d] - jat(want, t, d)));
        }
        cr_assert_gt(swap_err, 1e-3, "case %zu: [sin | cos] would pass (%g)", k, swap_err);
        cr_assert_gt(tanh_err, 1e-6, "case %zu: the tanh GELU would pass (%g)", k, tanh_err);
        /* scalar in f32 against the reference on the f32-rounded table */
        double *w32 = dalloc(wr * wc), *r32 = dalloc(T * D);
        for (int64_t i = 0; i < wr * wc; i++)
            w32[i] = (float)w[i];
        embed_io e32 = e;
        e32.w = w32;
        ref_embed_ok(c, &e32, r32);
        for (int64_t i = 0; i < T * D; i++)
            cr_assert(fabs(f[i] - r32[i]) <= 1e-6 * (1.0 + fabs(r32[i])), "scalar case %zu [%lld]: %.9g vs %.9g", k,
                      (long long)i, f[i], r32[i]);
        free(w), free(pos), free(r), free(f), free(w32), free(r32);
        ref_case_free(c);
    }
}

/* The row does not depend on x (x + P exactly, P from the positions and w only) and a wrong w shape is an invalid
 * problem with the expected shape in the reason. */
Test(t2embed, fourier_rejects_wrong_table_shape)
{
    pecs_case *c = ref_case("fourier", "features", "4", "hidden", "2", NULL);
    double pos[1] = {3}, w[3 * 10] = {0}, out[5];
    char why[256] = "";
    embed_io e = {.T = 1, .D = 5, .wr = 3, .wc = 10, .pos = pos, .w = w};
    cr_assert_eq(ref_embed(c, &e, out, why, sizeof why), PECS_OK, "%s", why);
    e.wc = 9;
    cr_assert_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "[3, 10]"), "%s", why);
    ref_case_free(c);
    c = ref_case("fourier", "features", "5", "hidden", "2", NULL);
    e.wc = 11;
    cr_assert_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "even"), "%s", why);
    ref_case_free(c);
}

/* The registry's weights spec for fourier is a sum of three terms: hidden+1 rows, features+D+1 columns (a parser
 * that kept only the first name and a trailing "+k" would give [hidden+1, features]). */
Test(t2embed, fourier_weights_shape_sums_terms)
{
    pecs_case *c = ref_case("fourier", "features", "16", "hidden", "8", NULL);
    int64_t shape[2] = {0, 0};
    cr_assert(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 3, 15, shape));
    cr_expect_eq(shape[0], 9);
    cr_expect_eq(shape[1], 16 + 15 + 1);
    ref_case_free(c);
    c = ref_case("fire", NULL); /* the single-term "+k" form still parses: [H+2, hidden+1] */
    cr_assert(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 4, 16, shape));
    cr_expect_eq(shape[0], 6);
    cr_expect_eq(shape[1], pecs_param_int(&(pecs_problem){.params = c->params, .n_params = c->n_params}, "hidden", 0) + 1);
    ref_case_free(c);
}

/* ---- sigma_gpt ------------------------------------------------------------------------------------------ */

/* sigma-GPT's _pos_emb by hand: D = 4 (two channels per half), table w [3, 2] = [[1, 2], [3, 4], [5, 6]], a
 * random order's own positions (0, 2, 1) on row 0 and next positions (2, 1, 0) on row 1, x = 0: each token's
 * output is [w[own] | w[next]]. Catches the halves exchanged ([w[next] | w[own]]: token 0 would be 5 6 1 2) and
 * the target order not shifted (both halves from the own position: 1 2 1 2), in the reference and the scalar
 * kernel (the mutants sigma_gpt_halves_swapped and sigma_gpt_no_shift carry the same bugs). */
Test(t2embed, kat_sigma_gpt_own_then_next)
{
    pecs_case *c = ref_case("sigma_gpt", "npos", "3", NULL);
    double pos[2 * 3] = {0, 2, 1, /* row 1 */ 2, 1, 0}, w[3 * 2] = {1, 2, 3, 4, 5, 6}, out[3 * 4], sc[3 * 4];
    static const double want[3][4] = {{1, 2, 5, 6}, {5, 6, 3, 4}, {3, 4, 1, 2}};
    embed_io e = {.T = 3, .D = 4, .wr = 3, .wc = 2, .pos = pos, .w = w, .P = 2};
    ref_embed_ok(c, &e, out);
    scalar_embed_run(c, &e, sc);
    for (int t = 0; t < 3; t++)
        for (int d = 0; d < 4; d++) {
            cr_expect_eq(out[t * 4 + d], want[t][d], "reference [%d][%d] = %g, want %g", t, d, out[t * 4 + d], want[t][d]);
            cr_expect_eq(sc[t * 4 + d], want[t][d], "scalar [%d][%d] = %g, want %g", t, d, sc[t * 4 + d], want[t][d]);
        }
    /* the halves are independent: moving only the next positions changes only the second half */
    pos[3] = 0;
    ref_embed_ok(c, &e, out);
    cr_expect(out[0] == 1 && out[1] == 2 && out[2] == 1 && out[3] == 2, "token 0: %g %g %g %g", out[0], out[1], out[2], out[3]);
    ref_case_free(c);
}

/* Catches a gather past the half-width table, or an odd model width, being computed instead of refused:
 * the next position npos (row 1) and D = 5 are invalid problems, in the reference and the scalar kernel. */
Test(t2embed, sigma_gpt_rejects_outside_positions_and_odd_width)
{
    pecs_case *c = ref_case("sigma_gpt", "npos", "3", NULL);
    double pos[2] = {1, 3}, w[3 * 2] = {0}, out[5];
    char why[256] = "";
    embed_io e = {.T = 1, .D = 4, .wr = 3, .wc = 2, .pos = pos, .w = w, .P = 2};
    cr_assert_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_expect_str_eq(why, "sigma_gpt: next position 3 is outside the table [0, 3)");
    pos[1] = 2;
    cr_assert_eq(ref_embed(c, &e, out, why, sizeof why), PECS_OK, "%s", why);
    e.D = 5;
    cr_assert_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "head_dim 5 must be even"), "%s", why);
    ref_case_free(c);
    cr_expect_eq(pecs_case_parse(&(pecs_case){0}, "sigma_gpt head_dim=15", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "must be even"), "a suite case with an odd width is bad input: %s", why);
}

/* The registry's weights spec "npos,D/2": an exact quotient (a parser that ignored '/' would give [npos, D], one
 * that truncated would accept D = 15 as 7 columns). */
Test(t2embed, sigma_gpt_weights_shape_halves_d)
{
    pecs_case *c = ref_case("sigma_gpt", "npos", "10", NULL);
    int64_t shape[2] = {0, 0};
    cr_assert(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 3, 16, shape));
    cr_expect_eq(shape[0], 10);
    cr_expect_eq(shape[1], 8);
    cr_expect_not(pecs_registry_weights_shape(c->enc, c->params, c->n_params, 3, 15, shape), "D/2 of 15 is not exact");
    ref_case_free(c);
}

/* The SIMD and OpenMP kernels refuse what the scalar kernel refuses, as an invalid problem (the harness rejects
 * such cases at load time, so only a direct call reaches the backends' own checks): an LDPE position past
 * length + 1 (row -1) or fractional, a sigma-GPT next position past the table, a fourier table of the wrong
 * width. Catches a SIMD kernel that gathers or takes the angles of whatever the position gives. */
Test(t2embed, every_kernel_rejects_what_scalar_rejects)
{
    static const char *const names[] = {"scalar", "simd", "openmp"};
    double out[3 * 10], w[3 * 10] = {0}, pl[2] = {9, 2.5}, ps[2] = {1, 3}, pf[1] = {3};
    pecs_case *ldpe = ref_case("ldpe", "length", "7", NULL), *sg = ref_case("sigma_gpt", "npos", "3", NULL),
              *fo = ref_case("fourier", "features", "4", "hidden", "2", NULL);
    embed_io el = {.T = 1, .D = 8}, es = {.T = 1, .D = 4, .wr = 3, .wc = 2, .pos = ps, .w = w, .P = 2},
             ef = {.T = 1, .D = 5, .wr = 3, .wc = 9, .pos = pf, .w = w};
    for (int b = 0; b < 3; b++) {
        if (b > 0 && !strstr(pecs_builtin_list(), names[b]))
            continue;
        for (int k = 0; k < 2; k++) {
            el.pos = &pl[k];
            cr_expect_eq(backend_embed(names[b], ldpe, &el, out), PECS_INVALID, "%s: ldpe position %g", names[b], pl[k]);
        }
        ps[1] = 3, ef.wc = 9;
        cr_expect_eq(backend_embed(names[b], sg, &es, out), PECS_INVALID, "%s: sigma_gpt next position 3 of 3", names[b]);
        cr_expect_eq(backend_embed(names[b], fo, &ef, out), PECS_INVALID, "%s: fourier table [3, 9] for [3, 10]", names[b]);
        /* the same problems made valid run: row 0, the table's last row, the right width */
        el.pos = &pl[1], pl[1] = 8, ps[1] = 2, ef.wc = 10;
        cr_expect_eq(backend_embed(names[b], ldpe, &el, out), PECS_OK, "%s: ldpe row 0", names[b]);
        cr_expect_eq(backend_embed(names[b], sg, &es, out), PECS_OK, "%s: sigma_gpt", names[b]);
        cr_expect_eq(backend_embed(names[b], fo, &ef, out), PECS_OK, "%s: fourier", names[b]);
        pl[1] = 2.5;
    }
    ref_case_free(ldpe), ref_case_free(sg), ref_case_free(fo);
}

/* ---- peg -------------------------------------------------------------------------------------------------- */

/* The scalar kernel alone (the SIMD and OpenMP backends decline peg: its row reads x's neighbours). */
static void scalar_peg_run(const pecs_case *c, const embed_io *e, double *out)
{
    cr_assert_eq(backend_embed("scalar", c, e, out), PECS_OK, "scalar run of %s", c->enc->id);
}

/* P = out - x of a peg problem computed by a deliberately different rule (the tests' wrong kernels): circular
 * padding (wrap) or the 3x3 taps read transposed. n class tokens, grid H x W, x [n + H W, C], w [C, 10]. */
static void peg_wrong(int64_t n, int64_t H, int64_t W, int64_t C, const double *x, const double *w, int wrap, int transpose,
                      double *P)
{
    for (int64_t t = 0; t < n + H * W; t++)
        for (int64_t c = 0; c < C; c++) {
            double s = 0.0;
            if (t >= n) {
                int64_t r = (t - n) / W, q = (t - n) % W;
                s = w[c * 10 + 9];
                for (int64_t i = 0; i < 3; i++)
                    for (int64_t j = 0; j < 3; j++) {
                        int64_t rr = r + i - 1, qq = q + j - 1;
                        if (wrap)
                            rr = (rr + H) % H, qq = (qq + W) % W;
                        if (rr >= 0 && rr < H && qq >= 0 && qq < W)
                            s += w[c * 10 + (transpose ? 3 * j + i : 3 * i + j)] * x[(n + rr * W + qq) * C + c];
                    }
            }
            P[t * C + c] = s;
        }
}

/* PosCNN by hand on a 3 x 3 grid after a class token, C = 2. Channel 0: tap (0, 1) = 1 (the row above), tap (1, 2)
 * = 10 (the right neighbour), bias 100, so P(r, q) = 100 + x(r-1, q) + 10 x(r, q+1) with zeros outside; channel 1:
 * the centre tap -1 alone, so out = x - x = 0 on the grid. x = 1..9 row-major on both channels, the class token 42
 * (passed through). Every value is exact in f32. Catches: the taps transposed (the left neighbour and the row below
 * instead), circular padding (the corner (0, 2) would read 9 above and 1 to its right: 119, not 100), channel 0's
 * taps used for every channel, the class token convolved as grid cell 0, in the reference and the scalar kernel
 * (the mutants peg_taps_transposed and peg_wraparound carry the first two). */
Test(t2embed, kat_peg_poscnn_3x3)
{
    pecs_case *c = ref_case("peg", "width", "3", "class_tokens", "1", NULL);
    double x[10 * 2], w[2 * 10] = {0, 1, 0, 0, 0, 10, 0, 0, 0, 100, /* channel 1 */ 0, 0, 0, 0, -1, 0, 0, 0, 0, 0},
                      out[10 * 2], sc[10 * 2], P[10 * 2];
    static const double want0[10] = {42, 121, 132, 103, 155, 167, 109, 191, 203, 115};
    x[0] = x[1] = 42;
    for (int t = 1; t < 10; t++)
        x[t * 2] = x[t * 2 + 1] = t;
    embed_io e = {.T = 10, .D = 2, .wr = 2, .wc = 10, .x = x, .w = w, .pos = iota(10, 0)};
    ref_embed_ok(c, &e, out);
    scalar_peg_run(c, &e, sc);
    for (int t = 0; t < 10; t++) {
        double want1 = t == 0 ? 42 : 0;
        cr_expect_eq(out[t * 2], want0[t], "reference token %d channel 0 = %g, want %g", t, out[t * 2], want0[t]);
        cr_expect_eq(sc[t * 2], want0[t], "scalar token %d channel 0 = %g, want %g", t, sc[t * 2], want0[t]);
        cr_expect_eq(out[t * 2 + 1], want1, "reference token %d channel 1 = %g, want %g", t, out[t * 2 + 1], want1);
        cr_expect_eq(sc[t * 2 + 1], want1, "scalar token %d channel 1 = %g, want %g", t, sc[t * 2 + 1], want1);
    }
    /* the wrong kernels miss the known answers */
    for (int k = 0; k < 2; k++) {
        peg_wrong(1, 3, 3, 2, x, w, k == 0, k == 1, P);
        int differs = 0;
        for (int t = 0; t < 10; t++)
            differs |= x[t * 2] + P[t * 2] != want0[t];
        cr_expect(differs, "the %s kernel would pass", k == 0 ? "wrapping" : "transposed-taps");
    }
    free((void *)(uintptr_t)e.pos);
    ref_case_free(c);
}

/* Zero padding at the borders: x = 1 everywhere on a 3 x 4 grid (no class token), every tap 1, bias 0: P counts the
 * grid cells in each 3 x 3 window, 4 at the corners, 6 on the edges, 9 inside (out = 1 + count). Circular padding
 * would give 9 everywhere; a 1 x 4 and a 3 x 1 grid keep only the taps inside (2 or 3 cells). */
Test(t2embed, peg_border_zero_padding)
{
    static const struct { int64_t H, W; } grids[] = {{3, 4}, {1, 4}, {3, 1}};
    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        int64_t H = grids[g].H, W = grids[g].W, T = H * W;
        char width[16];
        snprintf(width, sizeof width, "%lld", (long long)W);
        pecs_case *c = ref_case("peg", "width", width, NULL);
        double x[12], w[10], out[12], sc[12], P[12];
        for (int i = 0; i < 12; i++)
            x[i] = 1;
        for (int i = 0; i < 9; i++)
            w[i] = 1;
        w[9] = 0;
        embed_io e = {.T = T, .D = 1, .wr = 1, .wc = 10, .x = x, .w = w, .pos = iota(T, 0)};
        ref_embed_ok(c, &e, out);
        scalar_peg_run(c, &e, sc);
        peg_wrong(0, H, W, 1, x, w, 1, 0, P);
        int wrap_differs = 0;
        for (int64_t t = 0; t < T; t++) {
            int64_t r = t / W, q = t % W;
            double rows = (double)((r > 0) + 1 + (r < H - 1)), cols = (double)((q > 0) + 1 + (q < W - 1));
            cr_expect_eq(out[t], 1 + rows * cols, "%lldx%lld reference token %lld = %g, want %g", (long long)H, (long long)W,
                         (long long)t, out[t], 1 + rows * cols);
            cr_expect_eq(sc[t], 1 + rows * cols, "%lldx%lld scalar token %lld = %g", (long long)H, (long long)W, (long long)t, sc[t]);
            wrap_differs |= 1 + P[t] != 1 + rows * cols;
        }
        cr_expect(wrap_differs, "%lldx%lld: circular padding would pass", (long long)H, (long long)W);
        free((void *)(uintptr_t)e.pos);
        ref_case_free(c);
    }
}

/* Translation equivariance: shifting the grid content one column right (zero fill at column 0) shifts P = out - x one
 * column right wherever the 3 x 3 window sees no border difference: columns 1 .. W-2 (column W-1 loses what the
 * shifted-out column gave it, column 0 reads the zero fill), on a 5 x 6 grid after a class token, C = 3, random x
 * and w; the class token's P stays 0. Holds in the reference (1e-12) and the scalar kernel (f32). A wrapping kernel
 * breaks it at column 1 (its column 0 of the unshifted grid read column W-1), so the property fails on it. */
Test(t2embed, peg_translation_equivariant)
{
    enum { N = 1, H = 5, W = 6, C = 3, T = N + H * W };
    pecs_case *c = ref_case("peg", "width", "6", "class_tokens", "1", NULL);
    double x[T * C], xs[T * C], w[C * 10], o[T * C], os[T * C], f[T * C], fs[T * C], P[T * C], Ps[T * C];
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < T * C; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        x[i] = (double)(int)((s >> 33) % 2001 - 1000) / 256.0; /* exact in f32 */
    }
    for (int i = 0; i < C * 10; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        w[i] = (double)(int)((s >> 33) % 201 - 100) / 64.0;
    }
    memcpy(xs, x, sizeof xs);
    for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++)
            for (int ch = 0; ch < C; ch++)
                xs[(N + r * W + q) * C + ch] = q == 0 ? 0.0 : x[(N + r * W + q - 1) * C + ch];
    double *pos = iota(T, 0);
    embed_io e = {.T = T, .D = C, .wr = C, .wc = 10, .x = x, .w = w, .pos = pos}, es = e;
    es.x = xs;
    ref_embed_ok(c, &e, o), ref_embed_ok(c, &es, os);
    scalar_peg_run(c, &e, f), scalar_peg_run(c, &es, fs);
    int border_differs = 0;
    for (int ch = 0; ch < C; ch++) {
        cr_expect_eq(o[ch] - x[ch], 0.0, "class token channel %d", ch);
        for (int r = 0; r < H; r++)
            for (int q = 1; q < W; q++) {
                int64_t a = (N + r * W + q) * C + ch, b = (N + r * W + q - 1) * C + ch;
                double want = o[b] - x[b], got = os[a] - xs[a];
                if (q == W - 1) {
                    border_differs |= fabs(got - want) > 1e-9;
                    continue;
                }
                cr_expect(fabs(got - want) <= 1e-12, "reference r%d q%d c%d: %.17g vs %.17g", r, q, ch, got, want);
                cr_expect(fabs((fs[a] - xs[a]) - (f[b] - x[b])) <= 1e-5 * (1.0 + fabs(want)), "scalar r%d q%d c%d", r, q, ch);
            }
    }
    cr_expect(border_differs, "column W-1 should lose the shifted-out column (else the test shows nothing at borders)");
    /* the property fails on a wrapping kernel */
    peg_wrong(N, H, W, C, x, w, 1, 0, P), peg_wrong(N, H, W, C, xs, w, 1, 0, Ps);
    int wrap_breaks = 0;
    for (int r = 0; r < H; r++)
        for (int ch = 0; ch < C; ch++)
            wrap_breaks |= fabs(Ps[(N + r * W + 1) * C + ch] - P[(N + r * W) * C + ch]) > 1e-9;
    cr_expect(wrap_breaks, "a wrapping kernel would keep the property");
    free(pos);
    ref_case_free(c);
}

/* T - class_tokens must be a positive multiple of width: a suite case that is not is bad input at load time, and a
 * direct call is an invalid problem to the reference and the scalar kernel (never a read past the grid); width 0
 * is outside the schema. */
Test(t2embed, peg_rejects_grid_mismatch_and_width_zero)
{
    char why[256] = "";
    cr_expect_eq(pecs_case_parse(&(pecs_case){0}, "peg tokens=10 head_dim=4 width=3", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "not a positive multiple of width 3"), "%s", why);
    cr_expect_eq(pecs_case_parse(&(pecs_case){0}, "peg tokens=2 head_dim=4 width=3 class_tokens=1", why, sizeof why),
                 PECS_INVALID, "one grid token is less than a row of 3");
    cr_expect_eq(pecs_case_parse(&(pecs_case){0}, "peg tokens=4 head_dim=4 width=0", why, sizeof why), PECS_INVALID);
    cr_expect_eq(pecs_case_parse(&(pecs_case){0}, "peg tokens=4 head_dim=4 width=2 class_tokens=2", why, sizeof why),
                 PECS_INVALID);
    pecs_case *c = ref_case("peg", "width", "3", NULL);
    double x[10 * 2] = {0}, w[2 * 10] = {0}, out[10 * 2], *pos = iota(10, 0);
    embed_io e = {.T = 10, .D = 2, .wr = 2, .wc = 10, .x = x, .w = w, .pos = pos};
    cr_expect_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "peg: 10 tokens less 0 class token(s)"), "%s", why);
    cr_expect_eq(backend_embed("scalar", c, &e, out), PECS_INVALID);
    e.T = 9;
    cr_expect_eq(ref_embed(c, &e, out, why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(backend_embed("scalar", c, &e, out), PECS_OK);
    free(pos);
    ref_case_free(c);
}

/* ---- graph.maglap ------------------------------------------------------------------------------------------- */

/* The kernel routine with a bug bit (impls/common/maglap.h: the scalar kernel and the mutants share it), so each
 * test below shows the wrong kernels missing what it checks. */
#include "../impls/common/maglap.h"

/* A deterministic digraph's raw data in [-1, 1) (edge iff > 0 at the default threshold). */
static void maglap_random_w(int64_t T, uint64_t seed, double *w)
{
    for (int64_t i = 0; i < T * T; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        w[i] = (double)(seed >> 11) * 0x1p-52 - 1.0;
    }
}

/* The magnetic Laplacian written out again here (the paper's and the authors' code's formula, test-side): Lr + i Li. */
static void maglap_laplacian(int64_t T, const double *w, double q, int sym, double *Lr, double *Li)
{
    int64_t one_way = 0;
    double *deg = dalloc(T);
    for (int64_t u = 0; u < T; u++)
        for (int64_t v = 0; v < T; v++) {
            deg[u] += (w[u * T + v] > 0 || w[v * T + u] > 0);
            one_way += u < v && ((w[u * T + v] > 0) != (w[v * T + u] > 0));
        }
    q /= (double)(one_way < 1 ? 1 : one_way < T ? one_way : T);
    for (int64_t u = 0; u < T; u++)
        for (int64_t v = 0; v < T; v++) {
            double as = (w[u * T + v] > 0 || w[v * T + u] > 0) ? 1.0 : 0.0;
            double th = 2.0 * PECS_PI * q * ((w[u * T + v] > 0) - (w[v * T + u] > 0));
            if (sym)
                as /= sqrt(fmax(deg[u], 1.0) * fmax(deg[v], 1.0));
            Lr[u * T + v] = (u == v ? (sym ? 1.0 : deg[u]) : 0.0) - as * cos(th);
            Li[u * T + v] = -as * sin(th);
        }
    free(deg);
}

/* The directed path 0 -> 1 -> 2 by hand (k 1, D 2, the default symmetric L, q 0.25 relative: 2 one-way pairs, so
 * q = 0.125 and Theta = +-pi/4 on the edges). Degrees 1 2 1; a tree, so L is a gauge transform of the undirected
 * path's: eigenvalues 0, 1, 2, and the lowest vector is sqrt(deg)/2 with phases psi_u - psi_v = Theta_uv along the
 * edges: (e^{i pi/4}/2, sqrt2/2, e^{-i pi/4}/2) with node 1 (the largest modulus) real:
 *     P = [Re | Im] = [sqrt2/4  sqrt2/4 ; sqrt2/2  0 ; sqrt2/4  -sqrt2/4]
 * Catches: the potential's sign flipped (Im negated), the combinatorial L for the symmetric one (moduli 1/sqrt3), the
 * highest eigenvector (node 1 at -sqrt2/2 before the phase fix, the ends at -e^{+-i pi/4}/2 after), in the reference
 * and the scalar kernel; the mutants maglap_q_sign_flipped, maglap_unnormalised and maglap_highest carry them. */
Test(t2embed, kat_maglap_directed_path)
{
    pecs_case *c = ref_case("graph.maglap", "k", "1", NULL);
    double w[9] = {0, 1, 0, /**/ 0, 0, 1, /**/ 0, 0, 0}, out[6], sc[6], P[6];
    const double h = sqrt(2.0) / 4;
    const double want[6] = {h, h, 2 * h, 0, h, -h};
    embed_io e = {.T = 3, .D = 2, .wr = 3, .wc = 3, .w = w, .pos = iota(3, 0)};
    ref_embed_ok(c, &e, out);
    cr_assert_eq(backend_embed("scalar", c, &e, sc), PECS_OK);
    for (int i = 0; i < 6; i++) {
        cr_expect(fabs(out[i] - want[i]) < 1e-12, "reference [%d][%d] = %.17g, want %.17g", i / 2, i % 2, out[i], want[i]);
        cr_expect(fabs(sc[i] - want[i]) < 1e-6, "scalar [%d][%d] = %.9g, want %.9g", i / 2, i % 2, sc[i], want[i]);
    }
    unsigned char adj[9];
    for (int i = 0; i < 9; i++)
        adj[i] = w[i] > 0;
    static const unsigned bugs[3] = {MAGLAP_BUG_Q_SIGN, MAGLAP_BUG_COMBINATORIAL, MAGLAP_BUG_HIGHEST};
    for (int b = 0; b < 3; b++) {
        cr_assert_eq(maglap_pe(adj, 3, 1, 0, 0.25, 0, 1, bugs[b], P), 0);
        double worst = 0.0;
        for (int i = 0; i < 6; i++)
            worst = fmax(worst, fabs(P[i] - want[i]));
        cr_expect(worst > 0.1, "the kernel with bug %u would pass (off by %g)", bugs[b], worst);
    }
    cr_assert_eq(maglap_pe(adj, 3, 1, 0, 0.25, 0, 1, 0, P), 0);
    for (int i = 0; i < 6; i++)
        cr_expect(fabs(P[i] - want[i]) < 1e-12, "the bug-free routine [%d] = %.17g, want %.17g", i, P[i], want[i]);
    free((void *)(uintptr_t)e.pos);
    ref_case_free(c);
}

/* Properties on a random 10-node digraph, k 4 of D 9 (a zero column), both normalisations, from the reference and the
 * scalar kernel: every kept v = Re + i Im satisfies L v = lambda v (lambda = v^H L v, L written out test-side), the
 * vectors are orthonormal, their eigenvalues ascend and the first is below every diagonal entry of L (a Rayleigh
 * bound: the lowest, not the highest), and each vector's phase is fixed at its largest entry (real, > 0; ties to the
 * lowest node). Reversing every edge conjugates L, so the output's imaginary half flips sign and the real half stays.
 * Catches: any of the three bugs (the eigen-equation with the wrong Laplacian, the top eigenvalues), a vector left at
 * the solver's phase, real and imaginary halves swapped or interleaved. */
Test(t2embed, maglap_eigen_equation_and_phase)
{
    const int64_t T = 10, D = 9, k = 4;
    double w[100], wt[100], out[90], rev[90], Lr[100], Li[100];
    maglap_random_w(T, 12345, w);
    for (int64_t u = 0; u < T; u++)
        for (int64_t v = 0; v < T; v++)
            wt[v * T + u] = w[u * T + v];
    for (int sym = 1; sym >= 0; sym--) {
        pecs_case *c = ref_case("graph.maglap", "k", "4", "normalization", sym ? "sym" : "none", NULL);
        embed_io e = {.T = T, .D = D, .wr = T, .wc = T, .w = w, .pos = iota(T, 0)};
        maglap_laplacian(T, w, 0.25, sym, Lr, Li);
        for (int run = 0; run < 2; run++) {
            double tol = run == 0 ? 1e-10 : 2e-5;
            if (run == 0)
                ref_embed_ok(c, &e, out);
            else
                cr_assert_eq(backend_embed("scalar", c, &e, out), PECS_OK);
            double prev = -1e300, mindiag = 1e300;
            for (int64_t u = 0; u < T; u++)
                mindiag = fmin(mindiag, Lr[u * T + u]);
            for (int64_t j = 0; j < k; j++) {
                double lam = 0.0, res = 0.0, best = 0.0;
                int64_t anchor = -1;
                for (int64_t u = 0; u < T; u++) { /* lambda = v^H L v */
                    double lr = 0, li = 0;
                    for (int64_t v = 0; v < T; v++) {
                        double xr = out[v * D + j], xi = out[v * D + k + j];
                        lr += Lr[u * T + v] * xr - Li[u * T + v] * xi, li += Lr[u * T + v] * xi + Li[u * T + v] * xr;
                    }
                    lam += out[u * D + j] * lr + out[u * D + k + j] * li;
                }
                for (int64_t u = 0; u < T; u++) {
                    double lr = -lam * out[u * D + j], li = -lam * out[u * D + k + j];
                    for (int64_t v = 0; v < T; v++) {
                        double xr = out[v * D + j], xi = out[v * D + k + j];
                        lr += Lr[u * T + v] * xr - Li[u * T + v] * xi, li += Lr[u * T + v] * xi + Li[u * T + v] * xr;
                    }
                    res = fmax(res, hypot(lr, li));
                    double m = out[u * D + j] * out[u * D + j] + out[u * D + k + j] * out[u * D + k + j];
                    if (m > best * (1 + 1e-6))
                        best = m, anchor = u;
                }
                cr_expect(res < 10 * tol, "%s %s vector %lld: |L v - lambda v| = %g", run ? "scalar" : "reference",
                          sym ? "sym" : "none", (long long)j, res);
                cr_expect(lam >= prev - tol, "eigenvalues not ascending at %lld (%g after %g)", (long long)j, lam, prev);
                prev = lam;
                if (j == 0)
                    cr_expect(lam <= mindiag + tol, "first eigenvalue %g above L's smallest diagonal %g", lam, mindiag);
                cr_expect(fabs(out[anchor * D + k + j]) < tol && out[anchor * D + j] > 0,
                          "vector %lld not real and positive at its largest entry %lld (%g + %gi)", (long long)j,
                          (long long)anchor, out[anchor * D + j], out[anchor * D + k + j]);
                for (int64_t i = 0; i <= j; i++) { /* orthonormal */
                    double gr = 0, gi = 0;
                    for (int64_t u = 0; u < T; u++) {
                        double ar = out[u * D + i], ai = out[u * D + k + i], br = out[u * D + j], bi = out[u * D + k + j];
                        gr += ar * br + ai * bi, gi += ar * bi - ai * br;
                    }
                    cr_expect(fabs(gr - (i == j)) < tol && fabs(gi) < tol, "<v%lld, v%lld> = %g + %gi", (long long)i,
                              (long long)j, gr, gi);
                }
            }
            for (int64_t u = 0; u < T; u++)
                cr_expect(out[u * D + 2 * k] == 0.0, "column %lld past 2k of node %lld = %g", (long long)(2 * k),
                          (long long)u, out[u * D + 2 * k]);
        }
        embed_io er = e;
        er.w = wt;
        ref_embed_ok(c, &e, out);
        ref_embed_ok(c, &er, rev);
        for (int64_t u = 0; u < T; u++)
            for (int64_t j = 0; j < k; j++) {
                cr_expect(fabs(rev[u * D + j] - out[u * D + j]) < 1e-10, "reversed edges changed Re at %lld", (long long)u);
                cr_expect(fabs(rev[u * D + k + j] + out[u * D + k + j]) < 1e-10, "reversed edges: Im not negated at %lld",
                          (long long)u);
            }
        /* the three bugs break the eigen-equation of the asked-for L or the ordering, so the checks above can fail */
        unsigned char adj[100];
        double P[80];
        for (int64_t i = 0; i < T * T; i++)
            adj[i] = w[i] > 0;
        static const unsigned bugs[3] = {MAGLAP_BUG_Q_SIGN, MAGLAP_BUG_COMBINATORIAL, MAGLAP_BUG_HIGHEST};
        for (int b = 0; b < 3; b++) {
            if (!sym && bugs[b] == MAGLAP_BUG_COMBINATORIAL)
                continue; /* the combinatorial form is what `none` asks for */
            cr_assert_eq(maglap_pe(adj, T, k, 0, 0.25, 0, sym, bugs[b], P), 0);
            double worst = 0.0;
            for (int64_t u = 0; u < T; u++)
                for (int64_t j = 0; j < 2 * k; j++)
                    worst = fmax(worst, fabs(P[u * 2 * k + j] - out[u * D + j]));
            cr_expect(worst > 1e-3, "bug %u agrees with the reference (%g)", bugs[b], worst);
        }
        free((void *)(uintptr_t)e.pos);
        ref_case_free(c);
    }
}

/* Bad input: a w that is not [T, T] and a NaN entry (neither an edge nor none) are invalid problems to the reference
 * and the kernel (never a read past w); 2k > D and more than 128 nodes are invalid at load time; a graph without edges (L = I: every
 * eigenvalue 1) is refused by the reference with the reason, not judged. A 0/1 matrix is read as itself at any
 * threshold in [0, 1) (the path of kat_maglap_directed_path at 0.9). */
Test(t2embed, maglap_rejects_bad_graphs)
{
    char why[256] = "";
    cr_expect_eq(pecs_case_parse(&(pecs_case){0}, "graph.maglap tokens=8 head_dim=3 k=2", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "2k <= D"), "%s", why);
    cr_expect_eq(pecs_case_parse(&(pecs_case){0}, "graph.maglap tokens=129 head_dim=8", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "over the reference's 128"), "%s", why);
    pecs_case *c = ref_case("graph.maglap", "k", "1", NULL);
    double w[12] = {0, 1, 0, 0, /**/ 0, 0, 1, 0, /**/ 0, 0, 0, 0}, out[6], *pos = iota(3, 0);
    embed_io e = {.T = 3, .D = 2, .wr = 3, .wc = 4, .w = w, .pos = pos};
    cr_expect_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "[3, 3]"), "%s", why);
    cr_expect_eq(backend_embed("scalar", c, &e, out), PECS_INVALID);
    double p3[9] = {0, 1, 0, 0, 0, 1, 0, 0, 0}, none[9] = {0};
    e.wc = 3, e.w = p3;
    p3[8] = NAN;
    cr_expect_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "w[2][2] is NaN"), "%s", why);
    p3[8] = 0;
    e.w = none;
    cr_expect_eq(ref_embed(c, &e, out, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "are closer than") && strstr(why, "refused"), "%s", why);
    ref_case_free(c);
    c = ref_case("graph.maglap", "k", "1", "edge_threshold", "0.9", NULL);
    e.w = p3;
    ref_embed_ok(c, &e, out);
    cr_expect(fabs(out[0] - sqrt(2.0) / 4) < 1e-12 && fabs(out[5] + sqrt(2.0) / 4) < 1e-12, "%g %g", out[0], out[5]);
    free(pos);
    ref_case_free(c);
}
