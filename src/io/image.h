/* Images: PNG and JPEG in and out, resizing, colour transfer. Pixels are planar RGB
 * (3, h, w) floats, nominally in [0, 1]. */
#ifndef CS_IMAGE_H
#define CS_IMAGE_H
#include "clstyle.h"

/* The public clstyle_image is this struct. */
typedef struct clstyle_image {
    int w, h;
    float *p;   /* (3, h, w) */
} cs_image;

/* Loads a PNG or JPEG, recognized by its first bytes: PNG of any bit depth
 * and colour type (alpha composited on white), JPEG baseline or progressive,
 * grey, RGB or CMYK. The EXIF orientation (JPEG APP1, PNG eXIf) is applied,
 * so the image is upright as viewers show it. An image of more than
 * max_megapixels (<= 0: no limit) is refused before its pixels are allocated.
 * Colour profiles are ignored: pixel values are taken as sRGB. */
clstyle_status cs_image_load(const char *path, double max_megapixels, cs_image *img);
/* The same from a file already in memory; name is used in messages. */
clstyle_status cs_image_decode(const unsigned char *data, size_t n, const char *name, double max_megapixels,
                               cs_image *img);
/* Writes clamp(img, 0, 1) atomically (temporary file, then rename): JPEG of
 * `quality` when path ends in .jpg/.jpeg (any case), else PNG of `bits`. */
clstyle_status cs_image_save(const char *path, const cs_image *img, int bits, int quality);
/* Writes clamp(img, 0, 1) as 8- or 16-bit RGB PNG, atomically. */
clstyle_status cs_image_save_png(const char *path, const cs_image *img, int bits);
/* Whether cs_image_save writes a JPEG to this path. */
int cs_image_path_is_jpeg(const char *path);
/* Turns an image stored with EXIF orientation 1..8 upright. */
clstyle_status cs_image_orient(cs_image *img, int orientation);
static inline float cs_image_clamp01(float v) { return v > 0 ? (v < 1 ? v : 1) : 0; } /* NaN -> 0 */
clstyle_status cs_image_alloc(int w, int h, cs_image *img);
/* Fails, naming the file and --max-input-mp, when w x h is over the limit. */
clstyle_status cs_image_check_size(const char *name, unsigned long w, unsigned long h, double max_megapixels);
void cs_image_free(cs_image *img);
/* Area average when shrinking (antialiased), bilinear when enlarging, an
 * exact copy when the size is unchanged. */
clstyle_status cs_image_resize(const cs_image *src, int w, int h, cs_image *dst);
/* Size with the longer side equal to `longer`, aspect ratio kept. */
void cs_image_fit(int w, int h, int longer, int *ow, int *oh);
/* Keeps out's luminance and takes the chrominance (YIQ) from colors, same size. */
void cs_image_transfer_colors(cs_image *out, const cs_image *colors);

#endif
