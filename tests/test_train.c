/* test_train.c — the training library (train.h): optimizers and schedules
 * against hand-computed updates, standardisation, data sources (synthetic,
 * CSV, CIFAR-10 binary) and their errors, the model file round trip, and the
 * step hook contract: a hook that runs forward passes on the network at every
 * step leaves the trajectory bit-identical; the checkpoint schedule (epochs,
 * steps, minutes) and divergence keeping the last good checkpoint. */
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

static void test_sgd_adam_by_hand(void **state)
{
    (void)state;
    float w[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.25f};
    dcx_optim_params p;
    dcx_optim_params_default(&p, DCX_OPT_SGD);
    p.momentum = 0.9;
    p.weight_decay = 0.1;
    dcx_optim *o;
    ASSERT_OK(dcx_optim_create(&p, 2, &o));
    /* step 1: g' = g + 0.1 w = (0.6, 0.05); v = g'; w -= 0.1 v */
    dcx_optim_step(o, w, g, 0.1);
    ASSERT_NEAR(w[0], 1.0 - 0.1 * 0.6, 1e-7);
    ASSERT_NEAR(w[1], -2.0 - 0.1 * 0.05, 3e-7); /* float spacing at 2 is 2.4e-7 */
    /* step 2: g' = g + 0.1 w; v = 0.9 v + g' */
    double w0 = 0.94, v0 = 0.9 * 0.6 + (0.5 + 0.1 * w0);
    dcx_optim_step(o, w, g, 0.1);
    ASSERT_NEAR(w[0], w0 - 0.1 * v0, 1e-6);
    assert_int_equal(dcx_optim_steps(o), 2);
    dcx_optim_free(o);

    float a[1] = {1.0f}, ga[1] = {0.2f};
    dcx_optim_params_default(&p, DCX_OPT_ADAM);
    ASSERT_OK(dcx_optim_create(&p, 1, &o));
    /* first Adam step: m̂ = g, v̂ = g², w -= lr g / (|g| + eps) */
    dcx_optim_step(o, a, ga, 0.01);
    ASSERT_NEAR(a[0], 1.0 - 0.01 * 0.2 / (0.2 + 1e-8), 1e-7);
    /* second step with the same gradient: same size of update */
    dcx_optim_step(o, a, ga, 0.01);
    ASSERT_NEAR(a[0], 1.0 - 0.02, 1e-6);
    dcx_optim_free(o);

    p.lr = -1;
    assert_int_equal(dcx_optim_create(&p, 1, &o), DCX_ERR_ARG);
    ASSERT_NEAR(dcx_schedule_lr(DCX_SCHED_COSINE, 0.4, 0, 100), 0.4, 1e-15);
    ASSERT_NEAR(dcx_schedule_lr(DCX_SCHED_COSINE, 0.4, 50, 100), 0.2, 1e-15);
    ASSERT_NEAR(dcx_schedule_lr(DCX_SCHED_COSINE, 0.4, 25, 100), 0.2 * (1 + sqrt(0.5)), 1e-15);
    ASSERT_NEAR(dcx_schedule_lr(DCX_SCHED_CONSTANT, 0.4, 99, 100), 0.4, 0);
}

static void test_standardize(void **state)
{
    (void)state;
    float x[6] = {1, 10, 3, 20, 5, 30}; /* 3 rows x 2 features */
    dcx_standardizer *s;
    ASSERT_OK(dcx_standardizer_fit(DCX_STD_FEATURE, x, 3, 2, &s));
    ASSERT_NEAR(s->mean[0], 3, 1e-6);
    ASSERT_NEAR(s->mean[1], 20, 1e-6);
    ASSERT_NEAR(s->std[0], sqrt(8.0 / 3), 1e-6);
    ASSERT_NEAR(s->std[1], sqrt(200.0 / 3), 1e-5);
    float y[6];
    memcpy(y, x, sizeof y);
    dcx_standardizer_apply(s, y, 3);
    ASSERT_NEAR(y[4], 2 / sqrt(8.0 / 3), 1e-6);
    dcx_standardizer_free(s);
    ASSERT_OK(dcx_standardizer_fit(DCX_STD_GLOBAL, x, 3, 2, &s));
    /* all six values: mean 11.5, population variance */
    double m = 69.0 / 6, v = 0;
    for (int i = 0; i < 6; i++) v += (x[i] - m) * (x[i] - m);
    ASSERT_NEAR(s->mean[0], m, 1e-5);
    ASSERT_NEAR(s->std[0], sqrt(v / 6), 1e-5);
    dcx_standardizer_free(s);
}

