/* harness/report.c — `pecs report`: a results file rendered as Markdown or CSV (see report.h). */
#include "report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "report_html.h"
#include "results.h"
#include "util.h"
#include "verdict.h"

/* ---- columns --------------------------------------------------------------------------------------------- */

typedef enum col_kind { K_TEXT, K_CODE, K_NUM, K_INT, K_BOOL } col_kind;

/* One column of the case table. `path` is a dotted path inside a case object. Markdown shows `scale`
 * times the value with `md_fmt`; CSV shows the value itself, shortest round-trip, so it can be joined
 * back to the JSON exactly. */
typedef struct col {
    const char *path, *csv_head, *md_head;
    col_kind kind;
    double scale;
    const char *md_fmt;
    int md; /* shown in Markdown (backend and source are the section headings there) */
} col;

static const col COLS[] = {
    {"backend", "backend", "backend", K_TEXT, 1, NULL, 0},
    {"backend_source", "source", "source", K_TEXT, 1, NULL, 0},
    {"case", "case", "case", K_CODE, 1, NULL, 1},
    {"status", "status", "status", K_TEXT, 1, NULL, 1},
    {"perf.median_s", "median_s", "median µs", K_NUM, 1e6, "%.4g", 1},
    {"perf.gbytes_per_s", "gbytes_per_s", "GB/s", K_NUM, 1, "%.4g", 1},
    {"perf.tokens_per_s", "tokens_per_s", "tokens/s", K_NUM, 1, "%.4g", 1},
    {"perf.roofline.fraction", "roofline_fraction", "roofline", K_NUM, 1, "%.3f", 1},
    {"perf.roofline.nt_fraction", "roofline_nt_fraction", "roofline (nt)", K_NUM, 1, "%.3f", 1},
    {"perf.compute.fraction", "fma_peak_fraction", "FMA peak", K_NUM, 1, "%.3f", 1},
    {"perf.noisy", "noisy", "noisy", K_BOOL, 1, NULL, 1},
    {"metrics.max_abs", "max_abs", "max abs err", K_NUM, 1, "%.3g", 1},
    {"metrics.max_rel", "max_rel", "max rel err", K_NUM, 1, "%.3g", 1},
    {"invariance.horizon", "horizon", "horizon", K_INT, 1, NULL, 1},
    {"reason", "reason", "reason", K_TEXT, 1, NULL, 1},
};
#define N_COLS ((int)(sizeof COLS / sizeof COLS[0]))

/* The value at a dotted path; NULL if any step is missing. *bad is set when a step that exists is not
 * an object (the file does not have the schema's shape). */
static json_t *get_path(json_t *o, const char *path, int *bad)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (!json_is_object(o)) {
            *bad = 1;
            return NULL;
        }
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        o = json_object_get(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

/* Does this value have the column's type? Numbers may be null (non-finite, per the schema). */
static int col_type_ok(const col *c, json_t *v)
{
    switch (c->kind) {
    case K_TEXT:
    case K_CODE: return json_is_string(v);
    case K_NUM: return json_is_number(v) || json_is_null(v);
    case K_INT: return json_is_integer(v);
    case K_BOOL: return json_is_boolean(v);
    }
    return 0;
}

/* ---- validation ------------------------------------------------------------------------------------------ */

/* The shape the renderer relies on: schema and version, cases with backend/case/status strings and a known
 * verdict, every rendered field of the right type, and a summary (when present) that matches the cases. */
static pecs_status validate(const char *path, json_t *root, int counts[PECS_V_COUNT], char *why, size_t why_len)
{
    pecs_status st = PECS_PARSE;
    const char *schema = json_string_value(json_object_get(root, "schema"));
    json_t *ver = json_object_get(root, "schema_version"), *cases = json_object_get(root, "cases"), *c;
    size_t i;
    memset(counts, 0, sizeof(int) * PECS_V_COUNT);
    if (!json_is_object(root) || !schema || strcmp(schema, "pecs-results")) {
        snprintf(why, why_len, "%s: not a pecs results file (schema '%s', want 'pecs-results')", path,
                 schema ? schema : "none");
        goto done;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != PECS_RESULTS_SCHEMA_VERSION) {
        snprintf(why, why_len, "%s: schema_version %lld is not the one this pecs reads (%d)", path,
                 json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL, PECS_RESULTS_SCHEMA_VERSION);
        goto done;
    }
    if (!json_is_array(cases)) {
        snprintf(why, why_len, "%s: 'cases' is missing or not an array", path);
        goto done;
    }
    json_array_foreach(cases, i, c)
    {
        if (!json_is_object(c)) {
            snprintf(why, why_len, "%s: cases[%zu] is not an object", path, i);
            goto done;
        }
        for (int k = 0; k < N_COLS; k++) {
            int bad = 0;
            json_t *v = get_path(c, COLS[k].path, &bad);
            /* backend, case and status identify a result: they must be there. */
            int required = !strcmp(COLS[k].path, "backend") || !strcmp(COLS[k].path, "case") ||
                           !strcmp(COLS[k].path, "status");
            if (bad || (v && !col_type_ok(&COLS[k], v)) || (!v && required)) {
                snprintf(why, why_len, "%s: cases[%zu].%s is %s", path, i, COLS[k].path,
                         !v && !bad ? "missing" : "not of the schema's type");
                goto done;
            }
        }
        const char *status = json_string_value(json_object_get(c, "status"));
        pecs_verdict v = pecs_verdict_from_name(status);
        if (v == PECS_V_COUNT) {
            snprintf(why, why_len, "%s: cases[%zu].status '%s' is not a verdict", path, i, status);
            goto done;
        }
        counts[v]++;
    }
    /* A summary that disagrees with the cases means the file was edited or truncated: refuse to publish it. */
    json_t *summary = json_object_get(root, "summary");
    for (int v = 0; summary && v < PECS_V_COUNT; v++) {
        json_t *n = json_object_get(summary, pecs_verdict_name((pecs_verdict)v));
        if (n && (!json_is_integer(n) || json_integer_value(n) != counts[v])) {
            snprintf(why, why_len, "%s: summary.%s does not match the %d such case(s) in 'cases'", path,
                     pecs_verdict_name((pecs_verdict)v), counts[v]);
            goto done;
        }
    }
    st = PECS_OK;
done:
    return st;
}

/* ---- cells ----------------------------------------------------------------------------------------------- */

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : dflt;
}

