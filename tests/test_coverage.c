/* tests/test_coverage.c — pairwise coverage (harness/coverage.c): the pair counting on a tiny hand domain,
 * the registry-derived domains, and every T1 encoding kept at 100% pairwise over the default suites plus the
 * generated suites/t1-pairwise.yaml (issue 19). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "coverage.h"
#include "suite.h"
#include "testutil.h"

TestSuite(coverage);

/* ---- the counting, on a hand domain: A {a0,a1} x B {b0,b1} x C {c0,c1,c2} ---------------------------------- */

static void hand_domain(pecs_cov_pairs *p)
{
    const int levels[3] = {2, 2, 3};
    cr_assert_eq(pecs_cov_pairs_init(p, 3, levels), PECS_OK);
    cr_assert_eq(p->n_pairs, 2 * 2 + 2 * 3 + 2 * 3);
    for (int k = 0; k < p->n_pairs; k++)
        p->valid[k] = 1;
}

/* Catches a pair index that two different pairs share, or a decode that does not invert it. */
Test(coverage, pair_index_and_decode_are_inverse)
{
    pecs_cov_pairs p;
    hand_domain(&p);
    for (int k = 0; k < p.n_pairs; k++) {
        int i, a, j, b;
        pecs_cov_pair_decode(&p, k, &i, &a, &j, &b);
        cr_assert(i >= 0 && i < j && a < p.n_levels[i] && b < p.n_levels[j], "pair %d", k);
        cr_assert_eq(pecs_cov_pair_index(&p, i, a, j, b), k);
        cr_assert_eq(pecs_cov_pair_index(&p, j, b, i, a), k, "the order of the two factors does not matter");
    }
    pecs_cov_pairs_free(&p);
}

/* Six cases that cover every pair but (A=a1, C=c2): the count says 15 of 16 and the one missing is that pair.
 * Catches a counter that marks pairs a case does not have, or misses pairs it has. */
Test(coverage, counts_a_missing_pair)
{
    pecs_cov_pairs p;
    hand_domain(&p);
    const int cases[][3] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 1}, {1, 1, 0}, {0, 0, 2}, {0, 1, 2}};
    int fresh = 0;
    for (size_t n = 0; n < sizeof cases / sizeof cases[0]; n++)
        fresh += pecs_cov_mark(&p, cases[n], p.covered);
    int valid, covered;
    pecs_cov_count(&p, &valid, &covered);
    cr_assert_eq(valid, 16);
    cr_assert_eq(covered, 15, "covered %d", covered);
    cr_assert_eq(fresh, 15, "pecs_cov_mark returns the pairs it newly covered");
    int missing = -1;
    for (int k = 0; k < p.n_pairs; k++)
        if (!p.covered[k]) {
            cr_assert_eq(missing, -1, "only one pair is missing");
            missing = k;
        }
    cr_assert_eq(missing, pecs_cov_pair_index(&p, 0, 1, 2, 2), "the missing pair is A=a1 x C=c2");
    /* the case that has it completes the domain, and marks nothing else new */
    const int last[3] = {1, 0, 2};
    cr_assert_eq(pecs_cov_mark(&p, last, p.covered), 1);
    pecs_cov_count(&p, &valid, &covered);
    cr_assert_eq(covered, 16);
    pecs_cov_pairs_free(&p);
}

/* An invalid pair (no valid case has it) is not counted; a factor outside the domain (-1) takes part in no
 * pair. Catches a count over every pair instead of the valid ones. */
Test(coverage, invalid_pairs_and_unclassified_factors_are_not_counted)
{
    pecs_cov_pairs p;
    hand_domain(&p);
    p.valid[pecs_cov_pair_index(&p, 1, 1, 2, 0)] = 0; /* B=b1 x C=c0 cannot happen */
    const int v[3] = {0, -1, 1};
    cr_assert_eq(pecs_cov_mark(&p, v, p.covered), 1, "only A x C: B is outside the domain");
    int valid, covered;
    pecs_cov_count(&p, &valid, &covered);
    cr_assert_eq(valid, 15);
    cr_assert_eq(covered, 1);
    pecs_cov_pairs_free(&p);
}

/* ---- domains from the registry ------------------------------------------------------------------------ */

static const pecs_cov_factor *factor(const pecs_cov_enc *ce, const char *name, int *index)
{
    for (int i = 0; i < ce->n_factors; i++)
        if (!strcmp(ce->f[i].name, name)) {
            if (index)
                *index = i;
            return &ce->f[i];
        }
    return NULL;
}

static int has_level(const pecs_cov_factor *f, const char *name)
{
    for (int l = 0; l < f->n_levels; l++)
        if (!strcmp(f->level[l], name))
            return 1;
    return 0;
}

