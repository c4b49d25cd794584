/* cov.c — covariance of the rows of a matrix, accumulated in double in row
 * blocks with a shift (a single pass over a file of any length):
 *     m0 = column means of the first block,  y = x − m0,
 *     S = Σ y yᵀ (one dsyrk per block),  s = Σ y,
 *     C = (S − s sᵀ/n) / (n − 1),  mean = m0 + s/n.
 * The shift removes the large common part before squaring, so the final
 * subtraction does not cancel catastrophically (Chan, Golub & LeVeque's
 * "shifted data" algorithm). Also the centred Gram matrix A Aᵀ/(n−1), whose
 * non-zero spectrum equals the covariance's, for n < d.
 * While one block is accumulated, a helper thread reads the next one from
 * the source (double buffering), so file reading and conversion overlap
 * with the dsyrk. In a distributed run (dcx_dist) each rank accumulates
 * its own rows around the same shift and S, s, n are summed over ranks. */
#include <pthread.h>
#include <string.h>

#include "dim_internal.h"

int64_t dcx__cov_block_rows(int64_t d)
{
    int64_t b = d > 0 ? ((int64_t)2 << 20) / d : 4096; /* 2 Mi doubles = 16 MiB */
    if (b > 4096) b = 4096;
    if (b < 64) b = 64;
    return b;
}

dcx_status dcx__covacc_init(dcx__covacc *a, int64_t d, double *s_buf)
{
    dcx_status st = DCX_OK;
    int64_t dd;
    memset(a, 0, sizeof *a);
    a->d = d;
    if (!dcx__mul_ok(d, d, &dd)) DCX_FAIL(DCX_ERR_ARG, "covariance: %lld columns is too many", (long long)d);
    DCX_ALLOC(a->shift, d > 0 ? d : 1);
    DCX_ALLOC(a->sum, d > 0 ? d : 1);
    if (s_buf) {
        a->s = s_buf;
        memset(s_buf, 0, (size_t)dd * sizeof(double));
    } else {
        DCX_ALLOC(a->s, dd > 0 ? dd : 1);
        a->owns_s = 1;
    }
    return DCX_OK;
fail:
    dcx__covacc_free(a);
    return st;
}

void dcx__covacc_reset(dcx__covacc *a)
{
    a->n = 0;
    memset(a->sum, 0, (size_t)a->d * sizeof(double));
    memset(a->s, 0, (size_t)a->d * (size_t)a->d * sizeof(double));
}

void dcx__covacc_free(dcx__covacc *a)
{
    if (!a) return;
    free(a->shift);
    free(a->sum);
    if (a->owns_s) free(a->s);
    memset(a, 0, sizeof *a);
}

void dcx__covacc_set_shift(dcx__covacc *a, const double *x, int64_t rows, int64_t ld)
{
    int64_t d = a->d;
    memset(a->shift, 0, (size_t)d * sizeof(double));
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < d; j++) a->shift[j] += x[i * ld + j];
    for (int64_t j = 0; j < d; j++) a->shift[j] /= (double)(rows > 0 ? rows : 1);
}

void dcx__covacc_shift_block(const dcx__covacc *a, double *x, int64_t rows, int64_t ld, double *sum)
{
    int64_t d = a->d;
    for (int64_t i = 0; i < rows; i++) {
        double *row = x + i * ld;
        for (int64_t j = 0; j < d; j++) {
            row[j] -= a->shift[j];
            sum[j] += row[j];
        }
    }
}

dcx_status dcx__covacc_syrk(dcx__covacc *a, const double *x, int64_t rows, int64_t ld)
{
    dcx_status st = dcx__dsyrk_t(a->d, rows, 1.0, x, ld, 1.0, a->s, a->d);
    if (st == DCX_OK) a->n += rows;
    return st;
}

dcx_status dcx__covacc_add(dcx__covacc *a, double *x, int64_t rows, int64_t ld)
{
    if (rows <= 0) return DCX_OK;
    if (a->n == 0) dcx__covacc_set_shift(a, x, rows, ld); /* the first block's means */
    dcx__covacc_shift_block(a, x, rows, ld, a->sum);
    return dcx__covacc_syrk(a, x, rows, ld);
}

