/* reference/seqpe.c — SeqPE (Li et al. 2025, arXiv 2506.13277): a position written as its decimal digits, encoded by a
 * small learned causal transformer whose last (class) token is projected to the model width and added to x.
 *
 * Source checked (2026-12-07, through the search tool): the authors' code, ghrua/seqpe. The 1-D (text) path:
 *   text_seq_pe/src/transformers/custom_modules/sequential_pe.py @289305de: class SequentialPE (__init__, forward),
 *     SequentialPeBlock.forward, SequentialPeAttention._attn / forward, SequentialPeMLP.forward;
 *   image_seqpe/models/sequential_pe.py @1cdf4803: the same classes (identical forward; only the init differs: trunc
 *     normal instead of normal, both std 0.02);
 *   image_seqpe/models/pe_utils.py @1cdf4803 (the text tree keeps its own copy, listed, not read): PeUtils.pos2seq (str(number)
 *     digits, left padding with pad_value), prepare_seqpe_data, get_pos_of_seqpe (digit slot s = 0..max_digits-1),
 *     get_seqpe_mask (tril for 'causal', ones for 'bi'; with mask_padding the pad slots' columns are cleared, the class
 *     column kept), get_digit_num (max_digits = len(str(max_position - 1)));
 *   text_seqpe/src/transformers/custom_modules/pe_sampler.py SeqPeMainTaskPosSampler (pad_value 0, left padding: the
 *     prepare_seqpe_data defaults); text_seqpe/.../build.py build_pe_model (use_cls_token=True always);
 *   image_seqpe/models/activations.py NewGELUActivation ('gelu_new', the tanh form), image_seqpe/main.py parse_option
 *     (defaults: seqpe_layer_num 2, causal, seqpe_mask_padding False, heads pe_embed_dim // 64, temperature 1.0;
 *     the run scripts pass --seqpe_last_layernorm); image_seqpe/config.py (input_add: out_proj_dim = the model width).
 *
 * Map (m = max_digits, h = hidden, nh = heads, hd = h / nh, eps = 1e-5, LN(v) = (v - mean) / sqrt(var + eps) * g + b
 * with the biased variance): position p (an integer, 0 <= p < 10^m) -> its decimal digits, left-padded with the digit 0
 * to m slots (p = 0 is the one digit "0"); slot s < m holds the token E_tok[digit] + E_pos[s]; slot m is the class token
 * (cls, no slot embedding). Each layer, pre-LN (GPT-2 block): a = LN1(h); [q | k | v] = a W_attn + b_attn (Conv1D:
 * x W + b, W [h, 3h]); per head, softmax over the allowed keys of q.k / sqrt(hd), allowed = (j <= i for 'causal', all
 * for 'bi') and (j not a pad slot when mask_padding); h += (merged heads) W_o + b_o; h += gelu_new(LN2(h) W_fc + b_fc)
 * W_mp + b_mp (W_fc [h, 4h]). Then z = h[m] (the class token, x[:, -1]), LN_f(z) when last_layernorm, and
 * P = z W_out^T + b_out (nn.Linear(h, D)). Dropout is off at inference. Under mask_padding a pad query row has no
 * allowed key (torch: a uniform softmax over finfo.min logits); no allowed row ever reads it, so it is not computed.
 * Not parameters (fixed by the code): the base (nn.Embedding(10, h), str(number)), the MLP width 4h, eps, the attention
 * scale 1/sqrt(hd); seqpe_temperature (1.0 in every script) only scales W_out and b_out, so it is folded into them.
 * Not represented: data_dim 2 (the image path: a position pair's two digit strings concatenated, 2m slots, plus a
 * per-axis dim_token_embed); the embed form here carries one position row.
 *
 * "w" [max_digits + 13 + layers (7h + 8) + D, 4h] (registry), one vector per row from column 0, unused columns 0:
 *   rows 0..9 E_tok (token_of_seqpe_embed.weight), rows 10..10+m-1 E_pos (pos_of_seqpe_embed.weight), row 10+m cls,
 *   rows 11+m and 12+m LN_f weight and bias (read only when last_layernorm); layer l from B = 13 + m + l (7h + 8):
 *   B, B+1 ln_1 weight, bias; B+2 .. B+1+h c_attn.weight [h, 3h]; B+2+h c_attn.bias [3h]; B+3+h .. B+2+2h
 *   attn.c_proj.weight [h, h]; B+3+2h its bias; B+4+2h, B+5+2h ln_2 weight, bias; B+6+2h .. B+5+3h mlp.c_fc.weight
 *   [h, 4h]; B+6+3h its bias [4h]; B+7+3h .. B+6+7h mlp.c_proj.weight [4h, h]; B+7+7h its bias. Then D rows
 *   O = 13 + m + layers (7h + 8): row O+d = out_proj.weight[d][0..h-1], out_proj.bias[d] in column h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

#define SEQPE_EPS 1e-5

/* y = LN(v) with weight row g and bias row g + 1 of w (n = h). */
static void seqpe_ln(const double *v, int64_t h, const double *wd, const pecs_tensor *w, int64_t g, double *y)
{
    double mean = 0.0, var = 0.0;
    for (int64_t c = 0; c < h; c++)
        mean += v[c];
    mean /= (double)h;
    for (int64_t c = 0; c < h; c++)
        var += (v[c] - mean) * (v[c] - mean);
    double inv = 1.0 / sqrt(var / (double)h + SEQPE_EPS);
    for (int64_t c = 0; c < h; c++)
        y[c] = (v[c] - mean) * inv * wd[g * w->stride[0] + c * w->stride[1]] + wd[(g + 1) * w->stride[0] + c * w->stride[1]];
}

