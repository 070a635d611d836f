/* impls/common/schedule.c — frequency schedules and bias helpers shared by the in-tree backends (see schedule.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

static const struct {
    const char *id;
    scalar_schedule_fn fn;
} g_rotate[] = {
#define IMPL_ROW_ROTATE(sym, id) {id, scalar_##sym},
#define IMPL_ROW_BIAS(sym, id)
#define IMPL_ROW_EMBED(sym, id)
#define IMPL_ROW_MASK(sym, id)
#define IMPL_ROW_SCORES(sym, id)
#define IMPL_ROW_POSMAP(sym, id)
#define IMPL_ROW_KATTN(sym, id)
#define PECS_ENCODING(sym, id, form, ...) IMPL_ROW_##form(sym, id)
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
};

scalar_schedule_fn impl_schedule_of(const char *id)
{
    for (size_t i = 0; i < sizeof g_rotate / sizeof g_rotate[0]; i++)
        if (!strcmp(g_rotate[i].id, id))
            return g_rotate[i].fn;
    return NULL;
}

/* The rotate encodings whose schedule is a block schedule (matrix exponentials, not pair angles). */
static const char *const g_block_schedules[] = {"rope.comrope"};

int impl_schedule_has_imag(const char *id) { return !strcmp(id, "rope.plusplus"); }

int impl_schedule_has_gate(const char *id) { return !strcmp(id, "rope.psc"); }

int impl_schedule_has_phase(const char *id) { return !strcmp(id, "rope.selective") || !strcmp(id, "rope.carope"); }

int impl_schedule_has_head_freq(const char *id) { return !strcmp(id, "rope.harpe"); }

int impl_schedule_has_blocks(const char *id)
{
    for (size_t i = 0; i < sizeof g_block_schedules / sizeof g_block_schedules[0]; i++)
        if (!strcmp(g_block_schedules[i], id))
            return 1;
    return 0;
}

void impl_expm(const double *A, int64_t b, double *E, double *work)
{
    int64_t n = b * b;
    double *As = work, *tmp = work + n, norm = 0.0;
    for (int64_t i = 0; i < n; i++) /* the max-abs-entry norm times b bounds every operator norm */
        norm = fmax(norm, fabs(A[i]) * (double)b);
    int sq = 0;
    if (!isfinite(norm)) {
        for (int64_t i = 0; i < n; i++)
            E[i] = NAN;
        return;
    }
    for (; norm > 1.0; sq++)
        norm *= 0.5;
    for (int64_t i = 0; i < n; i++)
        As[i] = ldexp(A[i], -sq);
    /* Horner: E = I + As(I + As/2 (I + As/3 (... (I + As/20)))) */
    for (int64_t i = 0; i < n; i++)
        E[i] = i % (b + 1) == 0 ? 1.0 : 0.0;
    for (int k = 20; k >= 1; k--) {
        for (int64_t r = 0; r < b; r++)
            for (int64_t c = 0; c < b; c++) {
                double acc = 0.0;
                for (int64_t q = 0; q < b; q++)
                    acc += As[r * b + q] * E[q * b + c];
                tmp[r * b + c] = acc / k + (r == c ? 1.0 : 0.0);
            }
        memcpy(E, tmp, (size_t)n * sizeof *E);
    }
    for (; sq > 0; sq--) {
        for (int64_t r = 0; r < b; r++)
            for (int64_t c = 0; c < b; c++) {
                double acc = 0.0;
                for (int64_t q = 0; q < b; q++)
                    acc += E[r * b + q] * E[q * b + c];
                tmp[r * b + c] = acc;
            }
        memcpy(E, tmp, (size_t)n * sizeof *E);
    }
}

int64_t impl_rotary_dim(const pecs_problem *p, int64_t D)
{
    int64_t R = pecs_param_int(p, "rotary_dim", 0);
    R = R ? R : D;
    return R < 2 || R % 2 || R > D ? 0 : R;
}

pecs_status impl_schedule_heads(scalar_sched *s)
{
    if (s->H <= 0)
        return PECS_OK;
    s->head_scale = malloc((size_t)s->H * sizeof *s->head_scale);
    s->head_axis = malloc((size_t)s->H * sizeof *s->head_axis);
    s->head_imag = malloc((size_t)s->H * sizeof *s->head_imag);
    if (!s->head_scale || !s->head_axis || !s->head_imag)
        return PECS_NOMEM; /* impl_schedule frees what was allocated */
    for (int64_t h = 0; h < s->H; h++)
        s->head_scale[h] = 1.0, s->head_axis[h] = -1, s->head_imag[h] = 0;
    return PECS_OK;
}

double impl_angle(const scalar_sched *s, const pecs_tensor *pos, int64_t t, int64_t h, int64_t i)
{
    if (s->phase)
        return s->phase[(t * s->H + h) * (s->R / 2) + i] * s->inv_freq[i];
    int row = s->head_axis && s->head_axis[h] >= 0 ? s->head_axis[h] : s->axis[i];
    double w = s->head_freq ? s->head_freq[h * (s->R / 2) + i] : s->inv_freq[i];
    w = s->head_scale ? w * s->head_scale[h] : w;
    return (pecs_pos_at(pos, row, t) + s->pos_offset) * w;
}

void impl_schedule_free(scalar_sched *s)
{
    free(s->gen);
    free(s->phase);
    free(s->head_scale);
    free(s->head_axis);
    free(s->head_imag);
    free(s->head_freq);
    free(s->inv_freq);
    free(s->axis);
    free(s->zeta);
    memset(s, 0, sizeof *s);
}

