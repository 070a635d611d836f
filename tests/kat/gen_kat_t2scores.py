#!/usr/bin/env python3
"""Known-answer data for the tier-2 scores encodings (tests/test_t2scores.c).

Pure Python 3 (math, json only; NumPy is not installed here, and the other KAT generators are pure Python too).
Deterministic: running it twice writes byte-identical output. Run from the repository root:

    python3 tests/kat/gen_kat_t2scores.py      # writes tests/data/kat/t2scores.json

Each section is an independent transcription, in the operation order of the original, of the public code named in
its "source" field; the original's tensor algorithm is kept (tensor2tensor's pad/reshape/slice skewing for music,
Transformer-XL's _rel_shift for txl), so the C references (direct forms) are checked against the papers' own
algorithms. Inputs are small dyadic-ish values from a fixed linear congruential sequence; outputs are float64
(the originals run in float32; the C reference computes in double, the tests compare to ~1e-12). Masked logits are
written as null.
"""

import json
import math


class Lcg:
    """Fixed input sequence: values k/64 - 1 for k in 0..127 (exact in every dtype the tests use)."""

    def __init__(self, seed):
        self.s = seed

    def next(self):
        self.s = (self.s * 1103515245 + 12345) % (1 << 31)
        return ((self.s >> 8) % 128) / 64.0 - 1.0

    def mat(self, *shape):
        if len(shape) == 1:
            return [self.next() for _ in range(shape[0])]
        return [self.mat(*shape[1:]) for _ in range(shape[0])]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def split_heads(x, h):
    """[L][H][D] -> [H][L][D] (tensor2tensor split_heads then [batch, heads, length, depth])."""
    return [[row[h] for row in x] for h in range(h)]


# ---- shaw: tensor2tensor dot_product_attention_relative ---------------------------------------------------------

def t2t_relative_positions_matrix(length_q, length_k, max_relative_position, qpos, kpos):
    # _generate_relative_positions_matrix with explicit positions: distance_mat = range_k[None, :] - range_q[:, None]
    dist = [[kpos[j] - qpos[i] for j in range(length_k)] for i in range(length_q)]
    clipped = [[max(-max_relative_position, min(max_relative_position, d)) for d in row] for row in dist]
    return [[c + max_relative_position for c in row] for row in clipped], dist


def shaw(q, k, table, K, qpos, kpos, causal):
    H, D = len(q[0]), len(q[0][0])
    Lq, Lk = len(q), len(k)
    qh, kh = split_heads(q, H), split_heads(k, H)
    qh = [[[x * D ** -0.5 for x in row] for row in head] for head in qh]   # multihead_attention: q *= depth^-0.5
    idx, dist = t2t_relative_positions_matrix(Lq, Lk, K, qpos, kpos)
    out = []
    for h in range(H):
        # _relative_attention_inner(q, k, relations_keys, transpose=True): q k^T + q a^T
        logits = [[dot(qh[h][i], kh[h][j]) + dot(qh[h][i], table[idx[i][j]]) for j in range(Lk)] for i in range(Lq)]
        out.append([[None if causal and dist[i][j] > 0 else logits[i][j] for j in range(Lk)] for i in range(Lq)])
    return out


def kat_shaw():
    cases = []
    for n, (H, D, K, qpos, kpos, causal) in enumerate([
            (2, 4, 2, [0, 1, 2, 3], [0, 1, 2, 3, 4, 5], False),        # Lq != Lk, keys after the queries visible
            (2, 4, 2, [0, 1, 2, 3], [0, 1, 2, 3, 4, 5], True),
            (1, 4, 1, [0, 100], [3, 50, 99, 200, 100], False),         # K = 1, distances far beyond K both ways
            (3, 2, 3, [4096], list(range(4088, 4097)), True)]):        # decode: one query
        r = Lcg(100 + n)
        q, k, table = r.mat(len(qpos), H, D), r.mat(len(kpos), H, D), r.mat(2 * K + 1, D)
        cases.append({"heads": H, "head_dim": D, "max_relative_position": K, "causal": causal, "qpos": qpos,
                      "kpos": kpos, "q": q, "k": k, "w": table, "logits": shaw(q, k, table, K, qpos, kpos, causal)})
    return {"source": "tensor2tensor layers/common_attention.py: multihead_attention (q *= depth^-0.5), "
                      "dot_product_attention_relative, _generate_relative_positions_matrix, _relative_attention_inner",
            "cases": cases}


# ---- huang: HF transformers BertSelfAttention, position_embedding_type="relative_key_query" (Huang et al. method 4) ----

