/* tests/test_datapath.c — the data search path (harness/datapath.h): PECS_DATA_PATH, then the source tree of a
 * binary in its build directory, then the install prefix relative to the binary, then the compiled-in prefix;
 * suite names; what pecs says when it finds nothing. Fake trees in a scratch directory, fake binaries in them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datapath.h"
#include "testutil.h"
#include "util.h"

static void setup(void) { tu_tmp_make("datapath"); }
static void teardown(void) { tu_tmp_remove(); }
TestSuite(datapath, .init = setup, .fini = teardown);

/* Create tu_tmp_dir()/rel as a file (with its directories); returns its path. */
static const char *touch(const char *rel)
{
    static char path[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", tu_tmp_dir(), rel);
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && touch '%s'", path[k], path[k]);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    return path[k];
}

static const char *tmp(const char *rel)
{
    static char path[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", tu_tmp_dir(), rel);
    return path[k];
}

/* A fake source tree at tmp/src with a built binary at tmp/src/<bin>. */
static void fake_source_tree(void)
{
    touch("src/include/pecs/encodings.def");
    touch("src/suites/smoke.yaml");
    touch("src/configs/tolerances.yaml");
    touch("src/build/pecs");
    touch("src/build/mutants/libpecs-mutant-none.so");
    touch("src/build/sanitize/pecs");
}

/* A fake install at tmp/<prefix>: bin/pecs, share/pecs/{configs,suites}, lib/pecs/mutants. */
static void fake_install(const char *prefix)
{
    char rel[256];
    const char *files[] = {"bin/pecs", "share/pecs/configs/tolerances.yaml", "share/pecs/suites/smoke.yaml",
                           "share/pecs/suites/shapes.yaml", "lib/pecs/mutants/libpecs-mutant-none.so",
                           "include/pecs/encodings.def"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(rel, sizeof rel, "%s/%s", prefix, files[i]);
        touch(rel);
    }
}

static const char *real(const char *p)
{
    static char buf[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    cr_assert_not_null(realpath(p, buf[k]), "%s", p);
    return buf[k];
}

Test(datapath, source_tree_of_a_build_binary_and_its_mutants)
{
    fake_source_tree();
    pecs_datapath dp;
    char buf[PATH_MAX], why[4096], want[PATH_MAX + 64];
    cr_assert_eq(pecs_datapath_init(&dp, tmp("src/build/pecs"), "", "/nonexistent-prefix"), PECS_OK);
    cr_assert_str_eq(dp.roots[0].origin, "source tree");
    cr_assert_str_eq(dp.roots[0].dir, real(tmp("src")));
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "configs/tolerances.yaml", buf, sizeof buf, why, sizeof why),
                 PECS_OK, "%s", why);
    snprintf(want, sizeof want, "%s/configs/tolerances.yaml", real(tmp("src")));
    cr_assert_str_eq(buf, want);
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_LIB, "mutants", buf, sizeof buf, why, sizeof why), PECS_OK, "%s", why);
    snprintf(want, sizeof want, "%s/mutants", real(tmp("src/build")));
    cr_assert_str_eq(buf, want);
    pecs_datapath_free(&dp);

    /* build/sanitize/pecs: the grandparent is the source tree; its mutants are its own build directory's */
    cr_assert_eq(pecs_datapath_init(&dp, tmp("src/build/sanitize/pecs"), "", "/nonexistent-prefix"), PECS_OK);
    cr_assert_str_eq(dp.roots[0].origin, "source tree");
    cr_assert_str_eq(dp.roots[0].dir, real(tmp("src")));
    cr_assert_str_eq(dp.roots[0].libdir, real(tmp("src/build/sanitize")));
    pecs_datapath_free(&dp);
}

Test(datapath, no_source_tree_without_its_markers)
{
    touch("other/suites/smoke.yaml"); /* suites/ but no include/pecs/encodings.def */
    touch("other/build/pecs");
    pecs_datapath dp;
    cr_assert_eq(pecs_datapath_init(&dp, tmp("other/build/pecs"), "", "/nonexistent-prefix"), PECS_OK);
    for (int i = 0; i < dp.n; i++)
        cr_assert_str_neq(dp.roots[i].origin, "source tree", "%s", dp.roots[i].dir);
    pecs_datapath_free(&dp);
}

