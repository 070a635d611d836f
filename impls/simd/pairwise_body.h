/* impls/simd/pairwise_body.h — bias and mask rows, included by avx2.c and avx512.c after rotate_body.h
 * (load_dt/store_dt/stream_dt and the vector macros). Defines pairwise_units(), the kernel of simd_kernels.
 *
 * Tier-2 rows of the same forms: alibi.pi (alibi's multiply over |i - j|), masa (alibi's multiply over the raster
 * Manhattan distance), bam (kerple.power's pow with a per-head offset), mpnet (t5's kernel), irpe (t5's by-bucket
 * gather over iRPE's buckets); their rules are impls/common's, as the scalar backend's.
 *
 * A unit is one output row (h, i) of K keys; rows are flat indices r = i * H + h (head fastest), so the
 * work that depends on the query only — distances in double (positions past 2^24 stay exact), T5's
 * clamped-distance indices, FIRE's hidden activations — is done once per query and reused by every head:
 *     per query i:  qv[j] = f(q_i - k_j)            (double in, float out; padded to whole vectors)
 *     per head h:   row[j] = g_h(qv[j])             (vector f32: a multiply, a gather, SLEEF log1p/pow,
 *                                                    or FIRE's hidden-layer dot product)
 * then the row is stored in the output dtype (streaming stores on its vector-aligned middle when the job
 * says so). Scratch rows are padded to whole vectors, so the vector loops need no scalar tails. A multiply
 * (alibi, alibi.pi, masa), the masks and T5 over consecutive keys are computed as they are stored, with no
 * scratch row (row_source, t5_ramp_store).
 */

/* Elements before the row's first 64-byte boundary (capped at n), or -1 if it is not even element-aligned. */
static inline int64_t nt_lead(const void *row, size_t esz, int64_t n)
{
    size_t mis = (uintptr_t)row % 64;
    if (mis % esz)
        return -1;
    int64_t lead = mis ? (int64_t)((64 - mis) / esz) : 0;
    return lead < n ? lead : n;
}

/* Where a row's values come from, stored straight to the output by store_row (no scratch row in between: a row
 * written to scratch first took a store-buffer entry per vector besides the output's, and with the output's
 * stores waiting on memory that halved the misses in flight; alibi bf16 at 2048 x 2048 went from 0.75 to 1.0
 * of the ordinary-store roofline without it). The kind is a constant at each call site, so its switch folds. */
typedef enum {
    ROW_COPY,   /* v[j] */
    ROW_SCALED, /* s * v[j] */
    ROW_CONST   /* s (T5's constant runs beyond max_distance) */
} row_kind;
typedef struct {
    const float *v;
    float s;
} row_src;

static inline __attribute__((always_inline)) float row_elt(const row_src *src, row_kind kind, int64_t j)
{
    switch (kind) {
    case ROW_SCALED: return src->s * src->v[j];
    case ROW_CONST: return src->s;
    default: return src->v[j];
    }
}

static inline __attribute__((always_inline)) VF row_vec(const row_src *src, row_kind kind, int64_t j)
{
    switch (kind) {
    case ROW_SCALED: return MUL(SET1(src->s), LOADU(src->v + j));
    case ROW_CONST: return SET1(src->s);
    default: return LOADU(src->v + j);
    }
}

/* Store n values of src to a row of dtype dt. With nt: ordinary stores up to the first line boundary, then two
 * vectors per streaming store (whole lines for 16-bit dtypes too), then what is left. Ordinary stores of 16-bit
 * dtypes go two vectors at a time too (put2_dt). */
static inline __attribute__((always_inline)) void store_row(void *orow, const row_src *src, row_kind kind, int64_t n,
                                                             pecs_dtype dt, int nt)
{
    int64_t j = 0, lead = nt ? nt_lead(orow, pecs_dtype_size(dt), n) : -1;
    if (lead >= 0) {
        for (; j < lead; j++)
            pecs_store_f32(orow, dt, j, row_elt(src, kind, j));
        for (; j + 2 * VW <= n; j += 2 * VW)
            put2_dt(orow, j, row_vec(src, kind, j), row_vec(src, kind, j + VW), dt, 1);
        for (; j + VW <= n; j += VW)
            stream_dt(orow, j, row_vec(src, kind, j), dt);
    }
    for (; dt != PECS_DT_F32 && j + 2 * VW <= n; j += 2 * VW) {
        own_ahead(orow, j, pecs_dtype_size(dt));
        put2_dt(orow, j, row_vec(src, kind, j), row_vec(src, kind, j + VW), dt, 0);
    }
    for (; j + VW <= n; j += VW) {
        own_ahead(orow, j, pecs_dtype_size(dt));
        store_dt(orow, j, row_vec(src, kind, j), dt);
    }
    for (; j < n; j++)
        pecs_store_f32(orow, dt, j, row_elt(src, kind, j));
}

