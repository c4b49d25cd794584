/* test_patterns_outofcore_slow.c — `patterns` keeps no bit matrix: on a
 * 4,000,000 x 256 float32 .npy (4.1 GB, written here in a temporary
 * directory in blocks) whose rows repeat 1,000 patterns, the peak resident
 * memory of the process (getrusage ru_maxrss: library and test) stays far
 * below the 128 MB the bit matrix alone would take (N x 4 words x 8 bytes),
 * and the counts are exact: the test counts the rows of each pattern while
 * writing them and checks the distinct count, every sorted count, the
 * entropy and every unit's activity. Row i repeats pattern q(i) = hash(i)
 * mod 1,000; the values of "on" units vary from row to row (0.1 .. 0.85),
 * "off" units hold 0 or negative values. */

#include "testutil.h"

enum { ROWS = 4000000, COLS = 256, PROTOS = 1000 };

/* Bit j of pattern q: the first 10 units spell q (so the patterns are
 * distinct), the others are on with probability 1/4. */
static int proto_bit(int q, int j) { return j < 10 ? (q >> j) & 1 : (mix64((uint64_t)q * COLS + (uint64_t)j) & 3) == 0; }

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Write the matrix as a float32 .npy (v1 header); count the rows of each
 * pattern in cnt (PROTOS). */
static void write_npy(const char *path, int64_t *cnt)
{
    FILE *f = npy_f32_create(path, ROWS, COLS);
    unsigned char *bit = malloc((size_t)PROTOS * COLS);
    assert_non_null(bit);
    for (int q = 0; q < PROTOS; q++)
        for (int j = 0; j < COLS; j++) bit[q * COLS + j] = (unsigned char)proto_bit(q, j);
    enum { B = 4096 };
    float *buf = malloc((size_t)B * COLS * sizeof *buf);
    assert_non_null(buf);
    for (int64_t r = 0; r < ROWS; r += B) {
        int64_t n = ROWS - r < B ? ROWS - r : B;
        for (int64_t i = 0; i < n; i++) {
            uint64_t h = mix64((uint64_t)(r + i) + 12345);
            int q = (int)(h % PROTOS);
            cnt[q]++;
            const unsigned char *b = bit + q * COLS;
            float *row = buf + i * COLS;
            for (int j = 0; j < COLS; j++) {
                unsigned v = (unsigned)(h >> (j & 31)) & 15;
                row[j] = b[j] ? 0.1f + 0.05f * (float)v : -0.125f * (float)(v & 7);
            }
        }
        assert_int_equal(fwrite(buf, sizeof *buf, (size_t)(n * COLS), f), (size_t)(n * COLS));
    }
    free(buf);
    free(bit);
    assert_int_equal(fclose(f), 0);
}

static void test_patterns_4m_rows(void **state)
{
    (void)state;
    const char *path = tmp_path("acts.npy");
    int64_t *cnt = calloc(PROTOS, sizeof *cnt);
    assert_non_null(cnt);
    write_npy(path, cnt);
    long before = peak_rss_mb();
    dcx_source *src = NULL;
    dcx_patterns_result *r = NULL;
    ASSERT_OK(dcx_source_open(path, NULL, &src));
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    ASSERT_OK(dcx_patterns(src, &p, &r));
    dcx_source_free(src);
    long after = peak_rss_mb();
    const long bits_mb = (long)((int64_t)ROWS * ((COLS + 63) / 64) * 8 / (1024 * 1024));
    print_message("4,000,000 x 256 float32 (4.1 GB), %lld distinct patterns: peak RSS %ld MB (%ld MB before); "
                  "the bit matrix alone would be %ld MB\n",
                  (long long)r->distinct, after, before, bits_mb);

    /* exact counts */
    int64_t on[COLS] = {0};
    for (int q = 0; q < PROTOS; q++)
        for (int j = 0; j < COLS; j++) on[j] += proto_bit(q, j) ? cnt[q] : 0;
    qsort(cnt, PROTOS, sizeof *cnt, cmp_desc);
    double h = 0;
    for (int q = 0; q < PROTOS; q++) h -= (double)cnt[q] / ROWS * log((double)cnt[q] / ROWS);
    assert_int_equal(r->n, ROWS);
    assert_int_equal(r->d, COLS);
    assert_int_equal(r->distinct, PROTOS);
    assert_memory_equal(r->rank_counts, cnt, PROTOS * sizeof *cnt);
    ASSERT_NEAR(r->entropy, h, 1e-12);
    assert_false(r->saturated);
    for (int j = 0; j < COLS; j++) assert_true(r->activity[j] == (double)on[j] / ROWS);
    assert_int_equal(r->dead + r->always_on + r->switching, COLS);
    assert_int_equal(r->n_scale, 7);
    /* H(n) can only grow with n, and never exceeds the whole pattern's */
    for (int s = 1; s < r->n_scale; s++)
        assert_true(r->scale[s].entropy_plugin >= r->scale[s - 1].entropy_plugin - 1e-12);
    assert_true(r->scale[6].entropy_plugin <= r->entropy + 1e-12);

    /* memory: far below the bit matrix (which the earlier implementation
     * kept, twice over at its peak) */
    assert_true(after < bits_mb / 4);
    dcx_patterns_free(r);
    free(cnt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_patterns_4m_rows)};
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir); /* removes the files */
}
