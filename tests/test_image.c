/* Unit tests: PNG reading of every colour type, atomic writing, resizing. */
#include <png.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "testutil.h"

static char dir[256];

static const char *tmp(const char *name)
{
    static char path[2][512];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

static int write_png(const char *path, png_uint_32 format, const void *pixels, const void *colormap, int entries)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 2;
    pi.height = 2;
    pi.format = format;
    pi.colormap_entries = (png_uint_32)entries;
    return png_image_write_to_file(&pi, path, 0, pixels, 0, colormap) ? 0 : -1;
}

/* Pixel (x,y) channel c of a loaded image. */
static float px(const cs_image *im, int c, int x, int y) { return im->p[((size_t)c * im->h + y) * im->w + x]; }

static void test_formats(void)
{
    cs_image im;
    unsigned char rgb[12] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30 };
    unsigned char grey[4] = { 0, 64, 128, 255 };
    unsigned char rgba[16] = { 255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128, 1, 2, 3, 255 };
    uint16_t rgb16[12] = { 65535, 0, 0, 0, 65535, 0, 0, 0, 65535, 32768, 32768, 32768 };
    unsigned char pal_idx[4] = { 0, 1, 1, 0 }, pal[6] = { 200, 100, 50, 0, 0, 255 };

    CHECK(write_png(tmp("rgb.png"), PNG_FORMAT_RGB, rgb, NULL, 0) == 0, "write rgb");
    CHECK_OK(cs_image_load(tmp("rgb.png"), 0, &im));
    CHECK(im.w == 2 && im.h == 2, "size %dx%d", im.w, im.h);
    CHECK(px(&im, 0, 0, 0) == 1.0f && px(&im, 1, 1, 0) == 1.0f && px(&im, 2, 0, 1) == 1.0f, "rgb primaries");
    CHECK(fabsf(px(&im, 2, 1, 1) - 30 / 255.0f) < 1e-6, "rgb value");
    cs_image_free(&im);

    CHECK(write_png(tmp("grey.png"), PNG_FORMAT_GRAY, grey, NULL, 0) == 0, "write grey");
    CHECK_OK(cs_image_load(tmp("grey.png"), 0, &im));
    for (int c = 0; c < 3; c++) CHECK(fabsf(px(&im, c, 0, 1) - 128 / 255.0f) < 1e-6, "grey to rgb channel %d", c);
    cs_image_free(&im);

    CHECK(write_png(tmp("rgba.png"), PNG_FORMAT_RGBA, rgba, NULL, 0) == 0, "write rgba");
    CHECK_OK(cs_image_load(tmp("rgba.png"), 0, &im));
    CHECK(px(&im, 0, 1, 0) == 1.0f && px(&im, 1, 1, 0) == 1.0f && px(&im, 2, 1, 0) == 1.0f, "transparent -> white");
    CHECK(px(&im, 0, 0, 0) == 1.0f && px(&im, 1, 0, 0) == 0.0f, "opaque red stays red");
    CHECK(px(&im, 0, 0, 1) > 0.3f && px(&im, 0, 0, 1) < 0.9f, "half-transparent black is grey (%g)", px(&im, 0, 0, 1));
    cs_image_free(&im);

    CHECK(write_png(tmp("rgb16.png"), PNG_FORMAT_LINEAR_RGB, rgb16, NULL, 0) == 0, "write 16-bit");
    CHECK_OK(cs_image_load(tmp("rgb16.png"), 0, &im));
    CHECK(px(&im, 0, 0, 0) == 1.0f && px(&im, 1, 0, 0) == 0.0f, "16-bit primaries");
    cs_image_free(&im);

    CHECK(write_png(tmp("pal.png"), PNG_FORMAT_RGB_COLORMAP, pal_idx, pal, 2) == 0, "write palette");
    CHECK_OK(cs_image_load(tmp("pal.png"), 0, &im));
    CHECK(fabsf(px(&im, 0, 0, 0) - 200 / 255.0f) < 1e-6 && px(&im, 2, 1, 0) == 1.0f, "palette colours");
    cs_image_free(&im);
}

