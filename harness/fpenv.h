/* harness/fpenv.h — the floating-point environment around a backend call.
 *
 * A kernel that changes the rounding mode, flush-to-zero / denormals-are-zero or the exception masks
 * and does not put them back changes every later computation of its process: the reference, the checks
 * and the next backend's calls. So the environment is saved before every backend call and restored
 * after it, and a change is reported against that backend (the case FAILS: a kernel must leave the
 * environment as it found it). Only control state counts: exception flags (inexact, ...) raised by
 * ordinary arithmetic are not a change.
 */
#ifndef PECS_FPENV_H
#define PECS_FPENV_H

#include <fenv.h>
#include <stddef.h>

typedef struct pecs_fpenv {
    fenv_t env;
    int round;
    unsigned mxcsr_ctl;  /* MXCSR control bits: masks, rounding, FTZ, DAZ (x86-64) */
    unsigned x87_ctl;    /* x87 control word (x86-64) */
} pecs_fpenv;

void pecs_fpenv_save(pecs_fpenv *e);
/* Restore e; returns 0 if the control state was as saved, else a nonzero mask and a description. */
int pecs_fpenv_restore(const pecs_fpenv *e, char *what, size_t what_len);

#endif
