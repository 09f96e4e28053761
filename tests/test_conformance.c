/* OpenCL conformance: every vtable op on every OpenCL device against the
 * reference backend, on random inputs of awkward shapes. Per-op limits on the
 * normalized mean squared error; any NaN fails; a guard band after each
 * output catches writes past its end. No OpenCL device: exit 77 (skipped).
 *   test_conformance              every device, every convolution path
 *   test_conformance small CONV [GRAM]
 *                                 the default device, convolution algorithm CONV,
 *                                 Gram path GRAM (blas or own; default blas),
 *                                 small shapes that still reach every kernel: for
 *                                 simulators (tests/oclgrind.py runs it under Oclgrind) */
#include <stdint.h>
#include <unistd.h>

#include <clblast_c.h>

#include "backend.h"
#include "env.h"
#include "factory.h"
#include "cl_cache.h"
#include "cl_device.h"
#include "rng.h"
#include "testutil.h"

int cs_backend_opencl_cached(const cs_backend *be);

enum { GUARD = 67 };
static const float SENTINEL = -12345.5f;
static cs_backend *ref, *dev;
static cs_rng rng;
static int n_compared, small;
static cs_backend_params dev_params;

typedef struct { cs_buf *r, *d; size_t n; } pair;

/* Same data on both backends; `extra` floats of guard band after n. */
static pair mk(const float *host, size_t n)
{
    pair p = { NULL, NULL, n };
    size_t total = n + GUARD;
    float *tmp = malloc(total * sizeof *tmp);
    for (size_t i = 0; i < total; i++) tmp[i] = i < n && host ? host[i] : (i < n ? 0.0f : SENTINEL);
    CHECK_OK(CS_OP(ref, alloc, total, &p.r));
    CHECK_OK(CS_OP(dev, alloc, total, &p.d));
    CHECK_OK(CS_OP(ref, upload, p.r, 0, tmp, total));
    CHECK_OK(CS_OP(dev, upload, p.d, 0, tmp, total));
    free(tmp);
    return p;
}

static pair mk_rand(size_t n, float scale)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    for (size_t i = 0; i < n; i++) h[i] = scale * cs_rng_normal(&rng);
    pair p = mk(h, n);
    free(h);
    return p;
}

static void rel(pair p)
{
    cs_buf_release(ref, p.r);
    cs_buf_release(dev, p.d);
}

/* Compares the two copies of p: NMSE below limit, no NaN, guard band intact. */
static void cmp(const char *op, const char *shape, pair p, double limit)
{
    size_t total = p.n + GUARD;
    float *a = malloc(total * sizeof *a), *b = malloc(total * sizeof *b);
    CHECK_OK(CS_OP(ref, download, p.r, 0, a, total));
    CHECK_OK(CS_OP(dev, download, p.d, 0, b, total));
    int nan = 0, guard = 0;
    for (size_t i = 0; i < p.n; i++) nan += isnan(b[i]) || isnan(a[i]);
    for (size_t i = p.n; i < total; i++) guard += b[i] != SENTINEL;
    double e = tu_nmse(b, a, p.n);
    CHECK(nan == 0, "%s %s: %d NaN", op, shape, nan);
    CHECK(guard == 0, "%s %s: %d values written past the end", op, shape, guard);
    CHECK(e <= limit, "%s %s: NMSE %.3g > %.3g", op, shape, e, limit);
    if (getenv("CONFORMANCE_VERBOSE")) fprintf(stderr, "  %-12s %-22s NMSE %.3g\n", op, shape, e);
    n_compared++;
    free(a);
    free(b);
}

/* Uploads the reference's copy of p to the device as a whole. For Oclgrind
 * 21.10 (small): a host copy or write into part of a buffer (copy_at at an
 * offset) resizes its uninitialized-value shadow to that part, after which
 * kernels reading the rest are reported; a whole upload restores it. */
static void resync(pair p)
{
    size_t total = p.n + GUARD;
    float *a = malloc(total * sizeof *a);
    CHECK_OK(CS_OP(ref, download, p.r, 0, a, total));
    CHECK_OK(CS_OP(dev, upload, p.d, 0, a, total));
    free(a);
}

static void cmp_scalar(const char *op, const char *shape, double r, double d, double limit)
{
    double e = tu_reldiff(d, r, 1e-30);
    CHECK(!isnan(d) && e <= limit, "%s %s: %.9g vs reference %.9g (rel. %.2g)", op, shape, d, r, e);
    n_compared++;
}

