/* A clip styled frame by frame (docs/video.md; Ruder, Dosovitskiy & Brox
 * 2016): one session and one style set for all frames; the first frame as
 * a still (pyramid and all); each next one starts from the previous result
 * warped along the optical flow and is held to it by the temporal term
 * wherever the flow is reliable. Every frame is written atomically as it is
 * done, so a stopped run keeps its frames and a rerun goes on from them;
 * a video output is encoded from them at the end (and at a stop). */
#define _POSIX_C_SOURCE 200809L
#include "clip.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_plan.h"
#include "clip_io.h"
#include "clock.h"
#include "env.h"
#include "error.h"
#include "file.h"
#include "flow.h"
#include "job.h"
#include "progress.h"
#include "record.h"
#include "runlog.h"
#include "sha256.h"

extern volatile sig_atomic_t cs_cli_stop;
extern clstyle_session *volatile cs_cli_session;

enum { RING = 5 }; /* frames kept back: the longest --temporal-frames reach is 4 */

/* A new shot: where the content frames differ by more than this after the
 * warp (reliability-weighted mean absolute difference, RGB in [0,1]), the
 * flow joins two pictures that have nothing to do with each other, and
 * holding the result to the previous one would paint the old shot over the
 * new. Measured: 0.004-0.006 between frames of a shot (vtest.avi,
 * Megamind.avi), 0.128 across Megamind.avi's cut from black. A frame of
 * which less than a tenth is reliable starts a new shot too. */
#define SCENE_CUT 0.05

typedef struct {
    const cs_options *o;
    cs_clip_in in;
    cs_clip_out out;
    clstyle_session *s;
    clstyle_styles *st;
    clstyle_image *styles[CS_CLI_MAX_STYLES];
    FILE *log;
    cs_progress pr;
    const char *weights;         /* the weights file */
    int sizes[8];                /* --size's list, its last the frames' even size */
    int w, h;                    /* the frames' size: the content fitted to --size, even */
    int frame, done;             /* the frame being styled (1-based); frames found done on disk */
    cs_image content[RING], result[RING]; /* frame k at k % RING */
    double flow_ms, style_ms, temporal_sum, motion_sum;
    int measured, styled, cuts;
    char key[65];
} clip;

/* ---- resume: a record of the run's key in the frames' folder ---- */

static void record_path(const clip *c, char *p, size_t n) { snprintf(p, n, "%s/.clstyle-clip.json", c->out.dir); }

/* The options that change a frame, the weights, the styles and the source, hashed. */
static clstyle_status make_key(clip *c, const char *weights)
{
    size_t cap = 65536, len;
    char *text = malloc(cap);
    if (!text) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    cs_options_result_key(c->o, text, cap);
    len = strlen(text);
    snprintf(text + len, cap - len, "\nclip frames %d:%d fps %g size %dx%d weights %s", c->in.first, c->in.last, c->o->fps, c->w,
             c->h, strrchr(weights, '/') ? strrchr(weights, '/') + 1 : weights);
    cs_record_key_file(text, cap, weights);
    for (int k = 0; k < c->o->n_styles; k++) cs_record_key_file(text, cap, c->o->styles[k]);
    if (c->in.video) cs_record_key_file(text, cap, c->in.name);
    for (int i = 0; i < c->in.n_paths && strlen(text) + 300 < cap; i++) cs_record_key_file(text, cap, c->in.paths[i]);
    cs_record_key_hash(text, c->key);
    free(text);
    return CLSTYLE_OK;
}

static int frame_exists(const clip *c, int k)
{
    char p[4300];
    struct stat sb;
    cs_clip_out_frame(&c->out, k, p, sizeof p);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

static int record_matches(const clip *c)
{
    char p[4200], buf[512] = "";
    record_path(c, p, sizeof p);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, c->key) != NULL;
}

/* Frames of another run (or none recorded) in the way: ours to clear in a
 * video's work folder, the user's to clear (--overwrite) in theirs. */
