/* harness/journal.c */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "case.h"
#include "identity.h"
#include "results.h"
#include "util.h"
#include "verdict.h"

/* ---- the lock ---------------------------------------------------------------------------------------- */

/* The pid written into the lock file by its holder (for when F_GETLK cannot say, e.g. it just let go). */
static long pid_in_file(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return strtol(buf, NULL, 10);
}

pecs_status pecs_out_lock_take(pecs_out_lock *l, const char *out, char *why, size_t why_len)
{
    struct stat st;
    l->fd = -1;
    int w = snprintf(l->path, sizeof l->path, "%s.lock", out);
    if (w < 0 || (size_t)w >= sizeof l->path) {
        snprintf(why, why_len, "the results path %.200s... is too long", out);
        return PECS_IO;
    }
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "cannot write the results %s: it is a directory", out);
        return PECS_IO;
    }
    /* A run that finishes removes its lock file: the file locked here must still be the one at the path,
     * or a third run could lock a new file while this one holds the removed one. */
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(why, why_len, "cannot write the results %s: cannot create %s: %s", out, l->path, strerror(errno));
            return PECS_IO;
        }
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (fcntl(fd, F_SETLK, &fl) != 0) {
            int err = errno;
            struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
            long pid = fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? (long)q.l_pid : pid_in_file(fd);
            close(fd);
            if (err == EACCES || err == EAGAIN) {
                char who[48] = "";
                if (pid > 0)
                    snprintf(who, sizeof who, " (pid %ld)", pid);
                snprintf(why, why_len, "another pecs run%s is writing %s (it holds %s); wait for it to finish, or give "
                         "another --out", who, out, l->path);
            } else {
                snprintf(why, why_len, "cannot lock %s: %s", l->path, strerror(err));
            }
            return PECS_IO;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
                /* the pid is a courtesy for people; the lock is what counts */
            }
            l->fd = fd;
            return PECS_OK;
        }
        close(fd);
    }
    snprintf(why, why_len, "cannot lock %s: it keeps being removed and created again", l->path);
    return PECS_IO;
}

void pecs_out_lock_release(pecs_out_lock *l)
{
    if (l->fd < 0)
        return;
    unlink(l->path); /* while still locked: a run waiting on this file then sees it replaced */
    close(l->fd);
    l->fd = -1;
}

/* ---- records ------------------------------------------------------------------------------------------ */

int pecs_journal_has(json_t *cases, const char *backend_token, const char *case_str)
{
    json_t *c;
    size_t i;
    json_array_foreach(cases, i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "case")), case_str) &&
            !strcmp(json_string_value(json_object_get(c, "backend_source")), backend_token))
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The fields of a result object (results.c), required ones first. */
static const char *const REQUIRED_STR[] = {"backend", "backend_source", "case", "reproducer", "status", "reason"};
static const char *const OPTIONAL_OBJ[] = {"tolerance", "metrics", "invariance", "perf"};
#define N_REQ ((int)(sizeof REQUIRED_STR / sizeof *REQUIRED_STR))
#define N_OPT ((int)(sizeof OPTIONAL_OBJ / sizeof *OPTIONAL_OBJ))

