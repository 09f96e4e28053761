/* A batch: many pictures, one session per device. The weights, the program
 * and the style targets are prepared once per worker; each picture is only
 * its optimization. Workers (one thread per --device item) take results
 * from one queue; a picture that fails is reported and the batch goes on. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_plan.h"
#include "summary.h"
#include "cli.h"
#include "job.h"
#include "clock.h"
#include "env.h"
#include "error.h"
#include "image.h"
#include "inputs.h"
#include "record.h"
#include "runlog.h"

enum { MAX_WORKERS = 16 };
/* For main.c's signal handler: every worker's session, to cancel its setup. */
clstyle_session *volatile cs_cli_workers[MAX_WORKERS];
const int cs_cli_max_workers = MAX_WORKERS;
extern volatile sig_atomic_t cs_cli_stop;

typedef struct {
    cs_batch_plan p;              /* options, weights, inputs, results: batch_plan.c */
    clstyle_image *styles[CS_CLI_MAX_STYLES], *init;
    clstyle_image *style_masks[CS_CLI_MAX_STYLES]; /* --style-image-mask: the parts of the style images to use */
    int next, finished;           /* the queue: the next job to take; jobs ended */
    pthread_mutex_t mu;           /* the queue, the log, the counters */
    FILE *log;
    char log_options[1024];
} batch;

typedef struct {
    batch *b;
    int id;
    clstyle_session *s;
    clstyle_styles *sets[CS_CLI_MAX_STYLES]; /* per style with --each-style, else [0] the blend */
    cs_batch_job *job;            /* the one in progress */
    double loss, targets_ms, seconds; /* of the job in progress */
    int iter;
    int lost;                     /* another worker finished the job first (a backup run) */
    clstyle_status log_failed;
    char log_why[512];
} worker;


/* ---- a worker's events ---- */

/* Whether another worker has the job's result (a backup run lost the race). */
static int claimed_by_other(worker *w)
{
    pthread_mutex_lock(&w->b->mu);
    int other = w->job->claimed && w->job->claimed != w->id + 1;
    pthread_mutex_unlock(&w->b->mu);
    return other;
}

/* Every result has its end or its writer: a worker still opening its session is not needed. */
static int queue_done(batch *b)
{
    int done = 1;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < b->p.r.n_jobs && done; i++) done = b->p.r.jobs[i].state != CS_JOB_TODO || b->p.r.jobs[i].claimed;
    pthread_mutex_unlock(&b->mu);
    return done;
}

/* The first of the job's runs to have a result writes it. */
static int claim(worker *w, cs_batch_job *j)
{
    pthread_mutex_lock(&w->b->mu);
    int mine = !j->claimed || j->claimed == w->id + 1;
    if (mine) j->claimed = w->id + 1;
    pthread_mutex_unlock(&w->b->mu);
    return mine;
}

static int on_event(const clstyle_event *e, void *user)
{
    worker *w = user;
    batch *b = w->b;
    const cs_options *o = b->p.o;
    const char *dev = b->p.r.workers[w->id].device;
    if (e->kind == CLSTYLE_EVENT_PHASE && o->verbose) fprintf(stderr, "clstyle: [%s] %s\n", dev, e->phase);
    if (e->kind == CLSTYLE_EVENT_MESSAGE && (!e->detail || o->verbose))
        fprintf(stderr, "clstyle: [%s]%s%s %s\n", dev, w->job ? " " : "", w->job ? w->job->name : "", e->message);
    if (e->kind == CLSTYLE_EVENT_START) {
        w->targets_ms += e->scale_info->targets_ms;
        if (!b->p.r.workers[w->id].named++) /* "pthread-... (Portable Computing Language, ...)": the part before " (" */
            snprintf(b->p.r.workers[w->id].device, sizeof b->p.r.workers[w->id].device, "%.*s",
                     (int)strcspn(e->scale_info->device, "(") - (strchr(e->scale_info->device, '(') ? 1 : 0), e->scale_info->device);
    }
    if (e->kind == CLSTYLE_EVENT_EVAL && !e->trial) {
        w->loss = e->loss;
        w->iter = e->iteration;
    }
    if (e->kind != CLSTYLE_EVENT_MESSAGE && (w->job ? claimed_by_other(w) : queue_done(b))) return 1;
    if (b->log && w->job && (e->kind == CLSTYLE_EVENT_START || e->kind == CLSTYLE_EVENT_EVAL)) {
        char extra[3300], name[2100];
        cs_json_escape(w->job->name, name, sizeof name);
        snprintf(extra, sizeof extra, "%s,\"picture\":\"%s\",\"worker\":%d", e->kind == CLSTYLE_EVENT_START ? b->log_options : "",
                 name, w->id);
        pthread_mutex_lock(&b->mu);
        clstyle_status st = e->kind == CLSTYLE_EVENT_START ? cs_log_start(b->log, o->log_path, e->scale_info, extra)
                                                           : cs_log_eval_tagged(b->log, o->log_path, e, extra);
        pthread_mutex_unlock(&b->mu);
        if (st != CLSTYLE_OK && w->log_failed == CLSTYLE_OK) {
            w->log_failed = st;
            snprintf(w->log_why, sizeof w->log_why, "%s", clstyle_last_error());
        }
        if (st != CLSTYLE_OK) return 1;
    }
    return (int)cs_cli_stop;
}

