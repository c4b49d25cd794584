/* cifar.c — CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html):
 * data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin, each a
 * sequence of 3073-byte records: 1 label byte (0..9) then 3072 pixel bytes,
 * 1024 red, 1024 green, 1024 blue, row-major 32x32 (that is CHW). Pixels are
 * scaled to [0, 1]. */
#include <string.h>

#include "train_impl.h"

#define REC 3073

static dcx_status read_batches(const char *dir, const char *const *names, int nfiles, float **x, int32_t **y,
                               int64_t *n)
{
    dcx_status st = DCX_OK;
    unsigned char *raw[5] = {0};
    size_t len[5] = {0};
    char path[4200];
    int64_t total = 0;
    *x = NULL;
    *y = NULL;
    for (int f = 0; f < nfiles; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        DCX_TRY(dcx__read_file(path, &raw[f], &len[f]));
        if (len[f] == 0 || len[f] % REC)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: size %zu is not a multiple of the %d-byte CIFAR-10 record", path, len[f], REC);
        total += (int64_t)(len[f] / REC);
    }
    DCX_ALLOC(*x, total * 3072);
    DCX_ALLOC(*y, total);
    int64_t k = 0;
    for (int f = 0; f < nfiles; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        for (size_t r = 0; r < len[f] / REC; r++, k++) {
            const unsigned char *rec = raw[f] + r * REC;
            if (rec[0] > 9)
                DCX_FAIL(DCX_ERR_FORMAT, "%s: record %zu: label %d out of range [0, 10)", path, r, rec[0]);
            (*y)[k] = rec[0];
            for (int i = 0; i < 3072; i++) (*x)[k * 3072 + i] = (float)rec[1 + i] / 255.0f;
        }
    }
    *n = total;
fail:
    for (int f = 0; f < 5; f++) free(raw[f]);
    if (st != DCX_OK) {
        free(*x);
        free(*y);
        *x = NULL;
        *y = NULL;
    }
    return st;
}

dcx_status dcx__cifar_load(const char *dir, dcx_dataset *d)
{
    dcx_status st = DCX_OK;
    static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const test[] = {"test_batch.bin"};
    DCX_TRY(read_batches(dir, train, 5, &d->x_train, &d->y_train, &d->n_train));
    DCX_TRY(read_batches(dir, test, 1, &d->x_test, &d->y_test, &d->n_test));
    d->c = 3;
    d->h = d->w = 32;
    d->classes = 10;
fail:
    return st;
}
