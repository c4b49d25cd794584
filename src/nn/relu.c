/* relu.c — rectifier y = max(x, 0). The backward pass uses the output: the
 * gradient passes where y > 0 (the subgradient at 0 is taken as 0, as in
 * PyTorch). */
#if defined(__GNUC__) && !defined(__clang__)
/* plain element-wise selects: vectorizing them changes no result (no
 * reassociation), and these loops are memory-bound passes over whole
 * activations */
#pragma GCC optimize("tree-vectorize")
#endif
#include "nn_impl.h"

void dcx__relu_forward(const float *restrict x, int64_t count, float *restrict y)
{
    for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void dcx__relu_backward(const float *restrict y, const float *restrict dy, int64_t count, float *restrict dx)
{
    for (int64_t i = 0; i < count; i++) {
        float d = dy[i]; /* unconditional load: the loop vectorizes as a select */
        dx[i] = y[i] > 0.0f ? d : 0.0f;
    }
}
