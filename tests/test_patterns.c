/* test_patterns.c — activation-pattern entropies (SPEC §3) on inputs whose
 * answers are known exactly: enumerated fair units with dead and always-on
 * units, copies of one unit (multi-information (n−1) ln 2 − 1/(2N)), a
 * hand-made distribution (plug-in, Miller–Madow, Zipf), a brute-force
 * count of distinct patterns over many row blocks, and the same results,
 * bit for bit, whatever the block size and the thread count. */
#include "testutil.h"

static dcx_patterns_result *run(const dcx_matrix *m, const dcx_patterns_params *p)
{
    dcx_source *s;
    dcx_patterns_result *res = NULL;
    ASSERT_OK(dcx_source_from_matrix(m, "test", &s));
    ASSERT_OK(dcx_patterns(s, p, &res));
    dcx_source_free(s);
    return res;
}

static void test_fair_and_dead_units(void **state)
{
    (void)state;
    /* 64 rows enumerate every pattern of 6 fair units; 3 dead units (values
     * <= 0) and 1 always-on unit complete D = 10. */
    dcx_matrix *m;
    ASSERT_OK(dcx_matrix_create(64, 10, DCX_F32, &m));
    for (int i = 0; i < 64; i++) {
        for (int j = 0; j < 6; j++) dcx_matrix_set(m, i, 2 + j, (i >> j) & 1 ? 1.5 : -0.5);
        dcx_matrix_set(m, i, 0, 0.0);
        dcx_matrix_set(m, i, 1, -2.0);
        dcx_matrix_set(m, i, 8, 0.25);
        dcx_matrix_set(m, i, 9, -1e-3);
    }
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    dcx_patterns_result *r = run(m, &p);
    assert_int_equal(r->n, 64);
    assert_int_equal(r->d, 10);
    assert_int_equal(r->dead, 3);
    assert_int_equal(r->always_on, 1);
    assert_int_equal(r->switching, 6);
    for (int j = 2; j < 8; j++) {
        ASSERT_NEAR(r->activity[j], 0.5, 0);
        ASSERT_NEAR(r->unit_entropy[j], log(2.0), 1e-15);
    }
    ASSERT_NEAR(r->unit_entropy[0], 0, 0);
    ASSERT_NEAR(r->unit_entropy[8], 0, 0);
    ASSERT_NEAR(r->entropy_sum, 6 * log(2.0), 1e-14);
    assert_int_equal(r->distinct, 64);
    ASSERT_NEAR(r->entropy, log(64.0), 1e-13);
    ASSERT_NEAR(r->entropy_mm, log(64.0) + 63.0 / 128.0, 1e-13);
    assert_true(r->saturated);
    assert_false(r->zipf_ok); /* every pattern seen once */
    /* scale curve: n = 1, 2, 4, 8 (D = 10) */
    assert_int_equal(r->n_scale, 4);
    assert_int_equal(r->scale[3].n, 8);
    /* independent units: I(n) is minus the Miller–Madow correction of the
     * n-unit words; it lies in (−(2^n − 1)/(2N), 0] */
    for (int s = 0; s < r->n_scale; s++) {
        double lo = -(double)((1 << r->scale[s].n) - 1) / 128.0;
        assert_true(r->scale[s].multi_information <= 1e-12 && r->scale[s].multi_information >= lo - 1e-12);
    }
    dcx_patterns_free(r);
    /* a threshold above every value: all units dead */
    p.threshold = 2.0;
    r = run(m, &p);
    assert_int_equal(r->dead, 10);
    assert_int_equal(r->distinct, 1);
    ASSERT_NEAR(r->entropy, 0, 0);
    ASSERT_NEAR(r->entropy_mm, 0, 0);
    assert_false(r->saturated);
    dcx_patterns_free(r);
    dcx_matrix_free(m);
}

