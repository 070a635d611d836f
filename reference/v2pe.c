/* reference/v2pe.c — V2PE's variable visual position ids (posmap form, P = 1).
 *
 * Sources checked (2026-12-06, through the search tool): Ge et al. 2024, "V2PE: Improving Multimodal Long-Context
 * Capability of Vision-Language Models with Variable Visual Position Encoding" (arXiv 2412.09616; the paper itself
 * not read here), and the authors' code: NipElement/V2PE internvl2_5/train/internvl2_5_chat_finetune.py,
 * get_rope_pos_id of the supervised dataset (read at commit 02a1dc9f), and a stored evaluation copy of
 * get_rope_pos_id (a file beside the V2PE rotary class; its repository path is not given by the index). Both:
 *   - the tokens up to and including each <img> are text: attention-mask cumsum, i.e. the previous id + 1
 *     (the first token 0); <img> itself is a text token;
 *   - the N = num_tile * num_image_token tokens between <img> and </img> take last + k * stride /
 *     num_image_token, k = 1..N, where last is the <img> token's id (v2pe_fix: stride = rope_pos_id_stride;
 *     v2pe_rnd: stride drawn per image from 1, 2, 4, .., 256). The evaluation copy computes them with
 *     torch.linspace(last, last + s N, N + 1)[1:], the training copy with torch.arange(last, last + s (N + 1), s)[1:],
 *     both in float32 (the dtype argument), then ceil(the last of them) becomes `last`;
 *   - </img> and the text after it continue at last + 1, last + 2, ... (the next segment starts at </img>).
 * Rounding: the two copies round differently (linspace's two-sided formula vs arange's start + i step), so float32
 * rounding is not part of one definition; the reference is the exact value both approximate, in double (exact when
 * num_image_token is a power of two, as 256 is), and real ids are judged within 4 float32 ulps (harness/runner.c,
 * PECS_REAL_POSITIONS), so a float32 kernel passes. Below 2^16 every id of a 256-token tile is exact in float32.
 * Not defined by the code (its asserts reject them: pecs's extension, the same rule read token by token):
 *   - an image whose token count is not a multiple of num_image_token (the code derives num_tile by floor
 *     division and asserts </img> sits right after num_tile * num_image_token tokens): the same steps, k = 1..N;
 *   - an empty image (<img></img>: the code indexes an empty tensor): </img> at the <img> id + 1;
 *   - an <img> inside an open image is an image token, a </img> outside one is a text token (the code pairs the
 *     i-th <img> with the i-th </img> and asserts their places);
 *   - an unterminated <img> (the code asserts the last </img> ends the last image): its tokens take the same
 *     steps. Each id depends only on the tokens before it, so this is the code's own ids for every prefix of a
 *     well-formed sequence (a prompt cut inside an image, a streamed image).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_POSMAP(v2pe)
{
    int64_t open = pecs_param_int(p, "img_start", 0), close = pecs_param_int(p, "img_end", 1),
            nit = pecs_param_int(p, "num_image_token", 256), stride = pecs_param_int(p, "stride", 256);
    if (open == close) {
        snprintf(why, why_len, "v2pe: img_start and img_end must be different token ids (both %lld)", (long long)open);
        return PECS_INVALID;
    }
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    if (out->dtype != PECS_DT_F64) {
        snprintf(why, why_len, "v2pe: ids are fractional: out must be f64");
        return PECS_INVALID;
    }
    double *od = out->data, last = -1.0, base = 0.0; /* last: the previous token's id; base: the open <img>'s id */
    int64_t k = -1;                                   /* image tokens so far in the open image; -1: no image open */
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        double id = pecs_pos_at(idx, 0, t), v;
        if (k < 0) { /* text, <img> included */
            v = last + 1.0;
            if (id == (double)open)
                base = v, k = 0;
        } else if (id == (double)close) { /* </img>: after the ceiling of the last image id */
            v = ceil(last) + 1.0;
            k = -1;
        } else {
            k++;
            v = base + (double)k * (double)stride / (double)nit;
        }
        od[t * out->stride[1]] = v;
        last = v;
    }
    return PECS_OK;
}
