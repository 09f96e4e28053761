/* Unit tests of src/video/flow.h.
 *   test_flow c            warping, reliability and flicker on synthetic fields (plain C: every build)
 *   test_flow dis PHOTO    DIS flow on known motions of a real photo (exit 77 without OpenCV)
 *   test_flow bench PHOTO  milliseconds per flow for each preset at two sizes (prints, checks nothing) */
#include "clock.h"
#include "flow.h"
#include "image.h"
#include "testutil.h"

static float *plane(const cs_image *im, int c) { return im->p + (size_t)c * im->w * im->h; }

/* Constant flow (u, v). */
static void fill_flow(cs_flow *f, float u, float v)
{
    for (size_t i = 0; i < (size_t)f->w * f->h; i++) {
        f->u[i] = u;
        f->v[i] = v;
    }
}

/* A picture with a different value in every pixel and channel. */
static void fill_ramp(cs_image *im)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < im->h; y++)
            for (int x = 0; x < im->w; x++) plane(im, c)[(size_t)y * im->w + x] = 0.01f * x + 0.1f * y + 0.3f * c;
}

/* ---- plain C ---- */

static void test_alloc(void)
{
    cs_flow f;
    CHECK(cs_flow_alloc(0, 5, &f) == CLSTYLE_ERR_USAGE && !f.u && !f.v, "empty flow refused");
    CHECK_OK(cs_flow_alloc(3, 2, &f));
    CHECK(f.w == 3 && f.h == 2 && f.u && f.v, "allocated");
    cs_flow_free(&f);
    cs_flow_free(&f);   /* twice is harmless */
}

/* An integer shift moves pixels exactly; outside, the nearest edge pixel is read. */
static void test_warp_integer(void)
{
    cs_image src, out;
    cs_flow f;
    CHECK_OK(cs_image_alloc(9, 7, &src));
    fill_ramp(&src);
    CHECK_OK(cs_flow_alloc(9, 7, &f));
    fill_flow(&f, 2, -1);
    CHECK_OK(cs_flow_warp(&src, &f, &out));
    int bad = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 9; x++) {
                int sx = x + 2 < 8 ? x + 2 : 8, sy = y - 1 > 0 ? y - 1 : 0;
                bad += plane(&out, c)[y * 9 + x] != plane(&src, c)[sy * 9 + sx];
            }
    CHECK(bad == 0, "%d pixels differ from the shifted picture", bad);
    cs_image_free(&out);

    /* Half a pixel: the mean of the two neighbours (exact for these values). */
    fill_flow(&f, 0.5f, 0);
    CHECK_OK(cs_flow_warp(&src, &f, &out));
    float want = 0.5f * (plane(&src, 1)[2 * 9 + 3] + plane(&src, 1)[2 * 9 + 4]);
    CHECK(fabsf(plane(&out, 1)[2 * 9 + 3] - want) < 1e-6f, "half-pixel warp %g, want %g", plane(&out, 1)[2 * 9 + 3], want);
    cs_image_free(&out);

    /* A broken flow (NaN, huge) reads inside the picture rather than anywhere. */
    f.u[0] = NAN;
    f.v[0] = 1e30f;
    f.u[1] = -1e30f;
    CHECK_OK(cs_flow_warp(&src, &f, &out));
    CHECK(out.p[0] == src.p[6 * 9], "NaN/huge flow clamps: %g", out.p[0]);
    cs_image_free(&out);
    cs_flow_free(&f);

    CHECK_OK(cs_flow_alloc(8, 7, &f));
    CHECK(cs_flow_warp(&src, &f, &out) == CLSTYLE_ERR_USAGE, "size mismatch refused");
    cs_flow_free(&f);
    cs_image_free(&src);
}

/* Fraction of mask values equal to `value` in [x0, x1) x [y0, y1). */
static double frac(const float *mask, int w, int x0, int y0, int x1, int y1, float value)
{
    long n = 0, k = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++, n++) k += mask[(size_t)y * w + x] == value;
    return n ? (double)k / n : 0;
}

