/* tests/test_t2clex.c — known answers and properties of rope.clex (reference/rope_clex.c, the scalar schedule in
 * impls/common/schedule.c).
 *
 * CLEX's inverse frequencies are exp(x(t)), x the torchdiffeq fixed-grid rk4 (3/8 rule) solution from 1 to t of
 * dx/dt = act((x + log ntk(t)) @ up) @ down + ntk'(t)/ntk(t), x(1) = log inv_freq, ntk(t) the NTK frequencies at
 * base 10000 and scale 2t - 1 (DAMO-NLP-SG/CLEX clex_layer.py). The known answers take one step (time_dt 1, t 2) on
 * R = 4, where ntk'_1/ntk_1 = -2/(2t - 1) and log ntk_1(t) = -ln 100 - ln(2t - 1), so every stage is written out.
 * Both codes are checked: the reference's schedule directly, the scalar backend through the angle it turns a unit
 * pair by at position 1.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "reference.h"
#include "refutil.h"

enum { CMAX = 32 };

/* w tensor [R, F*R] over data (F64 for the reference, F32 for the scalar backend). */
static pecs_tensor w_tensor(pecs_dtype dt, int64_t R, int64_t F, void *data)
{
    return ref_tensor("w", dt, 2, R, F * R, 0, data);
}

/* The reference schedule of case c (rotary dim R, w [R, F*R] or NULL): inv_freq[R/2]. */
static pecs_status ref_inv(const pecs_case *c, int64_t R, int64_t F, const double *w, double *inv, char *why,
                           size_t why_len)
{
    pecs_problem p = ref_problem(c);
    pecs_tensor t = w_tensor(PECS_DT_F64, R, F, (void *)(uintptr_t)w);
    p.tensors = &t, p.n_tensors = w ? 1 : 0;
    pecs_ref_rot s;
    cr_assert_eq(pecs_ref_rot_alloc(&s, R), PECS_OK);
    pecs_ref_rot_reset(&s);
    pecs_status st = pecs_ref_schedule(&p, &s, why, why_len);
    if (st == PECS_OK)
        memcpy(inv, s.inv_freq, (size_t)(R / 2) * sizeof *inv);
    pecs_ref_rot_free(&s);
    return st;
}

static void ref_ok(const pecs_case *c, int64_t R, int64_t F, const double *w, double *inv)
{
    char why[256] = "";
    cr_assert_eq(ref_inv(c, R, F, w, inv, why, sizeof why), PECS_OK, "%s", why);
}

/* The scalar backend's angle for each pair at position 1 (half-split pairing, x = unit pairs, f32): the inverse
 * frequencies as the kernel uses them, to float32 precision (each must be below pi). */
static void scalar_inv(const pecs_case *c, int64_t R, int64_t F, const double *w, double *inv)
{
    float x[CMAX], out[CMAX], *wf = malloc((size_t)(R * F * R) * sizeof *wf);
    double pos = 1.0;
    cr_assert(wf && R <= CMAX);
    for (int64_t i = 0; i < R; i++)
        x[i] = i < R / 2 ? 1.0f : 0.0f;
    for (int64_t i = 0; i < R * F * R; i++)
        wf[i] = (float)w[i];
    pecs_problem p = ref_problem(c);
    pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F32, 3, 1, 1, R, x), ref_tensor("pos", PECS_DT_F64, 2, 1, 1, 0, &pos),
                        ref_tensor("out", PECS_DT_F32, 3, 1, 1, R, out), w_tensor(PECS_DT_F32, R, F, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 4;
    pecs_loaded_backend *lb = ref_scalar_backend();
    char why[256] = "";
    cr_assert(lb->b->supports(lb->b->ctx, &p, why, sizeof why), "scalar does not support rope.clex: %s", why);
    cr_assert_eq(lb->b->run(lb->b->ctx, &p), PECS_OK, "scalar run of rope.clex");
    for (int64_t i = 0; i < R / 2; i++)
        inv[i] = atan2((double)out[i + R / 2], (double)out[i]);
    free(wf);
}

static void fill(double *v, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(float)((double)(seed >> 11) * 0x1p-52 - 1.0);
    }
}

static void close_rel(const char *what, int64_t i, double got, double want, double rel)
{
    cr_assert(fabs(got - want) <= rel * fabs(want), "%s pair %lld: %.17g, want %.17g (rel %.3g)", what, (long long)i, got,
              want, fabs(got - want) / fabs(want));
}

/* ---- known answers ---------------------------------------------------------------------------------------- */

