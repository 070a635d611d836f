/* impls/scalar/embed.c — embed-form kernels: x + P(pos), the table row computed in double per token. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scalar.h"
#include "../common/maglap.h"

/* The rows whose P reads x (peg's neighbours): in place, token t's output would overwrite a row a later token still
 * reads, so those read a private f32 copy of x (exact for every storage dtype) instead. */
static int row_reads_x(const char *id) { return !strcmp(id, "peg"); }

pecs_status scalar_embed(const pecs_problem *p, scalar_embed_fn row_fn)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!x || !pos || !out || x->ndim != 2)
        return PECS_INVALID;
    int64_t T = x->shape[0], D = x->shape[1], P = pos->ndim == 2 ? pos->shape[0] : 1;
    double pr[SCALAR_MAX_POS_ROWS];
    if (P < 1 || P > SCALAR_MAX_POS_ROWS)
        return PECS_INVALID;
    double *row = malloc((size_t)D * sizeof *row);
    float *copy = NULL;
    pecs_tensor tens[8];
    pecs_problem q = *p;
    pecs_status st = row ? PECS_OK : PECS_NOMEM;
    if (st == PECS_OK && p->in_place && row_reads_x(p->encoding)) {
        copy = p->n_tensors <= 8 ? malloc((size_t)(T * D) * sizeof *copy) : NULL;
        st = copy ? PECS_OK : p->n_tensors <= 8 ? PECS_NOMEM : PECS_INVALID;
        for (int64_t t = 0; t < T && copy; t++)
            for (int64_t d = 0; d < D; d++)
                copy[t * D + d] = pecs_load_f32(x->data, x->dtype, t * x->stride[0] + d * x->stride[1]);
        for (int32_t i = 0; i < p->n_tensors && copy; i++) {
            tens[i] = p->tensors[i];
            if (!strcmp(tens[i].name, "x"))
                tens[i].dtype = PECS_DT_F32, tens[i].stride[0] = D, tens[i].stride[1] = 1, tens[i].data = copy;
        }
        q.tensors = tens, q.in_place = 0;
    }
    for (int64_t t = 0; t < T && st == PECS_OK; t++) {
        for (int64_t r = 0; r < P; r++)
            pr[r] = pecs_pos_at(pos, r, t);
        st = row_fn(&q, D, pr[0], pr, t, row);
        for (int64_t d = 0; d < D && st == PECS_OK; d++) {
            float v = pecs_load_f32(x->data, x->dtype, t * x->stride[0] + d * x->stride[1]) + (float)row[d];
            pecs_store_f32(out->data, out->dtype, t * out->stride[0] + d * out->stride[1], v);
        }
    }
    free(copy);
    free(row);
    return st;
}

SCALAR_HOOK_EMBED(sinusoidal)
{
    double log_base = log(pecs_param_real(p, "base", 10000.0));
    for (int64_t d = 0; d < D; d += 2) {
        double a = pos * impl_sinusoidal_freq(log_base, d / 2, D, 0);
        row[d] = sin(a);
        if (d + 1 < D)
            row[d + 1] = cos(a);
    }
    return PECS_OK;
}

/* fairseq's [sin | cos] table row (sinusoidal.concat, ldpe, pia): which row a token reads is impl_concat_row's
 * rule (impls/common, shared with the SIMD kernels); an odd D's last column is 0. */
static pecs_status concat_row(const pecs_problem *p, int64_t D, double pos, double *row)
{
    int64_t half = D / 2;
    impl_concat c;
    double r;
    if (half < 2)
        return PECS_INVALID;
    impl_concat_init(p, &c);
    int kind = impl_concat_row(&c, pos, &r);
    if (kind < 0)
        return PECS_INVALID;
    for (int64_t d = 0; d < D; d++)
        row[d] = 0.0;
    for (int64_t i = 0; kind && i < half; i++) {
        double a = r * impl_sinusoidal_freq(c.log_base, i, D, 1);
        row[i] = sin(a);
        row[half + i] = cos(a);
    }
    return PECS_OK;
}

SCALAR_HOOK_EMBED(sinusoidal_concat) { return concat_row(p, D, pos, row); }

