/* reference/fitm_calibration.c — Found-in-the-Middle attention calibration of one attention layer, kattn form.
 * Hsieh et al. 2024, "Found in the Middle: Calibrating Positional Attention Bias Improves Long Context Utilization"
 * (ACL Findings), arXiv 2406.16008. No code was published; the definition is the paper's, read on 2026-12-07 in the
 * page-referenced transcription viktor-shcherb/msc_thesis references/2024-08-found-in-the-middle/sections/02, 03, 04
 * and 08 (Appendix B) through the search tool:
 *   sec. 2.1: the prompt holds K documents, document k has N_k tokens; Attn(x^prompt, k) = sum_i attn(x_k,i) / N_k,
 *     the MEAN attention weight on the document's tokens, attn being the attention weight a token gets when the model
 *     predicts the next token (the query after the prompt).
 *   sec. 3.2, eqs. 3-4: rel(x_k) = Attn(x_k, k) - Attn(x^dum, k) + rel(x^dum): the attention the same position gets
 *     when a dummy document stands there is subtracted (rel(x^dum) is one constant: softmax ignores it).
 *   sec. 4.1, eq. 5: attn_cal(x_k,i) = alpha_k / Attn_original(x_k) * attn_original(x_k,i) * C, alpha_k =
 *     Softmax(rel(x_k), t), C a constant keeping the total attention on the documents unchanged; eq. 6: the
 *     calibrated Attn(x_k) (the mean) is then proportional to alpha_k.
 *   Appendix B: the calibration is applied to every head of the last 16 of 32 layers; t = 5e-5 everywhere.
 * So, per head h and query i (local token i: it sees every prompt key and the local keys j <= i), with p the
 * softmax of q_i . k_j / sqrt(D) over those keys, documents laid end to end from doc_start (document k holds prompt
 * keys [a_k, a_k + N_k)):
 *   A_k = (1/N_k) sum_{j in doc k} p_j                     the document's mean weight (sec. 2.1)
 *   alpha = softmax_k((A_k - w[h Lq + i][k]) / t)          w: the dummy runs' A at each document position
 *   S = sum_k N_k A_k,   C = S / sum_k alpha_k N_k         (the documents' total weight is unchanged)
 *   p'_j = alpha_k / A_k * p_j * C  for j in doc k;  p'_j = p_j elsewhere (question, local tokens)
 *   out[i][h] = sum_j p'_j v_j
 * Choices where the paper is silent (docs/encodings.md, fitm.calibration): the calibration is per head and per query
 * (the paper intervenes in every head; it never says whether rel is averaged over heads); the dummy attention is
 * data (w, one value per (head, query) row and document), since it comes from other forward passes; q and k are
 * taken as the layer's attention uses them (Llama's RoPE already applied); "Softmax(rel, t)" is read as
 * softmax(rel / t). Not covered: which layers are calibrated (a model-level choice) and the dummy runs themselves.
 * This reference sums in double, each softmax with its maximum subtracted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

/* Document k's first key into a[k] (a[K] = the end); PECS_INVALID with why when the lengths are not whole numbers
 * or the documents do not fit in the prompt. */
static pecs_status spans(const pecs_param *len, int64_t start, int64_t M, int64_t *a, char *why, size_t why_len)
{
    a[0] = start;
    for (int64_t k = 0; k < len->n; k++) {
        double n = len->list[k];
        if (n != floor(n) || n < 1) {
            snprintf(why, why_len, "fitm.calibration doc_lengths[%lld] = %g is not a whole number of tokens >= 1",
                     (long long)k, n);
            return PECS_INVALID;
        }
        a[k + 1] = a[k] + (int64_t)n;
    }
    if (len->n < 1 || a[len->n] > M) {
        snprintf(why, why_len, "fitm.calibration documents must fit in the prompt: doc_start (%lld) + sum of "
                 "doc_lengths (%lld, %lld documents) > memory (%lld)", (long long)start,
                 (long long)(a[len->n] - start), (long long)len->n, (long long)M);
        return PECS_INVALID;
    }
    return PECS_OK;
}

