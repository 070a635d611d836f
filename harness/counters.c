/* harness/counters.c */
#include "counters.h"

#include <stdio.h>
#include <string.h>

#ifdef PECS_HAVE_PAPI
#include <papi.h>
#include <sde_lib.h>
#endif

const char *const pecs_counter_events[] = {"PAPI_TOT_CYC",          "PAPI_TOT_INS",      "PAPI_L1_DCM",
                                           "PAPI_L2_DCM",           "PAPI_L3_TCM",       "PAPI_VEC_INS",
                                           "PAPI_FP_OPS",           "sde:::pecs::bytes_moved",
                                           "sde:::pecs::elements",  "sde:::pecs::calls", NULL};

/* pecs's own counts, read by PAPI through the SDE component. */
static long long g_bytes, g_elements, g_calls;
static int g_setup;
static char g_setup_status[192] = "unavailable: counters not set up";

void pecs_counters_note_call(double bytes, int64_t elements)
{
    g_bytes += (long long)bytes;
    g_elements += (long long)elements;
    g_calls++;
}

#ifdef PECS_HAVE_PAPI

void pecs_counters_setup(void)
{
    if (g_setup)
        return;
    g_setup = 1;
    papi_handle_t h = papi_sde_init("pecs");
    papi_sde_register_counter(h, "bytes_moved", PAPI_SDE_RO | PAPI_SDE_DELTA, PAPI_SDE_long_long, &g_bytes);
    papi_sde_register_counter(h, "elements", PAPI_SDE_RO | PAPI_SDE_DELTA, PAPI_SDE_long_long, &g_elements);
    papi_sde_register_counter(h, "calls", PAPI_SDE_RO | PAPI_SDE_DELTA, PAPI_SDE_long_long, &g_calls);
    int v = PAPI_library_init(PAPI_VER_CURRENT);
    if (v != PAPI_VER_CURRENT) {
        snprintf(g_setup_status, sizeof g_setup_status, "unavailable: PAPI_library_init: %s (built for PAPI %d.%d)",
                 v < 0 ? PAPI_strerror(v) : "library version differs", PAPI_VERSION_MAJOR(PAPI_VER_CURRENT),
                 PAPI_VERSION_MINOR(PAPI_VER_CURRENT));
        return;
    }
    snprintf(g_setup_status, sizeof g_setup_status, "ok");
}

const char *pecs_counters_describe(void)
{
    static char buf[1024];
    pecs_counters_setup();
    if (strcmp(g_setup_status, "ok"))
        return g_setup_status;
    size_t off = (size_t)snprintf(buf, sizeof buf, "PAPI %d.%d.%d.%d", PAPI_VERSION_MAJOR(PAPI_VERSION),
                                  PAPI_VERSION_MINOR(PAPI_VERSION), PAPI_VERSION_REVISION(PAPI_VERSION),
                                  PAPI_VERSION_INCREMENT(PAPI_VERSION));
    for (int i = 0; i < PAPI_num_components() && off < sizeof buf; i++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(i);
        if (ci)
            off += (size_t)snprintf(buf + off, sizeof buf - off, "; %s: %s", ci->name,
                                    ci->disabled ? ci->disabled_reason : "active");
    }
    return buf;
}

static void drop(pecs_counters *c, const char *name, const char *why)
{
    if (c->n_dropped == PECS_MAX_COUNTERS)
        return;
    snprintf(c->dropped[c->n_dropped], sizeof c->dropped[0], "%s", name);
    snprintf(c->dropped_why[c->n_dropped], sizeof c->dropped_why[0], "%s", why);
    c->n_dropped++;
}

/* A fresh event set holding `names` (all of one component); PAPI_OK only if every add and a start work. */
static int build_set(char names[][48], int n, int *es_out)
{
    int es = PAPI_NULL, rc = PAPI_create_eventset(&es);
    for (int i = 0; rc == PAPI_OK && i < n; i++)
        rc = PAPI_add_named_event(es, names[i]);
    if (rc == PAPI_OK && (rc = PAPI_start(es)) == PAPI_OK) {
        long long scratch[PECS_MAX_COUNTERS];
        PAPI_stop(es, scratch);
        *es_out = es;
        return PAPI_OK;
    }
    if (es != PAPI_NULL) {
        PAPI_cleanup_eventset(es);
        PAPI_destroy_eventset(&es);
    }
    return rc;
}

