/* Command line. Every option is one row of `table` below: its name, argument,
 * default, help text and parser. Parsing, per-option validation, the defaults
 * and --help all come from that row, so adding an option is one line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "clip_io.h"
#include "config.h"
#include "error.h"
#include "image.h"
#include "inputs.h"
#include "pyramid.h"
#include "shard.h"
#include "vgg.h"

struct cs_parse {
    cs_options *o;
    size_t used;     /* bytes of o->arena taken by list copies */
    int action;      /* 0 run, 1 --help, 2 --version, 3 --list-devices */
};

#define FIELD(T, p, d) ((T *)((char *)(p)->o + (d)->field))

static clstyle_status bad(const cs_option *d, const char *expect, const char *got)
{
    return cs_fail(CLSTYLE_ERR_USAGE, "%s: expected %s, got '%s'", d->name, expect, got);
}

static clstyle_status int_in(const cs_option *d, const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < d->lo || v > d->hi) {
        char expect[64];
        snprintf(expect, sizeof expect, "an integer from %.0f to %.0f", d->lo, d->hi);
        return bad(d, expect, s);
    }
    *out = (int)v;
    return CLSTYLE_OK;
}

/* A finite number in [lo, hi], or (lo, hi] when open_lo. */
static clstyle_status num_in(const cs_option *d, const char *s, int open_lo, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < d->lo || (open_lo && v == d->lo) || v > d->hi) {
        char expect[80];
        int n = snprintf(expect, sizeof expect, "a number %s %g", open_lo ? "above" : "of at least", d->lo);
        if (isfinite(d->hi)) snprintf(expect + n, sizeof expect - (size_t)n, " and at most %g", d->hi);
        return bad(d, expect, s);
    }
    *out = v;
    return CLSTYLE_OK;
}

/* Copies s into the arena and splits it at commas; every item must be
 * non-empty ("1,,2" is a mistake, not two items) and there are at most max. */
static clstyle_status split(const cs_option *d, cs_parse *p, const char *s, const char **items, int max, int *n)
{
    size_t len = strlen(s);
    if (p->used + len + 1 > sizeof p->o->arena)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: list too long (all lists together take at most %zu bytes)", d->name,
                       sizeof p->o->arena);
    char *tok = memcpy(p->o->arena + p->used, s, len + 1);
    p->used += len + 1;
    for (*n = 0;; tok++) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        if (!*tok) return bad(d, "a comma-separated list without empty items", s);
        if (*n >= max) {
            char expect[64];
            snprintf(expect, sizeof expect, "at most %d items", max);
            return bad(d, expect, s);
        }
        items[(*n)++] = tok;
        if (!comma) return CLSTYLE_OK;
        tok = comma;
    }
}

static clstyle_status p_path(const cs_option *d, cs_parse *p, const char *v)
{
    if (!*v) return bad(d, "a file name", v);
    *FIELD(const char *, p, d) = v;
    return CLSTYLE_OK;
}

static clstyle_status p_text(const cs_option *d, cs_parse *p, const char *v)
{
    if (!*v) return bad(d, "a non-empty value", v);
    *FIELD(const char *, p, d) = v;
    return CLSTYLE_OK;
}

/* FILE[:MASK],...: a style may name its region of the content after a colon. */
static clstyle_status p_styles(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    CS_TRY(split(d, p, v, o->styles, CS_CLI_MAX_STYLES, &o->n_styles));
    int masks = 0;
    for (int k = 0; k < o->n_styles; k++) {
        char *colon = strchr(o->styles[k], ':');
        o->style_masks[k] = colon && colon[1] ? colon + 1 : NULL;
        if (colon && !colon[1]) return bad(d, "FILE or FILE:MASK items", o->styles[k]);
        if (colon) *colon = 0, masks++;
    }
    if (masks && masks != o->n_styles)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: %d of %d styles name a mask; with masks, every style needs one (FILE:MASK)", d->name,
                       masks, o->n_styles);
    o->n_style_masks = masks;
    return CLSTYLE_OK;
}

/* M,M..: a mask per style; "-" (style image masks only): none. The count
 * is the int after the field's array in cs_options (n_style_masks, n_style_image_masks). */
static clstyle_status p_masks(const cs_option *d, cs_parse *p, const char *v)
{
    const char **items = FIELD(const char *, p, d);
    int *n = (int *)((char *)p->o + d->field + sizeof(const char *[CS_CLI_MAX_STYLES]));
    CS_TRY(split(d, p, v, items, CS_CLI_MAX_STYLES, n));
    for (int k = 0; k < *n; k++)
        if (!strcmp(items[k], "-")) {
            if (d->field == offsetof(cs_options, style_masks)) return bad(d, "a mask file per style", v);
            items[k] = NULL;
        }
    return CLSTYLE_OK;
}

