/* harness/suite.c — loading, validation and expansion of suite files. */
#include "suite.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "registry.h"
#include "tolerance.h"
#include "util.h"
#include "yamlx.h"

#define MAX_DOCS 64
#define MAX_NAMED 512
#define MAX_DEPTH 16
#define MAX_AXES 64
#define MAX_CASES 200000

enum { LEVEL_DEFAULTS = 0, LEVEL_PRESET = 1, LEVEL_SETS = 2, LEVEL_TOLERANCES = 3, LEVEL_CASE = 4 };

typedef struct named {
    const char *name;
    pecs_yaml *y;
    yaml_node_t *node, *key;
} named;

typedef struct axis_val {
    char *text;
    yaml_node_t *node;
} axis_val;

typedef struct axis {
    const char *key;
    int level;
    pecs_yaml *y;
    axis_val *vals;
    int n;
} axis;

typedef struct loader {
    pecs_suite *s;
    pecs_yaml *docs[MAX_DOCS];
    int n_docs;
    named shapes[MAX_NAMED], sets[MAX_NAMED], models[MAX_NAMED];
    int n_shapes, n_sets, n_models;
    char *stack[MAX_DEPTH];
    int depth;
    char *real[MAX_DOCS];     /* resolved path of every loaded file: the identity for "already loaded" */
    char **table; /* dedupe: open addressing over s->cases strings */
    size_t table_cap;
    char *why;
    size_t why_len;
    pecs_tolerances *tols; /* NULL: tolerances are not checked while loading */
} loader;

static const char *const MAIN_KEYS[] = {"suite", "description", "include", "shapes", "sets", "models",
                                        "defaults", "tolerances", "cases", NULL};
static const char *const INCLUDE_KEYS[] = {"description", "include", "shapes", "sets", "models", NULL};

/* ---- helpers ---------------------------------------------------------------------------------------- */

static int is_list_param(const char *key)
{
    for (int e = 0; e < PECS_ENC_COUNT; e++) {
        const pecs_param_schema *p = pecs_registry_param(pecs_registry_get((pecs_enc)e), key);
        if (p)
            return p->type == PECS_PARAM_REAL_LIST;
    }
    return 0;
}

static int is_special(const char *key)
{
    return !strcmp(key, "encoding") || !strcmp(key, "shape") || !strcmp(key, "use") || !strcmp(key, "model");
}

/* allow_special: 1 = encoding/shape/use/model (case entries), 2 = encoding only (model presets). */
static pecs_status check_knob_key(loader *L, pecs_yaml *y, yaml_node_t *kn, int allow_special)
{
    const char *k = pecs_yaml_str(kn);
    if (k && (pecs_case_is_known_key(k) || (allow_special == 1 && is_special(k)) ||
              (allow_special == 2 && !strcmp(k, "encoding"))))
        return PECS_OK;
    /* suggest from generic knobs and parameter names */
    const char *best = NULL;
    int bestd = 3, n;
    const pecs_knob_doc *docs = pecs_case_knobs(&n);
    for (int i = 0; k && i < n; i++) {
        int d = pecs_edit_distance(k, docs[i].name);
        if (d < bestd)
            bestd = d, best = docs[i].name;
    }
    static const char *const specials[] = {"encoding", "shape", "use", "model"};
    for (int i = 0; k && allow_special && i < 4; i++) {
        int d = pecs_edit_distance(k, specials[i]);
        if (d < bestd)
            bestd = d, best = specials[i];
    }
    for (int e = 0; k && e < PECS_ENC_COUNT; e++) {
        const pecs_encoding_info *info = pecs_registry_get((pecs_enc)e);
        for (int i = 0; i < info->n_params; i++) {
            int d = pecs_edit_distance(k, info->params[i].name);
            if (d < bestd)
                bestd = d, best = info->params[i].name;
        }
    }
    return pecs_yaml_error(y, kn, L->why, L->why_len, "unknown key '%s'%s%s%s", k ? k : "?", best ? " (did you mean '" : "",
                           best ? best : "", best ? "'?)" : "");
}

/* Join the scalars of a sequence with ','. */
static char *join_seq(pecs_yaml *y, yaml_node_t *seq, yaml_node_t **bad)
{
    pecs_sb b = {0};
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *n = pecs_yaml_node(y, *it);
        if (!pecs_yaml_str(n)) {
            *bad = n;
            pecs_sb_free(&b);
            return NULL;
        }
        pecs_sb_addf(&b, "%s%s", it == seq->data.sequence.items.start ? "" : ",", pecs_yaml_str(n));
    }
    return pecs_sb_take(&b);
}

