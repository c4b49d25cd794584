/* fuzz_arch.c — libFuzzer target for the architecture-string parser: any
 * string either builds a network that runs forward and backward on a 2x1x9x9
 * batch, or fails with a message naming the architecture. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deepcx/deepcx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char arch[DCX_ARCH_MAX + 2];
    if (size > DCX_ARCH_MAX + 1) return 0;
    memcpy(arch, data, size);
    arch[size] = 0;
    /* a valid but huge network is the user's choice, not a bug: size it
     * first and build only what fits the fuzzer's memory */
    dcx_arch_sizes sz;
    if (dcx_arch_size(arch, 1, 9, 9, 3, &sz) != DCX_OK) {
        if (strncmp(dcx_last_error(), "arch", 4) != 0) abort();
        return 0;
    }
    if (sz.params > (1 << 22) || sz.activations > (1 << 22) || sz.scratch > (1 << 24)) return 0;
    dcx_net *net = NULL;
    if (dcx_net_create(arch, 1, 9, 9, 3, &net) != DCX_OK) abort(); /* sized fine, so it must build */
    {
        float x[2 * 81];
        for (int i = 0; i < 2 * 81; i++) x[i] = (float)(i % 7) - 3.0f;
        int32_t y[2] = {0, 2};
        dcx_rng r;
        dcx_rng_seed(&r, 1);
        dcx_net_init(net, &r);
        double loss;
        if (dcx_net_forward(net, x, 2) != DCX_OK || dcx_net_loss(net, y, &loss, NULL) != DCX_OK ||
            dcx_net_backward(net) != DCX_OK)
            abort();
    }
    dcx_net_free(net);
    return 0;
}
