/* Unit tests: command-line parsing and validation. */
#include "testutil.h"
#include "clstyle.h"

/* Parses a space-separated command line (no quoting needed here). */
static clstyle_status parse(const char *line, clstyle_options *o, int *action)
{
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "clstyle %s", line);
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc] = NULL;
    return clstyle_parse_args(argc, argv, o, action);
}

static void ok(const char *line)
{
    clstyle_options o;
    int a;
    clstyle_status st = parse(line, &o, &a);
    CHECK(st == CLSTYLE_OK, "'%s' rejected: %s", line, clstyle_last_error());
}

static void usage_error(const char *line, const char *needle)
{
    clstyle_options o;
    int a;
    clstyle_status st = parse(line, &o, &a);
    CHECK(st == CLSTYLE_ERR_USAGE, "'%s' accepted", line);
    CHECK(strstr(clstyle_last_error(), needle) != NULL, "'%s': message '%s' lacks '%s'", line, clstyle_last_error(), needle);
    CHECK(strchr(clstyle_last_error(), '\n') == NULL, "message is one line");
}

int main(void)
{
    clstyle_options o;
    int a;
    CHECK_OK(parse("-c c.png -s s.png -o out.png", &o, &a));
    CHECK(a == 0 && !strcmp(o.content, "c.png") && o.n_styles == 1 && !strcmp(o.output, "out.png"), "basic");
    CHECK(o.size == 512 && o.iterations == 500 && o.optimizer == CLSTYLE_LBFGS && o.lbfgs_history == 100, "defaults");
    CHECK(o.n_content_layers == 1 && !strcmp(o.content_layers[0], "relu4_2"), "default content layer");
    CHECK(o.n_style_layers == 5 && !strcmp(o.style_layers[4], "relu5_1"), "default style layers");
    CHECK(!strcmp(o.init, "content"), "default init");

    CHECK_OK(parse("-c c.png -s a.png,b.png -o o.png --style-blend 3,1 --size=256 --iterations 0 --optimizer adam "
                   "--learning-rate 0.05 --content-weight 2 --style-weight 100 --tv-weight 0 --style-scale 0.5 "
                   "--content-layers relu4_2,conv5_1 --style-layers relu1_1:0.5,relu2_1 --init random --seed 42 "
                   "--original-colors --pooling avg --save-every 50 --backend reference --device nvidia "
                   "--weights w.safetensors --log l.jsonl --quiet", &o, &a));
    CHECK(o.n_styles == 2 && !strcmp(o.styles[1], "b.png"), "two styles");
    CHECK(o.n_blend == 2 && o.blend[0] == 3 && o.blend[1] == 1, "blend");
    CHECK(o.size == 256 && o.iterations == 0 && o.optimizer == CLSTYLE_ADAM && o.learning_rate == 0.05, "numbers");
    CHECK(o.content_weight == 2 && o.style_weight == 100 && o.tv_weight == 0 && o.style_scale == 0.5, "weights");
    CHECK(o.n_content_layers == 2 && !strcmp(o.content_layers[1], "conv5_1"), "content layers");
    CHECK(o.n_style_layers == 2 && o.style_layer_weights[0] == 0.5 && o.style_layer_weights[1] == 1, "style layer weights");
    CHECK(!strcmp(o.init, "random") && o.seed == 42 && o.original_colors && o.pooling_avg && o.save_every == 50, "flags");
    CHECK(o.backend == CLSTYLE_BACKEND_REFERENCE && !strcmp(o.device, "nvidia") && o.quiet, "backend");

    CHECK_OK(parse("--help", &o, &a));
    CHECK(a == 1, "--help");
    CHECK_OK(parse("--version", &o, &a));
    CHECK(a == 2, "--version");
    CHECK_OK(parse("--list-devices", &o, &a));
    CHECK(a == 3, "--list-devices");
    ok("-c c.png -s s.png -o o.png --style-layers pool4,conv3_4,relu5_4");

    usage_error("-c c.png -s s.png -o o.png --iterations -5", "--iterations");
    usage_error("-c c.png -s s.png -o o.png --iterations ten", "--iterations");
    usage_error("-c c.png -s s.png -o o.png --size 8", "--size");
    usage_error("-c c.png -s s.png -o o.png --learning-rate 0", "--learning-rate");
    usage_error("-c c.png -s s.png -o o.png --style-weight -1", "--style-weight");
    usage_error("-c c.png -s s.png -o o.png --tv-weight nan", "--tv-weight");
    usage_error("-c c.png -s s.png -o o.png --style-layers relu9_1", "unknown layer 'relu9_1'");
    usage_error("-c c.png -s s.png -o o.png --content-layers relu4_2,", "--content-layers");
    usage_error("-c c.png -s s.png -o o.png --style-layers fc7", "unknown layer 'fc7'");
    usage_error("-c c.png -s s.png -o o.png --style-blend 1,2", "2 weights given for 1 style");
    usage_error("-c c.png -s a.png,b.png -o o.png --style-blend 1,x", "--style-blend");
    usage_error("-c c.png -s a.png,b.png -o o.png --style-blend 0,0", "must not all be zero");
    usage_error("-c c.png -s a.png,b.png -o o.png --style-blend 1,-1", "--style-blend");
    usage_error("-c c.png -s s.png -o o.png --optimizer sgd", "lbfgs or adam");
    usage_error("-c c.png -s s.png -o o.png --pooling min", "max or avg");
    usage_error("-c c.png -s s.png -o o.png --backend cuda", "opencl or reference");
    usage_error("-c c.png -s s.png -o o.png --frobnicate", "unknown option '--frobnicate'");
    usage_error("-c c.png -s s.png -o o.png --frobnicate=3", "unknown option '--frobnicate'");
    usage_error("-c c.png -s s.png -o o.png --quiet=1", "takes no value");
    usage_error("-c c.png -s s.png -o", "needs a value");
    usage_error("-s s.png -o o.png", "missing -c");
    usage_error("-c c.png -o o.png", "missing -s");
    usage_error("-c c.png -s s.png", "missing -o");
    usage_error("-c c.png -s s.png -o o.png stray", "unexpected argument 'stray'");
    usage_error("-c c.png -s s.png -o o.png --seed -3", "--seed");
    usage_error("-c c.png -s s.png -o o.png --bits 12", "8 or 16");
    CHECK_OK(parse("-c c.png -s s.png -o o.png --bits 16", &o, &a));
    CHECK(o.output_bits == 16, "--bits 16");

    /* size pyramid and line search */
    CHECK(o.line_search == CLSTYLE_LS_BACKTRACK && o.n_sizes == 0, "pyramid and line search defaults");
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 192,384 --iterations 150,50 --line-search wolfe", &o, &a));
    CHECK(o.n_sizes == 2 && o.sizes[0] == 192 && o.sizes[1] == 384 && o.size == 384, "--size list");
    CHECK(o.n_scale_iterations == 2 && o.scale_iterations[0] == 150 && o.scale_iterations[1] == 50, "--iterations list");
    CHECK(o.line_search == CLSTYLE_LS_WOLFE, "--line-search wolfe");
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 128,256,512 --iterations 30 --line-search none", &o, &a));
    CHECK(o.n_sizes == 3 && o.iterations == 30 && o.n_scale_iterations == 1 && o.line_search == CLSTYLE_LS_NONE, "one count for all");
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 300", &o, &a));
    CHECK(o.n_sizes == 0 && o.size == 300, "one size is no pyramid");
    usage_error("-c c.png -s s.png -o o.png --size 128,256 --iterations 1,2,3", "3 counts given for 2 sizes");
    usage_error("-c c.png -s s.png -o o.png --iterations 100,50", "2 counts given for 1 size");
    usage_error("-c c.png -s s.png -o o.png --size 128,,256", "--size");
    usage_error("-c c.png -s s.png -o o.png --size 128,8", "--size");
    usage_error("-c c.png -s s.png -o o.png --size 16,32,48,64,80,96,112,128,144", "at most 8");
    usage_error("-c c.png -s s.png -o o.png --line-search armijo", "none, backtrack or wolfe");
    return tu_done("cli");
}
