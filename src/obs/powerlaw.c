/* powerlaw.c — power-law fits O(t) = a t^β as least-squares lines in log–log
 * coordinates, over a given window or over the automatic window: the longest
 * (in decades) window of at least `min_decades` whose R² >= `min_r2`
 * (SPEC §4). The automatic search tries every contiguous window of the valid
 * points, using prefix sums so that each candidate costs O(1); the chosen
 * window is then refitted with the two-pass line fit. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* Keep the points usable on log axes: t > 0, y > 0, both finite. */
static int64_t log_points(const double *t, const double *y, int64_t n, double t_lo, double t_hi, double *tv,
                          double *lx, double *ly)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(y[i]) || !(t[i] > 0) || !(y[i] > 0)) continue;
        if (t[i] < t_lo || t[i] > t_hi) continue;
        tv[m] = t[i];
        lx[m] = log(t[i]);
        ly[m] = log(y[i]);
        m++;
    }
    return m;
}

static dcx_status fit_logs(const double *tv, const double *lx, const double *ly, int64_t m, dcx_powerlaw *out)
{
    dcx_linfit_result r;
    dcx_status st = dcx_linfit(lx, ly, m, &r);
    if (st != DCX_OK) return st;
    double lo = tv[0], hi = tv[0];
    for (int64_t i = 1; i < m; i++) {
        if (tv[i] < lo) lo = tv[i];
        if (tv[i] > hi) hi = tv[i];
    }
    out->beta = r.slope;
    out->beta_stderr = r.slope_stderr;
    out->a = exp(r.intercept);
    out->r2 = r.r2;
    out->t_lo = lo;
    out->t_hi = hi;
    out->n = m;
    return DCX_OK;
}

dcx_status dcx_powerlaw_fit(const double *t, const double *y, int64_t n, double t_lo, double t_hi,
                            dcx_powerlaw *out)
{
    dcx_status st = DCX_OK;
    double *tv = NULL, *lx = NULL, *ly = NULL;
    DCX_ALLOC(tv, n + 1);
    DCX_ALLOC(lx, n + 1);
    DCX_ALLOC(ly, n + 1);
    int64_t m = log_points(t, y, n, t_lo, t_hi, tv, lx, ly);
    int distinct = 0;
    for (int64_t i = 1; i < m && !distinct; i++) distinct = tv[i] != tv[0];
    if (m < 2 || !distinct)
        DCX_FAIL(DCX_ERR_DEGENERATE,
                 "power-law fit needs at least 2 points with distinct t > 0 and value > 0 in the window "
                 "[%g, %g], found %lld",
                 t_lo, t_hi, (long long)m);
    DCX_TRY(fit_logs(tv, lx, ly, m, out));
fail:
    free(tv);
    free(lx);
    free(ly);
    return st;
}

dcx_status dcx_powerlaw_auto(const double *t, const double *y, int64_t n, double min_decades, double min_r2,
                             dcx_powerlaw *out)
{
    dcx_status st = DCX_OK;
    double *tv = NULL, *lx = NULL, *ly = NULL;
    double *sx = NULL, *sy = NULL, *sxx = NULL, *sxy = NULL, *syy = NULL;
    DCX_ALLOC(tv, n + 1);
    DCX_ALLOC(lx, n + 1);
    DCX_ALLOC(ly, n + 1);
    int64_t m = log_points(t, y, n, -INFINITY, INFINITY, tv, lx, ly);
    for (int64_t i = 1; i < m; i++)
        if (tv[i] < tv[i - 1])
            DCX_FAIL(DCX_ERR_ARG, "power-law fit: t must be sorted ascending (%g after %g)", tv[i], tv[i - 1]);
    /* Prefix sums of the log coordinates, shifted by the first point. */
    DCX_ALLOC(sx, m + 1);
    DCX_ALLOC(sy, m + 1);
    DCX_ALLOC(sxx, m + 1);
    DCX_ALLOC(sxy, m + 1);
    DCX_ALLOC(syy, m + 1);
    double x0 = m ? lx[0] : 0, y0 = m ? ly[0] : 0;
    for (int64_t i = 0; i < m; i++) {
        double a = lx[i] - x0, b = ly[i] - y0;
        sx[i + 1] = sx[i] + a;
        sy[i + 1] = sy[i] + b;
        sxx[i + 1] = sxx[i] + a * a;
        sxy[i + 1] = sxy[i] + a * b;
        syy[i + 1] = syy[i] + b * b;
    }
    int64_t bi = -1, bj = -1;
    double bspan = -1, br2 = -1;
    const double ln10 = log(10.0);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = i + 2; j < m; j++) {
            double span = (lx[j] - lx[i]) / ln10;
            if (span < min_decades * (1 - 1e-12)) continue;
            double k = (double)(j - i + 1);
            double Sx = sx[j + 1] - sx[i], Sy = sy[j + 1] - sy[i];
            double Cxx = (sxx[j + 1] - sxx[i]) - Sx * Sx / k;
            double Cxy = (sxy[j + 1] - sxy[i]) - Sx * Sy / k;
            double Cyy = (syy[j + 1] - syy[i]) - Sy * Sy / k;
            if (!(Cxx > 0)) continue;
            double r2 = Cyy > 1e-300 ? (Cxy * Cxy) / (Cxx * Cyy) : 1.0;
            if (r2 < min_r2) continue;
            int better = span > bspan + 1e-12 ||
                         (fabs(span - bspan) <= 1e-12 &&
                          ((j - i) > (bj - bi) || ((j - i) == (bj - bi) && r2 > br2)));
            if (better) {
                bi = i;
                bj = j;
                bspan = span;
                br2 = r2;
            }
        }
    if (bi < 0)
        DCX_FAIL(DCX_ERR_DEGENERATE,
                 "no window spanning at least %g decade%s with R² >= %g (%lld usable points)", min_decades,
                 min_decades == 1 ? "" : "s", min_r2, (long long)m);
    DCX_TRY(fit_logs(tv + bi, lx + bi, ly + bi, bj - bi + 1, out));
fail:
    free(tv);
    free(lx);
    free(ly);
    free(sx);
    free(sy);
    free(sxx);
    free(sxy);
    free(syy);
    return st;
}
