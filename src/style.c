/* The optimization driver: loads inputs, builds the losses on the chosen
 * backend, runs the optimizer and writes the result. It only ever calls the
 * backend table, so it runs unchanged on every backend.
 *
 * A size pyramid (--size A,B,C) runs one scale after another: each scale
 * resizes the content and styles from the decoded originals, starts from the
 * previous scale's result resized up, and builds its device state from
 * scratch after the previous scale's is freed. One size is a pyramid of one. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
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
#include "pieces.h"
#include "plan.h"
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

static clstyle_status resize_fitted(const cs_image *raw, int longer, cs_image *out)
{
    int w, h;
    cs_image_fit(raw->w, raw->h, longer, &w, &h);
    return cs_image_resize(raw, w, h, out);
}

/* What a run keeps on its backend: network, losses, optimizer state, image, gradient. */
typedef struct {
    cs_net net;
    cs_loss loss;
    cs_optim *opt;
    cs_buf *x, *g;
} run_state;

static clstyle_status state_create(cs_backend *be, const cs_weights *w, const clstyle_options *o, int iterations,
                                   cs_loss_image content, const cs_loss_image *styles, const double *blend, run_state *rs)
{
    memset(rs, 0, sizeof *rs);
    CS_TRY(cs_net_create_upto(be, w, o->pooling_avg, cs_net_last_node(w, o), &rs->net));
    CS_TRY(cs_loss_init(&rs->loss, &rs->net, o, content, styles, blend, o->n_styles));
    size_t n = (size_t)3 * content.w * content.h;
    int hist = o->lbfgs_history < iterations ? o->lbfgs_history : (iterations > 0 ? iterations : 1);
    double lr = o->optimizer == CLSTYLE_ADAM ? o->learning_rate : 1.0; /* L-BFGS: unit step */
    CS_TRY(cs_optim_create(be, o->optimizer, n, hist, lr, &rs->opt));
    CS_TRY(cs_optim_set_line_search(rs->opt, o->line_search));
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
    cs_image content_src, style_src[CLSTYLE_MAX_STYLES], init_src; /* as decoded (init_src: --init FILE) */
    cs_image content, styles[CLSTYLE_MAX_STYLES], init;             /* resized for the current scale */
    cs_image result;                                                /* the last scale's result */
    int scale, n_scales, size, iterations;                          /* current scale (0-based) */
    double blend[CLSTYLE_MAX_STYLES];
    cs_weights weights;
    cs_backend *be;
    run_state rs;
    FILE *log;
    int iter;           /* the last iteration evaluated */
    char weights_path[4096];
    cs_plan plan;
    clstyle_options eff;     /* the options with the plan's pieces and history */
    size_t host_bytes;       /* host memory of the images, weights and pieces */
    int explicit_limit;      /* --max-memory or CLSTYLE_DEVICE_MEM_MB given: the budget is exactly that */
    const char *conv;        /* the convolution algorithm forced (CLSTYLE_CONV), NULL when chosen per shape */
    size_t band_device;      /* the backend's own im2col band cap; each plan sets one within its budget */
    int lean;                /* the convolutions' memory level (cs_mem_mode.lean) being planned or chosen */
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
        return cs_image_resize(&j->init_src, w, h, &j->init);
    }
    return CLSTYLE_OK;
}

/* Decodes every input once; each scale resizes from these originals. */
static clstyle_status load_inputs(job *j)
{
    const clstyle_options *o = j->o;
    CS_TRY(resolve_weights(o, j->weights_path, sizeof j->weights_path));
    CS_TRY(cs_preflight(o, j->weights_path));
    CS_TRY(cs_stop_phase("reading the content image"));
    CS_TRY(cs_image_load(o->content, o->max_input_megapixels, &j->content_src));
    double bsum = 0;
    for (int k = 0; k < o->n_styles; k++) {
        CS_TRY(cs_stop_phase("reading the style images"));
        CS_TRY(cs_image_load(o->styles[k], o->max_input_megapixels, &j->style_src[k]));
        j->blend[k] = o->n_blend ? o->blend[k] : 1.0;
        bsum += j->blend[k];
    }
    for (int k = 0; k < o->n_styles; k++) j->blend[k] /= bsum;
    CS_TRY(cs_stop_phase("preparing the initial image"));
    if (strcmp(o->init, "content") && strcmp(o->init, "random"))
        CS_TRY(cs_image_load(o->init, o->max_input_megapixels, &j->init_src));
    CS_TRY(cs_stop_phase("loading the weights"));
    return cs_weights_load(j->weights_path, &j->weights);
}

