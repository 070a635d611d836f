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
