/* tests/plugins/fixture.c — deliberately broken plugins that prove the harness's defenses.
 * Built once per kind (-DFIXTURE_KIND_<kind>) as build/test-plugins/libfixture-<kind>.so by the Makefile;
 * the kinds that compute something wrap the scalar backend (linked in, its entry hidden).
 *   swapped      a wrong kernel: interleaved and half-split pairing swapped (must FAIL equivalence)
 *   stray        a correct kernel that also writes one element past the end of "out" (FAILED: stray write)
 *   inputwrite   a correct kernel that also overwrites the first element of its first input (x or qpos)
 *   f32angle     rope computed the way many engines do: angle = (float)pos * (float)inv_freq in f32, cosf/sinf.
 *                Right near 0, off by ~1e-2 rad near 2^20: fails the strict profile at large positions,
 *                passes compat, and has a finite invariance horizon.
 *   crashhang    correct, except that it segfaults on alibi and never returns on sinusoidal
 *   nondet       correct to a few ulps, but every other call differs in the last bit of element 0
 *   nanout       correct, except that every element of an embed-form output is NaN (the invariance negative
 *                control must not take NaN drift for "not invariant")
 *   liar         supports() says yes, run() says "not supported" (ERROR)
 *   badabi       descriptor of ABI major PECS_ABI_MAJOR+1 (refused with both numbers)
 *   smallstruct  descriptor struct_size too small (refused)
 *   noentry      no pecs_backend_entry symbol (refused)
 *   nullentry    the entry point returns NULL (refused)
 *   hostdev      a correct DEVICE backend (ABI 1.1 hooks) whose device memory is host memory: the device path
 *                (staging, guard frame, copy back, kernel time) proved without an accelerator
 *   devstray     hostdev whose kernel also writes one byte just before the output, inside the device buffer's
 *                guard frame (FAILED: the host copy alone would never show it)
 *   devclock     hostdev whose kernel_ns() claims ten times the call: a device time the harness's clock
 *                disproves (recorded as none)
 *   v10          a 1.0 descriptor: struct_size stops before `device`, whose bytes hold garbage (must load and
 *                pass as a host backend: the harness reads no field past struct_size)
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pecs/backend.h"

const pecs_backend *pecs_builtin_entry_scalar(uint32_t host_abi_major, const pecs_host *host);

__attribute__((unused)) static pecs_backend g_desc;
/* Unused in the noentry build. */
__attribute__((unused)) static pecs_status fixture_run(void *ctx, const pecs_problem *p);

__attribute__((unused)) static int inner_supports(void *ctx, const pecs_problem *p, char *reason, size_t n)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    (void)ctx;
    return s->supports(s->ctx, p, reason, n);
}

