/* reference/rope_yarn.c — YaRN: NTK-by-parts interpolation plus attention temperature.
 *
 * Sources checked:
 *   Peng et al., "YaRN: Efficient Context Window Extension of Large Language Models" (arXiv 2309.00071),
 *     sec. 3.2 (NTK-by-parts: ramp gamma(r) with r = L / lambda_d, alpha = 1, beta = 32) and
 *     sec. 3.4 (sqrt(1/t) = 0.1 ln(s) + 1 applied to q and k, i.e. to cos and sin);
 *   HuggingFace transformers modeling_rope_utils._compute_yarn_parameters (find_correction_dim,
 *     find_correction_range with floor/ceil and clamp to [0, dim-1], linear_ramp_factor with +0.001 when
 *     min == max, inv_freq = interp * (1 - extrap_w) + extrap * extrap_w, get_mscale);
 *   ggml rope_yarn / ggml_rope_yarn_corr_dims (same bounds; equal for integer low < high);
 *   re-read 2026-11 through public copies of vLLM's rotary embedding (_yarn_find_correction_dim,
 *     _yarn_find_correction_range: floor/ceil then max(low,0), min(high,dim-1); _yarn_linear_ramp_mask:
 *     +0.001 when equal, clamp((arange(dim)-low)/(high-low), 0, 1); _yarn_get_mscale: 0.1*m*ln(s)+1 for
 *     s > 1) — identical to the HF functions above.
 * Conventions fixed here (parameters in include/pecs/encodings.def):
 *   corr(n)  = R * ln(L / (n * 2 pi)) / (2 ln base)      L = original_max_position
 *   low      = max(floor(corr(beta_fast)), 0),   high = min(ceil(corr(beta_slow)), R - 1)
 *   ramp(i)  = clamp((i - low) / (high - low), 0, 1) for pair index i = 0..R/2-1   (high += 0.001 if equal)
 *   inv[i]   = (1/(s b^(2i/R))) * ramp(i) + (1/b^(2i/R)) * (1 - ramp(i))
 *   attn     = get_mscale(s, mscale) = 0.1 * mscale * ln(s) + 1 for s > 1, else 1
 *              (HF calls get_mscale(s) with m = 1 unless mscale_all_dim is set: a config without
 *              mscale_all_dim corresponds to mscale = 1 here);
 *   mscale_all_dim > 0 (DeepSeek-V2/V3, HF _compute_yarn_parameters + DeepseekV3Attention):
 *              attn = get_mscale(s, mscale) / get_mscale(s, mscale_all_dim) on cos/sin, and the model
 *              multiplies its softmax scale by get_mscale(s, mscale_all_dim)^2 (softmax_scale here;
 *              DeepSeek's own model.py: softmax_scale *= mscale * mscale, cos/sin unscaled);
 *   attention_factor > 0 overrides attn (HF rope_scaling["attention_factor"]);
 *   truncate = false skips the floor/ceil of the correction range (HF v5 `truncate`);
 *   corr_length picks L: original_max_position (HF today, the paper) or max_position (HF releases that
 *              read config.max_position_embeddings there: a real behavioural difference between
 *              versions, so it is an explicit parameter rather than a silent choice).
 * Re-checked 2026-11-22 with the search tool against public copies of HF modeling_rope_utils (v4.4x and
 * a v5 copy with `truncate`) and DeepSeek-V3 inference/model.py (precompute_freqs_cis, softmax_scale).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static double yarn_corr_dim(double n_rot, int64_t R, double L, double base)
{
    return (double)R * log(L / (n_rot * 2.0 * PECS_PI)) / (2.0 * log(base));
}

static double get_mscale(double s, double m) { return s <= 1.0 ? 1.0 : 0.1 * m * log(s) + 1.0; }

PECS_REF_HOOK_ROTATE(rope_yarn)
{
    int64_t R = sched->R;
    double base = pecs_param_real(p, "base", 10000.0);
    double s = pecs_param_real(p, "factor", 1.0);
    double original = (double)pecs_param_int(p, "original_max_position", 4096);
    double max_position = (double)pecs_param_int(p, "max_position", 0);
    double L = pecs_param_is(p, "corr_length", "max") ? (max_position > 0 ? max_position : s * original) : original;
    double beta_fast = pecs_param_real(p, "beta_fast", 32.0);
    double beta_slow = pecs_param_real(p, "beta_slow", 1.0);
    double mscale = pecs_param_real(p, "mscale", 1.0), mscale_all_dim = pecs_param_real(p, "mscale_all_dim", 0.0);
    double attention_factor = pecs_param_real(p, "attention_factor", 0.0);
    int truncate = (int)pecs_param_int(p, "truncate", 1);
    if (beta_fast < beta_slow) {
        snprintf(why, why_len, "rope.yarn needs beta_fast >= beta_slow, got beta_fast=%g beta_slow=%g", beta_fast,
                 beta_slow);
        return PECS_INVALID;
    }
    double low = yarn_corr_dim(beta_fast, R, L, base), high = yarn_corr_dim(beta_slow, R, L, base);
    if (truncate) {
        low = floor(low);
        high = ceil(high);
    }
    low = fmax(low, 0.0);
    high = fmin(high, (double)(R - 1));
    if (low == high)
        high += 0.001;
    for (int64_t i = 0; i < R / 2; i++) {
        double pos_freq = pow(base, (double)(2 * i) / (double)R);
        double extrapolation = 1.0 / pos_freq;
        double interpolation = 1.0 / (s * pos_freq);
        double ramp = fmin(fmax(((double)i - low) / (high - low), 0.0), 1.0);
        sched->inv_freq[i] = interpolation * ramp + extrapolation * (1.0 - ramp);
    }
    if (mscale_all_dim > 0.0) {
        sched->attn = get_mscale(s, mscale) / get_mscale(s, mscale_all_dim);
        sched->softmax_scale = get_mscale(s, mscale_all_dim) * get_mscale(s, mscale_all_dim);
    } else {
        sched->attn = get_mscale(s, mscale);
    }
    if (attention_factor > 0.0)
        sched->attn = attention_factor;
    return PECS_OK;
}
