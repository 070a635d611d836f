/* reference/rope_tapa.c — TAPA (Token-Aware Phase Attention), scores form.
 *
 * Source checked (2026-12, with the search tool; no code was found): Wang, Shen, Munos, Zhan, Tian, "Positional Encoding
 * via Token-Aware Phase Attention" (arXiv 2509.12635), read in a stored full-text conversion (source-index file id
 * 63384610260):
 *   sec. 3, Definition 3.1, Eq. 9: Attn(q, k) = q^T M k cos(2 pi |m - n|^alpha phi(q, k)), m, n the query and key
 *     positions, alpha > 0; Eq. 10: phi(q, k) = q^T N k (the quadratic phase);
 *   Eq. 11-13, the form used: q = (q_A, q_P), k = (k_A, k_P) with q_A, k_A in R^(theta D) (the first theta D channels)
 *     and q_P, k_P the remaining (1 - theta) D, theta in (0, 1):
 *         Attn(q, k) = (q_A . k_A / sqrt(theta D)) cos(2 pi |m - n|^alpha (q_P . k_P) / sqrt((1 - theta) D));
 *   sec. 4.1: RoPE removed, the inner-product attention replaced by Eq. 12 with alpha = 0.1, theta = 0.5 (LLaMA3 7B
 *     architecture, a causal language model: pretraining at 8k, perplexity evaluation).
 * Convention fixed here (out [H, Lq, Lk], one head of q and k at a time, D = head_dim):
 *     A = theta D (an integer in 1 .. D-1, within 1e-9 D of the product: the split of Eq. 11), d = |qpos_i - kpos_j|,
 *     out[h][i][j] = (sum_{c < A} q[c] k[c] / sqrt(A)) cos(2 pi d^alpha (sum_{c >= A} q[c] k[c]) / sqrt(D - A)),
 *     -inf where causal and kpos_j > qpos_i (the paper's models are decoders; causal=false: no mask).
 *   At d = 0 (a token and itself): 0^alpha = 0 for every alpha > 0, so the cosine is 1 and the logit is the amplitude
 *   q_A . k_A / sqrt(theta D) alone: the phase half does not enter.
 *   The logit is the whole pre-softmax score: Eq. 12 carries its own scales, no further 1/sqrt(D).
 * Invariance: exact (the logit reads the positions through |m - n| only).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_SCORES(rope_tapa)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "rope.tapa needs tensors q, k, qpos, kpos and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    double theta = pecs_param_real(p, "theta", 0.5), alpha = pecs_param_real(p, "alpha", 0.1), a = theta * (double)D;
    int64_t A = (int64_t)llround(a); /* theta D as the decimal theta meant it: 0.1 * 30 is 3.0000000000000004 */
    if (fabs(a - (double)A) > 1e-9 * (double)D || A < 1 || A > D - 1) {
        snprintf(why, why_len, "rope.tapa: theta * head_dim = %g * %lld = %.17g must be an integer from 1 to head_dim - 1 "
                 "(the amplitude channels q_A of Eq. 11)", theta, (long long)D, a);
        return PECS_INVALID;
    }
    int causal = pecs_param_int(p, "causal", 1) != 0;
    const double *qd = q->data, *kd = k->data;
    double *od = out->data, sa = sqrt((double)A), sp = sqrt((double)(D - A));
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                double qi = pecs_pos_at(qp, 0, i), kj = pecs_pos_at(kp, 0, j), amp = 0.0, ph = 0.0;
                if (causal && kj > qi) {
                    od[pecs_at3(out, h, i, j)] = -INFINITY;
                    continue;
                }
                for (int64_t c = 0; c < D; c++) {
                    double v = qd[pecs_at3(q, i, h, c)] * kd[pecs_at3(k, j, h, c)];
                    if (c < A)
                        amp += v;
                    else
                        ph += v;
                }
                double dist = fabs(qi - kj);
                od[pecs_at3(out, h, i, j)] = amp / sa * cos(2.0 * PECS_PI * pow(dist, alpha) * ph / sp);
            }
    return PECS_OK;
}
