/* reference/extended_mind.c — one Extended Mind attention layer (Klett & Ahle 2024), kattn form, with manual
 * (exact) memories.
 *
 * The paper was not read; the definition is the authors' code, normal-computing/extended-mind-transformers at
 * 1844a683 (src/llama/modeling.py) and 2427d41b (src/llama/configuration.py), read through the search tool on
 * 2026-12-07:
 *   ExtendedLlamaForCausalLM.generate_cache / cache: the memories are the past_key_values of a plain forward over the
 *     memory tokens; ExtendedLlamaAttention.forward stores past_key_value BEFORE apply_rotary_pos_emb ("read from
 *     cache before position information is added"), so memory keys and values are unrotated projections.
 *   apply_rotary_pos_emb, rotate_half, LlamaRotaryEmbedding: half-split RoPE (pairs (d, d + D/2)), inv_freq =
 *     1 / rope_theta^(arange(0, D, 2) / D), rope_theta 10000; queries at the last q_len of position_ids, keys at
 *     position_ids; ExtendedLlamaModel.forward: position_ids = arange(past + q_len) (query i of a fresh call: i).
 *   ExtendedLlamaAttention.forward, the long_range_past_key_value (manual memory) branch, per batch and HEAD:
 *     q_n = query_states / |query_states|, k_n = k_cache / |k_cache| with query_states already ROTATED: the
 *     similarity is the cosine between the rotated query and the unrotated memory key;
 *     topk = min(topk, s_cache); torch.topk(sim, topk) per query row; the selected keys and values are gathered;
 *     attn_weight_cache = query_states @ selected_k^T / sqrt(head_dim) (rotated query, unrotated key, the same
 *     scale as the local part); mask_by_sim (off by default) would mask selected keys with similarity <=
 *     sim_threshold; _create_external_memories_mask lets query i see only its OWN topk selections; the memory
 *     scores are concatenated before the local (causal) ones and ONE softmax (float32) is taken; the values are
 *     cat(selected_v, value_states).
 *   configuration.py, ExtendedLlamaConfig: memory_config defaults mask_by_sim False, topk 10.
 * So, per head h, with M memory keys and L local tokens (key m < M is memory, key M + j is local token j, query i is
 * local token i), R(p) the RoPE rotation at position p, s = 1 / sqrt(D), T = min(topk, M):
 *   c_im      = R(i) q_i . k_m / (|q_i| |k_m|)            m < M    (the selection similarity)
 *   S_i       = the T memory keys with the largest c_im
 *   s_im      = R(i) q_i . k_m s                          m in S_i
 *   s_ij      = R(i) q_i . R(j) k_M+j s                   j <= i   (causal local part)
 *   a_i = softmax over { s_im : m in S_i } u { s_ij : j <= i };  out[i][h] = sum a v
 * With T = M this is focused_memory (every memory key, unrotated, one softmax). Not covered: mask_by_sim (off by
 * default), the faiss memory (approximate inner-product search), GQA's repeat_kv (a copy), a cache with past
 * local keys (queries at positions past + i). A zero query or key has no cosine in the code (0/0); pecs takes 0.
 *
 * Top-k is a discontinuity: two memory keys whose similarities are within a float32 kernel's error of each other
 * may be ordered either way. pecs_ref_xmind_undecided() names the (query, head) rows whose selection float32 cannot
 * decide, and the range of outputs every admissible selection gives; the harness checks those rows against that
 * range instead of the one selection made here (docs/encodings.md, extended_mind). This reference sums in double,
 * the softmax with its maximum subtracted; ties are broken by the lower memory index.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

/* Selections enumerated for one undecided row before the range falls back to the values' hull. */
#define XM_MAX_COMBOS 4096

typedef struct xm {
    const pecs_tensor *q, *k, *v, *out;
    int64_t M, L, H, D, T;
    double base;
    double *qr, *kr, *c, *eps, *sorted, *s, *acc;
    int64_t *idx, *pick;
    unsigned char *in;
} xm;

