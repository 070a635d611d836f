/* harness/isolate.h — running a case in a child process, so that a backend that crashes, hangs or exits
 * costs one case, not the run.
 *
 * The child runs the case exactly as in process (with guard pages around outputs, so an out-of-bounds
 * write faults at the instruction), sends the result back through a pipe and _exits. The parent waits at
 * most `timeout_s`:
 *   child killed by a signal            -> CRASHED, "signal 11 (Segmentation fault)"
 *   child exited without a result       -> CRASHED, "exited with status N" (a plugin must not exit; under
 *                                          ASan a fault is reported by the sanitizer, which exits with 1)
 *   no result within the time limit     -> TIMEOUT (the child is killed)
 * Every result keeps its canonical case string, so CRASHED and TIMEOUT carry reproducers too.
 */
#ifndef PECS_ISOLATE_H
#define PECS_ISOLATE_H

#include "runner.h"

void pecs_run_case_isolated(const pecs_loaded_backend *lb, const char *case_str, const pecs_run_opts *o, double timeout_s,
                            pecs_case_result *r);

#endif
