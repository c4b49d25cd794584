/* complexity.c — complexity of a computation (SPEC §2, docs/observables.md §2).
 *
 * deepcx's construction of the entropic, scale-dependent complexity of
 * Janik & Witaszczyk (arXiv:2006.04791): reduce X by PCA, cut it into K
 * k-means cells for K = 1, 2, 4, …, fit one affine map per cell with 2-fold
 * cross-validation, and report the out-of-fold error η(K), the partition
 * entropy H(K), the complexity C(ε) = H(smallest K with η(K) <= ε) and the
 * scaling exponent γ of η(K) ∝ K^−γ. */
#include <math.h>
#include <string.h>

#include "obs_internal.h"

void dcx_complexity_params_default(dcx_complexity_params *p)
{
    memset(p, 0, sizeof *p);
    p->eps[0] = 0.1;
    p->eps[1] = 0.05;
    p->eps[2] = 0.01;
    p->n_eps = 3;
    p->kmax = 256;
    p->rmax = 64;
    p->var_keep = 0.999;
    p->restarts = 3;
    p->max_iter = 100;
}

void dcx_complexity_free(dcx_complexity_result *r)
{
    if (!r) return;
    free(r->ladder);
    free(r->levels);
    free(r->folds);
    free(r);
}

/* 1 when every column of a (n, d) is constant. */
static int all_constant(const double *a, int64_t n, int64_t d)
{
    for (int64_t j = 0; j < d; j++)
        for (int64_t i = 1; i < n; i++)
            if (a[i * d + j] != a[j]) return 0;
    return 1;
}

