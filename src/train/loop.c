/* loop.c — the training loop: seeded shuffled minibatches, forward, softmax
 * cross-entropy, backward, optimizer step with the scheduled learning rate,
 * a per-step hook, per-epoch evaluation on the held-out split, checkpoints
 * (each epoch, every N steps, every M minutes), divergence detection, and
 * the final model and summary. The only randomness after initialisation is
 * the shuffling RNG held in the trainer and saved in checkpoints, so that a
 * resumed run follows the uninterrupted trajectory bit for bit (for a fixed
 * thread count). */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train_impl.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dcx_train_config_default(dcx_train_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->data, "fashion-mnist");
    strcpy(c->arch, "mlp:256,256");
    c->epochs = 5;
    c->batch = 128;
    dcx_optim_params_default(&c->optim, DCX_OPT_SGD);
    c->schedule = DCX_SCHED_CONSTANT;
    c->standardize = DCX_STD_GLOBAL;
    c->seed = 1;
    c->threads = 1;
    c->checkpoint_minutes = 10;
}

dcx_status dcx_trainer_create(const dcx_train_config *cfg, dcx_dataset *data, dcx_trainer **out)
{
    dcx_status st = DCX_OK;
    dcx_trainer *t = NULL;
    *out = NULL;
    if (cfg->epochs < 1) return dcx_set_error(DCX_ERR_ARG, "epochs %lld must be >= 1", (long long)cfg->epochs);
    if (cfg->batch < 1) return dcx_set_error(DCX_ERR_ARG, "batch %lld must be >= 1", (long long)cfg->batch);
    DCX_ALLOC(t, 1);
    t->cfg = *cfg;
    t->data = data;
    DCX_TRY(dcx_net_create(cfg->arch, data->c, data->h, data->w, data->classes, &t->net));
    DCX_TRY(dcx_standardizer_fit(cfg->standardize, data->x_train, data->n_train, data->dim, &t->std));
    dcx_standardizer_apply(t->std, data->x_train, data->n_train);
    dcx_standardizer_apply(t->std, data->x_test, data->n_test);
    dcx_rng init;
    dcx_rng_seed_stream(&init, cfg->seed, 1);
    dcx_net_init(t->net, &init);
    dcx_rng_seed_stream(&t->rng, cfg->seed, 2);
    DCX_TRY(dcx_optim_create(&cfg->optim, dcx_net_num_params(t->net), &t->opt));
    DCX_ALLOC(t->perm, data->n_train);
    for (int64_t i = 0; i < data->n_train; i++) t->perm[i] = i;
    int64_t b = cfg->batch < data->n_train ? cfg->batch : data->n_train;
    DCX_ALLOC(t->xb, b * data->dim);
    DCX_ALLOC(t->yb, b);
    t->last_train_loss = t->last_train_acc = t->last_test_loss = t->last_test_acc = NAN;
    *out = t;
    return DCX_OK;
fail:
    dcx_trainer_free(t);
    return st;
}

void dcx_trainer_free(dcx_trainer *t)
{
    if (!t) return;
    dcx_net_free(t->net);
    dcx_standardizer_free(t->std);
    dcx_optim_free(t->opt);
    free(t->perm);
    free(t->xb);
    free(t->yb);
    free(t);
}

dcx_net *dcx_trainer_net(dcx_trainer *t) { return t->net; }
const dcx_standardizer *dcx_trainer_standardizer(const dcx_trainer *t) { return t->std; }
const dcx_train_config *dcx_trainer_config(const dcx_trainer *t) { return &t->cfg; }
int64_t dcx_trainer_step(const dcx_trainer *t) { return t->step; }