void dcx__covacc_finish(dcx__covacc *a, double *mean)
{
    int64_t d = a->d;
    double n = (double)a->n;
    for (int64_t i = 0; i < d; i++) {
        double si = a->sum[i] / n;
        for (int64_t j = i; j < d; j++)
            a->s[i * d + j] = (a->s[i * d + j] - si * a->sum[j]) / (n - 1.0);
    }
    dcx__sym_upper_to_full(a->s, d, d);
    if (mean)
        for (int64_t j = 0; j < d; j++) mean[j] = a->shift[j] + a->sum[j] / n;
}

dcx_status dcx__gram_centred(double *x, int64_t n, int64_t d, int64_t ld, double *g)
{
    dcx_status st = DCX_OK;
    double *mean = NULL;
    DCX_ASSERT(n >= 2);
    DCX_ALLOC(mean, d > 0 ? d : 1);
    /* shift by row 0 first: identical rows then centre to exact zeros */
    for (int64_t i = n - 1; i >= 0; i--)
        for (int64_t j = 0; j < d; j++) {
            x[i * ld + j] -= x[j];
        }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += x[i * ld + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) x[i * ld + j] -= mean[j];
    DCX_TRY(dcx__dsyrk_n(n, d, 1.0 / (double)(n - 1), x, ld, 0.0, g, n));
fail:
    free(mean);
    return st;
}

/* The read of one block and its shift, run in a helper thread while the
 * caller's dsyrk works on the previous block; the block's column sums go to
 * its own buffer. The library's error message is thread-local: the helper
 * copies it for the caller. */
typedef struct {
    dcx_source *src;
    const dcx__covacc *acc;
    int64_t rows;
    double *buf;
    double *sum; /* (d) zeroed by the caller */
    int64_t got;
    dcx_status st;
    char msg[512];
} block_read;

static void *read_block(void *arg)
{
    block_read *b = arg;
    b->st = dcx_source_read(b->src, b->rows, b->buf, &b->got);
    if (b->st != DCX_OK)
        snprintf(b->msg, sizeof b->msg, "%s", dcx_last_error());
    else
        dcx__covacc_shift_block(b->acc, b->buf, b->got, b->acc->d, b->sum);
    return NULL;
}

/* ---- two streams ----
 * For d up to 1,448 (a second S of at most 16 MiB) the blocks are dealt
 * alternately to two streams, each with its own S and column sums: stream
 * k gets blocks k, k+2, k+4, … in order (dcx__two_streams, par.c). With two
 * threads each stream runs on its own thread with single-threaded BLAS; the
 * threads take turns at the source (reads stay sequential) and each
 * multiplies its block while the other reads, converts and shifts, so both
 * cores do dsyrk work and no BLAS thread waits on a reader. With one thread
 * the same blocks go to the same streams one after the other. Either way
 * each stream does the same additions in the same order and S = S₀ + S₁ at
 * the end, so the result does not depend on the thread count. */
typedef struct {
    dcx_source *src;
    const dcx__covacc *acc; /* shift and d */
    int64_t block_rows, total;
    double *buf[2], *s[2], *sum[2];
    int64_t n[2];
    int64_t first_rows; /* block 0, read and shifted by the caller into buf[0] */
    dcx_progress_fn progress;
    void *progress_ctx;
} cov_streams;

/* Block b into stream k's buffer, in slices of ~256 KiB, each shifted (and
 * its column sums added) while it is still in the cache. */
