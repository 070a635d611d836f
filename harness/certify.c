/* harness/certify.c — certification profiles, claims, the evaluation of a results file and the Markdown
 * certificate (contracts in certify.h). */
#define _GNU_SOURCE /* getrandom */
#include "certify.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "case.h"
#include "registry.h"
#include "util.h"
#include "verdict.h"
#include "yamlx.h"

#define MAX_PROBLEMS 40 /* listed one by one; the rest are counted */

static const char *const DTYPES[] = {"f32", "f16", "bf16", "f64"};

static int known_dtype(const char *s)
{
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (!strcmp(s, DTYPES[i]))
            return 1;
    return 0;
}

/* A sequence of scalars into fixed slots, each checked by `ok` (NULL: any); errors located at the item. */
static pecs_status str_list(pecs_yaml *y, yaml_node_t *seq, const char *key, char *dst, size_t width, int max, int *n,
                            int (*ok)(const char *), const char *what, char *why, size_t why_len)
{
    *n = 0;
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return pecs_yaml_error(y, seq, why, why_len, "key '%s': expected a list of %s", key, what);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *v = pecs_yaml_node(y, *it);
        const char *s = pecs_yaml_str(v);
        if (!s || !*s || strlen(s) >= width || (ok && !ok(s)))
            return pecs_yaml_error(y, v, why, why_len, "key '%s': value '%s' is not %s", key, s ? s : "(not a scalar)", what);
        if (*n == max)
            return pecs_yaml_error(y, v, why, why_len, "key '%s': more than %d entries", key, max);
        snprintf(dst + (size_t)(*n)++ * width, width, "%s", s);
    }
    if (!*n)
        return pecs_yaml_error(y, seq, why, why_len, "key '%s': empty list", key);
    return PECS_OK;
}

