/* PNG through libpng's simplified API, plus the eXIf chunk, which that API
 * does not expose: the chunk list is walked here, bounds-checked. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "exif.h"
#include "image_codec.h"

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Orientation from an eXIf chunk, 1 when there is none. Chunks: length (4),
 * type (4), data, CRC (4), after the 8-byte signature; libpng checks the
 * rest of the structure when it decodes. */
static clstyle_status png_orientation(const unsigned char *data, size_t n, const char *name, int *orientation)
{
    *orientation = 1;
    for (size_t off = 8; off <= n && n - off >= 12;) {
        uint32_t len = be32(data + off);
        if (len > n - off - 12) break; /* truncated: libpng reports it */
        if (!memcmp(data + off + 4, "eXIf", 4)) return cs_exif_orientation(data + off + 8, len, name, orientation);
        if (!memcmp(data + off + 4, "IEND", 4)) break;
        off += 12 + (size_t)len;
    }
    return CLSTYLE_OK;
}

clstyle_status cs_png_decode(const unsigned char *data, size_t n, const char *name, double max_megapixels,
                             cs_image *img, int *orientation)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    img->p = NULL;
    clstyle_status st = CLSTYLE_OK;
    unsigned char *buf = NULL;
    if (!png_image_begin_read_from_memory(&pi, data, n)) {
        st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: not a readable PNG image (%s)", name, pi.message);
        goto done;
    }
    CS_CHECK(cs_image_check_size(name, pi.width, pi.height, max_megapixels));
    CS_CHECK(png_orientation(data, n, name, orientation));
    pi.format = PNG_FORMAT_RGB;
    buf = malloc(PNG_IMAGE_SIZE(pi));
    png_color white = { 255, 255, 255 };
    if (!buf) {
        st = cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", name);
    } else if (!png_image_finish_read(&pi, &white, buf, 0, NULL)) {
        st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: corrupt or truncated PNG (%s)", name, pi.message);
    } else if ((st = cs_image_alloc((int)pi.width, (int)pi.height, img)) == CLSTYLE_OK) {
        size_t hw = (size_t)pi.width * pi.height;
        for (size_t i = 0; i < hw; i++)
            for (int c = 0; c < 3; c++) img->p[c * hw + i] = buf[3 * i + c] / 255.0f;
    }
done:
    png_image_free(&pi);
    free(buf);
    return st;
}

/* Encodes clamp(img, 0, 1) as RGB PNG rows of `bits` (8 or 16) per channel. */
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

int cs_png_write(FILE *fp, const cs_image *img, int bits, int *err)
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
                long q = lrint(cs_image_clamp01(img->p[c * hw + (size_t)y * img->w + x]) * top);
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
