/* test_complexity.c — complexity of a computation (SPEC §2): known answers
 * (linear map, |x1| + 2|x2|), η(1) against an independent numpy computation,
 * reproducibility, thread independence, the shared-X multi call against
 * separate calls, and input errors. */
#include "testutil.h"
#include "obs/obs_internal.h"

static dcx_matrix *mat(int64_t n, int64_t d)
{
    dcx_matrix *m = NULL;
    if (dcx_matrix_create(n, d, DCX_F64, &m) != DCX_OK) return NULL;
    return m;
}

static void test_linear_map_is_zero(void **state)
{
    (void)state;
    int64_t n = 3000, dx = 5, dy = 3;
    dcx_matrix *x = mat(n, dx), *y = mat(n, dy);
    dcx_rng r;
    dcx_rng_seed(&r, 1);
    double w[5][3];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 3; j++) w[i][j] = dcx_rng_normal(&r);
    for (int64_t i = 0; i < n; i++) {
        double xi[5];
        for (int j = 0; j < 5; j++) dcx_matrix_set(x, i, j, xi[j] = dcx_rng_normal(&r) * (1 + j));
        for (int k = 0; k < 3; k++) {
            double s = 0.5 * k;
            for (int j = 0; j < 5; j++) s += xi[j] * w[j][k];
            dcx_matrix_set(y, i, k, s);
        }
    }
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    dcx_complexity_result *res;
    ASSERT_OK(dcx_complexity(x, y, &p, &res));
    assert_int_equal(res->r, 5);
    assert_int_equal(res->kmax_rule, 3000 / 24);
    assert_int_equal(res->n_ladder, 7); /* 1 .. 64 */
    for (int i = 0; i < res->n_ladder; i++) {
        print_message("K = %3lld  eta = %.3g  H = %.4f\n", (long long)res->ladder[i].k, res->ladder[i].eta,
                      res->ladder[i].entropy);
        /* A cell's training part with fewer than r + 2 = 7 samples predicts
         * its mean (SPEC §2 step 5), so the known answer 0 holds where the
         * cells are large enough for both halves: up to K = 32 (smallest
         * cell 45). At K = 64 the smallest cell holds 15 samples and its
         * halves may fall below 7, depending on the fold draw. */
        if (res->ladder[i].k <= 32) assert_true(res->ladder[i].eta < 1e-9);
        else assert_true(res->ladder[i].eta < 1e-2);
    }
    for (int e = 0; e < 3; e++) {
        assert_true(res->levels[e].reached);
        assert_int_equal(res->levels[e].k, 1);
        assert_true(res->levels[e].value == 0.0);
    }
    assert_false(res->gamma_ok); /* at most one rung (K = 64) with eta > 1e-9 */
    dcx_complexity_free(res);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
}

static void test_abs_map_four_pieces(void **state)
{
    (void)state;
    int64_t n = 4000;
    dcx_matrix *x = mat(n, 2), *y = mat(n, 1);
    dcx_rng r;
    dcx_rng_seed(&r, 2);
    for (int64_t i = 0; i < n; i++) {
        double a = 2 * dcx_rng_uniform(&r) - 1, b = 2 * dcx_rng_uniform(&r) - 1;
        dcx_matrix_set(x, i, 0, a);
        dcx_matrix_set(x, i, 1, b);
        dcx_matrix_set(y, i, 0, fabs(a) + 2 * fabs(b));
    }
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.seed = 7;
    dcx_complexity_result *res;
    ASSERT_OK(dcx_complexity(x, y, &p, &res));
    for (int i = 0; i < res->n_ladder; i++)
        print_message("K = %3lld  eta = %.3g  H = %.4f\n", (long long)res->ladder[i].k, res->ladder[i].eta,
                      res->ladder[i].entropy);
    assert_int_equal(res->ladder[2].k, 4);
    assert_true(res->ladder[2].eta < 1e-3);
    assert_true(res->ladder[1].eta > 0.1); /* two pieces cannot fit two kinks */
    assert_true(res->ladder[0].eta > 0.5);
    /* eps = 0.01 is first reached at K = 4 with four equal cells */
    assert_true(res->levels[2].reached);
    assert_int_equal(res->levels[2].k, 4);
    ASSERT_NEAR(res->levels[2].value, log(4.0), 0.01);
    ASSERT_NEAR(res->eta1, res->ladder[0].eta, 0);
    dcx_complexity_free(res);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
}

