/* report.c — figures (gnuplot, driven as a subprocess with a generated script
 * and data files) and a self-contained HTML page for a training run. Used by
 * `deepcx report` and `deepcx demo`. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define MAXF 64

/* ---------- small helpers ---------- */

static char *read_text(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 4096 > cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) break;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

static cJSON *read_json(const char *path)
{
    char *t = read_text(path, NULL);
    if (!t) return NULL;
    cJSON *j = cJSON_Parse(t);
    free(t);
    return j;
}

static void html_escape(FILE *f, const char *s)
{
    for (; *s; s++) switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
}

/* gnuplot string literal: single quotes, doubled inside */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static int have_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char *dup = strdup(path);
    int found = 0;
    for (char *save = NULL, *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/gnuplot", d);
        found = access(p, X_OK) == 0;
    }
    free(dup);
    return found;
}

/* Series that describe the run's bookkeeping rather than an observable; they
 * are left out of the figures and the table of fits. */
static int bookkeeping(const char *field)
{
    static const char *skip[] = {"units", "distinct", "always_on", "dead", "epoch", "samples", "measure_seconds",
                                 "epoch.epoch", "epoch.seconds", "epoch.samples_per_sec"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcmp(field, skip[i])) return 1;
    return 0;
}

static int is_constant(const dcx_series *s)
{
    for (int64_t i = 1; i < s->n; i++)
        if (s->y[i] != s->y[0]) return 0;
    return 1;
}

/* Field names of per-layer series ("layer1.deff" -> "deff"), in order. */
static int layer_fields(const dcx_metrics *m, char fields[MAXF][64])
{
    int nf = 0;
    for (int64_t i = 0; i < m->nseries; i++) {
        const char *name = m->series[i].name;
        for (int64_t l = 0; l < m->nlayers; l++) {
            size_t ll = strlen(m->layers[l]);
            if (!strncmp(name, m->layers[l], ll) && name[ll] == '.') {
                const char *fld = name + ll + 1;
                int seen = bookkeeping(fld);
                for (int k = 0; k < nf && !seen; k++) seen = !strcmp(fields[k], fld);
                if (!seen && nf < MAXF && strlen(fld) < 64) strcpy(fields[nf++], fld);
                break;
            }
        }
    }
    return nf;
}

static const dcx_series *layer_series(const dcx_metrics *m, const char *layer, const char *field)
{
    char name[256];
    snprintf(name, sizeof name, "%s.%s", layer, field);
    return dcx_metrics_find(m, name);
}

/* Value of a series at the last time of the run (NAN if it has none there). */
static double last_value(const dcx_series *s, double tlast)
{
    if (!s || s->n == 0) return NAN;
    return s->t[s->n - 1] == tlast ? s->y[s->n - 1] : NAN;
}

static double run_last_time(const dcx_metrics *m)
{
    double t = -INFINITY;
    for (int64_t i = 0; i < m->nseries; i++)
        if (m->series[i].n && m->series[i].t[m->series[i].n - 1] > t) t = m->series[i].t[m->series[i].n - 1];
    return t;
}

/* Fit for a series from fits.json (if given) or computed now (auto window). */
static int get_fit(const cJSON *fits, const dcx_series *s, dcx_powerlaw *p)
{
    if (fits) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(fits, "fits"), *f;
        cJSON_ArrayForEach(f, arr)
        {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(f, "series");
            if (!cJSON_IsString(nm) || strcmp(nm->valuestring, s->name)) continue;
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "ok"))) return 0;
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(f, "beta"),
                        *se = cJSON_GetObjectItemCaseSensitive(f, "beta_stderr"),
                        *a = cJSON_GetObjectItemCaseSensitive(f, "a"), *r2 = cJSON_GetObjectItemCaseSensitive(f, "r2"),
                        *lo = cJSON_GetObjectItemCaseSensitive(f, "t_lo"),
                        *hi = cJSON_GetObjectItemCaseSensitive(f, "t_hi"), *n = cJSON_GetObjectItemCaseSensitive(f, "n");
            if (!cJSON_IsNumber(b) || !cJSON_IsNumber(a) || !cJSON_IsNumber(lo) || !cJSON_IsNumber(hi)) return 0;
            p->beta = b->valuedouble;
            p->beta_stderr = cJSON_IsNumber(se) ? se->valuedouble : NAN;
            p->a = a->valuedouble;
            p->r2 = cJSON_IsNumber(r2) ? r2->valuedouble : NAN;
            p->t_lo = lo->valuedouble;
            p->t_hi = hi->valuedouble;
            p->n = cJSON_IsNumber(n) ? (int64_t)n->valuedouble : 0;
            return 1;
        }
    }
    return dcx_powerlaw_auto(s->t, s->y, s->n, 1.0, 0.98, p) == DCX_OK;
}

