/* harness/backends.h — backends and the calls made to them: built in (compiled into pecs) or plugins
 * (.so by path), in process or isolated in a worker process.
 *
 * Isolation (the default for plugins, and what certification requires). The parent process never loads
 * a plugin: no dlopen, no entry point, no descriptor query, no destructor runs in it. A worker process
 * (the pecs-worker binary, exec'd fresh, killed with the parent through PR_SET_PDEATHSIG, with the
 * --mem-cap applied by setrlimit) loads the plugin and serves many cases: for each call the parent
 * sends the problem (a copy) and the case's memfd arena (arena.h), the worker calls supports() or run()
 * on its own mapping of the same memory and answers with one fixed-size record: the outcome, run()'s
 * time, the reason text and whether the FP environment was left changed. The parent validates every
 * field (magic, operation, the request's random nonce, sizes, ranges, text sanitised) and otherwise
 * trusts nothing the worker says: the inputs, the reference and the verdict are the parent's, judged
 * on private copies of the shared memory taken after the answer (instance.h). A worker that dies or
 * hangs costs that case (CRASHED / TIMEOUT) and is started again for the next one; a malformed answer
 * is an ERROR and the worker is replaced.
 *
 * In process (built-ins by default; --no-isolate): the same calls on a deep copy of the problem, with
 * the FP environment saved and restored around each, and an exit() inside a call turned into exit status
 * 3 with the reason printed. A plugin in process can still do anything the process can: use isolation
 * for anything not trusted (docs/threat-model.md).
 *
 * A backend is refused at load, with a message and never a crash, when: dlopen fails, the entry symbol
 * is missing, the entry returns NULL, the descriptor's ABI major differs (both numbers named), its
 * struct_size is smaller than the ABI-1.0 descriptor, a required function pointer is NULL, its name is
 * not 1-64 characters of [A-Za-z0-9._+-] or is a built-in's name (reserved) while it is not that
 * built-in, or its version or description is not printable UTF-8 of at most 64 / 256 bytes.
 */
#ifndef PECS_BACKENDS_H
#define PECS_BACKENDS_H

#include "arena.h"
#include "pecs/backend.h"

#define PECS_NAME_MAX 64
#define PECS_DESC_MAX 256

/* What the harness knows of a backend: validated copies, never the plugin's own pointers. */
typedef struct pecs_backend_ident {
    char name[PECS_NAME_MAX + 1];
    char version[PECS_NAME_MAX + 1];
    char description[PECS_DESC_MAX + 1];
    char isa[PECS_NAME_MAX + 1];
    uint32_t abi_major, abi_minor;
    /* Device backends (ABI 1.1): what init() named, and the bandwidth of the backend's own copy() measured
     * at load (GB/s, read + write; 0 with device_bw_why when it has none). All empty for a host backend. */
    char device[128], driver[128];
    double device_gbs;
    char device_bw_why[128];
} pecs_backend_ident;

struct pecs_worker;

typedef struct pecs_loaded_backend {
    pecs_backend_ident id;
    char source[512];         /* "builtin" or the .so path */
    char sha256[65];          /* of the plugin file ("" for a built-in) */
    char sandbox[128];        /* isolated: what confines the worker, e.g. "landlock abi 7: ..."; else "" */
    int isolated;             /* 1: calls go to a worker process */
    int device_up;            /* in process: a device backend whose init() succeeded (teardown at unload) */
    const pecs_backend *b;    /* in process only */
    void *dl;                 /* in-process plugin's dlopen handle */
    struct pecs_worker *w;    /* isolated only */
    double timeout_s;         /* isolated: time one case may take (pecs_backend_case_start) */
    double deadline;          /* isolated: pecs_now() by which the current case's calls must answer */
} pecs_loaded_backend;

typedef struct pecs_backend_opts {
    int isolate;              /* -1: plugins isolated, built-ins in process (default); 0: never; 1: always */
    double timeout_s;         /* per case, isolated (default 60) */
    double mem_cap;           /* bytes: RLIMIT_DATA of the worker (0: none) */
} pecs_backend_opts;

/* Names of the built-in backends, space-separated. */
const char *pecs_builtin_list(void);
int pecs_builtin_name(const char *name);
/* Load by built-in name or by path (anything containing '/' or ending in .so). */
pecs_status pecs_backend_open(const char *name_or_path, const pecs_backend_opts *o, pecs_loaded_backend *out, char *why,
                              size_t why_len);
/* pecs_backend_open with the default options. */
pecs_status pecs_backend_load(const char *name_or_path, pecs_loaded_backend *out, char *why, size_t why_len);
void pecs_backend_unload(pecs_loaded_backend *lb);
/* Kill an isolated backend's worker now (SIGKILL: no destructor or thread of the plugin runs after it),
 * keeping its identity for the results; further calls report it stopped. */
void pecs_backend_stop(pecs_loaded_backend *lb);
/* The host services given to every backend. */
const pecs_host *pecs_host_services(void);
/* The descriptor checks and the name/version/description rules above; fills id. */
pecs_status pecs_backend_check(const pecs_backend *b, const char *src, int builtin, pecs_backend_ident *id, char *why,
                               size_t why_len);

/* ---- calls ---------------------------------------------------------------------------------------------- */

typedef enum pecs_call_kind {
    PECS_CALL_OK,        /* supports(): yes; run(): PECS_OK */
    PECS_CALL_DECLINED,  /* supports() said no (reason) */
    PECS_CALL_STATUS,    /* run() returned st != PECS_OK */
    PECS_CALL_FENV,      /* returned, but left the FP environment changed (reason) */
    PECS_CALL_CRASHED,   /* the worker died (reason: signal or exit status) */
    PECS_CALL_TIMEOUT,   /* no answer by the case's deadline (the worker was killed) */
    PECS_CALL_BROKEN,    /* a malformed or forged answer (the worker was killed) */
    PECS_CALL_STRAY      /* a device backend wrote into its output buffer's guard frame (reason) */
} pecs_call_kind;

typedef struct pecs_call {
    pecs_call_kind kind;
    pecs_status st;           /* run(): what it returned */
    double seconds;           /* run(): its own time, measured around the call (in the worker when isolated); for a
                                 device backend, end to end: transfers in, run, sync, transfer out (device.h) */
    double kernel_seconds;    /* device backends: the kernel alone by the device's events, as the backend reports
                                 it (bounded by the harness's clock around run + sync); -1: none */
    double rtt;               /* isolated: the parent's clock from request to answer */
    int64_t fault_offset;     /* CRASHED by a fault the worker reported (wire.h): the faulting address as a byte
                                 offset into the case's arena; -1: none reported, or outside the arena */
    int fault_access;         /* 0 unknown, 1 read, 2 write */
    char reason[512];
} pecs_call;

/* A case starts: isolated calls from now on must answer within the backend's timeout. */
void pecs_backend_case_start(pecs_loaded_backend *lb);
/* p's tensors must lie in arena a (a shared arena when lb is isolated). */
void pecs_backend_supports(pecs_loaded_backend *lb, const pecs_problem *p, const pecs_arena *a, pecs_call *r);
void pecs_backend_run(pecs_loaded_backend *lb, const pecs_problem *p, const pecs_arena *a, pecs_call *r);
/* Isolated: the median round trip of an empty request (the IPC cost under a call's rtt); 0 in process. */
double pecs_backend_ping_s(const pecs_loaded_backend *lb);

#endif
