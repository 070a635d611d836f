/* reference/forms.c — the form drivers (rotate, bias, mask, embed, scores) and the dispatch generated
 * from the registry. The drivers do the loops; the per-encoding hooks hold the mathematics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "registry.h"

typedef union ref_hook {
    pecs_status (*rotate)(const pecs_problem *, pecs_ref_rot *, char *, size_t);
    pecs_status (*bias)(const pecs_problem *, int64_t, int64_t, double, double, double *, char *, size_t);
    pecs_status (*embed)(const pecs_problem *, int64_t, double, const double *, int64_t, double *, char *, size_t);
    pecs_status (*mask)(const pecs_problem *, double, double, int *, char *, size_t);
    pecs_status (*scores)(const pecs_problem *, char *, size_t);
    pecs_status (*posmap)(const pecs_problem *, char *, size_t);
    pecs_status (*kattn)(const pecs_problem *, char *, size_t);
} ref_hook;

#define REF_SLOT_ROTATE(sym) {.rotate = pecs_ref_##sym}
#define REF_SLOT_BIAS(sym) {.bias = pecs_ref_##sym}
#define REF_SLOT_EMBED(sym) {.embed = pecs_ref_##sym}
#define REF_SLOT_MASK(sym) {.mask = pecs_ref_##sym}
#define REF_SLOT_SCORES(sym) {.scores = pecs_ref_##sym}
#define REF_SLOT_POSMAP(sym) {.posmap = pecs_ref_##sym}
#define REF_SLOT_KATTN(sym) {.kattn = pecs_ref_##sym}
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

pecs_status pecs_ref_rot_alloc(pecs_ref_rot *s, int64_t R)
{
    memset(s, 0, sizeof *s);
    s->R = R;
    size_t n = (size_t)(R / 2 > 0 ? R / 2 : 1);
    s->inv_freq = calloc(n, sizeof *s->inv_freq);
    s->axis = calloc(n, sizeof *s->axis);
    s->zeta = calloc(n, sizeof *s->zeta);
    if (!s->inv_freq || !s->axis || !s->zeta) {
        pecs_ref_rot_free(s);
        return PECS_NOMEM;
    }
    return PECS_OK;
}

static void rot_heads_free(pecs_ref_rot *s)
{
    free(s->head_scale);
    free(s->head_axis);
    free(s->head_imag);
    free(s->head_freq);
    free(s->gen);
    s->head_freq = NULL;
    s->head_scale = NULL;
    s->head_axis = NULL;
    s->head_imag = NULL;
    s->gen = NULL;
}

pecs_status pecs_ref_rot_blocks(pecs_ref_rot *s, int64_t b, int64_t rows)
{
    s->block = b;
    s->gen_rows = rows;
    if (s->heads <= 0 || b <= 0 || s->R % b)
        return PECS_OK;
    free(s->gen);
    s->gen = calloc((size_t)(s->heads * rows * (s->R / b) * b * b), sizeof *s->gen);
    return s->gen ? PECS_OK : PECS_NOMEM;
}

void pecs_ref_matmul(const double *a, const double *b_, int64_t b, double *c)
{
    for (int64_t r = 0; r < b; r++)
        for (int64_t k = 0; k < b; k++) {
            double s = 0.0;
            for (int64_t m = 0; m < b; m++)
                s += a[r * b + m] * b_[m * b + k];
            c[r * b + k] = s;
        }
}

void pecs_ref_expm(const double *A, int64_t b, double *E, double *work)
{
    int64_t n = b * b;
    double *As = work, *term = work + n, *tmp = work + 2 * n, norm = 0.0;
    for (int64_t c = 0; c < b; c++) {
        double col = 0.0;
        for (int64_t r = 0; r < b; r++)
            col += fabs(A[r * b + c]);
        norm = fmax(norm, col);
    }
    if (!isfinite(norm)) {
        for (int64_t i = 0; i < n; i++)
            E[i] = NAN;
        return;
    }
    int sq = 0;
    while (norm > 0.5) {
        norm *= 0.5;
        sq++;
    }
    for (int64_t i = 0; i < n; i++) {
        As[i] = ldexp(A[i], -sq); /* exact: a power of two */
        term[i] = E[i] = (i % (b + 1) == 0) ? 1.0 : 0.0;
    }
    for (int k = 1; k <= 30; k++) { /* term = As^k / k!, E = sum of the terms */
        pecs_ref_matmul(term, As, b, tmp);
        for (int64_t i = 0; i < n; i++) {
            term[i] = tmp[i] / k;
            E[i] += term[i];
        }
    }
    for (int k = 0; k < sq; k++) {
        pecs_ref_matmul(E, E, b, tmp);
        memcpy(E, tmp, (size_t)n * sizeof *E);
    }
}

