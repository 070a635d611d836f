/* tests/test_certify.c — certification profiles and claims (harness/certify.c), and pecs certify / verify end to
 * end: a conformant certificate verifies and reruns; a declined claimed encoding, a failure outside the claim,
 * tampering with any file, and a consistent forgery (caught by --rerun only) are not conformant. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "certify.h"
#include "testutil.h"
#include "results.h"
#include "util.h"
#include "verdict.h"

static const char *mini(void)
{
    static char buf[512];
    return tu_src(buf, sizeof buf, "tests/data/certify/mini.yaml");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static pecs_status load_text(pecs_cert_profile *p, const char *text, char *why, size_t n)
{
    write_text(tu_tmp_path("p.yaml"), text);
    return pecs_cert_profile_load(p, tu_tmp_path("p.yaml"), why, n);
}

static void setup(void) { tu_tmp_make("certify"); }
static void teardown(void) { tu_tmp_remove(); }

TestSuite(certify, .init = setup, .fini = teardown);

Test(certify, shipped_profiles_load)
{
    static pecs_cert_profile p;
    char why[1024], buf[512];
    cr_assert_eq(pecs_cert_profile_load(&p, tu_src(buf, sizeof buf, "configs/certify/pecs-cert-1.yaml"), why, sizeof why),
                 PECS_OK, "%s", why);
    cr_expect_str_eq(p.name, "pecs-cert-1");
    cr_expect_eq(p.n_families, 9);
    cr_assert_eq(pecs_cert_profile_load(&p, mini(), why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(p.n_suites, 1);
}

Test(certify, bad_profiles_name_the_place)
{
    static pecs_cert_profile p;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"profile: x\nversion: 1\nsuites: [smoke]\nlevels: [exact]\nfamilies:\n  r:\n    encodings: [rope, nosuch]\n"
         "    dtypes: [f32]\n",
         "p.yaml:7:23: key 'encodings': value 'nosuch' is not a registered encoding"},
        {"profile: x\nversion: 1\nsuites: [smoke]\nlevels: [exact]\nfamilies:\n  r:\n    encodings: [rope]\n"
         "    dtypes: [f99]\n",
         "p.yaml:8:14: key 'dtypes': value 'f99' is not a dtype"},
        {"profile: x\nversion: 1\nsuites: [smoke]\nlevels: [exact]\nfamilies:\n  a:\n    encodings: [rope]\n"
         "    dtypes: [f32]\n  b:\n    encodings: [alibi, rope]\n    dtypes: [f32]\n",
         "encoding 'rope' is already in family 'a'"},
        {"profile: x\nversion: 0\nsuites: [smoke]\nlevels: [exact]\nfamilies: {}\n", "key 'version': an integer >= 1"},
        {"profile: x\nversion: 1\nsuites: [smoke]\nlevels: [exact]\nfamilies:\n  rope:\n    encodings: [rope]\n"
         "    dtypes: [f32]\n",
         "a family may not take an encoding's name"},
        {"profile: x\nversion: 1\nsuites: [smoke]\nlevels: [exact]\nbogus: 1\nfamilies: {}\n", "bogus"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[1024] = "";
        cr_expect_neq(load_text(&p, bad[i].text, why, sizeof why), PECS_OK, "case %zu", i);
        cr_expect_not_null(strstr(why, bad[i].want), "case %zu: %s", i, why);
    }
}

Test(certify, claims_expand_and_refuse)
{
    static pecs_cert_profile p;
    static pecs_cert_claim c;
    char why[1024];
    cr_assert_eq(pecs_cert_profile_load(&p, mini(), why, sizeof why), PECS_OK, "%s", why);
    const char *w1[] = {"rotate:f32,bf16", "alibi"};
    cr_assert_eq(pecs_cert_claim_parse(&p, w1, 2, "f32angle", &c, why, sizeof why), PECS_OK, "%s", why);
    cr_expect_eq(c.n_units, 10 * 2 + 3); /* 10 rotate encodings x 2 dtypes, alibi in the family's 3 */
    cr_expect_str_eq(c.units[0].encoding, "rope");
    cr_expect_str_eq(c.units[20].family, "bias");
    static const struct {
        const char *word, *level, *want;
    } bad[] = {{"rotate:f64", "exact", "not f64"},          {"nosuch", "exact", "neither a family"},
               {"alibi:f32,f99", "exact", "'f99' is not a dtype"}, {"rope", "strict", "--level 'strict'"},
               {"rope:", "exact", "empty dtype list"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_neq(pecs_cert_claim_parse(&p, &bad[i].word, 1, bad[i].level, &c, why, sizeof why), PECS_OK);
        cr_expect_not_null(strstr(why, bad[i].want), "%s: %s", bad[i].word, why);
    }
    const char *twice[] = {"rope:f32", "rotate"};
    cr_expect_neq(pecs_cert_claim_parse(&p, twice, 2, "exact", &c, why, sizeof why), PECS_OK);
    cr_expect_not_null(strstr(why, "claimed twice"), "%s", why);
}

