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

/* Column means of the rows idx[0..m) of a (., cols). */
static void col_mean_idx(const double *a, int64_t cols, const int64_t *idx, int64_t m, double *mean)
{
    memset(mean, 0, (size_t)cols * sizeof *mean);
    for (int64_t i = 0; i < m; i++) {
        const double *ai = a + idx[i] * cols;
        for (int64_t j = 0; j < cols; j++) mean[j] += ai[j];
    }
    for (int64_t j = 0; j < cols; j++) mean[j] /= (double)m;
}

/* sse[g] += Σ_i Σ_{j in group g} (y_idx[i],j − pred_j − p_ij)², with p the
 * rows of `pr` (NULL: 0). The order of the sums is fixed: samples, then
 * columns, each group on its own. */
static void add_sse(const double *y, int64_t dy, const int64_t *goff, int ng, const int64_t *idx, int64_t m,
                    const double *pred, const double *pr, double *sse)
{
    for (int64_t i = 0; i < m; i++) {
        const double *yi = y + idx[i] * dy;
        const double *pi = pr ? pr + i * dy : NULL;
        for (int g = 0; g < ng; g++) {
            double s = sse[g];
            if (pi)
                for (int64_t j = goff[g]; j < goff[g + 1]; j++) {
                    double t = yi[j] - pred[j] - pi[j];
                    s += t * t;
                }
            else
                for (int64_t j = goff[g]; j < goff[g + 1]; j++) {
                    double t = yi[j] - pred[j];
                    s += t * t;
                }
            sse[g] = s;
        }
    }
}

/* Rows per chunk when the outputs are gathered for the fit and predicted:
 * the buffers stay small (chunk x dy) however many outputs share the fit. */
#define CHUNK 1024

dcx_status dcx__cell_fit_sse(const double *z, int64_t n, int64_t r, const double *y, int64_t dy,
                             const int64_t *goff, int ng, const int64_t *cell, int64_t k, const unsigned char *fold,
                             const double *ybar_global, double *sse)
{
    dcx_status st = DCX_OK;
    int64_t *off = NULL, *idx = NULL, *fill = NULL;
    double *xt = NULL, *yc = NULL, *xe = NULL, *xm = NULL, *ym = NULL, *a = NULL, *wt = NULL, *pr = NULL;
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
    const int64_t chunk = maxpart < CHUNK ? maxpart : CHUNK;
    DCX_ALLOC(xt, maxpart * r);
    DCX_ALLOC(xe, chunk * r);
    DCX_ALLOC(yc, chunk * dy);
    DCX_ALLOC(pr, chunk * dy);
    DCX_ALLOC(xm, r);
    DCX_ALLOC(ym, dy);
    DCX_ALLOC(a, r * r);
    DCX_ALLOC(wt, dy * r);
    for (int g = 0; g < ng; g++) sse[g] = 0;
    for (int64_t q = 0; q < k; q++)
        for (int f = 0; f < 2; f++) {
            const int64_t *tr = idx + off[2 * q + f], *te = idx + off[2 * q + 1 - f];
            int64_t nt = off[2 * q + f + 1] - off[2 * q + f];
            int64_t ne = off[2 * q + 2 - f] - off[2 * q + 1 - f];
            if (ne == 0) continue;
            if (nt == 0) {
                add_sse(y, dy, goff, ng, te, ne, ybar_global, NULL, sse);
                continue;
            }
            col_mean_idx(y, dy, tr, nt, ym);
            if (nt < r + 2) {
                add_sse(y, dy, goff, ng, te, ne, ym, NULL, sse);
                continue;
            }
            gather(z, r, tr, nt, xt);
            col_mean_idx(z, r, tr, nt, xm);
            for (int64_t i = 0; i < nt; i++)
                for (int64_t j = 0; j < r; j++) xt[i * r + j] -= xm[j];
            DCX_TRY(dcx__dsyrk_t(r, nt, 1.0, xt, r, 0.0, a, r));
            double trace = 0;
            for (int64_t j = 0; j < r; j++) trace += a[j * r + j];
            if (!(trace > 0)) { /* all training inputs coincide: no slope to fit */
                add_sse(y, dy, goff, ng, te, ne, ym, NULL, sse);
                continue;
            }
            double rho = 1e-6 * trace / (double)r;
            for (int64_t j = 0; j < r; j++) a[j * r + j] += rho;
            /* Wᵀ (dy, r) = Y_cᵀ X_c, accumulated over chunks of the part,
             * then solved in place: (X_cᵀX_c + ρI) W = X_cᵀ Y_c. */
            for (int64_t c0 = 0; c0 < nt; c0 += chunk) {
                int64_t cn = nt - c0 < chunk ? nt - c0 : chunk;
                for (int64_t i = 0; i < cn; i++) {
                    const double *yi = y + tr[c0 + i] * dy;
                    double *ci = yc + i * dy;
                    for (int64_t j = 0; j < dy; j++) ci[j] = yi[j] - ym[j];
                }
                DCX_TRY(dcx__dgemm(1, 0, dy, r, cn, 1.0, yc, dy, xt + c0 * r, r, c0 ? 1.0 : 0.0, wt, r));
            }
            st = dcx__dposv_cm(r, dy, a, r, wt, r);
            if (st != DCX_OK)
                DCX_FAIL(DCX_ERR_NUMERIC, "ridge fit in cell %lld: %s", (long long)q, dcx_last_error());
            /* predict the other fold: ŷ = ȳ_T + (x − x̄_T) W */
            for (int64_t c0 = 0; c0 < ne; c0 += chunk) {
                int64_t cn = ne - c0 < chunk ? ne - c0 : chunk;
                gather(z, r, te + c0, cn, xe);
                for (int64_t i = 0; i < cn; i++)
                    for (int64_t j = 0; j < r; j++) xe[i * r + j] -= xm[j];
                DCX_TRY(dcx__dgemm(0, 1, cn, dy, r, 1.0, xe, r, wt, r, 0.0, pr, dy));
                add_sse(y, dy, goff, ng, te + c0, cn, ym, pr, sse);
            }
        }
fail:
    free(off);
    free(fill);
    free(idx);
    free(xt);
    free(xe);
    free(yc);
    free(pr);
    free(xm);
    free(ym);
    free(a);
    free(wt);
    return st;
}
