/* impls/scalar/scalar.h — internals of the scalar backend (plain C, f32 arithmetic on f32/f16/bf16
 * storage). Built twice: into pecs (PECS_BUILTIN) and as libpecs-scalar.so against include/pecs only.
 *
 * Per-encoding hooks, generated from the registry:
 *   ROTATE  scalar_<sym>(p, R, inv_freq[R/2], &attn): the frequency schedule, computed in double the way
 *           engines do it (iterated theta_scale, ggml-style YaRN mix); the shared kernel in rotate.c rotates.
 *   BIAS    scalar_<sym>(p): the whole kernel, writing "out".
 *   EMBED   scalar_<sym>(p, D, pos, row[D]): the table row in double; embed.c adds it to x.
 */
#ifndef PECS_SCALAR_H
#define PECS_SCALAR_H

#include "pecs/backend.h"

#define SCALAR_HOOK_ROTATE(sym) pecs_status scalar_##sym(const pecs_problem *p, int64_t R, double *inv_freq, double *attn)
#define SCALAR_HOOK_BIAS(sym) pecs_status scalar_##sym(const pecs_problem *p)
#define SCALAR_HOOK_EMBED(sym) pecs_status scalar_##sym(const pecs_problem *p, int64_t D, double pos, double *row)

#define PECS_ENCODING(sym, id, form, ...) SCALAR_HOOK_##form(sym);
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM

typedef pecs_status (*scalar_schedule_fn)(const pecs_problem *p, int64_t R, double *inv_freq, double *attn);
typedef pecs_status (*scalar_bias_fn)(const pecs_problem *p);
typedef pecs_status (*scalar_embed_fn)(const pecs_problem *p, int64_t D, double pos, double *row);

pecs_status scalar_rotate(const pecs_problem *p, scalar_schedule_fn schedule);
pecs_status scalar_embed(const pecs_problem *p, scalar_embed_fn row_fn);

#endif
