/* reference/pose.c — PoSE skip-wise position ids (posmap form, P = 1).
 *
 * Sources checked (2026-12-06, through the search tool):
 *   Zhu et al. 2024, "PoSE: Efficient Context Window Extension of LLMs via Positional Skip-wise Training"
 *   (ICLR; the repository's paper/PoSE-v2.pdf, not read here): the training window is cut into chunks and each
 *   chunk's ids are shifted by a skip bias, so that ids span the target length while the window stays short.
 *   The definition below is the code's.
 *   The authors' code, dwzhu-pku/PoSE src/train_pose.py @43b43b3f, train_preprocess_function_pose: two
 *   chunks (N = 2); chunk 0 is the first rt1 tokens (rt1 drawn in [1, (len_chunk+1)//2]); the ids are
 *   arange(len) with the first rt1 shifted by lt and the rest by rt, rt drawn in [lt, scaled_max - len];
 *   lt is 0 in that revision (an earlier revision drew it at random, kept here as skip1).
 * The random draws are the caller's: they arrive as the parameters chunk1 = rt1 - lt1, skip1 = lt and
 * skip2 = rt, so the map is deterministic. The code also selects WHICH tokens enter chunk 1 (ids[lt2:rt2]);
 * that is token selection, not position, and is not part of the map. The paper's general N-chunk form is
 * not what the released code trains and is not defined here (docs/encodings.md).
 *     out[0][t] = idx[t] + skip1   if idx[t] < chunk1
 *               = idx[t] + skip2   otherwise
 * idx[t] is the token's index in the chunked input (0..T-1 in training; any integer here).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_POSMAP(pose)
{
    int64_t chunk1 = pecs_param_int(p, "chunk1", 1), skip1 = pecs_param_int(p, "skip1", 0),
            skip2 = pecs_param_int(p, "skip2", 0);
    if (skip2 < skip1) { /* the code draws rt in [lt, ...]: the biases never decrease */
        snprintf(why, why_len, "pose: skip2 %lld must be >= skip1 %lld (skip biases are nondecreasing)",
                 (long long)skip2, (long long)skip1);
        return PECS_INVALID;
    }
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    double *od = out->data;
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        double i = pecs_pos_at(idx, 0, t);
        od[t * out->stride[1]] = i + (double)(i < (double)chunk1 ? skip1 : skip2);
    }
    return PECS_OK;
}
