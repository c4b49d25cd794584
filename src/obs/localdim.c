/* localdim.c — local effective dimension at scale k: for M seeded anchors
 * a, the k nearest samples of a (Euclidean, a itself included) and D_eff
 * = exp(−Σ p ln p) of their covariance spectrum (Gram route when k < D);
 * mean, median and standard deviation over anchors, for a ladder of k.
 *
 * Speed: squared distances of a block of anchors to all samples by one
 * dgemm per row block (‖x‖² − 2 x·a + ‖a‖²), partial selection
 * (quickselect) of the L nearest instead of a full sort, and one sorted
 * neighbour list per anchor reused by every rung of the ladder.
 *
 * Work bound: a rung costs about k·D·m + (4/3)·m³ flops per anchor
 * (m = min(k, D): the syrk and the tridiagonal reduction of dsyevd). When M
 * anchors would exceed the budget `local_work`, the rung uses the first
 * M' = max(local_min_anchors, ⌊budget / cost⌋) anchors of the seeded list;
 * the count used is reported. At k = N every anchor's neighbourhood is the
 * whole data set, so the value is computed once.
 *
 * Threads: the anchors of a rung are independent problems, shared among the
 * library's threads (dcx_get_threads) with single-threaded BLAS inside each;
 * this beats threading each small BLAS call. Every anchor's value lands in
 * its own slot, so the results do not depend on the thread count. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "dim_internal.h"

#define DEFAULT_ANCHORS 500
#define DEFAULT_WORK 3e10
#define ANCHOR_BLOCK 32
#define ROW_BLOCK 1024
#define LOCAL_STREAM 0x6c6f63616cULL /* "local" */

typedef struct {
    double d;
    int64_t i;
} pair;

static int pair_less(const pair *a, const pair *b) { return a->d < b->d || (a->d == b->d && a->i < b->i); }

static int pair_cmp(const void *a, const void *b)
{
    return pair_less(a, b) ? -1 : pair_less(b, a) ? 1 : 0;
}

static void pswap(pair *a, pair *b)
{
    pair t = *a;
    *a = *b;
    *b = t;
}

/* Rearrange v[0..n) so that v[0..k) are the k smallest (keys are unique:
 * ties in distance are broken by index). Quickselect, median-of-3 pivot. */
static void select_smallest(pair *v, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1, target = k - 1;
    if (k <= 0 || k >= n) return;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (pair_less(&v[mid], &v[lo])) pswap(&v[mid], &v[lo]);
        if (pair_less(&v[hi], &v[lo])) pswap(&v[hi], &v[lo]);
        if (pair_less(&v[mid], &v[hi])) pswap(&v[mid], &v[hi]); /* v[hi] = median */
        pair pivot = v[hi];
        int64_t store = lo;
        for (int64_t j = lo; j < hi; j++)
            if (pair_less(&v[j], &pivot)) pswap(&v[j], &v[store++]);
        pswap(&v[store], &v[hi]);
        if (store == target) return;
        if (store < target)
            lo = store + 1;
        else
            hi = store - 1;
    }
}

static double rung_cost(int64_t k, int64_t d)
{
    double m = (double)(k < d ? k : d);
    return (double)k * (double)d * m + 4.0 / 3.0 * m * m * m;
}

/* D_eff of the rows idx[0..k) of x (all rows when idx == NULL). *zero = 1
 * when they have zero variance. Gram route for k < D, shifted covariance
 * accumulation in row blocks otherwise (memory O(D² + block·D)). */
