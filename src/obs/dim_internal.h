/* dim_internal.h — private helpers of the effective-dimension modules
 * (cov.c, spectrum.c, dim.c, localdim.c). Not part of the API. */
#ifndef DEEPCX_DIM_INTERNAL_H
#define DEEPCX_DIM_INTERNAL_H

#include "../internal.h"
#include "deepcx/dim.h"

/* Shifted single-pass covariance accumulator (cov.c).
 *   shift  m0 = column means of the first block added
 *   sum    s  = Σ (x − m0)                (d)
 *   s      S  = Σ (x − m0)(x − m0)ᵀ       (d, d), upper triangle (row-major)
 * C = (S − s sᵀ/n)/(n − 1); mean = m0 + s/n. Subtracting a representative
 * shift first keeps S − s sᵀ/n free of catastrophic cancellation when the
 * means are large compared with the spread. */
typedef struct dcx__covacc {
    int64_t d, n;
    double *shift; /* (d) */
    double *sum;   /* (d) */
    double *s;     /* (d, d) */
    int owns_s;
} dcx__covacc;

/* s_buf: a d x d buffer to use for S (borrowed), or NULL to allocate one. */
dcx_status dcx__covacc_init(dcx__covacc *a, int64_t d, double *s_buf);
/* Forget the rows added so far (keeps the buffers). */
void dcx__covacc_reset(dcx__covacc *a);
/* Add `rows` rows of x (rows, ld) — x is modified (shifted in place). */
dcx_status dcx__covacc_add(dcx__covacc *a, double *x, int64_t rows, int64_t ld);
/* The pieces of covacc_add, for callers that overlap them: the shift from
 * a block (column means), shifting a block in place while adding its column
 * sums to sum (d), and S += xᵀx with n += rows. */
void dcx__covacc_set_shift(dcx__covacc *a, const double *x, int64_t rows, int64_t ld);
void dcx__covacc_shift_block(const dcx__covacc *a, double *x, int64_t rows, int64_t ld, double *sum);
dcx_status dcx__covacc_syrk(dcx__covacc *a, const double *x, int64_t rows, int64_t ld);
/* Turn S in place into the full symmetric covariance (needs n >= 2); mean
 * (d, may be NULL) receives the column means. Afterwards only reset/free. */
void dcx__covacc_finish(dcx__covacc *a, double *mean);
void dcx__covacc_free(dcx__covacc *a);

/* dcx_covariance over the rows of all ranks of `dist` (NULL: one process):
 * each rank passes its own block of rows in src; every rank receives the
 * same covariance of all rows and *n_out = the total row count. Collective. */
dcx_status dcx__covariance_dist(dcx_source *src, int64_t block_rows, dcx_progress_fn progress, void *progress_ctx,
                                const dcx_dist *dist, dcx_matrix **cov, dcx_matrix **mean, int64_t *n_out);

/* Centre the n rows of x (n, ld) in place (shift by row 0, then subtract the
 * means) and write the upper triangle of the Gram matrix x xᵀ/(n−1) into
 * g (n, n). n >= 2. */
dcx_status dcx__gram_centred(double *x, int64_t n, int64_t d, int64_t ld, double *g);

/* Eigenvalues of the symmetric (m, m) matrix a (upper triangle used; a is
 * destroyed) into w (m), in descending order, negatives clipped to 0. */
dcx_status dcx__eig_desc(double *a, int64_t m, double *w);

/* exp(−Σ p ln p) of the non-negative values w (m); DCX_ERR_DEGENERATE (no
 * message recorded) when their sum is 0. */
dcx_status dcx__deff(const double *w, int64_t m, double *deff, double *entropy);

/* Default block of rows for d columns: about 16 MiB of doubles, within
 * [64, 4096] rows. */
int64_t dcx__cov_block_rows(int64_t d);

#endif