/* rope.dynamic_ntk's domain: its parameters at min/default/max/interior (seq_len's interior from its
 * PECS_DOMAIN row), partial rotary instead of the raw rotary_dim, rotate-only layout; a bias has keys and no
 * layout. Catches a domain that drifts from the registry or ignores its annotations. */
Test(coverage, domains_come_from_the_registry, .timeout = 120)
{
    pecs_cov_enc ce;
    char why[512];
    cr_assert_eq(pecs_cov_enc_init(&ce, pecs_registry_find("rope.dynamic_ntk"), why, sizeof why), PECS_OK, "%s", why);
    const pecs_cov_factor *f = factor(&ce, "factor", NULL);
    cr_assert_not_null(f);
    cr_assert(has_level(f, "min=default=1") && has_level(f, "max=1e+06") && has_level(f, "interior=2"));
    cr_assert(has_level(factor(&ce, "seq_len", NULL), "interior=32768"));
    cr_assert(has_level(factor(&ce, "rotary", NULL), "partial"));
    cr_assert_null(factor(&ce, "rotary_dim", NULL));
    cr_assert(has_level(factor(&ce, "layout", NULL), "htd"));
    cr_assert(has_level(factor(&ce, "dtype", NULL), "bf16"));
    /* the reproducer is classified as partial rotary */
    pecs_case c;
    int v[PECS_COV_MAX_FACTORS], ri = 0;
    factor(&ce, "rotary", &ri);
    cr_assert_eq(pecs_case_parse(&c, "rope.dynamic_ntk pairing=half rotary_dim=32 factor=8 max_position=2048 "
                                     "seq_len=32768 tokens=16 heads=4 head_dim=80", why, sizeof why), PECS_OK, "%s", why);
    pecs_cov_classify(&ce, &c, v);
    cr_assert_str_eq(ce.f[ri].level[v[ri]], "partial");
    pecs_case_free(&c);
    pecs_cov_enc_free(&ce);

    cr_assert_eq(pecs_cov_enc_init(&ce, pecs_registry_find("alibi"), why, sizeof why), PECS_OK, "%s", why);
    cr_assert_not_null(factor(&ce, "keys", NULL));
    cr_assert_null(factor(&ce, "layout", NULL));
    cr_assert(has_level(factor(&ce, "max_bias", NULL), "max=16"), "the PECS_DOMAIN max");
    pecs_cov_enc_free(&ce);
}

/* Every generated case is valid and has the pairs it was built for: a cover of a domain from scratch reaches
 * 100%, and every case string parses back. Catches a generator that emits invalid cases or stops early. */
Test(coverage, generate_covers_every_valid_pair, .timeout = 300)
{
    pecs_cov_enc ce;
    char why[512], **cases = NULL;
    int n = 0, valid, covered;
    cr_assert_eq(pecs_cov_enc_init(&ce, pecs_registry_find("mask.window"), why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_cov_generate(&ce, &cases, &n), PECS_OK);
    pecs_cov_count(&ce.pairs, &valid, &covered);
    cr_assert_gt(valid, 0);
    cr_assert_eq(covered, valid);
    cr_assert(n > 0 && n < valid, "a pairwise cover, not one case per pair: %d cases for %d pairs", n, valid);
    pecs_cov_pairs recount;
    cr_assert_eq(pecs_cov_pairs_init(&recount, ce.n_factors, ce.pairs.n_levels), PECS_OK);
    for (int k = 0; k < n; k++) {
        pecs_case c;
        int v[PECS_COV_MAX_FACTORS];
        cr_assert_eq(pecs_case_parse(&c, cases[k], why, sizeof why), PECS_OK, "%s: %s", cases[k], why);
        pecs_cov_classify(&ce, &c, v);
        pecs_cov_mark(&recount, v, recount.covered);
        pecs_case_free(&c);
        free(cases[k]);
    }
    free(cases);
    int rv, rc;
    pecs_cov_count(&recount, &rv, &rc);
    cr_assert_eq(rc, covered, "the cases, parsed back, cover what the generator counted");
    pecs_cov_pairs_free(&recount);
    pecs_cov_enc_free(&ce);
}

/* ---- the suites ------------------------------------------------------------------------------------- */

static void add_suite(pecs_cov_enc *cov, const char *name)
{
    char path[1024], why[2048];
    pecs_suite s;
    snprintf(path, sizeof path, "%s/suites/%s.yaml", tu_env("PECS_SRC", "."), name);
    cr_assert_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_OK, "%s", why);
    for (int k = 0; k < s.n_cases; k++) {
        pecs_case c;
        pecs_status st = pecs_case_parse(&c, s.cases[k], why, sizeof why);
        cr_assert(st == PECS_OK || st == PECS_LIMIT, "%s: %s", s.cases[k], why);
        if (c.enc->tier == 1)
            pecs_cov_add_case(&cov[c.enc->enc], &c);
        pecs_case_free(&c);
    }
    pecs_suite_free(&s);
}

