/* cmd_demo.c — `deepcx demo`: the main job. Trains mlp:256,256,256 on
 * Fashion-MNIST while tracking every observable of every layer, fits the
 * power laws of their dynamics, draws the report, and prints the final depth
 * table and the fitted exponents. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

static void help(void)
{
    printf("usage: deepcx demo [--run DIR] [--quick] [--epochs E] [--probe N] [--seed S] [--threads T]\n"
           "\n"
           "The main job, end to end: train mlp:256,256,256 on Fashion-MNIST (Debian's\n"
           "dataset-fashion-mnist; without it, the synthetic 'manifold' data set, with a warning)\n"
           "with SGD-momentum, measuring every layer's effective dimension, pattern entropies and\n"
           "complexity on a fixed probe set along a logarithmic schedule of steps; then fit the\n"
           "power laws of every series (deepcx fit), draw the figures and the HTML page (deepcx\n"
           "report), and print the final depth table and the fitted exponents.\n"
           "\n"
           "options:\n"
           "  --run DIR     run directory (default runs/demo-YYYYmmdd-HHMMSS)\n"
           "  --quick       a smoke test: 1 epoch, 2,000 probe samples, 3 measurements a decade\n"
           "                (about a minute on 2 cores)\n"
           "  --epochs E    epochs (default 5; quick 1)\n"
           "  --probe N     probe samples (default 10000; quick 2000)\n"
           "  --seed S      seed of training and data (default 1)\n"
           "  --threads T   BLAS threads (default: all cores)\n"
           "\n"
           "Every piece is also a command of its own: deepcx train --track, fit, report, analyze.\n");
}

typedef struct {
    dcx_tracker *tracker;
    int64_t last_count;
    double t0;
} demo_ctx;

static void print_measure(demo_ctx *c, int64_t step)
{
    const dcx_profile *p = dcx_tracker_last(c->tracker);
    if (!p || dcx_tracker_count(c->tracker) == c->last_count) return;
    c->last_count = dcx_tracker_count(c->tracker);
    const dcx_layer_profile *last = &p->layers[p->nlayers > 1 ? p->nlayers - 2 : 0];
    fprintf(stderr, "  [%6.1fs] step %6lld: %s deff %6.2f  C_cum(0.05) %s%.2f  H_pat %.2f\n", cli_now() - c->t0,
            (long long)step, last->name, last->deff, last->reached_cum ? "" : ">=", last->complexity_cum,
            last->pattern_entropy);
}

static int on_step(void *ctx, dcx_trainer *t, const dcx_step_info *s)
{
    demo_ctx *c = ctx;
    if (dcx_tracker_on_step(c->tracker, t, s) != DCX_OK) return 1;
    print_measure(c, s->step);
    return 0;
}

static int on_epoch(void *ctx, dcx_trainer *t, const dcx_epoch_info *e)
{
    demo_ctx *c = ctx;
    if (dcx_tracker_on_epoch(c->tracker, t, e) != DCX_OK) return 1;
    print_measure(c, dcx_trainer_step(t));
    printf("epoch %lld/%lld  train loss %.4f acc %6.2f%%  test loss %.4f acc %6.2f%%\n", (long long)e->epoch + 1,
           (long long)dcx_trainer_config(t)->epochs, e->train_loss, 100 * e->train_acc, e->test_loss,
           100 * e->test_acc);
    fflush(stdout);
    return 0;
}

/* The fitted exponents of the headline series, from RUN/fits.json. */
static void print_exponents(const char *run, const dcx_profile *p)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/fits.json", run);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *root = cJSON_Parse(buf);
    if (!root) return;
    const cJSON *fits = cJSON_GetObjectItemCaseSensitive(root, "fits");
    const char *fields[] = {"deff", "unit_entropy", "eta1", "eta1_cum"};
    printf("\nPower laws O(step) = a * step^beta (automatic window: longest >= 1 decade with R^2 >= 0.98)\n");
    printf("%-10s", "layer");
    for (int k = 0; k < 4; k++) printf(" %22s", fields[k]);
    printf("\n");
    for (int l = 0; l < p->nlayers; l++) {
        printf("%-10s", p->layers[l].name);
        for (int k = 0; k < 4; k++) {
            char name[128], cellbuf[64] = "-";
            snprintf(name, sizeof name, "%s.%s", p->layers[l].name, fields[k]);
            const cJSON *it;
            cJSON_ArrayForEach(it, fits)
            {
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "series");
                if (!cJSON_IsString(s) || strcmp(s->valuestring, name)) continue;
                const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "beta"),
                            *se = cJSON_GetObjectItemCaseSensitive(it, "beta_stderr");
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "ok")) && cJSON_IsNumber(b))
                    snprintf(cellbuf, sizeof cellbuf, "%+.3f +- %.3f", b->valuedouble,
                             cJSON_IsNumber(se) ? se->valuedouble : NAN);
                else
                    snprintf(cellbuf, sizeof cellbuf, "no window");
            }
            printf(" %22s", cellbuf);
        }
        printf("\n");
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, fits)
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "series");
        if (!cJSON_IsString(s) || (strcmp(s->valuestring, "probe_loss") && strcmp(s->valuestring, "train_loss")))
            continue;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "beta");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "ok")) && cJSON_IsNumber(b))
            printf("%-10s beta %+.3f\n", s->valuestring, b->valuedouble);
    }
    cJSON_Delete(root);
}