static clstyle_status clear_frames(clip *c)
{
    int any = 0;
    for (int k = 1; frame_exists(c, k); k++) any = 1;
    if (any && !c->out.video && !c->o->overwrite)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s holds frames of another run (other options or inputs); use --overwrite to replace "
                       "them, or another -o", c->o->output);
    for (int k = 1; any && frame_exists(c, k); k++) {
        char p[4300];
        cs_clip_out_frame(&c->out, k, p, sizeof p);
        if (unlink(p) != 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot remove %s: %s", c->o->output, p, strerror(errno));
    }
    char p[4200];
    record_path(c, p, sizeof p);
    cs_atomic a;
    CS_TRY(cs_atomic_open(&a, p));
    fprintf(a.fp, "{\"clstyle_clip\":1,\"version\":\"%s\",\"key\":\"%s\"}\n", CLSTYLE_VERSION, c->key);
    return cs_atomic_commit(&a, 1);
}

/* How many frames (1..done) an earlier run of the same job left. */
static clstyle_status find_done(clip *c)
{
    c->done = 0;
    if (!record_matches(c)) return clear_frames(c);
    while (frame_exists(c, c->done + 1)) c->done++;
    if (c->done && !c->o->quiet) fprintf(stderr, "clstyle: %d frames done before; going on from frame %d\n", c->done, c->done + 1);
    return CLSTYLE_OK;
}

/* ---- the frames ---- */

/* A content frame at the clip's size: the first sets it (--size, even sides for 4:2:0 video). */
static clstyle_status fit_frame(clip *c, cs_image *raw, cs_image *out)
{
    if (!c->w) {
        int longer = c->o->n_sizes ? c->o->sizes[c->o->n_sizes - 1] : c->o->size;
        cs_image_fit(raw->w, raw->h, longer, &c->w, &c->h);
        c->w &= ~1;
        c->h &= ~1;
        if (c->w < 16 || c->h < 16) return cs_fail(CLSTYLE_ERR_USAGE, "%s: frames of %dx%d are too small to style", c->in.name, raw->w, raw->h);
    }
    return cs_image_resize(raw, c->w, c->h, out);
}

static cs_image *slot(cs_image *ring, int k) { return &ring[k % RING]; }

static clstyle_status load_result(clip *c, int k)
{
    char p[4300];
    cs_clip_out_frame(&c->out, k, p, sizeof p);
    cs_image im = { 0 };
    CS_TRY(cs_image_load(p, 0, &im));
    cs_image_free(slot(c->result, k));
    clstyle_status st = cs_image_resize(&im, c->w, c->h, slot(c->result, k));
    cs_image_free(&im);
    return st;
}

/* ---- the temporal term: earlier frames warped to this one ---- */

typedef struct {
    int n;
    int reach[4];                /* k - j of each earlier frame */
    cs_image warped[4], reliable[4];
    cs_flow back1;               /* frame k -> k-1, for the flicker measure */
    float *mask1;
    int i1;                      /* warped[i1] is the previous result warped here */
    double motion;               /* the content frames' error after the warp */
    int cut;                     /* frame k starts a new shot: no temporal term */
} temporal;

static void temporal_free(temporal *t)
{
    for (int i = 0; i < 4; i++) {
        cs_image_free(&t->warped[i]);
        cs_image_free(&t->reliable[i]);
    }
    cs_flow_free(&t->back1);
    free(t->mask1);
    memset(t, 0, sizeof *t);
}

/* Earlier frame k-j warped to frame k, and the reliability of that warp. */
static clstyle_status warp_from(clip *c, int k, int j, temporal *t)
{
    cs_flow back = { 0 }, fwd = { 0 };
    int quality = c->o->flow_quality;
    clstyle_status st = cs_flow_compute(slot(c->content, k), slot(c->content, k - j), quality, &back);
    if (st == CLSTYLE_OK) st = cs_flow_compute(slot(c->content, k - j), slot(c->content, k), quality, &fwd);
    if (st == CLSTYLE_OK) st = cs_image_alloc(c->w, c->h, &t->reliable[t->n]);
    if (st == CLSTYLE_OK) {
        cs_flow_reliability(&back, &fwd, t->reliable[t->n].p);
        st = cs_flow_warp(slot(c->result, k - j), &back, &t->warped[t->n]);
    }
    if (st == CLSTYLE_OK && j == 1) {
        t->i1 = t->n;
        t->back1 = back, back = (cs_flow){ 0 };
        if (!(t->mask1 = malloc((size_t)c->w * c->h * sizeof *t->mask1))) st = cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        else memcpy(t->mask1, t->reliable[t->n].p, (size_t)c->w * c->h * sizeof *t->mask1);
    }
    cs_flow_free(&back);
    cs_flow_free(&fwd);
    if (st == CLSTYLE_OK) t->reach[t->n++] = j;
    return st;
}

