/* harness/coverage.c — pairwise coverage of an encoding's domain, and the greedy generator of missing cases.
 *
 * The domain rule (docs/suite-format.md, "Coverage"):
 *   - generic knobs, their values from case.c's knob table: dtype (each), view (each), pos_dtype (each),
 *     layout (rotate only), out_view (rotate, embed), positions (contig@0, contig@N>0, random, decode, const; grid only where the
 *     encoding has more than one position row);
 *   - shapes: tokens (power of two, other), heads (even, odd; forms with heads), head_dim (power of two,
 *     other; forms with a head dimension), keys (power of two, other; bias, mask, scores), rotary (full,
 *     partial; where the encoding has rotary_dim);
 *   - every other parameter: numeric ones {default, min, max, interior} (equal classes merged), bools both
 *     ways, every choice, lists {default, other}.
 * Representatives (the values a generated case gets): tokens 8 / 7, heads 4 / 3, head_dim 16 / 20, keys
 * 8 / 9, partial rotary_dim = head_dim/2 rounded down to a multiple of 4, positions contig@3000,
 * random@4000, decode@3000, const@17, grid@3; numeric min/default/max are the registry's lo/default/hi and
 * the interior value is twice the default (or half way to lo when that leaves the range; lo + max(1, |lo|)
 * when the default is the minimum; the mid-point when all else leaves the range; rounded down for
 * integers); PECS_DOMAIN rows of encodings.def replace the interior or max value where the registry's
 * bound is a guard rather than a value. A list's "other" is the first of: R/2 values, three integers summing
 * to R/2, one value, one value per head, that pecs_case_validate accepts.
 */
#include "coverage.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "instance.h"
#include "util.h"

/* ---- pairs ------------------------------------------------------------------------------------------------ */

pecs_status pecs_cov_pairs_init(pecs_cov_pairs *p, int n_factors, const int *n_levels)
{
    memset(p, 0, sizeof *p);
    if (n_factors < 0 || n_factors > PECS_COV_MAX_FACTORS)
        return PECS_INVALID;
    p->n_factors = n_factors;
    int k = 0;
    for (int i = 0; i < n_factors; i++) {
        if (n_levels[i] < 1 || n_levels[i] > PECS_COV_MAX_LEVELS)
            return PECS_INVALID;
        p->n_levels[i] = n_levels[i];
    }
    for (int i = 0; i < n_factors; i++)
        for (int j = i + 1; j < n_factors; j++) {
            p->offset[i][j] = k;
            k += n_levels[i] * n_levels[j];
        }
    p->n_pairs = k;
    p->valid = calloc((size_t)k + 1, 1);
    p->covered = calloc((size_t)k + 1, 1);
    if (!p->valid || !p->covered) {
        pecs_cov_pairs_free(p);
        return PECS_NOMEM;
    }
    return PECS_OK;
}

void pecs_cov_pairs_free(pecs_cov_pairs *p)
{
    free(p->valid);
    free(p->covered);
    p->valid = p->covered = NULL;
}

int pecs_cov_pair_index(const pecs_cov_pairs *p, int i, int a, int j, int b)
{
    if (i > j) {
        int t = i; i = j; j = t;
        t = a; a = b; b = t;
    }
    return p->offset[i][j] + a * p->n_levels[j] + b;
}

void pecs_cov_pair_decode(const pecs_cov_pairs *p, int k, int *i, int *a, int *j, int *b)
{
    for (int x = 0; x < p->n_factors; x++)
        for (int y = x + 1; y < p->n_factors; y++) {
            int o = p->offset[x][y], sz = p->n_levels[x] * p->n_levels[y];
            if (k >= o && k < o + sz) {
                *i = x, *j = y, *a = (k - o) / p->n_levels[y], *b = (k - o) % p->n_levels[y];
                return;
            }
        }
    *i = *a = *j = *b = -1;
}