/* Markdown table cell text: '|' would end the cell (escaped also inside code spans, as GFM requires) and a
 * line break would end the row. */
static void md_text(pecs_sb *b, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, "|\r\n");
        pecs_sb_addf(b, "%.*s", (int)n, s);
        if (!s[n])
            break;
        pecs_sb_adds(b, s[n] == '|' ? "\\|" : " ");
        s += n + 1;
    }
}

static void md_code(pecs_sb *b, const char *s)
{
    /* A backtick inside would close a single-backtick span early. */
    const char *fence = strchr(s, '`') ? "`` " : "`", *close = strchr(s, '`') ? " ``" : "`";
    pecs_sb_adds(b, fence);
    md_text(b, s);
    pecs_sb_adds(b, close);
}

static void md_cell(pecs_sb *b, const col *c, json_t *v)
{
    char buf[64];
    if (!v) {
        pecs_sb_adds(b, "-");
    } else if (json_is_null(v)) {
        pecs_sb_adds(b, "n/a"); /* a non-finite number (schema: written as null) */
    } else if (c->kind == K_NUM) {
        snprintf(buf, sizeof buf, c->md_fmt, json_number_value(v) * c->scale);
        pecs_sb_adds(b, buf);
    } else if (c->kind == K_INT) {
        pecs_sb_addf(b, "%lld", (long long)json_integer_value(v));
    } else if (c->kind == K_BOOL) {
        pecs_sb_adds(b, json_is_true(v) ? "yes" : "no");
    } else if (c->kind == K_CODE) {
        md_code(b, json_string_value(v));
    } else {
        md_text(b, json_string_value(v));
    }
}

/* RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled. */
static void csv_text(pecs_sb *b, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        pecs_sb_adds(b, s);
        return;
    }
    pecs_sb_adds(b, "\"");
    for (; *s; s++)
        pecs_sb_adds(b, *s == '"' ? "\"\"" : (char[2]){*s, 0});
    pecs_sb_adds(b, "\"");
}

static void csv_cell(pecs_sb *b, const col *c, json_t *v)
{
    char buf[40];
    if (!v)
        return;
    if (json_is_null(v))
        pecs_sb_adds(b, "nan"); /* non-finite in the JSON (null); spreadsheets and pandas read nan */
    else if (c->kind == K_NUM)
        pecs_sb_adds(b, pecs_fmt_real(json_number_value(v), buf, sizeof buf));
    else if (c->kind == K_INT)
        pecs_sb_addf(b, "%lld", (long long)json_integer_value(v));
    else if (c->kind == K_BOOL)
        pecs_sb_adds(b, json_is_true(v) ? "true" : "false");
    else
        csv_text(b, json_string_value(v));
}

/* ---- Markdown -------------------------------------------------------------------------------------------- */

static void md_row(pecs_sb *b, const char *field, const char *value)
{
    pecs_sb_adds(b, "| ");
    md_text(b, field);
    pecs_sb_adds(b, " | ");
    md_text(b, value);
    pecs_sb_adds(b, " |\n");
}

