/* tests/test_install.c — the installed pecs works alone (issue 12): `make install PREFIX=<scratch>` of the
 * built tree (nothing rebuilt), impls/vendor-example built against that install through pkg-config only, the
 * installed pecs run from a directory that is not the source tree with no PECS_* variable set (suite names,
 * tolerances, the worker and the mutants come from the prefix), and `make uninstall` leaving nothing of
 * pecs's behind and nothing else touched.
 *
 * The fixture (TestSuite .init) gives every test a fresh install: g_inst.prefix, g_inst.pecs (the installed
 * binary), g_inst.vendor_so (the vendor plugin built against it) and g_inst.work (the scratch working
 * directory); inst_pecs() runs the installed pecs there. Add tests of further installed commands beside these. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "testutil.h"
#include "util.h"

extern char **environ;

typedef struct inst_fixture {
    char dir[256];            /* scratch root: prefix/, vendor/, work/, *.log */
    char prefix[PATH_MAX];    /* make install PREFIX= */
    char pecs[PATH_MAX];      /* prefix/bin/pecs */
    char vendor_so[PATH_MAX]; /* vendor/libpecs-vendor-example.so */
    char work[PATH_MAX];      /* where the installed pecs runs: not the source tree */
    char src[PATH_MAX];       /* the source tree (make -C) */
    char build[PATH_MAX];     /* its build directory, as make's BUILD (relative to src when inside it) */
} inst_fixture;

static inst_fixture g_inst;

/* Run a shell command with stdout+stderr into g_inst.dir/<log>; the output in *out (caller frees; may be
 * NULL); returns the exit status, -1 if it did not exit. */
static int inst_sh(const char *cmd, const char *log, char **out)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", g_inst.dir, log);
    pecs_sb full = {0};
    pecs_sb_addf(&full, "( %s ) > '%s' 2>&1", cmd, path);
    cr_assert(!full.oom);
    int st = system(pecs_sb_str(&full));
    pecs_sb_free(&full);
    if (out) {
        size_t len;
        char why[256];
        cr_assert_eq(pecs_read_file(path, out, &len, why, sizeof why), PECS_OK, "%s", why);
    }
    return st != -1 && (st & 0x7f) == 0 ? (st >> 8) & 0xff : -1;
}

/* `env -u NAME ...` for every PECS_* variable of the environment (the tests' PECS_SRC, PECS_WORKER, ...), and
 * PECS_DATA_PATH / PECS_TOLERANCES if a user has them: the installed pecs must find everything alone. */
static void unset_pecs_vars(pecs_sb *cmd)
{
    pecs_sb_adds(cmd, "env -u PECS_DATA_PATH -u PECS_TOLERANCES -u PECS_WORKER");
    for (char **e = environ; *e; e++)
        if (!strncmp(*e, "PECS_", 5))
            pecs_sb_addf(cmd, " -u %.*s", (int)strcspn(*e, "="), *e);
}

/* The installed pecs with ARGS (a shell command line) in g_inst.work, no PECS_* variable set. */
static int inst_pecs(const char *args, char **out)
{
    pecs_sb cmd = {0};
    pecs_sb_addf(&cmd, "cd '%s' && ", g_inst.work);
    unset_pecs_vars(&cmd);
    pecs_sb_addf(&cmd, " '%s' %s", g_inst.pecs, args);
    cr_assert(!cmd.oom);
    int rc = inst_sh(pecs_sb_str(&cmd), "pecs.log", out);
    pecs_sb_free(&cmd);
    return rc;
}

static double mtime_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
    return (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec;
}

/* make -C SRC TARGET PREFIX=prefix BUILD=build, one at a time on this build tree (a lock beside it): two makes
 * regenerating build/version.c at once would race. The inherited MAKEFLAGS keep the build's own variables
 * (make sanitize's BUILD, OPT, SAN), so nothing is rebuilt: a make that relinked BUILD/pecs fails the test. */
