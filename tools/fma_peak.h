/* The device's FMA peak in GFLOP/s: the ceiling clstyle-peak prints and
 * clstyle-bench measures the convolutions' effective rate against. */
#ifndef CS_FMA_PEAK_H
#define CS_FMA_PEAK_H
#include "clstyle.h"

typedef struct {
    char device[512];
    unsigned compute_units;
    int lanes;                      /* the vector width that reached it (float16, float8 or float4) */
    double flop, seconds, gflops;  /* best of 3 launches of `iters` loop trips, at the best width */
    double cpu_seconds, cpu_gflops; /* CPU devices: per core busy, and the peak by CPU time (0 on others) */
} cs_fma_peak_result;

clstyle_status cs_fma_peak(const char *spec, int iters, cs_fma_peak_result *r);

#endif