/* Longer side of the styles at content size `size`: size x --style-scale, at
 * least 16, as SPEC fixes it. A style smaller than that is enlarged like any
 * other input (README: pass a larger painting or a --style-scale below 1 for
 * print sizes, since an enlarged style only adds blur). */
static int style_size(const clstyle_options *o, int size)
{
    int want = (int)lround(size * o->style_scale);
    return want < 16 ? 16 : want;
}

/* init += content - enlarge(shrink(content)): the detail of the content that
 * the smaller scale could not hold (a Laplacian-pyramid band). Without it the
 * enlarged result is soft, and the last scale's few iterations leave windows
 * and edges blurred; with it they start sharp (README, "Size pyramid"). */
static clstyle_status add_content_detail(job *j)
{
    cs_image small, blurred;
    CS_TRY(cs_image_resize(&j->content, j->result.w, j->result.h, &small));
    clstyle_status st = cs_image_resize(&small, j->content.w, j->content.h, &blurred);
    cs_image_free(&small);
    CS_TRY(st);
    for (size_t i = 0; i < (size_t)3 * j->content.w * j->content.h; i++) j->init.p[i] += j->content.p[i] - blurred.p[i];
    cs_image_free(&blurred);
    return CLSTYLE_OK;
}

/* The images of scale s: content and styles from their originals; the start
 * from --init at the first scale, else the previous result enlarged bilinearly
 * (smooth, without the overshoot of bicubic) plus, when starting from the
 * content, the content's own detail at the new size. */
static clstyle_status prepare_scale(job *j, int s)
{
    const clstyle_options *o = j->o;
    j->scale = s;
    j->size = o->n_sizes ? o->sizes[s] : o->size;
    j->iterations = o->n_scale_iterations > 1 ? o->scale_iterations[s] : o->iterations;
    cs_image_free(&j->content);
    cs_image_free(&j->init);
    CS_TRY(resize_fitted(&j->content_src, j->size, &j->content));
    for (int k = 0; k < o->n_styles; k++) {
        cs_image_free(&j->styles[k]);
        CS_TRY(resize_fitted(&j->style_src[k], style_size(o, j->size), &j->styles[k]));
    }
    if (s == 0) return make_init(j);
    CS_TRY(cs_image_resize(&j->result, j->content.w, j->content.h, &j->init));
    return strcmp(o->init, "content") ? CLSTYLE_OK : add_content_detail(j);
}

static cs_loss_image as_loss_image(const cs_image *im, double scale)
{
    cs_loss_image r = { scale == 1 ? im->p : NULL, (int)(im->w * scale + 0.5), (int)(im->h * scale + 0.5) };
    return r;
}

/* The counting backend with the device's convolution scratch, as the
 * device reports it for each shape at its current memory mode (the reference
 * backend reports none). */
static clstyle_status measuring_backend(const job *j, cs_backend **nb)
{
    return cs_backend_null_create(j->be, nb);
}

