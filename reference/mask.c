/* reference/mask.c — causal and sliding-window masks (two registry rows, one file).
 *
 * causal: key j visible to query i iff kpos <= qpos.
 * window: visible iff 0 <= qpos - kpos < window — the query itself and the window-1 keys before it, so
 *         exactly `window` keys (Mistral 7B "each token attends to at most W tokens"; HF's sliding-window
 *         mask keeps qpos - kpos < sliding_window). Checked against HF Mistral / Samba code with the search
 *         tool; flash-attn's window_size=(left, 0) counts left = window - 1 keys before the query.
 */
#include "reference.h"

PECS_REF_HOOK_MASK(mask_causal)
{
    (void)p, (void)why, (void)why_len;
    *allowed = kpos <= qpos;
    return PECS_OK;
}

PECS_REF_HOOK_MASK(mask_window)
{
    (void)why, (void)why_len;
    double d = qpos - kpos;
    *allowed = d >= 0.0 && d < (double)pecs_param_int(p, "window", 4096);
    return PECS_OK;
}
