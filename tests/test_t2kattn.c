/* tests/test_t2kattn.c — toeplitz.fft (kattn form): kernelized attention with the Toeplitz factor exp(b[j - i]).
 *
 * The reference (reference/toeplitz_fft.c) sums directly; the scalar kernel (impls/scalar/kattn.c) applies the
 * factor by a zero-padded FFT. Known answers are worked by hand below (each names the wrong kernel it rules out:
 * the Toeplitz index reversed, the feature map without its -|x'|^2/2 term or its D^(-1/4) scale); the property
 * tests check the FFT kernel against the direct sum at several lengths (powers of two and not, Lq != Lk), that a
 * common shift of b cancels (the normalisation), and that the circular-convolution mutant fails end to end.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "case.h"
#include "reference.h"
#include "kattnutil.h"
#include "refutil.h"
#include "runutil.h"
#include "registry.h"
#include "runner.h"
#include "testutil.h"
#include "tolerance.h"

/* A toeplitz.fft problem: w [1, H (2N + 1) + m D] (the per-head bias table over distances -N..N, then the feature
 * map's m x D matrix). */
static kio tio_new(int64_t Lq, int64_t Lk, int64_t H, int64_t D, int64_t N, int64_t m)
{
    return kio_new_w(Lq, Lk, H, D, 1, H * (2 * N + 1) + m * D);
}

/* Both the reference (to 1e-14) and the scalar FFT kernel (to 1e-6, f32 storage) give `want`. */
static void expect_both(const pecs_case *c, kio *s, const double *want, const char *what)
{
    kio_expect_within(c, s, want, what, 1e-14, 1e-6);
}

/* Hand-worked: D = 1, m = 1, W = [0], q = k = 0, so phi = 1 everywhere and kappa = 1: the output is the
 * exp(b[j - i])-weighted mean of v. N = 1, b[-1] = 0, b[0] = 0, b[1] = 1; v = (1, -1):
 *   query 0: keys at d = 0, +1:  (e^0 * 1 + e^1 * (-1)) / (e^0 + e^1) = (1 - e) / (1 + e)
 *   query 1: keys at d = -1, 0:  (e^0 * 1 + e^0 * (-1)) / 2 = 0
 * A kernel reading b[i - j] (the Toeplitz index reversed) gives 0 and (e - 1)/(e + 1) instead. */
Test(t2kattn, known_answer_toeplitz_orientation)
{
    pecs_case *c = ref_case("toeplitz.fft", "max_distance", "1", "features", "1", NULL);
    kio s = tio_new(2, 2, 1, 1, 1, 1);
    s.w[0] = 0.0, s.w[1] = 0.0, s.w[2] = 1.0; /* b[-1], b[0], b[1]; then W = [0] */
    s.v[0] = 1.0, s.v[1] = -1.0;
    double e = exp(1.0), want[2] = {(1.0 - e) / (1.0 + e), 0.0};
    expect_both(c, &s, want, "orientation");
    kio_free(&s);
    ref_case_free(c);
}

/* Hand-worked feature map: m = 2 rows W = (+1, -1) on channel 0, b = 0 (no positional factor), one query over two
 * keys, v = (1, -1). With x' = x / D^(1/4) = (1, 0, ...) for q and k1, 0 for k0:
 *   phi(q) = phi(k1) = (e^(1 - 1/2), e^(-1 - 1/2)) / sqrt 2,   phi(k0) = (1, 1) / sqrt 2
 *   kappa0 = (e^0.5 + e^-1.5) / 2,   kappa1 = (e^1 + e^-3) / 2,   out = (kappa0 - kappa1) / (kappa0 + kappa1)
 * D = 1 (x = 1) and D = 16 (x = 2 on channel 0: 16^(1/4) = 2) give the same answer; a map without -|x'|^2/2 gives
 * (e + e^-1 - e^2 - e^-2)/(...) instead, one without the D^(-1/4) scale differs at D = 16. */