pecs_status pecs_ref_rot_heads(pecs_ref_rot *s)
{
    if (s->heads <= 0)
        return PECS_OK;
    if (!s->head_scale)
        s->head_scale = calloc((size_t)s->heads, sizeof *s->head_scale);
    if (!s->head_axis)
        s->head_axis = calloc((size_t)s->heads, sizeof *s->head_axis);
    if (!s->head_imag)
        s->head_imag = calloc((size_t)s->heads, sizeof *s->head_imag);
    if (!s->head_scale || !s->head_axis || !s->head_imag) {
        rot_heads_free(s);
        return PECS_NOMEM;
    }
    for (int64_t h = 0; h < s->heads; h++) {
        s->head_scale[h] = 1.0;
        s->head_axis[h] = -1;
        s->head_imag[h] = 0;
    }
    return PECS_OK;
}

void pecs_ref_rot_reset(pecs_ref_rot *s)
{
    rot_heads_free(s); /* a per-head schedule asks for them again */
    for (int64_t i = 0; i < s->R / 2; i++) {
        s->inv_freq[i] = 0.0;
        s->axis[i] = 0;
        s->zeta[i] = 1.0;
    }
    s->zeta_rate = s->zeta_center = 0.0;
    s->pos_offset = s->log_gain_len = 0.0;
    s->attn = s->softmax_scale = 1.0;
    s->block = s->gen_rows = 0;
    s->gate = NULL;
    s->gate_row0 = 0;
    free(s->phase);
    s->phase = NULL;
}

void pecs_ref_rot_free(pecs_ref_rot *s)
{
    rot_heads_free(s);
    free(s->phase);
    free(s->inv_freq);
    free(s->axis);
    free(s->zeta);
    memset(s, 0, sizeof *s);
}

pecs_status pecs_ref_schedule(const pecs_problem *p, pecs_ref_rot *s, char *why, size_t why_len)
{
    const pecs_encoding_info *e = problem_encoding(p, why, why_len);
    if (!e)
        return PECS_INVALID;
    if (e->form != PECS_FORM_ROTATE) {
        snprintf(why, why_len, "encoding '%s' has no frequency schedule (form %s)", e->id, pecs_form_name(e->form));
        return PECS_INVALID;
    }
    int64_t R = s->R;
    pecs_ref_rot_reset(s);
    s->seq_len = pecs_problem_seq_len(p);
    pecs_status st = g_hooks[e->enc].rotate(p, s, why, why_len);
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
            s->inv_freq[i] /= ff->list[i];
        for (int64_t h = 0; s->head_freq && h < s->heads; h++)
            for (int64_t i = 0; i < R / 2; i++)
                s->head_freq[h * (R / 2) + i] /= ff->list[i];
    }
    s->attn *= pecs_param_real(p, "attn_factor", 1.0);
    return PECS_OK;
}

int pecs_ref_list_len_ok(const pecs_problem *p, const char *name, int64_t n, int broadcast, char *why, size_t why_len)
{
    const pecs_param *q = pecs_problem_param(p, name);
    int64_t have = q ? q->n : 0;
    if (have == n || (broadcast && have == 1))
        return 1;
    snprintf(why, why_len, "%s has %lld values, this problem needs %lld%s", name, (long long)have, (long long)n,
             broadcast ? " (or 1 for every head)" : "");
    return 0;
}

