/* reference/bipe.c — BiPE's bilevel split of a token sequence (posmap form, P = 2).
 *
 * Sources checked (2026-12-06, through the search tool): He et al. 2024, "Two Stones Hit One Bird: Bilevel
 * Positional Encoding for Better Length Extrapolation" (ICML; arXiv 2401.16421; the paper itself not read here),
 * and the authors' code, zhenyuhe00/BiPE my_modeling_llama_bipe_rope.py get_bilevel_ids (the same function in
 * my_modeling_llama_bipe_alibi.py): sep = 1 where the token id is one of BiPE_seps; the inter-segment position is
 * the exclusive cumulative sum of sep (cumsum shifted right by one, 0 first); the intra-segment position is built by
 * appending a 1 to sep, writing at each 1 the distance to the previous 1 (the first measured from -1) and taking
 * t minus the exclusive cumulative sum of those distances. Telescoping, that is t - (s + 1) for the last
 * separator s < t (t when there is none): a separator is the last token of its segment, the token after it starts
 * the next one at offset 0 and index + 1. With train_scale, intra positions >= train_scale become train_scale - 1.
 * The code returns (intra, inter): rows 0 and 1 here. Not defined by the code: which ids a tokenizer's separators
 * are (BiPE_seps is set outside the model; 13 and 869, Llama's newline and '.', appear in a comment) and whether
 * train_scale is passed at evaluation; both are parameters here. Each row then feeds an existing encoding: the
 * offsets a learned table (get_ape_embeddings), the segment index rope or alibi.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_POSMAP(bipe)
{
    const pecs_param *seps = pecs_problem_param(p, "separators");
    int64_t scale = pecs_param_int(p, "train_scale", 0);
    if (!seps || seps->n < 1) { /* the code asserts len(BiPE_seps) >= 1 */
        snprintf(why, why_len, "bipe: separators must list at least one token id");
        return PECS_INVALID;
    }
    for (int64_t k = 0; k < seps->n; k++)
        if (seps->list[k] != floor(seps->list[k])) {
            snprintf(why, why_len, "bipe: separator %.17g is not a token id (an integer)", seps->list[k]);
            return PECS_INVALID;
        }
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    double *od = out->data, last = -1.0, seen = 0.0; /* the last separator before t (-1: none), and how many */
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        double off = (double)t - (last + 1.0);
        if (scale > 0 && off >= (double)scale)
            off = (double)(scale - 1);
        od[0 * out->stride[0] + t * out->stride[1]] = off;
        od[1 * out->stride[0] + t * out->stride[1]] = seen;
        double id = pecs_pos_at(idx, 0, t);
        for (int64_t k = 0; k < seps->n; k++)
            if (id == seps->list[k]) {
                last = (double)t, seen += 1.0;
                break;
            }
    }
    return PECS_OK;
}
