/* npz.c — NumPy .npz reader: a zip archive (PKWARE APPNOTE 6.3) of .npy
 * members, written by np.savez (stored) or np.savez_compressed (deflate).
 *
 * The end-of-central-directory record (and its zip64 form) locates the
 * central directory, whose entries give each member's method, sizes, CRC-32
 * and local header offset (zip64 extra fields are honoured). The chosen
 * member is then read as a .npy through a byte window (source_impl.h):
 *   stored:   a window on the file itself, at the member's data offset;
 *   deflated: a window that inflates the raw deflate stream (zlib,
 *             -MAX_WBITS) on demand; reading backwards restarts the
 *             inflation, and the CRC-32 of the whole member is checked when
 *             the last byte comes out. A Fortran-order array, which is read
 *             column by column, is first inflated into an unlinked temporary
 *             file so that its reads are positional. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "source_impl.h"

#define ZBUF (1 << 16)
#define MAX_LISTED 8 /* member names quoted in an error message */

static uint32_t le16(const unsigned char *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static uint32_t le32(const unsigned char *p) { return le16(p) | (le16(p + 2) << 16); }
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32); }

static dcx_status read_at(int fd, const char *path, void *buf, size_t n, int64_t off)
{
    char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(fd, p + done, n - done, (off_t)(off + (int64_t)done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return dcx_set_error(DCX_ERR_IO, "%s: read error: %s", path, strerror(errno));
        if (got == 0) return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt zip archive: truncated", path);
        done += (size_t)got;
    }
    return DCX_OK;
}

/* ---- the inflating window ---- */

typedef struct inflate_bytes {
    dcx__bytes b;
    int fd;            /* owned */
    int64_t base;      /* offset of the compressed data in the file */
    int64_t csize;     /* compressed bytes */
    uint32_t crc_want;
    z_stream z;
    int z_ready;
    int64_t in_pos;    /* compressed bytes fetched */
    int64_t out_pos;   /* uncompressed bytes produced */
    int ended;         /* Z_STREAM_END seen */
    uint32_t crc;
    unsigned char in[ZBUF];
    unsigned char skip[ZBUF];
} inflate_bytes;

static dcx_status inflate_restart(inflate_bytes *f)
{
    if (inflateReset(&f->z) != Z_OK) return dcx_set_error(DCX_ERR_INTERNAL, "%s: inflateReset failed", f->b.name);
    f->z.avail_in = 0;
    f->in_pos = f->out_pos = 0;
    f->ended = 0;
    f->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    return DCX_OK;
}

/* Produce exactly n next bytes of the member into dst. */
static dcx_status inflate_out(inflate_bytes *f, unsigned char *dst, size_t n)
{
    while (n > 0) {
        if (f->ended)
            return dcx_set_error(DCX_ERR_FORMAT, "%s: truncated data: compressed stream ends after %lld bytes, %lld declared",
                                 f->b.name, (long long)f->out_pos, (long long)f->b.size);
        if (f->z.avail_in == 0) {
            int64_t left = f->csize - f->in_pos;
            if (left <= 0)
                return dcx_set_error(DCX_ERR_FORMAT, "%s: truncated data: compressed data end after %lld of %lld bytes",
                                     f->b.name, (long long)f->out_pos, (long long)f->b.size);
            size_t want = left < ZBUF ? (size_t)left : ZBUF;
            dcx_status st = read_at(f->fd, f->b.name, f->in, want, f->base + f->in_pos);
            if (st != DCX_OK) return st;
            f->in_pos += (int64_t)want;
            f->z.next_in = f->in;
            f->z.avail_in = (uInt)want;
        }
        uInt chunk = n > UINT_MAX ? UINT_MAX : (uInt)n;
        f->z.next_out = dst;
        f->z.avail_out = chunk;
        int ret = inflate(&f->z, Z_NO_FLUSH);
        size_t made = chunk - f->z.avail_out;
        if (ret == Z_STREAM_END) f->ended = 1;
        else if (ret == Z_BUF_ERROR && f->z.avail_in == 0) { /* needs more input: fetched above, or truncated */
        } else if (ret != Z_OK)
            return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt compressed data (%s)", f->b.name,
                                 f->z.msg ? f->z.msg : "inflate failed");
        f->crc = (uint32_t)crc32(f->crc, dst, (uInt)made);
        f->out_pos += (int64_t)made;
        dst += made;
        n -= made;
        if (f->out_pos > f->b.size)
            return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt archive: member larger than its declared %lld bytes",
                                 f->b.name, (long long)f->b.size);
        if (f->out_pos == f->b.size && f->crc != f->crc_want)
            return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt data: CRC-32 mismatch (archive says %08x, data give %08x)",
                                 f->b.name, (unsigned)f->crc_want, (unsigned)f->crc);
    }
    return DCX_OK;
}

