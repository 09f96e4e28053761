/* OpenCL buffers: allocation within the memory and single-buffer limits,
 * transfers, and the scratch buffers the algorithms grow on demand. */
#include <stdlib.h>

#include "cl_be.h"
#include "clock.h"
#include "copy.h"

static void count(cs_backend *be, size_t bytes)
{
    be->bytes_in_use += bytes;
    if (be->bytes_in_use > be->bytes_peak) be->bytes_peak = be->bytes_in_use;
}

clstyle_status cl_alloc(cs_backend *be, size_t n, cs_buf **out)
{
    cl_be *c = CB(be);
    size_t bytes = (n ? n : 1) * sizeof(float);
    if (bytes > c->base.max_alloc || be->bytes_in_use + bytes > be->mem_limit)
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of device memory: a %.1f MiB buffer on top of %.1f MiB in use exceeds the device's "
                       "%.0f MiB (largest buffer %.0f MiB); try a smaller --size or --lbfgs-history",
                       c->dev.device_name, bytes / 1048576.0, be->bytes_in_use / 1048576.0, be->mem_limit / 1048576.0,
                       c->base.max_alloc / 1048576.0);
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
    count(be, bytes);
    *out = b;
    return CLSTYLE_OK;
}

clstyle_status cl_alloc_raw(cl_be *c, size_t n, cl_mem *out, const char *what)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    if (bytes > c->base.max_alloc || c->base.bytes_in_use + bytes > c->base.mem_limit)
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of device memory for the %s (%.1f MiB on top of %.1f MiB in use)", c->dev.device_name,
                       what, bytes / 1048576.0, c->base.bytes_in_use / 1048576.0);
    cl_int err;
    *out = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    CS_TRY(cl_err(err, "clCreateBuffer", what));
    count(&c->base, bytes);
    return CLSTYLE_OK;
}

void cl_release_raw(cl_be *c, cl_mem m)
{
    size_t bytes = 0;
    if (!m) return;
    clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    c->base.bytes_in_use -= bytes;
    clReleaseMemObject(m);
}

void cl_release(cs_backend *be, cs_buf *b)
{
    if (CB(be)->one_wt == b) CB(be)->one_wt = NULL; /* another buffer may get its address */
    for (int i = 0; i < PREP_SLOTS; i++) cl_release_raw(CB(be), b->prep[i].m);
    be->bytes_in_use -= (b->n ? b->n : 1) * sizeof(float);
    clReleaseMemObject(b->m);
    free(b);
}

clstyle_status cl_upload(cs_backend *be, cs_buf *dst, size_t off, const float *src, size_t n)
{
    dst->gen++;
    return cl_err(clEnqueueWriteBuffer(CB(be)->q, dst->m, CL_TRUE, off * 4, n * 4, src, 0, NULL, NULL), "clEnqueueWriteBuffer", "upload");
}

clstyle_status cl_download(cs_backend *be, cs_buf *src, size_t off, float *dst, size_t n)
{
    return cl_err(clEnqueueReadBuffer(CB(be)->q, src->m, CL_TRUE, off * 4, n * 4, dst, 0, NULL, NULL), "clEnqueueReadBuffer", "download");
}

/* The window's rectangle in bytes: origin and region over (column, row, channel), pitches of the host array. */
static void rect(cs_window win, size_t host_origin[3], size_t region[3])
{
    host_origin[0] = win.x0 * 4, host_origin[1] = win.y0, host_origin[2] = 0;
    region[0] = win.w * 4, region[1] = win.h, region[2] = win.c;
}

/* On a device that shares the host's memory (CPUs, iGPUs) a window moves
 * through the mapped buffer, copied on every core: PoCL copies a rectangle
 * on one thread while the other cores wait (14% of a 1024 px evaluation in
 * bands in 400 MiB, by perf). up: host to device. The device side
 * is rows [row0, row0 + win.h) of a (win.c, rows, win.w) band. */
