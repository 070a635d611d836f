/* impls/mutants/base.c — the kernel every mutant is built from, compiled once and linked into each mutant's .so
 * with impls/mutants/select.c, which names its row of mutants.def (-DMUTANT_BUG=BUG_<name>). It is an independent
 * f32 implementation of most tier-1 encodings (the rope schedules, M-RoPE, vision RoPE, xPos, ALiBi, T5, KERPLE, the
 * masks, sinusoidal, CoPE; not FIRE or the learned table) and of the tier-2 rotate, bias, embed, scores, posmap and
 * kattn encodings, correct when the row is BUG_none (the control), and wrong in exactly one realistic way
 * otherwise: every mutation point is marked BUG(name).
 * Built against include/pecs only, like a vendor's plugin.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "pecs/backend.h"
#include "../common/maglap.h"

enum {
#define MUTANT(name, cls, what, levels) BUG_##name,
#include "mutants.def"
#undef MUTANT
};

extern const int pecs_mutant_bug; /* select.c: this .so's row */
#define BUG(name) (pecs_mutant_bug == BUG_##name)

static const struct {
    const char *name, *what;
} g_rows[] = {
#define MUTANT(name, cls, what, levels) {"mutant-" #name, what},
#include "mutants.def"
#undef MUTANT
};

/* ---- storage conversions: RNE as pecs/dtype.h, except where a mutant's bug lives ---------------------------- */

/* The smallest normal of a storage dtype (subnormals below it). */
static float min_normal(pecs_dtype t)
{
    return t == PECS_DT_F16 ? 0x1p-14f : 0x1p-126f; /* bf16 and f32 share float32's exponent range */
}

static float load_in(const void *base, pecs_dtype t, int64_t i)
{
    float v = pecs_load_f32(base, t, i);
    if (BUG(subnormal_flush) && v != 0.0f && fabsf(v) < min_normal(t)) /* a converter that drops exponent 0 */
        v = copysignf(0.0f, v);
    return v;
}

static void store_out(void *base, pecs_dtype t, int64_t i, float v)
{
    uint32_t x;
    memcpy(&x, &v, sizeof x);
    if (BUG(subnormal_flush) && v != 0.0f && fabsf(v) < min_normal(t)) /* flush-to-zero on the way out */
        v = copysignf(0.0f, v);
    if (BUG(nan_to_inf) && t != PECS_DT_F32 &&
        (x & 0x7fffffffu) >= (t == PECS_DT_F16 ? 0x477ff000u : 0x7f7f8000u)) { /* "overflow" test before any NaN test */
        uint16_t inf = (uint16_t)((x >> 16 & 0x8000u) | (t == PECS_DT_F16 ? 0x7c00u : 0x7f80u));
        memcpy((uint16_t *)base + i, &inf, sizeof inf);
        return;
    }
    pecs_store_f32(base, t, i, v);
    if (BUG(round_truncate) && t != PECS_DT_F32 && isfinite(v)) { /* truncation toward zero instead of RNE */
        uint16_t *h = (uint16_t *)base + i;
        if (fabsf(pecs_load_f32(base, t, i)) > fabsf(v))
            (*h)--; /* one step down in magnitude (sign-magnitude bits); from Inf: the largest finite */
    }
}

/* Element offset of logical index idx[] in tensor t; the ignore_stride mutant assumes packed rows. */
static int64_t offset(const pecs_tensor *t, const int64_t *idx)
{
    int64_t off = 0, packed = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        off += idx[i] * (BUG(ignore_stride) ? packed : t->stride[i]);
        packed *= t->shape[i];
    }
    return off;
}

static double round_to(double v, pecs_dtype t)
{
    unsigned char b[8] = {0};
    pecs_store_f64(b, t, 0, v);
    return pecs_load_f64(b, t, 0);
}

/* ---- rotate ------------------------------------------------------------------------------------------ */

typedef struct sched {
    double inv[4096], zeta[4096], zrate, zcenter, attn, offset, lgain;
    int axis[4096];
    double hscale[4096]; /* per-head frequency scale (Ms-PoE 1/r, MHRoPE 0 for NoPE heads) */
    int haxis[4096];     /* per-head position row, -1 = the pair's */
    int himag[4096];     /* per-head RoPE++ imaginary turn: (cos, sin) -> (sin, -cos) */
    double hbase[4096];  /* per-head RoPE base (HARPE), 0 = the shared inv */
    double ffdiv[4096];  /* freq_factors divisor of pair i (1 without) */
    double den;          /* the exponent's denominator (R) */
} sched;

static int is(const pecs_problem *p, const char *id) { return !strcmp(p->encoding, id); }

static void llama3(const pecs_problem *p, int64_t R, double *inv)
{
    double factor = pecs_param_real(p, "factor", 8.0), lo = pecs_param_real(p, "low_freq_factor", 1.0);
    double hi = pecs_param_real(p, "high_freq_factor", 4.0), L = (double)pecs_param_int(p, "original_max_position", 8192);
    for (int64_t i = 0; i < R / 2 && !BUG(llama3_unscaled); i++) {
        double wl = 2 * 3.14159265358979323846 / inv[i];
        if (wl > L / lo || (BUG(llama3_no_smoothing) && wl >= L / hi))
            inv[i] /= factor;
        else if (wl >= L / hi) {
            double k = (L / wl - lo) / (hi - lo);
            inv[i] = (1.0 - k) * inv[i] / factor + k * inv[i];
        }
    }
}

static void sections(const pecs_problem *p, int64_t R, int *axis)
{
    const pecs_param *q = pecs_problem_param(p, "sections");
    int64_t n = R / 2, s0 = q && q->n == 3 ? (int64_t)q->list[0] : n, s1 = q && q->n == 3 ? (int64_t)q->list[1] : 0;
    int64_t s2 = q && q->n == 3 ? (int64_t)q->list[2] : 0;
    int interleaved = is(p, "rope.imrope") != (BUG(mrope_interleaved) || BUG(imrope_chunked));
    for (int64_t i = 0; i < n; i++)
        axis[i] = interleaved ? ((i % 3 == 1 && i < 3 * s1) ? 1 : (i % 3 == 2 && i < 3 * s2) ? 2 : 0)
                              : (i < s0 ? 0 : i < s0 + s1 ? 1 : 2);
}

/* Ms-PoE: head h compresses positions by r = lo + (hi - lo) * order[h]/Hq (keys: order[h * groups]). */
static void mspoe(const pecs_problem *p, int64_t H, sched *sc)
{
    const pecs_param *ord = pecs_problem_param(p, "head_order");
    int64_t groups = pecs_param_int(p, "kv_groups", 1), key = pecs_param_is(p, "role", "key"), Hq = key ? H * groups : H;
    double lo = pecs_param_real(p, "min_ratio", 1.2), hi = pecs_param_real(p, "max_ratio", 1.8);
    for (int64_t h = 0; h < H; h++) {
        int64_t q = key ? h * groups : h, k = ord && ord->n == Hq ? (int64_t)ord->list[q] : q;
        if (BUG(mspoe_inverse_order) && ord && ord->n == Hq) /* the head whose order entry is q */
            for (int64_t j = 0; j < Hq; j++)
                if ((int64_t)ord->list[j] == q)
                    k = j;
        sc->hscale[h] = 1.0 / (lo + (hi - lo) * (double)k / (double)Hq);
    }
}

/* CLEX (DAMO-NLP-SG/CLEX clex_layer.py + torchdiffeq fixed-grid rk4): x = log inv, integrated from 1 to t with step
 * time_dt (last grid point t), dx/dt = act((x + log ntk(t)) @ up) @ down + ntk'/ntk, ntk at base 10000 and scale
 * 2t - 1; w [R, F*R] = up rows then down transposed. The bug: the classic RK4 step instead of torchdiffeq's 3/8 rule. */
static void clex_rhs(const pecs_tensor *w, int64_t n, int64_t m, int silu, double t, const double *x, double *y,
                     double *hid, double *dx)
{
    double a = 2.0 * t - 1.0, R = (double)(2 * n);
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] + log(pow(10000.0 * pow(a, R / (R - 2.0)), -(double)(2 * i) / R));
    for (int64_t k = 0; k < m; k++) {
        double z = 0.0;
        for (int64_t i = 0; i < n; i++)
            z += y[i] * pecs_load_f64(w->data, w->dtype, i * w->stride[0] + k * w->stride[1]);
        hid[k] = silu ? z / (1.0 + exp(-z)) : tanh(z);
    }
    for (int64_t j = 0; j < n; j++) {
        double z = -4.0 * (double)j / ((R - 2.0) * a);
        for (int64_t k = 0; k < m; k++)
            z += hid[k] * pecs_load_f64(w->data, w->dtype, (n + j) * w->stride[0] + k * w->stride[1]);
        dx[j] = z;
    }
}

static void clex(const pecs_problem *p, int64_t R, double *inv)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    int64_t n = R / 2, m = pecs_param_int(p, "param_factor", 1) * R, T = pecs_param_int(p, "t", 1);
    double h = pecs_param_real(p, "time_dt", 0.01);
    if (!w || T == 1 || R <= 2)
        return;
    double *x = malloc((size_t)(8 * n + m) * sizeof *x);
    if (!x)
        return;
    double *k1 = x + n, *k2 = k1 + n, *k3 = k2 + n, *k4 = k3 + n, *u = k4 + n, *y = u + n, *hid = y + n;
    int silu = pecs_param_is(p, "act", "silu"), classic = BUG(clex_rk4_classic);
    for (int64_t i = 0; i < n; i++)
        x[i] = log(inv[i]);
    int64_t pts = (int64_t)ceil(((double)T - 1.0) / h + 1.0);
    for (int64_t g = 0; g + 1 < pts; g++) {
        double t0 = (double)g * h + 1.0, t1 = g + 2 == pts ? (double)T : (double)(g + 1) * h + 1.0, d = t1 - t0;
        clex_rhs(w, n, m, silu, t0, x, y, hid, k1);
        for (int64_t i = 0; i < n; i++)
            u[i] = x[i] + d * k1[i] * (classic ? 0.5 : 1.0 / 3.0);
        clex_rhs(w, n, m, silu, t0 + d * (classic ? 0.5 : 1.0 / 3.0), u, y, hid, k2);
        for (int64_t i = 0; i < n; i++)
            u[i] = x[i] + d * (classic ? 0.5 * k2[i] : k2[i] - k1[i] / 3.0);
        clex_rhs(w, n, m, silu, t0 + d * (classic ? 0.5 : 2.0 / 3.0), u, y, hid, k3);
        for (int64_t i = 0; i < n; i++)
            u[i] = x[i] + d * (classic ? k3[i] : k1[i] - k2[i] + k3[i]);
        clex_rhs(w, n, m, silu, t1, u, y, hid, k4);
        for (int64_t i = 0; i < n; i++)
            x[i] += classic ? d / 6.0 * (k1[i] + 2.0 * (k2[i] + k3[i]) + k4[i]) : d / 8.0 * (k1[i] + 3.0 * (k2[i] + k3[i]) + k4[i]);
    }
    for (int64_t i = 0; i < n; i++)
        inv[i] = exp(x[i]);
    free(x);
}

/* HARPE (arXiv 2412.07171 Eq. 9, Table 2): head h at base b_h; uniform b_min + h (b_max - b_min)/(H - 1) (descending:
 * entry H-1-h), the 32 Table 2 bases (millions), or the bases list. The bugs: the heads' bases in reverse order, one base
 * (head 0's) for every head, Eq. 9's spacing over H instead of H - 1 (as Ms-PoE divides by num_heads). */
static void harpe(const pecs_problem *p, int64_t H, sched *sc)
{
    static const double t2[32] = {1.00, 1.15, 1.30, 1.45, 2.17, 2.20, 2.23, 2.47, 2.50, 2.65, 2.68, 2.71, 2.74, 2.80, 2.83, 2.92,
                                  3.01, 3.04, 3.10, 3.13, 3.16, 3.22, 3.43, 3.46, 3.61, 3.88, 4.09, 4.15, 4.39, 4.45, 4.51, 4.54};
    const pecs_param *l = pecs_problem_param(p, "bases");
    double lo = pecs_param_real(p, "min_base", 1e6), hi = pecs_param_real(p, "max_base", 5e6);
    int desc = pecs_param_is(p, "order", "descending");
    for (int64_t h = 0; h < H; h++) {
        int64_t k = BUG(harpe_heads_reversed) ? H - 1 - h : BUG(harpe_one_base) ? 0 : h;
        if (pecs_param_is(p, "base_set", "list"))
            sc->hbase[h] = l && l->n == H ? l->list[k] : 10000.0;
        else if (pecs_param_is(p, "base_set", "table2"))
            sc->hbase[h] = H == 32 ? t2[k] * 1e6 : 10000.0;
        else
            sc->hbase[h] = lo + (double)(desc ? H - 1 - k : k) * (hi - lo) / (double)(BUG(harpe_spacing_over_n) ? H : H > 1 ? H - 1 : 1);
    }
}