static dcx_status inflate_pread(dcx__bytes *bb, void *buf, size_t n, int64_t off)
{
    inflate_bytes *f = (inflate_bytes *)bb;
    dcx_status st;
    if (off < 0 || (uint64_t)off > (uint64_t)bb->size || n > (uint64_t)(bb->size - off))
        return dcx_set_error(DCX_ERR_FORMAT, "%s: truncated data: needs bytes %lld..%lld, the member holds %lld",
                             bb->name, (long long)off, (long long)(off + (int64_t)n), (long long)bb->size);
    if (off < f->out_pos && (st = inflate_restart(f)) != DCX_OK) return st;
    while (f->out_pos < off) {
        int64_t gap = off - f->out_pos;
        if ((st = inflate_out(f, f->skip, gap < ZBUF ? (size_t)gap : ZBUF)) != DCX_OK) return st;
    }
    return inflate_out(f, buf, n);
}

static void inflate_close(dcx__bytes *bb)
{
    inflate_bytes *f = (inflate_bytes *)bb;
    if (f->z_ready) inflateEnd(&f->z);
    if (f->fd >= 0) close(f->fd);
    free(bb->name);
    free(f);
}

static dcx_status inflate_window(const char *name, int fd, int64_t base, int64_t csize, int64_t usize,
                                 uint32_t crc, dcx__bytes **out)
{
    dcx_status st = DCX_OK;
    inflate_bytes *f = NULL;
    *out = NULL;
    DCX_ALLOC(f, 1);
    f->fd = fd;
    fd = -1;
    size_t len = strlen(name);
    DCX_ALLOC(f->b.name, len + 1);
    memcpy(f->b.name, name, len);
    f->b.pread = inflate_pread;
    f->b.close = inflate_close;
    f->b.size = usize;
    f->b.sequential = 1;
    f->base = base;
    f->csize = csize;
    f->crc_want = crc;
    if (inflateInit2(&f->z, -MAX_WBITS) != Z_OK) DCX_FAIL(DCX_ERR_NOMEM, "%s: cannot initialise zlib", name);
    f->z_ready = 1;
    DCX_TRY(inflate_restart(f));
    *out = &f->b;
    return DCX_OK;
fail:
    if (f) inflate_close(&f->b);
    if (fd >= 0) close(fd);
    return st;
}

/* Inflate the whole member into an unlinked temporary file and return a
 * positional window on it (for Fortran-order arrays). Takes ownership of z. */
static dcx_status spill_to_tempfile(dcx__bytes *z, dcx__bytes **out)
{
    dcx_status st = DCX_OK;
    unsigned char *buf = NULL;
    int fd = -1;
    *out = NULL;
    const char *dir = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/deepcx-npz-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(tmpl);
    if (fd < 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot create a temporary file in %s: %s", z->name, dir && *dir ? dir : "/tmp", strerror(errno));
    unlink(tmpl);
    DCX_ALLOC(buf, 1 << 20);
    for (int64_t off = 0; off < z->size;) {
        size_t m = z->size - off < (1 << 20) ? (size_t)(z->size - off) : (size_t)1 << 20;
        DCX_TRY(z->pread(z, buf, m, off));
        for (size_t w = 0; w < m;) {
            ssize_t k = pwrite(fd, buf + w, m - w, (off_t)(off + (int64_t)w));
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot write a temporary file: %s", z->name, strerror(errno));
            w += (size_t)k;
        }
        off += (int64_t)m;
    }
    free(buf);
    buf = NULL;
    DCX_TRY(dcx__bytes_file(z->name, fd, 1, 0, z->size, out));
    fd = -1;
    dcx__bytes_close(z);
    return DCX_OK;
fail:
    free(buf);
    if (fd >= 0) close(fd);
    dcx__bytes_close(z);
    return st;
}

/* ---- the archive ---- */

typedef struct member {
    const unsigned char *name; /* inside the central directory buffer, not NUL-terminated */
    size_t name_len;
    uint32_t method, flags, crc;
    int64_t csize, usize, local_off;
} member;

static int is_npy_name(const member *m)
{
    return m->name_len >= 4 && memcmp(m->name + m->name_len - 4, ".npy", 4) == 0;
}

/* "a, b, c" (".npy" removed, at most MAX_LISTED names) into buf */
static void list_names(const member *ms, int n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len + 1 < cap; i++) {
        if (i == MAX_LISTED) {
            snprintf(buf + len, cap - len, ", ... (%d in all)", n);
            return;
        }
        int nl = (int)(is_npy_name(&ms[i]) ? ms[i].name_len - 4 : ms[i].name_len);
        if (nl > 64) nl = 64;
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", i ? ", " : "", nl, (const char *)ms[i].name);
        if (len >= cap) len = cap - 1;
    }
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 32) *p = '?';
}

