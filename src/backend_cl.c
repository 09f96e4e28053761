/* OpenCL backend: setup and teardown. The vtable runs on any OpenCL 1.2
 * device; its parts live in cl_launch.c, cl_mem.c, cl_gemm.c, cl_conv.c and
 * cl_ops.c (see cl_be.h). Everything stays on the device; reductions return a
 * few partial sums that the host adds in double. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_be.h"
#include "cl_cache.h"

static void release_program(cl_be *c)
{
#define CS_KERNEL_RELEASE(f, name) if (c->k.f) clReleaseKernel(c->k.f);
    CS_CL_KERNELS(CS_KERNEL_RELEASE)
#undef CS_KERNEL_RELEASE
    memset(&c->k, 0, sizeof c->k);
    if (c->prog) clReleaseProgram(c->prog);
    c->prog = NULL;
}

void cl_destroy(cs_backend *be)
{
    cl_be *c = CB(be);
    if (c->q) clFinish(c->q);
    if (c->profile) cl_prof_print(c);
    release_program(c);
    cl_mem mems[] = { c->col, c->parts, c->gemm_tmp, c->wino_m, c->partial, c->coef };
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) clReleaseMemObject(mems[i]);
    if (c->q) clReleaseCommandQueue(c->q);
    if (c->ctx) clReleaseContext(c->ctx);
    free(c);
}

/* The largest power of two <= limit. */
static size_t pow2_floor(size_t limit)
{
    size_t p = 1;
    while (p * 2 <= limit) p *= 2;
    return p;
}

/* Work-group size of the reductions: at most MAX_WG, the device's and the
 * kernels' limits (kernel_max), params.max_wg, and one float of local memory per work-item. */
static int reduction_wg(const cl_be *c, size_t kernel_max)
{
    size_t limit = MAX_WG, lmem = (size_t)c->dev.local_mem / sizeof(float);
    const size_t caps[] = { c->dev.max_wg, kernel_max, lmem, c->params.max_wg };
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++)
        if (caps[i] && caps[i] < limit) limit = caps[i];
    return (int)pow2_floor(limit);
}

static size_t kernel_wg(cl_be *c, cl_kernel k)
{
    size_t n = 0;
    clGetKernelWorkGroupInfo(k, c->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof n, &n, NULL);
    return n ? n : 1;
}

/* Creates the kernels; the smallest CL_KERNEL_WORK_GROUP_SIZE of the
 * reductions goes to *reduce_max, and the 1-D launch size is set from the others'. */
static clstyle_status make_kernels(cl_be *c, size_t *reduce_max)
{
    cl_int err;
    size_t other_max = 64;
#define CS_KERNEL_CREATE(f, name)                             \
    c->k.f = clCreateKernel(c->prog, name, &err);             \
    CS_TRY(cl_err(err, "clCreateKernel", name));
    CS_CL_KERNELS(CS_KERNEL_CREATE)
#undef CS_KERNEL_CREATE
    cl_kernel reductions[] = { c->k.dot, c->k.sqdiff, c->k.tv, c->k.multi_dot };
    *reduce_max = MAX_WG;
    for (size_t i = 0; i < sizeof reductions / sizeof *reductions; i++)
        if (kernel_wg(c, reductions[i]) < *reduce_max) *reduce_max = kernel_wg(c, reductions[i]);
#define CS_KERNEL_LIMIT(f, name) if (kernel_wg(c, c->k.f) < other_max) other_max = kernel_wg(c, c->k.f);
    CS_CL_KERNELS(CS_KERNEL_LIMIT)
#undef CS_KERNEL_LIMIT
    c->local1d = c->params.max_wg && c->params.max_wg < other_max ? c->params.max_wg : other_max;
    c->local1d = pow2_floor(c->local1d);
    return CLSTYLE_OK;
}

