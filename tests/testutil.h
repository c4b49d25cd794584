/* testutil.h — helpers shared by the cmocka test programs. */
#ifndef DEEPCX_TESTUTIL_H
#define DEEPCX_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "deepcx/deepcx.h"

/* Fail the test with the library's message unless st == DCX_OK. */
#define ASSERT_OK(expr)                                                              \
    do {                                                                             \
        dcx_status st_ = (expr);                                                     \
        if (st_ != DCX_OK) fail_msg("%s -> %s: %s", #expr, dcx_status_str(st_),      \
                                    dcx_last_error());                               \
    } while (0)

/* |a - b| <= tol, printing both values on failure. */
#define ASSERT_NEAR(a, b, tol)                                                       \
    do {                                                                             \
        double a_ = (a), b_ = (b), t_ = (tol);                                       \
        if (!(fabs(a_ - b_) <= t_))                                                  \
            fail_msg("%s = %.17g, %s = %.17g, |diff| %.3g > %.3g", #a, a_, #b, b_,   \
                     fabs(a_ - b_), t_);                                             \
    } while (0)

/* Relative agreement of two arrays: prints the largest relative difference
 * and fails when it exceeds tol. Relative to max(|ref|, floor). */
static inline void assert_rel_close(const char *what, const double *got, const double *ref, size_t n,
                                    double tol, double floor)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double den = fabs(ref[i]) > floor ? fabs(ref[i]) : floor;
        double d = fabs(got[i] - ref[i]) / den;
        if (!(d <= worst)) {
            worst = d;
            at = i;
        }
    }
    print_message("%s: largest relative difference %.3g (at %zu; tolerance %.3g)\n", what, worst, at, tol);
    if (!(worst <= tol)) fail_msg("%s: got %.17g, reference %.17g at %zu", what, got[at], ref[at], at);
}

/* Path of a committed fixture: $DCX_FIXTURES/name (static buffer). */
static inline const char *fixture(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("DCX_FIXTURES");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/fixtures", name);
    return buf;
}

/* A scratch directory per test program, made by setup_dir and removed with
 * its contents by teardown_dir (cmocka group fixtures); tmp_path(name) is a
 * path inside it (rotating static buffers: up to 8 live at once). */
static char tmpdir[256];

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static inline int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/deepcx-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int teardown_dir(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* ---- Large generated inputs (the out-of-core tests) ---- */

/* Peak resident memory of this process so far, MiB (ru_maxrss is KiB on Linux). */
static inline long peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* splitmix64 of k: a reproducible hash, for data made row by row. */
static inline uint64_t mix64(uint64_t k)
{
    uint64_t z = k + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* mix64(k) as a uniform value in [-0.5, 0.5). */
static inline double unif_hash(uint64_t k) { return (double)(mix64(k) >> 11) * 0x1.0p-53 - 0.5; }

/* Create a float32 .npy of rows x cols and write its header; the caller
 * writes the rows (e.g. in blocks) and closes the file. */
static inline FILE *npy_f32_create(const char *path, int64_t rows, int64_t cols)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    char hdr[DCX_NPY_HEADER_MAX];
    int total = dcx_npy_header(DCX_F32, rows, cols, hdr);
    assert_int_equal(fwrite(hdr, 1, (size_t)total, f), (size_t)total);
    return f;
}

#endif
