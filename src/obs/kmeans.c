/* kmeans.c — k-means: greedy k-means++ seeding (Arthur & Vassilvitskii 2007,
 * with 2 + ⌊ln k⌋ local trials as in scikit-learn) and Lloyd iterations.
 *
 * Squared distances to the centres are computed in blocks of rows as
 *     ‖x‖² − 2 x·c + ‖c‖²
 * with one dgemm per block (x·cᵀ). Inertias (the trace, the final value and
 * the restart comparison) are recomputed directly as Σ ‖x − c‖², so that
 * they do not carry the cancellation error of the expanded form.
 *
 * Monotonicity: with labels L_t assigned from centres c_t, the inertia
 * J(L_t, c_t) never increases: the mean update lowers J for fixed labels,
 * moving the farthest point into an empty cluster (centre = that point)
 * lowers it further, and the next assignment lowers it again. */
#include <math.h>
#include <string.h>

#include "obs_internal.h"

void dcx_kmeans_params_default(dcx_kmeans_params *p)
{
    memset(p, 0, sizeof *p);
    p->k = 1;
    p->restarts = 3;
    p->max_iter = 100;
}

void dcx_kmeans_free(dcx_kmeans_result *r)
{
    if (!r) return;
    free(r->labels);
    free(r->centres);
    free(r->sizes);
    free(r);
}