Test(datapath, installed_binary_finds_its_prefix)
{
    fake_install("p");
    pecs_datapath dp;
    char buf[PATH_MAX], why[4096], want[PATH_MAX + 64];
    cr_assert_eq(pecs_datapath_init(&dp, tmp("p/bin/pecs"), "", "/nonexistent-prefix"), PECS_OK);
    cr_assert_eq(dp.n, 2); /* the install prefix, the compiled-in one; no source tree */
    cr_assert_str_eq(dp.roots[0].origin, "install prefix");
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "suites/smoke.yaml", buf, sizeof buf, why, sizeof why), PECS_OK,
                 "%s", why);
    snprintf(want, sizeof want, "%s/suites/smoke.yaml", real(tmp("p/share/pecs")));
    cr_assert_str_eq(buf, want);
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_LIB, "mutants", buf, sizeof buf, why, sizeof why), PECS_OK, "%s", why);
    snprintf(want, sizeof want, "%s/mutants", real(tmp("p/lib/pecs")));
    cr_assert_str_eq(buf, want);
    pecs_datapath_free(&dp);
}

Test(datapath, compiled_in_prefix_is_the_last_resort)
{
    fake_install("q");
    touch("elsewhere/pecs"); /* a binary copied away from its prefix */
    pecs_datapath dp;
    char buf[PATH_MAX], why[4096], want[PATH_MAX + 64];
    cr_assert_eq(pecs_datapath_init(&dp, tmp("elsewhere/pecs"), "", tmp("q")), PECS_OK);
    cr_assert_str_eq(dp.roots[dp.n - 1].origin, "compiled-in prefix");
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "configs/tolerances.yaml", buf, sizeof buf, why, sizeof why),
                 PECS_OK, "%s", why);
    snprintf(want, sizeof want, "%s/configs/tolerances.yaml", real(tmp("q/share/pecs")));
    cr_assert_str_eq(buf, want);
    pecs_datapath_free(&dp);
}

/* PECS_DATA_PATH first, its entries in order, then the source tree, then the install prefix. */
Test(datapath, order_env_then_source_then_prefix)
{
    fake_source_tree();
    fake_install("p");
    touch("a/suites/only-a.yaml");
    touch("b/suites/only-a.yaml");
    touch("b/suites/smoke.yaml");
    touch("b/mutants/libpecs-mutant-none.so");
    char env[2 * PATH_MAX + 8], buf[PATH_MAX], why[4096], want[PATH_MAX + 64];
    snprintf(env, sizeof env, "%s::%s", tmp("a"), tmp("b")); /* an empty entry is ignored */
    pecs_datapath dp;
    cr_assert_eq(pecs_datapath_init(&dp, tmp("src/build/pecs"), env, tmp("p")), PECS_OK);
    cr_assert_eq(dp.n, 5, "%d roots", dp.n); /* a, b, the source tree, src/share/pecs (beside src/build), p */
    cr_assert_str_eq(dp.roots[0].origin, "PECS_DATA_PATH");
    cr_assert_str_eq(dp.roots[1].origin, "PECS_DATA_PATH");
    cr_assert_str_eq(dp.roots[2].origin, "source tree");
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "suites/only-a.yaml", buf, sizeof buf, why, sizeof why), PECS_OK);
    snprintf(want, sizeof want, "%s/suites/only-a.yaml", real(tmp("a")));
    cr_assert_str_eq(buf, want);
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "suites/smoke.yaml", buf, sizeof buf, why, sizeof why), PECS_OK);
    snprintf(want, sizeof want, "%s/suites/smoke.yaml", real(tmp("b")));
    cr_assert_str_eq(buf, want); /* b before the source tree */
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "configs/tolerances.yaml", buf, sizeof buf, why, sizeof why),
                 PECS_OK);
    snprintf(want, sizeof want, "%s/configs/tolerances.yaml", real(tmp("src")));
    cr_assert_str_eq(buf, want); /* the source tree before the prefix */
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_LIB, "mutants", buf, sizeof buf, why, sizeof why), PECS_OK);
    snprintf(want, sizeof want, "%s/mutants", real(tmp("b")));
    cr_assert_str_eq(buf, want); /* a PECS_DATA_PATH root holds mutants/ itself */
    pecs_datapath_free(&dp);
}

