/* harness/instance.h — a case made concrete: guarded buffers, generated inputs and positions, the
 * pecs_problem a backend receives, and the double-precision twin the reference receives.
 *
 * Guarded buffers: every tensor a backend may write lives in an allocation laid out as
 *     [ guard 64 B | span of the strided view | guard 64 B ]   (or a PROT_NONE page: see guard pages)
 * filled entirely with the canary byte 0xA5 before the logical elements are written (inputs) or set
 * to NaN (outputs, so an element the kernel forgets to write cannot pass). After the run every byte
 * that is not a logical element — both guards and the gaps of a padded (strided) view — must still be
 * the canary; a stray write fails the case with its byte offset.
 *
 * Inputs (x when not in place, positions) are snapshotted after generation: a kernel that writes into
 * its inputs fails the case as well.
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

#include "case.h"

#define PECS_GUARD_BYTES 64
#define PECS_CANARY 0xA5
#define PECS_ROW_PAD 3

typedef struct pecs_buf {
    unsigned char *raw;   /* [canary PECS_GUARD_BYTES | span | canary `tail` bytes] */
    size_t raw_len;
    size_t tail;          /* trailing canary bytes: PECS_GUARD_BYTES, or 0 when a guard page follows */
    void *map;            /* guard-page mapping (NULL: malloc'd) */
    size_t map_len;
    pecs_tensor t;        /* t.data = raw + PECS_GUARD_BYTES */
    unsigned char *snap;  /* inputs: a copy of raw; the kernel must leave every byte as it was */
    int generated;        /* activations drawn from `stream` (x, q, k, w) */
    uint64_t stream;
} pecs_buf;

typedef struct pecs_instance {
    const pecs_case *c;
    pecs_buf x, pos, out, qpos, kpos, q, k, w;
    pecs_tensor tensors[7];
    pecs_param params[PECS_CASE_MAX_PARAMS]; /* the case's, with role=key on the k side of invariance */
    pecs_problem problem;     /* what the backend gets */
    int64_t n_out;            /* logical output elements */
    double max_abs_pos;       /* largest |position| in this instance (compat tolerance) */
    uint64_t stream;          /* generator stream of x */
} pecs_instance;

/* Guard pages (used in isolated case processes, where a fault is a verdict, not the end of the run):
 * every buffer is mapped between two PROT_NONE pages with its last byte against the trailing one, so a
 * read or write past the end faults at the instruction; the canary bytes before the data still catch
 * small underflows the page granularity misses. */
void pecs_instance_guard_pages(int on);

/* Build an instance of case c with every position shifted by `shift` and activations drawn from
 * `stream` (PECS_STREAM_X for q/x, PECS_STREAM_K for k in invariance checks; the k side of an encoding
 * with a `role` parameter runs with role=key). */
pecs_status pecs_instance_create(pecs_instance *in, const pecs_case *c, int64_t shift, uint64_t stream, char *why,
                                 size_t why_len);
void pecs_instance_free(pecs_instance *in);

/* Reset the output to NaN (and, in place, the input to its generated values) before a repeated run. */
void pecs_instance_reset(pecs_instance *in);

/* Run the reference on the same rounded inputs; expected[] gets the exact (double) output in logical
 * order ([T][H][D], [H][Lq][Lk] or [T][D]). */
pecs_status pecs_instance_reference(const pecs_instance *in, double *expected, char *why, size_t why_len);

/* The backend's output in logical order, widened exactly to double. */
void pecs_instance_actual(const pecs_instance *in, double *actual);

/* 1 if every non-element byte of the written buffers is still the canary; else 0 with the place. */
int pecs_instance_guards_ok(const pecs_instance *in, char *why, size_t why_len);

#endif