int pecs_ref_sections(const pecs_problem *p, int64_t total, int64_t sec[3], char *why, size_t why_len)
{
    const pecs_param *q = pecs_problem_param(p, "sections");
    sec[0] = total, sec[1] = sec[2] = 0;
    if (!q || q->n == 0)
        return 1;
    int64_t sum = 0;
    for (int64_t k = 0; k < q->n && k < 3; k++) {
        if (q->list[k] != floor(q->list[k])) {
            snprintf(why, why_len, "sections[%lld] = %g is not an integer", (long long)k, q->list[k]);
            return 0;
        }
        sec[k] = (int64_t)q->list[k];
        sum += sec[k];
    }
    if (q->n != 3 || sum != total) {
        snprintf(why, why_len, "sections needs 3 integers (t, h, w pairs) summing to rotary_dim/2 = %lld; got %lld "
                 "values summing to %lld", (long long)total, (long long)q->n, (long long)sum);
        return 0;
    }
    return 1;
}

const pecs_tensor *pecs_ref_weights(const pecs_problem *p, int64_t rows, int64_t cols, char *why, size_t why_len)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    if (!w || w->ndim != 2 || w->shape[0] != rows || w->shape[1] != cols || w->dtype != PECS_DT_F64) {
        snprintf(why, why_len, "%s needs its learned data as tensor \"w\" [%lld, %lld] (f64 in the reference)",
                 p->encoding, (long long)rows, (long long)cols);
        return NULL;
    }
    return w;
}

pecs_status pecs_ref_segment_of(const pecs_problem *p, double origin, double t, pecs_ref_segments *s, char *why,
                                size_t why_len)
{
    const pecs_param *L = pecs_problem_param(p, "lengths");
    *s = (pecs_ref_segments){.n = L ? L->n : 0, .seg = -1, .end = origin};
    for (int64_t b = 0; b < s->n; b++) {
        double len = L->list[b];
        if (len != floor(len)) {
            snprintf(why, why_len, "%s: lengths[%lld] = %g is not a token count", p->encoding, (long long)b, len);
            return PECS_INVALID;
        }
        if (len > L->list[s->longest])
            s->longest = b;
        if (s->seg < 0 && t >= s->end && t < s->end + len)
            s->seg = b, s->seg_start = s->end;
        s->end += len;
        if (s->end > 9007199254740992.0) {
            snprintf(why, why_len, "%s: the lengths sum past 2^53", p->encoding);
            return PECS_INVALID;
        }
    }
    if (t < 0 || t != floor(t)) {
        snprintf(why, why_len, "%s: position %g is not a token index (integers from 0)", p->encoding, t);
        return PECS_INVALID;
    }
    return PECS_OK;
}

pecs_status pecs_ref_relkey_logits(const pecs_problem *p, const pecs_ref_relkey *rk, char *why, size_t why_len)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "%s needs tensors q, k, qpos, kpos, w and out", p->encoding);
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    const pecs_tensor *w = pecs_ref_weights(p, rk->rows, D, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data, scale = sqrt((double)D);
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double d = pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i);
            int64_t r = d == floor(d) ? rk->row(rk, d) : -2;
            if (r == -2 || r >= rk->rows) {
                snprintf(why, why_len, "%s: distance kpos - qpos = %g is not an integer within the range of its table "
                         "(%s %lld)", p->encoding, d, rk->n_name, (long long)rk->n);
                return PECS_INVALID;
            }
            for (int64_t h = 0; h < H; h++) {
                double s = 0.0;
                for (int64_t c = 0; c < D; c++) {
                    double a = r >= 0 ? wd[r * w->stride[0] + c * w->stride[1]] : 0.0;
                    double qv = qd[pecs_at3(q, i, h, c)], kv = kd[pecs_at3(k, j, h, c)];
                    s += qv * kv + qv * a + (rk->key_term ? kv * a : 0.0);
                }
                od[pecs_at3(out, h, i, j)] = rk->masked_after && d > 0 ? -INFINITY : s / scale;
            }
        }
    return PECS_OK;
}


