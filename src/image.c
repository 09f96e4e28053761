#define _POSIX_C_SOURCE 200809L
#include "image.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "error.h"

clstyle_status cs_image_alloc(int w, int h, cs_image *img)
{
    img->w = w;
    img->h = h;
    img->p = malloc((size_t)3 * w * h * sizeof(float));
    return img->p ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
}

void cs_image_free(cs_image *img)
{
    free(img->p);
    img->p = NULL;
}

clstyle_status cs_image_load_png(const char *path, cs_image *img)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    FILE *fp = fopen(path, "rb");
    if (!fp) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot open image: %s", path, strerror(errno));
    clstyle_status st = CLSTYLE_OK;
    unsigned char *buf = NULL;
    if (!png_image_begin_read_from_stdio(&pi, fp)) {
        st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: not a readable PNG image (%s)", path, pi.message);
        goto done;
    }
    if (pi.width > 32768 || pi.height > 32768) {
        st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: image is %ux%u, larger than 32768 px", path, pi.width, pi.height);
        goto done;
    }
    pi.format = PNG_FORMAT_RGB;
    buf = malloc(PNG_IMAGE_SIZE(pi));
    png_color white = { 255, 255, 255 };
    if (!buf) {
        st = cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", path);
    } else if (!png_image_finish_read(&pi, &white, buf, 0, NULL)) {
        st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: corrupt or truncated PNG (%s)", path, pi.message);
    } else if ((st = cs_image_alloc((int)pi.width, (int)pi.height, img)) == CLSTYLE_OK) {
        size_t hw = (size_t)pi.width * pi.height;
        for (size_t i = 0; i < hw; i++)
            for (int c = 0; c < 3; c++) img->p[c * hw + i] = buf[3 * i + c] / 255.0f;
    }
done:
    png_image_free(&pi);
    free(buf);
    fclose(fp);
    return st;
}

/* libpng's default handlers print ("libpng error: Write Error") and lose
 * errno; these keep the cause for the one-line message cs_atomic_commit
 * gives ("No space left on device"). */
static void png_write_failed(png_structp png, png_const_charp msg)
{
    (void)msg;
    int *err = png_get_error_ptr(png);
    if (!*err) *err = errno ? errno : EIO;
    png_longjmp(png, 1);
}

static void png_quiet_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

/* Encodes clamp(img, 0, 1) as RGB PNG rows of `bits` (8 or 16) per channel;
 * on failure *err holds the errno of the failed write, if there was one. */
static int write_png(FILE *fp, const cs_image *img, int bits, int *err)
{
    errno = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, png_write_failed, png_quiet_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    size_t hw = (size_t)img->w * img->h, row_bytes = (size_t)img->w * 3 * (bits / 8);
    unsigned char *row = malloc(row_bytes);
    int ok = 0;
    if (!png || !info || !row) goto done;
    if (setjmp(png_jmpbuf(png))) goto done;
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, bits, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* Values are sRGB-encoded; saying so matters for 16 bits, which readers
     * (libpng's simplified API among them) otherwise take as linear. */
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_write_info(png, info);
    double top = bits == 16 ? 65535.0 : 255.0;
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++)
            for (int c = 0; c < 3; c++) {
                float v = img->p[c * hw + (size_t)y * img->w + x];
                v = v > 0 ? (v < 1 ? v : 1) : 0; /* also maps NaN to 0 */
                long q = lrint(v * top);
                size_t k = ((size_t)x * 3 + c) * (bits / 8);
                if (bits == 16) { row[k] = (unsigned char)(q >> 8); row[k + 1] = (unsigned char)q; } /* big-endian */
                else row[k] = (unsigned char)q;
            }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    ok = 1;
done:
    png_destroy_write_struct(&png, &info);
    free(row);
    return ok;
}

clstyle_status cs_image_save_png(const char *path, const cs_image *img, int bits)
{
    cs_atomic a;
    CS_TRY(cs_atomic_open(&a, path));
    int ok = write_png(a.fp, img, bits == 16 ? 16 : 8, &a.err);
    return cs_atomic_commit(&a, ok);
}

void cs_image_fit(int w, int h, int longer, int *ow, int *oh)
{
    if (w >= h) {
        *ow = longer;
        *oh = (int)lround((double)h * longer / w);
    } else {
        *oh = longer;
        *ow = (int)lround((double)w * longer / h);
    }
    if (*ow < 1) *ow = 1;
    if (*oh < 1) *oh = 1;
}

