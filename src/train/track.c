/* track.c — observables along training (SPEC §4): a fixed, seeded probe set
 * from the held-out split; a logarithmic schedule of steps (step 0, then
 * round(10^(k/N)), about N a decade) plus every epoch end; each measurement a
 * depth profile written as one JSON line of metrics.jsonl, flushed at once. */
#include <cJSON.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "../internal.h"

struct dcx_tracker {
    dcx_track_params p;
    char *run_dir;
    float *x;        /* (n, dim) probe, standardised like the training data */
    int32_t *y;      /* (n) */
    int64_t n, dim, n_train;
    int64_t *sched;  /* schedule up to the run's total steps (built lazily) */
    int64_t nsched, next, sched_total;
    int64_t spe;     /* steps per epoch, from the step hook */
    int64_t last_step; /* last measured step, -1 before any */
    double loss_sum; /* minibatch losses since the last measurement */
    int64_t loss_seen;
    double seconds;
    int64_t count;
    dcx_profile *last;
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dcx_track_params_default(dcx_track_params *p)
{
    memset(p, 0, sizeof *p);
    p->per_decade = 10;
    p->probe = 10000;
    dcx_profile_params_default(&p->profile);
}

dcx_status dcx_track_schedule_parse(const char *s, int *per_decade)
{
    char *end;
    if (strncmp(s, "log:", 4) != 0)
        return dcx_set_error(DCX_ERR_ARG, "schedule '%s': expected log:N (N points a decade)", s);
    long v = strtol(s + 4, &end, 10);
    if (!s[4] || *end || v < 1 || v > 100)
        return dcx_set_error(DCX_ERR_ARG, "schedule '%s': N must be an integer in [1, 100]", s);
    *per_decade = (int)v;
    return DCX_OK;
}

dcx_status dcx_track_schedule(int per_decade, int64_t total, int64_t **steps, int64_t *n)
{
    dcx_status st = DCX_OK;
    int64_t *s = NULL;
    *steps = NULL;
    *n = 0;
    if (per_decade < 1 || total < 0) DCX_FAIL(DCX_ERR_ARG, "schedule: invalid arguments");
    /* at most per_decade * decades + 1 distinct values */
    int64_t cap = (int64_t)(per_decade * (log10((double)total + 1) + 1)) + 2;
    DCX_ALLOC(s, cap);
    int64_t m = 0;
    s[m++] = 0;
    for (int k = 0;; k++) {
        double v = floor(pow(10.0, (double)k / per_decade) + 0.5);
        if (v > (double)total) break;
        int64_t iv = (int64_t)v;
        if (iv > s[m - 1]) {
            if (m == cap) DCX_FAIL(DCX_ERR_INTERNAL, "internal error: schedule capacity");
            s[m++] = iv;
        }
    }
    *steps = s;
    *n = m;
    return DCX_OK;
fail:
    free(s);
    return st;
}

dcx_status dcx_tracker_create(const dcx_track_params *p, const dcx_dataset *data, const char *run_dir,
                              dcx_tracker **out)
{
    dcx_status st = DCX_OK;
    dcx_tracker *tr = NULL;
    int64_t *idx = NULL;
    *out = NULL;
    if (data->n_test < 2) DCX_FAIL(DCX_ERR_DEGENERATE, "tracking needs a held-out split of at least 2 samples");
    if (p->probe < 2) DCX_FAIL(DCX_ERR_ARG, "probe size %lld: must be at least 2", (long long)p->probe);
    DCX_ALLOC(tr, 1);
    tr->p = *p;
    tr->last_step = -1;
    tr->dim = data->dim;
    tr->n_train = data->n_train;
    tr->n = p->probe < data->n_test ? p->probe : data->n_test;
    DCX_ALLOC(tr->run_dir, strlen(run_dir) + 1);
    strcpy(tr->run_dir, run_dir);
    /* the probe: a seeded random subset of the test split, in sorted order */
    DCX_ALLOC(idx, data->n_test);
    for (int64_t i = 0; i < data->n_test; i++) idx[i] = i;
    if (tr->n < data->n_test) {
        dcx_rng r;
        dcx_rng_seed_stream(&r, p->seed, 0x70726f6265ULL); /* "probe" */
        dcx_rng_shuffle_i64(&r, idx, data->n_test);
        qsort(idx, (size_t)tr->n, sizeof *idx, cmp_i64); /* keep the test split's order */
    }
    DCX_ALLOC(tr->x, tr->n * tr->dim);
    DCX_ALLOC(tr->y, tr->n);
    for (int64_t i = 0; i < tr->n; i++) {
        memcpy(tr->x + i * tr->dim, data->x_test + idx[i] * tr->dim, (size_t)tr->dim * sizeof(float));
        tr->y[i] = data->y_test[idx[i]];
    }
    free(idx);
    *out = tr;
    return DCX_OK;
fail:
    free(idx);
    dcx_tracker_free(tr);
    return st;
}

void dcx_tracker_free(dcx_tracker *t)
{
    if (!t) return;
    free(t->run_dir);
    free(t->x);
    free(t->y);
    free(t->sched);
    dcx_profile_free(t->last);
    free(t);
}

dcx_status dcx_tracker_probe(const dcx_tracker *tr, float **x, int32_t **y)
{
    *x = tr->x;
    *y = tr->y;
    return DCX_OK;
}

double dcx_tracker_seconds(const dcx_tracker *tr) { return tr->seconds; }
int64_t dcx_tracker_count(const dcx_tracker *tr) { return tr->count; }
const dcx_profile *dcx_tracker_last(const dcx_tracker *tr) { return tr->last; }

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *layers_object(const dcx_profile *p)
{
    cJSON *ls = cJSON_CreateObject();
    for (int l = 0; ls && l < p->nlayers; l++) {
        const dcx_layer_profile *lp = &p->layers[l];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "units", (double)lp->units);
        cJSON_AddItemToObject(o, "deff", num(lp->deff));
        cJSON_AddItemToObject(o, "pr", num(lp->pr));
        cJSON_AddItemToObject(o, "alpha", num(lp->alpha));
        if (lp->distinct >= 0) {
            cJSON_AddItemToObject(o, "unit_entropy", num(lp->unit_entropy));
            cJSON_AddItemToObject(o, "pattern_entropy", num(lp->pattern_entropy));
            cJSON_AddNumberToObject(o, "distinct", (double)lp->distinct);
            cJSON_AddNumberToObject(o, "dead", (double)lp->dead);
            cJSON_AddNumberToObject(o, "always_on", (double)lp->always_on);
            cJSON_AddNumberToObject(o, "switching", (double)lp->switching);
            cJSON_AddBoolToObject(o, "saturated", lp->saturated);
        }
        if (!isnan(lp->eps)) {
            cJSON_AddItemToObject(o, "eta1", num(lp->eta1));
            cJSON_AddItemToObject(o, "complexity", num(lp->complexity));
            cJSON_AddBoolToObject(o, "reached", lp->reached);
            cJSON_AddItemToObject(o, "gamma", num(lp->gamma));
            cJSON_AddItemToObject(o, "eta1_cum", num(lp->eta1_cum));
            cJSON_AddItemToObject(o, "complexity_cum", num(lp->complexity_cum));
            cJSON_AddBoolToObject(o, "reached_cum", lp->reached_cum);
            cJSON_AddItemToObject(o, "gamma_cum", num(lp->gamma_cum));
        }
        cJSON_AddItemToObject(ls, lp->name, o);
    }
    return ls;
}

