/* tests/test_t2tapa.c — known answers and properties of rope.tapa (reference/rope_tapa.c; the scalar kernel in
 * impls/scalar/scores.c).
 *
 * TAPA (Wang et al., arXiv 2509.12635 sec. 3, Eq. 12): with A = theta D amplitude channels (the first A of the head)
 * and the other D - A the phase,
 *     out[h][i][j] = (q_A . k_A / sqrt(A)) cos(2 pi |qpos_i - kpos_j|^alpha (q_P . k_P) / sqrt(D - A)),
 * -inf where kpos_j > qpos_i (causal, the default). Every check runs the reference (f64) and the scalar backend (f32).
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
#include "testutil.h"

enum { AMAX = 2 * 16 * 16, OMAX = 2 * 16 * 16 };

/* out [H, Lq, Lk] of a scores case on q [Lq, H, D], k [Lk, H, D] at qpos, kpos: by the reference (lb NULL, f64) or by a
 * backend (f32 q, k, out). */
static pecs_status sc_run(const pecs_loaded_backend *lb, const pecs_case *c, int64_t H, int64_t D, int64_t Lq, int64_t Lk,
                          const double *q, const double *k, const double *qpos, const double *kpos, double *out, char *why,
                          size_t why_len)
{
    pecs_problem p = ref_problem(c);
    cr_assert(Lq * H * D <= AMAX && Lk * H * D <= AMAX && H * Lq * Lk <= OMAX);
    if (!lb) {
        pecs_tensor t[5] = {ref_tensor("q", PECS_DT_F64, 3, Lq, H, D, (void *)(uintptr_t)q),
                            ref_tensor("k", PECS_DT_F64, 3, Lk, H, D, (void *)(uintptr_t)k),
                            ref_tensor("qpos", PECS_DT_F64, 1, Lq, 0, 0, (void *)(uintptr_t)qpos),
                            ref_tensor("kpos", PECS_DT_F64, 1, Lk, 0, 0, (void *)(uintptr_t)kpos),
                            ref_tensor("out", PECS_DT_F64, 3, H, Lq, Lk, out)};
        p.tensors = t, p.n_tensors = 5;
        return pecs_ref_run(&p, why, why_len);
    }
    float qf[AMAX], kf[AMAX], of[OMAX];
    for (int64_t i = 0; i < Lq * H * D; i++)
        qf[i] = (float)q[i];
    for (int64_t i = 0; i < Lk * H * D; i++)
        kf[i] = (float)k[i];
    pecs_tensor t[5] = {ref_tensor("q", PECS_DT_F32, 3, Lq, H, D, qf), ref_tensor("k", PECS_DT_F32, 3, Lk, H, D, kf),
                        ref_tensor("qpos", PECS_DT_F64, 1, Lq, 0, 0, (void *)(uintptr_t)qpos),
                        ref_tensor("kpos", PECS_DT_F64, 1, Lk, 0, 0, (void *)(uintptr_t)kpos),
                        ref_tensor("out", PECS_DT_F32, 3, H, Lq, Lk, of)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 5;
    if (!lb->b->supports(lb->b->ctx, &p, why, why_len))
        return PECS_UNSUPPORTED;
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; st == PECS_OK && i < H * Lq * Lk; i++)
        out[i] = (double)of[i];
    return st;
}

static void sc_ok(const pecs_loaded_backend *lb, const pecs_case *c, int64_t H, int64_t D, int64_t Lq, int64_t Lk,
                  const double *q, const double *k, const double *qpos, const double *kpos, double *out)
{
    char why[256] = "";
    cr_assert_eq(sc_run(lb, c, H, D, Lq, Lk, q, k, qpos, kpos, out, why, sizeof why), PECS_OK, "%s: %s",
                 lb ? "backend" : "reference", why);
}

static void fill(double *v, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(float)((double)(seed >> 11) * 0x1p-52 - 1.0);
    }
}

