/* The session API, through the public header only (plus the test helpers):
 *   reuse    three contents through one session and style set: the first
 *            job sets up, the next two reuse the weights upload, the program
 *            and the style targets, and each result equals a fresh session's
 *            to the bit;
 *   threads  a reference and an OpenCL session styling in two threads at
 *            once give, to the bit, what the same jobs give one after the other;
 *   api      images from memory (8-, 16-bit, float, strided), weights from
 *            memory, the callback stopping a job before and during its
 *            iterations, cancellation, bad arguments.
 * usage: test_session reuse|threads|api BACKEND EXAMPLES_DIR (weights: $CLSTYLE_WEIGHTS) */
#include <pthread.h>
#include <stdint.h>

#include "clstyle.h"
#include "testutil.h"

static const char *examples;

static clstyle_image *load(const char *name)
{
    char path[4096];
    clstyle_image *im = NULL;
    snprintf(path, sizeof path, "%s/%s", examples, name);
    CHECK_OK(clstyle_image_load(path, 0, &im));
    if (!im) exit(1);
    return im;
}

static const char *weights(void)
{
    const char *w = getenv("CLSTYLE_WEIGHTS");
    if (!w || !*w) SKIP("CLSTYLE_WEIGHTS is not set");
    return w;
}

static clstyle_session *open_session(int backend)
{
    clstyle_session_options so;
    clstyle_session *s = NULL;
    clstyle_session_options_default(&so);
    so.backend = backend;
    so.weights_path = weights();
    so.device = getenv("CLSTYLE_DEVICE");
    /* One convolution algorithm for every session: each session without a
     * cache measures its own choice, and where two algorithms time alike
     * (PoCL's first layer) sessions picked differently, so that pictures
     * parted by their rounding, amplified by L-BFGS up to 0.02. */
    so.conv = "direct";
    clstyle_status st = clstyle_session_open(&so, &s);
    if (st == CLSTYLE_ERR_DEVICE) SKIP("no OpenCL device: %s", clstyle_last_error());
    CHECK_OK(st);
    if (!s) exit(1);
    return s;
}

static clstyle_styles *style_set(clstyle_session *s, clstyle_image *style)
{
    clstyle_styles_options yo;
    clstyle_styles *st = NULL;
    clstyle_styles_options_default(&yo);
    yo.images = (const clstyle_image *const[]){ style };
    yo.n_images = 1;
    CHECK_OK(clstyle_styles_create(s, &yo, &st));
    if (!st) exit(1);
    return st;
}

/* What the START events of a job said. */
typedef struct {
    int starts, targets_reused, weights_reused, program_reused, evals;
    double session_ms, targets_ms;
    int stop_at_phase, stop_at_iter; /* ask to stop there (-1: never) */
    int pictures;
} seen;

static int on_event(const clstyle_event *e, void *user)
{
    seen *v = user;
    if (e->kind == CLSTYLE_EVENT_PHASE) return v->stop_at_phase-- == 0;
    if (e->kind == CLSTYLE_EVENT_START) {
        const clstyle_scale_info *i = e->scale_info;
        v->starts++;
        v->targets_reused = i->targets_reused;
        v->weights_reused = i->weights_reused;
        v->program_reused = i->program_reused;
        v->session_ms = i->session_ms;
        v->targets_ms = i->targets_ms;
    }
    if (e->kind == CLSTYLE_EVENT_EVAL && !e->trial) {
        v->evals++;
        v->pictures += e->picture != NULL;
        return e->iteration == v->stop_at_iter;
    }
    return 0;
}

static clstyle_image *run(clstyle_session *s, clstyle_styles *st, const clstyle_image *content, int size, int its, seen *v,
                          clstyle_status want)
{
    clstyle_job_options jo;
    clstyle_image *out = NULL;
    clstyle_job_options_default(&jo);
    jo.size = size;
    jo.iteration_count = its;
    jo.callback = on_event;
    jo.user = v;
    clstyle_status got = clstyle_job_run(s, st, content, &jo, &out);
    CHECK(got == want, "job: %s, want %s (%s)", clstyle_status_str(got), clstyle_status_str(want), clstyle_last_error());
    return out;
}