/* A block schedule (pecs_ref_rot.block > 0): block j of head h at token t is exp(sum_i pos[i][t] B_ij) x_block. */
static pecs_status rotate_blocks(const pecs_problem *p, const pecs_ref_rot *s, const pecs_tensor *x, const pecs_tensor *pos,
                                 const pecs_tensor *out, char *why, size_t why_len)
{
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], R = s->R, b = s->block, m = R / b, n = b * b;
    int64_t rows = pos->ndim == 2 ? pos->shape[0] : 1;
    if (!s->gen || R % b) {
        snprintf(why, why_len, "%s: no generators (needs the weight tensor \"w\" and rotary_dim %% block == 0)", p->encoding);
        return PECS_INVALID;
    }
    if (s->gen_rows > rows) {
        snprintf(why, why_len, "%s needs %lld position rows, the pos tensor has %lld", p->encoding, (long long)s->gen_rows,
                 (long long)rows);
        return PECS_INVALID;
    }
    double *buf = malloc((size_t)(5 * n + 2 * b) * sizeof *buf);
    if (!buf) {
        snprintf(why, why_len, "%s: out of memory", p->encoding);
        return PECS_NOMEM;
    }
    double *A = buf, *E = buf + n, *work = buf + 2 * n, *xin = buf + 5 * n, *y = xin + b;
    const double *xd = x->data;
    double *od = out->data;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            for (int64_t j = 0; j < m; j++) {
                for (int64_t e = 0; e < n; e++) {
                    A[e] = 0.0;
                    for (int64_t i = 0; i < s->gen_rows; i++)
                        A[e] += pecs_pos_at(pos, (int)i, t) * s->gen[((h * s->gen_rows + i) * m + j) * n + e];
                }
                pecs_ref_expm(A, b, E, work);
                for (int64_t c = 0; c < b; c++)
                    xin[c] = xd[pecs_at3(x, t, h, j * b + c)];
                for (int64_t r = 0; r < b; r++) {
                    y[r] = 0.0;
                    for (int64_t c = 0; c < b; c++)
                        y[r] += E[r * b + c] * xin[c];
                }
                for (int64_t r = 0; r < b; r++)
                    od[pecs_at3(out, t, h, j * b + r)] = y[r];
            }
            for (int64_t d = R; d < D; d++)
                od[pecs_at3(out, t, h, d)] = xd[pecs_at3(x, t, h, d)];
        }
    free(buf);
    return PECS_OK;
}

/* A content gate (PSC, pecs_ref_rot.gate): g[t][h][.] = x * (1 + tanh(silu(x U_h) V_h) / 2), [T][H][D] row-major. */
static double *gate_x(const pecs_ref_rot *s, const pecs_tensor *x)
{
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2];
    double *g = malloc((size_t)(T * H * D + 2 * D) * sizeof *g);
    if (!g)
        return NULL;
    double *xin = g + T * H * D, *a = xin + D;
    const double *xd = x->data, *wd = s->gate->data;
    int64_t ws0 = s->gate->stride[0], ws1 = s->gate->stride[1];
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            int64_t u0 = s->gate_row0 + h * D, v0 = s->gate_row0 + (H + h) * D;
            for (int64_t i = 0; i < D; i++)
                xin[i] = xd[pecs_at3(x, t, h, i)];
            for (int64_t r = 0; r < D; r++) { /* einsum "bnsd,ndr->bnsr", then SiLU */
                double acc = 0.0;
                for (int64_t i = 0; i < D; i++)
                    acc += xin[i] * wd[(u0 + i) * ws0 + r * ws1];
                a[r] = acc / (1.0 + exp(-acc));
            }
            for (int64_t j = 0; j < D; j++) { /* einsum "bnsr,nrd->bnsd", then the coefficient */
                double acc = 0.0;
                for (int64_t r = 0; r < D; r++)
                    acc += a[r] * wd[(v0 + r) * ws0 + j * ws1];
                g[(t * H + h) * D + j] = xin[j] * (1.0 + tanh(acc) / 2.0);
            }
        }
    return g;
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
    pecs_ref_rot s;
    double *xg = NULL; /* the gated x of a content-gated schedule (PSC) */
    pecs_status st = pecs_ref_rot_alloc(&s, R);
    if (st != PECS_OK)
        return st;
    s.heads = H;
    if ((st = pecs_ref_schedule(p, &s, why, why_len)) != PECS_OK)
        goto cleanup;
    int64_t rows = pos->ndim == 2 ? pos->shape[0] : 1;
    for (int64_t i = 0; i < R / 2 + (s.head_axis ? H : 0); i++) {
        int32_t row = i < R / 2 ? s.axis[i] : s.head_axis[i - R / 2];
        if (row >= rows) {
            snprintf(why, why_len, "%s needs %d position rows, the pos tensor has %lld", p->encoding, row + 1,
                     (long long)rows);
            st = PECS_INVALID;
            goto cleanup;
        }
    }
    if (s.block > 0) {
        st = rotate_blocks(p, &s, x, pos, out, why, why_len);
        goto cleanup;
    }
    int half = pecs_param_is(p, "pairing", "half");
    const double *xd = x->data;
    double *od = out->data;
    if (s.gate && !(xg = gate_x(&s, x))) {
        snprintf(why, why_len, "%s: out of memory", p->encoding);
        st = PECS_NOMEM;
        goto cleanup;
    }
