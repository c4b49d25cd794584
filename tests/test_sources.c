/* test_sources.c — sources built from other sources: several files read as
 * one matrix (dcx_source_open_many), a block of rows (dcx_source_slice), the
 * split of rows among processes (dcx_split_rows), and the single-process
 * dcx_dist. The shards and slices must give exactly the rows of the whole
 * matrix, and dim/patterns on shards exactly the values of the single file
 * (same blocks of rows, same arithmetic). Files are written here into a
 * temporary directory. */
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* N x D float32 matrix of a fixed linear mix of Gaussians plus an offset
 * (so the shift of the covariance matters), rows [r0, r0 + n) of it. */
enum { N = 1503, D = 12 };
static dcx_matrix *make_rows(int64_t r0, int64_t n)
{
    dcx_matrix *all = NULL, *m = NULL;
    ASSERT_OK(dcx_matrix_create(N, D, DCX_F32, &all));
    dcx_rng rng;
    dcx_rng_seed(&rng, 42);
    float *a = all->data;
    for (int64_t i = 0; i < N; i++) {
        double z[D];
        for (int j = 0; j < D; j++) z[j] = dcx_rng_normal(&rng);
        for (int j = 0; j < D; j++) {
            double v = 5.0 + z[j] * (1.0 + j);
            if (j > 0) v += 0.5 * z[j - 1];
            a[i * D + j] = (float)v;
        }
    }
    ASSERT_OK(dcx_matrix_create(n, D, DCX_F32, &m));
    memcpy(m->data, a + r0 * D, (size_t)(n * D) * sizeof(float));
    dcx_matrix_free(all);
    return m;
}

static void write_rows(const char *path, int64_t r0, int64_t n)
{
    dcx_matrix *m = make_rows(r0, n);
    ASSERT_OK(dcx_write_npy(path, m));
    dcx_matrix_free(m);
}

/* CSV with every float32 value printed exactly (%.17g of the double). */
static void write_rows_csv(const char *path, int64_t r0, int64_t n)
{
    dcx_matrix *m = make_rows(r0, n);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    const float *a = m->data;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++) fprintf(f, "%.17g%c", (double)a[i * D + j], j == D - 1 ? '\n' : ',');
    fclose(f);
    dcx_matrix_free(m);
}

/* The shards: rows [0, 500), [500, 501), [501, 1503) — one of them a CSV
 * file (a sequential reader) and one a single row. */
static const char *shard[3];
static void make_files(void)
{
    static int done;
    if (done) return;
    write_rows(tmp_path("whole.npy"), 0, N);
    shard[0] = strdup(tmp_path("s0.npy"));
    shard[1] = strdup(tmp_path("s1.csv"));
    shard[2] = strdup(tmp_path("s2.npy"));
    write_rows(shard[0], 0, 500);
    write_rows_csv(shard[1], 500, 1);
    write_rows(shard[2], 501, N - 501);
    done = 1;
}

static double *read_rows(dcx_source *s, int64_t block)
{
    int64_t n = dcx_source_rows(s), c = dcx_source_cols(s), got, r = 0;
    double *buf = calloc((size_t)(n * c + 1), sizeof *buf);
    assert_non_null(buf);
    while (r < n) {
        ASSERT_OK(dcx_source_read(s, block, buf + r * c, &got));
        assert_true(got > 0);
        r += got;
    }
    ASSERT_OK(dcx_source_read(s, block, buf, &got));
    assert_int_equal(got, 0);
    return buf;
}

static void test_concat_equals_whole(void **state)
{
    (void)state;
    make_files();
    dcx_source *w = NULL, *m = NULL;
    ASSERT_OK(dcx_source_open(tmp_path("whole.npy"), NULL, &w));
    ASSERT_OK(dcx_source_open_many(shard, 3, NULL, &m));
    assert_int_equal(dcx_source_rows(m), N);
    assert_int_equal(dcx_source_cols(m), D);
    assert_non_null(strstr(dcx_source_name(m), "(+2 more)"));
    double *a = read_rows(w, 100000);
    /* odd block sizes cross the file boundaries at every position */
    for (int64_t block = 1; block <= 700; block = block * 3 + 1) {
        ASSERT_OK(dcx_source_rewind(m));
        double *b = read_rows(m, block);
        assert_memory_equal(a, b, (size_t)(N * D) * sizeof *a);
        free(b);
    }
    free(a);
    dcx_source_free(w);
    dcx_source_free(m);
}

