/* net.c — a network as a sequence of ops over one flat parameter buffer:
 * creation, buffer management, the forward and backward passes, the loss
 * hook and the named activations (see nn.h). */
#include <string.h>

#include "nn_impl.h"

/* Check the arguments and parse the architecture into a net with no
 * buffers yet (shared by dcx_net_create and dcx_arch_size). */
static dcx_status plan(const char *arch, int64_t in_c, int64_t in_h, int64_t in_w, int64_t classes,
                       dcx_net **out)
{
    dcx_status st = DCX_OK;
    dcx_net *net = NULL;
    *out = NULL;
    if (!arch) return dcx_set_error(DCX_ERR_ARG, "arch: missing architecture string");
    if (strlen(arch) > DCX_ARCH_MAX)
        return dcx_set_error(DCX_ERR_ARG, "arch: architecture string longer than %d bytes", DCX_ARCH_MAX);
    if (in_c < 1 || in_h < 1 || in_w < 1 || in_c > 65536 || in_h > 65536 || in_w > 65536 ||
        in_c * in_h * in_w > ((int64_t)1 << 28))
        return dcx_set_error(DCX_ERR_ARG, "arch '%s': bad input shape %lldx%lldx%lld", arch, (long long)in_c,
                             (long long)in_h, (long long)in_w);
    if (classes < 2 || classes > 1000000)
        return dcx_set_error(DCX_ERR_ARG, "arch '%s': number of classes %lld not in 2..1000000", arch,
                             (long long)classes);
    DCX_ALLOC(net, 1);
    strcpy(net->arch, arch);
    net->in_c = in_c;
    net->in_h = in_h;
    net->in_w = in_w;
    net->classes = classes;
    DCX_TRY(dcx__arch_parse(net));
    *out = net;
    return DCX_OK;
fail:
    dcx_net_free(net);
    return st;
}

/* Floats of conv scratch one worker thread needs (largest conv layer). */
static int64_t work_size(const dcx_net *net)
{
    int64_t w = 0;
    for (int i = 0; i < net->nops; i++)
        if (net->ops[i].kind == DCX__OP_CONV && dcx__conv_scratch(&net->ops[i]) > w)
            w = dcx__conv_scratch(&net->ops[i]);
    return w;
}

/* Conv scratch for the current thread count (grown on demand); returns the
 * number of worker threads in *slots (1 for a net without conv layers, whose
 * dense layers use BLAS's threads). */
static dcx_status reserve_work(dcx_net *net, int *slots)
{
    dcx_status st = DCX_OK;
    int64_t per = work_size(net), t = dcx_get_threads();
    if (t < 1) t = 1;
    if (t > DCX__CONV_MAX_WORKERS) t = DCX__CONV_MAX_WORKERS;
    *slots = per ? (int)t : 1; /* no conv layer: BLAS's own threads only */
    if (!per || t <= net->work_slots) return DCX_OK;
    free(net->work);
    net->work = NULL;
    net->work_slots = 0;
    DCX_ALLOC(net->work, t * per);
    net->work_slots = t;
fail:
    return st;
}

dcx_status dcx_arch_size(const char *arch, int64_t in_c, int64_t in_h, int64_t in_w, int64_t classes,
                         dcx_arch_sizes *out)
{
    dcx_net *net = NULL;
    memset(out, 0, sizeof *out);
    dcx_status st = plan(arch, in_c, in_h, in_w, classes, &net);
    if (st != DCX_OK) return st;
    out->params = net->nparams;
    for (int i = 0; i < net->nops; i++)
        if (net->ops[i].kind != DCX__OP_FLATTEN) out->activations += dcx__op_out_size(&net->ops[i]);
    out->scratch = work_size(net);
    dcx_net_free(net);
    return DCX_OK;
}

dcx_status dcx_net_create(const char *arch, int64_t in_c, int64_t in_h, int64_t in_w, int64_t classes,
                          dcx_net **out)
{
    dcx_status st = DCX_OK;
    dcx_net *net = NULL;
    *out = NULL;
    DCX_TRY(plan(arch, in_c, in_h, in_w, classes, &net));
    DCX_ALLOC(net->params, net->nparams);
    DCX_ALLOC(net->grads, net->nparams);
    *out = net;
    return DCX_OK;
fail:
    dcx_net_free(net);
    return st;
}

