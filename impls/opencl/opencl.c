/* impls/opencl/opencl.c — the OpenCL backend: the device hooks of ABI 1.1 (include/pecs/backend.h,
 * "Devices") on the first OpenCL GPU, accelerator or CPU device the ICD loader offers (Debian's pocl gives a
 * CPU one), and a device kernel for the T1 pair-rotation schedules in f32 and f16 storage (kernels.cl.h).
 *
 * It is both the proof that the device path works and a template for vendors: the frequency schedule is the
 * in-tree one (impls/common/schedule.c, computed on the host in double once per call, as engines do) and the
 * per-element work is on the device. The bias form runs alibi, t5, kerple.log, kerple.power and fire. Every transfer is the harness's (to_device/to_host); run() only
 * enqueues the kernel on the one in-order queue and keeps its event, which kernel_ns() reads.
 *
 * Declined, with the reason: block schedules (ComRoPE), per-token gains (xPos, Entropy-ABF queries),
 * schedules whose length comes from this call's positions (seq_len = 0: the positions are on the device when
 * run() is called), bf16, devices without cl_khr_fp64 (angles are computed in double). */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/schedule.h"
#include "kernels.cl.h"
#include "pecs/backend.h"

typedef struct ocl {
    cl_context ctx;
    cl_device_id dev;
    cl_command_queue q;
    cl_program prog[2];     /* [0] float storage, [1] half storage */
    cl_kernel rope[2], bias[2];
    cl_event last;          /* the last run()'s kernel */
    int fp64, up;
    char init_why[160];
} ocl;

static ocl g_ocl;

static pecs_status cl_status(cl_int e) { return e == CL_SUCCESS ? PECS_OK : e == CL_OUT_OF_HOST_MEMORY ? PECS_NOMEM : PECS_BACKEND; }

static cl_device_id pick_device(cl_platform_id *plat)
{
    cl_platform_id ps[8];
    cl_uint np = 0;
    if (clGetPlatformIDs(8, ps, &np) != CL_SUCCESS)
        return NULL;
    static const cl_device_type order[] = {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ACCELERATOR, CL_DEVICE_TYPE_CPU};
    for (size_t k = 0; k < sizeof order / sizeof *order; k++)
        for (cl_uint i = 0; i < np && i < 8; i++) {
            cl_device_id d;
            cl_uint nd = 0;
            if (clGetDeviceIDs(ps[i], order[k], 1, &d, &nd) == CL_SUCCESS && nd > 0) {
                *plat = ps[i];
                return d;
            }
        }
    return NULL;
}

