/* modelfile.c — the "DCXM" model file: a trained network with its input
 * standardisation. Little-endian, byte by byte (docs/training.md):
 *   0   "DCXM"                       magic
 *   4   u32 version (1)
 *   8   u32 L, then L bytes          architecture string (no terminator)
 *       u64 in_c, in_h, in_w, classes
 *       u32 standardisation mode (0 none, 1 global, 2 per feature)
 *       u64 dim, u64 m, then m f32 means and m f32 standard deviations
 *       u64 P, then P f32 parameters (the flat buffer of nn.h)
 *   end u32 CRC-32 (zlib crc32) of every preceding byte
 * Written atomically; every count is checked against the file size before
 * anything is allocated. */
#include <string.h>
#include <zlib.h>

#include "../train/train_impl.h"
#include "nn_impl.h"

#define MODEL_VERSION 1u

dcx_status dcx_model_save(const char *path, const dcx_net *net, const dcx_standardizer *std)
{
    dcx_status st = DCX_OK;
    dcx__buf b = {0};
    size_t al = strlen(net->arch);
    dcx__buf_put(&b, "DCXM", 4);
    dcx__buf_u32(&b, MODEL_VERSION);
    dcx__buf_u32(&b, (uint32_t)al);
    dcx__buf_put(&b, net->arch, al);
    dcx__buf_u64(&b, (uint64_t)net->in_c);
    dcx__buf_u64(&b, (uint64_t)net->in_h);
    dcx__buf_u64(&b, (uint64_t)net->in_w);
    dcx__buf_u64(&b, (uint64_t)net->classes);
    dcx__buf_u32(&b, std ? (uint32_t)std->mode : 0u);
    dcx__buf_u64(&b, (uint64_t)dcx_net_input_size(net));
    dcx__buf_u64(&b, std ? (uint64_t)std->n : 0u);
    if (std) {
        dcx__buf_f32s(&b, std->mean, std->n);
        dcx__buf_f32s(&b, std->std, std->n);
    }
    dcx__buf_u64(&b, (uint64_t)net->nparams);
    dcx__buf_f32s(&b, net->params, net->nparams);
    if (b.oom) DCX_FAIL(DCX_ERR_NOMEM, "%s: out of memory", path);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < b.len; off += 1u << 30) {
        size_t chunk = b.len - off < (1u << 30) ? b.len - off : (1u << 30);
        crc = crc32(crc, b.p + off, (uInt)chunk);
    }
    dcx__buf_u32(&b, (uint32_t)crc);
    if (b.oom) DCX_FAIL(DCX_ERR_NOMEM, "%s: out of memory", path);
    DCX_TRY(dcx__write_atomic(path, b.p, b.len));
fail:
    dcx__buf_free(&b);
    return st;
}

dcx_status dcx_model_load(const char *path, dcx_net **out_net, dcx_standardizer **out_std)
{
    dcx_status st = DCX_OK;
    unsigned char *data = NULL;
    size_t len;
    dcx_net *net = NULL;
    dcx_standardizer *std = NULL;
    char arch[DCX_ARCH_MAX + 1];
    *out_net = NULL;
    if (out_std) *out_std = NULL;
    DCX_TRY(dcx__read_file(path, &data, &len));
    if (len < 4 || memcmp(data, "DCXM", 4)) DCX_FAIL(DCX_ERR_FORMAT, "%s: not a deepcx model file (bad magic)", path);
    if (len < 12) DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated model file (%zu bytes)", path, len);
    dcx__cur c = {data, len - 4, 4, 0};
    uint32_t ver = dcx__cur_u32(&c);
    if (ver != MODEL_VERSION)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: unsupported model file version %u (this deepcx reads version %u)", path, ver,
                 MODEL_VERSION);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < len - 4; off += 1u << 30) {
        size_t chunk = len - 4 - off < (1u << 30) ? len - 4 - off : (1u << 30);
        crc = crc32(crc, data + off, (uInt)chunk);
    }
    dcx__cur tail = {data, len, len - 4, 0};
    if ((uint32_t)crc != dcx__cur_u32(&tail))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: checksum mismatch: the model file is corrupt", path);
    uint32_t al = dcx__cur_u32(&c);
    if (al == 0 || al > DCX_ARCH_MAX || !dcx__cur_bytes(&c, arch, al))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: bad architecture string length %u", path, al);
    arch[al] = 0;
    uint64_t shape[4];
    for (int i = 0; i < 4; i++) shape[i] = dcx__cur_u64(&c);
    uint32_t mode = dcx__cur_u32(&c);
    uint64_t dim = dcx__cur_u64(&c), m = dcx__cur_u64(&c);
    if (c.short_read) DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated header", path);
    for (int i = 0; i < 4; i++)
        if (shape[i] > 1000000) DCX_FAIL(DCX_ERR_FORMAT, "%s: bad input shape or class count", path);
    /* size the network before building it: its parameters must fit in the
     * bytes left, so a corrupt header cannot ask for gigabytes */
    dcx_arch_sizes sz;
    st = dcx_arch_size(arch, (int64_t)shape[0], (int64_t)shape[1], (int64_t)shape[2], (int64_t)shape[3], &sz);
    if (st != DCX_OK) DCX_FAIL(DCX_ERR_FORMAT, "%s: %s", path, dcx_last_error());
    if ((uint64_t)sz.params > (c.len - c.pos) / 4)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated parameters: architecture '%s' has %lld, the file holds at most %zu",
                 path, arch, (long long)sz.params, (c.len - c.pos) / 4);
    st = dcx_net_create(arch, (int64_t)shape[0], (int64_t)shape[1], (int64_t)shape[2], (int64_t)shape[3], &net);
    if (st != DCX_OK) DCX_FAIL(DCX_ERR_FORMAT, "%s: %s", path, dcx_last_error());
    if (dim != (uint64_t)dcx_net_input_size(net)) DCX_FAIL(DCX_ERR_FORMAT, "%s: standardisation size mismatch", path);
    if (mode > 2 || m != (mode == 0 ? 0 : mode == 1 ? 1 : dim))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: bad standardisation block (mode %u, %llu entries)", path, mode,
                 (unsigned long long)m);
    DCX_ALLOC(std, 1);
    std->mode = (dcx_std_mode)mode;
    std->dim = (int64_t)dim;
    std->n = (int64_t)m;
    DCX_ALLOC(std->mean, m + 1);
    DCX_ALLOC(std->std, m + 1);
    if (!dcx__cur_f32s(&c, std->mean, (int64_t)m) || !dcx__cur_f32s(&c, std->std, (int64_t)m))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated standardisation block", path);
    uint64_t np = dcx__cur_u64(&c);
    if (c.short_read || np != (uint64_t)net->nparams)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: %llu parameters stored, architecture '%s' has %lld", path,
                 (unsigned long long)np, arch, (long long)net->nparams);
    if (!dcx__cur_f32s(&c, net->params, net->nparams)) DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated parameters", path);
    if (c.pos != c.len) DCX_FAIL(DCX_ERR_FORMAT, "%s: %zu unexpected bytes after the parameters", path, c.len - c.pos);
    free(data);
    *out_net = net;
    if (out_std)
        *out_std = std;
    else
        dcx_standardizer_free(std);
    return DCX_OK;
fail:
    free(data);
    dcx_net_free(net);
    dcx_standardizer_free(std);
    return st;
}