static double dist2(const double *a, const double *b, int64_t d)
{
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

typedef struct km_ws {
    const double *x;
    int64_t n, d, k, block;
    double *xsq;  /* (n) ‖x_i‖² */
    double *csq;  /* (k) ‖c‖² */
    double *prod; /* (block, max(k, trials)) */
} km_ws;

/* Squared distances of rows [i0, i0+m) to the q rows of c (q, d), into
 * ws->prod (m, q), clamped at 0. */
static dcx_status block_dist(km_ws *ws, int64_t i0, int64_t m, const double *c, const double *csq, int64_t q)
{
    dcx_status st = dcx__dgemm(0, 1, m, q, ws->d, -2.0, ws->x + i0 * ws->d, ws->d, c, ws->d, 0.0, ws->prod, q);
    if (st != DCX_OK) return st;
    for (int64_t i = 0; i < m; i++) {
        double *row = ws->prod + i * q;
        for (int64_t j = 0; j < q; j++) {
            double v = row[j] + ws->xsq[i0 + i] + csq[j];
            row[j] = v > 0 ? v : 0;
        }
    }
    return DCX_OK;
}

static void row_norms(const double *a, int64_t m, int64_t d, double *out)
{
    for (int64_t i = 0; i < m; i++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += a[i * d + j] * a[i * d + j];
        out[i] = s;
    }
}

/* Assign every point to its nearest centre (ties: lowest index). Returns the
 * number of changed labels in *changed. */
static dcx_status assign(km_ws *ws, const double *c, int64_t *labels, int64_t *changed)
{
    dcx_status st = DCX_OK;
    row_norms(c, ws->k, ws->d, ws->csq);
    int64_t ch = 0;
    for (int64_t i0 = 0; i0 < ws->n; i0 += ws->block) {
        int64_t m = ws->n - i0 < ws->block ? ws->n - i0 : ws->block;
        DCX_TRY(block_dist(ws, i0, m, c, ws->csq, ws->k));
        for (int64_t i = 0; i < m; i++) {
            const double *row = ws->prod + i * ws->k;
            int64_t best = 0;
            for (int64_t j = 1; j < ws->k; j++)
                if (row[j] < row[best]) best = j;
            if (labels[i0 + i] != best) ch++;
            labels[i0 + i] = best;
        }
    }
    *changed = ch;
fail:
    return st;
}

static double inertia_of(const km_ws *ws, const int64_t *labels, const double *c)
{
    double s = 0;
    for (int64_t i = 0; i < ws->n; i++) s += dist2(ws->x + i * ws->d, c + labels[i] * ws->d, ws->d);
    return s;
}

/* Centres = means of their clusters; an empty cluster gets the point farthest
 * from its centre among clusters of size > 1, until none is empty. */
static void update_centres(const km_ws *ws, int64_t *labels, double *c, int64_t *sizes, double *far)
{
    const int64_t n = ws->n, d = ws->d, k = ws->k;
    for (;;) {
        memset(c, 0, (size_t)(k * d) * sizeof *c);
        memset(sizes, 0, (size_t)k * sizeof *sizes);
        for (int64_t i = 0; i < n; i++) {
            const double *xi = ws->x + i * d;
            double *ci = c + labels[i] * d;
            for (int64_t j = 0; j < d; j++) ci[j] += xi[j];
            sizes[labels[i]]++;
        }
        int64_t empty = -1;
        for (int64_t q = 0; q < k; q++) {
            if (sizes[q] > 0) {
                double inv = 1.0 / (double)sizes[q];
                for (int64_t j = 0; j < d; j++) c[q * d + j] *= inv;
            } else if (empty < 0) {
                empty = q;
            }
        }
        if (empty < 0) return;
        /* n >= k guarantees a cluster of size > 1 while one is empty. */
        int64_t pick = -1;
        double best = -1;
        for (int64_t i = 0; i < n; i++) {
            if (sizes[labels[i]] < 2) continue;
            far[i] = dist2(ws->x + i * d, c + labels[i] * d, d);
            if (far[i] > best) {
                best = far[i];
                pick = i;
            }
        }
        labels[pick] = empty;
    }
}

/* Greedy k-means++: first centre uniform; each next one the best (lowest
 * potential) of `trials` candidates drawn with probability ∝ D². */
static dcx_status seed_plusplus(km_ws *ws, dcx_rng *rng, double *c, double *closest, double *cand,
                                double *candsq)
{
    dcx_status st = DCX_OK;
    const int64_t n = ws->n, d = ws->d, k = ws->k;
    const int64_t trials = 2 + (int64_t)floor(log((double)k));
    int64_t first = (int64_t)dcx_rng_below(rng, (uint64_t)n);
    memcpy(c, ws->x + first * d, (size_t)d * sizeof *c);
    double pot = 0;
    for (int64_t i = 0; i < n; i++) pot += closest[i] = dist2(ws->x + i * d, c, d);
    for (int64_t q = 1; q < k; q++) {
        for (int64_t t = 0; t < trials; t++) {
            int64_t pick;
            if (pot > 0) {
                double u = dcx_rng_uniform(rng) * pot, acc = 0;
                pick = -1;
                for (int64_t i = 0; i < n; i++) {
                    if (closest[i] <= 0) continue;
                    acc += closest[i];
                    pick = i;
                    if (acc > u) break;
                }
            } else {
                pick = (int64_t)dcx_rng_below(rng, (uint64_t)n);
            }
            memcpy(cand + t * d, ws->x + pick * d, (size_t)d * sizeof *cand);
        }
        row_norms(cand, trials, d, candsq);
        /* potential with each candidate added; distances in blocks */
        double tpot[64];
        for (int64_t t = 0; t < trials; t++) tpot[t] = 0;
        for (int64_t i0 = 0; i0 < n; i0 += ws->block) {
            int64_t m = n - i0 < ws->block ? n - i0 : ws->block;
            DCX_TRY(block_dist(ws, i0, m, cand, candsq, trials));
            for (int64_t i = 0; i < m; i++)
                for (int64_t t = 0; t < trials; t++) {
                    double v = ws->prod[i * trials + t];
                    tpot[t] += v < closest[i0 + i] ? v : closest[i0 + i];
                }
        }
        int64_t bt = 0;
        for (int64_t t = 1; t < trials; t++)
            if (tpot[t] < tpot[bt]) bt = t;
        memcpy(c + q * d, cand + bt * d, (size_t)d * sizeof *c);
        pot = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = dist2(ws->x + i * d, c + q * d, d);
            if (v < closest[i]) closest[i] = v;
            pot += closest[i];
        }
    }
fail:
    return st;
}