/* L+L,L+L..: each style's own layers ("-": all the style layers). */
static clstyle_status p_own_layers(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    const char *items[CS_CLI_MAX_STYLES];
    CS_TRY(split(d, p, v, items, CS_CLI_MAX_STYLES, &o->n_styles_with_layers));
    for (int k = 0; k < o->n_styles_with_layers; k++) {
        char *tok = (char *)items[k];
        o->n_style_own_layers[k] = 0;
        if (!strcmp(tok, "-")) continue;
        for (char *plus;; tok = plus + 1) {
            if ((plus = strchr(tok, '+'))) *plus = 0;
            if (!cs_vgg_layer_exists(tok))
                return cs_fail(CLSTYLE_ERR_USAGE, "%s: unknown layer '%s' (use names like relu1_1+relu2_1)", d->name, tok);
            if (o->n_style_own_layers[k] == CS_CLI_MAX_LAYERS) return bad(d, "at most 16 layers per style", v);
            o->style_own_layers[k][o->n_style_own_layers[k]++] = tok;
            if (!plus) break;
        }
    }
    return CLSTYLE_OK;
}

static clstyle_status p_int(const cs_option *d, cs_parse *p, const char *v) { return int_in(d, v, FIELD(int, p, d)); }
static clstyle_status p_num(const cs_option *d, cs_parse *p, const char *v) { return num_in(d, v, 0, FIELD(double, p, d)); }
static clstyle_status p_positive(const cs_option *d, cs_parse *p, const char *v) { return num_in(d, v, 1, FIELD(double, p, d)); }

static clstyle_status p_tile(const cs_option *d, cs_parse *p, const char *v)
{
    CS_TRY(int_in(d, v, FIELD(int, p, d)));
    return *FIELD(int, p, d) % 16 ? bad(d, "a multiple of 16", v) : CLSTYLE_OK;
}

/* arg "a|b|c": the field gets the index of v among the choices. */
static clstyle_status p_choice(const cs_option *d, cs_parse *p, const char *v)
{
    size_t n = strlen(v);
    int k = 0;
    for (const char *c = d->arg;; k++) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !strncmp(c, v, n)) {
            *FIELD(int, p, d) = k;
            return CLSTYLE_OK;
        }
        if (!bar) break;
        c = bar + 1;
    }
    char expect[96];
    const char *last = strrchr(d->arg, '|');
    snprintf(expect, sizeof expect, "%.*s or %s", (int)(last - d->arg), d->arg, last + 1);
    char list[96] = "";
    for (const char *c = expect; *c; c++) /* "none|backtrack or wolfe" -> "none, backtrack or wolfe" */
        snprintf(list + strlen(list), sizeof list - strlen(list), *c == '|' ? ", " : "%c", *c);
    return bad(d, list, v);
}

/* --format png|jpg: 1 or 2, so that 0 keeps each input's format. */
static clstyle_status p_format(const cs_option *d, cs_parse *p, const char *v)
{
    CS_TRY(p_choice(d, p, v));
    (*FIELD(int, p, d))++;
    return CLSTYLE_OK;
}

static clstyle_status p_shard(const cs_option *d, cs_parse *p, const char *v)
{
    cs_shard s;
    CS_TRY(cs_shard_parse(v, &s));
    *FIELD(const char *, p, d) = v;
    return CLSTYLE_OK;
}

static clstyle_status p_bits(const cs_option *d, cs_parse *p, const char *v)
{
    if (strcmp(v, "8") && strcmp(v, "16")) return bad(d, "8 or 16", v);
    *FIELD(int, p, d) = atoi(v);
    return CLSTYLE_OK;
}

static clstyle_status p_seed(const cs_option *d, cs_parse *p, const char *v)
{
    char *end;
    errno = 0;
    unsigned long s = strtoul(v, &end, 10);
    if (errno || end == v || *end || *v == '-') return bad(d, "a non-negative integer", v);
    *FIELD(unsigned long, p, d) = s;
    return CLSTYLE_OK;
}

static clstyle_status p_flag(const cs_option *d, cs_parse *p, const char *v)
{
    (void)v;
    *FIELD(int, p, d) = 1;
    return CLSTYLE_OK;
}

static clstyle_status p_action(const cs_option *d, cs_parse *p, const char *v)
{
    (void)v;
    p->action = (int)d->lo;
    return CLSTYLE_OK;
}

/* A list of integers in [lo, hi] into out[]; n is the count. */
static clstyle_status int_list(const cs_option *d, cs_parse *p, const char *v, int *out, int *n)
{
    const char *items[CS_MAX_SCALES];
    CS_TRY(split(d, p, v, items, CS_MAX_SCALES, n));
    for (int i = 0; i < *n; i++) CS_TRY(int_in(d, items[i], &out[i]));
    return CLSTYLE_OK;
}

