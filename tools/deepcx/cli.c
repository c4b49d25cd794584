/* cli.c — shared conventions of the deepcx tool: one-line errors with exit
 * status 2, strict option parsing, atomic JSON output, the progress bar. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_cmd_name = "";
dcx_dist *cli_dist = NULL;

int cli_is_root(void) { return dcx_dist_rank(cli_dist) == 0; }

static void vprefix(const char *fmt, va_list ap)
{
    fprintf(stderr, "deepcx%s%s: ", cli_cmd_name[0] ? " " : "", cli_cmd_name);
    vfprintf(stderr, fmt, ap);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprefix(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_INPUT;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprefix(fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'deepcx%s%s --help')\n", cli_cmd_name[0] ? " " : "", cli_cmd_name);
    return CLI_EXIT_INPUT;
}

int cli_lib_error(dcx_status st)
{
    const char *msg = dcx_last_error();
    cli_error("%s", msg && msg[0] ? msg : dcx_status_str(st));
    return (st == DCX_ERR_NOMEM || st == DCX_ERR_INTERNAL) ? CLI_EXIT_FAIL : CLI_EXIT_INPUT;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "deepcx%s%s: warning: ", cli_cmd_name[0] ? " " : "", cli_cmd_name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!s[0] || *end || errno) return !cli_usage_error("%s: '%s' is not an integer", opt, s);
    if (v < lo || v > hi)
        return !cli_usage_error("%s: %lld is out of range [%lld, %lld]", opt, v, (long long)lo, (long long)hi);
    *out = v;
    return 1;
}

int cli_parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-') return !cli_usage_error("%s: '%s' is not a non-negative integer", opt, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return !cli_usage_error("%s: '%s' is not a non-negative integer", opt, s);
    *out = v;
    return 1;
}

int cli_parse_f64(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!s[0] || *end || errno || !isfinite(v)) return !cli_usage_error("%s: '%s' is not a number", opt, s);
    if (v < lo || v > hi) return !cli_usage_error("%s: %g is out of range [%g, %g]", opt, v, lo, hi);
    *out = v;
    return 1;
}

static int split_list(const char *opt, const char *s, char ***items, int *n)
{
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    char *dup = strdup(s);
    char **it = calloc((size_t)cap + 1, sizeof *it);
    if (!dup || !it) {
        free(dup);
        free(it);
        return !cli_error("out of memory");
    }
    int k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) it[k++] = tok;
    if (k == 0) {
        free(dup);
        free(it);
        return !cli_usage_error("%s: empty list", opt);
    }
    it[k] = dup; /* keep the buffer to free it */
    *items = it;
    *n = k;
    return 1;
}

int cli_parse_i64_list(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t **out, int *n)
{
    char **it;
    int k;
    if (!split_list(opt, s, &it, &k)) return 0;
    int64_t *v = calloc((size_t)k, sizeof *v);
    int ok = v != NULL;
    for (int i = 0; ok && i < k; i++) ok = cli_parse_i64(opt, it[i], lo, hi, &v[i]);
    free(it[k]);
    free(it);
    if (!ok) {
        free(v);
        return 0;
    }
    *out = v;
    *n = k;
    return 1;
}

int cli_parse_f64_list(const char *opt, const char *s, double lo, double hi, double **out, int *n)
{
    char **it;
    int k;
    if (!split_list(opt, s, &it, &k)) return 0;
    double *v = calloc((size_t)k, sizeof *v);
    int ok = v != NULL;
    for (int i = 0; ok && i < k; i++) ok = cli_parse_f64(opt, it[i], lo, hi, &v[i]);
    free(it[k]);
    free(it);
    if (!ok) {
        free(v);
        return 0;
    }
    *out = v;
    *n = k;
    return 1;
}

int cli_parse_range(const char *opt, const char *s, int64_t min, int64_t max, int64_t *lo, int64_t *hi)
{
    const char *colon = strchr(s, ':');
    if (!colon) return !cli_usage_error("%s: '%s' is not of the form LO:HI", opt, s);
    char a[64], b[64];
    size_t la = (size_t)(colon - s);
    if (la >= sizeof a || strlen(colon + 1) >= sizeof b)
        return !cli_usage_error("%s: '%s' is not of the form LO:HI", opt, s);
    memcpy(a, s, la);
    a[la] = 0;
    strcpy(b, colon + 1);
    if (!cli_parse_i64(opt, a, min, max, lo) || !cli_parse_i64(opt, b, min, max, hi)) return 0;
    if (*lo > *hi) return !cli_usage_error("%s: LO %lld is greater than HI %lld", opt, (long long)*lo, (long long)*hi);
    return 1;
}

void cli_json_meta(cJSON *obj, uint64_t seed, int threads)
{
    cJSON_AddNumberToObject(obj, "seed", (double)seed);
    cJSON_AddNumberToObject(obj, "threads", threads);
    cJSON_AddStringToObject(obj, "blas", dcx_blas_config());
    cJSON_AddStringToObject(obj, "version", dcx_version());
}

cJSON *cli_json_num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

