/* clstyle-lockstep: the OpenCL backend against the reference at the same
 * points, every iteration of one run. The reference backend drives an L-BFGS
 * run (the program's defaults: VGG layers, weights, backtracking, first
 * step); at every accepted point x goes to the OpenCL backend, which
 * evaluates it too. Comparing trajectories (e2e-backends) mixes what the
 * backends compute with how L-BFGS amplifies it; here only the former is
 * left. Per iteration it prints the relative differences of the loss terms,
 * the gradient's relative L2 difference (within rounding of a kink, just
 * beside x: see `beside`), and |g_k - g_k-1| / |g_k|, the size
 * of the curvature pair's y against the gradient: divided by the gradient's
 * difference it is the pair's signal over the backends' rounding.
 *
 *   clstyle-lockstep CONTENT STYLE [--size PX] [--iterations N] [--start rms|l1] [--check]
 *
 * --start l1: torch's first step (1 in L1 over the whole vector) instead of
 * 1/255 RMS, to show the difference. --check: exit 1 when a loss term differs
 * by more than 1e-5 or the gradient by more than 1e-4 at any iteration (the
 * `lockstep` test); 77 without an OpenCL device or weights. The device and
 * its algorithms come from the CLSTYLE_* environment, the weights from
 * $CLSTYLE_WEIGHTS (or the user cache), as for the program. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cli.h"
#include "env.h"
#include "error.h"
#include "factory.h"
#include "image.h"
#include "optim.h"
#include "pyramid.h"

enum { SKIP = 77 };
static const double term_limit = 1e-5, grad_limit = 1e-4;

typedef struct {
    cs_backend *be;
    cs_net net;
    cs_eval E;
    cs_buf *x, *g;
    float *gh;             /* (3, H, W) the gradient on the host */
    size_t n;
} side;

typedef struct {
    const char *content, *style;
    int size, iterations, start, check;
} args;

static int usage(void)
{
    fprintf(stderr, "usage: clstyle-lockstep CONTENT STYLE [--size PX] [--iterations N] [--start rms|l1] [--check]\n");
    return 2;
}

static int parse(int argc, char **argv, args *a)
{
    *a = (args){ .size = 64, .iterations = 20, .start = CS_START_RMS };
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--check")) a->check = 1;
        else if (!strcmp(argv[i], "--size") && v) a->size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iterations") && v) a->iterations = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--start") && v) a->start = !strcmp(argv[++i], "l1") ? CS_START_L1 : CS_START_RMS;
        else if (argv[i][0] != '-' && pos < 2) *(pos++ ? &a->style : &a->content) = argv[i];
        else return -1;
    }
    return pos == 2 && a->size >= 16 && a->iterations >= 0 ? 0 : -1;
}

/* A backend with the program's default losses for these images; x starts at x0. */
static clstyle_status side_open(side *s, const char *name, const cs_weights *w, const cs_image *c, const cs_image *st)
{
    cs_backend_params p;
    cs_options o;
    double blend = 1;
    memset(s, 0, sizeof *s);
    cs_backend_params_from_env(&p);
    CS_TRY(cs_backend_create(name, &p, &s->be));
    cs_options_default(&o);
    CS_TRY(cs_net_create(s->be, w, 0, &s->net));
    cs_eval_image ci = { c->p, c->w, c->h }, si = { st->p, st->w, st->h };
    CS_TRY(cs_options_eval_init(&s->E, &s->net, &o, ci, &si, &blend, 1));
    s->n = (size_t)3 * c->w * c->h;
    if (!(s->gh = malloc(s->n * sizeof *s->gh))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    CS_TRY(CS_OP(s->be, alloc, s->n, &s->x));
    CS_TRY(CS_OP(s->be, alloc, s->n, &s->g));
    return CS_OP(s->be, upload, s->x, 0, c->p, s->n);
}

static void side_close(side *s)
{
    if (!s->be) return;
    cs_buf_release(s->be, s->x);
    cs_buf_release(s->be, s->g);
    cs_eval_free(&s->E);
    cs_net_destroy(&s->net);
    cs_backend_destroy(s->be);
    free(s->gh);
}

static clstyle_status side_eval(side *s)
{
    CS_TRY(cs_eval_run(&s->E, s->x, s->g));
    return CS_OP(s->be, download, s->g, 0, s->gh, s->n);
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-30); }

