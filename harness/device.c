#include "device.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CANARY 0xA5u

const pecs_device_ops *pecs_device_ops_of(const pecs_backend *b)
{
    if (b->struct_size < offsetof(pecs_backend, device) + sizeof b->device || b->abi_minor < 1)
        return NULL;
    return b->device;
}

const char *pecs_device_ops_invalid(const pecs_device_ops *ops)
{
    if (ops->struct_size < offsetof(pecs_device_ops, copy) + sizeof ops->copy)
        return "device hooks' struct_size is smaller than the ABI 1.1 pecs_device_ops";
    if (!ops->init || !ops->teardown || !ops->alloc || !ops->release || !ops->to_device || !ops->to_host ||
        !ops->sync)
        return "device hooks lack init, teardown, alloc, release, to_device, to_host or sync";
    return NULL;
}

/* Bytes from element 0 to one past the last element of a non-negative strided view. */
static size_t extent_bytes(const pecs_tensor *t)
{
    size_t last = 0;
    for (int32_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] <= 0)
            return 0;
        last += (size_t)(t->shape[d] - 1) * (size_t)t->stride[d];
    }
    return (last + 1) * pecs_dtype_size(t->dtype);
}

#define MAX_T 8

pecs_status pecs_device_call(const pecs_backend *b, const pecs_problem *p, pecs_device_times *t, char *why,
                             size_t why_len)
{
    const pecs_device_ops *ops = pecs_device_ops_of(b);
    void *ctx = b->ctx, *buf[MAX_T] = {0};
    int owner[MAX_T];                 /* tensor i uses the buffer of tensor owner[i] (in place: out -> x) */
    size_t ext[MAX_T];
    int64_t off[MAX_T];
    pecs_tensor dt[MAX_T];
    unsigned char *frame = NULL;
    int out = -1;
    pecs_status st = PECS_OK;
    t->e2e_s = t->run_s = 0.0;
    t->kernel_s = -1.0;
    t->stray = 0;
    why[0] = '\0';
    if (p->n_tensors > MAX_T) {
        snprintf(why, why_len, "device call: %d tensors (at most %d)", p->n_tensors, MAX_T);
        return PECS_INTERNAL;
    }
    for (int i = 0; i < p->n_tensors; i++) {
        for (int32_t d = 0; d < p->tensors[i].ndim; d++)
            if (p->tensors[i].stride[d] < 0) {
                snprintf(why, why_len, "device call: tensor '%s' has a negative stride", p->tensors[i].name);
                return PECS_INTERNAL;
            }
        ext[i] = extent_bytes(&p->tensors[i]);
        owner[i] = i;
        for (int j = 0; j < i; j++)
            if (p->tensors[j].data == p->tensors[i].data)
                owner[i] = j;
        if (!strcmp(p->tensors[i].name, "out"))
            out = i;
        if (owner[i] != i && ext[i] > ext[owner[i]])
            ext[owner[i]] = ext[i];
        off[i] = PECS_DEVICE_PAD;
        dt[i] = p->tensors[i];
    }
    if (out < 0) {
        snprintf(why, why_len, "device call: the problem has no 'out' tensor");
        return PECS_INTERNAL;
    }
    const int ob = owner[out];
    const size_t framed = ext[ob] + 2 * (size_t)PECS_DEVICE_PAD;
    frame = malloc(framed);
    if (!frame) {
        snprintf(why, why_len, "device call: no memory for the output frame (%zu bytes)", framed);
        return PECS_NOMEM;
    }
    memset(frame, CANARY, framed);
    memcpy(frame + PECS_DEVICE_PAD, p->tensors[ob].data, ext[ob]); /* the host copy, gap canaries included */
    double t0 = pecs_now();
    for (int i = 0; i < p->n_tensors && st == PECS_OK; i++) {
        if (owner[i] != i)
            continue;
        const size_t n = ext[i] + 2 * (size_t)PECS_DEVICE_PAD;
        st = ops->alloc(ctx, n, &buf[i]);
        if (st != PECS_OK || !buf[i]) {
            snprintf(why, why_len, "device alloc(%zu) of '%s' failed: %s", n, p->tensors[i].name, pecs_status_str(st));
            st = st == PECS_OK ? PECS_BACKEND : st;
            break;
        }
        st = i == ob ? ops->to_device(ctx, buf[i], 0, frame, framed)
                     : ops->to_device(ctx, buf[i], PECS_DEVICE_PAD, p->tensors[i].data, ext[i]);
        if (st != PECS_OK)
            snprintf(why, why_len, "device to_device of '%s' failed: %s", p->tensors[i].name, pecs_status_str(st));
    }
    if (st == PECS_OK) {
        for (int i = 0; i < p->n_tensors; i++)
            dt[i].data = buf[owner[i]];
        pecs_problem dp = *p;
        dp.struct_size = sizeof dp;
        dp.tensors = dt;
        dp.device_offset = off;
        double r0 = pecs_now();
        st = b->run(ctx, &dp);
        pecs_status ss = ops->sync(ctx);
        t->run_s = pecs_now() - r0;
        if (st == PECS_OK && ss != PECS_OK) {
            st = ss;
            snprintf(why, why_len, "device sync after run() failed: %s", pecs_status_str(ss));
        }
        double ns = -1.0;
        if (st == PECS_OK && ops->kernel_ns && ops->kernel_ns(ctx, &ns) == PECS_OK && isfinite(ns) && ns > 0.0 &&
            ns * 1e-9 <= t->run_s)
            t->kernel_s = ns * 1e-9;
    }
    if (st == PECS_OK) {
        memset(frame, 0, framed); /* what comes back is the device's, not what was sent */
        st = ops->to_host(ctx, frame, buf[ob], 0, framed);
        pecs_status ss = st == PECS_OK ? ops->sync(ctx) : st;
        if (st != PECS_OK || ss != PECS_OK) {
            st = st != PECS_OK ? st : ss;
            snprintf(why, why_len, "device to_host of the output failed: %s", pecs_status_str(st));
        }
    }
    t->e2e_s = pecs_now() - t0;
    if (st == PECS_OK) {
        for (size_t k = 0; k < (size_t)PECS_DEVICE_PAD && st == PECS_OK; k++) {
            size_t lo = PECS_DEVICE_PAD - 1 - k, hi = PECS_DEVICE_PAD + ext[ob] + k;
            if (frame[lo] != CANARY || frame[hi] != CANARY) {
                snprintf(why, why_len, "the device wrote the byte %zu %s the output '%s' (its buffer's guard frame)",
                         k + 1, frame[lo] != CANARY ? "before" : "after", p->tensors[out].name);
                st = PECS_INVALID;
                t->stray = 1;
            }
        }
        if (st == PECS_OK)
            memcpy(p->tensors[ob].data, frame + PECS_DEVICE_PAD, ext[ob]);
    }
    for (int i = 0; i < p->n_tensors; i++)
        if (buf[i])
            ops->release(ctx, buf[i]);
    free(frame);
    return st;
}

