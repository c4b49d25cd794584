/* test_dim.c — effective dimension: covariance accumulation, spectral
 * observables, Gram route, local ladder, channels mode; known answers and
 * numpy reference fixtures (tests/fixtures/make_dim_fixtures.py). */
#include "testutil.h"
#include "internal.h"

/* ---- helpers ---- */

static dcx_matrix *mat64(int64_t n, int64_t d)
{
    dcx_matrix *m = NULL;
    ASSERT_OK(dcx_matrix_create(n, d, DCX_F64, &m));
    return m;
}

static double *at(dcx_matrix *m, int64_t i, int64_t j) { return (double *)m->data + i * m->stride + j; }

/* q (d x k): k orthonormal columns of a random rotation (Gram–Schmidt). */
static void random_frame(dcx_rng *r, int64_t d, int64_t k, double *q)
{
    for (int64_t c = 0; c < k; c++) {
        for (;;) {
            for (int64_t i = 0; i < d; i++) q[i * k + c] = dcx_rng_normal(r);
            for (int pass = 0; pass < 2; pass++)
                for (int64_t b = 0; b < c; b++) {
                    double dot = 0;
                    for (int64_t i = 0; i < d; i++) dot += q[i * k + c] * q[i * k + b];
                    for (int64_t i = 0; i < d; i++) q[i * k + c] -= dot * q[i * k + b];
                }
            double nn = 0;
            for (int64_t i = 0; i < d; i++) nn += q[i * k + c] * q[i * k + c];
            if (nn > 1e-6) {
                for (int64_t i = 0; i < d; i++) q[i * k + c] /= sqrt(nn);
                break;
            }
        }
    }
}

static dcx_dim_result *run_dim(const dcx_matrix *m, const dcx_dim_params *p)
{
    dcx_source *s = NULL;
    dcx_dim_result *r = NULL;
    ASSERT_OK(dcx_source_from_matrix(m, "mem", &s));
    ASSERT_OK(dcx_dim_compute(s, p, &r));
    dcx_source_free(s);
    return r;
}

static dcx_status run_dim_status(const dcx_matrix *m, const dcx_dim_params *p)
{
    dcx_source *s = NULL;
    dcx_dim_result *r = NULL;
    ASSERT_OK(dcx_source_from_matrix(m, "mem.npy", &s));
    dcx_status st = dcx_dim_compute(s, p, &r);
    dcx_source_free(s);
    dcx_dim_result_free(r);
    return st;
}

/* Data whose sample covariance has exactly the eigenvalues lam[0..m):
 * rows ±s_n v_n (v_n orthonormal, s_n = sqrt(lam_n (N−1)/2)), N = 2m. */
static dcx_matrix *exact_spectrum(dcx_rng *r, const double *lam, int64_t m, int64_t d, double offset)
{
    double *q = calloc((size_t)(d * m), sizeof *q);
    random_frame(r, d, m, q);
    int64_t n = 2 * m;
    dcx_matrix *x = mat64(n, d);
    for (int64_t c = 0; c < m; c++) {
        double s = sqrt(lam[c] * (double)(n - 1) / 2.0);
        for (int64_t i = 0; i < d; i++) {
            *at(x, 2 * c, i) = offset + s * q[i * m + c];
            *at(x, 2 * c + 1, i) = offset - s * q[i * m + c];
        }
    }
    free(q);
    return x;
}

static double deff_of(const double *lam, int64_t m)
{
    double t = 0, h = 0;
    for (int64_t i = 0; i < m; i++) t += lam[i];
    for (int64_t i = 0; i < m; i++)
        if (lam[i] > 0) h -= lam[i] / t * log(lam[i] / t);
    return exp(h);
}

/* ---- covariance ---- */

static void naive_cov(const dcx_matrix *x, double *c)
{
    int64_t n = x->rows, d = x->cols;
    double *mu = calloc((size_t)d, sizeof *mu);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mu[j] += dcx_matrix_get(x, i, j) / (double)n;
    for (int64_t a = 0; a < d; a++)
        for (int64_t b = 0; b < d; b++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++)
                s += (dcx_matrix_get(x, i, a) - mu[a]) * (dcx_matrix_get(x, i, b) - mu[b]);
            c[a * d + b] = s / (double)(n - 1);
        }
    free(mu);
}

