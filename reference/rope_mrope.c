/* reference/rope_mrope.c — multimodal RoPE with chunked sections (Qwen2-VL) and the interleaved variant
 * (Qwen3-VL, MRoPE-I).
 *
 * Sources checked: HF qwen2_vl apply_multimodal_rotary_pos_emb (mrope_section doubled over the two halves,
 * chunk k of the frequency axis taken from position row k % 3; the frequency index is global, not reset);
 * HF qwen3_vl apply_interleaved_mrope (start from t everywhere, overwrite pair f with h for f = 1, 4, ...
 * < 3*s_h and with w for f = 2, 5, ... < 3*s_w); ggml ggml_mrope_cache_init (MROPE chunks, IMROPE rule
 * sector%3 with sector < 3*s; ggml sends the remaining pairs to a 4th row "e", HF keeps them on t — the
 * authors' HF code is followed). Positions are [3, T] (t, h, w); a text token has t = h = w, which makes
 * both exactly 1-D RoPE (tested).
 */
#include "reference.h"

static pecs_status sections_schedule(const pecs_problem *p, pecs_ref_rot *sched, int interleaved, char *why,
                                     size_t why_len)
{
    int64_t n = sched->R / 2, sec[3];
    if (!pecs_ref_sections(p, n, sec, why, why_len))
        return PECS_INVALID;
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    for (int64_t i = 0; i < n; i++) {
        if (interleaved)
            sched->axis[i] = (i % 3 == 1 && i < 3 * sec[1]) ? 1 : (i % 3 == 2 && i < 3 * sec[2]) ? 2 : 0;
        else
            sched->axis[i] = i < sec[0] ? 0 : i < sec[0] + sec[1] ? 1 : 2;
    }
    return st;
}

PECS_REF_HOOK_ROTATE(rope_mrope) { return sections_schedule(p, sched, 0, why, why_len); }

PECS_REF_HOOK_ROTATE(rope_imrope) { return sections_schedule(p, sched, 1, why, why_len); }
