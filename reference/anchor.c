/* reference/anchor.c — AnchorAttention's shared-anchor document mask (Wang et al. 2024, AnchorContext).
 *
 * Read: the authors' code, anonymousML36061/AnchorContext train.py (the flex attention engine)
 *   process_tokenized_data (attn_engine 'flex'): each document segment loses its leading anchor (bos) token, the
 *     segments are packed back to back and their cumulative ends recorded (source_eos), the last one the packed
 *     length; add_source_doc_ids numbers the documents 0, 1, ...
 *   add_anchor_token_to_inputs: one anchor token is put before the packed documents, every end moves by one and a
 *     leading end 1 is added (source_eos = [1, 1 + e_1, ..., 1 + e_n]); the document numbers become 1, 2, ...
 *   main: doc_ids starts at zeros and gets source_doc_ids[i] on [source_eos[i], source_eos[i+1]): token 0 (the
 *     anchor) keeps id 0, document i (from 1) covers its tokens from index 1 on. The flex mask is
 *     generate_doc_mask_mod(flex_causal, doc_ids) with use_anchor_attn=True, i.e. anchor_attn_mod:
 *     (doc_id[q] == doc_id[kv] or doc_id[kv] == 0) and q_idx >= kv_idx.
 *   The flash engine differs (each document keeps its own bos and the mask comes from restarted position ids: that
 *   is packing's mask, not this row).
 * As a mask of positions (token indices of the packed sequence, from 0; lengths = the documents' token counts in
 * packing order, the differences of source_eos after its leading 1; document b = [1 + c_b, 1 + c_b + lengths[b])
 * with c_b the sum of the lengths before b):
 *     visible iff kpos <= qpos and (kpos == 0 or doc(qpos) == doc(kpos)).
 * Whether the anchor is counted in the first document does not change the mask (token 0 is visible to every query
 * anyway, and query 0 sees key 0 only), so the code's separate id 0 is kept. Positions at or past 1 + the sum of
 * the lengths are past the packed sequence (the code's sequence ends with its last document): rejected
 * (PECS_INVALID), as are negative or fractional ones. An empty lengths list is one document after the anchor, of
 * any length: the plain causal mask.
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* Document id of packed index t (0 for the anchor, b + 1 for document b), or -1 (with the reason) when t is not a
 * token of the packed sequence or a length is not a token count (pecs_ref_segment_of checks every length). */
static int64_t doc_of(const pecs_problem *p, double t, char *why, size_t why_len)
{
    pecs_ref_segments s; /* documents start after the anchor */
    if (pecs_ref_segment_of(p, 1.0, t, &s, why, why_len) != PECS_OK)
        return -1;
    if (t == 0)
        return 0;
    if (s.n == 0)
        return 1;
    if (s.seg < 0)
        snprintf(why, why_len, "anchor: position %.17g lies past the packed documents (the anchor and the lengths "
                 "end at %.17g)", t, s.end);
    return s.seg < 0 ? -1 : s.seg + 1;
}

PECS_REF_HOOK_MASK(anchor)
{
    int64_t dq = doc_of(p, qpos, why, why_len), dk;
    if (dq < 0 || (dk = doc_of(p, kpos, why, why_len)) < 0)
        return PECS_INVALID;
    *allowed = kpos <= qpos && (dk == 0 || dq == dk);
    return PECS_OK;
}
