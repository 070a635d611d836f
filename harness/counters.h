/* harness/counters.h — hardware and software counters around the timed region (PAPI).
 *
 * Optional twice over:
 *   at build time  PECS_HAVE_PAPI (pkg-config papi found): PAPI + libsde; otherwise every call is a stub
 *                  and the status says "unavailable: pecs built without PAPI";
 *   at run time    PAPI_library_init is the version handshake (the library must speak the PAPI_VER_CURRENT
 *                  pecs was built with); components that PAPI disabled are recorded with PAPI's reason.
 * Events are added one at a time, each into the event set of its component (PAPI binds a set to one
 * component, so hardware and software events live in separate sets); a set is rebuilt from scratch for
 * every candidate, and one that cannot be added or started is dropped with the reason while the others
 * are kept ("partial"). Nothing here ever fails a run.
 *
 * pecs's own counts are exposed as PAPI software-defined events (component sde, library "pecs"), so the
 * PAPI path is exercised even on machines without hardware counters:
 *   sde:::pecs::bytes_moved   bytes read and written by backend calls, from the registry's bytes model
 *   sde:::pecs::elements      output elements produced by backend calls
 *   sde:::pecs::calls         backend calls
 */
#ifndef PECS_COUNTERS_H
#define PECS_COUNTERS_H

#include <stdint.h>

#define PECS_MAX_COUNTERS 12

typedef struct pecs_counters {
    char status[192];                 /* "ok", "partial: ...", or "unavailable: <reason>" */
    int n;                            /* events counted */
    char name[PECS_MAX_COUNTERS][48];
    long long value[PECS_MAX_COUNTERS];
    int n_dropped;
    char dropped[PECS_MAX_COUNTERS][48];
    char dropped_why[PECS_MAX_COUNTERS][96];
    int n_sets;                       /* PAPI event sets: one per component (a set is bound to one) */
    int set_cid[4], set_es[4], set_n[4], set_first[4];
    int running;
} pecs_counters;

/* The events asked for in every timed case (PAPI preset and SDE names). */
extern const char *const pecs_counter_events[];

/* Called once per process before counting; idempotent. Registers the SDE counters. */
void pecs_counters_setup(void);
/* PAPI's library version and the disabled components with their reasons, one line (for `pecs version`). */
const char *pecs_counters_describe(void);

/* Account one backend call (feeds the SDE counters; cheap, always on). */
void pecs_counters_note_call(double bytes, int64_t elements);

/* Start counting `events` (NULL-terminated); then stop and read. */
void pecs_counters_start(pecs_counters *c, const char *const *events);
void pecs_counters_stop(pecs_counters *c);

#endif
