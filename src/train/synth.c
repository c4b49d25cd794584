/* synth.c — synthetic classification data with known structure.
 *
 * gmm:classes=K,d=D,n=N[,sep=S]  Gaussian mixture: class means
 *   μ_k ~ N(0, S²/(2D) · I_D) (so E‖μ_j − μ_k‖² = S²), labels uniform,
 *   x = μ_y + ε with ε ~ N(0, I_D). Defaults K=10, D=20, N=10000, S=3.
 *
 * manifold:d=d,D=D,classes=K,n=N  hidden-manifold model: a latent
 *   z ~ N(0, I_d) mapped into D dimensions by a random 2-layer ReLU network
 *   x = W2 · relu(W1 z + b1), W1 (H, d) ~ N(0, 1/d), b1 ~ N(0, 1),
 *   W2 (D, H) ~ N(0, 1/H), H = 2D; labels from a random teacher on the
 *   latent: y = argmax_k (B · relu(A z + a))_k, A (T, d) ~ N(0, 1/d),
 *   a ~ N(0, 1), B (K, T) ~ N(0, 1/T), T = 4K. The data lie on a
 *   d-dimensional manifold: intrinsic dimension d (dataset.intrinsic_dim).
 *   Defaults d=4, D=100, K=10, N=20000.
 *
 * Both draw from their own RNG stream of the seed; the test split is a
 * seeded 1/6 (dcx__split). */
#include <math.h>
#include <string.h>

#include "train_impl.h"

typedef struct {
    const char *key;
    double *val;
    double lo, hi;
    int integer;
} kv;

/* Parse "k=v,k=v" against a table; errors name the bad part. */
static dcx_status parse_args(const char *spec, const char *args, kv *t, int nt)
{
    char part[256];
    const char *p = args;
    char keys[128] = "";
    for (int i = 0; i < nt; i++) {
        strcat(keys, i ? ", " : "");
        strcat(keys, t[i].key);
    }
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof part)
            return dcx_set_error(DCX_ERR_ARG, "data '%s': empty or overlong item (expected key=value)", spec);
        memcpy(part, p, len);
        part[len] = 0;
        p = e ? e + 1 : p + len;
        char *eq = strchr(part, '=');
        if (!eq) return dcx_set_error(DCX_ERR_ARG, "data '%s': '%s' is not key=value", spec, part);
        *eq = 0;
        int found = 0;
        for (int i = 0; i < nt; i++) {
            if (strcmp(part, t[i].key)) continue;
            char *end;
            double v = strtod(eq + 1, &end);
            if (end == eq + 1 || *end || !(v >= t[i].lo && v <= t[i].hi) || (t[i].integer && v != floor(v)))
                return dcx_set_error(DCX_ERR_ARG, "data '%s': bad value '%s' for %s (expected %s in [%g, %g])", spec,
                                     eq + 1, part, t[i].integer ? "an integer" : "a number", t[i].lo, t[i].hi);
            *t[i].val = v;
            found = 1;
        }
        if (!found) return dcx_set_error(DCX_ERR_ARG, "data '%s': unknown key '%s' (expected %s)", spec, part, keys);
        if (e && !*p) return dcx_set_error(DCX_ERR_ARG, "data '%s': trailing comma", spec);
    }
    return DCX_OK;
}

dcx_status dcx__synth_gmm(const char *spec, const char *args, uint64_t seed, dcx_dataset *d)
{
    dcx_status st = DCX_OK;
    double K = 10, D = 20, N = 10000, S = 3;
    kv t[] = {{"classes", &K, 2, 1000, 1}, {"d", &D, 1, 100000, 1}, {"n", &N, 12, 1e8, 1}, {"sep", &S, 0, 1e6, 0}};
    float *x = NULL, *mu = NULL;
    int32_t *y = NULL;
    DCX_TRY(parse_args(spec, args, t, 4));
    int64_t k = (int64_t)K, dim = (int64_t)D, n = (int64_t)N, total;
    if (!dcx__mul_ok(n, dim, &total) || total > ((int64_t)1 << 31))
        DCX_FAIL(DCX_ERR_ARG, "data '%s': n*d too large", spec);
    dcx_rng r;
    dcx_rng_seed_stream(&r, seed, 0x6a11);
    DCX_ALLOC(mu, k * dim);
    DCX_ALLOC(x, total);
    DCX_ALLOC(y, n);
    double s = S / sqrt(2.0 * (double)dim);
    for (int64_t i = 0; i < k * dim; i++) mu[i] = (float)(s * dcx_rng_normal(&r));
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)dcx_rng_below(&r, (uint64_t)k);
        for (int64_t j = 0; j < dim; j++) x[i * dim + j] = (float)(mu[y[i] * dim + j] + dcx_rng_normal(&r));
    }
    free(mu);
    d->c = d->h = 1;
    d->w = d->dim = dim;
    d->classes = k;
    return dcx__split(d, x, y, n, seed);
