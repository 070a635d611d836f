/* tests/test_t2psc.c — known answers and properties of rope.psc (reference/rope_psc.c with the rotate driver's gate in
 * reference/forms.c; the scalar kernel's gate in impls/scalar/rotate.c).
 *
 * PSC gates each head before RoPE turns it (WNQzhu/PSC lora_llama.py Phase.forward, then apply_rotary_pos_emb):
 *     g = x * (1 + tanh(silu(x U_h) V_h) / 2),   out = RoPE(pos) g,
 * U_h and V_h the D x D maps of head h, one pair for queries and one for keys: w [4*H*D, D] = [U_q; V_q; U_k; V_k]
 * (each H*D rows, head-major), role picking the half. Every check runs the reference (f64) and the scalar backend
 * (f32 storage, w in f32).
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

enum { NMAX = 256, WMAX = 4 * 2 * 8 * 8 };

/* out [T, H, D] of rope.psc on x [T, H, D] at positions pos[T], w [4*H*D, D]: by the reference (f64) or by a backend
 * (f32 tensors). */
static pecs_status psc_run(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D,
                           const double *x, const double *pos, const double *w, double *out, char *why, size_t why_len)
{
    pecs_problem p = ref_problem(c);
    int64_t n = T * H * D, nw = 4 * H * D * D;
    cr_assert(n <= NMAX && nw <= WMAX);
    if (!lb) {
        pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F64, 3, T, H, D, (void *)(uintptr_t)x),
                            ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, (void *)(uintptr_t)pos),
                            ref_tensor("out", PECS_DT_F64, 3, T, H, D, out),
                            ref_tensor("w", PECS_DT_F64, 2, 4 * H * D, D, 0, (void *)(uintptr_t)w)};
        p.tensors = t, p.n_tensors = 4;
        return pecs_ref_run(&p, why, why_len);
    }
    float xf[NMAX], of[NMAX], wf[WMAX];
    for (int64_t i = 0; i < n; i++)
        xf[i] = (float)x[i];
    for (int64_t i = 0; i < nw; i++)
        wf[i] = (float)w[i];
    pecs_tensor t[4] = {ref_tensor("x", PECS_DT_F32, 3, T, H, D, xf),
                        ref_tensor("pos", PECS_DT_F64, 2, 1, T, 0, (void *)(uintptr_t)pos),
                        ref_tensor("out", PECS_DT_F32, 3, T, H, D, of), ref_tensor("w", PECS_DT_F32, 2, 4 * H * D, D, 0, wf)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 4;
    if (!lb->b->supports(lb->b->ctx, &p, why, why_len))
        return PECS_UNSUPPORTED;
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; st == PECS_OK && i < n; i++)
        out[i] = (double)of[i];
    return st;
}

static void psc_ok(const pecs_loaded_backend *lb, const pecs_case *c, int64_t T, int64_t H, int64_t D, const double *x,
                   const double *pos, const double *w, double *out)
{
    char why[256] = "";
    cr_assert_eq(psc_run(lb, c, T, H, D, x, pos, w, out, why, sizeof why), PECS_OK, "%s: %s", lb ? "scalar" : "reference",
                 why);
}

static void fill(double *v, int64_t n, uint64_t seed, double scale)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(float)(((double)(seed >> 11) * 0x1p-52 - 1.0) * scale);
    }
}

/* ---- known answer ----------------------------------------------------------------------------------------- */

/* D = 2, H = 1, one token at position 1 (inv_freq 1: the angle is 1 rad), x = (1, 2). Query maps: U_q[1][0] = 1, the
 * rest 0, so x U_q = (2, 0) and silu gives (s2, 0), s2 = silu(2) = 2 e^2 / (e^2 + 1); V_q row 0 = (L, -L) with
 * L = ln 2 / s2, so tanh(silu(x U) V) = (tanh ln 2, -tanh ln 2) = (3/5, -3/5) and the gate is (1.3, 0.7): g = (1.3, 1.4).
 * Key maps: the same U, V_k row 0 = (-L, L): gate (0.7, 1.3), g = (0.7, 2.6). The output is g turned by 1 rad:
 * (g0 cos 1 - g1 sin 1, g0 sin 1 + g1 cos 1). Catches the roles swapped (the q answer for keys), the up map read
 * transposed (x U^T = (0, 1): no gate on lane 0), the gate taken after the rotation (x U from the turned x), tanh
 * without the halving, and sigmoid for silu. */
/* The largest error of a backend (NULL: the reference) on the hand-worked problem, over both roles. */
static double hand_worked_error(const pecs_loaded_backend *lb)
{
    double e2 = exp(2.0), s2 = 2.0 * e2 / (e2 + 1.0), L = log(2.0) / s2, c1 = cos(1.0), sn1 = sin(1.0), err = 0.0;
    /* rows: U_q (0, 1), V_q (2, 3), U_k (4, 5), V_k (6, 7); two columns */
    double w[16] = {0, 0, 1, 0, L, -L, 0, 0, 0, 0, 1, 0, -L, L, 0, 0};
    double x[2] = {1.0, 2.0}, pos = 1.0, out[2];
    static const char *const roles[] = {"query", "key"};
    double g[2][2] = {{1.3, 1.4}, {0.7, 2.6}};
    for (int r = 0; r < 2; r++) {
        pecs_case *c = ref_case("rope.psc", "pairing", "half", "role", roles[r], NULL);
        double want[2] = {g[r][0] * c1 - g[r][1] * sn1, g[r][0] * sn1 + g[r][1] * c1};
        psc_ok(lb, c, 1, 1, 2, x, &pos, w, out);
        for (int i = 0; i < 2; i++)
            err = fmax(err, fabs(out[i] - want[i]));
        ref_case_free(c);
    }
    return err;
}

