/* The coarse term (model/coarse.h): its loss is the sum of the evaluations
 * of x averaged 2x2 once and twice, computed here on the host, and its
 * gradient theirs spread back (a quarter per halving, nothing to a dropped
 * odd row or column); in pieces it equals the whole; on OpenCL it equals
 * the reference backend. A small random VGG-16, odd sizes.
 *   usage: test_coarse reference|opencl */
#include <math.h>
#include <stdlib.h>

#include "backend.h"
#include "cli.h"
#include "coarse.h"
#include "rng.h"
#include "testutil.h"

enum { H = 70, W = 75 };

static cs_rng rng;

static float *randv(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = cs_rng_uniform(&rng);
    return v;
}

/* x (3,h,w) averaged 2x2, the odd last row and column dropped. */
static float *halve(const float *x, int h, int w)
{
    int oh = h / 2, ow = w / 2;
    float *y = malloc((size_t)3 * oh * ow * sizeof *y);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                const float *t = x + ((size_t)c * h + 2 * i) * w + 2 * j;
                y[((size_t)c * oh + i) * ow + j] = 0.25f * (t[0] + t[1] + t[w] + t[w + 1]);
            }
    return y;
}

/* The adjoint of halve: each of the four pixels a quarter of the gradient. */
static float *spread(const float *g, int h, int w)
{
    int oh = h / 2, ow = w / 2;
    float *d = calloc((size_t)3 * h * w, sizeof *d);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 2 * oh; i++)
            for (int j = 0; j < 2 * ow; j++) d[((size_t)c * h + i) * w + j] = 0.25f * g[((size_t)c * oh + i / 2) * ow + j / 2];
    return d;
}

typedef struct { double loss; float *grad; } result;

static cs_buf *upload(cs_backend *be, const float *v, size_t n)
{
    cs_buf *b = NULL;
    CHECK_OK(CS_OP(be, alloc, n, &b));
    CHECK_OK(CS_OP(be, upload, b, 0, v, n));
    return b;
}

static float *download(cs_backend *be, cs_buf *b, size_t n)
{
    float *v = malloc(n * sizeof *v);
    CHECK_OK(CS_OP(be, download, b, 0, v, n));
    return v;
}

/* Two levels, as the last scale of a three-scale pyramid has: x halved once
 * and twice, each against its own content with its own alpha. */
typedef struct {
    cs_coarse_level level[2];
    float *content[2];
} levels;

/* The coarse term at x of H x W (gradient into zeros), with pieces of `tile` px (0: whole). */
static result coarse(cs_net *net, const levels *L, const float *x, int tile)
{
    cs_backend *be = net->be;
    size_t n = (size_t)3 * H * W;
    cs_coarse C;
    cs_coarse_level lv[2] = { L->level[0], L->level[1] };
    lv[0].input.tile = lv[1].input.tile = tile;
    CHECK_OK(cs_coarse_init(&C, net, lv, 2, H, W));
    cs_buf *bx = upload(be, x, n), *bg = NULL;
    CHECK_OK(CS_OP(be, alloc, n, &bg));
    CHECK_OK(CS_OP(be, fill, bg, 0.0f, n));
    CHECK_OK(cs_coarse_run(&C, bx, bg));
    result r = { C.total, download(be, bg, n) };
    cs_buf_release(be, bx);
    cs_buf_release(be, bg);
    cs_coarse_free(&C);
    return r;
}

/* One level's loss at the host-halved picture xk (hk x wk) and its gradient there. */
static double level_by_hand(cs_net *net, const cs_coarse_level *L, const float *xk, float *gk)
{
    cs_backend *be = net->be;
    size_t n = (size_t)3 * L->input.content.h * L->input.content.w;
    cs_eval E;
    CHECK_OK(cs_eval_init(&E, net, &L->loss, &L->input));
    cs_buf *bx = upload(be, xk, n), *bg = NULL;
    CHECK_OK(CS_OP(be, alloc, n, &bg));
    CHECK_OK(cs_eval_run(&E, bx, bg));
    CHECK_OK(CS_OP(be, download, bg, 0, gk, n));
    double loss = E.terms.total;
    cs_buf_release(be, bx);
    cs_buf_release(be, bg);
    cs_eval_free(&E);
    return loss;
}

/* The same on the host: x halved once and twice, each level evaluated, the
 * deeper gradient spread up and added to the shallower one's, then spread to x. */
