/* Command line: defaults, parsing and validation of every option. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clstyle.h"
#include "config.h"
#include "error.h"

static const char *const default_style_layers[] = { "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1" };

void clstyle_options_default(clstyle_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = 512;
    o->style_scale = 1.0;
    o->iterations = 500;
    o->optimizer = CLSTYLE_LBFGS;
    o->learning_rate = 0.02;
    o->lbfgs_history = 100;
    o->content_weight = 1.0;
    o->style_weight = 10.0;
    o->tv_weight = 10.0;
    o->content_layers[0] = "relu4_2";
    o->n_content_layers = 1;
    for (int i = 0; i < 5; i++) {
        o->style_layers[i] = default_style_layers[i];
        o->style_layer_weights[i] = 1.0;
    }
    o->n_style_layers = 5;
    o->init = "content";
    o->output_bits = 8;
    o->line_search = CLSTYLE_LS_BACKTRACK;
    o->jpeg_quality = 92;
    o->max_input_megapixels = 100;
    /* A build without OpenCL has only the reference backend. */
    o->backend = CLSTYLE_HAVE_OPENCL ? CLSTYLE_BACKEND_OPENCL : CLSTYLE_BACKEND_REFERENCE;
}

const char *clstyle_usage(void)
{
    return
        "usage: clstyle -c CONTENT -s STYLE[,STYLE...] -o OUTPUT [options]\n"
        "\n"
        "Neural style transfer (Gatys et al.): optimizes OUTPUT so that its VGG features\n"
        "match the content of CONTENT and the Gram matrices of the STYLE images (PNG).\n"
        "\n"
        "  -c, --content FILE         content image (PNG)\n"
        "  -s, --style FILE[,FILE]    style image(s) (PNG)\n"
        "  -o, --output FILE          result (PNG, written atomically)\n"
        "      --bits 8|16            bits per channel of the result (8)\n"
        "      --size N               longer side of the result in px (512)\n"
        "      --iterations N         optimizer steps (500); 0 evaluates the initial image\n"
        "      --optimizer lbfgs|adam (lbfgs)\n"
        "      --learning-rate X      Adam step size (0.02)\n"
        "      --lbfgs-history N      L-BFGS correction pairs kept (100; fewer when memory is short)\n"
        "      --tile PX              evaluate in pieces of PX px (multiple of 16; default: only when\n"
        "                             the whole image does not fit the memory budget)\n"
        "      --max-memory MB        device memory budget (default: the device's, less headroom)\n"
        "      --content-weight X     alpha (1)\n"
        "      --style-weight X       beta (10)\n"
        "      --tv-weight X          gamma, total variation (10)\n"
        "      --style-blend w1,w2..  blend weights of the style images (equal)\n"
        "      --style-scale X        style size relative to --size (1)\n"
        "      --content-layers L,..  (relu4_2)\n"
        "      --style-layers L[:w],..  (relu1_1,relu2_1,relu3_1,relu4_1,relu5_1)\n"
        "      --init content|random|FILE  starting image (content)\n"
        "      --seed N               seed for --init random (0)\n"
        "      --original-colors      keep the content's colours\n"
        "      --pooling max|avg      (max)\n"
        "      --save-every N         also write OUTPUT_<iter>.png every N iterations\n"
        "      --backend opencl|reference  (opencl when built with it)\n"
        "      --device SPEC          OpenCL device: index or name substring (first GPU, else CPU)\n"
        "      --list-devices         list OpenCL devices and exit\n"
        "      --weights FILE         VGG-16/19 safetensors (default: $CLSTYLE_WEIGHTS, then\n"
        "                             ~/.cache/clstyle/vgg16.safetensors or vgg19-conv.safetensors)\n"
        "      --log FILE             JSON Lines, one object per loss evaluation\n"
        "  -q, --quiet                no progress output\n"
        "  -v, --verbose              more details (device, memory) on stderr\n"
        "  -h, --help                 this help\n"
        "      --version              version\n";
}

static clstyle_status bad(const char *opt, const char *expect, const char *got)
{
    return cs_fail(CLSTYLE_ERR_USAGE, "%s: expected %s, got '%s'", opt, expect, got);
}

static clstyle_status parse_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char expect[64];
        snprintf(expect, sizeof expect, "an integer from %d to %d", lo, hi);
        return bad(opt, expect, s);
    }
    *out = (int)v;
    return CLSTYLE_OK;
}

static clstyle_status parse_num(const char *opt, const char *s, double lo, int lo_open, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || (lo_open && v == lo))
        return bad(opt, lo_open ? "a positive number" : "a non-negative number", s);
    *out = v;
    return CLSTYLE_OK;
}

