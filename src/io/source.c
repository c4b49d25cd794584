/* source.c — the generic half of dcx_source: sequential block reads with
 * NaN/Inf checks, rewinding, whole-matrix reads, and a source over an
 * in-memory matrix. Format readers (npy.c, npz.c, csv.c, idx.c) supply the
 * ops. */
#include <math.h>
#include <string.h>

#include "source_impl.h"

void dcx_open_opts_default(dcx_open_opts *o)
{
    memset(o, 0, sizeof *o);
    o->csv_header = -1;
}

dcx_status dcx__source_new(const char *name, const dcx_source_ops *ops, void *impl, dcx_source **out)
{
    dcx_status st = DCX_OK;
    dcx_source *s = NULL;
    *out = NULL;
    DCX_ALLOC(s, 1);
    size_t len = strlen(name ? name : "");
    DCX_ALLOC(s->name, len + 1);
    memcpy(s->name, name ? name : "", len);
    s->ops = ops;
    s->impl = impl;
    *out = s;
    return DCX_OK;
fail:
    free(s);
    return st;
}

int64_t dcx_source_rows(const dcx_source *s) { return s->rows; }
int64_t dcx_source_cols(const dcx_source *s) { return s->cols; }
const char *dcx_source_name(const dcx_source *s) { return s->name; }

int dcx_source_shape(const dcx_source *s, int64_t shape[DCX_MAX_NDIM])
{
    for (int i = 0; i < s->ndim; i++) shape[i] = s->shape[i];
    return s->ndim;
}

/* 1 if no element is NaN or ±Inf: x − x is +0 for a finite x and NaN
 * otherwise, so eight running sums of it stay 0 exactly when every value is
 * finite (vectors of four doubles, no branches: 2.56 M values in ~0.3 ms
 * instead of ~1.4 ms for a scalar bit test). */
typedef double dcx__v4d __attribute__((vector_size(32), aligned(8), may_alias));
static int all_finite(const double *x, int64_t n)
{
    dcx__v4d a = {0, 0, 0, 0}, b = a;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const dcx__v4d u = *(const dcx__v4d *)(x + i), v = *(const dcx__v4d *)(x + i + 4);
        a += u - u;
        b += v - v;
    }
    double t = 0;
    for (; i < n; i++) t += x[i] - x[i];
    a += b;
    return (a[0] + a[1]) + (a[2] + a[3]) + t == 0;
}

dcx_status dcx_source_read(dcx_source *s, int64_t max_rows, double *buf, int64_t *nread)
{
    dcx_status st = DCX_OK;
    *nread = 0;
    int64_t n = s->rows - s->pos;
    if (max_rows < n) n = max_rows;
    if (n <= 0) return DCX_OK;
    DCX_TRY(s->ops->read(s, n, buf));
    if (!all_finite(buf, n * s->cols))
        for (int64_t i = 0; i < n * s->cols; i++)
            if (!isfinite(buf[i]))
                DCX_FAIL(DCX_ERR_NUMERIC, "%s: %s value at row %lld, column %lld", s->name,
                         isnan(buf[i]) ? "NaN" : "Inf", (long long)(s->pos + i / s->cols),
                         (long long)(i % s->cols));
    s->pos += n;
    *nread = n;
    return DCX_OK;
fail:
    return st;
}

const double *dcx__source_map_f64(dcx_source *s, int64_t *row_base, const char **name)
{
    *row_base = 0;
    *name = s->name;
    return s->ops->map_f64 && s->rows > 0 && s->cols > 0 ? s->ops->map_f64(s, row_base, name) : NULL;
}

dcx_status dcx__check_finite_mapped(const double *x, int64_t n, int64_t cols, int64_t row, const char *name)
{
    if (all_finite(x, n * cols)) return DCX_OK;
    for (int64_t i = 0; i < n * cols; i++)
        if (!isfinite(x[i]))
            return dcx_set_error(DCX_ERR_NUMERIC, "%s: %s value at row %lld, column %lld", name,
                                 isnan(x[i]) ? "NaN" : "Inf", (long long)(row + i / cols), (long long)(i % cols));
    return DCX_OK;
}

dcx_status dcx_source_rewind(dcx_source *s)
{
    dcx_status st = s->ops->rewind(s);
    if (st == DCX_OK) s->pos = 0;
    return st;
}

