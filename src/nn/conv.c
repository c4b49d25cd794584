/* conv.c — 2-D convolution (cross-correlation, as PyTorch nn.Conv2d) with
 * stride S and zero padding P, one sample at a time by im2col + sgemm.
 *
 * Each sample is first copied into a zero-padded buffer, so that the column
 * matrix is built from plain contiguous copies (no bounds tests). Two
 * layouts, chosen per layer by the length of those copies:
 *  - channel-major (few input channels, e.g. the 1-channel first layer): the
 *    padded input is C planes of (H+2P)×(W+2P); cols is (C·K·K, OH·OW) with
 *    rows (c, ky, kx), each a set of runs of OW floats; Y = W · cols;
 *  - pixel-major (many channels): the padded input is (H+2P)×(W+2P)×C
 *    (channels last); cols is (OH·OW, K·K·C), each row K runs of K·C floats;
 *    Y = W' · colsᵀ with W' the weights permuted to (OC, ky, kx, c).
 * Y (OC, OH·OW) is the sample's NCHW output, written in place (bias first,
 * then the product added); a following ReLU and max-pool can be applied in
 * the same pass, while the sample is in cache. Backward, per sample:
 * dW += dY · colsᵀ (or dY · cols), db += Σ dY, dcols = Wᵀ · dY (or dYᵀ · W'),
 * dx = col2im(dcols).
 *
 * Samples are split into chunks whose size depends on the batch size only
 * (dcx__conv_chunk); each chunk accumulates its own dW and db, and the
 * chunks' partial sums are added in chunk order. The chunks (and, forward,
 * groups of FWD_TASK samples) are tasks for the worker threads
 * (dcx__parallel_tasks, BLAS single-threaded inside), each task using
 * whichever thread's scratch is free: the results are the same for any
 * number of threads. */
#include <stdatomic.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
/* copy loops and element-wise adds: vectorizing them changes no result */
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include "nn_impl.h"

int64_t dcx__conv_chunk_max = 0;
int dcx__conv_layout = 0;

typedef struct {
    int64_t C, H, W, K, S, pad, OH, OW, P, OC, KKC, Hp, Wp;
    int pixel; /* pixel-major layout */
} geom;

static geom geom_of(const dcx__op *o)
{
    geom g;
    g.C = o->in_c, g.H = o->in_h, g.W = o->in_w, g.K = o->k, g.S = o->stride, g.pad = o->pad;
    g.OH = o->out_h, g.OW = o->out_w, g.P = g.OH * g.OW, g.OC = o->out_c;
    g.KKC = g.C * g.K * g.K, g.Hp = g.H + 2 * g.pad, g.Wp = g.W + 2 * g.pad;
    /* pixel-major when its runs (K·C floats) are at least as long as the
     * channel-major ones (OW floats) */
    g.pixel = dcx__conv_layout ? dcx__conv_layout == 2 : g.K * g.C >= g.OW;
    return g;
}

int64_t dcx__conv_scratch(const dcx__op *o)
{
    geom g = geom_of(o);
    return 2 * g.Hp * g.Wp * g.C + 2 * g.P * g.KKC + g.OC * g.P;
}

int64_t dcx__conv_chunk(int64_t n)
{
    int64_t c = (n + 63) / 64; /* at most 64 chunks: bounded dW partials */
    if (c < 8) c = 8;
    if (dcx__conv_chunk_max > 0 && c > dcx__conv_chunk_max) c = dcx__conv_chunk_max;
    return c;
}

/* sample x (NCHW) into the interior of the padded buffer (borders stay 0) */
static void pad_in(const geom *g, const float *x, float *xp)
{
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t iy = 0; iy < g->H; iy++) {
            const float *src = x + (c * g->H + iy) * g->W;
            if (g->pixel) {
                float *dst = xp + ((iy + g->pad) * g->Wp + g->pad) * g->C + c;
                for (int64_t ix = 0; ix < g->W; ix++) dst[ix * g->C] = src[ix];
            } else {
                float *dst = xp + (c * g->Hp + iy + g->pad) * g->Wp + g->pad;
                for (int64_t ix = 0; ix < g->W; ix++) dst[ix] = src[ix];
            }
        }
}

/* the interior of the padded gradient buffer into dx (NCHW) */
static void unpad_out(const geom *g, const float *xp, float *dx)
{
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t iy = 0; iy < g->H; iy++) {
            float *dst = dx + (c * g->H + iy) * g->W;
            if (g->pixel) {
                const float *src = xp + ((iy + g->pad) * g->Wp + g->pad) * g->C + c;
                for (int64_t ix = 0; ix < g->W; ix++) dst[ix] = src[ix * g->C];
            } else {
                const float *src = xp + (c * g->Hp + iy + g->pad) * g->Wp + g->pad;
                for (int64_t ix = 0; ix < g->W; ix++) dst[ix] = src[ix];
            }
        }
}

