/* tests/plugins/engines/ggml.c — the `ggml` engine plugin: RoPE computed as ggml's CPU kernel does it, with
 * pecs's schedules mapped onto ggml_rope_ext / ggml_rope_multi arguments the way llama.cpp sets them.
 *
 * Sources checked (with the search tool; re-expressed in C, not copied):
 *   ggml/src/ggml-cpu/ops.cpp: ggml_compute_forward_rope_flt (theta_scale = powf(freq_base, -2.0f/n_dims),
 *     the cache rebuilt per token from theta = (float)pos), ggml_rope_cache_init (theta/ff, then
 *     theta *= theta_scale: a float32 recurrence over the pairs), ggml_mrope_cache_init (sector rules for
 *     MROPE, IMROPE and VISION, one recurrence per position row, VISION restarting each section),
 *     rope_yarn (theta_interp = freq_scale*theta_extrap; with ext_factor != 0 the ramp blend and
 *     mscale *= 1 + 0.1 logf(1/freq_scale); cos/sin times mscale), rope_yarn_ramp
 *     (y = (i0/2 - low)/max(0.001, high - low), 1 - clamp(y, 0, 1)), rotate_pairs (x0*cos - x1*sin,
 *     x0*sin + x1*cos in float32, then from_f32); NORMAL pairs (2i, 2i+1), NEOX/MROPE/IMROPE (i, i+n_dims/2),
 *     VISION (i, i+n_dims) with n_dims = ne0/2; channels n_dims.. copied; positions int32.
 *   ggml/src/ggml.c ggml_rope_yarn_corr_dim(s): n_dims*logf(n_ctx_orig/(n_rot*2*pi))/(2*logf(base)), floorf /
 *     ceilf, clamped to [0, n_dims-1], all float32.
 *   llama.cpp src/llama-model.cpp: rope_freq_scale_train = 1.0f/rope.scaling.factor; rope.scaling.attn_factor;
 *     src/llama-context.cpp: yarn_ext_factor = 1 for YARN (else 0); for YARN yarn_attn_factor =
 *     get_mscale(factor) (get_mscale(f, mscale)/get_mscale(f, mscale_all_dim) with rope.scaling.yarn_log_
 *     multiplier set, mscale taken as 1, or equal to it for DeepSeek-V2), times 1/(1 + 0.1 logf(factor)) to
 *     cancel rope_yarn's own factor (llama.cpp PR 17945; the older deepseek2 graph pre-scaled the same way),
 *     then times rope.scaling.attn_factor; n_ctx_orig = rope.scaling.original_context_length, else n_ctx_train;
 *     get_rope_factors: rope_long when n_ctx_per_seq > n_ctx_orig_yarn, else rope_short (Phi-3 LongRoPE).
 *   convert_hf_to_gguf.py: Llama 3.1 rope_freqs = per-pair divisors from float32 torch ops (wavelen =
 *     2*pi/freq; 1 above high, factor below low, 1/((1-smooth)/factor + smooth) between); Phi-3
 *     rope.scaling.attn_factor = sqrt(1 + ln(s)/ln(original)) and rope_factors_long/short as float32.
 * Mapping of pecs parameters: base -> freq_base; pairing -> NORMAL / NEOX; rotary_dim -> n_dims;
 * freq_factors -> the freq_factors tensor; attn_factor -> rope.scaling.attn_factor; rope.linear ->
 * freq_scale 1/factor; rope.ntk -> freq_base = base*s^(R/(R-2)) (what a user passes as --rope-freq-base);
 * rope.yarn -> YARN (freq_scale, ext_factor 1, beta_fast/slow, n_ctx_orig = original_max_position, or
 * max_position for corr_length=max, as a GGUF without original_context_length gives), an HF
 * attention_factor -> the rope.scaling.attn_factor that makes llama.cpp's product equal it; rope.longrope ->
 * rope_factors_long/short as freq_factors by the current length; rope.llama3 -> rope_freqs as freq_factors;
 * rope.mrope/imrope -> ggml_rope_multi with sections [t, h, w, 0]; rope.vision2d -> VISION with sections
 * [R/4]*4 and rows (h, w) in the t and h slots (clip.cpp).
 * bf16 storage: ggml's CPU rope takes f32/f16 only; llama.cpp ropes bf16 data through f32 and ggml_cpy
 * back (round to nearest even), which is what is done here. Every operation is rounded (-ffp-contract=off);
 * a GCC build of ggml with -march=native (gnu++17, contraction on) may fuse x0*cos - x1*sin or the YaRN
 * blend into FMAs, a 1-ulp difference per output. libm cosf/sinf/powf/logf, as ggml's scalar cache code.
 * Declined: rope.dynamic_ntk and xpos (no ggml form); YaRN with truncate=false (corr_dims always floor/ceil)
 * or mscale other than 1 (or mscale_all_dim); freq_factors on top of LongRoPE/Llama-3.1 factors (one
 * tensor); rope.mrope/imrope with the interleaved pairing, rope.vision2d unless half pairing over the whole
 * head (ggml has those modes only); IMROPE pairs that ggml sends to its 4th position row e (HF keeps t);
 * positions that are not int32.
 */
