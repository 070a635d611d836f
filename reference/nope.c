/* reference/nope.c — no positional encoding (NoPE, Kazemnejad et al. 2023): P(pos) = 0, the identity.
 * A backend must still copy x to out (or leave it in place) and touch nothing else. */
#include "reference.h"

PECS_REF_HOOK_EMBED(nope)
{
    (void)p, (void)pos, (void)why, (void)why_len;
    for (int64_t d = 0; d < D; d++)
        row[d] = 0.0;
    return PECS_OK;
}
