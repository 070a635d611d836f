/* impls/scalar/mask.c — tier-2 mask kernels of the scalar backend: one visibility test per (query, key), written
 * as 0 or -inf in the output dtype. Positions are read as the integers they are (int64), as an engine building
 * the mask from token indices would. */
#include <math.h>

#include "scalar.h"

typedef int (*visible_fn)(const pecs_problem *p, int64_t q, int64_t k);

static pecs_status fill(const pecs_problem *p, visible_fn visible)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!qp || !kp || !out || out->ndim != 3)
        return PECS_INVALID;
    for (int64_t i = 0; i < out->shape[1]; i++) {
        int64_t q = (int64_t)pecs_pos_at(qp, 0, i);
        for (int64_t j = 0; j < out->shape[2]; j++) {
            int64_t k = (int64_t)pecs_pos_at(kp, 0, j);
            pecs_store_f32(out->data, out->dtype, scalar_at3(out, 0, i, j), visible(p, q, k) ? 0.0f : -INFINITY);
        }
    }
    return PECS_OK;
}

/* LM-Infinite: causal, and within n_local of the query or among the first n_global keys. */
static int lm_infinite_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    return k <= q && (q - k < pecs_param_int(p, "n_local", 2048) || k < pecs_param_int(p, "n_global", 100));
}

SCALAR_HOOK_MASK(lm_infinite) { return fill(p, lm_infinite_visible); }

/* LongLoRA S2-Attn, flash path: causal within groups of group_size, the shifted half's boundaries moved by G // 2.
 * Python's floor division by hand (positions below the shift give a negative group). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int s2attn_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    int64_t G = pecs_param_int(p, "group_size", 2048), s = pecs_param_is(p, "half", "shifted") ? G / 2 : 0;
    return k <= q && floor_div(q - s, G) == floor_div(k - s, G);
}

SCALAR_HOOK_MASK(s2attn) { return fill(p, s2attn_visible); }

/* xPos BCA: blocks of l/2 from position 0; a query sees its own block and the one before, causally. */
static int xpos_bca_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    int64_t B = pecs_param_int(p, "train_len", 1024) / 2;
    return k <= q && floor_div(k, B) >= floor_div(q, B) - 1;
}

SCALAR_HOOK_MASK(xpos_bca) { return fill(p, xpos_bca_visible); }

/* CCA: inside the image block, keys on the query's ring or outside it; elsewhere causal. */
static int64_t cca_ring(int64_t t, int64_t side)
{
    int64_t r = t / side, c = t % side, a = r < c ? r : c, b = side - 1 - r < side - 1 - c ? side - 1 - r : side - 1 - c;
    return a < b ? a : b;
}

static int cca_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    int64_t side = pecs_param_int(p, "grid", 24), start = pecs_param_int(p, "image_start", 0), n = side * side;
    if (q >= start && q - start < n && k >= start && k - start < n)
        return cca_ring(k - start, side) <= cca_ring(q - start, side);
    return k <= q;
}

SCALAR_HOOK_MASK(cca) { return fill(p, cca_visible); }

/* Prepacking: causal inside each packed prompt's block of `lengths` tokens, nothing across blocks. The block of a
 * token index is found by walking the lengths (cu_seqlens as prefix sums); no lengths: one block. */
static int64_t packing_block(const pecs_problem *p, int64_t t)
{
    const pecs_param *L = pecs_problem_param(p, "lengths");
    int64_t end = 0;
    for (int64_t b = 0; L && b < L->n; b++)
        if (t < (end += (int64_t)L->list[b]))
            return b;
    return L && L->n ? L->n : 0; /* past the prompts: the reference rejects such cases */
}

static int packing_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    return k <= q && packing_block(p, q) == packing_block(p, k);
}

SCALAR_HOOK_MASK(packing) { return fill(p, packing_visible); }

/* AnchorAttention: token 0 is the shared anchor, the documents of `lengths` follow it; causal inside each document,
 * and every query sees the anchor. No lengths: one document after the anchor. */
static int64_t anchor_doc(const pecs_problem *p, int64_t t)
{
    const pecs_param *L = pecs_problem_param(p, "lengths");
    int64_t end = 1;
    if (t == 0)
        return 0;
    for (int64_t b = 0; L && b < L->n; b++)
        if (t < (end += (int64_t)L->list[b]))
            return b + 1;
    return L && L->n ? L->n + 1 : 1; /* past the documents: the reference rejects such cases */
}

static int anchor_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    return k <= q && (k == 0 || anchor_doc(p, q) == anchor_doc(p, k));
}

SCALAR_HOOK_MASK(anchor) { return fill(p, anchor_visible); }

/* Parallel Context Windows: windows of `lengths` back to back, each causal inside itself; the task tokens after them
 * see every window token but the first token of each window other than the first longest (dropped from the combined
 * cache), and causally each other. No lengths: every token a task token. */
static int64_t pcw_window(const pecs_problem *p, int64_t t, int *dropped)
{
    const pecs_param *L = pecs_problem_param(p, "lengths");
    int64_t end = 0, keep = 0, win = -1;
    *dropped = 0;
    for (int64_t b = 0; L && b < L->n; b++) {
        int64_t len = (int64_t)L->list[b];
        if (len > (int64_t)L->list[keep])
            keep = b;
        if (win < 0 && t >= end && t < end + len)
            win = b, *dropped = t == end;
        end += len;
    }
    if (win == keep)
        *dropped = 0;
    return win;
}

static int parallel_context_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    int dq, dk;
    int64_t wq = pcw_window(p, q, &dq), wk = pcw_window(p, k, &dk);
    return k <= q && (wq >= 0 ? wk == wq : !(wk >= 0 && dk));
}

SCALAR_HOOK_MASK(parallel_context) { return fill(p, parallel_context_visible); }

/* ETC: the stream is [global | long]; G = the number of sentences (one global token each), then the sentences' long
 * tokens of `lengths`. g2g all; l2l within local_radius either side; l2g and g2l all, or by sentence with hard_l2g /
 * hard_g2l. No lengths: every token long. */
static int64_t etc_sentence(const pecs_param *L, int64_t t)
{
    int64_t end = L->n;
    for (int64_t s = 0; s < L->n; s++)
        if (t < (end += (int64_t)L->list[s]))
            return s;
    return -1; /* past the long tokens: the reference rejects such cases */
}

static int etc_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    const pecs_param *L = pecs_problem_param(p, "lengths");
    int64_t G = L ? L->n : 0;
    if (q < G && k < G)
        return 1;
    if (k < G)
        return !pecs_param_int(p, "hard_l2g", 0) || etc_sentence(L, q) == k;
    if (q < G)
        return !pecs_param_int(p, "hard_g2l", 0) || etc_sentence(L, k) == q;
    int64_t d = q > k ? q - k : k - q;
    return d <= pecs_param_int(p, "local_radius", 84);
}

SCALAR_HOOK_MASK(etc) { return fill(p, etc_visible); }
