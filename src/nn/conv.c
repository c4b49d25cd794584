/* conv.c — 2-D convolution (cross-correlation, as PyTorch nn.Conv2d) with
 * stride S and zero padding P, by im2col + one sgemm for the whole batch:
 *   cols[(c·K + ky)·K + kx][s·P_out + oy·OW + ox] = x[s][c][oy·S − P + ky][ox·S − P + kx]
 *   Y (OC, n·P_out) = W (OC, C·K·K) · cols,   y[s][oc][p] = Y[oc][s·P_out + p] + b[oc]
 * Backward: with dY in the same (OC, n·P_out) layout,
 *   dW = dY · colsᵀ,  db = Σ dY (double),  dcols = Wᵀ · dY,  dx = col2im(dcols).
 * Each conv layer keeps its own column buffer from the forward pass for
 * the backward pass; dcols overwrites it there.
 * Output size OH = (H + 2P − K)/S + 1 (floor), likewise OW. */
#include <string.h>

#include "nn_impl.h"

static void im2col(const dcx__op *o, const float *x, int64_t n, float *cols)
{
    int64_t C = o->in_c, H = o->in_h, W = o->in_w, K = o->k, S = o->stride, pad = o->pad;
    int64_t OH = o->out_h, OW = o->out_w, P = OH * OW, ld = n * P;
    for (int64_t c = 0; c < C; c++)
        for (int64_t ky = 0; ky < K; ky++)
            for (int64_t kx = 0; kx < K; kx++) {
                float *row = cols + ((c * K + ky) * K + kx) * ld;
                for (int64_t s = 0; s < n; s++) {
                    const float *xp = x + (s * C + c) * H * W;
                    float *dst = row + s * P;
                    for (int64_t oy = 0; oy < OH; oy++) {
                        int64_t iy = oy * S - pad + ky;
                        float *d = dst + oy * OW;
                        if (iy < 0 || iy >= H) {
                            memset(d, 0, (size_t)OW * sizeof(float));
                            continue;
                        }
                        const float *xr = xp + iy * W;
                        if (S == 1) {
                            /* valid ox: 0 <= ox - pad + kx < W */
                            int64_t lo = pad - kx, hi = W + pad - kx; /* [lo, hi) */
                            if (lo < 0) lo = 0;
                            if (hi > OW) hi = OW;
                            if (lo > OW) lo = OW;
                            for (int64_t ox = 0; ox < lo; ox++) d[ox] = 0.0f;
                            if (hi > lo) memcpy(d + lo, xr + lo - pad + kx, (size_t)(hi - lo) * sizeof(float));
                            for (int64_t ox = hi > lo ? hi : lo; ox < OW; ox++) d[ox] = 0.0f;
                        } else {
                            for (int64_t ox = 0; ox < OW; ox++) {
                                int64_t ix = ox * S - pad + kx;
                                d[ox] = (ix >= 0 && ix < W) ? xr[ix] : 0.0f;
                            }
                        }
                    }
                }
            }
}

static void col2im(const dcx__op *o, const float *cols, int64_t n, float *dx)
{
    int64_t C = o->in_c, H = o->in_h, W = o->in_w, K = o->k, S = o->stride, pad = o->pad;
    int64_t OH = o->out_h, OW = o->out_w, P = OH * OW, ld = n * P;
    memset(dx, 0, (size_t)(n * C * H * W) * sizeof(float));
    for (int64_t c = 0; c < C; c++)
        for (int64_t ky = 0; ky < K; ky++)
            for (int64_t kx = 0; kx < K; kx++) {
                const float *row = cols + ((c * K + ky) * K + kx) * ld;
                for (int64_t s = 0; s < n; s++) {
                    float *xp = dx + (s * C + c) * H * W;
                    const float *src = row + s * P;
                    for (int64_t oy = 0; oy < OH; oy++) {
                        int64_t iy = oy * S - pad + ky;
                        if (iy < 0 || iy >= H) continue;
                        float *xr = xp + iy * W;
                        const float *sr = src + oy * OW;
                        if (S == 1) {
                            int64_t lo = pad - kx, hi = W + pad - kx; /* valid ox: [lo, hi) */
                            if (lo < 0) lo = 0;
                            if (hi > OW) hi = OW;
                            float *xd = xr - pad + kx;
                            for (int64_t ox = lo; ox < hi; ox++) xd[ox] += sr[ox];
                            continue;
                        }
                        for (int64_t ox = 0; ox < OW; ox++) {
                            int64_t ix = ox * S - pad + kx;
                            if (ix >= 0 && ix < W) xr[ix] += sr[ox];
                        }
                    }
                }
            }
}

dcx_status dcx__conv_forward(const dcx__op *o, const float *params, const float *x, int64_t n, float *y,
                             float *cols, float *tmp)
{
    dcx_status st = DCX_OK;
    int64_t OC = o->out_c, CKK = o->in_c * o->k * o->k, P = o->out_h * o->out_w, ld = n * P;
    const float *b = params + o->b_off;
    im2col(o, x, n, cols);
    DCX_TRY(dcx__sgemm(0, 0, OC, ld, CKK, 1.0f, params + o->w_off, CKK, cols, ld, 0.0f, tmp, ld));
    for (int64_t s = 0; s < n; s++)
        for (int64_t oc = 0; oc < OC; oc++) {
            const float *src = tmp + oc * ld + s * P;
            float *dst = y + (s * OC + oc) * P;
            float bv = b[oc];
            for (int64_t p = 0; p < P; p++) dst[p] = src[p] + bv;
        }
fail:
    return st;
}

dcx_status dcx__conv_backward(const dcx__op *o, const float *params, float *grads, const float *x,
                              const float *dy, int64_t n, float *dx, float *cols, float *tmp)
{
    dcx_status st = DCX_OK;
    int64_t OC = o->out_c, CKK = o->in_c * o->k * o->k, P = o->out_h * o->out_w, ld = n * P;
    for (int64_t s = 0; s < n; s++)
        for (int64_t oc = 0; oc < OC; oc++)
            memcpy(tmp + oc * ld + s * P, dy + (s * OC + oc) * P, (size_t)P * sizeof(float));
    /* cols still holds this layer's im2col of x from the forward pass */
    DCX_TRY(dcx__sgemm(0, 1, OC, CKK, ld, 1.0f, tmp, ld, cols, ld, 0.0f, grads + o->w_off, CKK));
    float *db = grads + o->b_off;
    for (int64_t oc = 0; oc < OC; oc++) {
        double s = 0;
        for (int64_t i = 0; i < ld; i++) s += tmp[oc * ld + i];
        db[oc] = (float)s;
    }
    if (dx) {
        DCX_TRY(dcx__sgemm(1, 0, CKK, ld, OC, 1.0f, params + o->w_off, CKK, tmp, ld, 0.0f, cols, ld));
        col2im(o, cols, n, dx);
    }
fail:
    return st;
}
