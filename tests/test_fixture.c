/* Numbers from outside: iteration-0 loss terms and the input gradient on the
 * real VGG-19 weights must match PyTorch (tests/make_fixture.py, float64)
 * to 1e-4 relative. Arguments: backend (reference | opencl), fixture file,
 * case (default | blend: the options make_fixture.py used). */
#include <stdint.h>

#include "backend.h"
#include "cli.h"
#include "testutil.h"

typedef struct {
    int32_t h, w, n_styles, hs[2], ws[2];
    float *content, *style[2], *x, *grad;
    double alpha, beta, gamma, lc, ls, ltv, total;
} fixture;

static float *read_floats(FILE *f, size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (p && fread(p, sizeof *p, n, f) != n) { free(p); p = NULL; }
    return p;
}

static void free_fixture(fixture *fx)
{
    free(fx->content);
    for (int k = 0; k < 2; k++) free(fx->style[k]);
    free(fx->x);
    free(fx->grad);
    memset(fx, 0, sizeof *fx);
}

static int read_fixture(FILE *f, fixture *fx)
{
    int32_t hdr[4];
    if (fread(hdr, 4, 4, f) != 4 || hdr[0] != 0x43535446 || hdr[3] < 1 || hdr[3] > 2) return -1;
    fx->h = hdr[1]; fx->w = hdr[2]; fx->n_styles = hdr[3];
    for (int k = 0; k < fx->n_styles; k++)
        if (fread(&fx->hs[k], 4, 1, f) != 1 || fread(&fx->ws[k], 4, 1, f) != 1) return -1;
    size_t n = (size_t)3 * fx->h * fx->w;
    fx->content = read_floats(f, n);
    for (int k = 0; k < fx->n_styles; k++) fx->style[k] = read_floats(f, (size_t)3 * fx->hs[k] * fx->ws[k]);
    fx->x = read_floats(f, n);
    double v[7];
    if (fread(v, 8, 7, f) != 7) return -1;
    fx->alpha = v[0]; fx->beta = v[1]; fx->gamma = v[2];
    fx->lc = v[3]; fx->ls = v[4]; fx->ltv = v[5]; fx->total = v[6];
    fx->grad = read_floats(f, n);
    return fx->content && fx->style[0] && fx->x && fx->grad ? 0 : -1;
}

static int load_fixture(const char *path, fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    FILE *f = fopen(path, "rb");
    int r = f ? read_fixture(f, fx) : -1;
    if (f) fclose(f);
    if (r) free_fixture(fx);
    return r;
}

/* The options of make_fixture.py's case `name`; returns the pooling mode. */
static int case_options(const char *name, cs_options *o, double *blend)
{
    static const char *const content[] = { "conv4_2", "relu3_2" };
    static const char *const style[] = { "relu1_1", "relu2_1", "relu3_1", "conv4_1", "relu5_1" };
    static const double sw[] = { 1, 0.5, 2, 1, 1 };
    blend[0] = 1.0;
    if (strcmp(name, "blend")) return 0;
    blend[0] = 0.7;
    blend[1] = 0.3;
    o->n_content_layers = 2;
    for (int i = 0; i < 2; i++) o->content_layers[i] = content[i];
    for (int i = 0; i < 5; i++) {
        o->style_layers[i] = style[i];
        o->style_layer_weights[i] = sw[i];
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : "reference";
    const char *data = argc > 2 ? argv[2] : "tests/data/gatys_vgg19.bin";
    const char *which = argc > 3 ? argv[3] : "default";
    const char *wpath = tu_weights_or_skip();
    cs_backend *be = tu_backend(backend); /* first: a skip then leaves nothing allocated */
    fixture fx;
    if (load_fixture(data, &fx)) {
        fprintf(stderr, "cannot read fixture %s\n", data);
        cs_backend_destroy(be);
        return 1;
    }

    cs_weights w;
    CHECK_OK(cs_weights_load(wpath, NULL, &w));
    cs_options o;
    cs_options_default(&o);
    o.content_weight = fx.alpha; o.style_weight = fx.beta; o.tv_weight = fx.gamma;
    double blend[2];
    int avg = case_options(which, &o, blend);
    cs_net net;
    cs_eval L;
    CHECK_OK(cs_net_create(be, &w, avg, &net));
    cs_eval_image content = { fx.content, fx.w, fx.h }, style[2];
    for (int k = 0; k < fx.n_styles; k++) style[k] = (cs_eval_image){ fx.style[k], fx.ws[k], fx.hs[k] };
    CHECK_OK(cs_options_eval_init(&L, &net, &o, content, style, blend, fx.n_styles));
    size_t n = (size_t)3 * fx.h * fx.w;
    cs_buf *x, *g;
    CHECK_OK(CS_OP(be, alloc, n, &x));
    CHECK_OK(CS_OP(be, alloc, n, &g));
    CHECK_OK(CS_OP(be, upload, x, 0, fx.x, n));
    CHECK_OK(cs_eval_run(&L, x, g));
    float *grad = malloc(n * sizeof *grad);
    CHECK_OK(CS_OP(be, download, g, 0, grad, n));

    double tol = 1e-4;
    struct { const char *name; double got, want; } terms[] = {
        { "content", L.terms.content, fx.lc }, { "style", L.terms.style, fx.ls }, { "tv", L.terms.tv, fx.ltv }, { "total", L.terms.total, fx.total },
    };
    for (int i = 0; i < 4; i++) {
        double r = tu_reldiff(terms[i].got, terms[i].want, 1e-12);
        fprintf(stderr, "%-8s clstyle %.9g  pytorch %.9g  rel.diff %.2e\n", terms[i].name, terms[i].got, terms[i].want, r);
        CHECK(r < tol, "%s term differs by %.2e", terms[i].name, r);
    }
    double num = 0, den = 0, worst = 0, gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(fx.grad[i]));
    for (size_t i = 0; i < n; i++) {
        double d = (double)grad[i] - fx.grad[i];
        num += d * d;
        den += (double)fx.grad[i] * fx.grad[i];
        worst = fmax(worst, fabs(d) / gmax);
    }
    double rel = sqrt(num / den);
    fprintf(stderr, "gradient ||g - g_torch|| / ||g_torch|| = %.2e, max |diff| / max |g| = %.2e (%zu values)\n", rel, worst, n);
    CHECK(rel < tol, "gradient relative error %.2e", rel);
    CHECK(worst < tol, "worst gradient element off by %.2e of max", worst);

    free(grad);
    cs_buf_release(be, x);
    cs_buf_release(be, g);
    cs_eval_free(&L);
    cs_net_destroy(&net);
    cs_weights_free(&w);
    cs_backend_destroy(be);
    free_fixture(&fx);
    return tu_done("fixture");
}