static int registered(const char *s) { return pecs_registry_find(s) != NULL; }
static int ident(const char *s) { return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-.") == strlen(s); }

static pecs_status scalar_into(pecs_yaml *y, yaml_node_t *map, const char *key, char *dst, size_t n, int required,
                               char *why, size_t why_len)
{
    yaml_node_t *v = pecs_yaml_get(y, map, key);
    const char *s = pecs_yaml_str(v);
    if (!v && !required)
        return PECS_OK;
    if (!s || strlen(s) >= n)
        return pecs_yaml_error(y, v ? v : map, why, why_len, "key '%s': %s", key,
                               !v ? "missing" : !s ? "expected a scalar" : "too long");
    snprintf(dst, n, "%s", s);
    return PECS_OK;
}

pecs_status pecs_cert_profile_load(pecs_cert_profile *p, const char *path, char *why, size_t why_len)
{
    static const char *const top_keys[] = {"profile", "version", "description", "suites", "levels",
                                           "throughput_min_time", "families", NULL};
    static const char *const fam_keys[] = {"what", "encodings", "dtypes", NULL};
    pecs_yaml y;
    memset(p, 0, sizeof *p);
    pecs_status st = pecs_yaml_load(&y, path, why, why_len);
    if (st != PECS_OK)
        return st;
    yaml_node_t *root = pecs_yaml_root(&y), *v;
    char num[32] = "";
    if (!root || root->type != YAML_MAPPING_NODE) {
        st = pecs_yaml_error(&y, root, why, why_len, "a certification profile is a mapping (profile, version, suites, ...)");
        goto cleanup;
    }
    if ((st = pecs_yaml_check_keys(&y, root, top_keys, why, why_len)) != PECS_OK ||
        (st = scalar_into(&y, root, "profile", p->name, sizeof p->name, 1, why, why_len)) != PECS_OK ||
        (st = scalar_into(&y, root, "description", p->description, sizeof p->description, 0, why, why_len)) != PECS_OK ||
        (st = scalar_into(&y, root, "version", num, sizeof num, 1, why, why_len)) != PECS_OK)
        goto cleanup;
    double d;
    if (!ident(p->name) || !pecs_parse_f64(num, &d) || d != floor(d) || d < 1 || d > 1000000) {
        st = pecs_yaml_error(&y, root, why, why_len, "%s", !ident(p->name) ? "key 'profile': a name of [a-z0-9_.-]"
                                                                           : "key 'version': an integer >= 1");
        goto cleanup;
    }
    p->version = (int)d;
    if ((st = str_list(&y, pecs_yaml_get(&y, root, "suites"), "suites", p->suites[0], sizeof p->suites[0],
                       PECS_CERT_MAX_SUITES, &p->n_suites, ident, "a suite name", why, why_len)) != PECS_OK ||
        (st = str_list(&y, pecs_yaml_get(&y, root, "levels"), "levels", p->levels[0], sizeof p->levels[0],
                       PECS_CERT_MAX_LEVELS, &p->n_levels, ident, "a level name", why, why_len)) != PECS_OK)
        goto cleanup;
    if ((v = pecs_yaml_get(&y, root, "throughput_min_time"))) {
        if (!pecs_yaml_str(v) || !pecs_parse_f64(pecs_yaml_str(v), &p->throughput_min_time) ||
            !(p->throughput_min_time >= 0 && p->throughput_min_time <= 10)) {
            st = pecs_yaml_error(&y, v, why, why_len, "key 'throughput_min_time': seconds in [0, 10]");
            goto cleanup;
        }
    }
    yaml_node_t *fams = pecs_yaml_get(&y, root, "families");
    if (!fams || fams->type != YAML_MAPPING_NODE || fams->data.mapping.pairs.start == fams->data.mapping.pairs.top) {
        st = pecs_yaml_error(&y, fams ? fams : root, why, why_len, "key 'families': a mapping of family name to encodings");
        goto cleanup;
    }
    for (yaml_node_pair_t *pr = fams->data.mapping.pairs.start; pr < fams->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = pecs_yaml_node(&y, pr->key), *f = pecs_yaml_node(&y, pr->value);
        const char *name = pecs_yaml_str(k);
        if (p->n_families == PECS_CERT_MAX_FAMILIES || !name || !ident(name) || strlen(name) >= 32 || registered(name)) {
            st = pecs_yaml_error(&y, k, why, why_len, "family '%s': %s", name ? name : "?",
                                 name && registered(name) ? "a family may not take an encoding's name"
                                                          : "a name of [a-z0-9_.-], at most 31 characters");
            goto cleanup;
        }
        pecs_cert_family *fa = &p->families[p->n_families++];
        snprintf(fa->name, sizeof fa->name, "%s", name);
        if (!f || f->type != YAML_MAPPING_NODE) {
            st = pecs_yaml_error(&y, f, why, why_len, "family '%s': a mapping (what, encodings, dtypes)", name);
            goto cleanup;
        }
        if ((st = pecs_yaml_check_keys(&y, f, fam_keys, why, why_len)) != PECS_OK ||
            (st = scalar_into(&y, f, "what", fa->what, sizeof fa->what, 0, why, why_len)) != PECS_OK ||
            (st = str_list(&y, pecs_yaml_get(&y, f, "encodings"), "encodings", fa->encodings[0], sizeof fa->encodings[0],
                           64, &fa->n_encodings, registered, "a registered encoding", why, why_len)) != PECS_OK ||
            (st = str_list(&y, pecs_yaml_get(&y, f, "dtypes"), "dtypes", fa->dtypes[0], sizeof fa->dtypes[0], 4,
                           &fa->n_dtypes, known_dtype, "a dtype (f32, f16, bf16, f64)", why, why_len)) != PECS_OK)
            goto cleanup;
        for (int e = 0; e < fa->n_encodings; e++) /* an encoding belongs to one family: a claim names it once */
            for (int g = 0; g < p->n_families; g++)
                for (int h = 0; h < p->families[g].n_encodings; h++)
                    if ((g < p->n_families - 1 || h < e) && !strcmp(p->families[g].encodings[h], fa->encodings[e])) {
                        st = pecs_yaml_error(&y, f, why, why_len, "family '%s': encoding '%s' is already in family '%s'",
                                             name, fa->encodings[e], p->families[g].name);
                        goto cleanup;
                    }
    }
cleanup:
    pecs_yaml_free(&y);
    return st;
}

static const pecs_cert_family *family_of(const pecs_cert_profile *p, const char *enc)
{
    for (int g = 0; g < p->n_families; g++)
        for (int e = 0; e < p->families[g].n_encodings; e++)
            if (!strcmp(p->families[g].encodings[e], enc))
                return &p->families[g];
    return NULL;
}

static int fam_has_dtype(const pecs_cert_family *f, const char *dt)
{
    for (int d = 0; d < f->n_dtypes; d++)
        if (!strcmp(f->dtypes[d], dt))
            return 1;
    return 0;
}

static int find_unit(const pecs_cert_claim *c, const char *enc, const char *dt)
{
    for (int u = 0; u < c->n_units; u++)
        if (!strcmp(c->units[u].encoding, enc) && !strcmp(c->units[u].dtype, dt))
            return u;
    return -1;
}

static pecs_status add_unit(pecs_cert_claim *c, const pecs_cert_family *f, const char *enc, const char *dt,
                            const char *word, char *why, size_t why_len)
{
    if (!fam_has_dtype(f, dt)) {
        snprintf(why, why_len, "--claim '%s': family '%s' is certified in %s%s%s%s%s%s%s, not %s", word, f->name,
                 f->dtypes[0], f->n_dtypes > 1 ? ", " : "", f->n_dtypes > 1 ? f->dtypes[1] : "",
                 f->n_dtypes > 2 ? ", " : "", f->n_dtypes > 2 ? f->dtypes[2] : "", f->n_dtypes > 3 ? ", " : "",
                 f->n_dtypes > 3 ? f->dtypes[3] : "", dt);
        return PECS_INVALID;
    }
    if (find_unit(c, enc, dt) >= 0) {
        snprintf(why, why_len, "--claim '%s': %s in %s is claimed twice", word, enc, dt);
        return PECS_INVALID;
    }
    if (c->n_units == PECS_CERT_MAX_UNITS) {
        snprintf(why, why_len, "--claim '%s': more than %d claimed units", word, PECS_CERT_MAX_UNITS);
        return PECS_LIMIT;
    }
    pecs_cert_unit *u = &c->units[c->n_units++];
    snprintf(u->encoding, sizeof u->encoding, "%.*s", (int)sizeof u->encoding - 1, enc);
    snprintf(u->dtype, sizeof u->dtype, "%.*s", (int)sizeof u->dtype - 1, dt);
    snprintf(u->family, sizeof u->family, "%.*s", (int)sizeof u->family - 1, f->name);
    return PECS_OK;
}

pecs_status pecs_cert_claim_parse(const pecs_cert_profile *p, const char *const *words, int n, const char *level,
                                  pecs_cert_claim *c, char *why, size_t why_len)
{
    memset(c, 0, sizeof *c);
    int lv = -1;
    for (int l = 0; l < p->n_levels; l++)
        if (!strcmp(p->levels[l], level))
            lv = l;
    if (lv < 0 || strlen(level) >= sizeof c->level) {
        snprintf(why, why_len, "--level '%s': profile %s offers %s%s%s", level, p->name, p->levels[0],
                 p->n_levels > 1 ? " and " : "", p->n_levels > 1 ? p->levels[1] : "");
        return PECS_INVALID;
    }
    snprintf(c->level, sizeof c->level, "%s", level);
    if (n <= 0) {
        snprintf(why, why_len, "give at least one --claim FAMILY[:DTYPES] or ENCODING[:DTYPES]");
        return PECS_INVALID;
    }
    for (int w = 0; w < n; w++) {
        char word[160], *dts;
        snprintf(word, sizeof word, "%s", words[w]);
        if ((dts = strchr(word, ':')))
            *dts++ = '\0';
        const pecs_cert_family *fam = NULL;
        for (int g = 0; g < p->n_families && !fam; g++)
            if (!strcmp(p->families[g].name, word))
                fam = &p->families[g];
        const pecs_cert_family *enc_fam = fam ? NULL : family_of(p, word);
        if (!fam && !enc_fam) {
            snprintf(why, why_len, "--claim '%s': '%s' is neither a family of profile %s nor one of its encodings",
                     words[w], word, p->name);
            return PECS_INVALID;
        }
        const pecs_cert_family *f = fam ? fam : enc_fam;
        char list[64];
        if (dts && !*dts) {
            snprintf(why, why_len, "--claim '%s': empty dtype list after ':'", words[w]);
            return PECS_INVALID;
        }
        snprintf(list, sizeof list, "%s", dts ? dts : "");
        int n_dt = dts ? 0 : f->n_dtypes;
        char parsed[4][8];
        for (char *save = NULL, *t = dts ? strtok_r(list, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
            if (!known_dtype(t) || n_dt == 4) {
                snprintf(why, why_len, "--claim '%s': '%s' is not a dtype (f32, f16, bf16, f64)", words[w], t);
                return PECS_INVALID;
            }
            snprintf(parsed[n_dt++], sizeof parsed[0], "%s", t);
        }
        for (int d = 0; d < n_dt; d++) {
            const char *dt = dts ? parsed[d] : f->dtypes[d];
            for (int e = 0; e < (fam ? f->n_encodings : 1); e++) {
                pecs_status st = add_unit(c, f, fam ? f->encodings[e] : word, dt, words[w], why, why_len);
                if (st != PECS_OK)
                    return st;
            }
        }
    }
    return PECS_OK;
}

/* The value of ` key=` in a case string, into buf ("" when absent). */
static void case_field(const char *cs, const char *key, char *buf, size_t n)
{
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *s = strstr(cs, pat);
    buf[0] = '\0';
    if (s) {
        s += strlen(pat);
        snprintf(buf, n, "%.*s", (int)strcspn(s, " "), s);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct unit_tally {
    int cases, passed, beyond, skipped, failing, timed;
    long long min_horizon; /* -1: no invariance case */
    double *gbps;
} unit_tally;

static void problem(json_t *list, int *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(json_t *list, int *n, const char *fmt, ...)
{
    if ((*n)++ >= MAX_PROBLEMS)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_string(buf));
}

json_t *pecs_cert_evaluate(const pecs_cert_profile *p, const pecs_cert_claim *c, json_t *results)
{
    json_t *ev = json_object(), *probs = json_array(), *units = json_array();
    unit_tally *t = calloc((size_t)c->n_units + 1, sizeof *t);
    json_t *cases = json_object_get(results, "cases"), *backends = json_object_get(results, "backends"), *cj;
    int n_prob = 0, out_cases = 0, out_passed = 0, out_skipped = 0, out_beyond = 0, out_failing = 0;
    size_t i;
    if (!ev || !probs || !units || !t)
        goto oom;
    for (int u = 0; u < c->n_units; u++) {
        t[u].min_horizon = -1;
        if (!(t[u].gbps = calloc(json_array_size(cases) + 1, sizeof(double))))
            goto oom;
    }
    /* The run itself: one backend, run isolated (a plugin in the pecs-worker process). */
    if (!json_is_array(cases) || !json_is_array(backends))
        problem(probs, &n_prob, "the results have no cases or backends array");
    if (json_array_size(backends) != 1)
        problem(probs, &n_prob, "the run has %zu backends; a certification runs exactly one", json_array_size(backends));
    else if (!json_is_true(json_object_get(json_array_get(backends, 0), "isolated")))
        problem(probs, &n_prob, "the backend was not run isolated (a certification runs the plugin in pecs-worker)");
    for (int s = 0; s < p->n_suites; s++) { /* the profile's suites, every one of them, were loaded */
        json_t *sj;
        size_t k;
        int found = 0;
        json_array_foreach(json_object_get(results, "suites"), k, sj)
        {
            const char *path = json_string_value(json_object_get(sj, "path")), *base = path ? strrchr(path, '/') : NULL;
            base = base ? base + 1 : path;
            found |= base && strlen(base) == strlen(p->suites[s]) + 5 && !strncmp(base, p->suites[s], strlen(p->suites[s])) &&
                     !strcmp(base + strlen(p->suites[s]), ".yaml");
        }
        if (!found)
            problem(probs, &n_prob, "the run did not load the profile's suite '%s'", p->suites[s]);
    }
    json_array_foreach(cases, i, cj)
    {
        const char *cs = json_string_value(json_object_get(cj, "case")),
                   *status = json_string_value(json_object_get(cj, "status")),
                   *reason = json_string_value(json_object_get(cj, "reason"));
        pecs_verdict v = pecs_verdict_from_name(status);
        char enc[64], dt[16], lv[32];
        if (!cs || v == PECS_V_COUNT) {
            problem(probs, &n_prob, "results case %zu has no case string or an unknown status", i);
            continue;
        }
        snprintf(enc, sizeof enc, "%.*s", (int)strcspn(cs, " "), cs);
        case_field(cs, "dtype", dt, sizeof dt);
        case_field(cs, "level", lv, sizeof lv);
        if (strcmp(lv, c->level))
            problem(probs, &n_prob, "judged at level '%s', not the claimed '%s': %s", lv, c->level, cs);
        int u = find_unit(c, enc, dt);
        int fails = pecs_verdict_fails(v);
        if (v == PECS_V_SKIPPED && (!reason || !*reason))
            problem(probs, &n_prob, "SKIPPED without a reason: %s", cs);
        if (u < 0) {
            out_cases++;
            out_passed += v == PECS_V_PASSED;
            out_skipped += v == PECS_V_SKIPPED;
            out_beyond += v == PECS_V_BEYOND_LEVEL;
            out_failing += fails;
            if (fails)
                problem(probs, &n_prob, "%s outside the claim (decline what is not claimed): %s: %s", status, cs,
                        reason ? reason : "");
            continue;
        }
        unit_tally *ut = &t[u];
        ut->cases++;
        ut->passed += v == PECS_V_PASSED;
        ut->beyond += v == PECS_V_BEYOND_LEVEL;
        ut->skipped += v == PECS_V_SKIPPED;
        ut->failing += fails;
        if (v == PECS_V_SKIPPED)
            problem(probs, &n_prob, "claimed case SKIPPED: %s: %s", cs, reason ? reason : "");
        else if (fails)
            problem(probs, &n_prob, "claimed case %s: %s: %s", status, cs, reason ? reason : "");
        json_t *inv = json_object_get(cj, "invariance");
        if (v == PECS_V_PASSED && json_is_integer(json_object_get(inv, "horizon"))) {
            long long h = json_integer_value(json_object_get(inv, "horizon"));
            if (ut->min_horizon < 0 || h < ut->min_horizon)
                ut->min_horizon = h;
        }
        json_t *g = json_object_get(json_object_get(cj, "perf"), "gbytes_per_s");
        if (json_is_number(g))
            ut->gbps[ut->timed++] = json_number_value(g);
    }
    for (int u = 0; u < c->n_units; u++) {
        unit_tally *ut = &t[u];
        const char *status = "conformant";
        if (!ut->cases) {
            status = "not covered";
            problem(probs, &n_prob, "claimed %s in %s: the profile's suites have no case of it", c->units[u].encoding,
                    c->units[u].dtype);
        } else if (ut->skipped || ut->failing) {
            status = "violated";
        } else if (!ut->passed) {
            status = "not judged";
            problem(probs, &n_prob, "claimed %s in %s: no case was judged (all %d beyond the level)",
                    c->units[u].encoding, c->units[u].dtype, ut->cases);
        }
        json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "family", c->units[u].family,
                                "encoding", c->units[u].encoding, "dtype", c->units[u].dtype, "status", status, "cases",
                                ut->cases, "passed", ut->passed, "beyond_level", ut->beyond, "skipped", ut->skipped,
                                "failing", ut->failing);
        if (!row)
            goto oom;
        json_object_set_new(row, "min_horizon", ut->min_horizon >= 0 ? json_integer(ut->min_horizon) : json_null());
        json_t *tp = json_pack("{s:i}", "timed", ut->timed);
        if (tp && ut->timed) {
            qsort(ut->gbps, (size_t)ut->timed, sizeof(double), cmp_double);
            double med = ut->timed % 2 ? ut->gbps[ut->timed / 2]
                                       : 0.5 * (ut->gbps[ut->timed / 2 - 1] + ut->gbps[ut->timed / 2]);
            json_object_set_new(tp, "median_gbytes_per_s", json_real(med));
            json_object_set_new(tp, "best_gbytes_per_s", json_real(ut->gbps[ut->timed - 1]));
        }
        json_object_set_new(row, "throughput", tp);
        json_array_append_new(units, row);
    }
    if (n_prob > MAX_PROBLEMS) {
        char more[64];
        snprintf(more, sizeof more, "... and %d more", n_prob - MAX_PROBLEMS);
        json_array_append_new(probs, json_string(more));
    }
    json_object_set_new(ev, "verdict", json_string(n_prob ? "NOT CONFORMANT" : "CONFORMANT"));
    json_object_set_new(ev, "problems_total", json_integer(n_prob));
    json_object_set_new(ev, "units", units);
    json_object_set_new(ev, "outside_claim", json_pack("{s:i, s:i, s:i, s:i, s:i}", "cases", out_cases, "passed",
                                                       out_passed, "skipped", out_skipped, "beyond_level", out_beyond,
                                                       "failing", out_failing));
    json_object_set_new(ev, "problems", probs);
    units = probs = NULL;
    goto cleanup;
oom:
    json_decref(ev);
    ev = NULL;
cleanup:
    json_decref(units);
    json_decref(probs);
    for (int u = 0; t && u < c->n_units; u++)
        free(t[u].gbps);
    free(t);
    return ev;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "?";
}

/* Markdown table cell text: '|' and newlines would break the table. */
static void md_cell(pecs_sb *b, const char *s)
{
    for (; s && *s; s++)
        pecs_sb_adds(b, *s == '|' ? "\\|" : *s == '\n' ? " " : (char[2]){*s, 0});
}

char *pecs_cert_render_md(json_t *cert)
{
    pecs_sb b = {0};
    json_t *ev = json_object_get(cert, "evaluation"), *claim = json_object_get(cert, "claim"),
           *prof = json_object_get(cert, "profile"), *be = json_object_get(cert, "backend"),
           *env = json_object_get(cert, "environment"), *ch = json_object_get(cert, "challenge"), *v;
    size_t i;
    pecs_sb_addf(&b, "# pecs certificate: %s\n\n", jstr(ev, "verdict"));
    pecs_sb_addf(&b, "**%s** %s (%s), sha256 `%s`, is **%s** to profile %s version %lld at the **%s** level for:\n\n",
                 jstr(be, "name"), jstr(be, "version"), jstr(be, "source"), jstr(be, "sha256"), jstr(ev, "verdict"),
                 jstr(prof, "name"), (long long)json_integer_value(json_object_get(prof, "version")), jstr(claim, "level"));
    json_array_foreach(json_object_get(claim, "words"), i, v) pecs_sb_addf(&b, "- `%s`\n", json_string_value(v));
    pecs_sb_addf(&b, "\nIssued %s by pecs %s (%s). Check it with `pecs verify DIR` (hashes and consistency) and "
                     "`pecs verify DIR --rerun` (runs every case again on the plugin).\n\n",
                 jstr(cert, "issued"), jstr(json_object_get(env, "pecs"), "version"),
                 jstr(json_object_get(env, "pecs"), "git_commit"));
    int fresh = !strncmp(jstr(ch, "source"), "fresh", 5);
    pecs_sb_addf(&b, "## Challenge\n\nEvery case ran on inputs from seed %s (mixed with the case's own seed) with "
                     "positions offset by %lld, %s.\n\n",
                 jstr(ch, "seed"), (long long)json_integer_value(json_object_get(ch, "pos_offset")),
                 fresh ? "drawn from the kernel's random source for this certification"
                       : "given on the command line (a sharded certification shares one): whoever did not choose it "
                         "should check the certificate with `pecs verify --rerun`");
    pecs_sb_adds(&b, "## Claimed units\n\n| family | encoding | dtype | status | cases | passed | beyond level | "
                     "skipped | failing | min horizon | timed | median GB/s | best GB/s |\n"
                     "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    json_array_foreach(json_object_get(ev, "units"), i, v)
    {
        json_t *tp = json_object_get(v, "throughput"), *h = json_object_get(v, "min_horizon");
        pecs_sb_addf(&b, "| %s | %s | %s | %s | %lld | %lld | %lld | %lld | %lld | ", jstr(v, "family"),
                     jstr(v, "encoding"), jstr(v, "dtype"), jstr(v, "status"),
                     (long long)json_integer_value(json_object_get(v, "cases")),
                     (long long)json_integer_value(json_object_get(v, "passed")),
                     (long long)json_integer_value(json_object_get(v, "beyond_level")),
                     (long long)json_integer_value(json_object_get(v, "skipped")),
                     (long long)json_integer_value(json_object_get(v, "failing")));
        if (json_is_integer(h))
            pecs_sb_addf(&b, "%lld | ", (long long)json_integer_value(h));
        else
            pecs_sb_adds(&b, "- | ");
        pecs_sb_addf(&b, "%lld | ", (long long)json_integer_value(json_object_get(tp, "timed")));
        if (json_is_number(json_object_get(tp, "median_gbytes_per_s")))
            pecs_sb_addf(&b, "%.3g | %.3g |\n", json_number_value(json_object_get(tp, "median_gbytes_per_s")),
                         json_number_value(json_object_get(tp, "best_gbytes_per_s")));
        else
            pecs_sb_adds(&b, "- | - |\n");
    }
    json_t *oc = json_object_get(ev, "outside_claim");
    pecs_sb_addf(&b, "\nOutside the claim: %lld cases, %lld passed, %lld skipped, %lld beyond the level, %lld failing.\n",
                 (long long)json_integer_value(json_object_get(oc, "cases")),
                 (long long)json_integer_value(json_object_get(oc, "passed")),
                 (long long)json_integer_value(json_object_get(oc, "skipped")),
                 (long long)json_integer_value(json_object_get(oc, "beyond_level")),
                 (long long)json_integer_value(json_object_get(oc, "failing")));
    pecs_sb_addf(&b, "\n## Problems (%lld)\n\n", (long long)json_integer_value(json_object_get(ev, "problems_total")));
    if (!json_array_size(json_object_get(ev, "problems")))
        pecs_sb_adds(&b, "None.\n");
    json_array_foreach(json_object_get(ev, "problems"), i, v)
    {
        pecs_sb_adds(&b, "- ");
        md_cell(&b, json_string_value(v));
        pecs_sb_adds(&b, "\n");
    }
    json_t *m = json_object_get(env, "machine");
    pecs_sb_adds(&b, "\n## Environment\n\n| what | value |\n|---|---|\n");
    pecs_sb_addf(&b, "| pecs | %s (%s), %s, %s |\n", jstr(json_object_get(env, "pecs"), "version"),
                 jstr(json_object_get(env, "pecs"), "git_commit"), jstr(json_object_get(env, "pecs"), "compiler"),
                 jstr(json_object_get(env, "pecs"), "flags"));
    pecs_sb_addf(&b, "| machine | %s, %lld cores, %s |\n", jstr(m, "cpu_model"),
                 (long long)json_integer_value(json_object_get(m, "cores")), jstr(m, "os"));
    pecs_sb_addf(&b, "| ISA | %s |\n| device | %s |\n", jstr(m, "isa"), jstr(env, "device"));
    pecs_sb_addf(&b, "| backend | %s %s, ISA %s, ABI %s, sandbox %s |\n", jstr(be, "name"), jstr(be, "version"),
                 jstr(be, "isa"), jstr(be, "abi"), jstr(be, "sandbox"));
    pecs_sb_addf(&b, "| profile | %s version %lld, sha256 %s |\n", jstr(prof, "name"),
                 (long long)json_integer_value(json_object_get(prof, "version")), jstr(prof, "sha256"));
    pecs_sb_addf(&b, "| tolerances | %s, sha256 %s |\n", jstr(json_object_get(env, "tolerances"), "path"),
                 jstr(json_object_get(env, "tolerances"), "sha256"));
    json_array_foreach(json_object_get(env, "suites"), i, v)
        pecs_sb_addf(&b, "| suite | %s, sha256 %s |\n", jstr(v, "path"), jstr(v, "sha256"));
    pecs_sb_addf(&b, "\n## Files\n\n");
    const char *k;
    json_object_foreach(json_object_get(cert, "files"), k, v) if (strcmp(k, "certificate.md"))
        pecs_sb_addf(&b, "- `%s` sha256 `%s`\n", k, json_string_value(v));
    return pecs_sb_take(&b);
}

pecs_status pecs_cert_challenge(unsigned long long *seed, long long *pos_offset, char *why, size_t why_len)
{
    unsigned long long r[2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        snprintf(why, why_len, "getrandom failed: no fresh challenge can be drawn");
        return PECS_IO;
    }
    *seed = r[0] >> 1;
    *pos_offset = 1 + (long long)(r[1] % 4096);
    return PECS_OK;
}

static unsigned long long splitmix64(unsigned long long x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

unsigned long long pecs_cert_case_seed(unsigned long long cert_seed, unsigned long long case_seed)
{
    return splitmix64(cert_seed ^ splitmix64(case_seed)) >> 1;
}

void pecs_cert_challenge_case(pecs_case *c, unsigned long long seed, long long pos_offset)
{
    c->seed = pecs_cert_case_seed(seed, c->seed);
    /* Positions move only where nothing but the angles depends on them: rotate-form equivalence cases (an
     * invariance case's horizon is set for its own positions; a relative bias does not change with an offset,
     * and ALiBi's key_index variant grows with it past what f32 logits compared as softmax resolve), and no
     * position-dependent gain (xPos's zeta^(pos/scale_base) carried an f16 case past its range). Both found by
     * certifying the scalar backend at offset 3711. */
    for (int i = 0; i < c->n_params; i++)
        if (c->params[i].name && !strcmp(c->params[i].name, "scale_base"))
            return;
    if (c->values == PECS_VALUES_SPECIAL) /* special values are judged where the output is defined exactly: at the
                                             case's own positions (rope at 0 is the identity) */
        return;
    if (pos_offset < 1 || c->check != PECS_CHECK_EQUIVALENCE || c->enc->form != PECS_FORM_ROTATE ||
        c->enc->invariance != PECS_INV_EXACT || c->pos_arg < 0 ||
        (c->pos_kind != PECS_POS_CONTIG && c->pos_kind != PECS_POS_DECODE && c->pos_kind != PECS_POS_CONST) ||
        c->pos_arg > INT64_MAX - pos_offset)
        return;
    char why[256];
    c->pos_arg += pos_offset;
    if (pecs_case_validate(c, why, sizeof why) != PECS_OK)
        c->pos_arg -= pos_offset; /* e.g. past an int32 position range: the case keeps its own positions */
}

void pecs_cert_challenge_hook(pecs_case *c, void *ctx)
{
    const pecs_cert_challenge_t *ch = ctx;
    pecs_cert_challenge_case(c, ch->seed, ch->pos_offset);
}
