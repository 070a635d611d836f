/* reference/huang.c — Huang et al. 2020 relative position embeddings, method 4 (scores form).
 *
 * Sources checked: Huang, Liang, Xu & Xiang 2020, "Improve Transformer Models with Better Relative Position
 * Embeddings" (Findings of EMNLP 2020): only the abstract was retrievable through the search tool (the stored pages
 * stop before section 3), so the formula is taken from the implementation the field uses and that names it
 * "Method 4" of this paper: HF transformers BertSelfAttention with position_embedding_type="relative_key_query"
 * (modeling_bert.py and its copies in RoBERTa, ELECTRA, ...; read 2026-12-06 through the search tool):
 *     distance = position_ids_l - position_ids_r                       (query - key)
 *     a = distance_embedding(distance + max_position_embeddings - 1)   (nn.Embedding(2*max_pos - 1, head_size))
 *     scores = (q.k + einsum("bhld,lrd->bhlr", q, a) + einsum("bhrd,lrd->bhlr", k, a)) / sqrt(head_size)
 * one table shared by all heads, no clipping (a distance past max_pos - 1 indexes out of the table: an error).
 * With N = max_distance = max_position_embeddings - 1 and w = tensor "w" [2N+1, D] (row r = distance r - N):
 *
 *     out[h][i][j] = (q_i . k_j + q_i . w[qpos_i - kpos_j + N] + k_j . w[qpos_i - kpos_j + N]) / sqrt(D)
 *
 * and -inf where causal and kpos_j > qpos_i. |qpos - kpos| > N or a fractional distance is an invalid problem.
 * Method 3 of the paper (and methods 1-2) are not represented: no stored source defines them.
 * The logits depend on qpos - kpos only: relative-shift invariance EXACT.
 */
#include <math.h>

#include "reference.h"

/* HF indexes by query - key + N; no clipping: a distance beyond +-N has no row (an invalid problem). */
static int64_t huang_row(const pecs_ref_relkey *rk, double d) { return fabs(d) > (double)rk->n ? -2 : rk->n - (int64_t)d; }

PECS_REF_HOOK_SCORES(huang)
{
    int64_t N = pecs_param_int(p, "max_distance", 511);
    pecs_ref_relkey rk = {.rows = 2 * N + 1, .key_term = 1, .masked_after = pecs_param_int(p, "causal", 1) != 0,
                          .row = huang_row, .n = N, .n_name = "max_distance"};
    return pecs_ref_relkey_logits(p, &rk, why, why_len);
}
