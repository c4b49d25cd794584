/* deepcx/patterns.h — activation-pattern entropies (docs/observables.md §3).
 *
 * The activations a (N samples x D units) are binarised, b_ij = [a_ij > θ].
 *   per unit:  p_j = mean_i b_ij,  h_j = −p_j ln p_j − (1−p_j) ln(1−p_j);
 *              dead (p = 0), always-on (p = 1), switching; S_units = Σ_j h_j.
 *   patterns:  the m distinct rows of b (the linear regions the data visits),
 *              plug-in entropy H = −Σ (c/N) ln(c/N), Miller–Madow H + (m−1)/(2N),
 *              saturated when m > N/2 (H is then bounded by ln N).
 *   scale:     for n = 1, 2, 4, … <= min(D, max_group): the mean over `groups`
 *              random groups of n distinct units of the Miller–Madow entropy
 *              H(n) of the n-unit words, and of I(n) = Σ_{j∈group} h_j − H(n).
 *   Zipf:      pattern counts sorted in decreasing order (rank 1 = most
 *              frequent); exponent s of ln f(rank) = c − s ln rank fitted over
 *              ranks 1..R, R = min(zipf_ranks, number of patterns seen at
 *              least twice), f = count/N; unavailable when R < 2.
 * All entropies in nats. The input is read once, in row blocks: each row is
 * packed into ⌈D/64⌉ 64-bit words and counted in a hash table of the
 * distinct patterns, so memory is that table (m patterns x (⌈D/64⌉ + 1)
 * words, plus its slots), not N. The words of every group of the scale
 * curve are counted afterwards from the table: a group's word count is the
 * sum of the counts of the patterns that project onto it; the groups of one
 * size are counted in parallel on dcx_get_threads() threads. Every entropy
 * is summed over the counts sorted in decreasing order, so the results do
 * not depend on the block size, the thread count or on how the rows were
 * split among processes.
 * Distributed (dist with P > 1 ranks; collective): each rank counts the
 * patterns of its own rows; unit counts are summed over ranks, each rank's
 * (pattern, count) table is gathered at rank 0 and merged, so the counts are
 * exact; rank 0 computes the pattern entropies and the scale curve and
 * broadcasts them.
 * The groups are drawn from the seed only. Every rank receives the result. */
#ifndef DEEPCX_PATTERNS_H
#define DEEPCX_PATTERNS_H

#include <stdint.h>

#include "core.h"
#include "dist.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dcx_patterns_params {
    double threshold;   /* θ, default 0 */
    int groups;         /* random groups per size n, >= 1; default 20 */
    int64_t max_group;  /* largest n of the scale curve, >= 1; default 64 (at most 64) */
    int64_t zipf_ranks; /* largest rank of the Zipf fit, >= 2; default 100 */
    uint64_t seed;      /* default 0 */
    int64_t block_rows; /* rows read at a time; <= 0: automatic (~2 MB of doubles) */
    dcx_progress_fn progress; /* optional: reading rows, then the scale curve */
    void *progress_ctx;
    const dcx_dist *dist; /* distributed run (borrowed): src holds this rank's
                             rows; NULL (default): one process */
} dcx_patterns_params;

void dcx_patterns_params_default(dcx_patterns_params *p);

typedef struct dcx_patterns_scale {
    int64_t n;                /* group size */
    int groups;               /* groups averaged (1 when n = D) */
    double entropy;           /* mean Miller–Madow entropy H(n) of n-unit words */
    double entropy_plugin;    /* mean plug-in entropy of n-unit words */
    double multi_information; /* mean I(n) = Σ h_j − H(n) */
} dcx_patterns_scale;

typedef struct dcx_patterns_result {
    int64_t n, d;
    double threshold;
    double *activity;      /* (d) p_j */
    double *unit_entropy;  /* (d) h_j */
    int64_t dead, always_on, switching;
    double entropy_sum;    /* S_units = Σ h_j */
    int64_t distinct;      /* m */
    double entropy;        /* plug-in H */
    double entropy_mm;     /* Miller–Madow H + (m−1)/(2N) */
    int saturated;         /* m > N/2 */
    int n_scale;
    dcx_patterns_scale *scale; /* (n_scale) */
    int64_t *rank_counts;  /* (distinct) counts in decreasing order */
    int zipf_ok;
    double zipf_exponent, zipf_stderr, zipf_r2;
    int64_t zipf_fit_ranks; /* R */
} dcx_patterns_result;

/* Pattern observables of all remaining rows of `src` (rewound first).
 * Fails with DCX_ERR_ARG (bad parameters), DCX_ERR_DEGENERATE (no rows or no
 * columns), the reader's errors (DCX_ERR_FORMAT, DCX_ERR_NUMERIC naming the
 * file), DCX_ERR_NOMEM. The caller owns *out (dcx_patterns_free). */
dcx_status dcx_patterns(dcx_source *src, const dcx_patterns_params *p, dcx_patterns_result **out);

/* NULL is a harmless no-op. */
void dcx_patterns_free(dcx_patterns_result *r);

#ifdef __cplusplus
}
#endif
#endif
