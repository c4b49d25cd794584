/* csv.c — placeholder until the csv reader lands (same branch, next commits). */
#include "source_impl.h"

dcx_status dcx__csv_open(const char *path, const dcx_open_opts *o, dcx_source **out)
{
    (void)o;
    *out = NULL;
    return dcx_set_error(DCX_ERR_UNSUPPORTED, "%s: this format's reader is not built yet", path);
}
