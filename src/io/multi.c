/* multi.c — sources built from other sources: the concatenation of several
 * files read as one matrix (rows of file 1, then file 2, …; a data set
 * sharded over files), and a contiguous block of rows of a source (what one
 * process of a distributed run reads). Both forward reads to the inner
 * sources, so they stream like them; positioning uses the inner readers'
 * seek when they have one. */
#include <string.h>

#include "source_impl.h"

void dcx_split_rows(int64_t n, int rank, int parts, int64_t *row0, int64_t *nrows)
{
    if (parts < 1) parts = 1;
    int64_t base = n / parts, extra = n % parts;
    *row0 = (int64_t)rank * base + (rank < extra ? rank : extra);
    *nrows = base + (rank < extra ? 1 : 0);
}

/* ---- concatenation ---- */

typedef struct {
    int n;
    dcx_source **part;
    int64_t *first; /* (n + 1) global index of each part's first row; first[n] = rows */
} concat;

/* The part holding global row `row` (the last part for row == rows). */
static int part_of(const concat *c, int64_t row)
{
    int lo = 0, hi = c->n - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (c->first[mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    /* skip empty parts so that reads start in a part with rows left */
    while (lo < c->n - 1 && c->first[lo + 1] <= row) lo++;
    return lo;
}

static dcx_status concat_read(dcx_source *s, int64_t n, double *buf)
{
    concat *c = s->impl;
    int64_t row = s->pos;
    while (n > 0) {
        int k = part_of(c, row);
        dcx_source *p = c->part[k];
        dcx_status st = dcx__source_seek(p, row - c->first[k]);
        if (st != DCX_OK) return st;
        int64_t left = c->first[k + 1] - row, want = n < left ? n : left, got;
        if ((st = dcx_source_read(p, want, buf, &got)) != DCX_OK) return st;
        if (got != want) return dcx_set_error(DCX_ERR_FORMAT, "%s: data ended early", dcx_source_name(p));
        buf += want * s->cols;
        row += want;
        n -= want;
    }
    return DCX_OK;
}

static dcx_status concat_seek(dcx_source *s, int64_t row)
{
    (void)s; /* each read positions the part it starts in */
    (void)row;
    return DCX_OK;
}

static dcx_status concat_rewind(dcx_source *s) { return concat_seek(s, 0); }

static void concat_free(concat *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) dcx_source_free(c->part[i]);
    free(c->part);
    free(c->first);
    free(c);
}

static void concat_close(dcx_source *s) { concat_free(s->impl); }

static const dcx_source_ops concat_ops = {concat_read, concat_rewind, concat_close, concat_seek, NULL};

dcx_status dcx_source_open_many(const char *const *paths, int n, const dcx_open_opts *opts, dcx_source **out)
{
    dcx_status st = DCX_OK;
    concat *c = NULL;
    char name[1024];
    if (out) *out = NULL;
    if (!paths || !out || n < 1) DCX_FAIL(DCX_ERR_ARG, "dcx_source_open_many: no files");
    DCX_ALLOC(c, 1);
    DCX_ALLOC(c->part, n);
    DCX_ALLOC(c->first, n + 1);
    for (int i = 0; i < n; i++) {
        DCX_TRY(dcx_source_open(paths[i], opts, &c->part[i]));
        c->n = i + 1;
        dcx_source *p = c->part[i];
        if (i > 0 && dcx_source_cols(p) != dcx_source_cols(c->part[0]))
            DCX_FAIL(DCX_ERR_FORMAT,
                     "%s: %lld columns, but %s has %lld: the files of one matrix must have the same columns",
                     paths[i], (long long)dcx_source_cols(p), paths[0], (long long)dcx_source_cols(c->part[0]));
        if (c->first[i] > INT64_MAX - dcx_source_rows(p)) DCX_FAIL(DCX_ERR_ARG, "%s: too many rows in all", paths[i]);
        c->first[i + 1] = c->first[i] + dcx_source_rows(p);
    }
    if (n == 1)
        snprintf(name, sizeof name, "%s", paths[0]);
    else
        snprintf(name, sizeof name, "%s (+%d more)", paths[0], n - 1);
    DCX_TRY(dcx__source_new(name, &concat_ops, c, out));
    dcx_source *s = *out;
    const dcx_source *p0 = c->part[0];
    s->rows = c->first[n];
    s->cols = p0->cols;
    int same = 1;
    for (int i = 1; i < n && same; i++) {
        const dcx_source *p = c->part[i];
        same = p->ndim == p0->ndim;
        for (int a = 1; a < p0->ndim && same; a++) same = p->shape[a] == p0->shape[a];
    }
    if (same) {
        s->ndim = p0->ndim;
        memcpy(s->shape, p0->shape, sizeof s->shape);
    } else {
        s->ndim = 2;
        s->shape[1] = s->cols;
    }
    s->shape[0] = s->rows;
    return DCX_OK;
fail:
    concat_free(c);
    return st;
}

/* ---- a block of rows ---- */

typedef struct {
    dcx_source *inner;
    int64_t row0;
} slice;

static dcx_status slice_read(dcx_source *s, int64_t n, double *buf)
{
    slice *sl = s->impl;
    dcx_status st = dcx__source_seek(sl->inner, sl->row0 + s->pos);
    if (st != DCX_OK) return st;
    int64_t got;
    if ((st = dcx_source_read(sl->inner, n, buf, &got)) != DCX_OK) return st;
    if (got != n) return dcx_set_error(DCX_ERR_FORMAT, "%s: data ended early", dcx_source_name(sl->inner));
    return DCX_OK;
}

static dcx_status slice_seek(dcx_source *s, int64_t row)
{
    (void)s; /* each read positions the inner source */
    (void)row;
    return DCX_OK;
}

static dcx_status slice_rewind(dcx_source *s) { return slice_seek(s, 0); }

static void slice_close(dcx_source *s)
{
    slice *sl = s->impl;
    if (!sl) return;
    dcx_source_free(sl->inner);
    free(sl);
}

static const double *slice_map_f64(dcx_source *s, int64_t *row_base, const char **name)
{
    slice *sl = s->impl;
    const double *m = dcx__source_map_f64(sl->inner, row_base, name);
    if (!m) return NULL;
    *row_base += sl->row0;
    return m + sl->row0 * s->cols;
}

static const dcx_source_ops slice_ops = {slice_read, slice_rewind, slice_close, slice_seek, slice_map_f64};

dcx_status dcx_source_slice(dcx_source *inner, int64_t row0, int64_t nrows, dcx_source **out)
{
    dcx_status st = DCX_OK;
    slice *sl = NULL;
    if (out) *out = NULL;
    if (!inner || !out) DCX_FAIL(DCX_ERR_ARG, "dcx_source_slice: NULL argument");
    if (row0 < 0 || nrows < 0 || row0 > inner->rows || nrows > inner->rows - row0)
        DCX_FAIL(DCX_ERR_ARG, "%s: rows [%lld, %lld) are outside the %lld rows", inner->name, (long long)row0,
                 (long long)row0 + (long long)nrows, (long long)inner->rows);
    DCX_ALLOC(sl, 1);
    sl->inner = inner;
    sl->row0 = row0;
    DCX_TRY(dcx__source_new(inner->name, &slice_ops, sl, out));
    dcx_source *s = *out;
    s->rows = nrows;
    s->cols = inner->cols;
    s->ndim = inner->ndim;
    memcpy(s->shape, inner->shape, sizeof s->shape);
    s->shape[0] = nrows;
    return DCX_OK;
fail:
    free(sl);
    return st;
}