static dcx_matrix *load(const char *name)
{
    dcx_matrix *m = NULL;
    dcx_status st = dcx_read_matrix(fixture(name), NULL, DCX_F64, &m);
    if (st != DCX_OK) fail_msg("%s: %s", name, dcx_last_error());
    return m;
}

static void test_relu_layer_against_numpy(void **state)
{
    (void)state;
    dcx_matrix *x = load("cx_relu_x.npy"), *y = load("cx_relu_y.npy"), *f = load("cx_relu_folds.npy"),
               *e = load("cx_relu_eta1.npy");
    unsigned char folds[1200];
    assert_int_equal(f->rows, 1200);
    for (int i = 0; i < 1200; i++) folds[i] = (unsigned char)dcx_matrix_get(f, i, 0);
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.folds = folds;
    dcx_complexity_result *res;
    ASSERT_OK(dcx_complexity(x, y, &p, &res));
    assert_int_equal(res->r, 8);
    assert_memory_equal(res->folds, folds, 1200);
    double ref = dcx_matrix_get(e, 0, 0);
    print_message("eta(1) = %.15g, numpy %.15g, |diff| %.3g (tolerance 1e-6)\n", res->eta1, ref,
                  fabs(res->eta1 - ref));
    ASSERT_NEAR(res->eta1, ref, 1e-6);
    /* ladder to K = 32 (1200 / (4·9) = 33); the error falls with the scale */
    assert_int_equal(res->ladder[res->n_ladder - 1].k, 32);
    for (int i = 0; i < res->n_ladder; i++)
        print_message("K = %3lld  eta = %.4f  H = %.4f\n", (long long)res->ladder[i].k, res->ladder[i].eta,
                      res->ladder[i].entropy);
    assert_true(res->ladder[res->n_ladder - 1].eta < 0.7 * res->ladder[0].eta);
    assert_true(res->ladder[1].eta < res->ladder[0].eta);
    dcx_complexity_free(res);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
    dcx_matrix_free(f);
    dcx_matrix_free(e);
}

/* The cell fits alone on a given partition (4 large cells, one whose
 * fold-0 part has 4 < r + 2 samples: its mean predicts fold 1; one with no
 * fold-0 samples: the global mean predicts), two column groups, against
 * numpy's per-cell ridge fits (tests/fixtures/make_cx_fixtures.py). The
 * errors come from the parts' moments, not from predicted samples. */