static void test_reliability_constant(void)
{
    enum { W = 20, H = 15 };
    cs_flow back, fwd;
    float mask[W * H];
    CHECK_OK(cs_flow_alloc(W, H, &back));
    CHECK_OK(cs_flow_alloc(W, H, &fwd));

    /* Consistent: 1 wherever x + back(x) is inside the previous frame. */
    fill_flow(&back, 2, 1);
    fill_flow(&fwd, -2, -1);
    cs_flow_reliability(&back, &fwd, mask);
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) bad += mask[y * W + x] != (x + 2 <= W - 1 && y + 1 <= H - 1 ? 1.0f : 0.0f);
    CHECK(bad == 0, "constant flow and its inverse: %d pixels wrong", bad);

    /* Both ways the same direction: no round trip anywhere. */
    fill_flow(&fwd, 2, 1);
    cs_flow_reliability(&back, &fwd, mask);
    CHECK(frac(mask, W, 0, 0, W, H, 0) == 1, "inconsistent flows: mask not all 0");

    /* The threshold: |w~ + back|^2 = 0.64 > 0.01 (0.25 + 0.09) + 0.5 fails, 0.09 passes. */
    fill_flow(&back, 0.5f, 0);
    fill_flow(&fwd, 0.3f, 0);
    cs_flow_reliability(&back, &fwd, mask);
    CHECK(frac(mask, W, 0, 0, W - 1, H, 0) == 1, "0.8 px round trip error accepted");
    fill_flow(&fwd, -0.2f, 0);
    cs_flow_reliability(&back, &fwd, mask);
    CHECK(frac(mask, W, 0, 0, W - 1, H, 1) == 1, "0.3 px round trip error refused");
    cs_flow_free(&back);
    cs_flow_free(&fwd);
}

/* A zoom about the centre and its exact inverse: bilinear sampling of a linear
 * field is exact and the zoom's gradient (2 a^2) is under the boundary threshold. */
static void test_reliability_zoom(void)
{
    enum { W = 40, H = 30 };
    const float a = 0.02f, cx = (W - 1) / 2.0f, cy = (H - 1) / 2.0f;
    cs_flow back, fwd;
    float mask[W * H];
    CHECK_OK(cs_flow_alloc(W, H, &back));
    CHECK_OK(cs_flow_alloc(W, H, &fwd));
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            back.u[y * W + x] = a * (x - cx);
            back.v[y * W + x] = a * (y - cy);
            fwd.u[y * W + x] = -a / (1 + a) * (x - cx);
            fwd.v[y * W + x] = -a / (1 + a) * (y - cy);
        }
    cs_flow_reliability(&back, &fwd, mask);
    /* x + back(x) leaves the frame within 0.02 * 20 = 0.4 px of the edge: row/column 0 and W-1. */
    CHECK(frac(mask, W, 1, 1, W - 1, H - 1, 1) == 1, "zoom and inverse: interior mask not all 1");
    CHECK(mask[0] == 0 && mask[W * H - 1] == 0, "corners map outside the frame");
    cs_flow_free(&back);
    cs_flow_free(&fwd);
}

/* A step in the flow is a motion boundary on the two columns whose central
 * difference spans it, even though both flows agree there. */
static void test_reliability_boundary(void)
{
    enum { W = 20, H = 6, X0 = 8 };
    cs_flow back, fwd;
    float mask[W * H];
    CHECK_OK(cs_flow_alloc(W, H, &back));
    CHECK_OK(cs_flow_alloc(W, H, &fwd));
    fill_flow(&back, 0, 0);
    fill_flow(&fwd, 0, 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (x >= X0) back.u[y * W + x] = 3;
            if (x >= X0 + 3) fwd.u[y * W + x] = -3;
        }
    cs_flow_reliability(&back, &fwd, mask);
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float want = x == X0 - 1 || x == X0 || x + back.u[y * W + x] > W - 1 ? 0.0f : 1.0f;
            bad += mask[y * W + x] != want;
        }
    CHECK(bad == 0, "flow step: %d pixels wrong", bad);
    cs_flow_free(&back);
    cs_flow_free(&fwd);
}

