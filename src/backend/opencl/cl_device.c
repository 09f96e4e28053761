#include "cl_device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

const char *cs_cl_err_name(int err)
{
    switch (err) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
    E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
    E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
    E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
    E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
    E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
    E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
    E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION)
    E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
    E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
    E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
    E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    /* CLBlast's own codes (clblast_c.h) */
    case -1024: return "CLBlastNotImplemented";
    case -1022: return "CLBlastInvalidMatrixA";
    case -1021: return "CLBlastInvalidMatrixB";
    case -1020: return "CLBlastInvalidMatrixC";
    case -1017: return "CLBlastInvalidDimension";
    case -1016: return "CLBlastInvalidLeadDimA";
    case -1015: return "CLBlastInvalidLeadDimB";
    case -1014: return "CLBlastInvalidLeadDimC";
    case -1011: return "CLBlastInsufficientMemoryA";
    case -1010: return "CLBlastInsufficientMemoryB";
    case -1009: return "CLBlastInsufficientMemoryC";
    case -2050: return "CLBlastInsufficientMemoryTemp";
    case -2046: return "CLBlastInvalidLocalMemUsage";
    case -2041: return "CLBlastDatabaseError";
    case -2040: return "CLBlastUnknownError";
    case -2039: return "CLBlastUnexpectedError";
    }
    return "unknown OpenCL error";
}

const char *cs_cl_type_name(cl_device_type t)
{
    return t & CL_DEVICE_TYPE_GPU ? "GPU" : t & CL_DEVICE_TYPE_CPU ? "CPU" : t & CL_DEVICE_TYPE_ACCELERATOR ? "ACCELERATOR" : "OTHER";
}

/* Reads a string property of a device (dev) or platform, truncated to fit
 * (some drivers have long ones). */
static void info_str(cl_device_id dev, cl_platform_id plat, cl_uint what, char *out, size_t n)
{
    size_t len = 0;
    out[0] = 0;
    cl_int err = dev ? clGetDeviceInfo(dev, what, 0, NULL, &len) : clGetPlatformInfo(plat, what, 0, NULL, &len);
    char *tmp = err == CL_SUCCESS && len ? malloc(len + 1) : NULL;
    if (tmp && (dev ? clGetDeviceInfo(dev, what, len, tmp, NULL) : clGetPlatformInfo(plat, what, len, tmp, NULL)) == CL_SUCCESS) {
        tmp[len] = 0;
        snprintf(out, n, "%s", tmp);
    }
    free(tmp);
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

/* Short names, from what the platform name or a vendor string contains. Only
 * vendor strings, not device names: a CPU named "AMD EPYC" under PoCL is
 * still tagged amd through its device vendor "AuthenticAMD". */
static const struct { const char *seen, *tag; } tag_table[] = {
    { "Portable Computing Language", "pocl" }, { "pocl", "pocl" },  { "rusticl", "rusticl" }, { "Clover", "clover" },
    { "Mesa", "mesa" },                        { "NVIDIA", "nvidia" }, { "Advanced Micro Devices", "amd" }, { "AMD", "amd" },
    { "Intel", "intel" },                      { "Oclgrind", "oclgrind" }, { "Apple", "apple" },
};

void cs_cl_tag(cs_cl_device *d)
{
    char seen[400];
    size_t len = 0;
    snprintf(seen, sizeof seen, "%s %s", d->platform_name, d->vendor);
    d->tags[0] = 0;
    for (size_t i = 0; i < sizeof tag_table / sizeof *tag_table; i++) {
        if (!contains_nocase(seen, tag_table[i].seen) || contains_nocase(d->tags, tag_table[i].tag)) continue;
        int k = snprintf(d->tags + len, sizeof d->tags - len, "%s%s", len ? " " : "", tag_table[i].tag);
        if (k < 0 || (size_t)k >= sizeof d->tags - len) break;
        len += (size_t)k;
    }
}

static void describe(cl_platform_id p, cl_device_id d, cs_cl_device *o)
{
    char cver[64] = "", pvendor[128], dvendor[128];
    memset(o, 0, sizeof *o);
    o->platform = p;
    o->device = d;
    info_str(NULL, p, CL_PLATFORM_NAME, o->platform_name, sizeof o->platform_name);
    info_str(NULL, p, CL_PLATFORM_VERSION, o->platform_version, sizeof o->platform_version);
    info_str(d, NULL, CL_DEVICE_NAME, o->device_name, sizeof o->device_name);
    info_str(d, NULL, CL_DEVICE_VERSION, o->version, sizeof o->version);
    info_str(d, NULL, CL_DRIVER_VERSION, o->driver, sizeof o->driver);
    info_str(d, NULL, CL_DEVICE_OPENCL_C_VERSION, cver, sizeof cver);
    info_str(NULL, p, CL_PLATFORM_VENDOR, pvendor, sizeof pvendor);
    info_str(d, NULL, CL_DEVICE_VENDOR, dvendor, sizeof dvendor);
    snprintf(o->vendor, sizeof o->vendor, "%.120s / %.120s", pvendor, dvendor);
    cs_cl_tag(o);
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof o->type, &o->type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof o->global_mem, &o->global_mem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof o->max_alloc, &o->max_alloc, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof o->local_mem, &o->local_mem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof o->max_wg, &o->max_wg, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof o->compute_units, &o->compute_units, NULL);
    clGetDeviceInfo(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof o->native_float, &o->native_float, NULL);
    clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof o->host_unified, &o->host_unified, NULL);
    if (sscanf(cver, "OpenCL C %d.%d", &o->cl_major, &o->cl_minor) != 2) o->cl_major = o->cl_minor = 0;
}