static void test_cell_fits_against_numpy(void **state)
{
    (void)state;
    dcx_matrix *x = load("cx_relu_x.npy"), *y = load("cx_relu_y.npy"), *f = load("cx_relu_folds.npy"),
               *lab = load("cx_cells_labels.npy"), *ref = load("cx_cells_sse.npy");
    enum { N = 1200, R = 8, DY = 12 };
    static double z[N * R], yc[N * DY];
    int64_t cell[N], goff[3] = {0, 5, DY};
    unsigned char fold[N];
    double yzero[DY] = {0}, xm[R] = {0}, ym[DY] = {0};
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < R; j++) xm[j] += dcx_matrix_get(x, i, j) / N;
        for (int j = 0; j < DY; j++) ym[j] += dcx_matrix_get(y, i, j) / N;
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < R; j++) z[i * R + j] = dcx_matrix_get(x, i, j) - xm[j];
        for (int j = 0; j < DY; j++) yc[i * DY + j] = dcx_matrix_get(y, i, j) - ym[j];
        cell[i] = (int64_t)dcx_matrix_get(lab, i, 0);
        fold[i] = (unsigned char)dcx_matrix_get(f, i, 0);
    }
    dcx__rows rows;
    ASSERT_OK(dcx__rows_init(NULL, N, &rows));
    double got[2], again[2], fl[2], fl_d[2];
    const dcx__outputs yo = {yc, NULL, NULL};
    ASSERT_OK(dcx__cell_fit_sse(z, &rows, R, &yo, DY, goff, 2, cell, 6, fold, yzero, 0, got));
    for (int g = 0; g < 2; g++) {
        double want = dcx_matrix_get(ref, g, 0);
        print_message("group %d: sse %.12g, numpy %.12g, rel. diff %.2g\n", g, got[g], want,
                      fabs(got[g] - want) / want);
        ASSERT_NEAR(got[g], want, 1e-9 * want);
    }
    /* one output group: the error through r x r matrices (rr_error), the
     * sum of the two groups' references */
    {
        const int64_t goff1[2] = {0, DY};
        double one;
        ASSERT_OK(dcx__cell_fit_sse(z, &rows, R, &yo, DY, goff1, 1, cell, 6, fold, yzero, 0, &one));
        const double want = dcx_matrix_get(ref, 0, 0) + dcx_matrix_get(ref, 1, 0);
        print_message("one group: sse %.12g, numpy %.12g, rel. diff %.2g\n", one, want, fabs(one - want) / want);
        ASSERT_NEAR(one, want, 1e-9 * want);
    }
    /* the sort index in the scratch file: the same sums */
    ASSERT_OK(dcx__cell_fit_sse(z, &rows, R, &yo, DY, goff, 2, cell, 6, fold, yzero, 1, again));
    assert_memory_equal(got, again, sizeof got);
    /* outputs kept as floats and centred where read: the same sums as the
     * doubles (double)yf − ym, bit for bit */
    static float yf[N * DY];
    static double ycf[N * DY];
    for (int i = 0; i < N * DY; i++) {
        yf[i] = (float)dcx_matrix_get(y, i / DY, i % DY);
        ycf[i] = (double)yf[i] - ym[i % DY];
    }
    const dcx__outputs yof = {NULL, yf, ym}, yod = {ycf, NULL, NULL};
    ASSERT_OK(dcx__cell_fit_sse(z, &rows, R, &yof, DY, goff, 2, cell, 6, fold, yzero, 0, fl));
    ASSERT_OK(dcx__cell_fit_sse(z, &rows, R, &yod, DY, goff, 2, cell, 6, fold, yzero, 0, fl_d));
    print_message("float outputs: sse %.17g %.17g, as doubles %.17g %.17g\n", fl[0], fl[1], fl_d[0], fl_d[1]);
    assert_memory_equal(fl, fl_d, sizeof fl);
    ASSERT_NEAR(fl[0], got[0], 1e-6 * got[0]);
    dcx__rows_free(&rows);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
    dcx_matrix_free(f);
    dcx_matrix_free(lab);
    dcx_matrix_free(ref);
}

static int progress_calls;
static void progress(void *ctx, const char *stage, int64_t done, int64_t total)
{
    (void)ctx;
    (void)stage;
    assert_true(done >= 0 && done <= total);
    progress_calls++;
}

static void test_reproducible_and_thread_independent(void **state)
{
    (void)state;
    dcx_matrix *x = load("cx_relu_x.npy"), *y = load("cx_relu_y.npy");
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.seed = 42;
    p.progress = progress;
    progress_calls = 0;
    dcx_complexity_result *a, *b, *c;
    int saved = dcx_get_threads();
    dcx_set_threads(2);
    ASSERT_OK(dcx_complexity(x, y, &p, &a));
    assert_int_equal(progress_calls, a->n_ladder + 1);
    ASSERT_OK(dcx_complexity(x, y, &p, &b));
    dcx_set_threads(1);
    ASSERT_OK(dcx_complexity(x, y, &p, &c));
    dcx_set_threads(saved);
    assert_int_equal(a->n_ladder, b->n_ladder);
    assert_memory_equal(a->folds, b->folds, 1200);
    double worst = 0;
    for (int i = 0; i < a->n_ladder; i++) {
        assert_true(a->ladder[i].eta == b->ladder[i].eta);
        assert_true(a->ladder[i].entropy == b->ladder[i].entropy);
        worst = fmax(worst, fabs(a->ladder[i].eta - c->ladder[i].eta));
        worst = fmax(worst, fabs(a->ladder[i].entropy - c->ladder[i].entropy));
    }
    print_message("threads 2 vs 1: largest difference %.3g (expected 0: BLAS is single-threaded in the tasks)\n",
                  worst);
    assert_true(worst == 0);
    /* another seed: another split, same kind of answer */
    p.seed = 43;
    dcx_complexity_result *d;
    ASSERT_OK(dcx_complexity(x, y, &p, &d));
    assert_memory_not_equal(a->folds, d->folds, 1200);
    ASSERT_NEAR(d->eta1, a->eta1, 0.05);
    dcx_complexity_free(a);
    dcx_complexity_free(b);
    dcx_complexity_free(c);
    dcx_complexity_free(d);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
}

