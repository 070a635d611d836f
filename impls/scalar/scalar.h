/* impls/scalar/scalar.h — internals of the scalar backend (plain C, f32 arithmetic on f32/f16/bf16
 * storage). Built twice: into pecs (PECS_BUILTIN) and as libpecs-scalar.so against include/pecs only.
 *
 * Per-encoding hooks, generated from the registry:
 *   ROTATE  scalar_<sym>(p, &sched): the frequency schedule, computed in double the way engines do it
 *           (iterated theta_scale, ggml-style YaRN mix, ggml's M-RoPE sector rules); the shared kernel in
 *           rotate.c rotates.
 *   BIAS, MASK, SCORES, POSMAP  scalar_<sym>(p): the whole kernel, writing "out".
 *   EMBED   scalar_<sym>(p, D, pos, pos_rows, t, row[D]): token t's row in double; embed.c adds it to x.
 */
#ifndef PECS_SCALAR_H
#define PECS_SCALAR_H

#include "pecs/backend.h"
#include "../common/schedule.h"

#define SCALAR_HOOK_BIAS(sym) pecs_status scalar_##sym(const pecs_problem *p)
#define SCALAR_HOOK_MASK(sym) pecs_status scalar_##sym(const pecs_problem *p)
#define SCALAR_HOOK_SCORES(sym) pecs_status scalar_##sym(const pecs_problem *p)
#define SCALAR_HOOK_POSMAP(sym) pecs_status scalar_##sym(const pecs_problem *p)
#define SCALAR_HOOK_KATTN(sym) pecs_status scalar_##sym(const pecs_problem *p)
/* pos: the token's row-0 position; pos_rows[0 .. P-1] all its rows (P = registry `rows`; pos == pos_rows[0]); t: the
 * token's index in x (peg reads the neighbouring rows of x through p). */
#define SCALAR_HOOK_EMBED(sym) \
    pecs_status scalar_##sym(const pecs_problem *p, int64_t D, double pos, const double *pos_rows __attribute__((unused)), \
                             int64_t t __attribute__((unused)), double *row)

#define SCALAR_DECL_ROTATE(sym)
#define SCALAR_DECL_BIAS(sym) SCALAR_HOOK_BIAS(sym);
#define SCALAR_DECL_MASK(sym) SCALAR_HOOK_MASK(sym);
#define SCALAR_DECL_SCORES(sym) SCALAR_HOOK_SCORES(sym);
#define SCALAR_DECL_POSMAP(sym) SCALAR_HOOK_POSMAP(sym);
#define SCALAR_DECL_KATTN(sym) SCALAR_HOOK_KATTN(sym);
#define SCALAR_DECL_EMBED(sym) SCALAR_HOOK_EMBED(sym);
#define PECS_ENCODING(sym, id, form, ...) SCALAR_DECL_##form(sym)
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM

typedef pecs_status (*scalar_bias_fn)(const pecs_problem *p);
#define SCALAR_MAX_POS_ROWS 8 /* position rows an embed kernel takes (the registry's largest is 4) */
typedef pecs_status (*scalar_embed_fn)(const pecs_problem *p, int64_t D, double pos, const double *pos_rows, int64_t t,
                                       double *row);

pecs_status scalar_rotate(const pecs_problem *p);
pecs_status scalar_embed(const pecs_problem *p, scalar_embed_fn row_fn);

/* 1 if a scores problem's positions allow the skewing of Music Transformer / Transformer-XL's rel_shift
 * (scores.c): consecutive integers qpos[i] = qpos[0] + i, kpos[j] = kpos[0] + j, the last query at or before the
 * last key. Else 0 with the reason. */
int scalar_skew_supported(const pecs_problem *p, char *reason, size_t reason_size);

/* Element offset of (a, b, c) in a 3-D tensor. */
static inline int64_t scalar_at3(const pecs_tensor *t, int64_t a, int64_t b, int64_t c)
{
    return a * t->stride[0] + b * t->stride[1] + c * t->stride[2];
}

#endif
