/* harness/case.c — knobs, validation and the canonical case string. */
#include "case.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "util.h"

#define MAX_POSITION (INT64_C(1) << 50) /* exact in double, reducible by the reference */
static double g_mem_cap = (double)(INT64_C(4) << 30); /* bytes of buffers one case may ask for */

void pecs_case_set_mem_cap(double bytes) { g_mem_cap = bytes; }
double pecs_case_mem_cap(void) { return g_mem_cap; }

/* ---- generic knobs ------------------------------------------------------------------------------------ */

typedef pecs_status (*knob_set_fn)(pecs_case *c, const char *v, char *why, size_t n);
typedef void (*knob_fmt_fn)(const pecs_case *c, pecs_sb *b);
typedef int (*knob_applies_fn)(const pecs_case *c);

typedef struct knob {
    pecs_knob_doc doc;
    knob_set_fn set;
    knob_fmt_fn fmt;
    knob_applies_fn applies; /* printed in the canonical string only when this says so */
} knob;

static pecs_status bad(char *why, size_t n, const char *key, const char *v, const char *expect)
{
    snprintf(why, n, "key '%s': value '%s' %s", key, v, expect);
    return PECS_INVALID;
}

/* Index of v among names[0..count-1]; else an error listing the choices. */
static pecs_status set_choice(const char *key, const char *v, const char *const *names, int count, int *out, char *why,
                              size_t n)
{
    for (int i = 0; i < count; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return PECS_OK;
        }
    char msg[160] = "is not one of ";
    for (int i = 0; i < count; i++) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "%s%s", i ? ", " : "", names[i]);
    }
    return bad(why, n, key, v, msg);
}

/* Setter and formatter of a knob whose values are names[] and whose field holds the index (or maps it). */
#define CHOICE_KNOB(knob, field, type, names, count, map)                                   \
    static pecs_status set_##knob(pecs_case *c, const char *v, char *why, size_t n)         \
    {                                                                                       \
        int i = 0;                                                                          \
        pecs_status st = set_choice(#knob, v, names, count, &i, why, n);                    \
        if (st == PECS_OK)                                                                  \
            c->field = (type)map(i);                                                        \
        return st;                                                                          \
    }

static pecs_status set_int(const char *key, const char *v, int64_t lo, int64_t hi, int64_t *out, char *why, size_t n)
{
    int64_t x;
    if (!pecs_parse_i64(v, &x) || x < lo || x > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be an integer in [%lld, %lld]", (long long)lo, (long long)hi);
        return bad(why, n, key, v, msg);
    }
    *out = x;
    return PECS_OK;
}

static const char *const DTYPES[] = {"f64", "f32", "f16", "bf16"};
static const char *const POS_DTYPES[] = {"i32", "i64", "f64"};
static const pecs_dtype POS_DTYPE_VALUES[] = {PECS_DT_I32, PECS_DT_I64, PECS_DT_F64};
static const char *const LAYOUTS[] = {"thd", "htd"};
static const char *const VIEWS[] = {"contiguous", "strided", "inplace"};
static const char *const CHECKS[] = {"equivalence", "invariance"};
static const char *const POS_KINDS[] = {"contig", "random", "decode", "const", "grid"};
static const char *const COMPARES[] = {"raw", "softmax"};
static const char *const VALUES[] = {"uniform", "special"};
static const char *const OUT_VIEWS[] = {"same", "contiguous", "strided", "transposed"};

const char *pecs_layout_name(pecs_layout l) { return LAYOUTS[l]; }
const char *pecs_view_name(pecs_view v) { return VIEWS[v]; }
const char *pecs_check_name(pecs_check k) { return CHECKS[k]; }

#define SAME(i) (i)
#define POS_DTYPE_OF(i) POS_DTYPE_VALUES[i]
CHOICE_KNOB(dtype, dtype, pecs_dtype, DTYPES, 4, SAME) /* DTYPES follows the pecs_dtype order */
CHOICE_KNOB(layout, layout, pecs_layout, LAYOUTS, 2, SAME)
CHOICE_KNOB(view, view, pecs_view, VIEWS, 3, SAME)
CHOICE_KNOB(pos_dtype, pos_dtype, pecs_dtype, POS_DTYPES, 3, POS_DTYPE_OF)
CHOICE_KNOB(check, check, pecs_check, CHECKS, 2, SAME)
CHOICE_KNOB(compare, compare, pecs_compare_mode, COMPARES, 2, SAME)
CHOICE_KNOB(values, values, pecs_values, VALUES, 2, SAME)
CHOICE_KNOB(out_view, out_view, pecs_out_view, OUT_VIEWS, 4, SAME)
static void fmt_values(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, VALUES[c->values]); }
static void fmt_out_view(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, OUT_VIEWS[c->out_view]); }
static pecs_status set_threads(pecs_case *c, const char *v, char *why, size_t n)
{
    int64_t t = 0;
    pecs_status st = set_int("threads", v, 0, 1024, &t, why, n);
    if (st == PECS_OK)
        c->threads = (int)t;
    return st;
}
static void fmt_threads(const pecs_case *c, pecs_sb *b) { pecs_sb_addf(b, "%d", c->threads); }
static void fmt_compare(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, COMPARES[c->compare]); }

static void fmt_dtype(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, pecs_dtype_name(c->dtype)); }

static pecs_status set_tokens(pecs_case *c, const char *v, char *why, size_t n)
{
    return set_int("tokens", v, 1, INT64_C(1) << 24, &c->tokens, why, n);
}
static void fmt_tokens(const pecs_case *c, pecs_sb *b) { pecs_sb_addf(b, "%lld", (long long)pecs_case_tokens(c)); }

static pecs_status set_heads(pecs_case *c, const char *v, char *why, size_t n)
{
    return set_int("heads", v, 1, 65536, &c->heads, why, n);
}
static void fmt_heads(const pecs_case *c, pecs_sb *b) { pecs_sb_addf(b, "%lld", (long long)c->heads); }

