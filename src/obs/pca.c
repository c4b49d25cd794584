/* pca.c — the input reduction of the complexity measure (SPEC §2 step 1):
 * centre the columns, eigen-decompose the scatter matrix XᵀX (double, dsyrk +
 * dsytrd + dstedc, the r kept vectors back-transformed by dormtr: ~1.3 ms
 * less than dsyevd at d = 256) and project on the top r principal
 * components, where
 *     r = min(d, rmax, smallest r with Σ_{i<=r} λ_i >= keep · Σ λ_i).
 * Eigenvalues are sorted in decreasing order; round-off negatives count as 0.
 *
 * X is read from its source in blocks of rows (~2 MB), converted to double
 * and centred on the fly, in two passes (scatter, projection), so that the
 * input is never held whole: memory is d² for the scatter plus two blocks
 * (X of up to 32 MiB is read once and held for the second pass instead, in
 * memory runs). Both passes run on two streams of blocks (dcx__two_streams,
 * par.c: one reads the next block while the other centres and multiplies,
 * single-threaded BLAS). The first pass sums the rows for the mean as it
 * reads them and centres each block on a shift s, the mean of the first
 * block (known before any block is multiplied); the scatter about the
 * mean follows from the one about s by a rank-two correction, and since s
 * lies near the mean nothing cancels. The scatter is the sum of two partial
 * scatters, block 2m added to one and block 2m+1 to the other; the
 * eigensolver runs single-threaded: the result is the same for any thread
 * count. The projection computes (x − s)·V − (μ − s)·V. Rows of doubles in
 * memory or in a .npy file (dcx__source_map_f64) are read in place
 * instead, in both passes: checked and summed where they lie, centred into
 * the block (no copy of the file, no held rows; the same arithmetic).
 * Distributed, each rank uses its own shift; the sums and the corrected
 * scatters are summed over the ranks.
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

/* dst = src − mean, row by row (src == dst: in place; the same values) */
static void centre_into(const double *src, double *dst, int64_t b, int64_t d, const double *mean)
{
    for (int64_t i = 0; i < b; i++)
        for (int64_t j = 0; j < d; j++) dst[i * d + j] = src[i * d + j] - mean[j];
}

/* The two passes of the scatter route on two streams of blocks
 * (dcx__two_streams): block b (rows b·bs …) goes to stream b mod 2. Pass 1
 * reads each block (summing its rows for the mean as it goes), centres it
 * on the shift s (the mean of the rank's first block, known once that block
 * is read) and adds its scatter to c[k] (block 2m to c[0], 2m+1 to c[1],
 * whatever the thread count); pass 2 projects each block into its rows of
 * z, while the other stream reads. */
typedef struct pass_job {
    dcx_source *x;
    const char *what;
    int64_t n, d, bs; /* this rank's rows, columns, rows per block */
    int64_t piece;    /* rows per read while summing (about 256 KB) */
    double *sum;      /* pass 1: (d) the column sums, row by row in order */
    double *shift;    /* (d) s, the mean of the first block */
    double *blk[2];
    double *c[2];    /* pass 1: (d, d) partial scatters */
    const double *v; /* pass 2: (d, r) components */
    const double *w; /* pass 2: (r) (μ − s)·V, taken off every score */
    int64_t r;
    double *z;       /* pass 2: (n, r) */
    double *held;    /* (n, d) the rows, read once in pass 1 and centred on s
                      * in place (NULL: read from x in both passes) */
    const double *map; /* (n, d) x's rows in place (dcx__source_map_f64), or NULL */
    int64_t map_base;  /* for messages: the row number of map's first row, */
    const char *map_name; /* and the data's name */
    const dcx__pca_hooks *hooks; /* pass 2: scores called per block */
    const double *src[2]; /* each stream's block before centring (blk: in place) */
} pass_job;

/* Rows held in memory between the passes up to this many doubles (32 MiB). */
#define HOLD_MAX ((int64_t)4 << 20)

/* Pass 1's read: the block, checked, its rows summed in order while they
 * are in cache; after the first block, its mean is the shift. */