static clstyle_status mapped_window(cl_be *c, cs_buf *b, size_t rows, size_t row0, float *host, cs_window win, int up)
{
    size_t row = win.w * 4, bytes = win.c * rows * row;
    cl_int err;
    /* an upload writes the whole band (rows == win.h): nothing of the old contents is needed */
    char *p = clEnqueueMapBuffer(c->q, b->m, CL_TRUE, up ? CL_MAP_WRITE_INVALIDATE_REGION : CL_MAP_READ, 0, bytes, 0, NULL, NULL, &err);
    CS_TRY(cl_err(err, "clEnqueueMapBuffer", up ? "upload_window" : "download_window"));
    char *dev = p + row0 * row, *h = (char *)(host + win.y0 * win.W + win.x0);
    size_t dev_o = rows * row, h_o = win.H * win.W * 4, h_i = win.W * 4;
    cs_blocks k = up ? (cs_blocks){ dev, h, dev_o, row, h_o, h_i, row, win.h, win.c } : (cs_blocks){ h, dev, h_o, h_i, dev_o, row, row, win.h, win.c };
    cs_copy_blocks(&k, 0);
    return cl_err(clEnqueueUnmapMemObject(c->q, b->m, p, 0, NULL, NULL), "clEnqueueUnmapMemObject", up ? "upload_window" : "download_window");
}

static int mapped(const cl_be *c) { return c->dev.host_unified && !c->params.cl.rect_windows; }

/* When profiling, a transfer is timed from an idle queue (cl_prof_host). */
static double transfer_start(cl_be *c)
{
    if (c->profile) clFinish(c->q);
    return cs_now();
}

static clstyle_status rect_upload(cl_be *c, cs_buf *dst, const float *src, cs_window win)
{
    size_t zero[3] = { 0, 0, 0 }, at[3], region[3];
    rect(win, at, region);
    return cl_err(clEnqueueWriteBufferRect(c->q, dst->m, CL_TRUE, zero, at, region, win.w * 4, win.w * win.h * 4, win.W * 4,
                                           win.W * win.H * 4, src, 0, NULL, NULL), "clEnqueueWriteBufferRect", "upload_window");
}

static clstyle_status rect_download(cl_be *c, cs_buf *src, size_t rows, size_t row0, float *dst, cs_window win)
{
    size_t from[3] = { 0, row0, 0 }, at[3], region[3];
    rect(win, at, region);
    return cl_err(clEnqueueReadBufferRect(c->q, src->m, CL_TRUE, from, at, region, win.w * 4, win.w * rows * 4, win.W * 4,
                                          win.W * win.H * 4, dst, 0, NULL, NULL), "clEnqueueReadBufferRect", "download_window");
}

clstyle_status cl_upload_window(cs_backend *be, cs_buf *dst, const float *src, cs_window win)
{
    cl_be *c = CB(be);
    if (!win.c || !win.h || !win.w) return CLSTYLE_OK;
    dst->gen++;
    double t0 = transfer_start(c);
    clstyle_status st = mapped(c) ? mapped_window(c, dst, win.h, 0, (float *)src, win, 1) : rect_upload(c, dst, src, win);
    cl_prof_host(c, "window upload", t0);
    return st;
}

clstyle_status cl_download_window(cs_backend *be, cs_buf *src, size_t rows, size_t row0, float *dst, cs_window win)
{
    cl_be *c = CB(be);
    if (!win.c || !win.h || !win.w) return CLSTYLE_OK;
    double t0 = transfer_start(c);
    clstyle_status st = mapped(c) ? mapped_window(c, src, rows, row0, dst, win, 0) : rect_download(c, src, rows, row0, dst, win);
    cl_prof_host(c, "window download", t0);
    return st;
}

void cl_scratch_free(cl_be *c, cl_mem *m, size_t *have)
{
    if (*m) clReleaseMemObject(*m);
    c->base.bytes_in_use -= *have * 4;
    *m = NULL;
    *have = 0;
}

/* Makes a scratch buffer hold at least `need` floats. Sizes are fixed after
 * setup (the targets are computed at the largest sizes), so the loop never grows it. */
