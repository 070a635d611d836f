/* impls/simd/embed_body.h — embed-form tokens (out = x + P(pos)), included by avx2.c and avx512.c after
 * pairwise_body.h (nt_lead and the vector macros). Defines embed_units(), the kernel of simd_kernels.
 *
 * Sinusoidal rows along runs of contiguous rows come from a double recurrence (sin_table_row below); otherwise
 * per token the table row P is built from the angles a_k = q * f_k (frequencies from job.c): each angle is
 * formed and reduced mod 2 pi in double (k = rint(a / 2pi), r = a - k C1 - k C2 with C1 + C2 = 2pi to 2^-106,
 * FMAs: r is right to ~1e-16 for any position below 2^50), split as r = hi + lo in f32, and its sine and
 * cosine taken by SLEEF's 1-ulp f32 sincos of hi, corrected to first order:
 *     sin r = sin hi + lo cos hi,  cos r = cos hi - lo sin hi   (|lo| < 2^-23: the next term is < 1e-13)
 * Sixteen f32 lanes per sincos instead of eight double ones: the table is not amortized over heads here,
 * so its cost is the kernel's. The row is laid out as the encoding wants:
 *     sinusoidal         P = [sin a0, cos a0, sin a1, cos a1, ...]           (tensor2tensor/Vaswani order;
 *                                                                            lanes interleaved in registers)
 *     sinusoidal.concat  P = [sin a0 .. sin a(D/2-1), cos a0 .. cos a(D/2-1)] (fairseq; odd D: last 0;
 *     ldpe, pia                                                              the angles of table row r, or
 *                                                                            P = 0 for the pad row: r and
 *                                                                            the pad rule are
 *                                                                            impl_concat_row's)
 *     learned            P = row pos of the weight table w
 *     sigma_gpt          P = [row pos[0] | row pos[1]] of the half-width table w (learned's gather, two segments)
 *     nope               P = 0
 *     fourier            P = MLP(features of pos) (fourier_row below: double vectors, not the f32 sincos)
 * then added to x with vector loads/stores in the storage dtype.
 */

