/* cmd_eval.c — `deepcx eval`: loss and accuracy of a saved model (model.dcx)
 * on a data set's held-out split (or its train split), with the model's own
 * standardisation. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: deepcx eval --model FILE --data SPEC [--split test|train] [--seed S] [--json OUT]\n"
            "\n"
            "Evaluate a model written by 'deepcx train' (softmax cross-entropy loss and\n"
            "accuracy). The data is standardised with the statistics stored in the model.\n"
            "For csv and synthetic data the train/test split (and synthetic data itself)\n"
            "depends on --seed: give the seed the model was trained with (default 1).\n"
            "  --threads T  BLAS threads (default: all cores)\n");
}

int cmd_eval(int argc, char **argv)
{
    enum { O_MODEL = 256, O_DATA, O_SPLIT, O_SEED, O_JSON, O_THREADS, O_HELP };
    static const struct option opts[] = {{"model", required_argument, 0, O_MODEL}, {"data", required_argument, 0, O_DATA},
                                         {"split", required_argument, 0, O_SPLIT}, {"seed", required_argument, 0, O_SEED},
                                         {"json", required_argument, 0, O_JSON},   {"threads", required_argument, 0, O_THREADS},
                                         {"help", no_argument, 0, O_HELP},         {0, 0, 0, 0}};
    const char *model = NULL, *spec = NULL, *json = NULL;
    int train_split = 0;
    uint64_t seed = 1;
    int64_t threads = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_DATA: spec = optarg; break;
        case O_SPLIT:
            if (!strcmp(optarg, "test"))
                train_split = 0;
            else if (!strcmp(optarg, "train"))
                train_split = 1;
            else
                return cli_usage_error("--split: expected test or train, got '%s'", optarg);
            break;
        case O_SEED:
            if (!cli_parse_u64("--seed", optarg, &seed)) return CLI_EXIT_INPUT;
            break;
        case O_JSON: json = optarg; break;
        case O_THREADS:
            if (!cli_parse_i64("--threads", optarg, 1, 1024, &threads)) return CLI_EXIT_INPUT;
            break;
        case O_HELP: usage(stdout); return 0;
        default: return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!model) return cli_usage_error("--model FILE is required");
    if (!spec) return cli_usage_error("--data SPEC is required");
    int ret;
    if (json && (ret = cli_check_output(json)) != 0) return ret;
    dcx_set_threads((int)threads);

    dcx_net *net = NULL;
    dcx_standardizer *std = NULL;
    dcx_dataset *d = NULL;
    cJSON *root = NULL;
    dcx_status st;
    ret = CLI_EXIT_OK;
    if ((st = dcx_model_load(model, &net, &std)) != DCX_OK || (st = dcx_data_load(spec, seed, &d)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    int64_t mc, mh, mw;
    dcx_net_input_shape(net, &mc, &mh, &mw);
    if (d->dim != dcx_net_input_size(net) || (d->c != mc && d->c * d->h * d->w != mc)) {
        ret = cli_error("%s: data '%s' has %lldx%lldx%lld samples, the model expects %lldx%lldx%lld", model, spec,
                        (long long)d->c, (long long)d->h, (long long)d->w, (long long)mc, (long long)mh, (long long)mw);
        goto done;
    }
    if (d->classes > dcx_net_classes(net)) {
        ret = cli_error("%s: data '%s' has %lld classes, the model %lld", model, spec, (long long)d->classes,
                        (long long)dcx_net_classes(net));
        goto done;
    }
    float *x = train_split ? d->x_train : d->x_test;
    int32_t *y = train_split ? d->y_train : d->y_test;
    int64_t n = train_split ? d->n_train : d->n_test;
    dcx_standardizer_apply(std, x, n);
    double loss, acc;
    if ((st = dcx_evaluate(net, x, y, n, &loss, &acc)) != DCX_OK) {
        ret = cli_lib_error(st);
        goto done;
    }
    printf("%s on %s (%s split, %lld samples): loss %.4f  accuracy %.2f%%\n", model, spec, train_split ? "train" : "test",
           (long long)n, loss, 100 * acc);
    if (json) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "model", model);
        cJSON_AddStringToObject(root, "arch", dcx_net_arch(net));
        cJSON_AddStringToObject(root, "data", spec);
        cJSON_AddStringToObject(root, "split", train_split ? "train" : "test");
        cJSON_AddNumberToObject(root, "n", (double)n);
        cJSON_AddItemToObject(root, "loss", cli_json_num(loss));
        cJSON_AddItemToObject(root, "accuracy", cli_json_num(acc));
        cli_json_meta(root, seed, dcx_get_threads());
        ret = cli_json_write(json, root);
    }
done:
    cJSON_Delete(root);
    dcx_data_free(d);
    dcx_net_free(net);
    dcx_standardizer_free(std);
    return ret;
}
