/* reference/focused_memory.c — one Focused Transformer (FoT) / LongLLaMA memory layer, kattn form, with the exact
 * full memory lookup. Tworkowski et al. 2023, "Focused Transformer: Contrastive Training for Context Scaling".
 *
 * The paper was not read; the definition is the authors' code, CStanKonrad/long_llama at 031b7ed5, read through the
 * search tool on 2026-12-07:
 *   src/modeling_longllama.py, LongLlamaRotaryEmbedding: inv_freq = 1 / base^(arange(0, D, 2) / D), base 10000 (the
 *     attention constructs it without a base argument); cos/sin tables of cat(freqs, freqs).
 *   rotate_half / rotate_one: x * cos[pos] + rotate_half(x) * sin[pos], rotate_half(x) = cat(-x2, x1): the
 *     half-split pairing (d, d + D/2).
 *   rotate_as_if_first: rotate_one at position_ids = 0 for every key (cos 1, sin 0: the identity in exact math).
 *   LongLlamaAttention.forward: keys leaving the local context go to the memory cache through rotate_as_if_first
 *     when mem_config.positionals (else unrotated: the same numbers), their values unrotated, their mask the last
 *     row of the local attention mask (for a causal mask without padding: every memory key visible); the memory
 *     update of the current window is applied after the attention (a window never sees itself in memory).
 *     Local part: rel_pos_ids = position_ids - min(position_ids); keys rotated at rel_pos_ids, queries at the last
 *     q_len of them; attn_weights = q @ k^T / sqrt(head_dim) + attention_mask (causal), clamped below at -1e6;
 *     mem_attn_weights = q @ mem_keys^T / sqrt(head_dim) + mem_mask, the same clamp; the two are concatenated
 *     along the key axis and ONE softmax (float32) taken; output = weights @ cat(local values, memory values).
 *     No gate and no extra scale; attention_grouping only splits the loop over heads and queries.
 *   src/longllama_utils.py, LongLlamaMemCache / mem_apply_update: the cache is the concatenation of every dropped
 *     (key, value, mask) along the key axis; this version of the code attends to all of it (no top-k).
 * So, per head h, with M memory keys and L local tokens (key m < M is memory, key M + j is local token j, query i
 * is local token i), R(p) the RoPE rotation at position p (R(0) = I), s = 1 / sqrt(D):
 *   s_i,m     = (R(i) q_i) . k_m s                       m < M   (every memory key, whatever i)
 *   s_i,M+j   = (R(i) q_i) . (R(j) k_M+j) s              j <= i  (causal local part)
 *   a_i = softmax over { memory keys } u { local j <= i } of those scores;  out[i][h] = sum a_i,* v_*
 * The local part depends on j - i only (relative-shift invariant); a memory score depends on i itself.
 * Not covered: a kNN / top-k memory lookup (the spec catalogue's summary of the README names "kNN or full"; it is
 * approximate, and the PyTorch attention read here has none: it attends to the whole cache),
 * mem_config.positionals off (local q/k then unrotated too), padding masks, the bfloat16 cache_dtype rounding.
 * This reference sums in double, the softmax with its maximum subtracted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

static pecs_status check(int64_t M, int64_t Lq, int64_t Lk, int64_t D, char *why, size_t why_len)
{
    if (M < 0) {
        snprintf(why, why_len, "focused_memory needs memory >= 0, got %lld", (long long)M);
        return PECS_INVALID;
    }
    if (Lk != M + Lq) {
        snprintf(why, why_len, "focused_memory keys are [memory | local]: keys (%lld) must be memory (%lld) + tokens "
                 "(%lld)", (long long)Lk, (long long)M, (long long)Lq);
        return PECS_INVALID;
    }
    if (D % 2) {
        snprintf(why, why_len, "focused_memory rotates half-split pairs (d, d + D/2): head_dim must be even, got %lld",
                 (long long)D);
        return PECS_INVALID;
    }
    return PECS_OK;
}

/* x rotated at position pos into y (half-split pairs, inv_freq[d] = base^(-2d/D)) */
static void rotate(const double *x, double *y, int64_t D, double pos, double base)
{
    for (int64_t d = 0; d < D / 2; d++) {
        double t = pos * pow(base, -2.0 * (double)d / (double)D), c = cos(t), sn = sin(t);
        y[d] = x[d] * c - x[d + D / 2] * sn;
        y[d + D / 2] = x[d + D / 2] * c + x[d] * sn;
    }
}

PECS_REF_HOOK_KATTN(focused_memory)
{
    int64_t M = pecs_param_int(p, "memory", 16);
    double base = pecs_param_real(p, "base", 10000.0);
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *v = pecs_problem_tensor(p, "v"), *out = pecs_problem_tensor(p, "out");
    if (!q && !k && !v && !out) /* parameters only (pecs_ref_check) */
        return check(M, 0, M, 0, why, why_len);
    if (!q || !k || !v || !out) {
        snprintf(why, why_len, "focused_memory needs tensors q, k, v and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (check(M, Lq, Lk, D, why, why_len) != PECS_OK)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *vd = v->data;
    double *od = out->data;
    size_t nd = (size_t)(D ? D : 1);
    double *s = malloc((size_t)(Lk ? Lk : 1) * sizeof *s), *x = malloc(nd * sizeof *x), *qr = malloc(nd * sizeof *qr),
           *kr = malloc(nd * sizeof *kr), *acc = malloc(nd * sizeof *acc);
    pecs_status st = s && x && qr && kr && acc ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            for (int64_t d = 0; d < D; d++)
                x[d] = qd[pecs_at3(q, i, h, d)];
            rotate(x, qr, D, (double)i, base);
            int64_t n = M + i + 1; /* memory keys, then local keys 0..i */
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j < n; j++) {
                for (int64_t d = 0; d < D; d++)
                    x[d] = kd[pecs_at3(k, j, h, d)];
                if (j < M) /* rotate_as_if_first: position 0, the identity */
                    rotate(x, kr, D, 0.0, base);
                else
                    rotate(x, kr, D, (double)(j - M), base);
                double dot = 0.0;
                for (int64_t d = 0; d < D; d++)
                    dot += qr[d] * kr[d];
                s[j] = dot / sqrt((double)D);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < n; j++)
                z += exp(s[j] - mx);
            for (int64_t d = 0; d < D; d++)
                acc[d] = 0.0;
            for (int64_t j = 0; j < n; j++) {
                double a = exp(s[j] - mx) / z;
                for (int64_t d = 0; d < D; d++)
                    acc[d] += a * vd[pecs_at3(v, j, h, d)];
            }
            for (int64_t d = 0; d < D; d++)
                od[pecs_at3(out, i, h, d)] = acc[d];
        }
    free(s);
    free(x);
    free(qr);
    free(kr);
    free(acc);
    return st;
}
