/* reference/longheads.c — LongHeads (Lu et al. 2024, arXiv 2402.10685), one attention layer's prefill (the
 * encoding phase: a fresh call, no cache), kattn form.
 *
 * The paper's method section was not readable through the search tool (only its abstract); the definition is the
 * authors' code, LuLuLuyi/LongHeads at 1c9f72e7 (modeling_longheads/modeling_llama.py, configuration_llama.py) and
 * README.md at 055231c3, read through the search tool on 2026-12-07:
 *   configuration_llama.py, LlamaConfig: window_size 256, atten_length 4096, begin_selective_length 4096 (also the
 *     README's example); LlamaAttention.forward asserts atten_length % 256 == 0; atten_chunk_num = atten_length //
 *     window_size (K below).
 *   LlamaRotaryEmbedding (base 10000, fixed), rotate_half, apply_rotary_pos_emb*: half-split RoPE (pairs
 *     (d, d + D/2)), inv_freq = 1 / 10000^(arange(0, D, 2) / D).
 *   LlamaAttention.forward, the `ori_len > 1` branch (prefill; position_ids = arange(L)):
 *     - queries before begin_selective_length: flash_attn_qkvpacked_func(causal=True, scale D^-1/2) with q and k
 *       rotated at their positions (plain causal RoPE attention);
 *     - every chunk of window_size tokens (the input padded with zero tokens to a multiple of it,
 *       _pad_to_chunk_size): q and k rotated at the position within the chunk (position_ids % window_size); a
 *       non-causal attention of the chunk to itself (self.attn, FlashSelfAttention(causal=False), scale D^-1/2);
 *       chunk_features_value = the mean of its outputs over the chunk; chunk_features_key = F.scaled_dot_product_
 *       attention(query = that mean, key = value = the chunk's locally rotated keys) (default scale D^-1/2);
 *     - query i >= begin_selective_length in chunk c = i // w: global_qk = the UNROTATED query (query_states_ori)
 *       dotted with every chunk key; chunks after c masked (finfo.min, triu), chunk 0 and chunks c - 1 and c forced
 *       (finfo.max); torch.topk(K) and torch.sort: K chunks in index order, c last;
 *     - the sequential (batch_encoding False, the default) loop: relative_position = (K - 1) w + (i mod w); the
 *       selected chunks' UNROTATED keys (rf_w_k_ori) and values concatenated and cut to their first
 *       relative_position rows (so the own chunk gives its tokens before i: token i's own key is not among them),
 *       the keys rotated at 0 .. relative_position - 1 (apply_rotary_pos_emb_for_relative_keys), the query at
 *       relative_position (selective_query_position_ids); flash_attn_with_kvcache(causal=False, scale D^-1/2).
 * So, per head, with w = window_size, K = atten_length / w, B = begin_selective_length, R(p) the rotation at p,
 * s = D^-1/2 and ~x_t = R(t mod w) x_t (the within-chunk rotation):
 *   i < B:   out_i = sum_{j <= i} softmax_j(R(i) q_i . R(j) k_j s) v_j
 *   chunk g: o_t = sum_{u in g} softmax_u(~q_t . ~k_u s) v_u (t in g);  m_g = mean_{t in g} o_t;
 *            c_g = sum_{u in g} softmax_u(m_g . ~k_u s) ~k_u
 *   i >= B, c = i // w, r = i mod w:  S_i = {0, c - 1, c} u the K - 3 chunks of 1 .. c - 2 with the largest q_i . c_g;
 *            with S_i = {g_1 < ... < g_K = c}, key u of chunk g_a (u < w, and u < r for a = K) sits at
 *            (a - 1) w + u and the query at (K - 1) w + r:
 *            out_i = sum softmax(R((K - 1) w + r) q_i . R((a - 1) w + u) k_{g_a w + u} s) v_{g_a w + u}
 * The parameters must give every selective query K chunks at or before its own (B >= (K - 1) w: else the code's
 * top-k would take masked future chunks), B a multiple of w (else the code's rearrange of the selective queries into
 * chunks fails) and K >= 3 (chunk 0, c - 1 and c are forced; the decode branch takes topk(K - 3)). Only full chunks'
 * keys are ever compared (g <= c - 2), so the zero padding of the last chunk changes nothing here. pecs does not
 * enforce atten_length % 256 (an assert of the code, not of the formula) so small cases can run.
 * Not covered: the decode branch (ori_len == 1: it keeps the token's own key and forces the last full chunk instead of
 * c - 1), batch_encoding, a cache (past_key_value), padding masks, float16 and its cos/sin cache.
 *
 * Top-k is a discontinuity: two chunks whose scores are within a float32 kernel's error of each other may be ordered
 * either way. pecs_ref_longheads_undecided() names the (query, head) rows whose selection float32 cannot decide and
 * gives the range of outputs every admissible selection gives, as extended_mind does (docs/encodings.md, longheads).
 * This reference sums in double, each softmax with its maximum subtracted; score ties are broken by the lower chunk.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

/* Selections enumerated for one undecided row before the range falls back to the values' hull. */
#define LH_MAX_COMBOS 4096

