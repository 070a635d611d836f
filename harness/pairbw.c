/* harness/pairbw.c */
#include "pairbw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PAIR_X86 1
#endif

#include "util.h"

#define LINE_FLOATS 16 /* one 64-byte line */

/* ---- cache sizes ------------------------------------------------------------------------------------ */

static int read_sysfs(pecs_cache_info *ci)
{
    for (int i = 0; i < 8 && ci->n < PECS_MAX_CACHE_LEVELS; i++) {
        char path[96], lvl[16] = "", type[32] = "", size[32] = "";
        const char *field[3] = {"level", "type", "size"};
        char *dest[3] = {lvl, type, size};
        int ok = 1;
        for (int f = 0; f < 3 && ok; f++) {
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", i, field[f]);
            FILE *fp = fopen(path, "r");
            ok = fp && fgets(dest[f], 16, fp);
            if (fp)
                fclose(fp);
        }
        if (!ok)
            break;
        if (!strncmp(type, "Instruction", 11))
            continue; /* data and unified caches only */
        char *end;
        double v = strtod(size, &end);
        v *= *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : 1.0;
        int level = atoi(lvl);
        if (v > 0 && level >= 1) {
            snprintf(ci->name[ci->n], sizeof ci->name[0], level == 1 ? "L1d" : "L%d", level);
            ci->bytes[ci->n++] = v;
        }
    }
    return ci->n > 0;
}

static void read_sysconf(pecs_cache_info *ci)
{
    long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE), l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    snprintf(ci->source, sizeof ci->source, "sysconf");
    if (l1 > 0)
        snprintf(ci->name[ci->n], sizeof ci->name[0], "L1d"), ci->bytes[ci->n++] = (double)l1;
    if (l2 > 0)
        snprintf(ci->name[ci->n], sizeof ci->name[0], "L2"), ci->bytes[ci->n++] = (double)l2;
    if (l3 > 256L * 1048576L) /* KVM's cpuid leaves: not a real L3 size (harness/pairbw.h) */
        snprintf(ci->source, sizeof ci->source, "sysconf (its L3 of %ld MiB discarded as implausible)", l3 / 1048576);
    else if (l3 > 0)
        snprintf(ci->name[ci->n], sizeof ci->name[0], "L3"), ci->bytes[ci->n++] = (double)l3;
}

const pecs_cache_info *pecs_cache_info_get(void)
{
    static pecs_cache_info ci;
    static int done;
    if (!done) {
        memset(&ci, 0, sizeof ci);
        if (read_sysfs(&ci))
            snprintf(ci.source, sizeof ci.source, "sysfs");
        else
            read_sysconf(&ci);
        done = 1;
    }
    return &ci;
}

const char *pecs_cache_level_of(const pecs_cache_info *ci, double bytes)
{
    int have_l3 = 0;
    for (int i = 0; i < ci->n; i++) {
        if (bytes <= ci->bytes[i])
            return ci->name[i];
        have_l3 |= !strcmp(ci->name[i], "L3");
    }
    return ci->n > 0 && !have_l3 ? "beyond-L2" : "memory";
}

/* ---- kernels ------------------------------------------------------------------------------------------ */

static const float SEED = 0.999f;

/* For every destination line, the source lines due by then (a Bresenham spread of src over dst) are summed
 * into it: reads and writes interleave in the proportion of the case's traffic, in one pass. */
#define MIX_BODY(VT, W, SET1, LOAD, ADD, STORE)                                                                   \
    long acc = 0, j = 0;                                                                                         \
    for (long i = 0; i < dl; i++) {                                                                              \
        VT v[LINE_FLOATS / W];                                                                                   \
        for (int u = 0; u < LINE_FLOATS / W; u++)                                                                \
            v[u] = SET1(SEED);                                                                                   \
        for (acc += sl; acc >= dl && j < sl; acc -= dl, j++)                                                    \
            for (int u = 0; u < LINE_FLOATS / W; u++)                                                            \
                v[u] = ADD(v[u], LOAD(src + j * LINE_FLOATS + u * W));                                          \
        for (int u = 0; u < LINE_FLOATS / W; u++)                                                                \
            STORE(dst + i * LINE_FLOATS + u * W, v[u]);                                                          \
    }

typedef void (*mix_fn)(const float *restrict src, long sl, float *restrict dst, long dl);

#ifdef PAIR_X86
#define DEF_MIX(NAME, TGT, VT, W, SET1, LOAD, ADD, STORE)                                                        \
    __attribute__((target(TGT))) static void NAME(const float *restrict src, long sl, float *restrict dst, long dl) \
    {                                                                                                            \
        MIX_BODY(VT, W, SET1, LOAD, ADD, STORE)                                                                  \
    }