static pecs_status ocl_init(void *vctx, pecs_device_info *info)
{
    ocl *o = vctx;
    cl_platform_id plat;
    cl_int e = CL_SUCCESS;
    o->dev = pick_device(&plat);
    if (!o->dev) {
        snprintf(o->init_why, sizeof o->init_why, "no OpenCL device (no ICD installed? Debian: pocl-opencl-icd)");
        snprintf(info->error, sizeof info->error, "%s", o->init_why);
        return PECS_UNSUPPORTED;
    }
    char ver[512] = "", drv[512] = "", ext[8192] = "";
    char name[512] = "";
    clGetDeviceInfo(o->dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    snprintf(info->name, sizeof info->name, "%.127s", name); /* cut to the field */
    clGetDeviceInfo(o->dev, CL_DEVICE_VERSION, sizeof ver - 1, ver, NULL);
    clGetDeviceInfo(o->dev, CL_DRIVER_VERSION, sizeof drv - 1, drv, NULL);
    clGetDeviceInfo(o->dev, CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext, NULL);
    ver[strcspn(ver, "\n")] = '\0';
    snprintf(info->driver, sizeof info->driver, "%.80s; driver %.36s", ver, drv);
    o->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
    o->ctx = clCreateContext(NULL, 1, &o->dev, NULL, NULL, &e);
    if (e != CL_SUCCESS)
        goto fail;
    o->q = clCreateCommandQueue(o->ctx, o->dev, CL_QUEUE_PROFILING_ENABLE, &e);
    if (e != CL_SUCCESS)
        goto fail;
    if (o->fp64) {
        for (int k = 0; k < 2; k++) {
            o->prog[k] = clCreateProgramWithSource(o->ctx, 2, (const char **)pecs_opencl_source, NULL, &e);
            if (e != CL_SUCCESS)
                goto fail;
            e = clBuildProgram(o->prog[k], 1, &o->dev, k ? "-DF16" : "", NULL, NULL);
            if (e != CL_SUCCESS)
                goto fail;
            o->rope[k] = clCreateKernel(o->prog[k], "rope", &e);
            if (e != CL_SUCCESS)
                goto fail;
            o->bias[k] = clCreateKernel(o->prog[k], "bias", &e);
            if (e != CL_SUCCESS)
                goto fail;
        }
    }
    o->up = 1;
    return PECS_OK;
fail:
    snprintf(o->init_why, sizeof o->init_why, "OpenCL setup failed (error %d)", (int)e);
    snprintf(info->error, sizeof info->error, "%s", o->init_why);
    return PECS_BACKEND;
}

static void ocl_teardown(void *vctx)
{
    ocl *o = vctx;
    if (o->last)
        clReleaseEvent(o->last);
    for (int k = 0; k < 2; k++) {
        if (o->rope[k])
            clReleaseKernel(o->rope[k]);
        if (o->bias[k])
            clReleaseKernel(o->bias[k]);
        if (o->prog[k])
            clReleaseProgram(o->prog[k]);
    }
    if (o->q)
        clReleaseCommandQueue(o->q);
    if (o->ctx)
        clReleaseContext(o->ctx);
    memset(o, 0, sizeof *o);
}

static pecs_status ocl_alloc(void *vctx, size_t bytes, void **buf)
{
    ocl *o = vctx;
    cl_int e;
    cl_mem m = clCreateBuffer(o->ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    *buf = m;
    return cl_status(e);
}

static void ocl_release(void *vctx, void *buf)
{
    (void)vctx;
    clReleaseMemObject((cl_mem)buf);
}

static pecs_status ocl_to_device(void *vctx, void *buf, size_t off, const void *src, size_t n)
{
    ocl *o = vctx;
    return cl_status(clEnqueueWriteBuffer(o->q, (cl_mem)buf, CL_TRUE, off, n, src, 0, NULL, NULL));
}

static pecs_status ocl_to_host(void *vctx, void *dst, void *buf, size_t off, size_t n)
{
    ocl *o = vctx;
    return cl_status(clEnqueueReadBuffer(o->q, (cl_mem)buf, CL_TRUE, off, n, dst, 0, NULL, NULL));
}

static pecs_status ocl_sync(void *vctx)
{
    ocl *o = vctx;
    return cl_status(clFinish(o->q));
}

static double event_ns(cl_event ev)
{
    cl_ulong a = 0, b = 0;
    if (clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof a, &a, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof b, &b, NULL) != CL_SUCCESS || b < a)
        return -1.0;
    return (double)(b - a);
}

static pecs_status ocl_kernel_ns(void *vctx, double *ns)
{
    ocl *o = vctx;
    *ns = o->last ? event_ns(o->last) : -1.0;
    return *ns > 0 ? PECS_OK : PECS_BACKEND;
}

static pecs_status ocl_copy(void *vctx, void *dst, void *src, size_t n, double *ns)
{
    ocl *o = vctx;
    cl_event ev;
    cl_int e = clEnqueueCopyBuffer(o->q, (cl_mem)src, (cl_mem)dst, 0, 0, n, 0, NULL, &ev);
    if (e != CL_SUCCESS)
        return cl_status(e);
    e = clWaitForEvents(1, &ev);
    *ns = e == CL_SUCCESS ? event_ns(ev) : -1.0;
    clReleaseEvent(ev);
    return e == CL_SUCCESS && *ns > 0 ? PECS_OK : PECS_BACKEND;
}

static const pecs_device_ops g_ops = {
    sizeof(pecs_device_ops), ocl_init, ocl_teardown, ocl_alloc, ocl_release, ocl_to_device, ocl_to_host, ocl_sync,
    ocl_kernel_ns, ocl_copy,
};

/* ---- the kernels ---------------------------------------------------------------------------------------- */

static int say(char *reason, size_t n, const char *why)
{
    snprintf(reason, n, "%s", why);
    return 0;
}

/* The bias encodings of the device kernel, by id: its mode number (kernels.cl.h), or -1. */
static int bias_mode(const pecs_problem *p)
{
    if (!strcmp(p->encoding, "alibi"))
        return pecs_param_is(p, "variant", "key_index") ? 1 : 0;
    static const char *const ids[] = {"t5", "kerple.log", "kerple.power", "fire"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(p->encoding, ids[i]))
            return 2 + i;
    return -1;
}

static int bias_supports(const pecs_problem *p, char *reason, size_t n)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w");
    int mode = bias_mode(p);
    if (mode < 0)
        return say(reason, n, "opencl runs the alibi, t5, kerple and fire biases only");
    if (!qp || !kp || !out || out->ndim != 3 || qp->dtype != kp->dtype)
        return say(reason, n, "tensors are not qpos [Lq], kpos [Lk], out [H, Lq, Lk]");
    if (qp->dtype != PECS_DT_I32 && qp->dtype != PECS_DT_I64 && qp->dtype != PECS_DT_F64)
        return say(reason, n, "positions must be i32, i64 or f64");
    int64_t H = out->shape[0];
    if (mode == 2 && !impl_t5_params_ok(p, w, H))
        return say(reason, n, "t5's table w does not fit num_buckets x heads");
    if (mode == 5 && (!w || w->ndim != 2 || w->shape[0] != H + 2 || w->shape[1] != pecs_param_int(p, "hidden", 32) + 1))
        return say(reason, n, "fire's weights w are not [H + 2, hidden + 1]");
    if (mode == 3 || mode == 4) {
        const pecs_param *r1 = pecs_problem_param(p, "r1"), *r2 = pecs_problem_param(p, "r2");
        if (!r1 || !r2 || (r1->n != 1 && r1->n != H) || (r2->n != 1 && r2->n != H))
            return say(reason, n, "kerple's r1 and r2 need 1 or H values");
    }
    return 1;
}

