/* deepcx/kmeans.h — k-means clustering (k-means++ seeding, Lloyd iterations).
 *
 * Minimises the inertia J = Σ_i ‖x_i − c_{l(i)}‖² over labels l and centres c.
 * Each restart is seeded by k-means++ (greedy variant: 2 + ⌊ln k⌋ candidates
 * drawn ∝ D², the one lowering the potential most is kept), then Lloyd
 * iterations run until no assignment changes or max_iter iterations
 * (accelerated by Hamerly's distance bounds, which skip only distances that
 * cannot change an assignment).
 * Squared distances are computed as ‖x‖² − 2 x·c + ‖c‖² by a vectorised
 * kernel (several points against all centres stored transposed; a baseline
 * x86-64 build and an AVX2+FMA build chosen at run time, which may differ
 * in the last bits between machines, never between runs or thread counts
 * on one machine). A cluster that becomes empty receives the point farthest from its
 * centre (among clusters holding more than one point). The restart with the
 * lowest inertia wins (ties: the lower restart index).
 *
 * Restart q draws from its own stream dcx_rng_seed_stream(seed, q), so the
 * result does not depend on the order or the threads in which restarts run.
 * The restarts run in parallel on dcx_get_threads() threads (sequentially
 * in the calling thread when a trace function is given), each with
 * single-threaded BLAS: the same seed gives identical results for any thread
 * count. */
#ifndef DEEPCX_KMEANS_H
#define DEEPCX_KMEANS_H

#include <stdint.h>

#include "core.h"
#include "matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called after each Lloyd assignment step with the inertia of the new
 * assignment against the centres it was made with (the sequence is
 * non-increasing within a restart). iter counts from 0. */
typedef void (*dcx_kmeans_trace_fn)(void *ctx, int restart, int iter, double inertia);

typedef struct dcx_kmeans_params {
    int64_t k;        /* number of clusters, 1 <= k <= n */
    int restarts;     /* default 3 */
    int max_iter;     /* Lloyd iterations per restart, default 100 */
    uint64_t seed;    /* default 0 */
    dcx_kmeans_trace_fn trace; /* optional, NULL */
    void *trace_ctx;
} dcx_kmeans_params;

/* k = 1, restarts = 3, max_iter = 100, seed = 0, no trace. */
void dcx_kmeans_params_default(dcx_kmeans_params *p);

typedef struct dcx_kmeans_result {
    int64_t n, d, k;
    int64_t *labels;   /* (n) cluster of each sample, in [0, k) */
    double *centres;   /* (k, d) mean of each cluster */
    int64_t *sizes;    /* (k) samples per cluster; all > 0 */
    double inertia;    /* Σ ‖x_i − c_{l(i)}‖², computed directly */
    int iterations;    /* Lloyd iterations of the winning restart */
    int converged;     /* 1: assignments were stable before max_iter */
    int best_restart;  /* index of the winning restart */
} dcx_kmeans_result;

/* Cluster the rows of x (n x d, float32 or float64). Fails with DCX_ERR_ARG
 * (k < 1, k > n, restarts < 1, max_iter < 1), DCX_ERR_NUMERIC (NaN/Inf in x),
 * DCX_ERR_NOMEM. The caller owns *out and frees it with dcx_kmeans_free. */
dcx_status dcx_kmeans(const dcx_matrix *x, const dcx_kmeans_params *p, dcx_kmeans_result **out);

/* NULL is a harmless no-op. */
void dcx_kmeans_free(dcx_kmeans_result *r);

#ifdef __cplusplus
}
#endif
#endif
