/* csv.c — numeric CSV/TSV reader. One sample per line, fields separated by
 * ',', ';', a tab, or runs of spaces (whitespace mode); the delimiter is
 * given or detected from the first non-blank line (tab, then ',', then ';',
 * else whitespace). An optional first line of column names (detected when one
 * of its fields is not a number). '#' starts a comment (to the end of the
 * line), blank lines are skipped, "\r\n" endings are accepted, fields may be
 * wrapped in double quotes. Every row must have the same number of fields.
 *
 * Opening makes one pass over the file to count the rows and check the field
 * counts (rows must be known before the first read); reads then parse lines
 * as they come, so memory does not grow with the file. */
#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "source_impl.h"

typedef struct csv_reader {
    FILE *f;
    char *line;
    size_t cap;
    int64_t lineno;      /* physical line number of the last line read (1-based) */
    off_t data_start;    /* offset of the first line after the header */
    int64_t data_lineno; /* lineno before reading data_start's line */
    char delim;          /* 0: whitespace */
    const char *path;    /* borrowed from the source */
} csv_reader;

/* Read the next line into r->line: strip the line ending and any comment,
 * report its content length (0 for a blank or comment line). Returns -1 at
 * the end of the file, -2 on a NUL byte, -3 on a read error. */
static int next_line(csv_reader *r, size_t *len)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0) return ferror(r->f) ? -3 : -1;
    r->lineno++;
    if (memchr(r->line, '\0', (size_t)n)) return -2;
    int inq = 0;
    size_t end = (size_t)n;
    for (size_t i = 0; i < (size_t)n; i++) {
        char c = r->line[i];
        if (c == '"') inq = !inq;
        else if ((c == '#' && !inq) || c == '\n' || c == '\r') {
            end = i;
            break;
        }
    }
    while (end > 0 && (r->line[end - 1] == ' ' || r->line[end - 1] == '\t')) end--;
    r->line[end] = '\0';
    size_t start = 0;
    while (r->line[start] == ' ' || r->line[start] == '\t') start++;
    *len = end - start;
    return 0;
}

/* Next field of the line at *p (NUL-terminated; delimiter `delim`, or runs of
 * blanks when 0). Sets [*fs, *fs + *fl) to the field without quotes and
 * surrounding blanks and advances *p (NULL after the last field). With a
 * delimiter, k delimiters make k + 1 fields (a trailing one is empty).
 * Returns 0 when there is no further field. */
static int next_field(char **p, char delim, char **fs, size_t *fl)
{
    char *s = *p;
    if (!s) return 0;
    while (*s == ' ' || (*s == '\t' && delim != '\t')) s++;
    if (delim == 0 && *s == '\0') return 0;
    char *start = s, *end;
    if (*s == '"') {
        start = ++s;
        while (*s && *s != '"') s++;
        end = s;
        if (*s == '"') s++;
    } else {
        while (*s && (delim ? *s != delim : (*s != ' ' && *s != '\t'))) s++;
        end = s;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    }
    if (delim) {
        while (*s && *s != delim) s++; /* text after a closing quote is ignored */
        *p = *s == delim ? s + 1 : NULL;
    } else {
        *p = s;
    }
    *fs = start;
    *fl = (size_t)(end - start);
    return 1;
}

static int64_t count_fields(char *line, char delim)
{
    char *p = line, *fs;
    size_t fl;
    int64_t n = 0;
    while (next_field(&p, delim, &fs, &fl)) n++;
    return n;
}

static int parse_number(const char *s, size_t len, double *v)
{
    char tmp[256];
    if (len == 0 || len >= sizeof tmp) return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    *v = strtod(tmp, &end);
    /* ERANGE underflow to a denormal/0 is a number; overflow gives +-inf, rejected later as Inf */
    return end == tmp + len;
}

static int line_is_numeric(char *line, char delim)
{
    char *p = line, *fs;
    size_t fl;
    double v;
    while (next_field(&p, delim, &fs, &fl))
        if (!parse_number(fs, fl, &v)) return 0;
    return 1;
}

static char detect_delim(const char *line)
{
    int inq = 0, tab = 0, comma = 0, semi = 0;
    for (const char *c = line; *c; c++) {
        if (*c == '"') inq = !inq;
        else if (!inq) tab |= *c == '\t', comma |= *c == ',', semi |= *c == ';';
    }
    return tab ? '\t' : comma ? ',' : semi ? ';' : 0;
}

