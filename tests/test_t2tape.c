/* tests/test_t2tape.c — known answers and properties of tape (reference/tape.c; the scalar kernel in
 * impls/scalar/scores.c).
 *
 * TAPE's logits (VITA-Group/TAPE models/llama/adape.py apply_rotary_pos_emb, PELlamaAttention.forward), with token t's
 * position state (C_t, S_t) for head h in row h*L + t of w [H*L, 2D], pairs (f, b = f + D/2):
 *     q~[f] = q[f] C_i[f] - q[b] S_i[f],  q~[b] = q[b] C_i[b] + q[f] S_i[b],  k~ likewise,  out = q~.k~ / sqrt(D),
 * -inf where kpos_j > qpos_i. Every check runs the reference (f64) and the scalar backend (f32); the mutants of
 * impls/mutants/mutants.def are loaded where built to show each check failing on a wrong kernel.
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
#include "registry.h"
#include "testutil.h"

enum { TMAX = 4096 };

/* out [H, L, L] of a tape case on q, k [L, H, D], positions pos (queries and keys: one sequence), w [H*L, wc]: by the
 * reference (lb NULL, f64) or by a backend (f32 inputs and output). Lk may differ from L to test the one-sequence rule. */
static pecs_status tp_run(const pecs_loaded_backend *lb, const pecs_case *c, int64_t H, int64_t D, int64_t L, int64_t Lk,
                          const double *q, const double *k, const double *pos, const double *w, int64_t wc, double *out,
                          char *why, size_t why_len)
{
    pecs_problem p = ref_problem(c);
    int64_t wr = H * L;
    cr_assert(L * H * D <= TMAX && Lk * H * D <= TMAX && H * L * Lk <= TMAX && wr * wc <= TMAX);
    if (!lb) {
        pecs_tensor t[6] = {ref_tensor("q", PECS_DT_F64, 3, L, H, D, (void *)(uintptr_t)q),
                            ref_tensor("k", PECS_DT_F64, 3, Lk, H, D, (void *)(uintptr_t)k),
                            ref_tensor("qpos", PECS_DT_F64, 1, L, 0, 0, (void *)(uintptr_t)pos),
                            ref_tensor("kpos", PECS_DT_F64, 1, Lk, 0, 0, (void *)(uintptr_t)pos),
                            ref_tensor("w", PECS_DT_F64, 2, wr, wc, 0, (void *)(uintptr_t)w),
                            ref_tensor("out", PECS_DT_F64, 3, H, L, Lk, out)};
        p.tensors = t, p.n_tensors = 6;
        return pecs_ref_run(&p, why, why_len);
    }
    static float qf[TMAX], kf[TMAX], wf[TMAX], of[TMAX];
    for (int64_t i = 0; i < L * H * D; i++)
        qf[i] = (float)q[i];
    for (int64_t i = 0; i < Lk * H * D; i++)
        kf[i] = (float)k[i];
    for (int64_t i = 0; i < wr * wc; i++)
        wf[i] = (float)w[i];
    pecs_tensor t[6] = {ref_tensor("q", PECS_DT_F32, 3, L, H, D, qf), ref_tensor("k", PECS_DT_F32, 3, Lk, H, D, kf),
                        ref_tensor("qpos", PECS_DT_F64, 1, L, 0, 0, (void *)(uintptr_t)pos),
                        ref_tensor("kpos", PECS_DT_F64, 1, Lk, 0, 0, (void *)(uintptr_t)pos),
                        ref_tensor("w", PECS_DT_F32, 2, wr, wc, 0, wf), ref_tensor("out", PECS_DT_F32, 3, H, L, Lk, of)};
    p.dtype = PECS_DT_F32, p.tensors = t, p.n_tensors = 6;
    if (!lb->b->supports(lb->b->ctx, &p, why, why_len))
        return PECS_UNSUPPORTED;
    pecs_status st = lb->b->run(lb->b->ctx, &p);
    for (int64_t i = 0; st == PECS_OK && i < H * L * Lk; i++)
        out[i] = (double)of[i];
    return st;
}

