/* The optimization driver: a job on a session, one scale of its pyramid
 * after another. Each scale resizes the content (and the styles, unless the
 * style set has their targets for that size) from the originals, plans its
 * memory, builds its state on the backend, evaluates iteration 0 and runs
 * the optimizer, reporting every evaluation as an event. It only ever calls
 * the backend table, so it runs unchanged on every backend. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "coarse_keep.h"
#include "colors.h"
#include "error.h"
#include "plan.h"
#include "pyramid.h"
#include "session.h"
#include "stopping.h"

static const char *const default_content_layers[] = { "relu4_2" };

typedef struct {
    clstyle_session *s;
    clstyle_styles *st;
    const clstyle_job_options *o;
    const cs_image *content_src;
    cs_image content, styles[CS_MAX_STYLES], start, result;
    cs_eval_image style_in[CS_MAX_STYLES];
    cs_image content_masks[CS_MAX_STYLES], style_masks[CS_MAX_STYLES]; /* at this scale's sizes (w = 0: none) */
    const float *content_mask_p[CS_MAX_STYLES], *style_mask_p[CS_MAX_STYLES];
    cs_image warped[CS_MAX_TEMPORAL], reliable[CS_MAX_TEMPORAL]; /* the temporal term's, at this scale's size */
    const float *warped_p[CS_MAX_TEMPORAL], *reliable_p[CS_MAX_TEMPORAL];
    int scale, n_scales, size, iterations, iter;
    cs_job_spec spec;
    cs_plan plan;
    size_t host_fixed;           /* host bytes besides the plan's: the images and the weights */
    cs_state state;
    cs_targets *targets;         /* the style set's for this scale's size, once known */
    int colors;                  /* CLSTYLE_COLORS_* */
    cs_image content_rgb;        /* luminance mode: the content in colour, whose colours go back into the result */
    cs_targets own;              /* targets made from styles recoloured for this content: the job's own, not the set's */
    clstyle_scale_info info;
    cs_kept kept;                /* the finished scales, for the coarse term */
} job;

static int emit(job *j, const clstyle_event *e) { return cs_session_emit(j->s, j->o->callback, j->o->user, e); }

static clstyle_status phase(job *j, const char *name) { return cs_session_phase(j->s, j->o->callback, j->o->user, name); }

/* Luminance and histogram recolour the styles for this content: their targets are not the style set's to keep. */
static int colors_follow_content(const job *j) { return j->colors == CLSTYLE_COLORS_LUMINANCE || j->colors == CLSTYLE_COLORS_HISTOGRAM; }

/* The content and styles of this scale as the colour mode wants them (docs/control.md). */
static clstyle_status recolor(job *j)
{
    if (j->colors == CLSTYLE_COLORS_LUMINANCE) {
        cs_image_free(&j->content_rgb);
        CS_TRY(cs_image_resize(&j->content, j->content.w, j->content.h, &j->content_rgb)); /* a copy */
        cs_colors_luminance(&j->content);
    }
    for (int k = 0; k < j->st->n && !j->targets; k++) {
        if (j->colors == CLSTYLE_COLORS_HISTOGRAM) cs_colors_match_histogram(&j->styles[k], &j->content);
        if (j->colors != CLSTYLE_COLORS_LUMINANCE) continue;
        cs_colors_luminance(&j->styles[k]);
        cs_colors_match_luminance(&j->styles[k], &j->content);
    }
    return CLSTYLE_OK;
}

/* A picture handed out: with the content's colours put back (content and luminance modes). */
static void hand_out_colors(const job *j, cs_image *im)
{
    if (j->colors == CLSTYLE_COLORS_CONTENT) cs_image_transfer_colors(im, &j->content);
    if (j->colors == CLSTYLE_COLORS_LUMINANCE) cs_image_transfer_colors(im, &j->content_rgb);
}

/* Groups of the style targets: one per style with content masks, else one. */
static int target_groups(const job *j) { return j->o->style_masks ? j->st->n : 1; }

