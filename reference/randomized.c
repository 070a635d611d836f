/* reference/randomized.c — randomized positional encodings: the sampled positions, sorted (posmap form, P = 1).
 *
 * Sources checked (2026-12-06, through the search tool): Ruoss et al. 2023, "Randomized Positional Encodings Boost
 * Length Generalization of Transformers" (ACL; the paper itself not read here), and the authors' code,
 * google-deepmind/randomized_positional_encodings @57bc5d0:
 *   models/positional_encodings.py noisy_fixed_positional_encodings: indexes = jrandom.choice(rng,
 *     arange(noise_max_length), shape=(sequence_length,), replace=False); indexes = jnp.sort(indexes); the encodings
 *     of the base scheme are then taken at those indexes (used for NOISY_SIN_COS, NOISY_LEARNT and, on the angles,
 *     NOISY_ROTARY in apply_rotary_encoding);
 *   experiments/example.py: noise_max_length 2048, training lengths 1..40, evaluation up to 100.
 * The FIRE code cited by the spec catalogue (cat1) draws the same way, sort(randperm(max_length)[:T]).
 * The draw is the caller's random number generator and no two generators agree, so it is not part of the map: it
 * arrives as idx, the sampled positions in the order the generator returned them, and the map is the sort:
 *     out[0][t] = the t-th smallest of idx[0..T-1]   (ascending; equal ids stay, one per occurrence)
 * The code draws without replacement from [0, noise_max_length); the sort needs neither property, and pecs's own
 * random@N positions may repeat: repeats are sorted like any ids. Not part of this map: the NOISY_RELATIVE variant
 * (sorted signed offsets for Transformer-XL's relative keys, compute_attention_with_noisy_relative_encodings) and
 * NOISY_ALIBI, which sample relative distances, not token positions.
 * Computed here by rank counting, independent of any sorting algorithm: the element idx[u] lands at
 * rank(u) = #{v : idx[v] < idx[u]} + #{v < u : idx[v] == idx[u]}.
 */
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_POSMAP(randomized)
{
    (void)why, (void)why_len;
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    int64_t T = idx->shape[idx->ndim - 1];
    double *od = out->data;
    for (int64_t u = 0; u < T; u++) {
        double x = pecs_pos_at(idx, 0, u);
        int64_t rank = 0;
        for (int64_t v = 0; v < T; v++) {
            double y = pecs_pos_at(idx, 0, v);
            rank += y < x || (y == x && v < u);
        }
        od[rank * out->stride[1]] = x;
    }
    return PECS_OK;
}
