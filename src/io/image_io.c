/* Image files: PNG and JPEG in by content, out by name (atomically), and
 * the public clstyle_image functions built on them. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "error.h"
#include "file.h"
#include "image_codec.h"

static const unsigned char png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
static const unsigned char jpeg_magic[3] = { 0xff, 0xd8, 0xff };

clstyle_status cs_image_decode(const unsigned char *data, size_t n, const char *name, double max_megapixels,
                               cs_image *img)
{
    int orientation = 1;
    img->p = NULL;
    if (n >= sizeof png_magic && !memcmp(data, png_magic, sizeof png_magic))
        CS_TRY(cs_png_decode(data, n, name, max_megapixels, img, &orientation));
    else if (n >= sizeof jpeg_magic && !memcmp(data, jpeg_magic, sizeof jpeg_magic))
        CS_TRY(cs_jpeg_decode(data, n, name, max_megapixels, img, &orientation));
    else if (n == 0)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: empty file, not an image", name);
    else
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: not a supported image (supported: PNG%s; recognized by content, "
                       "not by name)", name, CLSTYLE_HAVE_JPEG ? ", JPEG" : "");
    clstyle_status st = cs_image_orient(img, orientation);
    if (st != CLSTYLE_OK) cs_image_free(img);
    return st;
}

/* The whole file; inputs are compressed images, small next to their pixels. */
static clstyle_status read_file(const char *path, unsigned char **data, size_t *n)
{
    struct stat sb;
    FILE *fp;
    *data = NULL;
    CS_TRY(cs_open_regular(path, "image", &fp)); /* a FIFO would block */
    clstyle_status st = CLSTYLE_OK;
    if (fstat(fileno(fp), &sb) != 0) {
        st = cs_fail(CLSTYLE_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    } else if (!(*data = malloc(sb.st_size ? (size_t)sb.st_size : 1))) {
        st = cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory reading %lld bytes", path, (long long)sb.st_size);
    } else if ((*n = fread(*data, 1, (size_t)sb.st_size, fp)) != (size_t)sb.st_size || ferror(fp)) {
        st = cs_fail(CLSTYLE_ERR_IO, "%s: cannot read: %s", path, ferror(fp) ? strerror(errno) : "file shrank while read");
    }
    fclose(fp);
    if (st != CLSTYLE_OK) {
        free(*data);
        *data = NULL;
    }
    return st;
}

clstyle_status cs_image_load(const char *path, double max_megapixels, cs_image *img)
{
    unsigned char *data;
    size_t n = 0;
    img->p = NULL;
    CS_TRY(read_file(path, &data, &n));
    clstyle_status st = cs_image_decode(data, n, path, max_megapixels, img);
    free(data);
    return st;
}

int cs_image_path_is_jpeg(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && !strchr(dot, '/') && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static clstyle_status save(const char *path, const cs_image *img, int bits, int quality, int jpeg)
{
    cs_atomic a;
    CS_TRY(cs_atomic_open(&a, path));
    if (!jpeg) return cs_atomic_commit(&a, cs_png_write(a.fp, img, bits == 16 ? 16 : 8, &a.err));
    clstyle_status st = cs_jpeg_write(a.fp, path, img, quality);
    if (st == CLSTYLE_OK) return cs_atomic_commit(&a, 1);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", clstyle_last_error());
    cs_atomic_commit(&a, 0); /* removes the temporary file */
    return cs_fail(st, "%s", msg);
}

clstyle_status cs_image_save_png(const char *path, const cs_image *img, int bits) { return save(path, img, bits, 0, 0); }

clstyle_status cs_image_save(const char *path, const cs_image *img, int bits, int quality)
{
    return save(path, img, bits, quality, cs_image_path_is_jpeg(path));
}


/* ---- the public image functions ---- */

clstyle_status clstyle_image_load(const char *path, double max_megapixels, clstyle_image **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    clstyle_status st = cs_image_load(path, max_megapixels, *out);
    if (st != CLSTYLE_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

clstyle_status clstyle_image_save(const clstyle_image *im, const char *path, int bits, int quality)
{
    return cs_image_save(path, im, bits, quality);
}

void clstyle_image_temp_path(const char *path, char *buf, size_t n) { cs_atomic_temp_path(path, buf, n); }

void clstyle_image_free(clstyle_image *im)
{
    if (!im) return;
    cs_image_free(im);
    free(im);
}

int clstyle_image_width(const clstyle_image *im) { return im->w; }
int clstyle_image_height(const clstyle_image *im) { return im->h; }

static size_t pixel_bytes(clstyle_pixels type) { return type == CLSTYLE_PIXELS_U8 ? 1 : type == CLSTYLE_PIXELS_U16 ? 2 : 4; }

static clstyle_status check_pixels(const void *pixels, clstyle_pixels type, int w, int h, size_t *stride)
{
    if (!pixels || w < 1 || h < 1 || type < CLSTYLE_PIXELS_U8 || type > CLSTYLE_PIXELS_F32)
        return cs_fail(CLSTYLE_ERR_USAGE, "image pixels: %dx%d of type %d is not an image", w, h, (int)type);
    size_t packed = (size_t)w * 3 * pixel_bytes(type);
    if (*stride == 0) *stride = packed;
    if (*stride < packed) return cs_fail(CLSTYLE_ERR_USAGE, "image pixels: stride %zu is below a row's %zu bytes", *stride, packed);
    return CLSTYLE_OK;
}

clstyle_status clstyle_image_from_pixels(const void *pixels, clstyle_pixels type, int width, int height, size_t stride,
                                         clstyle_image **out)
{
    *out = NULL;
    CS_TRY(check_pixels(pixels, type, width, height, &stride));
    clstyle_image *im = calloc(1, sizeof *im);
    if (!im) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    clstyle_status st = cs_image_alloc(width, height, im);
    if (st != CLSTYLE_OK) {
        free(im);
        return st;
    }
    size_t plane = (size_t)width * height;
    for (int y = 0; y < height; y++) {
        const unsigned char *row = (const unsigned char *)pixels + (size_t)y * stride;
        for (int x = 0; x < width; x++)
            for (int c = 0; c < 3; c++) {
                size_t i = (size_t)x * 3 + c;
                float v = type == CLSTYLE_PIXELS_U8    ? row[i] / 255.0f
                          : type == CLSTYLE_PIXELS_U16 ? ((const uint16_t *)row)[i] / 65535.0f
                                                       : ((const float *)row)[i];
                im->p[c * plane + (size_t)y * width + x] = v;
            }
    }
    *out = im;
    return CLSTYLE_OK;
}

clstyle_status clstyle_image_to_pixels(const clstyle_image *im, clstyle_pixels type, void *pixels, size_t stride)
{
    CS_TRY(check_pixels(pixels, type, im->w, im->h, &stride));
    size_t plane = (size_t)im->w * im->h;
    for (int y = 0; y < im->h; y++) {
        unsigned char *row = (unsigned char *)pixels + (size_t)y * stride;
        for (int x = 0; x < im->w; x++)
            for (int c = 0; c < 3; c++) {
                size_t i = (size_t)x * 3 + c;
                float v = cs_image_clamp01(im->p[c * plane + (size_t)y * im->w + x]);
                if (type == CLSTYLE_PIXELS_U8) row[i] = (unsigned char)(v * 255.0f + 0.5f);
                else if (type == CLSTYLE_PIXELS_U16) ((uint16_t *)row)[i] = (uint16_t)(v * 65535.0f + 0.5f);
                else ((float *)row)[i] = v;
            }
    }
    return CLSTYLE_OK;
}
