/* pca.c — the input reduction of the complexity measure (SPEC §2 step 1):
 * centre the columns, eigen-decompose the scatter matrix XᵀX (double, dsyrk +
 * dsyevd) and project on the top r principal components, where
 *     r = min(d, rmax, smallest r with Σ_{i<=r} λ_i >= keep · Σ λ_i).
 * Eigenvalues are sorted in decreasing order; round-off negatives count as 0.
 *
 * X is read from its source in blocks of rows (~8 MB), converted to double
 * and centred on the fly (three passes: mean, scatter, projection), so that
 * the input is never held whole: memory is d² for the scatter plus two
 * blocks (X of up to 32 MiB is read once and held for the later passes
 * instead, in memory runs). The scatter and the projection run on two streams of blocks
 * (dcx__two_streams, par.c: one reads the next block while the other
 * centres and multiplies, single-threaded BLAS): the scatter is the sum of
 * two partial scatters, block 2m added to one and block 2m+1 to the other;
 * dsyevd runs single-threaded: the result is the same for any thread
 * count. Distributed, the means and the scatter are summed over the ranks.
 *
 * Wide X (N < d, e.g. convolutional activations): the d x d scatter would
 * cost O(N d²) time, d² memory and an O(d³) eigen-decomposition. Instead the
 * N x N Gram matrix G = X_c X_cᵀ (same non-zero eigenvalues) is formed in
 * O(N² d) time and N² memory, by blocks of rows (each block pair a task), and
 * only its top min(rmax, N) eigenpairs are computed (dsyevr). With
 * X_c = U S Vᵀ the principal scores are X_c V = U S: component t of sample i
 * is sqrt(λ_t) u_ti, without ever forming V. The total variance is
 * trace(G). Distances between the scores are those of the scatter route;
 * the components' signs and the rounding differ. */
#include <math.h>
#include <string.h>

#include "obs_internal.h"

/* Rows i0.. of x as centred doubles into blk (b, d). */
static void load_centred(const dcx_matrix *x, int64_t i0, int64_t b, const double *mean, double *blk)
{
    const int64_t d = x->cols;
    dcx__load_rows_f64(x, i0, b, blk);
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < d; j++) blk[i * d + j] -= mean[j];
}

typedef struct pca_job {
    const dcx_matrix *x;
    const double *mean;
    int64_t bs;        /* rows per block */
    double *c[2];      /* (d, d) partial scatters of the two halves */
    const double *v;   /* (d, r) components */
    int64_t r;
    double *z;         /* (n, r) */
} pca_job;

/* Gram route: block pair t = (I, J), I <= J, of G = X_c X_cᵀ (upper). */
static dcx_status gram_task(void *ctx, int64_t t)
{
    dcx_status st = DCX_OK;
    pca_job *jb = ctx;
    const int64_t n = jb->x->rows, d = jb->x->cols, bs = jb->bs, nb = (n + bs - 1) / bs;
    double *bi = NULL, *bj = NULL;
    int64_t I = 0, J;
    while (t >= nb - I) { /* pairs are numbered row by row of the upper block triangle */
        t -= nb - I;
        I++;
    }
    J = I + t;
    const int64_t i0 = I * bs, j0 = J * bs;
    const int64_t mi = n - i0 < bs ? n - i0 : bs, mj = n - j0 < bs ? n - j0 : bs;
    double *g = jb->c[0];
    DCX_ALLOC(bi, mi * d);
    load_centred(jb->x, i0, mi, jb->mean, bi);
    if (I == J) {
        DCX_TRY(dcx__dsyrk_n(mi, d, 1.0, bi, d, 0.0, g + i0 * n + i0, n));
    } else {
        DCX_ALLOC(bj, mj * d);
        load_centred(jb->x, j0, mj, jb->mean, bj);
        DCX_TRY(dcx__dgemm(0, 1, mi, mj, d, 1.0, bi, d, bj, d, 0.0, g + i0 * n + j0, n));
    }
fail:
    free(bi);
    free(bj);
    return st;
}

