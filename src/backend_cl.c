/* OpenCL backend: the vtable on any OpenCL 1.2 device. CLBlast does the
 * GEMMs (on GPUs the convolutions through banded im2col/col2im; Gram matrices
 * and their gradient everywhere); CPU devices convolve with a direct kernel,
 * which is several times faster there. The rest are the kernels in cl/.
 * Everything stays on the device; reductions return a few partial sums that
 * the host adds in double. */
#include <clblast_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cl_cache.h"
#include "cl_device.h"
#include "error.h"
#include "progress.h"

enum { WG = 256, MAX_GROUPS = 256, ROW_GROUPS = 32, DEFERRED = 64 };
/* c->partial: CS_MAX_ROWS * ROW_GROUPS floats for the blocking reductions,
 * then DEFERRED slots of MAX_GROUPS for the deferred ones (sqdiff, tv). */
#define DEFER_BASE ((size_t)CS_MAX_ROWS * ROW_GROUPS)

struct cs_buf {
    cl_mem m;
    size_t n;
};

/* CLSTYLE_PROFILE=1: time every kernel and GEMM with OpenCL events (this
 * serializes the queue) and print a table when the backend is destroyed. */
typedef struct { const char *name; double ms, host_ms; long calls; } prof_entry;

typedef struct {
    cs_backend base;
    int profile;
    cl_event ev;
    double t_enqueue;          /* when the profiled call started, for its host time */
    prof_entry prof[32];
    int n_prof;
    cs_cl_device dev;
    cl_context ctx;
    cl_command_queue q;
    cl_program prog;
    cl_kernel im2col, col2im, bias_relu, relu_bwd, affine, axpy, scale, fill, pool, pool_bwd, dot, sqdiff, tv, adam, sum_parts,
              multi_dot, combine, pad1, direct_fwd, direct_bwd;
    int direct;                /* direct convolution (CPU devices) instead of im2col + GEMM */
    cl_mem col;                /* im2col band, grown on demand up to col_cap floats */
    size_t col_n, col_cap;
    cl_mem pad;                /* zero-padded input of the direct convolution */
    size_t pad_n;
    cl_mem gemm_tmp;           /* CLBlast's GEMM scratch, ours so it is not allocated per call */
    size_t gemm_tmp_n;
    struct { size_t key[11], bytes; } tmp_sizes[256]; /* temp sizes per GEMM shape seen */
    int n_tmp_sizes;
    cl_mem parts;              /* split-K partial Gram matrices, grown on demand */
    size_t parts_n;
    cl_mem partial;            /* partial sums: MAX_GROUPS, or ROW_GROUPS per multi_dot row */
    cl_mem coef;               /* CS_MAX_ROWS combine coefficients */
    struct { double *dst; int groups; } pending[DEFERRED]; /* deferred sums, slot i */
    int n_pending;
    float host_part[CS_MAX_ROWS * ROW_GROUPS]; /* partial sums read back (per backend: thread safe) */
    int from_cache;
} cl_be;

#define CB(be) ((cl_be *)(be))

/* Event slot for the call being made; also notes when the call started. */
static cl_event *EV(cl_be *c)
{
    if (!c->profile) return NULL;
    c->t_enqueue = cs_now();
    return &c->ev;
}

