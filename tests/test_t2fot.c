/* tests/test_t2fot.c — focused_memory (kattn form): one FoT / LongLLaMA memory layer with the full memory lookup
 * (reference/focused_memory.c states the convention). Keys are [M memory | L local]; q and k come unrotated; query i
 * and local key j are rotated at their index (half-split RoPE), memory keys as if at position 0 (the identity); one
 * causal softmax over memory and local keys.
 *
 * Known answers worked by hand with D = 2 (one pair: the angle is the position in radians at any base): the
 * backend.h example (M = 1, two local tokens), where separate memory / local softmaxes, or a query left unrotated
 * against memory keys, give another row; and M = 2 over one token, where a second memory key rotated at its cache
 * index 1 gives another row. Properties: the memory is a set (reversing the memory rows, keys with their values,
 * changes no output: a kernel rotating memory keys at their cache index fails), and with every value the same
 * vector c every output is c (one softmax: averaged separate softmaxes would pass this, the known answer does not).
 * End to end: the scalar kernel and the mutants' control pass through the harness, both mutants fail the smoke case.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "case.h"
#include "reference.h"
#include "refutil.h"
#include "runutil.h"
#include "registry.h"
#include "runner.h"
#include "testutil.h"
#include "kattnutil.h"

/* A focused_memory problem: keys [M memory | L local], Lk = M + L. */
static kio fio_new(int64_t M, int64_t L, int64_t H, int64_t D) { return kio_new(L, M + L, H, D); }

/* Hand-worked (include/pecs/backend.h's example): M = 1, L = 2, H = 1, D = 2; keys m | t0 t1.
 * q_0 = q_1 = (sqrt 2, 0); m = ln 2 (cos 1, sin 1), t0 = (0, 0), t1 = (ln 3, 0); v_m = (6, 0), v_t0 = (0, 6),
 * v_t1 = (0, 0).
 *   query 0 (R(0) = I): R(0) q_0 / sqrt 2 = (1, 0); s(m) = ln 2 cos 1, s(t0) = 0 (t1 is after it: masked)
 *            w = 2^cos1 / (2^cos1 + 1):  out_0 = (6 w, 6 (1 - w))
 *   query 1: R(1) q_1 / sqrt 2 = u = (cos 1, sin 1); s(m) = ln 2 u.u = ln 2 (m unrotated), s(t0) = 0,
 *            s(t1) = u . R(1) t1 = ln 3: e^s = (2, 1, 3), a = (1/3, 1/6, 1/2):  out_1 = (2, 1)
 * Wrong kernels: separate softmaxes averaged give query 1 (1/2 (6, 0) + 1/2 (0, 6/4)) = (3, 0.75); memory scored
 * against the unrotated query ((1, 0) . m = ln 2 cos 1) gives e^s = (2^cos1, 1, 3), another row. */
Test(t2fot, known_answer_one_memory_key)
{
    pecs_case *c = ref_case("focused_memory", "memory", "1", "head_dim", "2", "tokens", "2", NULL);
    kio s = fio_new(1, 2, 1, 2);
    s.q[0] = s.q[2] = sqrt(2.0);
    s.k[0] = log(2.0) * cos(1.0), s.k[1] = log(2.0) * sin(1.0);
    s.k[4] = log(3.0);
    s.v[0] = 6.0, s.v[3] = 6.0;
    double w = pow(2.0, cos(1.0)) / (pow(2.0, cos(1.0)) + 1.0);
    double want[4] = {6.0 * w, 6.0 * (1.0 - w), 2.0, 1.0};
    kio_expect_both(c, &s, want, "M = 1, two tokens");
    kio_free(&s);
    ref_case_free(c);
}

/* Hand-worked: M = 2, L = 1, H = 1, D = 2, base 10 (D = 2: the angle is the position whatever the base).
 * q_0 = (sqrt 2, 0): R(0) q_0 / sqrt 2 = (1, 0); m0 = (0, 0), m1 = (ln 3, 0), t0 = (0, 0);
 * v_m0 = (0, 0), v_m1 = (5, 0), v_t0 = (0, 5).  e^s = (1, 3, 1):  out_0 = 3/5 (5, 0) + 1/5 (0, 5) = (3, 1).
 * Memory key m1 rotated at its cache index 1 (not as if first) scores ln 3 cos 1 instead: out_0 = (5 x, 5 y) with
 * x = 3^cos1 / (2 + 3^cos1), another row. */
