/* reference/rope_vrope.c — VRoPE: per-channel position ids from four symmetric spatial variants.
 *
 * Sources checked (2026-12, with the search tool):
 *   Liu et al., "VRoPE: Rotary Position Embedding for Video Large Language Models" (arXiv 2502.11664);
 *   johncaged/VRoPE vrope.py (the authors' code), VRoPE.generate_nd_positions for a (T, H, W) video starting
 *     at index c: the 2-D variants v0 = h + w, v1 = h + (W-1-w), v2 = (H-1-h) + w, v3 = (H-1-h) + (W-1-w)
 *     (stack [pos, pos.flip] per axis, summed with broadcasting, reshaped to 2^n rows in that order), plus
 *     t*(H+W-1) + c; channel (frequency) i of half_head_dim takes variant i % 4; the temporal channel allocation
 *     is disabled (half_time_dim forced to 0); text tokens (generate_1d_positions) repeat one id on every
 *     channel and the index advances by (H+W-1)*T after a video.
 * The id layout is a position map (the caller's job). The rotate kernel it feeds is RoPE whose pair i reads
 * position row i mod 4 of pos [4, T], row r holding variant r of every token (equal rows for text tokens,
 * which makes it 1-D RoPE). Inverse frequencies and pairing are RoPE's; attention factor 1.
 */
#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_vrope)
{
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    for (int64_t i = 0; i < sched->R / 2; i++)
        sched->axis[i] = (int32_t)(i % 4);
    return st;
}
