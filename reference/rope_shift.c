/* reference/rope_shift.c — re-rotation of cached keys by a position delta.
 *
 * Sources checked: the RoPE group property R(a) R(b) = R(a + b) (RoFormer sec. 3.4.2); PIE (He et al.
 * 2024: k' = R(p_new - p_old) k); llama.cpp's KV-cache shift, which calls ggml_rope_ext on the cached keys
 * with the delta as the position. The kernel is a RoPE rotation whose "pos" holds deltas (which may be
 * negative); the property that matters is shift(rotate(k, p), d) = rotate(k, p + d), tested in
 * tests/test_t1.c on every dtype.
 */
#include "reference.h"

PECS_REF_HOOK_ROTATE(rope_shift) { return pecs_ref_rope(p, sched, why, why_len); }
