/* Reference backend: plain C loops that read like the math. It is the oracle
 * of the conformance tests, so clarity comes before speed (OpenMP only splits
 * the outer loops). Sums are accumulated in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"

struct cs_buf {
    float *p;
    size_t n;
};

#define P(b) ((b)->p)

static clstyle_status ref_alloc(cs_backend *be, size_t n, cs_buf **out)
{
    cs_buf *b = malloc(sizeof *b);
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!b || !p) {
        free(b);
        free(p);
        return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory allocating %zu floats", n);
    }
    b->p = p;
    b->n = n;
    be->bytes_in_use += n * sizeof(float);
    if (be->bytes_in_use > be->bytes_peak) be->bytes_peak = be->bytes_in_use;
    *out = b;
    return CLSTYLE_OK;
}

static void ref_release(cs_backend *be, cs_buf *b)
{
    be->bytes_in_use -= b->n * sizeof(float);
    free(b->p);
    free(b);
}

static clstyle_status ref_upload(cs_backend *be, cs_buf *dst, size_t off, const float *src, size_t n)
{
    (void)be;
    memcpy(dst->p + off, src, n * sizeof(float));
    return CLSTYLE_OK;
}

static clstyle_status ref_download(cs_backend *be, cs_buf *src, size_t off, float *dst, size_t n)
{
    (void)be;
    memcpy(dst, src->p + off, n * sizeof(float));
    return CLSTYLE_OK;
}

static clstyle_status ref_bias_relu(cs_backend *be, cs_buf *yb, cs_buf *bias, int c, int hw, int relu)
{
    (void)be;
    #pragma omp parallel for
    for (int ch = 0; ch < c; ch++) {
        float b = bias ? P(bias)[ch] : 0.0f;
        float *y = P(yb) + (size_t)ch * hw;
        for (int i = 0; i < hw; i++) {
            float v = y[i] + b;
            y[i] = relu && v < 0 ? 0.0f : v;
        }
    }
    return CLSTYLE_OK;
}

/* y[co] = sum over ci, ky, kx of w[co,ci,ky,kx] * x[ci] shifted by (ky-1, kx-1); then bias and ReLU. */
static clstyle_status ref_conv3x3(cs_backend *be, cs_buf *xb, cs_buf *wb, cs_buf *bias, cs_buf *yb, int ci, int co, int h, int w,
                                  int relu)
{
    const float *x = P(xb), *wt = P(wb);
    float *y = P(yb);
    #pragma omp parallel for schedule(dynamic)
    for (int o = 0; o < co; o++) {
        float *yo = y + (size_t)o * h * w;
        memset(yo, 0, (size_t)h * w * sizeof(float));
        for (int c = 0; c < ci; c++)
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    float k = wt[(((size_t)o * ci + c) * 3 + ky) * 3 + kx];
                    int dy = ky - 1, dx = kx - 1;
                    for (int i = 0; i < h; i++) {
                        if (i + dy < 0 || i + dy >= h) continue;
                        const float *xr = x + ((size_t)c * h + i + dy) * w + dx;
                        float *yr = yo + (size_t)i * w;
                        for (int j = dx < 0 ? 1 : 0; j < (dx > 0 ? w - 1 : w); j++) yr[j] += k * xr[j];
                    }
                }
    }
    return bias || relu ? ref_bias_relu(be, yb, bias, co, h * w, relu) : CLSTYLE_OK;
}

/* The transpose of the above: dx[ci] gathers w[co,ci,ky,kx] * dy[co] shifted back. */
static clstyle_status ref_conv3x3_bwd(cs_backend *be, cs_buf *dyb, cs_buf *wb, cs_buf *dxb, int ci, int co, int h, int w)
{
    (void)be;
    const float *dy = P(dyb), *wt = P(wb);
    float *dx = P(dxb);
    #pragma omp parallel for schedule(dynamic)
    for (int c = 0; c < ci; c++) {
        float *dxc = dx + (size_t)c * h * w;
        memset(dxc, 0, (size_t)h * w * sizeof(float));
        for (int o = 0; o < co; o++)
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    float k = wt[(((size_t)o * ci + c) * 3 + ky) * 3 + kx];
                    int oy = ky - 1, ox = kx - 1;
                    for (int p = 0; p < h; p++) {
                        int i = p - oy;
                        if (i < 0 || i >= h) continue;
                        const float *dyr = dy + ((size_t)o * h + i) * w - ox;
                        float *dxr = dxc + (size_t)p * w;
                        for (int q = ox > 0 ? 1 : 0; q < (ox < 0 ? w - 1 : w); q++) dxr[q] += k * dyr[q];
                    }
                }
    }
    return CLSTYLE_OK;
}

