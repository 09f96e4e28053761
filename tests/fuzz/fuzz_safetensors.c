/* safetensors files from arbitrary bytes: the header checks, then every
 * tensor small enough to read is read (F32 and F16), then the VGG loader. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "safetensors.h"
#include "weights.h"

enum { MAX_READ = 1 << 20 }; /* elements; the checks above must keep reads within the file */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    st_file f;
    if (st_open(path, &f) == CLSTYLE_OK) {
        for (int i = 0; i < f.n; i++) {
            int64_t n = st_numel(&f.tensors[i]);
            if (n < 0 || n > MAX_READ) continue;
            float *buf = malloc((size_t)(n ? n : 1) * sizeof *buf);
            if (buf) (void)st_read_f32(&f, &f.tensors[i], buf);
            free(buf);
        }
        (void)st_find(&f, "features.0.weight");
        st_close(&f);
    }
    cs_weights w;
    if (cs_weights_load(path, NULL, &w) == CLSTYLE_OK) cs_weights_free(&w);
    return 0;
}
