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
 * Everything is built from sums over the samples, so that each process of
 * a distributed run contributes its own: a first pass sums x per part
 * (cell and fold; the means x̄), a second the part's moments
 *     A = Σ (x − x̄)(x − x̄)ᵀ,  C = Σ y (x − x̄)ᵀ = Σ (y − ȳ)(x − x̄)ᵀ,
 *     Σ y_j and Σ y_j², whence ȳ and s_j = Σ (y_j − ȳ_j)² = Σ y_j² − ȳ_j Σ y_j,
 * each summed over the ranks. Centring x with the exact means of its part
 * (two passes) avoids the cancellation of raw sums around a large mean; y
 * is centred on its global mean, so that Σ y_j² stays near s_j unless a
 * cell's outputs sit far from the others' (and y needs no pass of its own:
 * ~1.2 ms per rung on the benchmark).
 * Every rank then solves the same ridge problems, and the error of a fit W
 * (trained on part T) on the other fold E of the cell comes from E's
 * moments alone: with δx = x̄_E − x̄_T, δy = ȳ_E − ȳ_T and w_j the row of Wᵀ
 * for output j, the cross terms vanish about E's own mean and
 *     Σ_{i∈E} (y_ij − ŷ_ij)² = s_j − 2 w_j·c_j + w_jᵀ A w_j + n_E (δy_j − w_j·δx)²
 * (c_j the row j of E's C). The samples are not visited again to predict
 * them: the pass that would compute n_E·r·d_y products costs r²·d_y per
 * part instead, less whenever a part holds more than r samples. With one
 * output group only the sum over the outputs is wanted, and it is taken
 * through r × r matrices without W (rr_error: ~25 % less time per cell at
 * r = 64, d_y = 256; the K = 32 rung's fits 30.7 → 24.9 ms). A part's
 * error is clamped at 0 (its terms cancel to rounding when the fit is
 * exact). Parts are visited in order, so the error sum is reproducible. The
 * cells are fitted one at a time, or, distributed, in batches whose sums
 * (summed over the ranks at once) take at most 32 MiB. */
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

/* Rows per chunk when the parts are gathered for the sums: the buffers
 * stay small (chunk x (r + dy)) however large a cell is. */
#define CHUNK 1024
/* Doubles of moments held at once (32 MiB): the cells are fitted in batches
 * of at most this many sums. */
#define MOM_BUDGET ((int64_t)1 << 22)

/* Rows idx[0..m) of a (., cols): doubles (a->y, less a->shift unless it
 * is NULL) or floats less their shift (a->yf, a->shift), minus `sub`
 * (cols; NULL: nothing; only with doubles and no shift), into dst
 * (m, cols); when sum and sq are not NULL, each value is added to sum and
 * its square to sq (cols each), row by row. The rows lie anywhere in a:
 * the row two ahead is prefetched (the hardware cannot guess where it
 * starts), which takes the gather of the benchmark's 10,000 × 320 values
 * from ~6 to ~3.7 ms. */
static void gather_rows(const dcx__outputs *a, int64_t cols, const int64_t *idx, int64_t m,
                        const double *restrict sub, double *restrict dst, double *restrict sum, double *restrict sq)
{
    const size_t bytes = a->y ? sizeof *a->y : sizeof *a->yf;
    const char *base = a->y ? (const char *)a->y : (const char *)a->yf;
    for (int64_t i = 0; i < m; i++) {
        double *restrict di = dst + i * cols;
        if (i + 2 < m) {
            const char *next = base + (size_t)(idx[i + 2] * cols) * bytes;
            for (int64_t o = 0; o < cols * (int64_t)bytes; o += 64) __builtin_prefetch(next + o);
        }
        if (a->y) {
            const double *restrict ai = a->y + idx[i] * cols;
            if (sub)
                for (int64_t j = 0; j < cols; j++) di[j] = ai[j] - sub[j];
            else if (a->shift)
                for (int64_t j = 0; j < cols; j++) di[j] = ai[j] - a->shift[j];
            else
                for (int64_t j = 0; j < cols; j++) di[j] = ai[j];
        } else {
            const float *restrict ai = a->yf + idx[i] * cols;
            for (int64_t j = 0; j < cols; j++) di[j] = (double)ai[j] - a->shift[j];
        }
        if (sq)
            for (int64_t j = 0; j < cols; j++) {
                sum[j] += di[j];
                sq[j] += di[j] * di[j];
            }
    }
}

#define LOCAL_ALLOC(ptr, count) (((ptr) = dcx__calloc((size_t)(count), sizeof *(ptr))) != NULL)

/* The error of predicting part e (moments mom_e, means me: x̄ then ȳ,
 * count ne) with ŷ = ȳ_T + (x − x̄_T) W (mt: the training part's means,
 * x̄_T then ȳ_T; wt = Wᵀ (dy, r), NULL: ŷ = ȳ_T), added per output group
 * to sse. aw (r, r) and mw (dy, r) are work space. */
static dcx_status add_part_error(const double *mom_e, const double *me, int64_t ne, const double *mt,
                                 const double *wt, int64_t r, int64_t dy, const int64_t *goff, int ng, double *aw,
                                 double *mw, double *sse)
{
    const double *ae = mom_e, *ce = ae + r * r, *se = ce + dy * r;
    const double *ye = me + r, *yt = mt + r;
    const double n = (double)ne;
    double *dx = aw; /* δx = x̄_E − x̄_T, in aw once M is made */
    if (wt) { /* M = Wᵀ A_E, A_E made whole from its upper triangle */
        memcpy(aw, ae, (size_t)(r * r) * sizeof *aw);
        dcx__sym_upper_to_full(aw, r, r);
        dcx_status st = dcx__dgemm(0, 0, dy, r, r, 1.0, wt, r, aw, r, 0.0, mw, r);
        if (st != DCX_OK) return st;
        for (int64_t k = 0; k < r; k++) dx[k] = me[k] - mt[k];
    }
    for (int g = 0; g < ng; g++) {
        double e = 0;
        for (int64_t j = goff[g]; j < goff[g + 1]; j++) {
            double dj = ye[j] - yt[j], t = se[j];
            if (wt) {
                const double *w = wt + j * r, *c = ce + j * r, *m = mw + j * r;
                double lin = 0, quad = 0, shift = 0;
                for (int64_t k = 0; k < r; k++) {
                    lin += w[k] * c[k];
                    quad += w[k] * m[k];
                    shift += w[k] * dx[k];
                }
                t += quad - 2.0 * lin;
                dj -= shift;
            }
            e += t + n * dj * dj;
        }
        sse[g] += e > 0 ? e : 0.0;
    }
    return DCX_OK;
}

/* One output group (ng = 1): the error of the ridge fit trained on part T
 * (moments mom_t, means mt), ρ its ridge, on part e (mom_e, me, ne
 * samples), through r × r matrices instead of W = M⁻¹ C_Tᵀ (dy × r, M =
 * A_T + ρI): summed over the outputs,
 *     Σ_j w_j·c_j = ⟨M⁻¹, C_Tᵀ C_E⟩,   Σ_j w_jᵀ A_E w_j = ⟨A_E, M⁻¹ C_Tᵀ C_T M⁻¹⟩,
 *     Σ_j (δy_j − w_j·δx)² = ‖δy − C_T M⁻¹ δx‖²,
 * with p = C_Tᵀ C_E (or its transpose: ⟨M⁻¹, ·⟩ is the same) given. The
 * products over dy are r²·dy each, shared by the cell's two directions
 * (p) or made once per part (C_Tᵀ C_T), where the solve with dy right-hand
 * sides and Wᵀ A_E cost r²·dy each per direction: ~30 % less time at r =
 * 64, dy = 256. ws: 5r² + r + dy doubles. The error (clamped at 0) is
 * added to *sse. */
static dcx_status rr_error(const double *mom_t, const double *mt, const double *mom_e, const double *me, int64_t ne,
                           double rho, const double *p, int64_t r, int64_t dy, double *ws, double *sse)
{
    dcx_status st = DCX_OK;
    const double *at = mom_t, *ct = at + r * r, *ae = mom_e, *se = ae + r * r + dy * r;
    double *mi = ws, *q = mi + r * r, *x1 = q + r * r, *x2 = x1 + r * r, *af = x2 + r * r, *g = af + r * r,
           *h = g + r;
    memcpy(mi, at, (size_t)(r * r) * sizeof *mi);
    for (int64_t j = 0; j < r; j++) mi[j * r + j] += rho;
    DCX_TRY(dcx__dpotri_upper(r, mi, r));
    dcx__sym_upper_to_full(mi, r, r);
    DCX_TRY(dcx__dsyrk_t(r, dy, 1.0, ct, r, 0.0, q, r));
    dcx__sym_upper_to_full(q, r, r);
    DCX_TRY(dcx__dgemm(0, 0, r, r, r, 1.0, mi, r, q, r, 0.0, x1, r));
    DCX_TRY(dcx__dgemm(0, 0, r, r, r, 1.0, x1, r, mi, r, 0.0, x2, r));
    memcpy(af, ae, (size_t)(r * r) * sizeof *af);
    dcx__sym_upper_to_full(af, r, r);
    double lin = 0, quad = 0, s = 0, shift = 0;
    for (int64_t i = 0; i < r * r; i++) {
        lin += mi[i] * p[i];
        quad += af[i] * x2[i];
    }
    for (int64_t i = 0; i < r; i++) { /* g = M⁻¹ δx */
        double t = 0;
        for (int64_t k = 0; k < r; k++) t += mi[i * r + k] * (me[k] - mt[k]);
        g[i] = t;
    }
    for (int64_t j = 0; j < dy; j++) { /* h = C_T g */
        double t = 0;
        for (int64_t k = 0; k < r; k++) t += ct[j * r + k] * g[k];
        h[j] = (me[r + j] - mt[r + j]) - t;
    }
    for (int64_t j = 0; j < dy; j++) {
        s += se[j];
        shift += h[j] * h[j];
    }
    const double e = s - 2.0 * lin + quad + (double)ne * shift;
    *sse += e > 0 ? e : 0.0;
fail:
    return st;
}

dcx_status dcx__cell_fit_sse(const double *z, const dcx__rows *rows, int64_t r, const dcx__outputs *y, int64_t dy,
                             const int64_t *goff, int ng, const int64_t *cell, int64_t k, const unsigned char *fold,
                             const double *ybar_global, int scratch, double *sse)
{
    dcx_status st = DCX_OK;
    const dcx_dist *dist = rows->dist;
    const int64_t n = rows->nloc, parts = 2 * k;
    const dcx__outputs zrows = {z, NULL, NULL};
    int64_t *off = NULL, *idx = NULL, *fill = NULL, *cnt = NULL;
    double *xc = NULL, *yc = NULL, *mean = NULL, *mom = NULL, *aw = NULL, *wt = NULL, *mw = NULL, *gm = NULL;
    double *pw = NULL, *rrw = NULL; /* one output group: p (r, r) and rr_error's work space */
    int64_t pcell = -1;             /* the cell whose p is in pw */
    /* per part: the means of x and y, then the centred XᵀX (r, r),
     * Yᵀ(X−x̄) (dy, r; = (Y−ȳ)ᵀ(X−x̄), the columns of X − x̄ summing to 0),
     * Σ y² and Σ y (dy each; then Σ (y − ȳ)² in place of Σ y²) */
    const int64_t mrow = r + dy, srow = r * r + dy * r + 2 * dy;
    /* distributed, the sums of many cells travel together; in one process
     * one cell at a time keeps the sums in cache */
    int64_t cb = rows->size > 1 ? MOM_BUDGET / (2 * (mrow + srow)) : 1;
    if (cb < 1) cb = 1;
    if (cb > k) cb = k;
    /* the means of all parts at once when they fit the budget of the sums */
    const int all_means = parts * mrow <= MOM_BUDGET;
    int ok = dcx__big_calloc(&idx, n, sizeof *idx, scratch) == DCX_OK && LOCAL_ALLOC(off, parts + 1) &&
             LOCAL_ALLOC(fill, parts) && LOCAL_ALLOC(cnt, parts) && LOCAL_ALLOC(xc, CHUNK * r) &&
             LOCAL_ALLOC(yc, CHUNK * dy) && LOCAL_ALLOC(mean, all_means ? parts * mrow : 2 * cb * mrow) && LOCAL_ALLOC(mom, 2 * cb * srow) &&
             LOCAL_ALLOC(aw, r * r) && LOCAL_ALLOC(wt, dy * r) && LOCAL_ALLOC(mw, dy * r) && LOCAL_ALLOC(gm, mrow) &&
             (ng != 1 || (LOCAL_ALLOC(pw, r * r) && LOCAL_ALLOC(rrw, 5 * r * r + r + dy)));
    DCX_TRY(dcx_dist_agree(dist, ok ? DCX_OK : dcx_set_error(DCX_ERR_NOMEM, "cell fits: out of memory")));
    memcpy(gm + r, ybar_global, (size_t)dy * sizeof *gm); /* x part unused: no slope */
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
    /* 1. the means of x in every part: one pass over the samples in their
     * order (each part's sum in the order of its samples, as idx lists
     * them), or (all_means = 0) per batch below, in idx's order: the same
     * sums. The means of y come with the moments. */
    if (all_means) {
        for (int64_t i = 0; i < n; i++) {
            double *xm = mean + (2 * cell[i] + fold[i]) * mrow;
            const double *zi = z + i * r;
            for (int64_t j = 0; j < r; j++) xm[j] += zi[j];
        }
        DCX_TRY(dcx_dist_sum_f64(dist, mean, parts * mrow));
        for (int64_t p = 0; p < parts; p++)
            if (cnt[p] > 0)
                for (int64_t j = 0; j < r; j++) mean[p * mrow + j] /= (double)cnt[p];
    }
    for (int g = 0; g < ng; g++) sse[g] = 0;
    for (int64_t q0 = 0; q0 < k; q0 += cb) {
        const int64_t nb = 2 * ((q0 + cb < k ? q0 + cb : k) - q0);
        /* the batch's means: part 2·q0 + b at mb + b·mrow */
        double *mb = all_means ? mean + 2 * q0 * mrow : mean;
        if (!all_means) {
            memset(mean, 0, (size_t)(nb * mrow) * sizeof *mean);
            for (int64_t b = 0; b < nb; b++) {
                const int64_t p = 2 * q0 + b;
                double *xm = mean + b * mrow;
                for (int64_t t = off[p]; t < off[p + 1]; t++) {
                    const double *zi = z + idx[t] * r;
                    for (int64_t j = 0; j < r; j++) xm[j] += zi[j];
                }
            }
            DCX_TRY(dcx_dist_sum_f64(dist, mean, nb * mrow));
            for (int64_t b = 0; b < nb; b++)
                if (cnt[2 * q0 + b] > 0)
                    for (int64_t j = 0; j < r; j++) mean[b * mrow + j] /= (double)cnt[2 * q0 + b];
        }
        /* 2. the moments of every part: x centred on its part's mean, y as
         * it is (its part's mean would cancel from Yᵀ(X−x̄)), summed with
         * its squares for ȳ and Σ (y − ȳ)² = Σ y² − ȳ·Σ y (y is centred on
         * the global mean, which keeps the two terms near Σ (y − ȳ)²) */
        memset(mom, 0, (size_t)(nb * srow) * sizeof *mom);
        st = DCX_OK;
        for (int64_t b = 0; b < nb && st == DCX_OK; b++) {
            const int64_t p = 2 * q0 + b;
            const double *xm = mb + b * mrow;
            double *a = mom + b * srow, *c = a + r * r, *sq = c + dy * r, *ys = sq + dy;
            for (int64_t c0 = off[p]; c0 < off[p + 1] && st == DCX_OK; c0 += CHUNK) {
                int64_t cn = off[p + 1] - c0 < CHUNK ? off[p + 1] - c0 : CHUNK;
                gather_rows(&zrows, r, idx + c0, cn, xm, xc, NULL, NULL);
                gather_rows(y, dy, idx + c0, cn, NULL, yc, ys, sq);
                st = dcx__dsyrk_t(r, cn, 1.0, xc, r, 1.0, a, r);
                if (st == DCX_OK) st = dcx__dgemm(1, 0, dy, r, cn, 1.0, yc, dy, xc, r, 1.0, c, r);
            }
        }
        DCX_TRY(dcx_dist_agree(dist, st));
        DCX_TRY(dcx_dist_sum_f64(dist, mom, nb * srow));
        for (int64_t b = 0; b < nb; b++) {
            const double np = (double)cnt[2 * q0 + b];
            double *sq = mom + b * srow + r * r + dy * r, *ys = sq + dy, *ym = mb + b * mrow + r;
            if (np > 0)
                for (int64_t j = 0; j < dy; j++) {
                    ym[j] = ys[j] / np;
                    sq[j] -= ym[j] * ys[j];
                }
        }
        /* 3. per cell and training fold, the same on every rank: the ridge
         * solve (X_cᵀX_c + ρI) W = X_cᵀ Y_c on copies of the training part's
         * moments, then the error on the cell's other fold */
        for (int64_t b = 0; b < nb; b++) {
            const int64_t p = 2 * q0 + b, nt = cnt[p], ne = cnt[p ^ 1];
            const double *mt = mb + b * mrow, *me = mb + (b ^ 1) * mrow, *mom_e = mom + (b ^ 1) * srow;
            if (ne == 0) continue; /* nothing to predict */
            if (nt == 0) { /* an empty training part: the global mean */
                DCX_TRY(add_part_error(mom_e, me, ne, gm, NULL, r, dy, goff, ng, aw, mw, sse));
                continue;
            }
            int linear = nt >= r + 2;
            if (linear) {
                const double *a = mom + b * srow, *c = a + r * r;
                double trace = 0;
                for (int64_t j = 0; j < r; j++) trace += a[j * r + j];
                linear = trace > 0; /* all training inputs coincide: no slope to fit */
                const double rho = 1e-6 * trace / (double)r;
                if (linear && ng == 1) { /* through r × r matrices */
                    if (pcell != q0 + b / 2) { /* p = C_0ᵀ C_1 of the cell's two parts */
                        const double *c0 = mom + (b & ~(int64_t)1) * srow + r * r, *c1 = c0 + srow;
                        DCX_TRY(dcx__dgemm(1, 0, r, r, dy, 1.0, c0, r, c1, r, 0.0, pw, r));
                        pcell = q0 + b / 2;
                    }
                    st = rr_error(a, mt, mom_e, me, ne, rho, pw, r, dy, rrw, sse);
                    if (st != DCX_OK)
                        DCX_FAIL(DCX_ERR_NUMERIC, "ridge fit in cell %lld: %s", (long long)(q0 + b / 2),
                                 dcx_last_error());
                    continue;
                }
                if (linear) {
                    memcpy(aw, a, (size_t)(r * r) * sizeof *aw);
                    memcpy(wt, c, (size_t)(dy * r) * sizeof *wt);
                    for (int64_t j = 0; j < r; j++) aw[j * r + j] += rho;
                    st = dcx__dposv_cm(r, dy, aw, r, wt, r);
                    if (st != DCX_OK)
                        DCX_FAIL(DCX_ERR_NUMERIC, "ridge fit in cell %lld: %s", (long long)(q0 + b / 2),
                                 dcx_last_error());
                }
            }
            DCX_TRY(add_part_error(mom_e, me, ne, mt, linear ? wt : NULL, r, dy, goff, ng, aw, mw, sse));
        }
    }
fail:
    free(off);
    free(fill);
    dcx__big_free(idx);
    free(cnt);
    free(xc);
    free(yc);
    free(mean);
    free(mom);
    free(aw);
    free(wt);
    free(mw);
    free(gm);
    free(pw);
    free(rrw);
    return st;
}
