/* loss.c — softmax cross-entropy, mean over the batch:
 *   L = (1/n) Σ_i [ logsumexp(z_i) − z_i[y_i] ],
 * logsumexp computed stably as m + log Σ_j exp(z_ij − m), m = max_j z_ij, in
 * double. Gradient: dL/dz_ij = (softmax(z_i)_j − [j = y_i]) / n. */
#include <math.h>

#include "nn_impl.h"

dcx_status dcx__softmax_xent(const float *logits, const int32_t *labels, int64_t n, int64_t classes,
                             double *loss, int64_t *correct, float *dlogits)
{
    double total = 0;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return dcx_set_error(DCX_ERR_ARG, "label %d of sample %lld out of range [0, %lld)",
                                 (int)labels[i], (long long)i, (long long)classes);
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * classes;
        int64_t arg = 0;
        for (int64_t j = 1; j < classes; j++)
            if (z[j] > z[arg]) arg = j;
        double m = z[arg], se = 0;
        for (int64_t j = 0; j < classes; j++) se += exp((double)z[j] - m);
        double lse = m + log(se);
        total += lse - (double)z[labels[i]];
        if (arg == labels[i]) ok++;
        if (dlogits) {
            float *d = dlogits + i * classes;
            for (int64_t j = 0; j < classes; j++) {
                double p = exp((double)z[j] - lse);
                d[j] = (float)((p - (j == labels[i] ? 1.0 : 0.0)) / (double)n);
            }
        }
    }
    if (loss) *loss = n > 0 ? total / (double)n : 0.0;
    if (correct) *correct = ok;
    return DCX_OK;
}