static void test_cov_blocks(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 11);
    int64_t n = 103, d = 9;
    dcx_matrix *x = mat64(n, d);
    /* large means, small spread: the case the shift protects */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) *at(x, i, j) = 1e6 * (j + 1) + (1.0 + j) * dcx_rng_normal(&r);
    double *ref = calloc((size_t)(d * d), sizeof *ref);
    naive_cov(x, ref);
    int64_t blocks[3] = {1, 7, n};
    dcx_matrix *c[3] = {0}, *mean = NULL;
    for (int b = 0; b < 3; b++) {
        dcx_source *s = NULL;
        int64_t got;
        ASSERT_OK(dcx_source_from_matrix(x, "mem", &s));
        ASSERT_OK(dcx_covariance(s, blocks[b], NULL, NULL, &c[b], b == 2 ? &mean : NULL, &got));
        assert_int_equal(got, n);
        dcx_source_free(s);
    }
    double scale = 0;
    for (int64_t i = 0; i < d * d; i++) scale = fmax(scale, fabs(ref[i]));
    print_message("covariance scale %g\n", scale);
    assert_rel_close("cov block 1 vs all rows", c[0]->data, c[2]->data, (size_t)(d * d), 1e-12, scale);
    assert_rel_close("cov block 7 vs all rows", c[1]->data, c[2]->data, (size_t)(d * d), 1e-12, scale);
    /* the two-pass reference in double; means of 1e6 leave ~1e-10 relative */
    assert_rel_close("cov vs two-pass reference", c[2]->data, ref, (size_t)(d * d), 1e-9, scale);
    for (int64_t j = 0; j < d; j++) {
        double mu = 0;
        for (int64_t i = 0; i < n; i++) mu += *at(x, i, j);
        ASSERT_NEAR(*at(mean, 0, j), mu / (double)n, 1e-15 * 1e6 * (j + 1));
    }
    /* the blocks go to two streams (d² <= 2^21): the same additions in the
     * same order whatever the thread count, so bit-identical results */
    int saved = dcx_get_threads();
    for (int t = 1; t <= 3; t++) {
        dcx_source *s = NULL;
        dcx_matrix *ct = NULL;
        dcx_set_threads(t);
        ASSERT_OK(dcx_source_from_matrix(x, "mem", &s));
        ASSERT_OK(dcx_covariance(s, 7, NULL, NULL, &ct, NULL, NULL));
        assert_memory_equal(ct->data, c[1]->data, (size_t)(d * d) * sizeof(double));
        dcx_matrix_free(ct);
        dcx_source_free(s);
    }
    for (int b = 0; b < 3; b++) dcx_matrix_free(c[b]);
    dcx_matrix_free(mean);
    /* an error in a block read by either stream (or by the prefetch thread
     * of the one-stream path) reaches the caller, with one or more threads */
    const int64_t bad_rows[2] = {50, 60}; /* blocks 7 and 8 of 7 rows: streams 1 and 0 */
    for (int t = 1; t <= 2; t++)
        for (int k = 0; k < 2; k++) {
            dcx_matrix *y = mat64(n, d);
            memcpy(y->data, x->data, (size_t)(n * d) * sizeof(double));
            *at(y, bad_rows[k], 3) = NAN;
            dcx_source *s = NULL;
            dcx_matrix *bad = NULL;
            char want[64];
            dcx_set_threads(t);
            ASSERT_OK(dcx_source_from_matrix(y, "late-nan", &s));
            assert_int_equal(dcx_covariance(s, 7, NULL, NULL, &bad, NULL, NULL), DCX_ERR_NUMERIC);
            assert_null(bad);
            snprintf(want, sizeof want, "late-nan: NaN value at row %lld, column 3", (long long)bad_rows[k]);
            assert_string_equal(dcx_last_error(), want);
            dcx_source_free(s);
            dcx_matrix_free(y);
        }
    dcx_set_threads(saved);
    free(ref);
    dcx_matrix_free(x);
}

/* More columns than the two-stream path takes (d² > 2^21): one S, blocks
 * read ahead by a helper thread while threaded BLAS multiplies. */