/* Buffer bytes a run needs with every image scaled by `scale` (measured on the null backend). */
static size_t bytes_needed(job *j, double scale)
{
    cs_backend *nb;
    if (measuring_backend(j, &nb) != CLSTYLE_OK) return (size_t)-1;
    cs_loss_image styles[CLSTYLE_MAX_STYLES];
    for (int k = 0; k < j->o->n_styles; k++) styles[k] = as_loss_image(&j->styles[k], scale);
    run_state rs;
    clstyle_status st = state_create(nb, &j->weights, j->o, j->iterations, as_loss_image(&j->content, scale), styles, j->blend, &rs);
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
        int size = (int)(j->size * scale);
        /* 20% headroom for the driver, the im2col band and CLBlast's scratch */
        if (size >= 16 && bytes_needed(j, scale) < limit / 10 * 8)
            return cs_fail(CLSTYLE_ERR_NOMEM, "%s; --size %d would fit this device", msg, size);
    }
    return CLSTYLE_ERR_NOMEM;
}

/* The backend's memory mode: the level j->lean and an im2col band cap
 * within a budget: the device's, at most a sixteenth of the budget. */
static void set_band(job *j, size_t budget)
{
    cs_mem_mode m = { j->lean, j->band_device > cs_plan_band(budget) ? cs_plan_band(budget) : j->band_device };
    if (j->be->mem) j->be->mem->set_mode(j->be, m);
}

/* What the planner measures: the job's buffers on the null backend, with the
 * device's convolution scratch, for pieces of `tile` px and `history` pairs. */
typedef struct { job *j; size_t host; } measure_ctx;

static clstyle_status measure_job(void *ctx, int tile, int history, size_t budget, size_t *bytes)
{
    measure_ctx *mc = ctx;
    job *j = mc->j;
    cs_backend *nb;
    set_band(j, budget);
    CS_TRY(measuring_backend(j, &nb));
    clstyle_options o = *j->o;
    o.tile = tile;
    if (history > 0) o.lbfgs_history = history;
    /* Shapes without pixels: nothing is loaded or computed, only counted. */
    cs_loss_image styles[CLSTYLE_MAX_STYLES], content = { NULL, j->content.w, j->content.h };
    for (int k = 0; k < o.n_styles; k++) styles[k] = (cs_loss_image){ NULL, j->styles[k].w, j->styles[k].h };
    run_state rs;
    clstyle_status st = state_create(nb, &j->weights, &o, j->iterations, content, styles, j->blend, &rs);
    /* One evaluation too: the Gram matrices of the picture's own features
     * (not the style images') and the backward grow scratch only then. */
    if (st == CLSTYLE_OK) st = cs_loss_eval(&rs.loss, rs.x, rs.g);
    *bytes = nb->bytes_peak;
    mc->host = rs.loss.host_bytes;
    state_free(nb, &rs);
    cs_backend_destroy(nb);
    return st;
}

/* Device memory the job may use: --max-memory or CLSTYLE_DEVICE_MEM_MB as
 * given; otherwise the device's less a headroom for the driver, the program
 * and CLBlast's own buffers (10%, 64 MiB to 1 GiB); no bound on the host. */
static size_t budget(const cs_backend *be, int explicit_limit)
{
    if (!be->mem_limit) return SIZE_MAX;
    if (explicit_limit) return be->mem_limit;
    size_t head = be->mem_limit / 10;
    head = head < ((size_t)64 << 20) ? (size_t)64 << 20 : head > ((size_t)1 << 30) ? (size_t)1 << 30 : head;
    return be->mem_limit > 2 * head ? be->mem_limit - head : be->mem_limit / 2;
}

static size_t image_bytes(const cs_image *im) { return (size_t)3 * im->w * im->h * sizeof(float); }

/* An earlier stage of cs_plan_make, then larger pieces, then more history. */
static int better(const cs_plan *a, const cs_plan *b)
{
    if (a->stage != b->stage) return a->stage < b->stage;
    return a->tile != b->tile ? a->tile > b->tile : a->history > b->history;
}

/* The plan at the convolutions' memory levels (cs_mem_mode.lean): the
 * device's choice when it fits whole; otherwise whichever of it and the
 * direct kernel instead of Winograd (its weight copies take 16/9 of the
 * weights per direction, direct's 1x) plans better (better()), the choice
 * on a tie; im2col + GEMM, keeping no copies, only when
 * neither fits at all (on PoCL it is 8x slower than the direct kernel, more
 * than pieces cost). A forced algorithm (CLSTYLE_CONV) stays. */
