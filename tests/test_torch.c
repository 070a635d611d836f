/* tests/test_torch.c — the libtorch backend (impls/torch, C++) as a vendor plugin, through the pecs binary:
 * it loads isolated like any plugin, claims the HF rope schedules, alibi and t5 and passes them under the
 * compat profile at positions below 4096, declines the rest with a reason, and keeps HF's float32 angles
 * (strict fails at position 100000, compat passes). Skipped when the plugin was not built (no libtorch). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void mkdir_tmp(void) { tu_tmp_make("torch"); }

TestSuite(torch, .init = mkdir_tmp, .fini = tu_tmp_remove, .timeout = 1200);

/* The plugin's path, or skip the test when `make` did not build it. */
static const char *torch_plugin(char *buf, size_t n)
{
    tu_plugin(buf, n, "torch");
    if (access(buf, R_OK) != 0)
        cr_skip_test("%s was not built: libtorch not found (make showconfig; Debian: libtorch-dev)", buf);
    return buf;
}

static json_int_t summary_count(json_t *root, const char *verdict)
{
    return json_integer_value(json_object_get(json_object_get(root, "summary"), verdict));
}

/* Positions below 4096: every pattern whose @N is 0..4095 (contig, decode, random bound, const). */
#define BELOW_4096 "positions=[a-z]+@([0-9]{1,3}|[0-3][0-9]{3}|40[0-8][0-9]|409[0-5]) .*check=equivalence"

Test(torch, t1_equivalence_below_4096_passes_compat)
{
    char plug[512], args[4096], *out;
    snprintf(args, sizeof args,
             "run suites/t1-rotate.yaml suites/t1-bias.yaml --backend '%s' --set profile=compat --filter '" BELOW_4096
             "' --out '%s'",
             torch_plugin(plug, sizeof plug), tu_tmp_path("t1.json"));
    int rc = tu_pecs(args, &out);
    json_error_t err;
    json_t *root = json_load_file(tu_tmp_path("t1.json"), 0, &err);
    cr_assert_not_null(root, "no results (%s):\n%s", err.text, out);
    static const char *const bad[] = {"FAILED", "ERROR", "CRASHED", "TIMEOUT", "NONDETERMINISTIC", "MISTRUSTED"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(summary_count(root, bad[i]), 0, "%s: %lld\n%s", bad[i], (long long)summary_count(root, bad[i]), out);
    /* claimed = run, not SKIPPED: the rope schedules in every dtype, alibi and t5 */
    cr_expect_geq(summary_count(root, "PASSED"), 200, "only %lld cases claimed", (long long)summary_count(root, "PASSED"));
    cr_expect_eq(rc, 0, "%s", out);
    json_t *b = json_array_get(json_object_get(root, "backends"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(b, "name")), "torch");
    cr_expect_str_eq(json_string_value(json_object_get(b, "isa")), "torch-cpu");
    cr_expect(json_is_true(json_object_get(b, "isolated")), "a plugin given by path runs isolated");
    json_decref(root);
    free(out);
}

/* Declined cases are SKIPPED with the plugin's one-line reason: an encoding it has no HF kernel for, f64
 * positions (HF's position_ids are integers), f64 storage. */
Test(torch, declines_with_a_reason)
{
    static const struct {
        const char *spec, *reason;
    } cases[] = {
        {"xpos dtype=f32", "not supported: torch backend has no HF kernel for xpos"},
        {"kerple.log dtype=f32", "not supported: torch backend has no HF bias kernel for kerple.log"},
        {"rope dtype=f32 pos_dtype=f64", "integer positions (i32, i64)"},
        {"rope dtype=f64", "not f64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char plug[512], args[2048], *out;
        snprintf(args, sizeof args, "run --case '%s' --backend '%s' --out '%s'", cases[i].spec,
                 torch_plugin(plug, sizeof plug), tu_tmp_path("d.json"));
        cr_expect_eq(tu_pecs(args, &out), 0, "%s: %s", cases[i].spec, out);
        cr_expect(strstr(out, "SKIPPED") && strstr(out, cases[i].reason), "%s: want '%s' in\n%s", cases[i].spec,
                  cases[i].reason, out);
        free(out);
    }
}

/* HF forms the angle pos * inv_freq in float32, and so does this backend: at position 100000 that misses
 * strict (about 4e-3 off) and stays within compat's position-proportional allowance. */
Test(torch, float32_angles_fail_strict_and_pass_compat_at_100000)
{
    char plug[512], args[2048], *out;
    const char *spec = "rope dtype=f32 tokens=1 heads=4 head_dim=128 positions=decode@100000";
    snprintf(args, sizeof args, "run --case '%s' --backend '%s' --out '%s'", spec, torch_plugin(plug, sizeof plug),
             tu_tmp_path("s.json"));
    cr_expect_eq(tu_pecs(args, &out), 1, "strict should fail:\n%s", out);
    cr_expect(strstr(out, "FAILED"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "run --case '%s profile=compat' --backend '%s' --out '%s'", spec, plug,
             tu_tmp_path("c.json"));
    cr_expect_eq(tu_pecs(args, &out), 0, "compat should pass:\n%s", out);
    free(out);
}
