/* test_powerlaw.c — power-law fits of series, window choice, metrics.jsonl. */
#include <unistd.h>

#include "testutil.h"

/* t on a log grid of 10 points a decade from 1 to 10^decades */
static int64_t log_grid(double *t, double decades)
{
    int64_t n = 0;
    for (int k = 0; k <= (int)(10 * decades + 0.5); k++) t[n++] = pow(10.0, k / 10.0);
    return n;
}

static void test_exact_power_law(void **state)
{
    (void)state;
    double t[64], y[64];
    int64_t n = log_grid(t, 3);
    for (int64_t i = 0; i < n; i++) y[i] = 2.5 * pow(t[i], -0.7);
    dcx_powerlaw p;
    ASSERT_OK(dcx_powerlaw_fit(t, y, n, 0, INFINITY, &p));
    ASSERT_NEAR(p.beta, -0.7, 1e-12);
    ASSERT_NEAR(p.a, 2.5, 1e-11);
    ASSERT_NEAR(p.r2, 1.0, 1e-12);
    assert_int_equal(p.n, n);
    /* a window restricts the points */
    ASSERT_OK(dcx_powerlaw_fit(t, y, n, 10, 100, &p));
    assert_int_equal(p.n, 11);
    ASSERT_NEAR(p.t_lo, 10, 1e-9);
    ASSERT_NEAR(p.t_hi, 100, 1e-9);
}

static void test_noisy_recovery(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 11);
    double t[64], y[64];
    int64_t n = log_grid(t, 4);
    double betas[3] = {-1.0, 0.35, -0.05};
    for (int b = 0; b < 3; b++) {
        for (int64_t i = 0; i < n; i++) y[i] = 3.0 * pow(t[i], betas[b]) * exp(0.05 * dcx_rng_normal(&r));
        dcx_powerlaw p;
        ASSERT_OK(dcx_powerlaw_fit(t, y, n, 0, INFINITY, &p));
        ASSERT_NEAR(p.beta, betas[b], 0.02);
        assert_true(p.beta_stderr > 0 && p.beta_stderr < 0.01);
        if (fabs(betas[b]) > 0.3) {
            ASSERT_OK(dcx_powerlaw_auto(t, y, n, 1.0, 0.98, &p));
            ASSERT_NEAR(p.beta, betas[b], 0.02);
            assert_true(p.t_hi / p.t_lo >= 10 - 1e-9);
            assert_true(p.r2 >= 0.98);
        }
    }
}

static void test_auto_window_picks_the_power_law_regime(void **state)
{
    (void)state;
    /* flat (noisy plateau) up to t = 100, then t^-1 over three decades. The
     * longest window with R² >= 0.98 reaches into the plateau a little (the
     * rule trades a few plateau points for span), so β is close to, not
     * exactly, -1; the window must end at the last point and start within a
     * decade of the crossover. A window of pure power law gives β = -1. */
    double t[64], y[64];
    int64_t n = log_grid(t, 5);
    dcx_rng r;
    dcx_rng_seed(&r, 5);
    for (int64_t i = 0; i < n; i++)
        y[i] = (t[i] <= 100 ? 1.0 * (1 + 0.3 * dcx_rng_uniform(&r)) : 100.0 / t[i]);
    dcx_powerlaw p;
    ASSERT_OK(dcx_powerlaw_auto(t, y, n, 1.0, 0.98, &p));
    print_message("auto window [%g, %g], beta %.4f, R2 %.4f\n", p.t_lo, p.t_hi, p.beta, p.r2);
    ASSERT_NEAR(p.beta, -1.0, 0.15);
    assert_true(p.t_lo >= 10 - 1e-9 && p.t_lo <= 100 + 1e-9);
    ASSERT_NEAR(p.t_hi, 1e5, 1e-6);
    assert_true(p.r2 >= 0.98);
    ASSERT_OK(dcx_powerlaw_fit(t, y, n, 200, 1e5, &p));
    ASSERT_NEAR(p.beta, -1.0, 1e-12);
}

