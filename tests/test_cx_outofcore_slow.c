/* test_cx_outofcore_slow.c — `complexity` streams its input X: on a
 * 500,000 x 512 float32 .npy (1 GB, written here in a temporary directory;
 * 2 GB as doubles, what reading X whole would take) the peak resident
 * memory of the process (getrusage ru_maxrss: the whole process) stays
 * under 200 MB (76 MB measured; 108 MB before the k-means state was cut
 * to 24 bytes per sample and restart). X has rank 4 (X = A B, A the 4 latent inputs, B a fixed
 * 4 x 512 mixing), so r = 4 and what is kept per sample is small; Y (2
 * outputs) is a nonlinear function of the latent inputs. Known answers: the
 * PCA keeps r = 4 components (all of the variance), η(1) lies in (0, 1) and
 * η falls along the ladder. */

#include "testutil.h"

enum { ROWS = 500000, COLS = 512, LAT = 4 };

static void test_complexity_1gb(void **state)
{
    (void)state;
    const char *xp = tmp_path("x.npy"), *yp = tmp_path("y.npy");
    FILE *fx = npy_f32_create(xp, ROWS, COLS), *fy = npy_f32_create(yp, ROWS, 2);
    double mix[LAT][COLS];
    for (int l = 0; l < LAT; l++)
        for (int j = 0; j < COLS; j++) mix[l][j] = unif_hash(((uint64_t)1 << 40) + (uint64_t)(l * COLS + j));
    enum { B = 4096 };
    float *row = malloc((size_t)B * COLS * sizeof *row), yrow[2 * B];
    assert_non_null(row);
    for (int64_t r0 = 0; r0 < ROWS; r0 += B) {
        int64_t n = ROWS - r0 < B ? ROWS - r0 : B;
        for (int64_t i = 0; i < n; i++) {
            double a[LAT];
            for (int l = 0; l < LAT; l++) a[l] = 2 * unif_hash((uint64_t)(r0 + i) * LAT + (uint64_t)l);
            for (int j = 0; j < COLS; j++) {
                double v = 0;
                for (int l = 0; l < LAT; l++) v += a[l] * mix[l][j];
                row[i * COLS + j] = (float)v;
            }
            yrow[2 * i] = (float)(fabs(a[0]) + a[1] * a[2]);
            yrow[2 * i + 1] = (float)sin(3 * (a[0] + a[3]));
        }
        assert_int_equal(fwrite(row, sizeof *row, (size_t)(n * COLS), fx), (size_t)(n * COLS));
        assert_int_equal(fwrite(yrow, sizeof *yrow, (size_t)(2 * n), fy), (size_t)(2 * n));
    }
    free(row);
    assert_int_equal(fclose(fx), 0);
    assert_int_equal(fclose(fy), 0);

    long before = peak_rss_mb();
    dcx_source *x = NULL, *y = NULL;
    ASSERT_OK(dcx_source_open(xp, NULL, &x));
    ASSERT_OK(dcx_source_open(yp, NULL, &y));
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.kmax = 16;
    p.restarts = 1;
    dcx_complexity_result *res = NULL;
    ASSERT_OK(dcx_complexity_source(x, y, &p, &res));
    long after = peak_rss_mb();
    print_message("500,000 x 512 float32 (1 GB) -> 2: r = %lld, eta(1) = %.4f, eta(16) = %.4f; peak RSS %ld MB "
                  "(%ld MB before)\n",
                  (long long)res->r, res->eta1, res->ladder[res->n_ladder - 1].eta, after, before);
    assert_int_equal(res->n, ROWS);
    assert_int_equal(res->r, LAT);
    assert_true(res->var_kept > 0.999);
    assert_int_equal(res->n_ladder, 5);
    assert_true(res->eta1 > 0 && res->eta1 < 1);
    for (int i = 1; i < res->n_ladder; i++) assert_true(res->ladder[i].eta < res->ladder[i - 1].eta);
    assert_true(after < 200);
    /* Everything kept per sample in the scratch file (--memory 0): the
     * reduced X and Y, their norms, the k-means labels and bounds, the cell
     * fits' sort index. The same arithmetic on the same values: the same
     * ladder, bit for bit. */
    dcx_complexity_result *res2 = NULL;
    p.scratch_mb = -1;
    ASSERT_OK(dcx_source_rewind(x));
    ASSERT_OK(dcx_source_rewind(y));
    ASSERT_OK(dcx_complexity_source(x, y, &p, &res2));
    assert_int_equal(res2->n_ladder, res->n_ladder);
    for (int i = 0; i < res->n_ladder; i++) {
        assert_memory_equal(&res2->ladder[i].eta, &res->ladder[i].eta, sizeof(double));
        assert_memory_equal(&res2->ladder[i].entropy, &res->ladder[i].entropy, sizeof(double));
    }
    print_message("the same in the scratch file: peak RSS %ld MB\n", peak_rss_mb());
    dcx_complexity_free(res2);
    dcx_complexity_free(res);
    dcx_source_free(x);
    dcx_source_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_complexity_1gb)};
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir); /* removes the files */
}
