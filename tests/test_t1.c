/* tests/test_t1.c — known answers and properties of the tier-1 encodings.
 *
 * Known answers come from the JSON files in tests/data/kat, written by tests/kat/gen_kat.py: an independent Python
 * transcription of the authors' or the canonical engine's code (sources in each file and in the
 * reference headers). Each test says which plausible wrong implementation it catches; where that is not
 * obvious from the numbers, the test also computes the wrong variant and shows that it misses.
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
#include "gen.h"
#include "reference.h"
#include "refutil.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------------------ */

static json_t *kat(const char *name)
{
    char path[512], rel[128];
    snprintf(rel, sizeof rel, "tests/data/kat/%s", name);
    json_error_t err;
    json_t *j = json_load_file(tu_src(path, sizeof path, rel), 0, &err);
    cr_assert_not_null(j, "%s: %s (line %d)", path, err.text, err.line);
    return j;
}

/* j[k1][k2]... as an array or number; NULL keys end the path. */
static json_t *jget(json_t *j, const char *k1, const char *k2)
{
    json_t *v = json_object_get(j, k1);
    if (v && k2)
        v = json_object_get(v, k2);
    cr_assert_not_null(v, "KAT field %s%s%s missing", k1, k2 ? "." : "", k2 ? k2 : "");
    return v;
}

static double jnum(json_t *a, size_t i) { return json_number_value(json_array_get(a, i)); }

/* "v0,v1,..." with every digit needed to round-trip (a list-typed parameter's text). */
static char *jlist(json_t *a)
{
    size_t n = json_array_size(a), cap = n * 26 + 1;
    char *s = calloc(cap, 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(s);
        snprintf(s + len, cap - len, "%s%.17g", i ? "," : "", jnum(a, i));
    }
    return s;
}

static int close_rel(double a, double b, double rel) { return fabs(a - b) <= rel * fmax(fabs(b), 1e-300); }


