/* reference/rope_windowed.c — WRoPE, A^2ATS's windowed RoPE (scores form).
 *
 * Sources checked (read 2026-12-07 through the search tool): He et al. 2025 (A^2ATS, ACL Findings; arXiv
 * 2502.12665: the stored pages give the abstract and introduction, no WRoPE formula), so the definition is the
 * authors' code, junhuihe-hjh/vqkey (commit 48354d2592b2) vqkey/models/llama_masked.py:
 *   - LLM.__init__: defaults wrope_local_window 64, wrope_relative_pos 2048, attention_sink 8, passed to
 *     llama_attention_forward_wrapper;
 *   - llama_attention_forward (the wrapper's inner function), decode step (q_len 1): the query is rotated by the
 *     model's rotary embedding at the one position wrope_relative_pos (query_states_wrope, HF apply_rotary_pos_emb:
 *     x cos + rotate_half(x) sin), the keys are the unrotated key_states (vector-quantised: the codebook entry of
 *     each key), and the retrieval score is query_states_wrope . key / sqrt(head_dim). Keys with
 *     cache_position_i - j < wrope_local_window and the cache slots j < attention_sink are excluded from the ranking
 *     (set to -inf) and always kept; the top int(topk * seq_len) of the rest by that score are kept; the attention
 *     then runs with the exact RoPE logits (q_i rotated at i, k_j at j, / sqrt(head_dim), plus the causal mask) on
 *     the kept keys and -inf elsewhere.
 * Since (R(a) q).(R(b) k) = q . R(b - a) k, the query rotated at P against an unrotated key is the RoPE logit of the
 * pair at relative distance i - j = P. The logit WRoPE assigns to key j, as an encoding, is therefore
 *
 *     out[h][i][j] = rope(q_i, k_j, qpos_i - kpos_j) / sqrt(D)   if qpos_i - kpos_j < W or j < S   (W, S, P below)
 *                    rope(q_i, k_j, P) / sqrt(D)                 otherwise
 *                    -inf                                        if kpos_j > qpos_i (causal)
 *     rope(q, k, r) = sum_f cos(r w_f) (q_a k_a + q_b k_b) + sin(r w_f) (q_a k_b - q_b k_a),   w_f = base^(-2f/D),
 *
 * (a, b) the f-th channel pair: (f, f + D/2) for pairing half (HF rotate_half, the code's LLaMA models, default) or
 * (2f, 2f + 1) for interleaved. W = wrope_local_window, P = wrope_relative_pos, S = attention_sink. For the window
 * and sink keys this is the logit the attention uses; for the rest it is the score the retrieval ranks. What pecs
 * does not cover: the top-k selection itself (a selection over these scores, outside any form: the kept keys then
 * get the exact RoPE logit), the vector quantisation of the keys (a compression of k), and the model's own RoPE
 * scaling (only the default schedule base^(-2f/D) is modelled). The sinks are the first S cache slots, i.e. the
 * first S keys of the call (key index, not position: with qpos = kpos = arange they are positions 0 .. S-1). The
 * logit depends on qpos_i - kpos_j and the key index only: relative-shift invariance EXACT.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_SCORES(rope_windowed)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "rope.windowed needs tensors q, k, qpos, kpos and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (D % 2 != 0) {
        snprintf(why, why_len, "rope.windowed: head_dim %lld must be even (RoPE rotates channel pairs)", (long long)D);
        return PECS_INVALID;
    }
    double W = (double)pecs_param_int(p, "wrope_local_window", 64), P = (double)pecs_param_int(p, "wrope_relative_pos", 2048);
    int64_t S = pecs_param_int(p, "attention_sink", 8);
    double base = pecs_param_real(p, "base", 10000.0);
    int half = !pecs_param_is(p, "pairing", "interleaved");
    const double *qd = q->data, *kd = k->data;
    double *od = out->data, root = sqrt((double)D);
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double r = pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j);
            if (r < 0.0) {
                for (int64_t h = 0; h < H; h++)
                    od[pecs_at3(out, h, i, j)] = -INFINITY;
                continue;
            }
            if (!(r < W) && j >= S)
                r = P;
            for (int64_t h = 0; h < H; h++) {
                double acc = 0.0;
                for (int64_t f = 0; f < D / 2; f++) {
                    int64_t a = half ? f : 2 * f, b = half ? f + D / 2 : 2 * f + 1;
                    double s, c, qa = qd[pecs_at3(q, i, h, a)], qb = qd[pecs_at3(q, i, h, b)];
                    double ka = kd[pecs_at3(k, j, h, a)], kb = kd[pecs_at3(k, j, h, b)];
                    pecs_ref_sincos(r, pow(base, -(double)(2 * f) / (double)D), &s, &c);
                    acc += c * (qa * ka + qb * kb) + s * (qa * kb - qb * ka);
                }
                od[pecs_at3(out, h, i, j)] = acc / root;
            }
        }
    return PECS_OK;
}
