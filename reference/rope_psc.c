/* reference/rope_psc.c — PSC (phase shift calibration): a learned, position-free gate on q and k before RoPE.
 *
 * Sources checked (2026-12-07, through the search tool): Zhu et al. 2024, "PSC: Extending Context Window of Large
 * Language Models via Phase Shift Calibration" (EMNLP; arXiv 2505.12423, abstract), as the authors' code
 * WNQzhu/PSC @6c6af75 defines it (PSC_code/README.md: "The PSC module is implemented in lora_llama.py, class Phase"):
 *   lora_llama.py Phase.__init__(nh, hd): up_phase and down_phase, each [nh, hd, hd] (one pair of hd x hd matrices
 *     per head; the hidden width equals the head dim); reset_parameters: up zeros, down kaiming-uniform (so a fresh
 *     module is the identity).
 *   lora_llama.py Phase.forward(embed [b, nh, s, hd]): tmp_1 = einsum("bnsd,ndr->bnsr", embed, up_phase);
 *     tmp_2 = einsum("bnsr,nrd->bnsd", SiLU(tmp_1), down_phase); coeff = 1 + tanh(tmp_2) / 2; return embed * coeff.
 *     That is, per head h and lane j:  g_j = x_j (1 + tanh(sum_r silu(sum_i x_i U_h[i][r]) V_h[r][j]) / 2).
 *     (The yarn() method of Phase is never called by forward.)
 *   lora_llama.py apply_rotary_pos_emb(q, k, cos, sin, position_ids, q_phase, k_phase), with using_phase = True:
 *     q = q_phase(q); k = k_phase(k) BEFORE q * cos + rotate_half(q) * sin (and the same for k): the gate acts on
 *     the un-rotated head, every lane of it, and the rotation is then the model's RoPE (rotate_half: half-split
 *     pairs; the pairing parameter selects it here). The commented-out block after the rotation (gating q_embed) is
 *     not the code that runs.
 *   lora_llama.py LlamaAttention.__init__: q_phase = Phase(num_heads, head_dim), k_phase = Phase(num_key_value_heads,
 *     head_dim): q and k have different maps. LlamaFlashAttention2.forward (the class every LlamaDecoderLayer uses)
 *     passes q_phase=self.q_phase, k_phase=self.k_phase; the eager and SDPA forwards call apply_rotary_pos_emb
 *     without them (unused there).
 *   lora_llama.py _init_rope: the rotary embedding is whatever rope_scaling selects (none, linear = PI, dynamic,
 *     yarn; the yarn class multiplies cos and sin by its mscale); cotrain_main.py trains on yarn factor 16 (PI as an
 *     alternative). PSC itself does not depend on that choice: here the rotation is rope's schedule, and the
 *     PECS_ROTATE_PARAMS freq_factors (per-pair divisors: PI's s, YaRN's blend) and attn_factor (YaRN's mscale)
 *     express a PI or YaRN base. LongRoPE (named in the abstract) is not in the stored code.
 *   phase.py (initial checkpoint): q_phase/k_phase up_phase and down_phase, each [32, 128, 128], for each of 32
 *     layers (LLaMA-2 7B: 32 heads, 32 KV heads, head dim 128).
 * The paper's abstract and secondary summaries describe the calibration as a block-diagonal matrix on the
 * embedding; the stored code computes the gate above, which is what this row follows (the code wins).
 * Not in this row: the LoRA adapters the same code trains (q_lora ..; projections, not positions), layers (one call
 * is one layer's map), GQA with fewer KV heads than query heads (the q and k maps are sized by this call's H), and
 * bf16 arithmetic.
 *
 * Position-free and applied before the rotation: <R(m) g_q(q), R(n) g_k(k)> = <g_q(q), R(n - m) g_k(k)>, so the
 * logits are exactly relative-shift invariant whatever the maps (registry EXACT).
 *
 * "w" [4*H*D, D] (registry "4*H*D,D"), H = this call's heads, D = head_dim, row-major D x D blocks:
 *   rows (0*H + h)*D + i:  q_phase.up_phase[h][i][.]       rows (2*H + h)*D + i:  k_phase.up_phase[h][i][.]
 *   rows (1*H + h)*D + r:  q_phase.down_phase[h][r][.]     rows (3*H + h)*D + r:  k_phase.down_phase[h][r][.]
 * role=query reads the first 2*H*D rows, role=key the last 2*H*D. The gate covers the whole head, so rotary_dim must
 * be head_dim (the code has no partial rotary: LLaMA rotates every lane).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_psc)
{
    double base = pecs_param_real(p, "base", 10000.0);
    int64_t R = sched->R, H = sched->heads;
    for (int64_t i = 0; i < R / 2; i++)
        sched->inv_freq[i] = pow(base, -(double)(2 * i) / (double)R);
    if (H <= 0)
        return PECS_OK; /* without heads (pecs eval, the level model): the frequencies only */
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *wt = pecs_problem_tensor(p, "w");
    int64_t D = x && x->ndim == 3 ? x->shape[2] : wt && wt->ndim == 2 ? wt->shape[1] : R; /* checks: no x, w's width */
    if (D != R) {
        snprintf(why, why_len, "rope.psc gates every lane of the head before rotating it: rotary_dim must be 0 (the "
                 "whole head, %lld), got %lld", (long long)D, (long long)R);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, 4 * H * D, D, why, why_len);
    if (!w)
        return PECS_INVALID;
    sched->gate = w;
    sched->gate_row0 = pecs_param_is(p, "role", "key") ? 2 * H * D : 0;
    return PECS_OK;
}
