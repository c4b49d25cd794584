/* deepcx/metrics.h — reading a run's metrics.jsonl as named time series.
 *
 * metrics.jsonl holds one JSON object per measurement (docs/file-formats.md).
 * Its numeric fields become series indexed by the time key (by default
 * "step"): a top-level number "train_loss" is the series "train_loss"; the
 * per-layer objects under "layers" become "<layer>.<field>", e.g.
 * "layers": {"layer1": {"deff": 12.5}} gives the series "layer1.deff"; any
 * other nested object gives its dotted path. Lines whose "type" is a string
 * other than "measure" (the trainer's per-epoch lines, "type": "epoch")
 * prefix their series with it: "epoch.test_acc". null values (an undefined
 * observable) are missing points. A last line that does not parse — a run
 * killed mid-write — is ignored and flagged; a bad line before the last one is
 * an error naming its line number. */
#ifndef DEEPCX_METRICS_H
#define DEEPCX_METRICS_H

#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_series {
    char *name;  /* "train_loss", "layer1.deff", ... */
    double *t;   /* (n) time-key values, in file order */
    double *y;   /* (n) */
    int64_t n;
} dcx_series;

typedef struct dcx_metrics {
    dcx_series *series; /* (nseries), sorted by first appearance */
    int64_t nseries;
    int64_t nlines;       /* measurements read */
    int truncated_last;   /* 1 if the last line was incomplete and ignored */
    char **layers;        /* (nlayers) layer names in order of appearance */
    int64_t nlayers;
} dcx_metrics;

/* Read `path`. `tkey` names the time field ("step" if NULL); lines without it
 * are an error. An empty file or one without any complete line is
 * DCX_ERR_FORMAT. The caller owns *out (dcx_metrics_free). */
dcx_status dcx_metrics_load(const char *path, const char *tkey, dcx_metrics **out);

/* The series called `name`, or NULL. */
const dcx_series *dcx_metrics_find(const dcx_metrics *m, const char *name);

/* NULL is a harmless no-op. */
void dcx_metrics_free(dcx_metrics *m);

#ifdef __cplusplus
}
#endif
#endif