/* A results object with one isolated backend and the given (case, status, reason) rows. */
static json_t *results_of(const char *const rows[][3], int n, int isolated)
{
    json_t *cases = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(cases, json_pack("{s:s, s:s, s:s}", "case", rows[i][0], "status", rows[i][1], "reason",
                                               rows[i][2]));
    return json_pack("{s:[{s:s}], s:[{s:b}], s:o}", "suites", "path", "suites/smoke.yaml", "backends", "isolated",
                     isolated, "cases", cases);
}

Test(certify, evaluation_rules)
{
    static pecs_cert_profile p;
    static pecs_cert_claim c;
    char why[1024];
    cr_assert_eq(pecs_cert_profile_load(&p, mini(), why, sizeof why), PECS_OK, "%s", why);
    const char *w[] = {"rope:f32"};
    cr_assert_eq(pecs_cert_claim_parse(&p, w, 1, "exact", &c, why, sizeof why), PECS_OK, "%s", why);
    static const struct {
        const char *rows[3][3];
        int n, isolated;
        const char *verdict, *problem;
    } t[] = {
        {{{"rope dtype=f32 level=exact", "PASSED", ""}, {"alibi dtype=f32 level=exact", "SKIPPED", "no alibi"}}, 2, 1,
         "CONFORMANT", NULL},
        {{{"rope dtype=f32 level=exact", "PASSED", ""}, {"rope dtype=f32 x=1 level=exact", "SKIPPED", "no"}}, 2, 1,
         "NOT CONFORMANT", "claimed case SKIPPED"},
        {{{"rope dtype=f32 level=exact", "PASSED", ""}, {"alibi dtype=f32 level=exact", "FAILED", "off"}}, 2, 1,
         "NOT CONFORMANT", "outside the claim"},
        {{{"rope dtype=f32 level=exact", "PASSED", ""}, {"alibi dtype=f32 level=exact", "SKIPPED", ""}}, 2, 1,
         "NOT CONFORMANT", "SKIPPED without a reason"},
        {{{"rope dtype=f16 level=exact", "PASSED", ""}}, 1, 1, "NOT CONFORMANT", "no case of it"},
        {{{"rope dtype=f32 level=exact", "BEYOND_LEVEL", "far"}}, 1, 1, "NOT CONFORMANT", "no case was judged"},
        {{{"rope dtype=f32 level=f32angle", "PASSED", ""}}, 1, 1, "NOT CONFORMANT", "judged at level 'f32angle'"},
        {{{"rope dtype=f32 level=exact", "PASSED", ""}}, 1, 0, "NOT CONFORMANT", "not run isolated"},
        {{{"rope dtype=f32 level=exact", "CRASHED", "signal 11"}}, 1, 1, "NOT CONFORMANT", "claimed case CRASHED"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *r = results_of(t[i].rows, t[i].n, t[i].isolated), *ev = pecs_cert_evaluate(&p, &c, r);
        cr_assert_not_null(ev);
        cr_expect_str_eq(json_string_value(json_object_get(ev, "verdict")), t[i].verdict, "case %zu", i);
        if (t[i].problem) {
            char *s = json_dumps(json_object_get(ev, "problems"), 0);
            cr_expect_not_null(strstr(s, t[i].problem), "case %zu: %s", i, s);
            free(s);
        }
        json_decref(ev);
        json_decref(r);
    }
}

Test(certify, challenge_is_fresh)
{
    unsigned long long s1, s2;
    long long o1, o2;
    char why[256];
    cr_assert_eq(pecs_cert_challenge(&s1, &o1, why, sizeof why), PECS_OK);
    cr_assert_eq(pecs_cert_challenge(&s2, &o2, why, sizeof why), PECS_OK);
    cr_expect_neq(s1, s2);
    cr_expect(o1 >= 1 && o1 <= 4096 && o2 >= 1 && o2 <= 4096);
    cr_expect_neq(pecs_cert_case_seed(s1, 1), pecs_cert_case_seed(s1, 2));
    cr_expect_lt(pecs_cert_case_seed(s1, 1), 1ULL << 63);
}

/* ---- end to end --------------------------------------------------------------------------------------------- */

/* mini.yaml without the throughput timing (throughput_min_time 0): certify's cost is mostly the timing of every
 * passing case, and only the conformant certificate's test checks the throughput summary. */
static const char *untimed(void)
{
    static char path[512];
    if (!path[0]) {
        char *text = NULL, why[256];
        size_t len = 0;
        cr_assert_eq(pecs_read_file(mini(), &text, &len, why, sizeof why), PECS_OK, "%s", why);
        char *at = strstr(text, "throughput_min_time: 0.001");
        cr_assert_not_null(at);
        memcpy(at, "throughput_min_time: 0    ", 26);
        snprintf(path, sizeof path, "%s", tu_tmp_path("mini-untimed.yaml"));
        write_text(path, text);
        free(text);
    }
    return path;
}

static int certify_with(const char *profile, const char *plugin, const char *claims, const char *dir, char **out)
{
    char args[2048];
    snprintf(args, sizeof args, "certify --profile '%s' --backend '%s' %s --out '%s'", profile, plugin, claims, dir);
    return tu_pecs(args, out);
}

static int certify(const char *plugin, const char *claims, const char *dir, char **out)
{
    return certify_with(untimed(), plugin, claims, dir, out);
}

static int verify(const char *dir, const char *extra, char **out)
{
    char args[1024];
    snprintf(args, sizeof args, "verify '%s' %s", dir, extra);
    return tu_pecs(args, out);
}

static void copy_dir(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
    cr_assert_eq(system(cmd), 0);
}

/* Flip one byte of a file (the first occurrence of `from` becomes `to`). */
static void tamper(const char *path, const char *from, const char *to)
{
    char *text = NULL, why[256];
    size_t len = 0;
    cr_assert_eq(pecs_read_file(path, &text, &len, why, sizeof why), PECS_OK, "%s", why);
    char *at = strstr(text, from);
    cr_assert_not_null(at, "%s has no '%s'", path, from);
    memcpy(at, to, strlen(to));
    write_text(path, text);
    free(text);
}

Test(certify, conformant_certificate_verifies_and_any_tampering_fails, .timeout = 600)
{
    char plugin[512], *out = NULL, dir[256];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("cert"));
    tu_plugin(plugin, sizeof plugin, "scalar");
    cr_assert_eq(certify_with(mini(), plugin, "--claim rope:f32 --claim alibi:f32", dir, &out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "CONFORMANT: scalar@libpecs-scalar.so at level exact (0 problem(s))"), "%s", out);
    free(out);
    { /* the timed profile: every claimed unit carries a throughput from cases actually timed */
        json_t *cj = json_load_file(tu_tmp_path("cert/certificate.json"), 0, NULL), *row;
        cr_assert_not_null(cj);
        size_t i, n_rows = 0;
        json_array_foreach(json_object_get(json_object_get(cj, "evaluation"), "units"), i, row)
        {
            json_t *tp = json_object_get(row, "throughput");
            n_rows++;
            cr_expect(json_integer_value(json_object_get(tp, "timed")) > 0, "%s", json_dumps(row, 0));
            double med = json_number_value(json_object_get(tp, "median_gbytes_per_s")),
                   best = json_number_value(json_object_get(tp, "best_gbytes_per_s"));
            cr_expect(med > 0 && best >= med && best < 1e4, "median %g best %g", med, best);
        }
        cr_expect_eq(n_rows, 2);
        json_decref(cj);
    }
    cr_assert_eq(verify(dir, "--rerun", &out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "verdicts reproduced"), "%s", out);
    free(out);
    /* A second certify into the same directory refuses: a certificate is never overwritten. */
    cr_expect_eq(certify(plugin, "--claim rope:f32", dir, &out), 2, "%s", out);
    free(out);
    static const struct {
        const char *file, *from, *to;
    } edits[] = {
        {"results.json", "\"PASSED\"", "\"FAILED\""},
        {"profile.yaml", "version: 1", "version: 2"},
        {"certificate.md", "CONFORMANT", "CONFORMANX"},
        {"certificate.json", "\"verdict\": \"CONFORMANT\"", "\"verdict\": \"CONFORMANX\""},
        {"certificate.json", "\"pos_offset\": ", "\"pos_offset\":-"},
        {"certificate.json", "\"seed\": \"", "\"seed\":\"0"},
        {"results.json", "\"case\": \"rope ", "\"case\": \"rope  "},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char path[512], t[256];
        snprintf(t, sizeof t, "%s", tu_tmp_path("tampered"));
        copy_dir(dir, t);
        snprintf(path, sizeof path, "%s/%s", t, edits[i].file);
        tamper(path, edits[i].from, edits[i].to);
        cr_expect_eq(verify(t, "", &out), 1, "edit %zu of %s was not caught:\n%s", i, edits[i].file, out);
        cr_expect_not_null(strstr(out, "INVALID"), "%s", out);
        free(out);
    }
    /* The challenge changes between certifications. */
    char dir2[256];
    snprintf(dir2, sizeof dir2, "%s", tu_tmp_path("cert2"));
    cr_assert_eq(certify(plugin, "--claim rope:f32", dir2, &out), 0, "%s", out);
    free(out);
    json_t *a = json_load_file(tu_tmp_path("cert/certificate.json"), 0, NULL),
           *b = json_load_file(tu_tmp_path("cert2/certificate.json"), 0, NULL);
    cr_assert(a && b);
    cr_expect_str_neq(json_string_value(json_object_get(json_object_get(a, "challenge"), "seed")),
                      json_string_value(json_object_get(json_object_get(b, "challenge"), "seed")));
    json_decref(a);
    json_decref(b);
}