Test(t2fot, known_answer_memory_at_position_zero)
{
    pecs_case *c = ref_case("focused_memory", "memory", "2", "head_dim", "2", "tokens", "1", "base", "10", NULL);
    kio s = fio_new(2, 1, 1, 2);
    s.q[0] = sqrt(2.0);
    s.k[2] = log(3.0);
    s.v[2] = 5.0, s.v[5] = 5.0;
    double want[2] = {3.0, 1.0};
    kio_expect_both(c, &s, want, "M = 2, one token");
    kio_free(&s);
    ref_case_free(c);
}

/* Property: the memory is a set. Random q, k, v (M = 6, L = 10, H = 2, D = 8, base 100): reversing the memory rows
 * (each key with its value) leaves every output unchanged, reference and scalar. Memory keys carry no position
 * (all at 0); a kernel rotating them at their cache index (the fot_memory_rotated mutant) moves the scores. */
Test(t2fot, memory_order_does_not_matter)
{
    pecs_case *c = ref_case("focused_memory", "memory", "6", "head_dim", "8", "heads", "2", "tokens", "10", "base", "100",
                            NULL);
    kio a = fio_new(6, 10, 2, 8), b = fio_new(6, 10, 2, 8);
    kio_random(&a, 31, 2.0);
    int64_t row = 2 * 8;
    memcpy(b.q, a.q, (size_t)(10 * row) * sizeof *b.q);
    memcpy(b.k, a.k, (size_t)(16 * row) * sizeof *b.k);
    memcpy(b.v, a.v, (size_t)(16 * row) * sizeof *b.v);
    for (int64_t m = 0; m < 6; m++) {
        memcpy(b.k + m * row, a.k + (5 - m) * row, (size_t)row * sizeof *b.k);
        memcpy(b.v + m * row, a.v + (5 - m) * row, (size_t)row * sizeof *b.v);
    }
    double *sa = calloc((size_t)(10 * row), sizeof *sa), *sb = calloc((size_t)(10 * row), sizeof *sb);
    cr_assert(sa && sb);
    kio_run_ref(c, &a);
    kio_run_ref(c, &b);
    kio_run_scalar(c, &a, sa);
    kio_run_scalar(c, &b, sb);
    for (int64_t i = 0; i < 10 * row; i++) {
        cr_expect(fabs(a.out[i] - b.out[i]) <= 1e-13 * (1.0 + fabs(a.out[i])), "reference out[%lld]: %.17g vs %.17g",
                  (long long)i, a.out[i], b.out[i]);
        cr_expect(fabs(sa[i] - sb[i]) <= 1e-5 * (1.0 + fabs(sa[i])), "scalar out[%lld]: %.9g vs %.9g", (long long)i, sa[i],
                  sb[i]);
        cr_expect(fabs(sa[i] - a.out[i]) <= 1e-5 * (1.0 + fabs(a.out[i])), "scalar out[%lld] = %.9g, reference %.9g",
                  (long long)i, sa[i], a.out[i]);
    }
    free(sa), free(sb);
    kio_free(&a), kio_free(&b);
    ref_case_free(c);
}

/* Property: each query's weights sum to 1 and only keys up to it count. Every value the same vector c: every output
 * is c (M = 0, 3, 40 over 12 tokens); and the first 5 tokens alone, after the same memory, give rows 0..4. */
