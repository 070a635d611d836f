/* harness/require.c — required cases (require.h). */
#include "require.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry.h"
#include "util.h"
#include "verdict.h"

typedef enum req_kind { REQ_FORM, REQ_ENCODING, REQ_REGEX } req_kind;

struct pecs_require_item {
    req_kind kind;
    int form;      /* REQ_FORM: a pecs_form */
    char *what;    /* how it is named in verdicts: "--require rotate", "req.txt:3 '^alibi '" */
    char *text;    /* the encoding id or the regex */
    regex_t re;
};

/* The pecs_form named `name` (rotate, bias, ...), or -1. */
static int form_named(const char *name)
{
    for (int f = 0; f < PECS_FORM_COUNT_; f++)
        if (!strcmp(pecs_form_name((pecs_form)f), name))
            return f;
    return -1;
}

static pecs_status push(pecs_require *req, req_kind kind, int form, const char *what, const char *text, char *why,
                        size_t why_len)
{
    pecs_status st = PECS_OK;
    if (req->n == req->cap) {
        int cap = req->cap ? 2 * req->cap : 8;
        pecs_require_item *items = realloc(req->items, (size_t)cap * sizeof *items);
        if (!items) {
            st = PECS_NOMEM;
            goto cleanup;
        }
        req->items = items;
        req->cap = cap;
    }
    pecs_require_item *it = &req->items[req->n];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->form = form;
    it->what = pecs_strdup(what);
    it->text = pecs_strdup(text);
    if (!it->what || !it->text) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    if (kind == REQ_REGEX) {
        int rc = regcomp(&it->re, text, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &it->re, msg, sizeof msg);
            snprintf(why, why_len, "%s: not a family (rotate, bias, embed, posmap, mask, scores), an encoding id or "
                     "a valid regular expression: %s", what, msg);
            st = PECS_INVALID;
            goto cleanup;
        }
    }
    req->n++;
cleanup:
    if (st != PECS_OK && req->n < req->cap) {
        free(req->items[req->n].what);
        free(req->items[req->n].text);
        req->items[req->n].what = req->items[req->n].text = NULL;
    }
    if (st == PECS_NOMEM)
        snprintf(why, why_len, "out of memory");
    return st;
}

pecs_status pecs_require_add_line(pecs_require *req, const char *line, const char *where, char *why, size_t why_len)
{
    pecs_sb what = {0};
    pecs_status st;
    int form = form_named(line);
    if (form >= 0) {
        pecs_sb_addf(&what, "%s %s", where, line);
        st = push(req, REQ_FORM, form, pecs_sb_str(&what), line, why, why_len);
    } else if (pecs_registry_find(line)) {
        pecs_sb_addf(&what, "%s %s", where, line);
        st = push(req, REQ_ENCODING, -1, pecs_sb_str(&what), line, why, why_len);
    } else {
        pecs_sb_addf(&what, "%s '%s'", where, line);
        st = push(req, REQ_REGEX, -1, pecs_sb_str(&what), line, why, why_len);
    }
    if (st == PECS_OK && what.oom) {
        snprintf(why, why_len, "out of memory");
        st = PECS_NOMEM;
    }
    pecs_sb_free(&what);
    return st;
}

/* Record what was given (pecs_require.given). */
static pecs_status given(pecs_require *req, json_t *o, char *why, size_t why_len)
{
    if (!req->given)
        req->given = json_array();
    if (!o || !req->given || json_array_append_new(req->given, o) != 0) {
        snprintf(why, why_len, "out of memory");
        return PECS_NOMEM;
    }
    return PECS_OK;
}

