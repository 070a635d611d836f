/* harness/calibrate.c */
#include "calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "machine.h"
#include "util.h"

/* Streaming stores at the widest vector width the CPU has (AVX-512, AVX2, SSE2), chosen at run time with
 * __builtin_cpu_supports; each variant is compiled with a function-level target attribute, so the harness
 * stays baseline x86-64 (the simd backend streams whole 64-byte AVX-512 lines: a 16-byte SSE2 figure is not
 * its ceiling). Elsewhere the _nt kernels fall back to ordinary stores and the file says so. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NT_X86 1
#endif

enum { K_FILL, K_COPY, K_SCALE, K_ADD, K_TRIAD, K_RW22, K_RW22_INPLACE, K_FILL_NT, K_COPY_NT, K_RW22_NT, K_COUNT };
static const char *const KNAMES[K_COUNT] = {"fill", "copy",         "scale",   "add",     "triad",
                                            "rw22", "rw22_inplace", "fill_nt", "copy_nt", "rw22_nt"};
static const double KBYTES[K_COUNT] = {1, 2, 2, 3, 3, 4, 4, 1, 2, 4}; /* arrays touched per element */

#define BLOCK 16 /* floats per 64-byte block: the unit the streaming loops hand to threads */

/* clang at -O1 (the fuzz build) does not vectorize these loops and says so as a warning: the simd hint is for
 * the optimized build that measures, so a build that does not measure may ignore it. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

/* `simd`: the arrays never overlap, and without it gcc -O2 leaves these loops scalar (the pointers reach the
 * outlined loop without restrict), which at one thread measured the core rather than the memory (rw22 at a
 * third of its vector figure). */
#ifdef _OPENMP
#define PAR_FOR _Pragma("omp parallel for simd schedule(static) num_threads(threads)")
#else
#define PAR_FOR
#endif

static const float S = 0.999f, CS = 0.6f, SN = 0.8f; /* CS^2 + SN^2 = 1: the rotations keep the values bounded */

/* One loop per kernel: the dispatch stays outside the timed loops. Ordinary stores; [lo, hi) so the
 * streaming kernels can reuse them for their tails. */
static void kernel(int k, float *restrict a, float *restrict b, float *restrict c, float *restrict d, long lo, long hi,
                   int threads)
{
    (void)threads;
    switch (k) {
    case K_FILL:
        PAR_FOR for (long i = lo; i < hi; i++) a[i] = S;
        break;
    case K_COPY:
        PAR_FOR for (long i = lo; i < hi; i++) c[i] = a[i];
        break;
    case K_SCALE:
        PAR_FOR for (long i = lo; i < hi; i++) b[i] = S * c[i];
        break;
    case K_ADD:
        PAR_FOR for (long i = lo; i < hi; i++) c[i] = a[i] + b[i];
        break;
    case K_TRIAD:
        PAR_FOR for (long i = lo; i < hi; i++) a[i] = b[i] + S * c[i];
        break;
    case K_RW22: /* out of place, as a rotate kernel x -> out */
        PAR_FOR for (long i = lo; i < hi; i++)
        {
            float x = a[i], y = b[i];
            c[i] = x * CS - y * SN;
            d[i] = x * SN + y * CS;
        }
        break;
    default: /* K_RW22_INPLACE: the strictest figure (the written lines were just read) */
        PAR_FOR for (long i = lo; i < hi; i++)
        {
            float x = a[i], y = b[i];
            a[i] = x * CS - y * SN;
            b[i] = x * SN + y * CS;
        }
    }
}

/* The streaming-store kernels: whole 64-byte blocks split across threads in contiguous chunks (the arrays
 * are 64-byte aligned, so each thread's chunk is too), each thread fences its own streaming stores, and
 * the tail under one block goes through ordinary stores. */
