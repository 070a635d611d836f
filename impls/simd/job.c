/* impls/simd/job.c — preparing a call for the SIMD kernels (shared by the simd and openmp backends):
 * which kernel, the per-call tables, the store mode and the scratch each thread needs. Built without ISA
 * flags; nothing here is per element. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

double simd_llc_bytes(void)
{
    /* The highest cache level sysfs lists for cpu0 (glibc's sysconf(_SC_LEVEL3_CACHE_SIZE) reports 320 MiB
     * for this 32 MiB L3 under KVM, so it is not used). Racing first calls store the same value. */
    static double llc;
    if (llc > 0)
        return llc;
    double best = 0;
    int best_level = 0;
    for (int i = 0; i < 8; i++) {
        char path[96], buf[32];
        int level = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        if (fgets(buf, sizeof buf, f))
            level = atoi(buf);
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        f = fopen(path, "r");
        if (f && fgets(buf, sizeof buf, f) && level >= best_level) {
            char *end;
            double v = strtod(buf, &end);
            v *= *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : 1.0;
            if (v > 0)
                best = v, best_level = level;
        }
        if (f)
            fclose(f);
    }
    llc = best > 0 ? best : 32.0 * 1048576.0;
    return llc;
}

static double tensor_bytes(const pecs_tensor *t)
{
    double n = t ? (double)pecs_dtype_size(t->dtype) : 0.0;
    for (int d = 0; t && d < t->ndim; d++)
        n *= (double)t->shape[d];
    return n;
}

/* Rotate: the schedule, and streaming stores only where every vector store lands on a 64-byte boundary
 * (each row, and the second half of a half-split row; R a multiple of 32 lanes covers both ISAs). */
static pecs_status init_rotate(simd_job *j, const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *out = pecs_problem_tensor(p, "out");
    int64_t R = x ? impl_rotary_dim(p, x->shape[2]) : 0;
    if (!R || !out)
        return PECS_INVALID;
    pecs_status st = impl_schedule(p, R, &j->sc);
    if (st != PECS_OK)
        return st;
    j->has_sched = 1;
    j->half = pecs_param_is(p, "pairing", "half");
    j->units = x->shape[0];
    size_t esz = pecs_dtype_size(p->dtype);
    j->nt = j->nt && (uintptr_t)out->data % 64 == 0 && (size_t)(out->stride[0] * (int64_t)esz) % 64 == 0 &&
            (size_t)(out->stride[1] * (int64_t)esz) % 64 == 0 && (!j->half || (size_t)(R / 2) * esz % 64 == 0) &&
            R % 32 == 0;
    /* Position-linear schedules (one inv_freq row for every head, each pair's angle its position row's position
     * times it, no per-token gain) take the angle-addition recurrence along runs of tokens whose every position row
     * moves by 0 or 1 (rotate_body.h): M-RoPE's image tokens move one row by 1, its text tokens all three. One step
     * table per subset m of the rows: cos and sin of inv_freq, in double, for the pairs of the rows in m, and of 0
     * (1 and 0: the state stays as it is, bit for bit) for the others and the padding. */
    const scalar_sched *sc = &j->sc;
    int linear = !sc->head_scale && !sc->head_axis && !sc->head_imag && !sc->head_freq && !sc->phase && !sc->block &&
                 !sc->gate && !impl_has_token_gain(sc);
    int rows = 1;
    for (int64_t k = 0; k < R / 2; k++) {
        linear = linear && sc->axis[k] >= 0 && sc->axis[k] < 4;
        rows = linear && sc->axis[k] + 1 > rows ? sc->axis[k] + 1 : rows;
    }
    int64_t np = SIMD_SIN_NP(R);
    if (linear) {
        double *cf = malloc((size_t)((2 * np) << rows) * sizeof *cf);
        if (!cf)
            return PECS_NOMEM;
        for (int m = 0; m < 1 << rows; m++)
            for (int64_t k = 0; k < np; k++) {
                int on = k < R / 2 && (m >> sc->axis[k] & 1);
                cf[2 * np * m + k] = on ? cos(sc->inv_freq[k]) : 1.0;
                cf[2 * np * m + np + k] = on ? sin(sc->inv_freq[k]) : 0.0;
            }
        j->tab = (float *)(void *)cf;
        j->rot_rows = rows;
    }
    /* C[R], S[R], cs[R/2], sn[R/2] (3R floats), angles and gains as doubles (2R floats), the recurrence's state */
    j->scratch_floats = (size_t)(5 * R) + 4 * (size_t)np + 16;
    return PECS_OK;
}