static void im2col(const geom *g, const float *restrict xp, float *restrict cols)
{
    const int64_t K = g->K, S = g->S, OW = g->OW;
    if (g->pixel) {
        const int64_t run = K * g->C, prow = g->Wp * g->C;
        for (int64_t oy = 0; oy < g->OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                float *d = cols + (oy * OW + ox) * g->KKC;
                const float *s = xp + (oy * S * g->Wp + ox * S) * g->C;
                for (int64_t ky = 0; ky < K; ky++)
                    for (int64_t i = 0; i < run; i++) d[ky * run + i] = s[ky * prow + i];
            }
        return;
    }
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t ky = 0; ky < K; ky++)
            for (int64_t kx = 0; kx < K; kx++) {
                float *d = cols + ((c * K + ky) * K + kx) * g->P;
                for (int64_t oy = 0; oy < g->OH; oy++) {
                    const float *s = xp + (c * g->Hp + oy * S + ky) * g->Wp + kx;
                    float *dr = d + oy * OW;
                    if (S == 1)
                        for (int64_t ox = 0; ox < OW; ox++) dr[ox] = s[ox];
                    else
                        for (int64_t ox = 0; ox < OW; ox++) dr[ox] = s[ox * S];
                }
            }
}

/* dxp (padded, zeroed by the caller) += the columns scattered back; the
 * columns are zeroed as they are read (the next sample's product adds to
 * them: cheaper than a separate pass to clear them) */
static void col2im(const geom *g, float *restrict cols, float *restrict dxp)
{
    const int64_t K = g->K, S = g->S, OW = g->OW;
    if (g->pixel) {
        const int64_t run = K * g->C, prow = g->Wp * g->C;
        for (int64_t oy = 0; oy < g->OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                float *s = cols + (oy * OW + ox) * g->KKC;
                float *d = dxp + (oy * S * g->Wp + ox * S) * g->C;
                for (int64_t ky = 0; ky < K; ky++)
                    for (int64_t i = 0; i < run; i++) {
                        d[ky * prow + i] += s[ky * run + i];
                        s[ky * run + i] = 0.0f;
                    }
            }
        return;
    }
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t ky = 0; ky < K; ky++)
            for (int64_t kx = 0; kx < K; kx++) {
                float *s = cols + ((c * K + ky) * K + kx) * g->P;
                for (int64_t oy = 0; oy < g->OH; oy++) {
                    float *d = dxp + (c * g->Hp + oy * S + ky) * g->Wp + kx;
                    float *sr = s + oy * OW;
                    if (S == 1)
                        for (int64_t ox = 0; ox < OW; ox++) d[ox] += sr[ox];
                    else
                        for (int64_t ox = 0; ox < OW; ox++) d[ox * S] += sr[ox];
                    for (int64_t ox = 0; ox < OW; ox++) sr[ox] = 0.0f;
                }
            }
}

/* One pass (forward or backward) of one layer over a batch, split in tasks. */
typedef struct {
    geom g;
    const float *w;  /* weights in the layout of g (permuted when pixel-major) */
    const float *b;  /* bias */
    const float *x;  /* (n, C·H·W) */
    const float *dy; /* backward: (n, OC·P) wrt y; with a tail, wrt its output */
    float *y;        /* forward: (n, OC·P) */
    dcx__conv_tail tail; /* fused ReLU [+ max-pool], or relu == NULL */
    float *dx;       /* backward: (n, C·H·W) or NULL */
    float *dw;       /* backward: (nchunks, OC·KKC) partial dW */
    double *db;      /* backward: (nchunks, OC) partial db */
    float *work;     /* workers × dcx__conv_scratch */
    int64_t n, chunk, nchunks, ntasks, scratch;
    int nthreads;                           /* threads running the tasks */
    atomic_int busy[DCX__CONV_MAX_WORKERS]; /* scratch slots in use */
} pass;

/* Samples per forward task. There are more tasks than threads, taken in
 * turn: a thread the scheduler starts late (a busy machine) takes fewer. */
#define FWD_TASK 8

/* A free scratch slot: at most nthreads tasks run at once, each holding one
 * slot, so one of the first nthreads is free when a task starts. */
static int take_slot(pass *ps)
{
    for (int i = 0;; i = (i + 1) % ps->nthreads)
        if (!atomic_exchange(&ps->busy[i], 1)) return i;
}

