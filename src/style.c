/* The optimization driver: loads inputs, builds the losses on the chosen
 * backend, runs the optimizer and writes the result. It only ever calls the
 * backend table, so it runs unchanged on every backend. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "image.h"
#include "interrupt.h"
#include "loss.h"
#include "optim.h"
#include "preflight.h"
#include "progress.h"
#include "rng.h"
#include "runlog.h"
#include "weights_id.h"

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

/* --weights, then $CLSTYLE_WEIGHTS, then the user cache. */
static clstyle_status resolve_weights(const clstyle_options *o, char *out, size_t n)
{
    const char *env = getenv("CLSTYLE_WEIGHTS"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (o->weights) { snprintf(out, n, "%s", o->weights); return CLSTYLE_OK; }
    if (env && *env) { snprintf(out, n, "%s", env); return CLSTYLE_OK; }
    static const char *const names[] = { "vgg16.safetensors", "vgg19-conv.safetensors", "vgg19.safetensors" };
    for (int i = 0; i < 3; i++) {
        if (xdg && *xdg) snprintf(out, n, "%s/clstyle/%s", xdg, names[i]);
        else snprintf(out, n, "%s/.cache/clstyle/%s", home ? home : ".", names[i]);
        if (file_exists(out)) return CLSTYLE_OK;
    }
    return cs_fail(CLSTYLE_ERR_IO, "no VGG weights found: pass --weights FILE, set CLSTYLE_WEIGHTS, "
                                   "or run tools/demo once to download them to ~/.cache/clstyle/");
}

static clstyle_status load_fitted(const char *path, int longer, double max_megapixels, cs_image *out)
{
    cs_image raw;
    CS_TRY(cs_image_load(path, max_megapixels, &raw));
    int w, h;
    cs_image_fit(raw.w, raw.h, longer, &w, &h);
    clstyle_status st = cs_image_resize(&raw, w, h, out);
    cs_image_free(&raw);
    return st;
}

/* What a run keeps on its backend: network, losses, optimizer state, image, gradient. */
typedef struct {
    cs_net net;
    cs_loss loss;
    cs_optim *opt;
    cs_buf *x, *g;
} run_state;

static clstyle_status state_create(cs_backend *be, const cs_weights *w, const clstyle_options *o, cs_loss_image content,
                                   const cs_loss_image *styles, const double *blend, run_state *rs)
{
    memset(rs, 0, sizeof *rs);
    CS_TRY(cs_net_create(be, w, o->pooling_avg, &rs->net));
    CS_TRY(cs_loss_init(&rs->loss, &rs->net, o, content, styles, blend, o->n_styles));
    size_t n = (size_t)3 * content.w * content.h;
    int hist = o->lbfgs_history < o->iterations ? o->lbfgs_history : (o->iterations > 0 ? o->iterations : 1);
    double lr = o->optimizer == CLSTYLE_ADAM ? o->learning_rate : 1.0; /* L-BFGS: unit step */
    CS_TRY(cs_optim_create(be, o->optimizer, n, hist, lr, &rs->opt));
    CS_TRY(CS_OP(be, alloc, n, &rs->x));
    CS_TRY(CS_OP(be, alloc, n, &rs->g));
    return CLSTYLE_OK;
}

static void state_free(cs_backend *be, run_state *rs)
{
    cs_buf_release(be, rs->x);
    cs_buf_release(be, rs->g);
    cs_optim_destroy(rs->opt);
    cs_loss_free(&rs->loss);
    if (rs->net.be) cs_net_destroy(&rs->net);
    memset(rs, 0, sizeof *rs);
}

typedef struct {
    const clstyle_options *o;
    cs_image content, styles[CLSTYLE_MAX_STYLES], init;
    double blend[CLSTYLE_MAX_STYLES];
    cs_weights weights;
    cs_backend *be;
    run_state rs;
    FILE *log;
    int iter;           /* the last iteration evaluated */
    char weights_path[4096];
    cs_weights_id weights_id;   /* filled for --verbose and --log */
} job;

static clstyle_status make_init(job *j)
{
    const clstyle_options *o = j->o;
    int w = j->content.w, h = j->content.h;
    if (!strcmp(o->init, "content")) {
        CS_TRY(cs_image_alloc(w, h, &j->init));
        memcpy(j->init.p, j->content.p, (size_t)3 * w * h * sizeof(float));
    } else if (!strcmp(o->init, "random")) {
        cs_rng r;
        cs_rng_seed(&r, o->seed);
        CS_TRY(cs_image_alloc(w, h, &j->init));
        for (size_t i = 0; i < (size_t)3 * w * h; i++) j->init.p[i] = cs_rng_uniform(&r);
    } else {
        cs_image raw;
        CS_TRY(cs_image_load(o->init, o->max_input_megapixels, &raw));
        clstyle_status st = cs_image_resize(&raw, w, h, &j->init);
        cs_image_free(&raw);
        return st;
    }
    return CLSTYLE_OK;
}

static clstyle_status load_inputs(job *j)
{
    const clstyle_options *o = j->o;
    CS_TRY(resolve_weights(o, j->weights_path, sizeof j->weights_path));
    CS_TRY(cs_preflight(o, j->weights_path));
    CS_TRY(cs_stop_phase("reading the content image"));
    CS_TRY(load_fitted(o->content, o->size, o->max_input_megapixels, &j->content));
    int style_size = (int)lround(o->size * o->style_scale);
    double bsum = 0;
    for (int k = 0; k < o->n_styles; k++) {
        CS_TRY(cs_stop_phase("reading the style images"));
        CS_TRY(load_fitted(o->styles[k], style_size < 16 ? 16 : style_size, o->max_input_megapixels, &j->styles[k]));
        j->blend[k] = o->n_blend ? o->blend[k] : 1.0;
        bsum += j->blend[k];
    }
    for (int k = 0; k < o->n_styles; k++) j->blend[k] /= bsum;
    CS_TRY(cs_stop_phase("preparing the initial image"));
    CS_TRY(make_init(j));
    CS_TRY(cs_stop_phase("loading the weights"));
    return cs_weights_load(j->weights_path, &j->weights);
}

static cs_loss_image as_loss_image(const cs_image *im, double scale)
{
    cs_loss_image r = { scale == 1 ? im->p : NULL, (int)(im->w * scale + 0.5), (int)(im->h * scale + 0.5) };
    return r;
}

/* Buffer bytes a run needs with every image scaled by `scale` (measured on the null backend). */
static size_t bytes_needed(job *j, double scale)
{
    cs_backend *nb;
    if (cs_backend_create("null", NULL, &nb) != CLSTYLE_OK) return (size_t)-1;
    cs_loss_image styles[CLSTYLE_MAX_STYLES];
    for (int k = 0; k < j->o->n_styles; k++) styles[k] = as_loss_image(&j->styles[k], scale);
    run_state rs;
    clstyle_status st = state_create(nb, &j->weights, j->o, as_loss_image(&j->content, scale), styles, j->blend, &rs);
    size_t peak = st == CLSTYLE_OK ? nb->bytes_peak : (size_t)-1;
    state_free(nb, &rs);
    cs_backend_destroy(nb);
    return peak;
}

/* After running out of device memory: adds the largest --size that would fit. */
static clstyle_status explain_oom(job *j)
{
    char msg[900];
    snprintf(msg, sizeof msg, "%s", clstyle_last_error());
    size_t limit = j->be->mem_limit;
    for (double scale = 0.9; limit && scale > 0.05; scale *= 0.9) {
        int size = (int)(j->o->size * scale);
        /* 20% headroom for the driver, the im2col band and CLBlast's scratch */
        if (size >= 16 && bytes_needed(j, scale) < limit / 10 * 8)
            return cs_fail(CLSTYLE_ERR_NOMEM, "%s; --size %d would fit this device", msg, size);
    }
    return CLSTYLE_ERR_NOMEM;
}

static clstyle_status setup(job *j)
{
    const clstyle_options *o = j->o;
    cs_backend_params p;
    cs_backend_params_from_env(&p);
    if (o->device) p.device = o->device;
    CS_TRY(cs_backend_create(o->backend == CLSTYLE_BACKEND_REFERENCE ? "reference" : "opencl", &p, &j->be));
    CS_TRY(cs_stop_phase("computing the style and content targets"));
    cs_loss_image styles[CLSTYLE_MAX_STYLES];
    for (int k = 0; k < o->n_styles; k++) styles[k] = as_loss_image(&j->styles[k], 1);
    clstyle_status st = state_create(j->be, &j->weights, o, as_loss_image(&j->content, 1), styles, j->blend, &j->rs);
    if (st == CLSTYLE_ERR_NOMEM) return explain_oom(j);
    CS_TRY(st);
    return CS_OP(j->be, upload, j->rs.x, 0, j->init.p, (size_t)3 * j->content.w * j->content.h);
}

static clstyle_status log_start(job *j)
{
    const clstyle_options *o = j->o;
    if (!j->log) return CLSTYLE_OK;
    fprintf(j->log,
            "{\"event\":\"start\",\"version\":\"%s\",\"backend\":\"%s\",\"device\":\"%s\",\"arch\":\"%s\","
            "\"width\":%d,\"height\":%d,\"styles\":%d,\"optimizer\":\"%s\",\"iterations\":%d,"
            "\"content_weight\":%.9g,\"style_weight\":%.9g,\"tv_weight\":%.9g,\"peak_device_bytes\":%zu,"
            "\"weights\":%s%s%s,\"weights_sha256\":\"%s\"}\n",
            CLSTYLE_VERSION, j->be->name, j->be->device, j->weights.arch, j->content.w, j->content.h, o->n_styles,
            o->optimizer == CLSTYLE_ADAM ? "adam" : "lbfgs", o->iterations, o->content_weight, o->style_weight,
            o->tv_weight, j->be->bytes_peak, j->weights_id.name ? "\"" : "", /* known names need no escaping */
            j->weights_id.name ? j->weights_id.name : "null", j->weights_id.name ? "\"" : "", j->weights_id.sha256);
    return cs_log_check(j->log, o->log_path);
}

/* Downloads x, applies --original-colors and writes path atomically. */
static clstyle_status save_image(job *j, const char *path)
{
    cs_image out;
    CS_TRY(cs_image_alloc(j->content.w, j->content.h, &out));
    clstyle_status st = CS_OP(j->be, download, j->rs.x, 0, out.p, (size_t)3 * out.w * out.h);
    if (st == CLSTYLE_OK && j->o->original_colors) cs_image_transfer_colors(&out, &j->content);
    if (st == CLSTYLE_OK) st = cs_image_save(path, &out, j->o->output_bits, j->o->jpeg_quality);
    cs_image_free(&out);
    return st;
}

static clstyle_status save_snapshot(job *j, int iter)
{
    char path[4096];
    const char *out = j->o->output, *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    int stem = dot && (!slash || dot > slash) ? (int)(dot - out) : (int)strlen(out);
    snprintf(path, sizeof path, "%.*s_%d%s", stem, out, iter, out + stem);
    return save_image(j, path);
}

/* One loss evaluation at x: gradient into g, a log line, a progress update. */
/* One loss evaluation at x (gradient into g); *ms is its wall time. */
static clstyle_status evaluate(job *j, int iter, double *ms)
{
    double t0 = cs_now();
    CS_TRY(cs_loss_eval(&j->rs.loss, j->rs.x, j->rs.g));
    *ms = (cs_now() - t0) * 1e3;
    if (!isfinite(j->rs.loss.total))
        return cs_fail(CLSTYLE_ERR_NUMERIC, "loss became %g at iteration %d; try a lower --learning-rate or --style-weight",
                       j->rs.loss.total, iter);
    return CLSTYLE_OK;
}

/* The log line and the progress update of the last evaluation. */
static clstyle_status record(job *j, int iter, double ms, cs_progress *pr)
{
    const cs_loss *L = &j->rs.loss;
    j->iter = iter;
    cs_progress_update(pr, iter, L->total);
    if (!j->log) return CLSTYLE_OK;
    fprintf(j->log, "{\"iter\":%d,\"loss\":%.9g,\"content\":%.9g,\"style\":%.9g,\"tv\":%.9g,\"ms\":%.3f}\n", iter,
            L->total, L->content, L->style, L->tv, ms);
    return cs_log_check(j->log, j->o->log_path);
}

/* Iterations 1..N; iteration 0 was evaluated (and recorded) before. */
static clstyle_status optimize(job *j, cs_progress *pr)
{
    const clstyle_options *o = j->o;
    clstyle_status st;
    double ms;
    for (int it = 1; it <= o->iterations && !cs_stop_requested(); it++) {
        CS_CHECK(cs_optim_step(j->rs.opt, j->rs.x, j->rs.g));
        CS_CHECK(evaluate(j, it, &ms));
        CS_CHECK(record(j, it, ms, pr));
        if (o->save_every > 0 && it % o->save_every == 0 && it < o->iterations) CS_CHECK(save_snapshot(j, it));
    }
done:
    cs_progress_end(pr);
    return st;
}

static void job_free(job *j)
{
    if (j->be) {
        state_free(j->be, &j->rs);
        cs_backend_destroy(j->be);
    }
    cs_weights_free(&j->weights);
    cs_image_free(&j->content);
    cs_image_free(&j->init);
    for (int k = 0; k < CLSTYLE_MAX_STYLES; k++) cs_image_free(&j->styles[k]);
    if (j->log) fclose(j->log);
}

/* After the first signal during the iterations: the picture so far is kept. */
static clstyle_status finish_interrupted(job *j)
{
    CS_TRY(cs_log_interrupted(j->log, j->o->log_path, j->iter));
    CS_TRY(cs_log_close(&j->log, j->o->log_path));
    return cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted after iteration %d; %s holds the result so far", j->iter,
                   j->o->output);
}

