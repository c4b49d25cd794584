/* test_outofcore_slow.c — `dim` streams its input: on a 2,000,000 x 256
 * float32 .npy (2 GB, written here in a temporary directory) the peak
 * resident memory of the process (getrusage ru_maxrss: the whole process,
 * library and test) stays under 200 MB, and the same matrix sharded over 3
 * files gives the same D_eff. The data: a common factor plus independent
 * uniform noise of growing scale per column (a spread spectrum), each value
 * a function of its (row, column) so that the shards hold the same rows. */

#include "testutil.h"

enum { ROWS = 2000000, COLS = 256 };

/* Write rows [r0, r1) of the matrix as a float32 .npy (v1 header). */
static void write_npy(const char *path, int64_t r0, int64_t r1)
{
    FILE *f = npy_f32_create(path, (r1 - r0), COLS);
    enum { B = 4096 };
    float *buf = malloc((size_t)B * COLS * sizeof *buf);
    assert_non_null(buf);
    for (int64_t r = r0; r < r1; r += B) {
        int64_t n = r1 - r < B ? r1 - r : B;
        for (int64_t i = 0; i < n; i++) {
            double common = unif_hash((uint64_t)(r + i) * (COLS + 1));
            for (int j = 0; j < COLS; j++)
                buf[i * COLS + j] = (float)(1.0 + common + (j + 1) * 0.01 * unif_hash((uint64_t)(r + i) * (COLS + 1) + 1 + j));
        }
        assert_int_equal(fwrite(buf, sizeof *buf, (size_t)(n * COLS), f), (size_t)(n * COLS));
    }
    free(buf);
    assert_int_equal(fclose(f), 0);
}

static void test_dim_2gb(void **state)
{
    (void)state;
    char whole[300], s[3][300];
    snprintf(whole, sizeof whole, "%s", tmp_path("whole.npy"));
    write_npy(whole, 0, ROWS);
    const int64_t cut[4] = {0, 700000, 700001, ROWS};
    for (int k = 0; k < 3; k++) {
        snprintf(s[k], sizeof s[k], "%s/s%d.npy", tmpdir, k);
        write_npy(s[k], cut[k], cut[k + 1]);
    }
    long before = peak_rss_mb();
    dcx_source *src = NULL;
    dcx_dim_result *a = NULL, *b = NULL;
    ASSERT_OK(dcx_source_open(whole, NULL, &src));
    ASSERT_OK(dcx_dim_compute(src, NULL, &a));
    dcx_source_free(src);
    const char *paths[3] = {s[0], s[1], s[2]};
    ASSERT_OK(dcx_source_open_many(paths, 3, NULL, &src));
    ASSERT_OK(dcx_dim_compute(src, NULL, &b));
    dcx_source_free(src);
    long after = peak_rss_mb();
    print_message("2,000,000 x 256 float32 (2 GB): D_eff %.10g (shards %.10g); peak RSS %ld MB (%ld MB before)\n",
                  a->deff, b->deff, after, before);
    assert_int_equal(a->n, ROWS);
    assert_true(a->deff == b->deff);
    assert_true(a->deff > 1.5 && a->deff < COLS);
    assert_true(after < 200);
    dcx_dim_result_free(a);
    dcx_dim_result_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_dim_2gb)};
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir); /* removes the files */
}