dcx_status dcx_evaluate(dcx_net *net, const float *x, const int32_t *y, int64_t n, double *loss, double *acc)
{
    dcx_status st = DCX_OK;
    const int64_t B = 128, dim = dcx_net_input_size(net);
    double total = 0;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i += B) {
        int64_t nb = n - i < B ? n - i : B;
        double l;
        int64_t c;
        DCX_TRY(dcx_net_forward(net, x + i * dim, nb));
        DCX_TRY(dcx_net_loss(net, y + i, &l, &c));
        total += l * (double)nb;
        ok += c;
    }
    if (loss) *loss = n ? total / (double)n : NAN;
    if (acc) *acc = n ? (double)ok / (double)n : NAN;
fail:
    return st;
}

static void path_in(char *out, size_t sz, const char *dir, const char *name) { snprintf(out, sz, "%s/%s", dir, name); }

static dcx_status append_metrics(dcx_trainer *t, const char *dir, const dcx_epoch_info *e)
{
    char path[4200];
    path_in(path, sizeof path, dir, "metrics.jsonl");
    FILE *f = fopen(path, "ab");
    if (!f) return dcx_set_error(DCX_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    fprintf(f,
            "{\"type\":\"epoch\",\"epoch\":%lld,\"step\":%lld,\"train_loss\":%.9g,\"train_acc\":%.6f,"
            "\"test_loss\":%.9g,\"test_acc\":%.6f,\"seconds\":%.3f,\"samples_per_sec\":%.1f,\"cpu_seconds\":%.3f}\n",
            (long long)e->epoch + 1, (long long)t->step, e->train_loss, e->train_acc, e->test_loss, e->test_acc,
            e->seconds, e->samples_per_sec, e->cpu_seconds);
    fflush(f);
    (void)fsync(fileno(f));
    long pos = ftell(f);
    int bad = ferror(f);
    fclose(f);
    if (bad || pos < 0) return dcx_set_error(DCX_ERR_IO, "%s: write error", path);
    t->metrics_len = pos;
    return DCX_OK;
}

static dcx_status write_summary(const dcx_trainer *t, const char *dir)
{
    dcx_status st = DCX_OK;
    char path[4200];
    path_in(path, sizeof path, dir, "summary.json");
    cJSON *o = cJSON_CreateObject();
    char *txt = NULL;
    if (!o) return dcx_set_error(DCX_ERR_NOMEM, "out of memory");
#define NUM(k, v) cJSON_AddItemToObject(o, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull())
    cJSON_AddStringToObject(o, "data", t->cfg.data);
    cJSON_AddStringToObject(o, "arch", t->cfg.arch);
    NUM("epochs", (double)t->cfg.epochs);
    NUM("steps", (double)t->step);
    NUM("params", (double)dcx_net_num_params(t->net));
    NUM("n_train", (double)t->data->n_train);
    NUM("n_test", (double)t->data->n_test);
    NUM("train_loss", t->last_train_loss);
    NUM("train_acc", t->last_train_acc);
    NUM("test_loss", t->last_test_loss);
    NUM("test_acc", t->last_test_acc);
    NUM("seconds", t->elapsed);
    NUM("samples_per_sec", t->elapsed > 0 ? (double)t->cfg.epochs * (double)t->data->n_train / t->elapsed : NAN);
    NUM("seed", (double)t->cfg.seed);
    NUM("threads", (double)t->cfg.threads);
    cJSON_AddStringToObject(o, "blas", dcx_blas_config());
    cJSON_AddStringToObject(o, "version", dcx_version());
#undef NUM
    txt = cJSON_Print(o);
    if (!txt) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
    size_t len = strlen(txt);
    char *withnl = realloc(txt, len + 2);
    if (!withnl) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
    txt = withnl;
    txt[len] = '\n';
    txt[len + 1] = 0;
    DCX_TRY(dcx__write_atomic(path, txt, len + 1));
fail:
    free(txt);
    cJSON_Delete(o);
    return st;
}

static dcx_status checkpoint(dcx_trainer *t, const char *dir, const dcx_train_hooks *h, int *written)
{
    char path[4200];
    path_in(path, sizeof path, dir, "checkpoint.dcx");
    /* an update can overflow the weights before the loss shows it: never
     * replace a good checkpoint with non-finite parameters */
    const float *w = dcx_net_params(t->net);
    for (int64_t i = 0, np = dcx_net_num_params(t->net); i < np; i++)
        if (!isfinite(w[i])) {
            if (*written)
                return dcx_set_error(DCX_ERR_NUMERIC,
                                     "training diverged: parameters not finite after step %lld (epoch %lld); last good "
                                     "checkpoint kept in %s",
                                     (long long)t->step, (long long)t->epoch + 1, path);
            return dcx_set_error(DCX_ERR_NUMERIC,
                                 "training diverged: parameters not finite after step %lld (epoch %lld); try a smaller --lr",
                                 (long long)t->step, (long long)t->epoch + 1);
        }
    dcx_status st = dcx_checkpoint_save(t, path);
    if (st == DCX_OK) {
        *written = 1;
        if (h && h->on_checkpoint) h->on_checkpoint(h->ctx, path, t->step);
    }
    return st;
}

dcx_status dcx_trainer_run(dcx_trainer *t, const char *run_dir, const dcx_train_hooks *hooks)
{
    dcx_status st = DCX_OK;
    const dcx_dataset *d = t->data;
    const int64_t n = d->n_train, dim = d->dim, B = t->cfg.batch < n ? t->cfg.batch : n;
    const int64_t spe = (n + B - 1) / B, total = spe * t->cfg.epochs;
    double last = now_s(), last_ckpt = last;
    int have_ckpt = 0;
    char path[4200];
    if (run_dir) {
        path_in(path, sizeof path, run_dir, "checkpoint.dcx");
        struct stat sb;
        have_ckpt = stat(path, &sb) == 0;
        /* drop metrics lines written after the state we continue from */
        path_in(path, sizeof path, run_dir, "metrics.jsonl");
        if (stat(path, &sb) == 0 && sb.st_size > t->metrics_len && truncate(path, (off_t)t->metrics_len) != 0)
            return dcx_set_error(DCX_ERR_IO, "%s: cannot truncate: %s", path, strerror(errno));
    }
    dcx_step_info si = {0};
    si.total_steps = total;
    si.steps_per_epoch = spe;
    if (t->step == 0 && hooks && hooks->on_step) {
        si.loss = NAN;
        si.lr = dcx_schedule_lr(t->cfg.schedule, t->cfg.optim.lr, 0, total);
        if (hooks->on_step(hooks->ctx, t, &si)) return DCX_ERR_ARG;
    }
    while (t->epoch < t->cfg.epochs) {
        if (t->step_in_epoch == 0) dcx_rng_shuffle_i64(&t->rng, t->perm, n);
        double ep_t0 = now_s(), ep_c0 = cpu_s();
        int64_t ep_samples = 0;
        while (t->step_in_epoch < spe) {
            int64_t i0 = t->step_in_epoch * B, nb = n - i0 < B ? n - i0 : B;
            for (int64_t i = 0; i < nb; i++) {
                int64_t s = t->perm[i0 + i];
                memcpy(t->xb + i * dim, d->x_train + s * dim, (size_t)dim * sizeof(float));
                t->yb[i] = d->y_train[s];
            }
            double loss;
            int64_t correct;
            DCX_TRY(dcx_net_forward(t->net, t->xb, nb));
            DCX_TRY(dcx_net_loss(t->net, t->yb, &loss, &correct));
            if (!isfinite(loss)) {
                if (run_dir && have_ckpt)
                    DCX_FAIL(DCX_ERR_NUMERIC,
                             "training diverged: loss is %s at step %lld (epoch %lld); last good checkpoint kept in %s/checkpoint.dcx",
                             isnan(loss) ? "NaN" : "Inf", (long long)t->step + 1, (long long)t->epoch + 1, run_dir);
                DCX_FAIL(DCX_ERR_NUMERIC, "training diverged: loss is %s at step %lld (epoch %lld); try a smaller --lr",
                         isnan(loss) ? "NaN" : "Inf", (long long)t->step + 1, (long long)t->epoch + 1);
            }
            DCX_TRY(dcx_net_backward(t->net));
            double lr = dcx_schedule_lr(t->cfg.schedule, t->cfg.optim.lr, t->step, total);
            dcx_optim_step(t->opt, dcx_net_params(t->net), dcx_net_grads(t->net), lr);
            t->ep_loss_sum += loss * (double)nb;
            t->ep_correct += correct;
            t->ep_seen += nb;
            t->step++;
            t->step_in_epoch++;
            ep_samples += nb;
            double now = now_s();
            t->elapsed += now - last;
            last = now;
            if (hooks && hooks->on_step) {
                si.step = t->step;
                si.epoch = t->epoch;
                si.step_in_epoch = t->step_in_epoch;
                si.loss = loss;
                si.correct = correct;
                si.batch = nb;
                si.lr = lr;
                si.elapsed = t->elapsed;
                if (hooks->on_step(hooks->ctx, t, &si)) {
                    st = DCX_ERR_ARG; /* the hook's own message stays */
                    goto fail;
                }
                last = now_s(); /* hook time is not training time */
            }
            if (run_dir && t->step_in_epoch < spe &&
                ((t->cfg.checkpoint_steps > 0 && t->step % t->cfg.checkpoint_steps == 0) ||
                 (t->cfg.checkpoint_minutes > 0 && now - last_ckpt >= 60.0 * t->cfg.checkpoint_minutes))) {
                DCX_TRY(checkpoint(t, run_dir, hooks, &have_ckpt));
                last_ckpt = now_s();
            }
        }
        double train_time = now_s() - ep_t0, train_cpu = cpu_s() - ep_c0;
        dcx_epoch_info e = {0};
        e.epoch = t->epoch;
        e.train_loss = t->ep_seen ? t->ep_loss_sum / (double)t->ep_seen : NAN;
        e.train_acc = t->ep_seen ? (double)t->ep_correct / (double)t->ep_seen : NAN;
        DCX_TRY(dcx_evaluate(t->net, d->x_test, d->y_test, d->n_test, &e.test_loss, &e.test_acc));
        e.seconds = now_s() - ep_t0;
        e.samples_per_sec = train_time > 0 ? (double)ep_samples / train_time : NAN;
        e.cpu_seconds = train_cpu;
        t->last_train_loss = e.train_loss;
        t->last_train_acc = e.train_acc;
        t->last_test_loss = e.test_loss;
        t->last_test_acc = e.test_acc;
        t->epoch++;
        t->step_in_epoch = 0;
        t->ep_loss_sum = 0;
        t->ep_correct = t->ep_seen = 0;
        if (run_dir) DCX_TRY(append_metrics(t, run_dir, &e));
        if (hooks && hooks->on_epoch && hooks->on_epoch(hooks->ctx, t, &e)) {
            st = DCX_ERR_ARG;
            goto fail;
        }
        if (run_dir) {
            DCX_TRY(checkpoint(t, run_dir, hooks, &have_ckpt));
            last_ckpt = now_s();
        }
        last = now_s();
    }
    if (run_dir) {
        path_in(path, sizeof path, run_dir, "model.dcx");
        DCX_TRY(dcx_model_save(path, t->net, t->std));
        DCX_TRY(write_summary(t, run_dir));
    }
fail:
    return st;
}

dcx_status dcx_trainer_append_metrics(dcx_trainer *t, const char *run_dir, const char *line)
{
    char path[4200];
    path_in(path, sizeof path, run_dir, "metrics.jsonl");
    FILE *f = fopen(path, "ab");
    if (!f) return dcx_set_error(DCX_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    fputs(line, f);
    fputc('\n', f);
    fflush(f);
    (void)fsync(fileno(f));
    long pos = ftell(f);
    int bad = ferror(f);
    fclose(f);
    if (bad || pos < 0) return dcx_set_error(DCX_ERR_IO, "%s: write error", path);
    t->metrics_len = pos; /* a checkpoint taken now covers this line */
    return DCX_OK;
}
