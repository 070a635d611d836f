/* tests/plugins/engines/double.c — the `double` engine plugin: the same rotations with every inv_freq,
 * angle, cos/sin, gain and product in double, each output rounded once to the storage dtype. This is the
 * kernel pecs's `strict` profile is written for: the angle pos*inv_freq in double is off by at most half an
 * ulp of ~2^20 rad (~1e-10), far below an f32 output's last place, and nothing else is rounded to float.
 *
 * Conventions (the schedules as include/pecs/encodings.def and reference/rope*.c state them, evaluated the
 * straightforward way, not the reference's code: plain pow() per pair, no double-double angle):
 *   rope / rope.abf / rope.shift  inv_i = base^(-2i/R)            (RoFormer; HF default)
 *   rope.linear    inv_i / factor                                  (HF linear)
 *   rope.ntk       base' = base * s^(R/(R-2))                      (bloc97 NTK-aware)
 *   rope.dynamic_ntk  base' = base * (s L/Lmax - (s-1))^(R/(R-2)), L = max(seq_len, Lmax)  (HF dynamic)
 *   rope.yarn      HF _compute_yarn_parameters: correction range floor/ceil (unless truncate=false) from L =
 *                  original_max_position (corr_length=max: max_position), ramp blend, attention factor
 *                  get_mscale(s, mscale) [/ get_mscale(s, mscale_all_dim)] or attention_factor
 *   rope.longrope  HF _compute_longrope_parameters: 1/(ext_i base^(2i/R)), long list iff L > original,
 *                  attention sqrt(1 + ln s / ln original)
 *   rope.llama3    HF _compute_llama3_parameters band rule
 *   rope.mrope / rope.imrope / rope.vision2d   HF qwen2_vl / qwen3_vl position rows (include/pecs/backend.h)
 *   xpos           torchscale XPOS gain zeta_i^(+-(pos - ceil(N/2))/scale_base)
 * then inv_i /= freq_factors[i] and the gain *= attn_factor. Declined: f64 storage (its strict tolerance,
 * 1e-12, needs the reference's exact angle reduction at large positions).
 */
#include "engine.h"

#define DBL_PI 3.14159265358979323846

typedef struct dbl_sched {
    double *inv, *zeta;
    int *axis;
    double attn, zeta_rate, zeta_center;
} dbl_sched;

static void dbl_free(dbl_sched *s)
{
    free(s->inv);
    free(s->zeta);
    free(s->axis);
    memset(s, 0, sizeof *s);
}

static double get_mscale(double s, double m) { return s <= 1.0 ? 1.0 : 0.1 * m * log(s) + 1.0; }

static void dbl_powers(double base, int64_t R, int64_t n, double *inv)
{
    for (int64_t i = 0; i < n; i++)
        inv[i] = pow(base, -(double)(2 * i) / (double)R);
}

static pecs_status dbl_yarn(const pecs_problem *p, int64_t R, dbl_sched *s)
{
    double base = pecs_param_real(p, "base", 10000.0), f = pecs_param_real(p, "factor", 1.0);
    double orig = (double)pecs_param_int(p, "original_max_position", 4096), mp = (double)pecs_param_int(p, "max_position", 0);
    double L = pecs_param_is(p, "corr_length", "max") ? (mp > 0.0 ? mp : f * orig) : orig;
    double bf = pecs_param_real(p, "beta_fast", 32.0), bs = pecs_param_real(p, "beta_slow", 1.0);
    double m = pecs_param_real(p, "mscale", 1.0), mall = pecs_param_real(p, "mscale_all_dim", 0.0);
    double af = pecs_param_real(p, "attention_factor", 0.0);
    if (bf < bs)
        return PECS_INVALID;
    double lo = (double)R * log(L / (bf * 2.0 * DBL_PI)) / (2.0 * log(base));
    double hi = (double)R * log(L / (bs * 2.0 * DBL_PI)) / (2.0 * log(base));
    if (pecs_param_int(p, "truncate", 1))
        lo = floor(lo), hi = ceil(hi);
    lo = fmax(lo, 0.0), hi = fmin(hi, (double)(R - 1));
    if (lo == hi)
        hi += 0.001;
    for (int64_t i = 0; i < R / 2; i++) {
        double extrap = pow(base, -(double)(2 * i) / (double)R), r = fmin(fmax(((double)i - lo) / (hi - lo), 0.0), 1.0);
        s->inv[i] = extrap / f * r + extrap * (1.0 - r);
    }
    s->attn = af > 0.0 ? af : mall > 0.0 ? get_mscale(f, m) / get_mscale(f, mall) : get_mscale(f, m);
    return PECS_OK;
}

