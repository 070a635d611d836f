/* harness/report_html.c — `pecs report --format html`: one self-contained page (see report_html.h).
 * Aggregation goes through jansson objects used as ordered maps (jansson keeps insertion order), so rows
 * and columns appear in the order the runs produced them, without a second set of container types. */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

/* ---- escaping and small helpers ---------------------------------------------------------------------- */

/* HTML text and attribute values alike: the five markup characters as entities; control characters other
 * than tab and line feed (which HTML cannot carry usefully) shown as \xNN. Input is UTF-8 (jansson checked). */
static void h(pecs_sb *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': pecs_sb_adds(b, "&amp;"); break;
        case '<': pecs_sb_adds(b, "&lt;"); break;
        case '>': pecs_sb_adds(b, "&gt;"); break;
        case '"': pecs_sb_adds(b, "&quot;"); break;
        case '\'': pecs_sb_adds(b, "&#39;"); break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n')
                pecs_sb_addf(b, "\\x%02X", *p);
            else
                pecs_sb_addf(b, "%c", (char)*p);
        }
    }
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : dflt;
}

/* The encoding of a case string: its first word. */
static void case_encoding(const char *cs, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s", (int)strcspn(cs, " "), cs);
}

/* The dtype= word of a case string (every canonical string has one; "?" if a file lacks it). */
static void case_dtype(const char *cs, char *buf, size_t n)
{
    const char *p = strstr(cs, " dtype=");
    if (p)
        snprintf(buf, n, "%.*s", (int)strcspn(p + 7, " "), p + 7);
    else
        snprintf(buf, n, "?");
}

/* The object at o[key], created empty when missing. */
static json_t *child(json_t *o, const char *key)
{
    json_t *c = json_object_get(o, key);
    if (!c) {
        c = json_object();
        json_object_set_new(o, key, c);
    }
    return c;
}

static void count_add(json_t *o, const char *key, long long by)
{
    json_t *v = json_object_get(o, key);
    json_object_set_new(o, key, json_integer((v ? json_integer_value(v) : 0) + by));
}

static long long count_of(json_t *o, const char *key) { return json_integer_value(json_object_get(o, key)); }

/* Backend labels: the name, or "name #k" when the name occurs in more than one file. labels[f] maps a
 * case's backend name in file f to its label. */
static json_t *backend_labels(json_t *const *roots, size_t n)
{
    json_t *files_of = json_object(), *labels = json_array(), *c;
    size_t i;
    for (size_t f = 0; f < n; f++) {
        json_t *seen = json_object();
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            const char *name = str_or(c, "backend", "?");
            if (!json_object_get(seen, name)) {
                json_object_set_new(seen, name, json_true());
                count_add(files_of, name, 1);
            }
        }
        json_decref(seen);
    }
    for (size_t f = 0; f < n; f++) {
        json_t *map = json_object();
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            const char *name = str_or(c, "backend", "?");
            char lab[128];
            if (count_of(files_of, name) > 1)
                snprintf(lab, sizeof lab, "%s #%zu", name, f + 1);
            else
                snprintf(lab, sizeof lab, "%s", name);
            json_object_set_new(map, name, json_string(lab));
        }
        json_array_append_new(labels, map);
    }
    json_decref(files_of);
    return labels;
}

static const char *label_of(json_t *labels, size_t f, json_t *c)
{
    return str_or(json_array_get(labels, f), str_or(c, "backend", "?"), "?");
}

/* Eight colours told apart in print and by most colour-blind readers (Okabe-Ito, black replaced). */
static const char *const PALETTE[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#8C6D31", "#7F7F7F"};
#define N_PALETTE ((size_t)(sizeof PALETTE / sizeof PALETTE[0]))

/* ---- short case labels ------------------------------------------------------------------------------ */

/* Knobs whose values read alone (f32, thd, strided, contig@0, invariance, i64, f32angle). */
static int bare_key(const char *k)
{
    static const char *const bare[] = {"dtype", "layout", "view", "positions", "check", "pos_dtype", "level"};
    for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++)
        if (!strcmp(k, bare[i]))
            return 1;
    return 0;
}

/* Walk the words after the encoding of case string cs: calls fn(key, word, ctx) for each. */
static void each_word(const char *cs, void (*fn)(const char *key, const char *word, void *ctx), void *ctx)
{
    char key[128], word[512];
    for (const char *p = cs + strcspn(cs, " "); *p;) {
        p += strspn(p, " ");
        size_t wl = strcspn(p, " ");
        if (!wl)
            break;
        const char *eq = memchr(p, '=', wl);
        snprintf(key, sizeof key, "%.*s", (int)(eq ? (size_t)(eq - p) : wl), p);
        snprintf(word, sizeof word, "%.*s", (int)wl, p);
        fn(key, word, ctx);
        p += wl;
    }
}

/* Pass 1: per key, how many cases of the group carry each word. */
static void tally_word(const char *key, const char *word, void *keys)
{
    count_add(child((json_t *)keys, key), word, 1);
}

typedef struct label_ctx {
    json_t *keys;  /* key -> word -> count, of this encoding's cases */
    long long n;   /* cases of this encoding */
    json_t *have;  /* keys this case has */
    pecs_sb *lab;
} label_ctx;