/* A mask resized to w x h (area average: soft masks stay soft), its grey in plane 0. */
static clstyle_status fit_mask(const cs_image *mask, int w, int h, cs_image *out, const float **p)
{
    cs_image_free(out);
    CS_TRY(cs_image_resize(mask, w, h, out));
    *p = out->p;
    return CLSTYLE_OK;
}

/* A mask given on the content, in grey, at this scale's size. */
static clstyle_status fit_content_mask(job *j, const cs_image *mask, const char *what, cs_image *out, const float **p)
{
    cs_image grey = { 0 };
    clstyle_status st = cs_mask_prepare(mask, j->content.w, j->content.h, what, &grey);
    if (st == CLSTYLE_OK) st = fit_mask(&grey, j->content.w, j->content.h, out, p);
    cs_image_free(&grey);
    return st;
}

/* The content masks of the job at the content's size of this scale. */
static clstyle_status prepare_content_masks(job *j)
{
    for (int k = 0; k < j->st->n && j->o->style_masks; k++) {
        char what[64];
        snprintf(what, sizeof what, "the content mask of style %d", k + 1);
        CS_TRY(fit_content_mask(j, j->o->style_masks[k], what, &j->content_masks[k], &j->content_mask_p[k]));
    }
    return CLSTYLE_OK;
}

/* The temporal term's earlier frames and their reliability at this scale's
 * size (in luminance too when the content is). */
static clstyle_status prepare_temporal(job *j)
{
    for (int k = 0; k < j->o->n_temporal; k++) {
        char what[64];
        snprintf(what, sizeof what, "the reliability of earlier frame %d", k + 1);
        CS_TRY(fit_content_mask(j, j->o->temporal_reliable[k], what, &j->reliable[k], &j->reliable_p[k]));
        snprintf(what, sizeof what, "earlier frame %d", k + 1);
        CS_TRY(cs_check_aspect(j->o->temporal_warped[k], j->content.w, j->content.h, what));
        CS_TRY(fit_mask(j->o->temporal_warped[k], j->content.w, j->content.h, &j->warped[k], &j->warped_p[k]));
        if (j->colors == CLSTYLE_COLORS_LUMINANCE) cs_colors_luminance(&j->warped[k]);
    }
    return CLSTYLE_OK;
}

/* alpha at this scale. */
static double content_weight(const job *j)
{
    const clstyle_job_options *o = j->o;
    return o->scale_content_weights && o->n_sizes ? o->scale_content_weights[j->scale] : o->content_weight;
}

/* ---- the coarse term (model/coarse.h) ---- */

static int wants_coarse(const job *j) { return j->o->coarse_weight > 0 && j->n_scales > 1; }

/* A finished scale, kept for the later scales' coarse terms. */
static clstyle_status keep_scale(job *j)
{
    if (!wants_coarse(j) || j->scale == j->n_scales - 1) return CLSTYLE_OK;
    return cs_kept_add(&j->kept, j->size, &j->content, j->content_masks, j->o->style_masks ? j->st->n : 0,
                       j->targets->targets, cs_terms_target_floats(&j->state.eval.terms), content_weight(j));
}

/* The optimizer keeps x in [0, 1] (a caller's struct from before the field: free). */
static int clamps(const job *j) { return j->o->struct_size > offsetof(clstyle_job_options, clamp) && j->o->clamp; }

/* The images of scale s: the content, the styles (unless their targets are
 * kept for this size) and the start. */