/* Splits a comma list into the arena; returns the count or -1 (too many / empty item). */
static int split(clstyle_options *o, size_t *used, const char *s, const char **items, int max)
{
    size_t len = strlen(s);
    if (*used + len + 1 > sizeof o->arena) return -1;
    char *p = o->arena + *used;
    memcpy(p, s, len + 1);
    *used += len + 1;
    int n = 0;
    for (char *tok = p;; n++) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        if (!*tok || n >= max) return -1;
        items[n] = tok;
        if (!comma) return n + 1;
        tok = comma + 1;
    }
}

/* A VGG-16/19 layer name: convB_I, reluB_I (B 1..5, I 1..4) or poolB (B 1..4). */
static int layer_name_ok(const char *s)
{
    int b, i, n = 0;
    if ((sscanf(s, "conv%1d_%1d%n", &b, &i, &n) == 2 || sscanf(s, "relu%1d_%1d%n", &b, &i, &n) == 2) && !s[n])
        return b >= 1 && b <= 5 && i >= 1 && i <= (b <= 2 ? 2 : 4);
    n = 0;
    return sscanf(s, "pool%1d%n", &b, &n) == 1 && !s[n] && b >= 1 && b <= 4;
}

static clstyle_status parse_layers(clstyle_options *o, size_t *used, const char *opt, const char *s, int style)
{
    const char **names = style ? o->style_layers : o->content_layers;
    int n = split(o, used, s, names, CLSTYLE_MAX_LAYERS);
    if (n < 0) return bad(opt, "a comma-separated list of up to 16 layer names", s);
    for (int i = 0; i < n; i++) {
        char *colon = strchr(names[i], ':');
        double w = 1.0;
        if (colon) {
            if (!style) return bad(opt, "layer names without weights", names[i]);
            *colon = 0;
            CS_TRY(parse_num(opt, colon + 1, 0, 0, &w));
        }
        if (!layer_name_ok(names[i]))
            return cs_fail(CLSTYLE_ERR_USAGE, "%s: unknown layer '%s' (use names like relu4_2, conv3_1, pool2)", opt, names[i]);
        if (style) o->style_layer_weights[i] = w;
    }
    *(style ? &o->n_style_layers : &o->n_content_layers) = n;
    return CLSTYLE_OK;
}

static clstyle_status parse_blend(clstyle_options *o, const char *s)
{
    char tmp[1024];
    const char *items[CLSTYLE_MAX_STYLES];
    snprintf(tmp, sizeof tmp, "%s", s);
    int n = 0;
    for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ",")) {
        if (n >= CLSTYLE_MAX_STYLES) return bad("--style-blend", "at most 16 weights", s);
        items[n] = tok;
        CS_TRY(parse_num("--style-blend", items[n], 0, 0, &o->blend[n]));
        n++;
    }
    if (n == 0) return bad("--style-blend", "a comma-separated list of weights", s);
    o->n_blend = n;
    return CLSTYLE_OK;
}

/* Checks that need several options together. */
static clstyle_status validate(clstyle_options *o)
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
    return CLSTYLE_OK;
}

static int is(const char *arg, const char *s, const char *l) { return (s && !strcmp(arg, s)) || !strcmp(arg, l); }

