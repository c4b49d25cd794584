/* rows.c — which global rows each process of a distributed observable holds
 * (complexity, k-means). The ranks hold consecutive blocks of rows in rank
 * order; one all-reduce of the per-rank counts tells every rank where each
 * block starts, so that a global row index (the fold draw, the k-means++
 * draws, the ties of the empty-cluster repair) means the same on every rank
 * and for every number of ranks. */
#include <string.h>

#include "obs_internal.h"

dcx_status dcx__rows_init(const dcx_dist *dist, int64_t nloc, dcx__rows *rows)
{
    dcx_status st = DCX_OK;
    memset(rows, 0, sizeof *rows);
    const int size = dcx_dist_size(dist), rank = dcx_dist_rank(dist);
    int64_t *cnt = dcx__calloc((size_t)size, sizeof *cnt);
    int64_t *off = dcx__calloc((size_t)size + 1, sizeof *off);
    st = (cnt && off) ? DCX_OK : dcx_set_error(DCX_ERR_NOMEM, "out of memory");
    DCX_TRY(dcx_dist_agree(dist, st));
    cnt[rank] = nloc;
    DCX_TRY(dcx_dist_sum_i64(dist, cnt, size));
    for (int q = 0; q < size; q++) off[q + 1] = off[q] + cnt[q];
    rows->dist = dist;
    rows->rank = rank;
    rows->size = size;
    rows->n = off[size];
    rows->nloc = nloc;
    rows->row0 = off[rank];
    rows->off = off;
    off = NULL;
fail:
    free(cnt);
    free(off);
    return st;
}

void dcx__rows_free(dcx__rows *rows)
{
    if (!rows) return;
    free(rows->off);
    memset(rows, 0, sizeof *rows);
}

int dcx__rows_owner(const dcx__rows *rows, int64_t g)
{
    int lo = 0, hi = rows->size - 1; /* the last rank q with off[q] <= g: it holds g */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (rows->off[mid] <= g) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}