static void free_buffers(dcx_net *net)
{
    for (int i = 0; i < net->nops; i++) {
        dcx__op *o = &net->ops[i];
        if (o->kind != DCX__OP_FLATTEN) {
            free(o->out);
            free(o->dout);
        }
        free(o->argmax);
        o->out = o->dout = NULL;
        o->argmax = NULL;
    }
    free(net->dlogits);
    net->dlogits = NULL;
    net->cap = 0;
}

void dcx_net_free(dcx_net *net)
{
    if (!net) return;
    if (net->ops) free_buffers(net);
    free(net->ops);
    free(net->tensors);
    free(net->tensor_names);
    free(net->work);
    free(net->params);
    free(net->grads);
    free(net);
}

/* Grow the activation buffers to hold a batch of n. */
static dcx_status reserve(dcx_net *net, int64_t n)
{
    dcx_status st = DCX_OK;
    if (n <= net->cap) return DCX_OK;
    free_buffers(net);
    int64_t total;
    for (int i = 0; i < net->nops; i++) {
        dcx__op *o = &net->ops[i];
        if (!dcx__mul_ok(n, dcx__op_out_size(o), &total) || total > ((int64_t)1 << 40))
            DCX_FAIL(DCX_ERR_NOMEM, "batch of %lld samples too large", (long long)n);
        if (o->kind == DCX__OP_FLATTEN) {
            /* alias of the previous op's buffers (or of the input: set per pass) */
            o->out = i > 0 ? net->ops[i - 1].out : NULL;
            o->dout = i > 0 ? net->ops[i - 1].dout : NULL;
            continue;
        }
        DCX_ALLOC(o->out, total);
        DCX_ALLOC(o->dout, total);
        if (o->kind == DCX__OP_POOL) DCX_ALLOC(o->argmax, total);

    }
    DCX_ALLOC(net->dlogits, n * net->classes);
    net->cap = n;
    return DCX_OK;
fail:
    free_buffers(net);
    return st;
}

const char *dcx_net_arch(const dcx_net *net) { return net->arch; }
void dcx_net_input_shape(const dcx_net *net, int64_t *c, int64_t *h, int64_t *w)
{
    if (c) *c = net->in_c;
    if (h) *h = net->in_h;
    if (w) *w = net->in_w;
}
int64_t dcx_net_input_size(const dcx_net *net) { return net->in_c * net->in_h * net->in_w; }
int64_t dcx_net_classes(const dcx_net *net) { return net->classes; }
int64_t dcx_net_num_params(const dcx_net *net) { return net->nparams; }
float *dcx_net_params(dcx_net *net) { return net->params; }
float *dcx_net_grads(dcx_net *net) { return net->grads; }
int dcx_net_num_tensors(const dcx_net *net) { return net->ntensors; }
dcx_param_view dcx_net_tensor(const dcx_net *net, int i) { return net->tensors[i]; }
int64_t dcx_net_batch(const dcx_net *net) { return net->n; }

dcx_status dcx_net_find_tensor(const dcx_net *net, const char *name, dcx_param_view *out)
{
    for (int i = 0; i < net->ntensors; i++)
        if (!strcmp(net->tensors[i].name, name)) {
            *out = net->tensors[i];
            return DCX_OK;
        }
    return dcx_set_error(DCX_ERR_ARG, "arch '%s': no parameter tensor named '%s'", net->arch, name);
}

/* Input of op i for the current pass. */
static const float *op_input(const dcx_net *net, int i) { return i == 0 ? net->input : net->ops[i - 1].out; }

/* ReLU and max-pool of a conv net on the worker threads: each task takes a
 * contiguous range of samples (element-wise work: the same results for any
 * split). */
typedef struct {
    const dcx__op *o;
    const float *in, *y, *dy;
    float *out, *dx;
    int64_t n, ntasks;
    int backward;
} ew_ctx;

