/* Builds the embedded OpenCL program for a device, with an on-disk binary
 * cache (key: hash of source, options, device, driver and platform version). */
#ifndef CS_CL_CACHE_H
#define CS_CL_CACHE_H
#include "cl_device.h"

/* cache: the cache folder (created if needed), "" or NULL for none.
 * *from_cache tells whether the binary came from the cache. */
clstyle_status cs_cl_build(cl_context ctx, const cs_cl_device *dev, const char *options, const char *cache, cl_program *out,
                           int *from_cache);
/* Compiles one embedded file on its own (to check that each does). */
clstyle_status cs_cl_build_file(cl_context ctx, const cs_cl_device *dev, int index, const char **name);
extern const int cs_cl_count;

#endif