static void test_cov_one_stream(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 12);
    int64_t n = 23, d = 1449;
    dcx_matrix *x = mat64(n, d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) *at(x, i, j) = 3.0 + (j % 5) + dcx_rng_normal(&r);
    double *ref = calloc((size_t)(d * d), sizeof *ref);
    naive_cov(x, ref);
    int64_t blocks[2] = {5, n};
    dcx_matrix *c[2] = {0};
    for (int b = 0; b < 2; b++) {
        dcx_source *s = NULL;
        int64_t got;
        ASSERT_OK(dcx_source_from_matrix(x, "mem", &s));
        ASSERT_OK(dcx_covariance(s, blocks[b], NULL, NULL, &c[b], NULL, &got));
        assert_int_equal(got, n);
        dcx_source_free(s);
    }
    double scale = 0;
    for (int64_t i = 0; i < d * d; i++) scale = fmax(scale, fabs(ref[i]));
    assert_rel_close("cov block 5 vs all rows", c[0]->data, c[1]->data, (size_t)(d * d), 1e-12, scale);
    assert_rel_close("cov vs two-pass reference", c[1]->data, ref, (size_t)(d * d), 1e-12, scale);
    for (int b = 0; b < 2; b++) dcx_matrix_free(c[b]);
    free(ref);
    dcx_matrix_free(x);
}

/* ---- known answers ---- */

static void test_isotropic_subspace(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 5);
    int64_t n = 20000, d = 20, k = 5;
    double q[20 * 5];
    random_frame(&r, d, k, q);
    dcx_matrix *x = mat64(n, d);
    for (int64_t i = 0; i < n; i++) {
        double z[5];
        for (int64_t c = 0; c < k; c++) z[c] = dcx_rng_normal(&r);
        for (int64_t j = 0; j < d; j++) {
            double v = 100.0; /* an offset, removed by centring */
            for (int64_t c = 0; c < k; c++) v += q[j * k + c] * z[c];
            *at(x, i, j) = v;
        }
    }
    dcx_dim_result *res = run_dim(x, NULL);
    /* sampling error of the k eigenvalues ~ sqrt(2/N) = 0.01 each: D_eff and
     * PR lose O(k·1e-4); tolerance 0.01 */
    print_message("isotropic k=5: deff %.6f pr %.6f rank %lld\n", res->deff, res->pr, (long long)res->rank);
    ASSERT_NEAR(res->deff, 5.0, 0.01);
    ASSERT_NEAR(res->pr, 5.0, 0.01);
    assert_true(res->deff <= 5.0 + 1e-9 && res->pr <= res->deff + 1e-9);
    assert_int_equal(res->n90, 5);
    assert_int_equal(res->n99, 5);
    assert_int_equal(res->rank, 5);
    assert_int_equal(res->route, DCX_DIM_ROUTE_COV);
    assert_false(res->alpha.available); /* r = 5 < 8 */
    dcx_dim_result_free(res);
    dcx_matrix_free(x);
}

static void test_power_law_spectrum(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 9);
    int64_t m = 64, d = 80;
    double alpha = 1.3, lam[64];
    for (int64_t i = 0; i < m; i++) lam[i] = 2.5 * pow((double)(i + 1), -alpha);
    dcx_matrix *x = exact_spectrum(&r, lam, m, d, 3.0);
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.keep_spectrum = 1;
    dcx_dim_result *res = run_dim(x, &p);
    assert_int_equal(res->n_spectrum, d);
    assert_rel_close("prescribed spectrum", res->spectrum, lam, (size_t)m, 1e-10, 1e-12);
    assert_int_equal(res->rank, m);
    assert_true(res->alpha.available);
    assert_int_equal(res->alpha.lo, 2);
    assert_int_equal(res->alpha.hi, 32);
    ASSERT_NEAR(res->alpha.value, alpha, 1e-9);
    ASSERT_NEAR(res->alpha.se, 0.0, 1e-8);
    ASSERT_NEAR(res->alpha.r2, 1.0, 1e-12);
    double de = deff_of(lam, m), t = 0, t2 = 0, c = 0;
    for (int64_t i = 0; i < m; i++) {
        t += lam[i];
        t2 += lam[i] * lam[i];
    }
    int64_t n90 = 0, n99 = 0;
    for (int64_t i = 0; i < m; i++) {
        c += lam[i];
        if (!n90 && c >= 0.9 * t) n90 = i + 1;
        if (!n99 && c >= 0.99 * t) n99 = i + 1;
    }
    print_message("alpha 1.3: deff %.10f (exact %.10f) pr %.10f n90 %lld n99 %lld\n", res->deff, de, res->pr,
                  (long long)res->n90, (long long)res->n99);
    ASSERT_NEAR(res->deff, de, 1e-10 * de);
    ASSERT_NEAR(res->pr, t * t / t2, 1e-10 * t * t / t2);
    assert_int_equal(res->n90, n90);
    assert_int_equal(res->n99, n99);
    /* a user window */
    p.rank_lo = 5;
    p.rank_hi = 40;
    dcx_dim_result *r2 = run_dim(x, &p);
    ASSERT_NEAR(r2->alpha.value, alpha, 1e-9);
    assert_int_equal(r2->alpha.lo, 5);
    assert_int_equal(r2->alpha.hi, 40);
    /* beyond the rank: clear error */
    p.rank_hi = 65;
    assert_int_equal(run_dim_status(x, &p), DCX_ERR_ARG);
    assert_non_null(strstr(dcx_last_error(), "rank r = 64"));
    p.rank_lo = 5;
    p.rank_hi = 6;
    assert_int_equal(run_dim_status(x, &p), DCX_ERR_ARG);
    dcx_dim_result_free(r2);
    dcx_dim_result_free(res);
    dcx_matrix_free(x);
}