static int ocl_supports(void *vctx, const pecs_problem *p, char *reason, size_t n)
{
    ocl *o = vctx;
    if (!o->up)
        return say(reason, n, o->init_why[0] ? o->init_why : "the OpenCL device is not initialised");
    if (!o->fp64)
        return say(reason, n, "the device has no cl_khr_fp64 (angles are computed in double)");
    if (p->dtype != PECS_DT_F32 && p->dtype != PECS_DT_F16)
        return say(reason, n, "opencl stores f32 and f16 only");
    if (p->form == PECS_FORM_BIAS)
        return bias_supports(p, reason, n);
    if (p->form != PECS_FORM_ROTATE || !impl_schedule_of(p->encoding))
        return say(reason, n, "opencl runs the T1 rotate schedules and the alibi, t5, kerple and fire biases");
    if (impl_schedule_has_blocks(p->encoding))
        return say(reason, n, "block schedules (ComRoPE) are not pair rotations");
    if (impl_schedule_has_phase(p->encoding))
        return say(reason, n, "the device kernel takes one angle per (token, pair), not a content phase per head");
    if (impl_schedule_has_gate(p->encoding))
        return say(reason, n, "the device kernel has no learned content gate before the rotation (PSC)");
    if (impl_schedule_has_imag(p->encoding))
        return say(reason, n, "the device kernel has no per-head quarter turn (RoPE++ imaginary heads)");
    if (impl_schedule_has_head_freq(p->encoding))
        return say(reason, n, "the device kernel has one inv_freq row for all heads (HARPE's per-head bases)");
    const pecs_param *sl = pecs_problem_param(p, "seq_len");
    if (sl && sl->i <= 0)
        return say(reason, n, "the length comes from this call's positions, which are on the device in run()");
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *out = pecs_problem_tensor(p, "out"),
                      *pos = pecs_problem_tensor(p, "pos");
    if (!x || !out || !pos || x->ndim != 3 || out->ndim != 3 || pos->ndim != 2 || pecs_problem_tensor(p, "w"))
        return say(reason, n, "tensors are not x [T,H,D], pos [P,T], out [T,H,D] (or the encoding has weights)");
    if (pos->dtype != PECS_DT_I32 && pos->dtype != PECS_DT_I64 && pos->dtype != PECS_DT_F64)
        return say(reason, n, "positions must be i32, i64 or f64");
    int64_t R = impl_rotary_dim(p, x->shape[2]);
    if (R <= 0 || R % 2)
        return say(reason, n, "rotary_dim must be even and at most head_dim");
    scalar_sched s;
    if (impl_schedule(p, R, &s) != PECS_OK)
        return say(reason, n, "the schedule rejects these parameters");
    int gain = impl_has_token_gain(&s);
    impl_schedule_free(&s);
    if (gain)
        return say(reason, n, "per-token gains (xPos, Entropy-ABF queries) are not in the device kernel");
    return 1;
}

