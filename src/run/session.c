/* The session: a backend, the weights on it and its kernels, opened once
 * for any number of jobs; style sets and the targets they keep per size. */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "factory.h"
#include "sha256.h"

void clstyle_session_options_default(clstyle_session_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->backend = CLSTYLE_BACKEND_OPENCL;
}

/* Options from a caller built against this or an older (shorter) struct. */
static clstyle_status take_options(clstyle_session *s, const clstyle_session_options *o)
{
    if (!o || o->struct_size < offsetof(clstyle_session_options, conv) || o->struct_size > sizeof *o)
        return cs_fail(CLSTYLE_ERR_USAGE, "session options: call clstyle_session_options_default first");
    clstyle_session_options_default(&s->o);
    memcpy(&s->o, o, o->struct_size);
    s->o.struct_size = sizeof s->o;
    const char **strs[] = { &s->o.device, &s->o.weights_path, &s->o.conv, &s->o.gram, &s->o.cache_dir };
    for (int i = 0; i < 5; i++) {
        if (!*strs[i]) continue;
        if (!(s->strings[i] = strdup(*strs[i]))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        *strs[i] = s->strings[i];
    }
    if (!s->o.weights_path && !s->o.weights_data) return cs_fail(CLSTYLE_ERR_USAGE, "no VGG weights given (path or memory)");
    return CLSTYLE_OK;
}

static size_t mb(double v) { return v > 0 ? (size_t)(v * 1048576.0) : 0; }

void cs_session_params(const clstyle_session_options *o, cs_backend_params *p)
{
    memset(p, 0, sizeof *p);
    p->device = o->device;
    p->mem_limit = mb(o->max_memory_mb);
    p->max_alloc = mb(o->max_alloc_mb);
    p->cl.conv = o->conv;
    p->cl.gram = o->gram;
    p->cl.profile = o->profile;
    p->cl.band_bytes = mb(o->band_mb);
    p->cl.max_wg = o->max_work_group > 0 ? (size_t)o->max_work_group : 0;
    if (o->cache_dir) snprintf(p->cl.cache_dir, sizeof p->cl.cache_dir, "%s", o->cache_dir);
}

static clstyle_status open_backend(clstyle_session *s)
{
    const clstyle_session_options *o = &s->o;
    cs_backend_params p;
    cs_session_params(o, &p);
    s->conv_forced = o->conv && strcmp(o->conv, "auto");
    return cs_backend_create(o->backend == CLSTYLE_BACKEND_REFERENCE ? "reference" : "opencl", &p, &s->be);
}

static clstyle_status identify(clstyle_session *s)
{
    if (s->o.weights_path) return cs_weights_identify(s->o.weights_path, &s->id);
    cs_sha256 h;
    cs_sha256_init(&h);
    cs_sha256_update(&h, s->o.weights_data, s->o.weights_size);
    cs_sha256_hex(&h, s->id.sha256);
    s->id.name = cs_weights_known(s->id.sha256);
    return CLSTYLE_OK;
}

static clstyle_status open_session(clstyle_session *s, const clstyle_session_options *o)
{
    double t0 = cs_now();
    CS_TRY(take_options(s, o));
    CS_TRY(cs_session_phase(s, NULL, NULL, "loading the weights"));
    if (s->o.weights_path) CS_TRY(cs_weights_load(s->o.weights_path, &s->stop, &s->weights));
    else CS_TRY(cs_weights_load_memory(s->o.weights_data, s->o.weights_size, &s->stop, &s->weights));
    CS_TRY(cs_session_phase(s, NULL, NULL, "preparing the device"));
    CS_TRY(open_backend(s));
    if (s->o.identify_weights) CS_TRY(identify(s));
    s->net_last = -1;
    s->open_ms = (cs_now() - t0) * 1e3;
    return cs_stop_check(&s->stop);
}

clstyle_status clstyle_session_open(const clstyle_session_options *o, clstyle_session **out)
{
    clstyle_session *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    s->stop.phase = "starting";
    clstyle_status st = open_session(s, o);
    if (st != CLSTYLE_OK) {
        clstyle_session_close(s);
        return st;
    }
    *out = s;
    return CLSTYLE_OK;
}

void clstyle_session_close(clstyle_session *s)
{
    if (!s) return;
    if (s->net.be) cs_net_destroy(&s->net);
    cs_backend_destroy(s->be);
    cs_weights_free(&s->weights);
    for (int i = 0; i < 5; i++) free(s->strings[i]);
    free(s);
}

void clstyle_session_cancel(clstyle_session *s)
{
    if (s) s->stop.requested = 1;
}

int cs_session_emit(clstyle_session *s, clstyle_callback cb, void *user, const clstyle_event *e)
{
    if (!cb) {
        cb = s->o.callback;
        user = s->o.user;
    }
    if (cb) return cb(e, user);
    if (e->kind == CLSTYLE_EVENT_MESSAGE && !e->detail) fprintf(stderr, "clstyle: %s\n", e->message);
    return 0;
}

clstyle_status cs_session_phase(clstyle_session *s, clstyle_callback cb, void *user, const char *phase)
{
    clstyle_event e = { .kind = CLSTYLE_EVENT_PHASE, .phase = phase };
    s->stop.phase = phase;
    if (cs_session_emit(s, cb, user, &e)) s->stop.requested = 1;
    return cs_stop_check(&s->stop);
}

void cs_session_message(clstyle_session *s, clstyle_callback cb, void *user, int detail, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    clstyle_event e = { .kind = CLSTYLE_EVENT_MESSAGE, .message = msg, .detail = detail };
    if (cs_session_emit(s, cb, user, &e)) s->stop.requested = 1;
}

clstyle_status cs_session_net(clstyle_session *s, int last, int *reused)
{
    *reused = s->net.be && s->net_last >= last;
    if (*reused) return CLSTYLE_OK;
    if (s->net.be) cs_net_destroy(&s->net);
    CS_TRY(cs_net_create_upto(s->be, &s->weights, s->o.pooling_avg, last, &s->net));
    s->net.stop = &s->stop;
    s->net_last = last;
    return CLSTYLE_OK;
}

/* ---- style sets ---- */

void clstyle_styles_options_default(clstyle_styles_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->scale = 1.0;
}

static const char *const default_style_layers[] = { "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1" };

static clstyle_status copy_styles(clstyle_styles *st, const clstyle_styles_options *o)
{
    double sum = 0;
    st->n = o->n_images;
    st->images = calloc((size_t)o->n_images, sizeof *st->images);
    st->blend = calloc((size_t)o->n_images, sizeof *st->blend);
    if (!st->images || !st->blend) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int k = 0; k < o->n_images; k++) {
        const cs_image *im = o->images[k];
        CS_TRY(cs_image_resize(im, im->w, im->h, &st->images[k])); /* an exact copy */
        st->blend[k] = o->blend ? o->blend[k] : 1.0;
        if (!(st->blend[k] >= 0)) return cs_fail(CLSTYLE_ERR_USAGE, "style blend weight %g is negative", st->blend[k]);
        sum += st->blend[k];
    }
    if (!(sum > 0)) return cs_fail(CLSTYLE_ERR_USAGE, "style blend weights sum to 0");
    for (int k = 0; k < st->n; k++) st->blend[k] /= sum;
    return CLSTYLE_OK;
}

