#!/usr/bin/env python3
"""Known-answer data for the tier-2 embed encodings (tests/test_t2embed.c).

Pure Python 3 (math, json only). Deterministic: running it twice writes byte-identical output.
Run from the repository root:

    python3 tests/kat/gen_kat_t2embed.py      # writes tests/data/kat/t2embed.json

Each section is an independent transcription (written from scratch, in the operation order of the original) of
the public code named in its "source" field, in float64 (the originals build float32 tables; the C reference
computes in double, so the tests compare to ~1e-12 absolute). Each entry holds the added term P[t][d] only
(the encoding's row for token t), not x + P.
"""

import json
import math


# ---- fairseq's sinusoid table (get_embedding with length=None), as the LDPE code builds it --------------------

def fairseq_table_row(r, dim, padding_idx):
    half = dim // 2
    step = math.log(10000) / (half - 1)
    w = [math.exp(i * -step) for i in range(half)]
    row = [math.sin(r * wi) for wi in w] + [math.cos(r * wi) for wi in w]
    if dim % 2 == 1:
        row.append(0.0)
    if r == padding_idx:
        row = [0.0] * dim
    return row


# ---- ldpe: takase/control-length SinusoidalPositionalEmbedding.forward, sinpostype='absolute' --------------------

def ldpe(length, tokens, dim):
    padding_idx = 1                                       # fairseq dictionaries' pad()
    positions = [padding_idx + 1 + t for t in range(tokens)]   # make_positions, no pad tokens
    minuspos = [(length + 3) - p for p in positions]      # "add 3 to set range value with positions"
    assert min(minuspos) >= 0, "index_select would fail"
    return [fairseq_table_row(r, dim, padding_idx) for r in minuspos]


# ---- pia: ofirpress/shortformer SinusoidalPositionalEmbedding.forward + TransformerDecoderLayer.forward ----------

def pia(cache, current, dim, padding_idx):
    # forward() tiles the input so that positions cover [cache; current]; make_positions numbers tokens from
    # padding_idx + 1 (no pad tokens in the LM stream)
    n = cache + current
    positions = [fairseq_table_row(padding_idx + 1 + j, dim, padding_idx) for j in range(n)]
    pos_key = positions[:n]                      # y = [cache; x]
    pos_query = positions[n - current:n]         # training: the current subsequence's indices
    return pos_query, pos_key


# ---- fourier: Algorithm 1 as transcribed in willGuimont/learnable_fourier_positional_encoding (M = 1, G = 1) ------

def det_weight(i, scale):
    # deterministic, irregular values in [-scale, scale): no RNG, reproducible in any language
    return scale * (((i * 7919 + 104729) % 2003) / 1001.5 - 1.0)


def fourier_weights(F, H, D):
    wr = [det_weight(k + 1, 1.5) for k in range(F // 2)]                       # Linear(M=1, F/2).weight[k][0]
    w1 = [[det_weight(100 + r * F + f, 1.0) for f in range(F)] for r in range(H)]  # Linear(F, H).weight[r][f]
    b1 = [det_weight(5000 + r, 0.5) for r in range(H)]
    w2 = [[det_weight(9000 + d * H + r, 1.0) for r in range(H)] for d in range(D)]  # Linear(H, D).weight[d][r]
    b2 = [det_weight(20000 + d, 0.5) for d in range(D)]
    return wr, w1, b1, w2, b2


def gelu(z):
    return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))    # nn.GELU() default (approximate='none')


def fourier(pos, F, H, D):
    wr, w1, b1, w2, b2 = fourier_weights(F, H, D)
    out = []
    for x in pos:
        projected = [x * wr[k] for k in range(F // 2)]
        feats = [math.cos(a) for a in projected] + [math.sin(a) for a in projected]
        feats = [v / math.sqrt(F) for v in feats]             # 1 / np.sqrt(self.F_dim) * cat([cos, sin])
        hidden = [gelu(sum(feats[f] * w1[r][f] for f in range(F)) + b1[r]) for r in range(H)]
        out.append([sum(hidden[r] * w2[d][r] for r in range(H)) + b2[d] for d in range(D)])
    # the weights in pecs' layout w [H+1, F+D+1]
    w = [[0.0] * (F + D + 1) for _ in range(H + 1)]
    for r in range(H):
        for f in range(F):
            w[r][f] = w1[r][f]
        w[r][F] = b1[r]
        for d in range(D):
            w[r][F + 1 + d] = w2[d][r]
    for k in range(F // 2):
        w[H][k] = wr[k]
    for d in range(D):
        w[H][F + 1 + d] = b2[d]
    return w, out


def main():
    out = {
        "ldpe": {
            "source": "takase/control-length encdec/fairseq/modules/sinusoidal_positional_embedding.py "
                      "(forward, sinpostype='absolute'; get_embedding, length=None)",
            "cases": [
                {"length": L, "tokens": T, "dim": D, "P": ldpe(L, T, D)}
                for (L, T, D) in [(5, 7, 8), (0, 2, 9), (75, 77, 16), (300, 12, 6)]
            ],
        },
        "pia": {
            "source": "ofirpress/shortformer fairseq/modules/transformer_layer.py (pos_key, pos_query) and "
                      "sinusoidal_positional_embedding.py (get_embedding, make_positions)",
            "cases": [
                {"cache": C, "current": N, "dim": D, "padding_idx": PI,
                 "Pq": pia(C, N, D, PI)[0], "Pk": pia(C, N, D, PI)[1]}
                for (C, N, D, PI) in [(3, 4, 8, 1), (0, 5, 9, 1), (6, 6, 12, 0), (128, 2, 6, 1)]
            ],
        },
        "fourier": {
            "source": "willGuimont/learnable_fourier_positional_encoding learnable_fourier_pos_encoding.py "
                      "(LearnableFourierPositionalEncoding.forward, Algorithm 1 of Li et al. 2021)",
            "cases": [
                {"features": F, "hidden": H, "dim": D, "pos": P,
                 "w": fourier(P, F, H, D)[0], "P": fourier(P, F, H, D)[1]}
                for (F, H, D, P) in [(2, 1, 4, [0, 1, 2, 7]), (8, 4, 6, [0, 3, 10, 100, 4095]),
                                     (16, 8, 5, [0, 1, 65536, 1000003])]
            ],
        },
    }
    with open("tests/data/kat/t2embed.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
