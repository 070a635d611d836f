/* harness/isolate.c */
#include "isolate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "case.h"
#include "instance.h"
#include "util.h"

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        len -= (size_t)w;
    }
    return 1;
}

/* Read exactly len bytes before the deadline; 1 ok, 0 eof/error, -1 timeout. */
static int read_all(int fd, void *buf, size_t len, double deadline)
{
    char *p = buf;
    while (len) {
        double left = deadline - pecs_now();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left * 1000.0) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return -1;
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static void canonical_into(pecs_case_result *r, const char *case_str)
{
    pecs_case c;
    char why[256];
    if (pecs_case_parse(&c, case_str, why, sizeof why) == PECS_OK) {
        r->case_str = pecs_case_format(&c);
        pecs_case_free(&c);
    } else {
        r->case_str = pecs_strdup(case_str);
    }
}

void pecs_run_case_isolated(const pecs_loaded_backend *lb, const char *case_str, const pecs_run_opts *o, double timeout_s,
                            pecs_case_result *r)
{
    int fds[2];
    double t0 = pecs_now();
    memset(r, 0, sizeof *r);
    r->backend = lb->b->name;
    fflush(NULL); /* the child must not flush the parent's buffered output again */
    if (pipe(fds) != 0) {
        pecs_run_case(lb, case_str, o, r); /* no pipe: run in process rather than not at all */
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        pecs_run_case(lb, case_str, o, r);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the whole process group: the parent decides, the case finishes */
        pecs_instance_guard_pages(!o->perf); /* page-aligned ends would skew timings */
        pecs_case_result cr;
        pecs_run_case(lb, case_str, o, &cr);
        uint64_t len = cr.case_str ? strlen(cr.case_str) : 0;
        char *s = cr.case_str;
        cr.case_str = NULL;
        int ok = write_all(fds[1], &cr, sizeof cr) && write_all(fds[1], &len, sizeof len) && write_all(fds[1], s, len);
        _exit(ok ? 0 : 3);
    }
    close(fds[1]);
    double deadline = t0 + timeout_s;
    pecs_case_result cr;
    uint64_t len = 0;
    int got = read_all(fds[0], &cr, sizeof cr, deadline);
    if (got == 1)
        got = read_all(fds[0], &len, sizeof len, deadline);
    char *s = NULL;
    if (got == 1 && len < (1u << 20) && (s = calloc(len + 1, 1)) != NULL)
        got = read_all(fds[0], s, len, deadline);
    else if (got == 1)
        got = 0;
    close(fds[0]);
    int status = 0;
    if (got == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        canonical_into(r, case_str);
        r->verdict = PECS_V_TIMEOUT;
        snprintf(r->reason, sizeof r->reason, "no result within %.3g s: the backend was stopped", timeout_s);
    } else {
        waitpid(pid, &status, 0);
        if (got == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            *r = cr;
            r->case_str = s;
            s = NULL;
        } else {
            canonical_into(r, case_str);
            r->verdict = PECS_V_CRASHED;
            if (WIFSIGNALED(status))
                snprintf(r->reason, sizeof r->reason, "the backend died with signal %d (%s)", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
            else
                snprintf(r->reason, sizeof r->reason, "the case process exited with status %d without a result (the "
                         "backend exited, or a sanitizer stopped it)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
    }
    free(s);
    r->backend = lb->b->name;
    r->seconds = pecs_now() - t0;
}