Test(datapath, duplicates_dropped)
{
    fake_install("p");
    pecs_datapath dp;
    /* PECS_DATA_PATH naming a root twice; the compiled-in prefix equal to the binary's own */
    char env[2 * PATH_MAX + 8];
    snprintf(env, sizeof env, "%s:%s/", tmp("x"), tmp("x"));
    touch("x/suites/s.yaml");
    cr_assert_eq(pecs_datapath_init(&dp, tmp("p/bin/pecs"), env, tmp("p")), PECS_OK);
    cr_assert_eq(dp.n, 2, "%d roots", dp.n);
    pecs_datapath_free(&dp);
}

Test(datapath, not_found_names_every_place_looked)
{
    fake_install("p");
    pecs_datapath dp;
    char buf[PATH_MAX], why[4096];
    cr_assert_eq(pecs_datapath_init(&dp, tmp("p/bin/pecs"), "", "/nonexistent-prefix"), PECS_OK);
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "configs/certify/none.yaml", buf, sizeof buf, why, sizeof why),
                 PECS_NOT_FOUND);
    cr_assert_str_eq(buf, "");
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s/configs/certify/none.yaml (install prefix)", real(tmp("p/share/pecs")));
    cr_assert(strstr(why, want), "%s", why);
    cr_assert(strstr(why, "/nonexistent-prefix/share/pecs/configs/certify/none.yaml (compiled-in prefix)"), "%s", why);
    cr_assert(strstr(why, "PECS_DATA_PATH is not set"), "%s", why);
    pecs_datapath_free(&dp);
}

Test(datapath, suite_names_and_paths)
{
    fake_install("p");
    touch("work/local.yaml");
    pecs_datapath dp;
    char buf[PATH_MAX], why[4096], want[PATH_MAX + 64];
    cr_assert_eq(pecs_datapath_init(&dp, tmp("p/bin/pecs"), "", "/nonexistent-prefix"), PECS_OK);
    cr_assert_eq(chdir(tmp("work")), 0);
    snprintf(want, sizeof want, "%s/suites/smoke.yaml", real(tmp("p/share/pecs")));
    const char *names[] = {"smoke", "smoke.yaml", "suites/smoke.yaml"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(pecs_datapath_suite(&dp, names[i], buf, sizeof buf, why, sizeof why), PECS_OK, "%s: %s", names[i], why);
        cr_assert_str_eq(buf, want, "%s", names[i]);
    }
    /* a file that exists is taken as is, even with a suite's name; a directory of that name is not */
    cr_assert_eq(pecs_datapath_suite(&dp, "local.yaml", buf, sizeof buf, why, sizeof why), PECS_OK);
    cr_assert_str_eq(buf, "local.yaml");
    touch("work/smoke/x"); /* a directory named smoke */
    cr_assert_eq(pecs_datapath_suite(&dp, "smoke", buf, sizeof buf, why, sizeof why), PECS_OK);
    cr_assert_str_eq(buf, want);
    touch("work/smoke.yaml");
    cr_assert_eq(pecs_datapath_suite(&dp, "smoke.yaml", buf, sizeof buf, why, sizeof why), PECS_OK);
    cr_assert_str_eq(buf, "smoke.yaml");
    /* a path into another directory is left to the loader */
    cr_assert_eq(pecs_datapath_suite(&dp, "no/such/dir.yaml", buf, sizeof buf, why, sizeof why), PECS_OK);
    cr_assert_str_eq(buf, "no/such/dir.yaml");
    /* a name found nowhere: where pecs looked */
    cr_assert_eq(pecs_datapath_suite(&dp, "smok", buf, sizeof buf, why, sizeof why), PECS_NOT_FOUND);
    snprintf(want, sizeof want, "%s/suites/smok.yaml (install prefix)", real(tmp("p/share/pecs")));
    cr_assert(strstr(why, "suite 'smok': no such file, and no suites/smok.yaml in the data search path"), "%s", why);
    cr_assert(strstr(why, want), "%s", why);
    pecs_datapath_free(&dp);
}