#ifdef NT_X86
#define DEF_NT(NAME, TGT, VT, VW, SET1, LOAD, MUL, ADD, SUB, STREAM)                                             \
    __attribute__((target(TGT))) static void NAME(int k, float *restrict a, float *restrict b, float *restrict c, \
                                                  float *restrict d, long b0, long b1)                           \
    {                                                                                                            \
        const VT s = SET1(S), cs = SET1(CS), sn = SET1(SN);                                                      \
        for (long i = b0 * BLOCK; i < b1 * BLOCK; i += VW) {                                                     \
            if (k == K_FILL_NT)                                                                                  \
                STREAM(a + i, s);                                                                                \
            else if (k == K_COPY_NT)                                                                             \
                STREAM(c + i, LOAD(a + i));                                                                      \
            else {                                                                                               \
                VT x = LOAD(a + i), y = LOAD(b + i);                                                             \
                STREAM(c + i, SUB(MUL(x, cs), MUL(y, sn)));                                                      \
                STREAM(d + i, ADD(MUL(x, sn), MUL(y, cs)));                                                      \
            }                                                                                                    \
        }                                                                                                        \
        _mm_sfence();                                                                                            \
    }
DEF_NT(nt512, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_load_ps, _mm512_mul_ps, _mm512_add_ps, _mm512_sub_ps,
       _mm512_stream_ps)
DEF_NT(nt256, "avx", __m256, 8, _mm256_set1_ps, _mm256_load_ps, _mm256_mul_ps, _mm256_add_ps, _mm256_sub_ps,
       _mm256_stream_ps)
DEF_NT(nt128, "sse2", __m128, 4, _mm_set1_ps, _mm_load_ps, _mm_mul_ps, _mm_add_ps, _mm_sub_ps, _mm_stream_ps)

typedef void (*nt_fn)(int, float *restrict, float *restrict, float *restrict, float *restrict, long, long);

/* The widest streaming store this CPU has, and the file's name for it. */
static nt_fn nt_pick(const char **name)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return *name = "avx512f _mm512_stream_ps", nt512;
    if (__builtin_cpu_supports("avx"))
        return *name = "avx _mm256_stream_ps", nt256;
    return *name = "sse2 _mm_stream_ps", nt128;
}
#endif

static void kernel_nt(int k, float *restrict a, float *restrict b, float *restrict c, float *restrict d, long n,
                      int threads)
{
    const int plain = k == K_FILL_NT ? K_FILL : k == K_COPY_NT ? K_COPY : K_RW22;
    (void)threads;
#ifdef NT_X86
    const char *name;
    const nt_fn f = nt_pick(&name);
    const long nb = n / BLOCK;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
    {
        long t = omp_get_thread_num(), m = omp_get_num_threads();
        f(k, a, b, c, d, nb * t / m, nb * (t + 1) / m);
    }
#else
    f(k, a, b, c, d, 0, nb);
#endif
    kernel(plain, a, b, c, d, nb * BLOCK, n, 1);
#else
    kernel(plain, a, b, c, d, 0, n, threads);
#endif
}

/* Huge pages on advice, as the case's arena has them (pairbw.c says what 4 KiB pages cost a pass). */
static float *alloc_array(long n)
{
    size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64; /* aligned_alloc wants a multiple of the alignment */
    float *p = aligned_alloc(64, bytes);
    pecs_advise_huge(p, bytes);
    return p;
}

int pecs_calibration_default_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

