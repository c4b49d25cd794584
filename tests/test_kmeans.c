/* test_kmeans.c — k-means: blob recovery, monotone inertia, restarts,
 * empty-cluster repair, centres = means, argument errors, and the float
 * distances giving the labels of the double ones. */
#include "testutil.h"
#include "obs/obs_internal.h"

/* n points in `k` Gaussian blobs (sigma 1) whose centres are 20 apart on the
 * axes of R^d; truth[i] = blob of point i. */
static dcx_matrix *blobs(int64_t n, int64_t d, int64_t k, uint64_t seed, int64_t *truth)
{
    dcx_matrix *m;
    dcx_rng r;
    dcx_rng_seed(&r, seed);
    if (dcx_matrix_create(n, d, DCX_F64, &m) != DCX_OK) return NULL;
    for (int64_t i = 0; i < n; i++) {
        int64_t b = (int64_t)dcx_rng_below(&r, (uint64_t)k);
        truth[i] = b;
        for (int64_t j = 0; j < d; j++)
            dcx_matrix_set(m, i, j, dcx_rng_normal(&r) + (j == b % d ? 20.0 * (1 + b / d) : 0.0));
    }
    return m;
}

/* 1 when labels equal truth up to a relabelling (a bijection). */
static int same_partition(const int64_t *a, const int64_t *b, int64_t n, int64_t k)
{
    int64_t map[64], inv[64];
    for (int64_t q = 0; q < k; q++) map[q] = inv[q] = -1;
    for (int64_t i = 0; i < n; i++) {
        if (map[a[i]] < 0 && inv[b[i]] < 0) {
            map[a[i]] = b[i];
            inv[b[i]] = a[i];
        }
        if (map[a[i]] != b[i] || inv[b[i]] != a[i]) return 0;
    }
    return 1;
}

static void test_blobs_recovered(void **state)
{
    (void)state;
    for (int64_t k = 2; k <= 8; k += 3) {
        int64_t n = 600, d = 5, truth[600];
        dcx_matrix *x = blobs(n, d, k, 11 + (uint64_t)k, truth);
        assert_non_null(x);
        dcx_kmeans_params p;
        dcx_kmeans_params_default(&p);
        p.k = k;
        p.seed = 3;
        dcx_kmeans_result *res;
        ASSERT_OK(dcx_kmeans(x, &p, &res));
        assert_true(same_partition(res->labels, truth, n, k));
        assert_true(res->converged);
        /* inertia ≈ n·d·σ² for recovered blobs */
        ASSERT_NEAR(res->inertia / (double)(n * d), 1.0, 0.15);
        dcx_kmeans_free(res);
        dcx_matrix_free(x);
    }
}

typedef struct trace_log {
    double j[3][128];
    int len[3];
} trace_log;

static void tracer(void *ctx, int restart, int iter, double inertia)
{
    trace_log *t = ctx;
    if (restart < 3 && iter < 128) {
        t->j[restart][iter] = inertia;
        if (iter + 1 > t->len[restart]) t->len[restart] = iter + 1;
    }
}

static dcx_matrix *uniform(int64_t n, int64_t d, uint64_t seed)
{
    dcx_matrix *m;
    dcx_rng r;
    dcx_rng_seed(&r, seed);
    if (dcx_matrix_create(n, d, DCX_F64, &m) != DCX_OK) return NULL;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) dcx_matrix_set(m, i, j, dcx_rng_uniform(&r));
    return m;
}

static void test_inertia_never_increases(void **state)
{
    (void)state;
    dcx_matrix *x = uniform(3000, 3, 5);
    trace_log t = {0};
    dcx_kmeans_params p;
    dcx_kmeans_params_default(&p);
    p.k = 20;
    p.seed = 9;
    p.trace = tracer;
    p.trace_ctx = &t;
    dcx_kmeans_result *res;
    ASSERT_OK(dcx_kmeans(x, &p, &res));
    int longest = 0;
    for (int q = 0; q < 3; q++) {
        assert_true(t.len[q] >= 2);
        if (t.len[q] > longest) longest = t.len[q];
        for (int i = 1; i < t.len[q]; i++)
            if (!(t.j[q][i] <= t.j[q][i - 1] * (1 + 1e-12)))
                fail_msg("restart %d: inertia rose from %.17g to %.17g at iteration %d", q, t.j[q][i - 1],
                         t.j[q][i], i);
        /* strictly better at the end than after the seeding on this data */
        assert_true(t.j[q][t.len[q] - 1] < t.j[q][0]);
    }
    print_message("longest restart: %d iterations\n", longest);
    /* the winner's inertia is the smallest final trace value */
    double best = INFINITY;
    for (int q = 0; q < 3; q++)
        if (t.j[q][t.len[q] - 1] < best) best = t.j[q][t.len[q] - 1];
    ASSERT_NEAR(res->inertia, best, 1e-9 * best);
    assert_int_equal(res->iterations, t.len[res->best_restart]);
    dcx_kmeans_free(res);
    dcx_matrix_free(x);
}

