/* impls/torch/rotate.cpp — RoPE with HF transformers' frequency schedules, as torch computes them.
 *
 * Sources checked (search tool, public copies of huggingface/transformers):
 *   modeling_rope_utils.py: _compute_default_rope_parameters, _compute_linear_scaling_rope_parameters,
 *     _compute_dynamic_ntk_parameters (and the dynamic_rope_update decorator, which passes
 *     seq_len = max(position_ids) + 1 as an int64 tensor), _compute_yarn_parameters (get_mscale with
 *     mscale/mscale_all_dim, find_correction_range with `truncate`, linear_ramp_factor),
 *     _compute_longrope_parameters, _compute_llama3_parameters, and an older release's static
 *     _compute_ntk_parameters (base * factor ** (dim / (dim - 2)));
 *   modeling_llama.py: LlamaRotaryEmbedding.forward (inv_freq[None, :, None].float() @
 *     position_ids[:, None, :].float(), cat(freqs, freqs), cos() * attention_scaling, cast to x.dtype),
 *     rotate_half and apply_rotary_pos_emb (q * cos + rotate_half(q) * sin in x.dtype);
 *   Meta's Llama model.py (precompute_freqs_cis / apply_rotary_emb): view_as_complex on (2i, 2i+1)
 *     pairs in float32, complex multiply, view_as_real, type_as(x) — the interleaved pairing here;
 *   partial rotary as in HF Phi/StableLM/GPT-NeoX: rotate x[..., :R], pass x[..., R:] through, cat.
 * The schedule arithmetic is float32 tensor arithmetic with Python-number operands, as HF's: each
 * `scalar / tensor` of the Python code is written `tensor.reciprocal() * scalar` because that is what
 * torch's Tensor.__rtruediv__ does (two roundings, not one division). The parameters mean what pecs's
 * registry says (include/pecs/encodings.def): e.g. YaRN's `mscale` is used even without mscale_all_dim,
 * and corr_length chooses the length in the correction range.
 * What this reproduces of HF, on purpose: angles pos * inv_freq formed in float32, so the error grows with
 * the position (about pos * 2^-24 rad): level f32angle, not exact, at large positions (docs/levels.md).
 */
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "torch_backend.h"