static dcx_status pca_gram(const dcx_matrix *x, const char *what, const double *mean, int64_t rmax, double keep,
                           double **z, int64_t *r_out, double *var_kept)
{
    dcx_status st = DCX_OK;
    const int64_t n = x->rows;
    double *g = NULL, *w = NULL, *u = NULL, *zz = NULL;
    int64_t bs = 256 < n ? 256 : n, nb = (n + bs - 1) / bs;
    int64_t cnt;
    if (!dcx__mul_ok(n, n, &cnt)) DCX_FAIL(DCX_ERR_ARG, "%s: too many samples for the Gram matrix", what);
    DCX_ALLOC(g, cnt);
    pca_job jb = {x, mean, bs, {g, NULL}, NULL, 0, NULL};
    DCX_TRY(dcx__parallel_tasks(nb * (nb + 1) / 2, dcx_get_threads(), gram_task, &jb, NULL, NULL));
    double total = 0;
    for (int64_t i = 0; i < n; i++) total += g[i * n + i];
    if (!(total > 0)) DCX_FAIL(DCX_ERR_DEGENERATE, "%s has zero variance: every input sample is the same", what);
    const int64_t m = rmax < n ? rmax : n;
    DCX_ALLOC(w, n); /* dsyevr's workspace for the eigenvalues is n long */
    DCX_ALLOC(u, m * n);
    {
        int old = dcx__blas_set_threads_raw(1);
        st = dcx__dsyevr_top(n, g, n, m, w, u); /* ascending: the largest is w[m-1] */
        dcx__blas_set_threads_raw(old);
        if (st != DCX_OK) goto fail;
    }
    free(g);
    g = NULL;
    int64_t r = 0;
    double acc = 0;
    while (r < m) {
        double l = w[m - 1 - r];
        acc += l > 0 ? l : 0;
        r++;
        if (acc >= keep * total) break;
    }
    DCX_TRY(dcx__big_calloc(&zz, n * r, sizeof *zz, 0));
    for (int64_t t = 0; t < r; t++) {
        double l = w[m - 1 - t], s = l > 0 ? sqrt(l) : 0;
        const double *ut = u + (m - 1 - t) * n;
        for (int64_t i = 0; i < n; i++) zz[i * r + t] = s * ut[i];
    }
    *z = zz;
    zz = NULL;
    *r_out = r;
    *var_kept = acc / total;
fail:
    free(g);
    free(w);
    free(u);
    dcx__big_free(zz);
    return st;
}

/* The next `want` rows of src into blk (want, d); dcx_source_read checks
 * every value (finite, or an error naming the file, row and column). */
static dcx_status read_rows(dcx_source *src, int64_t want, double *blk, int64_t d, const char *what)
{
    int64_t got = 0, at = 0;
    while (at < want) {
        dcx_status st = dcx_source_read(src, want - at, blk + at * d, &got);
        if (st != DCX_OK) return st;
        if (got == 0) return dcx_set_error(DCX_ERR_FORMAT, "%s: fewer rows than announced", what);
        at += got;
    }
    return DCX_OK;
}

static void centre_rows(double *blk, int64_t b, int64_t d, const double *mean)
{
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < d; j++) blk[i * d + j] -= mean[j];
}

/* Passes 2 and 3 of the scatter route on two streams of blocks
 * (dcx__two_streams): block b (rows b·bs …) goes to stream b mod 2, which
 * centres it and adds its scatter to c[k] (pass 2: block 2m to c[0], 2m+1
 * to c[1], whatever the thread count) or projects it into its rows of z
 * (pass 3), while the other stream reads. */
typedef struct pass_job {
    dcx_source *x;
    const char *what;
    int64_t n, d, bs; /* this rank's rows, columns, rows per block */
    const double *mean;
    double *blk[2];
    double *c[2];    /* pass 2: (d, d) partial scatters */
    const double *v; /* pass 3: (d, r) components */
    int64_t r;
    double *z;       /* pass 3: (n, r) */
    double *held;    /* (n, d) the rows, read once in pass 1 and centred in
                      * place by pass 2 (NULL: read from x in every pass) */
} pass_job;

/* Rows held in memory between the passes up to this many doubles (32 MiB). */
#define HOLD_MAX ((int64_t)4 << 20)

