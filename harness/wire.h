/* harness/wire.h — the messages between pecs and a backend's worker process (backends.h).
 *
 * One SOCK_SEQPACKET socket pair: message boundaries are kept, and the case's arena memfd travels with
 * a request as SCM_RIGHTS. Both ends are the same build of pecs, so the records are plain C structs.
 *
 * parent -> worker   pecs_wire_req, then (SUPPORTS, RUN) the problem: pecs_wire_problem, its params
 *                    (pecs_wire_param, REAL_LIST values appended as doubles), its tensors
 *                    (pecs_wire_tensor, data as an offset into the arena) and the arena's bodies
 *                    (offset, length pairs: every other page is a guard the worker protects too)
 * worker -> parent   HELLO: pecs_wire_hello; every other op: pecs_wire_reply. Exactly that size, the
 *                    request's op and nonce echoed; anything else is a broken worker. One exception: a
 *                    worker that faults (SIGSEGV, SIGBUS) inside a call first sends a pecs_wire_reply with
 *                    op PECS_OP_FAULT, the request's nonce, the signal in outcome and the faulting address as
 *                    an offset into the arena (fault_offset, or -1 outside it), then dies of the signal. The
 *                    parent believes it only if the worker then dies: it is a diagnosis of a CRASHED call,
 *                    never a verdict.
 */
#ifndef PECS_WIRE_H
#define PECS_WIRE_H

#include <stdint.h>

#include "backends.h"

#define PECS_WIRE_MAGIC 0x70656373u /* "pecs" */
#define PECS_WIRE_MAX (1u << 20)   /* largest request */
#define PECS_WIRE_MAX_BODIES PECS_ARENA_MAX_BODIES

enum { PECS_OP_HELLO = 1, PECS_OP_PING, PECS_OP_SUPPORTS, PECS_OP_RUN, PECS_OP_FAULT };

typedef struct pecs_wire_req {
    uint32_t magic, op;
    uint64_t nonce;
    uint32_t len;            /* bytes that follow */
    uint32_t has_fd;
} pecs_wire_req;

typedef struct pecs_wire_problem {
    char encoding[64];
    int32_t form, dtype, n_params, n_tensors, in_place, n_threads, n_bodies, pad_;
    uint64_t arena_size, arena_used, page;
} pecs_wire_problem;

typedef struct pecs_wire_param {
    char name[48];
    char s[64];
    int32_t type, pad_;
    int64_t i, n;
    double r;
} pecs_wire_param;

typedef struct pecs_wire_tensor {
    char name[16];
    int32_t dtype, ndim;
    int64_t shape[PECS_MAX_DIMS], stride[PECS_MAX_DIMS];
    uint64_t offset;
} pecs_wire_tensor;

typedef struct pecs_wire_reply {
    uint32_t magic, op;
    uint64_t nonce;
    int32_t outcome;         /* SUPPORTS: 1 yes / 0 no; RUN: pecs_status; PING: 0 */
    int32_t fenv_changed;    /* nonzero: the call left the FP environment changed (reason says how) */
    double seconds;          /* RUN: run()'s time in the worker */
    int64_t fault_offset;    /* FAULT: the address as a byte offset into the arena (-1: outside it) */
    int32_t fault_access;    /* FAULT: 0 unknown, 1 read, 2 write (x86-64 page-fault error code) */
    int32_t stray;           /* RUN on a device backend: it wrote into the output's guard frame (reason) */
    double kernel_seconds;   /* RUN on a device backend: the device's kernel time (-1: none) */
    char reason[512];
} pecs_wire_reply;

typedef struct pecs_wire_hello {
    uint32_t magic, op;
    uint64_t nonce;
    int32_t status;          /* pecs_status of loading the backend */
    int32_t pad_;
    pecs_backend_ident id;
    char sandbox[128];       /* what confines the worker (worker.c) */
    char reason[1024];
} pecs_wire_hello;

/* The worker process: argv = {"pecs-worker", "--fd", N, backend name or path}. */
int pecs_worker_main(int argc, char **argv);

#endif
