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
                                 "roofline_nt_fraction,fma_peak_fraction,noisy,max_abs,max_rel,horizon,reason\n";
    cr_assert(!strncmp(out, header, strlen(header)), "%s", out);
    char *line = out + strlen(header), *f[32];
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "row %zu missing:\n%s", i, out);
        *nl = '\0';
        cr_assert_eq(csv_split(line, f, 32), 15, "%s", line);
        cr_assert_str_eq(f[0], json_string_value(json_object_get(c, "backend")));
        cr_assert_str_eq(f[2], json_string_value(json_object_get(c, "case")));
        cr_assert_str_eq(f[3], "PASSED");
        cr_assert_eq(strtod(f[4], NULL), num_at(c, "perf", "median_s"), "%s", f[4]);
        cr_assert_eq(strtod(f[5], NULL), num_at(c, "perf", "gbytes_per_s"), "%s", f[5]);
        cr_assert_eq(strtod(f[6], NULL), num_at(c, "perf", "tokens_per_s"), "%s", f[6]);
        cr_assert_str_empty(f[7], "no calibration, no roofline");
        cr_assert_str_empty(f[9], "not paired, no FMA peak");
        cr_assert_str_eq(f[10], json_is_true(json_object_get(json_object_get(c, "perf"), "noisy")) ? "true" : "false");
        cr_assert_eq(strtod(f[11], NULL), num_at(c, "metrics", "max_abs"), "%s", f[11]);
        cr_assert_eq(strtod(f[12], NULL), num_at(c, "metrics", "max_rel"), "%s", f[12]);
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
    cr_assert(strstr(text, "\nb,,rope a|b,FAILED,2e-06,,,0.25,0.125,,true,nan,0.5,,\"got \"\"x\"\", want y|z\"\n"), "%s",
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
    static const char *const args_fmt[] = {"report", "report '%s' --format pdf", "report '%s' --out", "report '%s' '%s'",
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

/* ---- JUnit XML --------------------------------------------------------------------------------------------- */

/* xmllint --schema tests/data/junit.xsd on a file: 0 if it validates. */
static int junit_validate(const char *xml)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s/tests/data/junit.xsd' '%s' > '%s' 2>&1",
             tu_env("PECS_SRC", "."), xml, tu_tmp_path("xmllint.txt"));
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The text xmllint reads at an XPath in a file (what a CI system would show). */
static char *xpath(const char *xml, const char *expr)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "xmllint --xpath '%s' '%s' > '%s' 2>&1", expr, xml, tu_tmp_path("xpath.txt"));
    cr_assert_eq(system(cmd), 0, "xmllint --xpath %s", expr);
    char *text = slurp(tu_tmp_path("xpath.txt"));
    size_t n = strlen(text);
    if (n && text[n - 1] == '\n') /* xmllint ends its output with one */
        text[n - 1] = '\0';
    return text;
}

/* Every verdict, and text that XML must escape: <, &, quotes, a line break, control characters, U+FFFF. */
static const char AWKWARD[] =
    "{\"schema\": \"pecs-results\", \"schema_version\": 1, \"started\": \"2026-01-02T03:04:05Z\","
    " \"pecs\": {\"version\": \"0.1.0\", \"git_commit\": \"abc\"}, \"command\": \"pecs run --filter '<&>'\","
    " \"backends\": [{\"name\": \"scalar\", \"source\": \"builtin\", \"version\": \"1\", \"sha256\": \"\"},"
    "              {\"name\": \"vendor\", \"source\": \"./lib\\\"v&v\\\".so\", \"version\": \"2\", \"sha256\": \"ff\"}],"
    " \"cases\": ["
    "  {\"backend\": \"scalar\", \"backend_source\": \"scalar\", \"case\": \"rope dtype=f32\", \"status\": \"PASSED\","
    "   \"reason\": \"\", \"seconds\": 0.5, \"reproducer\": \"pecs run --case 'rope dtype=f32' --backend scalar\"},"
    "  {\"backend\": \"scalar\", \"backend_source\": \"scalar\", \"case\": \"alibi a<b&c=\\\"d\\\" 'e'\","
    "   \"status\": \"FAILED\", \"reason\": \"got <1 & >2\\nbell\\u0007 esc\\u001b ff\\uffff end\", \"seconds\": 0.25,"
    "   \"reproducer\": \"pecs run --case 'alibi a<b&c' --backend scalar\"},"
    "  {\"backend\": \"scalar\", \"backend_source\": \"scalar\", \"case\": \"cope\", \"status\": \"SKIPPED\","
    "   \"reason\": \"not supported: \\\"no\\\" <cope>\", \"seconds\": 0.125, \"reproducer\": \"r\"},"
    "  {\"backend\": \"vendor\", \"backend_source\": \"./lib\\\"v&v\\\".so\", \"case\": \"rope\", \"status\": \"CRASHED\","
    "   \"reason\": \"signal 11\", \"seconds\": null, \"reproducer\": \"r2\"},"
    "  {\"backend\": \"vendor\", \"backend_source\": \"./lib\\\"v&v\\\".so\", \"case\": \"t5\", \"status\": \"MISTRUSTED\","
    "   \"reason\": \"zeros\", \"seconds\": 1, \"reproducer\": \"r3\"},"
    "  {\"backend\": \"vendor\", \"backend_source\": \"./lib\\\"v&v\\\".so\", \"case\": \"rope.yarn\","
    "   \"status\": \"BEYOND_LEVEL\", \"reason\": \"beyond\", \"seconds\": 1, \"reproducer\": \"r4\"}]}\n";

