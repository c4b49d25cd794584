/* main.c — the deepcx command-line tool: dispatch to subcommands. Every
 * subcommand lives in its own cmd_<name>.c and uses only the public API. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifdef DEEPCX_HAVE_MPI
#include <mpi.h>
#endif

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"dim", cmd_dim, "effective dimension of an activation matrix (PCA-spectrum entropy)"},
    {"complexity", cmd_complexity, "complexity of a computation X -> Y: nonlinearity across scales"},
    {"patterns", cmd_patterns, "entropies of binary activation patterns"},
    {"train", cmd_train, "train an MLP or CNN into a run directory (checkpoints, resume)"},
    {"eval", cmd_eval, "loss and accuracy of a trained model on a data set"},
    {"analyze", cmd_analyze, "depth profile of a trained model: every observable per layer"},
    {"fit", cmd_fit, "power-law fits of a training run's series"},
    {"report", cmd_report, "figures and an HTML report of a training run"},
    {"demo", cmd_demo, "the main job: train, track every observable, fit, report"},
    {"version", cmd_version, "print the version and the BLAS configuration"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: deepcx COMMAND [OPTIONS]\n"
            "\n"
            "Measure how deep networks compute and represent, from their activations:\n"
            "complexity of a computation, effective dimension, activation-pattern entropies.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "'deepcx COMMAND --help' explains each command. Errors in the input give a\n"
            "one-line message and exit status 2. Documentation: docs/ in the source tree.\n");
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("deepcx %s%s\nBLAS: %s\n", dcx_version(), dcx_dist_has_mpi() ? " (MPI)" : "", dcx_blas_config());
    return 0;
}

static int run(int argc, char **argv);

/* In the MPI build every rank runs the same command on its block of rows;
 * ranks other than 0 print nothing (stdout and stderr go to /dev/null) and
 * write no file, and all ranks exit with the largest status of any rank. */
int main(int argc, char **argv)
{
#ifdef DEEPCX_HAVE_MPI
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    if (dcx_dist_world(&cli_dist) != DCX_OK) {
        fprintf(stderr, "deepcx: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_FAIL);
    }
    if (dcx_dist_rank(cli_dist) != 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) {
            /* nothing sensible to report: keep going, rank 0 speaks */
        }
    }
    int rc = run(argc, argv), all = rc;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    dcx_dist_free(cli_dist);
    cli_dist = NULL;
    MPI_Finalize();
    return all;
#else
    return run(argc, argv);
#endif
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_INPUT;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(c, commands[i].name)) {
            cli_cmd_name = commands[i].name;
            return commands[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "deepcx: unknown command '%s' (see 'deepcx --help')\n", c);
    return CLI_EXIT_INPUT;
}
