/* cmd_fit.c — `deepcx fit RUN`: power laws O(t) = a·t^β of a run's series
 * (metrics.jsonl), by least squares in log–log, over a given or automatic
 * window. Writes RUN/fits.json (and --json OUT). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void help(void)
{
    printf(
        "usage: deepcx fit RUN [--series NAME[,NAME...]] [--window auto|LO:HI] [--time step|samples]\n"
        "                      [--min-decades D] [--min-r2 R] [--json OUT]\n"
        "\n"
        "Fit power laws O(t) = a * t^beta to the series of a training run (RUN/metrics.jsonl)\n"
        "by least squares of ln O against ln t. Points with t <= 0 or O <= 0 cannot be placed\n"
        "on log axes and are left out (so step 0 never enters a fit).\n"
        "\n"
        "Series are named as in metrics.jsonl: top-level numbers ('train_loss', 'probe_acc')\n"
        "and per-layer observables '<layer>.<field>' ('layer1.deff', 'layer2.complexity').\n"
        "\n"
        "options:\n"
        "  --series LIST    fit only these series (comma-separated; repeatable). Default: all.\n"
        "  --window auto    (default) the longest window, in decades of t, that spans at least\n"
        "                   --min-decades (1) and whose fit has R^2 >= --min-r2 (0.98); a series\n"
        "                   without such a window is reported as 'no window'.\n"
        "  --window LO:HI   fit the points with LO <= t <= HI.\n"
        "  --time KEY       the time axis: 'step' (default) or 'samples' (or any numeric field).\n"
        "  --min-decades D  minimum span of the automatic window (default 1).\n"
        "  --min-r2 R       minimum R^2 of the automatic window (default 0.98).\n"
        "  --json OUT       also write the results to OUT ('-' for standard output).\n"
        "\n"
        "Output: a table (series, beta +- standard error, prefactor a, R^2, window, points);\n"
        "RUN/fits.json always receives the same results.\n");
}

/* Is `name` in the comma lists given with --series? */
static int selected(char **lists, int nl, const char *name)
{
    if (nl == 0) return 1;
    for (int i = 0; i < nl; i++) {
        const char *p = lists[i];
        size_t len = strlen(name);
        while (*p) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (l == len && !strncmp(p, name, l)) return 1;
            if (!e) break;
            p = e + 1;
        }
    }
    return 0;
}

static int fit_quiet = 0; /* fit_run_quiet: write fits.json, print nothing */

int fit_run_quiet(const char *run)
{
    char *argv[] = {"fit", (char *)run, NULL};
    fit_quiet = 1;
    int rc = cmd_fit(2, argv);
    fit_quiet = 0;
    return rc;
}