static pecs_status set_head_dim(pecs_case *c, const char *v, char *why, size_t n)
{
    return set_int("head_dim", v, 1, 65536, &c->head_dim, why, n);
}
static void fmt_head_dim(const pecs_case *c, pecs_sb *b) { pecs_sb_addf(b, "%lld", (long long)c->head_dim); }

static pecs_status set_keys(pecs_case *c, const char *v, char *why, size_t n)
{
    return set_int("keys", v, 0, INT64_C(1) << 24, &c->keys, why, n);
}
static void fmt_keys(const pecs_case *c, pecs_sb *b) { pecs_sb_addf(b, "%lld", (long long)pecs_case_keys(c)); }

static void fmt_layout(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, LAYOUTS[c->layout]); }

static void fmt_view(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, VIEWS[c->view]); }

/* positions: contig[@offset] | random[@bound] | decode@position | const@position | grid@width */
static pecs_status set_positions(pecs_case *c, const char *v, char *why, size_t n)
{
    const char *at = strchr(v, '@');
    size_t kl = at ? (size_t)(at - v) : strlen(v);
    int kind = -1;
    for (int i = 0; i < 5; i++)
        if (strlen(POS_KINDS[i]) == kl && strncmp(v, POS_KINDS[i], kl) == 0)
            kind = i;
    if (kind < 0)
        return bad(why, n, "positions", v,
                   "is not contig[@offset], random[@bound], decode@position, const@position or grid@width");
    int64_t arg = kind == PECS_POS_RANDOM ? INT64_C(1) << 20 : 0;
    int64_t lo = kind == PECS_POS_CONST ? -MAX_POSITION : kind == PECS_POS_RANDOM || kind == PECS_POS_GRID ? 1 : 0;
    if (at && (!pecs_parse_i64(at + 1, &arg) || arg < lo || arg > MAX_POSITION)) {
        char msg[96];
        snprintf(msg, sizeof msg, "has %s that is not an integer in [%s, 2^50]",
                 kind == PECS_POS_RANDOM ? "a bound" : kind == PECS_POS_GRID ? "a width" : "a position",
                 kind == PECS_POS_CONST ? "-2^50" : lo ? "1" : "0");
        return bad(why, n, "positions", v, msg);
    }
    if ((kind == PECS_POS_DECODE || kind == PECS_POS_CONST || kind == PECS_POS_GRID) && !at)
        return bad(why, n, "positions", v, "needs its argument: decode@N, const@N or grid@W");
    c->pos_kind = (pecs_pos_kind)kind;
    c->pos_arg = arg;
    return PECS_OK;
}
static void fmt_positions(const pecs_case *c, pecs_sb *b)
{
    pecs_sb_addf(b, "%s@%lld", POS_KINDS[c->pos_kind], (long long)c->pos_arg);
}

static void fmt_pos_dtype(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, pecs_dtype_name(c->pos_dtype)); }

static pecs_status set_seed(pecs_case *c, const char *v, char *why, size_t n)
{
    int64_t s = 0;
    pecs_status st = set_int("seed", v, 0, INT64_MAX, &s, why, n);
    if (st == PECS_OK)
        c->seed = (uint64_t)s;
    return st;
}
static void fmt_seed(const pecs_case *c, pecs_sb *b) { pecs_sb_addf(b, "%llu", (unsigned long long)c->seed); }

static void fmt_check(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, CHECKS[c->check]); }

static pecs_status set_shifts(pecs_case *c, const char *v, char *why, size_t n)
{
    int k = 0;
    const char *p = v;
    while (*p) {
        char item[32];
        size_t len = strcspn(p, ",");
        int64_t s;
        if (k == PECS_MAX_SHIFTS || len == 0 || len >= sizeof item)
            return bad(why, n, "shifts", v, "must be 1 to 16 comma-separated integers in [0, 2^40]");
        memcpy(item, p, len);
        item[len] = '\0';
        if (!pecs_parse_i64(item, &s) || s < 0 || s > (INT64_C(1) << 40))
            return bad(why, n, "shifts", v, "must be 1 to 16 comma-separated integers in [0, 2^40]");
        c->shifts[k++] = s;
        p += len + (p[len] == ',');
    }
    if (k == 0 || c->shifts[0] != 0)
        return bad(why, n, "shifts", v, "must start with 0 (the unshifted logits every offset is compared with)");
    for (int i = 1; i < k; i++)
        if (c->shifts[i] <= c->shifts[i - 1])
            return bad(why, n, "shifts", v, "must be strictly increasing");
    c->n_shifts = k;
    return PECS_OK;
}
static void fmt_shifts(const pecs_case *c, pecs_sb *b)
{
    for (int i = 0; i < c->n_shifts; i++)
        pecs_sb_addf(b, "%s%lld", i ? "," : "", (long long)c->shifts[i]);
}

