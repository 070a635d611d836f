/* reference/cream.c — CREAM training position ids: head, middle and tail segments of the pre-trained window spread
 * over the target length (posmap form, P = 1).
 *
 * Sources checked (2026-12-06, through the search tool): Wu et al. 2024, "An Efficient Recipe for Long Context
 * Extension via Middle-Focused Positional Encoding" (NeurIPS; arXiv 2406.07138; the paper itself not read here), and
 * the authors' code, bigai-nlco/CREAM @5b18833 src/train.py, CREAM(): with L = model_max_position_embeddings and
 * factor = scaled_max_position_embeddings // L, head_len = tail_len = L // 3 or 4 * factor (a coin flip per batch),
 * len_chunk = L - head_len - tail_len; the ids are
 *     head    arange(0, head_len)
 *     middle  arange(end_id - (len_chunk - 1), end_id + 1)
 *     tail    arange(factor * L - tail_len, factor * L)
 * where end_id is drawn uniformly in [head_len + (len_chunk - 1) * r/2, r/2 * L - tail_len - 1] for r = rand_factor,
 * itself drawn in 2..2*factor from a Gaussian (mu = 1 + factor, sigma) by inverting its CDF on a grid (the truncated
 * Gaussian "middle"). The tokens are selected to match (input_pos_ids); that is token selection, not position.
 * The draws (the coin, r, end_id) are the caller's: they arrive as the parameters head_len and end_id, so the map
 * is deterministic. Over every r, end_id lies in [L - head_len - 1, factor * L - head_len - 1] (tail_len = head_len):
 * values outside are rejected. With H = head_len, C = L - 2H and idx[t] the token's index in the training window
 * (0..L-1 in the code):
 *     out[0][t] = idx[t]                                     if idx[t] < H
 *               = end_id - (C - 1) + (idx[t] - H)            if H <= idx[t] < L - H
 *               = factor * L - H + (idx[t] - (L - H))        otherwise
 * (any integer idx here: ids past the window continue the tail, ids below 0 the head; the code has neither).
 */
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_POSMAP(cream)
{
    int64_t L = pecs_param_int(p, "window", 4096), factor = pecs_param_int(p, "factor", 8),
            H = pecs_param_int(p, "head_len", 1365), end = pecs_param_int(p, "end_id", 0);
    if (2 * H >= L) { /* the code's two choices, L // 3 and 4 * factor, leave a middle of at least one token */
        snprintf(why, why_len, "cream: head_len %lld leaves no middle segment in a window of %lld (2 head_len < window)",
                 (long long)H, (long long)L);
        return PECS_INVALID;
    }
    if (end < L - H - 1 || end > factor * L - H - 1) {
        snprintf(why, why_len, "cream: end_id %lld outside [window - head_len - 1, factor * window - head_len - 1] = "
                 "[%lld, %lld] (the code's draw range over every rand_factor)", (long long)end, (long long)(L - H - 1),
                 (long long)(factor * L - H - 1));
        return PECS_INVALID;
    }
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    double *od = out->data, h = (double)H, l = (double)L, c = (double)(L - 2 * H);
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        double i = pecs_pos_at(idx, 0, t), v;
        if (i < h)
            v = i;
        else if (i < l - h)
            v = (double)end - (c - 1.0) + (i - h);
        else
            v = (double)factor * l - h + (i - (l - h));
        od[t * out->stride[1]] = v;
    }
    return PECS_OK;
}
