/* tests/test_t2pine.c — pine (kattn form): one PINE attention layer over a prompt [prefix | documents | suffix]
 * (reference/pine.c states the convention). q and k come unrotated; each document's queries (own document first) and
 * each suffix query order the documents by their position-free attention weights (per-document mean) and see them at
 * re-assigned positions, the most attended nearest; document queries are masked by position (every other document in
 * full), prefix and suffix queries causally by index.
 *
 * Known answer worked by hand with D = 2 (one pair: the angle is the position in radians at any base): three
 * one-token documents whose weights order them 1, 2, 0 for the suffix query and 0, 1, 2 for document 0's query.
 * Property: permuting the documents permutes their rows and leaves the suffix rows unchanged (PINE's point: no
 * position bias among documents), which plain causal RoPE attention fails. Near ties: pecs_ref_undecided leaves the
 * rows of a float32-undecidable order to the range of every admissible order; random data of the smoke shape leaves
 * few. Bad input is rejected with a reason; end to end the scalar kernel passes and every mutant fails the smoke case.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "case.h"
#include "compare.h"
#include "reference.h"
#include "refutil.h"
#include "runutil.h"
#include "registry.h"
#include "runner.h"
#include "testutil.h"
#include "kattnutil.h"

/* element (t, h, d) of a [L, H, D] array */
static int64_t at(const kio *s, int64_t t, int64_t h, int64_t d) { return (t * s->H + h) * s->D + d; }

/* The hand-worked problem: prefix 0, documents of 1 token at indices 0, 1, 2, the suffix token 3; H = 1, D = 2.
 *   k0 = (1, 0), k1 = (3, 0), k2 = (2 + eps2, 0), k3 = (0, 0);  v0 = (1, 0), v1 = (0, 1), v2 = v3 = (0, 0);
 *   q0 = q3 = (sqrt 2, 0);  q1 = q2 = q12 (given). */
static kio pine_hand(double eps2, double q12)
{
    kio s = kio_new(4, 4, 1, 2);
    s.q[at(&s, 0, 0, 0)] = s.q[at(&s, 3, 0, 0)] = sqrt(2.0);
    s.q[at(&s, 1, 0, 0)] = s.q[at(&s, 2, 0, 0)] = q12;
    s.k[at(&s, 0, 0, 0)] = 1.0, s.k[at(&s, 1, 0, 0)] = 3.0, s.k[at(&s, 2, 0, 0)] = 2.0 + eps2;
    s.v[at(&s, 0, 0, 0)] = 1.0, s.v[at(&s, 1, 0, 1)] = 1.0;
    return s;
}

/* Hand-worked (pine_hand(0, 0)). The tokenizer right-aligns every document at P + N - 1 = 2; the suffix is at 3.
 * With q = (sqrt 2, 0) a position-free score is q.k / sqrt 2 = k_x, and a query at position a against a key at b
 * scores R(a) q . R(b) k / sqrt 2 = k_x cos(a - b) (k_y = 0).
 *   query 0 (document 0): the other documents' weights e^3 (doc 1) > e^2 (doc 2): order 0, 1, 2 -> positions
 *            doc 0 at 2, doc 1 at 1, doc 2 at 0; scores k0 1, k1 3 cos 1, k2 2 cos 2 (all visible: positions <= 2):
 *            out_0 = (e, e^(3 cos 1)) / (e + e^(3 cos 1) + e^(2 cos 2))
 *   queries 1, 2 (q = 0): every score 0: the mean of the three documents' values, (1/3, 1/3) (the suffix unseen)
 *   query 3 (suffix, position 3): weights e^1, e^3, e^2: order 1, 2, 0 -> doc 1 at 2, doc 2 at 1, doc 0 at 0;
 *            scores k1 3 cos 1, k2 2 cos 2, k0 cos 3, k3 0:
 *            out_3 = (e^(cos 3), e^(3 cos 1)) / (e^(cos 3) + e^(3 cos 1) + e^(2 cos 2) + 1)
 * Wrong kernels: the ascending order puts doc 0 nearest for the suffix (k0 cos 1, k1 3 cos 3); plain RoPE at the
 * index gives k0 cos 3, k1 3 cos 2, k2 2 cos 1; document 0 seeing only itself (a causal mask by index) gives (1, 0). */
Test(t2pine, known_answer_three_one_token_documents)
{
    pecs_case *c = ref_case("pine", "prefix", "0", "lengths", "1,1,1", "head_dim", "2", "heads", "1", "tokens", "4", NULL);
    kio s = pine_hand(0.0, 0.0);
    double e = exp(1.0), a = exp(3.0 * cos(1.0)), b = exp(2.0 * cos(2.0)), c3 = exp(cos(3.0));
    double z0 = e + a + b, z3 = c3 + a + b + 1.0;
    double want[8] = {e / z0, a / z0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, c3 / z3, a / z3};
    kio_expect_both(c, &s, want, "three one-token documents");
    kio_free(&s);
    ref_case_free(c);
}

