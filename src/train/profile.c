/* profile.c — depth profiles (SPEC §4): per layer, the effective dimension
 * of its output, the pattern observables of its rectifier units, and the
 * complexity of its own map R_{l-1} -> R_l and of the cumulative map
 * R_0 -> R_l, all on one fixed probe set. An observable that is undefined for
 * a layer (zero variance: a dead layer) is NaN rather than an error, so that
 * one collapsed layer does not hide the others. */
#include <math.h>
#include <string.h>

#include "../internal.h"

dcx_status dcx_obs_parse(const char *list, unsigned *flags)
{
    unsigned f = 0;
    const char *p = list;
    if (!list || !*list) return dcx_set_error(DCX_ERR_ARG, "empty list of observables (use dim,complexity,patterns)");
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 3 && !strncmp(p, "dim", 3))
            f |= DCX_OBS_DIM;
        else if (l == 10 && !strncmp(p, "complexity", 10))
            f |= DCX_OBS_COMPLEXITY;
        else if (l == 8 && !strncmp(p, "patterns", 8))
            f |= DCX_OBS_PATTERNS;
        else if (l == 3 && !strncmp(p, "all", 3))
            f |= DCX_OBS_ALL;
        else
            return dcx_set_error(DCX_ERR_ARG, "unknown observable '%.*s' (known: dim, complexity, patterns, all)",
                                 (int)l, p);
        if (!e) break;
        p = e + 1;
    }
    *flags = f;
    return DCX_OK;
}

void dcx_profile_params_default(dcx_profile_params *p)
{
    memset(p, 0, sizeof *p);
    p->observables = DCX_OBS_ALL;
    p->cumulative = 1;
    dcx_dim_params_default(&p->dim);
    dcx_complexity_params_default(&p->complexity);
    p->complexity.eps[0] = 0.05; /* the headline tolerance */
    p->complexity.n_eps = 1;
    dcx_patterns_params_default(&p->patterns);
}

void dcx_profile_free(dcx_profile *p)
{
    if (!p) return;
    free(p->layers);
    free(p);
}

static void progress(const dcx_profile_params *p, const char *layer, const char *what, int64_t done, int64_t total)
{
    if (!p->progress) return;
    char stage[64];
    snprintf(stage, sizeof stage, "%s %s", layer, what);
    p->progress(p->progress_ctx, stage, done, total);
}

/* D_eff etc. of one matrix; NaN on zero variance. */
static dcx_status measure_dim(const dcx_matrix *a, const dcx_profile_params *p, double *deff, double *pr,
                              double *alpha)
{
    dcx_source *src = NULL;
    dcx_dim_result *r = NULL;
    dcx_dim_params dp = p->dim;
    dp.seed = p->seed;
    dp.progress = NULL;
    *deff = *pr = *alpha = NAN;
    dcx_status st = dcx_source_from_matrix(a, "activations", &src);
    if (st == DCX_OK) st = dcx_dim_compute(src, &dp, &r);
    if (st == DCX_OK) {
        *deff = r->deff;
        *pr = r->pr;
        *alpha = r->alpha.available ? r->alpha.value : NAN;
    } else if (st == DCX_ERR_DEGENERATE || st == DCX_ERR_ARG) {
        st = DCX_OK; /* undefined for this layer: NaN */
    }
    dcx_dim_result_free(r);
    dcx_source_free(src);
    return st;
}

/* The headline numbers of one complexity result (NULL: undefined, NaN). */
static void cx_values(const dcx_complexity_result *r, double *eta1, double *c, double *gamma, int *reached)
{
    *eta1 = *c = *gamma = NAN;
    *reached = 0;
    if (!r) return;
    *eta1 = r->eta1;
    if (r->n_eps > 0) {
        *c = r->levels[0].value;
        *reached = r->levels[0].reached;
    }
    *gamma = r->gamma_ok ? r->gamma : NAN;
}

