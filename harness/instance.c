/* harness/instance.c */
/* MAP_ANONYMOUS (guard pages) is outside POSIX 2008 in glibc; ask for the default feature set here only. */
#define _DEFAULT_SOURCE
#include "instance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"
#include "gen.h"
#include "npy.h"
#include "reference.h"
#include "util.h"

/* Allocate a guarded view with the given logical shape and strides (elements). In the sizing pass (no
 * arena yet) only the bytes are counted. */
static pecs_status buf_alloc(pecs_instance *in, pecs_buf *b, const char *name, pecs_dtype dt, int ndim,
                             const int64_t *shape, const int64_t *stride)
{
    memset(b, 0, sizeof *b);
    int64_t span = 1; /* elements from the first to one past the last */
    for (int i = 0; i < ndim; i++)
        span += (shape[i] - 1) * stride[i];
    b->span = (size_t)span * pecs_dtype_size(dt);
    b->t.name = name;
    b->t.dtype = dt;
    b->t.ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        b->t.shape[i] = shape[i];
        b->t.stride[i] = stride[i];
    }
    size_t want = b->span + 2 * PECS_SLACK_BYTES;
    if (!in->arena.base) {
        in->need += want;
        in->n_bufs++;
        return PECS_OK;
    }
    if (!(b->raw = pecs_arena_body(&in->arena, want, &b->raw_len)))
        return PECS_NOMEM;
    b->lead = in->flags & PECS_INST_END_ALIGNED ? b->raw_len - b->span : PECS_SLACK_BYTES;
    memset(b->raw, PECS_CANARY, b->raw_len);
    b->t.data = b->raw + b->lead;
    return PECS_OK;
}

static void buf_free(pecs_buf *b)
{
    free(b->given);
    free(b->snap);
    free(b->priv);
    free(b->image0);
    free(b->checked);
    memset(b, 0, sizeof *b);
}

/* Visit every logical element (row-major over the shape) with its storage offset. */
typedef void (*elem_fn)(const pecs_tensor *t, int64_t logical, int64_t offset, void *arg);
static void for_each(const pecs_tensor *t, elem_fn fn, void *arg)
{
    int64_t idx[PECS_MAX_DIMS] = {0}, n = 1, off = 0; /* off: the storage offset of idx, kept as idx moves */
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    for (int64_t k = 0; k < n; k++) {
        fn(t, k, off, arg);
        for (int i = t->ndim - 1; i >= 0; i--) {
            off += t->stride[i];
            if (++idx[i] < t->shape[i])
                break;
            off -= idx[i] * t->stride[i];
            idx[i] = 0;
        }
    }
}

typedef struct gen_arg {
    uint64_t seed, stream, key; /* key: pecs_gen_key(seed, stream) */
    int special; /* values=special: some elements are special bit patterns (gen.h) */
} gen_arg;

static void fill_uniform(const pecs_tensor *t, int64_t k, int64_t off, void *arg)
{
    const gen_arg *g = arg;
    if (g->special && pecs_gen_special(g->seed, g->stream, (uint64_t)k, (uint64_t)t->shape[t->ndim - 1], t->dtype,
                                       (unsigned char *)t->data + (size_t)off * pecs_dtype_size(t->dtype)))
        return;
    pecs_store_f64(t->data, t->dtype, off, pecs_gen_uniform_k(g->key, (uint64_t)k));
}

/* values=special applies to x (rotate, embed) only. */
static int special_buf(const pecs_instance *in, const pecs_buf *b)
{
    return in->c->values == PECS_VALUES_SPECIAL && b == &in->x;
}

static void fill_nan(const pecs_tensor *t, int64_t k, int64_t off, void *arg)
{
    (void)k, (void)arg;
    /* NaN has no integer image: integer outputs (posmap ids) start at the most negative value instead */
    double v = t->dtype == PECS_DT_I32 ? (double)INT32_MIN : t->dtype == PECS_DT_I64 ? -0x1p63 : NAN;
    pecs_store_f64(t->data, t->dtype, off, v);
}

static void read_f64(const pecs_tensor *t, int64_t k, int64_t off, void *arg)
{
    ((double *)arg)[k] = pecs_load_f64(t->data, t->dtype, off);
}

/* Strides of a [d0, d1, ..., dn] view: row-major, innermost rows padded when strided. */
static void row_major(int ndim, const int64_t *shape, int64_t pad, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i] + (i == ndim - 1 ? pad : 0);
    }
}

/* Position of element t on row `row` of a pattern, plus shift. Row 0 of every pattern is what 1-D
 * encodings get; random rows r > 0 draw from a disjoint counter range of the same stream. */