/* The query-only part of row i: qv (and idx, act) over Kp padded lanes. *ramp: for T5 with keys at
 * consecutive integer positions and an integer query, the distance of key 0 (the row is then a clamped
 * slice of the table: two constant runs around a copy); else INT64_MIN. */
static void per_query(const simd_job *jb, double qi, const double *kd, int64_t K, int64_t Kp, int keys_ramp, float *qv,
                      int32_t *idx, float *act, int64_t *ramp)
{
    *ramp = INT64_MIN;
    switch (jb->pw) {
    case SIMD_PW_ALIBI: { /* the double difference rounded to f32, VD lanes at a time (the scalar loop cost the
                             32 x 4096 x 4096 f32 case about 5%) */
        int64_t j = 0;
        for (VDT q = SET1D(qi); j + VD <= K; j += VD)
            STORE_PD_AS_PS(qv + j, SUBD(q, LOADD(kd + j)));
        for (; j < K; j++)
            qv[j] = (float)(qi - kd[j]);
        break;
    }
    case SIMD_PW_ALIBI_KEY:
        for (int64_t j = 0; j < K; j++)
            qv[j] = (float)kd[j];
        break;
    case SIMD_PW_T5: { /* T5's bucket is constant beyond |k - q| = max_distance: clamp, then index the table */
        double m = (double)jb->maxd;
        if (keys_ramp && !jb->t5nb && qi == floor(qi) && fabs(kd[0] - qi) < 9e15) {
            *ramp = (int64_t)(kd[0] - qi);
            break;
        }
        for (int64_t j = 0; j < K; j++) {
            double d = kd[j] - qi;
            d = d > m ? m : d < -m ? -m : d;
            idx[j] = jb->t5nb ? (int32_t)impl_t5_bucket((int64_t)d, jb->t5bidir, jb->t5nb, jb->maxd)
                              : (int32_t)((int64_t)d + jb->maxd);
        }
        for (int64_t j = K; j < Kp; j++)
            idx[j] = 0;
        break;
    }
    case SIMD_PW_KERPLE_LOG:
    case SIMD_PW_KERPLE_POW: /* tril(i - j): keys after the query get distance 0 */
        for (int64_t j = 0; j < K; j++)
            qv[j] = qi - kd[j] > 0.0 ? (float)(qi - kd[j]) : 0.0f;
        break;
    case SIMD_PW_FIRE: { /* u = psi(i - j) / psi(max(i, L)), psi(x) = log(|c x| + 1), in double */
        double norm = log(fabs(jb->c * (qi > jb->L ? qi : jb->L)) + 1.0) + jb->eps;
        int64_t W = jb->hidden + 1;
        for (int64_t j = 0; j < K; j++)
            qv[j] = (float)(log(fabs(jb->c * (qi - kd[j])) + 1.0) / norm);
        for (int64_t j = K; j < Kp; j++)
            qv[j] = 0.0f;
        for (int64_t k = 0; k < jb->hidden; k++) { /* relu(w1_k u + b1_k), shared by every head */
            VF w1 = SET1(jb->tab[k]), b1 = SET1(jb->tab[W + k]);
            for (int64_t j = 0; j < Kp; j += VW)
                STOREU(act + k * Kp + j, MAX(FMADD(w1, LOADU(qv + j), b1), ZERO()));
        }
        break;
    }
    case SIMD_PW_MASK:
        for (int64_t j = 0; j < K; j++) {
            double d = qi - kd[j];
            qv[j] = d >= 0.0 && (jb->window <= 0 || d < (double)jb->window) ? 0.0f : -INFINITY;
        }
        break;
    case SIMD_PW_ALIBI_ABS: /* ALiBi-PI: the symmetric distance |i - j| */
        for (int64_t j = 0; j < K; j++)
            qv[j] = (float)fabs(qi - kd[j]);
        break;
    case SIMD_PW_BAM: /* j - i, rounded to f32 as the scalar kernel; the head's offset comes in per_head */
        for (int64_t j = 0; j < K; j++)
            qv[j] = (float)(kd[j] - qi);
        break;
    case SIMD_PW_MASA: { /* Manhattan distance on the raster grid, exact in double */
        double yq, xq, yk, xk;
        impl_grid_rc(qi, jb->gridW, &yq, &xq);
        for (int64_t j = 0; j < K; j++) {
            impl_grid_rc(kd[j], jb->gridW, &yk, &xk);
            qv[j] = (float)(fabs(yq - yk) + fabs(xq - xk));
        }
        break;
    }
    case SIMD_PW_IRPE: /* iRPE's bucket of every key: the gather index into head h's row of w [H][nb] */
        for (int64_t j = 0; j < K; j++)
            idx[j] = (int32_t)impl_irpe_bucket(&jb->irpe, qi, kd[j]);
        for (int64_t j = K; j < Kp; j++)
            idx[j] = 0;
        break;
    }
    for (int64_t j = K; j < Kp && jb->pw != SIMD_PW_T5 && jb->pw != SIMD_PW_FIRE; j++)
        qv[j] = 0.0f;
}