/* The most common word of a key ("" when most of the cases lack the key: the parameter's default). */
static const char *mode_word(json_t *words, long long n)
{
    const char *w, *best = "";
    json_t *c;
    long long present = 0, top = 0;
    json_object_foreach(words, w, c) present += json_integer_value(c);
    top = n - present; /* cases without the key */
    json_object_foreach(words, w, c) if (json_integer_value(c) > top)
    {
        top = json_integer_value(c);
        best = w;
    }
    return best;
}

/* Pass 2: a word goes into the label when its key varies within the encoding and it is not the key's most
 * common word; dtype whenever it varies (a reader always wants it). */
static void label_word(const char *key, const char *word, void *vctx)
{
    label_ctx *x = vctx;
    json_t *words = json_object_get(x->keys, key);
    json_object_set_new(x->have, key, json_true());
    if (json_object_size(words) == 1 && count_of(words, word) == x->n)
        return; /* the same word in every case */
    if (!strcmp(word, mode_word(words, x->n)) && strcmp(key, "dtype"))
        return;
    const char *eq = strchr(word, '=');
    pecs_sb_addf(x->lab, " %s", bare_key(key) && eq ? eq + 1 : word);
}

json_t *pecs_report_short_labels(json_t *const *roots, size_t n)
{
    /* groups: encoding -> {"n": distinct cases, "keys": key -> word -> count} */
    json_t *groups = json_object(), *seen = json_object(), *labels = json_object(), *c;
    size_t i;
    for (size_t f = 0; f < n; f++) {
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            const char *cs = str_or(c, "case", "");
            char enc[128];
            if (json_object_get(seen, cs))
                continue;
            json_object_set_new(seen, cs, json_true());
            case_encoding(cs, enc, sizeof enc);
            json_t *g = child(groups, enc);
            count_add(g, "n", 1);
            each_word(cs, tally_word, child(g, "keys"));
        }
    }
    const char *cs_key;
    json_object_foreach(seen, cs_key, c)
    {
        char enc[128];
        const char *kk;
        json_t *words;
        pecs_sb lab = {0};
        case_encoding(cs_key, enc, sizeof enc);
        json_t *g = json_object_get(groups, enc);
        label_ctx x = {json_object_get(g, "keys"), count_of(g, "n"), json_object(), &lab};
        pecs_sb_adds(&lab, enc);
        each_word(cs_key, label_word, &x);
        /* A parameter most cases set that this case leaves at its default. */
        json_object_foreach(x.keys, kk, words) if (!json_object_get(x.have, kk) && *mode_word(words, x.n))
            pecs_sb_addf(&lab, " %s=(default)", kk);
        if (!lab.oom)
            json_object_set_new(labels, cs_key, json_string(pecs_sb_str(&lab)));
        json_decref(x.have);
        pecs_sb_free(&lab);
    }
    json_decref(groups);
    json_decref(seen);
    return labels;
}

/* ---- page head and metadata -------------------------------------------------------------------------- */

static const char CSS[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:15px}"
    "table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;"
    "vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}code{font-size:12px}"
    "table.mx td{text-align:center;min-width:56px}table.mx td.enc{text-align:left}"
    ".v-pass{background:#b7e4b0}.v-part{background:#e3f1c4}.v-fail{background:#f4a6a0}"
    ".v-skip{background:#e4e4e4;color:#555}.v-none{color:#aaa}"
    ".legend span{display:inline-block;padding:2px 8px;margin-right:8px;border:1px solid #ccc}"
    ".plots{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;width:470px}figcaption{font-size:12px;color:#444}"
    "svg text{font:11px system-ui,sans-serif;fill:#222}.note{color:#555;font-size:13px}";

static void meta_row(pecs_sb *b, const char *field, const char *value)
{
    pecs_sb_adds(b, "<tr><th>");
    h(b, field);
    pecs_sb_adds(b, "</th><td>");
    h(b, value);
    pecs_sb_adds(b, "</td></tr>\n");
}

