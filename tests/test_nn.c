/* test_nn.c — layers and networks of src/nn: finite-difference gradient
 * checks in DOUBLE. Each float layer kernel is compared against a
 * double-precision reference forward pass written here independently (naive
 * loops): its outputs must agree, and its analytic gradients (parameters and
 * input) must match central differences of the double reference. Points where
 * a perturbation flips a ReLU or changes a max-pool winner are skipped. Also:
 * the architecture parser (shapes, names, error messages) and He init. */
#include "testutil.h"

#include "nn/nn_impl.h"

/* ---- double reference of one op ---- */
static void ref_op(const dcx__op *o, const double *P, const double *x, int64_t n, double *y, int *mask)
{
    int64_t isz = dcx__op_in_size(o), osz = dcx__op_out_size(o);
    switch (o->kind) {
    case DCX__OP_DENSE:
        for (int64_t s = 0; s < n; s++)
            for (int64_t j = 0; j < osz; j++) {
                double a = P[o->b_off + j];
                for (int64_t i = 0; i < isz; i++) a += P[o->w_off + j * isz + i] * x[s * isz + i];
                y[s * osz + j] = a;
            }
        break;
    case DCX__OP_CONV:
        for (int64_t s = 0; s < n; s++)
            for (int64_t oc = 0; oc < o->out_c; oc++)
                for (int64_t oy = 0; oy < o->out_h; oy++)
                    for (int64_t ox = 0; ox < o->out_w; ox++) {
                        double a = P[o->b_off + oc];
                        for (int64_t c = 0; c < o->in_c; c++)
                            for (int64_t ky = 0; ky < o->k; ky++)
                                for (int64_t kx = 0; kx < o->k; kx++) {
                                    int64_t iy = oy * o->stride - o->pad + ky, ix = ox * o->stride - o->pad + kx;
                                    if (iy < 0 || ix < 0 || iy >= o->in_h || ix >= o->in_w) continue;
                                    a += P[o->w_off + ((oc * o->in_c + c) * o->k + ky) * o->k + kx] *
                                         x[((s * o->in_c + c) * o->in_h + iy) * o->in_w + ix];
                                }
                        y[((s * o->out_c + oc) * o->out_h + oy) * o->out_w + ox] = a;
                    }
        break;
    case DCX__OP_RELU:
        for (int64_t i = 0; i < n * osz; i++) {
            y[i] = x[i] > 0 ? x[i] : 0;
            if (mask) mask[i] = x[i] > 0;
        }
        break;
    case DCX__OP_POOL:
        for (int64_t s = 0; s < n * o->in_c; s++)
            for (int64_t oy = 0; oy < o->out_h; oy++)
                for (int64_t ox = 0; ox < o->out_w; ox++) {
                    double b = -INFINITY;
                    int arg = 0;
                    for (int64_t dy = 0; dy < o->k; dy++)
                        for (int64_t dx = 0; dx < o->k; dx++) {
                            int64_t idx = (oy * o->k + dy) * o->in_w + ox * o->k + dx;
                            if (x[s * o->in_h * o->in_w + idx] > b) {
                                b = x[s * o->in_h * o->in_w + idx];
                                arg = (int)idx;
                            }
                        }
                    int64_t q = (s * o->out_h + oy) * o->out_w + ox;
                    y[q] = b;
                    if (mask) mask[q] = arg;
                }
        break;
    case DCX__OP_FLATTEN:
        memcpy(y, x, (size_t)(n * isz) * sizeof(double));
        break;
    }
}

static double ref_xent(const double *z, const int32_t *lab, int64_t n, int64_t k)
{
    double L = 0;
    for (int64_t i = 0; i < n; i++) {
        double m = z[i * k];
        for (int64_t j = 1; j < k; j++) m = fmax(m, z[i * k + j]);
        double s = 0;
        for (int64_t j = 0; j < k; j++) s += exp(z[i * k + j] - m);
        L += m + log(s) - z[i * k + lab[i]];
    }
    return L / (double)n;
}

/* Whole-network reference loss; masks (ReLU signs, pool winners) appended to
 * `sig` so that a finite difference crossing a kink can be detected. */
