/* impls/scalar/rotate.c — the rotate kernel of the scalar backend (schedules: impls/common/schedule.c).
 *
 * cos/sin are computed once per token (shared by all heads) from a double angle pos*inv_freq and
 * rounded to f32; the pair rotation itself is f32 arithmetic on values loaded from storage.
 */
#include <math.h>
#include <stdlib.h>

#include "scalar.h"

/* A block schedule (ComRoPE): per (token, head, block) E = prod_i exp(pos[i][t] B_ij) in double (the factors
 * commute), rounded to f32; the block product E x is f32 arithmetic. */
static pecs_status rotate_blocks(const pecs_problem *p, const scalar_sched *sc, const pecs_tensor *x,
                                 const pecs_tensor *pos, const pecs_tensor *out)
{
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], R = sc->R, b = sc->block, m = R / b, nb = b * b;
    int64_t rows = pos->ndim == 2 ? pos->shape[0] : 1;
    if (!sc->gen || sc->gen_rows > rows)
        return PECS_INVALID;
    double *buf = malloc((size_t)(5 * nb) * sizeof *buf);
    float *ef = malloc((size_t)(nb + b) * sizeof *ef);
    pecs_status st = buf && ef ? PECS_OK : PECS_NOMEM;
    double *A = buf, *F = st == PECS_OK ? buf + nb : NULL, *E = st == PECS_OK ? buf + 2 * nb : NULL,
           *work = st == PECS_OK ? buf + 3 * nb : NULL;
    float *xin = st == PECS_OK ? ef + nb : NULL;
    for (int64_t t = 0; st == PECS_OK && t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            int64_t xo = t * x->stride[0] + h * x->stride[1], oo = t * out->stride[0] + h * out->stride[1];
            int64_t xs = x->stride[2], os = out->stride[2];
            for (int64_t j = 0; j < m; j++) {
                for (int64_t e = 0; e < nb; e++)
                    E[e] = e % (b + 1) == 0 ? 1.0 : 0.0;
                for (int64_t i = 0; i < sc->gen_rows; i++) {
                    const double *B = sc->gen + ((h * sc->gen_rows + i) * m + j) * nb;
                    double pi = pecs_pos_at(pos, i, t);
                    for (int64_t e = 0; e < nb; e++)
                        A[e] = pi * B[e];
                    impl_expm(A, b, F, work);
                    for (int64_t r = 0; r < b; r++) /* E = E F, through work */
                        for (int64_t c = 0; c < b; c++) {
                            double acc = 0.0;
                            for (int64_t q = 0; q < b; q++)
                                acc += E[r * b + q] * F[q * b + c];
                            work[r * b + c] = acc;
                        }
                    for (int64_t e = 0; e < nb; e++)
                        E[e] = work[e];
                }
                for (int64_t e = 0; e < nb; e++)
                    ef[e] = (float)E[e];
                for (int64_t c = 0; c < b; c++) /* the whole block first: out may be x (in place) */
                    xin[c] = pecs_load_f32(x->data, x->dtype, xo + (j * b + c) * xs);
                for (int64_t r = 0; r < b; r++) {
                    float acc = 0.0f;
                    for (int64_t c = 0; c < b; c++)
                        acc += ef[r * b + c] * xin[c];
                    pecs_store_f32(out->data, out->dtype, oo + (j * b + r) * os, acc);
                }
            }
            if (!p->in_place)
                for (int64_t d = R; d < D; d++)
                    pecs_store_f32(out->data, out->dtype, oo + d * os, pecs_load_f32(x->data, x->dtype, xo + d * xs));
        }
    free(buf);
    free(ef);
    return st;
}

/* PSC's gate of one head (scalar_sched.gate): xg = x * (1 + tanh(silu(x U_h) V_h) / 2) from the f32 lanes, the two
 * products in double (w read in its dtype), each lane rounded to f32 once. a: D doubles of scratch. */