static void md_header(pecs_sb *b, const char *path, json_t *root)
{
    json_t *pecs = json_object_get(root, "pecs"), *mc = json_object_get(root, "machine");
    json_t *tb = json_object_get(root, "thread_binding"), *cal = json_object_get(root, "calibration");
    json_t *tol = json_object_get(root, "tolerances");
    pecs_sb v = {0};
    pecs_sb_adds(b, "# pecs results\n\nGenerated by `pecs report` from `");
    md_text(b, path);
    pecs_sb_adds(b, "`, the source of truth: regenerate this file from it, do not edit it by hand.\n\n"
                    "| field | value |\n|---|---|\n");
    pecs_sb_addf(&v, "%s (commit %s)", str_or(pecs, "version", "unknown"), str_or(pecs, "git_commit", "unknown"));
    md_row(b, "pecs", pecs_sb_str(&v));
    v.len = 0;
    pecs_sb_addf(&v, "%s; flags %s", str_or(pecs, "compiler", "unknown"), str_or(pecs, "flags", "unknown"));
    md_row(b, "compiler", pecs_sb_str(&v));
    md_row(b, "command", str_or(root, "command", "unknown"));
    v.len = 0;
    pecs_sb_addf(&v, "%s to %s", str_or(root, "started", "unknown"), str_or(root, "finished", "unknown"));
    md_row(b, "date (UTC)", pecs_sb_str(&v));
    v.len = 0;
    json_t *cores = json_object_get(mc, "cores");
    pecs_sb_adds(&v, str_or(mc, "cpu_model", "unknown"));
    if (json_is_integer(cores))
        pecs_sb_addf(&v, ", %lld logical cores", (long long)json_integer_value(cores));
    if (json_is_true(json_object_get(mc, "hypervisor")))
        pecs_sb_adds(&v, ", VM");
    md_row(b, "machine", pecs_sb_str(&v));
    md_row(b, "ISA", str_or(mc, "isa", "unknown"));
    md_row(b, "OS", str_or(mc, "os", "unknown"));
    md_row(b, "mode", str_or(root, "mode", "unknown"));
    v.len = 0;
    json_t *thr = json_object_get(root, "threads");
    if (json_is_integer(thr) && json_integer_value(thr) == 0)
        pecs_sb_adds(&v, "0 (each backend's choice)");
    else if (json_is_integer(thr))
        pecs_sb_addf(&v, "%lld", (long long)json_integer_value(thr));
    else
        pecs_sb_adds(&v, "unknown");
    md_row(b, "threads", pecs_sb_str(&v));
    v.len = 0;
    pecs_sb_addf(&v, "OMP_PROC_BIND=%s, OMP_PLACES=%s, OMP_NUM_THREADS=%s", str_or(tb, "OMP_PROC_BIND", "unknown"),
                 str_or(tb, "OMP_PLACES", "unknown"), str_or(tb, "OMP_NUM_THREADS", "unknown"));
    md_row(b, "thread binding", pecs_sb_str(&v));
    v.len = 0;
    pecs_sb_addf(&v, "%s (sha256 %.12s)", str_or(tol, "path", "unknown"), str_or(tol, "sha256", "unknown"));
    md_row(b, "tolerances", pecs_sb_str(&v));
    v.len = 0;
    if (json_is_object(cal)) {
        pecs_sb_addf(&v, "%s", str_or(cal, "path", "unknown"));
        if (*str_or(cal, "sha256", ""))
            pecs_sb_addf(&v, " (sha256 %.12s)", str_or(cal, "sha256", ""));
        if (json_is_number(json_object_get(cal, "array_mib")) && json_is_integer(json_object_get(cal, "reps")))
            pecs_sb_addf(&v, "; arrays of %g MiB, best of %lld", json_number_value(json_object_get(cal, "array_mib")),
                         (long long)json_integer_value(json_object_get(cal, "reps")));
        if (json_is_string(json_object_get(cal, "isa"))) /* --calibration paired: per-call kernels, no table */
            pecs_sb_addf(&v, "; every timed call paired with a kernel moving its bytes (%s; caches from %s)",
                         str_or(cal, "isa", "unknown"), str_or(cal, "cache_source", "unknown"));
    } else
        pecs_sb_adds(&v, "none (no roofline fractions)");
    md_row(b, "calibration", pecs_sb_str(&v));
    b->oom |= v.oom;
    pecs_sb_free(&v);

    /* The calibrated bandwidths, when the file carries them: threads as rows, kernels as columns. */
    json_t *gbs = json_object_get(cal, "gbytes_per_s"), *row, *kern = json_array();
    const char *threads, *k;
    json_t *x;
    json_object_foreach(gbs, threads, row)
    {
        json_object_foreach(row, k, x)
        {
            size_t i, have = 0;
            json_t *e;
            json_array_foreach(kern, i, e) have |= !strcmp(json_string_value(e), k);
            if (!have)
                json_array_append_new(kern, json_string(k));
        }
    }
    if (json_is_object(gbs) && json_array_size(kern)) {
        size_t i;
        json_t *e;
        pecs_sb_adds(b, "\nCalibrated memory bandwidth, GB/s (`pecs calibrate`, best of its runs):\n\n| threads |");
        json_array_foreach(kern, i, e)
        {
            pecs_sb_adds(b, " ");
            md_text(b, json_string_value(e));
            pecs_sb_adds(b, " |");
        }
        pecs_sb_adds(b, "\n|---:|");
        for (i = 0; i < json_array_size(kern); i++)
            pecs_sb_adds(b, "---:|");
        pecs_sb_adds(b, "\n");
        json_object_foreach(gbs, threads, row)
        {
            pecs_sb_adds(b, "| ");
            md_text(b, threads);
            pecs_sb_adds(b, " |");
            json_array_foreach(kern, i, e)
            {
                json_t *n = json_object_get(row, json_string_value(e));
                pecs_sb_adds(b, " ");
                md_cell(b, &(col){"", "", "", K_NUM, 1, "%.4g", 1}, json_is_number(n) || json_is_null(n) ? n : NULL);
                pecs_sb_adds(b, " |");
            }
            pecs_sb_adds(b, "\n");
        }
    }
    json_decref(kern);
}

