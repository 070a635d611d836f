/* harness/certify.h — certification: profiles, claims, and the verdict of a certificate.
 *
 * A certification profile (configs/certify/<name>.yaml, docs/certification.md) names the suites a
 * certification runs, the conformance levels it may be claimed at, and families of encodings with the dtypes
 * each may be claimed in. A vendor's claim is a level and a list of words FAMILY[:DTYPES] or
 * ENCODING[:DTYPES] (e.g. `rotate:f32,bf16`, `alibi`); it expands to claimed units, one per (encoding, dtype).
 *
 * The evaluation reads a results file (results.h) and is a pure function of (profile, claim, results): `pecs
 * certify` writes it into the certificate, `pecs verify` computes it again and requires the same object. A
 * certificate is CONFORMANT when
 *   - every claimed unit has at least one case in the run, and at least one of them PASSED (judged);
 *   - every case of a claimed unit PASSED, or is BEYOND_LEVEL (positions outside what the level judges);
 *     a claimed case SKIPPED (declined) is a violation;
 *   - no case outside the claim has a failing verdict (decline what you do not claim: a wrong answer is
 *     never acceptable), and every SKIPPED case carries a reason;
 *   - the run judged every case at the claimed level, isolated (the plugin in the pecs-worker process).
 */
#ifndef PECS_CERTIFY_H
#define PECS_CERTIFY_H

#include <jansson.h>
#include <stddef.h>

#include "pecs/status.h"

#define PECS_CERT_SCHEMA_VERSION 1
#define PECS_CERT_MAX_FAMILIES 32
#define PECS_CERT_MAX_SUITES 32
#define PECS_CERT_MAX_LEVELS 8
#define PECS_CERT_MAX_UNITS 512

typedef struct pecs_cert_family {
    char name[32], what[160];
    char encodings[64][32];
    int n_encodings;
    char dtypes[4][8];
    int n_dtypes;
} pecs_cert_family;

typedef struct pecs_cert_profile {
    char name[64], description[256];
    int version;
    char suites[PECS_CERT_MAX_SUITES][64]; /* suite names: suites/<name>.yaml under a data root */
    int n_suites;
    char levels[PECS_CERT_MAX_LEVELS][16];
    int n_levels;
    double throughput_min_time; /* --min-time of the timed pass over the passing cases (0: not timed) */
    pecs_cert_family families[PECS_CERT_MAX_FAMILIES];
    int n_families;
} pecs_cert_profile;

typedef struct pecs_cert_unit {
    char encoding[32], dtype[8], family[32];
} pecs_cert_unit;

typedef struct pecs_cert_claim {
    char level[16];
    pecs_cert_unit units[PECS_CERT_MAX_UNITS];
    int n_units;
} pecs_cert_claim;

/* Load and validate a profile (every error "file:line:column: ..."; encodings must be registered, dtypes
 * known, no encoding in two families). */
pecs_status pecs_cert_profile_load(pecs_cert_profile *p, const char *path, char *why, size_t why_len);

/* Expand claim words at `level` against a profile: unknown family or encoding, a dtype the family does not
 * offer, a level the profile does not offer, or the same unit claimed twice are errors naming the word. */
pecs_status pecs_cert_claim_parse(const pecs_cert_profile *p, const char *const *words, int n, const char *level,
                                  pecs_cert_claim *c, char *why, size_t why_len);

/* The evaluation object of a results file under a claim (certificate.json's "evaluation"): the verdict
 * ("CONFORMANT" or "NOT CONFORMANT"), one row per claimed unit, the cases outside the claim, the problems
 * (each a sentence naming a case), the run's checks. NULL only when out of memory. */
json_t *pecs_cert_evaluate(const pecs_cert_profile *p, const pecs_cert_claim *c, json_t *results);

/* The Markdown certificate rendered from certificate.json (deterministic: verify renders it again and
 * compares the bytes). malloc'd; NULL when out of memory. */
char *pecs_cert_render_md(json_t *cert);

/* A fresh 63-bit seed and a position offset in [1, 4096] from the kernel's random source. The offset moves the
 * positions of the cases pecs_cert_challenge_case() names: their meaning does not change, and a small offset
 * keeps the float32-angle level judging them. */
pecs_status pecs_cert_challenge(unsigned long long *seed, long long *pos_offset, char *why, size_t why_len);

/* The seed a case of the certification gets: mixed from the certificate's seed and the case's own, so
 * cases keep distinct inputs (splitmix64; result in [0, 2^63)). */
unsigned long long pecs_cert_case_seed(unsigned long long cert_seed, unsigned long long case_seed);

/* Apply a challenge to a case: its seed mixed with the certificate's, and (equivalence cases of exactly
 * relative rotate-form encodings without a position-dependent gain, contig/decode/const positions >= 0) its positions
 * moved by pos_offset when the case stays valid. */
struct pecs_case;
void pecs_cert_challenge_case(struct pecs_case *c, unsigned long long seed, long long pos_offset);

/* The same as a case-rewrite hook (run_cfg.rewrite): ctx is a pecs_cert_challenge_t. */
typedef struct pecs_cert_challenge_t {
    unsigned long long seed;
    long long pos_offset;
} pecs_cert_challenge_t;
void pecs_cert_challenge_hook(struct pecs_case *c, void *ctx);

#endif