static double ref_net_loss(const dcx_net *net, const double *P, const double *x, int64_t n, const int32_t *lab,
                           int *sig, int64_t *nsig)
{
    int64_t maxsz = dcx_net_input_size(net);
    for (int i = 0; i < net->nops; i++)
        if (dcx__op_out_size(&net->ops[i]) > maxsz) maxsz = dcx__op_out_size(&net->ops[i]);
    double *a = calloc((size_t)(n * maxsz), sizeof(double)), *b = calloc((size_t)(n * maxsz), sizeof(double));
    memcpy(a, x, (size_t)(n * dcx_net_input_size(net)) * sizeof(double));
    int64_t ns = 0;
    for (int i = 0; i < net->nops; i++) {
        const dcx__op *o = &net->ops[i];
        int m = o->kind == DCX__OP_RELU || o->kind == DCX__OP_POOL;
        ref_op(o, P, a, n, b, m ? sig + ns : NULL);
        if (m) ns += n * dcx__op_out_size(o);
        double *t = a;
        a = b;
        b = t;
    }
    double L = ref_xent(a, lab, n, net->classes);
    *nsig = ns;
    free(a);
    free(b);
    return L;
}

static void fill_uniform(dcx_rng *r, float *v, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++) v[i] = (float)(scale * (2 * dcx_rng_uniform(r) - 1));
}

static int close_enough(double a, double b) { return fabs(a - b) <= 2e-3 * fmax(fabs(a), fabs(b)) + 2e-5; }

/* Gradient check of a whole network (loss wrt every parameter). */
static void check_net(const char *arch, int64_t c, int64_t h, int64_t w, int64_t classes, int64_t n)
{
    dcx_net *net;
    ASSERT_OK(dcx_net_create(arch, c, h, w, classes, &net));
    dcx_rng r;
    dcx_rng_seed(&r, 42);
    dcx_net_init(net, &r);
    int64_t np = dcx_net_num_params(net), isz = dcx_net_input_size(net);
    float *p = dcx_net_params(net);
    for (int64_t i = 0; i < np; i++) p[i] += (float)(0.05 * dcx_rng_normal(&r)); /* non-zero biases */
    float *x = malloc((size_t)(n * isz) * sizeof(float));
    fill_uniform(&r, x, n * isz, 1.0);
    int32_t *lab = malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) lab[i] = (int32_t)dcx_rng_below(&r, (uint64_t)classes);

    double loss;
    ASSERT_OK(dcx_net_forward(net, x, n));
    ASSERT_OK(dcx_net_loss(net, lab, &loss, NULL));
    ASSERT_OK(dcx_net_backward(net));

    double *P = malloc((size_t)np * sizeof(double)), *X = malloc((size_t)(n * isz) * sizeof(double));
    for (int64_t i = 0; i < np; i++) P[i] = p[i];
    for (int64_t i = 0; i < n * isz; i++) X[i] = x[i];
    int64_t nsig, nsig2;
    int *sig0 = calloc(1 << 20, sizeof(int)), *sig1 = calloc(1 << 20, sizeof(int)), *sig2 = calloc(1 << 20, sizeof(int));
    double L0 = ref_net_loss(net, P, X, n, lab, sig0, &nsig);
    ASSERT_NEAR(loss, L0, 1e-5 * fabs(L0) + 1e-6);

    const float *g = dcx_net_grads(net);
    int64_t checked = 0, skipped = 0, bad = 0;
    double worst = 0;
    const double eps = 1e-6;
    for (int64_t i = 0; i < np; i++) {
        double save = P[i];
        P[i] = save + eps;
        double Lp = ref_net_loss(net, P, X, n, lab, sig1, &nsig2);
        P[i] = save - eps;
        double Lm = ref_net_loss(net, P, X, n, lab, sig2, &nsig2);
        P[i] = save;
        if (memcmp(sig0, sig1, (size_t)nsig * sizeof(int)) || memcmp(sig0, sig2, (size_t)nsig * sizeof(int))) {
            skipped++;
            continue;
        }
        double num = (Lp - Lm) / (2 * eps);
        double d = fabs(num - g[i]) / fmax(fabs(num), 1e-3);
        if (d > worst) worst = d;
        if (!close_enough(num, g[i])) {
            if (bad++ < 5) print_message("%s: param %lld: analytic %.8g numeric %.8g\n", arch, (long long)i, g[i], num);
        }
        checked++;
    }
    print_message("%s: %lld params checked, %lld skipped (kinks), worst rel diff %.3g\n", arch, (long long)checked,
                  (long long)skipped, worst);
    assert_int_equal(bad, 0);
    assert_true(checked > np * 9 / 10);
    free(sig0);
    free(sig1);
    free(sig2);
    free(P);
    free(X);
    free(x);
    free(lab);
    dcx_net_free(net);
}

