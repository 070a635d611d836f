/* impls/simd/rotate_body.h — the rotate kernel body, included by avx2.c and avx512.c after they define:
 *   VW            lanes per vector (8 or 16)          VF        the f32 vector type
 *   VD            lanes of a double vector (VW / 2)  VDT       the f64 vector type
 *   LOADU(p), STOREU(p, v), SET1(x), FMADD(a, b, c), MUL(a, b), FNMADD(a, b, c) = c - a*b
 *   SWAP_PAIRS(v)  [v1 v0 v3 v2 ...]
 *   LOAD_F16(p), STORE_F16(p, v), LOAD_BF16(p), STORE_BF16(p, v)
 *   SINCOS(a, s, c)  double vector sincos (SLEEF); LOADD, SET1D, MULD, STORE_PD_AS_PS(p, v) (VD floats)
 *   ZEROD, ADDD, FMADDD, LOADF_PD(p) (VD floats widened), HSUMD(v) (sum of the lanes)   (embed_body.h: fourier)
 *   STREAM_F32(p, v), STREAM_F16(p, v), STREAM_BF16(p, v)  non-temporal stores (aligned p), FENCE()
 *   STREAM2_F16(p, a, b), STREAM2_BF16(p, a, b)  both vectors converted, one non-temporal store of 2 VW
 *                 16-bit lanes (a whole 64-byte line on AVX-512); STORE2_F16, STORE2_BF16 the same as one
 *                 ordinary (unaligned) store; SUBD(a, b) double a - b
 *   GATHER(base, idx), LOG1PF(v), POWF(a, b), ADD, SUB, ABS, MAX, SET1, ZERO, DIST_F  (pairwise_body.h, embed_body.h)
 * It defines rotate_units(), the rotate kernel of simd_kernels. Not a translation unit of its own (the Makefile compiles only *.c).
 */
#include <math.h>
#include <string.h>

/* The unit function `name` of a kernel body `body(j, u0, u1, scratch, dt)`: one instance per storage dtype (the
 * dtype a constant inside each, so its switches fold away), then a fence for the streaming stores, which are
 * weakly ordered and must be visible before the call returns. */
#define SIMD_UNITS_BY_DTYPE(name, body)                                        \
    static void name(const simd_job *j, int64_t u0, int64_t u1, float *scratch) \
    {                                                                          \
        switch (j->dt) {                                                       \
        case PECS_DT_F16: body(j, u0, u1, scratch, PECS_DT_F16); break;         \
        case PECS_DT_BF16: body(j, u0, u1, scratch, PECS_DT_BF16); break;       \
        default: body(j, u0, u1, scratch, PECS_DT_F32); break;                  \
        }                                                                      \
        FENCE();                                                               \
    }

static inline __attribute__((always_inline)) VF load_dt(const void *base, int64_t i, pecs_dtype dt)
{
    switch (dt) {
    case PECS_DT_F16: return LOAD_F16((const uint16_t *)base + i);
    case PECS_DT_BF16: return LOAD_BF16((const uint16_t *)base + i);
    default: return LOADU((const float *)base + i);
    }
}

static inline __attribute__((always_inline)) void store_dt(void *base, int64_t i, VF v, pecs_dtype dt)
{
    switch (dt) {
    case PECS_DT_F16: STORE_F16((uint16_t *)base + i, v); break;
    case PECS_DT_BF16: STORE_BF16((uint16_t *)base + i, v); break;
    default: STOREU((float *)base + i, v); break;
    }
}

/* Non-temporal store of a full vector at an aligned address (outputs far larger than the caches: the lines
 * go to memory without being read first, which a read-2-write-2 stream otherwise pays for). */
static inline __attribute__((always_inline)) void stream_dt(void *base, int64_t i, VF v, pecs_dtype dt)
{
    switch (dt) {
    case PECS_DT_F16: STREAM_F16((uint16_t *)base + i, v); break;
    case PECS_DT_BF16: STREAM_BF16((uint16_t *)base + i, v); break;
    default: STREAM_F32((float *)base + i, v); break;
    }
}

