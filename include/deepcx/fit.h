/* deepcx/fit.h — least-squares line fits, the basis of every exponent.
 *
 * dcx_linfit fits y = c + s·x by ordinary least squares and reports the slope
 * s, intercept c, the standard error of the slope
 *     se(s) = sqrt( Σ r_i² / (n − 2) / Σ (x_i − x̄)² )
 * and R² = 1 − Σ r_i² / Σ (y_i − ȳ)². Power laws O = a·t^β and spectra
 * λ_n ∝ n^−α are fitted as lines in log–log coordinates. */
#ifndef DEEPCX_FIT_H
#define DEEPCX_FIT_H

#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_linfit_result {
    double slope;
    double intercept;
    double slope_stderr; /* 0 when n == 2 (exact fit, no residual dof) */
    double r2;           /* 1 when y is constant and fitted exactly */
    int64_t n;
} dcx_linfit_result;

/* Fit y = c + s x over n >= 2 points with at least two distinct x.
 * DCX_ERR_DEGENERATE otherwise; DCX_ERR_NUMERIC on non-finite input. */
dcx_status dcx_linfit(const double *x, const double *y, int64_t n, dcx_linfit_result *out);

#ifdef __cplusplus
}
#endif
#endif