/* The schedule of rotate case c for rotary dim R (positions, if any, give seq_len). */
static void schedule(const pecs_case *c, int64_t R, pecs_ref_rot *s)
{
    pecs_problem p = ref_problem(c);
    char why[256] = "";
    cr_assert_eq(pecs_ref_rot_alloc(s, R), PECS_OK);
    cr_assert_eq(pecs_ref_schedule(&p, s, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

static void ref_run_ok(const pecs_case *c, pecs_tensor *t, int n)
{
    pecs_problem p = ref_problem(c);
    p.tensors = t, p.n_tensors = n;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s: %s", c->enc->id, why);
}

/* Run the built-in scalar backend on case c's parameters with tensors t (storage dtype dt). */
static void scalar_run_ok(const pecs_case *c, pecs_dtype dt, pecs_tensor *t, int n)
{
    pecs_loaded_backend *lb = ref_scalar_backend();
    char why[256] = "";
    pecs_problem p = ref_problem(c);
    p.dtype = dt, p.tensors = t, p.n_tensors = n;
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support %s: %s", c->enc->id, why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
}

/* ---- frequency schedules --------------------------------------------------------------------------------- */

/* Llama-3.1-8B inv_freq against HF's rule. Catches: no smoothing in the medium band (it takes either the
 * scaled or the unscaled value there; both are shown to miss), and the bands swapped. */
Test(t1, kat_llama3_schedule)
{
    json_t *j = kat("llama3.json"), *want = jget(j, "inv_freq", NULL), *plain = jget(j, "inv_freq_default", NULL);
    pecs_case *c = ref_case("rope.llama3", (const char *)NULL); /* registry defaults are Llama 3.1's */
    pecs_ref_rot s;
    schedule(c, 128, &s);
    int medium = 0;
    for (size_t i = 0; i < 64; i++) {
        cr_assert(close_rel(s.inv_freq[i], jnum(want, i), 1e-15), "pair %zu: %.17g vs %.17g", i, s.inv_freq[i], jnum(want, i));
        if (!close_rel(jnum(want, i), jnum(plain, i), 1e-9) && !close_rel(jnum(want, i), jnum(plain, i) / 8.0, 1e-9))
            medium++;
    }
    cr_assert_eq(medium, 6, "the medium band of Llama 3.1 is pairs 29..34: %d pairs blend", medium);
    cr_assert_eq(s.attn, 1.0);
    pecs_ref_rot_free(&s);
    ref_case_free(c);
    json_decref(j);
}

/* Phi-3-mini-128k: short factors up to and including seq_len = original (4096), long ones after; the
 * attention factor sqrt(1 + ln 32 / ln 4096) with either list. Catches the switch written as >=, and the
 * attention factor applied only with the long factors. */
Test(t1, kat_longrope_switch_at_original)
{
    json_t *j = kat("longrope.json");
    char *sf = jlist(jget(j, "short_factor", NULL)), *lf = jlist(jget(j, "long_factor", NULL));
    static const char *const lens[] = {"4095", "4096", "4097"};
    for (int k = 0; k < 3; k++) {
        pecs_case *c = ref_case("rope.longrope", "short_factor", sf, "long_factor", lf, "original_max_position", "4096",
                                "max_position", "131072", "seq_len", lens[k], (const char *)NULL);
        pecs_ref_rot s;
        schedule(c, 96, &s);
        json_t *want = jget(j, k < 2 ? "inv_freq_short" : "inv_freq_long", NULL);
        for (size_t i = 0; i < 48; i++)
            cr_assert(close_rel(s.inv_freq[i], jnum(want, i), 1e-15), "seq_len %s pair %zu: %.17g vs %.17g", lens[k], i,
                      s.inv_freq[i], jnum(want, i));
        cr_assert(close_rel(s.attn, json_number_value(jget(j, "attention_factor", NULL)), 1e-15), "attn %.17g", s.attn);
        pecs_ref_rot_free(&s);
        ref_case_free(c);
    }
    free(sf);
    free(lf);
    json_decref(j);
}

/* Dynamic NTK at lengths below, at and above max_position (4096). Catches scaling below the limit (the
 * length not clamped to max_position) and using the length without the -(s-1) term. */
Test(t1, kat_dynamic_ntk)
{
    json_t *j = kat("dynamic_ntk.json"), *cases = jget(j, "cases", NULL);
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k);
        char len[32];
        snprintf(len, sizeof len, "%lld", (long long)json_integer_value(json_object_get(cs, "seq_len")));
        pecs_case *c = ref_case("rope.dynamic_ntk", "factor", "2", "max_position", "4096", "seq_len", len, (const char *)NULL);
        pecs_ref_rot s;
        schedule(c, 128, &s);
        json_t *want = jget(cs, "inv_freq", NULL);
        for (size_t i = 0; i < 64; i++)
            cr_assert(close_rel(s.inv_freq[i], jnum(want, i), 4e-15), "seq_len %s pair %zu: %.17g vs %.17g", len, i,
                      s.inv_freq[i], jnum(want, i));
        pecs_ref_rot_free(&s);
        ref_case_free(c);
    }
    json_decref(j);
}

/* YaRN: DeepSeek-V3 (mscale_all_dim: cos/sin factor 1, softmax scale x1.874), the same without truncation,
 * Llama-2 s=16, and the old HF correction range from max_position. Catches: mscale alone applied to
 * cos/sin when mscale_all_dim is set, truncation ignored, and corr_length silently fixed to one length. */
Test(t1, kat_yarn_variants)
{
    json_t *j = kat("yarn.json");
    struct {
        const char *name, *R, *kv[12];
    } v[] = {
        {"deepseek_v3_truncate", "64", {"factor", "40", "mscale", "1", "mscale_all_dim", "1", NULL}},
        {"deepseek_v3_no_truncate", "64", {"factor", "40", "mscale", "1", "mscale_all_dim", "1", "truncate", "false", NULL}},
        {"llama2_yarn_s16", "128", {"factor", "16", NULL}},
        {"llama2_yarn_s16_old_hf_corr_from_65536", "128",
         {"factor", "16", "corr_length", "max", "max_position", "65536", NULL}},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        json_t *cs = jget(jget(j, "cases", NULL), v[k].name, NULL), *want = jget(cs, "inv_freq", NULL);
        pecs_case *c = ref_case("rope.yarn", "original_max_position", "4096", (const char *)NULL);
        char why[256] = "";
        for (int i = 0; v[k].kv[i]; i += 2)
            cr_assert_eq(pecs_case_set(c, v[k].kv[i], v[k].kv[i + 1], why, sizeof why), PECS_OK, "%s", why);
        int64_t R = strtoll(v[k].R, NULL, 10);
        pecs_ref_rot s;
        schedule(c, R, &s);
        for (int64_t i = 0; i < R / 2; i++)
            cr_assert(close_rel(s.inv_freq[i], jnum(want, (size_t)i), 1e-15), "%s pair %lld: %.17g vs %.17g", v[k].name,
                      (long long)i, s.inv_freq[i], jnum(want, (size_t)i));
        json_t *af = json_object_get(cs, "hf_attention_factor") ? json_object_get(cs, "hf_attention_factor")
                                                                 : jget(cs, "attention_factor", NULL);
        cr_assert(close_rel(s.attn, json_number_value(af), 1e-15), "%s attn %.17g", v[k].name, s.attn);
        json_t *sm = json_object_get(cs, "softmax_scale_multiplier");
        cr_assert(close_rel(s.softmax_scale, sm ? json_number_value(sm) : 1.0, 1e-15), "%s softmax scale %.17g", v[k].name,
                  s.softmax_scale);
        pecs_ref_rot_free(&s);
        ref_case_free(c);
    }
    json_decref(j);
}

/* ---- xPos ------------------------------------------------------------------------------------------------ */

/* torchscale XPOS on a window of 5 tokens (centred exponent), queries and keys, and one decode step.
 * Catches: no centring (seq_len 0 is shown to miss), the key scale not inverted, and zeta over R/2. */
Test(t1, kat_xpos_torchscale)
{
    json_t *j = kat("xpos.json"), *x = jget(j, "params", "x");
    double xin[5 * 8], out[5 * 8];
    int64_t pos[5];
    for (int t = 0; t < 5; t++) {
        pos[t] = t;
        for (int d = 0; d < 8; d++)
            xin[t * 8 + d] = jnum(x, (size_t)d);
    }
    static const char *const roles[] = {"query", "key"};
    for (int r = 0; r < 2; r++) {
        pecs_case *c = ref_case("xpos", "role", roles[r], "seq_len", "5", (const char *)NULL);
        pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, 5, 1, 8, xin), ref_tensor("pos", PECS_DT_I64, 2, 1, 5, 0, pos),
                            ref_tensor("out", PECS_DT_F64, 3, 5, 1, 8, out)};
        ref_run_ok(c, t, 3);
        json_t *want = jget(j, roles[r], "out");
        for (int i = 0; i < 5; i++)
            for (int d = 0; d < 8; d++)
                cr_assert(close_rel(out[i * 8 + d], jnum(json_array_get(want, (size_t)i), (size_t)d), 1e-14),
                          "%s t=%d d=%d: %.17g vs %.17g", roles[r], i, d, out[i * 8 + d],
                          jnum(json_array_get(want, (size_t)i), (size_t)d));
        ref_case_free(c);
    }
    /* decode: one query at position 4 of the same window gives row 4 */
    pecs_case *c = ref_case("xpos", "seq_len", "5", (const char *)NULL);
    int64_t p4 = 4;
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, 1, 1, 8, xin), ref_tensor("pos", PECS_DT_I64, 2, 1, 1, 0, &p4),
                        ref_tensor("out", PECS_DT_F64, 3, 1, 1, 8, out)};
    ref_run_ok(c, t, 3);
    json_t *dec = json_array_get(jget(j, "query_decode_offset4", "out"), 0);
    for (int d = 0; d < 8; d++)
        cr_assert(close_rel(out[d], jnum(dec, (size_t)d), 1e-14), "decode d=%d", d);
    /* without centring the same query is off by zeta^(3/512) per pair: a real difference */
    pecs_case *nc = ref_case("xpos", (const char *)NULL);
    ref_run_ok(nc, t, 3);
    cr_assert(fabs(out[0] - jnum(dec, 0)) > 1e-5, "uncentred xPos must differ from torchscale's centred window");
    ref_case_free(c);
    ref_case_free(nc);
    json_decref(j);
}

/* ---- bias form ------------------------------------------------------------------------------------------- */

/* T5 buckets for key - query in -300..300 (bidirectional 32/128, causal 32/128, bidirectional 8/20), through
 * the reference and the scalar backend (float32 and double bucket arithmetic must agree there). A table
 * with table[b] = b makes the bias the bucket itself. Catches query - key (the bidirectional buckets are
 * asymmetric: checked), and a missing clamp to nb - 1. */