static void metadata(pecs_sb *b, size_t k, const char *path, json_t *root)
{
    json_t *pecs = json_object_get(root, "pecs"), *mc = json_object_get(root, "machine");
    json_t *tol = json_object_get(root, "tolerances"), *cal = json_object_get(root, "calibration");
    json_t *summary = json_object_get(root, "summary"), *thr = json_object_get(root, "threads");
    pecs_sb v = {0};
    pecs_sb_addf(b, "<h3 id=\"file-%zu\">#%zu <code>", k + 1, k + 1);
    h(b, path);
    pecs_sb_adds(b, "</code></h3>\n<table>\n");
    pecs_sb_addf(&v, "%s (commit %s), %s, flags %s", str_or(pecs, "version", "unknown"),
                 str_or(pecs, "git_commit", "unknown"), str_or(pecs, "compiler", "unknown"),
                 str_or(pecs, "flags", "unknown"));
    meta_row(b, "pecs", pecs_sb_str(&v));
    meta_row(b, "command", str_or(root, "command", "unknown"));
    v.len = 0;
    pecs_sb_addf(&v, "%s to %s", str_or(root, "started", "unknown"), str_or(root, "finished", "unknown"));
    meta_row(b, "date (UTC)", pecs_sb_str(&v));
    v.len = 0;
    pecs_sb_adds(&v, str_or(mc, "cpu_model", "unknown"));
    if (json_is_integer(json_object_get(mc, "cores")))
        pecs_sb_addf(&v, ", %lld logical cores", (long long)json_integer_value(json_object_get(mc, "cores")));
    if (json_is_true(json_object_get(mc, "hypervisor")))
        pecs_sb_adds(&v, ", VM");
    pecs_sb_addf(&v, "; ISA %s; %s", str_or(mc, "isa", "unknown"), str_or(mc, "os", "unknown"));
    meta_row(b, "machine", pecs_sb_str(&v));
    v.len = 0;
    pecs_sb_addf(&v, "%s; threads ", str_or(root, "mode", "unknown"));
    if (json_is_integer(thr))
        pecs_sb_addf(&v, json_integer_value(thr) ? "%lld" : "%lld (each backend's choice)",
                     (long long)json_integer_value(thr));
    else
        pecs_sb_adds(&v, "unknown");
    meta_row(b, "mode", pecs_sb_str(&v));
    v.len = 0;
    pecs_sb_addf(&v, "%s (sha256 %.12s)", str_or(tol, "path", "unknown"), str_or(tol, "sha256", "unknown"));
    meta_row(b, "tolerances", pecs_sb_str(&v));
    meta_row(b, "calibration", json_is_object(cal) ? str_or(cal, "path", "unknown") : "none (no roofline fractions)");
    v.len = 0;
    for (int i = 0; i < PECS_V_COUNT; i++) {
        long long c = count_of(summary, pecs_verdict_name((pecs_verdict)i));
        if (c)
            pecs_sb_addf(&v, "%s%s %lld", v.len ? ", " : "", pecs_verdict_name((pecs_verdict)i), c);
    }
    pecs_sb_addf(&v, "%s(%zu result(s))", v.len ? " " : "", json_array_size(json_object_get(root, "cases")));
    meta_row(b, "verdicts", pecs_sb_str(&v));
    pecs_sb_adds(b, "</table>\n");
    b->oom |= v.oom;
    pecs_sb_free(&v);
}

/* ---- conformance matrix ------------------------------------------------------------------------------ */

typedef enum cell_class { C_NONE, C_SKIP, C_PASS, C_PART, C_FAIL } cell_class;
static const char *const CELL_CSS[] = {"v-none", "v-skip", "v-pass", "v-part", "v-fail"};

/* A cell's colour: red if any verdict fails, green if every case passed, light green if some passed and
 * the rest were not judged (SKIPPED, BEYOND_LEVEL), grey if none was judged. */
static cell_class classify(json_t *counts, long long *passed, long long *failed, long long *total)
{
    *passed = *failed = *total = 0;
    for (int i = 0; i < PECS_V_COUNT; i++) {
        long long c = count_of(counts, pecs_verdict_name((pecs_verdict)i));
        *total += c;
        if (pecs_verdict_fails((pecs_verdict)i))
            *failed += c;
        else if (i == PECS_V_PASSED)
            *passed += c;
    }
    if (!*total)
        return C_NONE;
    if (*failed)
        return C_FAIL;
    if (*passed == *total)
        return C_PASS;
    return *passed ? C_PART : C_SKIP;
}

