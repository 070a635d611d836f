/* reference/forms.c — the form drivers (rotate, bias, embed) and the dispatch generated from the
 * registry. The drivers do the loops; the per-encoding hooks hold the mathematics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"
#include "registry.h"

typedef union ref_hook {
    pecs_status (*rotate)(const pecs_problem *, int64_t, double *, double *, char *, size_t);
    pecs_status (*bias)(const pecs_problem *, int64_t, int64_t, double, double, double *, char *, size_t);
    pecs_status (*embed)(const pecs_problem *, int64_t, double, double *, char *, size_t);
} ref_hook;

#define REF_SLOT_ROTATE(sym) {.rotate = pecs_ref_##sym}
#define REF_SLOT_BIAS(sym) {.bias = pecs_ref_##sym}
#define REF_SLOT_EMBED(sym) {.embed = pecs_ref_##sym}
static const ref_hook g_hooks[PECS_ENC_COUNT] = {
#define PECS_ENCODING(sym, id, form, ...) REF_SLOT_##form(sym),
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
};

static const pecs_encoding_info *problem_encoding(const pecs_problem *p, char *why, size_t why_len)
{
    const pecs_encoding_info *e = pecs_registry_find(p->encoding);
    if (!e)
        snprintf(why, why_len, "unknown encoding '%s'", p->encoding);
    return e;
}

int64_t pecs_ref_rotary_dim(const pecs_problem *p, int64_t head_dim, char *why, size_t why_len)
{
    int64_t R = pecs_param_int(p, "rotary_dim", 0);
    if (R == 0)
        R = head_dim;
    if (R < 2 || R % 2 != 0 || R > head_dim) {
        snprintf(why, why_len, "rotary_dim %lld must be even, >= 2 and <= head_dim %lld", (long long)R,
                 (long long)head_dim);
        return 0;
    }
    return R;
}

pecs_status pecs_ref_schedule(const pecs_problem *p, int64_t R, double *inv_freq, double *attn, char *why,
                              size_t why_len)
{
    const pecs_encoding_info *e = problem_encoding(p, why, why_len);
    if (!e)
        return PECS_INVALID;
    if (e->form != PECS_FORM_ROTATE) {
        snprintf(why, why_len, "encoding '%s' has no frequency schedule (form %s)", e->id, pecs_form_name(e->form));
        return PECS_INVALID;
    }
    pecs_status st = g_hooks[e->enc].rotate(p, R, inv_freq, attn, why, why_len);
    if (st != PECS_OK)
        return st;
    const pecs_param *ff = pecs_problem_param(p, "freq_factors");
    if (ff && ff->n > 0) {
        if (ff->n != R / 2) {
            snprintf(why, why_len, "freq_factors has %lld values, rotary_dim %lld needs %lld", (long long)ff->n,
                     (long long)R, (long long)(R / 2));
            return PECS_INVALID;
        }
        for (int64_t i = 0; i < R / 2; i++)
            inv_freq[i] /= ff->list[i];
    }
    *attn *= pecs_param_real(p, "attn_factor", 1.0);
    return PECS_OK;
}

static int64_t at3(const pecs_tensor *t, int64_t a, int64_t b, int64_t c)
{
    return a * t->stride[0] + b * t->stride[1] + c * t->stride[2];
}

static pecs_status run_rotate(const pecs_problem *p, char *why, size_t why_len)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!x || !pos || !out) {
        snprintf(why, why_len, "rotate problem needs tensors x, pos and out");
        return PECS_INVALID;
    }
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2];
    int64_t R = pecs_ref_rotary_dim(p, D, why, why_len);
    if (R == 0)
        return PECS_INVALID;
    pecs_status st = PECS_OK;
    double *inv_freq = calloc((size_t)(R / 2), sizeof *inv_freq);
    if (!inv_freq)
        return PECS_NOMEM;
    double attn = 1.0;
    st = pecs_ref_schedule(p, R, inv_freq, &attn, why, why_len);
    if (st != PECS_OK)
        goto cleanup;
    int half = pecs_param_is(p, "pairing", "half");
    const double *xd = x->data;
    double *od = out->data;
    for (int64_t t = 0; t < T; t++) {
        double m = pecs_pos_at(pos, 0, t);
        for (int64_t h = 0; h < H; h++) {
            for (int64_t i = 0; i < R / 2; i++) {
                int64_t a = half ? i : 2 * i, b = half ? i + R / 2 : 2 * i + 1;
                double s, c;
                pecs_ref_sincos(m, inv_freq[i], &s, &c);
                double xa = xd[at3(x, t, h, a)], xb = xd[at3(x, t, h, b)];
                od[at3(out, t, h, a)] = attn * (xa * c - xb * s);
                od[at3(out, t, h, b)] = attn * (xa * s + xb * c);
            }
            for (int64_t d = R; d < D; d++)
                od[at3(out, t, h, d)] = xd[at3(x, t, h, d)];
        }
    }
cleanup:
    free(inv_freq);
    return st;
}

static pecs_status run_bias(const pecs_problem *p, const ref_hook *hook, char *why, size_t why_len)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!qp || !kp || !out) {
        snprintf(why, why_len, "bias problem needs tensors qpos, kpos and out");
        return PECS_INVALID;
    }
    double *od = out->data;
    int64_t H = out->shape[0];
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < out->shape[1]; i++)
            for (int64_t j = 0; j < out->shape[2]; j++) {
                pecs_status st = hook->bias(p, H, h, pecs_pos_at(qp, 0, i), pecs_pos_at(kp, 0, j),
                                            &od[at3(out, h, i, j)], why, why_len);
                if (st != PECS_OK)
                    return st;
            }
    return PECS_OK;
}

static pecs_status run_embed(const pecs_problem *p, const ref_hook *hook, char *why, size_t why_len)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!x || !pos || !out) {
        snprintf(why, why_len, "embed problem needs tensors x, pos and out");
        return PECS_INVALID;
    }
    int64_t T = x->shape[0], D = x->shape[1];
    double *row = calloc((size_t)D, sizeof *row);
    if (!row)
        return PECS_NOMEM;
    pecs_status st = PECS_OK;
    const double *xd = x->data;
    double *od = out->data;
    for (int64_t t = 0; t < T && st == PECS_OK; t++) {
        st = hook->embed(p, D, pecs_pos_at(pos, 0, t), row, why, why_len);
        for (int64_t d = 0; d < D && st == PECS_OK; d++)
            od[t * out->stride[0] + d * out->stride[1]] = xd[t * x->stride[0] + d * x->stride[1]] + row[d];
    }
    free(row);
    return st;
}

pecs_status pecs_ref_check(const pecs_problem *p, int64_t heads, int64_t head_dim, char *why, size_t why_len)
{
    const pecs_encoding_info *e = problem_encoding(p, why, why_len);
    if (!e)
        return PECS_INVALID;
    pecs_status st = PECS_OK;
    double *buf = calloc((size_t)(head_dim > 0 ? head_dim : 1), sizeof *buf), attn = 1.0;
    if (!buf)
        return PECS_NOMEM;
    switch (e->form) {
    case PECS_FORM_ROTATE: {
        int64_t R = pecs_ref_rotary_dim(p, head_dim, why, why_len);
        st = R ? pecs_ref_schedule(p, R, buf, &attn, why, why_len) : PECS_INVALID;
        break;
    }
    case PECS_FORM_BIAS:
        for (int64_t h = 0; h < heads && st == PECS_OK; h++)
            st = g_hooks[e->enc].bias(p, heads, h, 1.0, 0.0, buf, why, why_len);
        break;
    case PECS_FORM_EMBED: st = g_hooks[e->enc].embed(p, head_dim, 0.0, buf, why, why_len); break;
    default: break;
    }
    free(buf);
    return st;
}

pecs_status pecs_ref_run(const pecs_problem *p, char *why, size_t why_len)
{
    const pecs_encoding_info *e = problem_encoding(p, why, why_len);
    if (!e)
        return PECS_INVALID;
    switch (e->form) {
    case PECS_FORM_ROTATE: return run_rotate(p, why, why_len);
    case PECS_FORM_BIAS: return run_bias(p, &g_hooks[e->enc], why, why_len);
    case PECS_FORM_EMBED: return run_embed(p, &g_hooks[e->enc], why, why_len);
    default:
        snprintf(why, why_len, "form %s has no reference driver yet", pecs_form_name(e->form));
        return PECS_UNSUPPORTED;
    }
}