pecs_status impl_schedule(const pecs_problem *p, int64_t R, scalar_sched *s)
{
    const pecs_tensor *pos = pecs_problem_tensor(p, "pos"), *x = pecs_problem_tensor(p, "x");
    scalar_schedule_fn fn = impl_schedule_of(p->encoding);
    int64_t n = R / 2, rows = pos && pos->ndim == 2 ? pos->shape[0] : 1;
    memset(s, 0, sizeof *s);
    s->R = R, s->attn = 1.0;
    s->H = x && x->ndim == 3 ? x->shape[1] : 0;
    s->inv_freq = calloc((size_t)n, sizeof *s->inv_freq);
    s->axis = calloc((size_t)n, sizeof *s->axis);
    s->zeta = calloc((size_t)n, sizeof *s->zeta);
    pecs_status st = s->inv_freq && s->axis && s->zeta ? PECS_OK : PECS_NOMEM;
    if (st == PECS_OK && !fn)
        st = PECS_UNSUPPORTED;
    for (int64_t i = 0; st == PECS_OK && i < n; i++)
        s->zeta[i] = 1.0;
    if (st == PECS_OK)
        st = fn(p, s);
    const pecs_param *ff = pecs_problem_param(p, "freq_factors");
    if (st == PECS_OK && ff && ff->n > 0) {
        if (ff->n != n)
            st = PECS_INVALID;
        for (int64_t i = 0; st == PECS_OK && i < n; i++)
            s->inv_freq[i] /= ff->list[i];
        for (int64_t k = 0; st == PECS_OK && s->head_freq && k < s->H * n; k++)
            s->head_freq[k] /= ff->list[k % n];
    }
    for (int64_t i = 0; st == PECS_OK && i < n; i++)
        if (s->axis[i] >= rows)
            st = PECS_INVALID;
    for (int64_t h = 0; st == PECS_OK && s->head_axis && h < s->H; h++)
        if (s->head_axis[h] >= rows)
            st = PECS_INVALID;
    s->attn *= pecs_param_real(p, "attn_factor", 1.0);
    if (st != PECS_OK)
        impl_schedule_free(s);
    return st;
}

int impl_has_token_gain(const scalar_sched *s) { return s->zeta_rate != 0.0 || s->log_gain_len > 1.0; }

double impl_gain(const scalar_sched *s, const pecs_tensor *pos, int64_t t, int64_t i)
{
    double g = s->attn;
    if (s->zeta_rate != 0.0)
        g *= pow(s->zeta[i], (pecs_pos_at(pos, 0, t) - s->zeta_center) * s->zeta_rate);
    if (s->log_gain_len > 1.0) { /* Entropy-ABF: max(1, ln(p+1)/ln(L)), defined as 1 wherever p+1 <= L */
        double p1 = pecs_pos_at(pos, 0, t) + 1.0;
        if (p1 > s->log_gain_len)
            g *= log(p1) / log(s->log_gain_len);
    }
    return g;
}

/* inv_freq[i] = base^(-2i/R), built by repeated multiplication with theta_scale (as ggml does). */
void scalar_default_freqs(double base, int64_t R, double *inv_freq)
{
    double theta_scale = pow(base, -2.0 / (double)R), theta = 1.0;
    for (int64_t i = 0; i < R / 2; i++, theta *= theta_scale)
        inv_freq[i] = theta;
}

SCALAR_HOOK_ROTATE(rope)
{
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_linear)
{
    double freq_scale = 1.0 / pecs_param_real(p, "factor", 1.0);
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    for (int64_t i = 0; i < s->R / 2; i++)
        s->inv_freq[i] *= freq_scale;
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_ntk)
{
    int64_t R = s->R;
    if (R <= 2)
        return PECS_INVALID;
    double base = pecs_param_real(p, "base", 10000.0) * pow(pecs_param_real(p, "factor", 1.0), (double)R / (R - 2.0));
    scalar_default_freqs(base, R, s->inv_freq);
    return PECS_OK;
}

/* ggml_rope_yarn_corr_dim */
static double yarn_corr_dim(int64_t n_dims, int64_t n_ctx_orig, double n_rot, double base)
{
    return (double)n_dims * log((double)n_ctx_orig / (n_rot * 2.0 * 3.14159265358979323846)) / (2.0 * log(base));
}

/* ggml's rope_yarn blend, with HF's extras (truncate, corr_length, mscale_all_dim, attention_factor). */
SCALAR_HOOK_ROTATE(rope_yarn)
{
    int64_t R = s->R;
    double base = pecs_param_real(p, "base", 10000.0), factor = pecs_param_real(p, "factor", 1.0);
    double freq_scale = 1.0 / factor;
    int64_t n_ctx_orig = pecs_param_int(p, "original_max_position", 4096);
    if (pecs_param_is(p, "corr_length", "max")) {
        int64_t mp = pecs_param_int(p, "max_position", 0);
        n_ctx_orig = mp > 0 ? mp : (int64_t)(factor * (double)n_ctx_orig);
    }
    double beta_fast = pecs_param_real(p, "beta_fast", 32.0), beta_slow = pecs_param_real(p, "beta_slow", 1.0);
    if (beta_fast < beta_slow)
        return PECS_INVALID;
    double lo = yarn_corr_dim(R, n_ctx_orig, beta_fast, base), hi = yarn_corr_dim(R, n_ctx_orig, beta_slow, base);
    if (pecs_param_int(p, "truncate", 1)) {
        lo = floor(lo);
        hi = ceil(hi);
    }
    lo = lo > 0.0 ? lo : 0.0;
    hi = hi < (double)(R - 1) ? hi : (double)(R - 1);
    if (lo == hi)
        hi += 0.001; /* HF; ggml instead guards the division with max(0.001, hi - lo) */
    scalar_default_freqs(base, R, s->inv_freq);
    for (int64_t i = 0; i < R / 2; i++) {
        double y = ((double)i - lo) / (hi - lo);
        double ramp_mix = 1.0 - (y < 0.0 ? 0.0 : y > 1.0 ? 1.0 : y); /* 1 = extrapolate */
        double theta_extrap = s->inv_freq[i], theta_interp = freq_scale * theta_extrap;
        s->inv_freq[i] = theta_interp * (1.0 - ramp_mix) + theta_extrap * ramp_mix;
    }
    double m = pecs_param_real(p, "mscale", 1.0), m_all = pecs_param_real(p, "mscale_all_dim", 0.0);
    double af = pecs_param_real(p, "attention_factor", 0.0);
    double ms = factor > 1.0 ? 1.0 + 0.1 * m * log(factor) : 1.0;
    if (m_all > 0.0)
        ms /= factor > 1.0 ? 1.0 + 0.1 * m_all * log(factor) : 1.0;
    s->attn = af > 0.0 ? af : ms;
    return PECS_OK;
}

