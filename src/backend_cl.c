/* OpenCL backend: setup and teardown. The vtable runs on any OpenCL 1.2
 * device; its parts live in cl_launch.c, cl_mem.c, cl_gemm.c, cl_conv.c and
 * cl_ops.c (see cl_be.h). Everything stays on the device; reductions return a
 * few partial sums that the host adds in double. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_be.h"
#include "cl_cache.h"

void cl_destroy(cs_backend *be)
{
    cl_be *c = CB(be);
    if (c->q) clFinish(c->q);
    if (c->profile) cl_prof_print(c);
#define CS_KERNEL_RELEASE(f, name) if (c->k.f) clReleaseKernel(c->k.f);
    CS_CL_KERNELS(CS_KERNEL_RELEASE)
#undef CS_KERNEL_RELEASE
    cl_mem mems[] = { c->col, c->parts, c->gemm_tmp, c->wino_m, c->partial, c->coef };
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) clReleaseMemObject(mems[i]);
    if (c->prog) clReleaseProgram(c->prog);
    if (c->q) clReleaseCommandQueue(c->q);
    if (c->ctx) clReleaseContext(c->ctx);
    free(c);
}

static clstyle_status make_kernels(cl_be *c)
{
    cl_int err;
#define CS_KERNEL_CREATE(f, name)                             \
    c->k.f = clCreateKernel(c->prog, name, &err);             \
    CS_TRY(cl_err(err, "clCreateKernel", name));
    CS_CL_KERNELS(CS_KERNEL_CREATE)
#undef CS_KERNEL_CREATE
    return CLSTYLE_OK;
}

/* The im2col band cap: an eighth of the device memory, at most 256 MiB, so a
 * 1024 px image still fits a 2 GiB laptop GPU (params.band_bytes overrides). */
static size_t band_cap(const cl_be *c)
{
    size_t cap = c->params.band_bytes ? c->params.band_bytes : (size_t)256 << 20;
    if (cap > c->dev.global_mem / 8) cap = c->dev.global_mem / 8;
    if (cap > c->max_alloc) cap = c->max_alloc;
    return cap / 4;
}

/* Memory limits: the device's, lowered by the parameters (a shared GPU, a budget, tests). */
static void set_limits(cl_be *c)
{
    const cs_backend_params *p = &c->params;
    c->base.mem_limit = c->dev.global_mem;
    if (p->mem_limit && p->mem_limit < c->base.mem_limit) c->base.mem_limit = p->mem_limit;
    c->max_alloc = c->dev.max_alloc;
    if (p->max_alloc && p->max_alloc < c->max_alloc) c->max_alloc = p->max_alloc;
    c->col_cap = band_cap(c);
}

static clstyle_status choose_conv(cl_be *c)
{
    const char *name = c->params.conv;
    if (!name || !*name || !strcmp(name, "auto")) {
        c->conv_algo = cl_conv_default(&c->dev);
        return CLSTYLE_OK;
    }
    c->conv_algo = cl_conv_find(name);
    if (c->conv_algo >= 0) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_USAGE, "unknown convolution algorithm '%s' (CLSTYLE_CONV: auto, gemm, direct, winograd, direct+winograd)", name);
}

static clstyle_status setup(cl_be *c)
{
    cs_backend *be = &c->base;
    cl_int err;
    char opts[64];
    CS_TRY(cs_cl_select(c->params.device, &c->dev));
    snprintf(be->name, sizeof be->name, "opencl");
    snprintf(be->device, sizeof be->device, "%.100s (%.60s, %.60s)", c->dev.device_name, c->dev.platform_name, c->dev.version);
    set_limits(c);
    CS_TRY(choose_conv(c));
    CS_TRY(cl_gram_choose(c));
    c->ctx = clCreateContext(NULL, 1, &c->dev.device, NULL, NULL, &err);
    CS_TRY(cl_err(err, "clCreateContext", c->dev.device_name));
    c->profile = c->params.profile;
    c->q = clCreateCommandQueue(c->ctx, c->dev.device, c->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    CS_TRY(cl_err(err, "clCreateCommandQueue", c->dev.device_name));
    snprintf(opts, sizeof opts, "-DWG_SIZE=%d -DCOB=%d", WG, CS_DIRECT_COB);
    CS_TRY(cs_cl_build(c->ctx, &c->dev, opts, c->params.cache_dir, &c->prog, &c->from_cache));
    CS_TRY(make_kernels(c));
    c->partial = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, (DEFER_BASE + DEFERRED * MAX_GROUPS) * sizeof(float), NULL, &err);
    CS_TRY(cl_err(err, "clCreateBuffer", "partial sums"));
    c->coef = clCreateBuffer(c->ctx, CL_MEM_READ_ONLY, CS_MAX_ROWS * sizeof(float), NULL, &err);
    return cl_err(err, "clCreateBuffer", "combine coefficients");
}

clstyle_status cs_backend_opencl_create(const cs_backend_params *params, cs_backend **out)
{
    cl_be *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    c->base.ops = &cl_ops;
    if (params) c->params = *params;
    clstyle_status st = setup(c);
    if (st != CLSTYLE_OK) {
        cl_destroy(&c->base);
        return st;
    }
    *out = &c->base;
    return CLSTYLE_OK;
}

clstyle_status cs_backend_opencl_profile(cs_backend *be, cs_profile *out)
{
    cl_be *c = CB(be);
    if (strcmp(be->name, "opencl") || !c->profile) return cs_fail(CLSTYLE_ERR_USAGE, "profile: not an OpenCL backend with profiling on");
    CS_TRY(cl_err(clFinish(c->q), "clFinish", "profile"));
    cl_prof_summary(c, out);
    return CLSTYLE_OK;
}

/* For tests and the benchmark: whether the program came from the disk cache. */
int cs_backend_opencl_cached(const cs_backend *be) { return ((const cl_be *)be)->from_cache; }
