/* kernels.c — RoPE and ALiBi for f32 storage, written from the contracts in <pecs/backend.h> and
 * `pecs describe rope` / `pecs describe alibi` alone: angles and slopes in double, one rounding to f32. */
#include <math.h>
#include <stdlib.h>

#include "kernels.h"

/* Element offset of (i0, i1, i2) in a 3-D view: strides are in elements and must always be used. */
static int64_t at3(const pecs_tensor *t, int64_t i0, int64_t i1, int64_t i2)
{
    return i0 * t->stride[0] + i1 * t->stride[1] + i2 * t->stride[2];
}

pecs_status vendor_rope_f32(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!x || !pos || !out || x->ndim != 3 || out->ndim != 3)
        return PECS_INVALID;
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], R = pecs_param_int(p, "rotary_dim", 0);
    if (R == 0)
        R = D; /* 0 means the whole head */
    if (R < 2 || R > D || R % 2)
        return PECS_INVALID;
    double base = pecs_param_real(p, "base", 10000.0), attn = pecs_param_real(p, "attn_factor", 1.0);
    const pecs_param *ff = pecs_problem_param(p, "freq_factors"); /* n == 0: none */
    if (ff && ff->n > 0 && ff->n != R / 2)
        return PECS_INVALID;
    int half = pecs_param_is(p, "pairing", "half");
    double *inv_freq = malloc((size_t)(R / 2) * sizeof *inv_freq);
    if (!inv_freq)
        return PECS_NOMEM;
    for (int64_t i = 0; i < R / 2; i++)
        inv_freq[i] = pow(base, -2.0 * (double)i / (double)R) / (ff && ff->n > 0 ? ff->list[i] : 1.0);
    const float *xd = x->data;
    float *od = out->data;
    for (int64_t t = 0; t < T; t++) {
        double m = pecs_pos_at(pos, 0, t); /* i32, i64 or f64 positions alike */
        for (int64_t h = 0; h < H; h++) {
            for (int64_t i = 0; i < R / 2; i++) {
                double c = cos(m * inv_freq[i]) * attn, s = sin(m * inv_freq[i]) * attn;
                int64_t a = half ? i : 2 * i, b = half ? i + R / 2 : 2 * i + 1;
                double xa = xd[at3(x, t, h, a)], xb = xd[at3(x, t, h, b)]; /* both read before either is written */
                od[at3(out, t, h, a)] = (float)(xa * c - xb * s);
                od[at3(out, t, h, b)] = (float)(xa * s + xb * c);
            }
            for (int64_t d = R; d < D; d++) /* partial rotary: the tail is copied through */
                od[at3(out, t, h, d)] = xd[at3(x, t, h, d)];
        }
    }
    free(inv_freq);
    return PECS_OK;
}

/* ALiBi slopes (Press et al.): 2^(-max_bias (k+1)/P) for the first P = 2^floor(log2 H) heads, then every
 * other slope of 2P heads. */
static double alibi_slope(int64_t H, int64_t h, double max_bias)
{
    int64_t P = 1;
    while (P * 2 <= H)
        P *= 2;
    return h < P ? exp2(-max_bias * (double)(h + 1) / (double)P) : exp2(-max_bias * (double)(2 * (h - P) + 1) / (double)(2 * P));
}

pecs_status vendor_alibi_f32(const pecs_problem *p)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!qp || !kp || !out || out->ndim != 3)
        return PECS_INVALID;
    double max_bias = pecs_param_real(p, "max_bias", 8.0);
    int key_index = pecs_param_is(p, "variant", "key_index"); /* +m*j (BLOOM, fairseq) instead of -m*(i-j) */
    float *od = out->data;
    for (int64_t h = 0; h < out->shape[0]; h++) {
        double m = alibi_slope(out->shape[0], h, max_bias);
        for (int64_t i = 0; i < out->shape[1]; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < out->shape[2]; j++) {
                double kj = pecs_pos_at(kp, 0, j);
                od[at3(out, h, i, j)] = (float)(key_index ? m * kj : -m * (qi - kj));
            }
        }
    }
    return PECS_OK;
}
