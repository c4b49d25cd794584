/* deepcx/dist.h — the processes of a distributed computation.
 *
 * A dcx_dist is a group of P processes (ranks 0 … P−1) that each hold a
 * contiguous block of the rows of one matrix (dcx_source_slice,
 * dcx_split_rows) and combine their partial statistics with a few
 * collective operations: sums (all-reduce), a broadcast, a gather to rank 0,
 * and the agreement on a status. In a build with MPI (CMake option
 * DEEPCX_MPI, `make MPI=1`) dcx_dist_world() wraps MPI_COMM_WORLD; without
 * MPI it is a single process and every collective is the identity, so the
 * observables run the same code in both builds. A NULL dcx_dist is the
 * single process too.
 *
 * The library never calls MPI_Init or MPI_Finalize: the program does
 * (the deepcx CLI in main.c). Every collective must be called by all ranks
 * in the same order; a rank that failed locally calls dcx_dist_agree before
 * the next collective so that all ranks stop together. */
#ifndef DEEPCX_DIST_H
#define DEEPCX_DIST_H

#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_dist dcx_dist; /* opaque */

/* 1 when the library was built with MPI. */
int dcx_dist_has_mpi(void);

/* All processes of the program (MPI_COMM_WORLD; in a build without MPI, or
 * when MPI was not initialised, a single process). Caller owns *out
 * (dcx_dist_free). DCX_ERR_NOMEM. */
dcx_status dcx_dist_world(dcx_dist **out);

/* NULL is a harmless no-op. Does not finalise MPI. */
void dcx_dist_free(dcx_dist *d);

/* Rank in [0, size) and number of processes; NULL gives 0 and 1. */
int dcx_dist_rank(const dcx_dist *d);
int dcx_dist_size(const dcx_dist *d);

/* In-place sums over all ranks of x[0..n): afterwards every rank holds the
 * same totals. The sum is taken in a fixed order for a given P (MPI's
 * reduction), so all ranks get bitwise the same values. */
dcx_status dcx_dist_sum_f64(const dcx_dist *d, double *x, int64_t n);
dcx_status dcx_dist_sum_i64(const dcx_dist *d, int64_t *x, int64_t n);

/* Copy x[0..n) of rank `root` to every rank. */
dcx_status dcx_dist_bcast_f64(const dcx_dist *d, double *x, int64_t n, int root);
dcx_status dcx_dist_bcast_i64(const dcx_dist *d, int64_t *x, int64_t n, int root);

/* Gather x[0..n) of every rank at rank 0, concatenated in rank order: at
 * rank 0 *all is a new array (caller frees; at least one element allocated)
 * of *nall values; at the other ranks *all = NULL and *nall = 0.
 * DCX_ERR_ARG when the total exceeds 2^31−1 values. */
dcx_status dcx_dist_gather_u64(const dcx_dist *d, const uint64_t *x, int64_t n, uint64_t **all, int64_t *nall);

/* Collective agreement on the status `st` of each rank's local work: when
 * every rank passes DCX_OK it returns DCX_OK; otherwise it returns, on every
 * rank, the status of the lowest failing rank with that rank's error
 * message recorded (dcx_last_error), so that rank 0 can report it. */
dcx_status dcx_dist_agree(const dcx_dist *d, dcx_status st);

#ifdef __cplusplus
}
#endif
#endif
