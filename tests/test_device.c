/* tests/test_device.c — the device hooks of ABI 1.1 (backend.h "Devices", harness/device.c): identity and copy
 * bandwidth at load, kernel-only and end-to-end times in perf results, a device time the harness's clock
 * disproves dropped, and a 1.0 descriptor still a host backend. The fixtures are tests/plugins/fixture.c's. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "backends.h"
#include "runner.h"
#include "runutil.h"
#include "testutil.h"
#include "tolerance.h"

#define CASE "rope dtype=f32 tokens=64 heads=4 head_dim=32 layout=thd view=contiguous positions=contig@0 pos_dtype=i32 " \
             "seed=1 check=equivalence level=exact"

Test(device, identity_and_copy_bandwidth_at_load_in_either_process)
{
    char path[512], why[1024];
    for (int iso = 0; iso < 2; iso++) {
        pecs_loaded_backend lb;
        pecs_backend_opts bo = {.isolate = iso};
        cr_assert_eq(pecs_backend_open(tu_fixture(path, sizeof path, "hostdev"), &bo, &lb, why, sizeof why), PECS_OK,
                     "%s", why);
        cr_assert_str_eq(lb.id.device, "host memory posing as a device");
        cr_assert_str_eq(lb.id.driver, "fixture 1");
        cr_assert_gt(lb.id.device_gbs, 0.0, "isolated %d: %s", iso, lb.id.device_bw_why);
        cr_assert_eq(lb.id.abi_minor, 1);
        pecs_backend_unload(&lb);
    }
}

Test(device, abi_1_0_descriptor_is_a_host_backend)
{
    char path[512];
    pecs_case_result r;
    pecs_loaded_backend lb;
    char why[1024];
    pecs_backend_opts bo = {.isolate = 0};
    cr_assert_eq(pecs_backend_open(tu_fixture(path, sizeof path, "v10"), &bo, &lb, why, sizeof why), PECS_OK, "%s", why);
    cr_assert_eq(lb.id.abi_minor, 0);
    cr_assert_str_eq(lb.id.device, "", "a 1.0 descriptor has no device field to read");
    pecs_backend_unload(&lb);
    for (int iso = 0; iso < 2; iso++) {
        cr_assert_eq(tu_run_case(path, CASE, 0, iso, &r), PECS_V_PASSED, "isolated %d: %s", iso, r.reason);
        pecs_case_result_free(&r);
    }
}

/* Perf on a device backend: median_s is end to end; the kernel's own time is reported apart, never longer
 * than the call; a backend claiming ten times the call (devclock) gets no kernel time at all. */
static void perf_case(const char *kind, int iso, pecs_case_result *r)
{
    char path[512], why[1024], tpath[512];
    pecs_tolerances tols;
    pecs_loaded_backend lb;
    cr_assert_eq(pecs_tol_load(&tols, tu_src(tpath, sizeof tpath, "configs/tolerances.yaml"), why, sizeof why), PECS_OK);
    pecs_backend_opts bo = {.isolate = iso};
    cr_assert_eq(pecs_backend_open(tu_fixture(path, sizeof path, kind), &bo, &lb, why, sizeof why), PECS_OK, "%s", why);
    pecs_run_opts o;
    pecs_run_opts_default(&o);
    o.tols = &tols;
    o.perf = 1;
    o.min_reps = 5;
    o.min_time_s = 0.0;
    pecs_run_case(&lb, CASE, &o, r);
    pecs_backend_unload(&lb);
    pecs_tol_free(&tols);
}

Test(device, perf_reports_kernel_and_end_to_end_times)
{
    for (int iso = 0; iso < 2; iso++) {
        pecs_case_result r;
        perf_case("hostdev", iso, &r);
        cr_assert_eq(r.verdict, PECS_V_PASSED, "%s", r.reason);
        cr_assert(r.perf.done && r.perf.device);
        cr_assert_eq(r.perf.device_reps, r.perf.reps, "every timed call had a device time");
        cr_assert_gt(r.perf.kernel_s[0], 0.0);
        cr_assert_leq(r.perf.kernel_s[0], r.perf.median_s, "the kernel alone within the call, end to end");
        cr_assert_gt(r.perf.device_gbs, 0.0);
        cr_assert_gt(r.perf.device_frac, 0.0);
        cr_assert_eq(r.perf.paired, 0, "a device kernel is not paired with a host kernel");
        pecs_case_result_free(&r);
        perf_case("devclock", iso, &r);
        cr_assert_eq(r.verdict, PECS_V_PASSED, "%s", r.reason);
        cr_assert(r.perf.device);
        cr_assert_eq(r.perf.device_reps, 0, "isolated %d: a kernel time longer than the call was kept", iso);
        pecs_case_result_free(&r);
    }
}

/* An isolated worker may write beneath one scratch directory (a device runtime's caches: pocl writes its compiled
 * kernels there), which the parent makes under TMPDIR and removes with the worker. */
static int count_scratch(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "exit $(ls -d '%s'/pecs-worker-* 2>/dev/null | wc -l)", dir);
    return WEXITSTATUS(system(cmd));
}

Test(device, worker_scratch_directory_lives_with_the_worker)
{
    char path[512], why[1024];
    tu_tmp_make("scratch");
    const char *old = getenv("TMPDIR");
    char saved[512] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    setenv("TMPDIR", tu_tmp_dir(), 1);
    pecs_loaded_backend lb;
    pecs_backend_opts bo = {.isolate = 1};
    cr_assert_eq(pecs_backend_open(tu_fixture(path, sizeof path, "hostdev"), &bo, &lb, why, sizeof why), PECS_OK, "%s", why);
    int during = count_scratch(tu_tmp_dir());
    cr_assert(strstr(lb.sandbox, "landlock") == NULL || strstr(lb.sandbox, "scratch directory"), "%s", lb.sandbox);
    pecs_backend_unload(&lb);
    int after = count_scratch(tu_tmp_dir());
    if (saved[0])
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    tu_tmp_remove();
    cr_assert_eq(during, 1, "one scratch directory while the worker lives");
    cr_assert_eq(after, 0, "removed with the worker");
}
