/* dist.c — dcx_dist: the processes of a distributed computation. With MPI
 * (DEEPCX_HAVE_MPI) a thin layer over MPI_COMM_WORLD collectives, split into
 * chunks that fit MPI's int counts; without MPI the trivial single process,
 * where every collective is the identity. The observables call the same
 * functions in both builds. */
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "deepcx/dist.h"

#ifdef DEEPCX_HAVE_MPI
#include <mpi.h>
#endif

struct dcx_dist {
    int rank, size;
};

/* elements per MPI call: counts are ints */
#define CHUNK ((int64_t)1 << 28)

int dcx_dist_has_mpi(void)
{
#ifdef DEEPCX_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

dcx_status dcx_dist_world(dcx_dist **out)
{
    dcx_status st = DCX_OK;
    dcx_dist *d = NULL;
    *out = NULL;
    DCX_ALLOC(d, 1);
    d->rank = 0;
    d->size = 1;
#ifdef DEEPCX_HAVE_MPI
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) {
        MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
        MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    }
#endif
    *out = d;
fail:
    return st;
}

void dcx_dist_free(dcx_dist *d) { free(d); }

int dcx_dist_rank(const dcx_dist *d) { return d ? d->rank : 0; }
int dcx_dist_size(const dcx_dist *d) { return d ? d->size : 1; }

#ifdef DEEPCX_HAVE_MPI
static dcx_status mpi_fail(const char *what, int rc)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return dcx_set_error(DCX_ERR_INTERNAL, "MPI %s failed: %s", what, msg);
}
#endif

dcx_status dcx_dist_sum_f64(const dcx_dist *d, double *x, int64_t n)
{
    if (dcx_dist_size(d) == 1 || n <= 0) return DCX_OK;
#ifdef DEEPCX_HAVE_MPI
    for (int64_t i = 0; i < n; i += CHUNK) {
        int m = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, x + i, m, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail("Allreduce", rc);
    }
#endif
    return DCX_OK;
}

dcx_status dcx_dist_sum_i64(const dcx_dist *d, int64_t *x, int64_t n)
{
    if (dcx_dist_size(d) == 1 || n <= 0) return DCX_OK;
#ifdef DEEPCX_HAVE_MPI
    for (int64_t i = 0; i < n; i += CHUNK) {
        int m = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, x + i, m, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail("Allreduce", rc);
    }
#endif
    return DCX_OK;
}

dcx_status dcx_dist_bcast_f64(const dcx_dist *d, double *x, int64_t n, int root)
{
    if (dcx_dist_size(d) == 1 || n <= 0) return DCX_OK;
#ifdef DEEPCX_HAVE_MPI
    for (int64_t i = 0; i < n; i += CHUNK) {
        int m = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Bcast(x + i, m, MPI_DOUBLE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail("Bcast", rc);
    }
#else
    (void)root;
#endif
    return DCX_OK;
}

dcx_status dcx_dist_bcast_i64(const dcx_dist *d, int64_t *x, int64_t n, int root)
{
    if (dcx_dist_size(d) == 1 || n <= 0) return DCX_OK;
#ifdef DEEPCX_HAVE_MPI
    for (int64_t i = 0; i < n; i += CHUNK) {
        int m = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Bcast(x + i, m, MPI_INT64_T, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail("Bcast", rc);
    }
#else
    (void)root;
#endif
    return DCX_OK;
}

dcx_status dcx_dist_gather_u64(const dcx_dist *d, const uint64_t *x, int64_t n, uint64_t **all, int64_t *nall)
{
    dcx_status st = DCX_OK;
    *all = NULL;
    *nall = 0;
    if (dcx_dist_size(d) == 1) {
        DCX_ALLOC(*all, n > 0 ? n : 1);
        if (n > 0) memcpy(*all, x, (size_t)n * sizeof *x);
        *nall = n;
        return DCX_OK;
    }
#ifdef DEEPCX_HAVE_MPI
    {
        int size = d->size, *counts = NULL, *displs = NULL, rc;
        int64_t total = n;
        DCX_TRY(dcx_dist_sum_i64(d, &total, 1));
        if (total > INT_MAX)
            DCX_FAIL(DCX_ERR_ARG, "gathering %lld values at rank 0: more than MPI can send at once",
                     (long long)total);
        int mine = (int)n;
        if (d->rank == 0) {
            counts = calloc((size_t)size, sizeof *counts);
            displs = calloc((size_t)size, sizeof *displs);
            *all = calloc((size_t)(total > 0 ? total : 1), sizeof **all);
            /* every rank must still take part in the gather: fail after it */
        }
        rc = MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            free(counts);
            free(displs);
            free(*all);
            *all = NULL;
            return mpi_fail("Gather", rc);
        }
        if (d->rank == 0 && counts && displs)
            for (int r = 1; r < size; r++) displs[r] = displs[r - 1] + counts[r - 1];
        int ok = d->rank != 0 || (counts && displs && *all);
        int all_ok = ok;
        MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (!all_ok) {
            free(counts);
            free(displs);
            free(*all);
            *all = NULL;
            return dcx_set_error(DCX_ERR_NOMEM, "out of memory gathering %lld values", (long long)total);
        }
        rc = MPI_Gatherv(x, mine, MPI_UINT64_T, *all, counts, displs, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        free(counts);
        free(displs);
        if (rc != MPI_SUCCESS) {
            free(*all);
            *all = NULL;
            return mpi_fail("Gatherv", rc);
        }
        if (d->rank == 0) *nall = total;
    }
#endif
fail:
    return st;
}

dcx_status dcx_dist_agree(const dcx_dist *d, dcx_status st)
{
    if (dcx_dist_size(d) == 1) return st;
#ifdef DEEPCX_HAVE_MPI
    int mine = st == DCX_OK ? d->size : d->rank, first = d->size;
    int rc = MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail("Allreduce", rc);
    if (first == d->size) return DCX_OK;
    int code = (int)st;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", d->rank == first ? dcx_last_error() : "");
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
    if (d->rank != first) return dcx_set_error((dcx_status)code, "%s", msg);
    return (dcx_status)code;
#else
    return st;
#endif
}
