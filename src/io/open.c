/* open.c — dcx_source_open: the checks every input file gets (exists, is a
 * regular file, readable, not empty) and the choice of reader, by content
 * first (magic numbers) and by extension second; and dcx_write_npy, the
 * atomic .npy writer (temporary file in the same directory + rename). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_impl.h"

typedef enum { FMT_UNKNOWN, FMT_NPY, FMT_NPZ, FMT_CSV, FMT_IDX } file_format;

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot : "";
}

static file_format by_content(const unsigned char *m, size_t n)
{
    if (n >= 6 && memcmp(m, "\x93NUMPY", 6) == 0) return FMT_NPY;
    if (n >= 4 && (memcmp(m, "PK\x03\x04", 4) == 0 || memcmp(m, "PK\x05\x06", 4) == 0)) return FMT_NPZ;
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return FMT_IDX; /* gzip: MNIST-style .gz */
    if (n >= 4 && m[0] == 0 && m[1] == 0 && m[3] >= 1 &&
        (m[2] == 0x08 || m[2] == 0x09 || m[2] == 0x0B || m[2] == 0x0C || m[2] == 0x0D || m[2] == 0x0E))
        return FMT_IDX;
    return FMT_UNKNOWN;
}

static file_format by_extension(const char *path)
{
    const char *e = extension(path);
    if (!strcasecmp(e, ".npy")) return FMT_NPY;
    if (!strcasecmp(e, ".npz")) return FMT_NPZ;
    if (!strcasecmp(e, ".csv") || !strcasecmp(e, ".tsv") || !strcasecmp(e, ".txt")) return FMT_CSV;
    if (!strcasecmp(e, ".idx") || !strcasecmp(e, ".gz") || strstr(path, "-ubyte") || strstr(path, ".idx"))
        return FMT_IDX;
    return FMT_UNKNOWN;
}

dcx_status dcx_source_open(const char *path, const dcx_open_opts *opts, dcx_source **out)
{
    dcx_status st = DCX_OK;
    int fd = -1;
    dcx_open_opts def;
    if (out) *out = NULL;
    if (!path || !out) DCX_FAIL(DCX_ERR_ARG, "dcx_source_open: NULL path or output");
    if (!opts) {
        dcx_open_opts_default(&def);
        opts = &def;
    }
    if (path[0] == '\0') DCX_FAIL(DCX_ERR_ARG, "empty file name");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) DCX_FAIL(DCX_ERR_IO, "%s: no such file", path);
        DCX_FAIL(DCX_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode)) DCX_FAIL(DCX_ERR_IO, "%s: is a directory, not a file", path);
    if (!S_ISREG(sb.st_mode)) DCX_FAIL(DCX_ERR_IO, "%s: not a regular file", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (sb.st_size == 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: empty file", path);
    unsigned char magic[8];
    ssize_t got;
    do got = pread(fd, magic, sizeof magic, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0) DCX_FAIL(DCX_ERR_IO, "%s: read error: %s", path, strerror(errno));
    close(fd);
    fd = -1;

    file_format f = by_content(magic, (size_t)got);
    if (f == FMT_UNKNOWN) f = by_extension(path);
    switch (f) {
    case FMT_NPY: return dcx__npy_open(path, opts, out);
    case FMT_NPZ: return dcx__npz_open(path, opts, out);
    case FMT_CSV: return dcx__csv_open(path, opts, out);
    case FMT_IDX: return dcx__idx_open(path, opts, out);
    default:
        DCX_FAIL(DCX_ERR_FORMAT, "%s: unknown file format (expected .npy, .npz, .csv/.tsv/.txt or IDX)", path);
    }
fail:
    if (fd >= 0) close(fd);
    return st;
}

/* ---- writing ---- */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int host_little(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

int dcx_npy_header(dcx_dtype dtype, int64_t rows, int64_t cols, char *buf)
{
    /* magic, v1.0, the dict padded with spaces so that the data start at a
     * multiple of 64 bytes, ended by '\n' (numpy's own layout) */
    int len = snprintf(buf + 10, DCX_NPY_HEADER_MAX - 10,
                       "{'descr': '<%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                       dtype == DCX_F32 ? "f4" : "f8", (long long)rows, (long long)cols);
    int total = (10 + len + 1 + 63) / 64 * 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memset(buf + 10 + len, ' ', (size_t)(total - 10 - len - 1));
    buf[total - 1] = '\n';
    return total;
}

dcx_status dcx_write_npy(const char *path, const dcx_matrix *m)
{
    dcx_status st = DCX_OK;
    char *tmp = NULL;
    unsigned char *row = NULL;
    int fd = -1, created = 0;
    if (!path || !m || m->rows < 0 || m->cols < 0 || (m->dtype != DCX_F32 && m->dtype != DCX_F64))
        DCX_FAIL(DCX_ERR_ARG, "dcx_write_npy: invalid arguments");
    size_t es = dcx_dtype_size(m->dtype);

    char hdr[DCX_NPY_HEADER_MAX];
    int total = dcx_npy_header(m->dtype, m->rows, m->cols, hdr);

    size_t plen = strlen(path);
    DCX_ALLOC(tmp, plen + 48);
    for (unsigned attempt = 0;; attempt++) {
        snprintf(tmp, plen + 48, "%s.tmp.%ld.%u", path, (long)getpid(), attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            created = 1;
            break;
        }
        if (errno != EEXIST || attempt > 100) DCX_FAIL(DCX_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    size_t rowbytes = (size_t)m->cols * es;
    if (write_all(fd, hdr, (size_t)total) != 0) goto io_fail;
    if (host_little() && m->stride == m->cols) {
        if (write_all(fd, m->data, rowbytes * (size_t)m->rows) != 0) goto io_fail;
    } else {
        DCX_ALLOC(row, rowbytes);
        for (int64_t i = 0; i < m->rows; i++) {
            memcpy(row, dcx_matrix_row(m, i), rowbytes);
            if (!host_little())
                for (size_t k = 0; k < (size_t)m->cols; k++)
                    for (size_t a = 0, z = es - 1; a < z; a++, z--) {
                        unsigned char t = row[k * es + a];
                        row[k * es + a] = row[k * es + z];
                        row[k * es + z] = t;
                    }
            if (write_all(fd, row, rowbytes) != 0) goto io_fail;
        }
    }
    if (fsync(fd) != 0 && errno != EINVAL) goto io_fail;
    if (close(fd) != 0) {
        fd = -1;
        goto io_fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) goto io_fail;
    created = 0;
    free(tmp);
    free(row);
    return DCX_OK;
io_fail:
    st = dcx_set_error(DCX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
fail:
    if (fd >= 0) close(fd);
    if (created) unlink(tmp);
    free(tmp);
    free(row);
    return st;
}