/* The default suites (the list `pecs mutate` runs) plus suites/t1-pairwise.yaml reach every valid pair of
 * every T1 encoding; without t1-pairwise they do not, and the known hole is found: no rope.dynamic_ntk case
 * had a partial rotary_dim (a kernel that takes the base exponent from head_dim passed them all). Catches a
 * change to the registry, the suites or the domain rule that leaves a pair unreached: regenerate
 * suites/t1-pairwise.yaml with the command in its header. */
Test(coverage, every_t1_encoding_is_pairwise_complete, .timeout = 900)
{
    static const char *const defaults[] = {"smoke", "t1-rotate", "t1-multiaxis", "t1-bias", "t1-other", "invariance"};
    pecs_cov_enc *cov = calloc(PECS_ENC_COUNT, sizeof *cov);
    cr_assert_not_null(cov);
    char why[512];
    for (int e = 0; e < PECS_ENC_COUNT; e++)
        if (pecs_registry_get((pecs_enc)e)->tier == 1)
            cr_assert_eq(pecs_cov_enc_init(&cov[e], pecs_registry_get((pecs_enc)e), why, sizeof why), PECS_OK, "%s", why);
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        add_suite(cov, defaults[i]);

    /* before: the hole the issue names */
    pecs_cov_enc *dyn = &cov[pecs_registry_find("rope.dynamic_ntk")->enc];
    int ri = -1, partial_pairs = 0, valid, covered;
    factor(dyn, "rotary", &ri);
    cr_assert_geq(ri, 0);
    for (int k = 0; k < dyn->pairs.n_pairs; k++) {
        int i, a, j, b;
        pecs_cov_pair_decode(&dyn->pairs, k, &i, &a, &j, &b);
        if ((i == ri && a == 1) || (j == ri && b == 1)) {
            cr_assert(!dyn->pairs.covered[k], "a default suite now has a partial-rotary dynamic NTK case");
            partial_pairs += dyn->pairs.valid[k];
        }
    }
    cr_assert_gt(partial_pairs, 0, "partial rotary is valid for rope.dynamic_ntk");
    pecs_cov_count(&dyn->pairs, &valid, &covered);
    cr_assert_lt(covered, valid);

    add_suite(cov, "t1-pairwise");
    for (int e = 0; e < PECS_ENC_COUNT; e++) {
        if (pecs_registry_get((pecs_enc)e)->tier != 1)
            continue;
        pecs_cov_count(&cov[e].pairs, &valid, &covered);
        if (covered < valid) {
            char name[256];
            for (int k = 0; k < cov[e].pairs.n_pairs; k++)
                if (cov[e].pairs.valid[k] && !cov[e].pairs.covered[k]) {
                    pecs_cov_pair_name(&cov[e], k, name, sizeof name);
                    break;
                }
            cr_expect_fail("%s: %d of %d pairs covered; first missing: %s (regenerate suites/t1-pairwise.yaml)",
                           cov[e].enc->id, covered, valid, name);
        }
        pecs_cov_enc_free(&cov[e]);
    }
    free(cov);
}

/* ---- the command -------------------------------------------------------------------------------------- */

static int run_pecs(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > /dev/null 2>&1", tu_env("PECS_SRC", "."),
             tu_env("PECS_BIN", "build/pecs"), args);
    int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* pecs coverage's exit status: 1 below --min (smoke alone is not pairwise-complete), 0 at 100% with the
 * default suites and t1-pairwise, 2 on bad input before any work. Catches --min ignored or a bad suite
 * reported as a coverage figure. */
Test(coverage, cli_exit_status, .timeout = 900)
{
    cr_assert_eq(run_pecs("coverage --tier 1 --min 100 suites/smoke.yaml"), 1);
    cr_assert_eq(run_pecs("coverage --tier 1 --min 100 smoke t1-rotate t1-multiaxis t1-bias t1-other invariance "
                          "t1-pairwise"), 0);
    cr_assert_eq(run_pecs("coverage"), 2, "no suite");
    cr_assert_eq(run_pecs("coverage no-such-suite"), 2);
    cr_assert_eq(run_pecs("coverage --min 101 smoke"), 2);
    cr_assert_eq(run_pecs("coverage --tier 1 --generate /nonexistent-dir/x.yaml smoke"), 2);
    cr_assert_eq(run_pecs("coverage --help"), 0);
}
