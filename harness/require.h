/* harness/require.h — required cases (`pecs run --require`, and the certification profiles): a case a
 * requirement matches may not be SKIPPED. A backend's supports() may decline any case (SKIPPED is not a
 * failure), so without requirements a plugin that declines what it claims to implement still goes green;
 * a required case that is SKIPPED becomes FAILED with the reason "required by <what>: <the skip reason>".
 *
 * A requirement is one of
 *   a family    a kernel form of the registry: rotate, bias, embed, posmap, mask, scores (every encoding of
 *               that form, include/pecs/encodings.def);
 *   an encoding an encoding id (`pecs list encodings`), e.g. rope.yarn: the cases of that encoding;
 *   a regex     (in a file only) a POSIX extended regular expression matched against the canonical case
 *               string, as --filter is, e.g. '^alibi .* dtype=(f32|bf16) '.
 * `pecs_require_add(req, arg)` takes a family or an encoding id, else the path of a text file of
 * requirements: one per line, a family, an encoding id or else a regex; blank lines and lines whose first
 * non-blank character is '#' are ignored; leading and trailing blanks are trimmed. A file named like a
 * family or an encoding is given with a path (./rotate). An unknown family, an unreadable file, an empty
 * file or an invalid regex is PECS_INVALID with the file and line in `why`. */
#ifndef PECS_REQUIRE_H
#define PECS_REQUIRE_H

#include <jansson.h>
#include <stddef.h>

#include "pecs/status.h"

typedef struct pecs_require_item pecs_require_item;

typedef struct pecs_require {
    pecs_require_item *items;
    int n, cap;
    /* What was given, in order, for the results and the run identity: {"family": "rotate"},
     * {"encoding": "rope.yarn"}, {"file": "req.txt", "sha256": "..."} (NULL until something is added). */
    json_t *given;
} pecs_require;

/* Add a requirement given as a family, an encoding id or a file (above). */
pecs_status pecs_require_add(pecs_require *req, const char *arg, char *why, size_t why_len);
/* Add the requirements of a text file (above). */
pecs_status pecs_require_load(pecs_require *req, const char *path, char *why, size_t why_len);
/* Add one requirement line (family, encoding id or regex); `where` names it in messages and verdicts
 * (e.g. "req.txt:3"). */
pecs_status pecs_require_add_line(pecs_require *req, const char *line, const char *where, char *why, size_t why_len);

/* What requires this canonical case string ("--require rotate", "req.txt:3 '^alibi '"), or NULL if
 * nothing does. The text lives as long as `req`. */
const char *pecs_require_match(const pecs_require *req, const char *case_str);

/* A SKIPPED result of a required case becomes FAILED: `reason` (the skip reason, `reason_len` bytes) is
 * rewritten "required by <what>: <skip reason>". Returns 1 if it changed the verdict. `verdict` is a
 * pecs_verdict (verdict.h). */
int pecs_require_apply(const pecs_require *req, const char *case_str, int *verdict, char *reason, size_t reason_len);

void pecs_require_free(pecs_require *req);

#endif