/* Ruder et al.'s long-term rule: a pixel counts for an earlier frame only
 * where no nearer frame already holds it (c_j - sum of nearer c, at least 0);
 * grey images for the API (the reliability in all three planes). */
static void long_term_masks(temporal *t, size_t hw)
{
    for (size_t p = 0; p < hw; p++) {
        float nearer = 0;
        for (int i = 0; i < t->n; i++) {
            float *m = t->reliable[i].p, v = m[p] - nearer;
            nearer += m[p];
            m[p] = m[hw + p] = m[2 * hw + p] = v > 0 ? v : 0;
        }
    }
}

static clstyle_status make_temporal(clip *c, int k, temporal *t)
{
    double t0 = cs_now();
    memset(t, 0, sizeof *t);
    for (int i = 0; i < c->o->n_temporal_frames; i++) {
        int j = c->o->temporal_frames[i];
        if (k - j >= 1) CS_TRY(warp_from(c, k, j, t));
    }
    long_term_masks(t, (size_t)c->w * c->h);
    c->flow_ms += (cs_now() - t0) * 1e3;
    if (t->mask1) {
        cs_image wc = { 0 };
        CS_TRY(cs_flow_warp(slot(c->content, k - 1), &t->back1, &wc));
        double reliable = 0;
        size_t hw = (size_t)c->w * c->h;
        t->motion = cs_flicker(slot(c->content, k), &wc, t->mask1);
        for (size_t p = 0; p < hw; p++) reliable += t->mask1[p];
        cs_image_free(&wc);
        if (t->motion > SCENE_CUT || reliable < 0.1 * (double)hw) { /* or hardly anything follows from the previous frame */
            temporal_free(t);
            t->cut = 1;
            c->cuts++;
        }
    }
    return CLSTYLE_OK;
}

/* ---- events ---- */

static int on_event(const clstyle_event *e, void *user)
{
    clip *c = user;
    char tag[48];
    snprintf(tag, sizeof tag, ",\"frame\":%d", c->frame);
    switch (e->kind) {
    case CLSTYLE_EVENT_MESSAGE:
        if (!e->detail || c->o->verbose) fprintf(stderr, "clstyle: %s\n", e->message);
        break;
    case CLSTYLE_EVENT_START:
        cs_progress_start(&c->pr, e->scale_info->iterations, c->o->quiet);
        cs_progress_scale(&c->pr, e->scale, e->scales);
        if (c->log && cs_log_start(c->log, c->o->log_path, e->scale_info, tag) != CLSTYLE_OK) return 1;
        break;
    case CLSTYLE_EVENT_EVAL:
        if (c->log && cs_log_eval_tagged(c->log, c->o->log_path, e, tag) != CLSTYLE_OK) return 1;
        if (!e->trial) cs_progress_update(&c->pr, e->iteration, e->loss);
        break;
    case CLSTYLE_EVENT_END:
        cs_progress_end(&c->pr);
        if (c->log && cs_log_end(c->log, c->o->log_path, e) != CLSTYLE_OK) return 1;
        break;
    default: break;
    }
    return (int)cs_cli_stop;
}

/* ---- one frame ---- */

