/* arch.c — the architecture-string parser (grammar in nn.h and
 * docs/training.md). Turns "mlp:256,256" or "cnn:c16k5p2,pool2,fc128" into
 * the op sequence of a dcx_net, with shapes, activation names and the named
 * parameter tensors. Every error names the bad token and its 1-based
 * position in the list after the colon. */
#include <ctype.h>
#include <string.h>

#include "nn_impl.h"

#define MAX_TOKENS 64
#define MAX_WIDTH 1000000
#define MAX_KERNEL 64

/* Parse a decimal number of at most 7 digits at *p; advance *p. */
static int parse_num(const char **p, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;
    int nd = 0;
    while (isdigit((unsigned char)*s)) {
        if (++nd > 7) return 0;
        v = v * 10 + (*s - '0');
        s++;
    }
    if (nd == 0) return 0;
    *p = s;
    *out = v;
    return 1;
}

typedef struct {
    dcx_net *net;
    int cap;
    int64_t c, h, w;
    int flat;
} builder;

static dcx__op *push(builder *b, dcx__op_kind kind)
{
    dcx__op *o = &b->net->ops[b->net->nops++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->in_c = b->c;
    o->in_h = b->h;
    o->in_w = b->w;
    return o;
}

static void finish(builder *b, dcx__op *o)
{
    b->c = o->out_c;
    b->h = o->out_h;
    b->w = o->out_w;
}

static void add_tensors(dcx_net *net, dcx__op *o, const char *prefix)
{
    int64_t wcount, shape[4];
    int ndim;
    if (o->kind == DCX__OP_DENSE) {
        ndim = 2;
        shape[0] = o->out_c;
        shape[1] = dcx__op_in_size(o);
        wcount = shape[0] * shape[1];
    } else {
        ndim = 4;
        shape[0] = o->out_c;
        shape[1] = o->in_c;
        shape[2] = shape[3] = o->k;
        wcount = shape[0] * shape[1] * shape[2] * shape[3];
    }
    for (int t = 0; t < 2; t++) {
        int i = net->ntensors++;
        dcx_param_view *v = &net->tensors[i];
        snprintf(net->tensor_names[i], sizeof net->tensor_names[i], "%s.%s", prefix, t ? "bias" : "weight");
        v->name = net->tensor_names[i];
        v->offset = net->nparams;
        v->is_bias = t;
        if (t == 0) {
            v->count = wcount;
            v->ndim = ndim;
            memcpy(v->shape, shape, sizeof shape);
            o->w_off = net->nparams;
        } else {
            v->count = o->out_c;
            v->ndim = 1;
            v->shape[0] = o->out_c;
            o->b_off = net->nparams;
        }
        net->nparams += v->count;
    }
}

static void flatten_if_needed(builder *b)
{
    if (b->flat) return;
    dcx__op *o = push(b, DCX__OP_FLATTEN);
    o->out_c = b->c * b->h * b->w;
    o->out_h = o->out_w = 1;
    finish(b, o);
    b->flat = 1;
}

static void dense(builder *b, int64_t width, int layer)
{
    flatten_if_needed(b);
    dcx__op *o = push(b, DCX__OP_DENSE);
    o->out_c = width;
    o->out_h = o->out_w = 1;
    char prefix[24];
    if (layer > 0) {
        snprintf(prefix, sizeof prefix, "layer%d", layer);
        snprintf(o->act_name, sizeof o->act_name, "layer%d.pre", layer);
    } else {
        snprintf(prefix, sizeof prefix, "logits");
        snprintf(o->act_name, sizeof o->act_name, "logits");
    }
    add_tensors(b->net, o, prefix);
    finish(b, o);
    if (layer > 0) {
        dcx__op *r = push(b, DCX__OP_RELU);
        r->out_c = b->c;
        r->out_h = b->h;
        r->out_w = b->w;
        snprintf(r->act_name, sizeof r->act_name, "layer%d", layer);
        finish(b, r);
    }
}

dcx_status dcx__arch_parse(dcx_net *net)
{
    dcx_status st = DCX_OK;
    const char *arch = net->arch;
    char tok[DCX_ARCH_MAX + 1];
    int is_cnn;
    const char *body;
    if (!strncmp(arch, "mlp", 3) && (arch[3] == ':' || arch[3] == 0)) {
        is_cnn = 0;
        body = arch[3] ? arch + 4 : arch + 3;
    } else if (!strncmp(arch, "cnn", 3) && (arch[3] == ':' || arch[3] == 0)) {
        is_cnn = 1;
        body = arch[3] ? arch + 4 : arch + 3;
    } else {
        DCX_FAIL(DCX_ERR_ARG, "arch '%s': expected 'mlp:WIDTHS' or 'cnn:LAYERS'", arch);
    }
    /* count tokens for the op table: at most 3 ops per token + flatten + final dense */
    int ntok = *body ? 1 : 0;
    for (const char *q = body; *q; q++) ntok += *q == ',';
    if (ntok > MAX_TOKENS) DCX_FAIL(DCX_ERR_ARG, "arch '%s': more than %d layers", arch, MAX_TOKENS);
    DCX_ALLOC(net->ops, 2 * ntok + 3);
    DCX_ALLOC(net->tensors, 2 * ntok + 2);
    DCX_ALLOC(net->tensor_names, 2 * ntok + 2);

    builder b = {net, 2 * ntok + 3, net->in_c, net->in_h, net->in_w, 0};
    if (!is_cnn) {
        b.c = net->in_c * net->in_h * net->in_w;
        b.h = b.w = 1;
        b.flat = 1;
    }
    const char *p = body;
    for (int pos = 1; pos <= ntok; pos++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        memcpy(tok, p, len);
        tok[len] = 0;
        p = e ? e + 1 : p + len;
        if (len == 0) DCX_FAIL(DCX_ERR_ARG, "arch '%s': empty token at position %d", arch, pos);
        const char *t = tok;
        int64_t v;
        if (!is_cnn) {
            if (!parse_num(&t, &v) || *t || v < 1 || v > MAX_WIDTH)
                DCX_FAIL(DCX_ERR_ARG, "arch '%s': bad width '%s' at position %d (expected an integer in 1..%d)",
                         arch, tok, pos, MAX_WIDTH);
            dense(&b, v, pos);
            continue;
        }
        if (!strncmp(t, "fc", 2)) {
            t += 2;
            if (!parse_num(&t, &v) || *t || v < 1 || v > MAX_WIDTH)
                DCX_FAIL(DCX_ERR_ARG, "arch '%s': bad dense token '%s' at position %d (expected fcN, N in 1..%d)",
                         arch, tok, pos, MAX_WIDTH);
            dense(&b, v, pos);
        } else if (!strncmp(t, "pool", 4)) {
            t += 4;
            if (!parse_num(&t, &v) || *t || v < 1 || v > MAX_KERNEL)
                DCX_FAIL(DCX_ERR_ARG, "arch '%s': bad pool token '%s' at position %d (expected poolK, K in 1..%d)",
                         arch, tok, pos, MAX_KERNEL);
            if (b.flat)
                DCX_FAIL(DCX_ERR_ARG, "arch '%s': pool token '%s' at position %d after a dense layer", arch, tok, pos);
            if (v > b.h || v > b.w)
                DCX_FAIL(DCX_ERR_ARG, "arch '%s': token '%s' at position %d: pool size %lld larger than its input %lldx%lld",
                         arch, tok, pos, (long long)v, (long long)b.h, (long long)b.w);
            dcx__op *o = push(&b, DCX__OP_POOL);
            o->k = o->stride = v;
            o->out_c = b.c;
            o->out_h = b.h / v;
            o->out_w = b.w / v;
            snprintf(o->act_name, sizeof o->act_name, "layer%d", pos);
            finish(&b, o);
        } else if (t[0] == 'c' && isdigit((unsigned char)t[1])) {
            int64_t ch, k = -1, pad = 0, stride = 1;
            int seen_p = 0, seen_s = 0, ok = 1;
            t++;
            if (!parse_num(&t, &ch) || ch < 1 || ch > 65536) ok = 0;
            while (ok && *t) {
                char key = *t++;
                int64_t val;
                if (!parse_num(&t, &val)) {
                    ok = 0;
                } else if (key == 'k' && k < 0) {
                    k = val;
                } else if (key == 'p' && !seen_p) {
                    pad = val;
                    seen_p = 1;
                } else if (key == 's' && !seen_s) {
                    stride = val;
                    seen_s = 1;
                } else {
                    ok = 0;
                }
            }
            if (!ok || k < 1 || k > MAX_KERNEL || pad > MAX_KERNEL || stride < 1 || stride > MAX_KERNEL)
                DCX_FAIL(DCX_ERR_ARG,
                         "arch '%s': bad conv token '%s' at position %d (expected cNkK[pP][sS], e.g. c16k5p2)",
                         arch, tok, pos);
            if (b.flat)
                DCX_FAIL(DCX_ERR_ARG, "arch '%s': conv token '%s' at position %d after a dense layer", arch, tok, pos);
            if (k > b.h + 2 * pad || k > b.w + 2 * pad)
                DCX_FAIL(DCX_ERR_ARG,
                         "arch '%s': token '%s' at position %d: kernel %lld larger than the padded input %lldx%lld",
                         arch, tok, pos, (long long)k, (long long)(b.h + 2 * pad), (long long)(b.w + 2 * pad));
            /* the im2col matrix of one sample must stay sane (1 GiB of floats) */
            int64_t oh = (b.h + 2 * pad - k) / stride + 1, ow = (b.w + 2 * pad - k) / stride + 1;
            if (b.c * k * k > ((int64_t)1 << 28) / (oh * ow))
                DCX_FAIL(DCX_ERR_ARG, "arch '%s': layer '%s' at position %d is too large", arch, tok, pos);
            dcx__op *o = push(&b, DCX__OP_CONV);
            o->k = k;
            o->pad = pad;
            o->stride = stride;
            o->out_c = ch;
            o->out_h = (b.h + 2 * pad - k) / stride + 1;
            o->out_w = (b.w + 2 * pad - k) / stride + 1;
            snprintf(o->act_name, sizeof o->act_name, "layer%d.pre", pos);
            char prefix[24];
            snprintf(prefix, sizeof prefix, "layer%d", pos);
            add_tensors(net, o, prefix);
            finish(&b, o);
            dcx__op *r = push(&b, DCX__OP_RELU);
            r->out_c = b.c;
            r->out_h = b.h;
            r->out_w = b.w;
            snprintf(r->act_name, sizeof r->act_name, "layer%d", pos);
            finish(&b, r);
        } else {
            DCX_FAIL(DCX_ERR_ARG, "arch '%s': unknown token '%s' at position %d", arch, tok, pos);
        }
        /* guard against absurd sizes (activations per sample, parameters) */
        if (b.c * b.h * b.w > (int64_t)1 << 28 || net->nparams > (int64_t)1 << 31)
            DCX_FAIL(DCX_ERR_ARG, "arch '%s': layer '%s' at position %d is too large", arch, tok, pos);
    }
    dense(&b, net->classes, 0);
    if (net->nparams > (int64_t)1 << 31) DCX_FAIL(DCX_ERR_ARG, "arch '%s': too many parameters", arch);
fail:
    return st;
}
