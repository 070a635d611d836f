/* reference/pine.c — one PINE attention layer (Wang et al. 2024, "Eliminating Position Bias of Language Models: A
 * Mechanistic Approach"), kattn form, the forward pass over a whole prompt.
 *
 * The definition is the authors' code, wzq016/PINE at 1c1755df, read through the search tool on 2026-12-07 (of the
 * paper, arXiv 2407.01100, only the abstract and the Figure 2 caption, in secondary pages: documents attend to each
 * other bidirectionally and are sorted by attention-based importance, the more important closer; Section 3.3, the
 * importance score, was not found, so the score below is the code's):
 *   pine/models/llama/tokenization_llama.py, ps_call: the prompt is [prefix | documents | suffix]; prefix tokens get
 *     positions 0..P-1; with N = the documents' total length, EVERY document is right-aligned to end at P + N - 1
 *     (document j's tokens P + N - l_j .. P + N - 1); the suffix continues at P + N (its index). self_region_mask is
 *     1 on each document's own block; doc_range / doc_mask / doc_select list the documents' tokens.
 *   pine/models/llama/modeling_llama.py, LlamaAttentionWithPS.forward (the "PS Content" blocks; the model's own
 *     RoPE call is dropped), per HEAD (position_shift has a head axis), q and k unrotated until the positions are
 *     known, scale 1/sqrt(head_dim), softmax in float32:
 *   - importance for a document's queries (num_docs > 2): scores q_t . k_u / sqrt(D) WITHOUT position, t and u in
 *     the document region, own-document keys masked (self_region_mask -> finfo.min), one softmax per query row;
 *     attn_weights_per_doc = the weights summed over document j's tokens / l_j; attn_weights_doc2doc[i][j] = the sum
 *     of that over document i's query tokens; the diagonal is set to finfo.max; torch.argsort(descending, stable):
 *     the own document first, then the others by decreasing weight, ties to the lower index;
 *     num_docs == 2: the other document second (no scores); num_docs == 1: nothing to order.
 *   - position_shift[i][j] = the total length of the documents ranked before j in i's order (cumsum - self, gathered
 *     by the inverse argsort); document j's positions for document i's queries are its tokenizer positions minus
 *     that shift: the own document stays at P + N - l_i .. P + N - 1, the next-ranked one just before it, ...
 *   - a document query and its keys (prefix and documents, not the suffix) are rotated at those positions
 *     (LlamaRotaryEmbeddingExtension: half-split pairs, inv_freq = rope_theta^(-2d/D)); the mask is by POSITION:
 *     key visible iff its position <= the query's, so every other document is visible in full (bidirectional) and
 *     the own document causally; the prefix is visible.
 *   - suffix queries (the "dynamic" block): scores q_s . k_u / sqrt(D) without position over the document region
 *     only (no mask), softmax, per-document mean as above, argsort descending stable (no own document): the most
 *     attended document ends at P + N - 1, next to the suffix; the query is rotated at its index, every key at its
 *     shifted position (prefix and suffix keys at their index); the model's causal (index) mask; softmax.
 *   - prefix queries: plain causal RoPE attention over the prefix at positions 0..P-1.
 * So with k, v [L, H, D] and q [L, H, D] (Lq = Lk = L, token t at index t), params prefix = P, lengths = (l_0..l_n-1)
 * and the suffix the remaining L - P - N >= 1 tokens, out[t][h] is the softmax attention above. A zero-length
 * suffix is rejected: the code slices the suffix as [-suffix_q_len:], which is the whole sequence at 0.
 *
 * The reorder is a discontinuity: two documents whose weights are within a float32 kernel's error of each other may
 * be ordered either way. pecs_ref_pine_undecided() names the rows (a document's queries, or a suffix query) whose
 * order float32 cannot decide, and the range of outputs every admissible order gives; the harness checks those rows
 * against the range (docs/encodings.md, pine). This reference sums in double, softmax with its maximum subtracted.
 * Not covered: a cache with past tokens (generation steps: one suffix query against the cached keys, the same
 * dynamic block), GQA's repeat_kv (a copy), rope_scaling, batches (the code takes one prompt), nested lists.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

/* Admissible orders enumerated for one undecided group before the range falls back to the values' hull. */
#define PN_MAX_ORDERS 120