PECS_REF_HOOK_KATTN(fitm_calibration)
{
    int64_t M = pecs_param_int(p, "memory", 64), start = pecs_param_int(p, "doc_start", 0);
    double t = pecs_param_real(p, "temperature", 5e-5);
    const pecs_param *len = pecs_problem_param(p, "doc_lengths");
    const pecs_tensor *q = pecs_problem_tensor(p, "q"), *k = pecs_problem_tensor(p, "k"),
                      *v = pecs_problem_tensor(p, "v"), *w = pecs_problem_tensor(p, "w"),
                      *out = pecs_problem_tensor(p, "out");
    if (!len) {
        snprintf(why, why_len, "fitm.calibration needs doc_lengths");
        return PECS_INVALID;
    }
    int64_t K = len->n;
    int64_t *a = malloc((size_t)(K + 1) * sizeof *a);
    double *s = NULL, *A = NULL, *al = NULL, *acc = NULL;
    pecs_status st = a ? spans(len, start, M, a, why, why_len) : PECS_NOMEM;
    if (st != PECS_OK || (!q && !k && !v && !out)) /* parameters only (pecs_ref_check: w may be a zero table) */
        goto done;
    if (!q || !k || !v || !w || !out) {
        snprintf(why, why_len, "fitm.calibration needs tensors q, k, v, w and out");
        st = PECS_INVALID;
        goto done;
    }
    int64_t Lq = q->shape[0], H = q->shape[1], D = q->shape[2], Lk = k->shape[0];
    if (Lk != M + Lq || w->shape[0] != H * Lq || w->shape[1] != K) {
        snprintf(why, why_len, "fitm.calibration keys are [prompt | local]: keys (%lld) must be memory (%lld) + tokens "
                 "(%lld), and w [%lld, %lld] must be [heads * tokens, documents] = [%lld, %lld]", (long long)Lk,
                 (long long)M, (long long)Lq, (long long)w->shape[0], (long long)w->shape[1], (long long)(H * Lq),
                 (long long)K);
        st = PECS_INVALID;
        goto done;
    }
    s = malloc((size_t)(Lk ? Lk : 1) * sizeof *s);
    A = malloc((size_t)K * sizeof *A);
    al = malloc((size_t)K * sizeof *al);
    acc = malloc((size_t)(D ? D : 1) * sizeof *acc);
    if (!s || !A || !al || !acc) {
        st = PECS_NOMEM;
        goto done;
    }
    const double *qd = q->data, *kd = k->data, *vd = v->data, *wd = w->data;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < Lq; i++) {
            int64_t n = M + i + 1; /* the prompt, then local keys 0..i */
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j < n; j++) {
                double dot = 0.0;
                for (int64_t d = 0; d < D; d++)
                    dot += qd[pecs_at3(q, i, h, d)] * kd[pecs_at3(k, j, h, d)];
                s[j] = dot / sqrt((double)D);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < n; j++)
                z += exp(s[j] - mx);
            for (int64_t j = 0; j < n; j++) /* s now holds the original weights p */
                s[j] = exp(s[j] - mx) / z;
            double rmx = -INFINITY, az = 0.0, S = 0.0, aN = 0.0;
            for (int64_t c = 0; c < K; c++) {
                double sum = 0.0;
                for (int64_t j = a[c]; j < a[c + 1]; j++)
                    sum += s[j];
                A[c] = sum / (double)(a[c + 1] - a[c]);
                S += sum;
                al[c] = (A[c] - wd[(h * Lq + i) * w->stride[0] + c * w->stride[1]]) / t; /* rel / t */
                rmx = al[c] > rmx ? al[c] : rmx;
            }
            for (int64_t c = 0; c < K; c++)
                az += exp(al[c] - rmx);
            for (int64_t c = 0; c < K; c++) {
                al[c] = exp(al[c] - rmx) / az;
                aN += al[c] * (double)(a[c + 1] - a[c]);
            }
            for (int64_t c = 0; c < K; c++) /* p'_j = alpha_k / A_k * C * p_j */
                for (int64_t j = a[c]; j < a[c + 1]; j++)
                    s[j] *= al[c] / A[c] * (S / aN);
            for (int64_t d = 0; d < D; d++)
                acc[d] = 0.0;
            for (int64_t j = 0; j < n; j++)
                for (int64_t d = 0; d < D; d++)
                    acc[d] += s[j] * vd[pecs_at3(v, j, h, d)];
            for (int64_t d = 0; d < D; d++)
                ((double *)out->data)[pecs_at3(out, i, h, d)] = acc[d];
        }
done:
    free(a);
    free(s);
    free(A);
    free(al);
    free(acc);
    return st;
}
