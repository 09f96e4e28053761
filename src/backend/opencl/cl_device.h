/* OpenCL devices: enumeration, --device selection, listing, error names. */
#ifndef CS_CL_DEVICE_H
#define CS_CL_DEVICE_H
#include <CL/cl.h>
#include "clstyle.h"

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    char platform_name[128], device_name[128], version[256], driver[128], platform_version[256];
    char vendor[256];           /* platform vendor, then device vendor */
    char tags[64];              /* the short names people type: "pocl", "rusticl mesa", "nvidia" */
    cl_device_type type;
    cl_ulong global_mem, max_alloc, local_mem;
    size_t max_wg;              /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    cl_uint compute_units;
    cl_uint native_float;       /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: 8 on AVX2, 16 on AVX-512 */
    cl_bool host_unified;       /* CL_DEVICE_HOST_UNIFIED_MEMORY: CPUs and iGPUs, whose buffers are host memory */
    int cl_major, cl_minor;     /* OpenCL C version */
} cs_cl_device;

/* Name of an OpenCL or CLBlast status code ("CL_OUT_OF_RESOURCES"). */
const char *cs_cl_err_name(int err);
/* Every device of every platform, in a stable order (the --list-devices index). */
clstyle_status cs_cl_devices(cs_cl_device **out, int *n);
/* spec: NULL/"" = the default (first GPU, else first CPU); a number = index;
 * else a case-insensitive substring of "platform device type tags", a GPU
 * preferred among several matches. */
clstyle_status cs_cl_select(const char *spec, cs_cl_device *out);
/* The index cs_cl_select would take from list, or -1 (for tests on made-up lists). */
int cs_cl_pick(const cs_cl_device *list, int n, const char *spec);
/* Fills d->tags from its platform name and vendors. */
void cs_cl_tag(cs_cl_device *d);
const char *cs_cl_type_name(cl_device_type t);

#endif
