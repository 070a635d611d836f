/* reference/txl.c — Transformer-XL relative attention logits (scores form), evaluated directly.
 *
 * Sources checked: Dai et al. 2019, "Transformer-XL", sec. 3.3: A_ij = E_xi^T Wq^T Wk,E E_xj (a) + E_xi^T Wq^T
 * Wk,R R_{i-j} (b) + u^T Wk,E E_xj (c) + v^T Wk,R R_{i-j} (d), R the sinusoid encoding matrix; and the authors'
 * code, kimiyoung/transformer-xl pytorch/mem_transformer.py (read through the search tool, 2026-12-06):
 *   PositionalEmbedding(demb): inv_freq = 1 / 10000^(arange(0, demb, 2) / demb); pos_emb = cat([sin(pos*inv_freq),
 *     cos(pos*inv_freq)]) (all sines, then all cosines), demb = d_model;
 *   MemTransformerLM._forward: pos_seq = arange(klen-1, -1, -1) (the distance i - j of each column), clamped to
 *     clamp_len when clamp_len > 0; causal mask with memory: key j visible iff j <= i + mlen;
 *   RelPartialLearnableMultiHeadAttn: r_head_k = r_net(r) (Linear(d_model, n_head*d_head, bias=False)),
 *     AC = (q + r_w_bias) . k, BD = _rel_shift((q + r_r_bias) . r_head_k), score = (AC + BD) * 1/sqrt(d_head).
 * So, with s = min(qpos_i - kpos_j, clamp_len if > 0), R(s)[m] = sin(s f_m) for m < d_model/2 and
 * cos(s f_(m - d_model/2)) above, f_m = 10000^(-2m/d_model):
 *
 *     out[h][i][j] = ((q_i + u_h) . k_j + (q_i + v_h) . (W_h R(s))) / sqrt(D),   -inf where kpos_j > qpos_i
 *
 * Learned data "w" [H*D, d_model + 2] (one layout for the three tensors): row h*D + d holds W_R[h*D + d][0..d_model-1]
 * (r_net.weight, torch's [out, in] layout), then u[h][d] (r_w_bias) in column d_model and v[h][d] (r_r_bias) in
 * column d_model + 1. q and k are the per-head projections w_head_q, w_head_k (the memory is part of the keys).
 * This reference evaluates every (i, j) from its own distance (the (q+v).(W R) term as (W^T (q+v)) . R, the same
 * sum reordered); the kernel uses the paper's rel_shift on the [Lq, Lk] matrix of column distances
 * (impls/scalar/scores.c). Angles s*f_m are exact products reduced in double-double (pecs_ref_sincos).
 * Distances must be integers. The logits depend on qpos - kpos only: relative-shift invariance EXACT.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"


PECS_REF_HOOK_SCORES(txl)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "txl needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t dm = pecs_param_int(p, "d_model", 512), clamp = pecs_param_int(p, "clamp_len", 0);
    if (dm % 2 != 0) {
        snprintf(why, why_len, "txl: d_model %lld must be even (R is [sin | cos] halves)", (long long)dm);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, H * D, dm + 2, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data, scale = sqrt((double)D);
#define W_(row, col) wd[(row) * w->stride[0] + (col) * w->stride[1]]
    double *pr = malloc((size_t)(H * dm) * sizeof *pr), *R = malloc((size_t)dm * sizeof *R),
           *f = malloc((size_t)(dm / 2) * sizeof *f);
    pecs_status st = pr && R && f ? PECS_OK : PECS_NOMEM;
    for (int64_t m = 0; st == PECS_OK && m < dm / 2; m++)
        f[m] = pow(10000.0, -(double)(2 * m) / (double)dm);
    for (int64_t i = 0; i < Lq && st == PECS_OK; i++) {
        for (int64_t h = 0; h < H; h++) /* pr[h] = W_h^T (q_i + v_h) */
            for (int64_t m = 0; m < dm; m++) {
                double s = 0.0;
                for (int64_t d = 0; d < D; d++)
                    s += (qd[pecs_at3(q, i, h, d)] + W_(h * D + d, dm + 1)) * W_(h * D + d, m);
                pr[h * dm + m] = s;
            }
        for (int64_t j = 0; j < Lk && st == PECS_OK; j++) {
            double dist = pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j);
            if (dist != floor(dist)) {
                snprintf(why, why_len, "txl: distance qpos - kpos = %g is not an integer", dist);
                st = PECS_INVALID;
                break;
            }
            if (clamp > 0 && dist > (double)clamp)
                dist = (double)clamp;
            for (int64_t m = 0; m < dm / 2; m++)
                pecs_ref_sincos(dist, f[m], &R[m], &R[dm / 2 + m]);
            for (int64_t h = 0; h < H; h++) {
                double ac = 0.0, bd = 0.0;
                for (int64_t d = 0; d < D; d++)
                    ac += (qd[pecs_at3(q, i, h, d)] + W_(h * D + d, dm)) * kd[pecs_at3(k, j, h, d)];
                for (int64_t m = 0; m < dm; m++)
                    bd += pr[h * dm + m] * R[m];
                od[pecs_at3(out, h, i, j)] = dist < 0 ? -INFINITY : (ac + bd) / scale;
            }
        }
    }
#undef W_
    free(pr);
    free(R);
    free(f);
    return st;
}
