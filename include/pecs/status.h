/* pecs/status.h — the one error-status enum of pecs.
 *
 * Every fallible function in the harness, the reference and the backend ABI returns a pecs_status.
 * Codes and their messages come from the single list below (X-macro), so a message can never drift
 * from its code. Header-only: plugins use it without linking against the host.
 *
 * Case verdicts (PASSED, FAILED, ...) are a different thing: they are results, not errors, and live in
 * harness/verdict.h.
 */
#ifndef PECS_STATUS_H
#define PECS_STATUS_H

#define PECS_STATUS_LIST(X)                                                         \
    X(OK,          "ok")                                                            \
    X(NOMEM,       "out of memory")                                                 \
    X(INVALID,     "invalid argument")                                              \
    X(IO,          "input/output error")                                            \
    X(PARSE,       "parse error")                                                   \
    X(UNSUPPORTED, "not supported")                                                 \
    X(ABI,         "ABI version mismatch")                                          \
    X(BACKEND,     "backend failure")                                               \
    X(LIMIT,       "resource limit exceeded")                                       \
    X(NOT_FOUND,   "not found")                                                     \
    X(INTERNAL,    "internal error")

typedef enum pecs_status {
#define PECS_X_(name, msg) PECS_##name,
    PECS_STATUS_LIST(PECS_X_)
#undef PECS_X_
    PECS_STATUS_COUNT_
} pecs_status;

static inline const char *pecs_status_str(pecs_status s)
{
    switch (s) {
#define PECS_X_(name, msg) case PECS_##name: return msg;
        PECS_STATUS_LIST(PECS_X_)
#undef PECS_X_
    default: return "unknown status";
    }
}

#endif
