/* tests/plugins/attack.c — hostile plugins (attacks.def): each attacks the verdict, not the kernel. Built
 * once per attack (-DATTACK_<name>); all wrap the scalar backend, linked in with its entry hidden. */
#define _GNU_SOURCE
#include <fenv.h>
#include <math.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pecs/backend.h"

const pecs_backend *pecs_builtin_entry_scalar(uint32_t host_abi_major, const pecs_host *host);

static const pecs_backend *inner(void) { return pecs_builtin_entry_scalar(PECS_ABI_MAJOR, NULL); }

static int att_supports(void *ctx, const pecs_problem *p, char *reason, size_t n)
{
    (void)ctx;
#if defined(ATTACK_nonul)
    memset(reason, 'x', n); /* no NUL anywhere */
    (void)p;
    return 0;
#else
    return inner()->supports(inner()->ctx, p, reason, n);
#endif
}

__attribute__((unused)) static const pecs_tensor *tensor(const pecs_problem *p, const char *name) { return pecs_problem_tensor(p, name); }

/* Every byte of the output's logical span set to zero (a wrong answer for any non-trivial case). */
__attribute__((unused)) static void zero_out(const pecs_problem *p)
{
    const pecs_tensor *o = tensor(p, "out");
    int64_t span = 1;
    for (int i = 0; i < o->ndim; i++)
        span += (o->shape[i] - 1) * o->stride[i];
    for (int64_t i = 0; i < o->ndim && o->ndim; i++)
        ;
    /* element-wise, so stride gaps keep their canaries */
    int64_t idx[PECS_MAX_DIMS] = {0}, n = 1;
    for (int i = 0; i < o->ndim; i++)
        n *= o->shape[i];
    for (int64_t k = 0; k < n; k++) {
        int64_t off = 0;
        for (int i = 0; i < o->ndim; i++)
            off += idx[i] * o->stride[i];
        pecs_store_f64(o->data, o->dtype, off, 0.0);
        for (int i = o->ndim - 1; i >= 0; i--) {
            if (++idx[i] < o->shape[i])
                break;
            idx[i] = 0;
        }
    }
    (void)span;
}

#if defined(ATTACK_forge) || defined(ATTACK_malformed)
/* The answer record as the worker writes it (harness/wire.h), re-declared as an attacker would. */
typedef struct {
    uint32_t magic, op;
    uint64_t nonce;
    int32_t outcome, fenv_changed;
    double seconds;
    int64_t fault_offset;
    int32_t fault_access, stray;
    double kernel_seconds;
    char reason[512];
} forged_reply;

