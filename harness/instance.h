/* harness/instance.h — a case made concrete: guarded buffers, generated inputs and positions, the
 * pecs_problem a backend receives, and the double-precision twin the reference receives.
 *
 * Guarded buffers: every tensor lives in its own page-aligned body of the instance's arena (arena.h),
 * between two PROT_NONE guard pages, laid out as
 *     [ canary ... | span of the strided view | canary ... ]
 * start-aligned (the span starts 1 KiB into the body, 64-byte aligned, as framework allocators align
 * tensors) or end-aligned (the span's last byte touches the trailing guard page, so a read past the end
 * faults too); there is at least 1 KiB of canary on each side (before only, when end-aligned), so a
 * stray write that close is a FAILED verdict with its offset even in process, and one farther off
 * faults on a guard page. The body is filled with the canary byte 0xA5 before the logical elements are written
 * (inputs) or set to NaN (outputs, so an element the kernel forgets to write cannot pass). After each
 * call every byte of the body that is not a logical element — the slack on both sides and the gaps of a
 * padded (strided) view — must still be the canary; a stray write fails the case with its byte offset.
 *
 * What the backend can touch is never trusted afterwards: the problem it gets is a copy (backends.c),
 * inputs are snapshotted into private memory after generation (a kernel that writes into its inputs
 * fails the case; the reference reads the snapshot, never the shared buffer), and the output is copied
 * into private memory right after the call (pecs_instance_capture) before anything is judged, so a
 * worker thread that keeps writing after it replied changes nothing.
 *
 * Views: layout thd stores x/out as [T][H][D]; htd as [H][T][D] (the view's shape stays [T,H,D]);
 * view=strided pads every innermost row by 3 elements (odd on purpose: misaligned rows);
 * view=inplace makes "out" the same buffer as "x".
 *
 * Forms: rotate/embed get x, pos [P, T] (P = registry rows) and out; bias/mask get qpos, kpos and
 * out [H, Lq, Lk] (H = 1 for masks); scores get q [Lq, H, D], k [Lk, H, D], qpos, kpos and out. An
 * encoding with learned data (registry `weights`) also gets "w", drawn from its own stream so both
 * sides of an invariance check and every shift see the same table.
 */
#ifndef PECS_INSTANCE_H
#define PECS_INSTANCE_H

#include "arena.h"
#include "case.h"

#define PECS_SLACK_BYTES 1024 /* canary at least this far before and after a span (but end-aligned: after) */
#define PECS_CANARY 0xA5
#define PECS_ROW_PAD 3

typedef struct pecs_buf {
    unsigned char *raw;   /* the body in the arena: [canary | span | canary] */
    size_t raw_len;       /* body bytes (whole pages) */
    size_t lead;          /* t.data = raw + lead */
    size_t span;          /* bytes from the first to one past the last element */
    pecs_tensor t;
    unsigned char *snap;  /* inputs: a private copy of raw; the kernel must leave every byte as it was */
    unsigned char *priv;  /* the output: a private copy of raw taken after the call, judged instead of raw */
    unsigned char *image0;/* the output: raw as reset (NaN elements, canary elsewhere): the poison */
    unsigned char *checked; /* the output: priv of the call that passed the checks (timed calls must match) */
    int generated;        /* activations drawn from `stream` (x, q, k, w) */
    double *given;        /* pecs_instance_give: the given values (logical row-major), read by the reference */
    double max_given;     /* given positions: their largest magnitude */
    uint64_t stream;
} pecs_buf;

/* pecs_instance_create_ex flags */
#define PECS_INST_SHARED 1      /* tensors in a memfd arena a worker process can map */
#define PECS_INST_END_ALIGNED 2 /* spans end against the trailing guard page (catches reads past the end) */

typedef struct pecs_instance {
    const pecs_case *c;
    pecs_arena arena;
    size_t need;              /* sizing pass: body bytes and buffers the arena must hold */
    int n_bufs, flags;
    pecs_buf x, pos, out, qpos, kpos, q, k, w;
    pecs_tensor tensors[7];
    pecs_param params[PECS_CASE_MAX_PARAMS]; /* the case's, with role=key on the k side of invariance */
    pecs_problem problem;     /* what the backend gets */
    int64_t n_out;            /* logical output elements */
    double max_abs_pos;       /* largest |position| in this instance (compat tolerance) */
    uint64_t stream;          /* generator stream of x */
} pecs_instance;

/* Build an instance of case c with every position shifted by `shift` and activations drawn from
 * `stream` (PECS_STREAM_X for q/x, PECS_STREAM_K for k in invariance checks; the k side of an encoding
 * with a `role` parameter runs with role=key). */
