/* test_io.c — the file readers (npy, npz, CSV/TSV, IDX), block reads and
 * rewinding, dcx_write_npy, and the errors on missing, truncated, corrupt and
 * hostile files. Reference values come from tests/fixtures/make_io_fixtures.py
 * (numpy) as expected_*.npy; comparisons are exact (float32 files against the
 * float32-rounded reference). Hostile files are written here into a
 * temporary directory. */

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)len + 1);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* A .npy v1.0 file with the given header dict and `nbytes` bytes of data. */
static const char *hostile_npy(const char *name, const char *dict, const void *data, size_t nbytes)
{
    const char *p = tmp_path(name);
    size_t dl = strlen(dict);
    size_t total = (10 + dl + 1 + 63) / 64 * 64;
    unsigned char *buf = calloc(1, total + nbytes);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((total - 10) & 0xff);
    buf[9] = (unsigned char)((total - 10) >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', total - 10 - dl - 1);
    buf[total - 1] = '\n';
    if (nbytes) {
        if (data) memcpy(buf + total, data, nbytes);
        else memset(buf + total, 0, nbytes);
    }
    write_file(p, buf, total + nbytes);
    free(buf);
    return p;
}

static dcx_matrix *load(const char *path, const dcx_open_opts *o)
{
    dcx_matrix *m = NULL;
    ASSERT_OK(dcx_read_matrix(path, o, DCX_F64, &m));
    return m;
}

static dcx_matrix *load_fixture(const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s", fixture(name));
    return load(p, NULL);
}

/* Exact comparison; `round32` compares with the float32-rounded reference;
 * `add` is added to the reference (uint files hold K + 100); `sign` maps the
 * reference to its bool (ref > 0). */
enum { EXACT, ROUND32, PLUS100, BOOL };
static void assert_matrix_equals(const char *what, const dcx_matrix *got, const dcx_matrix *ref, int mode)
{
    assert_int_equal(got->rows, ref->rows);
    assert_int_equal(got->cols, ref->cols);
    for (int64_t i = 0; i < ref->rows; i++)
        for (int64_t j = 0; j < ref->cols; j++) {
            double r = dcx_matrix_get(ref, i, j);
            if (mode == ROUND32) r = (double)(float)r;
            if (mode == PLUS100) r += 100;
            if (mode == BOOL) r = r > 0;
            double g = dcx_matrix_get(got, i, j);
            if (g != r) fail_msg("%s: (%lld, %lld) = %.17g, expected %.17g", what, (long long)i, (long long)j, g, r);
        }
}

static void check_file(const char *name, const char *expected, int mode)
{
    dcx_matrix *ref = load_fixture(expected);
    dcx_matrix *got = load_fixture(name);
    assert_matrix_equals(name, got, ref, mode);
    dcx_matrix_free(got);
    dcx_matrix_free(ref);
}

static void test_npy_dtypes_orders(void **state)
{
    (void)state;
    static const struct { const char *file, *ref; int mode; } cases[] = {
        {"io/f32_c.npy", "io/expected_f.npy", ROUND32},   {"io/f32_f.npy", "io/expected_f.npy", ROUND32},
        {"io/f32_c_be.npy", "io/expected_f.npy", ROUND32}, {"io/f64_c.npy", "io/expected_f.npy", EXACT},
        {"io/f64_f.npy", "io/expected_f.npy", EXACT},      {"io/f64_c_be.npy", "io/expected_f.npy", EXACT},
        {"io/f64_f_be.npy", "io/expected_f.npy", EXACT},   {"io/f64_v2.npy", "io/expected_f.npy", EXACT},
        {"io/f64_v3.npy", "io/expected_f.npy", EXACT},     {"io/int_i1.npy", "io/expected_int.npy", EXACT},
        {"io/int_i2.npy", "io/expected_int.npy", EXACT},   {"io/int_i4.npy", "io/expected_int.npy", EXACT},
        {"io/int_i8.npy", "io/expected_int.npy", EXACT},   {"io/int_i2_be.npy", "io/expected_int.npy", EXACT},
        {"io/int_i4_be.npy", "io/expected_int.npy", EXACT}, {"io/int_i8_be.npy", "io/expected_int.npy", EXACT},
        {"io/int_i4_f_be.npy", "io/expected_int.npy", EXACT}, {"io/uint_u1.npy", "io/expected_int.npy", PLUS100},
        {"io/uint_u2.npy", "io/expected_int.npy", PLUS100}, {"io/uint_u4.npy", "io/expected_int.npy", PLUS100},
        {"io/uint_u8.npy", "io/expected_int.npy", PLUS100}, {"io/uint_u2_be.npy", "io/expected_int.npy", PLUS100},
        {"io/bool.npy", "io/expected_int.npy", BOOL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) check_file(cases[k].file, cases[k].ref, cases[k].mode);
}

static void test_npy_shapes(void **state)
{
    (void)state;
    int64_t shape[DCX_MAX_NDIM];
    dcx_source *s = NULL;
    /* 1-D: N x 1, original shape (7,) */
    ASSERT_OK(dcx_source_open(fixture("io/vec.npy"), NULL, &s));
    assert_int_equal(dcx_source_rows(s), 7);
    assert_int_equal(dcx_source_cols(s), 1);
    assert_int_equal(dcx_source_shape(s, shape), 1);
    assert_int_equal(shape[0], 7);
    dcx_matrix *ref = load_fixture("io/expected_f.npy"), *got = NULL;
    ASSERT_OK(dcx_source_read_all(s, DCX_F64, &got));
    for (int i = 0; i < 7; i++) assert_true(dcx_matrix_get(got, i, 0) == dcx_matrix_get(ref, i, 0));
    dcx_matrix_free(got);
    dcx_matrix_free(ref);
    dcx_source_free(s);
    /* 3-D in both orders: 7 x 15, flattened as numpy's reshape(7, -1) */
    const char *files[] = {"io/t3_c.npy", "io/t3_f.npy"};
    for (int k = 0; k < 2; k++) {
        char p[4200];
        snprintf(p, sizeof p, "%s", fixture(files[k]));
        ASSERT_OK(dcx_source_open(p, NULL, &s));
        assert_int_equal(dcx_source_shape(s, shape), 3);
        assert_true(shape[0] == 7 && shape[1] == 5 && shape[2] == 3);
        assert_int_equal(dcx_source_cols(s), 15);
        dcx_source_free(s);
        check_file(files[k], "io/expected_t3.npy", EXACT);
    }
}

static void test_npz(void **state)
{
    (void)state;
    dcx_open_opts o;
    dcx_open_opts_default(&o);
    dcx_matrix *ref = load_fixture("io/expected_f.npy"), *refk = load_fixture("io/expected_int.npy"), *m;
    char p[4200];
    snprintf(p, sizeof p, "%s", fixture("io/stored.npz"));
    o.array_name = "a";
    m = load(p, &o);
    assert_matrix_equals("stored.npz:a", m, ref, EXACT);
    dcx_matrix_free(m);
    o.array_name = "b";
    m = load(p, &o);
    assert_matrix_equals("stored.npz:b", m, refk, EXACT);
    dcx_matrix_free(m);
    snprintf(p, sizeof p, "%s", fixture("io/compressed.npz"));
    o.array_name = "a";
    m = load(p, &o);
    assert_matrix_equals("compressed.npz:a", m, ref, ROUND32);
    dcx_matrix_free(m);
    o.array_name = "b.npy"; /* the member's full name works too */
    m = load(p, &o);
    assert_matrix_equals("compressed.npz:b", m, refk, EXACT);
    dcx_matrix_free(m);
    o.array_name = "f"; /* Fortran order, deflated */
    m = load(p, &o);
    assert_matrix_equals("compressed.npz:f", m, ref, EXACT);
    dcx_matrix_free(m);
    snprintf(p, sizeof p, "%s", fixture("io/zip64.npz")); /* zip64 end records and extra fields */
    o.array_name = "a";
    m = load(p, &o);
    assert_matrix_equals("zip64.npz:a", m, ref, EXACT);
    dcx_matrix_free(m);
    o.array_name = "b";
    m = load(p, &o);
    assert_matrix_equals("zip64.npz:b", m, refk, EXACT);
    dcx_matrix_free(m);
    m = load_fixture("io/single.npz"); /* the only member, no name needed */
    assert_matrix_equals("single.npz", m, ref, EXACT);
    dcx_matrix_free(m);
    dcx_matrix_free(ref);
    dcx_matrix_free(refk);
}

static void test_csv(void **state)
{
    (void)state;
    check_file("io/header.csv", "io/expected_f.npy", EXACT);
    check_file("io/plain.tsv", "io/expected_int.npy", EXACT);
    check_file("io/semi.csv", "io/expected_f.npy", EXACT);
    check_file("io/spaces.txt", "io/expected_f.npy", EXACT);
    /* explicit options: delimiter given, header declared */
    dcx_open_opts o;
    dcx_open_opts_default(&o);
    o.csv_delim = ',';
    o.csv_header = 1;
    char p[4200];
    snprintf(p, sizeof p, "%s", fixture("io/header.csv"));
    dcx_matrix *m = load(p, &o), *ref = load_fixture("io/expected_f.npy");
    assert_matrix_equals("header.csv (explicit)", m, ref, EXACT);
    dcx_matrix_free(m);
    dcx_matrix_free(ref);
    /* a first line of numbers is data, unless declared a header */
    const char *q = tmp_path("nohead.csv");
    write_file(q, "1,2\n3,4\n5,6\n", 12);
    m = load(q, NULL);
    assert_int_equal(m->rows, 3);
    assert_true(dcx_matrix_get(m, 0, 0) == 1 && dcx_matrix_get(m, 2, 1) == 6);
    dcx_matrix_free(m);
    o.csv_header = 1;
    o.csv_delim = 0;
    m = load(q, &o);
    assert_int_equal(m->rows, 2);
    assert_true(dcx_matrix_get(m, 0, 0) == 3);
    dcx_matrix_free(m);
}

static void test_idx(void **state)
{
    (void)state;
    check_file("io/img-idx3-ubyte", "io/expected_img.npy", EXACT);
    check_file("io/img-idx3-ubyte.gz", "io/expected_img.npy", EXACT);
    check_file("io/lab-idx1-short.gz", "io/expected_lab.npy", EXACT);
    check_file("io/f64-idx2-double", "io/expected_f.npy", EXACT);
    check_file("io/f32-idx2-float", "io/expected_f.npy", ROUND32);
    check_file("io/i32-idx2-int", "io/expected_int.npy", EXACT);
    check_file("io/i8-idx2-sbyte", "io/expected_int.npy", EXACT);
    dcx_source *s = NULL;
    int64_t shape[DCX_MAX_NDIM];
    ASSERT_OK(dcx_source_open(fixture("io/img-idx3-ubyte.gz"), NULL, &s));
    assert_int_equal(dcx_source_shape(s, shape), 3);
    assert_true(shape[0] == 6 && shape[1] == 4 && shape[2] == 3);
    assert_int_equal(dcx_source_cols(s), 12);
    dcx_source_free(s);
}

/* Reading in blocks of 1, 3 and all rows gives the same data; rewinding
 * starts again at row 0. */
static void test_blocks_and_rewind(void **state)
{
    (void)state;
    const char *files[] = {"io/f32_c.npy", "io/f64_f_be.npy", "io/t3_f.npy", "io/compressed.npz", "io/header.csv",
                           "io/img-idx3-ubyte.gz", "io/img-idx3-ubyte", "io/uint_u2_be.npy"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char p[4200];
        snprintf(p, sizeof p, "%s", fixture(files[k]));
        dcx_open_opts o;
        dcx_open_opts_default(&o);
        o.array_name = "f";
        dcx_source *s = NULL;
        ASSERT_OK(dcx_source_open(p, &o, &s));
        int64_t rows = dcx_source_rows(s), cols = dcx_source_cols(s);
        double *all = calloc((size_t)(rows * cols), sizeof(double));
        double *blk = calloc((size_t)(rows * cols), sizeof(double));
        int64_t got;
        ASSERT_OK(dcx_source_read(s, rows + 10, all, &got));
        assert_int_equal(got, rows);
        ASSERT_OK(dcx_source_read(s, 5, blk, &got));
        assert_int_equal(got, 0); /* at the end */
        const int64_t sizes[] = {1, 3};
        for (int b = 0; b < 2; b++) {
            ASSERT_OK(dcx_source_rewind(s));
            memset(blk, 0, (size_t)(rows * cols) * sizeof(double));
            int64_t r = 0;
            for (;;) {
                ASSERT_OK(dcx_source_read(s, sizes[b], blk + r * cols, &got));
                if (got == 0) break;
                assert_true(got <= sizes[b]);
                r += got;
            }
            assert_int_equal(r, rows);
            if (memcmp(all, blk, (size_t)(rows * cols) * sizeof(double)) != 0)
                fail_msg("%s: blocks of %lld differ from one read", files[k], (long long)sizes[b]);
        }
        /* rewind in the middle */
        ASSERT_OK(dcx_source_rewind(s));
        ASSERT_OK(dcx_source_read(s, 2, blk, &got));
        ASSERT_OK(dcx_source_rewind(s));
        ASSERT_OK(dcx_source_read(s, rows, blk, &got));
        assert_int_equal(got, rows);
        assert_memory_equal(all, blk, (size_t)(rows * cols) * sizeof(double));
        free(all);
        free(blk);
        dcx_source_free(s);
    }
}

static void test_write_npy_roundtrip(void **state)
{
    (void)state;
    dcx_matrix *a = NULL, *b = NULL, *v = NULL, *back = NULL;
    ASSERT_OK(dcx_matrix_create(4, 3, DCX_F32, &a));
    ASSERT_OK(dcx_matrix_create(5, 6, DCX_F64, &b));
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) dcx_matrix_set(a, i, j, (i - 1.5) * 0.1 + j);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 6; j++) dcx_matrix_set(b, i, j, 1.0 / (1 + i + 7 * j));
    const char *pa = tmp_path("a.npy"), *pb = tmp_path("b.npy"), *pv = tmp_path("v.npy");
    ASSERT_OK(dcx_write_npy(pa, a));
    ASSERT_OK(dcx_write_npy(pb, b));
    /* a strided view: columns 1..3 of b */
    ASSERT_OK(dcx_matrix_view((double *)b->data + 1, 5, 3, 6, DCX_F64, &v));
    ASSERT_OK(dcx_write_npy(pv, v));
    back = load(pa, NULL);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) assert_true(dcx_matrix_get(back, i, j) == dcx_matrix_get(a, i, j));
    dcx_matrix_free(back);
    back = load(pb, NULL);
    assert_matrix_equals("b.npy", back, b, EXACT);
    dcx_matrix_free(back);
    back = load(pv, NULL);
    assert_matrix_equals("v.npy", back, v, EXACT);
    dcx_matrix_free(back);
    /* the header is numpy's: v1.0, data at a multiple of 64 bytes */
    size_t n;
    unsigned char *raw = slurp(pa, &n);
    assert_int_equal(n, 128 + 4 * 3 * 4); /* numpy pads the 70-byte header to 128 */
    assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
    assert_non_null(strstr((char *)raw + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }"));
    assert_int_equal(raw[127], '\n');
    free(raw);
    /* overwriting works; no temporary file is left behind */
    ASSERT_OK(dcx_write_npy(pa, a));
    int count = 0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A %s | grep -c tmp", tmpdir);
    FILE *pp = popen(cmd, "r");
    assert_int_equal(fscanf(pp, "%d", &count), 1);
    pclose(pp);
    assert_int_equal(count, 0);
    /* an unwritable place: an I/O error naming the file, nothing written */
    assert_int_equal(dcx_write_npy("/nonexistent-dir/x.npy", a), DCX_ERR_IO);
    assert_non_null(strstr(dcx_last_error(), "/nonexistent-dir/x.npy"));
    dcx_matrix_free(v);
    dcx_matrix_free(a);
    dcx_matrix_free(b);
}