static void schedule(const pecs_problem *p, int64_t R, int64_t D, int64_t H, sched *sc)
{
    for (int64_t h = 0; h < H; h++)
        sc->hscale[h] = 1.0, sc->haxis[h] = -1, sc->himag[h] = 0;
    if (is(p, "rope.plusplus") && !pecs_param_is(p, "role", "key")) { /* imago all, imagh h >= H/2, imagx odd */
        int all = pecs_param_is(p, "imag", "all"), up = pecs_param_is(p, "imag", "upper");
        int none = pecs_param_is(p, "imag", "none");
        for (int64_t h = 0; h < H && !none; h++)
            sc->himag[h] = all || (up ? 2 * h >= H - (H % 2) : h % 2 == 1);
    }
    if (is(p, "rope.mspoe"))
        mspoe(p, H, sc);
    if (is(p, "rope.mhrope")) { /* KV heads per axis, the rest NoPE; query head h -> KV head h / groups */
        const pecs_param *q = pecs_problem_param(p, "head_sections");
        int64_t g = pecs_param_int(p, "kv_groups", 1), key = pecs_param_is(p, "role", "key"), kvh = key ? H : H / g;
        int64_t s0 = q && q->n == 3 ? (int64_t)q->list[0] : kvh, s1 = q && q->n == 3 ? (int64_t)q->list[1] : 0;
        int64_t s2 = q && q->n == 3 ? (int64_t)q->list[2] : 0;
        for (int64_t h = 0; h < H; h++) {
            int64_t k = key ? h : BUG(mhrope_heads_tiled) ? h % kvh : h / g;
            sc->haxis[h] = k < s0 ? 0 : k < s0 + s1 ? 1 : 2;
            if (k >= s0 + s1 + s2)
                sc->hscale[h] = 0.0;
        }
    }
    for (int64_t h = 0; h < H; h++)
        sc->hbase[h] = 0.0;
    if (is(p, "rope.harpe"))
        harpe(p, H, sc);
    double base = pecs_param_real(p, "base", 10000.0), s = pecs_param_real(p, "factor", 1.0);
    double den = BUG(partial_head_dim) ? (double)D : (double)R, *inv = sc->inv, *attn = &sc->attn;
    sc->den = den;
    for (int64_t i = 0; i < R / 2; i++)
        sc->axis[i] = 0, sc->zeta[i] = 1.0;
    sc->zrate = sc->zcenter = sc->offset = sc->lgain = 0.0;
    /* NTK's base exponent R/(R-2) over the rotated dimensions; the bug takes the head's D/(D-2) */
    double ntk_exp = BUG(ntk_exponent_head_dim) ? (double)D / (double)(D - 2) : (double)R / (double)(R - 2);
    if (is(p, "rope.ntk"))
        base *= pow(s, BUG(ntk_no_exponent) ? 1.0 : ntk_exp);
    if (is(p, "rope.dynamic_ntk")) {
        double Lmax = (double)pecs_param_int(p, "max_position", 2048), L = fmax(pecs_problem_seq_len(p), Lmax);
        base *= pow(BUG(dynamic_ntk_static) ? s : s * L / Lmax - (s - 1.0), ntk_exp);
        if (BUG(dynamic_ntk_f32_base))
            base = (float)base;
    }
    if (is(p, "rope.buckets")) { /* copy j at bases[j]; the bug: every copy at the first base (a cached cos/sin table) */
        const pecs_param *bl = pecs_problem_param(p, "bases");
        int64_t j = pecs_param_int(p, "bucket", 0);
        if (bl && j < bl->n)
            base = bl->list[BUG(buckets_first_base) ? 0 : j];
    }
    for (int64_t i = 0; i < R / 2; i++)
        inv[i] = pow(base, -2.0 * (double)i / den);
    *attn = 1.0;
    if (is(p, "rope.linear") && !BUG(linear_int_positions))
        for (int64_t i = 0; i < R / 2; i++)
            inv[i] /= s;
    if (is(p, "rope.yarn")) {
        int64_t orig = pecs_param_int(p, "original_max_position", 4096), mp = pecs_param_int(p, "max_position", 0);
        double L = (double)orig * (BUG(yarn_extended_length) ? s : 1.0);
        if (pecs_param_is(p, "corr_length", "max"))
            L = mp > 0 ? (double)mp : s * (double)orig;
        double fast = pecs_param_real(p, "beta_fast", 32.0), slow = pecs_param_real(p, "beta_slow", 1.0);
        double lo = (double)R * log(L / (fast * 2 * 3.14159265358979323846)) / (2 * log(base));
        double hi = (double)R * log(L / (slow * 2 * 3.14159265358979323846)) / (2 * log(base));
        if (pecs_param_int(p, "truncate", 1))
            lo = floor(lo), hi = ceil(hi);
        lo = fmax(lo, 0.0);
        hi = fmin(hi, (double)(R - 1));
        if (lo == hi)
            hi += 0.001;
        for (int64_t i = 0; i < R / 2; i++) {
            double ramp = fmin(fmax(((double)i - lo) / (hi - lo), 0.0), 1.0); /* 0: extrapolate, 1: interpolate */
            if (BUG(yarn_ramp_inverted))
                ramp = 1.0 - ramp;
            inv[i] = inv[i] * (1.0 - ramp) + inv[i] / s * ramp;
        }
        double m = pecs_param_real(p, "mscale", 1.0), mall = pecs_param_real(p, "mscale_all_dim", 0.0);
        double af = pecs_param_real(p, "attention_factor", 0.0);
        if (s > 1.0 && !BUG(yarn_no_mscale))
            *attn = (0.1 * m * log(s) + 1.0) / (mall > 0.0 ? 0.1 * mall * log(s) + 1.0 : 1.0);
        if (af > 0.0)
            *attn = af;
    }
    if (is(p, "rope.longrope")) {
        double orig = (double)pecs_param_int(p, "original_max_position", 4096), seq = pecs_problem_seq_len(p);
        double mp = (double)pecs_param_int(p, "max_position", 0), f = pecs_param_real(p, "factor", 0.0);
        double af = pecs_param_real(p, "attention_factor", 0.0);
        int longer = BUG(longrope_switch_ge) ? seq >= orig : seq > orig;
        const pecs_param *ext = pecs_problem_param(p, longer ? "long_factor" : "short_factor");
        for (int64_t i = 0; ext && i < ext->n && i < R / 2; i++)
            inv[i] /= ext->list[i];
        f = f > 0.0 ? f : mp > 0.0 ? mp / orig : 1.0;
        *attn = af > 0.0 ? af : f > 1.0 ? sqrt(1.0 + log(f) / log(orig)) : 1.0;
    }
    if (is(p, "rope.llama3"))
        llama3(p, R, inv);
    if (is(p, "rope.mrope") || is(p, "rope.imrope"))
        sections(p, R, sc->axis);
    if (is(p, "rope.vision2d")) /* two axes of R/4 pairs, the index restarted for w */
        for (int64_t k = 0, q = R / 4; k < q; k++) {
            inv[k] = pow(base, -4.0 * (double)k / (double)R);
            inv[q + k] = pow(base, -4.0 * (double)(BUG(vision2d_no_reset) ? q + k : k) / (double)R);
            sc->axis[k] = 0, sc->axis[q + k] = 1;
        }
    if (is(p, "xpos")) {
        double g = pecs_param_real(p, "gamma", 0.4);
        int64_t N = pecs_param_int(p, "seq_len", 0);
        for (int64_t i = 0; i < R / 2; i++)
            sc->zeta[i] = (2.0 * (double)i + g * (double)R) / ((1.0 + g) * (double)R);
        sc->zrate = (pecs_param_is(p, "role", "key") && !BUG(xpos_no_downscale) ? -1.0 : 1.0) /
                    pecs_param_real(p, "scale_base", 512.0);
        sc->zcenter = (double)((N + 1) / 2);
    }
    if (is(p, "rope.p")) { /* floor(p*R/2) pairs keep the full-width spacing, the rest frequency 0 */
        int64_t keep = (int64_t)floor(pecs_param_real(p, "p", 0.25) * (double)R / 2.0);
        for (int64_t i = 0; i < R / 2; i++)
            inv[i] = i >= keep ? 0.0 : BUG(p_respaced) ? pow(base, -2.0 * (double)i / (double)(2 * keep)) : inv[i];
    }
    if (is(p, "rope.giraffe")) { /* Abacus: scale or power, then the truncated basis */
        double pw = pecs_param_real(p, "scale_power", 0.0), L = (double)pecs_param_int(p, "truncate_len", 0);
        double t = 2.0 * 3.14159265358979323846 / L;
        for (int64_t i = 0; i < R / 2; i++) {
            double f = inv[i] / (s > 1.0 ? s : 1.0) * (pw > 0.0 ? pow(1.0 - 2.0 * (double)i / (double)R, pw) : 1.0);
            if (L > 0.0 && f < t)
                f = f < t / 8.0 || BUG(giraffe_band_zero) ? 0.0 : t / 16.0;
            inv[i] = f;
        }
    }
    if (is(p, "rope.rmt") && !BUG(rmt_standard_exponent)) /* exponent linspace(0, 1, R/2), not 2i/R */
        for (int64_t i = 0; i < R / 2; i++)
            inv[i] = R > 2 ? pow(base, -(double)i / (double)(R / 2 - 1)) : 1.0;
    if (is(p, "rope.plusplus")) { /* linear: inv / s; yarn: ramp over the rotations in 4096 tokens, gain */
        int yarn = pecs_param_int(p, "yarn", 0) != 0;
        for (int64_t i = 0; i < R / 2; i++) {
            double r = inv[i] * 4096.0 / (2 * 3.14159265358979323846);
            double g = yarn ? (r <= 1.0 ? 0.0 : r >= 32.0 ? 1.0 : (r - 1.0) / 31.0) : 0.0;
            inv[i] = inv[i] * g + inv[i] / s * (1.0 - g);
        }
        if (yarn)
            *attn = 0.1 * log(s) + 1.0;
    }
    if (is(p, "rope.vrope")) /* pair i reads variant row i % 4 (the chunked bug: R/8 pairs per variant) */
        for (int64_t i = 0; i < R / 2; i++)
            sc->axis[i] = BUG(vrope_chunked) ? (int)(i * 4 / (R / 2)) : (int)(i % 4);
    if (is(p, "rope.hope_vlm")) { /* spatial pairs alternate h/w; the s_t last pairs NoPE (the bug: rotated by t) */
        const pecs_param *q = pecs_problem_param(p, "sections");
        int64_t spatial = q && q->n == 3 ? (int64_t)(q->list[1] + q->list[2]) : R / 2;
        for (int64_t i = 0; i < R / 2; i++) {
            sc->axis[i] = i < spatial ? (i % 2 == 0 ? 1 : 2) : 0;
            if (i >= spatial && !BUG(hope_temporal_band))
                inv[i] = 0.0;
        }
    }
    if (is(p, "rope.entropy_abf") && !pecs_param_is(p, "role", "key")) /* query scale max(1, ln(p+1)/ln L) */
        sc->lgain = pecs_param_real(p, "train_length", 4096.0);
    if (is(p, "rope.string")) { /* shifted queries at p - S + W (the bug: p + S - W); cos/sin x (0.1 ln 2 + 1) */
        double af = pecs_param_real(p, "attention_factor", 0.0), d = (double)(pecs_param_int(p, "local_value", 128) -
                                                                             pecs_param_int(p, "shifted_offset", 43253));
        *attn = af > 0.0 ? af : 0.1 * log(2.0) + 1.0;
        if (pecs_param_is(p, "role", "shifted"))
            sc->offset = BUG(string_offset_sign) ? -d : d;
    }
    if (is(p, "rope.clex"))
        clex(p, R, inv);
    if (is(p, "rope.selective")) /* temp_max / theta^(2i/head_dim); the bug: the exponent over pe_dim = head_dim/2 */
        for (int64_t i = 0; i < R / 2; i++)
            inv[i] = pecs_param_real(p, "temp_max", 1.0) *
                     pow(base, -2.0 * (double)i / (BUG(selrope_temp_pe_dim) ? (double)(R / 2) : (double)R));
    const pecs_param *ff = pecs_problem_param(p, "freq_factors");
    for (int64_t i = 0; i < R / 2; i++)
        sc->ffdiv[i] = 1.0;
    for (int64_t i = 0; ff && i < ff->n && i < R / 2; i++) {
        inv[i] = BUG(freq_factors_times) ? inv[i] * ff->list[i] : inv[i] / ff->list[i];
        sc->ffdiv[i] = BUG(freq_factors_times) ? 1.0 / ff->list[i] : ff->list[i];
    }
    if (BUG(yarn_mscale_squared))
        *attn *= *attn;
    if (!BUG(attn_factor_ignored))
        *attn *= pecs_param_real(p, "attn_factor", 1.0);
    if (BUG(inv_freq_storage))
        for (int64_t i = 0; i < R / 2; i++)
            inv[i] = round_to(inv[i], p->dtype);
}

static void sincos_of(double m, double w, double *s, double *c)
{
    double a = BUG(angle_f32) ? (double)((float)m * (float)w) : m * w;
    if (BUG(angle_f16))
        a = round_to(round_to(m, PECS_DT_F16) * round_to(w, PECS_DT_F16), PECS_DT_F16);
    if (BUG(fast_sincos)) /* range reduction by a float32 2*pi: off by k * 1.7e-7 rad */
        a -= nearbyint(a / 6.2831855f) * (double)6.2831855f;
    *s = sin(a);
    *c = cos(a);
}

/* The OpenMP race: two threads take alternate tokens and share one cos/sin buffer. Both fill it, meet at a
 * barrier, then rotate with whatever the last writer left: one of each two tokens turns by the other's
 * angles, and which one depends on the scheduling. (Without OpenMP it degrades to the same corruption,
 * deterministically, so the mutant stays wrong.) */
static pecs_status rotate_racy(const pecs_problem *p, const sched *sc, int64_t R)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2];
    int half = pecs_param_is(p, "pairing", "half");
    static float shared_cs[2 * 4096];
#ifdef _OPENMP
#pragma omp parallel num_threads(2)
#endif
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        for (int64_t k = 0; k < T; k += 2) {
            int64_t t = k + tid;
            for (int64_t i = 0; t < T && i < R / 2; i++) {
                double a = pecs_pos_at(pos, sc->axis[i], t) * sc->inv[i];
                shared_cs[2 * i] = (float)(cos(a) * sc->attn), shared_cs[2 * i + 1] = (float)(sin(a) * sc->attn);
            }
#ifdef _OPENMP
#pragma omp barrier
#endif
            for (int64_t h = 0; t < T && h < H; h++)
                for (int64_t i = 0; i < R / 2; i++) {
                    int64_t ia[3] = {t, h, half ? i : 2 * i}, ib[3] = {t, h, half ? i + R / 2 : 2 * i + 1};
                    float a = load_in(x->data, x->dtype, offset(x, ia)), b = load_in(x->data, x->dtype, offset(x, ib));
                    float c = shared_cs[2 * i], s = shared_cs[2 * i + 1];
                    store_out(out->data, out->dtype, offset(out, ia), a * c - b * s);
                    store_out(out->data, out->dtype, offset(out, ib), a * s + b * c);
                }
#ifdef _OPENMP
#pragma omp barrier
#endif
        }
    }
    for (int64_t t = 0; t < T && !p->in_place; t++) /* the tail, outside the race */
        for (int64_t h = 0; h < H; h++)
            for (int64_t d = R; d < D; d++) {
                int64_t id[3] = {t, h, d};
                store_out(out->data, out->dtype, offset(out, id), load_in(x->data, x->dtype, offset(x, id)));
            }
    return PECS_OK;
}

/* Tokens [t0, t1) of a rotate call. */
static void rotate_tokens(const pecs_problem *p, const sched *sc, int64_t R, const pecs_tensor *out, int64_t t0,
                          int64_t t1)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos");
    int64_t H = x->shape[1], D = x->shape[2];
    const double *inv = sc->inv, attn = sc->attn;
    int half = pecs_param_is(p, "pairing", "half") != BUG(pairing_swapped);
    double s_factor = pecs_param_real(p, "factor", 1.0);
    for (int64_t t = t0; t < t1; t++) {
        for (int64_t h = 0; h < H; h++) {
            for (int64_t i = 0; i < R / 2; i++) {
                double m = pecs_pos_at(pos, sc->haxis[h] >= 0 ? sc->haxis[h] : sc->axis[i], t) + sc->offset +
                           (BUG(position_off_by_one) ? 1.0 : 0.0);
                if (BUG(positions_int32))
                    m = (double)(int32_t)(uint32_t)(uint64_t)(int64_t)m;
                if (BUG(linear_int_positions) && !strcmp(p->encoding, "rope.linear"))
                    m = floor(m / s_factor);
                double sn, cs, g = attn;
                if (sc->zrate != 0.0)
                    g *= pow(sc->zeta[i], (pecs_pos_at(pos, 0, t) - sc->zcenter) * sc->zrate);
                if (sc->lgain > 1.0 && (pecs_pos_at(pos, 0, t) + 1.0 > sc->lgain || BUG(entropy_no_clamp)))
                    g *= log(pecs_pos_at(pos, 0, t) + 1.0) / log(sc->lgain);
                double w = sc->hbase[h] > 0.0 ? pow(sc->hbase[h], -2.0 * (double)i / sc->den) / sc->ffdiv[i] : inv[i];
                sincos_of(m, w * sc->hscale[h], &sn, &cs);
                if (sc->himag[h]) { /* RoPE++: q sin a - rotate_half(q) cos a is the turn by (sin a, -cos a) */
                    double c0 = cs;
                    cs = sn, sn = BUG(plusplus_imag_sign) ? c0 : -c0;
                }
                float c = (float)(cs * g), s = (float)(sn * (BUG(yarn_mscale_cos_only) ? 1.0 : g));
                if (BUG(rotation_flipped))
                    s = -s;
                int64_t hh = BUG(partial_half_of_head) ? D / 2 : R / 2; /* the partner of lane i in half-split */
                int64_t ia[3] = {t, h, half ? i : 2 * i}, ib[3] = {t, h, half ? i + hh : 2 * i + 1};
                float a = load_in(x->data, x->dtype, offset(x, ia)), b = load_in(x->data, x->dtype, offset(x, ib));
                store_out(out->data, out->dtype, offset(out, ia), a * c - b * s);
                store_out(out->data, out->dtype, offset(out, ib), a * s + b * c);
            }
            for (int64_t d = R; d < D && !p->in_place && !BUG(partial_no_tail); d++) {
                int64_t id[3] = {t, h, d};
                store_out(out->data, out->dtype, offset(out, id), load_in(x->data, x->dtype, offset(x, id)));
            }
        }
    }
}

/* The output as the kernel addresses it: with the input's strides in the out_input_strides mutant (a kernel
 * that computes one offset for both, right whenever pecs gives them equal strides). */
static const pecs_tensor *out_view(const pecs_problem *p, pecs_tensor *tmp)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *out = pecs_problem_tensor(p, "out");
    if (!BUG(out_input_strides) || !x || !out || x == out)
        return out;
    *tmp = *out;
    memcpy(tmp->stride, x->stride, sizeof tmp->stride);
    return tmp;
}

/* ComRoPE (Longin-Yu/ComRoPE model.py): block j of head h turns by exp(c_j S_j), S_j = P_j - P_j^T from row h of
 * w [H+2, D*b], c_j = pos[j % 2] (ap) or sum_i pos[i] w[H+i][j] (ld). exp(c S) by scaling and squaring a Taylor
 * series in double; the block product in f32. */
static void comrope_expm(double *M, int64_t b, double *E, double *T)
{
    double mx = 0.0;
    for (int64_t i = 0; i < b * b; i++)
        mx = fmax(mx, fabs(M[i]));
    int sq = 0;
    while (mx * (double)b > 0.25 && sq < 2000)
        mx *= 0.5, sq++;
    for (int64_t i = 0; i < b * b; i++)
        M[i] = ldexp(M[i], -sq), E[i] = (i / b == i % b);
    for (int k = 16; k >= 1; k--) { /* E = I + M E / k */
        for (int64_t r = 0; r < b; r++)
            for (int64_t c = 0; c < b; c++) {
                double a = 0.0;
                for (int64_t q = 0; q < b; q++)
                    a += M[r * b + q] * E[q * b + c];
                T[r * b + c] = a / k + (r == c);
            }
        memcpy(E, T, (size_t)(b * b) * sizeof *E);
    }
    while (sq-- > 0) {
        for (int64_t r = 0; r < b; r++)
            for (int64_t c = 0; c < b; c++) {
                double a = 0.0;
                for (int64_t q = 0; q < b; q++)
                    a += E[r * b + q] * E[q * b + c];
                T[r * b + c] = a;
            }
        memcpy(E, T, (size_t)(b * b) * sizeof *E);
    }
}

static pecs_status run_comrope(const pecs_problem *p, const pecs_tensor *out)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *w = pecs_problem_tensor(p, "w");
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], b = pecs_param_int(p, "block", 2);
    int ld = pecs_param_is(p, "variant", "ld");
    if (b < 1 || b > 64 || D % (ld ? b : 2 * b) || !w || w->shape[0] != H + 2 || w->shape[1] != D * b)
        return PECS_INVALID;
    static double M[64 * 64], E[64 * 64], Tm[64 * 64];
    float xin[64];
    int64_t m = D / b, nb = b * b;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t j = 0; j < m; j++) {
                double c = 0.0;
                for (int64_t i = 0; i < 2; i++) {
                    int64_t wi[2] = {H + i, j};
                    int on = BUG(comrope_ap_chunked) ? (j < m / 2) == (i == 0) : j % 2 == i;
                    c += pecs_pos_at(pos, i, t) * (ld ? pecs_load_f64(w->data, w->dtype, offset(w, wi)) : on);
                }
                for (int64_t r = 0; r < b; r++)
                    for (int64_t q = 0; q < b; q++) {
                        int64_t a[2] = {h, j * nb + r * b + q}, at[2] = {h, j * nb + q * b + r};
                        double s = pecs_load_f64(w->data, w->dtype, offset(w, a)) - pecs_load_f64(w->data, w->dtype, offset(w, at));
                        M[BUG(comrope_transposed) ? q * b + r : r * b + q] = c * s; /* the bug: exp(-A) = exp(A)^T */
                    }
                comrope_expm(M, b, E, Tm);
                for (int64_t q = 0; q < b; q++) {
                    int64_t ix[3] = {t, h, j * b + q};
                    xin[q] = load_in(x->data, x->dtype, offset(x, ix));
                }
                for (int64_t r = 0; r < b; r++) {
                    float acc = 0.0f;
                    for (int64_t q = 0; q < b; q++)
                        acc += (float)E[r * b + q] * xin[q];
                    int64_t io[3] = {t, h, j * b + r};
                    store_out(out->data, out->dtype, offset(out, io), acc);
                }
            }
    return PECS_OK;
}

/* PSC (WNQzhu/PSC lora_llama.py Phase.forward, then apply_rotary_pos_emb's rotation): head h's lanes become
 * x * (1 + tanh(silu(x U_h) V_h) / 2), U_h / V_h the D x D blocks of w [4*H*D, D] at rows r0 + h*D and
 * r0 + (H + h)*D, r0 = 0 for queries and 2*H*D for keys. Reads src (f32 [T][H][D] when gated in place), writes g. */
