/* reference/rope_clex.c — CLEX: continuous length extrapolation, RoPE frequencies from a learned ODE.
 *
 * Sources checked (2026-12-06, through the search tool): Chen et al. 2024 (CLEX, ICLR), as the authors' code
 * DAMO-NLP-SG/CLEX @2e69966 CLEX/clex_layer.py defines it:
 *   LlamaCLEXScalingRotaryEmbedding.__init__: inv_freq_i = base^(-2i/dim) (dim = the head's rotary dim, i < dim/2);
 *     the ODE is integrated with torchdiffeq odeint(method "rk4", options {step_size: time_dt}).
 *   get_continuous_freq: x(1) = log(inv_freq); the solution at the requested time, exp'd, is the new inv_freq;
 *     embed = cat(freqs, freqs): half-split pairs (rotate_half), which the pairing parameter selects here.
 *   forward: t_val = ceil(seq_len / max_position_embeddings) capped at max_factor (the parameter t here); t_val = 1
 *     takes inv_freq itself (no ODE). The inference path integrates over the grid 1, 2, .., max_t and takes entry
 *     t_val - 1, the training path over [1, t_val]; both step from 1 by time_dt, so x(t) is the value at the grid
 *     point t of the same steps (up to float32 rounding of the grid, which is not transcribed: this is double).
 *   ODELinear.forward(t, x): y = x + log(ntk_inv_freq(t)); dx/dt = act(y @ up) @ down + delta_ntk(t) / ntk_inv_freq(t)
 *     with up = ode_up_proj [dim/2, F*dim], down = ode_down_proj [F*dim, dim/2], act tanh or silu, F = param_factor.
 *   ODELinear.get_time_embedding(t, base=10000): alpha = 1 if t < 1 else 2t - 1; ntk_base = base * alpha^(dim/(dim-2));
 *     ntk_inv_freq_i = ntk_base^(-2i/dim); delta_ntk_i = -2(2i)/(dim-2) / (base^(2i/dim) alpha^(2i/(dim-2) + 1)).
 *     forward passes no base, so this base is 10000 whatever the rotary base is: followed here (the code wins).
 *     (delta_ntk is d/dt ntk_inv_freq, so delta_ntk / ntk_inv_freq = -2(2i) / ((dim-2) alpha).)
 * torchdiffeq (rtqichen/torchdiffeq, stored versions of torchdiffeq/_impl/):
 *   fixed_grid.py RK4._step_func = rk_common.py rk4_alt_step_func, the 3/8 rule:
 *     k1 = f(t0, y); k2 = f(t0 + dt/3, y + dt k1/3); k3 = f(t0 + 2dt/3, y + dt (k2 - k1/3));
 *     k4 = f(t1, y + dt (k1 - k2 + k3)); y1 = y + (k1 + 3 (k2 + k3) + k4) dt / 8.
 *   solvers.py FixedGridODESolver._grid_constructor_from_step_size: n = ceil((t_end - t_start) / step + 1) points
 *     k * step + t_start, the last one set to t_end; integrate steps over consecutive grid points (dt = t1 - t0) and
 *     returns the solution at a requested time by _linear_interp, which is y1 itself when the time is t1: with the
 *     grid [1, t] that is the state after the last step.
 * Not in this row: the training path's random times and positions, the model's log_scale query scaling (a separate
 * config flag) and the float32 arithmetic of the code.
 *
 * "w" [D, F*D] (registry "D,param_factor*D"; D = head_dim = the rotary dim, which must be the whole head):
 *   rows 0 .. D/2-1:   w[i][k]       = ode_up_proj[i][k]     (i < D/2, k < F*D)
 *   rows D/2 .. D-1:   w[D/2 + j][k] = ode_down_proj[k][j]   (down transposed: j < D/2, k < F*D)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"

#define CLEX_TIME_BASE 10000.0 /* get_time_embedding's default base (forward passes none) */

typedef struct clex_net {
    int64_t n, m; /* n = R/2 state entries, m = F*R hidden units */
    double R;
    const pecs_tensor *w;
    int silu;
    double *y, *h; /* scratch [n], [m] */
} clex_net;

