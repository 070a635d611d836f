/* harness/registry.c — tables generated from include/pecs/encodings.def. */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const pecs_param_schema g_params[] = {
#define PECS_ENCODING(...)
#define PECS_PARAM(sym, name, type, dflt, lo, hi, choices, doc) \
    {PECS_ENC_##sym, #name, PECS_PARAM_##type, dflt, (double)(lo), (double)(hi), choices, doc},
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
};

static pecs_encoding_info g_encodings[] = {
#define PECS_ENCODING(sym, id, form, inv, tier, rows, weights, reads, flops, summary, source) \
    {PECS_ENC_##sym, #sym, id, PECS_FORM_##form, PECS_INV_##inv, tier, rows, weights, reads, flops, summary, source, NULL, 0},
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
};

static const pecs_param_domain g_domains[] = {
#define PECS_ENCODING(...)
#define PECS_PARAM(...)
#define PECS_DOMAIN(sym, name, min, interior, max, why) {PECS_ENC_##sym, #name, min, interior, max, why},
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
#undef PECS_DOMAIN
    {PECS_ENC_COUNT, NULL, NULL, NULL, NULL, NULL} /* so the table is never empty */
};

static const struct {
    pecs_enc enc;
    const char *why;
} g_real_positions[] = {
#define PECS_ENCODING(...)
#define PECS_PARAM(...)
#define PECS_REAL_POSITIONS(sym, why) {PECS_ENC_##sym, why},
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
#undef PECS_REAL_POSITIONS
    {PECS_ENC_COUNT, NULL} /* so the table is never empty */
};

const char *pecs_registry_real_positions(const pecs_encoding_info *e)
{
    for (int i = 0; e && g_real_positions[i].why; i++)
        if (g_real_positions[i].enc == e->enc)
            return g_real_positions[i].why;
    return NULL;
}

static const pecs_catalogued g_catalogued[] = {
#define PECS_ENCODING(...)
#define PECS_PARAM(...)
#define PECS_CATALOGUED(id, form, inv, tier, status, summary, record) \
    {id, PECS_FORM_##form, inv, tier, PECS_CAT_##status, summary, record},
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
#undef PECS_CATALOGUED
    {NULL, PECS_FORM_COUNT_, NULL, 0, PECS_CAT_UNDEFINED, NULL, NULL} /* so the table is never empty */
};

int pecs_registry_n_catalogued(void)
{
    return (int)(sizeof g_catalogued / sizeof g_catalogued[0]) - 1;
}

const pecs_catalogued *pecs_registry_catalogued(int i)
{
    return i >= 0 && i < pecs_registry_n_catalogued() ? &g_catalogued[i] : NULL;
}

const pecs_catalogued *pecs_registry_find_catalogued(const char *id)
{
    for (int i = 0; g_catalogued[i].id; i++)
        if (strcmp(g_catalogued[i].id, id) == 0)
            return &g_catalogued[i];
    return NULL;
}

const char *pecs_cat_status_name(pecs_cat_status s)
{
    static const char *const names[] = {"undefined", "defined", "unchecked"};
    return (unsigned)s <= PECS_CAT_UNCHECKED ? names[s] : "?";
}

const pecs_encoding_info *pecs_registry_resolve(const char *id, char *why, size_t why_len)
{
    const pecs_encoding_info *e = pecs_registry_find(id);
    const pecs_catalogued *c = e ? NULL : pecs_registry_find_catalogued(id);
    static const char *const what[] = {"catalogued but undefined", "catalogued and defined but not implemented",
                                       "catalogued but not implemented (its sources are not checked yet)"};
    if (c) {
        snprintf(why, why_len, "'%s' is %s: %s (see: pecs describe %s)", id, what[c->status], c->record, id);
    } else if (!e) {
        const char *sug = pecs_registry_suggest(id);
        snprintf(why, why_len, "unknown encoding '%s'%s%s%s", id, sug ? " (did you mean '" : "", sug ? sug : "",
                 sug ? "'?)" : "");
    }
    return e;
}

const pecs_param_domain *pecs_registry_domain(const pecs_encoding_info *e, const char *name)
{
    for (size_t i = 0; g_domains[i].name; i++)
        if (g_domains[i].enc == e->enc && strcmp(g_domains[i].name, name) == 0)
            return &g_domains[i];
    return NULL;
}

/* Bind each encoding to its slice of g_params (rows are grouped after their encoding in the .def). */
static void registry_bind(void)
{
    static int bound;
    if (bound)
        return;
    size_t np = sizeof g_params / sizeof g_params[0];
    for (size_t i = 0; i < np; i++) {
        pecs_encoding_info *e = &g_encodings[g_params[i].enc];
        if (!e->params)
            e->params = &g_params[i];
        e->n_params++;
    }
    bound = 1;
}

const pecs_encoding_info *pecs_registry_get(pecs_enc e)
{
    registry_bind();
    return (unsigned)e < PECS_ENC_COUNT ? &g_encodings[e] : NULL;
}

const pecs_encoding_info *pecs_registry_find(const char *id)
{
    registry_bind();
    for (int i = 0; i < PECS_ENC_COUNT; i++)
        if (strcmp(g_encodings[i].id, id) == 0)
            return &g_encodings[i];
    return NULL;
}

int pecs_edit_distance(const char *a, const char *b)
{
    enum { MAXL = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= MAXL || lb >= MAXL)
        return MAXL;
    int row[MAXL + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *pecs_registry_suggest(const char *id)
{
    registry_bind();
    const char *best = NULL;
    int bestd = 3; /* only suggest near misses */
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        int d = pecs_edit_distance(id, g_encodings[i].id);
        if (d < bestd) {
            bestd = d;
            best = g_encodings[i].id;
        }
    }
    return best;
}

const pecs_param_schema *pecs_registry_param(const pecs_encoding_info *e, const char *name)
{
    for (int i = 0; i < e->n_params; i++)
        if (strcmp(e->params[i].name, name) == 0)
            return &e->params[i];
    return NULL;
}

int pecs_registry_is_param_name(const char *name)
{
    for (size_t i = 0; i < sizeof g_params / sizeof g_params[0]; i++)
        if (strcmp(g_params[i].name, name) == 0)
            return 1;
    return 0;
}

/* One factor of a weights term: H, D, L (the call's query count; -1 when the caller has none), an INT parameter
 * name, a REAL_LIST parameter name (its number of entries) or a non-negative integer; -1 when unknown. */
static int64_t weights_factor(const char *t, size_t nl, const pecs_param *params, int n_params, int64_t H, int64_t D,
                              int64_t L)
{
    int64_t v = -1;
    if (nl == 1 && t[0] == 'H')
        v = H;
    else if (nl == 1 && t[0] == 'D')
        v = D;
    else if (nl == 1 && t[0] == 'L')
        return L;
    else if (nl > 0 && t[0] >= '0' && t[0] <= '9')
        v = strtoll(t, NULL, 10);
    for (int i = 0; v < 0 && i < n_params; i++) /* a list parameter counts its entries */
        if (strlen(params[i].name) == nl && strncmp(params[i].name, t, nl) == 0)
            v = params[i].type == PECS_PARAM_REAL_LIST ? params[i].n : params[i].i;
    return v;
}

/* One term of a weights spec: a sum of products and exact quotients of factors ("H+2", "features+D+1",
 * "H*D": Transformer-XL's per-head projection has H*D rows; "D/2": sigma-GPT's half-width table); -1 when a
 * name is unknown or a quotient is not exact (the encoding's reference rejects such a shape). */
static int64_t weights_term(const char *t, size_t len, const pecs_param *params, int n_params, int64_t H, int64_t D,
                            int64_t L)
{
    int64_t sum = 0, prod = 1;
    char op = '*';
    const char *end = t + len;
    while (t < end) {
        size_t nl = strcspn(t, "+*/");
        if (t + nl > end)
            nl = (size_t)(end - t);
        int64_t v = weights_factor(t, nl, params, n_params, H, D, L);
        if (v < 0 || (op == '/' && (v == 0 || prod % v != 0)))
            return -1;
        prod = op == '/' ? prod / v : prod * v;
        op = t + nl < end ? t[nl] : '+';
        if (op == '+') {
            sum += prod;
            prod = 1;
            op = '*';
        }
        t += nl + (t + nl < end ? 1 : 0);
    }
    return sum;
}

int pecs_registry_weights_shape_l(const pecs_encoding_info *e, const pecs_param *params, int n_params, int64_t H,
                                  int64_t D, int64_t L, int64_t shape[2])
{
    const char *w = e->weights, *comma = strchr(w, ',');
    if (!w[0] || !comma)
        return 0;
    shape[0] = weights_term(w, (size_t)(comma - w), params, n_params, H, D, L);
    shape[1] = weights_term(comma + 1, strlen(comma + 1), params, n_params, H, D, L);
    return shape[0] > 0 && shape[1] > 0;
}

int pecs_registry_weights_shape(const pecs_encoding_info *e, const pecs_param *params, int n_params, int64_t H,
                                int64_t D, int64_t shape[2])
{
    return pecs_registry_weights_shape_l(e, params, n_params, H, D, -1, shape);
}

const char *pecs_form_name(pecs_form f)
{
    static const char *const names[] = {"rotate", "bias", "embed", "posmap", "mask", "scores", "kattn"};
    return (unsigned)f < PECS_FORM_COUNT_ ? names[f] : "?";
}

const char *pecs_invariance_name(pecs_invariance v)
{
    static const char *const names[] = {"exact", "fixed-L", "no", "n/a"};
    return (unsigned)v <= PECS_INV_NA ? names[v] : "?";
}

const char *pecs_param_type_name(pecs_param_type t)
{
    static const char *const names[] = {"int", "real", "bool", "choice", "real list"};
    return (unsigned)t <= PECS_PARAM_REAL_LIST ? names[t] : "?";
}