/* Property (PINE's point: no position bias among the documents): with prefix 2, documents of 3, 5, 4, 6 tokens and a
 * 4-token suffix (random q, k, v, H = 2, D = 8, base 100), moving the documents to the order 2, 0, 3, 1 (their
 * tokens, lengths and rows moved along) leaves every suffix and prefix row unchanged and moves each document's rows
 * with it, on the reference and on the scalar kernel. Plain causal RoPE attention (focused_memory with no memory)
 * on the same data changes the suffix rows: the property is not trivial. */
Test(t2pine, permuting_the_documents_permutes_their_rows)
{
    const int64_t P = 2, n = 4, len[4] = {3, 5, 4, 6}, perm[4] = {2, 0, 3, 1}, L = 24, H = 2, D = 8;
    int64_t st[4], nst[4], map[24]; /* map[new index] = old index */
    for (int64_t j = 0, t = P; j < n; t += len[j], j++)
        st[j] = t;
    for (int64_t t = 0; t < L; t++)
        map[t] = t;
    for (int64_t c = 0, t = P; c < n; c++) {
        nst[perm[c]] = t;
        for (int64_t u = 0; u < len[perm[c]]; u++)
            map[t++] = st[perm[c]] + u;
    }
    pecs_case *c1 = ref_case("pine", "prefix", "2", "lengths", "3,5,4,6", "head_dim", "8", "heads", "2", "tokens", "24",
                             "base", "100", NULL);
    pecs_case *c2 = ref_case("pine", "prefix", "2", "lengths", "4,3,6,5", "head_dim", "8", "heads", "2", "tokens", "24",
                             "base", "100", NULL);
    pecs_case *f = ref_case("focused_memory", "memory", "0", "head_dim", "8", "heads", "2", "tokens", "24", "base", "100",
                            NULL);
    kio a = kio_new(L, L, H, D), b = kio_new(L, L, H, D);
    kio_random(&a, 31, 1.5);
    for (int64_t t = 0; t < L; t++)
        for (int64_t e = 0; e < H * D; e++) {
            b.q[t * H * D + e] = a.q[map[t] * H * D + e];
            b.k[t * H * D + e] = a.k[map[t] * H * D + e];
            b.v[t * H * D + e] = a.v[map[t] * H * D + e];
        }
    double *sa = calloc((size_t)(L * H * D), sizeof *sa), *sb = calloc((size_t)(L * H * D), sizeof *sb);
    cr_assert(sa && sb);
    kio_run_ref(c1, &a);
    kio_run_ref(c2, &b);
    kio_run_scalar(c1, &a, sa);
    kio_run_scalar(c2, &b, sb);
    (void)nst;
    for (int64_t t = 0; t < L; t++)
        for (int64_t e = 0; e < H * D; e++) {
            double x = a.out[map[t] * H * D + e], y = b.out[t * H * D + e];
            cr_expect(fabs(x - y) <= 1e-12, "reference: row %lld (old %lld) element %lld: %.17g vs %.17g", (long long)t,
                      (long long)map[t], (long long)e, y, x);
            cr_expect(fabs(sa[map[t] * H * D + e] - sb[t * H * D + e]) <= 1e-5, "scalar: row %lld element %lld",
                      (long long)t, (long long)e);
        }
    kio_run_ref(f, &a);
    kio_run_ref(f, &b);
    double d = 0.0;
    for (int64_t t = L - 4; t < L; t++)
        for (int64_t e = 0; e < H * D; e++)
            d = fmax(d, fabs(a.out[t * H * D + e] - b.out[t * H * D + e]));
    cr_expect(d > 1e-3, "plain causal RoPE attention is document-order invariant too (%g): the check proves nothing", d);
    free(sa), free(sb);
    kio_free(&a), kio_free(&b);
    ref_case_free(c1), ref_case_free(c2), ref_case_free(f);
}

/* A problem over a kio for pecs_ref_undecided (tensors in t[5]). */
static pecs_problem pio_problem(const pecs_case *c, kio *s, pecs_tensor t[5])
{
    int nt = kio_tensors(t, PECS_DT_F64, s, s->q, s->k, s->v, s->w, s->out);
    pecs_problem p = ref_problem(c);
    p.tensors = t, p.n_tensors = nt;
    return p;
}

