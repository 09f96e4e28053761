/* OpenCL backend: setup and teardown, the kernel programs, the vtable and
 * the memory interface. The vtable runs on any OpenCL 1.2 device; its parts
 * live in the cl_*.c files below (see cl_be.h). Everything stays on the
 * device; reductions return a few partial sums that the host adds in double. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_be.h"
#include "cl_cache.h"

/* The kernel families: the files of each program, in order. */
static const struct { const char *name; const char *files[8]; } families[CL_FAMILIES] = {
    [CL_CORE] = { "core", { "common.cl", "conv.cl", "eltwise.cl", "pool.cl", "reduce.cl", "optim.cl", NULL } },
    [CL_DIRECT] = { "direct", { "common.cl", "direct.cl", NULL } },
    [CL_WINO] = { "winograd", { "common.cl", "winograd.cl", NULL } },
    [CL_GRAM] = { "gram", { "common.cl", "gram.cl", NULL } },
};

static void release_family(cl_be *c, int family)
{
#define CS_KERNEL_RELEASE(f, name, fam)                      \
    if (fam == family && c->k.f) clReleaseKernel(c->k.f);    \
    if (fam == family) c->k.f = NULL;
    CS_CL_KERNELS(CS_KERNEL_RELEASE)
#undef CS_KERNEL_RELEASE
    if (c->prog[family]) clReleaseProgram(c->prog[family]);
    c->prog[family] = NULL;
}