/* The backends[] entry a case came from: plugins are told apart by path, built-ins by name. */
static json_t *backend_entry(json_t *root, const char *name, const char *source)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(root, "backends"), i, e)
    {
        /* A case's backend_source is the built-in's name or the plugin's path (the reproducer's word). */
        const char *src = str_or(e, "source", ""), *token = !strcmp(src, "builtin") ? name : src;
        if (!strcmp(str_or(e, "name", ""), name) && (!source || !strcmp(token, source)))
            return e;
    }
    return NULL;
}

static void md_backend_heading(pecs_sb *b, json_t *root, const char *name, const char *source)
{
    json_t *e = backend_entry(root, name, source);
    pecs_sb_adds(b, "\n## Backend ");
    md_code(b, name);
    pecs_sb_adds(b, "\n\n");
    if (e) {
        pecs_sb v = {0};
        pecs_sb_addf(&v, "%s, version %s, ABI %s, ISA %s", str_or(e, "source", "unknown"), str_or(e, "version", "-"),
                     str_or(e, "abi", "-"), str_or(e, "isa", "-"));
        if (*str_or(e, "description", ""))
            pecs_sb_addf(&v, ": %s", str_or(e, "description", ""));
        md_text(b, pecs_sb_str(&v));
        pecs_sb_free(&v);
    } else {
        md_text(b, source ? source : name);
    }
    pecs_sb_adds(b, "\n\n");
}

/* With two or more backends: one row per case (its short label, report_html.h), a verdict column per backend,
 * and the full case string last, so the backends read side by side and every row is still a reproducer. */
static void md_matrix(pecs_sb *b, json_t *root)
{
    json_t *rows = json_object(), *cols = json_object(), *labels = pecs_report_short_labels(&root, 1), *c, *row, *x;
    const char *cs, *name;
    size_t i;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        json_object_set_new(cols, str_or(c, "backend", "?"), json_true());
        json_t *r = json_object_get(rows, str_or(c, "case", ""));
        if (!r)
            json_object_set_new(rows, str_or(c, "case", ""), r = json_object());
        json_object_set_new(r, str_or(c, "backend", "?"), json_string(str_or(c, "status", "?")));
    }
    if (json_object_size(cols) < 2)
        goto done;
    pecs_sb_adds(b, "\n## Conformance matrix\n\nOne row per case, labelled by the encoding, its dtype and the words where "
                    "it departs from the most common value among its encoding's cases (the full case string, the "
                    "reproducer's `--case`, is the last column); one verdict column per backend.\n\n| case |");
    json_object_foreach(cols, name, x)
    {
        pecs_sb_adds(b, " ");
        md_text(b, name);
        pecs_sb_adds(b, " |");
    }
    pecs_sb_adds(b, " case string |\n|---|");
    json_object_foreach(cols, name, x) pecs_sb_adds(b, "---|");
    pecs_sb_adds(b, "---|\n");
    json_object_foreach(rows, cs, row)
    {
        pecs_sb_adds(b, "| ");
        md_text(b, str_or(labels, cs, cs));
        pecs_sb_adds(b, " |");
        json_object_foreach(cols, name, x)
        {
            pecs_sb_adds(b, " ");
            md_text(b, str_or(row, name, "-"));
            pecs_sb_adds(b, " |");
        }
        pecs_sb_adds(b, " ");
        md_code(b, cs);
        pecs_sb_adds(b, " |\n");
    }