static void test_grad_mlp(void **state)
{
    (void)state;
    check_net("mlp:7,5", 1, 1, 6, 4, 5);
}

static void test_grad_cnn(void **state)
{
    (void)state;
    /* conv with padding and stride, pool, a second conv, fc, final dense */
    check_net("cnn:c3k3p1s2,c4k2p1,pool2,fc6", 2, 7, 7, 3, 3);
    /* the same with the batch split into im2col chunks of 2 samples (the
     * weight gradient accumulates over chunks) */
    dcx__conv_chunk_max = 2;
    check_net("cnn:c3k3p1s2,c4k2p1,pool2,fc6", 2, 7, 7, 3, 5);
    /* and with each column layout forced on both convs */
    for (int layout = 1; layout <= 2; layout++) {
        dcx__conv_layout = layout;
        check_net("cnn:c3k3p1s2,c4k2p1,pool2,fc6", 2, 7, 7, 3, 5);
    }
    dcx__conv_layout = 0;
    dcx__conv_chunk_max = 0;
}

/* Per-layer check: L = Σ g ⊙ layer(x) with a fixed random g; gradients wrt
 * the input and the layer's parameters against central differences of the
 * double reference of that layer alone. */
static void check_op(dcx__op *o, int64_t n)
{
    dcx_rng r;
    dcx_rng_seed(&r, 7);
    int64_t isz = dcx__op_in_size(o), osz = dcx__op_out_size(o), np = 0;
    if (o->kind == DCX__OP_DENSE || o->kind == DCX__OP_CONV) {
        int64_t wc = o->kind == DCX__OP_DENSE ? osz * isz : o->out_c * o->in_c * o->k * o->k;
        o->w_off = 0;
        o->b_off = wc;
        np = wc + o->out_c;
    }
    float *p = calloc((size_t)np + 1, sizeof(float)), *gp = calloc((size_t)np + 1, sizeof(float));
    float *x = calloc((size_t)(n * isz), sizeof(float)), *y = calloc((size_t)(n * osz), sizeof(float));
    float *gy = calloc((size_t)(n * osz), sizeof(float)), *gx = calloc((size_t)(n * isz), sizeof(float));
    int32_t *am = calloc((size_t)(n * osz), sizeof(int32_t));
    /* conv scratch for two worker threads */
    int64_t wsz = o->kind == DCX__OP_CONV ? 2 * dcx__conv_scratch(o) : 1;
    float *work = calloc((size_t)wsz, sizeof(float));
    fill_uniform(&r, p, np, 0.5);
    fill_uniform(&r, x, n * isz, 1.0);
    fill_uniform(&r, gy, n * osz, 1.0);
    switch (o->kind) {
    case DCX__OP_DENSE:
        ASSERT_OK(dcx__dense_forward(o, p, x, n, y));
        ASSERT_OK(dcx__dense_backward(o, p, gp, x, gy, n, gx));
        break;
    case DCX__OP_CONV:
        ASSERT_OK(dcx__conv_forward(o, p, x, n, y, NULL, work, 2));
        ASSERT_OK(dcx__conv_backward(o, p, gp, x, gy, NULL, n, gx, work, 2));
        break;
    case DCX__OP_RELU:
        dcx__relu_forward(x, n * osz, y);
        dcx__relu_backward(y, gy, n * osz, gx);
        break;
    case DCX__OP_POOL:
        dcx__pool_forward(o, x, n, y, am);
        dcx__pool_backward(o, gy, am, n, gx);
        break;
    default: break;
    }
    double *P = calloc((size_t)np + 1, sizeof(double)), *X = calloc((size_t)(n * isz), sizeof(double));
    double *Y = calloc((size_t)(n * osz), sizeof(double));
    int *m0 = calloc((size_t)(n * osz), sizeof(int)), *m1 = calloc((size_t)(n * osz), sizeof(int));
    for (int64_t i = 0; i < np; i++) P[i] = p[i];
    for (int64_t i = 0; i < n * isz; i++) X[i] = x[i];
    ref_op(o, P, X, n, Y, m0);
    double fw = 0;
    for (int64_t i = 0; i < n * osz; i++) fw = fmax(fw, fabs(Y[i] - y[i]) / fmax(fabs(Y[i]), 1.0));
    print_message("op %d forward: largest difference to the double reference %.3g\n", o->kind, fw);
    assert_true(fw < 1e-5);

    const double eps = 1e-6;
    int64_t bad = 0, checked = 0, skipped = 0;
    for (int pass = 0; pass < 2; pass++) {
        double *V = pass ? X : P;
        const float *G = pass ? gx : gp;
        int64_t cnt = pass ? n * isz : np;
        for (int64_t i = 0; i < cnt; i++) {
            double save = V[i], Lp = 0, Lm = 0;
            int kink = 0;
            V[i] = save + eps;
            ref_op(o, P, X, n, Y, m1);
            for (int64_t j = 0; j < n * osz; j++) Lp += gy[j] * Y[j];
            kink |= memcmp(m0, m1, (size_t)(n * osz) * sizeof(int)) != 0;
            V[i] = save - eps;
            ref_op(o, P, X, n, Y, m1);
            for (int64_t j = 0; j < n * osz; j++) Lm += gy[j] * Y[j];
            kink |= memcmp(m0, m1, (size_t)(n * osz) * sizeof(int)) != 0;
            V[i] = save;
            /* ReLU: also skip inputs within 1e-4 of the kink */
            if (o->kind == DCX__OP_RELU && pass && fabs(save) < 1e-4) kink = 1;
            if (kink) {
                skipped++;
                continue;
            }
            double num = (Lp - Lm) / (2 * eps);
            if (!close_enough(num, G[i]) && bad++ < 5)
                print_message("op %d %s %lld: analytic %.8g numeric %.8g\n", o->kind, pass ? "input" : "param",
                              (long long)i, G[i], num);
            checked++;
        }
    }
    print_message("op %d: %lld gradients checked, %lld skipped\n", o->kind, (long long)checked, (long long)skipped);
    assert_int_equal(bad, 0);
    assert_true(checked > 0);
    free(p); free(gp); free(x); free(y); free(gy); free(gx); free(am); free(work);
    free(P); free(X); free(Y); free(m0); free(m1);
}