/* ---- a worker ---- */

static clstyle_status open_worker(worker *w, const char *spec)
{
    clstyle_session_options so;
    char cache_dir[1024];
    cs_cli_session_options(w->b->p.o, w->b->p.weights, spec[0] ? spec : NULL, &so, cache_dir, sizeof cache_dir);
    so.identify_weights = 0;
    so.callback = on_event;
    so.user = w;
    CS_TRY(clstyle_session_open(&so, &w->s));
    cs_cli_workers[w->id] = w->s;
    return CLSTYLE_OK;
}

static clstyle_status style_set(worker *w, int style, clstyle_styles **out)
{
    int at = style < 0 ? 0 : style;
    if (!w->sets[at]) {
        clstyle_styles_options yo;
        const char *const *own[CS_CLI_MAX_STYLES];
        cs_cli_styles_options(w->b->p.o, style, w->b->styles, w->b->style_masks, own, &yo);
        CS_TRY(clstyle_styles_create(w->s, &yo, &w->sets[at]));
    }
    *out = w->sets[at];
    return CLSTYLE_OK;
}

static void job_options(worker *w, clstyle_job_options *jo)
{
    cs_cli_job_options(w->b->p.o, w->b->init, jo);
    jo->callback = on_event;
    jo->user = w;
}

/* The result first, then its record: a kill in between leaves a result
 * without a record, which a rerun redoes. The old record goes first, so an
 * old record never vouches for a new picture. */
static clstyle_status write_result(worker *w, cs_batch_job *j, const clstyle_image *im, int complete)
{
    const cs_options *o = w->b->p.o;
    CS_TRY(cs_record_remove(j->output));
    CS_TRY(clstyle_image_save(im, j->output, o->output_bits, o->jpeg_quality));
    if (!complete) return CLSTYLE_OK;
    cs_record_info info = { j->content, j->style >= 0 ? o->styles[j->style] : NULL, w->b->p.r.workers[w->id].device,
                            w->seconds, w->loss };
    return cs_record_write(j->output, j->key, &info);
}

static clstyle_status style_one(worker *w, cs_batch_job *j)
{
    clstyle_image *content = NULL, *result = NULL;
    clstyle_styles *set = NULL;
    clstyle_job_options jo;
    double t0 = cs_now();
    w->loss = 0;
    w->targets_ms = 0;
    w->lost = 0;
    w->log_failed = CLSTYLE_OK;
    clstyle_status st = style_set(w, j->style, &set);
    if (st == CLSTYLE_OK) st = clstyle_image_load(j->content, w->b->p.o->max_input_megapixels, &content);
    job_options(w, &jo);
    if (st == CLSTYLE_OK) st = clstyle_job_run(w->s, set, content, &jo, &result);
    if (w->log_failed != CLSTYLE_OK) st = cs_fail(w->log_failed, "%s", w->log_why);
    w->seconds = cs_now() - t0 - w->targets_ms / 1e3;
    w->b->p.r.workers[w->id].setup_s += w->targets_ms / 1e3;
    if (result && (st == CLSTYLE_OK || st == CLSTYLE_ERR_INTERRUPTED) && !(w->lost = !claim(w, j))) {
        clstyle_status ws = write_result(w, j, result, st == CLSTYLE_OK);
        if (ws != CLSTYLE_OK) st = ws;
    }
    clstyle_image_free(content);
    clstyle_image_free(result);
    return st;
}