/* ---------- figures ---------- */

static int write_dat(const char *dir, const char *file, const dcx_series *s)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    for (int64_t i = 0; i < s->n; i++)
        if (isfinite(s->y[i])) fprintf(f, "%.17g %.17g\n", s->t[i], s->y[i]);
    return fclose(f);
}

/* Terminal lines for both outputs; each figure is drawn twice. */
static void gp_figure(FILE *gp, const char *stem, int w, int h, const char *body_file)
{
    /* every figure starts from gnuplot's defaults: settings must not leak */
    fprintf(gp, "reset\nset encoding utf8\nset grid lc rgb '#dddddd'\nset key outside right top\n");
    fprintf(gp, "set terminal pngcairo noenhanced size %d,%d font 'sans,10'\nset output '%s.png'\nload '%s'\n", w, h, stem,
            body_file);
    fprintf(gp, "reset\nset encoding utf8\nset grid lc rgb '#dddddd'\nset key outside right top\n");
    fprintf(gp, "set terminal svg noenhanced size %d,%d font 'sans,10' background rgb 'white'\nset output '%s.svg'\nload '%s'\n",
            w, h, stem, body_file);
    fprintf(gp, "unset output\n");
}

static int run_gnuplot(const char *dir, const char *script, char *err, size_t errlen)
{
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(127);
        FILE *o = freopen("gnuplot.log", "w", stderr);
        (void)o;
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) break;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "gnuplot failed (see %s/gnuplot.log)", dir);
        return -1;
    }
    return 0;
}

/* Writes data files and a script, runs gnuplot. Returns the number of
 * figures (stems listed in figs), or -1 with err set. */
