/* obs_internal.h — private helpers shared by the observables in src/obs/
 * (k-means, PCA reduction, cell fits, complexity, patterns). */
#ifndef DEEPCX_OBS_INTERNAL_H
#define DEEPCX_OBS_INTERNAL_H

#include "../internal.h"

/* The rows of a distributed computation (rows.c): the ranks of `dist` hold
 * consecutive blocks of the n global rows in rank order; this rank holds
 * [row0, row0 + nloc), rank q starts at off[q] (off has size + 1 entries).
 * A NULL dist is one process holding all rows. */
typedef struct dcx__rows {
    const dcx_dist *dist;
    int rank, size;
    int64_t n, nloc, row0;
    int64_t *off;
} dcx__rows;
/* Collective: every rank passes its row count. Free with dcx__rows_free. */
dcx_status dcx__rows_init(const dcx_dist *dist, int64_t nloc, dcx__rows *rows);
void dcx__rows_free(dcx__rows *rows);
/* The rank holding global row g (0 <= g < n). */
int dcx__rows_owner(const dcx__rows *rows, int64_t g);

/* k-means on a contiguous row-major double matrix x (n, d); see kmeans.h.
 * The caller owns *out (dcx_kmeans_free). Arguments are validated. */
dcx_status dcx__kmeans_f64(const double *x, int64_t n, int64_t d, const dcx_kmeans_params *p,
                           dcx_kmeans_result **out);

/* One k-means restart (kmeans.c): k-means++ seeding from the stream
 * dcx_rng_seed_stream(seed, restart), then Lloyd iterations. x (n, d) holds
 * this rank's rows->nloc = n rows of all rows->n; xsq (n) their squared
 * norms (dcx__row_norms). Distributed (rows->size > 1) the restart is
 * collective: the ranks draw the same random numbers, sum the centre sums
 * and sizes of each iteration, and the rank holding a drawn row sends it;
 * the result is that of one process holding all rows, up to the rounding of
 * the sums. A deterministic computation of its arguments alone: restarts
 * may run in any thread (one process; distributed, one restart at a time).
 * On success the run owns labels (n, this rank's rows), centres (k, d) and
 * sizes (k, over all rows); free with dcx__km_run_free (also harmless on a
 * zeroed run). trace may be NULL. The per-point state (labels and two
 * bounds, 24 bytes) is allocated with dcx__big_calloc(…, scratch): in a
 * scratch file when scratch is set; everything else is O(k·d). x32 (may
 * be NULL): the float form of the same points (dcx__km_floats_fill), for
 * the faster float distances of the assignments (the labels are those of
 * the double distances). */
typedef struct dcx__km_run {
    int64_t *labels; /* a dcx__big_calloc buffer when labels_big */
    int labels_big;
    double *centres;
    int64_t *sizes;
    double inertia;
    int iterations, converged;
} dcx__km_run;
dcx_status dcx__kmeans_restart(const double *x, const float *x32, const double *xsq, const dcx__rows *rows, int64_t d,
                               int64_t k, int max_iter, uint64_t seed, int restart, int scratch,
                               dcx_kmeans_trace_fn trace, void *trace_ctx, dcx__km_run *run);
void dcx__km_run_free(dcx__km_run *run);
/* The float form of n points for dcx__kmeans_restart's x32: a buffer of
 * dcx__km_floats_count(n, d) floats, filled from x (n, d) and its squared
 * row norms xsq. */
int64_t dcx__km_floats_count(int64_t n, int64_t d);
void dcx__km_floats_fill(const double *x, const double *xsq, int64_t n, int64_t d, float *buf);
/* The same for rows i0 … i1 − 1 only (buf zeroed before the first call;
 * calls for disjoint rows may run at once on different threads). */
void dcx__km_floats_fill_rows(const double *x, const double *xsq, int64_t n, int64_t d, float *buf, int64_t i0,
                              int64_t i1);
/* Test hook: the baseline and AVX2 builds of the 16-bit kernels (full
 * passes, and the rows of Hamerly's open points) on random panels
 * (seeded), every shape of centre groups and pairs up to 40: 1 when their
 * distances agree bit for bit, and the rows with the panels' values (also
 * when this machine runs the baseline build only), 0 otherwise. */
int dcx__km_panel16_builds_agree(uint64_t seed);
/* Test hook: the k-means assignment path, 0 (the cost model's choice per
 * block, the default), 1 (Hamerly's filter and rows after the first pass)
 * or 2 (full passes always), for every later restart in the process. */
void dcx__km_force_path(int path);
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