static dcx_status pass_read(void *ctx, int k, int64_t b, int64_t *rows)
{
    pass_job *jb = ctx;
    const int64_t i0 = b * jb->bs;
    *rows = 0;
    if (i0 >= jb->n) return DCX_OK;
    const int64_t m = jb->n - i0 < jb->bs ? jb->n - i0 : jb->bs;
    if (jb->held) { /* the block in place */
        jb->blk[k] = jb->held + i0 * jb->d;
        *rows = m;
        return DCX_OK;
    }
    dcx_status st = read_rows(jb->x, m, jb->blk[k], jb->d, jb->what);
    if (st == DCX_OK) *rows = m;
    return st;
}

static dcx_status scatter_work(void *ctx, int k, int64_t b, int64_t rows, int64_t nread)
{
    (void)b;
    (void)nread;
    pass_job *jb = ctx;
    centre_rows(jb->blk[k], rows, jb->d, jb->mean);
    return dcx__dsyrk_t(jb->d, rows, 1.0, jb->blk[k], jb->d, 1.0, jb->c[k], jb->d);
}

static dcx_status project_work(void *ctx, int k, int64_t b, int64_t rows, int64_t nread)
{
    (void)nread;
    pass_job *jb = ctx;
    if (!jb->held) centre_rows(jb->blk[k], rows, jb->d, jb->mean); /* held rows: centred by pass 2 */
    return dcx__dgemm(0, 0, rows, jb->r, jb->d, 1.0, jb->blk[k], jb->d, jb->v, jb->r, 0.0,
                      jb->z + b * jb->bs * jb->r, jb->r);
}