clstyle_status clstyle_run(const clstyle_options *o)
{
    job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    cs_stop_begin(o->verbose);
    clstyle_status st;
    cs_progress pr;
    double ms;
    CS_CHECK(load_inputs(&j));
    CS_CHECK(setup(&j));
    if (o->log_path) CS_CHECK(cs_log_open(o->log_path, &j.log));
    CS_CHECK(cs_stop_phase("evaluating the initial image"));
    /* Iteration 0 before the start event, so the peak it reports includes the
     * scratch buffers the first backward pass sizes; the loop adds none. */
    CS_CHECK(evaluate(&j, 0, &ms));
    cs_stop_set_iterating(1);
    if (o->verbose || j.log) CS_CHECK(cs_weights_identify(j.weights_path, &j.weights_id));
    if (o->verbose)
        fprintf(stderr, "clstyle: %s on %s (%s), %dx%d, weights %s (%s; %s, sha256 %.16s...), %.1f MiB of device memory at peak\n",
                j.be->name, j.be->device, j.weights.arch, j.content.w, j.content.h, j.weights_path, j.weights.input,
                j.weights_id.name ? j.weights_id.name : "not a known file", j.weights_id.sha256, j.be->bytes_peak / 1048576.0);
    if (o->verbose && j.be->notes[0]) fprintf(stderr, "clstyle: %s", j.be->notes);
    CS_CHECK(log_start(&j));
    cs_progress_start(&pr, o->iterations, o->quiet);
    CS_CHECK(record(&j, 0, ms, &pr));
    CS_CHECK(optimize(&j, &pr));
    CS_CHECK(save_image(&j, o->output));
    if (cs_stop_requested()) CS_CHECK(finish_interrupted(&j));
    CS_CHECK(cs_log_close(&j.log, o->log_path));
done:
    job_free(&j);
    cs_stop_end();
    return st;
}