static void test_bad_files(void)
{
    cs_image im;
    CHECK(cs_image_load(tmp("nope.png"), 0, &im) == CLSTYLE_ERR_IO, "missing file");
    CHECK(strstr(clstyle_last_error(), "nope.png") != NULL, "message names the file: %s", clstyle_last_error());
    FILE *f = fopen(tmp("empty.png"), "wb");
    fclose(f);
    CHECK(cs_image_load(tmp("empty.png"), 0, &im) == CLSTYLE_ERR_FORMAT, "empty file");
    f = fopen(tmp("text.png"), "wb");
    fputs("this is not an image\n", f);
    fclose(f);
    CHECK(cs_image_load(tmp("text.png"), 0, &im) == CLSTYLE_ERR_FORMAT, "non-PNG");
    CHECK(strstr(clstyle_last_error(), "text.png") != NULL, "message names the file: %s", clstyle_last_error());
    /* Truncated: a real PNG cut short. */
    cs_image big;
    CHECK_OK(cs_image_alloc(64, 64, &big));
    for (int i = 0; i < 3 * 64 * 64; i++) big.p[i] = (float)((i * 7919) % 256) / 255.0f;
    CHECK_OK(cs_image_save_png(tmp("big.png"), &big, 8));
    f = fopen(tmp("big.png"), "rb");
    unsigned char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(tmp("cut.png"), "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    CHECK(cs_image_load(tmp("cut.png"), 0, &im) == CLSTYLE_ERR_FORMAT, "truncated PNG: %s", clstyle_last_error());
    cs_image_free(&big);
}

static void test_roundtrip_and_atomic(void)
{
    cs_image a, b;
    CHECK_OK(cs_image_alloc(5, 3, &a));
    for (int i = 0; i < 45; i++) a.p[i] = (float)i / 44.0f * 1.2f - 0.1f; /* includes values outside [0,1] */
    CHECK_OK(cs_image_save_png(tmp("rt.png"), &a, 8));
    CHECK_OK(cs_image_load(tmp("rt.png"), 0, &b));
    double worst = 0;
    for (int i = 0; i < 45; i++) {
        float want = a.p[i] < 0 ? 0 : a.p[i] > 1 ? 1 : a.p[i];
        worst = fmax(worst, fabs(b.p[i] - want));
    }
    CHECK(worst <= 0.5 / 255 + 1e-6, "8-bit round trip error %g", worst);
    cs_image_free(&b);
    /* 16 bits: IHDR says so, and it reads back (the reader reduces to 8 bits). */
    CHECK_OK(cs_image_save_png(tmp("rt16.png"), &a, 16));
    FILE *f = fopen(tmp("rt16.png"), "rb");
    unsigned char hdr[26];
    CHECK(f && fread(hdr, 1, 26, f) == 26 && hdr[24] == 16 && hdr[25] == 2, "16-bit RGB IHDR");
    if (f) fclose(f);
    CHECK_OK(cs_image_load(tmp("rt16.png"), 0, &b));
    for (int i = 0; i < 45; i++) {
        float want = a.p[i] < 0 ? 0 : a.p[i] > 1 ? 1 : a.p[i];
        CHECK(fabsf(b.p[i] - want) <= 0.5f / 255 + 1e-6f, "16-bit round trip at %d", i);
    }
    cs_image_free(&b);
    /* A write into a missing folder fails cleanly and leaves nothing behind. */
    CHECK(cs_image_save_png(tmp("no/such/dir/x.png"), &a, 8) == CLSTYLE_ERR_IO, "unwritable");
    /* Overwriting keeps the file valid; no temporary files are left. */
    CHECK_OK(cs_image_save_png(tmp("rt.png"), &a, 8));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | grep -c '^\\.') -eq 0", dir);
    CHECK(system(cmd) == 0, "temporary files left in %s", dir);
    cs_image_free(&a);
}

static void test_resize(void)
{
    cs_image src, dst;
    CHECK_OK(cs_image_alloc(8, 6, &src));
    for (int i = 0; i < 3 * 48; i++) src.p[i] = (float)(i % 48) / 47.0f;
    /* Same size: exact copy, no resampling. */
    CHECK_OK(cs_image_resize(&src, 8, 6, &dst));
    CHECK(memcmp(src.p, dst.p, sizeof(float) * 144) == 0, "same size must be an exact copy");
    cs_image_free(&dst);
    /* Halving is a 2x2 box average (antialiased). */
    CHECK_OK(cs_image_resize(&src, 4, 3, &dst));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++) {
                float want = 0.25f * (px(&src, c, 2 * x, 2 * y) + px(&src, c, 2 * x + 1, 2 * y) + px(&src, c, 2 * x, 2 * y + 1) +
                                      px(&src, c, 2 * x + 1, 2 * y + 1));
                CHECK(fabsf(px(&dst, c, x, y) - want) < 1e-5, "box average at %d,%d", x, y);
            }
    cs_image_free(&dst);
    /* Constant images stay constant at any scale; a 1-px-wide checkerboard averages to grey. */
    for (int i = 0; i < 144; i++) src.p[i] = 0.3f;
    CHECK_OK(cs_image_resize(&src, 3, 5, &dst));
    for (int i = 0; i < 45; i++) CHECK(fabsf(dst.p[i] - 0.3f) < 1e-5, "constant after shrink");
    cs_image_free(&dst);
    CHECK_OK(cs_image_resize(&src, 17, 11, &dst));
    for (int i = 0; i < 3 * 17 * 11; i++) CHECK(fabsf(dst.p[i] - 0.3f) < 1e-5, "constant after enlarge");
    cs_image_free(&dst);
    for (int i = 0; i < 144; i++) src.p[i] = (float)(((i % 8) + (i / 8)) % 2);
    CHECK_OK(cs_image_resize(&src, 3, 2, &dst));
    for (int i = 0; i < 18; i++) CHECK(fabsf(dst.p[i] - 0.5f) < 0.1f, "antialiased checkerboard %g", dst.p[i]);
    cs_image_free(&dst);
    int w, h;
    cs_image_fit(1024, 768, 512, &w, &h);
    CHECK(w == 512 && h == 384, "fit landscape %dx%d", w, h);
    cs_image_fit(734, 979, 100, &w, &h);
    CHECK(w == 75 && h == 100, "fit portrait %dx%d", w, h);
    cs_image_free(&src);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/clstyle-img-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_formats();
    test_bad_files();
    test_roundtrip_and_atomic();
    test_resize();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return tu_done("image");
}
