/* reference/t5.c — T5 relative position buckets with a given bias table.
 *
 * Sources checked: Raffel et al. 2020 (T5) sec. 2.1; HuggingFace transformers modeling_t5.py
 * T5Attention._relative_position_bucket (verbatim public copies): rel = key - query;
 *   bidirectional: nb = num_buckets/2, bucket = (rel > 0) * nb, r = |rel|;  causal: nb = num_buckets,
 *   bucket = 0, r = -min(rel, 0);   max_exact = nb/2;
 *   r < max_exact: bucket += r;
 *   else bucket += min(nb - 1, max_exact + (int)(log(r / max_exact) / log(max_distance / max_exact)
 *                                               * (nb - max_exact)))
 * bias[h][i][j] = table[bucket][h] (tensor "w" [num_buckets, H], what T5 loads as
 * relative_attention_bias). The bucket is an integer chosen by a float computation: it is computed here
 * with HF's float32 sequence (float divide, float log, divide by the double log ratio rounded to float,
 * multiply, truncate) so boundary distances land where the model puts them; catalogue note 7 found no
 * float32/float64 disagreement for |rel| <= 300 with 32 buckets and max_distance 128.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static int64_t t5_bucket(int64_t rel, int bidirectional, int64_t num_buckets, int64_t max_distance)
{
    int64_t bucket = 0, nb = num_buckets, r;
    if (bidirectional) {
        nb /= 2;
        bucket += rel > 0 ? nb : 0;
        r = rel < 0 ? -rel : rel;
    } else {
        r = rel < 0 ? -rel : 0;
    }
    int64_t max_exact = nb / 2;
    if (r < max_exact)
        return bucket + r;
    float ratio = (float)r / (float)max_exact;
    float scaled = logf(ratio) / (float)log((double)max_distance / (double)max_exact) * (float)(nb - max_exact);
    int64_t large = max_exact + (int64_t)scaled;
    return bucket + (large < nb - 1 ? large : nb - 1);
}

PECS_REF_HOOK_BIAS(t5)
{
    int64_t nbk = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    int bidir = (int)pecs_param_int(p, "bidirectional", 1);
    int64_t max_exact = (bidir ? nbk / 2 : nbk) / 2;
    if (max_exact < 1) {
        snprintf(why, why_len, "t5 needs max_exact = %s/2 >= 1 (num_buckets %lld is too small)",
                 bidir ? "num_buckets/2" : "num_buckets", (long long)nbk);
        return PECS_INVALID;
    }
    if (maxd <= max_exact) { /* log(max_distance/max_exact) <= 0: buckets go negative (HF indexes out of range) */
        snprintf(why, why_len, "t5 needs max_distance > max_exact = %lld (num_buckets %lld%s), got max_distance %lld",
                 (long long)max_exact, (long long)nbk, bidir ? ", bidirectional" : "", (long long)maxd);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, nbk, H, why, why_len);
    if (!w)
        return PECS_INVALID;
    int64_t b = t5_bucket((int64_t)(kpos - qpos), bidir, nbk, maxd);
    *bias = ((const double *)w->data)[b * w->stride[0] + h * w->stride[1]];
    return PECS_OK;
}
