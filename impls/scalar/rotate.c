/* impls/scalar/rotate.c — the rotate kernel and the frequency schedules of the scalar backend.
 *
 * cos/sin are computed once per token (shared by all heads) from a double angle pos*inv_freq and
 * rounded to f32; the pair rotation itself is f32 arithmetic on values loaded from storage.
 */
#include <math.h>
#include <stdlib.h>

#include "scalar.h"

pecs_status scalar_rotate(const pecs_problem *p, scalar_schedule_fn schedule)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!x || !pos || !out || x->ndim != 3)
        return PECS_INVALID;
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2];
    int64_t R = pecs_param_int(p, "rotary_dim", 0);
    if (R == 0)
        R = D;
    if (R < 2 || R % 2 || R > D)
        return PECS_INVALID;
    int64_t n = R / 2;
    pecs_status st = PECS_OK;
    double *inv_freq = malloc((size_t)n * sizeof *inv_freq);
    float *cs = malloc((size_t)n * 2 * sizeof *cs);
    if (!inv_freq || !cs) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    double attn = 1.0;
    st = schedule(p, R, inv_freq, &attn);
    if (st != PECS_OK)
        goto cleanup;
    const pecs_param *ff = pecs_problem_param(p, "freq_factors");
    if (ff && ff->n > 0) {
        if (ff->n != n) {
            st = PECS_INVALID;
            goto cleanup;
        }
        for (int64_t i = 0; i < n; i++)
            inv_freq[i] /= ff->list[i];
    }
    attn *= pecs_param_real(p, "attn_factor", 1.0);
    int half = pecs_param_is(p, "pairing", "half");
    int64_t da = half ? 1 : 2, db = half ? n : 1; /* lane of pair i: a = i*da, b = a + db */
    for (int64_t t = 0; t < T; t++) {
        double m = pecs_pos_at(pos, 0, t);
        for (int64_t i = 0; i < n; i++) {
            double a = m * inv_freq[i];
            cs[2 * i] = (float)(cos(a) * attn);
            cs[2 * i + 1] = (float)(sin(a) * attn);
        }
        for (int64_t h = 0; h < H; h++) {
            int64_t xo = t * x->stride[0] + h * x->stride[1], oo = t * out->stride[0] + h * out->stride[1];
            int64_t xs = x->stride[2], os = out->stride[2];
            for (int64_t i = 0; i < n; i++) {
                int64_t a = i * da, b = a + db;
                float x0 = pecs_load_f32(x->data, x->dtype, xo + a * xs);
                float x1 = pecs_load_f32(x->data, x->dtype, xo + b * xs);
                float c = cs[2 * i], s = cs[2 * i + 1];
                pecs_store_f32(out->data, out->dtype, oo + a * os, x0 * c - x1 * s);
                pecs_store_f32(out->data, out->dtype, oo + b * os, x0 * s + x1 * c);
            }
            if (!p->in_place)
                for (int64_t d = R; d < D; d++)
                    pecs_store_f32(out->data, out->dtype, oo + d * os, pecs_load_f32(x->data, x->dtype, xo + d * xs));
        }
    }
cleanup:
    free(inv_freq);
    free(cs);
    return st;
}

/* inv_freq[i] = base^(-2i/R), built by repeated multiplication with theta_scale (as ggml does). */
static void default_freqs(double base, int64_t R, double *inv_freq)
{
    double theta_scale = pow(base, -2.0 / (double)R), theta = 1.0;
    for (int64_t i = 0; i < R / 2; i++, theta *= theta_scale)
        inv_freq[i] = theta;
}

SCALAR_HOOK_ROTATE(rope)
{
    default_freqs(pecs_param_real(p, "base", 10000.0), R, inv_freq);
    *attn = 1.0;
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_linear)
{
    double freq_scale = 1.0 / pecs_param_real(p, "factor", 1.0);
    default_freqs(pecs_param_real(p, "base", 10000.0), R, inv_freq);
    for (int64_t i = 0; i < R / 2; i++)
        inv_freq[i] *= freq_scale;
    *attn = 1.0;
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_ntk)
{
    if (R <= 2)
        return PECS_INVALID;
    double base = pecs_param_real(p, "base", 10000.0) * pow(pecs_param_real(p, "factor", 1.0), (double)R / (R - 2.0));
    default_freqs(base, R, inv_freq);
    *attn = 1.0;
    return PECS_OK;
}

/* ggml_rope_yarn_corr_dim */
static double yarn_corr_dim(int64_t n_dims, int64_t n_ctx_orig, double n_rot, double base)
{
    return (double)n_dims * log((double)n_ctx_orig / (n_rot * 2.0 * 3.14159265358979323846)) / (2.0 * log(base));
}

SCALAR_HOOK_ROTATE(rope_yarn)
{
    double base = pecs_param_real(p, "base", 10000.0);
    double freq_scale = 1.0 / pecs_param_real(p, "factor", 1.0);
    int64_t n_ctx_orig = pecs_param_int(p, "original_max_position", 4096);
    double beta_fast = pecs_param_real(p, "beta_fast", 32.0), beta_slow = pecs_param_real(p, "beta_slow", 1.0);
    if (beta_fast < beta_slow)
        return PECS_INVALID;
    double lo = floor(yarn_corr_dim(R, n_ctx_orig, beta_fast, base));
    double hi = ceil(yarn_corr_dim(R, n_ctx_orig, beta_slow, base));
    lo = lo > 0.0 ? lo : 0.0;
    hi = hi < (double)(R - 1) ? hi : (double)(R - 1);
    default_freqs(base, R, inv_freq);
    for (int64_t i = 0; i < R / 2; i++) {
        double y = ((double)i - lo) / (hi - lo > 0.001 ? hi - lo : 0.001);
        double ramp_mix = 1.0 - (y < 0.0 ? 0.0 : y > 1.0 ? 1.0 : y); /* 1 = extrapolate */
        double theta_extrap = inv_freq[i], theta_interp = freq_scale * theta_extrap;
        inv_freq[i] = theta_interp * (1.0 - ramp_mix) + theta_extrap * ramp_mix;
    }
    *attn = 1.0 + 0.1 * pecs_param_real(p, "mscale", 1.0) * log(1.0 / freq_scale);
    return PECS_OK;
}
