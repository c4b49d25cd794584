/* deepcx/train.h — training networks of nn.h on CPU: data sources,
 * standardisation, optimizers, the training loop with a per-step hook, run
 * directories with exact checkpoints and resume, and the model file.
 * docs/training.md describes the data specs, the run directory and the
 * model format byte by byte. */
#ifndef DEEPCX_TRAIN_H
#define DEEPCX_TRAIN_H

#include <stdint.h>

#include "core.h"
#include "nn.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================= Data sets ======================= */

/* A labelled data set held in memory, train and test splits. */
typedef struct dcx_dataset {
    char spec[512];          /* the spec it was loaded from */
    int64_t c, h, w;         /* shape of one sample (1, 1, D for vectors) */
    int64_t dim;             /* c*h*w features per sample */
    int64_t classes;         /* labels are in [0, classes) */
    int64_t n_train, n_test;
    float *x_train;          /* (n_train, dim), NCHW per sample */
    int32_t *y_train;        /* (n_train) */
    float *x_test;           /* (n_test, dim) */
    int32_t *y_test;         /* (n_test) */
    int64_t intrinsic_dim;   /* synthetic "manifold": its latent d; else 0 */
} dcx_dataset;

/* Load a data set from a spec (see docs/training.md):
 *   fashion-mnist               /usr/share/datasets/fashion-mnist (Debian
 *                               dataset-fashion-mnist), pixels / 255
 *   idx:DIR                     MNIST-format files in DIR (gzip'd or raw):
 *                               train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *                               t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
 *                               (each optionally .gz), pixels / 255
 *   cifar10:DIR                 CIFAR-10 binary: data_batch_1..5.bin, test_batch.bin
 *                               (1 label byte + 3072 bytes CHW), pixels / 255
 *   csv:FILE                    one sample per line: label, features...
 *   gmm:classes=10,d=20,n=10000[,sep=3]   Gaussian mixture: class means
 *                               N(0, sep²/d · I), unit-variance isotropic noise
 *   manifold:d=4,D=100,classes=10,n=20000  hidden-manifold model (see docs)
 * The held-out test split of csv and synthetic data is a seeded random 1/6
 * of the samples; IDX and CIFAR use their own test files. `seed` drives the
 * synthetic generators and the split. The caller owns *out (dcx_data_free).
 * Errors: DCX_ERR_ARG (unknown or malformed spec, naming the bad part),
 * DCX_ERR_IO (missing file; for fashion-mnist the message says
 * "apt-get install dataset-fashion-mnist"), DCX_ERR_FORMAT (corrupt or
 * inconsistent files, a label out of range: the message names the file). */
dcx_status dcx_data_load(const char *spec, uint64_t seed, dcx_dataset **out);
void dcx_data_free(dcx_dataset *d); /* NULL: no-op */

/* Per-feature or global standardisation x' = (x − mean) / std with mean and
 * std from the TRAIN split (std < 1e-6 is replaced by 1). Stored in the
 * model file so that evaluation applies the same transform. */
typedef enum { DCX_STD_NONE = 0, DCX_STD_GLOBAL = 1, DCX_STD_FEATURE = 2 } dcx_std_mode;
typedef struct dcx_standardizer {
    dcx_std_mode mode;
    int64_t dim;  /* features */
    int64_t n;    /* entries of mean/std: 0 (none), 1 (global) or dim */
    float *mean;  /* (n), owned */
    float *std;   /* (n), owned */
} dcx_standardizer;

/* Fit on x (rows, dim) in double. The caller frees with dcx_standardizer_free. */
dcx_status dcx_standardizer_fit(dcx_std_mode mode, const float *x, int64_t rows, int64_t dim,
                                dcx_standardizer **out);
/* Apply in place to x (rows, dim). */
void dcx_standardizer_apply(const dcx_standardizer *s, float *x, int64_t rows);
void dcx_standardizer_free(dcx_standardizer *s); /* NULL: no-op */
/* "none", "global", "feature"; parse returns -1 for an unknown name. */
const char *dcx_std_mode_name(dcx_std_mode m);
int dcx_std_mode_parse(const char *s);

/* ======================= Optimizers ======================= */

typedef enum { DCX_OPT_SGD = 1, DCX_OPT_ADAM = 2 } dcx_optim_kind;