static pecs_status dbl_llama3(const pecs_problem *p, int64_t R, dbl_sched *s)
{
    double f = pecs_param_real(p, "factor", 8.0), lo = pecs_param_real(p, "low_freq_factor", 1.0);
    double hi = pecs_param_real(p, "high_freq_factor", 4.0), L = (double)pecs_param_int(p, "original_max_position", 8192);
    if (!(hi > lo))
        return PECS_INVALID;
    dbl_powers(pecs_param_real(p, "base", 500000.0), R, R / 2, s->inv);
    for (int64_t i = 0; i < R / 2; i++) {
        double w = s->inv[i], wavelen = 2.0 * DBL_PI / w;
        if (wavelen > L / lo) {
            s->inv[i] = w / f;
        } else if (wavelen >= L / hi) {
            double k = (L / wavelen - lo) / (hi - lo);
            s->inv[i] = (1.0 - k) * w / f + k * w;
        }
    }
    return PECS_OK;
}

static pecs_status dbl_schedule(const pecs_problem *p, const eng_view *v, dbl_sched *s)
{
    int64_t R = v->R, n = v->n;
    double base = pecs_param_real(p, "base", 10000.0);
    pecs_status st = PECS_OK;
    memset(s, 0, sizeof *s);
    s->inv = calloc((size_t)n, sizeof *s->inv);
    s->zeta = calloc((size_t)n, sizeof *s->zeta);
    s->axis = calloc((size_t)n, sizeof *s->axis);
    if (!s->inv || !s->zeta || !s->axis) {
        dbl_free(s);
        return PECS_NOMEM;
    }
    s->attn = 1.0;
    if (eng_is(p, "rope") || eng_is(p, "rope.abf") || eng_is(p, "rope.shift") || eng_is(p, "xpos")) {
        dbl_powers(base, R, n, s->inv);
    } else if (eng_is(p, "rope.linear")) {
        dbl_powers(base, R, n, s->inv);
        for (int64_t i = 0; i < n; i++)
            s->inv[i] /= pecs_param_real(p, "factor", 1.0);
    } else if (eng_is(p, "rope.ntk") || eng_is(p, "rope.dynamic_ntk")) {
        double f = pecs_param_real(p, "factor", 1.0), scale = f;
        if (eng_is(p, "rope.dynamic_ntk")) {
            double Lmax = (double)pecs_param_int(p, "max_position", 2048), L = fmax(pecs_problem_seq_len(p), Lmax);
            scale = f * L / Lmax - (f - 1.0);
        }
        if (R <= 2)
            st = PECS_INVALID;
        else
            dbl_powers(base * pow(scale, (double)R / (double)(R - 2)), R, n, s->inv);
    } else if (eng_is(p, "rope.yarn")) {
        st = dbl_yarn(p, R, s);
    } else if (eng_is(p, "rope.longrope")) {
        double orig = (double)pecs_param_int(p, "original_max_position", 4096), mp = (double)pecs_param_int(p, "max_position", 0);
        double f = pecs_param_real(p, "factor", 0.0), af = pecs_param_real(p, "attention_factor", 0.0);
        const pecs_param *ext = pecs_problem_param(p, pecs_problem_seq_len(p) > orig ? "long_factor" : "short_factor");
        f = f > 0.0 ? f : mp > 0.0 ? mp / orig : 1.0;
        if (ext && ext->n > 0 && ext->n != n)
            st = PECS_INVALID;
        dbl_powers(base, R, n, s->inv);
        for (int64_t i = 0; st == PECS_OK && ext && i < ext->n; i++)
            s->inv[i] /= ext->list[i];
        s->attn = af > 0.0 ? af : f > 1.0 ? sqrt(1.0 + log(f) / log(orig)) : 1.0;
    } else if (eng_is(p, "rope.llama3")) {
        st = dbl_llama3(p, R, s);
    } else if (eng_is(p, "rope.mrope") || eng_is(p, "rope.imrope")) {
        int64_t sec[3];
        int im = eng_is(p, "rope.imrope");
        if (!eng_sections(p, n, sec))
            st = PECS_INVALID;
        dbl_powers(base, R, n, s->inv);
        for (int64_t i = 0; st == PECS_OK && i < n; i++)
            s->axis[i] = im ? ((i % 3 == 1 && i < 3 * sec[1]) ? 1 : (i % 3 == 2 && i < 3 * sec[2]) ? 2 : 0)
                            : (i < sec[0] ? 0 : i < sec[0] + sec[1] ? 1 : 2);
    } else if (eng_is(p, "rope.vision2d")) {
        int64_t q = R / 4;
        if (R % 4)
            st = PECS_INVALID;
        for (int64_t k = 0; st == PECS_OK && k < q; k++) {
            s->inv[k] = s->inv[q + k] = pow(base, -(double)(4 * k) / (double)R);
            s->axis[k] = 0, s->axis[q + k] = 1;
        }
    } else {
        st = PECS_UNSUPPORTED;
    }
    for (int64_t i = 0; i < n; i++)
        s->zeta[i] = 1.0;
    if (st == PECS_OK && eng_is(p, "xpos")) {
        double gamma = pecs_param_real(p, "gamma", 0.4), N = (double)pecs_param_int(p, "seq_len", 0);
        for (int64_t i = 0; i < n; i++)
            s->zeta[i] = ((double)(2 * i) + gamma * (double)R) / ((1.0 + gamma) * (double)R);
        s->zeta_rate = (pecs_param_is(p, "role", "key") ? -1.0 : 1.0) / pecs_param_real(p, "scale_base", 512.0);
        s->zeta_center = ceil(N / 2.0);
    }
    const pecs_param *ff = pecs_problem_param(p, "freq_factors");
    if (st == PECS_OK && ff && ff->n > 0) {
        if (ff->n != n)
            st = PECS_INVALID;
        for (int64_t i = 0; st == PECS_OK && i < n; i++)
            s->inv[i] /= ff->list[i];
    }
    s->attn *= pecs_param_real(p, "attn_factor", 1.0);
    for (int64_t i = 0; st == PECS_OK && i < n; i++)
        if (s->axis[i] >= v->rows)
            st = PECS_INVALID;
    if (st != PECS_OK)
        dbl_free(s);
    return st;
}

