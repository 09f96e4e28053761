/* The factory the session, tests and tools make backends with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factory.h"
#include "error.h"

clstyle_status cs_backend_create(const char *name, const cs_backend_params *params, cs_backend **out)
{
    cs_backend_params none;
    if (!params) {
        memset(&none, 0, sizeof none);
        params = &none;
    }
    *out = NULL;
    if (!strcmp(name, "reference")) return cs_backend_reference_create(out);
    if (!strcmp(name, "opencl")) return cs_backend_opencl_create(params, out);
    return cs_fail(CLSTYLE_ERR_USAGE, "unknown backend '%s' (opencl, reference)", name);
}