static int draw_figures(const char *dir, const dcx_metrics *m, const cJSON *fits, char figs[][64], char titles[][128],
                        int maxfig, char *err, size_t errlen)
{
    char fields[MAXF][64];
    int nf = layer_fields(m, fields), nfig = 0;
    char p[4096];
    snprintf(p, sizeof p, "%s/plots.gp", dir);
    FILE *gp = fopen(p, "w");
    if (!gp) {
        snprintf(err, errlen, "%s: cannot write: %s", p, strerror(errno));
        return -1;
    }
    fprintf(gp, "# generated by deepcx report: run 'gnuplot plots.gp' in this directory\n"
                "set encoding utf8\nset grid lc rgb '#dddddd'\nset key outside right top\n");
    double tlast = run_last_time(m);

    /* 1. depth profiles at the last measurement: one panel per field */
    if (nf > 0 && m->nlayers > 0 && nfig < maxfig) {
        snprintf(p, sizeof p, "%s/depth.dat", dir);
        FILE *d = fopen(p, "w");
        if (!d) {
            fclose(gp);
            snprintf(err, errlen, "%s: cannot write", p);
            return -1;
        }
        fprintf(d, "# layer");
        for (int k = 0; k < nf; k++) fprintf(d, " %s", fields[k]);
        fprintf(d, "\n");
        for (int64_t l = 0; l < m->nlayers; l++) {
            fprintf(d, "%lld", (long long)l + 1);
            for (int k = 0; k < nf; k++) {
                double v = last_value(layer_series(m, m->layers[l], fields[k]), tlast);
                if (isfinite(v))
                    fprintf(d, " %.10g", v);
                else
                    fprintf(d, " NaN");
            }
            fprintf(d, "\n");
        }
        fclose(d);
        snprintf(p, sizeof p, "%s/depth.gp", dir);
        FILE *b = fopen(p, "w");
        if (!b) {
            fclose(gp);
            snprintf(err, errlen, "%s: cannot write", p);
            return -1;
        }
        int cols = nf < 3 ? nf : 3, rows = (nf + cols - 1) / cols;
        fprintf(b, "set datafile missing 'NaN'\nunset key\nset multiplot layout %d,%d title 'Depth profile at step %g'\n",
                rows, cols, tlast);
        fprintf(b, "set xtics (");
        for (int64_t l = 0; l < m->nlayers; l++) {
            fprintf(b, "%s", l ? ", " : "");
            gp_str(b, m->layers[l]);
            fprintf(b, " %lld", (long long)l + 1);
        }
        fprintf(b, ")\nset xrange [0.5:%lld.5]\n", (long long)m->nlayers);
        for (int k = 0; k < nf; k++) {
            fprintf(b, "set title ");
            gp_str(b, fields[k]);
            fprintf(b, "\nplot 'depth.dat' using 1:%d with linespoints lw 2 pt 7 lc rgb '#1f77b4'\n", k + 2);
        }
        fprintf(b, "unset multiplot\n");
        fclose(b);
        gp_figure(gp, "depth", 380 * cols, 300 * rows, "depth.gp");
        strcpy(figs[nfig], "depth");
        snprintf(titles[nfig], 128, "Depth profiles at the last measurement (step %g)", tlast);
        nfig++;
    }

    /* 2. each per-layer observable against the step, log-log, fits overlaid */
    for (int k = 0; k < nf && nfig < maxfig; k++) {
        char body[128];
        snprintf(body, sizeof body, "dyn_%d.gp", k);
        snprintf(p, sizeof p, "%s/%s", dir, body);
        FILE *b = fopen(p, "w");
        if (!b) break;
        fprintf(b, "set logscale xy\nset xlabel 'step'\nset title ");
        gp_str(b, fields[k]);
        fprintf(b, "\nplot ");
        int first = 1;
        for (int64_t l = 0; l < m->nlayers; l++) {
            const dcx_series *s = layer_series(m, m->layers[l], fields[k]);
            if (!s) continue;
            int pos = 0;
            for (int64_t i = 0; i < s->n; i++) pos += s->t[i] > 0 && s->y[i] > 0;
            if (pos < 2) continue;
            char dat[128];
            snprintf(dat, sizeof dat, "dyn_%d_%lld.dat", k, (long long)l);
            if (write_dat(dir, dat, s) != 0) continue;
            fprintf(b, "%s'%s' using 1:2 with linespoints pt 7 ps 0.5 lc %lld title ", first ? "" : ", \\\n  ", dat,
                    (long long)l + 1);
            gp_str(b, m->layers[l]);
            first = 0;
            dcx_powerlaw pl;
            if (get_fit(fits, s, &pl))
                fprintf(b, ", \\\n  [%.10g:%.10g] %.10g*x**(%.10g) with lines dt 2 lw 2 lc %lld title '  β=%.3f'", pl.t_lo,
                        pl.t_hi, pl.a, pl.beta, (long long)l + 1, pl.beta);
        }
        fprintf(b, "\n");
        fclose(b);
        if (first) continue; /* nothing drawable on log axes */
        char stem[64];
        snprintf(stem, sizeof stem, "dyn_%s", fields[k]);
        for (char *c = stem; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
                *c = '_';
        gp_figure(gp, stem, 760, 420, body);
        strcpy(figs[nfig], stem);
        snprintf(titles[nfig], 128, "%s against training step (log–log; dashed: fitted power laws)", fields[k]);
        nfig++;
    }

    /* 3. loss and accuracy: one panel for the losses, one for the accuracy */
    const char *lnames[] = {"train_loss", "probe_loss"};
    int nloss = 0, haveacc = 0;
    for (int i = 0; i < 2; i++) {
        const dcx_series *s = dcx_metrics_find(m, lnames[i]);
        char dat[64];
        snprintf(dat, sizeof dat, "%s.dat", lnames[i]);
        if (s && s->n > 0 && write_dat(dir, dat, s) == 0) nloss |= 1 << i;
    }
    const dcx_series *acc = dcx_metrics_find(m, "probe_acc");
    haveacc = acc && acc->n > 0 && write_dat(dir, "probe_acc.dat", acc) == 0;
    snprintf(p, sizeof p, "%s/loss.gp", dir);
    FILE *b = (nloss || haveacc) && nfig < maxfig ? fopen(p, "w") : NULL;
    if (b) {
        int panels = (nloss != 0) + haveacc;
        fprintf(b, "set multiplot layout 1,%d\nset logscale x\nset xlabel 'step'\n", panels);
        if (nloss) {
            fprintf(b, "set title 'loss'\nplot ");
            int first = 1;
            for (int i = 0; i < 2; i++)
                if (nloss & (1 << i)) {
                    fprintf(b, "%s'%s.dat' using 1:2 with linespoints pt 7 ps 0.5 title '%s'", first ? "" : ", ",
                            lnames[i], lnames[i]);
                    first = 0;
                }
            fprintf(b, "\n");
        }
        if (haveacc)
            fprintf(b, "set title 'probe accuracy'\nplot 'probe_acc.dat' using 1:2 with linespoints pt 7 ps 0.5 lc 3 "
                       "title 'probe accuracy'\n");
        fprintf(b, "unset multiplot\n");
        fclose(b);
        gp_figure(gp, "loss", panels == 2 ? 900 : 560, 360, "loss.gp");
        strcpy(figs[nfig], "loss");
        snprintf(titles[nfig], 128, "Loss and accuracy during training");
        nfig++;
    }
    fclose(gp);
    if (nfig == 0) return 0;
    if (run_gnuplot(dir, "plots.gp", err, errlen) != 0) return -1;
    return nfig;
}

/* ---------- HTML ---------- */

static void html_json_table(FILE *h, const cJSON *obj)
{
    fprintf(h, "<table class=kv>\n");
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        fprintf(h, "<tr><th>");
        html_escape(h, it->string ? it->string : "");
        fprintf(h, "</th><td>");
        if (cJSON_IsString(it)) {
            html_escape(h, it->valuestring);
        } else {
            char *t = cJSON_PrintUnformatted(it);
            if (t) html_escape(h, t);
            free(t);
        }
        fprintf(h, "</td></tr>\n");
    }
    fprintf(h, "</table>\n");
}

