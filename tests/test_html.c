/* tests/test_html.c — what people read: `pecs report --format html` of real runs (structure checked by
 * xmllint, numbers from the JSON, hostile strings escaped, rendered by headless Chromium when it is
 * installed), and `pecs run -q` / the progress line (silent when stderr is not a terminal). */
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

static void mkdir_html(void) { tu_tmp_make("html"); }
static void mkdir_quiet(void) { tu_tmp_make("quiet"); }

TestSuite(html, .init = mkdir_html, .fini = tu_tmp_remove);
TestSuite(quiet, .init = mkdir_quiet, .fini = tu_tmp_remove);

static int sh(const char *cmd)
{
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return sh(cmd) == 0;
}

static char *slurp(const char *path)
{
    char *text, why[256];
    size_t len;
    cr_assert_eq(pecs_read_file(path, &text, &len, why, sizeof why), PECS_OK, "%s", why);
    return text;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The hostile backend name: a browser that ran it would mark the body. */
#define HOSTILE "<script>document.body.setAttribute('data-pwned','1')</script>"

/* Two real results files: a scalar run (equivalence and invariance, timed), and the same file with the
 * backend renamed to a script and a case string carrying markup. Renders both on one page to page.html. */
static json_t *make_page(void)
{
    char args[1024], *out;
    snprintf(args, sizeof args,
             "run --case 'rope tokens=5 heads=3 head_dim=8' --case 'rope tokens=5 heads=3 head_dim=8 check=invariance' "
             "--backend scalar --mode all --min-time 0.001 --out '%s'",
             tu_tmp_path("r.json"));
    cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
    free(out);
    json_error_t jerr;
    json_t *root = json_load_file(tu_tmp_path("r.json"), 0, &jerr), *c;
    cr_assert_not_null(root, "%s", jerr.text);
    json_t *evil = json_deep_copy(root);
    size_t i;
    json_array_foreach(json_object_get(evil, "cases"), i, c) json_object_set_new(c, "backend", json_string(HOSTILE));
    json_object_set_new(json_array_get(json_object_get(evil, "cases"), 0), "case",
                        json_string("rope <img src=x onerror=alert(1)> dtype=f32 tokens=5"));
    json_object_set_new(evil, "command", json_string("pecs run \"&<b>bold</b>"));
    cr_assert_eq(json_dump_file(evil, tu_tmp_path("evil.json"), JSON_INDENT(1)), 0);
    json_decref(evil);
    snprintf(args, sizeof args, "report '%s' '%s' --format html --out '%s'", tu_tmp_path("r.json"),
             tu_tmp_path("evil.json"), tu_tmp_path("page.html"));
    cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
    free(out);
    return root;
}

/* Structure, numbers from the JSON, escaping, and the sentences for what the files do not have. */
Test(html, page_of_two_runs)
{
    json_t *root = make_page(), *c, *inv = NULL;
    char *page = slurp(tu_tmp_path("page.html")), cmd[1024], want[256];
    size_t i;
    /* Well-formed (the page is polyglot XHTML: the SVG is checked too). */
    if (have("xmllint")) {
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", tu_tmp_path("page.html"));
        cr_assert_eq(sh(cmd), 0, "xmllint rejects the page");
    }
    cr_assert(!strncmp(page, "<!DOCTYPE html>", 15));
    cr_assert(strstr(page, "</html>\n"));
    /* One invariance plot per backend label x dtype (scalar, the script), one throughput chart; no roofline
     * chart without calibration, and a sentence instead. */
    cr_assert_eq(count(page, "<svg"), 3, "%s", page);
    cr_assert(strstr(page, "no roofline fractions: the run had no calibration"), "%s", page);
    cr_assert(strstr(page, "<h3 id=\"file-1\">#1") && strstr(page, "<h3 id=\"file-2\">#2"));
    /* The matrix: rope, scalar, f32: both cases passed. */
    cr_assert(strstr(page, "title=\"rope / scalar / f32: PASSED 2\">2/2</td>"), "%s", page);
    /* The drift at shift 1 from the JSON, as the plot's point title has it. */
    json_array_foreach(json_object_get(root, "cases"), i, c) if (json_object_get(c, "invariance")) inv = c;
    cr_assert_not_null(inv);
    json_t *iv = json_object_get(inv, "invariance");
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(iv, "shifts"), 1)), 1);
    snprintf(want, sizeof want, "rope: shift 1, drift %.3g</title>",
             json_number_value(json_array_get(json_object_get(iv, "drift"), 1)));
    cr_assert(strstr(page, want), "%s not in the page", want);
    /* Escaping: no markup from the files survives. */
    cr_assert_null(strstr(page, "<script"), "a script element in the page");
    cr_assert_null(strstr(page, "<img"), "an img element in the page");
    cr_assert_null(strstr(page, "<b>"));
    cr_assert(strstr(page, "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;"),
              "%s", page);
    cr_assert(strstr(page, "pecs run &quot;&amp;&lt;b&gt;bold&lt;/b&gt;"));
    free(page);
    json_decref(root);
}

