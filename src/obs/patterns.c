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
 * one uint64) with a second, integer-keyed hash table.
 * Distributed runs (dcx_dist): each rank counts its own rows; the tables of
 * (pattern, count) are gathered at rank 0 and merged, so every count is
 * exact, and entropies are summed over the sorted counts, so they do not
 * depend on the number of ranks. */
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

/* Count the n keys of width w words (keys[i*w .. i*w+w)) with an open-
 * addressing table, and append one entry per distinct key to *ent: its w
 * words then its count (w + 1 uint64). tslot (cap) is scratch, cap a power
 * of two >= 2n. Returns the number of distinct keys. */
static int64_t count_keys(const uint64_t *keys, int64_t n, int64_t w, int64_t *tslot, int64_t *tcnt, int64_t cap,
                          uint64_t *ent)
{
    const uint64_t mask = (uint64_t)cap - 1;
    int64_t m = 0;
    for (int64_t s = 0; s < cap; s++) tcnt[s] = 0;
    for (int64_t i = 0; i < n; i++) {
        const uint64_t *k = keys + i * w;
        uint64_t s = (w == 1 ? mix64(k[0]) : hash_words(k, w)) & mask;
        while (tcnt[s] != 0 && memcmp(keys + tslot[s] * w, k, (size_t)w * sizeof *k) != 0) s = (s + 1) & mask;
        if (tcnt[s] == 0) {
            tslot[s] = i;
            m++;
        }
        tcnt[s]++;
    }
    int64_t e = 0;
    for (int64_t s = 0; s < cap; s++)
        if (tcnt[s] > 0) {
            memcpy(ent + e * (w + 1), keys + tslot[s] * w, (size_t)w * sizeof *ent);
            ent[e * (w + 1) + w] = (uint64_t)tcnt[s];
            e++;
        }
    return m;
}

/* The counts of the distinct keys among every rank's entries (w words + a
 * count each, as count_keys writes them): gathered at rank 0, merged, and
 * sorted in decreasing order. At rank 0 *counts (caller frees) and *m; the
 * other ranks get *counts = NULL, *m = 0. Collective. */
