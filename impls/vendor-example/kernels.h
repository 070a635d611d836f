/* kernels.h — the example vendor's two kernels (kernels.c), called by backend.c after supports() said yes. */
#ifndef VENDOR_EXAMPLE_KERNELS_H
#define VENDOR_EXAMPLE_KERNELS_H

#include <pecs/backend.h>

/* rope: f32 storage, both pairings, partial rotary, freq_factors, attn_factor, any strides, in place. */
pecs_status vendor_rope_f32(const pecs_problem *p);
/* alibi: f32 output [H, Lq, Lk], both variants, any position dtype and strides. */
pecs_status vendor_alibi_f32(const pecs_problem *p);

#endif