static int load_mutant(const char *name, pecs_loaded_backend *lb)
{
    char path[1024], why[256] = "";
    snprintf(path, sizeof path, "%s/../mutants/libpecs-mutant-%s.so", tu_env("PECS_PLUGIN_DIR", "build/plugins"), name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    pecs_backend_opts o = {.isolate = 0};
    cr_assert_eq(pecs_backend_open(path, &o, lb, why, sizeof why), PECS_OK, "%s", why);
    return 1;
}

/* ---- known answer ----------------------------------------------------------------------------------------- */

/* H = 1, D = 8, theta 0.5 (A = 4: sqrt(A) = sqrt(D - A) = 2), alpha 0.1, queries and keys at positions 0 and 1024
 * (1024^0.1 = 2). Lanes [amplitude 0..3 | phase 4..7]:
 *     q0 = (2, 0, 1, 0 | 1, 1, 1, 1)      k0 = (3, 0.5, 0, 0 | 0.5, 0, 0, 0)
 *     q1 = (1, 2, 0, 0 | 1, 0, 0, 0)      k1 = (0, 1, 1, 0 | 5, 5, 5, 5)
 * (q0, k0): distance 0, 0^alpha = 0, cos 1: q_A.k_A / 2 = 6/2 = 3 (the phase half does not enter);
 * (q0, k1): causal: key 1024 after query 0, -inf; with causal=false: amplitude 1/2, phase 20/2 = 10, angle
 *           2 pi 2 10 = 40 pi, cos 1: 0.5;
 * (q1, k0): distance 1024: amplitude 4/2 = 2, phase 0.5/2 = 1/4, angle 2 pi 2 (1/4) = pi, cos -1: -2;
 * (q1, k1): distance 0: amplitude 2/2 = 1 (the phase 20/2 would turn it to -1 under 1^alpha, 5 pi).
 * Catches the halves swapped (q1, k0: 0.25), the phase without 2 pi (2 cos 0.5 = 1.76), 1/sqrt(D) for both scales
 * (-0.85), a distance of 1 at d = 0, and the mask the wrong way. */
static double hand_worked_error(const pecs_loaded_backend *lb)
{
    static const double q[16] = {2, 0, 1, 0, 1, 1, 1, 1, 1, 2, 0, 0, 1, 0, 0, 0};
    static const double k[16] = {3, 0.5, 0, 0, 0.5, 0, 0, 0, 0, 1, 1, 0, 5, 5, 5, 5};
    static const double pos[2] = {0.0, 1024.0};
    static const char *const causal[] = {"true", "false"};
    double want[2][4] = {{3.0, -INFINITY, -2.0, 1.0}, {3.0, 0.5, -2.0, 1.0}}, out[4], err = 0.0;
    for (int c = 0; c < 2; c++) {
        pecs_case *cs = ref_case("rope.tapa", "causal", causal[c], NULL);
        sc_ok(lb, cs, 1, 8, 2, 2, q, k, pos, pos, out);
        for (int e = 0; e < 4; e++)
            err = fmax(err, isinf(want[c][e]) ? (out[e] == want[c][e] ? 0.0 : INFINITY) : fabs(out[e] - want[c][e]));
        ref_case_free(cs);
    }
    return err;
}

Test(t2tapa, hand_worked_two_tokens)
{
    double e = hand_worked_error(NULL);
    cr_assert(e <= 1e-13, "reference: error %.3g", e);
    e = hand_worked_error(ref_scalar_backend());
    cr_assert(e <= 1e-5, "scalar: error %.3g", e);
}

/* The known answer can fail: the mutants' correct kernel passes it, the halves swapped and the phase without 2 pi miss
 * it (tapa_pow_difference agrees here, |1024^a - 0^a| = 1024^a: the relativity property below catches it). */
Test(t2tapa, hand_worked_catches_the_mutants)
{
    static const char *const names[] = {"none", "tapa_halves_swapped", "tapa_no_two_pi"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pecs_loaded_backend lb;
        if (!load_mutant(names[i], &lb))
            cr_skip_test("mutant %s not built", names[i]);
        double e = hand_worked_error(&lb);
        if (i == 0)
            cr_assert(e <= 1e-5, "mutant-none: error %.3g", e);
        else
            cr_assert(e > 1e-2, "mutant-%s passes the known answer (error %.3g)", names[i], e);
        pecs_backend_unload(&lb);
    }
}

/* ---- properties ------------------------------------------------------------------------------------------- */

/* The logits read the positions through |m - n| only (registry EXACT): on random q, k (2 heads, D 16, theta 0.25 and
 * 0.5), the logits at (qpos + s, kpos + s) equal those at (qpos, kpos) for s up to 2^20, and differ from the
 * amplitude alone (the phase is really there). On the diagonal (m = n) the logit is the amplitude alone. Reference
 * and scalar. */
static void relative_logits(const pecs_loaded_backend *lb, const char *theta, double tol, double *worst)
{
    int64_t H = 2, D = 16, L = 6, A = (int64_t)llround(atof(theta) * (double)D);
    double q[2 * 6 * 16], k[2 * 6 * 16], qp[6] = {0, 3, 7, 40, 41, 300}, kp[6] = {0, 2, 7, 30, 41, 299};
    double base[2 * 36], out[2 * 36], qs[6], ks[6];
    fill(q, L * H * D, 11);
    fill(k, L * H * D, 12);
    pecs_case *c = ref_case("rope.tapa", "theta", theta, "causal", "false", NULL);
    sc_ok(lb, c, H, D, L, L, q, k, qp, kp, base);
    int phase_seen = 0;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) {
                double amp = 0.0;
                for (int64_t d = 0; d < A; d++)
                    amp += q[(i * H + h) * D + d] * k[(j * H + h) * D + d];
                amp /= sqrt((double)A);
                double v = base[(h * L + i) * L + j];
                if (qp[i] == kp[j])
                    cr_assert(fabs(v - amp) <= tol, "theta %s head %lld (%lld, %lld) at distance 0: %.9g, amplitude %.9g",
                              theta, (long long)h, (long long)i, (long long)j, v, amp);
                else
                    phase_seen |= fabs(v - amp) > 1e-2;
            }
    cr_assert(phase_seen, "theta %s: no logit off the diagonal differs from its amplitude", theta);
    static const double shifts[] = {1.0, 17.0, 1000.0, 1048576.0};
    for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
        for (int64_t t = 0; t < L; t++)
            qs[t] = qp[t] + shifts[s], ks[t] = kp[t] + shifts[s];
        sc_ok(lb, c, H, D, L, L, q, k, qs, ks, out);
        for (int64_t e = 0; e < H * L * L; e++)
            *worst = fmax(*worst, fabs(out[e] - base[e]));
    }
    ref_case_free(c);
}