/* Offsets beyond 2 GB and 4 GB: a sparse Fortran-order file whose second
 * column starts 4.8 GB into the file; the first block of rows reads both
 * columns, so the values planted there must come back. */
static void test_big_offsets(void **state)
{
    (void)state;
    const int64_t N = 600000000; /* 2 columns of float64: 9.6 GB, sparse */
    const char *p = hostile_npy("sparse.npy", "{'descr': '<f8', 'fortran_order': True, 'shape': (600000000, 2), }", NULL, 0);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    double v0 = 1.25, v1 = -7.5, v2 = 3.0;
    int64_t data = 128; /* header length of hostile_npy for this dict */
    assert_int_equal(fseeko(f, 0, SEEK_END), 0);
    assert_int_equal(ftello(f), data);
    assert_int_equal(fseeko(f, data, SEEK_SET), 0);
    fwrite(&v0, 8, 1, f);                                  /* (0, 0) */
    assert_int_equal(fseeko(f, data + N * 8, SEEK_SET), 0); /* (0, 1), at 4.8 GB */
    fwrite(&v1, 8, 1, f);
    assert_int_equal(fseeko(f, data + (2 * N - 1) * 8, SEEK_SET), 0); /* (N-1, 1), the last byte */
    fwrite(&v2, 8, 1, f);
    if (fclose(f) != 0) {
        print_message("cannot write a sparse 9.6 GB file here; skipped\n");
        unlink(p);
        return;
    }
    dcx_source *s = NULL;
    ASSERT_OK(dcx_source_open(p, NULL, &s));
    assert_true(dcx_source_rows(s) == N && dcx_source_cols(s) == 2);
    double buf[8];
    int64_t got;
    ASSERT_OK(dcx_source_read(s, 4, buf, &got));
    assert_int_equal(got, 4);
    assert_true(buf[0] == v0 && buf[1] == v1 && buf[2] == 0 && buf[7] == 0);
    dcx_source_free(s);
    unlink(p);
}

