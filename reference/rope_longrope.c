/* reference/rope_longrope.c — LongRoPE (Phi-3 long-context scaling).
 *
 * Sources checked: Ding et al. 2024, "LongRoPE" (rescale factors lambda_i per frequency found by search);
 * HuggingFace transformers modeling_rope_utils._compute_longrope_parameters:
 *     factor = max_position_embeddings / original_max_position_embeddings   (when the original is given)
 *     attention_factor = sqrt(1 + ln(factor) / ln(original)) if factor > 1 else 1  (unless configured)
 *     ext = long_factor if seq_len > original_max_position_embeddings else short_factor   (strict >)
 *     inv_freq[i] = 1 / (ext[i] * base^(2i/R))
 * The attention factor applies at every position, also with the short factors (catalogue note 5).
 * Empty factor lists mean all ones here (so tiny shapes need no 48-value lists). The paper's n-hat
 * (initial tokens left un-interpolated) is not in HF's code and not modelled.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_longrope)
{
    int64_t R = sched->R;
    double original = (double)pecs_param_int(p, "original_max_position", 4096);
    double max_position = (double)pecs_param_int(p, "max_position", 0);
    double s = pecs_param_real(p, "factor", 0.0), af = pecs_param_real(p, "attention_factor", 0.0);
    if (s <= 0.0)
        s = max_position > 0.0 ? max_position / original : 1.0;
    const char *which = sched->seq_len > original ? "long_factor" : "short_factor";
    const pecs_param *ext = pecs_problem_param(p, which);
    if (ext && ext->n > 0 && !pecs_ref_list_len_ok(p, which, R / 2, 0, why, why_len))
        return PECS_INVALID;
    for (int64_t i = 0; i < R / 2; i++) {
        double lambda = ext && ext->n > 0 ? ext->list[i] : 1.0;
        sched->inv_freq[i] = 1.0 / (lambda * pow(pecs_param_real(p, "base", 10000.0), (double)(2 * i) / (double)R));
    }
    sched->attn = af > 0.0 ? af : s > 1.0 ? sqrt(1.0 + log(s) / log(original)) : 1.0;
    return PECS_OK;
}
