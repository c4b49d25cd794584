/* dense.c — fully connected layer y = x Wᵀ + b (PyTorch nn.Linear layout:
 * W is (out, in)). Backward: dW = dyᵀ x, db = Σ_batch dy (in double),
 * dx = dy W. All products through dcx__sgemm. */
#include <string.h>

#include "nn_impl.h"

dcx_status dcx__dense_forward(const dcx__op *o, const float *params, const float *x, int64_t n, float *y)
{
    int64_t in = dcx__op_in_size(o), out = dcx__op_out_size(o);
    const float *w = params + o->w_off, *b = params + o->b_off;
    for (int64_t i = 0; i < n; i++) memcpy(y + i * out, b, (size_t)out * sizeof(float));
    return dcx__sgemm(0, 1, n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

dcx_status dcx__dense_backward(const dcx__op *o, const float *params, float *grads, const float *x,
                               const float *dy, int64_t n, float *dx)
{
    dcx_status st = DCX_OK;
    int64_t in = dcx__op_in_size(o), out = dcx__op_out_size(o);
    DCX_TRY(dcx__sgemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 0.0f, grads + o->w_off, in));
    float *db = grads + o->b_off;
    for (int64_t j = 0; j < out; j++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += dy[i * out + j];
        db[j] = (float)s;
    }
    if (dx) DCX_TRY(dcx__sgemm(0, 0, n, in, out, 1.0f, dy, out, params + o->w_off, in, 0.0f, dx, in));
fail:
    return st;
}

dcx_status dcx__dense_backward_block(const dcx__op *o, const float *params, float *grads, const float *x,
                                     const float *dy, int64_t n, float *dx, int block, int nblocks)
{
    dcx_status st = DCX_OK;
    int64_t in = dcx__op_in_size(o), out = dcx__op_out_size(o);
    if (block < nblocks) {
        /* rows [j0, j1) of dW and db */
        int64_t j0 = block * out / nblocks, j1 = (block + 1) * out / nblocks;
        DCX_TRY(dcx__sgemm(1, 0, j1 - j0, in, n, 1.0f, dy + j0, out, x, in, 0.0f, grads + o->w_off + j0 * in, in));
        float *db = grads + o->b_off;
        for (int64_t j = j0; j < j1; j++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += dy[i * out + j];
            db[j] = (float)s;
        }
    } else if (dx) {
        /* rows [i0, i1) of dx */
        int64_t b = block - nblocks, i0 = b * n / nblocks, i1 = (b + 1) * n / nblocks;
        DCX_TRY(dcx__sgemm(0, 0, i1 - i0, in, out, 1.0f, dy + i0 * out, out, params + o->w_off, in, 0.0f, dx + i0 * in,
                           in));
    }
fail:
    return st;
}