static dcx_status merge_counts(const dcx_dist *dist, const uint64_t *ent, int64_t ne, int64_t w, int64_t **counts,
                               int64_t *m)
{
    dcx_status st = DCX_OK;
    uint64_t *all = NULL;
    int64_t nall = 0, *slot = NULL, *cnt = NULL;
    *counts = NULL;
    *m = 0;
    int64_t nvals;
    if (!dcx__mul_ok(ne, w + 1, &nvals)) DCX_FAIL(DCX_ERR_ARG, "patterns: too many distinct patterns");
    if (dcx_dist_size(dist) == 1) { /* one process: the entries are already distinct */
        DCX_ALLOC(*counts, ne > 0 ? ne : 1);
        for (int64_t e = 0; e < ne; e++) (*counts)[e] = (int64_t)ent[e * (w + 1) + w];
        qsort(*counts, (size_t)ne, sizeof **counts, cmp_desc);
        *m = ne;
        return DCX_OK;
    }
    DCX_TRY(dcx_dist_gather_u64(dist, ent, nvals, &all, &nall));
    if (dcx_dist_rank(dist) != 0) goto fail; /* st == DCX_OK: nothing more here */
    int64_t tot = nall / (w + 1);
    const int64_t cap = table_size(tot);
    const uint64_t mask = (uint64_t)cap - 1;
    DCX_ALLOC(slot, cap);
    DCX_ALLOC(cnt, cap);
    int64_t md = 0;
    for (int64_t i = 0; i < tot; i++) {
        const uint64_t *k = all + i * (w + 1);
        uint64_t s = (w == 1 ? mix64(k[0]) : hash_words(k, w)) & mask;
        while (cnt[s] != 0 && memcmp(all + slot[s] * (w + 1), k, (size_t)w * sizeof *k) != 0) s = (s + 1) & mask;
        if (cnt[s] == 0) {
            slot[s] = i;
            md++;
        }
        cnt[s] += (int64_t)k[w];
    }
    DCX_ALLOC(*counts, md > 0 ? md : 1);
    int64_t t = 0;
    for (int64_t s = 0; s < cap; s++)
        if (cnt[s] > 0) (*counts)[t++] = cnt[s];
    qsort(*counts, (size_t)md, sizeof **counts, cmp_desc);
    *m = md;
fail:
    free(all);
    free(slot);
    free(cnt);
    return st;
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
    const dcx_dist *dist = p->dist;
    const int64_t nl = dcx_source_rows(src), d = dcx_source_cols(src); /* this rank's rows */
    int64_t n = nl;
    DCX_TRY(dcx_dist_sum_i64(dist, &n, 1)); /* all rows */
    const char *name = dcx_source_name(src);
    if (n < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "%s: no rows: activation patterns need at least one sample", name);
    if (d < 1) DCX_FAIL(DCX_ERR_DEGENERATE, "%s: no columns: activation patterns need at least one unit", name);
    const int64_t nw = (d + 63) / 64;
    int64_t nbits;
    if (!dcx__mul_ok(nl, nw + 1, &nbits)) DCX_FAIL(DCX_ERR_ARG, "%s: too many rows for the bit matrix", name);
    DCX_ALLOC(res, 1);
    res->n = n;
    res->d = d;
    res->threshold = p->threshold;
    DCX_ALLOC(bits, nbits > 0 ? nbits : 1);
    DCX_ALLOC(on, d);
    int64_t block = (1 << 18) / d;
    if (block < 1) block = 1;
    if (block > nl) block = nl > 0 ? nl : 1;
    DCX_ALLOC(buf, block * d);

    /* Read, binarise and pack this rank's rows; all ranks stop together if
     * one of them fails. */
    {
        dcx_status rs = DCX_OK;
        for (int64_t r0 = 0; r0 < nl;) {
            int64_t got;
            if ((rs = dcx_source_read(src, block, buf, &got)) != DCX_OK) break;
            if (got <= 0) {
                rs = dcx_set_error(DCX_ERR_FORMAT, "%s: data ended after %lld of %lld rows", name, (long long)r0,
                                   (long long)nl);
                break;
            }
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
            if (p->progress) p->progress(p->progress_ctx, "reading activations", r0, nl);
        }
        DCX_TRY(dcx_dist_agree(dist, rs));
    }
    free(buf);
    buf = NULL;
    DCX_TRY(dcx_dist_sum_i64(dist, on, d));

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

    /* Whole patterns: each rank's (pattern, count) table (at most nl entries
     * of nw + 1 words), merged at rank 0, and the sorted counts sent back to
     * every rank. */
    {
        const int64_t cap = table_size(nl);
        DCX_ALLOC(slot_row, cap);
        DCX_ALLOC(slot_cnt, cap);
        DCX_ALLOC(keys, nbits > 0 ? nbits : 1);
        int64_t ml = count_keys(bits, nl, nw, slot_row, slot_cnt, cap, keys);
        free(slot_row);
        free(slot_cnt);
        slot_row = slot_cnt = NULL;
        int64_t m = 0;
        DCX_TRY(merge_counts(dist, keys, ml, nw, &res->rank_counts, &m));
        free(keys);
        keys = NULL;
        DCX_TRY(dcx_dist_bcast_i64(dist, &m, 1, 0));
        if (dcx_dist_rank(dist) != 0) DCX_ALLOC(res->rank_counts, m > 0 ? m : 1);
        DCX_TRY(dcx_dist_bcast_i64(dist, res->rank_counts, m, 0));
        res->distinct = m;
        res->entropy = dcx__entropy_counts(res->rank_counts, m, n);
        res->entropy_mm = res->entropy + (double)(m - 1) / (2.0 * (double)n);
        res->saturated = 2 * m > n;

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

    /* Scale curve: the groups depend on the seed only; the word counts of
     * each group are merged over ranks like the whole patterns. */
    {
        int64_t nmax = d < p->max_group ? d : p->max_group;
        int ns = 0;
        for (int64_t g = 1; g <= nmax; g *= 2) ns++;
        DCX_ALLOC(res->scale, ns);
        res->n_scale = ns;
        const int64_t cap = table_size(nl);
        DCX_ALLOC(keys, nl > 0 ? nl : 1);
        DCX_ALLOC(tk, 2 * (nl > 0 ? nl : 1)); /* entries: key, count */
        DCX_ALLOC(tc, cap);
        DCX_ALLOC(slot_row, cap);
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
                for (int64_t i = 0; i < nl; i++) {
                    const uint64_t *w = bits + i * nw;
                    uint64_t key = 0;
                    for (int64_t t = 0; t < g; t++) {
                        int64_t u = units[t];
                        key |= ((w[u >> 6] >> (u & 63)) & 1ULL) << t;
                    }
                    keys[i] = key;
                }
                int64_t ml = count_keys(keys, nl, 1, slot_row, tc, cap, tk), m = 0, *cnt = NULL;
                double hm[2] = {0, 0};
                st = merge_counts(dist, tk, ml, 1, &cnt, &m);
                if (st == DCX_OK && dcx_dist_rank(dist) == 0) {
                    hm[0] = dcx__entropy_counts(cnt, m, n);
                    hm[1] = (double)m;
                }
                free(cnt);
                if (st != DCX_OK) goto fail;
                DCX_TRY(dcx_dist_bcast_f64(dist, hm, 2, 0));
                double h = hm[0];
                double hmm = h + (hm[1] - 1) / (2.0 * (double)n);
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