static dcx_status cov_read(void *ctx, int k, int64_t b, int64_t *rows)
{
    cov_streams *cs = ctx;
    const int64_t d = cs->acc->d;
    const int64_t slice = d > 0 && d < 32768 ? 32768 / d : 1;
    int64_t got = 0;
    *rows = 0;
    if (b == 0) {
        *rows = cs->first_rows;
        return DCX_OK;
    }
    while (got < cs->block_rows) {
        int64_t want = cs->block_rows - got < slice ? cs->block_rows - got : slice, n = 0;
        double *x = cs->buf[k] + got * d;
        dcx_status st = dcx_source_read(cs->src, want, x, &n);
        if (st != DCX_OK) return st;
        if (n == 0) break;
        dcx__covacc_shift_block(cs->acc, x, n, d, cs->sum[k]);
        got += n;
    }
    *rows = got;
    return DCX_OK;
}

static dcx_status cov_work(void *ctx, int k, int64_t b, int64_t rows, int64_t nread)
{
    (void)b;
    cov_streams *cs = ctx;
    const int64_t d = cs->acc->d;
    dcx_status st = dcx__dsyrk_t(d, rows, 1.0, cs->buf[k], d, 1.0, cs->s[k], d);
    if (st != DCX_OK) return st;
    cs->n[k] += rows;
    /* stream 0 runs in the calling thread */
    if (k == 0 && cs->progress) cs->progress(cs->progress_ctx, "covariance", nread, cs->total);
    return DCX_OK;
}

/* S += the rows left in src after the first block (already read into buf0
 * and shifted, with its column sums in acc->sum; not yet multiplied). The
 * shift is set. */
static dcx_status cov_two_streams(dcx_source *src, dcx__covacc *acc, double *buf0, int64_t first, int64_t block_rows,
                                  int64_t total, dcx_progress_fn progress, void *progress_ctx)
{
    dcx_status st = DCX_OK;
    int64_t d = acc->d, bufn = block_rows * d;
    cov_streams cs;
    memset(&cs, 0, sizeof cs);
    cs.src = src;
    cs.acc = acc;
    cs.block_rows = block_rows;
    cs.total = total;
    cs.first_rows = first;
    cs.progress = progress;
    cs.progress_ctx = progress_ctx;
    cs.buf[0] = buf0;
    cs.s[0] = acc->s;
    cs.sum[0] = acc->sum;
    DCX_ALLOC(cs.buf[1], bufn);
    DCX_ALLOC(cs.s[1], d * d);
    DCX_ALLOC(cs.sum[1], d);
    DCX_TRY(dcx__two_streams(dcx_get_threads(), cov_read, cov_work, &cs));
    for (int64_t i = 0; i < d * d; i++) acc->s[i] += cs.s[1][i];
    for (int64_t j = 0; j < d; j++) acc->sum[j] += cs.sum[1][j];
    acc->n += cs.n[0] + cs.n[1];
fail:
    free(cs.buf[1]);
    free(cs.s[1]);
    free(cs.sum[1]);
    return st;
}

dcx_status dcx_covariance(dcx_source *src, int64_t block_rows, dcx_progress_fn progress, void *progress_ctx,
                          dcx_matrix **cov, dcx_matrix **mean, int64_t *n_out)
{
    return dcx__covariance_dist(src, block_rows, progress, progress_ctx, NULL, cov, mean, n_out);
}

