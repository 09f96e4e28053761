/* Images: PNG in and out, resizing, colour transfer. Pixels are planar RGB
 * (3, h, w) floats, nominally in [0, 1]. */
#ifndef CS_IMAGE_H
#define CS_IMAGE_H
#include "clstyle.h"

typedef struct {
    int w, h;
    float *p;   /* (3, h, w) */
} cs_image;

/* Any PNG: 8/16-bit, grey, palette; alpha is composited on white. */
clstyle_status cs_image_load_png(const char *path, cs_image *img);
/* Writes clamp(img, 0, 1) as 8- or 16-bit RGB, atomically (temporary file, then rename). */
clstyle_status cs_image_save_png(const char *path, const cs_image *img, int bits);
clstyle_status cs_image_alloc(int w, int h, cs_image *img);
void cs_image_free(cs_image *img);
/* Area average when shrinking (antialiased), bilinear when enlarging, an
 * exact copy when the size is unchanged. */
clstyle_status cs_image_resize(const cs_image *src, int w, int h, cs_image *dst);
/* Size with the longer side equal to `longer`, aspect ratio kept. */
void cs_image_fit(int w, int h, int longer, int *ow, int *oh);
/* Keeps out's luminance and takes the chrominance (YIQ) from colors, same size. */
void cs_image_transfer_colors(cs_image *out, const cs_image *colors);

#endif
