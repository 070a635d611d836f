/* reference/peg.c — CPVT's Positional Encoding Generator (embed form; the one embed row whose P reads x).
 *
 * Source checked: Chu et al. 2021, "Conditional Positional Encodings for Vision Transformers" (CPVT, arXiv
 * 2102.10882), as the authors' code implements it: Meituan-AutoML/Twins gvt.py (commit f6e15d3a, read 2026-12-06
 * through the search tool; Meituan-AutoML/CPVT itself stores only its README), class PosCNN ("PEG from
 * https://arxiv.org/abs/2102.10882"):
 *     proj = Conv2d(in_chans, embed_dim, 3, s, 1, bias=True, groups=embed_dim)     depthwise 3x3, padding 1
 *     forward(x, H, W): cnn_feat = x.transpose(1, 2).view(B, C, H, W)               tokens row-major on the grid
 *                       s == 1: x = proj(cnn_feat) + cnn_feat   (else proj(cnn_feat) alone), flatten(2).transpose
 * CPVTV2 and the Twins models build it as PosCNN(embed_dim, embed_dim), so s = 1 everywhere the authors use it;
 * s != 1 (no residual, an (H/s) x (W/s) output: a different token count) is not an x + P encoding and is not
 * supported. The class-token variant (CPVT's default, Figure 1b) splits x[:, 0] off, convolves x[:, 1:] and
 * concatenates the class token back unchanged (the PEG ports found by code search: "cls_token, feat_token =
 * x[:, 0], x[:, 1:]" ... "torch.cat((cls_token.unsqueeze(1), x), dim=1)").
 *
 * With n = class_tokens (0 or 1), W = width, H = (T - n) / W, and w [C, 10] holding per channel c the Conv2d
 * weight[c][0][i][j] at column 3i + j (PyTorch's row-major [C, 1, 3, 3] flattened) and the bias at column 9:
 *
 *     out[t][c] = x[t][c]                                                   t < n (class token)
 *     out[t][c] = x[t][c] + w[c][9] + sum_{i,j = 0..2} w[c][3i + j] X(r + i - 1, q + j - 1, c)     t >= n
 *
 * with (r, q) = ((t - n) / W, (t - n) % W) and X(r', q', c) = x[n + r' W + q'][c] inside the grid, 0 outside
 * (Conv2d's zero padding; PyTorch's Conv2d is a cross-correlation: tap (i, j) reads row r + i - 1, column q + j - 1).
 * Positions are not read. T - n must be a positive multiple of W (H >= 1); anything else is an invalid problem.
 */
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(peg)
{
    (void)pos;
    int64_t W = pecs_param_int(p, "width", 4), n = pecs_param_int(p, "class_tokens", 0);
    if (W < 1 || n < 0 || n > 1) {
        snprintf(why, why_len, "peg: width %lld must be >= 1 and class_tokens %lld 0 or 1", (long long)W, (long long)n);
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, D, 10, why, why_len);
    if (!w)
        return PECS_INVALID;
    const pecs_tensor *x = pecs_problem_tensor(p, "x");
    for (int64_t c = 0; c < D; c++)
        row[c] = 0.0;
    if (!x || t < 0) /* parameters only */
        return PECS_OK;
    int64_t T = x->shape[0], G = T - n;
    if (G < W || G % W) {
        snprintf(why, why_len, "peg: %lld tokens less %lld class token(s) is not a positive multiple of width %lld",
                 (long long)T, (long long)n, (long long)W);
        return PECS_INVALID;
    }
    if (t < n)
        return PECS_OK;
    int64_t H = G / W, r = (t - n) / W, q = (t - n) % W;
    const double *xd = x->data, *wd = w->data;
    for (int64_t c = 0; c < D; c++) {
        double s = wd[c * w->stride[0] + 9 * w->stride[1]];
        for (int64_t i = 0; i < 3; i++)
            for (int64_t j = 0; j < 3; j++) {
                int64_t rr = r + i - 1, qq = q + j - 1;
                if (rr < 0 || rr >= H || qq < 0 || qq >= W)
                    continue; /* zero padding */
                s += wd[c * w->stride[0] + (3 * i + j) * w->stride[1]] * xd[(n + rr * W + qq) * x->stride[0] + c * x->stride[1]];
            }
        row[c] = s;
    }
    return PECS_OK;
}
