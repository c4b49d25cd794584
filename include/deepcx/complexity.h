/* deepcx/complexity.h — complexity of a computation X → Y (docs/observables.md §2).
 *
 * The nonlinearity of the map from inputs X (N x d_x) to outputs Y (N x d_y)
 * is measured at a ladder of scales K = 1, 2, 4, … : the inputs are cut into
 * K k-means cells, one affine map is fitted per cell (2-fold cross-validated
 * ridge), and
 *     η(K) = Σ_i ‖y_i − ŷ_i‖² / Σ_i ‖y_i − ȳ‖²      (out-of-fold predictions)
 *     H(K) = −Σ_k (n_k/N) ln(n_k/N)                  (entropy of the partition)
 *     C(ε) = H(K*),  K* = smallest ladder K with η(K) <= ε
 *     ln η(K) = c − γ ln K  (fit over K >= 2, η > 1e-9), nonlinearity dim 4/γ.
 *
 * This is deepcx's own precise construction of the entropic, scale-dependent
 * complexity notion of Janik & Witaszczyk (arXiv:2006.04791), not the
 * paper's exact procedure. The steps:
 *   1. centre X and project it on its top r principal components,
 *      r = min(d_x, rmax, smallest r keeping >= var_keep of the variance);
 *      centre Y (not reduced);
 *   2. split the samples in 2 folds at random (seeded) unless `folds` given;
 *   3. ladder K = 1, 2, 4, … <= K_max = min(kmax, ⌊N / (4(r+1))⌋);
 *   4. k-means (k-means++, Lloyd, best of `restarts`) on the reduced X of all
 *      samples, seeded from stream 1000 + log2(K) of the seed;
 *   5. per cell and fold: ridge affine fit, ρ = 1e-6 · trace(XcᵀXc)/r where
 *      Xc is the cell's training part of reduced X centred within itself (the
 *      intercept is not penalised); predict the other fold. A training part
 *      with fewer than r + 2 samples predicts its own mean of y (the global
 *      mean of y when empty).
 * The work runs as independent tasks on dcx_get_threads() threads with
 * single-threaded BLAS inside: the same seed gives identical results for any
 * thread count.
 * Distributed (params.dist with P > 1 ranks; every call collective): each
 * rank passes its own block of rows of X and Y (dcx_source_slice,
 * dcx_split_rows), and every statistic is summed over the ranks — the
 * means and scatter of the PCA, the centre sums and sizes of each k-means
 * iteration (k-means++ draws from the same streams on every rank, the rank
 * holding a drawn row sends it), the per-cell, per-fold sums of the fits
 * and the squared errors. The folds depend on (seed, row index) only, so
 * the result is that of one process on all rows up to the rounding of the
 * sums (the tasks then run one after the other on each rank). Every rank
 * gets the whole result. A wide X (N < d_x) is reduced through the N x N Gram matrix
 * instead of the d_x x d_x scatter (docs/observables.md §2, "Cost"); it
 * needs all rows in one process (DCX_ERR_ARG when distributed). */
#ifndef DEEPCX_COMPLEXITY_H
#define DEEPCX_COMPLEXITY_H

#include <stdint.h>

#include "core.h"
#include "dist.h"
#include "io.h"
#include "matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DCX_COMPLEXITY_MAX_EPS 16

typedef struct dcx_complexity_params {
    double eps[DCX_COMPLEXITY_MAX_EPS]; /* tolerances, each in (0, 1] */
    int n_eps;               /* default 3: {0.1, 0.05, 0.01} */
    int64_t kmax;            /* largest K allowed, >= 1; default 256 */
    int64_t rmax;            /* largest PCA rank of X, >= 1; default 64 */
    double var_keep;         /* variance fraction kept, in (0, 1]; default 0.999 */
    int restarts;            /* k-means restarts, >= 1; default 3 */
    int max_iter;            /* Lloyd iterations, >= 1; default 100 */
    uint64_t seed;           /* default 0 */
    const unsigned char *folds; /* optional (N) fold 0/1 of each sample, all N samples
                                   also when distributed; NULL: random (borrowed,
                                   read during the call only) */
    int64_t scratch_mb;         /* the reduced X and centred Y of this process's rows,
                                   (rows, r + d_y) doubles, stay in memory up to this
                                   many MiB, beyond it in an unlinked scratch file in
                                   $TMPDIR (default /tmp) mapped into memory; default
                                   (and 0) 4096; negative: always the file */
    const dcx_dist *dist;       /* distributed run (borrowed; NULL: one process):
                                   x and ys hold this rank's rows, the ranks'
                                   blocks consecutive in rank order */
    dcx_progress_fn progress;   /* optional: called once per ladder rung */
    void *progress_ctx;
} dcx_complexity_params;