/* --size A[,B..]: a single value leaves n_sizes 0 (one scale at `size`). */
static clstyle_status p_sizes(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    int n;
    CS_TRY(int_list(d, p, v, o->sizes, &n));
    o->size = o->sizes[n - 1];
    o->n_sizes = n > 1 ? n : 0;
    return CLSTYLE_OK;
}

/* --iterations N[,M..]: `iterations` is the first; a single value leaves n_scale_iterations 0. */
static clstyle_status p_iterations(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    int n;
    CS_TRY(int_list(d, p, v, o->scale_iterations, &n));
    o->iterations = o->scale_iterations[0];
    o->n_scale_iterations = n > 1 ? n : 0;
    return CLSTYLE_OK;
}

/* --content-weight X[,Y..]: `content_weight` is the last (the picture's); a single value leaves the list empty. */
static clstyle_status p_content_weights(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    const char *items[CS_MAX_SCALES];
    int n;
    CS_TRY(split(d, p, v, items, CS_MAX_SCALES, &n));
    for (int i = 0; i < n; i++) CS_TRY(num_in(d, items[i], 0, &o->scale_content_weights[i]));
    o->content_weight = o->scale_content_weights[n - 1];
    o->n_scale_content_weights = n > 1 ? n : 0;
    return CLSTYLE_OK;
}

/* --temporal-frames J,..: earlier frames, nearest first, each 1..4. */
static clstyle_status p_temporal_frames(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    CS_TRY(int_list(d, p, v, o->temporal_frames, &o->n_temporal_frames));
    for (int i = 1; i < o->n_temporal_frames; i++)
        if (o->temporal_frames[i] <= o->temporal_frames[i - 1]) return bad(d, "distances in increasing order, like 1,2,4", v);
    return o->n_temporal_frames > 4 ? bad(d, "at most 4 earlier frames", v) : CLSTYLE_OK;
}

/* --frames A:B, A: or :B (1-based, inclusive). */
static clstyle_status p_range(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    char *end;
    const char *colon = strchr(v, ':');
    if (!colon) return bad(d, "a range A:B, A: or :B of frame numbers (1-based)", v);
    long a = 1, b = 0;
    if (colon != v && ((a = strtol(v, &end, 10)) < 1 || end != colon)) return bad(d, "frame numbers from 1, like 10:40", v);
    if (colon[1] && ((b = strtol(colon + 1, &end, 10)) < 1 || *end)) return bad(d, "frame numbers from 1, like 10:40", v);
    if (b && b < a) return bad(d, "a range whose end is not before its start", v);
    if (a > 100000000 || b > 100000000) return bad(d, "frame numbers below 100000000", v);
    o->frames_first = (int)a;
    o->frames_last = (int)b;
    return CLSTYLE_OK;
}

static clstyle_status p_blend(const cs_option *d, cs_parse *p, const char *v)
{
    const char *items[CS_CLI_MAX_STYLES];
    CS_TRY(split(d, p, v, items, CS_CLI_MAX_STYLES, &p->o->n_blend));
    for (int i = 0; i < p->o->n_blend; i++) CS_TRY(num_in(d, items[i], 0, &p->o->blend[i]));
    return CLSTYLE_OK;
}

/* Content layers (names) or style layers (names with optional ":weight"). */
static clstyle_status p_layers(const cs_option *d, cs_parse *p, const char *v)
{
    cs_options *o = p->o;
    int style = d->field == offsetof(cs_options, style_layers);
    const char **names = style ? o->style_layers : o->content_layers;
    int n;
    CS_TRY(split(d, p, v, names, CS_CLI_MAX_LAYERS, &n));
    for (int i = 0; i < n; i++) {
        char *colon = strchr(names[i], ':');
        double w = 1.0;
        if (colon) {
            if (!style) return bad(d, "layer names without weights", names[i]);
            *colon = 0;
            CS_TRY(num_in(&(cs_option){ .name = d->name, .lo = 0, .hi = INFINITY }, colon + 1, 0, &w));
        }
        if (!cs_vgg_layer_exists(names[i]))
            return cs_fail(CLSTYLE_ERR_USAGE, "%s: unknown layer '%s' (use names like relu4_2, conv3_1, pool2)", d->name,
                           names[i]);
        if (style) o->style_layer_weights[i] = w;
    }
    *(style ? &o->n_style_layers : &o->n_content_layers) = n;
    return CLSTYLE_OK;
}

#define F(m) offsetof(cs_options, m)
#define ANY 0, INFINITY
#if CLSTYLE_HAVE_OPENCL
#define DEFAULT_BACKEND "opencl"
#else
#define DEFAULT_BACKEND "reference"
#endif