static void test_flicker(void)
{
    cs_image a, b;
    CHECK_OK(cs_image_alloc(2, 1, &a));
    CHECK_OK(cs_image_alloc(2, 1, &b));
    memset(a.p, 0, 6 * sizeof(float));
    const float bv[6] = { 0.3f, 1, 0.6f, 1, 0.9f, 1 };   /* planar: pixel 0 is (0.3, 0.6, 0.9), pixel 1 is white */
    memcpy(b.p, bv, sizeof bv);
    const float m10[2] = { 1, 0 }, halves[2] = { 0.5f, 0.5f }, zeros[2] = { 0, 0 };
    CHECK(fabs(cs_flicker(&a, &b, m10) - 0.6) < 1e-6, "flicker, mask (1,0): %g", cs_flicker(&a, &b, m10));
    CHECK(fabs(cs_flicker(&a, &b, halves) - 0.8) < 1e-6, "flicker, mask (.5,.5): %g", cs_flicker(&a, &b, halves));
    CHECK(fabs(cs_flicker(&a, &b, NULL) - 0.8) < 1e-6, "flicker, no mask: %g", cs_flicker(&a, &b, NULL));
    CHECK(cs_flicker(&a, &b, zeros) == 0, "flicker, empty mask: %g", cs_flicker(&a, &b, zeros));
    CHECK(cs_flicker(&b, &a, m10) == cs_flicker(&a, &b, m10), "flicker is symmetric");
    cs_image_free(&a);
    cs_image_free(&b);
}

/* Without OpenCV the flow itself fails with a message saying how to get it. */
static void test_unavailable(void)
{
    if (cs_flow_available()) return;
    cs_image a;
    cs_flow f;
    CHECK_OK(cs_image_alloc(16, 16, &a));
    fill_ramp(&a);
    CHECK(cs_flow_compute(&a, &a, 1, &f) == CLSTYLE_ERR_USAGE, "compute without OpenCV fails");
    CHECK(strstr(clstyle_last_error(), "OpenCV") && strstr(clstyle_last_error(), "`flow`"), "message: %s",
          clstyle_last_error());
    cs_image_free(&a);
}

static int run_c(void)
{
    test_alloc();
    test_warp_integer();
    test_reliability_constant();
    test_reliability_zoom();
    test_reliability_boundary();
    test_flicker();
    test_unavailable();
    if (!cs_flow_available()) fprintf(stderr, "flow: OpenCV DIS is not built in: its tests (flow-dis) skip\n");
    return tu_done("flow");
}

/* ---- DIS on a photo ---- */

/* A known motion: frame b(y) = a(map(y)), map affine with inverse scale k
 * (the map shrinks by 1/k). Then a(x) = b(map^-1(x)): the flow a -> b is
 * map^-1(x) - x = -k (map(x) - x), and b -> a is map(y) - y. */
typedef struct {
    const char *name;
    float dx, dy;   /* map(y) = c + (y - c) / k - d, c the centre */
    float k;
} motion;

static void map_point(const motion *m, const cs_image *im, float x, float y, float *sx, float *sy)
{
    float cx = (im->w - 1) / 2.0f, cy = (im->h - 1) / 2.0f;
    *sx = cx + (x - cx) / m->k - m->dx;
    *sy = cy + (y - cy) / m->k - m->dy;
}

/* The exact flow a -> b (forward = 1) or b -> a (forward = 0). */
static void true_flow(const motion *m, const cs_image *im, int forward, cs_flow *f)
{
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float sx, sy, k = forward ? -m->k : 1.0f;
            map_point(m, im, x, y, &sx, &sy);
            f->u[(size_t)y * im->w + x] = k * (sx - x);
            f->v[(size_t)y * im->w + x] = k * (sy - y);
        }
}