int pecs_cov_mark(const pecs_cov_pairs *p, const int *v, unsigned char *flags)
{
    int fresh = 0;
    for (int i = 0; i < p->n_factors; i++)
        for (int j = i + 1; j < p->n_factors; j++) {
            if (v[i] < 0 || v[j] < 0)
                continue;
            int k = pecs_cov_pair_index(p, i, v[i], j, v[j]);
            fresh += !flags[k];
            flags[k] = 1;
        }
    return fresh;
}

void pecs_cov_count(const pecs_cov_pairs *p, int *valid, int *covered)
{
    *valid = *covered = 0;
    for (int k = 0; k < p->n_pairs; k++) {
        *valid += p->valid[k] || p->covered[k];
        *covered += p->covered[k];
    }
}

/* ---- the domain ----------------------------------------------------------------------------------------- */

static const char *const KIND_KEY[] = {"dtype", "tokens", "heads", "head_dim", "keys", "rotary_dim",
                                       "layout", "view", "positions", "pos_dtype", "out_view", ""};

static pecs_cov_factor *add_factor(pecs_cov_enc *ce, pecs_cov_kind kind, const char *name)
{
    if (ce->n_factors == PECS_COV_MAX_FACTORS)
        return NULL;
    pecs_cov_factor *f = &ce->f[ce->n_factors++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->param = -1;
    f->cls_default = f->cls_min = f->cls_max = f->cls_interior = -1;
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

static void add_level(pecs_cov_factor *f, const char *name, const char *rep)
{
    if (f->n_levels == PECS_COV_MAX_LEVELS)
        return;
    snprintf(f->level[f->n_levels], sizeof f->level[0], "%s", name);
    snprintf(f->rep[f->n_levels], sizeof f->rep[0], "%s", rep);
    f->n_levels++;
}

/* Levels of a generic knob from its documented values "a|b|c" (case.c's knob table). */
static void knob_levels(pecs_cov_factor *f, const char *knob)
{
    int n = 0;
    const pecs_knob_doc *docs = pecs_case_knobs(&n);
    for (int i = 0; i < n; i++) {
        if (strcmp(docs[i].name, knob) != 0)
            continue;
        /* the default first, so level 0 is the default's */
        add_level(f, docs[i].dflt, docs[i].dflt);
        const char *q = docs[i].values;
        while (*q) {
            size_t l = strcspn(q, "|");
            char v[48];
            snprintf(v, sizeof v, "%.*s", (int)(l < sizeof v ? l : sizeof v - 1), q);
            if (strcmp(v, docs[i].dflt) != 0)
                add_level(f, v, v);
            q += l + (q[l] == '|');
        }
    }
}

static double param_default(const pecs_param_schema *s)
{
    double d = 0;
    if (s->type == PECS_PARAM_BOOL)
        return strcmp(s->dflt, "true") == 0;
    pecs_parse_f64(s->dflt, &d);
    return d;
}

/* The interior representative of a numeric parameter (the rule in the header comment). */
static double interior_rule(const pecs_param_schema *s, double d)
{
    double lo = s->lo, hi = s->hi, x;
    if (d > lo && d < hi)
        x = d * 2 < hi && d * 2 > lo ? d * 2 : (lo + d) / 2;
    else if (d <= lo)
        x = lo + (fabs(lo) > 1 ? fabs(lo) : 1);
    else
        x = d / 2;
    if (!(x > lo && x < hi))
        x = lo + (hi - lo) / 2;
    if (s->type == PECS_PARAM_INT)
        x = floor(x);
    return x;
}

static void fmt_num(const pecs_param_schema *s, double x, char *buf, size_t n)
{
    if (s->type == PECS_PARAM_INT)
        snprintf(buf, n, "%lld", (long long)x);
    else
        pecs_fmt_real(x, buf, n);
}

static void param_factor(pecs_cov_enc *ce, int idx)
{
    const pecs_param_schema *s = &ce->enc->params[idx];
    if (!strcmp(s->name, "rotary_dim")) { /* a shape: full or partial rotary */
        pecs_cov_factor *f = add_factor(ce, PECS_COVF_ROTARY, "rotary");
        if (f) {
            add_level(f, "full", "0");
            add_level(f, "partial", "");
        }
        return;
    }
    pecs_cov_factor *f = add_factor(ce, PECS_COVF_PARAM, s->name);
    if (!f)
        return;
    f->param = idx;
    switch (s->type) {
    case PECS_PARAM_BOOL:
        add_level(f, s->dflt, s->dflt);
        add_level(f, strcmp(s->dflt, "true") ? "true" : "false", strcmp(s->dflt, "true") ? "true" : "false");
        return;
    case PECS_PARAM_CHOICE: {
        add_level(f, s->dflt, s->dflt);
        const char *q = s->choices;
        while (*q) {
            size_t l = strcspn(q, "|");
            char v[48];
            snprintf(v, sizeof v, "%.*s", (int)(l < sizeof v ? l : sizeof v - 1), q);
            if (strcmp(v, s->dflt) != 0)
                add_level(f, v, v);
            q += l + (q[l] == '|');
        }
        return;
    }
    case PECS_PARAM_REAL_LIST:
        add_level(f, s->dflt[0] ? "default" : "empty", s->dflt[0] ? s->dflt : "");
        add_level(f, "other", ""); /* built from the case's R/2 and H */
        return;
    case PECS_PARAM_INT:
    case PECS_PARAM_REAL: break;
    }
    const pecs_param_domain *dom = pecs_registry_domain(ce->enc, s->name);
    double d = param_default(s), mn = s->lo, mx = s->hi, in;
    if (dom && dom->min[0])
        pecs_parse_f64(dom->min, &mn);
    if (dom && dom->max[0])
        pecs_parse_f64(dom->max, &mx);
    in = interior_rule(s, d);
    if (dom && dom->interior[0])
        pecs_parse_f64(dom->interior, &in);
    f->dflt = d, f->min = mn, f->max = mx;
    char v[32], name[48];
    fmt_num(s, d, v, sizeof v);
    snprintf(name, sizeof name, "%s=%s", d == mn ? "min=default" : d == mx ? "max=default" : "default", v);
    f->cls_default = f->n_levels;
    add_level(f, name, v);
    if (mn != d) {
        fmt_num(s, mn, v, sizeof v);
        snprintf(name, sizeof name, "min=%s", v);
        f->cls_min = f->n_levels;
        add_level(f, name, v);
    }
    if (mx != d) {
        fmt_num(s, mx, v, sizeof v);
        snprintf(name, sizeof name, "max=%s", v);
        f->cls_max = f->n_levels;
        add_level(f, name, v);
    }
    if (in != d && in > mn && in < mx) {
        fmt_num(s, in, v, sizeof v);
        snprintf(name, sizeof name, "interior=%s", v);
        f->cls_interior = f->n_levels;
        add_level(f, name, v);
    }
}

static void build_domain(pecs_cov_enc *ce)
{
    const pecs_encoding_info *e = ce->enc;
    pecs_form form = e->form;
    int pairwise = pecs_form_pairwise(form);
    pecs_cov_factor *f;
    if ((f = add_factor(ce, PECS_COVF_DTYPE, "dtype")))
        knob_levels(f, "dtype");
    if ((f = add_factor(ce, PECS_COVF_TOKENS, "tokens"))) {
        add_level(f, "pow2", "8");
        add_level(f, "other", "7");
    }
    if (form != PECS_FORM_EMBED && form != PECS_FORM_MASK && form != PECS_FORM_POSMAP &&
        (f = add_factor(ce, PECS_COVF_HEADS, "heads"))) {
        add_level(f, "even", "4");
        add_level(f, "odd", "3");
    }
    if (form != PECS_FORM_BIAS && form != PECS_FORM_MASK && form != PECS_FORM_POSMAP &&
        (f = add_factor(ce, PECS_COVF_HEAD_DIM, "head_dim"))) {
        add_level(f, "pow2", "16");
        add_level(f, "other", "20");
    }
    if ((pairwise || form == PECS_FORM_KATTN) && (f = add_factor(ce, PECS_COVF_KEYS, "keys"))) {
        add_level(f, "pow2", "8");
        add_level(f, "other", "9");
    }
    if (form == PECS_FORM_ROTATE && (f = add_factor(ce, PECS_COVF_LAYOUT, "layout")))
        knob_levels(f, "layout");
    if ((f = add_factor(ce, PECS_COVF_VIEW, "view")))
        knob_levels(f, "view");
    if ((f = add_factor(ce, PECS_COVF_POSITIONS, "positions"))) {
        add_level(f, "contig@0", "contig@0");
        add_level(f, "contig@N", "contig@3000");
        add_level(f, "random", "random@4000");
        add_level(f, "decode", "decode@3000");
        add_level(f, "const", "const@17");
        if (e->pos_rows > 1)
            add_level(f, "grid", "grid@3");
    }
    if ((f = add_factor(ce, PECS_COVF_POS_DTYPE, "pos_dtype")))
        knob_levels(f, "pos_dtype");
    /* out's strides apart from x's (issue 19: a kernel writing out with x's strides passed every case) */
    if ((form == PECS_FORM_ROTATE || form == PECS_FORM_EMBED) && (f = add_factor(ce, PECS_COVF_OUT_VIEW, "out_view")))
        knob_levels(f, "out_view");
    for (int i = 0; i < e->n_params; i++)
        param_factor(ce, i);
}

/* ---- classification --------------------------------------------------------------------------------------- */

static int pow2(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

static int level_named(const pecs_cov_factor *f, const char *name)
{
    for (int l = 0; l < f->n_levels; l++)
        if (!strcmp(f->level[l], name))
            return l;
    return -1;
}

static const pecs_param *case_param(const pecs_case *c, const char *name)
{
    for (int i = 0; i < c->n_params; i++)
        if (!strcmp(c->params[i].name, name))
            return &c->params[i];
    return NULL;
}

static int list_is_default(const pecs_param_schema *s, const pecs_param *p)
{
    int64_t k = 0;
    const char *q = s->dflt;
    while (*q) {
        char item[64];
        size_t l = strcspn(q, ",");
        double x;
        snprintf(item, sizeof item, "%.*s", (int)(l < sizeof item ? l : sizeof item - 1), q);
        if (k >= p->n || !pecs_parse_f64(item, &x) || x != p->list[k])
            return 0;
        k++;
        q += l + (q[l] == ',');
    }
    return k == p->n;
}

static int classify_param(const pecs_cov_enc *ce, const pecs_cov_factor *f, const pecs_case *c)
{
    const pecs_param_schema *s = &ce->enc->params[f->param];
    const pecs_param *p = &c->params[f->param];
    double x;
    switch (s->type) {
    case PECS_PARAM_BOOL: return level_named(f, p->i ? "true" : "false");
    case PECS_PARAM_CHOICE: return level_named(f, p->s);
    case PECS_PARAM_REAL_LIST: return list_is_default(s, p) ? 0 : 1;
    case PECS_PARAM_INT: x = (double)p->i; break;
    case PECS_PARAM_REAL: x = p->r; break;
    default: return -1;
    }
    if (x == f->dflt)
        return f->cls_default;
    if (x <= f->min && f->cls_min >= 0)
        return f->cls_min;
    if (x >= f->max && f->cls_max >= 0)
        return f->cls_max;
    return f->cls_interior >= 0 ? f->cls_interior : -1;
}

void pecs_cov_classify(const pecs_cov_enc *ce, const pecs_case *c, int *v)
{
    for (int i = 0; i < ce->n_factors; i++) {
        const pecs_cov_factor *f = &ce->f[i];
        int l = -1;
        switch (f->kind) {
        case PECS_COVF_DTYPE: l = level_named(f, pecs_dtype_name(c->dtype)); break;
        case PECS_COVF_TOKENS: l = pow2(pecs_case_tokens(c)) ? 0 : 1; break;
        case PECS_COVF_HEADS: l = c->heads % 2 ? 1 : 0; break;
        case PECS_COVF_HEAD_DIM: l = pow2(c->head_dim) ? 0 : 1; break;
        case PECS_COVF_KEYS: l = pow2(pecs_case_keys(c)) ? 0 : 1; break;
        case PECS_COVF_ROTARY: {
            const pecs_param *p = case_param(c, "rotary_dim");
            l = !p || p->i == 0 || p->i == c->head_dim ? 0 : 1;
            break;
        }
        case PECS_COVF_LAYOUT: l = level_named(f, pecs_layout_name(c->layout)); break;
        case PECS_COVF_VIEW: l = level_named(f, pecs_view_name(c->view)); break;
        case PECS_COVF_POS_DTYPE: l = level_named(f, pecs_dtype_name(c->pos_dtype)); break;
        case PECS_COVF_OUT_VIEW: /* knob_levels puts the default (same, enum 0) first, then the table's order */
            l = (int)c->out_view < f->n_levels ? (int)c->out_view : -1;
            break;
        case PECS_COVF_POSITIONS: {
            static const char *const kinds[] = {"contig", "random", "decode", "const", "grid"};
            l = c->pos_kind == PECS_POS_CONTIG ? (c->pos_arg ? 1 : 0) : level_named(f, kinds[c->pos_kind]);
            break;
        }
        case PECS_COVF_PARAM: l = classify_param(ce, f, c); break;
        }
        v[i] = l;
    }
}

/* ---- building a case from levels ----------------------------------------------------------------------- */

/* Try list values for a list parameter at "other" (see the header comment); keeps the first that validates. */
static void set_list_other(pecs_case *c, const char *name)
{
    const pecs_param *rd = case_param(c, "rotary_dim");
    int64_t R = rd && rd->i ? rd->i : c->head_dim, P = R / 2 > 0 ? R / 2 : 1, H = c->heads;
    char why[512];
    for (int cand = 0; cand < 4; cand++) {
        pecs_sb b = {0};
        static const char *const cyc[] = {"1", "1.5", "2", "4"};
        if (cand == 0)
            for (int64_t k = 0; k < P; k++)
                pecs_sb_addf(&b, "%s%s", k ? "," : "", cyc[k % 4]);
        else if (cand == 1)
            pecs_sb_addf(&b, "%lld,%lld,%lld", (long long)(P - 2 * (P / 3)), (long long)(P / 3), (long long)(P / 3));
        else if (cand == 2)
            pecs_sb_adds(&b, "0.5");
        else
            for (int64_t h = 0; h < H; h++)
                pecs_sb_addf(&b, "%s%g", h ? "," : "", 0.5 + 0.25 * (double)h);
        pecs_status st = b.oom ? PECS_NOMEM : pecs_case_set(c, name, pecs_sb_str(&b), why, sizeof why);
        pecs_sb_free(&b);
        if (st == PECS_OK && pecs_case_validate(c, why, sizeof why) == PECS_OK)
            return;
    }
}

/* Whether the comparator can judge the case: its reference output is finite in the output dtype, and not mostly exact zeros
 * (what pecs run would call MISTRUSTED; for a mask: not uniform). A degenerate output proves nothing, so such
 * a case does not make a pair valid. */
static pecs_status judgeable(const pecs_case *c, char *why, size_t why_len)
{
    pecs_instance in;
    double *expected = NULL;
    pecs_status st = pecs_instance_create(&in, c, 0, PECS_STREAM_X, why, why_len);
    if (st != PECS_OK)
        return st;
    expected = malloc((size_t)(in.n_out > 0 ? in.n_out : 1) * sizeof *expected);
    if (!expected) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    if ((st = pecs_instance_reference(&in, expected, why, why_len)) != PECS_OK)
        goto cleanup;
    int64_t zeros = 0;
    double top = c->dtype == PECS_DT_F16 ? 65504.0 : c->dtype == PECS_DT_BF16 ? 3.3895313892515355e38
               : c->dtype == PECS_DT_F32 ? (double)FLT_MAX : DBL_MAX; /* largest finite of the output dtype */
    for (int64_t i = 0; i < in.n_out; i++) {
        if (c->enc->form != PECS_FORM_MASK && !(fabs(expected[i]) <= top)) {
            snprintf(why, why_len, "the reference output is not finite in %s at index %lld", pecs_dtype_name(c->dtype),
                     (long long)i);
            st = PECS_INVALID;
            goto cleanup;
        }
        zeros += expected[i] == 0.0;
    }
    if (c->enc->form == PECS_FORM_MASK ? zeros == 0 || zeros == in.n_out : 2 * zeros > in.n_out) {
        snprintf(why, why_len, "the reference output is degenerate (%lld of %lld exact zeros)", (long long)zeros,
                 (long long)in.n_out);
        st = PECS_INVALID;
    }
cleanup:
    free(expected);
    pecs_instance_free(&in);
    return st;
}

pecs_status pecs_cov_build(const pecs_cov_enc *ce, const int *v, pecs_case *c, char *why, size_t why_len)
{
    pecs_status st = pecs_case_init(c, ce->enc);
    if (st != PECS_OK) {
        snprintf(why, why_len, "%s: the default case does not initialise", ce->enc->id);
        return st;
    }
    int partial = 0;
    for (int i = 0; i < ce->n_factors && st == PECS_OK; i++) {
        const pecs_cov_factor *f = &ce->f[i];
        int l = v[i] >= 0 ? v[i] : ce->base[i];
        if (f->kind == PECS_COVF_ROTARY) {
            partial = l == 1;
            continue;
        }
        if (!f->rep[l][0]) /* list "other": after the shape is known */
            continue;
        st = pecs_case_set(c, f->kind == PECS_COVF_PARAM ? ce->enc->params[f->param].name : KIND_KEY[f->kind],
                           f->rep[l], why, why_len);
    }
    if (st == PECS_OK && partial) {
        int64_t R = c->head_dim / 2 / 4 * 4;
        char rv[32];
        snprintf(rv, sizeof rv, "%lld", (long long)(R >= 2 ? R : 2));
        st = pecs_case_set(c, "rotary_dim", rv, why, why_len);
    }
    for (int i = 0; i < ce->n_factors && st == PECS_OK; i++) {
        const pecs_cov_factor *f = &ce->f[i];
        int l = v[i] >= 0 ? v[i] : ce->base[i];
        if (f->kind == PECS_COVF_PARAM && !f->rep[l][0])
            set_list_other(c, ce->enc->params[f->param].name);
    }
    if (st == PECS_OK)
        st = pecs_case_validate(c, why, why_len);
    if (st == PECS_OK)
        st = judgeable(c, why, why_len);
    if (st != PECS_OK)
        pecs_case_free(c);
    return st == PECS_LIMIT ? PECS_INVALID : st;
}

/* ---- validity ------------------------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rng_seed(const char *id)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
    return h;
}

/* Build v; if it is a valid case, store its actual levels in out and return 1. */
static int try_levels(const pecs_cov_enc *ce, const int *v, int *out)
{
    pecs_case c;
    char why[512];
    if (pecs_cov_build(ce, v, &c, why, sizeof why) != PECS_OK)
        return 0;
    pecs_cov_classify(ce, &c, out);
    pecs_case_free(&c);
    return 1;
}

/* Mark the pairs of a valid case valid, recording it as their witness. */
static void mark_valid(pecs_cov_enc *ce, const int *actual)
{
    const pecs_cov_pairs *p = &ce->pairs;
    for (int i = 0; i < p->n_factors; i++)
        for (int j = i + 1; j < p->n_factors; j++) {
            if (actual[i] < 0 || actual[j] < 0)
                continue;
            int k = pecs_cov_pair_index(p, i, actual[i], j, actual[j]);
            if (!p->valid[k]) {
                p->valid[k] = 1;
                memcpy(&ce->witness[(size_t)k * (size_t)ce->n_factors], actual, (size_t)ce->n_factors * sizeof(int));
            }
        }
}

enum { RANDOM_TRIES = 32 };

pecs_status pecs_cov_enc_init(pecs_cov_enc *ce, const pecs_encoding_info *e, char *why, size_t why_len)
{
    memset(ce, 0, sizeof *ce);
    ce->enc = e;
    build_domain(ce);
    int nl[PECS_COV_MAX_FACTORS];
    for (int i = 0; i < ce->n_factors; i++)
        nl[i] = ce->f[i].n_levels;
    pecs_status st = pecs_cov_pairs_init(&ce->pairs, ce->n_factors, nl);
    if (st != PECS_OK) {
        snprintf(why, why_len, "%s: coverage domain too large", e->id);
        return st;
    }
    ce->witness = malloc(((size_t)ce->pairs.n_pairs + 1) * (size_t)ce->n_factors * sizeof(int));
    if (!ce->witness) {
        pecs_cov_enc_free(ce);
        snprintf(why, why_len, "out of memory");
        return PECS_NOMEM;
    }
    pecs_case c;
    if (pecs_case_init(&c, e) != PECS_OK) {
        pecs_cov_enc_free(ce);
        snprintf(why, why_len, "%s: the default case does not initialise", e->id);
        return PECS_INTERNAL;
    }
    pecs_cov_classify(ce, &c, ce->base);
    pecs_case_free(&c);
    for (int i = 0; i < ce->n_factors; i++)
        if (ce->base[i] < 0)
            ce->base[i] = 0;
    uint64_t rng = rng_seed(e->id);
    int v[PECS_COV_MAX_FACTORS], actual[PECS_COV_MAX_FACTORS];
    for (int k = 0; k < ce->pairs.n_pairs; k++) {
        if (ce->pairs.valid[k])
            continue;
        int i, a, j, b;
        pecs_cov_pair_decode(&ce->pairs, k, &i, &a, &j, &b);
        for (int t = 0; t <= RANDOM_TRIES && !ce->pairs.valid[k]; t++) {
            for (int x = 0; x < ce->n_factors; x++)
                v[x] = t == 0 ? ce->base[x] : (int)(rng_next(&rng) % (uint64_t)ce->f[x].n_levels);
            v[i] = a, v[j] = b;
            if (try_levels(ce, v, actual))
                mark_valid(ce, actual);
        }
    }
    return PECS_OK;
}

void pecs_cov_enc_free(pecs_cov_enc *ce)
{
    pecs_cov_pairs_free(&ce->pairs);
    free(ce->witness);
    ce->witness = NULL;
}

void pecs_cov_add_case(pecs_cov_enc *ce, const pecs_case *c)
{
    int v[PECS_COV_MAX_FACTORS];
    pecs_cov_classify(ce, c, v);
    pecs_cov_mark(&ce->pairs, v, ce->pairs.covered);
    ce->n_cases++;
}

void pecs_cov_pair_name(const pecs_cov_enc *ce, int k, char *buf, size_t n)
{
    int i, a, j, b;
    pecs_cov_pair_decode(&ce->pairs, k, &i, &a, &j, &b);
    if (i < 0) {
        snprintf(buf, n, "?");
        return;
    }
    snprintf(buf, n, "%s=%s x %s=%s", ce->f[i].name, ce->f[i].level[a], ce->f[j].name, ce->f[j].level[b]);
}

/* ---- generation ----------------------------------------------------------------------------------------- */

static int open_pair(const pecs_cov_pairs *p, int k) { return p->valid[k] && !p->covered[k]; }

/* Pairs of v (every factor set) that are valid and not yet covered. */
static int gain_of(const pecs_cov_pairs *p, const int *v)
{
    int g = 0;
    for (int i = 0; i < p->n_factors; i++)
        for (int j = i + 1; j < p->n_factors; j++)
            if (v[i] >= 0 && v[j] >= 0)
                g += open_pair(p, pecs_cov_pair_index(p, i, v[i], j, v[j]));
    return g;
}

enum { CANDIDATES = 12 };

/* One AETG candidate around the open pair k: the other factors in a random order, each at the level that
 * covers most open pairs with those already chosen; repaired towards the default case if invalid. Fills
 * actual with the levels of the case built; returns its gain (-1 if no valid case came out). */
static int candidate(const pecs_cov_enc *ce, int k, uint64_t *rng, int *actual)
{
    const pecs_cov_pairs *p = &ce->pairs;
    int n = ce->n_factors, v[PECS_COV_MAX_FACTORS], order[PECS_COV_MAX_FACTORS], i, a, j, b;
    pecs_cov_pair_decode(p, k, &i, &a, &j, &b);
    for (int x = 0; x < n; x++)
        v[x] = -1, order[x] = x;
    v[i] = a, v[j] = b;
    for (int x = n - 1; x > 0; x--) {
        int y = (int)(rng_next(rng) % (uint64_t)(x + 1)), t = order[x];
        order[x] = order[y], order[y] = t;
    }
    int filled[PECS_COV_MAX_FACTORS], nf = 0;
    for (int o = 0; o < n; o++) {
        int f = order[o];
        if (v[f] >= 0)
            continue;
        int best = -1, bestg = -1;
        for (int l = 0; l < ce->f[f].n_levels; l++) {
            int g = 0;
            for (int x = 0; x < n; x++)
                if (x != f && v[x] >= 0)
                    g += open_pair(p, pecs_cov_pair_index(p, f, l, x, v[x]));
            if (g > bestg || (g == bestg && l == ce->base[f]))
                best = l, bestg = g;
        }
        v[f] = best;
        filled[nf++] = f;
    }
    /* invalid: back off the last chosen factors to the default case's levels, one at a time */
    for (int r = nf; r >= 0; r--) {
        if (try_levels(ce, v, actual))
            return gain_of(p, actual);
        if (r > 0)
            v[filled[r - 1]] = ce->base[filled[r - 1]];
    }
    return -1;
}

pecs_status pecs_cov_generate(pecs_cov_enc *ce, char ***cases, int *n_cases)
{
    pecs_cov_pairs *p = &ce->pairs;
    pecs_status st = PECS_OK;
    char **out = NULL, why[512];
    int n = 0, cap = 0;
    uint64_t rng = rng_seed(ce->enc->id) ^ UINT64_C(0x5bd1e995);
    int actual[PECS_COV_MAX_FACTORS], best[PECS_COV_MAX_FACTORS];
    for (;;) {
        int open[CANDIDATES], n_open = 0, total_open = 0;
        for (int k = 0; k < p->n_pairs; k++)
            total_open += open_pair(p, k);
        if (!total_open)
            break;
        /* seeds: the first open pair, then open pairs drawn at random */
        for (int k = 0; k < p->n_pairs && !n_open; k++)
            if (open_pair(p, k))
                open[n_open++] = k;
        while (n_open < CANDIDATES) {
            int r = (int)(rng_next(&rng) % (uint64_t)total_open);
            for (int k = 0; k < p->n_pairs; k++)
                if (open_pair(p, k) && r-- == 0) {
                    open[n_open++] = k;
                    break;
                }
        }
        int bestg = 0;
        for (int t = 0; t < n_open; t++) {
            int g = candidate(ce, open[t], &rng, actual);
            if (g > bestg) {
                bestg = g;
                memcpy(best, actual, sizeof best);
            }
        }
        if (bestg == 0) /* the greedy cases found nothing: the witness of the first open pair */
            memcpy(best, &ce->witness[(size_t)open[0] * (size_t)ce->n_factors], (size_t)ce->n_factors * sizeof(int));
        pecs_case c;
        if (pecs_cov_build(ce, best, &c, why, sizeof why) != PECS_OK) {
            p->valid[open[0]] = 0; /* cannot happen for a witness; never loop on it */
            continue;
        }
        int v[PECS_COV_MAX_FACTORS];
        pecs_cov_classify(ce, &c, v);
        if (!pecs_cov_mark(p, v, p->covered))
            p->valid[open[0]] = 0;
        char *s = pecs_case_format(&c);
        pecs_case_free(&c);
        if (!s) {
            st = PECS_NOMEM;
            goto cleanup;
        }
        if (n == cap) {
            int nc = cap ? cap * 2 : 16;
            char **grown = realloc(out, (size_t)nc * sizeof *grown);
            if (!grown) {
                free(s);
                st = PECS_NOMEM;
                goto cleanup;
            }
            out = grown, cap = nc;
        }
        out[n++] = s;
    }
cleanup:
    if (st != PECS_OK) {
        for (int k = 0; k < n; k++)
            free(out[k]);
        free(out);
        out = NULL, n = 0;
    }
    *cases = out;
    *n_cases = n;
    return st;
}