static dcx_status subset_deff(const dcx_matrix *x, const int64_t *idx, int64_t k, double *deff, int *zero)
{
    dcx_status st = DCX_OK;
    int64_t d = x->cols;
    double *buf = NULL, *g = NULL, *w = NULL;
    dcx__covacc acc = {0};
    *zero = 0;
    *deff = NAN;
    if (k < d) {
        DCX_ALLOC(buf, k * d);
        DCX_ALLOC(g, k * k);
        DCX_ALLOC(w, k);
        for (int64_t t = 0; t < k; t++) dcx_matrix_row_f64(x, idx ? idx[t] : t, buf + t * d);
        DCX_TRY(dcx__gram_centred(buf, k, d, d, g));
        DCX_TRY(dcx__eig_desc(g, k, w));
        if (dcx__deff(w, k, deff, NULL) != DCX_OK) *zero = 1;
    } else {
        int64_t rb = dcx__cov_block_rows(d);
        if (rb > k) rb = k;
        DCX_ALLOC(buf, rb * d);
        DCX_ALLOC(w, d);
        DCX_TRY(dcx__covacc_init(&acc, d, NULL));
        for (int64_t t0 = 0; t0 < k; t0 += rb) {
            int64_t nr = k - t0 < rb ? k - t0 : rb;
            for (int64_t t = 0; t < nr; t++) dcx_matrix_row_f64(x, idx ? idx[t0 + t] : t0 + t, buf + t * d);
            DCX_TRY(dcx__covacc_add(&acc, buf, nr, d));
        }
        dcx__covacc_finish(&acc, NULL);
        DCX_TRY(dcx__eig_desc(acc.s, d, w));
        if (dcx__deff(w, d, deff, NULL) != DCX_OK) *zero = 1;
    }
fail:
    free(buf);
    free(g);
    free(w);
    dcx__covacc_free(&acc);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The anchors i ≡ tid (mod nthreads) of one rung. */
typedef struct {
    const dcx_matrix *x;
    const int64_t *nb, *off;
    int64_t k, count;
    double *vals; /* (count) */
    char *zero;   /* (count) */
    atomic_llong *done;
    int tid, nthreads;
    const dcx_dim_params *p; /* progress: only from the calling thread (tid 0) */
    int64_t done0, total;
    dcx_status st;
    char msg[512];
} rung_job;

static void *rung_worker(void *arg)
{
    rung_job *j = arg;
    for (int64_t i = j->tid; i < j->count; i += j->nthreads) {
        int zero;
        j->st = subset_deff(j->x, j->nb + j->off[i], j->k, &j->vals[i], &zero);
        if (j->st != DCX_OK) {
            snprintf(j->msg, sizeof j->msg, "%s", dcx_last_error());
            break;
        }
        j->zero[i] = (char)zero;
        long long d = atomic_fetch_add(j->done, 1) + 1;
        if (j->tid == 0 && j->p->progress)
            j->p->progress(j->p->progress_ctx, "local dimension", j->done0 + d, j->total);
    }
    return NULL;
}

/* Run one rung over `count` anchors with up to `threads` threads. */
static dcx_status run_rung(const dcx_matrix *x, const int64_t *nb, const int64_t *off, int64_t k, int64_t count,
                           double *vals, char *zero, int threads, const dcx_dim_params *p, int64_t done0,
                           int64_t total)
{
    dcx_status st = DCX_OK;
    rung_job jobs[64];
    pthread_t th[64];
    int started[64] = {0};
    atomic_llong done = 0;
    int blas_before = threads; /* the caller's dcx_get_threads(), read before we change it */
    if (threads > 64) threads = 64;
    if (threads > count) threads = (int)count;
    if (threads < 1) threads = 1;
    for (int t = 0; t < threads; t++)
        jobs[t] = (rung_job){x, nb, off, k, count, vals, zero, &done, t, threads, p, done0, total, DCX_OK, ""};
    if (threads > 1) dcx__blas_threads(1);
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&th[t], NULL, rung_worker, &jobs[t]) == 0;
    rung_worker(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            rung_worker(&jobs[t]); /* could not start a thread: do its share here */
    }
    if (threads > 1) dcx__blas_threads(blas_before);
    for (int t = 0; t < threads; t++)
        if (jobs[t].st != DCX_OK) DCX_FAIL(jobs[t].st, "%s", jobs[t].msg);
fail:
    return st;
}

