/* harness/cli/eval.c — pecs eval. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"

/* ---- eval ------------------------------------------------------------------------------------------------ */

static const char EVAL_HELP[] =
    "usage: pecs eval ENCODING [--backend B] [--set KEY=VALUE ...] --in NAME=FILE.npy ... --out NAME=FILE.npy ...\n"
    "       pecs eval ENCODING [--set KEY=VALUE ...] --in NAME=FILE.npy ... --check out=FILE.npy [--level L]\n"
    "\n"
    "Evaluate the reference (default) or a backend on tensors given as NumPy .npy files, the way a vendor\n"
    "checks a dump from their own pipeline. Tensor names and shapes by form: see `pecs describe ENCODING`.\n"
    "  --set KEY=VALUE    encoding parameters (lists comma-separated) and heads= for bias encodings\n"
    "  --in NAME=FILE     input tensors (f64, f32 or f16 activations; i32, i64 or f64 positions)\n"
    "  --out NAME=FILE    outputs: out; for rotate encodings also inv_freq, attn, axis, softmax_scale (the schedule\n"
    "                     alone needs no inputs: give --set head_dim=D)\n"
    "  --backend B        run a backend instead of the reference (built-in name or plugin path)\n"
    "The reference writes out in f64; a backend writes out in the dtype of x (bias: f32).\n"
    "  --check out=FILE   judge FILE, your own kernel's output on these inputs, as `pecs run` judges a backend:\n"
    "                     the same comparison, level and rounding check, and the first bad element located\n"
    "                     (token, head, dim; head, query, key, and positions). The case's dtype is FILE's dtype\n"
    "                     (--set dtype=bf16 for bf16 values widened to f32: .npy has no bfloat16);\n"
    "                     inputs must hold values of that dtype exactly. Exit 0 PASSED, 1 any other verdict.\n"
    "  --level L          the level to judge at (exact, f32angle, compat; default exact: docs/levels.md)\n"
    "  --tolerances FILE  tolerance profiles (default: the one `pecs run` uses)\n";

typedef struct named_file {
    char name[32];
    const char *path;
} named_file;

static int split_named(const char *arg, named_file *f)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof f->name || !eq[1])
        return 0;
    snprintf(f->name, sizeof f->name, "%.*s", (int)(eq - arg), arg);
    f->path = eq + 1;
    return 1;
}

static const named_file *find_named_file(const named_file *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return &f[i];
    return NULL;
}

static pecs_tensor tensor_of(const char *name, const pecs_npy *a)
{
    pecs_tensor t = {.name = name, .dtype = a->dtype, .ndim = a->ndim, .data = a->data};
    int64_t s = 1;
    for (int i = a->ndim - 1; i >= 0; i--) {
        t.shape[i] = a->shape[i];
        t.stride[i] = s;
        s *= a->shape[i];
    }
    return t;
}

/* Positions as a [1, T] view. */
static pecs_tensor pos_view(const char *name, const pecs_npy *a)
{
    pecs_tensor t = tensor_of(name, a);
    if (a->ndim == 1) {
        t.ndim = 2;
        t.shape[1] = a->shape[0];
        t.stride[1] = 1;
        t.shape[0] = 1;
        t.stride[0] = a->shape[0];
    }
    return t;
}

/* The reference reads activations as f64: widen an input array exactly, in place. */
static int widen_f64(pecs_npy *a)
{
    if (a->dtype == PECS_DT_F64)
        return 1;
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v)
        return 0;
    for (int64_t i = 0; i < n; i++)
        v[i] = pecs_load_f64(a->data, a->dtype, i);
    free(a->data);
    a->data = v;
    a->dtype = PECS_DT_F64;
    return 1;
}

/* A backend call on eval's own tensors: they are copied into an arena (shared with the worker when the
 * backend is isolated) and the output copied back. */