namespace pecs_torch {

namespace {

/* The encodings this file computes (the rest of the rotate form is declined). */
const char *const k_rope_encodings[] = {"rope", "rope.abf", "rope.shift", "rope.linear", "rope.ntk",
                                        "rope.dynamic_ntk", "rope.yarn", "rope.longrope", "rope.llama3"};

bool is(const pecs_problem *p, const char *id) { return std::strcmp(p->encoding, id) == 0; }

int64_t rotary_dim(const pecs_problem *p, int64_t D)
{
    int64_t R = pecs_param_int(p, "rotary_dim", 0);
    return R == 0 ? D : R;
}

std::vector<float> float_list(const pecs_param *q)
{
    /* torch.tensor(list, dtype=torch.float32): each Python float rounded to float32 */
    std::vector<float> v;
    for (int64_t i = 0; q && i < q->n; i++)
        v.push_back((float)q->list[i]);
    return v;
}

torch::Tensor list_tensor(const std::vector<float> &v)
{
    return torch::tensor(torch::ArrayRef<float>(v), torch::kFloat32);
}

/* torch.arange(0, dim, 2, dtype=torch.int64).float() / dim */
torch::Tensor exponents(int64_t R) { return torch::arange(0, R, 2, torch::kInt64).to(torch::kFloat32) / R; }

/* 1.0 / (base ** exponents): HF's default inv_freq (base a Python float, pow in float32) */
torch::Tensor default_inv_freq(double base, int64_t R) { return torch::pow(base, exponents(R)).reciprocal(); }

double get_mscale(double scale, double m) { return scale <= 1.0 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; }

struct schedule {
    torch::Tensor inv_freq; /* float32 [R/2] */
    double attention_scaling = 1.0;
};

/* HF _compute_dynamic_ntk_parameters as the decorator calls it: seq_len an int64 0-dim tensor, so the
 * scaled base is float32 tensor arithmetic when the length exceeds max_position; at or below it HF keeps
 * its original inv_freq (Python-number base). */
torch::Tensor dynamic_ntk_inv_freq(const pecs_problem *p, int64_t R)
{
    double base = pecs_param_real(p, "base", 10000.0), factor = pecs_param_real(p, "factor", 1.0);
    int64_t max_pos = pecs_param_int(p, "max_position", 2048);
    auto seq_len = (int64_t)pecs_problem_seq_len(p);
    if (seq_len <= max_pos)
        return default_inv_freq(base * std::pow(factor * (double)max_pos / (double)max_pos - (factor - 1.0),
                                                (double)R / (double)(R - 2)),
                                R);
    torch::Tensor L = torch::scalar_tensor(seq_len, torch::kInt64);
    torch::Tensor scaled = torch::pow(L * factor / max_pos - (factor - 1.0), (double)R / (double)(R - 2)) * base;
    return torch::pow(scaled, exponents(R)).reciprocal();
}

schedule yarn(const pecs_problem *p, int64_t R)
{
    double base = pecs_param_real(p, "base", 10000.0), factor = pecs_param_real(p, "factor", 1.0);
    double original = (double)pecs_param_int(p, "original_max_position", 4096);
    double max_position = (double)pecs_param_int(p, "max_position", 0);
    double L = pecs_param_is(p, "corr_length", "max") ? (max_position > 0 ? max_position : factor * original) : original;
    double beta_fast = pecs_param_real(p, "beta_fast", 32.0), beta_slow = pecs_param_real(p, "beta_slow", 1.0);
    double mscale = pecs_param_real(p, "mscale", 1.0), mscale_all_dim = pecs_param_real(p, "mscale_all_dim", 0.0);
    double attention_factor = pecs_param_real(p, "attention_factor", 0.0);
    bool truncate = pecs_param_int(p, "truncate", 1) != 0;

    schedule s;
    if (attention_factor > 0.0)
        s.attention_scaling = attention_factor;
    else if (mscale_all_dim > 0.0) /* DeepSeek: the ratio on cos/sin, mscale_all_dim^2 on the softmax */
        s.attention_scaling = get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim);
    else
        s.attention_scaling = get_mscale(factor, mscale);

    /* find_correction_dim / find_correction_range: Python math in double */
    auto corr_dim = [&](double n_rot) { return (double)R * std::log(L / (n_rot * 2.0 * M_PI)) / (2.0 * std::log(base)); };
    double low = corr_dim(beta_fast), high = corr_dim(beta_slow);
    if (truncate) {
        low = std::floor(low);
        high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, (double)(R - 1));
    if (low == high)
        high += 0.001; /* linear_ramp_factor: prevent the singularity */

    torch::Tensor pos_freqs = torch::pow(base, exponents(R));
    torch::Tensor inv_freq_extrapolation = pos_freqs.reciprocal();
    torch::Tensor inv_freq_interpolation = (pos_freqs * factor).reciprocal();
    torch::Tensor ramp = torch::clamp((torch::arange(R / 2, torch::kFloat32) - low) / (high - low), 0, 1);
    torch::Tensor extrapolation_factor = 1 - ramp;
    s.inv_freq = inv_freq_interpolation * (1 - extrapolation_factor) + inv_freq_extrapolation * extrapolation_factor;
    return s;
}

schedule longrope(const pecs_problem *p, int64_t R)
{
    double base = pecs_param_real(p, "base", 10000.0);
    double original = (double)pecs_param_int(p, "original_max_position", 4096);
    double max_position = (double)pecs_param_int(p, "max_position", 0);
    double factor = pecs_param_real(p, "factor", 0.0), af = pecs_param_real(p, "attention_factor", 0.0);
    if (factor <= 0.0)
        factor = max_position > 0.0 ? max_position / original : 1.0;
    schedule s;
    s.attention_scaling = af > 0.0 ? af : factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(factor) / std::log(original));
    /* long factors once the current length passes the original context (strictly), as HF's longrope update */
    const pecs_param *ext = pecs_problem_param(p, pecs_problem_seq_len(p) > original ? "long_factor" : "short_factor");
    std::vector<float> f = float_list(ext);
    if (f.empty())
        f.assign((size_t)(R / 2), 1.0f);
    s.inv_freq = (list_tensor(f) * torch::pow(base, exponents(R))).reciprocal();
    return s;
}