/* The bias, mask and embed encodings these kernels cover and the kernel each takes: the one list that
 * simd_takes() (what the backends accept) and the init functions below (what they run) both read.
 * Tier 2 is here where a row is a T1 row with another distance function or slope rule (the rule itself in
 * impls/common, shared with the scalar backend). Not here, declined with the reason:
 *   cope (scores form: no SIMD scores kernel).
 * The T2 embed rows: ldpe and pia are sinusoidal.concat's row at another table row (impl_concat_row), sigma_gpt
 * learned's gather in two half-width segments, fourier its own kernel (sincos features, then the MLP). */
static const struct {
    const char *id;
    pecs_form form;
    int kind; /* simd_pw_kind or simd_emb_kind */
    int w;    /* reads the weight tensor "w" */
} COVERED[] = {
    {"alibi", PECS_FORM_BIAS, SIMD_PW_ALIBI, 0},
    {"t5", PECS_FORM_BIAS, SIMD_PW_T5, 1},
    {"kerple.log", PECS_FORM_BIAS, SIMD_PW_KERPLE_LOG, 0},
    {"kerple.power", PECS_FORM_BIAS, SIMD_PW_KERPLE_POW, 0},
    {"fire", PECS_FORM_BIAS, SIMD_PW_FIRE, 1},
    {"alibi.pi", PECS_FORM_BIAS, SIMD_PW_ALIBI_ABS, 0},
    {"mpnet", PECS_FORM_BIAS, SIMD_PW_T5, 1}, /* T5's bidirectional rule: no `bidirectional` parameter, so 1 */
    {"bam", PECS_FORM_BIAS, SIMD_PW_BAM, 0},
    {"masa", PECS_FORM_BIAS, SIMD_PW_MASA, 0},
    {"irpe", PECS_FORM_BIAS, SIMD_PW_IRPE, 1},
    {"mask.causal", PECS_FORM_MASK, SIMD_PW_MASK, 0},
    {"mask.window", PECS_FORM_MASK, SIMD_PW_MASK, 0},
    {"sinusoidal", PECS_FORM_EMBED, SIMD_EMB_SIN, 0},
    {"sinusoidal.concat", PECS_FORM_EMBED, SIMD_EMB_SIN_CONCAT, 0},
    {"learned", PECS_FORM_EMBED, SIMD_EMB_LEARNED, 1},
    {"nope", PECS_FORM_EMBED, SIMD_EMB_NOPE, 0},
    {"ldpe", PECS_FORM_EMBED, SIMD_EMB_SIN_CONCAT, 0},
    {"pia", PECS_FORM_EMBED, SIMD_EMB_SIN_CONCAT, 0},
    {"sigma_gpt", PECS_FORM_EMBED, SIMD_EMB_LEARNED, 1},
    {"fourier", PECS_FORM_EMBED, SIMD_EMB_FOURIER, 1},
};

int simd_kind_of(const pecs_problem *p)
{
    if (p->form == PECS_FORM_ROTATE)
        return impl_schedule_of(p->encoding) && !impl_schedule_has_blocks(p->encoding) &&
                       !impl_schedule_has_gate(p->encoding) && !impl_schedule_has_phase(p->encoding)
                   ? 0
                   : -1; /* pair kernels only, no content gate */
    for (size_t i = 0; i < sizeof COVERED / sizeof COVERED[0]; i++)
        if (COVERED[i].form == p->form && !strcmp(p->encoding, COVERED[i].id))
            return COVERED[i].kind;
    return -1;
}

