/* harness/arena.c */
#define _GNU_SOURCE /* memfd_create, MAP_NORESERVE */
#include "arena.h"
#include "util.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

pecs_status pecs_arena_create(pecs_arena *a, size_t bytes, int n_bufs, int shared)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->page = (size_t)sysconf(_SC_PAGESIZE);
    /* Each body rounds up to a page and is followed by a guard; the first page is a guard too. */
    a->cap = (bytes / a->page + 2 * (size_t)n_bufs + 2) * a->page;
    if (shared) {
        a->fd = memfd_create("pecs-case", MFD_CLOEXEC);
        if (a->fd < 0)
            return PECS_NOMEM;
        if (ftruncate(a->fd, (off_t)a->cap) != 0) {
            close(a->fd);
            a->fd = -1;
            return PECS_NOMEM;
        }
    }
    void *m = shared ? mmap(NULL, a->cap, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0)
                     : mmap(NULL, a->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        if (a->fd >= 0)
            close(a->fd);
        a->fd = -1;
        return PECS_NOMEM;
    }
    if (!shared)
        pecs_advise_huge(m, a->cap);
    a->base = m;
    a->used = a->page;
    if (mprotect(a->base, a->page, PROT_NONE) != 0) {
        pecs_arena_free(a);
        return PECS_NOMEM;
    }
    return PECS_OK;
}

void pecs_arena_free(pecs_arena *a)
{
    if (a->base)
        munmap(a->base, a->cap);
    if (a->fd >= 0)
        close(a->fd);
    memset(a, 0, sizeof *a);
    a->fd = -1;
}

unsigned char *pecs_arena_body(pecs_arena *a, size_t bytes, size_t *body_len)
{
    size_t body = (bytes + a->page - 1) / a->page * a->page;
    if (!a->base || body + a->page > a->cap - a->used || a->n_bodies == PECS_ARENA_MAX_BODIES)
        return NULL;
    unsigned char *p = a->base + a->used;
    if (mprotect(p + body, a->page, PROT_NONE) != 0)
        return NULL;
    a->bodies[2 * a->n_bodies] = a->used;
    a->bodies[2 * a->n_bodies + 1] = body;
    a->n_bodies++;
    a->used += body + a->page;
    *body_len = body;
    return p;
}

int pecs_arena_protect(unsigned char *base, size_t used, size_t page, const size_t *bodies, int n_bodies)
{
    size_t at = page; /* the first page is a guard: bodies start after it */
    if (mprotect(base, page, PROT_NONE) != 0)
        return 0;
    for (int i = 0; i <= n_bodies; i++) {
        size_t start = i < n_bodies ? bodies[2 * i] : used;
        if (start < at || start > used)
            return 0;
        if (start > at && mprotect(base + at, start - at, PROT_NONE) != 0)
            return 0;
        if (i < n_bodies)
            at = start + bodies[2 * i + 1];
    }
    return 1;
}
