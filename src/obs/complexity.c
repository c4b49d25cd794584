/* complexity.c — complexity of a computation (SPEC §2, docs/observables.md §2).
 *
 * deepcx's construction of the entropic, scale-dependent complexity of
 * Janik & Witaszczyk (arXiv:2006.04791): reduce X by PCA, cut it into K
 * k-means cells for K = 1, 2, 4, …, fit one affine map per cell with 2-fold
 * cross-validation, and report the out-of-fold error η(K), the partition
 * entropy H(K), the complexity C(ε) = H(smallest K with η(K) <= ε) and the
 * scaling exponent γ of η(K) ∝ K^−γ.
 *
 * X and Y are read from sources (matrices are wrapped as sources): X in
 * blocks by the PCA, Y once. Every sum over the samples is also summed over
 * the processes of a distributed run (dcx_dist), and one process is the
 * case P = 1 of the same code; the folds hash (seed, row index). */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "obs_internal.h"

void dcx_complexity_params_default(dcx_complexity_params *p)
{
    memset(p, 0, sizeof *p);
    p->eps[0] = 0.1;
    p->eps[1] = 0.05;
    p->eps[2] = 0.01;
    p->n_eps = 3;
    p->kmax = 256;
    p->rmax = 64;
    p->var_keep = 0.999;
    p->restarts = 3;
    p->max_iter = 100;
    p->scratch_mb = 4096;
}

void dcx_complexity_free(dcx_complexity_result *r)
{
    if (!r) return;
    free(r->ladder);
    free(r->levels);
    free(r->folds);
    free(r);
}

/* The folds are drawn in aligned blocks of 64 rows (rows 64b … 64b+63):
 * each row gets a hash of (seed, row index) — the output of splitmix64 at
 * that position of a sequence keyed by the seed — and the half of its block
 * with the smaller hashes goes to fold 0 (the first ⌊m/2⌋ of a block of m
 * rows; ties, which need equal 64-bit hashes, by row index). Every block is
 * split exactly in half, so the folds are two halves up to one row per
 * block, neighbouring rows are not forced apart (a row's partner in the
 * other fold is random within its block), and the fold of a row depends on
 * the seed and its index only: any block of rows (a rank of a distributed
 * run, a block read from disk) draws its folds without the others. */
#define FOLD_BLOCK 64

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void dcx__fold_draw(uint64_t seed, int64_t row0, int64_t n, int64_t ntot, unsigned char *folds)
{
    dcx_rng rng;
    dcx_rng_seed_stream(&rng, seed, 999);
    const uint64_t key = dcx_rng_u64(&rng);
    uint64_t h[FOLD_BLOCK];
    int64_t b0 = -1;
    for (int64_t i = 0; i < n; i++) {
        const int64_t g = row0 + i, b = g / FOLD_BLOCK, lo = b * FOLD_BLOCK;
        const int64_t m = ntot - lo < FOLD_BLOCK ? ntot - lo : FOLD_BLOCK;
        if (b != b0) { /* the hashes of the whole block */
            for (int64_t t = 0; t < m; t++) h[t] = mix64(key + ((uint64_t)(lo + t) + 1) * 0x9E3779B97F4A7C15ULL);
            b0 = b;
        }
        const int64_t me = g - lo;
        int64_t below = 0; /* rows of the block before this one in (hash, index) order */
        for (int64_t t = 0; t < m; t++) below += h[t] < h[me] || (h[t] == h[me] && t < me);
        folds[i] = below < m / 2 ? 0 : 1;
    }
}

/* 1 when every row of a (n, d), row stride ld, equals `ref` (d). */
static int all_constant_as(const double *a, int64_t n, int64_t d, int64_t ld, const double *ref)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            if (a[i * ld + j] != ref[j]) return 0;
    return 1;
}

