/* test_core.c — status messages, RNG, matrices, line fits, BLAS wrappers. */
#include "testutil.h"
#include "internal.h"

static void test_status_messages(void **state)
{
    (void)state;
    dcx_clear_error();
    assert_string_equal(dcx_last_error(), "");
    dcx_status st = dcx_set_error(DCX_ERR_FORMAT, "%s: bad %d\nsecond line", "x.npy", 3);
    assert_int_equal(st, DCX_ERR_FORMAT);
    assert_string_equal(dcx_last_error(), "x.npy: bad 3 second line");
    /* wrapping the current message in a new one */
    dcx_set_error(DCX_ERR_FORMAT, "m.dcx: %s", dcx_last_error());
    assert_string_equal(dcx_last_error(), "m.dcx: x.npy: bad 3 second line");
    assert_string_equal(dcx_status_str(DCX_OK), "ok");
    assert_string_equal(dcx_status_str(DCX_ERR_NOMEM), "out of memory");
}

static void test_rng(void **state)
{
    (void)state;
    dcx_rng a, b;
    dcx_rng_seed(&a, 42);
    dcx_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) assert_true(dcx_rng_u64(&a) == dcx_rng_u64(&b));
    /* splitmix64 reference values for seed 0 (Vigna's reference code):
     * first output 0xe220a8397b1dcdaf */
    dcx_rng_seed(&a, 0);
    assert_true(a.s[0] == 0xe220a8397b1dcdafULL);
    /* uniform mean/variance and normal moments over 200k draws */
    dcx_rng_seed(&a, 7);
    double s = 0, s2 = 0, n1 = 0, n2 = 0, n4 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = dcx_rng_uniform(&a);
        assert_true(u >= 0 && u < 1);
        s += u;
        s2 += u * u;
        double z = dcx_rng_normal(&a);
        n1 += z;
        n2 += z * z;
        n4 += z * z * z * z;
    }
    ASSERT_NEAR(s / n, 0.5, 0.005);
    ASSERT_NEAR(s2 / n - (s / n) * (s / n), 1.0 / 12, 0.002);
    ASSERT_NEAR(n1 / n, 0.0, 0.01);
    ASSERT_NEAR(n2 / n, 1.0, 0.01);
    ASSERT_NEAR(n4 / n, 3.0, 0.06);
    /* below(): uniform over 0..6, each bucket within 2% of n/7 */
    int cnt[7] = {0};
    for (int i = 0; i < 70000; i++) cnt[dcx_rng_below(&a, 7)]++;
    for (int i = 0; i < 7; i++) assert_true(abs(cnt[i] - 10000) < 400);
    /* streams differ */
    dcx_rng_seed_stream(&a, 1, 0);
    dcx_rng_seed_stream(&b, 1, 1);
    assert_true(dcx_rng_u64(&a) != dcx_rng_u64(&b));
    /* shuffle is a permutation */
    int64_t idx[50];
    for (int i = 0; i < 50; i++) idx[i] = i;
    dcx_rng_shuffle_i64(&a, idx, 50);
    int seen[50] = {0};
    for (int i = 0; i < 50; i++) seen[idx[i]]++;
    for (int i = 0; i < 50; i++) assert_int_equal(seen[i], 1);
}

static void test_matrix(void **state)
{
    (void)state;
    dcx_matrix *m = NULL, *c = NULL;
    ASSERT_OK(dcx_matrix_create(3, 4, DCX_F32, &m));
    dcx_matrix_set(m, 2, 3, 1.5);
    assert_true(dcx_matrix_get(m, 2, 3) == 1.5);
    ASSERT_OK(dcx_matrix_convert(m, DCX_F64, &c));
    assert_true(c->dtype == DCX_F64 && dcx_matrix_get(c, 2, 3) == 1.5 && dcx_matrix_get(c, 0, 0) == 0);
    dcx_matrix_free(c);
    dcx_matrix_free(m);
    dcx_matrix_free(NULL);
    assert_int_equal(dcx_matrix_create(INT64_MAX / 2, 4, DCX_F64, &m), DCX_ERR_ARG);
    assert_null(m);
}