#if defined(FIXTURE_KIND_swapped)
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    pecs_param params[64];
    pecs_problem q = *p;
    (void)ctx;
    if (p->n_params > 64)
        return PECS_INVALID;
    memcpy(params, p->params, (size_t)p->n_params * sizeof *params);
    for (int32_t i = 0; i < p->n_params; i++)
        if (!strcmp(params[i].name, "pairing"))
            params[i].s = strcmp(params[i].s, "half") ? "half" : "interleaved";
    q.params = params;
    return s->run(s->ctx, &q);
}
#elif defined(FIXTURE_KIND_stray)
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    (void)ctx;
    pecs_status st = s->run(s->ctx, p);
    const pecs_tensor *out = pecs_problem_tensor(p, "out");
    int64_t last = 0;
    for (int32_t i = 0; i < out->ndim; i++)
        last += (out->shape[i] - 1) * out->stride[i];
    memset((char *)out->data + (size_t)(last + 1) * pecs_dtype_size(out->dtype), 0, pecs_dtype_size(out->dtype));
    return st;
}
#elif defined(FIXTURE_KIND_inputwrite)
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    (void)ctx;
    pecs_status st = s->run(s->ctx, p);
    memset(p->tensors[0].data, 0x5A, pecs_dtype_size(p->tensors[0].dtype)); /* a value no generator produces */
    return st;
}
#elif defined(FIXTURE_KIND_crashhang)
#include <signal.h>
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    (void)ctx;
    if (!strcmp(p->encoding, "alibi"))
        raise(SIGSEGV);
    if (!strcmp(p->encoding, "sinusoidal"))
        for (;;) {
        }
    return s->run(s->ctx, p);
}
#elif defined(FIXTURE_KIND_nondet)
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    static unsigned calls;
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    (void)ctx;
    pecs_status st = s->run(s->ctx, p);
    const pecs_tensor *out = pecs_problem_tensor(p, "out");
    if (out->dtype == PECS_DT_F32 && calls++ % 2) /* like a reduction whose order depends on scheduling */
        ((float *)out->data)[0] = nextafterf(((float *)out->data)[0], 2.0f);
    return st;
}
#elif defined(FIXTURE_KIND_nanout)
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    (void)ctx;
    pecs_status st = s->run(s->ctx, p);
    const pecs_tensor *out = pecs_problem_tensor(p, "out");
    if (st != PECS_OK || p->form != PECS_FORM_EMBED || !out || out->ndim != 2)
        return st;
    for (int64_t t = 0; t < out->shape[0]; t++)
        for (int64_t d = 0; d < out->shape[1]; d++)
            pecs_store_f64(out->data, out->dtype, t * out->stride[0] + d * out->stride[1], NAN);
    return st;
}
#elif defined(FIXTURE_KIND_f32angle)
#include <math.h>
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *out = pecs_problem_tensor(p, "out");
    (void)ctx;
    if (strcmp(p->encoding, "rope") || !x)
        return PECS_UNSUPPORTED;
    int64_t D = x->shape[2], R = pecs_param_int(p, "rotary_dim", 0), half = pecs_param_is(p, "pairing", "half");
    R = R ? R : D;
    float base = (float)pecs_param_real(p, "base", 10000.0);
    for (int64_t t = 0; t < x->shape[0]; t++)
        for (int64_t h = 0; h < x->shape[1]; h++) {
            int64_t xo = t * x->stride[0] + h * x->stride[1], oo = t * out->stride[0] + h * out->stride[1];
            for (int64_t i = 0; i < R / 2; i++) {
                float a = (float)pecs_pos_at(pos, 0, t) * powf(base, -2.0f * (float)i / (float)R);
                int64_t ia = half ? i : 2 * i, ib = half ? i + R / 2 : 2 * i + 1;
                float x0 = pecs_load_f32(x->data, x->dtype, xo + ia * x->stride[2]);
                float x1 = pecs_load_f32(x->data, x->dtype, xo + ib * x->stride[2]);
                pecs_store_f32(out->data, out->dtype, oo + ia * out->stride[2], x0 * cosf(a) - x1 * sinf(a));
                pecs_store_f32(out->data, out->dtype, oo + ib * out->stride[2], x0 * sinf(a) + x1 * cosf(a));
            }
            for (int64_t d = R; d < D && !p->in_place; d++)
                pecs_store_f32(out->data, out->dtype, oo + d * out->stride[2],
                               pecs_load_f32(x->data, x->dtype, xo + d * x->stride[2]));
        }
    return PECS_OK;
}
#elif !defined(FIXTURE_KIND_hostdev) && !defined(FIXTURE_KIND_devstray) && !defined(FIXTURE_KIND_devclock) && \
    !defined(FIXTURE_KIND_v10)
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    (void)ctx, (void)p;
    return PECS_UNSUPPORTED;
}
#endif

