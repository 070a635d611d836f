/* reference/packing.c — Prepacking's block-diagonal causal mask (Zhao et al. 2024, Prepacking).
 *
 * Read: the authors' code, siyan-zhao/prepacking
 *   processor.py PrePackProcessor.process: for each prompt `key` of a bin, in order, it appends the prompt's tokens
 *     but the last (token_dict[key][:-1], kept for generation), adds length_dict[key] - 1 to restart_index and
 *     records it, and appends range(length_dict[key] - 1) to the position ids (restarted at 0 per prompt). The mask
 *     new_mask [size, size] starts at 0 and gets tril(ones) on each block [start, end) x [start, end) between
 *     consecutive restart indices: causal inside a prompt, nothing across prompts.
 *   PrePackProcessor.batch_process: bins are padded to the longest (positions with 1, masks with 0 rows and columns).
 *   model.py CustomLlamaModel._update_causal_mask, 3-D attention_mask: the causal triangle (triu of min_dtype above
 *     the diagonal) is further masked where attention_mask == 0, so a key is visible iff it is causal and inside the
 *     query's block (the block mask is already causal). The sdpa branch then unmasks rows that are masked entirely
 *     (the padding rows), a workaround for the memory-efficient kernel: padding is not a prompt and is not defined
 *     here.
 * As a mask of positions (token indices in the packed sequence, from 0; lengths = the prompts' token counts in
 * packing order, length_dict[key] - 1; block b = [c_b, c_b + lengths[b]) with c_b the sum of the lengths before b):
 *     visible iff kpos <= qpos and block(qpos) == block(kpos).
 * Positions at or past the sum of the lengths are padding: rejected (PECS_INVALID), as are negative or fractional
 * ones. An empty lengths list is one prompt of any length: the plain causal mask. The restarted position ids
 * (qpos - c_block) are what a rotate call gets; they are not this row, and they cannot replace its positions:
 * restarted ids 3 and 1 may share a prompt or not, the packed indices say which.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* Block of packed index t, or -1 (with the reason) when t is not a token of a packed prompt or a length is not a
 * token count (pecs_ref_segment_of checks every length, the ones after t's block too). */
static int64_t block_of(const pecs_problem *p, double t, char *why, size_t why_len)
{
    pecs_ref_segments s;
    if (pecs_ref_segment_of(p, 0.0, t, &s, why, why_len) != PECS_OK)
        return -1;
    if (s.n == 0)
        return 0;
    if (s.seg < 0)
        snprintf(why, why_len, "packing: position %.17g lies past the packed prompts (lengths sum to %.17g): padding, "
                 "not a prompt", t, s.end);
    return s.seg;
}

PECS_REF_HOOK_MASK(packing)
{
    int64_t bq = block_of(p, qpos, why, why_len), bk;
    if (bq < 0 || (bk = block_of(p, kpos, why, why_len)) < 0)
        return PECS_INVALID;
    *allowed = kpos <= qpos && bq == bk;
    return PECS_OK;
}