clstyle_status cs_cl_devices(cs_cl_device **out, int *n)
{
    cl_uint np = 0;
    *out = NULL;
    *n = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 || np == 0) return cs_fail(CLSTYLE_ERR_DEVICE, "no OpenCL platform found (install a driver, e.g. pocl-opencl-icd for the CPU, or use --backend reference)");
    if (err != CL_SUCCESS) return cs_fail(CLSTYLE_ERR_OPENCL, "clGetPlatformIDs failed: %s", cs_cl_err_name(err));
    cl_platform_id ps[16];
    if (np > 16) np = 16;
    clGetPlatformIDs(np, ps, NULL);
    cs_cl_device *list = calloc(64, sizeof *list);
    if (!list) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (cl_uint i = 0; i < np; i++) {
        cl_device_id ds[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(ps[i], CL_DEVICE_TYPE_ALL, 16, ds, &nd) != CL_SUCCESS) continue;
        for (cl_uint j = 0; j < nd && j < 16 && *n < 64; j++) describe(ps[i], ds[j], &list[(*n)++]);
    }
    if (*n == 0) {
        free(list);
        return cs_fail(CLSTYLE_ERR_DEVICE, "no OpenCL device found (use --backend reference)");
    }
    *out = list;
    return CLSTYLE_OK;
}

/* Whether spec names device d: a case-insensitive substring of its platform, name, type or tags. */
static int names(const cs_cl_device *d, const char *spec)
{
    char all[600];
    snprintf(all, sizeof all, "%s %s %s %s", d->platform_name, d->device_name, cs_cl_type_name(d->type), d->tags);
    return contains_nocase(all, spec);
}

int cs_cl_pick(const cs_cl_device *list, int n, const char *spec)
{
    int any = !spec || !*spec;
    char *end;
    long idx = any ? 0 : strtol(spec, &end, 10);
    if (!any && !*end) return idx >= 0 && idx < n ? (int)idx : -1;
    /* A GPU first among the matches ("amd" may name an AMD GPU and PoCL on an AMD CPU), then a CPU, then any. */
    static const cl_device_type order[] = { CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_ALL };
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < n; i++)
            if ((list[i].type & order[k]) && (any || names(&list[i], spec))) return i;
    return -1;
}

clstyle_status cs_cl_select(const char *spec, cs_cl_device *out)
{
    cs_cl_device *list;
    int n;
    CS_TRY(cs_cl_devices(&list, &n));
    int i = cs_cl_pick(list, n, spec);
    if (i < 0) {
        free(list);
        return cs_fail(CLSTYLE_ERR_USAGE, "--device/CLSTYLE_DEVICE '%s' matches no OpenCL device (see clstyle --list-devices)", spec);
    }
    *out = list[i];
    free(list);
    if (out->cl_major * 10 + out->cl_minor < 12)
        return cs_fail(CLSTYLE_ERR_DEVICE, "device '%s' supports only OpenCL C %d.%d; clstyle needs 1.2 (pick another with --device)",
                       out->device_name, out->cl_major, out->cl_minor);
    return CLSTYLE_OK;
}

clstyle_status clstyle_device_count(int *n)
{
    cs_cl_device *list;
    *n = 0;
    CS_TRY(cs_cl_devices(&list, n));
    free(list);
    return CLSTYLE_OK;
}

clstyle_status clstyle_list_devices(void)
{
    cs_cl_device *list;
    int n;
    CS_TRY(cs_cl_devices(&list, &n));
    int def = cs_cl_pick(list, n, NULL);
    for (int i = 0; i < n; i++) {
        const cs_cl_device *d = &list[i];
        printf("%c%d  %-12s %s / %s  [%s]\n     %s, %u compute units, %.1f GiB (largest buffer %.0f MiB), OpenCL C %d.%d, "
               "driver %s\n", i == def ? '*' : ' ', i, cs_cl_type_name(d->type), d->platform_name, d->device_name,
               d->tags, d->version, d->compute_units, d->global_mem / 1073741824.0, d->max_alloc / 1048576.0, d->cl_major,
               d->cl_minor, d->driver);
    }
    printf("(* = default; pick with --device INDEX, a name in [ ] such as 'pocl' or 'rusticl', or a name substring such as "
           "'nvidia', 'intel', 'cpu')\n");
    free(list);
    return CLSTYLE_OK;
}
