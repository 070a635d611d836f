/* reference/rope_mhrope.c — MHRoPE (Multi-Head RoPE): each KV head encodes one axis with the whole spectrum.
 *
 * Sources checked (2026-12, with the search tool):
 *   Huang et al., "Revisiting Multimodal Positional Encoding in Vision-Language Models" (arXiv 2510.23095): MHRoPE
 *     allocates attention heads, not frequency channels, to the t/h/w axes;
 *   JJJYmmm/Multimodal-RoPEs (the authors' repository): freq_allocation/mhrope.py MHRopeEmbedding.apply_transformation
 *     concatenates freqs[m] (= inv_freq * position row m, all head_dim/2 frequencies) repeated mrope_section[m] times
 *     along a head axis, for m = t, h, w, and pads with zero frequencies up to num_key_value_heads ("NoPE-style zero
 *     rotations"); configs/mhrope.py defaults mrope_section [2, 3, 3], num_key_value_heads 8;
 *     docs/rope_hyperparameters.md ("number of KV heads assigned to (t, h, w)"); the README's
 *     apply_multihead_rotary_pos_emb: keys use cos/sin per KV head, queries cos.repeat_interleave(n_repeat, dim=1)
 *     (query head h takes KV head h // n_repeat); split halves (rotate_half). Positions are [3, T] (MRoPE-I's design).
 * Convention fixed here (head_sections [s_t, s_h, s_w]; empty = every head on t):
 *   KV head of head h: k = h (role=key) or h / kv_groups (role=query); k < s_t -> row t, k < s_t + s_h -> row h,
 *   k < s_t + s_h + s_w -> row w, otherwise NoPE (inverse frequencies 0). Every pair of a head uses RoPE's
 *   inv[i] = base^(-2i/R). A text token (t = h = w) is 1-D RoPE on every non-NoPE head. Attention factor 1.
 * Invariance: exact per axis (each head sees one row shifted by d).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_mhrope)
{
    int64_t groups = pecs_param_int(p, "kv_groups", 1), sec[3] = {0, 0, 0};
    int key = pecs_param_is(p, "role", "key");
    const pecs_param *q = pecs_problem_param(p, "head_sections");
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    if (st != PECS_OK || sched->heads <= 0)
        return st;
    if (!key && sched->heads % groups != 0) {
        snprintf(why, why_len, "rope.mhrope: %lld query heads are not a multiple of kv_groups %lld", (long long)sched->heads,
                 (long long)groups);
        return PECS_INVALID;
    }
    int64_t kv_heads = key ? sched->heads : sched->heads / groups;
    if (q && q->n > 0) {
        int64_t sum = 0;
        for (int64_t k = 0; k < q->n && k < 3; k++) {
            if (q->list[k] != floor(q->list[k])) {
                snprintf(why, why_len, "head_sections[%lld] = %g is not an integer", (long long)k, q->list[k]);
                return PECS_INVALID;
            }
            sec[k] = (int64_t)q->list[k];
            sum += sec[k];
        }
        if (q->n != 3 || sum > kv_heads) {
            snprintf(why, why_len, "head_sections needs 3 integers (KV heads on t, h, w) summing to at most the %lld KV "
                     "heads; got %lld values summing to %lld", (long long)kv_heads, (long long)q->n, (long long)sum);
            return PECS_INVALID;
        }
    } else {
        sec[0] = kv_heads;
    }
    if ((st = pecs_ref_rot_heads(sched)) != PECS_OK)
        return st;
    for (int64_t h = 0; h < sched->heads; h++) {
        int64_t k = key ? h : h / groups;
        if (k < sec[0] + sec[1] + sec[2])
            sched->head_axis[h] = k < sec[0] ? 0 : k < sec[0] + sec[1] ? 1 : 2;
        else
            sched->head_scale[h] = 0.0; /* NoPE head */
    }
    return PECS_OK;
}
