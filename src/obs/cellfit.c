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
 * is reproducible.
 *
 * The fits are built from sums over the samples, so that each process of a
 * distributed run contributes its own: a first pass sums x and y per cell
 * and fold (the means x̄_T, ȳ_T), a second the centred X_cᵀX_c and Y_cᵀX_c,
 * each summed over the ranks; every rank then solves the same ridge
 * problems and predicts its own samples, and the squared errors are summed.
 * Centring with the exact means of the part (two passes) avoids the
 * cancellation of raw sums around a large mean. The cells are fitted in
 * batches whose sums take at most 32 MiB. */
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

/* Rows per chunk when the parts are gathered for the sums and predicted:
 * the buffers stay small (chunk x (r + dy)) however large a cell is. */
#define CHUNK 1024
/* Doubles of moments held at once (32 MiB): the cells are fitted in batches
 * of at most this many sums. */
#define MOM_BUDGET ((int64_t)1 << 22)

enum { FIT_SKIP, FIT_GLOBAL, FIT_MEAN, FIT_LINEAR };

/* Rows idx[0..m) of a (., cols), minus `sub` (cols), into dst (m, cols). */
static void gather_centred(const double *a, int64_t cols, const int64_t *idx, int64_t m, const double *sub,
                           double *dst)
{
    for (int64_t i = 0; i < m; i++) {
        const double *ai = a + idx[i] * cols;
        double *di = dst + i * cols;
        for (int64_t j = 0; j < cols; j++) di[j] = ai[j] - sub[j];
    }
}

#define LOCAL_ALLOC(ptr, count) (((ptr) = dcx__calloc((size_t)(count), sizeof *(ptr))) != NULL)

