/* harness/pairbw.h — paired bandwidth kernels for `pecs run --calibration paired` (issue 14).
 *
 * A timed repetition of a perf case is paired with a calibration kernel that moves the same bytes the same
 * way, run right before it and again right after it (the pass after one call is the pass before the next):
 * the case's read bytes and write bytes (the registry's bytes model: write bytes = output elements x dtype
 * size, read bytes = the rest), the same footprint (so a case that fits a cache level is held to that
 * level's bandwidth, never to DRAM's), the same thread count (the one the backend call was measured to
 * use), and each store kind: ordinary stores always, streaming stores too when the footprint exceeds every
 * cache level (a streaming store into a cache-resident footprint only measures the way to DRAM). The
 * per-pair ratio (pecs_pair_ratio) is the case's throughput over the kernel's at the geometric mean of its
 * two passes: what the machine gave the same traffic at that moment. A neighbour that steals bandwidth for
 * longer than one pair slows all three passes, so the ratio keeps its value where a table measured once
 * (best of N) does not, as far as the case and the kernel feel the neighbour alike (a kernel far from its
 * roofline feels it more: docs/design-notes.md, "What pairing does not cancel"). The runner (runner.c) times both sides on the calling thread's CPU clock when the
 * call runs on one thread in-process and takes 1 ms or more (a lost time slice is then in neither side),
 * else on the wall clock.
 *
 * The kernel reads its source lines and writes its destination lines interleaved in one pass (for every
 * 64-byte line written, reads/writes source lines summed into it, Bresenham-spread), with the widest
 * vector width the CPU has: AVX-512, AVX2 or SSE2 chosen at run time (__builtin_cpu_supports), each
 * compiled with a function-level target attribute so the rest of the harness stays baseline x86-64; other
 * architectures use a plain C loop ("generic").
 */
#ifndef PECS_PAIRBW_H
#define PECS_PAIRBW_H

#include <stddef.h>

#define PECS_MAX_CACHE_LEVELS 4

/* The data caches of cpu0: sysfs (/sys/devices/system/cpu/cpu0/cache), else sysconf. A sysconf L3 over
 * 256 MiB is discarded (under KVM glibc's cpuid reading gives 320-508 MiB for a 32 MiB L3): footprints
 * beyond L2 are then "beyond L2", which the paired kernel measures at the same footprint anyway. */
typedef struct pecs_cache_info {
    int n;
    char name[PECS_MAX_CACHE_LEVELS][8]; /* "L1d", "L2", "L3" */
    double bytes[PECS_MAX_CACHE_LEVELS];
    char source[96];                     /* "sysfs", "sysconf", "sysconf (L3 of N MiB discarded: ...)" */
} pecs_cache_info;

/* Probed once per process; never fails (n may be 0: no cache sizes known). */
const pecs_cache_info *pecs_cache_info_get(void);

/* The smallest cache level holding `bytes` ("L1d", "L2", "L3"), "beyond-L2" when the L3 size is unknown
 * and the footprint exceeds L2, else "memory". */
const char *pecs_cache_level_of(const pecs_cache_info *ci, double bytes);

/* The vector ISA the paired kernels use on this machine: "avx512f", "avx2", "sse2" or "generic". */
const char *pecs_pair_isa(void);

/* Buffers for a paired kernel moving read_bytes and write_bytes (whole 64-byte lines, at least one written). */
typedef struct pecs_pair_kernel {
    float *src, *dst;
    long src_lines, dst_lines;
    double bytes;                        /* (src_lines + dst_lines) x 64 */
} pecs_pair_kernel;

/* Allocate and touch the buffers; 0 on out of memory (then nothing is held). */
int pecs_pair_kernel_init(pecs_pair_kernel *k, double read_bytes, double write_bytes);
void pecs_pair_kernel_free(pecs_pair_kernel *k);

/* One pass on `threads` threads (OpenMP; 1 without it), ordinary (nt = 0) or streaming stores; returns its
 * wall time in seconds. */
double pecs_pair_kernel_run(pecs_pair_kernel *k, int threads, int nt);

/* The FMA peak kernel a compute-bound case is paired with: twelve independent multiply-add chains in registers
 * on the widest vectors (AVX-512, else AVX2 with FMA; SSE2 and other architectures multiply then add, which is
 * counted as the same two flops), `iters` steps on each of `threads` threads. Returns its wall time; *flops gets
 * the floating-point operations done (2 per lane per multiply-add). pecs_fma_isa() names the variant. */
double pecs_pair_fma_run(int threads, long iters, double *flops);
const char *pecs_fma_isa(void);

/* One pair's ratio: the case's rate (case_units, bytes or flops, in t_case seconds) over the kernel's
 * (kernel_units in the geometric mean of t_before, its pass right before the call, and t_after, its pass
 * right after). A machine slowing down or speeding up across the pair slows or speeds all three alike, and
 * the mean of the pass before and the pass after is the kernel's time at the call's moment. */
double pecs_pair_ratio(double case_units, double t_case, double kernel_units, double t_before, double t_after);

/* Quantile q of sorted[0..n) with linear interpolation (n >= 1). */
double pecs_quantile(const double *sorted, int n, double q);

#endif