static clstyle_status prepare_images(job *j, int s)
{
    const clstyle_job_options *o = j->o;
    j->scale = s;
    j->size = o->n_sizes ? o->sizes[s] : o->size;
    j->iterations = !o->iterations || o->n_iterations < 1 ? o->iteration_count : o->iterations[o->n_iterations > 1 ? s : 0];
    cs_image_free(&j->content);
    cs_image_free(&j->start);
    CS_TRY(cs_pyramid_fit(j->content_src, j->size, &j->content));
    CS_TRY(prepare_content_masks(j));
    int style_size = cs_pyramid_style_size(j->size, j->st->scale);
    j->targets = colors_follow_content(j) ? NULL : cs_styles_cached(j->st, style_size, target_groups(j));
    for (int k = 0; k < j->st->n && !j->targets; k++) {
        cs_image_free(&j->styles[k]);
        CS_TRY(cs_pyramid_fit(&j->st->images[k], style_size, &j->styles[k]));
        j->style_in[k] = (cs_eval_image){ j->styles[k].p, j->styles[k].w, j->styles[k].h };
        j->style_mask_p[k] = NULL;
        if (j->st->masks && j->st->masks[k].w)
            CS_TRY(fit_mask(&j->st->masks[k], j->styles[k].w, j->styles[k].h, &j->style_masks[k], &j->style_mask_p[k]));
    }
    CS_TRY(recolor(j));
    CS_TRY(prepare_temporal(j));
    if (wants_coarse(j)) CS_TRY(cs_kept_fit(&j->kept, j->size, j->content.h, j->content.w));
    if (s > 0) {
        CS_TRY(cs_pyramid_enlarge(&j->result, &j->content, o->init == CLSTYLE_INIT_CONTENT, &j->start));
    } else {
        CS_TRY(cs_pyramid_init(&j->content, o->init, o->init_image, o->seed, &j->start));
        if (j->colors == CLSTYLE_COLORS_LUMINANCE) cs_colors_luminance(&j->start); /* an --init image too */
    }
    /* In the box from the first evaluation: the enlarged start's detail band can leave it. */
    for (size_t i = 0; clamps(j) && i < (size_t)3 * j->start.w * j->start.h; i++) j->start.p[i] = cs_image_clamp01(j->start.p[i]);
    return CLSTYLE_OK;
}

/* What the state is built from: the session's weights, the job's losses and optimizer. */
static void make_spec(job *j)
{
    const clstyle_job_options *o = j->o;
    cs_job_spec *p = &j->spec;
    memset(p, 0, sizeof *p);
    p->weights = &j->s->weights;
    p->avg_pool = j->s->o.pooling_avg;
    p->net_last = j->s->net_last;
    p->loss = (cs_loss_spec){ o->content_layers ? o->content_layers : default_content_layers,
                              o->content_layers ? o->n_content_layers : 1,
                              j->st->layers, j->st->layer_weights, j->st->n_layers,
                              content_weight(j), o->style_weight, o->tv_weight, 0, NULL, o->temporal_weight };
    p->input = (cs_eval_input){ .content = { j->content.p, j->content.w, j->content.h }, .styles = j->style_in,
                                .blend = j->st->blend, .n_styles = j->st->n,
                                .targets = j->targets ? j->targets->targets : NULL, .tile = o->tile, .band = o->band,
                                .content_masks = o->style_masks ? j->content_mask_p : NULL,
                                .style_masks = j->st->any_mask ? j->style_mask_p : NULL,
                                .style_layers = j->st->any_layers ? j->st->image_layers : NULL,
                                .temporal_warped = j->warped_p, .temporal_reliable = j->reliable_p, .n_temporal = o->n_temporal };
    p->optimizer = o->optimizer;
    p->learning_rate = o->learning_rate;
    p->history = o->lbfgs_history;
    p->line_search = o->line_search;
    p->clamp = clamps(j);
    p->n_coarse = wants_coarse(j) ? cs_kept_levels(&j->kept, &p->loss, &p->input, o->coarse_weight, p->coarse) : 0;
}

/* The network deep enough for the job's layers (uploaded once per session). */
static clstyle_status prepare_net(job *j)
{
    int last = cs_terms_last_node(&j->s->weights, &j->spec.loss);
    if (last < 0) {
        cs_terms T; /* names the unknown layer */
        return cs_terms_init(&T, j->s->be, &j->s->weights, &j->spec.loss);
    }
    CS_TRY(cs_session_net(j->s, last, &j->info.weights_reused));
    j->spec.net_last = j->s->net_last;
    return CLSTYLE_OK;
}

static size_t image_bytes(const cs_image *im) { return (size_t)3 * im->w * im->h * sizeof(float); }

/* Host bytes the job keeps whatever the plan: its images (the styles' only
 * while their targets are computed here) and the weights in float32. */
