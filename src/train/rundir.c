/* rundir.c — the run directory of a training run: config.json with every
 * setting (plus seed, threads, BLAS configuration and version), and the
 * --resume check that a continued run has exactly the same settings (the
 * checkpoint cadence excepted: it does not change the trajectory). The other
 * files (checkpoint.dcx, metrics.jsonl, model.dcx, summary.json) are written
 * by the training loop. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "train_impl.h"

/* The settings as (name, text) pairs; numbers printed with %.17g so that the
 * comparison is exact. */
typedef struct {
    const char *name;
    char val[600];
    int compared;
    int numeric;
} setting;

static int settings_of(const dcx_train_config *c, setting *s)
{
    int n = 0;
#define STR(k, v) (s[n].name = k, snprintf(s[n].val, sizeof s[n].val, "%s", v), s[n].compared = 1, s[n].numeric = 0, n++)
#define NUM(k, v, cmp) (s[n].name = k, snprintf(s[n].val, sizeof s[n].val, "%.17g", (double)(v)), s[n].compared = cmp, s[n].numeric = 1, n++)
    STR("data", c->data);
    STR("arch", c->arch);
    NUM("epochs", c->epochs, 1);
    NUM("batch", c->batch, 1);
    STR("optimizer", dcx_optim_name(c->optim.kind));
    NUM("lr", c->optim.lr, 1);
    NUM("momentum", c->optim.momentum, 1);
    NUM("weight_decay", c->optim.weight_decay, 1);
    NUM("beta1", c->optim.beta1, 1);
    NUM("beta2", c->optim.beta2, 1);
    NUM("eps", c->optim.eps, 1);
    STR("schedule", c->schedule == DCX_SCHED_COSINE ? "cosine" : "constant");
    STR("standardize", dcx_std_mode_name(c->standardize));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    STR("seed", seed); /* a string: seeds above 2^53 stay exact */
    NUM("threads", c->threads, 1);
    NUM("checkpoint_steps", c->checkpoint_steps, 0);
    NUM("checkpoint_minutes", c->checkpoint_minutes, 0);
#undef STR
#undef NUM
    return n;
}

static dcx_status write_config(const char *path, const dcx_train_config *c)
{
    dcx_status st = DCX_OK;
    setting s[32];
    int n = settings_of(c, s);
    cJSON *root = cJSON_CreateObject(), *set = cJSON_CreateObject();
    char *txt = NULL;
    if (!root || !set) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        if (s[i].numeric)
            cJSON_AddNumberToObject(set, s[i].name, strtod(s[i].val, NULL));
        else
            cJSON_AddStringToObject(set, s[i].name, s[i].val);
    }
    cJSON_AddItemToObject(root, "settings", set);
    set = NULL;
    cJSON_AddNumberToObject(root, "seed", (double)c->seed);
    cJSON_AddNumberToObject(root, "threads", c->threads);
    cJSON_AddStringToObject(root, "blas", dcx_blas_config());
    cJSON_AddStringToObject(root, "version", dcx_version());
    txt = cJSON_Print(root);
    if (!txt) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
    size_t len = strlen(txt);
    char *t2 = realloc(txt, len + 2);
    if (!t2) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
    txt = t2;
    txt[len++] = '\n';
    DCX_TRY(dcx__write_atomic(path, txt, len));
fail:
    free(txt);
    cJSON_Delete(set);
    cJSON_Delete(root);
    return st;
}

static dcx_status compare_config(const char *path, const dcx_train_config *c)
{
    dcx_status st = DCX_OK;
    unsigned char *data = NULL;
    size_t len;
    cJSON *root = NULL;
    DCX_TRY(dcx__read_file(path, &data, &len));
    root = cJSON_ParseWithLength((const char *)data, len);
    const cJSON *set = root ? cJSON_GetObjectItemCaseSensitive(root, "settings") : NULL;
    if (!cJSON_IsObject(set)) DCX_FAIL(DCX_ERR_FORMAT, "%s: not a deepcx run configuration", path);
    setting s[32];
    int n = settings_of(c, s);
    for (int i = 0; i < n; i++) {
        if (!s[i].compared) continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(set, s[i].name);
        if (!v) DCX_FAIL(DCX_ERR_FORMAT, "%s: setting '%s' missing", path, s[i].name);
        char was[600];
        int same;
        if (s[i].numeric) {
            if (!cJSON_IsNumber(v)) DCX_FAIL(DCX_ERR_FORMAT, "%s: setting '%s' is not a number", path, s[i].name);
            same = v->valuedouble == strtod(s[i].val, NULL);
            snprintf(was, sizeof was, "%.10g", v->valuedouble);
            if (!same) {
                char now[64];
                snprintf(now, sizeof now, "%.10g", strtod(s[i].val, NULL));
                DCX_FAIL(DCX_ERR_ARG, "--resume: setting '%s' differs: the run has %s, this command %s", s[i].name,
                         was, now);
            }
        } else {
            if (!cJSON_IsString(v)) DCX_FAIL(DCX_ERR_FORMAT, "%s: setting '%s' is not a string", path, s[i].name);
            if (strcmp(v->valuestring, s[i].val))
                DCX_FAIL(DCX_ERR_ARG, "--resume: setting '%s' differs: the run has '%s', this command '%s'", s[i].name,
                         v->valuestring, s[i].val);
        }
    }
fail:
    cJSON_Delete(root);
    free(data);
    return st;
}

dcx_status dcx_run_prepare(const char *dir, const dcx_train_config *cfg, int resume, int *has_checkpoint)
{
    char path[4200];
    struct stat sb;
    if (has_checkpoint) *has_checkpoint = 0;
    if (strlen(dir) > 4000) return dcx_set_error(DCX_ERR_ARG, "%s: path too long", dir);
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return dcx_set_error(DCX_ERR_IO, "%s: exists and is not a directory", dir);
    } else if (mkdir(dir, 0755) != 0) {
        return dcx_set_error(DCX_ERR_IO, "%s: cannot create the run directory: %s", dir, strerror(errno));
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    int exists = stat(path, &sb) == 0;
    if (!resume) {
        if (exists)
            return dcx_set_error(DCX_ERR_ARG, "%s: already holds a run (config.json); use --resume or another --run", dir);
        return write_config(path, cfg);
    }
    if (!exists) return dcx_set_error(DCX_ERR_ARG, "%s: no run to resume (config.json missing)", dir);
    dcx_status st = compare_config(path, cfg);
    if (st != DCX_OK) return st;
    snprintf(path, sizeof path, "%s/checkpoint.dcx", dir);
    if (has_checkpoint) *has_checkpoint = stat(path, &sb) == 0;
    return DCX_OK;
}
