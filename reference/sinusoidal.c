/* reference/sinusoidal.c — sinusoidal absolute embedding, interleaved layout.
 *
 * Source checked: Vaswani et al., "Attention Is All You Need" (arXiv 1706.03762) sec. 3.5:
 * PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)); the
 * Annotated Transformer builds the same interleaved table. With an odd D the last column is the sin of
 * pair (D-1)/2. The kernel adds the table row to x (embed form).
 */
#include <math.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(sinusoidal)
{
    (void)why, (void)why_len;
    double base = pecs_param_real(p, "base", 10000.0);
    for (int64_t d = 0; d < D; d += 2) {
        double s, c;
        pecs_ref_sincos(pos, pow(base, -(double)d / (double)D), &s, &c);
        row[d] = s;
        if (d + 1 < D)
            row[d + 1] = c;
    }
    return PECS_OK;
}
