/* harness/diff.c */
#include "diff.h"
#include "results.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "verdict.h"

static json_t *load(const char *path, char *why, size_t why_len)
{
    json_error_t err;
    json_t *root = pecs_json_load(path, &err);
    if (!root) {
        snprintf(why, why_len, "%s:%d:%d: not a results file: %s", path, err.line, err.column, err.text);
        return NULL;
    }
    const char *schema = json_string_value(json_object_get(root, "schema"));
    if (!schema || strcmp(schema, "pecs-results") || !json_is_array(json_object_get(root, "cases"))) {
        snprintf(why, why_len, "%s: not a pecs results file (schema '%s')", path, schema ? schema : "none");
        json_decref(root);
        return NULL;
    }
    return root;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_t *find(json_t *cases, const char *backend, const char *case_str)
{
    json_t *c;
    size_t i;
    json_array_foreach(cases, i, c)
    {
        if (!strcmp(str(c, "case"), case_str) && !strcmp(str(c, "backend"), backend))
            return c;
    }
    return NULL;
}

static int fails(const char *status)
{
    pecs_verdict v = pecs_verdict_from_name(status);
    return v == PECS_V_COUNT || pecs_verdict_fails(v);
}

/* A verdict that got worse: a PASSED that is anything else in B (SKIPPED and ERROR lose coverage as surely
 * as FAILED does), or a case that did not fail in A and fails in B. */
static int status_regressed(const char *sa, const char *sb)
{
    return (!strcmp(sa, "PASSED") && strcmp(sb, "PASSED")) || (!fails(sa) && fails(sb));
}

/* perf.<key> as a positive number, or 0. */
static double perf_num(json_t *perf, const char *key)
{
    double v = json_number_value(json_object_get(perf, key));
    return v > 0 ? v : 0;
}

/* ---- metadata: the per-field policy (diff.h) ----------------------------------------------------------- */

/* The value at a dotted path as text: a string as it is, other JSON compact, "(absent)" when missing. */
static char *field_text(json_t *root, const char *dotted)
{
    json_t *v = pecs_json_at(root, dotted);
    if (!v)
        return pecs_strdup("(absent)");
    if (json_is_string(v))
        return pecs_strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* One line "  <what>: A has <a>, B has <b>" into b when the texts differ; returns 1 if they do. */
static int differ(pecs_sb *b, const char *what, const char *pa, const char *ta, const char *pb, const char *tb)
{
    if (ta && tb && !strcmp(ta, tb))
        return 0;
    pecs_sb_addf(b, "  %s: %s has %s, %s has %s\n", what, pa, ta ? ta : "?", pb, tb ? tb : "?");
    return 1;
}

static int field_differs(pecs_sb *b, json_t *a, json_t *bb, const char *field, const char *pa, const char *pb)
{
    char *ta = field_text(a, field), *tb = field_text(bb, field);
    int d = differ(b, field, pa, ta, pb, tb);
    free(ta);
    free(tb);
    return d;
}

/* The sha256 a results file records for a suite file path (NULL: not there). */
static const char *suite_sha(json_t *root, const char *path)
{
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(root, "suites"), i, f)
    {
        if (!strcmp(str(f, "path"), path))
            return str(f, "sha256");
    }
    return NULL;
}

/* Suite files by path: a different sha256, or a file in one of the two only. */
static int suites_differ(pecs_sb *b, json_t *a, json_t *bb, const char *pa, const char *pb)
{
    int n = 0;
    json_t *f;
    size_t i;
    for (int side = 0; side < 2; side++) {
        json_t *mine = side ? bb : a, *other = side ? a : bb;
        json_array_foreach(json_object_get(mine, "suites"), i, f)
        {
            const char *path = str(f, "path"), *o = suite_sha(other, path);
            if (side && o)
                continue; /* compared from A's side */
            char what[600];
            snprintf(what, sizeof what, "suite %s sha256", path);
            const char *ta = side ? "(absent)" : str(f, "sha256"), *tb = side ? str(f, "sha256") : o ? o : "(absent)";
            n += differ(b, what, pa, ta, pb, tb);
        }
    }
    return n;
}

typedef struct case_key {
    const char *backend, *cs;
    size_t index;
} case_key;

static int cmp_case_key(const void *x, const void *y)
{
    const case_key *a = x, *b = y;
    int c = strcmp(a->backend, b->backend);
    return c ? c : strcmp(a->cs, b->cs);
}

/* A (backend, case) key twice in one file cannot be matched: refused. */
static pecs_status duplicates(json_t *root, const char *path, char *why, size_t why_len)
{
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i, n = json_array_size(cases);
    case_key *k = malloc((n + 1) * sizeof *k);
    pecs_status st = PECS_OK;
    if (!k)
        return PECS_NOMEM;
    json_array_foreach(cases, i, c) k[i] = (case_key){str(c, "backend"), str(c, "case"), i};
    qsort(k, n, sizeof *k, cmp_case_key);
    for (i = 1; i < n && st == PECS_OK; i++)
        if (!cmp_case_key(&k[i - 1], &k[i])) {
            size_t a = k[i - 1].index < k[i].index ? k[i - 1].index : k[i].index;
            size_t b = k[i - 1].index < k[i].index ? k[i].index : k[i - 1].index;
            snprintf(why, why_len, "%s: cases[%zu] and cases[%zu] are both backend '%s', case '%s': a case must appear "
                     "once per backend to be compared (two backends with the same name in one run?)", path, a, b,
                     k[i].backend, k[i].cs);
            st = PECS_INVALID;
        }
    free(k);
    return st;
}

/* Refuse or warn, field by field, before any case is compared. */
static pecs_status check_meta(json_t *a, json_t *b, const char *pa, const char *pb, const pecs_diff_opts *o,
                              pecs_diff_summary *sum, char *why, size_t why_len)
{
    static const char *const warned[] = {"pecs.version",
                                         "pecs.git_commit",
                                         "machine.cpu_model",
                                         "tolerances.sha256",
                                         "threads",
                                         "thread_binding.OMP_PROC_BIND",
                                         "thread_binding.OMP_PLACES",
                                         "thread_binding.OMP_NUM_THREADS"};
    pecs_sb lines = {0};
    pecs_status st = PECS_OK;
    json_t *va = json_object_get(a, "schema_version"), *vb = json_object_get(b, "schema_version");
    if (!json_is_integer(va) || !json_is_integer(vb) || json_integer_value(va) != json_integer_value(vb)) {
        field_differs(&lines, a, b, "schema_version", pa, pb);
        snprintf(why, why_len, "cannot compare results of different schemas (schema_version must be the same "
                 "integer in both):\n%s", pecs_sb_str(&lines));
        st = PECS_INVALID;
        goto cleanup;
    }
    if ((st = duplicates(a, pa, why, why_len)) != PECS_OK || (st = duplicates(b, pb, why, why_len)) != PECS_OK)
        goto cleanup;
    for (size_t i = 0; i < sizeof warned / sizeof *warned; i++)
        sum->warnings += field_differs(&lines, a, b, warned[i], pa, pb);
    sum->warnings += suites_differ(&lines, a, b, pa, pb);
    if (lines.oom) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    if (sum->warnings && o->strict) {
        snprintf(why, why_len, "refusing to compare (--strict): %d field%s of the two runs differ:\n%s", sum->warnings,
                 sum->warnings > 1 ? "s" : "", pecs_sb_str(&lines));
        st = PECS_INVALID;
        goto cleanup;
    }
    for (const char *p = pecs_sb_str(&lines); *p && o->warn;) {
        size_t l = strcspn(p, "\n");
        fprintf(o->warn, "warning: the runs differ in %.*s\n", (int)(l - 2), p + 2);
        p += l + (p[l] == '\n');
    }
cleanup:
    pecs_sb_free(&lines);
    return st;
}

typedef struct enc_row {
    char enc[48];
    double log_sum;
    int n;
} enc_row;

pecs_status pecs_diff_results(const char *path_a, const char *path_b, const pecs_diff_opts *o, pecs_diff_summary *sum,
                              char *why, size_t why_len)
{
    memset(sum, 0, sizeof *sum);
    json_t *a = load(path_a, why, why_len), *b = a ? load(path_b, why, why_len) : NULL;
    pecs_status st = PECS_OK;
    enc_row *rows = NULL;
    int nr = 0;
    FILE *out = o->out;
    double threshold = o->threshold;
    if (!a || !b) {
        st = PECS_PARSE;
        goto cleanup;
    }
    if ((st = check_meta(a, b, path_a, path_b, o, sum, why, why_len)) != PECS_OK)
        goto cleanup;
    json_t *ca = json_object_get(a, "cases"), *cb = json_object_get(b, "cases"), *c;
    size_t i;
    rows = calloc(json_array_size(ca) + 1, sizeof *rows);
    if (!rows) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    fprintf(out, "%-8s %-9s %-12s %-12s %s\n", "verdict", "ratio", "A median", "B median", "backend / case");
    json_array_foreach(ca, i, c)
    {
        json_t *d = find(cb, str(c, "backend"), str(c, "case"));
        if (!d) {
            sum->only_a++; /* coverage lost: a regression */
            fprintf(out, "%-8s %-9s %-12s %-12s %s %s (%s in A, not in B)\n", "MISSING", "-", "-", "-", str(c, "backend"),
                    str(c, "case"), str(c, "status"));
            continue;
        }
        sum->matched++;
        const char *sa = str(c, "status"), *sb = str(d, "status");
        if (status_regressed(sa, sb)) {
            sum->status_regressions++;
            fprintf(out, "%-8s %-9s %-12s %-12s %s %s (%s -> %s)\n", "BROKEN", "-", "-", "-", str(c, "backend"),
                    str(c, "case"), sa, sb);
        }
        json_t *pa = json_object_get(c, "perf"), *pb = json_object_get(d, "perf");
        double ma = json_number_value(json_object_get(pa, "median_s")), mb = json_number_value(json_object_get(pb, "median_s"));
        if (!pa || !pb || !(ma > 0) || !(mb > 0))
            continue;
        sum->timed++;
        double ratio = ma / mb;
        int noisy = json_is_true(json_object_get(pa, "noisy")) || json_is_true(json_object_get(pb, "noisy"));
        /* Separated distributions: B's fast tail slower than A's slow tail by more than the threshold is a
         * slowdown however noisy either side is (shared runners are never quiet). */
        double a90 = perf_num(pa, "p90_s"), b10 = perf_num(pb, "p10_s");
        int apart = a90 > 0 && b10 > a90 * (1.0 + threshold);
        const char *verdict = "ok";
        if (apart) {
            verdict = "SLOWER";
            sum->regressions++;
        } else if (ratio < 1.0 / (1.0 + threshold)) {
            if (noisy) {
                verdict = "noisy";
                sum->noisy++;
            } else {
                verdict = "SLOWER";
                sum->regressions++;
            }
        } else if (ratio > 1.0 + threshold) {
            verdict = "faster";
        }
        if (strcmp(verdict, "ok"))
            fprintf(out, "%-8s %-9.3f %-12.3g %-12.3g %s %s\n", verdict, ratio, ma, mb, str(c, "backend"), str(c, "case"));
        const char *cs = str(c, "case");
        char enc[48];
        snprintf(enc, sizeof enc, "%s/%.*s", str(c, "backend"), (int)strcspn(cs, " "), cs);
        int k = 0;
        while (k < nr && strcmp(rows[k].enc, enc))
            k++;
        if (k == nr)
            memcpy(rows[nr++].enc, enc, sizeof enc);
        rows[k].log_sum += log(ratio);
        rows[k].n++;
    }
    json_array_foreach(cb, i, c)
    {
        if (!find(ca, str(c, "backend"), str(c, "case"))) {
            sum->only_b++; /* listed, not a regression */
            fprintf(out, "%-8s %-9s %-12s %-12s %s %s (%s in B, not in A)\n", "NEW", "-", "-", "-", str(c, "backend"),
                    str(c, "case"), str(c, "status"));
        }
    }
    fprintf(out, "\n%-32s %6s %s\n", "backend/encoding", "cases", "geomean ratio (A/B time; > 1: B faster)");
    for (int k = 0; k < nr; k++)
        fprintf(out, "%-32s %6d %.3f\n", rows[k].enc, rows[k].n, exp(rows[k].log_sum / rows[k].n));
    fprintf(out, "\n%d matched (%d timed in both), %d only in A, %d only in B; %d slower beyond %.0f%%, %d noisy, "
                 "%d verdict(s) worse\n",
            sum->matched, sum->timed, sum->only_a, sum->only_b, sum->regressions, threshold * 100.0, sum->noisy,
            sum->status_regressions);
    int total = sum->regressions + sum->status_regressions + sum->only_a;
    if (total)
        fprintf(out, "%d regression(s): %d slower, %d verdict(s) worse, %d case(s) missing from B\n", total,
                sum->regressions, sum->status_regressions, sum->only_a);
    else
        fprintf(out, "no regression\n");
cleanup:
    free(rows);
    json_decref(a);
    json_decref(b);
    return st;
}