static pecs_status check(int64_t M, int64_t topk, int64_t Lq, int64_t Lk, int64_t D, char *why, size_t why_len)
{
    if (M < 0 || topk < 1) {
        snprintf(why, why_len, "extended_mind needs memory >= 0 and topk >= 1, got %lld and %lld", (long long)M,
                 (long long)topk);
        return PECS_INVALID;
    }
    if (Lk != M + Lq) {
        snprintf(why, why_len, "extended_mind keys are [memory | local]: keys (%lld) must be memory (%lld) + tokens "
                 "(%lld)", (long long)Lk, (long long)M, (long long)Lq);
        return PECS_INVALID;
    }
    if (D % 2) {
        snprintf(why, why_len, "extended_mind rotates half-split pairs (d, d + D/2): head_dim must be even, got %lld",
                 (long long)D);
        return PECS_INVALID;
    }
    return PECS_OK;
}

static void xm_free(xm *x)
{
    free(x->qr), free(x->kr), free(x->c), free(x->eps), free(x->sorted), free(x->s), free(x->acc), free(x->idx);
    free(x->pick), free(x->in);
}

/* 1: x is ready; 0 with why set (PECS_INVALID in *st, or PECS_NOMEM); -1: parameters only, checked. */
static int xm_open(const pecs_problem *p, xm *x, pecs_status *st, char *why, size_t why_len)
{
    memset(x, 0, sizeof *x);
    int64_t topk = pecs_param_int(p, "topk", 10);
    x->M = pecs_param_int(p, "memory", 16), x->base = pecs_param_real(p, "base", 10000.0);
    x->q = pecs_problem_tensor(p, "q"), x->k = pecs_problem_tensor(p, "k"), x->v = pecs_problem_tensor(p, "v");
    x->out = pecs_problem_tensor(p, "out");
    if (!x->q && !x->k && !x->v && !x->out) { /* parameters only (pecs_ref_check) */
        *st = check(x->M, topk, 0, x->M, 0, why, why_len);
        return *st == PECS_OK ? -1 : 0;
    }
    if (!x->q || !x->k || !x->v || !x->out) {
        snprintf(why, why_len, "extended_mind needs tensors q, k, v and out");
        *st = PECS_INVALID;
        return 0;
    }
    x->L = x->q->shape[0], x->H = x->q->shape[1], x->D = x->q->shape[2];
    if ((*st = check(x->M, topk, x->L, x->k->shape[0], x->D, why, why_len)) != PECS_OK)
        return 0;
    x->T = topk < x->M ? topk : x->M;
    size_t nd = (size_t)(x->D + 1), nm = (size_t)(x->M + 1), nk = (size_t)(x->M + x->L + 1);
    x->qr = malloc(nd * sizeof *x->qr), x->kr = malloc(nd * sizeof *x->kr), x->acc = malloc(nd * sizeof *x->acc);
    x->c = malloc(nm * sizeof *x->c), x->eps = malloc(nm * sizeof *x->eps), x->sorted = malloc(nm * sizeof *x->sorted);
    x->idx = malloc(nm * sizeof *x->idx), x->pick = malloc(nm * sizeof *x->pick), x->in = malloc(nm);
    x->s = malloc(nk * sizeof *x->s);
    if (!x->qr || !x->kr || !x->acc || !x->c || !x->eps || !x->sorted || !x->idx || !x->pick || !x->in || !x->s) {
        xm_free(x);
        snprintf(why, why_len, "out of memory");
        *st = PECS_NOMEM;
        return 0;
    }
    return 1;
}

static double inv_freq(const xm *x, int64_t d) { return pow(x->base, -2.0 * (double)d / (double)x->D); }

/* row `row` of t at head h rotated at position pos into y (half-split pairs; the shared kattn rotation) */
static void rotate(const xm *x, const pecs_tensor *t, int64_t row, int64_t h, double pos, double *y)
{
    pecs_ref_rotate_half_row(t, row, h, pos, x->base, y);
}

/* x->qr = R(i) q_i; x->c[m] = the cosine of every memory key; with unit > 0 also x->eps[m], a bound on a float32
 * kernel's error in it (docs/encodings.md, extended_mind):
 *   eps = gamma_D A + sum_p |q_p| |k_p| dtheta_p / (|q| |k|) + (gamma_D + 4u) |c|,
 * A = sum_d |R(i)q_d k_d| / (|q| |k|) (the dot product), dtheta_p = u ((8 + |ln f_p|) i f_p + 4) the angle and
 * cos/sin error of pair p at frequency f_p (the rotation), the last term the two norms and the division. */
