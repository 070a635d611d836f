/* tests/testutil.h — paths of the things the Makefile built (exported by `make test`). */
#ifndef PECS_TESTUTIL_H
#define PECS_TESTUTIL_H

#include <criterion/criterion.h>
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

/* A scratch directory for a test suite (make it in the suite's .init, remove it in .fini) and paths in it. */
static inline char *tu_tmp_dir(void)
{
    static char dir[64];
    return dir;
}

static inline void tu_tmp_make(const char *tag)
{
    snprintf(tu_tmp_dir(), 64, "/tmp/pecs-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(tu_tmp_dir()));
}

static inline void tu_tmp_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_tmp_dir());
    cr_assert_eq(system(cmd), 0);
}

/* tu_tmp_dir()/name; four buffers in turn, so a call may take several. */
static inline const char *tu_tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tu_tmp_dir(), name);
    return buf[k];
}

/* Run `pecs ARGS` (a shell command line) from the source root, with stdout+stderr into
 * tu_tmp_dir()/out.txt, read into *output (caller frees); returns the exit status (-1: killed). */
static inline int tu_pecs(const char *args, char **output)
{
    char cmd[4096], out[256];
    snprintf(out, sizeof out, "%s/out.txt", tu_tmp_dir());
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > '%s' 2>&1", tu_env("PECS_SRC", "."), tu_env("PECS_BIN", "build/pecs"),
             args, out);
    int st = system(cmd);
    FILE *f = fopen(out, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *output = calloc((size_t)len + 1, 1);
    cr_assert_not_null(*output);
    cr_assert_eq(fread(*output, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return st != -1 && (st & 0x7f) == 0 ? (st >> 8) & 0xff : -1;
}

static inline const char *tu_attack(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/libattack-%s.so", tu_env("PECS_ATTACK_DIR", "build/attack-plugins"), name);
    return buf;
}

#endif