static void matrix(pecs_sb *b, json_t *const *roots, size_t n, json_t *labels)
{
    /* mx: encoding -> "label\ndtype" -> verdict -> count; cols: label -> dtype -> true. */
    json_t *mx = json_object(), *cols = json_object(), *c, *row, *dts, *x;
    const char *enc, *lab, *dt;
    size_t i, n_cols = 0;
    for (size_t f = 0; f < n; f++) {
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            char e[128], d[32], key[192];
            const char *cs = str_or(c, "case", "");
            case_encoding(cs, e, sizeof e);
            case_dtype(cs, d, sizeof d);
            snprintf(key, sizeof key, "%s\n%s", label_of(labels, f, c), d);
            json_object_set_new(child(cols, label_of(labels, f, c)), d, json_true());
            count_add(child(child(mx, e), key), str_or(c, "status", "?"), 1);
        }
    }
    json_object_foreach(cols, lab, dts) n_cols += json_object_size(dts);
    pecs_sb_adds(b, "<h2 id=\"matrix\">Conformance matrix</h2>\n<p class=\"note\">Rows: encodings; columns: "
                    "backend and dtype. A cell shows passed / results (equivalence and invariance cases "
                    "together); hover it for every verdict.</p>\n<table class=\"mx\">\n<tr><th rowspan=\"2\">"
                    "encoding</th>");
    json_object_foreach(cols, lab, dts)
    {
        pecs_sb_addf(b, "<th colspan=\"%zu\">", json_object_size(dts));
        h(b, lab);
        pecs_sb_adds(b, "</th>");
    }
    pecs_sb_adds(b, "</tr>\n<tr>");
    json_object_foreach(cols, lab, dts)
    {
        json_object_foreach(dts, dt, x)
        {
            pecs_sb_adds(b, "<th>");
            h(b, dt);
            pecs_sb_adds(b, "</th>");
        }
    }
    pecs_sb_adds(b, "</tr>\n");
    json_object_foreach(mx, enc, row)
    {
        pecs_sb_adds(b, "<tr><td class=\"enc\"><code>");
        h(b, enc);
        pecs_sb_adds(b, "</code></td>");
        json_object_foreach(cols, lab, dts)
        {
            json_object_foreach(dts, dt, x)
            {
                char key[192];
                long long p, fl, t;
                snprintf(key, sizeof key, "%s\n%s", lab, dt);
                json_t *counts = json_object_get(row, key);
                cell_class cc = classify(counts, &p, &fl, &t);
                pecs_sb_addf(b, "<td class=\"%s\"", CELL_CSS[cc]);
                if (cc == C_NONE) {
                    pecs_sb_adds(b, ">&#8211;</td>");
                    continue;
                }
                pecs_sb_adds(b, " title=\"");
                h(b, enc);
                pecs_sb_adds(b, " / ");
                h(b, lab);
                pecs_sb_adds(b, " / ");
                h(b, dt);
                pecs_sb_adds(b, ":");
                for (int v = 0; v < PECS_V_COUNT; v++)
                    if (count_of(counts, pecs_verdict_name((pecs_verdict)v)))
                        pecs_sb_addf(b, " %s %lld", pecs_verdict_name((pecs_verdict)v),
                                     count_of(counts, pecs_verdict_name((pecs_verdict)v)));
                pecs_sb_addf(b, "\">%lld/%lld", p, t);
                if (fl)
                    pecs_sb_addf(b, "<br/>%lld failed", fl);
                pecs_sb_adds(b, "</td>");
            }
        }
        pecs_sb_adds(b, "</tr>\n");
    }
    if (!n_cols)
        pecs_sb_adds(b, "<tr><td>no results</td></tr>\n");
    pecs_sb_adds(b, "</table>\n<p class=\"legend\"><span class=\"v-pass\">every result PASSED</span>"
                    "<span class=\"v-part\">passed, the rest SKIPPED or BEYOND_LEVEL</span>"
                    "<span class=\"v-skip\">none judged (SKIPPED, BEYOND_LEVEL)</span>"
                    "<span class=\"v-fail\">a failing verdict (FAILED, MISTRUSTED, ERROR, CRASHED, TIMEOUT, "
                    "NONDETERMINISTIC)</span><span class=\"v-none\">&#8211; no case</span></p>\n");
    json_decref(mx);
    json_decref(cols);
}

/* ---- SVG helpers ------------------------------------------------------------------------------------- */

enum { PW = 460, PH = 280, ML = 64, MR = 120, MT = 14, MB = 42 }; /* plot size and margins */

static double lmap(double v, double lo, double hi, double p0, double p1)
{
    return p0 + (v - lo) / (hi - lo) * (p1 - p0);
}

/* Decade ticks and labels on a log axis from 10^lo to 10^hi (lo < hi, integers). */
static void log_axes(pecs_sb *b, int xlo, int xhi, int ylo, int yhi, const char *xname, const char *yname)
{
    int x0 = ML, x1 = PW - MR, y0 = PH - MB, y1 = MT;
    pecs_sb_addf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#999\"/>\n", x0, y1,
                 x1 - x0, y0 - y1);
    int xstep = (xhi - xlo) > 8 ? 2 : 1, ystep = (yhi - ylo) > 10 ? 2 : 1;
    for (int e = xlo; e <= xhi; e += xstep) {
        double x = lmap(e, xlo, xhi, x0, x1);
        pecs_sb_addf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>", x, y1, x, y0);
        pecs_sb_addf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">1e%d</text>\n", x, y0 + 14, e);
    }
    for (int e = ylo; e <= yhi; e += ystep) {
        double y = lmap(e, ylo, yhi, y0, y1);
        pecs_sb_addf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>", x0, y, x1, y);
        pecs_sb_addf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n", x0 - 4, y + 4, e);
    }
    pecs_sb_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (x0 + x1) / 2, PH - 6, xname);
    pecs_sb_addf(b, "<text x=\"12\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">%s</text>\n",
                 (y0 + y1) / 2, (y0 + y1) / 2, yname);
}

/* ---- invariance drift -------------------------------------------------------------------------------- */

typedef struct pt {
    double shift, drift; /* drift: INFINITY for a null (non-finite) entry */
} pt;

static int pt_cmp(const void *a, const void *b)
{
    double x = ((const pt *)a)->shift, y = ((const pt *)b)->shift;
    return (x > y) - (x < y);
}

