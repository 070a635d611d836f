#!/usr/bin/env python3
"""Known-answer data for seqpe (tests/test_seqpe.c, kat_authors_forward).

Pure Python 3 (math, json only). Deterministic: running it twice writes byte-identical output.
Run from the repository root:

    python3 tests/kat/gen_kat_seqpe.py      # writes tests/data/kat/seqpe.json

An independent transcription (written from scratch, in the operation order of the original) of the authors' forward
pass, ghrua/seqpe: PeUtils.pos2seq / prepare_seqpe_data (left padding with pad value 0), get_pos_of_seqpe,
get_seqpe_mask (tril or ones, the pad columns cleared under mask_padding, the class column kept), SequentialPE.forward
(token + slot embeddings, the class token appended last, the blocks, the optional last LayerNorm over every row, the
last row through out_proj), SequentialPeBlock.forward (pre-LN, residuals), SequentialPeAttention._attn (q k^T /
sqrt(head_dim), + finfo.min * (1 - mask), softmax), SequentialPeMLP (c_fc, gelu_new, c_proj), Conv1D (x W + b, W
[in, out]). In float64 (the original runs float32); finfo.min is float64's here. The model's tensors are kept by name
and packed into pecs' w layout (reference/seqpe.c) only at the end.
"""

import json
import math

FINFO_MIN = -1.7976931348623157e308


def det_weight(i, scale, centre=0.0):
    # deterministic, irregular values in [centre - scale, centre + scale): a splitmix64 finaliser of the index (no RNG,
    # reproducible in any language; a linear congruence gives near rank-1 matrices that make the encoder degenerate)
    z = (i * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z ^= z >> 31
    return centre + scale * ((z >> 11) * 2.0 ** -52 - 1.0)


def pos2seq(number, max_digits, pad_value=0):
    num_list = [int(d) for d in str(number)]
    num_zeros = max_digits - len(num_list)
    assert num_zeros >= 0, "more digits than max_digits: pos_of_seqpe_embed has no row for them"
    return [pad_value] * num_zeros + num_list, [0] * num_zeros + [1] * len(num_list)


def layer_norm(v, g, b, eps=1e-5):
    n = len(v)
    mean = sum(v) / n
    var = sum((x - mean) ** 2 for x in v) / n
    return [(v[c] - mean) / math.sqrt(var + eps) * g[c] + b[c] for c in range(n)]


def conv1d(v, W, b):
    # transformers' Conv1D: x @ weight + bias, weight [nx, nf]
    return [sum(v[i] * W[i][j] for i in range(len(v))) + b[j] for j in range(len(b))]


def gelu_new(x):
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * math.pow(x, 3.0))))


def make_model(m, h, nl, D, salt):
    k = [salt]

    def nxt(scale, centre=0.0):
        k[0] += 1
        return det_weight(k[0], scale, centre)

    def mat(r, c, scale, centre=0.0):
        return [[nxt(scale, centre) for _ in range(c)] for _ in range(r)]

    model = {
        "tok": mat(10, h, 1.0),              # token_of_seqpe_embed.weight [10, h]
        "pe": mat(m, h, 1.0),                # pos_of_seqpe_embed.weight [m, h]
        "cls": [nxt(1.0) for _ in range(h)],  # cls_token_embed [1, 1, h]
        "lnf_g": [nxt(0.5, 1.0) for _ in range(h)], "lnf_b": [nxt(0.2) for _ in range(h)],
        "blocks": [],
        "out_w": mat(D, h, 1.0),             # nn.Linear(h, D).weight [D, h]
        "out_b": [nxt(0.5) for _ in range(D)],
    }
    for _ in range(nl):
        model["blocks"].append({
            "ln1_g": [nxt(0.5, 1.0) for _ in range(h)], "ln1_b": [nxt(0.2) for _ in range(h)],
            "attn_w": mat(h, 3 * h, 1.0), "attn_b": [nxt(0.3) for _ in range(3 * h)],
            "proj_w": mat(h, h, 1.0), "proj_b": [nxt(0.3) for _ in range(h)],
            "ln2_g": [nxt(0.5, 1.0) for _ in range(h)], "ln2_b": [nxt(0.2) for _ in range(h)],
            "fc_w": mat(h, 4 * h, 1.0), "fc_b": [nxt(0.3) for _ in range(4 * h)],
            "mp_w": mat(4 * h, h, 0.5), "mp_b": [nxt(0.3) for _ in range(h)],
        })
    return model