/* ---- bad input ---- */

/* Opening and reading everything fails with `status`; the message starts
 * with the file's path and contains `what`. */
static void expect_fail_opts(const char *path, const dcx_open_opts *o, dcx_status status, const char *what)
{
    dcx_matrix *m = NULL;
    dcx_clear_error();
    dcx_status st = dcx_read_matrix(path, o, DCX_F64, &m);
    assert_null(m);
    const char *msg = dcx_last_error();
    print_message("  %s -> %s\n", path, msg);
    if (st != status) fail_msg("%s: status %s, expected %s (%s)", path, dcx_status_str(st), dcx_status_str(status), msg);
    if (strncmp(msg, path, strlen(path)) != 0) fail_msg("message does not start with the path: %s", msg);
    if (!strstr(msg, what)) fail_msg("message lacks '%s': %s", what, msg);
}

static void expect_fail(const char *path, dcx_status status, const char *what)
{
    expect_fail_opts(path, NULL, status, what);
}

static void test_bad_generic(void **state)
{
    (void)state;
    expect_fail(tmp_path("missing.npy"), DCX_ERR_IO, "no such file");
    expect_fail(tmpdir, DCX_ERR_IO, "is a directory");
    const char *e = tmp_path("empty.npy");
    write_file(e, "", 0);
    expect_fail(e, DCX_ERR_FORMAT, "empty file");
    const char *u = tmp_path("what.dat");
    write_file(u, "hello", 5);
    expect_fail(u, DCX_ERR_FORMAT, "unknown file format");
    if (geteuid() != 0) { /* root reads anything */
        const char *np = tmp_path("noperm.npy");
        write_file(np, "x", 1);
        chmod(np, 0);
        expect_fail(np, DCX_ERR_IO, "Permission denied");
    }
}