typedef struct lh {
    const pecs_tensor *q, *k, *v, *out;
    int64_t L, H, D, W, K, B, G, C;  /* G: chunks whose key may be compared; C: chunks (the last may be partial) */
    double base, unit;
    double *kt, *ck, *ca, *cl, *cdk; /* per head: rotated chunk keys [G W D], chunk keys [G D], their weights, logit
                                      * error bounds and rotation error bounds [G W] */
    double *qt, *lg, *o, *m, *qr, *kr, *acc, *s, *sc, *eps, *sorted;
    int64_t *idx, *pick;
    unsigned char *in;
} lh;

static pecs_status check(int64_t W, int64_t A, int64_t B, int64_t Lq, int64_t Lk, int64_t D, char *why,
                         size_t why_len)
{
    if (W < 1 || A % W || A / W < 3) {
        snprintf(why, why_len, "longheads needs atten_length a multiple of window_size with at least 3 chunks (chunk "
                 "0, the previous and the own are forced), got atten_length %lld, window_size %lld", (long long)A,
                 (long long)W);
        return PECS_INVALID;
    }
    if (B % W || B < A - W) {
        snprintf(why, why_len, "longheads needs begin_selective_length a multiple of window_size and >= atten_length - "
                 "window_size (every selective query has atten_length / window_size chunks at or before its own), got "
                 "%lld with window_size %lld, atten_length %lld", (long long)B, (long long)W, (long long)A);
        return PECS_INVALID;
    }
    if (Lk != Lq) {
        snprintf(why, why_len, "longheads is self-attention (query i is token i): keys (%lld) must equal tokens (%lld)",
                 (long long)Lk, (long long)Lq);
        return PECS_INVALID;
    }
    if (D % 2) {
        snprintf(why, why_len, "longheads rotates half-split pairs (d, d + D/2): head_dim must be even, got %lld",
                 (long long)D);
        return PECS_INVALID;
    }
    return PECS_OK;
}

static void lh_free(lh *x)
{
    free(x->kt), free(x->ck), free(x->ca), free(x->cl), free(x->cdk), free(x->qt), free(x->lg), free(x->o);
    free(x->m), free(x->qr), free(x->kr), free(x->acc), free(x->s), free(x->sc), free(x->eps), free(x->sorted);
    free(x->idx), free(x->pick), free(x->in);
}