def huang(q, k, table, max_position_embeddings, qpos, kpos, causal):
    H, D = len(q[0]), len(q[0][0])
    Lq, Lk = len(q), len(k)
    qh, kh = split_heads(q, H), split_heads(k, H)
    # distance = position_ids_l - position_ids_r; positional_embedding = distance_embedding(distance + max_pos - 1)
    emb = [[table[qpos[l] - kpos[r] + max_position_embeddings - 1] for r in range(Lk)] for l in range(Lq)]
    out = []
    for h in range(H):
        scores = [[dot(qh[h][l], kh[h][r]) for r in range(Lk)] for l in range(Lq)]
        rq = [[dot(qh[h][l], emb[l][r]) for r in range(Lk)] for l in range(Lq)]   # einsum("bhld,lrd->bhlr", q, emb)
        rk = [[dot(kh[h][r], emb[l][r]) for r in range(Lk)] for l in range(Lq)]   # einsum("bhrd,lrd->bhlr", k, emb)
        scores = [[(scores[l][r] + rq[l][r] + rk[l][r]) / math.sqrt(D) for r in range(Lk)] for l in range(Lq)]
        out.append([[None if causal and kpos[r] > qpos[l] else scores[l][r] for r in range(Lk)] for l in range(Lq)])
    return out


def kat_huang():
    cases = []
    for n, (H, D, max_pos, qpos, kpos, causal) in enumerate([
            (2, 4, 4, [0, 1, 2, 3], [0, 1, 2, 3], False),       # every distance -3..3 of a 4-token window
            (1, 4, 6, [10, 12], [7, 9, 11, 15], True),          # gaps, causal
            (3, 2, 2, [5], [4, 5, 6], False)]):                # max_position_embeddings 2: distances -1..1 only
        r = Lcg(400 + n)
        q, k, table = r.mat(len(qpos), H, D), r.mat(len(kpos), H, D), r.mat(2 * max_pos - 1, D)
        cases.append({"heads": H, "head_dim": D, "max_distance": max_pos - 1, "causal": causal, "qpos": qpos,
                      "kpos": kpos, "q": q, "k": k, "w": table,
                      "logits": huang(q, k, table, max_pos, qpos, kpos, causal)})
    return {"source": "HF transformers modeling_bert.py BertSelfAttention.forward, position_embedding_type="
                      "'relative_key_query' (distance_embedding = nn.Embedding(2*max_position_embeddings - 1, head_size))",
            "cases": cases}


# ---- music: tensor2tensor dot_product_self_attention_relative_v2 (masked) --------------------------------------

def get_relative_embeddings_left(table, max_relative_position, length, depth):
    pad_length = max(length - max_relative_position, 0)
    start_slice_position = max(max_relative_position - length, 0)
    padded = [[0.0] * depth for _ in range(pad_length)] + table
    return padded[start_slice_position:start_slice_position + length]


def relative_position_to_absolute_position_masked(x):
    """pad [L, L] with a zero column on the left, reshape to [L+1, L], drop the first row."""
    L = len(x)
    flat = []
    for row in x:
        flat += [0.0] + row
    return [flat[(r + 1) * L:(r + 2) * L] for r in range(L)]


def music(q, k, table, M):
    H, D, L = len(q[0]), len(q[0][0]), len(q)
    qh, kh = split_heads(q, H), split_heads(k, H)
    qh = [[[x * D ** -0.5 for x in row] for row in head] for head in qh]
    out = []
    for h in range(H):
        logits = [[dot(qh[h][i], kh[h][j]) for j in range(L)] for i in range(L)]
        rel_emb = get_relative_embeddings_left(table, M, L, D)            # heads_share_relative_embedding=True
        rel_logits = [[dot(qh[h][i], rel_emb[m]) for m in range(L)] for i in range(L)]   # matmul_with_relative_keys
        rel_logits = relative_position_to_absolute_position_masked(rel_logits)
        # bias: attention_bias_lower_triangle (-1e9 above the diagonal): masked, written as null
        out.append([[logits[i][j] + rel_logits[i][j] if j <= i else None for j in range(L)] for i in range(L)])
    return out


def kat_music():
    cases = []
    for n, (H, D, L, M, start) in enumerate([(2, 4, 6, 3, 0),      # L > M: the far keys get zero rows
                                               (2, 4, 6, 8, 0),      # M > L: the table is sliced
                                               (1, 4, 5, 1, 0),      # M = 1: distance 0 only
                                               (2, 2, 4, 4, 1000)]): # positions shifted: same algorithm
        r = Lcg(200 + n)
        q, k, table = r.mat(L, H, D), r.mat(L, H, D), r.mat(M, D)
        cases.append({"heads": H, "head_dim": D, "max_relative_position": M, "qpos": list(range(start, start + L)),
                      "kpos": list(range(start, start + L)), "q": q, "k": k, "w": table, "logits": music(q, k, table, M)})
    return {"source": "tensor2tensor layers/common_attention.py: dot_product_self_attention_relative_v2, "
                      "get_relative_embeddings_left, matmul_with_relative_keys, "
                      "_relative_position_to_absolute_position_masked (Music Transformer sec. 3.4.1 skewing)",
            "cases": cases}