/* |a - b| / |b| over the vector. */
static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* One accepted reference iteration: trials until one is accepted; *trials counts them. */
static clstyle_status ref_iteration(cs_optim *op, side *r, int *trials)
{
    int verdict = CS_STEP_RETRY;
    *trials = 0;
    CS_TRY(cs_optim_begin(op, r->x, r->g, r->E.terms.total));
    while (verdict == CS_STEP_RETRY) {
        CS_TRY(cs_eval_run(&r->E, r->x, r->g));
        CS_TRY(cs_optim_judge(op, r->x, r->g, r->E.terms.total, &verdict));
        (*trials)++;
    }
    return side_eval(r); /* the accepted point again (or the restored start): its terms and gradient on the host */
}

/* x_h + eta, eta = +-e in a fixed pattern (e = 1e-6: about twenty float32
 * roundings of a pixel; far below a step). */
static void nudge(const float *xh, float *out, size_t n, float e)
{
    for (size_t i = 0; i < n; i++) out[i] = xh[i] + ((i * 2654435761u >> 7) & 1 ? e : -e);
}

/* Both gradients at points just beside x, where they differ at x itself.
 * Such an x lies within rounding of kinks (ReLUs at 0, max-pool ties; the
 * content's flat areas are full of exact ties): each backend's rounding
 * picks a side, and both one-sided gradients are right. Measured at 64 px
 * (Tuebingen x Starry Night, iteration 2): the gradients 3.3e-3 apart at x,
 * each backend's own gradient moving by 3e-3 within 1e-6 of x, and the two
 * within 1e-6 of each other at x + 1e-5. So both are evaluated at x +- 1e-6,
 * then x +- 1e-5, until they agree; *dg is the smallest difference. The
 * reference is evaluated at x again last, so the run goes on from the same
 * state, to the bit. */
static clstyle_status beside(side *r, side *c, const float *xh, float *tmp, double *dg)
{
    static const float e[] = { 1e-6f, -1e-6f, 1e-5f, -1e-5f };
    for (size_t k = 0; k < sizeof e / sizeof *e && *dg > grad_limit; k++) {
        nudge(xh, tmp, r->n, e[k]);
        CS_TRY(CS_OP(r->be, upload, r->x, 0, tmp, r->n));
        CS_TRY(CS_OP(c->be, upload, c->x, 0, tmp, r->n));
        CS_TRY(side_eval(r));
        CS_TRY(side_eval(c));
        *dg = fmin(*dg, rel_l2(c->gh, r->gh, r->n));
    }
    CS_TRY(CS_OP(r->be, upload, r->x, 0, xh, r->n));
    return side_eval(r);
}

/* The OpenCL backend at the reference's x; one row of the table; *worst_* grow. */
static clstyle_status compare(int it, side *r, side *c, float *xh, float *tmp, const float *g_prev, int trials,
                              double *worst_terms, double *worst_grad)
{
    CS_TRY(CS_OP(r->be, download, r->x, 0, xh, r->n));
    CS_TRY(CS_OP(c->be, upload, c->x, 0, xh, r->n));
    CS_TRY(side_eval(c));
    const cs_terms *a = &c->E.terms, *b = &r->E.terms;
    double dc = rel(a->content, b->content), ds = rel(a->style, b->style), dt = rel(a->tv, b->tv), dl = rel(a->total, b->total);
    double dg = rel_l2(c->gh, r->gh, r->n), y = g_prev ? rel_l2(r->gh, g_prev, r->n) : NAN, at_x = dg;
    double terms = fmax(fmax(dc, ds), fmax(dt, dl));
    double total = b->total;
    if (dg > grad_limit) CS_TRY(beside(r, c, xh, tmp, &dg));
    printf("%4d %6d %12.7g %9.1e %9.1e %9.1e %9.1e %9.1e %11.2e %10.2g", it, trials, total, dc, ds, dt, dl, dg, y, y / dg);
    if (dg < at_x) printf("   beside a kink: %.1e at x itself", at_x);
    printf("\n");
    *worst_terms = fmax(*worst_terms, terms);
    *worst_grad = fmax(*worst_grad, dg);
    return CLSTYLE_OK;
}

