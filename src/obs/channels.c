/* channels.c — "channels" mode of the effective dimension for conv
 * activations: a dcx_source adapter that turns each row of an N x (C·H·W)
 * source (C-order, channel-major, as PyTorch flattens NCHW) into H·W rows
 * of C values, i.e. every spatial position becomes a sample of the C
 * channel units (N·H·W x C). It streams: one row of the inner source is held
 * at a time, so the covariance path is unchanged. */
#include <string.h>

#include "../io/source_impl.h"
#include "deepcx/dim.h"

typedef struct {
    dcx_source *inner;
    int64_t c, hw;
    double *row;    /* (c·hw) the current inner row */
    int64_t next;   /* next position (0..hw) within row; hw = row used up */
} channels_impl;

static dcx_status ch_read(dcx_source *s, int64_t n, double *buf)
{
    dcx_status st = DCX_OK;
    channels_impl *ci = s->impl;
    for (int64_t r = 0; r < n; r++) {
        if (ci->next == ci->hw) {
            int64_t got;
            DCX_TRY(dcx_source_read(ci->inner, 1, ci->row, &got));
            if (got != 1)
                DCX_FAIL(DCX_ERR_FORMAT, "%s: data ended early (channels mode)", dcx_source_name(ci->inner));
            ci->next = 0;
        }
        double *dst = buf + r * ci->c;
        for (int64_t ch = 0; ch < ci->c; ch++) dst[ch] = ci->row[ch * ci->hw + ci->next];
        ci->next++;
    }
fail:
    return st;
}

static dcx_status ch_rewind(dcx_source *s)
{
    channels_impl *ci = s->impl;
    ci->next = ci->hw;
    return dcx_source_rewind(ci->inner);
}

static void ch_close(dcx_source *s)
{
    channels_impl *ci = s->impl;
    if (!ci) return;
    dcx_source_free(ci->inner);
    free(ci->row);
    free(ci);
    s->impl = NULL;
}

static const dcx_source_ops channels_ops = {ch_read, ch_rewind, ch_close, NULL, NULL};

dcx_status dcx_source_channels(dcx_source *inner, int64_t c, int64_t h, int64_t w, dcx_source **out)
{
    dcx_status st = DCX_OK;
    channels_impl *ci = NULL;
    int64_t hw, chw, rows;
    *out = NULL;
    if (c < 1 || h < 1 || w < 1)
        DCX_FAIL(DCX_ERR_ARG, "channels mode: shape %lld,%lld,%lld must be positive", (long long)c, (long long)h,
                 (long long)w);
    if (!dcx__mul_ok(h, w, &hw) || !dcx__mul_ok(c, hw, &chw) || chw != dcx_source_cols(inner))
        DCX_FAIL(DCX_ERR_ARG, "%s: channels mode: shape C,H,W = %lld,%lld,%lld does not match the %lld columns",
                 dcx_source_name(inner), (long long)c, (long long)h, (long long)w,
                 (long long)dcx_source_cols(inner));
    if (!dcx__mul_ok(dcx_source_rows(inner), hw, &rows))
        DCX_FAIL(DCX_ERR_ARG, "%s: channels mode: too many samples", dcx_source_name(inner));
    DCX_ALLOC(ci, 1);
    DCX_ALLOC(ci->row, chw);
    ci->inner = inner;
    ci->c = c;
    ci->hw = hw;
    ci->next = hw;
    DCX_TRY(dcx__source_new(dcx_source_name(inner), &channels_ops, ci, out));
    (*out)->rows = rows;
    (*out)->cols = c;
    (*out)->ndim = 2;
    (*out)->shape[0] = rows;
    (*out)->shape[1] = c;
    return DCX_OK;
fail:
    if (ci) free(ci->row);
    free(ci);
    return st;
}
