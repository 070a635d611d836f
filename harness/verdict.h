/* harness/verdict.h — case verdicts (results, not errors). One list; names and the exit-code rule
 * come from it. */
#ifndef PECS_VERDICT_H
#define PECS_VERDICT_H

#include <string.h>

/* X(name, counts as failure for the exit code and the "N failed" tally). BEYOND_LEVEL: the case's
 * positions are outside the range its level certifies (the level's own error allowance there would make
 * the check vacuous, docs/levels.md): not judged, not PASSED. */
#define PECS_VERDICT_LIST(X) \
    X(PASSED, 0)             \
    X(FAILED, 1)             \
    X(SKIPPED, 0)            \
    X(MISTRUSTED, 1)         \
    X(ERROR, 1)              \
    X(CRASHED, 1)            \
    X(TIMEOUT, 1)            \
    X(BEYOND_LEVEL, 0)       \
    X(NONDETERMINISTIC, 1)

typedef enum pecs_verdict {
#define PECS_X_(name, fails) PECS_V_##name,
    PECS_VERDICT_LIST(PECS_X_)
#undef PECS_X_
    PECS_V_COUNT
} pecs_verdict;

static inline const char *pecs_verdict_name(pecs_verdict v)
{
    switch (v) {
#define PECS_X_(name, fails) case PECS_V_##name: return #name;
        PECS_VERDICT_LIST(PECS_X_)
#undef PECS_X_
    default: return "?";
    }
}

static inline int pecs_verdict_fails(pecs_verdict v)
{
    switch (v) {
#define PECS_X_(name, fails) case PECS_V_##name: return fails;
        PECS_VERDICT_LIST(PECS_X_)
#undef PECS_X_
    default: return 1;
    }
}

/* The verdict a results file names `name` (its "status"); PECS_V_COUNT for anything else. */
static inline pecs_verdict pecs_verdict_from_name(const char *name)
{
    for (int v = 0; name && v < PECS_V_COUNT; v++)
        if (!strcmp(name, pecs_verdict_name((pecs_verdict)v)))
            return (pecs_verdict)v;
    return PECS_V_COUNT;
}

#endif
