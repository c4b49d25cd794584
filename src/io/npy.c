/* npy.c — NumPy .npy reader (format versions 1.0, 2.0 and 3.0, as specified
 * in numpy/lib/format.py): magic "\x93NUMPY", version, little-endian header
 * length (2 bytes in v1, 4 in v2/v3), then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), } padded with
 * spaces and ended by '\n', then the raw data.
 *
 * The header is parsed strictly (exactly the three keys, literal syntax), all
 * sizes are overflow-checked and compared with the real size before anything
 * is allocated. Data are read in row blocks through a byte window
 * (source_impl.h), so memory does not grow with N:
 *   C order:       the block is one contiguous run of bytes. float64 goes
 *                  straight into the caller's buffer; other types are read in
 *                  cache-sized chunks (256 KB) into a scratch buffer and
 *                  widened to double from there (a small block is read into
 *                  the tail of the caller's buffer and widened in place,
 *                  front to back: element i's 8 destination bytes never
 *                  reach raw element i+1).
 *   Fortran order: each column is contiguous; per column, the block's slice
 *                  of rows is read at its offset into a bounded scratch.
 * N-D arrays are flattened to N x prod(shape[1..]) in C order of the trailing
 * axes (as numpy's a.reshape(N, -1)), whatever the storage order. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_impl.h"

#define NPY_MAX_HEADER (1 << 20)     /* numpy itself refuses headers > 10000 bytes by default */
#define FORTRAN_CHUNK_ROWS (1 << 16) /* rows per pread in Fortran order */
#define CHUNK_BYTES (1 << 18)        /* C order: raw bytes widened per pass through the scratch */

static int host_little(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* ---- the header dict ---- */

typedef struct hparser {
    const char *p, *end;
} hparser;

static void skip_ws(hparser *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

/* A Python string literal in ' or " quotes, no escapes (none occur in valid
 * headers). Returns 0 on a syntax error. */
static int parse_str(hparser *h, char *out, size_t cap)
{
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return 0;
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || *h->p == '\n' || n + 1 >= cap) return 0;
        out[n++] = *h->p++;
    }
    if (h->p >= h->end) return 0;
    h->p++;
    out[n] = '\0';
    return 1;
}

static int lit(hparser *h, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, word, n) != 0) return 0;
    h->p += n;
    return 1;
}

/* The shape tuple: "()", "(N,)", "(N, M)", "(N, M, K)", trailing comma
 * allowed, Python 2 "L" suffixes allowed. Returns an error text or NULL. */
static const char *parse_shape(hparser *h, dcx__npy_info *info)
{
    if (!lit(h, "(")) return "'shape' is not a tuple";
    info->ndim = 0;
    for (;;) {
        skip_ws(h);
        if (lit(h, ")")) return NULL;
        if (h->p < h->end && *h->p == '-') return "negative dimension in 'shape'";
        if (h->p >= h->end || !isdigit((unsigned char)*h->p)) return "'shape' is not a tuple of integers";
        int64_t v = 0;
        while (h->p < h->end && isdigit((unsigned char)*h->p)) {
            int d = *h->p++ - '0';
            if (v > (INT64_MAX - d) / 10) return "dimension in 'shape' too large";
            v = v * 10 + d;
        }
        if (h->p < h->end && (*h->p == 'L' || *h->p == 'l')) h->p++;
        if (info->ndim >= DCX_MAX_NDIM) return "more than 8 dimensions";
        info->shape[info->ndim++] = v;
        skip_ws(h);
        if (lit(h, ",")) continue;
        skip_ws(h);
        if (lit(h, ")")) {
            /* "(5)" is not a tuple in Python: a 1-tuple needs a comma */
            if (info->ndim == 1) return "'shape' is not a tuple ('(N)' needs a comma: '(N,)')";
            return NULL;
        }
        return "'shape' is not a tuple of integers";
    }
}