static const cs_option table[] = {
    { "--content", "-c", "FILE|DIR|GLOB|@LIST", NULL, "content image (PNG or JPEG); a folder, a quoted\nglob or @list.txt styles each picture (a batch)",
      p_path, F(content), 0, 0 },
    { "--style", "-s", "FILE[,FILE]", NULL, "style image(s) (PNG or JPEG)", p_styles, F(styles), 0, 0 },
    { "--output", "-o", "FILE|DIR", NULL, "result, written atomically: JPEG if FILE ends in\n.jpg or .jpeg, else PNG; "
      "a folder for a batch", p_path, F(output), 0, 0 },
    { "--each-style", NULL, NULL, NULL, "a batch with one result per content and style\n(CONTENT__STYLE.png) instead of a blend",
      p_flag, F(each_style), 0, 0 },
    { "--format", NULL, "png|jpg", NULL, "format of a batch's results (each input's)", p_format, F(format), 0, 0 },
    { "--overwrite", NULL, NULL, NULL, "redo a batch's results that are done already", p_flag, F(overwrite), 0, 0 },
    { "--summary", NULL, "FILE", NULL, "JSON summary of a batch: each input, output, time,\nloss, error", p_path,
      F(summary_path), 0, 0 },
    { "--shard", NULL, "K/N", NULL, "do the K-th of N slices of a batch (default: from\nSLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)",
      p_shard, F(shard), 0, 0 },
    { "--shard-count", NULL, "N", NULL, "number of slices with JOB_COMPLETION_INDEX", p_int, F(shard_count), 1, 1000000 },
    { "--clip", NULL, NULL, NULL, "-c FOLDER holds one clip's frames (in name order),\nnot a batch of pictures", p_flag, F(clip), 0, 0 },
    { "--frames", NULL, "A:B", NULL, "style frames A to B of a clip (1-based; A: or :B)", p_range, F(frames_first), 0, 0 },
    { "--fps", NULL, "X", NULL, "frames per second kept from a clip (numbered\npictures: their rate, 24)", p_positive, F(fps), ANY },
    { "--frame-iterations", NULL, "N", "100", "iterations of each frame after a clip's first", p_int, F(frame_iterations),
      0, 1000000 },
    { "--temporal-weight", NULL, "X", "1000", "delta: how closely a frame keeps to the previous\nresult warped along the "
      "optical flow (0: frame\nby frame)", p_num, F(temporal_weight), ANY },
    { "--temporal-frames", NULL, "J,..", "1", "earlier frames the temporal term compares with\n(1,2,4: long-term "
      "consistency)", p_temporal_frames, F(temporal_frames), 1, 4 },
    { "--video-init", NULL, "warped|content|previous", "warped", "\nstart of each frame after a clip's first",
      p_choice, F(video_init), 0, 0 },
    { "--flow", NULL, "ultrafast|fast|medium", "medium", "OpenCV DIS optical flow preset", p_choice,
      F(flow_quality), 0, 0 },
    { "--crf", NULL, "N", "18", "H.264 quality of a video output: 0 lossless .. 51", p_int, F(crf), 0, 51 },
    { "--bits", NULL, "8|16", "8", "bits per channel of a PNG result", p_bits, F(output_bits), 0, 0 },
    { "--quality", NULL, "N", "92", "JPEG quality of a .jpg/.jpeg result, 1 to 100", p_int, F(jpeg_quality), 1, 100 },
    { "--size", NULL, "N[,N..]", "512", "longer side of the result in px; a list optimizes\nat each size in turn; one size over 512 plans\nN/4, N/2, N itself (--single: one scale)",
      p_sizes, F(size), 16, 16384 },
    { "--single", NULL, NULL, NULL, "one scale at --size, without the automatic pyramid", p_flag, F(single), 0, 0 },
    { "--iterations", NULL, "N[,N..]", "500", "optimizer steps, one count or one per --size;\n0 evaluates the initial image", p_iterations, F(iterations), 0, 1000000 },
    { "--optimizer", NULL, "lbfgs|adam", "lbfgs", "", p_choice, F(optimizer), 0, 0 },
    { "--learning-rate", NULL, "X", "0.02", "Adam step size", p_positive, F(learning_rate), ANY },
    { "--lbfgs-history", NULL, "N", "100", "L-BFGS correction pairs kept", p_int, F(lbfgs_history), 1, 1000 },
    { "--line-search", NULL, "none|backtrack|wolfe", "backtrack", "\nwhat L-BFGS does with a step that raises the\nloss",
      p_choice, F(line_search), 0, 0 },
    { "--clamp", NULL, "on|off", "on", "on: the pixels stay in [0, 1] while optimizing,\nso the picture written is the one optimized",
      p_choice, F(clamp_off), 0, 0 },
    { "--tolerance", NULL, "X", "0", "stop when the loss fell by less than X (relative)\nover --tolerance-window iterations; 0: off",
      p_num, F(tolerance), 0, 1 },
    { "--tolerance-window", NULL, "N", "50", "iterations the --tolerance rule looks back", p_int, F(tolerance_window),
      1, 100000 },
    { "--coarse-weight", NULL, "X", NULL, "at a pyramid's later scales, X x each earlier\nscale's losses of the picture shrunk to its size\n(1 in the automatic pyramid, 0 with a --size list)",
      p_num, F(coarse_weight), ANY },
    { "--content-weight", NULL, "X[,X..]", "1", "alpha, one or one per --size", p_content_weights, F(content_weight), ANY },
    { "--style-weight", NULL, "X", "10", "beta", p_num, F(style_weight), ANY },
    { "--tv-weight", NULL, "X", "10", "gamma, total variation", p_num, F(tv_weight), ANY },
    { "--style-blend", NULL, "W,W..", NULL, "blend weights of the style images (equal)", p_blend, F(blend), ANY },
    { "--style-scale", NULL, "X", "1", "style size relative to --size", p_positive, F(style_scale), 0, 8 },
    { "--content-layers", NULL, "L,..", "relu4_2", "", p_layers, F(content_layers), 0, 0 },
    { "--style-layers", NULL, "L[:w],..", "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1", "", p_layers, F(style_layers), 0, 0 },
    { "--init", NULL, "content|random|FILE", "content", "starting image", p_path, F(init), 0, 0 },
    { "--seed", NULL, "N", "0", "seed for --init random", p_seed, F(seed), 0, 0 },
    { "--original-colors", NULL, NULL, NULL, "keep the content's colours (= --colors content)", p_flag, F(original_colors), 0, 0 },
    { "--colors", NULL, "style|content|luminance|histogram", "style", "\nstyle's colours; the content's put back after;\nluminance-only transfer; style colours matched to\nthe content's first (docs/control.md)",
      p_choice, F(colors), 0, 0 },
    { "--style-mask", NULL, "M,M..", NULL, "per style (-s order), its region of the content:\ngrey 0..1, soft edges allowed (or -s FILE:MASK)",
      p_masks, F(style_masks), 0, 0 },
    { "--style-image-mask", NULL, "M|-,..", NULL, "per style, the part of the style image to use\n(- = all of it)", p_masks,
      F(style_image_masks), 0, 0 },
    { "--style-layers-per-style", NULL, "L+L|-,..", NULL, "per style, its own style layers\n(- = all of --style-layers)",
      p_own_layers, F(style_own_layers), 0, 0 },
    { "--pooling", NULL, "max|avg", "max", "", p_choice, F(pooling_avg), 0, 0 },
    { "--save-every", NULL, "N", NULL, "also write OUTPUT_<iter> (same format) every N\niterations", p_int, F(save_every), 0, 1000000 },
    { "--tile", NULL, "PX", NULL, "evaluate in tiles of PX px, a multiple of 16\n(only when memory needs it)",
      p_tile, F(tile), 16, 16384 },
    { "--band", NULL, "ROWS", NULL, "evaluate layer by layer in bands of ROWS rows, a multiple\nof 16 (only when memory needs it)",
      p_tile, F(band), 16, 16384 },
    { "--max-memory", NULL, "MB", NULL, "device memory budget (device memory less headroom)", p_positive,
      F(max_memory_mb), ANY },
    { "--max-input-mp", NULL, "X", "100", "refuse input images of more than X megapixels", p_positive,
      F(max_input_megapixels), ANY },
    { "--backend", NULL, "opencl|reference", DEFAULT_BACKEND, "", p_choice, F(backend), 0, 0 },
    { "--device", NULL, "SPEC[,SPEC..]|all", NULL, "OpenCL device: index or name substring\n(first GPU, else CPU); "
      "a batch may use several", p_text,
      F(device), 0, 0 },
    { "--list-devices", NULL, NULL, NULL, "list OpenCL devices and exit", p_action, 0, 3, 0 },
    { "--weights", NULL, "FILE", NULL, "VGG-16/19 safetensors (default: $CLSTYLE_WEIGHTS,\nthen ~/.cache/clstyle/vgg16.safetensors or\nvgg19-conv.safetensors)", p_path, F(weights), 0, 0 },
    { "--log", NULL, "FILE", NULL, "JSON Lines, one object per loss evaluation", p_path, F(log_path), 0, 0 },
    { "--quiet", "-q", NULL, NULL, "no progress output", p_flag, F(quiet), 0, 0 },
    { "--verbose", "-v", NULL, NULL, "more details (device, memory, weights) on stderr", p_flag, F(verbose), 0, 0 },
    { "--help", "-h", NULL, NULL, "this help", p_action, 0, 1, 0 },
    { "--version", NULL, NULL, NULL, "version", p_action, 0, 2, 0 },
};
enum { N_OPTIONS = sizeof table / sizeof *table };
_Static_assert((int)N_OPTIONS <= (int)CS_MAX_OPTIONS, "cs_options.given has a slot per option");