static void prof(cl_be *c, const char *name)
{
    if (!c->profile || !c->ev) return;
    double host = cs_now() - c->t_enqueue;
    cl_ulong t0 = 0, t1 = 0;
    clWaitForEvents(1, &c->ev);
    clGetEventProfilingInfo(c->ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
    clGetEventProfilingInfo(c->ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
    clReleaseEvent(c->ev);
    c->ev = NULL;
    int i = 0;
    while (i < c->n_prof && strcmp(c->prof[i].name, name)) i++;
    if (i == c->n_prof) {
        if (i == 32) return;
        c->prof[c->n_prof++] = (prof_entry){ name, 0, 0, 0 };
    }
    c->prof[i].ms += (double)(t1 - t0) * 1e-6;
    c->prof[i].host_ms += host * 1e3;
    c->prof[i].calls++;
}

static void prof_print(cl_be *c)
{
    double total = 0;
    for (int i = 0; i < c->n_prof; i++) total += c->prof[i].ms;
    if (!c->n_prof) return;
    fprintf(stderr, "OpenCL profile on %s: device time, and host time spent in the enqueue call\n", c->dev.device_name);
    for (int i = 0; i < c->n_prof; i++)
        fprintf(stderr, "  %-18s %8ld calls %10.1f ms %5.1f%%   host %8.1f ms\n", c->prof[i].name, c->prof[i].calls, c->prof[i].ms,
                100 * c->prof[i].ms / (total > 0 ? total : 1), c->prof[i].host_ms);
}

static clstyle_status cl_err(cl_int err, const char *call, const char *what)
{
    if (err == CL_SUCCESS) return CLSTYLE_OK;
    clstyle_status st = err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES || err == CL_OUT_OF_HOST_MEMORY ||
                                err == -4 ? CLSTYLE_ERR_NOMEM : CLSTYLE_ERR_OPENCL;
    return cs_fail(st, "%s(%s) failed: %s%s", call, what, cs_cl_err_name(err),
                   st == CLSTYLE_ERR_NOMEM ? " (the device ran out of memory; try a smaller --size)" : "");
}

/* Sets kernel arguments from (size, pointer) pairs. */
static cl_int set_args(cl_kernel k, int count, ...)
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
#define A(x) sizeof(x), (const void *)&(x)
#define NARGS(...) NARGS_(__VA_ARGS__, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, N, ...) N
/* ARGS(kernel, A(x), A(y), ...): each A() is a (size, pointer) pair. */
#define ARGS(k, ...) CS_TRY(cl_err(set_args(k, NARGS(__VA_ARGS__) / 2, __VA_ARGS__), "clSetKernelArg", #k))

/* 1-D launch over n items (rounded up to the work-group size). */
static clstyle_status run1d(cl_be *c, cl_kernel k, const char *name, size_t n)
{
    if (n == 0) return CLSTYLE_OK;
    size_t local = 64, global = (n + local - 1) / local * local;
    cl_int err = clEnqueueNDRangeKernel(c->q, k, 1, NULL, &global, &local, 0, NULL, EV(c));
    prof(c, name);
    return cl_err(err, "clEnqueueNDRangeKernel", name);
}

static size_t groups_for(size_t n)
{
    size_t g = (n + WG - 1) / WG;
    return g < 1 ? 1 : g > MAX_GROUPS ? MAX_GROUPS : g;
}

/* Launches a reduction kernel (partial sums in c->partial) and adds them up. */
static clstyle_status reduce(cl_be *c, cl_kernel k, const char *name, size_t n, double *out)
{
    size_t groups = groups_for(n), global = groups * WG, local = WG;
    float part[MAX_GROUPS];
    cl_int err = clEnqueueNDRangeKernel(c->q, k, 1, NULL, &global, &local, 0, NULL, EV(c));
    prof(c, name);
    CS_TRY(cl_err(err, "clEnqueueNDRangeKernel", name));
    CS_TRY(cl_err(clEnqueueReadBuffer(c->q, c->partial, CL_TRUE, 0, groups * sizeof(float), part, 0, NULL, NULL),
                  "clEnqueueReadBuffer", name));
    double s = 0;
    for (size_t i = 0; i < groups; i++) s += part[i];
    *out = s;
    return CLSTYLE_OK;
}

/* Reads the partial sums of all deferred reductions at once and stores their totals. */
static clstyle_status settle(cl_be *c)
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

static clstyle_status cl_finish(cs_backend *be) { return settle(CB(be)); }

/* A free deferred slot: its offset in c->partial (settles when all are taken). */
static clstyle_status defer_slot(cl_be *c, int *poff)
{
    if (c->n_pending == DEFERRED) CS_TRY(settle(c));
    *poff = (int)(DEFER_BASE + (size_t)c->n_pending * MAX_GROUPS);
    return CLSTYLE_OK;
}

/* Launches a reduction whose partial sums go to the slot defer_slot gave; *out is set at settle(). */
static clstyle_status reduce_deferred(cl_be *c, cl_kernel k, const char *name, size_t n, double *out)
{
    size_t groups = groups_for(n), global = groups * WG, local = WG;
    cl_int err = clEnqueueNDRangeKernel(c->q, k, 1, NULL, &global, &local, 0, NULL, EV(c));
    prof(c, name);
    CS_TRY(cl_err(err, "clEnqueueNDRangeKernel", name));
    c->pending[c->n_pending].dst = out;
    c->pending[c->n_pending++].groups = (int)groups;
    return CLSTYLE_OK;
}

static clstyle_status blas(cl_be *c, CLBlastStatusCode s, const char *what)
{
    prof(c, what);
    if (s == CLBlastSuccess) return CLSTYLE_OK;
    return cl_err((cl_int)s, "CLBlastSgemm", what);
}

static clstyle_status cl_fill(cs_backend *be, cs_buf *x, float v, size_t n)
{
    int ni = (int)n;
    ARGS(CB(be)->fill, A(x->m), A(v), A(ni));
    return run1d(CB(be), CB(be)->fill, "fill", n);
}

static clstyle_status cl_alloc(cs_backend *be, size_t n, cs_buf **out)
{
    cl_be *c = CB(be);
    size_t bytes = (n ? n : 1) * sizeof(float);
    if (bytes > c->dev.max_alloc || be->bytes_in_use + bytes > be->mem_limit)
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of device memory: a %.1f MiB buffer on top of %.1f MiB in use exceeds the device's "
                       "%.0f MiB (largest buffer %.0f MiB); try a smaller --size or --lbfgs-history",
                       c->dev.device_name, bytes / 1048576.0, be->bytes_in_use / 1048576.0, be->mem_limit / 1048576.0,
                       c->dev.max_alloc / 1048576.0);
    cs_buf *b = calloc(1, sizeof *b);
    if (!b) return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory");
    cl_int err;
    b->m = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    b->n = n;
    clstyle_status st = cl_err(err, "clCreateBuffer", "buffer");
    if (st == CLSTYLE_OK) st = cl_fill(be, b, 0.0f, n);
    if (st != CLSTYLE_OK) {
        if (b->m) clReleaseMemObject(b->m);
        free(b);
        return st;
    }
    be->bytes_in_use += bytes;
    if (be->bytes_in_use > be->bytes_peak) be->bytes_peak = be->bytes_in_use;
    *out = b;
    return CLSTYLE_OK;
}

static void cl_release(cs_backend *be, cs_buf *b)
{
    be->bytes_in_use -= (b->n ? b->n : 1) * sizeof(float);
    clReleaseMemObject(b->m);
    free(b);
}

static clstyle_status cl_upload(cs_backend *be, cs_buf *dst, size_t off, const float *src, size_t n)
{
    return cl_err(clEnqueueWriteBuffer(CB(be)->q, dst->m, CL_TRUE, off * 4, n * 4, src, 0, NULL, NULL), "clEnqueueWriteBuffer", "upload");
}

static clstyle_status cl_download(cs_backend *be, cs_buf *src, size_t off, float *dst, size_t n)
{
    return cl_err(clEnqueueReadBuffer(CB(be)->q, src->m, CL_TRUE, off * 4, n * 4, dst, 0, NULL, NULL), "clEnqueueReadBuffer", "download");
}

/* Makes a scratch buffer hold at least `need` floats. Sizes are fixed after
 * setup (the targets are computed at the largest sizes), so the loop never grows it. */
static clstyle_status scratch(cl_be *c, cl_mem *m, size_t *have, size_t need, const char *what)
{
    if (need <= *have) return CLSTYLE_OK;
    cl_int err;
    if (*m) clReleaseMemObject(*m);
    c->base.bytes_in_use -= *have * 4;
    *have = 0;
    *m = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, need * 4, NULL, &err);
    CS_TRY(cl_err(err, "clCreateBuffer", what));
    *have = need;
    c->base.bytes_in_use += need * 4;
    if (c->base.bytes_in_use > c->base.bytes_peak) c->base.bytes_peak = c->base.bytes_in_use;
    return CLSTYLE_OK;
}

