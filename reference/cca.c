/* reference/cca.c — concentric causal attention's mask (Xing et al. 2024, CCA).
 *
 * Read: the authors' code, xing0047/cca-llava llava/cca_utils/cca.py
 *   module level: H = W = sqrt(IMG_TOKEN_LEN) (576 tokens, 24 x 24) and concentric_pos, filled from the centre
 *     outwards (for pos in 11 .. 0, the ring of the box pos_pt = [H/2 - 1 - (11 - pos), ...] gets pos), so the
 *     patch at row r, column c of the row-major grid has ring rho = min(r, c, H - 1 - r, W - 1 - c): 0 on the border,
 *     H/2 - 1 = 11 on the centre 2 x 2.
 *   cca_forward: starts from the causal mask (triu(-inf, diagonal=1) or the model's 4-D causal mask), sets the
 *     image block [img_token_pos, img_token_pos + IMG_TOKEN_LEN)^2 to -inf, then for each ring value pos opens
 *     queries with ring == pos to every image key with ring <= pos. With one query (decoding) it keeps the plain
 *     mask (the new token follows the image and sees all of it).
 * As a mask of positions (token indices from the sequence start; image_start = the code's img_token_pos, side =
 * H = W, N = side^2):
 *     both in [image_start, image_start + N):  visible iff rho(kpos - image_start) <= rho(qpos - image_start)
 *     otherwise:                                visible iff kpos <= qpos
 * Inner patches see the outer rings and their own ring in both directions; text before the image is seen by
 * every image patch; text after it sees the whole image. The position ids CCA rotates with (image_start + rho for
 * a patch, text after the image shifted down by N - side/2) are a position map, not this row.
 * The code fixes side = 24 (its ring loop runs 11 .. 0, H/2 - 1 .. 0); the ring formula is that construction for
 * any even side, so even sides are accepted and odd ones (a single centre patch the code never builds) rejected.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

static int64_t ring(int64_t t, int64_t side)
{
    int64_t r = t / side, c = t % side, m = r;
    m = c < m ? c : m;
    m = side - 1 - r < m ? side - 1 - r : m;
    m = side - 1 - c < m ? side - 1 - c : m;
    return m;
}

PECS_REF_HOOK_MASK(cca)
{
    int64_t side = pecs_param_int(p, "grid", 24);
    double start = (double)pecs_param_int(p, "image_start", 0), n = (double)side * (double)side;
    if (side % 2) {
        snprintf(why, why_len, "cca: grid %lld must be even (the code's rings close on a 2 x 2 centre; H = W = 24)",
                 (long long)side);
        return PECS_INVALID;
    }
    int qin = qpos >= start && qpos < start + n, kin = kpos >= start && kpos < start + n;
    if (qin && kin) {
        if (qpos != floor(qpos) || kpos != floor(kpos)) {
            snprintf(why, why_len, "cca: image positions must be integer token indices (got %g, %g)", qpos, kpos);
            return PECS_INVALID;
        }
        *allowed = ring((int64_t)(kpos - start), side) <= ring((int64_t)(qpos - start), side);
    } else
        *allowed = kpos <= qpos;
    return PECS_OK;
}