static dcx_status scatter_read(void *ctx, int k, int64_t b, int64_t *rows)
{
    pass_job *jb = ctx;
    const int64_t i0 = b * jb->bs, d = jb->d;
    *rows = 0;
    if (i0 >= jb->n) return DCX_OK;
    const int64_t m = jb->n - i0 < jb->bs ? jb->n - i0 : jb->bs;
    /* the rows in place (centred into the block by the work), or read
     * into the block (held: into their place) */
    double *dst = jb->held ? jb->held + i0 * d : jb->blk[k];
    if (!jb->map) jb->blk[k] = dst;
    const double *src = jb->src[k] = jb->map ? jb->map + i0 * d : dst;
    for (int64_t p0 = 0; p0 < m; p0 += jb->piece) {
        const int64_t pb = m - p0 < jb->piece ? m - p0 : jb->piece;
        dcx_status st = jb->map ? dcx__check_finite_mapped(src + p0 * d, pb, d, jb->map_base + i0 + p0, jb->map_name)
                                : read_rows(jb->x, pb, dst + p0 * d, d, jb->what);
        if (st != DCX_OK) return st;
        for (int64_t i = p0; i < p0 + pb; i++)
            for (int64_t j = 0; j < d; j++) jb->sum[j] += src[i * d + j];
    }
    if (b == 0)
        for (int64_t j = 0; j < d; j++) jb->shift[j] = jb->sum[j] / (double)m;
    *rows = m;
    return DCX_OK;
}

static dcx_status scatter_work(void *ctx, int k, int64_t b, int64_t rows, int64_t nread)
{
    (void)b;
    (void)nread;
    pass_job *jb = ctx;
    centre_into(jb->src[k], jb->blk[k], rows, jb->d, jb->shift);
    return dcx__dsyrk_t(jb->d, rows, 1.0, jb->blk[k], jb->d, 1.0, jb->c[k], jb->d);
}

/* Pass 2's read: held rows in place (centred by pass 1), rows in place
 * (centred into the block by the work), or read again. */
static dcx_status project_read(void *ctx, int k, int64_t b, int64_t *rows)
{
    pass_job *jb = ctx;
    const int64_t i0 = b * jb->bs;
    *rows = 0;
    if (i0 >= jb->n) return DCX_OK;
    const int64_t m = jb->n - i0 < jb->bs ? jb->n - i0 : jb->bs;
    if (jb->map) {
        jb->src[k] = jb->map + i0 * jb->d;
        *rows = m;
        return DCX_OK;
    }
    if (jb->held) {
        jb->blk[k] = jb->held + i0 * jb->d;
        *rows = m;
        return DCX_OK;
    }
    dcx_status st = read_rows(jb->x, m, jb->blk[k], jb->d, jb->what);
    jb->src[k] = jb->blk[k];
    if (st == DCX_OK) *rows = m;
    return st;
}

/* z = (x − s)·V − (μ − s)·V for the block's rows */
static dcx_status project_work(void *ctx, int k, int64_t b, int64_t rows, int64_t nread)
{
    (void)nread;
    pass_job *jb = ctx;
    const int64_t r = jb->r;
    if (!jb->held) centre_into(jb->src[k], jb->blk[k], rows, jb->d, jb->shift); /* held rows: centred by pass 1 */
    double *zb = jb->z + b * jb->bs * r;
    dcx_status st = dcx__dgemm(0, 0, rows, r, jb->d, 1.0, jb->blk[k], jb->d, jb->v, r, 0.0, zb, r);
    if (st != DCX_OK) return st;
    centre_rows(zb, rows, r, jb->w);
    if (jb->hooks && jb->hooks->scores) jb->hooks->scores(jb->hooks->ctx, jb->z, b * jb->bs, rows);
    return DCX_OK;
}