static void log_result(batch *b, const cs_batch_job *j, int done)
{
    const cs_options *o = b->p.o;
    if (!o->quiet) {
        if (j->state == CS_JOB_FAILED) fprintf(stderr, "clstyle: [%d/%d] failed: %s%s%s\n", done, b->p.r.n_jobs,
                                               strstr(j->error, j->content) ? "" : j->content, strstr(j->error, j->content) ? "" : ": ", j->error);
        else if (j->state == CS_JOB_DONE)
            fprintf(stderr, "clstyle: [%d/%d] %s -> %s: %.1f s, loss %.6g (%s)\n", done, b->p.r.n_jobs, j->content, j->output,
                    j->seconds, j->loss, b->p.r.workers[j->worker].device);
    }
    if (!b->log) return;
    fprintf(b->log, "{\"event\":\"picture\",\"status\":\"%s\"", j->state == CS_JOB_DONE ? "done" : j->state == CS_JOB_FAILED ? "failed" : "interrupted");
    cs_json_field(b->log, "picture", j->name);
    cs_json_field(b->log, "input", j->content);
    cs_json_field(b->log, "output", j->output);
    cs_json_field(b->log, "device", b->p.r.workers[j->worker].device);
    fprintf(b->log, ",\"seconds\":%.3f,\"loss\":%.9g", j->seconds, j->loss);
    if (j->state == CS_JOB_FAILED) cs_json_field(b->log, "error", j->error);
    fprintf(b->log, "}\n");
    cs_log_check(b->log, o->log_path);
}

/* When the queue is empty, an idle worker runs a picture that another is
 * still on, once (a backup run, as MapReduce does for stragglers): a device
 * 100x slower than another (rusticl's CPU device beside PoCL, or a CPU
 * beside a GPU with --device all) would otherwise hold the batch's end for
 * its one picture. The first run to finish writes; the other is stopped. */
static cs_batch_job *backup(batch *b, int me)
{
    for (int i = 0; i < b->next; i++) {
        cs_batch_job *j = &b->p.r.jobs[i];
        if (j->state == CS_JOB_TODO && j->runners == 1 && !j->claimed && !(j->ran_by & (1u << me))) return j;
    }
    return NULL;
}

static cs_batch_job *take(batch *b, int me)
{
    cs_batch_job *j = NULL;
    pthread_mutex_lock(&b->mu);
    while (!cs_cli_stop && b->next < b->p.r.n_jobs && !j)
        if (b->p.r.jobs[b->next++].state == CS_JOB_TODO) j = &b->p.r.jobs[b->next - 1];
    if (!j && !cs_cli_stop && b->p.r.n_workers > 1) j = backup(b, me);
    if (j) {
        j->runners++;
        j->ran_by |= 1u << me;
    }
    pthread_mutex_unlock(&b->mu);
    return j;
}

/* The end of one run of j, under the lock: a run that lost the race or
 * failed while another run goes on leaves the job to that one. */
static void finish_run(worker *w, cs_batch_job *j, clstyle_status st)
{
    batch *b = w->b;
    cs_batch_worker *me = &b->p.r.workers[w->id];
    j->runners--;
    me->busy_s += w->seconds;
    if (w->lost || j->state != CS_JOB_TODO) return;
    if (st != CLSTYLE_OK && !cs_cli_stop && j->runners > 0 && j->claimed != w->id + 1) return;
    j->worker = w->id;
    j->seconds = w->seconds;
    j->loss = w->loss;
    j->state = st == CLSTYLE_OK ? CS_JOB_DONE : st == CLSTYLE_ERR_INTERRUPTED || cs_cli_stop ? CS_JOB_INTERRUPTED : CS_JOB_FAILED;
    if (j->state == CS_JOB_FAILED) snprintf(j->error, sizeof j->error, "%s", clstyle_last_error());
    me->pictures += j->state == CS_JOB_DONE;
    me->failed += j->state == CS_JOB_FAILED;
    log_result(b, j, ++b->finished);
}