#include "engine.h"

#define GGML_PI 3.14159265358979323846 /* M_PI */

enum { MODE_NORMAL = 0, MODE_NEOX = 2, MODE_MROPE = 8, MODE_VISION = 24, MODE_IMROPE = 40 };

typedef struct ggml_args {
    int mode, n_dims, n_ctx_orig;
    float freq_base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow;
    int sections[4];
    float *freq_factors; /* NULL or [n] */
} ggml_args;

static float get_mscale_f(float s, float m) { return s <= 1.0f ? 1.0f : 0.1f * m * logf(s) + 1.0f; }

static float corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base)
{
    return (float)n_dims * logf((float)n_ctx_orig / (n_rot * 2 * (float)GGML_PI)) / (2 * logf(base));
}

static void corr_dims(const ggml_args *a, float dims[2])
{
    float start = floorf(corr_dim(a->n_dims, a->n_ctx_orig, a->beta_fast, a->freq_base));
    float end = ceilf(corr_dim(a->n_dims, a->n_ctx_orig, a->beta_slow, a->freq_base));
    dims[0] = start > 0.0f ? start : 0.0f;
    dims[1] = (float)(a->n_dims - 1) < end ? (float)(a->n_dims - 1) : end;
}

static float yarn_ramp(float low, float high, int64_t i0)
{
    float y = ((float)(i0 / 2) - low) / (0.001f > high - low ? 0.001f : high - low);
    float m = 0.0f > y ? 0.0f : y; /* MAX(0, y) */
    return 1.0f - (1.0f < m ? 1.0f : m);
}

static void rope_yarn(float theta_extrap, const ggml_args *a, const float cd[2], int64_t i0, float *c, float *s)
{
    float theta_interp = a->freq_scale * theta_extrap, theta = theta_interp, mscale = a->attn_factor;
    if (a->ext_factor != 0.0f) {
        float ramp_mix = yarn_ramp(cd[0], cd[1], i0) * a->ext_factor;
        theta = theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
        mscale *= 1.0f + 0.1f * logf(1.0f / a->freq_scale);
    }
    *c = cosf(theta) * mscale;
    *s = sinf(theta) * mscale;
}

/* Llama 3.1 rope_freqs as convert_hf_to_gguf computes them (float32 tensor ops). */
static void llama3_factors(const pecs_problem *p, int64_t R, float *ff)
{
    double base = pecs_param_real(p, "base", 500000.0), factor = pecs_param_real(p, "factor", 8.0);
    double low = pecs_param_real(p, "low_freq_factor", 1.0), high = pecs_param_real(p, "high_freq_factor", 4.0);
    double L = (double)pecs_param_int(p, "original_max_position", 8192);
    float lo_w = (float)(L / low), hi_w = (float)(L / high);
    for (int64_t i = 0; i < R / 2; i++) {
        float freq = 1.0f / powf((float)base, (float)(2 * i) / (float)R);
        float wavelen = (1.0f / freq) * (float)(2.0 * GGML_PI);
        if (wavelen < hi_w) {
            ff[i] = 1.0f;
        } else if (wavelen > lo_w) {
            ff[i] = (float)factor;
        } else {
            float smooth = ((1.0f / wavelen) * (float)L - (float)low) / (float)(high - low);
            ff[i] = 1.0f / ((1.0f - smooth) / (float)factor + smooth);
        }
    }
}

