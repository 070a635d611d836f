/* tests/plugins/engines/hf.c — the `hf` engine plugin: RoPE computed as HuggingFace transformers does it in
 * PyTorch eager mode for a float32 model, every schedule in float32 the way its tensors are typed.
 *
 * Sources checked (with the search tool; re-expressed in C, not copied):
 *   transformers src/transformers/modeling_rope_utils.py, v4.4x and a v5 copy (rope_parameters, `truncate`):
 *     _compute_default_rope_parameters  inv_freq = 1.0 / (base ** (arange(0, dim, 2).float() / dim))
 *     _compute_linear_scaling_rope_parameters   inv_freq /= factor
 *     _compute_dynamic_ntk_parameters + dynamic_rope_update (dynamic_frequency_update): below the cached
 *       length the init-time inv_freq (base' = base, Python double); above it seq_len = max(position_ids)+1
 *       is an int64 tensor, so base' = base * ((factor*seq_len/max_pos) - (factor-1)) ** (dim/(dim-2)) is
 *       evaluated as a float32 0-dim tensor (pow of a 0-dim float tensor by a Python float runs std::pow in
 *       double and rounds: ATen PowKernel.cpp pow_tensor_scalar_optimized_kernel), then base' ** e in float32
 *     _compute_yarn_parameters: pos_freqs = base ** e (float32), 1/pos_freqs, 1/(factor*pos_freqs),
 *       find_correction_dim/range in Python double (floor/ceil unless truncate=False, clamp to [0, dim-1]),
 *       linear_ramp_factor in float32 (+0.001 when min == max), inv = interp*(1-ef) + extrap*ef,
 *       attention_factor = get_mscale(factor) or get_mscale(f, mscale)/get_mscale(f, mscale_all_dim) when
 *       both are set, or the configured attention_factor; v5 replaces factor by
 *       max_position_embeddings/original_max_position_embeddings and takes the correction range from the
 *       original length (older releases: from max_position_embeddings, pecs corr_length=max)
 *     _compute_longrope_parameters: ext_factors = tensor(long or short, float32) by seq_len > original,
 *       inv = 1.0 / (ext_factors * base ** e); attention_factor sqrt(1 + ln(s)/ln(original)) in double
 *     _compute_llama3_parameters: wavelen = 2*pi / inv_freq, the band rule with float32 tensors
 *   LlamaRotaryEmbedding.forward: freqs = inv_freq @ position_ids.float() (one float32 product),
 *     cos = emb.cos() * attention_scaling, sin likewise (float32 times the Python float rounded to float32);
 *     apply_rotary_pos_emb: q*cos + rotate_half(q)*sin; Meta's complex form (view_as_complex) for the
 *     interleaved pairing; qwen2_vl apply_multimodal_rotary_pos_emb (mrope_section chunks), qwen3_vl
 *     apply_interleaved_mrope, qwen2_vl VisionRotaryEmbedding (dim = head_dim/2) + apply_rotary_pos_emb_vision
 *   torch/_tensor.py: `scalar / tensor` is tensor.reciprocal() * scalar (two roundings); scalar operands of
 *     float32 tensor ops are rounded to float32 (TensorIterator wrapped numbers)
 *   microsoft/torchscale xpos_relative_position.py (XPOS): scale = (arange(0,R,2) + 0.4R)/(1.4R) in float32,
 *     scale ** (pos/scale_base), 1/scale for keys (downscale), sin/cos times scale
 *   ATen cpu/Loops.h vectorized_loop (blocks of 2 vectors, scalar remainder), vec/vec256 Vectorized<float>
 *     pow/cos/sin (Sleef_*f8_u10), UnaryOpsKernel vml map for cos/sin, PowKernel.cpp.
 * Checked against PyTorch 1.13.1 (Debian python3-torch, CPU capability AVX2) with HF's functions transcribed
 * to torch: rope, abf, linear, dynamic NTK (above and below max_position), YaRN, LongRoPE, Llama 3.1, head
 * dims 8/40/128, positions 0..100005, both pairings: 146 of ~165000 outputs differ, each by 1 ulp (SLEEF's
 * vector cos/sin take another path when a lane's argument is large). Without SLEEF (libm pow/cos/sin) about
 * 1 output in 16 differs by 1 ulp, and a 1-ulp inv_freq (dynamic NTK) moves outputs by ~8e-3 at 100000.
 * Deliberate differences from a real run, stated so nobody reads more into a pass than there is:
 *   - the interleaved pairing is computed elementwise, as GPT-J's rotate_every_two and HF DeepSeek's
 *     interleave-then-rotate_half do; torch's complex multiply (view_as_complex, Meta's Llama code) gives
 *     1-ulp differences in ~1 output of 6 (its AVX2 kernel contracts to FMA);
 *   - for f16/bf16 storage the rotation is computed in float32 and rounded once (the brief); HF eager with a
 *     half-precision model casts cos/sin to the model dtype first and multiplies in that dtype;
 *   - rope.ntk (no HF rope_type) is taken as rope_theta set to the NTK-scaled base, computed in double;
 *   - pecs's attn_factor is folded into attention_scaling (a Python float).
 * Declined: freq_factors (ggml's per-pair divisors; no HF rope_init_fn takes them); rope.yarn with mscale
 * != 1 and no mscale_all_dim, or mscale 0 (HF then ignores mscale), or a max_position that disagrees with
 * factor * original_max_position (v5 derives factor from it).
 */