static pecs_status eval_call(pecs_loaded_backend *lb, const pecs_problem *p, pecs_call *k)
{
    pecs_arena a;
    pecs_tensor t[8];
    size_t bytes[8], total = 0;
    pecs_problem q = *p;
    memset(k, 0, sizeof *k);
    if (p->n_tensors > 8)
        return PECS_INVALID;
    for (int i = 0; i < p->n_tensors; i++) {
        int64_t span = 1;
        for (int d = 0; d < p->tensors[i].ndim; d++)
            span += (p->tensors[i].shape[d] - 1) * p->tensors[i].stride[d];
        bytes[i] = (size_t)span * pecs_dtype_size(p->tensors[i].dtype);
        total += bytes[i];
    }
    pecs_status st = pecs_arena_create(&a, total, p->n_tensors, lb->isolated);
    if (st != PECS_OK)
        return st;
    for (int i = 0; i < p->n_tensors; i++) {
        size_t len;
        t[i] = p->tensors[i];
        if (!(t[i].data = pecs_arena_body(&a, bytes[i], &len))) {
            pecs_arena_free(&a);
            return PECS_NOMEM;
        }
        memcpy(t[i].data, p->tensors[i].data, bytes[i]);
    }
    q.tensors = t;
    pecs_backend_case_start(lb);
    pecs_backend_supports(lb, &q, &a, k);
    if (k->kind == PECS_CALL_OK)
        pecs_backend_run(lb, &q, &a, k);
    for (int i = 0; i < p->n_tensors; i++)
        if (!strcmp(t[i].name, "out"))
            memcpy(p->tensors[i].data, t[i].data, bytes[i]);
    pecs_arena_free(&a);
    return PECS_OK;
}

/* The case a dump describes: shapes from the inputs, dtype from the output, positions' dtype from theirs. */
static int check_case(const pecs_encoding_info *e, pecs_case *c, const named_file *ins, const pecs_npy *arrs, int n_in,
                      const pecs_npy *out, const char *level, int dtype_set, char *why, size_t why_len)
{
    char v[32];
    int pairwise = pecs_form_pairwise(e->form);
#define SET(key, ...) (snprintf(v, sizeof v, __VA_ARGS__), pecs_case_set(c, key, v, why, why_len) == PECS_OK)
    /* bf16 has no .npy dtype: its values come widened to f32, with --set dtype=bf16 */
    if ((!dtype_set && !SET("dtype", "%s", pecs_dtype_name(out->dtype))) || (level && !SET("level", "%s", level)))
        return 0;
    for (int i = 0; i < n_in; i++) {
        const char *nm = ins[i].name;
        const pecs_npy *a = &arrs[i];
        if (!strcmp(nm, "x") && !(SET("tokens", "%lld", (long long)a->shape[0]) &&
                                  (a->ndim == 2 ? SET("head_dim", "%lld", (long long)a->shape[1])
                                                : SET("heads", "%lld", (long long)a->shape[1]) &&
                                                      SET("head_dim", "%lld", (long long)a->shape[2]))))
            return 0;
        if ((!strcmp(nm, "pos") || !strcmp(nm, "qpos")) &&
            !(SET("pos_dtype", "%s", pecs_dtype_name(a->dtype)) &&
              (strcmp(nm, "qpos") || SET("tokens", "%lld", (long long)a->shape[0]))))
            return 0;
        if (!strcmp(nm, "kpos") && !SET("keys", "%lld", (long long)a->shape[0]))
            return 0;
        if (!strcmp(nm, "q") && !(SET("heads", "%lld", (long long)a->shape[1]) && SET("head_dim", "%lld", (long long)a->shape[2])))
            return 0;
    }
    if (pairwise && e->form != PECS_FORM_SCORES && out->ndim == 3 && e->form != PECS_FORM_MASK &&
        !SET("heads", "%lld", (long long)out->shape[0]))
        return 0;
#undef SET
    return pecs_case_validate(c, why, why_len) == PECS_OK;
}

