/* The device's FMA peak (fma_peak.h): each work-item runs CHAINS independent
 * FMA chains of one vector type that stay in registers, so nothing but the
 * FMA units limits the loop. The best of three vector widths: which one keeps
 * every chain in registers depends on the register file (on PoCL with AVX2, a
 * float16 is two of its 16 registers and eight chains spill: 105 GFLOP/s
 * where float8 reaches 193). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fma_peak.h"

#include "cl_device.h"
#include "error.h"
#include "clock.h"

enum { CHAINS = 8 };

/* Eight chains hide the FMA latency (4-5 cycles) on two pipes; the values
 * stay finite (a < 1). T: the vector type, given as a build option. */
static const char *source =
    "__kernel void fma_peak(__global float *out, int iters, float a) {\n"
    "  T x0 = (T)(get_global_id(0)), x1 = x0 + 1, x2 = x0 + 2, x3 = x0 + 3,\n"
    "    x4 = x0 + 4, x5 = x0 + 5, x6 = x0 + 6, x7 = x0 + 7, b = (T)(a);\n"
    "  for (int i = 0; i < iters; i++) {\n"
    "    x0 = fma(x0, b, b); x1 = fma(x1, b, b); x2 = fma(x2, b, b); x3 = fma(x3, b, b);\n"
    "    x4 = fma(x4, b, b); x5 = fma(x5, b, b); x6 = fma(x6, b, b); x7 = fma(x7, b, b);\n"
    "  }\n"
    "  T s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;\n"
    "  out[get_global_id(0)] = s.s0 + s.s1 + s.s3;\n"
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

/* One vector width: the best of 3 launches (after a warm-up, which pays for
 * the compilation for the work-group size). */
static clstyle_status measure_width(cl_context ctx, cl_command_queue q, const cs_cl_device *d, int lanes, int iters, double *flop,
                                    double *sec, double *cpu)
{
    cl_program prog = NULL;
    cl_kernel k = NULL;
    cl_mem out = NULL;
    cl_int err;
    clstyle_status st;
    char options[32];
    snprintf(options, sizeof options, "-DT=float%d", lanes);
    prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
    CS_CHECK(check(err, "clCreateProgramWithSource"));
    CS_CHECK(check(clBuildProgram(prog, 1, &d->device, options, NULL, NULL), "clBuildProgram"));
    k = clCreateKernel(prog, "fma_peak", &err);
    CS_CHECK(check(err, "clCreateKernel"));
    /* Enough work-items to fill every compute unit many times over (GPUs need thousands). */
    size_t n = (size_t)d->compute_units * (d->type & CL_DEVICE_TYPE_GPU ? 8192 : 64);
    out = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &err);
    CS_CHECK(check(err, "clCreateBuffer"));
    float a = 0.5f;
    CS_CHECK(check(clSetKernelArg(k, 0, sizeof out, &out), "clSetKernelArg"));
    CS_CHECK(check(clSetKernelArg(k, 2, sizeof a, &a), "clSetKernelArg"));
    double s = 0, c = 0;
    *sec = *cpu = 1e30;
    CS_CHECK(time_launch(q, k, n, 16, &s, &c));
    /* Launches of at least 50 ms, so that a time slice or a clock ramp on a shared machine weighs little. */
    while (iters < (1 << 28)) {
        CS_CHECK(time_launch(q, k, n, iters, &s, &c));
        if (s >= 0.05) break;
        iters *= 2;
    }
    for (int rep = 0; rep < 3; rep++) {
        CS_CHECK(time_launch(q, k, n, iters, &s, &c));
        if (s < *sec) *sec = s;
        if (c < *cpu) *cpu = c;
    }
    *flop = 2.0 * CHAINS * lanes * (double)n * iters;
done:
    if (out) clReleaseMemObject(out);
    if (k) clReleaseKernel(k);
    if (prog) clReleaseProgram(prog);
    return st;
}

clstyle_status cs_fma_peak(const char *spec, int iters, cs_fma_peak_result *r)
{
    cs_cl_device d;
    cl_context ctx = NULL;
    cl_command_queue q = NULL;
    cl_int err;
    clstyle_status st;
    memset(r, 0, sizeof *r);
    CS_CHECK(cs_cl_select(spec, &d));
    ctx = clCreateContext(NULL, 1, &d.device, NULL, NULL, &err);
    CS_CHECK(check(err, "clCreateContext"));
    q = clCreateCommandQueue(ctx, d.device, 0, &err);
    CS_CHECK(check(err, "clCreateCommandQueue"));
    static const int widths[] = { 16, 8, 4 };
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        double flop = 0, sec = 1, cpu = 1;
        CS_CHECK(measure_width(ctx, q, &d, widths[i], iters, &flop, &sec, &cpu));
        if (flop / sec * 1e-9 > r->gflops) {
            r->flop = flop;
            r->seconds = sec;
            r->gflops = flop / sec * 1e-9;
            r->lanes = widths[i];
        }
        double per_core = cpu / d.compute_units, cpu_gflops = d.type & CL_DEVICE_TYPE_CPU ? flop / per_core * 1e-9 : 0;
        if (cpu_gflops > r->cpu_gflops) {
            r->cpu_gflops = cpu_gflops;
            r->cpu_seconds = per_core;
        }
    }
    r->compute_units = d.compute_units;
    snprintf(r->device, sizeof r->device, "%s (%s)", d.device_name, d.platform_name);
done:
    if (q) clReleaseCommandQueue(q);
    if (ctx) clReleaseContext(ctx);
    return st;
}
