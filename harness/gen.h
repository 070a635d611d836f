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

#include "pecs/dtype.h"

/* Streams: which tensor a value belongs to. */
enum { PECS_STREAM_X = 0, PECS_STREAM_K = 1, PECS_STREAM_POS = 2, PECS_STREAM_KPOS = 3, PECS_STREAM_W = 4, PECS_STREAM_V = 5 };

uint64_t pecs_gen_u64(uint64_t seed, uint64_t stream, uint64_t index);
/* Uniform in [-1, 1), exactly representable in double. */
double pecs_gen_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/* The same values for a whole stream: key = pecs_gen_key(seed, stream) once, then pecs_gen_uniform_k(key, index)
 * equals pecs_gen_uniform(seed, stream, index) with one hash per element instead of three. */
uint64_t pecs_gen_key(uint64_t seed, uint64_t stream);
double pecs_gen_uniform_k(uint64_t key, uint64_t index);

/* values=special: whether element `index` (row-major) of a stream is special and, if so, its bit pattern in
 * dtype dt written to dst (2, 4 or 8 bytes). One element of every innermost row of row_len elements is
 * special, at a column chosen by hash, so the two lanes of a rotate pair are never both special (two
 * largest-finite lanes would cancel beyond any float32 kernel's element budget); its kind, also by hash, is
 * one of PECS_GEN_N_SPECIAL (+0, -0, +Inf, -Inf, a quiet NaN with a payload, a signalling NaN with a payload,
 * a negative quiet NaN, the smallest subnormal, the largest negative subnormal, a subnormal with a
 * scattered mantissa, +-the largest finite value, the smallest normal). Returns 1 if it wrote, 0 if the
 * element is an ordinary uniform one. */
#define PECS_GEN_N_SPECIAL 13
int pecs_gen_special(uint64_t seed, uint64_t stream, uint64_t index, uint64_t row_len, pecs_dtype dt, void *dst);
/* Kind k's bit pattern in dt into dst (0 <= k < PECS_GEN_N_SPECIAL; 0 for a dtype that is not a float). */
int pecs_gen_special_kind(int k, pecs_dtype dt, void *dst);

#endif