/* PCA reduction (pca.c): centre the columns of x (this rank's rows->nloc
 * rows of rows->n, d columns, read from the source in blocks, two passes:
 * the source is rewound for each unless it is small enough to hold) and
 * project them on the top r principal components, with
 *   r = min(d, rmax, smallest r whose eigenvalues keep >= keep of the variance).
 * The means and the scatter are summed over the ranks (collective), rank 0's
 * eigenvectors are used by all. *z (n, r) is new, this rank's rows, in a
 * scratch file when `scratch` (dcx__big_calloc; caller frees with
 * dcx__big_free); *var_kept is the kept fraction. `what` names x in messages.
 * DCX_ERR_NUMERIC on NaN/Inf (global row numbers), DCX_ERR_DEGENERATE when
 * x has zero variance, DCX_ERR_ARG for N < d on more than one rank (the
 * Gram route needs all rows; on one process it reads them whole, N being
 * small); the read errors of the source. hooks (may be NULL; each member
 * may be NULL) let the caller use the PCA's schedule, on the scatter route
 * (not on the Gram route, nor after an error): idle is called once, on the
 * calling thread, when the PCA is about to leave the other cores idle (the
 * eigensolver runs single-threaded; the complexity measure reads Y there);
 * begin_scores once r is known, before any score is made (its error stops
 * the PCA); scores for each block of rows i0 … i0 + m − 1 of z once they
 * are final, on the thread that made them (two at a time: the complexity
 * measure takes their norms and float form there). */
typedef struct dcx__pca_hooks {
    void (*idle)(void *ctx);
    dcx_status (*begin_scores)(void *ctx, int64_t r);
    void (*scores)(void *ctx, const double *z, int64_t i0, int64_t m);
    void *ctx;
} dcx__pca_hooks;
dcx_status dcx__pca_reduce(dcx_source *x, const dcx__rows *rows, const char *what, int64_t rmax, double keep,
                           int scratch, const dcx__pca_hooks *hooks, double **z, int64_t *r, double *var_kept);

/* Cell-wise affine ridge fits (cellfit.c). For samples i with cell[i] in
 * [0, k) and fold[i] in {0, 1}: in each cell, fit y ≈ W x + b on the cell's
 * samples of one fold and predict the cell's samples of the other fold; the
 * ridge is ρ = 1e-6 · trace(XcᵀXc)/r with Xc the training part centred
 * within itself (the intercept is not penalised). A training part with fewer
 * than r + 2 samples predicts its mean of y (the mean `ybar_global` (dy) when
 * empty). z (n, r), y (n, dy) row-major, cell and fold (n): this rank's
 * rows->nloc = n rows. The fits use the sums of every rank's rows (counts,
 * means, centred XᵀX and XᵀY per cell and fold: collective); sse is summed
 * over all rows. The columns of y form ng groups [goff[g], goff[g+1])
 * (several outputs sharing one input: the X side of every fit is done
 * once); sse[g] = Σ_i Σ_{j in g} (y_ij − ŷ_ij)², each summed in the same
 * order as if its group were alone. The per-sample sort index (n) is
 * allocated with dcx__big_calloc(…, scratch). */
/* The outputs of the cell fits, (n, dy) row-major: the centred values y
 * in double (shift NULL), or raw doubles y (read in place from the input,
 * see dcx__source_map_f64) or (y NULL) raw floats yf, with their global
 * means shift: the centred value y − shift or (double)yf − shift is
 * computed where it is read (the same double as a centred copy would hold;
 * no copy, or half the memory and traffic for float data). */
typedef struct dcx__outputs {
    const double *y;
    const float *yf;
    const double *shift;
} dcx__outputs;
dcx_status dcx__cell_fit_sse(const double *z, const dcx__rows *rows, int64_t r, const dcx__outputs *y, int64_t dy,
                             const int64_t *goff, int ng, const int64_t *cell, int64_t k, const unsigned char *fold,
                             const double *ybar_global, int scratch, double *sse);

/* *(T **)out = a zeroed buffer of count elements of `size` bytes
 * (scratch.c): in memory, or (scratch = 1) in an unlinked temporary file in
 * $TMPDIR (default /tmp) mapped into memory. DCX_ERR_NOMEM, DCX_ERR_IO
 * (naming the directory). Free with dcx__big_free only. */
dcx_status dcx__big_calloc(void *out, int64_t count, size_t size, int scratch);
void dcx__big_free(void *p);

/* The random 2-fold split (complexity.c): folds[i] in {0, 1} of the global
 * rows row0 .. row0+n−1 of ntot, a function of (seed, row index, ntot)
 * only: each aligned block of 64 rows is split in half at random. */
void dcx__fold_draw(uint64_t seed, int64_t row0, int64_t n, int64_t ntot, unsigned char *folds);

/* Entropy −Σ (c_i/N) ln(c_i/N) of counts c (m entries, sum N; zeros skipped). */
double dcx__entropy_counts(const int64_t *c, int64_t m, int64_t total);

#endif
