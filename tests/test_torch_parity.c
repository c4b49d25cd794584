/* test_torch_parity.c — deepcx networks against PyTorch. The fixtures
 * (tests/fixtures/torch/, written by make_torch_fixtures.py) hold the initial
 * weights, a batch, PyTorch's logits, loss and every gradient, and the losses
 * of 20 SGD-momentum and 20 Adam steps (with weight decay) on that batch.
 * deepcx loads the same weights into the same architecture and must match:
 * logits and gradients within 1e-4 relative, the loss trajectories within
 * 1e-3. The largest differences are printed. */
#include "testutil.h"

static double *load(const char *tag, const char *what, int64_t *count)
{
    char name[256];
    snprintf(name, sizeof name, "torch/%s_%s.npy", tag, what);
    dcx_matrix *m = NULL;
    dcx_status st = dcx_read_matrix(fixture(name), NULL, DCX_F64, &m);
    if (st != DCX_OK) fail_msg("%s: %s", name, dcx_last_error());
    int64_t n = m->rows * m->cols;
    double *out = malloc((size_t)n * sizeof(double));
    memcpy(out, m->data, (size_t)n * sizeof(double));
    dcx_matrix_free(m);
    if (count) *count = n;
    return out;
}

/* Relative difference with a floor of 1 % of the array's largest magnitude
 * (elements that are tiny by cancellation carry no relative precision). */
static void compare(const char *what, const float *got, const double *ref, int64_t n, double tol)
{
    double mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(ref[i]));
    double *g = malloc((size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++) g[i] = got[i];
    assert_rel_close(what, g, ref, (size_t)n, tol, fmax(0.01 * mx, 1e-12));
    free(g);
}

static dcx_net *load_net(const char *tag, const char *arch, int64_t c, int64_t h, int64_t w, int64_t classes)
{
    dcx_net *net;
    ASSERT_OK(dcx_net_create(arch, c, h, w, classes, &net));
    for (int i = 0; i < dcx_net_num_tensors(net); i++) {
        dcx_param_view v = dcx_net_tensor(net, i);
        int64_t n;
        double *p = load(tag, v.name, &n);
        assert_int_equal(n, v.count);
        for (int64_t j = 0; j < n; j++) dcx_net_params(net)[v.offset + j] = (float)p[j];
        free(p);
    }
    return net;
}

static void parity(const char *tag, const char *arch, int64_t c, int64_t h, int64_t w, int64_t classes)
{
    dcx_net *net = load_net(tag, arch, c, h, w, classes);
    int64_t nx, ny;
    double *xd = load(tag, "x", &nx), *yd = load(tag, "y", &ny);
    float *x = malloc((size_t)nx * sizeof(float));
    int32_t *y = malloc((size_t)ny * sizeof(int32_t));
    for (int64_t i = 0; i < nx; i++) x[i] = (float)xd[i];
    for (int64_t i = 0; i < ny; i++) y[i] = (int32_t)yd[i];
    assert_int_equal(nx, ny * c * h * w);

    double loss, *ref_loss = load(tag, "loss", NULL);
    ASSERT_OK(dcx_net_forward(net, x, ny));
    ASSERT_OK(dcx_net_loss(net, y, &loss, NULL));
    ASSERT_OK(dcx_net_backward(net));
    dcx_matrix logits;
    ASSERT_OK(dcx_net_activation(net, "logits", &logits, NULL));
    int64_t nl;
    double *ref_logits = load(tag, "logits", &nl);
    assert_int_equal(nl, logits.rows * logits.cols);
    char what[128];
    snprintf(what, sizeof what, "%s logits", tag);
    compare(what, logits.data, ref_logits, nl, 1e-4);
    print_message("%s loss: deepcx %.9g, torch %.9g\n", tag, loss, ref_loss[0]);
    ASSERT_NEAR(loss, ref_loss[0], 1e-5 * fabs(ref_loss[0]));
    for (int i = 0; i < dcx_net_num_tensors(net); i++) {
        dcx_param_view v = dcx_net_tensor(net, i);
        char gname[96];
        snprintf(gname, sizeof gname, "grad_%s", v.name);
        int64_t n;
        double *g = load(tag, gname, &n);
        assert_int_equal(n, v.count);
        snprintf(what, sizeof what, "%s d loss/d %s", tag, v.name);
        compare(what, dcx_net_grads(net) + v.offset, g, n, 1e-4);
        free(g);
    }

    /* 20 optimizer steps on the same batch, PyTorch's hyper-parameters */
    float *init = malloc((size_t)dcx_net_num_params(net) * sizeof(float));
    memcpy(init, dcx_net_params(net), (size_t)dcx_net_num_params(net) * sizeof(float));
    for (int k = 0; k < 2; k++) {
        dcx_optim_params op;
        dcx_optim_params_default(&op, k ? DCX_OPT_ADAM : DCX_OPT_SGD);
        if (k) {
            op.lr = 0.005;
            op.weight_decay = 1e-2;
        } else {
            op.lr = 0.05;
            op.momentum = 0.9;
            op.weight_decay = 1e-3;
        }
        dcx_optim *opt;
        ASSERT_OK(dcx_optim_create(&op, dcx_net_num_params(net), &opt));
        memcpy(dcx_net_params(net), init, (size_t)dcx_net_num_params(net) * sizeof(float));
        int64_t nref;
        double *ref = load(tag, k ? "adam_losses" : "sgd_losses", &nref);
        assert_int_equal(nref, 21);
        double worst = 0;
        for (int s = 0; s <= 20; s++) {
            ASSERT_OK(dcx_net_forward(net, x, ny));
            ASSERT_OK(dcx_net_loss(net, y, &loss, NULL));
            worst = fmax(worst, fabs(loss - ref[s]));
            if (s == 20) break;
            ASSERT_OK(dcx_net_backward(net));
            dcx_optim_step(opt, dcx_net_params(net), dcx_net_grads(net), op.lr);
        }
        print_message("%s %s: loss after 20 steps deepcx %.7f torch %.7f; largest |diff| over the 21 losses %.3g\n",
                      tag, dcx_optim_name(op.kind), loss, ref[20], worst);
        assert_true(worst <= 1e-3);
        assert_true(ref[20] < ref[0] - 0.1); /* the reference really trains */
        free(ref);
        dcx_optim_free(opt);
    }
    free(init);
    free(ref_logits);
    free(ref_loss);
    free(xd);
    free(yd);
    free(x);
    free(y);
    dcx_net_free(net);
}

static void test_mlp(void **state)
{
    (void)state;
    parity("mlp", "mlp:16,12", 1, 6, 6, 5);
}

static void test_cnn(void **state)
{
    (void)state;
    parity("cnn", "cnn:c4k3p1s2,pool2,c6k3p1,fc16", 2, 9, 9, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mlp), cmocka_unit_test(test_cnn)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
