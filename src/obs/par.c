/* par.c — a small task pool for the observables: run independent tasks
 * 0..n−1 on a few POSIX threads (the calling thread included).
 *
 * Reproducibility is the point of the design: a task is a deterministic,
 * single-stream computation whose result goes to its own slot, so the
 * answer cannot depend on which thread ran it or in which order. BLAS is set
 * to one thread for the whole region, also when the tasks run one after the
 * other in the calling thread; a BLAS call inside a task then does the same
 * arithmetic for any thread count (and two pools never fight for the
 * cores). */
#include <pthread.h>
#include <string.h>

#include "obs_internal.h"

typedef struct pool {
    pthread_mutex_t mu;
    int64_t next, ntasks, done;
    dcx__task_fn fn;
    void *ctx;
    int64_t fail_task; /* lowest failing task, ntasks if none */
    dcx_status fail_st;
    char fail_msg[512];
} pool;

/* Take tasks in index order until none is left (or one failed). The
 * calling thread passes `tick` to report progress between its tasks. */
static void work(pool *pl, dcx__tick_fn tick, void *tick_ctx)
{
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        int64_t t = pl->fail_task < pl->ntasks ? pl->ntasks : pl->next;
        if (t < pl->ntasks) pl->next++;
        pthread_mutex_unlock(&pl->mu);
        if (t >= pl->ntasks) return;
        dcx_status st = pl->fn(pl->ctx, t);
        pthread_mutex_lock(&pl->mu);
        pl->done++;
        /* Tasks start in index order, so every task below a failing one has
         * started and will report: the lowest failure is deterministic. */
        if (st != DCX_OK && t < pl->fail_task) {
            pl->fail_task = t;
            pl->fail_st = st;
            snprintf(pl->fail_msg, sizeof pl->fail_msg, "%s", dcx_last_error());
        }
        pthread_mutex_unlock(&pl->mu);
        if (tick) tick(tick_ctx, pl);
    }
}

static void *worker(void *arg)
{
    work(arg, NULL, NULL);
    return NULL;
}

int64_t dcx__pool_done(const void *handle)
{
    pool *pl = (pool *)handle;
    pthread_mutex_lock(&pl->mu);
    int64_t d = pl->done;
    pthread_mutex_unlock(&pl->mu);
    return d;
}

dcx_status dcx__parallel_tasks(int64_t ntasks, int threads, dcx__task_fn fn, void *ctx, dcx__tick_fn tick,
                               void *tick_ctx)
{
    if (ntasks <= 0) return DCX_OK;
    pool pl;
    memset(&pl, 0, sizeof pl);
    pl.ntasks = ntasks;
    pl.fn = fn;
    pl.ctx = ctx;
    pl.fail_task = ntasks;
    if (pthread_mutex_init(&pl.mu, NULL) != 0)
        return dcx_set_error(DCX_ERR_NOMEM, "could not create a mutex for the worker threads");
    int blas_old = dcx__blas_set_threads_raw(1);
    int nthr = threads < 1 ? 1 : threads;
    if (nthr > ntasks) nthr = (int)ntasks;
    if (nthr > 64) nthr = 64;
    pthread_t tid[64];
    int started = 0;
    for (int i = 1; i < nthr; i++) {
        if (pthread_create(&tid[started], NULL, worker, &pl) != 0) break; /* fewer threads: same results */
        started++;
    }
    work(&pl, tick, tick_ctx); /* the calling thread works too */
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    if (tick) tick(tick_ctx, &pl);
    dcx__blas_set_threads_raw(blas_old);
    pthread_mutex_destroy(&pl.mu);
    if (pl.fail_task < ntasks) return dcx_set_error(pl.fail_st, "%s", pl.fail_msg);
    return DCX_OK;
}

/* ---- two streams of blocks (see obs_internal.h) ---- */

typedef struct streams {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t next;  /* the next block to read */
    int64_t nread; /* rows read so far */
    int done;      /* the blocks are used up, or something failed */
    dcx_status st;
    char msg[512];
    dcx__stream_read_fn read;
    dcx__stream_work_fn work;
    void *ctx;
} streams;

static void streams_fail(streams *ss, dcx_status st)
{
    if (ss->st == DCX_OK) {
        ss->st = st;
        snprintf(ss->msg, sizeof ss->msg, "%s", dcx_last_error());
    }
    ss->done = 1;
}

/* Read block b for stream k (the caller holds mu): its rows, 0 at the end
 * or on failure. */
static int64_t streams_read(streams *ss, int k, int64_t b)
{
    int64_t rows = 0;
    dcx_status st = ss->read(ss->ctx, k, b, &rows);
    ss->next++;
    if (st != DCX_OK) {
        streams_fail(ss, st);
        return 0;
    }
    if (rows == 0) ss->done = 1;
    ss->nread += rows;
    return rows;
}

static void streams_work(streams *ss, int k, int64_t b, int64_t rows, int64_t nread)
{
    dcx_status st = ss->work(ss->ctx, k, b, rows, nread);
    if (st != DCX_OK) {
        pthread_mutex_lock(&ss->mu);
        streams_fail(ss, st);
        pthread_cond_broadcast(&ss->cv); /* the other stream may be waiting for its turn */
        pthread_mutex_unlock(&ss->mu);
    }
}

/* Stream k on its own thread: wait for its turn, read, then work while the
 * other stream reads. */
static void stream_loop(streams *ss, int k)
{
    for (;;) {
        pthread_mutex_lock(&ss->mu);
        while (!ss->done && ss->next % 2 != k) pthread_cond_wait(&ss->cv, &ss->mu);
        const int64_t b = ss->next;
        const int64_t rows = ss->done ? 0 : streams_read(ss, k, b), nread = ss->nread;
        pthread_cond_broadcast(&ss->cv);
        pthread_mutex_unlock(&ss->mu);
        if (rows == 0) return;
        streams_work(ss, k, b, rows, nread);
    }
}

static void *stream1_main(void *arg)
{
    stream_loop(arg, 1);
    return NULL;
}

dcx_status dcx__two_streams(int threads, dcx__stream_read_fn read, dcx__stream_work_fn work, void *ctx)
{
    streams ss;
    memset(&ss, 0, sizeof ss);
    ss.read = read;
    ss.work = work;
    ss.ctx = ctx;
    if (pthread_mutex_init(&ss.mu, NULL) != 0)
        return dcx_set_error(DCX_ERR_NOMEM, "could not create a mutex for the worker threads");
    if (pthread_cond_init(&ss.cv, NULL) != 0) {
        pthread_mutex_destroy(&ss.mu);
        return dcx_set_error(DCX_ERR_NOMEM, "could not create a condition variable for the worker threads");
    }
    const int blas_old = dcx__blas_set_threads_raw(1);
    pthread_t th;
    if (threads >= 2 && pthread_create(&th, NULL, stream1_main, &ss) == 0) {
        stream_loop(&ss, 0);
        pthread_join(th, NULL);
    } else { /* one thread: the same blocks to the same streams, in turn */
        while (!ss.done) {
            const int64_t b = ss.next;
            const int k = (int)(b % 2);
            const int64_t rows = streams_read(&ss, k, b);
            if (rows == 0) break;
            streams_work(&ss, k, b, rows, ss.nread);
        }
    }
    dcx__blas_set_threads_raw(blas_old);
    pthread_cond_destroy(&ss.cv);
    pthread_mutex_destroy(&ss.mu);
    if (ss.st != DCX_OK) return dcx_set_error(ss.st, "%s", ss.msg);
    return DCX_OK;
}