/* Builds the program with the reductions' work-group size compiled in
 * (WG_SIZE); when a reduction kernel cannot run that many work-items on
 * this device, builds again with what it can. */
static clstyle_status build(cl_be *c)
{
    char opts[96];
    size_t reduce_max = MAX_WG;
    c->wg = reduction_wg(c, MAX_WG);
    for (int attempt = 0; attempt < 2; attempt++) {
        /* CS_OCLGRIND: no shuffles with undef lanes, on which Oclgrind 21.10's uninitialized-value checker crashes */
        snprintf(opts, sizeof opts, "-DWG_SIZE=%d -DCOB=%d%s", c->wg, CS_DIRECT_COB,
                 strstr(c->dev.tags, "oclgrind") ? " -DCS_OCLGRIND" : "");
        CS_TRY(cs_cl_build(c->ctx, &c->dev, opts, c->params.cache_dir, &c->prog, &c->from_cache));
        CS_TRY(make_kernels(c, &reduce_max));
        if ((size_t)c->wg <= reduce_max) return CLSTYLE_OK;
        release_program(c);
        c->wg = reduction_wg(c, reduce_max);
    }
    return cs_fail(CLSTYLE_ERR_DEVICE, "%s: the reduction kernels cannot run %d work-items per group (the kernel's limit is %zu)",
                   c->dev.device_name, c->wg, reduce_max);
}

/* The im2col band cap: an eighth of the device memory, at most 256 MiB, so a
 * 1024 px image still fits a 2 GiB laptop GPU (params.band_bytes overrides). */
static size_t band_cap(const cl_be *c)
{
    size_t cap = c->params.band_bytes ? c->params.band_bytes : (size_t)256 << 20;
    if (cap > c->dev.global_mem / 8) cap = c->dev.global_mem / 8;
    if (cap > c->base.max_alloc) cap = c->base.max_alloc;
    return cap / 4;
}

/* Memory limits: the device's, lowered by the parameters (a shared GPU, a budget, tests). */
static void set_limits(cl_be *c)
{
    const cs_backend_params *p = &c->params;
    c->base.mem_limit = c->dev.global_mem;
    if (p->mem_limit && p->mem_limit < c->base.mem_limit) c->base.mem_limit = p->mem_limit;
    c->base.max_alloc = c->dev.max_alloc ? c->dev.max_alloc : (size_t)-1;
    if (p->max_alloc && p->max_alloc < c->base.max_alloc) c->base.max_alloc = p->max_alloc;
    c->base.band_bytes = band_cap(c) * 4;
}

static clstyle_status setup(cl_be *c)
{
    cs_backend *be = &c->base;
    cl_int err;
    CS_TRY(cs_cl_select(c->params.device, &c->dev));
    snprintf(be->name, sizeof be->name, "opencl");
    snprintf(be->device, sizeof be->device, "%.100s (%.60s, %.60s)", c->dev.device_name, c->dev.platform_name, c->dev.version);
    set_limits(c);
    CS_TRY(cl_gram_choose(c));
    c->ctx = clCreateContext(NULL, 1, &c->dev.device, NULL, NULL, &err);
    CS_TRY(cl_err(err, "clCreateContext", c->dev.device_name));
    c->profile = c->params.profile;
    c->q = clCreateCommandQueue(c->ctx, c->dev.device, c->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    CS_TRY(cl_err(err, "clCreateCommandQueue", c->dev.device_name));
    CS_TRY(build(c));
    c->partial = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, (DEFER_BASE + DEFERRED * MAX_GROUPS) * sizeof(float), NULL, &err);
    CS_TRY(cl_err(err, "clCreateBuffer", "partial sums"));
    c->coef = clCreateBuffer(c->ctx, CL_MEM_READ_ONLY, CS_MAX_ROWS * sizeof(float), NULL, &err);
    CS_TRY(cl_err(err, "clCreateBuffer", "combine coefficients"));
    return cl_choose_conv(c);
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
