/* Embedding clstyle: style several photos with one painting through one
 * session, using only the installed public header and library.
 *   cc embed.c $(pkg-config --cflags --libs clstyle) -o embed
 *   ./embed WEIGHTS STYLE OUTPUT_PREFIX PHOTO...      (writes OUTPUT_PREFIX1.png, ...) */
#include <stdio.h>

#include <clstyle.h>

/* Prints the losses every 10 iterations; returning nonzero would stop the job. */
static int progress(const clstyle_event *e, void *user)
{
    (void)user;
    if (e->kind == CLSTYLE_EVENT_EVAL && !e->trial && e->iteration % 10 == 0)
        printf("  iteration %d: loss %.4f\n", e->iteration, e->loss);
    if (e->kind == CLSTYLE_EVENT_START)
        printf("  %dx%d on %s; style targets %s\n", e->scale_info->width, e->scale_info->height, e->scale_info->device,
               e->scale_info->targets_reused ? "reused" : "computed");
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "embed: %s: %s\n", what, clstyle_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: embed WEIGHTS STYLE OUTPUT_PREFIX PHOTO...\n");
        return 2;
    }
    clstyle_session_options so;
    clstyle_session_options_default(&so);
    so.weights_path = argv[1];
    clstyle_session *s;
    if (clstyle_session_open(&so, &s) != CLSTYLE_OK) return fail("session");

    clstyle_image *style;
    if (clstyle_image_load(argv[2], 0, &style) != CLSTYLE_OK) return fail(argv[2]);
    clstyle_styles_options yo;
    clstyle_styles_options_default(&yo);
    yo.images = (const clstyle_image *const *)&style;
    yo.n_images = 1;
    clstyle_styles *st;
    if (clstyle_styles_create(s, &yo, &st) != CLSTYLE_OK) return fail("style set");

    clstyle_job_options jo;
    clstyle_job_options_default(&jo);
    jo.size = 64;
    jo.iteration_count = 20;
    jo.callback = progress;
    for (int i = 4; i < argc; i++) {
        clstyle_image *photo, *out;
        char name[4096];
        printf("%s\n", argv[i]);
        if (clstyle_image_load(argv[i], 0, &photo) != CLSTYLE_OK) return fail(argv[i]);
        if (clstyle_job_run(s, st, photo, &jo, &out) != CLSTYLE_OK) return fail("job");
        snprintf(name, sizeof name, "%s%d.png", argv[3], i - 3);
        if (clstyle_image_save(out, name, 8, 92) != CLSTYLE_OK) return fail(name);
        clstyle_image_free(out);
        clstyle_image_free(photo);
    }
    clstyle_styles_free(st);
    clstyle_image_free(style);
    clstyle_session_close(s);
    return 0;
}
