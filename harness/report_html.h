/* harness/report_html.h — the HTML renderer of `pecs report --format html` (report.h has the command).
 *
 * One self-contained page for one or more results files that report.c has loaded and validated (schema,
 * verdicts, field types): inline CSS and inline SVG only, no script, no external resource, so it renders
 * the same from disk, in a mail attachment or in a CI artefact viewer. Sections:
 *   - run metadata, one table per file (build, command, dates, machine, mode, threads, tolerances,
 *     calibration, verdict counts);
 *   - conformance matrix: rows are encodings, columns backend x dtype; each cell is coloured by its worst
 *     verdict (legend under the table) and shows passed/judged counts; its title lists every verdict;
 *   - invariance drift against shift, one log-log SVG plot per backend x dtype: per encoding the largest
 *     `invariance.drift` over its cases at each shift > 0, with the smallest `tolerance.drift` dashed;
 *   - roofline position of every timed case (`perf.roofline.fraction`), one row of dots per backend,
 *     or a sentence saying the files have no perf data or no calibration;
 *   - throughput: best `perf.gbytes_per_s` per encoding, one bar per backend;
 *   - every case: a row per case string (its short label, the full string in the title), a column per
 *     backend with the verdict (reason in the title).
 * A backend name that appears in more than one file is labelled "name #k" (k the file's number in the
 * metadata section), so runs of one backend at different settings stay apart.
 * Every string taken from a results file is escaped for HTML text and attributes: the files are input.
 * The page is also well-formed XML (polyglot markup: void elements self-closed, numeric character
 * references only), so `xmllint --noout` checks its structure, SVG included. */
#ifndef PECS_REPORT_HTML_H
#define PECS_REPORT_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "util.h"

/* Append the page for roots[0..n) (validated results files, read from paths[0..n)) to b; on allocation
 * failure b->oom is set. */
void pecs_report_html(pecs_sb *b, const char *const *paths, json_t *const *roots, size_t n);

/* Short, readable labels for the case strings of roots[0..n): an object case string -> label. A label is
 * the encoding, then, among the words (key=value) that are not the same in every case of that encoding in
 * these files, the dtype and every word that is not its key's most common one (a parameter most cases set
 * and this one leaves at its default shows as key=(default)); dtype, layout, view, positions, check,
 * pos_dtype and level show their value alone. For reading: the full case string is the identity. */
json_t *pecs_report_short_labels(json_t *const *roots, size_t n);

#endif
