/* reference/rope_hope_vlm.c — HoPE (Hybrid of Position Embedding, VLM): hybrid frequency allocation.
 *
 * Sources checked (2026-12, with the search tool):
 *   Li et al., "HoPE: Hybrid of Position Embedding for Length Generalization in Vision-Language Models"
 *     (arXiv 2505.20444), sec. 4 (hybrid frequency allocation; dynamic temporal scaling of the positions);
 *   hrlics/HoPE modeling_hope.py (the authors' code, a Qwen2-VL modification):
 *     apply_hybrid_multimodal_rotary_pos_emb(q, k, cos, sin, mrope_section): sections [t, h, w] become
 *     [t, h+w], doubled over the halves and reversed: [h+w, t, h+w, t]; in each spatial section element j takes
 *     row 1 (h) if j is even, row 2 (w) if odd, at frequency index `index` (the global slot); each temporal
 *     section is cos 1, sin 0 (NoPE); split-halves pairing (rotate_half). The same file's
 *     apply_m_modify_multimodal_rotary_pos_emb rotates that band by row 0 (t) instead: not HoPE.
 *   Positions come from get_dynamic_rope_index (t scaled by the video's temporal scale, h and w centred on t):
 *   a position map, real-valued when the scale is fractional; the kernel takes them as f64 rows.
 * Convention fixed here (R = rotary dim, n = R/2, sections [s_t, s_h, s_w] integers summing to n; an empty list
 * means s_t = 0): S = s_h + s_w; pair k < S uses row 1 (h) if k is even, row 2 (w) if odd, with RoPE's
 * inv[k] = base^(-2k/R); pairs k >= S get inv 0 (copied). Row 0 (t) is never read: time enters only through the
 * diagonal layout of h and w. Only s_t and s_h + s_w matter. Attention factor 1.
 */
#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_hope_vlm)
{
    int64_t n = sched->R / 2, sec[3] = {0, n, 0};
    const pecs_param *q = pecs_problem_param(p, "sections");
    if (q && q->n > 0 && !pecs_ref_sections(p, n, sec, why, why_len))
        return PECS_INVALID;
    int64_t spatial = sec[1] + sec[2];
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    for (int64_t k = 0; k < n; k++) {
        sched->axis[k] = k < spatial ? (k % 2 == 0 ? 1 : 2) : 0;
        if (k >= spatial)
            sched->inv_freq[k] = 0.0;
    }
    return st;
}