static clstyle_status copy_layers(clstyle_styles *st, const clstyle_styles_options *o)
{
    int n = o->layers ? o->n_layers : 5;
    if (n < 1 || n > CS_MAX_LAYERS) return cs_fail(CLSTYLE_ERR_USAGE, "%d style layers (1 to %d)", n, CS_MAX_LAYERS);
    st->n_layers = n;
    st->layers = calloc((size_t)n, sizeof *st->layers);
    st->layer_weights = calloc((size_t)n, sizeof *st->layer_weights);
    if (!st->layers || !st->layer_weights) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        st->layers[i] = strdup(o->layers ? o->layers[i] : default_style_layers[i]);
        if (!st->layers[i]) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        st->layer_weights[i] = o->layer_weights ? o->layer_weights[i] : 1.0;
        if (cs_net_find_node(&st->s->weights, st->layers[i]) < 0)
            return cs_fail(CLSTYLE_ERR_USAGE, "unknown layer '%s' for %s", st->layers[i], st->s->weights.arch);
    }
    return CLSTYLE_OK;
}

clstyle_status clstyle_styles_create(clstyle_session *s, const clstyle_styles_options *o, clstyle_styles **out)
{
    *out = NULL;
    if (!o || o->struct_size < offsetof(clstyle_styles_options, n_layers) || o->struct_size > sizeof *o)
        return cs_fail(CLSTYLE_ERR_USAGE, "style set options: call clstyle_styles_options_default first");
    if (o->n_images < 1 || o->n_images > CS_MAX_STYLES)
        return cs_fail(CLSTYLE_ERR_USAGE, "%d style images (1 to %d)", o->n_images, CS_MAX_STYLES);
    if (!(o->scale > 0)) return cs_fail(CLSTYLE_ERR_USAGE, "style scale %g is not above 0", o->scale);
    clstyle_styles *st = calloc(1, sizeof *st);
    if (!st) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    st->s = s;
    st->scale = o->scale;
    clstyle_status r = copy_styles(st, o);
    if (r == CLSTYLE_OK) r = copy_layers(st, o);
    if (r != CLSTYLE_OK) {
        clstyle_styles_free(st);
        return r;
    }
    *out = st;
    return CLSTYLE_OK;
}

void clstyle_styles_free(clstyle_styles *st)
{
    if (!st) return;
    for (int k = 0; k < st->n && st->images; k++) cs_image_free(&st->images[k]);
    for (int i = 0; i < st->n_layers && st->layers; i++) free((char *)st->layers[i]);
    for (int i = 0; i < st->n_cache; i++) free(st->cache[i].targets);
    free(st->images);
    free(st->blend);
    free(st->layers);
    free(st->layer_weights);
    free(st->cache);
    free(st);
}

cs_targets *cs_styles_cached(const clstyle_styles *st, int size)
{
    for (int i = 0; i < st->n_cache; i++)
        if (st->cache[i].size == size) return &st->cache[i];
    return NULL;
}

clstyle_status cs_styles_keep(clstyle_styles *st, const cs_targets *t)
{
    cs_targets *grown = realloc(st->cache, (size_t)(st->n_cache + 1) * sizeof *grown);
    if (!grown) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    st->cache = grown;
    st->cache[st->n_cache++] = *t;
    return CLSTYLE_OK;
}
