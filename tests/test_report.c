/* tests/test_report.c — `pecs report`: a real results file rendered as Markdown and CSV carries the JSON's
 * numbers; escaping and quoting of awkward cells; bad input exits 2 and writes nothing. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "testutil.h"
#include "util.h"

static void mkdir_tmp(void) { tu_tmp_make("report"); }

TestSuite(report, .init = mkdir_tmp, .fini = tu_tmp_remove);


/* Run `pecs ARGS` from the source root; stdout goes to *output, stderr to *err_out (if not NULL). */
static int pecs(const char *args, char **output, char **err_out)
{
    char cmd[4096], out[256], err[256], why[256];
    size_t len;
    snprintf(out, sizeof out, "%s/stdout.txt", tu_tmp_dir());
    snprintf(err, sizeof err, "%s/stderr.txt", tu_tmp_dir());
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > '%s' 2> '%s'", tu_env("PECS_SRC", "."),
             tu_env("PECS_BIN", "build/pecs"), args, out, err);
    int st = system(cmd);
    cr_assert_eq(pecs_read_file(out, output, &len, why, sizeof why), PECS_OK, "%s", why);
    char *e = NULL;
    cr_assert_eq(pecs_read_file(err, &e, &len, why, sizeof why), PECS_OK, "%s", why);
    if (err_out)
        *err_out = e;
    else
        free(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    char *text, why[256];
    size_t len;
    cr_assert_eq(pecs_read_file(path, &text, &len, why, sizeof why), PECS_OK, "%s", why);
    return text;
}

static void write_text(const char *path, const char *text)
{
    char why[256];
    cr_assert_eq(pecs_write_atomic(path, text, strlen(text), why, sizeof why), PECS_OK, "%s", why);
}

/* A small perf run (every built-in backend) into tu_tmp_dir()/r.json; returns the parsed file. */
static json_t *perf_results(void)
{
    char args[1024], *out, *err;
    snprintf(args, sizeof args, "run --case 'rope tokens=64 heads=8 head_dim=64' --mode perf --min-time 0.001 --out '%s'",
             tu_tmp_path("r.json"));
    cr_assert_eq(pecs(args, &out, &err), 0, "%s%s", out, err);
    free(out);
    free(err);
    json_error_t jerr;
    json_t *root = json_load_file(tu_tmp_path("r.json"), 0, &jerr);
    cr_assert_not_null(root, "%s", jerr.text);
    cr_assert_gt(json_array_size(json_object_get(root, "cases")), 0);
    return root;
}

static double num_at(json_t *c, const char *obj, const char *key)
{
    json_t *v = json_object_get(json_object_get(c, obj), key);
    cr_assert(json_is_number(v), "%s.%s missing", obj, key);
    return json_number_value(v);
}

/* The Markdown: metadata from the JSON, one section per backend, each case's row with its numbers in the
 * documented formats, and the counts. */
Test(report, markdown_carries_the_json)
{
    json_t *root = perf_results();
    char args[1024], *out, *err;
    snprintf(args, sizeof args, "report '%s' --out '%s'", tu_tmp_path("r.json"), tu_tmp_path("r.md"));
    cr_assert_eq(pecs(args, &out, &err), 0, "%s", err);
    cr_assert_str_empty(out, "with --out nothing goes to stdout: %s", out);
    free(out);
    free(err);
    char *md = slurp(tu_tmp_path("r.md"));
    json_t *pecs_o = json_object_get(root, "pecs"), *mc = json_object_get(root, "machine");
    cr_assert(strstr(md, json_string_value(json_object_get(pecs_o, "git_commit"))), "%s", md);
    cr_assert(strstr(md, json_string_value(json_object_get(pecs_o, "compiler"))), "%s", md);
    cr_assert(strstr(md, json_string_value(json_object_get(mc, "cpu_model"))), "%s", md);
    char want[2048];
    snprintf(want, sizeof want, "%lld logical cores", (long long)json_integer_value(json_object_get(mc, "cores")));
    cr_assert(strstr(md, want), "%s", md);
    cr_assert(strstr(md, "| mode | perf |"), "%s", md);
    cr_assert(strstr(md, "OMP_PROC_BIND="), "%s", md);
    cr_assert(strstr(md, "| calibration | none"), "no calibration in this run: %s", md);
    /* No roofline (no calibration), no horizon (no invariance case), no reason (all passing equivalence). */
    cr_assert(strstr(md, "| case | status | median µs | GB/s | tokens/s | noisy | max abs err | max rel err |\n"
                         "|---|---|---:|---:|---:|---|---:|---:|\n"),
              "%s", md);
    cr_assert_null(strstr(md, " roofline |"), "no roofline column without a calibration: %s", md);
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        const char *backend = json_string_value(json_object_get(c, "backend"));
        snprintf(want, sizeof want, "## Backend `%s`", backend);
        cr_assert(strstr(md, want), "%s", md);
        cr_assert_str_eq(json_string_value(json_object_get(c, "status")), "PASSED");
        json_t *perf = json_object_get(c, "perf");
        snprintf(want, sizeof want, "| `%s` | PASSED | %.4g | %.4g | %.4g | %s | %.3g | %.3g |",
                 json_string_value(json_object_get(c, "case")), num_at(c, "perf", "median_s") * 1e6,
                 num_at(c, "perf", "gbytes_per_s"), num_at(c, "perf", "tokens_per_s"),
                 json_is_true(json_object_get(perf, "noisy")) ? "yes" : "no", num_at(c, "metrics", "max_abs"),
                 num_at(c, "metrics", "max_rel"));
        cr_assert(strstr(md, want), "row\n%s\nnot in\n%s", want, md);
    }
    snprintf(want, sizeof want, "%zu passed, 0 failed, 0 skipped", json_array_size(json_object_get(root, "cases")));
    cr_assert(strstr(md, want), "%s", md);
    free(md);
    json_decref(root);
}

