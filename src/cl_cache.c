#define _POSIX_C_SOURCE 200809L
#include "cl_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "error.h"

extern const char *const cs_cl_sources[];
extern const char *const cs_cl_names[];

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* separator, so "ab"+"c" != "a"+"bc" */
}

static char *join_sources(void)
{
    size_t len = 1;
    for (int i = 0; i < cs_cl_count; i++) len += strlen(cs_cl_sources[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    for (int i = 0; i < cs_cl_count; i++) {
        size_t n = strlen(cs_cl_sources[i]);
        memcpy(p, cs_cl_sources[i], n);
        p += n;
        *p++ = '\n';
    }
    *p = 0;
    return s;
}

/* Creates the cache folder `dir` (mkdir -p); 0 when the cache is off or unusable. */
static int cache_dir(const char *dir, char *out, size_t n)
{
    if (!dir || !*dir) return 0;
    snprintf(out, n, "%s", dir);
    for (char *p = out + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(out, 0755);
        *p = '/';
    }
    return mkdir(out, 0755) == 0 || errno == EEXIST;
}

static cl_program try_binary(cl_context ctx, const cs_cl_device *dev, const char *path, const char *options)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *bin = NULL;
    long size = (fseek(f, 0, SEEK_END) == 0) ? ftell(f) : -1;
    if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (bin = malloc((size_t)size)) && fread(bin, 1, (size_t)size, f) != (size_t)size) {
        free(bin);
        bin = NULL;
    }
    fclose(f);
    if (!bin) return NULL;
    size_t sz = (size_t)size;
    cl_int err, bstat;
    const unsigned char *b = bin;
    cl_program p = clCreateProgramWithBinary(ctx, 1, &dev->device, &sz, &b, &bstat, &err);
    free(bin);
    if (err != CL_SUCCESS || bstat != CL_SUCCESS) return NULL;
    if (clBuildProgram(p, 1, &dev->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

/* Best effort: a cache that cannot be written is simply not used. */
static void save_binary(cl_program p, const char *path)
{
    size_t size = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0) return;
    unsigned char *bin = malloc(size);
    cs_atomic a;
    if (bin && clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS &&
        cs_atomic_open(&a, path) == CLSTYLE_OK)
        cs_atomic_commit(&a, fwrite(bin, 1, size, a.fp) == size);
    free(bin);
}

static clstyle_status build_source(cl_context ctx, const cs_cl_device *dev, const char *src, const char *options,
                                   const char *what, cl_program *out)
{
    cl_int err;
    cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    if (err != CL_SUCCESS) return cs_fail(CLSTYLE_ERR_OPENCL, "clCreateProgramWithSource(%s) failed: %s", what, cs_cl_err_name(err));
    err = clBuildProgram(p, 1, &dev->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t n = 0;
        clGetProgramBuildInfo(p, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
        char *log = malloc(n + 1);
        if (log && clGetProgramBuildInfo(p, dev->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
            log[n] = 0;
            fprintf(stderr, "clstyle: OpenCL build log for %s on %s:\n%s\n", what, dev->device_name, log);
        }
        free(log);
        clReleaseProgram(p);
        return cs_fail(CLSTYLE_ERR_OPENCL, "clBuildProgram(%s) failed on %s: %s (build log above)", what, dev->device_name,
                       cs_cl_err_name(err));
    }
    *out = p;
    return CLSTYLE_OK;
}

clstyle_status cs_cl_build(cl_context ctx, const cs_cl_device *dev, const char *options, const char *cache, cl_program *out,
                           int *from_cache)
{
    char *src = join_sources();
    if (!src) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, src);
    h = fnv1a(h, options);
    h = fnv1a(h, dev->device_name);
    h = fnv1a(h, dev->driver);
    h = fnv1a(h, dev->platform_version);
    char dir[4096], path[4200];
    int cached = cache_dir(cache, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%016llx.bin", dir, (unsigned long long)h);
    *from_cache = 0;
    clstyle_status st = CLSTYLE_OK;
    if (cached && (*out = try_binary(ctx, dev, path, options))) {
        *from_cache = 1;
    } else if ((st = build_source(ctx, dev, src, options, "clstyle kernels", out)) == CLSTYLE_OK && cached) {
        save_binary(*out, path);
    }
    free(src);
    return st;
}

clstyle_status cs_cl_build_file(cl_context ctx, const cs_cl_device *dev, int index, const char **name)
{
    cl_program p = NULL;
    *name = cs_cl_names[index];
    CS_TRY(build_source(ctx, dev, cs_cl_sources[index], "", cs_cl_names[index], &p));
    clReleaseProgram(p);
    return CLSTYLE_OK;
}
