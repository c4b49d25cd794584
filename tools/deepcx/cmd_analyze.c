/* cmd_analyze.c — `deepcx analyze`: the depth profile of a trained model on
 * a probe set of held-out samples (SPEC §4). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void help(void)
{
    printf(
        "usage: deepcx analyze --model FILE --data SPEC [--probe N] [--observables LIST]\n"
        "                      [--save-activations DIR] [--seed S] [--data-seed S] [--threads T] [--json OUT]\n"
        "\n"
        "Depth profile of a trained model: for every layer l (its output R_l, post-activation for\n"
        "hidden layers, the logits for the last; R_0 = the input) on a probe set of held-out samples:\n"
        "  deff, pr, alpha      effective dimension, participation ratio and spectrum exponent of R_l\n"
        "  switching, dead      rectifier units that switch on the probe / never fire\n"
        "  H_units, H_pat       summed unit entropies and Miller-Madow pattern entropy (nats)\n"
        "  eta1, C              cross-validated nonlinearity of the layer's own map R_{l-1} -> R_l\n"
        "                       and its complexity C(0.05) ('>=' marks a lower bound: not reached)\n"
        "  eta1_cum, C_cum      the same for the cumulative map R_0 -> R_l\n"
        "docs/observables.md explains each number.\n"
        "\n"
        "options:\n"
        "  --model FILE          a model.dcx written by 'deepcx train'\n"
        "  --data SPEC           the data set (as for 'deepcx train'); the probe comes from its\n"
        "                        held-out split, standardised as the model was\n"
        "  --probe N             probe samples (default 10000, all held-out samples if fewer)\n"
        "  --observables LIST    any of dim,complexity,patterns (default all)\n"
        "  --save-activations DIR  write every R_l as DIR/<name>.npy (float32, probe x units) and the\n"
        "                        probe labels as DIR/labels.npy, to check any number with other tools\n"
        "  --seed S              probe choice and observables (default 0)\n"
        "  --data-seed S         seed of synthetic data sets and splits (default 1, as in train)\n"
        "  --threads T           BLAS threads (default: all cores)\n"
        "  --json OUT            write the profile as JSON ('-' for standard output)\n");
}

static void cell(char *buf, size_t n, double v, const char *fmt)
{
    if (isfinite(v))
        snprintf(buf, n, fmt, v);
    else
        snprintf(buf, n, "-");
}

/* Print the depth table (shared with `deepcx demo`). */
void analyze_print_table(const dcx_profile *pr)
{
    printf("%-10s %6s %8s %7s %6s %9s %5s %8s %8s %8s %9s %8s %9s\n", "layer", "units", "deff", "pr", "alpha",
           "switching", "dead", "H_units", "H_pat", "eta1", "C", "eta1_cum", "C_cum");
    if (isfinite(pr->input_deff)) printf("%-10s %6lld %8.2f\n", "input", (long long)pr->input_units, pr->input_deff);
    for (int l = 0; l < pr->nlayers; l++) {
        const dcx_layer_profile *lp = &pr->layers[l];
        char a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32], i[32], j[32], k[32], m[32];
        cell(a, sizeof a, lp->deff, "%.2f");
        cell(b, sizeof b, lp->pr, "%.2f");
        cell(c, sizeof c, lp->alpha, "%.2f");
        if (lp->switching >= 0) {
            snprintf(d, sizeof d, "%lld", (long long)lp->switching);
            snprintf(e, sizeof e, "%lld", (long long)lp->dead);
        } else {
            strcpy(d, "-");
            strcpy(e, "-");
        }
        cell(f, sizeof f, lp->unit_entropy, "%.2f");
        cell(g, sizeof g, lp->pattern_entropy, lp->saturated ? "%.2f*" : "%.2f");
        cell(h, sizeof h, lp->eta1, "%.4f");
        cell(i, sizeof i, lp->complexity, lp->reached ? "%.3f" : ">=%.3f");
        cell(j, sizeof j, lp->eta1_cum, "%.4f");
        cell(k, sizeof k, lp->complexity_cum, lp->reached_cum ? "%.3f" : ">=%.3f");
        (void)m;
        printf("%-10s %6lld %8s %7s %6s %9s %5s %8s %8s %8s %9s %8s %9s\n", lp->name, (long long)lp->units, a, b, c,
               d, e, f, g, h, i, j, k);
    }
    int sat = 0;
    for (int l = 0; l < pr->nlayers; l++) sat |= pr->layers[l].saturated;
    if (sat) printf("* saturated: more distinct patterns than N/2, the pattern entropy is bounded by ln N\n");
}

