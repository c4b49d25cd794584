/* fuzz_csv.c — libFuzzer target for the CSV reader (see fuzz_common.h):
 * automatic detection, then a given delimiter and header. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dcx_open_opts o;
    dcx_open_opts_default(&o);
    fuzz_one(data, size, ".csv", &o);
    o.csv_delim = ';';
    o.csv_header = 1;
    return fuzz_one(data, size, ".csv", &o);
}
