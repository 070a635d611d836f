/* impls/torch/bias.cpp — ALiBi and T5 relative position biases as PyTorch model code builds them.
 *
 * Sources checked (search tool, public copies of huggingface/transformers):
 *   modeling_bloom.py build_alibi_tensor: closest_power_of_2 = 2^floor(log2 H); base =
 *     tensor(2^(-(2^-(log2(P) - 3))), float32) = 2^(-8/P); slopes = pow(base, arange(1, 1 + P, int32));
 *     for H not a power of two the extra slopes pow(2^(-8/(2P)), arange(1, 1 + 2 * min(P, H - P), 2));
 *     alibi = slopes[..., None] * key index (float32), then .to(dtype). pecs's max_bias generalises the 8
 *     (reference/alibi.c); variant=key_index is BLOOM's +m*j, variant=relative pecs's canonical
 *     -m*(i - j) = m*(j - i), with the integer difference taken before the float32 product.
 *   modeling_t5.py T5Attention._relative_position_bucket and compute_bias: relative_position =
 *     memory_position - context_position (key - query, int64); bidirectional halves the buckets and
 *     offsets rel > 0; causal keeps -min(rel, 0); max_exact = nb // 2; the log bucket
 *     max_exact + (log(rel.float() / max_exact) / math.log(max_distance / max_exact) * (nb - max_exact))
 *     .to(long), clamped to nb - 1; values = relative_attention_bias(buckets) (an embedding lookup of the
 *     learned table "w" [num_buckets, H]), permuted to [H, Lq, Lk].
 */
#include <cmath>
#include <cstring>
#include <string>

#include "torch_backend.h"

namespace pecs_torch {

namespace {

bool is(const pecs_problem *p, const char *id) { return std::strcmp(p->encoding, id) == 0; }

/* int64 [Lq, Lk]: kpos[j] - qpos[i] (HF's memory_position - context_position) */
torch::Tensor key_minus_query(const pecs_tensor *qp, const pecs_tensor *kp)
{
    torch::Tensor q = wrap(qp).reshape({-1}).to(torch::kInt64), k = wrap(kp).reshape({-1}).to(torch::kInt64);
    return k.unsqueeze(0) - q.unsqueeze(1);
}

/* BLOOM's slopes, float32 [H] */
torch::Tensor alibi_slopes(int64_t H, double max_bias)
{
    int64_t P = 1; /* 2 ** math.floor(math.log2(H)), in integers */
    while (P * 2 <= H)
        P *= 2;
    torch::Tensor base = torch::tensor(std::pow(2.0, -(max_bias / (double)P)), torch::kFloat32);
    torch::Tensor slopes = torch::pow(base, torch::arange(1, 1 + P, torch::kInt32));
    if (P != H) {
        torch::Tensor extra_base = torch::tensor(std::pow(2.0, -(max_bias / (double)(2 * P))), torch::kFloat32);
        int64_t remaining = std::min(P, H - P);
        torch::Tensor extra_powers = torch::arange(1, 1 + 2 * remaining, 2, torch::kInt32);
        slopes = torch::cat({slopes, torch::pow(extra_base, extra_powers)}, 0);
    }
    return slopes;
}

torch::Tensor alibi(const pecs_problem *p, const pecs_tensor *qp, const pecs_tensor *kp, int64_t H)
{
    torch::Tensor slopes = alibi_slopes(H, pecs_param_real(p, "max_bias", 8.0)).view({H, 1, 1});
    if (pecs_param_is(p, "variant", "key_index")) {
        /* BLOOM: slope times the key's position, the same for every query row */
        torch::Tensor keys = wrap(kp).reshape({-1}).to(torch::kInt64).view({1, 1, -1});
        return (slopes * keys).expand({H, qp->shape[0], kp->shape[0]});
    }
    return slopes * key_minus_query(qp, kp).unsqueeze(0);
}

torch::Tensor t5_bucket(torch::Tensor relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance)
{
    torch::Tensor relative_buckets = torch::zeros_like(relative_position);
    if (bidirectional) {
        num_buckets /= 2;
        relative_buckets += (relative_position > 0).to(torch::kInt64) * num_buckets;
        relative_position = torch::abs(relative_position);
    } else {
        relative_position = -torch::min(relative_position, torch::zeros_like(relative_position));
    }
    int64_t max_exact = num_buckets / 2;
    torch::Tensor is_small = relative_position < max_exact;
    /* log(0) = -inf for rel 0 converts to some integer here; torch.where drops it (is_small), as in HF */
    torch::Tensor if_large = max_exact + (torch::log(relative_position.to(torch::kFloat32) / max_exact) /
                                          std::log((double)max_distance / (double)max_exact) *
                                          (num_buckets - max_exact))
                                             .to(torch::kInt64);
    if_large = torch::min(if_large, torch::full_like(if_large, num_buckets - 1));
    return relative_buckets + torch::where(is_small, relative_position, if_large);
}

torch::Tensor t5(const pecs_problem *p, const pecs_tensor *qp, const pecs_tensor *kp, const pecs_tensor *w)
{
    torch::Tensor buckets = t5_bucket(key_minus_query(qp, kp), pecs_param_int(p, "bidirectional", 1) != 0,
                                      pecs_param_int(p, "num_buckets", 32), pecs_param_int(p, "max_distance", 128));
    /* nn.Embedding lookup: [Lq, Lk] -> [Lq, Lk, H], then permute([2, 0, 1]) */
    return torch::embedding(wrap(w), buckets).permute({2, 0, 1});
}

/* T5's parameters give buckets inside the table (reference/t5.c rejects the rest up front). */
std::string t5_check(const pecs_problem *p, const pecs_tensor *w, const pecs_tensor *out)
{
    int64_t nb = pecs_param_int(p, "num_buckets", 32), maxd = pecs_param_int(p, "max_distance", 128);
    int64_t max_exact = (pecs_param_int(p, "bidirectional", 1) ? nb / 2 : nb) / 2;
    if (max_exact < 1 || maxd <= max_exact)
        return "t5 needs max_exact >= 1 and max_distance > max_exact";
    if (w && (w->ndim != 2 || w->shape[0] != nb || (out && out->ndim == 3 && w->shape[1] != out->shape[0])))
        return "t5 needs its table \"w\" as [num_buckets, heads]";
    if (w && w->dtype != p->dtype)
        return std::string("t5 table \"w\" is ") + pecs_dtype_name(w->dtype) + ", not the problem's dtype";
    return w ? strides_check(w) : "";
}

} // namespace

std::string bias_check(const pecs_problem *p)
{
    if (!is(p, "alibi") && !is(p, "t5"))
        return std::string("torch backend has no HF bias kernel for ") + p->encoding + " (implements alibi, t5)";
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out");
    std::string why = positions_check(qp, "query positions");
    if (why.empty())
        why = positions_check(kp, "key positions");
    if (why.empty() && out)
        why = strides_check(out);
    if (why.empty() && is(p, "t5"))
        why = t5_check(p, pecs_problem_tensor(p, "w"), out);
    return why;
}

pecs_status bias_run(const pecs_problem *p)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *ot = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w");
    if (!qp || !kp || !ot || ot->ndim != 3 || (is(p, "t5") && !w) || !bias_check(p).empty())
        return PECS_INVALID;
    torch::Tensor out = wrap(ot);
    torch::Tensor bias = is(p, "t5") ? t5(p, qp, kp, w) : alibi(p, qp, kp, ot->shape[0]);
    out.copy_(bias.to(out.scalar_type())); /* build_alibi_tensor's .to(dtype); T5's table is already in it */
    return PECS_OK;
}

} // namespace pecs_torch
