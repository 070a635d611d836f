/* harness/report.h — `pecs report RESULTS.json... [--format md|csv|junit|html] [--out FILE]`: render a results file
 * (the source of truth, docs/results-schema.md) into a publishable table, so that tables under results/
 * are always generated from the JSON and never written by hand.
 *
 *   md   a header block with the run's metadata (build, date, machine, compiler, mode, threads, thread
 *        binding, calibration and its bandwidth table when the file embeds one), with two or more backends a
 *        conformance matrix (a row per case under a short label, a verdict per backend), one table of cases per
 *        backend, then the verdict counts. '|' in cells is escaped.
 *   csv  one row per (backend, case) with the same columns, full precision, RFC 4180 quoting.
 *   junit  JUnit XML for CI systems (the Jenkins/Ant schema, tests/data/junit.xsd): one <testsuite> per
 *        backend, one <testcase> per case x backend (classname "<backend>.<encoding>", name the case
 *        string, time its seconds); SKIPPED and BEYOND_LEVEL are <skipped message=reason>; FAILED,
 *        MISTRUSTED and NONDETERMINISTIC are <failure type=VERDICT message=reason> (the case judged and
 *        found wrong), ERROR, CRASHED and TIMEOUT are <error type=VERDICT message=reason> (the case could
 *        not be judged), each with the reason and the reproducer in its text. Counts and times on
 *        <testsuite> and <testsuites>; text escaped for XML, characters XML 1.0 cannot carry (control
 *        characters, U+FFFE, U+FFFF) written as \xNN or \uFFFE.
 *   html one self-contained page (inline CSS and SVG, no script) for one or more results files: metadata,
 *        conformance matrix, invariance drift plots, roofline positions, throughput (report_html.h).
 *
 * A file that is missing, not JSON, or not a pecs results file (schema, version, field types) is refused
 * with the file and the reason; nothing is written then. The output is written atomically. */
#ifndef PECS_REPORT_H
#define PECS_REPORT_H

#include <stddef.h>

#include "pecs/status.h"

typedef enum pecs_report_format { PECS_REPORT_MD, PECS_REPORT_CSV, PECS_REPORT_JUNIT, PECS_REPORT_HTML } pecs_report_format;

/* Render the results file at `path`; *out gets the text (malloc'd, caller frees). PECS_PARSE with `why`
 * naming the file and the reason for a file that is not a valid results file. */
pecs_status pecs_report_render(const char *path, pecs_report_format fmt, char **out, char *why, size_t why_len);
/* The same for paths[0..n): html renders them on one page (report_html.h); md, csv and junit take exactly one
 * (PECS_INVALID otherwise). Every file is validated before anything is rendered. */
pecs_status pecs_report_render_files(const char *const *paths, size_t n, pecs_report_format fmt, char **out,
                                     char *why, size_t why_len);

/* The `pecs report` command: argv[0] is "report". Returns the process exit code (PECS_EXIT_* in cli.h). */
int pecs_report_cmd(int argc, char **argv);

#endif