static void test_copies_multi_information(void **state)
{
    (void)state;
    /* 8 copies of one fair unit over N = 40 rows: every n-unit word takes 2
     * values 20 times each, so H(n) = ln 2 + 1/(2N) (Miller–Madow, m = 2) and
     * I(n) = n ln 2 − H(n) = (n − 1) ln 2 − 1/(2N) exactly. */
    const int n = 40, d = 8;
    dcx_matrix *m;
    ASSERT_OK(dcx_matrix_create(n, d, DCX_F64, &m));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) dcx_matrix_set(m, i, j, i % 2 ? 3.0 : 0.0);
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    p.seed = 17;
    dcx_patterns_result *r = run(m, &p);
    assert_int_equal(r->n_scale, 4);
    for (int s = 0; s < r->n_scale; s++) {
        double g = (double)r->scale[s].n;
        ASSERT_NEAR(r->scale[s].entropy_plugin, log(2.0), 1e-14);
        ASSERT_NEAR(r->scale[s].entropy, log(2.0) + 1.0 / (2 * n), 1e-14);
        ASSERT_NEAR(r->scale[s].multi_information, (g - 1) * log(2.0) - 1.0 / (2 * n), 1e-13);
    }
    assert_int_equal(r->scale[3].groups, 1); /* n = D: one group */
    assert_int_equal(r->scale[0].groups, 20);
    assert_int_equal(r->distinct, 2);
    ASSERT_NEAR(r->entropy_mm, log(2.0) + 1.0 / 80, 1e-14);
    dcx_patterns_free(r);
    dcx_matrix_free(m);
}

static void test_hand_made_distribution(void **state)
{
    (void)state;
    /* counts: 00 ×5, 10 ×3, 01 ×1, 11 ×1 (N = 10, m = 4) */
    const int pat[10][2] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}, {1, 0}, {1, 0}, {0, 1}, {1, 1}};
    dcx_matrix *m;
    ASSERT_OK(dcx_matrix_create(10, 2, DCX_F64, &m));
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 2; j++) dcx_matrix_set(m, i, j, pat[(i * 7) % 10][j] ? 0.1 : 0.0);
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    dcx_patterns_result *r = run(m, &p);
    double h = -(0.5 * log(0.5) + 0.3 * log(0.3) + 2 * 0.1 * log(0.1));
    assert_int_equal(r->distinct, 4);
    ASSERT_NEAR(r->entropy, h, 1e-15);
    ASSERT_NEAR(r->entropy_mm, h + 3.0 / 20.0, 1e-15);
    assert_false(r->saturated); /* 4 <= 5 */
    assert_int_equal(r->rank_counts[0], 5);
    assert_int_equal(r->rank_counts[1], 3);
    assert_int_equal(r->rank_counts[3], 1);
    /* unit activities 0.4 and 0.2 */
    ASSERT_NEAR(r->activity[0], 0.4, 1e-15);
    ASSERT_NEAR(r->unit_entropy[1], -(0.2 * log(0.2) + 0.8 * log(0.8)), 1e-15);
    /* Zipf over the ranks seen at least twice (1, 2): s = ln(5/3) / ln 2 */
    assert_true(r->zipf_ok);
    assert_int_equal(r->zipf_fit_ranks, 2);
    ASSERT_NEAR(r->zipf_exponent, log(5.0 / 3.0) / log(2.0), 1e-14);
    /* scale n = 2 = D: one group, the whole pattern */
    assert_int_equal(r->scale[1].n, 2);
    ASSERT_NEAR(r->scale[1].entropy, h + 3.0 / 20.0, 1e-15);
    dcx_patterns_free(r);
    dcx_matrix_free(m);
}

