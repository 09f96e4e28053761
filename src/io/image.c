#define _POSIX_C_SOURCE 200809L
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

clstyle_status cs_image_check_size(const char *name, unsigned long w, unsigned long h, double max_megapixels)
{
    double mp = (double)w * (double)h / 1e6;
    if (w > 32768 || h > 32768)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: image is %lux%lu, larger than 32768 px", name, w, h);
    if (max_megapixels > 0 && mp > max_megapixels)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: image is %lux%lu (%.1f megapixels), more than the limit of %g; "
                       "raise it with --max-input-mp", name, w, h, mp, max_megapixels);
    return CLSTYLE_OK;
}

/* Where displayed pixel (x, y) of an image stored w x h with EXIF orientation
 * o comes from (TIFF 6.0: 2 mirrors, 3 turns 180 degrees, 4 flips, 5
 * transposes, 6 turns 90 clockwise to display, 7 transverses, 8 turns 90
 * counter-clockwise). */
static void source_of(int o, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2: *sx = w - 1 - x; *sy = y; break;
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;
    case 4: *sx = x; *sy = h - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = h - 1 - x; break;
    case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;
    case 8: *sx = w - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

clstyle_status cs_image_orient(cs_image *img, int orientation)
{
    if (orientation <= 1 || orientation > 8) return CLSTYLE_OK;
    int w = img->w, h = img->h, swap = orientation >= 5;
    cs_image out;
    CS_TRY(cs_image_alloc(swap ? h : w, swap ? w : h, &out));
    size_t hw = (size_t)w * h;
    for (int y = 0; y < out.h; y++)
        for (int x = 0; x < out.w; x++) {
            int sx, sy;
            source_of(orientation, w, h, x, y, &sx, &sy);
            for (int c = 0; c < 3; c++) out.p[c * hw + (size_t)y * out.w + x] = img->p[c * hw + (size_t)sy * w + sx];
        }
    cs_image_free(img);
    *img = out;
    return CLSTYLE_OK;
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
