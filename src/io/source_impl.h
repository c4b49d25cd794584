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
    /* Optional: prepare to read from row `row` next (0 <= row <= rows); the
     * caller then sets pos = row. NULL: the reader is sequential and
     * dcx__source_seek rewinds and skips rows by reading them. */
    dcx_status (*seek)(struct dcx_source *s, int64_t row);
    /* Optional: the source's rows as one row-major array of doubles (in
     * memory, or mapped from its file), valid while the source is open, or
     * NULL when they are stored otherwise. *row_base is the row number that
     * messages give its first row, *name the name they give the data. */
    const double *(*map_f64)(struct dcx_source *s, int64_t *row_base, const char **name);
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

/* Position s at row `row` (0 <= row <= rows) for the next read. */
dcx_status dcx__source_seek(struct dcx_source *s, int64_t row);

/* Format openers, each in its own file. They are called by dcx_source_open
 * after the generic checks (exists, regular file, not empty). */
dcx_status dcx__npy_open(const char *path, const dcx_open_opts *o, dcx_source **out);
dcx_status dcx__npz_open(const char *path, const dcx_open_opts *o, dcx_source **out);
dcx_status dcx__csv_open(const char *path, const dcx_open_opts *o, dcx_source **out);
dcx_status dcx__idx_open(const char *path, const dcx_open_opts *o, dcx_source **out);

/* ---- byte windows: what the .npy parser reads from ----
 * A window is a run of bytes [0, size) inside something: a file region
 * (a .npy file, a stored .npz member) or a decompressed stream (a deflated
 * .npz member). Readers address it by offset; a sequential window serves
 * backward reads by restarting, so it is cheap only when read forwards. */
typedef struct dcx__bytes dcx__bytes;
struct dcx__bytes {
    /* Read exactly n bytes at offset off into buf. Fails with DCX_ERR_FORMAT
     * (data ends early, corrupt stream) or DCX_ERR_IO, naming the file. */
    dcx_status (*pread)(dcx__bytes *b, void *buf, size_t n, int64_t off);
    void (*close)(dcx__bytes *b); /* frees b and what it owns */
    int64_t size;                 /* bytes in the window (declared size for streams) */
    int sequential;               /* 1: backward reads restart from the start */
    /* Optional: the window's bytes mapped read-only (NULL if it cannot be
     * mapped), valid until the window is closed. */
    const unsigned char *(*map)(dcx__bytes *b);
    char *name;                   /* file name for messages (owned) */
};

/* A window [base, base+size) of the open file descriptor fd (bytes.c). If
 * own_fd, closing the window closes fd (also when this call fails). */
dcx_status dcx__bytes_file(const char *name, int fd, int own_fd, int64_t base, int64_t size,
                           dcx__bytes **out);
/* Close a window; NULL is a no-op. */
void dcx__bytes_close(dcx__bytes *b);

/* ---- .npy (npy.c), shared with npz.c ---- */
typedef struct dcx__npy_info {
    char descr[24];      /* as written in the header, e.g. "<f4" */
    char kind;           /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int isize;           /* bytes per element: 1, 2, 4, 8 */
    int swap;            /* 1: stored in the other byte order than this machine's */
    int fortran;         /* 1: Fortran (column-major) order */
    int ndim;            /* >= 1 */
    int64_t shape[DCX_MAX_NDIM];
    int64_t rows, cols;  /* shape[0] x prod(shape[1..]); 1-D: N x 1 */
    int64_t data_off;    /* offset of the data in the window (header length) */
    int64_t data_bytes;  /* rows * cols * isize */
} dcx__npy_info;

/* Read and strictly parse the .npy header at the start of window b, and check
 * that the data it announces fits in b->size. Messages name b->name. */
dcx_status dcx__npy_read_header(dcx__bytes *b, dcx__npy_info *h);

/* A source reading the .npy in window b. Takes ownership of b (closed on
 * failure too). `name` is the name used in messages. */
dcx_status dcx__npy_open_bytes(const char *name, dcx__bytes *b, dcx_source **out);

/* The same for raw data described by `info` (no header is read; info->data_off
 * gives where the data start). Used for IDX files, whose data are laid out as
 * a big-endian C-order array. Takes ownership of b. */
dcx_status dcx__npy_open_info(const char *name, dcx__bytes *b, const dcx__npy_info *info, dcx_source **out);

#endif
