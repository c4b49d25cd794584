/* test_complexity_slow.c — the scaling exponent of a smooth map: for
 * y = sin(3 x1) cos(2 x2) on the uniform square, a piecewise-affine fit on K
 * cells of diameter ~K^(-1/2) leaves an error ∝ diameter^4 = K^(-2) in η, so
 * γ ≈ 4/d = 2 for the d = 2 input. */
#include "testutil.h"

static void test_smooth_map_gamma(void **state)
{
    (void)state;
    int64_t n = 16000;
    dcx_matrix *x, *y;
    ASSERT_OK(dcx_matrix_create(n, 2, DCX_F64, &x));
    ASSERT_OK(dcx_matrix_create(n, 1, DCX_F64, &y));
    dcx_rng r;
    dcx_rng_seed(&r, 4);
    for (int64_t i = 0; i < n; i++) {
        double a = 2 * dcx_rng_uniform(&r) - 1, b = 2 * dcx_rng_uniform(&r) - 1;
        dcx_matrix_set(x, i, 0, a);
        dcx_matrix_set(x, i, 1, b);
        dcx_matrix_set(y, i, 0, sin(3 * a) * cos(2 * b));
    }
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    dcx_complexity_result *res;
    ASSERT_OK(dcx_complexity(x, y, &p, &res));
    for (int i = 0; i < res->n_ladder; i++)
        print_message("K = %3lld  eta = %.3g  H = %.4f\n", (long long)res->ladder[i].k, res->ladder[i].eta,
                      res->ladder[i].entropy);
    print_message("gamma = %.4f ± %.4f (R² %.4f, %lld points), nonlinearity dim %.3f\n", res->gamma,
                  res->gamma_stderr, res->gamma_r2, (long long)res->gamma_points, res->nonlinearity_dim);
    assert_int_equal(res->ladder[res->n_ladder - 1].k, 256);
    assert_true(res->gamma_ok);
    assert_true(res->gamma >= 1.5 && res->gamma <= 2.5);
    assert_true(res->gamma_r2 > 0.9);
    ASSERT_NEAR(res->nonlinearity_dim, 4 / res->gamma, 1e-12);
    dcx_complexity_free(res);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_smooth_map_gamma)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