static void test_exact_split_counts(void **state)
{
    (void)state;
    /* ten equal eigenvalues: n90 = 9, n99 = 10, D_eff = PR = 10 */
    double lam[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, -1e-17};
    dcx_dim_result *r = NULL;
    ASSERT_OK(dcx_dim_from_spectrum(lam, 12, NULL, &r));
    ASSERT_NEAR(r->deff, 10.0, 1e-12);
    ASSERT_NEAR(r->pr, 10.0, 1e-12);
    assert_int_equal(r->n90, 9);
    assert_int_equal(r->n99, 10);
    assert_int_equal(r->rank, 10);
    dcx_dim_result_free(r);
    double zero[3] = {0, 0, -1e-20};
    assert_int_equal(dcx_dim_from_spectrum(zero, 3, NULL, &r), DCX_ERR_DEGENERATE);
    assert_null(r);
    assert_string_equal(dcx_last_error(), "zero variance: effective dimension undefined");
}

static void test_gram_equals_cov(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 21);
    int64_t n = 30, d = 50;
    dcx_matrix *x = mat64(n, d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) *at(x, i, j) = 7.0 + dcx_rng_normal(&r) / (1.0 + 0.3 * j);
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.keep_spectrum = 1;
    dcx_dim_result *ra = run_dim(x, &p); /* auto: N < D -> Gram */
    p.route = DCX_DIM_ROUTE_COV;
    dcx_dim_result *rc = run_dim(x, &p);
    assert_int_equal(ra->route, DCX_DIM_ROUTE_GRAM);
    assert_int_equal(rc->route, DCX_DIM_ROUTE_COV);
    assert_int_equal(ra->n_spectrum, n);
    assert_int_equal(rc->n_spectrum, d);
    print_message("gram deff %.15f cov deff %.15f\n", ra->deff, rc->deff);
    ASSERT_NEAR(ra->deff, rc->deff, 1e-10 * rc->deff);
    ASSERT_NEAR(ra->pr, rc->pr, 1e-10 * rc->pr);
    assert_int_equal(ra->rank, n - 1);
    assert_int_equal(rc->rank, n - 1);
    assert_int_equal(ra->n90, rc->n90);
    assert_rel_close("gram vs cov spectrum", ra->spectrum, rc->spectrum, (size_t)(n - 1), 1e-10, rc->spectrum[0]);
    ASSERT_NEAR(ra->alpha.value, rc->alpha.value, 1e-8);
    dcx_dim_result_free(ra);
    dcx_dim_result_free(rc);
    dcx_matrix_free(x);
}

static void test_scale_invariance(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 4);
    int64_t n = 500, d = 12;
    dcx_matrix *x = mat64(n, d), *y = mat64(n, d), *z = mat64(n, d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = dcx_rng_normal(&r) * exp(-0.3 * j) + 0.5 * j;
            *at(x, i, j) = v;
            *at(y, i, j) = 1e3 * v;
            *at(z, i, j) = 1e-3 * v;
        }
    dcx_dim_result *a = run_dim(x, NULL), *b = run_dim(y, NULL), *c = run_dim(z, NULL);
    print_message("deff %.15f x1e3 %.15f x1e-3 %.15f\n", a->deff, b->deff, c->deff);
    ASSERT_NEAR(b->deff, a->deff, 1e-12 * a->deff);
    ASSERT_NEAR(c->deff, a->deff, 1e-12 * a->deff);
    ASSERT_NEAR(b->pr, a->pr, 1e-12 * a->pr);
    ASSERT_NEAR(b->total_variance, 1e6 * a->total_variance, 1e-10 * b->total_variance);
    assert_true(a->deff > 1.0 && a->deff < (double)d);
    dcx_dim_result_free(a);
    dcx_dim_result_free(b);
    dcx_dim_result_free(c);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
    dcx_matrix_free(z);
}

