/* impls/openmp/openmp.c — the OpenMP backend: the SIMD rotate kernels over tokens on N threads.
 *
 * Threads take contiguous blocks of tokens (schedule static); each builds the cos/sin tables of its own
 * tokens, so that work is split, not repeated. Every output element is computed by the same code from the
 * same inputs whatever the block boundaries, so results are bitwise independent of the thread count
 * (checked by the harness: a second run at 1 thread must match). Threads: problem->n_threads, else
 * OMP_NUM_THREADS / the OpenMP default; binding follows OMP_PROC_BIND / OMP_PLACES.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "../simd/simd.h"

static int omp_supports(void *ctx, const pecs_problem *p, char *reason, size_t reason_size)
{
    (void)ctx;
    return simd_takes(p, reason, reason_size);
}

static pecs_status omp_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    char why[160];
    if (simd_is_pairwise(p->encoding)) { /* rows split in contiguous blocks, one scratch each */
        const pecs_tensor *out = pecs_problem_tensor(p, "out");
        simd_rows_fn rows = simd_pairwise_kernel(simd_isa(why, sizeof why));
        if (!rows || !out)
            return !rows ? PECS_UNSUPPORTED : PECS_INVALID;
        int64_t n = out->shape[0] * out->shape[1];
        int threads = p->n_threads > 0 ? p->n_threads : omp_get_max_threads();
        size_t per = simd_pairwise_scratch_floats(out->shape[2]);
        float *scratch = malloc(per * (size_t)threads * sizeof *scratch);
        if (!scratch)
            return PECS_NOMEM;
#pragma omp parallel num_threads(threads)
        {
            int k = omp_get_thread_num(), m = omp_get_num_threads();
            rows(p, n * k / m, n * (k + 1) / m, scratch + per * (size_t)k);
        }
        free(scratch);
        return PECS_OK;
    }
    simd_tokens_fn fn = simd_kernel(simd_isa(why, sizeof why));
    const pecs_tensor *x = pecs_problem_tensor(p, "x");
    int64_t R = x ? impl_rotary_dim(p, x->shape[2]) : 0, T = x ? x->shape[0] : 0;
    if (!fn || !R)
        return !fn ? PECS_UNSUPPORTED : PECS_INVALID;
    scalar_sched sc;
    pecs_status st = impl_schedule(p, R, &sc);
    if (st != PECS_OK)
        return st;
    int threads = p->n_threads > 0 ? p->n_threads : omp_get_max_threads();
    if ((int64_t)threads > T)
        threads = (int)(T > 0 ? T : 1);
    size_t per = simd_scratch_floats(R);
    float *scratch = malloc(per * (size_t)threads * sizeof *scratch);
    if (scratch) {
#pragma omp parallel num_threads(threads)
        {
            int k = omp_get_thread_num(), n = omp_get_num_threads();
            int64_t t0 = T * k / n, t1 = T * (k + 1) / n;
            fn(p, &sc, t0, t1, scratch + per * (size_t)k);
        }
    }
    free(scratch);
    impl_schedule_free(&sc);
    return scratch ? PECS_OK : PECS_NOMEM;
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
    .version = "1.0",
    .description = "the SIMD kernels on OpenMP threads over token (rotate) or row (bias, mask) blocks",
    .ctx = NULL,
    .supports = omp_supports,
    .run = omp_run,
    .isa = omp_isa,
};

/* PECS_ARCH naming an ISA this CPU lacks (or no ISA at all) refuses to load, saying why: a forced
 * choice that cannot be honoured must fail the run, not skip every case. */
PECS_BACKEND_ENTRY(openmp)
{
    char why[160];
    if (host_abi_major != PECS_ABI_MAJOR)
        return NULL;
    if (!simd_isa(why, sizeof why)) {
        if (host && host->struct_size >= sizeof *host && host->log)
            host->log(host->host_ctx, "openmp", why);
        return NULL;
    }
    return &g_omp;
}