static void test_distinct_count_brute_force(void **state)
{
    (void)state;
    /* D = 200 (4 words), N = 5000 rows drawn from 700 random prototypes with
     * a few random flips: many duplicates, read over several row blocks. */
    const int n = 5000, d = 200, protos = 700;
    unsigned char *proto = malloc((size_t)protos * d), *b = malloc((size_t)n * d);
    dcx_matrix *m;
    ASSERT_OK(dcx_matrix_create(n, d, DCX_F32, &m));
    dcx_rng r;
    dcx_rng_seed(&r, 8);
    for (int i = 0; i < protos * d; i++) proto[i] = dcx_rng_uniform(&r) < 0.3;
    for (int i = 0; i < n; i++) {
        int q = (int)dcx_rng_below(&r, protos);
        for (int j = 0; j < d; j++) {
            b[i * d + j] = proto[q * d + j] ^ (dcx_rng_uniform(&r) < 0.0005);
            dcx_matrix_set(m, i, j, b[i * d + j] ? dcx_rng_uniform(&r) + 0.01 : -dcx_rng_uniform(&r));
        }
    }
    /* brute force: a row is new if no earlier row equals it */
    int64_t distinct = 0, *cnt = calloc((size_t)n, sizeof *cnt);
    int *first = malloc((size_t)n * sizeof *first);
    for (int i = 0; i < n; i++) {
        int f = -1;
        for (int k = 0; k < distinct && f < 0; k++)
            if (!memcmp(b + (size_t)first[k] * d, b + (size_t)i * d, d)) f = k;
        if (f < 0) {
            first[distinct] = i;
            f = (int)distinct++;
        }
        cnt[f]++;
    }
    double h = 0;
    for (int k = 0; k < distinct; k++) h -= (double)cnt[k] / n * log((double)cnt[k] / n);
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    dcx_patterns_result *res = run(m, &p);
    print_message("distinct %lld (brute force %lld)\n", (long long)res->distinct, (long long)distinct);
    assert_int_equal(res->distinct, distinct);
    ASSERT_NEAR(res->entropy, h, 1e-12);
    int64_t tot = 0;
    for (int64_t k = 0; k < res->distinct; k++) {
        tot += res->rank_counts[k];
        if (k) assert_true(res->rank_counts[k] <= res->rank_counts[k - 1]);
    }
    assert_int_equal(tot, n);
    assert_int_equal(res->n_scale, 7); /* 1 .. 64 */
    /* same seed, same curve; another seed, other groups */
    dcx_patterns_result *again = run(m, &p);
    for (int s = 0; s < res->n_scale; s++) assert_true(again->scale[s].entropy == res->scale[s].entropy);
    p.seed = 1;
    dcx_patterns_result *other = run(m, &p);
    assert_true(other->scale[3].entropy != res->scale[3].entropy);
    /* H(n) grows with n; I(n) >= 0 once units are correlated through prototypes */
    for (int s = 1; s < res->n_scale; s++) assert_true(res->scale[s].entropy > res->scale[s - 1].entropy);
    assert_true(res->scale[6].multi_information > 0);
    dcx_patterns_free(res);
    dcx_patterns_free(again);
    dcx_patterns_free(other);
    dcx_matrix_free(m);
    free(proto);
    free(b);
    free(cnt);
    free(first);
}

/* Every field of two results equal, bit for bit. */
static void assert_same_result(const dcx_patterns_result *a, const dcx_patterns_result *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->d, b->d);
    assert_memory_equal(a->activity, b->activity, (size_t)a->d * sizeof *a->activity);
    assert_memory_equal(a->unit_entropy, b->unit_entropy, (size_t)a->d * sizeof *a->unit_entropy);
    assert_int_equal(a->dead, b->dead);
    assert_int_equal(a->always_on, b->always_on);
    assert_int_equal(a->switching, b->switching);
    assert_true(a->entropy_sum == b->entropy_sum);
    assert_int_equal(a->distinct, b->distinct);
    assert_true(a->entropy == b->entropy);
    assert_true(a->entropy_mm == b->entropy_mm);
    assert_int_equal(a->saturated, b->saturated);
    assert_memory_equal(a->rank_counts, b->rank_counts, (size_t)a->distinct * sizeof *a->rank_counts);
    assert_int_equal(a->n_scale, b->n_scale);
    for (int s = 0; s < a->n_scale; s++) {
        assert_int_equal(a->scale[s].n, b->scale[s].n);
        assert_int_equal(a->scale[s].groups, b->scale[s].groups);
        assert_true(a->scale[s].entropy == b->scale[s].entropy);
        assert_true(a->scale[s].entropy_plugin == b->scale[s].entropy_plugin);
        assert_true(a->scale[s].multi_information == b->scale[s].multi_information);
    }
    assert_int_equal(a->zipf_ok, b->zipf_ok);
    assert_int_equal(a->zipf_fit_ranks, b->zipf_fit_ranks);
    if (a->zipf_ok) {
        assert_true(a->zipf_exponent == b->zipf_exponent);
        assert_true(a->zipf_stderr == b->zipf_stderr);
        assert_true(a->zipf_r2 == b->zipf_r2);
    }
}