static void test_grad_dense(void **state)
{
    (void)state;
    dcx__op o = {.kind = DCX__OP_DENSE, .in_c = 6, .in_h = 1, .in_w = 1, .out_c = 4, .out_h = 1, .out_w = 1};
    check_op(&o, 3);
}

static void test_grad_conv(void **state)
{
    (void)state;
    /* both column layouts (channel-major, pixel-major) */
    for (int layout = 1; layout <= 2; layout++) {
        dcx__conv_layout = layout;
        dcx__conv_chunk_max = 1; /* one sample per chunk: accumulation across chunks */
        {
            dcx__op o = {.kind = DCX__OP_CONV, .in_c = 2, .in_h = 5, .in_w = 5, .out_c = 3,
                         .k = 3, .stride = 1, .pad = 1};
            o.out_h = o.out_w = 5;
            check_op(&o, 3);
        }
        dcx__conv_chunk_max = 0;
        int64_t cfg[][3] = {{3, 1, 0}, {3, 2, 1}, {2, 1, 1}, {4, 3, 2}}; /* k, stride, pad */
        for (size_t i = 0; i < 4; i++) {
            dcx__op o = {.kind = DCX__OP_CONV, .in_c = 2, .in_h = 6, .in_w = 5, .out_c = 3,
                         .k = cfg[i][0], .stride = cfg[i][1], .pad = cfg[i][2]};
            o.out_h = (o.in_h + 2 * o.pad - o.k) / o.stride + 1;
            o.out_w = (o.in_w + 2 * o.pad - o.k) / o.stride + 1;
            check_op(&o, 2);
        }
    }
    dcx__conv_layout = 0;
}