/* One plot: encodings of one backend x dtype; encs maps encoding -> shift (as text) -> worst drift. */
static void drift_plot(pecs_sb *b, const char *lab, const char *dt, json_t *encs, double tol)
{
    const char *enc, *sk;
    json_t *shifts, *d;
    double smin = INFINITY, smax = 0, dmin = INFINITY, dmax = 0;
    int any_zero = 0, any_inf = 0;
    json_object_foreach(encs, enc, shifts)
    {
        json_object_foreach(shifts, sk, d)
        {
            double s = strtod(sk, NULL), v = json_is_null(d) ? INFINITY : json_number_value(d);
            smin = fmin(smin, s);
            smax = fmax(smax, s);
            if (isinf(v))
                any_inf = 1;
            else if (v <= 0)
                any_zero = 1;
            else {
                dmin = fmin(dmin, v);
                dmax = fmax(dmax, v);
            }
        }
    }
    if (tol > 0) {
        dmin = fmin(dmin, tol);
        dmax = fmax(dmax, tol);
    }
    if (!(dmin <= dmax))
        dmin = dmax = 1e-16; /* every drift exactly zero (or infinite) */
    int xlo = (int)floor(log10(smin)), xhi = (int)ceil(log10(smax));
    int ylo = (int)floor(log10(dmin)) - any_zero, yhi = (int)ceil(log10(dmax)) + any_inf;
    if (xhi <= xlo)
        xhi = xlo + 1;
    if (yhi <= ylo)
        yhi = ylo + 1;
    pecs_sb_adds(b, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"");
    pecs_sb_addf(b, "%d\" height=\"%d\" viewBox=\"0 0 %d %d\"><title>invariance drift, ", PW, PH, PW, PH);
    h(b, lab);
    pecs_sb_adds(b, " ");
    h(b, dt);
    pecs_sb_adds(b, "</title>\n");
    log_axes(b, xlo, xhi, ylo, yhi, "shift d", "max drift");
    int x0 = ML, x1 = PW - MR, y0 = PH - MB, y1 = MT;
    if (tol > 0) {
        double y = lmap(log10(tol), ylo, yhi, y0, y1);
        pecs_sb_addf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c00\" stroke-dasharray=\"5 3\">"
                        "<title>tolerance.drift %g</title></line>\n", x0, y, x1, y, tol);
    }
    size_t k = 0;
    json_object_foreach(encs, enc, shifts)
    {
        /* Past eight encodings the colours come round again, dashed, then dotted. */
        const char *colour = PALETTE[k % N_PALETTE], *const dashes[] = {"none", "6 3", "2 2"};
        const char *dash = dashes[k / N_PALETTE % 3];
        size_t np = 0, cap = json_object_size(shifts);
        pt *p = malloc((cap ? cap : 1) * sizeof *p);
        if (!p) {
            b->oom = 1;
            return;
        }
        json_object_foreach(shifts, sk, d) p[np++] = (pt){strtod(sk, NULL), json_is_null(d) ? INFINITY : json_number_value(d)};
        qsort(p, np, sizeof *p, pt_cmp);
        pecs_sb_addf(b, "<g stroke=\"%s\" fill=\"%s\"><title>", colour, colour);
        h(b, enc);
        pecs_sb_addf(b, "</title><polyline fill=\"none\" stroke-width=\"1.8\" stroke-dasharray=\"%s\" points=\"", dash);
        for (size_t i = 0; i < np; i++) {
            double v = isinf(p[i].drift) ? pow(10, yhi) : p[i].drift > 0 ? p[i].drift : pow(10, ylo);
            pecs_sb_addf(b, "%.1f,%.1f ", lmap(log10(p[i].shift), xlo, xhi, x0, x1), lmap(log10(v), ylo, yhi, y0, y1));
        }
        pecs_sb_adds(b, "\"/>");
        for (size_t i = 0; i < np; i++) {
            double v = isinf(p[i].drift) ? pow(10, yhi) : p[i].drift > 0 ? p[i].drift : pow(10, ylo);
            pecs_sb_addf(b, "<circle r=\"2.5\" cx=\"%.1f\" cy=\"%.1f\"><title>", lmap(log10(p[i].shift), xlo, xhi, x0, x1),
                         lmap(log10(v), ylo, yhi, y0, y1));
            h(b, enc);
            pecs_sb_addf(b, ": shift %.17g, drift %.3g</title></circle>", p[i].shift, p[i].drift);
        }
        pecs_sb_addf(b, "</g>\n<line x1=\"%d\" y1=\"%zu\" x2=\"%d\" y2=\"%zu\" stroke=\"%s\" stroke-width=\"2\" "
                        "stroke-dasharray=\"%s\"/><text x=\"%d\" y=\"%zu\">", x1 + 6, (size_t)MT + 14 * k + 5, x1 + 20,
                     (size_t)MT + 14 * k + 5, colour, dash, x1 + 24, (size_t)MT + 14 * k + 9);
        h(b, enc);
        pecs_sb_adds(b, "</text>\n");
        free(p);
        k++;
    }
    pecs_sb_adds(b, "</svg><figcaption>");
    h(b, lab);
    pecs_sb_adds(b, ", ");
    h(b, dt);
    pecs_sb_adds(b, ": per encoding, the largest drift over its invariance cases at each shift &gt; 0");
    if (tol > 0)
        pecs_sb_adds(b, "; dashed: the smallest tolerance.drift of these cases");
    if (any_zero)
        pecs_sb_adds(b, "; a drift of exactly 0 is drawn on the bottom edge");
    if (any_inf)
        pecs_sb_adds(b, "; a non-finite drift (NaN output) on the top edge");
    pecs_sb_adds(b, ".</figcaption></figure>\n");
}

