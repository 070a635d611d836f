/* reference/rope_string.c — STRING (ShifTed Rotray position embeddING): the rotations of its two passes.
 *
 * Sources checked (2026-12, with the search tool):
 *   An et al., "Why Does the Effective Context Length of LLMs Fall Short?" (arXiv 2410.18745), sec. 4: relative
 *     positions P[m][n] = m - n below S, and m - n - S + W from S on (well-trained small positions overwrite
 *     the rarely trained large ones);
 *   HKUNLP/STRING README (S = shifted_offset = int(0.33 * L), W = local_value = 128; 43253 for L = 131072);
 *   the authors' string_for_llama.py (public copy of the repository's file): forward() rotates keys at
 *     position_ids, query_states_1 (neighbour pass) at position_ids and query_states_2 (shifted pass) at
 *     position_ids - diag_size + local_window, where diag_size = shifted_offset and local_window = local_value
 *     (replace_with_string); RotaryEmbedding caches attention_factor * cos and attention_factor * sin with
 *     attention_factor = 0.1*ln(2) + 1, so queries and keys of both passes carry it; split halves (rotate_half).
 *     string_flash_forward: the neighbour pass is flash attention with window (diag_size, 0) — keys at distance
 *     0..S inclusive — and the shifted pass is causal attention of the queries from index S on over the keys
 *     up to index kv_len - S, i.e. distances >= S; the two are merged by their log-sum-exp.
 * The rotate kernel is the three rotations:
 *   role=query, role=key:  RoPE at p, gain attn;   role=shifted:  RoPE at p - S + W, gain attn;
 *   attn = attention_factor if > 0, else 0.1*ln(2) + 1.
 * q_shifted(m) . k(n) is RoPE's logit at distance m - n - S + W (times attn^2): a function of m - n, so exact
 * invariance. The code only uses shifted queries at p >= S (then p - S + W >= W); pecs defines the rotation for
 * every p (a negative position is a rotation by a negative angle; the code's cos table, indexed with it, would
 * wrap around instead). Which keys each pass sees (and that distance S is in both) is a mask, not this kernel.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_string)
{
    double af = pecs_param_real(p, "attention_factor", 0.0);
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    sched->attn = af > 0.0 ? af : 0.1 * log(2.0) + 1.0;
    if (pecs_param_is(p, "role", "shifted"))
        sched->pos_offset = (double)pecs_param_int(p, "local_value", 128) - (double)pecs_param_int(p, "shifted_offset", 43253);
    return st;
}