/* largest |a − b| / max(|b|, 1) */
static double max_rel_f(const float *a, const float *b, int64_t n)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), 1.0));
    return worst;
}

/* A conv layer gives bit-identical outputs and gradients for any number of
 * worker threads, and the same values (to rounding) in both layouts. */
static void test_conv_threads(void **state)
{
    (void)state;
    dcx__op o = {.kind = DCX__OP_CONV, .in_c = 3, .in_h = 9, .in_w = 8, .out_c = 5, .k = 3, .stride = 1, .pad = 1,
                 .out_h = 9, .out_w = 8};
    int64_t n = 37, isz = 3 * 72, osz = 5 * 72, wc = 5 * 3 * 9, np = wc + 5;
    o.w_off = 0;
    o.b_off = wc;
    dcx_rng r;
    dcx_rng_seed(&r, 11);
    float *p = malloc((size_t)np * sizeof(float)), *x = malloc((size_t)(n * isz) * sizeof(float));
    float *gy = malloc((size_t)(n * osz) * sizeof(float));
    fill_uniform(&r, p, np, 0.5);
    fill_uniform(&r, x, n * isz, 1.0);
    fill_uniform(&r, gy, n * osz, 1.0);
    float *y[4], *gp[4], *gx[4];
    dcx__conv_chunk_max = 5; /* 8 chunks */
    for (int v = 0; v < 4; v++) {
        int workers = v % 2 ? 3 : 1;
        dcx__conv_layout = v < 2 ? 1 : 2;
        float *work = calloc((size_t)(workers * dcx__conv_scratch(&o)), sizeof(float));
        y[v] = calloc((size_t)(n * osz), sizeof(float));
        gp[v] = calloc((size_t)np, sizeof(float));
        gx[v] = calloc((size_t)(n * isz), sizeof(float));
        ASSERT_OK(dcx__conv_forward(&o, p, x, n, y[v], NULL, work, workers));
        ASSERT_OK(dcx__conv_backward(&o, p, gp[v], x, gy, NULL, n, gx[v], work, workers));
        free(work);
    }
    dcx__conv_chunk_max = 0;
    dcx__conv_layout = 0;
    for (int v = 1; v < 4; v += 2) {
        assert_memory_equal(y[v - 1], y[v], (size_t)(n * osz) * sizeof(float));
        assert_memory_equal(gp[v - 1], gp[v], (size_t)np * sizeof(float));
        assert_memory_equal(gx[v - 1], gx[v], (size_t)(n * isz) * sizeof(float));
    }
    assert_true(max_rel_f(y[2], y[0], n * osz) < 1e-5);
    assert_true(max_rel_f(gp[2], gp[0], np) < 1e-5);
    assert_true(max_rel_f(gx[2], gx[0], n * isz) < 1e-5);
    for (int v = 0; v < 4; v++) {
        free(y[v]);
        free(gp[v]);
        free(gx[v]);
    }
    free(p);
    free(x);
    free(gy);

    /* a whole conv net: the same logits and gradients on 1 and 3 threads */
    dcx_net *net[2];
    float *logits[2], *grads[2];
    int32_t lab[37];
    float *xin = malloc((size_t)(37 * 2 * 12 * 12) * sizeof(float));
    fill_uniform(&r, xin, 37 * 2 * 12 * 12, 1.0);
    for (int i = 0; i < 37; i++) lab[i] = i % 4;
    int old = dcx_get_threads();
    for (int v = 0; v < 2; v++) {
        dcx_set_threads(v ? 3 : 1);
        ASSERT_OK(dcx_net_create("cnn:c6k3p1,pool2,c8k3p1,pool2,fc10", 2, 12, 12, 4, &net[v]));
        dcx_rng_seed(&r, 5);
        dcx_net_init(net[v], &r);
        double loss;
        ASSERT_OK(dcx_net_forward(net[v], xin, 37));
        ASSERT_OK(dcx_net_loss(net[v], lab, &loss, NULL));
        ASSERT_OK(dcx_net_backward(net[v]));
        dcx_matrix m;
        ASSERT_OK(dcx_net_activation(net[v], "logits", &m, NULL));
        logits[v] = m.data;
        grads[v] = dcx_net_grads(net[v]);
    }
    dcx_set_threads(old);
    assert_memory_equal(logits[0], logits[1], 37 * 4 * sizeof(float));
    assert_memory_equal(grads[0], grads[1], (size_t)dcx_net_num_params(net[0]) * sizeof(float));
    dcx_net_free(net[0]);
    dcx_net_free(net[1]);
    free(xin);
}

