/* reference/bros_crel.c — BROS's relative 2-D box encoding ("crel"): a query-dependent score of box differences.
 *
 * Sources checked (read 2026-12-07 through the search tool): Hong et al. 2022, "BROS: A Pre-trained Language Model
 * Focusing on Text and Layout for Better Key Information Extraction from Documents" (AAAI); the authors' code
 * clovaai/bros bros/modeling_bros.py:
 *   PositionalEmbedding1D(demb).forward   inv_freq = 1 / 10000^(arange(0, demb, 2) / demb);
 *                                          emb = [sin(x inv) | cos(x inv)]
 *   PositionalEmbedding2D(demb, 8).forward  the 1-D embedding (demb // 8 wide) of each of the 8 coordinates, concatenated
 *                                          in coordinate order (even coordinates through x_pos_emb, odd through
 *                                          y_pos_emb: the same function, neither has learned data)
 *   BrosEmbeddings.__init__ (pe_type "crel")  demb = hidden/4,
 *                                          bbox_projection = Linear(hidden/4, hidden/H, bias=False)
 *   BrosEmbeddings.calc_bbox_pos_emb (crel)  bbox_pos[a][b] = bbox[b] - bbox[a], then the 2-D embedding, then the
 *                                          projection
 *   BrosModel.forward                        the boxes are scaled by config.bbox_scale before calc_bbox_pos_emb, once
 *                                            for all layers
 *   BrosSelfAttention.forward (crel)         scores = q.k + einsum("bnid,bijd->bnij", q, bbox_pos_emb), then
 *                                          / sqrt(d_head)
 *                                            (the bbox term is shared by the heads: the projection is d_head wide)
 * and HF transformers' BrosConfig (configuration_bros.py: bbox_scale 100, dim_bbox 8, the 1-D width (hidden/4)/8).
 * So, with D = d_head, m the 1-D width (the parameter sinusoid_dim; hidden/32 in BROS, whose config derives it) and
 * s = bbox_scale, for query i, key j, head h:
 *     delta_c = s (kpos[c][j] - qpos[c][i])                      c = 0..7 (key minus query)
 *     e[c m + k] = sin(delta_c inv_k),  e[c m + m/2 + k] = cos(delta_c inv_k),  inv_k = 10000^(-2k/m),  k < m/2
 *     P[d] = sum_r w[r][d] e[r]                                  w [8m, D] = bbox_projection.weight transposed
 *     out[h][i][j] = (sum_d q[i][h][d] k[j][h][d] + sum_d q[i][h][d] P[d]) / sqrt(D)
 * Conventions pecs fixes: positions are the 8 corner coordinates as rows of qpos/kpos [8, L] (the order of the
 * code's bbox: x0 y0 x1 y0 x1 y1 x0 y1 in HF's docstring; the formula does not depend on it), already in the
 * caller's units (the code's boxes are normalised to the page before bbox_scale); no mask (an encoder; the
 * padding mask is the caller's); the logits before the softmax. m is a parameter (BROS's hidden/32 ties it to the
 * model width, which the head shape of a case need not be); it must be even: the code's [sin | cos] is 2 ceil(m/2)
 * wide and would not match the projection otherwise. The code's float32 inv_freq
 * and products are not reproduced: the reference is double.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

/* Coordinate c of token t (a one-row tensor, as the parameter check passes, gives every coordinate its row 0). */
static double coord(const pecs_tensor *pos, int64_t c, int64_t t) { return pecs_pos_at(pos, pos->ndim > 1 ? c : 0, t); }

PECS_REF_HOOK_SCORES(bros_crel)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out) {
        snprintf(why, why_len, "bros.crel needs q, k, qpos, kpos and out");
        return PECS_INVALID;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t m = pecs_param_int(p, "sinusoid_dim", 24);
    if (m % 2 != 0) {
        snprintf(why, why_len, "bros.crel needs an even sinusoid_dim (m/2 sines then m/2 cosines per coordinate, as "
                 "the projection's 8m inputs), got %lld", (long long)m);
        return PECS_INVALID;
    }
    if ((qp->ndim > 1 && qp->shape[0] != 8) || (kp->ndim > 1 && kp->shape[0] != 8)) {
        snprintf(why, why_len, "bros.crel needs qpos and kpos [8, L]: the 8 box-corner coordinates of each token");
        return PECS_INVALID;
    }
    const pecs_tensor *w = pecs_ref_weights(p, 8 * m, D, why, why_len);
    if (!w)
        return PECS_INVALID;
    double s = pecs_param_real(p, "bbox_scale", 100.0), *e = malloc((size_t)(8 * m) * sizeof *e),
           *P = malloc((size_t)D * sizeof *P);
    pecs_status st = e && P ? PECS_OK : PECS_NOMEM;
    const double *qd = q->data, *kd = k->data, *wd = w->data;
    double *od = out->data;
    for (int64_t i = 0; i < Lq && st == PECS_OK; i++)
        for (int64_t j = 0; j < Lk; j++) {
            for (int64_t c = 0; c < 8; c++) {
                double delta = s * (coord(kp, c, j) - coord(qp, c, i));
                for (int64_t r = 0; r < m / 2; r++) {
                    double a = delta * pow(10000.0, -2.0 * (double)r / (double)m);
                    e[c * m + r] = sin(a);
                    e[c * m + m / 2 + r] = cos(a);
                }
            }
            for (int64_t d = 0; d < D; d++) {
                P[d] = 0.0;
                for (int64_t r = 0; r < 8 * m; r++)
                    P[d] += wd[r * w->stride[0] + d * w->stride[1]] * e[r];
            }
            for (int64_t h = 0; h < H; h++) {
                double acc = 0.0;
                for (int64_t d = 0; d < D; d++)
                    acc += qd[pecs_at3(q, i, h, d)] * (kd[pecs_at3(k, j, h, d)] + P[d]);
                od[pecs_at3(out, h, i, j)] = acc / sqrt((double)D);
            }
        }
    free(e);
    free(P);
    return st;
}