static void gate_head(const scalar_sched *sc, const pecs_tensor *x, int64_t xo, int64_t h, float *xg, double *a)
{
    const pecs_tensor *w = sc->gate;
    int64_t D = x->shape[2], H = x->shape[1], u0 = sc->gate_row0 + h * D, v0 = sc->gate_row0 + (H + h) * D;
    for (int64_t i = 0; i < D; i++)
        xg[i] = pecs_load_f32(x->data, x->dtype, xo + i * x->stride[2]);
    for (int64_t r = 0; r < D; r++) {
        double acc = 0.0;
        for (int64_t i = 0; i < D; i++)
            acc += (double)xg[i] * pecs_load_f64(w->data, w->dtype, (u0 + i) * w->stride[0] + r * w->stride[1]);
        a[r] = acc / (1.0 + exp(-acc));
    }
    for (int64_t j = 0; j < D; j++) {
        double acc = 0.0;
        for (int64_t r = 0; r < D; r++)
            acc += a[r] * pecs_load_f64(w->data, w->dtype, (v0 + r) * w->stride[0] + j * w->stride[1]);
        xg[j] = (float)((double)xg[j] * (1.0 + 0.5 * tanh(acc)));
    }
}

pecs_status scalar_rotate(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!x || !pos || !out || x->ndim != 3)
        return PECS_INVALID;
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], R = impl_rotary_dim(p, D);
    if (!R)
        return PECS_INVALID;
    int64_t n = R / 2;
    scalar_sched sc;
    pecs_status st = impl_schedule(p, R, &sc);
    if (st != PECS_OK)
        return st;
    if (sc.block > 0) {
        st = rotate_blocks(p, &sc, x, pos, out);
        impl_schedule_free(&sc);
        return st;
    }
    float *cs = malloc((size_t)(n * 2 + (sc.gate ? D : 0)) * sizeof *cs), *xg = cs ? cs + 2 * n : NULL;
    double *ga = sc.gate ? malloc((size_t)D * sizeof *ga) : NULL;
    if (!cs || (sc.gate && !ga)) {
        free(cs);
        free(ga);
        impl_schedule_free(&sc);
        return PECS_NOMEM;
    }
    int half = pecs_param_is(p, "pairing", "half");
    int64_t da = half ? 1 : 2, db = half ? n : 1; /* lane of pair i: a = i*da, b = a + db */
    int per_head = sc.head_scale || sc.phase; /* Ms-PoE, MHRoPE, Selective RoPE: the table is per (token, head) */
    for (int64_t t = 0; t < T; t++) {
        for (int64_t h = 0; h < H; h++) {
            for (int64_t i = 0; (h == 0 || per_head) && i < n; i++) {
                double a = impl_angle(&sc, pos, t, h, i), g = impl_gain(&sc, pos, t, i);
                int imag = sc.head_imag && sc.head_imag[h]; /* RoPE++: x sin a - rot(x) cos a */
                cs[2 * i] = (float)((imag ? sin(a) : cos(a)) * g);
                cs[2 * i + 1] = (float)((imag ? -cos(a) : sin(a)) * g);
            }
            int64_t xo = t * x->stride[0] + h * x->stride[1], oo = t * out->stride[0] + h * out->stride[1];
            int64_t xs = x->stride[2], os = out->stride[2];
            if (sc.gate)
                gate_head(&sc, x, xo, h, xg, ga);
            for (int64_t i = 0; i < n; i++) {
                int64_t a = i * da, b = a + db;
                float x0 = sc.gate ? xg[a] : pecs_load_f32(x->data, x->dtype, xo + a * xs);
                float x1 = sc.gate ? xg[b] : pecs_load_f32(x->data, x->dtype, xo + b * xs);
                float c = cs[2 * i], s = cs[2 * i + 1];
                pecs_store_f32(out->data, out->dtype, oo + a * os, x0 * c - x1 * s);
                pecs_store_f32(out->data, out->dtype, oo + b * os, x0 * s + x1 * c);
            }
            if (!p->in_place)
                for (int64_t d = R; d < D; d++)
                    pecs_store_f32(out->data, out->dtype, oo + d * os, pecs_load_f32(x->data, x->dtype, xo + d * xs));
        }
    }
    free(cs);
    free(ga);
    impl_schedule_free(&sc);
    return st;
}