/* Zero net, R = 4, base 100, t = 2, one step (time_dt 1): pair 0 has no drift (inv 1); pair 1 starts at
 * 100^(-1/2) = 0.1 with rate g(t) = -2/(2t-1): g(1) = -2, g(4/3) = -6/5, g(5/3) = -6/7, g(2) = -2/3, so the 3/8 rule
 * adds (g(1) + 3 g(4/3) + 3 g(5/3) + g(2)) / 8 = -116/105. Catches the classic RK4 step (Simpson: -10/9), the exact
 * integral (-ln 3), a scale t instead of 2t - 1 and an ODE run over [0, t] or stopped a step short. */
Test(t2clex, zero_net_one_step_known_answer)
{
    pecs_case *c = ref_case("rope.clex", "pairing", "half", "base", "100", "t", "2", "time_dt", "1", NULL);
    double w[16] = {0}, inv[2], sc[2], want[2] = {1.0, 0.1 * exp(-116.0 / 105.0)};
    ref_ok(c, 4, 1, w, inv);
    scalar_inv(c, 4, 1, w, sc);
    for (int i = 0; i < 2; i++) {
        close_rel("reference", i, inv[i], want[i], 1e-15);
        close_rel("scalar", i, sc[i], want[i], 1e-6);
    }
    ref_case_free(c);
}

/* One path through the net, R = 4, F = 1, base 1e6, t = 2, one step: up[1][0] = 0.1, down[0][0] = 1 (w[1][0] and
 * w[2][0]: down is stored transposed), the rest 0. Pair 1 drifts as above from X = -ln 1000; its stage states are
 * X, X - 2/3, X - 8/15, X - 58/35 at t = 1, 4/3, 5/3, 2, and the net sees y = x_1 + log ntk_1(t) with the time
 * embedding's own base 10000: log ntk_1(t) = -ln 100 - ln(2t - 1). Pair 0 (x_0(1) = 0) gets
 * x_0(2) = (a(y1) + 3 a(y2) + 3 a(y3) + a(y4)) / 8, a(y) = act(0.1 y). Checked for tanh and silu. Catches the rotary
 * base in the time embedding (ln 1000 for ln 100), up and down read untransposed, the wrong activation and the
 * classic RK4 stages. */
Test(t2clex, one_path_net_known_answer)
{
    static const char *const acts[] = {"tanh", "silu"};
    for (int a = 0; a < 2; a++) {
        pecs_case *c = ref_case("rope.clex", "pairing", "half", "base", "1000000", "t", "2", "time_dt", "1", "act",
                                acts[a], NULL);
        double w[16] = {0}, inv[2], sc[2];
        w[1 * 4 + 0] = 0.1, w[2 * 4 + 0] = 1.0;
        double X = -log(1000.0), l100 = log(100.0);
        double y[4] = {X - l100, X - 2.0 / 3.0 - l100 - log(5.0 / 3.0), X - 8.0 / 15.0 - l100 - log(7.0 / 3.0),
                       X - 58.0 / 35.0 - l100 - log(3.0)};
        double h[4];
        for (int k = 0; k < 4; k++) {
            double z = 0.1 * y[k];
            h[k] = a ? z / (1.0 + exp(-z)) : tanh(z);
        }
        double want[2] = {exp((h[0] + 3.0 * h[1] + 3.0 * h[2] + h[3]) / 8.0), 1e-3 * exp(-116.0 / 105.0)};
        ref_ok(c, 4, 1, w, inv);
        scalar_inv(c, 4, 1, w, sc);
        for (int i = 0; i < 2; i++) {
            close_rel(acts[a], i, inv[i], want[i], 1e-14);
            close_rel(acts[a], i, sc[i], want[i], 1e-6);
        }
        ref_case_free(c);
    }
}

/* ---- properties ------------------------------------------------------------------------------------------- */

/* t = 1 is plain RoPE whatever the net (forward's t_val == 1 branch): inv_freq = base^(-2i/R). Catches a kernel that
 * runs the net anyway (one step from 1 to 1 is zero only with an empty grid) or reads the net's output at t = 1. */
Test(t2clex, t1_is_rope)
{
    double w[16 * 32], inv[8], sc[8];
    fill(w, 16 * 32, 5);
    pecs_case *c = ref_case("rope.clex", "pairing", "half", "base", "10000", "t", "1", "param_factor", "2", NULL);
    ref_ok(c, 16, 2, w, inv);
    scalar_inv(c, 16, 2, w, sc);
    for (int64_t i = 0; i < 8; i++) {
        double want = pow(10000.0, -(double)(2 * i) / 16.0);
        close_rel("reference", i, inv[i], want, 1e-15);
        close_rel("scalar", i, sc[i], want, 1e-6);
    }
    ref_case_free(c);
}

