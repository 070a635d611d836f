/* reference/rope_gali.c — GALI, greedy attention logit interpolation (scores form), without its Gaussian noise.
 *
 * Sources checked (read 2026-12-07 through the search tool): Li, Zhang, Li & Han 2025, "A Training-Free Length
 * Extrapolation Approach for LLMs: Greedy Attention Logit Interpolation" (arXiv 2502.02659v2; full text in the source
 * index, a PDF transcription): sec. 3.1 Eq. 2 (chunked position ids), sec. 3.2 Eq. 3 (the logit interpolation),
 * Appendix D Algorithms 1 (chunk sizes), 2 (position id interpolation) and 3 (attention logit interpolation); and the
 * authors' AcademyCityL/GALI models/DPI/help_funcs.py (commit ef44ef87): get_chunk_size_list, construct_new_pi
 * (Algorithm 2 with start_pos 0), prefill_interpolation and decode_interpolation. The logit step itself is in the
 * paper only (the repository stores help_funcs.py and pred.py).
 *
 * Position ids (Algorithms 1 and 2). The sequence is the tokens 0 .. L-1 with L = max(qpos) + 1 (the prefill length;
 * a decode call has one query, at L - 1). It is cut into chunks: [0, L_tr), then chunks of s tokens, the last one cut
 * at L. The queries of a chunk ending at T (tokens 0 .. T-1 visible) use the ids of construct_new_pi(T): if T <= L_tr
 * the plain indices; else, with g = ceil((T - L_w)/(L_tr - L_w)) and i* the first i >= 1 with L_tr - i + g i >= T
 * (i* = ceil((T - L_tr)/(g - 1))), F = T - L_tr + i*:
 *     id(t) = t / g                 for t < F      (the integers 0 .. i*-1, each followed by g - 1 fractions)
 *     id(t) = i* + (t - F)          for t >= F     (the last L_tr - i* >= L_w tokens keep unit spacing, up to L_tr - 1)
 * A decode step (one new token) is a one-token chunk: T = L, as decode_interpolation calls construct_new_pi(L-1, 1).
 *
 * Logit (Algorithm 3, noise left out): q rotated at ceil(id_m), k at ceil(id_n) and at floor(id_n);
 *     a_f = rope(q, k, ceil(id_m) - ceil(id_n)) / sqrt(D),   a_c = rope(q, k, ceil(id_m) - floor(id_n)) / sqrt(D),
 *     c   = (ceil(id_m) - id_n) mod 1 = ceil(id_n) - id_n,
 *     out = a_f - (a_f - a_c) c,        -inf where kpos > qpos (causal)
 * i.e. Eq. 3's a(floor r) - (a(floor r) - a(ceil r)) (r mod 1) with r = ceil(id_m) - id_n (the paper's stated
 * approximation r = ceil(m) - n), rope(q, k, r) the plain RoPE logit at relative distance r (pairs (f, f + D/2), HF
 * rotate_half as the paper's Llama models, or interleaved; w_f = base^(-2f/D)).
 * Not covered: the Gaussian noise. Eq. 3 adds N(0, (r/L_tr)^2)-like noise scaled by the interval r over L_tr, while
 * Algorithm 3 scales by the token-index distance over the sequence length and applies it only where the coefficient is
 * non-zero; the code's add_gaussian_noise_to_rel_coef has further switches (scale_mean, scale_std, std_base). The two
 * definitions disagree and the noise is random, so pecs checks the deterministic part only. Positions are token
 * indices (integers >= 0); the ids depend on the absolute index (chunks start at 0): no relative-shift invariance.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* construct_new_pi's id of token t for a chunk ending at T, as an exact fraction num/den (den = g, or 1). */
static void gali_id(int64_t t, int64_t T, int64_t Ltr, int64_t Lw, int64_t *num, int64_t *den)
{
    if (T <= Ltr) {
        *num = t, *den = 1;
        return;
    }
    int64_t g = (T - Lw + (Ltr - Lw) - 1) / (Ltr - Lw);
    int64_t istar = (T - Ltr + (g - 1) - 1) / (g - 1), F = T - Ltr + istar;
    if (t < F)
        *num = t, *den = g;
    else
        *num = istar + (t - F), *den = 1;
}

