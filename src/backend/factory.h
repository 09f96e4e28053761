/* Making a backend by name. */
#ifndef CS_FACTORY_H
#define CS_FACTORY_H
#include "backend.h"

/* name: "opencl" or "reference". params may be NULL (defaults). The
 * counting backend is made from the backend it counts for:
 * cs_backend_null_create. */
clstyle_status cs_backend_create(const char *name, const cs_backend_params *params, cs_backend **out);

#endif
