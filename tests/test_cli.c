/* Unit tests: command-line parsing and validation. */
#include "testutil.h"
#include "clstyle.h"
#include "cli.h"
#include "pyramid.h"

/* Parses a space-separated command line (no quoting needed here). */
static clstyle_status parse(const char *line, cs_options *o, int *action)
{
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "clstyle %s", line);
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc] = NULL;
    return cs_parse_args(argc, argv, o, action);
}

static void ok(const char *line)
{
    cs_options o;
    int a;
    clstyle_status st = parse(line, &o, &a);
    CHECK(st == CLSTYLE_OK, "'%s' rejected: %s", line, clstyle_last_error());
}

static void usage_error(const char *line, const char *needle)
{
    cs_options o;
    int a;
    clstyle_status st = parse(line, &o, &a);
    CHECK(st == CLSTYLE_ERR_USAGE, "'%s' accepted", line);
    CHECK(strstr(clstyle_last_error(), needle) != NULL, "'%s': message '%s' lacks '%s'", line, clstyle_last_error(), needle);
    CHECK(strchr(clstyle_last_error(), '\n') == NULL, "message is one line");
}

/* "  -c, --content ..." or "      --size ...", not a continuation line. */
static int option_line(const char *l)
{
    return !strncmp(l, "  -", 3) || !strncmp(l, "      --", 8);
}

/* Every row of the option table has exactly one line in --help, showing its
 * short name, argument and default; every option line of --help is a row;
 * each default parses; a value option needs its value and a flag takes none. */
