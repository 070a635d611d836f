/* reference/lm_infinite.c — LM-Infinite's Lambda-shaped attention mask (Han et al. 2024).
 *
 * Read: the authors' code, Glaciohound/LM-Infinite
 *   models/lambda_attention.py, class Lambda_Attention_Matrix: the local ("rot") branch keeps, in each tile of
 *     query block b against key blocks b-1 and b (shift_and_pair), the entries with 1 <= c - r <= local_branch, i.e.
 *     0 <= i - j < local_branch (and block 0 has no previous block); the global ("stationary") branch scores the first
 *     global_branch keys and masks them with triu(-local_branch + 1 + Lk - Lq), so with Lq = Lk a global key is kept
 *     where i - j >= local_branch, where the local branch does not already cover it. The "short_seq" mode
 *     (Lq <= local_branch) keeps every causal key, which the same rule gives.
 *   models/llama.py attn_forward_factory: both branches go through lambda_matmul; convert_llama_model sets
 *     limit_distance = local_branch. utils/arguments.py: defaults local_branch 2048, global_branch 100.
 * So key j is visible to query i iff
 *     kpos <= qpos  and  (qpos - kpos < n_local  or  kpos < n_global).
 * Positions are the indices from the sequence start: the code's global branch is key_states[..., :global_branch, :],
 * the first keys of the call, which are positions 0 .. n_global - 1 when position_ids = arange (its use).
 *
 * What this row leaves out, and where it goes: the global branch's logits are not the rotary logits of the pair.
 * The code scores them with the query rotated by min(limit_distance, kv_len - 1) and the key unrotated, i.e. RoPE at
 * a capped distance. That is a score (a rotate pair at a fixed distance), not a visibility rule, so this mask
 * row does not carry it; a kernel reproducing LM-Infinite combines this mask with rope logits whose distance is
 * min(qpos - kpos, limit) on the global keys (docs/encodings.md, "lm_infinite"). The optional triangle_offset
 * log penalty (default 0, and only in the non-lambda path) is likewise a bias, not a mask.
 */
#include "reference.h"

PECS_REF_HOOK_MASK(lm_infinite)
{
    (void)why, (void)why_len;
    double d = qpos - kpos;
    double n_local = (double)pecs_param_int(p, "n_local", 2048), n_global = (double)pecs_param_int(p, "n_global", 100);
    *allowed = d >= 0.0 && (d < n_local || kpos < n_global);
    return PECS_OK;
}