/* Pictures equal to the bit on the reference backend. PoCL is not
 * bit-reproducible from one OpenCL context to the next in one process
 * (measured: two sessions one after the other part by ~1e-4 after a few
 * L-BFGS iterations, the same jobs in one session not at all), so there
 * the pictures must agree to `opencl_tolerance` (max abs, pixels in [0,1]). */
static double opencl_tolerance = 0;

static int same(const clstyle_image *a, const clstyle_image *b)
{
    int w = clstyle_image_width(a), h = clstyle_image_height(a);
    if (w != clstyle_image_width(b) || h != clstyle_image_height(b)) return 0;
    size_t n = (size_t)w * h * 3;
    float *pa = malloc(n * 4), *pb = malloc(n * 4);
    clstyle_image_to_pixels(a, CLSTYLE_PIXELS_F32, pa, 0);
    clstyle_image_to_pixels(b, CLSTYLE_PIXELS_F32, pb, 0);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)pa[i] - pb[i]));
    free(pa);
    free(pb);
    if (worst > 0) fprintf(stderr, "  pictures differ by %.3g at most\n", worst);
    return worst <= opencl_tolerance;
}

static void test_reuse(int backend)
{
    const char *names[3] = { "tubingen.png", "golden_gate.png", "the_scream.png" };
    clstyle_image *style = load("starry_night.png");
    clstyle_session *s = open_session(backend);
    clstyle_styles *st = style_set(s, style);
    for (int k = 0; k < 3; k++) {
        clstyle_image *content = load(names[k]);
        seen v = { .stop_at_phase = -1, .stop_at_iter = -1 };
        clstyle_image *out = run(s, st, content, 48, 4, &v, CLSTYLE_OK);
        fprintf(stderr, "picture %d: session %.1f ms, targets %.1f ms, reused weights %d program %d targets %d\n", k + 1,
                v.session_ms, v.targets_ms, v.weights_reused, v.program_reused, v.targets_reused);
        CHECK(v.starts == 1 && v.evals == 5, "picture %d: %d starts, %d evaluations", k + 1, v.starts, v.evals);
        int later = k > 0;
        CHECK(v.weights_reused == later && v.program_reused == later && v.targets_reused == later,
              "picture %d: reused weights %d program %d targets %d", k + 1, v.weights_reused, v.program_reused, v.targets_reused);
        CHECK(later ? v.session_ms == 0 : v.session_ms > 0, "picture %d: session setup %.1f ms", k + 1, v.session_ms);
        /* A fresh session computes everything anew: the reused targets are the same numbers. */
        clstyle_session *fresh = open_session(backend);
        clstyle_styles *fst = style_set(fresh, style);
        seen w = { .stop_at_phase = -1, .stop_at_iter = -1 };
        clstyle_image *ref = run(fresh, fst, content, 48, 4, &w, CLSTYLE_OK);
        CHECK(out && ref && same(out, ref), "picture %d differs from a fresh session's", k + 1);
        clstyle_image_free(ref);
        clstyle_styles_free(fst);
        clstyle_session_close(fresh);
        clstyle_image_free(out);
        clstyle_image_free(content);
    }
    clstyle_styles_free(st);
    clstyle_session_close(s);
    clstyle_image_free(style);
}

/* ---- two sessions in two threads ---- */

typedef struct {
    int backend;
    clstyle_image *content, *style, *out[2];
    clstyle_status st;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    clstyle_session *s = open_session(w->backend);
    clstyle_styles *st = style_set(s, w->style);
    for (int k = 0; k < 2; k++) {
        clstyle_job_options jo;
        clstyle_job_options_default(&jo);
        jo.size = 40 + 16 * k;
        jo.iteration_count = 5;
        jo.callback = on_event;
        seen v = { .stop_at_phase = -1, .stop_at_iter = -1 };
        jo.user = &v;
        w->st = clstyle_job_run(s, st, w->content, &jo, &w->out[k]);
        if (w->st != CLSTYLE_OK) break;
    }
    clstyle_styles_free(st);
    clstyle_session_close(s);
    return NULL;
}