Test(t1, kat_t5_buckets)
{
    json_t *j = kat("t5.json"), *cases = jget(j, "cases", NULL);
    int64_t qpos = 300, kpos[601];
    for (int i = 0; i < 601; i++)
        kpos[i] = i; /* rel = kpos - qpos = -300..300 */
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *cs = json_array_get(cases, k), *want = json_object_get(cs, "buckets");
        int nb = (int)json_integer_value(json_object_get(cs, "num_buckets"));
        char nbs[16], mds[16];
        snprintf(nbs, sizeof nbs, "%d", nb);
        snprintf(mds, sizeof mds, "%lld", (long long)json_integer_value(json_object_get(cs, "max_distance")));
        pecs_case *c = ref_case("t5", "num_buckets", nbs, "max_distance", mds, "bidirectional",
                                json_is_true(json_object_get(cs, "bidirectional")) ? "true" : "false", (const char *)NULL);
        double table64[64], out64[601];
        float table32[64], out32[601];
        for (int b = 0; b < nb; b++)
            table64[b] = table32[b] = (float)b;
        pecs_tensor t[4] = {ref_tensor("qpos", PECS_DT_I64, 1, 1, 0, 0, &qpos), ref_tensor("kpos", PECS_DT_I64, 1, 601, 0, 0, kpos),
                            ref_tensor("w", PECS_DT_F64, 2, nb, 1, 0, table64), ref_tensor("out", PECS_DT_F64, 3, 1, 1, 601, out64)};
        ref_run_ok(c, t, 4);
        t[2] = ref_tensor("w", PECS_DT_F32, 2, nb, 1, 0, table32);
        t[3] = ref_tensor("out", PECS_DT_F32, 3, 1, 1, 601, out32);
        scalar_run_ok(c, PECS_DT_F32, t, 4);
        for (int i = 0; i < 601; i++) {
            double b = jnum(want, (size_t)i);
            cr_assert_eq(out64[i], b, "case %zu rel %d: reference bucket %g, HF %g", k, i - 300, out64[i], b);
            cr_assert_eq((double)out32[i], b, "case %zu rel %d: scalar bucket %g, HF %g", k, i - 300, (double)out32[i], b);
        }
        if (json_is_true(json_object_get(cs, "bidirectional")))
            cr_assert_neq(jnum(want, 300 + 5), jnum(want, 300 - 5), "sign of rel must matter");
        ref_case_free(c);
    }
    json_decref(j);
}

/* KERPLE log and power for two heads at distances 0..5 and 1000, and 0 above the diagonal (tril). Catches
 * r1/r2 swapped between the two kernels (the authors' names swap) and |i-j| above the diagonal. */
Test(t1, kat_kerple)
{
    json_t *j = kat("kerple.json"), *dist = jget(j, "distances", NULL);
    static const char *const ids[] = {"kerple.log", "kerple.power"}, *const keys[] = {"log_bias", "power_bias"};
    size_t nd = json_array_size(dist);
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case(ids[v], "r1", "1.5,0.3", "r2", "0.8,1.7", "heads", "2", (const char *)NULL);
        double q[8], k0 = 0.0, out[2 * 8];
        for (size_t i = 0; i < nd; i++)
            q[i] = jnum(dist, i);
        pecs_tensor t[3] = {ref_tensor("qpos", PECS_DT_F64, 1, (int64_t)nd, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 1, 0, 0, &k0),
                            ref_tensor("out", PECS_DT_F64, 3, 2, (int64_t)nd, 1, out)};
        ref_run_ok(c, t, 3);
        for (int h = 0; h < 2; h++)
            for (size_t i = 0; i < nd; i++) {
                double want = jnum(json_array_get(jget(j, keys[v], NULL), (size_t)h), i);
                cr_assert(close_rel(out[(size_t)h * nd + i], want, 1e-14), "%s h%d d=%g: %.17g vs %.17g", ids[v], h, q[i],
                          out[(size_t)h * nd + i], want);
            }
        double q0 = 0.0, k3 = 3.0, above[2];
        t[0] = ref_tensor("qpos", PECS_DT_F64, 1, 1, 0, 0, &q0), t[1] = ref_tensor("kpos", PECS_DT_F64, 1, 1, 0, 0, &k3);
        t[2] = ref_tensor("out", PECS_DT_F64, 3, 2, 1, 1, above);
        ref_run_ok(c, t, 3);
        cr_assert(above[0] == 0.0 && above[1] == 0.0, "%s: a key after the query has distance 0 (tril)", ids[v]);
        ref_case_free(c);
    }
    json_decref(j);
}

/* The authors clamp r1, r2 with clamp(min=1e-2) on float32 parameters, which leaves float32(0.01) =
 * 0.009999999776482582 < 0.01. That value must be accepted (a case string with it parses and round-trips)
 * and computed: the clamped known answers of kerple.json (clamp_case), on the reference and the scalar
 * backend. Anything below it is rejected, not clamped. Catches a lower bound of 0.01 (the float32 clamp
 * value rejected), and a bound of 0 or a silent clamp (the value below accepted). */
Test(t1, kerple_accepts_the_authors_float32_clamp)
{
    const double eps = (double)(float)0.01;
    cr_assert_eq(eps, 0.009999999776482582);
    json_t *j = kat("kerple.json"), *dist = jget(j, "distances", NULL), *cc = jget(j, "clamp_case", NULL);
    cr_assert_eq(json_number_value(jget(j, "params", "eps_clamp")), eps);
    static const char *const ids[] = {"kerple.log", "kerple.power"}, *const keys[] = {"log_bias", "power_bias"};
    /* clamp_case's raw inputs r1 = [0.001, 3], r2 = [2.5, 0] after the authors' clamps */
    static const char *const r2s[] = {"2.5,0.009999999776482582", "2,0.009999999776482582"};
    size_t nd = json_array_size(dist);
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case(ids[v], "r1", "0.009999999776482582,3", "r2", r2s[v], "heads", "2", (const char *)NULL);
        cr_assert_eq(c->params[0].list[0], eps, "%s: r1 must hold float32(0.01) exactly", ids[v]);
        char *str = pecs_case_format(c);
        cr_assert(strstr(str, "r1=0.009999999776482582,3"), "%s: the canonical string must carry the value: %s", ids[v], str);
        pecs_case back;
        char why[256] = "";
        cr_assert_eq(pecs_case_parse(&back, str, why, sizeof why), PECS_OK, "%s: %s", str, why);
        pecs_case_free(&back);
        free(str);
        double q[8], k0 = 0.0, out[2 * 8];
        float out32[2 * 8];
        for (size_t i = 0; i < nd; i++)
            q[i] = jnum(dist, i);
        pecs_tensor t[3] = {ref_tensor("qpos", PECS_DT_F64, 1, (int64_t)nd, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 1, 0, 0, &k0),
                            ref_tensor("out", PECS_DT_F64, 3, 2, (int64_t)nd, 1, out)};
        ref_run_ok(c, t, 3);
        t[2].dtype = PECS_DT_F32, t[2].data = out32;
        scalar_run_ok(c, PECS_DT_F32, t, 3);
        for (int h = 0; h < 2; h++)
            for (size_t i = 0; i < nd; i++) {
                double want = jnum(json_array_get(jget(cc, keys[v], NULL), (size_t)h), i);
                cr_assert(close_rel(out[(size_t)h * nd + i], want, 1e-14), "%s h%d d=%g: %.17g vs %.17g", ids[v], h, q[i],
                          out[(size_t)h * nd + i], want);
                cr_assert(fabs(out32[(size_t)h * nd + i] - want) <= 1e-6 * fmax(fabs(want), 1.0), "scalar %s h%d d=%g: %.9g vs %.17g",
                          ids[v], h, q[i], (double)out32[(size_t)h * nd + i], want);
            }
        /* One float32 step below the clamp is not a value the authors' kernel can see: rejected. */
        char below[64];
        snprintf(below, sizeof below, "%.17g", (double)nextafterf((float)0.01, 0.0f));
        static const char *const names[] = {"r1", "r2"};
        for (int n = 0; n < 2; n++) {
            why[0] = '\0';
            cr_assert_eq(pecs_case_set(c, names[n], below, why, sizeof why), PECS_INVALID, "%s %s=%s must be rejected",
                         ids[v], names[n], below);
            cr_assert(strstr(why, "0.009999999776482582"), "%s: the message names the bound: %s", ids[v], why);
        }
        ref_case_free(c);
    }
    json_decref(j);
}