schedule llama3(const pecs_problem *p, int64_t R)
{
    double factor = pecs_param_real(p, "factor", 8.0);
    double low_freq_factor = pecs_param_real(p, "low_freq_factor", 1.0);
    double high_freq_factor = pecs_param_real(p, "high_freq_factor", 4.0);
    double old_context_len = (double)pecs_param_int(p, "original_max_position", 8192);
    double low_freq_wavelen = old_context_len / low_freq_factor, high_freq_wavelen = old_context_len / high_freq_factor;

    torch::Tensor inv_freq = default_inv_freq(pecs_param_real(p, "base", 500000.0), R);
    torch::Tensor wavelen = inv_freq.reciprocal() * (2 * M_PI);
    torch::Tensor inv_freq_llama = torch::where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq);
    torch::Tensor smooth_factor = (wavelen.reciprocal() * old_context_len - low_freq_factor) / (high_freq_factor - low_freq_factor);
    torch::Tensor smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama;
    torch::Tensor is_medium = torch::logical_not(wavelen < high_freq_wavelen) * torch::logical_not(wavelen > low_freq_wavelen);
    schedule s;
    s.inv_freq = torch::where(is_medium, smoothed, inv_freq_llama);
    return s;
}

schedule compute_schedule(const pecs_problem *p, int64_t R)
{
    schedule s;
    double base = pecs_param_real(p, "base", 10000.0);
    if (is(p, "rope.yarn"))
        s = yarn(p, R);
    else if (is(p, "rope.longrope"))
        s = longrope(p, R);
    else if (is(p, "rope.llama3"))
        s = llama3(p, R);
    else if (is(p, "rope.dynamic_ntk"))
        s.inv_freq = dynamic_ntk_inv_freq(p, R);
    else if (is(p, "rope.ntk"))
        s.inv_freq = default_inv_freq(base * std::pow(pecs_param_real(p, "factor", 1.0), (double)R / (double)(R - 2)), R);
    else if (is(p, "rope.linear"))
        s.inv_freq = default_inv_freq(base, R) / pecs_param_real(p, "factor", 1.0);
    else /* rope, rope.abf (its own base), rope.shift (deltas as positions) */
        s.inv_freq = default_inv_freq(base, R);
    /* pecs's generic rotate parameters: per-pair divisors (ggml freq_factors) and an extra cos/sin factor */
    std::vector<float> ff = float_list(pecs_problem_param(p, "freq_factors"));
    if (!ff.empty())
        s.inv_freq = s.inv_freq / list_tensor(ff);
    s.attention_scaling *= pecs_param_real(p, "attn_factor", 1.0);
    return s;
}

/* rotate_half: cat(-x2, x1) over the last dimension */
torch::Tensor rotate_half(const torch::Tensor &x)
{
    int64_t half = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

} // namespace

