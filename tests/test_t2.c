/* tests/test_t2.c — known answers and properties of the tier-2 rotate encodings.
 *
 * Known answers come from tests/data/kat/t2.json, written by tests/kat/gen_kat_t2.py: independent Python
 * transcriptions of the authors' code (sources in each section and in the reference headers). Each test says
 * which plausible wrong implementation it catches and, where that is not obvious from the numbers, computes
 * the wrong variant and shows that it misses. The scalar backend (impls/common/schedule.c, a second code) is
 * run on the same known answers in float32.
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

static json_t *kat(const char *section) { return kat_section(&g_kat, "t2.json", section); }

static int close_abs(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* A contiguous tensor of up to 3 dimensions. */

static void schedule(const pecs_case *c, int64_t R, pecs_ref_rot *s)
{
    pecs_problem p = ref_problem(c);
    char why[256] = "";
    cr_assert_eq(pecs_ref_rot_alloc(s, R), PECS_OK);
    cr_assert_eq(pecs_ref_schedule(&p, s, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

/* Reference rotate of T tokens x H heads x D, positions pos [P][T] (f64), into out. */
static void ref_rotate(const pecs_case *c, int64_t T, int64_t H, int64_t D, const double *x, int64_t P,
                       const double *pos, double *out)
{
    pecs_problem p = ref_problem(c);
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, T, H, D, (void *)(uintptr_t)x),
                        ref_tensor("pos", PECS_DT_F64, 2, P, T, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", PECS_DT_F64, 3, T, H, D, out)};
    p.tensors = t, p.n_tensors = 3;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

/* The built-in scalar backend on the same problem in float32 (x rounded to f32 first). */
static void scalar_rotate(const pecs_case *c, int64_t T, int64_t H, int64_t D, const double *x, int64_t P,
                          const double *pos, double *out)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    char why[256] = "";
    int64_t n = T * H * D;
    float *xf = malloc((size_t)n * sizeof *xf), *of = malloc((size_t)n * sizeof *of);
    cr_assert(xf && of);
    for (int64_t i = 0; i < n; i++)
        xf[i] = (float)x[i];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F32, 3, T, H, D, xf), ref_tensor("pos", PECS_DT_F64, 2, P, T, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", PECS_DT_F32, 3, T, H, D, of)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 3;
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support %s: %s", c->enc->id, why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < n; i++)
        out[i] = of[i];
    free(xf);
    free(of);
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

/* Rotate one head x[D] at position pos by the inverse frequencies inv[D/2] (all pairs, attention factor g),
 * independently of the reference driver: the expected output of a known-answer schedule. */
static void rotate_by(const double *x, int64_t D, const double *inv, double pos, int half, double g, double *y)
{
    for (int64_t k = 0; k < D / 2; k++) {
        int64_t a = half ? k : 2 * k, b = half ? k + D / 2 : 2 * k + 1;
        double c = cos(pos * inv[k]) * g, s = sin(pos * inv[k]) * g;
        y[a] = x[a] * c - x[b] * s;
        y[b] = x[a] * s + x[b] * c;
    }
}

/* Case c's schedule against the known inv_freq (relative 1e-15, exact zeros), then the reference and the scalar
 * backend rotating one head at a few positions against rotate_by() on the known frequencies. */
static void check_schedule_kat(const pecs_case *c, int64_t D, json_t *inv, int half, double attn)
{
    pecs_ref_rot s;
    schedule(c, D, &s);
    double *want = malloc((size_t)(D / 2) * sizeof *want);
    for (int64_t k = 0; k < D / 2; k++) {
        want[k] = jnum(inv, (size_t)k);
        cr_assert(want[k] == 0.0 ? s.inv_freq[k] == 0.0 : close_abs(s.inv_freq[k], want[k], 1e-15 * want[k]),
                  "%s pair %lld: %.17g vs %.17g", c->enc->id, (long long)k, s.inv_freq[k], want[k]);
    }
    cr_assert(close_abs(s.attn, attn, 1e-15), "%s attn %.17g vs %.17g", c->enc->id, s.attn, attn);
    pecs_ref_rot_free(&s);
    double *x = malloc((size_t)D * sizeof *x), *y = malloc((size_t)D * sizeof *y), *r = malloc((size_t)D * sizeof *r),
           *f = malloc((size_t)D * sizeof *f);
    for (int64_t i = 0; i < D; i++)
        x[i] = sin(0.37 * (double)(i + 1)) * 0.9;
    static const double positions[] = {3, 4097, 100000};
    for (int k = 0; k < 3; k++) {
        rotate_by(x, D, want, positions[k], half, attn, y);
        ref_rotate(c, 1, 1, D, x, 1, &positions[k], r);
        scalar_rotate(c, 1, 1, D, x, 1, &positions[k], f);
        for (int64_t i = 0; i < D; i++) {
            cr_assert(close_abs(r[i], y[i], 1e-13 + 4e-16 * positions[k]), "%s pos %g lane %lld: %.17g vs %.17g",
                      c->enc->id, positions[k], (long long)i, r[i], y[i]);
            cr_assert(close_abs(f[i], y[i], 3e-6), "scalar %s pos %g lane %lld: %.9g vs %.9g", c->enc->id, positions[k],
                      (long long)i, f[i], y[i]);
        }
    }
    free(want), free(x), free(y), free(r), free(f);
}

/* ---- rope.p ------------------------------------------------------------------------------------------- */

/* Gemma's apply_rope(rope_proportion) on heads of 16, 256 and 512 (Gemma 4 global: p 0.25, base 1e6) at
 * positions up to 131071, through the reference and the scalar backend. Catches: the kept frequencies re-spaced
 * over the kept pairs (base^(-2k/(2 n_rope)): shown to miss), the zero-frequency pairs taken from the high end
 * (the first pairs), and n_rope rounded instead of floored (p = 0.3, D = 16: floor(2.4) = 2, not 3). */
Test(t2, kat_rope_p_gemma)
{
    json_t *cases = jget(kat("rope_p"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *inv = jget(cs, "inv_freq"), *xs = jget(cs, "x"), *rows = jget(cs, "rows");
        int64_t D = (int64_t)jreal(cs, "head_dim"), n_rope = (int64_t)jreal(cs, "n_rope");
        pecs_case *c = ref_case("rope.p", "pairing", "half", (const char *)NULL);
        setf(c, "p", jreal(cs, "p"));
        setf(c, "base", jreal(cs, "base"));
        pecs_ref_rot s;
        schedule(c, D, &s);
        int zeros = 0;
        for (int64_t i = 0; i < D / 2; i++) {
            cr_assert(close_abs(s.inv_freq[i], jnum(inv, (size_t)i), 1e-15 * jnum(inv, (size_t)i)), "D=%lld pair %lld: %.17g vs %.17g",
                      (long long)D, (long long)i, s.inv_freq[i], jnum(inv, (size_t)i));
            zeros += s.inv_freq[i] == 0.0;
            if (i > 0 && i < n_rope) /* re-spacing over n_rope pairs would give base^(-k/n_rope) */
                cr_assert(fabs(s.inv_freq[i] - pow(jreal(cs, "base"), -(double)i / (double)n_rope)) > 1e-9 * s.inv_freq[i]);
        }
        cr_assert_eq(zeros, D / 2 - n_rope, "D=%lld: %d zero pairs, want %lld", (long long)D, zeros,
                     (long long)(D / 2 - n_rope));
        pecs_ref_rot_free(&s);
        double *x = malloc((size_t)D * sizeof *x), *y = malloc((size_t)D * sizeof *y), *y32 = malloc((size_t)D * sizeof *y32);
        for (int64_t i = 0; i < D; i++)
            x[i] = jnum(xs, (size_t)i);
        for (size_t r = 0; r < json_array_size(rows); r++) {
            json_t *row = json_array_get(rows, r), *want = jget(row, "out");
            double pos = jreal(row, "pos");
            ref_rotate(c, 1, 1, D, x, 1, &pos, y);
            scalar_rotate(c, 1, 1, D, x, 1, &pos, y32);
            for (int64_t i = 0; i < D; i++) {
                /* the transcription forms pos/timescale in plain double: its own angle error is ~pos*eps */
                cr_assert(close_abs(y[i], jnum(want, (size_t)i), 1e-13 + 4e-16 * pos), "D=%lld pos %g lane %lld: %.17g vs %.17g",
                          (long long)D, pos, (long long)i, y[i], jnum(want, (size_t)i));
                cr_assert(close_abs(y32[i], jnum(want, (size_t)i), 2e-6), "scalar D=%lld pos %g lane %lld: %.9g vs %.9g",
                          (long long)D, pos, (long long)i, y32[i], jnum(want, (size_t)i));
            }
        }
        free(x), free(y), free(y32);
        ref_case_free(c);
    }
}

/* The zero-frequency pairs are copied exactly (cos 1, sin 0) at any position, and p = 1 is RoPE bit for bit.
 * Catches a kernel that rotates the NoPE pairs by a tiny nonzero frequency (e.g. 1/timescale with a finite
 * "large" timescale) and a p = 1 path that differs from RoPE. */
Test(t2, rope_p_nope_pairs_exact_and_p1_is_rope)
{
    enum { D = 24 };
    double x[D], y[D], z[D], pos = 987654321.0;
    for (int i = 0; i < D; i++)
        x[i] = sin(0.7 * i + 0.2);
    pecs_case *c = ref_case("rope.p", "p", "0.5", (const char *)NULL); /* interleaved: pairs (2k, 2k+1) */
    ref_rotate(c, 1, 1, D, x, 1, &pos, y);
    for (int k = 6; k < D / 2; k++)
        cr_assert(y[2 * k] == x[2 * k] && y[2 * k + 1] == x[2 * k + 1], "pair %d must be unrotated", k);
    cr_assert(y[0] != x[0], "pair 0 rotates");
    ref_case_free(c);
    pecs_case *one = ref_case("rope.p", "p", "1", (const char *)NULL), *rope = ref_case("rope", (const char *)NULL);
    ref_rotate(one, 1, 1, D, x, 1, &pos, y);
    ref_rotate(rope, 1, 1, D, x, 1, &pos, z);
    cr_assert(memcmp(y, z, sizeof y) == 0, "p = 1 must be RoPE");
    ref_case_free(one);
    ref_case_free(rope);
}

/* ---- rope.buckets ------------------------------------------------------------------------------------- */

/* DAMO-ConvAI attention-buckets: copy j of the batch is LlamaRotaryEmbedding._set_base(base_list[j]), so its
 * inverse frequencies are base_list[j]^(-2k/R) (worked here from the list, not from the reference), rotate_half
 * pairing by default; the reference and the scalar backend rotate a head as rotate_by() does with them, for every
 * copy of test_nq_kl.py's base_list. Catches: every copy at the first base (mutant buckets_first_base; copies 1..6
 * differ from copy 0 by far more than the tolerance), the copy index off by one, interleaved pairing by default. */
Test(t2, kat_rope_buckets_every_copy)
{
    static const double list[] = {10000, 13000, 16000, 19000, 22000, 25000, 28000};
    enum { D = 16 };
    for (int j = 0; j < 7; j++) {
        char bucket[16];
        snprintf(bucket, sizeof bucket, "%d", j);
        pecs_case *c = ref_case("rope.buckets", "bucket", bucket, (const char *)NULL);
        json_t *inv = json_array();
        for (int k = 0; k < D / 2; k++)
            json_array_append_new(inv, json_real(pow(list[j], -2.0 * k / D)));
        check_schedule_kat(c, D, inv, 1, 1.0);
        json_decref(inv);
        ref_case_free(c);
    }
    /* copy 3 against copy 0 at the positions check_schedule_kat uses: the first-base bug is visible */
    double x[D], y3[D], y0[D], pos = 4097;
    for (int i = 0; i < D; i++)
        x[i] = sin(0.37 * (double)(i + 1)) * 0.9;
    pecs_case *c3 = ref_case("rope.buckets", "bucket", "3", (const char *)NULL), *c0 = ref_case("rope.buckets", (const char *)NULL);
    ref_rotate(c3, 1, 1, D, x, 1, &pos, y3);
    ref_rotate(c0, 1, 1, D, x, 1, &pos, y0);
    double worst = 0;
    for (int i = 0; i < D; i++)
        worst = fmax(worst, fabs(y3[i] - y0[i]));
    cr_assert_gt(worst, 1e-2, "copies 0 and 3 must differ visibly at position 4097 (%.3g)", worst);
    ref_case_free(c3);
    ref_case_free(c0);
}

/* A copy is `rope` at its base, bit for bit (the same schedule), in either pairing and with partial rotary; a
 * bucket past the list is refused with the index and the list's length, never read past the end. */
Test(t2, rope_buckets_copy_is_rope_at_its_base)
{
    enum { D = 20 };
    double x[D * 3], y[D * 3], z[D * 3], pos[3] = {0, 77, 1048575};
    for (int i = 0; i < D * 3; i++)
        x[i] = cos(0.3 * i + 0.1);
    pecs_case *b = ref_case("rope.buckets", "bases", "500000,1.5,2e9", "bucket", "2", "pairing", "interleaved",
                            "rotary_dim", "12", (const char *)NULL);
    pecs_case *r = ref_case("rope", "base", "2e9", "pairing", "interleaved", "rotary_dim", "12", (const char *)NULL);
    ref_rotate(b, 3, 1, D, x, 1, pos, y);
    ref_rotate(r, 3, 1, D, x, 1, pos, z);
    cr_assert(memcmp(y, z, sizeof y) == 0, "bucket 2 must be rope at base 2e9");
    ref_case_free(b);
    ref_case_free(r);

    pecs_case *bad = ref_case("rope.buckets", "bases", "10000,20000", "bucket", "2", (const char *)NULL);
    pecs_problem p = ref_problem(bad);
    pecs_ref_rot s;
    char why[256] = "";
    cr_assert_eq(pecs_ref_rot_alloc(&s, 8), PECS_OK);
    cr_assert_eq(pecs_ref_schedule(&p, &s, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "bucket 2") && strstr(why, "bases has 2"), "%s", why);
    pecs_ref_rot_free(&s);
    ref_case_free(bad);
}

/* ---- rope.giraffe -------------------------------------------------------------------------------------- */

/* Abacus's ScaledLlamaRotaryEmbedding on LLaMA-13B heads (128): linear scale 4 and 8, power 0.5 and 1, and the
 * truncated basis at wavelengths 4096, 2048 and 1024, through the reference and the scalar backend. Catches:
 * the rho band set to zero (one cutoff instead of two: every truncation case has rho pairs), the power basis
 * over R instead of R/2 (case power 1: the last pairs would not go to 0 as fast; pinned by the values), and the
 * truncation applied before the scale (case 4/4096 has pairs whose band depends on the order). */
Test(t2, kat_rope_giraffe_abacus)
{
    json_t *cases = jget(kat("rope_giraffe"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *bands = jget(cs, "bands");
        pecs_case *c = ref_case("rope.giraffe", "pairing", "half", (const char *)NULL);
        setf(c, "factor", jreal(cs, "factor"));
        setf(c, "scale_power", jreal(cs, "scale_power"));
        setf(c, "truncate_len", jreal(cs, "truncate_len"));
        check_schedule_kat(c, (int64_t)jreal(cs, "head_dim"), jget(cs, "inv_freq"), 1, 1.0);
        int rho = 0;
        for (size_t i = 0; i < json_array_size(bands); i++)
            rho += !strcmp(json_string_value(json_array_get(bands, i)), "rho");
        if (jreal(cs, "truncate_len") > 0)
            cr_assert_gt(rho, 10, "case %zu: the rho band must be populated", k);
        ref_case_free(c);
    }
    /* Order matters: truncating the unscaled frequencies, then dividing by 4, moves pairs between bands. */
    double t = 2.0 * PECS_PI / 4096.0;
    int differ = 0;
    for (int i = 0; i < 64; i++) {
        double f = pow(10000.0, -(double)i / 64.0), a = f / 4.0, b = f;
        a = a < t / 8 ? 0 : a < t ? t / 16 : a;
        b = (b < t / 8 ? 0 : b < t ? t / 16 : b) / 4.0;
        differ += fabs(a - b) > 1e-12 * fmax(a, b);
    }
    cr_assert_gt(differ, 0, "scale-then-truncate and truncate-then-scale must differ for the KAT to pin the order");
}

/* ---- rope.rmt ------------------------------------------------------------------------------------------ */

/* RMT's RetNetRelPos2d + theta_shift on 3x4 and 14x14 patch grids (key_dim 16 and 32), patches addressed by
 * their raster index, through the reference and the scalar backend. Catches: RoPE's exponent 2k/R instead of
 * linspace(0,1,R/2) (pair 1 of 8 would be 10000^(-1/8), not 10000^(-1/7)), half-split pairing (the code pairs
 * adjacent lanes), and (row, column) positions used without flattening. */
Test(t2, kat_rope_rmt_raster)
{
    json_t *cases = jget(kat("rope_rmt"), "cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *xs = jget(cs, "x"), *rows = jget(cs, "rows");
        int64_t D = (int64_t)jreal(cs, "key_dim");
        pecs_case *c = ref_case("rope.rmt", (const char *)NULL);
        check_schedule_kat(c, D, jget(cs, "inv_freq"), 0, 1.0);
        double x[64], y[64], f[64];
        for (int64_t i = 0; i < D; i++)
            x[i] = jnum(xs, (size_t)i);
        for (size_t r = 0; r < json_array_size(rows); r++) {
            json_t *row = json_array_get(rows, r), *want = jget(row, "out");
            double l = jreal(row, "index");
            ref_rotate(c, 1, 1, D, x, 1, &l, y);
            scalar_rotate(c, 1, 1, D, x, 1, &l, f);
            for (int64_t i = 0; i < D; i++) {
                cr_assert(close_abs(y[i], jnum(want, (size_t)i), 1e-13), "key_dim %lld index %g lane %lld: %.17g vs %.17g",
                          (long long)D, l, (long long)i, y[i], jnum(want, (size_t)i));
                cr_assert(close_abs(f[i], jnum(want, (size_t)i), 2e-6), "scalar key_dim %lld index %g lane %lld", (long long)D,
                          l, (long long)i);
            }
        }
        pecs_ref_rot s;
        schedule(c, D, &s);
        cr_assert(fabs(s.inv_freq[1] - pow(10000.0, -2.0 / (double)D)) > 1e-3 * s.inv_freq[1],
                  "the linspace exponent must differ from RoPE's 2k/R");
        pecs_ref_rot_free(&s);
        ref_case_free(c);
    }
}

/* ---- rope.vrope ---------------------------------------------------------------------------------------- */

/* VRoPE's ids for 5 text tokens, a 2x3x4 video and 2 more text tokens (vrope.py), rotated per channel as the
 * model does, against the reference and the scalar backend fed with pos[r][t] = ids[t][r] (the first four
 * channels hold the four variants). Catches: the variants allocated in chunks of pairs (as M-RoPE sections),
 * the variant order swapped (v1/v2: h-flip vs w-flip), and a kernel reading one row for every pair. */
Test(t2, kat_rope_vrope_video)
{
    json_t *j = kat("rope_vrope"), *ids = jget(j, "ids"), *xs = jget(j, "x"), *outs = jget(j, "out");
    enum { D = 16 };
    int64_t T = (int64_t)json_array_size(ids);
    double *x = malloc((size_t)(T * D) * sizeof *x), *pos = malloc((size_t)(4 * T) * sizeof *pos);
    double *y = malloc((size_t)(T * D) * sizeof *y), *f = malloc((size_t)(T * D) * sizeof *f);
    for (int64_t t = 0; t < T; t++) {
        for (int d = 0; d < D; d++)
            x[t * D + d] = jnum(xs, (size_t)d);
        for (int r = 0; r < 4; r++)
            pos[r * T + t] = jnum(json_array_get(ids, (size_t)t), (size_t)r);
        for (int i = 4; i < D / 2; i++) /* channel i repeats variant i % 4 */
            cr_assert_eq(jnum(json_array_get(ids, (size_t)t), (size_t)i), pos[(i % 4) * T + t]);
    }
    int distinct = 0; /* a video token whose four variants all differ */
    for (int64_t t = 5; t < 29; t++)
        distinct += pos[t] != pos[T + t] && pos[T + t] != pos[2 * T + t] && pos[t] != pos[3 * T + t] && pos[T + t] != pos[3 * T + t];
    cr_assert_gt(distinct, 0);
    pecs_case *c = ref_case("rope.vrope", "pairing", "half", (const char *)NULL);
    ref_rotate(c, T, 1, D, x, 4, pos, y);
    scalar_rotate(c, T, 1, D, x, 4, pos, f);
    for (int64_t t = 0; t < T; t++)
        for (int d = 0; d < D; d++) {
            double want = jnum(json_array_get(outs, (size_t)t), (size_t)d);
            cr_assert(close_abs(y[t * D + d], want, 1e-13), "token %lld lane %d: %.17g vs %.17g", (long long)t, d, y[t * D + d], want);
            cr_assert(close_abs(f[t * D + d], want, 2e-6), "scalar token %lld lane %d", (long long)t, d);
        }
    /* Text after the video continues at 5 + (H+W-1)*T = 5 + 6*2. */
    cr_assert_eq(jreal(j, "index_advance"), 12.0);
    cr_assert_eq(pos[T - 2], 17.0);
    ref_case_free(c);
    free(x), free(pos), free(y), free(f);
}

/* ---- rope.hope_vlm ------------------------------------------------------------------------------------- */

/* HoPE's hybrid frequency allocation on a Qwen2-VL head (128, sections [16,24,24], theta 1e6), a text token and
 * video tokens with real positions (temporal scale 0.75), through the reference and the scalar backend; then
 * the t row changed alone must change nothing. Catches: the NoPE band rotated by t (the same file's m_modify
 * variant), h and w alternating in the wrong phase (w on even pairs), and M-RoPE's chunked sections. */
Test(t2, kat_rope_hope_vlm_hfa)
{
    json_t *j = kat("rope_hope_vlm"), *xs = jget(j, "x"), *ps = jget(j, "positions"), *outs = jget(j, "out");
    enum { D = 128 };
    int64_t T = (int64_t)json_array_size(ps);
    double *x = malloc((size_t)(T * D) * sizeof *x), *pos = malloc((size_t)(3 * T) * sizeof *pos);
    double *y = malloc((size_t)(T * D) * sizeof *y), *f = malloc((size_t)(T * D) * sizeof *f), *z = malloc((size_t)(T * D) * sizeof *z);
    for (int64_t t = 0; t < T; t++) {
        for (int d = 0; d < D; d++)
            x[t * D + d] = jnum(xs, (size_t)d);
        for (int r = 0; r < 3; r++)
            pos[r * T + t] = jnum(json_array_get(ps, (size_t)t), (size_t)r);
    }
    pecs_case *c = ref_case("rope.hope_vlm", "pairing", "half", "sections", "16,24,24", "base", "1000000", (const char *)NULL);
    ref_rotate(c, T, 1, D, x, 3, pos, y);
    scalar_rotate(c, T, 1, D, x, 3, pos, f);
    int nope_exact = 1;
    for (int64_t t = 0; t < T; t++)
        for (int d = 0; d < D; d++) {
            double want = jnum(json_array_get(outs, (size_t)t), (size_t)d);
            cr_assert(close_abs(y[t * D + d], want, 1e-13), "token %lld lane %d: %.17g vs %.17g", (long long)t, d, y[t * D + d], want);
            cr_assert(close_abs(f[t * D + d], want, 2e-6), "scalar token %lld lane %d", (long long)t, d);
            if ((d % 64) >= 48)
                nope_exact &= y[t * D + d] == x[t * D + d];
        }
    cr_assert(nope_exact, "pairs 48..63 (lanes 48..63 and 112..127) are NoPE: copied exactly");
    for (int64_t t = 0; t < T; t++)
        pos[t] += 1000.5; /* the t row is never read */
    ref_rotate(c, T, 1, D, x, 3, pos, z);
    cr_assert(memcmp(y, z, (size_t)(T * D) * sizeof *y) == 0, "HFA must not read the t row");
    ref_case_free(c);
    free(x), free(pos), free(y), free(f), free(z);
}

/* ---- rope.entropy_abf ---------------------------------------------------------------------------------- */

/* Entropy-ABF's query scale around the training length 4096 (positions 4094, 4095, 4096: the scale leaves 1
 * exactly at p + 1 = 4096) and far beyond it, queries and keys, through the reference and the scalar backend.
 * Catches: the clamp to >= 1 missing (p = 100 would shrink the query to 0.55x), ln(p) instead of ln(p+1) (p = 4096
 * would give exactly 1), the keys scaled too, and the scale applied to cos only. */
Test(t2, kat_rope_entropy_abf_scale)
{
    json_t *j = kat("rope_entropy_abf"), *xs = jget(j, "x"), *rows = jget(j, "rows");
    enum { D = 128 };
    double x[D], y[D], f[D];
    for (int d = 0; d < D; d++)
        x[d] = jnum(xs, (size_t)d);
    static const char *const roles[] = {"query", "key"};
    for (int r = 0; r < 2; r++) {
        pecs_case *c = ref_case("rope.entropy_abf", "pairing", "half", "role", roles[r], (const char *)NULL);
        for (size_t k = 0; k < json_array_size(rows); k++) {
            json_t *row = json_array_get(rows, k), *want = jget(row, r ? "k" : "q");
            double pos = jreal(row, "pos"), scale = jreal(row, "scale");
            ref_rotate(c, 1, 1, D, x, 1, &pos, y);
            scalar_rotate(c, 1, 1, D, x, 1, &pos, f);
            for (int d = 0; d < D; d++) {
                cr_assert(close_abs(y[d], jnum(want, (size_t)d), 1e-13 + 4e-16 * pos), "%s pos %g lane %d: %.17g vs %.17g",
                          roles[r], pos, d, y[d], jnum(want, (size_t)d));
                cr_assert(close_abs(f[d], jnum(want, (size_t)d), 3e-6), "scalar %s pos %g lane %d", roles[r], pos, d);
            }
            if (pos <= 4095)
                cr_assert_eq(scale, 1.0, "pos %g: no scaling up to p + 1 = L", pos);
            else
                cr_assert_gt(scale, 1.0, "pos %g: scaled beyond L", pos);
        }
        ref_case_free(c);
    }
    /* The key side stays a pure rotation: its norm is the input's. */
    pecs_case *c = ref_case("rope.entropy_abf", "role", "key", (const char *)NULL);
    double pos = 1e6, n0 = 0.0, n1 = 0.0;
    ref_rotate(c, 1, 1, D, x, 1, &pos, y);
    for (int d = 0; d < D; d++)
        n0 += x[d] * x[d], n1 += y[d] * y[d];
    cr_assert(fabs(n0 - n1) < 1e-12 * n0);
    ref_case_free(c);
}

/* ---- rope.string --------------------------------------------------------------------------------------- */

/* STRING's three rotations (neighbour-pass query, shifted-pass query, key) with S = 100, W = 8 on a 128-wide head
 * at theta 1e6, through the reference and the scalar backend; then the logit identity the method rests on:
 * q_shifted(m) . k(n) = attn^2 * (RoPE logit at distance m - n - S + W). Catches: the shift's sign flipped
 * (p + S - W), the shift applied to keys instead of queries (the logit then sees m - n + S - W), and the attention
 * factor on one side only (attn instead of attn^2 in the logit). */
Test(t2, kat_rope_string_shifted_queries)
{
    json_t *j = kat("rope_string"), *xs = jget(j, "x"), *rows = jget(j, "rows");
    enum { D = 128 };
    double x[D], y[D], f[D];
    for (int d = 0; d < D; d++)
        x[d] = jnum(xs, (size_t)d);
    static const char *const roles[] = {"query", "shifted", "key"};
    for (int r = 0; r < 3; r++) {
        pecs_case *c = ref_case("rope.string", "pairing", "half", "base", "1000000", "shifted_offset", "100", "local_value", "8",
                                "role", roles[r], (const char *)NULL);
        for (size_t k = 0; k < json_array_size(rows); k++) {
            json_t *row = json_array_get(rows, k), *want = jget(row, roles[r]);
            double pos = jreal(row, "pos");
            ref_rotate(c, 1, 1, D, x, 1, &pos, y);
            scalar_rotate(c, 1, 1, D, x, 1, &pos, f);
            for (int d = 0; d < D; d++) {
                cr_assert(close_abs(y[d], jnum(want, (size_t)d), 1e-13 + 4e-16 * pos), "%s pos %g lane %d: %.17g vs %.17g",
                          roles[r], pos, d, y[d], jnum(want, (size_t)d));
                cr_assert(close_abs(f[d], jnum(want, (size_t)d), 3e-6), "scalar %s pos %g lane %d", roles[r], pos, d);
            }
        }
        ref_case_free(c);
    }
    /* The logit identity, with different q and k vectors. */
    pecs_case *qs = ref_case("rope.string", "shifted_offset", "100", "local_value", "8", "role", "shifted", (const char *)NULL);
    pecs_case *kk = ref_case("rope.string", "shifted_offset", "100", "local_value", "8", "role", "key", (const char *)NULL);
    pecs_case *plain = ref_case("rope", (const char *)NULL);
    double q[D], kv[D], a[D], b[D], pq[D], pk[D];
    for (int d = 0; d < D; d++)
        q[d] = cos(0.3 * d), kv[d] = sin(0.17 * d + 1.0);
    double m = 5000, n = 700, dist = m - n - 100 + 8, zero = 0;
    ref_rotate(qs, 1, 1, D, q, 1, &m, a);
    ref_rotate(kk, 1, 1, D, kv, 1, &n, b);
    ref_rotate(plain, 1, 1, D, q, 1, &dist, pq);
    ref_rotate(plain, 1, 1, D, kv, 1, &zero, pk);
    double lhs = 0, rhs = 0, attn = 0.1 * log(2.0) + 1.0;
    for (int d = 0; d < D; d++)
        lhs += a[d] * b[d], rhs += pq[d] * pk[d];
    cr_assert(fabs(lhs - attn * attn * rhs) < 1e-11, "shifted logit %.17g vs attn^2 * RoPE(m-n-S+W) %.17g", lhs, attn * attn * rhs);
    ref_case_free(qs), ref_case_free(kk), ref_case_free(plain);
}

/* ---- rope.mspoe ---------------------------------------------------------------------------------------- */

/* Ms-PoE on 4 query heads with head order [2,0,3,1] and, for the keys, 2 KV heads (kv_groups 2), ratios
 * 1.2..1.8 divided by num_heads, through the reference and the scalar backend. Catches: the inverse permutation
 * (head order[h] taking ratio h: [2,0,3,1] is not an involution), ratios spread over H-1 instead of H, the keys
 * of a GQA group taking the ratio of the group's last query head, and positions multiplied by r. */
Test(t2, kat_rope_mspoe_head_order)
{
    json_t *j = kat("rope_mspoe"), *xs = jget(j, "x"), *rows = jget(j, "rows");
    enum { D = 16, HQ = 4, HK = 2 };
    double x[HQ * D], y[HQ * D], f[HQ * D];
    for (int h = 0; h < HQ; h++)
        for (int d = 0; d < D; d++)
            x[h * D + d] = jnum(json_array_get(xs, (size_t)h), (size_t)d);
    static const char *const roles[] = {"query", "key"};
    for (int r = 0; r < 2; r++) {
        pecs_case *c = ref_case("rope.mspoe", "pairing", "half", "head_order", "2,0,3,1", "kv_groups", "2", "role", roles[r],
                                (const char *)NULL);
        int64_t H = r ? HK : HQ;
        for (size_t k = 0; k < json_array_size(rows); k++) {
            json_t *row = json_array_get(rows, k), *want = jget(row, r ? "k" : "q");
            double pos = jreal(row, "pos");
            ref_rotate(c, 1, H, D, x, 1, &pos, y);
            scalar_rotate(c, 1, H, D, x, 1, &pos, f);
            for (int64_t h = 0; h < H; h++)
                for (int d = 0; d < D; d++) {
                    double w = jnum(json_array_get(want, (size_t)h), (size_t)d);
                    cr_assert(close_abs(y[h * D + d], w, 1e-13 + 4e-16 * pos), "%s pos %g head %lld lane %d: %.17g vs %.17g",
                              roles[r], pos, (long long)h, d, y[h * D + d], w);
                    cr_assert(close_abs(f[h * D + d], w, 3e-6), "scalar %s pos %g head %lld lane %d", roles[r], pos,
                              (long long)h, d);
                }
        }
        ref_case_free(c);
    }
    /* A head_order that is not a permutation of 0..H_q-1 is rejected when the case is checked. */
    pecs_case *bad = ref_case("rope.mspoe", "head_order", "0,0,1,2", (const char *)NULL);
    pecs_problem p = ref_problem(bad);
    char why[256] = "";
    cr_assert_eq(pecs_ref_check(&p, 4, 16, NULL, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "permutation"), "%s", why);
    ref_case_free(bad);
}

/* ---- rope.mhrope --------------------------------------------------------------------------------------- */

/* MHRoPE on 4 KV heads (t, h, w, NoPE) and 8 query heads (kv_groups 2), a text token and two video tokens,
 * through the reference and the scalar backend. Catches: query heads tiled (h % 4) instead of interleaved
 * (h / 2), the NoPE head rotated (by t), and the axis split over frequency chunks as M-RoPE. */
Test(t2, kat_rope_mhrope_heads)
{
    json_t *j = kat("rope_mhrope"), *xq = jget(j, "xq"), *xk = jget(j, "xk"), *rows = jget(j, "rows");
    enum { D = 16, HQ = 8, HK = 4 };
    static const char *const roles[] = {"query", "key"};
    for (int r = 0; r < 2; r++) {
        int64_t H = r ? HK : HQ, T = (int64_t)json_array_size(rows);
        double *x = malloc((size_t)(T * H * D) * sizeof *x), *y = malloc((size_t)(T * H * D) * sizeof *y),
               *f = malloc((size_t)(T * H * D) * sizeof *f), *pos = malloc((size_t)(3 * T) * sizeof *pos);
        for (int64_t t = 0; t < T; t++) {
            for (int64_t h = 0; h < H; h++)
                for (int d = 0; d < D; d++)
                    x[(t * H + h) * D + d] = jnum(json_array_get(r ? xk : xq, (size_t)h), (size_t)d);
            for (int a = 0; a < 3; a++)
                pos[a * T + t] = jnum(jget(json_array_get(rows, (size_t)t), "pos"), (size_t)a);
        }
        pecs_case *c = ref_case("rope.mhrope", "pairing", "half", "head_sections", "1,1,1", "kv_groups", "2", "role", roles[r],
                                (const char *)NULL);
        ref_rotate(c, T, H, D, x, 3, pos, y);
        scalar_rotate(c, T, H, D, x, 3, pos, f);
        for (int64_t t = 0; t < T; t++) {
            json_t *want = jget(json_array_get(rows, (size_t)t), r ? "k" : "q");
            for (int64_t h = 0; h < H; h++)
                for (int d = 0; d < D; d++) {
                    double w = jnum(json_array_get(want, (size_t)h), (size_t)d);
                    cr_assert(close_abs(y[(t * H + h) * D + d], w, 1e-13), "%s token %lld head %lld lane %d: %.17g vs %.17g",
                              roles[r], (long long)t, (long long)h, d, y[(t * H + h) * D + d], w);
                    cr_assert(close_abs(f[(t * H + h) * D + d], w, 2e-6), "scalar %s token %lld head %lld lane %d", roles[r],
                              (long long)t, (long long)h, d);
                }
            int64_t nope = r ? 3 : 6; /* KV head 3 and its query heads 6, 7 are copied */
            for (int d = 0; d < D; d++)
                cr_assert_eq(y[(t * H + nope) * D + d], x[(t * H + nope) * D + d], "NoPE head %lld must be copied", (long long)nope);
        }
        ref_case_free(c);
        free(x), free(y), free(f), free(pos);
    }
    /* More heads in the sections than KV heads is an error. */
    pecs_case *bad = ref_case("rope.mhrope", "head_sections", "2,2,1", (const char *)NULL);
    pecs_problem p = ref_problem(bad);
    char why[256] = "";
    cr_assert_eq(pecs_ref_check(&p, 4, 16, NULL, why, sizeof why), PECS_INVALID);
    ref_case_free(bad);
}

/* ---- rope.plusplus -------------------------------------------------------------------------------------- */

/* The authors' imaginary query, q sin(a) - rotate_half(q) cos(a) with a = cat(freqs, freqs) and rotate_half(x) =
 * cat(-x[D/2:], x[:D/2]) (alphaXiv/rope_pp rope_pp/modeling_llama_rope_pp.py apply_rotary_pos_emb), written out
 * lane by lane for one head of D lanes at position pos: an independent transcription, not the pair rotation. */
static void plusplus_imag_by_code(const double *x, int64_t D, const double *inv, double pos, double *y)
{
    for (int64_t d = 0; d < D; d++) {
        double a = pos * inv[d % (D / 2)], rh = d < D / 2 ? -x[d + D / 2] : x[d - D / 2];
        y[d] = x[d] * sin(a) - rh * cos(a);
    }
}

/* Five heads of D = 4 (base 10000: inv_freq 1 and 0.01), half pairing, every imag selection, through the reference and
 * the scalar backend. At position 0 a real head is x and an imaginary head is -rotate_half(x) = [x2, x3, -x0, -x1],
 * exactly; at position 2 the imaginary heads are the code's expression above. Catches: the wrong heads imaginary
 * (upper taken as h > H/2 or h >= (H+1)/2 with H = 5: head 2 is imaginary; odd as the even heads), the imaginary sign
 * flipped (q sin + rotate_half(q) cos gives [-x2, -x3, x0, x1] at 0), and keys turned (role=key must stay real). */
Test(t2, rope_plusplus_known_answer)
{
    enum { T = 2, H = 5, D = 4 };
    static const char *const modes[] = {"none", "all", "upper", "odd"};
    static const int imag_of[4][H] = {{0, 0, 0, 0, 0}, {1, 1, 1, 1, 1}, {0, 0, 1, 1, 1}, {0, 1, 0, 1, 0}};
    static const double inv[D / 2] = {1.0, 0.01}, pos[T] = {0.0, 2.0};
    double x[T * H * D], y[T * H * D], f[T * H * D], want[D];
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++)
            for (int d = 0; d < D; d++)
                x[(t * H + h) * D + d] = (double)(d + 1) * (h % 2 ? -1.0 : 1.0) + 0.25 * (double)h;
    for (int m = 0; m < 8; m++) { /* modes 4..7: the same selections with role=key, every head real */
        pecs_case *c = ref_case("rope.plusplus", "pairing", "half", "imag", modes[m % 4], "role", m < 4 ? "query" : "key",
                                (const char *)NULL);
        ref_rotate(c, T, H, D, x, 1, pos, y);
        scalar_rotate(c, T, H, D, x, 1, pos, f);
        for (int64_t h = 0; h < H; h++) {
            const double *x0 = x + h * D, *x1 = x + (H + h) * D;
            int imag = m < 4 && imag_of[m][h];
            for (int d = 0; d < D; d++) { /* position 0: exact */
                double w = imag ? (d < 2 ? x0[d + 2] : -x0[d - 2]) : x0[d];
                cr_assert(y[h * D + d] == w && f[h * D + d] == w, "%s/%s head %lld lane %d at 0: %g, scalar %g, want %g",
                          modes[m % 4], m < 4 ? "query" : "key", (long long)h, d, y[h * D + d], f[h * D + d], w);
            }
            if (imag)
                plusplus_imag_by_code(x1, D, inv, pos[1], want);
            else
                rotate_by(x1, D, inv, pos[1], 1, 1.0, want);
            for (int d = 0; d < D; d++) {
                double got = y[(H + h) * D + d], gs = f[(H + h) * D + d];
                cr_assert(close_abs(got, want[d], 1e-14), "%s head %lld lane %d at 2: %.17g vs %.17g", modes[m % 4], (long long)h,
                          d, got, want[d]);
                cr_assert(close_abs(gs, want[d], 2e-6), "scalar %s head %lld lane %d at 2", modes[m % 4], (long long)h, d);
            }
        }
        ref_case_free(c);
    }
}

/* On Llama-like heads (D = 128, base 500000), both pairings, positions to 131071: an imaginary head equals the real
 * rotation at a_i - pi/2, computed here independently with libm (cos(a - pi/2), sin(a - pi/2)), and a real head is
 * plain `rope` bit for bit. Catches a quarter turn the wrong way (a + pi/2: the sign flip), a half turn, and a
 * turn applied to the frequencies' lanes of one half only. */
Test(t2, rope_plusplus_imag_is_rope_a_quarter_turn_back)
{
    enum { H = 2, D = 128 };
    double x[H * D], y[H * D], f[H * D], r[H * D];
    for (int64_t i = 0; i < H * D; i++)
        x[i] = sin(0.37 * (double)(i + 1)) * 0.9 + 0.05;
    static const double positions[] = {0, 7, 4097, 131071};
    for (int half = 0; half < 2; half++) {
        const char *pairing = half ? "half" : "interleaved";
        pecs_case *c = ref_case("rope.plusplus", "pairing", pairing, "base", "500000", "imag", "odd", (const char *)NULL);
        pecs_case *plain = ref_case("rope", "pairing", pairing, "base", "500000", (const char *)NULL);
        for (int k = 0; k < 4; k++) {
            ref_rotate(c, 1, H, D, x, 1, &positions[k], y);
            scalar_rotate(c, 1, H, D, x, 1, &positions[k], f);
            ref_rotate(plain, 1, H, D, x, 1, &positions[k], r);
            for (int d = 0; d < D; d++)
                cr_assert(y[d] == r[d], "%s pos %g: head 0 (real) lane %d %.17g is not rope's %.17g", pairing, positions[k], d,
                          y[d], r[d]);
            for (int64_t i = 0; i < D / 2; i++) {
                double a = positions[k] * pow(500000.0, -2.0 * (double)i / (double)D) - PECS_PI / 2;
                int64_t la = half ? i : 2 * i, lb = half ? i + D / 2 : 2 * i + 1;
                double xa = x[D + la], xb = x[D + lb];
                double wa = xa * cos(a) - xb * sin(a), wb = xa * sin(a) + xb * cos(a);
                cr_assert(close_abs(y[D + la], wa, 1e-10) && close_abs(y[D + lb], wb, 1e-10),
                          "%s pos %g pair %lld: (%.17g, %.17g) vs rope at a - pi/2 (%.17g, %.17g)", pairing, positions[k],
                          (long long)i, y[D + la], y[D + lb], wa, wb);
                cr_assert(close_abs(f[D + la], wa, 3e-6) && close_abs(f[D + lb], wb, 3e-6), "scalar %s pos %g pair %lld",
                          pairing, positions[k], (long long)i);
            }
        }
        ref_case_free(c), ref_case_free(plain);
    }
}

/* The relation the method rests on (the file's closing comment): an imaginary query at t against a real key at s
 * gives, per pair, (q . k) sin(w (t - s)) - (q_a k_b - q_b k_a) cos(w (t - s)): relative. Checked at (t, s) = (5, 2),
 * (100005, 100002) and (40, 1000) on the reference and the scalar backend (D = 64, base 10000). The sign-flipped
 * kernel (q sin + rotate_half(q) cos, the plusplus_imag_sign mutant) is computed too: its logit misses the identity
 * and is not relative. */
Test(t2, rope_plusplus_imaginary_logit_identity)
{
    enum { D = 64 };
    pecs_case *qc = ref_case("rope.plusplus", "pairing", "half", "imag", "all", (const char *)NULL);
    pecs_case *kc = ref_case("rope.plusplus", "pairing", "half", "imag", "all", "role", "key", (const char *)NULL);
    double q[D], k[D], qa[D], kb[D], qf[D], kf[D], inv[D / 2];
    for (int d = 0; d < D; d++)
        q[d] = cos(0.3 * d) + 0.1, k[d] = sin(0.17 * d + 1.0);
    for (int i = 0; i < D / 2; i++)
        inv[i] = pow(10000.0, -2.0 * i / (double)D);
    static const double ts[][2] = {{5, 2}, {100005, 100002}, {40, 1000}};
    double wrong[3];
    for (int n = 0; n < 3; n++) {
        double t = ts[n][0], s = ts[n][1], lhs = 0, lf = 0, rhs = 0, bad = 0;
        ref_rotate(qc, 1, 1, D, q, 1, &t, qa);
        ref_rotate(kc, 1, 1, D, k, 1, &s, kb);
        scalar_rotate(qc, 1, 1, D, q, 1, &t, qf);
        scalar_rotate(kc, 1, 1, D, k, 1, &s, kf);
        for (int i = 0; i < D / 2; i++) {
            int a = i, b = i + D / 2;
            double w = inv[i] * (t - s);
            rhs += (q[a] * k[a] + q[b] * k[b]) * sin(w) - (q[a] * k[b] - q[b] * k[a]) * cos(w);
            double at = inv[i] * t, as = inv[i] * s; /* the flipped kernel: (c, s) = (sin at, +cos at) */
            double ya = q[a] * sin(at) - q[b] * cos(at), yb = q[a] * cos(at) + q[b] * sin(at);
            bad += ya * (k[a] * cos(as) - k[b] * sin(as)) + yb * (k[a] * sin(as) + k[b] * cos(as));
        }
        for (int d = 0; d < D; d++)
            lhs += qa[d] * kb[d], lf += qf[d] * kf[d];
        cr_assert(fabs(lhs - rhs) < 1e-11, "(t, s) = (%g, %g): logit %.17g vs (q.k) sin - (q x k) cos = %.17g", t, s, lhs, rhs);
        cr_assert(fabs(lf - rhs) < 1e-4, "scalar (t, s) = (%g, %g): %.9g vs %.9g", t, s, lf, rhs);
        cr_assert(fabs(bad - rhs) > 1e-3, "the sign-flipped kernel must miss at (%g, %g): %g vs %g", t, s, bad, rhs);
        wrong[n] = bad;
    }
    cr_assert(fabs(wrong[0] - wrong[1]) > 1e-3, "the flipped kernel is not relative: %g vs %g at t - s = 3", wrong[0], wrong[1]);
    ref_case_free(qc), ref_case_free(kc);
}

/* The long-context schedules of the authors' scripts: rope_config factor 8 (inv_freq / 8, no gain) and yarn factor
 * 32 (gamma = clip((4096 inv_freq / 2pi - 1) / 31, 0, 1), inv_freq (1 - gamma) / 32 + gamma inv_freq, gain
 * 0.1 ln 32 + 1), on D = 128 at base 10000. Catches the ramp inverted (high frequencies interpolated), HF YaRN's
 * ramp in its place (the same ends, r = 1 and 32, but linear in the pair index between floor/ceil-ed correction
 * dimensions 20 and 46: pair 30 would keep about 0.6 of its frequency unscaled, not gamma = 0.248), and the gain
 * missing. */
Test(t2, rope_plusplus_linear_and_yarn_schedules)
{
    enum { D = 128 };
    for (int yarn = 0; yarn < 2; yarn++) {
        double s = yarn ? 32.0 : 8.0;
        pecs_case *c = ref_case("rope.plusplus", "yarn", yarn ? "true" : "false", "factor", yarn ? "32" : "8", (const char *)NULL);
        pecs_ref_rot sc;
        schedule(c, D, &sc);
        int kept = 0, scaled = 0;
        for (int i = 0; i < D / 2; i++) {
            double w = pow(10000.0, -2.0 * i / (double)D), r = 4096.0 * w / (2 * PECS_PI);
            double g = yarn ? (r < 1 ? 0.0 : r > 32 ? 1.0 : (r - 1) / 31) : 0.0, want = g * w + (1 - g) * w / s;
            cr_assert(close_abs(sc.inv_freq[i], want, 1e-15 * want), "%s pair %d: %.17g vs %.17g", yarn ? "yarn" : "linear", i,
                      sc.inv_freq[i], want);
            kept += g == 1.0, scaled += g == 0.0;
        }
        cr_assert(!yarn || (kept > 0 && scaled > 0 && kept + scaled < D / 2), "yarn: kept %d, scaled %d, blended the rest", kept,
                  scaled);
        cr_assert(close_abs(sc.attn, yarn ? 0.1 * log(32.0) + 1.0 : 1.0, 1e-15), "attn %.17g", sc.attn);
        pecs_ref_rot_free(&sc);
        ref_case_free(c);
    }
}