static void psc_gate(const pecs_problem *p, const pecs_tensor *src, float *g)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    int64_t T = src->shape[0], H = src->shape[1], D = src->shape[2];
    int key = pecs_param_is(p, "role", "key") != BUG(psc_roles_swapped);
    int64_t r0 = key ? 2 * H * D : 0;
    double a[4096];
    float xin[4096];
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            for (int64_t i = 0; i < D; i++) {
                int64_t id[3] = {t, h, i};
                xin[i] = load_in(src->data, src->dtype, offset(src, id));
            }
            for (int64_t r = 0; r < D; r++) {
                double z = 0.0;
                for (int64_t i = 0; i < D; i++) {
                    int64_t row = r0 + h * D + (BUG(psc_up_transposed) ? r : i), col = BUG(psc_up_transposed) ? i : r;
                    z += (double)xin[i] * pecs_load_f64(w->data, w->dtype, row * w->stride[0] + col * w->stride[1]);
                }
                a[r] = z / (1.0 + exp(-z));
            }
            for (int64_t j = 0; j < D; j++) {
                double z = 0.0;
                for (int64_t r = 0; r < D; r++)
                    z += a[r] * pecs_load_f64(w->data, w->dtype, (r0 + (H + h) * D + r) * w->stride[0] + j * w->stride[1]);
                g[(t * H + h) * D + j] = (float)((double)xin[j] * (1.0 + 0.5 * tanh(z)));
            }
        }
}

/* PSC: the gated head into a f32 copy, then the plain rotation from it (the bug: rotate x, then gate the output). */
static pecs_status run_psc(const pecs_problem *p, const sched *sc, int64_t R, const pecs_tensor *out)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *w = pecs_problem_tensor(p, "w");
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2];
    if (R != D || D > 4096 || !w || w->ndim != 2 || w->shape[0] != 4 * H * D || w->shape[1] != D)
        return PECS_INVALID;
    float *g = malloc((size_t)(T * H * D) * sizeof *g);
    pecs_tensor gt = {.name = "x", .dtype = PECS_DT_F32, .ndim = 3, .shape = {T, H, D}, .stride = {H * D, D, 1},
                      .data = g};
    pecs_tensor ts[8];
    if (!g || p->n_tensors > 8) {
        free(g);
        return PECS_NOMEM;
    }
    pecs_problem q = *p;
    for (int i = 0; i < p->n_tensors; i++)
        ts[i] = !strcmp(p->tensors[i].name, "x") ? gt : p->tensors[i];
    q.tensors = ts;
    if (BUG(psc_gate_after_rotation)) {
        rotate_tokens(p, sc, R, out, 0, T);
        psc_gate(p, out, g);
        for (int64_t t = 0; t < T; t++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t d = 0; d < D; d++) {
                    int64_t id[3] = {t, h, d};
                    store_out(out->data, out->dtype, offset(out, id), g[(t * H + h) * D + d]);
                }
    } else {
        psc_gate(p, x, g);
        q.in_place = 0;
        rotate_tokens(&q, sc, R, out, 0, T);
    }
    free(g);
    return PECS_OK;
}

/* Selective RoPE (timurcarstensen/selective-rope rotary.py SelectiveRoPE.forward): pair i of head h at token t turns
 * by inv[i] * (w[0][h*n + i] + sum_{s <= t} w[1 + s][h*n + i]) (row 0: the earlier tokens' sum). Bugs: the sum
 * exclusive of token t (cumsum shifted by one), the offset row ignored. */
static pecs_status run_selective(const pecs_problem *p, const sched *sc, int64_t R, const pecs_tensor *out)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *w = pecs_problem_tensor(p, "w");
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], n = R / 2;
    if (R != D || !w || w->ndim != 2 || w->shape[0] != T + 1 || w->shape[1] != H * n)
        return PECS_INVALID;
    int half = pecs_param_is(p, "pairing", "half");
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < n; i++) {
            int64_t col = (h * n + i) * w->stride[1];
            double acc = BUG(selrope_no_offset) ? 0.0 : pecs_load_f64(w->data, w->dtype, col);
            for (int64_t t = 0; t < T; t++) {
                double phi = pecs_load_f64(w->data, w->dtype, (1 + t) * w->stride[0] + col);
                if (!BUG(selrope_exclusive))
                    acc += phi;
                double sn, cs;
                sincos_of(acc, sc->inv[i], &sn, &cs);
                if (BUG(selrope_exclusive))
                    acc += phi;
                float c = (float)(cs * sc->attn), s = (float)(sn * sc->attn);
                int64_t ia[3] = {t, h, half ? i : 2 * i}, ib[3] = {t, h, half ? i + n : 2 * i + 1};
                float a = load_in(x->data, x->dtype, offset(x, ia)), b = load_in(x->data, x->dtype, offset(x, ib));
                store_out(out->data, out->dtype, offset(out, ia), a * c - b * s);
                store_out(out->data, out->dtype, offset(out, ib), a * s + b * c);
            }
        }
    return PECS_OK;
}

/* CARoPE (arXiv 2507.23083 sec. 2): pair i of head h at token t turns by o[i][h] + sum over tokens s <= t at positions
 * >= 1 of f_s^i, f = 1/(softplus(z) + 1); w [T + R/2, H] (logits z, then the carried sums o). Bugs: f^(i+1) (the
 * exponent from 1), the token at position 0 summed too (a plain cumsum: RoPE at pos + 1), sigmoid(-z) for f. */
static pecs_status run_carope(const pecs_problem *p, int64_t R, const pecs_tensor *out)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *w = pecs_problem_tensor(p, "w"),
                      *pos = pecs_problem_tensor(p, "pos");
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], n = R / 2;
    if (R != D || !w || !pos || w->ndim != 2 || w->shape[0] != T + n || w->shape[1] != H)
        return PECS_INVALID;
    int half = pecs_param_is(p, "pairing", "half");
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < n; i++) {
            double acc = pecs_load_f64(w->data, w->dtype, (T + i) * w->stride[0] + h * w->stride[1]);
            for (int64_t t = 0; t < T; t++) {
                double z = pecs_load_f64(w->data, w->dtype, t * w->stride[0] + h * w->stride[1]);
                double f = BUG(carope_sigmoid) ? 1.0 / (1.0 + exp(z)) : 1.0 / (log1p(exp(z)) + 1.0);
                if (pecs_pos_at(pos, 0, t) >= 1.0 || BUG(carope_counts_position_zero))
                    acc += pow(f, (double)(BUG(carope_exponent_plus_one) ? i + 1 : i));
                double sn, cs;
                sincos_of(acc, 1.0, &sn, &cs);
                float c = (float)cs, s = (float)sn;
                int64_t ia[3] = {t, h, half ? i : 2 * i}, ib[3] = {t, h, half ? i + n : 2 * i + 1};
                float a = load_in(x->data, x->dtype, offset(x, ia)), b = load_in(x->data, x->dtype, offset(x, ib));
                store_out(out->data, out->dtype, offset(out, ia), a * c - b * s);
                store_out(out->data, out->dtype, offset(out, ib), a * s + b * c);
            }
        }
    return PECS_OK;
}

static pecs_status run_rotate(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x");
    pecs_tensor tmp;
    const pecs_tensor *out = out_view(p, &tmp);
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], R = pecs_param_int(p, "rotary_dim", 0);
    R = R ? R : D;
    if (is(p, "rope.comrope"))
        return run_comrope(p, out);
    if (R < 2 || R % 2 || R > D || R > 2 * 4096 || H > 4096)
        return PECS_INVALID;
    static sched sc; /* pecs calls a backend from one thread; the token loops below only read it */
    schedule(p, R, D, H, &sc);
    if (is(p, "rope.psc"))
        return run_psc(p, &sc, R, out);
    if (is(p, "rope.selective"))
        return run_selective(p, &sc, R, out);
    if (is(p, "rope.carope"))
        return run_carope(p, R, out);
    if (BUG(openmp_race))
        return rotate_racy(p, &sc, R);
    int threads = p->n_threads > 1 ? p->n_threads : 1;
    if (BUG(omp_chunk_tail) && threads > 1) { /* chunks of floor(T / threads): the last T % threads tokens dropped */
        int64_t chunk = T / threads;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
        {
            int64_t k = 0;
#ifdef _OPENMP
            k = omp_get_thread_num();
#endif
            rotate_tokens(p, &sc, R, out, k * chunk, (k + 1) * chunk);
        }
#ifndef _OPENMP
        for (int k = 1; k < threads; k++)
            rotate_tokens(p, &sc, R, out, k * chunk, (k + 1) * chunk);
#endif
        return PECS_OK;
    }
    rotate_tokens(p, &sc, R, out, 0, T);
    return PECS_OK;
}

/* ---- bias ---------------------------------------------------------------------------------------------- */

static double alibi_slope(int64_t H, int64_t h, double max_bias)
{
    int64_t P = 1, k = BUG(alibi_exponent) ? h : h + 1;
    while (2 * P <= H)
        P *= 2;
    if (BUG(alibi_geometric))
        return exp2(-max_bias * (double)k / (double)H);
    return h < P ? exp2(-max_bias * (double)k / (double)P) : exp2(-max_bias * (double)(2 * (k - P) - 1) / (double)(2 * P));
}

/* T5 bucket (HF's rule, in double). */
static int64_t t5_bucket(int64_t rel, int bidir, int64_t nb, int64_t maxd)
{
    int64_t bucket = 0, r;
    if (BUG(t5_sign))
        rel = -rel;
    if (bidir) {
        nb /= 2;
        bucket = rel > 0 ? nb : 0;
        r = rel < 0 ? -rel : rel;
    } else {
        r = rel < 0 ? -rel : 0;
    }
    int64_t exact = nb / 2;
    if (r < exact)
        return bucket + r;
    double den = BUG(t5_log_denominator) ? log((double)maxd) : log((double)maxd / (double)exact);
    int64_t large = exact + (int64_t)(log((double)r / (double)exact) / den * (double)(nb - exact));
    return bucket + (large < nb - 1 || BUG(t5_no_clamp) ? large : nb - 1);
}

/* Tier-2 bias helpers: Press slopes (max_bias 8), a per-head list value, the raster grid, iRPE's index. */
static double list_at(const pecs_param *l, int64_t h, double dflt)
{
    return !l || l->n == 0 ? dflt : l->list[l->n == 1 ? 0 : h];
}

static void grid(double pos, double W, double *y, double *x)
{
    *y = floor(pos / W);
    *x = pos - W * *y;
}

static int64_t irpe_g(double x, const pecs_problem *p)
{
    float a = (float)pecs_param_real(p, "alpha", 1.9), b = (float)pecs_param_real(p, "beta", 3.8);
    float lr = (float)log(pecs_param_real(p, "gamma", 15.2) / pecs_param_real(p, "alpha", 1.9));
    float span = (float)(pecs_param_real(p, "beta", 3.8) - pecs_param_real(p, "alpha", 1.9)), ax = (float)fabs(x);
    if (ax <= a)
        return (int64_t)x;
    float v = fminf(rintf(a + logf(ax / a) / lr * span), b);
    return (int64_t)(x < 0 ? -v : v);
}

/* positional_attention: the one-hot rows' Q and K from w [n+1, 2nH] (row n the bias), dotted, over sqrt(n). */
static float pa_logit(const pecs_problem *p, const pecs_tensor *w, int64_t H, int64_t h, double qi, double kj)
{
    int64_t n = pecs_param_int(p, "pos_dim", 9), rq = (int64_t)qi, rk = (int64_t)kj;
    int64_t q0 = BUG(pa_qk_blocks) ? n * h : 2 * n * h, k0 = BUG(pa_qk_blocks) ? n * H + n * h : q0 + n;
    float acc = 0.0f, b = BUG(pa_bias_dropped) ? 0.0f : 1.0f;
#define PA_W(r, c) load_in(w->data, w->dtype, (r) * w->stride[0] + (c) * w->stride[1])
    for (int64_t c = 0; c < n; c++)
        acc += (PA_W(rq, q0 + c) + b * PA_W(n, q0 + c)) * (PA_W(rk, k0 + c) + b * PA_W(n, k0 + c));
#undef PA_W
    return acc / sqrtf((float)n);
}

/* One element of a tier-2 bias encoding (alibi.pi, mpnet, bam, masa, irpe, positional_attention) at head h of H. */
static float bias_t2(const pecs_problem *p, const pecs_tensor *w, const pecs_tensor *qp, const pecs_tensor *kp,
                     int64_t H, int64_t h, double qi, double kj)
{
    if (is(p, "alibi.pi")) {
        double f = pecs_param_real(p, "factor", 0.0), s = 1.0;
        int64_t tr = pecs_param_int(p, "train_seq_len", 0), L = pecs_param_int(p, "key_len", 0);
        if (L == 0)
            L = BUG(alibi_pi_query_len) ? qp->shape[0] : kp->shape[0];
        if (f > 0.0)
            s = f;
        else if (tr > 0 && L > tr)
            s = (double)L / (double)tr;
        return -(float)(alibi_slope(H, h, pecs_param_real(p, "max_bias", 8.0)) / s) * (float)fabs(qi - kj);
    }
    if (is(p, "mpnet")) {
        int64_t nb = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
        int64_t b = BUG(mpnet_causal) ? t5_bucket((int64_t)(kj - qi), 0, nb, maxd) : t5_bucket((int64_t)(kj - qi), 1, nb, maxd);
        return pecs_load_f32(w->data, w->dtype, b * w->stride[0] + h * w->stride[1]);
    }
    if (is(p, "bam")) {
        double a = list_at(pecs_problem_param(p, "theta_alpha"), h, alibi_slope(H, h, 8.0));
        double be = list_at(pecs_problem_param(p, "theta_beta"), h, 1.0), t = list_at(pecs_problem_param(p, "theta_mu"), h, 0.0);
        float d = BUG(bam_mu_readme_sign) ? (float)(qi - kj) : (float)(kj - qi);
        float b = d - (float)(exp(t) - exp(-t));
        return -powf(fabsf(b) + (float)pecs_param_real(p, "eps", 1e-5), (float)be) * (float)(BUG(bam_alpha_not_exp) ? a : exp(a));
    }
    if (is(p, "positional_attention"))
        return pa_logit(p, w, H, h, qi, kj);
    double W = (double)pecs_param_int(p, "width", 14), yq, xq, yk, xk;
    grid(qi, W, &yq, &xq);
    grid(kj, W, &yk, &xk);
    if (is(p, "masa")) {
        double a = pecs_param_real(p, "initial_value", 2.0), b = pecs_param_real(p, "heads_range", 4.0);
        float d = (float)(BUG(masa_raster_distance) ? fabs(qi - kj) : fabs(yq - yk) + fabs(xq - xk));
        return d * (float)log1p(-exp2(-(a + b * (double)h / (double)H)));
    }
    /* irpe */
    int64_t B = (int64_t)pecs_param_real(p, "beta", 3.8), b;
    double dy = yq - yk, dx = xq - xk, q = dy * dy + dx * dx;
    if (pecs_param_is(p, "method", "product"))
        b = BUG(irpe_product_swapped) ? (irpe_g(dx, p) + B) * (2 * B + 1) + irpe_g(dy, p) + B
                                      : (irpe_g(dy, p) + B) * (2 * B + 1) + irpe_g(dx, p) + B;
    else
        b = irpe_g(pecs_param_is(p, "method", "euclidean") ? (double)rintf(sqrtf((float)q)) : q, p) + B;
    return pecs_load_f32(w->data, w->dtype, h * w->stride[0] + b * w->stride[1]);
}

static int is_bias_t2(const pecs_problem *p)
{
    return is(p, "alibi.pi") || is(p, "mpnet") || is(p, "bam") || is(p, "masa") || is(p, "irpe") ||
           is(p, "positional_attention");
}

