/* reference/urpe.c — URPE, Universal RPE-based attention (kattn form): attention outputs, softmax then a
 * learned Toeplitz factor multiplying the probabilities.
 *
 * Luo et al. 2022, "Your Transformer May Not be as Powerful as You Expect" (NeurIPS 2022, arXiv 2205.13401).
 * The paper was not read beyond its abstract; the definition is the authors' code, lsj2408/URPE (commit
 * 47b711f8), read through the search tool on 2026-12-06:
 *   fairseq/modules/multihead_attention.py, MultiheadAttention.forward:
 *     q *= self.scaling (head_dim ** -0.5); attn_weights = bmm(q, k^T); attn_weights += rel_pos_bias;
 *     attn_weights = softmax(attn_weights, dim=-1); attn_weights = attn_weights * ur_rel_pos_bias;
 *     (dropout) attn = bmm(attn_weights, v)  -- no renormalisation after the elementwise product.
 *   fairseq/modules/transformer_sentence_encoder.py, relative_position_bucket(relative_position, num_buckets,
 *     max_distance) and TransformerSentenceEncoder.__init__ / forward:
 *     relative_position = memory_position - context_position (key j minus query i) over a max_seq_len square;
 *     bucket = relative_position_bucket(rp, rp_bucket, max_rp): sign(rp) times T5's bidirectional magnitude
 *       bucket with num_buckets // 2 buckets (max_exact = (num_buckets // 2) // 2; n < max_exact exact, else
 *       max_exact + (long)(log(n.float() / max_exact) / math.log(max_distance / max_exact) * (nb/2 - max_exact)),
 *       capped at nb/2 - 1);
 *     bucket[bucket >= 0] += 2; bucket -= bucket.min()  (the minimum over the whole max_seq_len square);
 *     rp_bias = nn.Embedding(rp_bucket + 1, num_attention_heads): B[h][i][j] = rp_bias[bucket[i][j]][h];
 *     the same, separately, for C: ur_bucket from (ur_rp_bucket, ur_max_rp), ur_rp_bias = nn.Embedding(
 *       ur_rp_bucket + 1, num_attention_heads): C[h][i][j] = ur_rp_bias[ur_bucket[i][j]][h];
 *     forward slices both bucket matrices to [:seq_len, :seq_len]; defaults rp_bucket = ur_rp_bucket = 64,
 *     max_rp = ur_max_rp = 128, max_seq_len = 256.
 *   fairseq/modules/transformer_sentence_encoder_layer.py, TransformerSentenceEncoderLayer.forward: self-attention
 *     with attn_mask = self_attn_mask, which the encoder never passes: bidirectional, no causal mask.
 * So B and C use the same bucket function but their own parameters and their own per-head tables. Padding
 * (B -inf, C 0 at padded keys) is not part of the form (no padding tokens).
 *
 * Convention (docs/encodings.md, "urpe"): per head h, query i, key j (token indices, 0-based),
 *     s_ij = q_i . k_j / sqrt(D) + B_h(j - i),   p_ij = exp(s_ij) / sum_j' exp(s_ij'),
 *     out[i][h] = sum_j p_ij C_h(j - i) v_j
 *   B_h(d) = w[idx(d; rp_bucket, max_rp)][h],  C_h(d) = w[rp_bucket + 1 + idx(d; ur_rp_bucket, ur_max_rp)][h],
 *   w [rp_bucket + ur_rp_bucket + 2, H]: rp_bias.weight stacked over ur_rp_bias.weight.
 *   idx(d) = sgn(d) mag(|d|) + (d >= 0 ? 2 : 0) + mag(max_seq_len - 1)  (the code's minimum is
 *   -mag(max_seq_len - 1) for max_seq_len > 1, reached at d = -(max_seq_len - 1); 2 - 2 = 0 for max_seq_len = 1).
 *   With Lq != Lk the relative position is still j - i (the code's square, sliced [:Lq, :Lk]); Lq and Lk must not
 *   exceed max_seq_len (the model's bucket matrix is that large). The magnitude bucket is computed with the
 *   code's float32 sequence (n.float() / max_exact, float log, divide by the double log ratio, truncate), as
 *   reference/t5.c does, so boundary distances land where the model puts them.
 * This reference sums directly in double; the softmax subtracts the row maximum (exact in real arithmetic).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

/* The magnitude bucket of n >= 0 with half = num_buckets // 2 buckets per direction (relative_position_bucket). */
static int64_t urpe_mag(int64_t n, int64_t num_buckets, int64_t max_distance)
{
    int64_t half = num_buckets / 2, max_exact = half / 2;
    if (n < max_exact)
        return n;
    float scaled = logf((float)n / (float)max_exact) / (float)log((double)max_distance / (double)max_exact) *
                   (float)(half - max_exact);
    int64_t large = max_exact + (int64_t)scaled;
    return large < half - 1 ? large : half - 1;
}

