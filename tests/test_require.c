/* tests/test_require.c — required cases (harness/require.c) and coverage counts in `pecs run`: a required
 * case that is SKIPPED is FAILED with the backend's reason; a backend that judged none of the cases makes
 * the run exit 1. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "require.h"
#include "testutil.h"
#include "util.h"
#include "verdict.h"

static void req_tmp(void) { tu_tmp_make("require"); }

TestSuite(require, .init = req_tmp, .fini = tu_tmp_remove);

static void write_text(const char *path, const char *text)
{
    char why[256];
    cr_assert_eq(pecs_write_atomic(path, text, strlen(text), why, sizeof why), PECS_OK, "%s", why);
}

static const char ROPE[] = "rope dtype=f32 tokens=5 heads=3 head_dim=8 check=equivalence level=exact";
static const char YARN[] = "rope.yarn factor=4 dtype=bf16 tokens=5 check=equivalence level=exact";
static const char ALIBI[] = "alibi dtype=f32 tokens=5 heads=3 check=equivalence level=exact";
static const char COPE[] = "cope dtype=f32 tokens=8 check=equivalence level=exact";

/* A family matches every encoding of its form, an encoding id only its own cases (not rope.yarn for rope). */
Test(require, family_and_encoding)
{
    pecs_require r = {0};
    char why[512];
    cr_assert_eq(pecs_require_add(&r, "bias", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_str_eq(pecs_require_match(&r, ALIBI), "--require bias");
    cr_assert_null(pecs_require_match(&r, ROPE));
    cr_assert_null(pecs_require_match(&r, COPE));
    cr_assert_eq(pecs_require_add(&r, "rope", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_str_eq(pecs_require_match(&r, ROPE), "--require rope");
    cr_assert_null(pecs_require_match(&r, YARN), "an encoding id is not a prefix");
    cr_assert_eq(pecs_require_add(&r, "scores", why, sizeof why), PECS_OK, "%s", why);
    cr_assert_str_eq(pecs_require_match(&r, COPE), "--require scores");
    char *given = json_dumps(r.given, JSON_COMPACT);
    cr_assert_str_eq(given, "[{\"family\":\"bias\"},{\"encoding\":\"rope\"},{\"family\":\"scores\"}]");
    free(given);
    pecs_require_free(&r);
    cr_assert_eq(pecs_require_add(&r, "rotat", why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "--require 'rotat': not a family (rotate, bias"), "%s", why);
    cr_assert_eq(pecs_require_add(&r, "rope.yarnn", why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "did you mean 'rope.yarn'"), "%s", why);
    pecs_require_free(&r);
}

/* A file: comments and blanks skipped, each line a family, an encoding id or a regex; its place named. */
Test(require, file_of_regexes_ids_and_families)
{
    pecs_require r = {0};
    char why[512];
    write_text(tu_tmp_path("req.txt"), "# what we claim\n\n  rope.yarn  \n^alibi .*dtype=f32 \nmask\n   # indented comment\n");
    cr_assert_eq(pecs_require_add(&r, tu_tmp_path("req.txt"), why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(r.n, 3);
    const char *m = pecs_require_match(&r, YARN);
    cr_assert(m && strstr(m, "req.txt:3 rope.yarn"), "%s", m ? m : "(null)");
    m = pecs_require_match(&r, ALIBI);
    cr_assert(m && strstr(m, "req.txt:4 '^alibi .*dtype=f32'"), "%s", m ? m : "(null)");
    cr_assert_null(pecs_require_match(&r, "alibi dtype=bf16 tokens=5"));
    cr_assert_not_null(pecs_require_match(&r, "mask.causal dtype=f32 tokens=5"));
    cr_assert_null(pecs_require_match(&r, ROPE));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r.given, 0), "file")), tu_tmp_path("req.txt"));
    char sha[65], err[256];
    cr_assert_eq(pecs_sha256_file(tu_tmp_path("req.txt"), sha, err, sizeof err), PECS_OK, "%s", err);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(r.given, 0), "sha256")), sha,
                     "the sha256 of the file's bytes");
    pecs_require_free(&r);
    /* bad files: an invalid regex (located), nothing in it, missing */
    write_text(tu_tmp_path("bad.txt"), "rope\n(unclosed\n");
    cr_assert_eq(pecs_require_add(&r, tu_tmp_path("bad.txt"), why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "bad.txt:2 '(unclosed': not a family"), "%s", why);
    pecs_require_free(&r);
    write_text(tu_tmp_path("empty.txt"), "# nothing\n\n");
    cr_assert_eq(pecs_require_add(&r, tu_tmp_path("empty.txt"), why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "no requirement in the file"), "%s", why);
    pecs_require_free(&r);
    cr_assert_eq(pecs_require_load(&r, tu_tmp_path("nothere.txt"), why, sizeof why), PECS_INVALID);
    pecs_require_free(&r);
}