#define XIN(t, h, d) (xg ? xg[((t) * H + (h)) * D + (d)] : xd[pecs_at3(x, t, h, d)])
    for (int64_t t = 0; t < T; t++) {
        for (int64_t i = 0; i < R / 2; i++) {
            double sn, cs, m = pecs_pos_at(pos, s.axis[i], t) + s.pos_offset; /* exact for integers < 2^53 */
            pecs_ref_sincos(m, s.inv_freq[i], &sn, &cs);
            double g = s.attn;
            if (s.zeta_rate != 0.0)
                g *= pow(s.zeta[i], (pecs_pos_at(pos, 0, t) - s.zeta_center) * s.zeta_rate);
            if (s.log_gain_len > 1.0 && pecs_pos_at(pos, 0, t) + 1.0 > s.log_gain_len)
                g *= log(pecs_pos_at(pos, 0, t) + 1.0) / log(s.log_gain_len);
            int64_t a = half ? i : 2 * i, b = half ? i + R / 2 : 2 * i + 1;
            for (int64_t h = 0; h < H; h++) {
                if (s.phase) /* content phase (Selective RoPE): this token's and head's phase */
                    pecs_ref_sincos(s.phase[(t * H + h) * (R / 2) + i], s.inv_freq[i], &sn, &cs);
                else if (s.head_scale || s.head_freq) { /* per-head schedule: this head's frequency and row */
                    int32_t row = s.head_axis && s.head_axis[h] >= 0 ? s.head_axis[h] : s.axis[i];
                    double w = s.head_freq ? s.head_freq[h * (R / 2) + i] : s.inv_freq[i];
                    pecs_ref_sincos(pecs_pos_at(pos, row, t) + s.pos_offset, w * (s.head_scale ? s.head_scale[h] : 1.0),
                                    &sn, &cs);
                }
                double c = cs, sg = sn;
                if (s.head_imag && s.head_imag[h]) /* RoPE++ imaginary head: x sin(a) - rot(x) cos(a) */
                    c = sn, sg = -cs;
                double xa = XIN(t, h, a), xb = XIN(t, h, b);
                od[pecs_at3(out, t, h, a)] = g * (xa * c - xb * sg);
                od[pecs_at3(out, t, h, b)] = g * (xa * sg + xb * c);
            }
        }
        for (int64_t h = 0; h < H; h++)
            for (int64_t d = R; d < D; d++)
                od[pecs_at3(out, t, h, d)] = XIN(t, h, d);
    }
#undef XIN
cleanup:
    free(xg);
    pecs_ref_rot_free(&s);
    return st;
}