/* Every position ggml would read is an int32. */
static int positions_int32(const eng_view *v)
{
    for (int64_t r = 0; r < v->rows; r++)
        for (int64_t t = 0; t < v->T; t++) {
            double q = pecs_pos_at(v->pos, r, t);
            if (q != floor(q) || q < -2147483648.0 || q > 2147483647.0)
                return 0;
        }
    return 1;
}

/* pecs problem -> ggml arguments; 0 with the reason when ggml has no equivalent. On success the caller
 * frees a->freq_factors. */
static int ggml_map(const pecs_problem *p, const eng_view *v, ggml_args *a, char *reason, size_t rn)
{
    int64_t n = v->n, R = v->R;
    double base = pecs_param_real(p, "base", 10000.0), rope_attn = pecs_param_real(p, "attn_factor", 1.0);
    const pecs_param *ffp = pecs_problem_param(p, "freq_factors");
    const double *ff_src = ffp && ffp->n > 0 ? ffp->list : NULL;
    memset(a, 0, sizeof *a);
    a->mode = v->half ? MODE_NEOX : MODE_NORMAL;
    a->n_dims = (int)R, a->n_ctx_orig = 4096;
    a->freq_base = (float)base, a->freq_scale = 1.0f, a->ext_factor = 0.0f, a->beta_fast = 32.0f, a->beta_slow = 1.0f;
    if (ff_src && ffp->n != n)
        return eng_no(reason, rn, "freq_factors has %lld values, ggml needs n_dims/2 = %lld", (long long)ffp->n, (long long)n);
    if (R > 0x7fffffff)
        return eng_no(reason, rn, "ggml's n_dims is an int");
    if (eng_is(p, "rope") || eng_is(p, "rope.abf") || eng_is(p, "rope.shift")) {
        /* ggml_rope_ext as is */
    } else if (eng_is(p, "rope.linear")) {
        a->freq_scale = 1.0f / (float)pecs_param_real(p, "factor", 1.0);
    } else if (eng_is(p, "rope.ntk")) {
        if (R <= 2)
            return eng_no(reason, rn, "rope.ntk needs rotary_dim > 2");
        a->freq_base = (float)(base * pow(pecs_param_real(p, "factor", 1.0), (double)R / (double)(R - 2)));
    } else if (eng_is(p, "rope.yarn")) {
        double s = pecs_param_real(p, "factor", 1.0), m = pecs_param_real(p, "mscale", 1.0);
        double mall = pecs_param_real(p, "mscale_all_dim", 0.0), af = pecs_param_real(p, "attention_factor", 0.0);
        int64_t orig = pecs_param_int(p, "original_max_position", 4096), mp = pecs_param_int(p, "max_position", 0);
        if (!pecs_param_int(p, "truncate", 1))
            return eng_no(reason, rn, "ggml_rope_yarn_corr_dims always floors/ceils the correction range (truncate=false)");
        if (m != 1.0 && !(mall > 0.0 && m == mall))
            return eng_no(reason, rn, "llama.cpp's YaRN takes mscale = 1 (or = mscale_all_dim, DeepSeek-V2), not %g", m);
        int64_t L = pecs_param_is(p, "corr_length", "max") ? (mp > 0 ? mp : (int64_t)(s * (double)orig)) : orig;
        if (L > 0x7fffffff)
            return eng_no(reason, rn, "ggml's n_ctx_orig is an int");
        a->n_ctx_orig = (int)L;
        a->freq_scale = 1.0f / (float)s;
        a->ext_factor = 1.0f;
        a->beta_fast = (float)pecs_param_real(p, "beta_fast", 32.0), a->beta_slow = (float)pecs_param_real(p, "beta_slow", 1.0);
        float f = 1.0f / a->freq_scale, meff = (float)(mall > 0.0 && m == mall ? mall : 1.0);
        a->attn_factor = mall > 0.0 ? get_mscale_f(f, meff) / get_mscale_f(f, (float)mall) : get_mscale_f(f, 1.0f);
        a->attn_factor *= 1.0f / (1.0f + 0.1f * logf(f)); /* cancels rope_yarn's own 1 + 0.1 ln(s) */
        if (af > 0.0) { /* the rope.scaling.attn_factor that turns llama.cpp's factor into HF's */
            double nat = s <= 1.0 ? 1.0 : mall > 0.0 ? (0.1 * (double)meff * log(s) + 1.0) / (0.1 * mall * log(s) + 1.0) : 0.1 * log(s) + 1.0;
            rope_attn *= af / nat;
        }
    } else if (eng_is(p, "rope.longrope")) {
        double orig = (double)pecs_param_int(p, "original_max_position", 4096), mp = (double)pecs_param_int(p, "max_position", 0);
        double f = pecs_param_real(p, "factor", 0.0), af = pecs_param_real(p, "attention_factor", 0.0);
        if (ff_src)
            return eng_no(reason, rn, "ggml takes one freq_factors tensor; LongRoPE's factors already use it");
        f = f > 0.0 ? f : mp > 0.0 ? mp / orig : 1.0;
        rope_attn *= af > 0.0 ? af : f <= 1.0 ? 1.0 : sqrt(1.0 + log(f) / log(orig));
        const pecs_param *ext = pecs_problem_param(p, pecs_problem_seq_len(p) > orig ? "long_factor" : "short_factor");
        if (ext && ext->n > 0 && ext->n != n)
            return eng_no(reason, rn, "%s has %lld values, ggml needs %lld", ext->name, (long long)ext->n, (long long)n);
        ff_src = ext && ext->n > 0 ? ext->list : NULL;
    } else if (eng_is(p, "rope.llama3")) {
        if (ff_src)
            return eng_no(reason, rn, "ggml takes one freq_factors tensor; Llama 3.1's rope_freqs already use it");
    } else if (eng_is(p, "rope.mrope") || eng_is(p, "rope.imrope")) {
        int64_t sec[3];
        int im = eng_is(p, "rope.imrope");
        if (!v->half)
            return eng_no(reason, rn, "ggml's %s mode pairs (i, i+n_dims/2) only (pairing=half)", im ? "IMROPE" : "MROPE");
        if (!eng_sections(p, n, sec))
            return eng_no(reason, rn, "sections must be 3 integers summing to rotary_dim/2");
        for (int64_t i = 0; im && i < n; i++)
            if (!((i % 3 == 1 && i < 3 * sec[1]) || (i % 3 == 2 && i < 3 * sec[2]) || (i % 3 == 0 && i < 3 * sec[0])))
                return eng_no(reason, rn, "ggml IMROPE sends pair %lld to its 4th position row e (HF keeps it on t)", (long long)i);
        a->mode = im ? MODE_IMROPE : MODE_MROPE;
        for (int k = 0; k < 3; k++)
            a->sections[k] = (int)sec[k];
    } else if (eng_is(p, "rope.vision2d")) {
        if (!v->half || R != v->D || R % 4)
            return eng_no(reason, rn, "ggml VISION rotates the whole head with pairs (i, i+D/2), D %% 4 == 0 (pairing=half, rotary_dim=head_dim)");
        a->mode = MODE_VISION;
        a->n_dims = (int)(R / 2);
        for (int k = 0; k < 4; k++)
            a->sections[k] = (int)(R / 4);
    } else {
        return eng_no(reason, rn, "ggml has no form of %s (no ggml_rope mode or llama.cpp scaling type for it)", p->encoding);
    }
    a->attn_factor = (a->ext_factor != 0.0f ? a->attn_factor : 1.0f) * (float)rope_attn;
    if (ff_src || eng_is(p, "rope.llama3")) {
        a->freq_factors = malloc((size_t)n * sizeof *a->freq_factors);
        if (!a->freq_factors)
            return eng_no(reason, rn, "out of memory");
        if (ff_src)
            for (int64_t i = 0; i < n; i++)
                a->freq_factors[i] = (float)ff_src[i];
        else
            llama3_factors(p, R, a->freq_factors);
    }
    return 1;
}