int simd_needs_w(const pecs_problem *p)
{
    for (size_t i = 0; i < sizeof COVERED / sizeof COVERED[0]; i++)
        if (COVERED[i].form == p->form && !strcmp(p->encoding, COVERED[i].id))
            return COVERED[i].w;
    return 0;
}

/* Per-head constants of the bias encodings, as floats in j->tab. */
static pecs_status init_pairwise(simd_job *j, const pecs_problem *p)
{
    const pecs_tensor *out = pecs_problem_tensor(p, "out"), *w = pecs_problem_tensor(p, "w"),
                      *kp = pecs_problem_tensor(p, "kpos");
    double pi_scale = 1.0;
    j->H = out->shape[0];
    j->K = out->shape[2];
    j->units = out->shape[0] * out->shape[1];
    int64_t H = j->H, ntab = 0;
    j->pw = (simd_pw_kind)simd_kind_of(p);
    switch (j->pw) {
    case SIMD_PW_ALIBI:
    case SIMD_PW_ALIBI_KEY:
        if (pecs_param_is(p, "variant", "key_index"))
            j->pw = SIMD_PW_ALIBI_KEY;
        ntab = H;
        break;
    case SIMD_PW_T5:
        if (!impl_t5_params_ok(p, w, H))
            return PECS_INVALID;
        j->maxd = pecs_param_int(p, "max_distance", 128);
        /* MPNet has no `bidirectional` parameter: always T5's bidirectional rule (its validity rule, max_distance
         * > num_buckets/4, is impl_t5_params_ok's with bidirectional 1) */
        j->t5bidir = !strcmp(p->encoding, "mpnet") || (int)pecs_param_int(p, "bidirectional", 1);
        /* A table by distance has 2*max_distance+1 entries per head: 2^41 at the registry's largest
         * max_distance (out of memory, and past int32 gather indices). Beyond SIMD_T5_DIST_MAX the table is by
         * bucket and each row computes its keys' buckets. */
        j->t5nb = j->maxd > SIMD_T5_DIST_MAX ? w->shape[0] : 0;
        ntab = H * (j->t5nb ? j->t5nb : 2 * j->maxd + 1);
        break;
    case SIMD_PW_KERPLE_LOG:
    case SIMD_PW_KERPLE_POW: {
        const pecs_param *r1 = pecs_problem_param(p, "r1"), *r2 = pecs_problem_param(p, "r2");
        if (!r1 || !r2 || (r1->n != 1 && r1->n != H) || (r2->n != 1 && r2->n != H))
            return PECS_INVALID;
        ntab = 2 * H;
        break;
    }
    case SIMD_PW_FIRE:
        j->hidden = pecs_param_int(p, "hidden", 32);
        if (!w || w->shape[0] != H + 2 || w->shape[1] != j->hidden + 1)
            return PECS_INVALID;
        j->c = pecs_param_real(p, "c", 0.1);
        j->eps = pecs_param_real(p, "eps", 1e-6);
        j->L = fabs(pecs_param_real(p, "L_mult", 1.0) * pecs_param_real(p, "init_L", 512.0));
        ntab = (H + 2) * (j->hidden + 1);
        break;
    case SIMD_PW_MASK: j->window = !strcmp(p->encoding, "mask.window") ? pecs_param_int(p, "window", 4096) : 0; break;
    case SIMD_PW_ALIBI_ABS:
        pi_scale = kp ? impl_alibi_pi_scale(p, kp->shape[0]) : 0.0;
        if (pi_scale == 0.0)
            return PECS_INVALID;
        ntab = H;
        break;
    case SIMD_PW_BAM:
        if (!impl_bam_params_ok(p, H))
            return PECS_INVALID;
        j->eps = (float)pecs_param_real(p, "eps", 1e-5);
        ntab = 3 * H;
        break;
    case SIMD_PW_MASA:
        j->gridW = (double)pecs_param_int(p, "width", 14);
        ntab = H;
        break;
    case SIMD_PW_IRPE:
        if (!impl_irpe_init(p, w, H, &j->irpe))
            return PECS_INVALID;
        ntab = H * j->irpe.nb;
        break;
    }
    j->tab = malloc((size_t)(ntab > 0 ? ntab : 1) * sizeof *j->tab);
    if (!j->tab)
        return PECS_NOMEM;
    for (int64_t h = 0; h < H && j->pw <= SIMD_PW_ALIBI_KEY; h++)
        j->tab[h] = (float)impl_alibi_slope(H, h, pecs_param_real(p, "max_bias", 8.0));
    for (int64_t h = 0; h < H && j->pw == SIMD_PW_ALIBI_ABS; h++)
        j->tab[h] = (float)(impl_alibi_slope(H, h, pecs_param_real(p, "max_bias", 8.0)) / pi_scale);
    for (int64_t h = 0; h < H && j->pw == SIMD_PW_BAM; h++)
        impl_bam_head(p, H, h, &j->tab[h], &j->tab[H + h], &j->tab[2 * H + h]);
    for (int64_t h = 0; h < H && j->pw == SIMD_PW_MASA; h++)
        j->tab[h] = (float)impl_masa_decay(p, H, h);
    for (int64_t h = 0; j->pw == SIMD_PW_IRPE && h < H; h++)
        for (int64_t b = 0; b < j->irpe.nb; b++)
            j->tab[h * j->irpe.nb + b] = pecs_load_f32(w->data, w->dtype, h * w->stride[0] + b * w->stride[1]);
    for (int64_t b = 0; j->pw == SIMD_PW_T5 && b < j->t5nb; b++)
        for (int64_t h = 0; h < H; h++)
            j->tab[h * j->t5nb + b] = pecs_load_f32(w->data, w->dtype, b * w->stride[0] + h * w->stride[1]);
    if (j->pw == SIMD_PW_T5 && !j->t5nb) { /* buckets are constant beyond |distance| = max_distance: clamp, then look up */
        int64_t nb = w->shape[0], n = 2 * j->maxd + 1;
        int bidir = j->t5bidir;
        for (int64_t m = 0; m < n; m++) {
            int64_t b = impl_t5_bucket(m - j->maxd, bidir, nb, j->maxd);
            for (int64_t h = 0; h < H; h++)
                j->tab[h * n + m] = pecs_load_f32(w->data, w->dtype, b * w->stride[0] + h * w->stride[1]);
        }
    }
    if (j->pw == SIMD_PW_KERPLE_LOG || j->pw == SIMD_PW_KERPLE_POW) {
        const pecs_param *r1 = pecs_problem_param(p, "r1"), *r2 = pecs_problem_param(p, "r2");
        for (int64_t h = 0; h < H; h++) {
            j->tab[h] = (float)r1->list[r1->n == 1 ? 0 : h];
            j->tab[H + h] = (float)r2->list[r2->n == 1 ? 0 : h];
        }
    }
    for (int64_t r = 0; j->pw == SIMD_PW_FIRE && r < H + 2; r++)
        for (int64_t k = 0; k <= j->hidden; k++)
            j->tab[r * (j->hidden + 1) + k] = pecs_load_f32(w->data, w->dtype, r * w->stride[0] + k * w->stride[1]);
    /* row[K+1] (+ padding to 16 floats), key positions [K] doubles, T5 indices [K] int32, per-query floats [K]
     * (distances, FIRE's u), FIRE's hidden activations [hidden][K] */
    size_t Kp = (size_t)SIMD_ROW_PAD(j->K);
    j->scratch_floats = Kp + 2 * Kp + Kp + Kp + (size_t)(j->pw == SIMD_PW_FIRE ? j->hidden : 0) * Kp + 16;
    return PECS_OK;
}