/* Every bias and mask encoding: one value per (head, query, key). */
static pecs_status run_pairwise(const pecs_problem *p)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w");
    double max_bias = pecs_param_real(p, "max_bias", 8.0);
    const pecs_param *r1 = pecs_problem_param(p, "r1"), *r2 = pecs_problem_param(p, "r2");
    int64_t nb = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    int bidir = (int)pecs_param_int(p, "bidirectional", 1);
    if (is(p, "t5") && (!w || w->shape[0] != nb || maxd <= (bidir ? nb / 2 : nb) / 2))
        return PECS_INVALID;
    for (int64_t h = 0; h < out->shape[0]; h++) {
        float slope = (float)alibi_slope(out->shape[0], h, max_bias);
        for (int64_t i = 0; i < out->shape[1]; i++)
            for (int64_t j = 0; j < out->shape[2]; j++) {
                int64_t idx[3] = {h, i, j};
                double qi = pecs_pos_at(qp, 0, i), kj = pecs_pos_at(kp, 0, j);
                if (BUG(positions_int32))
                    qi = (double)(int32_t)(uint32_t)(uint64_t)(int64_t)qi, kj = (double)(int32_t)(uint32_t)(uint64_t)(int64_t)kj;
                float dist = (float)(qi - kj), v;
                if (is_bias_t2(p))
                    v = bias_t2(p, w, qp, kp, out->shape[0], h, qi, kj);
                else if (is(p, "alibi"))
                    v = pecs_param_is(p, "variant", "key_index") ? slope * (float)kj
                                                                 : BUG(alibi_sign) ? slope * dist : -slope * dist;
                else if (is(p, "t5"))
                    v = load_in(w->data, w->dtype, t5_bucket((int64_t)(kj - qi), bidir, nb, maxd) * w->stride[0] +
                                                             h * w->stride[1]);
                else if (is(p, "kerple.log") || is(p, "kerple.power")) {
                    float a = (float)r1->list[r1->n == 1 ? 0 : h], b = (float)r2->list[r2->n == 1 ? 0 : h];
                    float d = BUG(kerple_abs_distance) ? fabsf(dist) : dist > 0 ? dist : 0.0f;
                    v = is(p, "kerple.log") ? -a * log1pf(b * d) : -a * powf(d, b);
                } else if (is(p, "lm_infinite")) { /* the Lambda: local band or the first n_global keys, causal */
                    double nl = (double)pecs_param_int(p, "n_local", 2048), ng = (double)pecs_param_int(p, "n_global", 100);
                    int causal = BUG(lm_infinite_global_acausal) ? qi - kj >= 0 || kj < ng : qi - kj >= 0;
                    v = causal && (qi - kj < nl || kj < ng) ? 0.0f : -INFINITY;
                } else if (is(p, "s2attn")) { /* causal within groups; the shifted half's boundaries at G // 2 + kG */
                    double G = (double)pecs_param_int(p, "group_size", 2048);
                    double sh = pecs_param_is(p, "half", "shifted") && !BUG(s2attn_shift_ignored) ? floor(G / 2) : 0;
                    v = qi - kj >= 0 && floor((qi - sh) / G) == floor((kj - sh) / G) ? 0.0f : -INFINITY;
                } else if (is(p, "xpos.bca")) { /* blocks of l/2: own block and the one before, causal */
                    double B = (double)(pecs_param_int(p, "train_len", 1024) / (BUG(bca_block_is_train_len) ? 1 : 2));
                    double reach = BUG(bca_own_block_only) ? 0.0 : 1.0;
                    v = qi - kj >= 0 && floor(kj / B) >= floor(qi / B) - reach ? 0.0f : -INFINITY;
                } else if (is(p, "cca")) { /* rings inside the image block, causal elsewhere */
                    int64_t side = pecs_param_int(p, "grid", 24), st = pecs_param_int(p, "image_start", 0);
                    int64_t a = (int64_t)qi - st, b = (int64_t)kj - st, n = side * side;
                    int vis = kj <= qi;
                    if (a >= 0 && a < n && b >= 0 && b < n) {
                        int64_t ra = a / side, ca = a % side, rb = b / side, cb = b % side;
                        int64_t rq = fmin(fmin(ra, ca), fmin(side - 1 - ra, side - 1 - ca));
                        int64_t rk = fmin(fmin(rb, cb), fmin(side - 1 - rb, side - 1 - cb));
                        vis = rk <= rq && (!BUG(cca_keeps_causal) || kj <= qi);
                    }
                    v = vis ? 0.0f : -INFINITY;
                } else if (is(p, "packing")) { /* causal inside each packed prompt's block */
                    const pecs_param *L = pecs_problem_param(p, "lengths");
                    int64_t bq = 0, bk = 0;
                    double end = 0;
                    for (int64_t b = 0; L && b < L->n; b++) {
                        bq += qi >= end + L->list[b];
                        bk += kj >= end + L->list[b];
                        end += L->list[b];
                    }
                    v = kj <= qi && (bq == bk || BUG(packing_cross_prompt)) ? 0.0f : -INFINITY;
                } else if (is(p, "anchor")) { /* token 0 shared, then causal inside each document of lengths */
                    const pecs_param *L = pecs_problem_param(p, "lengths");
                    int64_t dq = qi > 0, dk = kj > 0;
                    double end = 1;
                    for (int64_t b = 0; L && b < L->n; b++) {
                        dq += qi >= end + L->list[b];
                        dk += kj >= end + L->list[b];
                        end += L->list[b];
                    }
                    v = kj <= qi && (dq == dk || (kj == 0 && !BUG(anchor_not_shared))) ? 0.0f : -INFINITY;
                } else if (is(p, "parallel_context")) { /* windows causal alone; task tokens see the kept cache */
                    const pecs_param *L = pecs_problem_param(p, "lengths");
                    int64_t wq = -1, wk = -1, keep = 0;
                    int dk = 0;
                    double end = 0;
                    for (int64_t b = 0; L && b < L->n; b++) {
                        keep = L->list[b] > L->list[keep] ? b : keep;
                        if (wq < 0 && qi >= end && qi < end + L->list[b])
                            wq = b;
                        if (wk < 0 && kj >= end && kj < end + L->list[b])
                            wk = b, dk = kj == end;
                        end += L->list[b];
                    }
                    dk = dk && wk != keep && !BUG(pcw_keeps_every_start);
                    int vis = wq >= 0 ? wk == wq || (BUG(pcw_cross_window) && wk >= 0) : !(wk >= 0 && dk);
                    v = kj <= qi && vis ? 0.0f : -INFINITY;
                } else if (is(p, "etc")) { /* [global | long]: g2g all, l2l band, l2g/g2l all or by sentence */
                    const pecs_param *L = pecs_problem_param(p, "lengths");
                    double G = L ? (double)L->n : 0, end = G, r = (double)pecs_param_int(p, "local_radius", 84);
                    int64_t sq = -1, sk = -1;
                    for (int64_t b = 0; L && b < L->n; b++) {
                        sq = sq < 0 && qi >= end && qi < end + L->list[b] ? b : sq;
                        sk = sk < 0 && kj >= end && kj < end + L->list[b] ? b : sk;
                        end += L->list[b];
                    }
                    int hl2g = pecs_param_int(p, "hard_l2g", 0) && !BUG(etc_l2g_all_globals);
                    int vis = qi < G && kj < G                ? 1
                              : kj < G                        ? !hl2g || (double)sq == kj
                              : qi < G                        ? !pecs_param_int(p, "hard_g2l", 0) || (double)sk == qi
                              : BUG(etc_radius_exclusive)     ? fabs(qi - kj) < r
                                                              : fabs(qi - kj) <= r;
                    v = vis ? 0.0f : -INFINITY;
                } else { /* masks */
                    double W = (double)pecs_param_int(p, "window", 0);
                    int vis = qi - kj >= 0 && (W <= 0 || (BUG(window_inclusive) ? qi - kj <= W : qi - kj < W));
                    v = vis ? 0.0f : -INFINITY;
                }
                store_out(out->data, out->dtype, offset(out, idx), v);
            }
    }
    return PECS_OK;
}

/* ---- embed ---------------------------------------------------------------------------------------------- */

/* Learnable Fourier features (1-D): w [hidden+1, F+D+1] as reference/fourier.c lays it out. */
static pecs_status run_fourier(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *w = pecs_problem_tensor(p, "w");
    pecs_tensor tmp;
    const pecs_tensor *out = out_view(p, &tmp);
    int64_t T = x->shape[0], D = x->shape[1], F = pecs_param_int(p, "features", 64), Hd = pecs_param_int(p, "hidden", 32);
    if (!w || F % 2 || w->shape[0] != Hd + 1 || w->shape[1] != F + D + 1 || F > 4096 || Hd > 4096)
        return PECS_INVALID;
    double feat[4096], g[4096];
    for (int64_t t = 0; t < T; t++) {
        double m = pecs_pos_at(pos, 0, t);
        for (int64_t k = 0; k < F / 2; k++) {
            int64_t iw[2] = {Hd, k};
            double a = m * pecs_load_f64(w->data, w->dtype, offset(w, iw));
            /* Algorithm 1 concatenates [cos | sin] */
            feat[k] = (BUG(fourier_sin_cos_swapped) ? sin(a) : cos(a)) / sqrt((double)F);
            feat[F / 2 + k] = (BUG(fourier_sin_cos_swapped) ? cos(a) : sin(a)) / sqrt((double)F);
        }
        for (int64_t r = 0; r < Hd; r++) {
            int64_t i1[2] = {r, F};
            double z = pecs_load_f64(w->data, w->dtype, offset(w, i1));
            for (int64_t f = 0; f < F; f++) {
                int64_t iw[2] = {r, f};
                z += feat[f] * pecs_load_f64(w->data, w->dtype, offset(w, iw));
            }
            /* nn.GELU() is the erf form; approximate="tanh" is another function */
            g[r] = BUG(fourier_gelu_tanh) ? 0.5 * z * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z)))
                                          : 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
        }
        for (int64_t d = 0; d < D; d++) {
            int64_t ib[2] = {Hd, F + 1 + d}, idx[2] = {t, d};
            double v = pecs_load_f64(w->data, w->dtype, offset(w, ib));
            for (int64_t r = 0; r < Hd; r++) {
                int64_t i2[2] = {r, F + 1 + d};
                v += g[r] * pecs_load_f64(w->data, w->dtype, offset(w, i2));
            }
            store_out(out->data, out->dtype, offset(out, idx), load_in(x->data, x->dtype, offset(x, idx)) + (float)v);
        }
    }
    return PECS_OK;
}

/* sigma-GPT: w [npos, D/2]; the first half from the own position (row 0), the second from the next (row 1). */
static pecs_status run_sigma_gpt(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *w = pecs_problem_tensor(p, "w");
    pecs_tensor tmp;
    const pecs_tensor *out = out_view(p, &tmp);
    int64_t T = x->shape[0], D = x->shape[1], half = D / 2, npos = pecs_param_int(p, "npos", 1024);
    if (!w || D % 2 || pos->ndim != 2 || pos->shape[0] != 2 || w->shape[0] != npos || w->shape[1] != half)
        return PECS_INVALID;
    for (int64_t t = 0; t < T; t++)
        for (int64_t d = 0; d < D; d++) {
            /* _pos_emb concatenates (order_input, order_target): own position first */
            int64_t r = d < half ? 0 : 1;
            if (BUG(sigma_gpt_halves_swapped))
                r = 1 - r;
            if (BUG(sigma_gpt_no_shift)) /* order_target taken as order[:, :-1], the input order again */
                r = 0;
            double q = pecs_pos_at(pos, r, t);
            if (q < 0 || q >= (double)npos || q != floor(q))
                return PECS_INVALID;
            int64_t iw[2] = {(int64_t)q, d % half}, idx[2] = {t, d};
            store_out(out->data, out->dtype, offset(out, idx),
                      load_in(x->data, x->dtype, offset(x, idx)) + (float)pecs_load_f64(w->data, w->dtype, offset(w, iw)));
        }
    return PECS_OK;
}

/* CPVT PEG: x + depthwise 3x3 Conv2d (padding 1 zeros, bias) over the grid after the class token; w [C, 10] = the
 * nine taps row-major, then the bias. A private f32 copy of x so that in place reads the input, not the output. */
static pecs_status run_peg(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *w = pecs_problem_tensor(p, "w");
    pecs_tensor tmp;
    const pecs_tensor *out = out_view(p, &tmp);
    int64_t T = x->shape[0], C = x->shape[1], W = pecs_param_int(p, "width", 4), n = pecs_param_int(p, "class_tokens", 0);
    if (!w || W < 1 || n < 0 || n > 1 || T - n < W || (T - n) % W || w->shape[0] != C || w->shape[1] != 10)
        return PECS_INVALID;
    int64_t H = (T - n) / W;
    float *xs = malloc((size_t)(T * C) * sizeof *xs);
    if (!xs)
        return PECS_NOMEM;
    for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < C; c++) {
            int64_t idx[2] = {t, c};
            xs[t * C + c] = load_in(x->data, x->dtype, offset(x, idx));
        }
    for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < C; c++) {
            int64_t idx[2] = {t, c}, ib[2] = {c, 9};
            float v = xs[t * C + c];
            if (t >= n) {
                int64_t r = (t - n) / W, q = (t - n) % W;
                double s = pecs_load_f64(w->data, w->dtype, offset(w, ib));
                for (int64_t i = 0; i < 3; i++)
                    for (int64_t j = 0; j < 3; j++) {
                        int64_t rr = r + i - 1, qq = q + j - 1;
                        if (BUG(peg_wraparound)) /* padding_mode='circular' */
                            rr = (rr + H) % H, qq = (qq + W) % W;
                        if (rr < 0 || rr >= H || qq < 0 || qq >= W)
                            continue;
                        /* Conv2d weight [C, 1, 3, 3]: tap (i, j) is row i, column j */
                        int64_t iw[2] = {c, BUG(peg_taps_transposed) ? 3 * j + i : 3 * i + j};
                        s += pecs_load_f64(w->data, w->dtype, offset(w, iw)) * xs[(n + rr * W + qq) * C + c];
                    }
                v += (float)s;
            }
            store_out(out->data, out->dtype, offset(out, idx), v);
        }
    free(xs);
    return PECS_OK;
}

/* SeqPE (1-D): w [max_digits+13+layers(7h+8)+D, 4h] as reference/seqpe.c lays it out; every row of every block is
 * computed (the pooled one is the class token, the last). */
static double seqpe_wt(const pecs_tensor *w, int64_t r, int64_t c)
{
    int64_t i[2] = {r, c};
    return pecs_load_f64(w->data, w->dtype, offset(w, i));
}

static void seqpe_ln_rows(const pecs_tensor *w, int64_t g, int64_t h, const double *v, double *y)
{
    double mu = 0.0, var = 0.0;
    for (int64_t c = 0; c < h; c++)
        mu += v[c] / (double)h;
    for (int64_t c = 0; c < h; c++)
        var += (v[c] - mu) * (v[c] - mu) / (double)h;
    for (int64_t c = 0; c < h; c++)
        y[c] = (v[c] - mu) / sqrt(var + 1e-5) * seqpe_wt(w, g, c) + seqpe_wt(w, g + 1, c);
}

static pecs_status run_seqpe(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *w = pecs_problem_tensor(p, "w");
    pecs_tensor tmp;
    const pecs_tensor *out = out_view(p, &tmp);
    int64_t T = x->shape[0], D = x->shape[1], m = pecs_param_int(p, "max_digits", 5), h = pecs_param_int(p, "hidden", 16),
            nh = pecs_param_int(p, "attn_heads", 2), nl = pecs_param_int(p, "layers", 2);
    int bi = pecs_param_is(p, "direction", "bi"), mp = (int)pecs_param_int(p, "mask_padding", 0),
        lastln = (int)pecs_param_int(p, "last_layernorm", 1);
    if (!w || m < 1 || m > 15 || h < 1 || h > 256 || nh < 1 || h % nh || nl < 1 ||
        w->shape[0] != m + 13 + nl * (7 * h + 8) + D || w->shape[1] != 4 * h)
        return PECS_INVALID;
    int64_t L = m + 1, hd = h / nh, O = m + 13 + nl * (7 * h + 8);
    static double hs[16][256], a[16][256], qkv[16][768], u[1024], z[256];
    for (int64_t t = 0; t < T; t++) {
        double ps = pecs_pos_at(pos, 0, t), pw = 1.0;
        int64_t digits[16], first = m - 1;
        for (int64_t s = 0; s < m; s++)
            pw *= 10.0;
        if (ps != floor(ps) || ps < 0 || ps >= pw)
            return PECS_INVALID;
        int64_t v = (int64_t)ps;
        for (int64_t s = m - 1; s >= 0; s--, v /= 10) {
            /* most significant digit first (pos2seq's str(number)) */
            digits[BUG(seqpe_digits_reversed) ? m - 1 - s : s] = v % 10;
            if (v)
                first = s;
        }
        if (BUG(seqpe_digits_reversed)) /* the reversed number stays left-padded: shift it right of its pads */
            for (int64_t s = m - 1; s >= first; s--)
                digits[s] = digits[s - first];
        for (int64_t s = 0; s < first; s++)
            digits[s] = 0;
        for (int64_t s = 0; s < L; s++)
            for (int64_t c = 0; c < h; c++)
                hs[s][c] = s < m ? seqpe_wt(w, digits[s], c) + seqpe_wt(w, 10 + s, c) : seqpe_wt(w, 10 + m, c);
        for (int64_t l = 0; l < nl; l++) {
            int64_t B = m + 13 + l * (7 * h + 8);
            for (int64_t i = 0; i < L; i++) {
                seqpe_ln_rows(w, B, h, hs[i], a[i]);
                for (int64_t c = 0; c < 3 * h; c++) {
                    qkv[i][c] = seqpe_wt(w, B + 2 + h, c);
                    for (int64_t e = 0; e < h; e++)
                        qkv[i][c] += a[i][e] * seqpe_wt(w, B + 2 + e, c);
                }
            }
            for (int64_t i = 0; i < L; i++) {
                double o[256] = {0};
                for (int64_t k = 0; k < nh && !(mp && i < first); k++) {
                    double sc[16], mx = -INFINITY, tot = 0.0;
                    for (int64_t j = 0; j < L; j++) {
                        sc[j] = -INFINITY;
                        if ((bi || j <= i) && !(mp && j < first)) {
                            double d = 0.0;
                            for (int64_t e = 0; e < hd; e++)
                                d += qkv[i][k * hd + e] * qkv[j][h + k * hd + e];
                            sc[j] = d / sqrt((double)hd);
                        }
                        mx = sc[j] > mx ? sc[j] : mx;
                    }
                    for (int64_t j = 0; j < L; j++)
                        tot += sc[j] = sc[j] == -INFINITY ? 0.0 : exp(sc[j] - mx);
                    for (int64_t j = 0; j < L; j++)
                        for (int64_t e = 0; e < hd; e++)
                            o[k * hd + e] += sc[j] / tot * qkv[j][2 * h + k * hd + e];
                }
                for (int64_t c = 0; c < h; c++) {
                    a[i][c] = seqpe_wt(w, B + 3 + 2 * h, c);
                    for (int64_t e = 0; e < h; e++)
                        a[i][c] += o[e] * seqpe_wt(w, B + 3 + h + e, c);
                }
            }
            for (int64_t i = 0; i < L; i++) {
                for (int64_t c = 0; c < h; c++)
                    hs[i][c] += a[i][c];
                seqpe_ln_rows(w, B + 4 + 2 * h, h, hs[i], z);
                for (int64_t f = 0; f < 4 * h; f++) {
                    double y = seqpe_wt(w, B + 6 + 3 * h, f);
                    for (int64_t e = 0; e < h; e++)
                        y += z[e] * seqpe_wt(w, B + 6 + 2 * h + e, f);
                    u[f] = 0.5 * y * (1.0 + tanh(0.7978845608028654 * (y + 0.044715 * y * y * y)));
                }
                for (int64_t c = 0; c < h; c++) {
                    double y = seqpe_wt(w, B + 7 + 7 * h, c);
                    for (int64_t f = 0; f < 4 * h; f++)
                        y += u[f] * seqpe_wt(w, B + 7 + 3 * h + f, c);
                    hs[i][c] += y;
                }
            }
        }
        /* x[:, -1]: the class token, appended after the digits */
        const double *pooled = hs[BUG(seqpe_pools_last_digit) ? m - 1 : m];
        if (lastln && !BUG(seqpe_no_final_layernorm))
            seqpe_ln_rows(w, 11 + m, h, pooled, z);
        else
            memcpy(z, pooled, (size_t)h * sizeof *z);
        for (int64_t d = 0; d < D; d++) {
            int64_t idx[2] = {t, d};
            double y = seqpe_wt(w, O + d, h);
            for (int64_t c = 0; c < h; c++)
                y += z[c] * seqpe_wt(w, O + d, c);
            store_out(out->data, out->dtype, offset(out, idx), load_in(x->data, x->dtype, offset(x, idx)) + (float)y);
        }
    }
    return PECS_OK;
}

/* graph.maglap: x + [Re V | Im V | 0] of the graph in w (impls/common/maglap.h, the scalar kernel's routine), with
 * this mutant's bug bit. */
