/* bytes.c — a byte window over a region of a file, read with pread at
 * 64-bit offsets (files larger than 2 GB work; no shared file position, so
 * rewinding is free). The .npy parser reads .npy files and stored .npz
 * members through it. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "source_impl.h"

typedef struct file_bytes {
    dcx__bytes b;
    int fd;
    int own_fd;
    int64_t base;
    void *map;      /* the mapping (from base rounded down to a page), or NULL */
    size_t maplen;
    int map_tried;
} file_bytes;

/* The window mapped read-only, on first use. Reading a mapping avoids the
 * kernel's copy into a buffer (and the buffer's fresh pages): the
 * complexity measure reads X and Y in place. NULL when mmap fails (the
 * readers then use pread). */
static const unsigned char *file_map(dcx__bytes *bb)
{
    file_bytes *f = (file_bytes *)bb;
    if (!f->map_tried) {
        f->map_tried = 1;
        const long page = sysconf(_SC_PAGESIZE);
        const int64_t start = page > 0 ? f->base / page * page : 0;
        if (page > 0 && bb->size > 0 && (uint64_t)(f->base - start + bb->size) <= (uint64_t)SIZE_MAX) {
            f->maplen = (size_t)(f->base - start + bb->size);
            void *m = mmap(NULL, f->maplen, PROT_READ, MAP_SHARED, f->fd, (off_t)start);
            f->map = m == MAP_FAILED ? NULL : m;
            if (f->map) f->map = (char *)f->map + (f->base - start);
        }
    }
    return f->map;
}

static dcx_status file_pread(dcx__bytes *bb, void *buf, size_t n, int64_t off)
{
    file_bytes *f = (file_bytes *)bb;
    if (off < 0 || (uint64_t)off > (uint64_t)bb->size || n > (uint64_t)(bb->size - off))
        return dcx_set_error(DCX_ERR_FORMAT, "%s: truncated data: needs bytes %lld..%lld, the data holds %lld",
                             bb->name, (long long)off, (long long)(off + (int64_t)n), (long long)bb->size);
    char *p = buf;
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        if (want > ((size_t)1 << 30)) want = (size_t)1 << 30; /* pread caps one call near 2 GB */
        ssize_t got = pread(f->fd, p + done, want, (off_t)(f->base + off + (int64_t)done));
        if (got < 0) {
            if (errno == EINTR) continue;
            return dcx_set_error(DCX_ERR_IO, "%s: read error: %s", bb->name, strerror(errno));
        }
        if (got == 0)
            return dcx_set_error(DCX_ERR_FORMAT, "%s: truncated data: file ends at byte %lld, expected %lld",
                                 bb->name, (long long)(f->base + off + (int64_t)done),
                                 (long long)(f->base + off + (int64_t)n));
        done += (size_t)got;
    }
    return DCX_OK;
}

static void file_close(dcx__bytes *bb)
{
    file_bytes *f = (file_bytes *)bb;
    if (f->map) {
        const long page = sysconf(_SC_PAGESIZE);
        const int64_t start = page > 0 ? f->base / page * page : 0;
        munmap((char *)f->map - (f->base - start), f->maplen);
    }
    if (f->own_fd && f->fd >= 0) close(f->fd);
    free(bb->name);
    free(f);
}

dcx_status dcx__bytes_file(const char *name, int fd, int own_fd, int64_t base, int64_t size, dcx__bytes **out)
{
    dcx_status st = DCX_OK;
    file_bytes *f = NULL;
    *out = NULL;
    DCX_ALLOC(f, 1);
    size_t len = strlen(name);
    DCX_ALLOC(f->b.name, len + 1);
    memcpy(f->b.name, name, len);
    f->b.pread = file_pread;
    f->b.close = file_close;
    f->b.map = file_map;
    f->b.size = size;
    f->b.sequential = 0;
    f->fd = fd;
    f->own_fd = own_fd;
    f->base = base;
    *out = &f->b;
    return DCX_OK;
fail:
    if (f) free(f->b.name);
    free(f);
    if (own_fd && fd >= 0) close(fd);
    return st;
}

void dcx__bytes_close(dcx__bytes *b)
{
    if (b) b->close(b);
}