done:
    json_decref(rows);
    json_decref(cols);
    json_decref(labels);
}

static void render_md(pecs_sb *b, const char *path, json_t *root, const int counts[PECS_V_COUNT])
{
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i, n = json_array_size(cases);
    int show[N_COLS], bad = 0;
    /* Columns no case fills (e.g. every perf column of a correctness run, or the reasons of an all-passing
     * equivalence run, which are "") are left out of the tables. */
    for (int k = 0; k < N_COLS; k++) {
        show[k] = COLS[k].md && (COLS[k].kind == K_CODE || !strcmp(COLS[k].path, "status"));
        json_array_foreach(cases, i, c)
        {
            json_t *v = get_path(c, COLS[k].path, &bad);
            show[k] |= COLS[k].md && v && !(json_is_string(v) && !*json_string_value(v));
        }
    }
    md_header(b, path, root);
    md_matrix(b, root);
    for (i = 0; i < n; i++) {
        c = json_array_get(cases, i);
        const char *name = str_or(c, "backend", ""), *src = json_string_value(json_object_get(c, "backend_source"));
        json_t *prev = i ? json_array_get(cases, i - 1) : NULL;
        const char *pname = prev ? str_or(prev, "backend", "") : NULL;
        const char *psrc = prev ? json_string_value(json_object_get(prev, "backend_source")) : NULL;
        /* Cases are grouped by backend (schema): a new (name, source) starts a new section. */
        if (!prev || strcmp(name, pname) || (src && psrc && strcmp(src, psrc))) {
            md_backend_heading(b, root, name, src);
            pecs_sb_adds(b, "|");
            for (int k = 0; k < N_COLS; k++)
                if (show[k])
                    pecs_sb_addf(b, " %s |", COLS[k].md_head);
            pecs_sb_adds(b, "\n|");
            for (int k = 0; k < N_COLS; k++)
                if (show[k])
                    pecs_sb_adds(b, COLS[k].kind == K_NUM || COLS[k].kind == K_INT ? "---:|" : "---|");
            pecs_sb_adds(b, "\n");
        }
        pecs_sb_adds(b, "|");
        for (int k = 0; k < N_COLS; k++) {
            if (!show[k])
                continue;
            pecs_sb_adds(b, " ");
            md_cell(b, &COLS[k], get_path(c, COLS[k].path, &bad));
            pecs_sb_adds(b, " |");
        }
        pecs_sb_adds(b, "\n");
    }
    int failed = 0;
    for (int v = 0; v < PECS_V_COUNT; v++)
        failed += pecs_verdict_fails((pecs_verdict)v) ? counts[v] : 0;
    pecs_sb_addf(b, "\n## Summary\n\n%d passed, %d failed, %d skipped (%zu result(s))\n\n| verdict | cases |\n|---|---:|\n",
                 counts[PECS_V_PASSED], failed, counts[PECS_V_SKIPPED], n);
    for (int v = 0; v < PECS_V_COUNT; v++)
        if (counts[v])
            pecs_sb_addf(b, "| %s | %d |\n", pecs_verdict_name((pecs_verdict)v), counts[v]);
}

static void render_csv(pecs_sb *b, json_t *root)
{
    json_t *c;
    size_t i;
    int bad = 0;
    for (int k = 0; k < N_COLS; k++)
        pecs_sb_addf(b, "%s%s", k ? "," : "", COLS[k].csv_head);
    pecs_sb_adds(b, "\n");
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        for (int k = 0; k < N_COLS; k++) {
            if (k)
                pecs_sb_adds(b, ",");
            csv_cell(b, &COLS[k], get_path(c, COLS[k].path, &bad));
        }
        pecs_sb_adds(b, "\n");
    }
}

/* ---- JUnit XML ------------------------------------------------------------------------------------------- */

/* XML 1.0 text or attribute value: markup characters as entities; in attributes, tab and line breaks as
 * character references (a parser would turn them into spaces). Characters XML 1.0 cannot carry at all —
 * control characters other than tab and line breaks, U+FFFE and U+FFFF — are written visibly as \xNN or
 * \uFFFE. The input is UTF-8 (jansson checks it on load). */
static void xml_text(pecs_sb *b, const char *s, int attr)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if (ch == '&')
            pecs_sb_adds(b, "&amp;");
        else if (ch == '<')
            pecs_sb_adds(b, "&lt;");
        else if (ch == '>')
            pecs_sb_adds(b, "&gt;");
        else if (ch == '"' && attr)
            pecs_sb_adds(b, "&quot;");
        else if (ch == '\'' && attr)
            pecs_sb_adds(b, "&apos;");
        else if ((ch == '\t' || ch == '\n') && attr)
            pecs_sb_addf(b, "&#%d;", ch);
        else if (ch == '\r')
            pecs_sb_adds(b, "&#13;");
        else if (ch < 0x20 && ch != '\t' && ch != '\n')
            pecs_sb_addf(b, "\\x%02X", ch);
        else if (ch == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
            pecs_sb_adds(b, p[2] == 0xBE ? "\\uFFFE" : "\\uFFFF");
            p += 2;
        } else
            pecs_sb_addf(b, "%c", (char)ch);
    }
}