DEF_MIX(mix512, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_load_ps, _mm512_add_ps, _mm512_store_ps)
DEF_MIX(mix512_nt, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_load_ps, _mm512_add_ps, _mm512_stream_ps)
DEF_MIX(mix256, "avx2", __m256, 8, _mm256_set1_ps, _mm256_load_ps, _mm256_add_ps, _mm256_store_ps)
DEF_MIX(mix256_nt, "avx2", __m256, 8, _mm256_set1_ps, _mm256_load_ps, _mm256_add_ps, _mm256_stream_ps)
DEF_MIX(mix128, "sse2", __m128, 4, _mm_set1_ps, _mm_load_ps, _mm_add_ps, _mm_store_ps)
DEF_MIX(mix128_nt, "sse2", __m128, 4, _mm_set1_ps, _mm_load_ps, _mm_add_ps, _mm_stream_ps)
#endif

#define G_SET1(x) (x)
#define G_LOAD(p) (*(p))
#define G_ADD(a, b) ((a) + (b))
#define G_STORE(p, x) (*(p) = (x))
static void mix_generic(const float *restrict src, long sl, float *restrict dst, long dl)
{
    MIX_BODY(float, 1, G_SET1, G_LOAD, G_ADD, G_STORE)
}

/* The widest ISA, chosen once; [1] is the streaming-store variant (generic: ordinary stores, and says so). */
static const char *pick(mix_fn f[2])
{
#ifdef PAIR_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        f[0] = mix512, f[1] = mix512_nt;
        return "avx512f";
    }
    if (__builtin_cpu_supports("avx2")) {
        f[0] = mix256, f[1] = mix256_nt;
        return "avx2";
    }
    if (__builtin_cpu_supports("sse2")) {
        f[0] = mix128, f[1] = mix128_nt;
        return "sse2";
    }
#endif
    f[0] = f[1] = mix_generic;
    return "generic";
}

static mix_fn g_mix[2];
static const char *g_isa;

const char *pecs_pair_isa(void)
{
    if (!g_isa)
        g_isa = pick(g_mix);
    return g_isa;
}

/* Backed like the case's arena (huge pages where the kernel grants them on advice): on 4 KiB pages a pass of
 * 1 GiB pays a TLB miss, in a guest a two-level page walk, every 4 KiB that the case does not, and the two
 * sides of a pair no longer feel a neighbour alike. Advised before the first touch, which is what places
 * the pages. */
static float *alloc_lines(long lines)
{
    const size_t bytes = (size_t)(lines > 0 ? lines : 1) * 64;
    float *p = aligned_alloc(64, bytes);
    pecs_advise_huge(p, bytes);
    if (p)
        for (long i = 0; i < lines * LINE_FLOATS; i++)
            p[i] = 1.0f;
    return p;
}

int pecs_pair_kernel_init(pecs_pair_kernel *k, double read_bytes, double write_bytes)
{
    memset(k, 0, sizeof *k);
    pecs_pair_isa();
    k->src_lines = read_bytes > 0 ? (long)(read_bytes / 64.0 + 0.5) : 0;
    k->dst_lines = write_bytes > 64 ? (long)(write_bytes / 64.0 + 0.5) : 1;
    k->src = alloc_lines(k->src_lines);
    k->dst = alloc_lines(k->dst_lines);
    k->bytes = 64.0 * (double)(k->src_lines + k->dst_lines);
    if (!k->src || !k->dst) {
        pecs_pair_kernel_free(k);
        return 0;
    }
    return 1;
}

void pecs_pair_kernel_free(pecs_pair_kernel *k)
{
    free(k->src);
    free(k->dst);
    memset(k, 0, sizeof *k);
}

/* Thread t of n takes proportional slices of both arrays, so every thread has the case's read/write mix. */
static void run_slice(const pecs_pair_kernel *k, mix_fn f, int t, int n)
{
    long s0 = k->src_lines * t / n, s1 = k->src_lines * (t + 1) / n;
    long d0 = k->dst_lines * t / n, d1 = k->dst_lines * (t + 1) / n;
    if (d1 > d0)
        f(k->src + s0 * LINE_FLOATS, s1 - s0, k->dst + d0 * LINE_FLOATS, d1 - d0);
#ifdef PAIR_X86
    _mm_sfence(); /* the streaming stores are done when the pass is */
#endif
}

double pecs_pair_kernel_run(pecs_pair_kernel *k, int threads, int nt)
{
    mix_fn f = g_mix[nt ? 1 : 0];
    double t0 = pecs_now();
#ifdef _OPENMP
    if (threads > 1) {
#pragma omp parallel num_threads(threads)
        run_slice(k, f, omp_get_thread_num(), omp_get_num_threads());
    } else
#endif
        run_slice(k, f, 0, 1);
    (void)threads;
    return pecs_now() - t0;
}

