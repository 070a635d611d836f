/* harness/identity.c */
#define _GNU_SOURCE /* dladdr: which file a plugin's descriptor came from */
#include "identity.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

void pecs_ident_set(json_t *id, const char *what, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof buf) {
        json_object_set_new(id, what, json_string(buf));
        return;
    }
    va_start(ap, fmt); /* longer than the buffer (a long --filter or case list): format again, growing */
    char *big = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (big) {
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        json_object_set_new(id, what, json_string(big));
    }
    va_end(ap);
    free(big);
}

pecs_status pecs_ident_file(json_t *id, const char *what, const char *path, char *why, size_t why_len)
{
    char hex[65];
    pecs_status st = pecs_sha256_file(path, hex, why, why_len);
    if (st == PECS_OK)
        pecs_ident_set(id, what, "sha256 %s", hex);
    return st;
}

pecs_status pecs_backend_identity(const pecs_loaded_backend *lb, char *buf, size_t n, char *why, size_t why_len)
{
    (void)why, (void)why_len;
    if (!strcmp(lb->source, "builtin")) {
        snprintf(buf, n, "built-in %s of pecs %s %s", lb->id.name, pecs_version, pecs_git_commit);
        return PECS_OK;
    }
    snprintf(buf, n, "sha256 %s", lb->sha256); /* read when the plugin was loaded (backends.c) */
    return PECS_OK;
}

int pecs_ident_diff(json_t *want, json_t *have, const char *want_name, const char *have_name, pecs_sb *out)
{
    int n = 0;
    const char *key;
    json_t *v;
    for (int side = 0; side < 2; side++) {
        json_object_foreach(side ? want : have, key, v)
        {
            if (side && json_object_get(have, key))
                continue; /* compared in the first pass */
            const char *w = json_string_value(json_object_get(want, key)), *h = json_string_value(json_object_get(have, key));
            if (w && h && !strcmp(w, h))
                continue;
            pecs_sb_addf(out, "  %s: %s has %s, %s has %s\n", key, want_name, w ? w : "(none)", have_name, h ? h : "(none)");
            n++;
        }
    }
    return n;
}