/* Enqueue `k` over `global` work-items, keeping its event for kernel_ns(). */
static cl_int enqueue(ocl *o, cl_kernel k, size_t global)
{
    if (o->last)
        clReleaseEvent(o->last);
    o->last = NULL;
    return global > 0 ? clEnqueueNDRangeKernel(o->q, k, 1, NULL, &global, NULL, 0, NULL, &o->last) : CL_SUCCESS;
}

static pecs_status bias_run(ocl *o, const pecs_problem *p)
{
    const pecs_tensor *qp = pecs_problem_tensor(p, "qpos"), *kp = pecs_problem_tensor(p, "kpos"),
                      *out = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w");
    const int64_t *off = p->device_offset;
    int64_t H = out->shape[0], Lq = out->shape[1], Lk = out->shape[2];
    int mode = bias_mode(p);
    double *ca = calloc((size_t)H + 1, sizeof *ca), *cb = calloc((size_t)H + 1, sizeof *cb);
    cl_long iv[3] = {0, 0, 0};
    cl_double rv[3] = {0, 0, 0};
    cl_int e = ca && cb ? CL_SUCCESS : CL_OUT_OF_HOST_MEMORY;
    for (int64_t h = 0; e == CL_SUCCESS && h < H; h++) {
        if (mode <= 1)
            ca[h] = impl_alibi_slope(H, h, pecs_param_real(p, "max_bias", 8.0));
        if (mode == 3 || mode == 4) {
            const pecs_param *r1 = pecs_problem_param(p, "r1"), *r2 = pecs_problem_param(p, "r2");
            ca[h] = r1->list[r1->n == 1 ? 0 : h];
            cb[h] = r2->list[r2->n == 1 ? 0 : h];
        }
    }
    if (mode == 2)
        iv[0] = pecs_param_int(p, "bidirectional", 1), iv[1] = pecs_param_int(p, "num_buckets", 32),
        iv[2] = pecs_param_int(p, "max_distance", 128);
    if (mode == 5) {
        iv[0] = pecs_param_int(p, "hidden", 32);
        rv[0] = pecs_param_real(p, "c", 0.1), rv[1] = pecs_param_real(p, "eps", 1e-6);
        rv[2] = fabs(pecs_param_real(p, "L_mult", 1.0) * pecs_param_real(p, "init_L", 512.0));
    }
    cl_mem cam = e == CL_SUCCESS ? clCreateBuffer(o->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                                  ((size_t)H + 1) * sizeof *ca, ca, &e) : NULL;
    cl_mem cbm = e == CL_SUCCESS ? clCreateBuffer(o->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                                  ((size_t)H + 1) * sizeof *cb, cb, &e) : NULL;
    if (e == CL_SUCCESS) {
        cl_kernel k = o->bias[p->dtype == PECS_DT_F16];
        cl_mem qm = (cl_mem)qp->data, km = (cl_mem)kp->data, om = (cl_mem)out->data;
        cl_mem wm = w ? (cl_mem)w->data : qm; /* no table: any valid buffer, never read */
        int iq = (int)(qp - p->tensors), ik = (int)(kp - p->tensors), io = (int)(out - p->tensors);
        cl_ulong qo = (cl_ulong)off[iq], ko = (cl_ulong)off[ik], oo = (cl_ulong)off[io];
        cl_ulong wo = w ? (cl_ulong)off[w - p->tensors] : 0;
        cl_int pdt = qp->dtype == PECS_DT_I32 ? 0 : qp->dtype == PECS_DT_I64 ? 1 : 2, md = mode;
        cl_long qs = qp->stride[qp->ndim - 1], ks = kp->stride[kp->ndim - 1];
        cl_long a[] = {out->stride[0], out->stride[1], out->stride[2], H, Lk};
        cl_long ws[] = {w ? w->stride[0] : 0, w ? w->stride[1] : 0};
        cl_uint i = 0;
        e |= clSetKernelArg(k, i++, sizeof qm, &qm);
        e |= clSetKernelArg(k, i++, sizeof qo, &qo);
        e |= clSetKernelArg(k, i++, sizeof km, &km);
        e |= clSetKernelArg(k, i++, sizeof ko, &ko);
        e |= clSetKernelArg(k, i++, sizeof pdt, &pdt);
        e |= clSetKernelArg(k, i++, sizeof qs, &qs);
        e |= clSetKernelArg(k, i++, sizeof ks, &ks);
        e |= clSetKernelArg(k, i++, sizeof om, &om);
        e |= clSetKernelArg(k, i++, sizeof oo, &oo);
        for (size_t j = 0; j < 5; j++)
            e |= clSetKernelArg(k, i++, sizeof a[j], &a[j]);
        e |= clSetKernelArg(k, i++, sizeof md, &md);
        e |= clSetKernelArg(k, i++, sizeof cam, &cam);
        e |= clSetKernelArg(k, i++, sizeof cbm, &cbm);
        e |= clSetKernelArg(k, i++, sizeof wm, &wm);
        e |= clSetKernelArg(k, i++, sizeof wo, &wo);
        e |= clSetKernelArg(k, i++, sizeof ws[0], &ws[0]);
        e |= clSetKernelArg(k, i++, sizeof ws[1], &ws[1]);
        for (size_t j = 0; j < 3; j++)
            e |= clSetKernelArg(k, i++, sizeof iv[j], &iv[j]);
        for (size_t j = 0; j < 3; j++)
            e |= clSetKernelArg(k, i++, sizeof rv[j], &rv[j]);
        if (e == CL_SUCCESS)
            e = enqueue(o, k, (size_t)(Lq * Lk));
    }
    if (cam)
        clReleaseMemObject(cam);
    if (cbm)
        clReleaseMemObject(cbm);
    free(ca);
    free(cb);
    return e == CL_SUCCESS ? PECS_OK : PECS_BACKEND;
}