static int inst_make(const char *target, char **out)
{
    char pecs_bin[2 * PATH_MAX + 16];
    snprintf(pecs_bin, sizeof pecs_bin, "%s/%s/pecs", g_inst.src, g_inst.build);
    if (g_inst.build[0] == '/')
        snprintf(pecs_bin, sizeof pecs_bin, "%s/pecs", g_inst.build);
    char lock[2 * PATH_MAX + 64], log[64];
    snprintf(lock, sizeof lock, "%s/%s/.install-test.lock", g_inst.src, g_inst.build);
    if (g_inst.build[0] == '/')
        snprintf(lock, sizeof lock, "%s/.install-test.lock", g_inst.build);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    cr_assert(fd >= 0, "%s: %s", lock, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (fcntl(fd, F_SETLKW, &fl) != 0)
        cr_assert_eq(errno, EINTR, "lock %s: %s", lock, strerror(errno));
    /* The commit the tree was built at (BUILD/version.c): an edit while the tests run must not make this make
     * regenerate version.c and relink pecs under the other tests' feet. */
    char vpath[2 * PATH_MAX + 16], commit[64] = "unknown", *vsrc = NULL, why[256];
    size_t vlen;
    snprintf(vpath, sizeof vpath, "%s/%s/version.c", g_inst.src, g_inst.build);
    if (g_inst.build[0] == '/')
        snprintf(vpath, sizeof vpath, "%s/version.c", g_inst.build);
    cr_assert_eq(pecs_read_file(vpath, &vsrc, &vlen, why, sizeof why), PECS_OK, "%s", why);
    const char *c = strstr(vsrc, "pecs_git_commit = \"");
    cr_assert_not_null(c, "%s", vsrc);
    c += strlen("pecs_git_commit = \"");
    snprintf(commit, sizeof commit, "%.*s", (int)strcspn(c, "\"'"), c);
    free(vsrc);
    pecs_sb cmd = {0};
    pecs_sb_addf(&cmd, "make --no-print-directory -C '%s' %s PREFIX='%s' BUILD='%s' GIT_COMMIT='%s' GIT_DIRTY=", g_inst.src,
                 target, g_inst.prefix, g_inst.build, commit);
    snprintf(log, sizeof log, "make-%s.log", target);
    double before = mtime_of(pecs_bin);
    int rc = inst_sh(pecs_sb_str(&cmd), log, out);
    double after = mtime_of(pecs_bin);
    pecs_sb_free(&cmd);
    close(fd); /* releases the lock */
    cr_assert_eq(after, before, "make %s rebuilt %s: the tests need the built tree (make test)\n%s", target, pecs_bin,
                 out ? *out : "");
    return rc;
}

/* What the fixture does: make install of the built tree into a scratch prefix, then the vendor example copied
 * out of the tree and built against the install with PKG_CONFIG_PATH alone. */
static void inst_setup(void)
{
    memset(&g_inst, 0, sizeof g_inst);
    snprintf(g_inst.dir, sizeof g_inst.dir, "/tmp/pecs-install-XXXXXX");
    cr_assert_not_null(mkdtemp(g_inst.dir));
    snprintf(g_inst.prefix, sizeof g_inst.prefix, "%s/prefix", g_inst.dir);
    snprintf(g_inst.pecs, sizeof g_inst.pecs, "%s/prefix/bin/pecs", g_inst.dir);
    snprintf(g_inst.vendor_so, sizeof g_inst.vendor_so, "%s/vendor/libpecs-vendor-example.so", g_inst.dir);
    snprintf(g_inst.work, sizeof g_inst.work, "%s/work", g_inst.dir);
    cr_assert_eq(mkdir(g_inst.work, 0755), 0);
    cr_assert_not_null(realpath(tu_env("PECS_SRC", "."), g_inst.src));
    /* BUILD as the Makefile spells it: relative to the source tree when inside it (build, build/sanitize) */
    char build[PATH_MAX], binpath[PATH_MAX + 16];
    const char *b = tu_env("PECS_BUILD", "build");
    if (b[0] != '/')
        snprintf(binpath, sizeof binpath, "%s/%s", g_inst.src, b), b = binpath;
    cr_assert_not_null(realpath(b, build), "%s", b);
    size_t ls = strlen(g_inst.src);
    snprintf(g_inst.build, sizeof g_inst.build, "%s",
             !strncmp(build, g_inst.src, ls) && build[ls] == '/' ? build + ls + 1 : build);

    char *out = NULL;
    int rc = inst_make("install", &out);
    cr_assert_eq(rc, 0, "make install failed (%d):\n%s", rc, out);
    cr_assert(strstr(out, "installed pecs under "), "%s", out);
    free(out);

    /* The vendor: a copy of impls/vendor-example, away from the source tree; only pkg-config points at pecs. */
    pecs_sb cmd = {0};
    pecs_sb_addf(&cmd, "cp -r '%s/impls/vendor-example' '%s/vendor' && cd '%s/vendor' && rm -f libpecs-vendor-example.so && "
                       "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u CPATH -u C_INCLUDE_PATH PKG_CONFIG_PATH='%s/lib/pkgconfig' "
                       "sh -c 'pkg-config --cflags pecs && make'",
                 g_inst.src, g_inst.dir, g_inst.dir, g_inst.prefix);
    cr_assert(!cmd.oom);
    rc = inst_sh(pecs_sb_str(&cmd), "vendor.log", &out);
    pecs_sb_free(&cmd);
    cr_assert_eq(rc, 0, "building the vendor example failed (%d):\n%s", rc, out);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof want, "-I%s/include", g_inst.prefix);
    cr_assert(!strncmp(out, want, strlen(want)), "pkg-config --cflags pecs: %s (want %s)", out, want);
    cr_assert_eq(access(g_inst.vendor_so, R_OK), 0, "%s", out);
    free(out);
}