static double position(const pecs_case *c, uint64_t stream, int64_t row, int64_t rows, int64_t t, int64_t count,
                       int64_t shift)
{
    switch (c->pos_kind) {
    case PECS_POS_CONTIG: return (double)(c->pos_arg + t + shift);
    case PECS_POS_RANDOM:
        return (double)((int64_t)(pecs_gen_u64(c->seed, stream, (uint64_t)t + ((uint64_t)row << 48)) % (uint64_t)c->pos_arg) +
                        shift);
    case PECS_POS_CONST: return (double)(c->pos_arg + shift);
    case PECS_POS_GRID: { /* (t, h, w) = (0, t / W, t % W); (h, w) with two rows; t with one */
        int64_t first = rows - 2; /* row index of h */
        if (rows == 1)
            return (double)(t + shift);
        return (double)((row < first ? 0 : row == first ? t / c->pos_arg : t % c->pos_arg) + shift);
    }
    default: /* decode: the query at pos_arg, keys ending there */
        return (double)(stream == PECS_STREAM_KPOS ? c->pos_arg - count + 1 + t + shift : c->pos_arg + shift);
    }
}

static pecs_status make_positions(pecs_instance *in, pecs_buf *b, const char *name, const pecs_case *c, uint64_t stream,
                                  int64_t rows, int64_t count, int64_t shift, int two_d, double *max_abs)
{
    int64_t shape[2] = {rows, count}, stride[2] = {count, 1};
    pecs_status st = two_d ? buf_alloc(in, b, name, c->pos_dtype, 2, shape, stride)
                           : buf_alloc(in, b, name, c->pos_dtype, 1, &shape[1], &stride[1]);
    if (st != PECS_OK || !b->raw)
        return st;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t t = 0; t < count; t++) {
            double p = position(c, stream, r, rows, t, count, shift);
            pecs_store_f64(b->t.data, b->t.dtype, r * count + t, p);
            if (fabs(p) > *max_abs)
                *max_abs = fabs(p);
        }
    return PECS_OK;
}

/* An activation or data tensor drawn from a generator stream. */
static pecs_status make_generated(pecs_instance *in, pecs_buf *b, const char *name, const pecs_case *c, uint64_t stream,
                                  int ndim, const int64_t *shape, const int64_t *stride)
{
    pecs_status st = buf_alloc(in, b, name, c->dtype, ndim, shape, stride);
    b->generated = 1;
    b->stream = stream;
    return st;
}

/* A private copy of a body (into *dst, allocated on first use). */
static pecs_status copy_body(const pecs_buf *b, unsigned char **dst)
{
    if (!b->raw)
        return PECS_OK;
    if (!*dst && !(*dst = pecs_malloc_big(b->raw_len)))
        return PECS_NOMEM;
    memcpy(*dst, b->raw, b->raw_len);
    return PECS_OK;
}

/* The buffer the backend writes: "out", or "x" in place. */
static pecs_buf *out_buf(pecs_instance *in) { return in->c->view == PECS_VIEW_INPLACE ? &in->x : &in->out; }

static pecs_status build(pecs_instance *in, const pecs_case *c, int64_t shift, uint64_t stream, char *why, size_t why_len);

/* out_view: out's own strides (rotate [T,H,D], embed [T,D]); `stride` holds x's and is kept for `same`. */
#define PECS_OUT_ROW_PAD 5
static void out_strides(const pecs_case *c, int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t T = shape[0], D = shape[ndim - 1], pad = c->out_view == PECS_OUT_STRIDED ? PECS_OUT_ROW_PAD : 0;
    int htd = ndim == 3 && (c->layout == PECS_LAYOUT_HTD) != (c->out_view == PECS_OUT_TRANSPOSED);
    if (c->out_view == PECS_OUT_SAME)
        return;
    if (htd) { /* [H][T][D] storage of the [T,H,D] view */
        stride[2] = 1;
        stride[0] = D + pad;
        stride[1] = T * (D + pad);
    } else {
        row_major(ndim, shape, pad, stride);
    }
}

pecs_status pecs_instance_create(pecs_instance *in, const pecs_case *c, int64_t shift, uint64_t stream, char *why,
                                 size_t why_len)
{
    return pecs_instance_create_ex(in, c, shift, stream, 0, why, why_len);
}

/* Two passes over the same builder: one sizes the arena, the second fills it. */
pecs_status pecs_instance_create_ex(pecs_instance *in, const pecs_case *c, int64_t shift, uint64_t stream, int flags,
                                    char *why, size_t why_len)
{
    memset(in, 0, sizeof *in);
    in->arena.fd = -1;
    in->flags = flags;
    pecs_status st = build(in, c, shift, stream, why, why_len);
    if (st != PECS_OK)
        return st;
    size_t need = in->need;
    int n_bufs = in->n_bufs;
    pecs_instance_free(in);
    memset(in, 0, sizeof *in);
    in->flags = flags;
    if ((st = pecs_arena_create(&in->arena, need, n_bufs, flags & PECS_INST_SHARED)) != PECS_OK) {
        snprintf(why, why_len, "cannot map %.0f MiB for the case's buffers", (double)need / 1048576.0);
        return st;
    }
    return build(in, c, shift, stream, why, why_len);
}

