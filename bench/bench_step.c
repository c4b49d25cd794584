/* bench_step.c — time of one training step (forward, loss, backward, SGD
 * momentum update) of a network on a random batch, split by stage: the
 * microbenchmark behind the training section of docs/benchmarks.md.
 *   bench_step ARCH THREADS [BATCH=128] [STEPS=60]
 * Build (from the repository root, after make):
 *   cc -O2 -Iinclude bench/bench_step.c build/libdeepcx.a \
 *      $(pkg-config --libs lapacke openblas libcjson zlib) -lpthread -lm -o bench_step
 * Prints, per stage, the median wall and process-CPU milliseconds over STEPS
 * steps (after 5 warm-up steps), and samples/s of the whole step. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deepcx/deepcx.h"

static double clk(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define CHECK(x)                                                  \
    do {                                                          \
        if ((x) != DCX_OK) {                                      \
            fprintf(stderr, "bench_step: %s\n", dcx_last_error()); \
            return 1;                                             \
        }                                                         \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_step ARCH THREADS [BATCH] [STEPS]\n");
        return 2;
    }
    int64_t batch = argc > 3 ? atoll(argv[3]) : 128;
    int steps = argc > 4 ? atoi(argv[4]) : 60;
    dcx_set_threads(atoi(argv[2]));
    dcx_net *net;
    CHECK(dcx_net_create(argv[1], 1, 28, 28, 10, &net));
    dcx_rng r;
    dcx_rng_seed(&r, 1);
    dcx_net_init(net, &r);
    dcx_optim_params op;
    dcx_optim_params_default(&op, DCX_OPT_SGD);
    dcx_optim *opt;
    CHECK(dcx_optim_create(&op, dcx_net_num_params(net), &opt));
    float *x = malloc((size_t)(batch * 784) * sizeof *x);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    for (int64_t i = 0; i < batch * 784; i++) x[i] = (float)(dcx_rng_uniform(&r) * 2 - 1);
    for (int64_t i = 0; i < batch; i++) y[i] = (int32_t)(i % 10);
    enum { NST = 4 };
    const char *names[NST] = {"forward", "loss", "backward", "update"};
    double *w[NST + 1], *c[NST + 1];
    for (int s = 0; s <= NST; s++) {
        w[s] = malloc((size_t)steps * sizeof(double));
        c[s] = malloc((size_t)steps * sizeof(double));
    }
    for (int it = -5; it < steps; it++) {
        double tw[NST + 1], tc[NST + 1];
        double loss;
        tw[0] = clk(CLOCK_MONOTONIC), tc[0] = clk(CLOCK_PROCESS_CPUTIME_ID);
        CHECK(dcx_net_forward(net, x, batch));
        tw[1] = clk(CLOCK_MONOTONIC), tc[1] = clk(CLOCK_PROCESS_CPUTIME_ID);
        CHECK(dcx_net_loss(net, y, &loss, NULL));
        tw[2] = clk(CLOCK_MONOTONIC), tc[2] = clk(CLOCK_PROCESS_CPUTIME_ID);
        CHECK(dcx_net_backward(net));
        tw[3] = clk(CLOCK_MONOTONIC), tc[3] = clk(CLOCK_PROCESS_CPUTIME_ID);
        dcx_optim_step(opt, dcx_net_params(net), dcx_net_grads(net), 0.01);
        tw[4] = clk(CLOCK_MONOTONIC), tc[4] = clk(CLOCK_PROCESS_CPUTIME_ID);
        if (it < 0) continue;
        for (int s = 0; s < NST; s++) {
            w[s][it] = 1e3 * (tw[s + 1] - tw[s]);
            c[s][it] = 1e3 * (tc[s + 1] - tc[s]);
        }
        w[NST][it] = 1e3 * (tw[NST] - tw[0]);
        c[NST][it] = 1e3 * (tc[NST] - tc[0]);
    }
    for (int s = 0; s < NST; s++)
        printf("%-9s wall %7.3f ms  cpu %7.3f ms\n", names[s], median(w[s], steps), median(c[s], steps));
    double mw = median(w[NST], steps), mc = median(c[NST], steps);
    printf("step      wall %7.3f ms  cpu %7.3f ms   samples/s %.0f  samples/CPU-s %.0f\n", mw, mc, 1e3 * batch / mw,
           1e3 * batch / mc);
    return 0;
}