pecs_status pecs_instance_create(pecs_instance *in, const pecs_case *c, int64_t shift, uint64_t stream, char *why,
                                 size_t why_len);
pecs_status pecs_instance_create_ex(pecs_instance *in, const pecs_case *c, int64_t shift, uint64_t stream, int flags,
                                    char *why, size_t why_len);
void pecs_instance_free(pecs_instance *in);

/* Reset the output to NaN (and, in place, the input to its generated values) before a repeated run. */
void pecs_instance_reset(pecs_instance *in);

/* The harness's problem with its position tensors on the private snapshots (what the reference and the
 * level's model read; the problem a backend gets is a copy, and shared memory is never trusted). */
void pecs_instance_trusted(const pecs_instance *in, pecs_problem *p, pecs_tensor t[8]);

/* Run the reference on the same rounded inputs; expected[] gets the exact (double) output in logical
 * order ([T][H][D], [H][Lq][Lk] or [T][D]). */
pecs_status pecs_instance_reference(const pecs_instance *in, double *expected, char *why, size_t why_len);
/* The same, and (skip != NULL, n_out bytes, zeroed by the caller) the elements the reference cannot decide for a
 * kernel computing in float32 and storing in the case dtype (pecs_ref_undecided: tra's threshold on q.k), counted in
 * *n_skip, with the range each may take in lo[] and hi[] (n_out doubles each, or both NULL). */
pecs_status pecs_instance_reference_ex(const pecs_instance *in, double *expected, unsigned char *skip, double *lo,
                                       double *hi, int64_t *n_skip, char *why, size_t why_len);

/* Right after a backend call: copy the output's body into private memory. Everything below judges that
 * copy. 0 on allocation failure. */
int pecs_instance_capture(pecs_instance *in);

/* Where logical output element i is, for a reason a person reads: "token 3 (position 3003), head 1, dim 17"
 * (rotate), "token 3 (position 3003), dim 17" (embed), "head 1, query 2 (position 3002), key 5 (position
 * 5)" (bias, mask, scores); the first position row only for multi-axis positions, "(positions a, b, c)". */
void pecs_instance_locate(const pecs_instance *in, int64_t i, char *buf, size_t n);

/* The backend's output (the captured copy) in logical order, widened exactly to double. */
void pecs_instance_actual(const pecs_instance *in, double *actual);

/* 1 if every input is as generated and every non-element byte of the captured output is still the
 * canary; else 0 with the place. */
int pecs_instance_guards_ok(const pecs_instance *in, char *why, size_t why_len);

/* Timed calls: remember the captured output of a call that passed every check; before each timed call
 * put the output (and, in place, the input) back as reset; after it, capture and compare the bytes with
 * the checked call's (1 same, else 0 with the first differing element). */
int pecs_instance_keep_checked(pecs_instance *in);
void pecs_instance_poison(pecs_instance *in);
int pecs_instance_same_as_checked(pecs_instance *in, char *why, size_t why_len);

/* `pecs eval --check`: a vendor's own tensors judged as a run judges a backend's. On a freshly created
 * instance, replace input `name` (x, pos, qpos, kpos, q, k, w) by the values of src (same logical shape, any
 * dtype whose values the buffer's dtype holds exactly, else PECS_INVALID naming the first element that does
 * not fit); the reference then reads them instead of the generated ones, and max_abs_pos follows given
 * positions. pecs_instance_give_output puts a given output where a backend's would be and captures it. */
pecs_status pecs_instance_give(pecs_instance *in, const char *name, const pecs_tensor *src, char *why, size_t why_len);
pecs_status pecs_instance_give_output(pecs_instance *in, const pecs_tensor *src, char *why, size_t why_len);

/* `pecs run --dump DIR`: write the case's tensors into directory dir (created if missing) as .npy, each in its
 * own dtype and logical row-major order: the inputs as the backend got them (x, pos, qpos, kpos, q, k, w), the
 * captured output as got.npy and the reference rounded once to the output dtype as want.npy. A dump reproduces
 * the verdict with `pecs eval ENCODING --in ... --check out=got.npy` (the command is in dir/eval.txt). */
pecs_status pecs_instance_dump(const pecs_instance *in, const char *dir, char *why, size_t why_len);

/* A fault the worker reported at byte offset `arena_off` of this instance's arena (backends.h pecs_call), in
 * the words of a stray write: "stray write to out at byte offset 480 (after the tensor, in the guard page)".
 * Returns 0 (buf untouched) when the offset lies in no tensor's body or guard pages. */
int pecs_instance_fault_where(const pecs_instance *in, int64_t arena_off, int access, char *buf, size_t n);

#endif
