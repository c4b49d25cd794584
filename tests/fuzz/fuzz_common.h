/* fuzz_common.h — shared body of the reader fuzz targets: write the input to
 * a file in /dev/shm (or TMPDIR) with the target's extension, open it, read
 * every row in blocks, rewind once and read a block again, free. Any crash,
 * sanitizer report or leak is a bug in the reader. */
#ifndef DEEPCX_FUZZ_COMMON_H
#define DEEPCX_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deepcx/deepcx.h"

static void fuzz_read_all(dcx_source *s)
{
    int64_t cols = dcx_source_cols(s);
    if (cols > (1 << 20)) return; /* a legal but huge row: not worth a buffer */
    int64_t block = cols > 0 ? (1 << 16) / cols : 64;
    if (block < 1) block = 1;
    double *buf = malloc((size_t)(block * (cols > 0 ? cols : 1)) * sizeof(double));
    if (!buf) return;
    int64_t got;
    for (int pass = 0; pass < 2; pass++) {
        while (dcx_source_read(s, block, buf, &got) == DCX_OK && got > 0) {}
        if (dcx_source_rewind(s) != DCX_OK) break;
    }
    dcx_source_read(s, 1, buf, &got);
    free(buf);
}

static int fuzz_one(const uint8_t *data, size_t size, const char *ext, const dcx_open_opts *opts)
{
    static char path[256];
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        snprintf(path, sizeof path, "%s/deepcx-fuzz-%ld%s", dir, (long)getpid(), ext);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    dcx_source *s = NULL;
    if (dcx_source_open(path, opts, &s) == DCX_OK) {
        int64_t shape[DCX_MAX_NDIM];
        int nd = dcx_source_shape(s, shape);
        if (nd < 1 || nd > DCX_MAX_NDIM || shape[0] != dcx_source_rows(s)) abort();
        fuzz_read_all(s);
        dcx_source_free(s);
    } else if (dcx_last_error()[0] == '\0' || strncmp(dcx_last_error(), path, strlen(path)) != 0) {
        abort(); /* every failure must say which file */
    }
    unlink(path);
    return 0;
}

#endif
