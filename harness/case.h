/* harness/case.h — one test case: an encoding with its parameters, a shape, a dtype, a layout, a
 * position pattern, a seed, the check to run and the tolerances.
 *
 * One vocabulary everywhere: the keys of a suite file, the `--set key=value` options and the words of
 * the canonical case string are the same knobs, set through pecs_case_set(). The canonical string is
 *
 *     <encoding> key=value key=value ...
 *
 * with generic knobs in a fixed order and only the encoding parameters that differ from their default.
 * It is the case's identity (results, `pecs compare`) and its reproducer:
 *     pecs run --case '<canonical string>' --backend <backend>
 * runs exactly that case again. Every case the expander produces goes through format -> parse, so the
 * reproducer round trip is exercised on every run.
 */
#ifndef PECS_CASE_H
#define PECS_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "pecs/backend.h"
#include "registry.h"

typedef enum pecs_layout { PECS_LAYOUT_THD, PECS_LAYOUT_HTD } pecs_layout;
typedef enum pecs_view { PECS_VIEW_CONTIGUOUS, PECS_VIEW_STRIDED, PECS_VIEW_INPLACE } pecs_view;
typedef enum pecs_pos_kind { PECS_POS_CONTIG, PECS_POS_RANDOM, PECS_POS_DECODE, PECS_POS_CONST, PECS_POS_GRID } pecs_pos_kind;
typedef enum pecs_compare_mode { PECS_COMPARE_RAW, PECS_COMPARE_SOFTMAX } pecs_compare_mode;
typedef enum pecs_values { PECS_VALUES_UNIFORM, PECS_VALUES_SPECIAL } pecs_values;
typedef enum pecs_out_view { PECS_OUT_SAME, PECS_OUT_CONTIGUOUS, PECS_OUT_STRIDED, PECS_OUT_TRANSPOSED } pecs_out_view;
typedef enum pecs_check { PECS_CHECK_EQUIVALENCE, PECS_CHECK_INVARIANCE } pecs_check;

/* Tolerance metric names, shared by configs/tolerances.yaml, the tol_* knobs and results. */
#define PECS_TOL_LIST(X)                                                                                  \
    X(abs, "absolute error allowed per element")                                                          \
    X(rel, "relative error allowed per element (|a-e| <= abs + rel*|e|)")                                 \
    X(nmse, "normalised mean squared error sum((a-e)^2)/sum(e^2)")                                       \
    X(ulp, "largest distance in units in the last place of the output dtype (0 = not checked)")           \
    X(pos_abs, "extra absolute error allowed per unit of |position|")                                     \
    X(angle_eps, "unit roundoff of the angle's dtype (0: angles exact); see docs/levels.md")            \
    X(angle_c0, "angle model: inverse-frequency error, constant part, in units of angle_eps")           \
    X(angle_c1, "angle model: inverse-frequency error per pair index i, in units of angle_eps")         \
    X(angle_max, "largest angle error (rad) the level may allow and still judge a case (0: no limit)")  \
    X(drift, "invariance: logit drift allowed, relative to max|q'|*max|k'| (bias: max|B|)")             \
    X(round_abs, "rounding check: the kernel's error before its final rounding, absolute part (margin)")  \
    X(round_rel, "rounding check: the kernel's error before its final rounding, relative part (margin)")  \
    X(round_frac, "rounding check: largest fraction of decidable elements not correctly rounded (0 = not checked)") \
    X(round_bias, "rounding check: largest |mean signed error| in ulp over decidable elements (0 = not checked)")

typedef struct pecs_tol {
#define PECS_X_(name, doc) double name;
    PECS_TOL_LIST(PECS_X_)
#undef PECS_X_
} pecs_tol;

#define PECS_MAX_SHIFTS 16
#define PECS_CASE_MAX_PARAMS 32

