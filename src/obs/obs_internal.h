/* obs_internal.h — private helpers shared by the observables in src/obs/
 * (k-means, PCA reduction, cell fits, complexity, patterns). */
#ifndef DEEPCX_OBS_INTERNAL_H
#define DEEPCX_OBS_INTERNAL_H

#include "../internal.h"

/* k-means on a contiguous row-major double matrix x (n, d); see kmeans.h.
 * The caller owns *out (dcx_kmeans_free). Arguments are validated. */
dcx_status dcx__kmeans_f64(const double *x, int64_t n, int64_t d, const dcx_kmeans_params *p,
                           dcx_kmeans_result **out);

/* One k-means restart (kmeans.c): k-means++ seeding from the stream
 * dcx_rng_seed_stream(seed, restart), then Lloyd iterations. xsq (n) holds
 * the squared row norms of x (dcx__row_norms). A deterministic computation
 * of its arguments alone: restarts may run in any thread. On success the run
 * owns labels (n), centres (k, d) and sizes (k); free with dcx__km_run_free
 * (also harmless on a zeroed run). trace may be NULL. */
typedef struct dcx__km_run {
    int64_t *labels;
    double *centres;
    int64_t *sizes;
    double inertia;
    int iterations, converged;
} dcx__km_run;
dcx_status dcx__kmeans_restart(const double *x, const double *xsq, int64_t n, int64_t d, int64_t k, int max_iter,
                               uint64_t seed, int restart, dcx_kmeans_trace_fn trace, void *trace_ctx,
                               dcx__km_run *run);
void dcx__km_run_free(dcx__km_run *run);
void dcx__row_norms(const double *x, int64_t n, int64_t d, double *out);

/* Copy a float32/float64 matrix into a new contiguous double buffer
 * (rows*cols), checking that every value is finite; `what` names the matrix
 * in messages. The caller frees *out. */
dcx_status dcx__matrix_to_f64(const dcx_matrix *m, const char *what, double **out);

/* Rows i0..i0+rows−1 of m as double into dst (rows, m->cols). */
void dcx__load_rows_f64(const dcx_matrix *m, int64_t i0, int64_t rows, double *dst);
/* DCX_ERR_NUMERIC naming the first NaN/Inf of a (rows, cols), whose row 0 is
 * row i0 of the matrix `what`. */
dcx_status dcx__check_finite_rows(const double *a, int64_t i0, int64_t rows, int64_t cols, const char *what);

/* PCA reduction (pca.c): centre the columns of x (n, d; float32 or
 * float64, read in blocks of rows, never copied whole) and project them on
 * the top r principal components, with
 *   r = min(d, rmax, smallest r whose eigenvalues keep >= keep of the variance).
 * *z (n, r) is new (caller frees); *var_kept is the kept fraction. `what`
 * names x in messages. DCX_ERR_NUMERIC on NaN/Inf, DCX_ERR_DEGENERATE when x
 * has zero variance. */
dcx_status dcx__pca_reduce(const dcx_matrix *x, const char *what, int64_t rmax, double keep, double **z,
                           int64_t *r, double *var_kept);

/* Cell-wise affine ridge fits (cellfit.c). For samples i with cell[i] in
 * [0, k) and fold[i] in {0, 1}: in each cell, fit y ≈ W x + b on the cell's
 * samples of one fold and predict the cell's samples of the other fold; the
 * ridge is ρ = 1e-6 · trace(XcᵀXc)/r with Xc the training part centred
 * within itself (the intercept is not penalised). A training part with fewer
 * than r + 2 samples predicts its mean of y (the mean `ybar_global` (dy) when
 * empty). z (n, r), y (n, dy) row-major. The columns of y form ng groups
 * [goff[g], goff[g+1]) (several outputs sharing one input: the X side of
 * every fit is done once); sse[g] = Σ_i Σ_{j in g} (y_ij − ŷ_ij)², each
 * summed in the same order as if its group were alone. */
dcx_status dcx__cell_fit_sse(const double *z, int64_t n, int64_t r, const double *y, int64_t dy,
                             const int64_t *goff, int ng, const int64_t *cell, int64_t k, const unsigned char *fold,
                             const double *ybar_global, double *sse);

/* Entropy −Σ (c_i/N) ln(c_i/N) of counts c (m entries, sum N; zeros skipped). */
double dcx__entropy_counts(const int64_t *c, int64_t m, int64_t total);

#endif
