/* kmeans.c — k-means: greedy k-means++ seeding (Arthur & Vassilvitskii 2007,
 * with 2 + ⌊ln k⌋ local trials as in scikit-learn) and Lloyd iterations.
 *
 * Squared distances to the centres are computed in blocks of rows as
 *     ‖x‖² − 2 x·c + ‖c‖²
 * with one dgemm per block (x·cᵀ). Inertias (the trace, the final value and
 * the restart comparison) are recomputed directly as Σ ‖x − c‖², so that
 * they do not carry the cancellation error of the expanded form.
 *
 * Lloyd iterations use Hamerly's bounds (G. Hamerly, "Making k-means even
 * faster", SDM 2010): an upper bound u on the distance to the own centre and
 * a lower bound l on the second nearest, moved by the centre shifts; a point
 * with u <= max(l, half the distance to the nearest other centre) keeps its
 * label without any distance computation. The assignments are those of plain
 * Lloyd (up to rounding at near-ties); only the work differs. Centres are kept as running sums, and the
 * final centres are recomputed as exact means.
 *
 * Monotonicity: with labels L_t assigned from centres c_t, the inertia
 * J(L_t, c_t) never increases: the mean update lowers J for fixed labels,
 * moving the farthest point into an empty cluster (centre = that point)
 * lowers it further, and the next assignment lowers it again. */
#include <math.h>
#include <string.h>

#include "obs_internal.h"

void dcx_kmeans_params_default(dcx_kmeans_params *p)
{
    memset(p, 0, sizeof *p);
    p->k = 1;
    p->restarts = 3;
    p->max_iter = 100;
}

void dcx_kmeans_free(dcx_kmeans_result *r)
{
    if (!r) return;
    free(r->labels);
    free(r->centres);
    free(r->sizes);
    free(r);
}

/* ‖a − b‖², with four partial sums in a fixed order (deterministic, and
 * four independent chains instead of one: the loop runs ~3× faster). */