char *dcx_profile_layers_json(const dcx_profile *p)
{
    cJSON *o = layers_object(p);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static dcx_status measure(dcx_tracker *tr, dcx_trainer *t, int64_t step, int64_t spe, int64_t batch)
{
    dcx_status st = DCX_OK;
    cJSON *line = NULL;
    char *text = NULL;
    double t0 = now_s();
    dcx_net *net = dcx_trainer_net(t);
    double ploss, pacc;
    DCX_TRY(dcx_evaluate(net, tr->x, tr->y, tr->n, &ploss, &pacc));
    dcx_profile *pr = NULL;
    dcx_profile_params pp = tr->p.profile;
    pp.seed = tr->p.seed;
    DCX_TRY(dcx_profile_net(net, tr->x, tr->n, &pp, &pr));
    dcx_profile_free(tr->last);
    tr->last = pr;
    line = cJSON_CreateObject();
    if (!line) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(line, "type", "measure");
    cJSON_AddNumberToObject(line, "step", (double)step);
    cJSON_AddNumberToObject(line, "epoch", spe > 0 ? (double)step / (double)spe : 0.0);
    /* samples seen: full epochs plus the batches of the current one */
    int64_t full = spe > 0 ? step / spe : 0, part = spe > 0 ? step % spe : 0;
    int64_t samples = full * tr->n_train + (part * batch < tr->n_train ? part * batch : tr->n_train);
    cJSON_AddNumberToObject(line, "samples", (double)samples);
    cJSON_AddItemToObject(line, "train_loss", num(tr->loss_seen ? tr->loss_sum / (double)tr->loss_seen : NAN));
    cJSON_AddItemToObject(line, "probe_loss", num(ploss));
    cJSON_AddItemToObject(line, "probe_acc", num(pacc));
    cJSON_AddItemToObject(line, "input_deff", num(pr->input_deff));
    cJSON_AddItemToObject(line, "layers", layers_object(pr));
    double secs = now_s() - t0;
    cJSON_AddNumberToObject(line, "measure_seconds", secs);
    text = cJSON_PrintUnformatted(line);
    if (!text) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
    DCX_TRY(dcx_trainer_append_metrics(t, tr->run_dir, text));
    tr->loss_sum = 0;
    tr->loss_seen = 0;
    tr->last_step = step;
    tr->count++;
    tr->seconds += now_s() - t0;
fail:
    free(text);
    cJSON_Delete(line);
    return st;
}

dcx_status dcx_tracker_on_step(dcx_tracker *tr, dcx_trainer *t, const dcx_step_info *info)
{
    if (!tr->sched || tr->sched_total != info->total_steps) {
        free(tr->sched);
        tr->sched = NULL;
        dcx_status st = dcx_track_schedule(tr->p.per_decade, info->total_steps, &tr->sched, &tr->nsched);
        if (st != DCX_OK) return st;
        tr->sched_total = info->total_steps;
        tr->next = 0;
    }
    tr->spe = info->steps_per_epoch;
    if (info->step > 0 && isfinite(info->loss)) {
        tr->loss_sum += info->loss * (double)info->batch;
        tr->loss_seen += info->batch;
    }
    while (tr->next < tr->nsched && tr->sched[tr->next] < info->step) tr->next++;
    if (tr->next < tr->nsched && tr->sched[tr->next] == info->step && tr->last_step != info->step) {
        int64_t batch = dcx_trainer_config(t)->batch;
        return measure(tr, t, info->step, info->steps_per_epoch, batch);
    }
    return DCX_OK;
}

dcx_status dcx_tracker_on_epoch(dcx_tracker *tr, dcx_trainer *t, const dcx_epoch_info *info)
{
    int64_t step = dcx_trainer_step(t);
    if (tr->last_step == step) return DCX_OK;
    (void)info;
    return measure(tr, t, step, tr->spe, dcx_trainer_config(t)->batch);
}