static clstyle_status ref_relu_bwd(cs_backend *be, cs_buf *yb, cs_buf *dyb, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        if (!(P(yb)[i] > 0)) P(dyb)[i] = 0;
    return CLSTYLE_OK;
}

/* Index (within x) of the window's first maximum, in scan order. */
static size_t argmax2x2(const float *x, int h, int w, int ch, int i, int j)
{
    size_t best = ((size_t)ch * h + 2 * i) * w + 2 * j;
    for (int d = 1; d < 4; d++) {
        size_t k = ((size_t)ch * h + 2 * i + d / 2) * w + 2 * j + d % 2;
        if (x[k] > x[best]) best = k;
    }
    return best;
}

static clstyle_status ref_pool(cs_backend *be, cs_buf *xb, cs_buf *yb, int c, int h, int w, int avg)
{
    (void)be;
    int oh = h / 2, ow = w / 2;
    const float *x = P(xb);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                size_t t = ((size_t)ch * h + 2 * i) * w + 2 * j;
                float v = avg ? 0.25f * (x[t] + x[t + 1] + x[t + w] + x[t + w + 1]) : x[argmax2x2(x, h, w, ch, i, j)];
                P(yb)[((size_t)ch * oh + i) * ow + j] = v;
            }
    return CLSTYLE_OK;
}

static clstyle_status ref_pool_bwd(cs_backend *be, cs_buf *xb, cs_buf *dyb, cs_buf *dxb, int c, int h, int w, int avg, int relu)
{
    (void)be;
    int oh = h / 2, ow = w / 2;
    float *dx = P(dxb);
    memset(dx, 0, (size_t)c * h * w * sizeof(float));
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float g = P(dyb)[((size_t)ch * oh + i) * ow + j];
                size_t t = ((size_t)ch * h + 2 * i) * w + 2 * j;
                if (avg) {
                    dx[t] += 0.25f * g; dx[t + 1] += 0.25f * g;
                    dx[t + w] += 0.25f * g; dx[t + w + 1] += 0.25f * g;
                } else {
                    dx[argmax2x2(P(xb), h, w, ch, i, j)] += g;
                }
            }
    return relu ? ref_relu_bwd(be, xb, dxb, (size_t)c * h * w) : CLSTYLE_OK; /* the oracle: the two ops in turn */
}

static clstyle_status ref_gram(cs_backend *be, cs_buf *fb, cs_buf *gb, int c, int m)
{
    (void)be;
    const float *f = P(fb);
    double norm = 1.0 / ((double)c * m);
    #pragma omp parallel for schedule(dynamic)
    for (int a = 0; a < c; a++)
        for (int b = a; b < c; b++) {
            double s = 0;
            for (int k = 0; k < m; k++) s += (double)f[(size_t)a * m + k] * f[(size_t)b * m + k];
            P(gb)[(size_t)a * c + b] = P(gb)[(size_t)b * c + a] = (float)(s * norm);
        }
    return CLSTYLE_OK;
}

static clstyle_status ref_gram_bwd(cs_backend *be, cs_buf *dgb, cs_buf *fb, cs_buf *dfb, int c, int m)
{
    (void)be;
    const float *dg = P(dgb), *f = P(fb);
    double norm = 2.0 / ((double)c * m);
    #pragma omp parallel for
    for (int a = 0; a < c; a++)
        for (int k = 0; k < m; k++) {
            double s = 0;
            for (int b = 0; b < c; b++) s += (double)dg[(size_t)a * c + b] * f[(size_t)b * m + k];
            P(dfb)[(size_t)a * m + k] += (float)(s * norm);
        }
    return CLSTYLE_OK;
}

static clstyle_status ref_sqdiff(cs_backend *be, cs_buf *ab, cs_buf *bb, size_t n, float gscale, cs_buf *grad, double *sum)
{
    (void)be;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        float d = P(ab)[i] - P(bb)[i];
        s += (double)d * d;
        if (grad) P(grad)[i] += gscale * d;
    }
    *sum = s;
    return CLSTYLE_OK;
}

static clstyle_status ref_masked_sqdiff(cs_backend *be, cs_buf *ab, cs_buf *bb, cs_buf *mb, size_t hw, size_t n, float gscale,
                                        cs_buf *grad, double *sum)
{
    (void)be;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        float m = P(mb)[i % hw], d = P(ab)[i] - P(bb)[i];
        s += (double)m * d * d;
        if (grad) P(grad)[i] += gscale * m * d;
    }
    *sum = s;
    return CLSTYLE_OK;
}