/* Rows per im2col band for k = ci*9 columns of width w. */
static clstyle_status band_rows(cl_be *c, int k, int h, int w, int *rows)
{
    size_t per_row = (size_t)k * w, r = c->col_cap / per_row;
    if (r < 1) r = 1;
    if (r > (size_t)h) r = (size_t)h;
    *rows = (int)r;
    return scratch(c, &c->col, &c->col_n, r * per_row, "im2col band");
}

/* Row-major C = alpha op(A) op(B) + beta C through CLBlast with a temporary
 * buffer we own: without it CLBlast allocates one in every call, which costs
 * ~0.5 ms of host time per GEMM on NVIDIA's driver. */
static clstyle_status gemm(cl_be *c, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                           cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem cm, size_t c_off, size_t ldc, const char *what)
{
    CLBlastTranspose TA = ta ? CLBlastTransposeYes : CLBlastTransposeNo, TB = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    size_t key[11] = { (size_t)(ta * 2 + tb), m, n, k, lda, ldb, ldc, a_off, b_off, c_off, 1 };
    size_t bytes = 0;
    int i = 0;
    while (i < c->n_tmp_sizes && memcmp(c->tmp_sizes[i].key, key, sizeof key)) i++;
    if (i < c->n_tmp_sizes) {
        bytes = c->tmp_sizes[i].bytes;
    } else {
        CLBlastStatusCode s = CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, TA, TB, m, n, k, a_off, lda, b_off, ldb, c_off, ldc,
                                                         &c->q, &bytes);
        if (s != CLBlastSuccess) return cl_err((cl_int)s, "CLBlastSGemmTempBufferSize", what);
        if (c->n_tmp_sizes < 256) {
            memcpy(c->tmp_sizes[c->n_tmp_sizes].key, key, sizeof key);
            c->tmp_sizes[c->n_tmp_sizes++].bytes = bytes;
        }
    }
    CS_TRY(scratch(c, &c->gemm_tmp, &c->gemm_tmp_n, (bytes + 3) / 4 + 1, "GEMM scratch"));
    return blas(c, CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, TA, TB, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, cm,
                                              c_off, ldc, &c->q, EV(c), c->gemm_tmp), what);
}

