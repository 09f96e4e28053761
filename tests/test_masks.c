/* Spatial and scale control (SPEC "Masks"): one all-ones mask is the
 * unmasked loss to float rounding; complementary halves share the weight; a per-style layer list naming every layer
 * changes nothing; and with soft content masks, a style-image mask and
 * per-style layers, the evaluator in pieces computes what the whole one does.
 * The temporal term (video) too: its value is SPEC's formula, and pieces
 * equal the whole. A small random VGG-16 on the reference backend. */
#include <math.h>
#include <stdlib.h>

#include "backend.h"
#include "cli.h"
#include "eval.h"
#include "rng.h"
#include "testutil.h"

static cs_backend *be;
static cs_net net;
static cs_rng rng;
enum { H = 40, W = 36, SH = 30, SW = 34 };
#define DELTA 40.0

static float *randv(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = cs_rng_uniform(&rng);
    return v;
}

/* A top/bottom split with a soft edge rows [a, b): 1 above, 0 below (or the reverse). */
static float *split(int h, int w, int a, int b, int below)
{
    float *m = malloc((size_t)h * w * sizeof *m);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float v = y < a ? 1.0f : y >= b ? 0.0f : (float)(b - y) / (float)(b - a);
            m[y * w + x] = below ? 1.0f - v : v;
        }
    return m;
}

typedef struct { double loss, style; float *grad; } result;

static result evaluate(const cs_eval_input *in, const float *x)
{
    cs_options o;
    cs_options_default(&o);
    cs_loss_spec spec;
    cs_options_loss_spec(&o, &spec);
    spec.delta = in->n_temporal ? DELTA : 0;
    cs_eval E;
    CHECK_OK(cs_eval_init(&E, &net, &spec, in));
    size_t n = (size_t)3 * H * W;
    cs_buf *bx, *bg;
    CHECK_OK(CS_OP(be, alloc, n, &bx));
    CHECK_OK(CS_OP(be, alloc, n, &bg));
    CHECK_OK(CS_OP(be, upload, bx, 0, x, n));
    CHECK_OK(cs_eval_run(&E, bx, bg));
    result r = { E.terms.total, E.terms.style, malloc(n * sizeof(float)) };
    CHECK_OK(CS_OP(be, download, bg, 0, r.grad, n));
    cs_buf_release(be, bx);
    cs_buf_release(be, bg);
    cs_eval_free(&E);
    return r;
}

/* |a - b| / |b| of the gradients. */
static double grad_rel(const result *a, const result *b)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < (size_t)3 * H * W; i++) {
        d += ((double)a->grad[i] - b->grad[i]) * ((double)a->grad[i] - b->grad[i]);
        s += (double)b->grad[i] * b->grad[i];
    }
    return sqrt(d / s);
}

static void compare(const char *what, result a, result b, double tol)
{
    double dl = fabs(a.loss - b.loss) / fabs(b.loss), dg = grad_rel(&a, &b);
    fprintf(stderr, "%-34s loss %.9g vs %.9g (rel %.1e), gradient rel %.1e\n", what, a.loss, b.loss, dl, dg);
    CHECK(dl < tol && dg < tol, "%s: loss off by %.1e, gradient by %.1e", what, dl, dg);
    free(a.grad);
    free(b.grad);
}