int cmd_demo(int argc, char **argv)
{
    enum { O_RUN = 256, O_QUICK, O_EPOCHS, O_PROBE, O_SEED, O_THREADS, O_HELP };
    static const struct option opts[] = {
        {"run", required_argument, 0, O_RUN},     {"quick", no_argument, 0, O_QUICK},
        {"epochs", required_argument, 0, O_EPOCHS}, {"probe", required_argument, 0, O_PROBE},
        {"seed", required_argument, 0, O_SEED},   {"threads", required_argument, 0, O_THREADS},
        {"help", no_argument, 0, O_HELP},         {0, 0, 0, 0}};
    const char *run = NULL;
    int quick = 0;
    int64_t epochs = 0, probe = 0, threads = 0;
    uint64_t seed = 1;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_RUN: run = optarg; break;
        case O_QUICK: quick = 1; break;
        case O_EPOCHS:
            if (!cli_parse_i64("--epochs", optarg, 1, 1000, &epochs)) return CLI_EXIT_INPUT;
            break;
        case O_PROBE:
            if (!cli_parse_i64("--probe", optarg, 100, INT64_MAX / 2, &probe)) return CLI_EXIT_INPUT;
            break;
        case O_SEED:
            if (!cli_parse_u64("--seed", optarg, &seed)) return CLI_EXIT_INPUT;
            break;
        case O_THREADS:
            if (!cli_parse_i64("--threads", optarg, 1, 1024, &threads)) return CLI_EXIT_INPUT;
            break;
        case O_HELP: help(); return 0;
        default: return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    char defrun[256];
    if (!run) {
        time_t now = time(NULL);
        struct tm tmv;
        localtime_r(&now, &tmv);
        if (mkdir("runs", 0755) != 0 && errno != EEXIST) return cli_error("runs: cannot create directory: %s", strerror(errno));
        strftime(defrun, sizeof defrun, "runs/demo-%Y%m%d-%H%M%S", &tmv);
        run = defrun;
    }
    char probe_path[4200];
    snprintf(probe_path, sizeof probe_path, "%s/config.json", run);
    if (access(probe_path, F_OK) == 0) return cli_error("%s: already holds a run; choose another --run", run);
    dcx_set_threads((int)threads);

    dcx_train_config cfg;
    dcx_train_config_default(&cfg);
    strcpy(cfg.arch, "mlp:256,256,256");
    cfg.epochs = epochs ? epochs : (quick ? 1 : 5);
    cfg.seed = seed;
    cfg.threads = dcx_get_threads();
    dcx_track_params tp;
    dcx_track_params_default(&tp);
    tp.probe = probe ? probe : (quick ? 2000 : 10000);
    tp.per_decade = quick ? 3 : 10;

    int ret = CLI_EXIT_OK;
    dcx_status st;
    dcx_dataset *data = NULL;
    dcx_trainer *t = NULL;
    demo_ctx dc = {0};
    double t0 = cli_now();
    st = dcx_data_load("fashion-mnist", cfg.seed, &data);
    if (st == DCX_ERR_IO) {
        cli_warn("%s; using the synthetic 'manifold' data set instead", dcx_last_error());
        strcpy(cfg.data, quick ? "manifold:d=4,D=100,classes=10,n=12000" : "manifold:d=4,D=100,classes=10,n=60000");
        st = dcx_data_load(cfg.data, cfg.seed, &data);
    }
    if (st != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    printf("deepcx demo: %s on %s (%lld training, %lld held-out samples), %lld epoch%s, SGD-momentum,\n"
           "tracking dim, patterns and complexity of every layer on %lld probe samples at %d steps a decade.\n"
           "run directory: %s\n\n",
           cfg.arch, cfg.data, (long long)data->n_train, (long long)data->n_test, (long long)cfg.epochs,
           cfg.epochs == 1 ? "" : "s", (long long)(tp.probe < data->n_test ? tp.probe : data->n_test), tp.per_decade,
           run);
    fflush(stdout);
    if ((st = dcx_trainer_create(&cfg, data, &t)) != DCX_OK || (st = dcx_run_prepare(run, &cfg, 0, NULL)) != DCX_OK ||
        (st = dcx_tracker_create(&tp, data, run, &dc.tracker)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    dc.t0 = t0;
    fprintf(stderr, "measurements (the second-to-last layer shown; all layers go to %s/metrics.jsonl):\n", run);
    dcx_train_hooks hooks = {&dc, on_step, on_epoch, NULL};
    if ((st = dcx_trainer_run(t, run, &hooks)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    double train_end = cli_now();
    if ((ret = fit_run_quiet(run)) != 0) goto done;
    int nfig = 0;
    if ((ret = report_write(run, NULL, &nfig)) != 0) goto done;
    const dcx_profile *last = dcx_tracker_last(dc.tracker);
    printf("\nDepth profile at the end of training (step %lld, %lld probe samples):\n\n",
           (long long)dcx_trainer_step(t), (long long)last->n);
    analyze_print_table(last);
    char rp[4200];
    snprintf(rp, sizeof rp, "%s", run);
    print_exponents(rp, last);
    printf("\ntraining and tracking %.0f s (tracking %.0f s, %lld measurements), fits and report %.0f s\n",
           train_end - t0, dcx_tracker_seconds(dc.tracker), (long long)dcx_tracker_count(dc.tracker),
           cli_now() - train_end);
    printf("report: %s/report/report.html (%d figures)\n", run, nfig);
done:
    dcx_tracker_free(dc.tracker);
    dcx_trainer_free(t);
    dcx_data_free(data);
    return ret;
}
