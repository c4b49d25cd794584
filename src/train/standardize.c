/* standardize.c — x' = (x − mean) / std with statistics of the train split,
 * accumulated in double: one mean/std for all features ("global", the usual
 * choice for images) or one per feature ("feature"). A standard deviation
 * below 1e-6 (a constant feature) is replaced by 1. */
#include <math.h>
#include <string.h>

#include "train_impl.h"

const char *dcx_std_mode_name(dcx_std_mode m)
{
    return m == DCX_STD_GLOBAL ? "global" : m == DCX_STD_FEATURE ? "feature" : "none";
}

int dcx_std_mode_parse(const char *s)
{
    if (!strcmp(s, "none")) return DCX_STD_NONE;
    if (!strcmp(s, "global")) return DCX_STD_GLOBAL;
    if (!strcmp(s, "feature")) return DCX_STD_FEATURE;
    return -1;
}

void dcx_standardizer_free(dcx_standardizer *s)
{
    if (!s) return;
    free(s->mean);
    free(s->std);
    free(s);
}

dcx_status dcx_standardizer_fit(dcx_std_mode mode, const float *x, int64_t rows, int64_t dim, dcx_standardizer **out)
{
    dcx_status st = DCX_OK;
    dcx_standardizer *s = NULL;
    double *sum = NULL, *sq = NULL;
    *out = NULL;
    DCX_ALLOC(s, 1);
    s->mode = mode;
    s->dim = dim;
    s->n = mode == DCX_STD_NONE ? 0 : mode == DCX_STD_GLOBAL ? 1 : dim;
    DCX_ALLOC(s->mean, s->n + 1);
    DCX_ALLOC(s->std, s->n + 1);
    if (s->n > 0) {
        if (rows < 2) DCX_FAIL(DCX_ERR_DEGENERATE, "standardisation: fewer than 2 training samples");
        DCX_ALLOC(sum, dim);
        DCX_ALLOC(sq, dim);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < dim; j++) sum[j] += x[i * dim + j];
        for (int64_t j = 0; j < dim; j++) sum[j] /= (double)rows;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < dim; j++) {
                double dv = x[i * dim + j] - sum[j];
                sq[j] += dv * dv;
            }
        if (mode == DCX_STD_GLOBAL) {
            /* pooled: mean of the feature means, total sum of squares about the grand mean */
            double m = 0, ss = 0;
            for (int64_t j = 0; j < dim; j++) m += sum[j];
            m /= (double)dim;
            for (int64_t j = 0; j < dim; j++) ss += sq[j] + (double)rows * (sum[j] - m) * (sum[j] - m);
            double sd = sqrt(ss / ((double)rows * (double)dim));
            s->mean[0] = (float)m;
            s->std[0] = (float)(sd < 1e-6 ? 1.0 : sd);
        } else {
            for (int64_t j = 0; j < dim; j++) {
                double sd = sqrt(sq[j] / (double)rows);
                s->mean[j] = (float)sum[j];
                s->std[j] = (float)(sd < 1e-6 ? 1.0 : sd);
            }
        }
    }
    free(sum);
    free(sq);
    *out = s;
    return DCX_OK;
fail:
    free(sum);
    free(sq);
    dcx_standardizer_free(s);
    return st;
}

void dcx_standardizer_apply(const dcx_standardizer *s, float *x, int64_t rows)
{
    if (!s || s->n == 0) return;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < s->dim; j++) {
            int64_t k = s->n == 1 ? 0 : j;
            x[i * s->dim + j] = (x[i * s->dim + j] - s->mean[k]) / s->std[k];
        }
}
