/* bench_cov.c — throughput of the covariance step of `deepcx dim` and the
 * machine's dgemm peak, for bench/bench_dim.py.
 *   bench_cov FILE THREADS   prints: cov_file_s cov_mem_s n d dgemm_gflops
 * cov_file_s: dcx_covariance streaming from FILE (read + convert + syrk);
 * cov_mem_s: the same from an in-memory float32 copy (syrk + convert);
 * dgemm_gflops: best of 3 square dgemm (n = 2048), 2n³ flops. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deepcx/deepcx.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_cov FILE THREADS\n");
        return 2;
    }
    dcx_set_threads(atoi(argv[2]));
    dcx_source *s = NULL;
    dcx_matrix *cov = NULL, *x = NULL;
    int64_t n;
    double t0 = now();
    if (dcx_source_open(argv[1], NULL, &s) || dcx_covariance(s, 0, NULL, NULL, &cov, NULL, &n)) {
        fprintf(stderr, "bench_cov: %s\n", dcx_last_error());
        return 1;
    }
    double t_file = now() - t0;
    int64_t d = cov->cols;
    dcx_matrix_free(cov);
    dcx_source_rewind(s);
    if (dcx_source_read_all(s, DCX_F32, &x)) return 1;
    dcx_source_free(s);
    double t_mem = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        dcx_source *m = NULL;
        dcx_source_from_matrix(x, "mem", &m);
        t0 = now();
        if (dcx_covariance(m, 0, NULL, NULL, &cov, NULL, &n)) return 1;
        double t = now() - t0;
        if (t < t_mem) t_mem = t;
        dcx_matrix_free(cov);
        dcx_source_free(m);
    }
    dcx_matrix_free(x);
    int g = 2048;
    double *a = malloc(sizeof(double) * g * g), *b = malloc(sizeof(double) * g * g),
           *c = malloc(sizeof(double) * g * g);
    for (long i = 0; i < (long)g * g; i++) a[i] = b[i] = 1.0 / (1 + i % 7);
    double best = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g, g, g, 1.0, a, g, b, g, 0.0, c, g);
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("%.6f %.6f %lld %lld %.3f\n", t_file, t_mem, (long long)n, (long long)d, 2.0 * g * g * (double)g / best / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
