/* impls/scalar/bias.c — bias- and mask-form kernels of the scalar backend: f32 arithmetic per element,
 * per-head constants computed once in double. */
#include <math.h>

#include "scalar.h"

SCALAR_HOOK_BIAS(alibi)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!qp || !kp || !out || out->ndim != 3)
        return PECS_INVALID;
    double max_bias = pecs_param_real(p, "max_bias", 8.0);
    int key_index = pecs_param_is(p, "variant", "key_index");
    for (int64_t h = 0; h < out->shape[0]; h++) {
        float slope = (float)impl_alibi_slope(out->shape[0], h, max_bias);
        for (int64_t i = 0; i < out->shape[1]; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < out->shape[2]; j++) {
                double kj = pecs_pos_at(kp, 0, j);
                float v = key_index ? slope * (float)kj : -slope * (float)(qi - kj);
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
        }
    }
    return PECS_OK;
}

/* The pairwise tensors every bias/mask kernel needs. */
static int pairwise(const pecs_problem *p, const pecs_tensor **qp, const pecs_tensor **kp, const pecs_tensor **out)
{
    *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"), *out = pecs_problem_tensor(p, "out");
    return *qp && *kp && *out && (*out)->ndim == 3;
}

SCALAR_HOOK_BIAS(t5)
{
    const pecs_tensor *qp, *kp, *out, *w = pecs_problem_tensor(p, "w");
    int64_t nb = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    int bidir = (int)pecs_param_int(p, "bidirectional", 1);
    if (!pairwise(p, &qp, &kp, &out) || !impl_t5_params_ok(p, w, out->shape[0]))
        return PECS_INVALID;
    for (int64_t i = 0; i < out->shape[1]; i++)
        for (int64_t j = 0; j < out->shape[2]; j++) {
            int64_t b = impl_t5_bucket((int64_t)(pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i)), bidir, nb, maxd);
            for (int64_t h = 0; h < out->shape[0]; h++)
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j),
                               pecs_load_f32(w->data, w->dtype, b * w->stride[0] + h * w->stride[1]));
        }
    return PECS_OK;
}

static pecs_status kerple(const pecs_problem *p, int power)
{
    const pecs_tensor *qp, *kp, *out;
    const pecs_param *r1 = pecs_problem_param(p, "r1"), *r2 = pecs_problem_param(p, "r2");
    if (!pairwise(p, &qp, &kp, &out) || !r1 || !r2)
        return PECS_INVALID;
    int64_t H = out->shape[0];
    if ((r1->n != 1 && r1->n != H) || (r2->n != 1 && r2->n != H))
        return PECS_INVALID;
    for (int64_t h = 0; h < H; h++) {
        float a = (float)r1->list[r1->n == 1 ? 0 : h], b = (float)r2->list[r2->n == 1 ? 0 : h];
        for (int64_t i = 0; i < out->shape[1]; i++)
            for (int64_t j = 0; j < out->shape[2]; j++) {
                double diff = pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j);
                float d = diff > 0.0 ? (float)diff : 0.0f; /* tril(i - j): keys after the query get 0 */
                float v = power ? -a * powf(d, b) : -a * log1pf(b * d);
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), v);
            }
    }
    return PECS_OK;
}

SCALAR_HOOK_BIAS(kerple_log) { return kerple(p, 0); }

SCALAR_HOOK_BIAS(kerple_power) { return kerple(p, 1); }

/* FIRE: the normalised distance in double (its log transform), the MLP in f32. */
SCALAR_HOOK_BIAS(fire)
{
    const pecs_tensor *qp, *kp, *out, *w = pecs_problem_tensor(p, "w");
    int64_t hidden = pecs_param_int(p, "hidden", 32);
    if (!pairwise(p, &qp, &kp, &out) || !w || w->shape[0] != out->shape[0] + 2 || w->shape[1] != hidden + 1)
        return PECS_INVALID;
    double c = pecs_param_real(p, "c", 0.1), eps = pecs_param_real(p, "eps", 1e-6);
    double L = fabs(pecs_param_real(p, "L_mult", 1.0) * pecs_param_real(p, "init_L", 512.0));
#define W(r, k) pecs_load_f32(w->data, w->dtype, (r) * w->stride[0] + (k) * w->stride[1])
    for (int64_t i = 0; i < out->shape[1]; i++) {
        double qi = pecs_pos_at(qp, 0, i), norm = log(fabs(c * (qi > L ? qi : L)) + 1.0) + eps;
        for (int64_t j = 0; j < out->shape[2]; j++) {
            float u = (float)(log(fabs(c * (qi - pecs_pos_at(kp, 0, j))) + 1.0) / norm);
            for (int64_t h = 0; h < out->shape[0]; h++) {
                float acc = W(2 + h, hidden);
                for (int64_t k = 0; k < hidden; k++) {
                    float a = W(0, k) * u + W(1, k);
                    acc += W(2 + h, k) * (a > 0.0f ? a : 0.0f);
                }
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), acc);
            }
        }
    }
