/* harness/suite.h — suite files (YAML) loaded, validated and expanded into canonical case strings.
 *
 * Format: docs/suite-format.md. In short:
 *   suite: name                        description: text
 *   include: [file.yaml, ...]          shared `shapes:` and `sets:` (paths relative to the including file)
 *   shapes: {name: {knob: value}}      named presets (model shapes); a case picks them with `shape:`
 *   sets:   {name: {knob: [values]}}   named option sets; a case merges them with `use: [name, ...]`
 *   defaults: {knob: value|[values]}   applied to every case unless the case (or a used set) sets the key
 *   tolerances: {encoding: {dtype: {metric: number}}}   become tol_* knobs of the matching cases
 *   cases: [ {encoding: id|[ids], knob: value|[values], ...}, ... ]
 * Every list-valued knob is an axis; a case entry expands to the cartesian product of its axes, in
 * order (the last key varies fastest), duplicates removed. Precedence, lowest first:
 *   defaults < shape preset < used sets < suite tolerances < the case's own keys.
 * A key from defaults, sets or presets that names a parameter the case's encoding does not have is
 * not applied to that case; the same key written in the case entry itself is an error.
 * Errors: "file:line:column: message", naming the key and the value; nothing is run on a bad suite.
 */
#ifndef PECS_SUITE_H
#define PECS_SUITE_H

#include <stddef.h>

#include "pecs/status.h"

typedef struct pecs_suite_file {
    char *path;
    char sha256[65];
} pecs_suite_file;

typedef struct pecs_suite {
    char *name;
    char *path;
    pecs_suite_file *files;   /* the suite file first, then every include */
    int n_files;
    char **cases;             /* canonical case strings */
    int n_cases;
    int library;              /* an include library (shapes, sets, models; no 'suite' or 'cases' key): loads
                                 with no cases, so a run over every suites/ file can skip it */
} pecs_suite;

struct pecs_tolerances;

pecs_status pecs_suite_load(pecs_suite *s, const char *path, char *why, size_t why_len);
/* The same, and every case's tolerances must resolve in `tols` (tolerance.h): a `profile` the file does
 * not have, or one that leaves a metric undefined for the case's dtype, is an error located at the value
 * that chose the profile (else at the case entry) — what `pecs run` would otherwise report as an ERROR per
 * case at run time. tols NULL: no such check (pecs_suite_load). */
pecs_status pecs_suite_load_checked(pecs_suite *s, const char *path, struct pecs_tolerances *tols, char *why,
                                    size_t why_len);
void pecs_suite_free(pecs_suite *s);

#endif