dcx_status dcx__pca_reduce(dcx_source *x, const dcx__rows *rows, const char *what, int64_t rmax, double keep,
                           int scratch, double **z, int64_t *r_out, double *var_kept)
{
    dcx_status st = DCX_OK;
    double *mean = NULL, *blk[2] = {NULL, NULL}, *c = NULL, *c1 = NULL, *w = NULL, *v = NULL, *zz = NULL;
    double *held = NULL;
    dcx_matrix *xm = NULL;
    *z = NULL;
    const int64_t n = rows->nloc, ntot = rows->n, d = dcx_source_cols(x);
    const int threads = dcx_get_threads();
    if (ntot < 2 || d < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "PCA needs at least 2 samples and 1 column");
    /* about 8 MB of rows per block, at least 64 rows (the dsyrk depth);
     * the same blocks, and so the same sums, whether the rows are held or
     * read (an even split between the streams measured no faster) */
    int64_t bs = ((int64_t)1 << 20) / d;
    if (bs < 64) bs = 64;
    if (bs > n) bs = n > 0 ? n : 1;
    /* rows of up to HOLD_MAX doubles in all (and not bound for the scratch
     * file) are read once and held for passes 2 and 3: the same blocks and
     * the same arithmetic, two reads of the file fewer */
    if (!scratch && n * d <= HOLD_MAX) held = dcx__calloc((size_t)(n * d), sizeof *held);
    /* pass 1: the means (and every value checked) */
    mean = dcx__calloc((size_t)d, sizeof *mean);
    if (!held) {
        blk[0] = dcx__calloc((size_t)(bs * d), sizeof *blk[0]);
        blk[1] = dcx__calloc((size_t)(bs * d), sizeof *blk[1]);
    }
    st = mean && (held || (blk[0] && blk[1])) ? DCX_OK
                                               : dcx_set_error(DCX_ERR_NOMEM, "out of memory (PCA of %s)", what);
    if (st == DCX_OK) st = dcx_source_rewind(x);
    /* read in pieces of about 256 KB, summed while they are in cache */
    const int64_t piece = ((int64_t)1 << 15) / d > 0 ? ((int64_t)1 << 15) / d : 1;
    for (int64_t i0 = 0; i0 < n && st == DCX_OK; i0 += bs) {
        int64_t b = n - i0 < bs ? n - i0 : bs;
        double *dst = held ? held + i0 * d : blk[0];
        for (int64_t p0 = 0; p0 < b && st == DCX_OK; p0 += piece) {
            const int64_t pb = b - p0 < piece ? b - p0 : piece;
            st = read_rows(x, pb, dst + p0 * d, d, what);
            if (st != DCX_OK) break;
            for (int64_t i = p0; i < p0 + pb; i++)
                for (int64_t j = 0; j < d; j++) mean[j] += dst[i * d + j];
        }
    }
    /* a NaN in one rank's rows stops every rank */
    DCX_TRY(dcx_dist_agree(rows->dist, st));
    DCX_TRY(dcx_dist_sum_f64(rows->dist, mean, d));
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)ntot;
    if (ntot < d) {
        if (rows->size > 1)
            DCX_FAIL(DCX_ERR_ARG,
                     "%s: N = %lld < d = %lld needs the Gram route of the PCA, which holds all rows in one "
                     "process: run without mpirun",
                     what, (long long)ntot, (long long)d);
        /* N < d: few rows, held whole */
        DCX_TRY(dcx_source_rewind(x));
        DCX_TRY(dcx_source_read_all(x, DCX_F64, &xm));
        DCX_TRY(pca_gram(xm, what, mean, rmax, keep, z, r_out, var_kept));
        goto fail; /* done: free the mean */
    }
    /* pass 2: the scatter of the centred rows */
    c = dcx__calloc((size_t)(d * d), sizeof *c);
    c1 = dcx__calloc((size_t)(d * d), sizeof *c1);
    w = dcx__calloc((size_t)d, sizeof *w);
    st = c && c1 && w ? DCX_OK : dcx_set_error(DCX_ERR_NOMEM, "out of memory (PCA of %s)", what);
    if (st == DCX_OK && !held) st = dcx_source_rewind(x);
    pass_job pj = {x, what, n, d, bs, mean, {blk[0], blk[1]}, {c, c1}, NULL, 0, NULL, held};
    if (st == DCX_OK) st = dcx__two_streams(threads, pass_read, scatter_work, &pj);
    DCX_TRY(dcx_dist_agree(rows->dist, st));
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = i; j < d; j++) c[i * d + j] += c1[i * d + j];
    free(c1);
    c1 = NULL;
    /* the scatter of all rows (upper triangle) on every rank */
    DCX_TRY(dcx_dist_sum_f64(rows->dist, c, d * d));
    {
        int old = dcx__blas_set_threads_raw(1);
        st = dcx__dsyevd(1, d, c, d, w); /* ascending; c holds the eigenvectors as columns */
        dcx__blas_set_threads_raw(old);
        if (st != DCX_OK) goto fail;
    }
    /* every rank solved the same problem; rank 0's solution is used by all,
     * so that ranks never disagree on r */
    DCX_TRY(dcx_dist_bcast_f64(rows->dist, w, d, 0));
    double total = 0;
    for (int64_t j = 0; j < d; j++) total += w[j] > 0 ? w[j] : 0;
    if (!(total > 0)) DCX_FAIL(DCX_ERR_DEGENERATE, "%s has zero variance: every input sample is the same", what);
    int64_t r = 0;
    double acc = 0;
    while (r < d) {
        double l = w[d - 1 - r];
        acc += l > 0 ? l : 0;
        r++;
        if (acc >= keep * total) break;
    }
    if (r > rmax) r = rmax;
    acc = 0;
    for (int64_t t = 0; t < r; t++) acc += w[d - 1 - t] > 0 ? w[d - 1 - t] : 0;
    DCX_ALLOC(v, d * r);
    for (int64_t i = 0; i < d; i++)
        for (int64_t t = 0; t < r; t++) v[i * r + t] = c[i * d + (d - 1 - t)];
    free(c);
    c = NULL;
    DCX_TRY(dcx_dist_bcast_f64(rows->dist, v, d * r, 0));
    /* pass 3: the scores, block by block (single-threaded BLAS: the same
     * arithmetic for any thread count) */
    st = dcx__big_calloc(&zz, n * r, sizeof *zz, scratch);
    if (st == DCX_OK && !held) st = dcx_source_rewind(x);
    pj.v = v;
    pj.r = r;
    pj.z = zz;
    if (st == DCX_OK) st = dcx__two_streams(threads, pass_read, project_work, &pj);
    DCX_TRY(dcx_dist_agree(rows->dist, st));
    *z = zz;
    zz = NULL;
    *r_out = r;
    *var_kept = acc / total;
fail:
    free(mean);
    free(held);
    free(blk[0]);
    free(blk[1]);
    free(c);
    free(c1);
    free(w);
    free(v);
    dcx__big_free(zz);
    dcx_matrix_free(xm);
    return st;
}
