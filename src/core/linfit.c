/* linfit.c — ordinary least squares line y = c + s x with the slope's
 * standard error and R², computed in two passes (means first) for accuracy. */
#include <math.h>

#include "../internal.h"

dcx_status dcx_linfit(const double *x, const double *y, int64_t n, dcx_linfit_result *out)
{
    dcx_status st = DCX_OK;
    if (n < 2) DCX_FAIL(DCX_ERR_DEGENERATE, "line fit needs at least 2 points, got %lld", (long long)n);
    double mx = 0, my = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            DCX_FAIL(DCX_ERR_NUMERIC, "line fit: non-finite value at point %lld", (long long)i);
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if (!(sxx > 0)) DCX_FAIL(DCX_ERR_DEGENERATE, "line fit needs at least two distinct x values");
    double s = sxy / sxx, c = my - s * mx;
    double rss = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = y[i] - (c + s * x[i]);
        rss += r * r;
    }
    out->slope = s;
    out->intercept = c;
    out->n = n;
    out->slope_stderr = n > 2 ? sqrt(rss / (double)(n - 2) / sxx) : 0.0;
    out->r2 = syy > 0 ? 1.0 - rss / syy : 1.0;
    return DCX_OK;
fail:
    return st;
}
