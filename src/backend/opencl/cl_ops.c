/* The OpenCL backend's vtable entries that are one kernel launch each
 * (element-wise ops, pooling, loss terms, optimizer vector ops). */
#include <math.h>

#include "cl_be.h"

clstyle_status cl_fill(cs_backend *be, cs_buf *x, float v, size_t n)
{
    x->gen++;
    cl_ulong ni = n;
    ARGS(CB(be)->k.fill, A(x->m), A(v), A(ni));
    return cl_run1d(CB(be), CB(be)->k.fill, "fill", n);
}

clstyle_status cl_finish(cs_backend *be) { return cl_settle(CB(be)); }

clstyle_status cl_bias_relu(cs_backend *be, cs_buf *y, cs_buf *bias, int ch, int hw, int relu)
{
    cl_be *c = CB(be);
    cl_ulong n = (cl_ulong)ch * hw, plane = (cl_ulong)hw;
    int has = bias != NULL;
    cl_mem b = bias ? bias->m : y->m;
    ARGS(c->k.bias_relu, A(y->m), A(b), A(has), A(plane), A(relu), A(n));
    return cl_run1d(c, c->k.bias_relu, "bias_relu", (size_t)n);
}

clstyle_status cl_relu_bwd(cs_backend *be, cs_buf *y, cs_buf *dy, size_t n)
{
    cl_ulong ni = n;
    ARGS(CB(be)->k.relu_bwd, A(y->m), A(dy->m), A(ni));
    return cl_run1d(CB(be), CB(be)->k.relu_bwd, "relu_bwd", n);
}

clstyle_status cl_pool(cs_backend *be, cs_buf *x, cs_buf *y, int ch, int h, int w, int avg)
{
    size_t global[3] = { ((size_t)(w / 2) + 15) / 16, (size_t)h / 2, (size_t)ch }; /* 16 outputs per work-item */
    if (!global[0] || !global[1] || !global[2]) return CLSTYLE_OK;
    ARGS(CB(be)->k.pool, A(x->m), A(y->m), A(ch), A(h), A(w), A(avg));
    return cl_run(CB(be), CB(be)->k.pool, "pool2x2", 3, global, NULL);
}

clstyle_status cl_pool_bwd(cs_backend *be, cs_buf *x, cs_buf *dy, cs_buf *dx, int ch, int h, int w, int avg, int relu)
{
    size_t global[3] = { ((size_t)(w + 1) / 2 + 15) / 16, (size_t)(h + 1) / 2, (size_t)ch }; /* 16 blocks per work-item */
    if (!w || !global[1] || !global[2]) return CLSTYLE_OK;
    ARGS(CB(be)->k.pool_bwd, A(x->m), A(dy->m), A(dx->m), A(ch), A(h), A(w), A(avg), A(relu));
    return cl_run(CB(be), CB(be)->k.pool_bwd, "pool2x2_bwd", 3, global, NULL);
}

clstyle_status cl_sqdiff(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, float gscale, cs_buf *grad, double *sum)
{
    cl_be *c = CB(be);
    cl_ulong ni = n;
    int has = grad != NULL;
    cl_mem g = grad ? grad->m : a->m;
    int poff;
    CS_TRY(cl_defer_slot(c, &poff));
    ARGS(c->k.sqdiff, A(a->m), A(b->m), A(ni), A(gscale), A(g), A(has), A(c->partial), A(poff));
    return cl_reduce_deferred(c, c->k.sqdiff, "sqdiff", n, sum);
}

clstyle_status cl_masked_sqdiff(cs_backend *be, cs_buf *a, cs_buf *b, cs_buf *m, size_t hw, size_t n, float gscale, cs_buf *grad,
                                double *sum)
{
    cl_be *c = CB(be);
    cl_ulong ni = n, plane = hw;
    int has = grad != NULL;
    cl_mem g = grad ? grad->m : a->m;
    int poff;
    CS_TRY(cl_defer_slot(c, &poff));
    ARGS(c->k.masked_sqdiff, A(a->m), A(b->m), A(m->m), A(plane), A(ni), A(gscale), A(g), A(has), A(c->partial), A(poff));
    return cl_reduce_deferred(c, c->k.masked_sqdiff, "masked_sqdiff", n, sum);
}

