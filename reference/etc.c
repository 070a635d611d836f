/* reference/etc.c — ETC's global-local attention masks (Ainslie et al. 2020, ETC: Extended Transformer Construction).
 *
 * Read: the authors' code, google-research/google-research etcmodel (read 2026-12-07 through the search tool):
 *   models/input_utils.py make_global_local_transformer_side_inputs: example ids are the reverse cumsums of the
 *     long and global breakpoints (packed examples), then make_global_local_transformer_side_inputs_from_example_ids:
 *       l2l_att_mask = feature_utils.make_local_segmented_att_mask(long_example_ids, local_radius): long token i sees
 *         long token j iff |i - j| <= local_radius and both are in the same example (no causality, sentences do not
 *         cut it);
 *       g2g_att_mask = make_segmented_att_mask(global_example_ids): every global token of the same example;
 *       l2g_att_mask = long example id == global example id, g2l_att_mask its transpose: with the default
 *         use_hard_l2g_mask = use_hard_g2l_mask = False every long token sees every global token of its example and
 *         the other way round; use_hard_l2g_mask keeps only global token sentence_ids[i] for long token i,
 *         use_hard_g2l_mask keeps only the long tokens with sentence_ids == g for global token g (sentence_ids index
 *         the global tokens: "one global token per sentence").
 *     The relative ids (RelativePositionGenerator with relative_pos_max_distance; l2g/g2l ids 0/1 for other/own
 *     sentence, offset by the relative vocabulary) index learned embeddings: a scores concern, not this row.
 *   feature_utils.py make_local_segmented_att_mask: the [seq_len, 2 * local_radius + 1] window centred on the query,
 *     1 where the key's segment id equals the query's (keys off the sequence padded with an id no token has).
 *   layers/attention.py FusedGlobalLocalAttention: l2l and l2g share one softmax (the long queries), g2g and g2l
 *     another (the global queries); the docstring names standard attention over the global tokens concatenated with
 *     the long ones as its special case. models/modeling.py EtcConfig: local_radius = 84, both hard masks False.
 *   models/input_utils_test.py test_make_global_local_transformer_side_inputs: the four masks of a two-example
 *     batch, hard and soft (the known answers of tests/test_t2mask.c are worked the same way).
 * As a mask of positions (token indices of the fused stream [global | long]; lengths = the sentences' long-token
 * counts in order, G = the number of sentences = the number of global tokens; global token g = index g, sentence s =
 * [G + c_s, G + c_s + lengths[s]) with c_s the sum of the lengths before s; sent(t) = s for such t):
 *     q, k both global: visible;
 *     q long, k global: visible iff !hard_l2g or sent(q) == k;
 *     q global, k long: visible iff !hard_g2l or sent(k) == q;
 *     q, k both long:   visible iff |q - k| <= local_radius.
 * One call is one example: the code masks everything between packed examples (every piece needs equal example ids),
 * so a packed batch is these masks block by block; padding is not an example and is not defined here. A zero length
 * is a global token with no long tokens (HotpotQA's CLS and question global tokens, say). Not covered: sentence ids
 * that are not contiguous and non-decreasing along the long tokens, and long tokens of no global token (the code
 * accepts any ids; lengths cannot say them). Positions at
 * or past G + the sum of the lengths are rejected (PECS_INVALID), as are negative or fractional ones. An empty
 * lengths list is no global tokens and one example of long tokens of any length: the l2l band.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* Lane of stream index t: 1 for a global token (*sent = t, its own sentence), 0 for a long token (*sent = its
 * sentence, -1 without lengths), or -1 with the reason on bad input (pecs_ref_segment_of checks every length). */
static int lane_of(const pecs_problem *p, double t, int64_t *sent, char *why, size_t why_len)
{
    const pecs_param *L = pecs_problem_param(p, "lengths");
    double G = L ? (double)L->n : 0.0;
    pecs_ref_segments s;
    if (pecs_ref_segment_of(p, G, t, &s, why, why_len) != PECS_OK)
        return -1;
    if (t < G) {
        *sent = (int64_t)t;
        return 1;
    }
    *sent = s.seg;
    if (s.n > 0 && s.seg < 0) {
        snprintf(why, why_len, "etc: position %.17g lies past the long tokens (the %lld global tokens and the "
                 "lengths end at %.17g)", t, (long long)s.n, s.end);
        return -1;
    }
    return 0;
}

PECS_REF_HOOK_MASK(etc)
{
    int64_t sq, sk;
    int gq = lane_of(p, qpos, &sq, why, why_len), gk;
    if (gq < 0 || (gk = lane_of(p, kpos, &sk, why, why_len)) < 0)
        return PECS_INVALID;
    if (gq && gk)
        *allowed = 1;
    else if (gk)
        *allowed = pecs_param_int(p, "hard_l2g", 0) == 0 || sq == sk;
    else if (gq)
        *allowed = pecs_param_int(p, "hard_g2l", 0) == 0 || sq == sk;
    else
        *allowed = fabs(qpos - kpos) <= (double)pecs_param_int(p, "local_radius", 84);
    return PECS_OK;
}
