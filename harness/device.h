/* harness/device.h — calls into a device backend (backend.h "Devices", ABI 1.1): the harness stages every
 * tensor in a device buffer framed by PECS_DEVICE_PAD canary bytes, runs, synchronises, copies the output's
 * whole frame back, checks both ends of it and copies the middle into the host output (whose own gap
 * canaries the caller checks as for a host backend). Used in process and in the isolated worker alike, so a
 * device context lives in whichever process makes the calls. */
#ifndef PECS_DEVICE_H
#define PECS_DEVICE_H

#include <stddef.h>

#include "pecs/backend.h"

/* The descriptor's device hooks, or NULL for a host backend (a 1.0 descriptor, or device == NULL). */
const pecs_device_ops *pecs_device_ops_of(const pecs_backend *b);

/* NULL if ops are usable; else what is missing (a static string). */
const char *pecs_device_ops_invalid(const pecs_device_ops *ops);

typedef struct pecs_device_times {
    double e2e_s;     /* transfers in + run + sync + transfer out, on the harness's clock */
    double run_s;     /* run() + sync(), on the harness's clock */
    double kernel_s;  /* kernel_ns() from the device's events; -1 when the backend has none (or it is not
                         finite, not positive, or longer than run_s: a device time the harness saw cannot be) */
    int stray;        /* 1: the device wrote into the output buffer's guard frame (why says where) */
} pecs_device_times;

/* Runs p (host tensors) on the device. Returns run()'s status, or PECS_BACKEND / PECS_NOMEM with `why` set
 * when a hook failed, or PECS_INVALID with t->stray = 1 when the device wrote outside the output. */
pecs_status pecs_device_call(const pecs_backend *b, const pecs_problem *p, pecs_device_times *t, char *why,
                             size_t why_len);

/* Device bandwidth from the backend's copy(): the best of `reps` copies of `bytes`, counting read + write
 * (GB/s); 0 with why set when the backend has no copy() or it failed. */
double pecs_device_copy_gbs(const pecs_backend *b, size_t bytes, int reps, char *why, size_t why_len);


/* One run() the way the ABI says, used in process and in the worker alike: a host backend's run() timed on
 * the harness's clock (kernel_s = -1), or pecs_device_call (seconds = end to end). *stray = 1 when the device
 * wrote outside its output (why says where); why is also set when a device hook failed. */
pecs_status pecs_run_call(const pecs_backend *b, const pecs_problem *p, double *seconds, double *kernel_s, int *stray,
                          char *why, size_t why_len);

#endif
