/* dim.c — the effective dimension of an activation matrix (Janik &
 * Witaszczyk, arXiv:2006.04791): covariance (streamed, cov.c) or Gram
 * matrix, its eigenvalues, the spectral observables (spectrum.c) and the
 * local ladder (localdim.c). The Gram route A Aᵀ/(N−1) is taken when N < D:
 * same non-zero spectrum, an N x N instead of a D x D problem. */
#include <math.h>
#include <string.h>

#include "dim_internal.h"

#define LADDER_MAX 64

void dcx_dim_params_default(dcx_dim_params *p)
{
    memset(p, 0, sizeof *p);
    p->route = DCX_DIM_ROUTE_AUTO;
    p->local_min_anchors = 8;
}

int dcx_dim_default_ladder(int64_t n, int64_t *ks, int max)
{
    int c = 0;
    for (int64_t k = 16; k < n && c < max; k *= 2) ks[c++] = k;
    if (c < max && n >= 2) ks[c++] = n;
    return c;
}

void dcx_dim_result_free(dcx_dim_result *r)
{
    if (!r) return;
    free(r->spectrum);
    free(r->local);
    free(r);
}

/* Re-record the current message prefixed by the source's name. */
static dcx_status with_name(dcx_status st, const char *name)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dcx_last_error());
    return dcx_set_error(st, "%s: %s", name, msg);
}

/* Eigenvalues of the centred Gram matrix of all rows (N < D route). */
static dcx_status gram_spectrum(dcx_source *src, int64_t n, int64_t d, double **eig)
{
    dcx_status st = DCX_OK;
    double *x = NULL, *g = NULL, *w = NULL;
    int64_t nd, nn, got;
    *eig = NULL;
    if (!dcx__mul_ok(n, d, &nd) || !dcx__mul_ok(n, n, &nn))
        DCX_FAIL(DCX_ERR_ARG, "%s: %lld x %lld is too large", dcx_source_name(src), (long long)n, (long long)d);
    DCX_ALLOC(x, nd);
    DCX_TRY(dcx_source_read(src, n, x, &got));
    if (got != n)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: read %lld rows, expected %lld", dcx_source_name(src), (long long)got,
                 (long long)n);
    DCX_ALLOC(g, nn);
    DCX_TRY(dcx__gram_centred(x, n, d, d, g));
    free(x);
    x = NULL;
    DCX_ALLOC(w, n);
    DCX_TRY(dcx__eig_desc(g, n, w));
    free(g);
    *eig = w;
    return DCX_OK;
fail:
    free(x);
    free(g);
    free(w);
    return st;
}

dcx_status dcx_dim_compute(dcx_source *src, const dcx_dim_params *p, dcx_dim_result **out)
{
    dcx_status st = DCX_OK;
    dcx_dim_params def;
    dcx_dim_result *r = NULL;
    dcx_matrix *cov = NULL, *x = NULL;
    double *eig = NULL;
    int64_t ks[LADDER_MAX];
    const int64_t *ladder = NULL;
    int nk = 0;
    *out = NULL;
    if (!p) {
        dcx_dim_params_default(&def);
        p = &def;
    }
    const char *name = dcx_source_name(src);
    int64_t n = dcx_source_rows(src), d = dcx_source_cols(src), m;
    const int nproc = dcx_dist_size(p->dist);
    DCX_TRY(dcx_dist_sum_i64(p->dist, &n, 1)); /* all ranks' rows */
    if (nproc > 1 && (p->local_auto || p->n_local > 0))
        DCX_FAIL(DCX_ERR_ARG, "the local ladder needs all rows in one process: run --local without mpirun");
    if (nproc > 1 && (p->route == DCX_DIM_ROUTE_GRAM || (p->route == DCX_DIM_ROUTE_AUTO && n < d)))
        DCX_FAIL(DCX_ERR_ARG,
                 "%s: N = %lld < D = %lld needs the Gram route, which holds all rows in one process: "
                 "run without mpirun",
                 name, (long long)n, (long long)d);
    if (n < 2)
        DCX_FAIL(DCX_ERR_DEGENERATE, "%s: %lld sample%s: the effective dimension needs at least 2", name,
                 (long long)n, n == 1 ? "" : "s");
    if (d < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "%s: no columns", name);
    /* validate what can be validated before the long work */
    if ((p->rank_lo != 0 || p->rank_hi != 0) && (p->rank_lo < 1 || p->rank_hi < p->rank_lo + 2))
        DCX_FAIL(DCX_ERR_ARG, "rank window %lld:%lld: needs 1 <= LO and at least 3 ranks (HI >= LO + 2)",
                 (long long)p->rank_lo, (long long)p->rank_hi);
    if (p->local_auto) {
        nk = dcx_dim_default_ladder(n, ks, LADDER_MAX);
        ladder = ks;
    } else if (p->n_local > 0) {
        if (!p->local_k) DCX_FAIL(DCX_ERR_ARG, "local ladder: no values");
        nk = p->n_local;
        ladder = p->local_k;
    }
    for (int i = 0; i < nk; i++)
        if (ladder[i] < 2 || ladder[i] > n)
            DCX_FAIL(DCX_ERR_ARG, "%s: local scale k = %lld is outside [2, N = %lld]", name, (long long)ladder[i],
                     (long long)n);

    DCX_TRY(dcx_source_rewind(src));
    dcx_dim_route route = p->route;
    if (route == DCX_DIM_ROUTE_AUTO) route = n < d ? DCX_DIM_ROUTE_GRAM : DCX_DIM_ROUTE_COV;
    if (route == DCX_DIM_ROUTE_GRAM) {
        DCX_TRY(gram_spectrum(src, n, d, &eig));
        m = n;
    } else {
        int64_t got;
        DCX_TRY(dcx__covariance_dist(src, p->block_rows, p->progress, p->progress_ctx, p->dist, &cov, NULL, &got));
        DCX_ALLOC(eig, d);
        DCX_TRY(dcx__eig_desc(cov->data, d, eig));
        dcx_matrix_free(cov);
        cov = NULL;
        m = d;
    }
    st = dcx_dim_from_spectrum(eig, m, p, &r);
    if (st != DCX_OK) {
        st = with_name(st, name);
        goto fail;
    }
    r->n = n;
    r->d = d;
    r->route = route;
    if (nk > 0) {
        DCX_ALLOC(r->local, nk);
        r->n_local = nk;
        DCX_TRY(dcx_source_rewind(src));
        DCX_TRY(dcx_source_read_all(src, DCX_F32, &x));
        DCX_TRY(dcx_dim_local_ladder(x, ladder, nk, p, r->local));
    }
    free(eig);
    dcx_matrix_free(x);
    *out = r;
    return DCX_OK;
fail:
    free(eig);
    dcx_matrix_free(cov);
    dcx_matrix_free(x);
    dcx_dim_result_free(r);
    return st;
}