static void invariance(pecs_sb *b, json_t *const *roots, size_t n, json_t *labels)
{
    /* inv: label -> dtype -> encoding -> shift -> worst drift (null: non-finite); tol: "label\ndtype" -> min. */
    json_t *inv = json_object(), *tol = json_object(), *c, *dts, *encs;
    const char *lab, *dt;
    size_t i, j, plots = 0;
    for (size_t f = 0; f < n; f++) {
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            json_t *iv = json_object_get(c, "invariance"), *sh = json_object_get(iv, "shifts"),
                   *dr = json_object_get(iv, "drift"), *s;
            double td = json_number_value(json_object_get(json_object_get(c, "tolerance"), "drift"));
            char e[128], d[32], key[192];
            if (!json_is_array(sh) || !json_is_array(dr))
                continue;
            case_encoding(str_or(c, "case", ""), e, sizeof e);
            case_dtype(str_or(c, "case", ""), d, sizeof d);
            json_t *worst = child(child(child(inv, label_of(labels, f, c)), d), e);
            json_array_foreach(sh, j, s)
            {
                json_t *v = json_array_get(dr, j);
                char sk[32];
                if (!json_is_integer(s) || json_integer_value(s) <= 0 || !(json_is_number(v) || json_is_null(v)))
                    continue; /* shift 0 has no place on a log axis, and its drift is 0 by construction */
                snprintf(sk, sizeof sk, "%lld", (long long)json_integer_value(s));
                json_t *old = json_object_get(worst, sk);
                if (json_is_null(v) || (old && json_is_null(old)))
                    json_object_set_new(worst, sk, json_null());
                else if (!old || json_number_value(v) > json_number_value(old))
                    json_object_set_new(worst, sk, json_real(json_number_value(v)));
            }
            snprintf(key, sizeof key, "%s\n%s", label_of(labels, f, c), d);
            json_t *t = json_object_get(tol, key);
            if (td > 0 && (!t || td < json_real_value(t)))
                json_object_set_new(tol, key, json_real(td));
        }
    }
    pecs_sb_adds(b, "<h2 id=\"invariance\">Invariance drift against shift</h2>\n<p class=\"note\">Relative-shift "
                    "invariance: the drift of the logits formed from the backend's outputs when every position "
                    "moves by d (<code>invariance.drift</code>, docs/results-schema.md). Relative encodings "
                    "should stay under the dashed tolerance; absolute ones (negative controls) should not.</p>\n"
                    "<div class=\"plots\">\n");
    json_object_foreach(inv, lab, dts)
    {
        json_object_foreach(dts, dt, encs)
        {
            char key[192];
            snprintf(key, sizeof key, "%s\n%s", lab, dt);
            int points = 0;
            const char *enc;
            json_t *sh;
            json_object_foreach(encs, enc, sh) points |= json_object_size(sh) > 0;
            if (!points)
                continue;
            drift_plot(b, lab, dt, encs, json_real_value(json_object_get(tol, key)));
            plots++;
        }
    }
    pecs_sb_adds(b, "</div>\n");
    if (!plots)
        pecs_sb_adds(b, "<p>No invariance results in these files (no <code>check=invariance</code> case ran in "
                        "mode correctness or all).</p>\n");
    json_decref(inv);
    json_decref(tol);
}

/* ---- performance ------------------------------------------------------------------------------------- */

static void roofline(pecs_sb *b, json_t *const *roots, size_t n, json_t *labels)
{
    /* rows: label -> array of cases with a roofline fraction. */
    json_t *rows = json_object(), *c, *cs;
    const char *lab;
    size_t i, timed = 0, with = 0;
    double fmax_ = 1;
    for (size_t f = 0; f < n; f++) {
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            json_t *perf = json_object_get(c, "perf"), *fr = json_object_get(json_object_get(perf, "roofline"), "fraction");
            if (!json_is_object(perf))
                continue;
            timed++;
            if (!json_is_number(fr))
                continue;
            with++;
            fmax_ = fmax(fmax_, json_number_value(fr));
            json_t *arr = json_object_get(rows, label_of(labels, f, c));
            if (!arr)
                json_object_set_new(rows, label_of(labels, f, c), arr = json_array());
            json_array_append(arr, c);
        }
    }
    pecs_sb_adds(b, "<h2 id=\"roofline\">Roofline position</h2>\n");
    if (!timed) {
        pecs_sb_adds(b, "<p>No perf data in these files (run with <code>--mode perf</code> or <code>all</code>).</p>\n");
        goto done;
    }
    if (!with) {
        pecs_sb_addf(b, "<p>%zu timed case(s), but no roofline fractions: the run had no calibration "
                        "(<code>pecs run --calibration auto</code> or a <code>pecs calibrate</code> file).</p>\n", timed);
        goto done;
    }
    pecs_sb_addf(b, "<p class=\"note\">Every timed case with a calibration (%zu of %zu): achieved bandwidth as a "
                    "fraction of the calibrated bandwidth of its memory pattern (<code>perf.roofline.fraction</code>; "
                    "1 is the measured ceiling). Hover a dot for the case.</p>\n", with, timed);
    {
        int rh = 26, w = 900, x0 = 150, x1 = w - 20, hgt = rh * (int)json_object_size(rows) + 40;
        /* The axis ends past the largest fraction, at most at 5 (a file can hold any number: a dot beyond
         * is drawn on the edge, its title exact); ticks every 0.1 up to 2, else every 0.5. */
        double top = fmin(ceil(fmax_ * 10) / 10, 5), tick = top <= 2 ? 0.1 : 0.5;
        pecs_sb_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\"><title>roofline fractions</title>\n", w, hgt, w, hgt);
        for (int t = 0; t <= (int)lround(top / tick); t++) {
            double v = t * tick, x = lmap(v, 0, top, x0, x1);
            pecs_sb_addf(b, "<line x1=\"%.1f\" y1=\"6\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>", x, x, hgt - 30,
                         fabs(v - 1) < 1e-9 ? "#c00" : "#eee");
            pecs_sb_addf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.1f</text>\n", x, hgt - 16, v);
        }
        pecs_sb_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">fraction of the calibrated bandwidth</text>\n",
                     (x0 + x1) / 2, hgt - 2);
        int r = 0;
        json_object_foreach(rows, lab, cs)
        {
            int y = 6 + rh * r + rh / 2;
            const char *colour = PALETTE[r % N_PALETTE];
            pecs_sb_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", x0 - 8, y + 4);
            h(b, lab);
            pecs_sb_adds(b, "</text>\n");
            json_array_foreach(cs, i, c)
            {
                json_t *perf = json_object_get(c, "perf"), *rf = json_object_get(perf, "roofline");
                double fr = json_number_value(json_object_get(rf, "fraction"));
                pecs_sb_addf(b, "<circle r=\"4\" cx=\"%.1f\" cy=\"%d\" fill=\"%s\" fill-opacity=\"0.6\"><title>",
                             lmap(fmin(fmax(fr, 0), top), 0, top, x0, x1), y, colour);
                h(b, str_or(c, "case", ""));
                pecs_sb_addf(b, ": %.3g GB/s, %.3f of %s (%.4g GB/s)</title></circle>",
                             json_number_value(json_object_get(perf, "gbytes_per_s")), fr,
                             str_or(rf, "kernel", "?"), json_number_value(json_object_get(rf, "bandwidth_gbytes_per_s")));
            }
            pecs_sb_adds(b, "\n");
            r++;
        }
        pecs_sb_adds(b, "</svg>\n");
    }