dcx_status dcx__kmeans_f64(const double *x, int64_t n, int64_t d, const dcx_kmeans_params *p,
                           dcx_kmeans_result **out)
{
    dcx_status st = DCX_OK;
    dcx_kmeans_result *res = NULL;
    km_ws ws = {0};
    int64_t *lab = NULL, *sz = NULL;
    double *cen = NULL, *far = NULL, *cand = NULL, *candsq = NULL;
    *out = NULL;
    const int64_t k = p->k;
    if (k < 1 || k > n)
        DCX_FAIL(DCX_ERR_ARG, "k-means: k = %lld must be between 1 and the number of samples %lld",
                 (long long)k, (long long)n);
    if (p->restarts < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: restarts must be >= 1 (got %d)", p->restarts);
    if (p->max_iter < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: max_iter must be >= 1 (got %d)", p->max_iter);
    if (d < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: data has no columns");
    const int64_t trials = 2 + (int64_t)floor(log((double)k));
    const int64_t width = k > trials ? k : trials;
    ws.x = x;
    ws.n = n;
    ws.d = d;
    ws.k = k;
    ws.block = 65536 / width;
    if (ws.block < 64) ws.block = 64;
    if (ws.block > n) ws.block = n;
    DCX_ALLOC(ws.xsq, n);
    DCX_ALLOC(ws.csq, k);
    DCX_ALLOC(ws.prod, ws.block * width);
    DCX_ALLOC(res, 1);
    DCX_ALLOC(res->labels, n);
    DCX_ALLOC(res->centres, k * d);
    DCX_ALLOC(res->sizes, k);
    DCX_ALLOC(lab, n);
    DCX_ALLOC(sz, k);
    DCX_ALLOC(cen, k * d);
    DCX_ALLOC(far, n);
    DCX_ALLOC(cand, trials * d);
    DCX_ALLOC(candsq, trials);
    row_norms(x, n, d, ws.xsq);
    res->n = n;
    res->d = d;
    res->k = k;
    res->inertia = INFINITY;
    for (int q = 0; q < p->restarts; q++) {
        dcx_rng rng;
        dcx_rng_seed_stream(&rng, p->seed, (uint64_t)q);
        DCX_TRY(seed_plusplus(&ws, &rng, cen, far, cand, candsq));
        for (int64_t i = 0; i < n; i++) lab[i] = -1;
        int it, conv = 0;
        for (it = 0; it < p->max_iter; it++) {
            int64_t changed;
            DCX_TRY(assign(&ws, cen, lab, &changed));
            if (p->trace) p->trace(p->trace_ctx, q, it, inertia_of(&ws, lab, cen));
            if (it > 0 && changed == 0) {
                conv = 1;
                break;
            }
            update_centres(&ws, lab, cen, sz, far);
        }
        int iters = conv ? it + 1 : it;
        if (conv) { /* centres are already the means of lab; sizes too */
            memset(sz, 0, (size_t)k * sizeof *sz);
            for (int64_t i = 0; i < n; i++) sz[lab[i]]++;
        }
        double j = inertia_of(&ws, lab, cen);
        if (!isfinite(j)) DCX_FAIL(DCX_ERR_NUMERIC, "k-means: non-finite inertia (overflow in the data?)");
        if (j < res->inertia) {
            res->inertia = j;
            memcpy(res->labels, lab, (size_t)n * sizeof *lab);
            memcpy(res->centres, cen, (size_t)(k * d) * sizeof *cen);
            memcpy(res->sizes, sz, (size_t)k * sizeof *sz);
            res->iterations = iters;
            res->converged = conv;
            res->best_restart = q;
        }
    }
    *out = res;
    res = NULL;
fail:
    free(ws.xsq);
    free(ws.csq);
    free(ws.prod);
    free(lab);
    free(sz);
    free(cen);
    free(far);
    free(cand);
    free(candsq);
    dcx_kmeans_free(res);
    return st;
}

dcx_status dcx__matrix_to_f64(const dcx_matrix *m, const char *what, double **out)
{
    dcx_status st = DCX_OK;
    double *a = NULL;
    *out = NULL;
    int64_t cnt;
    if (!dcx__mul_ok(m->rows, m->cols, &cnt)) DCX_FAIL(DCX_ERR_ARG, "%s: matrix too large", what);
    DCX_ALLOC(a, cnt > 0 ? cnt : 1);
    for (int64_t i = 0; i < m->rows; i++) {
        double *dst = a + i * m->cols;
        dcx_matrix_row_f64(m, i, dst);
        for (int64_t j = 0; j < m->cols; j++)
            if (!isfinite(dst[j]))
                DCX_FAIL(DCX_ERR_NUMERIC, "%s: %s value at row %lld, column %lld", what,
                         isnan(dst[j]) ? "NaN" : "Inf", (long long)i, (long long)j);
    }
    *out = a;
    return DCX_OK;
fail:
    free(a);
    return st;
}

dcx_status dcx_kmeans(const dcx_matrix *x, const dcx_kmeans_params *p, dcx_kmeans_result **out)
{
    dcx_status st = DCX_OK;
    double *a = NULL;
    *out = NULL;
    if (!x || !p) DCX_FAIL(DCX_ERR_ARG, "k-means: NULL argument");
    DCX_TRY(dcx__matrix_to_f64(x, "k-means input", &a));
    DCX_TRY(dcx__kmeans_f64(a, x->rows, x->cols, p, out));
fail:
    free(a);
    return st;
}
