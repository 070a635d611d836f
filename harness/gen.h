/* harness/gen.h — the deterministic input generator.
 *
 * Counter-based: the value of element i of stream s under seed k is a pure function of (k, s, i)
 * (splitmix64 of a mixed counter), computed with integer arithmetic and one exact scaling, so it is
 * identical on every machine and independent of layout, stride, thread count or generation order.
 * Activations are uniform in [-1, 1) with 53 random bits, then rounded once to the case dtype.
 */
#ifndef PECS_GEN_H
#define PECS_GEN_H

#include <stdint.h>

/* Streams: which tensor a value belongs to. */
enum { PECS_STREAM_X = 0, PECS_STREAM_K = 1, PECS_STREAM_POS = 2, PECS_STREAM_KPOS = 3, PECS_STREAM_W = 4 };

uint64_t pecs_gen_u64(uint64_t seed, uint64_t stream, uint64_t index);
/* Uniform in [-1, 1), exactly representable in double. */
double pecs_gen_uniform(uint64_t seed, uint64_t stream, uint64_t index);

#endif