static pecs_status run_maglap(const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *w = pecs_problem_tensor(p, "w");
    pecs_tensor tmp;
    const pecs_tensor *out = out_view(p, &tmp);
    int64_t T = x->shape[0], C = x->shape[1], k = pecs_param_int(p, "k", 2), k_excl = pecs_param_int(p, "k_excl", 0);
    double thr = pecs_param_real(p, "edge_threshold", 0.0);
    if (!w || k < 1 || k_excl < 0 || 2 * k > C || w->ndim != 2 || w->shape[0] != T || w->shape[1] != T)
        return PECS_INVALID;
    unsigned bugs = (BUG(maglap_q_sign_flipped) ? MAGLAP_BUG_Q_SIGN : 0u) |
                    (BUG(maglap_unnormalised) ? MAGLAP_BUG_COMBINATORIAL : 0u) |
                    (BUG(maglap_highest) ? MAGLAP_BUG_HIGHEST : 0u);
    unsigned char *adj = malloc((size_t)(T * T));
    double *P = malloc((size_t)(T * 2 * k) * sizeof *P);
    pecs_status st = adj && P ? PECS_OK : PECS_NOMEM;
    for (int64_t u = 0; u < T && st == PECS_OK; u++)
        for (int64_t v = 0; v < T; v++) {
            int64_t iw[2] = {u, v};
            adj[u * T + v] = pecs_load_f64(w->data, w->dtype, offset(w, iw)) > thr;
        }
    if (st == PECS_OK && maglap_pe(adj, T, k, k_excl, pecs_param_real(p, "q", 0.25), pecs_param_int(p, "q_absolute", 0) != 0,
                                   !pecs_param_is(p, "normalization", "none"), bugs, P) != 0)
        st = PECS_NOMEM;
    for (int64_t t = 0; t < T && st == PECS_OK; t++) /* row by row: P does not read x, so in place is safe */
        for (int64_t c = 0; c < C; c++) {
            int64_t idx[2] = {t, c};
            float v = load_in(x->data, x->dtype, offset(x, idx)) + (c < 2 * k ? (float)P[t * 2 * k + c] : 0.0f);
            store_out(out->data, out->dtype, offset(out, idx), v);
        }
    free(adj);
    free(P);
    return st;
}

static pecs_status run_embed(const pecs_problem *p)
{
    if (!strcmp(p->encoding, "graph.maglap"))
        return run_maglap(p);
    if (!strcmp(p->encoding, "seqpe"))
        return run_seqpe(p);
    if (!strcmp(p->encoding, "peg"))
        return run_peg(p);
    if (!strcmp(p->encoding, "fourier"))
        return run_fourier(p);
    if (!strcmp(p->encoding, "sigma_gpt"))
        return run_sigma_gpt(p);
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos");
    pecs_tensor tmp;
    const pecs_tensor *out = out_view(p, &tmp);
    int64_t ldpe = !strcmp(p->encoding, "ldpe"), pia = !strcmp(p->encoding, "pia");
    int64_t T = x->shape[0], D = x->shape[1], half = D / 2,
            concat = !strcmp(p->encoding, "sinusoidal.concat") || ldpe || pia;
    double base = pecs_param_real(p, "base", 10000.0);
    int64_t pad = ldpe ? 1 : pecs_param_int(p, "padding_idx", -1), len = pecs_param_int(p, "length", 0);
    if (concat && half < 2)
        return PECS_INVALID;
    for (int64_t t = 0; t < T; t++) {
        /* PIA's window index reads row p + padding_idx + 1 (make_positions); row p is the HF-style 0-based table */
        double m = pecs_pos_at(pos, 0, t) + (concat && pad >= 0 && !(pia && BUG(pia_no_offset)) ? (double)pad + 1.0 : 0.0);
        /* LDPE reads fairseq's row len + 3 - (t + 2); the paper's len - pos, read with 0-based t, is one row off */
        if (ldpe)
            m = (double)len + (BUG(ldpe_row_offset) ? 0.0 : 1.0) - pecs_pos_at(pos, 0, t);
        if (ldpe && m < 0.0)
            return PECS_INVALID;
        /* fairseq's pad row: table row padding_idx (position -1 here) is all zeros */
        int pad_row = concat && pad >= 0 && (pia ? pecs_pos_at(pos, 0, t) == -1.0 : m == (double)pad) && !BUG(concat_pad_row_kept);
        for (int64_t d = 0; d < D; d++) {
            double v;
            if (pad_row)
                v = 0.0;
            else if (concat) {
                int64_t i = d < half ? d : d - half;
                double w = pow(base, -(double)i / (double)(BUG(concat_half_dim) ? half : half - 1));
                v = (D % 2 && d == D - 1) ? 0.0 : d < half ? sin(m * w) : cos(m * w);
            } else {
                double w = pow(base, -(double)(d - d % 2) / (double)D);
                v = (d % 2 == 0) != BUG(sinusoidal_swapped) ? sin(m * w) : cos(m * w);
            }
            int64_t idx[2] = {t, d};
            store_out(out->data, out->dtype, offset(out, idx), load_in(x->data, x->dtype, offset(x, idx)) + (float)v);
        }
    }
    return PECS_OK;
}

/* ---- scores --------------------------------------------------------------------------------------------- */

/* CoPE in f32: gate g_ij = sigmoid(q_i.k_j / sqrt(D)) (0 where the key is after the query), position
 * p_ij = sum of the gates from key j to the last, clamped to npos-1, and the position logit interpolated
 * between q_i.e[floor p] and q_i.e[ceil p]; division=all divides that term by sqrt(D) as well. */
static float dot(const pecs_tensor *a, int64_t i, int64_t h, const pecs_tensor *b, int64_t j, int64_t hb, int col)
{
    float s = 0.0f;
    for (int64_t d = 0; d < a->shape[2]; d++) {
        int64_t ia[3] = {i, h, d}, ib3[3] = {j, hb, d}, ib2[2] = {d, j};
        s += load_in(a->data, a->dtype, offset(a, ia)) * load_in(b->data, b->dtype, offset(b, col ? ib2 : ib3));
    }
    return s;
}

static pecs_status run_cope(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *e = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    int64_t npos = pecs_param_int(p, "npos", 16);
    if (!q || !k || !qp || !kp || !e || !out || e->shape[0] != q->shape[2] || e->shape[1] != npos)
        return PECS_INVALID;
    float inv = 1.0f / sqrtf((float)q->shape[2]);
    float zdiv = pecs_param_is(p, "division", "all") && !BUG(cope_division_ignored) ? inv : 1.0f;
    for (int64_t h = 0; h < q->shape[1]; h++)
        for (int64_t i = 0; i < q->shape[0]; i++) {
            float cum = 0.0f;
            for (int64_t j = k->shape[0] - 1; j >= 0; j--) {
                int64_t idx[3] = {h, i, j};
                if (pecs_pos_at(kp, 0, j) > pecs_pos_at(qp, 0, i)) {
                    store_out(out->data, out->dtype, offset(out, idx), -INFINITY);
                    continue;
                }
                float a = dot(q, i, h, k, j, h, 0) * inv;
                cum += 1.0f / (1.0f + expf(-a));
                float pos = fminf(cum, (float)(npos - 1)), lo = floorf(pos), w = pos - lo;
                float z = dot(q, i, h, e, (int64_t)ceilf(pos), 0, 1) * w + dot(q, i, h, e, (int64_t)lo, 0, 1) * (1.0f - w);
                store_out(out->data, out->dtype, offset(out, idx), a + z * zdiv);
            }
        }
    return PECS_OK;
}

/* Relative-position logits of shaw, music and txl, evaluated directly in f32 (a third code after the reference
 * and the scalar backend's skewing kernels): shaw q.(k + a[clip(kpos-qpos, -K, K) + K]); huang q.k + q.a + k.a with
 * a = w[qpos-kpos + N]; nope.temperature lambda_h q.k; music
 * q.(k + E[kpos-qpos + M-1]), zero beyond M-1 back; txl (q+u).k + (q+v).W_R R(qpos-kpos); all over sqrt(D). */
static float wat(const pecs_tensor *w, int64_t r, int64_t c)
{
    int64_t idx[2] = {r, c};
    return load_in(w->data, w->dtype, offset(w, idx));
}

static float qat(const pecs_tensor *t, int64_t i, int64_t h, int64_t d)
{
    int64_t idx[3] = {i, h, d};
    return load_in(t->data, t->dtype, offset(t, idx));
}

static pecs_status run_relscores(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int shaw = !strcmp(p->encoding, "shaw"), music = !strcmp(p->encoding, "music"), huang = !strcmp(p->encoding, "huang");
    int nopet = !strcmp(p->encoding, "nope.temperature");
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t K = pecs_param_int(p, "max_relative_position", 16), dm = pecs_param_int(p, "d_model", 512);
    int64_t clamp = pecs_param_int(p, "clamp_len", 0);
    int causal = shaw || huang ? pecs_param_int(p, "causal", 1) != 0 : 1;
    int64_t N = pecs_param_int(p, "max_distance", 511);
    float inv = 1.0f / sqrtf((float)D);
    float *R = malloc((size_t)(dm > 0 ? dm : 1) * sizeof *R);
    if (!R)
        return PECS_NOMEM;
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double dist = pecs_pos_at(kp, 0, j) - pecs_pos_at(qp, 0, i); /* key - query */
            int masked = causal && dist > 0;
            if (!shaw && !music && !huang && !nopet && !masked) { /* txl: R(s), s = query - key */
                double s = -dist;
                if (clamp > 0 && s > (double)clamp)
                    s = (double)clamp;
                for (int64_t m = 0; m < dm / 2; m++) {
                    double a = s / pow(10000.0, (double)(2 * m) / (double)dm);
                    if (BUG(txl_sincos_interleaved))
                        R[2 * m] = (float)sin(a), R[2 * m + 1] = (float)cos(a);
                    else
                        R[m] = (float)sin(a), R[dm / 2 + m] = (float)cos(a);
                }
            }
            for (int64_t h = 0; h < H; h++) {
                int64_t idx[3] = {h, i, j};
                if (masked) {
                    store_out(out->data, out->dtype, offset(out, idx), -INFINITY);
                    continue;
                }
                float acc = 0.0f;
                if (nopet) { /* lambda_h q.k, lambda = w[0][h] */
                    for (int64_t d = 0; d < D; d++)
                        acc += qat(q, i, h, d) * qat(k, j, h, d);
                    acc = BUG(nope_temperature_divides) ? acc / wat(w, 0, h) : acc * wat(w, 0, h);
                } else if (huang) { /* q.k + q.a + k.a, a = w[qpos - kpos + N] */
                    int64_t r = (int64_t)(-dist) + N;
                    if (r < 0 || r > 2 * N) {
                        free(R);
                        return PECS_INVALID;
                    }
                    for (int64_t d = 0; d < D; d++) {
                        float qv = qat(q, i, h, d), kv = qat(k, j, h, d), a = wat(w, r, d);
                        acc += qv * kv + qv * a + (BUG(huang_key_term_missing) ? 0.0f : kv * a);
                    }
                } else if (shaw) {
                    int64_t c = BUG(shaw_clip_short) ? K - 1 : K, r = (int64_t)(BUG(shaw_query_minus_key) ? -dist : dist);
                    r = (r < -c ? -c : r > c ? c : r) + K;
                    for (int64_t d = 0; d < D; d++)
                        acc += qat(q, i, h, d) * (qat(k, j, h, d) + wat(w, r, d));
                } else if (music) {
                    int64_t r = (int64_t)dist + (BUG(music_skew_shifted) ? 1 : 0);
                    if (BUG(music_far_clipped) && r < -(K - 1))
                        r = -(K - 1);
                    int have = r <= 0 && r >= -(K - 1);
                    for (int64_t d = 0; d < D; d++)
                        acc += qat(q, i, h, d) * (qat(k, j, h, d) + (have ? wat(w, r + K - 1, d) : 0.0f));
                } else {
                    int64_t cu = BUG(txl_uv_swapped) ? dm + 1 : dm, cv = BUG(txl_uv_swapped) ? dm : dm + 1;
                    for (int64_t d = 0; d < D; d++) {
                        float rk = 0.0f;
                        for (int64_t m = 0; m < dm; m++)
                            rk += wat(w, h * D + d, m) * R[m];
                        acc += (qat(q, i, h, d) + wat(w, h * D + d, cu)) * qat(k, j, h, d) +
                               (qat(q, i, h, d) + wat(w, h * D + d, cv)) * rk;
                    }
                }
                store_out(out->data, out->dtype, offset(out, idx), acc * inv);
            }
        }
    free(R);
    return PECS_OK;
}

/* TRA in f32, O(Lk^2) per row (a third code after the reference and the scalar kernel's sorted sweep): key j kept iff
 * kpos_j <= qpos_i and q.k/sqrt(D) > 0; logit s + logsigmoid(w[h][i]) * (kept keys at positions from kpos_j up). */
static pecs_status run_tra(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    float inv = 1.0f / sqrtf((float)D), *s = malloc((size_t)(Lk > 0 ? Lk : 1) * sizeof *s);
    if (!s)
        return PECS_NOMEM;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++) {
            float a = wat(w, h, i), g = -log1pf(expf(-fabsf(a))) + fminf(a, 0.0f); /* logsigmoid */
            double qi = pecs_pos_at(qp, 0, i);
            for (int64_t j = 0; j < Lk; j++) {
                float acc = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += qat(q, i, h, d) * qat(k, j, h, d);
                s[j] = pecs_pos_at(kp, 0, j) <= qi && acc * inv > 0.0f ? acc * inv : -INFINITY;
            }
            for (int64_t j = 0; j < Lk; j++) {
                int64_t idx[3] = {h, i, j}, c = 0;
                double kj = pecs_pos_at(kp, 0, j);
                for (int64_t t = 0; t < Lk; t++)
                    c += isfinite(s[t]) && (BUG(tra_count_from_start) ? pecs_pos_at(kp, 0, t) <= kj : pecs_pos_at(kp, 0, t) >= kj);
                store_out(out->data, out->dtype, offset(out, idx), isfinite(s[j]) ? s[j] + g * (float)c : -INFINITY);
            }
        }
    free(s);
    return PECS_OK;
}

/* PaTH in f32 from the key side (a third code after the reference's explicit products and the scalar kernel's
 * query walk): x = k_j, then x <- H_t x for the keys t after j up to the query, earliest first; logit q_i.x/sqrt(D). */
static pecs_status run_path(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out || q->shape[0] != k->shape[0])
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2];
    float *x = malloc((size_t)(D > 0 ? D : 1) * sizeof *x);
    if (!x)
        return PECS_NOMEM;
    float inv = 1.0f / sqrtf((float)D);
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++) {
            double qi = pecs_pos_at(qp, 0, i);
            int64_t last = -1; /* the latest key visible to the query */
            for (int64_t t = 0; t < L; t++)
                last = pecs_pos_at(kp, 0, t) <= qi ? t : last;
            for (int64_t j = 0; j < L; j++) {
                int64_t idx[3] = {h, i, j};
                if (j > last) {
                    store_out(out->data, out->dtype, offset(out, idx), -INFINITY);
                    continue;
                }
                for (int64_t d = 0; d < D; d++)
                    x[d] = qat(k, j, h, d);
                int64_t first = BUG(path_range_includes_key) ? j : j + 1;
                for (int64_t n = 0; n <= last - first; n++) {
                    int64_t t = BUG(path_reflections_reversed) ? last - n : first + n, r = h * L + t;
                    float n2 = 0.0f, ux = 0.0f;
                    for (int64_t d = 0; d < D; d++)
                        n2 += wat(w, r, d) * wat(w, r, d);
                    float beta = 2.0f / (1.0f + expf(-wat(w, r, D))), un = 1.0f / sqrtf(n2 + 1e-6f);
                    for (int64_t d = 0; d < D; d++)
                        ux += wat(w, r, d) * un * x[d];
                    for (int64_t d = 0; d < D; d++)
                        x[d] -= beta * ux * wat(w, r, d) * un;
                }
                float acc = 0.0f;
                for (int64_t d = 0; d < D; d++)
                    acc += qat(q, i, h, d) * x[d];
                store_out(out->data, out->dtype, offset(out, idx), acc * inv);
            }
        }
    free(x);
    return PECS_OK;
}

/* GateLoop surrogate attention in f32, the gate product formed directly per (query, key) (a third code after the
 * reference and the scalar kernel's backward running product): (q_n . k_m) Re(prod a_j, kpos_m < kpos_j <= qpos_n),
 * a_j = sigmoid(|c_j|) c_j/|c_j| from w's rows h (real) and H + h (imaginary). */
/* bros.crel: q.(k + W e(s (box_key - box_query))) / sqrt(D), e = 8 coordinates x [sin | cos] over m = sinusoid_dim. */
static pecs_status run_bros(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out || qp->ndim != 2 || kp->ndim != 2)
        return PECS_INVALID;
    int64_t H = q->shape[1], D = q->shape[2], m = pecs_param_int(p, "sinusoid_dim", 24);
    double s = pecs_param_real(p, "bbox_scale", 100.0);
    for (int64_t i = 0; i < q->shape[0]; i++)
        for (int64_t j = 0; j < k->shape[0]; j++)
            for (int64_t h = 0; h < H; h++) {
                double acc = 0.0;
                for (int64_t d = 0; d < D; d++) {
                    double pd = 0.0;
                    for (int64_t c = 0; c < 8; c++) {
                        double delta = s * (pecs_pos_at(kp, c, j) - pecs_pos_at(qp, c, i));
                        if (BUG(bros_delta_query_minus_key))
                            delta = -delta;
                        for (int64_t r = 0; r < m / 2; r++) {
                            double a = delta * pow(10000.0, -2.0 * (double)r / (double)m);
                            pd += wat(w, c * m + r, d) * sin(a) + wat(w, c * m + m / 2 + r, d) * cos(a);
                        }
                    }
                    acc += (double)qat(q, i, h, d) * ((double)qat(k, j, h, d) + pd);
                }
                int64_t idx[3] = {h, i, j};
                store_out(out->data, out->dtype, offset(out, idx), (float)(acc / sqrt((double)D)));
            }
    return PECS_OK;
}

