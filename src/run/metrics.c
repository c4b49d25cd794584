/* metrics.c — reading a run's metrics.jsonl (one JSON object per
 * measurement, docs/file-formats.md) into named time series. Numbers are
 * flattened by dotted path, with the "layers." prefix dropped so that a
 * layer's observable reads "layer1.deff". A last line that does not parse is
 * a run killed mid-write: it is ignored and flagged, never fatal. */
#include <cJSON.h>
#include <errno.h>
#include <string.h>

#include "../internal.h"

typedef struct {
    dcx_metrics *m;
    int64_t cap;
    int64_t *scap; /* per-series capacity */
    int64_t lcap;
} builder;

static dcx_status add_layer(builder *b, const char *name)
{
    dcx_metrics *m = b->m;
    for (int64_t i = 0; i < m->nlayers; i++)
        if (!strcmp(m->layers[i], name)) return DCX_OK;
    if (m->nlayers == b->lcap) {
        int64_t nc = b->lcap ? 2 * b->lcap : 8;
        char **p = realloc(m->layers, (size_t)nc * sizeof *p);
        if (!p) return dcx_set_error(DCX_ERR_NOMEM, "out of memory");
        m->layers = p;
        b->lcap = nc;
    }
    m->layers[m->nlayers] = strdup(name);
    if (!m->layers[m->nlayers]) return dcx_set_error(DCX_ERR_NOMEM, "out of memory");
    m->nlayers++;
    return DCX_OK;
}

static dcx_status add_point(builder *b, const char *name, double t, double y)
{
    dcx_metrics *m = b->m;
    int64_t k = -1;
    for (int64_t i = 0; i < m->nseries; i++)
        if (!strcmp(m->series[i].name, name)) {
            k = i;
            break;
        }
    if (k < 0) {
        if (m->nseries == b->cap) {
            int64_t nc = b->cap ? 2 * b->cap : 16;
            dcx_series *p = realloc(m->series, (size_t)nc * sizeof *p);
            int64_t *q = realloc(b->scap, (size_t)nc * sizeof *q);
            if (p) m->series = p;
            if (q) b->scap = q;
            if (!p || !q) return dcx_set_error(DCX_ERR_NOMEM, "out of memory");
            b->cap = nc;
        }
        k = m->nseries;
        memset(&m->series[k], 0, sizeof m->series[k]);
        b->scap[k] = 0;
        m->series[k].name = strdup(name);
        if (!m->series[k].name) return dcx_set_error(DCX_ERR_NOMEM, "out of memory");
        m->nseries++;
    }
    dcx_series *s = &m->series[k];
    if (s->n == b->scap[k]) {
        int64_t nc = b->scap[k] ? 2 * b->scap[k] : 64;
        double *pt = realloc(s->t, (size_t)nc * sizeof *pt);
        if (pt) s->t = pt;
        double *py = realloc(s->y, (size_t)nc * sizeof *py);
        if (py) s->y = py;
        if (!pt || !py) return dcx_set_error(DCX_ERR_NOMEM, "out of memory");
        b->scap[k] = nc;
    }
    s->t[s->n] = t;
    s->y[s->n] = y;
    s->n++;
    return DCX_OK;
}

/* Walk an object, adding every number under its dotted path. */
static dcx_status walk(builder *b, const cJSON *obj, const char *prefix, const char *tkey, double t, int top)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (!it->string) continue;
        char name[512];
        if (top && !prefix[0] && !strcmp(it->string, "layers") && cJSON_IsObject(it)) {
            for (const cJSON *l = it->child; l; l = l->next) {
                if (!l->string || !cJSON_IsObject(l)) continue;
                dcx_status st = add_layer(b, l->string);
                if (st == DCX_OK) st = walk(b, l, l->string, tkey, t, 0);
                if (st != DCX_OK) return st;
            }
            continue;
        }
        if (prefix[0])
            snprintf(name, sizeof name, "%s.%s", prefix, it->string);
        else
            snprintf(name, sizeof name, "%s", it->string);
        if (top && !strcmp(it->string, tkey)) continue;
        if (cJSON_IsNumber(it)) {
            dcx_status st = add_point(b, name, t, it->valuedouble);
            if (st != DCX_OK) return st;
        } else if (cJSON_IsObject(it)) {
            dcx_status st = walk(b, it, name, tkey, t, 0);
            if (st != DCX_OK) return st;
        }
    }
    return DCX_OK;
}