dcx_status dcx__source_seek(dcx_source *s, int64_t row)
{
    dcx_status st = DCX_OK;
    double *buf = NULL;
    DCX_ASSERT(row >= 0 && row <= s->rows);
    if (row == s->pos) return DCX_OK;
    if (s->ops->seek) {
        DCX_TRY(s->ops->seek(s, row));
        s->pos = row;
        return DCX_OK;
    }
    /* a sequential reader: rewind if needed, then read and drop rows */
    if (row < s->pos) DCX_TRY(dcx_source_rewind(s));
    int64_t block = s->cols > 0 ? (1 << 18) / s->cols : 1;
    if (block < 1) block = 1;
    DCX_ALLOC(buf, (size_t)block * (size_t)(s->cols > 0 ? s->cols : 1));
    while (s->pos < row) {
        int64_t want = row - s->pos < block ? row - s->pos : block, got;
        DCX_TRY(dcx_source_read(s, want, buf, &got));
        if (got <= 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: data ended at row %lld", s->name, (long long)s->pos);
    }
fail:
    free(buf);
    return st;
}

void dcx_source_free(dcx_source *s)
{
    if (!s) return;
    if (s->ops && s->ops->close) s->ops->close(s);
    free(s->name);
    free(s);
}

dcx_status dcx_source_read_all(dcx_source *s, dcx_dtype dtype, dcx_matrix **out)
{
    dcx_status st = DCX_OK;
    dcx_matrix *m = NULL;
    double *buf = NULL;
    *out = NULL;
    int64_t left = s->rows - s->pos;
    DCX_TRY(dcx_matrix_create(left, s->cols, dtype, &m));
    int64_t block = s->cols > 0 ? (1 << 20) / s->cols : 1;
    if (block < 1) block = 1;
    DCX_ALLOC(buf, (size_t)block * (size_t)(s->cols > 0 ? s->cols : 1));
    for (int64_t r = 0; r < left;) {
        int64_t got;
        DCX_TRY(dcx_source_read(s, block, buf, &got));
        DCX_ASSERT(got > 0);
        if (dtype == DCX_F64) {
            memcpy(dcx_matrix_row(m, r), buf, (size_t)got * (size_t)s->cols * sizeof(double));
        } else {
            float *dst = dcx_matrix_row(m, r);
            for (int64_t i = 0; i < got * s->cols; i++) dst[i] = (float)buf[i];
        }
        r += got;
    }
    free(buf);
    *out = m;
    return DCX_OK;
fail:
    free(buf);
    dcx_matrix_free(m);
    return st;
}

dcx_status dcx_read_matrix(const char *path, const dcx_open_opts *opts, dcx_dtype dtype, dcx_matrix **out)
{
    dcx_source *s = NULL;
    *out = NULL;
    dcx_status st = dcx_source_open(path, opts, &s);
    if (st == DCX_OK) st = dcx_source_read_all(s, dtype, out);
    dcx_source_free(s);
    return st;
}

/* ---- a source over an in-memory matrix ---- */

static dcx_status mem_read(dcx_source *s, int64_t n, double *buf)
{
    const dcx_matrix *m = s->impl;
    for (int64_t i = 0; i < n; i++) dcx_matrix_row_f64(m, s->pos + i, buf + i * s->cols);
    return DCX_OK;
}

static dcx_status mem_rewind(dcx_source *s)
{
    (void)s;
    return DCX_OK;
}

static dcx_status mem_rewind_to(dcx_source *s, int64_t row)
{
    (void)s; /* rows are addressed by s->pos */
    (void)row;
    return DCX_OK;
}

static const double *mem_map_f64(dcx_source *s, int64_t *row_base, const char **name)
{
    const dcx_matrix *m = s->impl;
    *row_base = 0;
    *name = s->name;
    return m->dtype == DCX_F64 && m->stride == m->cols ? (const double *)m->data : NULL;
}

static const dcx_source_ops mem_ops = {mem_read, mem_rewind, NULL, mem_rewind_to, mem_map_f64};

dcx_status dcx_source_from_matrix(const dcx_matrix *m, const char *name, dcx_source **out)
{
    dcx_status st = dcx__source_new(name ? name : "<matrix>", &mem_ops, (void *)m, out);
    if (st != DCX_OK) return st;
    (*out)->rows = m->rows;
    (*out)->cols = m->cols;
    (*out)->ndim = 2;
    (*out)->shape[0] = m->rows;
    (*out)->shape[1] = m->cols;
    return DCX_OK;
}