/* Split one CSV record (RFC 4180) into fields; returns the count. Modifies line. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *w = line, *r = line;
    while (n < max) {
        fields[n++] = w;
        if (*r == '"') {
            for (r++; *r && !(r[0] == '"' && r[1] != '"'); r++) {
                if (r[0] == '"')
                    r++;
                *w++ = *r;
            }
            r += *r == '"';
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        int more = *r == ',';
        *w++ = '\0';
        r++;
        if (!more)
            break;
    }
    return n;
}

/* The CSV on stdout: a fixed header, one row per case, numbers that read back to the JSON's exactly. */
Test(report, csv_reads_back_to_the_json)
{
    json_t *root = perf_results();
    char args[1024], *out, *err;
    snprintf(args, sizeof args, "report --format csv '%s'", tu_tmp_path("r.json"));
    cr_assert_eq(pecs(args, &out, &err), 0, "%s", err);
    free(err);
    static const char header[] = "backend,source,case,status,median_s,gbytes_per_s,tokens_per_s,roofline_fraction,"
                                 "roofline_nt_fraction,noisy,max_abs,max_rel,horizon,reason\n";
    cr_assert(!strncmp(out, header, strlen(header)), "%s", out);
    char *line = out + strlen(header), *f[32];
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "row %zu missing:\n%s", i, out);
        *nl = '\0';
        cr_assert_eq(csv_split(line, f, 32), 14, "%s", line);
        cr_assert_str_eq(f[0], json_string_value(json_object_get(c, "backend")));
        cr_assert_str_eq(f[2], json_string_value(json_object_get(c, "case")));
        cr_assert_str_eq(f[3], "PASSED");
        cr_assert_eq(strtod(f[4], NULL), num_at(c, "perf", "median_s"), "%s", f[4]);
        cr_assert_eq(strtod(f[5], NULL), num_at(c, "perf", "gbytes_per_s"), "%s", f[5]);
        cr_assert_eq(strtod(f[6], NULL), num_at(c, "perf", "tokens_per_s"), "%s", f[6]);
        cr_assert_str_empty(f[7], "no calibration, no roofline");
        cr_assert_str_eq(f[9], json_is_true(json_object_get(json_object_get(c, "perf"), "noisy")) ? "true" : "false");
        cr_assert_eq(strtod(f[10], NULL), num_at(c, "metrics", "max_abs"), "%s", f[10]);
        cr_assert_eq(strtod(f[11], NULL), num_at(c, "metrics", "max_rel"), "%s", f[11]);
        line = nl + 1;
    }
    cr_assert_str_empty(line, "one row per case, nothing after: %s", line);
    free(out);
    json_decref(root);
}

/* '|' is escaped in Markdown cells; CSV quotes fields with commas and quotes; a calibration table and the
 * nt fraction appear when the file has them; a null (non-finite) number is n/a / nan. */