Test(t2fot, weights_sum_to_one_and_causal)
{
    static const char *const ms[] = {"0", "3", "40"};
    for (size_t t = 0; t < sizeof ms / sizeof ms[0]; t++) {
        int64_t M = atoi(ms[t]), n = 12 * 2 * 8;
        pecs_case *c = ref_case("focused_memory", "memory", ms[t], "head_dim", "8", "heads", "2", "tokens", "12", NULL),
                  *c5 = ref_case("focused_memory", "memory", ms[t], "head_dim", "8", "heads", "2", "tokens", "5", NULL);
        kio s = fio_new(M, 12, 2, 8), p = fio_new(M, 5, 2, 8);
        kio_random(&s, 5 + t, 2.0);
        memcpy(p.q, s.q, (size_t)(5 * 16) * sizeof *p.q);
        memcpy(p.k, s.k, (size_t)((M + 5) * 16) * sizeof *p.k);
        memcpy(p.v, s.v, (size_t)((M + 5) * 16) * sizeof *p.v);
        kio_run_ref(c, &s);
        kio_run_ref(c5, &p);
        for (int64_t i = 0; i < 5 * 16; i++)
            cr_expect(fabs(s.out[i] - p.out[i]) <= 1e-13 * (1.0 + fabs(s.out[i])), "M %s: prefix out[%lld]: %.17g vs %.17g",
                      ms[t], (long long)i, s.out[i], p.out[i]);
        for (int64_t i = 0; i < (M + 12) * 16; i++)
            s.v[i] = (double)(i % 8) - 2.5;
        double *sc = calloc((size_t)n, sizeof *sc);
        cr_assert_not_null(sc);
        kio_run_ref(c, &s);
        kio_run_scalar(c, &s, sc);
        for (int64_t i = 0; i < n; i++) {
            double want = (double)(i % 8) - 2.5;
            cr_expect(fabs(s.out[i] - want) <= 1e-12, "M %s: reference out[%lld] = %.17g, want %g", ms[t], (long long)i,
                      s.out[i], want);
            cr_expect(fabs(sc[i] - want) <= 1e-5, "M %s: scalar out[%lld] = %.9g, want %g", ms[t], (long long)i, sc[i], want);
        }
        free(sc);
        kio_free(&s), kio_free(&p);
        ref_case_free(c), ref_case_free(c5);
    }
}

/* The registry row and the case rules: form kattn, tier 2, no learned data; keys default to memory + tokens; keys
 * set otherwise and an odd head_dim are bad input (never a crash). */
Test(t2fot, registry_and_case_rules)
{
    const pecs_encoding_info *e = pecs_registry_find("focused_memory");
    cr_assert_not_null(e);
    cr_expect_eq(e->form, PECS_FORM_KATTN);
    cr_expect_eq(e->tier, 2);
    cr_expect_null(pecs_registry_find_catalogued("focused_memory"));
    pecs_case *c = ref_case("focused_memory", "tokens", "8", "heads", "3", "memory", "5", NULL);
    int64_t ws[2] = {0, 0};
    cr_expect(!pecs_registry_weights_shape(e, c->params, c->n_params, 3, 16, ws));
    char why[512] = "";
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(pecs_case_keys(c), 13);
    ref_case_free(c);
    c = ref_case("focused_memory", "tokens", "8", "keys", "12", "memory", "5", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "keys (12) must be memory (5) + tokens (8)") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("focused_memory", "tokens", "4", "head_dim", "3", NULL);
    pecs_tensor t[5];
    kio s = fio_new(16, 4, 1, 3);
    int nt = kio_tensors(t, PECS_DT_F64, &s, s.q, s.k, s.v, s.w, s.out);
    pecs_problem p = ref_problem(c);
    p.tensors = t, p.n_tensors = nt;
    cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "head_dim must be even") != NULL, "%s", why);
    kio_free(&s);
    ref_case_free(c);
    pecs_case pc;
    cr_expect_eq(pecs_case_parse(&pc, "focused_memory tokens=8 memory=-1", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "memory") != NULL, "%s", why);
}

/* End to end: the scalar kernel and the mutants' control pass through the harness; both mutants fail the smoke case. */
Test(t2fot, harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "focused_memory tokens=24 heads=2 head_dim=16 memory=8 base=100",
        "focused_memory tokens=40 heads=3 head_dim=100 memory=64 dtype=bf16 view=strided",
        "focused_memory tokens=7 heads=1 head_dim=8 memory=0 dtype=f16",
    };
    static const char *const bad[] = {"fot_memory_rotated", "fot_separate_softmax"};
    tu_expect_scalar_passes_mutants_fail(ok, sizeof ok / sizeof ok[0], bad, sizeof bad / sizeof bad[0]);
}