Test(certify, declined_claim_and_failure_outside_the_claim_are_not_conformant, .timeout = 600)
{
    char mut[512], *out = NULL;
    /* The double-angle engine plugin (tests/plugins/engines) computes the rope family right and declines ALiBi:
     * claiming alibi is claiming what it declines. */
    snprintf(mut, sizeof mut, "%s/libengine-double.so", tu_env("PECS_ENGINE_DIR", "build/engine-plugins"));
    cr_assert_eq(certify(mut, "--claim rope:f32 --claim alibi:f32", tu_tmp_path("c1"), &out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "NOT CONFORMANT"), "%s", out);
    cr_expect_not_null(strstr(out, "claimed case SKIPPED: alibi "), "%s", out);
    free(out);
    cr_expect_eq(verify(tu_tmp_path("c1"), "", &out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "valid certificate: NOT CONFORMANT"), "%s", out);
    free(out);
    /* mutant-alibi_sign computes ALiBi wrong: claiming rope alone does not hide it. */
    snprintf(mut, sizeof mut, "%s/../mutants/libpecs-mutant-alibi_sign.so", tu_env("PECS_PLUGIN_DIR", "build/plugins"));
    cr_assert_eq(certify(mut, "--claim rope:f32", tu_tmp_path("c2"), &out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "outside the claim (decline what is not claimed): alibi "), "%s", out);
    free(out);
}