/* Ordinary stores to a line no cache holds wait for its read-for-ownership, and stores leave the store buffer in
 * program order: one such store holds every store behind it, the kernels' table and state stores too, and the
 * buffer fills long before the memory system has many lines in flight. So the kernels fetch their output lines
 * into L1 ahead of the stores: SIMD_OWN_AHEAD bytes ahead along a row (own_ahead), or a few rows ahead (the rotate
 * kernel). A line no other core holds arrives exclusive, and the store then needs no request of its own. On the
 * Xeon guest this took the sinusoidal rows from 0.8 to 1.0 of the ordinary-store copy kernel, half-split rope f32
 * and M-RoPE f32 from 0.87-0.98 to 1.06-1.14 of rw22. It is a read prefetch (PREFETCHT0) on purpose: built with
 * -mprfchw, __builtin_prefetch(p, 1) becomes PREFETCHW, and that was slower there (alibi bf16 0.89x, sinusoidal f32
 * 0.95x). Streaming stores need none. */
#define SIMD_OWN_AHEAD 4096

static inline __attribute__((always_inline)) void own_ahead(const void *row, int64_t i, size_t esz)
{
    __builtin_prefetch((const char *)row + (size_t)i * esz + SIMD_OWN_AHEAD, 0, 3);
}

/* Two vectors (elements i .. i + 2 VW - 1) in one store, streaming (nt: aligned p) or ordinary: for 16-bit dtypes
 * a single VW-lane store is half a register's width. Streaming, full lines are what the memory system merges best
 * (interleaved f16 ran at half the speed of the half-split layout before this); ordinary, full-width stores are
 * what the ordinary-store roofline kernel issues (bf16 bias rows ran at 0.75 of it with half-width stores). */
static inline __attribute__((always_inline)) void put2_dt(void *base, int64_t i, VF a, VF b, pecs_dtype dt, int nt)
{
    switch (dt) {
    case PECS_DT_F16:
        if (nt)
            STREAM2_F16((uint16_t *)base + i, a, b);
        else
            STORE2_F16((uint16_t *)base + i, a, b);
        break;
    case PECS_DT_BF16:
        if (nt)
            STREAM2_BF16((uint16_t *)base + i, a, b);
        else
            STORE2_BF16((uint16_t *)base + i, a, b);
        break;
    default:
        if (nt) {
            STREAM_F32((float *)base + i, a);
            STREAM_F32((float *)base + i + VW, b);
        } else {
            STOREU((float *)base + i, a);
            STOREU((float *)base + i + VW, b);
        }
        break;
    }
}

/* The unrotated tail of a partial-rotary row (D > R). With streaming stores it is streamed too: ordinary
 * stores into lines next to streamed ones cost a read per line (partial rotary ran at 0.55 of rw22). The
 * caller's alignment rules put the tail on a 64-byte boundary; whole vectors move the bits as they are. */
static inline void copy_tail(char *dst, const char *src, size_t bytes, int nt)
{
    size_t b = 0, vb = VW * sizeof(float);
    if (nt && (uintptr_t)dst % vb == 0)
        for (; b + vb <= bytes; b += vb)
            STREAM_F32((float *)(void *)(dst + b), LOADU((const float *)(const void *)(src + b)));
    memcpy(dst + b, src + b, bytes - b);
}

/* One step of the angle-addition recurrence for the double pairs k .. k + VD - 1 of a state (ds = sines,
 * dc = cosines): sin(a + f) = sin a cos f + cos a sin f, cos(a + f) = cos a cos f - sin a sin f, with cf, sf the
 * step's cos f and sin f. The new values are stored and returned. Shared by the rotate tables below and the
 * sinusoidal rows (embed_body.h). */
static inline __attribute__((always_inline)) void rec_rot(const double *cf, const double *sf, int64_t k, double *ds,
                                                          double *dc, VDT *s1, VDT *c1)
{
    VDT s = LOADD(ds + k), c = LOADD(dc + k), a = LOADD(cf + k), b = LOADD(sf + k);
    *s1 = FMADDD(c, b, MULD(s, a));
    *c1 = FNMADDD(s, b, MULD(c, a));
    STORED(ds + k, *s1);
    STORED(dc + k, *c1);
}

/* The cos/sin table of token t (and head h, for per-head schedules; any h otherwise): cs[i] = cos, sn[i] = sin
 * of pair i, times its gain. With ds != NULL (the recurrence's schedules: no per-token gain, no per-head rule)
 * the double sines and cosines are also kept in ds and dc = ds + SIMD_SIN_NP(R), the padding lanes zeroed, to
 * start a run of rot_step. */