static dcx_status check_params(const dcx_complexity_params *p)
{
    if (p->n_eps < 1 || p->n_eps > DCX_COMPLEXITY_MAX_EPS)
        return dcx_set_error(DCX_ERR_ARG, "complexity: between 1 and %d tolerances eps are needed (got %d)",
                             DCX_COMPLEXITY_MAX_EPS, p->n_eps);
    for (int i = 0; i < p->n_eps; i++)
        if (!(p->eps[i] > 0 && p->eps[i] <= 1))
            return dcx_set_error(DCX_ERR_ARG, "complexity: tolerance eps = %g must lie in (0, 1]", p->eps[i]);
    if (p->kmax < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: kmax must be >= 1 (got %lld)", (long long)p->kmax);
    if (p->rmax < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: rmax must be >= 1 (got %lld)", (long long)p->rmax);
    if (!(p->var_keep > 0 && p->var_keep <= 1))
        return dcx_set_error(DCX_ERR_ARG, "complexity: var_keep = %g must lie in (0, 1]", p->var_keep);
    if (p->restarts < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: restarts must be >= 1 (got %d)", p->restarts);
    if (p->max_iter < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: max_iter must be >= 1 (got %d)", p->max_iter);
    return DCX_OK;
}

dcx_status dcx_complexity(const dcx_matrix *x, const dcx_matrix *y, const dcx_complexity_params *p,
                          dcx_complexity_result **out)
{
    dcx_status st = DCX_OK;
    dcx_complexity_result *res = NULL;
    double *xa = NULL, *ya = NULL, *z = NULL, *ybar = NULL;
    int64_t *perm = NULL, *cell = NULL;
    dcx_kmeans_result *km = NULL;
    *out = NULL;
    if (!x || !y || !p) DCX_FAIL(DCX_ERR_ARG, "complexity: NULL argument");
    DCX_TRY(check_params(p));
    const int64_t n = x->rows, dx = x->cols, dy = y->cols;
    if (y->rows != n)
        DCX_FAIL(DCX_ERR_ARG, "X has %lld rows but Y has %lld: the rows must be the same samples",
                 (long long)n, (long long)y->rows);
    if (dx < 1 || dy < 1) DCX_FAIL(DCX_ERR_ARG, "X and Y need at least one column each");
    if (n < 2) DCX_FAIL(DCX_ERR_DEGENERATE, "too few samples (%lld) to measure complexity", (long long)n);
    DCX_TRY(dcx__matrix_to_f64(x, "X", &xa));
    DCX_TRY(dcx__matrix_to_f64(y, "Y", &ya));
    if (all_constant(ya, n, dy))
        DCX_FAIL(DCX_ERR_DEGENERATE, "Y has zero variance (every output is the same): the nonlinearity "
                                     "eta is undefined");

    DCX_ALLOC(res, 1);
    res->n = n;
    res->dx = dx;
    res->dy = dy;

    /* 1. reduce X; centre Y */
    DCX_TRY(dcx__pca_reduce(xa, n, dx, p->rmax, p->var_keep, &z, &res->r, &res->var_kept));
    const int64_t r = res->r;
    free(xa);
    xa = NULL;
    DCX_ALLOC(ybar, dy);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dy; j++) ybar[j] += ya[i * dy + j];
    for (int64_t j = 0; j < dy; j++) ybar[j] /= (double)n;
    double sst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dy; j++) {
            ya[i * dy + j] -= ybar[j];
            sst += ya[i * dy + j] * ya[i * dy + j];
        }
    memset(ybar, 0, (size_t)dy * sizeof *ybar); /* the global mean of the centred Y */
    if (!(sst > 0)) DCX_FAIL(DCX_ERR_DEGENERATE, "Y has zero variance: the nonlinearity eta is undefined");

    /* 3. the ladder */
    int64_t per_piece = 4 * (r + 1);
    int64_t kmax = n / per_piece;
    if (p->kmax < kmax) kmax = p->kmax;
    int64_t kneed = p->kmax >= 2 ? 2 : 1;
    if (kmax < kneed)
        DCX_FAIL(DCX_ERR_DEGENERATE,
                 "too few samples: %lld, the scale ladder needs at least %lld for K = %lld "
                 "(4(r+1) = %lld samples per linear piece, r = %lld reduced input dimensions)",
                 (long long)n, (long long)(kneed * per_piece), (long long)kneed, (long long)per_piece,
                 (long long)r);
    res->kmax_rule = kmax;
    int nl = 0;
    for (int64_t k = 1; k <= kmax; k *= 2) nl++;
    DCX_ALLOC(res->ladder, nl);
    res->n_ladder = nl;

    /* 2. folds */
    DCX_ALLOC(res->folds, n);
    if (p->folds) {
        int64_t cnt[2] = {0, 0};
        for (int64_t i = 0; i < n; i++) {
            if (p->folds[i] > 1)
                DCX_FAIL(DCX_ERR_ARG, "complexity: fold of sample %lld is %d, must be 0 or 1", (long long)i,
                         (int)p->folds[i]);
            cnt[p->folds[i]]++;
            res->folds[i] = p->folds[i];
        }
        if (cnt[0] == 0 || cnt[1] == 0) DCX_FAIL(DCX_ERR_ARG, "complexity: both folds must hold samples");
    } else {
        dcx_rng rng;
        dcx_rng_seed_stream(&rng, p->seed, 999);
        DCX_ALLOC(perm, n);
        for (int64_t i = 0; i < n; i++) perm[i] = i;
        dcx_rng_shuffle_i64(&rng, perm, n);
        for (int64_t i = 0; i < n; i++) res->folds[perm[i]] = i < n / 2 ? 0 : 1;
    }

    /* 4–7. each rung */
    DCX_ALLOC(cell, n);
    int j = 0;
    for (int64_t k = 1; k <= kmax; k *= 2, j++) {
        dcx_complexity_rung *g = &res->ladder[j];
        g->k = k;
        if (p->progress) p->progress(p->progress_ctx, "complexity ladder", j, nl);
        if (k == 1) {
            memset(cell, 0, (size_t)n * sizeof *cell);
            g->inertia = 0;
            g->entropy = 0;
            g->min_cell = n;
        } else {
            dcx_kmeans_params kp;
            dcx_kmeans_params_default(&kp);
            kp.k = k;
            kp.restarts = p->restarts;
            kp.max_iter = p->max_iter;
            dcx_rng sr;
            dcx_rng_seed_stream(&sr, p->seed, 1000 + (uint64_t)j);
            kp.seed = dcx_rng_u64(&sr);
            DCX_TRY(dcx__kmeans_f64(z, n, r, &kp, &km));
            memcpy(cell, km->labels, (size_t)n * sizeof *cell);
            const int64_t *sizes = km->sizes;
            g->inertia = km->inertia;
            g->entropy = dcx__entropy_counts(sizes, k, n);
            g->min_cell = n;
            for (int64_t q = 0; q < k; q++)
                if (sizes[q] < g->min_cell) g->min_cell = sizes[q];
            dcx_kmeans_free(km);
            km = NULL;
        }
        double sse;
        DCX_TRY(dcx__cell_fit_sse(z, n, r, ya, dy, cell, k, res->folds, ybar, &sse));
        g->eta = sse / sst;
    }
    if (p->progress) p->progress(p->progress_ctx, "complexity ladder", nl, nl);
    res->eta1 = res->ladder[0].eta;

    /* 8. C(eps) */
    DCX_ALLOC(res->levels, p->n_eps);
    res->n_eps = p->n_eps;
    for (int e = 0; e < p->n_eps; e++) {
        dcx_complexity_level *lv = &res->levels[e];
        lv->eps = p->eps[e];
        lv->reached = 0;
        lv->k = res->ladder[nl - 1].k;
        lv->value = res->ladder[nl - 1].entropy;
        for (int i = 0; i < nl; i++)
            if (res->ladder[i].eta <= lv->eps) {
                lv->reached = 1;
                lv->k = res->ladder[i].k;
                lv->value = res->ladder[i].entropy;
                break;
            }
    }

    /* 9. gamma */
    {
        double lx[64], ly[64];
        int64_t m = 0;
        for (int i = 0; i < nl && m < 64; i++)
            if (res->ladder[i].k >= 2 && res->ladder[i].eta > 1e-9) {
                lx[m] = log((double)res->ladder[i].k);
                ly[m] = log(res->ladder[i].eta);
                m++;
            }
        res->gamma_points = m;
        res->gamma = res->gamma_stderr = res->gamma_r2 = NAN;
        res->nonlinearity_dim = NAN;
        if (m >= 2) {
            dcx_linfit_result lf;
            DCX_TRY(dcx_linfit(lx, ly, m, &lf));
            res->gamma_ok = 1;
            res->gamma = -lf.slope;
            res->gamma_stderr = lf.slope_stderr;
            res->gamma_r2 = lf.r2;
            if (res->gamma > 0) res->nonlinearity_dim = 4.0 / res->gamma;
        }
    }
    *out = res;
    res = NULL;
fail:
    free(xa);
    free(ya);
    free(z);
    free(ybar);
    free(perm);
    free(cell);
    dcx_kmeans_free(km);
    dcx_complexity_free(res);
    return st;
}