static void test_grad_pool_relu(void **state)
{
    (void)state;
    dcx__op o = {.kind = DCX__OP_POOL, .in_c = 2, .in_h = 5, .in_w = 6, .out_c = 2, .out_h = 2, .out_w = 3,
                 .k = 2, .stride = 2};
    check_op(&o, 2);
    /* rows of 9 windows: the four-at-a-time path and the scalar rest */
    dcx__op w = {.kind = DCX__OP_POOL, .in_c = 2, .in_h = 6, .in_w = 19, .out_c = 2, .out_h = 3, .out_w = 9,
                 .k = 2, .stride = 2};
    check_op(&w, 2);
    dcx__op r = {.kind = DCX__OP_RELU, .in_c = 10, .in_h = 1, .in_w = 1, .out_c = 10, .out_h = 1, .out_w = 1};
    check_op(&r, 4);
}

/* Max-pool 2x2 on values with many ties (and a NaN in one plane): the
 * first maximum of each window wins, a NaN wins its window, in both the
 * vectorised and the scalar parts of a row. */
static void test_pool_ties(void **state)
{
    (void)state;
    enum { C = 3, H = 4, W = 18, OH = 2, OW = 9 };
    dcx__op o = {.kind = DCX__OP_POOL, .in_c = C, .in_h = H, .in_w = W, .out_c = C, .out_h = OH, .out_w = OW,
                 .k = 2, .stride = 2};
    float x[C * H * W], y[C * OH * OW];
    int32_t am[C * OH * OW];
    dcx_rng r;
    dcx_rng_seed(&r, 3);
    for (int i = 0; i < C * H * W; i++) x[i] = (float)(int)(dcx_rng_uniform(&r) * 3); /* 0, 1, 2 */
    x[2 * H * W + 1 * W + 9] = NAN; /* plane 2, window (0, 4) */
    dcx__pool_forward(&o, x, 1, y, am);
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *p = x + c * H * W;
                int best = 2 * oy * W + 2 * ox;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int i = (2 * oy + dy) * W + 2 * ox + dx;
                        if (p[i] > p[best] || (isnan(p[i]) && !isnan(p[best]))) best = i;
                    }
                int o_ = c * OH * OW + oy * OW + ox;
                assert_int_equal(am[o_], best);
                if (isnan(p[best]))
                    assert_true(isnan(y[o_]));
                else
                    assert_true(y[o_] == p[best]);
            }
}

static void test_softmax_xent(void **state)
{
    (void)state;
    /* logits with a huge offset: the stable form must not overflow */
    float z[6] = {1000.0f, 1001.0f, 1002.0f, -3.0f, 0.0f, 2.0f};
    int32_t lab[2] = {2, 0};
    float d[6];
    double loss;
    int64_t correct;
    ASSERT_OK(dcx__softmax_xent(z, lab, 2, 3, &loss, &correct, d));
    double l1 = log(exp(-2.0) + exp(-1.0) + 1.0);
    double l2 = log(exp(-3.0) + 1.0 + exp(2.0)) + 3.0;
    ASSERT_NEAR(loss, (l1 + l2) / 2, 1e-6);
    assert_int_equal(correct, 1);
    double s = 0;
    for (int j = 0; j < 6; j++) s += d[j];
    ASSERT_NEAR(s, 0.0, 1e-7); /* rows of softmax - onehot sum to 0 */
    ASSERT_NEAR(d[2], (1.0 / (exp(-2.0) + exp(-1.0) + 1.0) - 1) / 2, 1e-7);
    int32_t badlab[2] = {3, 0};
    assert_int_equal(dcx__softmax_xent(z, badlab, 2, 3, &loss, NULL, d), DCX_ERR_ARG);
}

