/* tests/testutil.h — paths of the things the Makefile built (exported by `make test`). */
#ifndef PECS_TESTUTIL_H
#define PECS_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

static inline const char *tu_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* PECS_SRC/<rel> */
static inline const char *tu_src(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", tu_env("PECS_SRC", "."), rel);
    return buf;
}

static inline const char *tu_fixture(char *buf, size_t n, const char *kind)
{
    snprintf(buf, n, "%s/libfixture-%s.so", tu_env("PECS_FIXTURE_DIR", "build/test-plugins"), kind);
    return buf;
}

static inline const char *tu_plugin(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/libpecs-%s.so", tu_env("PECS_PLUGIN_DIR", "build/plugins"), name);
    return buf;
}

#endif