/* Bilinear, clamped: written apart from flow.c's so that a shared bug cannot hide. */
static float bilinear(const float *p, int w, int h, float x, float y)
{
    x = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
    y = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
    int x0 = (int)floorf(x), y0 = (int)floorf(y);
    int x1 = x0 < w - 1 ? x0 + 1 : x0, y1 = y0 < h - 1 ? y0 + 1 : y0;
    float fx = x - x0, fy = y - y0;
    return (1 - fy) * ((1 - fx) * p[y0 * w + x0] + fx * p[y0 * w + x1]) +
           fy * ((1 - fx) * p[y1 * w + x0] + fx * p[y1 * w + x1]);
}

static void apply_motion(const motion *m, const cs_image *src, cs_image *dst)
{
    for (int y = 0; y < src->h; y++)
        for (int x = 0; x < src->w; x++) {
            float sx, sy;
            map_point(m, src, x, y, &sx, &sy);
            for (int c = 0; c < 3; c++)
                plane(dst, c)[y * src->w + x] = bilinear(plane(src, c), src->w, src->h, sx, sy);
        }
}

/* The interior: DIS has little to go on where the motion leaves the frame. */
enum { MARGIN = 8 };

static double mean_epe(const cs_flow *f, const cs_flow *truth)
{
    double sum = 0;
    long n = 0;
    for (int y = MARGIN; y < f->h - MARGIN; y++)
        for (int x = MARGIN; x < f->w - MARGIN; x++, n++) {
            size_t i = (size_t)y * f->w + x;
            sum += hypot(f->u[i] - truth->u[i], f->v[i] - truth->v[i]);
        }
    return sum / n;
}

/* Mean absolute difference of two pictures over the interior. */
static double mean_diff(const cs_image *a, const cs_image *b)
{
    double sum = 0;
    long n = 0;
    for (int c = 0; c < 3; c++)
        for (int y = MARGIN; y < a->h - MARGIN; y++)
            for (int x = MARGIN; x < a->w - MARGIN; x++, n++)
                sum += fabsf(plane(a, c)[y * a->w + x] - plane(b, c)[y * a->w + x]);
    return sum / n;
}

/* The flow both ways against the truth (mean end-point error under
 * epe_bound), and warping b back along the flow a -> b. Bilinear resampling
 * twice (making b, then warping) blurs a photo noticeably, so even the true
 * flow leaves a difference (about 1/3 of |a - b| on Tübingen): the DIS flow
 * must remove 80% of what the true flow removes. */
static void check_motion(const cs_image *a, const motion *m, int quality, double epe_bound)
{
    cs_image b, warped, ideal;
    cs_flow ab, ba, t_ab, t_ba;
    CHECK_OK(cs_image_alloc(a->w, a->h, &b));
    apply_motion(m, a, &b);
    CHECK_OK(cs_flow_alloc(a->w, a->h, &t_ab));
    CHECK_OK(cs_flow_alloc(a->w, a->h, &t_ba));
    true_flow(m, a, 1, &t_ab);
    true_flow(m, a, 0, &t_ba);
    CHECK_OK(cs_flow_compute(a, &b, quality, &ab));
    CHECK_OK(cs_flow_compute(&b, a, quality, &ba));
    double e_ab = mean_epe(&ab, &t_ab), e_ba = mean_epe(&ba, &t_ba);
    CHECK_OK(cs_flow_warp(&b, &ab, &warped));
    CHECK_OK(cs_flow_warp(&b, &t_ab, &ideal));
    double d_warp = mean_diff(&warped, a), d_ideal = mean_diff(&ideal, a), d_raw = mean_diff(&b, a);
    double left = (d_warp - d_ideal) / (d_raw - d_ideal);
    fprintf(stderr, "%s, quality %d: EPE a->b %.3f px, b->a %.3f px (bound %.2f); |warp(b) - a| %.4f, with the true "
            "flow %.4f, |b - a| %.4f: %.1f%% left (bound 20%%)\n", m->name, quality, e_ab, e_ba, epe_bound, d_warp,
            d_ideal, d_raw, 100 * left);
    CHECK(e_ab < epe_bound && e_ba < epe_bound, "%s: EPE %.3f / %.3f over %.2f", m->name, e_ab, e_ba, epe_bound);
    CHECK(left < 0.2, "%s: warping back leaves %.4f, the true flow %.4f, of %.4f", m->name, d_warp, d_ideal, d_raw);
    cs_image_free(&ideal);
    cs_image_free(&warped);
    cs_flow_free(&ab);
    cs_flow_free(&ba);
    cs_flow_free(&t_ab);
    cs_flow_free(&t_ba);
    cs_image_free(&b);
}

