/* cmd_patterns.c — `deepcx patterns`: entropies of binary activation
 * patterns (docs/observables.md §3, docs/cli.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: deepcx patterns FILE [OPTIONS]\n"
        "       deepcx patterns --inputs LIST|GLOB [OPTIONS]\n"
        "\n"
        "Entropies of the binary activation patterns of rectifier (or spiking) units.\n"
        "FILE holds an activation matrix, N samples (rows) x D units (columns): .npy,\n"
        ".npz, .csv or IDX. Unit j is 'on' for sample i when a_ij > threshold.\n"
        "\n"
        "options:\n"
        "  --inputs LIST     several files read as one matrix, rows concatenated:\n"
        "                    comma-separated names or quoted glob patterns ('acts-*.npy',\n"
        "                    matches sorted by name), same columns. Instead of FILE\n"
        "  --threshold T     on when a > T (default 0: for ReLU units, pre- and\n"
        "                    post-activations give the same pattern)\n"
        "  --groups G        random groups of units per size n in the scale curve\n"
        "                    (default 20)\n"
        "  --max-group N     largest group size of the scale curve, <= 64 (default 64)\n"
        "  --array NAME      member of an .npz to read (default: the only one)\n"
        "  --seed S          seed of the random groups (default 0)\n"
        "  --threads T       threads (default: all cores)\n"
        "  --json FILE       also write the results as JSON ('-' for standard output)\n"
        "  -h, --help        this help\n"
        "\n"
        "reading the output (entropies in nats):\n"
        "  units      dead (never on), always on, switching (both): only switching\n"
        "             units act nonlinearly on the data. S_units = sum of the unit\n"
        "             entropies h_j = -p ln p - (1-p) ln(1-p) bounds the pattern entropy.\n"
        "  patterns   m distinct patterns = linear regions of the network the data\n"
        "             visits; plug-in entropy H and Miller-Madow H + (m-1)/(2N).\n"
        "             'saturated' (m > N/2): almost every sample has its own pattern and\n"
        "             H only says 'about ln N' - more samples are needed.\n"
        "  scale      H(n): mean Miller-Madow entropy of the words of n random units;\n"
        "             I(n) = sum of their h_j - H(n), the multi-information (0 for\n"
        "             independent units, up to minus the bias correction).\n"
        "  Zipf       exponent s of count ~ rank^-s over the most frequent patterns\n"
        "             (ranks 1..min(100, patterns seen at least twice)).\n"
        "MPI build: 'mpirun -np P deepcx patterns …' splits the rows among P processes\n"
        "and merges their pattern counts exactly (docs/scaling.md).\n"
        "See docs/observables.md.\n");
}

static void print_human(const char *path, const dcx_patterns_result *r)
{
    printf("activation patterns of %s\n", path);
    printf("N = %lld samples, D = %lld units, on when a > %g\n\n", (long long)r->n, (long long)r->d, r->threshold);
    printf("units:    %lld dead, %lld always on, %lld switching; S_units = %.4f nats\n", (long long)r->dead,
           (long long)r->always_on, (long long)r->switching, r->entropy_sum);
    printf("patterns: %lld distinct; entropy %.4f nats (plug-in), %.4f (Miller-Madow); ln N = %.4f\n",
           (long long)r->distinct, r->entropy, r->entropy_mm, log((double)r->n));
    if (r->saturated)
        printf("          SATURATED: m > N/2, the entropy is bounded by ln N (more samples needed)\n");
    printf("\nscale curve (mean over random groups of n units):\n");
    printf("     n  groups      H(n)      I(n)\n");
    for (int s = 0; s < r->n_scale; s++)
        printf("  %4lld  %6d  %8.4f  %8.4f\n", (long long)r->scale[s].n, r->scale[s].groups, r->scale[s].entropy,
               r->scale[s].multi_information);
    if (r->zipf_ok)
        printf("\nZipf: exponent %.4f +- %.4f (R^2 %.4f, ranks 1..%lld)\n", r->zipf_exponent, r->zipf_stderr,
               r->zipf_r2, (long long)r->zipf_fit_ranks);
    else
        printf("\nZipf: unavailable (fewer than 2 patterns seen at least twice)\n");
}

static cJSON *to_json(const char *path, const dcx_patterns_result *r, uint64_t seed, int threads)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddNumberToObject(o, "n", (double)r->n);
    cJSON_AddNumberToObject(o, "d", (double)r->d);
    cJSON_AddItemToObject(o, "threshold", cli_json_num(r->threshold));
    cJSON *u = cJSON_AddObjectToObject(o, "units");
    cJSON_AddNumberToObject(u, "dead", (double)r->dead);
    cJSON_AddNumberToObject(u, "always_on", (double)r->always_on);
    cJSON_AddNumberToObject(u, "switching", (double)r->switching);
    cJSON_AddItemToObject(u, "entropy_sum", cli_json_num(r->entropy_sum));
    cJSON *pt = cJSON_AddObjectToObject(o, "patterns");
    cJSON_AddNumberToObject(pt, "distinct", (double)r->distinct);
    cJSON_AddItemToObject(pt, "entropy", cli_json_num(r->entropy));
    cJSON_AddItemToObject(pt, "entropy_mm", cli_json_num(r->entropy_mm));
    cJSON_AddBoolToObject(pt, "saturated", r->saturated);
    cJSON *sc = cJSON_AddArrayToObject(o, "scale");
    for (int s = 0; s < r->n_scale; s++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "n", (double)r->scale[s].n);
        cJSON_AddNumberToObject(e, "groups", r->scale[s].groups);
        cJSON_AddItemToObject(e, "entropy", cli_json_num(r->scale[s].entropy));
        cJSON_AddItemToObject(e, "entropy_plugin", cli_json_num(r->scale[s].entropy_plugin));
        cJSON_AddItemToObject(e, "multi_information", cli_json_num(r->scale[s].multi_information));
        cJSON_AddItemToArray(sc, e);
    }
    cJSON *z = cJSON_AddObjectToObject(o, "zipf");
    cJSON_AddItemToObject(z, "exponent", r->zipf_ok ? cli_json_num(r->zipf_exponent) : cJSON_CreateNull());
    cJSON_AddItemToObject(z, "stderr", r->zipf_ok ? cli_json_num(r->zipf_stderr) : cJSON_CreateNull());
    cJSON_AddItemToObject(z, "r2", r->zipf_ok ? cli_json_num(r->zipf_r2) : cJSON_CreateNull());
    cJSON_AddNumberToObject(z, "fit_ranks", (double)r->zipf_fit_ranks);
    cJSON *rk = cJSON_AddArrayToObject(z, "ranks");
    int64_t shown = r->distinct < 100 ? r->distinct : 100;
    for (int64_t k = 0; k < shown; k++) cJSON_AddItemToArray(rk, cJSON_CreateNumber((double)r->rank_counts[k]));
    cli_json_meta(o, seed, threads);
    return o;
}

int cmd_patterns(int argc, char **argv)
{
    static const struct option opts[] = {
        {"threshold", required_argument, 0, 'T'}, {"groups", required_argument, 0, 'g'},
        {"max-group", required_argument, 0, 'm'}, {"array", required_argument, 0, 'a'},
        {"seed", required_argument, 0, 's'},      {"threads", required_argument, 0, 't'},
        {"json", required_argument, 0, 'j'},      {"help", no_argument, 0, 'h'},
        {"inputs", required_argument, 0, 'I'},    {0, 0, 0, 0}};
    const char *path = NULL, *arr = NULL, *json = NULL;
    dcx_patterns_params p;
    dcx_patterns_params_default(&p);
    int64_t threads = 0, v;
    int rc = CLI_EXIT_INPUT, c;
    dcx_source *src = NULL;
    dcx_patterns_result *res = NULL;
    cJSON *root = NULL;
    const char *inputs = NULL;
    char **paths = NULL;
    int npaths = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'T':
            if (!cli_parse_f64("--threshold", optarg, -INFINITY, INFINITY, &p.threshold)) goto out;
            break;
        case 'g':
            if (!cli_parse_i64("--groups", optarg, 1, 100000, &v)) goto out;
            p.groups = (int)v;
            break;
        case 'm':
            if (!cli_parse_i64("--max-group", optarg, 1, 64, &p.max_group)) goto out;
            break;
        case 'a': arr = optarg; break;
        case 's':
            if (!cli_parse_u64("--seed", optarg, &p.seed)) goto out;
            break;
        case 't':
            if (!cli_parse_i64("--threads", optarg, 1, 1024, &threads)) goto out;
            break;
        case 'j': json = optarg; break;
        case 'I': inputs = optarg; break;
        case 'h':
            usage(stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (inputs && optind < argc) {
        cli_usage_error("give either an activation file or --inputs, not both");
        goto out;
    }
    if (!inputs && optind != argc - 1) {
        cli_usage_error(optind >= argc ? "an activation file is required" : "exactly one activation file is expected");
        goto out;
    }
    path = inputs ? inputs : argv[optind];
    if (inputs && !cli_expand_inputs("--inputs", inputs, &paths, &npaths)) goto out;
    if (json && cli_check_output(json)) goto out;
    dcx_set_threads((int)threads);
    dcx_open_opts oo;
    dcx_open_opts_default(&oo);
    oo.array_name = arr;
    char *one[1] = {(char *)path};
    rc = cli_open_input(inputs ? paths : one, inputs ? npaths : 1, &oo, 1, &src);
    if (rc) goto out;
    rc = CLI_EXIT_INPUT;
    p.dist = cli_dist;
    dcx_status st = DCX_OK;
    {
        cli_progress prog;
        cli_progress_init(&prog);
        p.progress = cli_progress_cb;
        p.progress_ctx = &prog;
        st = dcx_patterns(src, &p, &res);
        cli_progress_done(&prog);
    }
    if (st != DCX_OK) {
        const char *msg = dcx_last_error();
        /* reader messages already name the file */
        if (!inputs && msg[0] && strncmp(msg, path, strlen(path)) != 0) {
            cli_error("%s: %s", path, msg);
            rc = (st == DCX_ERR_NOMEM || st == DCX_ERR_INTERNAL) ? CLI_EXIT_FAIL : CLI_EXIT_INPUT;
        } else {
            rc = cli_lib_error(st);
        }
        goto out;
    }
    if (!json || strcmp(json, "-") != 0) print_human(path, res);
    if (json) {
        root = to_json(path, res, p.seed, dcx_get_threads());
        if (cli_json_write(json, root)) goto out;
    }
    rc = CLI_EXIT_OK;
out:
    dcx_source_free(src);
    dcx_patterns_free(res);
    cJSON_Delete(root);
    cli_free_paths(paths, npaths);
    return rc;
}
