/* reference/irpe.c — iRPE, image relative position encoding, bias mode (2-D piecewise buckets + a table).
 *
 * Sources checked: Wu, Peng, Chen, Fu, Chao 2021, "Rethinking and Improving Relative Position Encoding for
 * Vision Transformer" (ICCV), eq. 18 (piecewise index) and sec. 3.3 (Euclidean, Quantization, Cross, Product
 * methods); the authors' code microsoft/Cream iRPE (DeiT-with-iRPE/irpe.py, read 2026-12-05 through the
 * search tool in verbatim public copies): piecewise_index, _rp_2d_euclidean / _quant / _product,
 * get_bucket_ids_2d_without_skip, get_num_buckets, get_single_rpe_config, iRPE.forward_rpe_transpose:
 *     diff = pos[query] - pos[key]     (row, col) offsets, pos = get_absolute_positions (row-major grid)
 *     g(x) = x                                           |x| <= alpha   (float x: round(x))
 *          = sign(x) * min(round(alpha + ln(|x|/alpha) / ln(gamma/alpha) * (beta - alpha)), beta)   else
 *            converted to an integer (.to(long): truncation, so min(.., 3.8) becomes 3 = int(beta))
 *     product:   bucket = (g(dy) + B) * (2B + 1) + (g(dx) + B)              B = int(beta)
 *     euclidean: bucket = g(round(sqrt(dy^2 + dx^2))) + B
 *     quant:     bucket = g(dy^2 + dx^2) + B
 *     bias[h][i][j] = lookup_table_bias[h][bucket]                  (tensor "w" [H, num_buckets])
 * num_buckets = (2B+1)^2 for product, 2B+1 otherwise (the code asserts it). Config defaults: alpha = ratio,
 * beta = 2 ratio, gamma = 8 ratio with ratio 1.9. torch.round is round-half-to-even: rint(), not round().
 * The index is an integer chosen by a float computation; as in reference/t5.c it follows the model's
 * float32 sequence (the position differences are integer tensors divided by a Python float: float32; the
 * Python scalars ln(gamma/alpha), beta - alpha, alpha and beta rounded to float32), so boundaries land where
 * the model puts them. Positions are raster indices p = y*width + x; (y, x) = (floor(p/width), p mod width).
 * Not represented: the class token (skip > 0: one extra bucket for every pair involving it), the Cross
 * method (a sum of a row table and a column table: two lookups), and the contextual mode (q . table[bucket],
 * a content-dependent score, not a bias).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* The piecewise index of one (integral or rounded) offset x, in the model's float32 arithmetic. */
static int64_t piecewise(double x, double alpha, double beta, double gamma)
{
    double ax = fabs(x);
    if ((float)ax <= (float)alpha)
        return (int64_t)x;
    float v = (float)alpha + logf((float)ax / (float)alpha) / (float)log(gamma / alpha) * (float)(beta - alpha);
    v = fminf(rintf(v), (float)beta);
    return (int64_t)(x < 0 ? -v : v);
}

PECS_REF_HOOK_BIAS(irpe)
{
    double alpha = pecs_param_real(p, "alpha", 1.9), beta = pecs_param_real(p, "beta", 3.8);
    double gamma = pecs_param_real(p, "gamma", 15.2), W = (double)pecs_param_int(p, "width", 14);
    int64_t B = (int64_t)beta, nb = pecs_param_int(p, "num_buckets", 49);
    int product = pecs_param_is(p, "method", "product");
    int64_t want = product ? (2 * B + 1) * (2 * B + 1) : 2 * B + 1;
    if (!(gamma > alpha)) {
        snprintf(why, why_len, "irpe needs gamma > alpha (ln(gamma/alpha) divides), got alpha %g gamma %g", alpha, gamma);
        return PECS_INVALID;
    }
    if (alpha > beta) { /* |x| <= alpha keeps x itself: an index beyond int(beta) would leave the table */
        snprintf(why, why_len, "irpe needs alpha <= beta (offsets up to alpha index themselves), got alpha %g beta %g",
                 alpha, beta);
        return PECS_INVALID;
    }
    if (nb != want) {
        snprintf(why, why_len, "irpe %s with beta %g has %lld buckets (get_num_buckets): set num_buckets: %lld, got %lld",
                 product ? "product" : pecs_param_is(p, "method", "euclidean") ? "euclidean" : "quant", beta,
                 (long long)want, (long long)want, (long long)nb);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, H, nb, why, why_len);
    if (!w)
        return PECS_INVALID;
    double yq = floor(qpos / W), yk = floor(kpos / W);
    double dy = yq - yk, dx = (qpos - W * yq) - (kpos - W * yk);
    int64_t b;
    if (product)
        b = (piecewise(dy, alpha, beta, gamma) + B) * (2 * B + 1) + piecewise(dx, alpha, beta, gamma) + B;
    else if (pecs_param_is(p, "method", "euclidean"))
        b = piecewise((double)rintf(sqrtf((float)(dy * dy + dx * dx))), alpha, beta, gamma) + B;
    else
        b = piecewise(dy * dy + dx * dx, alpha, beta, gamma) + B;
    *bias = ((const double *)w->data)[h * w->stride[0] + b * w->stride[1]];
    return PECS_OK;
}
