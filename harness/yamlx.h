/* harness/yamlx.h — libyaml documents with locations.
 *
 * Every error about a YAML file is written as "file:line:column: message" (1-based), so the user can
 * jump to it. Loading rejects syntax errors (libyaml's own mark), multi-document files and duplicate
 * mapping keys, and two limits checked before libyaml builds anything: files over PECS_YAML_MAX_BYTES
 * (the location is where the cap is reached) and collections nested deeper than PECS_YAML_MAX_DEPTH (the
 * location is the collection that goes one level too deep). Without the depth cap a 100k-deep `[[[...`
 * costs libyaml's scanner quadratic time (~1 min) before it is rejected; with it, microseconds.
 */
#ifndef PECS_YAMLX_H
#define PECS_YAMLX_H

#include <stddef.h>
#include <yaml.h>

#include "pecs/status.h"

#define PECS_YAML_MAX_BYTES (16u << 20) /* per file: suites and tolerance files are kilobytes */
#define PECS_YAML_MAX_DEPTH 64          /* nested sequences and mappings; a suite needs 5 */

typedef struct pecs_yaml {
    yaml_document_t doc;
    char *path;
    int loaded;
} pecs_yaml;

pecs_status pecs_yaml_load(pecs_yaml *y, const char *path, char *why, size_t why_len);
void pecs_yaml_free(pecs_yaml *y);

yaml_node_t *pecs_yaml_root(pecs_yaml *y);
yaml_node_t *pecs_yaml_node(pecs_yaml *y, int id);
/* Value of `key` in a mapping node, NULL if absent (or node not a mapping). */
yaml_node_t *pecs_yaml_get(pecs_yaml *y, yaml_node_t *map, const char *key);
/* Scalar text (NUL-terminated) or NULL if not a scalar. */
const char *pecs_yaml_str(yaml_node_t *n);
/* Write "file:line:col: <fmt...>" into why; returns PECS_INVALID for convenience. */
pecs_status pecs_yaml_error(pecs_yaml *y, yaml_node_t *n, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "file:line:col" of a node. */
void pecs_yaml_where(pecs_yaml *y, yaml_node_t *n, char *buf, size_t len);
/* Check that a mapping only has keys from `allowed` (NULL-terminated). */
pecs_status pecs_yaml_check_keys(pecs_yaml *y, yaml_node_t *map, const char *const *allowed, char *why, size_t why_len);
const char *pecs_yaml_kind(yaml_node_t *n);

#endif
