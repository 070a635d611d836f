/* tests/test_catalogue.c — docs/encodings.md's "## Catalogue" table against the registry (issue 18): every
 * PECS_ENCODING row (status implemented) and every PECS_CATALOGUED row (undefined, defined, unchecked) has
 * exactly one catalogue row with the same tier, form and status, and every catalogue row names one of them.
 * Also: catalogued ids are listed, described and rejected with their record, never as "unknown". The page is
 * found through PECS_SRC (the Makefile's TEST_ENV), else the current directory. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "registry.h"

TestSuite(catalogue);

enum { MAX_ROWS = 512, CELL = 128 };

typedef struct cat_row {
    char id[CELL], tier[CELL], form[CELL], status[CELL];
    int line;
} cat_row;

/* Copies the trimmed text of one '|' cell [a, b) into out, without the backticks around an id. */
static void cell(const char *a, const char *b, char *out)
{
    while (a < b && (*a == ' ' || *a == '`'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '`' || b[-1] == '\n'))
        b--;
    size_t n = (size_t)(b - a) < CELL - 1 ? (size_t)(b - a) : CELL - 1;
    memcpy(out, a, n);
    out[n] = '\0';
}

/* Parses the table under "## Catalogue" (up to the next "## "): rows start with "| `". Returns the row count;
 * fails the test if the section or its header is missing. */
static int load_catalogue(cat_row *rows)
{
    const char *src = getenv("PECS_SRC") ? getenv("PECS_SRC") : ".";
    char path[4096], line[8192];
    snprintf(path, sizeof path, "%s/docs/encodings.md", src);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    int in = 0, n = 0, header = 0, ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        if (!strncmp(line, "## ", 3)) {
            if (in)
                break;
            in = !strcmp(line, "## Catalogue\n");
            continue;
        }
        if (!in)
            continue;
        if (!strcmp(line, "| id | tier | form | status | invariance | source |\n"))
            header = 1;
        if (strncmp(line, "| `", 3) != 0)
            continue;
        cr_assert_lt(n, MAX_ROWS, "more than %d catalogue rows", MAX_ROWS);
        const char *p[7];
        int k = 0;
        for (const char *c = line; *c && k < 7; c++)
            if (*c == '|')
                p[k++] = c;
        cr_assert_eq(k, 7, "%s:%d: a catalogue row has 6 cells", path, ln);
        cell(p[0] + 1, p[1], rows[n].id);
        cell(p[1] + 1, p[2], rows[n].tier);
        cell(p[2] + 1, p[3], rows[n].form);
        cell(p[3] + 1, p[4], rows[n].status);
        rows[n].line = ln;
        n++;
    }
    fclose(f);
    cr_assert(header, "%s: no '## Catalogue' section with the header | id | tier | form | status | invariance | source |",
              path);
    return n;
}

/* Checks that `id` has exactly one row, with this tier, form and status; marks it seen. */
static void expect_row(const cat_row *rows, int n, int *seen, const char *id, int tier, const char *form,
                       const char *status)
{
    int hits = 0;
    char t[16];
    snprintf(t, sizeof t, "T%d", tier);
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].id, id) != 0)
            continue;
        hits++;
        seen[i] = 1;
        cr_expect_str_eq(rows[i].tier, t, "'%s' (docs/encodings.md:%d): tier %s, registry T%d", id, rows[i].line,
                         rows[i].tier, tier);
        cr_expect_str_eq(rows[i].form, form, "'%s' (docs/encodings.md:%d): form %s, registry %s", id, rows[i].line,
                         rows[i].form, form);
        cr_expect_str_eq(rows[i].status, status, "'%s' (docs/encodings.md:%d): status %s, registry %s", id,
                         rows[i].line, rows[i].status, status);
    }
    cr_expect_eq(hits, 1, "'%s' has %d rows in the catalogue of docs/encodings.md (want exactly 1)", id, hits);
}

/* Catches a registry row without a catalogue entry (or with two, or with another tier, form or status) and a
 * catalogue entry that names no registry row: the page and `pecs list encodings` must say the same. */
Test(catalogue, docs_table_matches_registry)
{
    static cat_row rows[MAX_ROWS];
    static int seen[MAX_ROWS];
    int n = load_catalogue(rows);
    for (int i = 0; i < PECS_ENC_COUNT; i++) {
        const pecs_encoding_info *e = pecs_registry_get((pecs_enc)i);
        expect_row(rows, n, seen, e->id, e->tier, pecs_form_name(e->form), "implemented");
    }
    for (int i = 0; i < pecs_registry_n_catalogued(); i++) {
        const pecs_catalogued *c = pecs_registry_catalogued(i);
        expect_row(rows, n, seen, c->id, c->tier, pecs_form_name(c->form), pecs_cat_status_name(c->status));
    }
    for (int i = 0; i < n; i++)
        cr_expect(seen[i], "docs/encodings.md:%d: catalogue row '%s' names no registry row (PECS_ENCODING or "
                  "PECS_CATALOGUED in include/pecs/encodings.def)", rows[i].line, rows[i].id);
}

