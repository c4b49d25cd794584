/* report.h — figures and the HTML report of a training run. */
#ifndef DEEPCX_REPORT_H
#define DEEPCX_REPORT_H

/* Read RUN/metrics.jsonl (and fits.json, config.json, summary.json when
 * present), draw the figures with gnuplot into `outdir` (NULL: RUN/report) (PNG and SVG; skipped
 * with a warning when gnuplot is missing) and write outdir/report.html,
 * self-contained (SVG figures inline). Returns a CLI exit code (0, or 2 after
 * printing a one-line error). *figures receives the number of figures drawn. */
int report_write(const char *run, const char *outdir, int *figures);

#endif