static void token_table(const scalar_sched *sc, const pecs_tensor *pos, int64_t t, int64_t h, float *cs, float *sn,
                        double *ang, double *gain, double *ds)
{
    int64_t n = sc->R / 2, i = 0, rows = pos->ndim == 2 ? pos->shape[0] : 1;
    double pr[4], *dc = ds ? ds + SIMD_SIN_NP(sc->R) : NULL; /* the token's position on each row (M-RoPE: 3, vision: 2, VRoPE: 4), read once */
    for (int64_t r = 0; r < rows && r < 4; r++)
        pr[r] = pecs_pos_at(pos, r, t) + sc->pos_offset;
    if (sc->head_scale) /* Ms-PoE, MHRoPE: this head's row and frequency scale */
        for (int64_t k = 0; k < n; k++)
            ang[k] = impl_angle(sc, pos, t, h, k);
    else
        for (int64_t k = 0; k < n; k++)
            ang[k] = (sc->axis[k] < 4 ? pr[sc->axis[k]] : pecs_pos_at(pos, sc->axis[k], t) + sc->pos_offset) * sc->inv_freq[k];
    int xpos = impl_has_token_gain(sc); /* xPos or Entropy-ABF; otherwise every gain is the attention factor */
    for (int64_t k = 0; xpos && k < n; k++)
        gain[k] = impl_gain(sc, pos, t, k);
    for (; i + VD <= n; i += VD) {
        VDT s, c, g = xpos ? LOADD(gain + i) : SET1D(sc->attn);
        SINCOS(ang + i, s, c);
        if (ds) {
            STORED(ds + i, s);
            STORED(dc + i, c);
        }
        STORE_PD_AS_PS(cs + i, MULD(c, g));
        STORE_PD_AS_PS(sn + i, MULD(s, g));
    }
    for (; i < n; i++) { /* fewer than VD pairs left: libm, also correctly reduced */
        double g = xpos ? gain[i] : sc->attn, c = cos(ang[i]), s = sin(ang[i]);
        if (ds)
            ds[i] = s, dc[i] = c;
        cs[i] = (float)(c * g);
        sn[i] = (float)(s * g);
    }
    for (; ds && i < SIMD_SIN_NP(sc->R); i++)
        ds[i] = dc[i] = 0.0;
    if (sc->head_imag && sc->head_imag[h]) /* RoPE++ imaginary head: (cos, sin) -> (sin, -cos), exact */
        for (int64_t k = 0; k < n; k++) {
            float c = cs[k];
            cs[k] = sn[k];
            sn[k] = -c;
        }
}

/* The next token's table from the state ds, dc of the previous one: every pair turned by one step of its
 * angle (cf, sf: cos and sin of inv_freq, SIMD_SIN_NP(R) doubles each, from job.c), times the attention factor. */
static void rot_step(const scalar_sched *sc, const double *cf, double *ds, float *cs, float *sn, int put)
{
    int64_t n = sc->R / 2, np = SIMD_SIN_NP(sc->R), k = 0;
    const double *sf = cf + np;
    double *dc = ds + np;
    VDT g = SET1D(sc->attn);
    for (; k + VD <= n; k += VD) {
        VDT s, c;
        rec_rot(cf, sf, k, ds, dc, &s, &c);
        if (put) {
            STORE_PD_AS_PS(cs + k, MULD(c, g));
            STORE_PD_AS_PS(sn + k, MULD(s, g));
        }
    }
    if (k < n) { /* the last pairs, fewer than VD: the (zero) padding lanes turn too */
        VDT s, c;
        rec_rot(cf, sf, k, ds, dc, &s, &c);
        for (; put && k < n; k++) {
            cs[k] = (float)(dc[k] * sc->attn);
            sn[k] = (float)(ds[k] * sc->attn);
        }
    }
}

/* The step table (job.c) that takes token t - 1's state to token t's, or NULL if t starts a run of the recurrence:
 * at a block start, or where a position row moves by anything but 0 or +1. */
static inline const double *rot_step_of(const simd_job *j, const pecs_tensor *pos, int64_t t)
{
    int m = 0;
    if (t % SIMD_SIN_BLOCK == 0)
        return NULL;
    for (int r = 0; r < j->rot_rows; r++) {
        double a = pecs_pos_at(pos, r, t), b = pecs_pos_at(pos, r, t - 1);
        if (a == b + 1.0)
            m |= 1 << r;
        else if (a != b)
            return NULL;
    }
    return (const double *)(const void *)j->tab + 2 * SIMD_SIN_NP(j->sc.R) * m;
}

