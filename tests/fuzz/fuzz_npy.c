/* fuzz_npy.c — libFuzzer target for the npy reader (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size, ".npy", NULL);
}