/* Bias and mask: one hook call per element of out[H][Lq][Lk] (a mask has H = 1). */
static pecs_status run_pairwise(const pecs_problem *p, pecs_form form, const ref_hook *hook, char *why, size_t why_len)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!qp || !kp || !out) {
        snprintf(why, why_len, "%s problem needs tensors qpos, kpos and out", pecs_form_name(form));
        return PECS_INVALID;
    }
    double *od = out->data;
    int64_t H = out->shape[0];
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < out->shape[1]; i++)
            for (int64_t j = 0; j < out->shape[2]; j++) {
                double qi = pecs_pos_at(qp, 0, i), kj = pecs_pos_at(kp, 0, j), *o = &od[pecs_at3(out, h, i, j)];
                pecs_status st;
                if (form == PECS_FORM_MASK) {
                    int allowed = 0;
                    st = hook->mask(p, qi, kj, &allowed, why, why_len);
                    *o = allowed ? 0.0 : -INFINITY;
                } else {
                    st = hook->bias(p, H, h, qi, kj, o, why, why_len);
                }
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
    int64_t T = x->shape[0], D = x->shape[1], P = pos->ndim == 2 ? pos->shape[0] : 1;
    double pr[PECS_REF_MAX_POS_ROWS];
    if (P < 1 || P > PECS_REF_MAX_POS_ROWS) {
        snprintf(why, why_len, "embed problem: pos has %lld rows (1 to %d)", (long long)P, PECS_REF_MAX_POS_ROWS);
        return PECS_INVALID;
    }
    double *row = calloc((size_t)D, sizeof *row);
    if (!row)
        return PECS_NOMEM;
    pecs_status st = PECS_OK;
    const double *xd = x->data;
    double *od = out->data;
    for (int64_t t = 0; t < T && st == PECS_OK; t++) {
        for (int64_t r = 0; r < P; r++)
            pr[r] = pecs_pos_at(pos, r, t);
        st = hook->embed(p, D, pr[0], pr, t, row, why, why_len);
        for (int64_t d = 0; d < D && st == PECS_OK; d++)
            od[t * out->stride[0] + d * out->stride[1]] = xd[t * x->stride[0] + d * x->stride[1]] + row[d];
    }
    free(row);
    return st;
}

/* The scores hook on one query and one key (zero activations): what it says of the pair (qp, kp). */
static pecs_status check_scores_pair(const pecs_problem *p, const ref_hook *hook, const pecs_tensor *w, int64_t heads,
                                     int64_t head_dim, double qp, double kp, char *why, size_t why_len)
{
    size_t act = (size_t)(heads * head_dim);
    double *q = calloc(act, sizeof *q), *k = calloc(act, sizeof *k), *o = calloc((size_t)heads, sizeof *o);
    pecs_tensor t[6] = {
        {.name = "q", .dtype = PECS_DT_F64, .ndim = 3, .shape = {1, heads, head_dim}, .stride = {(int64_t)act, head_dim, 1}, .data = q},
        {.name = "k", .dtype = PECS_DT_F64, .ndim = 3, .shape = {1, heads, head_dim}, .stride = {(int64_t)act, head_dim, 1}, .data = k},
        {.name = "qpos", .dtype = PECS_DT_F64, .ndim = 1, .shape = {1}, .stride = {1}, .data = &qp},
        {.name = "kpos", .dtype = PECS_DT_F64, .ndim = 1, .shape = {1}, .stride = {1}, .data = &kp},
        {.name = "out", .dtype = PECS_DT_F64, .ndim = 3, .shape = {heads, 1, 1}, .stride = {1, 1, 1}, .data = o},
    };
    pecs_problem pair = *p;
    pair.tensors = t, pair.n_tensors = 5;
    if (w)
        t[pair.n_tensors++] = *w;
    pecs_status st = q && k && o ? hook->scores(&pair, why, why_len) : PECS_NOMEM;
    free(q);
    free(k);
    free(o);
    return st;
}

/* Evaluate the encoding at the ends of a case's positions (reference.h, pecs_ref_span). */
static pecs_status check_span(const pecs_problem *q, pecs_form form, const ref_hook *hook, const pecs_tensor *w,
                              int64_t heads, int64_t head_dim, const pecs_ref_span *sp, double *buf, char *why,
                              size_t why_len)
{
    /* (query, key) pairs: the latest query with its farthest earlier key, the earliest with its farthest later one */
    double pairs[2][2] = {{sp->hi, sp->hi - sp->dist}, {sp->lo, sp->lo + sp->dist}};
    pecs_status st = PECS_OK;
    switch (form) {
    case PECS_FORM_EMBED: { /* every row at the same end (the rows of a pattern share its span) */
        double lo[PECS_REF_MAX_POS_ROWS], hi[PECS_REF_MAX_POS_ROWS];
        for (int r = 0; r < PECS_REF_MAX_POS_ROWS; r++)
            lo[r] = sp->lo, hi[r] = sp->hi;
        if ((st = hook->embed(q, head_dim, sp->lo, lo, -1, buf, why, why_len)) == PECS_OK)
            st = hook->embed(q, head_dim, sp->hi, hi, -1, buf, why, why_len);
        break;
    }
    case PECS_FORM_BIAS:
        for (int k = 0; k < 2 && st == PECS_OK; k++)
            for (int64_t h = 0; h < heads && st == PECS_OK; h++)
                st = hook->bias(q, heads, h, pairs[k][0], pairs[k][1], buf, why, why_len);
        break;
    case PECS_FORM_MASK:
        for (int k = 0, allowed; k < 2 && st == PECS_OK; k++)
            st = hook->mask(q, pairs[k][0], pairs[k][1], &allowed, why, why_len);
        break;
    case PECS_FORM_SCORES:
        for (int k = 0; k < 2 && st == PECS_OK; k++)
            st = check_scores_pair(q, hook, w, heads, head_dim, pairs[k][0], pairs[k][1], why, why_len);
        break;
    default: break;
    }
    return st;
}