static void axis_free(axis *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->vals[i].text);
    free(a->vals);
    memset(a, 0, sizeof *a);
}

/* The values of one knob: a scalar (one value) or a list (an axis of values). For list-typed
 * parameters (freq_factors...) a list of scalars is ONE value and a list of lists is an axis. */
static pecs_status axis_make(loader *L, pecs_yaml *y, const char *key, yaml_node_t *v, int level, axis *a)
{
    memset(a, 0, sizeof *a);
    a->key = key;
    a->level = level;
    a->y = y;
    if (v->type == YAML_MAPPING_NODE)
        return pecs_yaml_error(y, v, L->why, L->why_len, "key '%s': expected a value or a list of values, found a mapping", key);
    int n = 1, whole = 1; /* whole: the node itself is the single value */
    if (v->type == YAML_SEQUENCE_NODE) {
        n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
        yaml_node_t *first = n ? pecs_yaml_node(y, v->data.sequence.items.start[0]) : NULL;
        whole = is_list_param(key) && (!first || first->type == YAML_SCALAR_NODE);
        for (int i = 0; whole && i < n; i++) { /* ["3,1", "2,2"] would silently become the one list 3,1,2,2 */
            yaml_node_t *it = pecs_yaml_node(y, v->data.sequence.items.start[i]);
            const char *t = pecs_yaml_str(it);
            if (t && strchr(t, ','))
                return pecs_yaml_error(y, it, L->why, L->why_len, "key '%s': a list of numbers is one value, and "
                                       "element '%s' is itself a list; an axis of lists is a list of lists "
                                       "([[3, 1], [2, 2]])", key, t);
        }
        if (whole)
            n = 1;
        else if (n == 0)
            return pecs_yaml_error(y, v, L->why, L->why_len, "key '%s': empty list (no cases)", key);
    }
    a->vals = calloc((size_t)n, sizeof *a->vals);
    if (!a->vals)
        return PECS_NOMEM;
    a->n = n;
    for (int i = 0; i < n; i++) {
        yaml_node_t *item = whole ? v : pecs_yaml_node(y, v->data.sequence.items.start[i]), *bad = NULL;
        a->vals[i].node = item;
        if (item->type == YAML_SCALAR_NODE)
            a->vals[i].text = pecs_strdup(pecs_yaml_str(item));
        else if (item->type == YAML_SEQUENCE_NODE && is_list_param(key))
            a->vals[i].text = join_seq(y, item, &bad);
        else
            bad = item;
        if (bad) {
            pecs_status st = pecs_yaml_error(y, bad, L->why, L->why_len, "key '%s': expected a value, found %s", key,
                                             pecs_yaml_kind(bad));
            axis_free(a);
            return st;
        }
        if (!a->vals[i].text) {
            axis_free(a);
            return PECS_NOMEM;
        }
    }
    return PECS_OK;
}

/* ---- loading ---------------------------------------------------------------------------------------- */

static pecs_status add_named(loader *L, named *arr, int *count, pecs_yaml *y, yaml_node_t *map, const char *what,
                             int values_may_be_lists)
{
    if (!map)
        return PECS_OK;
    if (map->type != YAML_MAPPING_NODE)
        return pecs_yaml_error(y, map, L->why, L->why_len, "'%s' must be a mapping of names, found %s", what, pecs_yaml_kind(map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = pecs_yaml_node(y, p->key), *vn = pecs_yaml_node(y, p->value);
        const char *name = pecs_yaml_str(kn);
        if (!name)
            return pecs_yaml_error(y, kn, L->why, L->why_len, "%s names must be scalars", what);
        for (int i = 0; i < *count; i++)
            if (!strcmp(arr[i].name, name)) {
                char where[512];
                pecs_yaml_where(arr[i].y, arr[i].key, where, sizeof where);
                return pecs_yaml_error(y, kn, L->why, L->why_len, "%s '%s' is already defined at %s", what, name, where);
            }
        if (*count == MAX_NAMED)
            return pecs_yaml_error(y, kn, L->why, L->why_len, "more than %d %s", MAX_NAMED, what);
        if (vn->type != YAML_MAPPING_NODE)
            return pecs_yaml_error(y, vn, L->why, L->why_len, "%s '%s' must be a mapping of keys, found %s", what, name,
                                   pecs_yaml_kind(vn));
        for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
            yaml_node_t *qk = pecs_yaml_node(y, q->key), *qv = pecs_yaml_node(y, q->value);
            pecs_status st = check_knob_key(L, y, qk, !strcmp(what, "model") ? 2 : 0);
            if (st != PECS_OK)
                return st;
            if (!values_may_be_lists && qv->type != YAML_SCALAR_NODE && !is_list_param(pecs_yaml_str(qk)))
                return pecs_yaml_error(y, qv, L->why, L->why_len, "%s '%s': key '%s' must have one value, found %s",
                                       what, name, pecs_yaml_str(qk), pecs_yaml_kind(qv));
        }
        arr[*count] = (named){name, y, vn, kn};
        (*count)++;
    }
    return PECS_OK;
}