PECS_REF_HOOK_EMBED(seqpe)
{
    int64_t m = pecs_param_int(p, "max_digits", 5), h = pecs_param_int(p, "hidden", 16),
            nh = pecs_param_int(p, "attn_heads", 2), nl = pecs_param_int(p, "layers", 2);
    int bi = pecs_param_is(p, "direction", "bi"), mask_pad = (int)pecs_param_int(p, "mask_padding", 0),
        last_ln = (int)pecs_param_int(p, "last_layernorm", 1);
    if (m < 1 || m > 15 || h < 1 || nh < 1 || nl < 1 || h % nh) {
        snprintf(why, why_len, "seqpe: hidden %lld must be a multiple of attn_heads %lld (and max_digits %lld in 1..15)",
                 (long long)h, (long long)nh, (long long)m);
        return PECS_INVALID;
    }
    double lim = pow(10.0, (double)m);
    if (pos != floor(pos) || pos < 0 || pos >= lim) {
        snprintf(why, why_len, "seqpe: position %.17g is not an integer of at most max_digits %lld decimal digits (0 .. %.0f)",
                 pos, (long long)m, lim - 1);
        return PECS_INVALID;
    }
    int64_t F = 4 * h, per = 7 * h + 8, O = 13 + m + nl * per;
    const pecs_tensor *w = pecs_ref_weights(p, O + D, F, why, why_len);
    if (!w)
        return PECS_INVALID;
    const double *wd = w->data;
#define W(r, c) wd[(r) * w->stride[0] + (c) * w->stride[1]]
    int64_t L = m + 1, hd = h / nh;
    double *hs = malloc((size_t)(L * h) * sizeof *hs), *a = malloc((size_t)(L * h) * sizeof *a),
           *qkv = malloc((size_t)(L * 3 * h) * sizeof *qkv), *o = malloc((size_t)h * sizeof *o),
           *u = malloc((size_t)F * sizeof *u), *pr = malloc((size_t)L * sizeof *pr);
    int digit[16], pad[16];
    pecs_status st = PECS_OK;
    if (!hs || !a || !qkv || !o || !u || !pr) {
        snprintf(why, why_len, "seqpe: out of memory");
        st = PECS_NOMEM;
        goto done;
    }
    /* decimal digits, most significant first, left-padded with 0 (pad slots) */
    {
        double r = pos;
        int n = 0;
        do {
            n++;
            digit[m - n] = (int)fmod(r, 10.0);
            r = floor(r / 10.0);
        } while (r > 0);
        for (int64_t s = 0; s < m; s++) {
            pad[s] = s < m - n;
            if (pad[s])
                digit[s] = 0;
        }
        pad[m] = 0;
    }
    for (int64_t s = 0; s < m; s++)
        for (int64_t c = 0; c < h; c++)
            hs[s * h + c] = W(digit[s], c) + W(10 + s, c);
    for (int64_t c = 0; c < h; c++)
        hs[m * h + c] = W(10 + m, c);
    for (int64_t l = 0; l < nl; l++) {
        int64_t B = 13 + m + l * per;
        for (int64_t i = 0; i < L; i++) {
            seqpe_ln(hs + i * h, h, wd, w, B, a + i * h);
            for (int64_t c = 0; c < 3 * h; c++) {
                double z = W(B + 2 + h, c);
                for (int64_t e = 0; e < h; e++)
                    z += a[i * h + e] * W(B + 2 + e, c);
                qkv[i * 3 * h + c] = z;
            }
        }
        for (int64_t i = 0; i < L; i++) {
            if (mask_pad && pad[i])
                continue; /* no allowed key; never read by an allowed row */
            for (int64_t hh = 0; hh < nh; hh++) {
                double mx = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j < L; j++) {
                    pr[j] = -INFINITY;
                    if ((!bi && j > i) || (mask_pad && pad[j]))
                        continue;
                    double s = 0.0;
                    for (int64_t e = 0; e < hd; e++)
                        s += qkv[i * 3 * h + hh * hd + e] * qkv[j * 3 * h + h + hh * hd + e];
                    pr[j] = s / sqrt((double)hd);
                    if (pr[j] > mx)
                        mx = pr[j];
                }
                for (int64_t j = 0; j < L; j++) {
                    pr[j] = pr[j] == -INFINITY ? 0.0 : exp(pr[j] - mx);
                    sum += pr[j];
                }
                for (int64_t e = 0; e < hd; e++) {
                    double v = 0.0;
                    for (int64_t j = 0; j < L; j++)
                        v += pr[j] * qkv[j * 3 * h + 2 * h + hh * hd + e];
                    o[hh * hd + e] = v / sum;
                }
            }
            for (int64_t c = 0; c < h; c++) {
                double z = W(B + 3 + 2 * h, c);
                for (int64_t e = 0; e < h; e++)
                    z += o[e] * W(B + 3 + h + e, c);
                a[i * h + c] = z; /* the row's LN1 output is no longer needed */
            }
        }
        for (int64_t i = 0; i < L; i++) {
            if (mask_pad && pad[i])
                continue;
            for (int64_t c = 0; c < h; c++)
                hs[i * h + c] += a[i * h + c];
            seqpe_ln(hs + i * h, h, wd, w, B + 4 + 2 * h, o);
            for (int64_t f = 0; f < F; f++) {
                double z = W(B + 6 + 3 * h, f);
                for (int64_t e = 0; e < h; e++)
                    z += o[e] * W(B + 6 + 2 * h + e, f);
                u[f] = 0.5 * z * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (z + 0.044715 * z * z * z)));
            }
            for (int64_t c = 0; c < h; c++) {
                double z = W(B + 7 + 7 * h, c);
                for (int64_t f = 0; f < F; f++)
                    z += u[f] * W(B + 7 + 3 * h + f, c);
                hs[i * h + c] += z;
            }
        }
    }
    if (last_ln)
        seqpe_ln(hs + m * h, h, wd, w, 11 + m, o);
    else
        memcpy(o, hs + m * h, (size_t)h * sizeof *o);
    for (int64_t d = 0; d < D; d++) {
        double z = W(O + d, h);
        for (int64_t c = 0; c < h; c++)
            z += o[c] * W(O + d, c);
        row[d] = z;
    }
#undef W
done:
    free(hs), free(a), free(qkv), free(o), free(u), free(pr);
    return st;
}