Test(t2psc, hand_worked_d2)
{
    double e = hand_worked_error(NULL);
    cr_assert(e <= 1e-14, "reference: error %.3g", e);
    e = hand_worked_error(ref_scalar_backend());
    cr_assert(e <= 1e-6, "scalar: error %.3g", e);
}

/* A mutant's kernel (build/mutants) loaded in process, or NULL (the test is then skipped) when it is not built. */
static int load_mutant(const char *name, pecs_loaded_backend *lb)
{
    char path[1024], why[256] = "";
    snprintf(path, sizeof path, "%s/../mutants/libpecs-mutant-%s.so", tu_env("PECS_PLUGIN_DIR", "build/plugins"), name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    pecs_backend_opts o = {.isolate = 0}; /* in process: its supports() and run() called directly */
    cr_assert_eq(pecs_backend_open(path, &o, lb, why, sizeof why), PECS_OK, "%s", why);
    return 1;
}

/* The known answer can fail: the mutants' correct kernel passes it, each rope.psc mutant (roles swapped, up map
 * transposed, gate after the rotation) misses it by far more than f32 rounding. */
Test(t2psc, hand_worked_catches_the_mutants)
{
    static const char *const names[] = {"none", "psc_roles_swapped", "psc_up_transposed", "psc_gate_after_rotation"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pecs_loaded_backend lb;
        if (!load_mutant(names[i], &lb))
            cr_skip_test("mutant %s not built", names[i]);
        double e = hand_worked_error(&lb);
        if (i == 0)
            cr_assert(e <= 1e-6, "mutant-none: error %.3g", e);
        else
            cr_assert(e > 1e-2, "mutant-%s passes the known answer (error %.3g)", names[i], e);
        pecs_backend_unload(&lb);
    }
}

/* ---- properties ------------------------------------------------------------------------------------------- */

/* A fresh PSC (phase.py and Phase.reset_parameters: up maps zero, down maps random) is the identity gate: silu(0) = 0,
 * tanh(0) = 0, coefficient 1, so the output is plain RoPE whatever V. Catches sigmoid for silu (1/2, not 0), a bias of
 * 1 in the coefficient read as tanh + 1 without the 1 +, and a kernel gating with V alone. */
Test(t2psc, zero_up_maps_are_rope)
{
    int64_t T = 3, H = 2, D = 8, n = T * H * D;
    double x[48], w[4 * 2 * 8 * 8], pos[3] = {0.0, 7.0, 4096.0}, out[48], plain[48];
    fill(x, n, 3, 1.0);
    fill(w, 4 * H * D * D, 4, 1.0);
    for (int64_t q = 0; q < 2; q++) /* U_q and U_k to zero, V_q and V_k left random */
        memset(w + (2 * q) * H * D * D, 0, (size_t)(H * D * D) * sizeof *w);
    pecs_case *c = ref_case("rope.psc", "pairing", "interleaved", "role", "key", NULL);
    pecs_case *r = ref_case("rope", "pairing", "interleaved", NULL);
    for (int k = 0; k < 2; k++) {
        const pecs_loaded_backend *lb = k ? ref_scalar_backend() : NULL;
        psc_ok(lb, c, T, H, D, x, pos, w, out);
        psc_ok(lb, r, T, H, D, x, pos, w, plain); /* rope ignores w */
        for (int64_t i = 0; i < n; i++)
            cr_assert(fabs(out[i] - plain[i]) <= (k ? 1e-6 : 1e-15), "%s element %lld: %.17g, rope %.17g",
                      k ? "scalar" : "reference", (long long)i, out[i], plain[i]);
    }
    ref_case_free(c);
    ref_case_free(r);
}

/* q . k logits of head h between query position m and key position n, from rope.psc outputs (role query, role key). */
static double logit(const pecs_loaded_backend *lb, pecs_case *cq, pecs_case *ck, int64_t H, int64_t D, const double *q,
                    const double *k, double m, double n, const double *w, int64_t h)
{
    double oq[16], ok[16];
    psc_ok(lb, cq, 1, H, D, q, &m, w, oq);
    psc_ok(lb, ck, 1, H, D, k, &n, w, ok);
    double s = 0.0;
    for (int64_t d = 0; d < D; d++)
        s += oq[h * D + d] * ok[h * D + d];
    return s;
}

/* The gate is position-free and comes before the rotation, so <R(m) g_q(q), R(n) g_k(k)> depends on n - m only
 * (registry EXACT): the logit at (m, n) equals the one at (m + s, n + s) for shifts up to 2^20, on dense random maps.
 * And the gate is really there: the logit differs from plain RoPE's. Catches the gate taken after the rotation (it
 * then sees R(m) x: the logit moves with the shift; the mutant psc_gate_after_rotation fails this check), and a gate
 * that reads the position. */
Test(t2psc, logits_are_relative)
{
    int64_t H = 2, D = 8;
    double q[16], k[16], w[4 * 2 * 8 * 8];
    fill(q, H * D, 21, 1.0);
    fill(k, H * D, 22, 1.0);
    fill(w, 4 * H * D * D, 23, 1.0);
    pecs_case *cq = ref_case("rope.psc", "pairing", "half", "role", "query", NULL);
    pecs_case *ck = ref_case("rope.psc", "pairing", "half", "role", "key", NULL);
    pecs_case *rq = ref_case("rope", "pairing", "half", NULL);
    static const double shifts[] = {1.0, 16.0, 1000.0, 1048576.0};
    for (int b = 0; b < 2; b++) {
        const pecs_loaded_backend *lb = b ? ref_scalar_backend() : NULL;
        for (int64_t h = 0; h < H; h++) {
            double base = logit(lb, cq, ck, H, D, q, k, 5.0, 2.0, w, h);
            double plain = logit(lb, rq, rq, H, D, q, k, 5.0, 2.0, w, h);
            cr_assert(fabs(base - plain) > 1e-3, "head %lld: the gate changed nothing (%.9g)", (long long)h, base);
            for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
                double s = shifts[i], got = logit(lb, cq, ck, H, D, q, k, 5.0 + s, 2.0 + s, w, h);
                double tol = b ? 1e-5 : 1e-12; /* scalar: f32 storage (angles in double, cos and sin rounded once) */
                cr_assert(fabs(got - base) <= tol, "%s head %lld shift %g: %.12g, at 0 %.12g", b ? "scalar" : "reference",
                          (long long)h, s, got, base);
            }
        }
    }
    ref_case_free(cq);
    ref_case_free(ck);
    ref_case_free(rq);
}