/* Compare two results of the same map: the whole ladder, C(ε) and γ. */
static double result_diff(const dcx_complexity_result *a, const dcx_complexity_result *b)
{
    assert_int_equal(a->n_ladder, b->n_ladder);
    assert_int_equal(a->r, b->r);
    assert_int_equal(a->dy, b->dy);
    assert_int_equal(a->n_eps, b->n_eps);
    assert_memory_equal(a->folds, b->folds, (size_t)a->n);
    double worst = 0;
    for (int i = 0; i < a->n_ladder; i++) {
        assert_int_equal(a->ladder[i].k, b->ladder[i].k);
        assert_int_equal(a->ladder[i].min_cell, b->ladder[i].min_cell);
        assert_true(a->ladder[i].entropy == b->ladder[i].entropy); /* same partition */
        worst = fmax(worst, fabs(a->ladder[i].eta - b->ladder[i].eta));
    }
    for (int e = 0; e < a->n_eps; e++) {
        assert_int_equal(a->levels[e].reached, b->levels[e].reached);
        assert_int_equal(a->levels[e].k, b->levels[e].k);
        worst = fmax(worst, fabs(a->levels[e].value - b->levels[e].value));
    }
    assert_int_equal(a->gamma_ok, b->gamma_ok);
    if (a->gamma_ok) worst = fmax(worst, fabs(a->gamma - b->gamma));
    return worst;
}

/* One Y whose values are all floats is kept as floats; a value that is not
 * (here in the last of the 256 KB read blocks) turns the rows read so far
 * into doubles. Both give the same measurement up to the one changed value. */
static void test_float_outputs_then_doubles(void **state)
{
    (void)state;
    const int64_t n = 6000, dx = 3, dy = 12; /* blocks of 2730 rows: three */
    dcx_matrix *x = mat(n, dx), *y1 = mat(n, dy), *y2 = mat(n, dy);
    dcx_rng r;
    dcx_rng_seed(&r, 5);
    for (int64_t i = 0; i < n; i++) {
        double xi[3];
        for (int j = 0; j < 3; j++) dcx_matrix_set(x, i, j, xi[j] = dcx_rng_normal(&r));
        for (int k = 0; k < dy; k++) {
            const float v = (float)(fabs(xi[k % 3] + 0.3 * k) * xi[(k + 1) % 3]);
            dcx_matrix_set(y1, i, k, v);
            dcx_matrix_set(y2, i, k, v);
        }
    }
    dcx_matrix_set(y2, n - 1, 0, dcx_matrix_get(y1, n - 1, 0) + 1e-9); /* not a float */
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.seed = 4;
    p.kmax = 16;
    dcx_complexity_result *a, *b;
    ASSERT_OK(dcx_complexity(x, y1, &p, &a));
    ASSERT_OK(dcx_complexity(x, y2, &p, &b));
    assert_int_equal(a->n_ladder, b->n_ladder);
    for (int i = 0; i < a->n_ladder; i++) {
        print_message("K = %3lld  eta floats %.15g  doubles %.15g\n", (long long)a->ladder[i].k, a->ladder[i].eta,
                      b->ladder[i].eta);
        ASSERT_NEAR(b->ladder[i].eta, a->ladder[i].eta, 1e-9 * a->ladder[i].eta);
    }
    dcx_complexity_free(a);
    dcx_complexity_free(b);
    dcx_matrix_free(x);
    dcx_matrix_free(y1);
    dcx_matrix_free(y2);
}