/* The rows stored straight from what the query computed (store_row): 1 and src for alibi -slope_h (q_i - k_j),
 * BLOOM's key form slope_h k_j, alibi.pi -(slope_h / s) |i - j|, masa decay_h (|dy| + |dx|) (the decay is negative)
 * and the masks (the query's part itself: 0 and -inf); else 0 (per_head builds the row, or T5's ramp below). */
static int row_source(const simd_job *jb, int64_t h, const float *qv, row_src *src, row_kind *kind)
{
    src->v = qv;
    *kind = ROW_SCALED;
    switch (jb->pw) {
    case SIMD_PW_ALIBI:
    case SIMD_PW_ALIBI_ABS: src->s = -jb->tab[h]; return 1;
    case SIMD_PW_ALIBI_KEY:
    case SIMD_PW_MASA: src->s = jb->tab[h]; return 1;
    case SIMD_PW_MASK: *kind = ROW_COPY; return 1;
    default: return 0;
    }
}

/* T5 over keys at distances r, r + 1, ... (consecutive positions): head h's row is a clamped slice of its table t,
 * idx_j = clamp(r + j, -m, m) + m: a constant run t[0] (j < a), a copy of t[r + m + j] (a <= j < b) and a constant
 * run t[2m], each stored straight to out. */
static inline __attribute__((always_inline)) void t5_ramp_store(char *orow, const float *t, int64_t m, int64_t r,
                                                                 int64_t K, pecs_dtype dt, int nt)
{
    size_t esz = pecs_dtype_size(dt);
    int64_t a = -m - r + 1, b = m - r;
    a = a < 0 ? 0 : a > K ? K : a;
    b = b < a ? a : b > K ? K : b;
    store_row(orow, &(row_src){.s = t[0]}, ROW_CONST, a, dt, nt);
    if (b > a)
        store_row(orow + (size_t)a * esz, &(row_src){.v = t + (r + m + a)}, ROW_COPY, b - a, dt, nt);
    store_row(orow + (size_t)b * esz, &(row_src){.s = t[2 * m]}, ROW_CONST, K - b, dt, nt);
}