static inline __attribute__((always_inline)) void rotate_row(const void *xr, void *orow, int64_t R, int half,
                                                              const float *C, const float *S, pecs_dtype dt, int nt)
{
    int64_t n = R / 2, i = 0;
    if (half) {
        if (n % (2 * VW) == 0) /* two vectors of each half per step: whole-line (streaming) or full-width stores */
            for (; i < n; i += 2 * VW) {
                VF a0 = load_dt(xr, i, dt), b0 = load_dt(xr, i + n, dt), c0 = LOADU(C + i), s0 = LOADU(S + i);
                VF a1 = load_dt(xr, i + VW, dt), b1 = load_dt(xr, i + n + VW, dt), c1 = LOADU(C + i + VW),
                   s1 = LOADU(S + i + VW);
                put2_dt(orow, i, FNMADD(b0, s0, MUL(a0, c0)), FNMADD(b1, s1, MUL(a1, c1)), dt, nt);
                put2_dt(orow, i + n, FMADD(a0, s0, MUL(b0, c0)), FMADD(a1, s1, MUL(b1, c1)), dt, nt);
            }
        for (; i + VW <= n; i += VW) {
            VF a = load_dt(xr, i, dt), b = load_dt(xr, i + n, dt), c = LOADU(C + i), s = LOADU(S + i);
            if (nt) {
                stream_dt(orow, i, FNMADD(b, s, MUL(a, c)), dt);
                stream_dt(orow, i + n, FMADD(a, s, MUL(b, c)), dt);
            } else {
                store_dt(orow, i, FNMADD(b, s, MUL(a, c)), dt);
                store_dt(orow, i + n, FMADD(a, s, MUL(b, c)), dt);
            }
        }
        for (; i < n; i++) {
            float a = pecs_load_f32(xr, dt, i), b = pecs_load_f32(xr, dt, i + n);
            pecs_store_f32(orow, dt, i, a * C[i] - b * S[i]);
            pecs_store_f32(orow, dt, i + n, a * S[i] + b * C[i]);
        }
    } else { /* C, S hold R lanes: [c0 c0 ..], [-s0 s0 ..] */
        if (R % (2 * VW) == 0)
            for (; i < R; i += 2 * VW) {
                VF x0 = load_dt(xr, i, dt), x1 = load_dt(xr, i + VW, dt);
                put2_dt(orow, i, FMADD(x0, LOADU(C + i), MUL(SWAP_PAIRS(x0), LOADU(S + i))),
                        FMADD(x1, LOADU(C + i + VW), MUL(SWAP_PAIRS(x1), LOADU(S + i + VW))), dt, nt);
            }
        for (; i + VW <= R; i += VW) {
            VF x = load_dt(xr, i, dt), y = FMADD(x, LOADU(C + i), MUL(SWAP_PAIRS(x), LOADU(S + i)));
            if (nt)
                stream_dt(orow, i, y, dt);
            else
                store_dt(orow, i, y, dt);
        }
        for (; i < R; i += 2) {
            float a = pecs_load_f32(xr, dt, i), b = pecs_load_f32(xr, dt, i + 1);
            pecs_store_f32(orow, dt, i, a * C[i] + b * S[i]);
            pecs_store_f32(orow, dt, i + 1, b * C[i + 1] + a * S[i + 1]);
        }
    }
}

/* The lane tables of token t (head h): half-split C = cos, S = sin over R/2 lanes; interleaved
 * C = [c0 c0 c1 c1 ..], S = [-s0 s0 -s1 s1 ..] over R lanes. The cos/sin table is the recurrence's, one rot_step by
 * the step table cf from token t - 1's state ds, where t continues its run (cf != NULL), else token_table's, which
 * keeps the state in ds for the run's next tokens (ds != NULL: the schedule has the recurrence). */
