/* impls/scalar/posmap.c — position-map kernels (posmap form): ids computed the way a data pipeline or an
 * attention patch computes them, in 64-bit integers for integer "idx" (floor division done by hand, since C's
 * '/' truncates towards zero) and in double for f64 "idx". "out" has idx's dtype. */
#include <math.h>
#include <stdlib.h>

#include "scalar.h"

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static int64_t idx_at(const pecs_tensor *idx, int64_t t) { return (int64_t)pecs_pos_at(idx, 0, t); }

static void put(const pecs_tensor *out, int64_t r, int64_t t, double v)
{
    pecs_store_f64(out->data, out->dtype, r * out->stride[0] + t * out->stride[1], v);
}

SCALAR_HOOK_POSMAP(pose)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out || out->ndim != 2 || out->dtype != idx->dtype)
        return PECS_INVALID;
    int64_t chunk1 = pecs_param_int(p, "chunk1", 1), s1 = pecs_param_int(p, "skip1", 0), s2 = pecs_param_int(p, "skip2", 0);
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        if (idx->dtype == PECS_DT_F64) {
            double i = pecs_pos_at(idx, 0, t);
            put(out, 0, t, i + (double)(i < (double)chunk1 ? s1 : s2));
        } else {
            int64_t i = idx_at(idx, t);
            put(out, 0, t, (double)(i + (i < chunk1 ? s1 : s2)));
        }
    }
    return PECS_OK;
}

SCALAR_HOOK_POSMAP(self_extend)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out || out->ndim != 2 || out->shape[0] != 3 || out->dtype != idx->dtype)
        return PECS_INVALID;
    int64_t G = pecs_param_int(p, "group_size", 8), W = pecs_param_int(p, "window", 1024), T = idx->shape[idx->ndim - 1];
    double m = -INFINITY; /* the shift is on only when some query reaches the window (the code's max test) */
    for (int64_t t = 0; t < T; t++)
        m = fmax(m, pecs_pos_at(idx, 0, t));
    int64_t s = m >= (double)W ? W : 0;
    for (int64_t t = 0; t < T; t++) {
        if (idx->dtype == PECS_DT_F64) {
            double i = pecs_pos_at(idx, 0, t), k = floor(i / (double)G);
            put(out, 0, t, i);
            put(out, 1, t, k + (double)(s - s / G));
            put(out, 2, t, k);
        } else {
            int64_t i = idx_at(idx, t), k = floor_div(i, G);
            put(out, 0, t, (double)i);
            put(out, 1, t, (double)(k + s - s / G)); /* W % G == 0 (registry check): s / G is exact */
            put(out, 2, t, (double)k);
        }
    }
    return PECS_OK;
}

/* BiPE: one pass, a running segment start and count (the code's two cumulative sums, telescoped). */
SCALAR_HOOK_POSMAP(bipe)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    const pecs_param *seps = pecs_problem_param(p, "separators");
    if (!idx || !out || !seps || out->ndim != 2 || out->shape[0] != 2 || out->dtype != idx->dtype)
        return PECS_INVALID;
    int64_t scale = pecs_param_int(p, "train_scale", 0), start = 0, segment = 0;
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        int64_t off = t - start;
        put(out, 0, t, (double)(scale > 0 && off >= scale ? scale - 1 : off));
        put(out, 1, t, (double)segment);
        double id = pecs_pos_at(idx, 0, t);
        for (int64_t k = 0; k < seps->n; k++)
            if (id == seps->list[k]) { /* this token closes its segment: the next one starts at offset 0 */
                start = t + 1, segment++;
                break;
            }
    }
    return PECS_OK;
}

/* Randomized PE: the sampled positions sorted ascending, as jnp.sort / torch.sort do (qsort on the ids as doubles,
 * exact below 2^53 like every posmap load). */
static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

SCALAR_HOOK_POSMAP(randomized)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out || out->ndim != 2 || out->shape[0] != 1 || out->dtype != idx->dtype)
        return PECS_INVALID;
    int64_t T = idx->shape[idx->ndim - 1];
    pecs_status st = PECS_OK;
    double *v = malloc((size_t)(T > 0 ? T : 1) * sizeof *v);
    if (!v) {
        st = PECS_NOMEM;
        goto done;
    }
    for (int64_t t = 0; t < T; t++)
        v[t] = pecs_pos_at(idx, 0, t);
    qsort(v, (size_t)T, sizeof *v, cmp_f64);
    for (int64_t t = 0; t < T; t++)
        put(out, 0, t, v[t]);
