/* tests/test_backends.c — the loader refuses every broken plugin with a clear message, never crashes. */
#include <criterion/criterion.h>
#include <string.h>

#include "backends.h"
#include "testutil.h"

static pecs_status load(const char *path, char *why, size_t n)
{
    pecs_loaded_backend lb;
    pecs_status st = pecs_backend_load(path, &lb, why, n);
    if (st == PECS_OK)
        pecs_backend_unload(&lb);
    return st;
}

Test(backends, builtin_scalar_loads)
{
    pecs_loaded_backend lb;
    char why[512];
    cr_assert_eq(pecs_backend_load("scalar", &lb, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_str_eq(lb.id.name, "scalar");
    cr_assert_str_eq(lb.source, "builtin");
    cr_assert_eq(lb.id.abi_major, PECS_ABI_MAJOR);
    pecs_backend_unload(&lb);
}

/* A plugin is isolated by default: loaded in a worker process, never in this one; it takes a built-in's
 * name only as <name>@<file>. In process (isolate 0) it is dlopen()ed here. */
Test(backends, scalar_plugin_loads_in_a_worker_and_in_process)
{
    pecs_loaded_backend lb;
    char why[512], path[512];
    cr_assert_eq(pecs_backend_load(tu_plugin(path, sizeof path, "scalar"), &lb, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_str_eq(lb.id.name, "scalar@libpecs-scalar.so");
    cr_assert(lb.isolated && lb.w && !lb.dl && !lb.b);
    cr_assert_eq(strlen(lb.sha256), 64);
    pecs_backend_unload(&lb);
    pecs_backend_opts o = {.isolate = 0};
    cr_assert_eq(pecs_backend_open(path, &o, &lb, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_neq(lb.dl, NULL);
    cr_assert(!lb.isolated);
    pecs_backend_unload(&lb);
}

Test(backends, unknown_builtin_lists_the_builtins)
{
    char why[512];
    cr_assert_eq(load("nosuch", why, sizeof why), PECS_NOT_FOUND);
    cr_assert(strstr(why, "nosuch") && strstr(why, "scalar"), "%s", why);
}

Test(backends, missing_file)
{
    char why[512];
    cr_assert_eq(load("/nonexistent/libx.so", why, sizeof why), PECS_NOT_FOUND);
    cr_assert(strstr(why, "/nonexistent/libx.so"), "%s", why);
}

/* A plugin of another ABI major is refused, naming both versions. */
Test(backends, other_abi_major_is_refused_with_both_numbers)
{
    char why[512], path[512];
    cr_assert_eq(load(tu_fixture(path, sizeof path, "badabi"), why, sizeof why), PECS_ABI);
    char want[128];
    snprintf(want, sizeof want, "ABI major version %d, this pecs speaks %d", PECS_ABI_MAJOR + 1, PECS_ABI_MAJOR);
    cr_assert(strstr(why, want), "%s", why);
}

Test(backends, too_small_descriptor_is_refused)
{
    char why[512], path[512];
    cr_assert_eq(load(tu_fixture(path, sizeof path, "smallstruct"), why, sizeof why), PECS_ABI);
    cr_assert(strstr(why, "struct_size 8"), "%s", why);
}

Test(backends, missing_entry_symbol_is_refused)
{
    char why[512], path[512];
    cr_assert_eq(load(tu_fixture(path, sizeof path, "noentry"), why, sizeof why), PECS_ABI);
    cr_assert(strstr(why, "does not export pecs_backend_entry()"), "%s", why);
}

Test(backends, null_descriptor_is_refused)
{
    char why[512], path[512];
    cr_assert_eq(load(tu_fixture(path, sizeof path, "nullentry"), why, sizeof why), PECS_ABI);
    cr_assert(strstr(why, "returned no backend"), "%s", why);
}