static void feature_map_case(int64_t D, double x)
{
    char dd[32];
    snprintf(dd, sizeof dd, "%lld", (long long)D);
    pecs_case *c = ref_case("toeplitz.fft", "max_distance", "1", "features", "2", "head_dim", dd, NULL);
    kio s = tio_new(1, 2, 1, D, 1, 2);
    int64_t wf = 3; /* W after the 2N + 1 = 3 biases (all 0) */
    s.w[wf + 0 * D + 0] = 1.0, s.w[wf + 1 * D + 0] = -1.0;
    s.q[0] = x;                       /* query 0, channel 0 */
    s.k[1 * D + 0] = x;               /* key 1, channel 0; key 0 is 0 */
    s.v[0] = 1.0, s.v[1 * D + 0] = -1.0; /* channel 0 of v; the other channels are 0 */
    double k0 = (exp(0.5) + exp(-1.5)) / 2.0, k1 = (exp(1.0) + exp(-3.0)) / 2.0;
    double *want = calloc((size_t)D, sizeof *want);
    cr_assert_not_null(want);
    want[0] = (k0 - k1) / (k0 + k1);
    expect_both(c, &s, want, D == 1 ? "feature map, D = 1" : "feature map, D = 16");
    free(want);
    kio_free(&s);
    ref_case_free(c);
}

Test(t2kattn, known_answer_feature_map)
{
    feature_map_case(1, 1.0);
    feature_map_case(16, 2.0);
}

/* Deterministic pseudo-random data in [-1, 1). */
static double rnd(uint64_t *st)
{
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*st >> 11) * 0x1p-52 - 1.0;
}

static void random_io(kio *s, uint64_t seed)
{
    uint64_t st = seed;
    for (int64_t i = 0; i < s->L * s->H * s->D; i++)
        s->q[i] = (float)rnd(&st);
    for (int64_t i = 0; i < s->Lk * s->H * s->D; i++)
        s->k[i] = (float)rnd(&st), s->v[i] = (float)rnd(&st);
    for (int64_t i = 0; i < s->wc; i++)
        s->w[i] = (float)rnd(&st);
}

/* The FFT kernel against the direct sum at lengths that are powers of two and not, square and not (the FFT pads to
 * the power of two >= Lq + Lk - 1; a kernel padding to max(Lq, Lk) convolves circularly and fails every case with
 * Lq + Lk - 1 above that power). Inputs are f32 values, so both codes read the same numbers. */
Test(t2kattn, fft_matches_direct_sum)
{
    static const int64_t shapes[][2] = {{1, 1}, {2, 2}, {3, 3}, {7, 7}, {8, 8}, {9, 9}, {33, 33}, {1, 40}, {40, 1},
                                        {5, 12}, {12, 5}, {64, 64}, {100, 37}};
    for (size_t n = 0; n < sizeof shapes / sizeof shapes[0]; n++) {
        int64_t Lq = shapes[n][0], Lk = shapes[n][1], N = (Lq > Lk ? Lq : Lk) - 1 + 3, H = 2, D = 6, m = 5;
        char nn[32];
        snprintf(nn, sizeof nn, "%lld", (long long)N);
        pecs_case *c = ref_case("toeplitz.fft", "max_distance", nn, "features", "5", "head_dim", "6", NULL);
        kio s = tio_new(Lq, Lk, H, D, N, m);
        random_io(&s, 1000 + n);
        double *sc = calloc((size_t)(Lq * H * D), sizeof *sc);
        cr_assert_not_null(sc);
        kio_run_ref(c, &s);
        kio_run_scalar(c, &s, sc);
        double worst = 0.0;
        for (int64_t i = 0; i < Lq * H * D; i++)
            worst = fmax(worst, fabs(sc[i] - s.out[i]));
        cr_expect(worst <= 2e-7, "Lq %lld, Lk %lld: FFT kernel differs from the direct sum by %.3g", (long long)Lq,
                  (long long)Lk, worst);
        free(sc);
        kio_free(&s);
        ref_case_free(c);
    }
}

/* exp(b + C) = e^C exp(b): a common shift of the table cancels in the ratio (a kernel that forgets the denominator,
 * or normalises by the unweighted kernel sum, does not have this property). */