/* A textured square (part of the photo upside down) moving right by dx over
 * the photo: the strip of frame 1 it uncovers has no past (mask 0), the
 * background and the square do (mask 1), except near the square's edges
 * where DIS smooths the flow. */
static void check_occlusion(const cs_image *bg, int quality, int dx, double strip_bound, double far_bound)
{
    enum { S = 96, X0 = 200, Y0 = 140, EDGE = 16 };
    cs_image f0, f1;
    CHECK_OK(cs_image_alloc(bg->w, bg->h, &f0));
    CHECK_OK(cs_image_alloc(bg->w, bg->h, &f1));
    size_t hw = (size_t)bg->w * bg->h;
    memcpy(f0.p, bg->p, 3 * hw * sizeof(float));
    memcpy(f1.p, bg->p, 3 * hw * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                float t = plane(bg, c)[(size_t)(bg->h - 21 - y) * bg->w + (bg->w - 41 - x)];
                plane(&f0, c)[(size_t)(Y0 + y) * bg->w + X0 + x] = t;
                plane(&f1, c)[(size_t)(Y0 + y) * bg->w + X0 + dx + x] = t;
            }
    cs_flow back, fwd;
    CHECK_OK(cs_flow_compute(&f1, &f0, quality, &back));
    CHECK_OK(cs_flow_compute(&f0, &f1, quality, &fwd));
    float *mask = malloc(hw * sizeof(float));
    cs_flow_reliability(&back, &fwd, mask);
    double strip0 = frac(mask, bg->w, X0, Y0 + 4, X0 + dx, Y0 + S - 4, 0);
    long n = 0, ones = 0;
    for (int y = MARGIN; y < bg->h - MARGIN; y++)
        for (int x = MARGIN; x < bg->w - MARGIN; x++) {
            int near_x = x > X0 - EDGE && x < X0 + dx + S + EDGE, near_y = y > Y0 - EDGE && y < Y0 + S + EDGE;
            int inside = x >= X0 + dx + EDGE && x < X0 + dx + S - EDGE && y >= Y0 + EDGE && y < Y0 + S - EDGE;
            if (near_x && near_y && !inside) continue;
            n++;
            ones += mask[(size_t)y * bg->w + x] == 1;
        }
    double far1 = (double)ones / n;
    fprintf(stderr, "square moving %d px, quality %d: uncovered strip %.3f masked (bound %.2f), %.4f reliable %d px "
            "away from its edges (bound %.3f), %.4f reliable overall\n", dx, quality, strip0, strip_bound, far1, EDGE,
            far_bound, frac(mask, bg->w, 0, 0, bg->w, bg->h, 1));
    CHECK(strip0 > strip_bound, "uncovered strip only %.3f masked", strip0);
    CHECK(far1 > far_bound, "only %.4f reliable away from the square's edges", far1);
    free(mask);
    cs_flow_free(&back);
    cs_flow_free(&fwd);
    cs_image_free(&f0);
    cs_image_free(&f1);
}

