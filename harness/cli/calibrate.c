/* harness/cli/calibrate.c — pecs calibrate. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"

/* ---- calibrate ------------------------------------------------------------------------------------------ */

static const char CALIBRATE_HELP[] =
    "usage: pecs calibrate [--out FILE] [--threads N] [--mib M] [--reps R]\n"
    "\n"
    "Measure the memory bandwidth STREAM-style at 1..N threads (default: all cores; OpenMP builds only, else\n"
    "1), on four float32 arrays of M MiB each (default 256: far beyond the last-level cache), best of R runs\n"
    "(default 5); bytes are counted as STREAM does (the arrays named, no write-allocate traffic). Kernels:\n"
    "  fill           a[i] = s: write only (bias, mask)\n"
    "  copy, scale, add, triad         as STREAM\n"
    "  rw22           (c,d)[i] = rotate((a,b)[i]): read 2, write 2 elsewhere (an out-of-place rotate)\n"
    "  rw22_inplace   (a,b)[i] = rotate((a,b)[i]): the same in place (no write-allocate: the strictest)\n"
    "  fill_nt, copy_nt, rw22_nt       fill, copy, rw22 with streaming (non-temporal) stores at the widest\n"
    "                 x86 vector width the CPU has (AVX-512, AVX, SSE2: nt_stores names it; elsewhere\n"
    "                 ordinary stores, and nt_stores is false)\n"
    "Writes FILE (default pecs-calibration.json) and prints the table; `pecs run --calibration FILE` then\n"
    "reports each timed case's fraction of the relevant bandwidths (`pecs run --calibration auto` measures\n"
    "them in the run instead) for cases beyond the caches; `pecs run --calibration paired` needs no table: it\n"
    "pairs every timed call with a kernel moving the same bytes. OMP_PROC_BIND and OMP_PLACES are recorded.\n";

/* The table as printed: one row per thread count, one column per kernel, GB/s. */
static void print_calibration_table(json_t *cal)
{
    json_t *rows = json_object_get(cal, "gbytes_per_s"), *row, *v;
    const char *key, *k;
    int header = 0;
    json_object_foreach(rows, key, row)
    {
        if (!header++) {
            printf("%-7s", "threads");
            json_object_foreach(row, k, v)
                printf(" %*s", strlen(k) > 7 ? (int)strlen(k) : 7, k);
            printf("   (GB/s)\n");
        }
        printf("%-7s", key);
        json_object_foreach(row, k, v)
            printf(" %*.2f", strlen(k) > 7 ? (int)strlen(k) : 7, json_number_value(v));
        printf("\n");
    }
}

int pecs_cmd_calibrate(int argc, char **argv)
{
    const char *out = "pecs-calibration.json";
    double threads = (double)sysconf(_SC_NPROCESSORS_ONLN), mib = 256, reps = 5;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
            fputs(CALIBRATE_HELP, stdout);
            return EXIT_OK;
        }
        if ((v = pecs_opt(argc, argv, &i, "--out", &missing)))
            out = v;
        else if ((v = pecs_opt(argc, argv, &i, "--threads", &missing))) {
            if (!pecs_parse_f64(v, &threads) || threads != floor(threads) || threads < 1 || threads > 1024)
                return cli_usage_error("calibrate", "--threads takes 1..1024");
        } else if ((v = pecs_opt(argc, argv, &i, "--mib", &missing))) {
            if (!pecs_parse_f64(v, &mib) || mib < 1 || mib > 65536)
                return cli_usage_error("calibrate", "--mib takes 1..65536");
        } else if ((v = pecs_opt(argc, argv, &i, "--reps", &missing))) {
            if (!pecs_parse_f64(v, &reps) || reps != floor(reps) || reps < 1 || reps > 1000)
                return cli_usage_error("calibrate", "--reps takes 1..1000");
        } else {
            return cli_usage_error("calibrate", missing ? "an option is missing its value" : "unknown argument");
        }
    }
    char why[512];
    int rc = EXIT_OK, counts[1024];
    for (int t = 1; t <= (int)threads; t++)
        counts[t - 1] = t;
    json_t *cal = pecs_calibration_measure(counts, (int)threads, mib, (int)reps, why, sizeof why);
    if (!cal || pecs_calibration_write(out, cal, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs calibrate: %s\n", why);
        rc = EXIT_IO;
        goto cleanup;
    }
    print_calibration_table(cal);
    printf("calibration: %s\n", out);
cleanup:
    json_decref(cal);
    return rc;
}

