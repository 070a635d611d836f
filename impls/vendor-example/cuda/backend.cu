// impls/vendor-example/cuda/backend.cu — a CUDA device backend through the ABI 1.1 device hooks
// (include/pecs/backend.h "Devices", docs/vendor-guide.md section 11): plain RoPE (encoding "rope", base
// 10000 or the `base` parameter, both pairings, partial rotary) in f32 on the first CUDA device.
//
// NOT built or run in pecs's CI (no NVIDIA GPU or toolkit there): it follows the same contract as
// impls/opencl/opencl.c, which is tested, but this file has only been read, never compiled. Build it with the
// Makefile beside it, then: pecs run suites/t1-rotate.yaml --backend ./libpecs-cuda-example.so
//
// The harness owns every buffer and copy: alloc/release, to_device/to_host and sync are thin wrappers over
// one stream; run() only launches; kernel_ns() reads two events around the last launch.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "pecs/backend.h"

namespace {

struct cuda_ctx {
    cudaStream_t stream = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    bool timed = false;  // the last run() recorded both events
};

cuda_ctx g_ctx;

pecs_status st(cudaError_t e) { return e == cudaSuccess ? PECS_OK : e == cudaErrorMemoryAllocation ? PECS_NOMEM : PECS_BACKEND; }

pecs_status dev_init(void *vctx, pecs_device_info *info)
{
    auto *c = static_cast<cuda_ctx *>(vctx);
    int n = 0, drv = 0, rt = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        std::snprintf(info->error, sizeof info->error, "no CUDA device");
        return PECS_UNSUPPORTED;
    }
    cudaDeviceProp prop;
    if (cudaSetDevice(0) != cudaSuccess || cudaGetDeviceProperties(&prop, 0) != cudaSuccess)
        return PECS_BACKEND;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    std::snprintf(info->name, sizeof info->name, "%s", prop.name);
    std::snprintf(info->driver, sizeof info->driver, "CUDA runtime %d, driver %d", rt, drv);
    if (cudaStreamCreate(&c->stream) != cudaSuccess || cudaEventCreate(&c->start) != cudaSuccess ||
        cudaEventCreate(&c->stop) != cudaSuccess)
        return PECS_BACKEND;
    return PECS_OK;
}

void dev_teardown(void *vctx)
{
    auto *c = static_cast<cuda_ctx *>(vctx);
    if (c->start) cudaEventDestroy(c->start);
    if (c->stop) cudaEventDestroy(c->stop);
    if (c->stream) cudaStreamDestroy(c->stream);
    *c = cuda_ctx{};
}

pecs_status dev_alloc(void *, size_t bytes, void **buf) { return st(cudaMalloc(buf, bytes)); }
void dev_release(void *, void *buf) { cudaFree(buf); }

pecs_status dev_to_device(void *vctx, void *buf, size_t off, const void *src, size_t n)
{
    auto *c = static_cast<cuda_ctx *>(vctx);
    return st(cudaMemcpyAsync(static_cast<char *>(buf) + off, src, n, cudaMemcpyHostToDevice, c->stream));
}

pecs_status dev_to_host(void *vctx, void *dst, void *buf, size_t off, size_t n)
{
    auto *c = static_cast<cuda_ctx *>(vctx);
    return st(cudaMemcpyAsync(dst, static_cast<const char *>(buf) + off, n, cudaMemcpyDeviceToHost, c->stream));
}

pecs_status dev_sync(void *vctx) { return st(cudaStreamSynchronize(static_cast<cuda_ctx *>(vctx)->stream)); }

pecs_status dev_kernel_ns(void *vctx, double *ns)
{
    auto *c = static_cast<cuda_ctx *>(vctx);
    float ms = 0.0f;
    if (!c->timed || cudaEventElapsedTime(&ms, c->start, c->stop) != cudaSuccess)
        return PECS_BACKEND;
    *ns = (double)ms * 1e6;
    return PECS_OK;
}

pecs_status dev_copy(void *vctx, void *dst, void *src, size_t n, double *ns)
{
    auto *c = static_cast<cuda_ctx *>(vctx);
    float ms = 0.0f;
    cudaEventRecord(c->start, c->stream);
    cudaError_t e = cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, c->stream);
    cudaEventRecord(c->stop, c->stream);
    if (e != cudaSuccess || cudaEventSynchronize(c->stop) != cudaSuccess ||
        cudaEventElapsedTime(&ms, c->start, c->stop) != cudaSuccess)
        return PECS_BACKEND;
    *ns = (double)ms * 1e6;
    return PECS_OK;
}

const pecs_device_ops g_ops = {sizeof(pecs_device_ops), dev_init, dev_teardown, dev_alloc, dev_release,
                               dev_to_device, dev_to_host, dev_sync, dev_kernel_ns, dev_copy};

