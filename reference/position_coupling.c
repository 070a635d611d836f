/* reference/position_coupling.c — position coupling for addition: the position ids of the authors' decoder input
 * (posmap form, P = 1).
 *
 * Sources checked (2026-12-06, through the search tool): Cho et al. 2024, "Position Coupling: Improving Length
 * Generalization of Arithmetic Transformers Using Task Structure" (the paper itself not read here), and the authors'
 * code, HanseulJo/position-coupling:
 *   src/data/addition.py AdditionDatasetWithCoupledPositions.__getitem__ (read at commits 01dd272b and 9c010e8e), the
 *     default branch (cyclic and vanilla False): max_len = the longer operand's digit count (zero-padded 'P' digits
 *     included), start = 1 when randomize is False (evaluation), else torch.randint(1, max_position - max_len), end =
 *     start + max_len + 1; operand a takes range(end - len(a), end + 1) (its digits, then the '+' after it takes end),
 *     operand b the same (its digits, then '=' at end), the result range(end - len(result), end), reversed together
 *     with the result's digits when reverse_output. So the units digits of a, b and the result share end - 1, the
 *     tens digits end - 2, and so on.
 *   src/data/addition.py MultipleAdditionDatasetWithCoupledPositions.__getitem__: the same rule for any number of
 *     operands (each followed by its '+', the last by '='); only its evaluation start differs ((max_position -
 *     (len(result) + 1)) // 2 + 1), which here is the caller's `start` like every other start.
 *   src/tokenization/tokenization.py build_tokenizer / tokenize_for_decoder: the sequence is "[BOS] a + b = result"
 *     (+ [EOS] when the task's eos is set; [BOS] may be the EOS token, bos_to_eos) and position_ids = [0] +
 *     input_positions + label_positions, filled with 0 up to the batch length: BOS takes 0, and so do EOS and the
 *     batch's padding.
 *   configs/task/addition_coupled.yaml: reverse_output True, padding True, eos True, max_position 132; train
 *     randomize True, val and val_long randomize False.
 * The map: idx[t] is the token's index in that sequence (0 = BOS). lengths = [l_1, .., l_n, l_c] (n >= 2 operands,
 * then the result), M = max l_k, end = start + M + 1:
 *     idx 0                                  0
 *     operand k, offset o in [0, l_k]        end - l_k + o        (o = l_k: its '+', or '=' after the last)
 *     result, offset o in [0, l_c)           end - 1 - o if reverse_output, else end - l_c + o
 *     past the result                        0                    (EOS, padding)
 * Example 12+345=357, start 1 (end 5), reversed result "753":  ids 0 | 3 4 5 | 2 3 4 5 | 4 3 2 | 0.
 * Rejected (PECS_INVALID): fewer than three lengths, a length that is not a whole count >= 1, a result longer than
 * end (its first id would be negative; a sum of fewer than 11 operands has at most M + 1 <= end - 1 digits), an idx
 * that is not a token index (negative or fractional). A sequence shorter than the layout is a prefix (generation
 * under way): its ids are the layout's first ones. Not covered: the code's cyclic and vanilla branches and the later
 * reverse_input option (9c010e8e), and the other tasks' rules (multiplication, parity, copy, minesweeper).
 */
#include <math.h>
#include <stdio.h>

#include "reference.h"

/* The layout from `lengths`: n_ops operands and the result; max_len and the total token count (BOS included). */
typedef struct pc_layout {
    const double *len;
    int64_t n_ops;
    double max_len, end, total;
} pc_layout;

static pecs_status pc_layout_of(const pecs_problem *p, pc_layout *lay, char *why, size_t why_len)
{
    const pecs_param *L = pecs_problem_param(p, "lengths");
    double start = (double)pecs_param_int(p, "start", 1);
    if (!L || L->n < 3) {
        snprintf(why, why_len, "position_coupling: lengths needs at least two operands and the result (%lld given)",
                 (long long)(L ? L->n : 0));
        return PECS_INVALID;
    }
    *lay = (pc_layout){.len = L->list, .n_ops = L->n - 1, .total = 1.0};
    for (int64_t k = 0; k < L->n; k++) {
        if (L->list[k] != floor(L->list[k]) || L->list[k] < 1.0) {
            snprintf(why, why_len, "position_coupling: lengths[%lld] = %g is not a digit count", (long long)k, L->list[k]);
            return PECS_INVALID;
        }
        if (k < lay->n_ops && L->list[k] > lay->max_len)
            lay->max_len = L->list[k];
        lay->total += L->list[k] + (k < lay->n_ops ? 1.0 : 0.0);
        if (lay->total > 9007199254740992.0) {
            snprintf(why, why_len, "position_coupling: the layout is longer than 2^53 tokens");
            return PECS_INVALID;
        }
    }
    lay->end = start + lay->max_len + 1.0;
    double lc = L->list[lay->n_ops];
    if (lc > lay->end) {
        snprintf(why, why_len, "position_coupling: a result of %g digits does not fit below end = start + max operand "
                 "length + 1 = %g (its first id would be negative)", lc, lay->end);
        return PECS_INVALID;
    }
    return PECS_OK;
}

PECS_REF_HOOK_POSMAP(position_coupling)
{
    pc_layout lay;
    if (pc_layout_of(p, &lay, why, why_len) != PECS_OK)
        return PECS_INVALID;
    int rev = pecs_param_int(p, "reverse_output", 1) != 0;
    const pecs_tensor *idx = pecs_problem_tensor(p, "idx"), *out = pecs_problem_tensor(p, "out");
    if (!idx || !out)
        return p->n_tensors == 0 ? PECS_OK : PECS_INVALID;
    double *od = out->data;
    for (int64_t t = 0; t < idx->shape[idx->ndim - 1]; t++) {
        double i = pecs_pos_at(idx, 0, t), v = 0.0, seg = 1.0; /* seg: first index of the current segment */
        if (i < 0.0 || i != floor(i)) {
            snprintf(why, why_len, "position_coupling: idx %g is not a token index (integers from 0)", i);
            return PECS_INVALID;
        }
        for (int64_t k = 0; i > 0.0 && k <= lay.n_ops; k++) {
            double l = lay.len[k], span = k < lay.n_ops ? l + 1.0 : l, o = i - seg;
            if (o < span) {
                v = k < lay.n_ops ? lay.end - l + o : rev ? lay.end - 1.0 - o : lay.end - l + o;
                break;
            }
            seg += span;
        }
        od[t * out->stride[1]] = v;
    }
    return PECS_OK;
}