static void test_slices(void **state)
{
    (void)state;
    make_files();
    dcx_source *w = NULL;
    ASSERT_OK(dcx_source_open(tmp_path("whole.npy"), NULL, &w));
    double *a = read_rows(w, 100000);
    dcx_source_free(w);
    /* slices of the concatenation (npy + csv + npy) and of the file, for
     * every split into 1..4 parts: together they give every row once */
    for (int parts = 1; parts <= 4; parts++)
        for (int which = 0; which < 2; which++) {
            int64_t covered = 0;
            for (int r = 0; r < parts; r++) {
                dcx_source *in = NULL, *sl = NULL;
                if (which == 0)
                    ASSERT_OK(dcx_source_open_many(shard, 3, NULL, &in));
                else
                    ASSERT_OK(dcx_source_open(tmp_path("whole.npy"), NULL, &in));
                int64_t r0, nr;
                dcx_split_rows(N, r, parts, &r0, &nr);
                assert_int_equal(r0, covered);
                ASSERT_OK(dcx_source_slice(in, r0, nr, &sl));
                assert_int_equal(dcx_source_rows(sl), nr);
                int64_t shape[DCX_MAX_NDIM];
                assert_int_equal(dcx_source_shape(sl, shape), 2);
                assert_int_equal(shape[0], nr);
                for (int pass = 0; pass < 2; pass++) { /* read, rewind, read again */
                    double *b = read_rows(sl, 97);
                    assert_memory_equal(a + r0 * D, b, (size_t)(nr * D) * sizeof *a);
                    free(b);
                    ASSERT_OK(dcx_source_rewind(sl));
                }
                covered += nr;
                dcx_source_free(sl);
            }
            assert_int_equal(covered, N);
        }
    free(a);
}

static void test_split_rows(void **state)
{
    (void)state;
    int64_t r0, nr;
    dcx_split_rows(10, 0, 3, &r0, &nr);
    assert_int_equal(r0, 0), assert_int_equal(nr, 4);
    dcx_split_rows(10, 1, 3, &r0, &nr);
    assert_int_equal(r0, 4), assert_int_equal(nr, 3);
    dcx_split_rows(10, 2, 3, &r0, &nr);
    assert_int_equal(r0, 7), assert_int_equal(nr, 3);
    dcx_split_rows(2, 2, 3, &r0, &nr); /* more parts than rows: an empty part */
    assert_int_equal(r0, 2), assert_int_equal(nr, 0);
}

static void test_errors(void **state)
{
    (void)state;
    make_files();
    dcx_source *m = NULL, *w = NULL, *sl = NULL;
    /* a file with other columns: named in the message */
    dcx_matrix *x = NULL;
    ASSERT_OK(dcx_matrix_create(5, D + 1, DCX_F32, &x));
    ASSERT_OK(dcx_write_npy(tmp_path("wide.npy"), x));
    dcx_matrix_free(x);
    const char *bad[3] = {shard[0], tmp_path("wide.npy"), shard[2]};
    assert_int_equal(dcx_source_open_many(bad, 3, NULL, &m), DCX_ERR_FORMAT);
    assert_null(m);
    assert_non_null(strstr(dcx_last_error(), "wide.npy: 13 columns, but"));
    /* a missing file */
    const char *missing[2] = {shard[0], tmp_path("nope.npy")};
    assert_int_equal(dcx_source_open_many(missing, 2, NULL, &m), DCX_ERR_IO);
    assert_non_null(strstr(dcx_last_error(), "nope.npy: no such file"));
    assert_int_equal(dcx_source_open_many(missing, 0, NULL, &m), DCX_ERR_ARG);
    /* slices outside the rows */
    ASSERT_OK(dcx_source_open(tmp_path("whole.npy"), NULL, &w));
    assert_int_equal(dcx_source_slice(w, N - 1, 2, &sl), DCX_ERR_ARG);
    assert_int_equal(dcx_source_slice(w, -1, 1, &sl), DCX_ERR_ARG);
    assert_null(sl);
    ASSERT_OK(dcx_source_slice(w, N, 0, &sl)); /* empty, at the end */
    assert_int_equal(dcx_source_rows(sl), 0);
    dcx_source_free(sl);
}

