/* reference/rope_abf.c — RoPE with adjusted base frequency.
 *
 * Source checked: Xiong et al. 2023, "Effective Long-Context Scaling of Foundation Models" sec. 3.1 (ABF:
 * the RoPE base raised from 10000 to 500000, nothing else changed); catalogue cat1 "RoPE ABF". The schedule
 * is RoPE's; only the registry default of `base` differs (500000).
 */
#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_abf) { return pecs_ref_rope(p, sched, why, why_len); }
