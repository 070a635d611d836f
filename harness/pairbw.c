/* harness/pairbw.c */
#include "pairbw.h"

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

static float *alloc_lines(long lines)
{
    float *p = aligned_alloc(64, (size_t)(lines > 0 ? lines : 1) * 64);
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

double pecs_quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;
    return i + 1 < n ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}