static dcx_status measure_cx(const dcx_matrix *x, const dcx_matrix *y, const dcx_profile_params *p, double *eta1,
                             double *c, double *gamma, int *reached)
{
    dcx_complexity_result *r = NULL;
    dcx_complexity_params cp = p->complexity;
    cp.seed = p->seed;
    cp.progress = NULL;
    dcx_status st = dcx_complexity(x, y, &cp, &r);
    if (st == DCX_ERR_DEGENERATE) st = DCX_OK; /* zero variance (a dead layer): undefined */
    cx_values(r, eta1, c, gamma, reached);
    dcx_complexity_free(r);
    return st;
}

/* The cumulative maps R_0 -> R_l of every layer in one measurement: they
 * share the input, so its reduction, the folds and the k-means ladder are
 * computed once (dcx_complexity_multi; each result is the one a separate
 * call gives). A layer of zero variance gets NaN without failing the others;
 * a degenerate input (or too few samples) makes every layer NaN. */
static dcx_status measure_cx_cumulative(const dcx_matrix *const *acts, int L, const dcx_profile_params *p,
                                        dcx_profile *pr)
{
    dcx_status st = DCX_OK;
    dcx_complexity_result **rs = NULL;
    dcx_complexity_params cp = p->complexity;
    cp.seed = p->seed;
    cp.progress = NULL;
    DCX_ALLOC(rs, L);
    st = dcx_complexity_multi(acts[0], acts + 1, L, &cp, rs);
    if (st == DCX_ERR_DEGENERATE) st = DCX_OK;
    if (st != DCX_OK) goto fail;
    for (int l = 1; l <= L; l++) {
        dcx_layer_profile *lp = &pr->layers[l - 1];
        cx_values(rs[l - 1], &lp->eta1_cum, &lp->complexity_cum, &lp->gamma_cum, &lp->reached_cum);
    }
fail:
    if (rs)
        for (int l = 0; l < L; l++) dcx_complexity_free(rs[l]);
    free(rs);
    return st;
}