int main(void)
{
    cs_weights w;
    cs_rng_seed(&rng, 7);
    CHECK_OK(cs_backend_reference_create(&be));
    CHECK_OK(cs_weights_synthetic(16, 11, &w));
    CHECK_OK(cs_net_create(be, &w, 0, &net));
    float *content = randv((size_t)3 * H * W), *x = randv((size_t)3 * H * W);
    float *s1 = randv((size_t)3 * H * W), *s2 = randv((size_t)3 * SH * SW);
    float *ones = split(H, W, H, H, 0), *top = split(H, W, 14, 26, 0), *bottom = split(H, W, 14, 26, 1);
    float *style_mask = split(SH, SW, 10, 16, 1);
    cs_eval_image ci = { content, W, H }, styles[2] = { { s1, W, H }, { s2, SW, SH } };
    double one[1] = { 1.0 }, half[2] = { 0.5, 0.5 };

    /* One all-ones mask on the content and on the style image, every layer named: today's loss. */
    cs_eval_input plain = { .content = ci, .styles = styles, .blend = one, .n_styles = 1 };
    const float *full[1] = { ones }, *full_style[1] = { split(H, W, H, H, 0) };
    unsigned all[1] = { 0x1f };
    cs_eval_input masked = { .content = ci, .styles = styles, .blend = one, .n_styles = 1, .content_masks = full, .style_masks = full_style, .style_layers = all };
    compare("all-ones masks = unmasked", evaluate(&masked, x), evaluate(&plain, x), 1e-5);

    /* Two masked styles, a style-image mask and per-style layers: pieces = whole. */
    const float *regions[2] = { top, bottom }, *smasks[2] = { NULL, style_mask };
    unsigned layers[2] = { 0x03, 0x1e };
    cs_eval_input whole = { .content = ci, .styles = styles, .blend = half, .n_styles = 2, .content_masks = regions, .style_masks = smasks, .style_layers = layers }, pieces = whole;
    pieces.tile = 16;
    compare("masks in pieces = whole", evaluate(&pieces, x), evaluate(&whole, x), 1e-4);
    /* Per-style layers without masks too (one group, a blend per layer). */
    cs_eval_input blend = { .content = ci, .styles = styles, .blend = half, .n_styles = 2, .style_layers = layers }, blend_p = blend;
    blend_p.tile = 16;
    compare("per-style layers in pieces = whole", evaluate(&blend_p, x), evaluate(&blend, x), 1e-4);

    /* The temporal term against two earlier frames: delta times SPEC's mean, in pieces too. */
    float *w1 = randv((size_t)3 * H * W), *w2 = randv((size_t)3 * H * W), *c2 = split(H, W, 8, 30, 1);
    const float *warped[2] = { w1, w2 }, *reliable[2] = { top, c2 };
    cs_eval_input temporal = plain, temporal_p;
    temporal.temporal_warped = warped, temporal.temporal_reliable = reliable, temporal.n_temporal = 2;
    temporal_p = temporal;
    temporal_p.tile = 16;
    result with = evaluate(&temporal, x), without = evaluate(&plain, x);
    double lt = 0;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < (size_t)3 * H * W; i++) {
            double d = (double)x[i] - warped[k][i];
            lt += reliable[k][i % ((size_t)H * W)] * d * d / (3.0 * H * W);
        }
    double got = (with.loss - without.loss) / DELTA;
    fprintf(stderr, "%-34s %.9g vs %.9g (rel %.1e)\n", "temporal term = SPEC's mean", got, lt, fabs(got - lt) / lt);
    CHECK(fabs(got - lt) / lt < 1e-5, "temporal term %.9g, expected %.9g", got, lt);
    free(without.grad);
    compare("temporal in pieces = whole", evaluate(&temporal_p, x), with, 1e-5);
    free(w1); free(w2); free(c2);

    /* Two styles on halves weigh as much as one on the whole: shares 1/2 each. */
    float *upper = split(H, W, 20, 20, 0), *lower = split(H, W, 20, 20, 1);
    const float *halves[2] = { upper, lower };
    double shares[2];
    cs_terms_shares(halves, (size_t)H * W, half, 2, shares);
    CHECK(fabs(shares[0] - 0.5) < 1e-12 && fabs(shares[1] - 0.5) < 1e-12, "shares %g, %g", shares[0], shares[1]);
    cs_terms_shares(full, (size_t)H * W, one, 1, shares);
    CHECK(shares[0] == 1.0, "one full mask's share %g", shares[0]);

    cs_net_destroy(&net);
    cs_weights_free(&w);
    cs_backend_destroy(be);
    free(content); free(x); free(s1); free(s2); free(ones); free(top); free(bottom); free(style_mask); free(upper); free(lower);
    free((float *)full_style[0]);
    return tu_done("masks");
}