def seqpe_forward(model, positions, m, h, nh, direction, mask_padding, last_ln):
    hd = h // nh
    out = []
    for p in positions:
        x, pad_mask = pos2seq(p, m)
        L = len(x)
        pos_of_x = list(range(L))                                        # get_pos_of_seqpe
        n = L + 1                                                        # add_cls_mask
        if direction == "bi":
            mask = [[1.0] * n for _ in range(n)]
        else:
            mask = [[1.0 if j <= i else 0.0 for j in range(n)] for i in range(n)]
        if mask_padding:
            cols = [float(v) for v in pad_mask] + [1.0]
            mask = [[mask[i][j] * cols[j] for j in range(n)] for i in range(n)]
        hs = [[model["tok"][x[s]][c] + model["pe"][pos_of_x[s]][c] for c in range(h)] for s in range(L)]
        hs.append(list(model["cls"]))                                   # cls last, without PE
        for blk in model["blocks"]:
            residual = hs
            a = [layer_norm(v, blk["ln1_g"], blk["ln1_b"]) for v in hs]
            qkv = [conv1d(v, blk["attn_w"], blk["attn_b"]) for v in a]
            merged = [[0.0] * h for _ in range(n)]
            for head in range(nh):
                q = [r[head * hd:(head + 1) * hd] for r in (row[0:h] for row in qkv)]
                kk = [r[head * hd:(head + 1) * hd] for r in (row[h:2 * h] for row in qkv)]
                vv = [r[head * hd:(head + 1) * hd] for r in (row[2 * h:3 * h] for row in qkv)]
                for i in range(n):
                    w = [sum(q[i][e] * kk[j][e] for e in range(hd)) / (hd ** 0.5) for j in range(n)]
                    w = [w[j] + FINFO_MIN * (1 - mask[i][j]) for j in range(n)]
                    mx = max(w)
                    ex = [math.exp(v - mx) for v in w]
                    s = sum(ex)
                    pr = [v / s for v in ex]
                    for e in range(hd):
                        merged[i][head * hd + e] = sum(pr[j] * vv[j][e] for j in range(n))
            attn = [conv1d(v, blk["proj_w"], blk["proj_b"]) for v in merged]
            hs = [[attn[i][c] + residual[i][c] for c in range(h)] for i in range(n)]
            residual = hs
            m2 = [layer_norm(v, blk["ln2_g"], blk["ln2_b"]) for v in hs]
            ff = [conv1d([gelu_new(z) for z in conv1d(v, blk["fc_w"], blk["fc_b"])], blk["mp_w"], blk["mp_b"]) for v in m2]
            hs = [[residual[i][c] + ff[i][c] for c in range(h)] for i in range(n)]
        if last_ln:
            hs = [layer_norm(v, model["lnf_g"], model["lnf_b"]) for v in hs]
        z = hs[-1]
        out.append([sum(z[c] * model["out_w"][d][c] for c in range(h)) + model["out_b"][d]
                    for d in range(len(model["out_b"]))])
    return out


def pack(model, m, h, nl, D):
    F = 4 * h
    rows = m + 13 + nl * (7 * h + 8) + D
    w = [[0.0] * F for _ in range(rows)]

    def put(r, vec):
        for c, v in enumerate(vec):
            w[r][c] = v

    for d in range(10):
        put(d, model["tok"][d])
    for s in range(m):
        put(10 + s, model["pe"][s])
    put(10 + m, model["cls"])
    put(11 + m, model["lnf_g"])
    put(12 + m, model["lnf_b"])
    for l, blk in enumerate(model["blocks"]):
        B = 13 + m + l * (7 * h + 8)
        put(B, blk["ln1_g"])
        put(B + 1, blk["ln1_b"])
        for i in range(h):
            put(B + 2 + i, blk["attn_w"][i])
        put(B + 2 + h, blk["attn_b"])
        for i in range(h):
            put(B + 3 + h + i, blk["proj_w"][i])
        put(B + 3 + 2 * h, blk["proj_b"])
        put(B + 4 + 2 * h, blk["ln2_g"])
        put(B + 5 + 2 * h, blk["ln2_b"])
        for i in range(h):
            put(B + 6 + 2 * h + i, blk["fc_w"][i])
        put(B + 6 + 3 * h, blk["fc_b"])
        for i in range(4 * h):
            put(B + 7 + 3 * h + i, blk["mp_w"][i])
        put(B + 7 + 7 * h, blk["mp_b"])
    O = 13 + m + nl * (7 * h + 8)
    for d in range(D):
        put(O + d, model["out_w"][d])
        w[O + d][h] = model["out_b"][d]
    return w


def main():
    cases = []
    for (m, h, nh, nl, D, direction, mp, ll, pos, salt) in [
            (3, 4, 2, 2, 5, "causal", False, True, [0, 7, 42, 305, 999, 100], 1),
            (2, 6, 3, 1, 4, "bi", True, False, [0, 5, 10, 99], 5000),
            (4, 4, 1, 3, 3, "causal", True, True, [0, 1, 60, 1000, 9999], 9000),
            (5, 8, 4, 2, 6, "bi", False, True, [0, 19999, 12345, 70000], 20000)]:
        model = make_model(m, h, nl, D, salt)
        cases.append({"max_digits": m, "hidden": h, "attn_heads": nh, "layers": nl, "dim": D,
                      "direction": direction, "mask_padding": mp, "last_layernorm": ll, "pos": pos,
                      "w": pack(model, m, h, nl, D),
                      "P": seqpe_forward(model, pos, m, h, nh, direction, mp, ll)})
    out = {"seqpe": {
        "source": "ghrua/seqpe text_seq_pe/src/transformers/custom_modules/sequential_pe.py (SequentialPE.forward, "
                  "SequentialPeBlock, SequentialPeAttention._attn, SequentialPeMLP) and image_seqpe/models/pe_utils.py "
                  "(PeUtils.pos2seq, get_pos_of_seqpe, get_seqpe_mask)",
        "cases": cases}}
    with open("tests/data/kat/seqpe.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