/* The current length as HF takes it, max(position_ids) + 1. HF also rounds the scaled base to float32;
 * that moves inv_freq by up to ~6e-8 relative and the angle by ~2e-5 rad at position 40000 (factor 8), which the strict profile
 * rejects, so the base stays in double here. */
SCALAR_HOOK_ROTATE(rope_dynamic_ntk)
{
    int64_t R = s->R;
    if (R <= 2)
        return PECS_INVALID;
    double factor = pecs_param_real(p, "factor", 1.0), max_pos = (double)pecs_param_int(p, "max_position", 2048);
    double seq = pecs_problem_seq_len(p);
    if (seq < max_pos)
        seq = max_pos;
    double base = pecs_param_real(p, "base", 10000.0) * pow(factor * seq / max_pos - (factor - 1.0), (double)R / (double)(R - 2));
    scalar_default_freqs(base, R, s->inv_freq);
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_longrope)
{
    int64_t R = s->R, orig = pecs_param_int(p, "original_max_position", 4096);
    const pecs_param *ext = pecs_problem_param(p, pecs_problem_seq_len(p) > (double)orig ? "long_factor" : "short_factor");
    if (ext && ext->n > 0 && ext->n != R / 2)
        return PECS_INVALID;
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), R, s->inv_freq);
    for (int64_t i = 0; ext && i < ext->n; i++)
        s->inv_freq[i] /= ext->list[i];
    double factor = pecs_param_real(p, "factor", 0.0), mp = (double)pecs_param_int(p, "max_position", 0);
    if (factor <= 0.0)
        factor = mp > 0.0 ? mp / (double)orig : 1.0;
    double af = pecs_param_real(p, "attention_factor", 0.0);
    s->attn = af > 0.0 ? af : factor <= 1.0 ? 1.0 : sqrt(1.0 + log(factor) / log((double)orig));
    return PECS_OK;
}

/* As llama.cpp's converter does it: the band rule becomes a per-pair divisor (rope_freqs). */
SCALAR_HOOK_ROTATE(rope_llama3)
{
    double factor = pecs_param_real(p, "factor", 8.0), lo = pecs_param_real(p, "low_freq_factor", 1.0);
    double hi = pecs_param_real(p, "high_freq_factor", 4.0), L = (double)pecs_param_int(p, "original_max_position", 8192);
    if (!(hi > lo))
        return PECS_INVALID;
    scalar_default_freqs(pecs_param_real(p, "base", 500000.0), s->R, s->inv_freq);
    for (int64_t i = 0; i < s->R / 2; i++) {
        double wavelen = 2.0 * 3.14159265358979323846 / s->inv_freq[i], div = 1.0;
        if (wavelen > L / lo) {
            div = factor;
        } else if (wavelen >= L / hi) {
            double smooth = (L / wavelen - lo) / (hi - lo);
            div = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        s->inv_freq[i] /= div;
    }
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_abf)
{
    scalar_default_freqs(pecs_param_real(p, "base", 500000.0), s->R, s->inv_freq);
    return PECS_OK;
}

/* Attention Buckets: the copy `bucket` rotates at bases[bucket] (validated by the reference: a bucket past the
 * list is INVALID before any backend sees the case). */
SCALAR_HOOK_ROTATE(rope_buckets)
{
    const pecs_param *bases = pecs_problem_param(p, "bases");
    int64_t j = pecs_param_int(p, "bucket", 0);
    if (!bases || j < 0 || j >= bases->n)
        return PECS_INVALID;
    scalar_default_freqs(bases->list[j], s->R, s->inv_freq);
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_shift) { return scalar_rope(p, s); }

/* ggml_mrope_cache_init's sector rules (the 4th "e" section absent: its pairs stay on t, as in HF). */
static pecs_status sectioned(const pecs_problem *p, scalar_sched *s, int interleaved)
{
    int64_t n = s->R / 2, sec[3] = {n, 0, 0};
    const pecs_param *q = pecs_problem_param(p, "sections");
    if (q && q->n > 0) {
        if (q->n != 3)
            return PECS_INVALID;
        for (int k = 0; k < 3; k++)
            sec[k] = (int64_t)q->list[k];
        if (sec[0] + sec[1] + sec[2] != n)
            return PECS_INVALID;
    }
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    int64_t total = sec[0] + sec[1] + sec[2];
    for (int64_t i = 0; i < n; i++) {
        int64_t sector = i % total;
        if (interleaved)
            s->axis[i] = (sector % 3 == 1 && sector < 3 * sec[1]) ? 1 : (sector % 3 == 2 && sector < 3 * sec[2]) ? 2 : 0;
        else
            s->axis[i] = sector < sec[0] ? 0 : sector < sec[0] + sec[1] ? 1 : 2;
    }
    return PECS_OK;
}

SCALAR_HOOK_ROTATE(rope_mrope) { return sectioned(p, s, 0); }

SCALAR_HOOK_ROTATE(rope_imrope) { return sectioned(p, s, 1); }

/* ggml VISION: theta restarts at each of the two sections [h, w]. */
SCALAR_HOOK_ROTATE(rope_vision2d)
{
    int64_t q = s->R / 4;
    if (s->R % 4)
        return PECS_INVALID;
    double theta_scale = pow(pecs_param_real(p, "base", 10000.0), -2.0 / (double)(s->R / 2)), theta = 1.0;
    for (int64_t k = 0; k < q; k++, theta *= theta_scale) {
        s->inv_freq[k] = s->inv_freq[q + k] = theta;
        s->axis[k] = 0;
        s->axis[q + k] = 1;
    }
    return PECS_OK;
}

/* torchscale XPOS: scale = (arange(0, R, 2) + 0.4 R) / (1.4 R), powered by the centred position / 512. */
SCALAR_HOOK_ROTATE(xpos)
{
    int64_t R = s->R, N = pecs_param_int(p, "seq_len", 0);
    double gamma = pecs_param_real(p, "gamma", 0.4);
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), R, s->inv_freq);
    for (int64_t i = 0; i < R / 2; i++)
        s->zeta[i] = ((double)(2 * i) + gamma * (double)R) / ((1.0 + gamma) * (double)R);
    s->zeta_center = (double)(N / 2 + N % 2);
    s->zeta_rate = (pecs_param_is(p, "role", "key") ? -1.0 : 1.0) / pecs_param_real(p, "scale_base", 512.0);
    return PECS_OK;
}