fail:
    free(mu);
    free(x);
    free(y);
    return st;
}

dcx_status dcx__synth_manifold(const char *spec, const char *args, uint64_t seed, dcx_dataset *d)
{
    dcx_status st = DCX_OK;
    double dl = 4, DD = 100, K = 10, N = 20000;
    kv t[] = {{"d", &dl, 1, 1000, 1}, {"D", &DD, 1, 100000, 1}, {"classes", &K, 2, 1000, 1}, {"n", &N, 12, 1e8, 1}};
    double *W1 = NULL, *b1 = NULL, *W2 = NULL, *A = NULL, *a = NULL, *B = NULL, *z = NULL, *h = NULL, *f = NULL;
    float *x = NULL;
    int32_t *y = NULL;
    DCX_TRY(parse_args(spec, args, t, 4));
    int64_t ld = (int64_t)dl, D = (int64_t)DD, k = (int64_t)K, n = (int64_t)N, H = 2 * D, T = 4 * k, total;
    if (!dcx__mul_ok(n, D, &total) || total > ((int64_t)1 << 31))
        DCX_FAIL(DCX_ERR_ARG, "data '%s': n*D too large", spec);
    dcx_rng r;
    dcx_rng_seed_stream(&r, seed, 0x3a91f0);
    DCX_ALLOC(W1, H * ld);
    DCX_ALLOC(b1, H);
    DCX_ALLOC(W2, D * H);
    DCX_ALLOC(A, T * ld);
    DCX_ALLOC(a, T);
    DCX_ALLOC(B, k * T);
    DCX_ALLOC(z, ld);
    DCX_ALLOC(h, H);
    DCX_ALLOC(f, T);
    DCX_ALLOC(x, total);
    DCX_ALLOC(y, n);
    for (int64_t i = 0; i < H * ld; i++) W1[i] = dcx_rng_normal(&r) / sqrt((double)ld);
    for (int64_t i = 0; i < H; i++) b1[i] = dcx_rng_normal(&r);
    for (int64_t i = 0; i < D * H; i++) W2[i] = dcx_rng_normal(&r) / sqrt((double)H);
    for (int64_t i = 0; i < T * ld; i++) A[i] = dcx_rng_normal(&r) / sqrt((double)ld);
    for (int64_t i = 0; i < T; i++) a[i] = dcx_rng_normal(&r);
    for (int64_t i = 0; i < k * T; i++) B[i] = dcx_rng_normal(&r) / sqrt((double)T);
    for (int64_t s = 0; s < n; s++) {
        for (int64_t j = 0; j < ld; j++) z[j] = dcx_rng_normal(&r);
        for (int64_t i = 0; i < H; i++) {
            double v = b1[i];
            for (int64_t j = 0; j < ld; j++) v += W1[i * ld + j] * z[j];
            h[i] = v > 0 ? v : 0;
        }
        for (int64_t o = 0; o < D; o++) {
            double v = 0;
            for (int64_t i = 0; i < H; i++) v += W2[o * H + i] * h[i];
            x[s * D + o] = (float)v;
        }
        for (int64_t i = 0; i < T; i++) {
            double v = a[i];
            for (int64_t j = 0; j < ld; j++) v += A[i * ld + j] * z[j];
            f[i] = v > 0 ? v : 0;
        }
        int64_t best = 0;
        double bv = -INFINITY;
        for (int64_t c = 0; c < k; c++) {
            double v = 0;
            for (int64_t i = 0; i < T; i++) v += B[c * T + i] * f[i];
            if (v > bv) {
                bv = v;
                best = c;
            }
        }
        y[s] = (int32_t)best;
    }
    d->c = d->h = 1;
    d->w = d->dim = D;
    d->classes = k;
    d->intrinsic_dim = ld;
    st = dcx__split(d, x, y, n, seed);
    x = NULL;
    y = NULL;
fail:
    free(W1); free(b1); free(W2); free(A); free(a); free(B); free(z); free(h); free(f);
    free(x);
    free(y);
    return st;
}