static void xml_attr(pecs_sb *b, const char *name, const char *value)
{
    pecs_sb_addf(b, " %s=\"", name);
    xml_text(b, value, 1);
    pecs_sb_adds(b, "\"");
}

typedef enum junit_kind { J_PASS, J_SKIP, J_FAIL, J_ERROR } junit_kind;

static junit_kind junit_kind_of(pecs_verdict v)
{
    switch (v) {
    case PECS_V_PASSED: return J_PASS;
    case PECS_V_SKIPPED:
    case PECS_V_BEYOND_LEVEL: return J_SKIP;
    case PECS_V_ERROR:
    case PECS_V_CRASHED:
    case PECS_V_TIMEOUT: return J_ERROR;
    default: return J_FAIL;
    }
}

static double case_seconds(json_t *c)
{
    double t = json_number_value(json_object_get(c, "seconds"));
    return t > 0 ? t : 0;
}

/* Counts of cases[first, last) by kind, and their time. */
static void junit_counts(json_t *cases, size_t first, size_t last, int n[4], double *time)
{
    memset(n, 0, 4 * sizeof *n);
    *time = 0;
    for (size_t i = first; i < last; i++) {
        json_t *c = json_array_get(cases, i);
        n[junit_kind_of(pecs_verdict_from_name(json_string_value(json_object_get(c, "status"))))]++;
        *time += case_seconds(c);
    }
}

static void junit_property(pecs_sb *b, const char *name, const char *value)
{
    pecs_sb_adds(b, "      <property");
    xml_attr(b, "name", name);
    xml_attr(b, "value", value);
    pecs_sb_adds(b, "/>\n");
}

static void junit_case(pecs_sb *b, json_t *c)
{
    static const char *const tag[] = {NULL, "skipped", "failure", "error"};
    const char *cs = str_or(c, "case", ""), *status = str_or(c, "status", "?"), *reason = str_or(c, "reason", "");
    pecs_verdict v = pecs_verdict_from_name(status);
    junit_kind k = junit_kind_of(v);
    pecs_sb cls = {0}, msg = {0};
    char t[40];
    pecs_sb_addf(&cls, "%s.%.*s", str_or(c, "backend", "?"), (int)strcspn(cs, " "), cs);
    snprintf(t, sizeof t, "%.6f", case_seconds(c));
    pecs_sb_adds(b, "    <testcase");
    xml_attr(b, "classname", pecs_sb_str(&cls));
    xml_attr(b, "name", cs);
    xml_attr(b, "time", t);
    if (k == J_PASS) {
        pecs_sb_adds(b, "/>\n");
        goto cleanup;
    }
    pecs_sb_adds(b, ">\n      <");
    pecs_sb_adds(b, tag[k]);
    /* The verdict leads the message where the element does not carry it as its type. */
    if (k == J_SKIP)
        pecs_sb_addf(&msg, "%s%s%s", v == PECS_V_SKIPPED ? "" : status, v == PECS_V_SKIPPED || !*reason ? "" : ": ", reason);
    else
        pecs_sb_adds(&msg, *reason ? reason : status);
    xml_attr(b, "message", pecs_sb_str(&msg));
    if (k == J_SKIP) {
        pecs_sb_adds(b, "/>\n    </testcase>\n");
        goto cleanup;
    }
    xml_attr(b, "type", status);
    pecs_sb_adds(b, ">");
    xml_text(b, status, 0);
    if (*reason) {
        pecs_sb_adds(b, ": ");
        xml_text(b, reason, 0);
    }
    pecs_sb_adds(b, "\nreproduce: ");
    xml_text(b, str_or(c, "reproducer", ""), 0);
    pecs_sb_addf(b, "\n</%s>\n    </testcase>\n", tag[k]);
cleanup:
    b->oom |= cls.oom | msg.oom;
    pecs_sb_free(&cls);
    pecs_sb_free(&msg);
}

