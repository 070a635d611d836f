/* harness/yamlx.c */
#include "yamlx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

yaml_node_t *pecs_yaml_node(pecs_yaml *y, int id) { return yaml_document_get_node(&y->doc, id); }

yaml_node_t *pecs_yaml_root(pecs_yaml *y) { return yaml_document_get_root_node(&y->doc); }

const char *pecs_yaml_str(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

const char *pecs_yaml_kind(yaml_node_t *n)
{
    if (!n)
        return "nothing";
    return n->type == YAML_SCALAR_NODE ? "a scalar" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
}

void pecs_yaml_where(pecs_yaml *y, yaml_node_t *n, char *buf, size_t len)
{
    if (n)
        snprintf(buf, len, "%s:%zu:%zu", y->path, n->start_mark.line + 1, n->start_mark.column + 1);
    else
        snprintf(buf, len, "%s", y->path);
}

pecs_status pecs_yaml_error(pecs_yaml *y, yaml_node_t *n, char *why, size_t why_len, const char *fmt, ...)
{
    char where[512], msg[1024];
    pecs_yaml_where(y, n, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(why, why_len, "%s: %s", where, msg);
    return PECS_INVALID;
}

yaml_node_t *pecs_yaml_get(pecs_yaml *y, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = pecs_yaml_str(pecs_yaml_node(y, p->key));
        if (k && strcmp(k, key) == 0)
            return pecs_yaml_node(y, p->value);
    }
    return NULL;
}

pecs_status pecs_yaml_check_keys(pecs_yaml *y, yaml_node_t *map, const char *const *allowed, char *why, size_t why_len)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return pecs_yaml_error(y, map, why, why_len, "expected a mapping, found %s", pecs_yaml_kind(map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = pecs_yaml_node(y, p->key);
        const char *k = pecs_yaml_str(kn);
        int ok = 0;
        const char *best = NULL;
        int bestd = 3;
        for (const char *const *a = allowed; *a && k && !ok; a++)
            ok = strcmp(*a, k) == 0;
        for (const char *const *a = allowed; *a && k && !ok; a++) { /* a near miss to suggest: on errors only */
            int d = pecs_edit_distance(k, *a);
            if (d < bestd) {
                bestd = d;
                best = *a;
            }
        }
        if (!ok)
            return pecs_yaml_error(y, kn, why, why_len, "unknown key '%s'%s%s%s", k ? k : "?",
                                   best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
    }
    return PECS_OK;
}

/* Reject duplicate keys anywhere in the document (libyaml keeps both silently). */
static pecs_status check_duplicates(pecs_yaml *y, char *why, size_t why_len)
{
    for (yaml_node_t *n = y->doc.nodes.start; n < y->doc.nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++)
            for (yaml_node_pair_t *b = a + 1; b < n->data.mapping.pairs.top; b++) {
                const char *ka = pecs_yaml_str(pecs_yaml_node(y, a->key));
                yaml_node_t *kbn = pecs_yaml_node(y, b->key);
                const char *kb = pecs_yaml_str(kbn);
                if (ka && kb && strcmp(ka, kb) == 0)
                    return pecs_yaml_error(y, kbn, why, why_len, "duplicate key '%s'", kb);
            }
    }
    return PECS_OK;
}

/* "file:line:column" of byte `off` of buf (1-based, as libyaml's marks print). */
static void where_in(const char *path, const unsigned char *buf, size_t off, char *why, size_t why_len, const char *msg)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    snprintf(why, why_len, "%s:%zu:%zu: %s", path, line, col, msg);
}

