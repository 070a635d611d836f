/* harness/cli/describe.c — pecs describe. */
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

/* ---- describe -------------------------------------------------------------------------------------------- */

static const char *const FORM_TENSORS[] = {
    /* rotate */ "inputs:  x [T, H, D] (f64|f32|f16), pos [T] or [P, T] (i32|i64|f64; P rows: t,h,w / h,w); w [rows, cols]\n"
                 "  if it reads data (rope.comrope's generators)\n"
                 "  outputs: out [T, H, D]; schedules also give inv_freq [R/2], attn [], axis [R/2] (position row of\n"
                 "  each pair) and softmax_scale [] (f64; --in pos gives length-dependent schedules their length)",
    /* bias   */ "inputs:  qpos [Lq], kpos [Lk] (i32|i64|f64); --set heads=H; w [rows, cols] if it reads data\n"
                 "  outputs: out [H, Lq, Lk]",
    /* embed  */ "inputs:  x [T, D] (f64|f32|f16), pos [T] or [1, T] (i32|i64|f64); w [npos, D] if a table\n"
                 "  outputs: out [T, D] = x + P(pos)",
    /* posmap */ "inputs:  idx [1, T] (i32|i64|f64): each token's index in the sequence the encoding remaps\n"
                 "  outputs: out [P, T] in idx's dtype, P = the encoding's rows (each a pos row for rotate/bias); compared\n"
                 "  exactly (pecs run; pecs eval does not take posmap problems yet)",
    /* mask   */ "inputs:  qpos [Lq], kpos [Lk] (i32|i64|f64)\n"
                 "  outputs: out [1, Lq, Lk] (0 visible, -inf masked)",
    /* scores */ "inputs:  q [Lq, H, D], k [Lk, H, D] (f64|f32|f16), qpos [Lq], kpos [Lk], w [rows, cols]\n"
                 "  outputs: out [H, Lq, Lk] (logits, -inf where masked)",
    /* kattn  */ "inputs:  q [Lq, H, D], k [Lk, H, D], v [Lk, H, D] (f32|f16|bf16), w [rows, cols]; no positions (query i\n"
                 "  and key j at token indices i and j)\n"
                 "  outputs: out [Lq, H, D] (attention outputs, not logits; pecs run only: pecs eval does not take kattn\n"
                 "  problems yet)"};
_Static_assert(sizeof FORM_TENSORS / sizeof FORM_TENSORS[0] == PECS_FORM_COUNT_, "one FORM_TENSORS line per form");

int pecs_cmd_describe(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs("usage: pecs describe ENCODING\n\nParameters (type, default, range, meaning), kernel form, expected\n"
              "invariance, tensors for `pecs eval`, and the source the reference was checked against.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const pecs_encoding_info *e = pecs_registry_find(argv[1]);
    const pecs_catalogued *cat = e ? NULL : pecs_registry_find_catalogued(argv[1]);
    if (cat) {
        /* No reference: the catalogue's entry and the record of why (exit 0: the id is known). */
        printf("%s — %s\n  form: %s (catalogued)   tier: T%d   relative-shift invariance expected: %s\n"
               "  status: %s (no reference: cases of it are rejected)\n  record: %s\n",
               cat->id, cat->summary, pecs_form_name(cat->form), cat->tier, cat->invariance,
               pecs_cat_status_name(cat->status), cat->record);
        return EXIT_OK;
    }
    if (!e) {
        const char *sug = pecs_registry_suggest(argv[1]);
        fprintf(stderr, "pecs describe: unknown encoding '%s'%s%s%s (see: pecs list encodings)\n", argv[1],
                sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
        return EXIT_USAGE;
    }
    printf("%s — %s\n  form: %s   tier: T%d   relative-shift invariance: %s\n  source: %s\n", e->id, e->summary,
           pecs_form_name(e->form), e->tier, pecs_invariance_name(e->invariance), e->source);
    printf("  bytes model: %g read (activations and gathered table rows) + 1 written element(s) per output element;"
           " %g flop(s) each\n",
           e->reads, e->flops);
    printf("  %s\n\nparameters:\n", FORM_TENSORS[e->form]);
    for (int i = 0; i < e->n_params; i++) {
        const pecs_param_schema *p = &e->params[i];
        char lo[32], hi[32], range[96];
        if (p->type == PECS_PARAM_CHOICE)
            snprintf(range, sizeof range, "%s", p->choices);
        else if (p->type == PECS_PARAM_BOOL)
            snprintf(range, sizeof range, "true|false");
        else
            snprintf(range, sizeof range, "[%s, %s]", pecs_fmt_real(p->lo, lo, sizeof lo), pecs_fmt_real(p->hi, hi, sizeof hi));
        printf("  %-22s %-9s default %-12s %s\n  %-22s %s\n", p->name, pecs_param_type_name(p->type),
               p->dflt[0] ? p->dflt : "(none)", range, "", p->doc);
    }
    int n;
    const pecs_knob_doc *k = pecs_case_knobs(&n);
    printf("\ncase knobs (every encoding):\n");
    for (int i = 0; i < n; i++)
        printf("  %-12s %-38s default %-10s %s\n", k[i].name, k[i].values, k[i].dflt[0] ? k[i].dflt : "-", k[i].doc);
    return EXIT_OK;
}