static void fmt_num(char *buf, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(buf, n, "–");
    else
        snprintf(buf, n, "%.4g", v);
}

int report_write(const char *run, const char *outdir, int *figures_out)
{
    char p[4096], err[512] = "", defout[4096];
    if (!outdir) {
        snprintf(defout, sizeof defout, "%s/report", run);
        outdir = defout;
    }
    struct stat sb;
    snprintf(p, sizeof p, "%s/metrics.jsonl", run);
    if (stat(p, &sb) != 0)
        return cli_error("%s: no metrics.jsonl (not a run directory, or the run was trained without --track)", run);
    dcx_metrics *m = NULL;
    dcx_status st = dcx_metrics_load(p, "step", &m);
    if (st != DCX_OK) return cli_lib_error(st);
    if (m->truncated_last) cli_warn("%s: last line is incomplete (run killed mid-write?); ignored", p);
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        dcx_metrics_free(m);
        return cli_error("%s: cannot create directory: %s", outdir, strerror(errno));
    }
    snprintf(p, sizeof p, "%s/fits.json", run);
    cJSON *fits = read_json(p);
    snprintf(p, sizeof p, "%s/config.json", run);
    cJSON *config = read_json(p);
    snprintf(p, sizeof p, "%s/summary.json", run);
    cJSON *summary = read_json(p);

    char figs[MAXF + 2][64], titles[MAXF + 2][128];
    int nfig = 0;
    if (have_gnuplot()) {
        nfig = draw_figures(outdir, m, fits, figs, titles, MAXF + 2, err, sizeof err);
        if (nfig < 0) {
            cli_warn("%s; figures skipped", err);
            nfig = 0;
        }
    } else {
        cli_warn("gnuplot not found: figures skipped (apt-get install gnuplot-nox); tables still written");
        snprintf(err, sizeof err, "gnuplot not found: figures skipped (apt-get install gnuplot-nox)");
    }
    if (figures_out) *figures_out = nfig;

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/report.html.tmp", outdir);
    FILE *h = fopen(tmp, "w");
    if (!h) {
        cJSON_Delete(fits);
        cJSON_Delete(config);
        cJSON_Delete(summary);
        dcx_metrics_free(m);
        return cli_error("%s: cannot write: %s", tmp, strerror(errno));
    }
    fprintf(h, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>deepcx report: ");
    html_escape(h, run);
    fprintf(h,
            "</title>\n<style>\n"
            "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\n"
            "h1{font-size:1.6em;border-bottom:2px solid #1f77b4;padding-bottom:.2em}\n"
            "h2{font-size:1.25em;margin-top:2em;color:#1f77b4}\n"
            "table{border-collapse:collapse;margin:.5em 0;font-size:.9em}\n"
            "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}\n"
            "th{background:#f0f4f8}\n table.kv th,table.kv td{text-align:left}\n"
            "figure{margin:1em 0}\nfigcaption{font-size:.9em;color:#555}\n"
            "svg{max-width:100%%;height:auto}\n.note{color:#a33}\n"
            "</style></head><body>\n<h1>deepcx report</h1>\n<p>Run <code>");
    html_escape(h, run);
    fprintf(h, "</code>: %lld measurements, %lld layers, %lld series. deepcx %s.</p>\n", (long long)m->nlines,
            (long long)m->nlayers, (long long)m->nseries, dcx_version());
    if (summary) {
        fprintf(h, "<h2>Summary</h2>\n");
        html_json_table(h, summary);
    }

    /* depth table at the last measurement */
    char fields[MAXF][64];
    int nf = layer_fields(m, fields);
    double tlast = run_last_time(m);
    if (nf > 0) {
        fprintf(h, "<h2>Depth profile at step %g</h2>\n<table><tr><th>layer</th>", tlast);
        for (int k = 0; k < nf; k++) {
            fprintf(h, "<th>");
            html_escape(h, fields[k]);
            fprintf(h, "</th>");
        }
        fprintf(h, "</tr>\n");
        for (int64_t l = 0; l < m->nlayers; l++) {
            fprintf(h, "<tr><th>");
            html_escape(h, m->layers[l]);
            fprintf(h, "</th>");
            for (int k = 0; k < nf; k++) {
                char b[64];
                fmt_num(b, sizeof b, last_value(layer_series(m, m->layers[l], fields[k]), tlast));
                fprintf(h, "<td>%s</td>", b);
            }
            fprintf(h, "</tr>\n");
        }
        fprintf(h, "</table>\n");
    }

    /* fitted exponents */
    fprintf(h, "<h2>Power-law fits O(t) = a·t<sup>β</sup></h2>\n<p>Least squares in log–log over %s.</p>\n",
            fits ? "the windows of fits.json" : "the automatic window (longest ≥ 1 decade with R² ≥ 0.98)");
    fprintf(h, "<table><tr><th>series</th><th>β</th><th>± s.e.</th><th>a</th><th>R²</th><th>window</th><th>points</th></tr>\n");
    int nfit = 0;
    int nconst = 0;
    for (int64_t i = 0; i < m->nseries; i++) {
        dcx_powerlaw pl;
        const char *dot = strrchr(m->series[i].name, '.');
        if (bookkeeping(m->series[i].name) || (dot && bookkeeping(dot + 1))) continue;
        if (is_constant(&m->series[i])) {
            nconst++;
            continue;
        }
        if (!get_fit(fits, &m->series[i], &pl)) continue;
        char b1[64], b2[64], b3[64], b4[64];
        fmt_num(b1, sizeof b1, pl.beta);
        fmt_num(b2, sizeof b2, pl.beta_stderr);
        fmt_num(b3, sizeof b3, pl.a);
        fmt_num(b4, sizeof b4, pl.r2);
        fprintf(h, "<tr><th>");
        html_escape(h, m->series[i].name);
        fprintf(h, "</th><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%g – %g</td><td>%lld</td></tr>\n", b1, b2, b3,
                b4, pl.t_lo, pl.t_hi, (long long)pl.n);
        nfit++;
    }
    fprintf(h, "</table>\n");
    if (nconst)
        fprintf(h, "<p>%d constant series left out (for instance a complexity that is only a lower bound at "
                   "every step, or a saturated pattern entropy).</p>\n", nconst);
    if (nfit == 0) fprintf(h, "<p class=note>No series has a power-law window (too short a run?).</p>\n");

    fprintf(h, "<h2>Figures</h2>\n");
    if (nfig == 0) {
        fprintf(h, "<p class=note>");
        html_escape(h, err[0] ? err : "no figures: nothing to plot");
        fprintf(h, "</p>\n");
    }
    for (int i = 0; i < nfig; i++) {
        snprintf(p, sizeof p, "%s/%s.svg", outdir, figs[i]);
        char *svg = read_text(p, NULL);
        fprintf(h, "<figure>\n");
        if (svg) {
            /* drop the XML prolog and DOCTYPE: inline SVG starts at <svg */
            char *s = strstr(svg, "<svg");
            fputs(s ? s : svg, h);
            free(svg);
        }
        fprintf(h, "<figcaption>");
        html_escape(h, titles[i]);
        fprintf(h, " — also <a href=\"%s.png\">%s.png</a>, <a href=\"%s.svg\">%s.svg</a></figcaption>\n</figure>\n",
                figs[i], figs[i], figs[i], figs[i]);
    }
    if (config) {
        fprintf(h, "<h2>Configuration</h2>\n");
        html_json_table(h, config);
    }
    fprintf(h, "<p style='color:#888;font-size:.8em'>Observables after Janik &amp; Witaszczyk, arXiv:2006.04791; "
               "see docs/observables.md.</p>\n</body></html>\n");
    int bad = ferror(h);
    bad |= fclose(h) != 0;
    char fin[4096];
    snprintf(fin, sizeof fin, "%s/report.html", outdir);
    cJSON_Delete(fits);
    cJSON_Delete(config);
    cJSON_Delete(summary);
    dcx_metrics_free(m);
    if (bad || rename(tmp, fin) != 0) {
        unlink(tmp);
        return cli_error("%s: cannot write", fin);
    }
    return 0;
}