static void test_errors(void **state)
{
    (void)state;
    dcx_matrix *one = mat64(1, 3), *cst = mat64(10, 3), *nan = mat64(5, 2);
    for (int64_t i = 0; i < 10; i++)
        for (int64_t j = 0; j < 3; j++) *at(cst, i, j) = 0.1 * (j + 1);
    assert_int_equal(run_dim_status(one, NULL), DCX_ERR_DEGENERATE);
    assert_non_null(strstr(dcx_last_error(), "mem.npy: 1 sample"));
    assert_int_equal(run_dim_status(cst, NULL), DCX_ERR_DEGENERATE);
    assert_string_equal(dcx_last_error(), "mem.npy: zero variance: effective dimension undefined");
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.route = DCX_DIM_ROUTE_GRAM;
    assert_int_equal(run_dim_status(cst, &p), DCX_ERR_DEGENERATE);
    *at(nan, 3, 1) = NAN;
    assert_int_equal(run_dim_status(nan, NULL), DCX_ERR_NUMERIC);
    /* ladder outside [2, N] */
    int64_t ks[2] = {2, 11};
    dcx_dim_params_default(&p);
    p.local_k = ks;
    p.n_local = 2;
    *at(cst, 0, 0) = 5; /* non-constant now */
    assert_int_equal(run_dim_status(cst, &p), DCX_ERR_ARG);
    ks[1] = 1;
    assert_int_equal(run_dim_status(cst, &p), DCX_ERR_ARG);
    dcx_matrix_free(one);
    dcx_matrix_free(cst);
    dcx_matrix_free(nan);
}

/* ---- local effective dimension ---- */

static void test_local_circle(void **state)
{
    (void)state;
    /* N points evenly spaced on a unit circle, rotated into D = 10: the
     * global covariance is exactly isotropic in the plane (D_eff = 2), while
     * 16 neighbours span an arc of 0.05 rad: locally one-dimensional. */
    dcx_rng r;
    dcx_rng_seed(&r, 8);
    int64_t n = 2000, d = 10;
    double q[10 * 2];
    random_frame(&r, d, 2, q);
    dcx_matrix *x = mat64(n, d);
    for (int64_t i = 0; i < n; i++) {
        double t = 2 * M_PI * (double)i / (double)n, c = cos(t), s = sin(t);
        for (int64_t j = 0; j < d; j++) *at(x, i, j) = 1.0 + q[j * 2] * c + q[j * 2 + 1] * s;
    }
    int64_t ks[3] = {16, 256, n};
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.local_k = ks;
    p.n_local = 3;
    p.anchors = 100;
    p.seed = 3;
    dcx_dim_result *res = run_dim(x, &p);
    print_message("circle: global %.12f local16 %.6f (sd %.2g) local256 %.6f localN %.12f\n", res->deff,
                  res->local[0].mean, res->local[0].std, res->local[1].mean, res->local[2].mean);
    ASSERT_NEAR(res->deff, 2.0, 1e-10);
    /* an arc of half-angle θ = π k/N: normal/tangent variance ratio
     * ρ ≈ θ²/15, D_eff ≈ 1 + ρ(1 − ln ρ) = 1 + 4.6e-4 for k = 16 */
    ASSERT_NEAR(res->local[0].mean, 1.0, 1e-3);
    ASSERT_NEAR(res->local[0].median, 1.0, 1e-3);
    assert_true(res->local[1].mean > res->local[0].mean && res->local[1].mean < 2.0);
    /* k = N: the global value, computed once for every anchor */
    ASSERT_NEAR(res->local[2].mean, res->deff, 1e-10);
    assert_true(res->local[2].std == 0.0);
    assert_int_equal(res->local[0].anchors, 100);
    assert_int_equal(res->local[2].anchors, 100);
    assert_int_equal(res->local[0].k, 16);
    dcx_dim_result_free(res);
    dcx_matrix_free(x);
}

