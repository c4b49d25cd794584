/* cmd_complexity.c — `deepcx complexity`: the complexity of a computation
 * X → Y (docs/observables.md §2, docs/cli.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: deepcx complexity --x X.npy --y Y.npy [OPTIONS]\n"
        "\n"
        "How nonlinear is the computation that maps the inputs X (N x d_x) to the\n"
        "outputs Y (N x d_y)? Row i of X and row i of Y are the same sample. The inputs\n"
        "are cut into K k-means cells (K = 1, 2, 4, ...), one affine map is fitted per\n"
        "cell with 2-fold cross-validation, and the out-of-fold error is measured.\n"
        "\n"
        "options:\n"
        "  --x FILE          inputs of the computation (.npy, .npz, .csv, IDX)\n"
        "  --y FILE          outputs of the computation, same number of rows\n"
        "  --x-inputs LIST   X from several files read as one matrix, rows concatenated\n"
        "                    (comma-separated names or quoted glob patterns, matches\n"
        "                    sorted by name; same columns). Instead of --x\n"
        "  --y-inputs LIST   the same for Y, instead of --y\n"
        "  --x-array NAME    member of an .npz to read for X (default: the only one)\n"
        "  --y-array NAME    member of an .npz to read for Y\n"
        "  --eps LIST        tolerances for C(eps), each in (0, 1] (default 0.1,0.05,0.01)\n"
        "  --kmax K          largest number of cells (default 256); the ladder also stops\n"
        "                    at N / (4 (r+1)) so that every linear piece has enough samples\n"
        "  --rmax R          largest PCA rank of X (default 64); X keeps the smallest rank\n"
        "                    holding 99.9%% of its variance, at most R\n"
        "  --restarts R      k-means restarts per scale, best inertia wins (default 3)\n"
        "  --seed S          seed of the fold split and of k-means (default 0)\n"
        "  --folds FILE      use this 2-fold split instead of a random one: N values,\n"
        "                    0 or 1 (to compare with another implementation)\n"
        "  --threads T       threads (default: all cores); results do not depend on it\n"
        "  --memory MB       keep the reduced X and Y in memory up to MB MiB per process\n"
        "                    (default 4096), beyond in a scratch file in $TMPDIR; 0: always\n"
        "                    the file. X itself is read in blocks, never held whole\n"
        "  --json FILE       also write the results as JSON ('-' for standard output)\n"
        "  -h, --help        this help\n"
        "\n"
        "reading the output:\n"
        "  eta(K)   out-of-fold error of K affine pieces, relative to the variance of Y:\n"
        "           eta(1) = 1 - R^2 of one affine map (0: the computation is linear on\n"
        "           the data; 1: no linear trend at all).\n"
        "  H(K)     entropy of the cell sizes, nats; exp(H) is the effective number of\n"
        "           linear pieces.\n"
        "  C(eps)   H at the smallest K with eta(K) <= eps: the entropic count of linear\n"
        "           pieces needed to reach tolerance eps. 'not reached' gives H(K_max)\n"
        "           as a lower bound. The headline number is C(0.05).\n"
        "  gamma    slope of eta(K) ~ K^-gamma over K >= 2; a smooth map on a\n"
        "           d-dimensional data manifold gives gamma ~ 4/d, so 4/gamma is\n"
        "           reported as the nonlinearity dimension.\n"
        "A rise of eta at the largest K means the pieces have too few samples to fit\n"
        "(overfitting): read C and gamma from the rungs before it. See docs/observables.md.\n"
        "Under mpirun (MPI build) each process reads its own block of rows of X and Y\n"
        "and the sums are combined: the same results as one process (docs/scaling.md).\n");
}

static void print_human(const char *xp, const char *yp, const dcx_complexity_result *r)
{
    printf("complexity of %s -> %s\n", xp, yp);
    printf("N = %lld samples, d_x = %lld (PCA rank r = %lld, %.2f%% of the variance), d_y = %lld\n",
           (long long)r->n, (long long)r->dx, (long long)r->r, 100 * r->var_kept, (long long)r->dy);
    printf("ladder up to K = %lld (limit min(kmax, N/(4(r+1))) = %lld)\n\n",
           (long long)r->ladder[r->n_ladder - 1].k, (long long)r->kmax_rule);
    printf("     K      eta(K)     H(K)   exp(H)  smallest cell\n");
    for (int i = 0; i < r->n_ladder; i++) {
        const dcx_complexity_rung *g = &r->ladder[i];
        printf("  %4lld  %10.4g  %7.4f  %7.2f  %13lld\n", (long long)g->k, g->eta, g->entropy, exp(g->entropy),
               (long long)g->min_cell);
    }
    printf("\n");
    for (int e = 0; e < r->n_eps; e++) {
        const dcx_complexity_level *l = &r->levels[e];
        if (l->reached)
            printf("C(%g) = %.4f nats  (K* = %lld, %.2f effective pieces)\n", l->eps, l->value, (long long)l->k,
                   exp(l->value));
        else
            printf("C(%g) >= %.4f nats  (not reached: eta(%lld) = %.4g > %g; lower bound)\n", l->eps, l->value,
                   (long long)l->k, r->ladder[r->n_ladder - 1].eta, l->eps);
    }
    if (r->gamma_ok) {
        printf("gamma = %.4f +- %.4f  (R^2 %.4f over %lld rungs)", r->gamma, r->gamma_stderr, r->gamma_r2,
               (long long)r->gamma_points);
        if (isfinite(r->nonlinearity_dim)) printf("; nonlinearity dimension 4/gamma = %.3f", r->nonlinearity_dim);
        printf("\n");
    } else {
        printf("gamma unavailable (fewer than 2 rungs with K >= 2 and eta > 1e-9)\n");
    }
}

static cJSON *to_json(const char *xp, const char *yp, const dcx_complexity_result *r, uint64_t seed, int threads)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "x", xp);
    cJSON_AddStringToObject(o, "y", yp);
    cJSON_AddNumberToObject(o, "n", (double)r->n);
    cJSON_AddNumberToObject(o, "dx", (double)r->dx);
    cJSON_AddNumberToObject(o, "dy", (double)r->dy);
    cJSON_AddNumberToObject(o, "r", (double)r->r);
    cJSON_AddItemToObject(o, "variance_kept", cli_json_num(r->var_kept));
    cJSON_AddNumberToObject(o, "kmax", (double)r->kmax_rule);
    cJSON_AddItemToObject(o, "eta1", cli_json_num(r->eta1));
    cJSON *lad = cJSON_AddArrayToObject(o, "ladder");
    for (int i = 0; i < r->n_ladder; i++) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddNumberToObject(g, "k", (double)r->ladder[i].k);
        cJSON_AddItemToObject(g, "eta", cli_json_num(r->ladder[i].eta));
        cJSON_AddItemToObject(g, "entropy", cli_json_num(r->ladder[i].entropy));
        cJSON_AddItemToObject(g, "effective_pieces", cli_json_num(exp(r->ladder[i].entropy)));
        cJSON_AddNumberToObject(g, "smallest_cell", (double)r->ladder[i].min_cell);
        cJSON_AddItemToObject(g, "inertia", cli_json_num(r->ladder[i].inertia));
        cJSON_AddItemToArray(lad, g);
    }
    cJSON *cx = cJSON_AddArrayToObject(o, "complexity");
    for (int e = 0; e < r->n_eps; e++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddItemToObject(l, "eps", cli_json_num(r->levels[e].eps));
        cJSON_AddItemToObject(l, "value", cli_json_num(r->levels[e].value));
        cJSON_AddBoolToObject(l, "reached", r->levels[e].reached);
        cJSON_AddNumberToObject(l, "k", (double)r->levels[e].k);
        cJSON_AddItemToArray(cx, l);
    }
    if (r->gamma_ok) {
        cJSON *g = cJSON_AddObjectToObject(o, "gamma");
        cJSON_AddItemToObject(g, "value", cli_json_num(r->gamma));
        cJSON_AddItemToObject(g, "stderr", cli_json_num(r->gamma_stderr));
        cJSON_AddItemToObject(g, "r2", cli_json_num(r->gamma_r2));
        cJSON_AddNumberToObject(g, "points", (double)r->gamma_points);
    } else {
        cJSON_AddNullToObject(o, "gamma");
    }
    cJSON_AddItemToObject(o, "nonlinearity_dim", cli_json_num(r->nonlinearity_dim));
    cli_json_meta(o, seed, threads);
    return o;
}

/* One file, or (list) the files of an --x-inputs/--y-inputs value read as
 * one matrix: this process's block of rows (all rows without mpirun), read
 * in blocks by the library. *paths (*n) are the files. 0 on success, else
 * the exit status after the message. */
