/* tests/test_levels.c — the conformance levels (docs/levels.md): the angle model's numbers, and that no
 * case of any suite is judged vacuously at any level. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <string.h>

#include "gen.h"
#include "instance.h"
#include "level.h"
#include "suite.h"
#include "testutil.h"
#include "tolerance.h"

static void load_tols(pecs_tolerances *t)
{
    char why[512], path[512];
    cr_assert_eq(pecs_tol_load(t, tu_src(path, sizeof path, "configs/tolerances.yaml"), why, sizeof why), PECS_OK, "%s",
                 why);
}

/* The worked numbers of docs/levels.md: RoPE base 10000, rotary_dim 128, f32 at f32angle. */
Test(levels, worked_numbers)
{
    pecs_tolerances tols;
    load_tols(&tols);
    const char *specs[] = {"rope dtype=f32 tokens=1 heads=1 head_dim=128 positions=const@4096 level=f32angle",
                           "rope dtype=f32 tokens=1 heads=1 head_dim=128 positions=const@100000 level=f32angle"};
    const double want_max[] = {2.825e-3, 9.10e-3}, want_beyond[] = {0, 29};
    for (int k = 0; k < 2; k++) {
        char why[512];
        pecs_case c;
        pecs_tol tol;
        pecs_instance in;
        cr_assert_eq(pecs_case_parse(&c, specs[k], why, sizeof why), PECS_OK, "%s", why);
        cr_assert_eq(pecs_tol_resolve(&tols, &c, &tol, why, sizeof why), PECS_OK, "%s", why);
        cr_assert_eq(pecs_instance_create(&in, &c, 0, PECS_STREAM_X, why, sizeof why), PECS_OK, "%s", why);
        pecs_problem p;
        pecs_tensor t[8];
        pecs_instance_trusted(&in, &p, t);
        double mx;
        int64_t beyond, angles;
        cr_assert_eq(pecs_level_rotate_allowance(&p, &c, pecs_problem_tensor(&p, "pos"), &tol, NULL, NULL, &mx, &beyond,
                                                 &angles, why, sizeof why), PECS_OK, "%s", why);
        cr_assert_eq(angles, 64);
        cr_assert_eq(beyond, (int64_t)want_beyond[k], "%s: %lld beyond", specs[k], (long long)beyond);
        cr_assert(fabs(mx - want_max[k]) < 0.02 * want_max[k], "%s: largest judged allowance %.4g, want %.3g", specs[k], mx,
                  want_max[k]);
        cr_assert(fabs(pecs_level_angle_per_position(&p, &c, &tol) - 6.9e-7) < 0.01e-7);
        pecs_instance_free(&in);
        pecs_case_free(&c);
    }
    pecs_tol_free(&tols);
}

/* Every case of every suite, at every level: the element budget the comparator applies to an O(1) output
 * (abs + rel) may never exceed 3.2e-2 (bf16's: 4 units of its last place each), no judged angle may be
 * allowed more than 1e-2 rad, and no invariance shift may be judged with an allowed drift above 3.2e-2 (the
 * rounding budget) plus 4 x 1e-2 (two angles of 1e-2 rad at shift 0 and at the shift, on q' and k'). A
 * level whose budget grew with the position without limit (the old compat) fails here. */
Test(levels, no_case_is_judged_vacuously, .timeout = 600)
{
    pecs_tolerances tols;
    load_tols(&tols);
    const char *levels[] = {"exact", "f32angle"};
    char dirpath[512];
    DIR *d = opendir(tu_src(dirpath, sizeof dirpath, "suites"));
    cr_assert_not_null(d);
    int cases = 0, rotate = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".yaml") || !strcmp(e->d_name, "shapes.yaml"))
            continue;
        char path[1024], why[1024];
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        pecs_suite s;
        cr_assert_eq(pecs_suite_load(&s, path, why, sizeof why), PECS_OK, "%s", why);
        for (int i = 0; i < s.n_cases; i++)
            for (int lv = 0; lv < 2; lv++) {
                char spec[2048];
                snprintf(spec, sizeof spec, "%s level=%s", s.cases[i], levels[lv]);
                pecs_case c;
                pecs_tol tol;
                pecs_status st = pecs_case_parse(&c, spec, why, sizeof why);
                if (st == PECS_LIMIT) { /* over the memory cap: never run */
                    pecs_case_free(&c);
                    continue;
                }
                cr_assert_eq(st, PECS_OK, "%s: %s", spec, why);
                cr_assert_eq(pecs_tol_resolve(&tols, &c, &tol, why, sizeof why), PECS_OK, "%s", why);
                cases++;
                cr_assert(tol.abs + tol.rel <= 3.2e-2 + 1e-12, "%s: abs %g + rel %g", spec, tol.abs, tol.rel);
                cr_assert(tol.pos_abs == 0, "%s: a budget that grows with position", spec);
                cr_assert(tol.angle_eps == 0 || (tol.angle_max > 0 && tol.angle_max <= 1e-2), "%s: angle_max %g", spec,
                          tol.angle_max);
                if (c.enc->form == PECS_FORM_ROTATE && tol.angle_eps > 0 && pecs_case_tokens(&c) * c.heads * c.head_dim <=
                    (1 << 16)) {
                    pecs_instance in;
                    cr_assert_eq(pecs_instance_create(&in, &c, 0, PECS_STREAM_X, why, sizeof why), PECS_OK, "%s", why);
                    pecs_problem p;
                    pecs_tensor t[8];
                    pecs_instance_trusted(&in, &p, t);
                    double mx;
                    int64_t beyond, angles;
                    cr_assert_eq(pecs_level_rotate_allowance(&p, &c, pecs_problem_tensor(&p, "pos"), &tol, NULL, NULL, &mx,
                                                             &beyond, &angles, why, sizeof why), PECS_OK, "%s", why);
                    cr_assert(mx <= tol.angle_max, "%s: a judged angle allowed %g rad", spec, mx);
                    if (c.check == PECS_CHECK_INVARIANCE) { /* the largest drift a judged shift may be allowed */
                        double A = pecs_level_angle_per_position(&p, &c, &tol), p0 = in.max_abs_pos;
                        for (int k = 0; k < c.n_shifts; k++) {
                            double pd = p0 + (double)c.shifts[k];
                            if (A * pd > tol.angle_max)
                                break;
                            cr_assert(tol.drift <= 3.2e-2 && 2 * A * (p0 + pd) <= 4e-2 + 1e-12,
                                      "%s: drift allowed at shift %lld", spec, (long long)c.shifts[k]);
                        }
                    }
                    rotate++;
                    pecs_instance_free(&in);
                }
                pecs_case_free(&c);
            }
        pecs_suite_free(&s);
    }
    closedir(d);
    cr_assert_gt(cases, 10000, "%d cases", cases);
    cr_assert_gt(rotate, 1000, "%d rotate cases", rotate);
    pecs_tol_free(&tols);
}