static void test_threads(void)
{
    opencl_tolerance = 0; /* the reference pair below is compared first, exactly */
    clstyle_image *content = load("tubingen.png"), *style = load("starry_night.png");
    worker seq[2] = { { CLSTYLE_BACKEND_REFERENCE, content, style, { 0 }, 0 }, { CLSTYLE_BACKEND_OPENCL, content, style, { 0 }, 0 } };
    worker par[2] = { seq[0], seq[1] };
    clstyle_session_close(open_session(CLSTYLE_BACKEND_OPENCL)); /* skips without a device, before any thread */
    work(&seq[0]);
    work(&seq[1]);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, work, &par[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        opencl_tolerance = i ? 2e-3 : 0;
        CHECK(seq[i].st == CLSTYLE_OK && par[i].st == CLSTYLE_OK, "backend %d: %s / %s", i, clstyle_status_str(seq[i].st),
              clstyle_status_str(par[i].st));
        for (int k = 0; k < 2; k++) {
            CHECK(seq[i].out[k] && par[i].out[k] && same(seq[i].out[k], par[i].out[k]),
                  "backend %d job %d: in parallel it differs from one after the other", i, k);
            clstyle_image_free(seq[i].out[k]);
            clstyle_image_free(par[i].out[k]);
        }
    }
    clstyle_image_free(content);
    clstyle_image_free(style);
}

/* ---- the rest of the API ---- */

static void test_pixels(void)
{
    enum { W = 5, H = 3 };
    uint8_t u8[H][32];
    uint16_t u16[H][W * 3];
    float f[H * W * 3];
    memset(u8, 0, sizeof u8);
    for (int y = 0; y < H; y++)
        for (int i = 0; i < W * 3; i++) {
            u8[y][i] = (uint8_t)(y * 40 + i * 7);
            u16[y][i] = (uint16_t)(u8[y][i] * 257);
        }
    clstyle_image *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(clstyle_image_from_pixels(u8, CLSTYLE_PIXELS_U8, W, H, sizeof u8[0], &a)); /* a padded stride */
    CHECK_OK(clstyle_image_from_pixels(u16, CLSTYLE_PIXELS_U16, W, H, 0, &b));
    CHECK(a && b && same(a, b), "8-bit and 16-bit pixels of the same values differ");
    CHECK_OK(clstyle_image_to_pixels(a, CLSTYLE_PIXELS_F32, f, 0));
    CHECK_OK(clstyle_image_from_pixels(f, CLSTYLE_PIXELS_F32, W, H, 0, &c));
    CHECK(c && same(a, c), "float round trip");
    uint8_t back[H][32];
    memset(back, 0, sizeof back);
    CHECK_OK(clstyle_image_to_pixels(c, CLSTYLE_PIXELS_U8, back, sizeof back[0]));
    CHECK(!memcmp(back, u8, sizeof u8), "8-bit round trip");
    clstyle_image *bad = NULL;
    CHECK(clstyle_image_from_pixels(u8, CLSTYLE_PIXELS_U8, W, H, 4, &bad) == CLSTYLE_ERR_USAGE && !bad, "a stride below a row");
    clstyle_image_free(a);
    clstyle_image_free(b);
    clstyle_image_free(c);
}

static void *read_all(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    void *data = malloc(*n);
    if (data && fread(data, 1, *n, fp) != *n) {
        free(data);
        data = NULL;
    }
    fclose(fp);
    return data;
}

