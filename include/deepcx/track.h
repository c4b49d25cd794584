/* deepcx/track.h — measuring a network's observables along training
 * (SPEC §4): depth profiles on a fixed probe set at steps on a logarithmic
 * schedule and at every epoch end, one JSON line each in metrics.jsonl.
 *
 * Use from a training hook (train.h): create a tracker after the trainer
 * (whose data set is then standardised), then call dcx_tracker_on_step and
 * dcx_tracker_on_epoch from the hooks. Measuring runs forward passes on the
 * trainer's network and never touches its parameters or the training RNG,
 * so a tracked run follows exactly the trajectory of an untracked one. */
#ifndef DEEPCX_TRACK_H
#define DEEPCX_TRACK_H

#include <stdint.h>

#include "core.h"
#include "profile.h"
#include "train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_track_params {
    int per_decade;          /* schedule "log:N": about N steps per decade; default 10 */
    int64_t probe;           /* probe samples from the test split; default 10000 (all if fewer) */
    uint64_t seed;           /* probe choice and observables; default 0 */
    dcx_profile_params profile; /* observables and their settings (profile.h defaults) */
} dcx_track_params;

void dcx_track_params_default(dcx_track_params *p);

/* Parse "log:N" (N in 1..100). DCX_ERR_ARG otherwise. */
dcx_status dcx_track_schedule_parse(const char *s, int *per_decade);

/* The logarithmic schedule up to `total` steps: 0, then every distinct
 * round(10^(k/N)) <= total, k = 0, 1, 2, … Caller frees *steps. */
dcx_status dcx_track_schedule(int per_decade, int64_t total, int64_t **steps, int64_t *n);

typedef struct dcx_tracker dcx_tracker; /* opaque */

/* A tracker for `data`'s test split (copied: the probe rows are chosen from
 * the seed once and kept). `run_dir` receives the measurements. */
dcx_status dcx_tracker_create(const dcx_track_params *p, const dcx_dataset *data, const char *run_dir,
                              dcx_tracker **out);
void dcx_tracker_free(dcx_tracker *t); /* NULL: no-op */

/* Call from the step hook: accumulates the minibatch loss, and measures when
 * info->step is on the schedule. Appends the line through
 * dcx_trainer_append_metrics. */
dcx_status dcx_tracker_on_step(dcx_tracker *tr, dcx_trainer *t, const dcx_step_info *info);
/* Call from the epoch hook: measures at the epoch's last step unless the
 * schedule already did. */
dcx_status dcx_tracker_on_epoch(dcx_tracker *tr, dcx_trainer *t, const dcx_epoch_info *info);

/* The probe: *x (n, dim) standardised rows and *y (n) labels, owned by the
 * tracker (n = min(probe, held-out samples)). */
dcx_status dcx_tracker_probe(const dcx_tracker *tr, float **x, int32_t **y);

/* Seconds spent measuring, measurements made, and the last profile (owned
 * by the tracker; NULL before the first measurement). */
double dcx_tracker_seconds(const dcx_tracker *tr);
int64_t dcx_tracker_count(const dcx_tracker *tr);
const dcx_profile *dcx_tracker_last(const dcx_tracker *tr);

/* The JSON object of a profile's layers, {"layer1": {...}, ...}, as text
 * (malloc'd; caller frees). Undefined values are null. Shared by metrics
 * lines and `deepcx analyze --json`. */
char *dcx_profile_layers_json(const dcx_profile *p);

#ifdef __cplusplus
}
#endif
#endif