#undef W
    return PECS_OK;
}

static pecs_status mask(const pecs_problem *p, int64_t window)
{
    const pecs_tensor *qp, *kp, *out;
    if (!pairwise(p, &qp, &kp, &out))
        return PECS_INVALID;
    for (int64_t i = 0; i < out->shape[1]; i++)
        for (int64_t j = 0; j < out->shape[2]; j++) {
            double d = pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j);
            int visible = d >= 0 && (window <= 0 || d < (double)window);
            pecs_store_f32(out->data, out->dtype, scalar_at3(out, 0, i, j), visible ? 0.0f : -INFINITY);
        }
    return PECS_OK;
}

SCALAR_HOOK_MASK(mask_causal) { return mask(p, 0); }

SCALAR_HOOK_MASK(mask_window) { return mask(p, pecs_param_int(p, "window", 4096)); }

/* ---- tier 2 ------------------------------------------------------------------------------------------- */

/* ALiBi-PI: the slope over s once per head (in double, then f32), |i - j| in f32. */
SCALAR_HOOK_BIAS(alibi_pi)
{
    const pecs_tensor *qp, *kp, *out;
    if (!pairwise(p, &qp, &kp, &out))
        return PECS_INVALID;
    double s = impl_alibi_pi_scale(p, kp->shape[0]);
    if (s == 0.0)
        return PECS_INVALID;
    for (int64_t h = 0; h < out->shape[0]; h++) {
        float slope = (float)(impl_alibi_slope(out->shape[0], h, pecs_param_real(p, "max_bias", 8.0)) / s);
        for (int64_t i = 0; i < out->shape[1]; i++)
            for (int64_t j = 0; j < out->shape[2]; j++) {
                float d = (float)fabs(pecs_pos_at(qp, 0, i) - pecs_pos_at(kp, 0, j));
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -slope * d);
            }
    }
    return PECS_OK;
}

/* MPNet: T5's bidirectional bucket rule (impls/common), read from the [num_buckets, H] table. */
SCALAR_HOOK_BIAS(mpnet)
{
    const pecs_tensor *qp, *kp, *out, *w = pecs_problem_tensor(p, "w");
    int64_t nb = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    if (!pairwise(p, &qp, &kp, &out) || !w || w->shape[0] != nb || w->shape[1] != out->shape[0] || maxd <= nb / 4)
        return PECS_INVALID;
    for (int64_t i = 0; i < out->shape[1]; i++)
        for (int64_t j = 0; j < out->shape[2]; j++) {
            int64_t b = impl_t5_bucket((int64_t)(pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i)), 1, nb, maxd);
            for (int64_t h = 0; h < out->shape[0]; h++)
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j),
                               pecs_load_f32(w->data, w->dtype, b * w->stride[0] + h * w->stride[1]));
        }
    return PECS_OK;
}

/* BAM: per-head scale, shape and offset in double (impls/common); the power of the offset distance in f32. */
SCALAR_HOOK_BIAS(bam)
{
    const pecs_tensor *qp, *kp, *out;
    if (!pairwise(p, &qp, &kp, &out))
        return PECS_INVALID;
    int64_t H = out->shape[0];
    if (!impl_bam_params_ok(p, H))
        return PECS_INVALID;
    float eps = (float)pecs_param_real(p, "eps", 1e-5);
    for (int64_t h = 0; h < H; h++) {
        float scale, beta, off;
        impl_bam_head(p, H, h, &scale, &beta, &off);
        for (int64_t i = 0; i < out->shape[1]; i++)
            for (int64_t j = 0; j < out->shape[2]; j++) {
                float b = (float)(pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i)) - off;
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -powf(fabsf(b) + eps, beta) * scale);
            }
    }
    return PECS_OK;
}

