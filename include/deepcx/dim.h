/* deepcx/dim.h — effective dimension of a feature representation.
 *
 * For an activation matrix A (N samples x D units) with centred columns and
 * covariance C = AᵀA/(N−1), eigenvalues λ_1 ≥ … ≥ λ_D ≥ 0 and
 * p_i = λ_i / Σ_j λ_j:
 *   D_eff = exp(H),  H = −Σ p_i ln p_i        (Janik & Witaszczyk, arXiv:2006.04791)
 *   PR    = (Σ λ)² / Σ λ²                      participation ratio
 *   n90, n99: fewest leading components holding 90 % / 99 % of the variance
 *   α: least-squares slope of ln λ_n = c − α ln n over a rank window
 * and the local effective dimension: D_eff of the k nearest samples of
 * seeded anchors, for a ladder of k. docs/observables.md §1 has the details.
 *
 * The covariance is accumulated in double from a dcx_source in row blocks, so
 * the global observables never hold the matrix (memory O(D² + block·D)). The
 * local ladder needs the whole matrix in memory (as float32). */
#ifndef DEEPCX_DIM_H
#define DEEPCX_DIM_H

#include <stdint.h>

#include "core.h"
#include "dist.h"
#include "io.h"
#include "matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- covariance ---- */

/* Covariance of the rows of `src`, read from its current position to the end
 * in blocks of `block_rows` rows (<= 0: automatic, a few thousand rows within
 * ~16 MiB). Single pass with a shift: the column means m0 of the first block
 * are subtracted before accumulating S = Σ (x−m0)(x−m0)ᵀ and s = Σ (x−m0);
 * then C = (S − s sᵀ/n)/(n−1). A helper thread reads the next block while
 * one is accumulated (peak memory: D² + 2·block·D doubles). On success *cov is a new D x D float64 matrix
 * (full, symmetric) and, if mean != NULL, *mean a new 1 x D float64 matrix;
 * the caller owns both (dcx_matrix_free). *n_out (may be NULL) = rows read.
 * progress (may be NULL) is called with stage "covariance" per block.
 * Errors: DCX_ERR_DEGENERATE when fewer than 2 rows; read errors of the
 * source (DCX_ERR_FORMAT, DCX_ERR_NUMERIC, ...); DCX_ERR_NOMEM. */
dcx_status dcx_covariance(dcx_source *src, int64_t block_rows, dcx_progress_fn progress, void *progress_ctx,
                          dcx_matrix **cov, dcx_matrix **mean, int64_t *n_out);

/* ---- channels mode for conv activations ---- */

/* A source presenting each row of `inner` (N x C·H·W, C-order, channel-major
 * as PyTorch flattens NCHW) as H·W rows of C values: the result has N·H·W rows
 * and C columns; row r·H·W + (h·W + w) holds the C channels at position (h, w)
 * of sample r. Streaming: reads `inner` one row at a time as needed.
 * On success the new source owns `inner` (dcx_source_free frees both); on
 * failure the caller still owns it. DCX_ERR_ARG when C·H·W differs from the
 * columns of `inner` or a dimension is < 1. */
dcx_status dcx_source_channels(dcx_source *inner, int64_t c, int64_t h, int64_t w, dcx_source **out);

/* ---- effective dimension ---- */

typedef enum dcx_dim_route {
    DCX_DIM_ROUTE_AUTO = 0, /* Gram when N < D, covariance otherwise */
    DCX_DIM_ROUTE_COV = 1,  /* D x D covariance, streamed in row blocks */
    DCX_DIM_ROUTE_GRAM = 2  /* N x N Gram matrix of the centred rows (reads all rows) */
} dcx_dim_route;

typedef struct dcx_dim_params {
    int64_t block_rows;     /* covariance pass block (rows); <= 0: automatic */
    dcx_dim_route route;    /* default DCX_DIM_ROUTE_AUTO */
    int64_t rank_lo;        /* α window [rank_lo, rank_hi] (1-based ranks); */
    int64_t rank_hi;        /* both 0 (default): [2, ⌊r/2⌋], r = numerical rank */
    int keep_spectrum;      /* 1: return the eigenvalues in the result (default 0) */
    /* local effective dimension */
    const int64_t *local_k; /* ladder of k (borrowed, copied into the result); */
    int n_local;            /* n_local == 0: no local ladder (default) */
    int local_auto;         /* 1: the default ladder 16, 32, 64, … < N, then N */
    int64_t anchors;        /* M, number of anchors; <= 0: min(N, 500) */
    double local_work;      /* bound on the floating-point work per ladder rung;
                               0: default 3e10; < 0: unbounded (all M anchors) */
    int64_t local_min_anchors; /* the work bound never goes below this (default 8) */
    uint64_t seed;          /* anchor choice (default 0) */
    dcx_progress_fn progress; /* may be NULL; stages "covariance", "neighbours", "local dimension" */
    void *progress_ctx;
    const dcx_dist *dist;   /* distributed run (borrowed): src holds this rank's
                               rows; NULL (default): one process */
} dcx_dim_params;