static char *dir_join(const char *base_file, const char *rel)
{
    pecs_sb b = {0};
    const char *slash = strrchr(base_file, '/');
    if (rel[0] != '/' && slash)
        pecs_sb_addf(&b, "%.*s/", (int)(slash - base_file), base_file);
    pecs_sb_adds(&b, rel);
    return pecs_sb_take(&b);
}

static pecs_status load_file(loader *L, const char *path, int is_main, pecs_yaml *from, yaml_node_t *from_node);

static pecs_status load_includes(loader *L, pecs_yaml *y, yaml_node_t *inc)
{
    if (!inc)
        return PECS_OK;
    int n = inc->type == YAML_SEQUENCE_NODE ? (int)(inc->data.sequence.items.top - inc->data.sequence.items.start) : 1;
    for (int i = 0; i < n; i++) {
        yaml_node_t *item = inc->type == YAML_SEQUENCE_NODE ? pecs_yaml_node(y, inc->data.sequence.items.start[i]) : inc;
        const char *rel = pecs_yaml_str(item);
        if (!rel)
            return pecs_yaml_error(y, item, L->why, L->why_len, "'include' takes file names, found %s", pecs_yaml_kind(item));
        char *p = dir_join(y->path, rel);
        if (!p)
            return PECS_NOMEM;
        pecs_status st = load_file(L, p, 0, y, item);
        free(p);
        if (st != PECS_OK)
            return st;
    }
    return PECS_OK;
}

static pecs_status load_file(loader *L, const char *path, int is_main, pecs_yaml *from, yaml_node_t *from_node)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        if (from)
            return pecs_yaml_error(from, from_node, L->why, L->why_len, "include '%s': cannot open %s: %s",
                                   pecs_yaml_str(from_node), path, strerror(errno));
        snprintf(L->why, L->why_len, "%s: cannot open: %s", path, strerror(errno));
        return PECS_IO;
    }
    for (int i = 0; i < L->depth; i++)
        if (!strcmp(L->stack[i], real))
            return pecs_yaml_error(from, from_node, L->why, L->why_len, "include cycle: '%s' includes itself", pecs_yaml_str(from_node));
    for (int i = 0; i < L->n_docs; i++)
        if (!strcmp(L->real[i], real))
            return PECS_OK; /* already loaded through another include (or another spelling of it) */
    if (L->n_docs == MAX_DOCS || L->depth == MAX_DEPTH)
        return pecs_yaml_error(from, from_node, L->why, L->why_len, "too many or too deeply nested includes");
    pecs_yaml *y = calloc(1, sizeof *y);
    if (!y)
        return PECS_NOMEM;
    pecs_status st = pecs_yaml_load(y, path, L->why, L->why_len);
    if (st != PECS_OK) {
        free(y);
        return st;
    }
    L->real[L->n_docs] = pecs_strdup(real);
    L->docs[L->n_docs++] = y;
    if (!L->real[L->n_docs - 1])
        return PECS_NOMEM;
    pecs_suite_file *f = realloc(L->s->files, (size_t)(L->s->n_files + 1) * sizeof *f);
    if (!f)
        return PECS_NOMEM;
    L->s->files = f;
    f[L->s->n_files].path = pecs_strdup(path);
    if (!f[L->s->n_files].path)
        return PECS_NOMEM;
    L->s->n_files++;
    if ((st = pecs_sha256_file(path, f[L->s->n_files - 1].sha256, L->why, L->why_len)) != PECS_OK)
        return st;
    yaml_node_t *root = pecs_yaml_root(y);
    if ((st = pecs_yaml_check_keys(y, root, is_main ? MAIN_KEYS : INCLUDE_KEYS, L->why, L->why_len)) != PECS_OK)
        return st;
    L->stack[L->depth] = real;
    L->depth++;
    st = load_includes(L, y, pecs_yaml_get(y, root, "include"));
    L->depth--;
    if (st != PECS_OK)
        return st;
    if ((st = add_named(L, L->shapes, &L->n_shapes, y, pecs_yaml_get(y, root, "shapes"), "shape", 0)) != PECS_OK ||
        (st = add_named(L, L->models, &L->n_models, y, pecs_yaml_get(y, root, "models"), "model", 0)) != PECS_OK)
        return st;
    return add_named(L, L->sets, &L->n_sets, y, pecs_yaml_get(y, root, "sets"), "set", 1);
}

