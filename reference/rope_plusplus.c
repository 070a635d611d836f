/* reference/rope_plusplus.c — RoPE++ (imaginary extension of RoPE): imaginary query heads.
 *
 * Sources checked (2026-12, with the search tool's read_file):
 *   Liu et al., "Beyond Real: Imaginary Extension of Rotary Position Embeddings for Long-Context LLMs"
 *     (arXiv 2512.07525), via its code: alphaXiv/rope_pp, whose README says it adapts the authors' official
 *     OpenMOSS/rope_pp codebase (the OpenMOSS repository itself holds only a README in the stored corpus).
 *   alphaXiv/rope_pp rope_pp/modeling_llama_rope_pp.py (commit 3a40741b):
 *     LlamaRotaryEmbedding.__init__: inv_freq = 1 / base^(arange(0, dim, 2) / dim), base = rope_theta; with
 *       rope_config 'yarn': r = 4096 / (2 pi) * inv_freq, gamma = clip((r - 1) / (32 - 1), 0, 1),
 *       inv_freq = (1 - gamma) inv_freq / factor + gamma inv_freq, and cos, sin both times 0.1 ln(factor) + 1;
 *       else with rope_config 'factor': inv_freq / factor. forward: emb = cat(freqs, freqs) (half split).
 *     rotate_half(x) = cat(-x[D/2:], x[:D/2]) over the whole head.
 *     LlamaAttention.apply_rotary_pos_emb: keys k cos + rotate_half(k) sin (plain RoPE) in every mode; the
 *       imaginary query is q sin - rotate_half(q) cos. imago: every query head imaginary; imagh: heads
 *       H//2.. imaginary (q_rope[:, H//2:]); imagx: heads 1::2 imaginary, 0::2 real; imag1 / imag2 (the
 *       paper's RoPE++_EH and RoPE++_EC, train_rope_pp.py's comment; scripts/train-*-rope_pp_eh.sh use imag1,
 *       *_ec.sh imag2): torch.stack([q_rope, q_imag], dim=2).reshape(H*2) — head 2j the real and 2j+1 the
 *       imaginary turn of query head j (imag1 halves the q and kv projections first, imag2 keeps them; both
 *       double num_key_value_groups so the key of j serves heads 2j and 2j+1). The file's closing comment
 *       derives q_imag(t) . k(s) = (q . k) sin(t - s) - (q x k) cos(t - s) per pair: relative.
 * Convention fixed here: plain RoPE (any pairing, the form's parameters; the source pairs by halves, so its
 * cases use pairing=half), inv_freq / factor, or with yarn the blend and gain above (4096, 1 and 32 are the
 * source's constants). role=key: every head real. role=query: heads selected by imag (none, all, upper = h >= H/2
 * with integer division, odd) turn by a - pi/2: (cos a, sin a) -> (sin a, -cos a), exactly, no rounded pi/2.
 * imag1 / imag2 are the caller's layout: it stacks each query head twice and passes imag=odd.
 * Not fixed by the source: partial rotary (its cos is partial_rotary_factor * head_dim wide and would not
 * broadcast against the whole head in apply_rotary_pos_emb); the form's rotary_dim still applies (tail copied).
 * Invariance: exact — an imaginary query head against a real key head depends on t - s only.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_plusplus)
{
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    if (st != PECS_OK)
        return st;
    double s = pecs_param_real(p, "factor", 1.0);
    if (pecs_param_int(p, "yarn", 0)) {
        for (int64_t i = 0; i < sched->R / 2; i++) {
            double w = sched->inv_freq[i], r = 4096.0 / 2.0 / PECS_PI * w;
            double gamma = fmin(fmax((r - 1.0) / (32.0 - 1.0), 0.0), 1.0);
            sched->inv_freq[i] = (1.0 - gamma) * w / s + gamma * w;
        }
        sched->attn = 0.1 * log(s) + 1.0;
    } else {
        for (int64_t i = 0; i < sched->R / 2; i++)
            sched->inv_freq[i] /= s;
    }
    if (sched->heads <= 0 || pecs_param_is(p, "role", "key") || pecs_param_is(p, "imag", "none"))
        return PECS_OK; /* no imaginary head: the shared schedule (pecs eval without heads, keys) */
    if ((st = pecs_ref_rot_heads(sched)) != PECS_OK)
        return st;
    int all = pecs_param_is(p, "imag", "all"), upper = pecs_param_is(p, "imag", "upper");
    for (int64_t h = 0; h < sched->heads; h++)
        sched->head_imag[h] = all || (upper ? h >= sched->heads / 2 : h % 2 == 1);
    return PECS_OK;
}
