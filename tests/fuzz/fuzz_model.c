/* fuzz_model.c — libFuzzer target for the model-file reader (dcx_model_load).
 * The input is written twice: as is, and with a correct CRC-32 appended, so
 * that the fuzzer reaches the parser behind the checksum. Every failure must
 * name the file; a model that loads must run a forward pass. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "deepcx/deepcx.h"

static void try_load(const char *path)
{
    dcx_net *net = NULL;
    dcx_standardizer *std = NULL;
    if (dcx_model_load(path, &net, &std) == DCX_OK) {
        int64_t d = dcx_net_input_size(net), c, h, w;
        dcx_net_input_shape(net, &c, &h, &w);
        dcx_arch_sizes sz; /* run only what fits the fuzzer's memory */
        if (dcx_arch_size(dcx_net_arch(net), c, h, w, dcx_net_classes(net), &sz) != DCX_OK) abort();
        if (d <= 4096 && sz.params <= (1 << 20) && sz.activations <= (1 << 22) && sz.scratch <= (1 << 24)) {
            float *x = calloc((size_t)d, sizeof(float));
            if (x && dcx_net_forward(net, x, 1) != DCX_OK && dcx_last_error()[0] == 0) abort();
            free(x);
        }
        dcx_net_free(net);
        dcx_standardizer_free(std);
    } else if (strncmp(dcx_last_error(), path, strlen(path)) != 0) {
        abort(); /* every failure must say which file */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* skip inputs whose numbers would ask for gigabytes of parameters */
    int run = 0;
    for (size_t i = 0; i < size; i++) {
        run = (data[i] >= '0' && data[i] <= '9') ? run + 1 : 0;
        if (run > 4) return 0;
    }
    static char path[256];
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/deepcx-fuzz-model-%ld.dcx", dir, (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    try_load(path);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)size);
    unsigned char c[4] = {(unsigned char)crc, (unsigned char)(crc >> 8), (unsigned char)(crc >> 16),
                          (unsigned char)(crc >> 24)};
    f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fwrite(c, 1, 4, f);
    fclose(f);
    try_load(path);
    unlink(path);
    return 0;
}
