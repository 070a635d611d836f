/* harness/worker.c — the worker process: the only place an isolated backend's code runs (backends.h).
 * It trusts the parent and nothing else; whatever the plugin does to this process is judged by the
 * parent on its own copies. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "device.h"
#include "fpenv.h"
#include "util.h"
#include "wire.h"

typedef struct worker {
    int fd;
    const pecs_backend *b;
    int device_up;            /* a device backend's init() succeeded: teardown() when the parent closes */
    unsigned char *map;       /* the current arena's mapping */
    size_t map_len;
    ino_t ino;
    dev_t dev;
} worker;

static int send_rec(int fd, const void *rec, size_t len)
{
    ssize_t n;
    do
        n = send(fd, rec, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)len;
}

/* Receive one request and the fd that may travel with it (-1 if none). */
static ssize_t recv_req(int fd, void *buf, size_t len, int *passed)
{
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    ssize_t n;
    do
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    *passed = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(passed, CMSG_DATA(c), sizeof(int));
    return n;
}

/* A fault inside a call (a write into a guard page, most often) is diagnosed before the process dies: the
 * address as an offset into the arena goes to the parent (wire.h PECS_OP_FAULT), which names the tensor and
 * the byte offset as it does for a stray write into a canary. Only async-signal-safe calls in the handler;
 * SA_RESETHAND restores the default action, so the signal raised again there kills the process with it. */
static volatile sig_atomic_t g_fault_fd = -1;
static unsigned char *volatile g_fault_map;
static volatile size_t g_fault_len;
static volatile uint64_t g_fault_nonce;
static volatile uint32_t g_fault_op;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
    pecs_wire_reply rp;
    memset(&rp, 0, sizeof rp);
    rp.magic = PECS_WIRE_MAGIC;
    rp.op = PECS_OP_FAULT;
    rp.nonce = g_fault_nonce;
    rp.outcome = sig;
    /* si_addr means an address only for a fault the kernel raised (si_code > 0), not for raise()/kill() */
    unsigned char *a = si && si->si_code > 0 ? (unsigned char *)si->si_addr : NULL, *m = g_fault_map;
    rp.fault_offset = m && a >= m && a < m + g_fault_len ? (int64_t)(a - m) : -1;
#if defined(__x86_64__) && defined(REG_ERR)
    ucontext_t *uc = uc_;
    rp.fault_access = uc ? ((uc->uc_mcontext.gregs[REG_ERR] & 2) ? 2 : 1) : 0;
#else
    (void)uc_;
#endif
    (void)g_fault_op;
    if (g_fault_fd >= 0)
        send(g_fault_fd, &rp, sizeof rp, MSG_NOSIGNAL | MSG_DONTWAIT);
    raise(sig); /* pending until the handler returns, then the default action: the process dies of it, also
                   when the signal came from raise() rather than a faulting access */
}

static void fault_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* Map the arena the request names (kept across requests on the same memfd), guards protected here too. */
static int map_arena(worker *w, int fd, const pecs_wire_problem *wp, const uint64_t *bodies)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 0;
    if (w->map && st.st_ino == w->ino && st.st_dev == w->dev && w->map_len == wp->arena_size)
        return 1;
    if (w->map)
        munmap(w->map, w->map_len);
    w->map = NULL;
    void *m = mmap(NULL, wp->arena_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return 0;
    w->map = m;
    w->map_len = wp->arena_size;
    w->ino = st.st_ino;
    w->dev = st.st_dev;
    size_t b[2 * PECS_WIRE_MAX_BODIES];
    for (int i = 0; i < 2 * wp->n_bodies; i++)
        b[i] = (size_t)bodies[i];
    pecs_arena_protect(w->map, wp->arena_used, wp->page, b, wp->n_bodies);
    return 1;
}