static size_t fixed_host_bytes(const job *j)
{
    const cs_weights *w = &j->s->weights;
    size_t n = image_bytes(&j->content) + image_bytes(&j->start);
    for (int k = 0; k < j->st->n && !j->targets; k++) n += image_bytes(&j->styles[k]);
    for (int k = 0; k < w->n_conv; k++) n += (size_t)w->cout[k] * (w->cin[k] * 9 + 1) * sizeof(float);
    return n;
}

/* The memory plan, and what it gave up said as messages. */
static clstyle_status plan(job *j)
{
    clstyle_session *s = j->s;
    cs_plan_request req = { 0 };
    req.limit = s->o.max_memory_mb > 0 ? (size_t)(s->o.max_memory_mb * 1048576.0) : 0;
    req.explicit_limit = req.limit != 0;
    req.host_limit = s->o.host_memory_mb > 0 ? (size_t)(s->o.host_memory_mb * 1048576.0) : 0;
    req.host_fixed = j->host_fixed = fixed_host_bytes(j);
    req.levels = s->conv_forced ? 1 : CS_LEAN_LEVELS;
    req.tile = j->o->tile;
    req.band = j->o->band;
    req.iterations = j->iterations;
    CS_TRY(cs_plan_job(s->be, &j->spec, &req, &j->plan));
    const cs_plan *p = &j->plan;
    double mib = p->budget / 1048576.0;
    if (p->mode.lean > 0)
        cs_session_message(s, j->o->callback, j->o->user, 0, "%s to fit the device memory budget of %.0f MiB",
                           p->mode.lean == 1   ? "remaking the convolutions' weight copies one layer at a time"
                           : p->mode.lean == 2 ? "using the direct convolutions, remaking their weight copies one layer at a time,"
                                               : "using im2col + GEMM convolutions (no weight copies)", mib);
    if (p->history < p->wanted && p->band) /* in bands the pairs are on the host */
        cs_session_message(s, j->o->callback, j->o->user, 0, "keeping %d of %d L-BFGS pairs to fit the host memory",
                           p->history, p->wanted);
    else if (p->history < p->wanted)
        cs_session_message(s, j->o->callback, j->o->user, 0, "keeping %d of %d L-BFGS pairs to fit the device memory budget of %.0f MiB",
                           p->history, p->wanted, mib);
    if (p->tile)
        cs_session_message(s, j->o->callback, j->o->user, 1, "evaluating in %d pieces of %d px, planned peak %.1f of %.0f MiB",
                           p->pieces, p->tile, p->device_bytes / 1048576.0, mib);
    if (p->band)
        cs_session_message(s, j->o->callback, j->o->user, 1, "evaluating layer by layer in %d bands of %d rows, planned peak %.1f of "
                           "%.0f MiB, %.0f MiB of host memory%s", p->pieces, p->band, p->device_bytes / 1048576.0, mib,
                           p->host_bytes / 1048576.0, p->checkpoint ? " with checkpoints (each stage recomputed for its backward)" : "");
    return CLSTYLE_OK;
}

/* The state of the scale on the device, the start uploaded into x; the
 * style targets computed here are kept by the style set for later jobs. */