/* ---- tier 2 ----------------------------------------------------------------------------------------- */

/* gemma apply_rope(rope_proportion): int(p * head_dim // 2) pairs rotate at the full-width spacing, the rest
 * see timescale +inf (frequency 0). */
SCALAR_HOOK_ROTATE(rope_p)
{
    int64_t keep = (int64_t)(pecs_param_real(p, "p", 0.25) * (double)s->R) / 2;
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    for (int64_t i = keep; i < s->R / 2; i++)
        s->inv_freq[i] = 0.0;
    return PECS_OK;
}

/* abacusai/Long-Context ScaledLlamaRotaryEmbedding: linear or power scale, then truncate_frequency(f, t, t/16, 8). */
SCALAR_HOOK_ROTATE(rope_giraffe)
{
    int64_t n = s->R / 2, L = pecs_param_int(p, "truncate_len", 0);
    double scale = pecs_param_real(p, "factor", 1.0), power = pecs_param_real(p, "scale_power", 0.0);
    double cutoff = L > 0 ? 2.0 * 3.14159265358979323846 / (double)L : 0.0;
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    for (int64_t i = 0; i < n; i++) {
        double f = scale > 1.0 ? s->inv_freq[i] / scale : s->inv_freq[i];
        if (power > 0.0)
            f *= pow(1.0 - (double)i / (double)n, power);
        if (L > 0 && f < cutoff)
            f = f < cutoff / 8.0 ? 0.0 : cutoff / 16.0;
        s->inv_freq[i] = f;
    }
    return PECS_OK;
}

/* qhfan/RMT RetNetRelPos2d: 1/10000^linspace(0, 1, n), by repeated multiplication with base^(-1/(n-1)). */
SCALAR_HOOK_ROTATE(rope_rmt)
{
    int64_t n = s->R / 2;
    double step = n > 1 ? pow(pecs_param_real(p, "base", 10000.0), -1.0 / (double)(n - 1)) : 1.0, theta = 1.0;
    for (int64_t i = 0; i < n; i++, theta *= step)
        s->inv_freq[i] = theta;
    return PECS_OK;
}

/* johncaged/VRoPE: channel i takes the (i % 2^n)-th symmetric variant (n = 2 spatial axes). */
SCALAR_HOOK_ROTATE(rope_vrope)
{
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    for (int64_t i = 0; i < s->R / 2; i++)
        s->axis[i] = (int)(i & 3);
    return PECS_OK;
}

/* hrlics/HoPE apply_hybrid_multimodal_rotary_pos_emb: [h+w spatial slots alternating rows 1/2 | t NoPE slots]. */
SCALAR_HOOK_ROTATE(rope_hope_vlm)
{
    int64_t n = s->R / 2, spatial = n;
    const pecs_param *q = pecs_problem_param(p, "sections");
    if (q && q->n > 0) {
        if (q->n != 3 || q->list[0] + q->list[1] + q->list[2] != (double)n)
            return PECS_INVALID;
        spatial = (int64_t)(q->list[1] + q->list[2]);
    }
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    for (int64_t j = 0; j < n; j++) {
        s->axis[j] = j < spatial ? 1 + (int)(j & 1) : 0;
        if (j >= spatial)
            s->inv_freq[j] = 0.0;
    }
    return PECS_OK;
}

/* GAIR-NLP/Entropy-ABF apply_rotary_pos_emb_scale: q * max(1, log(pos+1)/log(L)), k plain; base 500000. */
SCALAR_HOOK_ROTATE(rope_entropy_abf)
{
    scalar_default_freqs(pecs_param_real(p, "base", 500000.0), s->R, s->inv_freq);
    s->log_gain_len = pecs_param_is(p, "role", "key") ? 0.0 : pecs_param_real(p, "train_length", 4096.0);
    return PECS_OK;
}

/* HKUNLP/STRING: query_states_2 at position_ids - diag_size + local_window; cos/sin cached x (0.1 ln 2 + 1). */
SCALAR_HOOK_ROTATE(rope_string)
{
    double af = pecs_param_real(p, "attention_factor", 0.0);
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    s->attn = af > 0.0 ? af : 1.0 + 0.1 * 0.69314718055994530942;
    if (pecs_param_is(p, "role", "shifted"))
        s->pos_offset = (double)(pecs_param_int(p, "local_value", 128) - pecs_param_int(p, "shifted_offset", 43253));
    return PECS_OK;
}

/* VITA-Group/Ms-PoE: compress_ratio[k] = min + (max-min) * k/num_heads; queries cos[head_order], keys
 * cos[head_order][::groups]; positions divided by the ratio. */
SCALAR_HOOK_ROTATE(rope_mspoe)
{
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    if (s->H <= 0)
        return PECS_OK;
    int64_t groups = pecs_param_int(p, "kv_groups", 1), key = pecs_param_is(p, "role", "key");
    int64_t num_heads = key ? s->H * groups : s->H;
    const pecs_param *ord = pecs_problem_param(p, "head_order");
    if (ord && ord->n > 0 && ord->n != num_heads)
        return PECS_INVALID;
    double lo = pecs_param_real(p, "min_ratio", 1.2), hi = pecs_param_real(p, "max_ratio", 1.8);
    pecs_status st = impl_schedule_heads(s);
    for (int64_t h = 0; st == PECS_OK && h < s->H; h++) {
        int64_t src = key ? h * groups : h, k = ord && ord->n > 0 ? (int64_t)ord->list[src] : src;
        s->head_scale[h] = 1.0 / (lo + (hi - lo) * ((double)k / (double)num_heads));
    }
    return st;
}

/* HARPE (arXiv 2412.07171 sec. 3.2): head h is RoPE at base b_h. Eq. 9's uniform set b_min + h (b_max - b_min)/(H-1)
 * (descending: head h takes the set's entry H-1-h), Table 2's 32 searched bases, or a given list; each head's inv_freq
 * by repeated multiplication as ggml does. Without heads: head 0's base (the smallest call: 2 heads, 32, the list). */