/* The job of frame k: the first as a still, the next from the warped previous result. */
static void frame_job(clip *c, int k, temporal *t, clstyle_job_options *jo, const clstyle_image **wp, const clstyle_image **rp)
{
    cs_cli_job_options(c->o, NULL, jo);
    jo->size = c->w > c->h ? c->w : c->h;
    if (jo->n_sizes) { /* the last scale is the frame's even size */
        memcpy(c->sizes, c->o->sizes, (size_t)c->o->n_sizes * sizeof *c->sizes);
        c->sizes[c->o->n_sizes - 1] = jo->size;
        jo->sizes = c->sizes;
    }
    jo->callback = on_event;
    jo->user = c;
    if (k == 1 || t->cut) return; /* a first frame, or the first of a new shot */
    jo->n_sizes = 0;
    jo->iterations = NULL;
    jo->iteration_count = c->o->frame_iterations;
    for (int i = 0; i < t->n; i++) wp[i] = &t->warped[i], rp[i] = &t->reliable[i];
    jo->temporal_warped = wp;
    jo->temporal_reliable = rp;
    jo->n_temporal = t->n;
    jo->temporal_weight = c->o->temporal_weight;
    if (c->o->video_init == 0 && t->n && t->reach[0] == 1) jo->init = CLSTYLE_INIT_IMAGE, jo->init_image = &t->warped[0];
    if (c->o->video_init == 2) jo->init = CLSTYLE_INIT_IMAGE, jo->init_image = slot(c->result, k - 1);
}

/* The flicker measure of frame k: the result against the previous result
 * warped here, and the same for the content frames (what motion alone leaves). */
static void measure(clip *c, int k, const temporal *t, double *te, double *me)
{
    *te = *me = -1;
    if (!t->mask1) return;
    *te = cs_flicker(slot(c->result, k), &t->warped[t->i1], t->mask1);
    *me = t->motion;
    c->temporal_sum += *te;
    c->motion_sum += *me;
    c->measured++;
}

static clstyle_status log_frame(clip *c, int k, double ms, double te, double me, int cut, int interrupted)
{
    if (!c->o->quiet)
        fprintf(stderr, "clstyle: frame %d%s%s: %.1f s%s", k, cut ? " (a new shot: styled as a first frame)" : "",
                interrupted ? " (interrupted)" : "", ms / 1e3, te >= 0 ? "" : "\n");
    if (!c->o->quiet && te >= 0) fprintf(stderr, ", temporal error %.4f (content frames %.4f)\n", te, me);
    if (!c->log) return CLSTYLE_OK;
    fprintf(c->log, "{\"event\":\"frame\",\"frame\":%d,\"ms\":%.1f", k, ms);
    if (te >= 0) fprintf(c->log, ",\"temporal_error\":%.6g,\"content_error\":%.6g", te, me);
    fprintf(c->log, "%s%s}\n", cut ? ",\"cut\":true" : "", interrupted ? ",\"interrupted\":true" : "");
    return cs_log_check(c->log, c->o->log_path);
}

static clstyle_status style_frame(clip *c, int k)
{
    temporal t;
    clstyle_job_options jo;
    const clstyle_image *wp[4], *rp[4];
    clstyle_image *result = NULL;
    double t0 = cs_now(), te, me;
    c->frame = k;
    clstyle_status st = k > 1 ? make_temporal(c, k, &t) : (memset(&t, 0, sizeof t), CLSTYLE_OK);
    if (st == CLSTYLE_OK) {
        frame_job(c, k, &t, &jo, wp, rp);
        st = clstyle_job_run(c->s, c->st, slot(c->content, k), &jo, &result);
    }
    if (result) {
        char p[4300];
        cs_clip_out_frame(&c->out, k, p, sizeof p);
        clstyle_status w = cs_image_save(p, result, c->out.video ? 8 : c->o->output_bits, c->o->jpeg_quality);
        cs_image_free(slot(c->result, k));
        *slot(c->result, k) = *result;
        free(result);
        if (w != CLSTYLE_OK) st = w;
        else {
            measure(c, k, &t, &te, &me);
            c->styled++;
            c->style_ms += (cs_now() - t0) * 1e3;
            clstyle_status l = log_frame(c, k, (cs_now() - t0) * 1e3, te, me, t.cut, st == CLSTYLE_ERR_INTERRUPTED);
            if (st == CLSTYLE_OK) st = l;
        }
    }
    temporal_free(&t);
    return st;
}