static void destroy_sets(pecs_counters *c)
{
    for (int k = 0; k < c->n_sets; k++)
        if (c->set_es[k] != PAPI_NULL) {
            PAPI_cleanup_eventset(c->set_es[k]);
            PAPI_destroy_eventset(&c->set_es[k]);
        }
    c->n_sets = 0;
}

void pecs_counters_start(pecs_counters *c, const char *const *events)
{
    memset(c, 0, sizeof *c);
    pecs_counters_setup();
    if (strcmp(g_setup_status, "ok")) {
        snprintf(c->status, sizeof c->status, "%s", g_setup_status);
        return;
    }
    /* names of each set, contiguous per component: set k owns c->name[set_first[k] .. + set_n[k]] */
    char by_set[4][PECS_MAX_COUNTERS][48];
    for (int i = 0; events[i] && c->n < PECS_MAX_COUNTERS; i++) {
        int code, rc = PAPI_event_name_to_code(events[i], &code);
        if (rc != PAPI_OK) {
            drop(c, events[i], PAPI_strerror(rc));
            continue;
        }
        int cid = PAPI_get_event_component(code), k = 0;
        while (k < c->n_sets && c->set_cid[k] != cid)
            k++;
        if (k == c->n_sets) {
            if (c->n_sets == 4) {
                drop(c, events[i], "too many components");
                continue;
            }
            c->set_cid[k] = cid;
            c->set_es[k] = PAPI_NULL;
            c->set_n[k] = 0;
            c->n_sets++;
        }
        snprintf(by_set[k][c->set_n[k]], 48, "%s", events[i]);
        int es;
        if ((rc = build_set(by_set[k], c->set_n[k] + 1, &es)) != PAPI_OK) {
            drop(c, events[i], PAPI_strerror(rc));
            continue;
        }
        if (c->set_es[k] != PAPI_NULL) {
            PAPI_cleanup_eventset(c->set_es[k]);
            PAPI_destroy_eventset(&c->set_es[k]);
        }
        c->set_es[k] = es;
        c->set_n[k]++;
        c->n++;
    }
    /* lay the names out per set, in the order PAPI_stop returns their values */
    int at = 0;
    for (int k = 0; k < c->n_sets; k++) {
        c->set_first[k] = at;
        for (int e = 0; e < c->set_n[k]; e++)
            snprintf(c->name[at++], sizeof c->name[0], "%s", by_set[k][e]);
    }
    if (c->n == 0) {
        snprintf(c->status, sizeof c->status, "unavailable: no event could be counted (%s: %s)",
                 c->n_dropped ? c->dropped[0] : "none", c->n_dropped ? c->dropped_why[0] : "asked");
        destroy_sets(c);
        return;
    }
    for (int k = 0; k < c->n_sets; k++) {
        int rc = c->set_n[k] ? PAPI_start(c->set_es[k]) : PAPI_OK;
        if (rc != PAPI_OK) {
            snprintf(c->status, sizeof c->status, "unavailable: PAPI_start: %s", PAPI_strerror(rc));
            for (int j2 = 0; j2 < k; j2++)
                if (c->set_n[j2]) {
                    long long scratch[PECS_MAX_COUNTERS];
                    PAPI_stop(c->set_es[j2], scratch);
                }
            destroy_sets(c);
            c->n = 0;
            return;
        }
    }
    c->running = 1;
    if (c->n_dropped)
        snprintf(c->status, sizeof c->status, "partial: %d of %d events (dropped %s: %s)", c->n, c->n + c->n_dropped,
                 c->dropped[0], c->dropped_why[0]);
    else
        snprintf(c->status, sizeof c->status, "ok");
}

void pecs_counters_stop(pecs_counters *c)
{
    for (int k = 0; c->running && k < c->n_sets; k++)
        if (c->set_n[k] && PAPI_stop(c->set_es[k], &c->value[c->set_first[k]]) != PAPI_OK)
            snprintf(c->status, sizeof c->status, "unavailable: PAPI_stop failed");
    c->running = 0;
    destroy_sets(c);
}

#else /* built without PAPI */

void pecs_counters_setup(void)
{
    g_setup = 1;
    snprintf(g_setup_status, sizeof g_setup_status, "unavailable: pecs built without PAPI (install libpapi-dev)");
}

const char *pecs_counters_describe(void)
{
    pecs_counters_setup();
    return g_setup_status;
}

void pecs_counters_start(pecs_counters *c, const char *const *events)
{
    (void)events;
    memset(c, 0, sizeof *c);
    pecs_counters_setup();
    snprintf(c->status, sizeof c->status, "%s", g_setup_status);
}

void pecs_counters_stop(pecs_counters *c) { c->running = 0; }

#endif