static pecs_status build(pecs_instance *in, const pecs_case *c, int64_t shift, uint64_t stream, char *why, size_t why_len)
{
    in->c = c;
    pecs_status st = PECS_OK;
    int64_t T = pecs_case_tokens(c), H = c->heads, D = c->head_dim, pad = c->view == PECS_VIEW_STRIDED ? PECS_ROW_PAD : 0;
    pecs_form form = c->enc->form;
    int nt = 0;
    memcpy(in->params, c->params, (size_t)c->n_params * sizeof *in->params);
    for (int i = 0; i < c->n_params && stream == PECS_STREAM_K; i++)
        if (!strcmp(in->params[i].name, "role"))
            in->params[i].s = "key";
    if (pecs_form_pairwise(form)) {
        int64_t K = pecs_case_keys(c);
        int64_t shape[3] = {pecs_case_out_heads(c), T, K}, stride[3];
        row_major(3, shape, pad, stride);
        int64_t pr = c->enc->pos_rows; /* 1, or 8 box coordinates per token (bros.crel): qpos/kpos [pr, L] */
        if ((st = make_positions(in, &in->qpos, "qpos", c, PECS_STREAM_POS, pr, T, shift, pr > 1, &in->max_abs_pos)) != PECS_OK ||
            (st = make_positions(in, &in->kpos, "kpos", c, PECS_STREAM_KPOS, pr, K, shift, pr > 1, &in->max_abs_pos)) != PECS_OK ||
            (st = buf_alloc(in, &in->out, "out", c->dtype, 3, shape, stride)) != PECS_OK)
            goto fail;
        if (form == PECS_FORM_SCORES) {
            int64_t qs[3] = {T, H, D}, ks[3] = {K, H, D}, qst[3], kst[3];
            row_major(3, qs, 0, qst);
            row_major(3, ks, 0, kst);
            if ((st = make_generated(in, &in->q, "q", c, PECS_STREAM_X, 3, qs, qst)) != PECS_OK ||
                (st = make_generated(in, &in->k, "k", c, PECS_STREAM_K, 3, ks, kst)) != PECS_OK)
                goto fail;
            in->tensors[nt++] = in->q.t;
            in->tensors[nt++] = in->k.t;
        }
        in->tensors[nt++] = in->qpos.t;
        in->tensors[nt++] = in->kpos.t;
    } else if (form == PECS_FORM_ROTATE || form == PECS_FORM_EMBED) {
        int ndim = form == PECS_FORM_ROTATE ? 3 : 2;
        int64_t shape[3] = {T, H, D}, stride[3];
        if (form == PECS_FORM_EMBED) {
            shape[1] = D;
            row_major(2, shape, pad, stride);
        } else if (c->layout == PECS_LAYOUT_THD) {
            row_major(3, shape, pad, stride);
        } else { /* [H][T][D] storage of the [T,H,D] view */
            stride[2] = 1;
            stride[0] = D + pad;
            stride[1] = T * (D + pad);
        }
        if ((st = make_positions(in, &in->pos, "pos", c, PECS_STREAM_POS, c->enc->pos_rows, T, shift, 1, &in->max_abs_pos)) !=
                PECS_OK ||
            (st = make_generated(in, &in->x, "x", c, stream, ndim, shape, stride)) != PECS_OK)
            goto fail;
        int64_t ostride[3] = {stride[0], stride[1], stride[2]};
        out_strides(c, ndim, shape, ostride);
        if (c->view != PECS_VIEW_INPLACE && (st = buf_alloc(in, &in->out, "out", c->dtype, ndim, shape, ostride)) != PECS_OK)
            goto fail;
        in->tensors[nt++] = in->x.t;
        in->tensors[nt++] = in->pos.t;
    } else if (form == PECS_FORM_KATTN) { /* q [T,H,D], k and v [K,H,D] in (v in the x buffer); out [T,H,D] */
        int64_t K = pecs_case_keys(c);
        int64_t qs[3] = {T, H, D}, ks[3] = {K, H, D}, qst[3], kst[3], vst[3], ost[3];
        row_major(3, qs, 0, qst);
        row_major(3, ks, 0, kst);
        row_major(3, ks, pad, vst);
        row_major(3, qs, pad, ost);
        if ((st = make_generated(in, &in->q, "q", c, PECS_STREAM_X, 3, qs, qst)) != PECS_OK ||
            (st = make_generated(in, &in->k, "k", c, PECS_STREAM_K, 3, ks, kst)) != PECS_OK ||
            (st = make_generated(in, &in->x, "v", c, PECS_STREAM_V, 3, ks, vst)) != PECS_OK ||
            (st = buf_alloc(in, &in->out, "out", c->dtype, 3, qs, ost)) != PECS_OK)
            goto fail;
        in->tensors[nt++] = in->q.t;
        in->tensors[nt++] = in->k.t;
        in->tensors[nt++] = in->x.t;
    } else if (form == PECS_FORM_POSMAP) { /* idx [1, T] in; out [P, T] in the same (position) dtype */
        int64_t shape[2] = {c->enc->pos_rows, T}, stride[2];
        row_major(2, shape, pad, stride);
        if ((st = make_positions(in, &in->pos, "idx", c, PECS_STREAM_POS, 1, T, shift, 1, &in->max_abs_pos)) != PECS_OK ||
            (st = buf_alloc(in, &in->out, "out", c->pos_dtype, 2, shape, stride)) != PECS_OK)
            goto fail;
        in->tensors[nt++] = in->pos.t;
    } else {
        snprintf(why, why_len, "form %s has no instance builder", pecs_form_name(form));
        st = PECS_UNSUPPORTED;
        goto fail;
    }
    int64_t wshape[2], wstride[2];
    if (pecs_registry_weights_shape_l(c->enc, c->params, c->n_params, H, D, T, wshape)) {
        row_major(2, wshape, 0, wstride);
        if ((st = make_generated(in, &in->w, "w", c, PECS_STREAM_W, 2, wshape, wstride)) != PECS_OK)
            goto fail;
        in->tensors[nt++] = in->w.t;
    }
    in->tensors[nt] = c->view == PECS_VIEW_INPLACE ? in->x.t : in->out.t;
    in->tensors[nt++].name = "out";
    in->n_out = pecs_case_out_elems(c);
    in->stream = stream;
    in->problem = (pecs_problem){
        .struct_size = sizeof(pecs_problem),
        .encoding = c->enc->id,
        .form = form,
        .dtype = c->dtype,
        .params = in->params,
        .n_params = c->n_params,
        .tensors = in->tensors,
        .n_tensors = nt,
        .in_place = c->view == PECS_VIEW_INPLACE,
        .n_threads = 0,
    };
    if (!in->arena.base) /* sizing pass */
        return PECS_OK;
    pecs_instance_reset(in);
    pecs_buf *inputs[] = {&in->pos, &in->qpos, &in->kpos, &in->q, &in->k, &in->w};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        if ((st = copy_body(inputs[i], &inputs[i]->snap)) != PECS_OK)
            goto fail;
    if (c->view != PECS_VIEW_INPLACE && (st = copy_body(&in->x, &in->x.snap)) != PECS_OK)
        goto fail;
    if ((st = copy_body(out_buf(in), &out_buf(in)->image0)) != PECS_OK)
        goto fail;
    return PECS_OK;
fail:
    pecs_instance_free(in);
    return st;
}