/* One <testsuite> per backend (a run groups its cases by backend: a new name or source starts one). */
static void render_junit(pecs_sb *b, json_t *root)
{
    json_t *cases = json_object_get(root, "cases"), *pecs = json_object_get(root, "pecs");
    size_t n = json_array_size(cases);
    int cnt[4], id = 0;
    double time;
    char t[40], ts[40];
    snprintf(ts, sizeof ts, "%.19s", str_or(root, "started", "")); /* ISO 8601 without the zone, as Ant writes it */
    junit_counts(cases, 0, n, cnt, &time);
    snprintf(t, sizeof t, "%.6f", time);
    pecs_sb_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pecs\"");
    pecs_sb_addf(b, " tests=\"%zu\" failures=\"%d\" errors=\"%d\" time=\"%s\">\n", n, cnt[J_FAIL], cnt[J_ERROR], t);
    for (size_t first = 0, last; first < n; first = last, id++) {
        json_t *c0 = json_array_get(cases, first);
        const char *name = str_or(c0, "backend", ""), *src = str_or(c0, "backend_source", "");
        for (last = first + 1; last < n; last++) {
            json_t *c = json_array_get(cases, last);
            if (strcmp(str_or(c, "backend", ""), name) || strcmp(str_or(c, "backend_source", ""), src))
                break;
        }
        junit_counts(cases, first, last, cnt, &time);
        snprintf(t, sizeof t, "%.6f", time);
        pecs_sb_adds(b, "  <testsuite");
        xml_attr(b, "name", name);
        pecs_sb_addf(b, " tests=\"%zu\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%s\" id=\"%d\"",
                     last - first, cnt[J_FAIL], cnt[J_ERROR], cnt[J_SKIP], t, id);
        xml_attr(b, "package", "pecs");
        if (*ts)
            xml_attr(b, "timestamp", ts);
        pecs_sb_adds(b, ">\n    <properties>\n");
        json_t *be = backend_entry(root, name, *src ? src : NULL);
        junit_property(b, "pecs.version", str_or(pecs, "version", "unknown"));
        junit_property(b, "pecs.git_commit", str_or(pecs, "git_commit", "unknown"));
        junit_property(b, "command", str_or(root, "command", "unknown"));
        junit_property(b, "mode", str_or(root, "mode", "unknown"));
        junit_property(b, "machine.cpu_model", str_or(json_object_get(root, "machine"), "cpu_model", "unknown"));
        junit_property(b, "tolerances.sha256", str_or(json_object_get(root, "tolerances"), "sha256", "unknown"));
        junit_property(b, "backend.source", *src ? src : str_or(be, "source", "unknown"));
        junit_property(b, "backend.version", str_or(be, "version", "unknown"));
        if (*str_or(be, "sha256", ""))
            junit_property(b, "backend.sha256", str_or(be, "sha256", ""));
        pecs_sb_adds(b, "    </properties>\n");
        for (size_t i = first; i < last; i++)
            junit_case(b, json_array_get(cases, i));
        pecs_sb_adds(b, "  </testsuite>\n");
    }
    pecs_sb_adds(b, "</testsuites>\n");
}

pecs_status pecs_report_render_files(const char *const *paths, size_t n, pecs_report_format fmt, char **out,
                                     char *why, size_t why_len)
{
    json_error_t err;
    pecs_sb b = {0};
    int counts[PECS_V_COUNT];
    pecs_status st = PECS_OK;
    json_t **roots = calloc(n ? n : 1, sizeof *roots);
    *out = NULL;
    if (!roots) {
        snprintf(why, why_len, "out of memory");
        st = PECS_NOMEM;
        goto cleanup;
    }
    if (n != 1 && fmt != PECS_REPORT_HTML) {
        snprintf(why, why_len, "%s takes one results file (html takes several)",
                 fmt == PECS_REPORT_CSV ? "csv" : fmt == PECS_REPORT_JUNIT ? "junit" : "md");
        st = PECS_INVALID;
        goto cleanup;
    }
    for (size_t f = 0; f < n; f++) {
        if (!(roots[f] = pecs_json_load(paths[f], &err))) {
            /* jansson names the file in err.text when it cannot open it; otherwise give the position. */
            if (err.line < 0)
                snprintf(why, why_len, "%s", err.text);
            else
                snprintf(why, why_len, "%s:%d:%d: not valid JSON: %s", paths[f], err.line, err.column, err.text);
            st = PECS_PARSE;
            goto cleanup;
        }
        if ((st = validate(paths[f], roots[f], counts, why, why_len)) != PECS_OK)
            goto cleanup;
    }
    if (fmt == PECS_REPORT_CSV)
        render_csv(&b, roots[0]);
    else if (fmt == PECS_REPORT_JUNIT)
        render_junit(&b, roots[0]);
    else if (fmt == PECS_REPORT_HTML)
        pecs_report_html(&b, paths, roots, n);
    else
        render_md(&b, paths[0], roots[0], counts);
    if (b.oom || !(*out = pecs_sb_take(&b))) {
        snprintf(why, why_len, "out of memory rendering %s", paths[0]);
        st = PECS_NOMEM;
    }
cleanup:
    pecs_sb_free(&b);
    for (size_t f = 0; roots && f < n; f++)
        json_decref(roots[f]);
    free(roots);
    return st;
}

