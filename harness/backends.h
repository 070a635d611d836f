/* harness/backends.h — finding backends: built in (compiled into pecs) or plugins (.so by path).
 *
 * A plugin is refused, with a message and never a crash, when: dlopen fails, the entry symbol is
 * missing, the entry returns NULL, the descriptor's ABI major differs (both numbers named), its
 * struct_size is smaller than the ABI-1.0 descriptor, or a required function pointer is NULL.
 */
#ifndef PECS_BACKENDS_H
#define PECS_BACKENDS_H

#include "pecs/backend.h"

typedef struct pecs_loaded_backend {
    const pecs_backend *b;
    void *dl;               /* dlopen handle, NULL for built-ins */
    char source[512];       /* "builtin" or the .so path */
} pecs_loaded_backend;

/* Names of the built-in backends, space-separated. */
const char *pecs_builtin_list(void);
/* Load by built-in name or by path (anything containing '/' or ending in .so). */
pecs_status pecs_backend_load(const char *name_or_path, pecs_loaded_backend *out, char *why, size_t why_len);
void pecs_backend_unload(pecs_loaded_backend *lb);
/* The host services given to every backend. */
const pecs_host *pecs_host_services(void);

#endif