static dcx_status ew_task(void *ctx, int64_t t)
{
    const ew_ctx *c = ctx;
    const dcx__op *o = c->o;
    int64_t s0 = t * c->n / c->ntasks, s1 = (t + 1) * c->n / c->ntasks, m = s1 - s0;
    int64_t isz = dcx__op_in_size(o), osz = dcx__op_out_size(o);
    if (o->kind == DCX__OP_RELU) {
        if (c->backward)
            dcx__relu_backward(c->y + s0 * osz, c->dy + s0 * osz, m * osz, c->dx + s0 * osz);
        else
            dcx__relu_forward(c->in + s0 * isz, m * osz, c->out + s0 * osz);
    } else if (c->backward) {
        dcx__pool_backward(o, c->dy + s0 * osz, o->argmax + s0 * osz, m, c->dx + s0 * isz);
    } else {
        dcx__pool_forward(o, c->in + s0 * isz, m, c->out + s0 * osz, o->argmax + s0 * osz);
    }
    return DCX_OK;
}

static dcx_status elementwise(const dcx__op *o, int slots, int64_t n, const float *in, float *out, const float *y,
                              const float *dy, float *dx, int backward)
{
    ew_ctx c = {.o = o, .in = in, .out = out, .y = y, .dy = dy, .dx = dx, .n = n, .backward = backward};
    /* a few tasks per thread, taken in turn (a thread that starts late takes
     * fewer); small passes (e.g. after a dense layer) are not worth a thread */
    c.ntasks = 4 * (int64_t)slots < n ? 4 * (int64_t)slots : n;
    if (slots <= 1 || n * dcx__op_in_size(o) < ((int64_t)1 << 16)) c.ntasks = 1;
    if (c.ntasks <= 1) return ew_task(&c, 0);
    return dcx__parallel_tasks(c.ntasks, slots < c.ntasks ? slots : (int)c.ntasks, ew_task, &c, NULL, NULL);
}

/* Ops fused with the conv at op i (0: none; 1: the ReLU after it; 2: the
 * ReLU and a max-pool after that), and their buffers. */
static int conv_tail(const dcx_net *net, int i, dcx__conv_tail *t)
{
    memset(t, 0, sizeof *t);
    if (net->ops[i].kind != DCX__OP_CONV || i + 1 >= net->nops || net->ops[i + 1].kind != DCX__OP_RELU) return 0;
    t->relu = net->ops[i + 1].out;
    if (i + 2 >= net->nops || net->ops[i + 2].kind != DCX__OP_POOL) return 1;
    t->pool = &net->ops[i + 2];
    t->pool_out = net->ops[i + 2].out;
    t->argmax = net->ops[i + 2].argmax;
    return 2;
}

/* Where the gradient wrt op i's input goes: the dout of the op before
 * (skipping flattens), NULL for the first op. */
static float *input_grad(const dcx_net *net, int i)
{
    if (i == 0) return NULL;
    int j = i - 1;
    while (j > 0 && net->ops[j].kind == DCX__OP_FLATTEN) j--;
    return net->ops[j].kind == DCX__OP_FLATTEN ? NULL : net->ops[j].dout;
}

/* The dense layers of a conv net: fixed blocks (rows of the batch forward;
 * rows of dW and of dx backward) as tasks on the worker threads, so their
 * results too do not depend on the thread count. */
#define DENSE_BLOCKS 4
typedef struct {
    const dcx_net *net;
    const dcx__op *o;
    const float *x, *dy;
    float *y, *dx;
    int64_t n;
} dense_ctx;

static dcx_status dense_fwd_task(void *ctx, int64_t t)
{
    const dense_ctx *c = ctx;
    int64_t i0 = t * c->n / DENSE_BLOCKS, i1 = (t + 1) * c->n / DENSE_BLOCKS;
    int64_t in = dcx__op_in_size(c->o), out = dcx__op_out_size(c->o);
    if (i1 == i0) return DCX_OK;
    return dcx__dense_forward(c->o, c->net->params, c->x + i0 * in, i1 - i0, c->y + i0 * out);
}