clstyle_status cl_scratch(cl_be *c, cl_mem *m, size_t *have, size_t need, const char *what)
{
    if (need <= *have) return CLSTYLE_OK;
    if (need * 4 > c->base.max_alloc)
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: the %s needs a %.1f MiB buffer, more than the device's largest (%.0f MiB)",
                       c->dev.device_name, what, need * 4 / 1048576.0, c->base.max_alloc / 1048576.0);
    /* Scratch counts against the memory limit like every other buffer. */
    if (c->base.bytes_in_use - *have * 4 + need * 4 > c->base.mem_limit)
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: the %s needs %.1f MiB on top of %.1f MiB in use, over the limit of %.0f MiB",
                       c->dev.device_name, what, need * 4 / 1048576.0, (c->base.bytes_in_use - *have * 4) / 1048576.0,
                       c->base.mem_limit / 1048576.0);
    /* The new buffer first, then the old one goes, so the two never share an
     * id under Oclgrind: its uninitialized-value checker keeps the shadow of a
     * released buffer, and a larger buffer given the same id (written by
     * kernels only, as scratch is) reads as uninitialized past the old size.
     * Growth happens in the first evaluation only; the two coexist a moment. */
    cl_int err;
    cl_mem grown = clCreateBuffer(c->ctx, CL_MEM_READ_WRITE, need * 4, NULL, &err);
    CS_TRY(cl_err(err, "clCreateBuffer", what));
    cl_scratch_free(c, m, have);
    *m = grown;
    *have = need;
    count(&c->base, need * 4);
    return CLSTYLE_OK;
}

static int current(const cl_prep *p, const cs_buf *wt, int n_in, int n_out, int block)
{
    return p->m && p->gen == wt->gen && p->n_in == n_in && p->n_out == n_out && p->cob == block;
}

/* Fills p->m (n floats or more) with the copy. */
static clstyle_status make(cl_be *c, cs_buf *wt, int slot, cl_kernel k, int n_in, int n_out, int block, size_t items, cl_prep *p)
{
    int flip = slot & 1;
    ARGS(k, A(wt->m), A(p->m), A(n_in), A(n_out), A(flip), A(block));
    CS_TRY(cl_run1d(c, k, "conv weight preparation", items));
    p->gen = wt->gen, p->n_in = n_in, p->n_out = n_out, p->cob = block;
    return CLSTYLE_OK;
}

/* The copy of the weights wt in prep slot `slot` (the slot says which
 * arrangement and direction, PREP_*): n floats made by `items` work-items of
 * the kernel k (arguments: wt, out, n_in, n_out, flip = slot & 1, block),
 * unless the copy is current. It is kept with the buffer; at levels one-copy
 * and direct-copy in the one shared buffer instead, remade whenever another weight buffer or
 * direction comes: a layer's bands or pieces run in a row, so in bands each
 * layer makes each direction's copy once per evaluation. */
clstyle_status cl_prepared(cl_be *c, cs_buf *wt, int slot, cl_kernel k, int n_in, int n_out, int block, size_t n, size_t items,
                           cl_mem *out)
{
    int shared = cl_one_copy(c);
    cl_prep *p = shared ? &c->one : &wt->prep[slot];
    if (current(p, wt, n_in, n_out, block) && (!shared || (c->one_wt == wt && c->one_slot == slot))) {
        *out = p->m;
        return CLSTYLE_OK;
    }
    if (shared) {
        c->one_wt = NULL;
        CS_TRY(cl_scratch(c, &c->one.m, &c->one_n, n, "weight copy of one layer"));
    } else {
        cl_release_raw(c, p->m);
        p->m = NULL;
        CS_TRY(cl_alloc_raw(c, n, &p->m, "prepared convolution weights"));
    }
    CS_TRY(make(c, wt, slot, k, n_in, n_out, block, items, p));
    if (shared) c->one_wt = wt, c->one_slot = slot;
    *out = p->m;
    return CLSTYLE_OK;
}
