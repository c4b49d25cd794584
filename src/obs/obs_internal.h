/* obs_internal.h — private helpers shared by the observables in src/obs/
 * (k-means, PCA reduction, cell fits, complexity, patterns). */
#ifndef DEEPCX_OBS_INTERNAL_H
#define DEEPCX_OBS_INTERNAL_H

#include "../internal.h"

/* k-means on a contiguous row-major double matrix x (n, d); see kmeans.h.
 * The caller owns *out (dcx_kmeans_free). Arguments are validated. */
dcx_status dcx__kmeans_f64(const double *x, int64_t n, int64_t d, const dcx_kmeans_params *p,
                           dcx_kmeans_result **out);

/* Copy a float32/float64 matrix into a new contiguous double buffer
 * (rows*cols), checking that every value is finite; `what` names the matrix
 * in messages. The caller frees *out. */
dcx_status dcx__matrix_to_f64(const dcx_matrix *m, const char *what, double **out);

/* PCA reduction (pca.c): centre the columns of x (n, d) in place and project
 * them on the top r principal components, with
 *   r = min(d, rmax, smallest r whose eigenvalues keep >= keep of the variance).
 * *z (n, r) is new (caller frees); *var_kept is the kept fraction.
 * DCX_ERR_DEGENERATE when x has zero variance. */
dcx_status dcx__pca_reduce(double *x, int64_t n, int64_t d, int64_t rmax, double keep, double **z,
                           int64_t *r, double *var_kept);

/* Cell-wise affine ridge fits (cellfit.c). For samples i with cell[i] in
 * [0, k) and fold[i] in {0, 1}: in each cell, fit y ≈ W x + b on the cell's
 * samples of one fold and predict the cell's samples of the other fold; the
 * ridge is ρ = 1e-6 · trace(XcᵀXc)/r with Xc the training part centred
 * within itself (the intercept is not penalised). A training part with fewer
 * than r + 2 samples predicts its mean of y (the mean `ybar_global` (dy) when
 * empty). Returns Σ_i ‖y_i − ŷ_i‖² in *sse. z (n, r), y (n, dy) row-major. */
dcx_status dcx__cell_fit_sse(const double *z, int64_t n, int64_t r, const double *y, int64_t dy,
                             const int64_t *cell, int64_t k, const unsigned char *fold,
                             const double *ybar_global, double *sse);

/* Entropy −Σ (c_i/N) ln(c_i/N) of counts c (m entries, sum N; zeros skipped). */
double dcx__entropy_counts(const int64_t *c, int64_t m, int64_t total);

#endif