/* Catches a catalogued row that is also an encoding, a duplicate id, or a row without its record. */
Test(catalogue, catalogued_rows_are_not_encodings)
{
    for (int i = 0; i < pecs_registry_n_catalogued(); i++) {
        const pecs_catalogued *c = pecs_registry_catalogued(i);
        cr_expect_null(pecs_registry_find(c->id), "'%s' is both an encoding and catalogued", c->id);
        cr_expect_eq(pecs_registry_find_catalogued(c->id), c, "'%s' is catalogued twice", c->id);
        cr_expect_gt(strlen(c->record), 40, "'%s' has no search record", c->id);
        cr_expect(c->tier == 2 || c->tier == 3, "'%s': tier %d", c->id, c->tier);
        cr_expect_str_neq(pecs_form_name(c->form), "?", "'%s'", c->id);
    }
    cr_expect_null(pecs_registry_catalogued(-1));
    cr_expect_null(pecs_registry_catalogued(pecs_registry_n_catalogued()));
    cr_expect_null(pecs_registry_find_catalogued("rope"));
}

/* Catches a case of a catalogued id failing as "unknown encoding" instead of saying what is missing. */
Test(catalogue, undefined_id_is_rejected_with_its_record)
{
    pecs_case c;
    char why[2048] = "";
    cr_assert_eq(pecs_case_parse(&c, "rope.hyperbolic tokens=4", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "'rope.hyperbolic' is catalogued but undefined: ") == why, "%s", why);
    cr_expect(strstr(why, "arXiv 2509.05218"), "the record is in the message: %s", why);
    /* every catalogued row, whatever its status, is rejected with its status and its own record */
    static const char *const what[] = {"catalogued but undefined: ", "catalogued and defined but not implemented: ",
                                       "catalogued but not implemented (its sources are not checked yet): "};
    for (int i = 0; i < pecs_registry_n_catalogued(); i++) {
        const pecs_catalogued *r = pecs_registry_catalogued(i);
        char want[256];
        snprintf(want, sizeof want, "'%s' is %s", r->id, what[r->status]);
        cr_assert_eq(pecs_case_parse(&c, r->id, why, sizeof why), PECS_INVALID, "%s was accepted", r->id);
        cr_expect(strstr(why, want) == why, "%s: %s", r->id, why);
        cr_expect(strncmp(why + strlen(want), r->record, 40) == 0, "%s: the record is not in the message: %s", r->id,
                  why);
    }
    cr_assert_eq(pecs_case_parse(&c, "ropee", why, sizeof why), PECS_INVALID);
    cr_expect(strstr(why, "unknown encoding 'ropee'"), "%s", why);
}

/* Reads src-relative file `rel` whole into a malloc'd string (NULL-terminated); fails the test if it cannot. */
static char *slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", getenv("PECS_SRC") ? getenv("PECS_SRC") : ".", rel);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *s = calloc(1 << 22, 1);
    cr_assert_not_null(s);
    size_t n = fread(s, 1, (1 << 22) - 1, f);
    fclose(f);
    s[n] = '\0';
    return s;
}

/* Catches a count in prose left behind when ids are added: docs/encodings.md's "For each of the N implemented ids
 * (A tier 1; B tier 2" and the README's "plus B tier-2 research encodings" against the registry. */
Test(catalogue, implemented_counts_in_the_docs_match_the_registry)
{
    int n[4] = {0, 0, 0, 0};
    for (int e = 0; e < PECS_ENC_COUNT; e++)
        n[pecs_registry_get((pecs_enc)e)->tier]++;
    char want[256];
    char *doc = slurp("docs/encodings.md"), *readme = slurp("README.md");
    snprintf(want, sizeof want, "For each of the %d implemented ids (%d tier 1; %d tier 2,", PECS_ENC_COUNT, n[1], n[2]);
    cr_expect(strstr(doc, want) != NULL, "docs/encodings.md should say \"%s\"", want);
    snprintf(want, sizeof want, "plus %d tier-2 research encodings", n[2]);
    cr_expect(strstr(readme, want) != NULL, "README.md should say \"%s\"", want);
    cr_expect_eq(n[3], 0, "an implemented row is tier 2 once it has a reference (%d are tier 3)", n[3]);
    free(doc);
    free(readme);
}
