/* data.c — labelled data sets for training from a spec string: Fashion-MNIST
 * (Debian's dataset-fashion-mnist), any MNIST-format IDX directory, CIFAR-10
 * binary batches, CSV (label, features...) and the synthetic generators of
 * synth.c. Pixels are scaled to [0, 1]; standardisation is applied later by
 * the trainer with statistics of the train split. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "train_impl.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

void dcx_data_free(dcx_dataset *d)
{
    if (!d) return;
    free(d->x_train);
    free(d->y_train);
    free(d->x_test);
    free(d->y_test);
    free(d);
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Find DIR/<stem> among the usual MNIST names, gzip'd or raw. */
static int find_idx(const char *dir, const char *kind, const char *which, char *out, size_t outsz)
{
    const char *fmt[] = {"%s/%s-%s-ubyte", "%s/%s-%s-ubyte.gz", "%s/%s.%s-ubyte", "%s/%s.%s-ubyte.gz"};
    for (int i = 0; i < 4; i++) {
        snprintf(out, outsz, fmt[i], dir, kind, which);
        if (file_exists(out)) return 1;
    }
    snprintf(out, outsz, fmt[1], dir, kind, which);
    return 0;
}

/* Read an IDX image file and its label file; labels must lie in
 * [0, max_classes). */
static dcx_status load_idx_pair(const char *img, const char *lab, int64_t *c, int64_t *h, int64_t *w, float **x,
                                int32_t **y, int64_t *n, int64_t max_classes, int64_t *max_label)
{
    dcx_status st = DCX_OK;
    dcx_source *src = NULL;
    dcx_matrix *mx = NULL, *my = NULL;
    int64_t shape[DCX_MAX_NDIM];
    *x = NULL;
    *y = NULL;
    DCX_TRY(dcx_source_open(img, NULL, &src));
    int nd = dcx_source_shape(src, shape);
    if (nd == 3) {
        *c = 1;
        *h = shape[1];
        *w = shape[2];
    } else if (nd == 4) {
        *c = shape[1];
        *h = shape[2];
        *w = shape[3];
    } else {
        DCX_FAIL(DCX_ERR_FORMAT, "%s: expected an image file (3-D or 4-D IDX), got %d dimensions", img, nd);
    }
    DCX_TRY(dcx_source_read_all(src, DCX_F32, &mx));
    dcx_source_free(src);
    src = NULL;
    DCX_TRY(dcx_read_matrix(lab, NULL, DCX_F64, &my));
    if (my->cols != 1) DCX_FAIL(DCX_ERR_FORMAT, "%s: expected a 1-D label file, got %lld columns", lab, (long long)my->cols);
    if (my->rows != mx->rows)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: %lld labels for %lld images in %s", lab, (long long)my->rows, (long long)mx->rows, img);
    DCX_ALLOC(*y, my->rows + 1);
    for (int64_t i = 0; i < my->rows; i++) {
        double v = ((double *)my->data)[i];
        if (!(v >= 0 && v < (double)max_classes) || v != floor(v))
            DCX_FAIL(DCX_ERR_FORMAT, "%s: label %g of sample %lld out of range [0, %lld)", lab, v, (long long)i,
                     (long long)max_classes);
        (*y)[i] = (int32_t)v;
        if ((*y)[i] > *max_label) *max_label = (*y)[i];
    }
    *n = mx->rows;
    float *px = mx->data;
    for (int64_t i = 0; i < mx->rows * mx->cols; i++) px[i] /= 255.0f;
    *x = px;
    mx->owns = 0;
    dcx_matrix_free(mx);
    dcx_matrix_free(my);
    return DCX_OK;
fail:
    dcx_source_free(src);
    dcx_matrix_free(mx);
    dcx_matrix_free(my);
    free(*y);
    *y = NULL;
    return st;
}

static dcx_status load_idx_dir(const char *dir, int fashion, dcx_dataset *d)
{
    dcx_status st = DCX_OK;
    char ti[4200], tl[4200], vi[4200], vl[4200];
    const char *names[4] = {ti, tl, vi, vl};
    int ok[4];
    ok[0] = find_idx(dir, "train", "images-idx3", ti, sizeof ti);
    ok[1] = find_idx(dir, "train", "labels-idx1", tl, sizeof tl);
    ok[2] = find_idx(dir, "t10k", "images-idx3", vi, sizeof vi);
    ok[3] = find_idx(dir, "t10k", "labels-idx1", vl, sizeof vl);
    for (int i = 0; i < 4; i++)
        if (!ok[i]) {
            if (fashion)
                DCX_FAIL(DCX_ERR_IO, "fashion-mnist: %s not found (apt-get install dataset-fashion-mnist)", names[i]);
            DCX_FAIL(DCX_ERR_IO, "%s: not found (an IDX directory needs train-images-idx3-ubyte, "
                     "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz)", names[i]);
        }
    int64_t maxc = fashion ? 10 : 256, maxl = 0, c2, h2, w2;
    DCX_TRY(load_idx_pair(ti, tl, &d->c, &d->h, &d->w, &d->x_train, &d->y_train, &d->n_train, maxc, &maxl));
    int64_t classes = fashion ? 10 : maxl + 1;
    int64_t maxl2 = 0;
    DCX_TRY(load_idx_pair(vi, vl, &c2, &h2, &w2, &d->x_test, &d->y_test, &d->n_test, classes, &maxl2));
    if (c2 != d->c || h2 != d->h || w2 != d->w)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: images are %lldx%lldx%lld but the training images are %lldx%lldx%lld", vi,
                 (long long)c2, (long long)h2, (long long)w2, (long long)d->c, (long long)d->h, (long long)d->w);
    if (classes < 2) DCX_FAIL(DCX_ERR_FORMAT, "%s: fewer than 2 classes", tl);
    d->classes = classes;
