#include "job.h"

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
    jo->tolerance = o->tolerance;
    jo->tolerance_window = o->tolerance_window;
}
