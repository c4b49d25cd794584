/* nn_impl.h — private layout of a dcx_net and the per-layer kernels shared by
 * the files of src/nn/. Not installed. */
#ifndef DEEPCX_NN_IMPL_H
#define DEEPCX_NN_IMPL_H

#include "../internal.h"

typedef enum { DCX__OP_DENSE = 1, DCX__OP_CONV, DCX__OP_RELU, DCX__OP_POOL, DCX__OP_FLATTEN } dcx__op_kind;

/* One primitive operation. Its input is the output of the previous op (or the
 * network input); shapes are per sample, NCHW (a dense output is (out,1,1)). */
typedef struct dcx__op {
    dcx__op_kind kind;
    int64_t in_c, in_h, in_w;
    int64_t out_c, out_h, out_w;
    int64_t k, stride, pad;  /* conv: kernel, stride, padding; pool: kernel = stride */
    int64_t w_off, b_off;    /* dense/conv: offsets of weight and bias in params */
    float *out;              /* (cap, out_size); flatten: alias of the input */
    float *dout;             /* (cap, out_size) gradient wrt out; flatten: alias */
    int32_t *argmax;         /* pool: (cap, out_size) index into the input plane */
    char act_name[32];       /* name of `out` as an activation, "" if none */
} dcx__op;

struct dcx_net {
    char arch[DCX_ARCH_MAX + 1];
    int64_t in_c, in_h, in_w, classes;
    int nops;
    dcx__op *ops;
    int ntensors;
    dcx_param_view *tensors;
    char (*tensor_names)[32];
    int64_t nparams;
    float *params, *grads;
    int64_t cap;        /* batch capacity of the buffers */
    int64_t n;          /* batch size of the last forward pass; 0 before */
    const float *input; /* borrowed input of the last forward pass */
    float *work;        /* conv scratch: work_slots × the largest dcx__conv_scratch */
    int64_t work_slots; /* worker threads the scratch is sized for */
    float *dlogits;     /* (cap, classes) set by dcx_net_loss */
    int have_dlogits;
};

static inline int64_t dcx__op_in_size(const dcx__op *o) { return o->in_c * o->in_h * o->in_w; }
static inline int64_t dcx__op_out_size(const dcx__op *o) { return o->out_c * o->out_h * o->out_w; }

/* Layer kernels. x: (n, in_size), y: (n, out_size). Backward: dy given, dx
 * written when non-NULL, parameter gradients written (not accumulated). */
dcx_status dcx__dense_forward(const dcx__op *o, const float *params, const float *x, int64_t n, float *y);
dcx_status dcx__dense_backward(const dcx__op *o, const float *params, float *grads, const float *x,
                               const float *dy, int64_t n, float *dx);
/* One of 2·nblocks independent parts of the dense backward pass: block <
 * nblocks computes rows of dW and db (out split in nblocks), the others rows
 * of dx (the batch split in nblocks; nothing when dx is NULL). */
dcx_status dcx__dense_backward_block(const dcx__op *o, const float *params, float *grads, const float *x,
                                     const float *dy, int64_t n, float *dx, int block, int nblocks);

/* Floats of conv scratch one worker thread needs (padded input, padded
 * input gradient, the columns of one sample and their gradient, one
 * sample's output gradient). */
int64_t dcx__conv_scratch(const dcx__op *o);
/* Samples per chunk of a batch of n in the backward pass: each chunk sums
 * its own dW and db (a function of n only, so that results do not depend on
 * the thread count). */
int64_t dcx__conv_chunk(int64_t n);
/* Tests only: when > 0, caps the chunk (to exercise the multi-chunk path). */
extern int64_t dcx__conv_chunk_max;
/* Tests only: 0 picks the layout per layer, 1 forces channel-major, 2
 * pixel-major (see conv.c). */
extern int dcx__conv_layout;
/* The ReLU (and max-pool) that follow a conv layer, done in its passes:
 * forward writes relu(y) to relu (and the pool's output and argmax);
 * backward then takes dy wrt the last of them and applies the pool's routing
 * and the ReLU's mask itself. */
typedef struct {
    float *relu;          /* (n, conv out size); NULL: no fused tail */
    const struct dcx__op *pool; /* NULL: ReLU only */
    float *pool_out;      /* (n, pool out size) */
    int32_t *argmax;      /* (n, pool out size) */
} dcx__conv_tail;
/* work: `workers` × dcx__conv_scratch(o) floats; up to `workers` threads
 * (at most DCX__CONV_MAX_WORKERS); tail may be NULL. */
#define DCX__CONV_MAX_WORKERS 64
dcx_status dcx__conv_forward(const dcx__op *o, const float *params, const float *x, int64_t n, float *y,
                             const dcx__conv_tail *tail, float *work, int workers);
dcx_status dcx__conv_backward(const dcx__op *o, const float *params, float *grads, const float *x,
                              const float *dy, const dcx__conv_tail *tail, int64_t n, float *dx, float *work,
                              int workers);

void dcx__relu_forward(const float *x, int64_t count, float *y);
void dcx__relu_backward(const float *y, const float *dy, int64_t count, float *dx);

void dcx__pool_forward(const dcx__op *o, const float *x, int64_t n, float *y, int32_t *argmax);
void dcx__pool_backward(const dcx__op *o, const float *dy, const int32_t *argmax, int64_t n, float *dx);

/* Softmax cross-entropy, mean over the batch; dlogits = (softmax - onehot)/n. */
dcx_status dcx__softmax_xent(const float *logits, const int32_t *labels, int64_t n, int64_t classes,
                             double *loss, int64_t *correct, float *dlogits);

/* Architecture parser: fills net->ops (kinds, shapes, conv/pool settings,
 * activation names) and the tensor views; allocates nothing else. */
dcx_status dcx__arch_parse(dcx_net *net);

#endif