/* L_tv = mean of squared vertical differences + mean of squared horizontal ones. */
static clstyle_status ref_tv(cs_backend *be, cs_buf *xb, int c, int h, int w, float gscale, cs_buf *grad, double *val)
{
    (void)be;
    const float *x = P(xb);
    double nv = (double)c * (h - 1) * w, nh = (double)c * h * (w - 1), sv = 0, sh = 0;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                size_t k = ((size_t)ch * h + i) * w + j;
                if (i + 1 < h) {
                    float d = x[k + w] - x[k];
                    sv += (double)d * d;
                    if (grad) {
                        float g = (float)(gscale * 2.0 * d / nv);
                        P(grad)[k + w] += g;
                        P(grad)[k] -= g;
                    }
                }
                if (j + 1 < w) {
                    float d = x[k + 1] - x[k];
                    sh += (double)d * d;
                    if (grad) {
                        float g = (float)(gscale * 2.0 * d / nh);
                        P(grad)[k + 1] += g;
                        P(grad)[k] -= g;
                    }
                }
            }
    *val = (nv > 0 ? sv / nv : 0) + (nh > 0 ? sh / nh : 0);
    return CLSTYLE_OK;
}

static clstyle_status ref_affine(cs_backend *be, cs_buf *xb, cs_buf *yb, int c, int hw, const float *s, const float *o)
{
    (void)be;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < hw; i++) {
            size_t k = (size_t)ch * hw + i;
            P(yb)[k] = P(xb)[k] * s[ch] + o[ch];
        }
    return CLSTYLE_OK;
}

static clstyle_status ref_mask_mul(cs_backend *be, cs_buf *xb, cs_buf *mb, cs_buf *yb, int c, size_t hw, int add)
{
    (void)be;
    for (int ch = 0; ch < c; ch++)
        for (size_t i = 0; i < hw; i++) {
            size_t k = (size_t)ch * hw + i;
            float v = P(xb)[k] * P(mb)[i];
            P(yb)[k] = add ? P(yb)[k] + v : v;
        }
    return CLSTYLE_OK;
}

/* Row r of channel ch of the window, as an offset into the (c,H,W) buffer. */
static size_t window_row(cs_window win, size_t ch, size_t r) { return (ch * win.H + win.y0 + r) * win.W + win.x0; }

static clstyle_status ref_crop(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst)
{
    (void)be;
    for (size_t ch = 0; ch < win.c; ch++)
        for (size_t r = 0; r < win.h; r++)
            memcpy(P(dst) + (ch * win.h + r) * win.w, P(src) + window_row(win, ch, r), win.w * sizeof(float));
    return CLSTYLE_OK;
}

static clstyle_status ref_upload_window(cs_backend *be, cs_buf *dst, const float *src, cs_window win)
{
    (void)be;
    for (size_t ch = 0; ch < win.c; ch++)
        for (size_t r = 0; r < win.h; r++)
            memcpy(P(dst) + (ch * win.h + r) * win.w, src + window_row(win, ch, r), win.w * sizeof(float));
    return CLSTYLE_OK;
}

static clstyle_status ref_download_window(cs_backend *be, cs_buf *src, size_t rows, size_t row0, float *dst, cs_window win)
{
    (void)be;
    for (size_t ch = 0; ch < win.c; ch++)
        for (size_t r = 0; r < win.h; r++)
            memcpy(dst + window_row(win, ch, r), P(src) + (ch * rows + row0 + r) * win.w, win.w * sizeof(float));
    return CLSTYLE_OK;
}

static clstyle_status ref_paste_add(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst)
{
    (void)be;
    for (size_t ch = 0; ch < win.c; ch++)
        for (size_t r = 0; r < win.h; r++) {
            const float *s = P(src) + (ch * win.h + r) * win.w;
            float *d = P(dst) + window_row(win, ch, r);
            for (size_t j = 0; j < win.w; j++) d[j] += s[j];
        }
    return CLSTYLE_OK;
}

static clstyle_status ref_dot(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, double *out)
{
    (void)be;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)P(a)[i] * P(b)[i];
    *out = s;
    return CLSTYLE_OK;
}

static clstyle_status ref_asum(cs_backend *be, cs_buf *a, size_t n, double *out)
{
    (void)be;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs((double)P(a)[i]);
    *out = s;
    return CLSTYLE_OK;
}

static clstyle_status ref_axpy(cs_backend *be, float a, cs_buf *x, cs_buf *y, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++) P(y)[i] += a * P(x)[i];
    return CLSTYLE_OK;
}

static clstyle_status ref_scale(cs_backend *be, float a, cs_buf *x, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++) P(x)[i] *= a;
    return CLSTYLE_OK;
}

static clstyle_status ref_copy(cs_backend *be, cs_buf *src, cs_buf *dst, size_t n)
{
    (void)be;
    memmove(P(dst), P(src), n * sizeof(float));
    return CLSTYLE_OK;
}

static clstyle_status ref_copy_at(cs_backend *be, cs_buf *src, cs_buf *dst, size_t off, size_t n)
{
    (void)be;
    memmove(P(dst) + off, P(src), n * sizeof(float));
    return CLSTYLE_OK;
}