static const char *dtype_family(char kind)
{
    switch (kind) {
    case 'c': return "complex";
    case 'O': return "Python objects";
    case 'U': case 'S': case 'a': return "strings";
    case 'V': return "raw or structured records";
    case 'M': case 'm': return "dates and times";
    default: return "unknown type";
    }
}

static dcx_status parse_descr(const char *name, const char *d, dcx__npy_info *h)
{
    if (strlen(d) < 3) return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt header: bad dtype '%s'", name, d);
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt header: dtype '%s' has no byte order", name, d);
    char kind = d[1];
    const char *num = d + 2;
    char *endp;
    long size = (*num >= '0' && *num <= '9') ? strtol(num, &endp, 10) : -1;
    if (size < 0 || *endp != '\0' || strchr("fiubcOUSaVMm", kind) == NULL || kind == '\0')
        return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt header: bad dtype '%s'", name, d);
    int ok = 0;
    if (kind == 'f') ok = size == 4 || size == 8;
    if (kind == 'i' || kind == 'u') ok = size == 1 || size == 2 || size == 4 || size == 8;
    if (kind == 'b') ok = size == 1;
    if (!ok) {
        if (kind == 'f') return dcx_set_error(DCX_ERR_UNSUPPORTED, "%s: unsupported dtype '%s' (float%ld; use float32 or float64)", name, d, size * 8);
        if (kind == 'i' || kind == 'u' || kind == 'b')
            return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt header: bad dtype '%s'", name, d);
        return dcx_set_error(DCX_ERR_UNSUPPORTED, "%s: unsupported dtype '%s' (%s)", name, d, dtype_family(kind));
    }
    if (order == '|' && size != 1)
        return dcx_set_error(DCX_ERR_FORMAT, "%s: corrupt header: dtype '%s' needs a byte order", name, d);
    int little = order == '<' || (order == '=' && host_little());
    h->kind = kind;
    h->isize = (int)size;
    h->swap = size > 1 && order != '|' && order != '=' && little != host_little();
    return DCX_OK;
}

static const char *kind_name(const dcx__npy_info *h)
{
    switch (h->kind) {
    case 'f': return h->isize == 4 ? "float32" : "float64";
    case 'b': return "bool";
    case 'i': return h->isize == 1 ? "int8" : h->isize == 2 ? "int16" : h->isize == 4 ? "int32" : "int64";
    default: return h->isize == 1 ? "uint8" : h->isize == 2 ? "uint16" : h->isize == 4 ? "uint32" : "uint64";
    }
}

static void shape_text(const dcx__npy_info *h, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < h->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? " x " : "", (long long)h->shape[i]);
}

