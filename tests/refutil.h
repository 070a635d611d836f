/* tests/refutil.h — cases and reference problems for the reference and T1 tests. */
#ifndef PECS_REFUTIL_H
#define PECS_REFUTIL_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "case.h"
#include "registry.h"

/* A case of encoding `id` with key/value pairs applied (NULL-terminated varargs). */
static inline pecs_case *ref_case(const char *id, ...)
{
    const pecs_encoding_info *e = pecs_registry_find(id);
    cr_assert_not_null(e, "encoding %s not in the registry", id);
    pecs_case *c = malloc(sizeof *c);
    cr_assert_not_null(c);
    cr_assert_eq(pecs_case_init(c, e), PECS_OK, "pecs_case_init(%s)", id);
    va_list ap;
    va_start(ap, id);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        char why[256] = "";
        cr_assert_eq(pecs_case_set(c, k, v, why, sizeof why), PECS_OK, "%s: set %s=%s: %s", id, k, v, why);
    }
    va_end(ap);
    return c;
}

static inline void ref_case_free(pecs_case *c)
{
    pecs_case_free(c);
    free(c);
}

static inline pecs_problem ref_problem(const pecs_case *c)
{
    pecs_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.encoding = c->enc->id;
    p.form = c->enc->form;
    p.dtype = PECS_DT_F64;
    p.params = c->params;
    p.n_params = c->n_params;
    return p;
}

/* A contiguous (row-major) tensor of nd <= 3 dimensions over data. */
static inline pecs_tensor ref_tensor(const char *name, pecs_dtype dt, int nd, int64_t d0, int64_t d1, int64_t d2, void *data)
{
    pecs_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name, t.dtype = dt, t.ndim = nd, t.data = data;
    int64_t dims[3] = {d0, d1, d2}, s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        t.shape[i] = dims[i];
        t.stride[i] = s;
        s *= dims[i];
    }
    return t;
}

/* The built-in scalar backend, loaded once per test process (the known-answer tests run their hand-worked
 * problems through it as well as through the reference). */
static inline pecs_loaded_backend *ref_scalar_backend(void)
{
    static pecs_loaded_backend lb;
    static int loaded;
    char why[256] = "";
    if (!loaded) {
        cr_assert_eq(pecs_backend_load("scalar", &lb, why, sizeof why), PECS_OK, "%s", why);
        loaded = 1;
    }
    return &lb;
}

#endif
