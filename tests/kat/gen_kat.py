#!/usr/bin/env python3
"""Known-answer test (KAT) generator for pecs positional-encoding kernels.

Pure Python 3 (math, struct, json only; no numpy, no torch).  Deterministic:
running it twice writes byte-identical files.  Run from the repository root:

    python3 tests/kat/gen_kat.py            # writes tests/data/kat/*.json

Every KAT below is an independent transcription of the math of a public,
canonical implementation (written from scratch, not copied).  Unless a field
says otherwise, values are computed in float64 in the same operation order as
the original code.  Where the original runs in float32 and the brief asks for
it, a float32 emulation is given as well (struct round trip after every op,
assuming correctly rounded float32 +,-,*,/,log,pow; torch's vectorised
logf/powf may differ by 1 ulp, which is why such fields are marked
"emulated").

KATs and the code they follow
-----------------------------
llama3.json      Llama-3.1-8B frequency schedule.  HF transformers
                 src/transformers/modeling_rope_utils.py::_compute_llama3_parameters
                 (identical band rules in Meta's apply_scaling): wavelen > L/low ->
                 inv/factor; wavelen < L/high -> inv; otherwise (both edges
                 inclusive) smooth = (L/wavelen - low)/(high - low),
                 inv' = (1 - smooth) * inv / factor + smooth * inv.
longrope.json    Phi-3-mini-128k-instruct (April-2024 "su" revision of config.json,
                 as vendored in dotnet/machinelearning
                 src/Microsoft.ML.GenAI.Phi/Resource/Config/phi-3-mini-128k-instruct-config.json).
                 HF _compute_longrope_parameters: inv = 1/(ext[i] * base^(2i/d)),
                 long factors iff seq_len > original_max_position_embeddings,
                 attention_factor = sqrt(1 + ln(factor)/ln(original)),
                 factor = max_position_embeddings / original_max_position_embeddings.
dynamic_ntk.json HF _compute_dynamic_ntk_parameters: L_eff = max(seq_len, max_pos);
                 base' = base * (factor*L_eff/max_pos - (factor-1))^(d/(d-2)).
yarn.json        HF _compute_yarn_parameters (v4.4x "old" form: correction range from
                 max_position_embeddings; newer form: from
                 original_max_position_embeddings, optional truncate) and DeepSeek-V3
                 inference/model.py (precompute_freqs_cis; MLA.softmax_scale *= mscale^2)
                 plus HF DeepseekV3Attention.scaling.
t5.json          HF models/t5/modeling_t5.py::T5Attention._relative_position_bucket,
                 relative_position = key - query, float32 log path emulated.
xpos.json        microsoft/torchscale torchscale/component/xpos_relative_position.py
                 (XPOS.forward, fixed_pos_embedding, rotate_every_two,
                 duplicate_interleave) as called from multihead_attention.py
                 (keys: offset 0, downscale=True; queries: offset, downscale=False).
fire.json        FIRE paper appendix code (copy read: mcleish7/arithmetic
                 cramming/architectures/embeddings.py::FIRE):
                 b = MLP( log(|c (i-j)|+1) / (log(|c max(i, |L_mult*init_L|)|+1) + eps) ),
                 MLP = Linear(1,hidden) -> ReLU -> Linear(hidden,H); causal mask j>i.
cope.json        CoPE paper code (Golovneva et al. 2024, classes CoPE and SelfAttn):
                 a = q k^T / sqrt(d) + log(mask); g = sigmoid(a); p_ij = sum_{t>=j} g_it;
                 p = min(p, npos-1); z_i = q_i . e (unscaled); linear interpolation
                 between floor/ceil; logits = a + z_i(p_ij).
                 logits_division_all: the authors' training code instead
                 (facebookresearch/RAM projects/cope/src/cope/context_position.py,
                 ContextPosSelfAttn, default cope_nodiv=False): same gates and
                 z term, logits = (q.k + z_i(p_ij)) / sqrt(d), in that order.
kerple.json      KERPLE ParallelKerpleLog / ParallelKerplePower (gpt-neox based
                 positional_embeddings.py; same classes in chijames/KERPLE
                 megatron/mpu/layers.py): diff = tril(i - j);
                 log: -p * log(1 + a*diff), p,a >= 1e-2;
                 power: -a * diff^p, a >= 1e-2, 1e-2 <= p <= 2.
                 The clamps act on float32 parameters, so the clamp value is
                 float32(1e-2) = 0.009999999776482582 (clamp_case uses it).
"""

import json
import math
import os
import struct

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "kat")
GENERATOR = "python3 tests/kat/gen_kat.py"


# ----------------------------------------------------------------------------
# helpers