static void spray(void)
{
    for (int fd = 0; fd < 64; fd++) {
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
#if defined(ATTACK_forge)
        for (uint64_t nc = 0; nc < 4; nc++) {
            forged_reply r = {0x70656373u, 4 /* RUN */, nc, 0, 0, 1e-9, -1, 0, 0, -1.0, "PASSED"};
            send(fd, &r, sizeof r, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
#else
        forged_reply r = {0x70656373u, 4, 0, 0x40000000, 0, 1e300, -1, 0, 0, -1.0, ""};
        memset(r.reason, 'A', sizeof r.reason);
        send(fd, &r, sizeof r - 3, MSG_NOSIGNAL | MSG_DONTWAIT);
        send(fd, &r, sizeof r, MSG_NOSIGNAL | MSG_DONTWAIT);
#endif
    }
}
#endif

#if defined(ATTACK_latewrite)
static pecs_tensor g_pos;
static void *late(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) { /* ~2 s of zeroing the positions the parent may still read */
        usleep(200);
        for (int64_t t = 0; t < g_pos.shape[g_pos.ndim - 1]; t++)
            pecs_store_f64(g_pos.data, g_pos.dtype, t * g_pos.stride[g_pos.ndim - 1], 0.0);
    }
    return NULL;
}
#endif

static pecs_status att_run(void *ctx, const pecs_problem *p)
{
    const pecs_backend *s = inner();
    (void)ctx, (void)s, (void)p;
#if defined(ATTACK_params)
    pecs_param *q = (pecs_param *)p->params;
    for (int32_t i = 0; i < p->n_params; i++)
        if (!strcmp(q[i].name, "base") || !strcmp(q[i].name, "max_distance"))
            q[i].r = q[i].r * 3 + 7, q[i].i = q[i].i * 3 + 7;
    return s->run(s->ctx, p);
#elif defined(ATTACK_posdesc)
    static int64_t zeros[1 << 16];
    pecs_tensor *t = (pecs_tensor *)p->tensors;
    for (int32_t i = 0; i < p->n_tensors; i++)
        if (!strcmp(t[i].name, "pos") || !strcmp(t[i].name, "qpos") || !strcmp(t[i].name, "kpos"))
            t[i].data = zeros;
    return s->run(s->ctx, p);
#elif defined(ATTACK_forge) || defined(ATTACK_malformed)
    spray();
    zero_out(p);
    return PECS_OK;
#elif defined(ATTACK_timedcheat)
    static int calls;
    if (++calls <= 2 || calls % 97 == 0) /* the checked call and its determinism repeat (and a few others) */
        return s->run(s->ctx, p);
    zero_out(p);
    return PECS_OK;
#elif defined(ATTACK_fenv)
    pecs_status st = s->run(s->ctx, p);
    fesetround(FE_TOWARDZERO);
    return st;
#elif defined(ATTACK_strayfar) || defined(ATTACK_strayafter)
    pecs_status st = s->run(s->ctx, p);
    const pecs_tensor *o = tensor(p, "out");
    int64_t last = 0;
    for (int32_t i = 0; i < o->ndim; i++)
        last += (o->shape[i] - 1) * o->stride[i];
#if defined(ATTACK_strayfar)
    ((unsigned char *)o->data)[-200] = 0;
#else
    ((unsigned char *)o->data)[(size_t)(last + 1) * pecs_dtype_size(o->dtype) + 99] = 0;
#endif
    return st;
#elif defined(ATTACK_escape)
    const char *target = getenv("PECS_ATTACK_TARGET");
    FILE *f = target ? fopen(target, "w") : NULL;
    if (f) {
        fputs("escaped\n", f);
        fclose(f);
    }
    kill(getppid(), SIGKILL);
    return s->run(s->ctx, p);
#elif defined(ATTACK_chatty)
    printf("PASSED     chatty   forged\nchatty   rope  f32  equivalence  999  0  0  0\n999 passed, 0 failed, 0 skipped\n");
    fflush(stdout);
    return s->run(s->ctx, p);
#elif defined(ATTACK_exit0)
    (void)s;
    exit(0);
#elif defined(ATTACK_spin)
    (void)s;
    for (volatile unsigned long i = 0;; i++)
        if (i == (unsigned long)-1)
            break;
    return PECS_OK;
#elif defined(ATTACK_memhog)
    size_t n = (size_t)1 << 30;
    unsigned char *m = malloc(n);
    if (!m)
        return PECS_NOMEM;
    memset(m, 1, n);
    free(m);
    return s->run(s->ctx, p);
#elif defined(ATTACK_latewrite)
    static pthread_t th;
    static int64_t zeros[1 << 16];
    pecs_tensor t[8];
    pecs_problem q = *p;
    memcpy(t, p->tensors, (size_t)p->n_tensors * sizeof *t);
    for (int32_t i = 0; i < p->n_tensors; i++)
        if (!strcmp(t[i].name, "pos")) {
            g_pos = t[i];
            t[i].data = zeros;
        }
    q.tensors = t;
    pecs_status st = s->run(s->ctx, &q); /* the answer for position 0 */
    if (!th)
        pthread_create(&th, NULL, late, NULL);
    return st;
#elif defined(ATTACK_undecided)
    pecs_status st = s->run(s->ctx, p);
    const pecs_tensor *q = tensor(p, "q"), *k = tensor(p, "k"), *qp = tensor(p, "qpos"), *kp = tensor(p, "kpos");
    const pecs_tensor *o = tensor(p, "out");
    if (st != PECS_OK || strcmp(p->encoding, "tra") || !q || !k || !qp || !kp || !o)
        return st;
    /* NaN where float32 may decide tra's keep threshold either way: the elements pecs used to leave unjudged. */
    for (int64_t h = 0; h < q->shape[1]; h++)
        for (int64_t i = 0; i < q->shape[0]; i++)
            for (int64_t j = 0; j < k->shape[0]; j++) {
                double dot = 0, mag = 0;
                for (int64_t d = 0; d < q->shape[2]; d++) {
                    double x = pecs_load_f64(q->data, q->dtype, i * q->stride[0] + h * q->stride[1] + d * q->stride[2]) *
                               pecs_load_f64(k->data, k->dtype, j * k->stride[0] + h * k->stride[1] + d * k->stride[2]);
                    dot += x, mag += fabs(x);
                }
                if (pecs_pos_at(kp, 0, j) <= pecs_pos_at(qp, 0, i) && fabs(dot) <= 0x1p-20 * mag)
                    pecs_store_f64(o->data, o->dtype, h * o->stride[0] + i * o->stride[1] + j * o->stride[2], NAN);
            }
    return st;
#else
    return s->run(s->ctx, p);
#endif
}

#if defined(ATTACK_isacrash)
static const char *att_isa(void *ctx)
{
    (void)ctx;
    raise(SIGSEGV); /* a fault, as a bad pointer would give */
    return "never";
}
#else
static const char *att_isa(void *ctx)
{
    (void)ctx;
    return "scalar";
}
#endif

#if defined(ATTACK_dtor)
__attribute__((destructor)) static void dtor(void)
{
    const char *target = getenv("PECS_ATTACK_TARGET");
    if (target) {
        FILE *f = fopen(target, "w");
        if (f) {
            fputs("{\"forged\": true}\n", f);
            fclose(f);
        }
    }
    _exit(0);
}
#endif

static pecs_backend g_desc = {
    PECS_ABI_MAJOR, sizeof(pecs_backend), PECS_ABI_MINOR,
#if defined(ATTACK_badutf8)
    "evil\xff\xfe",
#elif defined(ATTACK_fakebuiltin)
    "scalar",
#else
    "attack",
#endif
    "1.0",
#if defined(ATTACK_newline)
    "innocent\n0 passed, 0 failed, 0 skipped",
#else
    "a hostile test plugin",
#endif
    NULL, att_supports, att_run, att_isa, NULL};

__attribute__((visibility("default"))) const pecs_backend *pecs_backend_entry(uint32_t host_abi_major, const pecs_host *host)
{
    (void)host;
    return host_abi_major == PECS_ABI_MAJOR ? &g_desc : NULL;
}