SCALAR_HOOK_EMBED(learned)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    int64_t npos = pecs_param_int(p, "npos", 4096), r = (int64_t)pos;
    if (!w || w->shape[0] != npos || w->shape[1] != D || pos != (double)r || r < 0 || r >= npos)
        return PECS_INVALID;
    for (int64_t d = 0; d < D; d++)
        row[d] = pecs_load_f64(w->data, w->dtype, r * w->stride[0] + d * w->stride[1]);
    return PECS_OK;
}

/* sigma-GPT: the half-width table's row at the token's own position, then at the next one in the order. */
SCALAR_HOOK_EMBED(sigma_gpt)
{
    (void)pos;
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    int64_t npos = pecs_param_int(p, "npos", 1024), half = D / 2;
    if (!w || D % 2 || w->shape[0] != npos || w->shape[1] != half)
        return PECS_INVALID;
    for (int r = 0; r < 2; r++) {
        int64_t i = (int64_t)pos_rows[r];
        if (pos_rows[r] != (double)i || i < 0 || i >= npos)
            return PECS_INVALID;
        for (int64_t d = 0; d < half; d++)
            row[r * half + d] = pecs_load_f64(w->data, w->dtype, i * w->stride[0] + d * w->stride[1]);
    }
    return PECS_OK;
}

SCALAR_HOOK_EMBED(nope)
{
    (void)p, (void)pos;
    for (int64_t d = 0; d < D; d++)
        row[d] = 0.0;
    return PECS_OK;
}

/* ---- tier 2 ------------------------------------------------------------------------------------------- */

/* LDPE (takase/control-length): fairseq's [sin | cos] table row len + 1 - pos, row 1 (the pad row) zero. */
SCALAR_HOOK_EMBED(ldpe) { return concat_row(p, D, pos, row); }

/* Shortformer PIA: fairseq's [sin | cos] table row pos + padding_idx + 1 of the window index; -1 is a pad. */
SCALAR_HOOK_EMBED(pia) { return concat_row(p, D, pos, row); }

/* Learnable Fourier features, 1-D: [cos(p Wr) | sin(p Wr)] / sqrt(F) -> Linear -> GELU (erf) -> Linear. The row is
 * accumulated in double from the table as stored (f32/f16/bf16), feature by feature. */
SCALAR_HOOK_EMBED(fourier)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    int64_t F = pecs_param_int(p, "features", 64), Hd = pecs_param_int(p, "hidden", 32), h = F / 2;
    if (!w || F % 2 || w->shape[0] != Hd + 1 || w->shape[1] != F + D + 1)
        return PECS_INVALID;
    double *feat = malloc((size_t)F * sizeof *feat);
    if (!feat)
        return PECS_NOMEM;
    double inv = 1.0 / sqrt((double)F);
    for (int64_t k = 0; k < h; k++) {
        double a = pos * pecs_load_f64(w->data, w->dtype, Hd * w->stride[0] + k * w->stride[1]);
        feat[k] = cos(a) * inv;
        feat[h + k] = sin(a) * inv;
    }
    for (int64_t d = 0; d < D; d++)
        row[d] = pecs_load_f64(w->data, w->dtype, Hd * w->stride[0] + (F + 1 + d) * w->stride[1]);
    for (int64_t r = 0; r < Hd; r++) {
        double z = pecs_load_f64(w->data, w->dtype, r * w->stride[0] + F * w->stride[1]);
        for (int64_t f = 0; f < F; f++)
            z += feat[f] * pecs_load_f64(w->data, w->dtype, r * w->stride[0] + f * w->stride[1]);
        double g = 0.5 * z * (1.0 + erf(z * 0.70710678118654752440));
        for (int64_t d = 0; d < D; d++)
            row[d] += g * pecs_load_f64(w->data, w->dtype, r * w->stride[0] + (F + 1 + d) * w->stride[1]);
    }
    free(feat);
    return PECS_OK;
}

