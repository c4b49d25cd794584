/* cli.h — shared conventions of the deepcx command-line tool.
 *
 * Exit codes: 0 success, 2 bad input or usage (one line on stderr naming the
 * file or option and the problem), 1 internal failure. Output files are
 * written to a temporary name and renamed on success, so a failed command
 * never leaves a partial file. */
#ifndef DEEPCX_CLI_H
#define DEEPCX_CLI_H

#include <cJSON.h>
#include <stdint.h>

#include "deepcx/deepcx.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_INPUT 2

/* Name of the running subcommand, for messages ("deepcx dim: ..."). */
extern const char *cli_cmd_name;

/* Print "deepcx CMD: <message>" on stderr; return CLI_EXIT_INPUT. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "deepcx CMD: <message> (see 'deepcx CMD --help')"; return CLI_EXIT_INPUT. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a failed library call: prints dcx_last_error() (or the status name)
 * and returns CLI_EXIT_INPUT for input problems, CLI_EXIT_FAIL for
 * out-of-memory and internal errors. */
int cli_lib_error(dcx_status st);
/* "warning: ..." on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict option-value parsers: the whole string must parse and lie in
 * [lo, hi]; otherwise they print a usage error naming `opt` and return 0. */
int cli_parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_parse_u64(const char *opt, const char *s, uint64_t *out);
int cli_parse_f64(const char *opt, const char *s, double lo, double hi, double *out);
/* Comma-separated lists; *out is malloc'd (caller frees), *n its length. */
int cli_parse_i64_list(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t **out, int *n);
int cli_parse_f64_list(const char *opt, const char *s, double lo, double hi, double **out, int *n);
/* "LO:HI" with lo <= hi, both in [min, max]. */
int cli_parse_range(const char *opt, const char *s, int64_t min, int64_t max, int64_t *lo, int64_t *hi);

/* Add "seed", "threads", "blas", "version" to a JSON object. */
void cli_json_meta(cJSON *obj, uint64_t seed, int threads);
/* Write JSON to `path` atomically (temp file + fsync + rename). On failure
 * prints the error and returns CLI_EXIT_INPUT; 0 on success. "-" = stdout. */
int cli_json_write(const char *path, const cJSON *root);
/* Check before the work starts that `path`'s directory exists and is
 * writable, so that a long computation does not end in a write error. */
int cli_check_output(const char *path);
/* A JSON number that is never NaN/Inf: non-finite values become null. */
cJSON *cli_json_num(double v);

/* Progress bar on stderr, drawn only when stderr is a terminal and the work
 * has taken more than a second. Usable as a dcx_progress_fn with ctx = the
 * cli_progress. */
typedef struct cli_progress {
    double t0, last;
    int tty;
    int drawn;
} cli_progress;
void cli_progress_init(cli_progress *p);
void cli_progress_cb(void *ctx, const char *stage, int64_t done, int64_t total);
void cli_progress_done(cli_progress *p);

/* Wall-clock seconds (monotonic). */
double cli_now(void);

/* ---- inputs and distributed runs ---- */

/* The processes of this run: MPI_COMM_WORLD in the MPI build under mpirun
 * (set by main), NULL (a single process) otherwise. */
extern dcx_dist *cli_dist;
/* 1 on rank 0 (the rank that prints and writes files). */
int cli_is_root(void);

/* Expand an --inputs value: comma-separated items, each a file name or a
 * glob(3) pattern (its matches sorted by name). A pattern matching no file
 * is a usage error naming `opt`. *paths (malloc'd strings, cli_free_paths)
 * and *n on success; returns 0 after printing the error. */
int cli_expand_inputs(const char *opt, const char *spec, char ***paths, int *n);
void cli_free_paths(char **paths, int n);

/* Open the input matrix: the n files of paths[] as one matrix (rows
 * concatenated; n == 1: one file). In a distributed run (cli_dist with more
 * than one rank) and when `split` is set, the source holds only this rank's
 * contiguous block of rows (dcx_split_rows of the global row count). On
 * failure prints the error and returns its exit status; 0 on success. */
int cli_open_input(char *const *paths, int n, const dcx_open_opts *oo, int split, dcx_source **out);

/* Subcommands. */
int cmd_version(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_demo(int argc, char **argv);
/* `deepcx fit RUN` with the defaults, writing RUN/fits.json silently. */
int fit_run_quiet(const char *run);
/* The depth table of a profile on stdout (cmd_analyze.c). */
void analyze_print_table(const dcx_profile *pr);
int cmd_report(int argc, char **argv);
int cmd_dim(int argc, char **argv);
int cmd_complexity(int argc, char **argv);
int cmd_patterns(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