/* Build the problem from a request: params, tensors and strings point into buf (the request). */
static int decode(worker *w, unsigned char *buf, size_t len, int fd, pecs_problem *p, pecs_param *params,
                  pecs_tensor *tensors)
{
    if (len < sizeof(pecs_wire_problem))
        return 0;
    pecs_wire_problem *wp = (pecs_wire_problem *)buf;
    if (wp->n_params < 0 || wp->n_params > 64 || wp->n_tensors < 0 || wp->n_tensors > 8 || wp->n_bodies < 0 ||
        wp->n_bodies > PECS_WIRE_MAX_BODIES)
        return 0;
    size_t at = sizeof *wp;
    pecs_wire_param *wpar = (pecs_wire_param *)(buf + at);
    at += (size_t)wp->n_params * sizeof *wpar;
    pecs_wire_tensor *wt = (pecs_wire_tensor *)(buf + at);
    at += (size_t)wp->n_tensors * sizeof *wt;
    uint64_t *bodies = (uint64_t *)(buf + at);
    at += (size_t)wp->n_bodies * 2 * sizeof *bodies;
    double *lists = (double *)(buf + at);
    if (at > len || !map_arena(w, fd, wp, bodies))
        return 0;
    size_t nl = (len - at) / sizeof(double), used = 0;
    wp->encoding[sizeof wp->encoding - 1] = '\0';
    for (int i = 0; i < wp->n_params; i++) {
        pecs_wire_param *q = &wpar[i];
        q->name[sizeof q->name - 1] = q->s[sizeof q->s - 1] = '\0';
        if (q->n < 0 || (size_t)q->n > nl - used)
            return 0;
        params[i] = (pecs_param){q->name, (pecs_param_type)q->type, q->i, q->r, q->s, lists + used, q->n};
        used += (size_t)q->n;
    }
    for (int i = 0; i < wp->n_tensors; i++) {
        pecs_wire_tensor *t = &wt[i];
        t->name[sizeof t->name - 1] = '\0';
        if (t->offset >= w->map_len || t->ndim < 0 || t->ndim > PECS_MAX_DIMS)
            return 0;
        tensors[i] = (pecs_tensor){.name = t->name, .dtype = (pecs_dtype)t->dtype, .ndim = t->ndim,
                                   .data = w->map + t->offset};
        memcpy(tensors[i].shape, t->shape, sizeof t->shape);
        memcpy(tensors[i].stride, t->stride, sizeof t->stride);
    }
    *p = (pecs_problem){.struct_size = sizeof *p, .encoding = wp->encoding, .form = (pecs_form)wp->form,
                        .dtype = (pecs_dtype)wp->dtype, .params = params, .n_params = wp->n_params,
                        .tensors = tensors, .n_tensors = wp->n_tensors, .in_place = wp->in_place,
                        .n_threads = wp->n_threads};
    return 1;
}

/* Before any plugin code runs: a Landlock domain with every filesystem write right handled and none
 * granted (no file can be written, created, renamed or removed; already open descriptors such as stderr
 * keep working), which also keeps ptrace and /proc/<pid>/mem of processes outside the domain (pecs)
 * out of reach, and from Landlock ABI 6 signals to them too. `what` says what applied. */
/* The one directory the worker may write, made and removed by the parent (--scratch): a device runtime's
 * caches and compiled kernels (pocl writes its kernels there before it loads them), named to the runtimes
 * through the environment. */
static char g_scratch[256];

static void scratch_dir(const char *dir)
{
    if (!dir || dir[0] != '/' || strlen(dir) >= sizeof g_scratch)
        return;
    snprintf(g_scratch, sizeof g_scratch, "%s", dir);
    setenv("POCL_CACHE_DIR", g_scratch, 1);
    setenv("XDG_CACHE_HOME", g_scratch, 1);
    setenv("TMPDIR", g_scratch, 1);
}

