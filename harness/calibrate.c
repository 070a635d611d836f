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

enum { K_FILL, K_COPY, K_SCALE, K_ADD, K_TRIAD, K_RW22, K_COUNT };
static const char *const KNAMES[K_COUNT] = {"fill", "copy", "scale", "add", "triad", "rw22"};
static const double KBYTES[K_COUNT] = {1, 2, 2, 3, 3, 4}; /* arrays touched per element */

#ifdef _OPENMP
#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(threads)")
#else
#define PAR_FOR
#endif

/* One loop per kernel: the dispatch stays outside the timed loops. */
static void kernel(int k, float *restrict a, float *restrict b, float *restrict c, long n, int threads)
{
    const float s = 0.999f, cs = 0.6f, sn = 0.8f;
    (void)threads;
    switch (k) {
    case K_FILL:
        PAR_FOR for (long i = 0; i < n; i++) a[i] = s;
        break;
    case K_COPY:
        PAR_FOR for (long i = 0; i < n; i++) c[i] = a[i];
        break;
    case K_SCALE:
        PAR_FOR for (long i = 0; i < n; i++) b[i] = s * c[i];
        break;
    case K_ADD:
        PAR_FOR for (long i = 0; i < n; i++) c[i] = a[i] + b[i];
        break;
    case K_TRIAD:
        PAR_FOR for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        break;
    default:
        PAR_FOR for (long i = 0; i < n; i++)
        {
            float x = a[i], y = b[i];
            a[i] = x * cs - y * sn;
            b[i] = x * sn + y * cs;
        }
    }
}

pecs_status pecs_calibrate(const char *path, int max_threads, double mib_per_array, int reps, char *why, size_t why_len)
{
    long n = (long)(mib_per_array * 1048576.0 / sizeof(float));
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b), *c = malloc((size_t)n * sizeof *c);
    pecs_status st = PECS_OK;
    json_t *root = NULL;
    if (!a || !b || !c) {
        snprintf(why, why_len, "cannot allocate 3 x %.0f MiB", mib_per_array);
        st = PECS_NOMEM;
        goto cleanup;
    }
#ifndef _OPENMP
    max_threads = 1;
#endif
    for (long i = 0; i < n; i++)
        a[i] = 1.0f, b[i] = 2.0f, c[i] = 0.5f; /* touch every page before timing */
    pecs_machine m;
    pecs_machine_probe(&m);
    const char *bind = getenv("OMP_PROC_BIND"), *places = getenv("OMP_PLACES");
    root = json_pack("{s:s,s:i,s:s,s:i,s:o,s:i,s:s,s:s}", "schema", "pecs-calibration", "schema_version", 1, "cpu_model",
                     m.cpu_model, "cores", m.cores, "array_mib", json_real(mib_per_array), "reps", reps, "omp_proc_bind",
                     bind ? bind : "unset", "omp_places", places ? places : "unset");
    json_t *by_threads = json_object();
    for (int t = 1; t <= max_threads; t++) {
        json_t *row = json_object();
        for (int k = 0; k < K_COUNT; k++) {
            double best = INFINITY;
            for (int r = 0; r < reps; r++) {
                double t0 = pecs_now();
                kernel(k, a, b, c, n, t);
                double dt = pecs_now() - t0;
                best = dt < best ? dt : best;
            }
            json_object_set_new(row, KNAMES[k], json_real(KBYTES[k] * (double)n * sizeof(float) / best * 1e-9));
        }
        char key[16];
        snprintf(key, sizeof key, "%d", t);
        json_object_set_new(by_threads, key, row);
    }
    json_object_set_new(root, "gbytes_per_s", by_threads);
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    st = text ? pecs_write_atomic(path, text, strlen(text), why, why_len) : PECS_NOMEM;
    free(text);
cleanup:
    json_decref(root);
    free(a), free(b), free(c);
    return st;
}

double pecs_calibration_bandwidth(json_t *cal, pecs_form form, int threads, const char **kernel)
{
    const char *k = form == PECS_FORM_ROTATE ? "rw22" : form == PECS_FORM_BIAS ? "fill" : "copy";
    char key[16];
    snprintf(key, sizeof key, "%d", threads);
    *kernel = k;
    return json_number_value(json_object_get(json_object_get(json_object_get(cal, "gbytes_per_s"), key), k));
}