const cs_option *cs_option_table(int *n)
{
    *n = N_OPTIONS;
    return table;
}

/* The defaults are the table's `def` column run through each option's parser. */
static void set_defaults(cs_parse *p, cs_options *o)
{
    memset(o, 0, sizeof *o);
    *p = (cs_parse){ .o = o };
    for (int i = 0; i < N_OPTIONS; i++)
        if (table[i].def) table[i].parse(&table[i], p, table[i].def);
}

void cs_options_default(cs_options *o)
{
    cs_parse p;
    set_defaults(&p, o);
}

enum { HELP_COLUMN = 29 };

/* "  -c, --content FILE         content image (PNG or JPEG)" */
static size_t help_row(char *buf, size_t cap, const cs_option *d)
{
    int n = snprintf(buf, cap, "  %s%s%s%s%s", d->short_name ? d->short_name : "    ", d->short_name ? ", " : "",
                     d->name, d->arg ? " " : "", d->arg ? d->arg : "");
    n += snprintf(buf + n, cap - (size_t)n, "%*s", n < HELP_COLUMN - 1 ? HELP_COLUMN - n : 2, "");
    for (const char *h = d->help; *h; h++) {
        if (*h != '\n') {
            n += snprintf(buf + n, cap - (size_t)n, "%c", *h);
            continue;
        }
        while (buf[n - 1] == ' ') n--;
        n += snprintf(buf + n, cap - (size_t)n, "\n%*s", HELP_COLUMN, "");
    }
    if (d->def) n += snprintf(buf + n, cap - (size_t)n, "%s(%s)", *d->help ? " " : "", d->def);
    while (n > 0 && buf[n - 1] == ' ') n--;
    n += snprintf(buf + n, cap - (size_t)n, "\n");
    return (size_t)n;
}