static void test_centres_are_means(void **state)
{
    (void)state;
    int64_t n = 1500, d = 4, k = 12;
    dcx_matrix *x = uniform(n, d, 77);
    dcx_kmeans_params p;
    dcx_kmeans_params_default(&p);
    p.k = k;
    p.seed = 1;
    dcx_kmeans_result *res;
    ASSERT_OK(dcx_kmeans(x, &p, &res));
    double mean[12][4] = {{0}}, direct = 0;
    int64_t cnt[12] = {0};
    for (int64_t i = 0; i < n; i++) {
        cnt[res->labels[i]]++;
        for (int64_t j = 0; j < d; j++) mean[res->labels[i]][j] += dcx_matrix_get(x, i, j);
    }
    for (int64_t q = 0; q < k; q++) {
        assert_int_equal(cnt[q], res->sizes[q]);
        for (int64_t j = 0; j < d; j++) ASSERT_NEAR(res->centres[q * d + j], mean[q][j] / cnt[q], 1e-12);
    }
    /* every point is at its nearest centre (a converged Lloyd fixed point) */
    for (int64_t i = 0; i < n; i++) {
        double bestd = INFINITY, own = 0;
        for (int64_t q = 0; q < k; q++) {
            double s = 0;
            for (int64_t j = 0; j < d; j++) {
                double t = dcx_matrix_get(x, i, j) - res->centres[q * d + j];
                s += t * t;
            }
            if (s < bestd) bestd = s;
            if (q == res->labels[i]) own = s;
        }
        direct += own;
        if (res->converged) ASSERT_NEAR(own, bestd, 1e-12);
    }
    ASSERT_NEAR(res->inertia, direct, 1e-9 * direct);
    dcx_kmeans_free(res);
    dcx_matrix_free(x);
}

static void test_restarts_and_seeds(void **state)
{
    (void)state;
    dcx_matrix *x = uniform(800, 2, 3);
    dcx_kmeans_params p;
    dcx_kmeans_params_default(&p);
    p.k = 7;
    p.seed = 5;
    dcx_kmeans_result *a, *b, *one;
    ASSERT_OK(dcx_kmeans(x, &p, &a));
    ASSERT_OK(dcx_kmeans(x, &p, &b));
    assert_memory_equal(a->labels, b->labels, 800 * sizeof(int64_t));
    assert_true(a->inertia == b->inertia);
    /* restart 0 of a 3-restart run is the 1-restart run (own stream per restart) */
    p.restarts = 1;
    ASSERT_OK(dcx_kmeans(x, &p, &one));
    assert_true(a->inertia <= one->inertia);
    if (a->best_restart == 0) assert_memory_equal(a->labels, one->labels, 800 * sizeof(int64_t));
    dcx_kmeans_free(a);
    dcx_kmeans_free(b);
    dcx_kmeans_free(one);
    dcx_matrix_free(x);
}

static void test_empty_cluster_repair(void **state)
{
    (void)state;
    /* 30 points on 3 distinct locations, k = 6: seeding must pick duplicate
     * centres, and the repair must still leave no cluster empty. */
    dcx_matrix *x;
    ASSERT_OK(dcx_matrix_create(30, 2, DCX_F64, &x));
    for (int i = 0; i < 30; i++) {
        dcx_matrix_set(x, i, 0, (double)(i % 3));
        dcx_matrix_set(x, i, 1, (double)(i % 3) * 2.0);
    }
    dcx_kmeans_params p;
    dcx_kmeans_params_default(&p);
    p.k = 6;
    dcx_kmeans_result *res;
    ASSERT_OK(dcx_kmeans(x, &p, &res));
    int64_t tot = 0;
    for (int q = 0; q < 6; q++) {
        assert_true(res->sizes[q] > 0);
        tot += res->sizes[q];
    }
    assert_int_equal(tot, 30);
    ASSERT_NEAR(res->inertia, 0.0, 1e-12);
    dcx_kmeans_free(res);
    dcx_matrix_free(x);
}

/* One restart with float distances for the assignments (x32 given) and
 * with double distances only (x32 NULL): the same labels, centres,
 * inertia and iteration count, bit for bit. */
static void same_with_floats(const double *x, int64_t n, int64_t d, int64_t k, const char *what)
{
    dcx__rows rows = {0};
    double *xsq = calloc((size_t)n, sizeof *xsq);
    float *x32 = calloc((size_t)dcx__km_floats_count(n, d), sizeof *x32);
    assert_non_null(xsq);
    assert_non_null(x32);
    ASSERT_OK(dcx__rows_init(NULL, n, &rows));
    dcx__row_norms(x, n, d, xsq);
    dcx__km_floats_fill(x, xsq, n, d, x32);
    for (int q = 0; q < 2; q++) {
        dcx__km_run a, b;
        ASSERT_OK(dcx__kmeans_restart(x, x32, xsq, &rows, d, k, 100, 7, q, 0, NULL, NULL, &a));
        ASSERT_OK(dcx__kmeans_restart(x, NULL, xsq, &rows, d, k, 100, 7, q, 0, NULL, NULL, &b));
        print_message("%s, restart %d: %d iterations, inertia %.17g\n", what, q, a.iterations, a.inertia);
        assert_int_equal(a.iterations, b.iterations);
        assert_memory_equal(a.labels, b.labels, (size_t)n * sizeof *a.labels);
        assert_memory_equal(a.centres, b.centres, (size_t)(k * d) * sizeof *a.centres);
        assert_memory_equal(&a.inertia, &b.inertia, sizeof a.inertia);
        dcx__km_run_free(&a);
        dcx__km_run_free(&b);
    }
    dcx__rows_free(&rows);
    free(xsq);
    free(x32);
}

