/* impls/openmp/openmp.c — the OpenMP backend: the SIMD kernels (impls/simd) on N threads.
 *
 * A call's units (tokens for rotate and embed, rows for bias and mask) are split in contiguous blocks,
 * one per thread; each thread builds its own tokens' cos/sin tables and its own queries' distances, so
 * that work is split, not repeated. Every output element is computed by the same code from the same
 * inputs whatever the block boundaries, so results are bitwise independent of the thread count (checked
 * by the harness: a second run at 1 thread must match). Threads: problem->n_threads, else
 * OMP_NUM_THREADS / the OpenMP default; binding follows OMP_PROC_BIND / OMP_PLACES. It takes exactly what the
 * simd backend takes (simd_takes(): impls/simd/job.c's COVERED list, T2 rotate, bias and embed included) and declines
 * the rest with the same reason.
 */
#include <omp.h>
#include <stdio.h>

#include "../simd/simd.h"

static void omp_blocks(const simd_job *j, int threads, float *scratch)
{
#pragma omp parallel num_threads(threads)
    {
        int64_t k = omp_get_thread_num(), m = omp_get_num_threads();
        j->run(j, j->units * k / m, j->units * (k + 1) / m, scratch + j->scratch_floats * (size_t)k);
    }
}

static int omp_supports(void *ctx, const pecs_problem *p, char *reason, size_t reason_size)
{
    (void)ctx;
    return simd_takes(p, reason, reason_size);
}

static pecs_status omp_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    return simd_call(p, p->n_threads > 0 ? p->n_threads : omp_get_max_threads(), omp_blocks);
}

static const char *omp_isa(void *ctx)
{
    (void)ctx;
    static char buf[64];
    char why[160];
    const char *isa = simd_isa(why, sizeof why);
    snprintf(buf, sizeof buf, "%s+openmp", isa ? isa : "none");
    return buf;
}

static const pecs_backend g_omp = {
    .abi_major = PECS_ABI_MAJOR,
    .struct_size = sizeof(pecs_backend),
    .abi_minor = PECS_ABI_MINOR,
    .name = "openmp",
    .version = "1.7",
    .description = "the SIMD kernels (the simd backend's encodings, T2 rotate, bias and embed included) on OpenMP threads "
                   "over token (rotate, embed) or row (bias, mask) blocks",
    .ctx = NULL,
    .supports = omp_supports,
    .run = omp_run,
    .isa = omp_isa,
};

PECS_BACKEND_ENTRY(openmp) { return simd_entry(&g_omp, host_abi_major, host); }