static void tp_ok(const pecs_loaded_backend *lb, const pecs_case *c, int64_t H, int64_t D, int64_t L, const double *q,
                  const double *k, const double *pos, const double *w, double *out)
{
    char why[256] = "";
    cr_assert_eq(tp_run(lb, c, H, D, L, L, q, k, pos, w, 2 * D, out, why, sizeof why), PECS_OK, "%s: %s",
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

/* Largest |got - want| over n elements, with -inf required exactly where want is -inf. */
static double max_err(const double *got, const double *want, int64_t n)
{
    double e = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (isinf(want[i])) {
            if (!(isinf(got[i]) && got[i] < 0))
                return INFINITY;
            continue;
        }
        e = fmax(e, fabs(got[i] - want[i]));
    }
    return e;
}

/* ---- known answer ----------------------------------------------------------------------------------------- */

/* H = 1, D = 4 (pairs (0, 2) and (1, 3)), tokens 0 and 1 at positions 0, 1:
 *   token 0: C = (1 1 1 1), S = 0 (the identity, RoPE at position 0)   q0 = (2 0 0 1), k0 = (1 0 2 1)
 *   token 1: C = (0 2 0 1), S = (1 0 3 0) (halves not tied)            q1 = (1 2 3 4), k1 = (1 0 0 1)
 *   q~1 = (1*0 - 3*1, 2*2 - 4*0, 3*0 + 1*3, 4*1 + 2*0) = (-3 4 3 4),  k~1 = (0 0 3 1),  q~0 = q0, k~0 = k0
 *   out = [q0.k0 = 3, -inf ; q~1.k0 = -3 + 6 + 4 = 7, q~1.k~1 = 9 + 4 = 13] / sqrt(4) = [1.5 -inf ; 3.5 6.5]
 * Catches rotate_half's signs flipped (tape_sin_sign: 0.5 at (1, 0)), pairs (2f, 2f + 1) (tape_interleaved: -11 and
 * 20), the key's state on the query (tape_key_state_for_query: 5.5), 1/D for 1/sqrt(D), and the mask reversed. */
static double hand_worked_error(const pecs_loaded_backend *lb)
{
    static const double q[8] = {2, 0, 0, 1, 1, 2, 3, 4}, k[8] = {1, 0, 2, 1, 1, 0, 0, 1}, pos[2] = {0, 1};
    static const double w[16] = {1, 1, 1, 1, 0, 0, 0, 0, /* token 0: C | S */
                                 0, 2, 0, 1, 1, 0, 3, 0}; /* token 1 */
    const double want[4] = {1.5, -INFINITY, 3.5, 6.5};
    double out[4];
    pecs_case *c = ref_case("tape", NULL);
    tp_ok(lb, c, 1, 4, 2, q, k, pos, w, out);
    ref_case_free(c);
    return max_err(out, want, 4);
}

Test(t2tape, known_answer_d4)
{
    cr_assert_lt(hand_worked_error(NULL), 1e-12, "reference");
    cr_assert_lt(hand_worked_error(ref_scalar_backend()), 1e-6, "scalar");
    static const char *const mutants[] = {"tape_sin_sign", "tape_interleaved", "tape_key_state_for_query"};
    for (size_t m = 0; m < sizeof mutants / sizeof mutants[0]; m++) {
        pecs_loaded_backend lb;
        if (!load_mutant(mutants[m], &lb))
            continue;
        cr_assert_gt(hand_worked_error(&lb), 0.5, "mutant %s passes the hand-worked answer", mutants[m]);
        pecs_backend_unload(&lb);
    }
}

/* ---- properties ------------------------------------------------------------------------------------------- */

/* Tied states (C_t[f] = C_t[f + D/2], S likewise: what the code's initial tables and d-independent updates keep) from
 * random (c, s) per (head, token, f), into w [H*L, 2D]; `angle` > 0 rotates every (c, s) by angle (h + 1)(f + 1). */
static void tied_states(double *w, int64_t H, int64_t D, int64_t L, const double *cs, double angle)
{
    int64_t F = D / 2;
    for (int64_t h = 0; h < H; h++)
        for (int64_t t = 0; t < L; t++)
            for (int64_t f = 0; f < F; f++) {
                const double *e = cs + ((h * L + t) * F + f) * 2;
                double a = angle * (double)((h + 1) * (f + 1)), c = cos(a) * e[0] - sin(a) * e[1],
                       s = sin(a) * e[0] + cos(a) * e[1];
                double *row = w + (h * L + t) * 2 * D;
                row[f] = row[f + F] = c;
                row[D + f] = row[D + f + F] = s;
            }
}

/* The paper's equivariance, as the code's logits have it: rotating every token's state (c, s) by one angle per
 * (head, lane pair) leaves the logits unchanged (they read (c_i c_j + s_i s_j) and (c_i s_j - s_i c_j) only). H 2,
 * D 8, 6 tokens at random states. A kernel pairing the lanes (2f, 2f + 1) (tape_interleaved) mixes lanes of two pairs
 * rotated by different angles and fails; so does the reference if the states are not tied (checked too: the row's
 * formula is the code's, not a rotation-invariant rewrite). */
Test(t2tape, rotating_every_state_leaves_the_logits)
{
    enum { H = 2, D = 8, L = 6, N = H * L * L };
    double q[L * H * D], k[L * H * D], pos[L], cs[H * L * (D / 2) * 2], w0[H * L * 2 * D], w1[H * L * 2 * D];
    double a[N], b[N];
    fill(q, L * H * D, 11);
    fill(k, L * H * D, 12);
    fill(cs, H * L * D, 13);
    for (int64_t t = 0; t < L; t++)
        pos[t] = 50.0 + (double)t;
    tied_states(w0, H, D, L, cs, 0.0);
    tied_states(w1, H, D, L, cs, 0.7);
    pecs_case *c = ref_case("tape", NULL);
    tp_ok(NULL, c, H, D, L, q, k, pos, w0, a);
    tp_ok(NULL, c, H, D, L, q, k, pos, w1, b);
    cr_assert_lt(max_err(b, a, N), 1e-12, "reference: rotated states change the logits by %g", max_err(b, a, N));
    double moved = 0.0; /* the rotation is not the identity: the states moved */
    for (int64_t i = 0; i < H * L * 2 * D; i++)
        moved = fmax(moved, fabs(w1[i] - w0[i]));
    cr_assert_gt(moved, 0.1);
    tp_ok(ref_scalar_backend(), c, H, D, L, q, k, pos, w0, a);
    tp_ok(ref_scalar_backend(), c, H, D, L, q, k, pos, w1, b);
    cr_assert_lt(max_err(b, a, N), 2e-6, "scalar: rotated states change the logits by %g", max_err(b, a, N));
    w1[2 * D + 1] += 0.5; /* untie one lane of token 1, head 0 (C[1] != C[1 + D/2]): no longer a pure rotation */
    double w2[H * L * 2 * D];
    memcpy(w2, w1, sizeof w2);
    tp_ok(NULL, c, H, D, L, q, k, pos, w1, a);
    for (int64_t t = 0; t < L; t++) /* rotate pair f = 1 of head 0 by pi/2 in every token: (c, s) -> (-s, c) */
        for (int64_t half = 0; half < 2; half++) {
            double *row = w2 + t * 2 * D, cc = row[1 + half * D / 2], ss = row[D + 1 + half * D / 2];
            row[1 + half * D / 2] = -ss, row[D + 1 + half * D / 2] = cc;
        }
    tp_ok(NULL, c, H, D, L, q, k, pos, w2, b);
    cr_assert_gt(max_err(b, a, N), 1e-3, "untied states: a rotation must be seen (the formula is the code's)");
    pecs_loaded_backend lb;
    if (load_mutant("tape_interleaved", &lb)) {
        tp_ok(&lb, c, H, D, L, q, k, pos, w0, a);
        tied_states(w1, H, D, L, cs, 0.7);
        tp_ok(&lb, c, H, D, L, q, k, pos, w1, b);
        cr_assert_gt(max_err(b, a, N), 1e-3, "tape_interleaved keeps the logits under the rotation");
        pecs_backend_unload(&lb);
    }
    ref_case_free(c);
}

/* The code's first-layer states are RoPE's tables (AdaRotaryEmbedding: C_t = cos(t w_f), S_t = sin(t w_f) in both
 * halves, w_f = 10000^(-2f/D), t the token index): the logits are then plain RoPE's, written out here,
 *     sum_f cos((i - j) w_f)(q_f k_f + q_b k_b) + sin((i - j) w_f)(q_f k_b - q_b k_f), over sqrt(D).
 * H 2, D 16, 12 tokens (positions = token indices). The key's state on the query (tape_key_state_for_query: |z_j|^2 =
 * 1, plain q.k) and the sines' signs (tape_sin_sign: R(j - i)) fail it. */
Test(t2tape, rope_tables_give_the_rope_logits)
{
    enum { H = 2, D = 16, L = 12, F = D / 2, N = H * L * L };
    double q[L * H * D], k[L * H * D], pos[L], w[H * L * 2 * D], want[N], got[N];
    fill(q, L * H * D, 21);
    fill(k, L * H * D, 22);
    for (int64_t t = 0; t < L; t++)
        pos[t] = (double)t;
    for (int64_t h = 0; h < H; h++)
        for (int64_t t = 0; t < L; t++)
            for (int64_t f = 0; f < F; f++) {
                double a = (double)t * pow(10000.0, -2.0 * (double)f / (double)D), *row = w + (h * L + t) * 2 * D;
                row[f] = row[f + F] = cos(a);
                row[D + f] = row[D + f + F] = sin(a);
            }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) {
                double s = 0.0;
                for (int64_t f = 0; f < F; f++) {
                    double r = (double)(i - j) * pow(10000.0, -2.0 * (double)f / (double)D);
                    double qf = q[(i * H + h) * D + f], qb = q[(i * H + h) * D + f + F];
                    double kf = k[(j * H + h) * D + f], kb = k[(j * H + h) * D + f + F];
                    s += cos(r) * (qf * kf + qb * kb) + sin(r) * (qf * kb - qb * kf);
                }
                want[(h * L + i) * L + j] = j > i ? -INFINITY : s / sqrt((double)D);
            }
    pecs_case *c = ref_case("tape", NULL);
    tp_ok(NULL, c, H, D, L, q, k, pos, w, got);
    cr_assert_lt(max_err(got, want, N), 1e-12, "reference vs RoPE: %g", max_err(got, want, N));
    tp_ok(ref_scalar_backend(), c, H, D, L, q, k, pos, w, got);
    cr_assert_lt(max_err(got, want, N), 2e-6, "scalar vs RoPE: %g", max_err(got, want, N));
    static const char *const mutants[] = {"tape_key_state_for_query", "tape_sin_sign"};
    for (size_t m = 0; m < sizeof mutants / sizeof mutants[0]; m++) {
        pecs_loaded_backend lb;
        if (!load_mutant(mutants[m], &lb))
            continue;
        tp_ok(&lb, c, H, D, L, q, k, pos, w, got);
        cr_assert_gt(max_err(got, want, N), 1e-3, "mutant %s gives RoPE's logits", mutants[m]);
        pecs_backend_unload(&lb);
    }
    ref_case_free(c);
}

