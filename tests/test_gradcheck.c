/* Gradients against central finite differences: every backward op of the
 * reference backend, then the whole loss on a small random VGG-16. Points
 * near ReLU kinks and max-pool ties are masked (where the function is not
 * differentiable the check means nothing). */
#include "backend.h"
#include "cli.h"
#include "eval.h"
#include "rng.h"
#include "testutil.h"

static cs_backend *be;
static cs_rng rng;

static cs_buf *buf_from(const float *host, size_t n)
{
    cs_buf *b;
    CHECK_OK(CS_OP(be, alloc, n, &b));
    if (host) CHECK_OK(CS_OP(be, upload, b, 0, host, n));
    return b;
}

static float *randv(size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = scale * cs_rng_normal(&rng);
    return p;
}

static double dotv(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* An op under test: forward gives f(x) = <r, op(x)>; backward the analytic gradient of f. */
typedef struct {
    const char *name;
    size_t nx, ny;
    double (*f)(const float *x);
    void (*grad)(const float *x, float *g);
    int (*masked)(const float *x, size_t i, float h);
} op_case;

static float *R, *W;          /* the random projection and conv weights */
static int CI = 3, CO = 5, H = 7, Wd = 6;

static double run_fwd(const float *x, int which)
{
    size_t nx = (size_t)CI * H * Wd, ny = which == 0 ? (size_t)CO * H * Wd : which == 1 ? nx : (size_t)CI * (H / 2) * (Wd / 2);
    cs_buf *bx = buf_from(x, nx), *by = buf_from(NULL, ny), *bw = buf_from(W, (size_t)CO * CI * 9);
    if (which == 0) CHECK_OK(CS_OP(be, conv3x3, bx, bw, NULL, by, CI, CO, H, Wd, 0));
    if (which == 1) { CHECK_OK(CS_OP(be, copy, bx, by, nx)); CHECK_OK(CS_OP(be, bias_relu, by, NULL, CI, H * Wd, 1)); }
    if (which >= 2) CHECK_OK(CS_OP(be, pool, bx, by, CI, H, Wd, which == 3));
    float *y = malloc(ny * sizeof *y);
    CHECK_OK(CS_OP(be, download, by, 0, y, ny));
    double f = dotv(R, y, ny);
    free(y);
    cs_buf_release(be, bx); cs_buf_release(be, by); cs_buf_release(be, bw);
    return f;
}

static void run_bwd(const float *x, float *g, int which)
{
    size_t nx = (size_t)CI * H * Wd, ny = which == 0 ? (size_t)CO * H * Wd : which == 1 ? nx : (size_t)CI * (H / 2) * (Wd / 2);
    cs_buf *bx = buf_from(x, nx), *br = buf_from(R, ny), *bg = buf_from(NULL, nx), *bw = buf_from(W, (size_t)CO * CI * 9);
    if (which == 0) CHECK_OK(CS_OP(be, conv3x3_bwd, br, bw, bg, CI, CO, H, Wd));
    if (which == 1) {
        cs_buf *by = buf_from(x, nx);
        CHECK_OK(CS_OP(be, bias_relu, by, NULL, CI, H * Wd, 1));
        CHECK_OK(CS_OP(be, relu_bwd, by, br, nx));
        CHECK_OK(CS_OP(be, copy, br, bg, nx));
        cs_buf_release(be, by);
    }
    if (which >= 2) CHECK_OK(CS_OP(be, pool_bwd, bx, br, bg, CI, H, Wd, which == 3, 0));
    CHECK_OK(CS_OP(be, download, bg, 0, g, nx));
    cs_buf_release(be, bx); cs_buf_release(be, br); cs_buf_release(be, bg); cs_buf_release(be, bw);
}

static double f_conv(const float *x) { return run_fwd(x, 0); }
static double f_relu(const float *x) { return run_fwd(x, 1); }
static double f_maxpool(const float *x) { return run_fwd(x, 2); }
static double f_avgpool(const float *x) { return run_fwd(x, 3); }
static void g_conv(const float *x, float *g) { run_bwd(x, g, 0); }
static void g_relu(const float *x, float *g) { run_bwd(x, g, 1); }
static void g_maxpool(const float *x, float *g) { run_bwd(x, g, 2); }
static void g_avgpool(const float *x, float *g) { run_bwd(x, g, 3); }

static int mask_relu(const float *x, size_t i, float h) { return fabsf(x[i]) < 2 * h; }

/* A max-pool window whose two largest values are within 2h can swap winners. */
static int mask_pool(const float *x, size_t i, float h)
{
    int c = (int)(i / (H * Wd)), r = (int)(i % (H * Wd)), p = r / Wd, q = r % Wd, a = p / 2, b = q / 2;
    if (a >= H / 2 || b >= Wd / 2) return 0;
    float v[4];
    for (int d = 0; d < 4; d++) v[d] = x[((size_t)c * H + 2 * a + d / 2) * Wd + 2 * b + d % 2];
    for (int d = 0; d < 4; d++)
        for (int e = d + 1; e < 4; e++)
            if (fabsf(v[d] - v[e]) < 2 * h) return 1;
    return 0;
}

/* Gram: f(F) = <R, gram(F)> with R symmetric (c x c); F is (CI, H*Wd). */
static double f_gram(const float *x)
{
    int m = H * Wd;
    cs_buf *bf = buf_from(x, (size_t)CI * m), *bg = buf_from(NULL, (size_t)CI * CI);
    CHECK_OK(CS_OP(be, gram, bf, bg, CI, m));
    float g[64];
    CHECK_OK(CS_OP(be, download, bg, 0, g, (size_t)CI * CI));
    cs_buf_release(be, bf); cs_buf_release(be, bg);
    return dotv(R, g, (size_t)CI * CI);
}

static void g_gram(const float *x, float *g)
{
    int m = H * Wd;
    float sym[64];
    for (int a = 0; a < CI; a++)
        for (int b = 0; b < CI; b++) sym[a * CI + b] = 0.5f * (R[a * CI + b] + R[b * CI + a]);
    cs_buf *bf = buf_from(x, (size_t)CI * m), *br = buf_from(sym, (size_t)CI * CI), *bd = buf_from(NULL, (size_t)CI * m);
    CHECK_OK(CS_OP(be, gram_bwd, br, bf, bd, CI, m));
    CHECK_OK(CS_OP(be, download, bd, 0, g, (size_t)CI * m));
    cs_buf_release(be, bf); cs_buf_release(be, br); cs_buf_release(be, bd);
}

/* sqdiff: f(a) = sum (a-R)^2, gradient 2(a-R). */
static double sq_common(const float *x, float *g)
{
    size_t n = (size_t)CI * H * Wd;
    cs_buf *ba = buf_from(x, n), *bb = buf_from(R, n), *bg = buf_from(NULL, n);
    double s;
    CHECK_OK(CS_OP(be, sqdiff, ba, bb, n, 2.0f, g ? bg : NULL, &s));
    if (g) CHECK_OK(CS_OP(be, download, bg, 0, g, n));
    cs_buf_release(be, ba); cs_buf_release(be, bb); cs_buf_release(be, bg);
    return s;
}
static double f_sq(const float *x) { return sq_common(x, NULL); }
static void g_sq(const float *x, float *g) { sq_common(x, g); }

static double tv_common(const float *x, float *g)
{
    size_t n = (size_t)CI * H * Wd;
    cs_buf *bx = buf_from(x, n), *bg = buf_from(NULL, n);
    double v;
    CHECK_OK(CS_OP(be, tv, bx, CI, H, Wd, 1.0f, g ? bg : NULL, &v));
    if (g) CHECK_OK(CS_OP(be, download, bg, 0, g, n));
    cs_buf_release(be, bx); cs_buf_release(be, bg);
    return v;
}
static double f_tv(const float *x) { return tv_common(x, NULL); }
static void g_tv(const float *x, float *g) { tv_common(x, g); }

/* masked_sqdiff: f(a) = sum m (a-R)^2 with m over positions, gradient 2 m (a-R). */
static double msq_common(const float *x, float *g)
{
    size_t hw = (size_t)H * Wd, n = (size_t)CI * hw;
    cs_buf *ba = buf_from(x, n), *bb = buf_from(R, n), *bm = buf_from(W, hw), *bg = buf_from(NULL, n);
    double s;
    CHECK_OK(CS_OP(be, masked_sqdiff, ba, bb, bm, hw, n, 2.0f, g ? bg : NULL, &s));
    if (g) CHECK_OK(CS_OP(be, download, bg, 0, g, n));
    cs_buf_release(be, ba); cs_buf_release(be, bb); cs_buf_release(be, bm); cs_buf_release(be, bg);
    return s;
}
static double f_msq(const float *x) { return msq_common(x, NULL); }
static void g_msq(const float *x, float *g) { msq_common(x, g); }

static void check_op(const op_case *c)
{
    float *x = randv(c->nx, 1.0f), *g = malloc(c->nx * sizeof *g);
    c->grad(x, g);
    double gmax = 0;
    for (size_t i = 0; i < c->nx; i++) gmax = fmax(gmax, fabs(g[i]));
    float h = 1e-2f;
    int checked = 0, masked = 0;
    double worst = 0;
    for (size_t i = 0; i < c->nx; i++) {
        if (c->masked && c->masked(x, i, h)) { masked++; continue; }
        float keep = x[i];
        x[i] = keep + h;
        double fp = c->f(x);
        x[i] = keep - h;
        double fm = c->f(x);
        x[i] = keep;
        double fd = (fp - fm) / (2.0 * h), err = fabs(fd - g[i]) / fmax(gmax, 1e-6);
        worst = fmax(worst, err);
        checked++;
    }
    fprintf(stderr, "%-10s %4d checked, %3d masked, worst error %.2e of max|grad|\n", c->name, checked, masked, worst);
    CHECK(worst < 2e-3, "%s: gradient off by %.2e", c->name, worst);
    CHECK(checked > (int)c->nx / 2, "%s: too few points checked", c->name);
    free(x);
    free(g);
}

/* Soft masks for the masked check: style 1 on the top (a ramp), style 2 on the rest; style 2's image masked to its left. */
static void soft_masks(int h, int wd, float *top, float *rest, float *left, int sh, int sw)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < wd; x++) {
            float v = y < 6 ? 1.0f : y >= 14 ? 0.0f : (float)(14 - y) / 8.0f;
            top[y * wd + x] = v;
            rest[y * wd + x] = 1.0f - v;
        }
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) left[y * sw + x] = x < sw / 2 ? 1.0f : 0.25f;
}

