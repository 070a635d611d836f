/* harness/cli/progress.c — the progress line of a run on a terminal (cli_int.h). On stderr only, and only
 * when stderr is a TTY: a log or a pipe must get the same bytes with or without it, and stdout stays the
 * record of results. Redrawn at most ten times a second: a suite of thousands of millisecond cases would
 * otherwise spend its time in the terminal. */
#include "cli_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, int total, int quiet)
{
    const char *nc = getenv("NO_COLOR");
    memset(p, 0, sizeof *p);
    p->on = !quiet && total > 0 && isatty(STDERR_FILENO);
    p->colour = !nc || !*nc; /* no-color.org: set and not empty turns colour off */
    p->total = total;
    p->t0 = now_s();
}

static void fmt_eta(double s, char *buf, size_t n)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

void cli_progress_show(cli_progress *p, const char *case_str, const char *backend)
{
    if (!p->on)
        return;
    double t = now_s();
    if (p->shown && t - p->last < 0.1)
        return;
    p->last = t;
    p->shown = 1;
    char eta[32] = "?";
    if (p->done > 0)
        fmt_eta((t - p->t0) / p->done * (p->total - p->done), eta, sizeof eta);
    int enc_len = (int)strcspn(case_str ? case_str : "", " ");
    const char *red = p->colour && p->failed ? "\033[31m" : "", *off = p->colour && p->failed ? "\033[0m" : "";
    /* \r and erase-to-end-of-line: the line is redrawn in place. */
    fprintf(stderr, "\r[%d/%d] %3d%%  %.*s on %s  %s%d failed%s  ETA %s\033[K", p->done, p->total,
            p->total ? 100 * p->done / p->total : 100, enc_len > 40 ? 40 : enc_len, case_str ? case_str : "",
            backend ? backend : "?", red, p->failed, off, eta);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p, int failed)
{
    p->done++;
    p->failed += failed != 0;
}

void cli_progress_clear(cli_progress *p)
{
    if (!p->on || !p->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = 0;
    p->last = 0;
}