static const double g_harpe_table2[32] = {1.00e6, 1.15e6, 1.30e6, 1.45e6, 2.17e6, 2.20e6, 2.23e6, 2.47e6,
                                          2.50e6, 2.65e6, 2.68e6, 2.71e6, 2.74e6, 2.80e6, 2.83e6, 2.92e6,
                                          3.01e6, 3.04e6, 3.10e6, 3.13e6, 3.16e6, 3.22e6, 3.43e6, 3.46e6,
                                          3.61e6, 3.88e6, 4.09e6, 4.15e6, 4.39e6, 4.45e6, 4.51e6, 4.54e6};

static double harpe_base(const pecs_problem *p, int64_t H, int64_t h)
{
    const pecs_param *l = pecs_problem_param(p, "bases");
    int64_t nl = l ? l->n : 0, desc = pecs_param_is(p, "order", "descending");
    double lo = pecs_param_real(p, "min_base", 1e6), hi = pecs_param_real(p, "max_base", 5e6);
    if (pecs_param_is(p, "base_set", "list"))
        return nl == H && H > 0 && !desc ? l->list[h] : 0.0;
    if (nl > 0 || (desc && !pecs_param_is(p, "base_set", "uniform")))
        return 0.0;
    if (pecs_param_is(p, "base_set", "table2"))
        return H == 32 ? g_harpe_table2[h] : 0.0;
    if (H < 2 || lo > hi)
        return 0.0;
    return lo + (double)(desc ? H - 1 - h : h) * (hi - lo) / (double)(H - 1);
}

SCALAR_HOOK_ROTATE(rope_harpe)
{
    const pecs_param *l = pecs_problem_param(p, "bases");
    int64_t n = s->R / 2, H = s->H;
    int64_t H0 = H > 0                                   ? H
                 : pecs_param_is(p, "base_set", "table2") ? 32
                 : pecs_param_is(p, "base_set", "list")   ? (l ? l->n : 0)
                                                          : 2;
    double b0 = harpe_base(p, H0, 0);
    if (b0 <= 1.0)
        return PECS_INVALID;
    scalar_default_freqs(b0, s->R, s->inv_freq);
    if (H <= 0)
        return PECS_OK;
    pecs_status st = impl_schedule_heads(s);
    if (st == PECS_OK && !(s->head_freq = malloc((size_t)(H * (n > 0 ? n : 1)) * sizeof *s->head_freq)))
        st = PECS_NOMEM;
    for (int64_t h = 0; st == PECS_OK && h < H; h++) {
        double b = harpe_base(p, H, h);
        if (b <= 1.0)
            st = PECS_INVALID;
        else
            scalar_default_freqs(b, s->R, s->head_freq + h * n);
    }
    return st;
}

/* Longin-Yu/ComRoPE model.py: per (head, block) S = freqs - freqs^T; AP keeps it for axis j % 2 only, LD scales
 * it by multiplier[axis][block]. w [H+2, D*b]: row h the freqs of head h (block j at j*b*b, row-major), rows
 * H, H+1 the LD multipliers. The kernel (rotate.c) multiplies the per-axis exponentials, which commute. */
SCALAR_HOOK_ROTATE(rope_comrope)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    int64_t b = pecs_param_int(p, "block", 2), D = s->R, H = s->H, axes = 2;
    int ld = pecs_param_is(p, "variant", "ld");
    if (b < 1 || D % (ld ? b : axes * b))
        return PECS_INVALID;
    s->block = b, s->gen_rows = axes;
    if (H <= 0)
        return PECS_OK;
    int64_t m = D / b, nb = b * b;
    if (!w || w->ndim != 2 || w->shape[0] != H + axes || w->shape[1] != D * b)
        return PECS_INVALID;
    if (!(s->gen = malloc((size_t)(H * axes * m * nb) * sizeof *s->gen)))
        return PECS_NOMEM;
    for (int64_t h = 0; h < H; h++)
        for (int64_t a = 0; a < axes; a++)
            for (int64_t j = 0; j < m; j++) {
                double k = ld ? pecs_load_f64(w->data, w->dtype, (H + a) * w->stride[0] + j * w->stride[1])
                              : (double)(j % axes == a);
                for (int64_t e = 0; e < nb; e++) {
                    int64_t r = e / b, c = e % b;
                    double pr = pecs_load_f64(w->data, w->dtype, h * w->stride[0] + (j * nb + e) * w->stride[1]);
                    double pt = pecs_load_f64(w->data, w->dtype, h * w->stride[0] + (j * nb + c * b + r) * w->stride[1]);
                    s->gen[((h * axes + a) * m + j) * nb + e] = (pr - pt) * k;
                }
            }
    return PECS_OK;
}

/* WNQzhu/PSC lora_llama.py Phase.forward before apply_rotary_pos_emb's rotation: RoPE frequencies; the gate's maps
 * are w [4*H*D, D] (q up, q down, k up, k down; D x D per head), the kernel (rotate.c) applies them. */
SCALAR_HOOK_ROTATE(rope_psc)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w"), *x = pecs_problem_tensor(p, "x");
    int64_t R = s->R, H = s->H;
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), R, s->inv_freq);
    if (H <= 0)
        return PECS_OK;
    if (!x || x->shape[2] != R || !w || w->ndim != 2 || w->shape[0] != 4 * H * R || w->shape[1] != R)
        return PECS_INVALID;
    s->gate = w;
    s->gate_row0 = pecs_param_is(p, "role", "key") ? 2 * H * R : 0;
    return PECS_OK;
}

/* timurcarstensen/selective-rope rotary.py SelectiveRoPE.forward: temp_i = temp_max * theta^(-2i/head_dim) (type rope),
 * angle = temp_i * (offset + running sum over the call's tokens of phi); w [T+1, H*R/2]: row 0 the earlier tokens' sum
 * (the code's phi_tilde_offset), row 1+t token t's phi. The tokens must be consecutive (pos[t] = pos[0] + t). */
