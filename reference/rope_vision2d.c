/* reference/rope_vision2d.c — 2-D RoPE over a patch grid (ViT towers of Qwen2-VL and others).
 *
 * Sources checked: HF qwen2_vl VisionRotaryEmbedding(dim = head_dim/2): inv_freq_k = base^(-2k/dim),
 * k < dim/2; rotary_pos_emb = cat(h * inv_freq, w * inv_freq) per patch, then cos/sin repeated over the
 * two halves and rotate_half (apply_rotary_pos_emb_vision); ggml VISION mode (sections [y, x], theta index
 * reset at each section). With R rotated channels: pairs k < R/4 take row h with inv_freq base^(-4k/R),
 * pairs R/4 + k take row w with the same inv_freq (the index restarts). Positions are [2, T] (h, w).
 */
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_vision2d)
{
    int64_t R = sched->R, q = R / 4;
    if (R % 4 != 0) {
        snprintf(why, why_len, "rope.vision2d needs rotary_dim divisible by 4 (two axes of pairs), got %lld", (long long)R);
        return PECS_INVALID;
    }
    pecs_ref_rot half = *sched;
    half.R = R / 2; /* RoPE over R/2 channels gives base^(-2k/(R/2)) = base^(-4k/R), k < R/4 */
    pecs_status st = pecs_ref_rope(p, &half, why, why_len);
    for (int64_t k = 0; k < q; k++) {
        sched->inv_freq[q + k] = sched->inv_freq[k];
        sched->axis[k] = 0;
        sched->axis[q + k] = 1;
    }
    return st;
}
