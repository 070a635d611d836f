/* impls/scalar/mask.c — tier-2 mask kernels of the scalar backend: one visibility test per (query, key), written
 * as 0 or -inf in the output dtype. Positions are read as the integers they are (int64), as an engine building
 * the mask from token indices would. */
#include <math.h>

#include "scalar.h"

typedef int (*visible_fn)(const pecs_problem *p, int64_t q, int64_t k);

static pecs_status fill(const pecs_problem *p, visible_fn visible)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!qp || !kp || !out || out->ndim != 3)
        return PECS_INVALID;
    for (int64_t i = 0; i < out->shape[1]; i++) {
        int64_t q = (int64_t)pecs_pos_at(qp, 0, i);
        for (int64_t j = 0; j < out->shape[2]; j++) {
            int64_t k = (int64_t)pecs_pos_at(kp, 0, j);
            pecs_store_f32(out->data, out->dtype, scalar_at3(out, 0, i, j), visible(p, q, k) ? 0.0f : -INFINITY);
        }
    }
    return PECS_OK;
}

/* LM-Infinite: causal, and within n_local of the query or among the first n_global keys. */
static int lm_infinite_visible(const pecs_problem *p, int64_t q, int64_t k)
{
    return k <= q && (q - k < pecs_param_int(p, "n_local", 2048) || k < pecs_param_int(p, "n_global", 100));
}

SCALAR_HOOK_MASK(lm_infinite) { return fill(p, lm_infinite_visible); }