/* 1: x is ready; 0 with why set (PECS_INVALID in *st, or PECS_NOMEM); -1: parameters only, checked. */
static int lh_open(const pecs_problem *p, lh *x, pecs_status *st, char *why, size_t why_len)
{
    memset(x, 0, sizeof *x);
    x->W = pecs_param_int(p, "window_size", 256);
    int64_t A = pecs_param_int(p, "atten_length", 4096);
    x->B = pecs_param_int(p, "begin_selective_length", 4096), x->base = pecs_param_real(p, "base", 10000.0);
    x->q = pecs_problem_tensor(p, "q"), x->k = pecs_problem_tensor(p, "k"), x->v = pecs_problem_tensor(p, "v");
    x->out = pecs_problem_tensor(p, "out");
    if (!x->q && !x->k && !x->v && !x->out) { /* parameters only (pecs_ref_check) */
        *st = check(x->W, A, x->B, 0, 0, 0, why, why_len);
        return *st == PECS_OK ? -1 : 0;
    }
    if (!x->q || !x->k || !x->v || !x->out) {
        snprintf(why, why_len, "longheads needs tensors q, k, v and out");
        *st = PECS_INVALID;
        return 0;
    }
    x->L = x->q->shape[0], x->H = x->q->shape[1], x->D = x->q->shape[2];
    if ((*st = check(x->W, A, x->B, x->L, x->k->shape[0], x->D, why, why_len)) != PECS_OK)
        return 0;
    x->K = A / x->W;
    x->C = (x->L + x->W - 1) / x->W;
    x->G = x->C >= 2 ? x->C - 2 : 0;
    int64_t W = x->W, D = x->D, nk = (x->L > x->K * W ? x->L : x->K * W) + 1;
    size_t gwd = (size_t)(x->G * W * D + 1), gw = (size_t)(x->G * W + 1), nc = (size_t)(x->C + 1);
    size_t nd = (size_t)(D + 1), wd = (size_t)(W * D + 1);
    x->kt = malloc(gwd * sizeof *x->kt), x->ck = malloc((size_t)(x->G * D + 1) * sizeof *x->ck);
    x->ca = malloc(gw * sizeof *x->ca), x->cl = malloc(gw * sizeof *x->cl), x->cdk = malloc(gw * sizeof *x->cdk);
    x->qt = malloc(wd * sizeof *x->qt), x->lg = malloc((size_t)(W + 1) * sizeof *x->lg);
    x->o = malloc(nd * sizeof *x->o), x->m = malloc(nd * sizeof *x->m), x->qr = malloc(nd * sizeof *x->qr);
    x->kr = malloc(nd * sizeof *x->kr), x->acc = malloc(nd * sizeof *x->acc), x->s = malloc((size_t)nk * sizeof *x->s);
    x->sc = malloc(nc * sizeof *x->sc), x->eps = malloc(nc * sizeof *x->eps), x->sorted = malloc(nc * sizeof *x->sorted);
    x->idx = malloc(nc * sizeof *x->idx), x->pick = malloc(nc * sizeof *x->pick), x->in = malloc(nc);
    if (!x->kt || !x->ck || !x->ca || !x->cl || !x->cdk || !x->qt || !x->lg || !x->o || !x->m || !x->qr || !x->kr ||
        !x->acc || !x->s || !x->sc || !x->eps || !x->sorted || !x->idx || !x->pick || !x->in) {
        lh_free(x);
        snprintf(why, why_len, "out of memory");
        *st = PECS_NOMEM;
        return 0;
    }
    return 1;
}

static double inv_freq(const lh *x, int64_t d) { return pow(x->base, -2.0 * (double)d / (double)x->D); }

static double at(const pecs_tensor *t, int64_t row, int64_t h, int64_t d)
{
    return ((const double *)t->data)[pecs_at3(t, row, h, d)];
}

/* row `row` of t at head h rotated at position pos into y (half-split pairs; the shared kattn rotation) */
static void rotate(const lh *x, const pecs_tensor *t, int64_t row, int64_t h, double pos, double *y)
{
    pecs_ref_rotate_half_row(t, row, h, pos, x->base, y);
}

/* A bound on a float32 kernel's error in row `row` of t rotated at pos: sum over pairs of the pair's norm times its
 * angle and cos/sin error u ((8 + |ln f|) pos f + 4) (as reference/extended_mind.c) plus 2u for the products. */