static clstyle_status plan_lean(job *j, measure_ctx *mc, int history, size_t limit)
{
    const clstyle_options *o = j->o;
    int best = -1, levels = j->conv ? 1 : CS_LEAN_LEVELS;
    clstyle_status st = CLSTYLE_OK;
    for (int lean = 0; lean < levels && !(best >= 0 && (j->plan.stage == 1 || lean == 2)); lean++) {
        cs_plan p;
        j->lean = lean;
        st = cs_plan_make(measure_job, mc, j->content.h, j->content.w, cs_pieces_halo_for(&j->weights, o), o->tile, history, limit, &p);
        if (st != CLSTYLE_OK && st != CLSTYLE_ERR_NOMEM) return st;
        if (st == CLSTYLE_OK && (best < 0 || better(&p, &j->plan))) {
            j->plan = p;
            best = lean;
        }
    }
    if (best < 0) return st; /* the leanest level's message: the smallest budget */
    j->lean = best;
    set_band(j, limit);
    if (best > 0)
        fprintf(stderr, "clstyle: %s to fit the device memory budget of %.0f MiB\n",
                best == 1 ? "using the direct convolution instead of Winograd" : "using im2col + GEMM convolutions (no weight copies)",
                limit / 1048576.0);
    return CLSTYLE_OK;
}

/* Chooses pieces and history for the budget (cs_plan_make) and says when history is given up. */
static clstyle_status plan_job(job *j, int explicit_limit)
{
    const clstyle_options *o = j->o;
    int its = j->iterations, history = o->optimizer == CLSTYLE_ADAM ? 0 : o->lbfgs_history < its ? o->lbfgs_history : (its > 0 ? its : 1);
    size_t limit = budget(j->be, explicit_limit);
    if (!j->be->mem_limit && explicit_limit) limit = (size_t)(o->max_memory_mb * 1048576.0); /* the reference backend's buffers */
    measure_ctx mc = { j, 0 };
    CS_TRY(plan_lean(j, &mc, history, limit));
    size_t bytes;
    CS_TRY(measure_job(&mc, j->plan.tile, j->plan.history, limit, &bytes)); /* the host bytes of the plan chosen */
    j->eff = *o;
    j->eff.tile = j->plan.tile;
    if (history > 0) j->eff.lbfgs_history = j->plan.history;
    j->host_bytes = mc.host + image_bytes(&j->content) + image_bytes(&j->init);
    for (int k = 0; k < o->n_styles; k++) j->host_bytes += image_bytes(&j->styles[k]);
    for (int k = 0; k < j->weights.n_conv; k++) j->host_bytes += (size_t)j->weights.cout[k] * (j->weights.cin[k] * 9 + 1) * sizeof(float);
    if (j->plan.history < j->plan.wanted)
        fprintf(stderr, "clstyle: keeping %d of %d L-BFGS pairs to fit the device memory budget of %.0f MiB\n", j->plan.history,
                j->plan.wanted, limit / 1048576.0);
    if (o->verbose && j->plan.tile)
        fprintf(stderr, "clstyle: evaluating in %d pieces of %d px, planned peak %.1f of %.0f MiB\n", j->plan.pieces, j->plan.tile,
                j->plan.device_bytes / 1048576.0, limit / 1048576.0);
    return CLSTYLE_OK;
}

/* The backend, once for all scales; --max-memory bounds its buffers. */
static clstyle_status create_backend(job *j)
{
    const clstyle_options *o = j->o;
    cs_backend_params p;
    cs_backend_params_from_env(&p);
    if (o->device) p.device = o->device;
    if (o->max_memory_mb > 0) p.mem_limit = (size_t)(o->max_memory_mb * 1048576.0);
    j->explicit_limit = p.mem_limit != 0;
    j->conv = p.cl.conv && strcmp(p.cl.conv, "auto") ? p.cl.conv : NULL;
    CS_TRY(cs_backend_create(o->backend == CLSTYLE_BACKEND_REFERENCE ? "reference" : "opencl", &p, &j->be));
    j->band_device = j->be->mem ? j->be->mem->default_mode(j->be).band_bytes : 0;
    return CLSTYLE_OK;
}