static void check_errors(void)
{
    cs_image a, b;
    cs_flow f;
    CHECK_OK(cs_image_alloc(32, 24, &a));
    CHECK_OK(cs_image_alloc(24, 32, &b));
    fill_ramp(&a);
    fill_ramp(&b);
    CHECK(cs_flow_compute(&a, &b, 1, &f) == CLSTYLE_ERR_USAGE, "different sizes refused");
    CHECK(cs_flow_compute(&a, &a, 3, &f) == CLSTYLE_ERR_USAGE, "quality 3 refused");
    cs_image_free(&b);
    /* Frames under 12 pixels are refused (DIS's patches need room), 12 is enough. */
    const int sizes[][3] = { { 1, 1, 0 }, { 11, 11, 0 }, { 40, 3, 0 }, { 3, 40, 0 }, { 12, 12, 1 }, { 16, 13, 1 } };
    for (int k = 0; k < 6; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        CHECK_OK(cs_image_alloc(w, h, &b));
        fill_ramp(&b);
        clstyle_status st = cs_flow_compute(&b, &b, 1, &f);
        if (st == CLSTYLE_OK) cs_flow_free(&f);
        CHECK(st == (sizes[k][2] ? CLSTYLE_OK : CLSTYLE_ERR_USAGE), "%dx%d frames: %s", w, h, clstyle_last_error());
        cs_image_free(&b);
    }
    cs_image_free(&a);
}

static const motion shift = { "shift (3.4, -2.2)", 3.4f, -2.2f, 1.0f }, zoom = { "zoom 1.03", 0, 0, 1.03f };

/* EPE bounds are about 1.5 x what OpenCV 4.6 gives on Tubingen at 512x384
 * (shift 0.33, 0.25, 0.10 px and zoom 0.52, 0.39, 0.15 px for quality 0, 1, 2):
 * b is a resampled, hence blurred, a, and DIS fits patches, not a zoom. */
static int run_dis(const char *photo)
{
    if (!cs_flow_available()) SKIP("built without OpenCV (meson feature `flow`)");
    cs_image a;
    CHECK_OK(cs_image_load(photo, 0, &a));
    if (tu_failures) return tu_done("flow-dis");
    check_errors();
    const double shift_bound[3] = { 0.45, 0.35, 0.15 }, zoom_bound[3] = { 0.75, 0.55, 0.22 };
    for (int q = 0; q < 3; q++) {
        check_motion(&a, &shift, q, shift_bound[q]);
        check_motion(&a, &zoom, q, zoom_bound[q]);
    }
    /* The finest preset finds an 8 px disocclusion (0.91 of the strip); the
     * default one smooths the flow over about 12 px and needs 16 (0.91; 0.65 at 8). */
    check_occlusion(&a, 2, 8, 0.8, 0.99);
    check_occlusion(&a, 1, 16, 0.8, 0.97);
    cs_image_free(&a);
    return tu_done("flow-dis");
}

static int run_bench(const char *photo)
{
    if (!cs_flow_available()) SKIP("built without OpenCV (meson feature `flow`)");
    cs_image full;
    CHECK_OK(cs_image_load(photo, 0, &full));
    if (tu_failures) return 1;
    for (int size = 256; size <= 512; size *= 2) {
        cs_image a, b;
        int w, h;
        cs_image_fit(full.w, full.h, size, &w, &h);
        CHECK_OK(cs_image_resize(&full, w, h, &a));
        CHECK_OK(cs_image_alloc(w, h, &b));
        apply_motion(&shift, &a, &b);
        for (int q = 0; q < 3; q++) {
            cs_flow f;
            CHECK_OK(cs_flow_compute(&a, &b, q, &f));   /* warm-up: OpenCV's thread pool */
            cs_flow_free(&f);
            int reps = 20;
            double t0 = cs_now();
            for (int r = 0; r < reps; r++) {
                CHECK_OK(cs_flow_compute(&a, &b, q, &f));
                cs_flow_free(&f);
            }
            fprintf(stderr, "%dx%d quality %d: %.1f ms per flow\n", w, h, q, 1e3 * (cs_now() - t0) / reps);
        }
        cs_image_free(&a);
        cs_image_free(&b);
    }
    cs_image_free(&full);
    return tu_done("flow-bench");
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "c")) return run_c();
    if (argc == 3 && !strcmp(argv[1], "dis")) return run_dis(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "bench")) return run_bench(argv[2]);
    fprintf(stderr, "usage: test_flow c | dis PHOTO | bench PHOTO\n");
    return 2;
}
