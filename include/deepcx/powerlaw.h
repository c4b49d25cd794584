/* deepcx/powerlaw.h — power-law fits O(t) = a·t^β of observable series.
 *
 * A fit is a least-squares line in log–log coordinates,
 *     ln O = ln a + β ln t,
 * over the points of a window [t_lo, t_hi] with t > 0 and O > 0 (other
 * points cannot be placed on log axes and are left out). β comes with its
 * standard error and the R² of the log–log line.
 *
 * The automatic window is the longest one — in decades of t, log10(t_hi/t_lo) —
 * that spans at least `min_decades` and whose fit has R² >= `min_r2`, with at
 * least 3 points; ties go to more points, then to the higher R². */
#ifndef DEEPCX_POWERLAW_H
#define DEEPCX_POWERLAW_H

#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_powerlaw {
    double beta;        /* exponent */
    double beta_stderr; /* standard error of β */
    double a;           /* prefactor */
    double r2;          /* R² of the log–log line */
    double t_lo, t_hi;  /* the window actually used (first and last point in it) */
    int64_t n;          /* points in the window */
} dcx_powerlaw;

/* Fit over the points with t_lo <= t <= t_hi, t > 0, y > 0 (t need not be
 * sorted). Needs 2 points with distinct t: DCX_ERR_DEGENERATE otherwise. */
dcx_status dcx_powerlaw_fit(const double *t, const double *y, int64_t n, double t_lo, double t_hi,
                            dcx_powerlaw *out);

/* Automatic window (see above). t must be sorted ascending. Fails with
 * DCX_ERR_DEGENERATE ("no window spanning at least 1 decade with R² >= 0.98")
 * when there is none. */
dcx_status dcx_powerlaw_auto(const double *t, const double *y, int64_t n, double min_decades, double min_r2,
                             dcx_powerlaw *out);

#ifdef __cplusplus
}
#endif
#endif