/* Width and height from a PNG's IHDR; 0 if the file is not a PNG. */
static int png_size(const char *path, unsigned *w, unsigned *h)
{
    unsigned char hd[24];
    FILE *f = fopen(path, "rb");
    int ok = f && fread(hd, 1, sizeof hd, f) == sizeof hd && !memcmp(hd, "\x89PNG\r\n\x1a\n", 8) && !memcmp(hd + 12, "IHDR", 4);
    if (f)
        fclose(f);
    if (ok) {
        *w = (unsigned)hd[16] << 24 | (unsigned)hd[17] << 16 | (unsigned)hd[18] << 8 | hd[19];
        *h = (unsigned)hd[20] << 24 | (unsigned)hd[21] << 16 | (unsigned)hd[22] << 8 | hd[23];
    }
    return ok;
}

/* The page in a real browser: it loads without console errors, the browser's DOM has the plots, the hostile
 * script did not run, and a screenshot is a full-size PNG with content. */
Test(html, headless_chromium, .timeout = 300)
{
    if (!have("chromium"))
        cr_skip_test("chromium is not installed (make deps installs the Debian package chromium)");
    json_t *root = make_page();
    char cmd[2048], *dom, *log;
    const char *flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions";
    snprintf(cmd, sizeof cmd,
             "cd '%s' && HOME='%s' timeout 120 chromium %s --user-data-dir='%s' --enable-logging=stderr --v=0 "
             "--dump-dom 'file://%s' > '%s' 2> '%s'",
             tu_tmp_dir(), tu_tmp_dir(), flags, tu_tmp_path("profile"), tu_tmp_path("page.html"), tu_tmp_path("dom.html"),
             tu_tmp_path("chromium.log"));
    cr_assert_eq(sh(cmd), 0, "chromium --dump-dom failed: see %s", tu_tmp_path("chromium.log"));
    dom = slurp(tu_tmp_path("dom.html"));
    log = slurp(tu_tmp_path("chromium.log"));
    cr_assert(strstr(dom, "Conformance matrix"), "%s", dom);
    cr_assert_eq(count(dom, "<svg"), 3, "the browser's DOM has %zu svg elements", count(dom, "<svg"));
    cr_assert_null(strstr(dom, "data-pwned=\"1\""), "the hostile script ran");
    cr_assert(strstr(dom, "data-pwned"), "the hostile name is missing from the page");
    cr_assert_null(strstr(log, "CONSOLE"), "console messages: %s", log);
    cr_assert_null(strstr(log, "Uncaught"), "%s", log);
    free(dom);
    free(log);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && HOME='%s' timeout 120 chromium %s --user-data-dir='%s' --hide-scrollbars "
             "--screenshot='%s' --window-size=1280,2000 'file://%s' > /dev/null 2>&1",
             tu_tmp_dir(), tu_tmp_dir(), flags, tu_tmp_path("profile"), tu_tmp_path("page.png"), tu_tmp_path("page.html"));
    cr_assert_eq(sh(cmd), 0, "chromium --screenshot failed");
    unsigned w = 0, h = 0;
    cr_assert(png_size(tu_tmp_path("page.png"), &w, &h), "no PNG written");
    cr_assert_eq(w, 1280);
    cr_assert_eq(h, 2000);
    char *png = NULL, why[256];
    size_t len = 0;
    cr_assert_eq(pecs_read_file(tu_tmp_path("page.png"), &png, &len, why, sizeof why), PECS_OK, "%s", why);
    /* A blank 1280x2000 page compresses to a few kB; tables, text and plots do not. */
    cr_assert_gt(len, 30000, "the screenshot is %zu bytes: blank?", len);
    free(png);
    json_decref(root);
}

/* ---- pecs run -q and the progress line ---------------------------------------------------------------- */

