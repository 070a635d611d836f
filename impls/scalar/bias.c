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
    double factor = pecs_param_real(p, "factor", 0.0), s = 1.0;
    int64_t train = pecs_param_int(p, "train_seq_len", 0), L = pecs_param_int(p, "key_len", 0);
    if ((factor != 0.0 && factor <= 1.0) || train == 1)
        return PECS_INVALID;
    if (L == 0)
        L = kp->shape[0];
    if (factor > 0.0)
        s = factor;
    else if (train > 0 && L > train)
        s = (double)L / (double)train;
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

/* One value of a REAL_LIST parameter given once or per head. */
static double per_head(const pecs_param *l, int64_t h, double dflt)
{
    return !l || l->n == 0 ? dflt : l->list[l->n == 1 ? 0 : h];
}

static int list_ok(const pecs_param *l, int64_t H) { return !l || l->n == 0 || l->n == 1 || l->n == H; }

/* BAM: per-head scale, shape and offset in double; the power of the offset distance in f32. */
SCALAR_HOOK_BIAS(bam)
{
    const pecs_tensor *qp, *kp, *out;
    const pecs_param *al = pecs_problem_param(p, "theta_alpha"), *be = pecs_problem_param(p, "theta_beta"),
                     *mu = pecs_problem_param(p, "theta_mu");
    if (!pairwise(p, &qp, &kp, &out))
        return PECS_INVALID;
    int64_t H = out->shape[0];
    if (!list_ok(al, H) || !list_ok(be, H) || !list_ok(mu, H))
        return PECS_INVALID;
    float eps = (float)pecs_param_real(p, "eps", 1e-5);
    for (int64_t h = 0; h < H; h++) {
        double t = per_head(mu, h, 0.0);
        float scale = (float)exp(per_head(al, h, impl_alibi_slope(H, h, 8.0))), beta = (float)per_head(be, h, 1.0);
        float off = (float)(exp(t) - exp(-t));
        for (int64_t i = 0; i < out->shape[1]; i++)
            for (int64_t j = 0; j < out->shape[2]; j++) {
                float b = (float)(pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i)) - off;
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), -powf(fabsf(b) + eps, beta) * scale);
            }
    }
    return PECS_OK;
}

/* Raster index -> (row, column) on a grid W wide (floor division, so negative indices stay on the grid). */
static void grid_rc(double pos, double W, double *y, double *x)
{
    *y = floor(pos / W);
    *x = pos - W * *y;
}

/* MaSA: the per-head decay log(1 - 2^-(a + b h/H)) in double once, the Manhattan distance exact. */
SCALAR_HOOK_BIAS(masa)
{
    const pecs_tensor *qp, *kp, *out;
    if (!pairwise(p, &qp, &kp, &out))
        return PECS_INVALID;
    double a = pecs_param_real(p, "initial_value", 2.0), b = pecs_param_real(p, "heads_range", 4.0);
    double W = (double)pecs_param_int(p, "width", 14);
    int64_t H = out->shape[0];
    for (int64_t h = 0; h < H; h++) {
        float decay = (float)log1p(-exp2(-(a + b * (double)h / (double)H)));
        for (int64_t i = 0; i < out->shape[1]; i++) {
            double yq, xq;
            grid_rc(pecs_pos_at(qp, 0, i), W, &yq, &xq);
            for (int64_t j = 0; j < out->shape[2]; j++) {
                double yk, xk;
                grid_rc(pecs_pos_at(kp, 0, j), W, &yk, &xk);
                float d = (float)(fabs(yq - yk) + fabs(xq - xk));
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), d * decay);
            }
        }
    }
    return PECS_OK;
}

/* iRPE's piecewise index in float32, as the authors' torch code computes it (round half to even). */
static int64_t irpe_index(double x, float alpha, float beta, float log_ratio, float span)
{
    float ax = (float)fabs(x);
    if (ax <= alpha)
        return (int64_t)x;
    float v = fminf(rintf(alpha + logf(ax / alpha) / log_ratio * span), beta);
    return (int64_t)(x < 0 ? -v : v);
}

SCALAR_HOOK_BIAS(irpe)
{
    const pecs_tensor *qp, *kp, *out, *w = pecs_problem_tensor(p, "w");
    if (!pairwise(p, &qp, &kp, &out) || !w)
        return PECS_INVALID;
    double alpha = pecs_param_real(p, "alpha", 1.9), beta = pecs_param_real(p, "beta", 3.8);
    double gamma = pecs_param_real(p, "gamma", 15.2), W = (double)pecs_param_int(p, "width", 14);
    int64_t B = (int64_t)beta, nb = pecs_param_int(p, "num_buckets", 49);
    int method = pecs_param_is(p, "method", "product") ? 0 : pecs_param_is(p, "method", "euclidean") ? 1 : 2;
    if (!(gamma > alpha) || alpha > beta || nb != (method == 0 ? (2 * B + 1) * (2 * B + 1) : 2 * B + 1) ||
        w->shape[0] != out->shape[0] || w->shape[1] != nb)
        return PECS_INVALID;
    /* Division by ln(gamma/alpha) as a float32 divide, like the model: a reciprocal would move boundaries. */
    float fa = (float)alpha, fb = (float)beta, lr = (float)log(gamma / alpha), span = (float)(beta - alpha);
    for (int64_t i = 0; i < out->shape[1]; i++) {
        double yq, xq;
        grid_rc(pecs_pos_at(qp, 0, i), W, &yq, &xq);
        for (int64_t j = 0; j < out->shape[2]; j++) {
            double yk, xk;
            grid_rc(pecs_pos_at(kp, 0, j), W, &yk, &xk);
            double dy = yq - yk, dx = xq - xk, q = dy * dy + dx * dx;
            int64_t b;
            if (method == 0)
                b = (irpe_index(dy, fa, fb, lr, span) + B) * (2 * B + 1) + irpe_index(dx, fa, fb, lr, span) + B;
            else
                b = irpe_index(method == 1 ? (double)rintf(sqrtf((float)q)) : q, fa, fb, lr, span) + B;
            for (int64_t h = 0; h < out->shape[0]; h++)
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j),
                               pecs_load_f32(w->data, w->dtype, h * w->stride[0] + b * w->stride[1]));
        }
    }
    return PECS_OK;
}
