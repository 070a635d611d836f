/* tests/plugins/engines/engine.h — what the three engine plugins (hf.c, ggml.c, double.c) share: the
 * checks every rotate problem gets, a view of its tensors, the sections rule and the pair rotation
 * itself, in float32 (as both engines do it) or in double. Header-only, built against include/pecs only,
 * like a vendor's plugin.
 *
 * The rotation of one token, for every head, from per-pair cos/sin already scaled by the gain:
 *     y_a = x_a c - x_b s,   y_b = x_a s + x_b c
 * HF's q*cos + rotate_half(q)*sin gives the same float32 results: (-x_b)*s is -(x_b*s) exactly and
 * float addition commutes; so does the complex product of view_as_complex for the interleaved pairing
 * and ggml's rotate_pairs (x0*cos - x1*sin, x0*sin + x1*cos). The Makefile builds these files with
 * -ffp-contract=off: each operation is rounded, as in the engines' eager code.
 */
#ifndef PECS_ENGINE_H
#define PECS_ENGINE_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pecs/backend.h"

typedef struct eng_view {
    const pecs_tensor *x, *pos, *out;
    int64_t T, H, D, R, n; /* n = R/2 pairs */
    int64_t rows;          /* position rows P of "pos" */
    int half;              /* pairing=half: (i, i+n); else (2i, 2i+1) */
    int in_place;
} eng_view;

/* Writes the reason and returns 0, so supports() can `return eng_no(...)`. */
__attribute__((format(printf, 3, 4))) static inline int eng_no(char *reason, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, n, fmt, ap);
    va_end(ap);
    return 0;
}

/* The checks every engine makes before anything encoding-specific: a rotate problem with its three
 * tensors, storage f32/f16/bf16 and a valid rotary dim. Fills v; 0 with the reason otherwise. */
static inline int eng_open(const pecs_problem *p, eng_view *v, char *reason, size_t rn)
{
    memset(v, 0, sizeof *v);
    if (p->form != PECS_FORM_ROTATE)
        return eng_no(reason, rn, "engine plugins implement the rotate form only, not %s", p->encoding);
    if (p->dtype != PECS_DT_F32 && p->dtype != PECS_DT_F16 && p->dtype != PECS_DT_BF16)
        return eng_no(reason, rn, "engine plugins store f32, f16 or bf16, not %s", pecs_dtype_name(p->dtype));
    v->x = pecs_problem_tensor(p, "x"), v->pos = pecs_problem_tensor(p, "pos"), v->out = pecs_problem_tensor(p, "out");
    if (!v->x || !v->pos || !v->out || v->x->ndim != 3 || v->out->ndim != 3 || v->pos->ndim < 1 || v->pos->ndim > 2)
        return eng_no(reason, rn, "rotate problem needs x [T,H,D], pos [P,T] and out [T,H,D]");
    v->T = v->x->shape[0], v->H = v->x->shape[1], v->D = v->x->shape[2];
    v->rows = v->pos->ndim == 2 ? v->pos->shape[0] : 1;
    v->R = pecs_param_int(p, "rotary_dim", 0);
    v->R = v->R ? v->R : v->D;
    if (v->R < 2 || v->R % 2 || v->R > v->D)
        return eng_no(reason, rn, "rotary_dim %lld must be even, >= 2 and <= head_dim %lld", (long long)v->R,
                      (long long)v->D);
    v->n = v->R / 2;
    v->half = pecs_param_is(p, "pairing", "half");
    v->in_place = p->in_place;
    return 1;
}

/* sections [t, h, w] (pairs per position row) of rope.mrope / rope.imrope: integers summing to n; empty
 * means every pair on t. 0 if malformed (the harness validates them first; this is the backstop). */
static inline int eng_sections(const pecs_problem *p, int64_t n, int64_t sec[3])
{
    const pecs_param *q = pecs_problem_param(p, "sections");
    sec[0] = n, sec[1] = sec[2] = 0;
    if (!q || q->n == 0)
        return 1;
    if (q->n != 3)
        return 0;
    for (int k = 0; k < 3; k++) {
        if (q->list[k] != floor(q->list[k]) || q->list[k] < 0)
            return 0;
        sec[k] = (int64_t)q->list[k];
    }
    return sec[0] + sec[1] + sec[2] == n;
}

/* Lanes of pair i: a = i*da, b = a + db. */
static inline void eng_lanes(const eng_view *v, int64_t i, int64_t *a, int64_t *b)
{
    *a = v->half ? i : 2 * i;
    *b = v->half ? i + v->n : 2 * i + 1;
}

/* Token t, every head: the float32 rotation (loads widen exactly; the store rounds to nearest even, as
 * torch's .to(dtype) and ggml's from_f32 do), then the pass-through channels R..D-1. */
static inline void eng_rotate_f32(const eng_view *v, int64_t t, const float *c, const float *s)
{
    const pecs_tensor *x = v->x, *o = v->out;
    for (int64_t h = 0; h < v->H; h++) {
        int64_t xo = t * x->stride[0] + h * x->stride[1], oo = t * o->stride[0] + h * o->stride[1];
        for (int64_t i = 0; i < v->n; i++) {
            int64_t a, b;
            eng_lanes(v, i, &a, &b);
            float x0 = pecs_load_f32(x->data, x->dtype, xo + a * x->stride[2]);
            float x1 = pecs_load_f32(x->data, x->dtype, xo + b * x->stride[2]);
            pecs_store_f32(o->data, o->dtype, oo + a * o->stride[2], x0 * c[i] - x1 * s[i]);
            pecs_store_f32(o->data, o->dtype, oo + b * o->stride[2], x0 * s[i] + x1 * c[i]);
        }
        for (int64_t d = v->R; d < v->D && !v->in_place; d++)
            pecs_store_f32(o->data, o->dtype, oo + d * o->stride[2], pecs_load_f32(x->data, x->dtype, xo + d * x->stride[2]));
    }
}

/* The same in double, each output rounded once to the storage dtype. */
static inline void eng_rotate_f64(const eng_view *v, int64_t t, const double *c, const double *s)
{
    const pecs_tensor *x = v->x, *o = v->out;
    for (int64_t h = 0; h < v->H; h++) {
        int64_t xo = t * x->stride[0] + h * x->stride[1], oo = t * o->stride[0] + h * o->stride[1];
        for (int64_t i = 0; i < v->n; i++) {
            int64_t a, b;
            eng_lanes(v, i, &a, &b);
            double x0 = pecs_load_f64(x->data, x->dtype, xo + a * x->stride[2]);
            double x1 = pecs_load_f64(x->data, x->dtype, xo + b * x->stride[2]);
            pecs_store_f64(o->data, o->dtype, oo + a * o->stride[2], x0 * c[i] - x1 * s[i]);
            pecs_store_f64(o->data, o->dtype, oo + b * o->stride[2], x0 * s[i] + x1 * c[i]);
        }
        for (int64_t d = v->R; d < v->D && !v->in_place; d++)
            pecs_store_f64(o->data, o->dtype, oo + d * o->stride[2], pecs_load_f64(x->data, x->dtype, xo + d * x->stride[2]));
    }
}

/* Is this the encoding `id`? */
static inline int eng_is(const pecs_problem *p, const char *id) { return strcmp(p->encoding, id) == 0; }

#endif
