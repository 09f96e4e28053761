/* The OpenCL backend's own settings (a member of cs_backend_params): plain
 * C, no OpenCL types, so that any module can fill them. */
#ifndef CS_CL_PARAMS_H
#define CS_CL_PARAMS_H
#include <stddef.h>

typedef struct cs_cl_params {
    const char *conv;       /* convolution algorithm (CLSTYLE_CONV); NULL or "auto" = the device's choice */
    const char *gram;       /* Gram products: "blas", "own" (CLSTYLE_GRAM); NULL or "auto" = the device's choice */
    int profile;            /* time every launch and print a table at destroy (CLSTYLE_PROFILE) */
    size_t band_bytes;      /* im2col band cap (CLSTYLE_BAND_MB); 0 = default */
    int rect_windows;       /* windows by the driver's rectangle copies even where the device shares the host's memory (tests) */
    size_t max_wg;          /* largest work-group (CLSTYLE_MAX_WG), to act as a small device; 0 = the device's */
    char cache_dir[1024];   /* program binary cache (CLSTYLE_CACHE_DIR, XDG); "" = no cache (CLSTYLE_NO_CACHE) */
    /* Test hook (CLSTYLE_FAIL_KERNELS): the kernel family ("core", "direct",
     * "winograd", "gram") whose source gets an #error, so that the device's
     * compiler really rejects it; NULL in normal use. */
    const char *fail_family;
} cs_cl_params;

#endif