enum { DIRECT_COB = 16 };

/* Direct convolution: pad the input, then one launch; flip selects the
 * gradient to the input (the weights transposed and flipped). */
static clstyle_status conv_direct(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *y, int n_in, int n_out, int h, int w, int flip)
{
    int wp = (w + 15) / 16 * 16 + 2;
    size_t np = (size_t)n_in * (h + 2) * wp;
    CS_TRY(scratch(c, &c->pad, &c->pad_n, np, "padded input"));
    ARGS(c->pad1, A(x->m), A(c->pad), A(n_in), A(h), A(w), A(wp));
    CS_TRY(run1d(c, c->pad1, "pad1", np));
    size_t global[3] = { (size_t)(wp - 2) / 16, (size_t)h, (size_t)(n_out + DIRECT_COB - 1) / DIRECT_COB };
    cl_kernel k = flip ? c->direct_bwd : c->direct_fwd;
    ARGS(k, A(c->pad), A(wt->m), A(y->m), A(n_in), A(n_out), A(h), A(w), A(wp));
    cl_int err = clEnqueueNDRangeKernel(c->q, k, 3, NULL, global, NULL, 0, NULL, EV(c));
    prof(c, flip ? "conv_direct bwd" : "conv_direct fwd");
    return cl_err(err, "clEnqueueNDRangeKernel", "conv3x3_direct");
}

static clstyle_status cl_conv3x3(cs_backend *be, cs_buf *x, cs_buf *wt, cs_buf *y, int ci, int co, int h, int w)
{
    cl_be *c = CB(be);
    if (c->direct) return conv_direct(c, x, wt, y, ci, co, h, w, 0);
    int k = ci * 9, R;
    CS_TRY(band_rows(c, k, h, w, &R));
    for (int row0 = 0; row0 < h; row0 += R) {
        int rows = row0 + R <= h ? R : h - row0;
        size_t n = (size_t)rows * w;
        ARGS(c->im2col, A(x->m), A(c->col), A(ci), A(h), A(w), A(row0), A(rows));
        CS_TRY(run1d(c, c->im2col, "im2col3x3", (size_t)ci * n));
        CS_TRY(gemm(c, 0, 0, (size_t)co, n, (size_t)k, 1.0f, wt->m, 0, (size_t)k, c->col, 0, n, 0.0f, y->m, (size_t)row0 * w,
                    (size_t)h * w, "gemm conv fwd"));
    }
    return CLSTYLE_OK;
}

static clstyle_status cl_conv3x3_bwd(cs_backend *be, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    cl_be *c = CB(be);
    if (c->direct) return conv_direct(c, dy, wt, dx, co, ci, h, w, 1);
    int k = ci * 9, R;
    CS_TRY(band_rows(c, k, h, w, &R));
    int accum = R < h; /* several bands add into dx */
    if (accum) CS_TRY(cl_fill(be, dx, 0.0f, (size_t)ci * h * w));
    for (int row0 = 0; row0 < h; row0 += R) {
        int rows = row0 + R <= h ? R : h - row0;
        size_t n = (size_t)rows * w;
        /* dcol (k, n) = W^T (k, co) dy[:, band] (co, n) */
        CS_TRY(gemm(c, 1, 0, (size_t)k, n, (size_t)co, 1.0f, wt->m, 0, (size_t)k, dy->m, (size_t)row0 * w, (size_t)h * w, 0.0f,
                    c->col, 0, n, "gemm conv bwd"));
        int p0 = row0 > 0 ? row0 - 1 : 0, p1 = row0 + rows + 1 < h ? row0 + rows + 1 : h, prows = p1 - p0;
        ARGS(c->col2im, A(c->col), A(dx->m), A(ci), A(h), A(w), A(row0), A(rows), A(p0), A(prows), A(accum));
        CS_TRY(run1d(c, c->col2im, "col2im3x3", (size_t)ci * prows * w));
    }
    return CLSTYLE_OK;
}

