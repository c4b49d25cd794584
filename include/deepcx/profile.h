/* deepcx/profile.h — depth profiles: the observables of every layer of a
 * network on a fixed probe set (SPEC §4, docs/observables.md §4).
 *
 * For layers 1..L with outputs R_l (post-activation for hidden layers, the
 * logits for the last) and R_0 the input, a profile holds per layer:
 *   - D_eff, PR and the spectrum exponent α of R_l            (dim.h)
 *   - the pattern observables of its rectifier units           (patterns.h;
 *     hidden layers only: the logits are not rectified)
 *   - the complexity of the layer's own map R_{l−1} → R_l and of the
 *     cumulative map R_0 → R_l                                  (complexity.h)
 * Undefined values (an observable not asked for, zero variance, no pattern
 * observables for the logits) are NaN, and the JSON writers print null. */
#ifndef DEEPCX_PROFILE_H
#define DEEPCX_PROFILE_H

#include <stdint.h>

#include "complexity.h"
#include "core.h"
#include "dim.h"
#include "matrix.h"
#include "nn.h"
#include "patterns.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DCX_OBS_DIM = 1, DCX_OBS_COMPLEXITY = 2, DCX_OBS_PATTERNS = 4, DCX_OBS_ALL = 7 };

/* Parse a comma-separated list of "dim", "complexity", "patterns" (or "all")
 * into DCX_OBS_* flags. DCX_ERR_ARG naming the unknown token. */
dcx_status dcx_obs_parse(const char *list, unsigned *flags);

typedef struct dcx_profile_params {
    unsigned observables;            /* DCX_OBS_* flags; default DCX_OBS_ALL */
    int cumulative;                  /* 1 (default): also R_0 -> R_l */
    dcx_dim_params dim;              /* defaults of dim.h (no local ladder) */
    dcx_complexity_params complexity;/* defaults of complexity.h */
    dcx_patterns_params patterns;    /* defaults of patterns.h */
    uint64_t seed;                   /* seeds every observable (default 0) */
    dcx_progress_fn progress;        /* stage "layerN <observable>" per step */
    void *progress_ctx;
} dcx_profile_params;

void dcx_profile_params_default(dcx_profile_params *p);

typedef struct dcx_layer_profile {
    char name[32];          /* "layer1", ..., "logits" */
    int64_t units;
    int rectified;          /* 1 for hidden (ReLU/pool) layers */
    /* dim */
    double deff, pr, alpha; /* NaN when not measured / undefined */
    /* patterns (rectified layers) */
    double unit_entropy;    /* S_units = Σ h_j */
    double pattern_entropy; /* Miller–Madow entropy of whole patterns */
    int64_t distinct, dead, always_on, switching; /* -1 when not measured */
    int saturated;
    /* complexity of R_{l-1} -> R_l and of R_0 -> R_l at the headline ε */
    double eta1, complexity, gamma;          /* own map */
    int reached;                             /* C(ε) reached (else a lower bound) */
    double eta1_cum, complexity_cum, gamma_cum;
    int reached_cum;
    double eps;                              /* the headline ε (0.05 by default); NaN when complexity was not measured */
} dcx_layer_profile;

typedef struct dcx_profile {
    int nlayers;
    dcx_layer_profile *layers; /* (nlayers) */
    int64_t n;                 /* probe samples */
    int64_t input_units;
    double input_deff;         /* D_eff of R_0 (NaN unless DCX_OBS_DIM) */
} dcx_profile;

/* Profile of the layer outputs acts[0..L] (acts[0] = R_0 the input,
 * acts[l] = R_l), all with the same rows; names[l] and rectified[l] describe
 * layer l (index 0 unused). The matrices are borrowed. */
dcx_status dcx_profile_activations(const dcx_matrix *const *acts, const char *const *names, const int *rectified,
                                   int L, const dcx_profile_params *p, dcx_profile **out);

/* Forward the probe x (n, input size) through `net` in one batch and profile
 * its layers: every activation named "layerK" (post-activation) and
 * "logits". Runs a forward pass (the net's stored activations change; its
 * parameters do not). */
dcx_status dcx_profile_net(dcx_net *net, const float *x, int64_t n, const dcx_profile_params *p, dcx_profile **out);

/* NULL is a harmless no-op. */
void dcx_profile_free(dcx_profile *p);

#ifdef __cplusplus
}
#endif
#endif