static pecs_status ocl_run(void *vctx, const pecs_problem *p)
{
    ocl *o = vctx;
    if (!p->device_offset || p->struct_size < offsetof(pecs_problem, device_offset) + sizeof p->device_offset)
        return PECS_INVALID; /* a device backend's run() takes device buffers only */
    if (p->form == PECS_FORM_BIAS)
        return bias_run(o, p);
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *out = pecs_problem_tensor(p, "out"),
                      *pos = pecs_problem_tensor(p, "pos");
    const int64_t *off = p->device_offset;
    const int ix = (int)(x - p->tensors), io = (int)(out - p->tensors), ip = (int)(pos - p->tensors);
    int64_t T = x->shape[0], H = x->shape[1], D = x->shape[2], R = impl_rotary_dim(p, D);
    scalar_sched s;
    pecs_status st = impl_schedule(p, R, &s);
    if (st != PECS_OK)
        return st;
    double *hs = malloc(((size_t)H + 1) * sizeof *hs);
    int *ha = malloc(((size_t)H + 1) * sizeof *ha);
    if (!hs || !ha) {
        free(hs);
        free(ha);
        impl_schedule_free(&s);
        return PECS_NOMEM;
    }
    for (int64_t h = 0; h < H; h++) {
        hs[h] = s.head_scale ? s.head_scale[h] : 1.0;
        ha[h] = s.head_axis ? s.head_axis[h] : -1;
    }
    cl_int e = CL_SUCCESS;
    cl_mem inv = clCreateBuffer(o->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)(R / 2 ? R / 2 : 1) * sizeof(double),
                                s.inv_freq, &e);
    cl_mem axis = e == CL_SUCCESS ? clCreateBuffer(o->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                                   (size_t)(R / 2 ? R / 2 : 1) * sizeof(int), s.axis, &e) : NULL;
    cl_mem hsb = e == CL_SUCCESS ? clCreateBuffer(o->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                                  ((size_t)H + 1) * sizeof *hs, hs, &e) : NULL;
    cl_mem hab = e == CL_SUCCESS ? clCreateBuffer(o->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                                  ((size_t)H + 1) * sizeof *ha, ha, &e) : NULL;
    if (e == CL_SUCCESS) {
        cl_kernel k = o->rope[p->dtype == PECS_DT_F16];
        cl_mem xm = (cl_mem)x->data, om = (cl_mem)out->data, pm = (cl_mem)pos->data;
        cl_ulong xo = (cl_ulong)off[ix], oo = (cl_ulong)off[io], po = (cl_ulong)off[ip];
        cl_int pdt = pos->dtype == PECS_DT_I32 ? 0 : pos->dtype == PECS_DT_I64 ? 1 : 2;
        cl_long a[] = {pos->stride[0], pos->stride[1], x->stride[0], x->stride[1], x->stride[2],
                       out->stride[0], out->stride[1], out->stride[2], H, D, R};
        cl_int half = pecs_param_is(p, "pairing", "half");
        cl_float attn = (cl_float)s.attn;
        cl_double pofs = s.pos_offset;
        cl_uint i = 0;
        e |= clSetKernelArg(k, i++, sizeof xm, &xm);
        e |= clSetKernelArg(k, i++, sizeof xo, &xo);
        e |= clSetKernelArg(k, i++, sizeof om, &om);
        e |= clSetKernelArg(k, i++, sizeof oo, &oo);
        e |= clSetKernelArg(k, i++, sizeof pm, &pm);
        e |= clSetKernelArg(k, i++, sizeof po, &po);
        e |= clSetKernelArg(k, i++, sizeof pdt, &pdt);
        for (size_t j = 0; j < sizeof a / sizeof *a; j++)
            e |= clSetKernelArg(k, i++, sizeof a[j], &a[j]);
        e |= clSetKernelArg(k, i++, sizeof half, &half);
        e |= clSetKernelArg(k, i++, sizeof inv, &inv);
        e |= clSetKernelArg(k, i++, sizeof axis, &axis);
        e |= clSetKernelArg(k, i++, sizeof hsb, &hsb);
        e |= clSetKernelArg(k, i++, sizeof hab, &hab);
        e |= clSetKernelArg(k, i++, sizeof attn, &attn);
        e |= clSetKernelArg(k, i++, sizeof pofs, &pofs);
        if (e == CL_SUCCESS)
            e = enqueue(o, k, (size_t)(T * (R / 2 + (D - R))));
    }
    /* The schedule buffers are released now; OpenCL keeps them alive until the kernel that uses them ends. */
    cl_mem ms[] = {inv, axis, hsb, hab};
    for (size_t j = 0; j < 4; j++)
        if (ms[j])
            clReleaseMemObject(ms[j]);
    impl_schedule_free(&s);
    free(hs);
    free(ha);
    return e == CL_SUCCESS ? PECS_OK : PECS_BACKEND;
}

static const char *ocl_isa(void *vctx)
{
    (void)vctx;
    return "opencl";
}

static const pecs_backend g_backend = {
    .abi_major = PECS_ABI_MAJOR,
    .struct_size = sizeof(pecs_backend),
    .abi_minor = PECS_ABI_MINOR,
    .name = "opencl",
    .version = "1",
    .description = "OpenCL device kernels through the device hooks (ABI 1.1): T1 pair rotations, alibi/t5/kerple/fire biases, f32/f16",
    .ctx = &g_ocl,
    .supports = ocl_supports,
    .run = ocl_run,
    .isa = ocl_isa,
    .device = &g_ops,
};

PECS_BACKEND_ENTRY(opencl)
{
    (void)host;
    return host_abi_major == PECS_ABI_MAJOR ? &g_backend : NULL;
}
