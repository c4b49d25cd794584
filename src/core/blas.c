/* blas.c — the one place where deepcx calls BLAS and LAPACK (OpenBLAS,
 * LAPACKE). Thin row-major wrappers that check every size against the BLAS
 * integer type, plus a naive dgemm kept as the reference for tests. */
#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../internal.h"

static int g_threads = 0; /* 0: not set yet */

static int fits(int64_t v) { return v >= 0 && v <= (int64_t)INT_MAX; }

#define CHECK_DIMS(...)                                                                       \
    do {                                                                                      \
        int64_t dims_[] = {__VA_ARGS__};                                                      \
        for (size_t q_ = 0; q_ < sizeof dims_ / sizeof dims_[0]; q_++)                        \
            if (!fits(dims_[q_]))                                                             \
                return dcx_set_error(DCX_ERR_UNSUPPORTED,                                     \
                                     "matrix dimension %lld exceeds the BLAS integer range",  \
                                     (long long)dims_[q_]);                                   \
    } while (0)

void dcx_set_threads(int n)
{
    if (n <= 0) {
        long p = sysconf(_SC_NPROCESSORS_ONLN);
        n = p > 0 ? (int)p : 1;
    }
    g_threads = n;
    openblas_set_num_threads(n);
}

void dcx__blas_threads(int n) { openblas_set_num_threads(n > 0 ? n : 1); }

int dcx_get_threads(void)
{
    if (g_threads <= 0) {
        int n = openblas_get_num_threads();
        return n > 0 ? n : 1;
    }
    return g_threads;
}

/* OpenBLAS (pthreads build): joins its worker threads; exec_blas starts
 * them again when needed. Weak, so that another BLAS links as well. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void dcx_blas_release_threads(void)
{
    /* one thread first: setting the count after the shutdown would start
     * the workers again */
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}

const char *dcx_blas_config(void)
{
    static _Thread_local char buf[256];
    const char *cfg = openblas_get_config();
    const char *core = openblas_get_corename();
    snprintf(buf, sizeof buf, "%s (core %s)", cfg ? cfg : "OpenBLAS", core ? core : "unknown");
    /* openblas_get_config() starts with a space in some builds */
    char *p = buf;
    while (*p == ' ') p++;
    if (p != buf) memmove(buf, p, strlen(p) + 1);
    return buf;
}

dcx_status dcx__dgemm(int transa, int transb, int64_t m, int64_t n, int64_t k, double alpha,
                      const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                      double *c, int64_t ldc)
{
    CHECK_DIMS(m, n, k, lda, ldb, ldc);
    if (m == 0 || n == 0) return DCX_OK;
    cblas_dgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans, transb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    return DCX_OK;
}

dcx_status dcx__sgemm(int transa, int transb, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                      int64_t ldc)
{
    CHECK_DIMS(m, n, k, lda, ldb, ldc);
    if (m == 0 || n == 0) return DCX_OK;
    cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans, transb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    return DCX_OK;
}

dcx_status dcx__dsyrk_t(int64_t n, int64_t k, double alpha, const double *a, int64_t lda, double beta,
                        double *c, int64_t ldc)
{
    CHECK_DIMS(n, k, lda, ldc);
    if (n == 0) return DCX_OK;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, alpha, a, (int)lda, beta, c,
                (int)ldc);
    return DCX_OK;
}

dcx_status dcx__dsyrk_n(int64_t n, int64_t k, double alpha, const double *a, int64_t lda, double beta,
                        double *c, int64_t ldc)
{
    CHECK_DIMS(n, k, lda, ldc);
    if (n == 0) return DCX_OK;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)k, alpha, a, (int)lda, beta, c,
                (int)ldc);
    return DCX_OK;
}

void dcx__sym_upper_to_full(double *c, int64_t n, int64_t ldc)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) c[i * ldc + j] = c[j * ldc + i];
}

dcx_status dcx__dsyevd(int vectors, int64_t n, double *a, int64_t lda, double *w)
{
    CHECK_DIMS(n, lda);
    if (n == 0) return DCX_OK;
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N', 'U', (lapack_int)n, a,
                                     (lapack_int)lda, w);
    if (info < 0) return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dsyevd argument %d", (int)-info);
    if (info > 0)
        return dcx_set_error(DCX_ERR_NUMERIC, "eigenvalue computation did not converge (dsyevd info %d)",
                             (int)info);
    return DCX_OK;
}

/* Cholesky solve in either layout; the two wrappers below differ only there. */
static dcx_status dposv_layout(int layout, char uplo, int64_t n, int64_t nrhs, double *a, int64_t lda, double *b,
                               int64_t ldb)
{
    CHECK_DIMS(n, nrhs, lda, ldb);
    if (n == 0) return DCX_OK;
    lapack_int info =
        LAPACKE_dposv(layout, uplo, (lapack_int)n, (lapack_int)nrhs, a, (lapack_int)lda, b, (lapack_int)ldb);
    if (info < 0) return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dposv argument %d", (int)-info);
    if (info > 0)
        return dcx_set_error(DCX_ERR_DEGENERATE, "linear system is not positive definite (minor %d)",
                             (int)info);
    return DCX_OK;
}

