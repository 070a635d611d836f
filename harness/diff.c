/* harness/diff.c */
#include "diff.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

static json_t *load(const char *path, char *why, size_t why_len)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
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

typedef struct enc_row {
    char enc[48];
    double log_sum;
    int n;
} enc_row;

pecs_status pecs_diff_results(const char *path_a, const char *path_b, double threshold, FILE *out, pecs_diff_summary *sum,
                              char *why, size_t why_len)
{
    memset(sum, 0, sizeof *sum);
    json_t *a = load(path_a, why, why_len), *b = a ? load(path_b, why, why_len) : NULL;
    pecs_status st = PECS_OK;
    enc_row *rows = NULL;
    int nr = 0;
    if (!a || !b) {
        st = PECS_PARSE;
        goto cleanup;
    }
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
            sum->only_a++;
            continue;
        }
        sum->matched++;
        const char *sa = str(c, "status"), *sb = str(d, "status");
        if (!fails(sa) && fails(sb)) {
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
        const char *verdict = "ok";
        if (ratio < 1.0 / (1.0 + threshold)) {
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
        if (!find(ca, str(c, "backend"), str(c, "case")))
            sum->only_b++;
    }
    fprintf(out, "\n%-32s %6s %s\n", "backend/encoding", "cases", "geomean ratio (A/B time; > 1: B faster)");
    for (int k = 0; k < nr; k++)
        fprintf(out, "%-32s %6d %.3f\n", rows[k].enc, rows[k].n, exp(rows[k].log_sum / rows[k].n));
    fprintf(out, "\n%d matched (%d timed in both), %d only in A, %d only in B; %d slower beyond %.0f%%, %d noisy, "
                 "%d newly failing\n",
            sum->matched, sum->timed, sum->only_a, sum->only_b, sum->regressions, threshold * 100.0, sum->noisy,
            sum->status_regressions);
cleanup:
    free(rows);
    json_decref(a);
    json_decref(b);
    return st;
}