dcx_status dcx__npz_open(const char *path, const dcx_open_opts *o, dcx_source **out)
{
    dcx_status st = DCX_OK;
    int fd = -1;
    unsigned char *tail = NULL, *cd = NULL;
    member *ms = NULL;
    dcx__bytes *win = NULL;
    char *mname = NULL;
    *out = NULL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) DCX_FAIL(DCX_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    int64_t fsize = (int64_t)sb.st_size;
    unsigned char sig[4];
    if (fsize < 22 || read_at(fd, path, sig, 4, 0) != DCX_OK ||
        (memcmp(sig, "PK\x03\x04", 4) != 0 && memcmp(sig, "PK\x05\x06", 4) != 0))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: not a .npz file (bad magic)", path);

    /* end of central directory: the last "PK\5\6" within 22 + 65535 bytes of the end */
    int64_t tlen = fsize < 22 + 65535 ? fsize : 22 + 65535;
    DCX_ALLOC(tail, tlen);
    DCX_TRY(read_at(fd, path, tail, (size_t)tlen, fsize - tlen));
    int64_t e = -1;
    for (int64_t i = tlen - 22; i >= 0; i--)
        if (memcmp(tail + i, "PK\x05\x06", 4) == 0 && i + 22 + (int64_t)le16(tail + i + 20) <= tlen) {
            e = i;
            break;
        }
    if (e < 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: no end-of-central-directory record", path);
    int64_t eocd_pos = fsize - tlen + e;
    uint64_t nent = le16(tail + e + 10), cd_size = le32(tail + e + 12), cd_off = le32(tail + e + 16);
    if (le16(tail + e + 4) != 0 || le16(tail + e + 6) != 0)
        DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: multi-volume zip archives are not supported", path);
    if (nent == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        /* zip64: locator (20 bytes) right before the EOCD, pointing to the zip64 EOCD (56 bytes) */
        unsigned char loc[20], z64[56];
        if (eocd_pos < 20) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: zip64 locator missing", path);
        DCX_TRY(read_at(fd, path, loc, 20, eocd_pos - 20));
        if (memcmp(loc, "PK\x06\x07", 4) != 0)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: zip64 locator missing", path);
        uint64_t z64off = le64(loc + 8);
        if (z64off > (uint64_t)fsize - 56 || fsize < 56)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: bad zip64 record offset", path);
        DCX_TRY(read_at(fd, path, z64, 56, (int64_t)z64off));
        if (memcmp(z64, "PK\x06\x06", 4) != 0)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: bad zip64 end record", path);
        nent = le64(z64 + 32);
        cd_size = le64(z64 + 40);
        cd_off = le64(z64 + 48);
    }
    if (cd_off > (uint64_t)fsize || cd_size > (uint64_t)fsize - cd_off || nent > cd_size / 46 + 1)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: central directory outside the file", path);
    if (nent == 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: empty .npz archive (no arrays)", path);
    DCX_ALLOC(cd, cd_size);
    DCX_TRY(read_at(fd, path, cd, (size_t)cd_size, (int64_t)cd_off));
    DCX_ALLOC(ms, nent);

    int n = 0;
    size_t p = 0;
    for (uint64_t k = 0; k < nent; k++) {
        if (cd_size - p < 46 || memcmp(cd + p, "PK\x01\x02", 4) != 0)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: bad central directory entry %llu", path,
                     (unsigned long long)k);
        const unsigned char *h = cd + p;
        member m = {0};
        m.flags = le16(h + 8);
        m.method = le16(h + 10);
        m.crc = le32(h + 16);
        uint64_t cs = le32(h + 20), us = le32(h + 24), lo = le32(h + 42);
        size_t nl = le16(h + 28), xl = le16(h + 30), cl = le16(h + 32);
        if (cd_size - p - 46 < nl + xl + cl)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: central directory entry %llu overruns", path,
                     (unsigned long long)k);
        m.name = h + 46;
        m.name_len = nl;
        /* zip64 extra field: the 64-bit values of the fields saturated at 0xFFFFFFFF, in this order */
        const unsigned char *x = h + 46 + nl, *xend = x + xl;
        while (xend - x >= 4) {
            uint32_t id = le16(x), sz = le16(x + 2);
            if ((size_t)(xend - x - 4) < sz) break;
            if (id == 0x0001) {
                const unsigned char *v = x + 4, *vend = v + sz;
                if (us == 0xFFFFFFFFu && vend - v >= 8) us = le64(v), v += 8;
                if (cs == 0xFFFFFFFFu && vend - v >= 8) cs = le64(v), v += 8;
                if (lo == 0xFFFFFFFFu && vend - v >= 8) lo = le64(v), v += 8;
            }
            x += 4 + sz;
        }
        if (cs > (uint64_t)fsize || lo > (uint64_t)fsize || us > (uint64_t)INT64_MAX)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: member sizes beyond the file", path);
        m.csize = (int64_t)cs;
        m.usize = (int64_t)us;
        m.local_off = (int64_t)lo;
        p += 46 + nl + xl + cl;
        if (nl > 0 && m.name[nl - 1] == '/') continue; /* a directory entry */
        ms[n++] = m;
    }
    if (n == 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: empty .npz archive (no arrays)", path);

    const member *pick = NULL;
    char names[512];
    list_names(ms, n, names, sizeof names);
    if (o && o->array_name) {
        size_t al = strlen(o->array_name);
        for (int i = 0; i < n && !pick; i++)
            if ((ms[i].name_len == al + 4 && is_npy_name(&ms[i]) && memcmp(ms[i].name, o->array_name, al) == 0) ||
                (ms[i].name_len == al && memcmp(ms[i].name, o->array_name, al) == 0))
                pick = &ms[i];
        if (!pick) DCX_FAIL(DCX_ERR_ARG, "%s: no array '%s' in the archive (arrays: %s)", path, o->array_name, names);
    } else if (n == 1) {
        pick = &ms[0];
    } else {
        DCX_FAIL(DCX_ERR_ARG, "%s: the archive holds %d arrays (%s): name the one to read", path, n, names);
    }

    size_t ml = strlen(path) + pick->name_len + 16;
    DCX_ALLOC(mname, ml);
    snprintf(mname, ml, "%s (member '%.*s')", path, (int)pick->name_len, (const char *)pick->name);
    for (char *q = mname; *q; q++)
        if ((unsigned char)*q < 32) *q = '?';
    if (pick->flags & 1) DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: encrypted member", mname);
    if (pick->method != 0 && pick->method != 8)
        DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: unsupported compression method %u (only stored and deflate)", mname,
                 (unsigned)pick->method);
    unsigned char lh[30];
    if (pick->local_off > fsize - 30) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: local header outside the file", mname);
    DCX_TRY(read_at(fd, path, lh, 30, pick->local_off));
    if (memcmp(lh, "PK\x03\x04", 4) != 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: bad local header", mname);
    int64_t data = pick->local_off + 30 + (int64_t)le16(lh + 26) + (int64_t)le16(lh + 28);
    if (data > fsize || pick->csize > fsize - data)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated archive: member data end at byte %lld, file holds %lld", mname,
                 (long long)(data + pick->csize), (long long)fsize);

    if (pick->method == 0) {
        if (pick->csize != pick->usize)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: stored member with different sizes", mname);
        DCX_TRY(dcx__bytes_file(mname, fd, 1, data, pick->usize, &win));
        fd = -1;
    } else {
        /* deflate expands at most ~1032:1: a larger declared size is a lie */
        if (pick->usize / 1032 > pick->csize + 1)
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt zip archive: %lld bytes cannot inflate to the declared %lld", mname,
                     (long long)pick->csize, (long long)pick->usize);
        DCX_TRY(inflate_window(mname, fd, data, pick->csize, pick->usize, pick->crc, &win));
        fd = -1;
        dcx__npy_info info;
        DCX_TRY(dcx__npy_read_header(win, &info));
        if (info.fortran && info.cols > 1) {
            dcx__bytes *w = win;
            win = NULL;
            DCX_TRY(spill_to_tempfile(w, &win));
        }
    }
    free(tail);
    free(cd);
    free(ms);
    free(mname);
    dcx__bytes *w = win;
    win = NULL;
    return dcx__npy_open_bytes(path, w, out);
fail:
    dcx__bytes_close(win);
    if (fd >= 0) close(fd);
    free(tail);
    free(cd);
    free(ms);
    free(mname);
    return st;
}