/* The evaluator of the check: plain; with content masks, a style mask and
 * per-style layers (spatial and scale control); or plain with a temporal term
 * against two earlier frames (video). */
enum { PLAIN, MASKED, TEMPORAL };
static void eval_init(cs_eval *L, cs_net *net, const cs_options *o, cs_eval_image ci, const cs_eval_image *st, const double *blend,
                      int mode)
{
    static float top[20 * 18], rest[20 * 18], left[22 * 16], warped[2][3 * 20 * 18], reliable[2][20 * 18];
    cs_loss_spec spec;
    cs_options_loss_spec(o, &spec);
    cs_eval_input in = { .content = ci, .styles = st, .blend = blend, .n_styles = 2 };
    soft_masks(20, 18, top, rest, left, 22, 16);
    const float *regions[2] = { top, rest }, *smasks[2] = { NULL, left };
    const float *wp[2] = { warped[0], warped[1] }, *rp[2] = { reliable[0], reliable[1] };
    unsigned layers[2] = { 0x07, 0x1c };
    if (mode == MASKED) in.content_masks = regions, in.style_masks = smasks, in.style_layers = layers;
    if (mode == TEMPORAL) {
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < 3 * 20 * 18; i++) warped[k][i] = ci.pixels[i] + 0.3f * cs_rng_normal(&rng);
            for (int i = 0; i < 20 * 18; i++) reliable[k][i] = i % 5 == k ? 0.0f : cs_rng_uniform(&rng);
        }
        in.temporal_warped = wp, in.temporal_reliable = rp, in.n_temporal = 2;
        spec.delta = 30.0;
    }
    CHECK_OK(cs_eval_init(L, net, &spec, &in));
}