static double dist2(const double *a, const double *b, int64_t d)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        double t0 = a[j] - b[j], t1 = a[j + 1] - b[j + 1], t2 = a[j + 2] - b[j + 2], t3 = a[j + 3] - b[j + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; j < d; j++) {
        double t = a[j] - b[j];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

typedef struct km_ws {
    const double *x;
    const dcx__rows *rows; /* this rank's rows of all (n of them here) */
    int64_t n, d, k, block;
    const double *xsq; /* (n) ‖x_i‖² */
    double *csq;  /* (k) ‖c‖² */
    double *prod; /* (block, max(k, trials)) */
    double *gx;   /* (block, d) gathered rows */
    double *gsq;  /* (block) their norms */
} km_ws;

/* Squared distances of the m rows xb (m, d), norms xsqb, to the q rows of c
 * (q, d), into out (m, q), clamped at 0. */
static dcx_status block_dist(const km_ws *ws, const double *xb, const double *xsqb, int64_t m, const double *c,
                             const double *csq, int64_t q, double *out)
{
    dcx_status st = dcx__dgemm(0, 1, m, q, ws->d, -2.0, xb, ws->d, c, ws->d, 0.0, out, q);
    if (st != DCX_OK) return st;
    for (int64_t i = 0; i < m; i++) {
        double *row = out + i * q;
        for (int64_t j = 0; j < q; j++) {
            double v = row[j] + xsqb[i] + csq[j];
            row[j] = v > 0 ? v : 0;
        }
    }
    return DCX_OK;
}

static void row_norms(const double *a, int64_t m, int64_t d, double *out)
{
    for (int64_t i = 0; i < m; i++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += a[i * d + j] * a[i * d + j];
        out[i] = s;
    }
}

/* Assign the points idx[0..m) (all n points when idx is NULL) to their
 * nearest centre (ties: lowest index), with the distances through BLAS in
 * blocks. Sets u = distance to the nearest centre, l = distance to the second
 * nearest (Hamerly's bounds), moves changed points between the running sums
 * and sizes, and adds the number of changed labels to *changed. */
static dcx_status assign_points(km_ws *ws, const double *c, const int64_t *idx, int64_t m, int64_t *labels,
                                double *u, double *l, double *sums, int64_t *sizes, int64_t *changed)
{
    dcx_status st = DCX_OK;
    const int64_t d = ws->d, k = ws->k;
    for (int64_t i0 = 0; i0 < m; i0 += ws->block) {
        int64_t b = m - i0 < ws->block ? m - i0 : ws->block;
        const double *xb = ws->x + i0 * d, *xsqb = ws->xsq + i0;
        if (idx) {
            for (int64_t i = 0; i < b; i++) {
                memcpy(ws->gx + i * d, ws->x + idx[i0 + i] * d, (size_t)d * sizeof *ws->gx);
                ws->gsq[i] = ws->xsq[idx[i0 + i]];
            }
            xb = ws->gx;
            xsqb = ws->gsq;
        }
        /* −2 x·c by BLAS; the norms and the clamp at 0 are added in the
         * scan for the two nearest (the values of block_dist, one pass) */
        DCX_TRY(dcx__dgemm(0, 1, b, k, d, -2.0, xb, d, c, d, 0.0, ws->prod, k));
        const double *csq = ws->csq;
        for (int64_t i = 0; i < b; i++) {
            const double *row = ws->prod + i * k;
            const double xs = xsqb[i];
            int64_t best = 0;
            double d1 = row[0] + xs + csq[0], d2 = INFINITY;
            d1 = d1 > 0 ? d1 : 0;
            for (int64_t j = 1; j < k; j++) {
                double v = row[j] + xs + csq[j];
                v = v > 0 ? v : 0;
                if (v < d1) {
                    d2 = d1;
                    d1 = v;
                    best = j;
                } else if (v < d2) {
                    d2 = v;
                }
            }
            int64_t pt = idx ? idx[i0 + i] : i0 + i;
            u[pt] = sqrt(d1);
            l[pt] = sqrt(d2);
            int64_t old = labels[pt];
            if (old != best) {
                const double *xi = ws->x + pt * d;
                if (old >= 0) {
                    double *so = sums + old * d;
                    for (int64_t j = 0; j < d; j++) so[j] -= xi[j];
                    sizes[old]--;
                }
                double *sn = sums + best * d;
                for (int64_t j = 0; j < d; j++) sn[j] += xi[j];
                sizes[best]++;
                labels[pt] = best;
                (*changed)++;
            }
        }
    }
fail:
    return st;
}

/* Σ ‖x_i − c_{l(i)}‖² over all ranks' rows (collective). */
static dcx_status inertia_of(const km_ws *ws, const int64_t *labels, const double *c, double *out)
{
    double s = 0;
    for (int64_t i = 0; i < ws->n; i++) s += dist2(ws->x + i * ws->d, c + labels[i] * ws->d, ws->d);
    dcx_status st = dcx_dist_sum_f64(ws->rows->dist, &s, 1);
    *out = s;
    return st;
}

/* Centres = means of their clusters (sums and sizes over all ranks); an
 * empty cluster gets the point farthest from its centre among clusters of
 * size > 1 — the largest distance over all ranks, ties to the lowest global
 * row index — until none is empty. sizes are the global sizes; scratch (P)
 * f64 and iscratch (P) i64. Collective. */
static dcx_status update_centres(const km_ws *ws, int64_t *labels, double *c, int64_t *sizes, double *far,
                                 double *scratch, int64_t *iscratch)
{
    dcx_status st = DCX_OK;
    const dcx__rows *rw = ws->rows;
    const int64_t n = ws->n, d = ws->d, k = ws->k;
    for (;;) {
        memset(c, 0, (size_t)(k * d) * sizeof *c);
        memset(sizes, 0, (size_t)k * sizeof *sizes);
        for (int64_t i = 0; i < n; i++) {
            const double *xi = ws->x + i * d;
            double *ci = c + labels[i] * d;
            for (int64_t j = 0; j < d; j++) ci[j] += xi[j];
            sizes[labels[i]]++;
        }
        DCX_TRY(dcx_dist_sum_f64(rw->dist, c, k * d));
        DCX_TRY(dcx_dist_sum_i64(rw->dist, sizes, k));
        int64_t empty = -1;
        for (int64_t q = 0; q < k; q++) {
            if (sizes[q] > 0) {
                double inv = 1.0 / (double)sizes[q];
                for (int64_t j = 0; j < d; j++) c[q * d + j] *= inv;
            } else if (empty < 0) {
                empty = q;
            }
        }
        if (empty < 0) break;
        /* n >= k guarantees a cluster of size > 1 while one is empty. */
        int64_t pick = -1;
        double best = -1;
        for (int64_t i = 0; i < n; i++) {
            if (sizes[labels[i]] < 2) continue;
            far[i] = dist2(ws->x + i * d, c + labels[i] * d, d);
            if (far[i] > best) {
                best = far[i];
                pick = i;
            }
        }
        /* every rank's candidate: the farthest overall, ties to the lower
         * rank, i.e. the lower global row (each rank's slot is summed with
         * zeros: exact) */
        memset(scratch, 0, (size_t)rw->size * sizeof *scratch);
        memset(iscratch, 0, (size_t)rw->size * sizeof *iscratch);
        scratch[rw->rank] = best;
        iscratch[rw->rank] = pick;
        DCX_TRY(dcx_dist_sum_f64(rw->dist, scratch, rw->size));
        DCX_TRY(dcx_dist_sum_i64(rw->dist, iscratch, rw->size));
        int win = -1;
        for (int q = 0; q < rw->size; q++)
            if (iscratch[q] >= 0 && (win < 0 || scratch[q] > scratch[win])) win = q;
        DCX_ASSERT(win >= 0);
        if (win == rw->rank) labels[pick] = empty;
    }
fail:
    return st;
}

/* 1 when this rank holds global row g. A row is sent to every rank by
 * summing a zeroed buffer that only its holder fills: adding zeros is
 * exact. */
static int owns(const dcx__rows *rw, int64_t g) { return dcx__rows_owner(rw, g) == rw->rank; }

/* The index of the row drawn with probability ∝ closest (D²): u is a
 * uniform draw times the total potential, tot (P) every rank's part of it.
 * The rows are scanned in global order, so the pick does not depend on P
 * beyond the rounding of the partial sums. Returns the rank holding the
 * pick and, on that rank, its local index in *pick. */
static int draw_d2(const km_ws *ws, const double *closest, const double *tot, double u, int64_t *pick)
{
    const dcx__rows *rw = ws->rows;
    double acc = 0;
    int owner = -1, last = -1;
    for (int q = 0; q < rw->size; q++) {
        if (!(tot[q] > 0)) continue;
        last = q;
        if (acc + tot[q] > u) {
            owner = q;
            break;
        }
        acc += tot[q];
    }
    if (owner < 0) owner = last; /* u at the very top (rounding): the last positive row */
    *pick = -1;
    if (owner == rw->rank)
        for (int64_t i = 0; i < ws->n; i++) {
            if (closest[i] <= 0) continue;
            acc += closest[i];
            *pick = i;
            if (acc > u) break;
        }
    return owner;
}

/* Greedy k-means++: first centre uniform; each next one the best (lowest
 * potential) of `trials` candidates drawn with probability ∝ D². The
 * candidates' squared distances to this rank's points are kept (cdist
 * (n, trials)), so that the winner's column updates D² without another
 * pass. Distributed: the draws come from the same stream on every rank;
 * the rank holding a drawn row sends it (one sum of the candidate rows);
 * the potentials of the candidates are summed per rank (tp, P x trials), so
 * that every rank also knows each rank's part of the new potential. */
static dcx_status seed_plusplus(km_ws *ws, dcx_rng *rng, double *c, double *closest, double *cand,
                                double *candsq, double *cdist, double *tp, double *tot)
{
    dcx_status st = DCX_OK;
    const dcx__rows *rw = ws->rows;
    const int P = rw->size, me = rw->rank;
    const int64_t n = ws->n, d = ws->d, k = ws->k;
    const int64_t trials = 2 + (int64_t)floor(log((double)k));
    int64_t first = (int64_t)dcx_rng_below(rng, (uint64_t)rw->n);
    memset(c, 0, (size_t)d * sizeof *c);
    if (owns(rw, first)) memcpy(c, ws->x + (first - rw->row0) * d, (size_t)d * sizeof *c);
    DCX_TRY(dcx_dist_sum_f64(rw->dist, c, d));
    double pot = 0;
    for (int64_t i = 0; i < n; i++) pot += closest[i] = dist2(ws->x + i * d, c, d);
    memset(tot, 0, (size_t)P * sizeof *tot);
    tot[me] = pot;
    DCX_TRY(dcx_dist_sum_f64(rw->dist, tot, P));
    pot = tot[0];
    for (int q = 1; q < P; q++) pot += tot[q];
    for (int64_t q = 1; q < k; q++) {
        memset(cand, 0, (size_t)(trials * d) * sizeof *cand);
        for (int64_t t = 0; t < trials; t++) {
            int64_t pick;
            if (pot > 0) {
                double u = dcx_rng_uniform(rng) * pot;
                if (draw_d2(ws, closest, tot, u, &pick) == me)
                    memcpy(cand + t * d, ws->x + pick * d, (size_t)d * sizeof *cand);
            } else {
                int64_t g = (int64_t)dcx_rng_below(rng, (uint64_t)rw->n);
                if (owns(rw, g)) memcpy(cand + t * d, ws->x + (g - rw->row0) * d, (size_t)d * sizeof *cand);
            }
        }
        DCX_TRY(dcx_dist_sum_f64(rw->dist, cand, trials * d));
        row_norms(cand, trials, d, candsq);
        /* potential with each candidate added; distances in blocks */
        double *mine = tp + (int64_t)me * trials;
        memset(tp, 0, (size_t)(P * trials) * sizeof *tp);
        for (int64_t i0 = 0; i0 < n; i0 += ws->block) {
            int64_t m = n - i0 < ws->block ? n - i0 : ws->block;
            double *cd = cdist + i0 * trials;
            DCX_TRY(block_dist(ws, ws->x + i0 * d, ws->xsq + i0, m, cand, candsq, trials, cd));
            for (int64_t i = 0; i < m; i++)
                for (int64_t t = 0; t < trials; t++) {
                    double v = cd[i * trials + t];
                    mine[t] += v < closest[i0 + i] ? v : closest[i0 + i];
                }
        }
        DCX_TRY(dcx_dist_sum_f64(rw->dist, tp, P * trials));
        double tpot[64];
        for (int64_t t = 0; t < trials; t++) {
            tpot[t] = tp[t];
            for (int r = 1; r < P; r++) tpot[t] += tp[(int64_t)r * trials + t];
        }
        int64_t bt = 0;
        for (int64_t t = 1; t < trials; t++)
            if (tpot[t] < tpot[bt]) bt = t;
        memcpy(c + q * d, cand + bt * d, (size_t)d * sizeof *c);
        for (int64_t i = 0; i < n; i++) {
            double v = cdist[i * trials + bt];
            if (v < closest[i]) closest[i] = v;
        }
        /* the new potential: each rank's part was summed above, in the
         * order in which closest is summed */
        pot = tpot[bt];
        for (int r = 0; r < P; r++) tot[r] = tp[(int64_t)r * trials + bt];
    }
fail:
    return st;
}

void dcx__km_run_free(dcx__km_run *run)
{
    if (!run) return;
    free(run->labels);
    free(run->centres);
    free(run->sizes);
    memset(run, 0, sizeof *run);
}

void dcx__row_norms(const double *x, int64_t n, int64_t d, double *out) { row_norms(x, n, d, out); }

/* calloc of a local buffer; the ranks agree on the outcome before the next
 * collective (dcx_dist_agree), so an allocation failure stops all. */
#define LOCAL_ALLOC(ptr, count) (((ptr) = dcx__calloc((size_t)(count), sizeof *(ptr))) != NULL)

dcx_status dcx__kmeans_restart(const double *x, const double *xsq, const dcx__rows *rows, int64_t d, int64_t k,
                               int max_iter, uint64_t seed, int restart, dcx_kmeans_trace_fn trace, void *trace_ctx,
                               dcx__km_run *run)
{
    dcx_status st = DCX_OK;
    km_ws ws = {0};
    int64_t *lab = NULL, *sz = NULL, *szl = NULL, *isc = NULL;
    double *cen = NULL, *far = NULL, *cand = NULL, *candsq = NULL, *cdist = NULL, *tp = NULL, *tot = NULL;
    double *u = NULL, *l = NULL, *sums = NULL, *gsum = NULL, *half = NULL, *move = NULL;
    int64_t *fail_idx = NULL;
    memset(run, 0, sizeof *run);
    const int64_t n = rows->nloc;
    const int P = rows->size;
    const dcx_dist *dist = rows->dist;
    const int64_t trials = 2 + (int64_t)floor(log((double)k));
    const int64_t width = k > trials ? k : trials;
    ws.x = x;
    ws.rows = rows;
    ws.n = n;
    ws.d = d;
    ws.k = k;
    ws.xsq = xsq;
    ws.block = 65536 / width;
    if (ws.block < 64) ws.block = 64;
    if (ws.block > n) ws.block = n;
    int ok = LOCAL_ALLOC(ws.csq, k) && LOCAL_ALLOC(ws.prod, ws.block * width) && LOCAL_ALLOC(lab, n) &&
             LOCAL_ALLOC(sz, k) && LOCAL_ALLOC(szl, k) && LOCAL_ALLOC(cen, k * d) && LOCAL_ALLOC(far, n) &&
             LOCAL_ALLOC(cand, trials * d) && LOCAL_ALLOC(candsq, trials) && LOCAL_ALLOC(cdist, n * trials) &&
             LOCAL_ALLOC(tp, (int64_t)P * trials) && LOCAL_ALLOC(tot, P) && LOCAL_ALLOC(isc, P) &&
             LOCAL_ALLOC(u, n) && LOCAL_ALLOC(l, n) && LOCAL_ALLOC(sums, k * d) && LOCAL_ALLOC(gsum, k * d + k + 1) &&
             LOCAL_ALLOC(half, k) && LOCAL_ALLOC(move, k) && LOCAL_ALLOC(fail_idx, n) &&
             LOCAL_ALLOC(ws.gx, ws.block * d) && LOCAL_ALLOC(ws.gsq, ws.block);
    DCX_TRY(dcx_dist_agree(dist, ok ? DCX_OK : dcx_set_error(DCX_ERR_NOMEM, "k-means: out of memory")));
    const int q = restart;
    dcx_rng rng;
    dcx_rng_seed_stream(&rng, seed, (uint64_t)q);
    DCX_TRY(seed_plusplus(&ws, &rng, cen, far, cand, candsq, cdist, tp, tot));
    free(cdist);
    cdist = NULL;
    for (int64_t i = 0; i < n; i++) lab[i] = -1;
    int it, conv = 0, tighten = 1;
    for (it = 0; it < max_iter; it++) {
        int64_t changed = 0;
        row_norms(cen, k, d, ws.csq);
        if (it == 0) {
            DCX_TRY(assign_points(&ws, cen, NULL, n, lab, u, l, sums, szl, &changed));
        } else {
            /* Hamerly: a point whose upper bound u stays below both half
             * the distance from its centre to the nearest other centre
             * and the lower bound l on the second-nearest cannot move. */
            for (int64_t a = 0; a < k; a++) half[a] = INFINITY;
            for (int64_t a = 0; a < k; a++)
                for (int64_t b = a + 1; b < k; b++) {
                    double h = 0.5 * sqrt(dist2(cen + a * d, cen + b * d, d));
                    if (h < half[a]) half[a] = h;
                    if (h < half[b]) half[b] = h;
                }
            /* Tightening u to the exact distance rescues many points in
             * low dimension and few in high dimension, where it only
             * costs a pass over the data: it is kept while it rescues at
             * least a quarter of the candidates (retried every 8th
             * iteration). Either way the assignments are Lloyd's. */
            int do_tight = tighten || it % 8 == 0;
            int64_t nf = 0, n1 = 0, rescued = 0;
            for (int64_t i = 0; i < n; i++) {
                double m = half[lab[i]] > l[i] ? half[lab[i]] : l[i];
                if (u[i] <= m) continue;
                n1++;
                if (do_tight) {
                    u[i] = sqrt(dist2(x + i * d, cen + lab[i] * d, d));
                    if (u[i] <= m) {
                        rescued++;
                        continue;
                    }
                }
                fail_idx[nf++] = i;
            }
            if (do_tight) tighten = 4 * rescued >= n1;
            /* most points unresolved: one contiguous pass beats gathering */
            if (2 * nf > n) DCX_TRY(assign_points(&ws, cen, NULL, n, lab, u, l, sums, szl, &changed));
            else DCX_TRY(assign_points(&ws, cen, fail_idx, nf, lab, u, l, sums, szl, &changed));
        }
        if (trace) {
            double jt;
            DCX_TRY(inertia_of(&ws, lab, cen, &jt));
            trace(trace_ctx, q, it, jt);
        }
        /* the centre sums, the sizes and the number of changed labels over
         * all ranks, in one all-reduce (counts as doubles: exact below 2^53) */
        memcpy(gsum, sums, (size_t)(k * d) * sizeof *gsum);
        for (int64_t a = 0; a < k; a++) gsum[k * d + a] = (double)szl[a];
        gsum[k * d + k] = (double)changed;
        DCX_TRY(dcx_dist_sum_f64(dist, gsum, k * d + k + 1));
        for (int64_t a = 0; a < k; a++) sz[a] = (int64_t)gsum[k * d + a];
        changed = (int64_t)gsum[k * d + k];
        if (it > 0 && changed == 0) {
            conv = 1;
            break;
        }
        /* update the centres from the running sums; move the bounds */
        int empty = 0;
        for (int64_t a = 0; a < k; a++) empty |= sz[a] == 0;
        if (empty) {
            DCX_TRY(update_centres(&ws, lab, cen, sz, far, tot, isc));
            memset(sums, 0, (size_t)(k * d) * sizeof *sums);
            memset(szl, 0, (size_t)k * sizeof *szl);
            for (int64_t i = 0; i < n; i++) {
                for (int64_t j = 0; j < d; j++) sums[lab[i] * d + j] += x[i * d + j];
                szl[lab[i]]++;
            }
            for (int64_t i = 0; i < n; i++) {
                u[i] = INFINITY;
                l[i] = 0;
            }
        } else {
            double m1 = 0, m2 = 0;
            int64_t am = -1;
            for (int64_t a = 0; a < k; a++) {
                double inv = 1.0 / (double)sz[a], mv = 0;
                for (int64_t j = 0; j < d; j++) {
                    double c = gsum[a * d + j] * inv, t = c - cen[a * d + j];
                    mv += t * t;
                    cen[a * d + j] = c;
                }
                move[a] = mv = sqrt(mv);
                if (mv > m1) {
                    m2 = m1;
                    m1 = mv;
                    am = a;
                } else if (mv > m2) {
                    m2 = mv;
                }
            }
            for (int64_t i = 0; i < n; i++) {
                u[i] += move[lab[i]];
                l[i] -= lab[i] == am ? m2 : m1;
            }
        }
    }
    /* final centres: exact means of the final labels (no running-sum drift) */
    DCX_TRY(update_centres(&ws, lab, cen, sz, far, tot, isc));
    double j;
    DCX_TRY(inertia_of(&ws, lab, cen, &j));
    if (!isfinite(j)) DCX_FAIL(DCX_ERR_NUMERIC, "k-means: non-finite inertia (overflow in the data?)");
    run->labels = lab;
    run->centres = cen;
    run->sizes = sz;
    lab = NULL;
    cen = NULL;
    sz = NULL;
    run->inertia = j;
    run->iterations = conv ? it + 1 : it;
    run->converged = conv;
fail:
    free(ws.csq);
    free(ws.prod);
    free(lab);
    free(sz);
    free(szl);
    free(isc);
    free(cen);
    free(far);
    free(cand);
    free(candsq);
    free(cdist);
    free(tp);
    free(tot);
    free(u);
    free(l);
    free(sums);
    free(gsum);
    free(half);
    free(move);
    free(fail_idx);
    free(ws.gx);
    free(ws.gsq);
    return st;
}

typedef struct km_job {
    const double *x, *xsq;
    const dcx__rows *rows;
    int64_t n, d;
    const dcx_kmeans_params *p;
    dcx__km_run *runs; /* (restarts) */
} km_job;

static dcx_status km_task(void *ctx, int64_t t)
{
    km_job *jb = ctx;
    return dcx__kmeans_restart(jb->x, jb->xsq, jb->rows, jb->d, jb->p->k, jb->p->max_iter, jb->p->seed, (int)t,
                               NULL, NULL, &jb->runs[t]);
}

dcx_status dcx__kmeans_f64(const double *x, int64_t n, int64_t d, const dcx_kmeans_params *p,
                           dcx_kmeans_result **out)
{
    dcx_status st = DCX_OK;
    dcx_kmeans_result *res = NULL;
    double *xsq = NULL;
    dcx__km_run *runs = NULL;
    dcx__rows rows = {0};
    *out = NULL;
    const int64_t k = p->k;
    if (k < 1 || k > n)
        DCX_FAIL(DCX_ERR_ARG, "k-means: k = %lld must be between 1 and the number of samples %lld",
                 (long long)k, (long long)n);
    if (p->restarts < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: restarts must be >= 1 (got %d)", p->restarts);
    if (p->max_iter < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: max_iter must be >= 1 (got %d)", p->max_iter);
    if (d < 1) DCX_FAIL(DCX_ERR_ARG, "k-means: data has no columns");
    DCX_ALLOC(xsq, n);
    DCX_ALLOC(runs, p->restarts);
    DCX_TRY(dcx__rows_init(NULL, n, &rows)); /* one process holds all rows */
    row_norms(x, n, d, xsq);
    if (p->trace) { /* the trace is called from the calling thread, in order */
        for (int q = 0; q < p->restarts; q++)
            DCX_TRY(dcx__kmeans_restart(x, xsq, &rows, d, k, p->max_iter, p->seed, q, p->trace, p->trace_ctx,
                                        &runs[q]));
    } else {
        km_job jb = {x, xsq, &rows, n, d, p, runs};
        DCX_TRY(dcx__parallel_tasks(p->restarts, dcx_get_threads(), km_task, &jb, NULL, NULL));
    }
    int best = 0; /* lowest inertia; ties: the lower restart index */
    for (int q = 1; q < p->restarts; q++)
        if (runs[q].inertia < runs[best].inertia) best = q;
    DCX_ALLOC(res, 1);
    res->n = n;
    res->d = d;
    res->k = k;
    res->labels = runs[best].labels;
    res->centres = runs[best].centres;
    res->sizes = runs[best].sizes;
    runs[best].labels = NULL;
    runs[best].centres = NULL;
    runs[best].sizes = NULL;
    res->inertia = runs[best].inertia;
    res->iterations = runs[best].iterations;
    res->converged = runs[best].converged;
    res->best_restart = best;
    *out = res;
    res = NULL;
fail:
    if (runs)
        for (int q = 0; q < p->restarts; q++) dcx__km_run_free(&runs[q]);
    free(runs);
    free(xsq);
    dcx__rows_free(&rows);
    dcx_kmeans_free(res);
    return st;
}

void dcx__load_rows_f64(const dcx_matrix *m, int64_t i0, int64_t rows, double *dst)
{
    const int64_t c = m->cols;
    for (int64_t i = 0; i < rows; i++) {
        double *restrict out = dst + i * c;
        if (m->dtype == DCX_F32) {
            const float *restrict src = dcx_matrix_row(m, i0 + i);
            for (int64_t j = 0; j < c; j++) out[j] = (double)src[j];
        } else {
            memcpy(out, dcx_matrix_row(m, i0 + i), (size_t)c * sizeof *out);
        }
    }
}

dcx_status dcx__check_finite_rows(const double *a, int64_t i0, int64_t rows, int64_t cols, const char *what)
{
    for (int64_t i = 0; i < rows; i++) {
        const double *r = a + i * cols;
        /* x − x is 0 for a finite x and NaN otherwise; one test per row */
        double acc = 0;
        for (int64_t j = 0; j < cols; j++) acc += r[j] - r[j];
        if (acc == 0) continue;
        for (int64_t j = 0; j < cols; j++)
            if (!isfinite(r[j]))
                return dcx_set_error(DCX_ERR_NUMERIC, "%s: %s value at row %lld, column %lld", what,
                                     isnan(r[j]) ? "NaN" : "Inf", (long long)(i0 + i), (long long)j);
    }
    return DCX_OK;
}

dcx_status dcx__matrix_to_f64(const dcx_matrix *m, const char *what, double **out)
{
    dcx_status st = DCX_OK;
    double *a = NULL;
    *out = NULL;
    int64_t cnt;
    if (!dcx__mul_ok(m->rows, m->cols, &cnt)) DCX_FAIL(DCX_ERR_ARG, "%s: matrix too large", what);
    DCX_ALLOC(a, cnt > 0 ? cnt : 1);
    dcx__load_rows_f64(m, 0, m->rows, a);
    DCX_TRY(dcx__check_finite_rows(a, 0, m->rows, m->cols, what));
    *out = a;
    return DCX_OK;
fail:
    free(a);
    return st;
}

dcx_status dcx_kmeans(const dcx_matrix *x, const dcx_kmeans_params *p, dcx_kmeans_result **out)
{
    dcx_status st = DCX_OK;
    double *a = NULL;
    *out = NULL;
    if (!x || !p) DCX_FAIL(DCX_ERR_ARG, "k-means: NULL argument");
    DCX_TRY(dcx__matrix_to_f64(x, "k-means input", &a));
    DCX_TRY(dcx__kmeans_f64(a, x->rows, x->cols, p, out));
fail:
    free(a);
    return st;
}