static result by_hand(cs_net *net, const levels *L, const float *x)
{
    int h1 = H / 2, w1 = W / 2;
    float *x1 = halve(x, H, W), *x2 = halve(x1, h1, w1);
    float *g1 = malloc((size_t)3 * h1 * w1 * sizeof *g1), *g2 = malloc((size_t)3 * (h1 / 2) * (w1 / 2) * sizeof *g2);
    result r = { level_by_hand(net, &L->level[0], x1, g1) + level_by_hand(net, &L->level[1], x2, g2), NULL };
    float *up = spread(g2, h1, w1);
    for (size_t i = 0; i < (size_t)3 * h1 * w1; i++) g1[i] += up[i];
    r.grad = spread(g1, H, W);
    free(x1); free(x2); free(g1); free(g2); free(up);
    return r;
}

static void compare(const char *what, result a, result b, double tol)
{
    size_t n = (size_t)3 * H * W;
    double dl = tu_reldiff(a.loss, b.loss, 1e-30), dg = sqrt(tu_nmse(a.grad, b.grad, n));
    fprintf(stderr, "%-40s loss %.9g vs %.9g (rel %.1e), gradient rel %.1e\n", what, a.loss, b.loss, dl, dg);
    CHECK(dl < tol && dg < tol, "%s: loss off by %.1e, gradient by %.1e", what, dl, dg);
    free(a.grad);
    free(b.grad);
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : "reference";
    cs_backend *be = tu_backend(backend), *ref = NULL;
    cs_weights wt;
    cs_net net, ref_net;
    cs_rng_seed(&rng, 11);
    CHECK_OK(cs_weights_synthetic(16, 5, &wt));
    CHECK_OK(cs_net_create(be, &wt, 0, &net));
    int ch, cw;
    cs_coarse_size(H, W, 2, &ch, &cw);
    CHECK(ch == 17 && cw == 18, "70x75 halved twice is %dx%d, not 17x18", ch, cw);
    float *x = randv((size_t)3 * H * W), *style = randv((size_t)3 * 24 * 20);
    cs_eval_image styles[1] = { { style, 20, 24 } };
    double one[1] = { 1.0 };
    cs_options o;
    cs_options_default(&o);
    levels L;
    for (int i = 0; i < 2; i++) {
        int lh, lw;
        cs_coarse_size(H, W, i + 1, &lh, &lw);
        L.content[i] = randv((size_t)3 * lh * lw);
        cs_coarse_level *v = &L.level[i];
        v->halvings = i + 1;
        cs_options_loss_spec(&o, &v->loss);
        v->loss.alpha = i ? 2.0 : 1.4; /* each earlier scale's own alpha */
        v->loss.gamma = 0;             /* as the driver makes it: the picture's own tv term holds */
        v->input = (cs_eval_input){ .content = { L.content[i], lw, lh }, .styles = styles, .blend = one, .n_styles = 1 };
    }

    compare("coarse term = evaluation of x halved", coarse(&net, &L, x, 0), by_hand(&net, &L, x), 1e-5);
    compare("coarse term in pieces = whole", coarse(&net, &L, x, 16), coarse(&net, &L, x, 0), 1e-4);
    if (strcmp(backend, "reference")) {
        CHECK_OK(cs_backend_reference_create(&ref));
        CHECK_OK(cs_net_create(ref, &wt, 0, &ref_net));
        compare("coarse term on OpenCL = reference", coarse(&net, &L, x, 0), coarse(&ref_net, &L, x, 0), 1e-4);
        cs_net_destroy(&ref_net);
        cs_backend_destroy(ref);
    }
    /* Refused, naming what: a content of another size than x halved, a level below 16 px, a level twice. */
    cs_coarse C;
    cs_coarse_level bad = L.level[1];
    bad.input.content.w++;
    CHECK(cs_coarse_init(&C, &net, &bad, 1, H, W) == CLSTYLE_ERR_USAGE, "a 19x17 content for a 18x17 level");
    CHECK(cs_coarse_init(&C, &net, &L.level[1], 1, 40, 40) == CLSTYLE_ERR_USAGE, "a 10x10 level (below 16 px)");
    cs_coarse_level twice[2] = { L.level[0], L.level[0] };
    CHECK(cs_coarse_init(&C, &net, twice, 2, H, W) == CLSTYLE_ERR_USAGE, "one level twice");

    cs_net_destroy(&net);
    cs_weights_free(&wt);
    cs_backend_destroy(be);
    free(x); free(style); free(L.content[0]); free(L.content[1]);
    return tu_done("coarse");
}
