/* PNG load and resize on arbitrary bytes. Inputs whose header claims more
 * than 1 megapixel are skipped: the input pixel limit (--max-input-mp) is
 * the guard for those, and libFuzzer would report the allocation itself. */
#include <stdint.h>

#include "fuzz_util.h"
#include "image.h"

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 24 && (uint64_t)be32(data + 16) * be32(data + 20) > (1u << 20)) return 0; /* IHDR width x height */
    cs_image img, small;
    if (cs_image_load_png(fuzz_file(data, size), &img) != CLSTYLE_OK) return 0;
    int w, h;
    cs_image_fit(img.w, img.h, 37, &w, &h); /* shrink (area) or enlarge (bilinear), odd size */
    if (cs_image_resize(&img, w, h, &small) == CLSTYLE_OK) cs_image_free(&small);
    cs_image_free(&img);
    return 0;
}
