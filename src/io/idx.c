/* idx.c — IDX reader (the MNIST / Fashion-MNIST format, LeCun et al.,
 * http://yann.lecun.com/exdb/mnist/), raw or gzip'd. Layout: magic 0x00 0x00
 * TT DD (TT the element type, DD the number of dimensions), DD big-endian
 * uint32 dimensions, then the elements, big-endian, in C order. Types:
 * 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
 * An idx3 image file (N, rows, cols) becomes N x (rows*cols); idx1 labels
 * become N x 1.
 *
 * The data are a big-endian C-order array, so the rows are read by npy.c's
 * reader (dcx__npy_open_info) through a byte window: the file itself when
 * raw (its size is checked at open), or a zlib gzread stream when gzip'd
 * (reading backwards = gzrewind; a short stream is found while reading and
 * reported as truncated). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "source_impl.h"

/* ---- a window over the decompressed gzip stream ---- */

typedef struct gz_bytes {
    dcx__bytes b;
    gzFile g;
    int64_t pos; /* decompressed bytes delivered so far */
    unsigned char skip[1 << 16];
} gz_bytes;

static dcx_status gz_fail(gz_bytes *z, int64_t want_end)
{
    int err = 0;
    const char *msg = gzerror(z->g, &err);
    if (err == Z_ERRNO) return dcx_set_error(DCX_ERR_IO, "%s: read error: %s", z->b.name, strerror(errno));
    if (err == Z_OK || err == Z_BUF_ERROR)
        return dcx_set_error(DCX_ERR_FORMAT, "%s: truncated data: the decompressed data end at byte %lld, expected %lld",
                             z->b.name, (long long)z->pos, (long long)want_end);
    size_t nl = strlen(z->b.name);
    if (msg && strncmp(msg, z->b.name, nl) == 0 && msg[nl] == ':' && msg[nl + 1] == ' ') msg += nl + 2;
    return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt gzip data (%s)", z->b.name, msg ? msg : "zlib error");
}

static dcx_status gz_get(gz_bytes *z, unsigned char *dst, size_t n, int64_t want_end)
{
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(z->g, dst, chunk);
        if (got <= 0) return gz_fail(z, want_end);
        z->pos += got;
        dst += got;
        n -= (size_t)got;
    }
    return DCX_OK;
}

static dcx_status gz_pread(dcx__bytes *bb, void *buf, size_t n, int64_t off)
{
    gz_bytes *z = (gz_bytes *)bb;
    dcx_status st;
    if (off < z->pos) {
        if (gzrewind(z->g) != 0) return gz_fail(z, off);
        z->pos = 0;
    }
    int64_t end = off + (int64_t)n;
    while (z->pos < off) {
        int64_t gap = off - z->pos;
        if ((st = gz_get(z, z->skip, gap < (int64_t)sizeof z->skip ? (size_t)gap : sizeof z->skip, end)) != DCX_OK)
            return st;
    }
    return gz_get(z, buf, n, end);
}

static void gz_close(dcx__bytes *bb)
{
    gz_bytes *z = (gz_bytes *)bb;
    if (z->g) gzclose(z->g);
    free(bb->name);
    free(z);
}

