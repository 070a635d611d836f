/* tests/test_attacks.c — every attack on the verdict in docs/threat-model.md, as a hostile plugin
 * (tests/plugins/attack.c) run through the pecs binary, expecting the verdict the threat model promises:
 * never PASSED for a wrong kernel, never exit 0 for a run that was tampered with, never a crash of pecs. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

static void mk(void) { tu_tmp_make("attack"); }
TestSuite(attacks, .init = mk, .fini = tu_tmp_remove);

#define ROPE "--case 'rope dtype=f32 tokens=5 heads=3 head_dim=8'"

/* Run one attack plugin; isolate: "--isolate" or "--no-isolate"; extra: more arguments. */
static int attack(const char *name, const char *cases, const char *isolate, const char *extra, char **out)
{
    char args[3072], plug[512];
    snprintf(args, sizeof args, "run %s --backend '%s' %s %s --out '%s'", cases, tu_attack(plug, sizeof plug, name), isolate,
             extra ? extra : "", tu_tmp_path("r.json"));
    return tu_pecs(args, out);
}

/* The statuses of the results file, "STATUS STATUS ..." in case order. */
static void statuses(char *buf, size_t n)
{
    json_error_t err;
    json_t *root = json_load_file(tu_tmp_path("r.json"), 0, &err), *c;
    cr_assert_not_null(root, "results must be a valid file: %s", err.text);
    size_t i, off = 0;
    buf[0] = '\0';
    json_array_foreach(json_object_get(root, "cases"), i, c)
    off += (size_t)snprintf(buf + off, n - off, "%s ", json_string_value(json_object_get(c, "status")));
    json_decref(root);
}

static void expect_not_passed(const char *name, const char *cases, const char *isolate, const char *extra, const char *want,
                              const char *reason)
{
    char *out, st[4096];
    unlink(tu_tmp_path("r.json"));
    cr_assert_eq(attack(name, cases, isolate, extra, &out), 1, "%s %s: %s", name, isolate, out);
    statuses(st, sizeof st);
    cr_assert(!strstr(st, "PASSED"), "%s %s: %s\n%s", name, isolate, st, out);
    cr_assert(strstr(st, want), "%s %s: want %s, got %s\n%s", name, isolate, want, st, out);
    cr_assert(!reason || strstr(out, reason), "%s %s: want '%s' in\n%s", name, isolate, reason, out);
    free(out);
}

/* The plugin rewrites problem->params before computing: the reference comes from the harness's case. */
Test(attacks, rewriting_params_fails)
{
    expect_not_passed("params", ROPE, "--isolate", NULL, "FAILED", NULL);
    expect_not_passed("params", ROPE, "--no-isolate", NULL, "FAILED", NULL);
}

/* The pos descriptor pointed at zeros (rotation by 0: out = x): the reference reads its own positions. */
Test(attacks, redirecting_positions_fails)
{
    expect_not_passed("posdesc", ROPE, "--isolate", NULL, "FAILED", NULL);
    expect_not_passed("posdesc", ROPE, "--no-isolate", NULL, "FAILED", NULL);
}

/* Forged answers written into the socket are rejected (wrong nonce); the worker is replaced. */
Test(attacks, forged_answers_are_rejected)
{
    expect_not_passed("forge", ROPE, "--isolate", NULL, "ERROR", "wrong nonce");
    expect_not_passed("malformed", ROPE, "--isolate", NULL, "ERROR", "malformed answer");
}

/* isa() used to run in the parent: now a crash there is the backend's CRASHED, and the run goes on. */
Test(attacks, crash_in_a_descriptor_query_costs_that_backend_only)
{
    char *out, plug[512], args[2048], st[4096];
    snprintf(args, sizeof args, "run " ROPE " --backend '%s' --backend scalar --out '%s'",
             tu_attack(plug, sizeof plug, "isacrash"), tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 1, "%s", out);
    statuses(st, sizeof st);
    cr_assert_str_eq(st, "CRASHED PASSED ", "%s\n%s", st, out);
    /* under AddressSanitizer the fault is reported by the sanitizer, which exits with 1 */
    cr_assert(strstr(out, "while loading: the backend died with signal 11") ||
              strstr(out, "while loading: the backend's process exited with status"), "%s", out);
    free(out);
}