static clstyle_status cl_bias_relu(cs_backend *be, cs_buf *y, cs_buf *bias, int ch, int hw, int relu)
{
    cl_be *c = CB(be);
    int n = ch * hw, has = bias != NULL;
    cl_mem b = bias ? bias->m : y->m;
    ARGS(c->bias_relu, A(y->m), A(b), A(has), A(hw), A(relu), A(n));
    return run1d(c, c->bias_relu, "bias_relu", (size_t)n);
}

static clstyle_status cl_relu_bwd(cs_backend *be, cs_buf *y, cs_buf *dy, size_t n)
{
    int ni = (int)n;
    ARGS(CB(be)->relu_bwd, A(y->m), A(dy->m), A(ni));
    return run1d(CB(be), CB(be)->relu_bwd, "relu_bwd", n);
}

static clstyle_status cl_pool(cs_backend *be, cs_buf *x, cs_buf *y, int ch, int h, int w, int avg)
{
    ARGS(CB(be)->pool, A(x->m), A(y->m), A(ch), A(h), A(w), A(avg));
    return run1d(CB(be), CB(be)->pool, "pool2x2", (size_t)ch * (h / 2) * (w / 2));
}

static clstyle_status cl_pool_bwd(cs_backend *be, cs_buf *x, cs_buf *dy, cs_buf *dx, int ch, int h, int w, int avg)
{
    ARGS(CB(be)->pool_bwd, A(x->m), A(dy->m), A(dx->m), A(ch), A(h), A(w), A(avg));
    return run1d(CB(be), CB(be)->pool_bwd, "pool2x2_bwd", (size_t)ch * h * w);
}

enum { GRAM_CHUNK = 4096 };

/* G = F F^T / (c m). F is short and very wide (c <= 512, m up to 10^6), which
 * leaves a plain GEMM with too few output tiles to fill a GPU: split the long
 * dimension into chunks, one batched GEMM for the partial products, then sum them. */
static clstyle_status cl_gram(cs_backend *be, cs_buf *f, cs_buf *g, int ch, int m)
{
    cl_be *c = CB(be);
    float a = (float)(1.0 / ((double)ch * m));
    size_t cc = (size_t)ch * ch, nb = (size_t)m / GRAM_CHUNK, rest = (size_t)m % GRAM_CHUNK;
    if (nb < 2)
        return gemm(c, 0, 1, (size_t)ch, (size_t)ch, (size_t)m, a, f->m, 0, (size_t)m, f->m, 0, (size_t)m, 0.0f, g->m, 0, (size_t)ch,
                    "gemm gram");
    size_t parts = nb + (rest > 0);
    CS_TRY(scratch(c, &c->parts, &c->parts_n, parts * cc, "gram partial sums"));
    CS_TRY(blas(c, CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, (size_t)ch, (size_t)ch,
                                              GRAM_CHUNK, 1.0f, f->m, 0, (size_t)m, GRAM_CHUNK, f->m, 0, (size_t)m, GRAM_CHUNK, 0.0f,
                                              c->parts, 0, (size_t)ch, cc, nb, &c->q, EV(c)), "gemm gram"));
    if (rest)
        CS_TRY(gemm(c, 0, 1, (size_t)ch, (size_t)ch, rest, 1.0f, f->m, nb * GRAM_CHUNK, (size_t)m, f->m, nb * GRAM_CHUNK, (size_t)m,
                    0.0f, c->parts, nb * cc, (size_t)ch, "gemm gram"));
    int cci = (int)cc, np = (int)parts;
    ARGS(c->sum_parts, A(c->parts), A(g->m), A(cci), A(np), A(a));
    return run1d(c, c->sum_parts, "sum_parts", cc);
}

static clstyle_status cl_gram_bwd(cs_backend *be, cs_buf *dg, cs_buf *f, cs_buf *df, int ch, int m)
{
    float a = (float)(2.0 / ((double)ch * m));
    return gemm(CB(be), 0, 0, (size_t)ch, (size_t)m, (size_t)ch, a, dg->m, 0, (size_t)ch, f->m, 0, (size_t)m, 1.0f, df->m, 0, (size_t)m,
                "gemm gram bwd");
}

static clstyle_status cl_sqdiff(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, float gscale, cs_buf *grad, double *sum)
{
    cl_be *c = CB(be);
    int ni = (int)n, has = grad != NULL;
    cl_mem g = grad ? grad->m : a->m;
    int poff;
    CS_TRY(defer_slot(c, &poff));
    ARGS(c->sqdiff, A(a->m), A(b->m), A(ni), A(gscale), A(g), A(has), A(c->partial), A(poff));
    return reduce_deferred(c, c->sqdiff, "sqdiff", n, sum);
}

