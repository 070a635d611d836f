/* tests/test_registry.c — the encoding registry generated from include/pecs/encodings.def: table sanity,
 * every default accepted by pecs_case_init, lookups, "did you mean" suggestions and the edit distance. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "registry.h"

TestSuite(registry);

/* ---- table sanity ---------------------------------------------------------------------------------- */

/* Catches an entry whose enum value and table position disagree (get(e)->enc != e). */
Test(registry, get_returns_entry_for_its_own_enum)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        cr_assert_not_null(e, "encoding %d", i);
        cr_expect_eq((int)e->enc, i, "encoding %d reports enum %d", i, (int)e->enc);
    }
}

/* Catches get() reading past the table for out-of-range enums. */
Test(registry, get_out_of_range_is_null)
{
    cr_expect_null(pecs_registry_get(PECS_ENC_COUNT));
    cr_expect_null(pecs_registry_get((pecs_enc)(PECS_ENC_COUNT + 100)));
    cr_expect_null(pecs_registry_get((pecs_enc)-1));
}

/* Catches two encodings sharing an id or a C symbol (results and dispatch would collide). */
Test(registry, ids_and_syms_unique)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++)
        for (int j = i + 1; j < PECS_ENC_COUNT; j++) {
            const pecs_encoding_info *a = pecs_registry_get((pecs_enc)i), *b = pecs_registry_get((pecs_enc)j);
            cr_expect_str_neq(a->id, b->id, "encodings %d and %d share id '%s'", i, j, a->id);
            cr_expect_str_neq(a->sym, b->sym, "encodings %d and %d share sym '%s'", i, j, a->sym);
        }
}

/* Catches a sym that is not the id with '.' replaced by '_' (hook names are derived from sym). */
Test(registry, sym_is_id_with_dots_replaced)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        char buf[64];
        size_t n = strlen(e->id);
        cr_assert_lt(n, sizeof buf);
        memcpy(buf, e->id, n + 1);
        for (size_t k = 0; k < n; k++)
            if (buf[k] == '.')
                buf[k] = '_';
        cr_expect_str_eq(e->sym, buf, "id '%s'", e->id);
    }
}

/* Catches a row with an empty id, summary or source (pecs list/describe would print blanks). */
Test(registry, texts_non_empty)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        cr_assert_not_null(e->id);
        cr_expect_gt(strlen(e->id), 0);
        cr_assert_not_null(e->summary, "'%s'", e->id);
        cr_expect_gt(strlen(e->summary), 0, "'%s' has an empty summary", e->id);
        cr_assert_not_null(e->source, "'%s'", e->id);
        cr_expect_gt(strlen(e->source), 0, "'%s' has an empty source", e->id);
    }
}

/* Catches a form, invariance or tier outside its enum/range (a typo in the .def). */
Test(registry, form_invariance_tier_in_range)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        cr_expect((int)e->form >= 0 && e->form < PECS_FORM_COUNT_, "'%s' form %d", e->id, (int)e->form);
        cr_expect_str_neq(pecs_form_name(e->form), "?", "'%s'", e->id);
        cr_expect((int)e->invariance >= 0 && e->invariance <= PECS_INV_NA, "'%s' invariance", e->id);
        cr_expect_str_neq(pecs_invariance_name(e->invariance), "?", "'%s'", e->id);
        cr_expect(e->tier >= 1 && e->tier <= 3, "'%s' tier %d", e->id, e->tier);
        cr_expect(isfinite(e->reads) && e->reads >= 0, "'%s' reads", e->id);
        cr_expect(isfinite(e->flops) && e->flops >= 0, "'%s' flops", e->id);
    }
}

/* Catches a parameter slice bound to the wrong encoding (rows not grouped after their encoding). */
Test(registry, param_slices_belong_to_their_encoding)
{
    int total = 0;
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        cr_expect_leq(e->n_params, PECS_CASE_MAX_PARAMS, "'%s'", e->id);
        cr_expect(e->n_params == 0 || e->params != NULL, "'%s'", e->id);
        for (int k = 0; k < e->n_params; k++)
            cr_expect_eq((int)e->params[k].enc, i, "'%s' param '%s' belongs to %d", e->id, e->params[k].name,
                         (int)e->params[k].enc);
        total += e->n_params;
    }
    /* every PECS_PARAM row of the .def is in exactly one slice */
    static const char *const rows[] = {
#define PECS_ENCODING(...)
#define PECS_PARAM(sym, name, ...) #name,
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
    };
    cr_expect_eq(total, (int)(sizeof rows / sizeof rows[0]));
}

/* Catches a parameter declared twice in one encoding (the second would be unreachable). */
Test(registry, param_names_unique_within_encoding)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        for (int a = 0; a < e->n_params; a++) {
            cr_expect_gt(strlen(e->params[a].name), 0, "'%s'", e->id);
            for (int b = a + 1; b < e->n_params; b++)
                cr_expect_str_neq(e->params[a].name, e->params[b].name, "'%s' declares '%s' twice", e->id,
                                  e->params[a].name);
        }
    }
}

