/* impls/simd/embed_body.h — embed-form tokens (out = x + P(pos)), included by avx2.c and avx512.c after
 * pairwise_body.h (nt_lead and the vector macros). Defines embed_units(), the kernel of simd_kernels.
 *
 * Per token the table row P is built from the angles a_k = q * f_k (frequencies from job.c): each angle is
 * formed and reduced mod 2 pi in double (k = rint(a / 2pi), r = a - k C1 - k C2 with C1 + C2 = 2pi to 2^-106,
 * FMAs: r is right to ~1e-16 for any position below 2^50), split as r = hi + lo in f32, and its sine and
 * cosine taken by SLEEF's 1-ulp f32 sincos of hi, corrected to first order:
 *     sin r = sin hi + lo cos hi,  cos r = cos hi - lo sin hi   (|lo| < 2^-23: the next term is < 1e-13)
 * Sixteen f32 lanes per sincos instead of eight double ones: the table is not amortized over heads here,
 * so its cost is the kernel's. The row is laid out as the encoding wants:
 *     sinusoidal         P = [sin a0, cos a0, sin a1, cos a1, ...]           (tensor2tensor/Vaswani order;
 *                                                                            lanes interleaved in registers)
 *     sinusoidal.concat  P = [sin a0 .. sin a(D/2-1), cos a0 .. cos a(D/2-1)] (fairseq; odd D: last 0;
 *                                                                            padding_idx >= 0: P = 0 at
 *                                                                            position -1, the pad row)
 *     learned            P = row pos of the weight table w
 *     nope               P = 0
 * then added to x with vector loads/stores in the storage dtype.
 */

static inline __attribute__((always_inline)) void add_row(void *orow, const void *xr, const float *P, int64_t n,
                                                           pecs_dtype dt, int nt)
{
    int64_t j = 0, lead = nt ? nt_lead(orow, pecs_dtype_size(dt), n) : -1;
    if (lead >= 0) {
        for (; j < lead; j++)
            pecs_store_f32(orow, dt, j, pecs_load_f32(xr, dt, j) + P[j]);
        for (; j + 2 * VW <= n; j += 2 * VW)
            stream2_dt(orow, j, ADD(load_dt(xr, j, dt), LOADU(P + j)), ADD(load_dt(xr, j + VW, dt), LOADU(P + j + VW)),
                       dt);
        for (; j + VW <= n; j += VW)
            stream_dt(orow, j, ADD(load_dt(xr, j, dt), LOADU(P + j)), dt);
    }
    for (; j + VW <= n; j += VW)
        store_dt(orow, j, ADD(load_dt(xr, j, dt), LOADU(P + j)), dt);
    for (; j < n; j++)
        pecs_store_f32(orow, dt, j, pecs_load_f32(xr, dt, j) + P[j]);
}

/* sin and cos of q * f[k] for the VW pairs k0 .. k0 + VW - 1 (f padded to whole vectors by job.c). */
static inline __attribute__((always_inline)) void sincos_vec(double q, const double *f, VF *s, VF *c)
{
    VF hi, lo, s0, c0;
    REDUCE_ANGLES(q, f, hi, lo);
    SINCOSF(hi, s0, c0);
    *s = FMADD(lo, c0, s0);
    *c = FNMADD(lo, s0, c0);
}

static inline __attribute__((always_inline)) void embed_dt(const simd_job *jb, int64_t t0, int64_t t1, float *scratch,
                                                            pecs_dtype dt)
{
    const pecs_problem *p = jb->p;
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w");
    int64_t D = x->shape[1], Dp = SIMD_EMBED_PAD(D), half = D / 2;
    size_t esz = pecs_dtype_size(dt);
    float *P = scratch, *sn = scratch + Dp, *cs = sn + Dp;
    const double *f = (const double *)(const void *)jb->tab;
    int64_t pad = pecs_param_int(p, "padding_idx", -1);
    if (jb->emb == SIMD_EMB_NOPE)
        memset(P, 0, (size_t)D * sizeof *P);
    for (int64_t t = t0; t < t1; t++) {
        double q = pecs_pos_at(pos, 0, t);
        const float *row = P;
        switch (jb->emb) {
        case SIMD_EMB_SIN: /* P[2k], P[2k+1] = sin, cos: an odd D's last cos lands in the padding */
            for (int64_t k = 0; 2 * k < D; k += VW) {
                VF sv, cv, lo, hi;
                sincos_vec(q, f + k, &sv, &cv);
                INTERLEAVE(sv, cv, lo, hi);
                STOREU(P + 2 * k, lo);
                STOREU(P + 2 * k + VW, hi);
            }
            break;
        case SIMD_EMB_SIN_CONCAT:
            if (pad >= 0 && q == -1.0) { /* a pad token: fairseq's zero row padding_idx */
                memset(P, 0, (size_t)D * sizeof *P);
                break;
            }
            for (int64_t k = 0; k < half; k += VW) {
                VF sv, cv;
                sincos_vec(pad >= 0 ? q + (double)(pad + 1) : q, f + k, &sv, &cv);
                STOREU(sn + k, sv);
                STOREU(cs + k, cv);
            }
            memcpy(P, sn, (size_t)half * sizeof *P);
            memcpy(P + half, cs, (size_t)half * sizeof *P);
            if (D % 2)
                P[D - 1] = 0.0f;
            break;
        case SIMD_EMB_LEARNED: {
            int64_t r = (int64_t)q; /* checked integral and in range by job.c */
            const char *wr = (const char *)w->data + (size_t)(r * w->stride[0]) * pecs_dtype_size(w->dtype);
            if (w->dtype == PECS_DT_F32)
                row = (const float *)(const void *)wr;
            else {
                int64_t d = 0;
                if (w->dtype == PECS_DT_F16 || w->dtype == PECS_DT_BF16)
                    for (; d + VW <= D; d += VW)
                        STOREU(P + d, w->dtype == PECS_DT_F16 ? load_dt(wr, d, PECS_DT_F16) : load_dt(wr, d, PECS_DT_BF16));
                for (; d < D; d++)
                    P[d] = pecs_load_f32(wr, w->dtype, d);
            }
            break;
        }
        case SIMD_EMB_NOPE: break;
        }
        add_row((char *)out->data + (size_t)(t * out->stride[0]) * esz,
                (const char *)x->data + (size_t)(t * x->stride[0]) * esz, row, D, dt, jb->nt);
    }
}

SIMD_UNITS_BY_DTYPE(embed_units, embed_dt)