/* NaN in the second shard: the message names that file */
static void test_nan_in_shard(void **state)
{
    (void)state;
    make_files();
    dcx_matrix *x = make_rows(0, 4);
    ((float *)x->data)[2 * D + 3] = NAN;
    ASSERT_OK(dcx_write_npy(tmp_path("nan.npy"), x));
    dcx_matrix_free(x);
    const char *files[2] = {shard[0], tmp_path("nan.npy")};
    dcx_source *m = NULL;
    ASSERT_OK(dcx_source_open_many(files, 2, NULL, &m));
    dcx_dim_result *r = NULL;
    assert_int_equal(dcx_dim_compute(m, NULL, &r), DCX_ERR_NUMERIC);
    assert_non_null(strstr(dcx_last_error(), "nan.npy: NaN value at row 2, column 3"));
    dcx_source_free(m);
}

/* dim and patterns of the shards are exactly those of the single file. */
static void test_observables_on_shards(void **state)
{
    (void)state;
    make_files();
    dcx_source *w = NULL, *m = NULL;
    ASSERT_OK(dcx_source_open(tmp_path("whole.npy"), NULL, &w));
    ASSERT_OK(dcx_source_open_many(shard, 3, NULL, &m));
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    p.keep_spectrum = 1;
    p.block_rows = 200; /* several blocks, crossing the shard boundaries */
    dcx_dim_result *a = NULL, *b = NULL;
    ASSERT_OK(dcx_dim_compute(w, &p, &a));
    ASSERT_OK(dcx_dim_compute(m, &p, &b));
    assert_int_equal(a->n, N);
    assert_int_equal(b->n, N);
    assert_true(a->deff == b->deff);
    assert_true(a->alpha.value == b->alpha.value);
    assert_memory_equal(a->spectrum, b->spectrum, (size_t)D * sizeof(double));
    print_message("D_eff %.15g on the file and on 3 shards\n", a->deff);
    dcx_dim_result_free(a);
    dcx_dim_result_free(b);

    dcx_patterns_params pp;
    dcx_patterns_params_default(&pp);
    pp.threshold = 5.0; /* around the offset: every unit switches */
    dcx_patterns_result *pa = NULL, *pb = NULL;
    ASSERT_OK(dcx_patterns(w, &pp, &pa));
    ASSERT_OK(dcx_patterns(m, &pp, &pb));
    assert_int_equal(pa->distinct, pb->distinct);
    assert_int_equal(pa->switching, D);
    assert_memory_equal(pa->rank_counts, pb->rank_counts, (size_t)pa->distinct * sizeof(int64_t));
    assert_true(pa->entropy == pb->entropy);
    for (int i = 0; i < pa->n_scale; i++) assert_true(pa->scale[i].entropy == pb->scale[i].entropy);
    dcx_patterns_free(pa);
    dcx_patterns_free(pb);
    dcx_source_free(w);
    dcx_source_free(m);
}

/* The single-process dcx_dist: collectives are the identity. */
static void test_dist_single(void **state)
{
    (void)state;
    dcx_dist *d = NULL;
    ASSERT_OK(dcx_dist_world(&d));
    assert_int_equal(dcx_dist_rank(d), 0);
    assert_int_equal(dcx_dist_size(d), 1); /* MPI is not initialised here */
    double x[3] = {1.5, -2, 3};
    int64_t k[2] = {7, -1};
    ASSERT_OK(dcx_dist_sum_f64(d, x, 3));
    ASSERT_OK(dcx_dist_sum_i64(d, k, 2));
    ASSERT_OK(dcx_dist_bcast_f64(d, x, 3, 0));
    assert_true(x[0] == 1.5 && x[1] == -2 && x[2] == 3);
    assert_true(k[0] == 7 && k[1] == -1);
    uint64_t u[2] = {5, 9}, *all = NULL;
    int64_t nall = 0;
    ASSERT_OK(dcx_dist_gather_u64(d, u, 2, &all, &nall));
    assert_int_equal(nall, 2);
    assert_true(all[0] == 5 && all[1] == 9);
    free(all);
    dcx_set_error(DCX_ERR_FORMAT, "kept");
    assert_int_equal(dcx_dist_agree(d, DCX_ERR_FORMAT), DCX_ERR_FORMAT);
    assert_string_equal(dcx_last_error(), "kept");
    assert_int_equal(dcx_dist_agree(NULL, DCX_OK), DCX_OK);
    assert_int_equal(dcx_dist_size(NULL), 1);
    dcx_dist_free(d);
    dcx_dist_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concat_equals_whole), cmocka_unit_test(test_slices),
        cmocka_unit_test(test_split_rows),          cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nan_in_shard),        cmocka_unit_test(test_observables_on_shards),
        cmocka_unit_test(test_dist_single),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