pecs_status pecs_ref_check(const pecs_problem *p, int64_t heads, int64_t head_dim, const pecs_ref_span *span,
                           char *why, size_t why_len)
{
    const pecs_encoding_info *e = problem_encoding(p, why, why_len);
    if (!e)
        return PECS_INVALID;
    pecs_status st = PECS_OK;
    /* Hooks that read learned data get a zero table of the registry's shape, so every parameter rule
     * (T5's max_distance, FIRE's width) is checked before a case is accepted. A spec naming L (the query count) gets
     * L = 1: the scores checks below evaluate one query at a time. */
    int64_t wshape[2] = {0, 0};
    int has_w = pecs_registry_weights_shape_l(e, p->params, p->n_params, heads, head_dim, 1, wshape); /* L: one query */
    double *buf = calloc((size_t)(head_dim > 0 ? head_dim : 1), sizeof *buf);
    double *wdata = has_w ? calloc((size_t)(wshape[0] * wshape[1]), sizeof *wdata) : NULL;
    pecs_problem q = *p;
    pecs_tensor wt = {.name = "w", .dtype = PECS_DT_F64, .ndim = 2, .shape = {wshape[0], wshape[1]},
                      .stride = {wshape[1], 1}, .data = wdata};
    if (has_w)
        q.tensors = &wt, q.n_tensors = 1;
    if (!buf || (has_w && !wdata)) {
        free(buf);
        free(wdata);
        return PECS_NOMEM;
    }
    switch (e->form) {
    case PECS_FORM_ROTATE: {
        int64_t R = pecs_ref_rotary_dim(p, head_dim, why, why_len);
        pecs_ref_rot s;
        if (!R)
            st = PECS_INVALID;
        else if ((st = pecs_ref_rot_alloc(&s, R)) == PECS_OK) {
            s.heads = heads;
            st = pecs_ref_schedule(&q, &s, why, why_len); /* a block schedule reads its generators from "w" */
            pecs_ref_rot_free(&s);
        }
        break;
    }
    case PECS_FORM_BIAS:
        for (int64_t h = 0; h < heads && st == PECS_OK; h++)
            st = g_hooks[e->enc].bias(&q, heads, h, 1.0, 0.0, buf, why, why_len);
        break;
    case PECS_FORM_EMBED: st = g_hooks[e->enc].embed(&q, head_dim, 0.0, (const double[PECS_REF_MAX_POS_ROWS]){0}, -1, buf,
                                                     why, why_len); break;
    case PECS_FORM_MASK: {
        int allowed; /* query 0 and key 0: a pair every case of every mask has (a one-token case too) */
        st = g_hooks[e->enc].mask(p, 0.0, 0.0, &allowed, why, why_len);
        break;
    }
    case PECS_FORM_KATTN: /* without q, k, v and out a kattn hook checks its parameters only (w may be there) */
        st = g_hooks[e->enc].kattn(&q, why, why_len);
        break;
    case PECS_FORM_POSMAP: { /* without tensors a posmap hook checks its parameters only */
        pecs_problem bare = *p;
        bare.tensors = NULL, bare.n_tensors = 0;
        st = g_hooks[e->enc].posmap(&bare, why, why_len);
        break;
    }
    default: break;
    }
    if (st == PECS_OK && span)
        st = check_span(&q, e->form, &g_hooks[e->enc], has_w ? &wt : NULL, heads, head_dim, span, buf, why, why_len);
    free(buf);
    free(wdata);
    return st;
}