typedef struct pn {
    const pecs_tensor *q, *k, *v, *out;
    int64_t L, H, D, P, n, N;
    double base;
    int64_t *len, *st, *docof, *order, *stack;
    double *imp, *pos, *s, *acc, *qr, *kr, *w, *wd, *dsum;
    unsigned char *used;
    double zeta, rho, A; /* the error model of imp (pn_importance; undecided only) */
    int64_t n_orders;
} pn;

static void pn_free(pn *x)
{
    free(x->len), free(x->st), free(x->docof), free(x->order), free(x->stack), free(x->imp), free(x->pos);
    free(x->s), free(x->acc), free(x->qr), free(x->kr), free(x->w), free(x->wd), free(x->dsum), free(x->used);
}

/* The lengths list into x->len (x->n of them); PECS_OK or PECS_INVALID with why. */
static pecs_status pn_params(const pecs_problem *p, pn *x, int64_t **len, int64_t *n, char *why, size_t why_len)
{
    const pecs_param *l = pecs_problem_param(p, "lengths");
    x->P = pecs_param_int(p, "prefix", 1), x->base = pecs_param_real(p, "base", 10000.0);
    *n = l ? l->n : 0;
    if (x->P < 0) {
        snprintf(why, why_len, "pine needs prefix >= 0, got %lld", (long long)x->P);
        return PECS_INVALID;
    }
    if (*n < 1) {
        snprintf(why, why_len, "pine needs at least one document: lengths lists the documents' token counts");
        return PECS_INVALID;
    }
    *len = malloc((size_t)*n * sizeof **len);
    if (!*len) {
        snprintf(why, why_len, "out of memory");
        return PECS_NOMEM;
    }
    x->N = 0;
    for (int64_t j = 0; j < *n; j++) {
        double d = l->list[j];
        if (!(d >= 1.0) || d != floor(d) || d > 1e15) {
            snprintf(why, why_len, "pine: document length %lld is %g; lengths must be whole numbers >= 1", (long long)j, d);
            return PECS_INVALID;
        }
        (*len)[j] = (int64_t)d, x->N += (int64_t)d;
    }
    return PECS_OK;
}

