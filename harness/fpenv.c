/* harness/fpenv.c */
#include "fpenv.h"

#include <stdio.h>

static void control(pecs_fpenv *e)
{
    e->round = fegetround();
    e->mxcsr_ctl = e->x87_ctl = 0;
#if defined(__x86_64__)
    unsigned m = 0;
    unsigned short cw = 0;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    e->mxcsr_ctl = m & 0xFFC0u; /* bits 0-5 are the sticky exception flags */
    e->x87_ctl = cw;
#endif
}

void pecs_fpenv_save(pecs_fpenv *e)
{
    fegetenv(&e->env);
    control(e);
}

static const char *round_name(int r)
{
    return r == FE_TONEAREST ? "to nearest" : r == FE_TOWARDZERO ? "toward zero" : r == FE_UPWARD ? "upward"
         : r == FE_DOWNWARD ? "downward" : "unknown";
}

int pecs_fpenv_restore(const pecs_fpenv *e, char *what, size_t what_len)
{
    pecs_fpenv now;
    control(&now);
    fesetenv(&e->env);
    int changed = (now.round != e->round) | (now.mxcsr_ctl != e->mxcsr_ctl) << 1 | (now.x87_ctl != e->x87_ctl) << 2;
    if (changed && what)
        snprintf(what, what_len, "the backend left the floating-point environment changed (rounding %s -> %s, MXCSR "
                 "control 0x%04x -> 0x%04x, x87 control 0x%04x -> 0x%04x); pecs restored it", round_name(e->round),
                 round_name(now.round), e->mxcsr_ctl, now.mxcsr_ctl, e->x87_ctl, now.x87_ctl);
    return changed;
}