void pecs_instance_free(pecs_instance *in)
{
    pecs_buf *all[] = {&in->x, &in->pos, &in->out, &in->qpos, &in->kpos, &in->q, &in->k, &in->w};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_free(all[i]);
    if (in->arena.base)
        pecs_arena_free(&in->arena);
}

void pecs_instance_reset(pecs_instance *in)
{
    pecs_buf *gen[] = {&in->x, &in->q, &in->k, &in->w};
    for (size_t i = 0; i < sizeof gen / sizeof gen[0]; i++)
        if (gen[i]->raw) {
            gen_arg g = {in->c->seed, gen[i]->stream, pecs_gen_key(in->c->seed, gen[i]->stream), special_buf(in, gen[i])};
            for_each(&gen[i]->t, fill_uniform, &g);
        }
    if (in->out.raw)
        for_each(&in->out.t, fill_nan, NULL);
}

/* The double twin of a generated input: drawn again from its stream and rounded exactly as the
 * backend's copy was (the backend's own buffer may already hold its output when in place). */
static double *twin(const pecs_buf *b, pecs_dtype dt, uint64_t seed, int special, pecs_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < b->t.ndim; i++)
        n *= b->t.shape[i];
    double *v = pecs_malloc_big((size_t)n * sizeof *v);
    if (!v)
        return NULL;
    *t = b->t;
    t->dtype = PECS_DT_F64;
    row_major(t->ndim, t->shape, 0, t->stride);
    t->data = v;
    const uint64_t key = pecs_gen_key(seed, b->stream);
    for (int64_t k = 0; k < n; k++) { /* each element as the backend's copy holds it, widened exactly */
        unsigned char tmp[8];
        if (!special || !pecs_gen_special(seed, b->stream, (uint64_t)k, (uint64_t)t->shape[t->ndim - 1], dt, tmp))
            pecs_store_f64(tmp, dt, 0, pecs_gen_uniform_k(key, (uint64_t)k));
        v[k] = pecs_load_f64(tmp, dt, 0);
    }
    return v;
}

void pecs_instance_trusted(const pecs_instance *in, pecs_problem *p, pecs_tensor t[8])
{
    *p = in->problem;
    for (int i = 0; i < in->problem.n_tensors && i < 8; i++) {
        const pecs_tensor *src = &in->problem.tensors[i];
        const pecs_buf *pb = !strcmp(src->name, "pos") || !strcmp(src->name, "idx") ? &in->pos
                           : !strcmp(src->name, "qpos") ? &in->qpos
                           : !strcmp(src->name, "kpos") ? &in->kpos : NULL;
        t[i] = *src;
        if (pb && pb->snap)
            t[i].data = pb->snap + pb->lead;
    }
    p->tensors = t;
}

pecs_status pecs_instance_reference(const pecs_instance *in, double *expected, char *why, size_t why_len)
{
    return pecs_instance_reference_ex(in, expected, NULL, NULL, NULL, NULL, why, why_len);
}