/* mean, median, std (n−1) of the finite v[0..n) (v is sorted in place). */
static void summarize(double *v, int64_t n, dcx_dim_local *o)
{
    o->mean = o->median = o->std = NAN;
    if (n == 0) return;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += v[i];
    double mean = s / (double)n, ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (v[i] - mean) * (v[i] - mean);
    o->mean = mean;
    o->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    o->std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}

/* Sorted lists of the L[i] nearest samples of the anchors anc[0..na). */
static dcx_status neighbours(const dcx_matrix *x, const int64_t *anc, int64_t na, const int64_t *len,
                             const int64_t *off, int64_t *nb, const dcx_dim_params *p)
{
    dcx_status st = DCX_OK;
    int64_t n = x->rows, d = x->cols;
    int64_t rb = n < ROW_BLOCK ? n : ROW_BLOCK;
    double *ab = NULL, *an = NULL, *xb = NULL, *xn = NULL, *g = NULL, *dist = NULL;
    pair *pr = NULL;
    /* anchors per block: 32, fewer when N is so large that the block's
     * distance rows (mb x N doubles) would pass 32 MiB */
    int64_t mbmax = ((int64_t)4 << 20) / n;
    if (mbmax > ANCHOR_BLOCK) mbmax = ANCHOR_BLOCK;
    if (mbmax < 1) mbmax = 1;
    DCX_ALLOC(ab, mbmax * d);
    DCX_ALLOC(an, mbmax);
    DCX_ALLOC(xb, rb * d);
    DCX_ALLOC(xn, rb);
    DCX_ALLOC(g, mbmax * rb);
    DCX_ALLOC(dist, mbmax * n);
    DCX_ALLOC(pr, n);
    for (int64_t a0 = 0; a0 < na; a0 += mbmax) {
        int64_t mb = na - a0 < mbmax ? na - a0 : mbmax;
        for (int64_t a = 0; a < mb; a++) {
            double *row = ab + a * d, s = 0;
            dcx_matrix_row_f64(x, anc[a0 + a], row);
            for (int64_t j = 0; j < d; j++) s += row[j] * row[j];
            an[a] = s;
        }
        for (int64_t r0 = 0; r0 < n; r0 += rb) {
            int64_t nr = n - r0 < rb ? n - r0 : rb;
            for (int64_t t = 0; t < nr; t++) {
                double *row = xb + t * d, s = 0;
                dcx_matrix_row_f64(x, r0 + t, row);
                for (int64_t j = 0; j < d; j++) s += row[j] * row[j];
                xn[t] = s;
            }
            DCX_TRY(dcx__dgemm(0, 1, mb, nr, d, 1.0, ab, d, xb, d, 0.0, g, nr));
            for (int64_t a = 0; a < mb; a++)
                for (int64_t t = 0; t < nr; t++) {
                    double v = an[a] + xn[t] - 2.0 * g[a * nr + t];
                    dist[a * n + r0 + t] = v > 0 ? v : 0;
                }
        }
        for (int64_t a = 0; a < mb; a++) {
            int64_t ai = a0 + a, l = len[ai];
            if (l <= 0) continue;
            for (int64_t t = 0; t < n; t++) {
                pr[t].d = dist[a * n + t];
                pr[t].i = t;
            }
            pr[anc[ai]].d = -1.0; /* the anchor itself comes first */
            select_smallest(pr, n, l);
            qsort(pr, (size_t)l, sizeof *pr, pair_cmp);
            for (int64_t t = 0; t < l; t++) nb[off[ai] + t] = pr[t].i;
        }
        if (p->progress) p->progress(p->progress_ctx, "neighbours", a0 + mb, na);
    }
fail:
    free(ab);
    free(an);
    free(xb);
    free(xn);
    free(g);
    free(dist);
    free(pr);
    return st;
}

