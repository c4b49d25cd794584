/* matrix.c — dense row-major float32/float64 matrices with owned or viewed
 * storage. */
#include <string.h>

#include "../internal.h"

size_t dcx_dtype_size(dcx_dtype t) { return t == DCX_F64 ? sizeof(double) : sizeof(float); }

dcx_status dcx_matrix_create(int64_t rows, int64_t cols, dcx_dtype dtype, dcx_matrix **out)
{
    dcx_status st = DCX_OK;
    dcx_matrix *m = NULL;
    int64_t count;
    *out = NULL;
    if (dtype != DCX_F32 && dtype != DCX_F64) DCX_FAIL(DCX_ERR_ARG, "matrix: unknown dtype %d", (int)dtype);
    if (!dcx__mul_ok(rows, cols, &count) || (uint64_t)count > SIZE_MAX / 8)
        DCX_FAIL(DCX_ERR_ARG, "matrix: size %lld x %lld is invalid or too large", (long long)rows,
                 (long long)cols);
    DCX_ALLOC(m, 1);
    m->data = dcx__calloc((size_t)count, dcx_dtype_size(dtype));
    if (!m->data)
        DCX_FAIL(DCX_ERR_NOMEM, "out of memory for a %lld x %lld matrix", (long long)rows, (long long)cols);
    m->rows = rows;
    m->cols = cols;
    m->stride = cols;
    m->dtype = dtype;
    m->owns = 1;
    *out = m;
    return DCX_OK;
fail:
    free(m);
    return st;
}

dcx_status dcx_matrix_view(void *data, int64_t rows, int64_t cols, int64_t stride, dcx_dtype dtype,
                           dcx_matrix **out)
{
    dcx_status st = DCX_OK;
    dcx_matrix *m = NULL;
    *out = NULL;
    if (rows < 0 || cols < 0 || stride < cols || (!data && rows * cols > 0))
        DCX_FAIL(DCX_ERR_ARG, "matrix view: invalid shape %lld x %lld (stride %lld)", (long long)rows,
                 (long long)cols, (long long)stride);
    DCX_ALLOC(m, 1);
    m->rows = rows;
    m->cols = cols;
    m->stride = stride;
    m->dtype = dtype;
    m->data = data;
    m->owns = 0;
    *out = m;
    return DCX_OK;
fail:
    return st;
}

double dcx_matrix_get(const dcx_matrix *m, int64_t i, int64_t j)
{
    size_t k = (size_t)i * (size_t)m->stride + (size_t)j;
    return m->dtype == DCX_F64 ? ((const double *)m->data)[k] : (double)((const float *)m->data)[k];
}

void dcx_matrix_set(dcx_matrix *m, int64_t i, int64_t j, double v)
{
    size_t k = (size_t)i * (size_t)m->stride + (size_t)j;
    if (m->dtype == DCX_F64)
        ((double *)m->data)[k] = v;
    else
        ((float *)m->data)[k] = (float)v;
}

void dcx_matrix_row_f64(const dcx_matrix *m, int64_t i, double *out)
{
    if (m->dtype == DCX_F64) {
        memcpy(out, dcx_matrix_row(m, i), (size_t)m->cols * sizeof(double));
    } else {
        const float *r = dcx_matrix_row(m, i);
        for (int64_t j = 0; j < m->cols; j++) out[j] = r[j];
    }
}

dcx_status dcx_matrix_convert(const dcx_matrix *m, dcx_dtype dtype, dcx_matrix **out)
{
    dcx_status st = dcx_matrix_create(m->rows, m->cols, dtype, out);
    if (st != DCX_OK) return st;
    for (int64_t i = 0; i < m->rows; i++)
        for (int64_t j = 0; j < m->cols; j++) dcx_matrix_set(*out, i, j, dcx_matrix_get(m, i, j));
    return DCX_OK;
}

void dcx_matrix_free(dcx_matrix *m)
{
    if (!m) return;
    if (m->owns) free(m->data);
    free(m);
}