/* The plan and the device state of the current scale. */
static clstyle_status setup(job *j)
{
    const clstyle_options *o = j->o;
    CS_TRY(plan_job(j, j->explicit_limit));
    CS_TRY(cs_stop_phase("computing the style and content targets"));
    cs_loss_image styles[CLSTYLE_MAX_STYLES];
    for (int k = 0; k < o->n_styles; k++) styles[k] = as_loss_image(&j->styles[k], 1);
    clstyle_status st = state_create(j->be, &j->weights, &j->eff, j->iterations, as_loss_image(&j->content, 1), styles, j->blend,
                                     &j->rs);
    if (st == CLSTYLE_ERR_NOMEM) return explain_oom(j);
    CS_TRY(st);
    return CS_OP(j->be, upload, j->rs.x, 0, j->init.p, (size_t)3 * j->content.w * j->content.h);
}

static const char *const line_search_names[] = { "none", "backtrack", "wolfe" };

/* One start event per scale, with that scale's size and iterations. */
static clstyle_status log_start(job *j)
{
    const clstyle_options *o = j->o;
    if (!j->log) return CLSTYLE_OK;
    fprintf(j->log,
            "{\"event\":\"start\",\"version\":\"%s\",\"backend\":\"%s\",\"device\":\"%s\",\"arch\":\"%s\","
            "\"width\":%d,\"height\":%d,\"styles\":%d,\"optimizer\":\"%s\",\"line_search\":\"%s\",\"iterations\":%d,"
            "\"scale\":%d,\"scales\":%d,\"style_width\":%d,\"style_height\":%d,"
            "\"content_weight\":%.9g,\"style_weight\":%.9g,\"tv_weight\":%.9g,\"peak_device_bytes\":%zu,"
            "\"weights\":%s%s%s,\"weights_sha256\":\"%s\","
            "\"pieces\":%d,\"tile\":%d,\"halo\":%d,\"lbfgs_history\":%d,\"lbfgs_history_wanted\":%d,"
            "\"budget_bytes\":%.0f,\"planned_device_bytes\":%zu,\"host_bytes\":%zu,\"conv_memory\":\"%s\"}\n",
            CLSTYLE_VERSION, j->be->name, j->be->device, j->weights.arch, j->content.w, j->content.h, o->n_styles,
            o->optimizer == CLSTYLE_ADAM ? "adam" : "lbfgs", line_search_names[o->line_search], j->iterations,
            j->scale + 1, j->n_scales, j->styles[0].w, j->styles[0].h, o->content_weight, o->style_weight, o->tv_weight,
            j->be->bytes_peak, j->weights_id.name ? "\"" : "", /* known names need no escaping */
            j->weights_id.name ? j->weights_id.name : "null", j->weights_id.name ? "\"" : "", j->weights_id.sha256,
            j->plan.pieces, j->plan.tile, j->rs.loss.halo, j->plan.history, j->plan.wanted,
            j->plan.budget == SIZE_MAX ? -1.0 : (double)j->plan.budget, j->plan.device_bytes, j->host_bytes,
            cs_lean_names[j->lean]);
    return cs_log_check(j->log, o->log_path);
}

/* x of the current scale into j->result, replacing the previous scale's. */
static clstyle_status download_result(job *j)
{
    cs_image_free(&j->result);
    CS_TRY(cs_image_alloc(j->content.w, j->content.h, &j->result));
    return CS_OP(j->be, download, j->rs.x, 0, j->result.p, (size_t)3 * j->content.w * j->content.h);
}

/* Applies --original-colors to j->result and writes path atomically. */
static clstyle_status save_image(job *j, const char *path)
{
    cs_image out;
    CS_TRY(cs_image_resize(&j->result, j->result.w, j->result.h, &out)); /* a copy: colours change only the file */
    if (j->o->original_colors) cs_image_transfer_colors(&out, &j->content);
    clstyle_status st = cs_image_save(path, &out, j->o->output_bits, j->o->jpeg_quality);
    cs_image_free(&out);
    return st;
}