pecs_status pecs_report_render(const char *path, pecs_report_format fmt, char **out, char *why, size_t why_len)
{
    return pecs_report_render_files(&path, 1, fmt, out, why, why_len);
}

/* ---- the command ----------------------------------------------------------------------------------------- */

static const char REPORT_HELP[] =
    "usage: pecs report RESULTS.json... [--format md|csv|junit|html] [--out FILE]   (- : standard input/output)\n"
    "\n"
    "Render a results file (the source of truth) into a publishable table. md (default): the run's metadata\n"
    "(build, date, machine, compiler, mode, threads, thread binding, calibration), with two or more backends\n"
    "a conformance matrix (a row per case under a short label, a verdict per backend), one table of cases per\n"
    "backend (status, median time, GB/s, tokens/s, roofline fraction, noisy flag, max abs/rel error, horizon),\n"
    "then the verdict counts. csv: one row per case and backend, full precision, RFC 4180 quoting.\n"
    "junit: JUnit XML for CI (Jenkins/Ant schema): a testsuite per backend, a testcase per case (classname\n"
    "backend.encoding, name the case string); SKIPPED/BEYOND_LEVEL are <skipped>, FAILED/MISTRUSTED/\n"
    "NONDETERMINISTIC <failure>, ERROR/CRASHED/TIMEOUT <error>, with the reason and the reproducer.\n"
    "html: one self-contained page (inline CSS and SVG, no script) for one or more results files: run\n"
    "metadata, conformance matrix (backend x encoding x dtype), invariance drift against shift, roofline\n"
    "position of every timed case, throughput by backend per encoding. md, csv and junit take one file.\n"
    "Writes FILE atomically, or stdout without --out.\n"
    "Exit 0: rendered; 2: bad usage, or a missing, unparsable or non-results file (nothing written);\n"
    "3: FILE could not be written.\n";


static int usage(const char *msg)
{
    fprintf(stderr, "pecs report: %s (see: pecs report --help)\n", msg);
    return PECS_EXIT_USAGE;
}

int pecs_report_cmd(int argc, char **argv)
{
    const char *out_path = NULL, **in = calloc((size_t)argc, sizeof *in);
    size_t n_in = 0;
    pecs_report_format fmt = PECS_REPORT_MD;
    char why[1024], *text = NULL;
    int rc = PECS_EXIT_OK;
    if (!in) {
        fprintf(stderr, "pecs report: out of memory\n");
        rc = PECS_EXIT_IO;
        goto cleanup;
    }
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(REPORT_HELP, stdout);
            goto cleanup;
        }
        if ((v = pecs_opt(argc, argv, &i, "--format", &missing))) {
            if (!strcmp(v, "md"))
                fmt = PECS_REPORT_MD;
            else if (!strcmp(v, "csv"))
                fmt = PECS_REPORT_CSV;
            else if (!strcmp(v, "junit"))
                fmt = PECS_REPORT_JUNIT;
            else if (!strcmp(v, "html"))
                fmt = PECS_REPORT_HTML;
            else {
                rc = usage("--format takes md, csv, junit or html");
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--out", &missing))) {
            out_path = v;
        } else if (missing || (argv[i][0] == '-' && argv[i][1])) { /* "-" alone: standard input */
            rc = usage(missing ? "an option is missing its value" : "unknown option");
            goto cleanup;
        } else {
            in[n_in++] = argv[i];
        }
    }
    if (n_in > 1 && fmt != PECS_REPORT_HTML) {
        rc = usage("give one results file (only --format html takes several)");
        goto cleanup;
    }
    if (!n_in) {
        rc = usage("give a results file");
        goto cleanup;
    }
    /* Rendering over the input would replace the source of truth with its rendering. */
    struct stat si, so;
    for (size_t f = 0; out_path && f < n_in; f++) {
        if (stat(in[f], &si) == 0 && stat(out_path, &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
            rc = usage("--out names the results file itself");
            goto cleanup;
        }
    }
    pecs_status st = pecs_report_render_files(in, n_in, fmt, &text, why, sizeof why);
    if (st != PECS_OK) {
        fprintf(stderr, "pecs report: %s\n", why);
        rc = st == PECS_NOMEM ? PECS_EXIT_IO : PECS_EXIT_USAGE;
        goto cleanup;
    }
    if (out_path) {
        if (pecs_write_atomic(out_path, text, strlen(text), why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs report: %s\n", why);
            rc = PECS_EXIT_IO;
        }
    } else if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "pecs report: cannot write to stdout\n");
        rc = PECS_EXIT_IO;
    }
cleanup:
    free(text);
    free(in);
    return rc;
}
