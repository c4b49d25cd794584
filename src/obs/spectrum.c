/* spectrum.c — observables of a covariance spectrum λ_1 ≥ … ≥ λ_m ≥ 0
 * (Janik & Witaszczyk, arXiv:2006.04791, for the effective dimension):
 *   p_i = λ_i / Σλ,  H = −Σ p_i ln p_i (0 ln 0 = 0),  D_eff = exp(H);
 *   PR = (Σλ)² / Σλ²;  n_q = min{ n : Σ_{i≤n} λ_i ≥ q Σλ } for q = 0.9, 0.99;
 *   r = #{ λ_i > 1e-12 λ_1 } (numerical rank);
 *   α: least squares of ln λ_n = c − α ln n over ranks [lo, hi]
 *      (default [2, ⌊r/2⌋]: rank 1 often stands apart and the tail near r
 *      is dominated by sampling noise). */
#include <math.h>
#include <string.h>

#include "dim_internal.h"

#define RANK_RTOL 1e-12

dcx_status dcx__eig_desc(double *a, int64_t m, double *w)
{
    dcx_status st = dcx__dsyevd(0, m, a, m, w);
    if (st != DCX_OK) return st;
    for (int64_t i = 0, j = m - 1; i < j; i++, j--) {
        double t = w[i];
        w[i] = w[j];
        w[j] = t;
    }
    for (int64_t i = 0; i < m; i++)
        if (!(w[i] > 0)) w[i] = 0; /* round-off negatives */
    return DCX_OK;
}

dcx_status dcx__deff(const double *w, int64_t m, double *deff, double *entropy)
{
    double tot = 0;
    for (int64_t i = 0; i < m; i++) tot += w[i];
    if (!(tot > 0) || !isfinite(tot)) return DCX_ERR_DEGENERATE;
    double h = 0;
    for (int64_t i = 0; i < m; i++)
        if (w[i] > 0) {
            double p = w[i] / tot;
            h -= p * log(p);
        }
    if (h < 0) h = 0;
    if (deff) *deff = exp(h);
    if (entropy) *entropy = h;
    return DCX_OK;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Smallest n with Σ_{i≤n} w_i ≥ q·tot, allowing a relative 1e-12 of
 * round-off so that an exact split (ten equal values, q = 0.9) gives 9. */
static int64_t n_reaching(const double *w, int64_t m, double tot, double q)
{
    double c = 0, target = q * tot * (1.0 - 1e-12);
    for (int64_t i = 0; i < m; i++) {
        c += w[i];
        if (c >= target) return i + 1;
    }
    return m;
}

dcx_status dcx_dim_from_spectrum(const double *eig, int64_t m, const dcx_dim_params *p, dcx_dim_result **out)
{
    dcx_status st = DCX_OK;
    dcx_dim_result *r = NULL;
    double *w = NULL, *lx = NULL, *ly = NULL;
    dcx_dim_params def;
    *out = NULL;
    if (!p) {
        dcx_dim_params_default(&def);
        p = &def;
    }
    if (m < 1) DCX_FAIL(DCX_ERR_ARG, "effective dimension: empty spectrum");
    DCX_ALLOC(r, 1);
    DCX_ALLOC(w, m);
    for (int64_t i = 0; i < m; i++) {
        if (isnan(eig[i]) || isinf(eig[i]))
            DCX_FAIL(DCX_ERR_NUMERIC, "effective dimension: non-finite eigenvalue at %lld", (long long)i);
        w[i] = eig[i] > 0 ? eig[i] : 0;
    }
    qsort(w, (size_t)m, sizeof *w, cmp_desc);
    double tot = 0, tot2 = 0;
    for (int64_t i = 0; i < m; i++) {
        tot += w[i];
        tot2 += w[i] * w[i];
    }
    if (dcx__deff(w, m, &r->deff, &r->entropy) != DCX_OK)
        DCX_FAIL(DCX_ERR_DEGENERATE, "zero variance: effective dimension undefined");
    r->total_variance = tot;
    r->pr = tot * tot / tot2;
    r->n90 = n_reaching(w, m, tot, 0.90);
    r->n99 = n_reaching(w, m, tot, 0.99);
    r->rank = 0;
    for (int64_t i = 0; i < m; i++)
        if (w[i] > RANK_RTOL * w[0]) r->rank++;

    /* α over the rank window */
    dcx_dim_alpha *a = &r->alpha;
    int user = p->rank_lo != 0 || p->rank_hi != 0;
    if (user) {
        if (p->rank_lo < 1 || p->rank_hi < p->rank_lo + 2)
            DCX_FAIL(DCX_ERR_ARG, "rank window %lld:%lld: needs 1 <= LO and at least 3 ranks (HI >= LO + 2)",
                     (long long)p->rank_lo, (long long)p->rank_hi);
        if (p->rank_hi > r->rank)
            DCX_FAIL(DCX_ERR_ARG, "rank window %lld:%lld: HI exceeds the rank r = %lld of the data",
                     (long long)p->rank_lo, (long long)p->rank_hi, (long long)r->rank);
        a->lo = p->rank_lo;
        a->hi = p->rank_hi;
    } else {
        a->lo = 2;
        a->hi = r->rank / 2;
    }
    a->available = a->hi >= a->lo + 2;
    a->value = a->se = a->r2 = NAN;
    if (a->available) {
        int64_t k = a->hi - a->lo + 1;
        dcx_linfit_result f;
        DCX_ALLOC(lx, k);
        DCX_ALLOC(ly, k);
        for (int64_t i = 0; i < k; i++) {
            lx[i] = log((double)(a->lo + i));
            ly[i] = log(w[a->lo + i - 1]);
        }
        DCX_TRY(dcx_linfit(lx, ly, k, &f));
        a->value = -f.slope;
        a->se = f.slope_stderr;
        a->r2 = f.r2;
    }
    if (p->keep_spectrum) {
        r->spectrum = w;
        r->n_spectrum = m;
        w = NULL;
    }
    free(w);
    free(lx);
    free(ly);
    *out = r;
    return DCX_OK;
fail:
    free(w);
    free(lx);
    free(ly);
    dcx_dim_result_free(r);
    return st;
}
