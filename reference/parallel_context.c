/* reference/parallel_context.c — Parallel Context Windows' attention mask (Ratner et al. 2023, PCW).
 *
 * Read: the authors' code, AI21Labs/Parallel-Context-Windows
 *   pcw_wrapper.py PCWModelWrapper._get_windows: each context window is tokenized with the tokenizer's special
 *     tokens (Llama's bos) and run through the model alone, so its tokens attend causally inside the window and see
 *     no other window; positions from 0 (right_indentation shifts them to end at the longest window: positions only).
 *   get_contexts_cache: j = np.argmax(window sizes) (the first longest window on ties); combine_past_key_values keeps
 *     window j's cache whole and every other window's without its first token ([:, :, 1:, :]); the attention mask is
 *     all ones over the combined cache; max_window_size = the longest size, sum_windows_size = the cache length.
 *   generate_pcw_position_ids: task tokens take positions max_window_size + t (t from 0); later generated tokens
 *     continue from the last one.
 *   modeling_llama_with_pcw.py / modeling_gpt2_with_pcw.py prepare_inputs_for_generation: the task tokens run with
 *     the combined cache as past_key_values and HF's causal mask over past + new tokens: a task token sees every
 *     cached key and the task tokens up to itself.
 * As a mask of positions (token indices of the windows laid out back to back in the given order, then the task
 * tokens; lengths = the windows' token counts as tokenized, bos included; window b = [c_b, c_b + lengths[b]), c_b
 * the sum of the lengths before b; task tokens are the indices from S = the sum of the lengths on):
 *     query in window b: visible iff kpos <= qpos and kpos in window b;
 *     query a task token: visible iff kpos <= qpos and kpos is not the first token c_b of a window b other than the
 *       first longest one (those keys are not in the combined cache).
 * The key order of the code's cache (the longest window first) is a relabelling of the keys and changes no visible
 * set. The positions a rotate call gets (window offsets, max_window_size + t) are not this row. An empty lengths list
 * is no windows: every token a task token, the causal mask (the same as one window of any size, whose cache is kept
 * whole). Negative or fractional positions and lengths are rejected (PECS_INVALID).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* Window of index t (-1 for a task token, with *start = 1 when t is the first token of a window whose start is
 * dropped from the cache), or -2 with the reason on bad input. Every length is checked. */
static int64_t window_of(const pecs_problem *p, double t, int *dropped, char *why, size_t why_len)
{
    pecs_ref_segments s;
    *dropped = 0;
    if (pecs_ref_segment_of(p, 0.0, t, &s, why, why_len) != PECS_OK)
        return -2;
    *dropped = s.seg >= 0 && s.seg != s.longest && t == s.seg_start; /* np.argmax: the first longest keeps its start */
    return s.seg;
}

PECS_REF_HOOK_MASK(parallel_context)
{
    int dq, dk;
    int64_t wq = window_of(p, qpos, &dq, why, why_len), wk;
    if (wq < -1 || (wk = window_of(p, kpos, &dk, why, why_len)) < -1)
        return PECS_INVALID;
    if (wq >= 0)
        *allowed = kpos <= qpos && wk == wq;
    else
        *allowed = kpos <= qpos && !(wk >= 0 && dk);
    return PECS_OK;
}
