/* harness/level.c */
#include "level.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

/* The schedule of a rotate problem and the model's relative angle error per pair, k_i * f_i (rad per
 * unit of position). Caller frees *k. */
static pecs_status model(const pecs_problem *p, const pecs_case *c, const pecs_tol *tol, pecs_ref_rot *s, double **k,
                         char *why, size_t why_len)
{
    int64_t R = pecs_ref_rotary_dim(p, c->head_dim, why, why_len);
    if (R <= 0)
        return PECS_INVALID;
    pecs_status st = pecs_ref_rot_alloc(s, R);
    if (st != PECS_OK)
        return st;
    if ((st = pecs_ref_schedule(p, s, why, why_len)) != PECS_OK) {
        pecs_ref_rot_free(s);
        return st;
    }
    if (!(*k = malloc((size_t)(R / 2) * sizeof **k))) {
        pecs_ref_rot_free(s);
        return PECS_NOMEM;
    }
    for (int64_t i = 0; i < R / 2; i++) {
        double f = fabs(s->inv_freq[i]);
        (*k)[i] = f > 0 ? tol->angle_eps * (tol->angle_c0 + tol->angle_c1 * (double)i + fabs(log(f))) * f : 0.0;
    }
    return PECS_OK;
}

double pecs_level_angle_per_position(const pecs_problem *p, const pecs_case *c, const pecs_tol *tol)
{
    if (tol->angle_eps <= 0 || c->enc->form != PECS_FORM_ROTATE)
        return 0.0;
    pecs_ref_rot s;
    double *k = NULL, a = 0.0;
    char why[256];
    if (model(p, c, tol, &s, &k, why, sizeof why) != PECS_OK)
        return 0.0;
    for (int64_t i = 0; i < s.R / 2; i++)
        a = fmax(a, k[i]);
    free(k);
    pecs_ref_rot_free(&s);
    return a;
}

pecs_status pecs_level_rotate_allowance(const pecs_problem *p, const pecs_case *c, const pecs_tensor *pos,
                                        const pecs_tol *tol, const double *expected, double *extra,
                                        double *max_dtheta, int64_t *beyond, int64_t *angles, char *why, size_t why_len)
{
    *max_dtheta = 0.0;
    *beyond = *angles = 0;
    if (tol->angle_eps <= 0 || c->enc->form != PECS_FORM_ROTATE)
        return PECS_OK;
    pecs_ref_rot s;
    double *k = NULL;
    pecs_status st = model(p, c, tol, &s, &k, why, why_len);
    if (st != PECS_OK)
        return st;
    int64_t T = pecs_case_tokens(c), H = c->heads, D = c->head_dim, R = s.R;
    int half = pecs_param_is(p, "pairing", "half");
    *angles = T * (R / 2);
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < R / 2; i++) {
            double dth = k[i] * fabs(pecs_pos_at(pos, s.axis[i], t));
            int out_of_range = tol->angle_max > 0 && dth > tol->angle_max;
            if (!out_of_range)
                *max_dtheta = fmax(*max_dtheta, dth);
            *beyond += out_of_range;
            for (int64_t h = 0; extra && h < H; h++) {
                int64_t a = (t * H + h) * D + (half ? i : 2 * i), b = a + (half ? R / 2 : 1);
                double r = hypot(expected[a], expected[b]);
                extra[a] = extra[b] = out_of_range ? INFINITY : isfinite(r) ? dth * r : 0.0;
            }
        }
    free(k);
    pecs_ref_rot_free(&s);
    return PECS_OK;
}

int pecs_level_norms_ok(const pecs_problem *p, const pecs_case *c, const pecs_tol *tol, const double *extra,
                        const double *actual, const double *expected, char *why, size_t why_len)
{
    int64_t T = pecs_case_tokens(c), H = c->heads, D = c->head_dim;
    int64_t R = pecs_ref_rotary_dim(p, D, why, why_len);
    int half = pecs_param_is(p, "pairing", "half");
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < R / 2; i++) {
                int64_t a = (t * H + h) * D + (half ? i : 2 * i), b = a + (half ? R / 2 : 1);
                if (!isinf(extra[a]))
                    continue;
                double got = hypot(actual[a], actual[b]), want = hypot(expected[a], expected[b]);
                /* NaN-aware as the comparator (compare.h): NaN where the reference's norm is NaN, Inf equal; a
                 * norm beyond the dtype's largest finite value cannot be kept (a lane may overflow) */
                double big = c->dtype == PECS_DT_F16 ? 65504.0 : c->dtype == PECS_DT_F32 ? (double)FLT_MAX
                           : c->dtype == PECS_DT_BF16 ? 0x1.fep127 : DBL_MAX;
                if (isnan(want) ? !isnan(got) : !(got == want || (isinf(got) && want > big) ||
                                                   fabs(got - want) <= 2.0 * tol->abs + tol->rel * want)) {
                    snprintf(why, why_len, "token %lld head %lld pair %lld: norm %.9g, want %.9g (a rotation keeps it "
                             "whatever the angle error; the angle itself is beyond the level's range here)",
                             (long long)t, (long long)h, (long long)i, got, want);
                    return 0;
                }
            }
    return 1;
}