static void xm_query(xm *x, int64_t h, int64_t i, double unit)
{
    const double *qd = x->q->data, *kd = x->k->data;
    int64_t D = x->D, P = D / 2;
    double gamma = (double)D * unit / (1.0 - (double)D * unit), nq = 0.0;
    rotate(x, x->q, i, h, (double)i, x->qr);
    for (int64_t d = 0; d < D; d++)
        nq += x->qr[d] * x->qr[d];
    nq = sqrt(nq);
    for (int64_t m = 0; m < x->M; m++) {
        double dot = 0.0, nk = 0.0, a = 0.0, rot = 0.0;
        for (int64_t d = 0; d < D; d++) {
            double kv = kd[pecs_at3(x->k, m, h, d)];
            dot += x->qr[d] * kv, nk += kv * kv, a += fabs(x->qr[d] * kv);
        }
        for (int64_t d = 0; unit > 0.0 && d < P; d++) {
            double q1 = qd[pecs_at3(x->q, i, h, d)], q2 = qd[pecs_at3(x->q, i, h, d + P)];
            double k1 = kd[pecs_at3(x->k, m, h, d)], k2 = kd[pecs_at3(x->k, m, h, d + P)], f = inv_freq(x, d);
            rot += hypot(q1, q2) * hypot(k1, k2) * unit * ((8.0 + fabs(log(f))) * (double)i * f + 4.0);
        }
        double den = nq * sqrt(nk);
        x->c[m] = den > 0.0 ? dot / den : 0.0;
        x->eps[m] = den > 0.0 ? (gamma * a + rot) / den + (gamma + 4.0 * unit) * fabs(x->c[m]) : 0.0;
    }
}

/* x->in = the T memory keys with the largest cosine (ties: the lower index) */
static void xm_select(xm *x)
{
    memset(x->in, 0, (size_t)x->M);
    for (int64_t t = 0; t < x->T; t++) {
        int64_t best = -1;
        for (int64_t m = 0; m < x->M; m++)
            if (!x->in[m] && (best < 0 || x->c[m] > x->c[best]))
                best = m;
        if (best >= 0)
            x->in[best] = 1;
    }
}

/* x->acc = out[i][h] with the memory keys in x->in: one softmax over them and the local keys j <= i */
static void xm_attend(xm *x, int64_t h, int64_t i)
{
    const double *kd = x->k->data, *vd = x->v->data;
    int64_t D = x->D, M = x->M;
    double mx = -INFINITY, z = 0.0, scale = sqrt((double)D);
    for (int64_t j = 0; j < M + i + 1; j++) {
        if (j < M && !x->in[j])
            continue;
        double dot = 0.0;
        if (j < M) /* cached before RoPE: unrotated */
            for (int64_t d = 0; d < D; d++)
                dot += x->qr[d] * kd[pecs_at3(x->k, j, h, d)];
        else {
            rotate(x, x->k, j, h, (double)(j - M), x->kr);
            for (int64_t d = 0; d < D; d++)
                dot += x->qr[d] * x->kr[d];
        }
        x->s[j] = dot / scale;
        mx = x->s[j] > mx ? x->s[j] : mx;
    }
    for (int64_t d = 0; d < D; d++)
        x->acc[d] = 0.0;
    for (int64_t j = 0; j < M + i + 1; j++)
        if (j >= M || x->in[j])
            z += exp(x->s[j] - mx);
    for (int64_t j = 0; j < M + i + 1; j++) {
        if (j < M && !x->in[j])
            continue;
        double a = exp(x->s[j] - mx) / z;
        for (int64_t d = 0; d < D; d++)
            x->acc[d] += a * vd[pecs_at3(x->v, j, h, d)];
    }
}

PECS_REF_HOOK_KATTN(extended_mind)
{
    xm x;
    pecs_status st = PECS_OK;
    int r = xm_open(p, &x, &st, why, why_len);
    if (r <= 0)
        return st;
    double *od = x.out->data;
    for (int64_t h = 0; h < x.H; h++)
        for (int64_t i = 0; i < x.L; i++) {
            xm_query(&x, h, i, 0.0);
            xm_select(&x);
            xm_attend(&x, h, i);
            for (int64_t d = 0; d < x.D; d++)
                od[pecs_at3(x.out, i, h, d)] = x.acc[d];
        }
    xm_free(&x);
    return PECS_OK;
}