typedef struct {
    double d;
    int64_t i;
} dpair;
static int dpair_cmp(const void *a, const void *b)
{
    const dpair *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d ? 1 : (x->i > y->i) - (x->i < y->i);
}

/* Brute force: every sample an anchor, full sort, naive covariance. */
static void test_local_brute_force(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 13);
    int64_t n = 120, d = 6, k = 20;
    dcx_matrix *x = mat64(n, d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) *at(x, i, j) = dcx_rng_normal(&r) * (1.0 + j) + (j == 2 ? 50 : 0);
    double *vals = calloc((size_t)n, sizeof *vals), *c = calloc((size_t)(d * d), sizeof *c), w[6];
    dpair *pp = calloc((size_t)n, sizeof *pp);
    dcx_matrix *sub = mat64(k, d);
    double sum = 0;
    for (int64_t a = 0; a < n; a++) {
        for (int64_t i = 0; i < n; i++) {
            double s = 0;
            for (int64_t j = 0; j < d; j++) s += pow(*at(x, i, j) - *at(x, a, j), 2);
            pp[i].d = s;
            pp[i].i = i;
        }
        qsort(pp, (size_t)n, sizeof *pp, dpair_cmp);
        assert_int_equal(pp[0].i, a);
        for (int64_t t = 0; t < k; t++)
            for (int64_t j = 0; j < d; j++) *at(sub, t, j) = *at(x, pp[t].i, j);
        naive_cov(sub, c);
        ASSERT_OK(dcx__dsyevd(0, d, c, d, w));
        dcx_dim_result *rr = NULL;
        ASSERT_OK(dcx_dim_from_spectrum(w, d, NULL, &rr));
        vals[a] = rr->deff;
        sum += rr->deff;
        dcx_dim_result_free(rr);
    }
    int64_t ks[2] = {k, 5};
    dcx_dim_local loc[2];
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.anchors = n; /* every sample once */
    int threads_before = dcx_get_threads();
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 2, &p, loc));
    assert_int_equal(dcx_get_threads(), threads_before); /* the BLAS setting is restored */
    double mean = sum / (double)n, ss = 0;
    for (int64_t a = 0; a < n; a++) ss += (vals[a] - mean) * (vals[a] - mean);
    print_message("brute force k=%lld: mean %.12f got %.12f\n", (long long)k, mean, loc[0].mean);
    ASSERT_NEAR(loc[0].mean, mean, 1e-10);
    ASSERT_NEAR(loc[0].std, sqrt(ss / (double)(n - 1)), 1e-9);
    assert_int_equal(loc[0].anchors, n);
    assert_int_equal(loc[0].skipped, 0);
    /* k = 5 < D = 6 takes the Gram route; D_eff <= k − 1 = 4 */
    assert_true(loc[1].mean > 1.0 && loc[1].mean <= 4.0 + 1e-12);
    dcx_matrix_free(sub);
    dcx_matrix_free(x);
    free(vals);
    free(c);
    free(pp);
}

static void test_local_work_bound(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 17);
    int64_t n = 400, d = 8;
    dcx_matrix *x = mat64(n, d);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) *at(x, i, j) = dcx_rng_normal(&r) * (1 + (j % 3));
    int64_t ks[3] = {16, 64, 400};
    dcx_dim_local a[3], b[3], c[3];
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.anchors = 50;
    p.seed = 42;
    p.local_work = 1.0; /* tiny: every rung falls to the minimum */
    p.local_min_anchors = 8;
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 3, &p, a));
    assert_int_equal(a[0].anchors, 8);
    assert_int_equal(a[1].anchors, 8);
    assert_int_equal(a[2].anchors, 50); /* k = N: all anchors, one computation */
    /* the reduced rung uses the first 8 anchors of the same seeded list */
    p.anchors = 8;
    p.local_work = -1;
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 3, &p, b));
    ASSERT_NEAR(a[0].mean, b[0].mean, 1e-14);
    ASSERT_NEAR(a[1].median, b[1].median, 1e-14);
    /* a budget that fits exactly 20 anchors at k = 64: 64·8·8 + 4/3·8³ flops each */
    p.anchors = 50;
    p.local_work = 20 * (64.0 * 8 * 8 + 4.0 / 3.0 * 512) + 1;
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 3, &p, c));
    assert_int_equal(c[1].anchors, 20);
    assert_int_equal(c[0].anchors, 50);
    /* same seed, same answer; another seed, other anchors */
    dcx_dim_local e[3];
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 3, &p, e));
    assert_true(e[0].mean == c[0].mean && e[1].std == c[1].std);
    p.seed = 43;
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 3, &p, e));
    assert_true(e[0].mean != c[0].mean);
    ASSERT_NEAR(e[2].mean, c[2].mean, 1e-15);
    /* anchors are shared among threads, each value in its own slot: the
     * rungs k < N give bit-identical results for 1 and 3 threads */
    int saved = dcx_get_threads();
    dcx_dim_local t1[3], t3[3];
    dcx_set_threads(1);
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 3, &p, t1));
    dcx_set_threads(3);
    ASSERT_OK(dcx_dim_local_ladder(x, ks, 3, &p, t3));
    dcx_set_threads(saved);
    for (int i = 0; i < 2; i++)
        assert_true(t1[i].mean == t3[i].mean && t1[i].median == t3[i].median && t1[i].std == t3[i].std &&
                    t1[i].anchors == t3[i].anchors);
    dcx_matrix_free(x);
}