done:
    json_decref(rows);
}

static void throughput(pecs_sb *b, json_t *const *roots, size_t n, json_t *labels)
{
    /* best: encoding -> label -> best GB/s; labs: every label with perf data, in order. */
    json_t *best = json_object(), *labs = json_object(), *c, *per, *x;
    const char *enc, *lab;
    size_t i;
    double top = 0;
    for (size_t f = 0; f < n; f++) {
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            json_t *g = json_object_get(json_object_get(c, "perf"), "gbytes_per_s");
            char e[128];
            if (!json_is_number(g))
                continue;
            case_encoding(str_or(c, "case", ""), e, sizeof e);
            json_t *row = child(best, e), *old = json_object_get(row, label_of(labels, f, c));
            if (!old || json_number_value(g) > json_number_value(old))
                json_object_set_new(row, label_of(labels, f, c), json_real(json_number_value(g)));
            json_object_set_new(labs, label_of(labels, f, c), json_true());
            top = fmax(top, json_number_value(g));
        }
    }
    pecs_sb_adds(b, "<h2 id=\"throughput\">Throughput by backend</h2>\n");
    if (!json_object_size(best)) {
        pecs_sb_adds(b, "<p>No perf data in these files (run with <code>--mode perf</code> or <code>all</code>).</p>\n");
        goto done;
    }
    pecs_sb_adds(b, "<p class=\"note\">Per encoding, the best <code>perf.gbytes_per_s</code> over its timed cases "
                    "(bytes read and written per call over the median time), one bar per backend.</p>\n");
    {
        size_t nl = json_object_size(labs), ne = json_object_size(best);
        int bw = 18, gap = 22, x0 = 60, y0 = 230, y1 = 14;
        int w = x0 + (int)(ne * (nl * bw + gap)) + 20, hgt = y0 + 110 + 14 * (int)nl;
        /* A 1, 2 or 5 times 10^k tick step giving at most five intervals, and the axis ending on a tick. */
        double step = top > 0 ? pow(10, floor(log10(top / 5))) : 0.2;
        step *= top / step <= 5 ? 1 : top / step <= 10 ? 2 : top / step <= 25 ? 5 : 10;
        int ticks = top > 0 ? (int)ceil(top / step) : 5;
        double ymax = ticks * step;
        pecs_sb_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\"><title>best GB/s per encoding and backend</title>\n", w, hgt, w, hgt);
        for (int t = 0; t <= ticks; t++) {
            double v = step * t, y = lmap(v, 0, ymax, y0, y1);
            pecs_sb_addf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" "
                            "y=\"%.1f\" text-anchor=\"end\">%g</text>\n", x0, y, w - 20, y, x0 - 4, y + 4, v);
        }
        pecs_sb_addf(b, "<text x=\"12\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">GB/s</text>\n",
                     (y0 + y1) / 2, (y0 + y1) / 2);
        size_t e = 0;
        json_object_foreach(best, enc, per)
        {
            int gx = x0 + gap / 2 + (int)(e * (nl * bw + gap));
            size_t l = 0;
            json_object_foreach(labs, lab, x)
            {
                json_t *g = json_object_get(per, lab);
                if (g) {
                    double v = json_number_value(g), y = lmap(fmax(v, 0), 0, ymax, y0, y1);
                    pecs_sb_addf(b, "<rect x=\"%zu\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"><title>",
                                 gx + l * bw, y, bw - 2, y0 - y, PALETTE[l % N_PALETTE]);
                    h(b, enc);
                    pecs_sb_adds(b, ", ");
                    h(b, lab);
                    pecs_sb_addf(b, ": %.4g GB/s</title></rect>", v);
                }
                l++;
            }
            pecs_sb_addf(b, "<text x=\"%d\" y=\"%d\" transform=\"rotate(40 %d %d)\">", gx, y0 + 14, gx, y0 + 14);
            h(b, enc);
            pecs_sb_adds(b, "</text>\n");
            e++;
        }
        pecs_sb_addf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", x0, y0, w - 20, y0);
        size_t l = 0;
        json_object_foreach(labs, lab, x)
        {
            int y = y0 + 100 + 14 * (int)l;
            pecs_sb_addf(b, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
                         x0, y, PALETTE[l % N_PALETTE], x0 + 14, y + 9);
            h(b, lab);
            pecs_sb_adds(b, "</text>\n");
            l++;
        }
        pecs_sb_adds(b, "</svg>\n");
    }