dcx_status dcx__cell_fit_sse(const double *z, const dcx__rows *rows, int64_t r, const double *y, int64_t dy,
                             const int64_t *goff, int ng, const int64_t *cell, int64_t k, const unsigned char *fold,
                             const double *ybar_global, int scratch, double *sse)
{
    dcx_status st = DCX_OK;
    const dcx_dist *dist = rows->dist;
    const int64_t n = rows->nloc, parts = 2 * k;
    int64_t *off = NULL, *idx = NULL, *fill = NULL, *cnt = NULL;
    double *xc = NULL, *yc = NULL, *pr = NULL, *mean = NULL, *mom = NULL;
    unsigned char *mode = NULL;
    /* per part: the means of x and y, then the centred XᵀX (r, r) and
     * (Y−ȳ)ᵀ(X−x̄) (dy, r), which the solve turns into Wᵀ */
    const int64_t mrow = r + dy, srow = r * r + dy * r;
    int64_t cb = MOM_BUDGET / (2 * (mrow + srow));
    if (cb < 1) cb = 1;
    if (cb > k) cb = k;
    int ok = dcx__big_calloc(&idx, n, sizeof *idx, scratch) == DCX_OK && LOCAL_ALLOC(off, parts + 1) &&
             LOCAL_ALLOC(fill, parts) &&
             LOCAL_ALLOC(cnt, parts) && LOCAL_ALLOC(xc, CHUNK * r) && LOCAL_ALLOC(yc, CHUNK * dy) &&
             LOCAL_ALLOC(pr, CHUNK * dy) && LOCAL_ALLOC(mean, 2 * cb * mrow) && LOCAL_ALLOC(mom, 2 * cb * srow) &&
             LOCAL_ALLOC(mode, 2 * cb);
    DCX_TRY(dcx_dist_agree(dist, ok ? DCX_OK : dcx_set_error(DCX_ERR_NOMEM, "cell fits: out of memory")));
    /* Counting sort of this rank's samples by part p = 2·cell + fold. */
    for (int64_t i = 0; i < n; i++) {
        DCX_ASSERT(cell[i] >= 0 && cell[i] < k && fold[i] < 2);
        off[2 * cell[i] + fold[i] + 1]++;
    }
    for (int64_t p = 0; p < parts; p++) {
        cnt[p] = off[p + 1];
        off[p + 1] += off[p];
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t p = 2 * cell[i] + fold[i];
        idx[off[p] + fill[p]++] = i;
    }
    DCX_TRY(dcx_dist_sum_i64(dist, cnt, parts)); /* the size of every part over all ranks */
    for (int g = 0; g < ng; g++) sse[g] = 0;
    for (int64_t q0 = 0; q0 < k; q0 += cb) {
        const int64_t nb = 2 * ((q0 + cb < k ? q0 + cb : k) - q0);
        /* 1. the means of each part */
        memset(mean, 0, (size_t)(nb * mrow) * sizeof *mean);
        for (int64_t b = 0; b < nb; b++) {
            const int64_t p = 2 * q0 + b;
            double *xm = mean + b * mrow, *ym = xm + r;
            for (int64_t t = off[p]; t < off[p + 1]; t++) {
                const double *zi = z + idx[t] * r, *yi = y + idx[t] * dy;
                for (int64_t j = 0; j < r; j++) xm[j] += zi[j];
                for (int64_t j = 0; j < dy; j++) ym[j] += yi[j];
            }
        }
        DCX_TRY(dcx_dist_sum_f64(dist, mean, nb * mrow));
        for (int64_t b = 0; b < nb; b++) {
            const int64_t p = 2 * q0 + b, nt = cnt[p], ne = cnt[p ^ 1];
            if (nt > 0)
                for (int64_t j = 0; j < mrow; j++) mean[b * mrow + j] /= (double)nt;
            /* training part p predicts the cell's other fold p ^ 1 */
            mode[b] = ne == 0 ? FIT_SKIP : nt == 0 ? FIT_GLOBAL : nt < r + 2 ? FIT_MEAN : FIT_LINEAR;
        }
        /* 2. the centred sums of the parts to fit */
        memset(mom, 0, (size_t)(nb * srow) * sizeof *mom);
        st = DCX_OK;
        for (int64_t b = 0; b < nb && st == DCX_OK; b++) {
            if (mode[b] != FIT_LINEAR) continue;
            const int64_t p = 2 * q0 + b;
            const double *xm = mean + b * mrow, *ym = xm + r;
            double *a = mom + b * srow, *wt = a + r * r;
            for (int64_t c0 = off[p]; c0 < off[p + 1] && st == DCX_OK; c0 += CHUNK) {
                int64_t cn = off[p + 1] - c0 < CHUNK ? off[p + 1] - c0 : CHUNK;
                gather_centred(z, r, idx + c0, cn, xm, xc);
                gather_centred(y, dy, idx + c0, cn, ym, yc);
                st = dcx__dsyrk_t(r, cn, 1.0, xc, r, 1.0, a, r);
                if (st == DCX_OK) st = dcx__dgemm(1, 0, dy, r, cn, 1.0, yc, dy, xc, r, 1.0, wt, r);
            }
        }
        DCX_TRY(dcx_dist_agree(dist, st));
        DCX_TRY(dcx_dist_sum_f64(dist, mom, nb * srow));
        /* 3. the ridge solves, the same on every rank:
         * (X_cᵀX_c + ρI) W = X_cᵀ Y_c, Wᵀ (dy, r) in place */
        for (int64_t b = 0; b < nb; b++) {
            if (mode[b] != FIT_LINEAR) continue;
            double *a = mom + b * srow, *wt = a + r * r;
            double trace = 0;
            for (int64_t j = 0; j < r; j++) trace += a[j * r + j];
            if (!(trace > 0)) { /* all training inputs coincide: no slope to fit */
                mode[b] = FIT_MEAN;
                continue;
            }
            double rho = 1e-6 * trace / (double)r;
            for (int64_t j = 0; j < r; j++) a[j * r + j] += rho;
            st = dcx__dposv_cm(r, dy, a, r, wt, r);
            if (st != DCX_OK)
                DCX_FAIL(DCX_ERR_NUMERIC, "ridge fit in cell %lld: %s", (long long)(q0 + b / 2), dcx_last_error());
        }
        /* 4. predict this rank's samples of the other folds:
         * ŷ = ȳ_T + (x − x̄_T) W, cells and folds in order */
        for (int64_t b = 0; b < nb; b++) {
            const int64_t te = (2 * q0 + b) ^ 1;
            const int64_t *ti = idx + off[te], ne = off[te + 1] - off[te];
            const double *xm = mean + b * mrow, *ym = xm + r, *wt = mom + b * srow + r * r;
            if (mode[b] == FIT_SKIP || ne == 0) continue;
            if (mode[b] == FIT_GLOBAL) {
                add_sse(y, dy, goff, ng, ti, ne, ybar_global, NULL, sse);
            } else if (mode[b] == FIT_MEAN) {
                add_sse(y, dy, goff, ng, ti, ne, ym, NULL, sse);
            } else {
                for (int64_t c0 = 0; c0 < ne; c0 += CHUNK) {
                    int64_t cn = ne - c0 < CHUNK ? ne - c0 : CHUNK;
                    gather_centred(z, r, ti + c0, cn, xm, xc);
                    DCX_TRY(dcx__dgemm(0, 1, cn, dy, r, 1.0, xc, r, wt, r, 0.0, pr, dy));
                    add_sse(y, dy, goff, ng, ti + c0, cn, ym, pr, sse);
                }
            }
        }
    }
    DCX_TRY(dcx_dist_sum_f64(dist, sse, ng));
fail:
    free(off);
    free(fill);
    dcx__big_free(idx);
    free(cnt);
    free(xc);
    free(yc);
    free(pr);
    free(mean);
    free(mom);
    free(mode);
    return st;
}