static void *work(void *arg)
{
    worker *w = arg;
    batch *b = w->b;
    cs_batch_worker *me = &b->p.r.workers[w->id];
    double t0 = cs_now();
    snprintf(me->device, sizeof me->device, "%s", me->spec[0] ? me->spec
             : b->p.o->backend == CLSTYLE_BACKEND_REFERENCE ? "reference" : "the default device");
    if ((me->open_status = open_worker(w, me->spec)) != CLSTYLE_OK) {
        snprintf(me->error, sizeof me->error, "%s", me->open_status == CLSTYLE_ERR_INTERRUPTED && !cs_cli_stop
                 ? "not needed: the others had done every picture" : clstyle_last_error());
        me->setup_s = cs_now() - t0;
        return NULL;
    }
    me->opened = 1;
    me->setup_s = cs_now() - t0;
    for (cs_batch_job *j; (j = take(b, w->id));) {
        w->job = j;
        clstyle_status st = style_one(w, j);
        pthread_mutex_lock(&b->mu);
        finish_run(w, j, st);
        pthread_mutex_unlock(&b->mu);
        w->job = NULL;
    }
    return NULL;
}

/* ---- the batch ---- */

static clstyle_status device_specs(batch *b)
{
    const cs_options *o = b->p.o;
    static cs_batch_worker workers[MAX_WORKERS];
    int n = 0;
    b->p.r.workers = workers;
    if (o->backend == CLSTYLE_BACKEND_REFERENCE || !cs_devices_many(o->device)) {
        snprintf(workers[0].spec, sizeof workers[0].spec, "%s", o->device && o->backend != CLSTYLE_BACKEND_REFERENCE ? o->device : "");
        b->p.r.n_workers = 1;
        return CLSTYLE_OK;
    }
    if (!strcmp(o->device, "all")) {
        int count;
        CS_TRY(clstyle_device_count(&count));
        for (; n < count && n < MAX_WORKERS; n++) snprintf(workers[n].spec, sizeof workers[n].spec, "%d", n);
    } else
        for (const char *p = o->device; *p && n < MAX_WORKERS; n++) {
            size_t len = strcspn(p, ",");
            if (!len) return cs_fail(CLSTYLE_ERR_USAGE, "--device: expected a comma-separated list without empty items, got '%s'", o->device);
            snprintf(workers[n].spec, sizeof workers[n].spec, "%.*s", (int)len, p);
            p += len + (p[len] == ',');
        }
    b->p.r.n_workers = n;
    return CLSTYLE_OK;
}


static clstyle_status read_styles(batch *b)
{
    const cs_options *o = b->p.o;
    for (int k = 0; k < o->n_styles; k++) {
        CS_TRY(clstyle_image_load(o->styles[k], o->max_input_megapixels, &b->styles[k]));
        if (k < o->n_style_image_masks && o->style_image_masks[k])
            CS_TRY(clstyle_image_load(o->style_image_masks[k], o->max_input_megapixels, &b->style_masks[k]));
    }
    if (cs_options_init_file(o))
        CS_TRY(clstyle_image_load(o->init, o->max_input_megapixels, &b->init));
    return CLSTYLE_OK;
}

static void run_workers(batch *b)
{
    pthread_t th[MAX_WORKERS];
    static worker ws[MAX_WORKERS];
    int started[MAX_WORKERS] = { 0 };
    for (int i = 0; i < b->p.r.n_workers; i++) {
        ws[i] = (worker){ .b = b, .id = i };
        started[i] = pthread_create(&th[i], NULL, work, &ws[i]) == 0;
        if (!started[i]) snprintf(b->p.r.workers[i].error, sizeof b->p.r.workers[i].error, "cannot start a thread");
    }
    for (int i = 0; i < b->p.r.n_workers; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        cs_cli_workers[i] = NULL;
        for (int k = 0; k < CS_CLI_MAX_STYLES; k++) clstyle_styles_free(ws[i].sets[k]);
        clstyle_session_close(ws[i].s);
    }
}

