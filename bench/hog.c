/* bench/hog.c — a bounded memory-bandwidth hog: the synthetic neighbour of the loaded-machine experiment
 * (bench/loaded-spread, issue 14).
 *
 * One thread streams over a buffer of --mib MiB (read a line, write a line) in bursts: on for a random
 * 0.5x-1.5x of --on-ms, then asleep for a random 0.5x-1.5x of --off-ms, from a fixed --seed, so the
 * bandwidth it leaves to others changes every fraction of a second to seconds, the way a neighbour's does.
 * It is bounded: it allocates its buffer once (at most 4096 MiB), and exits by itself after --seconds (at
 * most 3600) or on SIGTERM/SIGINT. Bad arguments: a message naming the option and exit 2. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* xorshift64*: the burst lengths only, reproducible from the seed */
static double uniform(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static int parse(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0.0;
    if (!v || errno || end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "pecs-hog: %s '%s': a number in [%g, %g]\n", opt, v ? v : "", lo, hi);
        return 0;
    }
    *out = d;
    return 1;
}

int main(int argc, char **argv)
{
    double mib = 256, seconds = 60, on_ms = 400, off_ms = 400, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = !strcmp(o, "--mib")       ? parse(o, v, 1, 4096, &mib)
                 : !strcmp(o, "--seconds") ? parse(o, v, 0.01, 3600, &seconds)
                 : !strcmp(o, "--on-ms")   ? parse(o, v, 1, 60000, &on_ms)
                 : !strcmp(o, "--off-ms")  ? parse(o, v, 0, 60000, &off_ms)
                 : !strcmp(o, "--seed")    ? parse(o, v, 0, 4294967295.0, &seed)
                                           : -1;
        if (ok == -1) {
            fprintf(stderr, "pecs-hog: unknown option '%s'\n"
                            "usage: pecs-hog [--mib M] [--seconds S] [--on-ms A] [--off-ms B] [--seed N]\n", o);
            return 2;
        }
        if (!ok)
            return 2;
        i++;
    }
    const size_t n = (size_t)(mib * 1048576.0) / sizeof(uint64_t);
    uint64_t *buf = malloc(n * sizeof *buf);
    if (!buf) {
        fprintf(stderr, "pecs-hog: out of memory for %g MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = i;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    uint64_t rng = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1;
    const double end = now_s() + seconds;
    size_t at = 0;
    while (!stop && now_s() < end) {
        const double burst_end = now_s() + on_ms * 1e-3 * (0.5 + uniform(&rng));
        while (!stop && now_s() < burst_end && now_s() < end)
            for (size_t k = 0; k < 65536; k++, at = at + 8 < n ? at + 8 : 0)
                buf[at] = buf[at] * 3 + 1; /* one 64-byte line read and written back */
        double rest = off_ms * 1e-3 * (0.5 + uniform(&rng)), left = end - now_s();
        rest = rest < left ? rest : left;
        if (rest > 0) {
            struct timespec ts = {(time_t)rest, (long)((rest - (double)(time_t)rest) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    free(buf);
    return 0;
}
