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
