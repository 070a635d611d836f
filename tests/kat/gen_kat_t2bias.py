#!/usr/bin/env python3
"""Known-answer data for the tier-2 bias encodings (tests/test_t2bias.c).

Pure Python 3 (math, json, struct only). Deterministic: running it twice writes byte-identical output.
Run from the repository root:

    python3 tests/kat/gen_kat_t2bias.py      # writes tests/data/kat/t2bias.json

Each section is an independent transcription (written from scratch, in the operation order of the original) of
the public code named in its "source" field. Real-valued biases are float64 (the originals run in float32; the C
reference computes in double, so the tests compare to ~1e-13 relative). Integer bucket indices are what the
originals compute in float32: the float32 steps are emulated with struct (every step of these formulas is one
correctly rounded operation, so rounding the float64 result of each step to float32 reproduces it), and
torch.round is round-half-to-even, as Python's round().
"""

import json
import math
import struct


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


# ---- ALiBi slopes: ofirpress get_slopes (imported as _get_alibi_slopes by Cerebras, get_slopes by BAM) --------

def get_slopes(n):
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    p = 2 ** math.floor(math.log2(n))
    return power_of_2(p) + get_slopes(2 * p)[0::2][:n - p]


# ---- alibi.pi: Cerebras AlibiPositionEmbeddingLayer with alibi_scaling (JAIS / BTLM) --------------------------

def alibi_pi(heads, qpos, kpos, factor=None, train_seq_len=None):
    slopes = get_slopes(heads)
    key_length = len(kpos)                       # relative_position.shape[-1]
    if factor is not None:
        scale = factor
    elif train_seq_len is not None and key_length > train_seq_len:
        scale = key_length / train_seq_len
    else:
        scale = 1.0
    rel = [[abs(k - q) for k in kpos] for q in qpos]
    return scale, [[[(slopes[h] / -scale) * r for r in row] for row in rel] for h in range(heads)]


def kat_alibi_pi():
    cases = []
    for (heads, qpos, kpos, factor, train) in [
            (8, [0, 1, 2], list(range(9)), 2.0, None),
            (5, [4, 5, 6], list(range(9)), None, 4),          # 9 keys > 4: scale 9/4
            (5, [4, 5, 6], list(range(9)), None, 16),         # 9 keys <= 16: scale 1
            (12, [4096], list(range(4088, 4097)), None, 2),   # decode: one query, scale 9/2
            (3, [7, 100], [0, 50, 3000], 4.5, None)]:
        scale, bias = alibi_pi(heads, qpos, kpos, factor, train)
        cases.append({"heads": heads, "qpos": qpos, "kpos": kpos, "factor": factor or 0,
                      "train_seq_len": train or 0, "scale": scale, "bias": bias})
    return {"source": "Cerebras AlibiPositionEmbeddingLayer.forward with alibi_scaling (QCAlibiPositionEmbeddingLayer_forward "
                      "in a Qualcomm modeling_jais.py; vLLM/TGI JAIS ports): |memory - context|, (slopes / -scale) * rel",
            "formula": "scale = factor | key_len/train_seq_len if key_len > train_seq_len | 1", "cases": cases}


# ---- mpnet: HF modeling_mpnet relative_position_bucket (torch: n.float() / max_exact in float32) --------------

def mpnet_bucket(relative_position, num_buckets=32, max_distance=128):
    ret = 0
    n = -relative_position
    num_buckets //= 2
    ret += (1 if n < 0 else 0) * num_buckets
    n = abs(n)
    max_exact = num_buckets // 2
    if n < max_exact:
        return ret + n
    v = f32(f32(f32(math.log(f32(f32(n) / max_exact))) / f32(math.log(max_distance / max_exact))) *
            (num_buckets - max_exact))
    return ret + min(max_exact + int(v), num_buckets - 1)


def kat_mpnet():
    cases = []
    for (nb, md) in [(32, 128), (16, 40), (33, 128), (64, 40)]:
        cases.append({"num_buckets": nb, "max_distance": md, "rel_from": -300,
                      "buckets": [mpnet_bucket(r, nb, md) for r in range(-300, 301)]})
    return {"source": "HF transformers modeling_mpnet.py MPNetEncoder.compute_position_bias (relative_position = memory - "
                      "context) and relative_position_bucket (float32 log path)",
            "formula": "bucket of rel = key - query for rel in rel_from..-rel_from", "cases": cases}


# ---- bam: the authors' BAM repository, AttentionPrior.forward (models/bam.py) ------------------------------

def bam_prior(seq_len, theta_alpha, theta_beta, theta_mu, eps=1e-5):
    positions = list(range(seq_len))
    out = []
    for h in range(len(theta_alpha)):
        mu = math.exp(theta_mu[h]) - math.exp(-theta_mu[h])
        rows = []
        for i in range(seq_len):
            row = []
            for j in range(seq_len):
                b = (positions[j] - positions[i]) - mu       # positions[None, :] - positions[:, None]
                row.append(-((abs(b) + eps) ** theta_beta[h]) * math.exp(theta_alpha[h]))
            rows.append(row)
        out.append(rows)
    return out