static void test_block_size_and_threads(void **state)
{
    (void)state;
    /* A file of 3,001 x 130 float32 (3 words per pattern, the last one
     * partial) from 300 prototypes with flips: read in blocks of 1, 7 and
     * 4,096 rows and on 1 or 2 threads, the results are those of the
     * default block, bit for bit. */
    const int n = 3001, d = 130, protos = 300;
    unsigned char *proto = malloc((size_t)protos * d);
    dcx_matrix *m;
    ASSERT_OK(dcx_matrix_create(n, d, DCX_F32, &m));
    dcx_rng r;
    dcx_rng_seed(&r, 21);
    for (int i = 0; i < protos * d; i++) proto[i] = dcx_rng_uniform(&r) < 0.4;
    for (int i = 0; i < n; i++) {
        int q = (int)dcx_rng_below(&r, protos);
        for (int j = 0; j < d; j++) {
            int b = proto[q * d + j] ^ (dcx_rng_uniform(&r) < 0.002);
            dcx_matrix_set(m, i, j, b ? 0.5 + dcx_rng_uniform(&r) : -dcx_rng_uniform(&r));
        }
    }
    const char *path = tmp_path("blocks.npy");
    ASSERT_OK(dcx_write_npy(path, m));
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    p.seed = 4;
    p.groups = 6;
    dcx_source *src;
    ASSERT_OK(dcx_source_open(path, NULL, &src));
    dcx_patterns_result *ref = NULL, *res = NULL;
    ASSERT_OK(dcx_patterns(src, &p, &ref));
    assert_int_equal(ref->n, n);
    assert_true(ref->distinct > protos / 2 && ref->distinct < n / 2);
    assert_int_equal(ref->n_scale, 7);
    const int64_t blocks[3] = {1, 7, 4096};
    for (int k = 0; k < 3; k++) {
        p.block_rows = blocks[k];
        ASSERT_OK(dcx_patterns(src, &p, &res)); /* rewinds the source */
        assert_same_result(ref, res);
        dcx_patterns_free(res);
    }
    int threads = dcx_get_threads();
    for (int t = 1; t <= 2; t++) {
        dcx_set_threads(t);
        p.block_rows = 5;
        ASSERT_OK(dcx_patterns(src, &p, &res));
        assert_same_result(ref, res);
        dcx_patterns_free(res);
    }
    dcx_set_threads(threads);
    /* the in-memory matrix gives the file's results */
    res = run(m, &p);
    assert_same_result(ref, res);
    dcx_patterns_free(res);
    dcx_patterns_free(ref);
    dcx_source_free(src);
    dcx_matrix_free(m);
    free(proto);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    dcx_matrix *m, *e;
    ASSERT_OK(dcx_matrix_create(5, 3, DCX_F64, &m));
    ASSERT_OK(dcx_matrix_create(0, 3, DCX_F64, &e));
    dcx_source *s, *se;
    ASSERT_OK(dcx_source_from_matrix(m, "m", &s));
    ASSERT_OK(dcx_source_from_matrix(e, "empty.npy", &se));
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    dcx_patterns_result *r = NULL;
    p.groups = 0;
    assert_int_equal(dcx_patterns(s, &p, &r), DCX_ERR_ARG);
    p.groups = 20;
    p.max_group = 65;
    assert_int_equal(dcx_patterns(s, &p, &r), DCX_ERR_ARG);
    p.max_group = 64;
    p.threshold = NAN;
    assert_int_equal(dcx_patterns(s, &p, &r), DCX_ERR_ARG);
    p.threshold = 0;
    assert_int_equal(dcx_patterns(se, &p, &r), DCX_ERR_DEGENERATE);
    assert_non_null(strstr(dcx_last_error(), "empty.npy"));
    dcx_matrix_set(m, 2, 2, INFINITY);
    assert_int_equal(dcx_patterns(s, &p, &r), DCX_ERR_NUMERIC);
    assert_null(r);
    dcx_patterns_free(NULL);
    dcx_source_free(s);
    dcx_source_free(se);
    dcx_matrix_free(m);
    dcx_matrix_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fair_and_dead_units),
        cmocka_unit_test(test_copies_multi_information),
        cmocka_unit_test(test_hand_made_distribution),
        cmocka_unit_test(test_distinct_count_brute_force),
        cmocka_unit_test(test_block_size_and_threads),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