/* 1: x is ready; 0 with why set and *st; -1: parameters only, checked. */
static int pn_open(const pecs_problem *p, pn *x, pecs_status *st, char *why, size_t why_len)
{
    memset(x, 0, sizeof *x);
    if ((*st = pn_params(p, x, &x->len, &x->n, why, why_len)) != PECS_OK) {
        pn_free(x);
        return 0;
    }
    x->q = pecs_problem_tensor(p, "q"), x->k = pecs_problem_tensor(p, "k"), x->v = pecs_problem_tensor(p, "v");
    x->out = pecs_problem_tensor(p, "out");
    if (!x->q && !x->k && !x->v && !x->out) { /* parameters only (pecs_ref_check) */
        pn_free(x);
        return -1;
    }
    *st = PECS_INVALID;
    if (!x->q || !x->k || !x->v || !x->out) {
        snprintf(why, why_len, "pine needs tensors q, k, v and out");
    } else if ((x->L = x->q->shape[0], x->H = x->q->shape[1], x->D = x->q->shape[2], x->k->shape[0] != x->L)) {
        snprintf(why, why_len, "pine is self-attention over the prompt: keys (%lld) must equal tokens (%lld)",
                 (long long)x->k->shape[0], (long long)x->L);
    } else if (x->D % 2) {
        snprintf(why, why_len, "pine rotates half-split pairs (d, d + D/2): head_dim must be even, got %lld",
                 (long long)x->D);
    } else if (x->P + x->N >= x->L) {
        snprintf(why, why_len, "pine: prefix (%lld) + documents (%lld) must leave at least one suffix token of the "
                 "%lld tokens", (long long)x->P, (long long)x->N, (long long)x->L);
    } else
        *st = PECS_OK;
    if (*st != PECS_OK) {
        pn_free(x);
        return 0;
    }
    size_t nl = (size_t)(x->L + 1), nn = (size_t)(x->n + 1), nd = (size_t)(x->D + 1);
    x->st = malloc(nn * sizeof *x->st), x->order = malloc(nn * sizeof *x->order);
    x->stack = malloc(nn * sizeof *x->stack), x->imp = malloc(nn * sizeof *x->imp), x->used = malloc(nn);
    x->docof = malloc(nl * sizeof *x->docof), x->pos = malloc(nl * sizeof *x->pos), x->s = malloc(nl * sizeof *x->s);
    x->w = malloc(nl * sizeof *x->w), x->wd = malloc(nn * sizeof *x->wd), x->dsum = malloc(nn * nn * sizeof *x->dsum);
    x->acc = malloc(nd * sizeof *x->acc), x->qr = malloc(nd * sizeof *x->qr), x->kr = malloc(nd * sizeof *x->kr);
    if (!x->st || !x->order || !x->stack || !x->imp || !x->used || !x->docof || !x->pos || !x->s || !x->w || !x->wd || !x->dsum || !x->acc ||
        !x->qr || !x->kr) {
        pn_free(x);
        snprintf(why, why_len, "out of memory");
        *st = PECS_NOMEM;
        return 0;
    }
    for (int64_t t = 0; t < x->L; t++)
        x->docof[t] = -1;
    for (int64_t j = 0; j < x->n; j++)
        x->order[j] = j;
    for (int64_t j = 0, t = x->P; j < x->n; j++) {
        x->st[j] = t;
        for (int64_t u = 0; u < x->len[j]; u++)
            x->docof[t++] = j;
    }
    return 1;
}

/* row `row` of t at head h rotated at position pos into y (half-split pairs; the shared kattn rotation) */
static void rotate(const pn *x, const pecs_tensor *t, int64_t row, int64_t h, double pos, double *y)
{
    pecs_ref_rotate_half_row(t, row, h, pos, x->base, y);
}

/* Query t's position-free softmax over the document-region keys u (excluding document `skip`, -1: none), into x->w[u].
 * Returns Delta = max_u (gamma_(D+3) sum_d |q_d k_d| / sqrt(D) + unit |s_u - max|), a bound on a float32 kernel's
 * error in every exponent s_u - max (the dot product and scaling, the shift; 0 when unit is 0); *m = the term count. */
static double pn_weights(pn *x, int64_t h, int64_t t, int64_t skip, double unit, int64_t *m)
{
    const double *qd = x->q->data, *kd = x->k->data;
    int64_t D = x->D, lo = x->P, hi = x->P + x->N;
    double mx = -INFINITY, z = 0.0, rs = 1.0 / sqrt((double)D), g = (double)(D + 3) * unit / (1.0 - (double)(D + 3) * unit);
    double delta = 0.0;
    *m = 0;
    for (int64_t u = lo; u < hi; u++) {
        if (x->docof[u] == skip)
            continue;
        double dot = 0.0, a = 0.0;
        for (int64_t d = 0; d < D; d++) {
            double pr = qd[pecs_at3(x->q, t, h, d)] * kd[pecs_at3(x->k, u, h, d)];
            dot += pr, a += fabs(pr);
        }
        x->s[u] = dot * rs, x->w[u] = g * a * rs; /* w holds the score's error bound until the weights */
        mx = fmax(mx, x->s[u]);
        (*m)++;
    }
    for (int64_t u = lo; u < hi; u++)
        if (x->docof[u] != skip) {
            delta = fmax(delta, x->w[u] + unit * fabs(x->s[u] - mx));
            z += (x->w[u] = exp(x->s[u] - mx));
        }
    for (int64_t u = lo; u < hi; u++)
        x->w[u] = x->docof[u] == skip ? 0.0 : x->w[u] / z;
    return delta;
}