/* ---- the whole clip ---- */

static clstyle_status open_session(clip *c, const char *weights)
{
    const cs_options *o = c->o;
    clstyle_session_options so;
    clstyle_styles_options yo;
    const char *const *own[CS_CLI_MAX_STYLES];
    char cache_dir[1024];
    for (int k = 0; k < o->n_styles; k++) CS_TRY(clstyle_image_load(o->styles[k], o->max_input_megapixels, &c->styles[k]));
    cs_cli_session_options(o, weights, NULL, &so, cache_dir, sizeof cache_dir);
    so.callback = on_event;
    so.user = c;
    CS_TRY(clstyle_session_open(&so, &c->s));
    cs_cli_session = c->s;
    cs_cli_styles_options(o, -1, c->styles, NULL, own, &yo);
    return clstyle_styles_create(c->s, &yo, &c->st);
}

/* Frames 1..n of the work folder into the video, with the source's audio for their time. */
static clstyle_status encode(clip *c, int n)
{
    int num, den;
    cs_clip_in_rate(&c->in, &num, &den);
    double start = cs_clip_in_start_s(&c->in);
    cs_video_out vo = { c->w, c->h, num, den, c->in.info.rotation, c->o->crf, c->in.video ? c->in.name : NULL, start,
                        start + (double)n * den / num };
    cs_video_writer *w;
    CS_TRY(cs_video_create(c->o->output, &vo, &w));
    clstyle_status st = CLSTYLE_OK;
    for (int k = 1; k <= n && st == CLSTYLE_OK; k++) {
        char p[4300];
        cs_image im = { 0 };
        cs_clip_out_frame(&c->out, k, p, sizeof p);
        st = cs_image_load(p, 0, &im);
        if (st == CLSTYLE_OK) st = cs_video_write(w, &im);
        cs_image_free(&im);
    }
    if (st != CLSTYLE_OK) {
        cs_video_abort(w);
        return st;
    }
    return cs_video_finish(w);
}

/* A finished video's work folder goes; the frames were only the way there. */
static void remove_work(clip *c, int n)
{
    char p[4300];
    for (int k = 1; k <= n; k++) {
        cs_clip_out_frame(&c->out, k, p, sizeof p);
        unlink(p);
    }
    record_path(c, p, sizeof p);
    unlink(p);
    rmdir(c->out.dir);
}

static void summary(clip *c, double seconds)
{
    if (c->o->quiet || !c->styled) return;
    fprintf(stderr, "clstyle: %d frames styled in %.1f s (%.2f frames per minute; optical flow %.0f ms a frame)", c->styled, seconds,
            c->styled * 60.0 / seconds, c->flow_ms / (c->styled > 1 ? c->styled - 1 : 1));
    if (c->measured)
        fprintf(stderr, "; temporal error %.4f on average (content frames %.4f)", c->temporal_sum / c->measured,
                c->motion_sum / c->measured);
    if (c->cuts) fprintf(stderr, "; %d new shot%s", c->cuts, c->cuts > 1 ? "s" : "");
    fputc('\n', stderr);
}

static clstyle_status log_summary(clip *c, double seconds)
{
    if (!c->log) return CLSTYLE_OK;
    fprintf(c->log, "{\"event\":\"clip\",\"frames\":%d,\"seconds\":%.2f,\"flow_ms\":%.1f,\"cuts\":%d", c->styled, seconds,
            c->flow_ms, c->cuts);
    if (c->measured)
        fprintf(c->log, ",\"temporal_error\":%.6g,\"content_error\":%.6g", c->temporal_sum / c->measured, c->motion_sum / c->measured);
    fputs("}\n", c->log);
    return cs_log_check(c->log, c->o->log_path);
}