clstyle_status cl_tv(cs_backend *be, cs_buf *x, int ch, int h, int w, float gscale, cs_buf *grad, double *val)
{
    cl_be *c = CB(be);
    float inv_nv = h > 1 ? (float)(1.0 / ((double)ch * (h - 1) * w)) : 0.0f;
    float inv_nh = w > 1 ? (float)(1.0 / ((double)ch * h * (w - 1))) : 0.0f;
    int has = grad != NULL;
    cl_mem g = grad ? grad->m : x->m;
    int poff;
    CS_TRY(cl_defer_slot(c, &poff));
    ARGS(c->k.tv, A(x->m), A(ch), A(h), A(w), A(inv_nv), A(inv_nh), A(gscale), A(g), A(has), A(c->partial), A(poff));
    return cl_reduce_deferred(c, c->k.tv, "tv", (size_t)ch * h * w, val);
}

clstyle_status cl_affine(cs_backend *be, cs_buf *x, cs_buf *y, int ch, int hw, const float *s, const float *o)
{
    cl_be *c = CB(be);
    if (ch != 3) return cs_fail(CLSTYLE_ERR_USAGE, "affine: OpenCL backend supports 3 channels, got %d", ch);
    cl_ulong n = (cl_ulong)ch * hw, plane = (cl_ulong)hw;
    ARGS(c->k.affine, A(x->m), A(y->m), A(plane), A(s[0]), A(s[1]), A(s[2]), A(o[0]), A(o[1]), A(o[2]), A(n));
    return cl_run1d(c, c->k.affine, "affine3", (size_t)n);
}

static clstyle_status dot_or_asum(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, int mode, double *out)
{
    cl_be *c = CB(be);
    cl_ulong ni = n;
    ARGS(c->k.dot, A(a->m), A(b->m), A(ni), A(mode), A(c->partial));
    return cl_reduce(c, c->k.dot, mode ? "asum" : "dot", n, out);
}

clstyle_status cl_dot(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, double *out) { return dot_or_asum(be, a, b, n, 0, out); }
clstyle_status cl_asum(cs_backend *be, cs_buf *a, size_t n, double *out) { return dot_or_asum(be, a, a, n, 1, out); }

clstyle_status cl_axpy(cs_backend *be, float a, cs_buf *x, cs_buf *y, size_t n)
{
    cl_ulong ni = n;
    ARGS(CB(be)->k.axpy, A(a), A(x->m), A(y->m), A(ni));
    return cl_run1d(CB(be), CB(be)->k.axpy, "axpy", n);
}

clstyle_status cl_scale(cs_backend *be, float a, cs_buf *x, size_t n)
{
    cl_ulong ni = n;
    ARGS(CB(be)->k.scale, A(a), A(x->m), A(ni));
    return cl_run1d(CB(be), CB(be)->k.scale, "scale", n);
}

clstyle_status cl_clamp(cs_backend *be, cs_buf *x, float lo, float hi, size_t n)
{
    cl_ulong ni = n;
    ARGS(CB(be)->k.clamp, A(x->m), A(lo), A(hi), A(ni));
    return cl_run1d(CB(be), CB(be)->k.clamp, "clamp", n);
}

clstyle_status cl_bound_mask(cs_backend *be, cs_buf *v, cs_buf *x, cs_buf *g, float lo, float hi, size_t n)
{
    cl_ulong ni = n;
    ARGS(CB(be)->k.bound_mask, A(v->m), A(x->m), A(g->m), A(lo), A(hi), A(ni));
    return cl_run1d(CB(be), CB(be)->k.bound_mask, "bound_mask", n);
}

clstyle_status cl_mask_mul(cs_backend *be, cs_buf *x, cs_buf *m, cs_buf *y, int ch, size_t hw, int add)
{
    cl_be *c = CB(be);
    cl_ulong n = (cl_ulong)ch * hw, plane = hw;
    y->gen++;
    ARGS(c->k.mask_mul, A(x->m), A(m->m), A(y->m), A(plane), A(add), A(n));
    return cl_run1d(c, c->k.mask_mul, "mask_mul", (size_t)n);
}

clstyle_status cl_copy_at(cs_backend *be, cs_buf *src, cs_buf *dst, size_t off, size_t n)
{
    if (n == 0) return CLSTYLE_OK;
    dst->gen++;
    return cl_err(clEnqueueCopyBuffer(CB(be)->q, src->m, dst->m, 0, off * 4, n * 4, 0, NULL, NULL), "clEnqueueCopyBuffer", "copy_at");
}

clstyle_status cl_copy(cs_backend *be, cs_buf *src, cs_buf *dst, size_t n)
{
    if (src == dst) return CLSTYLE_OK;
    return cl_copy_at(be, src, dst, 0, n);
}

