/* harness/calibrate.h — `pecs calibrate` and `pecs run --calibration auto`: the machine's memory bandwidth,
 * STREAM-style, at given thread counts.
 *
 * Kernels over four arrays far larger than the last-level cache (float32, 64-byte aligned; bytes counted
 * as STREAM does: the arrays named, no write-allocate traffic):
 *   fill          a[i] = s                          1 write            (bias and mask: output only)
 *   copy          c[i] = a[i]                       1 read  + 1 write  (embed: x + P(pos))
 *   scale         b[i] = s*c[i]                     1 read  + 1 write
 *   add           c[i] = a[i] + b[i]                2 reads + 1 write
 *   triad         a[i] = b[i] + s*c[i]              2 reads + 1 write
 *   rw22          (c,d)[i] = rotate((a,b)[i])       2 reads + 2 writes: an out-of-place rotate (x -> out)
 *   rw22_inplace  (a,b)[i] = rotate((a,b)[i])       2 reads + 2 writes in place: the strictest figure
 *   fill_nt, copy_nt, rw22_nt                       fill, copy, rw22 with streaming (non-temporal) stores
 * The _nt kernels stream with the widest vector the CPU has (_mm512_stream_ps, _mm256_stream_ps or
 * _mm_stream_ps, chosen at run time; function-level target attributes keep the harness baseline) on whole
 * 64-byte blocks split across threads, then sfence; the tail under a block and non-x86 builds use ordinary
 * stores (the file's "nt_stores" says which: the instruction, or false). Every kernel is OpenMP-parallel with
 * schedule(static); each runs `reps` times per thread count and the best time gives the bandwidth
 * (STREAM's rule). Threads come from OpenMP when pecs is built with it (else 1 only); the binding
 * (OMP_PROC_BIND/OMP_PLACES) is recorded.
 *
 * `pecs calibrate` writes the table (default pecs-calibration.json) for `pecs run --calibration FILE`;
 * `--calibration auto` measures it in the run. Every timed case then reports its fraction of the relevant
 * bandwidth at the run's thread count — a roofline position — with ordinary stores (rotate: rw22, bias and
 * mask: fill, embed and the rest: copy) and with streaming stores (rw22_nt, fill_nt, copy_nt), for cases
 * whose footprint is beyond the caches (a table measures DRAM). `--calibration paired` (pairbw.h) replaces the
 * table by a kernel paired with every timed call.
 */
#ifndef PECS_CALIBRATE_H
#define PECS_CALIBRATE_H

#include <jansson.h>

#include "pecs/backend.h"
#include "pecs/status.h"

/* Measure at each thread count given (1 only without OpenMP; repeats skipped) on arrays of mib_per_array
 * MiB, best of reps. Returns the calibration object (what `pecs calibrate` writes; the table is under
 * "gbytes_per_s": thread count -> kernel -> GB/s), or NULL with *why. */
json_t *pecs_calibration_measure(const int *thread_counts, int n_counts, double mib_per_array, int reps, char *why,
                                 size_t why_len);

/* The serialised calibration (the file's bytes; malloc'd, NULL on OOM). */
char *pecs_calibration_dump(json_t *cal);

/* Write a calibration (from pecs_calibration_measure) to a file, atomically. */
pecs_status pecs_calibration_write(const char *path, json_t *cal, char *why, size_t why_len);

/* The thread count OpenMP uses by default (omp_get_max_threads(): OMP_NUM_THREADS, else the cores); 1
 * without OpenMP. */
int pecs_calibration_default_threads(void);

/* A kernel's bandwidth (GB/s) from a calibration at `threads`, or, when the table lacks that count, at the
 * largest measured count below it; *used_threads (may be NULL) gets the count used. 0 if none. */
double pecs_calibration_kernel(json_t *cal, const char *kernel, int threads, int *used_threads);

/* The same for the kernel relevant to a form (nt: its streaming-store variant); *kernel gets its name. */
double pecs_calibration_bandwidth(json_t *cal, pecs_form form, int threads, int nt, const char **kernel,
                                  int *used_threads);

#endif
