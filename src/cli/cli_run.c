/* The command line's job, as a client of the session API: checks the paths,
 * reads the images, opens a session, styles the content and writes the
 * result, the --log lines, the snapshots and the progress on the way. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "job.h"
#include "env.h"
#include "error.h"
#include "image.h"
#include "preflight.h"
#include "progress.h"
#include "runlog.h"

/* The stop a signal asked for and the temporary file being written: the
 * program's own state (main.c's handler reads them), not the library's. */
volatile sig_atomic_t cs_cli_stop;
clstyle_session *volatile cs_cli_session;
char cs_cli_pending[4200];
volatile sig_atomic_t cs_cli_pending_set;

typedef struct {
    const cs_options *o;
    FILE *log;
    cs_progress pr;
    int progress_on;
    int iterations, iter;          /* of the current scale; the last iteration reported */
    const char *phase;
    char log_options[1024];        /* the job's options in the start events */
    clstyle_status failed;         /* a write of ours failed (log, snapshot): the job was stopped for it */
    char why[1024];
} cli;

/* A failure of ours inside a callback: kept, and the job asked to stop. */
static int fail(cli *c, clstyle_status st)
{
    if (st == CLSTYLE_OK) return 0;
    if (c->failed == CLSTYLE_OK) {
        c->failed = st;
        snprintf(c->why, sizeof c->why, "%s", clstyle_last_error());
    }
    return 1;
}

static clstyle_status phase(cli *c, const char *name)
{
    if (c->o->verbose && (!c->phase || strcmp(c->phase, name))) fprintf(stderr, "clstyle: %s\n", name);
    c->phase = name;
    if (!cs_cli_stop) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted while %s; nothing written", name);
}

static clstyle_status save(const char *path, const clstyle_image *im, const cs_options *o)
{
    clstyle_image_temp_path(path, cs_cli_pending, sizeof cs_cli_pending);
    cs_cli_pending_set = 1;
    clstyle_status st = clstyle_image_save(im, path, o->output_bits, o->jpeg_quality);
    cs_cli_pending_set = 0;
    return st;
}

/* OUTPUT_<iter>.png, or OUTPUT_s<scale>_<iter>.png in a pyramid; not for the final picture. */
static clstyle_status snapshot(cli *c, const clstyle_event *e)
{
    char path[4096], tag[32] = "";
    const char *out = c->o->output, *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (e->iteration == c->iterations && e->scale == e->scales) return CLSTYLE_OK;
    int stem = dot && (!slash || dot > slash) ? (int)(dot - out) : (int)strlen(out);
    if (e->scales > 1) snprintf(tag, sizeof tag, "_s%d", e->scale);
    snprintf(path, sizeof path, "%.*s%s_%d%s", stem, out, tag, e->iteration, out + stem);
    return save(path, e->picture, c->o);
}

static void verbose_start(const clstyle_scale_info *i)
{
    fprintf(stderr, "clstyle: %s on %s (%s), scale %d/%d: %dx%d, weights %s (%s; %s, sha256 %.16s...), %.1f MiB of device "
            "memory at peak\n", i->backend, i->device, i->arch, i->scale, i->scales, i->width, i->height, i->weights_path,
            i->input, i->weights_name ? i->weights_name : "not a known file", i->weights_sha256,
            i->peak_device_bytes / 1048576.0);
    if (i->scale == 1 && i->notes[0]) fprintf(stderr, "clstyle: %s", i->notes);
}

static int on_start(cli *c, const clstyle_event *e)
{
    const clstyle_scale_info *i = e->scale_info;
    if (c->progress_on) cs_progress_end(&c->pr);
    c->iterations = i->iterations;
    if (c->o->verbose) verbose_start(i);
    if (c->log && fail(c, cs_log_start(c->log, c->o->log_path, i, c->log_options))) return 1;
    cs_progress_start(&c->pr, i->iterations, c->o->quiet);
    cs_progress_scale(&c->pr, i->scale, i->scales);
    c->progress_on = 1;
    return (int)cs_cli_stop;
}

static int on_eval(cli *c, const clstyle_event *e)
{
    if (c->log && fail(c, cs_log_eval(c->log, c->o->log_path, e))) return 1;
    if (e->trial) return (int)cs_cli_stop;
    c->iter = e->iteration;
    cs_progress_update(&c->pr, e->iteration, e->loss);
    if (e->picture && fail(c, snapshot(c, e))) return 1;
    return (int)cs_cli_stop;
}

static int on_event(const clstyle_event *e, void *user)
{
    cli *c = user;
    switch (e->kind) {
    case CLSTYLE_EVENT_PHASE:
        phase(c, e->phase); /* the library says where it was stopped */
        return (int)cs_cli_stop;
    case CLSTYLE_EVENT_MESSAGE:
        if (!e->detail || c->o->verbose) fprintf(stderr, "clstyle: %s\n", e->message);
        return (int)cs_cli_stop;
    case CLSTYLE_EVENT_START: return on_start(c, e);
    case CLSTYLE_EVENT_EVAL: return on_eval(c, e);
    case CLSTYLE_EVENT_END:
        if (c->log && fail(c, cs_log_end(c->log, c->o->log_path, e))) return 1;
        return (int)cs_cli_stop;
    }
    return 0;
}