static void test_auto_rejects_short_windows(void **state)
{
    (void)state;
    /* a perfect power law over less than a decade: no window */
    double t[16], y[16];
    int64_t n = 0;
    for (double e = 0; e < 0.95; e += 0.1, n++) {
        t[n] = pow(10, e);
        y[n] = pow(t[n], 0.5);
    }
    dcx_powerlaw p;
    assert_int_equal(dcx_powerlaw_auto(t, y, n, 1.0, 0.98, &p), DCX_ERR_DEGENERATE);
    assert_non_null(strstr(dcx_last_error(), "decade"));
    /* pure noise over 3 decades: no window with R² >= 0.98 */
    dcx_rng r;
    dcx_rng_seed(&r, 1);
    double t2[64], y2[64];
    int64_t n2 = log_grid(t2, 3);
    for (int64_t i = 0; i < n2; i++) y2[i] = 1 + dcx_rng_uniform(&r);
    assert_int_equal(dcx_powerlaw_auto(t2, y2, n2, 1.0, 0.98, &p), DCX_ERR_DEGENERATE);
    /* non-positive values are left out; too few points -> error */
    double t3[3] = {0, 1, 2}, y3[3] = {1, -1, 0};
    assert_int_equal(dcx_powerlaw_fit(t3, y3, 3, 0, INFINITY, &p), DCX_ERR_DEGENERATE);
}

static const char *write_tmp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/dcx_metrics_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_metrics_load(void **state)
{
    (void)state;
    const char *p = write_tmp(
        "{\"step\":0,\"train_loss\":2.3,\"layers\":{\"layer1\":{\"deff\":10,\"pr\":5},\"logits\":{\"deff\":3}}}\n"
        "\n"
        "{\"step\":10,\"train_loss\":1.1,\"note\":\"x\",\"layers\":{\"layer1\":{\"deff\":12,\"pr\":null},"
        "\"logits\":{\"deff\":4}},\"extra\":{\"a\":1}}\n"
        "{\"type\":\"epoch\",\"step\":15,\"test_acc\":0.5,\"train_loss\":1.0}\n"
        "{\"step\":20,\"train_lo");
    dcx_metrics *m = NULL;
    const dcx_series *s0;
    ASSERT_OK(dcx_metrics_load(p, NULL, &m));
    assert_int_equal(m->nlines, 3);
    s0 = dcx_metrics_find(m, "epoch.test_acc");
    assert_true(s0 && s0->n == 1 && s0->t[0] == 15 && s0->y[0] == 0.5);
    assert_int_equal(dcx_metrics_find(m, "train_loss")->n, 2); /* the epoch line's is epoch.train_loss */
    assert_int_equal(m->truncated_last, 1);
    assert_int_equal(m->nlayers, 2);
    assert_string_equal(m->layers[0], "layer1");
    assert_string_equal(m->layers[1], "logits");
    const dcx_series *s = dcx_metrics_find(m, "train_loss");
    assert_non_null(s);
    assert_int_equal(s->n, 2);
    assert_true(s->t[1] == 10 && s->y[1] == 1.1);
    s = dcx_metrics_find(m, "layer1.deff");
    assert_non_null(s);
    assert_true(s->n == 2 && s->y[0] == 10 && s->y[1] == 12);
    s = dcx_metrics_find(m, "layer1.pr");
    assert_true(s && s->n == 1); /* null is a missing point */
    assert_non_null(dcx_metrics_find(m, "extra.a"));
    assert_null(dcx_metrics_find(m, "step"));
    assert_null(dcx_metrics_find(m, "note"));
    dcx_metrics_free(m);
    unlink(p);

    /* a bad line before the last one is an error with its line number */
    p = write_tmp("{\"step\":0,\"a\":1}\n{oops\n{\"step\":2,\"a\":1}\n");
    assert_int_equal(dcx_metrics_load(p, NULL, &m), DCX_ERR_FORMAT);
    assert_non_null(strstr(dcx_last_error(), "line 2"));
    unlink(p);
    /* no time key */
    p = write_tmp("{\"a\":1}\n");
    assert_int_equal(dcx_metrics_load(p, NULL, &m), DCX_ERR_FORMAT);
    assert_non_null(strstr(dcx_last_error(), "\"step\""));
    unlink(p);
    /* empty and truncated-only files */
    p = write_tmp("");
    assert_int_equal(dcx_metrics_load(p, NULL, &m), DCX_ERR_FORMAT);
    unlink(p);
    p = write_tmp("{\"step\":0,");
    assert_int_equal(dcx_metrics_load(p, NULL, &m), DCX_ERR_FORMAT);
    unlink(p);
    assert_int_equal(dcx_metrics_load("/nonexistent/metrics.jsonl", NULL, &m), DCX_ERR_IO);
    assert_non_null(strstr(dcx_last_error(), "/nonexistent/metrics.jsonl"));
    dcx_metrics_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_power_law),
        cmocka_unit_test(test_noisy_recovery),
        cmocka_unit_test(test_auto_window_picks_the_power_law_regime),
        cmocka_unit_test(test_auto_rejects_short_windows),
        cmocka_unit_test(test_metrics_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