/* Reads frame after frame: those done before only fill the ring, the rest are styled. */
static clstyle_status frames(clip *c, int *n)
{
    clstyle_status st = CLSTYLE_OK;
    for (int k = 1; st == CLSTYLE_OK && !cs_cli_stop; k++) {
        cs_image raw = { 0 };
        int got;
        CS_TRY(cs_clip_in_next(&c->in, &raw, &got));
        if (!got) break;
        cs_image_free(slot(c->content, k));
        st = fit_frame(c, &raw, slot(c->content, k));
        cs_image_free(&raw);
        if (st == CLSTYLE_OK && k == 1) st = make_key(c, c->weights);
        if (st == CLSTYLE_OK && k == 1) st = find_done(c);
        if (st != CLSTYLE_OK) break;
        if (k <= c->done) {
            if (k > c->done - RING) st = load_result(c, k);
        } else st = style_frame(c, k);
        if (st == CLSTYLE_OK || (st == CLSTYLE_ERR_INTERRUPTED && frame_exists(c, k))) *n = k;
    }
    if (st == CLSTYLE_OK && *n == 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: no frames to style (the clip is empty or --frames starts after its end)", c->in.name);
    if (st == CLSTYLE_OK && cs_cli_stop) st = cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted");
    return st;
}

/* The output must not be the clip it is made from (or one of the styles). */
static clstyle_status check_output(const cs_options *o)
{
    struct stat out, in;
    if (stat(o->output, &out) != 0) return CLSTYLE_OK;
    const char *inputs[CS_CLI_MAX_STYLES + 1] = { o->content };
    for (int k = 0; k < o->n_styles; k++) inputs[k + 1] = o->styles[k];
    for (int k = 0; k <= o->n_styles; k++)
        if (stat(inputs[k], &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
            return cs_fail(CLSTYLE_ERR_USAGE, "-o %s is an input (%s): write the result elsewhere", o->output, inputs[k]);
    if (cs_video_path_is_clip(o->output) && !S_ISREG(out.st_mode))
        return cs_fail(CLSTYLE_ERR_USAGE, "-o %s: exists and is not a regular file", o->output);
    return CLSTYLE_OK;
}

clstyle_status cs_clip_run(const cs_options *o)
{
    clip c;
    memset(&c, 0, sizeof c);
    c.o = o;
    char weights[4096];
    int n = 0;
    double t0 = cs_now();
    clstyle_status st;
    CS_TRY(cs_env_weights(o->weights, weights, sizeof weights));
    CS_TRY(check_output(o));
    c.weights = weights;
    if (!cs_flow_available() && o->temporal_weight > 0)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: styling a clip without flicker needs optical flow, and this clstyle was built without "
                       "the meson feature `flow` (install libopencv-video-dev and rebuild, or give --temporal-weight 0)", o->content);
    CS_CHECK(cs_clip_in_open(o->content, o->clip, o->frames_first, o->frames_last, o->fps, &c.in));
    CS_CHECK(cs_clip_out_init(o->output, o->format == 2, &c.out));
    if (o->log_path) CS_CHECK(cs_log_open(o->log_path, &c.log));
    CS_CHECK(open_session(&c, weights));
    st = frames(&c, &n);
    summary(&c, cs_now() - t0);
    if (st == CLSTYLE_OK) st = log_summary(&c, cs_now() - t0);
    if (c.out.video && n > 0 && (st == CLSTYLE_OK || st == CLSTYLE_ERR_INTERRUPTED)) {
        clstyle_status e = encode(&c, n);
        if (e != CLSTYLE_OK) st = e;
        else if (st == CLSTYLE_OK) remove_work(&c, n);
    }
    if (st == CLSTYLE_ERR_INTERRUPTED)
        st = cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted after frame %d; %s holds the frames done, and a rerun goes on from there",
                     n, o->output);
done:
    if (c.log) {
        clstyle_status e = cs_log_close(&c.log, o->log_path);
        if (st == CLSTYLE_OK) st = e;
    }
    for (int k = 0; k < RING; k++) {
        cs_image_free(&c.content[k]);
        cs_image_free(&c.result[k]);
    }
    for (int k = 0; k < o->n_styles; k++) clstyle_image_free(c.styles[k]);
    clstyle_styles_free(c.st);
    cs_cli_session = NULL;
    clstyle_session_close(c.s);
    cs_clip_in_close(&c.in);
    return st;
}