/* Head h's row from the query's part, in scratch (the rows row_source and t5_ramp_store do not cover). */
static void per_head(const simd_job *jb, int64_t h, int64_t Kp, const float *qv, const int32_t *idx,
                     const float *act, float *row)
{
    int64_t H = jb->H;
    switch (jb->pw) {
    case SIMD_PW_T5: {
        const float *t = jb->tab + h * (jb->t5nb ? jb->t5nb : 2 * jb->maxd + 1);
        for (int64_t j = 0; j < Kp; j += VW)
            STOREU(row + j, GATHER(t, idx + j));
        break;
    }
    case SIMD_PW_KERPLE_LOG: {
        VF a = SET1(-jb->tab[h]), b = SET1(jb->tab[H + h]);
        for (int64_t j = 0; j < Kp; j += VW)
            STOREU(row + j, MUL(a, LOG1PF(MUL(b, LOADU(qv + j)))));
        break;
    }
    case SIMD_PW_KERPLE_POW: {
        VF a = SET1(-jb->tab[h]), b = SET1(jb->tab[H + h]);
        for (int64_t j = 0; j < Kp; j += VW)
            STOREU(row + j, MUL(a, POWF(LOADU(qv + j), b)));
        break;
    }
    case SIMD_PW_FIRE: { /* b2_h + sum_k w2_hk act_k, in k order as the scalar kernel */
        int64_t W = jb->hidden + 1;
        const float *w2 = jb->tab + (2 + h) * W;
        for (int64_t j = 0; j < Kp; j += VW) {
            VF acc = SET1(w2[jb->hidden]);
            for (int64_t k = 0; k < jb->hidden; k++)
                acc = FMADD(SET1(w2[k]), LOADU(act + k * Kp + j), acc);
            STOREU(row + j, acc);
        }
        break;
    }
    case SIMD_PW_BAM: { /* -scale_h * (|(j - i) - off_h| + eps)^beta_h */
        VF sc = SET1(-jb->tab[h]), be = SET1(jb->tab[H + h]), off = SET1(jb->tab[2 * H + h]), eps = SET1((float)jb->eps);
        for (int64_t j = 0; j < Kp; j += VW)
            STOREU(row + j, MUL(sc, POWF(ADD(ABS(SUB(LOADU(qv + j), off)), eps), be)));
        break;
    }
    case SIMD_PW_IRPE: {
        const float *t = jb->tab + h * jb->irpe.nb;
        for (int64_t j = 0; j < Kp; j += VW)
            STOREU(row + j, GATHER(t, idx + j));
        break;
    }
    default: break; /* row_source's rows */
    }
}

static inline __attribute__((always_inline)) void pairwise_dt(const simd_job *jb, int64_t r0, int64_t r1,
                                                              float *scratch, pecs_dtype dt)
{
    const pecs_problem *p = jb->p;
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    int64_t H = jb->H, K = jb->K, Kp = SIMD_ROW_PAD(K), cached_i = -1, ramp = INT64_MIN;
    size_t esz = pecs_dtype_size(dt);
    float *row = scratch, *qv = scratch + 4 * Kp, *act = scratch + 5 * Kp;
    double *kd = (double *)(void *)(scratch + Kp);
    int32_t *idx = (int32_t *)(void *)(scratch + 3 * Kp);
    int keys_ramp = 1; /* consecutive integer key positions (the usual arange) */
    for (int64_t j = 0; j < K; j++) {
        kd[j] = pecs_pos_at(kp, 0, j);
        keys_ramp = keys_ramp && kd[j] == floor(kd[j]) && (j == 0 || kd[j] == kd[j - 1] + 1.0);
    }
    for (int64_t r = r0; r < r1; r++) {
        int64_t i = r / H, h = r % H;
        if (cached_i != i) {
            per_query(jb, pecs_pos_at(qp, 0, i), kd, K, Kp, keys_ramp, qv, idx, act, &ramp);
            cached_i = i;
        }
        char *orow = (char *)out->data + (size_t)(h * out->stride[0] + i * out->stride[1]) * esz;
        row_src src;
        row_kind kind;
        if (ramp != INT64_MIN) {
            t5_ramp_store(orow, jb->tab + h * (2 * jb->maxd + 1), jb->maxd, ramp, K, dt, jb->nt);
            continue;
        }
        if (!row_source(jb, h, qv, &src, &kind)) {
            per_head(jb, h, Kp, qv, idx, act, row);
            src = (row_src){.v = row};
            kind = ROW_COPY;
        }
        if (kind == ROW_SCALED) /* one store_row per kind, each with its switches folded */
            store_row(orow, &src, ROW_SCALED, K, dt, jb->nt);
        else
            store_row(orow, &src, ROW_COPY, K, dt, jb->nt);
    }
}

SIMD_UNITS_BY_DTYPE(pairwise_units, pairwise_dt)