#if defined(FIXTURE_KIND_hostdev) || defined(FIXTURE_KIND_devstray) || defined(FIXTURE_KIND_devclock)
#include <stdlib.h>
#include <time.h>
#define FIXTURE_DEVICE 1
static double g_kernel_ns;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static pecs_status dev_init(void *ctx, pecs_device_info *info)
{
    (void)ctx;
    snprintf(info->name, sizeof info->name, "host memory posing as a device");
    snprintf(info->driver, sizeof info->driver, "fixture 1");
    return PECS_OK;
}
static void dev_teardown(void *ctx) { (void)ctx; }
static pecs_status dev_alloc(void *ctx, size_t n, void **buf)
{
    (void)ctx;
    *buf = malloc(n);
    return *buf ? PECS_OK : PECS_NOMEM;
}
static void dev_release(void *ctx, void *buf) { (void)ctx, free(buf); }
static pecs_status dev_to_device(void *ctx, void *buf, size_t off, const void *src, size_t n)
{
    (void)ctx;
    memcpy((char *)buf + off, src, n);
    return PECS_OK;
}
static pecs_status dev_to_host(void *ctx, void *dst, void *buf, size_t off, size_t n)
{
    (void)ctx;
    memcpy(dst, (const char *)buf + off, n);
    return PECS_OK;
}
static pecs_status dev_sync(void *ctx) { (void)ctx; return PECS_OK; }
static pecs_status dev_kernel_ns(void *ctx, double *ns)
{
    (void)ctx;
    *ns = g_kernel_ns;
    return PECS_OK;
}
static pecs_status dev_copy(void *ctx, void *dst, void *src, size_t n, double *ns)
{
    (void)ctx;
    double t0 = now_ns();
    memcpy(dst, src, n);
    *ns = now_ns() - t0;
    return PECS_OK;
}
static const pecs_device_ops g_dev_ops = {sizeof(pecs_device_ops), dev_init, dev_teardown, dev_alloc, dev_release,
                                          dev_to_device, dev_to_host, dev_sync, dev_kernel_ns, dev_copy};

/* The device problem's tensors are buffer handles plus byte offsets; here a handle is a host address. */
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    pecs_tensor t[8];
    pecs_problem q = *p;
    (void)ctx;
    if (!p->device_offset || p->n_tensors > 8)
        return PECS_INVALID;
    for (int32_t i = 0; i < p->n_tensors; i++) {
        t[i] = p->tensors[i];
        t[i].data = (char *)p->tensors[i].data + p->device_offset[i];
    }
    q.tensors = t;
    q.device_offset = NULL;
    double t0 = now_ns();
    pecs_status st = s->run(s->ctx, &q);
    g_kernel_ns = now_ns() - t0;
#if defined(FIXTURE_KIND_devclock)
    g_kernel_ns *= 10.0;
#endif
#if defined(FIXTURE_KIND_devstray)
    const pecs_tensor *out = pecs_problem_tensor(&q, "out");
    if (out)
        ((unsigned char *)out->data)[-1] ^= 0xFF;
#endif
    return st;
}
#endif

#if defined(FIXTURE_KIND_v10)
static pecs_status fixture_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL);
    (void)ctx;
    return s->run(s->ctx, p);
}
#endif

#if defined(FIXTURE_KIND_liar)
static int fixture_supports(void *ctx, const pecs_problem *p, char *reason, size_t n)
{
    (void)ctx, (void)p, (void)reason, (void)n;
    return 1;
}
#else
#define fixture_supports inner_supports
#endif

#if !defined(FIXTURE_KIND_noentry)
__attribute__((visibility("default"))) const pecs_backend *pecs_backend_entry(uint32_t host_abi_major, const pecs_host *host)
{
    (void)host_abi_major, (void)host;
#if defined(FIXTURE_KIND_nullentry)
    return NULL;
#endif
    g_desc = (pecs_backend){
        .abi_major = PECS_ABI_MAJOR,
        .struct_size = sizeof(pecs_backend),
        .abi_minor = PECS_ABI_MINOR,
        .name = "fixture",
        .version = "0",
        .description = "deliberately broken test plugin",
        .supports = fixture_supports,
        .run = fixture_run,
    };
#if defined(FIXTURE_DEVICE)
    g_desc.device = &g_dev_ops;
#endif
#if defined(FIXTURE_KIND_v10)
    g_desc.struct_size = (uint32_t)offsetof(pecs_backend, device);
    g_desc.abi_minor = 0;
    g_desc.device = (const pecs_device_ops *)(uintptr_t)1; /* past struct_size: must never be read */
#endif
#if defined(FIXTURE_KIND_badabi)
    g_desc.abi_major = PECS_ABI_MAJOR + 1;
#elif defined(FIXTURE_KIND_smallstruct)
    g_desc.struct_size = 8;
#endif
    return &g_desc;
}
#else
__attribute__((visibility("default"))) int pecs_not_the_entry(void) { return 0; }
#endif