static double rot_err(const lh *x, const pecs_tensor *t, int64_t row, int64_t h, double pos)
{
    double e = 0.0, u = x->unit;
    for (int64_t d = 0; d < x->D / 2; d++) {
        double f = inv_freq(x, d);
        e += hypot(at(t, row, h, d), at(t, row, h, d + x->D / 2)) * u * ((8.0 + fabs(log(f))) * pos * f + 6.0);
    }
    return e;
}

/* softmax of lg[0 .. n-1] in place (maximum subtracted) */
static void softmax(double *lg, int64_t n)
{
    double mx = -INFINITY, z = 0.0;
    for (int64_t j = 0; j < n; j++)
        mx = lg[j] > mx ? lg[j] : mx;
    for (int64_t j = 0; j < n; j++)
        z += (lg[j] = exp(lg[j] - mx));
    for (int64_t j = 0; j < n; j++)
        lg[j] /= z;
}

/* The chunk keys c_g (g < G) of head h; with x->unit > 0 also, per key u of chunk g, a bound on a float32 kernel's
 * error in the chunk-key logit m_g . ~k_u s (x->cl) and in ~k_u (x->cdk), to first order (docs/encodings.md,
 * longheads): a within-chunk logit errs by Delta1 = (gamma_D sum |~q ~k| + rot(q) |k| + |q| rot(k)) s + u |l|; a
 * softmax moves its output by sum_j a_j (dl_j - sum a dl) v_j, so o_t errs by sum_j a_j Delta1_j |v_j - o_t| +
 * (2 gamma_w + 4u) sum_j a_j |v_j| (the exps, the normalisation, the weighted sum); m_g by their mean + (gamma_w + u)
 * the mean of sum a |v| (eps_m); the chunk-key logit then by (eps_m |k_u| + |m| rot(k_u) + gamma_D sum |m ~k_u|) s +
 * u |l|. */
static void lh_chunks(lh *x, int64_t h)
{
    int64_t W = x->W, D = x->D;
    double s = 1.0 / sqrt((double)D), u = x->unit, gD = (double)D * u / (1.0 - (double)D * u);
    double gW = (double)W * u / (1.0 - (double)W * u);
    for (int64_t g = 0; g < x->G; g++) {
        double *kt = x->kt + g * W * D, *ck = x->ck + g * D, em = 0.0, ev = 0.0;
        for (int64_t t = 0; t < W; t++) {
            rotate(x, x->k, g * W + t, h, (double)t, kt + t * D);
            rotate(x, x->q, g * W + t, h, (double)t, x->qt + t * D);
        }
        for (int64_t d = 0; d < D; d++)
            x->m[d] = 0.0;
        for (int64_t t = 0; t < W; t++) {
            double qn = 0.0, qe = u > 0.0 ? rot_err(x, x->q, g * W + t, h, (double)t) : 0.0;
            for (int64_t d = 0; d < D; d++)
                qn += x->qt[t * D + d] * x->qt[t * D + d];
            qn = sqrt(qn);
            for (int64_t j = 0; j < W; j++) {
                double dot = 0.0, a = 0.0, kn = 0.0;
                for (int64_t d = 0; d < D; d++) {
                    dot += x->qt[t * D + d] * kt[j * D + d], a += fabs(x->qt[t * D + d] * kt[j * D + d]);
                    kn += kt[j * D + d] * kt[j * D + d];
                }
                x->lg[j] = dot * s;
                if (u > 0.0) { /* x->s holds Delta1 of (t, j) */
                    double ke = rot_err(x, x->k, g * W + j, h, (double)j);
                    x->s[j] = (gD * a + qe * sqrt(kn) + qn * ke) * s + u * fabs(dot * s);
                }
            }
            softmax(x->lg, W);
            for (int64_t d = 0; d < D; d++)
                x->o[d] = 0.0;
            for (int64_t j = 0; j < W; j++)
                for (int64_t d = 0; d < D; d++)
                    x->o[d] += x->lg[j] * at(x->v, g * W + j, h, d);
            for (int64_t j = 0; j < W && u > 0.0; j++) { /* d o = sum_j a_j (dl_j - sum a dl) v_j: centred on o */
                double vn = 0.0, dn = 0.0;
                for (int64_t d = 0; d < D; d++) {
                    double vv = at(x->v, g * W + j, h, d);
                    vn += vv * vv, dn += (vv - x->o[d]) * (vv - x->o[d]);
                }
                em += x->lg[j] * (x->s[j] * sqrt(dn) + (2.0 * gW + 4.0 * u) * sqrt(vn));
                ev += x->lg[j] * sqrt(vn);
            }
            for (int64_t d = 0; d < D; d++)
                x->m[d] += x->o[d] / (double)W;
        }
        em = em / (double)W + (gW + u) * ev / (double)W;
        double mn = 0.0;
        for (int64_t d = 0; d < D; d++)
            mn += x->m[d] * x->m[d];
        mn = sqrt(mn);
        for (int64_t j = 0; j < W; j++) {
            double dot = 0.0, a = 0.0, kn = 0.0;
            for (int64_t d = 0; d < D; d++) {
                dot += x->m[d] * kt[j * D + d], a += fabs(x->m[d] * kt[j * D + d]);
                kn += kt[j * D + d] * kt[j * D + d];
            }
            x->ca[g * W + j] = dot * s;
            x->cdk[g * W + j] = u > 0.0 ? rot_err(x, x->k, g * W + j, h, (double)j) : 0.0;
            x->cl[g * W + j] = u > 0.0 ? (em * sqrt(kn) + mn * x->cdk[g * W + j] + gD * a) * s + u * fabs(dot * s) : 0.0;
        }
        softmax(x->ca + g * W, W);
        for (int64_t d = 0; d < D; d++) {
            ck[d] = 0.0;
            for (int64_t j = 0; j < W; j++)
                ck[d] += x->ca[g * W + j] * kt[j * D + d];
        }
    }
}