/* Fourier: the table w [hidden+1, F+D+1] as f32 rows (w itself when it is f32, else converted once here: f16
 * and bf16 are exact in f32). */
static pecs_status init_fourier(simd_job *j, const pecs_problem *p, const pecs_tensor *w, int64_t D)
{
    j->F = pecs_param_int(p, "features", 64);
    j->hidden = pecs_param_int(p, "hidden", 32);
    int64_t n = j->F + D + 1, hp = SIMD_FOURIER_HP(j->F);
    if (!w || j->F % 2 || w->shape[0] != j->hidden + 1 || w->shape[1] != n)
        return PECS_INVALID;
    if (w->dtype == PECS_DT_F32) {
        j->fw = (const float *)w->data;
        j->fw_ld = w->stride[0];
    } else {
        j->tab = malloc((size_t)((j->hidden + 1) * n) * sizeof *j->tab);
        if (!j->tab)
            return PECS_NOMEM;
        for (int64_t r = 0; r <= j->hidden; r++)
            for (int64_t c = 0; c < n; c++)
                j->tab[r * n + c] = pecs_load_f32(w->data, w->dtype, r * w->stride[0] + c * w->stride[1]);
        j->fw = j->tab;
        j->fw_ld = n;
    }
    /* doubles: angles, cos and sin features [hp] each, hidden activations [hidden]; then floats: the row P */
    j->scratch_floats = 2 * (size_t)(3 * hp + j->hidden) + (size_t)SIMD_EMBED_PAD(D) + 16;
    return PECS_OK;
}