dcx_status dcx__npy_read_header(dcx__bytes *b, dcx__npy_info *info)
{
    dcx_status st = DCX_OK;
    char *hdr = NULL;
    const char *name = b->name;
    unsigned char pre[12];
    memset(info, 0, sizeof *info);
    if (b->size < 10 || b->pread(b, pre, 10, 0) != DCX_OK || memcmp(pre, "\x93NUMPY", 6) != 0)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: not a .npy file (bad magic)", name);
    int major = pre[6];
    int64_t hlen, start;
    if (major == 1) {
        hlen = pre[8] | (pre[9] << 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (b->size < 12) DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated header (%lld bytes)", name, (long long)b->size);
        DCX_TRY(b->pread(b, pre, 12, 0));
        hlen = (int64_t)pre[8] | ((int64_t)pre[9] << 8) | ((int64_t)pre[10] << 16) | ((int64_t)pre[11] << 24);
        start = 12;
    } else {
        DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: unsupported .npy format version %d.%d", name, major, pre[7]);
    }
    if (hlen > NPY_MAX_HEADER)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: header length %lld is implausible", name, (long long)hlen);
    if (start + hlen > b->size)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated header: header length %lld, file holds %lld bytes", name,
                 (long long)hlen, (long long)b->size);
    DCX_ALLOC(hdr, hlen + 1);
    DCX_TRY(b->pread(b, hdr, (size_t)hlen, start));
    if (memchr(hdr, '\0', (size_t)hlen))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: NUL byte in the header dict", name);

    hparser h = {hdr, hdr + hlen};
    int seen_descr = 0, seen_fo = 0, seen_shape = 0;
    const char *err = NULL;
    char key[32], descr[sizeof info->descr];
    skip_ws(&h);
    if (!lit(&h, "{")) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: not a dict", name);
    for (;;) {
        skip_ws(&h);
        if (lit(&h, "}")) break;
        if (!parse_str(&h, key, sizeof key)) {
            err = "bad dict syntax";
            break;
        }
        skip_ws(&h);
        if (!lit(&h, ":")) {
            err = "bad dict syntax (missing ':')";
            break;
        }
        skip_ws(&h);
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = 1;
            if (h.p < h.end && *h.p == '[')
                DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: unsupported dtype (structured array with named fields)", name);
            if (!parse_str(&h, descr, sizeof descr)) {
                err = "'descr' is not a dtype string";
                break;
            }
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fo) {
            seen_fo = 1;
            if (lit(&h, "True")) info->fortran = 1;
            else if (lit(&h, "False")) info->fortran = 0;
            else {
                err = "'fortran_order' is not True or False";
                break;
            }
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            if ((err = parse_shape(&h, info)) != NULL) break;
        } else {
            DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: %s key '%s'", name,
                     (!strcmp(key, "descr") || !strcmp(key, "shape") || !strcmp(key, "fortran_order")) ? "repeated"
                                                                                                       : "unexpected",
                     key);
        }
        skip_ws(&h);
        if (lit(&h, ",")) continue;
        skip_ws(&h);
        if (lit(&h, "}")) break;
        err = "bad dict syntax (expected ',' or '}')";
        break;
    }
    if (err) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: %s", name, err);
    skip_ws(&h);
    if (h.p != h.end) DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: text after the dict", name);
    if (!seen_descr || !seen_fo || !seen_shape)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: missing key '%s'", name,
                 !seen_descr ? "descr" : !seen_fo ? "fortran_order" : "shape");
    memcpy(info->descr, descr, sizeof descr);
    DCX_TRY(parse_descr(name, descr, info));
    if (info->ndim == 0)
        DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: 0-d array (a single number), expected at least 1 dimension", name);

    info->rows = info->shape[0];
    info->cols = 1;
    int64_t count = info->rows;
    for (int i = 1; i < info->ndim; i++)
        if (!dcx__mul_ok(info->cols, info->shape[i], &info->cols)) info->cols = -1;
    char shp[200];
    shape_text(info, shp, sizeof shp);
    if (info->cols < 0 || !dcx__mul_ok(count, info->cols, &count) || !dcx__mul_ok(count, info->isize, &info->data_bytes))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: corrupt header: shape %s is too large (size overflows)", name, shp);
    if (info->cols == 0)
        DCX_FAIL(DCX_ERR_UNSUPPORTED, "%s: array of shape %s has no columns (nothing to analyse)", name, shp);
    info->data_off = start + hlen;
    if (info->data_bytes > b->size - info->data_off)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated data: header says %s %s (%lld bytes), file holds %lld bytes of data",
                 name, shp, kind_name(info), (long long)info->data_bytes, (long long)(b->size - info->data_off));
    free(hdr);
    return DCX_OK;
fail:
    free(hdr);
    return st;
}

/* ---- reading ---- */

typedef struct npy_reader {
    dcx__bytes *b;
    dcx__npy_info h;
    unsigned char *scratch; /* max(CHUNK_BYTES, FORTRAN_CHUNK_ROWS * isize) bytes */
} npy_reader;

static void swap_bytes(unsigned char *p, size_t count, int isize)
{
    for (size_t i = 0; i < count; i++, p += isize)
        for (int a = 0, z = isize - 1; a < z; a++, z--) {
            unsigned char t = p[a];
            p[a] = p[z];
            p[z] = t;
        }
}

/* Widen `count` elements at raw (stride isize) into dst[k * dstep]. raw may
 * overlap dst as described at the top of the file (dstep == 1 then). */
