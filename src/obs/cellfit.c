/* cellfit.c — cross-validated affine fits inside the cells of a partition
 * (SPEC §2 step 5): the prediction error behind the nonlinearity η(K).
 *
 * In cell S_q and fold f the training part T = {i ∈ S_q : fold_i = f} is
 * centred within itself (x̄_T, ȳ_T); the ridge problem
 *     (X_cᵀ X_c + ρ I) W = X_cᵀ Y_c,   ρ = 1e-6 · trace(X_cᵀ X_c) / r
 * is solved by Cholesky (dposv) in double, and the other fold of the cell is
 * predicted as ŷ = ȳ_T + (x − x̄_T) W. Centring the training part first is
 * exactly an affine fit whose intercept is not penalised. A training part
 * with fewer than r + 2 samples (or no spread at all) predicts ȳ_T; an empty
 * one predicts the global mean. Cells are visited in order, so the error sum
 * is reproducible. */
#include <math.h>
#include <string.h>

#include "obs_internal.h"

double dcx__entropy_counts(const int64_t *c, int64_t m, int64_t total)
{
    double h = 0;
    for (int64_t i = 0; i < m; i++)
        if (c[i] > 0) {
            double p = (double)c[i] / (double)total;
            h -= p * log(p);
        }
    return h;
}

static void gather(const double *src, int64_t cols, const int64_t *idx, int64_t m, double *dst)
{
    for (int64_t i = 0; i < m; i++) memcpy(dst + i * cols, src + idx[i] * cols, (size_t)cols * sizeof *dst);
}

static void col_mean(const double *a, int64_t m, int64_t cols, double *mean)
{
    memset(mean, 0, (size_t)cols * sizeof *mean);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < cols; j++) mean[j] += a[i * cols + j];
    for (int64_t j = 0; j < cols; j++) mean[j] /= (double)m;
}

/* Σ_i ‖y_idx[i] − pred‖² for a constant prediction. */
static double sse_const(const double *y, int64_t dy, const int64_t *idx, int64_t m, const double *pred)
{
    double s = 0;
    for (int64_t i = 0; i < m; i++) {
        const double *yi = y + idx[i] * dy;
        for (int64_t j = 0; j < dy; j++) {
            double t = yi[j] - pred[j];
            s += t * t;
        }
    }
    return s;
}

dcx_status dcx__cell_fit_sse(const double *z, int64_t n, int64_t r, const double *y, int64_t dy,
                             const int64_t *cell, int64_t k, const unsigned char *fold,
                             const double *ybar_global, double *sse)
{
    dcx_status st = DCX_OK;
    int64_t *off = NULL, *idx = NULL, *fill = NULL;
    double *xt = NULL, *yt = NULL, *xm = NULL, *ym = NULL, *a = NULL, *b = NULL, *pr = NULL;
    /* Counting sort of the samples by part p = 2·cell + fold. */
    const int64_t parts = 2 * k;
    DCX_ALLOC(off, parts + 1);
    DCX_ALLOC(fill, parts);
    DCX_ALLOC(idx, n);
    for (int64_t i = 0; i < n; i++) {
        DCX_ASSERT(cell[i] >= 0 && cell[i] < k && fold[i] < 2);
        off[2 * cell[i] + fold[i] + 1]++;
    }
    int64_t maxpart = 1;
    for (int64_t p = 0; p < parts; p++) {
        if (off[p + 1] > maxpart) maxpart = off[p + 1];
        off[p + 1] += off[p];
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t p = 2 * cell[i] + fold[i];
        idx[off[p] + fill[p]++] = i;
    }
    DCX_ALLOC(xt, maxpart * r);
    DCX_ALLOC(yt, maxpart * dy);
    DCX_ALLOC(pr, maxpart * dy);
    DCX_ALLOC(xm, r);
    DCX_ALLOC(ym, dy);
    DCX_ALLOC(a, r * r);
    DCX_ALLOC(b, r * dy);
    double total = 0;
    for (int64_t q = 0; q < k; q++)
        for (int f = 0; f < 2; f++) {
            const int64_t *tr = idx + off[2 * q + f], *te = idx + off[2 * q + 1 - f];
            int64_t nt = off[2 * q + f + 1] - off[2 * q + f];
            int64_t ne = off[2 * q + 2 - f] - off[2 * q + 1 - f];
            if (ne == 0) continue;
            if (nt == 0) {
                total += sse_const(y, dy, te, ne, ybar_global);
                continue;
            }
            gather(y, dy, tr, nt, yt);
            col_mean(yt, nt, dy, ym);
            if (nt < r + 2) {
                total += sse_const(y, dy, te, ne, ym);
                continue;
            }
            gather(z, r, tr, nt, xt);
            col_mean(xt, nt, r, xm);
            for (int64_t i = 0; i < nt; i++) {
                for (int64_t j = 0; j < r; j++) xt[i * r + j] -= xm[j];
                for (int64_t j = 0; j < dy; j++) yt[i * dy + j] -= ym[j];
            }
            DCX_TRY(dcx__dsyrk_t(r, nt, 1.0, xt, r, 0.0, a, r));
            double trace = 0;
            for (int64_t j = 0; j < r; j++) trace += a[j * r + j];
            if (!(trace > 0)) { /* all training inputs coincide: no slope to fit */
                total += sse_const(y, dy, te, ne, ym);
                continue;
            }
            double rho = 1e-6 * trace / (double)r;
            for (int64_t j = 0; j < r; j++) a[j * r + j] += rho;
            DCX_TRY(dcx__dgemm(1, 0, r, dy, nt, 1.0, xt, r, yt, dy, 0.0, b, dy));
            st = dcx__dposv(r, dy, a, r, b, dy);
            if (st != DCX_OK)
                DCX_FAIL(DCX_ERR_NUMERIC, "ridge fit in cell %lld: %s", (long long)q, dcx_last_error());
            /* predict the other fold: ŷ = ȳ_T + (x − x̄_T) W */
            gather(z, r, te, ne, xt);
            for (int64_t i = 0; i < ne; i++)
                for (int64_t j = 0; j < r; j++) xt[i * r + j] -= xm[j];
            DCX_TRY(dcx__dgemm(0, 0, ne, dy, r, 1.0, xt, r, b, dy, 0.0, pr, dy));
            for (int64_t i = 0; i < ne; i++) {
                const double *yi = y + te[i] * dy;
                const double *pi = pr + i * dy;
                for (int64_t j = 0; j < dy; j++) {
                    double t = yi[j] - ym[j] - pi[j];
                    total += t * t;
                }
            }
        }
    *sse = total;
fail:
    free(off);
    free(fill);
    free(idx);
    free(xt);
    free(yt);
    free(pr);
    free(xm);
    free(ym);
    free(a);
    free(b);
    return st;
}
