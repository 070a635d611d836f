/* harness/tolerance.c */
#include "tolerance.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const METRICS[] = {
#define PECS_X_(name, doc) #name,
    PECS_TOL_LIST(PECS_X_)
#undef PECS_X_
    NULL};
static const char *const DTYPES[] = {"f64", "f32", "f16", "bf16", NULL};

static double *tol_slot(pecs_tol *t, int i)
{
    double *slots[] = {
#define PECS_X_(name, doc) &t->name,
        PECS_TOL_LIST(PECS_X_)
#undef PECS_X_
    };
    return slots[i];
}

/* Validate one {metric: number} mapping and overlay it onto out (out may be NULL: validate only). */
static pecs_status overlay(pecs_yaml *y, yaml_node_t *m, pecs_tol *out, char *why, size_t n)
{
    pecs_status st = pecs_yaml_check_keys(y, m, METRICS, why, n);
    if (st != PECS_OK)
        return st;
    for (int i = 0; METRICS[i]; i++) {
        yaml_node_t *v = pecs_yaml_get(y, m, METRICS[i]);
        double x;
        if (!v)
            continue;
        if (!pecs_parse_f64(pecs_yaml_str(v), &x) || x < 0)
            return pecs_yaml_error(y, v, why, n, "key '%s': value '%s' must be a finite number >= 0", METRICS[i],
                                   pecs_yaml_str(v) ? pecs_yaml_str(v) : pecs_yaml_kind(v));
        if (out)
            *tol_slot(out, i) = x;
    }
    return PECS_OK;
}

static pecs_status validate_dtype_map(pecs_yaml *y, yaml_node_t *m, char *why, size_t n)
{
    pecs_status st = pecs_yaml_check_keys(y, m, DTYPES, why, n);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; st == PECS_OK && p < m->data.mapping.pairs.top; p++)
        st = overlay(y, pecs_yaml_node(y, p->value), NULL, why, n);
    return st;
}

static pecs_status validate(pecs_yaml *y, char *why, size_t n)
{
    static const char *const top_keys[] = {"version", "levels", NULL};
    static const char *const prof_keys[] = {"description", "base", "dtypes", "encodings", NULL};
    yaml_node_t *root = pecs_yaml_root(y);
    pecs_status st = pecs_yaml_check_keys(y, root, top_keys, why, n);
    if (st != PECS_OK)
        return st;
    yaml_node_t *profiles = pecs_yaml_get(y, root, "levels");
    if (!profiles || profiles->type != YAML_MAPPING_NODE)
        return pecs_yaml_error(y, profiles ? profiles : root, why, n, "'levels' must be a mapping of levels");
    for (yaml_node_pair_t *p = profiles->data.mapping.pairs.start; p < profiles->data.mapping.pairs.top; p++) {
        yaml_node_t *prof = pecs_yaml_node(y, p->value);
        if ((st = pecs_yaml_check_keys(y, prof, prof_keys, why, n)) != PECS_OK)
            return st;
        yaml_node_t *base = pecs_yaml_get(y, prof, "base");
        if (base && !pecs_yaml_get(y, profiles, pecs_yaml_str(base) ? pecs_yaml_str(base) : ""))
            return pecs_yaml_error(y, base, why, n, "key 'base': no level '%s'",
                                   pecs_yaml_str(base) ? pecs_yaml_str(base) : pecs_yaml_kind(base));
        yaml_node_t *dt = pecs_yaml_get(y, prof, "dtypes");
        if (dt && (st = validate_dtype_map(y, dt, why, n)) != PECS_OK)
            return st;
        yaml_node_t *enc = pecs_yaml_get(y, prof, "encodings");
        if (enc && enc->type != YAML_MAPPING_NODE)
            return pecs_yaml_error(y, enc, why, n, "'encodings' must be a mapping of encoding ids");
        for (yaml_node_pair_t *e = enc ? enc->data.mapping.pairs.start : NULL; e && e < enc->data.mapping.pairs.top; e++) {
            yaml_node_t *kn = pecs_yaml_node(y, e->key);
            const char *id = pecs_yaml_str(kn);
            char nowhy[1024] = "a mapping key must be an encoding id";
            if (!id || !pecs_registry_resolve(id, nowhy, sizeof nowhy))
                return pecs_yaml_error(y, kn, why, n, "%s", nowhy);
            if ((st = validate_dtype_map(y, pecs_yaml_node(y, e->value), why, n)) != PECS_OK)
                return st;
        }
    }
    return PECS_OK;
}