/* OUTPUT_<iter>.png, or OUTPUT_s<scale>_<iter>.png in a pyramid. */
static clstyle_status save_snapshot(job *j, int iter)
{
    char path[4096], tag[32] = "";
    const char *out = j->o->output, *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    int stem = dot && (!slash || dot > slash) ? (int)(dot - out) : (int)strlen(out);
    if (j->n_scales > 1) snprintf(tag, sizeof tag, "_s%d", j->scale + 1);
    snprintf(path, sizeof path, "%.*s%s_%d%s", stem, out, tag, iter, out + stem);
    CS_TRY(download_result(j));
    return save_image(j, path);
}

/* One loss evaluation at x (gradient into g); *ms is its wall time. */
static clstyle_status evaluate(job *j, double *ms)
{
    double t0 = cs_now();
    CS_TRY(cs_loss_eval(&j->rs.loss, j->rs.x, j->rs.g));
    *ms = (cs_now() - t0) * 1e3;
    return CLSTYLE_OK;
}

/* Only points the run moves to must be finite: a line search rejects a trial that is not. */
static clstyle_status check_finite(job *j, int iter)
{
    if (isfinite(j->rs.loss.total)) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_NUMERIC, "loss became %g at iteration %d; try a lower --learning-rate or --style-weight",
                   j->rs.loss.total, iter);
}

/* The log line of an evaluation: `extra` marks trials ("rejected") and the
 * iteration that fell back to its start ("restored"); pyramids add the scale. */
static clstyle_status log_eval(job *j, int iter, const cs_loss *L, double ms, const char *extra)
{
    char where[96] = "";
    if (!j->log) return CLSTYLE_OK;
    if (j->n_scales > 1)
        snprintf(where, sizeof where, ",\"scale\":%d,\"width\":%d,\"height\":%d", j->scale + 1, j->content.w, j->content.h);
    fprintf(j->log, "{\"iter\":%d,\"loss\":%.9g,\"content\":%.9g,\"style\":%.9g,\"tv\":%.9g,\"ms\":%.3f%s%s}\n", iter,
            L->total, L->content, L->style, L->tv, ms, where, extra);
    return cs_log_check(j->log, j->o->log_path);
}

/* The log line and the progress update of the last evaluation. */
static clstyle_status record(job *j, int iter, double ms, cs_progress *pr)
{
    j->iter = iter;
    cs_progress_update(pr, iter, j->rs.loss.total);
    return log_eval(j, iter, &j->rs.loss, ms, "");
}

/* One optimizer iteration: trial evaluations until one is accepted, each
 * logged. *stuck when the optimizer has nothing left to try (converged). */
static clstyle_status iterate(job *j, int it, cs_progress *pr, int *stuck)
{
    cs_loss *L = &j->rs.loss;
    double start[4] = { L->total, L->content, L->style, L->tv }, ms = 0;
    int verdict = CS_STEP_RETRY;
    CS_TRY(cs_optim_begin(j->rs.opt, j->rs.x, j->rs.g, L->total));
    while (verdict == CS_STEP_RETRY) {
        CS_TRY(evaluate(j, &ms));
        CS_TRY(cs_optim_judge(j->rs.opt, j->rs.x, j->rs.g, L->total, &verdict));
        if (verdict != CS_STEP_ACCEPT) CS_TRY(log_eval(j, it, L, ms, ",\"trial\":true,\"rejected\":true"));
    }
    *stuck = verdict == CS_STEP_STUCK;
    if (verdict == CS_STEP_ACCEPT) {
        CS_TRY(check_finite(j, it));
        return record(j, it, ms, pr);
    }
    /* back at the start: the iteration's line repeats the start's loss */
    L->total = start[0], L->content = start[1], L->style = start[2], L->tv = start[3];
    j->iter = it;
    cs_progress_update(pr, it, L->total);
    return log_eval(j, it, L, 0, ",\"restored\":true");
}

