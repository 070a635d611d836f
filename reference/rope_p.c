/* reference/rope_p.c — p-RoPE: RoPE on a fraction p of the frequencies, the lowest ones removed.
 *
 * Sources checked (2026-12, with the search tool):
 *   Barbero et al., "Round and Round We Go! What makes Rotary Positional Encodings useful?" (arXiv
 *     2410.06205, ICLR 2025), sec. 6: p-RoPE truncates the lowest frequencies and keeps the others as they are;
 *   google-deepmind/gemma gemma/gm/math/_positional_embeddings.py, apply_rope(..., rope_proportion) (the
 *     authors' organisation; commit faba7e31): rope_angles = int(rope_proportion * head_dim // 2),
 *     nope_angles = head_dim // 2 - rope_angles, timescale = base^(2k/head_dim) for k < rope_angles padded
 *     with +inf for the nope_angles last slots, so sin/cos of position/inf = 0/1 there; split-halves pairing;
 *   HF transformers _compute_proportional_rope_parameters (as quoted in public test copies for Gemma 4's
 *     global layers, partial_rotary_factor 0.25): the same rule, the rotated frequencies keep the exponent
 *     scale of the whole width and a zero tail follows.
 * Convention fixed here (R = rotary dim; R = head_dim reproduces the sources):
 *   n_rope = floor(p * R / 2)      (Python's float floor division; p*R/2 is exact for p*R an even integer)
 *   inv[k] = base^(-2k/R) for k < n_rope, 0 for n_rope <= k < R/2.
 * The kept frequencies are NOT re-spaced over n_rope pairs (base^(-2k/(2 n_rope)) would be wrong), and the
 * zero-frequency pairs are the LAST ones (the lowest frequencies), in either pairing. p = 1 is RoPE; p = 0
 * leaves x unchanged. Attention factor 1.
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_p)
{
    double frac = pecs_param_real(p, "p", 0.25);
    int64_t n_rope = (int64_t)floor(frac * (double)sched->R / 2.0);
    pecs_status st = pecs_ref_rope(p, sched, why, why_len);
    for (int64_t k = n_rope; k < sched->R / 2; k++)
        sched->inv_freq[k] = 0.0;
    return st;
}