/* SKIPPED of a required case -> FAILED with the skip reason; any other verdict, or an unrequired case, stays. */
Test(require, apply_turns_skipped_into_failed)
{
    pecs_require r = {0};
    char why[512], reason[768];
    cr_assert_eq(pecs_require_add(&r, "scores", why, sizeof why), PECS_OK, "%s", why);
    int v = PECS_V_SKIPPED;
    snprintf(reason, sizeof reason, "not supported: no cope here");
    cr_assert_eq(pecs_require_apply(&r, COPE, &v, reason, sizeof reason), 1);
    cr_assert_eq(v, PECS_V_FAILED);
    cr_assert_str_eq(reason, "required by --require scores: not supported: no cope here");
    v = PECS_V_SKIPPED;
    cr_assert_eq(pecs_require_apply(&r, ROPE, &v, reason, sizeof reason), 0);
    cr_assert_eq(v, PECS_V_SKIPPED);
    v = PECS_V_PASSED;
    cr_assert_eq(pecs_require_apply(&r, COPE, &v, reason, sizeof reason), 0);
    cr_assert_eq(v, PECS_V_PASSED);
    pecs_require_free(&r);
}

/* pecs run: simd declines CoPE's scores. Without --require the run is not green either (simd judged none
 * of the cases); with --require scores the case is FAILED with the reason; the results record what was
 * required; a bad --require is exit 2 before any case. */
Test(require, run_required_skip_fails_and_unjudged_backend_exits_1)
{
    char args[1024], *out;
    snprintf(args, sizeof args, "run --case cope --backend simd --out '%s'", tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 1, "%s", out);
    cr_assert(strstr(out, "backend simd judged none of the 1 cases: all SKIPPED"), "%s", out);
    cr_assert(strstr(out, "0 passed, 0 failed, 1 skipped"), "%s", out);
    free(out);
    /* another backend judging it does not excuse simd */
    snprintf(args, sizeof args, "run --case cope --case rope --backend simd --backend scalar --out '%s'",
             tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 0, "simd judged rope: %s", out);
    cr_assert_null(strstr(out, "judged none"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "run --case cope --backend simd --backend scalar --out '%s'", tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 1, "%s", out);
    cr_assert(strstr(out, "backend simd judged none") && !strstr(out, "backend scalar judged none"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "run --case cope --case rope --backend simd --require scores --out '%s'",
             tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 1, "%s", out);
    cr_assert(strstr(out, "FAILED     simd     cope") && strstr(out, "required by --require scores: not supported: "),
              "%s", out);
    free(out);
    json_error_t err;
    json_t *root = json_load_file(tu_tmp_path("r.json"), 0, &err);
    cr_assert_not_null(root, "%s", err.text);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(root, "require"), 0), "family")),
                     "scores");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(root, "summary"), "FAILED")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(root, "run_identity"), "--require")),
                     "[{\"family\":\"scores\"}]");
    json_decref(root);
    snprintf(args, sizeof args, "run --case cope --require nothing --out '%s'", tu_tmp_path("bad.json"));
    cr_assert_eq(tu_pecs(args, &out), 2, "%s", out);
    cr_assert(strstr(out, "--require 'nothing': not a family"), "%s", out);
    cr_assert_null(strstr(out, "passed"), "%s", out);
    free(out);
}
