/* pool.c — K x K max-pool with stride K (no padding; a trailing partial
 * window is dropped, as PyTorch's MaxPool2d(K)). The forward pass records the
 * position of each maximum (the first one on ties) and the backward pass
 * routes the gradient to it. */
#include <math.h>

#include "nn_impl.h"

void dcx__pool_forward(const dcx__op *o, const float *x, int64_t n, float *y, int32_t *argmax)
{
    int64_t k = o->k, H = o->in_h, W = o->in_w, OH = o->out_h, OW = o->out_w;
    if (k == 2) {
        /* the common case, unrolled; same tie and NaN rules as below */
        for (int64_t s = 0; s < n * o->in_c; s++) {
            const float *xp = x + s * H * W;
            float *yp = y + s * OH * OW;
            int32_t *ap = argmax + s * OH * OW;
            for (int64_t oy = 0; oy < OH; oy++) {
                const float *r0 = xp + 2 * oy * W, *r1 = r0 + W;
                for (int64_t ox = 0; ox < OW; ox++) {
                    float c[4] = {r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
                    int64_t off[4] = {2 * oy * W + 2 * ox, 2 * oy * W + 2 * ox + 1, (2 * oy + 1) * W + 2 * ox,
                                      (2 * oy + 1) * W + 2 * ox + 1};
                    int b = 0;
                    for (int q = 1; q < 4; q++)
                        if (c[q] > c[b] || (isnan(c[q]) && !isnan(c[b]))) b = q;
                    yp[oy * OW + ox] = c[b];
                    ap[oy * OW + ox] = (int32_t)off[b];
                }
            }
        }
        return;
    }
    for (int64_t s = 0; s < n * o->in_c; s++) {
        const float *xp = x + s * H * W;
        float *yp = y + s * OH * OW;
        int32_t *ap = argmax + s * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t best = oy * k * W + ox * k;
                float bv = xp[best];
                for (int64_t dy = 0; dy < k; dy++)
                    for (int64_t dx = 0; dx < k; dx++) {
                        int64_t idx = (oy * k + dy) * W + ox * k + dx;
                        /* NaN propagates like PyTorch: a NaN wins */
                        if (xp[idx] > bv || (isnan(xp[idx]) && !isnan(bv))) {
                            bv = xp[idx];
                            best = idx;
                        }
                    }
                yp[oy * OW + ox] = bv;
                ap[oy * OW + ox] = (int32_t)best;
            }
    }
}

void dcx__pool_backward(const dcx__op *o, const float *dy, const int32_t *argmax, int64_t n, float *dx)
{
    int64_t HW = o->in_h * o->in_w, P = o->out_h * o->out_w;
    for (int64_t s = 0; s < n * o->in_c; s++) {
        float *dxp = dx + s * HW;
        for (int64_t i = 0; i < HW; i++) dxp[i] = 0.0f;
        for (int64_t p = 0; p < P; p++) dxp[argmax[s * P + p]] += dy[s * P + p];
    }
}