#define BOTH(op, ...) do { CHECK_OK(CS_OP(ref, op, __VA_ARGS__)); } while (0)
#define ON(be, p) ((be) == ref ? (p).r : (p).d)

/* conv3x3 with bias and ReLU (fused where the algorithm can), against
 * conv3x3 + bias_relu on the reference: with bias and ReLU, and with the bias alone. */
static void conv_fused(pair x, pair wt, pair b, int ci, int co, int h, int w, const char *shape)
{
    for (int relu = 0; relu < 2; relu++) {
        pair y = mk(NULL, (size_t)co * h * w);
        CHECK_OK(CS_OP(ref, conv3x3, x.r, wt.r, NULL, y.r, ci, co, h, w, 0));
        CHECK_OK(CS_OP(ref, bias_relu, y.r, b.r, co, h * w, relu));
        CHECK_OK(CS_OP(dev, conv3x3, x.d, wt.d, b.d, y.d, ci, co, h, w, relu));
        cmp(relu ? "conv+bias+relu" : "conv+bias", shape, y, 1e-9);
        rel(y);
    }
}

static void conv_ops(int ci, int co, int h, int w)
{
    char shape[64];
    snprintf(shape, sizeof shape, "ci%d co%d %dx%d", ci, co, h, w);
    size_t nx = (size_t)ci * h * w, ny = (size_t)co * h * w;
    pair x = mk_rand(nx, 1), wt = mk_rand((size_t)co * ci * 9, 0.3f), y = mk(NULL, ny), b = mk_rand((size_t)co, 1);
    pair dy = mk_rand(ny, 1), dx = mk_rand(nx, 1); /* dx starts non-zero: the op must overwrite it */
    cs_backend *bes[2] = { ref, dev };
    for (int k = 0; k < 2; k++) {
        cs_backend *be = bes[k];
        CHECK_OK(CS_OP(be, conv3x3, ON(be, x), ON(be, wt), NULL, ON(be, y), ci, co, h, w, 0));
        CHECK_OK(CS_OP(be, conv3x3_bwd, ON(be, dy), ON(be, wt), ON(be, dx), ci, co, h, w));
    }
    cmp("conv3x3", shape, y, 1e-9);
    cmp("conv3x3_bwd", shape, dx, 1e-9);
    conv_fused(x, wt, b, ci, co, h, w, shape);
    /* The same y on both sides from here: bias_relu is judged on its own, not
     * on the convolutions' rounding, and an output within rounding of 0 may be
     * ReLU'd differently by the two convolutions, where the mask must match exactly. */
    resync(y);
    for (int relu = 0; relu < 2; relu++)
        for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], bias_relu, ON(bes[k], y), relu ? NULL : ON(bes[k], b), co, h * w, 1 - relu));
    cmp("bias_relu", shape, y, 1e-12);
    resync(y);
    for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], relu_bwd, ON(bes[k], y), ON(bes[k], dy), ny));
    cmp("relu_bwd", shape, dy, 0);
    rel(x); rel(wt); rel(y); rel(b); rel(dy); rel(dx);
}

static void pool_ops(int c, int h, int w)
{
    char shape[64];
    snprintf(shape, sizeof shape, "c%d %dx%d", c, h, w);
    size_t nx = (size_t)c * h * w, ny = (size_t)c * (h / 2) * (w / 2);
    /* Quantized inputs make max-pool ties common, so the tie rule is compared too. */
    float *hx = malloc(nx * sizeof *hx);
    for (size_t i = 0; i < nx; i++) hx[i] = (float)(int)(4 * cs_rng_uniform(&rng));
    pair x = mk(hx, nx);
    free(hx);
    /* relu: the backward through the ReLU whose output x is, in the same
     * pass (zeros in x: a quarter of the values, all four of a window now and then) */
    for (int m = 0; m < 4; m++) {
        int avg = m % 2, relu = m / 2;
        pair y = mk(NULL, ny), dy = mk_rand(ny, 1), dx = mk_rand(nx, 1);
        cs_backend *bes[2] = { ref, dev };
        for (int k = 0; k < 2; k++) {
            CHECK_OK(CS_OP(bes[k], pool, ON(bes[k], x), ON(bes[k], y), c, h, w, avg));
            CHECK_OK(CS_OP(bes[k], pool_bwd, ON(bes[k], x), ON(bes[k], dy), ON(bes[k], dx), c, h, w, avg, relu));
        }
        static const char *const names[4] = { "maxpool_bwd", "avgpool_bwd", "maxpool_bwd+relu", "avgpool_bwd+relu" };
        if (!relu) cmp(avg ? "avgpool" : "maxpool", shape, y, 1e-12);
        cmp(names[m], shape, dx, 1e-12);
        rel(y); rel(dy); rel(dx);
    }
    rel(x);
}