/* Iterations 1..N; iteration 0 was evaluated (and recorded) before. */
static clstyle_status optimize(job *j, cs_progress *pr)
{
    const clstyle_options *o = j->o;
    clstyle_status st = CLSTYLE_OK;
    int stuck = 0, last = j->scale == j->n_scales - 1;
    for (int it = 1; it <= j->iterations && !stuck && !cs_stop_requested(); it++) {
        CS_CHECK(iterate(j, it, pr, &stuck));
        if (o->save_every > 0 && it % o->save_every == 0 && (it < j->iterations || !last)) CS_CHECK(save_snapshot(j, it));
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
    cs_image *images[] = { &j->content_src, &j->init_src, &j->content, &j->init, &j->result };
    for (size_t i = 0; i < sizeof images / sizeof *images; i++) cs_image_free(images[i]);
    for (int k = 0; k < CLSTYLE_MAX_STYLES; k++) {
        cs_image_free(&j->style_src[k]);
        cs_image_free(&j->styles[k]);
    }
    if (j->log) fclose(j->log);
}

/* Scale s of the pyramid, from its own iteration 0 to its result in j->result;
 * its device state is freed before the next scale allocates. */
static clstyle_status run_scale(job *j, int s)
{
    const clstyle_options *o = j->o;
    cs_progress pr;
    double ms;
    CS_TRY(prepare_scale(j, s));
    j->be->bytes_peak = j->be->bytes_in_use; /* each scale reports its own peak */
    CS_TRY(setup(j));
    if (o->log_path && !j->log) CS_TRY(cs_log_open(o->log_path, &j->log));
    CS_TRY(cs_stop_phase("evaluating the initial image"));
    /* Iteration 0 before the start event, so the peak it reports includes the
     * scratch buffers the first backward pass sizes; the loop adds none. */
    CS_TRY(evaluate(j, &ms));
    CS_TRY(check_finite(j, 0));
    cs_stop_set_iterating(1);
    if (s == 0 && (o->verbose || j->log)) CS_TRY(cs_weights_identify(j->weights_path, &j->weights_id));
    if (o->verbose)
        fprintf(stderr, "clstyle: %s on %s (%s), scale %d/%d: %dx%d, weights %s (%s; %s, sha256 %.16s...), %.1f MiB of device memory at peak\n",
                j->be->name, j->be->device, j->weights.arch, s + 1, j->n_scales, j->content.w, j->content.h, j->weights_path,
                j->weights.input, j->weights_id.name ? j->weights_id.name : "not a known file", j->weights_id.sha256,
                j->be->bytes_peak / 1048576.0);
    if (o->verbose && s == 0 && j->be->notes[0]) fprintf(stderr, "clstyle: %s", j->be->notes);
    CS_TRY(log_start(j));
    cs_progress_start(&pr, j->iterations, o->quiet);
    cs_progress_scale(&pr, s + 1, j->n_scales);
    CS_TRY(record(j, 0, ms, &pr));
    CS_TRY(optimize(j, &pr));
    CS_TRY(download_result(j));
    state_free(j->be, &j->rs);
    return CLSTYLE_OK;
}

/* After the first signal during the iterations: the picture so far is kept
 * (in a pyramid, at the size of the scale it was stopped in). */
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
    j.n_scales = o->n_sizes ? o->n_sizes : 1;
    cs_stop_begin(o->verbose);
    clstyle_status st;
    CS_CHECK(load_inputs(&j));
    CS_CHECK(create_backend(&j));
    for (int s = 0; s < j.n_scales && !cs_stop_requested(); s++) CS_CHECK(run_scale(&j, s));
    CS_CHECK(save_image(&j, o->output));
    if (cs_stop_requested()) CS_CHECK(finish_interrupted(&j));
    CS_CHECK(cs_log_close(&j.log, o->log_path));
done:
    job_free(&j);
    cs_stop_end();
    return st;
}