Test(report, escaping_calibration_and_nulls)
{
    write_text(tu_tmp_path("h.json"),
               "{\"schema\": \"pecs-results\", \"schema_version\": 1,"
               " \"calibration\": {\"path\": \"cal|x.json\", \"sha256\": \"\","
               "   \"gbytes_per_s\": {\"1\": {\"fill\": 10.5, \"rw22\": 7.25}, \"2\": {\"fill\": 20, \"rw22\": 14}}},"
               " \"summary\": {\"FAILED\": 1},"
               " \"cases\": [{\"backend\": \"b\", \"case\": \"rope a|b\", \"status\": \"FAILED\","
               "   \"reason\": \"got \\\"x\\\", want y|z\","
               "   \"metrics\": {\"max_abs\": null, \"max_rel\": 0.5},"
               "   \"perf\": {\"median_s\": 2e-06, \"noisy\": true, \"roofline\": {\"fraction\": 0.25, \"nt_fraction\": 0.125}}}]}");
    char *text, why[512];
    cr_assert_eq(pecs_report_render(tu_tmp_path("h.json"), PECS_REPORT_MD, &text, why, sizeof why), PECS_OK, "%s", why);
    cr_assert(strstr(text, "| `rope a\\|b` | FAILED | 2 | 0.250 | 0.125 | yes | n/a | 0.5 | got \"x\", want y\\|z |"), "%s",
              text);
    cr_assert(strstr(text, "| calibration | cal\\|x.json |"), "%s", text);
    cr_assert(strstr(text, "| threads | fill | rw22 |\n|---:|---:|---:|\n| 1 | 10.5 | 7.25 |\n| 2 | 20 | 14 |"), "%s", text);
    cr_assert(strstr(text, "0 passed, 1 failed, 0 skipped"), "%s", text);
    free(text);
    cr_assert_eq(pecs_report_render(tu_tmp_path("h.json"), PECS_REPORT_CSV, &text, why, sizeof why), PECS_OK, "%s", why);
    cr_assert(strstr(text, "\nb,,rope a|b,FAILED,2e-06,,,0.25,0.125,true,nan,0.5,,\"got \"\"x\"\", want y|z\"\n"), "%s",
              text);
    free(text);
}

/* Missing file, invalid JSON, another schema, a summary that disagrees: exit 2, the file and the reason
 * named, and no output file at all. */
Test(report, bad_input_exits_2_and_writes_nothing)
{
    write_text(tu_tmp_path("bad.json"), "{\"schema\": \"pecs-results\", \"cases\": [");
    write_text(tu_tmp_path("cal.json"), "{\"schema\": \"pecs-calibration\", \"schema_version\": 1}");
    write_text(tu_tmp_path("sum.json"), "{\"schema\": \"pecs-results\", \"schema_version\": 1, \"summary\": {\"PASSED\": 2},"
                                    " \"cases\": [{\"backend\": \"b\", \"case\": \"rope\", \"status\": \"PASSED\"}]}");
    write_text(tu_tmp_path("type.json"), "{\"schema\": \"pecs-results\", \"schema_version\": 1,"
                                     " \"cases\": [{\"backend\": \"b\", \"case\": \"rope\", \"status\": \"PASSED\","
                                     " \"perf\": {\"median_s\": \"fast\"}}]}");
    static const struct {
        const char *file, *reason;
    } bad[] = {{"missing.json", "missing.json"},
               {"bad.json", "not valid JSON"},
               {"cal.json", "not a pecs results file"},
               {"sum.json", "summary.PASSED"},
               {"type.json", "cases[0].perf.median_s"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char args[1024], *out, *err;
        snprintf(args, sizeof args, "report '%s' --format csv --out '%s'", tu_tmp_path(bad[k].file), tu_tmp_path("x.csv"));
        cr_assert_eq(pecs(args, &out, &err), 2, "%s: %s", bad[k].file, err);
        cr_assert(strstr(err, bad[k].file), "the message names the file: %s", err);
        cr_assert(strstr(err, bad[k].reason), "%s: %s", bad[k].reason, err);
        cr_assert_neq(access(tu_tmp_path("x.csv"), F_OK), 0, "no output file for %s", bad[k].file);
        free(out);
        free(err);
    }
}

/* Usage errors are exit 2; --out over the results file itself is refused and leaves it intact. */
Test(report, usage_errors)
{
    write_text(tu_tmp_path("s.json"), "{\"schema\": \"pecs-results\", \"schema_version\": 1, \"cases\": []}");
    static const char *const args_fmt[] = {"report", "report '%s' --format html", "report '%s' --out", "report '%s' '%s'",
                                           "report '%s' --bogus", "report '%s' --out '%s'"};
    for (size_t k = 0; k < sizeof args_fmt / sizeof args_fmt[0]; k++) {
        char args[1024], *out, *err;
        snprintf(args, sizeof args, args_fmt[k], tu_tmp_path("s.json"), tu_tmp_path("s.json"));
        cr_assert_eq(pecs(args, &out, &err), 2, "%s: %s", args, err);
        cr_assert(strstr(err, "pecs report:"), "%s", err);
        free(out);
        free(err);
    }
    char *text = slurp(tu_tmp_path("s.json"));
    cr_assert(strstr(text, "pecs-results"), "the results file must survive: %s", text);
    free(text);
}
