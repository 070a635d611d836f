/* reference/gateloop.c — GateLoop's surrogate attention (scores form).
 *
 * Sources checked (read 2026-12-06 through the search tool):
 *   - Katsch 2023, GateLoop: Fully Data-Controlled Linear Recurrence for Sequence Modeling, arXiv 2311.01927: the
 *     stored pages give the abstract; the method section was not read.
 *   - The author's tobiaskatsch/GatedLinearRNN, flax_gate_loop/gate_loop.py: the associative-scan `binary_operator`
 *     (a_i, kv_i), (a_j, kv_j) -> (a_j a_i, a_j kv_i + kv_j), i.e. the recurrence S_t = a_t S_{t-1} + kv_t run in
 *     token order. The stored versions of that file apply it to a real-gated GLRU (no q or k); the q/k/v form is in
 *     the ports below.
 *   - lucidrains/gateloop-transformer gateloop_transformer.py (its README: the author reviewed the code):
 *     `gate_loop_operator(q, k, v, a)` ("the pseudocode in section 3.2 of the paper"): kv = k^T v per token and head
 *     made complex, the same binary_operator scanned over tokens, out = q . Re(S); `GateLoopedAttention.forward`: a is
 *     one complex number per token and head from a Linear (dim -> 2 heads, view_as_complex: real part first), then
 *     "sigmoid for magnitude, identity for phase": a = polar(sigmoid(|a|), angle(a)). An independent flax port
 *     (GateLoop module with wa (dim, 2 dim), lax.complex(a_r, a_i), magnitude sigmoid, phase kept, y = q Re(S)) agrees.
 *
 * Unrolled, S_n = sum_{m <= n} (prod_{j=m+1..n} a_j) k_m^T v_m, so with real q, k, v the output is
 *     y_n = sum_{m <= n} out[n][m] v_m,   out[n][m] = (q_n . k_m) Re(prod_{j=m+1..n} a_j)
 * per head: a linear attention, no 1/sqrt(D) and no softmax. pecs's choices where the code is silent:
 *   (1) w [2H, L] is the gate Linear's raw output per token: w[h][t] its real part, w[H + h][t] its imaginary part,
 *       and the kernel applies the activation: a = sigmoid(|c|) c / |c| (c = w[h][t] + i w[H+h][t]; c = 0 has angle
 *       0: a = 1/2). So |a| is in [1/2, 1) for any generated data, as in the models.
 *   (2) The recurrence runs over one sequence: the call's queries and keys are the same tokens (Lq = Lk, gate t
 *       belongs to key row t). Positions order them, as the scan's axis does: key m is visible to query n iff
 *       kpos_m <= qpos_n, and the product runs over the keys j with kpos_m < kpos_j <= qpos_n (keys at one position
 *       do not gate each other). For positions 0..L-1 in order this is prod_{j=m+1..n} a_j. Masked keys are -inf
 *       (the form's contract; in GateLoop they weigh 0).
 * Positions enter through comparisons only, so a common shift changes nothing: relative-shift invariance EXACT.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* The gate of key row t, head h: a = sigmoid(|c|) c/|c|, c = w[h][t] + i w[H+h][t]. */
static void gateloop_gate(double re, double im, double *ar, double *ai)
{
    double r = hypot(re, im), m = 1.0 / (1.0 + exp(-r));
    *ar = r > 0.0 ? m * re / r : m;
    *ai = r > 0.0 ? m * im / r : 0.0;
}

PECS_REF_HOOK_SCORES(gateloop)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "gateloop needs tensors q, k, qpos, kpos, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq != Lk) {
        snprintf(why, why_len, "gateloop: the recurrence runs over one sequence, queries and keys are its tokens "
                               "(Lq %lld != Lk %lld)", (long long)Lq, (long long)Lk);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, 2 * H, Lq, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data;
    for (int64_t h = 0; h < H; h++)
        for (int64_t n = 0; n < Lq; n++) {
            double qn = pecs_pos_at(qp, 0, n);
            for (int64_t m = 0; m < Lk; m++) {
                double km = pecs_pos_at(kp, 0, m);
                if (km > qn) {
                    od[pecs_at3(out, h, n, m)] = -INFINITY;
                    continue;
                }
                double pr = 1.0, pi = 0.0, dot = 0.0; /* the product of the gates, directly */
                for (int64_t j = 0; j < Lk; j++) {
                    double kj = pecs_pos_at(kp, 0, j), ar, ai;
                    if (!(kj > km && kj <= qn))
                        continue;
                    gateloop_gate(wd[h * w->stride[0] + j * w->stride[1]],
                                           wd[(H + h) * w->stride[0] + j * w->stride[1]], &ar, &ai);
                    double t = pr * ar - pi * ai;
                    pi = pr * ai + pi * ar;
                    pr = t;
                }
                for (int64_t d = 0; d < D; d++)
                    dot += qd[pecs_at3(q, n, h, d)] * kd[pecs_at3(k, m, h, d)];
                od[pecs_at3(out, h, n, m)] = dot * pr;
            }
        }
    return PECS_OK;
}