static void gram_ops(int c, int m)
{
    char shape[64];
    snprintf(shape, sizeof shape, "c%d m%d", c, m);
    pair f = mk_rand((size_t)c * m, 1), g = mk(NULL, (size_t)c * c), df = mk_rand((size_t)c * m, 1);
    float *sym = malloc((size_t)c * c * sizeof *sym);
    for (int a = 0; a < c; a++)
        for (int b = 0; b <= a; b++) sym[a * c + b] = sym[b * c + a] = cs_rng_normal(&rng);
    pair dg = mk(sym, (size_t)c * c);
    free(sym);
    cs_backend *bes[2] = { ref, dev };
    for (int k = 0; k < 2; k++) {
        CHECK_OK(CS_OP(bes[k], gram, ON(bes[k], f), ON(bes[k], g), c, m));
        CHECK_OK(CS_OP(bes[k], gram_bwd, ON(bes[k], dg), ON(bes[k], f), ON(bes[k], df), c, m));
    }
    cmp("gram", shape, g, 1e-9);
    cmp("gram_bwd", shape, df, 1e-9);
    rel(f); rel(g); rel(df); rel(dg);
}

static void loss_ops(int c, int h, int w)
{
    char shape[64];
    snprintf(shape, sizeof shape, "c%d %dx%d", c, h, w);
    size_t n = (size_t)c * h * w;
    pair a = mk_rand(n, 1), b = mk_rand(n, 1), g = mk_rand(n, 1), g2 = mk_rand(n, 1);
    double r[2], d[2];
    CHECK_OK(CS_OP(ref, sqdiff, a.r, b.r, n, 0.37f, g.r, &r[0]));
    CHECK_OK(CS_OP(dev, sqdiff, a.d, b.d, n, 0.37f, g.d, &d[0]));
    CHECK_OK(cs_backend_finish(dev));
    cmp_scalar("sqdiff", shape, r[0], d[0], 1e-5);
    cmp("sqdiff_grad", shape, g, 1e-12);
    CHECK_OK(CS_OP(ref, sqdiff, a.r, b.r, n, 1.0f, NULL, &r[1]));
    CHECK_OK(CS_OP(dev, sqdiff, a.d, b.d, n, 1.0f, NULL, &d[1]));
    CHECK_OK(cs_backend_finish(dev));
    cmp_scalar("sqdiff_nograd", shape, r[1], d[1], 1e-5);
    /* More deferred sums than the backend has slots before one finish(). */
    static double many[100];
    for (int i = 0; i < 100; i++) CHECK_OK(CS_OP(dev, sqdiff, a.d, b.d, n, 1.0f, NULL, &many[i]));
    CHECK_OK(cs_backend_finish(dev));
    for (int i = 0; i < 100; i++) cmp_scalar("sqdiff_deferred", shape, r[1], many[i], 1e-5);
    CHECK_OK(CS_OP(ref, tv, a.r, c, h, w, 2.5f, g2.r, &r[0]));
    CHECK_OK(CS_OP(dev, tv, a.d, c, h, w, 2.5f, g2.d, &d[0]));
    CHECK_OK(cs_backend_finish(dev));
    cmp_scalar("tv", shape, r[0], d[0], 1e-5);
    cmp("tv_grad", shape, g2, 1e-10);
    /* The temporal term: a reliability per position over every channel. */
    size_t hw = (size_t)h * w;
    float *mh = malloc(hw * sizeof *mh);
    for (size_t i = 0; i < hw; i++) mh[i] = i % 7 == 0 ? 0.0f : (float)cs_rng_uniform(&rng);
    pair m = mk(mh, hw);
    free(mh);
    CHECK_OK(CS_OP(ref, masked_sqdiff, a.r, b.r, m.r, hw, n, 0.61f, g.r, &r[0]));
    CHECK_OK(CS_OP(dev, masked_sqdiff, a.d, b.d, m.d, hw, n, 0.61f, g.d, &d[0]));
    CHECK_OK(CS_OP(ref, masked_sqdiff, a.r, b.r, m.r, hw, n, 1.0f, NULL, &r[1]));
    CHECK_OK(CS_OP(dev, masked_sqdiff, a.d, b.d, m.d, hw, n, 1.0f, NULL, &d[1]));
    CHECK_OK(cs_backend_finish(dev));
    cmp_scalar("masked_sqdiff", shape, r[0], d[0], 1e-5);
    cmp_scalar("masked_sqdiff_nograd", shape, r[1], d[1], 1e-5);
    cmp("masked_sqdiff_grad", shape, g, 1e-12);
    rel(a); rel(b); rel(g); rel(g2); rel(m);
}