/* The table row of relative position d = j - i: signed bucket, +2 for d >= 0, minus the max_seq_len square's
 * minimum. */
static int64_t urpe_row(int64_t d, int64_t num_buckets, int64_t max_distance, int64_t max_seq_len)
{
    int64_t n = d < 0 ? -d : d, b = d < 0 ? -urpe_mag(n, num_buckets, max_distance) : urpe_mag(n, num_buckets, max_distance) + 2;
    int64_t lo = max_seq_len > 1 ? -urpe_mag(max_seq_len - 1, num_buckets, max_distance) : 2;
    return b - lo;
}

static pecs_status check_buckets(const char *which, int64_t nb, char *why, size_t why_len)
{
    int64_t max_exact = nb / 2 / 2;
    if (max_exact < 1) {
        snprintf(why, why_len, "urpe needs %s >= 4 (max_exact = (%s // 2) // 2 >= 1), got %lld", which, which,
                 (long long)nb);
        return PECS_INVALID;
    }
    return PECS_OK;
}

PECS_REF_HOOK_KATTN(urpe)
{
    int64_t nb = pecs_param_int(p, "rp_bucket", 64), maxd = pecs_param_int(p, "max_rp", 128),
            unb = pecs_param_int(p, "ur_rp_bucket", 64), umaxd = pecs_param_int(p, "ur_max_rp", 128),
            msl = pecs_param_int(p, "max_seq_len", 256);
    if (check_buckets("rp_bucket", nb, why, why_len) != PECS_OK ||
        check_buckets("ur_rp_bucket", unb, why, why_len) != PECS_OK)
        return PECS_INVALID;
    if (maxd <= nb / 4 || umaxd <= unb / 4) { /* log(max_distance / max_exact) <= 0: the code's buckets go negative */
        int b = maxd <= nb / 4;
        snprintf(why, why_len, "urpe needs %s > max_exact = %lld (%s // 2 // 2), got %lld", b ? "max_rp" : "ur_max_rp",
                 (long long)((b ? nb : unb) / 4), b ? "rp_bucket" : "ur_rp_bucket", (long long)(b ? maxd : umaxd));
        return PECS_INVALID;
    }
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *v = pecs_problem_tensor(p, "v"), *out = pecs_problem_tensor(p, "out");
    if (!q && !k && !v && !out) /* parameters only (pecs_ref_check) */
        return PECS_OK;
    if (!q || !k || !v || !out) {
        snprintf(why, why_len, "urpe needs tensors q, k, v, w and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lq > msl || Lk > msl) {
        snprintf(why, why_len, "urpe: %lld queries and %lld keys exceed max_seq_len %lld (the model's bucket matrix)",
                 (long long)Lq, (long long)Lk, (long long)msl);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, nb + unb + 2, H, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *qd = q->data, *kd = k->data, *vd = v->data, *wd = w->data;
    double *od = out->data, *s = malloc((size_t)Lk * sizeof *s), *acc = malloc((size_t)D * sizeof *acc);
    pecs_status st = s && acc ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double mx = -INFINITY, den = 0.0;
            for (int64_t j = 0; j < Lk; j++) {
                double dot = 0.0;
                for (int64_t d = 0; d < D; d++)
                    dot += qd[pecs_at3(q, i, h, d)] * kd[pecs_at3(k, j, h, d)];
                s[j] = dot / sqrt((double)D) + wd[urpe_row(j - i, nb, maxd, msl) * w->stride[0] + h * w->stride[1]];
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < Lk; j++)
                den += (s[j] = exp(s[j] - mx));
            for (int64_t d = 0; d < D; d++)
                acc[d] = 0.0;
            for (int64_t j = 0; j < Lk; j++) {
                double a = s[j] / den * wd[(nb + 1 + urpe_row(j - i, unb, umaxd, msl)) * w->stride[0] + h * w->stride[1]];
                for (int64_t d = 0; d < D; d++)
                    acc[d] += a * vd[pecs_at3(v, j, h, d)];
            }
            for (int64_t d = 0; d < D; d++)
                od[pecs_at3(out, i, h, d)] = acc[d];
        }
    free(s);
    free(acc);
    return st;
}
