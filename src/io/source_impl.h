/* source_impl.h — what a file-format reader implements to become a
 * dcx_source. Private to src/io/. */
#ifndef DEEPCX_SOURCE_IMPL_H
#define DEEPCX_SOURCE_IMPL_H

#include "../internal.h"

struct dcx_source;

typedef struct dcx_source_ops {
    /* Read exactly n rows (n <= rows remaining, n > 0) into buf as doubles,
     * row-major (n x cols). Return DCX_ERR_FORMAT naming the file if the data
     * ends early. Finiteness is checked by the caller (source.c). */
    dcx_status (*read)(struct dcx_source *s, int64_t n, double *buf);
    /* Position at the first row again. */
    dcx_status (*rewind)(struct dcx_source *s);
    /* Release impl (not the source itself). */
    void (*close)(struct dcx_source *s);
} dcx_source_ops;

struct dcx_source {
    const dcx_source_ops *ops;
    void *impl;                    /* the reader's own state */
    int64_t rows, cols;
    int ndim;
    int64_t shape[DCX_MAX_NDIM];   /* shape[0] == rows; prod(shape[1..]) == cols */
    int64_t pos;                   /* next row to read */
    char *name;                    /* path or name, for messages (owned) */
};

/* Allocate a source with `name` copied; the reader fills in the rest. */
dcx_status dcx__source_new(const char *name, const dcx_source_ops *ops, void *impl, dcx_source **out);

/* Format openers, each in its own file. They are called by dcx_source_open
 * after the generic checks (exists, regular file, not empty). */
dcx_status dcx__npy_open(const char *path, const dcx_open_opts *o, dcx_source **out);
dcx_status dcx__npz_open(const char *path, const dcx_open_opts *o, dcx_source **out);
dcx_status dcx__csv_open(const char *path, const dcx_open_opts *o, dcx_source **out);
dcx_status dcx__idx_open(const char *path, const dcx_open_opts *o, dcx_source **out);

#endif