/* dx/dt at time t (ODELinear.forward). */
static void clex_f(const clex_net *c, double t, const double *x, double *dx)
{
    double alpha = t < 1.0 ? 1.0 : 2.0 * t - 1.0;
    double ntk_base = CLEX_TIME_BASE * pow(alpha, c->R / (c->R - 2.0));
    for (int64_t i = 0; i < c->n; i++) {
        double idx = 2.0 * (double)i;
        double ntk = 1.0 / pow(ntk_base, idx / c->R);
        double delta = -2.0 * idx / (c->R - 2.0) / (pow(CLEX_TIME_BASE, idx / c->R) * pow(alpha, idx / (c->R - 2.0) + 1.0));
        c->y[i] = x[i] + log(ntk);
        dx[i] = delta / ntk;
    }
    for (int64_t k = 0; k < c->m; k++) {
        double a = 0.0;
        for (int64_t i = 0; i < c->n; i++)
            a += c->y[i] * pecs_load_f64(c->w->data, c->w->dtype, i * c->w->stride[0] + k * c->w->stride[1]);
        c->h[k] = c->silu ? a / (1.0 + exp(-a)) : tanh(a);
    }
    for (int64_t j = 0; j < c->n; j++) {
        double a = 0.0;
        for (int64_t k = 0; k < c->m; k++)
            a += c->h[k] * pecs_load_f64(c->w->data, c->w->dtype, (c->n + j) * c->w->stride[0] + k * c->w->stride[1]);
        dx[j] += a;
    }
}

PECS_REF_HOOK_ROTATE(rope_clex)
{
    int64_t R = sched->R, n = R / 2, T = pecs_param_int(p, "t", 1), F = pecs_param_int(p, "param_factor", 1);
    double base = pecs_param_real(p, "base", 10000.0), step = pecs_param_real(p, "time_dt", 0.01);
    if (R <= 2) {
        snprintf(why, why_len, "rope.clex needs rotary_dim > 2 (the time embedding divides by R - 2), got %lld",
                 (long long)R);
        return PECS_INVALID;
    }
    for (int64_t i = 0; i < n; i++)
        sched->inv_freq[i] = 1.0 / pow(base, (double)(2 * i) / (double)R);
    /* w is read in its own dtype: the harness's level model asks for the schedule on the backend's copy (the same
     * rounded values as the f64 twin the reference run gets). */
    const pecs_tensor *w = pecs_problem_tensor(p, "w");
    if (w && w->ndim == 2 && w->shape[0] != R) {
        snprintf(why, why_len, "rope.clex: the ODE network is sized by the rotated channels: rotary_dim must be 0 (the "
                 "whole head, %lld), got %lld", (long long)w->shape[0], (long long)R);
        return PECS_INVALID;
    }
    if (!w || w->ndim != 2 || w->shape[1] != F * R) {
        snprintf(why, why_len, "rope.clex needs its ODE network as tensor \"w\" [%lld, %lld] (up; down transposed)",
                 (long long)R, (long long)(F * R));
        return PECS_INVALID;
    }
    if (T == 1)
        return PECS_OK; /* forward: t_val == 1 is plain RoPE, no ODE */
    pecs_status st = PECS_OK;
    clex_net c = {.n = n, .m = F * R, .R = (double)R, .w = w,
                  .silu = pecs_param_is(p, "act", "silu")};
    double *buf = malloc((size_t)(7 * n + c.m) * sizeof *buf);
    if (!buf)
        return PECS_NOMEM;
    double *x = buf, *k1 = x + n, *k2 = k1 + n, *k3 = k2 + n, *k4 = k3 + n, *tmp = k4 + n;
    c.y = tmp + n, c.h = c.y + n;
    for (int64_t i = 0; i < n; i++)
        x[i] = log(sched->inv_freq[i]);
    /* _grid_constructor_from_step_size over [1, t] */
    double t_end = (double)T, npts = ceil((t_end - 1.0) / step + 1.0);
    for (int64_t g = 0; g + 1 < (int64_t)npts; g++) {
        double t0 = (double)g * step + 1.0, t1 = g + 2 == (int64_t)npts ? t_end : (double)(g + 1) * step + 1.0;
        double dt = t1 - t0;
        clex_f(&c, t0, x, k1);
        for (int64_t i = 0; i < n; i++)
            tmp[i] = x[i] + dt * k1[i] * (1.0 / 3.0);
        clex_f(&c, t0 + dt * (1.0 / 3.0), tmp, k2);
        for (int64_t i = 0; i < n; i++)
            tmp[i] = x[i] + dt * (k2[i] - k1[i] * (1.0 / 3.0));
        clex_f(&c, t0 + dt * (2.0 / 3.0), tmp, k3);
        for (int64_t i = 0; i < n; i++)
            tmp[i] = x[i] + dt * (k1[i] - k2[i] + k3[i]);
        clex_f(&c, t1, tmp, k4);
        for (int64_t i = 0; i < n; i++)
            x[i] += (k1[i] + 3.0 * (k2[i] + k3[i]) + k4[i]) * dt * 0.125;
    }
    for (int64_t i = 0; i < n; i++) {
        sched->inv_freq[i] = exp(x[i]);
        if (!isfinite(sched->inv_freq[i])) {
            snprintf(why, why_len, "rope.clex: the ODE left the finite range at pair %lld (x(t) = %g): w too large for "
                     "t = %lld", (long long)i, x[i], (long long)T);
            st = PECS_INVALID;
            break;
        }
    }
    free(buf);
    return st;
}