/* Near ties: pine_hand(-1e-12, sqrt 2): k2 = (3 - 1e-12, 0) a hair below k1 = (3, 0), q1 = q2 = (sqrt 2, 0). Document
 * 0's query and the suffix query cannot order documents 1 and 2 in float32: rows 0 and 3 (4 elements) are undecided;
 * documents 1 and 2 order the others surely (weights e^1 against e^3). [lo, hi] holds both orders' outputs: the
 * suffix row's y is e^(3 cos 1) / Z (doc 1 nearest) or e^(3 cos 2) / Z' (doc 2 nearest); a NaN or a value outside
 * fails pecs_compare_undecided. With k2 = (2, 0) (pine_hand(0, sqrt 2)) nothing is undecided. */
Test(t2pine, near_tie_is_undecided_and_still_checked)
{
    pecs_case *c = ref_case("pine", "prefix", "0", "lengths", "1,1,1", "head_dim", "2", "heads", "1", "tokens", "4", NULL);
    kio s = pine_hand(-1e-12, sqrt(2.0));
    s.k[at(&s, 2, 0, 0)] = 3.0 - 1e-12;
    pecs_tensor t[5];
    pecs_problem p = pio_problem(c, &s, t);
    unsigned char skip[8] = {0};
    double lo[8], hi[8];
    cr_assert_eq(pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, lo, hi), 4);
    static const unsigned char want_skip[8] = {1, 1, 0, 0, 0, 0, 1, 1};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(skip[i], want_skip[i], "skip[%d]", i);
    double k2 = 3.0 - 1e-12, c3 = exp(cos(3.0));
    double y1 = exp(3.0 * cos(1.0)) / (c3 + exp(3.0 * cos(1.0)) + exp(k2 * cos(2.0)) + 1.0);
    double y2 = exp(3.0 * cos(2.0)) / (c3 + exp(3.0 * cos(2.0)) + exp(k2 * cos(1.0)) + 1.0);
    cr_expect(fabs(lo[7] - fmin(y1, y2)) < 1e-9 && fabs(hi[7] - fmax(y1, y2)) < 1e-9, "[%.9g, %.9g], want %.9g and %.9g",
              lo[7], hi[7], y1, y2);
    pecs_tol tol = {.abs = 1e-6, .rel = 1e-6};
    pecs_metrics m = {.first_bad = -1};
    char why[512];
    kio_run_ref(c, &s);
    cr_expect_eq(pecs_compare_undecided(s.out, skip, lo, hi, 8, PECS_DT_F32, &tol, 0, &m, why, sizeof why), PECS_V_PASSED,
                 "%s", why);
    double bad[8];
    memcpy(bad, s.out, sizeof bad);
    bad[7] = fmax(y1, y2) + 0.05;
    cr_expect_eq(pecs_compare_undecided(bad, skip, lo, hi, 8, PECS_DT_F32, &tol, 0, &m, why, sizeof why), PECS_V_FAILED);
    bad[7] = NAN;
    cr_expect_eq(pecs_compare_undecided(bad, skip, lo, hi, 8, PECS_DT_F32, &tol, 0, &m, why, sizeof why), PECS_V_FAILED);
    kio_free(&s);
    s = pine_hand(0.0, sqrt(2.0));
    p = pio_problem(c, &s, t);
    memset(skip, 0, sizeof skip);
    cr_expect_eq(pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, NULL, NULL), 0);
    kio_free(&s);
    ref_case_free(c);
}

/* Every order tied: six one-token documents and one suffix token, q = 0 (every weight equal), v_j = (j, -j). Every
 * row is undecided (14 elements). A document's group has 5! = 120 admissible orders, all enumerated: each gives the
 * mean of the six documents' values, lo = hi = (2.5, -2.5). The suffix query's 6! = 720 orders pass the enumeration
 * cap: its range is the hull of the seven visible values, [0, 6] x [-6, 0]. */
Test(t2pine, all_orders_tied_enumerated_or_hull)
{
    pecs_case *c = ref_case("pine", "prefix", "0", "lengths", "1,1,1,1,1,1", "head_dim", "2", "heads", "1", "tokens", "7",
                            NULL);
    kio s = kio_new(7, 7, 1, 2);
    for (int64_t j = 0; j < 7; j++)
        s.k[at(&s, j, 0, 0)] = (double)j + 1.0, s.v[at(&s, j, 0, 0)] = (double)j, s.v[at(&s, j, 0, 1)] = -(double)j;
    pecs_tensor t[5];
    pecs_problem p = pio_problem(c, &s, t);
    unsigned char skip[14] = {0};
    double lo[14], hi[14];
    cr_assert_eq(pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, lo, hi), 14);
    for (int i = 0; i < 12; i += 2)
        cr_expect(fabs(lo[i] - 2.5) < 1e-12 && fabs(hi[i] - 2.5) < 1e-12 && fabs(lo[i + 1] + 2.5) < 1e-12 &&
                      fabs(hi[i + 1] + 2.5) < 1e-12,
                  "row %d: [%g, %g] [%g, %g]", i / 2, lo[i], hi[i], lo[i + 1], hi[i + 1]);
    cr_expect(lo[12] == 0.0 && hi[12] == 6.0 && lo[13] == -6.0 && hi[13] == 0.0, "suffix: [%g, %g] [%g, %g]", lo[12],
              hi[12], lo[13], hi[13]);
    kio_free(&s);
    ref_case_free(c);
}

