/* pool.c — K x K max-pool with stride K (no padding; a trailing partial
 * window is dropped, as PyTorch's MaxPool2d(K)). The forward pass records the
 * position of each maximum (the first one on ties) and the backward pass
 * routes the gradient to it. */
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nn_impl.h"

/* One plane, any k: the first maximum of each window wins; a NaN wins. */
static void generic_plane(int64_t k, int64_t H, int64_t W, int64_t OH, int64_t OW, const float *xp, float *yp,
                          int32_t *ap)
{
    (void)H;
    for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox = 0; ox < OW; ox++) {
            int64_t best = oy * k * W + ox * k;
            float bv = xp[best];
            for (int64_t dy = 0; dy < k; dy++)
                for (int64_t dx = 0; dx < k; dx++) {
                    int64_t idx = (oy * k + dy) * W + ox * k + dx;
                    if (xp[idx] > bv || (xp[idx] != xp[idx] && bv == bv)) {
                        bv = xp[idx];
                        best = idx;
                    }
                }
            yp[oy * OW + ox] = bv;
            ap[oy * OW + ox] = (int32_t)best;
        }
}

void dcx__pool_forward(const dcx__op *o, const float *x, int64_t n, float *y, int32_t *argmax)
{
    int64_t k = o->k, H = o->in_h, W = o->in_w, OH = o->out_h, OW = o->out_w;
    if (k == 2) {
        /* the common case, unrolled and branch-free (random data would
         * mispredict every comparison). NaN is detected per plane without
         * branches; a plane holding one is redone by the generic loop below,
         * which lets a NaN win. */
        for (int64_t s = 0; s < n * o->in_c; s++) {
            const float *xp = x + s * H * W;
            float *yp = y + s * OH * OW;
            int32_t *ap = argmax + s * OH * OW;
            int nan = 0;
            for (int64_t oy = 0; oy < OH; oy++) {
                const float *r0 = xp + 2 * oy * W, *r1 = r0 + W;
                int32_t base = (int32_t)(2 * oy * W);
                int64_t ox = 0;
#if defined(__SSE2__)
                /* four windows at a time, the same selections as below:
                 * maxps(a, b) is exactly a > b ? a : b */
                __m128 nanv = _mm_setzero_ps();
                for (; ox + 4 <= OW; ox += 4) {
                    __m128 u0 = _mm_loadu_ps(r0 + 2 * ox), u1 = _mm_loadu_ps(r0 + 2 * ox + 4);
                    __m128 v0 = _mm_loadu_ps(r1 + 2 * ox), v1 = _mm_loadu_ps(r1 + 2 * ox + 4);
                    __m128 a0 = _mm_shuffle_ps(u0, u1, _MM_SHUFFLE(2, 0, 2, 0));
                    __m128 a1 = _mm_shuffle_ps(u0, u1, _MM_SHUFFLE(3, 1, 3, 1));
                    __m128 a2 = _mm_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
                    __m128 a3 = _mm_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
                    nanv = _mm_or_ps(nanv, _mm_or_ps(_mm_cmpunord_ps(a0, a1), _mm_cmpunord_ps(a2, a3)));
                    __m128i i0 = _mm_add_epi32(_mm_set1_epi32(base + (int32_t)(2 * ox)), _mm_setr_epi32(0, 2, 4, 6));
                    __m128i i01 = _mm_sub_epi32(i0, _mm_castps_si128(_mm_cmpgt_ps(a1, a0)));
                    __m128i i23 = _mm_sub_epi32(_mm_add_epi32(i0, _mm_set1_epi32((int32_t)W)),
                                                _mm_castps_si128(_mm_cmpgt_ps(a3, a2)));
                    __m128 b01 = _mm_max_ps(a1, a0), b23 = _mm_max_ps(a3, a2);
                    __m128i m = _mm_castps_si128(_mm_cmpgt_ps(b23, b01));
                    _mm_storeu_ps(yp + oy * OW + ox, _mm_max_ps(b23, b01));
                    _mm_storeu_si128((__m128i *)(ap + oy * OW + ox),
                                     _mm_or_si128(_mm_and_si128(m, i23), _mm_andnot_si128(m, i01)));
                }
                nan |= _mm_movemask_ps(nanv) != 0;
#endif
                for (; ox < OW; ox++) {
                    int32_t i0 = base + (int32_t)(2 * ox);
                    float a0 = r0[2 * ox], a1 = r0[2 * ox + 1], a2 = r1[2 * ox], a3 = r1[2 * ox + 1];
                    nan |= (a0 != a0) | (a1 != a1) | (a2 != a2) | (a3 != a3);
                    /* the comparisons as 0/1 integers and the selects as
                     * masks, so that GCC emits no branches */
                    int32_t m01 = a1 > a0, m23 = a3 > a2;
                    float b01 = a1 > a0 ? a1 : a0, b23 = a3 > a2 ? a3 : a2;
                    int32_t i01 = i0 + m01, i23 = i0 + (int32_t)W + m23;
                    int32_t m = -(int32_t)(b23 > b01);
                    yp[oy * OW + ox] = b23 > b01 ? b23 : b01;
                    ap[oy * OW + ox] = i01 ^ ((i01 ^ i23) & m);
                }
            }
            if (nan) generic_plane(k, H, W, OH, OW, xp, yp, ap);
        }
        return;
    }
    for (int64_t s = 0; s < n * o->in_c; s++)
        generic_plane(k, H, W, OH, OW, x + s * H * W, y + s * OH * OW, argmax + s * OH * OW);
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