int cmd_fit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"series", required_argument, 0, 's'},  {"window", required_argument, 0, 'w'},
        {"time", required_argument, 0, 't'},    {"min-decades", required_argument, 0, 'd'},
        {"min-r2", required_argument, 0, 'r'},  {"json", required_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    char *series[64];
    int nseries = 0;
    const char *json = NULL, *tkey = "step";
    int autow = 1;
    double lo = 0, hi = INFINITY, min_dec = 1.0, min_r2 = 0.98;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (nseries == 64) return cli_usage_error("--series: too many lists");
            series[nseries++] = optarg;
            break;
        case 'w':
            if (!strcmp(optarg, "auto")) {
                autow = 1;
            } else {
                const char *colon = strchr(optarg, ':');
                char *e1, *e2;
                if (!colon) return cli_usage_error("--window: '%s' is neither 'auto' nor LO:HI", optarg);
                lo = strtod(optarg, &e1);
                hi = strtod(colon + 1, &e2);
                if (e1 != colon || *e2 || colon == optarg || !colon[1] || !(lo < hi) || !isfinite(lo) ||
                    !isfinite(hi))
                    return cli_usage_error("--window: '%s' is not LO:HI with LO < HI", optarg);
                autow = 0;
            }
            break;
        case 't': tkey = optarg; break;
        case 'd':
            if (!cli_parse_f64("--min-decades", optarg, 0.1, 100, &min_dec)) return CLI_EXIT_INPUT;
            break;
        case 'r':
            if (!cli_parse_f64("--min-r2", optarg, 0, 1, &min_r2)) return CLI_EXIT_INPUT;
            break;
        case 'j': json = optarg; break;
        case 'h': help(); return 0;
        default: return cli_usage_error("invalid option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("expected one run directory");
    const char *run = argv[optind];
    struct stat sb;
    if (stat(run, &sb) != 0) return cli_error("%s: no such run directory", run);
    if (!S_ISDIR(sb.st_mode)) return cli_error("%s: not a directory (expected a run directory)", run);
    char mpath[4096], fpath[4096];
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", run);
    snprintf(fpath, sizeof fpath, "%s/fits.json", run);
    if (stat(mpath, &sb) != 0)
        return cli_error("%s: no metrics.jsonl (not a run directory, or the run was trained without --track)", run);
    if (json && cli_check_output(json)) return CLI_EXIT_INPUT;

    dcx_metrics *m = NULL;
    dcx_status st = dcx_metrics_load(mpath, tkey, &m);
    if (st != DCX_OK) return cli_lib_error(st);
    if (m->truncated_last) cli_warn("%s: last line is incomplete (run killed mid-write?); ignored", mpath);
    /* every named series must exist */
    for (int i = 0; i < nseries; i++) {
        char *dup = strdup(series[i]);
        for (char *save = NULL, *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (!dcx_metrics_find(m, tok)) {
                int rc = cli_error("%s: no series '%s' (see the table of 'deepcx fit %s' for the names)", mpath,
                                   tok, run);
                free(dup);
                dcx_metrics_free(m);
                return rc;
            }
        free(dup);
    }

    FILE *out = fit_quiet ? fopen("/dev/null", "w") : stdout;
    if (!out) out = stdout;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "run", run);
    cJSON_AddStringToObject(root, "time", tkey);
    if (autow) {
        cJSON_AddStringToObject(root, "window", "auto");
        cJSON_AddNumberToObject(root, "min_decades", min_dec);
        cJSON_AddNumberToObject(root, "min_r2", min_r2);
    } else {
        cJSON *w = cJSON_AddArrayToObject(root, "window");
        cJSON_AddItemToArray(w, cJSON_CreateNumber(lo));
        cJSON_AddItemToArray(w, cJSON_CreateNumber(hi));
    }
    cJSON_AddNumberToObject(root, "measurements", (double)m->nlines);
    cJSON *fits = cJSON_AddArrayToObject(root, "fits");
    fprintf(out, "%-28s %10s %9s %11s %7s %23s %4s\n", "series", "beta", "stderr", "a", "R^2", "window", "n");
    int nok = 0, nfit = 0;
    for (int64_t i = 0; i < m->nseries; i++) {
        const dcx_series *s = &m->series[i];
        if (!selected(series, nseries, s->name)) continue;
        nfit++;
        dcx_powerlaw p;
        st = autow ? dcx_powerlaw_auto(s->t, s->y, s->n, min_dec, min_r2, &p)
                   : dcx_powerlaw_fit(s->t, s->y, s->n, lo, hi, &p);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "series", s->name);
        if (st == DCX_OK) {
            nok++;
            cJSON_AddBoolToObject(f, "ok", 1);
            cJSON_AddItemToObject(f, "beta", cli_json_num(p.beta));
            cJSON_AddItemToObject(f, "beta_stderr", cli_json_num(p.beta_stderr));
            cJSON_AddItemToObject(f, "a", cli_json_num(p.a));
            cJSON_AddItemToObject(f, "r2", cli_json_num(p.r2));
            cJSON_AddNumberToObject(f, "t_lo", p.t_lo);
            cJSON_AddNumberToObject(f, "t_hi", p.t_hi);
            cJSON_AddNumberToObject(f, "n", (double)p.n);
            fprintf(out, "%-28s %10.4f %9.4f %11.4g %7.4f %11g:%-11g %4lld\n", s->name, p.beta, p.beta_stderr, p.a,
                   p.r2, p.t_lo, p.t_hi, (long long)p.n);
        } else if (st == DCX_ERR_DEGENERATE) {
            cJSON_AddBoolToObject(f, "ok", 0);
            cJSON_AddStringToObject(f, "reason", dcx_last_error());
            fprintf(out, "%-28s no fit: %s\n", s->name, dcx_last_error());
        } else {
            cJSON_Delete(f);
            cJSON_Delete(root);
            if (out != stdout) fclose(out);
            dcx_metrics_free(m);
            return cli_lib_error(st);
        }
        cJSON_AddItemToArray(fits, f);
    }
    cli_json_meta(root, 0, dcx_get_threads());
    fprintf(out, "%d of %d series fitted (%s window, %lld measurements)\n", nok, nfit, autow ? "automatic" : "given",
           (long long)m->nlines);
    if (out != stdout) fclose(out);
    int rc = cli_json_write(fpath, root);
    if (!rc && json) rc = cli_json_write(json, root);
    cJSON_Delete(root);
    dcx_metrics_free(m);
    return rc;
}