#define WIDEN(T)                                                          \
    for (size_t i = 0; i < count; i++) {                                  \
        T v;                                                              \
        memcpy(&v, raw + i * sizeof(T), sizeof(T));                       \
        dst[i * dstep] = (double)v;                                       \
    }

static void widen(const dcx__npy_info *h, const unsigned char *raw, size_t count, double *dst, size_t dstep)
{
    switch (h->kind) {
    case 'f':
        if (h->isize == 4) { WIDEN(float) } else { WIDEN(double) }
        break;
    case 'i':
        switch (h->isize) {
        case 1: WIDEN(int8_t) break;
        case 2: WIDEN(int16_t) break;
        case 4: WIDEN(int32_t) break;
        default: WIDEN(int64_t) break;
        }
        break;
    case 'u':
        switch (h->isize) {
        case 1: WIDEN(uint8_t) break;
        case 2: WIDEN(uint16_t) break;
        case 4: WIDEN(uint32_t) break;
        default: WIDEN(uint64_t) break;
        }
        break;
    default: /* bool: any non-zero byte is True */
        for (size_t i = 0; i < count; i++) dst[i * dstep] = raw[i] != 0;
    }
}

static dcx_status read_c(dcx_source *s, npy_reader *r, int64_t n, double *buf)
{
    const dcx__npy_info *h = &r->h;
    size_t count = (size_t)n * (size_t)s->cols;
    int64_t off = h->data_off + s->pos * s->cols * h->isize;
    dcx_status st;
    if (count == 0) return DCX_OK;
    if (h->kind == 'f' && h->isize == 8 && !h->swap) /* already doubles: straight into buf */
        return r->b->pread(r->b, buf, count * sizeof(double), off);
    if (count * (size_t)h->isize <= CHUNK_BYTES || !r->scratch) {
        /* small block: read into the tail of buf and widen in place */
        size_t nbytes = count * (size_t)h->isize;
        unsigned char *raw = (unsigned char *)buf + (count * sizeof(double) - nbytes);
        if ((st = r->b->pread(r->b, raw, nbytes, off)) != DCX_OK) return st;
        if (h->swap) swap_bytes(raw, count, h->isize);
        if (!(h->kind == 'f' && h->isize == 8)) widen(h, raw, count, buf, 1);
        return DCX_OK;
    }
    /* large block: cache-sized chunks through the scratch buffer, so that the
     * raw bytes are still in cache when they are widened */
    size_t per = CHUNK_BYTES / (size_t)h->isize;
    for (size_t done = 0; done < count; done += per) {
        size_t m = count - done < per ? count - done : per;
        if ((st = r->b->pread(r->b, r->scratch, m * (size_t)h->isize, off + (int64_t)(done * (size_t)h->isize))) != DCX_OK)
            return st;
        if (h->swap) swap_bytes(r->scratch, m, h->isize);
        widen(h, r->scratch, m, buf + done, 1);
    }
    return DCX_OK;
}

/* Position of flattened column c (C order over shape[1..]) among the
 * contiguous columns of Fortran storage (first trailing axis fastest). */
static int64_t fortran_column(const dcx__npy_info *h, int64_t c)
{
    int64_t idx[DCX_MAX_NDIM];
    for (int a = h->ndim - 1; a >= 1; a--) {
        idx[a] = c % h->shape[a];
        c /= h->shape[a];
    }
    int64_t j = 0;
    for (int a = h->ndim - 1; a >= 1; a--) j = j * h->shape[a] + idx[a];
    return j;
}

