/* reference/tape.c — TAPE (conTextualized equivariAnt Position Encoding), the attention logits of one layer (scores
 * form), with the layer's position states given as learned data.
 *
 * Sources checked (read 2026-12-07 through the search tool): VITA-Group/TAPE, the official implementation named by the
 * paper's README (Zhu, Wang, Cai, Lee, Li, Wang, "Rethinking Addressing in Language Models via Contextualized
 * Equivariant Positional Encoding", ICLR 2025, arXiv 2501.00712; TAPE is `adape` in the code):
 *   README.md: "export TYPE=adape; bash script/train.sh" trains TAPE from scratch; config/adape.json: rpe_type adape,
 *     hidden_size 512, 8 heads (head_dim 64), position_size 256, 12 layers;
 *   train.py: the model class is models.llama.<rpe_type>.MyLlamaForCausalLM, i.e. models/llama/adape.py;
 *   models/llama/adape.py (stored version 259cd848):
 *     AdaRotaryEmbedding.forward: the model-level initial position states, a pair (cos, sin) of tensors
 *       [batch, heads, seq, head_dim], emb = cat(freqs, freqs), freqs = t * inv_freq, inv_freq = base^(-2f/head_dim)
 *       (base 10000): RoPE's tables, repeated over the heads (t = token index; a random offset in training);
 *     apply_rotary_pos_emb: q_embed = q * cos + rotate_half(q) * sin, k likewise with the key's states, rotate_half(x)
 *       = cat(-x[D/2:], x[:D/2]) (pairs (f, f + D/2));
 *     PELlamaAttention.forward: attn_weights = q_embed k_embed^T / sqrt(head_dim), plus the causal mask, softmax; the
 *       position states are then updated by the same weights, pos_output = (A cos, A sin);
 *     LlamaDecoderLayer.forward: pos_output scaled per head by post_attention_linear (einsum 'bqnd,qe->bqnd') plus the
 *       residual, then PELayer (up_proj over the heads to position_size, times act(x_proj(x)), down_proj back) plus the
 *       residual: the states of the next layer.
 *   A PEFT file of the repository (class AdaPEAttention(config, base_attn) with PELayer; stored file id 15169363510,
 *   its path not shown by the tool) computes the same logits. modeling_llama/adape.py and models/llama/add_adape.py hold
 *   an earlier, different variant (pos_states pos_states^T added to q k^T / sqrt(D), random-Fourier-feature initial
 *   states) that train.py does not load for config/adape.json: not this row.
 *   The paper's method section is not in the stored pages (abstract and summaries only), so the code is the definition.
 *
 * This row: the logits of one TAPE attention layer given its position states. Per head h and token t the state is the
 * pair (C_t, S_t) of head_dim-vectors (the code's position_states[0], [1] at [h][t]); for f < D/2, b = f + D/2:
 *     q~[f] = q[f] C_i[f] - q[b] S_i[f],   q~[b] = q[b] C_i[b] + q[f] S_i[b]      (k~ likewise with C_j, S_j)
 *     out[h][i][j] = q~ . k~ / sqrt(D),  -inf where kpos_j > qpos_i (the code's causal mask).
 * w [H*Lq, 2D]: row h*Lq + t = (C_t[0..D-1], S_t[0..D-1]) of head h. The states belong to the tokens of one sequence:
 * token t is query t and key t (Lq == Lk, else invalid; the code indexes them by position_ids = arange(L)). D even.
 * With C_t = cos(t w_f), S_t = sin(t w_f) in both halves (the initial states) the logit is RoPE's.
 * Equivariance (the paper's claim, as the code keeps it): the code's updates act on the token and head axes only, the
 * same map for C and S and for every lane, so C_t[f] = C_t[f + D/2] (and S) at every layer; the logit then depends on
 * the states through (C_i C_j + S_i S_j) and (C_i S_j - S_i C_j) per lane pair, so rotating every token's (C[f], S[f])
 * (both halves) by one angle per (head, f) leaves it unchanged.
 * Not covered: the state update (needs the softmax weights, x and the layer's weights) and the training-time random
 * offset of the initial tables. Positions enter through the mask only: relative-shift invariance EXACT.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_SCORES(tape)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "tape needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq != Lk) {
        snprintf(why, why_len, "tape: the position states belong to the tokens of one sequence: Lq (%lld) must equal "
                 "Lk (%lld)", (long long)Lq, (long long)Lk);
        return PECS_INVALID;
    }
    if (D % 2 != 0) {
        snprintf(why, why_len, "tape: head_dim %lld must be even (rotate_half pairs lane f with f + D/2)", (long long)D);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, H * Lq, 2 * D, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data, scale = sqrt((double)D);
    int64_t half = D / 2;
#define TAPE_C(t, d) wd[(h * Lq + (t)) * w->stride[0] + (d) * w->stride[1]]
#define TAPE_S(t, d) wd[(h * Lq + (t)) * w->stride[0] + (D + (d)) * w->stride[1]]
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                if (pecs_pos_at(kp, 0, j) > pecs_pos_at(qp, 0, i)) {
                    od[pecs_at3(out, h, i, j)] = -INFINITY;
                    continue;
                }
                double s = 0.0;
                for (int64_t f = 0; f < half; f++) {
                    int64_t b = f + half;
                    double qf = qd[pecs_at3(q, i, h, f)], qb = qd[pecs_at3(q, i, h, b)];
                    double kf = kd[pecs_at3(k, j, h, f)], kb = kd[pecs_at3(k, j, h, b)];
                    double qtf = qf * TAPE_C(i, f) - qb * TAPE_S(i, f), qtb = qb * TAPE_C(i, b) + qf * TAPE_S(i, b);
                    double ktf = kf * TAPE_C(j, f) - kb * TAPE_S(j, f), ktb = kb * TAPE_C(j, b) + kf * TAPE_S(j, b);
                    s += qtf * ktf + qtb * ktb;
                }
                od[pecs_at3(out, h, i, j)] = s / scale;
            }
#undef TAPE_C
#undef TAPE_S
    return PECS_OK;
}
