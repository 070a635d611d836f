/* impls/scalar/scores.c — scores-form kernels: CoPE with f32 dot products and f32 gates. With
 * division=all the position term is scaled by 1/sqrt(D) too, as (q.k + z)/sqrt(D) in the authors' code. */
#include <math.h>
#include <stdlib.h>

#include "scalar.h"

SCALAR_HOOK_SCORES(cope)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], npos = pecs_param_int(p, "npos", 16);
    if (w->shape[0] != D || w->shape[1] != npos)
        return PECS_INVALID;
    float *logit = malloc((size_t)Lk * sizeof *logit), *z = malloc((size_t)npos * sizeof *z);
    pecs_status st = logit && z ? PECS_OK : PECS_NOMEM;
    float inv_sqrt_d = (float)(1.0 / sqrt((double)D));
    float zscale = pecs_param_is(p, "division", "all") ? inv_sqrt_d : 1.0f;
    for (int64_t h = 0; h < H && st == PECS_OK; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < Lk; j++) {
                float acc = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                           pecs_load_f32(k->data, k->dtype, scalar_at3(k, j, h, d));
                logit[j] = pecs_pos_at(kp, 0, j) <= qi ? acc * inv_sqrt_d : -INFINITY;
            }
            for (int64_t n = 0; n < npos; n++) {
                float acc = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += pecs_load_f32(q->data, q->dtype, scalar_at3(q, i, h, d)) *
                           pecs_load_f32(w->data, w->dtype, d * w->stride[0] + n * w->stride[1]);
                z[n] = acc;
            }
            float cum = 0.0f;
            for (int64_t j = Lk - 1; j >= 0; j--) {
                cum += 1.0f / (1.0f + expf(-logit[j])); /* a masked logit's gate is exactly 0 */
                float pos = cum < (float)(npos - 1) ? cum : (float)(npos - 1);
                float lo = floorf(pos), frac = pos - lo;
                float v = z[(int64_t)ceilf(pos)] * frac + z[(int64_t)lo] * (1.0f - frac);
                pecs_store_f32(out->data, out->dtype, scalar_at3(out, h, i, j), logit[j] + v * zscale);
            }
        }
    free(logit);
    free(z);
    return st;
}