static pecs_status set_level(pecs_case *c, const char *v, char *why, size_t n)
{
    size_t len = strlen(v);
    if (len == 0 || len >= sizeof c->level || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
        return bad(why, n, "level", v, "is not a level name (lower-case letters, digits, '_' and '-')");
    if (!strcmp(v, "strict") || !strcmp(v, "compat")) /* the profiles the levels replaced (docs/levels.md) */
        return bad(why, n, "level", v, !strcmp(v, "strict") ? "is now the level 'exact'" :
                   "was replaced by the level 'f32angle' (compat was vacuous at large positions)");
    memcpy(c->level, v, len + 1);
    return PECS_OK;
}
static void fmt_level(const pecs_case *c, pecs_sb *b) { pecs_sb_adds(b, c->level); }

static int always(const pecs_case *c) { return (void)c, 1; }
static int is_rotate(const pecs_case *c) { return c->enc->form == PECS_FORM_ROTATE; }
static int has_heads(const pecs_case *c)
{
    return c->enc->form != PECS_FORM_EMBED && c->enc->form != PECS_FORM_MASK && c->enc->form != PECS_FORM_POSMAP;
}
static int has_head_dim(const pecs_case *c)
{
    return c->enc->form != PECS_FORM_BIAS && c->enc->form != PECS_FORM_MASK && c->enc->form != PECS_FORM_POSMAP;
}
static int is_bias(const pecs_case *c) { return pecs_form_pairwise(c->enc->form) || c->enc->form == PECS_FORM_KATTN; }
static int has_compare(const pecs_case *c) { return c->compare != PECS_COMPARE_RAW; }
static int has_values(const pecs_case *c) { return c->values != PECS_VALUES_UNIFORM; }
static int has_out_view(const pecs_case *c) { return c->out_view != PECS_OUT_SAME; }
static int has_threads(const pecs_case *c) { return c->threads != 0; }
static int has_min_horizon(const pecs_case *c) { return c->check == PECS_CHECK_INVARIANCE && c->min_horizon >= 0; }
static pecs_status set_min_horizon(pecs_case *c, const char *v, char *why, size_t n)
{
    if (!strcmp(v, "all")) {
        c->min_horizon = -1;
        return PECS_OK;
    }
    return set_int("min_horizon", v, 0, INT64_C(1) << 40, &c->min_horizon, why, n);
}
static void fmt_min_horizon(const pecs_case *c, pecs_sb *b) { pecs_sb_addf(b, "%lld", (long long)c->min_horizon); }
static int is_invariance(const pecs_case *c) { return c->check == PECS_CHECK_INVARIANCE; }

/* Tolerance overrides tol_<metric>: "" = not overridden. */
#define TOL_KNOB_FNS(name, doc)                                                                        \
    static pecs_status set_tol_##name(pecs_case *c, const char *v, char *why, size_t n)                \
    {                                                                                                  \
        double x;                                                                                      \
        if (!*v) {                                                                                     \
            c->tol_override.name = NAN;                                                                \
            return PECS_OK;                                                                            \
        }                                                                                              \
        if (!pecs_parse_f64(v, &x) || x < 0)                                                           \
            return bad(why, n, "tol_" #name, v, "must be a finite number >= 0");                       \
        c->tol_override.name = x;                                                                      \
        return PECS_OK;                                                                                \
    }                                                                                                  \
    static void fmt_tol_##name(const pecs_case *c, pecs_sb *b)                                         \
    {                                                                                                  \
        char buf[32];                                                                                  \
        pecs_sb_adds(b, pecs_fmt_real(c->tol_override.name, buf, sizeof buf));                         \
    }                                                                                                  \
    static int has_tol_##name(const pecs_case *c) { return !isnan(c->tol_override.name); }
PECS_TOL_LIST(TOL_KNOB_FNS)
#undef TOL_KNOB_FNS

/* The knob table: order = order in the canonical string. Defaults are applied through the setters. */
static const knob g_knobs[] = {
    {{"dtype", "f32|f16|bf16|f64", "f32", "storage dtype of activations and outputs"}, set_dtype, fmt_dtype, always},
    {{"tokens", "1..2^24", "8", "query tokens T (forced to 1 by positions=decode@N)"}, set_tokens, fmt_tokens, always},
    {{"heads", "1..65536", "2", "heads H (not used by embed)"}, set_heads, fmt_heads, has_heads},
    {{"head_dim", "1..65536", "16", "head dimension D (model dimension for embed; not used by bias)"},
     set_head_dim, fmt_head_dim, has_head_dim},
    {{"keys", "0..2^24", "0", "bias, mask, scores, kattn: key count Lk (0 = tokens)"}, set_keys, fmt_keys, is_bias},
    {{"layout", "thd|htd", "thd", "rotate: storage order [T,H,D] or [H,T,D] of x and out"}, set_layout, fmt_layout,
     is_rotate},
    {{"view", "contiguous|strided|inplace", "contiguous",
      "strided: rows padded by 3 elements (the gaps must stay untouched); inplace: out aliases x"},
     set_view, fmt_view, always},
    {{"out_view", "same|contiguous|strided|transposed", "same",
      "rotate, embed: strides of out apart from x's: packed rows, rows padded by 5 elements, or (rotate) the other "
      "storage order than layout; same = x's strides"},
     set_out_view, fmt_out_view, has_out_view},
    {{"positions", "contig[@N]|random[@B]|decode@N|const@N|grid@W", "contig@0",
      "query positions offset+t; uniform random in [0,bound) (each row of multi-axis positions drawn "
      "separately); one token at pos (keys end there); every token at N (may be negative: deltas); a "
      "row-major patch grid W wide (rows h = t/W, w = t%W; t row 0)"},
     set_positions, fmt_positions, always},
    {{"pos_dtype", "i32|i64|f64", "i32", "dtype of the position tensor(s)"}, set_pos_dtype, fmt_pos_dtype, always},
    {{"seed", "0..2^63-1", "1", "seed of the deterministic input generator"}, set_seed, fmt_seed, always},
    {{"values", "uniform|special", "uniform",
      "rotate, embed: x uniform in [-1, 1), or with one element of every innermost row special: quiet and signalling NaNs "
      "with payloads, +-Inf, +-0, subnormals, the largest finite values and the smallest normal"},
     set_values, fmt_values, has_values},
    {{"threads", "0..1024", "0", "problem->n_threads of every call (0: the run's --threads, else the backend's "
      "choice); the determinism repeat still runs at 1 thread"},
     set_threads, fmt_threads, has_threads},
    {{"check", "equivalence|invariance", "equivalence", "compare with the reference, or sweep position shifts"},
     set_check, fmt_check, always},
    {{"compare", "raw|softmax", "raw",
      "bias/scores: compare raw values, or each row's softmax (for forms equal after softmax only)"},
     set_compare, fmt_compare, has_compare},
    {{"shifts", "0,d1,d2,...", "0,1,16,256,4096,65536,1048576", "invariance: position offsets swept"}, set_shifts,
     fmt_shifts, is_invariance},
    {{"min_horizon", "all|0..2^40", "all",
      "invariance: the horizon required to pass (a shift of the sweep); all = every shift. For encodings whose "
      "finite-precision range ends inside the sweep (xPos gains in f16)"},
     set_min_horizon, fmt_min_horizon, has_min_horizon},
    {{"level", "exact|f32angle|...", "exact",
      "conformance level: the error model the case is judged by (configs/tolerances.yaml, docs/levels.md)"},
     set_level, fmt_level, always},
#define TOL_KNOB_ROW(name, doc) {{"tol_" #name, ">= 0", "", "override: " doc}, set_tol_##name, fmt_tol_##name, has_tol_##name},
    PECS_TOL_LIST(TOL_KNOB_ROW)
#undef TOL_KNOB_ROW
};
#define N_KNOBS ((int)(sizeof g_knobs / sizeof g_knobs[0]))

const pecs_knob_doc *pecs_case_knobs(int *n)
{
    static pecs_knob_doc docs[sizeof g_knobs / sizeof g_knobs[0]];
    for (int i = 0; i < N_KNOBS; i++)
        docs[i] = g_knobs[i].doc;
    *n = N_KNOBS;
    return docs;
}

static const knob *find_knob(const char *key)
{
    if (!strcmp(key, "profile")) /* the knob's name before levels: still read, written as level= */
        key = "level";
    for (int i = 0; i < N_KNOBS; i++)
        if (strcmp(g_knobs[i].doc.name, key) == 0)
            return &g_knobs[i];
    return NULL;
}

int pecs_case_is_known_key(const char *key) { return find_knob(key) || pecs_registry_is_param_name(key); }

/* ---- encoding parameters -------------------------------------------------------------------------- */

static pecs_status parse_real_in(const pecs_param_schema *s, const char *txt, const char *whole, double *x, char *why,
                                 size_t n)
{
    char msg[128], lo[32], hi[32];
    double v;
    if (pecs_parse_f64(txt, &v) && v >= s->lo && v <= s->hi) {
        *x = v;
        return PECS_OK;
    }
    snprintf(msg, sizeof msg, "must be %s in [%s, %s]", s->type == PECS_PARAM_REAL_LIST ? "a list of numbers" : "a number",
             pecs_fmt_real(s->lo, lo, sizeof lo), pecs_fmt_real(s->hi, hi, sizeof hi));
    return bad(why, n, s->name, whole, msg);
}

static pecs_status param_set(pecs_case *c, int idx, const pecs_param_schema *s, const char *v, char *why, size_t n)
{
    pecs_param *p = &c->params[idx];
    switch (s->type) {
    case PECS_PARAM_INT: return set_int(s->name, v, (int64_t)s->lo, (int64_t)s->hi, &p->i, why, n);
    case PECS_PARAM_REAL: return parse_real_in(s, v, v, &p->r, why, n);
    case PECS_PARAM_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
            p->i = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
            p->i = 0;
        else
            return bad(why, n, s->name, v, "is not a boolean (true/false)");
        return PECS_OK;
    case PECS_PARAM_CHOICE: {
        size_t len = strlen(v);
        const char *q = s->choices;
        while (*q) {
            size_t l = strcspn(q, "|");
            if (l == len && strncmp(q, v, l) == 0 && len < sizeof c->choice_buf[idx]) {
                memcpy(c->choice_buf[idx], v, len + 1);
                p->s = c->choice_buf[idx];
                return PECS_OK;
            }
            q += l + (q[l] == '|');
        }
        char msg[160];
        snprintf(msg, sizeof msg, "is not one of %s", s->choices);
        return bad(why, n, s->name, v, msg);
    }
    case PECS_PARAM_REAL_LIST: {
        int64_t count = *v ? 1 : 0;
        for (const char *q = v; *q; q++)
            count += *q == ',';
        double *list = count ? calloc((size_t)count, sizeof *list) : NULL;
        if (count && !list)
            return PECS_NOMEM;
        const char *q = v;
        for (int64_t k = 0; k < count; k++) {
            char item[64];
            size_t l = strcspn(q, ",");
            if (l >= sizeof item) {
                free(list);
                return bad(why, n, s->name, v, "has an item longer than 63 characters");
            }
            memcpy(item, q, l);
            item[l] = '\0';
            pecs_status st = parse_real_in(s, item, v, &list[k], why, n);
            if (st != PECS_OK) {
                free(list);
                return st;
            }
            q += l + (q[l] == ',');
        }
        free((void *)p->list);
        p->list = list;
        p->n = count;
        return PECS_OK;
    }
    }
    return PECS_INTERNAL;
}

static int param_equal(const pecs_param *a, const pecs_param *b)
{
    switch (a->type) {
    case PECS_PARAM_INT:
    case PECS_PARAM_BOOL: return a->i == b->i;
    case PECS_PARAM_REAL: return a->r == b->r;
    case PECS_PARAM_CHOICE: return strcmp(a->s, b->s) == 0;
    case PECS_PARAM_REAL_LIST:
        if (a->n != b->n)
            return 0;
        for (int64_t k = 0; k < a->n; k++)
            if (a->list[k] != b->list[k])
                return 0;
        return 1;
    }
    return 0;
}

static void param_format(const pecs_param *p, pecs_sb *b)
{
    char buf[32];
    switch (p->type) {
    case PECS_PARAM_INT: pecs_sb_addf(b, "%lld", (long long)p->i); break;
    case PECS_PARAM_BOOL: pecs_sb_adds(b, p->i ? "true" : "false"); break;
    case PECS_PARAM_REAL: pecs_sb_adds(b, pecs_fmt_real(p->r, buf, sizeof buf)); break;
    case PECS_PARAM_CHOICE: pecs_sb_adds(b, p->s); break;
    case PECS_PARAM_REAL_LIST:
        for (int64_t k = 0; k < p->n; k++)
            pecs_sb_addf(b, "%s%s", k ? "," : "", pecs_fmt_real(p->list[k], buf, sizeof buf));
        break;
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------------- */

pecs_status pecs_case_init(pecs_case *c, const pecs_encoding_info *enc)
{
    memset(c, 0, sizeof *c);
    c->enc = enc;
    char why[256];
    for (int i = 0; i < N_KNOBS; i++)
        if (g_knobs[i].set(c, g_knobs[i].doc.dflt, why, sizeof why) != PECS_OK)
            return PECS_INTERNAL; /* a registry default that does not parse is a bug */
    if (pecs_registry_real_positions(enc)) /* real ids (PECS_REAL_POSITIONS): the default case must hold them */
        c->pos_dtype = PECS_DT_F64;
    if (enc->n_params > PECS_CASE_MAX_PARAMS)
        return PECS_INTERNAL;
    c->n_params = enc->n_params;
    for (int i = 0; i < enc->n_params; i++) {
        const pecs_param_schema *s = &enc->params[i];
        c->params[i].name = s->name;
        c->params[i].type = s->type;
        if (param_set(c, i, s, s->dflt, why, sizeof why) != PECS_OK) {
            pecs_case_free(c);
            return PECS_INTERNAL;
        }
    }
    return PECS_OK;
}

void pecs_case_free(pecs_case *c)
{
    for (int i = 0; i < c->n_params; i++) {
        free((void *)c->params[i].list);
        c->params[i].list = NULL;
        c->params[i].n = 0;
    }
}

pecs_status pecs_case_copy(pecs_case *dst, const pecs_case *src)
{
    *dst = *src;
    for (int i = 0; i < src->n_params; i++) {
        if (src->params[i].type == PECS_PARAM_CHOICE)
            dst->params[i].s = dst->choice_buf[i];
        if (src->params[i].n > 0) {
            double *l = malloc((size_t)src->params[i].n * sizeof *l);
            if (!l) {
                for (int k = 0; k < i; k++)
                    free((void *)dst->params[k].list);
                return PECS_NOMEM;
            }
            memcpy(l, src->params[i].list, (size_t)src->params[i].n * sizeof *l);
            dst->params[i].list = l;
        }
    }
    return PECS_OK;
}

pecs_status pecs_case_set(pecs_case *c, const char *key, const char *value, char *why, size_t why_len)
{
    const knob *k = find_knob(key);
    if (k)
        return k->set(c, value, why, why_len);
    for (int i = 0; i < c->n_params; i++)
        if (strcmp(c->enc->params[i].name, key) == 0)
            return param_set(c, i, &c->enc->params[i], value, why, why_len);
    if (pecs_registry_is_param_name(key))
        snprintf(why, why_len, "key '%s' is not a parameter of encoding '%s' (see: pecs describe %s)", key, c->enc->id,
                 c->enc->id);
    else
        snprintf(why, why_len, "unknown key '%s'", key);
    return PECS_INVALID;
}

/* ---- derived quantities ---------------------------------------------------------------------------- */

int64_t pecs_case_tokens(const pecs_case *c) { return c->pos_kind == PECS_POS_DECODE ? 1 : c->tokens; }

/* A kattn encoding with a `memory` parameter (focused_memory, extended_mind, fitm.calibration) has keys [memory |
 * local]: unset, they are the memory parameter plus the tokens. The registry says which, not a list of ids. */
static int has_memory(const pecs_case *c)
{
    return c->enc && c->enc->form == PECS_FORM_KATTN && pecs_registry_param(c->enc, "memory") != NULL;
}

static int64_t memory_keys(const pecs_case *c)
{
    for (int i = 0; has_memory(c) && i < c->n_params; i++)
        if (!strcmp(c->params[i].name, "memory"))
            return c->params[i].i;
    return 0;
}

int64_t pecs_case_keys(const pecs_case *c) { return c->keys ? c->keys : c->tokens + memory_keys(c); }

/* Products in double: a case is validated before anything multiplies its sizes in int64, so absurd
 * knobs are reported by the memory cap instead of wrapping around. */
static double out_elems_d(const pecs_case *c)
{
    double T = (double)pecs_case_tokens(c);
    if (pecs_form_pairwise(c->enc->form))
        return (double)pecs_case_out_heads(c) * T * (double)pecs_case_keys(c);
    if (c->enc->form == PECS_FORM_ROTATE || c->enc->form == PECS_FORM_KATTN) /* out [T, H, D] */
        return T * (double)c->heads * (double)c->head_dim;
    if (c->enc->form == PECS_FORM_POSMAP) /* out [P, T] */
        return T * (double)c->enc->pos_rows;
    return T * (double)c->head_dim;
}

int pecs_form_pairwise(pecs_form f) { return f == PECS_FORM_BIAS || f == PECS_FORM_MASK || f == PECS_FORM_SCORES; }

int64_t pecs_case_out_heads(const pecs_case *c) { return has_heads(c) ? c->heads : 1; }

int64_t pecs_case_out_elems(const pecs_case *c) { return (int64_t)out_elems_d(c); }

double pecs_case_bytes(const pecs_case *c)
{
    int pairwise = pecs_form_pairwise(c->enc->form);
    double pos = (double)(pecs_case_tokens(c) * (pairwise ? 1 : c->enc->pos_rows) + (pairwise ? pecs_case_keys(c) : 0));
    double in = c->enc->form == PECS_FORM_SCORES /* q and k are read once, not per logit */
                    ? (double)(pecs_case_tokens(c) + pecs_case_keys(c)) * (double)c->heads * (double)c->head_dim
                    : c->enc->reads * out_elems_d(c);
    if (c->enc->form == PECS_FORM_POSMAP) /* idx in, ids out, both in the position dtype */
        return (pecs_case_tokens(c) + out_elems_d(c)) * (double)pecs_dtype_size(c->pos_dtype);
    if (c->enc->form == PECS_FORM_KATTN) /* q, k, v read once, out written; no positions */
        return ((double)(pecs_case_tokens(c) + 2 * pecs_case_keys(c)) * (double)c->heads * (double)c->head_dim +
                out_elems_d(c)) * (double)pecs_dtype_size(c->dtype);
    return (in + out_elems_d(c)) * (double)pecs_dtype_size(c->dtype) + pos * (double)pecs_dtype_size(c->pos_dtype);
}

/* ---- validation ------------------------------------------------------------------------------------ */

/* The positions the case generates (instance.c `position`, every row and shift) and its largest query-key
 * distance: what the reference is evaluated at before a case is accepted. Random positions may reach any
 * value below pos_arg, so their span is the whole range. */
static pecs_ref_span position_span(const pecs_case *c)
{
    double T = (double)pecs_case_tokens(c), L = (double)pecs_case_keys(c), a = (double)c->pos_arg;
    double n = pecs_form_pairwise(c->enc->form) && L > T ? L : T;
    pecs_ref_span s = {a, a, 0.0};
    switch (c->pos_kind) {
    case PECS_POS_CONTIG: s.hi = a + n - 1, s.dist = n - 1; break;
    case PECS_POS_RANDOM: s.lo = 0, s.hi = a - 1, s.dist = a - 1; break;
    case PECS_POS_CONST: break;
    case PECS_POS_GRID: s.lo = 0, s.hi = n > a ? n - 1 : a - 1, s.dist = s.hi; break;
    default: /* decode: the query at pos_arg, keys (pairwise forms) ending there */
        if (pecs_form_pairwise(c->enc->form))
            s.lo = a - L + 1, s.dist = L - 1;
        break;
    }
    if (c->check == PECS_CHECK_INVARIANCE)
        s.hi += (double)c->shifts[c->n_shifts - 1];
    return s;
}

/* Largest |position| the case generates (the bound the position dtype must hold). */
static int64_t max_position(const pecs_case *c)
{
    int64_t T = pecs_case_tokens(c), m;
    switch (c->pos_kind) {
    case PECS_POS_CONTIG:
        m = c->pos_arg + (pecs_form_pairwise(c->enc->form) && pecs_case_keys(c) > T ? pecs_case_keys(c) : T) - 1;
        break;
    case PECS_POS_RANDOM: m = c->pos_arg - 1; break;
    case PECS_POS_CONST: m = c->pos_arg < 0 ? -c->pos_arg : c->pos_arg; break;
    case PECS_POS_GRID: m = T > c->pos_arg ? T : c->pos_arg; break;
    default: m = c->pos_arg; break;
    }
    if (c->check == PECS_CHECK_INVARIANCE)
        m += c->shifts[c->n_shifts - 1];
    return m;
}

pecs_status pecs_case_validate(const pecs_case *c, char *why, size_t why_len)
{
    pecs_form form = c->enc->form;
    /* Inputs and outputs three times (arena, private snapshot, checked copy), and the judge's double arrays per
     * output element (runner.c judge): the reference and the output, plus for rotate the angle allowance and,
     * with a gain, the raw copies, the gains and their quanta, plus for softmax-compared forms the raw copies. */
    double dbl = 2.0 + (form == PECS_FORM_ROTATE ? 5.0 : 0.0) + (c->compare == PECS_COMPARE_SOFTMAX ? 2.0 : 0.0);
    double bytes = pecs_case_bytes(c) * (c->check == PECS_CHECK_INVARIANCE ? 4.0 : 3.0) + out_elems_d(c) * 8.0 * dbl;
    if (bytes > g_mem_cap) {
        snprintf(why, why_len, "case needs about %.0f MiB of buffers, over the %.0f MiB cap", bytes / 1048576.0,
                 g_mem_cap / 1048576.0);
        return PECS_LIMIT;
    }
    if (form != PECS_FORM_ROTATE && c->layout != PECS_LAYOUT_THD) {
        snprintf(why, why_len, "key 'layout': value 'htd' applies to rotate-form encodings only ('%s' is %s)",
                 c->enc->id, pecs_form_name(form));
        return PECS_INVALID;
    }
    if (form == PECS_FORM_POSMAP && c->view == PECS_VIEW_INPLACE) {
        snprintf(why, why_len, "key 'view': value 'inplace' does not apply to posmap-form '%s' (out [P, T] is not "
                 "idx's shape for every encoding)", c->enc->id);
        return PECS_INVALID;
    }
    if (form == PECS_FORM_KATTN && (c->view == PECS_VIEW_INPLACE || c->values == PECS_VALUES_SPECIAL)) {
        snprintf(why, why_len, "key '%s' does not apply to kattn-form '%s' (%s)", c->view == PECS_VIEW_INPLACE ?
                 "view: inplace" : "values: special", c->enc->id, c->view == PECS_VIEW_INPLACE ?
                 "out [Lq, H, D] overwrites no input" : "every output sums every key's value: one NaN is every output");
        return PECS_INVALID;
    }
    for (int i = 0; form == PECS_FORM_KATTN && i < c->n_params; i++) /* the Toeplitz table's reach */
        if (!strcmp(c->params[i].name, "max_distance") &&
            (pecs_case_tokens(c) - 1 > c->params[i].i || pecs_case_keys(c) - 1 > c->params[i].i)) {
            snprintf(why, why_len, "'%s': %lld queries and %lld keys need max_distance >= %lld (it is %lld)", c->enc->id,
                     (long long)pecs_case_tokens(c), (long long)pecs_case_keys(c),
                     (long long)((pecs_case_tokens(c) > pecs_case_keys(c) ? pecs_case_tokens(c) : pecs_case_keys(c)) - 1),
                     (long long)c->params[i].i);
            return PECS_INVALID;
        }
    for (int i = 0; form == PECS_FORM_KATTN && i < c->n_params; i++) /* urpe: the model's bucket square */
        if (!strcmp(c->params[i].name, "max_seq_len") &&
            (pecs_case_tokens(c) > c->params[i].i || pecs_case_keys(c) > c->params[i].i)) {
            snprintf(why, why_len, "'%s': %lld queries and %lld keys need max_seq_len >= %lld (it is %lld)", c->enc->id,
                     (long long)pecs_case_tokens(c), (long long)pecs_case_keys(c),
                     (long long)(pecs_case_tokens(c) > pecs_case_keys(c) ? pecs_case_tokens(c) : pecs_case_keys(c)),
                     (long long)c->params[i].i);
            return PECS_INVALID;
        }
    if ((!strcmp(c->enc->id, "landmark") || !strcmp(c->enc->id, "longheads")) &&
        pecs_case_keys(c) != pecs_case_tokens(c)) { /* query i is token i */
        snprintf(why, why_len, "'%s' is causal self-attention (query i is token i): keys (%lld) must equal tokens "
                 "(%lld)", c->enc->id, (long long)pecs_case_keys(c), (long long)pecs_case_tokens(c));
        return PECS_INVALID;
    }
    if (!strcmp(c->enc->id, "longheads") && c->head_dim % 2) {
        snprintf(why, why_len, "'longheads' rotates half-split pairs (d, d + D/2): head_dim must be even, got %lld",
                 (long long)c->head_dim);
        return PECS_INVALID;
    }
    if (has_memory(c) && pecs_case_keys(c) != pecs_case_tokens(c) + memory_keys(c)) {
        snprintf(why, why_len, "'%s' keys are [memory | local] (query i is local token i): keys (%lld) must "
                 "be memory (%lld) + tokens (%lld); leave keys unset", c->enc->id, (long long)pecs_case_keys(c),
                 (long long)memory_keys(c), (long long)pecs_case_tokens(c));
        return PECS_INVALID;
    }
    if (has_memory(c) && pecs_registry_param(c->enc, "base") && c->head_dim % 2) { /* the ones that rotate */
        snprintf(why, why_len, "'%s' rotates half-split pairs (d, d + D/2): head_dim must be even, got %lld",
                 c->enc->id, (long long)c->head_dim);
        return PECS_INVALID;
    }
    if (!strcmp(c->enc->id, "pine")) { /* self-attention over [prefix | documents | suffix >= 1] */
        int64_t P = 0, N = 0;
        for (int i = 0; i < c->n_params; i++) {
            if (!strcmp(c->params[i].name, "prefix"))
                P = c->params[i].i;
            for (int64_t j = 0; !strcmp(c->params[i].name, "lengths") && j < c->params[i].n; j++)
                N += (int64_t)c->params[i].list[j];
        }
        if (pecs_case_keys(c) != pecs_case_tokens(c)) {
            snprintf(why, why_len, "'pine' is self-attention over the prompt (query i is token i): keys (%lld) must "
                     "equal tokens (%lld)", (long long)pecs_case_keys(c), (long long)pecs_case_tokens(c));
            return PECS_INVALID;
        }
        if (c->head_dim % 2) {
            snprintf(why, why_len, "'pine' rotates half-split pairs (d, d + D/2): head_dim must be even, got %lld",
                     (long long)c->head_dim);
            return PECS_INVALID;
        }
        if (P + N >= pecs_case_tokens(c)) {
            snprintf(why, why_len, "'pine': prefix (%lld) + documents (%lld) must leave at least one suffix token of "
                     "the %lld tokens", (long long)P, (long long)N, (long long)pecs_case_tokens(c));
            return PECS_INVALID;
        }
    }
    for (int i = 0; !strcmp(c->enc->id, "peg") && i < c->n_params; i++) /* peg: the tokens after the class token fill the grid */
        if (!strcmp(c->params[i].name, "width")) {
            int64_t n = 0, T = pecs_case_tokens(c);
            for (int k = 0; k < c->n_params; k++)
                if (!strcmp(c->params[k].name, "class_tokens"))
                    n = c->params[k].i;
            if (T - n < c->params[i].i || (T - n) % c->params[i].i) {
                snprintf(why, why_len, "'%s': %lld tokens less %lld class token(s) is not a positive multiple of width %lld",
                         c->enc->id, (long long)T, (long long)n, (long long)c->params[i].i);
                return PECS_INVALID;
            }
        }
    if (!strcmp(c->enc->id, "graph.maglap") && pecs_case_tokens(c) > 128) { /* a dense eigendecomposition per call */
        snprintf(why, why_len, "'%s': %lld tokens (graph nodes) is over the reference's 128 (a dense O(T^3) Hermitian "
                 "eigendecomposition per call)", c->enc->id, (long long)pecs_case_tokens(c));
        return PECS_INVALID;
    }
    if (pecs_form_pairwise(form) && c->view == PECS_VIEW_INPLACE) {
        snprintf(why, why_len, "key 'view': value 'inplace' does not apply to %s-form '%s' (no input of the output's "
                 "shape to overwrite)", pecs_form_name(form), c->enc->id);
        return PECS_INVALID;
    }
    if (c->compare == PECS_COMPARE_SOFTMAX && (!pecs_form_pairwise(form) || c->check != PECS_CHECK_EQUIVALENCE)) {
        snprintf(why, why_len, "key 'compare': value 'softmax' applies to equivalence checks of bias, mask and scores "
                 "forms ('%s' is %s)", c->enc->id, pecs_form_name(form));
        return PECS_INVALID;
    }
    if (c->out_view != PECS_OUT_SAME && (form != PECS_FORM_ROTATE && form != PECS_FORM_EMBED)) {
        snprintf(why, why_len, "key 'out_view': value '%s' applies to rotate and embed forms ('%s' is %s: out is its "
                 "only tensor of that shape)", OUT_VIEWS[c->out_view], c->enc->id, pecs_form_name(form));
        return PECS_INVALID;
    }
    if (c->out_view != PECS_OUT_SAME && c->view == PECS_VIEW_INPLACE) {
        snprintf(why, why_len, "key 'out_view': value '%s' contradicts view=inplace (out is x)", OUT_VIEWS[c->out_view]);
        return PECS_INVALID;
    }
    if (c->out_view == PECS_OUT_TRANSPOSED && form != PECS_FORM_ROTATE) {
        snprintf(why, why_len, "key 'out_view': value 'transposed' applies to rotate-form encodings only ('%s' is %s)",
                 c->enc->id, pecs_form_name(form));
        return PECS_INVALID;
    }
    if (c->values == PECS_VALUES_SPECIAL && form != PECS_FORM_ROTATE && form != PECS_FORM_EMBED) {
        snprintf(why, why_len, "key 'values': value 'special' seeds x, which %s-form '%s' does not have (rotate and "
                 "embed forms only)", pecs_form_name(form), c->enc->id);
        return PECS_INVALID;
    }
    if (c->values == PECS_VALUES_SPECIAL && c->check == PECS_CHECK_INVARIANCE) {
        snprintf(why, why_len, "key 'values': value 'special' applies to equivalence checks (logits of NaN and Inf "
                 "inputs say nothing about position)");
        return PECS_INVALID;
    }
    if (c->check == PECS_CHECK_INVARIANCE && c->enc->invariance == PECS_INV_NA) {
        snprintf(why, why_len, "key 'check': value 'invariance' does not apply to '%s' (invariance n/a in the registry)",
                 c->enc->id);
        return PECS_INVALID;
    }
    if (c->pos_dtype != PECS_DT_F64 && pecs_registry_real_positions(c->enc)) {
        snprintf(why, why_len, "key 'pos_dtype': value '%s' cannot hold the ids of '%s' (%s): use f64",
                 pecs_dtype_name(c->pos_dtype), c->enc->id, pecs_registry_real_positions(c->enc));
        return PECS_INVALID;
    }
    if (c->pos_dtype == PECS_DT_I32 && max_position(c) > INT32_MAX) {
        snprintf(why, why_len, "key 'pos_dtype': value 'i32' cannot hold position %lld (use i64)",
                 (long long)max_position(c));
        return PECS_INVALID;
    }
    if (c->pos_kind == PECS_POS_DECODE && pecs_form_pairwise(form) && pecs_case_keys(c) > c->pos_arg + 1) {
        snprintf(why, why_len, "key 'positions': decode@%lld leaves no room for %lld keys ending there",
                 (long long)c->pos_arg, (long long)pecs_case_keys(c));
        return PECS_INVALID;
    }
    if (c->check == PECS_CHECK_INVARIANCE && !pecs_form_pairwise(form) &&
        (double)pecs_case_tokens(c) * (double)pecs_case_tokens(c) * (double)(form == PECS_FORM_EMBED ? 1 : c->heads) >
            (double)(1 << 22)) {
        snprintf(why, why_len, "key 'tokens': invariance forms heads x tokens^2 logits; %lld tokens x %lld heads is "
                 "over the 2^22 cap", (long long)pecs_case_tokens(c), (long long)c->heads);
        return PECS_LIMIT;
    }
    /* Cross-parameter rules live with the mathematics: evaluate the reference once, and at the ends of the
     * case's positions (a learned table's npos, a relative table's reach). */
    pecs_problem p = {.struct_size = sizeof p, .encoding = c->enc->id, .form = form, .dtype = c->dtype,
                      .params = c->params, .n_params = c->n_params};
    pecs_ref_span span = position_span(c);
    return pecs_ref_check(&p, c->heads, c->head_dim, form == PECS_FORM_POSMAP ? NULL : &span, why, why_len);
}

/* ---- canonical string ---------------------------------------------------------------------------- */

/* " k=v" for every parameter that differs from the registry default, appended to b. */
static void params_format(const pecs_case *c, pecs_sb *b)
{
    pecs_case dflt;
    int have_dflt = pecs_case_init(&dflt, c->enc) == PECS_OK;
    for (int i = 0; i < c->n_params; i++) {
        if (have_dflt && param_equal(&c->params[i], &dflt.params[i]))
            continue;
        pecs_sb_addf(b, " %s=", c->params[i].name);
        param_format(&c->params[i], b);
    }
    if (have_dflt)
        pecs_case_free(&dflt);
}

char *pecs_case_params_format(const pecs_case *c)
{
    pecs_sb b = {0};
    pecs_sb_adds(&b, "");
    params_format(c, &b);
    return pecs_sb_take(&b);
}

char *pecs_case_format(const pecs_case *c)
{
    pecs_sb b = {0};
    pecs_sb_adds(&b, c->enc->id);
    params_format(c, &b);
    for (int i = 0; i < N_KNOBS; i++) {
        if (!g_knobs[i].applies(c))
            continue;
        pecs_sb_addf(&b, " %s=", g_knobs[i].doc.name);
        g_knobs[i].fmt(c, &b);
    }
    return pecs_sb_take(&b);
}

pecs_status pecs_case_parse(pecs_case *c, const char *spec, char *why, size_t why_len)
{
    char *copy = pecs_strdup(spec);
    if (!copy)
        return PECS_NOMEM;
    pecs_status st = PECS_OK;
    int inited = 0;
    char *save = NULL;
    char *tok = strtok_r(copy, " \t\n", &save);
    if (!tok) {
        snprintf(why, why_len, "empty case string");
        st = PECS_INVALID;
        goto cleanup;
    }
    const pecs_encoding_info *e = pecs_registry_resolve(tok, why, why_len);
    if (!e) {
        st = PECS_INVALID;
        goto cleanup;
    }
    st = pecs_case_init(c, e);
    if (st != PECS_OK)
        goto cleanup;
    inited = 1;
    while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(why, why_len, "'%s' is not key=value", tok);
            st = PECS_INVALID;
            goto cleanup;
        }
        *eq = '\0';
        st = pecs_case_set(c, tok, eq + 1, why, why_len);
        if (st != PECS_OK)
            goto cleanup;
    }
    st = pecs_case_validate(c, why, why_len);
cleanup:
    if (st != PECS_OK && st != PECS_LIMIT && inited) /* over a limit: a valid case, kept for its reproducer */
        pecs_case_free(c);
    free(copy);
    return st;
}
