/* backend.c — the example vendor backend's descriptor and entry point: what it claims (supports(), with a
 * reason for everything it declines) and the dispatch to kernels.c. Built against an installed pecs only:
 * `pkg-config --cflags pecs` (README.md). */
#include <stdio.h>
#include <string.h>

#include <pecs/backend.h>

#include "kernels.h"

static int vendor_supports(void *ctx, const pecs_problem *p, char *reason, size_t reason_size)
{
    (void)ctx;
    if (strcmp(p->encoding, "rope") != 0 && strcmp(p->encoding, "alibi") != 0) {
        snprintf(reason, reason_size, "vendor-example implements rope and alibi only, not %s", p->encoding);
        return 0;
    }
    if (p->dtype != PECS_DT_F32) {
        snprintf(reason, reason_size, "vendor-example stores f32 only, not %s", pecs_dtype_name(p->dtype));
        return 0;
    }
    const pecs_tensor *out = pecs_problem_tensor(p, "out");
    if (!out || out->ndim != 3) {
        snprintf(reason, reason_size, "vendor-example expects a 3-D output tensor for %s", p->encoding);
        return 0;
    }
    return 1;
}

static pecs_status vendor_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    if (p->form == PECS_FORM_ROTATE && !strcmp(p->encoding, "rope") && p->dtype == PECS_DT_F32)
        return vendor_rope_f32(p);
    if (p->form == PECS_FORM_BIAS && !strcmp(p->encoding, "alibi") && p->dtype == PECS_DT_F32)
        return vendor_alibi_f32(p);
    return PECS_UNSUPPORTED; /* never reached after supports() said yes */
}

static const char *vendor_isa(void *ctx)
{
    (void)ctx;
    return "scalar"; /* 1-64 characters of [A-Za-z0-9._+-] */
}

static const pecs_backend g_vendor = {
    .abi_major = PECS_ABI_MAJOR, /* first */
    .struct_size = sizeof(pecs_backend), /* second */
    .abi_minor = PECS_ABI_MINOR,
    .name = "vendor-example",
    .version = "1.0",
    .description = "out-of-tree example plugin: rope (both pairings) and alibi, f32",
    .supports = vendor_supports,
    .run = vendor_run,
    .isa = vendor_isa,
};

PECS_BACKEND_ENTRY(vendor_example) /* exports pecs_backend_entry() */
{
    (void)host;
    return host_abi_major == PECS_ABI_MAJOR ? &g_vendor : NULL;
}