/* The whole file, or PECS_LIMIT past PECS_YAML_MAX_BYTES (a message located where the cap is reached). */
static pecs_status read_capped(const char *path, unsigned char **out, size_t *len, char *why, size_t why_len)
{
    pecs_status st = PECS_OK;
    size_t cap = (size_t)PECS_YAML_MAX_BYTES + 1, n = 0;
    unsigned char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "%s: cannot open: %s", path, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    size_t have = 0;
    for (;;) {
        if (n == have) { /* grow geometrically, up to one byte past the cap */
            size_t want = have ? (have * 2 < cap ? have * 2 : cap) : 65536;
            if (want == have)
                break;
            unsigned char *b = realloc(buf, want);
            if (!b) {
                st = PECS_NOMEM;
                goto cleanup;
            }
            buf = b, have = want;
        }
        size_t got = fread(buf + n, 1, have - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(why, why_len, "%s: cannot read: %s", path, strerror(errno));
        st = PECS_IO;
        goto cleanup;
    }
    if (n > PECS_YAML_MAX_BYTES) {
        char msg[160];
        snprintf(msg, sizeof msg, "file is over the %u MiB cap for a YAML file (the cap is reached here)",
                 PECS_YAML_MAX_BYTES >> 20);
        where_in(path, buf, PECS_YAML_MAX_BYTES, why, why_len, msg);
        st = PECS_LIMIT;
        goto cleanup;
    }
cleanup:
    if (f)
        fclose(f);
    if (st != PECS_OK) {
        free(buf);
        buf = NULL, n = 0;
    }
    *out = buf;
    *len = n;
    return st;
}

static pecs_status syntax_error(const char *path, const yaml_parser_t *parser, char *why, size_t why_len)
{
    yaml_mark_t m = parser->problem_mark;
    snprintf(why, why_len, "%s:%zu:%zu: YAML syntax error: %s%s%s", path, m.line + 1, m.column + 1,
             parser->problem ? parser->problem : "unknown", parser->context ? " " : "",
             parser->context ? parser->context : "");
    return PECS_PARSE;
}

/* First pass over the events: nesting depth only (and syntax errors). libyaml's own loader would build the
 * whole document first, and its scanner is quadratic in the nesting depth. */
static pecs_status check_depth(const char *path, const unsigned char *buf, size_t len, char *why, size_t why_len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return PECS_NOMEM;
    yaml_parser_set_input_string(&parser, buf, len);
    pecs_status st = PECS_OK;
    int depth = 0;
    for (int done = 0; !done && st == PECS_OK;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            st = syntax_error(path, &parser, why, why_len);
            break;
        }
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > PECS_YAML_MAX_DEPTH) {
                snprintf(why, why_len, "%s:%zu:%zu: YAML nested deeper than %d levels (a %s inside %d others)", path,
                         ev.start_mark.line + 1, ev.start_mark.column + 1, PECS_YAML_MAX_DEPTH,
                         ev.type == YAML_SEQUENCE_START_EVENT ? "list" : "mapping", PECS_YAML_MAX_DEPTH);
                st = PECS_LIMIT;
            }
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            done = 1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return st;
}

pecs_status pecs_yaml_load(pecs_yaml *y, const char *path, char *why, size_t why_len)
{
    memset(y, 0, sizeof *y);
    pecs_status st = PECS_OK;
    yaml_parser_t parser;
    int parser_ok = 0;
    unsigned char *buf = NULL;
    size_t len = 0;
    y->path = pecs_strdup(path);
    if (!y->path) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    if ((st = read_capped(path, &buf, &len, why, why_len)) != PECS_OK ||
        (st = check_depth(path, buf, len, why, why_len)) != PECS_OK)
        goto cleanup;
    if (!yaml_parser_initialize(&parser)) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    parser_ok = 1;
    yaml_parser_set_input_string(&parser, buf, len);
    if (!yaml_parser_load(&parser, &y->doc)) {
        st = syntax_error(path, &parser, why, why_len);
        goto cleanup;
    }
    y->loaded = 1;
    if (!pecs_yaml_root(y)) {
        snprintf(why, why_len, "%s: empty YAML file", path);
        st = PECS_PARSE;
        goto cleanup;
    }
    yaml_document_t extra;
    if (yaml_parser_load(&parser, &extra)) {
        int more = yaml_document_get_root_node(&extra) != NULL;
        yaml_document_delete(&extra);
        if (more) {
            snprintf(why, why_len, "%s: more than one YAML document (one suite per file)", path);
            st = PECS_PARSE;
            goto cleanup;
        }
    }
    st = check_duplicates(y, why, why_len);
cleanup:
    if (parser_ok)
        yaml_parser_delete(&parser);
    free(buf);
    if (st != PECS_OK)
        pecs_yaml_free(y);
    return st;
}

void pecs_yaml_free(pecs_yaml *y)
{
    if (y->loaded)
        yaml_document_delete(&y->doc);
    free(y->path);
    memset(y, 0, sizeof *y);
}
