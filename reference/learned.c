/* reference/learned.c — learned absolute position table (GPT-2/BERT wpe): out = x + table[pos].
 *
 * The table is data: tensor "w" [npos, D]. Positions must be integers in [0, npos); anything else is an
 * invalid problem (a gather out of range is a bug, not a value).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_EMBED(learned)
{
    int64_t npos = pecs_param_int(p, "npos", 4096);
    const pecs_tensor *w = pecs_ref_weights(p, npos, D, why, why_len);
    if (!w)
        return PECS_INVALID;
    if (pos < 0 || pos >= (double)npos || pos != floor(pos)) {
        snprintf(why, why_len, "learned: position %.17g is outside the table [0, %lld)", pos, (long long)npos);
        return PECS_INVALID;
    }
    for (int64_t d = 0; d < D; d++)
        row[d] = ((const double *)w->data)[(int64_t)pos * w->stride[0] + d * w->stride[1]];
    return PECS_OK;
}