def kat_bam():
    cases = []
    H = 4
    for (alpha, beta, mu) in [(get_slopes(H), [1.0] * H, [0.0] * H),                     # theta_alpha_init='slope'
                              ([0.7, -0.2, 0.05, 1.3], [1.7, 0.3, -0.4, 1.0], [0.0, 0.5, -1.2, 2.0])]:
        cases.append({"seq_len": 6, "theta_alpha": alpha, "theta_beta": beta, "theta_mu": mu,
                      "bias": bam_prior(6, alpha, beta, mu)})
    return {"source": "BAM repository (Bianchessi et al., arXiv 2505.22842) AttentionPrior.forward, models/bam.py as quoted "
                      "in its README; get_slopes for theta_alpha_init='slope'",
            "formula": "b = (j - i) - (exp(mu) - exp(-mu)); -((|b| + 1e-5) ** beta) * exp(alpha)", "cases": cases}


# ---- masa: qhfan/RMT classfication_release/RMT.py RetNetRelPos2d -------------------------------------------

def masa(H_img, W_img, heads, initial_value, heads_range):
    decay = [math.log(1 - 2 ** (-initial_value - heads_range * h / heads)) for h in range(heads)]
    grid = [(y, x) for y in range(H_img) for x in range(W_img)]        # meshgrid ij, reshape(H*W, 2)
    mask = [[abs(a[0] - b[0]) + abs(a[1] - b[1]) for b in grid] for a in grid]
    return decay, [[[m * decay[h] for m in row] for row in mask] for h in range(heads)]


def kat_masa():
    cases = []
    for (hi, wi, heads, a, b) in [(3, 4, 4, 2.0, 4.0), (2, 5, 3, 2.0, 6.0)]:
        decay, bias = masa(hi, wi, heads, a, b)
        cases.append({"height": hi, "width": wi, "heads": heads, "initial_value": a, "heads_range": b,
                      "decay": decay, "bias": bias})
    return {"source": "qhfan/RMT classfication_release/RMT.py RetNetRelPos2d.__init__ (decay) and generate_2d_decay",
            "formula": "decay_h = log(1 - 2^(-a - b h/H)); mask = (|dy| + |dx|) * decay_h over the row-major grid",
            "cases": cases}


# ---- irpe: microsoft/Cream iRPE irpe.py (float32 torch arithmetic) ------------------------------------------

def piecewise_index(x, alpha, beta, gamma):
    """One element; x an int (long tensor) or a float32 value already rounded (euclidean)."""
    ax = abs(x)
    if f32(ax) <= f32(alpha):
        return int(round(x))
    v = f32(f32(math.log(f32(f32(ax) / f32(alpha)))) / f32(math.log(gamma / alpha)))
    v = f32(v * f32(beta - alpha))
    v = f32(f32(alpha) + v)
    v = min(float(round(v)), f32(beta))           # .round().clip(max=beta)
    s = (x > 0) - (x < 0)
    return int(s * v)                             # .to(long): truncation


def irpe_buckets(method, height, width, alpha, beta, gamma):
    pos = [(r, c) for r in range(height) for c in range(width)]
    B = int(beta)
    out = []
    for p1 in pos:                                  # query
        row = []
        for p2 in pos:                              # key
            dr, dc = p1[0] - p2[0], p1[1] - p2[1]
            if method == "product":
                row.append((piecewise_index(dr, alpha, beta, gamma) + B) * (2 * B + 1) +
                           piecewise_index(dc, alpha, beta, gamma) + B)
            elif method == "euclidean":
                dis = float(round(f32(math.sqrt(f32(dr * dr + dc * dc)))))
                row.append(piecewise_index(dis, alpha, beta, gamma) + B)
            else:
                row.append(piecewise_index(dr * dr + dc * dc, alpha, beta, gamma) + B)
        out.append(row)
    return out


def kat_irpe():
    cases = []
    # ratios 1.9 (the authors' configs) and 2.5, and (1, 4, 16): there offset 4 gives ln(4)/ln(16) = 1/2 exactly
    # in float32, so v = 1 + 0.5 * 3 = 2.5, a tie that torch.round sends to 2 and C's round() to 3.
    for (alpha, beta, gamma) in [(1.9, 2 * 1.9, 8 * 1.9), (2.5, 5.0, 20.0), (1.0, 4.0, 16.0)]:
        for method in ["product", "euclidean", "quant"]:
            B = int(beta)
            nb = (2 * B + 1) ** 2 if method == "product" else 2 * B + 1
            cases.append({"method": method, "alpha": alpha, "beta": beta, "gamma": gamma, "height": 7, "width": 9,
                          "num_buckets": nb, "buckets": irpe_buckets(method, 7, 9, alpha, beta, gamma)})
    return {"source": "microsoft/Cream iRPE DeiT-with-iRPE/irpe.py piecewise_index, _rp_2d_product/_euclidean/_quant, "
                      "get_bucket_ids_2d_without_skip (diff = pos[query] - pos[key]), get_single_rpe_config "
                      "(alpha, beta, gamma = 1, 2, 8 x ratio)",
            "formula": "bucket ids [L][L], L = height*width, row-major grid, no skip token", "cases": cases}


def main():
    out = {"alibi_pi": kat_alibi_pi(), "mpnet": kat_mpnet(), "bam": kat_bam(), "masa": kat_masa(), "irpe": kat_irpe()}
    with open("tests/data/kat/t2bias.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