static void test_multi_equals_separate_calls(void **state)
{
    (void)state;
    dcx_matrix *x = load("cx_relu_x.npy"), *y = load("cx_relu_y.npy");
    const int64_t n = x->rows;
    /* outputs: the fixture's ReLU layer; a constant (zero variance); a
     * smooth map of X (float32); the fixture's first 3 columns (view) */
    dcx_matrix *yc = mat(n, 2), *ys = NULL, *y3 = NULL;
    ASSERT_OK(dcx_matrix_create(n, 4, DCX_F32, &ys));
    for (int64_t i = 0; i < n; i++) {
        dcx_matrix_set(yc, i, 0, 2.0);
        dcx_matrix_set(yc, i, 1, -1.0);
        for (int j = 0; j < 4; j++)
            dcx_matrix_set(ys, i, j, sin(dcx_matrix_get(x, i, j)) * cos(dcx_matrix_get(x, i, j + 4)));
    }
    ASSERT_OK(dcx_matrix_view(y->data, n, 3, y->stride, DCX_F64, &y3));
    const dcx_matrix *list[4] = {y, yc, ys, y3};
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.seed = 7;
    p.progress = progress;
    dcx_complexity_result *m1[4], *m2[4], *sep;
    int saved = dcx_get_threads();
    dcx_set_threads(1);
    progress_calls = 0;
    ASSERT_OK(dcx_complexity_multi(x, list, 4, &p, m1));
    dcx_set_threads(2);
    ASSERT_OK(dcx_complexity_multi(x, list, 4, &p, m2));
    dcx_set_threads(saved);
    assert_null(m1[1]); /* zero variance: undefined for that Y alone */
    assert_null(m2[1]);
    assert_int_equal(progress_calls, 2 * (m1[0]->n_ladder + 1));
    p.progress = NULL;
    for (int i = 0; i < 4; i++) {
        if (i == 1) {
            assert_int_equal(dcx_complexity(x, list[i], &p, &sep), DCX_ERR_DEGENERATE);
            continue;
        }
        assert_non_null(m1[i]);
        ASSERT_OK(dcx_complexity(x, list[i], &p, &sep));
        double d = result_diff(m1[i], sep);
        print_message("Y[%d] (%lld columns): multi vs separate, largest difference %.3g (tolerance 1e-12); "
                      "eta(1) = %.6f, eta(%lld) = %.6f\n",
                      i, (long long)list[i]->cols, d, sep->eta1, (long long)sep->ladder[sep->n_ladder - 1].k,
                      sep->ladder[sep->n_ladder - 1].eta);
        assert_true(d <= 1e-12);
        assert_true(result_diff(m1[i], m2[i]) == 0); /* 1 vs 2 threads: identical */
        dcx_complexity_free(sep);
    }
    /* the smooth map is far from the ReLU layer: the groups do not mix */
    assert_true(fabs(m1[2]->eta1 - m1[0]->eta1) > 1e-3);
    for (int i = 0; i < 4; i++) {
        dcx_complexity_free(m1[i]);
        dcx_complexity_free(m2[i]);
    }

    /* every Y degenerate: nothing to measure, no error */
    const dcx_matrix *only_c[2] = {yc, yc};
    ASSERT_OK(dcx_complexity_multi(x, only_c, 2, &p, m1));
    assert_null(m1[0]);
    assert_null(m1[1]);
    /* NaN in one Y fails the call, naming it; no partial results */
    dcx_matrix_set(ys, 5, 2, NAN);
    assert_int_equal(dcx_complexity_multi(x, list, 4, &p, m1), DCX_ERR_NUMERIC);
    assert_non_null(strstr(dcx_last_error(), "Y[2]"));
    for (int i = 0; i < 4; i++) assert_null(m1[i]);
    /* X problems fail every Y */
    assert_int_equal(dcx_complexity_multi(x, list, 0, &p, m1), DCX_ERR_ARG);
    dcx_matrix *xc = mat(n, 8);
    assert_int_equal(dcx_complexity_multi(xc, list, 1, &p, m1), DCX_ERR_DEGENERATE);
    assert_non_null(strstr(dcx_last_error(), "X has zero variance"));
    assert_null(m1[0]);
    dcx_matrix_free(xc);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
    dcx_matrix_free(yc);
    dcx_matrix_free(ys);
    dcx_matrix_free(y3);
}