/* CPVT PEG (reference/peg.c): the bias plus the nine taps of the depthwise 3x3 cross-correlation over the H x W grid of
 * the tokens after the class token, zero outside the grid, accumulated in double from x and w as stored; the class
 * token's row is 0 (passed through). */
SCALAR_HOOK_EMBED(peg)
{
    (void)pos;
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *w = pecs_problem_tensor(p, "w");
    int64_t W = pecs_param_int(p, "width", 4), n = pecs_param_int(p, "class_tokens", 0);
    if (!x || !w || W < 1 || n < 0 || n > 1 || w->shape[0] != D || w->shape[1] != 10)
        return PECS_INVALID;
    int64_t G = x->shape[0] - n;
    if (G < W || G % W)
        return PECS_INVALID;
    for (int64_t c = 0; c < D; c++)
        row[c] = 0.0;
    if (t < n)
        return PECS_OK;
    int64_t H = G / W, r = (t - n) / W, q = (t - n) % W;
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 3; j++) {
            int64_t rr = r + i - 1, qq = q + j - 1, src = n + rr * W + qq;
            if (rr < 0 || rr >= H || qq < 0 || qq >= W)
                continue;
            for (int64_t c = 0; c < D; c++)
                row[c] += pecs_load_f64(w->data, w->dtype, c * w->stride[0] + (3 * i + j) * w->stride[1]) *
                          pecs_load_f64(x->data, x->dtype, src * x->stride[0] + c * x->stride[1]);
        }
    for (int64_t c = 0; c < D; c++)
        row[c] += pecs_load_f64(w->data, w->dtype, c * w->stride[0] + 9 * w->stride[1]);
    return PECS_OK;
}

/* SeqPE (reference/seqpe.c has the source and the w layout): the position's decimal digits, left-padded with 0 to
 * max_digits slots, plus the class token, through `layers` pre-LN blocks; only the class token's row is carried through
 * the last block (every other row there is a key or value only). Everything in double from w as stored. */
typedef struct seqpe_net {
    const pecs_tensor *w;
    int64_t m, h, nh, nl, F, per;
    int bi, mask_pad, last_ln;
} seqpe_net;

static double seqpe_w(const seqpe_net *n, int64_t r, int64_t c)
{
    return pecs_load_f64(n->w->data, n->w->dtype, r * n->w->stride[0] + c * n->w->stride[1]);
}

/* y = LN(v) * w[g] + w[g + 1], eps 1e-5, biased variance */
static void seqpe_layernorm(const seqpe_net *n, const double *v, int64_t g, double *y)
{
    double mean = 0.0, ss = 0.0;
    for (int64_t c = 0; c < n->h; c++)
        mean += v[c];
    mean /= (double)n->h;
    for (int64_t c = 0; c < n->h; c++)
        ss += (v[c] - mean) * (v[c] - mean);
    double r = 1.0 / sqrt(ss / (double)n->h + 1e-5);
    for (int64_t c = 0; c < n->h; c++)
        y[c] = (v[c] - mean) * r * seqpe_w(n, g, c) + seqpe_w(n, g + 1, c);
}

/* y[0..cols-1] = v[0..k-1] W + b, W rows r0 .. r0+k-1 of w, b row rb */
static void seqpe_affine(const seqpe_net *n, const double *v, int64_t k, int64_t r0, int64_t rb, int64_t cols, double *y)
{
    for (int64_t c = 0; c < cols; c++)
        y[c] = seqpe_w(n, rb, c);
    for (int64_t e = 0; e < k; e++)
        for (int64_t c = 0; c < cols; c++)
            y[c] += v[e] * seqpe_w(n, r0 + e, c);
}