/* Catches a schema row whose bounds or choices do not match its type. */
Test(registry, param_schema_consistent)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        for (int k = 0; k < e->n_params; k++) {
            const pecs_param_schema *s = &e->params[k];
            cr_assert_not_null(s->dflt, "%s.%s", e->id, s->name);
            cr_assert_not_null(s->doc, "%s.%s", e->id, s->name);
            cr_expect_gt(strlen(s->doc), 0, "%s.%s has no doc", e->id, s->name);
            cr_expect_str_neq(pecs_param_type_name(s->type), "?", "%s.%s", e->id, s->name);
            if (s->type == PECS_PARAM_CHOICE)
                cr_expect_gt(strlen(s->choices), 0, "%s.%s: CHOICE without choices", e->id, s->name);
            else
                cr_expect_eq(strlen(s->choices), 0, "%s.%s: choices on a non-CHOICE", e->id, s->name);
            if (s->type == PECS_PARAM_INT || s->type == PECS_PARAM_REAL || s->type == PECS_PARAM_REAL_LIST)
                cr_expect_leq(s->lo, s->hi, "%s.%s: lo > hi", e->id, s->name);
        }
    }
}

/* Catches names of forms/types drifting from the documented vocabulary. */
Test(registry, enum_names)
{
    cr_expect_str_eq(pecs_form_name(PECS_FORM_ROTATE), "rotate");
    cr_expect_str_eq(pecs_form_name(PECS_FORM_BIAS), "bias");
    cr_expect_str_eq(pecs_form_name(PECS_FORM_EMBED), "embed");
    cr_expect_str_eq(pecs_form_name(PECS_FORM_COUNT_), "?");
    cr_expect_str_eq(pecs_invariance_name(PECS_INV_EXACT), "exact");
    cr_expect_str_eq(pecs_invariance_name(PECS_INV_NONE), "no");
    cr_expect_str_eq(pecs_param_type_name(PECS_PARAM_REAL_LIST), "real list");
    cr_expect_str_eq(pecs_param_type_name(PECS_PARAM_CHOICE), "choice");
}

/* ---- every encoding's defaults go through pecs_case_init --------------------------------------------- */

ParameterizedTestParameters(registry, defaults_init)
{
    /* One index per PECS_ENCODING row, generated from the .def itself. */
    static int idx[] = {
#define PECS_ENCODING(sym, ...) PECS_ENC_##sym,
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
    };
    return cr_make_param_array(int, idx, sizeof idx / sizeof idx[0]);
}

/* Catches a registry default that does not parse or is out of its own bounds (pecs_case_init fails),
 * params filled in another order than the schema, and a default case that does not validate or does
 * not survive format -> parse. */
ParameterizedTest(int *i, registry, defaults_init)
{
    const pecs_encoding_info *e = pecs_registry_get((pecs_enc)*i);
    cr_assert_not_null(e);
    pecs_case c;
    cr_assert_eq(pecs_case_init(&c, e), PECS_OK, "pecs_case_init('%s') failed", e->id);
    cr_expect_eq(c.enc, e);
    cr_expect_eq(c.n_params, e->n_params);
    char why[512] = "";
    for (int k = 0; k < c.n_params; k++) {
        cr_expect_str_eq(c.params[k].name, e->params[k].name);
        cr_expect_eq(c.params[k].type, e->params[k].type);
        /* the default re-applied through the public setter must also be accepted */
        cr_expect_eq(pecs_case_set(&c, e->params[k].name, e->params[k].dflt, why, sizeof why), PECS_OK,
                     "%s.%s default '%s': %s", e->id, e->params[k].name, e->params[k].dflt, why);
    }
    cr_expect_eq(pecs_case_validate(&c, why, sizeof why), PECS_OK, "'%s' default case: %s", e->id, why);
    char *s = pecs_case_format(&c);
    cr_assert_not_null(s);
    /* only defaults: no encoding parameter may be printed, the string starts "<id> dtype=" */
    char head[64];
    snprintf(head, sizeof head, "%s dtype=", e->id);
    cr_expect_eq(strncmp(s, head, strlen(head)), 0, "'%s'", s);
    pecs_case back;
    cr_expect_eq(pecs_case_parse(&back, s, why, sizeof why), PECS_OK, "'%s': %s", s, why);
    char *s2 = pecs_case_format(&back);
    cr_expect_str_eq(s2, s);
    free(s2);
    pecs_case_free(&back);
    free(s);
    pecs_case_free(&c);
}

/* ---- lookups ---------------------------------------------------------------------------------------- */

/* Catches find() not returning the same entry as get() for every id. */
Test(registry, find_every_id)
{
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        cr_expect_eq(pecs_registry_find(e->id), e, "find('%s')", e->id);
    }
    cr_expect_not_null(pecs_registry_find("rope"));
    cr_expect_not_null(pecs_registry_find("rope.yarn"));
    cr_expect_not_null(pecs_registry_find("alibi"));
}