static void test_linfit(void **state)
{
    (void)state;
    double x[5] = {0, 1, 2, 3, 4}, y[5];
    for (int i = 0; i < 5; i++) y[i] = 2.0 - 0.5 * x[i];
    dcx_linfit_result r;
    ASSERT_OK(dcx_linfit(x, y, 5, &r));
    ASSERT_NEAR(r.slope, -0.5, 1e-14);
    ASSERT_NEAR(r.intercept, 2.0, 1e-14);
    ASSERT_NEAR(r.r2, 1.0, 1e-14);
    ASSERT_NEAR(r.slope_stderr, 0.0, 1e-14);
    /* y = x + (+1,-1,+1,-1) on x = 0..3: hand-computed OLS.
     * slope = Sxy/Sxx: Sxx = 5, Sxy = 5 + (-1.5*1 -0.5*-1 +0.5*1 +1.5*-1) = 3 -> 0.6 */
    double x2[4] = {0, 1, 2, 3}, y2[4] = {1, 0, 3, 2};
    ASSERT_OK(dcx_linfit(x2, y2, 4, &r));
    ASSERT_NEAR(r.slope, 0.6, 1e-14);
    ASSERT_NEAR(r.intercept, 0.6, 1e-14);
    /* residuals: 0.4,-1.2,1.2,-0.4 -> rss = 3.2; se = sqrt(3.2/2/5) */
    ASSERT_NEAR(r.slope_stderr, sqrt(0.32), 1e-14);
    ASSERT_NEAR(r.r2, 1 - 3.2 / 5.0, 1e-14);
    double xc[3] = {1, 1, 1};
    assert_int_equal(dcx_linfit(xc, y, 3, &r), DCX_ERR_DEGENERATE);
    assert_int_equal(dcx_linfit(x, y, 1, &r), DCX_ERR_DEGENERATE);
}

static void test_blas_wrappers(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 3);
    enum { M = 7, N = 5, K = 9 };
    double a[K * M], b[K * N], c[M * N], ref[M * N];
    for (int i = 0; i < K * M; i++) a[i] = dcx_rng_normal(&r);
    for (int i = 0; i < K * N; i++) b[i] = dcx_rng_normal(&r);
    /* C = Aᵀ B with A stored (K, M) */
    ASSERT_OK(dcx__dgemm(1, 0, M, N, K, 1.0, a, M, b, N, 0.0, c, N));
    dcx__ref_dgemm(1, 0, M, N, K, 1.0, a, M, b, N, 0.0, ref, N);
    assert_rel_close("dgemm vs reference", c, ref, M * N, 1e-12, 1.0);
    /* syrk AᵀA equals gemm AᵀA */
    double s[M * M], g[M * M];
    ASSERT_OK(dcx__dsyrk_t(M, K, 1.0, a, M, 0.0, s, M));
    dcx__sym_upper_to_full(s, M, M);
    dcx__ref_dgemm(1, 0, M, M, K, 1.0, a, M, a, M, 0.0, g, M);
    assert_rel_close("dsyrk vs reference", s, g, M * M, 1e-12, 1.0);
    /* eigenvalues of Q diag(1,2,3) Qᵀ with Q a Householder reflection */
    double v[3] = {1, 2, 2}, q[9], d[3] = {1, 2, 3}, sym[9] = {0}, w[3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) q[i * 3 + j] = (i == j) - 2 * v[i] * v[j] / 9.0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) sym[i * 3 + j] += q[i * 3 + k] * d[k] * q[j * 3 + k];
    ASSERT_OK(dcx__dsyevd(0, 3, sym, 3, w));
    assert_rel_close("dsyevd eigenvalues", w, d, 3, 1e-13, 1.0);
    /* SPD solve */
    double A[4] = {4, 1, 1, 3}, B[2] = {1, 2};
    ASSERT_OK(dcx__dposv(2, 1, A, 2, B, 1));
    ASSERT_NEAR(B[0], 1.0 / 11, 1e-15);
    ASSERT_NEAR(B[1], 7.0 / 11, 1e-15);
    /* the column-major variant solves the same system (A symmetric) */
    double Ac[4] = {4, 1, 1, 3}, Bc[2] = {1, 2};
    ASSERT_OK(dcx__dposv_cm(2, 1, Ac, 2, Bc, 2));
    ASSERT_NEAR(Bc[0], 1.0 / 11, 1e-15);
    ASSERT_NEAR(Bc[1], 7.0 / 11, 1e-15);
    double S[4] = {1, 2, 2, 1}, b2[2] = {1, 1};
    assert_int_equal(dcx__dposv(2, 1, S, 2, b2, 1), DCX_ERR_DEGENERATE);
    /* sizes beyond the BLAS integer are refused, not truncated */
    assert_int_equal(dcx__dgemm(0, 0, (int64_t)1 << 40, 1, 1, 1, a, 1, b, 1, 0, c, 1), DCX_ERR_UNSUPPORTED);
    assert_non_null(strstr(dcx_blas_config(), "OpenBLAS"));
    dcx_set_threads(1);
    assert_int_equal(dcx_get_threads(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_messages), cmocka_unit_test(test_rng),
        cmocka_unit_test(test_matrix),          cmocka_unit_test(test_linfit),
        cmocka_unit_test(test_blas_wrappers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