static void lane_table(const scalar_sched *sc, const pecs_tensor *pos, int64_t t, int64_t h, int half, float *C, float *S,
                       float *cs, float *sn, double *ang, double *gain, const double *cf, double *ds)
{
    int64_t n = sc->R / 2;
    if (cf)
        rot_step(sc, cf, ds, cs, sn, 1);
    else
        token_table(sc, pos, t, h, cs, sn, ang, gain, ds);
    if (half) {
        memcpy(C, cs, (size_t)n * sizeof *C);
        memcpy(S, sn, (size_t)n * sizeof *S);
        return;
    }
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        VF c = LOADU(cs + i), sv = LOADU(sn + i), lo, hi;
        INTERLEAVE(c, c, lo, hi);
        STOREU(C + 2 * i, lo);
        STOREU(C + 2 * i + VW, hi);
        INTERLEAVE(MUL(sv, SET1(-1.0f)), sv, lo, hi);
        STOREU(S + 2 * i, lo);
        STOREU(S + 2 * i + VW, hi);
    }
    for (; i < n; i++)
        C[2 * i] = C[2 * i + 1] = cs[i], S[2 * i] = -sn[i], S[2 * i + 1] = sn[i];
}

static inline __attribute__((always_inline)) void tokens_dt(const simd_job *j, int64_t t0, int64_t t1, float *scratch,
                                                             pecs_dtype dt)
{
    const pecs_problem *p = j->p;
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    const scalar_sched *sc = &j->sc;
    int64_t H = x->shape[1], D = x->shape[2], R = sc->R, n = R / 2;
    size_t esz = pecs_dtype_size(dt);
    int half = j->half, nt = j->nt;
    float *C = scratch, *S = scratch + R, *cs = scratch + 2 * R, *sn = cs + n;
    double *ang = (double *)(void *)(sn + n), *gain = ang + n; /* 3R floats in: an even count, 8-byte aligned */
    double *ds = j->tab ? gain + n : NULL; /* the recurrence's state: sines, then cosines, SIMD_SIN_NP(R) doubles
                                              each; NULL: no recurrence for this schedule */
    /* Prefetch distance: PF_ROWS rows of the same token ahead (rows of one token are x->stride[1] apart). */
    enum { PF_ROWS = 4 };
    ptrdiff_t pf_ahead = (ptrdiff_t)(PF_ROWS * x->stride[1]) * (ptrdiff_t)esz,
              po_ahead = (ptrdiff_t)(PF_ROWS * out->stride[1]) * (ptrdiff_t)esz;
    const size_t x_bytes = (size_t)(p->in_place ? R : D) * esz; /* what a row reads: the unrotated tail is copied */
    int per_head = sc->head_scale != NULL;
    if (ds && t0 < t1 && rot_step_of(j, pos, t0)) { /* t0 inside a run: its state from the run's start, as a thread
                                                       starting there would have it (bits independent of the split) */
        int64_t s = t0;
        while (rot_step_of(j, pos, s))
            s--;
        token_table(sc, pos, s, 0, cs, sn, ang, gain, ds);
        for (; s + 1 < t0; s++)
            rot_step(sc, rot_step_of(j, pos, s + 1), ds, cs, sn, 0);
    }
    for (int64_t t = t0; t < t1; t++) {
        for (int64_t h = 0; h < H; h++) {
            if (h == 0 || per_head)
                lane_table(sc, pos, t, h, half, C, S, cs, sn, ang, gain, ds ? rot_step_of(j, pos, t) : NULL, ds);
            const char *xr = (const char *)x->data + (size_t)(t * x->stride[0] + h * x->stride[1]) * esz;
            char *orow = (char *)out->data + (size_t)(t * out->stride[0] + h * out->stride[1]) * esz;
            /* The input rows ahead of use, into every level (T0), with either kind of store. Streaming, the
               non-temporal hint (NTA) kept rope f32 at 16384 tokens at 0.52 of the streaming pair on the Xeon
               guest, T0 at 1.25 (2.4x faster; half-split 0.50 -> 1.24); ordinary, the hardware prefetchers alone
               left the loads waiting (half-split 16-bit rows at 0.85 of rw22 on huge pages, 0.97-1.02 with this). */
            for (size_t b = 0; b < x_bytes; b += 64)
                __builtin_prefetch(xr + pf_ahead + b, 0, 3);
            if (!nt) /* ordinary stores: own the output's lines before the stores reach them (SIMD_OWN_AHEAD) */
                for (size_t b = 0; b < (size_t)D * esz; b += 64)
                    __builtin_prefetch(orow + po_ahead + b, 0, 3);
            rotate_row(xr, orow, R, half, C, S, dt, nt);
            if (!p->in_place && D > R)
                copy_tail(orow + (size_t)R * esz, xr + (size_t)R * esz, (size_t)(D - R) * esz, nt);
        }
    }
}

SIMD_UNITS_BY_DTYPE(rotate_units, tokens_dt)
