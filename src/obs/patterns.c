/* patterns.c — activation-pattern entropies (SPEC §3, docs/observables.md §3).
 *
 * The binarised activations b_ij = [a_ij > θ] are packed 64 units to a
 * uint64 word while the source is read in row blocks. Distinct patterns are
 * counted with an open-addressing hash table (linear probing) whose entries
 * point at the first row holding the pattern; a hash collision is resolved by
 * comparing the packed words exactly. Entropies are plug-in,
 *     H = −Σ_w (c_w/N) ln(c_w/N),
 * and Miller–Madow, H + (m − 1)/(2N) with m distinct words (Miller 1955).
 * The scale curve counts the words of n random units (n <= 64, so a word is
 * one uint64) with a second, integer-keyed hash table. */
#include <math.h>
#include <string.h>

#include "obs_internal.h"

void dcx_patterns_params_default(dcx_patterns_params *p)
{
    memset(p, 0, sizeof *p);
    p->threshold = 0;
    p->groups = 20;
    p->max_group = 64;
    p->zipf_ranks = 100;
}

void dcx_patterns_free(dcx_patterns_result *r)
{
    if (!r) return;
    free(r->activity);
    free(r->unit_entropy);
    free(r->scale);
    free(r->rank_counts);
    free(r);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t hash_words(const uint64_t *w, int64_t nw)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (int64_t i = 0; i < nw; i++) h = mix64(h ^ w[i]) + 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
    return h;
}

static int64_t table_size(int64_t n)
{
    int64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    return cap;
}

static double unit_h(double p)
{
    double h = 0;
    if (p > 0 && p < 1) h = -p * log(p) - (1 - p) * log1p(-p);
    return h;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Plug-in entropy and distinct count of n uint64 keys (slots: 2 tables of
 * size cap, reused between calls; cap a power of two >= 2n). */
static double word_entropy(const uint64_t *keys, int64_t n, uint64_t *tk, int64_t *tc, int64_t cap,
                           int64_t *distinct)
{
    memset(tc, 0, (size_t)cap * sizeof *tc);
    const uint64_t mask = (uint64_t)cap - 1;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t s = mix64(keys[i]) & mask;
        while (tc[s] != 0 && tk[s] != keys[i]) s = (s + 1) & mask;
        if (tc[s] == 0) {
            tk[s] = keys[i];
            m++;
        }
        tc[s]++;
    }
    double h = 0;
    for (int64_t s = 0; s < cap; s++)
        if (tc[s] > 0) {
            double q = (double)tc[s] / (double)n;
            h -= q * log(q);
        }
    *distinct = m;
    return h;
}

