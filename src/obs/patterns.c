/* patterns.c — activation-pattern entropies (SPEC §3, docs/observables.md §3).
 *
 * One pass over the source in row blocks: the binarised activations
 * b_ij = [a_ij > θ] of a row are packed 64 units to a uint64 word and counted
 * in a growable open-addressing hash table (linear probing) of the distinct
 * patterns; a hash collision is resolved by comparing the packed words
 * exactly. No bit matrix is kept: memory is the table, m patterns x (⌈D/64⌉
 * + 1) words plus 2m–4m slots. Entropies are plug-in,
 *     H = −Σ_w (c_w/N) ln(c_w/N),
 * and Miller–Madow, H + (m − 1)/(2N) with m distinct words (Miller 1955).
 * The scale curve counts the words of n random units (n <= 64, so a word is
 * one uint64): the count of a word is the sum of the counts of the distinct
 * patterns that project onto it, so each group is counted from the table
 * (m entries) instead of from the N rows, one group per task on the thread
 * pool.
 * Distributed runs (dcx_dist): each rank counts its own rows; the tables of
 * (pattern, count) are gathered at rank 0 and merged, so every count is
 * exact; rank 0 derives the scale curve from the merged table and broadcasts
 * the results. Entropies are summed over the sorted counts, so they depend
 * neither on the number of ranks nor on the block size. */
#include <math.h>
#include <stdatomic.h>
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

/* A growable table of distinct keys of w words with their counts: the keys
 * in order of first appearance (key, cnt: mcap entries, m used) and an
 * open-addressing index over them (slot: cap entries, −1 empty, load <= 1/2). */
typedef struct ptab {
    int64_t w, m, mcap, cap;
    uint64_t *key;
    int64_t *cnt;
    int64_t *slot;
} ptab;

static uint64_t key_hash(const uint64_t *k, int64_t w) { return w == 1 ? mix64(k[0]) : hash_words(k, w); }

