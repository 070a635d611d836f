/* reference/mpnet.c — MPNet's relative position bias (a learned table over T5-style buckets).
 *
 * Sources checked: Song et al. 2020, "MPNet: Masked and Permuted Pre-training for Language Understanding"
 * (relative position embeddings as in T5); HuggingFace transformers modeling_mpnet.py (PyTorch, TF and
 * Paddle copies read 2026-12-05 through the search tool): MPNetEncoder.compute_position_bias and its static
 * relative_position_bucket:
 *     relative_position = memory_position - context_position              (key - query)
 *     n = -relative_position;  nb = num_buckets // 2;  ret = (n < 0) * nb;  n = |n|
 *     max_exact = nb // 2
 *     n < max_exact:  ret += n
 *     else:           ret += min(nb - 1, max_exact + (long)(log(n.float() / max_exact)
 *                                        / log(max_distance / max_exact) * (nb - max_exact)))
 *     bias[h][i][j] = relative_attention_bias.weight[bucket][h]      (tensor "w" [num_buckets, H])
 * There is no causal variant: MPNet is an encoder. compute_position_bias passes num_buckets = 32 (its
 * default argument, not config.relative_attention_num_buckets) and max_distance keeps its default 128.
 * This is T5's bidirectional rule written from the other sign ((n < 0) with n = -(key - query) is
 * (key - query > 0)); tests/test_t2bias.c checks the two references agree bucket for bucket. As in
 * reference/t5.c the bucket is computed with the model's float32 sequence (float divide, float log, divide
 * by the double log ratio rounded to float, multiply, truncate), so boundary distances land where the model
 * puts them.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static int64_t mpnet_bucket(int64_t rel, int64_t num_buckets, int64_t max_distance)
{
    int64_t n = -rel, nb = num_buckets / 2;
    int64_t ret = n < 0 ? nb : 0;
    n = n < 0 ? -n : n;
    int64_t max_exact = nb / 2;
    if (n < max_exact)
        return ret + n;
    float v = logf((float)n / (float)max_exact) / (float)log((double)max_distance / (double)max_exact) *
              (float)(nb - max_exact);
    int64_t large = max_exact + (int64_t)v;
    return ret + (large < nb - 1 ? large : nb - 1);
}

PECS_REF_HOOK_BIAS(mpnet)
{
    int64_t nbk = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    int64_t max_exact = nbk / 2 / 2;
    if (maxd <= max_exact) { /* log(max_distance/max_exact) <= 0 would give negative buckets */
        snprintf(why, why_len, "mpnet needs max_distance > max_exact = num_buckets/4 = %lld, got max_distance %lld",
                 (long long)max_exact, (long long)maxd);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, nbk, H, why, why_len);
    if (!w)
        return PECS_INVALID;
    int64_t b = mpnet_bucket((int64_t)(kpos - qpos), nbk, maxd);
    *bias = ((const double *)w->data)[b * w->stride[0] + h * w->stride[1]];
    return PECS_OK;
}