/* PyTorch semantics (torch.optim.SGD / torch.optim.Adam, no dampening, no
 * Nesterov, no amsgrad):
 *   SGD:  g += wd·w;  v = μ·v + g;  w −= lr·v          (v starts at 0)
 *   Adam: g += wd·w;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
 *         w −= lr/(1−β1ᵗ) · m / (sqrt(v)/sqrt(1−β2ᵗ) + eps) */
typedef struct dcx_optim_params {
    dcx_optim_kind kind;
    double lr;            /* base learning rate */
    double momentum;      /* SGD μ */
    double weight_decay;  /* L2 coefficient wd */
    double beta1, beta2, eps; /* Adam */
} dcx_optim_params;

/* Defaults: SGD lr 0.05, momentum 0.9, wd 0; Adam lr 1e-3, β (0.9, 0.999),
 * eps 1e-8, wd 0. */
void dcx_optim_params_default(dcx_optim_params *p, dcx_optim_kind kind);
const char *dcx_optim_name(dcx_optim_kind k); /* "sgd", "adam" */

typedef struct dcx_optim dcx_optim; /* opaque */

/* An optimizer for a parameter buffer of n floats. Caller owns *out. */
dcx_status dcx_optim_create(const dcx_optim_params *p, int64_t n, dcx_optim **out);
void dcx_optim_free(dcx_optim *o); /* NULL: no-op */
/* One update of params[0..n) from grads[0..n) with learning rate lr (the
 * schedule's value at this step). */
void dcx_optim_step(dcx_optim *o, float *params, const float *grads, double lr);
/* State for checkpoints: the updates done so far and the state buffer
 * (SGD: v; Adam: m then v), dcx_optim_state_size floats, owned by o. */
int64_t dcx_optim_steps(const dcx_optim *o);
void dcx_optim_set_steps(dcx_optim *o, int64_t t);
int64_t dcx_optim_state_size(const dcx_optim *o);
float *dcx_optim_state(dcx_optim *o);

/* Learning-rate schedules, evaluated per step t = 0 .. total−1:
 *   constant: lr;   cosine: lr · (1 + cos(π t / total)) / 2. */
typedef enum { DCX_SCHED_CONSTANT = 0, DCX_SCHED_COSINE = 1 } dcx_schedule;
double dcx_schedule_lr(dcx_schedule s, double lr, int64_t t, int64_t total);

/* ======================= Model file ======================= */

/* Write a network and its standardisation to `path` atomically (temp file +
 * fsync + rename) in the "DCXM" format (docs/training.md), with a CRC-32. */
dcx_status dcx_model_save(const char *path, const dcx_net *net, const dcx_standardizer *std);
/* Read a model file; checks magic, version, sizes against the file size and
 * the CRC-32 (DCX_ERR_FORMAT naming the file and the problem). The caller
 * owns *net and *std. */
dcx_status dcx_model_load(const char *path, dcx_net **net, dcx_standardizer **std);

/* ======================= Training ======================= */

typedef struct dcx_train_config {
    char data[512];        /* data spec */
    char arch[DCX_ARCH_MAX + 1];
    int64_t epochs;        /* >= 1 */
    int64_t batch;         /* >= 1 */
    dcx_optim_params optim;
    dcx_schedule schedule;
    dcx_std_mode standardize;
    uint64_t seed;         /* initialisation, shuffling, synthetic data */
    int threads;
    int64_t checkpoint_steps;  /* also checkpoint every that many steps (0: off) */
    double checkpoint_minutes; /* and every that many minutes of training (0: off) */
} dcx_train_config;

/* Defaults: fashion-mnist, mlp:256,256, 5 epochs, batch 128, SGD (lr 0.05,
 * momentum 0.9), constant schedule, global standardisation, seed 1,
 * threads 1, checkpoint every 10 minutes. */
void dcx_train_config_default(dcx_train_config *c);

typedef struct dcx_trainer dcx_trainer; /* opaque */

/* What a step hook sees. `step` counts the updates done so far (0 = before
 * any update, called once at the start of a fresh run). */
typedef struct dcx_step_info {
    int64_t step;            /* global updates done */
    int64_t total_steps;     /* epochs * steps_per_epoch */
    int64_t epoch;           /* 0-based epoch in progress */
    int64_t step_in_epoch;   /* updates done in this epoch */
    int64_t steps_per_epoch;
    double loss;             /* minibatch loss of this step (NaN at step 0) */
    int64_t correct, batch;  /* minibatch accuracy = correct / batch */
    double lr;               /* learning rate used at this step */
    double elapsed;          /* seconds of training so far (this process and earlier ones) */
} dcx_step_info;