/* 1-D resampling weights: for output o, taps [first[o], first[o]+count[o]). */
typedef struct { int *first, *count; float *wt; int taps; } kernel1d;

static int make_kernel(int in, int out, kernel1d *k)
{
    double scale = (double)in / out;
    k->taps = scale > 1 ? (int)ceil(scale) + 1 : 2;
    k->first = calloc((size_t)out, sizeof(int));
    k->count = calloc((size_t)out, sizeof(int));
    k->wt = calloc((size_t)out * k->taps, sizeof(float));
    if (!k->first || !k->count || !k->wt) return -1;
    for (int o = 0; o < out; o++) {
        float *w = k->wt + (size_t)o * k->taps;
        if (scale > 1) { /* area: each source pixel weighted by its overlap with [a, b) */
            double a = o * scale, b = (o + 1) * scale;
            int i0 = (int)floor(a), n = 0;
            for (int i = i0; i < b && i < in && n < k->taps; i++, n++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                w[n] = (float)((hi - lo) / scale);
            }
            k->first[o] = i0;
            k->count[o] = n;
        } else { /* bilinear at pixel centres, edges clamped */
            double c = (o + 0.5) * scale - 0.5;
            if (c < 0) c = 0;
            int i0 = (int)floor(c);
            if (i0 > in - 1) i0 = in - 1;
            double f = c - i0;
            k->first[o] = i0;
            k->count[o] = i0 + 1 < in ? 2 : 1;
            w[0] = (float)(k->count[o] == 2 ? 1 - f : 1);
            w[1] = (float)f;
        }
    }
    return 0;
}

static void free_kernel(kernel1d *k)
{
    free(k->first);
    free(k->count);
    free(k->wt);
}

/* Resamples n lines of length `in` (elements `stride` apart, lines `step` apart) to `out`. */
static void resample(const float *src, float *dst, int n, int in, int out, size_t sstride, size_t sstep,
                     size_t dstride, size_t dstep, const kernel1d *k)
{
    (void)in;
    for (int line = 0; line < n; line++)
        for (int o = 0; o < out; o++) {
            float s = 0;
            for (int t = 0; t < k->count[o]; t++)
                s += k->wt[(size_t)o * k->taps + t] * src[line * sstep + (size_t)(k->first[o] + t) * sstride];
            dst[line * dstep + (size_t)o * dstride] = s;
        }
}

clstyle_status cs_image_resize(const cs_image *src, int w, int h, cs_image *dst)
{
    CS_TRY(cs_image_alloc(w, h, dst));
    if (w == src->w && h == src->h) {
        memcpy(dst->p, src->p, (size_t)3 * w * h * sizeof(float));
        return CLSTYLE_OK;
    }
    kernel1d kx = { 0 }, ky = { 0 };
    float *tmp = malloc((size_t)3 * src->h * w * sizeof(float));
    if (!tmp || make_kernel(src->w, w, &kx) || make_kernel(src->h, h, &ky)) {
        free(tmp);
        free_kernel(&kx);
        free_kernel(&ky);
        cs_image_free(dst);
        return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory resizing an image");
    }
    for (int c = 0; c < 3; c++) {
        const float *s = src->p + (size_t)c * src->w * src->h;
        float *t = tmp + (size_t)c * w * src->h, *d = dst->p + (size_t)c * w * h;
        resample(s, t, src->h, src->w, w, 1, (size_t)src->w, 1, (size_t)w, &kx);   /* rows */
        resample(t, d, w, src->h, h, (size_t)w, 1, (size_t)w, 1, &ky);             /* columns */
    }
    free(tmp);
    free_kernel(&kx);
    free_kernel(&ky);
    return CLSTYLE_OK;
}

void cs_image_transfer_colors(cs_image *out, const cs_image *colors)
{
    size_t hw = (size_t)out->w * out->h;
    float *o = out->p;
    const float *c = colors->p;
    for (size_t i = 0; i < hw; i++) {
        float y = 0.299f * o[i] + 0.587f * o[hw + i] + 0.114f * o[2 * hw + i];
        float ci = 0.596f * c[i] - 0.274f * c[hw + i] - 0.322f * c[2 * hw + i];
        float cq = 0.211f * c[i] - 0.523f * c[hw + i] + 0.312f * c[2 * hw + i];
        o[i] = y + 0.956f * ci + 0.621f * cq;
        o[hw + i] = y - 0.272f * ci - 0.647f * cq;
        o[2 * hw + i] = y - 1.106f * ci + 1.703f * cq;
    }
}
