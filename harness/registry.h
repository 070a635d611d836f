/* harness/registry.h — runtime view of include/pecs/encodings.def.
 *
 * The enum, the encoding table and the flat parameter-schema table are all generated from the .def;
 * nothing here is maintained by hand.
 */
#ifndef PECS_REGISTRY_H
#define PECS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "pecs/backend.h"

typedef enum pecs_enc {
#define PECS_ENCODING(sym, ...) PECS_ENC_##sym,
#define PECS_PARAM(...)
#include "pecs/encodings.def"
#undef PECS_ENCODING
#undef PECS_PARAM
    PECS_ENC_COUNT
} pecs_enc;

typedef enum pecs_invariance { PECS_INV_EXACT, PECS_INV_FIXED_L, PECS_INV_NONE, PECS_INV_NA } pecs_invariance;

typedef struct pecs_param_schema {
    pecs_enc enc;
    const char *name;
    pecs_param_type type;
    const char *dflt;     /* parsed by pecs_value_parse() */
    double lo, hi;        /* inclusive */
    const char *choices;  /* "a|b" for CHOICE */
    const char *doc;
} pecs_param_schema;

typedef struct pecs_encoding_info {
    pecs_enc enc;
    const char *sym;
    const char *id;
    pecs_form form;
    pecs_invariance invariance;
    int tier;
    int pos_rows;         /* rows P of the rotate/embed position tensor [P, T] */
    const char *weights;  /* "" or "rows,cols" of the learned-data tensor "w" (see encodings.def) */
    double reads;         /* elements read per output element: activations and gathered table rows (encodings.def) */
    double flops;         /* per output element */
    const char *summary;
    const char *source;
    const pecs_param_schema *params; /* contiguous slice of the schema table */
    int n_params;
} pecs_encoding_info;

const pecs_encoding_info *pecs_registry_get(pecs_enc e);
/* Lookup by canonical id; NULL if unknown. */
const pecs_encoding_info *pecs_registry_find(const char *id);
/* The known id closest to `id` (edit distance), for "did you mean"; NULL if nothing is close. */
const char *pecs_registry_suggest(const char *id);
const pecs_param_schema *pecs_registry_param(const pecs_encoding_info *e, const char *name);
/* 1 if any encoding declares a parameter with this name. */
int pecs_registry_is_param_name(const char *name);

/* Shape of the learned-data tensor "w" for an encoding with `weights`, from heads H, head_dim D and the
 * case's parameter values. Returns 1 and fills shape[2]; 0 if the encoding has none. */
int pecs_registry_weights_shape(const pecs_encoding_info *e, const pecs_param *params, int n_params, int64_t H,
                                int64_t D, int64_t shape[2]);
/* The same for a call with L queries: a spec naming L (tra's per-query-row gates, "H,L") has a shape only here
 * (the form above knows no L and returns 0 for it). */
int pecs_registry_weights_shape_l(const pecs_encoding_info *e, const pecs_param *params, int n_params, int64_t H,
                                  int64_t D, int64_t L, int64_t shape[2]);

/* A coverage-domain annotation of one parameter (PECS_DOMAIN rows of encodings.def): the min, interior
 * representative and max `pecs coverage` uses instead of its rule's ("" = the rule's), and why. */
typedef struct pecs_param_domain {
    pecs_enc enc;
    const char *name, *min, *interior, *max, *why;
} pecs_param_domain;
/* The annotation of a parameter, or NULL if it has none. */
const pecs_param_domain *pecs_registry_domain(const pecs_encoding_info *e, const char *name);
/* Why the encoding's ids are real numbers (a PECS_REAL_POSITIONS row of encodings.def), or NULL if they are
 * integers: its cases need pos_dtype f64 (case.c) and its ids are judged within float32 rounding (runner.c). */
const char *pecs_registry_real_positions(const pecs_encoding_info *e);

/* A catalogued scheme without a reference (PECS_CATALOGUED rows of encodings.def): not an encoding, no
 * pecs_enc value; listed and described so that the catalogue and `pecs list` agree. */
typedef enum pecs_cat_status { PECS_CAT_UNDEFINED, PECS_CAT_DEFINED, PECS_CAT_UNCHECKED } pecs_cat_status;
typedef struct pecs_catalogued {
    const char *id;
    pecs_form form;        /* the form the catalogue files it under */
    const char *invariance; /* the catalogue's expectation, free text */
    int tier;
    pecs_cat_status status;
    const char *summary;
    const char *record;    /* what was searched (UNDEFINED), or the source and what blocks it (DEFINED) */
} pecs_catalogued;

int pecs_registry_n_catalogued(void);
const pecs_catalogued *pecs_registry_catalogued(int i);   /* 0 <= i < n; NULL otherwise */
const pecs_catalogued *pecs_registry_find_catalogued(const char *id);
/* "undefined", "defined" (defined, not implemented) or "unchecked" (sources known, not yet checked);
 * "implemented" is the status of every PECS_ENCODING row. */
const char *pecs_cat_status_name(pecs_cat_status s);
/* The registered encoding `id`, or NULL with the reason in why: for an id catalogued without a reference,
 * why it cannot run ("'X' is catalogued but undefined: RECORD (see: pecs describe X)"); for any other id,
 * "unknown encoding 'X'" with the nearest registered id when one is close. Every place that takes an
 * encoding id from a user (case strings, suites, tolerance profiles, eval) says the same through this. */
const pecs_encoding_info *pecs_registry_resolve(const char *id, char *why, size_t why_len);

const char *pecs_form_name(pecs_form f);
const char *pecs_invariance_name(pecs_invariance v);
const char *pecs_param_type_name(pecs_param_type t);

/* Small edit distance (Levenshtein), shared by every "did you mean" message. */
int pecs_edit_distance(const char *a, const char *b);

#endif