/* Embed: frequencies of the sinusoidal tables in double; learned (and sigma_gpt) positions and ldpe's rows checked
 * once here so a bad one is INVALID for the whole call, as in the scalar backend. */
static pecs_status init_embed(simd_job *j, const pecs_problem *p)
{
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *pos = pecs_problem_tensor(p, "pos"),
                      *w = pecs_problem_tensor(p, "w");
    int64_t D = x->shape[1], n = 0;
    j->units = x->shape[0];
    j->emb = (simd_emb_kind)simd_kind_of(p);
    if (j->emb == SIMD_EMB_FOURIER)
        return init_fourier(j, p, w, D);
    if (j->emb == SIMD_EMB_SIN_CONCAT) {
        double r;
        if (D / 2 < 2)
            return PECS_INVALID;
        impl_concat_init(p, &j->cc);
        for (int64_t t = 0; t < x->shape[0]; t++)
            if (impl_concat_row(&j->cc, pecs_pos_at(pos, 0, t), &r) < 0)
                return PECS_INVALID;
    }
    if (j->emb == SIMD_EMB_LEARNED) {
        int sigma = !strcmp(p->encoding, "sigma_gpt");
        int64_t npos = pecs_param_int(p, "npos", sigma ? 1024 : 4096);
        j->segs = sigma ? 2 : 1;
        if (!w || D % j->segs || w->shape[0] != npos || w->shape[1] != D / j->segs || w->stride[1] != 1 ||
            pos->ndim < (sigma ? 2 : 1) || (sigma && pos->shape[0] < 2))
            return PECS_INVALID;
        for (int64_t s = 0; s < j->segs; s++)
            for (int64_t t = 0; t < x->shape[0]; t++) {
                double v = pecs_pos_at(pos, s, t);
                if (v != floor(v) || v < 0 || v >= (double)npos)
                    return PECS_INVALID;
            }
    }
    if (j->emb == SIMD_EMB_SIN || j->emb == SIMD_EMB_SIN_CONCAT)
        n = SIMD_SIN_NP(D);
    j->tab = calloc((size_t)(6 * n + 64), sizeof *j->tab); /* f, cos f, sin f: n doubles each, zero-padded */
    if (!j->tab)
        return PECS_NOMEM;
    double *f = (double *)(void *)j->tab,
           log_base = j->emb == SIMD_EMB_SIN_CONCAT ? j->cc.log_base : log(pecs_param_real(p, "base", 10000.0));
    for (int64_t k = 0; n && k < (j->emb == SIMD_EMB_SIN_CONCAT ? D / 2 : (D + 1) / 2); k++)
        f[k] = impl_sinusoidal_freq(log_base, k, D, j->emb == SIMD_EMB_SIN_CONCAT);
    for (int64_t k = 0; k < n; k++) { /* one token's step of the recurrence (embed_body.h); padding: 1, 0 */
        f[n + k] = cos(f[k]);
        f[2 * n + k] = sin(f[k]);
    }
    /* the table row P, sin and cos, each padded to whole vectors; then the recurrence's sines and cosines */
    j->scratch_floats = 3 * (size_t)SIMD_EMBED_PAD(D) + 4 * (size_t)n + 16;
    return PECS_OK;
}