/* x->sc[g] = q_i . c_g (unrotated query) for g in 1 .. c - 2; with x->unit > 0 also x->eps[g], a first-order bound on
 * a float32 kernel's error in it: through the softmax, q . dc = sum_u a_u (dl_u - sum a dl) q.~k_u, at most
 * sum_u a_u cl_u |q.~k_u - q.c|; plus |q| sum_u a_u cdk_u (the rotation), (2 gamma_w + 4u) sum_u a_u |q.~k_u| (the
 * exps, the normalisation, the weighted sum) and gamma_D sum_d |q_d c_d| (the dot product). */
static void lh_scores(lh *x, int64_t h, int64_t i, int64_t c)
{
    int64_t W = x->W, D = x->D;
    double u = x->unit, gD = (double)D * u / (1.0 - (double)D * u), gW = (double)W * u / (1.0 - (double)W * u);
    double qn = 0.0;
    for (int64_t d = 0; d < D; d++)
        qn += at(x->q, i, h, d) * at(x->q, i, h, d);
    qn = sqrt(qn);
    for (int64_t g = 1; g <= c - 2; g++) {
        double dot = 0.0, a = 0.0, e = 0.0;
        for (int64_t d = 0; d < D; d++) {
            dot += at(x->q, i, h, d) * x->ck[g * D + d], a += fabs(at(x->q, i, h, d) * x->ck[g * D + d]);
        }
        x->sc[g] = dot;
        if (u <= 0.0) {
            x->eps[g] = 0.0;
            continue;
        }
        for (int64_t j = 0; j < W; j++) {
            double qk = 0.0, aj = x->ca[g * W + j];
            for (int64_t d = 0; d < D; d++)
                qk += at(x->q, i, h, d) * x->kt[(g * W + j) * D + d];
            e += aj * (x->cl[g * W + j] * fabs(qk - dot) + qn * x->cdk[g * W + j] + (2.0 * gW + 4.0 * u) * fabs(qk));
        }

        x->eps[g] = e + gD * a;
    }
}