static void help_matches_table(void)
{
    int n, lines = 0;
    const cs_option *t = cs_option_table(&n);
    const char *usage = cs_usage();
    for (const char *l = usage; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (option_line(l)) lines++;
    CHECK(lines == n, "--help has %d option lines for %d table rows", lines, n);
    for (int i = 0; i < n; i++) {
        char head[128], line[512] = "";
        snprintf(head, sizeof head, "\n  %s%s%s%s%s", t[i].short_name ? t[i].short_name : "    ",
                 t[i].short_name ? ", " : "", t[i].name, t[i].arg ? " " : "", t[i].arg ? t[i].arg : "");
        const char *at = strstr(usage, head), *next;
        CHECK(at && (at[strlen(head)] == ' ' || at[strlen(head)] == '\n'), "--help lacks '%s'", head + 1);
        if (!at) continue;
        CHECK(!strstr(at + 1, head), "'%s' appears twice in --help", head + 1);
        for (next = strchr(at + 1, '\n'); next && !option_line(next + 1);) next = strchr(next + 1, '\n');
        snprintf(line, sizeof line, "%.*s", next ? (int)(next - at) : (int)strlen(at), at);
        if (t[i].def) {
            char def[128], cmd[256];
            snprintf(def, sizeof def, "(%s)", t[i].def);
            CHECK(strstr(line, def) != NULL, "--help row of %s lacks its default %s", t[i].name, def);
            snprintf(cmd, sizeof cmd, "-c c.png -s s.png -o o.jpg %s=%s", t[i].name, t[i].def);
            ok(cmd);
        }
        char cmd[256];
        cs_options o;
        int a;
        snprintf(cmd, sizeof cmd, t[i].arg ? "-c c.png -s s.png -o o.png %s" : "%s=1", t[i].name);
        CHECK(parse(cmd, &o, &a) == CLSTYLE_ERR_USAGE, "'%s' accepted", cmd);
        CHECK(strstr(clstyle_last_error(), t[i].arg ? "needs a value" : "takes no value") != NULL, "'%s': %s", cmd,
              clstyle_last_error());
    }
}

/* Options for the size pyramid, tiling, memory, line search, JPEG and input limits. */
static void new_options(void)
{
    cs_options o;
    int a;
    CHECK_OK(parse("-c c.png -s s.png -o o.png", &o, &a));
    CHECK(o.n_sizes == 0 && o.n_scale_iterations == 0 && o.tile == 0 && o.max_memory_mb == 0, "pyramid/tile defaults");
    CHECK(o.line_search == CLSTYLE_LS_BACKTRACK && o.jpeg_quality == 92 && o.max_input_megapixels == 100 && !o.clamp_off,
          "defaults");
    CHECK_OK(parse("-c c.png -s s.png -o o.jpg --size 128,256,512 --iterations 100,50,20 --tile 256 --max-memory 1.5 "
                   "--line-search wolfe --quality 75 --max-input-mp 2.5 --clamp off", &o, &a));
    CHECK(o.n_sizes == 3 && o.sizes[0] == 128 && o.sizes[2] == 512 && o.size == 512, "sizes");
    CHECK(o.n_scale_iterations == 3 && o.iterations == 100 && o.scale_iterations[2] == 20, "iterations per scale");
    CHECK(o.tile == 256 && o.max_memory_mb == 1.5 && o.line_search == CLSTYLE_LS_WOLFE && o.clamp_off, "tile, memory, line search, clamp");
    CHECK(o.jpeg_quality == 75 && o.max_input_megapixels == 2.5, "quality, input limit");
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 128,256 --iterations 40 --line-search none", &o, &a));
    CHECK(o.n_sizes == 2 && o.iterations == 40 && o.n_scale_iterations == 0 && o.line_search == CLSTYLE_LS_NONE, "one count");
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 128,256 --size 300", &o, &a));
    CHECK(o.n_sizes == 0 && o.size == 300, "a later single --size replaces the list");

    usage_error("-c c.png -s s.png -o o.png --iterations 100,50", "2 counts given for 1 size");
    usage_error("-c c.png -s s.png -o o.png --quality 80", "is a PNG output"); /* it would be ignored */
    usage_error("-c c.png -s s.png -o o.png --size 64,128,256 --iterations 1,2", "2 counts given for 3 size");
    usage_error("-c c.png -s s.png -o o.png --size 8,256", "--size");
    usage_error("-c c.png -s s.png -o o.png --size 16,32,48,64,80,96,112,128,144", "at most 8 items");
    usage_error("-c c.png -s s.png -o o.png --size 128,,256", "without empty items");
    usage_error("-c c.png -s s.png -o o.png --size 128,", "without empty items");
    usage_error("-c c.png -s s.png -o o.png --iterations ,5", "without empty items");
    usage_error("-c c.png -s s.png -o o.png --tile 100", "multiple of 16");
    usage_error("-c c.png -s s.png -o o.png --tile 0", "--tile");
    usage_error("-c c.png -s s.png -o o.png --max-memory 0", "--max-memory");
    usage_error("-c c.png -s s.png -o o.png --line-search armijo", "none, backtrack or wolfe");
    usage_error("-c c.png -s s.png -o o.png --quality 0", "--quality");
    usage_error("-c c.png -s s.png -o o.png --quality 101", "--quality");
    usage_error("-c c.png -s s.png -o o.png --max-input-mp 0", "--max-input-mp");
    usage_error("-c c.png -s s.png -o o.JPG --bits 16", "--bits 16: o.JPG is a JPEG output");
    usage_error("-c c.png -s a.png,b.png,c.png -o o.png --style-blend 1,,2", "without empty items");
    usage_error("-c c.png -s a.png,,b.png -o o.png", "without empty items");
    usage_error("-c c.png -s s.png -o o.png --style-layers relu1_1,,relu2_1", "without empty items");
    usage_error("-c c.png -s s.png -o o.png --content-layers relu4_2,relu4_2:2", "without weights");
}

/* --size N alone over 512 px plans N/4, N/2, N (the last half the count,
 * each smaller one twice the next one's, at most twice the count); --single,
 * a list, 512 px, --iterations 0 or an --init picture keep one scale. */
/* The coarse term: on in the automatic pyramid, off with a list unless asked, refused where it cannot apply. */
static void coarse_weight(void)
{
    cs_options o;
    int a;
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 1024", &o, &a));
    CHECK(o.coarse_weight == CS_PYRAMID_COARSE_WEIGHT, "automatic pyramid: coarse weight %g", o.coarse_weight);
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 1024 --coarse-weight 0", &o, &a));
    CHECK(o.coarse_weight == 0 && o.n_sizes == 3, "--coarse-weight 0 turns it off (%g)", o.coarse_weight);
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 256,512,1024", &o, &a));
    CHECK(o.coarse_weight == 0, "a --size list without --coarse-weight: %g", o.coarse_weight);
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 300,600,1201 --coarse-weight 0.5", &o, &a));
    CHECK(o.coarse_weight == 0.5, "a list that halves (floored) to its first size takes it: %g", o.coarse_weight);
    usage_error("-c c.png -s s.png -o o.png --size 256,700 --coarse-weight 1", "700 px does not halve to 256 px");
    usage_error("-c c.png -s s.png -o o.png --size 512 --coarse-weight 1", "one scale has no coarse term");
    usage_error("-c c.png -s s.png -o o.png --size 1024 --single --coarse-weight 1", "one scale has no coarse term");
}

static void auto_pyramid(void)
{
    cs_options o;
    int a;
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 1024 --iterations 100", &o, &a));
    CHECK(o.auto_pyramid && o.n_sizes == 3 && o.sizes[0] == 256 && o.sizes[1] == 512 && o.sizes[2] == 1024 && o.size == 1024,
          "1024 px: %d scales from %d", o.n_sizes, o.sizes[0]);
    CHECK(o.n_scale_iterations == 3 && o.scale_iterations[0] == 100 && o.scale_iterations[1] == 50 &&
          o.scale_iterations[2] == 50, "1024 px: %d, %d, %d iterations", o.scale_iterations[0], o.scale_iterations[1],
          o.scale_iterations[2]);
    CHECK(o.n_scale_content_weights == 3 && o.scale_content_weights[0] == 4 && o.scale_content_weights[1] == 2 &&
          o.scale_content_weights[2] == 1,
          "1024 px: content weights %g .. %g", o.scale_content_weights[0], o.scale_content_weights[2]);
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 2048 --iterations 99", &o, &a));
    CHECK(o.n_sizes == 4 && o.sizes[0] == 256 && o.scale_iterations[0] == 198 && o.scale_iterations[1] == 100 &&
          o.scale_iterations[2] == 50 && o.scale_iterations[3] == 50, "2048 px: %d scales, %d at the first", o.n_sizes, o.scale_iterations[0]);
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 1000", &o, &a));
    CHECK(o.n_sizes == 2 && o.sizes[0] == 500 && o.scale_iterations[0] == 250 && o.scale_iterations[1] == 250,
          "1000 px: %d scales", o.n_sizes);
    const char *single[] = { "--size 1024 --init r.png", "--size 512", "--size 1024 --single", "--size 1024 --iterations 0",
                             "--size 300,1024" };
    for (int i = 0; i < 5; i++) {
        char line[128];
        snprintf(line, sizeof line, "-c c.png -s s.png -o o.png %s", single[i]);
        CHECK_OK(parse(line, &o, &a));
        CHECK(!o.auto_pyramid && o.n_sizes == (i == 4 ? 2 : 0), "'%s' planned %d scales", single[i], o.n_sizes);
    }
    usage_error("-c c.png -s s.png -o o.png --size 256,1024 --single", "--single: --size gives a list");
    usage_error("-c c.png -s s.png -o o.png --size 1024 --iterations 100,50", "2 counts given for 1 size");
    usage_error("-c c.png -s s.png -o o.png --size 1024 --content-weight 2,1", "2 weights given for 1 size");
    CHECK_OK(parse("-c c.png -s s.png -o o.png --size 256,512 --content-weight 3,1.5", &o, &a));
    CHECK(o.n_scale_content_weights == 2 && o.scale_content_weights[0] == 3 && o.content_weight == 1.5,
          "content weight per scale");
    coarse_weight();
}

/* The library's job and style-set defaults are the command line's: one set of defaults. */
static void library_defaults(void)
{
    cs_options o;
    clstyle_job_options j;
    clstyle_styles_options y;
    cs_options_default(&o);
    clstyle_job_options_default(&j);
    clstyle_styles_options_default(&y);
    CHECK(j.size == o.size && j.iteration_count == o.iterations && j.optimizer == o.optimizer &&
          j.learning_rate == o.learning_rate && j.lbfgs_history == o.lbfgs_history && j.line_search == o.line_search && j.clamp == !o.clamp_off,
          "job defaults differ from the command line's");
    CHECK(j.content_weight == o.content_weight && j.style_weight == o.style_weight && j.tv_weight == o.tv_weight,
          "loss weights: library %g %g %g, command line %g %g %g", j.content_weight, j.style_weight, j.tv_weight,
          o.content_weight, o.style_weight, o.tv_weight);
    CHECK(y.scale == o.style_scale && j.seed == o.seed && j.tile == o.tile, "style scale, seed, tile");
    CHECK(j.tolerance == o.tolerance && j.tolerance == 0 && j.tolerance_window == o.tolerance_window,
          "tolerance: library %g over %d, command line %g over %d", j.tolerance, j.tolerance_window, o.tolerance,
          o.tolerance_window);
}

int main(void)
{
    cs_options o;
    int a;
    library_defaults();
    auto_pyramid();
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
    help_matches_table();
    new_options();
    return tu_done("cli");
}