static int open_input(const char *spec, int list, const char *opt, const dcx_open_opts *oo, dcx_source **out,
                      char ***paths, int *n)
{
    char *one[1] = {(char *)spec};
    *out = NULL;
    *paths = NULL;
    *n = 1;
    if (list && !cli_expand_inputs(opt, spec, paths, n)) return CLI_EXIT_INPUT;
    return cli_open_input(list ? *paths : one, *n, oo, 1, out);
}

/* 1 when msg begins with "FILE:" for one of the input files: a read error
 * that names its file already. */
static int names_input(const char *msg, const char *spec, char **paths, int n)
{
    for (int i = 0; i < (paths ? n : 1); i++) {
        const char *f = paths ? paths[i] : spec;
        size_t len = strlen(f);
        if (strncmp(msg, f, len) == 0 && msg[len] == ':') return 1;
    }
    return 0;
}

int cmd_complexity(int argc, char **argv)
{
    static const struct option opts[] = {
        {"x", required_argument, 0, 'x'},        {"y", required_argument, 0, 'y'},
        {"x-array", required_argument, 0, 'X'},  {"y-array", required_argument, 0, 'Y'},
        {"eps", required_argument, 0, 'e'},      {"kmax", required_argument, 0, 'k'},
        {"rmax", required_argument, 0, 'r'},     {"restarts", required_argument, 0, 'R'},
        {"seed", required_argument, 0, 's'},     {"threads", required_argument, 0, 't'},
        {"json", required_argument, 0, 'j'},     {"folds", required_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},
        {"x-inputs", required_argument, 0, 'P'}, {"y-inputs", required_argument, 0, 'Q'},
        {"memory", required_argument, 0, 'M'},   {0, 0, 0, 0}};
    const char *xp = NULL, *yp = NULL, *xa = NULL, *ya = NULL, *json = NULL, *fp = NULL;
    unsigned char *folds = NULL;
    dcx_matrix *fm = NULL;
    dcx_complexity_params p;
    dcx_complexity_params_default(&p);
    int64_t threads = 0, v;
    double *eps = NULL;
    int neps = 0, rc = CLI_EXIT_INPUT, c;
    dcx_source *x = NULL, *y = NULL;
    char **xpaths = NULL, **ypaths = NULL;
    int nxp = 0, nyp = 0;
    dcx_complexity_result *res = NULL;
    cJSON *root = NULL;
    int xin = 0, yin = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'x': xp = optarg; xin = 0; break;
        case 'y': yp = optarg; yin = 0; break;
        case 'P': xp = optarg; xin = 1; break;
        case 'Q': yp = optarg; yin = 1; break;
        case 'X': xa = optarg; break;
        case 'Y': ya = optarg; break;
        case 'j': json = optarg; break;
        case 'F': fp = optarg; break;
        case 'e':
            free(eps);
            eps = NULL;
            if (!cli_parse_f64_list("--eps", optarg, -INFINITY, INFINITY, &eps, &neps)) goto out;
            if (neps > DCX_COMPLEXITY_MAX_EPS) {
                cli_usage_error("--eps: at most %d tolerances", DCX_COMPLEXITY_MAX_EPS);
                goto out;
            }
            for (int i = 0; i < neps; i++)
                if (!(eps[i] > 0 && eps[i] <= 1)) {
                    cli_usage_error("--eps: %g is outside (0, 1]", eps[i]);
                    goto out;
                }
            break;
        case 'k':
            if (!cli_parse_i64("--kmax", optarg, 1, 1 << 20, &p.kmax)) goto out;
            break;
        case 'r':
            if (!cli_parse_i64("--rmax", optarg, 1, 4096, &p.rmax)) goto out;
            break;
        case 'R':
            if (!cli_parse_i64("--restarts", optarg, 1, 1000, &v)) goto out;
            p.restarts = (int)v;
            break;
        case 's':
            if (!cli_parse_u64("--seed", optarg, &p.seed)) goto out;
            break;
        case 't':
            if (!cli_parse_i64("--threads", optarg, 1, 1024, &threads)) goto out;
            break;
        case 'M':
            if (!cli_parse_i64("--memory", optarg, 0, (int64_t)1 << 40, &v)) goto out;
            p.scratch_mb = v > 0 ? v : -1; /* 0: nothing in memory */
            break;
        case 'h':
            usage(stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        cli_usage_error("unexpected argument '%s' (inputs are given with --x and --y)", argv[optind]);
        goto out;
    }
    if (!xp || !yp) {
        cli_usage_error("both --x and --y (or --x-inputs and --y-inputs) are required");
        goto out;
    }
    if (neps > 0) {
        for (int i = 0; i < neps; i++) p.eps[i] = eps[i];
        p.n_eps = neps;
    }
    if (json && cli_check_output(json)) goto out;
    dcx_set_threads((int)threads);
    dcx_blas_release_threads(); /* the measurement runs its own threads, BLAS inside them */

    dcx_open_opts oo;
    dcx_open_opts_default(&oo);
    oo.array_name = xa;
    if ((rc = open_input(xp, xin, xin ? "--x-inputs" : "--x", &oo, &x, &xpaths, &nxp))) goto out;
    oo.array_name = ya;
    if ((rc = open_input(yp, yin, yin ? "--y-inputs" : "--y", &oo, &y, &ypaths, &nyp))) goto out;
    rc = CLI_EXIT_INPUT;
    dcx_status st;
    int64_t nrows[2] = {dcx_source_rows(x), dcx_source_rows(y)}; /* over all processes */
    if ((st = dcx_dist_sum_i64(cli_dist, nrows, 2)) != DCX_OK) {
        rc = cli_lib_error(st);
        goto out;
    }
    if (nrows[0] != nrows[1]) {
        cli_error("%s: %lld rows, but %s has %lld: rows of X and Y must be the same samples", yp,
                  (long long)nrows[1], xp, (long long)nrows[0]);
        goto out;
    }
    if (fp) {
        st = dcx_read_matrix(fp, NULL, DCX_F64, &fm);
        if (st != DCX_OK) {
            rc = cli_lib_error(st);
            goto out;
        }
        if (fm->rows * fm->cols != nrows[0]) {
            cli_error("%s: %lld values, but the data has %lld samples", fp, (long long)(fm->rows * fm->cols),
                      (long long)nrows[0]);
            goto out;
        }
        folds = malloc((size_t)nrows[0] + 1);
        if (!folds) {
            rc = cli_error("out of memory");
            goto out;
        }
        const double *fv = fm->data;
        for (int64_t i = 0; i < nrows[0]; i++) {
            if (fv[i] != 0 && fv[i] != 1) {
                cli_error("%s: value %g at position %lld: folds must be 0 or 1", fp, fv[i], (long long)i);
                goto out;
            }
            folds[i] = (unsigned char)fv[i];
        }
        p.folds = folds;
    }
    cli_progress prog;
    cli_progress_init(&prog);
    p.progress = cli_progress_cb;
    p.progress_ctx = &prog;
    p.dist = cli_dist;
    st = dcx_complexity_source(x, y, &p, &res);
    cli_progress_done(&prog);
    if (st != DCX_OK) {
        const char *msg = dcx_last_error();
        /* name the file the problem is about (read errors name it already) */
        const char *file = (msg[0] == 'Y') ? yp : xp;
        if (names_input(msg, xp, xpaths, nxp) || names_input(msg, yp, ypaths, nyp)) cli_error("%s", msg);
        else cli_error("%s: %s", file, msg[0] ? msg : dcx_status_str(st));
        rc = (st == DCX_ERR_NOMEM || st == DCX_ERR_INTERNAL) ? CLI_EXIT_FAIL : CLI_EXIT_INPUT;
        goto out;
    }
    if (!json || strcmp(json, "-") != 0) print_human(xp, yp, res);
    if (json) {
        root = to_json(xp, yp, res, p.seed, dcx_get_threads());
        if (cli_json_write(json, root)) goto out;
    }
    rc = CLI_EXIT_OK;
out:
    free(eps);
    free(folds);
    dcx_matrix_free(fm);
    dcx_source_free(x);
    dcx_source_free(y);
    cli_free_paths(xpaths, xpaths ? nxp : 0);
    cli_free_paths(ypaths, ypaths ? nyp : 0);
    dcx_complexity_free(res);
    cJSON_Delete(root);
    return rc;
}
