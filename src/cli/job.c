#include "job.h"

#include <stdio.h>
#include <string.h>

#include "env.h"

void cs_cli_session_options(const cs_options *o, const char *weights, const char *device, clstyle_session_options *so,
                            char *cache_dir, size_t n)
{
    clstyle_session_options_default(so);
    cs_env_session(so, cache_dir, n);
    so->backend = o->backend;
    if (device) so->device = device;
    else if (o->device) so->device = o->device;
    if (o->max_memory_mb > 0) so->max_memory_mb = o->max_memory_mb;
    so->weights_path = weights;
    so->pooling_avg = o->pooling_avg;
    so->identify_weights = o->verbose || o->log_path;
}

void cs_cli_styles_options(const cs_options *o, int k, clstyle_image *const *images, clstyle_image *const *image_masks,
                           const char *const **own, clstyle_styles_options *yo)
{
    int first = k < 0 ? 0 : k, n = k < 0 ? o->n_styles : 1;
    clstyle_styles_options_default(yo);
    yo->images = (const clstyle_image *const *)images + first;
    yo->n_images = n;
    yo->blend = k < 0 && o->n_blend ? o->blend : NULL;
    yo->scale = o->style_scale;
    yo->layers = o->style_layers;
    yo->layer_weights = o->style_layer_weights;
    yo->n_layers = o->n_style_layers;
    if (o->n_style_image_masks && image_masks) yo->masks = (const clstyle_image *const *)image_masks + first;
    if (!o->n_styles_with_layers) return;
    for (int i = 0; i < o->n_styles_with_layers; i++) own[i] = o->n_style_own_layers[i] ? o->style_own_layers[i] : NULL;
    yo->image_layers = own + first;
    yo->n_image_layers = o->n_style_own_layers + first;
}

void cs_cli_job_options(const cs_options *o, const clstyle_image *init, clstyle_job_options *jo)
{
    clstyle_job_options_default(jo);
    jo->sizes = o->sizes;
    jo->n_sizes = o->n_sizes;
    jo->size = o->size;
    jo->iterations = o->n_scale_iterations ? o->scale_iterations : NULL;
    jo->n_iterations = o->n_scale_iterations;
    jo->iteration_count = o->iterations;
    jo->optimizer = o->optimizer;
    jo->learning_rate = o->learning_rate;
    jo->lbfgs_history = o->lbfgs_history;
    jo->line_search = o->line_search;
    jo->content_weight = o->content_weight;
    jo->scale_content_weights = o->n_scale_content_weights ? o->scale_content_weights : NULL;
    jo->coarse_weight = o->coarse_weight;
    jo->clamp = !o->clamp_off;
    jo->style_weight = o->style_weight;
    jo->tv_weight = o->tv_weight;
    jo->content_layers = o->content_layers;
    jo->n_content_layers = o->n_content_layers;
    jo->init = init ? CLSTYLE_INIT_IMAGE : strcmp(o->init, "random") ? CLSTYLE_INIT_CONTENT : CLSTYLE_INIT_RANDOM;
    jo->init_image = init;
    jo->seed = o->seed;
    jo->original_colors = o->original_colors;
    jo->colors = o->colors;
    jo->tile = o->tile;
    jo->band = o->band;
    jo->tolerance = o->tolerance;
    jo->tolerance_window = o->tolerance_window;
}

/* ,"key":[a,b,..] of n numbers. */
static size_t json_list(char *out, size_t n, const char *key, const double *v, int k)
{
    size_t len = (size_t)snprintf(out, n, ",\"%s\":[", key);
    for (int i = 0; i < k && len < n; i++) len += (size_t)snprintf(out + len, n - len, "%s%.6g", i ? "," : "", v[i]);
    return len < n ? len + (size_t)snprintf(out + len, n - len, "]") : len;
}

void cs_cli_log_options(const cs_options *o, char *out, size_t n)
{
    static const char *const line_searches[] = { "none", "backtrack", "wolfe" };
    size_t len = (size_t)snprintf(out, n,
        ",\"optimizer\":\"%s\",\"line_search\":\"%s\",\"content_weight\":%.9g,\"style_weight\":%.9g,\"tv_weight\":%.9g",
        o->optimizer == CLSTYLE_ADAM ? "adam" : "lbfgs", line_searches[o->line_search], o->content_weight, o->style_weight,
        o->tv_weight);
    if (o->tolerance > 0 && len < n)
        len += (size_t)snprintf(out + len, n - len, ",\"tolerance\":%.9g,\"tolerance_window\":%d", o->tolerance,
                                o->tolerance_window);
    if (len < n) len += (size_t)snprintf(out + len, n - len, ",\"clamp\":%s", o->clamp_off ? "false" : "true");
    if (o->coarse_weight > 0 && len < n) len += (size_t)snprintf(out + len, n - len, ",\"coarse_weight\":%.9g", o->coarse_weight);
    if (o->auto_pyramid && len < n) { /* the plan (docs/large-pictures.md) */
        double sizes[CS_MAX_SCALES], counts[CS_MAX_SCALES];
        for (int k = 0; k < o->n_sizes; k++) sizes[k] = o->sizes[k], counts[k] = o->scale_iterations[k];
        len += (size_t)snprintf(out + len, n - len, ",\"pyramid\":\"auto\"");
        if (len < n) len += json_list(out + len, n - len, "sizes", sizes, o->n_sizes);
        if (len < n) len += json_list(out + len, n - len, "scale_iterations", counts, o->n_sizes);
        if (len < n) json_list(out + len, n - len, "scale_content_weights", o->scale_content_weights, o->n_sizes);
    }
}