static double gam(double n, double unit) { return n * unit / (1.0 - n * unit); }

/* Group g's document weights into x->imp (g < n: document g's queries; g >= n: the suffix query at index g - n + P + N)
 * and the order x->order (the own document first, then decreasing weight, ties to the lower index). With unit > 0 it
 * also models a float32 kernel (docs/encodings.md, pine): row t's per-document weight W_tj = sum_(u in j) e_tu /
 * (l_j Z_t) is computed as W_tj (1 + eps_t)(1 + eta_tj), eps_t common to the row (its sum Z_t: |eps_t| <= zeta =
 * e^Delta (1 + 2u)(1 + gamma_m) - 1, over 1 - zeta), |eta_tj| <= rho = e^Delta (1 + 2u)(1 + gamma_(l_j + 2)) - 1 (the
 * exps, the document's sum and the two divisions), and the sum over the T rows adds gamma_T. So a kernel's
 * imp_a - imp_b is within
 *   B_ab = zeta' sum_t |W_ta - W_tb| + ((1 + zeta') rho + gamma_T (1 + rho)(1 + zeta')) (imp_a + imp_b) + A
 * of the exact one, A the exps float32 flushes to zero (each below 2^-126 of a sum >= 1); x->dsum[a n + b] holds
 * sum_t |W_ta - W_tb|, x->zeta = zeta', x->rho = the factor of imp_a + imp_b. */
static void pn_importance(pn *x, int64_t h, int64_t g, double unit)
{
    int64_t n = x->n, own = g < n ? g : -1, lmax = 0, m = 0;
    double delta = 0.0, mmax = 0.0;
    for (int64_t j = 0; j < n; j++)
        x->imp[j] = 0.0, lmax = x->len[j] > lmax ? x->len[j] : lmax;
    for (int64_t j = 0; unit > 0.0 && j < n * n; j++)
        x->dsum[j] = 0.0;
    int scored = own < 0 ? n > 1 : n > 2;
    int64_t t0 = own < 0 ? g - n + x->P + x->N : x->st[own], t1 = own < 0 ? t0 + 1 : t0 + x->len[own];
    for (int64_t t = t0; t < t1 && scored; t++) {
        delta = fmax(delta, pn_weights(x, h, t, own, unit, &m));
        mmax = fmax(mmax, (double)m);
        for (int64_t j = 0; j < n; j++)
            x->wd[j] = 0.0;
        for (int64_t u = x->P; u < x->P + x->N; u++)
            x->wd[x->docof[u]] += x->w[u] / (double)x->len[x->docof[u]];
        for (int64_t j = 0; j < n; j++)
            x->imp[j] += x->wd[j];
        for (int64_t a = 0; unit > 0.0 && a < n; a++)
            for (int64_t b = 0; b < n; b++)
                x->dsum[a * n + b] += fabs(x->wd[a] - x->wd[b]);
    }
    if (unit > 0.0) {
        double zeta = exp(delta) * (1.0 + 2.0 * unit) * (1.0 + gam(mmax, unit)) - 1.0;
        double rho = exp(delta) * (1.0 + 2.0 * unit) * (1.0 + gam((double)lmax + 2.0, unit)) - 1.0;
        double gT = gam((double)(t1 - t0), unit);
        x->zeta = zeta / (1.0 - zeta);
        x->rho = (1.0 + x->zeta) * rho + gT * (1.0 + rho) * (1.0 + x->zeta);
        x->A = ldexp(1.0, -125) * (double)x->N * (double)(t1 - t0);
    }
    int64_t c = 0;
    memset(x->used, 0, (size_t)n);
    if (own >= 0)
        x->order[c++] = own, x->used[own] = 1;
    for (; c < n; c++) {
        int64_t best = -1;
        for (int64_t j = 0; j < n; j++)
            if (!x->used[j] && (best < 0 || x->imp[j] > x->imp[best]))
                best = j;
        x->order[c] = best, x->used[best] = 1;
    }
}