/* ---- bad input -------------------------------------------------------------------------------------------- */

/* w is [H*L, 2D] (registry grammar "H*L,2*D": [21, 40] at H 3, D 20, L 7). Invalid with the reason, in the reference
 * and the scalar kernel alike: queries and keys of different counts (the states are the tokens of one sequence), an odd
 * head_dim (rotate_half pairs f with f + D/2), w of the wrong width. */
Test(t2tape, bad_input_and_weights_shape)
{
    pecs_case *c = ref_case("tape", NULL);
    int64_t shape[2];
    cr_assert(pecs_registry_weights_shape_l(c->enc, c->params, c->n_params, 3, 20, 7, shape));
    cr_assert(shape[0] == 21 && shape[1] == 40, "w [%lld, %lld]", (long long)shape[0], (long long)shape[1]);
    double q[64], k[64], pos[8] = {0, 1, 2, 3, 4, 5, 6, 7}, w[128], out[64];
    fill(q, 64, 1), fill(k, 64, 2), fill(w, 128, 3);
    struct {
        int64_t D, L, Lk, wc;
        const char *reason;
    } bad[] = {{4, 3, 4, 8, "Lq"}, {3, 3, 3, 6, "even"}, {4, 3, 3, 7, "w"}};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        char why[256] = "";
        cr_assert_eq(tp_run(NULL, c, 1, bad[b].D, bad[b].L, bad[b].Lk, q, k, pos, w, bad[b].wc, out, why, sizeof why),
                     PECS_INVALID, "case %zu", b);
        cr_assert(strstr(why, bad[b].reason), "case %zu: %s", b, why);
        pecs_status st = tp_run(ref_scalar_backend(), c, 1, bad[b].D, bad[b].L, bad[b].Lk, q, k, pos, w, bad[b].wc, out,
                                why, sizeof why);
        cr_assert(st == PECS_INVALID || st == PECS_UNSUPPORTED, "scalar case %zu: status %d", b, (int)st);
    }
    ref_case_free(c);
}