static dcx_status forward_task(void *ctx, int64_t t)
{
    dcx_status st = DCX_OK;
    pass *ps = ctx;
    const geom *g = &ps->g;
    int64_t isz = g->C * g->H * g->W, osz = g->OC * g->P, hw = g->Hp * g->Wp * g->C;
    int slot = take_slot(ps);
    float *xp = ps->work + slot * ps->scratch, *cols = xp + 2 * hw;
    memset(xp, 0, (size_t)hw * sizeof(float));
    int64_t s0 = t * FWD_TASK, s1 = s0 + FWD_TASK < ps->n ? s0 + FWD_TASK : ps->n;
    for (int64_t s = s0; s < s1; s++) {
        float *y = ps->y + s * osz;
        pad_in(g, ps->x + s * isz, xp);
        im2col(g, xp, cols);
        for (int64_t oc = 0; oc < g->OC; oc++)
            for (int64_t p = 0; p < g->P; p++) y[oc * g->P + p] = ps->b[oc];
        if (g->pixel)
            DCX_TRY(dcx__sgemm(0, 1, g->OC, g->P, g->KKC, 1.0f, ps->w, g->KKC, cols, g->KKC, 1.0f, y, g->P));
        else
            DCX_TRY(dcx__sgemm(0, 0, g->OC, g->P, g->KKC, 1.0f, ps->w, g->KKC, cols, g->P, 1.0f, y, g->P));
        if (ps->tail.relu) {
            float *r = ps->tail.relu + s * osz;
            dcx__relu_forward(y, osz, r);
            const dcx__op *pl = ps->tail.pool;
            if (pl) {
                int64_t psz = dcx__op_out_size(pl);
                dcx__pool_forward(pl, r, 1, ps->tail.pool_out + s * psz, ps->tail.argmax + s * psz);
            }
        }
    }
fail:
    atomic_store(&ps->busy[slot], 0);
    return st;
}

/* Σ v[0..n) in double, four interleaved partial sums (a fixed order) */
static double sum4(const float *v, int64_t n)
{
    double a[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) a[j] += v[i + j];
    for (; i < n; i++) a[0] += v[i];
    return (a[0] + a[1]) + (a[2] + a[3]);
}

static dcx_status backward_task(void *ctx, int64_t t)
{
    dcx_status st = DCX_OK;
    pass *ps = ctx;
    const geom *g = &ps->g;
    int64_t isz = g->C * g->H * g->W, osz = g->OC * g->P, hw = g->Hp * g->Wp * g->C;
    int slot = take_slot(ps);
    float *xp = ps->work + slot * ps->scratch, *dxp = xp + hw, *cols = xp + 2 * hw, *dcols = cols + g->P * g->KKC;
    float *dym = dcols + g->P * g->KKC;
    memset(xp, 0, (size_t)hw * sizeof(float));
    memset(dcols, 0, (size_t)(g->P * g->KKC) * sizeof(float));
    int64_t ch = t; /* task t: chunk t */
    float *dw = ps->dw + ch * g->OC * g->KKC;
    double *db = ps->db + ch * g->OC;
    int64_t s1 = (ch + 1) * ps->chunk < ps->n ? (ch + 1) * ps->chunk : ps->n;
    for (int64_t s = ch * ps->chunk; s < s1; s++) {
        const float *dy = ps->dy + s * osz;
        if (ps->tail.relu) {
            const float *r = ps->tail.relu + s * osz;
            const dcx__op *pl = ps->tail.pool;
            if (pl) {
                /* through the pool, then the ReLU's mask in place */
                int64_t psz = dcx__op_out_size(pl);
                dcx__pool_backward(pl, ps->dy + s * psz, ps->tail.argmax + s * psz, 1, dym);
                for (int64_t i = 0; i < osz; i++) dym[i] = r[i] > 0.0f ? dym[i] : 0.0f;
            } else {
                dcx__relu_backward(r, dy, osz, dym);
            }
            dy = dym;
        }
        float beta = s == ch * ps->chunk ? 0.0f : 1.0f;
        pad_in(g, ps->x + s * isz, xp);
        im2col(g, xp, cols);
        if (g->pixel)
            DCX_TRY(dcx__sgemm(0, 0, g->OC, g->KKC, g->P, 1.0f, dy, g->P, cols, g->KKC, beta, dw, g->KKC));
        else
            DCX_TRY(dcx__sgemm(0, 1, g->OC, g->KKC, g->P, 1.0f, dy, g->P, cols, g->P, beta, dw, g->KKC));
        for (int64_t oc = 0; oc < g->OC; oc++) db[oc] += sum4(dy + oc * g->P, g->P);
        if (!ps->dx) continue;
        if (g->pixel)
            DCX_TRY(dcx__sgemm(1, 0, g->P, g->KKC, g->OC, 1.0f, dy, g->P, ps->w, g->KKC, 1.0f, dcols, g->KKC));
        else
            DCX_TRY(dcx__sgemm(1, 0, g->KKC, g->P, g->OC, 1.0f, ps->w, g->KKC, dy, g->P, 1.0f, dcols, g->P));
        memset(dxp, 0, (size_t)hw * sizeof(float));
        col2im(g, dcols, dxp); /* leaves dcols zero */
        unpad_out(g, dxp, ps->dx + s * isz);
    }
fail:
    atomic_store(&ps->busy[slot], 0);
    return st;
}