static dcx_status gz_window(const char *path, dcx__bytes **out)
{
    dcx_status st = DCX_OK;
    gz_bytes *z = NULL;
    *out = NULL;
    DCX_ALLOC(z, 1);
    size_t len = strlen(path);
    DCX_ALLOC(z->b.name, len + 1);
    memcpy(z->b.name, path, len);
    z->b.pread = gz_pread;
    z->b.close = gz_close;
    z->b.size = INT64_MAX; /* unknown until read */
    z->b.sequential = 1;
    z->g = gzopen(path, "rb");
    if (!z->g) DCX_FAIL(DCX_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib error");
    gzbuffer(z->g, 1 << 18);
    *out = &z->b;
    return DCX_OK;
fail:
    if (z) gz_close(&z->b);
    return st;
}

/* ---- the header ---- */

static const char *type_name(int t)
{
    switch (t) {
    case 0x08: return "ubyte";
    case 0x09: return "sbyte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return NULL;
    }
}

dcx_status dcx__idx_open(const char *path, const dcx_open_opts *o, dcx_source **out)
{
    dcx_status st = DCX_OK;
    dcx__bytes *b = NULL;
    int fd = -1;
    (void)o;
    *out = NULL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    int64_t fsize = (int64_t)sb.st_size;
    unsigned char m[4];
    int gz = 0;
    if (fsize >= 2) {
        ssize_t got = pread(fd, m, 2, 0);
        gz = got == 2 && m[0] == 0x1f && m[1] == 0x8b;
    }
    if (gz) {
        close(fd);
        fd = -1;
        DCX_TRY(gz_window(path, &b));
    } else {
        DCX_TRY(dcx__bytes_file(path, fd, 1, 0, fsize, &b));
        fd = -1;
    }

    if (gz) {
        DCX_TRY(b->pread(b, m, 4, 0)); /* its message says truncated or corrupt gzip data */
    } else if (fsize < 4 || b->pread(b, m, 4, 0) != DCX_OK) {
        DCX_FAIL(DCX_ERR_FORMAT, "%s: not an IDX file (too short for the magic number)", path);
    }
    if (m[0] != 0 || m[1] != 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: not an IDX file (bad magic)", path);
    const char *tn = type_name(m[2]);
    if (!tn) DCX_FAIL(DCX_ERR_FORMAT, "%s: not an IDX file (bad type code 0x%02X)", path, m[2]);
    int ndim = m[3];
    if (ndim == 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt IDX header: 0 dimensions", path);
    if (ndim > DCX_MAX_NDIM)
        DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: IDX file with %d dimensions (at most %d supported)", path, ndim, DCX_MAX_NDIM);

    dcx__npy_info info;
    memset(&info, 0, sizeof info);
    unsigned char d[4 * DCX_MAX_NDIM];
    if (!gz && fsize < 4 + 4 * ndim)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated IDX header: %d dimensions need %d bytes, file holds %lld", path, ndim,
                 4 + 4 * ndim, (long long)fsize);
    DCX_TRY(b->pread(b, d, (size_t)(4 * ndim), 4));
    info.ndim = ndim;
    char shp[160];
    size_t sl = 0;
    info.cols = 1;
    int64_t count = 1;
    int ok = 1;
    for (int i = 0; i < ndim; i++) {
        info.shape[i] = ((int64_t)d[4 * i] << 24) | ((int64_t)d[4 * i + 1] << 16) | ((int64_t)d[4 * i + 2] << 8) | d[4 * i + 3];
        ok = ok && dcx__mul_ok(count, info.shape[i], &count);
        if (i > 0) ok = ok && dcx__mul_ok(info.cols, info.shape[i], &info.cols);
        sl += (size_t)snprintf(shp + sl, sizeof shp - sl, "%s%lld", i ? " x " : "", (long long)info.shape[i]);
    }
    info.rows = info.shape[0];
    info.kind = m[2] == 0x08 ? 'u' : (m[2] == 0x0D || m[2] == 0x0E) ? 'f' : 'i';
    info.isize = m[2] <= 0x09 ? 1 : m[2] == 0x0B ? 2 : (m[2] == 0x0C || m[2] == 0x0D) ? 4 : 8;
    {
        const uint16_t one = 1;
        unsigned char c;
        memcpy(&c, &one, 1);
        info.swap = info.isize > 1 && c == 1; /* IDX is big-endian */
    }
    info.data_off = 4 + 4 * ndim;
    if (!ok || !dcx__mul_ok(count, info.isize, &info.data_bytes))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt IDX header: shape %s is too large (size overflows)", path, shp);
    if (info.cols == 0)
        DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: IDX array of shape %s has no columns (nothing to analyse)", path, shp);
    snprintf(info.descr, sizeof info.descr, "idx-%s", tn);
    if (!gz && info.data_bytes > fsize - info.data_off)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated data: header says %s %s (%lld bytes), file holds %lld bytes of data", path,
                 shp, tn, (long long)info.data_bytes, (long long)(fsize - info.data_off));
    /* gzip expands at most ~1032:1; a header claiming more cannot be right */
    if (gz && info.data_bytes / 1032 > fsize + 1024)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated data: header says %s %s (%lld bytes), more than a %lld-byte gzip file can hold",
                 path, shp, tn, (long long)info.data_bytes, (long long)fsize);
    if (!gz) b->size = info.data_off + info.data_bytes;
    dcx__bytes *w = b;
    b = NULL;
    return dcx__npy_open_info(path, w, &info, out);
fail:
    dcx__bytes_close(b);
    if (fd >= 0) close(fd);
    return st;
}