const char *cs_usage(void)
{
    static char text[8192];
    if (text[0]) return text;
    size_t n = (size_t)snprintf(text, sizeof text, "%s",
        "usage: clstyle -c CONTENT -s STYLE[,STYLE...] -o OUTPUT [options]\n"
        "       clstyle -c FOLDER|'GLOB'|@LIST -s STYLE[,STYLE...] -o FOLDER [--each-style] [options]\n"
        "\n"
        "Neural style transfer (Gatys et al.): optimizes OUTPUT so that its VGG features\n"
        "match the content of CONTENT and the Gram matrices of the STYLE images.\n"
        "Images are PNG or JPEG, recognized by their first bytes.\n"
        "\n");
    for (int i = 0; i < N_OPTIONS; i++) n += help_row(text + n, sizeof text - n, &table[i]);
    return text;
}

int cs_devices_many(const char *spec) { return spec && (strchr(spec, ',') || !strcmp(spec, "all")); }

/* Batch options make no sense for one picture, and one picture keeps its exact old behaviour. */
static clstyle_status validate_single(const cs_options *o)
{
    static const char *const batch_only[] = { "--format", "--overwrite", "--summary", "--shard", "--shard-count" };
    const int given[] = { o->format, o->overwrite, o->summary_path != NULL, o->shard != NULL, o->shard_count };
    for (int i = 0; i < 5; i++)
        if (given[i])
            return cs_fail(CLSTYLE_ERR_USAGE, "%s is for a batch: give -c a folder, a quoted glob or @list.txt", batch_only[i]);
    if (cs_devices_many(o->device))
        return cs_fail(CLSTYLE_ERR_USAGE, "--device %s: one picture runs on one device; several are for a batch (-c a folder, "
                       "a quoted glob or @list.txt)", o->device);
    return CLSTYLE_OK;
}

static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && !strcasecmp(path + n - e, ext);
}

/* A clip is one run of frames: what only fits one picture or a batch is refused. */
static clstyle_status validate_clip(const cs_options *o)
{
    if (o->save_every) return cs_fail(CLSTYLE_ERR_USAGE, "--save-every: not for a clip (its frames are written as they are done)");
    if (o->n_style_masks) return cs_fail(CLSTYLE_ERR_USAGE, "--style-mask: masks on the content are for one picture, not a clip");
    if (o->each_style || o->summary_path || o->shard || o->shard_count)
        return cs_fail(CLSTYLE_ERR_USAGE, "--each-style, --summary and --shard are for a batch of pictures, not a clip");
    if (cs_devices_many(o->device)) return cs_fail(CLSTYLE_ERR_USAGE, "--device %s: a clip runs on one device", o->device);
    if (strcmp(o->init, "content")) return cs_fail(CLSTYLE_ERR_USAGE, "--init: a clip's frames start as --video-init says");
    if (cs_image_path_is_jpeg(o->output) || has_ext(o->output, ".png"))
        return cs_fail(CLSTYLE_ERR_USAGE, "-o %s: a clip's output is a video file (.mp4, .mkv, .mov, .webm), a folder, or a "
                       "numbered pattern like frames/%%04d.png", o->output);
    return CLSTYLE_OK;
}