static void cl_destroy(cs_backend *be)
{
    cl_be *c = CB(be);
    if (c->q) clFinish(c->q);
    if (c->profile) cl_prof_print(c);
    for (int f = 0; f < CL_FAMILIES; f++) release_family(c, f);
    cl_mem mems[] = { c->col, c->parts, c->gemm_tmp, c->wino_m, c->one.m, c->partial, c->coef };
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
    const size_t caps[] = { c->dev.max_wg, kernel_max, lmem, c->params.cl.max_wg };
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

/* Builds one family's program (from the cache when it can) and creates its
 * kernels. The test hook params.cl.fail_family puts an #error before the
 * sources, so that the device's compiler really fails. */
static clstyle_status build_family(cl_be *c, int family, const char *options, int *from_cache)
{
    const char *fail = c->params.cl.fail_family;
    char what[64];
    snprintf(what, sizeof what, "the %s kernels", families[family].name);
    cs_cl_program prog = { .what = what, .files = families[family].files, .options = options, .quiet = family != CL_CORE };
    if (fail && !strcmp(fail, families[family].name)) prog.prefix = "#error CLSTYLE_FAIL_KERNELS (a test hook) failed this build\n";
    CS_TRY(cs_cl_build(c->ctx, &c->dev, &prog, c->params.cl.cache_dir, &c->prog[family], from_cache));
    cl_int err;
#define CS_KERNEL_CREATE(f, name, fam)                                  \
    if (fam == family) {                                                \
        c->k.f = clCreateKernel(c->prog[family], name, &err);           \
        CS_TRY(cl_err(err, "clCreateKernel", name));                    \
    }
    CS_CL_KERNELS(CS_KERNEL_CREATE)
#undef CS_KERNEL_CREATE
    return CLSTYLE_OK;
}

/* The core program, with the reductions' work-group size compiled in
 * (WG_SIZE); when a reduction kernel cannot run that many work-items on
 * this device, built again with what it can. Its failure fails the backend. */
static clstyle_status build_core(cl_be *c, char *opts, size_t n, int *from_cache)
{
    c->wg = reduction_wg(c, MAX_WG);
    c->wob = cl_wino_block(&c->dev);
    for (int attempt = 0; attempt < 2; attempt++) {
        /* CS_OCLGRIND: no shuffles with undef lanes, on which Oclgrind 21.10's uninitialized-value checker crashes */
        snprintf(opts, n, "-DWG_SIZE=%d -DCOB=%d -DWOB=%d%s", c->wg, CS_DIRECT_COB, c->wob,
                 strstr(c->dev.tags, "oclgrind") ? " -DCS_OCLGRIND" : "");
        CS_TRY(build_family(c, CL_CORE, opts, from_cache));
        cl_kernel reductions[] = { c->k.dot, c->k.sqdiff, c->k.tv, c->k.masked_sqdiff, c->k.multi_dot };
        size_t reduce_max = MAX_WG;
        for (size_t i = 0; i < sizeof reductions / sizeof *reductions; i++)
            if (kernel_wg(c, reductions[i]) < reduce_max) reduce_max = kernel_wg(c, reductions[i]);
        if ((size_t)c->wg <= reduce_max) return CLSTYLE_OK;
        release_family(c, CL_CORE);
        if (attempt)
            return cs_fail(CLSTYLE_ERR_DEVICE, "%s: the reduction kernels cannot run %d work-items per group (the kernel's limit is %zu)",
                           c->dev.device_name, c->wg, reduce_max);
        c->wg = reduction_wg(c, reduce_max);
    }
    return CLSTYLE_OK;
}

/* Every family's program: the core must build; an optional family that does
 * not is noted (c->family_error, the notes) and its algorithms are not used.
 * Then the 1-D launch size, from the limits of the kernels there are. */
static clstyle_status build(cl_be *c)
{
    char opts[96];
    const char *fail = c->params.cl.fail_family;
    int found = !fail, cached;
    for (int f = 0; f < CL_FAMILIES; f++) found |= fail && !strcmp(fail, families[f].name);
    if (!found) return cs_fail(CLSTYLE_ERR_USAGE, "CLSTYLE_FAIL_KERNELS: no kernel family '%s' (core, direct, winograd, gram)", fail);
    CS_TRY(build_core(c, opts, sizeof opts, &c->from_cache));
    for (int f = CL_CORE + 1; f < CL_FAMILIES; f++) {
        if (build_family(c, f, opts, &cached) == CLSTYLE_OK) {
            c->from_cache &= cached;
            continue;
        }
        release_family(c, f);
        snprintf(c->family_error[f], sizeof c->family_error[f], "%s", clstyle_last_error());
        cl_note(c, "%s; what needs them is off\n", c->family_error[f]);
    }
    size_t other_max = 64;
#define CS_KERNEL_LIMIT(f, name, fam) if (c->k.f && kernel_wg(c, c->k.f) < other_max) other_max = kernel_wg(c, c->k.f);
    CS_CL_KERNELS(CS_KERNEL_LIMIT)
#undef CS_KERNEL_LIMIT
    c->local1d = pow2_floor(c->params.cl.max_wg && c->params.cl.max_wg < other_max ? c->params.cl.max_wg : other_max);
    return CLSTYLE_OK;
}

/* The im2col band cap: an eighth of the device memory, at most 256 MiB, so a
 * 1024 px image still fits a 2 GiB laptop GPU (params.cl.band_bytes overrides). */
static size_t band_cap(const cl_be *c)
{
    size_t cap = c->params.cl.band_bytes ? c->params.cl.band_bytes : (size_t)256 << 20;
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
}

/* The memory interface: the modes, and what the algorithms keep at the current one. */
static cs_mem_mode cl_default_mode(cs_backend *be) { return (cs_mem_mode){ 0, band_cap(CB(be)) * 4 }; }

static void cl_set_mode(cs_backend *be, cs_mem_mode mode)
{
    CB(be)->lean = mode.lean;
    CB(be)->band_bytes = mode.band_bytes;
}

static const cs_backend_mem cl_mem_iface = {
    .default_mode = cl_default_mode, .set_mode = cl_set_mode, .conv_memory = cl_conv_memory, .gram_memory = cl_gram_memory,
    .conv_seconds = cl_conv_seconds,
};

static const cs_backend_ops cl_ops = {
    .destroy = cl_destroy, .alloc = cl_alloc, .release = cl_release, .upload = cl_upload, .download = cl_download,
    .upload_window = cl_upload_window, .download_window = cl_download_window,
    .conv3x3 = cl_conv3x3, .conv3x3_bwd = cl_conv3x3_bwd, .bias_relu = cl_bias_relu, .relu_bwd = cl_relu_bwd,
    .pool = cl_pool, .pool_bwd = cl_pool_bwd, .gram = cl_gram, .gram_bwd = cl_gram_bwd, .sqdiff = cl_sqdiff, .masked_sqdiff = cl_masked_sqdiff,
    .tv = cl_tv, .affine = cl_affine, .mask_mul = cl_mask_mul, .dot = cl_dot, .asum = cl_asum, .axpy = cl_axpy, .scale = cl_scale,
    .copy = cl_copy, .fill = cl_fill, .clamp = cl_clamp, .bound_mask = cl_bound_mask, .adam = cl_adam, .copy_at = cl_copy_at, .multi_dot = cl_multi_dot, .combine = cl_combine,
    .crop = cl_crop, .paste_add = cl_paste_add, .finish = cl_finish,
};

static clstyle_status setup(cl_be *c)
{
    cs_backend *be = &c->base;
    cl_int err;
    CS_TRY(cs_cl_select(c->params.device, &c->dev));
    snprintf(be->name, sizeof be->name, "opencl");
    snprintf(be->device, sizeof be->device, "%.100s (%.60s, %.60s)", c->dev.device_name, c->dev.platform_name, c->dev.version);
    set_limits(c);
    cl_set_mode(be, cl_default_mode(be));
    c->ctx = clCreateContext(NULL, 1, &c->dev.device, NULL, NULL, &err);
    CS_TRY(cl_err(err, "clCreateContext", c->dev.device_name));
    c->profile = c->params.cl.profile;
    c->q = clCreateCommandQueue(c->ctx, c->dev.device, c->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    CS_TRY(cl_err(err, "clCreateCommandQueue", c->dev.device_name));
    CS_TRY(build(c));
    CS_TRY(cl_gram_choose(c));
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
    c->base.mem = &cl_mem_iface;
    if (params) c->params = *params;
    clstyle_status st = setup(c);
    if (st != CLSTYLE_OK) {
        cl_destroy(&c->base);
        return st;
    }
    *out = &c->base;
    return CLSTYLE_OK;
}

clstyle_status cs_backend_opencl_profile(cs_backend *be, cs_profile *out, int kernels)
{
    cl_be *c = CB(be);
    if (be->ops != &cl_ops || !c->profile) return cs_fail(CLSTYLE_ERR_USAGE, "profile: not an OpenCL backend with profiling on");
    CS_TRY(cl_err(clFinish(c->q), "clFinish", "profile"));
    if (kernels) cl_prof_print(c);
    cl_prof_summary(c, out);
    return CLSTYLE_OK;
}

/* For tests and the benchmark: whether the program came from the disk cache. */
int cs_backend_opencl_cached(const cs_backend *be) { return ((const cl_be *)be)->from_cache; }