/* Values of back (c,H,W) not as they should be after a download_window of
 * rows [row0, row0 + h) of src (c,rows,w) into window win, host elsewhere. */
static size_t window_wrong(const float *back, const float *host, const float *src, size_t rows, size_t row0, cs_window win)
{
    size_t wrong = 0;
    for (size_t ch = 0; ch < win.c; ch++)
        for (size_t r = 0; r < win.H; r++)
            for (size_t j = 0; j < win.W; j++) {
                size_t i = (ch * win.H + r) * win.W + j;
                int in = r >= win.y0 && r < win.y0 + win.h && j >= win.x0 && j < win.x0 + win.w;
                wrong += back[i] != (in ? src[(ch * rows + row0 + r - win.y0) * win.w + j - win.x0] : host[i]);
            }
    return wrong;
}

/* crop of a window, then paste_add of other data into the same window (its
 * rows must land exactly there: the guard band and the untouched rest check it). */
static void window_ops(int c, int H, int W, int y0, int x0, int h, int w)
{
    char shape[64];
    snprintf(shape, sizeof shape, "c%d %dx%d @%d,%d %dx%d", c, H, W, y0, x0, h, w);
    cs_window win = { (size_t)c, (size_t)H, (size_t)W, (size_t)y0, (size_t)x0, (size_t)h, (size_t)w };
    size_t nb = (size_t)c * H * W, ns = (size_t)c * h * w;
    pair big = mk_rand(nb, 1), small = mk_rand(ns, 1), add = mk_rand(ns, 1);
    cs_backend *bes[2] = { ref, dev };
    for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], crop, ON(bes[k], big), win, ON(bes[k], small)));
    cmp("crop", shape, small, 0);
    for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], paste_add, ON(bes[k], add), win, ON(bes[k], big)));
    cmp("paste_add", shape, big, 1e-14);
    /* The same window between a host array and the device: exact, and nothing outside it written. */
    float *host = malloc(nb * sizeof *host), *back = malloc(nb * sizeof *back), *want = malloc(ns * sizeof *want);
    for (size_t i = 0; i < nb; i++) host[i] = back[i] = (float)cs_rng_uniform(&rng);
    CHECK_OK(CS_OP(dev, upload_window, small.d, host, win));
    CHECK_OK(CS_OP(ref, upload_window, small.r, host, win));
    cmp("upload_window", shape, small, 0);
    CHECK_OK(CS_OP(dev, download_window, add.d, (size_t)h, 0, back, win));
    CHECK_OK(CS_OP(ref, download, add.r, 0, want, ns));
    size_t wrong = window_wrong(back, host, want, (size_t)h, 0, win);
    CHECK(wrong == 0, "download_window %s: %zu values wrong", shape, wrong);
    /* The interior rows of a band with a row of halo on each side: rows 1 .. h of (c, h + 2, w). */
    pair band = mk_rand((size_t)c * (h + 2) * w, 1);
    float *full = malloc((size_t)c * (h + 2) * w * sizeof *full);
    memcpy(back, host, nb * sizeof *back);
    CHECK_OK(CS_OP(dev, download_window, band.d, (size_t)h + 2, 1, back, win));
    CHECK_OK(CS_OP(ref, download, band.r, 0, full, (size_t)c * (h + 2) * w));
    wrong = window_wrong(back, host, full, (size_t)h + 2, 1, win);
    CHECK(wrong == 0, "download_window %s from rows 1.. of %d: %zu values wrong", shape, h + 2, wrong);
    free(host); free(back); free(want); free(full);
    rel(big); rel(small); rel(add); rel(band);
}

