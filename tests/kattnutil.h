/* tests/kattnutil.h — one kattn problem in double for the known-answer and property tests of the kattn rows
 * (landmark, focused_memory): q [L, H, D], k and v [Lk, H, D], out [L, H, D], run on the double reference and on the
 * scalar backend (inputs rounded to f32 first), and a check that both give a hand-worked answer. Header-only, static,
 * like refutil.h, which it builds on. */
#ifndef PECS_TESTS_KATTNUTIL_H
#define PECS_TESTS_KATTNUTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "backends.h"
#include "reference.h"
#include "refutil.h"

typedef struct kio {
    int64_t L, Lk, H, D; /* queries, keys, heads, head_dim */
    double *q, *k, *v, *out;
} kio;

static inline kio kio_new(int64_t L, int64_t Lk, int64_t H, int64_t D)
{
    kio s = {L, Lk, H, D, NULL, NULL, NULL, NULL};
    s.q = calloc((size_t)(L * H * D), sizeof *s.q);
    s.k = calloc((size_t)(Lk * H * D), sizeof *s.k);
    s.v = calloc((size_t)(Lk * H * D), sizeof *s.v);
    s.out = calloc((size_t)(L * H * D), sizeof *s.out);
    cr_assert(s.q && s.k && s.v && s.out);
    return s;
}

static inline void kio_free(kio *s) { free(s->q), free(s->k), free(s->v), free(s->out); }

static inline void kio_tensors(pecs_tensor t[4], pecs_dtype dt, const kio *s, void *q, void *k, void *v, void *out)
{
    t[0] = ref_tensor("q", dt, 3, s->L, s->H, s->D, q);
    t[1] = ref_tensor("k", dt, 3, s->Lk, s->H, s->D, k);
    t[2] = ref_tensor("v", dt, 3, s->Lk, s->H, s->D, v);
    t[3] = ref_tensor("out", dt, 3, s->L, s->H, s->D, out);
}

/* q, k, v uniform in [-scale, scale) from an LCG seeded with `seed`. */
static inline void kio_random(kio *s, uint64_t seed, double scale)
{
    double *arrs[3] = {s->q, s->k, s->v};
    int64_t n[3] = {s->L * s->H * s->D, s->Lk * s->H * s->D, s->Lk * s->H * s->D};
    for (int a = 0; a < 3; a++)
        for (int64_t i = 0; i < n[a]; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            arrs[a][i] = ((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0) * scale;
        }
}

static inline void kio_run_ref(const pecs_case *c, kio *s)
{
    pecs_tensor t[4];
    kio_tensors(t, PECS_DT_F64, s, s->q, s->k, s->v, s->out);
    pecs_problem p = ref_problem(c);
    p.tensors = t, p.n_tensors = 4;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s", why);
}

/* The scalar backend in f32 (inputs rounded to f32 first), outputs widened into `out` [L * H * D]. */
static inline void kio_run_scalar(const pecs_case *c, const kio *s, double *out)
{
    int64_t nq = s->L * s->H * s->D, nk = s->Lk * s->H * s->D;
    float *q = calloc((size_t)nq, 4), *k = calloc((size_t)nk, 4), *v = calloc((size_t)nk, 4), *o = calloc((size_t)nq, 4);
    cr_assert(q && k && v && o);
    for (int64_t i = 0; i < nq; i++)
        q[i] = (float)s->q[i];
    for (int64_t i = 0; i < nk; i++)
        k[i] = (float)s->k[i], v[i] = (float)s->v[i];
    pecs_tensor t[4];
    kio_tensors(t, PECS_DT_F32, s, q, k, v, o);
    pecs_problem p = ref_problem(c);
    p.dtype = PECS_DT_F32;
    p.tensors = t, p.n_tensors = 4;
    pecs_loaded_backend *lb = ref_scalar_backend();
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "%s", why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < nq; i++)
        out[i] = o[i];
    free(q), free(k), free(v), free(o);
}

/* The reference (to 1e-13) and the scalar kernel (to 1e-5 relative, f32 storage) both give `want`. */
static inline void kio_expect_both(const pecs_case *c, kio *s, const double *want, const char *what)
{
    int64_t n = s->L * s->H * s->D;
    double *sc = calloc((size_t)n, sizeof *sc);
    cr_assert_not_null(sc);
    kio_run_ref(c, s);
    kio_run_scalar(c, s, sc);
    for (int64_t i = 0; i < n; i++) {
        cr_expect(fabs(s->out[i] - want[i]) <= 1e-13 * (1.0 + fabs(want[i])), "%s: reference out[%lld] = %.17g, want %.17g",
                  what, (long long)i, s->out[i], want[i]);
        cr_expect(fabs(sc[i] - want[i]) <= 1e-5 * (1.0 + fabs(want[i])), "%s: scalar out[%lld] = %.9g, want %.9g", what,
                  (long long)i, sc[i], want[i]);
    }
    free(sc);
}

#endif