static pecs_status run_gateloop(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out || q->shape[0] != k->shape[0])
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t m = 0; m < Lk; m++) {
                int64_t idx[3] = {h, i, m};
                double qi = pecs_pos_at(qp, 0, i), km = pecs_pos_at(kp, 0, m);
                float pr = 1.0f, pi = 0.0f, acc = 0.0f;
                for (int64_t j = 0; j < Lk && km <= qi; j++) {
                    double kj = pecs_pos_at(kp, 0, j);
                    if (!((BUG(gateloop_own_gate) ? kj >= km : kj > km) && kj <= qi))
                        continue;
                    float re = wat(w, h, j), im = wat(w, H + h, j), r = hypotf(re, im), g = 1.0f / (1.0f + expf(-r));
                    float ar = r > 0.0f ? g * re / r : g, ai = r > 0.0f ? g * im / r : 0.0f, t = pr * ar - pi * ai;
                    pi = pr * ai + pi * ar;
                    pr = t;
                }
                for (int64_t d = 0; d < D; d++)
                    acc += qat(q, i, h, d) * qat(k, m, h, d);
                store_out(out->data, out->dtype, offset(out, idx), km <= qi ? acc * pr : -INFINITY);
            }
    return PECS_OK;
}

/* CABLE in f32, each bias summed directly per (query, key) (a third code after the reference and the scalar kernel's
 * prefix sum): scale q_i.k_j - sum softplus(w[h][t]) over the keys t with kpos_j < kpos_t <= qpos_i. */
static pecs_status run_cable(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out || q->shape[0] != k->shape[0])
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    float scale = pecs_param_is(p, "qk_scale", "none") ? 1.0f : (float)(1.0 / sqrt((double)(H * D)));
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                int64_t idx[3] = {h, i, j};
                double qi = pecs_pos_at(qp, 0, i), kj = pecs_pos_at(kp, 0, j);
                float acc = 0.0f, bias = 0.0f;
                for (int64_t t = 0; t < Lk && kj <= qi; t++) {
                    double kt = pecs_pos_at(kp, 0, t);
                    if (!((BUG(cable_key_own_token) ? kt >= kj : kt > kj) && kt <= qi))
                        continue;
                    float x = wat(w, h, t);
                    bias -= (x > 0.0f ? x : 0.0f) + (BUG(cable_relu) ? 0.0f : log1pf(expf(-fabsf(x))));
                }
                for (int64_t d = 0; d < D; d++)
                    acc += qat(q, i, h, d) * qat(k, j, h, d);
                if (BUG(cable_bias_reversed))
                    bias = -bias;
                store_out(out->data, out->dtype, offset(out, idx), kj <= qi ? scale * acc + bias : -INFINITY);
            }
    return PECS_OK;
}

/* TAPA (arXiv 2509.12635 Eq. 12): (q_A.k_A / sqrt(A)) cos(2 pi |m - n|^alpha q_P.k_P / sqrt(D - A)), A = theta D, causal.
 * The bugs: the halves swapped (the first theta D channels taken as the phase), the cosine without its 2 pi, and
 * the distance term |m^alpha - n^alpha| (a difference of powered positions: not relative). */
static pecs_status run_tapa(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    double alpha = pecs_param_real(p, "alpha", 0.1);
    int64_t A = (int64_t)llround(pecs_param_real(p, "theta", 0.5) * (double)D);
    int causal = pecs_param_int(p, "causal", 1) != 0;
    if (A < 1 || A >= D)
        return PECS_INVALID;
    double two_pi = BUG(tapa_no_two_pi) ? 1.0 : 2.0 * 3.14159265358979323846;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                int64_t idx[3] = {h, i, j};
                double qi = pecs_pos_at(qp, 0, i), kj = pecs_pos_at(kp, 0, j);
                double dist = BUG(tapa_pow_difference) ? fabs(pow(fabs(qi), alpha) - pow(fabs(kj), alpha))
                                                       : pow(fabs(qi - kj), alpha);
                float amp = 0.0f;
                double ph = 0.0; /* an angle's factor: summed in double */
                for (int64_t d = 0; d < D; d++) {
                    float v = qat(q, i, h, d) * qat(k, j, h, d);
                    if ((d < A) != BUG(tapa_halves_swapped))
                        amp += v;
                    else
                        ph += (double)qat(q, i, h, d) * (double)qat(k, j, h, d);
                }
                int64_t na = BUG(tapa_halves_swapped) ? D - A : A;
                double v = (double)amp / sqrt((double)na) * cos(two_pi * dist * ph / sqrt((double)(D - na)));
                store_out(out->data, out->dtype, offset(out, idx), causal && kj > qi ? -INFINITY : (float)v);
            }
    return PECS_OK;
}

/* WRoPE in f32, as the code computes it (a third code after the reference's pair formula and the scalar kernel's shared
 * cos/sin): the query rotated by the effective distance r (qpos - kpos inside the window or for the first
 * attention_sink keys, P beyond), dotted with the unrotated key, over sqrt(D); -inf after the query. */
static pecs_status run_wrope(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out || q->shape[2] % 2 != 0)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], F = D / 2;
    double W = (double)pecs_param_int(p, "wrope_local_window", 64), P = (double)pecs_param_int(p, "wrope_relative_pos", 2048);
    int64_t S = pecs_param_int(p, "attention_sink", 8);
    double base = pecs_param_real(p, "base", 10000.0);
    int half = !pecs_param_is(p, "pairing", "interleaved");
    for (int64_t i = 0; i < Lq; i++)
        for (int64_t j = 0; j < Lk; j++) {
            double qi = pecs_pos_at(qp, 0, i), kj = pecs_pos_at(kp, 0, j), r = qi - kj;
            int sink = BUG(wrope_sink_by_position) ? kj < (double)S : j < S;
            int near = BUG(wrope_window_inclusive) ? r <= W : r < W;
            if (!near && !sink)
                r = BUG(wrope_cap_at_window) ? W : P;
            if (BUG(wrope_distance_reversed))
                r = -r;
            for (int64_t h = 0; h < H; h++) {
                int64_t idx[3] = {h, i, j};
                float acc = 0.0f;
                for (int64_t f = 0; f < F; f++) {
                    int64_t a = half ? f : 2 * f, b = half ? f + F : 2 * f + 1;
                    double ang = r * pow(base, -(double)(2 * f) / (double)D);
                    float c = (float)cos(ang), sn = (float)sin(ang), qa = qat(q, i, h, a), qb = qat(q, i, h, b);
                    acc += (qa * c - qb * sn) * qat(k, j, h, a) + (qb * c + qa * sn) * qat(k, j, h, b);
                }
                store_out(out->data, out->dtype, offset(out, idx), kj <= qi ? acc / sqrtf((float)D) : -INFINITY);
            }
        }
    return PECS_OK;
}

/* GALI without noise in f32, by the paper's own steps (a third code): the ids of the query's chunk built as
 * construct_new_pi's list (Algorithm 2, loop and slice, in double), then q rotated at ceil(id_m) against k rotated at
 * ceil(id_n) and at floor(id_n), mixed by (ceil(id_m) - id_n) mod 1 (Algorithm 3). */
static pecs_status run_gali(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !out || q->shape[2] % 2 != 0)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], F = D / 2, L = 0;
    int64_t Ltr = pecs_param_int(p, "train_len", 4096), Lw = pecs_param_int(p, "local_window", 128),
            s = pecs_param_int(p, "chunk_size", 1000);
    double base = pecs_param_real(p, "base", 500000.0);
    int half = !pecs_param_is(p, "pairing", "interleaved");
    if (Lw >= Ltr || s < 1)
        return PECS_INVALID;
    if (BUG(gali_no_window))
        Lw = 0;
    for (int64_t i = 0; i < Lq; i++)
        if ((int64_t)pecs_pos_at(qp, 0, i) + 1 > L)
            L = (int64_t)pecs_pos_at(qp, 0, i) + 1;
    if (L > (1 << 20))
        return PECS_INVALID; /* the list is built token by token */
    double *ids = malloc((size_t)(2 * L + Ltr + 2) * sizeof *ids); /* the loop overshoots T by less than g <= T */
    if (!ids)
        return PECS_NOMEM;
    for (int64_t i = 0; i < Lq; i++) {
        int64_t m = (int64_t)pecs_pos_at(qp, 0, i);
        int64_t T = m < Ltr ? Ltr : Ltr + ((m - Ltr) / s + 1) * s;
        if (T > L || BUG(gali_ids_global))
            T = L;
        if (T <= Ltr) {
            for (int64_t t = 0; t < T; t++)
                ids[t] = (double)t;
        } else {
            int64_t g = (int64_t)ceil((double)(T - Lw) / (double)(Ltr - Lw)), n = 0, at = 0, total = Ltr;
            double step = 1.0 / (double)g;
            while (total < T) {
                for (int64_t jj = 0; jj < g; jj++)
                    ids[n + jj] = (double)at + step * (double)jj;
                n += g, at++;
                total = Ltr - at + n;
            }
            int64_t keep = T - (Ltr - at);
            for (int64_t t = at; t < Ltr; t++)
                ids[keep + t - at] = (double)t;
        }
        double cm = ceil(ids[m]);
        for (int64_t j = 0; j < Lk; j++) {
            int64_t n = (int64_t)pecs_pos_at(kp, 0, j);
            for (int64_t h = 0; h < H; h++) {
                int64_t idx[3] = {h, i, j};
                if (n > m) {
                    store_out(out->data, out->dtype, offset(out, idx), -INFINITY);
                    continue;
                }
                double rf = cm - ceil(ids[n]), rc = cm - floor(ids[n]), c = fmod(cm - ids[n], 1.0);
                float af = 0.0f, ac = 0.0f;
                for (int64_t f = 0; f < F; f++) {
                    int64_t a = half ? f : 2 * f, b = half ? f + F : 2 * f + 1;
                    double w = pow(base, -(double)(2 * f) / (double)D);
                    float qa = qat(q, i, h, a), qb = qat(q, i, h, b), ka = qat(k, j, h, a), kb = qat(k, j, h, b);
                    af += (float)cos(rf * w) * (qa * ka + qb * kb) + (float)sin(rf * w) * (qa * kb - qb * ka);
                    ac += (float)cos(rc * w) * (qa * ka + qb * kb) + (float)sin(rc * w) * (qa * kb - qb * ka);
                }
                af /= sqrtf((float)D), ac /= sqrtf((float)D);
                float v = BUG(gali_interp_reversed) ? ac - (ac - af) * (float)c : af - (af - ac) * (float)c;
                store_out(out->data, out->dtype, offset(out, idx), v);
            }
        }
    }
    free(ids);
    return PECS_OK;
}

/* TAPE (VITA-Group/TAPE models/llama/adape.py apply_rotary_pos_emb): w [H*L, 2D], row h*L + t = token t's (C_t, S_t);
 * q~ = q*C_i + rotate_half(q)*S_i, k~ likewise, out = q~.k~/sqrt(D), causal; Lq == Lk, D even. The bugs: the sine
 * terms' signs flipped, the lanes paired (2f, 2f + 1), and the query mixed with the key's state. */
static pecs_status run_tape(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !qp || !kp || !w || !out || q->shape[2] % 2 != 0 || q->shape[0] != k->shape[0])
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], F = D / 2;
    if (w->shape[0] != H * L || w->shape[1] != 2 * D)
        return PECS_INVALID;
    float sg = BUG(tape_sin_sign) ? -1.0f : 1.0f;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) {
                int64_t idx[3] = {h, i, j}, ti = BUG(tape_key_state_for_query) ? j : i;
                float acc = 0.0f;
                for (int64_t f = 0; f < F; f++) {
                    int64_t a = BUG(tape_interleaved) ? 2 * f : f, b = BUG(tape_interleaved) ? 2 * f + 1 : f + F;
                    float qa = qat(q, i, h, a), qb = qat(q, i, h, b), ka = qat(k, j, h, a), kb = qat(k, j, h, b);
                    float qta = qa * wat(w, h * L + ti, a) - sg * qb * wat(w, h * L + ti, D + a);
                    float qtb = qb * wat(w, h * L + ti, b) + sg * qa * wat(w, h * L + ti, D + b);
                    float kta = ka * wat(w, h * L + j, a) - sg * kb * wat(w, h * L + j, D + a);
                    float ktb = kb * wat(w, h * L + j, b) + sg * ka * wat(w, h * L + j, D + b);
                    acc += qta * kta + qtb * ktb;
                }
                float v = acc / sqrtf((float)D);
                store_out(out->data, out->dtype, offset(out, idx),
                          pecs_pos_at(kp, 0, j) > pecs_pos_at(qp, 0, i) ? -INFINITY : v);
            }
    return PECS_OK;
}

/* ---- kernelized attention (kattn form): toeplitz.fft by the circulant embedding, in double ------------------
 * Per head and lane of A_j = phi(k_j) (x) [v_j, 1]: y = circular convolution of A (zero-padded to L points) with
 * r[s mod L] = exp(b[-s]), s = i - j; linear (the definition) when L >= Lq + Lk - 1. The convolution is summed
 * directly in the time domain: it is what an FFT of L points computes, and a wrong L shows the same way. */
static double kattn_phi(const pecs_tensor *x, int64_t t, int64_t h, int64_t D, const pecs_tensor *w, int64_t woff,
                        int64_t m, int64_t r)
{
    double n2 = 0.0, s = 0.0, sc = 1.0 / sqrt(sqrt((double)D));
    for (int64_t d = 0; d < D; d++) {
        double xv = (double)qat(x, t, h, d) * sc;
        n2 += xv * xv;
        s += (double)wat(w, 0, woff + r * D + d) * xv;
    }
    return exp(s - 0.5 * n2) / sqrt((double)m);
}

static pecs_status run_kattn(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t N = pecs_param_int(p, "max_distance", 64), m = pecs_param_int(p, "features", 16), L = 1;
    int64_t need = BUG(toeplitz_circular) ? (Lq > Lk ? Lq : Lk) : Lq + Lk - 1; /* BUG: no zero padding */
    while (L < need)
        L <<= 1;
    double *r = calloc((size_t)L, sizeof *r), *num = calloc((size_t)(Lq * (D + 1)), sizeof *num),
           *fk = malloc((size_t)(Lk * m) * sizeof *fk), *fq = malloc((size_t)(Lq * m) * sizeof *fq);
    pecs_status st = r && num && fk && fq ? PECS_OK : PECS_NOMEM;
    for (int64_t h = 0; h < H && st == PECS_OK; h++) {
        int64_t wf = H * (2 * N + 1);
        for (int64_t s = 0; s < L; s++)
            r[s] = 0.0;
        for (int64_t s = -(Lk - 1); s <= Lq - 1; s++)
            r[((s % L) + L) % L] = exp((double)wat(w, 0, h * (2 * N + 1) + N - s));
        for (int64_t j = 0; j < Lk; j++)
            for (int64_t c = 0; c < m; c++)
                fk[j * m + c] = kattn_phi(k, j, h, D, w, wf, m, c);
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t c = 0; c < m; c++)
                fq[i * m + c] = kattn_phi(q, i, h, D, w, wf, m, c);
        for (int64_t n = 0; n < Lq * (D + 1); n++)
            num[n] = 0.0;
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t j = 0; j < Lk; j++) {
                double cij = r[((i - j) % L + L) % L], kap = 0.0;
                for (int64_t c = 0; c < m; c++)
                    kap += fq[i * m + c] * fk[j * m + c];
                for (int64_t e = 0; e <= D; e++)
                    num[i * (D + 1) + e] += cij * kap * (e < D ? (double)qat(v, j, h, e) : 1.0);
            }
        for (int64_t i = 0; i < Lq; i++)
            for (int64_t e = 0; e < D; e++) {
                int64_t idx[3] = {i, h, e};
                store_out(out->data, out->dtype, offset(out, idx), (float)(num[i * (D + 1) + e] / num[i * (D + 1) + D]));
            }
    }
    free(r);
    free(num);
    free(fk);
    free(fq);
    return st;
}

/* ---- urpe (kattn form): softmax(q.k/sqrt(D) + B) times the Toeplitz factor C, then @ v, in double -----------
 * Rows by the authors' signed bucket (T5's magnitude bucket in float32, +2 for d >= 0, shifted by the max_seq_len
 * square's minimum); B rows 0..rp_bucket of w, C rows rp_bucket + 1 .. */
static int64_t urpe_mag(int64_t n, int64_t nb, int64_t maxd)
{
    int64_t half = nb / 2, me = half / 2;
    if (n < me)
        return n;
    int64_t b = me + (int64_t)(logf((float)n / (float)me) / (float)log((double)maxd / (double)me) * (float)(half - me));
    return b < half - 1 ? b : half - 1;
}

static int64_t urpe_row(int64_t d, int64_t nb, int64_t maxd, int64_t msl)
{
    int64_t lo = msl > 1 ? -urpe_mag(msl - 1, nb, maxd) : 2;
    return (d < 0 ? -urpe_mag(-d, nb, maxd) : urpe_mag(d, nb, maxd) + 2) - lo;
}

static pecs_status run_urpe(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !w || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    int64_t nb = pecs_param_int(p, "rp_bucket", 64), maxd = pecs_param_int(p, "max_rp", 128),
            unb = pecs_param_int(p, "ur_rp_bucket", 64), umaxd = pecs_param_int(p, "ur_max_rp", 128),
            msl = pecs_param_int(p, "max_seq_len", 256);
    double *pr = malloc((size_t)Lk * sizeof *pr);
    if (!pr)
        return PECS_NOMEM;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++) {
            double mx = -INFINITY, den = 0.0, cden = 0.0;
            for (int64_t j = 0; j < Lk; j++) {
                double s = 0.0;
                for (int64_t e = 0; e < D; e++)
                    s += (double)qat(q, i, h, e) * (double)qat(k, j, h, e);
                pr[j] = s / sqrt((double)D) + (double)wat(w, urpe_row(j - i, nb, maxd, msl), h);
                mx = pr[j] > mx ? pr[j] : mx;
            }
            for (int64_t j = 0; j < Lk; j++)
                den += pr[j] = exp(pr[j] - mx);
            for (int64_t j = 0; j < Lk; j++) {
                pr[j] = pr[j] / den * (double)wat(w, nb + 1 + urpe_row(j - i, unb, umaxd, msl), h);
                cden += pr[j];
            }
            if (BUG(urpe_renormalised)) /* BUG: the product renormalised to sum 1, as if C were a bias */
                for (int64_t j = 0; j < Lk; j++)
                    pr[j] /= cden;
            for (int64_t e = 0; e < D; e++) {
                double acc = 0.0;
                int64_t idx[3] = {i, h, e};
                for (int64_t j = 0; j < Lk; j++)
                    acc += pr[j] * (double)qat(v, j, h, e);
                store_out(out->data, out->dtype, offset(out, idx), (float)acc);
            }
        }
    free(pr);
    return PECS_OK;
}