dcx_status dcx__pca_reduce(dcx_source *x, const dcx__rows *rows, const char *what, int64_t rmax, double keep,
                           int scratch, const dcx__pca_hooks *hooks, double **z, int64_t *r_out,
                           double *var_kept)
{
    dcx_status st = DCX_OK;
    double *mean = NULL, *shift = NULL, *blk[2] = {NULL, NULL}, *c = NULL, *c1 = NULL, *w = NULL, *v = NULL,
           *zz = NULL, *wv = NULL, *zt = NULL, *tau = NULL;
    double *held = NULL;
    dcx_matrix *xm = NULL;
    *z = NULL;
    const int64_t n = rows->nloc, ntot = rows->n, d = dcx_source_cols(x);
    const int threads = dcx_get_threads();
    if (ntot < 2 || d < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "PCA needs at least 2 samples and 1 column");
    /* read in pieces of about 256 KB, summed while they are in cache */
    const int64_t piece = ((int64_t)1 << 15) / d > 0 ? ((int64_t)1 << 15) / d : 1;
    mean = dcx__calloc((size_t)d, sizeof *mean);
    shift = dcx__calloc((size_t)d, sizeof *shift);
    if (!mean || !shift) st = dcx_set_error(DCX_ERR_NOMEM, "out of memory (PCA of %s)", what);
    if (ntot < d) {
        /* N < d: few rows, held whole (the Gram route); first the means,
         * every value checked */
        double *row = dcx__calloc((size_t)(piece * d), sizeof *row);
        if (st == DCX_OK && !row) st = dcx_set_error(DCX_ERR_NOMEM, "out of memory (PCA of %s)", what);
        if (st == DCX_OK) st = dcx_source_rewind(x);
        for (int64_t p0 = 0; p0 < n && st == DCX_OK; p0 += piece) {
            const int64_t pb = n - p0 < piece ? n - p0 : piece;
            st = read_rows(x, pb, row, d, what);
            for (int64_t i = 0; i < pb && st == DCX_OK; i++)
                for (int64_t j = 0; j < d; j++) mean[j] += row[i * d + j];
        }
        free(row);
        DCX_TRY(dcx_dist_agree(rows->dist, st));
        if (rows->size > 1)
            DCX_FAIL(DCX_ERR_ARG,
                     "%s: N = %lld < d = %lld needs the Gram route of the PCA, which holds all rows in one "
                     "process: run without mpirun",
                     what, (long long)ntot, (long long)d);
        for (int64_t j = 0; j < d; j++) mean[j] /= (double)ntot;
        DCX_TRY(dcx_source_rewind(x));
        DCX_TRY(dcx_source_read_all(x, DCX_F64, &xm));
        DCX_TRY(pca_gram(xm, what, mean, rmax, keep, z, r_out, var_kept));
        goto fail; /* done: free the mean */
    }
    /* about 2 MB of rows per block, at least 64 rows (the dsyrk depth):
     * small blocks keep the two streams in step (reading one block while
     * the other's scatter is summed; 8 MB blocks measured ~2 ms slower on
     * 10,000 x 256); the same blocks, and so the same sums, whether the
     * rows are held or read */
    int64_t bs = ((int64_t)1 << 18) / d;
    if (bs < 64) bs = 64;
    if (bs > n) bs = n > 0 ? n : 1;
    /* rows of up to HOLD_MAX doubles in all (and not bound for the scratch
     * file) are read once and held for pass 2: the same blocks and the
     * same arithmetic, a read of the file fewer */
    int64_t map_base = 0;
    const char *map_name = NULL;
    const double *map = dcx__source_map_f64(x, &map_base, &map_name);
    if (!map && !scratch && n * d <= HOLD_MAX) held = dcx__calloc((size_t)(n * d), sizeof *held);
    if (!held) {
        /* the two blocks in one buffer (huge pages: a few faults) */
        if (dcx__big_calloc(&blk[0], 2 * bs * d, sizeof *blk[0], 0) == DCX_OK) blk[1] = blk[0] + bs * d;
    }
    c = dcx__calloc((size_t)(d * d), sizeof *c);
    c1 = dcx__calloc((size_t)(d * d), sizeof *c1);
    w = dcx__calloc((size_t)d, sizeof *w);
    if (st == DCX_OK && !((held || (blk[0] && blk[1])) && c && c1 && w))
        st = dcx_set_error(DCX_ERR_NOMEM, "out of memory (PCA of %s)", what);
    /* pass 1: read (every value checked), sum, centre on the shift s and
     * add the scatter, each block while the other stream reads the next;
     * Σ (x − μ)(x − μ)ᵀ = Σ (x − s)(x − s)ᵀ − n_p (m eᵀ + e mᵀ) + n_p e eᵀ
     * over this rank's n_p rows of mean μ_p, with m = μ_p − s and e = μ − s
     * (μ the mean of all rows); s near μ_p, so nothing cancels */
    if (st == DCX_OK) st = dcx_source_rewind(x);
    pass_job pj = {x,    what, n,   d,        bs,       piece,   mean,          shift,
                   {blk[0], blk[1]}, {c, c1}, NULL, NULL, 0, NULL, held, map, map_base, map_name, NULL, {NULL, NULL}};
    if (st == DCX_OK) st = dcx__two_streams(threads, scatter_read, scatter_work, &pj);
    /* a NaN in one rank's rows stops every rank */
    DCX_TRY(dcx_dist_agree(rows->dist, st));
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = i; j < d; j++) c[i * d + j] += c1[i * d + j];
    free(c1);
    c1 = NULL;
    /* mean holds this rank's sums: m into w (its mean less s), μ into mean */
    for (int64_t j = 0; j < d; j++) w[j] = n > 0 ? mean[j] / (double)n - shift[j] : 0;
    DCX_TRY(dcx_dist_sum_f64(rows->dist, mean, d));
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)ntot;
    {
        const double np = (double)n;
        for (int64_t i = 0; i < d; i++) {
            const double ei = mean[i] - shift[i], mi = w[i];
            for (int64_t j = i; j < d; j++) {
                const double ej = mean[j] - shift[j], mj = w[j];
                c[i * d + j] += np * (ei * ej - (mi * ej + ei * mj));
            }
        }
    }
    /* the scatter of all rows (upper triangle) on every rank */
    DCX_TRY(dcx_dist_sum_f64(rows->dist, c, d * d));
    if (hooks && hooks->idle) hooks->idle(hooks->ctx); /* the eigensolver leaves the other cores idle */
    /* all eigenvalues, ascending, and the eigenvectors of the tridiagonal
     * form; only the r kept ones are turned into components below */
    DCX_ALLOC(zt, d * d);
    DCX_ALLOC(tau, d);
    {
        int old = dcx__blas_set_threads_raw(1);
        st = dcx__dsytrd_stedc(d, c, d, w, zt, tau);
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
    {
        /* the top r: columns d − 1, d − 2, … of zt (column major), turned
         * into eigenvectors of the scatter, then transposed into v (d, r) */
        double *top = zt + (d - r) * d;
        int old = dcx__blas_set_threads_raw(1);
        st = dcx__dormtr_cols(d, r, c, d, tau, top);
        dcx__blas_set_threads_raw(old);
        if (st != DCX_OK) goto fail;
        for (int64_t i = 0; i < d; i++)
            for (int64_t t = 0; t < r; t++) v[i * r + t] = top[(r - 1 - t) * d + i];
    }
    free(c);
    c = NULL;
    DCX_TRY(dcx_dist_bcast_f64(rows->dist, v, d * r, 0));
    /* (μ − s)·V, taken off every score of pass 2 */
    DCX_ALLOC(wv, r);
    for (int64_t i = 0; i < d; i++) {
        const double e = mean[i] - shift[i];
        for (int64_t t = 0; t < r; t++) wv[t] += e * v[i * r + t];
    }
    /* pass 2: the scores, block by block (single-threaded BLAS: the same
     * arithmetic for any thread count) */
    st = dcx__big_calloc(&zz, n * r, sizeof *zz, scratch);
    if (st == DCX_OK && hooks && hooks->begin_scores) st = hooks->begin_scores(hooks->ctx, r);
    if (st == DCX_OK && !held) st = dcx_source_rewind(x);
    pj.hooks = hooks;
    pj.blk[0] = blk[0];
    pj.blk[1] = blk[1];
    pj.v = v;
    pj.w = wv;
    pj.r = r;
    pj.z = zz;
    if (st == DCX_OK) st = dcx__two_streams(threads, project_read, project_work, &pj);
    DCX_TRY(dcx_dist_agree(rows->dist, st));
    *z = zz;
    zz = NULL;
    *r_out = r;
    *var_kept = acc / total;
fail:
    free(mean);
    free(shift);
    free(held);
    dcx__big_free(blk[0]);
    free(c);
    free(c1);
    free(w);
    free(v);
    free(wv);
    free(zt);
    free(tau);
    dcx__big_free(zz);
    dcx_matrix_free(xm);
    return st;
}
