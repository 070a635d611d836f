/* reference/masa.c — MaSA, the Manhattan-distance decay of RMT (Retentive Networks Meet Vision Transformers).
 *
 * Sources checked: Fan, Huang, Chen, He 2024, "RMT: Retentive Networks Meet Vision Transformers" (CVPR),
 * sec. 3 (Manhattan Self-Attention: D_nm = gamma^(|x_n - x_m| + |y_n - y_m|) multiplying the scores); the
 * authors' code qhfan/RMT classfication_release/RMT.py, class RetNetRelPos2d (several verbatim public copies
 * read 2026-12-05 through the search tool):
 *     decay[h] = log(1 - 2 ** (-initial_value - heads_range * h / num_heads))       h = 0..H-1
 *     grid = meshgrid(arange(H_img), arange(W_img)) flattened row-major      token l = (l // W, l % W)
 *     mask[h][n][m] = (|y_n - y_m| + |x_n - x_m|) * decay[h]
 * added to the logits before the softmax (log of the multiplicative decay). Here positions are the raster
 * indices l = y*width + x the flattening gives, and (y, x) = (floor(l/width), l - width*floor(l/width))
 * (floor, so negative indices extend the grid upwards consistently). The decomposed (chunkwise_recurrent)
 * stages attend along each row with |dx| * decay, take the softmax, then along each column with |dy| * decay:
 * two attentions, not one bias over the image, so they are not a row of this form. Computed in double,
 * log(1 - 2^-x) as log1p(-2^-x) (the code forms it in float32). Relative-shift invariance is exact per axis: a shift of every
 * position by a multiple of width is a whole-row translation; other shifts move tokens across row ends.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_BIAS(masa)
{
    double a = pecs_param_real(p, "initial_value", 2.0), b = pecs_param_real(p, "heads_range", 4.0);
    double W = (double)pecs_param_int(p, "width", 14);
    double yq = floor(qpos / W), yk = floor(kpos / W);
    double dist = fabs(yq - yk) + fabs((qpos - W * yq) - (kpos - W * yk));
    (void)why, (void)why_len;
    *bias = dist * log1p(-exp2(-(a + b * (double)h / (double)H)));
    return PECS_OK;
}
