/* Builds programs from the embedded OpenCL files for a device, with an
 * on-disk binary cache (key: hash of the program's sources, options, device,
 * driver and platform version). */
#ifndef CS_CL_CACHE_H
#define CS_CL_CACHE_H
#include "cl_device.h"

/* One program: the embedded files named in files ("conv.cl", NULL-terminated),
 * in order, after prefix. A failed build's error message ends with the
 * build log's first line; unless quiet, the whole log goes to stderr. */
typedef struct {
    const char *what;          /* the program in messages: "the core kernels" */
    const char *const *files;
    const char *options;
    int quiet;
    const char *prefix;        /* source put before the files, or NULL */
} cs_cl_program;

/* cache: the cache folder (created if needed), "" or NULL for none.
 * *from_cache tells whether the binary came from the cache. */
clstyle_status cs_cl_build(cl_context ctx, const cs_cl_device *dev, const cs_cl_program *prog, const char *cache, cl_program *out,
                           int *from_cache);
/* Compiles one embedded file on its own (to check that each does). */
clstyle_status cs_cl_build_file(cl_context ctx, const cs_cl_device *dev, int index, const char **name);
extern const int cs_cl_count;

#endif