/* MaSA: the per-head decay log(1 - 2^-(a + b h/H)) in double once, the Manhattan distance exact. */
SCALAR_HOOK_BIAS(masa)
{
    const pecs_tensor *qp, *kp, *out;
    if (!pairwise(p, &qp, &kp, &out))
        return PECS_INVALID;
    double W = (double)pecs_param_int(p, "width", 14);
    int64_t H = out->shape[0];
    for (int64_t h = 0; h < H; h++) {
        float decay = (float)impl_masa_decay(p, H, h);
        for (int64_t i = 0; i < out->shape[1]; i++) {
            double yq, xq;
            impl_grid_rc(pecs_pos_at(qp, 0, i), W, &yq, &xq);
            for (int64_t j = 0; j < out->shape[2]; j++) {
                double yk, xk;
                impl_grid_rc(pecs_pos_at(kp, 0, j), W, &yk, &xk);
                float d = (float)(fabs(yq - yk) + fabs(xq - xk));
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), d * decay);
            }
        }
    }
    return PECS_OK;
}

/* iRPE: the bucket rule of impls/common (float32 piecewise index, round half to even), table [H, nb]. */
SCALAR_HOOK_BIAS(irpe)
{
    const pecs_tensor *qp, *kp, *out, *w = pecs_problem_tensor(p, "w");
    impl_irpe c;
    if (!pairwise(p, &qp, &kp, &out) || !impl_irpe_init(p, w, out->shape[0], &c))
        return PECS_INVALID;
    for (int64_t i = 0; i < out->shape[1]; i++)
        for (int64_t j = 0; j < out->shape[2]; j++) {
            int64_t b = impl_irpe_bucket(&c, pecs_pos_at(qp, 0, i), pecs_pos_at(kp, 0, j));
            for (int64_t h = 0; h < out->shape[0]; h++)
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j),
                               pecs_load_f32(w->data, w->dtype, h * w->stride[0] + b * w->stride[1]));
        }
    return PECS_OK;
}

/* Positional attention: Q_h(p) = w[p] + w[n] over head h's q columns, K_h the k columns after them, dotted in f32. A
 * position that is not a row of the one-hot eye(n) (an integer in [0, n)) is refused before anything is written. */
SCALAR_HOOK_BIAS(positional_attention)
{
    const pecs_tensor *qp, *kp, *out, *w = pecs_problem_tensor(p, "w");
    int64_t n = pecs_param_int(p, "pos_dim", 9);
    if (!pairwise(p, &qp, &kp, &out) || !w || w->ndim != 2 || w->shape[0] != n + 1 || w->shape[1] != 2 * n * out->shape[0])
        return PECS_INVALID;
    for (int64_t i = 0; i < qp->shape[0] + kp->shape[0]; i++) {
        double v = i < qp->shape[0] ? pecs_pos_at(qp, 0, i) : pecs_pos_at(kp, 0, i - qp->shape[0]);
        if (!(v == floor(v) && v >= 0.0 && v < (double)n))
            return PECS_INVALID;
    }
    float scale = (float)(1.0 / sqrt((double)n));
#define W(r, col) pecs_load_f32(w->data, w->dtype, (r) * w->stride[0] + (col) * w->stride[1])
    for (int64_t h = 0; h < out->shape[0]; h++)
        for (int64_t i = 0; i < out->shape[1]; i++) {
            int64_t rq = (int64_t)pecs_pos_at(qp, 0, i), q0 = 2 * n * h, k0 = q0 + n;
            for (int64_t j = 0; j < out->shape[2]; j++) {
                int64_t rk = (int64_t)pecs_pos_at(kp, 0, j);
                float acc = 0.0f;
                for (int64_t c = 0; c < n; c++)
                    acc += (W(rq, q0 + c) + W(n, q0 + c)) * (W(rk, k0 + c) + W(n, k0 + c));
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), acc * scale);
            }
        }
#undef W
    return PECS_OK;
}