static clstyle_status build_state(job *j)
{
    cs_backend *be = j->s->be;
    double t0 = cs_now();
    be->bytes_peak = be->bytes_in_use; /* each scale reports its own peak */
    clstyle_status st = cs_state_create(be, j->s->host, &j->s->net, &j->spec, &j->state);
    if (st == CLSTYLE_ERR_NOMEM) return cs_plan_explain_oom(be, &j->spec, j->size);
    CS_TRY(st);
    j->info.targets_ms = (cs_now() - t0) * 1e3;
    j->info.targets_reused = j->targets != NULL;
    if (!j->targets) {
        cs_targets t = { cs_pyramid_style_size(j->size, j->st->scale), j->styles[0].w, j->styles[0].h, NULL, j->info.targets_ms,
                         target_groups(j) };
        size_t n = cs_terms_target_floats(&j->state.eval.terms);
        if (!(t.targets = malloc((n ? n : 1) * sizeof(float)))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        st = cs_terms_download_targets(&j->state.eval.terms, t.targets);
        if (st == CLSTYLE_OK && colors_follow_content(j)) {
            free(j->own.targets);
            j->own = t;
            j->targets = &j->own;
            return CS_OP(be, upload, j->state.x, 0, j->start.p, (size_t)3 * j->content.w * j->content.h);
        }
        if (st == CLSTYLE_OK) st = cs_styles_keep(j->st, &t);
        if (st != CLSTYLE_OK) free(t.targets);
        CS_TRY(st);
        j->targets = cs_styles_cached(j->st, t.size, t.groups);
    }
    return CS_OP(be, upload, j->state.x, 0, j->start.p, (size_t)3 * j->content.w * j->content.h);
}

/* The scale's plan and setup, for the START event. */
static void describe(job *j)
{
    clstyle_session *s = j->s;
    clstyle_scale_info *i = &j->info;
    const cs_plan *p = &j->plan;
    i->backend = s->be->name;
    i->device = s->be->device;
    i->arch = s->weights.arch;
    i->input = s->weights.input;
    i->weights_path = s->o.weights_path ? s->o.weights_path : "(memory)";
    i->weights_name = s->id.name;
    i->weights_sha256 = s->id.sha256;
    i->width = j->content.w;
    i->height = j->content.h;
    i->style_width = j->targets->w;
    i->style_height = j->targets->h;
    i->styles = j->st->n;
    i->scale = j->scale + 1;
    i->scales = j->n_scales;
    i->iterations = j->iterations;
    i->pieces = p->pieces;
    i->tile = p->tile;
    i->band = p->band;
    i->checkpoint = p->checkpoint;
    i->halo = j->state.eval.halo;
    i->lbfgs_history = p->history;
    i->lbfgs_history_wanted = p->wanted;
    i->budget_bytes = p->budget == SIZE_MAX ? -1.0 : (double)p->budget;
    i->planned_device_bytes = p->device_bytes;
    i->peak_device_bytes = s->be->bytes_peak;
    i->host_bytes = p->host_bytes + j->host_fixed;
    i->conv_memory = cs_lean_name(p->mode.lean);
    i->session_ms = s->jobs == 1 && j->scale == 0 ? s->open_ms : 0;
    i->program_reused = s->jobs > 1 || j->scale > 0;
    i->notes = s->be->notes;
}

/* One loss evaluation at x (gradient into g); *ms is its wall time. */
static clstyle_status evaluate(job *j, double *ms)
{
    double t0 = cs_now();
    CS_TRY(cs_state_evaluate(&j->state));
    *ms = (cs_now() - t0) * 1e3;
    return CLSTYLE_OK;
}

/* Only points the run moves to must be finite: a line search rejects a trial that is not. */
static clstyle_status check_finite(job *j, int iter)
{
    double f = j->state.eval.terms.total;
    if (isfinite(f)) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_NUMERIC, "loss became %g at iteration %d; try a lower --learning-rate or --style-weight", f, iter);
}

/* x of the current scale into *out; handed out (colours: 1), with the content's colours when asked. */
static clstyle_status download(job *j, cs_image *out, int colors)
{
    CS_TRY(cs_image_alloc(j->content.w, j->content.h, out));
    clstyle_status st = CS_OP(j->s->be, download, j->state.x, 0, out->p, (size_t)3 * j->content.w * j->content.h);
    if (st == CLSTYLE_OK && colors) hand_out_colors(j, out);
    if (st != CLSTYLE_OK) cs_image_free(out);
    return st;
}

/* The coarse term's losses of the last evaluation, into an event (cc, cs: its storage), the smallest level first. */
static void coarse_terms(const job *j, clstyle_event *e, double *cc, double *cs)
{
    const cs_coarse *C = &j->state.coarse;
    e->n_coarse = 0;
    for (int k = C->levels; k >= 1; k--)
        if (C->eval[k].ops) cc[e->n_coarse] = C->eval[k].terms.content, cs[e->n_coarse++] = C->eval[k].terms.style;
    e->coarse_content = cc;
    e->coarse_style = cs;
}

