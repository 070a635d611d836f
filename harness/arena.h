/* harness/arena.h — the memory a case's tensors live in, shareable with a backend's worker process.
 *
 * An arena is one mapping, sparse until touched: a memfd mapped MAP_SHARED when the backend runs in a
 * worker (the worker maps the same file, so tensors cross the process boundary without a copy), or
 * anonymous private memory in process. Buffers are carved out page by page with a PROT_NONE guard page
 * on both sides of every buffer, in every mode:
 *
 *     | guard | body of buffer 1 ............... | guard | body of buffer 2 ... | guard |
 *             ^ page aligned                      ^ data ends here when end-aligned
 *
 * Inside a body, everything that is not a logical element is canary and is checked after each call
 * (instance.c), so a stray write anywhere between the two guard pages is seen, and one farther off
 * faults at the instruction. The guard pages are mprotect()ed in the parent's mapping and again by the
 * worker in its own (pecs_arena_protect): both sides enforce them.
 */
#ifndef PECS_ARENA_H
#define PECS_ARENA_H

#include <stddef.h>

#include "pecs/status.h"

#define PECS_ARENA_MAX_BODIES 16

typedef struct pecs_arena {
    unsigned char *base;
    size_t cap;        /* bytes mapped (the file's size when shared) */
    size_t used;       /* bump pointer, page aligned; the first page is a guard */
    size_t page;
    int fd;            /* memfd when shared, else -1 */
    size_t bodies[2 * PECS_ARENA_MAX_BODIES]; /* (offset, length) of each body: the rest are guard pages */
    int n_bodies;
} pecs_arena;

/* An arena able to hold `bytes` of buffer bodies in `n_bufs` buffers (guards added here). */
pecs_status pecs_arena_create(pecs_arena *a, size_t bytes, int n_bufs, int shared);
void pecs_arena_free(pecs_arena *a);
/* A page-aligned body of at least `bytes`, followed by a guard page; NULL when the arena is full. */
unsigned char *pecs_arena_body(pecs_arena *a, size_t bytes, size_t *body_len);
/* mprotect every guard page of [base, base+used) in a mapping of this arena's layout (used by the worker
 * on its own mapping: guard pages are the pages not covered by any body). `bodies` lists each body as
 * (offset, length) pairs. */
int pecs_arena_protect(unsigned char *base, size_t used, size_t page, const size_t *bodies, int n_bodies);

#endif
