/* libFuzzer target: the image load path on untrusted bytes. Format by
 * content, PNG (libpng) with the eXIf chunk walk, JPEG (libjpeg) with its
 * error manager and APP1, the EXIF reader on its own, and the orientation
 * applied to whatever decodes, then resized. The pixel limit is kept small so the fuzzer
 * spends its time on parsing, not on allocating big images.
 *   meson setup build-fuzz -Dfuzz=true (CC=clang)
 *   build-fuzz/tests/fuzz/fuzz_image -max_total_time=30 tests/fuzz/corpus/image */
#include <stddef.h>
#include <stdint.h>

#include "exif.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_image img;
    int orientation;
    if (cs_image_decode(data, size, "fuzz", 1.0, &img) == CLSTYLE_OK) {
        cs_image small;
        int w, h;
        cs_image_fit(img.w, img.h, 37, &w, &h); /* shrink (area) or enlarge (bilinear), to an odd size */
        if (cs_image_resize(&img, w, h, &small) == CLSTYLE_OK) cs_image_free(&small);
        cs_image_free(&img);
    }
    (void)cs_exif_orientation(data, size, "fuzz", &orientation); /* the raw bytes as an EXIF block too */
    return 0;
}
