/* clstyle-peak: the device's FMA peak in GFLOP/s, the ceiling against which
 * the convolution and Gram kernels are measured (clstyle-bench prints their
 * GFLOP/s and the effective rate of a whole evaluation against it).
 *
 *   clstyle-peak [--device SPEC] [--iterations N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fma_peak.h"

int main(int argc, char **argv)
{
    const char *spec = getenv("CLSTYLE_DEVICE");
    int iters = 100000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) spec = argv[++i];
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) iters = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: clstyle-peak [--device SPEC] [--iterations N]\n");
            return 2;
        }
    }
    if (iters < 1) iters = 1;
    cs_fma_peak_result r;
    if (cs_fma_peak(spec, iters, &r) != CLSTYLE_OK) {
        fprintf(stderr, "clstyle-peak: %s\n", clstyle_last_error());
        return 1;
    }
    printf("device: %s, %u compute units\n", r.device, r.compute_units);
    printf("FMA peak: %.0f GFLOP/s (float%d chains; best of 3, %.3f s for %.3g FLOP)\n", r.gflops, r.lanes, r.seconds, r.flop);
    if (r.cpu_gflops > 0) /* the figure clstyle-convbench --cpu-time compares with */
        printf("FMA peak by CPU time: %.0f GFLOP/s (%u cores busy for %.3f s each)\n", r.cpu_gflops, r.compute_units, r.cpu_seconds);
    return 0;
}
