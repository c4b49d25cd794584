/* deepcx/io.h — reading activation matrices from files, in row blocks.
 *
 * A dcx_source is an open matrix file read sequentially in blocks of rows, so
 * that observables built from sums (covariances, counts) never hold the whole
 * matrix in memory. Rows are samples, columns units. N-D arrays are flattened
 * to N x (product of the other dimensions); the original shape is kept.
 *
 * Formats (chosen by content and extension, see docs/file-formats.md):
 *   .npy   float32/float64/int8/16/32/64/uint8/16/32/64/bool, little or
 *          big endian, C or Fortran order, 1-D (N x 1), 2-D, N-D, v1-v3
 *   .npz   the array named by opts->array_name, or the only array
 *   .csv/.tsv/.txt  numeric, optional header line, delimiter , ; tab or space
 *   IDX    (MNIST format, optionally gzip'd): idx3 images -> N x (rows*cols),
 *          idx1 labels -> N x 1
 *
 * Every value is checked: NaN or Inf fails with DCX_ERR_NUMERIC naming the
 * file, row and column. Errors name the file. */
#ifndef DEEPCX_IO_H
#define DEEPCX_IO_H

#include <stdint.h>

#include "core.h"
#include "matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DCX_MAX_NDIM 8

typedef struct dcx_source dcx_source; /* opaque */

typedef struct dcx_open_opts {
    const char *array_name; /* .npz: member to read (without ".npy"); NULL: the only one */
    int csv_header;         /* CSV: -1 detect (default), 0 none, 1 first line is a header */
    char csv_delim;         /* CSV: 0 detect (default), or ',', ';', '\t', ' ' */
} dcx_open_opts;

/* Zero-initialised options are the defaults except csv_header, which
 * dcx_open_opts_default sets to -1. */
void dcx_open_opts_default(dcx_open_opts *o);

/* Open `path` (opts may be NULL for defaults). The caller owns *out and frees
 * it with dcx_source_free. Fails with DCX_ERR_IO (missing file, directory,
 * unreadable), DCX_ERR_FORMAT (bad magic or header, header size larger than the
 * file, empty file), DCX_ERR_UNSUPPORTED (dtype). */
dcx_status dcx_source_open(const char *path, const dcx_open_opts *opts, dcx_source **out);

/* A source reading the rows of an in-memory matrix. `m` is borrowed and must
 * outlive the source. `name` (may be NULL) is used in error messages. */
dcx_status dcx_source_from_matrix(const dcx_matrix *m, const char *name, dcx_source **out);

int64_t dcx_source_rows(const dcx_source *s);
int64_t dcx_source_cols(const dcx_source *s);
/* Original shape (ndim >= 1); shape[0] == rows. */
int dcx_source_shape(const dcx_source *s, int64_t shape[DCX_MAX_NDIM]);
/* The path or name given at open. */
const char *dcx_source_name(const dcx_source *s);

/* Read up to max_rows next rows into buf (row-major, max_rows x cols doubles).
 * Blocks of about a million values (8 MB) read fastest: larger blocks no
 * longer fit in cache and are bound by memory bandwidth.
 * *nread = rows read; 0 at the end. Fails with DCX_ERR_FORMAT (truncated) or
 * DCX_ERR_NUMERIC (NaN/Inf). */
dcx_status dcx_source_read(dcx_source *s, int64_t max_rows, double *buf, int64_t *nread);

/* Start again from the first row. */
dcx_status dcx_source_rewind(dcx_source *s);

/* Open several files as ONE matrix, their rows concatenated in the order
 * given (a data set sharded over files). Every file must have the same
 * number of columns: DCX_ERR_FORMAT otherwise, naming the first file that
 * differs. paths[0..n) are copied (n >= 1). The source's name is
 * "FIRST (+k more)"; read errors name the file they occur in. Its shape is
 * the first file's with shape[0] = total rows when every file has the same
 * trailing shape, else (rows, cols). Caller owns *out (dcx_source_free).
 * The open errors of dcx_source_open; DCX_ERR_ARG for n < 1. */
dcx_status dcx_source_open_many(const char *const *paths, int n, const dcx_open_opts *opts, dcx_source **out);

/* A source presenting rows [row0, row0 + nrows) of `inner` (0 <= row0,
 * row0 + nrows <= rows of inner; nrows may be 0): each process of a
 * distributed run reads its own block of rows. Positional readers (.npy,
 * stored .npz members, in-memory matrices, concatenations of them) start
 * there directly; other readers skip the rows before row0 by reading them.
 * On success the slice owns `inner` (dcx_source_free frees both); on
 * failure the caller still owns it. DCX_ERR_ARG for an invalid range. */
dcx_status dcx_source_slice(dcx_source *inner, int64_t row0, int64_t nrows, dcx_source **out);

/* The contiguous block of rows [*row0, *row0 + *nrows) of part `rank` when
 * n rows are split among `parts` parts: the first n % parts parts get one
 * row more. Depends on n, rank and parts only. */
void dcx_split_rows(int64_t n, int rank, int parts, int64_t *row0, int64_t *nrows);

/* Close. NULL is a harmless no-op. */
void dcx_source_free(dcx_source *s);

/* Read a whole file into a new matrix of `dtype`. Caller owns *out. */
dcx_status dcx_read_matrix(const char *path, const dcx_open_opts *opts, dcx_dtype dtype,
                           dcx_matrix **out);

/* Read all remaining rows of an open source into a new matrix of `dtype`. */
dcx_status dcx_source_read_all(dcx_source *s, dcx_dtype dtype, dcx_matrix **out);

/* Write a 2-D matrix as a little-endian C-order .npy of its dtype, atomically
 * (temporary file + rename). */
dcx_status dcx_write_npy(const char *path, const dcx_matrix *m);

/* The .npy header (format 1.0, little-endian, C order) of a rows x cols
 * float32 (DCX_F32) or float64 matrix, padded so that the data start at a
 * multiple of 64 bytes: written into buf (DCX_NPY_HEADER_MAX bytes), its
 * length returned. For writing a large file block by block. */
#define DCX_NPY_HEADER_MAX 256
int dcx_npy_header(dcx_dtype dtype, int64_t rows, int64_t cols, char *buf);

#ifdef __cplusplus
}
#endif
#endif
