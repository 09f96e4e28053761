/* The session: a backend, the weights on it and its kernels, opened once
 * for any number of jobs; style sets and the targets they keep per size. */
#include "session.h"

#include <math.h>
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
    CS_TRY(cs_backend_reference_create(&s->host));
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
    cs_backend_destroy(s->host);
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

clstyle_status cs_check_aspect(const cs_image *im, int w, int h, const char *what)
{
    double a = (double)im->w / im->h, b = (double)w / h;
    if (fabs(a / b - 1.0) > 0.02)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s is %dx%d but its picture is %dx%d: it needs the picture's aspect ratio", what,
                       im->w, im->h, w, h);
    return CLSTYLE_OK;
}

clstyle_status cs_mask_prepare(const cs_image *mask, int w, int h, const char *what, cs_image *out)
{
    CS_TRY(cs_check_aspect(mask, w, h, what));
    CS_TRY(cs_image_alloc(mask->w, mask->h, out));
    size_t hw = (size_t)mask->w * mask->h;
    for (size_t i = 0; i < hw; i++) {
        float v = cs_image_clamp01((mask->p[i] + mask->p[hw + i] + mask->p[2 * hw + i]) / 3.0f);
        out->p[i] = out->p[hw + i] = out->p[2 * hw + i] = v;
    }
    return CLSTYLE_OK;
}

static clstyle_status copy_masks(clstyle_styles *st, const clstyle_styles_options *o)
{
    if (o->struct_size <= offsetof(clstyle_styles_options, masks) || !o->masks) return CLSTYLE_OK;
    if (!(st->masks = calloc((size_t)st->n, sizeof *st->masks))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int k = 0; k < st->n; k++) {
        char what[64];
        if (!o->masks[k]) continue;
        snprintf(what, sizeof what, "the mask of style %d", k + 1);
        CS_TRY(cs_mask_prepare(o->masks[k], st->images[k].w, st->images[k].h, what, &st->masks[k]));
        st->any_mask = 1;
    }
    return CLSTYLE_OK;
}

/* Per-image layers given and no set layers: their union, in network order. */
static int union_layers(const clstyle_styles *st, const clstyle_styles_options *o, const char **names)
{
    int n = 0;
    for (int node = 0; node < CS_MAX_NODES; node++) {
        for (int k = 0; k < o->n_images; k++) {
            const char *const *l = o->image_layers[k];
            int hit = 0;
            for (int i = 0; l && i < o->n_image_layers[k] && !hit; i++)
                hit = cs_net_find_node(&st->s->weights, l[i]) == node && n < CS_MAX_LAYERS ? (names[n++] = l[i], 1) : 0;
            if (hit) break;
        }
    }
    return n;
}

static int has_image_layers(const clstyle_styles_options *o)
{
    if (o->struct_size <= offsetof(clstyle_styles_options, n_image_layers) || !o->image_layers || !o->n_image_layers) return 0;
    for (int k = 0; k < o->n_images; k++)
        if (o->image_layers[k]) return 1;
    return 0;
}

/* Each image's layers as bits over the set's. */
static clstyle_status image_layers(clstyle_styles *st, const clstyle_styles_options *o)
{
    if (!(st->image_layers = calloc((size_t)st->n, sizeof *st->image_layers))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int k = 0; k < st->n; k++) {
        const char *const *l = st->any_layers ? o->image_layers[k] : NULL;
        st->image_layers[k] = l ? 0 : ~0u;
        for (int i = 0; l && i < o->n_image_layers[k]; i++) {
            int found = -1;
            for (int j = 0; j < st->n_layers && found < 0; j++)
                if (!strcmp(st->layers[j], l[i])) found = j;
            if (cs_net_find_node(&st->s->weights, l[i]) < 0)
                return cs_fail(CLSTYLE_ERR_USAGE, "unknown layer '%s' for %s (style %d)", l[i], st->s->weights.arch, k + 1);
            if (found < 0) return cs_fail(CLSTYLE_ERR_USAGE, "style %d names layer %s, which is not among the style layers", k + 1, l[i]);
            st->image_layers[k] |= 1u << found;
        }
        if (!st->image_layers[k]) return cs_fail(CLSTYLE_ERR_USAGE, "style %d names no style layer", k + 1);
    }
    return CLSTYLE_OK;
}

static clstyle_status copy_layers(clstyle_styles *st, const clstyle_styles_options *o)
{
    const char *from_images[CS_MAX_LAYERS];
    st->any_layers = has_image_layers(o);
    int n_union = st->any_layers && !o->layers ? union_layers(st, o, from_images) : 0;
    const char *const *layers = o->layers ? o->layers : n_union ? from_images : default_style_layers;
    int n = o->layers ? o->n_layers : n_union ? n_union : 5;
    if (n < 1 || n > CS_MAX_LAYERS) return cs_fail(CLSTYLE_ERR_USAGE, "%d style layers (1 to %d)", n, CS_MAX_LAYERS);
    st->n_layers = n;
    st->layers = calloc((size_t)n, sizeof *st->layers);
    st->layer_weights = calloc((size_t)n, sizeof *st->layer_weights);
    if (!st->layers || !st->layer_weights) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        st->layers[i] = strdup(layers[i]);
        if (!st->layers[i]) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        st->layer_weights[i] = o->layer_weights && o->layers ? o->layer_weights[i] : 1.0;
        if (cs_net_find_node(&st->s->weights, st->layers[i]) < 0)
            return cs_fail(CLSTYLE_ERR_USAGE, "unknown layer '%s' for %s", st->layers[i], st->s->weights.arch);
    }
    return image_layers(st, o);
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
    if (r == CLSTYLE_OK) r = copy_masks(st, o);
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
    for (int k = 0; k < st->n && st->masks; k++) cs_image_free(&st->masks[k]);
    free(st->masks);
    free(st->image_layers);
    for (int i = 0; i < st->n_layers && st->layers; i++) free((char *)st->layers[i]);
    for (int i = 0; i < st->n_cache; i++) free(st->cache[i].targets);
    free(st->images);
    free(st->blend);
    free(st->layers);
    free(st->layer_weights);
    free(st->cache);
    free(st);
}

cs_targets *cs_styles_cached(const clstyle_styles *st, int size, int groups)
{
    for (int i = 0; i < st->n_cache; i++)
        if (st->cache[i].size == size && st->cache[i].groups == groups) return &st->cache[i];
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