std::string rope_check(const pecs_problem *p)
{
    bool known = false;
    for (const char *id : k_rope_encodings)
        known = known || is(p, id);
    if (!known)
        return std::string("torch backend has no HF kernel for ") + p->encoding +
               " (implements rope, abf, shift, linear, ntk, dynamic_ntk, yarn, longrope, llama3)";
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    std::string why = positions_check(pos, "positions");
    if (why.empty() && x)
        why = strides_check(x);
    if (why.empty() && out)
        why = strides_check(out);
    if (!why.empty())
        return why;
    if (x && x->ndim == 3) {
        int64_t D = x->shape[2], R = rotary_dim(p, D);
        if (R < 2 || R % 2 || R > D)
            return "rotary_dim " + std::to_string(R) + " must be even, >= 2 and <= head_dim " + std::to_string(D);
        if ((is(p, "rope.ntk") || is(p, "rope.dynamic_ntk")) && R <= 2)
            return "NTK scaling needs rotary_dim > 2 (the exponent is R/(R-2))";
        for (const char *list : {"freq_factors", "short_factor", "long_factor"}) {
            const pecs_param *q = pecs_problem_param(p, list);
            if (q && q->n > 0 && q->n != R / 2)
                return std::string(list) + " has " + std::to_string(q->n) + " values, rotary_dim needs " +
                       std::to_string(R / 2);
        }
    }
    return "";
}

pecs_status rope_run(const pecs_problem *p)
{
    const pecs_tensor *xt = pecs_problem_tensor(p, "x"), *pt = pecs_problem_tensor(p, "pos"),
                      *ot = pecs_problem_tensor(p, "out");
    if (!xt || !pt || !ot || xt->ndim != 3 || ot->ndim != 3 || pt->ndim < 1 || !rope_check(p).empty())
        return PECS_INVALID;
    torch::Tensor x = wrap(xt), out = wrap(ot);
    torch::Tensor position_ids = wrap(pt);
    position_ids = position_ids.dim() == 2 ? position_ids.select(0, 0) : position_ids; /* row 0: 1-D RoPE */
    int64_t T = x.size(0), H = x.size(1), D = x.size(2), R = rotary_dim(p, D);

    schedule s = compute_schedule(p, R);
    /* HF's rotary embedding forward: [1, R/2, 1] @ [1, 1, T] in float32, then [1, T, R/2] */
    torch::Tensor inv_freq_expanded = s.inv_freq.unsqueeze(0).unsqueeze(2);
    torch::Tensor position_ids_expanded = position_ids.unsqueeze(0).unsqueeze(0).to(torch::kFloat32);
    torch::Tensor freqs = torch::matmul(inv_freq_expanded, position_ids_expanded).transpose(1, 2).squeeze(0); /* [T, R/2] */

    torch::Tensor x_rot = x.narrow(-1, 0, R), rotated;
    if (pecs_param_is(p, "pairing", "half")) {
        /* HF Llama/NeoX: cos/sin of cat(freqs, freqs) in float32, scaled, cast to x's dtype; then
         * q * cos + rotate_half(q) * sin in x's dtype (bf16 rounds after each op, as the model does) */
        torch::Tensor emb = torch::cat({freqs, freqs}, -1);
        torch::Tensor cos = (emb.cos() * s.attention_scaling).to(x.scalar_type()).unsqueeze(1); /* [T, 1, R] */
        torch::Tensor sin = (emb.sin() * s.attention_scaling).to(x.scalar_type()).unsqueeze(1);
        rotated = x_rot * cos + rotate_half(x_rot) * sin;
    } else {
        /* Meta Llama pairs (2i, 2i+1) as complex numbers: freqs_cis = polar(attention scaling, freqs)
         * (Meta's polar(ones, freqs) when the scaling is 1), float32 complex multiply, then type_as(x) */
        torch::Tensor freqs_cis = torch::polar(torch::full_like(freqs, s.attention_scaling), freqs);
        torch::Tensor xc = torch::view_as_complex(x_rot.to(torch::kFloat32).contiguous().reshape({T, H, R / 2, 2}));
        rotated = torch::view_as_real(xc * freqs_cis.unsqueeze(1)).flatten(2).to(x.scalar_type());
    }
    /* partial rotary: the pass-through tail; cat makes a fresh tensor, so in-place out never overlaps it */
    torch::Tensor result = R < D ? torch::cat({rotated, x.narrow(-1, R, D - R)}, -1) : rotated;
    out.copy_(result);
    return PECS_OK;
}

} // namespace pecs_torch