/* With a zero net the ODE is dx/dt = d/dt log ntk(t), so x(t) = log inv_freq + log ntk(t) - log ntk(1) up to the
 * rk4 error: inv_freq_i = base^(-2i/R) (2t - 1)^(-2i/(R-2)), here R = 16, t = 4, step 0.01 (300 steps). Catches
 * a scale other than 2t - 1, an exponent over R instead of R - 2 and a grid that misses the last step. */
Test(t2clex, zero_net_follows_ntk)
{
    double w[16 * 16] = {0}, inv[8], sc[8];
    pecs_case *c = ref_case("rope.clex", "pairing", "half", "base", "500000", "t", "4", "time_dt", "0.01", NULL);
    ref_ok(c, 16, 1, w, inv);
    scalar_inv(c, 16, 1, w, sc);
    for (int64_t i = 0; i < 8; i++) {
        double want = pow(500000.0, -(double)(2 * i) / 16.0) * pow(7.0, -(double)(2 * i) / 14.0);
        close_rel("reference", i, inv[i], want, 1e-9);
        close_rel("scalar", i, sc[i], want, 1e-6);
    }
    ref_case_free(c);
}

/* The reference and the scalar schedule agree on a dense random net (R = 16, F = 2, t = 3, step 0.1, both
 * activations), and the run is deterministic. Catches either code reading w with the other's layout. */
Test(t2clex, reference_and_scalar_agree_on_a_random_net)
{
    static const char *const acts[] = {"tanh", "silu"};
    double w[16 * 32], wsmall[16 * 32], inv[8], again[8], sc[8];
    fill(w, 16 * 32, 11);
    for (int i = 0; i < 16 * 32; i++)
        wsmall[i] = (double)(float)(w[i] / 8.0); /* silu grows without bound: a smaller net keeps exp(x) finite */
    for (int a = 0; a < 2; a++) {
        const double *wa = a ? wsmall : w;
        pecs_case *c = ref_case("rope.clex", "pairing", "half", "t", "3", "time_dt", "0.1", "param_factor", "2", "act",
                                acts[a], NULL);
        ref_ok(c, 16, 2, wa, inv);
        ref_ok(c, 16, 2, wa, again);
        cr_assert(!memcmp(inv, again, sizeof inv), "%s: two runs differ", acts[a]);
        scalar_inv(c, 16, 2, wa, sc);
        for (int64_t i = 0; i < 8; i++)
            if (inv[i] < 3.0) /* the angle at position 1 is read modulo 2 pi */
                close_rel(acts[a], i, sc[i], inv[i], 1e-5);
        ref_case_free(c);
    }
}

/* Bad input is an error with a reason, never a crash: no w, w of another width, a partial rotary_dim (the net is
 * sized by the head) and rotary_dim 2 (R - 2 = 0). */
Test(t2clex, bad_input_is_rejected)
{
    char why[256] = "";
    double w[16 * 16] = {0}, inv[8];
    pecs_case *c = ref_case("rope.clex", "t", "2", NULL);
    cr_assert_eq(ref_inv(c, 16, 1, NULL, inv, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "\"w\""), "%s", why);
    cr_assert_eq(ref_inv(c, 8, 2, w, inv, why, sizeof why), PECS_INVALID); /* [8, 16]: F = 2 but param_factor 1 */
    ref_case_free(c);
    c = ref_case("rope.clex", "t", "2", "rotary_dim", "8", NULL);
    pecs_problem p = ref_problem(c);
    pecs_tensor t = w_tensor(PECS_DT_F64, 16, 1, w);
    p.tensors = &t, p.n_tensors = 1;
    pecs_ref_rot s;
    cr_assert_eq(pecs_ref_rot_alloc(&s, 8), PECS_OK);
    pecs_ref_rot_reset(&s);
    cr_assert_eq(pecs_ref_schedule(&p, &s, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "rotary_dim"), "%s", why);
    pecs_ref_rot_free(&s);
    ref_case_free(c);
    c = ref_case("rope.clex", "t", "2", NULL);
    cr_assert_eq(ref_inv(c, 2, 1, w, inv, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "R - 2"), "%s", why);
    ref_case_free(c);
}