/* FIRE with a 4-wide MLP on positions 0, 1, 600, 1000 (L = 512: the last two queries normalise by their
 * own position). Catches a normaliser of psi(L) for every query and |i-j| outside the log. */
Test(t1, kat_fire)
{
    json_t *j = kat("fire.json"), *pr = jget(j, "params", NULL);
    pecs_case *c = ref_case("fire", "hidden", "4", "heads", "2", (const char *)NULL);
    double w[4 * 5] = {0}, pos[4], out[2 * 4 * 4];
    for (int k = 0; k < 4; k++) {
        w[k] = jnum(json_object_get(pr, "W1"), (size_t)k);
        w[5 + k] = jnum(json_object_get(pr, "b1"), (size_t)k);
        for (int h = 0; h < 2; h++)
            w[(2 + h) * 5 + k] = jnum(json_array_get(json_object_get(pr, "W2"), (size_t)h), (size_t)k);
    }
    for (int h = 0; h < 2; h++)
        w[(2 + h) * 5 + 4] = jnum(json_object_get(pr, "b2"), (size_t)h);
    for (int i = 0; i < 4; i++)
        pos[i] = jnum(jget(j, "query_positions", NULL), (size_t)i);
    pecs_tensor t[4] = {ref_tensor("qpos", PECS_DT_F64, 1, 4, 0, 0, pos), ref_tensor("kpos", PECS_DT_F64, 1, 4, 0, 0, pos),
                        ref_tensor("w", PECS_DT_F64, 2, 4, 5, 0, w), ref_tensor("out", PECS_DT_F64, 3, 2, 4, 4, out)};
    ref_run_ok(c, t, 4);
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 4; i++)
            for (int k = 0; k <= i; k++) {
                double want = jnum(json_array_get(json_array_get(jget(j, "bias", NULL), (size_t)h), (size_t)i), (size_t)k);
                cr_assert(close_rel(out[(h * 4 + i) * 4 + k], want, 1e-13), "h%d i%d j%d: %.17g vs %.17g", h, i, k,
                          out[(h * 4 + i) * 4 + k], want);
            }
    ref_case_free(c);
    json_decref(j);
}

/* ALiBi's key-index form (+m*j, BLOOM and the authors' code) differs from -m(i-j) by a row constant: equal
 * after softmax, not before. Catches a suite that compares it raw (fails) or a kernel that drops the row
 * constant's sign (softmax then differs). */
Test(t1, alibi_key_index_equal_after_softmax_only)
{
    pecs_case *rel = ref_case("alibi", (const char *)NULL), *key = ref_case("alibi", "variant", "key_index", (const char *)NULL);
    double q[3] = {5, 9, 12}, k[6] = {0, 2, 3, 7, 9, 12}, a[5 * 3 * 6], b[5 * 3 * 6];
    pecs_tensor t[3] = {ref_tensor("qpos", PECS_DT_F64, 1, 3, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 6, 0, 0, k),
                        ref_tensor("out", PECS_DT_F64, 3, 5, 3, 6, a)};
    ref_run_ok(rel, t, 3);
    t[2].data = b;
    ref_run_ok(key, t, 3);
    double raw = 0.0;
    for (int i = 0; i < 90; i++)
        raw = fmax(raw, fabs(a[i] - b[i]));
    cr_assert_gt(raw, 0.1, "raw biases must differ");
    pecs_softmax_rows(a, 15, 6);
    pecs_softmax_rows(b, 15, 6);
    for (int i = 0; i < 90; i++)
        cr_assert(fabs(a[i] - b[i]) < 1e-15, "probabilities must agree at %d: %g vs %g", i, a[i], b[i]);
    ref_case_free(rel);
    ref_case_free(key);
}

/* ---- mask, embed, scores ------------------------------------------------------------------------------- */

/* A window of W shows exactly W keys (the query and W-1 before it), also through the scalar backend.
 * Catches the W+1-key convention (i - j <= W) of HF's old flash-attention path. */
Test(t1, mask_window_shows_exactly_window_keys)
{
    pecs_case *c = ref_case("mask.window", "window", "3", (const char *)NULL);
    double q[4] = {10, 11, 12, 13}, k[14], out[4 * 14];
    float out32[4 * 14];
    for (int j = 0; j < 14; j++)
        k[j] = j;
    pecs_tensor t[3] = {ref_tensor("qpos", PECS_DT_F64, 1, 4, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 14, 0, 0, k),
                        ref_tensor("out", PECS_DT_F64, 3, 1, 4, 14, out)};
    ref_run_ok(c, t, 3);
    t[2] = ref_tensor("out", PECS_DT_F32, 3, 1, 4, 14, out32);
    scalar_run_ok(c, PECS_DT_F32, t, 3);
    for (int i = 0; i < 4; i++) {
        int visible = 0, visible32 = 0;
        for (int j = 0; j < 14; j++) {
            visible += out[i * 14 + j] == 0.0;
            visible32 += out32[i * 14 + j] == 0.0f;
            if (out[i * 14 + j] != 0.0)
                cr_assert(isinf(out[i * 14 + j]) && out[i * 14 + j] < 0, "masked entries are -inf");
        }
        cr_assert_eq(visible, 3, "query %g sees %d keys", q[i], visible);
        cr_assert_eq(visible32, 3, "scalar: query %g sees %d keys", q[i], visible32);
        cr_assert_eq(out[i * 14 + (int)q[i]], 0.0, "a query sees itself");
    }
    ref_case_free(c);
}