static int dbl_supports(void *ctx, const pecs_problem *p, char *reason, size_t rn)
{
    eng_view v;
    dbl_sched s;
    (void)ctx;
    if (!eng_open(p, &v, reason, rn))
        return 0;
    pecs_status st = dbl_schedule(p, &v, &s);
    if (st == PECS_UNSUPPORTED)
        return eng_no(reason, rn, "double has no kernel for encoding '%s'", p->encoding);
    if (st != PECS_OK)
        return eng_no(reason, rn, "double: %s parameters do not fit this problem (%s)", p->encoding, pecs_status_str(st));
    dbl_free(&s);
    return 1;
}

static pecs_status dbl_run(void *ctx, const pecs_problem *p)
{
    eng_view v;
    dbl_sched s;
    char why[256];
    (void)ctx;
    if (!eng_open(p, &v, why, sizeof why))
        return PECS_UNSUPPORTED;
    pecs_status st = dbl_schedule(p, &v, &s);
    if (st != PECS_OK)
        return st;
    double *c = malloc((size_t)v.n * 2 * sizeof *c);
    if (!c) {
        dbl_free(&s);
        return PECS_NOMEM;
    }
    double *sn = c + v.n;
    for (int64_t t = 0; t < v.T; t++) {
        double e = (pecs_pos_at(v.pos, 0, t) - s.zeta_center) * s.zeta_rate;
        for (int64_t i = 0; i < v.n; i++) {
            double a = pecs_pos_at(v.pos, s.axis[i], t) * s.inv[i];
            double g = s.zeta_rate != 0.0 ? s.attn * pow(s.zeta[i], e) : s.attn;
            c[i] = cos(a) * g, sn[i] = sin(a) * g;
        }
        eng_rotate_f64(&v, t, c, sn);
    }
    free(c);
    dbl_free(&s);
    return PECS_OK;
}

static const char *dbl_isa(void *ctx)
{
    (void)ctx;
    return "scalar-f64";
}

static const pecs_backend g_double = {
    .abi_major = PECS_ABI_MAJOR,
    .struct_size = sizeof(pecs_backend),
    .abi_minor = PECS_ABI_MINOR,
    .name = "engine-double",
    .version = "1.0",
    .description = "double-angle RoPE: inv_freq, angles, cos/sin and the rotation in double, one rounding to storage",
    .supports = dbl_supports,
    .run = dbl_run,
    .isa = dbl_isa,
};

PECS_BACKEND_ENTRY(double)
{
    (void)host;
    return host_abi_major == PECS_ABI_MAJOR ? &g_double : NULL;
}