static void test_synthetic_and_errors(void **state)
{
    (void)state;
    dcx_dataset *d;
    ASSERT_OK(dcx_data_load("gmm:classes=4,d=7,n=600", 3, &d));
    assert_int_equal(d->n_test, 100);
    assert_int_equal(d->n_train, 500);
    assert_int_equal(d->dim, 7);
    assert_int_equal(d->classes, 4);
    int counts[4] = {0};
    for (int64_t i = 0; i < d->n_train; i++) counts[d->y_train[i]]++;
    for (int k = 0; k < 4; k++) assert_true(counts[k] > 80); /* uniform labels */
    float first = d->x_train[0];
    dcx_data_free(d);
    ASSERT_OK(dcx_data_load("gmm:classes=4,d=7,n=600", 3, &d));
    assert_true(d->x_train[0] == first); /* same seed, same data */
    dcx_data_free(d);
    ASSERT_OK(dcx_data_load("manifold:d=3,D=20,classes=5,n=1200", 1, &d));
    assert_int_equal(d->intrinsic_dim, 3);
    assert_int_equal(d->dim, 20);
    dcx_data_free(d);

    struct { const char *spec, *msg; } bad[] = {
        {"gmm:classes=4,dd=3", "unknown key 'dd'"},
        {"gmm:classes=1", "bad value '1' for classes"},
        {"gmm:n=12.5", "bad value '12.5' for n"},
        {"gmm:classes=3,", "trailing comma"},
        {"nope", "unknown source 'nope'"},
        {"csv:", "expected csv:FILE"},
        {"manifold:d=0", "bad value '0' for d"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = (dcx_dataset *)1;
        assert_int_equal(dcx_data_load(bad[i].spec, 1, &d), DCX_ERR_ARG);
        assert_null(d);
        if (!strstr(dcx_last_error(), bad[i].msg)) fail_msg("%s: got '%s'", bad[i].spec, dcx_last_error());
    }
}

static void test_csv_and_cifar(void **state)
{
    (void)state;
    char dir[] = "/tmp/dcx-test-train-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/d.csv", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 60; i++) fprintf(f, "%d,%d.5,%d\n", i % 3, i, -i);
    fclose(f);
    char spec[300];
    snprintf(spec, sizeof spec, "csv:%s", path);
    dcx_dataset *d;
    ASSERT_OK(dcx_data_load(spec, 1, &d));
    assert_int_equal(d->classes, 3);
    assert_int_equal(d->dim, 2);
    assert_int_equal(d->n_train + d->n_test, 60);
    /* every row keeps its label: label = (feature0 - 0.5) mod 3 */
    for (int64_t i = 0; i < d->n_train; i++) {
        int v = (int)(d->x_train[2 * i] - 0.5f);
        assert_int_equal(d->y_train[i], v % 3);
        assert_true(d->x_train[2 * i + 1] == (float)-v);
    }
    dcx_data_free(d);
    unlink(path);

    /* CIFAR-10 binary: 5 train files of 2 records, a test file of 1 */
    unsigned char rec[3073];
    for (int b = 0; b <= 5; b++) {
        if (b < 5)
            snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b + 1);
        else
            snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        f = fopen(path, "wb");
        for (int r = 0; r < (b < 5 ? 2 : 1); r++) {
            rec[0] = (unsigned char)((b * 2 + r) % 10);
            for (int i = 1; i < 3073; i++) rec[i] = (unsigned char)((i + b) % 256);
            fwrite(rec, 1, sizeof rec, f);
        }
        fclose(f);
    }
    snprintf(spec, sizeof spec, "cifar10:%s", dir);
    ASSERT_OK(dcx_data_load(spec, 1, &d));
    assert_int_equal(d->n_train, 10);
    assert_int_equal(d->n_test, 1);
    assert_int_equal(d->c, 3);
    assert_int_equal(d->h, 32);
    assert_int_equal(d->y_train[3], 3);
    ASSERT_NEAR(d->x_train[3 * 3072 + 1024], ((1025 + 1) % 256) / 255.0, 1e-7); /* file 2, green plane start */
    dcx_data_free(d);
    for (int b = 0; b <= 5; b++) {
        if (b < 5)
            snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b + 1);
        else
            snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        unlink(path);
    }
    rmdir(dir);
}