/* The defaults listed above. */
void dcx_complexity_params_default(dcx_complexity_params *p);

typedef struct dcx_complexity_rung {
    int64_t k;         /* ladder scale K */
    double eta;        /* η(K) */
    double entropy;    /* H(K), nats; exp(H) = effective number of pieces */
    double inertia;    /* k-means inertia on the reduced X (0 for K = 1) */
    int64_t min_cell;  /* smallest cell size */
} dcx_complexity_rung;

typedef struct dcx_complexity_level {
    double eps;
    double value;      /* C(ε) = H(K*), or H(K_last) as a lower bound */
    int reached;       /* 1: some ladder K has η(K) <= ε */
    int64_t k;         /* K*, or the last ladder K when not reached */
} dcx_complexity_level;

typedef struct dcx_complexity_result {
    int64_t n, dx, dy;
    int64_t r;              /* PCA rank used for X */
    double var_kept;        /* fraction of X's variance kept by the r components */
    int64_t kmax_rule;      /* min(kmax, ⌊N / (4(r+1))⌋) */
    int n_ladder;
    dcx_complexity_rung *ladder; /* (n_ladder) K = 1, 2, 4, … */
    double eta1;            /* η(1): cross-validated 1 − R² of one affine map */
    int n_eps;
    dcx_complexity_level *levels; /* (n_eps) in the order given */
    int gamma_ok;           /* 1 when γ could be fitted (>= 2 usable rungs) */
    double gamma, gamma_stderr, gamma_r2;
    int64_t gamma_points;   /* rungs used in the fit */
    double nonlinearity_dim; /* 4/γ; NaN when γ is unavailable or <= 0 */
    unsigned char *folds;   /* (n) fold of each sample */
} dcx_complexity_result;

/* Complexity of the map x → y (rows paired; float32 or float64).
 * Fails with DCX_ERR_ARG (row counts differ, eps outside (0, 1], kmax < 1,
 * rmax < 1, bad fold vector, …), DCX_ERR_DEGENERATE (Y or X of zero variance,
 * too few samples for K = 2: the message says how many are needed),
 * DCX_ERR_NUMERIC (NaN/Inf), DCX_ERR_NOMEM. The caller owns *out and frees
 * it with dcx_complexity_free. */
dcx_status dcx_complexity(const dcx_matrix *x, const dcx_matrix *y, const dcx_complexity_params *p,
                          dcx_complexity_result **out);

/* The same measurement reading X and Y from sources (this rank's rows when
 * distributed: dcx_source_slice), in blocks of rows: X is read three times
 * (means, scatter, projection: the source is rewound for each) and never
 * held whole, Y once. What is kept is the reduced X and the centred Y,
 * (rows, r + d_y) doubles (in a scratch file beyond params.scratch_mb), and
 * O(rows) numbers per k-means task. Read
 * errors of the sources (NaN/Inf, truncated files) are returned as the
 * source reports them, naming the file. Otherwise as dcx_complexity. */
dcx_status dcx_complexity_source(dcx_source *x, dcx_source *y, const dcx_complexity_params *p,
                                 dcx_complexity_result **out);

/* The complexity of several maps x → ys[i] with the same input x (e.g. the
 * input of a network to each of its layers), in one go: the PCA reduction of
 * x, the folds and the k-means ladder are computed once, and the X side of
 * every cell fit is shared; the outputs only add their own fits. out[i]
 * (ny entries, filled by the call) is the same result as
 * dcx_complexity(x, ys[i], p) up to rounding (~1e-15). A ys[i] of zero
 * variance does not fail the call: out[i] is then NULL (η is undefined for
 * it). The call fails as dcx_complexity does for every other problem (bad
 * arguments, NaN/Inf in x or any ys[i] (named "Y[i]"), x of zero variance,
 * too few samples), with every out[i] NULL. The progress callback is called
 * as by dcx_complexity. The caller owns and frees each out[i]. */
dcx_status dcx_complexity_multi(const dcx_matrix *x, const dcx_matrix *const *ys, int ny,
                                const dcx_complexity_params *p, dcx_complexity_result **out);

/* NULL is a harmless no-op. */
void dcx_complexity_free(dcx_complexity_result *r);

#ifdef __cplusplus
}
#endif
#endif