/* out = sum over r of coef[r] mat[r], to 1e-6 of the sum of the terms'
 * magnitudes per element: the terms cancel (n1: 1e-6 apart as NMSE 1e-12),
 * and the order of the additions then decides the digits that remain. */
static void cmp_combine(const char *shape, pair mat, int rows, const float *coef, pair out)
{
    size_t n = out.n;
    float *d = malloc((n + GUARD) * sizeof *d);
    const float *r = cs_host_data(ref, out.r), *m = cs_host_data(ref, mat.r);
    CHECK_OK(CS_OP(dev, download, out.d, 0, d, n + GUARD));
    int guard = 0;
    for (size_t i = n; i < n + GUARD; i++) guard += d[i] != SENTINEL;
    CHECK(guard == 0, "combine %s: %d values written past the end", shape, guard);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double mag = 1e-30;
        for (int k = 0; k < rows; k++) mag += fabs((double)coef[k] * m[(size_t)k * n + i]);
        worst = fmax(worst, isnan(d[i]) ? INFINITY : fabs(d[i] - r[i]) / mag);
    }
    CHECK(worst <= 1e-6, "combine %s: %.2g of the terms' magnitude apart", shape, worst);
    n_compared++;
    free(d);
}

static void vector_ops(size_t n, int hw)
{
    char shape[64];
    snprintf(shape, sizeof shape, "n%zu", n);
    pair x = mk_rand(n, 1), y = mk_rand(n, 1), m = mk_rand(n, 0.1f), v = mk(NULL, n), z = mk(NULL, n);
    double r, d;
    CHECK_OK(CS_OP(ref, dot, x.r, y.r, n, &r));
    CHECK_OK(CS_OP(dev, dot, x.d, y.d, n, &d));
    /* Relative to the sum of |x y|, not to the dot itself: random vectors'
     * products cancel (n231: 0.028 of a sum of 184), and the order of the
     * additions then decides the digits that remain. */
    const float *xs = cs_host_data(ref, x.r), *ys = cs_host_data(ref, y.r);
    double mag = 0;
    for (size_t i = 0; i < n; i++) mag += fabs((double)xs[i] * ys[i]);
    CHECK(!isnan(d) && fabs(d - r) <= 1e-6 * mag, "dot %s: %.9g vs reference %.9g (error %.2g of the sum of |x y|)", shape, d, r,
          fabs(d - r) / mag);
    n_compared++;
    CHECK_OK(CS_OP(ref, asum, x.r, n, &r));
    CHECK_OK(CS_OP(dev, asum, x.d, n, &d));
    cmp_scalar("asum", shape, r, d, 1e-5);
    cs_backend *bes[2] = { ref, dev };
    const float s[3] = { 255, 2, 0.5f }, o[3] = { -123.68f, 0, 1 };
    for (int k = 0; k < 2; k++) {
        cs_backend *be = bes[k];
        CHECK_OK(CS_OP(be, axpy, -0.75f, ON(be, x), ON(be, y), n));
        CHECK_OK(CS_OP(be, scale, 1.5f, ON(be, y), n));
        CHECK_OK(CS_OP(be, copy, ON(be, y), ON(be, z), n));
        CHECK_OK(CS_OP(be, fill, ON(be, v), 0.01f, n));
        for (int t = 1; t <= 3; t++) CHECK_OK(CS_OP(be, adam, ON(be, x), ON(be, y), ON(be, m), ON(be, v), n, 0.02f, 0.9f, 0.999f, 1e-8f, t));
    }
    cmp("axpy+scale", shape, y, 1e-12);
    cmp("copy", shape, z, 1e-12);
    cmp("adam", shape, x, 1e-10);
    cmp("adam_m", shape, m, 1e-12);
    cmp("adam_v", shape, v, 1e-12);
    /* Projection into [0, 1] (--clamp): x's unit normals fall on both sides
     * (copies, not new draws, which would move the later shapes' data). */
    pair w = mk(cs_host_data(ref, x.r), n);
    for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], clamp, ON(bes[k], w), 0.0f, 1.0f, n));
    cmp("clamp", shape, w, 0);
    const float *ws = cs_host_data(ref, w.r);
    size_t inside = 0, outside = 0;
    for (size_t i = 0; i < n; i++) inside += ws[i] > 0 && ws[i] < 1, outside += !(ws[i] >= 0 && ws[i] <= 1);
    CHECK((n < 16 || (inside > 0 && inside < n)) && !outside, "clamp %s: %zu of %zu strictly inside, %zu outside", shape, inside, n, outside);
    pair bm = mk(cs_host_data(ref, y.r), n); /* zeroed where w sits on a bound that y pushes it past */
    for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], bound_mask, ON(bes[k], bm), ON(bes[k], w), ON(bes[k], y), 0.0f, 1.0f, n));
    cmp("bound_mask", shape, bm, 0);
    const float *bs = cs_host_data(ref, bm.r), *gs = cs_host_data(ref, y.r);
    size_t held = 0, wrong = 0;
    for (size_t i = 0; i < n; i++) {
        int bind = (ws[i] <= 0 && gs[i] > 0) || (ws[i] >= 1 && gs[i] < 0);
        held += bind, wrong += bind != (bs[i] == 0);
    }
    CHECK((n < 16 || held > 0) && !wrong, "bound_mask %s: %zu held, %zu wrong", shape, held, wrong);
    rel(bm);
    rel(w);
    /* L-BFGS history: rows stored with copy_at, batched dots, linear combination. */
    int rows = n > 1000 ? 7 : 3;
    pair mat = mk_rand(n * rows, 1), out = mk(NULL, n);
    double rd[CS_MAX_VECS * 8], dd[CS_MAX_VECS * 8];
    float coef[8] = { 0.5f, -1.25f, 2.0f, 0.0f, 1e-3f, -0.3f, 0.7f, 1.1f };
    for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], copy_at, ON(bes[k], x), ON(bes[k], mat), n, n));
    cmp("copy_at", shape, mat, 1e-12);
    if (small) resync(mat);
    for (int k = 0; k < 2; k++) {
        cs_buf *vs[CS_MAX_VECS] = { ON(bes[k], y), ON(bes[k], x), ON(bes[k], m) }; /* three vectors at once, as L-BFGS asks */
        CHECK_OK(CS_OP(bes[k], multi_dot, ON(bes[k], mat), rows, vs, CS_MAX_VECS, n, k ? dd : rd));
        CHECK_OK(CS_OP(bes[k], combine, ON(bes[k], mat), rows, coef, ON(bes[k], out), n));
    }
    /* 1e-5 of the sum's natural scale sqrt(n) (unit normals) when the terms cancel below it. */
    for (int r = 0; r < CS_MAX_VECS * rows; r++) cmp_scalar("multi_dot", shape, rd[r], dd[r], 1e-5 * fmax(1.0, sqrt((double)n) / fabs(rd[r])));
    cs_buf *one = ON(dev, x); /* one vector alone, as the direction asks after a pair is refused: x's dots, the second third above */
    CHECK_OK(CS_OP(dev, multi_dot, ON(dev, mat), rows, &one, 1, n, dd));
    for (int r = 0; r < rows; r++) cmp_scalar("multi_dot", shape, rd[rows + r], dd[r], 1e-5 * fmax(1.0, sqrt((double)n) / fabs(rd[rows + r])));
    cmp("copy_at", shape, mat, 1e-12);
    cmp_combine(shape, mat, rows, coef, out);
    rel(mat); rel(out);
    if (n % 3 == 0) {
        pair a = mk(NULL, n);
        for (int k = 0; k < 2; k++) CHECK_OK(CS_OP(bes[k], affine, ON(bes[k], x), ON(bes[k], a), 3, hw, s, o));
        cmp("affine", shape, a, 1e-12);
        /* A mask broadcast over 3 channels: set, then accumulated (in place for the set). */
        pair mm = mk_rand(hw, 1.0f);
        for (int k = 0; k < 2; k++) {
            CHECK_OK(CS_OP(bes[k], copy, ON(bes[k], x), ON(bes[k], a), n));
            CHECK_OK(CS_OP(bes[k], mask_mul, ON(bes[k], a), ON(bes[k], mm), ON(bes[k], a), 3, hw, 0));
            CHECK_OK(CS_OP(bes[k], mask_mul, ON(bes[k], x), ON(bes[k], mm), ON(bes[k], a), 3, hw, 1));
        }
        cmp("mask_mul", shape, a, 1e-12);
        rel(a); rel(mm);
    }
    rel(x); rel(y); rel(m); rel(v); rel(z);
}