/* A root that is the current directory is relative: runs from the source tree record configs/tolerances.yaml. */
Test(datapath, current_directory_root_is_relative)
{
    fake_source_tree();
    cr_assert_eq(chdir(tmp("src")), 0);
    pecs_datapath dp;
    char buf[PATH_MAX], why[4096];
    cr_assert_eq(pecs_datapath_init(&dp, tmp("src/build/pecs"), "", "/nonexistent-prefix"), PECS_OK);
    cr_assert_str_eq(dp.roots[0].dir, "");
    cr_assert_eq(pecs_datapath_find(&dp, PECS_DATA_SHARE, "configs/tolerances.yaml", buf, sizeof buf, why, sizeof why),
                 PECS_OK);
    cr_assert_str_eq(buf, "configs/tolerances.yaml");
    cr_assert_eq(pecs_datapath_suite(&dp, "smoke", buf, sizeof buf, why, sizeof why), PECS_OK);
    cr_assert_str_eq(buf, "suites/smoke.yaml");
    pecs_datapath_free(&dp);
}

/* The built pecs from a directory that is not the source tree: suite names and tolerances come from the
 * source tree through the search path; PECS_DATA_PATH adds a suite directory; an unknown name is exit 2. */
Test(datapath, built_pecs_outside_the_source_tree)
{
    char cmd[4 * PATH_MAX + 512], *out = NULL;
    const char *bin = tu_env("PECS_BIN", "build/pecs");
    char abs_bin[PATH_MAX];
    cr_assert_not_null(realpath(bin, abs_bin), "%s", bin);
    touch("mine/suites/mine.yaml");
    FILE *f = fopen(tmp("mine/suites/mine.yaml"), "w");
    cr_assert_not_null(f);
    fputs("suite: mine\ninclude: [shapes.yaml]\ncases:\n  - encoding: alibi\n    dtype: f32\n", f);
    fclose(f);
    f = fopen(tmp("mine/suites/shapes.yaml"), "w"); /* included relative to the suite file */
    cr_assert_not_null(f);
    fputs("description: shared shapes of mine\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && env -u PECS_DATA_PATH -u PECS_TOLERANCES '%s' list cases smoke > list.txt 2>&1 && "
             "PECS_DATA_PATH='%s' '%s' list cases mine >> list.txt 2>&1",
             tu_tmp_dir(), abs_bin, tmp("mine"), abs_bin);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "cd '%s' && env -u PECS_DATA_PATH '%s' run smok --out x.json > nf.txt 2>&1", tu_tmp_dir(), abs_bin);
    int st = system(cmd);
    cr_assert(st != -1 && (st >> 8) == 2, "exit %d", st >> 8);
    size_t len;
    char why[256];
    cr_assert_eq(pecs_read_file(tmp("nf.txt"), &out, &len, why, sizeof why), PECS_OK);
    cr_assert(strstr(out, "pecs run: suite 'smok': no such file, and no suites/smok.yaml in the data search path: "
                          "looked in "), "%s", out);
    cr_assert(strstr(out, "/suites/smok.yaml (source tree)"), "%s", out);
    free(out);
    cr_assert_eq(pecs_read_file(tmp("list.txt"), &out, &len, why, sizeof why), PECS_OK);
    cr_assert(strstr(out, "suites/smoke.yaml: "), "%s", out);
    cr_assert(strstr(out, "mine/suites/mine.yaml: 1 cases"), "%s", out);
    cr_assert(strstr(out, "\nalibi dtype=f32 "), "%s", out);
    free(out);
}