pecs_status pecs_instance_reference_ex(const pecs_instance *in, double *expected, unsigned char *skip, double *lo,
                                       double *hi, int64_t *n_skip, char *why, size_t why_len)
{
    const pecs_case *c = in->c;
    pecs_status st = PECS_OK;
    pecs_tensor t[7];
    double *owned[4] = {NULL};
    int nt = 0, no = 0;
    for (int i = 0; i < in->problem.n_tensors - 1; i++) { /* every input; "out" is last */
        const pecs_tensor *src = &in->problem.tensors[i];
        const pecs_buf *b = !strcmp(src->name, "x") || !strcmp(src->name, "v") ? &in->x : !strcmp(src->name, "q") ? &in->q
                          : !strcmp(src->name, "k") ? &in->k : !strcmp(src->name, "w") ? &in->w : NULL;
        if (b && b->given) { /* pecs_instance_give */
            t[nt] = b->t;
            t[nt].dtype = PECS_DT_F64;
            row_major(t[nt].ndim, t[nt].shape, 0, t[nt].stride);
            t[nt].data = b->given;
            t[nt++].name = src->name;
        } else if (b && b->generated) {
            if (!(owned[no++] = twin(b, c->dtype, c->seed, special_buf(in, b), &t[nt]))) {
                st = PECS_NOMEM;
                goto cleanup;
            }
            t[nt++].name = src->name;
        } else { /* positions: the private snapshot, never the buffer a backend could still be writing */
            pecs_problem tp;
            pecs_tensor tt[8];
            pecs_instance_trusted(in, &tp, tt);
            t[nt++] = tt[i];
        }
    }
    pecs_tensor ot = in->problem.tensors[in->problem.n_tensors - 1];
    ot.name = "out";
    ot.dtype = PECS_DT_F64;
    row_major(ot.ndim, ot.shape, 0, ot.stride);
    ot.data = expected;
    t[nt++] = ot;
    pecs_problem p = in->problem;
    p.dtype = PECS_DT_F64;
    p.tensors = t;
    p.n_tensors = nt;
    p.in_place = 0;
    st = pecs_ref_run(&p, why, why_len);
    if (st == PECS_OK && skip && /* float32 arithmetic (the levels' model), stored in the case dtype */
        (*n_skip = pecs_ref_undecided(&p, 0x1p-24, pecs_dtype_true_min(c->dtype), skip, lo, hi)) < 0) {
        snprintf(why, why_len, "out of memory for the reference's undecided elements");
        st = PECS_NOMEM;
    }
cleanup:
    for (int i = 0; i < no; i++)
        free(owned[i]);
    return st;
}

int pecs_instance_capture(pecs_instance *in) { return copy_body(out_buf(in), &out_buf(in)->priv) == PECS_OK; }

/* The output tensor over the captured copy (the raw buffer until the first capture). */
static pecs_tensor captured(const pecs_instance *in)
{
    const pecs_buf *b = in->c->view == PECS_VIEW_INPLACE ? &in->x : &in->out;
    pecs_tensor t = b->t;
    if (b->priv)
        t.data = b->priv + b->lead;
    return t;
}

/* " (position p)" or " (positions a, b, c)" of column t of a position tensor (rows: axes). */
static void pos_words(const pecs_tensor *pos, int64_t t, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!pos || t < 0 || t >= pos->shape[pos->ndim - 1])
        return;
    int64_t rows = pos->ndim > 1 ? pos->shape[0] : 1;
    size_t l = (size_t)snprintf(buf, n, " (position%s %.17g", rows > 1 ? "s" : "", pecs_pos_at(pos, 0, t));
    for (int64_t r = 1; r < rows && l < n; r++)
        l += (size_t)snprintf(buf + l, n - l, ", %.17g", pecs_pos_at(pos, r, t));
    if (l < n)
        snprintf(buf + l, n - l, ")");
}

void pecs_instance_locate(const pecs_instance *in, int64_t i, char *buf, size_t n)
{
    const pecs_case *c = in->c;
    pecs_problem tp;
    pecs_tensor tt[8];
    char pa[128], pb[128];
    int64_t T = pecs_case_tokens(c), D = c->head_dim;
    pecs_instance_trusted(in, &tp, tt);
    if (pecs_form_pairwise(c->enc->form)) { /* [H][Lq][Lk] */
        int64_t K = pecs_case_keys(c), h = i / (T * K), q = i / K % T, k = i % K;
        pos_words(pecs_problem_tensor(&tp, "qpos"), q, pa, sizeof pa);
        pos_words(pecs_problem_tensor(&tp, "kpos"), k, pb, sizeof pb);
        snprintf(buf, n, "head %lld, query %lld%s, key %lld%s", (long long)h, (long long)q, pa, (long long)k, pb);
    } else if (c->enc->form == PECS_FORM_ROTATE) { /* [T][H][D] */
        int64_t H = c->heads, t = i / (H * D);
        pos_words(pecs_problem_tensor(&tp, "pos"), t, pa, sizeof pa);
        snprintf(buf, n, "token %lld%s, head %lld, dim %lld", (long long)t, pa, (long long)(i / D % H), (long long)(i % D));
    } else if (c->enc->form == PECS_FORM_KATTN) { /* [Lq][H][D] */
        int64_t H = c->heads;
        snprintf(buf, n, "query %lld, head %lld, dim %lld", (long long)(i / (H * D)), (long long)(i / D % H),
                 (long long)(i % D));
    } else if (c->enc->form == PECS_FORM_POSMAP) { /* [P][T] */
        pos_words(pecs_problem_tensor(&tp, "idx"), i % T, pa, sizeof pa);
        snprintf(buf, n, "row %lld, token %lld%s", (long long)(i / T), (long long)(i % T), pa);
    } else { /* embed [T][D] */
        pos_words(pecs_problem_tensor(&tp, "pos"), i / D, pa, sizeof pa);
        snprintf(buf, n, "token %lld%s, dim %lld", (long long)(i / D), pa, (long long)(i % D));
    }
}

