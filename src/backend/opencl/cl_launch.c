/* OpenCL launches: status names, kernel arguments, 1-D launches, reductions
 * (blocking, and deferred until finish() so the device never waits for the
 * host during an evaluation), profiling, and the notes for --verbose. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cl_be.h"
#include "clock.h"

clstyle_status cl_err(cl_int err, const char *call, const char *what)
{
    if (err == CL_SUCCESS) return CLSTYLE_OK;
    clstyle_status st = err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES || err == CL_OUT_OF_HOST_MEMORY ||
                                err == -4 ? CLSTYLE_ERR_NOMEM : CLSTYLE_ERR_OPENCL;
    return cs_fail(st, "%s(%s) failed: %s%s", call, what, cs_cl_err_name(err),
                   st == CLSTYLE_ERR_NOMEM ? " (the device ran out of memory; try a smaller --size)" : "");
}

void cl_note(cl_be *c, const char *fmt, ...)
{
    size_t used = strlen(c->base.notes);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->base.notes + used, sizeof c->base.notes - used, fmt, ap);
    va_end(ap);
}

/* Event slot for the call being made; also notes when the call started. */
cl_event *cl_ev(cl_be *c)
{
    if (!c->profile) return NULL;
    c->t_enqueue = cs_now();
    return &c->ev;
}

/* The table's entry for name (NULL when the table is full). */
static prof_entry *entry(cl_be *c, const char *name)
{
    int i = 0;
    while (i < c->n_prof && strcmp(c->prof[i].name, name)) i++;
    if (i == c->n_prof) {
        if (i == N_PROF) return NULL;
        c->prof[c->n_prof++] = (prof_entry){ name, 0, 0, 0 };
    }
    return &c->prof[i];
}

void cl_prof(cl_be *c, const char *name)
{
    if (!c->profile || !c->ev) return;
    double host = cs_now() - c->t_enqueue;
    cl_ulong t0 = 0, t1 = 0;
    clWaitForEvents(1, &c->ev);
    clGetEventProfilingInfo(c->ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
    clGetEventProfilingInfo(c->ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
    clReleaseEvent(c->ev);
    c->ev = NULL;
    prof_entry *e = entry(c, name);
    if (!e) return;
    e->ms += (double)(t1 - t0) * 1e-6;
    e->host_ms += host * 1e3;
    e->calls++;
}

void cl_prof_host(cl_be *c, const char *name, double t0)
{
    prof_entry *e = c->profile ? entry(c, name) : NULL;
    if (!e) return;
    double ms = (cs_now() - t0) * 1e3;
    e->ms += ms;
    e->host_ms += ms;
    e->calls++;
}

void cl_prof_print(cl_be *c)
{
    double total = 0;
    for (int i = 0; i < c->n_prof; i++) total += c->prof[i].ms;
    if (total <= 0) return; /* nothing since the last summary */
    fprintf(stderr, "OpenCL profile on %s: device time, and host time spent in the enqueue call\n", c->dev.device_name);
    for (int i = 0; i < c->n_prof; i++)
        if (c->prof[i].calls) fprintf(stderr, "  %-18s %8ld calls %10.1f ms %5.1f%%   host %8.1f ms\n", c->prof[i].name, c->prof[i].calls, c->prof[i].ms,
                100 * c->prof[i].ms / (total > 0 ? total : 1), c->prof[i].host_ms);
}

/* The family of a profiled kernel or GEMM, by its name. */
static double *family(cs_profile *p, const char *name)
{
    static const char *const conv[] = { "conv", "pad1", "im2col", "col2im", "gemm conv", "wino" };
    static const char *const optim[] = { "axpy", "dot", "asum", "scale", "multi_dot", "combine", "adam" };
    for (size_t i = 0; i < sizeof conv / sizeof *conv; i++)
        if (!strncmp(name, conv[i], strlen(conv[i]))) return &p->conv_ms;
    if (!strncmp(name, "gemm gram", 9) || !strncmp(name, "gram", 4) || !strcmp(name, "sum_parts")) return &p->gram_ms;
    if (!strncmp(name, "window", 6)) return &p->transfer_ms;
    for (size_t i = 0; i < sizeof optim / sizeof *optim; i++)
        if (!strcmp(name, optim[i])) return &p->optim_ms;
    return &p->eltwise_ms;
}

void cl_prof_summary(cl_be *c, cs_profile *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < c->n_prof; i++) {
        *family(out, c->prof[i].name) += c->prof[i].ms;
        c->prof[i].ms = c->prof[i].host_ms = 0;
        c->prof[i].calls = 0;
    }
    out->conv_flop = c->conv_flop;
    out->gram_flop = c->gram_flop;
    c->conv_flop = c->gram_flop = 0;
}

/* Sets kernel arguments from (size, pointer) pairs. */
cl_int cl_set_args(cl_kernel k, int count, ...)
{
    va_list ap;
    va_start(ap, count);
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < count && err == CL_SUCCESS; i++) {
        size_t size = va_arg(ap, size_t);
        const void *p = va_arg(ap, const void *);
        err = clSetKernelArg(k, (cl_uint)i, size, p);
    }
    va_end(ap);
    return err;
}

