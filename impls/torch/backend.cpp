/* impls/torch/backend.cpp — the C ABI of the libtorch backend: entry point, descriptor, supports() and
 * run(), and the pecs <-> torch tensor glue.
 *
 * pecs loads this library with dlopen and calls it through plain C function pointers, so nothing C++ may
 * cross that boundary: the entry point is extern "C", and supports()/run() catch every exception
 * (c10::Error from a torch op, std::bad_alloc, anything else) and turn it into a status, logging the
 * message through the host. An exception escaping into pecs's C frames would terminate the worker.
 */
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <exception>
#include <new>
#include <string>

#include <ATen/Parallel.h>
#include <torch/types.h>
#include <torch/version.h>

#include "torch_backend.h"

#ifndef PECS_TORCH_VERSION
#define PECS_TORCH_VERSION TORCH_VERSION /* the headers' own; the Makefile passes the package's */
#endif

namespace pecs_torch {

namespace {

const pecs_host *g_host = nullptr;

void host_log(const std::string &message)
{
    /* log is in every pecs_host since ABI 1.0; check the size the host filled in anyway */
    if (g_host && g_host->struct_size >= offsetof(pecs_host, host_ctx) + sizeof g_host->host_ctx && g_host->log)
        g_host->log(g_host->host_ctx, "torch", message.c_str());
}

void set_reason(char *reason, size_t reason_size, const std::string &why)
{
    if (reason && reason_size > 0)
        std::snprintf(reason, reason_size, "%s", why.c_str());
}

/* Intra-op threads: the requested count, else 1. pecs repeats every passing case at 1 thread and compares
 * the outputs bit for bit, and torch's elementwise kernels split a tensor into per-thread chunks whose
 * ends fall back to scalar code (std::cos instead of the SLEEF vector cos): the last bits of a result may
 * depend on the thread count. One thread by default keeps a run reproducible; --threads N asks for more. */
void set_threads(const pecs_problem *p)
{
    int want = p->n_threads > 0 ? p->n_threads : 1;
    if (at::get_num_threads() != want)
        at::set_num_threads(want);
}

pecs_status run_form(const pecs_problem *p)
{
    switch (p->form) {
    case PECS_FORM_ROTATE: return rope_run(p);
    case PECS_FORM_BIAS: return bias_run(p);
    default: return PECS_UNSUPPORTED;
    }
}

std::string check_form(const pecs_problem *p)
{
    if (p->dtype != PECS_DT_F32 && p->dtype != PECS_DT_F16 && p->dtype != PECS_DT_BF16)
        return std::string("torch backend stores f32, f16 or bf16 (as HF models run), not ") + pecs_dtype_name(p->dtype);
    switch (p->form) {
    case PECS_FORM_ROTATE: return rope_check(p);
    case PECS_FORM_BIAS: return bias_check(p);
    default:
        return std::string("torch backend implements the rope schedules, alibi and t5, not ") + p->encoding;
    }
}

int torch_supports(void *ctx, const pecs_problem *p, char *reason, size_t reason_size)
{
    (void)ctx;
    try {
        std::string why = check_form(p);
        if (why.empty())
            return 1;
        set_reason(reason, reason_size, why);
    } catch (const std::exception &e) {
        set_reason(reason, reason_size, std::string("torch backend: supports() failed: ") + e.what());
    } catch (...) {
        set_reason(reason, reason_size, "torch backend: supports() failed with an unknown exception");
    }
    return 0;
}

pecs_status torch_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    try {
        if (!check_form(p).empty())
            return PECS_UNSUPPORTED;
        set_threads(p);
        c10::InferenceMode no_autograd; /* as HF's @torch.no_grad(): no graph is recorded */
        return run_form(p);
    } catch (const std::bad_alloc &) {
        host_log(std::string(p->encoding) + ": out of memory");
        return PECS_NOMEM;
    } catch (const c10::Error &e) {
        host_log(std::string(p->encoding) + ": torch error: " + e.what_without_backtrace());
        return PECS_BACKEND;
    } catch (const std::exception &e) {
        host_log(std::string(p->encoding) + ": " + e.what());
        return PECS_BACKEND;
    } catch (...) {
        host_log(std::string(p->encoding) + ": unknown exception");
        return PECS_BACKEND;
    }
}

const char *torch_isa(void *ctx)
{
    (void)ctx;
    return "torch-cpu";
}

const pecs_backend g_torch = {
    PECS_ABI_MAJOR,         /* abi_major: first */
    sizeof(pecs_backend),   /* struct_size: second */
    PECS_ABI_MINOR,
    "torch",
    PECS_TORCH_VERSION,
    "libtorch tensor ops as HF transformers runs them: float32 inv_freq, angles and cos/sin tables",
    nullptr,
    torch_supports,
    torch_run,
    torch_isa,
    nullptr,                /* device (1.1): a host backend */
};

} // namespace

torch::ScalarType scalar_type(pecs_dtype d)
{
    switch (d) {
    case PECS_DT_F64: return torch::kFloat64;
    case PECS_DT_F32: return torch::kFloat32;
    case PECS_DT_F16: return torch::kFloat16;
    case PECS_DT_BF16: return torch::kBFloat16;
    case PECS_DT_I32: return torch::kInt32;
    case PECS_DT_I64: return torch::kInt64;
    default: throw std::invalid_argument("unknown pecs dtype");
    }
}

torch::Tensor wrap(const pecs_tensor *t)
{
    return torch::from_blob(t->data, torch::IntArrayRef(t->shape, (size_t)t->ndim),
                            torch::IntArrayRef(t->stride, (size_t)t->ndim),
                            torch::TensorOptions().dtype(scalar_type(t->dtype)));
}

/* torch tensors cannot have negative strides (pecs's views never do, but the ABI allows any view). */
std::string strides_check(const pecs_tensor *t)
{
    if (t->ndim < 1 || t->ndim > PECS_MAX_DIMS)
        return std::string("tensor ") + t->name + " has " + std::to_string(t->ndim) + " dimensions";
    for (int32_t i = 0; i < t->ndim; i++)
        if (t->stride[i] < 0 || t->shape[i] < 0)
            return std::string("torch views need non-negative strides (tensor ") + t->name + ")";
    return "";
}

/* HF takes integer position_ids and converts them with .float(); positions given as f64 have no HF path. */
std::string positions_check(const pecs_tensor *pos, const char *name)
{
    if (!pos)
        return "";
    if (pos->dtype != PECS_DT_I32 && pos->dtype != PECS_DT_I64)
        return std::string("torch backend takes integer ") + name + " (i32, i64) as HF's position_ids, not " +
               pecs_dtype_name(pos->dtype);
    return strides_check(pos);
}

} // namespace pecs_torch

extern "C" {

PECS_BACKEND_ENTRY(torch) /* exports pecs_backend_entry() with default visibility */
{
    if (host_abi_major != PECS_ABI_MAJOR)
        return nullptr;
    pecs_torch::g_host = host;
    return &pecs_torch::g_torch;
}

} // extern "C"