SCALAR_HOOK_ROTATE(rope_selective)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w"), *x = pecs_problem_tensor(p, "x"),
                      *pos = pecs_problem_tensor(p, "pos");
    int64_t R = s->R, H = s->H, n = R / 2;
    double tmax = pecs_param_real(p, "temp_max", 1.0);
    scalar_default_freqs(pecs_param_real(p, "base", 500000.0), R, s->inv_freq);
    for (int64_t i = 0; i < n; i++)
        s->inv_freq[i] *= tmax;
    if (H <= 0)
        return PECS_OK;
    int64_t T = x ? x->shape[0] : 0;
    if (!x || x->shape[2] != R || !w || w->ndim != 2 || w->shape[0] != T + 1 || w->shape[1] != H * n || !pos)
        return PECS_INVALID;
    for (int64_t t = 1; t < T; t++)
        if (pecs_pos_at(pos, 0, t) - pecs_pos_at(pos, 0, t - 1) != 1.0)
            return PECS_INVALID;
    s->phase = malloc((size_t)(T * H * n > 0 ? T * H * n : 1) * sizeof *s->phase);
    if (!s->phase)
        return PECS_NOMEM;
    for (int64_t c = 0; c < H * n; c++) { /* c = h*n + i: one running sum down the tokens */
        double acc = pecs_load_f64(w->data, w->dtype, c * w->stride[1]);
        for (int64_t t = 0; t < T; t++) {
            acc += pecs_load_f64(w->data, w->dtype, (1 + t) * w->stride[0] + c * w->stride[1]);
            s->phase[t * H * n + c] = acc;
        }
    }
    return PECS_OK;
}

/* CARoPE (arXiv 2507.23083 sec. 2): angle(t, h, i) = o[i][h] + sum over the call's tokens s <= t at positions >= 1 of
 * f_s^i, f = 1/(softplus(z) + 1); w [T + R/2, H]: rows 0..T-1 the head logits z, rows T.. the carried sums o. The powers
 * by repeated multiplication, one running sum per (head, pair). Consecutive positions from pos[0] >= 0 only. */
SCALAR_HOOK_ROTATE(rope_carope)
{
    const pecs_tensor *w = pecs_problem_tensor(p, "w"), *x = pecs_problem_tensor(p, "x"),
                      *pos = pecs_problem_tensor(p, "pos");
    int64_t R = s->R, H = s->H, n = R / 2;
    for (int64_t i = 0; i < n; i++)
        s->inv_freq[i] = 1.0;
    if (H <= 0)
        return PECS_OK;
    int64_t T = x ? x->shape[0] : 0;
    if (!x || x->shape[2] != R || !w || w->ndim != 2 || w->shape[0] != T + n || w->shape[1] != H || !pos)
        return PECS_INVALID;
    double p0 = T > 0 ? pecs_pos_at(pos, 0, 0) : 0.0;
    if (p0 < 0.0)
        return PECS_INVALID;
    for (int64_t t = 1; t < T; t++)
        if (pecs_pos_at(pos, 0, t) - pecs_pos_at(pos, 0, t - 1) != 1.0)
            return PECS_INVALID;
    s->phase = malloc((size_t)(T * H * n > 0 ? T * H * n : 1) * sizeof *s->phase);
    if (!s->phase)
        return PECS_NOMEM;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < n; i++)
            s->phase[h * n + i] = pecs_load_f64(w->data, w->dtype, (T + i) * w->stride[0] + h * w->stride[1]);
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            double *ph = s->phase + (t * H + h) * n, z = pecs_load_f64(w->data, w->dtype, t * w->stride[0] + h * w->stride[1]);
            double sp = z > 0.0 ? z + log1p(exp(-z)) : log1p(exp(z)), f = 1.0 / (sp + 1.0), fi = 1.0;
            int used = p0 + (double)t >= 1.0;
            for (int64_t i = 0; i < n; i++, fi *= f)
                ph[i] = (t > 0 ? ph[i - H * n] : ph[i]) + (used ? fi : 0.0);
        }
    return PECS_OK;
}

/* DAMO-NLP-SG/CLEX clex_layer.py: x(1) = log inv_freq, dx/dt = act((x + log ntk(t)) @ up) @ down + ntk'(t)/ntk(t),
 * ntk(t) the NTK frequencies at base 10000 and scale 2t - 1; torchdiffeq's fixed-grid rk4 (the 3/8 rule) from 1 to t
 * with step time_dt, the last grid point set to t; inv_freq = exp(x(t)). w [R, F*R]: up rows, then down transposed.
 * Written from the closed forms log ntk_i = -(2i/R) ln(10000 (2t-1)^(R/(R-2))), ntk_i'/ntk_i = -2(2i)/((R-2)(2t-1)). */
typedef struct clex_ode {
    int64_t n, m;
    const pecs_tensor *w;
    int silu;
    double *y, *h;
} clex_ode;

static void clex_rate(const clex_ode *c, double t, const double *x, double *dx)
{
    double a = t < 1.0 ? 1.0 : 2.0 * t - 1.0, R = (double)(2 * c->n);
    double lnb = log(10000.0) + R / (R - 2.0) * log(a);
    for (int64_t i = 0; i < c->n; i++)
        c->y[i] = x[i] - (double)(2 * i) / R * lnb;
    for (int64_t k = 0; k < c->m; k++) {
        double z = 0.0;
        for (int64_t i = 0; i < c->n; i++)
            z += c->y[i] * pecs_load_f64(c->w->data, c->w->dtype, i * c->w->stride[0] + k * c->w->stride[1]);
        c->h[k] = c->silu ? z / (1.0 + exp(-z)) : tanh(z);
    }
    for (int64_t j = 0; j < c->n; j++) {
        double z = -2.0 * (double)(2 * j) / ((R - 2.0) * a);
        for (int64_t k = 0; k < c->m; k++)
            z += c->h[k] * pecs_load_f64(c->w->data, c->w->dtype, (c->n + j) * c->w->stride[0] + k * c->w->stride[1]);
        dx[j] = z;
    }
}