static clstyle_status cl_tv(cs_backend *be, cs_buf *x, int ch, int h, int w, float gscale, cs_buf *grad, double *val)
{
    cl_be *c = CB(be);
    float inv_nv = h > 1 ? (float)(1.0 / ((double)ch * (h - 1) * w)) : 0.0f;
    float inv_nh = w > 1 ? (float)(1.0 / ((double)ch * h * (w - 1))) : 0.0f;
    int has = grad != NULL;
    cl_mem g = grad ? grad->m : x->m;
    int poff;
    CS_TRY(defer_slot(c, &poff));
    ARGS(c->tv, A(x->m), A(ch), A(h), A(w), A(inv_nv), A(inv_nh), A(gscale), A(g), A(has), A(c->partial), A(poff));
    return reduce_deferred(c, c->tv, "tv", (size_t)ch * h * w, val);
}

static clstyle_status cl_affine(cs_backend *be, cs_buf *x, cs_buf *y, int ch, int hw, const float *s, const float *o)
{
    cl_be *c = CB(be);
    if (ch != 3) return cs_fail(CLSTYLE_ERR_USAGE, "affine: OpenCL backend supports 3 channels, got %d", ch);
    int n = ch * hw;
    ARGS(c->affine, A(x->m), A(y->m), A(hw), A(s[0]), A(s[1]), A(s[2]), A(o[0]), A(o[1]), A(o[2]), A(n));
    return run1d(c, c->affine, "affine3", (size_t)n);
}

static clstyle_status dot_or_asum(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, int mode, double *out)
{
    cl_be *c = CB(be);
    int ni = (int)n;
    ARGS(c->dot, A(a->m), A(b->m), A(ni), A(mode), A(c->partial));
    return reduce(c, c->dot, mode ? "asum" : "dot", n, out);
}

static clstyle_status cl_dot(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, double *out) { return dot_or_asum(be, a, b, n, 0, out); }
static clstyle_status cl_asum(cs_backend *be, cs_buf *a, size_t n, double *out) { return dot_or_asum(be, a, a, n, 1, out); }

static clstyle_status cl_axpy(cs_backend *be, float a, cs_buf *x, cs_buf *y, size_t n)
{
    int ni = (int)n;
    ARGS(CB(be)->axpy, A(a), A(x->m), A(y->m), A(ni));
    return run1d(CB(be), CB(be)->axpy, "axpy", n);
}

static clstyle_status cl_scale(cs_backend *be, float a, cs_buf *x, size_t n)
{
    int ni = (int)n;
    ARGS(CB(be)->scale, A(a), A(x->m), A(ni));
    return run1d(CB(be), CB(be)->scale, "scale", n);
}

static clstyle_status cl_copy_at(cs_backend *be, cs_buf *src, cs_buf *dst, size_t off, size_t n)
{
    if (n == 0) return CLSTYLE_OK;
    return cl_err(clEnqueueCopyBuffer(CB(be)->q, src->m, dst->m, 0, off * 4, n * 4, 0, NULL, NULL), "clEnqueueCopyBuffer", "copy_at");
}

static clstyle_status cl_multi_dot(cs_backend *be, cs_buf *mat, int rows, cs_buf *v, size_t n, double *out)
{
    cl_be *c = CB(be);
    if (rows <= 0) return CLSTYLE_OK;
    if (rows > CS_MAX_ROWS) return cs_fail(CLSTYLE_ERR_USAGE, "multi_dot: %d rows, at most %d", rows, CS_MAX_ROWS);
    size_t groups = (n + WG - 1) / WG;
    if (groups > ROW_GROUPS) groups = ROW_GROUPS;
    size_t global[2] = { groups * WG, (size_t)rows }, local[2] = { WG, 1 };
    int ni = (int)n;
    ARGS(c->multi_dot, A(mat->m), A(v->m), A(ni), A(c->partial));
    cl_int err = clEnqueueNDRangeKernel(c->q, c->multi_dot, 2, NULL, global, local, 0, NULL, EV(c));
    prof(c, "multi_dot");
    CS_TRY(cl_err(err, "clEnqueueNDRangeKernel", "multi_dot"));
    float *part = c->host_part;
    CS_TRY(cl_err(clEnqueueReadBuffer(c->q, c->partial, CL_TRUE, 0, groups * rows * sizeof(float), part, 0, NULL, NULL),
                  "clEnqueueReadBuffer", "multi_dot"));
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (size_t g = 0; g < groups; g++) s += part[(size_t)r * groups + g];
        out[r] = s;
    }
    return CLSTYLE_OK;
}

