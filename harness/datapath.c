/* harness/datapath.c — the data search path (datapath.h): PECS_DATA_PATH, the source tree, the install prefix. */
#include "datapath.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* The PREFIX pecs was compiled with (the Makefile passes it for this file only). */
#ifndef PECS_PREFIX
#define PECS_PREFIX "/usr/local"
#endif

const char *pecs_install_prefix(void) { return PECS_PREFIX; }

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* `path` as a root: its realpath when it exists ("" when that is the current directory), else as given. */
static char *root_form(const char *path)
{
    char real[PATH_MAX], cwd[PATH_MAX];
    if (!realpath(path, real))
        return pecs_strdup(path);
    if (getcwd(cwd, sizeof cwd) && !strcmp(cwd, real))
        return pecs_strdup("");
    return pecs_strdup(real);
}

/* Append a root (dropped if the same dir and libdir are already there, or the list is full). */
static pecs_status add_root(pecs_datapath *dp, const char *dir, const char *libdir, const char *origin)
{
    pecs_status st = PECS_OK;
    char *d = root_form(dir), *l = root_form(libdir);
    if (!d || !l) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    for (int i = 0; i < dp->n; i++)
        if (!strcmp(dp->roots[i].dir, d) && !strcmp(dp->roots[i].libdir, l))
            goto cleanup;
    if (dp->n == PECS_DATA_MAX_ROOTS)
        goto cleanup;
    dp->roots[dp->n].dir = d;
    dp->roots[dp->n].libdir = l;
    dp->roots[dp->n].origin = origin;
    dp->n++;
    d = l = NULL;
cleanup:
    free(d);
    free(l);
    return st;
}

/* dir without its last component ("/a/b" -> "/a", "/a" -> "/"). */
static void parent_of(const char *dir, char *buf, size_t n)
{
    const char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        snprintf(buf, n, "/");
    else
        snprintf(buf, n, "%.*s", (int)(slash - dir), dir);
}

const char *pecs_exe_dir(char *buf, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    buf[0] = '\0';
    if (len > 0) {
        exe[len] = '\0';
        parent_of(exe, buf, n);
    }
    return buf;
}

pecs_status pecs_datapath_init(pecs_datapath *dp, const char *exe, const char *env, const char *prefix)
{
    pecs_status st = PECS_OK;
    char bindir[PATH_MAX] = "", up[PATH_MAX], up2[PATH_MAX], a[PATH_MAX + 32], b[PATH_MAX + 32];
    char *list = NULL;
    memset(dp, 0, sizeof *dp);
    if (!env)
        env = getenv("PECS_DATA_PATH");
    if (!prefix)
        prefix = PECS_PREFIX;
    /* 1. PECS_DATA_PATH */
    if (env && *env) {
        if (!(list = pecs_strdup(env))) {
            st = PECS_NOMEM;
            goto cleanup;
        }
        char *save = NULL;
        for (char *tok = strtok_r(list, ":", &save); tok && st == PECS_OK; tok = strtok_r(NULL, ":", &save))
            st = add_root(dp, tok, tok, "PECS_DATA_PATH");
        if (st != PECS_OK)
            goto cleanup;
    }
    /* The binary's directory. */
    if (exe) {
        char real[PATH_MAX];
        parent_of(realpath(exe, real) ? real : exe, bindir, sizeof bindir);
    } else {
        pecs_exe_dir(bindir, sizeof bindir);
    }
    if (bindir[0]) {
        parent_of(bindir, up, sizeof up);
        parent_of(up, up2, sizeof up2);
        /* 2. the source tree: build/pecs or build/<variant>/pecs */
        const char *cands[] = {up, up2};
        for (int k = 0; k < 2; k++) {
            snprintf(a, sizeof a, "%s/suites", cands[k]);
            snprintf(b, sizeof b, "%s/include/pecs/encodings.def", cands[k]);
            if (is_dir(a) && is_file(b)) {
                if ((st = add_root(dp, cands[k], bindir, "source tree")) != PECS_OK)
                    goto cleanup;
                break;
            }
        }
        /* 3. the install prefix the binary is in: <prefix>/bin/pecs */
        snprintf(a, sizeof a, "%s%sshare/pecs", up, strcmp(up, "/") ? "/" : "");
        snprintf(b, sizeof b, "%s%slib/pecs", up, strcmp(up, "/") ? "/" : "");
        if ((st = add_root(dp, a, b, "install prefix")) != PECS_OK)
            goto cleanup;
    }
    /* 4. the compiled-in prefix */
    snprintf(a, sizeof a, "%s/share/pecs", prefix);
    snprintf(b, sizeof b, "%s/lib/pecs", prefix);
    st = add_root(dp, a, b, "compiled-in prefix");
cleanup:
    free(list);
    if (st != PECS_OK)
        pecs_datapath_free(dp);
    return st;
}

void pecs_datapath_free(pecs_datapath *dp)
{
    for (int i = 0; i < dp->n; i++) {
        free(dp->roots[i].dir);
        free(dp->roots[i].libdir);
    }
    dp->n = 0;
}