/* learned: out = x + table[pos] row by row; nope: out = x exactly. Catches a gather off by one row. */
Test(t1, learned_gathers_its_row_and_nope_is_identity)
{
    pecs_case *c = ref_case("learned", "npos", "8", (const char *)NULL), *n = ref_case("nope", (const char *)NULL);
    double table[8 * 3], x[2 * 3] = {0.5, -1, 2, 3, 0.25, -0.5}, out[2 * 3];
    int64_t pos[2] = {5, 0};
    for (int i = 0; i < 24; i++)
        table[i] = i * 0.125;
    pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F64, 2, 2, 3, 0, x), ref_tensor("pos", PECS_DT_I64, 2, 1, 2, 0, pos),
                        ref_tensor("w", PECS_DT_F64, 2, 8, 3, 0, table), ref_tensor("out", PECS_DT_F64, 2, 2, 3, 0, out)};
    ref_run_ok(c, t, 4);
    for (int r = 0; r < 2; r++)
        for (int d = 0; d < 3; d++)
            cr_assert_eq(out[r * 3 + d], x[r * 3 + d] + table[pos[r] * 3 + d], "row %d d %d", r, d);
    pecs_tensor tn[3] = {t[0], t[1], t[3]};
    ref_run_ok(n, tn, 3);
    cr_assert(memcmp(out, x, sizeof x) == 0, "nope must copy x exactly");
    int64_t bad = 8;
    t[1] = ref_tensor("pos", PECS_DT_I64, 2, 1, 1, 0, &bad);
    t[0].shape[0] = t[3].shape[0] = 1;
    pecs_problem p = ref_problem(c);
    p.tensors = t, p.n_tensors = 4;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID, "position npos is outside the table");
    cr_assert(strstr(why, "outside the table"), "%s", why);
    ref_case_free(c);
    ref_case_free(n);
}

/* fairseq's padding row. A transcription of fairseq: get_embedding builds rows r = 0.. as
 * [sin(r w_i) | cos(r w_i)] (+ a zero column for odd D), w_i = exp(-i ln(10000)/(half-1)), and zeroes row
 * padding_idx; make_positions sends pad tokens to row padding_idx and real tokens to padding_idx+1+index.
 * The sequence [pad, pad, a, b, c, pad, d] with padding_idx 1 has rows [1, 1, 2, 3, 4, 1, 5]; pecs positions
 * are row - padding_idx - 1, so [-1, -1, 0, 1, 2, -1, 3]. The reference and every built-in backend must give
 * out = x exactly there (and the table row elsewhere); with padding_idx = -1, position -1 is an ordinary
 * sinusoid. Catches padding_idx that only shifts positions (the pad token gets sin/cos of row 1), a zero
 * row at the wrong position (0, or padding_idx itself), and a zero row without a padding index. */
Test(t1, sinusoidal_concat_fairseq_padding_row)
{
    enum { T = 7 };
    static const int is_pad[T] = {1, 1, 0, 0, 0, 1, 0}; /* pads in front (left padding) and one in between */
    static const int64_t dims[2] = {16, 9};
    const int64_t pad_idx = 1;
    for (int k = 0; k < 2; k++) {
        int64_t D = dims[k], half = D / 2;
        double pos[T], x[T * 16], out[T * 16], want[T * 16];
        int64_t row[T], n_real = 0;
        for (int t = 0; t < T; t++) { /* make_positions: cumsum of the non-pad mask, times the mask, + pad */
            n_real += !is_pad[t];
            row[t] = is_pad[t] ? pad_idx : n_real + pad_idx;
            pos[t] = (double)(row[t] - pad_idx - 1);
            for (int64_t d = 0; d < D; d++) {
                x[t * D + d] = 0.25 * (double)((t * 7 + d * 3) % 11) - 1.0;
                double w = exp((double)(d < half ? d : d - half) * -(log(10000.0) / (double)(half - 1)));
                double table = d == 2 * half ? 0.0 : d < half ? sin((double)row[t] * w) : cos((double)row[t] * w);
                want[t * D + d] = x[t * D + d] + (row[t] == pad_idx ? 0.0 : table);
            }
        }
        cr_assert_eq(pos[0], -1.0);
        char pad_s[8];
        snprintf(pad_s, sizeof pad_s, "%lld", (long long)pad_idx);
        pecs_case *c = ref_case("sinusoidal.concat", "padding_idx", pad_s, (const char *)NULL);
        pecs_tensor tt[3] = {ref_tensor("x", PECS_DT_F64, 2, T, D, 0, x), ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, pos),
                             ref_tensor("out", PECS_DT_F64, 2, T, D, 0, out)};
        ref_run_ok(c, tt, 3);
        for (int t = 0; t < T; t++)
            for (int64_t d = 0; d < D; d++) {
                if (is_pad[t])
                    cr_assert_eq(out[t * D + d], x[t * D + d], "D=%lld pad token %d: out must be x, got %.17g at %lld",
                                 (long long)D, t, out[t * D + d], (long long)d);
                else
                    cr_assert(fabs(out[t * D + d] - want[t * D + d]) < 1e-14, "D=%lld token %d (row %lld) d=%lld: %.17g vs %.17g",
                              (long long)D, t, (long long)row[t], (long long)d, out[t * D + d], want[t * D + d]);
            }
        /* Every built-in backend, in f32: a pad token's output is x bit for bit. */
        char names[256];
        snprintf(names, sizeof names, "%s", pecs_builtin_list());
        char *save = NULL;
        for (char *nm = strtok_r(names, " ", &save); nm; nm = strtok_r(NULL, " ", &save)) {
            pecs_loaded_backend lb;
            char why[256] = "";
            cr_assert_eq(pecs_backend_load(nm, &lb, why, sizeof why), PECS_OK, "%s: %s", nm, why);
            float x32[T * 16], o32[T * 16];
            for (int i = 0; i < T * D; i++)
                x32[i] = (float)x[i];
            pecs_tensor tb[3] = {ref_tensor("x", PECS_DT_F32, 2, T, D, 0, x32), ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, pos),
                                 ref_tensor("out", PECS_DT_F32, 2, T, D, 0, o32)};
            pecs_problem p = ref_problem(c);
            p.dtype = PECS_DT_F32, p.tensors = tb, p.n_tensors = 3;
            cr_assert(lb.b->supports(lb.b->ctx, &p, why, sizeof why), "%s: %s", nm, why);
            cr_assert_eq(lb.b->run(lb.b->ctx, &p), PECS_OK, "%s run", nm);
            for (int t = 0; t < T; t++)
                for (int64_t d = 0; d < D; d++) {
                    if (is_pad[t])
                        cr_assert(memcmp(&o32[t * D + d], &x32[t * D + d], sizeof(float)) == 0,
                                  "%s D=%lld pad token %d d=%lld: %.9g, want x = %.9g", nm, (long long)D, t, (long long)d,
                                  (double)o32[t * D + d], (double)x32[t * D + d]);
                    else
                        cr_assert(fabs(o32[t * D + d] - want[t * D + d]) < 1e-5, "%s D=%lld token %d d=%lld: %.9g vs %.17g", nm,
                                  (long long)D, t, (long long)d, (double)o32[t * D + d], want[t * D + d]);
                }
            pecs_backend_unload(&lb);
        }
        ref_case_free(c);
        /* No padding index: position -1 is the sinusoid of -1, not a zero row. */
        pecs_case *c0 = ref_case("sinusoidal.concat", (const char *)NULL);
        pecs_problem p0 = ref_problem(c0);
        double r[16];
        char why[256] = "";
        cr_assert_eq(pecs_ref_sinusoidal_concat(&p0, D, -1.0, (const double[1]){-1.0}, 0, r, why, sizeof why), PECS_OK, "%s", why);
        cr_assert(fabs(r[0] - sin(-1.0)) < 1e-15 && fabs(r[half] - cos(-1.0)) < 1e-15, "padding_idx=-1 at -1: %g %g", r[0],
                  r[half]);
        ref_case_free(c0);
    }
}