/* pecs eval --check: a vendor's own output judged on its own inputs (runner.h pecs_judge_given). */
static int eval_check(const pecs_encoding_info *e, pecs_case *c, const named_file *ins, const pecs_npy *arrs, int n_in,
                      const char *path, const char *level, const char *tol_given, int dtype_set)
{
    char why[4096] = "", tolbuf[PATH_MAX];
    pecs_npy out = {0};
    pecs_tolerances tols;
    pecs_tensor given[8];
    pecs_case_result r;
    char *case_str = NULL;
    int rc = EXIT_USAGE, have_tols = 0, have_r = 0;
    if (pecs_npy_read(path, (size_t)1 << 33, &out, why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs eval: --check out=%s: %s\n", path, why);
        goto cleanup;
    }
    if (!pecs_dtype_is_float(out.dtype) || out.dtype == PECS_DT_F64) {
        fprintf(stderr, "pecs eval: --check out=%s: a kernel's output is f32, f16 or bf16, not %s\n", path,
                pecs_dtype_name(out.dtype));
        goto cleanup;
    }
    if (pecs_tol_load(&tols, cli_find_tolerances(tol_given, tolbuf, sizeof tolbuf), why, sizeof why) != PECS_OK) {
        fprintf(stderr, "pecs eval: %s\n", why);
        goto cleanup;
    }
    have_tols = 1;
    if (!check_case(e, c, ins, arrs, n_in, &out, level, dtype_set, why, sizeof why) || !(case_str = pecs_case_format(c))) {
        fprintf(stderr, "pecs eval: --check: %s\n", why[0] ? why : "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < n_in; i++)
        given[i] = !strcmp(ins[i].name, "pos") ? pos_view("pos", &arrs[i]) : tensor_of(ins[i].name, &arrs[i]);
    pecs_tensor ot = tensor_of("out", &out);
    pecs_judge_given(case_str, &tols, given, n_in, &ot, &r);
    have_r = 1;
    printf("case %s (inputs and positions: the given tensors)\n%s%s%s\n", r.case_str, pecs_verdict_name(r.verdict), r.reason[0] ? ": " : "", r.reason);
    if (r.has_metrics && r.verdict != PECS_V_ERROR)
        printf("max_abs %.3g  max_rel %.3g  max_ulp %.3g  nmse %.3g  (%lld elements, %lld outside the tolerance)\n",
               r.metrics.max_abs, r.metrics.max_rel, r.metrics.max_ulp, r.metrics.nmse, (long long)r.metrics.n,
               (long long)r.metrics.mismatches);
    rc = r.verdict == PECS_V_PASSED ? EXIT_OK : r.verdict == PECS_V_ERROR ? EXIT_USAGE : EXIT_FAILURES;
cleanup:
    if (have_r)
        pecs_case_result_free(&r);
    free(case_str);
    if (have_tols)
        pecs_tol_free(&tols);
    pecs_npy_free(&out);
    return rc;
}

int pecs_cmd_eval(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(EVAL_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    char nowhy[1024];
    const pecs_encoding_info *e = pecs_registry_resolve(argv[1], nowhy, sizeof nowhy);
    if (!e) {
        fprintf(stderr, "pecs eval: %s\n", nowhy);
        return EXIT_USAGE;
    }
    if (e->form == PECS_FORM_POSMAP) { /* no .npy path for idx -> out yet: say so rather than ask for x and pos */
        fprintf(stderr, "pecs eval: '%s' is a posmap encoding, which eval does not take yet (run it: pecs run "
                "suites/t2-posmap.yaml)\n", argv[1]);
        return EXIT_USAGE;
    }
    if (e->form == PECS_FORM_KATTN) { /* no .npy path for q, k, v -> attention outputs yet */
        fprintf(stderr, "pecs eval: '%s' is a kattn encoding, which eval does not take yet (run it: pecs run "
                "suites/t2-kattn.yaml)\n", argv[1]);
        return EXIT_USAGE;
    }
    named_file ins[8], outs[8], check = {"", NULL};
    const char *level = NULL, *tol_given = NULL;
    int n_in = 0, n_out = 0, rc = EXIT_OK, have_case = 0, have_lb = 0, dtype_set = 0;
    const char *backend = NULL;
    char why[1024] = "";
    pecs_npy arrs[8];
    memset(arrs, 0, sizeof arrs);
    pecs_case c;
    pecs_loaded_backend lb;
    void *outbuf = NULL;
    double *inv = NULL;
    if (pecs_case_init(&c, e) != PECS_OK)
        return EXIT_IO;
    have_case = 1;
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (cli_is_help(argv[i])) {
            fputs(EVAL_HELP, stdout);
            goto cleanup;
        }
        if ((v = pecs_opt(argc, argv, &i, "--set", &missing))) {
            char key[64];
            const char *eq = strchr(v, '=');
            if (!eq || (size_t)(eq - v) >= sizeof key) {
                rc = cli_usage_error("eval", "--set takes KEY=VALUE");
                goto cleanup;
            }
            snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
            dtype_set |= !strcmp(key, "dtype");
            if (pecs_case_set(&c, key, eq + 1, why, sizeof why) != PECS_OK) {
                fprintf(stderr, "pecs eval: --set %s: %s\n", v, why);
                rc = EXIT_USAGE;
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--in", &missing))) {
            if (n_in == 8 || !split_named(v, &ins[n_in++])) {
                rc = cli_usage_error("eval", "--in takes NAME=FILE.npy (at most 8)");
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--out", &missing))) {
            if (n_out == 8 || !split_named(v, &outs[n_out++])) {
                rc = cli_usage_error("eval", "--out takes NAME=FILE.npy (at most 8)");
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--backend", &missing))) {
            backend = v;
        } else if ((v = pecs_opt(argc, argv, &i, "--check", &missing))) {
            if (check.path || !split_named(v, &check) || strcmp(check.name, "out")) {
                rc = cli_usage_error("eval", "--check takes out=FILE.npy, once");
                goto cleanup;
            }
        } else if ((v = pecs_opt(argc, argv, &i, "--level", &missing))) {
            level = v;
        } else if ((v = pecs_opt(argc, argv, &i, "--tolerances", &missing))) {
            tol_given = v;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, missing ? "option '%s' needs a value" : "unknown argument '%s'", argv[i]);
            rc = cli_usage_error("eval", msg);
            goto cleanup;
        }
    }
    if (check.path && (n_out || backend)) {
        rc = cli_usage_error("eval", "--check judges a given output: it takes no --out and no --backend");
        goto cleanup;
    }
    if (!check.path && (level || tol_given)) {
        rc = cli_usage_error("eval", "--level and --tolerances go with --check");
        goto cleanup;
    }
    if (!n_out && !check.path) {
        rc = cli_usage_error("eval", "give at least one --out NAME=FILE.npy (or --check out=FILE.npy)");
        goto cleanup;
    }
    for (int i = 0; i < n_in; i++)
        if (pecs_npy_read(ins[i].path, (size_t)1 << 33, &arrs[i], why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: --in %s: %s\n", ins[i].name, why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
#define INPUT(name) (find_named_file(ins, n_in, name) ? &arrs[find_named_file(ins, n_in, name) - ins] : NULL)
    const pecs_npy *x = INPUT("x"), *pos = INPUT("pos"), *qpos = INPUT("qpos"), *kpos = INPUT("kpos"), *w = INPUT("w");
    const pecs_npy *qin = INPUT("q"), *kin = INPUT("k");
    int pairwise = pecs_form_pairwise(e->form);
    for (int i = 0; i < n_in; i++) {
        const char *nm = ins[i].name;
        int ok = (pairwise ? (!strcmp(nm, "qpos") || !strcmp(nm, "kpos")) : (!strcmp(nm, "x") || !strcmp(nm, "pos"))) ||
                 (e->form == PECS_FORM_SCORES && (!strcmp(nm, "q") || !strcmp(nm, "k"))) ||
                 (e->weights[0] && !strcmp(nm, "w"));
        if (!ok) {
            fprintf(stderr, "pecs eval: %s takes no input named '%s' (see: pecs describe %s)\n", e->id, nm, e->id);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        /* Positions are exact numbers: finite, within 2^53, and integers where the encoding indexes by them
         * (T5's buckets, a learned table's rows); the reference would otherwise compute from garbage. */
        int integers = !strcmp(e->id, "t5") || !strcmp(e->id, "learned");
        if ((!strcmp(nm, "pos") || !strcmp(nm, "qpos") || !strcmp(nm, "kpos")) &&
            pecs_npy_check_positions(&arrs[i], ins[i].path, integers, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: --in %s: %s\n", nm, why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
    }
    if (check.path) {
        rc = eval_check(e, &c, ins, arrs, n_in, check.path, level, tol_given, dtype_set);
        goto cleanup;
    }
    if (backend) {
        if (pecs_backend_load(backend, &lb, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        have_lb = 1;
    }
    pecs_problem p = {.struct_size = sizeof p, .encoding = e->id, .form = e->form, .params = c.params, .n_params = c.n_params};
    pecs_tensor in_t[1];
    /* The frequency schedule alone. */
    const named_file *o_inv = find_named_file(outs, n_out, "inv_freq"), *o_attn = find_named_file(outs, n_out, "attn");
    const named_file *o_axis = find_named_file(outs, n_out, "axis"), *o_sm = find_named_file(outs, n_out, "softmax_scale");
    if (o_inv || o_attn || o_axis || o_sm) {
        if (e->form != PECS_FORM_ROTATE || backend) {
            rc = cli_usage_error("eval", "inv_freq and attn come from the reference of rotate-form encodings");
            goto cleanup;
        }
        int64_t D = x && x->ndim == 3 ? x->shape[2] : c.head_dim;
        int64_t R = pecs_ref_rotary_dim(&p, D, why, sizeof why);
        pecs_ref_rot sc;
        if (pos) { /* positions give the current length of length-dependent schedules */
            in_t[0] = tensor_of("pos", pos);
            p.tensors = in_t, p.n_tensors = 1;
        }
        if (!R || pecs_ref_rot_alloc(&sc, R) != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why[0] ? why : "out of memory");
            rc = EXIT_USAGE;
            goto cleanup;
        }
        inv = sc.inv_freq; /* freed by cleanup */
        pecs_status sst = pecs_ref_schedule(&p, &sc, why, sizeof why);
        int64_t half = R / 2;
        double *axis = malloc((size_t)half * sizeof *axis);
        for (int64_t i = 0; axis && i < half; i++)
            axis[i] = sc.axis[i];
        if (sst != PECS_OK || !axis) {
            fprintf(stderr, "pecs eval: %s\n", sst != PECS_OK ? why : "out of memory");
            rc = EXIT_USAGE;
        } else if ((o_inv && pecs_npy_write(o_inv->path, PECS_DT_F64, 1, &half, inv, why, sizeof why) != PECS_OK) ||
                   (o_attn && pecs_npy_write(o_attn->path, PECS_DT_F64, 0, NULL, &sc.attn, why, sizeof why) != PECS_OK) ||
                   (o_axis && pecs_npy_write(o_axis->path, PECS_DT_F64, 1, &half, axis, why, sizeof why) != PECS_OK) ||
                   (o_sm && pecs_npy_write(o_sm->path, PECS_DT_F64, 0, NULL, &sc.softmax_scale, why, sizeof why) != PECS_OK)) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_IO;
        }
        free(axis);
        sc.inv_freq = NULL; /* freed with `inv` */
        pecs_ref_rot_free(&sc);
        p.tensors = NULL, p.n_tensors = 0;
        if (rc != 0)
            goto cleanup;
    }
    const named_file *o_out = find_named_file(outs, n_out, "out");
    if (o_out) {
        pecs_tensor t[7];
        int nt = 0;
        int64_t shape[3];
        int ndim;
        pecs_dtype odt;
        if (e->weights[0] && (!w || w->ndim != 2)) {
            rc = cli_usage_error("eval", "this encoding reads learned data: give --in w=[rows,cols].npy (layout: pecs describe)");
            goto cleanup;
        }
        if (pairwise) {
            if (!qpos || !kpos || qpos->ndim != 1 || kpos->ndim != 1) {
                rc = cli_usage_error("eval", "bias, mask and scores encodings need --in qpos=[Lq].npy and --in kpos=[Lk].npy");
                goto cleanup;
            }
            if (e->form == PECS_FORM_SCORES) {
                if (!qin || !kin || qin->ndim != 3 || kin->ndim != 3 || qin->shape[0] != qpos->shape[0] ||
                    kin->shape[0] != kpos->shape[0] || qin->shape[1] != kin->shape[1] || qin->shape[2] != kin->shape[2]) {
                    rc = cli_usage_error("eval", "scores encodings need --in q=[Lq,H,D].npy and --in k=[Lk,H,D].npy");
                    goto cleanup;
                }
                if ((!backend && (!widen_f64(&arrs[find_named_file(ins, n_in, "q") - ins]) ||
                                  !widen_f64(&arrs[find_named_file(ins, n_in, "k") - ins])))) {
                    rc = EXIT_IO;
                    goto cleanup;
                }
                t[nt++] = tensor_of("q", qin);
                t[nt++] = tensor_of("k", kin);
                c.heads = qin->shape[1];
            }
            t[nt++] = tensor_of("qpos", qpos);
            t[nt++] = tensor_of("kpos", kpos);
            ndim = 3, shape[0] = e->form == PECS_FORM_MASK ? 1 : c.heads, shape[1] = qpos->shape[0], shape[2] = kpos->shape[0];
            odt = backend ? PECS_DT_F32 : PECS_DT_F64;
        } else {
            int want = e->form == PECS_FORM_ROTATE ? 3 : 2;
            int rows_ok = pos && (pos->ndim == 1 ? e->pos_rows == 1 : pos->ndim == 2 && pos->shape[0] == e->pos_rows);
            if (!x || !pos || x->ndim != want || !rows_ok || pos->shape[pos->ndim - 1] != x->shape[0]) {
                char msg[160];
                snprintf(msg, sizeof msg, "%s encodings need --in x=%s.npy and --in pos=%s.npy",
                         pecs_form_name(e->form), want == 3 ? "[T,H,D]" : "[T,D]", e->pos_rows == 1 ? "[T]" :
                         e->pos_rows == 2 ? "[2,T] (h, w)" : "[3,T] (t, h, w)");
                rc = cli_usage_error("eval", msg);
                goto cleanup;
            }
            if (!pecs_dtype_is_float(x->dtype) || !(pos->dtype == PECS_DT_I32 || pos->dtype == PECS_DT_I64 || pos->dtype == PECS_DT_F64)) {
                rc = cli_usage_error("eval", "x must be f64, f32 or f16; pos must be i32, i64 or f64");
                goto cleanup;
            }
            ndim = want;
            for (int i = 0; i < ndim; i++)
                shape[i] = x->shape[i];
            odt = backend ? x->dtype : PECS_DT_F64;
            if (!backend && !widen_f64(&arrs[find_named_file(ins, n_in, "x") - ins])) {
                rc = EXIT_IO;
                goto cleanup;
            }
            t[nt++] = tensor_of("x", x);
            t[nt++] = pos_view("pos", pos);
        }
        if (e->weights[0]) {
            if (!backend && !widen_f64(&arrs[find_named_file(ins, n_in, "w") - ins])) {
                rc = EXIT_IO;
                goto cleanup;
            }
            t[nt++] = tensor_of("w", w);
        }
        int64_t n = 1;
        for (int i = 0; i < ndim; i++)
            n *= shape[i];
        outbuf = calloc((size_t)(n ? n : 1), pecs_dtype_size(odt));
        if (!outbuf) {
            rc = EXIT_IO;
            goto cleanup;
        }
        pecs_npy oa = {.dtype = odt, .ndim = ndim, .data = outbuf};
        for (int i = 0; i < ndim; i++)
            oa.shape[i] = shape[i];
        t[nt] = tensor_of("out", &oa);
        nt++;
        p.tensors = t;
        p.n_tensors = nt;
        p.dtype = odt;
        pecs_status st;
        if (backend) {
            pecs_call k;
            st = eval_call(&lb, &p, &k);
            if (st == PECS_OK && k.kind == PECS_CALL_DECLINED) {
                fprintf(stderr, "pecs eval: backend %s does not support this: %s\n", lb.id.name, k.reason);
                rc = EXIT_USAGE;
                goto cleanup;
            }
            if (st == PECS_OK && k.kind != PECS_CALL_OK)
                st = k.kind == PECS_CALL_STATUS ? k.st : PECS_BACKEND;
            if (st != PECS_OK)
                snprintf(why, sizeof why, "backend %s: %s%s%s", lb.id.name, pecs_status_str(st), k.reason[0] ? ": " : "",
                         k.reason);
        } else {
            st = pecs_ref_run(&p, why, sizeof why);
        }
        if (st != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_USAGE;
            goto cleanup;
        }
        if (pecs_npy_write(o_out->path, odt, ndim, shape, outbuf, why, sizeof why) != PECS_OK) {
            fprintf(stderr, "pecs eval: %s\n", why);
            rc = EXIT_IO;
            goto cleanup;
        }
    }
    for (int i = 0; i < n_out; i++)
        if (strcmp(outs[i].name, "out") && strcmp(outs[i].name, "inv_freq") && strcmp(outs[i].name, "attn") &&
            strcmp(outs[i].name, "axis") && strcmp(outs[i].name, "softmax_scale")) {
            fprintf(stderr, "pecs eval: no output named '%s' (out, inv_freq, attn, axis, softmax_scale)\n", outs[i].name);
            rc = EXIT_USAGE;
        }
#undef INPUT
cleanup:
    for (int i = 0; i < 8; i++)
        pecs_npy_free(&arrs[i]);
    free(outbuf);
    free(inv);
    if (have_lb)
        pecs_backend_unload(&lb);
    if (have_case)
        pecs_case_free(&c);
    return rc;
}