/* crop (add = 0) and paste_add (add = 1): one kernel, the window's offsets as 64-bit values. */
static clstyle_status window_op(cs_backend *be, cs_buf *big, cs_buf *small, cs_window win, int add)
{
    cl_be *c = CB(be);
    cl_ulong H = win.H, W = win.W, y0 = win.y0, x0 = win.x0, h = win.h, w = win.w;
    size_t global[3] = { win.w, win.h, win.c };
    if (!win.w || !win.h || !win.c) return CLSTYLE_OK;
    ARGS(c->k.window, A(big->m), A(small->m), A(H), A(W), A(y0), A(x0), A(h), A(w), A(add));
    return cl_run(c, c->k.window, add ? "paste_add" : "crop", 3, global, NULL);
}

clstyle_status cl_crop(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst) { return window_op(be, src, dst, win, 0); }
clstyle_status cl_paste_add(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst) { return window_op(be, dst, src, win, 1); }

/* One work-group per (row, block of MULTI_DOT_BLOCK elements), blocks
 * outermost: every row passes a block of the vectors while it is in cache,
 * so mat is read once and the vectors about once (a launch per vector, each
 * group striding a whole row, read mat once per vector and a vector once per
 * row: at 100 history pairs this was a quarter of an iteration at 1024 px). */
enum { MULTI_DOT_BLOCK = 16384 };
clstyle_status cl_multi_dot(cs_backend *be, cs_buf *mat, int rows, cs_buf *const *vs, int nv, size_t n, double *out)
{
    cl_be *c = CB(be);
    if (rows <= 0) return CLSTYLE_OK;
    if (rows > CS_MAX_ROWS || nv < 1 || nv > CS_MAX_VECS)
        return cs_fail(CLSTYLE_ERR_USAGE, "multi_dot: %d rows and %d vectors, at most %d and %d", rows, nv, CS_MAX_ROWS, CS_MAX_VECS);
    size_t cap = (size_t)CS_MAX_ROWS * ROW_GROUPS / ((size_t)nv * rows), blocks = (n + MULTI_DOT_BLOCK - 1) / MULTI_DOT_BLOCK;
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    cl_ulong ni = n, block = (n + blocks - 1) / blocks;
    cl_int nvi = nv;
    size_t global[3] = { (size_t)c->wg, (size_t)rows, blocks }, local[3] = { (size_t)c->wg, 1, 1 };
    cs_buf *v1 = vs[nv > 1 ? 1 : 0], *v2 = vs[nv > 2 ? 2 : 0];
    ARGS(c->k.multi_dot, A(mat->m), A(vs[0]->m), A(v1->m), A(v2->m), A(nvi), A(ni), A(block), A(c->partial));
    CS_TRY(cl_run(c, c->k.multi_dot, "multi_dot", 3, global, local));
    float *part = c->host_part;
    size_t sums = (size_t)nv * rows;
    CS_TRY(cl_err(clEnqueueReadBuffer(c->q, c->partial, CL_TRUE, 0, sums * blocks * sizeof(float), part, 0, NULL, NULL),
                  "clEnqueueReadBuffer", "multi_dot"));
    for (size_t k = 0; k < sums; k++) {
        double s = 0;
        for (size_t b = 0; b < blocks; b++) s += part[k * blocks + b];
        out[k] = s;
    }
    return CLSTYLE_OK;
}

clstyle_status cl_combine(cs_backend *be, cs_buf *mat, int rows, const float *coef, cs_buf *out, size_t n)
{
    cl_be *c = CB(be);
    if (rows > CS_MAX_ROWS) return cs_fail(CLSTYLE_ERR_USAGE, "combine: %d rows, at most %d", rows, CS_MAX_ROWS);
    if (rows <= 0) return cl_fill(be, out, 0.0f, n);
    CS_TRY(cl_err(clEnqueueWriteBuffer(c->q, c->coef, CL_TRUE, 0, (size_t)rows * 4, coef, 0, NULL, NULL), "clEnqueueWriteBuffer",
                  "combine coefficients"));
    cl_ulong ni = n;
    ARGS(c->k.combine, A(mat->m), A(rows), A(c->coef), A(out->m), A(ni));
    return cl_run1d(c, c->k.combine, "combine", n);
}

clstyle_status cl_adam(cs_backend *be, cs_buf *x, cs_buf *g, cs_buf *m, cs_buf *v, size_t n, float lr, float b1, float b2,
                              float eps, int t)
{
    cl_be *c = CB(be);
    cl_ulong ni = n;
    float c1 = (float)(1.0 - pow(b1, t)), c2 = (float)(1.0 - pow(b2, t));
    ARGS(c->k.adam, A(x->m), A(g->m), A(m->m), A(v->m), A(ni), A(lr), A(b1), A(b2), A(eps), A(c1), A(c2));
    return cl_run1d(c, c->k.adam, "adam", n);
}
