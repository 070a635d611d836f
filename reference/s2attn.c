/* reference/s2attn.c — LongLoRA's shifted sparse attention (S2-Attn) as a mask (Chen et al. 2024).
 *
 * Read: the authors' code, dvlab-research/LongLoRA llama_attn_replace.py
 *   forward_flashattn (the training path with flash-attn, use_flash_attn's default): group_size = q_len *
 *     group_size_ratio (1/4); the heads are split in two halves (reshape ... 2, num_heads // 2 ... into the batch);
 *     the cumulative sequence lengths cu_q_lens of the first half are 0, G, 2G, ..., q_len and of the second half
 *     G//2, G//2 + G, ... (arange(0, max_s, G) + group_size // 2, closed by the sequence end), and
 *     flash_attn_varlen_qkvpacked_func(..., causal=True) attends causally within each segment. So
 *       first half of the heads:  groups [kG, (k+1)G)
 *       second half:              groups [kG - G//2, (k+1)G - G//2), the first G//2 tokens a group of their own
 *     and key j is visible to query i iff j <= i and both lie in the same group.
 *   forward_noflashattn (the path without flash-attn) instead rolls the second half of the heads by -G//2 with
 *     wrap-around (qkv.roll(-group_size // 2)) and applies the group's causal mask in rolled order: its last group
 *     joins the last G//2 tokens with the first G//2, which then see tokens after them. That depends on the
 *     sequence length and is not a function of the two positions; this row follows the flash path.
 * As a mask of positions (token indices from the sequence start, the code's segment offsets):
 *     s = 0 (half = unshifted) or G // 2 (half = shifted)
 *     visible iff kpos <= qpos and floor((qpos - s) / G) == floor((kpos - s) / G).
 * One call is one half of the heads (out is [1, Lq, Lk]): the parameter `half` says which, as rope.string's
 * `role` says which side of the attention a call rotates.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_MASK(s2attn)
{
    (void)why, (void)why_len;
    double G = (double)pecs_param_int(p, "group_size", 2048);
    double s = pecs_param_is(p, "half", "shifted") ? floor(G / 2.0) : 0.0;
    *allowed = kpos <= qpos && floor((qpos - s) / G) == floor((kpos - s) / G);
    return PECS_OK;
}