static int ggml_supports(void *ctx, const pecs_problem *p, char *reason, size_t rn)
{
    eng_view v;
    ggml_args a;
    (void)ctx;
    if (!eng_open(p, &v, reason, rn) || !ggml_map(p, &v, &a, reason, rn))
        return 0;
    free(a.freq_factors);
    int64_t need = a.mode == MODE_NORMAL || a.mode == MODE_NEOX ? 1 : a.mode == MODE_VISION ? 2 : 3;
    if (v.rows < need)
        return eng_no(reason, rn, "%s needs %lld position rows, pos has %lld", p->encoding, (long long)need, (long long)v.rows);
    if (!positions_int32(&v))
        return eng_no(reason, rn, "ggml positions are int32: this case has a non-integer or out-of-range position");
    return 1;
}

/* Token t's cos/sin for the n pairs, as ggml_rope_cache_init / ggml_mrope_cache_init fill the cache. */
static void cache_init(const ggml_args *a, const eng_view *v, int64_t t, float theta_scale, const float cd[2], float *c,
                       float *s)
{
    if (a->mode == MODE_NORMAL || a->mode == MODE_NEOX) {
        float theta = (float)(int64_t)pecs_pos_at(v->pos, 0, t);
        for (int64_t i = 0; i < v->n; i++) {
            float ff = a->freq_factors ? a->freq_factors[i] : 1.0f;
            rope_yarn(theta / ff, a, cd, 2 * i, &c[i], &s[i]);
            theta *= theta_scale;
        }
        return;
    }
    float base[4] = {(float)(int64_t)pecs_pos_at(v->pos, 0, t), (float)(int64_t)pecs_pos_at(v->pos, 1, t), 0.0f, 0.0f};
    if (a->mode != MODE_VISION)
        base[2] = (float)(int64_t)pecs_pos_at(v->pos, 2, t);
    float th[4] = {base[0], base[1], base[2], base[3]};
    int sect_dims = a->sections[0] + a->sections[1] + a->sections[2] + a->sections[3];
    int sec_w = a->sections[0] + a->sections[1], sec_e = a->sections[2] + sec_w;
    for (int64_t i = 0; i < v->n; i++) {
        float ff = a->freq_factors ? a->freq_factors[i] : 1.0f;
        int sector = (int)(i % sect_dims);
        if (a->mode == MODE_VISION) { /* indep_sects: each section restarts its recurrence */
            if (sector == 0)
                th[0] = base[0];
            else if (sector == a->sections[0])
                th[1] = base[1];
            else if (sector == sec_w)
                th[2] = base[2];
            else if (sector == sec_e)
                th[3] = base[3];
        }
        float theta = th[0];
        if (a->mode == MODE_IMROPE) {
            if (sector % 3 == 1 && sector < 3 * a->sections[1])
                theta = th[1];
            else if (sector % 3 == 2 && sector < 3 * a->sections[2])
                theta = th[2];
            else if (sector % 3 == 0 && sector < 3 * a->sections[0])
                theta = th[0];
            else
                theta = th[3];
        } else if (sector >= a->sections[0] && sector < sec_w) {
            theta = th[1];
        } else if (sector >= sec_w && sector < sec_w + a->sections[2]) {
            theta = th[2];
        } else if (sector >= sec_w + a->sections[2]) {
            theta = th[3];
        }
        rope_yarn(theta / ff, a, cd, 2 * i, &c[i], &s[i]);
        for (int k = 0; k < 4; k++)
            th[k] *= theta_scale;
    }
}

