/* reference/landmark.c — Landmark attention (kattn form): causal softmax attention with the grouped softmax of
 * Mohtashami & Jaggi 2023, "Landmark Attention: Random-Access Infinite Context Length for Transformers".
 *
 * The paper was not read; the definition is the authors' code, epfml/landmark-attention, read through the search
 * tool on 2026-12-07 (models/landmark.py at 78ec517b, llama/llama_mem.py and llama/llama_landmark_config.py at
 * 111ee30e):
 *   llama/llama_mem.py, LlamaForCausalLM.forward (auto_insert_landmarks): block_size = mem_freq + 1; the ids are cut
 *     into runs of mem_freq tokens and the landmark id (mem_id) appended to each: token t is a landmark when
 *     t % block_size == block_size - 1. LlamaLandmarkConfig: mem_freq = 50 (block_size 51).
 *   models/landmark.py, CausalSelfAttention.forward (the same steps in llama_mem.py LlamaModel.forward):
 *     att = q @ k^T / sqrt(head_dim), causal -inf above the diagonal; is_mem = the key is a landmark;
 *     mem_ids[i][j] = landmarks before key j (cumsum(is_mem) - is_mem), 0 where masked;
 *     last_section_mask = (mem_ids == max over the row): the keys of the query's own block;
 *     mask = causal | (is_mem & last_section_mask): "the landmark token for the current block should be ignored,
 *     even if we are processing the landmark token itself"; last_section and is_mem then drop masked keys.
 *   models/landmark.py and llama/llama_mem.py, landmark_grouped_softmax + LandmarkGroupedSoftmaxFunction.forward:
 *     resp_mem_idx = the last group (max_mem_cnt - 1) for the own block's keys, the landmarks and masked keys,
 *     else cumsum(is_mem) (the block's number); a softmax within each group (max subtracted); group_prob[b] = the
 *     probability landmark b got in the last group; probs *= (own block or landmark or masked ? last_section_mask :
 *     group_prob[block of the key]).
 * So, per head h, query i, key j (token indices 0-based, B = block_size, blk(t) = t // B, lm(t) = t % B == B - 1),
 * s_ij = q_i . k_j / sqrt(D):
 *   own block   C_i = { j <= i : blk(j) == blk(i), not lm(j) }     (a landmark query's own landmark is masked)
 *   landmarks   M_i = { j < i : lm(j) }                             (every closed block's landmark)
 *   Z_i = sum_{j in C_i u M_i} exp(s_ij)
 *   a_ij = exp(s_ij) / Z_i                                           j in C_i
 *        = exp(s_i,l(b)) / Z_i * exp(s_ij) / sum_{j' in b, not lm} exp(s_ij')    j a regular key of a closed block b
 *        = 0                                                         j a landmark, or j > i
 *   out[i][h] = sum_j a_ij v_j                                       (the weights of each query sum to 1)
 * l(b) = b B + B - 1. Not covered: the cache / top-k retrieval paths (llama_mem.py with past_key_value), the
 * Triton kernel, group dropout (training only), padding masks. Query i must be token i: Lq == Lk (self-attention).
 * This reference sums directly in double, every softmax with its group's maximum subtracted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

static pecs_status check(int64_t bs, int64_t Lq, int64_t Lk, char *why, size_t why_len)
{
    if (bs < 2) {
        snprintf(why, why_len, "landmark needs block_size >= 2 (mem_freq = block_size - 1 >= 1), got %lld",
                 (long long)bs);
        return PECS_INVALID;
    }
    if (Lq != Lk) {
        snprintf(why, why_len, "landmark is self-attention: query i is token i, so keys (%lld) must equal tokens (%lld)",
                 (long long)Lk, (long long)Lq);
        return PECS_INVALID;
    }
    return PECS_OK;
}

PECS_REF_HOOK_KATTN(landmark)
{
    int64_t bs = pecs_param_int(p, "block_size", 51);
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *v = pecs_problem_tensor(p, "v"), *out = pecs_problem_tensor(p, "out");
    if (!q && !k && !v && !out) /* parameters only (pecs_ref_check) */
        return check(bs, 0, 0, why, why_len);
    if (!q || !k || !v || !out) {
        snprintf(why, why_len, "landmark needs tensors q, k, v and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (check(bs, Lq, Lk, why, why_len) != PECS_OK)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *vd = v->data;
    double *od = out->data, *s = malloc((size_t)(Lk ? Lk : 1) * sizeof *s), *a = malloc((size_t)(Lk ? Lk : 1) * sizeof *a),
           *acc = malloc((size_t)(D ? D : 1) * sizeof *acc);
    pecs_status st = s && a && acc ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            int64_t own = i / bs;
            for (int64_t j = 0; j <= i; j++) {
                double dot = 0.0;
                for (int64_t d = 0; d < D; d++)
                    dot += qd[pecs_at3(q, i, h, d)] * kd[pecs_at3(k, j, h, d)];
                s[j] = dot / sqrt((double)D);
                a[j] = 0.0;
            }
            /* the last group: the own block's regular keys and the closed blocks' landmarks */
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j <= i; j++) {
                int lm = j % bs == bs - 1;
                if ((j / bs == own && !lm) || (j / bs < own && lm))
                    mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j <= i; j++) {
                int lm = j % bs == bs - 1;
                if ((j / bs == own && !lm) || (j / bs < own && lm))
                    z += exp(s[j] - mx);
            }
            for (int64_t j = 0; j <= i; j++)
                if (j / bs == own && j % bs != bs - 1)
                    a[j] = exp(s[j] - mx) / z;
            /* each closed block: a softmax over its regular keys, times its landmark's share of the last group */
            for (int64_t b = 0; b < own; b++) {
                int64_t lo = b * bs, l = lo + bs - 1;
                double bm = -INFINITY, bz = 0.0, gate = exp(s[l] - mx) / z;
                for (int64_t j = lo; j < l; j++)
                    bm = s[j] > bm ? s[j] : bm;
                for (int64_t j = lo; j < l; j++)
                    bz += exp(s[j] - bm);
                for (int64_t j = lo; j < l; j++)
                    a[j] = gate * exp(s[j] - bm) / bz;
            }
            for (int64_t d = 0; d < D; d++)
                acc[d] = 0.0;
            for (int64_t j = 0; j <= i; j++)
                for (int64_t d = 0; d < D; d++)
                    acc[d] += a[j] * vd[pecs_at3(v, j, h, d)];
            for (int64_t d = 0; d < D; d++)
                od[pecs_at3(out, i, h, d)] = acc[d];
        }
    free(s);
    free(a);
    free(acc);
    return st;
}