/* One testcase per case x backend in a testsuite per backend, with counts and times right; skipped, failure and
 * error carry the reason (and the reproducer); awkward text survives escaping exactly; the document validates
 * against the JUnit schema, and documents that break the schema do not. */
Test(report, junit_valid_escaped_and_counted)
{
    char args[1024], *out, *err;
    write_text(tu_tmp_path("a.json"), AWKWARD);
    snprintf(args, sizeof args, "report '%s' --format junit --out '%s'", tu_tmp_path("a.json"), tu_tmp_path("a.xml"));
    cr_assert_eq(pecs(args, &out, &err), 0, "%s", err);
    free(out);
    free(err);
    char xml[256];
    snprintf(xml, sizeof xml, "%s", tu_tmp_path("a.xml")); /* tu_tmp_path's buffers are reused */
    cr_assert_eq(junit_validate(xml), 0, "%s", slurp(tu_tmp_path("xmllint.txt")));
    static const struct {
        const char *expr, *want;
    } checks[] = {
        {"string(/testsuites/@tests)", "6"},
        {"string(/testsuites/@failures)", "2"},
        {"string(/testsuites/@errors)", "1"},
        {"count(/testsuites/testsuite)", "2"},
        {"string(/testsuites/testsuite[1]/@name)", "scalar"},
        {"string(/testsuites/testsuite[1]/@tests)", "3"},
        {"string(/testsuites/testsuite[1]/@failures)", "1"},
        {"string(/testsuites/testsuite[1]/@skipped)", "1"},
        {"string(/testsuites/testsuite[1]/@time)", "0.875000"},
        {"string(/testsuites/testsuite[1]/@timestamp)", "2026-01-02T03:04:05"},
        {"string(/testsuites/testsuite[2]/@tests)", "3"},
        {"string(/testsuites/testsuite[2]/@errors)", "1"},
        {"string(/testsuites/testsuite[2]/@failures)", "1"},
        {"string(/testsuites/testsuite[2]/@skipped)", "1"},
        {"string(/testsuites/testsuite[2]/properties/property[@name=\"backend.source\"]/@value)", "./lib\"v&v\".so"},
        {"string((//testcase)[2]/@classname)", "scalar.alibi"},
        {"string((//testcase)[2]/@name)", "alibi a<b&c=\"d\" 'e'"},
        {"string((//testcase)[2]/failure/@type)", "FAILED"},
        {"string((//testcase)[2]/failure/@message)", "got <1 & >2\nbell\\x07 esc\\x1B ff\\uFFFF end"},
        {"string((//testcase)[2]/failure)",
         "FAILED: got <1 & >2\nbell\\x07 esc\\x1B ff\\uFFFF end\nreproduce: pecs run --case 'alibi a<b&c' --backend scalar\n"},
        {"string((//testcase)[3]/skipped/@message)", "not supported: \"no\" <cope>"},
        {"string((//testcase)[4]/@classname)", "vendor.rope"},
        {"string((//testcase)[4]/error/@type)", "CRASHED"},
        {"string((//testcase)[4]/@time)", "0.000000"},
        {"string((//testcase)[5]/failure/@type)", "MISTRUSTED"},
        {"string((//testcase)[6]/skipped/@message)", "BEYOND_LEVEL: beyond"},
        {"count((//testcase)[1]/*)", "0"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++) {
        char *got = xpath(xml, checks[i].expr);
        cr_assert_str_eq(got, checks[i].want, "%s", checks[i].expr);
        free(got);
    }
    /* the schema bites: a testcase without its name, a negative count, a failure outside a testcase, and a raw
     * control character (not well-formed XML) each fail validation */
    char *text = slurp(xml);
    static const struct {
        const char *from, *to;
    } breaks[] = {
        {"<testcase classname=\"scalar.rope\" name=\"rope dtype=f32\"", "<testcase classname=\"scalar.rope\""},
        {"tests=\"3\"", "tests=\"-3\""},
        {"  </testsuite>\n</testsuites>", "  </testsuite>\n<failure/></testsuites>"},
        {"bell\\x07", "bell\x07"},
    };
    for (size_t i = 0; i < sizeof breaks / sizeof *breaks; i++) {
        char *at = strstr(text, breaks[i].from);
        cr_assert_not_null(at, "%s", breaks[i].from);
        pecs_sb b = {0};
        pecs_sb_addf(&b, "%.*s%s%s", (int)(at - text), text, breaks[i].to, at + strlen(breaks[i].from));
        write_text(tu_tmp_path("bad.xml"), pecs_sb_str(&b));
        pecs_sb_free(&b);
        cr_assert_neq(junit_validate(tu_tmp_path("bad.xml")), 0, "an invalid document validated: %s", breaks[i].to);
    }
    free(text);
}

/* A real run's results (every built-in, timed) as JUnit: valid, one testcase per result. */
Test(report, junit_of_a_run_validates)
{
    json_t *root = perf_results();
    char args[1024], *out, *err;
    snprintf(args, sizeof args, "report '%s' --format junit", tu_tmp_path("r.json"));
    cr_assert_eq(pecs(args, &out, &err), 0, "%s", err);
    write_text(tu_tmp_path("r.xml"), out);
    cr_assert_eq(junit_validate(tu_tmp_path("r.xml")), 0, "%s", slurp(tu_tmp_path("xmllint.txt")));
    char xml[256];
    snprintf(xml, sizeof xml, "%s", tu_tmp_path("r.xml"));
    char *n = xpath(xml, "count(//testcase)");
    char want[32];
    snprintf(want, sizeof want, "%zu", json_array_size(json_object_get(root, "cases")));
    cr_assert_str_eq(n, want);
    free(n);
    free(out);
    free(err);
    json_decref(root);
}