/* Why record `c` cannot be one of this run's results ("" if it can). */
static void check_record(json_t *c, const pecs_journal_scope *sc, char *const *sorted, char *why, size_t n)
{
    why[0] = '\0';
    if (!json_is_object(c)) {
        snprintf(why, n, "not a JSON object");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
    {
        int known = !strcmp(key, "seconds");
        for (int i = 0; i < N_REQ && !known; i++)
            known = !strcmp(key, REQUIRED_STR[i]);
        for (int i = 0; i < N_OPT && !known; i++)
            known = !strcmp(key, OPTIONAL_OBJ[i]);
        if (!known) {
            snprintf(why, n, "unknown field '%s' (a result has no such field)", key);
            return;
        }
    }
    for (int i = 0; i < N_REQ; i++)
        if (!json_is_string(json_object_get(c, REQUIRED_STR[i]))) {
            snprintf(why, n, "field '%s' is missing or not a string", REQUIRED_STR[i]);
            return;
        }
    v = json_object_get(c, "seconds");
    if (!json_is_number(v) && !json_is_null(v)) {
        snprintf(why, n, "field 'seconds' is missing or not a number");
        return;
    }
    for (int i = 0; i < N_OPT; i++)
        if ((v = json_object_get(c, OPTIONAL_OBJ[i])) && !json_is_object(v)) {
            snprintf(why, n, "field '%s' is not an object", OPTIONAL_OBJ[i]);
            return;
        }
    const char *status = json_string_value(json_object_get(c, "status"));
    if (pecs_verdict_from_name(status) == PECS_V_COUNT) {
        pecs_sb names = {0};
        for (int k = 0; k < PECS_V_COUNT; k++)
            pecs_sb_addf(&names, "%s%s", k ? ", " : "", pecs_verdict_name((pecs_verdict)k));
        snprintf(why, n, "status '%s' is not a verdict (%s)", status, pecs_sb_str(&names));
        pecs_sb_free(&names);
        return;
    }
    const char *source = json_string_value(json_object_get(c, "backend_source"));
    const char *name = json_string_value(json_object_get(c, "backend"));
    const pecs_loaded_backend *lb = NULL;
    for (int b = 0; b < sc->n_backends && !lb; b++)
        if (!strcmp(pecs_backend_token(&sc->backends[b]), source))
            lb = &sc->backends[b];
    if (!lb || strcmp(lb->id.name, name)) {
        snprintf(why, n, "backend '%s' (%s) is not a backend of this run", name, source);
        return;
    }
    const char *cs = json_string_value(json_object_get(c, "case"));
    char msg[768];
    pecs_case pc;
    pecs_status st = pecs_case_parse(&pc, cs, msg, sizeof msg);
    if (st != PECS_OK && st != PECS_LIMIT) {
        snprintf(why, n, "case '%s' does not parse: %s", cs, msg);
        return;
    }
    char *canon = pecs_case_format(&pc);
    pecs_case_free(&pc);
    int canonical = canon && !strcmp(canon, cs);
    free(canon);
    if (!canonical) {
        snprintf(why, n, "case '%s' is not a canonical case string", cs);
        return;
    }
    if (!bsearch(&cs, sorted, (size_t)sc->n_cases, sizeof *sorted, cmp_str)) {
        snprintf(why, n, "case '%s' is not one of the %d cases this run selected", cs, sc->n_cases);
        return;
    }
    /* A verdict flipped by hand to PASSED without the rest of the record: what a pass always carries. */
    json_t *m = json_object_get(c, "metrics");
    if (!strcmp(status, "PASSED") && !strstr(cs, " check=invariance") &&
        (json_string_value(json_object_get(c, "reason"))[0] || !json_is_object(m) ||
         !json_is_integer(json_object_get(m, "mismatches")) || json_integer_value(json_object_get(m, "mismatches")))) {
        snprintf(why, n, "status PASSED contradicts the record: a passing equivalence case has an empty reason and "
                 "metrics with 0 mismatches");
        return;
    }
    if (!strcmp(status, "PASSED") && strstr(cs, " check=invariance") && !json_is_object(json_object_get(c, "invariance"))) {
        snprintf(why, n, "status PASSED contradicts the record: a passing invariance case has its invariance figures");
        return;
    }
    char *repro = pecs_reproducer_of(cs, lb);
    int same = repro && !strcmp(repro, json_string_value(json_object_get(c, "reproducer")));
    free(repro);
    if (!same)
        snprintf(why, n, "reproducer '%s' is not the one of its case and backend",
                 json_string_value(json_object_get(c, "reproducer")));
}

typedef struct rec_key {
    const char *source, *cs;
    int line;
} rec_key;

static int cmp_key(const void *a, const void *b)
{
    const rec_key *x = a, *y = b;
    int c = strcmp(x->source, y->source);
    return c ? c : strcmp(x->cs, y->cs);
}

/* Validate the journal's text into records. PECS_NOT_FOUND: nothing to resume (empty, or cut short within
 * its header). *keep: the length of its complete lines when the last one was cut short, else -1. */
static pecs_status load(const char *path, const char *text, size_t len, json_t *identity, const pecs_journal_scope *sc,
                        json_t *records, long *keep, char *note, size_t note_len, char *why, size_t why_len)
{
    pecs_status st = PECS_OK;
    char **sorted = malloc((size_t)(sc->n_cases ? sc->n_cases : 1) * sizeof *sorted);
    rec_key *keys = NULL;
    int n_keys = 0, line = 0;
    json_t *header = NULL;
    pecs_sb diff = {0};
    *keep = -1;
    if (!sorted) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    memcpy(sorted, sc->cases, (size_t)sc->n_cases * sizeof *sorted);
    qsort(sorted, (size_t)sc->n_cases, sizeof *sorted, cmp_str);
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        line++;
        if (!nl) { /* a write cut short (kill -9): its case runs again */
            if (line == 1) {
                st = PECS_NOT_FOUND;
                snprintf(note, note_len, "%s: its header was cut short: starting a new journal", path);
            } else {
                *keep = (long)pos;
                snprintf(note, note_len, "%s:%d: a record cut short (the run was killed while writing it) is "
                         "dropped; its case runs again", path, line);
            }
            break;
        }
        size_t ll = (size_t)(nl - (text + pos));
        json_error_t err;
        json_t *j = json_loadb(text + pos, ll, 0, &err);
        pos += ll + 1;
        if (line == 1) {
            header = j;
            json_t *jid = json_object_get(j, "identity");
            if (json_integer_value(json_object_get(j, "pecs_journal")) != PECS_JOURNAL_VERSION || !json_is_object(jid)) {
                snprintf(why, why_len, "%s:1: not a pecs journal header (a journal of an older pecs, or another "
                         "file): remove it, or run without --resume", path);
                st = PECS_INVALID;
                goto cleanup;
            }
            int n = pecs_ident_diff(jid, identity, "the journal", "this run", &diff);
            if (n) {
                snprintf(why, why_len, "%s was written by another run (%d difference%s; remove it, or run without "
                         "--resume):\n%s", path, n, n > 1 ? "s" : "", pecs_sb_str(&diff));
                st = PECS_INVALID;
                goto cleanup;
            }
            continue;
        }
        char bad[1024] = "";
        if (!j)
            snprintf(bad, sizeof bad, "not JSON: %s", err.text);
        else
            check_record(j, sc, sorted, bad, sizeof bad);
        if (bad[0]) {
            snprintf(why, why_len, "%s:%d: invalid record: %s (remove the journal, or run without --resume)", path,
                     line, bad);
            json_decref(j);
            st = PECS_INVALID;
            goto cleanup;
        }
        json_array_append_new(records, j);
    }
    /* No (backend, case) twice: the run would report it twice. */
    keys = malloc((json_array_size(records) + 1) * sizeof *keys);
    if (!keys) {
        st = st == PECS_OK ? PECS_NOMEM : st;
        goto cleanup;
    }
    json_t *c;
    size_t i;
    json_array_foreach(records, i, c)
    {
        keys[n_keys++] = (rec_key){json_string_value(json_object_get(c, "backend_source")),
                                   json_string_value(json_object_get(c, "case")), (int)i + 2};
    }
    qsort(keys, (size_t)n_keys, sizeof *keys, cmp_key);
    for (int k = 1; k < n_keys; k++)
        if (!cmp_key(&keys[k - 1], &keys[k])) {
            int a = keys[k - 1].line < keys[k].line ? keys[k - 1].line : keys[k].line;
            int b = keys[k - 1].line < keys[k].line ? keys[k].line : keys[k - 1].line;
            snprintf(why, why_len, "%s:%d: invalid record: backend %s, case '%s' is already the record of line %d "
                     "(remove the journal, or run without --resume)", path, b, keys[k].source, keys[k].cs, a);
            st = PECS_INVALID;
            goto cleanup;
        }
cleanup:
    json_decref(header);
    pecs_sb_free(&diff);
    free(sorted);
    free(keys);
    return st;
}