static void test_model_roundtrip(void **state)
{
    (void)state;
    dcx_net *net, *back;
    dcx_standardizer *s, *sb;
    ASSERT_OK(dcx_net_create("cnn:c3k3p1,pool2,fc5", 2, 6, 6, 4, &net));
    dcx_rng r;
    dcx_rng_seed(&r, 9);
    dcx_net_init(net, &r);
    float x[72];
    for (int i = 0; i < 72; i++) x[i] = (float)i;
    assert_int_equal(dcx_standardizer_fit(DCX_STD_GLOBAL, x, 1, 72, &s), DCX_ERR_DEGENERATE); /* one sample */
    float x2[144];
    for (int i = 0; i < 144; i++) x2[i] = (float)(i % 72);
    ASSERT_OK(dcx_standardizer_fit(DCX_STD_GLOBAL, x2, 2, 72, &s));
    char path[] = "/tmp/dcx-test-model-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ASSERT_OK(dcx_model_save(path, net, s));
    assert_true(s->std[0] > 20 && s->std[0] < 21); /* std of 0..71 = 20.78 */
    ASSERT_OK(dcx_model_load(path, &back, &sb));
    assert_string_equal(dcx_net_arch(back), "cnn:c3k3p1,pool2,fc5");
    assert_int_equal(dcx_net_num_params(back), dcx_net_num_params(net));
    assert_memory_equal(dcx_net_params(back), dcx_net_params(net), (size_t)dcx_net_num_params(net) * sizeof(float));
    assert_int_equal(sb->mode, DCX_STD_GLOBAL);
    assert_true(sb->mean[0] == s->mean[0] && sb->std[0] == s->std[0]);
    /* a header claiming 1024x1024 inputs (checksum recomputed): refused from
     * the sizes, before the 3.9M parameters are allocated */
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t off = 12 + strlen("cnn:c3k3p1,pool2,fc5") + 8; /* in_h */
    for (int k = 0; k < 2; k++) {
        memset(buf + off + 8 * k, 0, 8);
        buf[off + 8 * k + 1] = 0x04; /* 1024, little-endian */
    }
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4));
    for (int k = 0; k < 4; k++) buf[len - 4 + k] = (unsigned char)(crc >> (8 * k));
    f = fopen(path, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    dcx_net *huge = (dcx_net *)1;
    assert_int_equal(dcx_model_load(path, &huge, NULL), DCX_ERR_FORMAT);
    assert_null(huge);
    char want[600];
    snprintf(want, sizeof want,
             "%s: truncated parameters: architecture 'cnn:c3k3p1,pool2,fc5' has %d, the file holds at most", path,
             57 + 3 * 512 * 512 * 5 + 5 + 24);
    if (strncmp(dcx_last_error(), want, strlen(want))) fail_msg("got '%s'", dcx_last_error());
    unlink(path);
    dcx_net_free(back);
    dcx_standardizer_free(sb);
    dcx_net_free(net);
    dcx_standardizer_free(s);
}

/* A probe hook: a forward pass over held-out data at every step, reading an
 * activation, as observable tracking will. */
typedef struct {
    const dcx_dataset *d;
    int64_t calls, last_step;
    int saw_zero;
    double act_sum;
} probe;