static clstyle_status parse_value(clstyle_options *o, size_t *used, const char *opt, const char *v)
{
    if (is(opt, "-c", "--content")) o->content = v;
    else if (is(opt, "-o", "--output")) o->output = v;
    else if (is(opt, "-s", "--style")) {
        int n = split(o, used, v, o->styles, CLSTYLE_MAX_STYLES);
        if (n < 0) return bad(opt, "a comma-separated list of up to 16 images", v);
        o->n_styles = n;
    }
    else if (is(opt, NULL, "--size")) return parse_int(opt, v, 16, 16384, &o->size);
    else if (is(opt, NULL, "--iterations")) return parse_int(opt, v, 0, 1000000, &o->iterations);
    else if (is(opt, NULL, "--lbfgs-history")) return parse_int(opt, v, 1, 1000, &o->lbfgs_history);
    else if (is(opt, NULL, "--save-every")) return parse_int(opt, v, 0, 1000000, &o->save_every);
    else if (is(opt, NULL, "--tile")) {
        CS_TRY(parse_int(opt, v, 16, 16384, &o->tile));
        if (o->tile % 16) return bad(opt, "a multiple of 16 px", v);
    }
    else if (is(opt, NULL, "--max-memory")) return parse_num(opt, v, 0, 1, &o->max_memory_mb);
    else if (is(opt, NULL, "--bits")) {
        if (strcmp(v, "8") && strcmp(v, "16")) return bad(opt, "8 or 16", v);
        o->output_bits = atoi(v);
    }
    else if (is(opt, NULL, "--learning-rate")) return parse_num(opt, v, 0, 1, &o->learning_rate);
    else if (is(opt, NULL, "--content-weight")) return parse_num(opt, v, 0, 0, &o->content_weight);
    else if (is(opt, NULL, "--style-weight")) return parse_num(opt, v, 0, 0, &o->style_weight);
    else if (is(opt, NULL, "--tv-weight")) return parse_num(opt, v, 0, 0, &o->tv_weight);
    else if (is(opt, NULL, "--style-scale")) {
        CS_TRY(parse_num(opt, v, 0, 1, &o->style_scale));
        if (o->style_scale > 8) return bad(opt, "a scale up to 8", v);
    }
    else if (is(opt, NULL, "--style-blend")) return parse_blend(o, v);
    else if (is(opt, NULL, "--content-layers")) return parse_layers(o, used, opt, v, 0);
    else if (is(opt, NULL, "--style-layers")) return parse_layers(o, used, opt, v, 1);
    else if (is(opt, NULL, "--init")) o->init = v;
    else if (is(opt, NULL, "--seed")) {
        char *end;
        errno = 0;
        o->seed = strtoul(v, &end, 10);
        if (errno || end == v || *end || *v == '-') return bad(opt, "a non-negative integer", v);
    }
    else if (is(opt, NULL, "--optimizer")) {
        if (strcmp(v, "lbfgs") && strcmp(v, "adam")) return bad(opt, "lbfgs or adam", v);
        o->optimizer = strcmp(v, "adam") ? CLSTYLE_LBFGS : CLSTYLE_ADAM;
    }
    else if (is(opt, NULL, "--pooling")) {
        if (strcmp(v, "max") && strcmp(v, "avg")) return bad(opt, "max or avg", v);
        o->pooling_avg = !strcmp(v, "avg");
    }
    else if (is(opt, NULL, "--backend")) {
        if (strcmp(v, "opencl") && strcmp(v, "reference")) return bad(opt, "opencl or reference", v);
        o->backend = strcmp(v, "reference") ? CLSTYLE_BACKEND_OPENCL : CLSTYLE_BACKEND_REFERENCE;
    }
    else if (is(opt, NULL, "--device")) o->device = v;
    else if (is(opt, NULL, "--weights")) o->weights = v;
    else if (is(opt, NULL, "--log")) o->log_path = v;
    else return cs_fail(CLSTYLE_ERR_USAGE, "unknown option '%s'", opt);
    return CLSTYLE_OK;
}

static int known_value_option(const char *opt)
{
    static const char *const opts[] = { "-c", "--content", "-s", "--style", "-o", "--output", "--size",
        "--iterations", "--lbfgs-history", "--save-every", "--learning-rate", "--content-weight", "--style-weight",
        "--tv-weight", "--style-scale", "--style-blend", "--content-layers", "--style-layers", "--init", "--seed",
        "--optimizer", "--pooling", "--backend", "--device", "--weights", "--log", "--bits", "--tile", "--max-memory" };
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        if (!strcmp(opt, opts[i])) return 1;
    return 0;
}

static int takes_value(const char *opt)
{
    static const char *const flags[] = { "--original-colors", "-q", "--quiet", "-v", "--verbose", "-h", "--help",
                                         "--version", "--list-devices" };
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (!strcmp(opt, flags[i])) return 0;
    return 1;
}

clstyle_status clstyle_parse_args(int argc, char **argv, clstyle_options *o, int *action)
{
    clstyle_options_default(o);
    *action = 0;
    size_t used = 0;
    for (int i = 1; i < argc; i++) {
        char opt[64];
        const char *arg = argv[i], *val = NULL, *eq = strchr(arg, '=');
        if (arg[0] != '-' || !arg[1]) return cs_fail(CLSTYLE_ERR_USAGE, "unexpected argument '%s'", arg);
        snprintf(opt, sizeof opt, "%.*s", eq && arg[1] == '-' ? (int)(eq - arg) : (int)strlen(arg), arg);
        if (eq && arg[1] == '-') val = eq + 1;
        if (!takes_value(opt)) {
            if (val) return cs_fail(CLSTYLE_ERR_USAGE, "%s takes no value", opt);
            if (is(opt, "-h", "--help")) *action = 1;
            else if (is(opt, NULL, "--version")) *action = 2;
            else if (is(opt, NULL, "--list-devices")) *action = 3;
            else if (is(opt, NULL, "--original-colors")) o->original_colors = 1;
            else if (is(opt, "-q", "--quiet")) o->quiet = 1;
            else o->verbose = 1;
            continue;
        }
        if (!known_value_option(opt)) return cs_fail(CLSTYLE_ERR_USAGE, "unknown option '%s'", opt);
        if (!val) {
            if (i + 1 >= argc) return cs_fail(CLSTYLE_ERR_USAGE, "%s needs a value", opt);
            val = argv[++i];
        }
        CS_TRY(parse_value(o, &used, opt, val));
    }
    if (*action) return CLSTYLE_OK;
    return validate(o);
}