static void inst_teardown(void)
{
    char cmd[PATH_MAX + 16];
    if (!g_inst.dir[0])
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_inst.dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(install, .init = inst_setup, .fini = inst_teardown, .timeout = 300);

/* "N passed, N failed, N skipped" of a run's output. */
static void counts(const char *out, long *passed, long *failed)
{
    regex_t re;
    regmatch_t m[3];
    cr_assert_eq(regcomp(&re, "([0-9]+) passed, ([0-9]+) failed", REG_EXTENDED), 0);
    int found = regexec(&re, out, 3, m, 0) == 0;
    regfree(&re);
    cr_assert(found, "no count line in:\n%s", out);
    *passed = strtol(out + m[1].rm_so, NULL, 10);
    *failed = strtol(out + m[2].rm_so, NULL, 10);
}

Test(install, vendor_plugin_on_the_installed_pecs)
{
    char args[PATH_MAX + 128], want[PATH_MAX + 64], *out = NULL;
    /* isolated (a plugin by path): the worker comes from prefix/libexec/pecs */
    snprintf(args, sizeof args, "run smoke --backend '%s' --filter '^(rope|alibi) ' --out r.json", g_inst.vendor_so);
    int rc = inst_pecs(args, &out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    snprintf(want, sizeof want, "tolerances %s/share/pecs/configs/tolerances.yaml\n", g_inst.prefix);
    cr_assert(strstr(out, want), "the tolerances are not the installed ones (want '%s'):\n%s", want, out);
    long passed, failed;
    counts(out, &passed, &failed);
    cr_assert_gt(passed, 0, "%s", out);
    cr_assert_eq(failed, 0, "%s", out);
    cr_assert(strstr(out, "\nvendor-example rope ") && strstr(out, "\nvendor-example alibi "), "%s", out);
    free(out);
    snprintf(want, sizeof want, "%s/r.json", g_inst.work);
    cr_assert_eq(access(want, R_OK), 0);
    /* a suite that includes ../configs/models.yaml: found relative to the installed suite */
    cr_assert_eq(inst_pecs("list cases t1-rotate", &out), 0, "%s", out);
    snprintf(want, sizeof want, "%s/share/pecs/suites/t1-rotate.yaml: ", g_inst.prefix);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
}

Test(install, unknown_suite_name_says_where_pecs_looked)
{
    char args[PATH_MAX + 128], want[PATH_MAX + 64], *out = NULL;
    snprintf(args, sizeof args, "run nosuch --backend '%s' --out r.json", g_inst.vendor_so);
    int rc = inst_pecs(args, &out);
    cr_assert_eq(rc, 2, "exit %d:\n%s", rc, out);
    snprintf(want, sizeof want, "%s/share/pecs/suites/nosuch.yaml (install prefix)", g_inst.prefix);
    cr_assert(strstr(out, "pecs run: suite 'nosuch': no such file, and no suites/nosuch.yaml in the data search path"),
              "%s", out);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    snprintf(want, sizeof want, "%s/r.json", g_inst.work);
    cr_assert_neq(access(want, F_OK), 0, "a results file after bad input");
}

Test(install, mutate_finds_the_installed_suites_and_mutants)
{
    char want[PATH_MAX + 64], *out = NULL;
    /* the default suites and the tolerances resolve (else exit 2 before the mutants directory is read) */
    char empty[PATH_MAX + 16], args[PATH_MAX + 64];
    snprintf(empty, sizeof empty, "%s/empty", g_inst.dir);
    cr_assert_eq(mkdir(empty, 0755), 0);
    snprintf(args, sizeof args, "mutate --dir '%s'", empty);
    cr_assert_eq(inst_pecs(args, &out), 2, "%s", out);
    snprintf(want, sizeof want, "pecs mutate: no libpecs-mutant-*.so in %s", empty);
    cr_assert(strstr(out, want), "%s", out);
    free(out);
    /* the installed mutants over a two-case suite: it starts, and takes them from prefix/lib/pecs/mutants */
    snprintf(want, sizeof want, "%s/tiny.yaml", g_inst.work);
    FILE *f = fopen(want, "w");
    cr_assert_not_null(f);
    fputs("suite: tiny\ncases:\n  - encoding: [rope, alibi]\n    dtype: f32\n", f);
    fclose(f);
    int rc = inst_pecs("mutate tiny.yaml", &out);
    cr_assert(rc == 0 || rc == 1, "exit %d:\n%s", rc, out); /* two cases catch a few mutants only: 1 */
    snprintf(want, sizeof want, " mutant(s) from %s/lib/pecs/mutants over 2 case(s)", g_inst.prefix);
    cr_assert(strstr(out, want), "%s", out);
    cr_assert(strstr(out, "mutant-none ") && strstr(out, "mutation score: "), "%s", out);
    free(out);
}

Test(install, uninstall_removes_exactly_what_install_put)
{
    char path[PATH_MAX + 64], *out = NULL, *manifest = NULL;
    size_t len;
    char why[256];
    /* the manifest lists every file under the prefix (but itself), each present */
    snprintf(path, sizeof path, "%s/share/pecs/install-manifest.txt", g_inst.prefix);
    cr_assert_eq(pecs_read_file(path, &manifest, &len, why, sizeof why), PECS_OK, "%s", why);
    pecs_sb cmd = {0};
    pecs_sb_addf(&cmd, "cd '%s' && find . -type f ! -path ./share/pecs/install-manifest.txt | sed 's|^./||' | LC_ALL=C sort",
                 g_inst.prefix);
    cr_assert_eq(inst_sh(pecs_sb_str(&cmd), "files.log", &out), 0);
    pecs_sb_free(&cmd);
    cr_assert_str_eq(out, manifest, "files under the prefix:\n%s\nmanifest:\n%s", out, manifest);
    cr_assert(strstr(manifest, "bin/pecs\n") && strstr(manifest, "libexec/pecs/pecs-worker\n") &&
              strstr(manifest, "include/pecs/backend.h\n") && strstr(manifest, "lib/pkgconfig/pecs.pc\n") &&
              strstr(manifest, "lib/pecs/libpecs-scalar.so\n") && strstr(manifest, "lib/pecs/mutants/libpecs-mutant-none.so\n") &&
              strstr(manifest, "share/pecs/configs/tolerances.yaml\n") && strstr(manifest, "share/pecs/suites/smoke.yaml\n"),
              "%s", manifest);
    free(out);
    free(manifest);
    /* files that are not pecs's: they and their directories stay */
    const char *mine[] = {"bin/other-tool", "share/pecs/suites/local.yaml"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", g_inst.prefix, mine[i]);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f, "%s", path);
        fclose(f);
    }
    int rc = inst_make("uninstall", &out);
    cr_assert_eq(rc, 0, "make uninstall failed (%d):\n%s", rc, out);
    free(out);
    pecs_sb_addf(&cmd, "cd '%s' && find . -type f | sed 's|^./||' | LC_ALL=C sort", g_inst.prefix);
    cr_assert_eq(inst_sh(pecs_sb_str(&cmd), "left.log", &out), 0);
    pecs_sb_free(&cmd);
    cr_assert_str_eq(out, "bin/other-tool\nshare/pecs/suites/local.yaml\n", "left behind:\n%s", out);
    free(out);
    const char *gone[] = {"include/pecs", "lib/pecs", "libexec/pecs", "share/pecs/configs"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", g_inst.prefix, gone[i]);
        cr_assert_neq(access(path, F_OK), 0, "%s is still there", path);
    }
    /* nothing installed any more: uninstall refuses and says why */
    rc = inst_make("uninstall", &out);
    cr_assert_neq(rc, 0, "%s", out);
    cr_assert(strstr(out, "install-manifest.txt: make install did not install pecs under"), "%s", out);
    free(out);
}

/* Issue 12's end-to-end check: the installed pecs certifies the vendor example built against it (the tests'
 * profile: pecs-cert-1's families on the smoke suite), `pecs verify --rerun` reproduces the certificate, and a
 * changed byte in any of its files makes verify fail. */
Test(install, certify_the_vendor_example_and_verify_it)
{
    char args[3 * PATH_MAX + 128], profile[PATH_MAX + 64], path[PATH_MAX + 64], *out = NULL;
    snprintf(profile, sizeof profile, "%s/tests/data/certify/mini.yaml", g_inst.src);
    snprintf(args, sizeof args, "certify --profile '%s' --backend '%s' --claim rope:f32 --claim alibi:f32 --out cert",
             profile, g_inst.vendor_so);
    int rc = inst_pecs(args, &out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_assert(strstr(out, "CONFORMANT: vendor-example at level exact (0 problem(s))"), "%s", out);
    free(out);
    cr_assert_eq(inst_pecs("verify cert --rerun", &out), 0, "%s", out);
    cr_assert(strstr(out, "verdicts reproduced") && strstr(out, "valid certificate: CONFORMANT"), "%s", out);
    free(out);
    static const char *const files[] = {"results.json", "profile.yaml", "certificate.md", "certificate.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char cmd[2 * PATH_MAX + 256];
        /* a copy with one byte of one file changed: the first '1' becomes '2' */
        snprintf(cmd, sizeof cmd, "cd '%s' && rm -rf t && cp -r cert t && sed -i '0,/1/s//2/' t/%s", g_inst.work, files[i]);
        cr_assert_eq(system(cmd), 0);
        cr_expect_eq(inst_pecs("verify t", &out), 1, "a changed %s was not caught:\n%s", files[i], out);
        cr_expect(strstr(out, "INVALID"), "%s", out);
        free(out);
    }
    snprintf(path, sizeof path, "%s/cert/certificate.md", g_inst.work);
    cr_assert_eq(access(path, R_OK), 0);
}

/* -q on a plugin that implements two encodings, over every T1 suite: the failures (none), the skips summarised by
 * reason and the tally — a screenful, not a line per declined case (issue 13: under 30 lines). */
Test(install, quiet_run_of_every_t1_suite_fits_a_screen, .timeout = 600)
{
    char args[PATH_MAX + 512], *out = NULL;
    snprintf(args, sizeof args, "run t1-rotate t1-bias t1-multiaxis t1-other t1-pairwise invariance smoke --backend '%s' "
             "-q --out q.json", g_inst.vendor_so);
    int rc = inst_pecs(args, &out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    cr_assert_lt(lines, 30, "%d lines:\n%s", lines, out);
    long passed, failed;
    counts(out, &passed, &failed);
    cr_assert_gt(passed, 0, "%s", out);
    cr_assert(strstr(out, "case(s) not judged, by backend and reason"), "%s", out);
    free(out);
}

/* ---- the docs' commands (issue 13) ----------------------------------------------------------------------
 * Every "$ command" shown in a fenced block of README.md and docs/vendor-guide.md runs, in order, and the
 * output shown under it must have the shape of the real one: the "N case(s) x M backend(s), mode" line,
 * the table's columns and every row shown (backend, encoding, dtype, check and the four counts), every
 * verdict line shown (verdict, backend, case), pecs's error messages, the "N passed, N failed, N skipped"
 * tally and the exit status they imply. Numbers that vary run to run (errors, GB/s, addresses) are not
 * compared. The docs' scratch paths are mapped into the fixture: /tmp/pecs-prefix is its install (so
 * `make install` is the fixture's own), /tmp/myrope and /tmp/x.json a work directory, /work/main the source
 * tree; the guide's myrope.c is the C block that defines it, and x.npy/pos.npy are made as section 8 says. */

typedef struct doc_cmd {
    char cmd[2048];
    pecs_sb shown;
    int line;
} doc_cmd;

/* The "$ " commands of a Markdown file's fenced blocks (continuation lines ending in '\' joined) and the
 * lines shown after each, up to the next command or the fence's end. Returns how many. */
static int doc_commands(const char *md, doc_cmd *cmds, int max)
{
    char *text, why[256];
    size_t len;
    cr_assert_eq(pecs_read_file(md, &text, &len, why, sizeof why), PECS_OK, "%s", why);
    int n = 0, fence = 0, lineno = 0, cont = 0;
    doc_cmd *cur = NULL;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (!strncmp(line, "```", 3)) {
            fence = !fence;
            cur = NULL;
            continue;
        }
        if (!fence)
            continue;
        size_t l = strlen(line);
        if (cont && cur) { /* the rest of a command continued with '\' */
            cont = l && line[l - 1] == '\\';
            snprintf(cur->cmd + strlen(cur->cmd), sizeof cur->cmd - strlen(cur->cmd), " %.*s", (int)(l - (size_t)cont), line);
            continue;
        }
        if (!strncmp(line, "$ ", 2)) {
            cr_assert_lt(n, max);
            cur = &cmds[n++];
            memset(cur, 0, sizeof *cur);
            cur->line = lineno;
            cont = l && line[l - 1] == '\\';
            snprintf(cur->cmd, sizeof cur->cmd, "%.*s", (int)(l - 2 - (size_t)cont), line + 2);
            continue;
        }
        if (cur)
            pecs_sb_addf(&cur->shown, "%s\n", line);
    }
    free(text);
    return n;
}

/* s with every `from` replaced by `to` (malloc'd). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    pecs_sb b = {0};
    size_t lf = strlen(from);
    for (const char *p; (p = strstr(s, from)); s = p + lf)
        pecs_sb_addf(&b, "%.*s%s", (int)(p - s), s, to);
    pecs_sb_adds(&b, s);
    cr_assert(!b.oom);
    return pecs_sb_take(&b);
}

/* The docs' paths (and, in a command, program names) mapped into the fixture. */
static char *doc_map(const char *s, const char *work, int is_cmd)
{
    char bin[PATH_MAX + 8], myrope[PATH_MAX + 16], xjson[PATH_MAX + 16], inc[PATH_MAX + 16], suites[PATH_MAX + 16];
    snprintf(bin, sizeof bin, "'%s' ", tu_env("PECS_BIN", "build/pecs"));
    snprintf(myrope, sizeof myrope, "%s/myrope", work);
    snprintf(xjson, sizeof xjson, "%s/x.json", work);
    snprintf(inc, sizeof inc, "-I%s/include", g_inst.src);
    snprintf(suites, sizeof suites, " %s/suites/", g_inst.src);
    const char *map[][2] = {{"/tmp/pecs-prefix", g_inst.prefix}, {"/tmp/myrope", myrope}, {"/tmp/x.json", xjson},
                            {"-I/work/main/include", inc}, {"./build/pecs ", bin}, {" suites/", suites}};
    char *r = pecs_strdup(s);
    for (size_t i = 0; i < (is_cmd ? sizeof map / sizeof map[0] : 3); i++) {
        char *t = replace_all(r, map[i][0], map[i][1]);
        free(r);
        r = t;
    }
    if (is_cmd && (!strncmp(r, "build/pecs ", 11) || !strncmp(r, "pecs ", 5))) {
        char *t = NULL;
        pecs_sb b = {0};
        pecs_sb_addf(&b, "%s%s", bin, strchr(r, ' ') + 1);
        t = pecs_sb_take(&b);
        free(r);
        r = t;
    }
    return r;
}

static int fields(const char *line, char f[][64], int max)
{
    int n = 0;
    for (const char *p = line; *p && n < max;) {
        p += strspn(p, " ");
        size_t l = strcspn(p, " ");
        if (!l)
            break;
        snprintf(f[n++], 64, "%.*s", (int)l, p);
        p += l;
    }
    return n;
}

/* A line of `actual` whose first k whitespace-separated fields are those of `want`'s. */
static int has_fields(const char *actual, const char *want, int k)
{
    char w[16][64], a[16][64];
    if (fields(want, w, 16) < k)
        return 0;
    for (const char *l = actual; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(l, "\n"), l);
        int m = fields(line, a, 16), same = m >= k;
        for (int i = 0; same && i < k; i++)
            same = !strcmp(a[i], w[i]);
        if (same)
            return 1;
    }
    return 0;
}

/* The shown output's shape against the actual output; the expected exit status from what is shown. */
static void doc_compare(const char *where, const char *shown, const char *actual, int rc)
{
    int want_rc = 0, in_table = 0, checked = 0;
    for (const char *l = shown; *l; l = strchr(l, '\n') + 1) {
        char line[4096];
        long a, b, c;
        char mode[32];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(l, "\n"), l);
        if (sscanf(line, "pecs %*s %ld case(s) x %ld backend(s), mode %31[a-z]", &a, &b, mode) == 3) {
            char want[128];
            snprintf(want, sizeof want, ": %ld case(s) x %ld backend(s), mode %s,", a, b, mode);
            cr_assert(strstr(actual, want), "%s: shown '%s', the run says:\n%s", where, line, actual);
        } else if (sscanf(line, "%ld passed, %ld failed, %ld skipped", &a, &b, &c) == 3) {
            char want[128];
            snprintf(want, sizeof want, "\n%ld passed, %ld failed, %ld skipped\n", a, b, c);
            cr_assert(strstr(actual, want), "%s: shown '%s', the run says:\n%s", where, line, actual);
            want_rc = b > 0;
        } else if (!strncmp(line, "backend ", 8) && strstr(line, " encoding ")) {
            in_table = 1;
            cr_assert(has_fields(actual, line, fields(line, (char[16][64]){{0}}, 16)), "%s: columns '%s', the run:\n%s",
                      where, line, actual);
        } else if (in_table && line[0] && strcmp(line, "...") && strncmp(line, "results: ", 9)) {
            cr_assert(has_fields(actual, line, 8), "%s: row '%s' is not in the run's table:\n%s", where, line, actual);
        } else if (!strncmp(line, "FAILED ", 7) || !strncmp(line, "SKIPPED ", 8) || !strncmp(line, "ERROR ", 6) ||
                   !strncmp(line, "CRASHED ", 8)) {
            cr_assert(has_fields(actual, line, 3) && strstr(actual, strchr(line + strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ "), ' ')),
                      "%s: verdict line '%s' is not in the output:\n%s", where, line, actual);
        } else if (!strncmp(line, "pecs ", 5) && strchr(line, ':') && strncmp(line, "pecs 0", 6)) {
            cr_assert(strstr(actual, line), "%s: message '%s' is not in the output:\n%s", where, line, actual);
            want_rc = 2;
        } else if (!strcmp(line, "PASSED") || !strncmp(line, "FAILED: ", 8)) { /* eval --check's verdict */
            char want[4096];
            snprintf(want, sizeof want, "\n%.*s", (int)strcspn(line, ";"), line);
            cr_assert(strstr(actual, want), "%s: '%s' is not the verdict:\n%s", where, line, actual);
            want_rc = line[0] == 'F';
        } else if (sscanf(line, " %ld SKIPPED", &a) == 1) { /* the skips by reason */
            cr_assert(strstr(actual, line), "%s: '%s' is not in the output:\n%s", where, line, actual);
        } else if (!strncmp(line, "-I", 2)) {
            cr_assert(strstr(actual, line), "%s: '%s' is not in the output:\n%s", where, line, actual);
        } else if (strstr(line, " T pecs_backend_entry")) {
            cr_assert(strstr(actual, " T pecs_backend_entry"), "%s: %s", where, actual);
        } else {
            checked--;
        }
        checked++;
        if (!line[0] || !strncmp(line, "results: ", 9))
            in_table = 0;
    }
    if (!shown[0]) /* nothing shown: nothing printed */
        cr_assert(!actual[0], "%s: the docs show no output, the command printed:\n%s", where, actual);
    cr_assert_eq(rc, want_rc, "%s: exit %d, the output shown implies %d (%d line(s) checked):\n%s", where, rc, want_rc,
                 checked, actual);
}

/* The C block of the guide that defines the example plugin, as myrope.c; x.npy and pos.npy as section 8 says. */
static void doc_fixtures(const char *work)
{
    char path[PATH_MAX + 64], *text, why[256];
    size_t len;
    snprintf(path, sizeof path, "%s/docs/vendor-guide.md", g_inst.src);
    cr_assert_eq(pecs_read_file(path, &text, &len, why, sizeof why), PECS_OK, "%s", why);
    char *end = strstr(text, "PECS_BACKEND_ENTRY(myrope)");
    cr_assert(end, "the guide no longer defines myrope");
    char *start = end;
    while (start > text && strncmp(start, "```c\n", 5))
        start--;
    end = strstr(end, "\n```");
    cr_assert(start > text && end);
    snprintf(path, sizeof path, "%s/myrope", work);
    cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
    snprintf(path, sizeof path, "%s/myrope/myrope.c", work);
    cr_assert_eq(pecs_write_atomic(path, start + 5, (size_t)(end + 1 - (start + 5)), why, sizeof why), PECS_OK, "%s", why);
    free(text);
    float x[4 * 2 * 8];
    int32_t pos[4] = {100000, 100001, 100002, 100003};
    int64_t xs[3] = {4, 2, 8}, ps[1] = {4};
    for (int i = 0; i < 64; i++)
        x[i] = (float)((i * 37 % 64) - 32) / 16.0f;
    snprintf(path, sizeof path, "%s/myrope/x.npy", work);
    cr_assert_eq(pecs_npy_write(path, PECS_DT_F32, 3, xs, x, why, sizeof why), PECS_OK, "%s", why);
    snprintf(path, sizeof path, "%s/myrope/pos.npy", work);
    cr_assert_eq(pecs_npy_write(path, PECS_DT_I32, 1, ps, pos, why, sizeof why), PECS_OK, "%s", why);
}

Test(install, every_command_in_the_docs_shows_what_it_prints, .timeout = 600)
{
    static const char *const docs[] = {"README.md", "docs/vendor-guide.md"};
    char work[PATH_MAX + 16];
    snprintf(work, sizeof work, "%s/docs", g_inst.dir);
    cr_assert_eq(mkdir(work, 0755), 0);
    doc_fixtures(work);
    int ran = 0;
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        char md[PATH_MAX + 64];
        static doc_cmd cmds[64];
        pecs_sb env = {0}; /* the doc's `export`s, for the commands after them */
        snprintf(md, sizeof md, "%s/%s", g_inst.src, docs[d]);
        int n = doc_commands(md, cmds, 64);
        for (int i = 0; i < n; i++) {
            char where[PATH_MAX + 96], *cmd = doc_map(cmds[i].cmd, work, 1), *out = NULL;
            snprintf(where, sizeof where, "%s:%d: $ %s", docs[d], cmds[i].line, cmds[i].cmd);
            if (!strncmp(cmds[i].cmd, "make install", 12)) { /* the fixture's own install, to /tmp/pecs-prefix's place */
                free(cmd);
                pecs_sb_free(&cmds[i].shown);
                continue;
            }
            if (!strncmp(cmd, "export ", 7)) {
                pecs_sb_addf(&env, "%s; ", cmd);
                free(cmd);
                pecs_sb_free(&cmds[i].shown);
                continue;
            }
            pecs_sb sh = {0};
            pecs_sb_addf(&sh, "cd '%s/myrope' && %s", work, env.s ? env.s : "");
            if (strstr(cmd, g_inst.prefix)) /* the installed pecs finds everything alone */
                unset_pecs_vars(&sh), pecs_sb_adds(&sh, " sh -c \"");
            char *quoted = strstr(cmd, g_inst.prefix) ? replace_all(cmd, "\"", "\\\"") : pecs_strdup(cmd);
            pecs_sb_addf(&sh, "%s%s", quoted, strstr(cmd, g_inst.prefix) ? "\"" : "");
            free(quoted);
            cr_assert(!sh.oom);
            int rc = inst_sh(pecs_sb_str(&sh), "doc.log", &out);
            char *shown = doc_map(cmds[i].shown.s ? cmds[i].shown.s : "", work, 0);
            doc_compare(where, shown, out, rc);
            ran++;
            free(shown);
            free(out);
            free(cmd);
            pecs_sb_free(&sh);
            pecs_sb_free(&cmds[i].shown);
        }
        pecs_sb_free(&env);
    }
    cr_assert_geq(ran, 12, "only %d commands found in the docs", ran);
}