/* Write results.json back and seal the certificate around it as pecs certify would: summary, evaluation
 * computed again, file hashes, certificate.md rendered again. */
static void reseal(const char *dir, json_t *res, json_t *cert, const char *claim)
{
    char path[512], why[1024], sha[65];
    static pecs_cert_profile p;
    static pecs_cert_claim cl;
    int counts[PECS_V_COUNT] = {0};
    json_t *sum = json_object();
    pecs_results_count(json_object_get(res, "cases"), counts);
    for (int v = 0; v < PECS_V_COUNT; v++)
        json_object_set_new(sum, pecs_verdict_name((pecs_verdict)v), json_integer(counts[v]));
    json_object_set_new(res, "summary", sum);
    json_object_set(cert, "summary", sum);
    snprintf(path, sizeof path, "%s/results.json", dir);
    cr_assert_eq(json_dump_file(res, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER), 0);
    cr_assert_eq(pecs_sha256_file(path, sha, why, sizeof why), PECS_OK);
    json_object_set_new(json_object_get(cert, "files"), "results.json", json_string(sha));
    snprintf(path, sizeof path, "%s/profile.yaml", dir);
    cr_assert_eq(pecs_cert_profile_load(&p, path, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_cert_claim_parse(&p, &claim, 1, "exact", &cl, why, sizeof why), PECS_OK, "%s", why);
    json_object_set_new(cert, "evaluation", pecs_cert_evaluate(&p, &cl, res));
    json_object_del(json_object_get(cert, "files"), "certificate.md");
    char *md = pecs_cert_render_md(cert);
    snprintf(path, sizeof path, "%s/certificate.md", dir);
    write_text(path, md);
    pecs_sha256_hex(md, strlen(md), sha);
    free(md);
    json_object_set_new(json_object_get(cert, "files"), "certificate.md", json_string(sha));
    snprintf(path, sizeof path, "%s/certificate.json", dir);
    cr_assert_eq(json_dump_file(cert, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER), 0);
}

/* Someone who rewrites results.json and recomputes every hash and the evaluation makes a certificate that the
 * consistency checks accept if the case list is intact: only --rerun, which runs the cases again on the plugin,
 * catches forged verdicts. Dropping the failing cases instead is caught without --rerun: the cases must be the
 * profile's suites under the challenge. */
Test(certify, consistent_forgery_is_caught_by_rerun, .timeout = 600)
{
    char mut[512], *out = NULL, dir[256], dir2[256];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("forged"));
    snprintf(dir2, sizeof dir2, "%s", tu_tmp_path("dropped"));
    snprintf(mut, sizeof mut, "%s/../mutants/libpecs-mutant-alibi_sign.so", tu_env("PECS_PLUGIN_DIR", "build/plugins"));
    cr_assert_eq(certify(mut, "--claim alibi:f32", dir, &out), 1, "%s", out);
    free(out);
    copy_dir(dir, dir2);
    json_t *res = json_load_file(tu_tmp_path("forged/results.json"), 0, NULL),
           *cert = json_load_file(tu_tmp_path("forged/certificate.json"), 0, NULL), *c;
    cr_assert(res && cert);
    size_t i;
    json_array_foreach(json_object_get(res, "cases"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "status")), "FAILED")) {
            json_object_set_new(c, "status", json_string("PASSED"));
            json_object_set_new(c, "reason", json_string(""));
        }
    }
    reseal(dir, res, cert, "alibi:f32");
    json_decref(res);
    json_decref(cert);
    cr_expect_eq(verify(dir, "", &out), 0, "the forgery should pass the consistency checks:\n%s", out);
    free(out);
    cr_expect_eq(verify(dir, "--rerun", &out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "certified PASSED, now FAILED"), "%s", out);
    free(out);
    res = json_load_file(tu_tmp_path("dropped/results.json"), 0, NULL);
    cert = json_load_file(tu_tmp_path("dropped/certificate.json"), 0, NULL);
    cr_assert(res && cert);
    json_t *cases = json_object_get(res, "cases");
    for (i = json_array_size(cases); i-- > 0;)
        if (strcmp(json_string_value(json_object_get(json_array_get(cases, i), "status")), "PASSED"))
            json_array_remove(cases, i);
    reseal(dir2, res, cert, "alibi:f32");
    json_decref(res);
    json_decref(cert);
    cr_expect_eq(verify(dir2, "", &out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "the profile's suites under the challenge are"), "%s", out);
    free(out);
}