/* x->pos for every key under order `order`: prefix and suffix at their index, document j's token u at
 * P + N - l_j - shift_j + u, shift_j = the total length of the documents before j in the order. */
static void pn_positions(pn *x, const int64_t *order)
{
    for (int64_t t = 0; t < x->L; t++)
        x->pos[t] = (double)t;
    int64_t shift = 0;
    for (int64_t c = 0; c < x->n; c++) {
        int64_t j = order[c];
        for (int64_t u = 0; u < x->len[j]; u++)
            x->pos[x->st[j] + u] = (double)(x->P + x->N - x->len[j] - shift + u);
        shift += x->len[j];
    }
}

/* Is key j visible to query i (the code's masks: by position among the prefix and documents for a document query,
 * by index otherwise)? */
static int pn_visible(const pn *x, int64_t i, int64_t j)
{
    if (x->docof[i] >= 0)
        return j < x->P + x->N && x->pos[j] <= x->pos[i];
    return j <= i;
}

/* x->acc = out[i][h] at the positions x->pos */
static void pn_attend(pn *x, int64_t h, int64_t i)
{
    const double *vd = x->v->data;
    int64_t D = x->D;
    double mx = -INFINITY, z = 0.0, scale = sqrt((double)D);
    rotate(x, x->q, i, h, x->pos[i], x->qr);
    for (int64_t j = 0; j < x->L; j++) {
        if (!pn_visible(x, i, j))
            continue;
        rotate(x, x->k, j, h, x->pos[j], x->kr);
        double dot = 0.0;
        for (int64_t d = 0; d < D; d++)
            dot += x->qr[d] * x->kr[d];
        x->s[j] = dot / scale;
        mx = fmax(mx, x->s[j]);
    }
    for (int64_t d = 0; d < D; d++)
        x->acc[d] = 0.0;
    for (int64_t j = 0; j < x->L; j++)
        if (pn_visible(x, i, j))
            z += (x->s[j] = exp(x->s[j] - mx));
    for (int64_t j = 0; j < x->L; j++)
        for (int64_t d = 0; pn_visible(x, i, j) && d < D; d++)
            x->acc[d] += x->s[j] / z * vd[pecs_at3(x->v, j, h, d)];
}

/* The query rows of group g: [t0, t1) */
static void pn_rows(const pn *x, int64_t g, int64_t *t0, int64_t *t1)
{
    *t0 = g < x->n ? x->st[g] : g - x->n + x->P + x->N;
    *t1 = g < x->n ? *t0 + x->len[g] : *t0 + 1;
}

PECS_REF_HOOK_KATTN(pine)
{
    pn x;
    pecs_status st = PECS_OK;
    int r = pn_open(p, &x, &st, why, why_len);
    if (r <= 0)
        return st;
    double *od = x.out->data;
    int64_t S = x.L - x.P - x.N;
    for (int64_t h = 0; h < x.H; h++) {
        for (int64_t i = 0; i < x.P; i++) { /* prefix: causal, positions = index */
            pn_positions(&x, x.order); /* any order (here 0..n-1): the prefix sees no document */
            pn_attend(&x, h, i);
            for (int64_t d = 0; d < x.D; d++)
                od[pecs_at3(x.out, i, h, d)] = x.acc[d];
        }
        for (int64_t g = 0; g < x.n + S; g++) {
            int64_t t0, t1;
            pn_importance(&x, h, g, 0.0);
            pn_positions(&x, x.order);
            pn_rows(&x, g, &t0, &t1);
            for (int64_t i = t0; i < t1; i++) {
                pn_attend(&x, h, i);
                for (int64_t d = 0; d < x.D; d++)
                    od[pecs_at3(x.out, i, h, d)] = x.acc[d];
            }
        }
    }
    pn_free(&x);
    return PECS_OK;
}

/* Is document a surely ranked above document b by a float32 kernel? */
static int pn_sure(const pn *x, int64_t a, int64_t b)
{
    double B = x->zeta * x->dsum[a * x->n + b] + x->rho * (x->imp[a] + x->imp[b]) + x->A;
    return x->imp[a] - x->imp[b] > 2.0 * B; /* twice the bound: a margin for kernels summing in another order */
}