# ---- txl: kimiyoung/transformer-xl pytorch/mem_transformer.py ---------------------------------------------------

def positional_embedding(pos_seq, demb):
    inv_freq = [1.0 / (10000 ** (i / demb)) for i in range(0, demb, 2)]
    return [[math.sin(p * f) for f in inv_freq] + [math.cos(p * f) for f in inv_freq] for p in pos_seq]


def rel_shift(x):
    """x [qlen][klen]: zero column on the left, view as [klen+1][qlen], drop the first row, view as [qlen][klen]."""
    qlen, klen = len(x), len(x[0])
    flat = []
    for row in x:
        flat += [0.0] + row
    flat = flat[qlen:]
    return [flat[i * klen:(i + 1) * klen] for i in range(qlen)]


def txl(q, k, r_net_w, r_w_bias, r_r_bias, d_model, clamp_len):
    qlen, klen, H, D = len(q), len(k), len(q[0]), len(q[0][0])
    mlen = klen - qlen
    pos_seq = [float(klen - 1 - m) for m in range(klen)]           # torch.arange(klen-1, -1, -1.0)
    if clamp_len > 0:
        pos_seq = [min(p, clamp_len) for p in pos_seq]
    r = positional_embedding(pos_seq, d_model)                    # [klen, d_model]
    # r_head_k = r_net(r): [klen, n_head * d_head], then view [klen, n_head, d_head]
    r_head_k = [[dot(r_net_w[o], r[m]) for o in range(H * D)] for m in range(klen)]
    scale = 1.0 / D ** 0.5
    out = []
    for h in range(H):
        ac = [[dot([q[i][h][d] + r_w_bias[h][d] for d in range(D)], k[j][h]) for j in range(klen)] for i in range(qlen)]
        bd = [[dot([q[i][h][d] + r_r_bias[h][d] for d in range(D)], r_head_k[m][h * D:(h + 1) * D]) for m in range(klen)]
              for i in range(qlen)]
        bd = rel_shift(bd)
        # dec_attn_mask = triu(ones(qlen, klen), diagonal=1+mlen): masked where j > i + mlen
        out.append([[None if j > i + mlen else (ac[i][j] + bd[i][j]) * scale for j in range(klen)] for i in range(qlen)])
    return out


def kat_txl():
    cases = []
    for n, (H, D, d_model, qlen, mlen, clamp_len, start) in enumerate([
            (2, 4, 6, 3, 2, 0, 0),        # a segment of 3 over 2 memory positions
            (2, 4, 6, 3, 2, 2, 0),        # clamp_len 2: distances 3 and 4 use R(2)
            (1, 2, 4, 4, 0, 0, 0),        # no memory, Lq = Lk
            (2, 2, 8, 1, 6, 0, 500)]):    # decode: one query over 6 memory positions, shifted
        rg = Lcg(300 + n)
        klen = qlen + mlen
        q, k = rg.mat(qlen, H, D), rg.mat(klen, H, D)
        r_net_w, u, v = rg.mat(H * D, d_model), rg.mat(H, D), rg.mat(H, D)
        # pecs layout w [H*D, d_model + 2]: row h*D+d = r_net.weight[h*D+d], then u[h][d], then v[h][d]
        w = [r_net_w[o] + [u[o // D][o % D], v[o // D][o % D]] for o in range(H * D)]
        cases.append({"heads": H, "head_dim": D, "d_model": d_model, "clamp_len": clamp_len,
                      "qpos": list(range(start + mlen, start + klen)), "kpos": list(range(start, start + klen)),
                      "q": q, "k": k, "w": w, "logits": txl(q, k, r_net_w, u, v, d_model, clamp_len)})
    return {"source": "kimiyoung/transformer-xl pytorch/mem_transformer.py: PositionalEmbedding, "
                      "MemTransformerLM._forward (pos_seq, clamp_len, dec_attn_mask), "
                      "RelPartialLearnableMultiHeadAttn.forward and _rel_shift",
            "cases": cases}


def main():
    out = {"shaw": kat_shaw(), "huang": kat_huang(), "music": kat_music(), "txl": kat_txl()}
    with open("tests/data/kat/t2scores.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
