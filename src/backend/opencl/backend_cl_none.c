/* Built without OpenCL: the OpenCL entry points say so clearly. */
#include "backend.h"
#include "error.h"

clstyle_status cs_backend_opencl_create(const cs_backend_params *params, cs_backend **out)
{
    (void)params;
    *out = NULL;
    return cs_fail(CLSTYLE_ERR_DEVICE, "this clstyle was built without OpenCL; use --backend reference "
                                       "or rebuild with the OpenCL ICD loader and CLBlast installed");
}

clstyle_status clstyle_list_devices(void) { return cs_backend_opencl_create(NULL, &(cs_backend *){ NULL }); }

clstyle_status clstyle_device_count(int *n)
{
    *n = 0;
    return cs_backend_opencl_create(NULL, &(cs_backend *){ NULL });
}

clstyle_status cs_backend_opencl_profile(cs_backend *be, cs_profile *out, int kernels)
{
    (void)be;
    (void)out;
    (void)kernels;
    return cs_fail(CLSTYLE_ERR_DEVICE, "this clstyle was built without OpenCL: no profile");
}