Test(t2tapa, logits_are_relative_and_the_diagonal_is_the_amplitude)
{
    static const char *const thetas[] = {"0.25", "0.5"};
    for (int t = 0; t < 2; t++) {
        double worst = 0.0;
        relative_logits(NULL, thetas[t], 1e-12, &worst);
        cr_assert(worst <= 1e-12, "reference theta %s: shifted logits move by %.3g", thetas[t], worst);
        worst = 0.0;
        relative_logits(ref_scalar_backend(), thetas[t], 1e-5, &worst);
        cr_assert(worst <= 1e-5, "scalar theta %s: shifted logits move by %.3g", thetas[t], worst);
    }
}

/* The same property fails on a kernel that powers the positions before subtracting them (mutant tapa_pow_difference):
 * its logits move with the shift. Skipped when the mutant is not built. */
Test(t2tapa, pow_difference_breaks_relativity)
{
    pecs_loaded_backend lb;
    if (!load_mutant("tapa_pow_difference", &lb))
        cr_skip_test("mutant tapa_pow_difference not built");
    double worst = 0.0;
    relative_logits(&lb, "0.5", 1e-5, &worst);
    cr_assert(worst > 1e-2, "the mutant kept the logits under shifts (moved by %.3g)", worst);
    pecs_backend_unload(&lb);
}

/* Bad input is an error with a reason, never a crash: theta * head_dim not an integer (0.3 * 8), or a split leaving no
 * phase channel (theta 0.5 on D = 1 rounds to 0 amplitude channels); the scalar backend refuses the same problems. And a
 * theta whose product is an integer only up to rounding (0.1 * 30 = 3.0000000000000004) is accepted as 3 channels. */
Test(t2tapa, bad_input_is_rejected)
{
    double q[30] = {0}, k[30] = {0}, out[4], pos[2] = {0, 1};
    char why[256] = "";
    pecs_case *c = ref_case("rope.tapa", "theta", "0.3", NULL);
    cr_assert_eq(sc_run(NULL, c, 1, 8, 1, 1, q, k, pos, pos, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "must be an integer"), "%s", why);
    pecs_status st = sc_run(ref_scalar_backend(), c, 1, 8, 1, 1, q, k, pos, pos, out, why, sizeof why);
    cr_assert(st == PECS_INVALID || st == PECS_UNSUPPORTED, "scalar: status %d", (int)st);
    ref_case_free(c);
    c = ref_case("rope.tapa", NULL);
    cr_assert_eq(sc_run(NULL, c, 1, 1, 1, 1, q, k, pos, pos, out, why, sizeof why), PECS_INVALID);
    ref_case_free(c);
    c = ref_case("rope.tapa", "theta", "0.1", NULL);
    cr_assert_eq(sc_run(NULL, c, 1, 30, 1, 1, q, k, pos, pos, out, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
}