/* ---- channels mode ---- */

static void test_channels(void **state)
{
    (void)state;
    dcx_rng r;
    dcx_rng_seed(&r, 2);
    enum { N = 3, C = 4, H = 2, W = 3 };
    dcx_matrix *x = mat64(N, C * H * W), *y = mat64(N * H * W, C);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    double v = dcx_rng_normal(&r) * (c + 1) + c;
                    *at(x, n, (c * H + h) * W + w) = v;       /* NCHW flattened */
                    *at(y, (n * H + h) * W + w, c) = v;       /* (N·H·W) x C */
                }
    dcx_source *in = NULL, *ch = NULL;
    ASSERT_OK(dcx_source_from_matrix(x, "conv.npy", &in));
    assert_int_equal(dcx_source_channels(in, C, H, 4, &ch), DCX_ERR_ARG);
    assert_non_null(strstr(dcx_last_error(), "does not match the 24 columns"));
    ASSERT_OK(dcx_source_channels(in, C, H, W, &ch));
    assert_int_equal(dcx_source_rows(ch), N * H * W);
    assert_int_equal(dcx_source_cols(ch), C);
    /* rows come out as rearranged by hand, in odd-sized reads */
    double buf[N * H * W * C];
    int64_t got, tot = 0;
    while (tot < N * H * W) {
        ASSERT_OK(dcx_source_read(ch, 5, buf + tot * C, &got));
        assert_true(got > 0);
        tot += got;
    }
    for (int i = 0; i < N * H * W * C; i++) assert_true(buf[i] == ((double *)y->data)[i]);
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.keep_spectrum = 1;
    dcx_dim_result *a = NULL;
    ASSERT_OK(dcx_dim_compute(ch, &p, &a)); /* rewinds the adapter */
    dcx_dim_result *b = run_dim(y, &p);
    assert_int_equal(a->n, N * H * W);
    assert_int_equal(a->d, C);
    ASSERT_NEAR(a->deff, b->deff, 1e-13 * b->deff);
    assert_rel_close("channels vs rearranged spectrum", a->spectrum, b->spectrum, C, 1e-13, b->spectrum[0]);
    dcx_dim_result_free(a);
    dcx_dim_result_free(b);
    dcx_source_free(ch); /* frees `in` too */
    dcx_matrix_free(x);
    dcx_matrix_free(y);
}

/* ---- numpy reference fixtures (tests/fixtures/make_dim_fixtures.py) ---- */

static dcx_dim_result *run_file(const char *name, int channels)
{
    dcx_source *s = NULL, *c = NULL;
    dcx_dim_result *r = NULL;
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.keep_spectrum = 1;
    ASSERT_OK(dcx_source_open(fixture(name), NULL, &s));
    if (channels) {
        int64_t sh[DCX_MAX_NDIM];
        assert_int_equal(dcx_source_shape(s, sh), 4);
        ASSERT_OK(dcx_source_channels(s, sh[1], sh[2], sh[3], &c));
        s = c;
    }
    ASSERT_OK(dcx_dim_compute(s, &p, &r));
    dcx_source_free(s);
    return r;
}