def f32(x):
    """Round a Python float to the nearest IEEE binary32 value."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def clean(x):
    """Normalise -0.0 to 0.0 so the JSON stays free of signed zeros."""
    if isinstance(x, float) and x == 0.0:
        return 0.0
    return x


def cleanlist(v):
    if isinstance(v, list):
        return [cleanlist(e) for e in v]
    return clean(v)


def write(name, obj):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=1, allow_nan=False)
        fh.write("\n")
    return path


def default_inv_freq(base, dim):
    """inv[i] = 1 / base^((2i)/dim), i = 0..dim/2-1 (HF/Llama order: pow then reciprocal)."""
    return [1.0 / (base ** ((2 * i) / dim)) for i in range(dim // 2)]


def ulps32(a, b):
    """Distance in float32 ulps between two float32-representable positive numbers."""
    ia = struct.unpack("<i", struct.pack("<f", a))[0]
    ib = struct.unpack("<i", struct.pack("<f", b))[0]
    return abs(ia - ib)


# ----------------------------------------------------------------------------
# a. Llama 3.1

def gen_llama3():
    base, dim, factor = 500000.0, 128, 8.0
    low_ff, high_ff, L = 1.0, 4.0, 8192
    inv = default_inv_freq(base, dim)
    low_wl = L / low_ff
    high_wl = L / high_ff
    out, band, smooth_list = [], [], []
    for f in inv:
        wl = 2.0 * math.pi / f
        if wl > low_wl:
            out.append(f / factor)
            band.append("low")
            smooth_list.append(None)
        elif wl < high_wl:
            out.append(f)
            band.append("high")
            smooth_list.append(None)
        else:
            s = (L / wl - low_ff) / (high_ff - low_ff)
            out.append((1.0 - s) * f / factor + s * f)
            band.append("medium")
            smooth_list.append(s)
    return {
        "description": "Llama-3.1-8B RoPE schedule (rope_type llama3), float64, HF operation order",
        "source": "huggingface/transformers src/transformers/modeling_rope_utils.py::_compute_llama3_parameters "
                  "(same band rules as Meta apply_scaling)",
        "generator": GENERATOR,
        "params": {"rope_theta": base, "dim": dim, "factor": factor, "low_freq_factor": low_ff,
                   "high_freq_factor": high_ff, "original_max_position_embeddings": L},
        "rules": "wavelen=2*pi/inv; wavelen > L/low_freq_factor -> inv/factor; wavelen < L/high_freq_factor -> inv; "
                 "else smooth=(L/wavelen-low)/(high-low), inv'=(1-smooth)*inv/factor+smooth*inv (edges inclusive in "
                 "the medium band)",
        "inv_freq_default": inv,
        "band": band,
        "smooth": smooth_list,
        "inv_freq": out,
        "attention_factor": 1.0,
        "note": "HF itself computes in float32; expect ~1e-7 relative deviation from these float64 values.",
    }


# ----------------------------------------------------------------------------
# b. LongRoPE (Phi-3-mini-128k-instruct)

PHI3_LONG = [
    1.0299999713897705, 1.0499999523162842, 1.0499999523162842, 1.0799999237060547,
    1.2299998998641968, 1.2299998998641968, 1.2999999523162842, 1.4499999284744263,
    1.5999999046325684, 1.6499998569488525, 1.8999998569488525, 2.859999895095825,
    3.68999981880188, 5.419999599456787, 5.489999771118164, 5.489999771118164,
    9.09000015258789, 11.579999923706055, 15.65999984741211, 15.769999504089355,
    15.789999961853027, 18.360000610351562, 21.989999771118164, 23.079999923706055,
    30.009998321533203, 32.35000228881836, 32.590003967285156, 35.56000518798828,
    39.95000457763672, 53.840003967285156, 56.20000457763672, 57.95000457763672,
    59.29000473022461, 59.77000427246094, 59.920005798339844, 61.190006256103516,
    61.96000671386719, 62.50000762939453, 63.3700065612793, 63.48000717163086,
    63.48000717163086, 63.66000747680664, 63.850006103515625, 64.08000946044922,
    64.760009765625, 64.80001068115234, 64.81001281738281, 64.81001281738281,
]
PHI3_SHORT = [
    1.05, 1.05, 1.05, 1.1, 1.1, 1.1500000000000001, 1.2000000000000002, 1.2500000000000002,
    1.3000000000000003, 1.3500000000000003, 1.5000000000000004, 2.000000000000001,
    2.000000000000001, 2.000000000000001, 2.000000000000001, 2.000000000000001,
    2.000000000000001, 2.000000000000001, 2.000000000000001, 2.000000000000001,
    2.000000000000001, 2.000000000000001, 2.000000000000001, 2.000000000000001,
    2.000000000000001, 2.000000000000001, 2.000000000000001, 2.000000000000001,
    2.000000000000001, 2.000000000000001, 2.000000000000001, 2.000000000000001,
    2.0500000000000007, 2.0500000000000007, 2.0500000000000007, 2.1000000000000005,
    2.1000000000000005, 2.1000000000000005, 2.1500000000000004, 2.1500000000000004,
    2.3499999999999996, 2.549999999999999, 2.5999999999999988, 2.5999999999999988,
    2.7499999999999982, 2.849999999999998, 2.849999999999998, 2.9499999999999975,
]


def gen_longrope():
    base, dim = 10000.0, 96
    orig, maxpos = 4096, 131072
    assert len(PHI3_LONG) == dim // 2 and len(PHI3_SHORT) == dim // 2
    shape = [(2 * i) / dim for i in range(dim // 2)]

    def inv_for(factors):
        return [1.0 / (factors[i] * base ** shape[i]) for i in range(dim // 2)]

    factor = maxpos / orig
    attn = math.sqrt(1.0 + math.log(factor) / math.log(orig)) if factor > 1.0 else 1.0
    short32 = [f32(x) for x in PHI3_SHORT]
    long32 = [f32(x) for x in PHI3_LONG]
    return {
        "description": "LongRoPE inverse frequencies for Phi-3-mini-128k-instruct, float64",
        "source": "math: huggingface/transformers modeling_rope_utils.py::_compute_longrope_parameters; "
                  "factors: microsoft/Phi-3-mini-128k-instruct config.json, April-2024 revision "
                  "(rope_scaling.type 'su', transformers_version 4.39.3) as vendored in dotnet/machinelearning "
                  "src/Microsoft.ML.GenAI.Phi/Resource/Config/phi-3-mini-128k-instruct-config.json",
        "generator": GENERATOR,
        "params": {"rope_theta": base, "head_dim": dim, "original_max_position_embeddings": orig,
                   "max_position_embeddings": maxpos},
        "switch_rule": "long_factor iff seq_len > original_max_position_embeddings (strict); seq_len == 4096 uses "
                       "short_factor. attention_factor applies to cos and sin for both factor sets.",
        "short_factor": PHI3_SHORT,
        "long_factor": PHI3_LONG,
        "inv_freq_short": inv_for(PHI3_SHORT),
        "inv_freq_long": inv_for(PHI3_LONG),
        "factor": factor,
        "attention_factor": attn,
        "attention_factor_formula": "sqrt(1 + ln(factor)/ln(original_max_position_embeddings)), factor = 131072/4096 "
                                    "= 32 (exactly sqrt(17/12))",
        "hf_float32_note": "HF builds ext_factors with torch.tensor(..., dtype=float32), so the short factors "
                          "(e.g. 1.05) are rounded to float32 before use; the long factors are already "
                          "float32 values. inv_freq_short_hf_factors is the same float64 math with the "
                          "float32-rounded factors.",
        "short_factor_f32": short32,
        "inv_freq_short_hf_factors": inv_for(short32),
        "inv_freq_long_hf_factors": inv_for(long32),
    }


# ----------------------------------------------------------------------------
# c. Dynamic NTK

def dyn_base_exact(base, dim, factor, maxpos, seq_len):
    L = max(seq_len, maxpos)
    return base * ((factor * L / maxpos) - (factor - 1)) ** (dim / (dim - 2)), L


def dyn_hf_f32(base, dim, factor, maxpos, seq_len):
    """Emulate HF's runtime path: seq_len is an int64 tensor (max(position_ids)+1), so every op
    after 'factor * seq_len' is a float32 tensor op with python scalars cast to float32."""
    L = max(seq_len, maxpos)
    t = f32(f32(float(L)) * f32(factor))
    t = f32(t / f32(float(maxpos)))
    t = f32(t - f32(factor - 1))
    t = f32(t ** f32(dim / (dim - 2)))
    b = f32(f32(base) * t)
    inv = []
    for i in range(dim // 2):
        e = f32(f32(float(2 * i)) / f32(float(dim)))
        p = f32(b ** e)
        inv.append(f32(1.0 / p))
    return b, inv


def gen_dynamic():
    base, dim, factor, maxpos = 10000.0, 128, 2.0, 4096
    cases = []
    for s in [2048, 4096, 4097, 8192]:
        b, L = dyn_base_exact(base, dim, factor, maxpos, s)
        inv = default_inv_freq(b, dim)
        bh, invh = dyn_hf_f32(base, dim, factor, maxpos, s)
        inv_exact32 = [f32(x) for x in inv]
        diffs = [ulps32(a, c) for a, c in zip(invh, inv_exact32)]
        maxrel = max(abs(a - c) / c for a, c in zip(invh, inv))
        # isolate the effect of rounding the scaled base alone: float64 math with the float32 base
        inv_b32 = default_inv_freq(bh, dim)
        rel_base_only = max(abs(a - c) / c for a, c in zip(inv_b32, inv))
        recomputed = s > maxpos
        cases.append({
            "seq_len": s,
            "effective_len": L,
            "hf_recomputes": recomputed,
            "base_effective": b,
            "inv_freq": inv,
            "hf_float32": {
                "base_effective_f32_emulated": bh,
                "base_rel_change": abs(bh - b) / b,
                "base_rounding_changes_values": bh != b,
                "max_rel_change_of_inv_freq_from_base_rounding_alone": rel_base_only,
                "inv_freq_f32_emulated": invh,
                "pipeline_indices_differing_from_f32_rounded_exact": [i for i, d in enumerate(diffs) if d],
                "pipeline_max_ulp32_difference": max(diffs),
                "pipeline_max_rel_difference_from_float64": maxrel,
            },
        })
    return {
        "description": "Dynamic NTK RoPE (HF rope_type dynamic): effective base and inv_freq, float64 exact formula",
        "source": "huggingface/transformers src/transformers/modeling_rope_utils.py::_compute_dynamic_ntk_parameters "
                  "and dynamic_rope_update (seq_len = max(position_ids)+1; recompute only when it grows past the "
                  "cached length; reset to the original inv_freq below max_position_embeddings)",
        "generator": GENERATOR,
        "params": {"rope_theta": base, "dim": dim, "factor": factor, "max_position_embeddings": maxpos},
        "formula": "L_eff = max(seq_len, max_pos); base' = base*((factor*L_eff/max_pos) - (factor-1))^(dim/(dim-2)); "
                   "inv[i] = 1/base'^(2i/dim)",
        "hf_float32_note": "hf_float32 emulates the float32 tensor path op by op (correctly rounded float32 ops "
                           "assumed; torch powf may differ by 1 ulp). For seq_len <= max_pos HF keeps the default "
                           "inv_freq (base'=base exactly). 'base_rounding_changes_values' says whether the float32 evaluation of the scaled base "
                           "differs from the exact base (the effect on inv_freq alone is given next to it); the "
                           "'pipeline_*' fields compare the whole float32 pipeline (which also differs by 1 ulp "
                           "for the unscaled default frequencies) with the float64 result rounded to float32.",
        "cases": cases,
    }


# ----------------------------------------------------------------------------
# d. YaRN

def yarn_hf(dim, base, factor, L_corr, beta_fast=32.0, beta_slow=1.0, truncate=True):
    """HF _compute_yarn_parameters math in float64 (HF operation order)."""
    pos = [base ** ((2 * i) / dim) for i in range(dim // 2)]
    extrap = [1.0 / p for p in pos]
    interp = [1.0 / (factor * p) for p in pos]

    def corr(rot):
        return (dim * math.log(L_corr / (rot * 2 * math.pi))) / (2 * math.log(base))

    lo_raw, hi_raw = corr(beta_fast), corr(beta_slow)
    lo, hi = (math.floor(lo_raw), math.ceil(hi_raw)) if truncate else (lo_raw, hi_raw)
    lo, hi = max(lo, 0), min(hi, dim - 1)
    hi_used = hi + 0.001 if lo == hi else hi
    ramp = [min(max((j - lo) / (hi_used - lo), 0.0), 1.0) for j in range(dim // 2)]
    ext_w = [1.0 - r for r in ramp]
    inv = [interp[i] * (1.0 - ext_w[i]) + extrap[i] * ext_w[i] for i in range(dim // 2)]
    return {
        "corr_dim_beta_fast": lo_raw, "corr_dim_beta_slow": hi_raw,
        "low": lo, "high": hi, "ramp": ramp, "extrapolation_weight": ext_w, "inv_freq": inv,
    }


def get_mscale(scale, m=1.0):
    return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0


def gen_yarn():
    # (i) DeepSeek-V3
    dim, base, factor, orig = 64, 10000.0, 40.0, 4096
    ds_t = yarn_hf(dim, base, factor, orig, truncate=True)
    # DeepSeek inference/model.py form: freqs/factor*(1-smooth) + freqs*smooth, smooth = 1 - ramp
    freqs = [1.0 / (base ** ((2 * i) / dim)) for i in range(dim // 2)]
    smooth = [1.0 - r for r in ds_t["ramp"]]
    ds_ref = [freqs[i] / factor * (1 - smooth[i]) + freqs[i] * smooth[i] for i in range(dim // 2)]
    maxrel = max(abs(a - b) / b for a, b in zip(ds_ref, ds_t["inv_freq"]))
    mscale, mscale_all_dim = 1.0, 1.0
    attn_hf = get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim)
    m_all = get_mscale(factor, mscale_all_dim)
    ds_official_m = 0.1 * mscale * math.log(factor) + 1.0
    qk_head_dim = 128 + 64
    ds_f = yarn_hf(dim, base, factor, orig, truncate=False)

    # (iii)/(iv) Llama-2 YaRN s=16
    l2 = yarn_hf(128, 10000.0, 16.0, 4096, truncate=True)
    l2_old = yarn_hf(128, 10000.0, 16.0, 65536, truncate=True)
    a16 = 0.1 * math.log(16.0) + 1.0

    return {
        "description": "YaRN inverse frequencies and attention scales, float64, HF operation order",
        "source": "huggingface/transformers src/transformers/modeling_rope_utils.py::_compute_yarn_parameters "
                  "(v4.4x and v5 forms); deepseek-ai/DeepSeek-V3 inference/model.py (precompute_freqs_cis, "
                  "MLA.__init__ softmax_scale); HF models/deepseek_v3/modeling_deepseek_v3.py (DeepseekV3Attention.scaling)",
        "generator": GENERATOR,
        "formula": "corr(r)=dim*ln(L/(r*2*pi))/(2 ln base); low=floor(corr(beta_fast)), high=ceil(corr(beta_slow)) "
                   "(no floor/ceil when truncate=false); low=max(low,0), high=min(high,dim-1); if low==high: "
                   "high+=0.001; ramp[j]=clamp((j-low)/(high-low),0,1); w=1-ramp; "
                   "inv=inv_interp*(1-w)+inv_extrap*w, inv_extrap=1/base^(2j/dim), inv_interp=1/(factor*base^(2j/dim))",
        "cases": {
            "deepseek_v3_truncate": {
                "params": {"dim": dim, "rope_theta": base, "factor": factor,
                           "original_max_position_embeddings": orig, "max_position_embeddings": 163840,
                           "beta_fast": 32, "beta_slow": 1, "mscale": mscale, "mscale_all_dim": mscale_all_dim,
                           "truncate": True, "corr_range_length": orig},
                **ds_t,
                "inv_freq_deepseek_reference_form": ds_ref,
                "deepseek_form_max_rel_difference": maxrel,
                "hf_attention_factor": attn_hf,
                "hf_attention_factor_note": "get_mscale(factor,mscale)/get_mscale(factor,mscale_all_dim); multiplies "
                                            "cos and sin",
                "softmax_scale_multiplier": m_all * m_all,
                "softmax_scale_multiplier_formula": "(0.1*mscale_all_dim*ln(factor)+1)^2 (HF DeepseekV3Attention); "
                                                    "DeepSeek inference/model.py uses (0.1*args.mscale*ln(rope_factor)+1)^2 "
                                                    "when max_seq_len > original_seq_len",
                "softmax_scale_multiplier_deepseek_official": ds_official_m * ds_official_m,
                "qk_head_dim": qk_head_dim,
                "softmax_scale": qk_head_dim ** -0.5 * m_all * m_all,
            },
            "deepseek_v3_no_truncate": {
                "params": {"dim": dim, "rope_theta": base, "factor": factor,
                           "original_max_position_embeddings": orig, "beta_fast": 32, "beta_slow": 1,
                           "mscale": mscale, "mscale_all_dim": mscale_all_dim, "truncate": False,
                           "corr_range_length": orig},
                **ds_f,
                "hf_attention_factor": attn_hf,
                "softmax_scale_multiplier": m_all * m_all,
            },
            "llama2_yarn_s16": {
                "params": {"dim": 128, "rope_theta": 10000.0, "factor": 16.0,
                           "original_max_position_embeddings": 4096, "beta_fast": 32, "beta_slow": 1,
                           "truncate": True, "corr_range_length": 4096},
                **l2,
                "attention_factor": a16,
                "attention_factor_formula": "0.1*ln(16)+1, multiplies cos and sin (logits scale by its square)",
            },
            "llama2_yarn_s16_old_hf_corr_from_65536": {
                "params": {"dim": 128, "rope_theta": 10000.0, "factor": 16.0, "max_position_embeddings": 65536,
                           "beta_fast": 32, "beta_slow": 1, "truncate": True, "corr_range_length": 65536},
                "note": "old HF (v4.4x) passed config.max_position_embeddings to find_correction_range; with "
                        "max_position_embeddings = 65536 the ramp never reaches 1 inside the 64 frequency slots",
                **l2_old,
                "attention_factor": a16,
            },
        },
    }


# ----------------------------------------------------------------------------
# e. T5 buckets

def t5_bucket(rel, bidirectional, num_buckets, max_distance, use_f32):
    nb = num_buckets
    bucket = 0
    if bidirectional:
        nb //= 2
        if rel > 0:
            bucket += nb
        r = abs(rel)
    else:
        r = -min(rel, 0)
    max_exact = nb // 2
    if r < max_exact:
        return bucket + r
    if use_f32:
        a = f32(f32(float(r)) / f32(float(max_exact)))
        lg = f32(math.log(a))
        den = f32(math.log(max_distance / max_exact))
        t = f32(lg / den)
        t = f32(t * f32(float(nb - max_exact)))
    else:
        t = math.log(r / max_exact) / math.log(max_distance / max_exact) * (nb - max_exact)
    large = max_exact + int(t)  # .to(torch.long) truncates toward zero; t >= 0 here
    large = min(large, nb - 1)
    return bucket + large


def gen_t5():
    configs = [(True, 32, 128), (False, 32, 128), (True, 8, 20)]
    rels = list(range(-300, 301))
    out = []
    for bidir, nb, md in configs:
        b32 = [t5_bucket(r, bidir, nb, md, True) for r in rels]
        b64 = [t5_bucket(r, bidir, nb, md, False) for r in rels]
        mism = [rels[i] for i in range(len(rels)) if b32[i] != b64[i]]
        out.append({
            "bidirectional": bidir, "num_buckets": nb, "max_distance": md,
            "buckets": b32,
            "float64_path_mismatches_rel": mism,
        })
    return {
        "description": "T5 relative position buckets, float32 log path as in HF (torch.log on float32)",
        "source": "huggingface/transformers src/transformers/models/t5/modeling_t5.py::T5Attention._relative_position_bucket",
        "generator": GENERATOR,
        "convention": "relative_position = key_pos - query_pos (memory - context). Bidirectional: nb=num_buckets//2, "
                      "bucket += nb if rel > 0, r=|rel|. Causal: r = -min(rel, 0) (future keys -> bucket 0). "
                      "max_exact = nb//2; r < max_exact -> r; else max_exact + trunc(log(r/max_exact)/"
                      "log(max_distance/max_exact)*(nb-max_exact)), capped at nb-1.",
        "float32_ops": "r->f32; /max_exact (f32); logf; / f32(log(max_distance/max_exact) computed in double); "
                       "* (nb-max_exact) (f32); truncate to int",
        "rel": rels,
        "cases": out,
    }


# ----------------------------------------------------------------------------
# f. xPos (torchscale)

def xpos_apply(x_rows, head_dim, scale_base, offset, downscale):
    """Transcription of torchscale XPOS.forward for one head; x_rows: [length][head_dim]."""
    length = len(x_rows)
    half = head_dim // 2
    zeta = [(2 * i + 0.4 * head_dim) / (1.4 * head_dim) for i in range(half)]
    min_pos = (-(length + offset)) // 2          # Python: unary minus binds before //, floor division
    max_pos = length + offset + min_pos
    spos = list(range(min_pos, max_pos))          # rows of the scale matrix (length + offset rows)
    scale = [[zeta[i] ** (p / scale_base) for i in range(half)] for p in spos]
    # fixed_pos_embedding(scale): seq_len = rows, dim = half; angle = row_index * 10000^(-k/half)
    inv = [1.0 / (10000 ** (k / half)) for k in range(half)]
    sin = [[math.sin(t * inv[k]) for k in range(half)] for t in range(len(spos))]
    cos = [[math.cos(t * inv[k]) for k in range(half)] for t in range(len(spos))]
    if len(spos) > length:
        scale, sin, cos = scale[-length:], sin[-length:], cos[-length:]
    if downscale:
        scale = [[1.0 / s for s in row] for row in scale]
    out = []
    for t in range(length):
        x = x_rows[t]
        y = [0.0] * head_dim
        for k in range(half):
            c = cos[t][k] * scale[t][k]
            s = sin[t][k] * scale[t][k]
            x0, x1 = x[2 * k], x[2 * k + 1]
            # (x * cos) + (rotate_every_two(x) * sin), rotate_every_two: (x0,x1) -> (-x1, x0)
            y[2 * k] = x0 * c + (-x1) * s
            y[2 * k + 1] = x1 * c + x0 * s
        out.append(y)
    return out, {"min_pos": min_pos, "scale_positions": spos[-length:],
                 "angle_positions": list(range(len(spos)))[-length:], "zeta": zeta}


def gen_xpos():
    head_dim, scale_base, L = 8, 512, 5
    xvec = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    xs = [list(xvec) for _ in range(L)]
    q, qinfo = xpos_apply(xs, head_dim, scale_base, 0, False)
    k, kinfo = xpos_apply(xs, head_dim, scale_base, 0, True)
    qd, qdinfo = xpos_apply([list(xvec)], head_dim, scale_base, L - 1, False)
    scores = [[sum(q[i][d] * k[j][d] for d in range(head_dim)) for j in range(L)] for i in range(L)]
    return {
        "description": "xPos (torchscale XPOS) query/key outputs, float64; one head, same input vector at every token",
        "source": "microsoft/torchscale torchscale/component/xpos_relative_position.py (XPOS.forward) and "
                  "torchscale/component/multihead_attention.py (k: offset=0, downscale=True; q: offset, downscale=False)",
        "generator": GENERATOR,
        "params": {"head_dim": head_dim, "scale_base": scale_base, "length": L, "offset": 0, "x": xvec},
        "conventions": "zeta_i=(2i+0.4*d)/(1.4*d); min_pos=floor(-(length+offset)/2); scale rows for positions "
                       "min_pos..min_pos+length+offset-1, scale=zeta^(pos/scale_base); angle rows 0..length+offset-1 "
                       "with inv_freq_k=10000^(-k/(d/2)); if more rows than length keep the last length rows; keys use "
                       "1/scale; pairs (2k,2k+1) interleaved, out[2k]=x0*c*s-x1*sn*s, out[2k+1]=x1*c*s+x0*sn*s. "
                       "Original runs in float32 and multiplies q by head_dim^-0.5 before xPos (not included here).",
        "query": {"scale_positions": qinfo["scale_positions"], "angle_positions": qinfo["angle_positions"],
                  "zeta": qinfo["zeta"], "min_pos": qinfo["min_pos"], "out": q},
        "key": {"scale_positions": kinfo["scale_positions"], "angle_positions": kinfo["angle_positions"],
                "min_pos": kinfo["min_pos"], "out": k},
        "scores_q_dot_k": scores,
        "query_decode_offset4": {
            "note": "incremental decoding: a single query with offset = src_len - 1 = 4; must equal query.out[4]",
            "min_pos": qdinfo["min_pos"], "scale_positions": qdinfo["scale_positions"],
            "angle_positions": qdinfo["angle_positions"], "out": qd,
        },
    }


# ----------------------------------------------------------------------------
# g. FIRE

def gen_fire():
    hidden, H = 4, 2
    c, init_L, L_mult, eps = 0.1, 512.0, 1.0, 1e-6
    W1 = [0.5, -1.0, 2.0, 0.25]        # Linear(1, hidden).weight[:, 0]
    b1 = [0.1, 0.2, -0.3, 0.0]
    W2 = [[0.3, -0.2, 0.5, 1.0],       # Linear(hidden, H).weight [H][hidden]
          [-0.7, 0.4, 0.1, -0.25]]
    b2 = [0.05, -0.1]
    pos = [0.0, 1.0, 600.0, 1000.0]
    n = len(pos)
    thr = abs(L_mult * init_L)
    bias = [[[None] * n for _ in range(n)] for _ in range(H)]
    nd = [[None] * n for _ in range(n)]
    for i in range(n):
        norm = math.log(abs(c * max(pos[i], thr)) + 1.0)
        for j in range(n):
            if j > i:
                continue
            rel = pos[i] - pos[j]
            x = math.log(abs(c * rel) + 1.0) / (norm + eps)
            nd[i][j] = x
            h = [max(W1[k] * x + b1[k], 0.0) for k in range(hidden)]
            for hh in range(H):
                bias[hh][i][j] = b2[hh] + sum(W2[hh][k] * h[k] for k in range(hidden))
    return {
        "description": "FIRE attention bias, float64, explicit tiny MLP; masked (j > i) entries are null",
        "source": "FIRE paper (Li et al. 2023) appendix code; copy read: mcleish7/arithmetic "
                  "cramming/architectures/embeddings.py::FIRE",
        "generator": GENERATOR,
        "params": {"hidden": hidden, "heads": H, "c": c, "init_L": init_L, "L_multiplier": L_mult, "eps": eps,
                   "W1": W1, "b1": b1, "W2": W2, "b2": b2},
        "formula": "rel=pos_q-pos_k (i-j, signed; abs is inside psi); psi(x)=log(|c*x|+1); "
                   "x=psi(rel)/(psi(max(pos_q, |L_mult*init_L|))+eps); bias[h]=b2[h]+sum_k W2[h][k]*relu(W1[k]*x+b1[k])",
        "query_positions": pos,
        "key_positions": pos,
        "normalized_distance": nd,
        "bias": bias,
    }


# ----------------------------------------------------------------------------
# h. CoPE

def sigmoid(x):
    if x == -math.inf:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def gen_cope():
    D, L, npos = 4, 4, 3
    q = [[0.8, -0.4, 0.3, 0.6],
         [0.2, 0.9, -0.5, 0.1],
         [-0.6, 0.3, 0.7, 0.4],
         [1.2, 0.5, -0.3, 0.9]]
    k = [[0.7, 0.1, -0.2, 0.5],
         [-0.3, 0.8, 0.4, 0.2],
         [0.5, -0.6, 0.9, 0.3],
         [0.9, 0.4, -0.1, 0.7]]
    e = [[0.1, -0.2, 0.3],      # e[d][p], pos_emb shape (1, head_dim, npos_max)
         [0.05, 0.4, -0.1],
         [-0.3, 0.2, 0.25],
         [0.2, 0.0, -0.15]]
    sq = math.sqrt(D)
    a = [[(sum(q[i][d] * k[j][d] for d in range(D)) / sq) if j <= i else -math.inf for j in range(L)]
         for i in range(L)]
    g = [[sigmoid(a[i][j]) for j in range(L)] for i in range(L)]
    pos = [[None] * L for _ in range(L)]
    for i in range(L):
        acc = 0.0
        for j in range(L - 1, -1, -1):   # flip, cumsum, flip: sum_{t >= j} g[i][t]
            acc += g[i][j]
            pos[i][j] = min(acc, float(npos - 1))
    z = [[sum(q[i][d] * e[d][p] for d in range(D)) for p in range(npos)] for i in range(L)]
    cope = [[None] * L for _ in range(L)]
    logits = [[None] * L for _ in range(L)]
    logits_all = [[None] * L for _ in range(L)]
    for i in range(L):
        for j in range(L):
            p = pos[i][j]
            pc, pf = math.ceil(p), math.floor(p)
            w = p - pf
            val = z[i][pc] * w + z[i][pf] * (1 - w)
            if j <= i:
                cope[i][j] = val
                logits[i][j] = a[i][j] + val
                raw = sum(q[i][d] * k[j][d] for d in range(D))  # bmm(query, key^T), unscaled
                logits_all[i][j] = (raw + val) / sq               # += pos_logits, then /= sqrt(head_dim)
    return {
        "description": "CoPE logits (attention logits + contextual position term), one head, float64; masked null",
        "source": "Golovneva et al. 2024 'Contextual Position Encoding' paper code (classes CoPE, SelfAttn)",
        "generator": GENERATOR,
        "params": {"heads": 1, "head_dim": D, "length": L, "npos_max": npos, "q": q, "k": k, "pos_emb_e_d_p": e},
        "formula": "a=q k^T/sqrt(d) + log(causal mask) (masked -> -inf, gate 0); g=sigmoid(a); "
                   "p[i][j]=sum_{t=j}^{L-1} g[i][t] then min(p, npos-1); z[i][p]=q_i.e[:,p] (no 1/sqrt(d)); "
                   "cope=z[ceil p]*w+z[floor p]*(1-w), w=p-floor p; logits=a+cope; softmax follows",
        "attn_logits": [[None if v == -math.inf else v for v in row] for row in a],
        "gates": g,
        "positions": [[pos[i][j] if j <= i else None for j in range(L)] for i in range(L)],
        "z": z,
        "cope_term": cope,
        "logits": logits,
        "source_division_all": "facebookresearch/RAM projects/cope/src/cope/context_position.py "
                               "ContextPosSelfAttn.forward with cope_nodiv=False (its default)",
        "logits_division_all": logits_all,
    }


# ----------------------------------------------------------------------------
# i. KERPLE

def gen_kerple():
    r1 = [1.5, 0.3]
    r2 = [0.8, 1.7]
    eps = f32(1e-2)  # param.data.clamp(min=1e-2) on a float32 parameter: float32(0.01), just below 0.01
    dists = [0, 1, 2, 3, 4, 5, 1000]

    def log_bias(p, a, d):
        p, a = max(p, eps), max(a, eps)
        return -p * math.log(1 + a * d)

    def pow_bias(a, p, d):
        a, p = max(a, eps), min(max(p, eps), 2.0)
        return -(d ** p) * a

    logb = [[clean(log_bias(r1[h], r2[h], float(d))) for d in dists] for h in range(2)]
    powb = [[clean(pow_bias(r1[h], r2[h], float(d))) for d in dists] for h in range(2)]
    L = 4
    mat_log = [[[clean(log_bias(r1[h], r2[h], float(i - j if j <= i else 0))) for j in range(L)]
                for i in range(L)] for h in range(2)]
    clamp_in = {"r1": [0.001, 3.0], "r2": [2.5, 0.0]}
    clamp_log = [[clean(log_bias(clamp_in["r1"][h], clamp_in["r2"][h], float(d))) for d in dists] for h in range(2)]
    clamp_pow = [[clean(pow_bias(clamp_in["r1"][h], clamp_in["r2"][h], float(d))) for d in dists] for h in range(2)]
    return {
        "description": "KERPLE log and power biases, float64",
        "source": "KERPLE code base (gpt-neox fork) positional_embeddings.py: ParallelKerpleLog, ParallelKerplePower",
        "generator": GENERATOR,
        "params": {"r1": r1, "r2": r2, "eps_clamp": eps},
        "naming": "log: r1 = bias_p (outer, init U(0,2)), r2 = bias_a (inside log, init U(0,1)); "
                  "power: r1 = bias_a (outer, init U(0,1)), r2 = bias_p (exponent, init U(0,2))",
        "formula": "distance d = tril(i - j) (upper triangle 0, masked separately); log: -r1*log(1+r2*d), "
                   "r1,r2 clamped >= 1e-2; power: -r1*d^r2, r1 >= 1e-2, r2 in [1e-2, 2]; 1e-2 as float32",
        "distances": dists,
        "log_bias": logb,
        "power_bias": powb,
        "log_bias_matrix_L4_tril": mat_log,
        "clamp_case": {"inputs": clamp_in,
                       "note": "raw parameters outside the clamps; values use the clamped parameters "
                               "(lower clamp float32(1e-2) = 0.009999999776482582, upper 2 on the power exponent)",
                       "log_bias": clamp_log, "power_bias": clamp_pow},
    }


def main():
    files = [
        ("llama3.json", gen_llama3),
        ("longrope.json", gen_longrope),
        ("dynamic_ntk.json", gen_dynamic),
        ("yarn.json", gen_yarn),
        ("t5.json", gen_t5),
        ("xpos.json", gen_xpos),
        ("fire.json", gen_fire),
        ("cope.json", gen_cope),
        ("kerple.json", gen_kerple),
    ]
    for name, fn in files:
        p = write(name, fn())
        print(os.path.relpath(p))


if __name__ == "__main__":
    main()
