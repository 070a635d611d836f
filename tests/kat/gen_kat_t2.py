#!/usr/bin/env python3
"""Known-answer data for the tier-2 rotate encodings (tests/test_t2.c).

Pure Python 3 (math, json only). Deterministic: running it twice writes byte-identical output.
Run from the repository root:

    python3 tests/kat/gen_kat_t2.py          # writes tests/data/kat/t2.json

Each section is an independent transcription (written from scratch, in float64, in the operation order of
the original) of the public code named in its "source" field. The original codes run in float32 (torch /
jax); the C reference computes in double, so the tests compare to ~1e-15 relative, not bit for bit.
"""

import json
import math

# A fixed head vector (no randomness: the file must be reproducible without a seed convention).
def head_vector(d, k=0):
    return [round(math.sin(0.37 * (i + 1) + 0.11 * k) * 0.9, 6) for i in range(d)]


def rotate_half_split(x, inv, pos, attn=1.0):
    """HF / gemma split halves: out = x*cos + rotate_half(x)*sin with emb = cat(freqs, freqs)."""
    n = len(x) // 2
    out = [0.0] * len(x)
    for i in range(n):
        a = pos * inv[i]
        c, s = math.cos(a) * attn, math.sin(a) * attn
        out[i] = x[i] * c - x[i + n] * s
        out[i + n] = x[i + n] * c + x[i] * s
    return out