/* ---- expansion -------------------------------------------------------------------------------------- */

static uint64_t fnv(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    while (*s)
        h = (h ^ (unsigned char)*s++) * UINT64_C(1099511628211);
    return h;
}

/* Append a case string unless it is already there. Takes ownership of str. */
static pecs_status add_case(loader *L, char *str)
{
    pecs_suite *s = L->s;
    if ((size_t)(s->n_cases + 1) * 2 > L->table_cap) {
        size_t cap = L->table_cap ? L->table_cap * 2 : 1024;
        char **t = calloc(cap, sizeof *t);
        if (!t) {
            free(str);
            return PECS_NOMEM;
        }
        for (size_t i = 0; i < L->table_cap; i++)
            if (L->table[i]) {
                size_t j = fnv(L->table[i]) & (cap - 1);
                while (t[j])
                    j = (j + 1) & (cap - 1);
                t[j] = L->table[i];
            }
        free(L->table);
        L->table = t;
        L->table_cap = cap;
    }
    size_t j = fnv(str) & (L->table_cap - 1);
    for (; L->table[j]; j = (j + 1) & (L->table_cap - 1))
        if (!strcmp(L->table[j], str)) {
            free(str);
            return PECS_OK;
        }
    if (s->n_cases == MAX_CASES) {
        snprintf(L->why, L->why_len, "%s: expands to more than %d cases", s->path, MAX_CASES);
        free(str);
        return PECS_LIMIT;
    }
    if ((s->n_cases & (s->n_cases - 1)) == 0) { /* grow at powers of two */
        char **c = realloc(s->cases, (size_t)(s->n_cases ? s->n_cases * 2 : 1) * sizeof *c);
        if (!c) {
            free(str);
            return PECS_NOMEM;
        }
        s->cases = c;
    }
    s->cases[s->n_cases++] = str;
    L->table[j] = str;
    return PECS_OK;
}

/* Add an axis, replacing a same-key axis of lower or equal level (so more specific sources win). */
static pecs_status axes_put(loader *L, axis *axes, int *n, axis *a, pecs_yaml *y, yaml_node_t *kn)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(axes[i].key, a->key)) {
            if (axes[i].level <= a->level) {
                axis_free(&axes[i]);
                axes[i] = *a;
            } else {
                axis_free(a);
            }
            return PECS_OK;
        }
    if (*n == MAX_AXES) {
        axis_free(a);
        return pecs_yaml_error(y, kn, L->why, L->why_len, "more than %d keys in one case", MAX_AXES);
    }
    axes[(*n)++] = *a;
    return PECS_OK;
}

static pecs_status axes_from_map(loader *L, axis *axes, int *n, pecs_yaml *y, yaml_node_t *map, int level)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = pecs_yaml_node(y, p->key);
        const char *key = pecs_yaml_str(kn);
        if (!key || !strcmp(key, "use"))
            continue;
        axis a;
        pecs_status st = axis_make(L, y, key, pecs_yaml_node(y, p->value), level, &a);
        if (st == PECS_OK)
            st = axes_put(L, axes, n, &a, y, kn);
        if (st != PECS_OK)
            return st;
    }
    return PECS_OK;
}