/* Fill *p with the defaults above. */
void dcx_dim_params_default(dcx_dim_params *p);

typedef struct dcx_dim_alpha {
    int available;   /* 0 when the default window holds fewer than 3 ranks (r < 8) */
    double value;    /* α: λ_n ∝ n^−α */
    double se;       /* standard error of α */
    double r2;       /* R² of the log–log fit */
    int64_t lo, hi;  /* the window used (1-based ranks, inclusive) */
} dcx_dim_alpha;

typedef struct dcx_dim_local {
    int64_t k;       /* neighbourhood size (itself included) */
    double mean, median, std; /* over anchors; std with n−1 (0 for one anchor) */
    int64_t anchors; /* anchors whose value is in the statistics */
    int64_t skipped; /* anchors whose k neighbours have zero variance (excluded) */
} dcx_dim_local;

typedef struct dcx_dim_result {
    int64_t n, d;          /* samples and units analysed (channels mode: N·H·W and C) */
    dcx_dim_route route;   /* route used: COV or GRAM */
    double total_variance; /* Σ λ = trace C */
    double entropy;        /* H */
    double deff;           /* exp(H) */
    double pr;             /* participation ratio */
    int64_t n90, n99;
    int64_t rank;          /* r = number of eigenvalues > 1e-12 λ_1 */
    dcx_dim_alpha alpha;
    double *spectrum;      /* (n_spectrum) descending, if keep_spectrum; else NULL */
    int64_t n_spectrum;    /* min(N, D) with the Gram route, D with the covariance route */
    dcx_dim_local *local;  /* (n_local), ladder order */
    int n_local;
} dcx_dim_result;

/* Effective dimension of the rows of `src` (from its current position; the
 * source is rewound and read again when a local ladder is asked for).
 * Distributed (p->dist with P > 1 ranks; collective): each rank passes the
 * source of its own contiguous block of rows (dcx_source_slice), every rank
 * receives the result for all rows. Only the covariance route is
 * distributed: DCX_ERR_ARG for a local ladder or for N < D (the Gram route
 * needs all rows in one process).
 * p may be NULL for the defaults. On success the caller owns *out
 * (dcx_dim_result_free). Errors: DCX_ERR_DEGENERATE for fewer than 2
 * samples or all-zero variance ("zero variance: effective dimension
 * undefined"); DCX_ERR_ARG for an invalid rank window (hi > r, fewer than 3
 * ranks, lo < 1) or ladder (k < 2 or k > N); read errors of the source. */
dcx_status dcx_dim_compute(dcx_source *src, const dcx_dim_params *p, dcx_dim_result **out);

/* The spectral observables (D_eff, PR, n90, n99, rank, α) of eigenvalues
 * `eig` (m values, any order, negatives are clipped to 0). The result has
 * n = d = 0 and no local ladder; the spectrum is kept if p->keep_spectrum. */
dcx_status dcx_dim_from_spectrum(const double *eig, int64_t m, const dcx_dim_params *p, dcx_dim_result **out);

/* Local effective dimension of the rows of the in-memory matrix x (N x D,
 * float32 or float64) for the ladder ks[0..nk) (2 <= k <= N); out has nk
 * entries filled by the function. Uses p->anchors, local_work,
 * local_min_anchors, seed, progress. */
dcx_status dcx_dim_local_ladder(const dcx_matrix *x, const int64_t *ks, int nk, const dcx_dim_params *p,
                                dcx_dim_local *out);

/* The default ladder for n samples: 16, 32, 64, … below n, then n (just n
 * when n <= 16). Writes at most max values into ks; returns the count. */
int dcx_dim_default_ladder(int64_t n, int64_t *ks, int max);

/* Free a result. NULL is a harmless no-op. */
void dcx_dim_result_free(dcx_dim_result *r);

#ifdef __cplusplus
}
#endif
#endif
