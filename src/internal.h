/* src/internal.h — private helpers shared by the library's modules.
 * Not installed, not part of the API. */
#ifndef DEEPCX_INTERNAL_H
#define DEEPCX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "deepcx/deepcx.h"

/* Staged cleanup. A function using these declares `dcx_status st = DCX_OK;`
 * and a `fail:` label after which it frees what it holds and returns st. */
#define DCX_FAIL(code, ...)                          \
    do {                                             \
        st = dcx_set_error((code), __VA_ARGS__);     \
        goto fail;                                   \
    } while (0)

#define DCX_TRY(expr)                                \
    do {                                             \
        st = (expr);                                 \
        if (st != DCX_OK) goto fail;                 \
    } while (0)

/* Allocation that records DCX_ERR_NOMEM and jumps to fail on NULL. */
#define DCX_ALLOC(ptr, count)                                                   \
    do {                                                                        \
        (ptr) = dcx__calloc((size_t)(count), sizeof(*(ptr)));                   \
        if (!(ptr)) DCX_FAIL(DCX_ERR_NOMEM, "out of memory (%zu bytes)",        \
                             (size_t)(count) * sizeof(*(ptr)));                 \
    } while (0)

/* Always-on invariant check for programming errors (never for input files).
 * Records DCX_ERR_INTERNAL with file and line and jumps to fail. */