/* Apply one knob. Keys from shared sources that the encoding lacks are not applied. */
static pecs_status apply(loader *L, pecs_case *c, pecs_yaml *y, const char *key, const char *text, yaml_node_t *node,
                         int level)
{
    if (level != LEVEL_CASE && pecs_registry_is_param_name(key) && !pecs_registry_param(c->enc, key))
        return PECS_OK;
    char msg[768];
    pecs_status st = pecs_case_set(c, key, text, msg, sizeof msg);
    if (st != PECS_OK)
        return pecs_yaml_error(y, node, L->why, L->why_len, "%s", msg);
    return PECS_OK;
}

static const named *find_named(const named *arr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(arr[i].name, name))
            return &arr[i];
    return NULL;
}

static pecs_status apply_tolerances(loader *L, pecs_case *c, pecs_yaml *y, yaml_node_t *tols, const axis *axes, int n)
{
    yaml_node_t *row = pecs_yaml_get(y, pecs_yaml_get(y, tols, c->enc->id), pecs_dtype_name(c->dtype));
    if (!row)
        return PECS_OK;
    for (yaml_node_pair_t *p = row->data.mapping.pairs.start; p < row->data.mapping.pairs.top; p++) {
        char key[64];
        snprintf(key, sizeof key, "tol_%s", pecs_yaml_str(pecs_yaml_node(y, p->key)));
        int overridden = 0;
        for (int i = 0; i < n; i++)
            overridden |= axes[i].level == LEVEL_CASE && !strcmp(axes[i].key, key);
        if (overridden)
            continue;
        yaml_node_t *v = pecs_yaml_node(y, p->value);
        pecs_status st = apply(L, c, y, key, pecs_yaml_str(v) ? pecs_yaml_str(v) : "", v, LEVEL_TOLERANCES);
        if (st != PECS_OK)
            return st;
    }
    return PECS_OK;
}

static pecs_status validate_tolerances(loader *L, pecs_yaml *y, yaml_node_t *tols)
{
    static const char *const dtypes[] = {"f64", "f32", "f16", "bf16", NULL};
    if (tols->type != YAML_MAPPING_NODE)
        return pecs_yaml_error(y, tols, L->why, L->why_len, "'tolerances' must map encodings to dtypes to metrics");
    for (yaml_node_pair_t *p = tols->data.mapping.pairs.start; p < tols->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = pecs_yaml_node(y, p->key), *dmap = pecs_yaml_node(y, p->value);
        const char *id = pecs_yaml_str(kn);
        char nowhy[1024] = "a mapping key must be an encoding id";
        if (!id || !pecs_registry_resolve(id, nowhy, sizeof nowhy))
            return pecs_yaml_error(y, kn, L->why, L->why_len, "tolerances: %s", nowhy);
        pecs_status st = pecs_yaml_check_keys(y, dmap, dtypes, L->why, L->why_len);
        for (yaml_node_pair_t *q = st == PECS_OK ? dmap->data.mapping.pairs.start : NULL; q && q < dmap->data.mapping.pairs.top; q++) {
            yaml_node_t *m = pecs_yaml_node(y, q->value);
            if (m->type != YAML_MAPPING_NODE)
                return pecs_yaml_error(y, m, L->why, L->why_len, "tolerances: expected {metric: number}");
            for (yaml_node_pair_t *r = m->data.mapping.pairs.start; r < m->data.mapping.pairs.top; r++) {
                char key[64];
                snprintf(key, sizeof key, "tol_%s", pecs_yaml_str(pecs_yaml_node(y, r->key)) ? pecs_yaml_str(pecs_yaml_node(y, r->key)) : "?");
                if (!pecs_case_is_known_key(key))
                    return pecs_yaml_error(y, pecs_yaml_node(y, r->key), L->why, L->why_len,
                                           "tolerances: unknown metric '%s'", key + 4);
                yaml_node_t *vn = pecs_yaml_node(y, r->value);
                double x;
                if (!pecs_parse_f64(pecs_yaml_str(vn), &x) || x < 0)
                    return pecs_yaml_error(y, vn, L->why, L->why_len, "tolerances: key '%s': value '%s' must be a finite number >= 0",
                                           key + 4, pecs_yaml_str(vn) ? pecs_yaml_str(vn) : pecs_yaml_kind(vn));
            }
        }
        if (st != PECS_OK)
            return st;
    }
    return PECS_OK;
}

