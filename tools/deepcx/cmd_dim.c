/* cmd_dim.c — `deepcx dim`: effective dimension of an activation matrix
 * (D_eff = exp of the entropy of the PCA spectrum, participation ratio,
 * n90/n99, spectrum exponent α, local effective dimension ladder). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void dim_usage(FILE *f)
{
    fprintf(f,
        "usage: deepcx dim FILE [OPTIONS]\n"
        "       deepcx dim --inputs LIST|GLOB [OPTIONS]\n"
        "\n"
        "Effective dimension of the activation matrix in FILE (rows = samples, columns =\n"
        "units; .npy, .npz, CSV/TSV, IDX). The columns are centred, the covariance\n"
        "C = AᵀA/(N−1) is accumulated in double in row blocks (or the Gram matrix\n"
        "AAᵀ/(N−1) when N < D), and from its eigenvalues λ_1 ≥ λ_2 ≥ … it reports:\n"
        "  deff    exp(H), H = −Σ p ln p, p_i = λ_i/Σλ  (Janik & Witaszczyk, arXiv:2006.04791)\n"
        "  pr      participation ratio (Σλ)²/Σλ²\n"
        "  n90 n99 fewest leading components holding 90 %% / 99 %% of the variance\n"
        "  rank    r = number of eigenvalues > 1e-12·λ_1\n"
        "  alpha   exponent of λ_n ∝ n^−α fitted in log–log over a rank window, ± its\n"
        "          standard error, with R²; '-' when the default window has < 3 ranks\n"
        "\n"
        "options:\n"
        "  --inputs LIST|GLOB   read several files as one matrix, rows concatenated:\n"
        "                       comma-separated names or glob patterns (quoted, e.g.\n"
        "                       'acts-*.npy'; matches sorted by name); all files must\n"
        "                       have the same number of columns. Instead of FILE\n"
        "  --rank-window LO:HI  ranks of the α fit (1-based, inclusive, HI >= LO+2,\n"
        "                       HI <= r); default 2:⌊r/2⌋\n"
        "  --local LIST|auto    local effective dimension: for each k in LIST (e.g.\n"
        "                       16,64,256), D_eff of the k nearest samples (Euclidean,\n"
        "                       the anchor included) of each anchor; mean, median, std\n"
        "                       over anchors. 'auto' = 16, 32, 64, … below N, then N.\n"
        "                       k = N gives the global value. Reads the whole matrix into\n"
        "                       memory (float32). Default: no local ladder\n"
        "  --anchors M          anchors, drawn with --seed (default min(N, 500))\n"
        "  --local-work G       work bound per rung in GFLOP (default 30): a rung whose\n"
        "                       M anchors would cost more (≈ k·D·m + 4/3·m³ flops each,\n"
        "                       m = min(k, D)) uses the first M' >= 8 anchors of the\n"
        "                       seeded list; 0 = no bound. The anchors used are reported\n"
        "  --mode flat|channels flat (default): one sample per row. channels: conv\n"
        "                       activations N x (C·H·W) flattened channel-major (PyTorch\n"
        "                       NCHW); every spatial position becomes a sample of the C\n"
        "                       channels (N·H·W samples x C units)\n"
        "  --shape C,H,W        the shape for --mode channels (default: from a 4-D .npy)\n"
        "  --spectrum           also print (and put in the JSON) the eigenvalues\n"
        "  --array NAME         the array of an .npz file (default: its only array)\n"
        "  --seed S             seed of the anchor choice (default 0)\n"
        "  --threads T          threads (default: all cores): the covariance's row blocks\n"
        "                       (BLAS's threads for D > 1448), the eigensolver's BLAS and\n"
        "                       the local ladder's anchors; results for different T agree\n"
        "                       to ~1e-15 relative\n"
        "  --json OUT           also write the results as JSON to OUT ('-' = stdout):\n"
        "                       n, d, mode, route, deff, entropy, pr, n90, n99, rank,\n"
        "                       total_variance, alpha {value, stderr, r2, lo, hi},\n"
        "                       local [{k, mean, median, std, anchors, skipped}],\n"
        "                       spectrum (with --spectrum), seed, threads, blas, version\n"
        "  -h, --help           this help\n"
        "\n"
        "output: a table of the values above and, with --local, one line per k:\n"
        "k, mean, median and std of D_eff over anchors, the anchors used and any\n"
        "skipped (neighbourhoods of zero variance). Exit status 2 on bad input.\n"
        "\n"
        "MPI build (deepcx --version says MPI): 'mpirun -np P deepcx dim …' splits the\n"
        "rows among P processes, sums their covariance pieces and writes from rank 0;\n"
        "--local and N < D (the Gram route) need one process. See docs/scaling.md.\n");
}

static int parse_shape(const char *s, int64_t sh[3])
{
    int64_t *v = NULL;
    int n = 0;
    if (!cli_parse_i64_list("--shape", s, 1, INT64_MAX / 4, &v, &n)) return 0;
    if (n != 3) {
        free(v);
        return !cli_usage_error("--shape: '%s' must be C,H,W (three positive integers)", s);
    }
    memcpy(sh, v, 3 * sizeof *v);
    free(v);
    return 1;
}

static const char *route_name(dcx_dim_route r) { return r == DCX_DIM_ROUTE_GRAM ? "gram" : "covariance"; }

static void print_table(const char *file, const char *mode, const dcx_dim_result *r, int show_spectrum)
{
    printf("effective dimension of %s (%s mode)\n", file, mode);
    printf("  samples N            %lld\n", (long long)r->n);
    printf("  units D              %lld\n", (long long)r->d);
    printf("  route                %s (%lld x %lld eigenproblem)\n", route_name(r->route),
           (long long)(r->route == DCX_DIM_ROUTE_GRAM ? r->n : r->d),
           (long long)(r->route == DCX_DIM_ROUTE_GRAM ? r->n : r->d));
    printf("  D_eff = exp(H)       %.6f   (H = %.6f nats)\n", r->deff, r->entropy);
    printf("  participation ratio  %.6f\n", r->pr);
    printf("  n90 / n99            %lld / %lld\n", (long long)r->n90, (long long)r->n99);
    printf("  rank r               %lld\n", (long long)r->rank);
    if (r->alpha.available)
        printf("  alpha                %.4f ± %.4f   (R² %.4f, ranks %lld..%lld)\n", r->alpha.value, r->alpha.se,
               r->alpha.r2, (long long)r->alpha.lo, (long long)r->alpha.hi);
    else
        printf("  alpha                -   (rank %lld: the window 2..%lld holds fewer than 3 ranks)\n",
               (long long)r->rank, (long long)r->alpha.hi);
    if (r->n_local > 0) {
        printf("\nlocal effective dimension (D_eff of the k nearest samples of each anchor)\n");
        printf("  %10s %10s %10s %10s %8s %8s\n", "k", "mean", "median", "std", "anchors", "skipped");
        for (int i = 0; i < r->n_local; i++) {
            const dcx_dim_local *l = &r->local[i];
            printf("  %10lld %10.4f %10.4f %10.4f %8lld %8lld\n", (long long)l->k, l->mean, l->median, l->std,
                   (long long)l->anchors, (long long)l->skipped);
        }
    }
    if (show_spectrum && r->spectrum) {
        printf("\nspectrum (descending)\n  %8s %22s %12s\n", "n", "eigenvalue", "cumulative");
        double c = 0;
        for (int64_t i = 0; i < r->n_spectrum; i++) {
            c += r->spectrum[i];
            printf("  %8lld %22.15g %12.8f\n", (long long)(i + 1), r->spectrum[i], c / r->total_variance);
        }
    }
}

static cJSON *result_json(const char *file, const char *mode, const dcx_dim_result *r, uint64_t seed)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "command", "dim");
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "mode", mode);
    cJSON_AddNumberToObject(o, "n", (double)r->n);
    cJSON_AddNumberToObject(o, "d", (double)r->d);
    cJSON_AddStringToObject(o, "route", route_name(r->route));
    cJSON_AddItemToObject(o, "deff", cli_json_num(r->deff));
    cJSON_AddItemToObject(o, "entropy", cli_json_num(r->entropy));
    cJSON_AddItemToObject(o, "pr", cli_json_num(r->pr));
    cJSON_AddNumberToObject(o, "n90", (double)r->n90);
    cJSON_AddNumberToObject(o, "n99", (double)r->n99);
    cJSON_AddNumberToObject(o, "rank", (double)r->rank);
    cJSON_AddItemToObject(o, "total_variance", cli_json_num(r->total_variance));
    cJSON *a = cJSON_AddObjectToObject(o, "alpha");
    cJSON_AddItemToObject(a, "value", cli_json_num(r->alpha.available ? r->alpha.value : NAN));
    cJSON_AddItemToObject(a, "stderr", cli_json_num(r->alpha.available ? r->alpha.se : NAN));
    cJSON_AddItemToObject(a, "r2", cli_json_num(r->alpha.available ? r->alpha.r2 : NAN));
    cJSON_AddNumberToObject(a, "lo", (double)r->alpha.lo);
    cJSON_AddNumberToObject(a, "hi", (double)r->alpha.hi);
    cJSON *loc = cJSON_AddArrayToObject(o, "local");
    for (int i = 0; i < r->n_local; i++) {
        const dcx_dim_local *l = &r->local[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "k", (double)l->k);
        cJSON_AddItemToObject(e, "mean", cli_json_num(l->mean));
        cJSON_AddItemToObject(e, "median", cli_json_num(l->median));
        cJSON_AddItemToObject(e, "std", cli_json_num(l->std));
        cJSON_AddNumberToObject(e, "anchors", (double)l->anchors);
        cJSON_AddNumberToObject(e, "skipped", (double)l->skipped);
        cJSON_AddItemToArray(loc, e);
    }
    if (r->spectrum) {
        cJSON *s = cJSON_AddArrayToObject(o, "spectrum");
        for (int64_t i = 0; i < r->n_spectrum; i++) cJSON_AddItemToArray(s, cli_json_num(r->spectrum[i]));
    }
    cli_json_meta(o, seed, dcx_get_threads());
    return o;
}

int cmd_dim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rank-window", required_argument, 0, 'r'}, {"local", required_argument, 0, 'l'},
        {"anchors", required_argument, 0, 'a'},     {"local-work", required_argument, 0, 'W'},
        {"mode", required_argument, 0, 'm'},        {"shape", required_argument, 0, 'S'},
        {"spectrum", no_argument, 0, 'p'},          {"array", required_argument, 0, 'A'},
        {"seed", required_argument, 0, 's'},        {"threads", required_argument, 0, 't'},
        {"json", required_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
        {"inputs", required_argument, 0, 'I'},
        {0, 0, 0, 0},
    };
    dcx_dim_params p;
    dcx_dim_params_default(&p);
    dcx_open_opts oo;
    dcx_open_opts_default(&oo);
    int64_t *ks = NULL, shape[3] = {0, 0, 0}, threads = 0;
    int nk = 0, channels = 0, have_shape = 0, rc = CLI_EXIT_INPUT;
    uint64_t seed = 0;
    double gflop = 30;
    const char *json = NULL;
    dcx_source *src = NULL, *ch = NULL;
    dcx_dim_result *res = NULL;
    cJSON *root = NULL;
    const char *inputs = NULL;
    char **paths = NULL;
    int npaths = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (!cli_parse_range("--rank-window", optarg, 1, INT64_MAX / 2, &p.rank_lo, &p.rank_hi)) goto out;
            if (p.rank_hi < p.rank_lo + 2) {
                cli_usage_error("--rank-window: %s holds fewer than 3 ranks (need HI >= LO + 2)", optarg);
                goto out;
            }
            break;
        case 'l':
            free(ks);
            ks = NULL;
            if (!strcmp(optarg, "auto")) {
                p.local_auto = 1;
                nk = 0;
            } else {
                p.local_auto = 0;
                if (!cli_parse_i64_list("--local", optarg, 2, INT64_MAX / 2, &ks, &nk)) goto out;
            }
            break;
        case 'a':
            if (!cli_parse_i64("--anchors", optarg, 1, 1000000000, &p.anchors)) goto out;
            break;
        case 'W':
            if (!cli_parse_f64("--local-work", optarg, 0, 1e9, &gflop)) goto out;
            break;
        case 'm':
            if (!strcmp(optarg, "channels"))
                channels = 1;
            else if (!strcmp(optarg, "flat"))
                channels = 0;
            else {
                cli_usage_error("--mode: '%s' is not flat or channels", optarg);
                goto out;
            }
            break;
        case 'S':
            if (!parse_shape(optarg, shape)) goto out;
            have_shape = 1;
            break;
        case 'p': p.keep_spectrum = 1; break;
        case 'A': oo.array_name = optarg; break;
        case 's':
            if (!cli_parse_u64("--seed", optarg, &seed)) goto out;
            break;
        case 't':
            if (!cli_parse_i64("--threads", optarg, 1, 1024, &threads)) goto out;
            break;
        case 'j': json = optarg; break;
        case 'I': inputs = optarg; break;
        case 'h':
            dim_usage(stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            if (optopt)
                cli_usage_error("option '-%c' is unknown or needs a value", optopt);
            else
                cli_usage_error("option '%s' is unknown or needs a value", argv[optind - 1]);
            goto out;
        }
    }
    if (inputs && optind < argc) {
        cli_usage_error("give either FILE or --inputs, not both");
        goto out;
    }
    if (!inputs && optind != argc - 1) {
        cli_usage_error(optind >= argc ? "no input FILE" : "expected one FILE, got %d arguments", argc - optind);
        goto out;
    }
    if (have_shape && !channels) {
        cli_usage_error("--shape is only used with --mode channels");
        goto out;
    }
    const char *file = inputs ? inputs : argv[optind];
    if (inputs && !cli_expand_inputs("--inputs", inputs, &paths, &npaths)) goto out;
    if (json && cli_check_output(json)) goto out;
    p.seed = seed;
    p.local_k = ks;
    p.n_local = nk;
    p.local_work = gflop > 0 ? gflop * 1e9 : -1;
    if (threads > 0) dcx_set_threads((int)threads);

    p.dist = cli_dist;
    char *one[1] = {(char *)file};
    rc = cli_open_input(inputs ? paths : one, inputs ? npaths : 1, &oo, 1, &src);
    if (rc) goto out;
    rc = CLI_EXIT_INPUT;
    dcx_status st;
    if (channels) {
        if (!have_shape) {
            int64_t fs[DCX_MAX_NDIM];
            if (dcx_source_shape(src, fs) != 4) {
                cli_usage_error("--mode channels needs --shape C,H,W (%s is not a 4-D array)", file);
                goto out;
            }
            memcpy(shape, fs + 1, 3 * sizeof *shape);
        }
        st = dcx_source_channels(src, shape[0], shape[1], shape[2], &ch);
        if (st != DCX_OK) {
            rc = cli_lib_error(st);
            goto out;
        }
        src = ch; /* the adapter owns the file source now */
    }
    cli_progress prog;
    cli_progress_init(&prog);
    p.progress = cli_progress_cb;
    p.progress_ctx = &prog;
    st = dcx_dim_compute(src, &p, &res);
    cli_progress_done(&prog);
    if (st != DCX_OK) {
        rc = cli_lib_error(st);
        goto out;
    }
    const char *mode = channels ? "channels" : "flat";
    if (json) {
        root = result_json(file, mode, res, seed);
        if (!root) {
            rc = cli_error("out of memory");
            goto out;
        }
        if (channels) {
            cJSON *sh = cJSON_AddArrayToObject(root, "shape");
            for (int i = 0; i < 3; i++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)shape[i]));
        }
        if (strcmp(json, "-") != 0) print_table(file, mode, res, p.keep_spectrum);
        rc = cli_json_write(json, root);
        if (rc) goto out;
    } else {
        print_table(file, mode, res, p.keep_spectrum);
    }
    rc = CLI_EXIT_OK;
out:
    cJSON_Delete(root);
    dcx_dim_result_free(res);
    dcx_source_free(src);
    free(ks);
    cli_free_paths(paths, npaths);
    return rc;
}
