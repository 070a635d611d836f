/* impls/scalar/scalar.c — entry point, supports() and dispatch of the scalar backend. */
#include <stdio.h>

#include "scalar.h"

typedef struct scalar_slot {
    const char *id;
    pecs_form form;
    scalar_schedule_fn rotate;
    scalar_bias_fn bias; /* bias, mask, scores, posmap and kattn: the whole kernel */
    scalar_embed_fn embed;
} scalar_slot;

#define SLOT_ROTATE(sym, id) {id, PECS_FORM_ROTATE, scalar_##sym, NULL, NULL}
#define SLOT_BIAS(sym, id) {id, PECS_FORM_BIAS, NULL, scalar_##sym, NULL}
#define SLOT_MASK(sym, id) {id, PECS_FORM_MASK, NULL, scalar_##sym, NULL}
#define SLOT_SCORES(sym, id) {id, PECS_FORM_SCORES, NULL, scalar_##sym, NULL}
#define SLOT_EMBED(sym, id) {id, PECS_FORM_EMBED, NULL, NULL, scalar_##sym}
#define SLOT_POSMAP(sym, id) {id, PECS_FORM_POSMAP, NULL, scalar_##sym, NULL}
#define SLOT_KATTN(sym, id) {id, PECS_FORM_KATTN, NULL, scalar_##sym, NULL}
static const scalar_slot g_slots[] = {
#define PECS_ENCODING(sym, id, form, ...) SLOT_##form(sym, id),
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
};

static const scalar_slot *find_slot(const char *id)
{
    for (size_t i = 0; i < sizeof g_slots / sizeof g_slots[0]; i++)
        if (strcmp(g_slots[i].id, id) == 0)
            return &g_slots[i];
    return NULL;
}

static int scalar_supports(void *ctx, const pecs_problem *p, char *reason, size_t reason_size)
{
    (void)ctx;
    if (!find_slot(p->encoding)) {
        snprintf(reason, reason_size, "no scalar kernel for encoding '%s'", p->encoding);
        return 0;
    }
    if (p->dtype != PECS_DT_F32 && p->dtype != PECS_DT_F16 && p->dtype != PECS_DT_BF16) {
        snprintf(reason, reason_size, "scalar kernels store f32, f16 or bf16, not %s", pecs_dtype_name(p->dtype));
        return 0;
    }
    if ((!strcmp(p->encoding, "music") || !strcmp(p->encoding, "txl")) && !scalar_skew_supported(p, reason, reason_size))
        return 0;
    return 1;
}

static pecs_status scalar_run(void *ctx, const pecs_problem *p)
{
    (void)ctx;
    const scalar_slot *s = find_slot(p->encoding);
    if (!s)
        return PECS_UNSUPPORTED;
    switch (s->form) {
    case PECS_FORM_ROTATE: return scalar_rotate(p);
    case PECS_FORM_BIAS:
    case PECS_FORM_MASK:
    case PECS_FORM_SCORES:
    case PECS_FORM_POSMAP:
    case PECS_FORM_KATTN: return s->bias(p);
    case PECS_FORM_EMBED: return scalar_embed(p, s->embed);
    default: return PECS_UNSUPPORTED;
    }
}

static const char *scalar_isa(void *ctx)
{
    (void)ctx;
    return "scalar";
}

static const pecs_backend g_scalar = {
    .abi_major = PECS_ABI_MAJOR,
    .struct_size = sizeof(pecs_backend),
    .abi_minor = PECS_ABI_MINOR,
    .name = "scalar",
    .version = "1.0",
    .description = "plain C kernels, f32 arithmetic, angles in double",
    .ctx = NULL,
    .supports = scalar_supports,
    .run = scalar_run,
    .isa = scalar_isa,
};

PECS_BACKEND_ENTRY(scalar)
{
    (void)host;
    return host_abi_major == PECS_ABI_MAJOR ? &g_scalar : NULL;
}
