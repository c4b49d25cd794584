/* deepcx/nn.h — feed-forward networks (MLP and CNN) on the CPU: layers with
 * forward and backward passes, one flat parameter buffer, named activations.
 *
 * A network is a sequence of layers built from an architecture string
 * (grammar in docs/training.md):
 *
 *   mlp:256,256                       hidden dense widths, each followed by ReLU
 *   cnn:c16k5p2,pool2,c32k5p2,pool2,fc128
 *       cNkK[pP][sS]  conv2d, N output channels, K x K kernel, zero padding P
 *                     (default 0), stride S (default 1), followed by ReLU
 *       poolK         K x K max-pool with stride K
 *       fcN           dense layer of width N followed by ReLU
 *
 * The input shape (channels, height, width) and the number of classes come
 * from the data; the final dense layer to the classes is implicit, and a
 * flatten is inserted before the first dense layer of a CNN. Tensors are
 * float32, row-major, NCHW per batch (flatten keeps that order, like
 * PyTorch). Sums over the batch (bias gradients, the loss) use double.
 *
 * Parameters live in ONE contiguous float buffer and their gradients in ONE
 * buffer of the same layout, so that optimizers, saving and gradient checks
 * are flat loops. Each tensor has a named view ("layer1.weight",
 * "layer1.bias", ..., "logits.weight", "logits.bias"); weights use PyTorch's
 * layout: dense (out, in), conv (out, in, kh, kw).
 *
 * Activations: the k-th token of the architecture string is layer k. After
 * dcx_net_forward, "input" is the input batch, a conv or fc layer k exposes
 * "layerk.pre" (before ReLU) and "layerk" (after ReLU), a pool layer k
 * exposes "layerk", and the final dense layer exposes "logits". */
#ifndef DEEPCX_NN_H
#define DEEPCX_NN_H

#include <stdint.h>

#include "core.h"
#include "matrix.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_net dcx_net; /* opaque */

/* Longest architecture string accepted (bytes, without the terminating 0). */
#define DCX_ARCH_MAX 256

/* Build a network from an architecture string for inputs of shape
 * (in_c, in_h, in_w) (an MLP uses in_c*in_h*in_w features) and `classes`
 * outputs. Parameters are zero until dcx_net_init or dcx_net_set_params.
 * Fails with DCX_ERR_ARG and a message pointing at the bad token, e.g.
 * "arch 'cnn:c16k5p2,pol2': unknown token 'pol2' at position 2", or when a
 * layer does not fit its input ("... kernel 5 larger than padded input 3x3").
 * The caller owns *out and frees it with dcx_net_free. */
dcx_status dcx_net_create(const char *arch, int64_t in_c, int64_t in_h, int64_t in_w,
                          int64_t classes, dcx_net **out);

/* What a network would take, in floats, before any of it is allocated:
 * parameters (the gradient buffer is as large again; an Adam optimiser keeps
 * two more), activations per sample (each held twice during training, value
 * and gradient) and the conv scratch buffers of one worker thread (a pass
 * on T threads holds T of them). Fails exactly as dcx_net_create does on a
 * bad architecture. */
typedef struct {
    int64_t params, activations, scratch;
} dcx_arch_sizes;
dcx_status dcx_arch_size(const char *arch, int64_t in_c, int64_t in_h, int64_t in_w, int64_t classes,
                         dcx_arch_sizes *out);

/* Free the network and its buffers. NULL is a harmless no-op. */
void dcx_net_free(dcx_net *net);

/* He-normal initialisation: every weight ~ N(0, 2/fan_in) (fan_in = in for a
 * dense layer, in*kh*kw for a conv), drawn in parameter-buffer order from
 * `rng`; biases 0. */
void dcx_net_init(dcx_net *net, dcx_rng *rng);

