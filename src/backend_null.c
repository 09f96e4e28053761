/* Measuring backend: allocates nothing and computes nothing, but counts the
 * buffer memory a job asks for. The driver runs a job's setup on it to tell
 * which image size would fit a device that ran out of memory. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"

struct cs_buf {
    size_t n;
    size_t prep;    /* floats of the rearranged weight copies counted for it */
};

static clstyle_status nb_alloc(cs_backend *be, size_t n, cs_buf **out)
{
    cs_buf *b = malloc(sizeof *b);
    if (!b) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    b->n = n;
    b->prep = 0;
    be->bytes_in_use += n * sizeof(float);
    if (be->bytes_in_use > be->bytes_peak) be->bytes_peak = be->bytes_in_use;
    *out = b;
    return CLSTYLE_OK;
}

static void nb_release(cs_backend *be, cs_buf *b)
{
    be->bytes_in_use -= (b->n + b->prep) * sizeof(float);
    free(b);
}

/* Every operation: nothing to do. Scalars come back as 0 (the measured setup
 * only uses them for normalisations). The parameters are there for the table. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define NOP(name, ...) static clstyle_status name(cs_backend *be, __VA_ARGS__) { (void)be; return CLSTYLE_OK; }
NOP(nb_upload, cs_buf *d, size_t o, const float *s, size_t n)
NOP(nb_download, cs_buf *s, size_t o, float *d, size_t n)
NOP(nb_bias_relu, cs_buf *y, cs_buf *b, int c, int hw, int relu)
NOP(nb_relu_bwd, cs_buf *y, cs_buf *dy, size_t n)
NOP(nb_pool, cs_buf *x, cs_buf *y, int c, int h, int w, int avg)
NOP(nb_pool_bwd, cs_buf *x, cs_buf *dy, cs_buf *dx, int c, int h, int w, int avg)
NOP(nb_gram, cs_buf *f, cs_buf *g, int c, int m)
NOP(nb_gram_bwd, cs_buf *dg, cs_buf *f, cs_buf *df, int c, int m)
NOP(nb_affine, cs_buf *x, cs_buf *y, int c, int hw, const float *s, const float *o)
NOP(nb_axpy, float a, cs_buf *x, cs_buf *y, size_t n)
NOP(nb_scale, float a, cs_buf *x, size_t n)
NOP(nb_copy, cs_buf *s, cs_buf *d, size_t n)
NOP(nb_copy_at, cs_buf *s, cs_buf *d, size_t off, size_t n)
NOP(nb_fill, cs_buf *x, float v, size_t n)
NOP(nb_combine, cs_buf *m, int rows, const float *coef, cs_buf *out, size_t n)
NOP(nb_adam, cs_buf *x, cs_buf *g, cs_buf *m, cs_buf *v, size_t n, float lr, float b1, float b2, float eps, int t)
#undef NOP
#pragma GCC diagnostic warning "-Wunused-parameter"

/* A backend may keep a rearranged copy of a convolution's weights per
 * direction (the OpenCL CPU path does: at most 16/9 of them, for Winograd),
 * made at the first use and freed with the weights. Both directions are
 * counted at the first use: a measured setup runs only the forward. */
static clstyle_status nb_conv(cs_backend *be, cs_buf *x, cs_buf *w, cs_buf *y, int ci, int co, int h, int wd)
{
    (void)x; (void)y; (void)ci; (void)co; (void)h; (void)wd;
    if (w->prep) return CLSTYLE_OK;
    w->prep = 2 * (w->n / 9 * 16 + 16);
    be->bytes_in_use += w->prep * sizeof(float);
    if (be->bytes_in_use > be->bytes_peak) be->bytes_peak = be->bytes_in_use;
    return CLSTYLE_OK;
}

static clstyle_status nb_sqdiff(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, float gs, cs_buf *g, double *sum)
{
    (void)be; (void)a; (void)b; (void)n; (void)gs; (void)g;
    *sum = 0;
    return CLSTYLE_OK;
}

static clstyle_status nb_tv(cs_backend *be, cs_buf *x, int c, int h, int w, float gs, cs_buf *g, double *val)
{
    (void)be; (void)x; (void)c; (void)h; (void)w; (void)gs; (void)g;
    *val = 0;
    return CLSTYLE_OK;
}

static clstyle_status nb_dot(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, double *out)
{
    (void)be; (void)a; (void)b; (void)n;
    *out = 0;
    return CLSTYLE_OK;
}

static clstyle_status nb_asum(cs_backend *be, cs_buf *a, size_t n, double *out) { return nb_dot(be, a, a, n, out); }

static clstyle_status nb_multi_dot(cs_backend *be, cs_buf *m, int rows, cs_buf *v, size_t n, double *out)
{
    (void)be; (void)m; (void)v; (void)n;
    memset(out, 0, (size_t)rows * sizeof *out);
    return CLSTYLE_OK;
}

static clstyle_status nb_finish(cs_backend *be) { (void)be; return CLSTYLE_OK; }
static void nb_destroy(cs_backend *be) { free(be); }

static const cs_backend_ops null_ops = {
    .destroy = nb_destroy, .alloc = nb_alloc, .release = nb_release, .upload = nb_upload, .download = nb_download,
    .conv3x3 = nb_conv, .conv3x3_bwd = nb_conv, .bias_relu = nb_bias_relu, .relu_bwd = nb_relu_bwd, .pool = nb_pool,
    .pool_bwd = nb_pool_bwd, .gram = nb_gram, .gram_bwd = nb_gram_bwd, .sqdiff = nb_sqdiff, .tv = nb_tv, .affine = nb_affine,
    .dot = nb_dot, .asum = nb_asum, .axpy = nb_axpy, .scale = nb_scale, .copy = nb_copy, .copy_at = nb_copy_at,
    .multi_dot = nb_multi_dot, .combine = nb_combine, .fill = nb_fill, .adam = nb_adam, .finish = nb_finish,
};

clstyle_status cs_backend_null_create(cs_backend **out)
{
    cs_backend *be = calloc(1, sizeof *be);
    if (!be) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    be->ops = &null_ops;
    strcpy(be->name, "measure");
    *out = be;
    return CLSTYLE_OK;
}