void pecs_instance_actual(const pecs_instance *in, double *actual)
{
    pecs_tensor t = captured(in);
    for_each(&t, read_f64, actual);
}

typedef struct mark_arg {
    unsigned char *mask;
    size_t esz;
} mark_arg;

static void mark(const pecs_tensor *t, int64_t k, int64_t off, void *arg)
{
    (void)t, (void)k;
    mark_arg *m = arg;
    memset(m->mask + (size_t)off * m->esz, 1, m->esz);
}

static void where(char *why, size_t why_len, const char *what, const char *name, const pecs_buf *b, size_t i)
{
    long off = (long)i - (long)b->lead;
    snprintf(why, why_len, "%s %s at byte offset %ld (%s)", what, name, off,
             off < 0 ? "before the tensor" : (size_t)off >= b->span ? "after the tensor" : "in a stride gap");
}

/* bytes: the body as the backend left it (the captured copy for the output). */
static int buf_guards_ok(const pecs_buf *b, const unsigned char *bytes, const char *name, char *why, size_t why_len)
{
    if (!b->raw)
        return 1;
    if (b->snap) { /* an input: nothing may change */
        for (size_t i = 0; i < b->raw_len; i++)
            if (b->raw[i] != b->snap[i]) {
                long off = (long)i - (long)b->lead;
                snprintf(why, why_len, "the kernel wrote into its input %s at byte offset %ld", name, off);
                return 0;
            }
        return 1;
    }
    unsigned char *mask = calloc(b->span ? b->span : 1, 1);
    if (!mask) {
        snprintf(why, why_len, "out of memory checking the guards of %s", name);
        return 0;
    }
    mark_arg m = {mask, pecs_dtype_size(b->t.dtype)};
    for_each(&b->t, mark, &m);
    int ok = 1;
    for (size_t i = 0; i < b->raw_len && ok; i++) {
        int element = i >= b->lead && i < b->lead + b->span && mask[i - b->lead];
        if (!element && bytes[i] != PECS_CANARY) {
            where(why, why_len, "stray write to", name, b, i);
            ok = 0;
        }
    }
    free(mask);
    return ok;
}

int pecs_instance_guards_ok(const pecs_instance *in, char *why, size_t why_len)
{
    const pecs_buf *o = in->c->view == PECS_VIEW_INPLACE ? &in->x : &in->out;
    if (!o->priv) {
        snprintf(why, why_len, "internal: the output was not captured after the call");
        return 0;
    }
    return buf_guards_ok(&in->x, in->x.priv ? in->x.priv : in->x.raw, "x", why, why_len) &&
           buf_guards_ok(&in->out, in->out.priv, "out", why, why_len) &&
           buf_guards_ok(&in->pos, NULL, "pos", why, why_len) && buf_guards_ok(&in->qpos, NULL, "qpos", why, why_len) &&
           buf_guards_ok(&in->kpos, NULL, "kpos", why, why_len) && buf_guards_ok(&in->q, NULL, "q", why, why_len) &&
           buf_guards_ok(&in->k, NULL, "k", why, why_len) && buf_guards_ok(&in->w, NULL, "w", why, why_len);
}

int pecs_instance_keep_checked(pecs_instance *in)
{
    pecs_buf *o = out_buf(in);
    if (!o->priv)
        return 0;
    if (!o->checked && !(o->checked = pecs_malloc_big(o->raw_len)))
        return 0;
    memcpy(o->checked, o->priv, o->raw_len);
    return 1;
}

void pecs_instance_poison(pecs_instance *in)
{
    pecs_buf *o = out_buf(in);
    memcpy(o->raw, o->image0, o->raw_len);
}

int pecs_instance_same_as_checked(pecs_instance *in, char *why, size_t why_len)
{
    pecs_buf *o = out_buf(in);
    if (!o->checked || !pecs_instance_capture(in)) {
        snprintf(why, why_len, "out of memory checking a timed call's output");
        return 0;
    }
    if (!memcmp(o->priv, o->checked, o->raw_len))
        return 1;
    size_t i = 0;
    while (o->priv[i] == o->checked[i])
        i++;
    where(why, why_len, "a timed call's output differs from the checked call's: first in", o->t.name, o, i);
    return 0;
}

/* ---- given tensors (pecs eval --check) ------------------------------------------------------------- */

typedef struct give_arg {
    const pecs_tensor *src;   /* any strides */
    double *given;            /* logical row-major copy, or NULL */
    int64_t bad;              /* first logical index whose value the destination dtype does not hold, or -1 */
    double bad_value, max_abs;
} give_arg;