static void test_api(int backend)
{
    test_pixels();
    clstyle_image *content = load("tubingen.png"), *style = load("starry_night.png");
    clstyle_session *s = open_session(backend);
    clstyle_styles *st = style_set(s, style);
    seen v = { .stop_at_phase = -1, .stop_at_iter = -1 };
    clstyle_image *by_path = run(s, st, content, 40, 3, &v, CLSTYLE_OK);

    /* The weights from memory give the same picture. */
    clstyle_session_options so;
    clstyle_session *m = NULL;
    size_t n = 0;
    void *data = read_all(weights(), &n);
    CHECK(data != NULL, "cannot read the weights");
    clstyle_session_options_default(&so);
    so.backend = backend;
    so.weights_data = data;
    so.weights_size = n;
    CHECK_OK(clstyle_session_open(&so, &m));
    if (m) {
        clstyle_styles *mst = style_set(m, style);
        seen w = { .stop_at_phase = -1, .stop_at_iter = -1 };
        clstyle_image *by_memory = run(m, mst, content, 40, 3, &w, CLSTYLE_OK);
        CHECK(by_path && by_memory && same(by_path, by_memory), "weights from memory give another picture");
        clstyle_image_free(by_memory);
        clstyle_styles_free(mst);
        clstyle_session_close(m);
    }
    free(data);

    /* Stopped in the setup: nothing; during the iterations: the picture so far. */
    seen early = { .stop_at_phase = 1, .stop_at_iter = -1 };
    clstyle_image *none = run(s, st, content, 40, 3, &early, CLSTYLE_ERR_INTERRUPTED);
    CHECK(!none && early.evals == 0, "a job stopped in its setup handed out a picture");
    seen late = { .stop_at_phase = -1, .stop_at_iter = 2 };
    clstyle_image *part = run(s, st, content, 40, 50, &late, CLSTYLE_ERR_INTERRUPTED);
    CHECK(part && late.evals == 3, "a job stopped at iteration 2: %d evaluations, picture %p", late.evals, (void *)part);
    clstyle_image_free(part);
    /* A cancel between jobs stops the next in its setup; then the session works again. */
    clstyle_session_cancel(s);
    seen c1 = { .stop_at_phase = -1, .stop_at_iter = -1 };
    clstyle_image *cancelled = run(s, st, content, 40, 3, &c1, CLSTYLE_ERR_INTERRUPTED);
    CHECK(!cancelled, "a cancelled job handed out a picture");
    seen c2 = { .stop_at_phase = -1, .stop_at_iter = -1 };
    clstyle_image *again = run(s, st, content, 40, 3, &c2, CLSTYLE_OK);
    CHECK(again && same(again, by_path), "after a cancel the session styles differently");
    clstyle_image_free(again);

    /* Pictures every 2 iterations; bad options refused. */
    clstyle_job_options jo;
    clstyle_image *out = NULL;
    seen p = { .stop_at_phase = -1, .stop_at_iter = -1 };
    clstyle_job_options_default(&jo);
    jo.size = 40;
    jo.iteration_count = 4;
    jo.picture_every = 2;
    jo.callback = on_event;
    jo.user = &p;
    CHECK_OK(clstyle_job_run(s, st, content, &jo, &out));
    CHECK(p.pictures == 2, "%d pictures for 4 iterations every 2", p.pictures);
    clstyle_image_free(out);
    jo.struct_size = 3;
    CHECK(clstyle_job_run(s, st, content, &jo, &out) == CLSTYLE_ERR_USAGE, "options without struct_size");
    clstyle_job_options_default(&jo);
    const char *layer = "relu9_9";
    jo.content_layers = &layer;
    jo.n_content_layers = 1;
    CHECK(clstyle_job_run(s, st, content, &jo, &out) == CLSTYLE_ERR_USAGE && !out, "unknown content layer");

    clstyle_image_free(by_path);
    clstyle_styles_free(st);
    clstyle_session_close(s);
    clstyle_image_free(content);
    clstyle_image_free(style);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_session reuse|threads|api reference|opencl EXAMPLES_DIR\n");
        return 2;
    }
    examples = argv[3];
    int backend = strcmp(argv[2], "reference") ? CLSTYLE_BACKEND_OPENCL : CLSTYLE_BACKEND_REFERENCE;
    if (backend == CLSTYLE_BACKEND_OPENCL) opencl_tolerance = 2e-3;
    if (!strcmp(argv[1], "reuse")) test_reuse(backend);
    else if (!strcmp(argv[1], "threads")) test_threads();
    else test_api(backend);
    return tu_done(argv[1]);
}
