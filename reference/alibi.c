/* reference/alibi.c — ALiBi, canonical relative form.
 *
 * Sources checked: Press, Smith, Lewis, "Train Short, Test Long" (arXiv 2108.12409) sec. 3: the bias
 * -m * (i - j) added to q_i . k_j, head-specific slopes a geometric sequence starting at 2^(-8/n) with
 * ratio 2^(-8/n); the authors' get_slopes (ofirpress/attention_with_linear_biases, verified verbatim via
 * public copies): for n not a power of two, slopes(P) + slopes(2P)[0::2][:n-P] with P = 2^floor(log2 n);
 * re-read 2026-11 through a public copy that cites ofirpress/attention_with_linear_biases
 * fairseq/models/transformer.py (get_slopes_power_of_2: start = 2^(-2^-(log2 n - 3)), ratio = start) and
 * BLOOM's build_alibi_tensor (extra powers 1, 3, 5, ... of 2^(-8/(2P))), which agree;
 * ggml soft_max_ext generalises 8 to max_bias (m0 = 2^(-max_bias/P), m1 = 2^(-max_bias/(2P))).
 * variant=key_index: the authors' fairseq code and BLOOM's build_alibi_tensor add +m*j (key position
 * only), which differs from -m*(i-j) by the per-row constant m*i: equal after softmax only (catalogue
 * note 6), so suites compare that variant with compare=softmax. The bias is defined for every (i, j);
 * masking is a separate form.
 */
#include <math.h>

#include "reference.h"

/* get_slopes_power_of_2(n)[k] with the paper's 8 generalised to max_bias: 2^(-max_bias*(k+1)/n). */
static double slope_power_of_2(int64_t n, int64_t k, double max_bias)
{
    return exp2(-max_bias * (double)(k + 1) / (double)n);
}

static double alibi_slope(int64_t H, int64_t h, double max_bias)
{
    int64_t P = 1;
    while (P * 2 <= H)
        P *= 2;
    if (h < P)
        return slope_power_of_2(P, h, max_bias);
    return slope_power_of_2(2 * P, 2 * (h - P), max_bias); /* slopes(2P)[0::2][h-P] */
}

PECS_REF_HOOK_BIAS(alibi)
{
    (void)why, (void)why_len;
    double m = alibi_slope(H, h, pecs_param_real(p, "max_bias", 8.0));
    *bias = pecs_param_is(p, "variant", "key_index") ? m * kpos : -m * (qpos - kpos);
    return PECS_OK;
}