SCALAR_HOOK_EMBED(seqpe)
{
    seqpe_net n = {.w = pecs_problem_tensor(p, "w"), .m = pecs_param_int(p, "max_digits", 5),
                   .h = pecs_param_int(p, "hidden", 16), .nh = pecs_param_int(p, "attn_heads", 2),
                   .nl = pecs_param_int(p, "layers", 2), .bi = pecs_param_is(p, "direction", "bi"),
                   .mask_pad = (int)pecs_param_int(p, "mask_padding", 0), .last_ln = (int)pecs_param_int(p, "last_layernorm", 1)};
    if (n.m < 1 || n.m > 15 || n.h < 1 || n.nh < 1 || n.nl < 1 || n.h % n.nh || pos != floor(pos) || pos < 0 ||
        pos >= pow(10.0, (double)n.m))
        return PECS_INVALID;
    n.F = 4 * n.h, n.per = 7 * n.h + 8;
    int64_t O = 13 + n.m + n.nl * n.per, h = n.h, L = n.m + 1, hd = h / n.nh;
    if (!n.w || n.w->ndim != 2 || n.w->shape[0] != O + D || n.w->shape[1] != n.F)
        return PECS_INVALID;
    double *x = malloc((size_t)(L * h) * sizeof *x), *qkv = malloc((size_t)(L * 3 * h) * sizeof *qkv),
           *t1 = malloc((size_t)n.F * sizeof *t1), *t2 = malloc((size_t)n.F * sizeof *t2),
           *sc = malloc((size_t)L * sizeof *sc);
    int64_t dig[16];
    pecs_status st = x && qkv && t1 && t2 && sc ? PECS_OK : PECS_NOMEM;
    if (st != PECS_OK)
        goto out;
    /* slot s holds digit dig[s]; slots before `first` are padding (digit 0) */
    int64_t first = n.m - 1, v = (int64_t)pos;
    for (int64_t s = n.m - 1; s >= 0; s--, v /= 10) {
        dig[s] = v % 10;
        if (v)
            first = s;
    }
    for (int64_t s = 0; s <= n.m; s++)
        for (int64_t c = 0; c < h; c++)
            x[s * h + c] = s < n.m ? seqpe_w(&n, dig[s], c) + seqpe_w(&n, 10 + s, c) : seqpe_w(&n, 10 + n.m, c);
    for (int64_t l = 0; l < n.nl; l++) {
        int64_t B = 13 + n.m + l * n.per, from = l + 1 < n.nl ? 0 : n.m; /* the last block: the class row only */
        for (int64_t i = 0; i < L; i++) {
            seqpe_layernorm(&n, x + i * h, B, t1);
            seqpe_affine(&n, t1, h, B + 2, B + 2 + h, 3 * h, qkv + i * 3 * h);
        }
        /* attention outputs of rows from..L-1 go to t2 one row at a time; rows are updated after all are read */
        double *att = malloc((size_t)(L * h) * sizeof *att);
        if (!att) {
            st = PECS_NOMEM;
            goto out;
        }
        for (int64_t i = from; i < L; i++) {
            int live = !(n.mask_pad && i < first);
            for (int64_t c = 0; c < h; c++)
                att[i * h + c] = 0.0;
            for (int64_t k = 0; live && k < n.nh; k++) {
                int64_t lo = n.mask_pad ? first : 0, hi = n.bi ? L - 1 : i;
                double mx = -INFINITY, tot = 0.0;
                for (int64_t j = lo; j <= hi; j++) {
                    double s = 0.0;
                    for (int64_t e = 0; e < hd; e++)
                        s += qkv[i * 3 * h + k * hd + e] * qkv[j * 3 * h + h + k * hd + e];
                    sc[j] = s / sqrt((double)hd);
                    mx = sc[j] > mx ? sc[j] : mx;
                }
                for (int64_t j = lo; j <= hi; j++)
                    tot += sc[j] = exp(sc[j] - mx);
                for (int64_t j = lo; j <= hi; j++)
                    for (int64_t e = 0; e < hd; e++)
                        att[i * h + k * hd + e] += sc[j] / tot * qkv[j * 3 * h + 2 * h + k * hd + e];
            }
            if (live) {
                seqpe_affine(&n, att + i * h, h, B + 3 + h, B + 3 + 2 * h, h, t1);
                memcpy(att + i * h, t1, (size_t)h * sizeof *t1);
            }
        }
        for (int64_t i = from; i < L; i++) {
            if (n.mask_pad && i < first)
                continue;
            for (int64_t c = 0; c < h; c++)
                x[i * h + c] += att[i * h + c];
            seqpe_layernorm(&n, x + i * h, B + 4 + 2 * h, t1);
            seqpe_affine(&n, t1, h, B + 6 + 2 * h, B + 6 + 3 * h, n.F, t2);
            for (int64_t f = 0; f < n.F; f++) /* gelu_new */
                t2[f] = 0.5 * t2[f] * (1.0 + tanh(0.79788456080286535588 * (t2[f] + 0.044715 * t2[f] * t2[f] * t2[f])));
            seqpe_affine(&n, t2, n.F, B + 7 + 3 * h, B + 7 + 7 * h, h, t1);
            for (int64_t c = 0; c < h; c++)
                x[i * h + c] += t1[c];
        }
        free(att);
    }
    if (n.last_ln)
        seqpe_layernorm(&n, x + n.m * h, 11 + n.m, t1);
    else
        memcpy(t1, x + n.m * h, (size_t)h * sizeof *t1);
    for (int64_t d = 0; d < D; d++) {
        double z = seqpe_w(&n, O + d, h);
        for (int64_t c = 0; c < h; c++)
            z += t1[c] * seqpe_w(&n, O + d, c);
        row[d] = z;
    }
out:
    free(x), free(qkv), free(t1), free(t2), free(sc);
    return st;
}

