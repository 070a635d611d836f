/* harness/coverage.h — pairwise (2-way) coverage of the cases suites reach, per encoding, and a greedy
 * generator of the cases that are missing (pecs coverage; docs/suite-format.md, "Coverage").
 *
 * An encoding's domain is a list of factors, each with a few levels (equivalence classes of a knob or
 * parameter value), all derived from the registry (encodings.def, its PECS_DOMAIN annotations, and the
 * knob table of case.c): dtype, tokens (power of two or not), heads (even, odd), head_dim (power of two
 * or not), keys (bias/mask/scores), rotary (full or partial, where the encoding has rotary_dim), layout
 * (rotate), view, position pattern, position dtype, and every other parameter (numeric: min, default, max,
 * interior; bool; each choice; lists: default or other). A case is classified into one level per factor.
 * A pair is two levels of two factors; it is valid if some case that pecs_case_validate accepts has both,
 * and covered if a suite case has both.
 */
#ifndef PECS_COVERAGE_H
#define PECS_COVERAGE_H

#include <stddef.h>
#include <stdint.h>

#include "case.h"
#include "pecs/status.h"
#include "registry.h"

#define PECS_COV_MAX_FACTORS 40
#define PECS_COV_MAX_LEVELS 8

/* ---- the pair counting, over level vectors (no cases: tests build hand domains with it) ------------------ */

typedef struct pecs_cov_pairs {
    int n_factors;
    int n_levels[PECS_COV_MAX_FACTORS];
    int offset[PECS_COV_MAX_FACTORS][PECS_COV_MAX_FACTORS]; /* first pair index of factors (i < j) */
    int n_pairs;
    unsigned char *valid, *covered; /* per pair */
} pecs_cov_pairs;

pecs_status pecs_cov_pairs_init(pecs_cov_pairs *p, int n_factors, const int *n_levels);
void pecs_cov_pairs_free(pecs_cov_pairs *p);
/* Index of the pair (factor i level a, factor j level b), i != j. */
int pecs_cov_pair_index(const pecs_cov_pairs *p, int i, int a, int j, int b);
/* The factors and levels of pair `k` (i < j). */
void pecs_cov_pair_decode(const pecs_cov_pairs *p, int k, int *i, int *a, int *j, int *b);
/* Mark every pair of the level vector v in flags (valid or covered); a factor at -1 (outside the domain)
 * takes part in no pair. Returns how many of those pairs were not marked before. */
int pecs_cov_mark(const pecs_cov_pairs *p, const int *v, unsigned char *flags);
/* Pairs valid and covered (a covered pair counts as valid: a valid case reached it). */
void pecs_cov_count(const pecs_cov_pairs *p, int *valid, int *covered);

/* ---- an encoding's domain ---------------------------------------------------------------------------------- */

typedef enum pecs_cov_kind {
    PECS_COVF_DTYPE, PECS_COVF_TOKENS, PECS_COVF_HEADS, PECS_COVF_HEAD_DIM, PECS_COVF_KEYS, PECS_COVF_ROTARY,
    PECS_COVF_LAYOUT, PECS_COVF_VIEW, PECS_COVF_POSITIONS, PECS_COVF_POS_DTYPE, PECS_COVF_OUT_VIEW, PECS_COVF_PARAM
} pecs_cov_kind;

typedef struct pecs_cov_factor {
    char name[32];
    pecs_cov_kind kind;
    int param;                                 /* PARAM: index in the encoding's schema */
    int n_levels;
    char level[PECS_COV_MAX_LEVELS][48];       /* printed name, e.g. "max=1e+12" */
    char rep[PECS_COV_MAX_LEVELS][48];         /* representative value ("" = computed when the case is built) */
    int cls_default, cls_min, cls_max, cls_interior; /* numeric PARAM: level of each class (-1: merged away) */
    double dflt, min, max;                     /* numeric PARAM: the class boundaries */
} pecs_cov_factor;

typedef struct pecs_cov_enc {
    const pecs_encoding_info *enc;
    int n_factors;
    pecs_cov_factor f[PECS_COV_MAX_FACTORS];
    pecs_cov_pairs pairs;
    int *witness;                              /* n_pairs x n_factors: a valid case's levels for each valid pair */
    int base[PECS_COV_MAX_FACTORS];            /* the levels of the default case */
    int n_cases;                               /* suite cases of this encoding seen */
} pecs_cov_enc;

/* Build the domain and decide which pairs are valid (pecs_case_validate on constructed cases). */
pecs_status pecs_cov_enc_init(pecs_cov_enc *ce, const pecs_encoding_info *e, char *why, size_t why_len);
void pecs_cov_enc_free(pecs_cov_enc *ce);
/* The level of every factor for a case (-1 where its value is outside the domain, e.g. pos_dtype f64 if the
 * domain had none). */
void pecs_cov_classify(const pecs_cov_enc *ce, const pecs_case *c, int *v);
/* Classify a case of this encoding and mark its pairs covered. */
void pecs_cov_add_case(pecs_cov_enc *ce, const pecs_case *c);
/* The case a level vector stands for (every factor set); PECS_INVALID (why) if pecs_case_validate refuses it.
 * On success *c must be freed with pecs_case_free. */
pecs_status pecs_cov_build(const pecs_cov_enc *ce, const int *v, pecs_case *c, char *why, size_t why_len);
/* Greedy pairwise cover (AETG-style, deterministic): canonical strings of new valid cases until every valid
 * pair is covered; marks them covered. *cases is malloc'd (each string too). */
pecs_status pecs_cov_generate(pecs_cov_enc *ce, char ***cases, int *n_cases);
/* "dtype=f16 x base=max(1e+12)" for pair k. */
void pecs_cov_pair_name(const pecs_cov_enc *ce, int k, char *buf, size_t n);

#endif