/* Catches a prefix/case-insensitive or fuzzy match in find() (only exact ids are valid). */
Test(registry, find_unknown_is_null)
{
    cr_expect_null(pecs_registry_find("ropee"));
    cr_expect_null(pecs_registry_find("ROPE"));
    cr_expect_null(pecs_registry_find("rop"));
    cr_expect_null(pecs_registry_find("rope_yarn")); /* the sym is not an id */
    cr_expect_null(pecs_registry_find(""));
}

/* Catches "did you mean" suggesting the wrong id or suggesting something for far-off input. */
Test(registry, suggest)
{
    cr_expect_str_eq(pecs_registry_suggest("ropee"), "rope");
    cr_expect_str_eq(pecs_registry_suggest("alibii"), "alibi");
    cr_expect_str_eq(pecs_registry_suggest("rope.ntkk"), "rope.ntk");
    cr_expect_str_eq(pecs_registry_suggest("rope_yarn"), "rope.yarn");
    cr_expect_str_eq(pecs_registry_suggest("sinusoidal"), "sinusoidal");
    cr_expect_null(pecs_registry_suggest("xyz"));
    cr_expect_null(pecs_registry_suggest("completely-different"));
}

/* Catches pecs_registry_param finding a parameter of another encoding. */
Test(registry, param_lookup)
{
    const pecs_encoding_info *rope = pecs_registry_find("rope"), *alibi = pecs_registry_find("alibi");
    const pecs_encoding_info *yarn = pecs_registry_find("rope.yarn");
    cr_assert_not_null(rope);
    cr_assert_not_null(alibi);
    cr_assert_not_null(yarn);
    const pecs_param_schema *p = pecs_registry_param(rope, "pairing");
    cr_assert_not_null(p);
    cr_expect_eq(p->type, PECS_PARAM_CHOICE);
    cr_expect_str_eq(p->choices, "interleaved|half");
    cr_expect_null(pecs_registry_param(alibi, "pairing"));
    cr_expect_null(pecs_registry_param(rope, "factor"));
    cr_expect_not_null(pecs_registry_param(yarn, "factor"));
    cr_expect_not_null(pecs_registry_param(alibi, "max_bias"));
    cr_expect_null(pecs_registry_param(rope, "tokens"));
}

/* Catches generic knobs being reported as encoding parameters (and vice versa). */
Test(registry, is_param_name)
{
    cr_expect(pecs_registry_is_param_name("pairing"));
    cr_expect(pecs_registry_is_param_name("max_bias"));
    cr_expect(pecs_registry_is_param_name("padding_idx"));
    cr_expect_not(pecs_registry_is_param_name("tokens"));
    cr_expect_not(pecs_registry_is_param_name("dtype"));
    cr_expect_not(pecs_registry_is_param_name("pairin"));
    cr_expect_not(pecs_registry_is_param_name(""));
}

/* ---- edit distance ---------------------------------------------------------------------------------- */

/* Catches a broken Levenshtein recurrence (insert/delete/substitute, empty strings, symmetry). */
Test(registry, edit_distance_basics)
{
    cr_expect_eq(pecs_edit_distance("", ""), 0);
    cr_expect_eq(pecs_edit_distance("abc", ""), 3);
    cr_expect_eq(pecs_edit_distance("", "abcd"), 4);
    cr_expect_eq(pecs_edit_distance("rope", "rope"), 0);
    cr_expect_eq(pecs_edit_distance("rope", "ropee"), 1);   /* insertion */
    cr_expect_eq(pecs_edit_distance("tokens", "tokns"), 1); /* deletion */
    cr_expect_eq(pecs_edit_distance("heads", "beads"), 1);  /* substitution */
    cr_expect_eq(pecs_edit_distance("kitten", "sitting"), 3);
    cr_expect_eq(pecs_edit_distance("sitting", "kitten"), 3);
    cr_expect_eq(pecs_edit_distance("flaw", "lawn"), 2);
    cr_expect_eq(pecs_edit_distance("ab", "ba"), 2); /* plain Levenshtein: a transposition costs 2 */
    cr_expect_eq(pecs_edit_distance("alibi", "rope"), 5);
}

/* Catches overflow of the fixed-size row for long inputs (must return the cap, not read past it). */
Test(registry, edit_distance_long_strings_capped)
{
    char a[100], b[100];
    memset(a, 'a', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memset(b, 'a', sizeof b - 1);
    b[sizeof b - 1] = '\0';
    cr_expect_eq(pecs_edit_distance(a, b), 64);
    cr_expect_eq(pecs_edit_distance(a, "rope"), 64);
    a[63] = '\0'; /* 63 characters is still computed */
    b[62] = '\0';
    cr_expect_eq(pecs_edit_distance(a, b), 1);
}