done:
    json_decref(best);
    json_decref(labs);
}

/* ---- every case ------------------------------------------------------------------------------------- */

/* One row per case string (first appearance order), one column per backend label: the verdict, coloured,
 * its reason in the title; the row's short label carries the full case string in its title. */
static void case_matrix(pecs_sb *b, json_t *const *roots, size_t n, json_t *labels)
{
    json_t *rows = json_object(), *cols = json_object(), *short_labels = pecs_report_short_labels(roots, n), *c, *row, *x;
    const char *cs, *lab;
    size_t i;
    for (size_t f = 0; f < n; f++) {
        json_array_foreach(json_object_get(roots[f], "cases"), i, c)
        {
            json_object_set_new(cols, label_of(labels, f, c), json_true());
            json_object_set(child(rows, str_or(c, "case", "")), label_of(labels, f, c), c);
        }
    }
    pecs_sb_adds(b, "<h2 id=\"cases\">Every case</h2>\n<p class=\"note\">One row per case, labelled by the encoding, "
                    "its dtype and the words where it departs from the most common value among its encoding's "
                    "cases (hover for the full case string, the reproducer's <code>--case</code>); one column per "
                    "backend (hover a verdict for its reason).</p>\n"
                    "<table class=\"mx\">\n<tr><th>case</th>");
    json_object_foreach(cols, lab, x)
    {
        pecs_sb_adds(b, "<th>");
        h(b, lab);
        pecs_sb_adds(b, "</th>");
    }
    pecs_sb_adds(b, "</tr>\n");
    json_object_foreach(rows, cs, row)
    {
        pecs_sb_adds(b, "<tr><td class=\"enc\" title=\"");
        h(b, cs);
        pecs_sb_adds(b, "\"><code>");
        h(b, str_or(short_labels, cs, cs));
        pecs_sb_adds(b, "</code></td>");
        json_object_foreach(cols, lab, x)
        {
            json_t *r = json_object_get(row, lab);
            if (!r) {
                pecs_sb_adds(b, "<td class=\"v-none\">&#8211;</td>");
                continue;
            }
            pecs_verdict v = pecs_verdict_from_name(str_or(r, "status", "?"));
            cell_class cc = pecs_verdict_fails(v) ? C_FAIL : v == PECS_V_PASSED ? C_PASS : C_SKIP;
            pecs_sb_addf(b, "<td class=\"%s\" title=\"", CELL_CSS[cc]);
            h(b, str_or(r, "reason", ""));
            pecs_sb_adds(b, "\">");
            h(b, str_or(r, "status", "?"));
            pecs_sb_adds(b, "</td>");
        }
        pecs_sb_adds(b, "</tr>\n");
    }
    pecs_sb_adds(b, "</table>\n");
    json_decref(rows);
    json_decref(cols);
    json_decref(short_labels);
}

/* ---- the page ---------------------------------------------------------------------------------------- */

void pecs_report_html(pecs_sb *b, const char *const *paths, json_t *const *roots, size_t n)
{
    json_t *labels = backend_labels(roots, n);
    pecs_sb_addf(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
                    "<title>pecs results</title>\n<style>%s</style>\n</head>\n<body>\n<h1>pecs results</h1>\n"
                    "<p class=\"note\">Generated by <code>pecs report --format html</code> from %zu results "
                    "file(s), the source of truth: regenerate this page from them, do not edit it by hand. "
                    "<a href=\"#matrix\">matrix</a> &#183; <a href=\"#invariance\">invariance</a> &#183; "
                    "<a href=\"#roofline\">roofline</a> &#183; <a href=\"#throughput\">throughput</a> &#183; <a href=\"#cases\">every case</a></p>\n"
                    "<h2 id=\"runs\">Runs</h2>\n", CSS, n);
    for (size_t f = 0; f < n; f++)
        metadata(b, f, paths[f], roots[f]);
    matrix(b, roots, n, labels);
    invariance(b, roots, n, labels);
    roofline(b, roots, n, labels);
    throughput(b, roots, n, labels);
    case_matrix(b, roots, n, labels);
    pecs_sb_adds(b, "</body>\n</html>\n");
    json_decref(labels);
}
