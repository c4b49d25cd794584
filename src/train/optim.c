/* optim.c — SGD with momentum and Adam over a flat float parameter buffer,
 * with PyTorch's update rules (torch.optim.SGD, dampening 0, no Nesterov;
 * torch.optim.Adam, Kingma & Ba 2015, L2 weight decay added to the gradient):
 *   SGD:  g' = g + wd·w;  v ← μ·v + g';  w ← w − lr·v
 *   Adam: g' = g + wd·w;  m ← β1·m + (1−β1)·g';  v ← β2·v + (1−β2)·g'²;
 *         w ← w − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
 * Each element is updated in double and stored as float. */
#include <math.h>
#include <string.h>

#include "../internal.h"

struct dcx_optim {
    dcx_optim_params p;
    int64_t n;
    int64_t t;    /* updates done */
    float *state; /* SGD: v (n); Adam: m (n) then v (n) */
};

void dcx_optim_params_default(dcx_optim_params *p, dcx_optim_kind kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->lr = kind == DCX_OPT_ADAM ? 1e-3 : 0.05;
    p->momentum = kind == DCX_OPT_ADAM ? 0.0 : 0.9;
    p->beta1 = 0.9;
    p->beta2 = 0.999;
    p->eps = 1e-8;
}

const char *dcx_optim_name(dcx_optim_kind k) { return k == DCX_OPT_ADAM ? "adam" : "sgd"; }

dcx_status dcx_optim_create(const dcx_optim_params *p, int64_t n, dcx_optim **out)
{
    dcx_status st = DCX_OK;
    dcx_optim *o = NULL;
    *out = NULL;
    if (p->kind != DCX_OPT_SGD && p->kind != DCX_OPT_ADAM) DCX_FAIL(DCX_ERR_ARG, "optimizer: unknown kind %d", p->kind);
    if (!(p->lr > 0) || !isfinite(p->lr)) DCX_FAIL(DCX_ERR_ARG, "optimizer: learning rate %g must be > 0", p->lr);
    if (!(p->momentum >= 0 && p->momentum < 1)) DCX_FAIL(DCX_ERR_ARG, "optimizer: momentum %g not in [0, 1)", p->momentum);
    if (!(p->weight_decay >= 0) || !isfinite(p->weight_decay))
        DCX_FAIL(DCX_ERR_ARG, "optimizer: weight decay %g must be >= 0", p->weight_decay);
    if (p->kind == DCX_OPT_ADAM && !(p->beta1 >= 0 && p->beta1 < 1 && p->beta2 >= 0 && p->beta2 < 1 && p->eps > 0))
        DCX_FAIL(DCX_ERR_ARG, "optimizer: Adam needs beta1, beta2 in [0, 1) and eps > 0");
    DCX_ALLOC(o, 1);
    o->p = *p;
    o->n = n;
    DCX_ALLOC(o->state, (p->kind == DCX_OPT_ADAM ? 2 : 1) * n + 1);
    *out = o;
    return DCX_OK;
fail:
    dcx_optim_free(o);
    return st;
}

void dcx_optim_free(dcx_optim *o)
{
    if (!o) return;
    free(o->state);
    free(o);
}

void dcx_optim_step(dcx_optim *o, float *w, const float *g, double lr)
{
    const double wd = o->p.weight_decay;
    o->t++;
    if (o->p.kind == DCX_OPT_SGD) {
        const double mu = o->p.momentum;
        /* the three buffers never overlap: restrict lets the compiler keep
         * the loop in vector registers (it is memory-bound, ~14 % of an MLP
         * step when scalar) */
        float *restrict v = o->state, *restrict wr = w;
        const float *restrict gr = g;
        for (int64_t i = 0; i < o->n; i++) {
            double gi = (double)gr[i] + wd * (double)wr[i];
            float vi = (float)(mu * (double)v[i] + gi);
            v[i] = vi;
            wr[i] = (float)((double)wr[i] - lr * (double)vi);
        }
        return;
    }
    const double b1 = o->p.beta1, b2 = o->p.beta2, eps = o->p.eps;
    const double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = sqrt(1.0 - pow(b2, (double)o->t));
    const double step = lr / bc1;
    float *m = o->state, *v = o->state + o->n;
    for (int64_t i = 0; i < o->n; i++) {
        double gi = (double)g[i] + wd * (double)w[i];
        m[i] = (float)(b1 * (double)m[i] + (1.0 - b1) * gi);
        v[i] = (float)(b2 * (double)v[i] + (1.0 - b2) * gi * gi);
        double denom = sqrt((double)v[i]) / bc2 + eps;
        w[i] = (float)((double)w[i] - step * (double)m[i] / denom);
    }
}

int64_t dcx_optim_steps(const dcx_optim *o) { return o->t; }
void dcx_optim_set_steps(dcx_optim *o, int64_t t) { o->t = t; }
int64_t dcx_optim_state_size(const dcx_optim *o) { return (o->p.kind == DCX_OPT_ADAM ? 2 : 1) * o->n; }
float *dcx_optim_state(dcx_optim *o) { return o->state; }