static clstyle_status cl_combine(cs_backend *be, cs_buf *mat, int rows, const float *coef, cs_buf *out, size_t n)
{
    cl_be *c = CB(be);
    if (rows > CS_MAX_ROWS) return cs_fail(CLSTYLE_ERR_USAGE, "combine: %d rows, at most %d", rows, CS_MAX_ROWS);
    if (rows <= 0) return cl_fill(be, out, 0.0f, n);
    CS_TRY(cl_err(clEnqueueWriteBuffer(c->q, c->coef, CL_TRUE, 0, (size_t)rows * 4, coef, 0, NULL, NULL), "clEnqueueWriteBuffer",
                  "combine coefficients"));
    int ni = (int)n;
    ARGS(c->combine, A(mat->m), A(rows), A(c->coef), A(out->m), A(ni));
    return run1d(c, c->combine, "combine", n);
}

static clstyle_status cl_copy(cs_backend *be, cs_buf *src, cs_buf *dst, size_t n)
{
    if (src == dst || n == 0) return CLSTYLE_OK;
    return cl_err(clEnqueueCopyBuffer(CB(be)->q, src->m, dst->m, 0, 0, n * 4, 0, NULL, NULL), "clEnqueueCopyBuffer", "copy");
}

static clstyle_status cl_adam(cs_backend *be, cs_buf *x, cs_buf *g, cs_buf *m, cs_buf *v, size_t n, float lr, float b1, float b2,
                              float eps, int t)
{
    cl_be *c = CB(be);
    int ni = (int)n;
    float c1 = (float)(1.0 - pow(b1, t)), c2 = (float)(1.0 - pow(b2, t));
    ARGS(c->adam, A(x->m), A(g->m), A(m->m), A(v->m), A(ni), A(lr), A(b1), A(b2), A(eps), A(c1), A(c2));
    return run1d(c, c->adam, "adam", n);
}

static void cl_destroy(cs_backend *be)
{
    cl_be *c = CB(be);
    cl_kernel ks[] = { c->im2col, c->col2im, c->bias_relu, c->relu_bwd, c->affine, c->axpy, c->scale, c->fill,
                       c->pool, c->pool_bwd, c->dot, c->sqdiff, c->tv, c->adam, c->sum_parts, c->multi_dot, c->combine,
                       c->pad1, c->direct_fwd, c->direct_bwd };
    if (c->q) clFinish(c->q);
    if (c->profile) prof_print(c);
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++)
        if (ks[i]) clReleaseKernel(ks[i]);
    if (c->col) clReleaseMemObject(c->col);
    if (c->parts) clReleaseMemObject(c->parts);
    if (c->gemm_tmp) clReleaseMemObject(c->gemm_tmp);
    if (c->pad) clReleaseMemObject(c->pad);
    if (c->partial) clReleaseMemObject(c->partial);
    if (c->coef) clReleaseMemObject(c->coef);
    if (c->prog) clReleaseProgram(c->prog);
    if (c->q) clReleaseCommandQueue(c->q);
    if (c->ctx) clReleaseContext(c->ctx);
    free(c);
}

static const cs_backend_ops cl_ops = {
    .destroy = cl_destroy, .alloc = cl_alloc, .release = cl_release, .upload = cl_upload, .download = cl_download,
    .conv3x3 = cl_conv3x3, .conv3x3_bwd = cl_conv3x3_bwd, .bias_relu = cl_bias_relu, .relu_bwd = cl_relu_bwd,
    .pool = cl_pool, .pool_bwd = cl_pool_bwd, .gram = cl_gram, .gram_bwd = cl_gram_bwd, .sqdiff = cl_sqdiff,
    .tv = cl_tv, .affine = cl_affine, .dot = cl_dot, .asum = cl_asum, .axpy = cl_axpy, .scale = cl_scale,
    .copy = cl_copy, .fill = cl_fill, .adam = cl_adam, .copy_at = cl_copy_at, .multi_dot = cl_multi_dot, .combine = cl_combine,
    .finish = cl_finish,
};