static clstyle_status run(const args *a, side *r, side *c, double *worst_terms, double *worst_grad)
{
    cs_optim *op = NULL;
    clstyle_status st;
    float *xh = malloc(r->n * sizeof *xh), *g_prev = malloc(r->n * sizeof *g_prev), *tmp = malloc(r->n * sizeof *tmp);
    if (!xh || !g_prev || !tmp) CS_CHECK(cs_fail(CLSTYLE_ERR_NOMEM, "out of memory"));
    CS_CHECK(cs_optim_create(r->be, CLSTYLE_LBFGS, r->n, 100, 1.0, &op));
    CS_CHECK(cs_optim_set_line_search(op, CLSTYLE_LS_BACKTRACK));
    cs_optim_set_start(op, a->start);
    printf("%4s %6s %12s %9s %9s %9s %9s %9s %11s %10s\n", "iter", "trials", "loss", "content", "style", "tv", "total",
           "gradient", "|y|/|g|", "y/diff");
    CS_CHECK(side_eval(r));
    CS_CHECK(compare(0, r, c, xh, tmp, NULL, 0, worst_terms, worst_grad));
    for (int it = 1; it <= a->iterations; it++) {
        int trials;
        memcpy(g_prev, r->gh, r->n * sizeof *g_prev);
        CS_CHECK(ref_iteration(op, r, &trials));
        CS_CHECK(compare(it, r, c, xh, tmp, g_prev, trials, worst_terms, worst_grad));
    }
done:
    cs_optim_destroy(op);
    free(xh);
    free(g_prev);
    free(tmp);
    return st;
}

/* The images as the program fits them: the longer side `size` (the style at scale 1). */
static clstyle_status load(const char *path, int size, cs_image *out)
{
    cs_image src;
    CS_TRY(cs_image_load(path, 0, &src));
    clstyle_status st = cs_pyramid_fit(&src, size, out);
    cs_image_free(&src);
    return st;
}

int main(int argc, char **argv)
{
    args a;
    char wpath[4096];
    cs_weights w = { 0 };
    cs_image content = { 0 }, style = { 0 };
    side r = { 0 }, c = { 0 };
    double worst_terms = 0, worst_grad = 0;
    if (parse(argc, argv, &a)) return usage();
    if (cs_env_weights(NULL, wpath, sizeof wpath) != CLSTYLE_OK) {
        fprintf(stderr, "clstyle-lockstep: %s\n", clstyle_last_error());
        return SKIP;
    }
    clstyle_status st = cs_weights_load(wpath, NULL, &w);
    if (st == CLSTYLE_OK) st = load(a.content, a.size, &content);
    if (st == CLSTYLE_OK) st = load(a.style, a.size, &style);
    if (st == CLSTYLE_OK) st = side_open(&c, "opencl", &w, &content, &style);
    int no_device = st == CLSTYLE_ERR_DEVICE;
    if (st == CLSTYLE_OK) st = side_open(&r, "reference", &w, &content, &style);
    if (st == CLSTYLE_OK) {
        printf("%s vs reference, %dx%d, %d iterations, first step %s\n", c.be->device, content.w, content.h, a.iterations,
               a.start == CS_START_L1 ? "1 in L1 (torch)" : "1/255 RMS");
        st = run(&a, &r, &c, &worst_terms, &worst_grad);
    }
    side_close(&c);
    side_close(&r);
    cs_image_free(&content);
    cs_image_free(&style);
    cs_weights_free(&w);
    if (st != CLSTYLE_OK) {
        fprintf(stderr, "clstyle-lockstep: %s\n", clstyle_last_error());
        return no_device ? SKIP : 1;
    }
    int bad = worst_terms > term_limit || worst_grad > grad_limit;
    printf("worst: loss terms %.2e (limit %.0e), gradient %.2e (limit %.0e)%s\n", worst_terms, term_limit, worst_grad,
           grad_limit, a.check ? bad ? ": FAIL" : ": ok" : "");
    return a.check && bad ? 1 : 0;
}
