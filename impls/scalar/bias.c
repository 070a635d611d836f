/* impls/scalar/bias.c — bias-form kernels of the scalar backend. */
#include <math.h>

#include "scalar.h"

/* ggml soft_max_ext slopes, in double: m0^(h+1) below n_head_log2, m1^(2(h-n_head_log2)+1) above. */
static double alibi_slope(int64_t n_head, int64_t h, double max_bias)
{
    int64_t n_head_log2 = (int64_t)1 << (int64_t)floor(log2((double)n_head));
    double m0 = exp2(-max_bias / (double)n_head_log2), m1 = exp2(-max_bias / 2.0 / (double)n_head_log2);
    return h < n_head_log2 ? pow(m0, (double)(h + 1)) : pow(m1, (double)(2 * (h - n_head_log2) + 1));
}

SCALAR_HOOK_BIAS(alibi)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!qp || !kp || !out || out->ndim != 3)
        return PECS_INVALID;
    double max_bias = pecs_param_real(p, "max_bias", 8.0);
    for (int64_t h = 0; h < out->shape[0]; h++) {
        float slope = (float)alibi_slope(out->shape[0], h, max_bias);
        for (int64_t i = 0; i < out->shape[1]; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < out->shape[2]; j++) {
                float dist = (float)(qi - pecs_pos_at(kp, 0, j));
                pecs_store_f32(out->data, out->dtype, h * out->stride[0] + i * out->stride[1] + j * out->stride[2],
                               -slope * dist);
            }
        }
    }
    return PECS_OK;
}