typedef struct pecs_case {
    const pecs_encoding_info *enc;
    pecs_dtype dtype;
    int64_t tokens, heads, head_dim, keys;  /* keys: bias key count (0 = tokens) */
    pecs_layout layout;
    pecs_view view;
    pecs_out_view out_view;                 /* out's own strides (rotate, embed; default: x's) */
    pecs_pos_kind pos_kind;
    int64_t pos_arg;                        /* contig/decode/const: position; random: bound; grid: width */
    pecs_dtype pos_dtype;
    uint64_t seed;
    pecs_values values;                     /* special: x seeded with NaN, Inf, +-0, subnormals, extremes */
    int threads;                            /* problem->n_threads (0: the run's --threads) */
    pecs_check check;
    pecs_compare_mode compare;              /* softmax: rows compared as probabilities (bias, scores) */
    int64_t shifts[PECS_MAX_SHIFTS];        /* invariance sweep */
    int64_t min_horizon;                    /* invariance: horizon required to pass; -1 = the whole sweep */
    int n_shifts;
    char level[16];                         /* conformance level (a tolerance profile) */
    pecs_tol tol_override;                  /* NAN = not overridden */
    /* Encoding parameters: the full schema, defaults filled; lists owned by the case. */
    pecs_param params[PECS_CASE_MAX_PARAMS];
    int n_params;
    char choice_buf[PECS_CASE_MAX_PARAMS][24];
} pecs_case;

/* Start a case for an encoding: every knob at its default. */
pecs_status pecs_case_init(pecs_case *c, const pecs_encoding_info *enc);
void pecs_case_free(pecs_case *c);
pecs_status pecs_case_copy(pecs_case *dst, const pecs_case *src);

/* Set one knob (generic or encoding parameter) from its text value. On error writes e.g.
 *   key 'tokens': value '-4' must be an integer in [1, 16777216]
 * (the caller prefixes the location). `encoding` and `shape` are not knobs of a case. */
pecs_status pecs_case_set(pecs_case *c, const char *key, const char *value, char *why, size_t why_len);
/* 1 if `key` names a knob some case may take (generic or any encoding's parameter). */
int pecs_case_is_known_key(const char *key);

/* Cross-knob validation after all knobs are set (e.g. rotary_dim <= head_dim, in-place bias). */
pecs_status pecs_case_validate(const pecs_case *c, char *why, size_t why_len);

/* The memory cap (bytes of buffers one case may ask for; default 4 GiB). A case over it is valid but
 * cannot run: validation and parsing return PECS_LIMIT, and the runner reports it as ERROR with the size. */
void pecs_case_set_mem_cap(double bytes);
double pecs_case_mem_cap(void);

/* Canonical string (malloc'd); parse it back (tokens separated by spaces). PECS_LIMIT leaves *c set (a
 * valid case over a resource limit: free it); any other error leaves nothing to free. */
char *pecs_case_format(const pecs_case *c);
pecs_status pecs_case_parse(pecs_case *c, const char *spec, char *why, size_t why_len);
/* The parameters that differ from the registry defaults, " k=v" each (malloc'd; "" when none; NULL: no
 * memory): what `pecs eval --set` needs to reproduce the case. */
char *pecs_case_params_format(const pecs_case *c);

/* Effective number of query tokens and keys. */
int64_t pecs_case_tokens(const pecs_case *c);
int64_t pecs_case_keys(const pecs_case *c);
/* Output elements and the bytes model (reads+writes of activations and positions), from the registry. */
int64_t pecs_case_out_elems(const pecs_case *c);
double pecs_case_bytes(const pecs_case *c);

/* Generic knob names with their documentation, for docs and `pecs describe`. */
typedef struct pecs_knob_doc {
    const char *name, *values, *dflt, *doc;
} pecs_knob_doc;
const pecs_knob_doc *pecs_case_knobs(int *n);

const char *pecs_layout_name(pecs_layout l);
const char *pecs_view_name(pecs_view v);
const char *pecs_check_name(pecs_check k);

/* 1 if the form's output is [H, Lq, Lk] over query and key positions (bias, mask, scores). */
int pecs_form_pairwise(pecs_form f);
/* Heads of the output (1 for mask and embed). */
int64_t pecs_case_out_heads(const pecs_case *c);

#endif
