/* impls/simd/simd.c — entry point of the SIMD backend: one thread, the best ISA the CPU has (or
 * PECS_ARCH). Kernels: avx2.c, avx512.c (rotate form, every T1 schedule, f32/f16/bf16). */
#include <stdio.h>
#include <stdlib.h>

#include "simd.h"

static int simd_supports(void *ctx, const pecs_problem *p, char *reason, size_t reason_size)
{
    (void)ctx;
    return simd_takes(p, reason, reason_size);
}

static pecs_status simd_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    char why[160];
    if (simd_is_pairwise(p->encoding)) {
        const pecs_tensor *out = pecs_problem_tensor(p, "out");
        simd_rows_fn rows = simd_pairwise_kernel(simd_isa(why, sizeof why));
        float *scratch = out ? malloc(simd_pairwise_scratch_floats(out->shape[2]) * sizeof *scratch) : NULL;
        if (rows && scratch)
            rows(p, 0, out->shape[0] * out->shape[1], scratch);
        free(scratch);
        return !rows ? PECS_UNSUPPORTED : !out ? PECS_INVALID : scratch ? PECS_OK : PECS_NOMEM;
    }
    simd_tokens_fn fn = simd_kernel(simd_isa(why, sizeof why));
    const pecs_tensor *x = pecs_problem_tensor(p, "x");
    int64_t R = x ? impl_rotary_dim(p, x->shape[2]) : 0;
    if (!fn || !R)
        return !fn ? PECS_UNSUPPORTED : PECS_INVALID;
    scalar_sched sc;
    pecs_status st = impl_schedule(p, R, &sc);
    if (st != PECS_OK)
        return st;
    float *scratch = malloc(simd_scratch_floats(R) * sizeof *scratch);
    if (scratch)
        fn(p, &sc, 0, x->shape[0], scratch);
    free(scratch);
    impl_schedule_free(&sc);
    return scratch ? PECS_OK : PECS_NOMEM;
}

static const char *simd_isa_used(void *ctx)
{
    (void)ctx;
    char why[160];
    const char *isa = simd_isa(why, sizeof why);
    return isa ? isa : "none";
}

static const pecs_backend g_simd = {
    .abi_major = PECS_ABI_MAJOR,
    .struct_size = sizeof(pecs_backend),
    .abi_minor = PECS_ABI_MINOR,
    .name = "simd",
    .version = "1.0",
    .description = "AVX2/AVX-512 kernels (rotate; alibi, t5, masks), one thread; cos/sin from double angles (SLEEF)",
    .ctx = NULL,
    .supports = simd_supports,
    .run = simd_run,
    .isa = simd_isa_used,
};

/* PECS_ARCH naming an ISA this CPU lacks (or no ISA at all) refuses to load, saying why: a forced
 * choice that cannot be honoured must fail the run, not skip every case. */
PECS_BACKEND_ENTRY(simd)
{
    char why[160];
    if (host_abi_major != PECS_ABI_MAJOR)
        return NULL;
    if (!simd_isa(why, sizeof why)) {
        if (host && host->struct_size >= sizeof *host && host->log)
            host->log(host->host_ctx, "simd", why);
        return NULL;
    }
    return &g_simd;
}
