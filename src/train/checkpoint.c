/* checkpoint.c — the training checkpoint "DCXC": everything an exact resume
 * needs. Little-endian:
 *   "DCXC", u32 version (1), u32 L + L bytes architecture,
 *   u64 n_train, u64 P (parameters), u64 S (optimizer state floats),
 *   u64 epoch, u64 step_in_epoch, u64 step, u64 optimizer updates,
 *   4 x u64 shuffling-RNG state, f64 epoch loss sum, u64 epoch correct,
 *   u64 epoch seen, f64 elapsed seconds, u64 metrics.jsonl length,
 *   4 x f64 last train loss/acc, test loss/acc,
 *   n_train x u64 epoch order, P x f32 parameters, S x f32 optimizer state,
 *   u32 CRC-32 of every preceding byte.
 * Written atomically (dcx__write_atomic), so a kill at any instant leaves
 * either the previous or the new checkpoint. */
#include <string.h>
#include <zlib.h>

#include "train_impl.h"

#define CKPT_VERSION 1u

static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < n; off += 1u << 30) {
        size_t chunk = n - off < (1u << 30) ? n - off : (1u << 30);
        crc = crc32(crc, p + off, (uInt)chunk);
    }
    return (uint32_t)crc;
}

dcx_status dcx_checkpoint_save(const dcx_trainer *t, const char *path)
{
    dcx_status st = DCX_OK;
    dcx__buf b = {0};
    dcx_optim *opt = t->opt;
    size_t al = strlen(t->cfg.arch);
    dcx__buf_put(&b, "DCXC", 4);
    dcx__buf_u32(&b, CKPT_VERSION);
    dcx__buf_u32(&b, (uint32_t)al);
    dcx__buf_put(&b, t->cfg.arch, al);
    dcx__buf_u64(&b, (uint64_t)t->data->n_train);
    dcx__buf_u64(&b, (uint64_t)dcx_net_num_params(t->net));
    dcx__buf_u64(&b, (uint64_t)dcx_optim_state_size(opt));
    dcx__buf_u64(&b, (uint64_t)t->epoch);
    dcx__buf_u64(&b, (uint64_t)t->step_in_epoch);
    dcx__buf_u64(&b, (uint64_t)t->step);
    dcx__buf_u64(&b, (uint64_t)dcx_optim_steps(opt));
    for (int i = 0; i < 4; i++) dcx__buf_u64(&b, t->rng.s[i]);
    dcx__buf_f64(&b, t->ep_loss_sum);
    dcx__buf_u64(&b, (uint64_t)t->ep_correct);
    dcx__buf_u64(&b, (uint64_t)t->ep_seen);
    dcx__buf_f64(&b, t->elapsed);
    dcx__buf_u64(&b, (uint64_t)t->metrics_len);
    dcx__buf_f64(&b, t->last_train_loss);
    dcx__buf_f64(&b, t->last_train_acc);
    dcx__buf_f64(&b, t->last_test_loss);
    dcx__buf_f64(&b, t->last_test_acc);
    for (int64_t i = 0; i < t->data->n_train; i++) dcx__buf_u64(&b, (uint64_t)t->perm[i]);
    dcx__buf_f32s(&b, dcx_net_params(t->net), dcx_net_num_params(t->net));
    dcx__buf_f32s(&b, dcx_optim_state(opt), dcx_optim_state_size(opt));
    if (b.oom) DCX_FAIL(DCX_ERR_NOMEM, "%s: out of memory", path);
    dcx__buf_u32(&b, crc_of(b.p, b.len));
    if (b.oom) DCX_FAIL(DCX_ERR_NOMEM, "%s: out of memory", path);
    DCX_TRY(dcx__write_atomic(path, b.p, b.len));
fail:
    dcx__buf_free(&b);
    return st;
}