json_t *pecs_calibration_measure(const int *thread_counts, int n_counts, double mib_per_array, int reps, char *why,
                                 size_t why_len)
{
    long n = (long)(mib_per_array * 1048576.0 / sizeof(float));
    float *a = alloc_array(n), *b = alloc_array(n), *c = alloc_array(n), *d = alloc_array(n);
    json_t *root = NULL, *by_threads = NULL;
    if (!a || !b || !c || !d) {
        snprintf(why, why_len, "cannot allocate 4 x %.0f MiB", mib_per_array);
        goto cleanup;
    }
    int max_threads = 1;
    for (int j = 0; j < n_counts; j++)
        max_threads = thread_counts[j] > max_threads ? thread_counts[j] : max_threads;
    {
        const int threads = max_threads;
        (void)threads;
        /* Touch every page before timing, in the kernels' static split: pages land near their threads. */
        PAR_FOR for (long i = 0; i < n; i++) a[i] = 1.0f, b[i] = 2.0f, c[i] = 0.5f, d[i] = 0.25f;
    }
    pecs_machine m;
    pecs_machine_probe(&m);
    const char *bind = getenv("OMP_PROC_BIND"), *places = getenv("OMP_PLACES");
#ifdef NT_X86
    const char *nt_name;
    nt_pick(&nt_name);
    json_t *nt = json_string(nt_name);
#else
    json_t *nt = json_false();
#endif
    root = json_pack("{s:s,s:i,s:s,s:i,s:o,s:i,s:s,s:s,s:o}", "schema", "pecs-calibration", "schema_version", 2, "cpu_model",
                     m.cpu_model, "cores", m.cores, "array_mib", json_real(mib_per_array), "reps", reps, "omp_proc_bind",
                     bind ? bind : "unset", "omp_places", places ? places : "unset", "nt_stores", nt);
    by_threads = json_object();
    if (!root || !by_threads) {
        snprintf(why, why_len, "out of memory");
        json_decref(root);
        root = NULL;
        goto cleanup;
    }
    for (int j = 0; j < n_counts; j++) {
        int t = thread_counts[j];
#ifndef _OPENMP
        t = 1; /* without OpenMP the kernels run on one thread whatever is asked */
#endif
        char key[16];
        snprintf(key, sizeof key, "%d", t);
        if (t < 1 || json_object_get(by_threads, key))
            continue;
        json_t *row = json_object();
        for (int k = 0; k < K_COUNT; k++) {
            double best = INFINITY;
            for (int r = 0; r < reps; r++) {
                double t0 = pecs_now();
                if (k >= K_FILL_NT)
                    kernel_nt(k, a, b, c, d, n, t);
                else
                    kernel(k, a, b, c, d, 0, n, t);
                double dt = pecs_now() - t0;
                best = dt < best ? dt : best;
            }
            json_object_set_new(row, KNAMES[k], json_real(KBYTES[k] * (double)n * sizeof(float) / best * 1e-9));
        }
        json_object_set_new(by_threads, key, row);
    }
    json_object_set(root, "gbytes_per_s", by_threads);
cleanup:
    json_decref(by_threads);
    free(a), free(b), free(c), free(d);
    return root;
}

char *pecs_calibration_dump(json_t *cal)
{
    return json_dumps(cal, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
}

pecs_status pecs_calibration_write(const char *path, json_t *cal, char *why, size_t why_len)
{
    char *text = pecs_calibration_dump(cal);
    pecs_status st = text ? pecs_write_atomic(path, text, strlen(text), why, why_len) : PECS_NOMEM;
    if (!text)
        snprintf(why, why_len, "cannot serialise the calibration (out of memory?)");
    free(text);
    return st;
}

double pecs_calibration_kernel(json_t *cal, const char *kernel, int threads, int *used_threads)
{
    json_t *rows = json_object_get(cal, "gbytes_per_s"), *row;
    const char *key;
    int best = 0;
    double v = 0;
    /* Exactly `threads`, else the largest measured count below it (a table made with fewer threads). */
    json_object_foreach(rows, key, row)
    {
        long t = strtol(key, NULL, 10);
        double g = json_number_value(json_object_get(row, kernel));
        if (t >= 1 && t <= threads && t > best && g > 0)
            best = (int)t, v = g;
    }
    if (used_threads)
        *used_threads = best;
    return v;
}

double pecs_calibration_bandwidth(json_t *cal, pecs_form form, int threads, int nt, const char **kernel,
                                  int *used_threads)
{
    /* bias and mask only write their output; rotate reads 2 and writes 2; embed and the rest read 1 and write 1. */
    const char *k = form == PECS_FORM_ROTATE                              ? (nt ? "rw22_nt" : "rw22")
                    : form == PECS_FORM_BIAS || form == PECS_FORM_MASK ? (nt ? "fill_nt" : "fill")
                                                                          : (nt ? "copy_nt" : "copy");
    *kernel = k;
    return pecs_calibration_kernel(cal, k, threads, used_threads);
}
