/* tests/kattnutil.h — one kattn problem in double for the known-answer and property tests of the kattn rows
 * (toeplitz.fft, urpe, landmark, focused_memory, extended_mind, fitm.calibration): q [L, H, D], k and v [Lk, H, D], the learned data
 * w [wr, wc] when the row has any, out [L, H, D], run on the double reference and on the scalar backend (inputs
 * rounded to f32 first), and a check that both give a hand-worked answer. Header-only, static, like refutil.h,
 * which it builds on. */
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
    int64_t wr, wc;      /* w's rows and columns; 0 x 0: no w tensor */
    double *q, *k, *v, *w, *out;
} kio;

/* A problem with learned data w [wr, wc] (wr = wc = 0: none). */
static inline kio kio_new_w(int64_t L, int64_t Lk, int64_t H, int64_t D, int64_t wr, int64_t wc)
{
    kio s = {L, Lk, H, D, wr, wc, NULL, NULL, NULL, NULL, NULL};
    s.q = calloc((size_t)(L * H * D), sizeof *s.q);
    s.k = calloc((size_t)(Lk * H * D), sizeof *s.k);
    s.v = calloc((size_t)(Lk * H * D), sizeof *s.v);
    s.w = calloc((size_t)(wr > 0 && wc > 0 ? wr * wc : 1), sizeof *s.w);
    s.out = calloc((size_t)(L * H * D), sizeof *s.out);
    cr_assert(s.q && s.k && s.v && s.w && s.out);
    return s;
}

static inline kio kio_new(int64_t L, int64_t Lk, int64_t H, int64_t D) { return kio_new_w(L, Lk, H, D, 0, 0); }

static inline void kio_free(kio *s) { free(s->q), free(s->k), free(s->v), free(s->w), free(s->out); }

/* The problem's tensors in t (q, k, v, [w,] out); returns how many. */
static inline int kio_tensors(pecs_tensor t[5], pecs_dtype dt, const kio *s, void *q, void *k, void *v, void *w,
                              void *out)
{
    int n = 0;
    t[n++] = ref_tensor("q", dt, 3, s->L, s->H, s->D, q);
    t[n++] = ref_tensor("k", dt, 3, s->Lk, s->H, s->D, k);
    t[n++] = ref_tensor("v", dt, 3, s->Lk, s->H, s->D, v);
    if (s->wr > 0 && s->wc > 0)
        t[n++] = ref_tensor("w", dt, 2, s->wr, s->wc, 0, w);
    t[n++] = ref_tensor("out", dt, 3, s->L, s->H, s->D, out);
    return n;
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
    pecs_tensor t[5];
    int nt = kio_tensors(t, PECS_DT_F64, s, s->q, s->k, s->v, s->w, s->out);
    pecs_problem p = ref_problem(c);
    p.tensors = t, p.n_tensors = nt;
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "%s", why);
}

/* The scalar backend in f32 (inputs rounded to f32 first), outputs widened into `out` [L * H * D]. */
static inline void kio_run_scalar(const pecs_case *c, const kio *s, double *out)
{
    int64_t nq = s->L * s->H * s->D, nk = s->Lk * s->H * s->D, nw = s->wr * s->wc;
    float *q = calloc((size_t)nq, 4), *k = calloc((size_t)nk, 4), *v = calloc((size_t)nk, 4),
          *w = calloc((size_t)(nw ? nw : 1), 4), *o = calloc((size_t)nq, 4);
    cr_assert(q && k && v && w && o);
    for (int64_t i = 0; i < nq; i++)
        q[i] = (float)s->q[i];
    for (int64_t i = 0; i < nk; i++)
        k[i] = (float)s->k[i], v[i] = (float)s->v[i];
    for (int64_t i = 0; i < nw; i++)
        w[i] = (float)s->w[i];
    pecs_tensor t[5];
    int nt = kio_tensors(t, PECS_DT_F32, s, q, k, v, w, o);
    pecs_problem p = ref_problem(c);
    p.dtype = PECS_DT_F32;
    p.tensors = t, p.n_tensors = nt;
    pecs_loaded_backend *lb = ref_scalar_backend();
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "%s", why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of %s", c->enc->id);
    for (int64_t i = 0; i < nq; i++)
        out[i] = o[i];
    free(q), free(k), free(v), free(w), free(o);
}

/* The reference (to ref_tol) and the scalar kernel (to scalar_tol, f32 storage) both give `want`, relative to
 * 1 + |want|. */
static inline void kio_expect_within(const pecs_case *c, kio *s, const double *want, const char *what, double ref_tol,
                                     double scalar_tol)
{
    int64_t n = s->L * s->H * s->D;
    double *sc = calloc((size_t)n, sizeof *sc);
    cr_assert_not_null(sc);
    kio_run_ref(c, s);
    kio_run_scalar(c, s, sc);
    for (int64_t i = 0; i < n; i++) {
        cr_expect(fabs(s->out[i] - want[i]) <= ref_tol * (1.0 + fabs(want[i])), "%s: reference out[%lld] = %.17g, want %.17g",
                  what, (long long)i, s->out[i], want[i]);
        cr_expect(fabs(sc[i] - want[i]) <= scalar_tol * (1.0 + fabs(want[i])), "%s: scalar out[%lld] = %.9g, want %.9g", what,
                  (long long)i, sc[i], want[i]);
    }
    free(sc);
}

/* The same to 1e-13 (reference) and 1e-5 (scalar). */
static inline void kio_expect_both(const pecs_case *c, kio *s, const double *want, const char *what)
{
    kio_expect_within(c, s, want, what, 1e-13, 1e-5);
}

#endif
