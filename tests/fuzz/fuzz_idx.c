/* fuzz_idx.c — libFuzzer target for the idx reader (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size, ".idx", NULL);
}