static dcx_status dense_bwd_task(void *ctx, int64_t t)
{
    const dense_ctx *c = ctx;
    return dcx__dense_backward_block(c->o, c->net->params, c->net->grads, c->x, c->dy, c->n, c->dx, (int)t,
                                     DENSE_BLOCKS);
}

static dcx_status dense_pass(const dcx_net *net, const dcx__op *o, int slots, int64_t n, const float *x, float *y,
                             const float *dy, float *dx, int backward)
{
    dense_ctx c = {.net = net, .o = o, .x = x, .y = y, .dy = dy, .dx = dx, .n = n};
    int64_t ntasks = backward ? 2 * DENSE_BLOCKS : DENSE_BLOCKS;
    return dcx__parallel_tasks(ntasks, slots < ntasks ? slots : (int)ntasks, backward ? dense_bwd_task : dense_fwd_task,
                               &c, NULL, NULL);
}

static dcx_status forward_ops(dcx_net *net, int slots)
{
    dcx_status st = DCX_OK;
    int64_t n = net->n;
    for (int i = 0; i < net->nops; i++) {
        dcx__op *o = &net->ops[i];
        const float *in = op_input(net, i);
        switch (o->kind) {
        case DCX__OP_DENSE:
            if (net->work_slots) /* a conv net (it has conv scratch) */
                DCX_TRY(dense_pass(net, o, slots, n, in, o->out, NULL, NULL, 0));
            else
                DCX_TRY(dcx__dense_forward(o, net->params, in, n, o->out));
            break;
        case DCX__OP_CONV: {
            /* the ReLU (and pool) that follow, in the same pass */
            dcx__conv_tail t;
            int fused = conv_tail(net, i, &t);
            DCX_TRY(dcx__conv_forward(o, net->params, in, n, o->out, fused ? &t : NULL, net->work, slots));
            i += fused;
            break;
        }
        case DCX__OP_RELU:
        case DCX__OP_POOL: DCX_TRY(elementwise(o, slots, n, in, o->out, NULL, NULL, NULL, 0)); break;
        case DCX__OP_FLATTEN: o->out = (float *)in; break;
        }
    }
fail:
    return st;
}

/* Run a pass. A conv net parallelises over samples itself (slots > 1):
 * BLAS stays single-threaded for the whole pass (its idle threads would
 * otherwise spin against the workers). */
static dcx_status run_pass(dcx_net *net, dcx_status (*pass)(dcx_net *, int), int slots)
{
    if (slots <= 1) return pass(net, slots);
    int old = dcx__blas_set_threads_raw(1);
    dcx_status st = pass(net, slots);
    dcx__blas_set_threads_raw(old);
    return st;
}

dcx_status dcx_net_forward(dcx_net *net, const float *x, int64_t n)
{
    dcx_status st = DCX_OK;
    if (n < 1) return dcx_set_error(DCX_ERR_ARG, "forward pass: empty batch");
    int slots;
    DCX_TRY(reserve(net, n));
    DCX_TRY(reserve_work(net, &slots));
    net->input = x;
    net->n = n;
    net->have_dlogits = 0;
    st = run_pass(net, forward_ops, slots);
fail:
    return st;
}

dcx_status dcx_net_loss(dcx_net *net, const int32_t *labels, double *loss, int64_t *correct)
{
    if (net->n < 1) return dcx_set_error(DCX_ERR_ARG, "loss: no forward pass");
    dcx_status st = dcx__softmax_xent(net->ops[net->nops - 1].out, labels, net->n, net->classes, loss, correct,
                                      net->dlogits);
    net->have_dlogits = st == DCX_OK;
    return st;
}