static clstyle_status validate_batch(const cs_options *o)
{
    if (o->output_bits == 16 && o->format == 2)
        return cs_fail(CLSTYLE_ERR_USAGE, "--bits 16: --format jpg has 8 bits per channel (use --format png)");
    if (o->save_every) return cs_fail(CLSTYLE_ERR_USAGE, "--save-every: not in a batch (style one picture to watch it)");
    if (o->n_style_masks) /* a mask follows its picture's shape: one content */
        return cs_fail(CLSTYLE_ERR_USAGE, "--style-mask: masks on the content are for one picture, not a batch");
    return CLSTYLE_OK;
}

static const cs_option *find(const char *opt)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (!strcmp(opt, table[i].name) || (table[i].short_name && !strcmp(opt, table[i].short_name)))
            return &table[i];
    return NULL;
}

/* --coarse-weight: the automatic pyramid's unless given; given, only for a pyramid whose sizes double. */
static clstyle_status validate_coarse(cs_options *o)
{
    if (!o->given[find("--coarse-weight") - table]) {
        o->coarse_weight = o->auto_pyramid ? CS_PYRAMID_COARSE_WEIGHT : 0;
        return CLSTYLE_OK;
    }
    if (o->coarse_weight > 0 && o->n_sizes < 2)
        return cs_fail(CLSTYLE_ERR_USAGE, "--coarse-weight: one scale has no coarse term; give a --size list or one size over 512");
    for (int s = 1; s < o->n_sizes && o->coarse_weight > 0; s++)
        if (!cs_pyramid_halvings(o->sizes[0], o->sizes[s]))
            return cs_fail(CLSTYLE_ERR_USAGE, "--coarse-weight: %d px does not halve to %d px; give sizes that double (256,512,1024)",
                           o->sizes[s], o->sizes[0]);
    return CLSTYLE_OK;
}


/* Checks that need several options together. */
static clstyle_status validate(cs_options *o)
{
    if (!o->content) return cs_fail(CLSTYLE_ERR_USAGE, "missing -c/--content");
    if (!o->n_styles) return cs_fail(CLSTYLE_ERR_USAGE, "missing -s/--style");
    if (!o->output) return cs_fail(CLSTYLE_ERR_USAGE, "missing -o/--output");
    if (o->n_blend) {
        double sum = 0;
        if (o->n_blend != o->n_styles)
            return cs_fail(CLSTYLE_ERR_USAGE, "--style-blend: %d weights given for %d style images", o->n_blend, o->n_styles);
        for (int i = 0; i < o->n_blend; i++) sum += o->blend[i];
        if (sum <= 0) return cs_fail(CLSTYLE_ERR_USAGE, "--style-blend: weights must not all be zero");
    }
    if (o->tile && o->band) return cs_fail(CLSTYLE_ERR_USAGE, "--tile and --band each choose how to cut the picture; give one");
    if (o->n_style_masks && o->n_style_masks != o->n_styles)
        return cs_fail(CLSTYLE_ERR_USAGE, "--style-mask: %d masks given for %d style images (one per style, in -s order)",
                       o->n_style_masks, o->n_styles);
    if (o->n_style_image_masks && o->n_style_image_masks != o->n_styles)
        return cs_fail(CLSTYLE_ERR_USAGE, "--style-image-mask: %d masks given for %d style images (- for none)",
                       o->n_style_image_masks, o->n_styles);
    if (o->n_styles_with_layers && o->n_styles_with_layers != o->n_styles)
        return cs_fail(CLSTYLE_ERR_USAGE, "--style-layers-per-style: %d lists given for %d style images (- for all)",
                       o->n_styles_with_layers, o->n_styles);
    if (o->original_colors && o->colors != CLSTYLE_COLORS_STYLE && o->colors != CLSTYLE_COLORS_CONTENT)
        return cs_fail(CLSTYLE_ERR_USAGE, "--original-colors is --colors content; it cannot go with --colors %s",
                       o->colors == CLSTYLE_COLORS_LUMINANCE ? "luminance" : "histogram");
    o->clip_mode = !o->each_style && cs_clip_is_input(o->content, o->clip);
    if (o->clip_mode) return validate_clip(o);
    if (o->clip) return cs_fail(CLSTYLE_ERR_USAGE, "--clip: -c %s is not a folder of frames", o->content);
    static const char *const clip_only[] = { "--frames", "--fps" };
    for (int i = 0; i < 2; i++)
        if (i ? o->fps > 0 : o->frames_first > 0)
            return cs_fail(CLSTYLE_ERR_USAGE, "%s is for a clip: give -c a video file, a pattern like frames/%%04d.png or --clip "
                           "FOLDER", clip_only[i]);
    o->batch = o->each_style || cs_inputs_is_batch(o->content);
    CS_TRY(o->batch ? validate_batch(o) : validate_single(o));
    if (o->output_bits == 16 && !o->batch && cs_image_path_is_jpeg(o->output))
        return cs_fail(CLSTYLE_ERR_USAGE, "--bits 16: %s is a JPEG output, which has 8 bits per channel (write a .png)",
                       o->output);
    int scales = o->n_sizes ? o->n_sizes : 1;
    if (o->n_scale_iterations && o->n_scale_iterations != scales)
        return cs_fail(CLSTYLE_ERR_USAGE, "--iterations: %d counts given for %d size(s); give one count, or one per --size",
                       o->n_scale_iterations, scales);
    if (o->n_scale_content_weights && o->n_scale_content_weights != scales)
        return cs_fail(CLSTYLE_ERR_USAGE, "--content-weight: %d weights given for %d size(s); give one, or one per --size",
                       o->n_scale_content_weights, scales);
    if (o->single && o->n_sizes) return cs_fail(CLSTYLE_ERR_USAGE, "--single: --size gives a list of sizes; give one size");
    /* an --init picture is one to go on from, at its size */
    if (!o->n_sizes && !o->single && o->iterations > 0 && !cs_options_init_file(o)) {
        int n = cs_pyramid_plan(o->size, o->iterations, o->sizes, o->scale_iterations, CS_MAX_SCALES);
        o->auto_pyramid = n > 1;
        o->n_sizes = o->n_scale_iterations = o->n_scale_content_weights = n > 1 ? n : 0; /* one weight: checked above */
        for (int k = 0; k < o->n_sizes; k++)
            o->scale_content_weights[k] = cs_pyramid_content_weight(o->content_weight, o->sizes[k], o->size);
    }
    return validate_coarse(o);
}