static dcx_status check_params(const dcx_complexity_params *p)
{
    if (p->n_eps < 1 || p->n_eps > DCX_COMPLEXITY_MAX_EPS)
        return dcx_set_error(DCX_ERR_ARG, "complexity: between 1 and %d tolerances eps are needed (got %d)",
                             DCX_COMPLEXITY_MAX_EPS, p->n_eps);
    for (int i = 0; i < p->n_eps; i++)
        if (!(p->eps[i] > 0 && p->eps[i] <= 1))
            return dcx_set_error(DCX_ERR_ARG, "complexity: tolerance eps = %g must lie in (0, 1]", p->eps[i]);
    if (p->kmax < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: kmax must be >= 1 (got %lld)", (long long)p->kmax);
    if (p->rmax < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: rmax must be >= 1 (got %lld)", (long long)p->rmax);
    if (!(p->var_keep > 0 && p->var_keep <= 1))
        return dcx_set_error(DCX_ERR_ARG, "complexity: var_keep = %g must lie in (0, 1]", p->var_keep);
    if (p->restarts < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: restarts must be >= 1 (got %d)", p->restarts);
    if (p->max_iter < 1) return dcx_set_error(DCX_ERR_ARG, "complexity: max_iter must be >= 1 (got %d)", p->max_iter);
    return DCX_OK;
}

/* The shared state of one measurement: the reduced X, the folds, the
 * ladder, and the outputs of every Y side by side (column groups). */
typedef struct cx_job {
    const dcx_complexity_params *p;
    const dcx__rows *rows;    /* this rank's n = rows->nloc rows of all */
    int64_t r;
    const double *z;          /* (n, r) reduced X */
    const double *zsq;        /* (n) its squared row norms */
    const float *z32;         /* (n, r) as floats, for the k-means assignments */
    const dcx__outputs *y;    /* (n, dy) the centred outputs of all groups */
    int64_t dy;
    const int64_t *goff;      /* (ng + 1) column groups */
    int ng;
    const double *yzero;      /* (dy) zeros: the global mean of a centred Y */
    const unsigned char *folds; /* (n) this rank's rows' folds */
    int nl;                   /* ladder rungs, K = 2^j */
    dcx__km_run *runs;        /* (nl) the best restart so far of each rung; rung 0 (K = 1) unused */
    int *bestq;               /* (nl) its restart index, -1 before the first */
    int *finished;            /* (nl) restarts of the rung finished */
    const int *order;         /* (ntasks) the pool's tasks, see ladder_order */
    int failed;               /* a restart failed: no fit waits any longer */
    pthread_mutex_t *mu;      /* guards runs, bestq, finished, failed, cells */
    pthread_cond_t *cv;       /* a rung finished or a restart failed */
    int scratch;              /* per-sample k-means state in the scratch file */
    const int64_t **cells;    /* (nl) winning labels per rung; rung 0: all zeros, the one cell of K = 1 */
    double *sse;              /* (nl, ng) */
    /* progress, reported from the calling thread */
    int64_t ntasks, done_before;
    int reported;
} cx_job;

/* Phase A: restart q of the k-means of rung j. */
static dcx_status kmeans_task(cx_job *jb, int j, int q)
{
    const int R = jb->p->restarts;
    dcx_rng sr;
    dcx_rng_seed_stream(&sr, jb->p->seed, 1000 + (uint64_t)j);
    uint64_t seed = dcx_rng_u64(&sr);
    dcx__km_run run;
    dcx_status st = dcx__kmeans_restart(jb->z, jb->z32, jb->zsq, jb->rows, jb->r, (int64_t)1 << j, jb->p->max_iter,
                                        seed, q, jb->scratch, NULL, NULL, &run);
    if (st != DCX_OK) {
        pthread_mutex_lock(jb->mu);
        jb->failed = 1;
        pthread_cond_broadcast(jb->cv);
        pthread_mutex_unlock(jb->mu);
        return st;
    }
    /* Keep the best restart of the rung so far and free the other at once,
     * so that at most one set of labels per rung (plus the running tasks')
     * is alive. The lowest (inertia, restart index) wins whatever the order
     * in which the restarts finish: lowest inertia, ties to the lower index. */
    pthread_mutex_lock(jb->mu);
    dcx__km_run *best = &jb->runs[j];
    if (jb->bestq[j] < 0 || run.inertia < best->inertia || (run.inertia == best->inertia && q < jb->bestq[j])) {
        dcx__km_run old = *best;
        *best = run;
        jb->bestq[j] = q;
        run = old;
    }
    if (++jb->finished[j] == R) {
        jb->cells[j] = jb->runs[j].labels;
        pthread_cond_broadcast(jb->cv);
    }
    pthread_mutex_unlock(jb->mu);
    dcx__km_run_free(&run);
    return DCX_OK;
}

/* Phase B: the cell fits of rung j, for every output group at once. A fit
 * waits until the restarts of its rung have finished; it is queued after
 * all of them, so the wait ends (or a failed restart ends it). */
static dcx_status fit_task(cx_job *jb, int j)
{
    if (j > 0) {
        pthread_mutex_lock(jb->mu);
        while (!jb->failed && jb->finished[j] < jb->p->restarts) pthread_cond_wait(jb->cv, jb->mu);
        int failed = jb->failed;
        pthread_mutex_unlock(jb->mu);
        if (failed) return DCX_OK; /* the failing restart reports */
    }
    return dcx__cell_fit_sse(jb->z, jb->rows, jb->r, jb->y, jb->dy, jb->goff, jb->ng, jb->cells[j], (int64_t)1 << j,
                             jb->folds, jb->yzero, jb->scratch, jb->sse + (int64_t)j * jb->ng);
}

/* Both phases in one pool, in the order of jb->order: the fit of K = 1
 * (which needs no k-means) first, then the restarts of the rungs, largest K
 * first (the longest tasks first), each rung's fit queued after the
 * restarts of the next rung, when its own restarts are likely done, and
 * the last fits at the end: the threads finish together. */
static dcx_status ladder_task(void *ctx, int64_t t)
{
    cx_job *jb = ctx;
    const int e = jb->order[t], R = jb->p->restarts;
    return e < 0 ? fit_task(jb, -e - 1) : kmeans_task(jb, e / R, e % R);
}

/* The task order above into order (ntasks): restart q of rung j is j·R + q,
 * the fit of rung j is −j − 1. */
static void ladder_order(int nl, int R, int *order)
{
    int t = 0;
    order[t++] = -1;
    for (int j = nl - 1; j >= 1; j--) {
        for (int q = 0; q < R; q++) order[t++] = j * R + q;
        if (j + 1 <= nl - 1) order[t++] = -(j + 1) - 1;
    }
    if (nl > 1) order[t++] = -1 - 1;
}

/* Progress: rung j is reported once a fraction j/nl of all tasks is done. */
static void tick(void *ctx, const void *pool)
{
    cx_job *jb = ctx;
    const dcx_complexity_params *p = jb->p;
    if (!p->progress) return;
    int64_t done = jb->done_before + (pool ? dcx__pool_done(pool) : 0);
    int64_t target = jb->ntasks > 0 ? done * jb->nl / jb->ntasks : 0;
    if (target > jb->nl - 1) target = jb->nl - 1;
    while (jb->reported < target) {
        jb->reported++;
        p->progress(p->progress_ctx, "complexity ladder", jb->reported, jb->nl);
    }
}

/* η ladder, C(ε) and γ of one output group into res (ladder partly filled:
 * k, entropy, inertia, min_cell). */
static dcx_status finish_result(dcx_complexity_result *res, const dcx_complexity_params *p, const double *sse,
                                int ng, int g, double sst)
{
    dcx_status st = DCX_OK;
    const int nl = res->n_ladder;
    for (int i = 0; i < nl; i++) res->ladder[i].eta = sse[(int64_t)i * ng + g] / sst;
    res->eta1 = res->ladder[0].eta;

    /* 8. C(eps) */
    DCX_ALLOC(res->levels, p->n_eps);
    res->n_eps = p->n_eps;
    for (int e = 0; e < p->n_eps; e++) {
        dcx_complexity_level *lv = &res->levels[e];
        lv->eps = p->eps[e];
        lv->reached = 0;
        lv->k = res->ladder[nl - 1].k;
        lv->value = res->ladder[nl - 1].entropy;
        for (int i = 0; i < nl; i++)
            if (res->ladder[i].eta <= lv->eps) {
                lv->reached = 1;
                lv->k = res->ladder[i].k;
                lv->value = res->ladder[i].entropy;
                break;
            }
    }

    /* 9. gamma */
    double lx[64], ly[64];
    int64_t m = 0;
    for (int i = 0; i < nl && m < 64; i++)
        if (res->ladder[i].k >= 2 && res->ladder[i].eta > 1e-9) {
            lx[m] = log((double)res->ladder[i].k);
            ly[m] = log(res->ladder[i].eta);
            m++;
        }
    res->gamma_points = m;
    res->gamma = res->gamma_stderr = res->gamma_r2 = NAN;
    res->nonlinearity_dim = NAN;
    if (m >= 2) {
        dcx_linfit_result lf;
        DCX_TRY(dcx_linfit(lx, ly, m, &lf));
        res->gamma_ok = 1;
        res->gamma = -lf.slope;
        res->gamma_stderr = lf.slope_stderr;
        res->gamma_r2 = lf.r2;
        if (res->gamma > 0) res->nonlinearity_dim = 4.0 / res->gamma;
    }
fail:
    return st;
}

/* calloc of a local buffer; the ranks agree on the outcome before the next
 * collective. */
#define LOCAL_ALLOC(ptr, count) (((ptr) = dcx__calloc((size_t)(count), sizeof *(ptr))) != NULL)

/* 1b. The outputs, read, checked and centred side by side (the shared
 * state of run(), filled by read_outputs, which may run on a thread of its
 * own while the PCA reads X). */
typedef struct y_job {
    dcx_source *const *ys;
    int ny, single, scratch;
    const dcx__rows *rows;
    const dcx_complexity_params *p;
    int64_t dyall, cmax, cnt, bs;
    double *ya, *sst, *mean, *first;
    float *yf;                /* one Y of float values: kept as floats, ya NULL (see dcx__outputs) */
    const double *ymap;       /* one Y of doubles read in place (dcx__source_map_f64): ya, yf NULL */
    int64_t *goff, *icount;
    int *group;
    int ng, ybad; /* ybad (single): 1 every output the same, 2 zero variance */
    int64_t dy;
    dcx_status st;
    char msg[1024]; /* the error, when read on another thread */
} y_job;

static dcx_status read_outputs(y_job *yj)
{
    dcx_status st = DCX_OK;
    dcx_source *const *ys = yj->ys;
    const int ny = yj->ny, single = yj->single;
    const dcx__rows *rows = yj->rows;
    const dcx_complexity_params *p = yj->p;
    const int64_t nloc = rows->nloc, dyall = yj->dyall, bs = yj->bs;
    double *ya = NULL, *blk = NULL, *sst = yj->sst, *mean = yj->mean, *first = yj->first;
    float *yf = NULL;
    int64_t *goff = yj->goff, *icount = yj->icount;
    int *group = yj->group;
    char name[32];
    int ng = 0, ybad = 0;
    int64_t dy = 0;
    blk = dcx__calloc((size_t)(bs * yj->cmax), sizeof *blk);
    /* one Y of doubles in memory or in a .npy file is read in place (no
     * copy, no centring pass: the fits subtract the means where they read
     * it); else one Y is kept as floats while every value is one (from a
     * float32 file, say), the first value that is not turning it into
     * doubles */
    int64_t ybase = 0;
    const char *yname = NULL;
    const double *ymap = ny == 1 ? dcx__source_map_f64(ys[0], &ybase, &yname) : NULL;
    if (!blk) st = dcx_set_error(DCX_ERR_NOMEM, "complexity: out of memory");
    else if (ymap) st = DCX_OK;
    else if (single) st = dcx__big_calloc(&yf, yj->cnt, sizeof *yf, yj->scratch);
    else st = dcx__big_calloc(&ya, yj->cnt, sizeof *ya, yj->scratch);
    if (ymap) /* every value checked and summed, in blocks, in order (the same sums as read) */
        for (int64_t r0 = 0; r0 < nloc && st == DCX_OK; r0 += bs) {
            const int64_t got = nloc - r0 < bs ? nloc - r0 : bs, c = dyall;
            const double *src = ymap + r0 * c;
            st = dcx__check_finite_mapped(src, got, c, ybase + r0, yname);
            for (int64_t t = 0; t < got && st == DCX_OK; t++)
                for (int64_t j = 0; j < c; j++) mean[j] += src[t * c + j];
        }
    for (int i = 0, c0 = 0; i < ny && st == DCX_OK && !ymap; c0 += (int)dcx_source_cols(ys[i]), i++) {
        const int64_t c = dcx_source_cols(ys[i]);
        if (single) snprintf(name, sizeof name, "Y");
        else snprintf(name, sizeof name, "Y[%d]", i);
        st = dcx_source_rewind(ys[i]);
        for (int64_t r0 = 0; r0 < nloc && st == DCX_OK;) {
            int64_t got = 0;
            /* one Y in doubles: straight into its rows */
            double *dst = ya && c == dyall ? ya + r0 * dyall : blk;
            st = dcx_source_read(ys[i], nloc - r0 < bs ? nloc - r0 : bs, dst, &got); /* checks every value */
            if (st == DCX_OK && got == 0) st = dcx_set_error(DCX_ERR_FORMAT, "%s: fewer rows than announced", name);
            if (st != DCX_OK) break;
            if (yf) {
                int exact = 1;
                for (int64_t v = 0; v < got * c; v++) {
                    const float f = yf[r0 * c + v] = (float)blk[v];
                    exact &= (double)f == blk[v];
                }
                if (!exact) { /* doubles from here on: the rows so far widened (exactly) */
                    st = dcx__big_calloc(&ya, yj->cnt, sizeof *ya, yj->scratch);
                    if (st != DCX_OK) break;
                    for (int64_t v = 0; v < r0 * c; v++) ya[v] = (double)yf[v];
                    dcx__big_free(yf);
                    yf = NULL;
                }
            }
            if (dst == blk && ya)
                for (int64_t t = 0; t < got; t++)
                    memcpy(ya + (r0 + t) * dyall + c0, blk + t * c, (size_t)c * sizeof *ya);
            /* the column sums, row by row, while the block is in cache */
            for (int64_t t = 0; t < got; t++)
                for (int64_t j = 0; j < c; j++) mean[c0 + j] += dst[t * (dst == blk ? c : dyall) + j];
            r0 += got;
        }
    }
    DCX_TRY(dcx_dist_agree(p->dist, st)); /* a NaN in any rank's rows stops all */
    /* the first sample's outputs (from the rank holding it), the column
     * sums, and whether any sample differs from the first */
    if (nloc > 0 && rows->row0 == 0)
        for (int64_t j = 0; j < dyall; j++) first[j] = ya ? ya[j] : ymap ? ymap[j] : (double)yf[j];
    DCX_TRY(dcx_dist_sum_f64(p->dist, first, dyall));
    DCX_TRY(dcx_dist_sum_f64(p->dist, mean, dyall));
    for (int64_t j = 0; j < dyall; j++) mean[j] /= (double)rows->n;
    for (int i = 0, c0 = 0; i < ny; c0 += (int)dcx_source_cols(ys[i]), i++) {
        const int64_t c = dcx_source_cols(ys[i]);
        /* centred (in place; floats: where they are read); the sum of
         * squares per column (independent chains, one per column), then
         * over the columns in order */
        double *colsq = blk; /* (c) */
        memset(colsq, 0, (size_t)c * sizeof *colsq);
        if (ya) {
            icount[i] = !all_constant_as(ya + c0, nloc, c, dyall, first + c0);
            for (int64_t r0 = 0; r0 < nloc; r0++) {
                double *yr = ya + r0 * dyall + c0;
                for (int64_t j = 0; j < c; j++) {
                    const double v = yr[j] - mean[c0 + j];
                    yr[j] = v;
                    colsq[j] += v * v;
                }
            }
        } else if (ymap) { /* one Y: c == dyall, c0 == 0; centred where read */
            icount[i] = !all_constant_as(ymap, nloc, c, c, first);
            for (int64_t r0 = 0; r0 < nloc; r0++) {
                const double *yr = ymap + r0 * c;
                for (int64_t j = 0; j < c; j++) {
                    const double v = yr[j] - mean[j];
                    colsq[j] += v * v;
                }
            }
        } else { /* one Y: c == dyall, c0 == 0 */
            icount[i] = 0;
            for (int64_t v = 0; v < nloc * c && !icount[i]; v++) icount[i] = (double)yf[v] != first[v % c];
            for (int64_t r0 = 0; r0 < nloc; r0++) {
                const float *yr = yf + r0 * c;
                for (int64_t j = 0; j < c; j++) {
                    const double v = (double)yr[j] - mean[j];
                    colsq[j] += v * v;
                }
            }
        }
        sst[i] = 0;
        for (int64_t j = 0; j < c; j++) sst[i] += colsq[j];
    }
    DCX_TRY(dcx_dist_sum_i64(p->dist, icount, ny));
    DCX_TRY(dcx_dist_sum_f64(p->dist, sst, ny));
    for (int i = 0, c0 = 0; i < ny; c0 += (int)dcx_source_cols(ys[i]), i++) {
        const int64_t c = dcx_source_cols(ys[i]);
        group[i] = -1;
        if (icount[i] == 0) {
            ybad = 1;
            continue;
        }
        if (!(sst[i] > 0)) {
            ybad = 2;
            continue;
        }
        /* keep the group: move its columns to [dy, dy + c) */
        if (dy != c0 && ya)
            for (int64_t r0 = 0; r0 < nloc; r0++)
                memmove(ya + r0 * dyall + dy, ya + r0 * dyall + c0, (size_t)c * sizeof *ya);
        group[i] = ng;
        sst[ng] = sst[i];
        goff[ng] = dy;
        ng++;
        dy += c;
        goff[ng] = dy;
    }
    /* the groups are packed at row stride dyall: compact to stride dy */
    if (dy < dyall && ya)
        for (int64_t r0 = 1; r0 < nloc; r0++) memmove(ya + r0 * dy, ya + r0 * dyall, (size_t)dy * sizeof *ya);
    if (dy == 0) dy = 1; /* nothing to measure; keep the shapes valid below */
fail:
    free(blk);
    yj->ya = ya;
    yj->yf = yf;
    yj->ymap = ymap;
    yj->ng = ng;
    yj->ybad = ybad;
    yj->dy = dy;
    yj->st = st;
    return st;
}

static void *read_outputs_thread(void *arg)
{
    y_job *yj = arg;
    if (read_outputs(yj) != DCX_OK) snprintf(yj->msg, sizeof yj->msg, "%s", dcx_last_error());
    return NULL;
}

/* The thread reading Y, started by the PCA (its idle callback). */
typedef struct y_start {
    y_job *yj;
    pthread_t th;
    int started;
} y_start;

/* What the PCA's hooks do for the measurement: start the thread reading Y
 * (ys NULL: Y is read before), and make the reduced X's squared row norms
 * and float form (for the k-means) block by block as the projection
 * finishes them. */
typedef struct pca_extra {
    y_start *ys;
    int64_t nloc, r;
    int scratch;
    double *zsq;
    float *z32;
} pca_extra;

static void start_outputs(void *arg)
{
    y_start *ys = ((pca_extra *)arg)->ys;
    if (ys) ys->started = pthread_create(&ys->th, NULL, read_outputs_thread, ys->yj) == 0;
}

static dcx_status begin_extra(void *arg, int64_t r)
{
    pca_extra *ze = arg;
    ze->r = r;
    dcx_status st = dcx__big_calloc(&ze->zsq, ze->nloc, sizeof *ze->zsq, ze->scratch);
    if (st == DCX_OK) st = dcx__big_calloc(&ze->z32, dcx__km_floats_count(ze->nloc, r), sizeof *ze->z32, ze->scratch);
    return st;
}

static void make_extra(void *arg, const double *z, int64_t i0, int64_t m)
{
    pca_extra *ze = arg;
    dcx__row_norms(z + i0 * ze->r, m, ze->r, ze->zsq + i0);
    dcx__km_floats_fill_rows(z, ze->zsq, ze->nloc, ze->r, ze->z32, i0, i0 + m);
}


/* The measurement behind dcx_complexity (single = 1: a Y of zero variance
 * is an error) and dcx_complexity_multi (single = 0: its result is NULL).
 * Distributed (p->dist), x and ys hold this rank's rows: every sum over the
 * samples is summed over the ranks, and the single process is the case
 * P = 1 of the same code. */
static dcx_status run(dcx_source *x, dcx_source *const *ys, int ny, const dcx_complexity_params *p, int single,
                      dcx_complexity_result **out)
{
    dcx_status st = DCX_OK;
    double *ya = NULL, *z = NULL, *zsq = NULL, *yzero = NULL, *sst = NULL, *sse = NULL;
    float *yf = NULL;
    float *z32 = NULL;
    int64_t *goff = NULL, *zeros = NULL, *icount = NULL;
    int *bestq = NULL, *finished = NULL, *order = NULL;
    double *mean = NULL, *first = NULL;
    int *group = NULL;
    unsigned char *folds = NULL;
    dcx__km_run *runs = NULL;
    const int64_t **cells = NULL;
    dcx_complexity_result **res = NULL;
    dcx__rows rows = {0};
    int nl = 0;
    if (ny < 1) DCX_FAIL(DCX_ERR_ARG, "complexity: at least one Y is needed");
    for (int i = 0; i < ny; i++) out[i] = NULL;
    if (!x || !ys || !p) DCX_FAIL(DCX_ERR_ARG, "complexity: NULL argument");
    for (int i = 0; i < ny; i++)
        if (!ys[i]) DCX_FAIL(DCX_ERR_ARG, "complexity: NULL argument");
    DCX_TRY(check_params(p));
    const int64_t dx = dcx_source_cols(x);
    int64_t dyall = 0, cmax = 1;
    for (int i = 0; i < ny; i++) {
        const int64_t c = dcx_source_cols(ys[i]);
        if (c < 1) DCX_FAIL(DCX_ERR_ARG, "X and Y need at least one column each");
        dyall += c;
        cmax = c > cmax ? c : cmax;
    }
    if (dx < 1) DCX_FAIL(DCX_ERR_ARG, "X and Y need at least one column each");
    /* the rows of every rank; the rows of each Y over all ranks */
    DCX_TRY(dcx__rows_init(p->dist, dcx_source_rows(x), &rows));
    const int64_t n = rows.n, nloc = rows.nloc;
    DCX_ALLOC(icount, ny > 1 ? ny : 1);
    for (int i = 0; i < ny; i++) icount[i] = dcx_source_rows(ys[i]);
    DCX_TRY(dcx_dist_sum_i64(p->dist, icount, ny));
    for (int i = 0; i < ny; i++) {
        if (icount[i] != n)
            DCX_FAIL(DCX_ERR_ARG, "X has %lld rows but Y has %lld: the rows must be the same samples",
                     (long long)n, (long long)icount[i]);
        if (dcx_source_rows(ys[i]) != nloc)
            DCX_FAIL(DCX_ERR_ARG, "complexity: each process must hold the same rows of X and Y");
    }
    if (n < 2) DCX_FAIL(DCX_ERR_DEGENERATE, "too few samples (%lld) to measure complexity", (long long)n);
    int64_t cnt;
    if (!dcx__mul_ok(nloc, dyall, &cnt)) DCX_FAIL(DCX_ERR_ARG, "Y: matrix too large");

    /* 1b. the outputs, centred, side by side; a Y of zero variance keeps no
     * columns (multi) or stops the measurement (single) */
    /* Y is read in blocks of about 256 KB, summed while they are in cache */
    int64_t bs = ((int64_t)1 << 15) / cmax;
    if (bs < 1) bs = 1;
    if (bs > nloc) bs = nloc > 0 ? nloc : 1;
    /* everything kept per sample goes to a scratch file beyond the memory
     * budget: the centred Y, (later) the reduced X, its norms and its float
     * copy, and the k-means state (labels and two bounds per running
     * restart, the winning labels of every rung) */
    const int64_t rcap = p->rmax < dx ? p->rmax : dx;
    const double budget = p->scratch_mb == 0 ? 4096.0 : p->scratch_mb < 0 ? -1.0 : (double)p->scratch_mb;
    int nl_cap = 1;
    for (int64_t k = 2; k <= p->kmax; k *= 2) nl_cap++;
    const double per_sample =
        8.0 * (double)(dyall + rcap + 2 + nl_cap) + 4.0 * (double)rcap + 24.0 * dcx_get_threads();
    const int scratch = (double)nloc * per_sample > budget * 1048576.0;
    int ok = LOCAL_ALLOC(goff, ny + 1) && LOCAL_ALLOC(group, ny) && LOCAL_ALLOC(sst, ny) &&
             LOCAL_ALLOC(mean, dyall) && LOCAL_ALLOC(first, dyall);
    if (!ok) DCX_FAIL(DCX_ERR_NOMEM, "complexity: out of memory");
    y_job yj = {.ys = ys, .ny = ny, .single = single, .scratch = scratch, .rows = &rows, .p = p, .dyall = dyall,
                .cmax = cmax, .cnt = cnt, .bs = bs, .sst = sst, .mean = mean, .first = first, .goff = goff,
                .icount = icount, .group = group};
    /* one process with more than one thread: Y is read on a thread of its
     * own, started when the PCA's eigensolver leaves the other core idle
     * (its passes over X use both); a distributed run's collectives stay
     * on the calling thread */
    const int ythread = rows.size == 1 && dcx_get_threads() > 1;
    y_start ysr = {&yj, 0, 0};
    if (!ythread) {
        read_outputs(&yj);
        ya = yj.ya;
        yf = yj.yf;
        DCX_TRY(yj.st);
    }

    /* 1. reduce X */
    int64_t r;
    double var_kept;
    pca_extra ze = {.ys = ythread ? &ysr : NULL, .nloc = nloc, .scratch = scratch};
    const dcx__pca_hooks hooks = {start_outputs, begin_extra, make_extra, &ze};
    st = dcx__pca_reduce(x, &rows, "X", p->rmax, p->var_keep, scratch, &hooks, &z, &r, &var_kept);
    zsq = ze.zsq;
    z32 = ze.z32;
    if (ythread) { /* Y's error first, as without the thread */
        if (ysr.started) {
            pthread_join(ysr.th, NULL);
            if (yj.st != DCX_OK) st = dcx_set_error(yj.st, "%s", yj.msg);
        } else { /* not started (an error came first, the Gram route): Y here */
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", st != DCX_OK ? dcx_last_error() : "");
            if (read_outputs(&yj) == DCX_OK && st != DCX_OK) st = dcx_set_error(st, "%s", msg);
            if (yj.st != DCX_OK) st = yj.st;
        }
        ya = yj.ya;
        yf = yj.yf;
    }
    DCX_TRY(st);
    const int ng = yj.ng, ybad = yj.ybad;
    const int64_t dy = yj.dy;

    if (single && ybad == 1)
        DCX_FAIL(DCX_ERR_DEGENERATE, "Y has zero variance (every output is the same): the nonlinearity eta is "
                                     "undefined");
    if (single && ybad == 2) DCX_FAIL(DCX_ERR_DEGENERATE, "Y has zero variance: the nonlinearity eta is undefined");

    /* 3. the ladder */
    int64_t per_piece = 4 * (r + 1);
    int64_t kmax = n / per_piece;
    if (p->kmax < kmax) kmax = p->kmax;
    int64_t kneed = p->kmax >= 2 ? 2 : 1;
    if (kmax < kneed)
        DCX_FAIL(DCX_ERR_DEGENERATE,
                 "too few samples: %lld, the scale ladder needs at least %lld for K = %lld "
                 "(4(r+1) = %lld samples per linear piece, r = %lld reduced input dimensions)",
                 (long long)n, (long long)(kneed * per_piece), (long long)kneed, (long long)per_piece,
                 (long long)r);
    for (int64_t k = 1; k <= kmax; k *= 2) nl++;

    /* 2. folds, of all samples (every rank: the result holds them) */
    DCX_ALLOC(folds, n);
    if (p->folds) {
        int64_t fc[2] = {0, 0};
        for (int64_t i = 0; i < n; i++) {
            if (p->folds[i] > 1)
                DCX_FAIL(DCX_ERR_ARG, "complexity: fold of sample %lld is %d, must be 0 or 1", (long long)i,
                         (int)p->folds[i]);
            fc[p->folds[i]]++;
            folds[i] = p->folds[i];
        }
        if (fc[0] == 0 || fc[1] == 0) DCX_FAIL(DCX_ERR_ARG, "complexity: both folds must hold samples");
    } else {
        dcx__fold_draw(p->seed, 0, n, n, folds); /* n >= 2: the first block fills both folds */
    }
    if (ng == 0) { /* multi, every Y of zero variance: no result to compute */
        st = DCX_OK;
        goto fail;
    }

    /* 4–7. the k-means restarts and the cell fits of every rung on one task
     * pool (results independent of threads; distributed, the tasks are
     * collective and run one after the other, in the same order) */
    const int R = p->restarts;
    /* the norms and float form of the reduced X, unless the PCA's
     * projection made them (not on the Gram route) */
    const int extra = zsq == NULL;
    dcx_status big = extra ? dcx__big_calloc(&zsq, nloc, sizeof *zsq, scratch) : DCX_OK;
    if (big == DCX_OK) big = dcx__big_calloc(&zeros, nloc, sizeof *zeros, scratch);
    if (big == DCX_OK && extra) big = dcx__big_calloc(&z32, dcx__km_floats_count(nloc, r), sizeof *z32, scratch);
    ok = big == DCX_OK && LOCAL_ALLOC(runs, nl) && LOCAL_ALLOC(bestq, nl) && LOCAL_ALLOC(finished, nl) &&
         LOCAL_ALLOC(order, (int64_t)(nl - 1) * R + nl) &&
         LOCAL_ALLOC(cells, nl) &&
         LOCAL_ALLOC(sse, (int64_t)nl * ng) && LOCAL_ALLOC(yzero, dy);
    DCX_TRY(dcx_dist_agree(p->dist, ok ? DCX_OK : dcx_set_error(DCX_ERR_NOMEM, "complexity: out of memory")));
    if (extra) {
        dcx__row_norms(z, nloc, r, zsq);
        dcx__km_floats_fill(z, zsq, nloc, r, z32);
    }
    for (int j = 0; j < nl; j++) bestq[j] = -1;
    cells[0] = zeros;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    /* mean: Y's column means */
    const dcx__outputs yout = yj.ymap ? (dcx__outputs){yj.ymap, NULL, mean} : (dcx__outputs){ya, ya ? NULL : yf, ya ? NULL : mean};
    cx_job jb = {.p = p,
                 .rows = &rows,
                 .r = r,
                 .z = z,
                 .zsq = zsq,
                 .z32 = z32,
                 .y = &yout,
                 .dy = dy,
                 .goff = goff,
                 .ng = ng,
                 .yzero = yzero,
                 .folds = folds + rows.row0,
                 .nl = nl,
                 .runs = runs,
                 .bestq = bestq,
                 .finished = finished,
                 .mu = &mu,
                 .cv = &cv,
                 .scratch = scratch,
                 .cells = cells,
                 .sse = sse};
    jb.ntasks = (int64_t)(nl - 1) * R + nl;
    ladder_order(nl, R, order);
    jb.order = order;
    int threads = rows.size > 1 ? 1 : dcx_get_threads();
    if (p->progress) p->progress(p->progress_ctx, "complexity ladder", 0, nl);
    DCX_TRY(dcx__parallel_tasks(jb.ntasks, threads, ladder_task, &jb, tick, &jb));
    jb.done_before = jb.ntasks;
    tick(&jb, NULL);
    if (p->progress) p->progress(p->progress_ctx, "complexity ladder", nl, nl);

    /* the results, one per Y */
    DCX_ALLOC(res, ny);
    for (int i = 0; i < ny; i++) {
        if (group[i] < 0) continue;
        dcx_complexity_result *rs;
        DCX_ALLOC(res[i], 1);
        rs = res[i];
        rs->n = n;
        rs->dx = dx;
        rs->dy = dcx_source_cols(ys[i]);
        rs->r = r;
        rs->var_kept = var_kept;
        rs->kmax_rule = kmax;
        rs->n_ladder = nl;
        DCX_ALLOC(rs->ladder, nl);
        DCX_ALLOC(rs->folds, n);
        memcpy(rs->folds, folds, (size_t)n);
        for (int j = 0; j < nl; j++) {
            dcx_complexity_rung *g = &rs->ladder[j];
            g->k = (int64_t)1 << j;
            if (j == 0) {
                g->inertia = 0;
                g->entropy = 0;
                g->min_cell = n;
            } else {
                const dcx__km_run *w = &runs[j];
                g->inertia = w->inertia;
                g->entropy = dcx__entropy_counts(w->sizes, g->k, n);
                g->min_cell = n;
                for (int64_t q = 0; q < g->k; q++)
                    if (w->sizes[q] < g->min_cell) g->min_cell = w->sizes[q];
            }
        }
        DCX_TRY(finish_result(rs, p, sse, ng, group[i], sst[group[i]]));
    }
    for (int i = 0; i < ny; i++) {
        out[i] = res[i];
        res[i] = NULL;
    }
fail:
    if (res)
        for (int i = 0; i < ny; i++) dcx_complexity_free(res[i]);
    free(res);
    if (runs)
        for (int j = 0; j < nl; j++) dcx__km_run_free(&runs[j]);
    free(runs);
    free(bestq);
    free(finished);
    free(order);
    free(cells);
    dcx__big_free(ya);
    dcx__big_free(yf);
    dcx__big_free(z);
    dcx__big_free(zsq);
    dcx__big_free(z32);
    free(yzero);
    free(sst);
    free(sse);
    free(goff);
    dcx__big_free(zeros);
    free(icount);
    free(mean);
    free(first);
    free(group);
    free(folds);
    dcx__rows_free(&rows);
    return st;
}

dcx_status dcx_complexity_source(dcx_source *x, dcx_source *y, const dcx_complexity_params *p,
                                 dcx_complexity_result **out)
{
    if (!out) return dcx_set_error(DCX_ERR_ARG, "complexity: NULL argument");
    *out = NULL;
    if (!x || !y) return dcx_set_error(DCX_ERR_ARG, "complexity: NULL argument");
    return run(x, &y, 1, p, 1, out);
}

/* The matrices as sources ("X", "Y"), then the measurement. */
static dcx_status run_matrices(const dcx_matrix *x, const dcx_matrix *const *ys, int ny,
                               const dcx_complexity_params *p, int single, dcx_complexity_result **out)
{
    dcx_status st = DCX_OK;
    dcx_source *xs = NULL, **yss = NULL;
    for (int i = 0; i < ny; i++) out[i] = NULL;
    if (ny < 1) DCX_FAIL(DCX_ERR_ARG, "complexity: at least one Y is needed");
    if (!x || !ys || !p) DCX_FAIL(DCX_ERR_ARG, "complexity: NULL argument");
    DCX_ALLOC(yss, ny);
    DCX_TRY(dcx_source_from_matrix(x, "X", &xs));
    for (int i = 0; i < ny; i++) {
        if (!ys[i]) DCX_FAIL(DCX_ERR_ARG, "complexity: NULL argument");
        char name[32];
        if (single) snprintf(name, sizeof name, "Y");
        else snprintf(name, sizeof name, "Y[%d]", i);
        DCX_TRY(dcx_source_from_matrix(ys[i], name, &yss[i]));
    }
    st = run(xs, yss, ny, p, single, out);
fail:
    dcx_source_free(xs);
    if (yss)
        for (int i = 0; i < ny; i++) dcx_source_free(yss[i]);
    free(yss);
    return st;
}

dcx_status dcx_complexity(const dcx_matrix *x, const dcx_matrix *y, const dcx_complexity_params *p,
                          dcx_complexity_result **out)
{
    *out = NULL;
    return run_matrices(x, &y, 1, p, 1, out);
}

dcx_status dcx_complexity_multi(const dcx_matrix *x, const dcx_matrix *const *ys, int ny,
                                const dcx_complexity_params *p, dcx_complexity_result **out)
{
    if (!out) return dcx_set_error(DCX_ERR_ARG, "complexity: NULL argument");
    return run_matrices(x, ys, ny, p, 0, out);
}