typedef struct dcx_epoch_info {
    int64_t epoch;           /* 0-based, just finished */
    double train_loss, train_acc; /* mean over the epoch's minibatches, per sample */
    double test_loss, test_acc;   /* on the held-out split */
    double seconds;          /* wall time of this epoch (incl. evaluation) */
    double samples_per_sec;  /* training samples per second (wall clock) in this epoch */
    double cpu_seconds;      /* process CPU time of this epoch's training steps (all threads) */
} dcx_epoch_info;

/* Hooks, all optional. They run in the training thread. The step hook runs
 * after every update (and at step 0); it may run forward passes on the net
 * (dcx_trainer_net) to measure observables, but must not change parameters;
 * it cannot touch the training RNG, so it never changes the trajectory.
 * A hook returning non-zero stops training with DCX_ERR_ARG and the message
 * it set (dcx_set_error), after the last checkpoint. */
typedef struct dcx_train_hooks {
    void *ctx;
    int (*on_step)(void *ctx, dcx_trainer *t, const dcx_step_info *info);
    int (*on_epoch)(void *ctx, dcx_trainer *t, const dcx_epoch_info *info);
    void (*on_checkpoint)(void *ctx, const char *path, int64_t step);
} dcx_train_hooks;

/* Create a trainer: standardises `data` IN PLACE (statistics of the train
 * split; data is borrowed and must outlive the trainer), builds the network
 * and He-initialises it from the seed, creates the optimizer. */
dcx_status dcx_trainer_create(const dcx_train_config *cfg, dcx_dataset *data, dcx_trainer **out);
void dcx_trainer_free(dcx_trainer *t); /* NULL: no-op */

dcx_net *dcx_trainer_net(dcx_trainer *t);
const dcx_standardizer *dcx_trainer_standardizer(const dcx_trainer *t);
const dcx_train_config *dcx_trainer_config(const dcx_trainer *t);
int64_t dcx_trainer_step(const dcx_trainer *t); /* updates done */

/* Train to the end of cfg->epochs. With run_dir != NULL (created by
 * dcx_run_prepare) it writes checkpoint.dcx each epoch, every
 * checkpoint_steps steps and every checkpoint_minutes, appends one JSON line
 * per epoch to metrics.jsonl, and at the end writes model.dcx and
 * summary.json. A NaN or Inf loss stops with DCX_ERR_NUMERIC, keeping the
 * last good checkpoint. */
dcx_status dcx_trainer_run(dcx_trainer *t, const char *run_dir, const dcx_train_hooks *hooks);

/* Append one line (a JSON object, without newline) to run_dir/metrics.jsonl,
 * flushed and fsync'd at once, and count it as covered by the trainer's state,
 * so that a checkpoint taken afterwards keeps it on --resume (a resumed run
 * truncates metrics.jsonl to what its checkpoint covered). For step hooks. */
dcx_status dcx_trainer_append_metrics(dcx_trainer *t, const char *run_dir, const char *line);

/* Loss and accuracy of the current network on x (n, dim) with labels y,
 * in batches (no randomness). */
dcx_status dcx_evaluate(dcx_net *net, const float *x, const int32_t *y, int64_t n, double *loss,
                        double *acc);

/* Checkpoint (all the state an exact resume needs: parameters, optimizer
 * state, RNG, shuffling order, epoch/step position, running sums): written
 * atomically; loaded into a trainer created with the same configuration. */
dcx_status dcx_checkpoint_save(const dcx_trainer *t, const char *path);
dcx_status dcx_checkpoint_load(dcx_trainer *t, const char *path);

/* Run directory: create `dir` if needed. Fresh run: writes config.json
 * (every setting, seed, threads, BLAS configuration, version); fails if the
 * directory already holds a run (config.json) unless resume is set. Resume:
 * reads config.json and fails with DCX_ERR_ARG naming the first setting
 * that differs ("--resume: setting 'lr' differs: run has 0.05, now 0.1").
 * Sets *has_checkpoint when dir/checkpoint.dcx exists. */
dcx_status dcx_run_prepare(const char *dir, const dcx_train_config *cfg, int resume, int *has_checkpoint);

#ifdef __cplusplus
}
#endif
#endif