/* Run `pecs ARGS` with stdout and stderr kept apart; returns the exit status. */
static int pecs2(const char *args, char **out, char **err)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > '%s' 2> '%s'", tu_env("PECS_SRC", "."), tu_env("PECS_BIN", "build/pecs"),
             args, tu_tmp_path("o.txt"), tu_tmp_path("e.txt"));
    int st = sh(cmd);
    *out = slurp(tu_tmp_path("o.txt"));
    *err = slurp(tu_tmp_path("e.txt"));
    return st;
}

/* A passing run with -q prints the tally and nothing else; not on a terminal, stderr stays empty. */
Test(quiet, passing_run_prints_the_tally_only)
{
    char args[1024], *out, *err;
    snprintf(args, sizeof args, "run --case 'rope tokens=5 heads=3 head_dim=8' --case 'alibi' -q --out '%s'",
             tu_tmp_path("r.json"));
    cr_assert_eq(pecs2(args, &out, &err), 0, "%s%s", out, err);
    cr_assert_str_eq(out, "2 passed, 0 failed, 0 skipped\n");
    cr_assert_str_eq(err, "");
    free(out);
    free(err);
    /* Without -q, not a terminal: the usual output, and still nothing on stderr (no progress line). */
    snprintf(args, sizeof args, "run --case 'rope tokens=5 heads=3 head_dim=8' --out '%s'", tu_tmp_path("r.json"));
    cr_assert_eq(pecs2(args, &out, &err), 0, "%s%s", out, err);
    cr_assert(strstr(out, "case(s) x 1 backend(s)") && strstr(out, "results: "), "%s", out);
    cr_assert_str_eq(err, "");
    free(out);
    free(err);
}

/* -q with failures and a declined case: each failure with its reason and reproducer, the skips counted by
 * reason, the tally; no header, table or results line. -v and -q together are refused. */
Test(quiet, failures_skips_and_tally)
{
    char args[1024], plug[512], *out, *err;
    tu_fixture(plug, sizeof plug, "swapped");
    snprintf(args, sizeof args,
             "run --case 'rope tokens=5 heads=3 head_dim=8' --case 'rope pairing=half tokens=5 heads=3 head_dim=8' "
             "--case 'rope dtype=f64 tokens=5 heads=3 head_dim=8' --backend '%s' -q --out '%s'",
             plug, tu_tmp_path("r.json"));
    cr_assert_eq(pecs2(args, &out, &err), 1, "%s%s", out, err);
    cr_assert_str_eq(err, "");
    cr_assert_eq(count(out, "\nFAILED ") + !strncmp(out, "FAILED ", 7), 2, "%s", out);
    cr_assert_eq(count(out, "reproduce: pecs run --case"), 2, "%s", out);
    cr_assert(strstr(out, "1 case(s) not judged, by backend and reason"), "%s", out);
    cr_assert(strstr(out, "     1  SKIPPED      fixture  not supported:"), "%s", out);
    cr_assert(strstr(out, "\n0 passed, 2 failed, 1 skipped\n"), "%s", out);
    cr_assert_null(strstr(out, "backend(s), mode"), "%s", out);
    cr_assert_null(strstr(out, "results: "), "%s", out);
    cr_assert_null(strstr(out, "best GB/s"), "%s", out);
    free(out);
    free(err);
    snprintf(args, sizeof args, "run --case 'rope' -q -v --out '%s'", tu_tmp_path("r.json"));
    cr_assert_eq(pecs2(args, &out, &err), 2, "%s%s", out, err);
    cr_assert(strstr(err, "-v and -q"), "%s", err);
    free(out);
    free(err);
}

/* On a terminal (util-linux script gives one) the progress line is drawn on stderr with \r; -q draws none. */
Test(quiet, progress_line_on_a_terminal)
{
    if (!have("script"))
        cr_skip_test("util-linux script is not installed: no pseudo-terminal to test the progress line on");
    char cmd[4096], *t;
    for (int q = 0; q < 2; q++) {
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && script -qec \"'%s' run --case 'rope tokens=5 heads=3 head_dim=8' %s --out '%s' > /dev/null\" "
                 "'%s' > /dev/null 2>&1",
                 tu_env("PECS_SRC", "."), tu_env("PECS_BIN", "build/pecs"), q ? "-q" : "", tu_tmp_path("r.json"),
                 tu_tmp_path("tty.txt"));
        cr_assert_eq(sh(cmd), 0);
        t = slurp(tu_tmp_path("tty.txt"));
        if (q)
            cr_assert_null(strstr(t, "ETA"), "-q drew a progress line: %s", t);
        else
            cr_assert(strstr(t, "\r[0/1]   0%  rope on scalar  0 failed  ETA ?"), "no progress line: %s", t);
        free(t);
    }
}