pecs_status simd_job_init(simd_job *j, const pecs_problem *p, const simd_kernels *k)
{
    memset(j, 0, sizeof *j);
    j->p = p;
    j->dt = p->dtype;
    const pecs_tensor *x = pecs_problem_tensor(p, "x"), *out = pecs_problem_tensor(p, "out");
    if (!out || !k || simd_kind_of(p) < 0)
        return !k || simd_kind_of(p) < 0 ? PECS_UNSUPPORTED : PECS_INVALID;
    /* Streaming stores when the call's footprint cannot stay in the last-level cache anyway; PECS_NT=1 forces
     * them (wherever the alignment allows) and PECS_NT=0 turns them off, to test and to compare both. */
    const char *force = getenv("PECS_NT");
    j->nt = !p->in_place && (force && *force ? *force == '1' : tensor_bytes(out) + tensor_bytes(x) > simd_llc_bytes());
    pecs_status st;
    switch (p->form) {
    case PECS_FORM_ROTATE: j->run = k->rotate, st = init_rotate(j, p); break;
    case PECS_FORM_BIAS:
    case PECS_FORM_MASK: j->run = k->pairwise, st = init_pairwise(j, p); break;
    case PECS_FORM_EMBED: j->run = k->embed, st = x ? init_embed(j, p) : PECS_INVALID; break;
    default: st = PECS_UNSUPPORTED; break;
    }
    if (st != PECS_OK)
        simd_job_free(j);
    return st;
}

void simd_job_free(simd_job *j)
{
    if (j->has_sched)
        impl_schedule_free(&j->sc);
    free(j->tab);
    memset(j, 0, sizeof *j);
}

pecs_status simd_call(const pecs_problem *p, int threads, simd_par_fn par)
{
    char why[160];
    simd_job j;
    pecs_status st = simd_job_init(&j, p, simd_kernels_for(simd_isa(why, sizeof why)));
    if (st != PECS_OK)
        return st;
    if (threads < 1 || !par)
        threads = 1;
    if ((int64_t)threads > j.units)
        threads = (int)(j.units > 0 ? j.units : 1);
    float *scratch = aligned_alloc(64, ((j.scratch_floats * (size_t)threads * sizeof(float)) + 63) & ~(size_t)63);
    if (!scratch)
        st = PECS_NOMEM;
    else if (threads == 1)
        j.run(&j, 0, j.units, scratch);
    else
        par(&j, threads, scratch);
    free(scratch);
    simd_job_free(&j);
    return st;
}

const pecs_backend *simd_entry(const pecs_backend *b, uint32_t host_abi_major, const pecs_host *host)
{
    char why[160];
    if (host_abi_major != PECS_ABI_MAJOR)
        return NULL;
    if (!simd_isa(why, sizeof why)) {
        if (host && host->struct_size >= sizeof *host && host->log)
            host->log(host->host_ctx, b->name, why);
        return NULL;
    }
    return b;
}