/* ref = [deff, pr, n90, n99, rank, alpha, spectrum...]; 1e-9 relative */
static void check_ref(const char *what, const dcx_dim_result *r, const char *refname)
{
    dcx_matrix *ref = NULL;
    ASSERT_OK(dcx_read_matrix(fixture(refname), NULL, DCX_F64, &ref));
    const double *v = ref->data;
    int64_t nref = ref->rows * ref->cols - 6;
    double got[2] = {r->deff, r->pr};
    char label[128];
    snprintf(label, sizeof label, "%s: D_eff, PR vs numpy", what);
    assert_rel_close(label, got, v, 2, 1e-9, 0);
    assert_int_equal(r->n90, (int64_t)v[2]);
    assert_int_equal(r->n99, (int64_t)v[3]);
    assert_int_equal(r->rank, (int64_t)v[4]);
    if (v[5] == -1.0) { /* the script marks "unavailable" with -1 */
        assert_false(r->alpha.available);
    } else {
        assert_true(r->alpha.available);
        snprintf(label, sizeof label, "%s: alpha vs numpy polyfit", what);
        assert_rel_close(label, &r->alpha.value, v + 5, 1, 1e-9, 0);
    }
    /* numpy's spectrum has D values; ours min(N, D) on the Gram route */
    int64_t m = r->n_spectrum < nref ? r->n_spectrum : nref;
    snprintf(label, sizeof label, "%s: spectrum vs numpy (floor 1e-4 lambda_1)", what);
    assert_rel_close(label, r->spectrum, v + 6, (size_t)m, 1e-9, 1e-4 * v[6]);
    dcx_matrix_free(ref);
}

static void test_numpy_fixtures(void **state)
{
    (void)state;
    static const char *names[] = {"a", "a_f32", "b", "c", "d", "iso3"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char f[64], rf[64];
        snprintf(f, sizeof f, "dim/%s.npy", names[i]);
        snprintf(rf, sizeof rf, "dim/ref_%s.npy", names[i]);
        dcx_dim_result *r = run_file(f, 0);
        check_ref(names[i], r, rf);
        if (!strcmp(names[i], "b")) assert_int_equal(r->route, DCX_DIM_ROUTE_GRAM);
        dcx_dim_result_free(r);
    }
    dcx_dim_result *r = run_file("dim/conv.npy", 1);
    assert_int_equal(r->n, 5 * 2 * 4);
    assert_int_equal(r->d, 3);
    check_ref("conv channels", r, "dim/ref_conv_channels.npy");
    dcx_dim_result_free(r);
}

/* Fortran order and big-endian files give the same numbers as C order. */
static void test_layouts(void **state)
{
    (void)state;
    dcx_dim_result *c = run_file("dim/a.npy", 0), *f = run_file("dim/a_fortran.npy", 0),
                   *b = run_file("dim/a_bigendian.npy", 0), *c32 = run_file("dim/a_f32.npy", 0),
                   *x32 = run_file("dim/a_f32_fortran_be.npy", 0);
    assert_true(f->deff == c->deff && b->deff == c->deff && f->pr == c->pr && b->pr == c->pr);
    assert_rel_close("fortran-order spectrum", f->spectrum, c->spectrum, 12, 0, 1e-300);
    assert_rel_close("big-endian spectrum", b->spectrum, c->spectrum, 12, 0, 1e-300);
    assert_true(x32->deff == c32->deff && x32->alpha.value == c32->alpha.value);
    assert_true(c32->deff != c->deff); /* float32 rounding does change the value */
    dcx_dim_result_free(c);
    dcx_dim_result_free(f);
    dcx_dim_result_free(b);
    dcx_dim_result_free(c32);
    dcx_dim_result_free(x32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cov_blocks),
        cmocka_unit_test(test_cov_one_stream),        cmocka_unit_test(test_isotropic_subspace),
        cmocka_unit_test(test_power_law_spectrum), cmocka_unit_test(test_exact_split_counts),
        cmocka_unit_test(test_gram_equals_cov),   cmocka_unit_test(test_scale_invariance),
        cmocka_unit_test(test_errors),            cmocka_unit_test(test_local_circle),
        cmocka_unit_test(test_local_brute_force), cmocka_unit_test(test_local_work_bound),
        cmocka_unit_test(test_channels),          cmocka_unit_test(test_numpy_fixtures),
        cmocka_unit_test(test_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