pecs_status pecs_tol_load(pecs_tolerances *t, const char *path, char *why, size_t why_len)
{
    memset(t, 0, sizeof *t);
    pecs_status st = pecs_yaml_load(&t->y, path, why, why_len);
    if (st == PECS_OK)
        st = validate(&t->y, why, why_len);
    if (st == PECS_OK)
        st = pecs_sha256_file(path, t->sha256, why, why_len);
    if (st != PECS_OK)
        pecs_tol_free(t);
    return st;
}

void pecs_tol_free(pecs_tolerances *t) { pecs_yaml_free(&t->y); }

static yaml_node_t *profile_node(pecs_tolerances *t, const char *name)
{
    return pecs_yaml_get(&t->y, pecs_yaml_get(&t->y, pecs_yaml_root(&t->y), "levels"), name);
}

int pecs_tol_has_profile(pecs_tolerances *t, const char *profile) { return profile_node(t, profile) != NULL; }

static pecs_status resolve_profile(pecs_tolerances *t, const char *name, const pecs_case *c, pecs_tol *out, int depth,
                                   char *why, size_t n)
{
    pecs_yaml *y = &t->y;
    yaml_node_t *prof = profile_node(t, name);
    if (!prof) {
        pecs_sb names = {0};
        yaml_node_t *all = pecs_yaml_get(y, pecs_yaml_root(y), "levels");
        for (yaml_node_pair_t *p = all->data.mapping.pairs.start; p < all->data.mapping.pairs.top; p++)
            pecs_sb_addf(&names, "%s%s", p == all->data.mapping.pairs.start ? "" : ", ",
                         pecs_yaml_str(pecs_yaml_node(y, p->key)) ? pecs_yaml_str(pecs_yaml_node(y, p->key)) : "?");
        snprintf(why, n, "key 'level': value '%s' is not a level of %s (levels: %s)", name, y->path,
                 pecs_sb_str(&names));
        pecs_sb_free(&names);
        return PECS_INVALID;
    }
    if (depth > 8) {
        snprintf(why, n, "%s: level '%s': 'base' chain too deep (a cycle?)", y->path, name);
        return PECS_INVALID;
    }
    yaml_node_t *base = pecs_yaml_get(y, prof, "base");
    pecs_status st = PECS_OK;
    if (base && (st = resolve_profile(t, pecs_yaml_str(base), c, out, depth + 1, why, n)) != PECS_OK)
        return st;
    const char *dt = pecs_dtype_name(c->dtype);
    yaml_node_t *row = pecs_yaml_get(y, pecs_yaml_get(y, prof, "dtypes"), dt);
    if (row && (st = overlay(y, row, out, why, n)) != PECS_OK)
        return st;
    row = pecs_yaml_get(y, pecs_yaml_get(y, pecs_yaml_get(y, prof, "encodings"), c->enc->id), dt);
    if (row)
        st = overlay(y, row, out, why, n);
    return st;
}

pecs_status pecs_tol_resolve(pecs_tolerances *t, const pecs_case *c, pecs_tol *out, char *why, size_t why_len)
{
    for (int i = 0; METRICS[i]; i++)
        *tol_slot(out, i) = NAN;
    pecs_status st = resolve_profile(t, c->level, c, out, 0, why, why_len);
    if (st != PECS_OK)
        return st;
    pecs_tol ov = c->tol_override;
    for (int i = 0; METRICS[i]; i++) {
        if (!isnan(*tol_slot(&ov, i)))
            *tol_slot(out, i) = *tol_slot(&ov, i);
        if (isnan(*tol_slot(out, i)) && !strncmp(METRICS[i], "angle_", 6)) /* no angle model: angles exact */
            *tol_slot(out, i) = 0.0;
        if (isnan(*tol_slot(out, i)) && !strncmp(METRICS[i], "round_", 6)) /* no rounding check */
            *tol_slot(out, i) = 0.0;
        if (isnan(*tol_slot(out, i))) {
            snprintf(why, why_len, "%s: level '%s' defines no '%s' tolerance for %s", t->y.path, c->level,
                     METRICS[i], pecs_dtype_name(c->dtype));
            return PECS_INVALID;
        }
    }
    return PECS_OK;
}