#include "engine.h"

/* PyTorch's CPU kernels (CPU capability AVX2, which needs FMA) evaluate float32 pow, cos and sin with SLEEF's
 * 1-ulp vector routines: Vectorized<float>::pow/cos/sin. cos/sin go through vml's map, every element
 * vectorised; a binary op such as pow goes through cpu_kernel_vec, whose vector loop takes blocks of
 * 2 x 8 floats and leaves the rest of a contiguous row to the scalar std::pow (libm). The scalar SLEEF
 * "purecfma" variants give the AVX2 lanes' results. Built without SLEEF (or on a CPU without AVX2/FMA, where
 * PyTorch itself falls back to libm) the libm functions are used throughout. */
#ifdef HF_SLEEF
float Sleef_powf1_u10purecfma(float, float);
float Sleef_cosf1_u10purecfma(float);
float Sleef_sinf1_u10purecfma(float);
#endif
static float (*hf_vpow)(float, float) = powf;
static float (*hf_vcos)(float) = cosf;
static float (*hf_vsin)(float) = sinf;

/* pow of element i of a contiguous float32 row of n elements, as cpu_kernel_vec splits it. */
static float hf_pow_at(float b, float e, int64_t i, int64_t n) { return i < n - n % 16 ? hf_vpow(b, e) : powf(b, e); }

#define HF_PI 3.14159265358979323846 /* math.pi */

typedef struct hf_sched {
    float *inv;     /* [n] float32 inv_freq as HF holds it */
    int *axis;      /* [n] position row */
    double attn;    /* attention_scaling: a Python float */
    int xpos, key;  /* torchscale XPOS; downscale for keys */
    float *zeta;    /* [n] XPOS scale bases */
    double center;  /* XPOS window centre ceil(N/2) (0: uncentred) */
    float scale_base;
} hf_sched;

/* e_i = arange(0, dim, 2).float() / dim: exact integers divided in float32. */
static float hf_exponent(int64_t i, int64_t dim) { return (float)(2 * i) / (float)dim; }

/* 1.0 / (base ** e_i) with a Python-float base rounded to float32 (a row of dim/2 elements). */
static float hf_default_inv(double base, int64_t i, int64_t dim)
{
    return 1.0f / hf_pow_at((float)base, hf_exponent(i, dim), i, dim / 2);
}

static double hf_get_mscale(double s, double m) { return s <= 1.0 ? 1.0 : 0.1 * m * log(s) + 1.0; }

/* What HF cannot express; 1 if it can. */
static int hf_check(const pecs_problem *p, const eng_view *v, char *reason, size_t rn)
{
    const pecs_param *ff = pecs_problem_param(p, "freq_factors");
    if (ff && ff->n > 0)
        return eng_no(reason, rn, "HF's rope_init_fns take no per-pair freq_factors (a ggml argument)");
    if (eng_is(p, "rope.yarn")) {
        double m = pecs_param_real(p, "mscale", 1.0), mall = pecs_param_real(p, "mscale_all_dim", 0.0);
        double s = pecs_param_real(p, "factor", 1.0), orig = (double)pecs_param_int(p, "original_max_position", 4096);
        double mp = (double)pecs_param_int(p, "max_position", 0);
        if (mall <= 0.0 && m != 1.0)
            return eng_no(reason, rn, "HF YaRN ignores mscale=%g without mscale_all_dim (uses 0.1 ln(s) + 1)", m);
        if (mall > 0.0 && m == 0.0)
            return eng_no(reason, rn, "HF YaRN with mscale 0 falls back to get_mscale(factor), not 1/get_mscale(s, mscale_all_dim)");
        if (mp > 0.0 && fabs(mp / orig - s) > 1e-12 * s)
            return eng_no(reason, rn, "HF v5 YaRN takes factor = max_position/original_max_position = %g, not %g", mp / orig, s);
    }
    if ((eng_is(p, "rope.ntk") || eng_is(p, "rope.dynamic_ntk")) && v->R <= 2)
        return eng_no(reason, rn, "%s needs rotary_dim > 2 (exponent dim/(dim-2))", p->encoding);
    if (eng_is(p, "rope.vision2d") && v->R % 4)
        return eng_no(reason, rn, "rope.vision2d needs rotary_dim divisible by 4");
    return 1;
}

