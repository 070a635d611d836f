/* tests/katutil.h — known-answer files (tests/data/kat/NAME.json, written by tests/kat/gen_kat_NAME.py): one loader
 * and the field accessors the KAT tests share. A missing file, section or field fails the test naming it. */
#ifndef PECS_TESTS_KATUTIL_H
#define PECS_TESTS_KATUTIL_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>

#include "testutil.h"

/* Section `section` of tests/data/kat/`file`, loaded once into *cache (each test process keeps its own). */
static inline json_t *kat_section(json_t **cache, const char *file, const char *section)
{
    if (!*cache) {
        char rel[256], path[512];
        json_error_t err;
        snprintf(rel, sizeof rel, "tests/data/kat/%s", file);
        *cache = json_load_file(tu_src(path, sizeof path, rel), 0, &err);
        cr_assert_not_null(*cache, "%s: %s (line %d)", path, err.text, err.line);
    }
    json_t *s = json_object_get(*cache, section);
    cr_assert_not_null(s, "%s has no section %s", file, section);
    return s;
}

static inline json_t *jget(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    cr_assert_not_null(v, "KAT field %s missing", k);
    return v;
}

static inline double jnum(json_t *a, size_t i) { return json_number_value(json_array_get(a, i)); }
static inline double jreal(json_t *j, const char *k) { return json_number_value(jget(j, k)); }
static inline int64_t jint(json_t *j, const char *k) { return (int64_t)json_number_value(jget(j, k)); }

#endif