dcx_status dcx_patterns(dcx_source *src, const dcx_patterns_params *p, dcx_patterns_result **out)
{
    dcx_status st = DCX_OK;
    dcx_patterns_result *res = NULL;
    uint64_t *bits = NULL, *keys = NULL, *tk = NULL;
    int64_t *on = NULL, *slot_row = NULL, *slot_cnt = NULL, *units = NULL, *tc = NULL;
    double *buf = NULL;
    *out = NULL;
    if (!src || !p) DCX_FAIL(DCX_ERR_ARG, "patterns: NULL argument");
    if (!isfinite(p->threshold)) DCX_FAIL(DCX_ERR_ARG, "patterns: the threshold must be a finite number");
    if (p->groups < 1) DCX_FAIL(DCX_ERR_ARG, "patterns: groups must be >= 1 (got %d)", p->groups);
    if (p->max_group < 1 || p->max_group > 64)
        DCX_FAIL(DCX_ERR_ARG, "patterns: max_group must be in [1, 64] (got %lld)", (long long)p->max_group);
    if (p->zipf_ranks < 2) DCX_FAIL(DCX_ERR_ARG, "patterns: zipf_ranks must be >= 2 (got %lld)", (long long)p->zipf_ranks);
    DCX_TRY(dcx_source_rewind(src));
    const int64_t n = dcx_source_rows(src), d = dcx_source_cols(src);
    const char *name = dcx_source_name(src);
    if (n < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "%s: no rows: activation patterns need at least one sample", name);
    if (d < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "%s: no columns: activation patterns need at least one unit", name);
    const int64_t nw = (d + 63) / 64;
    int64_t nbits;
    if (!dcx__mul_ok(n, nw, &nbits)) DCX_FAIL(DCX_ERR_ARG, "%s: too many rows for the bit matrix", name);
    DCX_ALLOC(res, 1);
    res->n = n;
    res->d = d;
    res->threshold = p->threshold;
    DCX_ALLOC(bits, nbits);
    DCX_ALLOC(on, d);
    int64_t block = (1 << 18) / d;
    if (block < 1) block = 1;
    if (block > n) block = n;
    DCX_ALLOC(buf, block * d);

    /* Read, binarise and pack. */
    for (int64_t r0 = 0; r0 < n;) {
        int64_t got;
        DCX_TRY(dcx_source_read(src, block, buf, &got));
        if (got <= 0) DCX_FAIL(DCX_ERR_FORMAT, "%s: data ended after %lld of %lld rows", name, (long long)r0, (long long)n);
        for (int64_t i = 0; i < got; i++) {
            const double *a = buf + i * d;
            uint64_t *w = bits + (r0 + i) * nw;
            for (int64_t j = 0; j < d; j++)
                if (a[j] > p->threshold) {
                    w[j >> 6] |= 1ULL << (j & 63);
                    on[j]++;
                }
        }
        r0 += got;
        if (p->progress) p->progress(p->progress_ctx, "reading activations", r0, n);
    }

    /* Units. */
    DCX_ALLOC(res->activity, d);
    DCX_ALLOC(res->unit_entropy, d);
    for (int64_t j = 0; j < d; j++) {
        double pj = (double)on[j] / (double)n;
        res->activity[j] = pj;
        res->unit_entropy[j] = unit_h(pj);
        res->entropy_sum += res->unit_entropy[j];
        if (on[j] == 0) res->dead++;
        else if (on[j] == n) res->always_on++;
        else res->switching++;
    }

    /* Whole patterns: open addressing keyed by the packed row. */
    {
        const int64_t cap = table_size(n);
        const uint64_t mask = (uint64_t)cap - 1;
        DCX_ALLOC(slot_row, cap);
        DCX_ALLOC(slot_cnt, cap);
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++) {
            const uint64_t *w = bits + i * nw;
            uint64_t s = hash_words(w, nw) & mask;
            while (slot_cnt[s] != 0 && memcmp(bits + slot_row[s] * nw, w, (size_t)nw * sizeof *w) != 0)
                s = (s + 1) & mask;
            if (slot_cnt[s] == 0) {
                slot_row[s] = i;
                m++;
            }
            slot_cnt[s]++;
        }
        DCX_ALLOC(res->rank_counts, m);
        int64_t t = 0;
        for (int64_t s = 0; s < cap; s++)
            if (slot_cnt[s] > 0) res->rank_counts[t++] = slot_cnt[s];
        qsort(res->rank_counts, (size_t)m, sizeof *res->rank_counts, cmp_desc);
        res->distinct = m;
        res->entropy = dcx__entropy_counts(res->rank_counts, m, n);
        res->entropy_mm = res->entropy + (double)(m - 1) / (2.0 * (double)n);
        res->saturated = 2 * m > n;
        free(slot_row);
        free(slot_cnt);
        slot_row = slot_cnt = NULL;

        /* Zipf: ranks 1..R, R = min(zipf_ranks, patterns seen at least twice). */
        int64_t twice = 0;
        while (twice < m && res->rank_counts[twice] >= 2) twice++;
        int64_t R = twice < p->zipf_ranks ? twice : p->zipf_ranks;
        res->zipf_fit_ranks = R;
        res->zipf_exponent = res->zipf_stderr = res->zipf_r2 = NAN;
        if (R >= 2) {
            double *lx = NULL, *ly = NULL;
            lx = calloc((size_t)R, sizeof *lx);
            ly = calloc((size_t)R, sizeof *ly);
            if (!lx || !ly) {
                free(lx);
                free(ly);
                DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
            }
            for (int64_t k = 0; k < R; k++) {
                lx[k] = log((double)(k + 1));
                ly[k] = log((double)res->rank_counts[k] / (double)n);
            }
            dcx_linfit_result lf;
            dcx_status fs = dcx_linfit(lx, ly, R, &lf);
            free(lx);
            free(ly);
            if (fs != DCX_OK) DCX_FAIL(fs, "patterns: Zipf fit: %s", dcx_last_error());
            res->zipf_ok = 1;
            res->zipf_exponent = -lf.slope;
            res->zipf_stderr = lf.slope_stderr;
            res->zipf_r2 = lf.r2;
        }
    }

    /* Scale curve. */
    {
        int64_t nmax = d < p->max_group ? d : p->max_group;
        int ns = 0;
        for (int64_t g = 1; g <= nmax; g *= 2) ns++;
        DCX_ALLOC(res->scale, ns);
        res->n_scale = ns;
        const int64_t cap = table_size(n);
        DCX_ALLOC(keys, n);
        DCX_ALLOC(tk, cap);
        DCX_ALLOC(tc, cap);
        DCX_ALLOC(units, d);
        int si = 0;
        for (int64_t g = 1; g <= nmax; g *= 2, si++) {
            dcx_patterns_scale *sc = &res->scale[si];
            dcx_rng rng;
            dcx_rng_seed_stream(&rng, p->seed, 2000 + (uint64_t)g);
            for (int64_t j = 0; j < d; j++) units[j] = j;
            int G = g == d ? 1 : p->groups;
            double sh = 0, shp = 0, smi = 0;
            for (int q = 0; q < G; q++) {
                /* partial Fisher–Yates: units[0..g) is a uniform random subset */
                for (int64_t t = 0; t < g; t++) {
                    int64_t u = t + (int64_t)dcx_rng_below(&rng, (uint64_t)(d - t));
                    int64_t tmp = units[t];
                    units[t] = units[u];
                    units[u] = tmp;
                }
                double hsum = 0;
                for (int64_t t = 0; t < g; t++) hsum += res->unit_entropy[units[t]];
                for (int64_t i = 0; i < n; i++) {
                    const uint64_t *w = bits + i * nw;
                    uint64_t key = 0;
                    for (int64_t t = 0; t < g; t++) {
                        int64_t u = units[t];
                        key |= ((w[u >> 6] >> (u & 63)) & 1ULL) << t;
                    }
                    keys[i] = key;
                }
                int64_t m;
                double h = word_entropy(keys, n, tk, tc, cap, &m);
                double hmm = h + (double)(m - 1) / (2.0 * (double)n);
                shp += h;
                sh += hmm;
                smi += hsum - hmm;
            }
            sc->n = g;
            sc->groups = G;
            sc->entropy = sh / G;
            sc->entropy_plugin = shp / G;
            sc->multi_information = smi / G;
            if (p->progress) p->progress(p->progress_ctx, "pattern scale curve", si + 1, ns);
        }
    }
    *out = res;
    res = NULL;
fail:
    free(bits);
    free(on);
    free(buf);
    free(slot_row);
    free(slot_cnt);
    free(keys);
    free(tk);
    free(tc);
    free(units);
    dcx_patterns_free(res);
    return st;
}