/* CoPE on 4 tokens with 3 position embeddings, through the reference and the scalar backend, with
 * division=content (the paper's listing) and division=all (the authors' RAM code: (q.k + z)/sqrt(D)).
 * Catches gates from unscaled logits, a forward (not reversed) cumulative sum, the query's own gate left
 * out, and the division parameter ignored (either way): the two known answers differ by 0.02 to 0.16 here,
 * and by exactly a factor 1/sqrt(D) = 1/2 on the position term, which the test checks on the same inputs. */
Test(t1, kat_cope)
{
    json_t *j = kat("cope.json"), *pr = jget(j, "params", NULL), *a = jget(j, "attn_logits", NULL);
    static const char *const division[2] = {"content", "all"}, *const key[2] = {"logits", "logits_division_all"};
    double q[16], k[16], e[12], pos[4] = {0, 1, 2, 3}, out[2][16];
    float q32[16], k32[16], e32[12], out32[2][16];
    for (int i = 0; i < 4; i++)
        for (int d = 0; d < 4; d++) {
            q32[i * 4 + d] = (float)(q[i * 4 + d] = jnum(json_array_get(json_object_get(pr, "q"), (size_t)i), (size_t)d));
            k32[i * 4 + d] = (float)(k[i * 4 + d] = jnum(json_array_get(json_object_get(pr, "k"), (size_t)i), (size_t)d));
        }
    for (int d = 0; d < 4; d++)
        for (int n = 0; n < 3; n++)
            e32[d * 3 + n] = (float)(e[d * 3 + n] = jnum(json_array_get(json_object_get(pr, "pos_emb_e_d_p"), (size_t)d), (size_t)n));
    for (int v = 0; v < 2; v++) {
        pecs_case *c = ref_case("cope", "npos", "3", "heads", "1", "head_dim", "4", "division", division[v], (const char *)NULL);
        pecs_tensor t[6] = {ref_tensor("q", PECS_DT_F64, 3, 4, 1, 4, q),     ref_tensor("k", PECS_DT_F64, 3, 4, 1, 4, k),
                            ref_tensor("qpos", PECS_DT_F64, 1, 4, 0, 0, pos), ref_tensor("kpos", PECS_DT_F64, 1, 4, 0, 0, pos),
                            ref_tensor("w", PECS_DT_F64, 2, 4, 3, 0, e),     ref_tensor("out", PECS_DT_F64, 3, 1, 4, 4, out[v])};
        ref_run_ok(c, t, 6);
        t[0].dtype = t[1].dtype = t[4].dtype = t[5].dtype = PECS_DT_F32;
        t[0].data = q32, t[1].data = k32, t[4].data = e32, t[5].data = out32[v];
        scalar_run_ok(c, PECS_DT_F32, t, 6);
        json_t *want = jget(j, key[v], NULL);
        for (int i = 0; i < 4; i++)
            for (int jj = 0; jj < 4; jj++) {
                json_t *w = json_array_get(json_array_get(want, (size_t)i), (size_t)jj);
                if (json_is_null(w)) {
                    cr_assert(isinf(out[v][i * 4 + jj]) && isinf(out32[v][i * 4 + jj]), "%s: masked (%d,%d) must be -inf",
                              division[v], i, jj);
                    continue;
                }
                cr_assert(close_rel(out[v][i * 4 + jj], json_number_value(w), 1e-14), "%s (%d,%d): %.17g vs %.17g",
                          division[v], i, jj, out[v][i * 4 + jj], json_number_value(w));
                cr_assert(fabs(out32[v][i * 4 + jj] - json_number_value(w)) < 1e-6, "scalar %s (%d,%d): %.9g vs %.17g",
                          division[v], i, jj, (double)out32[v][i * 4 + jj], json_number_value(w));
            }
        ref_case_free(c);
    }
    /* Same inputs: the content logits minus q.k/sqrt(D) are sqrt(D) = 2 times those of division=all. */
    double most = 0.0;
    for (int i = 0; i < 4; i++)
        for (int jj = 0; jj <= i; jj++) {
            double ai = jnum(json_array_get(a, (size_t)i), (size_t)jj), zc = out[0][i * 4 + jj] - ai,
                   za = out[1][i * 4 + jj] - ai;
            cr_assert(fabs(zc - 2.0 * za) <= 1e-15 * fmax(fabs(zc), 1.0), "(%d,%d): position terms %.17g and %.17g are not "
                      "in ratio sqrt(D) = 2", i, jj, zc, za);
            most = fmax(most, fabs(out[0][i * 4 + jj] - out[1][i * 4 + jj]));
        }
    cr_assert_gt(most, 0.05, "the two divisions must differ on these inputs (max difference %g)", most);
    json_decref(j);
}

/* ---- rotate properties on the scalar backend ----------------------------------------------------------- */

enum { ST = 6, SH = 2, SD = 64 };

/* Store doubles into dtype dt (rounded), and read back. */
static void to_dt(pecs_dtype dt, const double *src, void *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        pecs_store_f64(dst, dt, i, src[i]);
}

static void from_dt(pecs_dtype dt, const void *src, double *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = pecs_load_f64(src, dt, i);
}