/* x->in[g] = 1 for chunk 0, c - 1, c and the K - 3 chunks of 1 .. c - 2 with the largest score (ties: the lower) */
static void lh_select(lh *x, int64_t c)
{
    memset(x->in, 0, (size_t)x->C);
    x->in[0] = x->in[c - 1] = x->in[c] = 1;
    for (int64_t t = 0; t < x->K - 3; t++) {
        int64_t best = -1;
        for (int64_t g = 1; g <= c - 2; g++)
            if (!x->in[g] && (best < 0 || x->sc[g] > x->sc[best]))
                best = g;
        if (best >= 0)
            x->in[best] = 1;
    }
}

/* Key n of row (i, h) in order: its token and its (remapped) position; the count is the return value. Causal RoPE
 * for i < B (keys j <= i at j); else the chunks in x->in in index order, chunk g_a (a = 0, 1, ..) giving its tokens
 * g_a w + t (t < w; t < r in the own chunk c) at a w + t. */
static int64_t lh_key(const lh *x, int64_t i, int64_t n, int64_t *tok, double *pos)
{
    int64_t W = x->W, c = i / W, r = i % W, cnt = 0;
    if (i < x->B) {
        if (tok)
            *tok = n, *pos = (double)n;
        return i + 1;
    }
    for (int64_t g = 0, a = 0; g <= c; g++) {
        if (!x->in[g])
            continue;
        int64_t len = g == c ? r : W;
        if (tok && n >= cnt && n < cnt + len)
            *tok = g * W + (n - cnt), *pos = (double)(a * W + (n - cnt));
        cnt += len, a++;
    }
    return cnt;
}

/* x->acc = out[i][h] over the keys lh_key lists (the query at i, or at (K - 1) w + r when selective) */
static void lh_attend(lh *x, int64_t h, int64_t i)
{
    int64_t D = x->D, W = x->W, n = lh_key(x, i, 0, NULL, NULL), tok;
    double s = 1.0 / sqrt((double)D), mx = -INFINITY, z = 0.0, pos;
    rotate(x, x->q, i, h, i >= x->B ? (double)((x->K - 1) * W + i % W) : (double)i, x->qr);
    for (int64_t j = 0; j < n; j++) {
        double dot = 0.0;
        lh_key(x, i, j, &tok, &pos);
        rotate(x, x->k, tok, h, pos, x->kr);
        for (int64_t d = 0; d < D; d++)
            dot += x->qr[d] * x->kr[d];
        x->s[j] = dot * s;
        mx = fmax(mx, x->s[j]);
    }
    for (int64_t d = 0; d < D; d++)
        x->acc[d] = 0.0;
    for (int64_t j = 0; j < n; j++)
        z += (x->s[j] = exp(x->s[j] - mx));
    for (int64_t j = 0; j < n; j++) {
        lh_key(x, i, j, &tok, &pos);
        for (int64_t d = 0; d < D; d++)
            x->acc[d] += x->s[j] / z * at(x->v, tok, h, d);
    }
}

PECS_REF_HOOK_KATTN(longheads)
{
    lh x;
    pecs_status st = PECS_OK;
    int r = lh_open(p, &x, &st, why, why_len);
    if (r <= 0)
        return st;
    double *od = x.out->data;
    for (int64_t h = 0; h < x.H; h++) {
        if (x.L > x.B)
            lh_chunks(&x, h);
        for (int64_t i = 0; i < x.L; i++) {
            if (i >= x.B) {
                lh_scores(&x, h, i, i / x.W);
                lh_select(&x, i / x.W);
            }
            lh_attend(&x, h, i);
            for (int64_t d = 0; d < x.D; d++)
                od[pecs_at3(x.out, i, h, d)] = x.acc[d];
        }
    }
    lh_free(&x);
    return PECS_OK;
}

static int desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Row (h, i) of an undecided selection: lo/hi over every selection of r chunks from the nu undecided ones x->idx[]
 * on top of the sure ones (x->in = 1), or the hull of the values the row can reach when there are too many. */