int cmd_analyze(int argc, char **argv)
{
    enum { O_MODEL = 256, O_DATA, O_PROBE, O_OBS, O_SAVE, O_SEED, O_DSEED, O_THREADS, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL},   {"data", required_argument, 0, O_DATA},
        {"probe", required_argument, 0, O_PROBE},   {"observables", required_argument, 0, O_OBS},
        {"save-activations", required_argument, 0, O_SAVE}, {"seed", required_argument, 0, O_SEED},
        {"data-seed", required_argument, 0, O_DSEED}, {"threads", required_argument, 0, O_THREADS},
        {"json", required_argument, 0, O_JSON},     {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    const char *model = NULL, *spec = NULL, *save = NULL, *json = NULL;
    dcx_track_params tp;
    dcx_track_params_default(&tp);
    uint64_t dseed = 1;
    int64_t threads = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_DATA: spec = optarg; break;
        case O_PROBE:
            if (!cli_parse_i64("--probe", optarg, 2, INT64_MAX / 2, &tp.probe)) return CLI_EXIT_INPUT;
            break;
        case O_OBS:
            if (dcx_obs_parse(optarg, &tp.profile.observables) != DCX_OK)
                return cli_usage_error("--observables: %s", dcx_last_error());
            break;
        case O_SAVE: save = optarg; break;
        case O_SEED:
            if (!cli_parse_u64("--seed", optarg, &tp.seed)) return CLI_EXIT_INPUT;
            break;
        case O_DSEED:
            if (!cli_parse_u64("--data-seed", optarg, &dseed)) return CLI_EXIT_INPUT;
            break;
        case O_THREADS:
            if (!cli_parse_i64("--threads", optarg, 1, 1024, &threads)) return CLI_EXIT_INPUT;
            break;
        case O_JSON: json = optarg; break;
        case O_HELP: help(); return 0;
        default: return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!model) return cli_usage_error("--model FILE is required");
    if (!spec) return cli_usage_error("--data SPEC is required");
    if (json && cli_check_output(json)) return CLI_EXIT_INPUT;
    if (save) {
        if (mkdir(save, 0755) != 0 && errno != EEXIST) return cli_error("%s: cannot create directory: %s", save, strerror(errno));
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/x", save);
        if (cli_check_output(probe)) return CLI_EXIT_INPUT;
    }
    dcx_set_threads((int)threads);

    int ret = CLI_EXIT_OK;
    dcx_status st;
    dcx_net *net = NULL;
    dcx_standardizer *std = NULL;
    dcx_dataset *d = NULL;
    dcx_tracker *tr = NULL;
    dcx_profile *pr = NULL;
    cJSON *root = NULL;
    if ((st = dcx_model_load(model, &net, &std)) != DCX_OK || (st = dcx_data_load(spec, dseed, &d)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    if (d->dim != dcx_net_input_size(net) || d->classes != dcx_net_classes(net)) {
        ret = cli_error("%s: model expects %lld features and %lld classes, data '%s' has %lld and %lld", model,
                        (long long)dcx_net_input_size(net), (long long)dcx_net_classes(net), spec, (long long)d->dim,
                        (long long)d->classes);
        goto done;
    }
    dcx_standardizer_apply(std, d->x_test, d->n_test);
    /* the tracker picks the probe exactly as training-time tracking does */
    if ((st = dcx_tracker_create(&tp, d, ".", &tr)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    int64_t n = tp.probe < d->n_test ? tp.probe : d->n_test;
    /* recover the probe rows through the same seeded choice */
    float *px = NULL;
    int32_t *py = NULL;
    if ((st = dcx_tracker_probe(tr, &px, &py)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    double loss = NAN, acc = NAN;
    if ((st = dcx_evaluate(net, px, py, n, &loss, &acc)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    cli_progress bar;
    cli_progress_init(&bar);
    dcx_profile_params pp = tp.profile;
    pp.seed = tp.seed;
    pp.progress = cli_progress_cb;
    pp.progress_ctx = &bar;
    st = dcx_profile_net(net, px, n, &pp, &pr);
    cli_progress_done(&bar);
    if (st != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    if (save) {
        /* the activations of the profile's forward pass are still in the net */
        int na = dcx_net_num_activations(net);
        for (int i = 0; i < na && ret == 0; i++) {
            const char *nm = dcx_net_activation_name(net, i);
            dcx_matrix a;
            char path[4200];
            if (dcx_net_activation(net, nm, &a, NULL) != DCX_OK) continue;
            snprintf(path, sizeof path, "%s/%s.npy", save, nm);
            if ((st = dcx_write_npy(path, &a)) != DCX_OK) ret = cli_lib_error(st);
        }
        dcx_matrix lab = {n, 1, 1, DCX_F32, NULL, 0};
        float *lf = malloc((size_t)n * sizeof *lf);
        if (!lf && ret == 0) ret = cli_error("out of memory");
        if (ret == 0) {
            for (int64_t i = 0; i < n; i++) lf[i] = (float)py[i];
            lab.data = lf;
            char path[4200];
            snprintf(path, sizeof path, "%s/labels.npy", save);
            if ((st = dcx_write_npy(path, &lab)) != DCX_OK) ret = cli_lib_error(st);
        }
        free(lf);
        if (ret) goto done;
    }
    printf("depth profile of %s (%s) on %lld probe samples of '%s': loss %.4f, accuracy %.2f%%\n\n", model,
           dcx_net_arch(net), (long long)n, spec, loss, 100 * acc);
    analyze_print_table(pr);
    if (save) printf("\nactivations: %s/<layer>.npy\n", save);
    if (json) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "model", model);
        cJSON_AddStringToObject(root, "arch", dcx_net_arch(net));
        cJSON_AddStringToObject(root, "data", spec);
        cJSON_AddNumberToObject(root, "probe", (double)n);
        cJSON_AddItemToObject(root, "probe_loss", cli_json_num(loss));
        cJSON_AddItemToObject(root, "probe_acc", cli_json_num(acc));
        cJSON_AddItemToObject(root, "input_deff", cli_json_num(pr->input_deff));
        char *lj = dcx_profile_layers_json(pr);
        cJSON *layers = lj ? cJSON_Parse(lj) : NULL;
        free(lj);
        cJSON_AddItemToObject(root, "layers", layers ? layers : cJSON_CreateObject());
        cli_json_meta(root, tp.seed, dcx_get_threads());
        ret = cli_json_write(json, root);
    }
done:
    cJSON_Delete(root);
    dcx_profile_free(pr);
    dcx_tracker_free(tr);
    dcx_data_free(d);
    dcx_standardizer_free(std);
    dcx_net_free(net);
    return ret;
}