/* The whole loss (content + 2 styles + TV) on a random VGG-16 at 20x18,
 * plain or masked (guided Gram matrices, SPEC "Masks"). */
static void check_total_loss(int mode)
{
    cs_weights w;
    CHECK_OK(cs_weights_synthetic(16, 11, &w));
    cs_net net;
    CHECK_OK(cs_net_create(be, &w, 0, &net));
    int h = 20, wd = 18;
    size_t n = (size_t)3 * h * wd;
    float *content = malloc(n * 4), *s1 = malloc(n * 4), *s2 = malloc((size_t)3 * 22 * 16 * 4), *x = malloc(n * 4), *g = malloc(n * 4);
    for (size_t i = 0; i < n; i++) { content[i] = cs_rng_uniform(&rng); s1[i] = cs_rng_uniform(&rng); }
    for (size_t i = 0; i < (size_t)3 * 22 * 16; i++) s2[i] = cs_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++) x[i] = content[i] + 0.2f * cs_rng_normal(&rng);
    cs_options o;
    cs_options_default(&o);
    o.content_layers[1] = "conv3_1"; /* a pre-ReLU tap too */
    o.n_content_layers = 2;
    o.style_layer_weights[2] = 0.5;
    cs_eval L;
    cs_eval_image ci = { content, wd, h }, st[2] = { { s1, wd, h }, { s2, 16, 22 } };
    double blend[2] = { 0.7, 0.3 };
    eval_init(&L, &net, &o, ci, st, blend, mode);
    fprintf(stderr, "%s loss:\n", mode == MASKED ? "masked" : mode == TEMPORAL ? "temporal" : "plain");
    cs_buf *bx = buf_from(x, n), *bg = buf_from(NULL, n);
    CHECK_OK(cs_eval_run(&L, bx, bg));
    CHECK_OK(CS_OP(be, download, bg, 0, g, n));
    double gmax = 0, worst = 0, gnorm = 0;
    for (size_t i = 0; i < n; i++) { gmax = fmax(gmax, fabs(g[i])); gnorm += (double)g[i] * g[i]; }
    gnorm = sqrt(gnorm);
    /* Along the gradient the derivative is ||g||: a strong signal far above float32 noise. */
    float *xp = malloc(n * 4);
    double lp[2];
    for (int k = 0; k < 2; k++) {
        float t = k ? -3e-3f : 3e-3f;
        for (size_t i = 0; i < n; i++) xp[i] = x[i] + t * (float)(g[i] / gnorm);
        CS_OP(be, upload, bx, 0, xp, n);
        CHECK_OK(cs_eval_run(&L, bx, bg));
        lp[k] = L.terms.total;
    }
    double dir = (lp[0] - lp[1]) / 6e-3, dir_err = fabs(dir - gnorm) / gnorm;
    fprintf(stderr, "total loss along the gradient: finite difference %.6g, ||g|| %.6g, rel. error %.2e\n", dir, gnorm, dir_err);
    CHECK(dir_err < 1e-3, "directional derivative off by %.2e", dir_err);
    free(xp);
    /* Element by element; float32 noise and kinks make this a coarser check. */
    int checked = 0, masked = 0;
    for (int t = 0; t < 30; t++) {
        size_t i = (size_t)(cs_rng_uniform(&rng) * n);
        double fd[2];
        for (int k = 0; k < 2; k++) {
            float hh = k ? 5e-3f : 1e-2f, keep = x[i];
            double fp, fm;
            x[i] = keep + hh; CS_OP(be, upload, bx, 0, x, n); cs_eval_run(&L, bx, bg); fp = L.terms.total;
            x[i] = keep - hh; CS_OP(be, upload, bx, 0, x, n); cs_eval_run(&L, bx, bg); fm = L.terms.total;
            x[i] = keep;
            fd[k] = (fp - fm) / (2.0 * hh);
        }
        /* Two step sizes that disagree mean a kink (ReLU or pool switch) nearby. */
        if (fabs(fd[0] - fd[1]) > 5e-3 * gmax) { masked++; continue; }
        worst = fmax(worst, fabs(fd[1] - g[i]) / gmax);
        checked++;
    }
    fprintf(stderr, "total loss %4d elements checked, %3d masked, worst error %.2e of max|grad| (L = %.6g)\n", checked, masked,
            worst, L.terms.total);
    CHECK(worst < 2e-2, "total gradient off by %.2e", worst);
    CHECK(checked >= 15, "only %d points checked", checked);
    cs_buf_release(be, bx); cs_buf_release(be, bg);
    cs_eval_free(&L);
    cs_net_destroy(&net);
    cs_weights_free(&w);
    free(content); free(s1); free(s2); free(x); free(g);
}