/* ---- landmark (kattn form): causal grouped softmax, block_size B, token t a landmark when t % B == B - 1 -------
 * Per query: a weight for every key, then @ v. The last group (own block's regular keys + closed blocks'
 * landmarks) is one softmax; each closed block's regular keys a softmax of their own, times their landmark's
 * weight in the last group; landmarks themselves get 0. */
static pecs_status run_landmark(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !out)
        return PECS_INVALID;
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], B = pecs_param_int(p, "block_size", 51);
    if (Lq != Lk || B < 2)
        return PECS_INVALID;
    double *s = malloc((size_t)(Lk + 1) * sizeof *s), *a = malloc((size_t)(Lk + 1) * sizeof *a);
    if (!s || !a) {
        free(s), free(a);
        return PECS_NOMEM;
    }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++) {
            /* closed: blocks before `own` are gated; BUG: a landmark query's own block counted as closed (its own
             * landmark not masked, as if the current block were complete) */
            int64_t own = i / B + (BUG(landmark_own_block_closed) && i % B == B - 1);
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j <= i; j++) {
                double t = 0.0;
                for (int64_t e = 0; e < D; e++)
                    t += (double)qat(q, i, h, e) * (double)qat(k, j, h, e);
                s[j] = t / sqrt((double)D);
                a[j] = 0.0;
                int lm = j % B == B - 1;
                if ((j / B >= own && !lm) || (j / B < own && lm))
                    mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j <= i; j++) {
                int lm = j % B == B - 1;
                if ((j / B >= own && !lm) || (j / B < own && lm))
                    z += exp(s[j] - mx);
            }
            for (int64_t j = own * B; j <= i; j++)
                if (j % B != B - 1)
                    a[j] = exp(s[j] - mx) / z;
            for (int64_t b = 0; b < own; b++) {
                int64_t lo = b * B, l = lo + B - 1;
                double bm = -INFINITY, bz = 0.0;
                double gate = BUG(landmark_ungated) ? 1.0 : exp(s[l] - mx) / z; /* BUG: block weights not gated */
                for (int64_t j = lo; j < l; j++)
                    bm = s[j] > bm ? s[j] : bm;
                for (int64_t j = lo; j < l; j++)
                    bz += exp(s[j] - bm);
                for (int64_t j = lo; j < l; j++)
                    a[j] = gate * exp(s[j] - bm) / bz;
            }
            for (int64_t e = 0; e < D; e++) {
                double acc = 0.0;
                int64_t idx[3] = {i, h, e};
                for (int64_t j = 0; j <= i; j++)
                    acc += a[j] * (double)qat(v, j, h, e);
                store_out(out->data, out->dtype, offset(out, idx), (float)acc);
            }
        }
    free(s);
    free(a);
    return PECS_OK;
}

/* ---- focused_memory (kattn form): keys [M memory | L local], one causal softmax -------------------------------
 * q and k unrotated: query i and local key j rotated at their index (half-split RoPE), memory keys as stored (the
 * code's rotate_as_if_first, position 0). */
static void fot_rotate(const pecs_tensor *t, int64_t row, int64_t h, int64_t D, double pos, double base, double *y)
{
    for (int64_t d = 0; d < D / 2; d++) {
        double a = pos * pow(base, -2.0 * (double)d / (double)D), x1 = qat(t, row, h, d), x2 = qat(t, row, h, d + D / 2);
        y[d] = x1 * cos(a) - x2 * sin(a);
        y[d + D / 2] = x2 * cos(a) + x1 * sin(a);
    }
}

static pecs_status run_focused_memory(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !out)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], M = pecs_param_int(p, "memory", 16);
    double base = pecs_param_real(p, "base", 10000.0);
    if (M < 0 || Lk != M + L || D % 2)
        return PECS_INVALID;
    double *s = malloc((size_t)(Lk + 1) * sizeof *s), *qr = malloc((size_t)(D + 1) * sizeof *qr),
           *kr = malloc((size_t)(D + 1) * sizeof *kr);
    if (!s || !qr || !kr) {
        free(s), free(qr), free(kr);
        return PECS_NOMEM;
    }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++) {
            fot_rotate(q, i, h, D, (double)i, base, qr);
            double mm = -INFINITY, ml = -INFINITY, zm = 0.0, zl = 0.0;
            for (int64_t j = 0; j <= M + i; j++) {
                /* BUG: memory keys rotated at their own index in the cache, not as if first */
                fot_rotate(k, j, h, D, j < M ? (BUG(fot_memory_rotated) ? (double)j : 0.0) : (double)(j - M), base, kr);
                double t = 0.0;
                for (int64_t e = 0; e < D; e++)
                    t += qr[e] * kr[e];
                s[j] = t / sqrt((double)D);
                if (j < M)
                    mm = s[j] > mm ? s[j] : mm;
                else
                    ml = s[j] > ml ? s[j] : ml;
            }
            /* BUG: memory and local keys normalised in two softmaxes, averaged (not one shared softmax) */
            int split = BUG(fot_separate_softmax) && M > 0;
            if (!split)
                mm = ml = mm > ml ? mm : ml;
            for (int64_t j = 0; j <= M + i; j++) {
                if (j < M)
                    zm += exp(s[j] - mm);
                else
                    zl += exp(s[j] - ml);
            }
            for (int64_t e = 0; e < D; e++) {
                double acc = 0.0;
                int64_t idx[3] = {i, h, e};
                for (int64_t j = 0; j <= M + i; j++) {
                    double w = j < M ? exp(s[j] - mm) : exp(s[j] - ml);
                    w = split ? 0.5 * w / (j < M ? zm : zl) : w / (zm + zl);
                    acc += w * (double)qat(v, j, h, e);
                }
                store_out(out->data, out->dtype, offset(out, idx), (float)acc);
            }
        }
    free(s);
    free(qr);
    free(kr);
    return PECS_OK;
}

/* ---- fitm.calibration (kattn form): keys [M prompt | L local], one causal softmax per (query, head), then each
 * document's weights rescaled to alpha_k / A_k * C of themselves (A_k the document's mean weight, alpha =
 * softmax((A_k - dummy) / t), C keeping the documents' total). */
static pecs_status run_fitm(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *w = pecs_problem_tensor(p, "w"), *out = pecs_problem_tensor(p, "out");
    const pecs_param *len = pecs_problem_param(p, "doc_lengths");
    if (!q || !k || !v || !w || !out || !len || len->n < 1)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], M = pecs_param_int(p, "memory", 64),
            K = len->n, a0 = pecs_param_int(p, "doc_start", 0);
    double t = pecs_param_real(p, "temperature", 5e-5);
    if (Lk != M + L || w->shape[0] != H * L || w->shape[1] != K)
        return PECS_INVALID;
    double *s = malloc((size_t)(Lk + 1) * sizeof *s), *f = malloc((size_t)(K + 1) * sizeof *f);
    if (!s || !f) {
        free(s), free(f);
        return PECS_NOMEM;
    }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++) {
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j <= M + i; j++) {
                double d = 0.0;
                for (int64_t e = 0; e < D; e++)
                    d += (double)qat(q, i, h, e) * (double)qat(k, j, h, e);
                s[j] = d / sqrt((double)D);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j <= M + i; j++)
                z += exp(s[j] - mx);
            for (int64_t j = 0; j <= M + i; j++)
                s[j] = exp(s[j] - mx) / z;
            double fm = -INFINITY, fz = 0.0, tot = 0.0, an = 0.0;
            for (int64_t c = 0, j0 = a0; c < K; j0 += (int64_t)len->list[c], c++) {
                double m = 0.0, n = len->list[c];
                for (int64_t j = j0; j < j0 + (int64_t)n && j < M; j++)
                    m += s[j];
                tot += m;
                /* BUG: a document's attention taken as the SUM of its tokens' weights, not their mean (sec. 2.1) */
                double A = BUG(fitm_doc_sum) ? m : m / n, dum = pecs_load_f64(w->data, w->dtype,
                                                                             (h * L + i) * w->stride[0] + c * w->stride[1]);
                /* BUG: the calibrated attention subtracted the wrong way round (dummy minus document) */
                f[c] = (BUG(fitm_rel_reversed) ? dum - A : A - dum) / t;
                fm = f[c] > fm ? f[c] : fm;
            }
            for (int64_t c = 0; c < K; c++)
                fz += exp(f[c] - fm);
            for (int64_t c = 0; c < K; c++) {
                f[c] = exp(f[c] - fm) / fz; /* alpha */
                an += f[c] * len->list[c];
            }
            for (int64_t c = 0, j0 = a0; c < K; j0 += (int64_t)len->list[c], c++) {
                double m = 0.0, n = len->list[c];
                for (int64_t j = j0; j < j0 + (int64_t)n && j < M; j++)
                    m += s[j];
                double A = BUG(fitm_doc_sum) ? m : m / n;
                /* BUG: no normalisation constant C: the documents' total weight changes with alpha */
                double C = BUG(fitm_no_renorm) ? 1.0 : tot / (BUG(fitm_doc_sum) ? 1.0 : an);
                for (int64_t j = j0; j < j0 + (int64_t)n && j < M; j++)
                    s[j] *= f[c] / A * C;
            }
            for (int64_t e = 0; e < D; e++) {
                double acc = 0.0;
                int64_t idx[3] = {i, h, e};
                for (int64_t j = 0; j <= M + i; j++)
                    acc += s[j] * (double)qat(v, j, h, e);
                store_out(out->data, out->dtype, offset(out, idx), (float)acc);
            }
        }
    free(s);
    free(f);
    return PECS_OK;
}

/* ---- extended_mind (kattn form): keys [M memory | L local]; each query's top-k memory keys by cosine to the rotated
 * query, then one causal softmax over them and the local keys (query i and local key j rotated at their index, memory
 * keys as stored). */
static pecs_status run_extended_mind(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !out)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0], M = pecs_param_int(p, "memory", 16);
    int64_t T = pecs_param_int(p, "topk", 10);
    double base = pecs_param_real(p, "base", 10000.0);
    if (M < 0 || T < 1 || Lk != M + L || D % 2)
        return PECS_INVALID;
    T = T < M ? T : M;
    T -= BUG(xmind_topk_minus_one) && T > 0; /* BUG: top-(k-1) */
    double *s = malloc((size_t)(Lk + 1) * sizeof *s), *c = malloc((size_t)(M + 1) * sizeof *c),
           *qr = malloc((size_t)(D + 1) * sizeof *qr), *kr = malloc((size_t)(D + 1) * sizeof *kr);
    unsigned char *sel = malloc((size_t)(M + 1));
    if (!s || !c || !qr || !kr || !sel) {
        free(s), free(c), free(qr), free(kr), free(sel);
        return PECS_NOMEM;
    }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++) {
            fot_rotate(q, i, h, D, (double)i, base, qr);
            double nq = 0.0;
            for (int64_t e = 0; e < D; e++)
                nq += qr[e] * qr[e];
            for (int64_t j = 0; j <= M + i; j++) {
                fot_rotate(k, j, h, D, j < M ? 0.0 : (double)(j - M), base, kr);
                double t = 0.0, nk = 0.0;
                for (int64_t e = 0; e < D; e++)
                    t += qr[e] * kr[e], nk += kr[e] * kr[e];
                s[j] = t / sqrt((double)D);
                if (j < M) /* BUG: selected by the raw dot product, not the cosine */
                    c[j] = BUG(xmind_raw_dot) ? t : nq > 0.0 && nk > 0.0 ? t / sqrt(nq * nk) : 0.0;
            }
            for (int64_t m = 0; m < M; m++)
                sel[m] = 0;
            for (int64_t n = 0; n < T; n++) {
                int64_t best = -1;
                for (int64_t m = 0; m < M; m++) /* BUG: the least similar keys */
                    if (!sel[m] && (best < 0 || (BUG(xmind_lowest_k) ? c[m] < c[best] : c[m] > c[best])))
                        best = m;
                if (best >= 0)
                    sel[best] = 1;
            }
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j <= M + i; j++)
                if (j >= M || sel[j])
                    mx = s[j] > mx ? s[j] : mx;
            for (int64_t j = 0; j <= M + i; j++)
                if (j >= M || sel[j])
                    z += exp(s[j] - mx);
            for (int64_t e = 0; e < D; e++) {
                double acc = 0.0;
                int64_t idx[3] = {i, h, e};
                for (int64_t j = 0; j <= M + i; j++)
                    if (j >= M || sel[j])
                        acc += exp(s[j] - mx) / z * (double)qat(v, j, h, e);
                store_out(out->data, out->dtype, offset(out, idx), (float)acc);
            }
        }
    free(s), free(c), free(qr), free(kr), free(sel);
    return PECS_OK;
}

/* ---- longheads (kattn form): LongHeads prefill. Queries before B: causal RoPE attention; later ones: chunks 0, c - 1,
 * c and the K - 3 best earlier chunks by q . chunk key (a chunk's non-causal self-attention mean, locally rotated,
 * attending over its locally rotated keys), their keys (the own chunk's before i) at contiguous positions, the query
 * at (K - 1) w + r. */
static void lh_softmax_m(double *s, int64_t n)
{
    double mx = -INFINITY, z = 0.0;
    for (int64_t j = 0; j < n; j++)
        mx = s[j] > mx ? s[j] : mx;
    for (int64_t j = 0; j < n; j++)
        z += (s[j] = exp(s[j] - mx));
    for (int64_t j = 0; j < n; j++)
        s[j] /= z;
}

static pecs_status run_longheads(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    if (!q || !k || !v || !out)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], W = pecs_param_int(p, "window_size", 256),
            A = pecs_param_int(p, "atten_length", 4096), B = pecs_param_int(p, "begin_selective_length", 4096);
    double base = pecs_param_real(p, "base", 10000.0), rs = 1.0 / sqrt((double)D);
    if (W < 1 || A % W || A / W < 3 || B % W || B < A - W || k->shape[0] != L || D % 2)
        return PECS_INVALID;
    int64_t K = A / W, C = (L + W - 1) / W;
    double *kt = malloc((size_t)(W * D + 1) * sizeof *kt), *qt = malloc((size_t)(W * D + 1) * sizeof *qt),
           *ck = malloc((size_t)(C * D + 1) * sizeof *ck), *m = malloc((size_t)(D + 1) * sizeof *m),
           *s = malloc((size_t)(L + K * W + 1) * sizeof *s), *qr = malloc((size_t)(D + 1) * sizeof *qr),
           *kr = malloc((size_t)(D + 1) * sizeof *kr), *gs = malloc((size_t)(C + 1) * sizeof *gs);
    int64_t *tok = malloc((size_t)(L + K * W + 1) * sizeof *tok);
    unsigned char *sel = malloc((size_t)(C + 1));
    if (!kt || !qt || !ck || !m || !s || !qr || !kr || !gs || !tok || !sel) {
        free(kt), free(qt), free(ck), free(m), free(s), free(qr), free(kr), free(gs), free(tok), free(sel);
        return PECS_NOMEM;
    }
    for (int64_t h = 0; h < H; h++) {
        for (int64_t g = 0; g + 2 < C && L > B; g++) {
            for (int64_t t = 0; t < W; t++) {
                fot_rotate(k, g * W + t, h, D, (double)t, base, kt + t * D);
                fot_rotate(q, g * W + t, h, D, (double)t, base, qt + t * D);
            }
            for (int64_t d = 0; d < D; d++)
                m[d] = 0.0;
            for (int64_t t = 0; t < W; t++) {
                for (int64_t u = 0; u < W; u++) {
                    double a = 0.0;
                    for (int64_t d = 0; d < D; d++)
                        a += qt[t * D + d] * kt[u * D + d];
                    s[u] = a * rs;
                }
                lh_softmax_m(s, W);
                for (int64_t u = 0; u < W; u++)
                    for (int64_t d = 0; d < D; d++)
                        m[d] += s[u] * (double)qat(v, g * W + u, h, d) / (double)W;
            }
            for (int64_t u = 0; u < W; u++) {
                double a = 0.0;
                for (int64_t d = 0; d < D; d++)
                    a += m[d] * kt[u * D + d];
                s[u] = BUG(lh_mean_key) ? 0.0 : a * rs; /* BUG: the chunk key is the plain mean of its keys */
            }
            lh_softmax_m(s, W);
            for (int64_t d = 0; d < D; d++) {
                ck[g * D + d] = 0.0;
                for (int64_t u = 0; u < W; u++)
                    ck[g * D + d] += s[u] * kt[u * D + d];
            }
        }
        for (int64_t i = 0; i < L; i++) {
            int64_t n = 0, c = i / W, r = i % W;
            double qpos = (double)i;
            if (i < B)
                for (int64_t j = 0; j <= i; j++)
                    tok[n++] = j;
            else {
                for (int64_t g = 1; g <= c - 2; g++) {
                    gs[g] = 0.0;
                    for (int64_t d = 0; d < D; d++)
                        gs[g] += (double)qat(q, i, h, d) * ck[g * D + d];
                }
                memset(sel, 0, (size_t)C);
                sel[0] = sel[c - 1] = sel[c] = 1;
                for (int64_t t = 0; t < K - 3; t++) {
                    int64_t best = -1;
                    for (int64_t g = 1; g <= c - 2; g++)
                        if (!sel[g] && (best < 0 || gs[g] > gs[best]))
                            best = g;
                    if (best >= 0)
                        sel[best] = 1;
                }
                int64_t own = BUG(lh_own_key) ? r + 1 : r; /* BUG: the own key too (the decode branch's count) */
                for (int64_t g = 0; g <= c; g++)
                    for (int64_t t = 0; sel[g] && t < (g == c ? own : W); t++)
                        tok[n++] = g * W + t;
                qpos = BUG(lh_token_positions) ? (double)i : (double)((K - 1) * W + r);
            }
            fot_rotate(q, i, h, D, qpos, base, qr);
            for (int64_t j = 0; j < n; j++) { /* BUG: keys at their token index, not the contiguous remap */
                double a = 0.0, kpos = i < B || BUG(lh_token_positions) ? (double)tok[j] : (double)j;
                fot_rotate(k, tok[j], h, D, kpos, base, kr);
                for (int64_t d = 0; d < D; d++)
                    a += qr[d] * kr[d];
                s[j] = a * rs;
            }
            lh_softmax_m(s, n);
            for (int64_t e = 0; e < D; e++) {
                double acc = 0.0;
                int64_t idx[3] = {i, h, e};
                for (int64_t j = 0; j < n; j++)
                    acc += s[j] * (double)qat(v, tok[j], h, e);
                store_out(out->data, out->dtype, offset(out, idx), (float)acc);
            }
        }
    }
    free(kt), free(qt), free(ck), free(m), free(s), free(qr), free(kr), free(gs), free(tok), free(sel);
    return PECS_OK;
}