/* The same property fails on a kernel that gates the rotated head (build/mutants, psc_gate_after_rotation): the check
 * above can fail. Skipped when the mutant is not built. */
Test(t2psc, gate_after_rotation_breaks_relativity)
{
    pecs_loaded_backend lb;
    if (!load_mutant("psc_gate_after_rotation", &lb))
        cr_skip_test("mutant psc_gate_after_rotation not built");
    int64_t H = 2, D = 8;
    double q[16], k[16], w[4 * 2 * 8 * 8];
    fill(q, H * D, 21, 1.0);
    fill(k, H * D, 22, 1.0);
    fill(w, 4 * H * D * D, 23, 1.0);
    pecs_case *cq = ref_case("rope.psc", "pairing", "half", "role", "query", NULL);
    pecs_case *ck = ref_case("rope.psc", "pairing", "half", "role", "key", NULL);
    double base = logit(&lb, cq, ck, H, D, q, k, 5.0, 2.0, w, 0), moved = logit(&lb, cq, ck, H, D, q, k, 21.0, 18.0, w, 0);
    cr_assert(fabs(moved - base) > 1e-3, "the mutant kept the logit (%.9g, %.9g)", base, moved);
    ref_case_free(cq);
    ref_case_free(ck);
    pecs_backend_unload(&lb);
}

/* Bad input is an error with a reason, never a crash: no w, w sized for another head count, a partial rotary_dim
 * (the gate covers the whole head). */
Test(t2psc, bad_input_is_rejected)
{
    char why[256] = "";
    double x[16] = {0}, w[4 * 2 * 8 * 8] = {0}, pos = 0.0, out[16];
    pecs_case *c = ref_case("rope.psc", NULL);
    pecs_problem p = ref_problem(c);
    pecs_tensor t[3] = {ref_tensor("x", PECS_DT_F64, 3, 1, 2, 8, x), ref_tensor("pos", PECS_DT_F64, 2, 1, 1, 0, &pos),
                        ref_tensor("out", PECS_DT_F64, 3, 1, 2, 8, out)};
    p.tensors = t, p.n_tensors = 3;
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "\"w\""), "%s", why);
    /* w for one head on a two-head call */
    cr_assert_eq(psc_run(NULL, c, 1, 1, 8, x, &pos, w, out, why, sizeof why), PECS_OK, "%s", why);
    pecs_tensor t4[4] = {t[0], t[1], t[2], ref_tensor("w", PECS_DT_F64, 2, 4 * 1 * 8, 8, 0, w)};
    p.tensors = t4, p.n_tensors = 4;
    cr_assert_eq(pecs_ref_run(&p, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "[64, 8]"), "%s", why);
    ref_case_free(c);
    c = ref_case("rope.psc", "rotary_dim", "4", NULL);
    cr_assert_eq(psc_run(NULL, c, 1, 2, 8, x, &pos, w, out, why, sizeof why), PECS_INVALID);
    cr_assert(strstr(why, "rotary_dim"), "%s", why);
    ref_case_free(c);
}
