/* fuzz_npz.c — libFuzzer target for the .npz reader (see fuzz_common.h):
 * the archive is opened without a member name and with the name "a". */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dcx_open_opts o;
    dcx_open_opts_default(&o);
    fuzz_one(data, size, ".npz", &o);
    o.array_name = "a";
    return fuzz_one(data, size, ".npz", &o);
}