static inline __attribute__((always_inline)) void add_row(void *orow, const void *xr, const void *P, pecs_dtype pdt,
                                                           int64_t n, pecs_dtype dt, int nt)
{
    int64_t j = 0, lead = nt ? nt_lead(orow, pecs_dtype_size(dt), n) : -1;
    if (lead >= 0) {
        for (; j < lead; j++)
            pecs_store_f32(orow, dt, j, pecs_load_f32(xr, dt, j) + pecs_load_f32(P, pdt, j));
        for (; j + 2 * VW <= n; j += 2 * VW)
            put2_dt(orow, j, ADD(load_dt(xr, j, dt), load_dt(P, j, pdt)),
                    ADD(load_dt(xr, j + VW, dt), load_dt(P, j + VW, pdt)), dt, 1);
        for (; j + VW <= n; j += VW)
            stream_dt(orow, j, ADD(load_dt(xr, j, dt), load_dt(P, j, pdt)), dt);
    }
    for (; dt != PECS_DT_F32 && j + 2 * VW <= n; j += 2 * VW) {
        own_ahead(orow, j, pecs_dtype_size(dt));
        put2_dt(orow, j, ADD(load_dt(xr, j, dt), load_dt(P, j, pdt)),
                ADD(load_dt(xr, j + VW, dt), load_dt(P, j + VW, pdt)), dt, 0);
    }
    for (; j + VW <= n; j += VW) {
        own_ahead(orow, j, pecs_dtype_size(dt));
        store_dt(orow, j, ADD(load_dt(xr, j, dt), load_dt(P, j, pdt)), dt);
    }
    for (; j < n; j++)
        pecs_store_f32(orow, dt, j, pecs_load_f32(xr, dt, j) + pecs_load_f32(P, pdt, j));
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

/* fourier's row for position q (learnable Fourier features, 1-D; the table layout is docs/encodings.md's): features
 * f = [cos(q Wr_k) | sin(q Wr_k)] / sqrt(F) by SLEEF's double sincos (full range reduction: exact products, any
 * position below 2^50), hidden g_r = GELU(B1_r + f . W1_r) with libm's erf (|H| calls per token, the scalar
 * backend's), P = B2 + sum_r g_r W2_r. The dots and the row are accumulated in double vectors, r in order for
 * each element as the scalar backend does, and P rounded to f32 once: the f32 budget of the exact level holds
 * at any |H| (a float32 sum over thousands of hidden units would not). sc: the token's doubles (job.c). */
static inline __attribute__((always_inline)) void fourier_row(const simd_job *jb, double q, int64_t D, double *sc,
                                                               float *P)
{
    int64_t F = jb->F, h = F / 2, Hd = jb->hidden, ld = jb->fw_ld, hp = SIMD_FOURIER_HP(F), k, d = 0;
    const float *W = jb->fw, *wr = W + Hd * ld, *b2 = wr + F + 1; /* row Hd: Wr in columns 0..h-1, B2 from F+1 */
    double *ang = sc, *fc = ang + hp, *fs = fc + hp, *g = fs + hp;
    VDT inv = SET1D(1.0 / sqrt((double)F));
    for (k = 0; k < h; k++)
        ang[k] = q * (double)wr[k];
    for (; k % VD; k++) /* whole vectors: the padding lanes' features are never read */
        ang[k] = 0.0;
    for (k = 0; k < h; k += VD) {
        VDT sv, cv;
        SINCOS(ang + k, sv, cv);
        STORED(fc + k, MULD(cv, inv));
        STORED(fs + k, MULD(sv, inv));
    }
    for (int64_t r = 0; r < Hd; r++) {
        const float *w1 = W + r * ld;
        VDT a0 = ZEROD(), a1 = ZEROD();
        for (k = 0; k + VD <= h; k += VD) {
            a0 = FMADDD(LOADD(fc + k), LOADF_PD(w1 + k), a0);
            a1 = FMADDD(LOADD(fs + k), LOADF_PD(w1 + h + k), a1);
        }
        double z = (double)w1[F] + HSUMD(ADDD(a0, a1));
        for (; k < h; k++)
            z += fc[k] * (double)w1[k] + fs[k] * (double)w1[h + k];
        g[r] = 0.5 * z * (1.0 + erf(z * 0.70710678118654752440));
    }
    for (; d + 4 * VD <= D; d += 4 * VD) { /* four independent chains over r */
        const float *w2 = W + F + 1 + d;
        VDT a0 = LOADF_PD(b2 + d), a1 = LOADF_PD(b2 + d + VD), a2 = LOADF_PD(b2 + d + 2 * VD),
            a3 = LOADF_PD(b2 + d + 3 * VD);
        for (int64_t r = 0; r < Hd; r++, w2 += ld) {
            VDT gv = SET1D(g[r]);
            a0 = FMADDD(gv, LOADF_PD(w2), a0);
            a1 = FMADDD(gv, LOADF_PD(w2 + VD), a1);
            a2 = FMADDD(gv, LOADF_PD(w2 + 2 * VD), a2);
            a3 = FMADDD(gv, LOADF_PD(w2 + 3 * VD), a3);
        }
        STORE_PD_AS_PS(P + d, a0);
        STORE_PD_AS_PS(P + d + VD, a1);
        STORE_PD_AS_PS(P + d + 2 * VD, a2);
        STORE_PD_AS_PS(P + d + 3 * VD, a3);
    }
    for (; d + VD <= D; d += VD) {
        const float *w2 = W + F + 1 + d;
        VDT a = LOADF_PD(b2 + d);
        for (int64_t r = 0; r < Hd; r++, w2 += ld)
            a = FMADDD(SET1D(g[r]), LOADF_PD(w2), a);
        STORE_PD_AS_PS(P + d, a);
    }
    for (; d < D; d++) {
        double a = (double)b2[d];
        for (int64_t r = 0; r < Hd; r++)
            a += g[r] * (double)W[r * ld + F + 1 + d];
        P[d] = (float)a;
    }
}

/* The table row of token t for the sinusoidal rows: 1 and the row (its angle multiplier) in *r, or 0 for
 * fairseq's zero pad row (sinusoidal.concat, pia, ldpe). */
static inline int sin_row_of(const simd_job *jb, const pecs_tensor *pos, int64_t t, double *r)
{
    double q = pecs_pos_at(pos, 0, t);
    if (jb->emb == SIMD_EMB_SIN_CONCAT)
        return impl_concat_row(&jb->cc, q, r) > 0;
    *r = q;
    return 1;
}

/* 1 if token t, of row r, continues token t - 1's run: not at a block start, and t - 1's row is r - 1. */
static inline int sin_continues(const simd_job *jb, const pecs_tensor *pos, int64_t t, double r)
{
    double rp;
    return t % SIMD_SIN_BLOCK != 0 && sin_row_of(jb, pos, t - 1, &rp) && r == rp + 1.0;
}

/* ds, dc = sin, cos of r f_k for the first n pairs: reduced in double, SLEEF's double sincos (3.5 ulp). */
static inline void sin_seed(double r, const double *f, int64_t n, double *ds, double *dc)
{
    for (int64_t k = 0; k < n; k += VD) {
        VDT s, c;
        STORED(ds + k, REDUCE_D(r, f + k));
        SINCOS(ds + k, s, c);
        STORED(ds + k, s);
        STORED(dc + k, c);
    }
}

/* The state's pairs k .. k + VD - 1 in f32 into the row: interleaved at P + 2k, or at sn + k and cs + k. */
static inline __attribute__((always_inline)) void sin_put(VDT s, VDT c, int64_t k, int concat, float *P, float *sn,
                                                          float *cs)
{
    if (!concat)
        STOREU(P + 2 * k, SC_INTERLEAVE(s, c));
    else {
        STORE_PD_AS_PS(sn + k, s);
        STORE_PD_AS_PS(cs + k, c);
    }
}

/* Pairs k .. n - 1 one row further and (put) the new row into P in the same pass over the state. */
static inline __attribute__((always_inline)) void sin_step(const double *cf, const double *sf, int64_t k, int64_t n,
                                                           double *ds, double *dc, int put, int concat, float *P,
                                                           float *sn, float *cs)
{
    for (; k < n; k += VD) {
        VDT s, c;
        rec_rot(cf, sf, k, ds, dc, &s, &c);
        if (put)
            sin_put(s, c, k, concat, P, sn, cs);
    }
}

/* How far ahead of its loads sin_step_add prefetches x, in bytes. Its loop is long enough (the step, the
 * conversion, the add) that too few loads of x are in flight for the hardware prefetcher alone: on the 2-core
 * EPYC VM, 4096 took the f32 4096x4096 case from 0.5 to 0.7 of its streaming-store roofline (1024: 0.65). */
#define SIMD_EMBED_PREFETCH 4096

/* Pairs k .. k + VD - 1 one row further, interleaved and added to x's vector at element 2k (x prefetched ahead). */
static inline __attribute__((always_inline)) VF sin_add_vec(const double *cf, const double *sf, int64_t k, double *ds,
                                                            double *dc, const void *xr, pecs_dtype dt)
{
    VDT s, c;
    rec_rot(cf, sf, k, ds, dc, &s, &c);
    __builtin_prefetch((const char *)xr + (size_t)(2 * k) * pecs_dtype_size(dt) + SIMD_EMBED_PREFETCH);
    return ADD(load_dt(xr, 2 * k, dt), SC_INTERLEAVE(s, c));
}

/* The same step for the interleaved layout, each vector of the new row added to x's and stored to out at once
 * (so the loads of x overlap the arithmetic instead of waiting for a whole row of it), as far as whole vectors
 * of out go; returns the pairs done. The bits are sin_step's and add_row's. A prefetch past the end of x reads
 * nothing (prefetches do not fault). */
static inline __attribute__((always_inline)) int64_t sin_step_add(const double *cf, const double *sf, int64_t D,
                                                                   double *ds, double *dc, void *orow, const void *xr,
                                                                   pecs_dtype dt, int nt)
{
    int64_t k = 0;
    for (; 2 * k + 2 * VW <= D; k += 2 * VD) { /* two vectors of out per store (whole lines for 16-bit dtypes) */
        if (!nt)
            own_ahead(orow, 2 * k, pecs_dtype_size(dt));
        VF o0 = sin_add_vec(cf, sf, k, ds, dc, xr, dt), o1 = sin_add_vec(cf, sf, k + VD, ds, dc, xr, dt);
        put2_dt(orow, 2 * k, o0, o1, dt, nt);
    }
    for (; 2 * k + VW <= D; k += VD) {
        VF o = sin_add_vec(cf, sf, k, ds, dc, xr, dt);
        if (nt)
            stream_dt(orow, 2 * k, o, dt);
        else
            store_dt(orow, 2 * k, o, dt);
    }
    return k;
}

/* Token t's sinusoidal row P. Within a run of tokens whose rows step by +1 (the usual contiguous positions) the
 * sines and cosines come from the double angle-addition recurrence above, started from a sincos at the run's
 * first token: four double FMAs per pair instead of a sincos, which made this kernel compute-bound (0.3 of the
 * copy roofline). A run restarts at every token index that is a multiple of SIMD_SIN_BLOCK and a thread that
 * starts inside a run first walks back to the run's start, so every token's bits are a function of the positions
 * alone, whatever the split over threads (the determinism repeat compares them across thread counts). Error:
 * the seed's 3.5 double ulps plus ~2 per step, below 1e-13 after 63 steps, so the f32 row is the rounded value
 * but for ties closer than that. A token alone in its run (any other position pattern) takes the f32 sincos with
 * the first-order correction (sincos_vec). ds holds the state, dc = ds + SIMD_SIN_NP(D); *live says it holds
 * token t - 1's row *rprev. Layouts: sinusoidal P = [sin a0, cos a0, sin a1, ...] (an odd D's last cos lands in
 * the padding); concat P = [sin a0 .. sin a(D/2-1), cos a0 .. cos a(D/2-1)], odd D: last 0; the pad row 0. */
static inline __attribute__((always_inline)) int sin_table_row(const simd_job *jb, const pecs_tensor *pos,
                                                               int64_t t, int64_t D, float *P, double *ds, int *live,
                                                               double *rprev, void *orow, const void *xr,
                                                               pecs_dtype dt)
{
    int64_t np = SIMD_SIN_NP(D), Dp = SIMD_EMBED_PAD(D), concat = jb->emb == SIMD_EMB_SIN_CONCAT,
            n = concat ? D / 2 : (D + 1) / 2;
    const double *f = (const double *)(const void *)jb->tab, *cf = f + np, *sf = cf + np;
    double *dc = ds + np, r, rs, rn;
    float *sn = P + Dp, *cs = sn + Dp;
    if (!sin_row_of(jb, pos, t, &r)) { /* fairseq's zero pad row (rows checked by job.c) */
        memset(P, 0, (size_t)D * sizeof *P);
        *live = 0;
        return 0;
    }
    if (*live && t % SIMD_SIN_BLOCK != 0 && r == *rprev + 1.0) {
        if (!concat && (!jb->nt || nt_lead(orow, pecs_dtype_size(dt), D) == 0)) { /* out written here */
            int64_t k = sin_step_add(cf, sf, D, ds, dc, orow, xr, dt, jb->nt);
            size_t done = (size_t)(2 * k) * pecs_dtype_size(dt);
            sin_step(cf, sf, k, n, ds, dc, 1, 0, P, sn, cs); /* the last pairs, fewer than a vector of out */
            add_row((char *)orow + done, (const char *)xr + done, P + 2 * k, PECS_DT_F32, D - 2 * k, dt, jb->nt);
            *rprev = r;
            return 1;
        }
        sin_step(cf, sf, 0, n, ds, dc, 1, (int)concat, P, sn, cs);
    } else {
        int64_t s = t;
        for (rs = r; sin_continues(jb, pos, s, rs); s--)
            sin_row_of(jb, pos, s - 1, &rs);
        *live = s < t || (t + 1 < jb->units && sin_row_of(jb, pos, t + 1, &rn) && sin_continues(jb, pos, t + 1, rn));
        if (*live) {
            sin_seed(rs, f, n, ds, dc);
            for (; s < t; s++)
                sin_step(cf, sf, 0, n, ds, dc, 0, (int)concat, P, sn, cs);
            for (int64_t k = 0; k < n; k += VD)
                sin_put(LOADD(ds + k), LOADD(dc + k), k, (int)concat, P, sn, cs);
        } else
            for (int64_t k = 0; k < n; k += VW) {
                VF sv, cv, lo, hi;
                sincos_vec(r, f + k, &sv, &cv);
                if (!concat) {
                    INTERLEAVE(sv, cv, lo, hi);
                    STOREU(P + 2 * k, lo);
                    STOREU(P + 2 * k + VW, hi);
                } else {
                    STOREU(sn + k, sv);
                    STOREU(cs + k, cv);
                }
            }
    }
    *rprev = r;
    if (concat) {
        memcpy(P, sn, (size_t)n * sizeof *P);
        memcpy(P + n, cs, (size_t)n * sizeof *P);
        if (D % 2)
            P[D - 1] = 0.0f;
    }
    return 0;
}

static inline __attribute__((always_inline)) void embed_dt(const simd_job *jb, int64_t t0, int64_t t1, float *scratch,
                                                            pecs_dtype dt)
{
    const pecs_problem *p = jb->p;
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w");
    int64_t D = x->shape[1], Dp = SIMD_EMBED_PAD(D);
    size_t esz = pecs_dtype_size(dt);
    float *P = scratch;
    double *fsc = (double *)(void *)scratch, *ds = (double *)(void *)(scratch + 3 * Dp), rprev = 0.0;
    int live = 0;
    if (jb->emb == SIMD_EMB_FOURIER) /* the token's doubles first (fourier_row), then the row */
        P = scratch + 2 * (3 * SIMD_FOURIER_HP(jb->F) + jb->hidden);
    if (jb->emb == SIMD_EMB_NOPE)
        memset(P, 0, (size_t)D * sizeof *P);
    for (int64_t t = t0; t < t1; t++) {
        double q = pecs_pos_at(pos, 0, t);
        void *orow = (char *)out->data + (size_t)(t * out->stride[0]) * esz;
        const void *xr = (const char *)x->data + (size_t)(t * x->stride[0]) * esz;
        switch (jb->emb) {
        case SIMD_EMB_SIN:
        case SIMD_EMB_SIN_CONCAT:
            if (sin_table_row(jb, pos, t, D, P, ds, &live, &rprev, orow, xr, dt))
                continue;
            break;
        case SIMD_EMB_LEARNED: /* segment s of width D / segs is table row pos[s][t]: learned 1, sigma_gpt 2 */
            if (jb->segs == 1 && (w->dtype == PECS_DT_F32 || w->dtype == PECS_DT_F16 || w->dtype == PECS_DT_BF16)) {
                /* the table's row added as it is loaded, in its own dtype: no f32 copy in between */
                int64_t r = (int64_t)pecs_pos_at(pos, 0, t); /* checked integral and in range by job.c */
                const char *wr = (const char *)w->data + (size_t)(r * w->stride[0]) * pecs_dtype_size(w->dtype);
                if (w->dtype == PECS_DT_F16)
                    add_row(orow, xr, wr, PECS_DT_F16, D, dt, jb->nt);
                else if (w->dtype == PECS_DT_BF16)
                    add_row(orow, xr, wr, PECS_DT_BF16, D, dt, jb->nt);
                else
                    add_row(orow, xr, wr, PECS_DT_F32, D, dt, jb->nt);
                continue;
            }
            for (int64_t s = 0, Ds = D / jb->segs; s < jb->segs; s++) {
                int64_t r = (int64_t)pecs_pos_at(pos, s, t);
                const char *wr = (const char *)w->data + (size_t)(r * w->stride[0]) * pecs_dtype_size(w->dtype);
                float *Ps = P + s * Ds;
                int64_t d = 0;
                if (w->dtype == PECS_DT_F32)
                    memcpy(Ps, wr, (size_t)Ds * sizeof *Ps);
                else {
                    if (w->dtype == PECS_DT_F16 || w->dtype == PECS_DT_BF16)
                        for (; d + VW <= Ds; d += VW)
                            STOREU(Ps + d, w->dtype == PECS_DT_F16 ? load_dt(wr, d, PECS_DT_F16) : load_dt(wr, d, PECS_DT_BF16));
                    for (; d < Ds; d++)
                        Ps[d] = pecs_load_f32(wr, w->dtype, d);
                }
            }
            break;
        case SIMD_EMB_NOPE: break;
        case SIMD_EMB_FOURIER: fourier_row(jb, q, D, fsc, P); break;
        }
        add_row(orow, xr, P, PECS_DT_F32, D, dt, jb->nt);
    }
}

SIMD_UNITS_BY_DTYPE(embed_units, embed_dt)
