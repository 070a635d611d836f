/* reference/xpos_bca.c — xPos's blockwise causal attention (BCA), the inference-time mask of Sun et al. 2023.
 *
 * Read: the paper (A Length-Extrapolatable Transformer, ACL 2023, arXiv 2212.10554), sec. 3.3 "Blockwise Causal
 * Attention" and Figure 2, in a full-text conversion stored in the source index (read 2026-12-07 through the search
 * tool): with pre-training length l, the queries are divided into blocks of l/2 tokens, and each query interacts with
 * its own block and the block before it; training uses plain causal attention, and the overlapped block's keys and
 * values are reused. The paper's code base (microsoft/torchscale, component/multihead_attention.py) takes attn_mask
 * from its caller and builds no blockwise mask, so the text is the definition.
 * With B = l/2 and blocks counted from position 0, key j is visible to query i iff
 *     kpos <= qpos  and  floor(kpos / B) >= floor(qpos / B) - 1
 * (a query in block b sees keys of blocks b - 1 and b up to itself: between B and 2B - 1 keys once past block 0).
 * Not fixed by the text, so rejected rather than guessed: an odd l (l/2 not an integer). Positions are token
 * indices from the sequence start (non-negative), as the figure draws them.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

PECS_REF_HOOK_MASK(xpos_bca)
{
    int64_t l = pecs_param_int(p, "train_len", 1024);
    if (l % 2 != 0) {
        snprintf(why, why_len, "xpos.bca needs an even train_len (blocks of l/2 tokens), got %lld", (long long)l);
        return PECS_INVALID;
    }
    double B = (double)(l / 2);
    *allowed = kpos <= qpos && floor(kpos / B) >= floor(qpos / B) - 1.0;
    return PECS_OK;
}
