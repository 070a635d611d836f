/* impls/simd/simd.c — the SIMD backend: the kernels of avx2.c / avx512.c on one thread, the best ISA the
 * CPU has (or PECS_ARCH). Everything but the descriptor is shared with the openmp backend (job.c). What it
 * covers is job.c's COVERED list (plus every rotate schedule of impls/common); what it declines and why is
 * stated there: the scores form (CoPE and the T2 scores rows). */
#include "simd.h"

static int simd_supports(void *ctx, const pecs_problem *p, char *reason, size_t reason_size)
{
    (void)ctx;
    return simd_takes(p, reason, reason_size);
}

static pecs_status simd_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    return simd_call(p, 1, NULL);
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
    .version = "1.7",
    .description = "AVX2/AVX-512 kernels (rotate, every T1 and T2 pair schedule; alibi, t5, kerple, fire, masks, T2 alibi.pi, "
                   "mpnet, bam, masa, irpe; sinusoidal, learned, nope, T2 ldpe, pia, sigma_gpt, fourier), one thread; "
                   "angles in double (SLEEF)",
    .ctx = NULL,
    .supports = simd_supports,
    .run = simd_run,
    .isa = simd_isa_used,
};

PECS_BACKEND_ENTRY(simd) { return simd_entry(&g_simd, host_abi_major, host); }
