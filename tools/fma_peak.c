/* The device's FMA peak (fma_peak.h): each work-item runs CHAINS independent
 * float16 FMA chains that stay in registers, so nothing but the FMA units
 * limits the loop. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fma_peak.h"

#include "cl_device.h"
#include "error.h"
#include "clock.h"

enum { CHAINS = 8, LANES = 16 };

/* Eight chains hide the FMA latency (4-5 cycles) on two pipes; the values stay finite (a < 1). */
static const char *source =
    "__kernel void fma_peak(__global float *out, int iters, float a) {\n"
    "  float16 x0 = (float16)(get_global_id(0)), x1 = x0 + 1, x2 = x0 + 2, x3 = x0 + 3,\n"
    "          x4 = x0 + 4, x5 = x0 + 5, x6 = x0 + 6, x7 = x0 + 7, b = (float16)(a);\n"
    "  for (int i = 0; i < iters; i++) {\n"
    "    x0 = fma(x0, b, b); x1 = fma(x1, b, b); x2 = fma(x2, b, b); x3 = fma(x3, b, b);\n"
    "    x4 = fma(x4, b, b); x5 = fma(x5, b, b); x6 = fma(x6, b, b); x7 = fma(x7, b, b);\n"
    "  }\n"
    "  float16 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;\n"
    "  out[get_global_id(0)] = s.s0 + s.s1 + s.sf;\n"
    "}\n";

static clstyle_status check(cl_int err, const char *call)
{
    return err == CL_SUCCESS ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_OPENCL, "%s failed: %s", call, cs_cl_err_name(err));
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Wall seconds for one launch of n work-items, each running iters loop
 * trips, and the process's CPU seconds (on a CPU device: the device's
 * threads; on a machine shared with other jobs, the cycles the loop took). */
static clstyle_status time_launch(cl_command_queue q, cl_kernel k, size_t n, int iters, double *sec, double *cpu)
{
    cl_int err = clSetKernelArg(k, 1, sizeof iters, &iters);
    CS_TRY(check(err, "clSetKernelArg"));
    double t0 = cs_now(), c0 = cpu_now();
    CS_TRY(check(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, NULL), "clEnqueueNDRangeKernel"));
    CS_TRY(check(clFinish(q), "clFinish"));
    *sec = cs_now() - t0;
    *cpu = cpu_now() - c0;
    return CLSTYLE_OK;
}

clstyle_status cs_fma_peak(const char *spec, int iters, cs_fma_peak_result *r)
{
    cs_cl_device d;
    cl_context ctx = NULL;
    cl_command_queue q = NULL;
    cl_program prog = NULL;
    cl_kernel k = NULL;
    cl_mem out = NULL;
    cl_int err;
    clstyle_status st;
    CS_CHECK(cs_cl_select(spec, &d));
    ctx = clCreateContext(NULL, 1, &d.device, NULL, NULL, &err);
    CS_CHECK(check(err, "clCreateContext"));
    q = clCreateCommandQueue(ctx, d.device, 0, &err);
    CS_CHECK(check(err, "clCreateCommandQueue"));
    prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
    CS_CHECK(check(err, "clCreateProgramWithSource"));
    CS_CHECK(check(clBuildProgram(prog, 1, &d.device, "", NULL, NULL), "clBuildProgram"));
    k = clCreateKernel(prog, "fma_peak", &err);
    CS_CHECK(check(err, "clCreateKernel"));
    /* Enough work-items to fill every compute unit many times over (GPUs need thousands). */
    size_t n = (size_t)d.compute_units * (d.type & CL_DEVICE_TYPE_GPU ? 8192 : 64);
    out = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &err);
    CS_CHECK(check(err, "clCreateBuffer"));
    float a = 0.5f;
    CS_CHECK(check(clSetKernelArg(k, 0, sizeof out, &out), "clSetKernelArg"));
    CS_CHECK(check(clSetKernelArg(k, 2, sizeof a, &a), "clSetKernelArg"));
    double sec = 0, cpu = 0, best = 1e30, best_cpu = 1e30;
    CS_CHECK(time_launch(q, k, n, 16, &sec, &cpu)); /* warm-up: compilation for the work-group size */
    for (int rep = 0; rep < 3; rep++) {
        CS_CHECK(time_launch(q, k, n, iters, &sec, &cpu));
        if (sec < best) best = sec;
        if (cpu < best_cpu) best_cpu = cpu;
    }
    r->flop = 2.0 * CHAINS * LANES * (double)n * iters;
    r->seconds = best;
    r->gflops = r->flop / best * 1e-9;
    r->cpu_gflops = d.type & CL_DEVICE_TYPE_CPU ? r->flop / (best_cpu / d.compute_units) * 1e-9 : 0;
    r->cpu_seconds = best_cpu / d.compute_units;
    r->compute_units = d.compute_units;
    snprintf(r->device, sizeof r->device, "%s (%s)", d.device_name, d.platform_name);
done:
    if (out) clReleaseMemObject(out);
    if (k) clReleaseKernel(k);
    if (prog) clReleaseProgram(prog);
    if (q) clReleaseCommandQueue(q);
    if (ctx) clReleaseContext(ctx);
    return st;
}