dcx_status dcx_dim_local_ladder(const dcx_matrix *x, const int64_t *ks, int nk, const dcx_dim_params *p,
                                dcx_dim_local *out)
{
    dcx_status st = DCX_OK;
    dcx_dim_params def;
    int64_t *perm = NULL, *used = NULL, *len = NULL, *off = NULL, *nb = NULL;
    double *vals = NULL;
    char *zero = NULL;
    if (!p) {
        dcx_dim_params_default(&def);
        p = &def;
    }
    int64_t n = x->rows, d = x->cols;
    if (nk < 1 || !ks) DCX_FAIL(DCX_ERR_ARG, "local ladder: no values of k");
    if (n < 2 || d < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "local ladder: %lld samples: at least 2 needed", (long long)n);
    for (int j = 0; j < nk; j++)
        if (ks[j] < 2 || ks[j] > n)
            DCX_FAIL(DCX_ERR_ARG, "local scale k = %lld is outside [2, N = %lld]", (long long)ks[j], (long long)n);
    int64_t m = p->anchors > 0 ? p->anchors : DEFAULT_ANCHORS;
    if (m > n) m = n;
    int64_t min_a = p->local_min_anchors > 0 ? p->local_min_anchors : 1;
    if (min_a > m) min_a = m;
    double work = p->local_work == 0 ? DEFAULT_WORK : p->local_work;

    /* the seeded anchor list: a partial Fisher–Yates shuffle */
    dcx_rng rng;
    dcx_rng_seed_stream(&rng, p->seed, LOCAL_STREAM);
    DCX_ALLOC(perm, n);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = 0; i < m; i++) {
        int64_t j = i + (int64_t)dcx_rng_below(&rng, (uint64_t)(n - i));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }

    /* anchors per rung, and the neighbour-list length each anchor needs */
    DCX_ALLOC(used, nk);
    DCX_ALLOC(len, m);
    DCX_ALLOC(off, m);
    int64_t na = 0, total_work = 0;
    for (int j = 0; j < nk; j++) {
        if (ks[j] == n) {
            used[j] = m;
            total_work += 1;
            continue;
        }
        int64_t u = m;
        if (work > 0) {
            double fit = floor(work / rung_cost(ks[j], d));
            if (fit < (double)m) u = (int64_t)fit;
            if (u < min_a) u = min_a;
        }
        used[j] = u;
        total_work += u;
        if (u > na) na = u;
        for (int64_t i = 0; i < u; i++)
            if (ks[j] > len[i]) len[i] = ks[j];
    }
    int64_t tot_nb = 0;
    for (int64_t i = 0; i < na; i++) {
        off[i] = tot_nb;
        if (tot_nb > INT64_MAX - len[i]) DCX_FAIL(DCX_ERR_ARG, "local ladder: neighbour lists too large");
        tot_nb += len[i];
    }
    if (na > 0) {
        DCX_ALLOC(nb, tot_nb);
        DCX_TRY(neighbours(x, perm, na, len, off, nb, p));
    }

    DCX_ALLOC(vals, m);
    DCX_ALLOC(zero, m);
    int64_t done = 0;
    for (int j = 0; j < nk; j++) {
        dcx_dim_local *o = &out[j];
        int64_t k = ks[j], cnt = 0;
        memset(o, 0, sizeof *o);
        o->k = k;
        if (k == n) {
            double v;
            int zero;
            DCX_TRY(subset_deff(x, NULL, n, &v, &zero));
            if (zero) {
                o->skipped = m;
                o->mean = o->median = o->std = NAN;
            } else {
                o->anchors = m;
                o->mean = o->median = v;
                o->std = 0;
            }
            if (p->progress) p->progress(p->progress_ctx, "local dimension", ++done, total_work);
            continue;
        }
        DCX_TRY(run_rung(x, nb, off, k, used[j], vals, zero, dcx_get_threads(), p, done, total_work));
        done += used[j];
        for (int64_t i = 0; i < used[j]; i++) {
            if (zero[i])
                o->skipped++;
            else
                vals[cnt++] = vals[i]; /* compact, in anchor order (cnt <= i) */
        }
        o->anchors = cnt;
        summarize(vals, cnt, o);
    }
fail:
    free(perm);
    free(used);
    free(len);
    free(off);
    free(nb);
    free(vals);
    free(zero);
    return st;
}