#define DCX_ASSERT(cond)                                                        \
    do {                                                                        \
        if (!(cond)) DCX_FAIL(DCX_ERR_INTERNAL, "internal error: %s:%d: %s",    \
                              __FILE__, __LINE__, #cond);                       \
    } while (0)

/* calloc that returns NULL for a zero-size request's overflow, never UB. */
void *dcx__calloc(size_t n, size_t size);

/* a*b into *out; returns 0 on overflow (for sizes read from file headers). */
int dcx__mul_ok(int64_t a, int64_t b, int64_t *out);

/* ---- BLAS/LAPACK wrappers (src/core/blas.c). All calls go through these.
 * Row-major. Sizes are checked against the BLAS integer type; a size that
 * does not fit returns DCX_ERR_UNSUPPORTED. ---- */
/* C(m,n) = alpha * op(A) op(B) + beta * C */
dcx_status dcx__dgemm(int transa, int transb, int64_t m, int64_t n, int64_t k, double alpha,
                      const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                      double *c, int64_t ldc);
dcx_status dcx__sgemm(int transa, int transb, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                      float *c, int64_t ldc);
/* Upper triangle of C(n,n) = alpha * AᵀA + beta * C, A is (k, n) row-major. */
dcx_status dcx__dsyrk_t(int64_t n, int64_t k, double alpha, const double *a, int64_t lda,
                        double beta, double *c, int64_t ldc);
/* Upper triangle of C(n,n) = alpha * AAᵀ + beta * C, A is (n, k) row-major. */
dcx_status dcx__dsyrk_n(int64_t n, int64_t k, double alpha, const double *a, int64_t lda,
                        double beta, double *c, int64_t ldc);
/* Set the BLAS's own thread count without changing dcx_get_threads() (for
 * loops that parallelise over independent small problems themselves). */
void dcx__blas_threads(int n);
/* Symmetrize: copy the upper triangle of a (n,n) into the lower. */
void dcx__sym_upper_to_full(double *c, int64_t n, int64_t ldc);
/* Eigenvalues (ascending) of the symmetric (n,n) matrix a (destroyed); if
 * vectors != 0, a is overwritten by the eigenvectors (columns, row-major). */
dcx_status dcx__dsyevd(int vectors, int64_t n, double *a, int64_t lda, double *w);
/* Solve the symmetric positive definite system A X = B (A (n,n), B (n,nrhs))
 * in place by Cholesky; DCX_ERR_DEGENERATE if A is not positive definite. */
dcx_status dcx__dposv(int64_t n, int64_t nrhs, double *a, int64_t lda, double *b, int64_t ldb);

/* The same system with B and the solution stored column by column: b holds
 * the nrhs right-hand sides as rows of length ldb (B transposed, row-major),
 * and a's upper triangle (row-major) is read; no transposed copies are made. */
dcx_status dcx__dposv_cm(int64_t n, int64_t nrhs, double *a, int64_t lda, double *b, int64_t ldb);

/* A source's rows in place (io/source.c): one row-major array of doubles
 * (an in-memory F64 matrix, or a .npy file of native doubles in C order,
 * mapped read-only), valid while the source is open; NULL when the data
 * are stored otherwise. Messages about its row i give row *row_base + i of
 * *name. Reading in place avoids the copy into a buffer and the buffer's
 * fresh pages. The file must not change while it is mapped. */
struct dcx_source;
const double *dcx__source_map_f64(struct dcx_source *s, int64_t *row_base, const char **name);
/* DCX_ERR_NUMERIC naming the first NaN or Inf of the n rows x (cols each)
 * as dcx_source_read does: "name: NaN value at row r, column c", r = row
 * for x's first row. */
dcx_status dcx__check_finite_mapped(const double *x, int64_t n, int64_t cols, int64_t row, const char *name);

/* The eigenvalues of the symmetric (n, n) a (upper triangle, row-major;
 * overwritten by its reduction) into w, ascending, and the eigenvectors of
 * its tridiagonal form into zt (n, n, column j the vector of w[j], column
 * major): dsytrd + dstedc. dcx__dormtr_cols then turns m of them (z, n × m
 * column-major, taken from zt) into eigenvectors of a (tau: n doubles from
 * the first call). Together ~20 % faster than dsyevd at n = 256 when only
 * some vectors are wanted (they are back-transformed alone). */
dcx_status dcx__dsytrd_stedc(int64_t n, double *a, int64_t lda, double *w, double *zt, double *tau);
dcx_status dcx__dormtr_cols(int64_t n, int64_t m, const double *a, int64_t lda, const double *tau, double *z);

/* The inverse of the symmetric positive definite (n, n) a, in place: its
 * upper triangle (row-major) is read and replaced by the inverse's
 * (Cholesky, dpotrf + dpotri, without transposed copies);
 * DCX_ERR_DEGENERATE if a is not positive definite. */
dcx_status dcx__dpotri_upper(int64_t n, double *a, int64_t lda);
/* Set the number of BLAS threads without touching dcx_get_threads(); returns
 * the previous BLAS thread count. For the library's own parallel regions
 * (BLAS runs single-threaded inside them); n < 1 leaves the count alone. */
int dcx__blas_set_threads_raw(int n);

/* Task pool (src/obs/par.c; the observables and the conv layers). Runs
 * fn(ctx, t) for t = 0..ntasks−1 on up to `threads` threads, the calling
 * thread included, with BLAS single-threaded during the call (also when
 * threads is 1, so that results never depend on the thread count). Tasks
 * must be independent and write only their own outputs. The status is that
 * of the lowest failing task (its message is carried over to the calling
 * thread); no task starts after a failure. tick(tick_ctx, pool), if given,
 * is called in the calling thread after each task it ran and once at the
 * end; dcx__pool_done(pool) is the number of tasks finished so far. */
typedef dcx_status (*dcx__task_fn)(void *ctx, int64_t task);
typedef void (*dcx__tick_fn)(void *ctx, const void *pool);
dcx_status dcx__parallel_tasks(int64_t ntasks, int threads, dcx__task_fn fn, void *ctx, dcx__tick_fn tick,
                               void *tick_ctx);

/* Two streams of blocks: block b goes to stream b mod 2. read(ctx, k, b,
 * &rows) reads block b into stream k's buffer (rows = 0: no more blocks);
 * the reads happen one at a time, in block order. work(ctx, k, b, rows,
 * nread) then processes it (nread: the rows read up to and including this
 * block), outside the lock, while the other stream reads. With threads >= 2
 * each stream has its own thread; with one, the blocks are processed in
 * order. Each stream sees its blocks in order either way, so a stream that
 * accumulates gets the same result for any thread count. BLAS runs
 * single-threaded meanwhile. The first failure (read or work) stops both
 * streams and is returned. (par.c) */
typedef dcx_status (*dcx__stream_read_fn)(void *ctx, int stream, int64_t block, int64_t *rows);
typedef dcx_status (*dcx__stream_work_fn)(void *ctx, int stream, int64_t block, int64_t rows, int64_t nread);
dcx_status dcx__two_streams(int threads, dcx__stream_read_fn read, dcx__stream_work_fn work, void *ctx);
int64_t dcx__pool_done(const void *pool);

/* The m largest eigenvalues (ascending, into w[0..m); w must hold n values) and their eigenvectors
 * of the symmetric (n,n) matrix a (upper triangle read; destroyed), by
 * dsyevr (MRRR): eigenvector t is z[t*n .. t*n+n) (z (m, n)). */
dcx_status dcx__dsyevr_top(int64_t n, double *a, int64_t lda, int64_t m, double *w, double *z);

/* Naive references kept for tests of the wrappers. */
void dcx__ref_dgemm(int transa, int transb, int64_t m, int64_t n, int64_t k, double alpha,
                    const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                    double *c, int64_t ldc);

#endif
