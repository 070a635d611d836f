/* harness/identity.h — what a run's verdicts depend on, as one flat JSON object of strings
 *     {"pecs": "0.1.0 324475a", "suite suites/smoke.yaml": "sha256 7d1d...", "backend scalar": "built-in ...",
 *      "--dtype": "f32,bf16", ..., "cases": "996 selected, sha256 ..."}
 * and the differences between two of them, in words. The journal's first line carries the identity of the
 * run that wrote it, and `pecs run --resume` refuses a journal whose identity differs (journal.h).
 *
 * It defends against mistakes and stale files (an edited suite, another backend build, other options), not
 * against an attacker: anyone who can write the journal can write a consistent one.
 */
#ifndef PECS_IDENTITY_H
#define PECS_IDENTITY_H

#include <jansson.h>
#include <stddef.h>

#include "backends.h"
#include "pecs/status.h"
#include "util.h"

/* id[what] = the formatted string (replacing an earlier value). */
void pecs_ident_set(json_t *id, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* id[what] = "sha256 <64 hex digits>" of the file's bytes; PECS_IO (why says which file) if unreadable. */
pecs_status pecs_ident_file(json_t *id, const char *what, const char *path, char *why, size_t why_len);

/* A backend's identity. Plugin: "sha256 <hex>" of the .so file that was loaded (found from the descriptor's
 * address, else the path given). Built-in: "built-in <name> of pecs <version> <commit>" (its code is the
 * binary's). PECS_IO if a plugin's file cannot be read. */
pecs_status pecs_backend_identity(const pecs_loaded_backend *lb, char *buf, size_t n, char *why, size_t why_len);

/* One line per key whose value differs between `want` (e.g. the journal's) and `have` (this run's), keys of
 * either side, `have`'s order first:
 *     "  <key>: <want_name> has <value>, <have_name> has <value>\n"      (an absent key: "(none)")
 * appended to *out. Returns the number of differing keys. */
int pecs_ident_diff(json_t *want, json_t *have, const char *want_name, const char *have_name, pecs_sb *out);

#endif