/* Wide X (N < d_x) goes through the N x N Gram matrix. The same data padded
 * with zero columns up to d_x > N must give the answer of the narrow X
 * (scatter route): same rank, same kept variance, same partitions, η equal
 * to rounding. And a wide X of high rank keeps rmax components. */
static void test_wide_x_gram_route(void **state)
{
    (void)state;
    const int64_t n = 700, da = 6, dw = 900;
    dcx_matrix *xa = mat(n, da), *xw = mat(n, dw), *y = mat(n, 2), *xr = NULL;
    dcx_rng r;
    dcx_rng_seed(&r, 11);
    for (int64_t i = 0; i < n; i++) {
        double a[6];
        for (int j = 0; j < 6; j++) {
            a[j] = dcx_rng_normal(&r) * (1.0 + 0.5 * j);
            dcx_matrix_set(xa, i, j, a[j]);
            dcx_matrix_set(xw, i, 3 * j + 1, a[j]); /* spread among zero columns */
        }
        dcx_matrix_set(y, i, 0, fabs(a[0]) + 0.3 * a[1] * a[2]);
        dcx_matrix_set(y, i, 1, fmax(a[3] - 0.2, 0.0) - a[4]);
    }
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.seed = 5;
    dcx_complexity_result *narrow, *wide;
    ASSERT_OK(dcx_complexity(xa, y, &p, &narrow));
    ASSERT_OK(dcx_complexity(xw, y, &p, &wide));
    assert_int_equal(wide->r, narrow->r);
    assert_int_equal(wide->dx, dw);
    ASSERT_NEAR(wide->var_kept, narrow->var_kept, 1e-12);
    double worst = 0;
    assert_int_equal(wide->n_ladder, narrow->n_ladder);
    for (int i = 0; i < wide->n_ladder; i++) {
        assert_true(fabs(wide->ladder[i].entropy - narrow->ladder[i].entropy) < 1e-12); /* same cells */
        worst = fmax(worst, fabs(wide->ladder[i].eta - narrow->ladder[i].eta));
        ASSERT_NEAR(wide->ladder[i].inertia, narrow->ladder[i].inertia, 1e-9 * (1 + narrow->ladder[i].inertia));
    }
    print_message("Gram route (700 x 900) vs scatter route (700 x 6): largest eta difference %.3g (tolerance 1e-9)\n",
                  worst);
    assert_true(worst <= 1e-9);
    dcx_complexity_free(narrow);
    dcx_complexity_free(wide);
    /* full-rank wide X: rank capped at rmax = 64, and the kept variance of
     * 64 of 299 equal-ish random directions is well below 1 */
    ASSERT_OK(dcx_matrix_create(300, 500, DCX_F32, &xr));
    for (int64_t i = 0; i < 300; i++)
        for (int64_t j = 0; j < 500; j++) dcx_matrix_set(xr, i, j, dcx_rng_normal(&r));
    dcx_matrix *yv = NULL;
    ASSERT_OK(dcx_matrix_view(y->data, 300, 2, 2, DCX_F64, &yv));
    p.rmax = 64;
    p.kmax = 1; /* K = 1 only: 300 samples cannot support K = 2 with r = 64 */
    ASSERT_OK(dcx_complexity(xr, yv, &p, &wide));
    assert_int_equal(wide->r, 64);
    assert_true(wide->var_kept > 0.3 && wide->var_kept < 0.6);
    assert_true(wide->eta1 > 0.5); /* y does not depend on these random inputs */
    dcx_complexity_free(wide);
    dcx_matrix_free(yv);
    dcx_matrix_free(xr);
    dcx_matrix_free(xa);
    dcx_matrix_free(xw);
    dcx_matrix_free(y);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    dcx_complexity_result *res = NULL;
    dcx_matrix *x = mat(100, 3), *y = mat(99, 2), *y2 = mat(100, 2), *yc = mat(100, 2);
    dcx_rng r;
    dcx_rng_seed(&r, 3);
    for (int i = 0; i < 100; i++) {
        for (int j = 0; j < 3; j++) dcx_matrix_set(x, i, j, dcx_rng_normal(&r));
        for (int j = 0; j < 2; j++) {
            dcx_matrix_set(y2, i, j, dcx_rng_normal(&r));
            dcx_matrix_set(yc, i, j, 1.5);
        }
    }
    assert_int_equal(dcx_complexity(x, y, &p, &res), DCX_ERR_ARG);
    assert_non_null(strstr(dcx_last_error(), "rows"));
    assert_int_equal(dcx_complexity(x, yc, &p, &res), DCX_ERR_DEGENERATE);
    assert_non_null(strstr(dcx_last_error(), "zero variance"));
    /* r = 3: K = 2 needs 2·4·(3+1) = 32 samples; give 31 */
    dcx_matrix *xs, *ys;
    ASSERT_OK(dcx_matrix_view(x->data, 31, 3, 3, DCX_F64, &xs));
    ASSERT_OK(dcx_matrix_view(y2->data, 31, 2, 2, DCX_F64, &ys));
    assert_int_equal(dcx_complexity(xs, ys, &p, &res), DCX_ERR_DEGENERATE);
    assert_non_null(strstr(dcx_last_error(), "at least 32"));
    dcx_matrix_free(xs);
    dcx_matrix_free(ys);
    ASSERT_OK(dcx_matrix_view(x->data, 32, 3, 3, DCX_F64, &xs));
    ASSERT_OK(dcx_matrix_view(y2->data, 32, 2, 2, DCX_F64, &ys));
    ASSERT_OK(dcx_complexity(xs, ys, &p, &res));
    assert_int_equal(res->n_ladder, 2);
    dcx_complexity_free(res);
    res = NULL;
    dcx_matrix_free(xs);
    dcx_matrix_free(ys);
    p.eps[1] = 0;
    assert_int_equal(dcx_complexity(x, y2, &p, &res), DCX_ERR_ARG);
    p.eps[1] = 1.5;
    assert_int_equal(dcx_complexity(x, y2, &p, &res), DCX_ERR_ARG);
    p.eps[1] = 1.0;
    p.kmax = 0;
    assert_int_equal(dcx_complexity(x, y2, &p, &res), DCX_ERR_ARG);
    p.kmax = 256;
    dcx_matrix_set(x, 7, 1, NAN);
    assert_int_equal(dcx_complexity(x, y2, &p, &res), DCX_ERR_NUMERIC);
    assert_null(res);
    assert_non_null(strstr(dcx_last_error(), "X: NaN value at row 7, column 1"));
    /* the same from .npy files of doubles, read in place: the file, row
     * and column named; Y's error first */
    ASSERT_OK(dcx_write_npy(tmp_path("bad_x.npy"), x));
    dcx_matrix_set(y2, 93, 0, INFINITY);
    ASSERT_OK(dcx_write_npy(tmp_path("bad_y.npy"), y2));
    dcx_source *bx = NULL, *by = NULL;
    ASSERT_OK(dcx_source_open(tmp_path("bad_x.npy"), NULL, &bx));
    ASSERT_OK(dcx_source_open(tmp_path("bad_y.npy"), NULL, &by));
    assert_int_equal(dcx_complexity_source(bx, by, &p, &res), DCX_ERR_NUMERIC);
    assert_non_null(strstr(dcx_last_error(), "bad_y.npy: Inf value at row 93, column 0"));
    dcx_source_free(by);
    dcx_matrix_set(y2, 93, 0, 0.5);
    ASSERT_OK(dcx_write_npy(tmp_path("good_y.npy"), y2));
    ASSERT_OK(dcx_source_open(tmp_path("good_y.npy"), NULL, &by));
    assert_int_equal(dcx_complexity_source(bx, by, &p, &res), DCX_ERR_NUMERIC);
    assert_non_null(strstr(dcx_last_error(), "bad_x.npy: NaN value at row 7, column 1"));
    assert_null(res);
    dcx_source_free(bx);
    dcx_source_free(by);
    dcx_complexity_free(NULL);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
    dcx_matrix_free(y2);
    dcx_matrix_free(yc);
}

