/* The file formats behind cs_image_decode / cs_image_save: each decoder
 * takes the whole file in memory, refuses an image larger than the limit
 * before allocating its pixels, and reports the EXIF orientation it found
 * (1 when none) for the caller to apply. */
#ifndef CS_IMAGE_CODEC_H
#define CS_IMAGE_CODEC_H
#include <stdio.h>
#include "image.h"


clstyle_status cs_png_decode(const unsigned char *data, size_t n, const char *name, double max_megapixels,
                             cs_image *img, int *orientation);
/* 1 on success; bits 8 or 16. On failure *err holds the errno of the
 * failed write (ENOSPC...), or 0 when none is known. */
int cs_png_write(FILE *fp, const cs_image *img, int bits, int *err);

/* Without libjpeg (-Djpeg=disabled) these fail with a message saying so. */
clstyle_status cs_jpeg_decode(const unsigned char *data, size_t n, const char *name, double max_megapixels,
                              cs_image *img, int *orientation);
clstyle_status cs_jpeg_write(FILE *fp, const char *name, const cs_image *img, int quality);

#endif
