/* deepcx/core.h — status codes, error messages, version, threads and BLAS.
 *
 * Every library function that can fail returns a dcx_status (0 = ok, negative
 * = error). The failing call also records a one-line, human-readable message
 * (for example "x.npy: truncated data: header says 1000 rows, file holds 12")
 * that the caller reads with dcx_last_error(). The message lives in
 * thread-local storage: it stays valid until the next failing call in the same
 * thread. The library never prints and never calls exit() or abort() on bad
 * input. */
#ifndef DEEPCX_CORE_H
#define DEEPCX_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DCX_VERSION_STRING "0.1.0"

typedef enum dcx_status {
    DCX_OK = 0,
    DCX_ERR_NOMEM = -1,       /* allocation failed */
    DCX_ERR_IO = -2,          /* file missing, unreadable, not a regular file */
    DCX_ERR_FORMAT = -3,      /* bad magic, header, truncated data, corrupt file */
    DCX_ERR_ARG = -4,         /* invalid argument or option value */
    DCX_ERR_NUMERIC = -5,     /* NaN or Inf in the data, or a diverging computation */
    DCX_ERR_DEGENERATE = -6,  /* too few samples, zero variance: observable undefined */
    DCX_ERR_UNSUPPORTED = -7, /* valid input the library does not handle (e.g. dtype) */
    DCX_ERR_INTERNAL = -8     /* a bug: an invariant did not hold */
} dcx_status;

/* Short fixed name of a status ("ok", "out of memory", ...). Never NULL. */
const char *dcx_status_str(dcx_status st);

/* Message recorded by the last failing call in this thread ("" if none).
 * Owned by the library; valid until the next failing call in this thread. */
const char *dcx_last_error(void);

/* Clear the message of this thread. */
void dcx_clear_error(void);

/* Record a message (printf-style) and return `st`. Used by the library and
 * available to code extending it. */
dcx_status dcx_set_error(dcx_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Progress callback for long computations: `done` of `total` units of work
 * in the named stage. Called from the calling thread only; may be NULL. The
 * library never prints progress itself; the CLI draws a bar from this. */
typedef void (*dcx_progress_fn)(void *ctx, const char *stage, int64_t done, int64_t total);

/* Library version, "0.1.0". */
const char *dcx_version(void);

/* Number of threads used by BLAS and by the library's own parallel loops.
 * n <= 0 selects the number of online processors. */
void dcx_set_threads(int n);
int dcx_get_threads(void);

/* One-line description of the BLAS in use, e.g.
 * "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core Haswell)".
 * Owned by the library. */
const char *dcx_blas_config(void);

/* Run the BLAS single-threaded from here on and stop its worker threads.
 * OpenBLAS starts them when it is loaded (and whenever its thread count is
 * set) and lets them spin for about 0.1 s of CPU time before they sleep; on
 * a small machine that spin takes a core from the library's own threads.
 * For work that parallelises itself and calls the BLAS single-threaded
 * inside (complexity, patterns): the deepcx tool calls it for those.
 * dcx_get_threads() is unchanged; dcx_set_threads() makes the BLAS
 * threaded again. Call it only while no other thread is inside a BLAS
 * call. Only the thread count changes with other BLAS libraries. */
void dcx_blas_release_threads(void);

#ifdef __cplusplus
}
#endif
#endif