/* W (OC, C, K, K) → W' (OC, K, K, C) */
static void permute_w(const geom *g, const float *w, float *wp)
{
    int64_t KK = g->K * g->K;
    for (int64_t oc = 0; oc < g->OC; oc++)
        for (int64_t c = 0; c < g->C; c++)
            for (int64_t q = 0; q < KK; q++) wp[oc * g->KKC + q * g->C + c] = w[(oc * g->C + c) * KK + q];
}

static int threads_for(int64_t ntasks, int workers)
{
    int64_t t = workers < 1 ? 1 : workers > DCX__CONV_MAX_WORKERS ? DCX__CONV_MAX_WORKERS : workers;
    return (int)(t < ntasks ? t : ntasks);
}

dcx_status dcx__conv_forward(const dcx__op *o, const float *params, const float *x, int64_t n, float *y,
                             const dcx__conv_tail *tail, float *work, int workers)
{
    dcx_status st = DCX_OK;
    float *wp = NULL;
    pass ps = {.g = geom_of(o), .b = params + o->b_off, .x = x, .y = y, .work = work, .n = n,
               .scratch = dcx__conv_scratch(o)};
    if (tail) ps.tail = *tail;
    ps.w = params + o->w_off;
    if (ps.g.pixel) {
        DCX_ALLOC(wp, ps.g.OC * ps.g.KKC);
        permute_w(&ps.g, params + o->w_off, wp);
        ps.w = wp;
    }
    ps.ntasks = (n + FWD_TASK - 1) / FWD_TASK;
    ps.nthreads = threads_for(ps.ntasks, workers);
    DCX_TRY(dcx__parallel_tasks(ps.ntasks, ps.nthreads, forward_task, &ps, NULL, NULL));
fail:
    free(wp);
    return st;
}

dcx_status dcx__conv_backward(const dcx__op *o, const float *params, float *grads, const float *x,
                              const float *dy, const dcx__conv_tail *tail, int64_t n, float *dx, float *work,
                              int workers)
{
    dcx_status st = DCX_OK;
    float *wp = NULL;
    pass ps = {.g = geom_of(o), .x = x, .dy = dy, .dx = dx, .work = work, .n = n,
               .scratch = dcx__conv_scratch(o)};
    const geom *g = &ps.g;
    int64_t wsz = g->OC * g->KKC;
    if (tail) ps.tail = *tail;
    ps.chunk = dcx__conv_chunk(n);
    ps.nchunks = (n + ps.chunk - 1) / ps.chunk;
    ps.ntasks = ps.nchunks;
    ps.w = params + o->w_off;
    if (g->pixel) {
        DCX_ALLOC(wp, wsz);
        permute_w(g, params + o->w_off, wp);
        ps.w = wp;
    }
    DCX_ALLOC(ps.dw, ps.nchunks * wsz);
    DCX_ALLOC(ps.db, ps.nchunks * g->OC);
    ps.nthreads = threads_for(ps.ntasks, workers);
    DCX_TRY(dcx__parallel_tasks(ps.ntasks, ps.nthreads, backward_task, &ps, NULL, NULL));
    /* the chunks' partial sums, in chunk order (and back to (OC, C, K, K)) */
    int64_t KK = g->K * g->K;
    float *gw = grads + o->w_off;
    for (int64_t j = 0; j < wsz; j++) {
        double sum = 0;
        for (int64_t ch = 0; ch < ps.nchunks; ch++) sum += ps.dw[ch * wsz + j];
        if (g->pixel) {
            int64_t oc = j / g->KKC, q = (j % g->KKC) / g->C, c = j % g->C;
            gw[(oc * g->C + c) * KK + q] = (float)sum;
        } else {
            gw[j] = (float)sum;
        }
    }
    for (int64_t oc = 0; oc < g->OC; oc++) {
        double sum = 0;
        for (int64_t ch = 0; ch < ps.nchunks; ch++) sum += ps.db[ch * g->OC + oc];
        grads[o->b_off + oc] = (float)sum;
    }
fail:
    free(wp);
    free(ps.dw);
    free(ps.db);
    return st;
}