/* Names and descriptions that could forge console lines or break the JSON are refused up front. */
Test(attacks, hostile_names_are_refused)
{
    char *out;
    cr_assert_eq(attack("badutf8", ROPE, "--isolate", NULL, &out), 2, "%s", out);
    cr_assert(strstr(out, "backend name is not 1-64 characters"), "%s", out);
    free(out);
    cr_assert_eq(attack("badutf8", ROPE, "--no-isolate", NULL, &out), 2, "%s", out);
    free(out);
    cr_assert_eq(attack("newline", ROPE, "--isolate", NULL, &out), 2, "%s", out);
    cr_assert(strstr(out, "description is not printable UTF-8"), "%s", out);
    free(out);
}

/* A plugin named like a built-in is named <name>@<file>: it cannot pass for the built-in. */
Test(attacks, builtin_names_are_reserved)
{
    char *out, plug[512], args[2048];
    snprintf(args, sizeof args, "run " ROPE " --backend '%s' --backend scalar --out '%s'",
             tu_attack(plug, sizeof plug, "fakebuiltin"), tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "scalar@libattack-fakebuiltin.so"), "%s", out);
    free(out);
    json_error_t err;
    json_t *root = json_load_file(tu_tmp_path("r.json"), 0, &err);
    cr_assert_not_null(root);
    json_t *cases = json_object_get(root, "cases");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(cases, 0), "backend")), "scalar@libattack-fakebuiltin.so");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(cases, 1), "backend")), "scalar");
    json_decref(root);
}

/* Right when checked, fast and wrong when timed: every timed call's output is compared. */
Test(attacks, wrong_timed_calls_fail)
{
    expect_not_passed("timedcheat", ROPE, "--isolate", "--mode all --min-time 0.01", "FAILED", "timed call");
    expect_not_passed("timedcheat", ROPE, "--no-isolate", "--mode all --min-time 0.01", "FAILED", "timed call");
}

/* A changed rounding mode is the backend's FAILED, restored before anything else runs: the correct
 * backend after it, in the same process, passes. */
Test(attacks, fp_environment_is_restored_and_reported)
{
    char *out, plug[512], args[2048], st[4096];
    expect_not_passed("fenv", ROPE, "--isolate", NULL, "FAILED", "floating-point environment");
    snprintf(args, sizeof args, "run suites/smoke.yaml --filter 'dtype=f32 tokens=5 heads=3 head_dim=8 layout=thd "
             "view=contiguous positions=contig@0' --no-isolate --backend '%s' --backend scalar --out '%s'",
             tu_attack(plug, sizeof plug, "fenv"), tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 1, "%s", out);
    free(out);
    statuses(st, sizeof st);
    char *half = st + strlen(st) / 2; /* the attack's cases, then scalar's */
    cr_assert(!strstr(half, "FAILED") && strstr(half, "PASSED") && !strstr(st, "FAILED PASSED FAILED PASSED"), "%s", st);
}

/* Stray writes far before and after the output, in correctness and timed runs, in and out of process. */
Test(attacks, stray_writes_on_both_sides_in_every_mode)
{
    const char *modes[] = {"--mode correctness", "--mode all --min-time 0.01"};
    for (int m = 0; m < 2; m++) {
        expect_not_passed("strayfar", ROPE, "--no-isolate", modes[m], "FAILED", "before the tensor");
        expect_not_passed("strayafter", ROPE, "--no-isolate", modes[m], "FAILED", "after the tensor");
        char *out, st[4096];
        cr_assert_eq(attack("strayfar", ROPE, "--isolate", modes[m], &out), 1, "%s", out);
        free(out);
        statuses(st, sizeof st);
        cr_assert(strstr(st, "FAILED") || strstr(st, "CRASHED"), "%s", st);
        expect_not_passed("strayafter", ROPE, "--isolate", modes[m], "", NULL);
    }
}