int cli_check_output(const char *path)
{
    if (!path || strcmp(path, "-") == 0) return 0;
    char *dup = strdup(path);
    if (!dup) return cli_error("out of memory");
    const char *dir = dirname(dup);
    struct stat sb;
    int bad = stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(dir, W_OK) != 0;
    if (bad) {
        cli_error("%s: cannot write there: directory '%s' does not exist or is not writable", path, dir);
        free(dup);
        return CLI_EXIT_INPUT;
    }
    free(dup);
    struct stat fb;
    if (stat(path, &fb) == 0 && S_ISDIR(fb.st_mode)) return cli_error("%s: is a directory", path);
    return 0;
}

int cli_json_write(const char *path, const cJSON *root)
{
    if (!cli_is_root()) return 0; /* rank 0 writes the results */
    char *text = cJSON_Print(root);
    if (!text) return cli_error("out of memory");
    if (strcmp(path, "-") == 0) {
        puts(text);
        free(text);
        return 0;
    }
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) {
        free(text);
        return cli_error("out of memory");
    }
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = 0;
    if (fd < 0) {
        rc = cli_error("%s: cannot write: %s", path, strerror(errno));
    } else {
        size_t len = strlen(text), off = 0;
        while (off < len) {
            ssize_t w = write(fd, text + off, len - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        int ok = off == len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        if (close(fd) != 0) ok = 0;
        if (!ok || rename(tmp, path) != 0) {
            rc = cli_error("%s: cannot write: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    free(text);
    return rc;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p)
{
    p->t0 = cli_now();
    p->last = 0;
    p->tty = isatty(2);
    p->drawn = 0;
}

void cli_progress_cb(void *ctx, const char *stage, int64_t done, int64_t total)
{
    cli_progress *p = ctx;
    if (!p || !p->tty) return;
    double t = cli_now();
    if (t - p->t0 < 1.0 || (t - p->last < 0.1 && done < total)) return;
    p->last = t;
    double f = total > 0 ? (double)done / (double)total : 0.0;
    if (f > 1) f = 1;
    int w = 30, fill = (int)(f * w + 0.5);
    char bar[64];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
    bar[w] = 0;
    double el = t - p->t0;
    fprintf(stderr, "\r%-24.24s [%s] %5.1f%%  %6.1fs", stage ? stage : "", bar, 100 * f, el);
    if (f > 0.02) fprintf(stderr, "  eta %6.1fs", el * (1 - f) / f);
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_done(cli_progress *p)
{
    if (p->drawn) {
        fprintf(stderr, "\r%*s\r", 79, "");
        fflush(stderr);
        p->drawn = 0;
    }
}

/* ---- inputs ---- */

void cli_free_paths(char **paths, int n)
{
    if (!paths) return;
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

static int push_path(char ***paths, int *n, int *cap, const char *p)
{
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        char **np = realloc(*paths, (size_t)nc * sizeof *np);
        if (!np) return 0;
        *paths = np;
        *cap = nc;
    }
    char *d = strdup(p);
    if (!d) return 0;
    (*paths)[(*n)++] = d;
    return 1;
}

int cli_expand_inputs(const char *opt, const char *spec, char ***paths, int *n)
{
    char **out = NULL, *dup = strdup(spec ? spec : "");
    int cnt = 0, cap = 0, ok = 1;
    *paths = NULL;
    *n = 0;
    if (!dup) return !cli_error("out of memory");
    for (char *save = NULL, *item = strtok_r(dup, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
        if (!item[0]) continue;
        if (!strpbrk(item, "*?[")) { /* a plain name: opened (and checked) later */
            ok = push_path(&out, &cnt, &cap, item) || !cli_error("out of memory");
            continue;
        }
        glob_t g;
        int rc = glob(item, GLOB_ERR, NULL, &g); /* glob sorts the matches */
        if (rc == GLOB_NOMATCH) {
            cli_usage_error("%s: '%s' matches no file", opt, item);
            ok = 0;
        } else if (rc != 0) {
            cli_error("%s: cannot expand '%s'", opt, item);
            ok = 0;
        } else {
            for (size_t i = 0; i < g.gl_pathc && ok; i++)
                ok = push_path(&out, &cnt, &cap, g.gl_pathv[i]) || !cli_error("out of memory");
        }
        if (rc == 0) globfree(&g);
    }
    free(dup);
    if (ok && cnt == 0) {
        cli_usage_error("%s: no file names in '%s'", opt, spec ? spec : "");
        ok = 0;
    }
    if (!ok) {
        cli_free_paths(out, cnt);
        return 0;
    }
    *paths = out;
    *n = cnt;
    return 1;
}

int cli_open_input(char *const *paths, int n, const dcx_open_opts *oo, int split, dcx_source **out)
{
    dcx_source *src = NULL, *part = NULL;
    *out = NULL;
    dcx_status st = n == 1 ? dcx_source_open(paths[0], oo, &src)
                           : dcx_source_open_many((const char *const *)paths, n, oo, &src);
    /* a file missing on one node only: every rank stops, rank 0 reports */
    if (split) st = dcx_dist_agree(cli_dist, st);
    if (st != DCX_OK) {
        dcx_source_free(src);
        return cli_lib_error(st);
    }
    if (split && dcx_dist_size(cli_dist) > 1) {
        int64_t r0, nr;
        dcx_split_rows(dcx_source_rows(src), dcx_dist_rank(cli_dist), dcx_dist_size(cli_dist), &r0, &nr);
        st = dcx_source_slice(src, r0, nr, &part);
        if (st != DCX_OK) {
            dcx_source_free(src);
            return cli_lib_error(st);
        }
        src = part;
    }
    *out = src;
    return 0;
}