/* The same measurement read from files in blocks (dcx_complexity_source:
 * X read three times, never whole) equals the one on matrices, and keeping
 * the reduced rows in a scratch file changes nothing. */
static void test_sources_equal_matrices(void **state)
{
    (void)state;
    dcx_matrix *x = load("cx_relu_x.npy"), *y = load("cx_relu_y.npy");
    dcx_source *xs = NULL, *ys = NULL;
    ASSERT_OK(dcx_source_open(fixture("cx_relu_x.npy"), NULL, &xs));
    ASSERT_OK(dcx_source_open(fixture("cx_relu_y.npy"), NULL, &ys));
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    p.seed = 9;
    dcx_complexity_result *a = NULL, *b = NULL;
    ASSERT_OK(dcx_complexity(x, y, &p, &a));
    ASSERT_OK(dcx_complexity_source(xs, ys, &p, &b));
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->r, b->r);
    assert_int_equal(a->n_ladder, b->n_ladder);
    assert_memory_equal(a->folds, b->folds, (size_t)a->n);
    /* the random folds: exact halves (each block of 64 rows split in half),
     * neighbours not forced apart */
    int64_t zeros = 0, same = 0;
    for (int64_t i = 0; i < a->n; i++) zeros += a->folds[i] == 0;
    for (int64_t i = 0; i + 1 < a->n; i += 2) same += a->folds[i] == a->folds[i + 1];
    assert_int_equal(zeros, a->n / 2);
    print_message("pairs of neighbours in the same fold: %lld of %lld\n", (long long)same, (long long)(a->n / 2));
    assert_true(same > a->n / 8 && same < 3 * a->n / 8);
    for (int i = 0; i < a->n_ladder; i++) {
        ASSERT_NEAR(b->ladder[i].eta, a->ladder[i].eta, 1e-12 * a->ladder[i].eta);
        ASSERT_NEAR(b->ladder[i].entropy, a->ladder[i].entropy, 1e-12);
        assert_int_equal(a->ladder[i].min_cell, b->ladder[i].min_cell);
    }
    /* the reduced X and centred Y in a scratch file: the same arithmetic */
    dcx_complexity_result *c = NULL;
    p.scratch_mb = -1;
    ASSERT_OK(dcx_complexity_source(xs, ys, &p, &c));
    assert_int_equal(c->n_ladder, b->n_ladder);
    for (int i = 0; i < b->n_ladder; i++) {
        assert_true(c->ladder[i].eta == b->ladder[i].eta);
        assert_true(c->ladder[i].entropy == b->ladder[i].entropy);
        assert_true(c->ladder[i].inertia == b->ladder[i].inertia);
    }
    dcx_complexity_free(c);
    /* the float64 .npy files are read in place (mapped); the same files
     * through a concatenation of one (read with pread, X held, Y copied and
     * centred): the same arithmetic, bit for bit */
    p.scratch_mb = 0;
    dcx_source *xc = NULL, *yc = NULL;
    char xpath[4096], ypath[4096];
    snprintf(xpath, sizeof xpath, "%s", fixture("cx_relu_x.npy")); /* fixture(): one static buffer */
    snprintf(ypath, sizeof ypath, "%s", fixture("cx_relu_y.npy"));
    const char *xp[1] = {xpath}, *yp[1] = {ypath};
    ASSERT_OK(dcx_source_open_many(xp, 1, NULL, &xc));
    ASSERT_OK(dcx_source_open_many(yp, 1, NULL, &yc));
    ASSERT_OK(dcx_complexity_source(xc, yc, &p, &c));
    for (int i = 0; i < b->n_ladder; i++) {
        assert_true(c->ladder[i].eta == b->ladder[i].eta);
        assert_true(c->ladder[i].inertia == b->ladder[i].inertia);
    }
    dcx_complexity_free(c);
    dcx_source_free(xc);
    dcx_source_free(yc);
    dcx_complexity_free(a);
    dcx_complexity_free(b);
    dcx_source_free(xs);
    dcx_source_free(ys);
    dcx_matrix_free(x);
    dcx_matrix_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_map_is_zero),
        cmocka_unit_test(test_abs_map_four_pieces),
        cmocka_unit_test(test_relu_layer_against_numpy),
        cmocka_unit_test(test_cell_fits_against_numpy),
        cmocka_unit_test(test_reproducible_and_thread_independent),
        cmocka_unit_test(test_float_outputs_then_doubles),
        cmocka_unit_test(test_multi_equals_separate_calls),
        cmocka_unit_test(test_wide_x_gram_route),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_sources_equal_matrices),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