dcx_status dcx__covariance_dist(dcx_source *src, int64_t block_rows, dcx_progress_fn progress, void *progress_ctx,
                                const dcx_dist *dist, dcx_matrix **cov, dcx_matrix **mean, int64_t *n_out)
{
    dcx_status st = DCX_OK;
    dcx_matrix *c = NULL, *m = NULL;
    double *buf[2] = {NULL, NULL}, *bsum = NULL;
    dcx__covacc acc = {0};
    int64_t d = dcx_source_cols(src), total = dcx_source_rows(src), bufn;
    *cov = NULL;
    if (mean) *mean = NULL;
    if (n_out) *n_out = 0;
    /* Two streams (above) while their second S stays within 16 MiB; they
     * then use half-size blocks (as fast: ~8 MiB of doubles each). */
    int two = d > 0 && d * d <= ((int64_t)1 << 21);
    if (block_rows <= 0) block_rows = dcx__cov_block_rows(d) / (two ? 2 : 1);
    if (block_rows < 1) block_rows = 1;
    if (total > 0 && block_rows > total) block_rows = total;
    if (!dcx__mul_ok(block_rows, d > 0 ? d : 1, &bufn))
        DCX_FAIL(DCX_ERR_ARG, "covariance: block of %lld rows is too large", (long long)block_rows);
    DCX_TRY(dcx_matrix_create(d, d, DCX_F64, &c));
    DCX_TRY(dcx__covacc_init(&acc, d, c->data));
    DCX_ALLOC(buf[0], bufn);
    DCX_ALLOC(bsum, d > 0 ? d : 1);
    int prefetch = total > block_rows;
    two = two && prefetch;
    if (prefetch && !two) DCX_ALLOC(buf[1], bufn);
    int64_t got = 0;
    /* The shift is the means of the first block of the whole matrix: in a
     * distributed run rank 0 holds it and sends it to the others, so every
     * rank accumulates around the same point and the sums add up exactly
     * as in one process (up to the order of the additions). */
    st = dcx_dist_agree(dist, dcx_source_read(src, block_rows, buf[0], &got));
    if (st != DCX_OK) goto fail;
    if (dcx_dist_rank(dist) == 0 && got > 0) dcx__covacc_set_shift(&acc, buf[0], got, d);
    DCX_TRY(dcx_dist_bcast_f64(dist, acc.shift, d, 0));
    if (two && got > 0) {
        dcx__covacc_shift_block(&acc, buf[0], got, d, acc.sum);
        st = cov_two_streams(src, &acc, buf[0], got, block_rows, total, progress, progress_ctx);
        got = 0;
    }
    if (got > 0) dcx__covacc_shift_block(&acc, buf[0], got, d, acc.sum);
    for (int cur = 0; got > 0; cur ^= 1) {
        memset(bsum, 0, (size_t)d * sizeof *bsum);
        block_read next = {src, &acc, block_rows, buf[cur ^ 1], bsum, 0, DCX_OK, ""};
        pthread_t th;
        int threaded = prefetch && pthread_create(&th, NULL, read_block, &next) == 0;
        dcx_status add = dcx__covacc_syrk(&acc, buf[cur], got, d);
        if (threaded)
            pthread_join(th, NULL);
        else if (prefetch)
            read_block(&next);
        /* else: a single block, the source is used up (next.got = 0) */
        if (add != DCX_OK) {
            st = add;
            break;
        }
        if (next.st != DCX_OK) {
            st = dcx_set_error(next.st, "%s", next.msg);
            break;
        }
        for (int64_t j = 0; j < d; j++) acc.sum[j] += bsum[j];
        if (progress) progress(progress_ctx, "covariance", acc.n, total);
        got = next.got;
    }
    /* all ranks stop together if one failed; then S, s and n are summed */
    st = dcx_dist_agree(dist, st);
    if (st != DCX_OK) goto fail;
    if (dcx_dist_size(dist) > 1) {
        DCX_TRY(dcx_dist_sum_f64(dist, acc.s, d * d));
        DCX_TRY(dcx_dist_sum_f64(dist, acc.sum, d));
        DCX_TRY(dcx_dist_sum_i64(dist, &acc.n, 1));
    }
    if (acc.n < 2)
        DCX_FAIL(DCX_ERR_DEGENERATE, "%s: %lld sample%s: a covariance needs at least 2", dcx_source_name(src),
                 (long long)acc.n, acc.n == 1 ? "" : "s");
    if (mean) DCX_TRY(dcx_matrix_create(1, d, DCX_F64, &m));
    dcx__covacc_finish(&acc, m ? m->data : NULL);
    if (n_out) *n_out = acc.n;
    free(buf[0]);
    free(buf[1]);
    free(bsum);
    dcx__covacc_free(&acc);
    *cov = c;
    if (mean) *mean = m;
    return DCX_OK;
fail:
    free(buf[0]);
    free(buf[1]);
    free(bsum);
    dcx__covacc_free(&acc);
    dcx_matrix_free(c);
    dcx_matrix_free(m);
    return st;
}
