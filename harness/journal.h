/* harness/journal.h — the files `pecs run` keeps next to its results while it runs: a lock.
 *
 * Lock (<results>.lock): created in the results' directory before anything else is done (so a directory
 * that is missing or not writable is reported before any case runs), write-locked with fcntl(F_SETLK) for
 * the whole run, and removed at the end. A second run with the same --out finds it locked and refuses at
 * once, naming the pid that holds it, instead of racing for the results and the journal. The lock dies
 * with its process (kill -9 included); a stale file is simply locked again.
 */
#ifndef PECS_JOURNAL_H
#define PECS_JOURNAL_H

#include <stddef.h>

#include "pecs/status.h"

typedef struct pecs_out_lock {
    int fd; /* -1: not held */
    char path[4096];
} pecs_out_lock;

/* Take <out>.lock. PECS_IO with why: the directory is missing or not writable ("cannot write the results
 * X: cannot create X.lock: ..."), `out` is a directory, or another process holds the lock ("another pecs
 * run (pid N) is writing X"). */
pecs_status pecs_out_lock_take(pecs_out_lock *l, const char *out, char *why, size_t why_len);
/* Remove the lock file and release the lock (nothing if not held). */
void pecs_out_lock_release(pecs_out_lock *l);

#endif