static void test_arch(void **state)
{
    (void)state;
    dcx_net *net;
    ASSERT_OK(dcx_net_create("cnn:c16k5p2,pool2,c32k5p2,pool2,fc128", 1, 28, 28, 10, &net));
    /* params: 16*25+16 + 32*16*25+32 + 128*1568+128 + 10*128+10 */
    assert_int_equal(dcx_net_num_params(net), 416 + 12832 + 200832 + 1290);
    assert_int_equal(dcx_net_num_tensors(net), 8);
    dcx_param_view v;
    ASSERT_OK(dcx_net_find_tensor(net, "layer3.weight", &v));
    assert_int_equal(v.ndim, 4);
    assert_int_equal(v.shape[0], 32);
    assert_int_equal(v.shape[1], 16);
    ASSERT_OK(dcx_net_find_tensor(net, "layer5.weight", &v));
    assert_int_equal(v.shape[1], 32 * 7 * 7);
    const char *names[] = {"input", "layer1.pre", "layer1", "layer2", "layer3.pre", "layer3",
                           "layer4", "layer5.pre", "layer5", "logits"};
    assert_int_equal(dcx_net_num_activations(net), 10);
    for (int i = 0; i < 10; i++) assert_string_equal(dcx_net_activation_name(net, i), names[i]);
    float *x = calloc(2 * 784, sizeof(float));
    dcx_rng r;
    dcx_rng_seed(&r, 1);
    dcx_net_init(net, &r);
    fill_uniform(&r, x, 2 * 784, 1.0);
    ASSERT_OK(dcx_net_forward(net, x, 2));
    dcx_matrix m;
    int64_t shape[3];
    ASSERT_OK(dcx_net_activation(net, "layer4", &m, shape));
    assert_int_equal(m.rows, 2);
    assert_int_equal(m.cols, 32 * 49);
    assert_int_equal(shape[0], 32);
    assert_int_equal(shape[1], 7);
    /* layer1 = relu(layer1.pre) element by element */
    dcx_matrix pre, post;
    ASSERT_OK(dcx_net_activation(net, "layer1.pre", &pre, NULL));
    ASSERT_OK(dcx_net_activation(net, "layer1", &post, NULL));
    for (int64_t i = 0; i < pre.rows * pre.cols; i++)
        assert_true(((float *)post.data)[i] == fmaxf(((float *)pre.data)[i], 0.0f));
    assert_int_equal(dcx_net_activation(net, "layer9", &m, NULL), DCX_ERR_ARG);
    free(x);
    dcx_net_free(net);

    ASSERT_OK(dcx_net_create("mlp:256,256", 1, 28, 28, 10, &net));
    assert_int_equal(dcx_net_num_params(net), 784 * 256 + 256 + 256 * 256 + 256 + 2570);
    dcx_net_free(net);
    ASSERT_OK(dcx_net_create("mlp", 1, 1, 5, 3, &net)); /* no hidden layer: linear classifier */
    assert_int_equal(dcx_net_num_params(net), 18);
    dcx_net_free(net);

    struct { const char *arch, *msg; } bad[] = {
        {"cnn:c16k5p2,pol2", "arch 'cnn:c16k5p2,pol2': unknown token 'pol2' at position 2"},
        {"mlp:256,x", "arch 'mlp:256,x': bad width 'x' at position 2"},
        {"mlp:256,,3", "arch 'mlp:256,,3': empty token at position 2"},
        {"cnn:c16", "arch 'cnn:c16': bad conv token 'c16' at position 1"},
        {"cnn:c16k5q2", "arch 'cnn:c16k5q2': bad conv token 'c16k5q2' at position 1"},
        {"cnn:fc10,c4k3", "arch 'cnn:fc10,c4k3': conv token 'c4k3' at position 2 after a dense layer"},
        {"cnn:c4k40", "arch 'cnn:c4k40': token 'c4k40' at position 1: kernel 40 larger than the padded input 28x28"},
        {"rnn:3", "arch 'rnn:3': expected 'mlp:WIDTHS' or 'cnn:LAYERS'"},
        {"mlp:0", "arch 'mlp:0': bad width '0' at position 1"},
        /* im2col of one sample: 4096*64*64 * 93*93 floats */
        {"cnn:c4096k64p64,c1k64p32", "arch 'cnn:c4096k64p64,c1k64p32': layer 'c1k64p32' at position 2 is too large"},
    };
    /* sizes before allocation agree with the built network */
    dcx_arch_sizes sz;
    ASSERT_OK(dcx_arch_size("cnn:c16k5p2,pool2,c32k5p2,pool2,fc128", 1, 28, 28, 10, &sz));
    assert_int_equal(sz.params, 416 + 12832 + 200832 + 1290);
    /* conv1 pre+relu, pool, conv2 pre+relu, pool, fc pre+relu, logits */
    assert_int_equal(sz.activations, 2 * 16 * 784 + 16 * 196 + 2 * 32 * 196 + 32 * 49 + 2 * 128 + 10);
    /* conv scratch per thread: two padded inputs, one sample's columns and their gradient, its output gradient
     * for the larger of the two convs (32x32x1 + 784x25; 18x18x16 + 196x400) */
    assert_int_equal(sz.scratch, 2 * 18 * 18 * 16 + 2 * 196 * 400 + 32 * 196);
    assert_int_equal(dcx_arch_size("cnn:c16k5p2,pol2", 1, 28, 28, 10, &sz), DCX_ERR_ARG);
    assert_int_equal(sz.params, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        net = (dcx_net *)1;
        assert_int_equal(dcx_net_create(bad[i].arch, 1, 28, 28, 10, &net), DCX_ERR_ARG);
        assert_null(net);
        if (strncmp(dcx_last_error(), bad[i].msg, strlen(bad[i].msg)))
            fail_msg("got '%s', expected '%s...'", dcx_last_error(), bad[i].msg);
    }
}

