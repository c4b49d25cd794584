/* pca.c — the input reduction of the complexity measure (SPEC §2 step 1):
 * centre the columns, eigen-decompose the scatter matrix XᵀX (double, dsyrk +
 * dsyevd) and project on the top r principal components, where
 *     r = min(d, rmax, smallest r with Σ_{i<=r} λ_i >= keep · Σ λ_i).
 * Eigenvalues are sorted in decreasing order; round-off negatives count as 0. */
#include <math.h>
#include <string.h>

#include "obs_internal.h"

dcx_status dcx__pca_reduce(double *x, int64_t n, int64_t d, int64_t rmax, double keep, double **z,
                           int64_t *r_out, double *var_kept)
{
    dcx_status st = DCX_OK;
    double *mean = NULL, *c = NULL, *w = NULL, *v = NULL, *zz = NULL;
    *z = NULL;
    if (n < 2 || d < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "PCA needs at least 2 samples and 1 column");
    DCX_ALLOC(mean, d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += x[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) x[i * d + j] -= mean[j];
    DCX_ALLOC(c, d * d);
    DCX_ALLOC(w, d);
    DCX_TRY(dcx__dsyrk_t(d, n, 1.0, x, d, 0.0, c, d));
    DCX_TRY(dcx__dsyevd(1, d, c, d, w)); /* ascending; c holds the eigenvectors as columns */
    double total = 0;
    for (int64_t j = 0; j < d; j++) total += w[j] > 0 ? w[j] : 0;
    if (!(total > 0)) DCX_FAIL(DCX_ERR_DEGENERATE, "X has zero variance: every input sample is the same");
    int64_t r = 0;
    double acc = 0;
    while (r < d) {
        double l = w[d - 1 - r];
        acc += l > 0 ? l : 0;
        r++;
        if (acc >= keep * total) break;
    }
    if (r > rmax) r = rmax;
    acc = 0;
    for (int64_t t = 0; t < r; t++) acc += w[d - 1 - t] > 0 ? w[d - 1 - t] : 0;
    DCX_ALLOC(v, d * r);
    for (int64_t i = 0; i < d; i++)
        for (int64_t t = 0; t < r; t++) v[i * r + t] = c[i * d + (d - 1 - t)];
    DCX_ALLOC(zz, n * r);
    DCX_TRY(dcx__dgemm(0, 0, n, r, d, 1.0, x, d, v, r, 0.0, zz, r));
    *z = zz;
    zz = NULL;
    *r_out = r;
    *var_kept = acc / total;
fail:
    free(mean);
    free(c);
    free(w);
    free(v);
    free(zz);
    return st;
}