/* Apply every key of a shape or model preset (a model's `encoding` was used to pick the encoding). */
static pecs_status apply_preset(loader *L, pecs_case *c, const named *pr)
{
    pecs_status st = PECS_OK;
    for (yaml_node_pair_t *p = pr->node->data.mapping.pairs.start; p < pr->node->data.mapping.pairs.top && st == PECS_OK; p++) {
        const char *key = pecs_yaml_str(pecs_yaml_node(pr->y, p->key));
        yaml_node_t *vn = pecs_yaml_node(pr->y, p->value), *bad = NULL;
        if (!strcmp(key, "encoding"))
            continue;
        char *text = vn->type == YAML_SEQUENCE_NODE ? join_seq(pr->y, vn, &bad) : pecs_strdup(pecs_yaml_str(vn));
        if (!text)
            return bad ? pecs_yaml_error(pr->y, bad, L->why, L->why_len, "expected a value") : PECS_NOMEM;
        st = apply(L, c, pr->y, key, text, vn, LEVEL_PRESET);
        free(text);
    }
    return st;
}

static pecs_status expand_entry(loader *L, pecs_yaml *y, yaml_node_t *entry, yaml_node_t *defaults, yaml_node_t *tols)
{
    axis axes[MAX_AXES];
    int n = 0;
    pecs_status st = PECS_OK;
    pecs_case c;
    int have_case = 0;
    if (entry->type != YAML_MAPPING_NODE)
        return pecs_yaml_error(y, entry, L->why, L->why_len, "a case must be a mapping of keys, found %s", pecs_yaml_kind(entry));
    for (yaml_node_pair_t *p = entry->data.mapping.pairs.start; p < entry->data.mapping.pairs.top; p++)
        if ((st = check_knob_key(L, y, pecs_yaml_node(y, p->key), 1)) != PECS_OK)
            return st;
    if (defaults && (st = axes_from_map(L, axes, &n, L->docs[0], defaults, LEVEL_DEFAULTS)) != PECS_OK)
        goto cleanup;
    yaml_node_t *use = pecs_yaml_get(y, entry, "use");
    if (use) {
        int nu = use->type == YAML_SEQUENCE_NODE ? (int)(use->data.sequence.items.top - use->data.sequence.items.start) : 1;
        for (int i = 0; i < nu; i++) {
            yaml_node_t *u = use->type == YAML_SEQUENCE_NODE ? pecs_yaml_node(y, use->data.sequence.items.start[i]) : use;
            const named *set = pecs_yaml_str(u) ? find_named(L->sets, L->n_sets, pecs_yaml_str(u)) : NULL;
            if (!set) {
                st = pecs_yaml_error(y, u, L->why, L->why_len, "key 'use': no set '%s'",
                                     pecs_yaml_str(u) ? pecs_yaml_str(u) : pecs_yaml_kind(u));
                goto cleanup;
            }
            if ((st = axes_from_map(L, axes, &n, set->y, set->node, LEVEL_SETS)) != PECS_OK)
                goto cleanup;
        }
    }
    if ((st = axes_from_map(L, axes, &n, y, entry, LEVEL_CASE)) != PECS_OK)
        goto cleanup;
    int enc_axis = -1, shape_axis = -1, model_axis = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(axes[i].key, "encoding"))
            enc_axis = i;
        if (!strcmp(axes[i].key, "shape"))
            shape_axis = i;
        if (!strcmp(axes[i].key, "model"))
            model_axis = i;
    }
    if (enc_axis < 0 && model_axis < 0) {
        st = pecs_yaml_error(y, entry, L->why, L->why_len, "case has no 'encoding' or 'model' (here or in defaults)");
        goto cleanup;
    }
    int idx[MAX_AXES] = {0};
    for (;;) {
        const named *model = NULL;
        if (model_axis >= 0) {
            axis_val *mv = &axes[model_axis].vals[idx[model_axis]];
            if (!(model = find_named(L->models, L->n_models, mv->text))) {
                st = pecs_yaml_error(axes[model_axis].y, mv->node, L->why, L->why_len,
                                     "key 'model': no model '%s' (models come from an included file such as "
                                     "configs/models.yaml)", mv->text);
                goto cleanup;
            }
        }
        /* The case's encoding, else the model's own. */
        axis_val mev = {0};
        axis_val *ev = enc_axis >= 0 ? &axes[enc_axis].vals[idx[enc_axis]] : &mev;
        pecs_yaml *ey = enc_axis >= 0 ? axes[enc_axis].y : model->y;
        if (enc_axis < 0) {
            mev.node = pecs_yaml_get(model->y, model->node, "encoding");
            mev.text = (char *)pecs_yaml_str(mev.node);
            if (!mev.text) {
                st = pecs_yaml_error(model->y, model->key, L->why, L->why_len, "model '%s' has no 'encoding' and the "
                                     "case names none", model->name);
                goto cleanup;
            }
        }
        char nowhy[1024];
        const pecs_encoding_info *e = pecs_registry_resolve(ev->text, nowhy, sizeof nowhy);
        if (!e) {
            st = pecs_yaml_error(ey, ev->node, L->why, L->why_len, "key 'encoding': %s", nowhy);
            goto cleanup;
        }
        if ((st = pecs_case_init(&c, e)) != PECS_OK)
            goto cleanup;
        have_case = 1;
        for (int level = LEVEL_DEFAULTS; level <= LEVEL_CASE && st == PECS_OK; level++) {
            if (level == LEVEL_PRESET && model)
                st = apply_preset(L, &c, model);
            if (level == LEVEL_PRESET && shape_axis >= 0 && st == PECS_OK) {
                axis_val *sv = &axes[shape_axis].vals[idx[shape_axis]];
                const named *sh = find_named(L->shapes, L->n_shapes, sv->text);
                if (!sh) {
                    st = pecs_yaml_error(axes[shape_axis].y, sv->node, L->why, L->why_len, "key 'shape': no shape '%s'", sv->text);
                    break;
                }
                st = apply_preset(L, &c, sh);
            }
            for (int i = 0; i < n && st == PECS_OK; i++) {
                if (axes[i].level != level || i == enc_axis || i == shape_axis || i == model_axis)
                    continue;
                st = apply(L, &c, axes[i].y, axes[i].key, axes[i].vals[idx[i]].text, axes[i].vals[idx[i]].node, level);
            }
        }
        /* Suite tolerances last, once the dtype is final; the case entry's own tol_* keys still win. */
        if (st == PECS_OK && tols)
            st = apply_tolerances(L, &c, L->docs[0], tols, axes, n);
        if (st != PECS_OK)
            goto cleanup;
        char msg[768];
        if ((st = pecs_case_validate(&c, msg, sizeof msg)) == PECS_LIMIT) {
            st = PECS_OK; /* over a resource limit: kept, and reported as ERROR with the size when run */
        } else if (st != PECS_OK) {
            char *s = pecs_case_format(&c);
            st = pecs_yaml_error(y, entry, L->why, L->why_len, "case '%s': %s", s ? s : e->id, msg);
            free(s);
            goto cleanup;
        }
        if (L->tols) {
            pecs_tol tol;
            if (pecs_tol_resolve(L->tols, &c, &tol, msg, sizeof msg) != PECS_OK) {
                pecs_yaml *py = y;
                yaml_node_t *pn = entry;
                for (int i = 0; i < n; i++)
                    if (!strcmp(axes[i].key, "level") || !strcmp(axes[i].key, "profile"))
                        py = axes[i].y, pn = axes[i].vals[idx[i]].node;
                st = pecs_yaml_error(py, pn, L->why, L->why_len, "%s", msg);
                goto cleanup;
            }
        }
        char *str = pecs_case_format(&c);
        pecs_case_free(&c);
        have_case = 0;
        if (!str) {
            st = PECS_NOMEM;
            goto cleanup;
        }
        /* Every case string must parse back to itself: it is the case's reproducer. */
        pecs_case back;
        char *again = NULL;
        pecs_status bs = pecs_case_parse(&back, str, msg, sizeof msg);
        if (bs == PECS_OK || bs == PECS_LIMIT) {
            again = pecs_case_format(&back);
            pecs_case_free(&back);
        }
        if (!again || strcmp(again, str) != 0) {
            st = pecs_yaml_error(y, entry, L->why, L->why_len, "internal error: case '%s' does not round-trip (got '%s')",
                                 str, again ? again : msg);
            free(again);
            free(str);
            goto cleanup;
        }
        free(again);
        if ((st = add_case(L, str)) != PECS_OK)
            goto cleanup;
        int i = n - 1; /* next combination: last axis fastest */
        for (; i >= 0; i--) {
            if (++idx[i] < axes[i].n)
                break;
            idx[i] = 0;
        }
        if (i < 0)
            break;
    }