done:
    free(v);
    return st;
}

/* Group PE: the source keeps its index, the target restarts at target_start (the collator's pe_cache_length). */
SCALAR_HOOK_POSMAP(group_pe)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out || out->ndim != 2 || out->dtype != idx->dtype)
        return PECS_INVALID;
    int64_t S = pecs_param_int(p, "source_len", 16), start = pecs_param_int(p, "target_start", 0);
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        if (idx->dtype == PECS_DT_F64) {
            double i = pecs_pos_at(idx, 0, t);
            put(out, 0, t, i < (double)S ? i : (double)start + (i - (double)S));
        } else {
            int64_t i = idx_at(idx, t);
            put(out, 0, t, (double)(i < S ? i : start + (i - S)));
        }
    }
    return PECS_OK;
}

/* CREAM: three segments of the window, each shifted by its own offset (head 0, middle end_id - (C - 1) - H, tail
 * factor * L - L). */
SCALAR_HOOK_POSMAP(cream)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out || out->ndim != 2 || out->dtype != idx->dtype)
        return PECS_INVALID;
    int64_t L = pecs_param_int(p, "window", 4096), f = pecs_param_int(p, "factor", 8), H = pecs_param_int(p, "head_len", 1365),
            end = pecs_param_int(p, "end_id", 12000);
    int64_t mid = end - (L - 2 * H - 1) - H, tail = f * L - L; /* offsets added to idx in the middle and the tail */
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        if (idx->dtype == PECS_DT_F64) {
            double i = pecs_pos_at(idx, 0, t);
            put(out, 0, t, i + (double)(i < (double)H ? 0 : i < (double)(L - H) ? mid : tail));
        } else {
            int64_t i = idx_at(idx, t);
            put(out, 0, t, (double)(i + (i < H ? 0 : i < L - H ? mid : tail)));
        }
    }
    return PECS_OK;
}

/* V2PE: one pass; text steps by 1, image tokens by stride / num_image_token from their <img>'s id, </img> at the
 * ceiling of the last image id + 1. Real ids: f64 only (the registry's PECS_REAL_POSITIONS row). */
SCALAR_HOOK_POSMAP(v2pe)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out || out->ndim != 2 || out->shape[0] != 1 || out->dtype != PECS_DT_F64 || idx->dtype != PECS_DT_F64)
        return PECS_INVALID;
    double open = (double)pecs_param_int(p, "img_start", 0), close = (double)pecs_param_int(p, "img_end", 1);
    double step = (double)pecs_param_int(p, "stride", 256) / (double)pecs_param_int(p, "num_image_token", 256);
    double last = -1.0, base = 0.0;
    int in_image = 0;
    int64_t k = 0;
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        double id = pecs_pos_at(idx, 0, t);
        if (!in_image) {
            last += 1.0;
            if (id == open)
                in_image = 1, base = last, k = 0;
        } else if (id == close) {
            last = ceil(last) + 1.0, in_image = 0;
        } else {
            last = base + (double)++k * step;
        }
        put(out, 0, t, last);
    }
    return PECS_OK;
}

/* Position coupling (addition): BOS 0; operand k's digits and the '+' or '=' after it end - l_k .. end; the result
 * end - l_c .. end - 1, walked down when reversed; tokens past the result (EOS, padding) 0. end = start + max l + 1. */
SCALAR_HOOK_POSMAP(position_coupling)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    const pecs_param *L = pecs_problem_param(p, "lengths");
    if (!idx || !out || out->ndim != 2 || out->dtype != idx->dtype || !L || L->n < 3)
        return PECS_INVALID;
    int64_t n_ops = L->n - 1, max_len = 0, rev = pecs_param_int(p, "reverse_output", 1);
    for (int64_t k = 0; k < n_ops; k++)
        max_len = (int64_t)L->list[k] > max_len ? (int64_t)L->list[k] : max_len;
    int64_t end = pecs_param_int(p, "start", 1) + max_len + 1;
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        int64_t i = idx_at(idx, t), v = 0, first = 1; /* first: index of the segment's first token */
        for (int64_t k = 0; i > 0 && k <= n_ops; k++) {
            int64_t l = (int64_t)L->list[k], span = k < n_ops ? l + 1 : l;
            if (i < first + span) {
                v = k < n_ops || !rev ? end - l + (i - first) : end - 1 - (i - first);
                break;
            }
            first += span;
        }
        put(out, 0, t, (double)v);
    }
    return PECS_OK;
}