static void hf_free(hf_sched *s)
{
    free(s->inv);
    free(s->axis);
    free(s->zeta);
    memset(s, 0, sizeof *s);
}

/* YaRN as _compute_yarn_parameters: correction range in double, the blend in float32. */
static void hf_yarn(const pecs_problem *p, int64_t R, hf_sched *s)
{
    double base = pecs_param_real(p, "base", 10000.0), factor = pecs_param_real(p, "factor", 1.0);
    double orig = (double)pecs_param_int(p, "original_max_position", 4096), mp = (double)pecs_param_int(p, "max_position", 0);
    double L = pecs_param_is(p, "corr_length", "max") ? (mp > 0.0 ? mp : factor * orig) : orig;
    double bf = pecs_param_real(p, "beta_fast", 32.0), bs = pecs_param_real(p, "beta_slow", 1.0);
    double m = pecs_param_real(p, "mscale", 1.0), mall = pecs_param_real(p, "mscale_all_dim", 0.0);
    double af = pecs_param_real(p, "attention_factor", 0.0);
    double lo = (double)R * log(L / (bf * 2.0 * HF_PI)) / (2.0 * log(base));
    double hi = (double)R * log(L / (bs * 2.0 * HF_PI)) / (2.0 * log(base));
    if (pecs_param_int(p, "truncate", 1)) {
        lo = floor(lo);
        hi = ceil(hi);
    }
    lo = lo > 0.0 ? lo : 0.0;
    hi = hi < (double)(R - 1) ? hi : (double)(R - 1);
    if (lo == hi)
        hi += 0.001;
    float flo = (float)lo, span = (float)(hi - lo), ffac = (float)factor;
    for (int64_t i = 0; i < R / 2; i++) {
        float pos_freq = hf_pow_at((float)base, hf_exponent(i, R), i, R / 2);
        float extrap = 1.0f / pos_freq, interp = 1.0f / (ffac * pos_freq);
        float ramp = ((float)i - flo) / span;
        ramp = ramp < 0.0f ? 0.0f : ramp > 1.0f ? 1.0f : ramp;
        float ef = 1.0f - ramp;
        s->inv[i] = interp * (1.0f - ef) + extrap * ef;
    }
    s->attn = af > 0.0 ? af : mall > 0.0 ? hf_get_mscale(factor, m) / hf_get_mscale(factor, mall) : hf_get_mscale(factor, 1.0);
}

/* Llama 3.1 bands as _compute_llama3_parameters, every step a float32 tensor op. */
static void hf_llama3(const pecs_problem *p, int64_t R, hf_sched *s)
{
    double base = pecs_param_real(p, "base", 500000.0), factor = pecs_param_real(p, "factor", 8.0);
    double low = pecs_param_real(p, "low_freq_factor", 1.0), high = pecs_param_real(p, "high_freq_factor", 4.0);
    double L = (double)pecs_param_int(p, "original_max_position", 8192);
    float lo_w = (float)(L / low), hi_w = (float)(L / high), ffac = (float)factor;
    for (int64_t i = 0; i < R / 2; i++) {
        float inv = hf_default_inv(base, i, R);
        float wavelen = (1.0f / inv) * (float)(2.0 * HF_PI); /* 2*math.pi / inv_freq: reciprocal, then times */
        float llama = wavelen > lo_w ? inv / ffac : inv;
        float smooth = ((1.0f / wavelen) * (float)L - (float)low) / (float)(high - low);
        float smoothed = (1.0f - smooth) * llama / ffac + smooth * llama;
        int medium = !(wavelen < hi_w) && !(wavelen > lo_w);
        s->inv[i] = medium ? smoothed : llama;
    }
}