static void test_he_init(void **state)
{
    (void)state;
    dcx_net *net;
    ASSERT_OK(dcx_net_create("mlp:400", 1, 1, 200, 10, &net));
    dcx_rng r;
    dcx_rng_seed(&r, 3);
    dcx_net_init(net, &r);
    dcx_param_view w, b;
    ASSERT_OK(dcx_net_find_tensor(net, "layer1.weight", &w));
    ASSERT_OK(dcx_net_find_tensor(net, "layer1.bias", &b));
    const float *p = dcx_net_params(net);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < w.count; i++) {
        s += p[w.offset + i];
        s2 += (double)p[w.offset + i] * p[w.offset + i];
    }
    double var = s2 / (double)w.count - (s / w.count) * (s / w.count);
    /* 80,000 draws of N(0, 2/200): variance 0.01 within ~1.5 % */
    ASSERT_NEAR(var, 0.01, 0.0005);
    ASSERT_NEAR(s / w.count, 0.0, 0.002);
    for (int64_t i = 0; i < b.count; i++) assert_true(p[b.offset + i] == 0.0f);
    /* same seed, same parameters */
    float first = p[w.offset];
    dcx_rng_seed(&r, 3);
    dcx_net_init(net, &r);
    assert_true(p[w.offset] == first);
    dcx_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_dense),     cmocka_unit_test(test_grad_conv),
        cmocka_unit_test(test_grad_pool_relu), cmocka_unit_test(test_pool_ties), cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_grad_mlp),       cmocka_unit_test(test_grad_cnn), cmocka_unit_test(test_conv_threads),
        cmocka_unit_test(test_arch),           cmocka_unit_test(test_he_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