pecs_status pecs_require_load(pecs_require *req, const char *path, char *why, size_t why_len)
{
    char *data = NULL, err[512], sha[65];
    size_t len = 0;
    int lineno = 0, added = 0;
    pecs_status st = pecs_read_file(path, &data, &len, err, sizeof err);
    if (st != PECS_OK) {
        snprintf(why, why_len, "--require %s: %s", path, err);
        st = PECS_INVALID;
        goto cleanup;
    }
    if (strlen(data) != len) {
        snprintf(why, why_len, "--require %s: not a text file (a NUL byte)", path);
        st = PECS_INVALID;
        goto cleanup;
    }
    pecs_sha256_hex(data, len, sha); /* of the file's bytes, before the lines are cut up below */
    for (char *p = data; *p && st == PECS_OK;) {
        size_t l = strcspn(p, "\n");
        char *next = p + l + (p[l] == '\n');
        p[l] = '\0';
        lineno++;
        while (*p && isspace((unsigned char)*p))
            p++;
        for (size_t e = strlen(p); e > 0 && isspace((unsigned char)p[e - 1]); e--)
            p[e - 1] = '\0';
        if (*p && *p != '#') {
            char where[600];
            snprintf(where, sizeof where, "%s:%d", path, lineno);
            st = pecs_require_add_line(req, p, where, why, why_len);
            added += st == PECS_OK;
        }
        p = next;
    }
    if (st == PECS_OK && !added) {
        snprintf(why, why_len, "--require %s: no requirement in the file (one family, encoding id or regex per line)",
                 path);
        st = PECS_INVALID;
    }
    if (st == PECS_OK) {
        st = given(req, json_pack("{s:s,s:s}", "file", path, "sha256", sha), why, why_len);
    }
cleanup:
    free(data);
    return st;
}

pecs_status pecs_require_add(pecs_require *req, const char *arg, char *why, size_t why_len)
{
    pecs_status st;
    struct stat sb;
    if (!*arg) {
        snprintf(why, why_len, "--require: an empty value (give a family, an encoding id or a file)");
        return PECS_INVALID;
    }
    if (form_named(arg) >= 0 || pecs_registry_find(arg)) {
        st = pecs_require_add_line(req, arg, "--require", why, why_len);
        if (st == PECS_OK)
            st = given(req, json_pack("{s:s}", form_named(arg) >= 0 ? "family" : "encoding", arg), why, why_len);
        return st;
    }
    if (stat(arg, &sb) == 0 && S_ISREG(sb.st_mode))
        return pecs_require_load(req, arg, why, why_len);
    const char *near = pecs_registry_suggest(arg);
    snprintf(why, why_len, "--require '%s': not a family (rotate, bias, embed, posmap, mask, scores), an encoding id "
             "(pecs list encodings) or a file%s%s%s", arg, near ? "; did you mean '" : "", near ? near : "",
             near ? "'?" : "");
    st = PECS_INVALID;
    return st;
}

const char *pecs_require_match(const pecs_require *req, const char *case_str)
{
    char id[64];
    snprintf(id, sizeof id, "%.*s", (int)strcspn(case_str, " "), case_str);
    const pecs_encoding_info *e = pecs_registry_find(id);
    for (int i = 0; req && i < req->n; i++) {
        const pecs_require_item *it = &req->items[i];
        int hit = it->kind == REQ_FORM       ? e && (int)e->form == it->form
                  : it->kind == REQ_ENCODING ? !strcmp(id, it->text)
                                             : regexec(&it->re, case_str, 0, NULL, 0) == 0;
        if (hit)
            return it->what;
    }
    return NULL;
}

int pecs_require_apply(const pecs_require *req, const char *case_str, int *verdict, char *reason, size_t reason_len)
{
    const char *what;
    if (*verdict != PECS_V_SKIPPED || !case_str || !(what = pecs_require_match(req, case_str)))
        return 0;
    pecs_sb b = {0};
    pecs_sb_addf(&b, "required by %s: %s", what, reason[0] ? reason : "SKIPPED");
    snprintf(reason, reason_len, "%s", b.oom ? "required, but SKIPPED" : pecs_sb_str(&b));
    pecs_sb_free(&b);
    *verdict = PECS_V_FAILED;
    return 1;
}

void pecs_require_free(pecs_require *req)
{
    for (int i = 0; i < req->n; i++) {
        free(req->items[i].what);
        free(req->items[i].text);
        if (req->items[i].kind == REQ_REGEX)
            regfree(&req->items[i].re);
    }
    free(req->items);
    json_decref(req->given);
    memset(req, 0, sizeof *req);
}