double pecs_device_copy_gbs(const pecs_backend *b, size_t bytes, int reps, char *why, size_t why_len)
{
    const pecs_device_ops *ops = pecs_device_ops_of(b);
    void *src = NULL, *dst = NULL;
    double best = 0.0;
    if (!ops || !ops->copy) {
        snprintf(why, why_len, "the backend has no device copy()");
        return 0.0;
    }
    if (ops->alloc(b->ctx, bytes, &src) != PECS_OK || ops->alloc(b->ctx, bytes, &dst) != PECS_OK || !src || !dst) {
        snprintf(why, why_len, "device alloc(%zu) for the copy calibration failed", bytes);
        goto done;
    }
    for (int r = 0; r < reps; r++) {
        double ns = 0.0;
        double t0 = pecs_now();
        pecs_status st = ops->copy(b->ctx, dst, src, bytes, &ns);
        if (st == PECS_OK)
            st = ops->sync(b->ctx);
        double wall = pecs_now() - t0;
        if (st != PECS_OK || !isfinite(ns) || ns <= 0.0 || ns * 1e-9 > wall) {
            snprintf(why, why_len, "device copy() failed or reported an impossible time (%g ns in %g s)", ns, wall);
            best = 0.0;
            goto done;
        }
        double gbs = 2.0 * (double)bytes / ns;
        best = gbs > best ? gbs : best;
    }
done:
    if (src)
        ops->release(b->ctx, src);
    if (dst)
        ops->release(b->ctx, dst);
    return best;
}

pecs_status pecs_run_call(const pecs_backend *b, const pecs_problem *p, double *seconds, double *kernel_s, int *stray,
                          char *why, size_t why_len)
{
    *kernel_s = -1.0;
    *stray = 0;
    if (!pecs_device_ops_of(b)) {
        double t0 = pecs_now();
        pecs_status st = b->run(b->ctx, p);
        *seconds = pecs_now() - t0;
        return st;
    }
    pecs_device_times t;
    pecs_status st = pecs_device_call(b, p, &t, why, why_len);
    *seconds = t.e2e_s;
    *kernel_s = t.kernel_s;
    *stray = t.stray;
    return st;
}