/* Every order of the documents that no sure pair contradicts (the own document of group g first), depth-first:
 * the rows of g under each go into lo/hi. Stops counting past PN_MAX_ORDERS (x->n_orders). */
static void pn_enumerate(pn *x, int64_t h, int64_t g, int64_t c, double *lo, double *hi)
{
    if (x->n_orders > PN_MAX_ORDERS)
        return;
    if (c == x->n) {
        if (++x->n_orders > PN_MAX_ORDERS)
            return;
        int64_t t0, t1;
        pn_positions(x, x->stack);
        pn_rows(x, g, &t0, &t1);
        for (int64_t i = t0; i < t1; i++) {
            pn_attend(x, h, i);
            for (int64_t d = 0, e = (i * x->H + h) * x->D; d < x->D; d++, e++)
                lo[e] = fmin(lo[e], x->acc[d]), hi[e] = fmax(hi[e], x->acc[d]);
        }
        return;
    }
    for (int64_t a = 0; a < x->n; a++) {
        if (x->used[a] || (c == 0 && g < x->n && a != g))
            continue;
        int ok = 1; /* a may come next unless a remaining document surely outranks it */
        for (int64_t b = 0; b < x->n && ok && !(c == 0 && g < x->n); b++)
            ok = x->used[b] || b == a || !pn_sure(x, b, a);
        if (!ok)
            continue;
        x->used[a] = 1, x->stack[c] = a;
        pn_enumerate(x, h, g, c + 1, lo, hi);
        x->used[a] = 0;
    }
}

/* Rows of group g: the hull of the values every visible key holds (the visible set does not depend on the order). */
static void pn_hull(pn *x, int64_t h, int64_t g, double *lo, double *hi)
{
    const double *vd = x->v->data;
    int64_t t0, t1;
    pn_positions(x, x->order);
    pn_rows(x, g, &t0, &t1);
    for (int64_t i = t0; i < t1; i++)
        for (int64_t j = 0; j < x->L; j++)
            for (int64_t d = 0, e = (i * x->H + h) * x->D; pn_visible(x, i, j) && d < x->D; d++, e++) {
                double val = vd[pecs_at3(x->v, j, h, d)];
                lo[e] = fmin(lo[e], val), hi[e] = fmax(hi[e], val);
            }
}

int64_t pecs_ref_pine_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo,
                                double *hi)
{
    (void)tiny; /* the weights are float32 sums of normal-range terms; a flushed exp is in the absolute bound */
    char why[256];
    pn x;
    pecs_status st = PECS_OK;
    if (pn_open(p, &x, &st, why, sizeof why) <= 0)
        return st == PECS_NOMEM ? -1 : 0;
    int64_t count = 0, S = x.L - x.P - x.N;
    for (int64_t h = 0; h < x.H; h++)
        for (int64_t g = 0; g < x.n + S; g++) {
            pn_importance(&x, h, g, unit);
            int undecided = 0; /* one order unless two neighbours of the exact order are not surely apart */
            for (int64_t c = g < x.n ? 2 : 1; c < x.n && !undecided; c++)
                undecided = !pn_sure(&x, x.order[c - 1], x.order[c]);
            if (!undecided)
                continue;
            int64_t t0, t1;
            pn_rows(&x, g, &t0, &t1);
            for (int64_t i = t0; i < t1; i++)
                for (int64_t d = 0, e = (i * x.H + h) * x.D; d < x.D; d++, e++) {
                    skip[e] = 1, count++;
                    if (lo && hi)
                        lo[e] = INFINITY, hi[e] = -INFINITY;
                }
            if (!lo || !hi)
                continue;
            x.n_orders = 0;
            memset(x.used, 0, (size_t)x.n);
            pn_enumerate(&x, h, g, 0, lo, hi);
            if (x.n_orders > PN_MAX_ORDERS)
                pn_hull(&x, h, g, lo, hi);
        }
    pn_free(&x);
    return count;
}
