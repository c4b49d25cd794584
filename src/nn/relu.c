/* relu.c — rectifier y = max(x, 0). The backward pass uses the output: the
 * gradient passes where y > 0 (the subgradient at 0 is taken as 0, as in
 * PyTorch). */
#include "nn_impl.h"

void dcx__relu_forward(const float *x, int64_t count, float *y)
{
    for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void dcx__relu_backward(const float *y, const float *dy, int64_t count, float *dx)
{
    for (int64_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