def rotate_every_two(x, inv, pos):
    """torchscale / RMT interleaved pairs (2i, 2i+1)."""
    out = [0.0] * len(x)
    for i in range(len(x) // 2):
        a = pos * inv[i]
        c, s = math.cos(a), math.sin(a)
        out[2 * i] = x[2 * i] * c - x[2 * i + 1] * s
        out[2 * i + 1] = x[2 * i + 1] * c + x[2 * i] * s
    return out


# ---- rope.p: google-deepmind/gemma gemma/gm/math/_positional_embeddings.py apply_rope(rope_proportion) ------

def gemma_apply_rope(x, pos, base, p):
    head_dim = len(x)
    rope_angles = int(p * head_dim // 2)
    nope_angles = head_dim // 2 - rope_angles
    timescale = [base ** ((2.0 / head_dim) * k) for k in range(rope_angles)] + [math.inf] * nope_angles
    inv = [1.0 / t for t in timescale]           # 1/inf = 0: sin(pos/inf) = 0, cos = 1
    out = []
    n = head_dim // 2
    for i in range(n):
        a = pos / timescale[i]
        out.append((i, math.sin(a), math.cos(a)))
    y = [0.0] * head_dim
    for i, s, c in out:
        y[i] = x[i] * c - x[i + n] * s           # first_half * cos - second_half * sin
        y[i + n] = x[i + n] * c + x[i] * s       # second_half * cos + first_half * sin
    return rope_angles, inv, y


def kat_rope_p():
    cases = []
    for (d, base, p) in [(16, 10000.0, 0.25), (16, 10000.0, 0.75), (16, 10000.0, 0.3), (256, 10000.0, 0.75),
                         (512, 1000000.0, 0.25)]:
        x = head_vector(d)
        rows = []
        for pos in [0, 3, 1000, 131071]:
            n_rope, inv, y = gemma_apply_rope(x, pos, base, p)
            rows.append({"pos": pos, "out": y})
        cases.append({"head_dim": d, "base": base, "p": p, "n_rope": n_rope, "inv_freq": inv, "x": x,
                      "rows": rows})
    return {
        "source": "google-deepmind/gemma gemma/gm/math/_positional_embeddings.py apply_rope (rope_proportion), "
                  "split halves; head_dim 512 / base 1e6 / p 0.25 is Gemma 4's global-layer configuration",
        "formula": "rope_angles = int(p*D//2); timescale = base^(2k/D) for k < rope_angles, +inf after",
        "cases": cases,
    }


# ---- rope.giraffe: abacusai/Long-Context python/models/interpolate.py ------------------------------------

def truncate_frequency(f, t, low, z):
    return [0.0 if v < t / z else (low if v < t else v) for v in f]


def giraffe_freqs(dim, base, scale, scale_power, truncate):
    freq = [1.0 / (base ** (k / dim)) for k in range(0, dim, 2)]
    if scale > 1.0:
        freq = [v / scale for v in freq]
    if scale_power > 0:
        n = len(freq)
        freq = [v * (1.0 - k / n) ** scale_power for k, v in enumerate(freq)]
    if truncate > 0:
        cutoff = 2 * math.pi / truncate
        freq = truncate_frequency(freq, cutoff, 2 * math.pi / (truncate * 16), 8)
    return freq


def kat_rope_giraffe():
    cases = []
    for (scale, power, trunc) in [(4.0, 0.0, 0), (1.0, 0.5, 0), (4.0, 0.0, 4096), (1.0, 1.0, 2048), (8.0, 0.0, 1024)]:
        f = giraffe_freqs(128, 10000.0, scale, power, trunc)
        t = 2 * math.pi / trunc if trunc else 0.0
        bands = [("zero" if v == 0.0 else "rho" if trunc and v == 2 * math.pi / (trunc * 16) else "kept") for v in f]
        cases.append({"head_dim": 128, "base": 10000.0, "factor": scale, "scale_power": power, "truncate_len": trunc,
                      "inv_freq": f, "bands": bands})
    return {
        "source": "abacusai/Long-Context python/models/interpolate.py ScaledLlamaRotaryEmbedding.__init__ and "
                  "truncate_frequency (LLaMA-13B head_dim 128)",
        "formula": "f = base^(-2k/d); f /= scale if scale > 1; f *= (1-k/(d/2))^p if p > 0; "
                   "truncate: f<t/8 -> 0, f<t -> 2pi/(16 L), with t = 2pi/L",
        "cases": cases,
    }


# ---- rope.rmt: qhfan/RMT classfication_release/RMT.py RetNetRelPos2d + theta_shift -------------------------

def linspace01(n):
    return [0.0] if n == 1 else [k / (n - 1) for k in range(n)]


def rmt_theta_shift(x, angle_pairs, index):
    # angle = angle.unsqueeze(-1).repeat(1, 2).flatten(): lane 2k and 2k+1 share angle k
    d = len(x)
    ang = [angle_pairs[i // 2] for i in range(d)]
    sin = [math.sin(index * a) for a in ang]
    cos = [math.cos(index * a) for a in ang]
    rot = [0.0] * d
    for k in range(d // 2):              # rotate_every_two: stack([-x2, x1]) -> (-x[2k+1], x[2k])
        rot[2 * k] = -x[2 * k + 1]
        rot[2 * k + 1] = x[2 * k]
    return [x[i] * cos[i] + rot[i] * sin[i] for i in range(d)]


def kat_rope_rmt():
    cases = []
    for key_dim, (H, W) in [(16, (3, 4)), (32, (14, 14))]:
        angle = [1.0 / (10000 ** v) for v in linspace01(key_dim // 2)]
        x = head_vector(key_dim, 1)
        rows = []
        for (yy, xx) in [(0, 0), (1, 2), (H - 1, W - 1)]:
            l = yy * W + xx                  # index = arange(H*W) reshaped (h, w): raster order
            rows.append({"y": yy, "x": xx, "index": l, "out": rmt_theta_shift(x, angle, l)})
        cases.append({"key_dim": key_dim, "grid": [H, W], "inv_freq": angle, "x": x, "rows": rows})
    return {
        "source": "qhfan/RMT classfication_release/RMT.py RetNetRelPos2d (angle, forward) and theta_shift / "
                  "rotate_every_two; key_dim 16 (RMT-T stage 1: 64 dims / 4 heads) and 32",
        "formula": "angle_k = 10000^-linspace(0,1,key_dim/2)[k]; position = raster index y*W + x; interleaved pairs",
        "cases": cases,
    }


# ---- rope.vrope: johncaged/VRoPE vrope.py ------------------------------------------------------------------

def vrope_video_ids(t, h, w, half_head_dim, current_index):
    """generate_nd_positions((t, h, w)) with half_time_dim = 0: [t*h*w][half_head_dim] ids, tokens in
    (time, row, column) order, and the index advance."""
    nd_shape = (h, w)
    nd_len = h * w
    nd_index_len = sum(nd_shape) - len(nd_shape) + 1
    variants = []                               # row order of sum(nd_positions).reshape(-1, nd_len): a*2 + b
    for a in range(2):                          # h or its flip
        for b in range(2):                      # w or its flip
            v = []
            for r in range(h):
                for c in range(w):
                    hh = r if a == 0 else h - 1 - r
                    ww = c if b == 0 else w - 1 - c
                    v.append(hh + ww)
            variants.append(v)
    ids = []
    for f in range(t):
        for j in range(nd_len):
            per_variant = [variants[k][j] + f * nd_index_len + current_index for k in range(4)]
            ids.append([per_variant[i % 4] for i in range(half_head_dim)])
    return ids, nd_index_len * t


def kat_rope_vrope():
    d, base = 16, 10000.0
    inv = [1.0 / (base ** (k / d)) for k in range(0, d, 2)]
    text_before = 5
    ids = [[p] * (d // 2) for p in range(text_before)]              # generate_1d_positions(5)
    video, adv = vrope_video_ids(2, 3, 4, d // 2, text_before)
    ids += video
    ids += [[text_before + adv + p] * (d // 2) for p in range(2)]   # text after the video
    x = head_vector(d, 2)
    outs = []
    for row in ids:                                                  # freqs = ids * inv_freq per channel
        freqs = [row[i] * inv[i] for i in range(d // 2)]
        n = d // 2
        y = [0.0] * d
        for i in range(n):
            c, s_ = math.cos(freqs[i]), math.sin(freqs[i])
            y[i] = x[i] * c - x[i + n] * s_
            y[i + n] = x[i + n] * c + x[i] * s_
        outs.append(y)
    return {
        "source": "johncaged/VRoPE vrope.py VRoPE (generate_1d_positions, generate_nd_positions with half_time_dim "
                  "forced to 0); the ids then rotate channel i by ids[:, i] * inv_freq[i] (HF split halves)",
        "formula": "variants v0=h+w, v1=h+(W-1-w), v2=(H-1-h)+w, v3=(H-1-h)+(W-1-w), + t*(H+W-1) + c; "
                   "channel i uses variant i % 4",
        "head_dim": d, "base": base, "video": [2, 3, 4], "text_before": text_before, "index_advance": adv,
        "ids": ids, "x": x, "out": outs,
    }


# ---- rope.hope_vlm: hrlics/HoPE modeling_hope.py apply_hybrid_multimodal_rotary_pos_emb --------------------

def hope_hfa(x, pos3, inv, mrope_section):
    d = len(x)
    # Qwen2VLRotaryEmbedding: freqs[row] = pos[row] * inv_freq; emb = cat(freqs, freqs)
    cos = [[math.cos(v) for v in ([pos3[r] * f for f in inv] * 2)] for r in range(3)]
    sin = [[math.sin(v) for v in ([pos3[r] * f for f in inv] * 2)] for r in range(3)]
    sec = [mrope_section[0], mrope_section[1] + mrope_section[2]] * 2
    sec = sec[::-1]
    index = 0
    c_out, s_out = [], []
    for i, section in enumerate(sec):
        if i % 2 == 0:                              # spatial
            for j in range(section):
                row = 1 if j % 2 == 0 else 2
                c_out.append(cos[row][index])
                s_out.append(sin[row][index])
                index += 1
        else:                                       # temporal -> NoPE
            c_out += [1.0] * section
            s_out += [0.0] * section
            index += section
    n = d // 2
    rot = [-x[i + n] for i in range(n)] + [x[i] for i in range(n)]   # rotate_half
    return [x[i] * c_out[i] + rot[i] * s_out[i] for i in range(d)]


def kat_rope_hope_vlm():
    d, base, sections = 128, 1000000.0, [16, 24, 24]
    inv = [1.0 / (base ** (k / d)) for k in range(0, d, 2)]
    x = head_vector(d, 3)
    tokens = [[2.0, 2.0, 2.0]]                      # a text token: t = h = w
    s0, scale, hg, wg = 3.0, 0.75, 4, 4             # get_dynamic_rope_index: video at s0, temporal scale 0.75
    for t_idx in (0, 1):
        t = s0 + scale * t_idx
        for (r, c) in ((0, 0), (1, 3), (3, 2)):
            tokens.append([t, t + (r - (hg - 1) // 2), t + (c - (wg - 1) // 2)])
    outs = [hope_hfa(x, tok, inv, sections) for tok in tokens]
    return {
        "source": "hrlics/HoPE modeling_hope.py apply_hybrid_multimodal_rotary_pos_emb on Qwen2VLRotaryEmbedding "
                  "(head_dim 128, mrope_section [16,24,24], rope_theta 1e6); positions as get_dynamic_rope_index "
                  "with a temporal scale of 0.75",
        "formula": "pair k < 48: row h (k even) or w (k odd); pairs 48..63: NoPE; split halves",
        "head_dim": d, "base": base, "sections": sections, "x": x, "positions": tokens, "out": outs,
    }


# ---- rope.entropy_abf: GAIR-NLP/Entropy-ABF patch/EABF.py -------------------------------------------------

def kat_rope_entropy_abf():
    d, base, L = 128, 500000.0, 4096
    inv = [1.0 / (base ** (k / d)) for k in range(0, d, 2)]   # LlamaRotaryEmbedding(base=500000)
    x = head_vector(d, 4)
    rows = []
    for pos in [0, 100, 4094, 4095, 4096, 16383, 100000]:
        scale = math.log(pos + 1) / math.log(L)                   # apply_rotary_pos_emb_scale
        if scale < 1:
            scale = 1.0
        q = [v * scale for v in rotate_half_split(x, inv, pos)]
        k = rotate_half_split(x, inv, pos)
        rows.append({"pos": pos, "scale": scale, "q": q, "k": k})
    return {
        "source": "GAIR-NLP/Entropy-ABF patch/EABF.py: eabf rotary embedding at base 500000, "
                  "apply_rotary_pos_emb_scale (q * max(1, log(pos+1)/log(4096)), k unscaled), split halves",
        "head_dim": d, "base": base, "train_length": L, "x": x, "rows": rows,
    }


# ---- rope.string: HKUNLP/STRING string_for_llama.py ----------------------------------------------------------

def kat_rope_string():
    d, base, S, W = 128, 1000000.0, 100, 8
    attention_factor = 0.1 * math.log(2) + 1        # replace_with_string
    inv = [1.0 / (base ** (k / d)) for k in range(0, d, 2)]
    x = head_vector(d, 5)
    rows = []
    for pos in [100, 150, 4096, 131071]:
        rows.append({
            "pos": pos,
            "query": rotate_half_split(x, inv, pos, attention_factor),            # query_states_1
            "shifted": rotate_half_split(x, inv, pos - S + W, attention_factor),  # query_states_2
            "key": rotate_half_split(x, inv, pos, attention_factor),
        })
    return {
        "source": "HKUNLP/STRING string_for_llama.py forward (query_states_1 at position_ids, query_states_2 at "
                  "position_ids - diag_size + local_window, keys at position_ids) with RotaryEmbedding's cos/sin "
                  "multiplied by attention_factor = 0.1 ln 2 + 1; split halves",
        "head_dim": d, "base": base, "shifted_offset": S, "local_value": W, "attention_factor": attention_factor,
        "x": x, "rows": rows,
    }


# ---- rope.mspoe: VITA-Group/Ms-PoE utils/modify_arch/llama.py ----------------------------------------------

def kat_rope_mspoe():
    d, base, num_heads, groups = 16, 10000.0, 4, 2
    min_ratio, max_ratio = 1.2, 1.8
    head_order = [2, 0, 3, 1]                           # argsort(outlier) from a first forward pass
    inv = [1.0 / (base ** (k / d)) for k in range(0, d, 2)]
    ratios = [min_ratio + (max_ratio - min_ratio) * (k / num_heads) for k in range(num_heads)]
    x = [head_vector(d, 10 + h) for h in range(num_heads)]
    rows = []
    for pos in [0, 5, 1000, 131071]:
        # cos_cached[k] = cos((t / ratio_k) * inv); queries: cos[head_order]; keys: cos[head_order][::groups]
        q = [rotate_half_split(x[h], inv, pos / ratios[head_order[h]]) for h in range(num_heads)]
        k = [rotate_half_split(x[g], inv, pos / ratios[head_order[g * groups]]) for g in range(num_heads // groups)]
        rows.append({"pos": pos, "q": q, "k": k})
    return {
        "source": "VITA-Group/Ms-PoE utils/modify_arch/llama.py MsPoELlamaRotaryEmbedding._set_cos_sin_cache and "
                  "MsPoELlamaAttention.forward (cos[head_order] for q, sample_rotary_emb(cos, groups) for k)",
        "head_dim": d, "base": base, "num_heads": num_heads, "kv_groups": groups, "min_ratio": min_ratio,
        "max_ratio": max_ratio, "head_order": head_order, "ratios": ratios, "x": x, "rows": rows,
    }


# ---- rope.mhrope: JJJYmmm/Multimodal-RoPEs freq_allocation/mhrope.py + README apply_multihead_rotary_pos_emb --

def kat_rope_mhrope():
    d, base, kv_heads, n_repeat, section = 16, 10000.0, 4, 2, [1, 1, 1]   # one KV head each for t, h, w; one NoPE
    inv = [1.0 / (base ** (k / d)) for k in range(0, d, 2)]
    tokens = [[3.0, 3.0, 3.0], [7.0, 8.0, 10.0], [7.0, 9.0, 5.0]]      # a text token, two video tokens (t, h, w)
    xq = [head_vector(d, 20 + h) for h in range(kv_heads * n_repeat)]
    xk = [head_vector(d, 40 + h) for h in range(kv_heads)]
    rows = []
    for tok in tokens:
        # apply_transformation: head list = [t]*1 + [h]*1 + [w]*1 + [zeros]*(kv_heads - 3)
        head_freq_rows = []
        for m, num in enumerate(section):
            head_freq_rows += [[tok[m] * f for f in inv]] * num
        head_freq_rows += [[0.0] * (d // 2)] * (kv_heads - sum(section))
        def rot(x, freqs):
            n = d // 2
            y = [0.0] * d
            for i in range(n):
                c, s_ = math.cos(freqs[i]), math.sin(freqs[i])
                y[i] = x[i] * c - x[i + n] * s_
                y[i + n] = x[i + n] * c + x[i] * s_
            return y
        k = [rot(xk[g], head_freq_rows[g]) for g in range(kv_heads)]
        q = [rot(xq[h], head_freq_rows[h // n_repeat]) for h in range(kv_heads * n_repeat)]  # repeat_interleave
        rows.append({"pos": tok, "q": q, "k": k})
    return {
        "source": "JJJYmmm/Multimodal-RoPEs freq_allocation/mhrope.py MHRopeEmbedding.apply_transformation (KV heads per "
                  "axis, zero-padded) and README apply_multihead_rotary_pos_emb (queries: repeat_interleave); split halves",
        "head_dim": d, "base": base, "kv_heads": kv_heads, "kv_groups": n_repeat, "head_sections": section,
        "xq": xq, "xk": xk, "rows": rows,
    }


def main():
    out = {"rope_p": kat_rope_p(), "rope_giraffe": kat_rope_giraffe(),
           "rope_rmt": kat_rope_rmt(), "rope_vrope": kat_rope_vrope(),
           "rope_hope_vlm": kat_rope_hope_vlm(), "rope_entropy_abf": kat_rope_entropy_abf(),
           "rope_string": kat_rope_string(), "rope_mspoe": kat_rope_mspoe(),
           "rope_mhrope": kat_rope_mhrope()}
    with open("tests/data/kat/t2.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