static int probe_step(void *ctx, dcx_trainer *t, const dcx_step_info *si)
{
    probe *p = ctx;
    if (si->step == 0) p->saw_zero = 1;
    if (si->step != 0 && si->step != p->last_step + 1) return 1;
    p->last_step = si->step;
    p->calls++;
    dcx_net *net = dcx_trainer_net(t);
    int64_t n = p->d->n_test < 300 ? p->d->n_test : 300;
    if (dcx_net_forward(net, p->d->x_test, n) != DCX_OK) return 1;
    dcx_matrix m;
    if (dcx_net_activation(net, "layer1", &m, NULL) != DCX_OK) return 1;
    p->act_sum += ((float *)m.data)[0];
    return 0;
}

/* A small synthetic run: gmm data 750 train / 150 test, batch 50 (15 steps
 * an epoch), 2 epochs. */
static void small_config(dcx_train_config *c, const char *arch)
{
    dcx_train_config_default(c);
    strcpy(c->data, "gmm:classes=3,d=6,n=900");
    strcpy(c->arch, arch);
    c->epochs = 2;
    c->batch = 50;
}

static void test_hook_keeps_trajectory(void **state)
{
    (void)state;
    dcx_train_config c;
    small_config(&c, "mlp:16,8");
    c.seed = 5;
    float *params[2];
    int64_t np = 0;
    for (int run = 0; run < 2; run++) {
        dcx_dataset *d;
        dcx_trainer *t;
        ASSERT_OK(dcx_data_load(c.data, c.seed, &d));
        ASSERT_OK(dcx_trainer_create(&c, d, &t));
        probe p = {d, 0, 0, 0, 0};
        dcx_train_hooks h = {&p, probe_step, NULL, NULL};
        ASSERT_OK(dcx_trainer_run(t, NULL, run ? &h : NULL));
        if (run) {
            assert_true(p.saw_zero);
            assert_int_equal(p.calls, 1 + 2 * 15); /* step 0 + 2 epochs of 750/50 */
            assert_int_equal(dcx_trainer_step(t), 30);
        }
        np = dcx_net_num_params(dcx_trainer_net(t));
        params[run] = malloc((size_t)np * sizeof(float));
        memcpy(params[run], dcx_net_params(dcx_trainer_net(t)), (size_t)np * sizeof(float));
        double loss, acc;
        ASSERT_OK(dcx_evaluate(dcx_trainer_net(t), d->x_test, d->y_test, d->n_test, &loss, &acc));
        assert_true(acc > 0.6); /* 3 separated Gaussians: learned well above chance */
        dcx_trainer_free(t);
        dcx_data_free(d);
    }
    assert_memory_equal(params[0], params[1], (size_t)np * sizeof(float));
    free(params[0]);
    free(params[1]);
}

/* Checkpoint schedule and divergence: a step hook counts checkpoints and,
 * when asked, poisons one weight (as an overflowing update would). */
typedef struct {
    int64_t poison_at, ckpts, last_ckpt_step;
    int last; /* poison the last parameter (an output bias) instead of a first-layer weight */
} ck_probe;

static int ck_step(void *ctx, dcx_trainer *t, const dcx_step_info *si)
{
    ck_probe *p = ctx;
    dcx_net *net = dcx_trainer_net(t);
    if (p->poison_at > 0 && si->step == p->poison_at) dcx_net_params(net)[p->last ? dcx_net_num_params(net) - 1 : 3] = NAN;
    return 0;
}

static void ck_saved(void *ctx, const char *path, int64_t step)
{
    ck_probe *p = ctx;
    (void)path;
    p->ckpts++;
    p->last_ckpt_step = step;
}