/* ---- FMA peak ------------------------------------------------------------------------------------------ */

/* FMA_CHAINS independent chains a = a*m + c (m just under 1: a settles at c/(1-m), never denormal or infinite):
 * twelve chains cover an FMA latency of 4 cycles on two ports with room to spare. Written out, not as an
 * array, so every chain stays in a register. */
#define FMA_CHAINS 12
#define FMA_BODY(VT, W, SET1, FMA, ADD, STOREU)                                                        \
    VT m = SET1(0.9999999f), c = SET1(1e-7f), a0 = SET1(0.0f), a1 = SET1(0.01f), a2 = SET1(0.02f),    \
       a3 = SET1(0.03f), a4 = SET1(0.04f), a5 = SET1(0.05f), a6 = SET1(0.06f), a7 = SET1(0.07f),       \
       a8 = SET1(0.08f), a9 = SET1(0.09f), a10 = SET1(0.1f), a11 = SET1(0.11f);                        \
    for (long i = 0; i < iters; i++) {                                                                 \
        a0 = FMA(a0, m, c), a1 = FMA(a1, m, c), a2 = FMA(a2, m, c), a3 = FMA(a3, m, c);               \
        a4 = FMA(a4, m, c), a5 = FMA(a5, m, c), a6 = FMA(a6, m, c), a7 = FMA(a7, m, c);               \
        a8 = FMA(a8, m, c), a9 = FMA(a9, m, c), a10 = FMA(a10, m, c), a11 = FMA(a11, m, c);           \
    }                                                                                                  \
    a0 = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                            \
    a0 = ADD(a0, ADD(ADD(a8, a9), ADD(a10, a11)));                                                     \
    STOREU(sink, a0); /* observed: the chains cannot be dropped */                                    \
    return 2.0 * W * FMA_CHAINS * (double)iters;

typedef double (*fma_fn)(long iters, float *sink);

#define G_FMA(a, m, c) ((a) * (m) + (c)) /* built with -ffp-contract=off: a multiply and an add, two flops */
#define G_STOREU(p, v) (*(p) = (v))
static double fma_generic(long iters, float *sink) { FMA_BODY(float, 1, G_SET1, G_FMA, G_ADD, G_STOREU) }

#ifdef PAIR_X86
#define SSE_FMA(a, m, c) _mm_add_ps(_mm_mul_ps(a, m), c)
__attribute__((target("avx512f"))) static double fma512(long iters, float *sink)
{
    FMA_BODY(__m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps)
}
__attribute__((target("avx2,fma"))) static double fma256(long iters, float *sink)
{
    FMA_BODY(__m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps)
}
__attribute__((target("sse2"))) static double fma128(long iters, float *sink)
{
    FMA_BODY(__m128, 4, _mm_set1_ps, SSE_FMA, _mm_add_ps, _mm_storeu_ps)
}
#endif

static fma_fn g_fma;
static const char *g_fma_isa;

const char *pecs_fma_isa(void)
{
    if (g_fma_isa)
        return g_fma_isa;
    g_fma = fma_generic, g_fma_isa = "generic (multiply, add)";
#ifdef PAIR_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        g_fma = fma512, g_fma_isa = "avx512f";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        g_fma = fma256, g_fma_isa = "avx2+fma";
    else if (__builtin_cpu_supports("sse2"))
        g_fma = fma128, g_fma_isa = "sse2 (multiply, add)";
#endif
    return g_fma_isa;
}

double pecs_pair_fma_run(int threads, long iters, double *flops)
{
    pecs_fma_isa();
    float sink[16 * 64]; /* a 64-byte slot per thread: no false sharing */
    double total = 0.0, t0 = pecs_now();
#ifdef _OPENMP
    if (threads > 1) {
#pragma omp parallel num_threads(threads) reduction(+ : total)
        total += g_fma(iters, sink + 16 * (omp_get_thread_num() % 64));
    } else
#endif
        total = g_fma(iters, sink);
    (void)threads;
    double t = pecs_now() - t0;
    *flops = total;
    return t;
}

double pecs_quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;
    return i + 1 < n ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

double pecs_pair_ratio(double case_units, double t_case, double kernel_units, double t_before, double t_after)
{
    /* The geometric mean of the two passes: a rate drifting geometrically during the pair cancels exactly,
     * one drifting linearly to first order. */
    return (case_units / t_case) / (kernel_units / sqrt(t_before * t_after));
}
