/* test_profile.c — depth profiles of hand-built networks with known answers. */
#include "testutil.h"

/* mlp:4,8 on 4 inputs, 3 classes: layer1 = identity (W = I, b = 0) on
 * positive inputs, layer2 duplicates every unit (W = [I; I]), logits a fixed
 * linear map of layer2. */
static dcx_net *hand_net(void)
{
    dcx_net *net = NULL;
    ASSERT_OK(dcx_net_create("mlp:4,8", 1, 1, 4, 3, &net));
    float *w = dcx_net_params(net);
    memset(w, 0, (size_t)dcx_net_num_params(net) * sizeof(float));
    dcx_param_view v;
    ASSERT_OK(dcx_net_find_tensor(net, "layer1.weight", &v)); /* (4, 4) */
    for (int i = 0; i < 4; i++) w[v.offset + i * 4 + i] = 1;
    ASSERT_OK(dcx_net_find_tensor(net, "layer2.weight", &v)); /* (8, 4) */
    for (int i = 0; i < 8; i++) w[v.offset + i * 4 + (i % 4)] = 1;
    ASSERT_OK(dcx_net_find_tensor(net, "logits.weight", &v)); /* (3, 8) */
    for (int i = 0; i < 3 * 8; i++) w[v.offset + i] = (float)((i * 7 % 5) - 2) * 0.25f;
    return net;
}

static void test_hand_built_profile(void **state)
{
    (void)state;
    const int64_t n = 4000;
    dcx_rng r;
    dcx_rng_seed(&r, 9);
    float *x = malloc((size_t)n * 4 * sizeof *x);
    /* positive inputs (so the ReLU is the identity) with unequal variances */
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 4; j++) x[i * 4 + j] = (float)(1.0 + (j + 1) * dcx_rng_uniform(&r));
    dcx_net *net = hand_net();
    dcx_profile_params p;
    dcx_profile_params_default(&p);
    p.patterns.max_group = 4;
    dcx_profile *pr = NULL;
    ASSERT_OK(dcx_profile_net(net, x, n, &p, &pr));
    assert_int_equal(pr->nlayers, 3);
    assert_string_equal(pr->layers[0].name, "layer1");
    assert_string_equal(pr->layers[1].name, "layer2");
    assert_string_equal(pr->layers[2].name, "logits");
    assert_int_equal(pr->layers[1].units, 8);
    /* identity layer: D_eff of the input, complexity 0, eta ~ 0 */
    ASSERT_NEAR(pr->layers[0].deff, pr->input_deff, 1e-9 * pr->input_deff);
    assert_true(pr->layers[0].eta1 < 1e-9);
    ASSERT_NEAR(pr->layers[0].complexity, 0.0, 1e-12);
    assert_true(pr->layers[0].reached);
    /* duplicated units: same spectrum up to a factor 2, D_eff unchanged;
     * PR unchanged too; the map is linear */
    ASSERT_NEAR(pr->layers[1].deff, pr->input_deff, 1e-6 * pr->input_deff);
    ASSERT_NEAR(pr->layers[1].pr, pr->layers[0].pr, 1e-6 * pr->layers[0].pr);
    assert_true(pr->layers[1].eta1 < 1e-9 && pr->layers[1].complexity == 0.0);
    assert_true(pr->layers[1].eta1_cum < 1e-9 && pr->layers[1].complexity_cum == 0.0);
    /* every unit is always on: no switching units, one pattern, zero entropy */
    assert_int_equal(pr->layers[0].always_on, 4);
    assert_int_equal(pr->layers[0].switching, 0);
    assert_int_equal(pr->layers[1].distinct, 1);
    ASSERT_NEAR(pr->layers[1].pattern_entropy, 0.0, 1e-12);
    /* logits: not rectified, no pattern observables; D_eff at most 3 */
    assert_int_equal(pr->layers[2].rectified, 0);
    assert_true(isnan(pr->layers[2].pattern_entropy) && pr->layers[2].distinct == -1);
    assert_true(pr->layers[2].deff >= 1 && pr->layers[2].deff <= 3 + 1e-9);
    assert_true(pr->layers[2].eta1 < 1e-9);
    dcx_profile_free(pr);

    /* a switching layer: inputs centred at 0 make layer1 a real ReLU — its
     * map is nonlinear (eta1 > 0.05) and each unit is on half the time */
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 4; j++) x[i * 4 + j] = (float)(dcx_rng_uniform(&r) - 0.5);
    p.observables = DCX_OBS_PATTERNS | DCX_OBS_COMPLEXITY;
    ASSERT_OK(dcx_profile_net(net, x, n, &p, &pr));
    assert_true(isnan(pr->layers[0].deff)); /* not asked for */
    assert_int_equal(pr->layers[0].switching, 4);
    assert_int_equal(pr->layers[0].distinct, 16);
    ASSERT_NEAR(pr->layers[0].unit_entropy, 4 * log(2.0), 0.01);
    ASSERT_NEAR(pr->layers[0].pattern_entropy, 4 * log(2.0), 0.02);
    assert_true(pr->layers[0].eta1 > 0.05);
    /* piecewise linear with 2^4 orthant pieces: more pieces fit better */
    dcx_profile_free(pr);
    dcx_net_free(net);
    free(x);
}

static void test_obs_parse(void **state)
{
    (void)state;
    unsigned f;
    ASSERT_OK(dcx_obs_parse("dim,patterns", &f));
    assert_int_equal(f, DCX_OBS_DIM | DCX_OBS_PATTERNS);
    ASSERT_OK(dcx_obs_parse("all", &f));
    assert_int_equal(f, DCX_OBS_ALL);
    assert_int_equal(dcx_obs_parse("dim,entropy", &f), DCX_ERR_ARG);
    assert_non_null(strstr(dcx_last_error(), "'entropy'"));
    assert_int_equal(dcx_obs_parse("", &f), DCX_ERR_ARG);
}

static void test_dead_layer_is_nan_not_error(void **state)
{
    (void)state;
    /* R_1 all zero (a dead layer): D_eff and complexity undefined -> NaN */
    const int64_t n = 600;
    dcx_matrix *x = NULL, *z = NULL;
    ASSERT_OK(dcx_matrix_create(n, 3, DCX_F32, &x));
    ASSERT_OK(dcx_matrix_create(n, 5, DCX_F32, &z));
    dcx_rng r;
    dcx_rng_seed(&r, 2);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 3; j++) dcx_matrix_set(x, i, j, dcx_rng_normal(&r));
    const dcx_matrix *acts[2] = {x, z};
    const char *names[2] = {"input", "layer1"};
    int rect[2] = {0, 1};
    dcx_profile *pr = NULL;
    ASSERT_OK(dcx_profile_activations(acts, names, rect, 1, NULL, &pr));
    assert_true(isnan(pr->layers[0].deff));
    assert_true(isnan(pr->layers[0].complexity));
    assert_int_equal(pr->layers[0].dead, 5);
    ASSERT_NEAR(pr->layers[0].unit_entropy, 0.0, 0);
    assert_true(pr->input_deff > 2.5 && pr->input_deff <= 3);
    dcx_profile_free(pr);
    dcx_matrix_free(x);
    dcx_matrix_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built_profile),
        cmocka_unit_test(test_obs_parse),
        cmocka_unit_test(test_dead_layer_is_nan_not_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