cleanup:
    if (have_case)
        pecs_case_free(&c);
    for (int i = 0; i < n; i++)
        axis_free(&axes[i]);
    return st;
}

pecs_status pecs_suite_load(pecs_suite *s, const char *path, char *why, size_t why_len)
{
    return pecs_suite_load_checked(s, path, NULL, why, why_len);
}

/* A file whose top-level keys are all ones an included file may hold, and that has shapes, sets or models. */
static int root_is_library(pecs_yaml *y, yaml_node_t *root)
{
    int content = 0;
    if (!root || root->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const char *k = pecs_yaml_str(pecs_yaml_node(y, p->key));
        int known = 0;
        for (int i = 0; k && INCLUDE_KEYS[i]; i++)
            known |= !strcmp(k, INCLUDE_KEYS[i]);
        if (!known)
            return 0;
        content |= strcmp(k, "description") && strcmp(k, "include");
    }
    return content;
}

pecs_status pecs_suite_load_checked(pecs_suite *s, const char *path, pecs_tolerances *profiles, char *why,
                                    size_t why_len)
{
    memset(s, 0, sizeof *s);
    loader L = {.s = s, .why = why, .why_len = why_len, .tols = profiles};
    pecs_status st = PECS_OK;
    s->path = pecs_strdup(path);
    if (!s->path) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    if ((st = load_file(&L, path, 1, NULL, NULL)) != PECS_OK)
        goto cleanup;
    pecs_yaml *y = L.docs[0];
    yaml_node_t *root = pecs_yaml_root(y), *name = pecs_yaml_get(y, root, "suite");
    s->name = pecs_strdup(pecs_yaml_str(name) ? pecs_yaml_str(name) : path);
    yaml_node_t *defaults = pecs_yaml_get(y, root, "defaults"), *tols = pecs_yaml_get(y, root, "tolerances");
    yaml_node_t *cases = pecs_yaml_get(y, root, "cases");
    if (defaults) {
        if (defaults->type != YAML_MAPPING_NODE) {
            st = pecs_yaml_error(y, defaults, why, why_len, "'defaults' must be a mapping of keys");
            goto cleanup;
        }
        for (yaml_node_pair_t *p = defaults->data.mapping.pairs.start; p < defaults->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = pecs_yaml_node(y, p->key);
            if (pecs_yaml_str(kn) && !strcmp(pecs_yaml_str(kn), "use")) {
                st = pecs_yaml_error(y, kn, why, why_len, "key 'use' belongs in a case entry, not in 'defaults'");
                goto cleanup;
            }
            if ((st = check_knob_key(&L, y, kn, 1)) != PECS_OK)
                goto cleanup;
        }
    }
    if (tols && (st = validate_tolerances(&L, y, tols)) != PECS_OK)
        goto cleanup;
    if (!cases && !name && root_is_library(y, root)) {
        s->library = 1; /* every key is one an include may hold: a library such as suites/shapes.yaml */
        goto cleanup;
    }
    if (!cases || cases->type != YAML_SEQUENCE_NODE || cases->data.sequence.items.start == cases->data.sequence.items.top) {
        st = pecs_yaml_error(y, cases ? cases : root, why, why_len, "a suite needs a non-empty 'cases' list");
        goto cleanup;
    }
    for (yaml_node_item_t *it = cases->data.sequence.items.start; it < cases->data.sequence.items.top; it++)
        if ((st = expand_entry(&L, y, pecs_yaml_node(y, *it), defaults, tols)) != PECS_OK)
            goto cleanup;
cleanup:
    for (int i = 0; i < L.n_docs; i++) {
        pecs_yaml_free(L.docs[i]);
        free(L.docs[i]);
        free(L.real[i]);
    }
    free(L.table);
    if (st != PECS_OK)
        pecs_suite_free(s);
    return st;
}

void pecs_suite_free(pecs_suite *s)
{
    for (int i = 0; i < s->n_cases; i++)
        free(s->cases[i]);
    for (int i = 0; i < s->n_files; i++)
        free(s->files[i].path);
    free(s->cases);
    free(s->files);
    free(s->name);
    free(s->path);
    memset(s, 0, sizeof *s);
}