/* Rotate (scalar backend) x at positions pos, storage dt. */
static void scalar_rotate_dt(const pecs_case *c, pecs_dtype dt, const double *x, const int64_t *pos, double *y)
{
    unsigned char xin[ST * SH * SD * 4], out[ST * SH * SD * 4];
    to_dt(dt, x, xin, ST * SH * SD);
    pecs_tensor t[3] = {ref_tensor("x", dt, 3, ST, SH, SD, xin), ref_tensor("pos", PECS_DT_I64, 2, 1, ST, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", dt, 3, ST, SH, SD, out)};
    scalar_run_ok(c, dt, t, 3);
    from_dt(dt, out, y, ST * SH * SD);
}

/* KV-cache shift: shift(rotate(k, p), d) = rotate(k, p + d) for negative, small and large deltas, in f32,
 * f16 and bf16 (each side rounded twice at most: the bound is two units of the strict tolerance). The
 * wrong-sign shift (rotate by -d) is shown to miss by far. Catches a shift kernel that rotates the wrong
 * way or applies the delta to the wrong pairs. */
Test(t1, rope_shift_composes_with_rope)
{
    static const pecs_dtype dts[] = {PECS_DT_F32, PECS_DT_F16, PECS_DT_BF16};
    static const double tol[] = {4e-6, 8e-3, 6.4e-2};
    static const int64_t deltas[] = {-4096, 17, 100000};
    pecs_case *rope = ref_case("rope", "pairing", "half", (const char *)NULL);
    pecs_case *shift = ref_case("rope.shift", "pairing", "half", (const char *)NULL);
    double k[ST * SH * SD], a[ST * SH * SD], b[ST * SH * SD], wrong[ST * SH * SD];
    int64_t p[ST], pd[ST], dpos[ST], neg[ST];
    for (int i = 0; i < ST * SH * SD; i++)
        k[i] = pecs_gen_uniform(7, 1, (uint64_t)i);
    for (size_t di = 0; di < 3; di++)
        for (size_t dd = 0; dd < 3; dd++) {
            for (int t = 0; t < ST; t++) {
                p[t] = 5000 + 37 * t;
                pd[t] = p[t] + deltas[dd];
                dpos[t] = deltas[dd];
                neg[t] = -deltas[dd];
            }
            scalar_rotate_dt(rope, dts[di], k, p, a);
            scalar_rotate_dt(shift, dts[di], a, dpos, b); /* a was read back from dts[di]: already rounded */
            scalar_rotate_dt(rope, dts[di], k, pd, a);
            scalar_rotate_dt(rope, dts[di], k, p, wrong);
            scalar_rotate_dt(shift, dts[di], wrong, neg, wrong);
            double err = 0.0, werr = 0.0;
            for (int i = 0; i < ST * SH * SD; i++) {
                err = fmax(err, fabs(a[i] - b[i]));
                werr = fmax(werr, fabs(a[i] - wrong[i]));
            }
            cr_assert(err <= tol[di], "%s delta %lld: shift(rotate(k,p)) vs rotate(k,p+d) differ by %g",
                      pecs_dtype_name(dts[di]), (long long)deltas[dd], err);
            cr_assert(werr > 0.1, "%s delta %lld: the wrong-sign shift must miss (%g)", pecs_dtype_name(dts[di]),
                      (long long)deltas[dd], werr);
        }
    ref_case_free(rope);
    ref_case_free(shift);
}

/* Text tokens (t = h = w) make M-RoPE and interleaved M-RoPE exactly 1-D RoPE, in the reference and in the
 * scalar backend (bitwise); distinct rows do not. Catches a kernel that reads only row 0 (equal on text,
 * caught on image tokens) and a frequency index reset per section (caught on text). */
Test(t1, mrope_text_tokens_are_rope)
{
    static const char *const ids[] = {"rope.mrope", "rope.imrope"};
    double x[ST * SH * SD], y0[ST * SH * SD], y1[ST * SH * SD];
    int64_t pos3[3 * ST];
    for (int i = 0; i < ST * SH * SD; i++)
        x[i] = pecs_gen_uniform(7, 2, (uint64_t)i);
    for (int t = 0; t < ST; t++)
        pos3[t] = pos3[ST + t] = pos3[2 * ST + t] = 100 + 3 * t;
    pecs_case *rope = ref_case("rope", "pairing", "half", (const char *)NULL);
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, ST, SH, SD, x), ref_tensor("pos", PECS_DT_I64, 2, 1, ST, 0, pos3),
                        ref_tensor("out", PECS_DT_F64, 3, ST, SH, SD, y0)};
    ref_run_ok(rope, t, 3);
    for (int e = 0; e < 2; e++) {
        pecs_case *c = ref_case(ids[e], "pairing", "half", "sections", "8,12,12", (const char *)NULL);
        t[1] = ref_tensor("pos", PECS_DT_I64, 2, 3, ST, 0, pos3);
        t[2].data = y1;
        ref_run_ok(c, t, 3);
        cr_assert(memcmp(y0, y1, sizeof y0) == 0, "%s with t = h = w must be RoPE bit for bit", ids[e]);
        float x32[ST * SH * SD], r32[ST * SH * SD], m32[ST * SH * SD];
        for (int i = 0; i < ST * SH * SD; i++)
            x32[i] = (float)x[i];
        pecs_tensor s[3] = {ref_tensor("x", PECS_DT_F32, 3, ST, SH, SD, x32), ref_tensor("pos", PECS_DT_I64, 2, 1, ST, 0, pos3),
                            ref_tensor("out", PECS_DT_F32, 3, ST, SH, SD, r32)};
        scalar_run_ok(rope, PECS_DT_F32, s, 3);
        s[1] = ref_tensor("pos", PECS_DT_I64, 2, 3, ST, 0, pos3), s[2].data = m32;
        scalar_run_ok(c, PECS_DT_F32, s, 3);
        cr_assert(memcmp(r32, m32, sizeof r32) == 0, "scalar %s with t = h = w must equal scalar RoPE", ids[e]);
        int64_t img[3 * ST];
        for (int k = 0; k < ST; k++)
            img[k] = 7, img[ST + k] = k / 3, img[2 * ST + k] = k % 3;
        t[1] = ref_tensor("pos", PECS_DT_I64, 2, 3, ST, 0, img);
        ref_run_ok(c, t, 3);
        double d = 0.0;
        for (int i = 0; i < ST * SH * SD; i++)
            d = fmax(d, fabs(y1[i] - y0[i]));
        cr_assert_gt(d, 0.1, "%s on image tokens must use the h and w rows", ids[e]);
        ref_case_free(c);
    }
    ref_case_free(rope);
}

/* Vision 2-D RoPE restarts the frequency index for the w axis: with h = 0 the h pairs are untouched and
 * pair R/4 + k turns by w * base^(-4k/R). Catches a global index (the ggml MROPE rule applied to VISION). */
Test(t1, vision2d_index_restarts_per_axis)
{
    pecs_case *c = ref_case("rope.vision2d", "pairing", "half", (const char *)NULL);
    double x[16], y[16];
    for (int d = 0; d < 16; d++)
        x[d] = 0.25 + d * 0.0625;
    int64_t pos[2] = {0, 5}; /* h = 0, w = 5 */
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, 1, 1, 16, x), ref_tensor("pos", PECS_DT_I64, 2, 2, 1, 0, pos),
                        ref_tensor("out", PECS_DT_F64, 3, 1, 1, 16, y)};
    ref_run_ok(c, t, 3);
    for (int k = 0; k < 4; k++) {
        cr_assert(y[k] == x[k] && y[k + 8] == x[k + 8], "h pair %d must be untouched at h = 0", k);
        double a = 5.0 * pow(10000.0, -4.0 * k / 16.0), ca = cos(a), sa = sin(a);
        int i = 4 + k;
        cr_assert(fabs(y[i] - (x[i] * ca - x[i + 8] * sa)) < 1e-15 && fabs(y[i + 8] - (x[i] * sa + x[i + 8] * ca)) < 1e-15,
                  "w pair %d must turn by 5*base^(-4k/R)", k);
    }
    ref_case_free(c);
}

