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
 *   attn     = 0.1 * mscale * ln(s) + 1 for s > 1, else 1   (HF get_mscale(s, mscale))
 * The DeepSeek form (mscale / mscale_all_dim on the softmax scale) and the `truncate` flag belong to the
 * T1 completion issue.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static double yarn_corr_dim(double n_rot, int64_t R, double L, double base)
{
    return (double)R * log(L / (n_rot * 2.0 * PECS_PI)) / (2.0 * log(base));
}

PECS_REF_HOOK_ROTATE(rope_yarn)
{
    double base = pecs_param_real(p, "base", 10000.0);
    double s = pecs_param_real(p, "factor", 1.0);
    double L = (double)pecs_param_int(p, "original_max_position", 4096);
    double beta_fast = pecs_param_real(p, "beta_fast", 32.0);
    double beta_slow = pecs_param_real(p, "beta_slow", 1.0);
    double mscale = pecs_param_real(p, "mscale", 1.0);
    if (beta_fast < beta_slow) {
        snprintf(why, why_len, "rope.yarn needs beta_fast >= beta_slow, got beta_fast=%g beta_slow=%g", beta_fast,
                 beta_slow);
        return PECS_INVALID;
    }
    double low = fmax(floor(yarn_corr_dim(beta_fast, R, L, base)), 0.0);
    double high = fmin(ceil(yarn_corr_dim(beta_slow, R, L, base)), (double)(R - 1));
    if (low == high)
        high += 0.001;
    for (int64_t i = 0; i < R / 2; i++) {
        double pos_freq = pow(base, (double)(2 * i) / (double)R);
        double extrapolation = 1.0 / pos_freq;
        double interpolation = 1.0 / (s * pos_freq);
        double ramp = fmin(fmax(((double)i - low) / (high - low), 0.0), 1.0);
        inv_freq[i] = interpolation * ramp + extrapolation * (1.0 - ramp);
    }
    *attn = s > 1.0 ? 0.1 * mscale * log(s) + 1.0 : 1.0;
    return PECS_OK;
}
