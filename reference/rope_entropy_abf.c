/* reference/rope_entropy_abf.c — Entropy-aware ABF: RoPE at base 500000 with an entropy-invariant query scale.
 *
 * Sources checked (2026-12, with the search tool):
 *   Zhang et al., "Extending LLMs' Context Window with 100 Samples" (arXiv 2401.07004), sec. 3 (ABF base
 *     500000; attention logits scaled by max(1, log_{L}(i)) to keep the attention entropy, L the training
 *     length; the first two layers left unscaled);
 *   GAIR-NLP/Entropy-ABF patch/EABF.py (the authors' code): rope_scaling type "eabf" builds LlamaRotaryEmbedding
 *     with base=500000; apply_rotary_pos_emb_scale rotates q and k as HF (split halves) and returns
 *     q_embed * scale, k_embed with scale = log(position_ids + 1) / log(4096), scale[scale < 1] = 1 (cast to the
 *     activation dtype first); apply_eabf(model, count=2) restores the unscaled function in layers 0 and 1.
 * Convention fixed here:
 *   role=query: RoPE(base) times lambda(p) = ln(p+1)/ln(L) where p + 1 > L, else 1 (L = train_length, p = pos);
 *   role=key:   RoPE(base) (the harness's invariance check gives keys role=key).
 *   The code's clamp max(1, .) is this for p >= 0; for p + 1 <= 0 its log is NaN or -inf, which pecs defines
 *   as 1 (positions are never negative in the model). The code rounds lambda to the activation dtype (bf16 in
 *   main.py); pecs keeps it in double. Layers 0-1 (unscaled) are rope.abf; the ABF schedule itself is RoPE's.
 * Invariance: none. lambda depends on the absolute query position (the logits are relative only while every
 * query stays at p + 1 <= L).
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_entropy_abf)
{
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    if (!pecs_param_is(p, "role", "key"))
        sched->log_gain_len = pecs_param_real(p, "train_length", 4096.0);
    return st;
}