dcx_status dcx_profile_activations(const dcx_matrix *const *acts, const char *const *names, const int *rectified,
                                   int L, const dcx_profile_params *p, dcx_profile **out)
{
    dcx_status st = DCX_OK;
    dcx_profile *pr = NULL;
    dcx_profile_params def;
    *out = NULL;
    if (!p) {
        dcx_profile_params_default(&def);
        p = &def;
    }
    if (L < 1) DCX_FAIL(DCX_ERR_ARG, "depth profile needs at least one layer");
    for (int l = 1; l <= L; l++)
        if (acts[l]->rows != acts[0]->rows)
            DCX_FAIL(DCX_ERR_ARG, "depth profile: layer %d has %lld rows, the input %lld", l,
                     (long long)acts[l]->rows, (long long)acts[0]->rows);
    DCX_ALLOC(pr, 1);
    DCX_ALLOC(pr->layers, L);
    pr->nlayers = L;
    pr->n = acts[0]->rows;
    pr->input_units = acts[0]->cols;
    pr->input_deff = NAN;
    const int steps = 4;
    if (p->observables & DCX_OBS_DIM) {
        double a, b;
        DCX_TRY(measure_dim(acts[0], p, &pr->input_deff, &a, &b));
    }
    for (int l = 1; l <= L; l++) {
        dcx_layer_profile *lp = &pr->layers[l - 1];
        lp->eta1_cum = lp->complexity_cum = lp->gamma_cum = NAN;
    }
    if ((p->observables & DCX_OBS_COMPLEXITY) && p->cumulative) {
        progress(p, "all layers", "cumulative complexity", 0, L * steps);
        DCX_TRY(measure_cx_cumulative(acts, L, p, pr));
    }
    for (int l = 1; l <= L; l++) {
        dcx_layer_profile *lp = &pr->layers[l - 1];
        snprintf(lp->name, sizeof lp->name, "%s", names[l]);
        lp->units = acts[l]->cols;
        lp->rectified = rectified[l];
        lp->deff = lp->pr = lp->alpha = NAN;
        lp->unit_entropy = lp->pattern_entropy = NAN;
        lp->distinct = lp->dead = lp->always_on = lp->switching = -1;
        lp->eta1 = lp->complexity = lp->gamma = NAN;
        lp->eps = (p->observables & DCX_OBS_COMPLEXITY) && p->complexity.n_eps > 0 ? p->complexity.eps[0] : NAN;
        if (p->observables & DCX_OBS_DIM) {
            progress(p, lp->name, "dimension", (l - 1) * steps, L * steps);
            DCX_TRY(measure_dim(acts[l], p, &lp->deff, &lp->pr, &lp->alpha));
        }
        if ((p->observables & DCX_OBS_PATTERNS) && lp->rectified) {
            progress(p, lp->name, "patterns", (l - 1) * steps + 1, L * steps);
            dcx_source *src = NULL;
            dcx_patterns_result *r = NULL;
            dcx_patterns_params pp = p->patterns;
            pp.seed = p->seed;
            pp.progress = NULL;
            st = dcx_source_from_matrix(acts[l], lp->name, &src);
            if (st == DCX_OK) st = dcx_patterns(src, &pp, &r);
            if (st == DCX_OK) {
                lp->unit_entropy = r->entropy_sum;
                lp->pattern_entropy = r->entropy_mm;
                lp->distinct = r->distinct;
                lp->dead = r->dead;
                lp->always_on = r->always_on;
                lp->switching = r->switching;
                lp->saturated = r->saturated;
            }
            dcx_patterns_free(r);
            dcx_source_free(src);
            if (st != DCX_OK) goto fail;
        }
        if (p->observables & DCX_OBS_COMPLEXITY) {
            progress(p, lp->name, "complexity", (l - 1) * steps + 2, L * steps);
            if (l == 1 && p->cumulative) { /* R_0 -> R_1 is the layer's own map */
                lp->eta1 = lp->eta1_cum;
                lp->complexity = lp->complexity_cum;
                lp->gamma = lp->gamma_cum;
                lp->reached = lp->reached_cum;
            } else {
                DCX_TRY(measure_cx(acts[l - 1], acts[l], p, &lp->eta1, &lp->complexity, &lp->gamma, &lp->reached));
            }
        }
    }
    progress(p, "", "done", L * steps, L * steps);
    *out = pr;
    return DCX_OK;
fail:
    dcx_profile_free(pr);
    return st;
}

dcx_status dcx_profile_net(dcx_net *net, const float *x, int64_t n, const dcx_profile_params *p, dcx_profile **out)
{
    dcx_status st = DCX_OK;
    dcx_matrix *acts = NULL;
    const dcx_matrix **ap = NULL;
    const char **names = NULL;
    int *rect = NULL;
    *out = NULL;
    DCX_TRY(dcx_net_forward(net, x, n));
    int na = dcx_net_num_activations(net);
    DCX_ALLOC(acts, na + 1);
    DCX_ALLOC(ap, na + 1);
    DCX_ALLOC(names, na + 1);
    DCX_ALLOC(rect, na + 1);
    int L = 0;
    DCX_TRY(dcx_net_activation(net, "input", &acts[0], NULL));
    ap[0] = &acts[0];
    names[0] = "input";
    for (int i = 0; i < na; i++) {
        const char *nm = dcx_net_activation_name(net, i);
        if (!strcmp(nm, "input") || strstr(nm, ".pre")) continue;
        L++;
        DCX_TRY(dcx_net_activation(net, nm, &acts[L], NULL));
        ap[L] = &acts[L];
        names[L] = nm;
        rect[L] = strcmp(nm, "logits") != 0;
    }
    DCX_TRY(dcx_profile_activations(ap, names, rect, L, p, out));
fail:
    free(acts);
    free(ap);
    free(names);
    free(rect);
    return st;
}