/* The schedule for problem p (the checks passed); PECS_OK or an error status. */
static pecs_status hf_schedule(const pecs_problem *p, const eng_view *v, hf_sched *s)
{
    int64_t R = v->R, n = v->n;
    double base = pecs_param_real(p, "base", 10000.0);
    memset(s, 0, sizeof *s);
    s->inv = calloc((size_t)n, sizeof *s->inv);
    s->axis = calloc((size_t)n, sizeof *s->axis);
    s->zeta = calloc((size_t)n, sizeof *s->zeta);
    if (!s->inv || !s->axis || !s->zeta) {
        hf_free(s);
        return PECS_NOMEM;
    }
    s->attn = 1.0;
    if (eng_is(p, "rope") || eng_is(p, "rope.abf") || eng_is(p, "rope.shift") || eng_is(p, "rope.mrope") ||
        eng_is(p, "rope.imrope") || eng_is(p, "xpos")) {
        for (int64_t i = 0; i < n; i++)
            s->inv[i] = hf_default_inv(base, i, R);
    } else if (eng_is(p, "rope.linear")) {
        float f = (float)pecs_param_real(p, "factor", 1.0);
        for (int64_t i = 0; i < n; i++)
            s->inv[i] = hf_default_inv(base, i, R) / f;
    } else if (eng_is(p, "rope.ntk")) {
        double b = base * pow(pecs_param_real(p, "factor", 1.0), (double)R / (double)(R - 2));
        for (int64_t i = 0; i < n; i++)
            s->inv[i] = hf_default_inv(b, i, R);
    } else if (eng_is(p, "rope.dynamic_ntk")) {
        double factor = pecs_param_real(p, "factor", 1.0), Lmax = (double)pecs_param_int(p, "max_position", 2048);
        double L = pecs_problem_seq_len(p);
        float b = (float)base;
        if (L > Lmax) { /* the dynamic update: a float32 0-dim tensor */
            double ex = (double)R / (double)(R - 2);
            float a = (float)factor * (float)L;
            a = a / (float)Lmax;
            a = a - (float)(factor - 1.0);
            a = ex == 2.0 ? a * a : (float)pow((double)a, ex);
            b = (float)base * a;
        }
        for (int64_t i = 0; i < n; i++)
            s->inv[i] = 1.0f / hf_pow_at(b, hf_exponent(i, R), i, n);
    } else if (eng_is(p, "rope.yarn")) {
        hf_yarn(p, R, s);
    } else if (eng_is(p, "rope.longrope")) {
        double orig = (double)pecs_param_int(p, "original_max_position", 4096), mp = (double)pecs_param_int(p, "max_position", 0);
        double f = pecs_param_real(p, "factor", 0.0), af = pecs_param_real(p, "attention_factor", 0.0);
        f = f > 0.0 ? f : mp > 0.0 ? mp / orig : 1.0;
        const pecs_param *ext = pecs_problem_param(p, pecs_problem_seq_len(p) > orig ? "long_factor" : "short_factor");
        if (ext && ext->n > 0 && ext->n != n) {
            hf_free(s);
            return PECS_INVALID;
        }
        for (int64_t i = 0; i < n; i++) {
            float e = ext && ext->n > 0 ? (float)ext->list[i] : 1.0f;
            s->inv[i] = 1.0f / (e * hf_pow_at((float)base, hf_exponent(i, R), i, n));
        }
        s->attn = af > 0.0 ? af : f <= 1.0 ? 1.0 : sqrt(1.0 + log(f) / log(orig));
    } else if (eng_is(p, "rope.llama3")) {
        hf_llama3(p, R, s);
    } else if (eng_is(p, "rope.vision2d")) { /* VisionRotaryEmbedding(dim = R/2), cat(h freqs, w freqs) */
        int64_t q = R / 4;
        for (int64_t k = 0; k < q; k++) {
            s->inv[k] = s->inv[q + k] = hf_default_inv(base, k, R / 2);
            s->axis[k] = 0, s->axis[q + k] = 1;
        }
    } else {
        hf_free(s);
        return PECS_UNSUPPORTED;
    }
    if (eng_is(p, "rope.mrope") || eng_is(p, "rope.imrope")) {
        int64_t sec[3];
        if (!eng_sections(p, n, sec)) {
            hf_free(s);
            return PECS_INVALID;
        }
        for (int64_t i = 0; i < n; i++) {
            if (eng_is(p, "rope.imrope")) /* apply_interleaved_mrope: t, then h at 1,4,.. < 3s_h, w at 2,5,.. < 3s_w */
                s->axis[i] = (i % 3 == 1 && i < 3 * sec[1]) ? 1 : (i % 3 == 2 && i < 3 * sec[2]) ? 2 : 0;
            else /* mrope_section chunks, the frequency index global */
                s->axis[i] = i < sec[0] ? 0 : i < sec[0] + sec[1] ? 1 : 2;
        }
    }
    if (eng_is(p, "xpos")) {
        double gamma = pecs_param_real(p, "gamma", 0.4);
        int64_t N = pecs_param_int(p, "seq_len", 0);
        float g0 = (float)(gamma * (double)R), g1 = (float)((1.0 + gamma) * (double)R);
        for (int64_t i = 0; i < n; i++)
            s->zeta[i] = ((float)(2 * i) + g0) / g1;
        s->xpos = 1;
        s->key = pecs_param_is(p, "role", "key");
        s->center = (double)(N / 2 + N % 2);
        s->scale_base = (float)pecs_param_real(p, "scale_base", 512.0);
    }
    s->attn *= pecs_param_real(p, "attn_factor", 1.0);
    for (int64_t i = 0; i < n; i++)
        if (s->axis[i] >= v->rows) {
            hf_free(s);
            return PECS_INVALID;
        }
    return PECS_OK;
}