/* Two backends side by side: the Markdown's conformance matrix (short labels, a verdict per backend, the full
 * case string) and the HTML's every-case table (the full string in the row's title). */
Test(html, case_matrix_with_short_labels)
{
    char args[1024], plug[512], *out, *md, *page;
    tu_fixture(plug, sizeof plug, "swapped");
    snprintf(args, sizeof args,
             "run --case 'rope tokens=5 heads=3 head_dim=8' --case 'rope pairing=half tokens=5 heads=3 head_dim=8' "
             "--backend scalar --backend '%s' --out '%s'",
             plug, tu_tmp_path("m.json"));
    cr_assert_eq(tu_pecs(args, &out), 1, "the swapped fixture fails both: %s", out);
    free(out);
    snprintf(args, sizeof args, "report '%s' --out '%s'", tu_tmp_path("m.json"), tu_tmp_path("m.md"));
    cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
    free(out);
    snprintf(args, sizeof args, "report '%s' --format html --out '%s'", tu_tmp_path("m.json"), tu_tmp_path("m.html"));
    cr_assert_eq(tu_pecs(args, &out), 0, "%s", out);
    free(out);
    md = slurp(tu_tmp_path("m.md"));
    page = slurp(tu_tmp_path("m.html"));
    json_error_t jerr;
    json_t *root = json_load_file(tu_tmp_path("m.json"), 0, &jerr), *c;
    cr_assert_not_null(root, "%s", jerr.text);
    cr_assert(strstr(md, "## Conformance matrix\n"), "%s", md);
    cr_assert(strstr(md, "| case | scalar | fixture | case string |\n|---|---|---|---|\n"), "%s", md);
    size_t i, rows = 0;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        const char *cs = json_string_value(json_object_get(c, "case"));
        if (strcmp(json_string_value(json_object_get(c, "backend")), "scalar"))
            continue;
        char want[1024];
        /* The default pairing has no word; the other case's label is the one word that differs. */
        const char *label = strstr(cs, "pairing=half") ? "rope pairing=half" : "rope";
        snprintf(want, sizeof want, "| %s | PASSED | FAILED | `%s` |\n", label, cs);
        cr_assert(strstr(md, want), "%s not in\n%s", want, md);
        snprintf(want, sizeof want, "<tr><td class=\"enc\" title=\"%s\"><code>%s</code></td><td class=\"v-pass\"", cs, label);
        cr_assert(strstr(page, want), "%s not in the page", want);
        rows++;
    }
    cr_assert_eq(rows, 2);
    free(md);
    free(page);
    json_decref(root);
}

/* Numbers a results file can hold but no run writes (a roofline fraction of 1e300, negative throughput, a drift
 * of 1e-300) still give a bounded, well-formed page. */
Test(html, extreme_numbers_stay_bounded)
{
    const char *json =
        "{\"schema\": \"pecs-results\", \"schema_version\": 1, \"cases\": ["
        "{\"backend\": \"b\", \"case\": \"rope dtype=f32\", \"status\": \"PASSED\","
        " \"perf\": {\"gbytes_per_s\": -5, \"roofline\": {\"fraction\": 1e300, \"kernel\": \"rw22\"}}},"
        "{\"backend\": \"b\", \"case\": \"rope dtype=f32 check=invariance\", \"status\": \"PASSED\","
        " \"tolerance\": {\"drift\": 1e-300},"
        " \"invariance\": {\"shifts\": [0, 1, 1000000000000000000], \"drift\": [0, 1e-300, null], \"horizon\": 0}}]}";
    char why[256], *text = NULL;
    cr_assert_eq(pecs_write_atomic(tu_tmp_path("x.json"), json, strlen(json), why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(pecs_report_render(tu_tmp_path("x.json"), PECS_REPORT_HTML, &text, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_lt(strlen(text), 200000, "a page of %zu bytes", strlen(text));
    cr_assert(strstr(text, "a non-finite drift (NaN output) on the top edge"), "%s", text);
    cr_assert(strstr(text, ": -5 GB/s") || strstr(text, ": -5 GB/s</title>"), "%s", text);
    cr_assert_eq(pecs_write_atomic(tu_tmp_path("x.html"), text, strlen(text), why, sizeof why), PECS_OK, "%s", why);
    if (have("xmllint")) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", tu_tmp_path("x.html"));
        cr_assert_eq(sh(cmd), 0, "xmllint rejects the page");
    }
    free(text);
}