/* The architecture string as given at creation (owned by the net). */
const char *dcx_net_arch(const dcx_net *net);
/* Input shape and number of classes. */
void dcx_net_input_shape(const dcx_net *net, int64_t *c, int64_t *h, int64_t *w);
int64_t dcx_net_input_size(const dcx_net *net); /* c*h*w */
int64_t dcx_net_classes(const dcx_net *net);

/* ---- Parameters ---- */

/* Number of floats in the parameter buffer. */
int64_t dcx_net_num_params(const dcx_net *net);
/* The parameter and gradient buffers (dcx_net_num_params floats each, owned
 * by the net, valid until dcx_net_free). */
float *dcx_net_params(dcx_net *net);
float *dcx_net_grads(dcx_net *net);

/* A named view of one parameter tensor: params[offset .. offset + count). */
typedef struct dcx_param_view {
    const char *name; /* "layer1.weight", ..., "logits.bias"; owned by the net */
    int64_t offset;   /* into dcx_net_params / dcx_net_grads */
    int64_t count;
    int ndim;         /* 2 (dense weight), 4 (conv weight), 1 (bias) */
    int64_t shape[4];
    int is_bias;
} dcx_param_view;

int dcx_net_num_tensors(const dcx_net *net);
/* View of tensor i (0 <= i < dcx_net_num_tensors), in buffer order. */
dcx_param_view dcx_net_tensor(const dcx_net *net, int i);
/* View by name; DCX_ERR_ARG when there is no such tensor. */
dcx_status dcx_net_find_tensor(const dcx_net *net, const char *name, dcx_param_view *out);

/* ---- Forward, loss, backward ---- */

/* Forward pass of n samples x (n, input size), row-major (NCHW per sample).
 * `x` is borrowed until the next forward pass (it is the "input"
 * activation and is read by dcx_net_backward). The activation buffers grow
 * to the largest batch seen and stay (DCX_ERR_NOMEM when they cannot):
 * a conv layer also keeps its im2col matrix, in·k·k·out_h·out_w floats per
 * sample, so measure large probe sets in chunks of a few hundred samples. */
dcx_status dcx_net_forward(dcx_net *net, const float *x, int64_t n);

/* Softmax cross-entropy of the last forward pass against labels[0..n) in
 * [0, classes): *loss = mean over the batch of -log softmax(logits)[label]
 * (log-sum-exp with the max subtracted, in double); *correct = number of
 * samples whose argmax logit is the label (either may be NULL). Also stores
 * d loss / d logits for dcx_net_backward. A label out of range gives
 * DCX_ERR_ARG. */
dcx_status dcx_net_loss(dcx_net *net, const int32_t *labels, double *loss, int64_t *correct);

/* Back-propagate the gradient stored by dcx_net_loss: overwrites the
 * gradient buffer with d loss / d params. */
dcx_status dcx_net_backward(dcx_net *net);

/* Predicted class (argmax of the logits, first on ties) of each sample of
 * the last forward pass into pred[0..n). */
void dcx_net_predict(const dcx_net *net, int32_t *pred);

/* ---- Named activations of the last forward pass ---- */

int dcx_net_num_activations(const dcx_net *net);
/* Name of activation i ("input", "layer1.pre", "layer1", ..., "logits"). */
const char *dcx_net_activation_name(const dcx_net *net, int i);
/* Fill *out with a view (owns = 0, dtype DCX_F32) of the named activation:
 * rows = batch size of the last forward pass, cols = units (C*H*W,
 * flattened NCHW). shape (may be NULL) receives (C, H, W) (1, 1, units for
 * dense layers). The view is valid until the next forward pass. Fails with
 * DCX_ERR_ARG for an unknown name or before any forward pass. */
dcx_status dcx_net_activation(const dcx_net *net, const char *name, dcx_matrix *out,
                              int64_t shape[3]);

/* Number of samples of the last forward pass. */
int64_t dcx_net_batch(const dcx_net *net);

#ifdef __cplusplus
}
#endif
#endif