// One thread per (token, head, pair k < R/2 + D - R): pair k rotates two lanes, the others copy lane R + k - R/2.
// The angle pos * base^(-2k/R) is formed in double, as pecs's reference does (level exact).
__global__ void rope_kernel(const char *xb, long long xo, char *ob, long long oo, const char *pb, long long po,
                            int pdt, long long ps, long long xs0, long long xs1, long long xs2, long long os0,
                            long long os1, long long os2, long long T, long long H, long long D, long long R,
                            int half, double log_base)
{
    long long W = R / 2 + (D - R), g = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= T * H * W) return;
    long long k = g % W, h = (g / W) % H, t = g / (W * H);
    const float *x = reinterpret_cast<const float *>(xb + xo);
    float *o = reinterpret_cast<float *>(ob + oo);
    long long xi = t * xs0 + h * xs1, oi = t * os0 + h * os1;
    if (k >= R / 2) {
        long long d = R + (k - R / 2);
        o[oi + d * os2] = x[xi + d * xs2];
        return;
    }
    const char *pp = pb + po;
    double pos = pdt == 0 ? (double)reinterpret_cast<const int *>(pp)[t * ps]
               : pdt == 1 ? (double)reinterpret_cast<const long long *>(pp)[t * ps]
                          : reinterpret_cast<const double *>(pp)[t * ps];
    double ang = pos * exp(-2.0 * (double)k / (double)R * log_base);
    float c = (float)cos(ang), s = (float)sin(ang);
    long long a = half ? k : 2 * k, b = half ? k + R / 2 : 2 * k + 1;
    float xa = x[xi + a * xs2], xv = x[xi + b * xs2];
    o[oi + a * os2] = xa * c - xv * s;
    o[oi + b * os2] = xa * s + xv * c;
}

int cuda_supports(void *, const pecs_problem *p, char *reason, size_t n)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos");
    const char *why = std::strcmp(p->encoding, "rope") ? "this example runs plain rope only"
                    : p->dtype != PECS_DT_F32 ? "this example stores f32 only"
                    : !x || x->ndim != 3 || !pos ? "tensors are not x [T,H,D], pos [1,T]"
                    : (pecs_problem_param(p, "freq_factors") && pecs_problem_param(p, "freq_factors")->n > 0) ||
                      pecs_param_real(p, "attn_factor", 1.0) != 1.0
                        ? "no freq_factors or attn_factor in this example"
                    : nullptr;
    if (why) {
        std::snprintf(reason, n, "%s", why);
        return 0;
    }
    return 1;
}

pecs_status cuda_run(void *vctx, const pecs_problem *p)
{
    auto *c = static_cast<cuda_ctx *>(vctx);
    if (!p->device_offset) return PECS_INVALID;  // device buffers only
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *out = pecs_problem_tensor(p, "out"),
                      *pos = pecs_problem_tensor(p, "pos");
    const int64_t *off = p->device_offset;
    long long T = x->shape[0], H = x->shape[1], D = x->shape[2];
    long long R = pecs_param_int(p, "rotary_dim", 0);
    R = R > 0 ? R : D;
    int pdt = pos->dtype == PECS_DT_I32 ? 0 : pos->dtype == PECS_DT_I64 ? 1 : 2;
    long long total = T * H * (R / 2 + (D - R));
    int threads = 256;
    unsigned blocks = (unsigned)((total + threads - 1) / threads);
    c->timed = false;
    cudaEventRecord(c->start, c->stream);
    if (blocks > 0)
        rope_kernel<<<blocks, threads, 0, c->stream>>>(
            static_cast<const char *>(x->data), off[x - p->tensors], static_cast<char *>(out->data),
            off[out - p->tensors], static_cast<const char *>(pos->data), off[pos - p->tensors], pdt,
            pos->stride[pos->ndim - 1], x->stride[0], x->stride[1], x->stride[2], out->stride[0], out->stride[1],
            out->stride[2], T, H, D, R, pecs_param_is(p, "pairing", "half"), std::log(pecs_param_real(p, "base", 10000.0)));
    cudaEventRecord(c->stop, c->stream);
    c->timed = true;
    return st(cudaGetLastError());
}

const pecs_backend g_backend = {
    PECS_ABI_MAJOR, sizeof(pecs_backend), PECS_ABI_MINOR, "cuda-example", "0",
    "CUDA example device plugin (ABI 1.1): rope f32", &g_ctx, cuda_supports, cuda_run, nullptr, &g_ops,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const pecs_backend *pecs_backend_entry(uint32_t host_abi_major,
                                                                                        const pecs_host *)
{
    return host_abi_major == PECS_ABI_MAJOR ? &g_backend : nullptr;
}