static void test_bad_npy(void **state)
{
    (void)state;
    const char *p = tmp_path("magic.npy");
    write_file(p, "\x93NUMPX\x01\x00\x10\x00{}", 12);
    expect_fail(p, DCX_ERR_FORMAT, "not a .npy file (bad magic)");
    p = hostile_npy("trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 64), }", NULL, 1200);
    expect_fail(p, DCX_ERR_FORMAT,
                "truncated data: header says 1000 x 64 float32 (256000 bytes), file holds 1200 bytes of data");
    /* the size check comes before any allocation: a huge shape is refused at once */
    p = hostile_npy("huge.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000), }", NULL, 8);
    expect_fail(p, DCX_ERR_FORMAT, "truncated data");
    p = hostile_npy("overflow.npy",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", NULL, 0);
    expect_fail(p, DCX_ERR_FORMAT, "overflows");
    p = hostile_npy("baddict.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2) ", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "corrupt header");
    p = hostile_npy("notdict.npy", "['descr', '<f8']", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "corrupt header: not a dict");
    p = hostile_npy("neg.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (-2, 2), }", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "negative dimension");
    p = hostile_npy("nokey.npy", "{'descr': '<f8', 'shape': (2, 2), }", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "missing key 'fortran_order'");
    p = hostile_npy("extrakey.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "unexpected key 'x'");
    p = hostile_npy("badfo.npy", "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 2), }", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "'fortran_order' is not True or False");
    p = hostile_npy("notuple.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2), }", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "'shape' is not a tuple");
    p = hostile_npy("complex.npy", "{'descr': '<c16', 'fortran_order': False, 'shape': (2, 2), }", NULL, 64);
    expect_fail(p, DCX_ERR_UNSUPPORTED, "unsupported dtype '<c16' (complex)");
    p = hostile_npy("half.npy", "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }", NULL, 8);
    expect_fail(p, DCX_ERR_UNSUPPORTED, "unsupported dtype '<f2'");
    p = hostile_npy("obj.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }", NULL, 32);
    expect_fail(p, DCX_ERR_FORMAT, "bad dtype");
    p = hostile_npy("rec.npy", "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", NULL, 16);
    expect_fail(p, DCX_ERR_UNSUPPORTED, "structured");
    p = hostile_npy("scalar.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", NULL, 8);
    expect_fail(p, DCX_ERR_UNSUPPORTED, "0-d array");
    /* a header length pointing past the end of the file */
    unsigned char hb[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0x7f, '{', '}'};
    p = tmp_path("hlen.npy");
    write_file(p, hb, 12);
    expect_fail(p, DCX_ERR_FORMAT, "truncated header");
    /* native byte order '=' */
    double nat[4] = {1.5, -2, 3, 4};
    p = hostile_npy("native.npy", "{'descr': '=f8', 'fortran_order': False, 'shape': (2, 2), }", nat, sizeof nat);
    dcx_matrix *m = load(p, NULL);
    assert_true(dcx_matrix_get(m, 0, 0) == 1.5 && dcx_matrix_get(m, 0, 1) == -2 && dcx_matrix_get(m, 1, 1) == 4);
    dcx_matrix_free(m);
    /* NaN and Inf name the row and column */
    double d[6] = {1, 2, 3, 4, 5, 6};
    d[5] = NAN;
    p = hostile_npy("nan.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", d, sizeof d);
    expect_fail(p, DCX_ERR_NUMERIC, "NaN value at row 2, column 1");
    d[5] = 6;
    d[2] = -INFINITY;
    p = hostile_npy("inf.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", d, sizeof d);
    expect_fail(p, DCX_ERR_NUMERIC, "Inf value at row 1, column 0");
}

static void test_bad_csv(void **state)
{
    (void)state;
    const char *p = tmp_path("ragged.csv");
    write_file(p, "a,b,c\n1,2,3\n4,5\n", 16);
    expect_fail(p, DCX_ERR_FORMAT, "line 3 has 2 fields, expected 3");
    p = tmp_path("word.csv");
    write_file(p, "1,2,3\n4,xyz,6\n", 14);
    expect_fail(p, DCX_ERR_FORMAT, "line 2, field 2: 'xyz' is not a number");
    p = tmp_path("nan.csv");
    write_file(p, "x,y\n1,2\n3,nan\n", 14);
    expect_fail(p, DCX_ERR_NUMERIC, "NaN value at row 1, column 1");
    p = tmp_path("inf.tsv");
    write_file(p, "1\t2\ninf\t4\n", 10);
    expect_fail(p, DCX_ERR_NUMERIC, "Inf value at row 1, column 0");
    p = tmp_path("headonly.csv");
    write_file(p, "a,b\n", 4);
    expect_fail(p, DCX_ERR_FORMAT, "no data rows");
    p = tmp_path("header_mismatch.csv");
    write_file(p, "a,b,c\n1,2\n", 10);
    expect_fail(p, DCX_ERR_FORMAT, "header (line 1) has 3 fields");
    p = tmp_path("binary.csv");
    write_file(p, "1,2\n3,\0\n", 8);
    expect_fail(p, DCX_ERR_FORMAT, "NUL byte");
    /* a declared-absent header makes the header line data: a non-number */
    dcx_open_opts o;
    dcx_open_opts_default(&o);
    o.csv_header = 0;
    char f[4200];
    snprintf(f, sizeof f, "%s", fixture("io/header.csv"));
    expect_fail_opts(f, &o, DCX_ERR_FORMAT, "line 2, field 1: 'u0' is not a number");
}

static void test_bad_npz(void **state)
{
    (void)state;
    char p[4200];
    dcx_open_opts o;
    dcx_open_opts_default(&o);
    snprintf(p, sizeof p, "%s", fixture("io/stored.npz"));
    expect_fail(p, DCX_ERR_ARG, "holds 2 arrays (a, b)");
    o.array_name = "zz";
    expect_fail_opts(p, &o, DCX_ERR_ARG, "no array 'zz' in the archive (arrays: a, b)");
    /* truncated archive: no end-of-central-directory record */
    size_t n;
    unsigned char *raw = slurp(p, &n);
    const char *t = tmp_path("cut.npz");
    write_file(t, raw, n / 2);
    expect_fail(t, DCX_ERR_FORMAT, "corrupt zip archive");
    free(raw);
    /* a corrupted deflate stream: the byte flip is caught by inflate or by the CRC */
    snprintf(p, sizeof p, "%s", fixture("io/single.npz"));
    raw = slurp(p, &n);
    raw[100] ^= 0x55;
    t = tmp_path("flip.npz");
    write_file(t, raw, n);
    expect_fail(t, DCX_ERR_FORMAT, "corrupt");
    free(raw);
    /* intact data, wrong CRC-32 in the central directory: caught at the end */
    raw = slurp(p, &n);
    unsigned char *cdir = NULL;
    for (size_t i = n - 22; i-- > 0;)
        if (memcmp(raw + i, "PK\x01\x02", 4) == 0) {
            cdir = raw + i;
            break;
        }
    assert_non_null(cdir);
    cdir[16] ^= 0x01;
    t = tmp_path("crc.npz");
    write_file(t, raw, n);
    expect_fail(t, DCX_ERR_FORMAT, "CRC-32 mismatch");
    free(raw);
}

static void test_bad_idx(void **state)
{
    (void)state;
    /* a truncated gzip'd IDX: found while reading */
    const char *p = tmp_path("big-idx2-ubyte.gz");
    gzFile g = gzopen(p, "wb");
    unsigned char hdr[12] = {0, 0, 0x08, 2, 0, 0, 0x01, 0xf4, 0, 0, 0x01, 0xf4}; /* 500 x 500 */
    gzwrite(g, hdr, 12);
    unsigned char row[500];
    uint32_t x = 1;
    for (int i = 0; i < 500; i++) {
        for (int j = 0; j < 500; j++) row[j] = (unsigned char)((x = x * 1664525u + 1013904223u) >> 24);
        gzwrite(g, row, 500);
    }
    gzclose(g);
    size_t n;
    unsigned char *raw = slurp(p, &n);
    const char *t = tmp_path("cut-idx2-ubyte.gz");
    write_file(t, raw, n / 2);
    free(raw);
    expect_fail(t, DCX_ERR_FORMAT, "truncated");
    /* the same file complete reads */
    dcx_matrix *m = load(p, NULL);
    assert_int_equal(m->rows, 500);
    assert_int_equal(m->cols, 500);
    dcx_matrix_free(m);
    /* corrupt (not short) gzip data */
    raw = slurp(p, &n);
    for (size_t i = n / 3; i < n / 3 + 64; i++) raw[i] ^= 0xA5;
    t = tmp_path("garbled-idx2-ubyte.gz");
    write_file(t, raw, n);
    free(raw);
    expect_fail(t, DCX_ERR_FORMAT, "corrupt gzip data");
    /* bad type code */
    unsigned char bad[16] = {0, 0, 0x0A, 1, 0, 0, 0, 2, 1, 2};
    t = tmp_path("type-idx1-ubyte");
    write_file(t, bad, 10);
    expect_fail(t, DCX_ERR_FORMAT, "bad type code 0x0A");
    /* raw IDX shorter than its header says: refused at open */
    unsigned char shortf[16] = {0, 0, 0x0B, 2, 0, 0, 0, 3, 0, 0, 0, 2, 1, 2};
    t = tmp_path("short-idx2-short");
    write_file(t, shortf, 14);
    expect_fail(t, DCX_ERR_FORMAT, "truncated data: header says 3 x 2 short (12 bytes), file holds 2 bytes of data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_dtypes_orders), cmocka_unit_test(test_npy_shapes),
        cmocka_unit_test(test_npz),               cmocka_unit_test(test_csv),
        cmocka_unit_test(test_idx),               cmocka_unit_test(test_blocks_and_rewind),
        cmocka_unit_test(test_write_npy_roundtrip), cmocka_unit_test(test_big_offsets),
        cmocka_unit_test(test_bad_generic),
        cmocka_unit_test(test_bad_npy),           cmocka_unit_test(test_bad_csv),
        cmocka_unit_test(test_bad_npz),           cmocka_unit_test(test_bad_idx),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