dcx_status dcx_checkpoint_load(dcx_trainer *t, const char *path)
{
    dcx_status st = DCX_OK;
    unsigned char *data = NULL, *seen = NULL;
    size_t len;
    int64_t *perm = NULL;
    float *params = NULL, *state = NULL;
    char arch[DCX_ARCH_MAX + 1];
    DCX_TRY(dcx__read_file(path, &data, &len));
    if (len < 4 || memcmp(data, "DCXC", 4)) DCX_FAIL(DCX_ERR_FORMAT, "%s: not a deepcx checkpoint (bad magic)", path);
    if (len < 12) DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated checkpoint", path);
    dcx__cur c = {data, len - 4, 4, 0};
    uint32_t ver = dcx__cur_u32(&c);
    if (ver != CKPT_VERSION) DCX_FAIL(DCX_ERR_FORMAT, "%s: unsupported checkpoint version %u", path, ver);
    dcx__cur tail = {data, len, len - 4, 0};
    if (crc_of(data, len - 4) != dcx__cur_u32(&tail))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: checksum mismatch: the checkpoint is corrupt", path);
    uint32_t al = dcx__cur_u32(&c);
    if (al > DCX_ARCH_MAX || !dcx__cur_bytes(&c, arch, al)) DCX_FAIL(DCX_ERR_FORMAT, "%s: bad header", path);
    arch[al] = 0;
    if (strcmp(arch, t->cfg.arch))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: checkpoint of architecture '%s', not '%s'", path, arch, t->cfg.arch);
    uint64_t n = dcx__cur_u64(&c), np = dcx__cur_u64(&c), ns = dcx__cur_u64(&c);
    if (n != (uint64_t)t->data->n_train || np != (uint64_t)dcx_net_num_params(t->net) ||
        ns != (uint64_t)dcx_optim_state_size(t->opt))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: checkpoint sizes (%llu samples, %llu parameters) do not match this run", path,
                 (unsigned long long)n, (unsigned long long)np);
    int64_t epoch = (int64_t)dcx__cur_u64(&c), sie = (int64_t)dcx__cur_u64(&c), step = (int64_t)dcx__cur_u64(&c);
    int64_t ot = (int64_t)dcx__cur_u64(&c);
    dcx_rng rng;
    for (int i = 0; i < 4; i++) rng.s[i] = dcx__cur_u64(&c);
    double ls = dcx__cur_f64(&c);
    int64_t ec = (int64_t)dcx__cur_u64(&c), es = (int64_t)dcx__cur_u64(&c);
    double el = dcx__cur_f64(&c);
    int64_t ml = (int64_t)dcx__cur_u64(&c);
    double last[4];
    for (int i = 0; i < 4; i++) last[i] = dcx__cur_f64(&c);
    if (c.short_read) DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated checkpoint", path);
    int64_t B = t->cfg.batch < (int64_t)n ? t->cfg.batch : (int64_t)n, spe = ((int64_t)n + B - 1) / B;
    if (epoch < 0 || epoch > t->cfg.epochs || sie < 0 || sie > spe || step != epoch * spe + sie || ot != step ||
        ml < 0)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: inconsistent position (epoch %lld, step %lld) for this configuration", path,
                 (long long)epoch, (long long)step);
    if ((len - 4 - c.pos) != n * 8 + np * 4 + ns * 4)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: size does not match its header", path);
    DCX_ALLOC(perm, n);
    DCX_ALLOC(seen, n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = dcx__cur_u64(&c);
        if (v >= n || seen[v]) DCX_FAIL(DCX_ERR_FORMAT, "%s: the stored sample order is not a permutation", path);
        seen[v] = 1;
        perm[i] = (int64_t)v;
    }
    DCX_ALLOC(params, np + 1);
    DCX_ALLOC(state, ns + 1);
    if (!dcx__cur_f32s(&c, params, (int64_t)np) || !dcx__cur_f32s(&c, state, (int64_t)ns))
        DCX_FAIL(DCX_ERR_FORMAT, "%s: truncated checkpoint", path);
    /* all checks passed: commit */
    memcpy(t->perm, perm, n * sizeof(int64_t));
    memcpy(dcx_net_params(t->net), params, np * sizeof(float));
    memcpy(dcx_optim_state(t->opt), state, ns * sizeof(float));
    dcx_optim_set_steps(t->opt, ot);
    t->rng = rng;
    t->epoch = epoch;
    t->step_in_epoch = sie;
    t->step = step;
    t->ep_loss_sum = ls;
    t->ep_correct = ec;
    t->ep_seen = es;
    t->elapsed = el;
    t->metrics_len = ml;
    t->last_train_loss = last[0];
    t->last_train_acc = last[1];
    t->last_test_loss = last[2];
    t->last_test_acc = last[3];
fail:
    free(data);
    free(seen);
    free(perm);
    free(params);
    free(state);
    return st;
}