static void ptab_free(ptab *t)
{
    free(t->key);
    free(t->cnt);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

static dcx_status ptab_index(ptab *t, int64_t cap)
{
    int64_t *slot = malloc((size_t)cap * sizeof *slot);
    if (!slot) return dcx_set_error(DCX_ERR_NOMEM, "out of memory (%lld pattern slots)", (long long)cap);
    for (int64_t s = 0; s < cap; s++) slot[s] = -1;
    const uint64_t mask = (uint64_t)cap - 1;
    for (int64_t e = 0; e < t->m; e++) {
        uint64_t s = key_hash(t->key + e * t->w, t->w) & mask;
        while (slot[s] >= 0) s = (s + 1) & mask;
        slot[s] = e;
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return DCX_OK;
}

/* An empty table for keys of w words, room for about `expect` keys. */
static dcx_status ptab_init(ptab *t, int64_t w, int64_t expect)
{
    dcx_status st = DCX_OK;
    memset(t, 0, sizeof *t);
    t->w = w;
    t->mcap = expect > 16 ? expect : 16;
    int64_t nk;
    if (!dcx__mul_ok(t->mcap, w, &nk)) DCX_FAIL(DCX_ERR_NOMEM, "patterns: table too large");
    DCX_ALLOC(t->key, nk);
    DCX_ALLOC(t->cnt, t->mcap);
    DCX_TRY(ptab_index(t, table_size(t->mcap)));
    return DCX_OK;
fail:
    ptab_free(t);
    return st;
}

/* Once every key is in: drop the index and the arena's slack (the keys and
 * counts stay; ptab_add may no longer be called). */
static void ptab_compact(ptab *t)
{
    free(t->slot);
    t->slot = NULL;
    t->cap = 0;
    if (t->m > 0 && t->m < t->mcap) {
        uint64_t *key = realloc(t->key, (size_t)(t->m * t->w) * sizeof *key);
        if (key) t->key = key;
        int64_t *cnt = realloc(t->cnt, (size_t)t->m * sizeof *cnt);
        if (cnt) t->cnt = cnt;
        if (key && cnt) t->mcap = t->m;
    }
}

/* Add c to the count of key k (w words), inserting it when new. */
static dcx_status ptab_add(ptab *t, const uint64_t *k, int64_t c)
{
    const int64_t w = t->w;
    uint64_t mask = (uint64_t)t->cap - 1, s = key_hash(k, w) & mask;
    for (int64_t e; (e = t->slot[s]) >= 0; s = (s + 1) & mask)
        if (memcmp(t->key + e * w, k, (size_t)w * sizeof *k) == 0) {
            t->cnt[e] += c;
            return DCX_OK;
        }
    if (t->m == t->mcap) {
        int64_t mcap = 2 * t->mcap, nk;
        if (!dcx__mul_ok(mcap, w, &nk) || (uint64_t)nk > SIZE_MAX / sizeof *k)
            return dcx_set_error(DCX_ERR_NOMEM, "patterns: too many distinct patterns");
        uint64_t *key = realloc(t->key, (size_t)nk * sizeof *key);
        if (!key) return dcx_set_error(DCX_ERR_NOMEM, "out of memory (%lld distinct patterns)", (long long)mcap);
        t->key = key;
        int64_t *cnt = realloc(t->cnt, (size_t)mcap * sizeof *cnt);
        if (!cnt) return dcx_set_error(DCX_ERR_NOMEM, "out of memory (%lld distinct patterns)", (long long)mcap);
        t->cnt = cnt;
        t->mcap = mcap;
    }
    if (2 * (t->m + 1) > t->cap) {
        dcx_status st = ptab_index(t, 2 * t->cap);
        if (st != DCX_OK) return st;
        mask = (uint64_t)t->cap - 1;
        s = key_hash(k, w) & mask;
        while (t->slot[s] >= 0) s = (s + 1) & mask;
    }
    memcpy(t->key + t->m * w, k, (size_t)w * sizeof *k);
    t->cnt[t->m] = c;
    t->slot[s] = t->m++;
    return DCX_OK;
}

/* The groups of one size of the scale curve, counted from the table of
 * distinct patterns: one task per group. A task borrows one of `nscr`
 * scratch tables (a running task holds one; at most nscr tasks run at once),
 * allocated on first use with room for cap_max slots. */
typedef struct wslot {
    uint64_t key;
    int64_t cnt; /* 0: empty (every pattern counts >= 1) */
} wslot;

typedef struct scale_job {
    const ptab *tab;
    int64_t n;             /* all rows */
    int64_t g;             /* units per group */
    const int64_t *gunits; /* (groups, g) the units of each group */
    double *h;             /* (groups) plug-in entropy of the group's words */
    int64_t *m;            /* (groups) distinct words */
    wslot **scr;           /* (nscr) scratch tables */
    atomic_int *busy;      /* (nscr) */
    int nscr;
    int64_t cap_max;
} scale_job;

static dcx_status scale_task(void *ctx, int64_t q)
{
    scale_job *jb = ctx;
    dcx_status st = DCX_OK;
    const ptab *t = jb->tab;
    const int64_t g = jb->g, *units = jb->gunits + q * g, nw = t->w;
    int64_t most = t->m; /* distinct words: at most min(m, 2^g) */
    if (g < 62 && ((int64_t)1 << g) < most) most = (int64_t)1 << g;
    const int64_t cap = table_size(most);
    const uint64_t mask = (uint64_t)cap - 1;
    int k = 0;
    while (atomic_exchange(&jb->busy[k], 1) != 0) k = (k + 1) % jb->nscr;
    if (!jb->scr[k] && !(jb->scr[k] = malloc((size_t)jb->cap_max * sizeof(wslot)))) {
        st = dcx_set_error(DCX_ERR_NOMEM, "out of memory (%lld pattern words)", (long long)jb->cap_max);
        goto fail;
    }
    wslot *ws = jb->scr[k];
    memset(ws, 0, (size_t)cap * sizeof *ws);
    for (int64_t e = 0; e < t->m; e++) {
        const uint64_t *w = t->key + e * nw;
        uint64_t key = 0;
        for (int64_t u = 0; u < g; u++) {
            const int64_t j = units[u];
            key |= ((w[j >> 6] >> (j & 63)) & 1ULL) << u;
        }
        uint64_t s = mix64(key) & mask;
        while (ws[s].cnt != 0 && ws[s].key != key) s = (s + 1) & mask;
        ws[s].key = key;
        ws[s].cnt += t->cnt[e];
    }
    int64_t md = 0, *wc = (int64_t *)ws; /* the counts, compacted in place */
    for (int64_t s = 0; s < cap; s++)
        if (ws[s].cnt > 0) wc[md++] = ws[s].cnt;
    qsort(wc, (size_t)md, sizeof *wc, cmp_desc);
    jb->h[q] = dcx__entropy_counts(wc, md, jb->n);
    jb->m[q] = md;
fail:
    atomic_store(&jb->busy[k], 0);
    return st;
}

/* Rank 0's part once the table t is complete: the sorted counts (*counts,
 * *m) and the scale curve (res->scale[..].entropy, entropy_plugin,
 * multi_information; res->scale[..].n and .groups and res->unit_entropy are
 * set already). */
static dcx_status finish_root(const ptab *t, int64_t n, int64_t d, const dcx_patterns_params *p,
                              dcx_patterns_result *res, int64_t **counts, int64_t *m)
{
    dcx_status st = DCX_OK;
    int64_t *gunits = NULL, *gm = NULL, *units = NULL;
    double *gh = NULL;
    wslot **scr = NULL;
    atomic_int *busy = NULL;
    int nscr = 0;
    DCX_ALLOC(*counts, t->m > 0 ? t->m : 1);
    memcpy(*counts, t->cnt, (size_t)t->m * sizeof **counts);
    qsort(*counts, (size_t)t->m, sizeof **counts, cmp_desc);
    *m = t->m;

    const int gmax = res->n_scale > 0 ? res->scale[0].groups : 1; /* every size has this many or 1 */
    const int64_t nmax = res->n_scale > 0 ? res->scale[res->n_scale - 1].n : 1;
    DCX_ALLOC(gunits, (int64_t)gmax * nmax);
    DCX_ALLOC(gh, gmax);
    DCX_ALLOC(gm, gmax);
    DCX_ALLOC(units, d);
    nscr = dcx_get_threads();
    if (nscr > gmax) nscr = gmax;
    if (nscr > 64) nscr = 64; /* the pool's limit */
    if (nscr < 1) nscr = 1;
    DCX_ALLOC(scr, nscr);
    DCX_ALLOC(busy, nscr);
    for (int k = 0; k < nscr; k++) atomic_init(&busy[k], 0);
    int64_t most = t->m;
    if (nmax < 62 && ((int64_t)1 << nmax) < most) most = (int64_t)1 << nmax;
    const int64_t cap_max = table_size(most);
    for (int si = 0; si < res->n_scale; si++) {
        dcx_patterns_scale *sc = &res->scale[si];
        const int64_t g = sc->n;
        const int G = sc->groups;
        /* the groups: a stream of the seed per size; partial Fisher–Yates
         * shuffles make units[0..g) a uniform random subset, group after group */
        dcx_rng rng;
        dcx_rng_seed_stream(&rng, p->seed, 2000 + (uint64_t)g);
        for (int64_t j = 0; j < d; j++) units[j] = j;
        for (int q = 0; q < G; q++) {
            for (int64_t u = 0; u < g; u++) {
                int64_t v = u + (int64_t)dcx_rng_below(&rng, (uint64_t)(d - u));
                int64_t tmp = units[u];
                units[u] = units[v];
                units[v] = tmp;
            }
            memcpy(gunits + q * g, units, (size_t)g * sizeof *units);
        }
        scale_job jb = {t, n, g, gunits, gh, gm, scr, busy, nscr, cap_max};
        DCX_TRY(dcx__parallel_tasks(G, nscr, scale_task, &jb, NULL, NULL));
        /* averages over the groups, in the order of the groups */
        double sh = 0, shp = 0, smi = 0;
        for (int q = 0; q < G; q++) {
            double hsum = 0;
            for (int64_t u = 0; u < g; u++) hsum += res->unit_entropy[gunits[q * g + u]];
            const double h = gh[q], hmm = h + ((double)gm[q] - 1) / (2.0 * (double)n);
            shp += h;
            sh += hmm;
            smi += hsum - hmm;
        }
        sc->entropy = sh / G;
        sc->entropy_plugin = shp / G;
        sc->multi_information = smi / G;
        if (p->progress) p->progress(p->progress_ctx, "pattern scale curve", si + 1, res->n_scale);
    }
fail:
    for (int k = 0; k < nscr && scr; k++) free(scr[k]);
    free(scr);
    free((void *)busy);
    free(gunits);
    free(gh);
    free(gm);
    free(units);
    return st;
}

/* Merge every rank's table at rank 0 (gathering (key words, count) entries);
 * on rank 0 *t is then the merged table, elsewhere it is emptied.
 * Collective; every rank returns the same status. */
static dcx_status merge_tables(const dcx_dist *dist, ptab *t)
{
    dcx_status st = DCX_OK, ls = DCX_OK;
    uint64_t *ent = NULL, *all = NULL;
    int64_t nall = 0;
    const int64_t w = t->w;
    int64_t nvals = 0;
    if (!dcx__mul_ok(t->m, w + 1, &nvals)) ls = dcx_set_error(DCX_ERR_ARG, "patterns: too many distinct patterns");
    if (ls == DCX_OK && !(ent = dcx__calloc((size_t)(nvals > 0 ? nvals : 1), sizeof *ent)))
        ls = dcx_set_error(DCX_ERR_NOMEM, "out of memory (%lld distinct patterns)", (long long)t->m);
    if (ls == DCX_OK)
        for (int64_t e = 0; e < t->m; e++) {
            memcpy(ent + e * (w + 1), t->key + e * w, (size_t)w * sizeof *ent);
            ent[e * (w + 1) + w] = (uint64_t)t->cnt[e];
        }
    ptab_free(t);
    t->w = w;
    DCX_TRY(dcx_dist_agree(dist, ls));
    DCX_TRY(dcx_dist_gather_u64(dist, ent, nvals, &all, &nall));
    free(ent);
    ent = NULL;
    if (dcx_dist_rank(dist) == 0) {
        const int64_t tot = nall / (w + 1);
        ls = ptab_init(t, w, tot / 2);
        for (int64_t i = 0; i < tot && ls == DCX_OK; i++) ls = ptab_add(t, all + i * (w + 1), (int64_t)all[i * (w + 1) + w]);
    }
    free(all);
    all = NULL;
    DCX_TRY(dcx_dist_agree(dist, ls));
fail:
    free(ent);
    free(all);
    return st;
}

dcx_status dcx_patterns(dcx_source *src, const dcx_patterns_params *p, dcx_patterns_result **out)
{
    dcx_status st = DCX_OK;
    dcx_patterns_result *res = NULL;
    uint64_t *row = NULL;
    int64_t *on = NULL;
    double *buf = NULL, *sv = NULL;
    ptab tab = {0};
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
    DCX_ALLOC(res, 1);
    res->n = n;
    res->d = d;
    res->threshold = p->threshold;
    DCX_ALLOC(on, d);
    DCX_ALLOC(row, nw);
    int64_t block = p->block_rows > 0 ? p->block_rows : (1 << 18) / d;
    if (block < 1) block = 1;
    if (block > nl) block = nl > 0 ? nl : 1;
    int64_t nbuf;
    if (!dcx__mul_ok(block, d, &nbuf)) DCX_FAIL(DCX_ERR_ARG, "patterns: block of %lld rows too large", (long long)block);
    DCX_ALLOC(buf, nbuf);

    /* Read, binarise, pack and count this rank's rows; all ranks stop
     * together if one of them fails. */
    {
        dcx_status rs = ptab_init(&tab, nw, 1024);
        for (int64_t r0 = 0; r0 < nl && rs == DCX_OK;) {
            int64_t got;
            if ((rs = dcx_source_read(src, block, buf, &got)) != DCX_OK) break;
            if (got <= 0) {
                rs = dcx_set_error(DCX_ERR_FORMAT, "%s: data ended after %lld of %lld rows", name, (long long)r0,
                                   (long long)nl);
                break;
            }
            for (int64_t i = 0; i < got && rs == DCX_OK; i++) {
                const double *a = buf + i * d;
                for (int64_t k = 0; k < nw; k++) {
                    const int64_t j0 = 64 * k, j1 = j0 + 64 < d ? j0 + 64 : d;
                    uint64_t x = 0;
                    for (int64_t j = j0; j < j1; j++) {
                        const uint64_t b = a[j] > p->threshold;
                        x |= b << (j - j0);
                        on[j] += (int64_t)b;
                    }
                    row[k] = x;
                }
                rs = ptab_add(&tab, row, 1);
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

    /* The scale curve's sizes: n = 1, 2, 4, … <= min(D, max_group); G groups
     * each (one when n = D). */
    {
        int64_t nmax = d < p->max_group ? d : p->max_group;
        int ns = 0;
        for (int64_t g = 1; g <= nmax; g *= 2) ns++;
        DCX_ALLOC(res->scale, ns);
        res->n_scale = ns;
        int si = 0;
        for (int64_t g = 1; g <= nmax; g *= 2, si++) {
            res->scale[si].n = g;
            res->scale[si].groups = g == d ? 1 : p->groups;
        }
    }

    /* Whole patterns and the scale curve: the tables merged at rank 0, which
     * computes the sorted counts and the curve and sends them to every rank. */
    {
        if (dcx_dist_size(dist) > 1) DCX_TRY(merge_tables(dist, &tab));
        int64_t m = 0;
        dcx_status rs = DCX_OK;
        if (dcx_dist_rank(dist) == 0) {
            ptab_compact(&tab); /* room for the scale curve's scratch tables */
            rs = finish_root(&tab, n, d, p, res, &res->rank_counts, &m);
        }
        ptab_free(&tab);
        DCX_TRY(dcx_dist_agree(dist, rs));
        if (dcx_dist_size(dist) > 1) {
            DCX_TRY(dcx_dist_bcast_i64(dist, &m, 1, 0));
            if (dcx_dist_rank(dist) != 0) DCX_ALLOC(res->rank_counts, m > 0 ? m : 1);
            DCX_TRY(dcx_dist_bcast_i64(dist, res->rank_counts, m, 0));
            const int ns = res->n_scale;
            DCX_ALLOC(sv, 3 * ns);
            for (int si = 0; si < ns; si++) {
                sv[3 * si] = res->scale[si].entropy;
                sv[3 * si + 1] = res->scale[si].entropy_plugin;
                sv[3 * si + 2] = res->scale[si].multi_information;
            }
            DCX_TRY(dcx_dist_bcast_f64(dist, sv, 3 * ns, 0));
            for (int si = 0; si < ns; si++) {
                res->scale[si].entropy = sv[3 * si];
                res->scale[si].entropy_plugin = sv[3 * si + 1];
                res->scale[si].multi_information = sv[3 * si + 2];
            }
        }
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
    *out = res;
    res = NULL;
fail:
    ptab_free(&tab);
    free(row);
    free(on);
    free(buf);
    free(sv);
    dcx_patterns_free(res);
    return st;
}