/* ---- properties over every bias and mask encoding of the registry ------------------------------------- */

/* B(qpos + d, kpos + d) = B(qpos, kpos) for every encoding the registry calls relative (exact), and for the
 * fixed-L ones while every query stays under the threshold (FIRE: L = 512); learned data drawn once. The 2-D
 * encodings on raster positions (a `width` parameter: masa, irpe) are shifted by whole rows (d * width).
 * Catches a bias that reads an absolute position (ALiBi's key-index form is the control: it is not
 * relative, and the test shows it). Runs over the registry, so a new bias or mask encoding is covered. */
Test(t1, every_pairwise_encoding_is_shift_invariant_in_the_reference)
{
    int checked = 0;
    for (int e = 0; e < PECS_ENC_COUNT; e++) {
        const pecs_encoding_info *info = pecs_registry_get((pecs_enc)e);
        if (!pecs_form_pairwise(info->form) || info->form == PECS_FORM_SCORES || info->invariance == PECS_INV_NONE ||
            info->invariance == PECS_INV_NA)
            continue;
        pecs_case *c = ref_case(info->id, "heads", "3", (const char *)NULL);
        pecs_problem pp = ref_problem(c); /* raster-grid encodings (masa, irpe) are invariant per axis: whole rows */
        double row = (double)pecs_param_int(&pp, "width", 1);
        int64_t H = info->form == PECS_FORM_MASK ? 1 : 3, shape[2] = {0, 0};
        double *w = NULL;
        if (pecs_registry_weights_shape(info, c->params, c->n_params, 3, 16, shape)) {
            w = malloc((size_t)(shape[0] * shape[1]) * sizeof *w);
            cr_assert_not_null(w);
            for (int64_t i = 0; i < shape[0] * shape[1]; i++)
                w[i] = pecs_gen_uniform(3, 9, (uint64_t)i);
        }
        double q[5], k[7], a[3 * 5 * 7], b[3 * 5 * 7];
        static const double shifts[] = {1, 37, 400};
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < 5; i++)
                q[i] = 20 + 9 * i;
            for (int j = 0; j < 7; j++)
                k[j] = 3 + 11 * j;
            pecs_tensor t[4] = {ref_tensor("qpos", PECS_DT_F64, 1, 5, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 7, 0, 0, k),
                                ref_tensor("out", PECS_DT_F64, 3, H, 5, 7, a), ref_tensor("w", PECS_DT_F64, 2, shape[0], shape[1], 0, w)};
            if (w) { /* "w" before "out": the order a backend sees */
                pecs_tensor o = t[2];
                t[2] = t[3], t[3] = o;
            }
            ref_run_ok(c, t, w ? 4 : 3);
            for (int i = 0; i < 5; i++)
                q[i] += shifts[s] * row;
            for (int j = 0; j < 7; j++)
                k[j] += shifts[s] * row;
            (w ? &t[3] : &t[2])->data = b;
            ref_run_ok(c, t, w ? 4 : 3);
            for (int64_t i = 0; i < H * 35; i++)
                cr_assert(a[i] == b[i] || fabs(a[i] - b[i]) <= 1e-12 * fmax(1.0, fabs(a[i])), "%s shift %g element %lld: %.17g vs %.17g",
                          info->id, shifts[s], (long long)i, a[i], b[i]);
        }
        free(w);
        ref_case_free(c);
        checked++;
    }
    cr_assert_geq(checked, 7, "alibi, t5, kerple x2, fire, mask x2");
    pecs_case *key = ref_case("alibi", "variant", "key_index", (const char *)NULL);
    double q = 5, k = 2, a[2], b[2], q1 = 6, k1 = 3;
    pecs_tensor t[3] = {ref_tensor("qpos", PECS_DT_F64, 1, 1, 0, 0, &q), ref_tensor("kpos", PECS_DT_F64, 1, 1, 0, 0, &k),
                        ref_tensor("out", PECS_DT_F64, 3, 2, 1, 1, a)};
    ref_run_ok(key, t, 3);
    t[0].data = &q1, t[1].data = &k1, t[2].data = b;
    ref_run_ok(key, t, 3);
    cr_assert_neq(a[0], b[0], "the key-index form must see the shift (it is relative only after softmax)");
    ref_case_free(key);
}

/* ABF is RoPE with the base raised to 500000 by default (Llama 2 Long). Catches the spine's 10000
 * default left in place. */
Test(t1, abf_default_base_is_500000)
{
    pecs_case *c = ref_case("rope.abf", (const char *)NULL);
    pecs_ref_rot s;
    schedule(c, 128, &s);
    cr_assert(close_rel(s.inv_freq[1], pow(500000.0, -2.0 / 128.0), 1e-15), "inv_freq[1] = %.17g", s.inv_freq[1]);
    cr_assert(close_rel(s.inv_freq[63], pow(500000.0, -126.0 / 128.0), 1e-15));
    pecs_ref_rot_free(&s);
    ref_case_free(c);
}

/* The causal mask shows a query itself and every earlier key, nothing later, also through the scalar
 * backend. Catches kpos < qpos (the diagonal masked) and a mask indexed by key index instead of position. */
Test(t1, causal_mask_includes_the_diagonal)
{
    pecs_case *c = ref_case("mask.causal", (const char *)NULL);
    double q[3] = {100, 103, 104}, k[6] = {99, 100, 101, 102, 103, 105}, out[18];
    float out32[18];
    pecs_tensor t[3] = {ref_tensor("qpos", PECS_DT_F64, 1, 3, 0, 0, q), ref_tensor("kpos", PECS_DT_F64, 1, 6, 0, 0, k),
                        ref_tensor("out", PECS_DT_F64, 3, 1, 3, 6, out)};
    ref_run_ok(c, t, 3);
    t[2] = ref_tensor("out", PECS_DT_F32, 3, 1, 3, 6, out32);
    scalar_run_ok(c, PECS_DT_F32, t, 3);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 6; j++) {
            double want = k[j] <= q[i] ? 0.0 : -INFINITY;
            cr_assert_eq(out[i * 6 + j], want, "query %g key %g", q[i], k[j]);
            cr_assert_eq((double)out32[i * 6 + j], want, "scalar: query %g key %g", q[i], k[j]);
        }
    ref_case_free(c);
}
