/* impls/mutants/select.c — which row of mutants.def a mutant is. Compiled into each mutant's .so with
 * -DMUTANT_BUG=BUG_<name> and linked with the one object of base.c, so the kernel compiles once for every mutant
 * (it compiled once per mutant before: a hundred copies of the same translation unit in every build). */
#include "pecs/backend.h"

enum {
#define MUTANT(name, cls, what, levels) BUG_##name,
#include "mutants.def"
#undef MUTANT
};

#ifndef MUTANT_BUG
#error "build with -DMUTANT_BUG=BUG_<name> (a row of mutants.def)"
#endif

const int pecs_mutant_bug = MUTANT_BUG;