SCALAR_HOOK_ROTATE(rope_clex)
{
    int64_t R = s->R, n = R / 2, T = pecs_param_int(p, "t", 1), F = pecs_param_int(p, "param_factor", 1);
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    double h = pecs_param_real(p, "time_dt", 0.01);
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), R, s->inv_freq);
    if (R <= 2 || !w || w->ndim != 2 || w->shape[0] != R || w->shape[1] != F * R)
        return PECS_INVALID;
    if (T == 1)
        return PECS_OK;
    clex_ode c = {.n = n, .m = F * R, .w = w, .silu = pecs_param_is(p, "act", "silu")};
    double *x = malloc((size_t)(7 * n + c.m) * sizeof *x);
    if (!x)
        return PECS_NOMEM;
    double *k1 = x + n, *k2 = k1 + n, *k3 = k2 + n, *k4 = k3 + n, *u = k4 + n;
    c.y = u + n, c.h = c.y + n;
    for (int64_t i = 0; i < n; i++)
        x[i] = log(s->inv_freq[i]);
    int64_t pts = (int64_t)ceil(((double)T - 1.0) / h + 1.0);
    for (int64_t g = 1; g < pts; g++) {
        double t0 = (double)(g - 1) * h + 1.0, t1 = g == pts - 1 ? (double)T : (double)g * h + 1.0, d = t1 - t0;
        clex_rate(&c, t0, x, k1);
        for (int64_t i = 0; i < n; i++)
            u[i] = x[i] + d * k1[i] / 3.0;
        clex_rate(&c, t0 + d / 3.0, u, k2);
        for (int64_t i = 0; i < n; i++)
            u[i] = x[i] + d * (k2[i] - k1[i] / 3.0);
        clex_rate(&c, t0 + d * 2.0 / 3.0, u, k3);
        for (int64_t i = 0; i < n; i++)
            u[i] = x[i] + d * (k1[i] - k2[i] + k3[i]);
        clex_rate(&c, t1, u, k4);
        for (int64_t i = 0; i < n; i++)
            x[i] += d / 8.0 * (k1[i] + 3.0 * k2[i] + 3.0 * k3[i] + k4[i]);
    }
    pecs_status st = PECS_OK;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(s->inv_freq[i] = exp(x[i])))
            st = PECS_INVALID;
    free(x);
    return st;
}

/* JJJYmmm/Multimodal-RoPEs MHRoPE: freqs[m] repeated mrope_section[m] times over the KV heads, zero-padded;
 * queries repeat_interleave the KV heads. */
SCALAR_HOOK_ROTATE(rope_mhrope)
{
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    if (s->H <= 0)
        return PECS_OK;
    int64_t groups = pecs_param_int(p, "kv_groups", 1), key = pecs_param_is(p, "role", "key");
    int64_t kv_heads = key ? s->H : s->H / groups, bound[3] = {kv_heads, kv_heads, kv_heads};
    const pecs_param *q = pecs_problem_param(p, "head_sections");
    if (!key && s->H % groups)
        return PECS_INVALID;
    if (q && q->n > 0) {
        if (q->n != 3)
            return PECS_INVALID;
        bound[0] = (int64_t)q->list[0], bound[1] = bound[0] + (int64_t)q->list[1], bound[2] = bound[1] + (int64_t)q->list[2];
        if (bound[2] > kv_heads)
            return PECS_INVALID;
    }
    pecs_status st = impl_schedule_heads(s);
    for (int64_t h = 0; st == PECS_OK && h < s->H; h++) {
        int64_t kv = key ? h : h / groups;
        s->head_axis[h] = kv < bound[0] ? 0 : kv < bound[1] ? 1 : 2;
        if (kv >= bound[2])
            s->head_scale[h] = 0.0;
    }
    return st;
}

/* alphaXiv/rope_pp (OpenMOSS) modeling_llama_rope_pp.py: keys k cos + rotate_half(k) sin; imaginary query heads
 * q sin - rotate_half(q) cos (imago all, imagh the upper half, imagx the odd heads); inv_freq / factor, or the
 * yarn blend with gamma from the rotations in 4096 tokens and cos/sin x (0.1 ln factor + 1). */
SCALAR_HOOK_ROTATE(rope_plusplus)
{
    scalar_default_freqs(pecs_param_real(p, "base", 10000.0), s->R, s->inv_freq);
    double f = pecs_param_real(p, "factor", 1.0);
    int yarn = pecs_param_int(p, "yarn", 0) != 0;
    for (int64_t i = 0; i < s->R / 2; i++) {
        double w = s->inv_freq[i], g = 0.0;
        if (yarn) /* rotations of pair i over the 4096-token training length, ramp from 1 to 32 */
            g = fmin(fmax((4096.0 * w / (2.0 * 3.14159265358979323846) - 1.0) / 31.0, 0.0), 1.0);
        s->inv_freq[i] = g * w + (1.0 - g) * w / f;
    }
    if (yarn)
        s->attn = 1.0 + 0.1 * log(f);
    if (s->H <= 0 || pecs_param_is(p, "role", "key") || pecs_param_is(p, "imag", "none"))
        return PECS_OK;
    pecs_status st = impl_schedule_heads(s);
    int all = pecs_param_is(p, "imag", "all"), upper = pecs_param_is(p, "imag", "upper");
    for (int64_t h = 0; st == PECS_OK && h < s->H; h++)
        s->head_imag[h] = all ? 1 : upper ? h >= s->H / 2 : (int)(h & 1);
    return st;
}

/* ---- bias helpers ---------------------------------------------------------------------------------- */

/* ggml soft_max_ext slopes, in double: m0^(h+1) below n_head_log2, m1^(2(h-n_head_log2)+1) above. */
double impl_alibi_slope(int64_t n_head, int64_t h, double max_bias)
{
    int64_t n_head_log2 = (int64_t)1 << (int64_t)floor(log2((double)n_head));
    double m0 = exp2(-max_bias / (double)n_head_log2), m1 = exp2(-max_bias / 2.0 / (double)n_head_log2);
    return h < n_head_log2 ? pow(m0, (double)(h + 1)) : pow(m1, (double)(2 * (h - n_head_log2) + 1));
}

/* HF's bucket function, here evaluated in double (the reference follows HF's float32 sequence). */
int64_t impl_t5_bucket(int64_t rel, int bidir, int64_t nb, int64_t maxd)
{
    int64_t bucket = 0, r;
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
    int64_t large = exact + (int64_t)(log((double)r / (double)exact) / log((double)maxd / (double)exact) * (double)(nb - exact));
    return bucket + (large < nb - 1 ? large : nb - 1);
}