static void begin_log(batch *b)
{
    const cs_options *o = b->p.o;
    int skipped = 0;
    for (int i = 0; i < b->p.r.n_jobs; i++) skipped += b->p.r.jobs[i].state == CS_JOB_SKIPPED;
    fprintf(b->log, "{\"event\":\"batch\",\"version\":\"%s\",\"results\":%d,\"all_results\":%d,\"shard\":\"%d/%d\","
            "\"skipped\":%d,\"workers\":%d}\n", CLSTYLE_VERSION, b->p.r.n_jobs, b->p.r.n_all, b->p.r.shard.n ? b->p.r.shard.k : 1,
            b->p.r.shard.n ? b->p.r.shard.n : 1, skipped, b->p.r.n_workers);
    cs_cli_log_options(o, b->log_options, sizeof b->log_options);
}

/* Whole batch: OK when something was done or nothing was to do (*failed
 * counts the failures); the first failure when nothing could be done. */
static clstyle_status outcome(batch *b, int *failed)
{
    int done = 0, todo = 0;
    const cs_batch_job *first = NULL;
    *failed = 0;
    for (int i = 0; i < b->p.r.n_jobs; i++) {
        const cs_batch_job *j = &b->p.r.jobs[i];
        done += j->state == CS_JOB_DONE || j->state == CS_JOB_SKIPPED;
        todo += j->state != CS_JOB_DONE && j->state != CS_JOB_SKIPPED;
        if (j->state == CS_JOB_FAILED && !first) first = j;
        *failed += j->state == CS_JOB_FAILED;
    }
    if (cs_cli_stop) return cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted: %d of %d results done, %d left; run again to resume",
                                    done, b->p.r.n_jobs, todo);
    int opened = 0;
    for (int w = 0; w < b->p.r.n_workers; w++) opened |= b->p.r.workers[w].opened;
    if (!opened && todo) return cs_fail(b->p.r.workers[0].open_status, "%s", b->p.r.workers[0].error);
    if (done == 0 && first)
        return cs_fail(CLSTYLE_ERR_IO, "all %d pictures failed; the first: %s: %s", *failed, first->content, first->error);
    return CLSTYLE_OK;
}

static void batch_free(batch *b)
{
    for (int k = 0; k < CS_CLI_MAX_STYLES; k++) {
        clstyle_image_free(b->styles[k]);
        clstyle_image_free(b->style_masks[k]);
    }
    clstyle_image_free(b->init);
    free(b->p.r.jobs);
    cs_inputs_free(&b->p.inputs);
    if (b->log) fclose(b->log);
    pthread_mutex_destroy(&b->mu);
}

clstyle_status cs_batch_run(const cs_options *o, int *failed)
{
    char weights[4096];
    batch b = { .p = { .o = o, .weights = weights } };
    double t0 = cs_now();
    clstyle_status st;
    *failed = 0;
    pthread_mutex_init(&b.mu, NULL);
    b.p.r.styles = o->styles;
    CS_CHECK(cs_env_weights(o->weights, weights, sizeof weights));
    CS_CHECK(device_specs(&b));
    CS_CHECK(cs_batch_plan_make(&b.p));
    CS_CHECK(read_styles(&b));
    if (o->log_path) {
        CS_CHECK(cs_log_open(o->log_path, &b.log));
        begin_log(&b);
    }
    run_workers(&b);
    b.p.r.wall_s = cs_now() - t0;
    b.p.r.interrupted = cs_cli_stop != 0;
    cs_summary_text(stderr, &b.p.r, o->quiet);
    if (b.log) {
        cs_summary_json(b.log, &b.p.r);
        CS_CHECK(cs_log_close(&b.log, o->log_path));
    }
    if (o->summary_path) CS_CHECK(cs_summary_write(o->summary_path, &b.p.r));
    st = outcome(&b, failed);
done:
    batch_free(&b);
    return st;
}
