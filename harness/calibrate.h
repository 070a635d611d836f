/* harness/calibrate.h — `pecs calibrate`: the machine's memory bandwidth, STREAM-style, at 1..N threads.
 *
 * Kernels over arrays far larger than the last-level cache (float32; bytes counted as STREAM does):
 *   fill   a[i] = s                         1 write            (what a bias generator does)
 *   copy   c[i] = a[i]                      1 read  + 1 write  (embed: x + P(pos))
 *   scale  b[i] = s*c[i]                    1 read  + 1 write
 *   add    c[i] = a[i] + b[i]               2 reads + 1 write
 *   triad  a[i] = b[i] + s*c[i]             2 reads + 1 write
 *   rw22   (a,b)[i] = rotate((a,b)[i])      2 reads + 2 writes (a rotate kernel's pattern), in place
 * Each is run `reps` times per thread count; the best time gives the bandwidth (STREAM's rule). Threads
 * come from OpenMP when pecs is built with it (else 1 only); the binding (OMP_PROC_BIND/OMP_PLACES) is
 * recorded. The result is a JSON file (default pecs-calibration.json) that `pecs run --calibration FILE`
 * reads: every timed case then reports its fraction of the relevant bandwidth (rotate: rw22, bias: fill,
 * embed: copy) at the run's thread count — a roofline position.
 */
#ifndef PECS_CALIBRATE_H
#define PECS_CALIBRATE_H

#include <jansson.h>

#include "pecs/backend.h"
#include "pecs/status.h"

/* Measure and write the calibration file. */
pecs_status pecs_calibrate(const char *path, int max_threads, double mib_per_array, int reps, char *why, size_t why_len);

/* The bandwidth (GB/s) of the kernel relevant to a form at a thread count, from a loaded calibration;
 * 0 if absent. *kernel gets its name. */
double pecs_calibration_bandwidth(json_t *cal, pecs_form form, int threads, const char **kernel);

#endif