static dcx_status read_fortran(dcx_source *s, npy_reader *r, int64_t n, double *buf)
{
    const dcx__npy_info *h = &r->h;
    for (int64_t c = 0; c < s->cols; c++) {
        int64_t col_off = h->data_off + (fortran_column(h, c) * s->rows + s->pos) * h->isize;
        for (int64_t i = 0; i < n; i += FORTRAN_CHUNK_ROWS) {
            int64_t m = n - i < FORTRAN_CHUNK_ROWS ? n - i : FORTRAN_CHUNK_ROWS;
            dcx_status st = r->b->pread(r->b, r->scratch, (size_t)m * (size_t)h->isize, col_off + i * h->isize);
            if (st != DCX_OK) return st;
            if (h->swap) swap_bytes(r->scratch, (size_t)m, h->isize);
            widen(h, r->scratch, (size_t)m, buf + i * s->cols + c, (size_t)s->cols);
        }
    }
    return DCX_OK;
}

static dcx_status npy_read(dcx_source *s, int64_t n, double *buf)
{
    npy_reader *r = s->impl;
    /* a 1-D or single-column array is the same in both orders */
    if (r->h.fortran && s->cols > 1) return read_fortran(s, r, n, buf);
    return read_c(s, r, n, buf);
}

static dcx_status npy_rewind(dcx_source *s)
{
    (void)s; /* reads are positional */
    return DCX_OK;
}

static void npy_close(dcx_source *s)
{
    npy_reader *r = s->impl;
    if (!r) return;
    dcx__bytes_close(r->b);
    free(r->scratch);
    free(r);
}

static dcx_status npy_seek(dcx_source *s, int64_t row)
{
    (void)s; /* reads are positional: the next read starts at s->pos */
    (void)row;
    return DCX_OK;
}

/* The rows in place when they are native doubles in C order and the file
 * can be mapped (8-byte aligned). */
static const double *npy_map_f64(dcx_source *s, int64_t *row_base, const char **name)
{
    npy_reader *r = s->impl;
    const dcx__npy_info *h = &r->h;
    *row_base = 0;
    *name = s->name;
    if (h->kind != 'f' || h->isize != 8 || h->swap || (h->fortran && s->cols > 1) || !r->b->map) return NULL;
    const unsigned char *m = r->b->map(r->b);
    if (!m || ((uintptr_t)(m + h->data_off) & 7) != 0) return NULL;
    return (const double *)(const void *)(m + h->data_off);
}

static const dcx_source_ops npy_ops = {npy_read, npy_rewind, npy_close, npy_seek, npy_map_f64};

dcx_status dcx__npy_open_info(const char *name, dcx__bytes *b, const dcx__npy_info *info, dcx_source **out)
{
    dcx_status st = DCX_OK;
    npy_reader *r = NULL;
    *out = NULL;
    DCX_ALLOC(r, 1);
    r->b = b;
    b = NULL;
    r->h = *info;
    DCX_ALLOC(r->scratch, (size_t)FORTRAN_CHUNK_ROWS * 8 > CHUNK_BYTES ? (size_t)FORTRAN_CHUNK_ROWS * 8 : CHUNK_BYTES);
    DCX_TRY(dcx__source_new(name, &npy_ops, r, out));
    dcx_source *s = *out;
    s->rows = r->h.rows;
    s->cols = r->h.cols;
    s->ndim = r->h.ndim;
    memcpy(s->shape, r->h.shape, sizeof s->shape);
    return DCX_OK;
fail:
    dcx__bytes_close(b);
    if (r) {
        dcx__bytes_close(r->b);
        free(r->scratch);
        free(r);
    }
    return st;
}

dcx_status dcx__npy_open_bytes(const char *name, dcx__bytes *b, dcx_source **out)
{
    dcx__npy_info info;
    *out = NULL;
    dcx_status st = dcx__npy_read_header(b, &info);
    if (st != DCX_OK) {
        dcx__bytes_close(b);
        return st;
    }
    return dcx__npy_open_info(name, b, &info, out);
}

dcx_status dcx__npy_open(const char *path, const dcx_open_opts *o, dcx_source **out)
{
    (void)o;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return dcx_set_error(DCX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return dcx_set_error(DCX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    dcx__bytes *b = NULL;
    dcx_status st = dcx__bytes_file(path, fd, 1, 0, (int64_t)sb.st_size, &b);
    if (st != DCX_OK) return st;
    return dcx__npy_open_bytes(path, b, out);
}