int pecs_ref_rotate_gain(const pecs_problem *p, double *gain, int64_t *R_out)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos");
    char why[256];
    int64_t R = x && pos ? pecs_ref_rotary_dim(p, x->shape[x->ndim - 1], why, sizeof why) : 0;
    pecs_ref_rot s;
    if (!R || pecs_ref_rot_alloc(&s, R) != PECS_OK)
        return 0;
    int scaled = pecs_ref_schedule(p, &s, why, sizeof why) == PECS_OK && s.zeta_rate != 0.0;
    for (int64_t t = 0; scaled && t < x->shape[0]; t++)
        for (int64_t i = 0; i < R / 2; i++)
            gain[t * (R / 2) + i] = pow(s.zeta[i], (pecs_pos_at(pos, 0, t) - s.zeta_center) * s.zeta_rate);
    *R_out = R;
    pecs_ref_rot_free(&s);
    return scaled;
}

pecs_status pecs_ref_run(const pecs_problem *p, char *why, size_t why_len)
{
    const pecs_encoding_info *e = problem_encoding(p, why, why_len);
    if (!e)
        return PECS_INVALID;
    switch (e->form) {
    case PECS_FORM_ROTATE: return run_rotate(p, why, why_len);
    case PECS_FORM_BIAS:
    case PECS_FORM_MASK: return run_pairwise(p, e->form, &g_hooks[e->enc], why, why_len);
    case PECS_FORM_EMBED: return run_embed(p, &g_hooks[e->enc], why, why_len);
    case PECS_FORM_SCORES: return g_hooks[e->enc].scores(p, why, why_len);
    case PECS_FORM_POSMAP: return g_hooks[e->enc].posmap(p, why, why_len);
    case PECS_FORM_KATTN: return g_hooks[e->enc].kattn(p, why, why_len);
    default:
        snprintf(why, why_len, "form %s has no reference driver", pecs_form_name(e->form));
        return PECS_UNSUPPORTED;
    }
}

void pecs_ref_rotate_half_row(const pecs_tensor *t, int64_t row, int64_t h, double pos, double base, double *y)
{
    const double *td = t->data;
    int64_t D = t->shape[2], P = D / 2;
    for (int64_t d = 0; d < P; d++) {
        double a = pos * pow(base, -2.0 * (double)d / (double)D), c = cos(a), sn = sin(a);
        double x1 = td[pecs_at3(t, row, h, d)], x2 = td[pecs_at3(t, row, h, d + P)];
        y[d] = x1 * c - x2 * sn;
        y[d + P] = x2 * c + x1 * sn;
    }
}

int64_t pecs_ref_choose(int64_t n, int64_t r, int64_t cap)
{
    double c = 1.0;
    for (int64_t t = 0; t < r; t++)
        if ((c = c * (double)(n - t) / (double)(t + 1)) > (double)cap)
            return cap + 1;
    return (int64_t)(c + 0.5);
}

int pecs_ref_next_subset(int64_t *pick, int64_t n, int64_t r)
{
    int64_t t = r - 1;
    while (t >= 0 && pick[t] == n - r + t)
        t--;
    if (t < 0)
        return 0;
    pick[t]++;
    for (int64_t s = t + 1; s < r; s++)
        pick[s] = pick[s - 1] + 1;
    return 1;
}

int64_t pecs_ref_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo, double *hi)
{
    if (p->form == PECS_FORM_SCORES && !strcmp(p->encoding, "tra"))
        return pecs_ref_tra_undecided(p, unit, tiny, skip, lo, hi);
    if (p->form == PECS_FORM_KATTN && !strcmp(p->encoding, "extended_mind"))
        return pecs_ref_xmind_undecided(p, unit, tiny, skip, lo, hi);
    if (p->form == PECS_FORM_KATTN && !strcmp(p->encoding, "pine"))
        return pecs_ref_pine_undecided(p, unit, tiny, skip, lo, hi);
    if (p->form == PECS_FORM_KATTN && !strcmp(p->encoding, "longheads"))
        return pecs_ref_longheads_undecided(p, unit, tiny, skip, lo, hi);
    return 0;
}