clstyle_status cl_run(cl_be *c, cl_kernel k, const char *name, cl_uint dims, const size_t *global, const size_t *local)
{
    cl_int err = clEnqueueNDRangeKernel(c->q, k, dims, NULL, global, local, 0, NULL, cl_ev(c));
    cl_prof(c, name);
    if (err == CL_INVALID_WORK_GROUP_SIZE || err == CL_INVALID_WORK_ITEM_SIZE || err == CL_OUT_OF_RESOURCES) {
        size_t kmax = 0;
        cl_ulong lmem = 0;
        clGetKernelWorkGroupInfo(k, c->dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL);
        clGetKernelWorkGroupInfo(k, c->dev.device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
        return cs_fail(CLSTYLE_ERR_DEVICE, "%s cannot run kernel %s: %s (work-group of %zu, the kernel's limit %zu; local memory "
                       "%llu of the device's %llu bytes)", c->dev.device_name, name, cs_cl_err_name(err), local ? local[0] : 0,
                       kmax, (unsigned long long)lmem, (unsigned long long)c->dev.local_mem);
    }
    return cl_err(err, "clEnqueueNDRangeKernel", name);
}

/* 1-D launch over n items (rounded up to the work-group size). */
clstyle_status cl_run1d(cl_be *c, cl_kernel k, const char *name, size_t n)
{
    if (n == 0) return CLSTYLE_OK;
    size_t local = c->local1d, global = (n + local - 1) / local * local;
    return cl_run(c, k, name, 1, &global, &local);
}

static size_t groups_for(const cl_be *c, size_t n)
{
    size_t g = (n + (size_t)c->wg - 1) / (size_t)c->wg;
    return g < 1 ? 1 : g > MAX_GROUPS ? MAX_GROUPS : g;
}

static clstyle_status run_groups(cl_be *c, cl_kernel k, const char *name, size_t groups)
{
    size_t global = groups * (size_t)c->wg, local = (size_t)c->wg;
    return cl_run(c, k, name, 1, &global, &local);
}

/* Launches a reduction kernel (partial sums in c->partial) and adds them up. */
clstyle_status cl_reduce(cl_be *c, cl_kernel k, const char *name, size_t n, double *out)
{
    size_t groups = groups_for(c, n);
    float part[MAX_GROUPS];
    CS_TRY(run_groups(c, k, name, groups));
    CS_TRY(cl_err(clEnqueueReadBuffer(c->q, c->partial, CL_TRUE, 0, groups * sizeof(float), part, 0, NULL, NULL),
                  "clEnqueueReadBuffer", name));
    double s = 0;
    for (size_t i = 0; i < groups; i++) s += part[i];
    *out = s;
    return CLSTYLE_OK;
}

/* Reads the partial sums of all deferred reductions at once and stores their totals. */
clstyle_status cl_settle(cl_be *c)
{
    if (!c->n_pending) return CLSTYLE_OK;
    float *part = c->host_part;
    size_t n = (size_t)c->n_pending * MAX_GROUPS;
    CS_TRY(cl_err(clEnqueueReadBuffer(c->q, c->partial, CL_TRUE, DEFER_BASE * 4, n * 4, part, 0, NULL, NULL), "clEnqueueReadBuffer",
                  "loss terms"));
    for (int i = 0; i < c->n_pending; i++) {
        double s = 0;
        for (int g = 0; g < c->pending[i].groups; g++) s += part[(size_t)i * MAX_GROUPS + g];
        *c->pending[i].dst = s;
    }
    c->n_pending = 0;
    return CLSTYLE_OK;
}

/* A free deferred slot: its offset in c->partial (settles when all are taken). */
clstyle_status cl_defer_slot(cl_be *c, int *poff)
{
    if (c->n_pending == DEFERRED) CS_TRY(cl_settle(c));
    *poff = (int)(DEFER_BASE + (size_t)c->n_pending * MAX_GROUPS);
    return CLSTYLE_OK;
}

/* Launches a reduction whose partial sums go to the slot cl_defer_slot gave; *out is set at cl_settle(). */
clstyle_status cl_reduce_deferred(cl_be *c, cl_kernel k, const char *name, size_t n, double *out)
{
    size_t groups = groups_for(c, n);
    CS_TRY(run_groups(c, k, name, groups));
    c->pending[c->n_pending].dst = out;
    c->pending[c->n_pending++].groups = (int)groups;
    return CLSTYLE_OK;
}