static void sandbox(char *what, size_t n)
{
#if defined(SYS_landlock_create_ruleset) && defined(SYS_landlock_restrict_self)
    /* The kernel's struct landlock_ruleset_attr as of ABI 6 (Debian 12's headers stop at ABI 1); the
     * kernel takes the size we pass and ignores nothing it does not know. */
    struct {
        uint64_t handled_access_fs, handled_access_net, scoped;
    } attr = {0, 0, 0};
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, (uint32_t)1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    if (abi < 1) {
        snprintf(what, n, "none: Landlock unavailable (%s)", strerror(errno));
        return;
    }
    /* write_file, remove_dir, remove_file, make_char/dir/reg/sock/fifo/block/sym: bits 1 and 4-12;
     * refer (ABI 2): bit 13; truncate (ABI 3): bit 14 */
    attr.handled_access_fs = (1u << 1) | (0x1FFu << 4) | (abi >= 2 ? 1u << 13 : 0) | (abi >= 3 ? 1u << 14 : 0);
    size_t size = sizeof attr.handled_access_fs;
    int signals = abi >= 6;
    if (signals) {
        attr.scoped = 1u << 1; /* LANDLOCK_SCOPE_SIGNAL */
        size = sizeof attr;
    }
    int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    int dir = fd >= 0 && g_scratch[0] ? open(g_scratch, O_PATH | O_CLOEXEC | O_DIRECTORY) : -1;
    if (dir >= 0) { /* writes beneath the scratch directory only */
        struct __attribute__((packed)) {
            uint64_t allowed_access;
            int32_t parent_fd;
        } rule = {attr.handled_access_fs, dir};
        if (syscall(SYS_landlock_add_rule, fd, 1 /* LANDLOCK_RULE_PATH_BENEATH */, &rule, 0) != 0)
            g_scratch[0] = '\0';
        close(dir);
    }
    if (fd < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_landlock_restrict_self, fd, 0) != 0) {
        snprintf(what, n, "none: Landlock refused (%s)", strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    close(fd);
    snprintf(what, n, "landlock abi %ld: no file writes%s, no ptrace%s of processes outside", abi,
             g_scratch[0] ? " but to its scratch directory" : "", signals ? " or signals" : "");
#else
    snprintf(what, n, "none: built without the Landlock system calls");
#endif
}

static void hello(worker *w, const char *spec, uint64_t nonce)
{
    pecs_wire_hello h;
    memset(&h, 0, sizeof h);
    h.magic = PECS_WIRE_MAGIC;
    h.op = PECS_OP_HELLO;
    h.nonce = nonce;
    pecs_loaded_backend lb;
    pecs_backend_opts o = {.isolate = 0};
    sandbox(h.sandbox, sizeof h.sandbox);
    h.status = pecs_backend_open(spec, &o, &lb, h.reason, sizeof h.reason);
    if (h.status == PECS_OK) {
        h.id = lb.id; /* the identity is queried here, never in the parent */
        w->b = lb.b;  /* kept loaded until the process ends */
        w->device_up = lb.device_up;
    }
    send_rec(w->fd, &h, sizeof h);
}

int pecs_worker_main(int argc, char **argv)
{
    worker w = {.fd = -1};
    const char *spec = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--fd"))
            w.fd = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scratch"))
            scratch_dir(argv[++i]);
        else
            spec = argv[i + 1] ? argv[++i] : NULL;
    if (w.fd < 0 || !spec) {
        fprintf(stderr, "pecs-worker: started by pecs only (usage: pecs-worker --fd N --backend NAME|PATH)\n");
        return 2;
    }
    dup2(2, 1); /* a backend that prints must not write into pecs's table */
    unsigned char *buf = malloc(PECS_WIRE_MAX);
    pecs_param params[64];
    pecs_tensor tensors[8];
    if (!buf)
        return 3;
    for (;;) {
        int fd = -1;
        ssize_t n = recv_req(w.fd, buf, PECS_WIRE_MAX, &fd);
        if (n <= 0)
            break; /* the parent closed the socket: done */
        pecs_wire_req rq;
        if ((size_t)n < sizeof rq)
            break;
        memcpy(&rq, buf, sizeof rq);
        if (rq.op == PECS_OP_HELLO) {
            hello(&w, spec, rq.nonce);
            continue;
        }
        pecs_wire_reply rp;
        memset(&rp, 0, sizeof rp);
        rp.magic = PECS_WIRE_MAGIC;
        rp.op = rq.op;
        rp.nonce = rq.nonce;
        pecs_problem p;
        if (rq.op != PECS_OP_PING) {
            if (!w.b || !decode(&w, buf + sizeof rq, (size_t)n - sizeof rq, fd, &p, params, tensors)) {
                if (fd >= 0)
                    close(fd);
                break;
            }
            pecs_fpenv env;
            pecs_fpenv_save(&env);
            g_fault_map = w.map, g_fault_len = w.map_len, g_fault_nonce = rq.nonce, g_fault_op = rq.op;
            g_fault_fd = w.fd;
            fault_handlers(); /* again before every call: the plugin may have replaced them */
            if (rq.op == PECS_OP_SUPPORTS) {
                rp.outcome = w.b->supports(w.b->ctx, &p, rp.reason, sizeof rp.reason) != 0;
            } else {
                int stray;
                rp.outcome = (int32_t)pecs_run_call(w.b, &p, &rp.seconds, &rp.kernel_seconds, &stray, rp.reason,
                                                    sizeof rp.reason);
                rp.stray = stray;
            }
            g_fault_fd = -1;
            rp.reason[sizeof rp.reason - 1] = '\0';
            if (pecs_fpenv_restore(&env, rp.reason, sizeof rp.reason))
                rp.fenv_changed = 1;
        }
        if (fd >= 0)
            close(fd);
        if (!send_rec(w.fd, &rp, sizeof rp))
            break;
    }
    if (w.device_up)
        pecs_device_ops_of(w.b)->teardown(w.b->ctx);
    free(buf);
    return 0;
}