/* Element k of src (logical index) into the destination element at `off`, exactly or not at all. */
static void give_one(const pecs_tensor *dst, int64_t k, int64_t off, void *arg)
{
    give_arg *g = arg;
    int64_t rest = k, soff = 0;
    for (int i = g->src->ndim - 1; i >= 0; i--) {
        soff += (rest % g->src->shape[i]) * g->src->stride[i];
        rest /= g->src->shape[i];
    }
    double v = pecs_load_f64(g->src->data, g->src->dtype, soff);
    unsigned char tmp[8];
    pecs_store_f64(tmp, dst->dtype, 0, v);
    double back = pecs_load_f64(tmp, dst->dtype, 0);
    if (g->bad < 0 && memcmp(&back, &v, sizeof v) != 0 && !(isnan(v) && isnan(back))) {
        g->bad = k;
        g->bad_value = v;
    }
    pecs_store_f64(dst->data, dst->dtype, off, v);
    if (g->given)
        g->given[k] = v;
    if (fabs(v) > g->max_abs)
        g->max_abs = fabs(v);
}

static pecs_status give_into(pecs_buf *b, const char *name, const pecs_tensor *src, int keep, double *max_abs, char *why,
                             size_t why_len)
{
    int64_t n = 1;
    int same = src->ndim == b->t.ndim;
    for (int i = 0; same && i < src->ndim; i++)
        same = src->shape[i] == b->t.shape[i];
    if (!b->raw || !same) {
        snprintf(why, why_len, "%s: the case has no such tensor, or its shape differs from the given one", name);
        return PECS_INVALID;
    }
    for (int i = 0; i < src->ndim; i++)
        n *= src->shape[i];
    give_arg g = {.src = src, .bad = -1};
    if (keep && !b->given && !(b->given = malloc((size_t)(n ? n : 1) * sizeof *b->given)))
        return PECS_NOMEM;
    g.given = keep ? b->given : NULL;
    for_each(&b->t, give_one, &g);
    if (g.bad >= 0) {
        snprintf(why, why_len, "%s: element %lld (%.17g) is not exactly a %s value", name, (long long)g.bad, g.bad_value,
                 pecs_dtype_name(b->t.dtype));
        return PECS_INVALID;
    }
    if (max_abs && g.max_abs > *max_abs)
        *max_abs = g.max_abs;
    return PECS_OK;
}

pecs_status pecs_instance_give(pecs_instance *in, const char *name, const pecs_tensor *src, char *why, size_t why_len)
{
    pecs_buf *b = !strcmp(name, "x") ? &in->x : !strcmp(name, "pos") ? &in->pos : !strcmp(name, "qpos") ? &in->qpos
                : !strcmp(name, "kpos") ? &in->kpos : !strcmp(name, "q") ? &in->q : !strcmp(name, "k") ? &in->k
                : !strcmp(name, "w") ? &in->w : NULL;
    int is_pos = b == &in->pos || b == &in->qpos || b == &in->kpos;
    if (!b) {
        snprintf(why, why_len, "%s: not an input tensor (x, pos, qpos, kpos, q, k, w)", name);
        return PECS_INVALID;
    }
    if (is_pos) { /* the given positions alone set the compat allowance's max|pos| */
        double m = 0.0;
        pecs_buf *p[] = {&in->pos, &in->qpos, &in->kpos};
        pecs_status st = give_into(b, name, src, 0, &m, why, why_len);
        if (st != PECS_OK)
            return st;
        b->max_given = m;
        in->max_abs_pos = 0.0;
        for (int i = 0; i < 3; i++)
            if (p[i]->raw && p[i]->max_given > in->max_abs_pos)
                in->max_abs_pos = p[i]->max_given;
        return copy_body(b, &b->snap);
    }
    pecs_status st = give_into(b, name, src, 1, NULL, why, why_len);
    b->generated = 0;
    if (st == PECS_OK && b->snap)
        st = copy_body(b, &b->snap);
    return st;
}

pecs_status pecs_instance_give_output(pecs_instance *in, const pecs_tensor *src, char *why, size_t why_len)
{
    pecs_status st = give_into(out_buf(in), "out", src, 0, NULL, why, why_len);
    if (st == PECS_OK && !pecs_instance_capture(in))
        st = PECS_NOMEM;
    return st;
}

/* ---- dumps (pecs run --dump) ----------------------------------------------------------------------- */

/* values[n] (f64) stored as dt, contiguous, into dir/name.npy. */
static pecs_status dump_one(const char *dir, const char *name, pecs_dtype dt, int ndim, const int64_t *shape,
                            const double *values, char *why, size_t why_len)
{
    int64_t n = 1;
    char path[4096];
    int bf16 = dt == PECS_DT_BF16; /* .npy has no bfloat16: rounded to it, widened exactly to f32 (eval.txt
                                      says dtype=bf16) */
    if (bf16)
        dt = PECS_DT_F32;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    unsigned char *buf = malloc((size_t)(n ? n : 1) * pecs_dtype_size(dt));
    if (!buf)
        return PECS_NOMEM;
    for (int64_t k = 0; k < n; k++)
        pecs_store_f64(buf, dt, k, bf16 ? pecs_round_to(values[k], PECS_DT_BF16) : values[k]);
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    pecs_status st = pecs_npy_write(path, dt, ndim, shape, buf, why, why_len);
    free(buf);
    return st;
}

