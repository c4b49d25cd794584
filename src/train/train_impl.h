/* train_impl.h — private pieces shared by src/train/: the trainer's state,
 * little-endian byte buffers for the binary files, the atomic writer and the
 * data-set helpers. Not installed. */
#ifndef DEEPCX_TRAIN_IMPL_H
#define DEEPCX_TRAIN_IMPL_H

#include "../internal.h"

struct dcx_trainer {
    dcx_train_config cfg;
    dcx_dataset *data;        /* borrowed */
    dcx_standardizer *std;
    dcx_net *net;
    dcx_optim *opt;
    dcx_rng rng;              /* shuffling; the only training randomness after init */
    int64_t *perm;            /* (n_train) order of the epoch in progress */
    int64_t epoch;            /* 0-based epoch in progress */
    int64_t step_in_epoch;    /* updates done in that epoch */
    int64_t step;             /* global updates done */
    double ep_loss_sum;       /* Σ batch loss · batch size in this epoch */
    int64_t ep_correct, ep_seen;
    double elapsed;           /* training seconds over all sessions */
    int64_t metrics_len;      /* bytes of metrics.jsonl covered by the state */
    double last_train_loss, last_train_acc, last_test_loss, last_test_acc;
    float *xb;                /* (batch, dim) gathered minibatch */
    int32_t *yb;
};

/* ---- growable little-endian byte buffer ---- */
typedef struct dcx__buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} dcx__buf;
void dcx__buf_put(dcx__buf *b, const void *data, size_t n);
void dcx__buf_u32(dcx__buf *b, uint32_t v);
void dcx__buf_u64(dcx__buf *b, uint64_t v);
void dcx__buf_f64(dcx__buf *b, double v);
void dcx__buf_f32s(dcx__buf *b, const float *v, int64_t n);
void dcx__buf_free(dcx__buf *b);

/* Reading side: a cursor over a byte array; every read checks the bounds. */
typedef struct dcx__cur {
    const unsigned char *p;
    size_t len, pos;
    int short_read; /* set when a read ran past the end */
} dcx__cur;
uint32_t dcx__cur_u32(dcx__cur *c);
uint64_t dcx__cur_u64(dcx__cur *c);
double dcx__cur_f64(dcx__cur *c);
int dcx__cur_bytes(dcx__cur *c, void *out, size_t n);
int dcx__cur_f32s(dcx__cur *c, float *out, int64_t n);

/* Whole file into memory (malloc'd, caller frees). DCX_ERR_IO naming it. */
dcx_status dcx__read_file(const char *path, unsigned char **data, size_t *len);
/* Write buf to path atomically: path.tmp.PID, fsync, rename, fsync dir. */
dcx_status dcx__write_atomic(const char *path, const void *buf, size_t len);

/* Synthetic data sets (synth.c) and CIFAR-10 (cifar.c). */
dcx_status dcx__synth_gmm(const char *spec, const char *args, uint64_t seed, dcx_dataset *d);
dcx_status dcx__synth_manifold(const char *spec, const char *args, uint64_t seed, dcx_dataset *d);
dcx_status dcx__cifar_load(const char *dir, dcx_dataset *d);
/* Seeded split of all samples x (n, dim), y into train and test (1/6). Takes
 * ownership of x and y. */
dcx_status dcx__split(dcx_dataset *d, float *x, int32_t *y, int64_t n, uint64_t seed);

#endif
