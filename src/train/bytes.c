/* bytes.c — little-endian byte buffers and cursors for the binary files of
 * training (model file, checkpoint), whole-file reads, and the atomic writer
 * (temporary file + fsync + rename + fsync of the directory) that keeps a
 * checkpoint or model intact when the process is killed at any instant. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_impl.h"

void dcx__buf_put(dcx__buf *b, const void *data, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void dcx__buf_u32(dcx__buf *b, uint32_t v)
{
    unsigned char q[4];
    for (int i = 0; i < 4; i++) q[i] = (unsigned char)(v >> (8 * i));
    dcx__buf_put(b, q, 4);
}

void dcx__buf_u64(dcx__buf *b, uint64_t v)
{
    unsigned char q[8];
    for (int i = 0; i < 8; i++) q[i] = (unsigned char)(v >> (8 * i));
    dcx__buf_put(b, q, 8);
}

void dcx__buf_f64(dcx__buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    dcx__buf_u64(b, u);
}

void dcx__buf_f32s(dcx__buf *b, const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        dcx__buf_u32(b, u);
    }
}

void dcx__buf_free(dcx__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static const unsigned char *take(dcx__cur *c, size_t n)
{
    if (c->short_read || n > c->len - c->pos) {
        c->short_read = 1;
        return NULL;
    }
    const unsigned char *p = c->p + c->pos;
    c->pos += n;
    return p;
}

uint32_t dcx__cur_u32(dcx__cur *c)
{
    const unsigned char *p = take(c, 4);
    if (!p) return 0;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t dcx__cur_u64(dcx__cur *c)
{
    const unsigned char *p = take(c, 8);
    if (!p) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

double dcx__cur_f64(dcx__cur *c)
{
    uint64_t u = dcx__cur_u64(c);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

int dcx__cur_bytes(dcx__cur *c, void *out, size_t n)
{
    const unsigned char *p = take(c, n);
    if (!p) return 0;
    memcpy(out, p, n);
    return 1;
}

int dcx__cur_f32s(dcx__cur *c, float *out, int64_t n)
{
    if (n < 0 || (uint64_t)n > (c->len - c->pos) / 4) {
        c->short_read = 1;
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = dcx__cur_u32(c);
        memcpy(&out[i], &u, 4);
    }
    return 1;
}

dcx_status dcx__read_file(const char *path, unsigned char **data, size_t *len)
{
    dcx_status st = DCX_OK;
    unsigned char *buf = NULL;
    FILE *f = fopen(path, "rb");
    *data = NULL;
    *len = 0;
    if (!f) DCX_FAIL(DCX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) DCX_FAIL(DCX_ERR_IO, "%s: not a regular file", path);
    size_t n = (size_t)sb.st_size;
    buf = malloc(n ? n : 1);
    if (!buf) DCX_FAIL(DCX_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, n);
    if (n && fread(buf, 1, n, f) != n) DCX_FAIL(DCX_ERR_IO, "%s: read error", path);
    fclose(f);
    *data = buf;
    *len = n;
    return DCX_OK;
fail:
    if (f) fclose(f);
    free(buf);
    return st;
}

dcx_status dcx__write_atomic(const char *path, const void *buf, size_t len)
{
    dcx_status st = DCX_OK;
    char tmp[4200];
    int fd = -1;
    if (strlen(path) > 4000) return dcx_set_error(DCX_ERR_ARG, "%s: path too long", path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    const unsigned char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) DCX_FAIL(DCX_ERR_IO, "%s: write error: %s", tmp, strerror(errno));
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) DCX_FAIL(DCX_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0) {
        fd = -1;
        DCX_FAIL(DCX_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    }
    fd = -1;
    if (rename(tmp, path) != 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    char dirbuf[4200];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    int dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return DCX_OK;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    return st;
}