/* exit(0) in process: exit status 3 and the reason, no results file; isolated: that case CRASHED. */
Test(attacks, exit_inside_a_call)
{
    char *out;
    unlink(tu_tmp_path("r.json"));
    cr_assert_eq(attack("exit0", ROPE, "--no-isolate", NULL, &out), 3, "%s", out);
    cr_assert(strstr(out, "called exit() inside a call"), "%s", out);
    cr_assert_neq(access(tu_tmp_path("r.json"), F_OK), 0);
    free(out);
    expect_not_passed("exit0", ROPE, "--isolate", NULL, "CRASHED", "exited with status");
}

/* A spinning backend: TIMEOUT by the deadline; and its process dies with pecs (kill -9 of pecs). */
Test(attacks, spinning_worker_times_out_and_dies_with_pecs)
{
    expect_not_passed("spin", ROPE, "--isolate", "--timeout 1", "TIMEOUT", "no result within 1 s");
    char cmd[4096], plug[512];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && { '%s' run " ROPE " --backend '%s' --timeout 300 --out '%s' >/dev/null 2>&1 & p=$!; sleep 1.5; "
             "pgrep -f '[p]ecs-worker --fd 3 .*--backend .*libattack-spin' >/dev/null || { kill -9 $p; exit 3; }; "
             "kill -9 $p; sleep 1; ! pgrep -f '[p]ecs-worker --fd 3 .*--backend .*libattack-spin' >/dev/null; }",
             tu_env("PECS_SRC", "."), tu_env("PECS_BIN", "build/pecs"), tu_attack(plug, sizeof plug, "spin"),
             tu_tmp_path("spin.json"));
    int st = system(cmd);
    cr_assert_eq(st, 0, "the worker must exist while pecs runs (3) and die with it (1): status %d", st >> 8);
}

/* --mem-cap applies in the worker: a backend allocating 1 GiB under a 64 MiB cap does not pass. */
Test(attacks, memory_cap_applies_in_the_worker)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("the worker sets no RLIMIT_DATA under AddressSanitizer (its shadow memory would count)");
#endif
    char *out, st[4096];
    cr_assert_eq(attack("memhog", ROPE, "--isolate", "--mem-cap 64", &out), 1, "%s", out);
    free(out);
    statuses(st, sizeof st);
    cr_assert(strstr(st, "ERROR") || strstr(st, "CRASHED"), "%s", st);
}

/* supports() that leaves its reason without a NUL: SKIPPED with the reason cut, read within bounds. */
Test(attacks, unterminated_reason_is_bounded)
{
    const char *iso[] = {"--isolate", "--no-isolate"};
    for (int i = 0; i < 2; i++) {
        char *out, st[4096];
        /* exit 1: a backend that declined every case judged none (issue 12) */
        cr_assert_eq(attack("nonul", ROPE, iso[i], NULL, &out), 1, "%s", out);
        cr_assert(strstr(out, "not supported: xxxxxxxx"), "%s", out);
        free(out);
        statuses(st, sizeof st);
        cr_assert_str_eq(st, "SKIPPED ");
    }
}

/* A destructor that rewrites the results file never runs: the worker is SIGKILLed before results are
 * written. The file is pecs's, with the plugin's real (wrong?) verdicts: here it computes correctly. */
Test(attacks, plugin_destructor_cannot_touch_results)
{
    char *out, plug[512], args[2048];
    snprintf(args, sizeof args, "run " ROPE " --backend '%s' --out '%s'", tu_attack(plug, sizeof plug, "dtor"),
             tu_tmp_path("r.json"));
    setenv("PECS_ATTACK_TARGET", tu_tmp_path("r.json"), 1);
    int rc = tu_pecs(args, &out);
    unsetenv("PECS_ATTACK_TARGET");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    char st[4096];
    statuses(st, sizeof st); /* fails on {"forged": true} */
    cr_assert_str_eq(st, "PASSED ");
}

