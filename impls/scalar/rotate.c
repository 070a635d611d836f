/* impls/scalar/rotate.c — the rotate kernel of the scalar backend (schedules: impls/common/schedule.c).
 *
 * cos/sin are computed once per token (shared by all heads) from a double angle pos*inv_freq and
 * rounded to f32; the pair rotation itself is f32 arithmetic on values loaded from storage.
 */
#include <math.h>
#include <stdlib.h>

#include "scalar.h"

pecs_status scalar_rotate(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!x || !pos || !out || x->ndim != 3)
        return PECS_INVALID;
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], R = impl_rotary_dim(p, D);
    if (!R)
        return PECS_INVALID;
    int64_t n = R / 2;
    scalar_sched sc;
    pecs_status st = impl_schedule(p, R, &sc);
    if (st != PECS_OK)
        return st;
    float *cs = malloc((size_t)n * 2 * sizeof *cs);
    if (!cs) {
        impl_schedule_free(&sc);
        return PECS_NOMEM;
    }
    int half = pecs_param_is(p, "pairing", "half");
    int64_t da = half ? 1 : 2, db = half ? n : 1; /* lane of pair i: a = i*da, b = a + db */
    int per_head = sc.head_scale != NULL; /* Ms-PoE, MHRoPE: the table is per (token, head) */
    for (int64_t t = 0; t < T; t++) {
        for (int64_t h = 0; h < H; h++) {
            for (int64_t i = 0; (h == 0 || per_head) && i < n; i++) {
                double a = impl_angle(&sc, pos, t, h, i), g = impl_gain(&sc, pos, t, i);
                cs[2 * i] = (float)(cos(a) * g);
                cs[2 * i + 1] = (float)(sin(a) * g);
            }
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
    free(cs);
    impl_schedule_free(&sc);
    return st;
}