static dcx_status csv_read(dcx_source *s, int64_t n, double *buf)
{
    csv_reader *r = s->impl;
    for (int64_t i = 0; i < n; i++) {
        size_t len;
        int rc;
        while ((rc = next_line(r, &len)) == 0 && len == 0) {}
        if (rc == -1)
            return dcx_set_error(DCX_ERR_FORMAT, "%s: truncated: file ends after %lld of %lld rows (changed while reading?)",
                                 s->name, (long long)(s->pos + i), (long long)s->rows);
        if (rc == -2) return dcx_set_error(DCX_ERR_FORMAT, "%s: line %lld: NUL byte (not a text file)", s->name, (long long)r->lineno);
        if (rc == -3) return dcx_set_error(DCX_ERR_IO, "%s: read error: %s", s->name, strerror(errno));
        char *p = r->line, *fs;
        size_t fl;
            int64_t j = 0;
        double *row = buf + i * s->cols;
        while (next_field(&p, r->delim, &fs, &fl)) {
            if (j >= s->cols) break;
            if (!parse_number(fs, fl, &row[j])) {
                int show = fl > 40 ? 40 : (int)fl;
                return dcx_set_error(DCX_ERR_FORMAT, "%s: line %lld, field %lld: '%.*s%s' is not a number", s->name,
                                     (long long)r->lineno, (long long)(j + 1), show, fs, fl > 40 ? "..." : "");
            }
            j++;
        }
        if (j != s->cols || next_field(&p, r->delim, &fs, &fl))
            return dcx_set_error(DCX_ERR_FORMAT, "%s: line %lld: wrong number of fields, expected %lld", s->name,
                                 (long long)r->lineno, (long long)s->cols);
    }
    return DCX_OK;
}

static dcx_status csv_rewind(dcx_source *s)
{
    csv_reader *r = s->impl;
    if (fseeko(r->f, r->data_start, SEEK_SET) != 0)
        return dcx_set_error(DCX_ERR_IO, "%s: cannot seek: %s", s->name, strerror(errno));
    r->lineno = r->data_lineno;
    return DCX_OK;
}

static void csv_close(dcx_source *s)
{
    csv_reader *r = s->impl;
    if (!r) return;
    if (r->f) fclose(r->f);
    free(r->line);
    free(r);
}

static const dcx_source_ops csv_ops = {csv_read, csv_rewind, csv_close, NULL, NULL};

dcx_status dcx__csv_open(const char *path, const dcx_open_opts *o, dcx_source **out)
{
    dcx_status st = DCX_OK;
    csv_reader *r = NULL;
    *out = NULL;
    int want_header = o ? o->csv_header : -1;
    char delim = o ? o->csv_delim : 0;
    if (delim != 0 && delim != ',' && delim != ';' && delim != '\t' && delim != ' ')
        DCX_FAIL(DCX_ERR_ARG, "%s: unsupported CSV delimiter '%c' (use ',', ';', tab or space)", path, delim);
    int auto_delim = delim == 0;
    if (delim == ' ') delim = 0;

    DCX_ALLOC(r, 1);
    r->path = path;
    r->f = fopen(path, "rb");
    if (!r->f) DCX_FAIL(DCX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    setvbuf(r->f, NULL, _IOFBF, 1 << 20);

    int64_t rows = 0, cols = -1, cols_line = 0, header_fields = -1, header_line = 0;
    int seen_first = 0;
    for (;;) {
        off_t at = ftello(r->f);
        size_t len;
        int rc = next_line(r, &len);
        if (rc == -1) break;
        if (rc == -2) DCX_FAIL(DCX_ERR_FORMAT, "%s: line %lld: NUL byte (not a text file)", path, (long long)r->lineno);
        if (rc == -3) DCX_FAIL(DCX_ERR_IO, "%s: read error: %s", path, strerror(errno));
        if (len == 0) continue;
        if (!seen_first) {
            seen_first = 1;
            if (auto_delim) delim = detect_delim(r->line);
            int is_header = want_header == 1 || (want_header < 0 && !line_is_numeric(r->line, delim));
            if (is_header) {
                header_fields = count_fields(r->line, delim);
                header_line = r->lineno;
                r->data_start = ftello(r->f);
                r->data_lineno = r->lineno;
                continue;
            }
            r->data_start = at;
            r->data_lineno = r->lineno - 1;
        }
        int64_t nf = count_fields(r->line, delim);
        if (cols < 0) {
            cols = nf;
            cols_line = r->lineno;
        } else if (nf != cols) {
            DCX_FAIL(DCX_ERR_FORMAT, "%s: line %lld has %lld fields, expected %lld (as on line %lld)", path,
                     (long long)r->lineno, (long long)nf, (long long)cols, (long long)cols_line);
        }
        rows++;
    }
    if (rows == 0)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: no data rows%s", path,
                 header_fields >= 0 ? " (the only line was taken as a header: it has a non-numeric field)" : "");
    if (header_fields >= 0 && header_fields != cols)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: the header (line %lld) has %lld fields, the data rows have %lld", path,
                 (long long)header_line, (long long)header_fields, (long long)cols);
    r->delim = delim;
    clearerr(r->f);
    if (fseeko(r->f, r->data_start, SEEK_SET) != 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    r->lineno = r->data_lineno;
    DCX_TRY(dcx__source_new(path, &csv_ops, r, out));
    (*out)->rows = rows;
    (*out)->cols = cols;
    (*out)->ndim = 2;
    (*out)->shape[0] = rows;
    (*out)->shape[1] = cols;
    return DCX_OK;
fail:
    if (r) {
        if (r->f) fclose(r->f);
        free(r->line);
        free(r);
    }
    return st;
}