/* Output for position 0 (out = x), then a thread zeroes the real positions after the answer, hoping the
 * reference reads them: the parent judges its own snapshot (and sees the input write if it is early). */
Test(attacks, writes_after_the_answer_change_nothing)
{
    expect_not_passed("latewrite", ROPE, "--isolate", NULL, "FAILED", NULL);
}

/* The worker is sandboxed (Landlock, where the kernel has it): a plugin cannot write files or kill pecs. */
Test(attacks, worker_cannot_write_files_or_signal_pecs)
{
    char *out, plug[512], args[2048];
    snprintf(args, sizeof args, "run " ROPE " --backend '%s' --out '%s'", tu_attack(plug, sizeof plug, "escape"),
             tu_tmp_path("r.json"));
    setenv("PECS_ATTACK_TARGET", tu_tmp_path("escaped.txt"), 1);
    int rc = tu_pecs(args, &out);
    unsetenv("PECS_ATTACK_TARGET");
    json_error_t err;
    json_t *root = json_load_file(tu_tmp_path("r.json"), 0, &err);
    const char *sb = root ? json_string_value(json_object_get(json_array_get(json_object_get(root, "backends"), 0), "sandbox"))
                          : NULL;
    if (sb && !strncmp(sb, "none", 4)) {
        json_decref(root);
        free(out);
        cr_skip_test("no sandbox on this kernel: %s", sb);
    }
    cr_assert_eq(rc, 0, "pecs must survive and pass the (correct) kernel: %s", out);
    cr_assert(sb && strstr(sb, "landlock") && strstr(sb, "signals"), "%s", sb ? sb : "no sandbox field");
    cr_assert_neq(access(tu_tmp_path("escaped.txt"), F_OK), 0, "the worker wrote a file");
    json_decref(root);
    free(out);
}

/* A plugin that prints forged console lines: isolated, they go to its worker's standard error; in process,
 * pecs keeps its own standard output for the console and the plugin's descriptor 1 is standard error. Either
 * way pecs's standard output holds only pecs's lines and the true tally. */
Test(attacks, plugin_prints_stay_out_of_the_console)
{
    static const char *const modes[] = {"--isolate", "--no-isolate"};
    for (int m = 0; m < 2; m++) {
        char args[3072], plug[512], path[512], *out, *con, why[256];
        size_t len;
        snprintf(path, sizeof path, "%s", tu_tmp_path("console.txt"));
        snprintf(args, sizeof args, "run " ROPE " --backend '%s' %s --out '%s' 2>/dev/null >'%s'; cat '%s'",
                 tu_attack(plug, sizeof plug, "chatty"), modes[m], tu_tmp_path("r.json"), path, path);
        cr_assert_eq(tu_pecs(args, &out), 0, "%s: %s", modes[m], out);
        cr_assert_eq(pecs_read_file(path, &con, &len, why, sizeof why), PECS_OK, "%s", why);
        cr_assert(!strstr(con, "forged") && !strstr(con, "999 passed"), "%s: the plugin's lines are in the console:\n%s",
                  modes[m], con);
        cr_assert(strstr(con, " passed, 0 failed, 0 skipped\n"), "%s: %s", modes[m], con);
        free(con);
        free(out);
    }
}

/* tra's undecided elements (a keep threshold within float32 rounding) are not judged against the reference's one
 * decision, but they are still checked against every decision's value: NaN there fails. The case (Transformer-base
 * heads, 256 tokens) has a few hundred such elements with the default seed. */
Test(attacks, undecided_elements_are_still_checked)
{
    expect_not_passed("undecided", "--case 'tra dtype=f32 tokens=256 keys=256 heads=8 head_dim=64'", "--no-isolate", NULL,
                      "FAILED", "no decision gives");
}
