/* harness/journal.h — the files `pecs run` keeps next to its results while it runs: a lock and a journal.
 *
 * Lock (<results>.lock): created in the results' directory before anything else is done (so a directory
 * that is missing or not writable is reported before any case runs), write-locked with fcntl(F_SETLK) for
 * the whole run, and removed at the end. A second run with the same --out finds it locked and refuses at
 * once, naming the pid that holds it, instead of racing for the results and the journal. The lock dies
 * with its process (kill -9 included); a stale file is simply locked again.
 *
 * Journal (<results>.journal): line 1 is the run's header
 *     {"pecs_journal": 1, "identity": {...}}                 (identity.h: files, backends, options, cases)
 * and each later line is one finished case, the object of the results' cases[] (results.h), flushed as it
 * is written. `--resume` takes a journal only if
 *   - its header's identity equals this run's (else: exit 2, one line per difference), and
 *   - every record is valid: a JSON object with exactly the fields of a result, a known verdict, the
 *     canonical string of one of this run's selected cases, one of this run's backends (name and source)
 *     and the reproducer those give, and no (backend, case) twice (else: exit 2 naming the line).
 * Only a last line without its newline is forgiven: a write cut short by kill -9. It is dropped (and cut
 * off the file) and its case runs again.
 *
 * Honest limit: this catches mistakes and stale files (another suite version, another plugin build, other
 * options, a hand-edited verdict that breaks a field), not an attacker: whoever can write the journal can
 * write a consistent one. A certified result must therefore come from a run that was not resumed.
 */
#ifndef PECS_JOURNAL_H
#define PECS_JOURNAL_H

#include <jansson.h>
#include <stdio.h>

#include "backends.h"
#include "pecs/status.h"

#define PECS_JOURNAL_VERSION 1

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

/* What a resumed journal's records must belong to. */
typedef struct pecs_journal_scope {
    char *const *cases; /* the run's selected cases, canonical strings */
    int n_cases;
    const pecs_loaded_backend *backends;
    int n_backends;
} pecs_journal_scope;

/* Open the journal at `path` for a run with this identity.
 *   resume 0: a new journal (an old one is replaced); *records is an empty array.
 *   resume 1: an existing journal is validated (above); its records go to *records and new ones are appended.
 *             No journal (or one cut short before its header was complete) starts a new one.
 * *f is the stream to append records to (NULL if the journal cannot be written: a warning, the run can go
 * on without one). note gets one line worth telling the user, or "".
 * Returns PECS_OK (also when only the journal could not be written: *f NULL, why says why); PECS_INVALID
 * (why: the header differs, or a record is invalid: nothing was touched); PECS_IO (the journal exists but
 * cannot be read); PECS_NOMEM. */
pecs_status pecs_journal_open(const char *path, json_t *identity, int resume, const pecs_journal_scope *scope,
                              json_t **records, FILE **f, char *note, size_t note_len, char *why, size_t why_len);

/* 1 if `cases` holds a result of this backend (its token, pecs_backend_token) for this canonical case. */
int pecs_journal_has(json_t *cases, const char *backend_token, const char *case_str);

#endif
