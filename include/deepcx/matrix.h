/* deepcx/matrix.h — a dense row-major matrix of float32 or float64.
 *
 * Element (i, j) is at data[i * stride + j] (stride >= cols, in elements).
 * A matrix either owns its buffer (created by dcx_matrix_create) or views a
 * buffer owned by someone else (dcx_matrix_view); dcx_matrix_free releases the
 * buffer only in the first case. Network tensors are float32; every
 * accumulation over them is done in double. */
#ifndef DEEPCX_MATRIX_H
#define DEEPCX_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dcx_dtype { DCX_F32 = 1, DCX_F64 = 2 } dcx_dtype;

typedef struct dcx_matrix {
    int64_t rows;
    int64_t cols;
    int64_t stride; /* elements between the starts of two rows, >= cols */
    dcx_dtype dtype;
    void *data;     /* (rows, stride) */
    int owns;       /* 1: dcx_matrix_free releases data */
} dcx_matrix;

/* Size in bytes of one element. */
size_t dcx_dtype_size(dcx_dtype t);

/* Allocate a zero-filled rows x cols matrix (stride = cols). rows, cols >= 0.
 * Fails with DCX_ERR_NOMEM, or DCX_ERR_ARG when rows*cols overflows.
 * The caller owns *out and frees it with dcx_matrix_free. */
dcx_status dcx_matrix_create(int64_t rows, int64_t cols, dcx_dtype dtype, dcx_matrix **out);

/* A matrix header viewing `data` (not owned; must outlive the view). */
dcx_status dcx_matrix_view(void *data, int64_t rows, int64_t cols, int64_t stride,
                           dcx_dtype dtype, dcx_matrix **out);

/* Deep copy converted to `dtype` (stride = cols). */
dcx_status dcx_matrix_convert(const dcx_matrix *m, dcx_dtype dtype, dcx_matrix **out);

/* Free the header, and the buffer if owned. NULL is a harmless no-op. */
void dcx_matrix_free(dcx_matrix *m);

/* Element access as double (no bounds check beyond DCX_ASSERT in debug use). */
double dcx_matrix_get(const dcx_matrix *m, int64_t i, int64_t j);
void dcx_matrix_set(dcx_matrix *m, int64_t i, int64_t j, double v);

/* Pointer to the start of row i. */
static inline void *dcx_matrix_row(const dcx_matrix *m, int64_t i)
{
    return (char *)m->data + (size_t)i * (size_t)m->stride * dcx_dtype_size(m->dtype);
}

/* Copy row i into out[0..cols) as double. */
void dcx_matrix_row_f64(const dcx_matrix *m, int64_t i, double *out);

#ifdef __cplusplus
}
#endif
#endif