/* The EVAL event of an evaluation whose terms are in `terms` (the picture
 * rides along every picture_every iterations and at the scale's last); a nonzero answer asks to stop. */
static clstyle_status report(job *j, int iter, const cs_terms *terms, double ms, int trial, int restored)
{
    const clstyle_job_options *o = j->o;
    cs_image pic = { 0 };
    clstyle_event e = { .kind = CLSTYLE_EVENT_EVAL, .iteration = iter, .scale = j->scale + 1, .scales = j->n_scales,
                        .width = j->content.w, .height = j->content.h, .loss = terms->total, .content = terms->content,
                        .style = terms->style, .tv = terms->tv, .ms = ms, .trial = trial, .restored = restored,
                        .temporal = terms->temporal };
    double cc[CS_COARSE_MAX_LEVELS], cs[CS_COARSE_MAX_LEVELS];
    coarse_terms(j, &e, cc, cs);
    if (!trial && o->picture_every > 0 && iter > 0 && (iter % o->picture_every == 0 || iter == j->iterations)) {
        CS_TRY(download(j, &pic, 1));
        e.picture = &pic;
    }
    if (emit(j, &e)) j->s->stop.requested = 1;
    cs_image_free(&pic);
    return CLSTYLE_OK;
}

/* One optimizer iteration: trial evaluations until one is accepted, each
 * reported. *stuck when the optimizer has nothing left to try (converged). */
static clstyle_status iterate(job *j, int it, int *stuck)
{
    cs_terms *T = &j->state.eval.terms, start = *T;
    double ms = 0;
    int verdict = CS_STEP_RETRY;
    CS_TRY(cs_optim_begin(j->state.opt, j->state.x, j->state.g, T->total));
    while (verdict == CS_STEP_RETRY) {
        CS_TRY(evaluate(j, &ms));
        CS_TRY(cs_optim_judge(j->state.opt, j->state.x, j->state.g, T->total, &verdict));
        if (verdict != CS_STEP_ACCEPT) CS_TRY(report(j, it, T, ms, 1, 0));
    }
    *stuck = verdict == CS_STEP_STUCK;
    j->iter = it;
    if (verdict == CS_STEP_ACCEPT) {
        CS_TRY(check_finite(j, it));
        return report(j, it, T, ms, 0, 0);
    }
    /* back at the start: the iteration repeats the start's losses */
    T->total = start.total, T->content = start.content, T->style = start.style, T->tv = start.tv, T->temporal = start.temporal;
    return report(j, it, T, 0, 0, 1);
}

/* The END event: why the scale's iterations ended, at which loss. */
static void report_end(job *j, const char *reason)
{
    const cs_terms *T = &j->state.eval.terms;
    clstyle_event e = { .kind = CLSTYLE_EVENT_END, .iteration = j->iter, .scale = j->scale + 1, .scales = j->n_scales,
                        .width = j->content.w, .height = j->content.h, .loss = T->total, .content = T->content,
                        .style = T->style, .tv = T->tv, .reason = reason, .temporal = T->temporal };
    double cc[CS_COARSE_MAX_LEVELS], cs[CS_COARSE_MAX_LEVELS];
    coarse_terms(j, &e, cc, cs);
    if (emit(j, &e)) j->s->stop.requested = 1;
}

/* The scale's iterations after iteration 0, until its count, the tolerance
 * rule, the optimizer giving up or a stop; the END event says which. */
static clstyle_status iterations(job *j)
{
    cs_stopping rule;
    int stuck = 0, tolerance;
    CS_TRY(cs_stopping_init(&rule, j->o->tolerance, j->o->tolerance_window));
    clstyle_status st = CLSTYLE_OK;
    tolerance = cs_stopping_add(&rule, j->state.eval.terms.total);
    for (int it = 1; it <= j->iterations && !stuck && !tolerance && !j->s->stop.requested && st == CLSTYLE_OK; it++) {
        st = iterate(j, it, &stuck);
        if (st == CLSTYLE_OK && it < j->iterations) tolerance = cs_stopping_add(&rule, j->state.eval.terms.total);
    }
    cs_stopping_free(&rule);
    CS_TRY(st);
    report_end(j, j->s->stop.requested ? "interrupted" : stuck ? "converged" : tolerance ? "tolerance" : "iterations");
    return CLSTYLE_OK;
}