/* graph.maglap (reference/graph_maglap.c, impls/common/maglap.h): the whole P [T][2k] of the graph in w is computed at
 * the first token of a graph and kept for the call's other tokens (the adjacency and parameters are compared, so a new
 * graph recomputes); row t is P[t] then zeros. */
static _Thread_local struct {
    int64_t T, k, k_excl;
    double q, thr;
    int q_absolute, sym;
    unsigned char *adj;
    double *P;
} g_maglap;

SCALAR_HOOK_EMBED(graph_maglap)
{
    (void)pos;
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *w = pecs_problem_tensor(p, "w");
    int64_t k = pecs_param_int(p, "k", 2), k_excl = pecs_param_int(p, "k_excl", 0);
    double q = pecs_param_real(p, "q", 0.25), thr = pecs_param_real(p, "edge_threshold", 0.0);
    int q_absolute = pecs_param_int(p, "q_absolute", 0) != 0, sym = !pecs_param_is(p, "normalization", "none");
    if (!x || !w || k < 1 || k_excl < 0 || 2 * k > D || t < 0)
        return PECS_INVALID;
    int64_t T = x->shape[0];
    if (w->ndim != 2 || w->shape[0] != T || w->shape[1] != T)
        return PECS_INVALID;
    unsigned char *adj = malloc((size_t)(T * T));
    if (!adj)
        return PECS_NOMEM;
    for (int64_t u = 0; u < T; u++)
        for (int64_t v = 0; v < T; v++)
            adj[u * T + v] = pecs_load_f64(w->data, w->dtype, u * w->stride[0] + v * w->stride[1]) > thr;
    if (!(g_maglap.P && g_maglap.T == T && g_maglap.k == k && g_maglap.k_excl == k_excl && g_maglap.q == q &&
          g_maglap.thr == thr && g_maglap.q_absolute == q_absolute && g_maglap.sym == sym &&
          !memcmp(g_maglap.adj, adj, (size_t)(T * T)))) {
        free(g_maglap.adj);
        free(g_maglap.P);
        g_maglap.adj = adj, adj = NULL;
        g_maglap.T = T, g_maglap.k = k, g_maglap.k_excl = k_excl, g_maglap.q = q, g_maglap.thr = thr;
        g_maglap.q_absolute = q_absolute, g_maglap.sym = sym;
        g_maglap.P = malloc((size_t)(T * 2 * k) * sizeof(double));
        if (!g_maglap.P || maglap_pe(g_maglap.adj, T, k, k_excl, q, q_absolute, sym, 0, g_maglap.P) != 0) {
            free(g_maglap.P);
            g_maglap.P = NULL;
            return PECS_NOMEM;
        }
    }
    free(adj);
    for (int64_t c = 0; c < D; c++)
        row[c] = c < 2 * k ? g_maglap.P[t * 2 * k + c] : 0.0;
    return PECS_OK;
}