typedef struct {
    clstyle_image *content, *styles[CS_CLI_MAX_STYLES], *init, *result;
    clstyle_image *masks[CS_CLI_MAX_STYLES], *style_masks[CS_CLI_MAX_STYLES]; /* on the content; on the style images */
    clstyle_session *s;
    clstyle_styles *st;
} inputs;

static void inputs_free(inputs *in, int n_styles)
{
    clstyle_image_free(in->content);
    for (int k = 0; k < n_styles; k++) {
        clstyle_image_free(in->styles[k]);
        clstyle_image_free(in->masks[k]);
        clstyle_image_free(in->style_masks[k]);
    }
    clstyle_image_free(in->init);
    clstyle_image_free(in->result);
    clstyle_styles_free(in->st);
    cs_cli_session = NULL;
    clstyle_session_close(in->s);
}

static clstyle_status read_images(cli *c, inputs *in)
{
    const cs_options *o = c->o;
    CS_TRY(phase(c, "reading the content image"));
    CS_TRY(clstyle_image_load(o->content, o->max_input_megapixels, &in->content));
    for (int k = 0; k < o->n_styles; k++) {
        CS_TRY(phase(c, "reading the style images"));
        CS_TRY(clstyle_image_load(o->styles[k], o->max_input_megapixels, &in->styles[k]));
        if (k < o->n_style_masks) CS_TRY(clstyle_image_load(o->style_masks[k], o->max_input_megapixels, &in->masks[k]));
        if (k < o->n_style_image_masks && o->style_image_masks[k])
            CS_TRY(clstyle_image_load(o->style_image_masks[k], o->max_input_megapixels, &in->style_masks[k]));
    }
    CS_TRY(phase(c, "preparing the initial image"));
    if (cs_options_init_file(o))
        CS_TRY(clstyle_image_load(o->init, o->max_input_megapixels, &in->init));
    return CLSTYLE_OK;
}

static clstyle_status open_session(cli *c, inputs *in, const char *weights, char *cache_dir, size_t n)
{
    clstyle_session_options so;
    clstyle_styles_options yo;
    const char *const *own[CS_CLI_MAX_STYLES];
    cs_cli_session_options(c->o, weights, NULL, &so, cache_dir, n);
    so.callback = on_event;
    so.user = c;
    CS_TRY(clstyle_session_open(&so, &in->s));
    cs_cli_session = in->s;
    cs_cli_styles_options(c->o, -1, in->styles, in->style_masks, own, &yo);
    return clstyle_styles_create(in->s, &yo, &in->st);
}

static void job_options(const cs_options *o, const inputs *in, cli *c, clstyle_job_options *jo)
{
    cs_cli_job_options(o, in->init, jo);
    if (o->n_style_masks) {
        jo->style_masks = (const clstyle_image *const *)in->masks;
        jo->n_style_masks = o->n_style_masks;
    }
    jo->picture_every = o->save_every;
    jo->callback = on_event;
    jo->user = c;
}

/* The job's end: the result written (also when interrupted during the
 * iterations), the log closed; a failure of ours comes first. */
static clstyle_status finish(cli *c, clstyle_status st, const clstyle_image *result)
{
    const cs_options *o = c->o;
    if (c->progress_on) cs_progress_end(&c->pr);
    if (c->failed != CLSTYLE_OK) return cs_fail(c->failed, "%s", c->why);
    if (!result) return st;
    CS_TRY(save(o->output, result, o));
    if (st == CLSTYLE_ERR_INTERRUPTED) {
        CS_TRY(cs_log_interrupted(c->log, o->log_path, c->iter));
        CS_TRY(cs_log_close(&c->log, o->log_path));
        return cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted after iteration %d; %s holds the result so far", c->iter, o->output);
    }
    if (st != CLSTYLE_OK) return st;
    return cs_log_close(&c->log, o->log_path);
}

clstyle_status cs_cli_run(const cs_options *o)
{
    cli c = { .o = o };
    inputs in;
    char weights[4096], cache_dir[1024];
    clstyle_job_options jo;
    memset(&in, 0, sizeof in);
    clstyle_status st;
    CS_CHECK(cs_env_weights(o->weights, weights, sizeof weights));
    CS_CHECK(cs_preflight(o, weights));
    CS_CHECK(read_images(&c, &in));
    CS_CHECK(open_session(&c, &in, weights, cache_dir, sizeof cache_dir));
    if (o->log_path) CS_CHECK(cs_log_open(o->log_path, &c.log));
    job_options(o, &in, &c, &jo);
    cs_cli_log_options(o, c.log_options, sizeof c.log_options);
    st = clstyle_job_run(in.s, in.st, in.content, &jo, &in.result);
    st = finish(&c, st, in.result);
done:
    if (c.log) fclose(c.log);
    inputs_free(&in, o->n_styles);
    return st;
}