/* Scale s, from its own iteration 0 to its result in j->result; its state
 * is freed before the next scale allocates. */
static clstyle_status run_scale(job *j, int s)
{
    double ms;
    CS_TRY(phase(j, "preparing the images"));
    CS_TRY(prepare_images(j, s));
    make_spec(j);
    CS_TRY(prepare_net(j));
    CS_TRY(plan(j));
    CS_TRY(phase(j, "computing the style and content targets"));
    CS_TRY(build_state(j));
    CS_TRY(phase(j, "evaluating the initial image"));
    /* Iteration 0 before the start event, so the peak it reports includes the
     * scratch buffers the first backward pass sizes; the loop adds none. */
    CS_TRY(evaluate(j, &ms));
    CS_TRY(check_finite(j, 0));
    j->s->stop.iterating = 1;
    describe(j);
    clstyle_event e = { .kind = CLSTYLE_EVENT_START, .scale_info = &j->info, .scale = s + 1, .scales = j->n_scales,
                        .width = j->content.w, .height = j->content.h };
    if (emit(j, &e)) j->s->stop.requested = 1;
    j->iter = 0;
    CS_TRY(report(j, 0, &j->state.eval.terms, ms, 0, 0));
    CS_TRY(iterations(j));
    cs_image_free(&j->result);
    CS_TRY(download(j, &j->result, 0)); /* the next scale starts from it as it is */
    CS_TRY(keep_scale(j));
    cs_state_free(j->s->be, &j->state);
    return CLSTYLE_OK;
}

/* The command line's defaults are these (test_cli checks them against its option table). */
void clstyle_job_options_default(clstyle_job_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->size = 512;
    o->iteration_count = 500;
    o->optimizer = CLSTYLE_LBFGS;
    o->learning_rate = 0.02;
    o->lbfgs_history = 100;
    o->line_search = CLSTYLE_LS_BACKTRACK;
    o->clamp = 1;
    o->content_weight = 1.0;
    o->style_weight = 10.0;
    o->tv_weight = 10.0;
    o->tolerance_window = 50;
}

/* The coarse term needs later sizes that double from the first. */
static clstyle_status check_coarse(const clstyle_job_options *o)
{
    if (o->struct_size <= offsetof(clstyle_job_options, coarse_weight) || o->coarse_weight == 0) return CLSTYLE_OK;
    if (!(o->coarse_weight > 0)) return cs_fail(CLSTYLE_ERR_USAGE, "coarse weight %g is negative", o->coarse_weight);
    for (int s = 1; s < o->n_sizes; s++)
        if (!cs_pyramid_halvings(o->sizes[0], o->sizes[s]))
            return cs_fail(CLSTYLE_ERR_USAGE, "the coarse term needs sizes that double from the first (like 256,512,1024); "
                                              "%d px does not halve to %d px", o->sizes[s], o->sizes[0]);
    return CLSTYLE_OK;
}

