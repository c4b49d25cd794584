/* cmd_report.c — `deepcx report RUN [--out DIR]`: figures and an HTML page. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "report.h"

static void help(void)
{
    printf("usage: deepcx report RUN [--out DIR]\n"
           "\n"
           "Draw the figures of a training run and write one self-contained HTML page.\n"
           "Reads RUN/metrics.jsonl (required), and RUN/fits.json, config.json, summary.json\n"
           "when present (run 'deepcx fit RUN' first to choose the fit windows; otherwise the\n"
           "automatic window is used).\n"
           "\n"
           "Figures (PNG and SVG, drawn with gnuplot; skipped with a message if gnuplot is\n"
           "missing — the HTML tables are still written):\n"
           "  depth.*        every per-layer observable against depth, at the last measurement\n"
           "  dyn_<obs>.*    each observable against training step, log-log, one curve per\n"
           "                 layer, fitted power laws dashed\n"
           "  loss.*         training and probe loss, probe accuracy\n"
           "\n"
           "options:\n"
           "  --out DIR   where to write (default RUN/report); the page is DIR/report.html\n");
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': help(); return 0;
        default: return cli_usage_error("invalid option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("expected one run directory");
    const char *run = argv[optind];
    struct stat sb;
    if (stat(run, &sb) != 0) return cli_error("%s: no such run directory", run);
    if (!S_ISDIR(sb.st_mode)) return cli_error("%s: not a directory (expected a run directory)", run);
    char def[4096];
    if (!out) {
        snprintf(def, sizeof def, "%s/report", run);
        out = def;
    }
    int nfig = 0;
    int rc = report_write(run, out, &nfig);
    if (rc == 0) printf("report: %s/report.html (%d figures)\n", out, nfig);
    return rc;
}