static clstyle_status make_kernels(cl_be *c)
{
    struct { cl_kernel *k; const char *name; } list[] = {
        { &c->im2col, "im2col3x3" }, { &c->col2im, "col2im3x3" }, { &c->bias_relu, "bias_relu" }, { &c->relu_bwd, "relu_bwd" },
        { &c->affine, "affine3" }, { &c->axpy, "axpy" }, { &c->scale, "scale" }, { &c->fill, "fill" }, { &c->pool, "pool2x2" },
        { &c->pool_bwd, "pool2x2_bwd" }, { &c->dot, "dot_asum" }, { &c->sqdiff, "sqdiff" }, { &c->tv, "tv" }, { &c->adam, "adam" },
        { &c->sum_parts, "sum_parts" }, { &c->multi_dot, "multi_dot" }, { &c->combine, "combine" },
        { &c->pad1, "pad1" }, { &c->direct_fwd, "conv3x3_direct_fwd" },
        { &c->direct_bwd, "conv3x3_direct_bwd" },
    };
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) {
        cl_int err;
        *list[i].k = clCreateKernel(c->prog, list[i].name, &err);
        CS_TRY(cl_err(err, "clCreateKernel", list[i].name));
    }
    return CLSTYLE_OK;
}

/* The im2col band cap: an eighth of the device memory, at most 256 MiB, so a
 * 1024 px image still fits a 2 GiB laptop GPU. CLSTYLE_BAND_MB overrides it. */
static size_t band_cap(const cs_cl_device *d)
{
    const char *env = getenv("CLSTYLE_BAND_MB");
    size_t cap = env && atoi(env) > 0 ? (size_t)atoi(env) << 20 : 256u << 20;
    if (cap > d->global_mem / 8) cap = d->global_mem / 8;
    if (cap > d->max_alloc) cap = d->max_alloc;
    return cap / 4;
}

clstyle_status cs_backend_opencl_create(const char *spec, cs_backend **out)
{
    cl_be *c = calloc(1, sizeof *c);
    if (!c) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    cs_backend *be = &c->base;
    be->ops = &cl_ops;
    clstyle_status st;
    cl_int err;
    char opts[64];
    memset(be->device, 0, sizeof be->device);
    CS_CHECK(cs_cl_select(spec, &c->dev));
    snprintf(be->name, sizeof be->name, "opencl");
    snprintf(be->device, sizeof be->device, "%.100s (%.60s, %.60s)", c->dev.device_name, c->dev.platform_name, c->dev.version);
    c->ctx = clCreateContext(NULL, 1, &c->dev.device, NULL, NULL, &err);
    CS_CHECK(cl_err(err, "clCreateContext", c->dev.device_name));
    const char *profile = getenv("CLSTYLE_PROFILE");
    c->profile = profile && *profile && strcmp(profile, "0");
    c->q = clCreateCommandQueue(c->ctx, c->dev.device, c->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    CS_CHECK(cl_err(err, "clCreateCommandQueue", c->dev.device_name));
    snprintf(opts, sizeof opts, "-DWG_SIZE=%d -DCOB=%d", WG, DIRECT_COB);
    CS_CHECK(cs_cl_build(c->ctx, &c->dev, opts, &c->prog, &c->from_cache));
    CS_CHECK(make_kernels(c));
    c->partial = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, (DEFER_BASE + DEFERRED * MAX_GROUPS) * sizeof(float), NULL, &err);
    CS_CHECK(cl_err(err, "clCreateBuffer", "partial sums"));
    c->coef = clCreateBuffer(c->ctx, CL_MEM_READ_ONLY, CS_MAX_ROWS * sizeof(float), NULL, &err);
    CS_CHECK(cl_err(err, "clCreateBuffer", "combine coefficients"));
    c->col_cap = band_cap(&c->dev);
    /* CLSTYLE_DEVICE_MEM_MB caps what clstyle uses (a shared GPU, or tests). */
    const char *cap = getenv("CLSTYLE_DEVICE_MEM_MB");
    be->mem_limit = c->dev.global_mem;
    if (cap && atol(cap) > 0 && ((cl_ulong)atol(cap) << 20) < be->mem_limit) be->mem_limit = (size_t)atol(cap) << 20;
    /* Measured on PoCL (2-core AVX-512): direct ~300 GFLOP/s vs ~30 for CLBlast's
     * SGEMM; on GPUs im2col + CLBlast wins. CLSTYLE_CONV=gemm|direct overrides. */
    const char *conv = getenv("CLSTYLE_CONV");
    c->direct = conv && *conv ? !strcmp(conv, "direct") : (c->dev.type & CL_DEVICE_TYPE_CPU) != 0;
    *out = be;
    return CLSTYLE_OK;
done:
    cl_destroy(be);
    *out = NULL;
    return st;
}

/* For tests and the benchmark: whether the program came from the disk cache. */
int cs_backend_opencl_cached(const cs_backend *be) { return ((const cl_be *)be)->from_cache; }