/* Train small_config("mlp:16") in run directory `dir`. */
static dcx_status ck_run(const char *dir, int64_t steps, double minutes, ck_probe *p)
{
    dcx_train_config c;
    small_config(&c, "mlp:16");
    c.checkpoint_steps = steps;
    c.checkpoint_minutes = minutes;
    dcx_dataset *d;
    dcx_trainer *t;
    ASSERT_OK(dcx_run_prepare(dir, &c, 0, NULL));
    ASSERT_OK(dcx_data_load(c.data, c.seed, &d));
    ASSERT_OK(dcx_trainer_create(&c, d, &t));
    dcx_train_hooks h = {p, ck_step, NULL, ck_saved};
    dcx_status st = dcx_trainer_run(t, dir, &h);
    dcx_trainer_free(t);
    dcx_data_free(d);
    return st;
}

static void test_checkpoints_and_divergence(void **state)
{
    (void)state;
    /* each epoch only */
    ck_probe p = {0, 0, -1, 0};
    ASSERT_OK(ck_run(tmp_path("ck0"), 0, 0, &p));
    assert_int_equal(p.ckpts, 2);
    assert_int_equal(p.last_ckpt_step, 30);
    /* every 4 steps (3 inside each 15-step epoch) and each epoch */
    p = (ck_probe){0, 0, -1, 0};
    ASSERT_OK(ck_run(tmp_path("ck4"), 4, 0, &p));
    assert_int_equal(p.ckpts, 2 + 3 + 4); /* 4,8,12,15 | 16,20,24,28,30 */
    /* every 1e-9 minutes: after every step (the epoch's last one by the epoch rule) */
    p = (ck_probe){0, 0, -1, 0};
    ASSERT_OK(ck_run(tmp_path("ckm"), 0, 1e-9, &p));
    assert_int_equal(p.ckpts, 30);

    /* a NaN output bias after step 5: the loss of step 6 is NaN; the step-4
     * checkpoint is kept */
    p = (ck_probe){5, 0, -1, 1};
    assert_int_equal(ck_run(tmp_path("div1"), 2, 0, &p), DCX_ERR_NUMERIC);
    char want[700];
    snprintf(want, sizeof want,
             "training diverged: loss is NaN at step 6 (epoch 1); last good checkpoint kept in %s/checkpoint.dcx",
             tmp_path("div1"));
    assert_string_equal(dcx_last_error(), want);
    assert_int_equal(p.last_ckpt_step, 4);
    /* a NaN first-layer weight (the ReLU hides it from the loss: fmax(NaN, 0)
     * is 0) right before a scheduled checkpoint (step 4): the checkpoint is
     * refused, the one of step 2 stays on disk and loads, with finite weights */
    p = (ck_probe){4, 0, -1, 0};
    assert_int_equal(ck_run(tmp_path("div2"), 2, 0, &p), DCX_ERR_NUMERIC);
    snprintf(want, sizeof want,
             "training diverged: parameters not finite after step 4 (epoch 1); last good checkpoint kept in "
             "%s/checkpoint.dcx",
             tmp_path("div2"));
    assert_string_equal(dcx_last_error(), want);
    assert_int_equal(p.last_ckpt_step, 2);
    dcx_train_config c;
    small_config(&c, "mlp:16");
    c.checkpoint_steps = 2;
    dcx_dataset *d;
    dcx_trainer *t;
    ASSERT_OK(dcx_data_load(c.data, c.seed, &d));
    ASSERT_OK(dcx_trainer_create(&c, d, &t));
    char ck[600];
    snprintf(ck, sizeof ck, "%s/checkpoint.dcx", tmp_path("div2"));
    ASSERT_OK(dcx_checkpoint_load(t, ck));
    assert_int_equal(dcx_trainer_step(t), 2);
    const float *w = dcx_net_params(dcx_trainer_net(t));
    for (int64_t i = 0; i < dcx_net_num_params(dcx_trainer_net(t)); i++) assert_true(isfinite(w[i]));
    dcx_trainer_free(t);
    dcx_data_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_adam_by_hand),   cmocka_unit_test(test_standardize),
        cmocka_unit_test(test_synthetic_and_errors), cmocka_unit_test(test_csv_and_cifar),
        cmocka_unit_test(test_model_roundtrip),    cmocka_unit_test(test_hook_keeps_trajectory),
        cmocka_unit_test(test_checkpoints_and_divergence),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
