/* init.c — He-normal initialisation (He et al. 2015, "Delving deep into
 * rectifiers"): w ~ N(0, 2/fan_in), fan_in = in (dense) or in·kh·kw (conv);
 * biases 0. Drawn in parameter-buffer order from the caller's dcx_rng, so a
 * seed fixes the initial network. */
#include <math.h>

#include "nn_impl.h"

void dcx_net_init(dcx_net *net, dcx_rng *rng)
{
    for (int i = 0; i < net->ntensors; i++) {
        const dcx_param_view *v = &net->tensors[i];
        float *p = net->params + v->offset;
        if (v->is_bias) {
            for (int64_t j = 0; j < v->count; j++) p[j] = 0.0f;
            continue;
        }
        int64_t fan_in = v->count / v->shape[0];
        double sd = sqrt(2.0 / (double)fan_in);
        for (int64_t j = 0; j < v->count; j++) p[j] = (float)(sd * dcx_rng_normal(rng));
    }
}