clstyle_status cs_parse_args(int argc, char **argv, cs_options *o, int *action)
{
    cs_parse p;
    int quality = 0;
    set_defaults(&p, o);
    *action = 0;
    for (int i = 1; i < argc; i++) {
        char opt[64];
        const char *arg = argv[i], *eq = strchr(arg, '=');
        if (arg[0] != '-' || !arg[1]) return cs_fail(CLSTYLE_ERR_USAGE, "unexpected argument '%s'", arg);
        const char *val = eq && arg[1] == '-' ? eq + 1 : NULL; /* --name=value */
        snprintf(opt, sizeof opt, "%.*s", val ? (int)(eq - arg) : (int)strlen(arg), arg);
        const cs_option *d = find(opt);
        if (!d) return cs_fail(CLSTYLE_ERR_USAGE, "unknown option '%s'", opt);
        if (!d->arg && val) return cs_fail(CLSTYLE_ERR_USAGE, "%s takes no value", opt);
        if (d->arg && !val) {
            if (i + 1 >= argc) return cs_fail(CLSTYLE_ERR_USAGE, "%s needs a value", opt);
            val = argv[++i];
        }
        CS_TRY(d->parse(d, &p, val));
        o->given[d - table] = val ? val : "";
        quality |= !strcmp(d->name, "--quality");
    }
    *action = p.action;
    if (*action) return CLSTYLE_OK;
    CS_TRY(validate(o));
    if (quality && (o->batch ? o->format == 1 : !cs_image_path_is_jpeg(o->output))) /* it would do nothing, silently */
        return cs_fail(CLSTYLE_ERR_USAGE, "--quality: %s is a PNG output, which is lossless (write a .jpg for JPEG quality)", o->output);
    return CLSTYLE_OK;
}

int cs_options_init_file(const cs_options *o) { return o->init && strcmp(o->init, "content") && strcmp(o->init, "random"); }

void cs_options_loss_spec(const cs_options *o, cs_loss_spec *spec)
{
    *spec = (cs_loss_spec){ .content_layers = o->content_layers, .n_content = o->n_content_layers, .style_layers = o->style_layers,
                            .style_weights = o->style_layer_weights, .n_style = o->n_style_layers, .alpha = o->content_weight,
                            .beta = o->style_weight, .gamma = o->tv_weight };
}

clstyle_status cs_options_eval_init(cs_eval *E, cs_net *net, const cs_options *o, cs_eval_image content,
                                    const cs_eval_image *styles, const double *blend, int n_styles)
{
    cs_loss_spec spec;
    cs_options_loss_spec(o, &spec);
    cs_eval_input in = { .content = content, .styles = styles, .blend = blend, .n_styles = n_styles, .tile = o->tile,
                          .band = o->band };
    return cs_eval_init(E, net, &spec, &in);
}
