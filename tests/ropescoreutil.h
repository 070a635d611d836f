/* tests/ropescoreutil.h — one scores problem in double for the RoPE-logit scores rows (rope.windowed, rope.gali):
 * q [Lq, H, D], k [Lk, H, D], qpos [Lq], kpos [Lk], out [H, Lq, Lk]; random inputs, the reference, a backend in float32
 * (the scalar one or a mutant row, in process), an element check with -inf where the row masks, and plain RoPE
 * written out as the independent oracle. Header-only, static, like refutil.h, which it builds on. */
#ifndef PECS_TESTS_ROPESCOREUTIL_H
#define PECS_TESTS_ROPESCOREUTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "reference.h"
#include "refutil.h"
#include "testutil.h"

typedef struct wr_io {
    int64_t H, D, Lq, Lk;
    double *q, *k, *qpos, *kpos;
} wr_io;

static double *wr_alloc(int64_t n)
{
    double *d = calloc((size_t)(n > 0 ? n : 1), sizeof *d);
    cr_assert_not_null(d);
    return d;
}

/* Random q, k in [-1, 1) (a fixed LCG), positions q0 + i and k0 + j. */
static wr_io wr_random(int64_t H, int64_t D, int64_t Lq, int64_t Lk, double q0, double k0, uint64_t seed)
{
    wr_io s = {.H = H, .D = D, .Lq = Lq, .Lk = Lk};
    s.q = wr_alloc(Lq * H * D), s.k = wr_alloc(Lk * H * D), s.qpos = wr_alloc(Lq), s.kpos = wr_alloc(Lk);
    uint64_t x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (int64_t n = 0; n < Lq * H * D + Lk * H * D; n++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        double v = (double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        if (n < Lq * H * D)
            s.q[n] = v;
        else
            s.k[n - Lq * H * D] = v;
    }
    for (int64_t i = 0; i < Lq; i++)
        s.qpos[i] = q0 + (double)i;
    for (int64_t j = 0; j < Lk; j++)
        s.kpos[j] = k0 + (double)j;
    return s;
}

static void wr_free(wr_io *s)
{
    free(s->q), free(s->k), free(s->qpos), free(s->kpos);
}

static pecs_problem wr_problem(const pecs_case *c, pecs_dtype dt, pecs_tensor t[5], const wr_io *s, void *q, void *k,
                               void *out)
{
    pecs_problem p = ref_problem(c);
    t[0] = ref_tensor("q", dt, 3, s->Lq, s->H, s->D, q);
    t[1] = ref_tensor("k", dt, 3, s->Lk, s->H, s->D, k);
    t[2] = ref_tensor("qpos", PECS_DT_F64, 1, s->Lq, 0, 0, s->qpos);
    t[3] = ref_tensor("kpos", PECS_DT_F64, 1, s->Lk, 0, 0, s->kpos);
    t[4] = ref_tensor("out", dt, 3, s->H, s->Lq, s->Lk, out);
    p.dtype = dt, p.tensors = t, p.n_tensors = 5;
    return p;
}

static void wr_ref(const pecs_case *c, const wr_io *s, double *out)
{
    pecs_tensor t[5];
    pecs_problem p = wr_problem(c, PECS_DT_F64, t, s, s->q, s->k, out);
    char why[256] = "";
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_OK, "reference: %s", why);
}

static float *wr_f32(const double *d, int64_t n)
{
    float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    cr_assert_not_null(f);
    for (int64_t i = 0; i < n; i++)
        f[i] = (float)d[i];
    return f;
}

/* The problem in float32 on a backend: "scalar" or a mutant row name (build/mutants/libpecs-mutant-NAME.so, loaded
 * in process). */
static void wr_backend(const char *name, const pecs_case *c, const wr_io *s, double *out)
{
    char path[512], why[512] = "";
    pecs_loaded_backend lb;
    pecs_backend_opts bo = {.isolate = 0};
    if (strcmp(name, "scalar"))
        snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-%s.so", tu_env("PECS_BUILD", "build"), name);
    else
        snprintf(path, sizeof path, "scalar");
    cr_assert_eq(pecs_backend_open(path, &bo, &lb, why, sizeof why), PECS_OK, "%s: %s", path, why);
    int64_t n = s->H * s->Lq * s->Lk;
    float *q = wr_f32(s->q, s->Lq * s->H * s->D), *k = wr_f32(s->k, s->Lk * s->H * s->D),
          *of = malloc((size_t)n * sizeof *of);
    cr_assert_not_null(of);
    pecs_tensor t[5];
    pecs_problem p = wr_problem(c, PECS_DT_F32, t, s, q, k, of);
    cr_assert(lb.b->supports(lb.b->ctx, &p, why, sizeof why), "%s does not support %s: %s", name, c->enc->id, why);
    cr_assert_eq(lb.b->run(lb.b->ctx, &p), PECS_OK, "%s run", name);
    for (int64_t i = 0; i < n; i++)
        out[i] = of[i];
    free(q), free(k), free(of);
    pecs_backend_unload(&lb);
}

static void wr_expect(const char *what, const double *got, const double *want, int64_t n, double tol)
{
    for (int64_t e = 0; e < n; e++) {
        if (isinf(want[e])) {
            cr_expect(isinf(got[e]) && got[e] < 0, "%s [%lld] = %.17g, want -inf", what, (long long)e, got[e]);
            continue;
        }
        cr_expect(fabs(got[e] - want[e]) <= tol * (1.0 + fabs(want[e])), "%s [%lld] = %.17g, want %.17g", what,
                  (long long)e, got[e], want[e]);
    }
}

/* Plain RoPE logit of q_i at position m against k_j at n, the rotation written out (not the pair formula of the
 * reference): each channel pair (a, b), half (HF rotate_half) or interleaved, by the angle pos * base^(-2f/D), then
 * the dot product over sqrt(D). */
static double plain_rope(const wr_io *s, int64_t h, int64_t i, int64_t j, double m, double n, double base, int half)
{
    int64_t D = s->D, F = D / 2;
    double acc = 0.0;
    for (int64_t f = 0; f < F; f++) {
        int64_t a = half ? f : 2 * f, b = half ? f + F : 2 * f + 1;
        double w = pow(base, -(double)(2 * f) / (double)D);
        const double *qi = s->q + (i * s->H + h) * D, *kj = s->k + (j * s->H + h) * D;
        double qa = qi[a] * cos(m * w) - qi[b] * sin(m * w), qb = qi[b] * cos(m * w) + qi[a] * sin(m * w);
        double ka = kj[a] * cos(n * w) - kj[b] * sin(n * w), kb = kj[b] * cos(n * w) + kj[a] * sin(n * w);
        acc += qa * ka + qb * kb;
    }
    return acc / sqrt((double)D);
}

#endif
