/* cmd_train.c — `deepcx train`: train an MLP or CNN on a data set into a run
 * directory (config.json, checkpoint.dcx, metrics.jsonl, model.dcx,
 * summary.json), optionally resuming an interrupted run exactly. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: deepcx train --data SPEC --arch SPEC --run DIR [options]\n"
            "\n"
            "Train a network on CPU (float32, OpenBLAS) with softmax cross-entropy.\n"
            "\n"
            "  --data SPEC        fashion-mnist (default), idx:DIR, cifar10:DIR, csv:FILE,\n"
            "                     gmm:classes=10,d=20,n=10000, manifold:d=4,D=100,classes=10,n=20000\n"
            "  --arch SPEC        mlp:256,256 (default) or cnn:c16k5p2,pool2,c32k5p2,pool2,fc128\n"
            "                     (cNkK[pP][sS] conv+ReLU, poolK max-pool, fcN dense+ReLU;\n"
            "                     the final dense layer to the classes is implicit)\n"
            "  --run DIR          run directory (created; must not hold a run unless --resume)\n"
            "  --resume           continue the run in DIR from its last checkpoint (same settings)\n"
            "  --epochs E         epochs (default 5)\n"
            "  --batch B          minibatch size (default 128)\n"
            "  --optimizer NAME   sgd (default) or adam\n"
            "  --lr X             learning rate (default 0.05 for sgd, 0.001 for adam)\n"
            "  --momentum X       SGD momentum (default 0.9)\n"
            "  --weight-decay X   L2 weight decay added to the gradient (default 0)\n"
            "  --schedule S       constant (default) or cosine (per step, to 0)\n"
            "  --standardize M    global (default), feature or none; statistics of the train split\n"
            "  --seed S           seed of initialisation, shuffling, synthetic data (default 1)\n"
            "  --threads T        threads (default: all cores): BLAS's for an MLP, the conv layers'\n"
            "                     own for a CNN; results are reproducible for a fixed T (for a CNN,\n"
            "                     the same for any T), and bit-identical across --resume\n"
            "  --checkpoint-minutes M  checkpoint every M minutes (default 10; 0 off); always each epoch\n"
            "  --checkpoint-steps N    also checkpoint every N steps (default 0: off)\n"
            "\n"
            "Tracking the observables along training (docs/observables.md §4):\n"
            "  --track LIST       measure dim,complexity,patterns (any of them, or all) of every layer\n"
            "                     on a fixed probe set; one JSON line per measurement in metrics.jsonl\n"
            "  --track-schedule log:N  measure at step 0 and about N steps a decade (default log:10),\n"
            "                     and at every epoch end\n"
            "  --probe N          probe samples from the held-out split (default 10000, all if fewer)\n"
            "  --track-seed S     seed of the probe choice and the observables (default 0)\n"
            "Tracking never changes the trajectory: the weights are those of an untracked run.\n"
            "Its cost is reported in summary.json (tracking_seconds, tracking_share).\n"
            "\n"
            "Prints one line per epoch on stdout; a progress bar on stderr when it is a terminal.\n"
            "See docs/training.md.\n");
}

typedef struct {
    dcx_tracker *tracker; /* NULL without --track */
    int tty;
    double last, t0;
    int64_t samples0;
    int64_t seen;
    double loss_sum;
    int64_t correct;
    int64_t epochs;
    int drawn;
} progress;

static int on_step(void *ctx, dcx_trainer *t, const dcx_step_info *s)
{
    progress *p = ctx;
    if (p->tracker) {
        if (p->tty && p->drawn) {
            fprintf(stderr, "\r  measuring observables at step %lld ...%40s", (long long)s->step, "");
            fflush(stderr);
        }
        if (dcx_tracker_on_step(p->tracker, t, s) != DCX_OK) return 1;
    }
    if (s->step == 0 || !p->tty) return 0;
    p->seen += s->batch;
    p->loss_sum += s->loss * (double)s->batch;
    p->correct += s->correct;
    double now = cli_now();
    if (now - p->last < 0.2 && s->step_in_epoch < s->steps_per_epoch) return 0;
    p->last = now;
    double f = (double)s->step_in_epoch / (double)s->steps_per_epoch;
    char bar[32];
    int fill = (int)(f * 20 + 0.5);
    for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = 0;
    fprintf(stderr, "\repoch %lld/%lld [%s] %5.1f%%  loss %.4f  acc %5.2f%%  %7.0f samples/s ", (long long)s->epoch + 1,
            (long long)p->epochs, bar, 100 * f, p->loss_sum / (double)p->seen, 100.0 * (double)p->correct / (double)p->seen,
            (double)p->seen / (now - p->t0));
    fflush(stderr);
    p->drawn = 1;
    return 0;
}