/* A certification spread over machines: one challenge, shards 1/2 and 2/2, pecs merge, certify --results. The
 * merged certificate verifies and reruns; one shard alone is refused. */
Test(certify, sharded_certification, .timeout = 600)
{
    char plugin[512], args[4096], dir[4][256], *out = NULL, ch[64] = "";
    tu_plugin(plugin, sizeof plugin, "scalar");
    cr_assert_eq(tu_pecs("certify --draw-challenge", &out), 0, "%s", out);
    cr_assert_eq(sscanf(out, "%63s", ch), 1);
    cr_assert_not_null(strchr(ch, ':'), "%s", ch);
    free(out);
    for (int k = 0; k < 4; k++)
        snprintf(dir[k], sizeof dir[k], "%s", tu_tmp_path(k < 2 ? (k ? "s2" : "s1") : k == 2 ? "merged" : "cert"));
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "certify --profile '%s' --backend '%s' --claim rope:f32 --challenge %s --shard %d/2 --out '%s'",
                 untimed(), plugin, ch, k + 1, dir[k]);
        cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
        free(out);
    }
    snprintf(args, sizeof args, "merge '%s.json' '%s/results.json' '%s/results.json'", dir[2], dir[0], dir[1]);
    cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
    free(out);
    snprintf(args, sizeof args, "certify --profile '%s' --results '%s/results.json' --challenge %s --claim rope:f32 --out '%s'",
             untimed(), dir[0], ch, dir[3]);
    cr_expect_eq(tu_pecs(args, &out), 2, "one shard alone was certified:\n%s", out);
    cr_expect_not_null(strstr(out, "is not a complete certification run"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "certify --profile '%s' --results '%s.json' --challenge %s --claim rope:f32 --out '%s'",
             untimed(), dir[2], ch, dir[3]);
    cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "CONFORMANT: scalar@libpecs-scalar.so"), "%s", out);
    free(out);
    cr_assert_eq(verify(dir[3], "--rerun", &out), 0, "%s", out);
    free(out);
}