/* <root>/<rel>, or rel alone for the current directory; 0 if it does not fit. */
static int join(char *buf, size_t n, const char *root, const char *rel)
{
    int w = *root ? snprintf(buf, n, "%s/%s", root, rel) : snprintf(buf, n, "%s", rel);
    return w > 0 && (size_t)w < n;
}

/* "looked in A (origin), B (origin), ..." for rel. */
static void looked_in(const pecs_datapath *dp, pecs_data_kind kind, const char *rel, pecs_sb *sb)
{
    char p[PATH_MAX + 64];
    pecs_sb_adds(sb, "looked in ");
    for (int i = 0; i < dp->n; i++) {
        const pecs_data_root *r = &dp->roots[i];
        if (!join(p, sizeof p, kind == PECS_DATA_LIB ? r->libdir : r->dir, rel))
            snprintf(p, sizeof p, "(a path too long)");
        pecs_sb_addf(sb, "%s%s (%s)", i ? ", " : "", p, r->origin);
    }
    int env = 0;
    for (int i = 0; i < dp->n; i++)
        env |= !strcmp(dp->roots[i].origin, "PECS_DATA_PATH");
    if (!env)
        pecs_sb_adds(sb, "; PECS_DATA_PATH is not set");
}

pecs_status pecs_datapath_find(const pecs_datapath *dp, pecs_data_kind kind, const char *rel, char *buf, size_t n,
                               char *why, size_t why_len)
{
    pecs_status st = PECS_NOT_FOUND;
    pecs_sb sb = {0};
    for (int i = 0; i < dp->n; i++) {
        const pecs_data_root *r = &dp->roots[i];
        if (!join(buf, n, kind == PECS_DATA_LIB ? r->libdir : r->dir, rel)) {
            snprintf(why, why_len, "%s: the path in %s is too long", rel, kind == PECS_DATA_LIB ? r->libdir : r->dir);
            st = PECS_LIMIT;
            goto cleanup;
        }
        if (access(buf, F_OK) == 0) {
            st = PECS_OK;
            goto cleanup;
        }
    }
    buf[0] = '\0';
    pecs_sb_addf(&sb, "no %s in the data search path: ", rel);
    looked_in(dp, kind, rel, &sb);
    snprintf(why, why_len, "%s", sb.oom ? "not found in the data search path (out of memory listing it)" : pecs_sb_str(&sb));
cleanup:
    pecs_sb_free(&sb);
    return st;
}

pecs_status pecs_data_find(pecs_data_kind kind, const char *rel, char *buf, size_t n, char *why, size_t why_len)
{
    pecs_datapath dp;
    pecs_status st = pecs_datapath_init(&dp, NULL, NULL, NULL);
    if (st != PECS_OK) {
        snprintf(why, why_len, "the data search path: %s", pecs_status_str(st));
        return st;
    }
    st = pecs_datapath_find(&dp, kind, rel, buf, n, why, why_len);
    pecs_datapath_free(&dp);
    return st;
}

pecs_status pecs_datapath_suite(const pecs_datapath *dp, const char *arg, char *buf, size_t n, char *why, size_t why_len)
{
    char rel[NAME_MAX + 16];
    const char *name = arg;
    if (!strncmp(name, "suites/", 7))
        name += 7;
    size_t l = strlen(name);
    if (l > 5 && !strcmp(name + l - 5, ".yaml"))
        l -= 5;
    /* A file that exists (not a directory of that name), or a path into another directory: the loader opens
     * it (and says if it cannot). */
    struct stat fst;
    if ((stat(arg, &fst) == 0 && !S_ISDIR(fst.st_mode)) || l == 0 || l > NAME_MAX || memchr(name, '/', l) || name[0] == '.') {
        int w = snprintf(buf, n, "%s", arg);
        if (w < 0 || (size_t)w >= n) {
            snprintf(why, why_len, "suite '%.64s...': the path is too long", arg);
            return PECS_LIMIT;
        }
        return PECS_OK;
    }
    snprintf(rel, sizeof rel, "suites/%.*s.yaml", (int)l, name);
    pecs_status st = pecs_datapath_find(dp, PECS_DATA_SHARE, rel, buf, n, why, why_len);
    if (st == PECS_NOT_FOUND) {
        pecs_sb sb = {0};
        pecs_sb_addf(&sb, "suite '%s': no such file, and no %s in the data search path: ", arg, rel);
        looked_in(dp, PECS_DATA_SHARE, rel, &sb);
        pecs_sb_adds(&sb, " (give the suite file's path, or a directory holding suites/ in PECS_DATA_PATH)");
        snprintf(why, why_len, "%s", sb.oom ? "suite not found (out of memory listing where)" : pecs_sb_str(&sb));
        pecs_sb_free(&sb);
    }
    return st;
}

pecs_status pecs_data_suite(const char *arg, char *buf, size_t n, char *why, size_t why_len)
{
    pecs_datapath dp;
    pecs_status st = pecs_datapath_init(&dp, NULL, NULL, NULL);
    if (st != PECS_OK) {
        snprintf(why, why_len, "the data search path: %s", pecs_status_str(st));
        return st;
    }
    st = pecs_datapath_suite(&dp, arg, buf, n, why, why_len);
    pecs_datapath_free(&dp);
    return st;
}