/* ---- pine (kattn form): [prefix | documents | suffix]; each document's queries and each suffix query order the
 * documents by position-free attention weights and see them at re-assigned positions (reference/pine.c) ---------- */
static pecs_status run_pine(const pecs_problem *p)
{
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"), *v = pecs_problem_tensor(p, "v"),
                      *out = pecs_problem_tensor(p, "out");
    const pecs_param *lp = pecs_problem_param(p, "lengths");
    if (!q || !k || !v || !out || !lp || lp->n < 1)
        return PECS_INVALID;
    int64_t L = q->shape[0], H = q->shape[1], D = q->shape[2], P = pecs_param_int(p, "prefix", 1), n = lp->n, N = 0;
    double base = pecs_param_real(p, "base", 10000.0);
    for (int64_t j = 0; j < n; j++)
        N += (int64_t)lp->list[j];
    if (k->shape[0] != L || D % 2 || P < 0 || P + N >= L)
        return PECS_INVALID;
    double *s = malloc((size_t)(L + 1) * sizeof *s), *imp = malloc((size_t)(n + 1) * sizeof *imp),
           *qr = malloc((size_t)(D + 1) * sizeof *qr), *kr = malloc((size_t)(D + 1) * sizeof *kr);
    int64_t *doc = malloc((size_t)(L + 1) * sizeof *doc), *st = malloc((size_t)(n + 1) * sizeof *st),
            *pos = malloc((size_t)(L + 1) * sizeof *pos);
    unsigned char *used = malloc((size_t)(n + 1));
    if (!s || !imp || !qr || !kr || !doc || !st || !pos || !used) {
        free(s), free(imp), free(qr), free(kr), free(doc), free(st), free(pos), free(used);
        return PECS_NOMEM;
    }
    for (int64_t t = 0; t < L; t++)
        doc[t] = -1;
    for (int64_t j = 0, t = P; j < n; j++) {
        st[j] = t;
        for (int64_t u = 0; u < (int64_t)lp->list[j]; u++)
            doc[t++] = j;
    }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++) { /* each query redoes its group's order: slow and plain */
            int64_t own = doc[i], t0 = own >= 0 ? st[own] : i, t1 = own >= 0 ? t0 + (int64_t)lp->list[own] : i + 1;
            for (int64_t j = 0; j < n; j++)
                imp[j] = 0.0, used[j] = 0;
            for (int64_t t = t0; i >= P && t < t1 && (own >= 0 ? n > 2 : n > 1); t++) {
                double mx = -INFINITY, z = 0.0;
                for (int64_t u = P; u < P + N; u++)
                    if (doc[u] != own) {
                        double d = 0.0;
                        for (int64_t e = 0; e < D; e++)
                            d += (double)qat(q, t, h, e) * (double)qat(k, u, h, e);
                        s[u] = d / sqrt((double)D);
                        mx = s[u] > mx ? s[u] : mx;
                    }
                for (int64_t u = P; u < P + N; u++)
                    if (doc[u] != own)
                        z += exp(s[u] - mx);
                for (int64_t u = P; u < P + N; u++) /* BUG: the per-document sum, not its mean */
                    if (doc[u] != own)
                        imp[doc[u]] += exp(s[u] - mx) / z / (BUG(pine_doc_sum) ? 1.0 : lp->list[doc[u]]);
            }
            for (int64_t t = 0; t < L; t++)
                pos[t] = t;
            for (int64_t c = 0, shift = 0; c < n; c++) {
                int64_t best = c == 0 && own >= 0 ? own : -1;
                for (int64_t j = 0; j < n && !(c == 0 && own >= 0); j++) /* BUG: ascending, least attended nearest */
                    if (!used[j] && (best < 0 || (BUG(pine_ascending) ? imp[j] < imp[best] : imp[j] > imp[best])))
                        best = j;
                used[best] = 1;
                for (int64_t u = 0; u < (int64_t)lp->list[best]; u++)
                    pos[st[best] + u] = P + N - (int64_t)lp->list[best] - shift + u;
                shift += (int64_t)lp->list[best];
            }
            fot_rotate(q, i, h, D, (double)pos[i], base, qr);
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j < L; j++) { /* BUG: documents masked causally by index, not by position */
                int vis = own >= 0 && !BUG(pine_causal_documents) ? j < P + N && pos[j] <= pos[i] : j <= i;
                s[j] = -INFINITY;
                if (!vis)
                    continue;
                fot_rotate(k, j, h, D, (double)pos[j], base, kr);
                double d = 0.0;
                for (int64_t e = 0; e < D; e++)
                    d += qr[e] * kr[e];
                s[j] = d / sqrt((double)D);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < L; j++)
                z += s[j] > -INFINITY ? exp(s[j] - mx) : 0.0;
            for (int64_t e = 0; e < D; e++) {
                double acc = 0.0;
                int64_t idx[3] = {i, h, e};
                for (int64_t j = 0; j < L; j++)
                    if (s[j] > -INFINITY)
                        acc += exp(s[j] - mx) / z * (double)qat(v, j, h, e);
                store_out(out->data, out->dtype, offset(out, idx), (float)acc);
            }
        }
    free(s), free(imp), free(qr), free(kr), free(doc), free(st), free(pos), free(used);
    return PECS_OK;
}

/* ---- position maps: idx [1, T] -> out [P, T] in idx's dtype, in 64-bit integers ---------------------------- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static pecs_status run_posmap(const pecs_problem *p)
{
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out || out->ndim != 2)
        return PECS_INVALID;
    int64_t T = idx->shape[idx->ndim - 1], m = INT64_MIN;
    for (int64_t t = 0; t < T; t++) {
        int64_t i = (int64_t)pecs_pos_at(idx, 0, t);
        m = i > m ? i : m;
    }
    int se = !strcmp(p->encoding, "self_extend");
    if (!strcmp(p->encoding, "bipe")) { /* segment start and count, a separator closing its segment */
        const pecs_param *seps = pecs_problem_param(p, "separators");
        int64_t scale = pecs_param_int(p, "train_scale", 0), start = 0, segment = 0;
        for (int64_t t = 0; t < T; t++) {
            double id = pecs_pos_at(idx, 0, t);
            int sep = 0;
            for (int64_t k = 0; seps && k < seps->n; k++)
                sep |= id == seps->list[k];
            if (BUG(bipe_separator_opens) && sep)
                start = t, segment++;
            int64_t off = t - start, row[2] = {0, t};
            pecs_store_f64(out->data, out->dtype, offset(out, row), (double)(scale > 0 && off >= scale ? scale - 1 : off));
            row[0] = 1;
            pecs_store_f64(out->data, out->dtype, offset(out, row), (double)segment);
            if (!BUG(bipe_separator_opens) && sep)
                start = t + 1, segment++;
        }
        return PECS_OK;
    }
    if (!strcmp(p->encoding, "group_pe") || !strcmp(p->encoding, "cream")) { /* piecewise shifts of idx */
        int gpe = !strcmp(p->encoding, "group_pe");
        int64_t S = pecs_param_int(p, "source_len", 16), ts = pecs_param_int(p, "target_start", 0);
        int64_t L = pecs_param_int(p, "window", 4096), f = pecs_param_int(p, "factor", 8), H = pecs_param_int(p, "head_len", 1365),
                end = pecs_param_int(p, "end_id", 12000), C = L - 2 * H;
        for (int64_t t = 0; t < T; t++) {
            int64_t i = (int64_t)pecs_pos_at(idx, 0, t), v, row[2] = {0, t};
            if (gpe)
                v = i < S ? i : BUG(group_pe_no_restart) ? ts + i : ts + (i - S);
            else if (i < H)
                v = i;
            else if (i < L - H)
                v = end - (C - (BUG(cream_end_exclusive) ? 0 : 1)) + (i - H);
            else
                v = f * L - H + (i - (L - H));
            pecs_store_f64(out->data, out->dtype, offset(out, row), (double)v);
        }
        return PECS_OK;
    }
    if (!strcmp(p->encoding, "v2pe")) { /* text + 1, image tokens + stride / num_image_token, </img> at ceil + 1 */
        double open = (double)pecs_param_int(p, "img_start", 0), close = (double)pecs_param_int(p, "img_end", 1);
        double nit = (double)pecs_param_int(p, "num_image_token", 256), stride = (double)pecs_param_int(p, "stride", 256);
        double step = BUG(v2pe_full_stride) ? stride : stride / nit, last = -1.0;
        int in_image = 0;
        for (int64_t t = 0; t < T; t++) {
            double id = pecs_pos_at(idx, 0, t);
            int64_t row[2] = {0, t};
            if (in_image && id == close)
                last = (BUG(v2pe_floor_continue) ? floor(last) : ceil(last)) + 1.0, in_image = 0;
            else if (in_image)
                last += step;
            else
                last += 1.0, in_image = id == open;
            pecs_store_f64(out->data, out->dtype, offset(out, row), last);
        }
        return PECS_OK;
    }
    if (!strcmp(p->encoding, "position_coupling")) { /* one walk over the layout per token */
        const pecs_param *L = pecs_problem_param(p, "lengths");
        if (!L || L->n < 3)
            return PECS_INVALID;
        int64_t n_ops = L->n - 1, M = 0, rev = pecs_param_int(p, "reverse_output", 1);
        for (int64_t k = 0; k < n_ops; k++)
            M = (int64_t)L->list[k] > M ? (int64_t)L->list[k] : M;
        int64_t end = pecs_param_int(p, "start", 1) + M + 1;
        for (int64_t t = 0; t < T; t++) {
            int64_t i = (int64_t)pecs_pos_at(idx, 0, t), v = 0, first = 1, row[2] = {0, t};
            for (int64_t k = 0; i > 0 && k <= n_ops; k++) {
                int64_t l = (int64_t)L->list[k], span = k < n_ops ? l + 1 : l, o = i - first;
                if (o < span) {
                    if (k < n_ops) /* BUG: the '+' / '=' after an operand at end + 1, not end */
                        v = end - l + o + (BUG(pcoup_sep_next) && o == l ? 1 : 0);
                    else /* BUG: reversed digits given ascending ids */
                        v = rev && !BUG(pcoup_result_unreversed) ? end - 1 - o : end - l + o;
                    break;
                }
                first += span;
            }
            pecs_store_f64(out->data, out->dtype, offset(out, row), (double)v);
        }
        return PECS_OK;
    }
    if (!strcmp(p->encoding, "randomized")) { /* insertion sort of the draw, in place in the output row */
        for (int64_t t = 0; t < T; t++) {
            double v = pecs_pos_at(idx, 0, t);
            int64_t u = t, row[2] = {0, 0};
            for (; !BUG(randomized_unsorted) && u > 0; u--) {
                row[1] = u - 1;
                double w = pecs_load_f64(out->data, out->dtype, offset(out, row));
                if (w <= v)
                    break;
                row[1] = u;
                pecs_store_f64(out->data, out->dtype, offset(out, row), w);
            }
            row[1] = u;
            pecs_store_f64(out->data, out->dtype, offset(out, row), v);
        }
        return PECS_OK;
    }
    int64_t c1 = pecs_param_int(p, "chunk1", 1), s1 = pecs_param_int(p, "skip1", 0), s2 = pecs_param_int(p, "skip2", 0);
    int64_t G = pecs_param_int(p, "group_size", 8), W = pecs_param_int(p, "window", 1024);
    int64_t s = (BUG(self_extend_window_gt) ? m > W : m >= W) ? W : 0;
    for (int64_t t = 0; t < T; t++) {
        int64_t i = (int64_t)pecs_pos_at(idx, 0, t), row[2] = {0, t};
        if (!se) {
            int first = BUG(pose_chunk_inclusive) ? i <= c1 : i < c1;
            pecs_store_f64(out->data, out->dtype, offset(out, row), (double)(i + (first ? s1 : s2)));
            continue;
        }
        int64_t g = BUG(self_extend_round) ? (int64_t)llround((double)i / (double)G) : floor_div(i, G);
        int64_t v[3] = {i, g + s - s / G, g};
        for (row[0] = 0; row[0] < 3; row[0]++)
            pecs_store_f64(out->data, out->dtype, offset(out, row), (double)v[row[0]]);
    }
    return PECS_OK;
}

/* ---- the backend ---------------------------------------------------------------------------------------- */

static const char *const ENCODINGS[] = {
    "rope",        "rope.linear", "rope.ntk",      "rope.yarn",   "rope.dynamic_ntk", "rope.longrope",
    "rope.llama3", "rope.abf",    "rope.shift",    "rope.mrope",  "rope.imrope",      "rope.vision2d",
    "xpos",        "alibi",       "t5",            "kerple.log",  "kerple.power",     "mask.causal",
    "mask.window", "sinusoidal",  "sinusoidal.concat", "cope",
    /* tier 2 */
    "rope.p",      "rope.giraffe", "rope.rmt",    "rope.vrope",  "rope.hope_vlm",
    "rope.entropy_abf", "rope.string", "rope.mspoe",  "rope.mhrope", "rope.comrope", "rope.plusplus", "rope.clex",
    "rope.psc",    "rope.buckets", "rope.selective", "rope.carope", "rope.harpe",
    "alibi.pi",    "mpnet",        "bam",         "masa",        "irpe",
    "ldpe",        "pia",          "fourier",     "sigma_gpt",   "peg",         "graph.maglap",
    "seqpe",
    "shaw",        "music",        "txl",         "huang",       "nope.temperature", "tra",
    "path",        "gateloop",    "positional_attention", "bros.crel", "cable", "rope.tapa",
    "pose",        "self_extend",  "bipe",        "toeplitz.fft", "randomized",  "group_pe",
    "cream",       "lm_infinite",  "s2attn",      "cca",         "urpe",        "packing",
    "v2pe",        "anchor",      "parallel_context", "position_coupling", "landmark",
    "etc",         "xpos.bca",    "focused_memory", "extended_mind", "rope.windowed", "rope.gali",
    "fitm.calibration", "tape", "longheads", "pine"};

static int mutant_supports(void *ctx, const pecs_problem *p, char *reason, size_t n)
{
    (void)ctx;
    int known = 0;
    for (size_t i = 0; i < sizeof ENCODINGS / sizeof ENCODINGS[0]; i++)
        known |= !strcmp(p->encoding, ENCODINGS[i]);
    if (!known || (p->dtype != PECS_DT_F32 && p->dtype != PECS_DT_F16 && p->dtype != PECS_DT_BF16)) {
        snprintf(reason, n, "the mutants cover %s in f32/f16/bf16 only", known ? "it" : "most T1 encodings (not this one)");
        return 0;
    }
    return 1;
}

static pecs_status mutant_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    pecs_status st = p->form == PECS_FORM_ROTATE   ? run_rotate(p)
                     : p->form == PECS_FORM_EMBED  ? run_embed(p)
                     : p->form == PECS_FORM_POSMAP ? run_posmap(p)
                     : p->form == PECS_FORM_KATTN  ? (!strcmp(p->encoding, "urpe")       ? run_urpe(p)
                                                      : !strcmp(p->encoding, "landmark") ? run_landmark(p)
                                                      : !strcmp(p->encoding, "focused_memory") ? run_focused_memory(p)
                                                      : !strcmp(p->encoding, "pine") ? run_pine(p)
                                                      : !strcmp(p->encoding, "extended_mind") ? run_extended_mind(p)
                                                      : !strcmp(p->encoding, "fitm.calibration") ? run_fitm(p)
                                                      : !strcmp(p->encoding, "longheads") ? run_longheads(p)
                                                                                               : run_kattn(p))
                     : p->form == PECS_FORM_SCORES ? (!strcmp(p->encoding, "cope") ? run_cope(p)
                                                      : !strcmp(p->encoding, "tra") ? run_tra(p)
                                                      : !strcmp(p->encoding, "path") ? run_path(p)
                                                      : !strcmp(p->encoding, "gateloop") ? run_gateloop(p)
                                                      : !strcmp(p->encoding, "bros.crel") ? run_bros(p)
                                                      : !strcmp(p->encoding, "cable") ? run_cable(p)
                                                      : !strcmp(p->encoding, "rope.tapa") ? run_tapa(p)
                                                      : !strcmp(p->encoding, "rope.windowed") ? run_wrope(p)
                                                      : !strcmp(p->encoding, "rope.gali") ? run_gali(p)
                                                      : !strcmp(p->encoding, "tape") ? run_tape(p) : run_relscores(p))
                                                   : run_pairwise(p);
    if (BUG(write_past_end)) {
        const pecs_tensor *out = pecs_problem_tensor(p, "out");
        int64_t last = 0;
        for (int i = 0; i < out->ndim; i++)
            last += (out->shape[i] - 1) * out->stride[i];
        store_out(out->data, out->dtype, last + 1, 0.0f);
    }
    return st;
}

static const char *mutant_isa(void *ctx)
{
    (void)ctx;
    return "scalar";
}

static pecs_backend g_desc;

PECS_BACKEND_ENTRY(mutant)
{
    (void)host;
    if (host_abi_major != PECS_ABI_MAJOR)
        return NULL;
    g_desc = (pecs_backend){
        .abi_major = PECS_ABI_MAJOR,
        .struct_size = sizeof(pecs_backend),
        .abi_minor = PECS_ABI_MINOR,
        .name = g_rows[pecs_mutant_bug].name,
        .version = "1",
        .description = g_rows[pecs_mutant_bug].what,
        .supports = mutant_supports,
        .run = mutant_run,
        .isa = mutant_isa,
    };
    return &g_desc;
}