static int hf_supports(void *ctx, const pecs_problem *p, char *reason, size_t rn)
{
    eng_view v;
    hf_sched s;
    (void)ctx;
    if (!eng_open(p, &v, reason, rn) || !hf_check(p, &v, reason, rn))
        return 0;
    pecs_status st = hf_schedule(p, &v, &s);
    if (st == PECS_UNSUPPORTED)
        return eng_no(reason, rn, "hf has no kernel for encoding '%s'", p->encoding);
    if (st != PECS_OK)
        return eng_no(reason, rn, "hf: %s parameters do not fit this problem (%s)", p->encoding, pecs_status_str(st));
    hf_free(&s);
    return 1;
}

static pecs_status hf_run(void *ctx, const pecs_problem *p)
{
    eng_view v;
    hf_sched s;
    char why[256];
    (void)ctx;
    if (!eng_open(p, &v, why, sizeof why) || !hf_check(p, &v, why, sizeof why))
        return PECS_UNSUPPORTED;
    pecs_status st = hf_schedule(p, &v, &s);
    if (st != PECS_OK)
        return st;
    float *c = malloc((size_t)v.n * 2 * sizeof *c);
    if (!c) {
        hf_free(&s);
        return PECS_NOMEM;
    }
    float *sn = c + v.n, attn = (float)s.attn;
    for (int64_t t = 0; t < v.T; t++) {
        float e = 0.0f;
        if (s.xpos) /* arange(min_pos, max_pos).to(float32).div(scale_base) */
            e = (float)(pecs_pos_at(v.pos, 0, t) - s.center) / s.scale_base;
        for (int64_t i = 0; i < v.n; i++) {
            float theta = (float)pecs_pos_at(v.pos, s.axis[i], t) * s.inv[i]; /* inv_freq @ position_ids.float() */
            float cs = hf_vcos(theta), si = hf_vsin(theta);
            if (s.xpos) {
                float sc = hf_pow_at(s.zeta[i], e, i, v.n);
                sc = s.key ? 1.0f / sc : sc;
                cs *= sc, si *= sc;
            }
            c[i] = cs * attn, sn[i] = si * attn; /* emb.cos() * attention_scaling */
        }
        eng_rotate_f32(&v, t, c, sn);
    }
    free(c);
    hf_free(&s);
    return PECS_OK;
}

static const char *hf_isa(void *ctx)
{
    (void)ctx;
    return hf_vcos == cosf ? "scalar-f32-libm" : "scalar-f32-sleef-u10";
}

static const pecs_backend g_hf = {
    .abi_major = PECS_ABI_MAJOR,
    .struct_size = sizeof(pecs_backend),
    .abi_minor = PECS_ABI_MINOR,
    .name = "engine-hf",
    .version = "1.0",
    .description = "HF transformers / PyTorch eager RoPE in float32: float32 inv_freq, angles, cos/sin and rotation",
    .supports = hf_supports,
    .run = hf_run,
    .isa = hf_isa,
};

PECS_BACKEND_ENTRY(hf)
{
    (void)host;
#ifdef HF_SLEEF
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        hf_vpow = Sleef_powf1_u10purecfma, hf_vcos = Sleef_cosf1_u10purecfma, hf_vsin = Sleef_sinf1_u10purecfma;
#endif
    return host_abi_major == PECS_ABI_MAJOR ? &g_hf : NULL;
}