/* small (Oclgrind): a fresh backend, so no scratch buffer grows twice; Oclgrind 21.10 keeps the
 * shadow of a released buffer and a larger one under its recycled id reads as uninitialized. */
static void fresh_if_small(void)
{
    if (!small) return;
    cs_backend_destroy(dev);
    CHECK_OK(cs_backend_create("opencl", &dev_params, &dev));
}

static void run_all(void)
{
    static const int convs[][4] = {
        { 3, 5, 7, 6 }, { 5, 19, 3, 21 },
        { 16, 24, 9, 150 }, /* rows of 38 tiles of F(4x4): blocks of 16 within a row and across rows */
        { 1, 1, 1, 1 }, { 3, 64, 1, 1 }, { 17, 33, 13, 1 }, { 5, 7, 2, 3 }, { 64, 3, 9, 11 },
        { 64, 128, 33, 31 },
        { 20, 37, 5, 70 },  /* wide: the direct kernels' interior path */
        { 128, 256, 6, 9 }, /* enough channels for Winograd in direct+winograd */
        { 3, 16, 5, 37 }, { 24, 3, 3, 40 }, /* 4 output channels a work-item (conv3x3_direct4), whole vectors and a tail */
    };
    static const int pools[][3] = { { 3, 7, 6 }, { 3, 4, 35 } /* 16 whole blocks in a row: the vectors */, { 2, 2, 2 }, { 1, 1, 1 }, { 65, 9, 1 }, { 13, 5, 17 }, { 64, 32, 33 } };
    static const int grams[][2] = { { 3, 42 }, { 3, 8200 }, { 32, 70 } /* whole blocks of 16 rows in gram_bwd16 */, { 1, 1 }, { 64, 1 }, { 65, 257 }, { 256, 100 }, { 64, 12345 }, { 17, 20480 } };
    static const int losses[][3] = { { 3, 7, 1 }, { 3, 17, 23 }, { 3, 1, 1 }, { 3, 1, 9 }, { 5, 64, 48 } };
    /* small: the first two of each (three convolutions and three Gram products), which reach every kernel (the
     * Gram split-K path with 3 x 8200, whole row blocks with 32 x 70) */
    size_t n_conv = small ? 3 : sizeof convs / sizeof *convs, n_pool = small ? 2 : sizeof pools / sizeof *pools;
    size_t n_gram = small ? 3 : sizeof grams / sizeof *grams, n_loss = small ? 2 : sizeof losses / sizeof *losses;
    /* small: the Gram ops first, while Oclgrind has no released buffer id to hand out again */
    for (size_t i = 0; small && i < n_gram; i++) {
        if (i > 0) fresh_if_small();
        gram_ops(grams[i][0], grams[i][1]);
    }
    for (size_t i = 0; i < n_conv; i++) {
        if (small || i > 0) fresh_if_small();
        conv_ops(convs[i][0], convs[i][1], convs[i][2], convs[i][3]);
    }
    for (size_t i = 0; i < n_pool; i++) pool_ops(pools[i][0], pools[i][1], pools[i][2]);
    for (size_t i = 0; !small && i < n_gram; i++) gram_ops(grams[i][0], grams[i][1]);
    for (size_t i = 0; i < n_loss; i++) loss_ops(losses[i][0], losses[i][1], losses[i][2]);
    vector_ops(1, 0);
    vector_ops(3 * 77, 77);
    if (!small) vector_ops(3 * 100003, 100003);
    /* From a copy of the generator, so every other case keeps the inputs it had before these were added. */
    cs_rng keep = rng;
    static const int windows[][7] = { { 1, 1, 1, 0, 0, 1, 1 }, { 3, 37, 29, 16, 0, 21, 29 }, { 64, 48, 80, 16, 32, 17, 33 },
                                      { 5, 9, 300, 0, 256, 9, 44 }, { 2, 40, 8, 7, 3, 1, 5 } };
    for (size_t i = 0; i < (small ? 2 : sizeof windows / sizeof *windows); i++) {
        const int *v = windows[i];
        window_ops(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    }
    rng = keep;
}

/* Each kernel file builds on its own, and the program cache is used on the second start. */
static void build_checks(const char *spec)
{
    cs_cl_device d;
    CHECK_OK(cs_cl_select(spec, &d));
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &d.device, NULL, NULL, &err);
    CHECK(err == CL_SUCCESS, "clCreateContext: %s", cs_cl_err_name(err));
    for (int i = 0; i < cs_cl_count; i++) {
        const char *name;
        clstyle_status st = cs_cl_build_file(ctx, &d, i, &name);
        CHECK(st == CLSTYLE_OK, "%s does not compile on its own: %s", name, clstyle_last_error());
    }
    clReleaseContext(ctx);

    char dir[] = "/tmp/clstyle-cache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    cs_backend_params p;
    cs_backend_params_from_env(&p);
    p.device = spec;
    p.cl.conv = "gemm"; /* the program cache only: no convolution measurement (test_choose.c covers it) */
    snprintf(p.cl.cache_dir, sizeof p.cl.cache_dir, "%s", dir);
    cs_backend *a = NULL, *b = NULL;
    CHECK_OK(cs_backend_create("opencl", &p, &a));
    CHECK_OK(cs_backend_create("opencl", &p, &b));
    /* Some stacks refuse program binaries (Oclgrind: CL_INVALID_BINARY); there the second build compiles again, silently. */
    if (a && b) {
        CHECK(!cs_backend_opencl_cached(a), "first build should compile from source");
        CHECK(cs_backend_opencl_cached(b) || small, "second build should come from the cache in %s", dir);
    }
    cs_backend_destroy(a);
    cs_backend_destroy(b);
    /* A corrupt cache entry falls back to compiling. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "for f in %s/*.bin; do echo garbage > $f; done", dir);
    CHECK(system(cmd) == 0, "corrupting the cache");
    CHECK_OK(cs_backend_create("opencl", &p, &a));
    if (a) CHECK(!cs_backend_opencl_cached(a), "a corrupt cache entry must not be used");
    cs_backend_destroy(a);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

int main(int argc, char **argv)
{
    cs_cl_device *list;
    int n;
    small = argc > 2 && !strcmp(argv[1], "small");
    if (cs_cl_devices(&list, &n) != CLSTYLE_OK) SKIP("no OpenCL device: %s", clstyle_last_error());
    cs_rng_seed(&rng, 77);
    CHECK_OK(cs_backend_create("reference", NULL, &ref));
    if (small) n = 1;
    for (int i = 0; i < n; i++) {
        char spec[16];
        snprintf(spec, sizeof spec, "%d", i);
        fprintf(stderr, "device %d: %s / %s\n", i, list[i].platform_name, list[i].device_name);
        build_checks(spec);
        /* Every convolution path: im2col + GEMM with whole-image bands and with
         * bands of a few rows (1 MiB cap), and the direct kernel; both Gram paths
         * (CLBlast and cl/gram.cl); both ways of moving windows. */
        static const struct { const char *conv; int band_mb; const char *gram; } modes[] = {
            { "gemm", 256, "blas" }, { "gemm", 1, "own" }, { "direct", 256, "own" }, { "winograd", 256, "own" }, { "winograd", 1, "own" },
            { "direct+winograd", 256, "own" }, { "winograd4", 256, "own" }, { "winograd4", 1, "own" },
            { "direct+winograd4", 256, "own" }
        };
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
            /* small: the algorithm argv[2] with whole-image bands only, and the Gram path argv[3] (default blas) */
            if (small && m > 0) break;
            cs_backend_params p;
            cs_backend_params_from_env(&p);
            p.device = spec;
            p.cl.conv = small ? argv[2] : modes[m].conv;
            p.cl.band_bytes = (size_t)modes[m].band_mb << 20;
            p.cl.gram = small && argc > 3 ? argv[3] : modes[m].gram;
            /* windows by the driver's rectangle copies in every other mode: a device sharing the host's memory maps them otherwise */
            p.cl.rect_windows = (int)(m % 2);
            fprintf(stderr, "  convolution: %s, band cap %d MiB, Gram: %s, windows: %s\n", p.cl.conv, modes[m].band_mb, p.cl.gram,
                    p.cl.rect_windows ? "rectangle copies" : "mapped where the memory is shared");
            dev_params = p;
            clstyle_status st = cs_backend_create("opencl", &p, &dev);
            CHECK_OK(st);
            if (st) continue;
            run_all();
            cs_backend_destroy(dev);
        }
    }
    fprintf(stderr, "%d comparisons on %d device(s)\n", n_compared, n);
    free(list);
    cs_backend_destroy(ref);
    /* CLBlast keeps its compiled programs in a static cache; released at exit,
     * after Oclgrind's runtime is gone, they corrupt its heap (abort). */
    CLBlastClearCache();
    return tu_done("conformance");
}