static int on_epoch(void *ctx, dcx_trainer *t, const dcx_epoch_info *e)
{
    progress *p = ctx;
    if (p->tracker && dcx_tracker_on_epoch(p->tracker, t, e) != DCX_OK) return 1;
    if (p->drawn) {
        fprintf(stderr, "\r%100s\r", "");
        p->drawn = 0;
    }
    p->seen = 0;
    p->loss_sum = 0;
    p->correct = 0;
    p->t0 = cli_now();
    printf("epoch %lld/%lld  train loss %.4f acc %6.2f%%  test loss %.4f acc %6.2f%%  %.1fs  %.0f samples/s\n",
           (long long)e->epoch + 1, (long long)dcx_trainer_config(t)->epochs, e->train_loss, 100 * e->train_acc,
           e->test_loss, 100 * e->test_acc, e->seconds, e->samples_per_sec);
    fflush(stdout);
    return 0;
}

/* Record the tracking cost in summary.json (seconds, share of wall time). */
static int add_tracking_cost(const char *run, const dcx_tracker *tr)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.json", run);
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("%s: cannot read", path);
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *o = cJSON_Parse(buf);
    if (!o) return cli_error("%s: not valid JSON", path);
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(o, "seconds");
    double train = cJSON_IsNumber(secs) ? secs->valuedouble : 0, tk = dcx_tracker_seconds(tr);
    cJSON_AddNumberToObject(o, "tracking_seconds", tk);
    cJSON_AddNumberToObject(o, "tracking_measurements", (double)dcx_tracker_count(tr));
    cJSON_AddItemToObject(o, "tracking_share", cli_json_num(train + tk > 0 ? tk / (train + tk) : NAN));
    int rc = cli_json_write(path, o);
    cJSON_Delete(o);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    enum { O_DATA = 256, O_ARCH, O_RUN, O_RESUME, O_EPOCHS, O_BATCH, O_OPT, O_LR, O_MOM, O_WD, O_SCHED, O_STD,
           O_SEED, O_THREADS, O_CKMIN, O_CKSTEPS, O_TRACK, O_TSCHED, O_PROBE, O_TSEED, O_HELP };
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA},     {"arch", required_argument, 0, O_ARCH},
        {"run", required_argument, 0, O_RUN},       {"resume", no_argument, 0, O_RESUME},
        {"epochs", required_argument, 0, O_EPOCHS}, {"batch", required_argument, 0, O_BATCH},
        {"optimizer", required_argument, 0, O_OPT}, {"lr", required_argument, 0, O_LR},
        {"momentum", required_argument, 0, O_MOM},  {"weight-decay", required_argument, 0, O_WD},
        {"schedule", required_argument, 0, O_SCHED}, {"standardize", required_argument, 0, O_STD},
        {"seed", required_argument, 0, O_SEED},     {"threads", required_argument, 0, O_THREADS},
        {"checkpoint-minutes", required_argument, 0, O_CKMIN},
        {"checkpoint-steps", required_argument, 0, O_CKSTEPS},
        {"track", required_argument, 0, O_TRACK},   {"track-schedule", required_argument, 0, O_TSCHED},
        {"probe", required_argument, 0, O_PROBE},   {"track-seed", required_argument, 0, O_TSEED},
        {"help", no_argument, 0, O_HELP},           {0, 0, 0, 0}};
    dcx_track_params tp;
    dcx_track_params_default(&tp);
    int track = 0;
    dcx_train_config cfg;
    dcx_train_config_default(&cfg);
    const char *run = NULL;
    int resume = 0, have_lr = 0, have_mom = 0;
    double lr = 0, mom = 0;
    int64_t threads = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA:
            if (strlen(optarg) >= sizeof cfg.data) return cli_usage_error("--data: spec too long");
            strcpy(cfg.data, optarg);
            break;
        case O_ARCH:
            if (strlen(optarg) > DCX_ARCH_MAX) return cli_usage_error("--arch: longer than %d bytes", DCX_ARCH_MAX);
            strcpy(cfg.arch, optarg);
            break;
        case O_RUN: run = optarg; break;
        case O_RESUME: resume = 1; break;
        case O_EPOCHS:
            if (!cli_parse_i64("--epochs", optarg, 1, 100000, &cfg.epochs)) return CLI_EXIT_INPUT;
            break;
        case O_BATCH:
            if (!cli_parse_i64("--batch", optarg, 1, 1 << 20, &cfg.batch)) return CLI_EXIT_INPUT;
            break;
        case O_OPT:
            if (!strcmp(optarg, "sgd"))
                cfg.optim.kind = DCX_OPT_SGD;
            else if (!strcmp(optarg, "adam"))
                cfg.optim.kind = DCX_OPT_ADAM;
            else
                return cli_usage_error("--optimizer: unknown optimizer '%s' (sgd or adam)", optarg);
            break;
        case O_LR:
            if (!cli_parse_f64("--lr", optarg, 1e-12, 1e6, &lr)) return CLI_EXIT_INPUT;
            have_lr = 1;
            break;
        case O_MOM:
            if (!cli_parse_f64("--momentum", optarg, 0, 0.999999, &mom)) return CLI_EXIT_INPUT;
            have_mom = 1;
            break;
        case O_WD:
            if (!cli_parse_f64("--weight-decay", optarg, 0, 1e3, &cfg.optim.weight_decay)) return CLI_EXIT_INPUT;
            break;
        case O_SCHED:
            if (!strcmp(optarg, "constant"))
                cfg.schedule = DCX_SCHED_CONSTANT;
            else if (!strcmp(optarg, "cosine"))
                cfg.schedule = DCX_SCHED_COSINE;
            else
                return cli_usage_error("--schedule: unknown schedule '%s' (constant or cosine)", optarg);
            break;
        case O_STD: {
            int m = dcx_std_mode_parse(optarg);
            if (m < 0) return cli_usage_error("--standardize: unknown mode '%s' (global, feature or none)", optarg);
            cfg.standardize = (dcx_std_mode)m;
            break;
        }
        case O_SEED:
            if (!cli_parse_u64("--seed", optarg, &cfg.seed)) return CLI_EXIT_INPUT;
            break;
        case O_THREADS:
            if (!cli_parse_i64("--threads", optarg, 1, 1024, &threads)) return CLI_EXIT_INPUT;
            break;
        case O_CKMIN:
            if (!cli_parse_f64("--checkpoint-minutes", optarg, 0, 1e6, &cfg.checkpoint_minutes)) return CLI_EXIT_INPUT;
            break;
        case O_CKSTEPS:
            if (!cli_parse_i64("--checkpoint-steps", optarg, 0, INT64_MAX / 2, &cfg.checkpoint_steps))
                return CLI_EXIT_INPUT;
            break;
        case O_TRACK:
            if (dcx_obs_parse(optarg, &tp.profile.observables) != DCX_OK)
                return cli_usage_error("--track: %s", dcx_last_error());
            track = 1;
            break;
        case O_TSCHED:
            if (dcx_track_schedule_parse(optarg, &tp.per_decade) != DCX_OK)
                return cli_usage_error("--track-schedule: %s", dcx_last_error());
            break;
        case O_PROBE:
            if (!cli_parse_i64("--probe", optarg, 2, INT64_MAX / 2, &tp.probe)) return CLI_EXIT_INPUT;
            break;
        case O_TSEED:
            if (!cli_parse_u64("--track-seed", optarg, &tp.seed)) return CLI_EXIT_INPUT;
            break;
        case O_HELP: usage(stdout); return 0;
        default: return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!run) return cli_usage_error("--run DIR is required");
    /* optimizer defaults first, then the explicit values */
    double wd = cfg.optim.weight_decay;
    dcx_optim_params_default(&cfg.optim, cfg.optim.kind);
    cfg.optim.weight_decay = wd;
    if (have_lr) cfg.optim.lr = lr;
    if (have_mom) {
        if (cfg.optim.kind != DCX_OPT_SGD) return cli_usage_error("--momentum applies to --optimizer sgd only");
        cfg.optim.momentum = mom;
    }
    dcx_set_threads((int)threads);
    cfg.threads = dcx_get_threads();

    int ret = CLI_EXIT_OK, has_ckpt = 0;
    progress p = {0};
    dcx_status st;
    dcx_dataset *data = NULL;
    dcx_trainer *t = NULL;
    if (resume && (st = dcx_run_prepare(run, &cfg, 1, &has_ckpt)) != DCX_OK) return cli_lib_error(st);
    if (!resume) {
        /* fail before any work if the run directory cannot be used */
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/config.json", run);
        if (access(probe, F_OK) == 0)
            return cli_error("%s: already holds a run (config.json); use --resume or another --run", run);
        snprintf(probe, sizeof probe, "%s/x", run);
        if (access(run, F_OK) == 0 && (ret = cli_check_output(probe)) != 0) return ret;
    }
    if ((st = dcx_data_load(cfg.data, cfg.seed, &data)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    if ((st = dcx_trainer_create(&cfg, data, &t)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    if (!resume && (st = dcx_run_prepare(run, &cfg, 0, NULL)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    if (has_ckpt) {
        char path[4200];
        snprintf(path, sizeof path, "%s/checkpoint.dcx", run);
        if ((st = dcx_checkpoint_load(t, path)) != DCX_OK) {
            ret = cli_lib_error(st);
            goto done;
        }
        fprintf(stderr, "deepcx train: resuming %s at step %lld\n", run, (long long)dcx_trainer_step(t));
    }
    if (track && (st = dcx_tracker_create(&tp, data, run, &p.tracker)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    p.tty = isatty(2);
    p.t0 = p.last = cli_now();
    p.epochs = cfg.epochs;
    dcx_train_hooks hooks = {&p, on_step, on_epoch, NULL};
    st = dcx_trainer_run(t, run, &hooks);
    if (p.drawn) fprintf(stderr, "\r%100s\r", "");
    if (st != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    if (p.tracker) {
        ret = add_tracking_cost(run, p.tracker);
        if (ret) goto done;
        printf("tracking: %lld measurements, %.1f s, in %s/metrics.jsonl\n",
               (long long)dcx_tracker_count(p.tracker), dcx_tracker_seconds(p.tracker), run);
    }
    printf("model: %s/model.dcx\n", run);
done:
    dcx_tracker_free(p.tracker);
    dcx_trainer_free(t);
    dcx_data_free(data);
    return ret;
}
