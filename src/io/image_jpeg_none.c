/* A build without libjpeg (-Djpeg=disabled): JPEG files are recognized but
 * refused with a message saying why. */
#include "error.h"
#include "image_codec.h"

static clstyle_status no_jpeg(const char *name)
{
    return cs_fail(CLSTYLE_ERR_FORMAT, "%s: a JPEG image, but this clstyle was built without JPEG support "
                                       "(rebuild with libjpeg, or convert the image to PNG)", name);
}

clstyle_status cs_jpeg_decode(const unsigned char *data, size_t n, const char *name, double max_megapixels,
                              cs_image *img, int *orientation)
{
    (void)data, (void)n, (void)max_megapixels, (void)orientation;
    img->p = NULL;
    return no_jpeg(name);
}

clstyle_status cs_jpeg_write(FILE *fp, const char *name, const cs_image *img, int quality)
{
    (void)fp, (void)img, (void)quality;
    return no_jpeg(name);
}