static void float_distances(void)
{
    dcx_rng r;
    dcx_rng_seed(&r, 21);
    enum { N = 3000, D = 24 };
    double *x = calloc((size_t)N * D, sizeof *x);
    assert_non_null(x);
    /* structureless Gaussian data: many points nearly equidistant from
     * their two nearest centres, Lloyd to the cap */
    for (int64_t i = 0; i < N * D; i++) x[i] = dcx_rng_normal(&r);
    same_with_floats(x, N, D, 16, "gaussian");
    same_with_floats(x, N, D, 3, "gaussian, k = 3 (padded columns)");
    /* exact ties: a lattice of integer points, symmetric about the centres */
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < D; j++) x[i * D + j] = (double)((i >> (j % 4)) % 3) - 1.0;
    same_with_floats(x, N, D, 8, "lattice");
    /* a large offset: float's relative error is large against the spread,
     * so many calls are close and go to the double kernel */
    for (int64_t i = 0; i < N * D; i++) x[i] = 1e4 + 1e-2 * dcx_rng_normal(&r);
    same_with_floats(x, N, D, 8, "offset 1e4, spread 1e-2");
    /* odd shapes: fewer points than a panel, one dimension, one centre,
     * more centres than the seeding's candidates, a last panel of 5, and
     * the seeding's float screen (d >= 16) on a partial last panel */
    const int64_t shapes[][3] = {{5, 1, 1}, {20, 3, 4}, {37, 2, 9}, {101, 5, 17}, {3000, 1, 2}, {45, 17, 6}};
    for (int sh = 0; sh < 6; sh++) {
        const int64_t n = shapes[sh][0], d = shapes[sh][1], k = shapes[sh][2];
        for (int64_t i = 0; i < n * d; i++) x[i] = dcx_rng_normal(&r);
        same_with_floats(x, n, d, k, "odd shape");
    }
    /* beyond float's range: the double kernel throughout */
    for (int64_t i = 0; i < N * D; i++) x[i] = 1e20 * dcx_rng_normal(&r);
    same_with_floats(x, N, D, 8, "scale 1e20");
    free(x);
}

/* ... on every assignment path: the cost model's choice, Hamerly's rows
 * after the first pass, full passes throughout (each has its own float and
 * 16-bit kernels and error bounds) */
static void test_float_distances(void **state)
{
    (void)state;
    for (int path = 0; path < 3; path++) {
        print_message("assignment path %d\n", path);
        dcx__km_force_path(path);
        float_distances();
    }
    dcx__km_force_path(0);
}

/* The 16-bit full passes (d >= 16 above) in their two builds: the
 * baseline one runs on machines without AVX2, so it is compared here
 * against the AVX2 one on random panels of every shape. */
static void test_panel16_builds(void **state)
{
    (void)state;
    assert_int_equal(dcx__km_panel16_builds_agree(5), 1);
    assert_int_equal(dcx__km_panel16_builds_agree(6), 1);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    dcx_matrix *x = uniform(10, 2, 1);
    dcx_kmeans_params p;
    dcx_kmeans_params_default(&p);
    dcx_kmeans_result *res = NULL;
    p.k = 0;
    assert_int_equal(dcx_kmeans(x, &p, &res), DCX_ERR_ARG);
    p.k = 11;
    assert_int_equal(dcx_kmeans(x, &p, &res), DCX_ERR_ARG);
    assert_non_null(strstr(dcx_last_error(), "k = 11"));
    p.k = 2;
    p.restarts = 0;
    assert_int_equal(dcx_kmeans(x, &p, &res), DCX_ERR_ARG);
    p.restarts = 1;
    dcx_matrix_set(x, 4, 1, NAN);
    assert_int_equal(dcx_kmeans(x, &p, &res), DCX_ERR_NUMERIC);
    assert_null(res);
    dcx_kmeans_free(NULL);
    dcx_matrix_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blobs_recovered),
        cmocka_unit_test(test_inertia_never_increases),
        cmocka_unit_test(test_centres_are_means),
        cmocka_unit_test(test_restarts_and_seeds),
        cmocka_unit_test(test_empty_cluster_repair),
        cmocka_unit_test(test_float_distances),
        cmocka_unit_test(test_panel16_builds),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
