/* conv.c — 2-D convolution (cross-correlation, as PyTorch nn.Conv2d) with
 * stride S and zero padding P, by im2col + sgemm over chunks of samples:
 *   cols[(c·K + ky)·K + kx][s·P_out + oy·OW + ox] = x[s][c][oy·S − P + ky][ox·S − P + kx]
 *   Y (OC, c·P_out) = W (OC, C·K·K) · cols,   y[s][oc][p] = Y[oc][s·P_out + p] + b[oc]
 * Backward: with dY in the same (OC, c·P_out) layout,
 *   dW = Σ_chunks dY · colsᵀ,  db = Σ dY (double),  dcols = Wᵀ · dY,  dx = col2im(dcols).
 * A chunk holds about 2^19 column entries (2 MB), so the columns stay in
 * cache instead of streaming the whole batch's through memory; the backward
 * pass recomputes them. Output size OH = (H + 2P − K)/S + 1 (floor). */
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
/* im2col/col2im are short copy loops over rows of OW floats: let GCC
 * vectorize them (with runtime checks); vectorizing copies and element-wise
 * adds changes no result */
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
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
                        /* rows are short (OW floats): plain loops, not memcpy/memset calls */
                        if (iy < 0 || iy >= H) {
                            for (int64_t ox = 0; ox < OW; ox++) d[ox] = 0.0f;
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
                            const float *xs = xr - pad + kx;
                            for (int64_t ox = lo; ox < hi; ox++) d[ox] = xs[ox];
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

/* dx of n samples from their columns, stored with leading dimension ld */
static void col2im(const dcx__op *o, const float *cols, int64_t ld, int64_t n, float *dx)
{
    int64_t C = o->in_c, H = o->in_h, W = o->in_w, K = o->k, S = o->stride, pad = o->pad;
    int64_t OH = o->out_h, OW = o->out_w, P = OH * OW;
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

int64_t dcx__conv_chunk_max = 0;

int64_t dcx__conv_chunk(const dcx__op *o)
{
    int64_t per = o->in_c * o->k * o->k * o->out_h * o->out_w;
    int64_t c = ((int64_t)1 << 19) / per;
    if (dcx__conv_chunk_max > 0 && c > dcx__conv_chunk_max) c = dcx__conv_chunk_max;
    return c < 1 ? 1 : c;
}

dcx_status dcx__conv_forward(const dcx__op *o, const float *params, const float *x, int64_t n, float *y,
                             float *cols, float *tmp)
{
    dcx_status st = DCX_OK;
    int64_t OC = o->out_c, CKK = o->in_c * o->k * o->k, P = o->out_h * o->out_w;
    int64_t isz = o->in_c * o->in_h * o->in_w, chunk = dcx__conv_chunk(o);
    const float *b = params + o->b_off;
    for (int64_t s0 = 0; s0 < n; s0 += chunk) {
        int64_t c = n - s0 < chunk ? n - s0 : chunk, ld = c * P;
        im2col(o, x + s0 * isz, c, cols);
        DCX_TRY(dcx__sgemm(0, 0, OC, ld, CKK, 1.0f, params + o->w_off, CKK, cols, ld, 0.0f, tmp, ld));
        for (int64_t s = 0; s < c; s++)
            for (int64_t oc = 0; oc < OC; oc++) {
                const float *src = tmp + oc * ld + s * P;
                float *dst = y + ((s0 + s) * OC + oc) * P;
                float bv = b[oc];
                for (int64_t p = 0; p < P; p++) dst[p] = src[p] + bv;
            }
    }
fail:
    return st;
}

dcx_status dcx__conv_backward(const dcx__op *o, const float *params, float *grads, const float *x,
                              const float *dy, int64_t n, float *dx, float *cols, float *tmp)
{
    dcx_status st = DCX_OK;
    int64_t OC = o->out_c, CKK = o->in_c * o->k * o->k, P = o->out_h * o->out_w;
    int64_t isz = o->in_c * o->in_h * o->in_w, chunk = dcx__conv_chunk(o);
    double *db = NULL;
    DCX_ALLOC(db, OC);
    for (int64_t s0 = 0; s0 < n; s0 += chunk) {
        int64_t c = n - s0 < chunk ? n - s0 : chunk, ld = c * P;
        for (int64_t s = 0; s < c; s++)
            for (int64_t oc = 0; oc < OC; oc++) {
                float *dst = tmp + oc * ld + s * P;
                const float *src = dy + ((s0 + s) * OC + oc) * P;
                for (int64_t p = 0; p < P; p++) dst[p] = src[p];
            }
        for (int64_t oc = 0; oc < OC; oc++) {
            double sum = 0;
            for (int64_t i = 0; i < ld; i++) sum += tmp[oc * ld + i];
            db[oc] += sum;
        }
        /* columns recomputed per chunk: cheaper than keeping the whole batch's */
        im2col(o, x + s0 * isz, c, cols);
        DCX_TRY(dcx__sgemm(0, 1, OC, CKK, ld, 1.0f, tmp, ld, cols, ld, s0 ? 1.0f : 0.0f, grads + o->w_off, CKK));
        if (dx) {
            DCX_TRY(dcx__sgemm(1, 0, CKK, ld, OC, 1.0f, params + o->w_off, CKK, tmp, ld, 0.0f, cols, ld));
            col2im(o, cols, ld, c, dx + s0 * isz);
        }
    }
    for (int64_t oc = 0; oc < OC; oc++) grads[o->b_off + oc] = (float)db[oc];
fail:
    free(db);
    return st;
}