static pecs_status ggml_run(void *ctx, const pecs_problem *p)
{
    eng_view v;
    ggml_args a;
    char why[256];
    (void)ctx;
    if (!eng_open(p, &v, why, sizeof why) || !ggml_map(p, &v, &a, why, sizeof why))
        return PECS_UNSUPPORTED;
    float *c = malloc((size_t)v.n * 2 * sizeof *c);
    if (!c) {
        free(a.freq_factors);
        return PECS_NOMEM;
    }
    float theta_scale = powf(a.freq_base, -2.0f / (float)a.n_dims), cd[2];
    corr_dims(&a, cd);
    for (int64_t t = 0; t < v.T; t++) {
        cache_init(&a, &v, t, theta_scale, cd, c, c + v.n);
        eng_rotate_f32(&v, t, c, c + v.n);
    }
    free(c);
    free(a.freq_factors);
    return PECS_OK;
}

static const char *ggml_isa(void *ctx)
{
    (void)ctx;
    return "scalar-f32";
}

static const pecs_backend g_ggml = {
    .abi_major = PECS_ABI_MAJOR,
    .struct_size = sizeof(pecs_backend),
    .abi_minor = PECS_ABI_MINOR,
    .name = "engine-ggml",
    .version = "1.0",
    .description = "ggml CPU rope: float32 theta recurrence from the position, rope_yarn, freq_factors, rotate_pairs",
    .supports = ggml_supports,
    .run = ggml_run,
    .isa = ggml_isa,
};

PECS_BACKEND_ENTRY(ggml)
{
    (void)host;
    return host_abi_major == PECS_ABI_MAJOR ? &g_ggml : NULL;
}
