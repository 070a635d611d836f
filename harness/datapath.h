/* harness/datapath.h — where pecs finds its data: tolerance and model configs (configs/, configs/certify/),
 * suites (suites/) and the mutants (mutants/), whether it runs from its build directory or installed.
 *
 * The search path is a list of roots, searched in this order (docs/vendor-guide.md section 7):
 *   1. every directory of $PECS_DATA_PATH (colon-separated; empty entries ignored): a root holding any of
 *      configs/, suites/ and mutants/;
 *   2. the source tree, when pecs runs from its build directory: the parent or grandparent of the
 *      binary's directory that holds suites/ and include/pecs/encodings.def (build/pecs, build/sanitize/pecs);
 *      its mutants are in the binary's directory (build/mutants);
 *   3. the install prefix relative to the binary: <bindir>/../share/pecs (mutants: <bindir>/../lib/pecs);
 *   4. the compiled-in install prefix: PECS_PREFIX/share/pecs (mutants: PECS_PREFIX/lib/pecs), the PREFIX pecs
 *      was compiled with.
 * A root that is the current directory is written as a relative path ("configs/tolerances.yaml"), so runs from
 * the source tree record the same paths as before; other roots are absolute (realpath) when they exist.
 */
#ifndef PECS_DATAPATH_H
#define PECS_DATAPATH_H

#include <stddef.h>

#include "pecs/status.h"

#define PECS_DATA_MAX_ROOTS 32

typedef enum pecs_data_kind {
    PECS_DATA_SHARE, /* architecture-independent: configs/, suites/ */
    PECS_DATA_LIB    /* built files: mutants/ */
} pecs_data_kind;

typedef struct pecs_data_root {
    char *dir;          /* holds configs/ and suites/ ("" = the current directory) */
    char *libdir;       /* holds mutants/ ("" = the current directory) */
    const char *origin; /* "PECS_DATA_PATH", "source tree", "install prefix", "compiled-in prefix" */
} pecs_data_root;

typedef struct pecs_datapath {
    pecs_data_root roots[PECS_DATA_MAX_ROOTS];
    int n;
} pecs_datapath;

/* The search path of a pecs binary at `exe` (NULL: this process's, /proc/self/exe) with `env` as the value of
 * PECS_DATA_PATH (NULL: getenv; "" : unset), compiled-in prefix `prefix` (NULL: PECS_PREFIX). Roots that do not
 * exist are kept (they are named when nothing is found); duplicates are dropped. PECS_NOMEM or PECS_OK. */
pecs_status pecs_datapath_init(pecs_datapath *dp, const char *exe, const char *env, const char *prefix);
void pecs_datapath_free(pecs_datapath *dp);

/* The first <root>/<rel> (root->dir for SHARE, root->libdir for LIB) that exists, into buf. PECS_NOT_FOUND
 * with `why` naming every place looked at, PECS_LIMIT if a path does not fit. */
pecs_status pecs_datapath_find(const pecs_datapath *dp, pecs_data_kind kind, const char *rel, char *buf, size_t n,
                               char *why, size_t why_len);

/* The same with this process's search path (pecs_datapath_init(NULL, NULL, NULL)). */
pecs_status pecs_data_find(pecs_data_kind kind, const char *rel, char *buf, size_t n, char *why, size_t why_len);

/* A suite argument as the command line takes it: a path that exists is used as is; otherwise a name
 * ("smoke", "smoke.yaml" or "suites/smoke.yaml") is looked up as suites/<name>.yaml in the search path.
 * A path with another directory in it that does not exist is returned as is (the loader reports it).
 * PECS_NOT_FOUND with `why` naming where pecs looked. */
pecs_status pecs_data_suite(const char *arg, char *buf, size_t n, char *why, size_t why_len);
pecs_status pecs_datapath_suite(const pecs_datapath *dp, const char *arg, char *buf, size_t n, char *why, size_t why_len);

/* The directory of this process's binary (realpath), or "" if /proc/self/exe cannot be read. */
const char *pecs_exe_dir(char *buf, size_t n);

/* The compiled-in install prefix (the PREFIX pecs was compiled with). */
const char *pecs_install_prefix(void);

#endif