pecs_status pecs_instance_dump(const pecs_instance *in, const char *dir, char *why, size_t why_len)
{
    const pecs_case *c = in->c;
    pecs_status st = PECS_OK;
    double *v = NULL, *twin_v = NULL;
    pecs_tensor tt;
    char cmd[2048];
    size_t off = 0;
    FILE *f = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "cannot create %s: %s", dir, strerror(errno));
        return PECS_IO;
    }
    if (!(v = malloc((size_t)(in->n_out ? in->n_out : 1) * sizeof *v)))
        return PECS_NOMEM;
    char *params = pecs_case_params_format(c), *save = NULL;
    off += (size_t)snprintf(cmd, sizeof cmd, "pecs eval %s%s", c->enc->id, c->dtype == PECS_DT_BF16 ? " --set dtype=bf16" : "");
    for (char *kv = params ? strtok_r(params, " ", &save) : NULL; kv && off < sizeof cmd; kv = strtok_r(NULL, " ", &save))
        off += (size_t)snprintf(cmd + off, sizeof cmd - off, " --set %s", kv);
    free(params);
    const pecs_buf *ins[] = {&in->x, &in->pos, &in->qpos, &in->kpos, &in->q, &in->k, &in->w};
    for (size_t i = 0; i < sizeof ins / sizeof ins[0] && st == PECS_OK; i++) {
        const pecs_buf *b = ins[i];
        if (!b->raw)
            continue;
        const char *name = b->t.name;
        if (b->given) {
            st = dump_one(dir, name, b->t.dtype, b->t.ndim, b->t.shape, b->given, why, why_len);
        } else if (b->generated) { /* regenerated, exactly as the backend's copy holds it (it may be overwritten) */
            if (!(twin_v = twin(b, b->t.dtype, c->seed, special_buf(in, b), &tt)))
                st = PECS_NOMEM;
            else
                st = dump_one(dir, name, b->t.dtype, b->t.ndim, b->t.shape, twin_v, why, why_len);
            free(twin_v);
            twin_v = NULL;
        } else { /* positions: the private snapshot */
            pecs_tensor t = b->t;
            int64_t n = 1;
            double *p;
            for (int d = 0; d < t.ndim; d++)
                n *= t.shape[d];
            t.data = b->snap + b->lead;
            if (!(p = pecs_malloc_big((size_t)n * sizeof *p))) {
                st = PECS_NOMEM;
                break;
            }
            for_each(&t, read_f64, p);
            st = dump_one(dir, name, t.dtype, t.ndim, t.shape, p, why, why_len);
            free(p);
        }
        if (off < sizeof cmd)
            off += (size_t)snprintf(cmd + off, sizeof cmd - off, " --in %s=%s/%s.npy", name, dir, name);
    }
    const pecs_tensor ot = in->problem.tensors[in->problem.n_tensors - 1];
    if (st == PECS_OK) {
        pecs_instance_actual(in, v);
        st = dump_one(dir, "got", c->dtype, ot.ndim, ot.shape, v, why, why_len);
    }
    if (st == PECS_OK && (st = pecs_instance_reference(in, v, why, why_len)) == PECS_OK)
        st = dump_one(dir, "want", c->dtype, ot.ndim, ot.shape, v, why, why_len); /* rounded once by the store */
    if (st == PECS_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/eval.txt", dir);
        if (!(f = fopen(path, "w")) ||
            fprintf(f, "# %s\n%s --level %s --check out=%s/got.npy\n", c->enc->id, cmd, c->level, dir) < 0) {
            snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
            st = PECS_IO;
        }
    }
    if (f && fclose(f) != 0 && st == PECS_OK) {
        snprintf(why, why_len, "cannot write %s/eval.txt: %s", dir, strerror(errno));
        st = PECS_IO;
    }
    free(v);
    return st;
}

int pecs_instance_fault_where(const pecs_instance *in, int64_t arena_off, int access, char *buf, size_t n)
{
    const pecs_buf *all[] = {&in->x, &in->pos, &in->out, &in->qpos, &in->kpos, &in->q, &in->k, &in->w};
    const char *names[] = {"x", "pos", "out", "qpos", "kpos", "q", "k", "w"};
    int64_t page = (int64_t)in->arena.page;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const pecs_buf *b = all[i];
        if (!b->raw || !in->arena.base)
            continue;
        int64_t start = (int64_t)(b->raw - in->arena.base), end = start + (int64_t)b->raw_len;
        if (arena_off < start - page || arena_off >= end + page)
            continue;
        int64_t off = arena_off - start - (int64_t)b->lead;
        const char *name = in->c->view == PECS_VIEW_INPLACE && b == &in->x ? "out (in place over x)"
                         : b == &in->x && in->c->enc->form == PECS_FORM_KATTN ? "v" : names[i];
        snprintf(buf, n, "%s %s at byte offset %lld (%s%s)", access == 2 ? "stray write to" : access == 1 ?
                 "stray read of" : "stray access to", name, (long long)off, off < 0 ? "before the tensor" :
                 off >= (int64_t)b->span ? "after the tensor" : "in a stride gap",
                 arena_off < start || arena_off >= end ? ", in the guard page" : "");
        return 1;
    }
    return 0;
}