dcx_status dcx__dposv(int64_t n, int64_t nrhs, double *a, int64_t lda, double *b, int64_t ldb)
{
    return dposv_layout(LAPACK_ROW_MAJOR, 'U', n, nrhs, a, lda, b, ldb);
}

void dcx__ref_dgemm(int transa, int transb, int64_t m, int64_t n, int64_t k, double alpha,
                    const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                    int64_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t p = 0; p < k; p++) {
                double av = transa ? a[p * lda + i] : a[i * lda + p];
                double bv = transb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
            }
            c[i * ldc + j] = alpha * s + (beta == 0.0 ? 0.0 : beta * c[i * ldc + j]);
        }
}

int dcx__blas_set_threads_raw(int n)
{
    int old = openblas_get_num_threads();
    if (n >= 1 && n != old) openblas_set_num_threads(n);
    return old > 0 ? old : 1;
}

dcx_status dcx__dposv_cm(int64_t n, int64_t nrhs, double *a, int64_t lda, double *b, int64_t ldb)
{
    return dposv_layout(LAPACK_COL_MAJOR, 'L', n, nrhs, a, lda, b, ldb);
}

dcx_status dcx__dsytrd_stedc(int64_t n, double *a, int64_t lda, double *w, double *zt, double *tau)
{
    if (n < 1 || lda < n || n > INT_MAX || lda > INT_MAX)
        return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dsytrd dimensions");
    double *e = calloc((size_t)n, sizeof *e);
    if (!e) return dcx_set_error(DCX_ERR_NOMEM, "out of memory (eigen-decomposition)");
    /* the row-major upper triangle is the column-major lower one */
    lapack_int info = LAPACKE_dsytrd(LAPACK_COL_MAJOR, 'L', (lapack_int)n, a, (lapack_int)lda, w, e, tau);
    if (info == 0) info = LAPACKE_dstedc(LAPACK_COL_MAJOR, 'I', (lapack_int)n, w, e, zt, (lapack_int)n);
    free(e);
    if (info < 0) return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dsytrd/dstedc argument %d", (int)-info);
    if (info > 0)
        return dcx_set_error(DCX_ERR_NUMERIC, "eigenvalue computation did not converge (dstedc info %d)", (int)info);
    return DCX_OK;
}

dcx_status dcx__dormtr_cols(int64_t n, int64_t m, const double *a, int64_t lda, const double *tau, double *z)
{
    if (n < 1 || m < 0 || lda < n || n > INT_MAX || m > INT_MAX || lda > INT_MAX)
        return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dormtr dimensions");
    if (m == 0) return DCX_OK;
    lapack_int info = LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'N', (lapack_int)n, (lapack_int)m, (double *)a,
                                     (lapack_int)lda, tau, z, (lapack_int)n);
    if (info != 0) return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dormtr info %d", (int)info);
    return DCX_OK;
}

dcx_status dcx__dpotri_upper(int64_t n, double *a, int64_t lda)
{
    if (n < 0 || lda < (n > 1 ? n : 1) || n > INT_MAX || lda > INT_MAX)
        return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dpotri dimensions");
    if (n == 0) return DCX_OK;
    /* the row-major upper triangle is the column-major lower one */
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, a, (lapack_int)lda);
    if (info == 0) info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', (lapack_int)n, a, (lapack_int)lda);
    if (info < 0) return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dpotrf/dpotri argument %d", (int)-info);
    if (info > 0)
        return dcx_set_error(DCX_ERR_DEGENERATE, "linear system is not positive definite (minor %d)", (int)info);
    return DCX_OK;
}

dcx_status dcx__dsyevr_top(int64_t n, double *a, int64_t lda, int64_t m, double *w, double *z)
{
    CHECK_DIMS(n, lda, m);
    if (m < 1 || m > n) return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dsyevr wants %lld of %lld", (long long)m,
                                             (long long)n);
    lapack_int found = 0, *isuppz = calloc((size_t)(2 * m), sizeof *isuppz);
    if (!isuppz) return dcx_set_error(DCX_ERR_NOMEM, "out of memory (dsyevr)");
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', (lapack_int)n, a, (lapack_int)lda, 0.0, 0.0,
                                     (lapack_int)(n - m + 1), (lapack_int)n, 0.0, &found, w, z, (lapack_int)n,
                                     isuppz);
    free(isuppz);
    if (info < 0) return dcx_set_error(DCX_ERR_INTERNAL, "internal error: dsyevr argument %d", (int)-info);
    if (info > 0 || found != m)
        return dcx_set_error(DCX_ERR_NUMERIC, "eigen-decomposition did not converge (dsyevr info %d)", (int)info);
    return DCX_OK;
}