Test(t2kattn, common_bias_shift_cancels)
{
    pecs_case *c = ref_case("toeplitz.fft", "max_distance", "20", "features", "4", "head_dim", "4", NULL);
    kio s = tio_new(9, 13, 2, 4, 20, 4);
    random_io(&s, 77);
    kio_run_ref(c, &s);
    int64_t n = 9 * 2 * 4;
    double *a = calloc((size_t)n, sizeof *a);
    cr_assert_not_null(a);
    memcpy(a, s.out, (size_t)n * sizeof *a);
    for (int64_t i = 0; i < 2 * 41; i++)
        s.w[i] += 0.75;
    kio_run_ref(c, &s);
    for (int64_t i = 0; i < n; i++)
        cr_expect(fabs(a[i] - s.out[i]) <= 1e-13, "out[%lld]: %.17g vs %.17g after shifting b", (long long)i, a[i], s.out[i]);
    free(a);
    kio_free(&s);
    ref_case_free(c);
}

/* The registry and the case rules: the form's name, Lq - 1 and Lk - 1 within max_distance, no in-place view. */
Test(t2kattn, registry_and_case_rules)
{
    const pecs_encoding_info *e = pecs_registry_find("toeplitz.fft");
    cr_assert_not_null(e);
    cr_expect_eq(e->form, PECS_FORM_KATTN);
    cr_expect_str_eq(pecs_form_name(PECS_FORM_KATTN), "kattn");
    char why[256] = "";
    pecs_case *c = ref_case("toeplitz.fft", "tokens", "66", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "66 tokens: distance 65 over max_distance 64");
    cr_expect(strstr(why, "max_distance >= 65 (it is 64)") != NULL, "%s", why);
    ref_case_free(c);
    c = ref_case("toeplitz.fft", "tokens", "8", "keys", "66", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "66 keys over max_distance 64");
    ref_case_free(c);
    c = ref_case("toeplitz.fft", "tokens", "9", "keys", "1", "max_distance", "7", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "9 queries over max_distance 7");
    ref_case_free(c);
    c = ref_case("toeplitz.fft", "tokens", "65", NULL); /* the edge: distance 64 = N */
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_OK, "%s", why);
    ref_case_free(c);
    c = ref_case("toeplitz.fft", "view", "inplace", NULL);
    cr_expect_eq(pecs_case_validate(c, why, sizeof why), PECS_INVALID, "inplace has no input of out's shape");
    ref_case_free(c);
}

/* End to end through the harness: the scalar FFT kernel and the mutants' control pass; the circular-convolution
 * mutant (FFT of max(Lq, Lk) points) fails where Lq + Lk - 1 exceeds that power of two, and passes where it does
 * not (Lq = 1: nothing wraps), so the failure is the wrap and nothing else. */
Test(t2kattn, harness_passes_scalar_and_fails_circular_mutant)
{
    static const char *const ok[] = {
        "toeplitz.fft tokens=8 heads=2 head_dim=8 features=8",
        "toeplitz.fft tokens=5 keys=12 heads=3 head_dim=20 features=16 dtype=bf16 view=strided",
        "toeplitz.fft tokens=33 heads=1 head_dim=16 dtype=f16",
    };
    char reason[768], path[512];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict("scalar", ok[i], reason, sizeof reason), PECS_V_PASSED, "%s: %s", ok[i], reason);
    snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-none.so", tu_env("PECS_BUILD", "build"));
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_expect_eq(tu_run_verdict(path, ok[i], reason, sizeof reason), PECS_V_PASSED, "control, %s: %s", ok[i], reason);
    snprintf(path, sizeof path, "%s/mutants/libpecs-mutant-toeplitz_circular.so", tu_env("PECS_BUILD", "build"));
    cr_expect_eq(tu_run_verdict(path, "toeplitz.fft tokens=8 heads=2 head_dim=8 features=8", reason, sizeof reason),
                 PECS_V_FAILED, "circular: %s", reason);
    cr_expect_eq(tu_run_verdict(path, "toeplitz.fft tokens=1 keys=8 heads=2 head_dim=8 features=8", reason, sizeof reason),
                 PECS_V_PASSED, "circular with one query (no wrap): %s", reason);
}