int main(void)
{
    cs_rng_seed(&rng, 2024);
    CHECK_OK(cs_backend_reference_create(&be));
    R = randv((size_t)CO * H * Wd * 4, 1.0f);
    W = randv((size_t)CO * CI * 9, 0.5f);
    const op_case cases[] = {
        { "conv3x3", (size_t)CI * H * Wd, 0, f_conv, g_conv, NULL },
        { "relu", (size_t)CI * H * Wd, 0, f_relu, g_relu, mask_relu },
        { "maxpool", (size_t)CI * H * Wd, 0, f_maxpool, g_maxpool, mask_pool },
        { "avgpool", (size_t)CI * H * Wd, 0, f_avgpool, g_avgpool, NULL },
        { "gram", (size_t)CI * H * Wd, 0, f_gram, g_gram, NULL },
        { "sqdiff", (size_t)CI * H * Wd, 0, f_sq, g_sq, NULL },
        { "tv", (size_t)CI * H * Wd, 0, f_tv, g_tv, NULL },
        { "masked_sq", (size_t)CI * H * Wd, 0, f_msq, g_msq, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_op(&cases[i]);
    check_total_loss(PLAIN);
    check_total_loss(MASKED);
    check_total_loss(TEMPORAL);
    cs_backend_destroy(be);
    return tu_done("gradcheck");
}