int impl_t5_params_ok(const pecs_problem *p, const pecs_tensor *w, int64_t H)
{
    int64_t nb = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    int64_t per_side = pecs_param_int(p, "bidirectional", 1) ? nb / 2 : nb;
    return w && w->shape[0] == nb && w->shape[1] == H && per_side >= 2 && maxd > per_side / 2;
}

/* ---- tier-2 bias rules (moved here from impls/scalar/bias.c so the SIMD kernels read the same code) ---- */

double impl_alibi_pi_scale(const pecs_problem *p, int64_t n_keys)
{
    double factor = pecs_param_real(p, "factor", 0.0);
    int64_t train = pecs_param_int(p, "train_seq_len", 0), L = pecs_param_int(p, "key_len", 0);
    if ((factor != 0.0 && factor <= 1.0) || train == 1)
        return 0.0;
    if (L == 0)
        L = n_keys;
    if (factor > 0.0)
        return factor;
    return train > 0 && L > train ? (double)L / (double)train : 1.0;
}

void impl_grid_rc(double pos, double W, double *y, double *x)
{
    *y = floor(pos / W);
    *x = pos - W * *y;
}

double impl_masa_decay(const pecs_problem *p, int64_t H, int64_t h)
{
    double a = pecs_param_real(p, "initial_value", 2.0), b = pecs_param_real(p, "heads_range", 4.0);
    return log1p(-exp2(-(a + b * (double)h / (double)H)));
}

/* One value of a REAL_LIST parameter given once or per head. */
static double per_head(const pecs_param *l, int64_t h, double dflt)
{
    return !l || l->n == 0 ? dflt : l->list[l->n == 1 ? 0 : h];
}

static int list_ok(const pecs_param *l, int64_t H) { return !l || l->n == 0 || l->n == 1 || l->n == H; }

int impl_bam_params_ok(const pecs_problem *p, int64_t H)
{
    return list_ok(pecs_problem_param(p, "theta_alpha"), H) && list_ok(pecs_problem_param(p, "theta_beta"), H) &&
           list_ok(pecs_problem_param(p, "theta_mu"), H);
}

void impl_bam_head(const pecs_problem *p, int64_t H, int64_t h, float *scale, float *beta, float *off)
{
    double t = per_head(pecs_problem_param(p, "theta_mu"), h, 0.0);
    *scale = (float)exp(per_head(pecs_problem_param(p, "theta_alpha"), h, impl_alibi_slope(H, h, 8.0)));
    *beta = (float)per_head(pecs_problem_param(p, "theta_beta"), h, 1.0);
    *off = (float)(exp(t) - exp(-t));
}

int impl_irpe_init(const pecs_problem *p, const pecs_tensor *w, int64_t H, impl_irpe *c)
{
    double alpha = pecs_param_real(p, "alpha", 1.9), beta = pecs_param_real(p, "beta", 3.8);
    double gamma = pecs_param_real(p, "gamma", 15.2);
    memset(c, 0, sizeof *c);
    c->W = (double)pecs_param_int(p, "width", 14);
    c->B = (int64_t)beta;
    c->nb = pecs_param_int(p, "num_buckets", 49);
    c->method = pecs_param_is(p, "method", "product") ? 0 : pecs_param_is(p, "method", "euclidean") ? 1 : 2;
    if (!w || !(gamma > alpha) || alpha > beta || c->nb != (c->method == 0 ? (2 * c->B + 1) * (2 * c->B + 1) : 2 * c->B + 1) ||
        w->shape[0] != H || w->shape[1] != c->nb)
        return 0;
    /* Division by ln(gamma/alpha) as a float32 divide, like the model: a reciprocal would move boundaries. */
    c->alpha = (float)alpha, c->beta = (float)beta, c->log_ratio = (float)log(gamma / alpha);
    c->span = (float)(beta - alpha);
    return 1;
}

/* iRPE's piecewise index in float32, as the authors' torch code computes it (round half to even). */
static int64_t irpe_index(const impl_irpe *c, double x)
{
    float ax = (float)fabs(x);
    if (ax <= c->alpha)
        return (int64_t)x;
    float v = fminf(rintf(c->alpha + logf(ax / c->alpha) / c->log_ratio * c->span), c->beta);
    return (int64_t)(x < 0 ? -v : v);
}

int64_t impl_irpe_bucket(const impl_irpe *c, double qpos, double kpos)
{
    double yq, xq, yk, xk;
    impl_grid_rc(qpos, c->W, &yq, &xq);
    impl_grid_rc(kpos, c->W, &yk, &xk);
    double dy = yq - yk, dx = xq - xk, q = dy * dy + dx * dx;
    int64_t B = c->B;
    if (c->method == 0)
        return (irpe_index(c, dy) + B) * (2 * B + 1) + irpe_index(c, dx) + B;
    return irpe_index(c, c->method == 1 ? (double)rintf(sqrtf((float)q)) : q) + B;
}

double impl_sinusoidal_freq(double log_base, int64_t k, int64_t D, int concat)
{
    return concat ? exp(-(double)k * (log_base / (double)(D / 2 - 1))) : exp(-(double)(2 * k) * log_base / (double)D);
}

void impl_concat_init(const pecs_problem *p, impl_concat *c)
{
    int ldpe = !strcmp(p->encoding, "ldpe"), pia = !strcmp(p->encoding, "pia");
    int64_t pad = pecs_param_int(p, "padding_idx", pia ? 1 : -1);
    memset(c, 0, sizeof *c);
    c->sign = ldpe ? -1.0 : 1.0;
    c->log_base = log(ldpe || pia ? 10000.0 : pecs_param_real(p, "base", 10000.0));
    c->integral = ldpe;
    if (ldpe) {
        int64_t len = pecs_param_int(p, "length", 64);
        c->off = (double)len + 1.0;
        c->zero_pos = (double)len;
        c->has_zero = 1;
    } else if (pad >= 0) {
        c->off = (double)(pad + 1);
        c->zero_pos = -1.0;
        c->has_zero = 1;
    }
}

int impl_concat_row(const impl_concat *c, double pos, double *r)
{
    *r = c->off + c->sign * pos;
    if (c->integral && (pos != floor(pos) || *r < 0.0))
        return -1;
    return c->has_zero && pos == c->zero_pos ? 0 : 1;
}