static int desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Row (h, i) of an undecided selection: lo/hi over every selection of r keys from the nu undecided ones x->idx[]
 * on top of the sure ones (x->in = 1), or the hull of the values the row can reach when there are too many. */
static void xm_range(xm *x, int64_t h, int64_t i, int64_t nu, int64_t r, double *lo, double *hi)
{
    int64_t D = x->D, M = x->M, e0 = (i * x->H + h) * D;
    const double *vd = x->v->data;
    for (int64_t d = 0; d < D; d++)
        lo[e0 + d] = INFINITY, hi[e0 + d] = -INFINITY;
    if (pecs_ref_choose(nu, r, XM_MAX_COMBOS) > XM_MAX_COMBOS) { /* out is a convex combination of the reachable values */
        for (int64_t j = 0; j < M + i + 1; j++) {
            int reach = j >= M || x->in[j];
            for (int64_t u = 0; u < nu && !reach; u++)
                reach = x->idx[u] == j;
            for (int64_t d = 0; reach && d < D; d++) {
                double val = vd[pecs_at3(x->v, j, h, d)];
                lo[e0 + d] = fmin(lo[e0 + d], val), hi[e0 + d] = fmax(hi[e0 + d], val);
            }
        }
        return;
    }
    int64_t *pick = x->pick;
    for (int64_t t = 0; t < r; t++)
        pick[t] = t;
    do { /* every r-subset of the undecided ones */
        for (int64_t u = 0; u < nu; u++)
            x->in[x->idx[u]] = 0;
        for (int64_t t = 0; t < r; t++)
            x->in[x->idx[pick[t]]] = 1;
        xm_attend(x, h, i);
        for (int64_t d = 0; d < D; d++)
            lo[e0 + d] = fmin(lo[e0 + d], x->acc[d]), hi[e0 + d] = fmax(hi[e0 + d], x->acc[d]);
    } while (pecs_ref_next_subset(pick, nu, r));
}

int64_t pecs_ref_xmind_undecided(const pecs_problem *p, double unit, double tiny, unsigned char *skip, double *lo,
                                 double *hi)
{
    (void)tiny; /* the similarity is a float32 sum of products of normal-range inputs: no subnormal term */
    char why[256];
    xm x;
    pecs_status st = PECS_OK;
    if (xm_open(p, &x, &st, why, sizeof why) <= 0)
        return st == PECS_NOMEM ? -1 : 0;
    int64_t n = 0, M = x.M, T = x.T;
    for (int64_t h = 0; h < x.H && T < M; h++)
        for (int64_t i = 0; i < x.L; i++) {
            xm_query(&x, h, i, unit);
            double E = 0.0;
            for (int64_t m = 0; m < M; m++)
                x.sorted[m] = x.c[m], E = fmax(E, x.eps[m]);
            qsort(x.sorted, (size_t)M, sizeof *x.sorted, desc);
            if (x.sorted[T - 1] - x.sorted[T] > 2.0 * E) /* every key's side of the cut is sure */
                continue;
            /* sure in: fewer than T others may score at least as high; sure out: T others surely score higher */
            int64_t sure = 0, nu = 0;
            for (int64_t m = 0; m < M; m++) {
                int64_t may = 0, beat = 0;
                for (int64_t o = 0; o < M; o++)
                    if (o != m) {
                        may += x.c[o] + x.eps[o] >= x.c[m] - x.eps[m];
                        beat += x.c[o] - x.eps[o] > x.c[m] + x.eps[m];
                    }
                x.in[m] = may < T;
                sure += x.in[m];
                if (!x.in[m] && beat < T)
                    x.idx[nu++] = m;
            }
            int64_t r = T - sure;
            if (r <= 0 || r >= nu) /* the set is fixed even if its order is not */
                continue;
            for (int64_t d = 0; d < x.D; d++)
                skip[(i * x.H + h) * x.D + d] = 1;
            n += x.D;
            if (lo && hi)
                xm_range(&x, h, i, nu, r, lo, hi);
        }
    xm_free(&x);
    return n;
}