dcx_status dcx_metrics_load(const char *path, const char *tkey, dcx_metrics **out)
{
    dcx_status st = DCX_OK;
    FILE *f = NULL;
    char *line = NULL, *pending = NULL;
    size_t cap = 0;
    builder b = {0};
    int64_t pending_no = 0;
    *out = NULL;
    if (!tkey) tkey = "step";
    DCX_ALLOC(b.m, 1);
    f = fopen(path, "rb");
    if (!f) DCX_FAIL(DCX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    ssize_t len;
    int64_t lineno = 0;
    /* A line is parsed once the next one has been seen, so that only the
     * very last line may be forgiven for being incomplete. */
    for (;;) {
        len = getline(&line, &cap, f);
        int at_end = len < 0;
        if (pending) {
            cJSON *obj = cJSON_Parse(pending);
            if (!obj || !cJSON_IsObject(obj)) {
                cJSON_Delete(obj);
                if (at_end) {
                    b.m->truncated_last = 1;
                } else {
                    DCX_FAIL(DCX_ERR_FORMAT, "%s: line %lld: not a JSON object", path, (long long)pending_no);
                }
            } else {
                const cJSON *tv = cJSON_GetObjectItemCaseSensitive(obj, tkey);
                if (!cJSON_IsNumber(tv)) {
                    cJSON_Delete(obj);
                    DCX_FAIL(DCX_ERR_FORMAT, "%s: line %lld: no numeric \"%s\" field", path,
                             (long long)pending_no, tkey);
                }
                /* lines of another kind than a measurement ("type": "epoch")
                 * name their series "<type>.<field>" */
                const cJSON *ty = cJSON_GetObjectItemCaseSensitive(obj, "type");
                const char *prefix = cJSON_IsString(ty) && strcmp(ty->valuestring, "measure") ? ty->valuestring : "";
                st = walk(&b, obj, prefix, tkey, tv->valuedouble, 1);
                cJSON_Delete(obj);
                if (st != DCX_OK) goto fail;
                b.m->nlines++;
            }
            free(pending);
            pending = NULL;
        }
        if (at_end) break;
        lineno++;
        /* skip blank lines */
        int blank = 1;
        for (ssize_t i = 0; i < len && blank; i++)
            blank = line[i] == ' ' || line[i] == '\n' || line[i] == '\r' || line[i] == '\t';
        if (blank) continue;
        pending = strdup(line);
        if (!pending) DCX_FAIL(DCX_ERR_NOMEM, "out of memory");
        pending_no = lineno;
    }
    if (ferror(f)) DCX_FAIL(DCX_ERR_IO, "%s: read error", path);
    if (b.m->nlines == 0)
        DCX_FAIL(DCX_ERR_FORMAT, "%s: no complete measurement (empty file or only a truncated line)", path);
    free(b.scap);
    free(line);
    fclose(f);
    *out = b.m;
    return DCX_OK;
fail:
    free(b.scap);
    free(line);
    free(pending);
    if (f) fclose(f);
    dcx_metrics_free(b.m);
    return st;
}

const dcx_series *dcx_metrics_find(const dcx_metrics *m, const char *name)
{
    for (int64_t i = 0; i < m->nseries; i++)
        if (!strcmp(m->series[i].name, name)) return &m->series[i];
    return NULL;
}

void dcx_metrics_free(dcx_metrics *m)
{
    if (!m) return;
    for (int64_t i = 0; i < m->nseries; i++) {
        free(m->series[i].name);
        free(m->series[i].t);
        free(m->series[i].y);
    }
    for (int64_t i = 0; i < m->nlayers; i++) free(m->layers[i]);
    free(m->layers);
    free(m->series);
    free(m);
}