static void lh_range(lh *x, int64_t h, int64_t i, int64_t nu, int64_t r, double *lo, double *hi)
{
    int64_t D = x->D, W = x->W, e0 = (i * x->H + h) * D, c = i / W;
    for (int64_t d = 0; d < D; d++)
        lo[e0 + d] = INFINITY, hi[e0 + d] = -INFINITY;
    if (pecs_ref_choose(nu, r, LH_MAX_COMBOS) > LH_MAX_COMBOS) { /* out is a convex combination of the reachable values */
        for (int64_t j = 0; j < i; j++) {
            int reach = x->in[j / W];
            for (int64_t t = 0; t < nu && !reach; t++)
                reach = x->idx[t] == j / W;
            reach = reach && (j / W < c || j % W < i % W);
            for (int64_t d = 0; reach && d < D; d++) {
                double val = at(x->v, j, h, d);
                lo[e0 + d] = fmin(lo[e0 + d], val), hi[e0 + d] = fmax(hi[e0 + d], val);
            }
        }
        return;
    }
    int64_t *pick = x->pick;
    for (int64_t t = 0; t < r; t++)
        pick[t] = t;
    do { /* every r-subset of the undecided ones */
        for (int64_t t = 0; t < nu; t++)
            x->in[x->idx[t]] = 0;
        for (int64_t t = 0; t < r; t++)
            x->in[x->idx[pick[t]]] = 1;
        lh_attend(x, h, i);
        for (int64_t d = 0; d < D; d++)
            lo[e0 + d] = fmin(lo[e0 + d], x->acc[d]), hi[e0 + d] = fmax(hi[e0 + d], x->acc[d]);
    } while (pecs_ref_next_subset(pick, nu, r));
}

int64_t pecs_ref_longheads_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo,
                                     double *hi)
{
    (void)tiny; /* the scores are float32 sums of products of normal-range inputs: no subnormal term */
    char why[256];
    lh x;
    pecs_status st = PECS_OK;
    if (lh_open(p, &x, &st, why, sizeof why) <= 0)
        return st == PECS_NOMEM ? -1 : 0;
    x.unit = unit;
    int64_t n = 0, F = x.K - 3, W = x.W;
    for (int64_t h = 0; h < x.H && F > 0 && x.L > x.B; h++) {
        lh_chunks(&x, h);
        for (int64_t i = x.B; i < x.L; i++) {
            int64_t c = i / W, M = c - 2; /* candidates 1 .. c - 2 */
            if (M <= F)                   /* every candidate is taken */
                continue;
            lh_scores(&x, h, i, c);
            double E = 0.0;
            for (int64_t g = 1; g <= M; g++)
                x.sorted[g - 1] = x.sc[g], E = fmax(E, x.eps[g]);
            qsort(x.sorted, (size_t)M, sizeof *x.sorted, desc);
            if (x.sorted[F - 1] - x.sorted[F] > 2.0 * E) /* every chunk's side of the cut is sure */
                continue;
            /* sure in: fewer than F others may score at least as high; sure out: F others surely score higher */
            int64_t sure = 0, nu = 0;
            memset(x.in, 0, (size_t)x.C);
            for (int64_t g = 1; g <= M; g++) {
                int64_t may = 0, beat = 0;
                for (int64_t o = 1; o <= M; o++)
                    if (o != g) {
                        may += x.sc[o] + x.eps[o] >= x.sc[g] - x.eps[g];
                        beat += x.sc[o] - x.eps[o] > x.sc[g] + x.eps[g];
                    }
                x.in[g] = may < F;
                sure += x.in[g];
                if (!x.in[g] && beat < F)
                    x.idx[nu++] = g;
            }
            int64_t r = F - sure;
            if (r <= 0 || r >= nu) /* the set is fixed even if its order is not */
                continue;
            x.in[0] = x.in[c - 1] = x.in[c] = 1;
            for (int64_t d = 0; d < x.D; d++)
                skip[(i * x.H + h) * x.D + d] = 1;
            n += x.D;
            if (lo && hi)
                lh_range(&x, h, i, nu, r, lo, hi);
        }
    }
    lh_free(&x);
    return n;
}