static double gali_rope(const pecs_tensor *q, const pecs_tensor *k, int64_t i, int64_t j, int64_t h, double r, double base,
                        int half)
{
    const double *qd = q->data, *kd = k->data;
    int64_t D = q->shape[2];
    double acc = 0.0;
    for (int64_t f = 0; f < D / 2; f++) {
        int64_t a = half ? f : 2 * f, b = half ? f + D / 2 : 2 * f + 1;
        double s, c, qa = qd[pecs_at3(q, i, h, a)], qb = qd[pecs_at3(q, i, h, b)];
        double ka = kd[pecs_at3(k, j, h, a)], kb = kd[pecs_at3(k, j, h, b)];
        pecs_ref_sincos(r, pow(base, -(double)(2 * f) / (double)D), &s, &c);
        acc += c * (qa * ka + qb * kb) + s * (qa * kb - qb * ka);
    }
    return acc / sqrt((double)D);
}

PECS_REF_HOOK_SCORES(rope_gali)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    int64_t Ltr = pecs_param_int(p, "train_len", 4096), Lw = pecs_param_int(p, "local_window", 128),
            s = pecs_param_int(p, "chunk_size", 1000);
    if (Lw >= Ltr) {
        snprintf(why, why_len, "rope.gali: local_window L_w (%lld) must be below train_len L_tr (%lld): the group size "
                 "is ceil((T - L_w)/(L_tr - L_w))", (long long)Lw, (long long)Ltr);
        return PECS_INVALID;
    }
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "rope.gali needs tensors q, k, qpos, kpos and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], L = 0;
    if (D % 2 != 0) {
        snprintf(why, why_len, "rope.gali: head_dim %lld must be even (RoPE rotates channel pairs)", (long long)D);
        return PECS_INVALID;
    }
    for (int64_t n = 0; n < Lq + Lk; n++) {
        double v = n < Lq ? pecs_pos_at(qp, 0, n) : pecs_pos_at(kp, 0, n - Lq);
        if (!(v >= 0.0 && v < 9007199254740992.0 && v == floor(v))) {
            snprintf(why, why_len, "rope.gali: positions are token indices in the sequence (integers >= 0); %s[%lld] = %g",
                     n < Lq ? "qpos" : "kpos", (long long)(n < Lq ? n : n - Lq), v);
            return PECS_INVALID;
        }
        if (n < Lq && (int64_t)v + 1 > L)
            L = (int64_t)v + 1;
    }
    double base = pecs_param_real(p, "base", 500000.0);
    int half = !pecs_param_is(p, "pairing", "interleaved");
    double *od = out->data;
    for (int64_t i = 0; i < Lq; i++) {
        int64_t m = (int64_t)pecs_pos_at(qp, 0, i);
        int64_t T = m < Ltr ? Ltr : Ltr + ((m - Ltr) / s + 1) * s; /* the end of m's chunk (Algorithm 1) */
        if (T > L)
            T = L;
        int64_t mn, md;
        gali_id(m, T, Ltr, Lw, &mn, &md);
        int64_t cm = (mn + md - 1) / md; /* ceil(id_m) */
        for (int64_t j = 0; j < Lk; j++) {
            int64_t n = (int64_t)pecs_pos_at(kp, 0, j), nn, nd;
            if (n > m) {
                for (int64_t h = 0; h < H; h++)
                    od[pecs_at3(out, h, i, j)] = -INFINITY;
                continue;
            }
            gali_id(n, T, Ltr, Lw, &nn, &nd);
            int64_t fl = nn / nd, ce = (nn + nd - 1) / nd;
            double c = (double)(ce * nd - nn) / (double)nd; /* ceil(id_n) - id_n */
            for (int64_t h = 0; h < H; h++) {
                double af = gali_rope(q, k, i, j, h, (double)(cm - ce), base, half);
                double ac = c != 0.0 ? gali_rope(q, k, i, j, h, (double)(cm - fl), base, half) : af;
                od[pecs_at3(out, h, i, j)] = af - (af - ac) * c;
            }
        }
    }
    return PECS_OK;
}