static clstyle_status check_job(const clstyle_job_options *o, const cs_image *content)
{
    if (!o || o->struct_size < offsetof(clstyle_job_options, user) || o->struct_size > sizeof(clstyle_job_options))
        return cs_fail(CLSTYLE_ERR_USAGE, "job options: call clstyle_job_options_default first");
    if (!content) return cs_fail(CLSTYLE_ERR_USAGE, "no content image");
    if (o->init == CLSTYLE_INIT_IMAGE && !o->init_image) return cs_fail(CLSTYLE_ERR_USAGE, "init image missing");
    if (o->struct_size > offsetof(clstyle_job_options, colors) && (o->colors < 0 || o->colors > CLSTYLE_COLORS_HISTOGRAM))
        return cs_fail(CLSTYLE_ERR_USAGE, "colour mode %d is not a CLSTYLE_COLORS_* value", o->colors);
    if (o->struct_size > offsetof(clstyle_job_options, n_style_masks) && o->style_masks)
        for (int k = 0; k < o->n_style_masks; k++)
            if (!o->style_masks[k]) return cs_fail(CLSTYLE_ERR_USAGE, "content mask %d is missing", k + 1);
    if (o->struct_size > offsetof(clstyle_job_options, temporal_weight) && o->n_temporal) {
        if (o->n_temporal < 0 || o->n_temporal > CS_MAX_TEMPORAL)
            return cs_fail(CLSTYLE_ERR_USAGE, "%d earlier frames in the temporal term (at most %d)", o->n_temporal, CS_MAX_TEMPORAL);
        for (int k = 0; k < o->n_temporal; k++)
            if (!o->temporal_warped || !o->temporal_reliable || !o->temporal_warped[k] || !o->temporal_reliable[k])
                return cs_fail(CLSTYLE_ERR_USAGE, "earlier frame %d of the temporal term is missing", k + 1);
        if (!(o->temporal_weight >= 0)) return cs_fail(CLSTYLE_ERR_USAGE, "temporal weight %g is negative", o->temporal_weight);
    }
    if (o->n_sizes < 0 || (o->n_sizes == 0 && o->size < 16)) return cs_fail(CLSTYLE_ERR_USAGE, "size %d is below 16 px", o->size);
    return check_coarse(o);
}

static void job_free(job *j)
{
    cs_state_free(j->s->be, &j->state);
    cs_image_free(&j->content);
    cs_image_free(&j->start);
    cs_image_free(&j->result);
    cs_image_free(&j->content_rgb);
    free(j->own.targets);
    cs_kept_free(&j->kept);
    for (int k = 0; k < CS_MAX_STYLES; k++) {
        cs_image_free(&j->styles[k]);
        cs_image_free(&j->content_masks[k]);
        cs_image_free(&j->style_masks[k]);
    }
    for (int k = 0; k < CS_MAX_TEMPORAL; k++) {
        cs_image_free(&j->warped[k]);
        cs_image_free(&j->reliable[k]);
    }
}

clstyle_status clstyle_job_run(clstyle_session *s, clstyle_styles *st, const clstyle_image *content,
                               const clstyle_job_options *o, clstyle_image **result)
{
    *result = NULL;
    CS_TRY(check_job(o, content));
    if (st->s != s) return cs_fail(CLSTYLE_ERR_USAGE, "the style set belongs to another session");
    if (o->struct_size > offsetof(clstyle_job_options, n_style_masks) && o->style_masks && o->n_style_masks != st->n)
        return cs_fail(CLSTYLE_ERR_USAGE, "%d content masks for %d styles: give one mask per style, in the styles' order",
                       o->n_style_masks, st->n);
    clstyle_job_options opts;
    clstyle_job_options_default(&opts);
    memcpy(&opts, o, o->struct_size); /* an older caller's shorter struct keeps the newer fields' defaults */
    job j;
    memset(&j, 0, sizeof j);
    j.s = s;
    j.st = st;
    j.o = &opts;
    j.content_src = content;
    j.n_scales = opts.n_sizes ? opts.n_sizes : 1;
    j.colors = opts.original_colors ? CLSTYLE_COLORS_CONTENT : opts.colors;
    s->jobs++;
    s->stop.iterating = 0;
    clstyle_status r = CLSTYLE_OK;
    for (int k = 0; k < j.n_scales && r == CLSTYLE_OK && !s->stop.requested; k++) r = run_scale(&j, k);
    if (r == CLSTYLE_OK && s->stop.requested)
        r = cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted after iteration %d", j.iter);
    if ((r == CLSTYLE_OK || (r == CLSTYLE_ERR_INTERRUPTED && s->stop.iterating)) && j.result.p) {
        hand_out_colors(&j, &j.result);
        *result = malloc(sizeof **result);
        if (*result) **result = j.result, j.result = (cs_image){ 0 };
        else r = cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    }
    s->stop.requested = 0; /* a stop is spent with its job */
    s->stop.iterating = 0;
    job_free(&j);
    return r;
}