pecs_status pecs_journal_open(const char *path, json_t *identity, int resume, const pecs_journal_scope *scope,
                              json_t **records, FILE **f, char *note, size_t note_len, char *why, size_t why_len)
{
    pecs_status st = PECS_OK;
    char *text = NULL, *head = NULL;
    size_t len = 0;
    long keep = -1;
    int fresh = 1;
    note[0] = why[0] = '\0';
    *f = NULL;
    *records = json_array();
    if (!*records)
        return PECS_NOMEM;
    if (resume && access(path, F_OK) == 0) {
        if ((st = pecs_read_file(path, &text, &len, why, why_len)) != PECS_OK)
            goto cleanup;
        st = load(path, text, len, identity, scope, *records, &keep, note, note_len, why, why_len);
        fresh = st == PECS_NOT_FOUND;
        if (st == PECS_NOT_FOUND)
            st = PECS_OK;
        if (st != PECS_OK)
            goto cleanup;
    } else if (resume) {
        snprintf(note, note_len, "no journal %s: starting from the first case", path);
    }
    if (!fresh) {
        if (keep >= 0 && truncate(path, (off_t)keep) != 0) {
            snprintf(why, why_len, "cannot cut the record cut short off %s: %s", path, strerror(errno));
            goto cleanup; /* PECS_OK: the run goes on without a journal */
        }
        if (!(*f = fopen(path, "a")))
            snprintf(why, why_len, "cannot append to %s: %s", path, strerror(errno));
        goto cleanup;
    }
    json_t *h = json_pack("{s:i,s:O}", "pecs_journal", PECS_JOURNAL_VERSION, "identity", identity);
    head = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(h);
    if (!head) {
        st = PECS_NOMEM;
        goto cleanup;
    }
    if (!(*f = fopen(path, "w")) || fprintf(*f, "%s\n", head) < 0 || fflush(*f) != 0) {
        snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
        if (*f)
            fclose(*f);
        *f = NULL;
    }
cleanup:
    free(text);
    free(head);
    if (st != PECS_OK) {
        json_decref(*records);
        *records = NULL;
    }
    return st;
}