/* Undecided rows are rare at the smoke shape (prefix 2, documents 6, 4, 9, 5, 7, 40 tokens, H = 2, D = 16): over 20
 * seeds at most one group (a document's rows, or a suffix row) per case, and under 1% of all elements. A bound grown
 * tenfold would fail this. */
Test(t2pine, undecided_rows_are_rare)
{
    pecs_case *c = ref_case("pine", "prefix", "2", "lengths", "6,4,9,5,7", "head_dim", "16", "heads", "2", "tokens", "40",
                            "base", "100", NULL);
    int64_t n = 40 * 2 * 16, total = 0;
    unsigned char *skip = calloc((size_t)n, 1);
    cr_assert_not_null(skip);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        kio s = kio_new(40, 40, 2, 16);
        kio_random(&s, seed, 1.0);
        pecs_tensor t[5];
        pecs_problem p = pio_problem(c, &s, t);
        memset(skip, 0, (size_t)n);
        int64_t u = pecs_ref_undecided(&p, 0x1p-24, 0x1p-149, skip, NULL, NULL);
        cr_expect(u >= 0 && u % 16 == 0 && u <= 9 * 16, "seed %llu: %lld undecided", (unsigned long long)seed,
                  (long long)u);
        total += u;
        kio_free(&s);
    }
    cr_expect(total <= 20 * n / 100, "%lld of %lld undecided", (long long)total, (long long)(20 * n));
    free(skip);
    ref_case_free(c);
}

/* The registry row and the case rules: form kattn, tier 2, no learned data, no catalogue row; keys other than the
 * tokens, an odd head_dim, no suffix token are bad input; the reference refuses no documents and a fractional
 * length (never a crash). */
Test(t2pine, registry_and_case_rules)
{
    const pecs_encoding_info *e = pecs_registry_find("pine");
    cr_assert_not_null(e);
    cr_expect_eq(e->form, PECS_FORM_KATTN);
    cr_expect_eq(e->tier, 2);
    cr_expect_null(pecs_registry_find_catalogued("pine"));
    char why[512] = "";
    pecs_case *c = ref_case("pine", "tokens", "8", NULL); /* bos, 2 + 2 + 2, one suffix token */
    int64_t ws[2] = {0, 0};
    cr_expect(!pecs_registry_weights_shape(e, c->params, c->n_params, 2, 16, ws));
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case("pine", "tokens", "7", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "must leave at least one suffix token") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("pine", "tokens", "20", "keys", "24", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "keys (24) must equal tokens (20)") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("pine", "tokens", "20", "head_dim", "5", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "head_dim must be even") != NULL, "%s", why);
    ref_case_free(c);
    static const char *const bad[] = {"", "2.5,3"};
    static const char *const msg[] = {"at least one document", "whole numbers"};
    for (int b = 0; b < 2; b++) {
        c = ref_case("pine", "tokens", "8", "prefix", "0", "lengths", bad[b], "head_dim", "2", "heads", "1", NULL);
        kio s = kio_new(8, 8, 1, 2);
        pecs_tensor t[5];
        pecs_problem p = pio_problem(c, &s, t);
        cr_expect_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID, "lengths '%s'", bad[b]);
        cr_expect(strstr(why, msg[b]) != NULL, "%s", why);
        kio_free(&s);
        ref_case_free(c);
    }
}

/* End to end: the scalar kernel and the mutants' control pass through the harness; every mutant fails the smoke
 * case (ok[0]). */
Test(t2pine, harness_passes_scalar_and_fails_mutants)
{
    static const char *const ok[] = {
        "pine tokens=40 heads=2 head_dim=16 prefix=2 lengths=6,4,9,5,7 base=100",
        "pine tokens=24 heads=3 head_dim=64 prefix=0 lengths=5,3,7,4,1,2 dtype=bf16 view=strided",
        "pine tokens=12 heads=2 head_dim=8 prefix=1 lengths=9,1 dtype=f16",
        "pine tokens=10 heads=2 head_dim=8 prefix=3 lengths=4",
    };
    static const char *const bad[] = {"pine_ascending", "pine_causal_documents", "pine_doc_sum"};
    tu_expect_scalar_passes_mutants_fail(ok, sizeof ok / sizeof ok[0], bad, sizeof bad / sizeof bad[0]);
}