static dcx_status backward_ops(dcx_net *net, int slots)
{
    dcx_status st = DCX_OK;
    int64_t n = net->n;
    const float *dy = net->dlogits;
    for (int i = net->nops - 1; i >= 0; i--) {
        dcx__op *o = &net->ops[i];
        const float *in = op_input(net, i);
        /* gradient wrt this op's input goes to the previous op's dout */
        float *dx = input_grad(net, i);
        /* a ReLU or pool fused with the conv before it: the conv's backward
         * pass does them (their input gradients are not formed) */
        dcx__conv_tail t;
        int c = i - 1;
        if (c >= 0 && o->kind == DCX__OP_POOL) c--;
        if (c >= 0 && net->ops[c].kind == DCX__OP_CONV && conv_tail(net, c, &t) == i - c) {
            dx = input_grad(net, c);
            DCX_TRY(dcx__conv_backward(&net->ops[c], net->params, net->grads, op_input(net, c), dy, &t, n, dx,
                                       net->work, slots));
            i = c;
            dy = dx;
            if (!dy) break;
            continue;
        }
        switch (o->kind) {
        case DCX__OP_DENSE:
            if (net->work_slots)
                DCX_TRY(dense_pass(net, o, slots, n, in, NULL, dy, dx, 1));
            else
                DCX_TRY(dcx__dense_backward(o, net->params, net->grads, in, dy, n, dx));
            break;
        case DCX__OP_CONV:
            DCX_TRY(dcx__conv_backward(o, net->params, net->grads, in, dy, NULL, n, dx, net->work, slots));
            break;
        case DCX__OP_RELU:
        case DCX__OP_POOL:
            if (dx) DCX_TRY(elementwise(o, slots, n, NULL, NULL, o->out, dy, dx, 1));
            break;
        case DCX__OP_FLATTEN: continue; /* dy passes through unchanged */
        }
        dy = dx;
        if (!dy) break;
    }
fail:
    return st;
}

dcx_status dcx_net_backward(dcx_net *net)
{
    dcx_status st = DCX_OK;
    if (!net->have_dlogits) return dcx_set_error(DCX_ERR_ARG, "backward pass: call dcx_net_loss first");
    int slots;
    DCX_TRY(reserve_work(net, &slots));
    st = run_pass(net, backward_ops, slots);
fail:
    return st;
}

void dcx_net_predict(const dcx_net *net, int32_t *pred)
{
    const float *z = net->ops[net->nops - 1].out;
    for (int64_t i = 0; i < net->n; i++) {
        const float *r = z + i * net->classes;
        int64_t arg = 0;
        for (int64_t j = 1; j < net->classes; j++)
            if (r[j] > r[arg]) arg = j;
        pred[i] = (int32_t)arg;
    }
}

int dcx_net_num_activations(const dcx_net *net)
{
    int k = 1;
    for (int i = 0; i < net->nops; i++) k += net->ops[i].act_name[0] != 0;
    return k;
}

const char *dcx_net_activation_name(const dcx_net *net, int i)
{
    if (i == 0) return "input";
    int k = 0;
    for (int j = 0; j < net->nops; j++)
        if (net->ops[j].act_name[0] && ++k == i) return net->ops[j].act_name;
    return NULL;
}

dcx_status dcx_net_activation(const dcx_net *net, const char *name, dcx_matrix *out, int64_t shape[3])
{
    if (net->n < 1) return dcx_set_error(DCX_ERR_ARG, "activation '%s': no forward pass yet", name);
    const float *data = NULL;
    int64_t c = 0, h = 0, w = 0;
    if (!strcmp(name, "input")) {
        data = net->input;
        c = net->in_c;
        h = net->in_h;
        w = net->in_w;
    } else {
        for (int j = 0; j < net->nops; j++)
            if (!strcmp(net->ops[j].act_name, name)) {
                data = net->ops[j].out;
                c = net->ops[j].out_c;
                h = net->ops[j].out_h;
                w = net->ops[j].out_w;
            }
    }
    if (!data) return dcx_set_error(DCX_ERR_ARG, "arch '%s': no activation named '%s'", net->arch, name);
    out->rows = net->n;
    out->cols = c * h * w;
    out->stride = out->cols;
    out->dtype = DCX_F32;
    out->data = (void *)data;
    out->owns = 0;
    if (shape) {
        shape[0] = c;
        shape[1] = h;
        shape[2] = w;
    }
    return DCX_OK;
}
