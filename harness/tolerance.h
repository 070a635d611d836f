/* harness/tolerance.h — tolerance profiles (configs/tolerances.yaml).
 *
 * A profile gives, per output dtype, every metric of PECS_TOL_LIST (case.h); per-encoding rows
 * override single metrics; a profile may inherit from another (`base:`). Resolution order for a case:
 *   profile base chain -> profile dtypes[dtype] -> profile encodings[id][dtype] -> case tol_* knobs
 * (suite-level `tolerances:` arrive as tol_* knobs, so the case string reproduces them exactly).
 */
#ifndef PECS_TOLERANCE_H
#define PECS_TOLERANCE_H

#include "case.h"
#include "yamlx.h"

typedef struct pecs_tolerances {
    pecs_yaml y;
    char sha256[65];
} pecs_tolerances;

pecs_status pecs_tol_load(pecs_tolerances *t, const char *path, char *why, size_t why_len);
void pecs_tol_free(pecs_tolerances *t);
/* 1 if the profile exists. */
int pecs_tol_has_profile(pecs_tolerances *t, const char *profile);
pecs_status pecs_tol_resolve(pecs_tolerances *t, const pecs_case *c, pecs_tol *out, char *why, size_t why_len);

#endif