fail:
    return st;
}

dcx_status dcx__split(dcx_dataset *d, float *x, int32_t *y, int64_t n, uint64_t seed)
{
    dcx_status st = DCX_OK;
    int64_t *idx = NULL;
    int64_t dim = d->dim;
    if (n < 12) DCX_FAIL(DCX_ERR_DEGENERATE, "%s: %lld samples: too few to split into train and test", d->spec,
                         (long long)n);
    DCX_ALLOC(idx, n);
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    dcx_rng r;
    dcx_rng_seed_stream(&r, seed, 0x5b1170);
    dcx_rng_shuffle_i64(&r, idx, n);
    d->n_test = n / 6;
    d->n_train = n - d->n_test;
    DCX_ALLOC(d->x_train, d->n_train * dim);
    DCX_ALLOC(d->y_train, d->n_train);
    DCX_ALLOC(d->x_test, d->n_test * dim);
    DCX_ALLOC(d->y_test, d->n_test);
    for (int64_t i = 0; i < n; i++) {
        int64_t src = idx[i];
        int test = i < d->n_test;
        int64_t j = test ? i : i - d->n_test;
        memcpy((test ? d->x_test : d->x_train) + j * dim, x + src * dim, (size_t)dim * sizeof(float));
        (test ? d->y_test : d->y_train)[j] = y[src];
    }
fail:
    free(idx);
    free(x);
    free(y);
    return st;
}

static dcx_status load_csv(const char *path, uint64_t seed, dcx_dataset *d)
{
    dcx_status st = DCX_OK;
    dcx_matrix *m = NULL;
    float *x = NULL;
    int32_t *y = NULL;
    DCX_TRY(dcx_read_matrix(path, NULL, DCX_F64, &m));
    if (m->cols < 2) DCX_FAIL(DCX_ERR_FORMAT, "%s: need a label column and at least one feature", path);
    int64_t n = m->rows, dim = m->cols - 1, maxl = 0;
    DCX_ALLOC(x, n * dim);
    DCX_ALLOC(y, n);
    for (int64_t i = 0; i < n; i++) {
        const double *row = dcx_matrix_row(m, i);
        if (!(row[0] >= 0 && row[0] < 1e6) || row[0] != floor(row[0]))
            DCX_FAIL(DCX_ERR_FORMAT, "%s: row %lld: label %g is not an integer in [0, 1000000)", path, (long long)i + 1,
                     row[0]);
        y[i] = (int32_t)row[0];
        if (y[i] > maxl) maxl = y[i];
        for (int64_t j = 0; j < dim; j++) x[i * dim + j] = (float)row[j + 1];
    }
    if (maxl < 1) DCX_FAIL(DCX_ERR_FORMAT, "%s: all labels are %d: need at least 2 classes", path, (int)maxl);
    d->c = d->h = 1;
    d->w = dim;
    d->dim = dim;
    d->classes = maxl + 1;
    dcx_matrix_free(m);
    m = NULL;
    st = dcx__split(d, x, y, n, seed); /* takes x, y */
    return st;
fail:
    dcx_matrix_free(m);
    free(x);
    free(y);
    return st;
}

dcx_status dcx_data_load(const char *spec, uint64_t seed, dcx_dataset **out)
{
    dcx_status st = DCX_OK;
    dcx_dataset *d = NULL;
    *out = NULL;
    if (!spec || !*spec) return dcx_set_error(DCX_ERR_ARG, "data: empty data spec");
    if (strlen(spec) >= sizeof d->spec) return dcx_set_error(DCX_ERR_ARG, "data: spec too long");
    DCX_ALLOC(d, 1);
    strcpy(d->spec, spec);
    const char *colon = strchr(spec, ':');
    size_t kl = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : "";
#define IS(k) (kl == strlen(k) && !strncmp(spec, k, kl))
    if (IS("fashion-mnist")) {
        if (colon) DCX_FAIL(DCX_ERR_ARG, "data '%s': fashion-mnist takes no argument", spec);
        DCX_TRY(load_idx_dir(FASHION_DIR, 1, d));
    } else if (IS("idx")) {
        if (!*arg) DCX_FAIL(DCX_ERR_ARG, "data '%s': expected idx:DIR", spec);
        DCX_TRY(load_idx_dir(arg, 0, d));
    } else if (IS("cifar10")) {
        if (!*arg) DCX_FAIL(DCX_ERR_ARG, "data '%s': expected cifar10:DIR", spec);
        DCX_TRY(dcx__cifar_load(arg, d));
    } else if (IS("csv")) {
        if (!*arg) DCX_FAIL(DCX_ERR_ARG, "data '%s': expected csv:FILE", spec);
        DCX_TRY(load_csv(arg, seed, d));
    } else if (IS("gmm")) {
        DCX_TRY(dcx__synth_gmm(spec, arg, seed, d));
    } else if (IS("manifold")) {
        DCX_TRY(dcx__synth_manifold(spec, arg, seed, d));
    } else {
        DCX_FAIL(DCX_ERR_ARG,
                 "data '%s': unknown source '%.*s' (expected fashion-mnist, idx:DIR, cifar10:DIR, csv:FILE, gmm:..., "
                 "manifold:...)",
                 spec, (int)kl, spec);
    }
#undef IS
    d->dim = d->c * d->h * d->w;
    if (d->n_train < 1 || d->n_test < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "data '%s': empty train or test split", spec);
    *out = d;
    return DCX_OK;
fail:
    dcx_data_free(d);
    return st;
}