/* Block by block, every row against a block of the vectors while it is in
 * cache: the optimizer runs here in bands, where n is the whole picture. */
static clstyle_status ref_multi_dot(cs_backend *be, cs_buf *mat, int rows, cs_buf *const *vs, int nv, size_t n, double *out)
{
    (void)be;
    enum { BLOCK = 8192 };
    memset(out, 0, (size_t)nv * rows * sizeof *out);
    for (size_t lo = 0; lo < n; lo += BLOCK) {
        size_t hi = n - lo < BLOCK ? n : lo + BLOCK;
        for (int r = 0; r < rows; r++) {
            const float *m = P(mat) + (size_t)r * n;
            for (int j = 0; j < nv; j++) {
                const float *v = P(vs[j]);
                double s = 0;
                for (size_t i = lo; i < hi; i++) s += (double)m[i] * v[i];
                out[(size_t)j * rows + r] += s;
            }
        }
    }
    return CLSTYLE_OK;
}

static clstyle_status ref_combine(cs_backend *be, cs_buf *mat, int rows, const float *coef, cs_buf *out, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int r = 0; r < rows; r++) s += (double)coef[r] * P(mat)[(size_t)r * n + i];
        P(out)[i] = (float)s;
    }
    return CLSTYLE_OK;
}

static clstyle_status ref_clamp(cs_backend *be, cs_buf *x, float lo, float hi, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++) P(x)[i] = fminf(fmaxf(P(x)[i], lo), hi);
    return CLSTYLE_OK;
}

static clstyle_status ref_bound_mask(cs_backend *be, cs_buf *v, cs_buf *x, cs_buf *g, float lo, float hi, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        if ((P(x)[i] <= lo && P(g)[i] > 0) || (P(x)[i] >= hi && P(g)[i] < 0)) P(v)[i] = 0;
    return CLSTYLE_OK;
}

static clstyle_status ref_fill(cs_backend *be, cs_buf *x, float v, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++) P(x)[i] = v;
    return CLSTYLE_OK;
}

static clstyle_status ref_adam(cs_backend *be, cs_buf *x, cs_buf *g, cs_buf *m, cs_buf *v, size_t n,
                               float lr, float b1, float b2, float eps, int t)
{
    (void)be;
    double c1 = 1.0 - pow(b1, t), c2 = 1.0 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
        float gi = P(g)[i];
        P(m)[i] = b1 * P(m)[i] + (1 - b1) * gi;
        P(v)[i] = b2 * P(v)[i] + (1 - b2) * gi * gi;
        double mhat = P(m)[i] / c1, vhat = P(v)[i] / c2;
        P(x)[i] -= (float)(lr * mhat / (sqrt(vhat) + eps));
    }
    return CLSTYLE_OK;
}

/* Everything is computed at once here: nothing to wait for. */
static clstyle_status ref_finish(cs_backend *be)
{
    (void)be;
    return CLSTYLE_OK;
}

static float *ref_host_data(cs_backend *be, cs_buf *b) { (void)be; return b->p; }

static void ref_destroy(cs_backend *be) { free(be); }

static const cs_backend_ops ref_ops = {
    .destroy = ref_destroy, .alloc = ref_alloc, .release = ref_release,
    .upload = ref_upload, .download = ref_download, .host_data = ref_host_data,
    .conv3x3 = ref_conv3x3, .conv3x3_bwd = ref_conv3x3_bwd, .bias_relu = ref_bias_relu,
    .relu_bwd = ref_relu_bwd, .pool = ref_pool, .pool_bwd = ref_pool_bwd,
    .gram = ref_gram, .gram_bwd = ref_gram_bwd, .sqdiff = ref_sqdiff, .tv = ref_tv, .masked_sqdiff = ref_masked_sqdiff, .affine = ref_affine, .mask_mul = ref_mask_mul,
    .dot = ref_dot, .asum = ref_asum, .axpy = ref_axpy, .scale = ref_scale, .copy = ref_copy,
    .fill = ref_fill, .clamp = ref_clamp, .bound_mask = ref_bound_mask, .adam = ref_adam, .copy_at = ref_copy_at, .multi_dot = ref_multi_dot, .combine = ref_combine,
    .crop = ref_crop, .paste_add = ref_paste_add, .finish = ref_finish,
    .upload_window = ref_upload_window, .download_window = ref_download_window,
};

clstyle_status cs_backend_reference_create(cs_backend **out)
{
    cs_backend *be = calloc(1, sizeof *be);
    if (!be) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    be->ops = &ref_ops;
    strcpy(be->name, "reference");
    strcpy(be->device, "host CPU (plain C reference)");
    *out = be;
    return CLSTYLE_OK;
}
