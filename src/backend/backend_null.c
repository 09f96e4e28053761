/* Measuring backend: allocates nothing and computes nothing, but counts the
 * buffer memory a job asks for. The planner runs a job's setup on it to
 * choose pieces and history that fit a memory budget. It also counts the
 * scratch buffers and weight copies a model backend grows on demand, as the
 * model's memory interface (cs_backend_mem) reports them for each shape; it
 * knows nothing of how the model computes. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"

struct cs_buf {
    size_t n;
    size_t prep;    /* floats of the rearranged weight copies counted for it */
};

typedef struct {
    cs_backend base;
    cs_backend *model;         /* whose scratch to count (it has a memory interface), or NULL: none */
    size_t have[CS_SCRATCH_KINDS]; /* scratch grown so far, floats */
    /* The model's answers by shape: pieces repeat a few window shapes
     * thousands of times, and CLBlast takes ~1 ms per question. */
    struct { int key[4]; size_t prep, scratch[CS_SCRATCH_KINDS]; } memo[64];
    int n_memo, next_memo;
} null_be;

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
NOP(nb_bias_relu, cs_buf *y, cs_buf *b, int c, int hw, int relu)
NOP(nb_relu_bwd, cs_buf *y, cs_buf *dy, size_t n)
NOP(nb_pool, cs_buf *x, cs_buf *y, int c, int h, int w, int avg)
NOP(nb_pool_bwd, cs_buf *x, cs_buf *dy, cs_buf *dx, int c, int h, int w, int avg, int relu)
NOP(nb_gram_bwd, cs_buf *dg, cs_buf *f, cs_buf *df, int c, int m)
NOP(nb_affine, cs_buf *x, cs_buf *y, int c, int hw, const float *s, const float *o)
NOP(nb_axpy, float a, cs_buf *x, cs_buf *y, size_t n)
NOP(nb_scale, float a, cs_buf *x, size_t n)
NOP(nb_mask_mul, cs_buf *x, cs_buf *m, cs_buf *y, int c, size_t hw, int add)
NOP(nb_copy, cs_buf *s, cs_buf *d, size_t n)
NOP(nb_copy_at, cs_buf *s, cs_buf *d, size_t off, size_t n)
NOP(nb_window, cs_buf *s, cs_window win, cs_buf *d)
NOP(nb_fill, cs_buf *x, float v, size_t n)
NOP(nb_clamp, cs_buf *x, float lo, float hi, size_t n)
NOP(nb_bound_mask, cs_buf *v, cs_buf *x, cs_buf *g, float lo, float hi, size_t n)
NOP(nb_combine, cs_buf *m, int rows, const float *coef, cs_buf *out, size_t n)
NOP(nb_adam, cs_buf *x, cs_buf *g, cs_buf *m, cs_buf *v, size_t n, float lr, float b1, float b2, float eps, int t)
#undef NOP
#pragma GCC diagnostic warning "-Wunused-parameter"

static clstyle_status nb_upload(cs_backend *be, cs_buf *d, size_t o, const float *s, size_t n)
{
    (void)d; (void)o; (void)s;
    be->moved_bytes += (double)n * sizeof(float);
    return CLSTYLE_OK;
}

static clstyle_status nb_download(cs_backend *be, cs_buf *s, size_t o, float *d, size_t n)
{
    return nb_upload(be, s, o, d, n);
}

static clstyle_status nb_upload_window(cs_backend *be, cs_buf *d, const float *s, cs_window win)
{
    return nb_upload(be, d, 0, s, win.c * win.h * win.w);
}

static clstyle_status nb_download_window(cs_backend *be, cs_buf *s, size_t rows, size_t row0, float *d, cs_window win)
{
    (void)rows, (void)row0;
    return nb_upload(be, s, 0, d, win.c * win.h * win.w);
}

/* Grows a modelled scratch buffer to `need` floats, counting the growth like cl_scratch. */
static void grow(cs_backend *be, size_t *have, size_t need)
{
    if (need <= *have) return;
    be->bytes_in_use += (need - *have) * sizeof(float);
    if (be->bytes_in_use > be->bytes_peak) be->bytes_peak = be->bytes_in_use;
    *have = need;
}

static void grow_all(null_be *nb, const size_t *need)
{
    for (int k = 0; k < CS_SCRATCH_KINDS; k++) grow(&nb->base, &nb->have[k], need[k]);
}

/* The model's answer for a shape key (ci, co, h, w; a Gram: c, m, -1, -1); none without a model. */
static void ask_model(null_be *nb, const int key[4], size_t *prep, size_t *scratch)
{
    if (!nb->model) return;
    for (int i = 0; i < nb->n_memo; i++)
        if (!memcmp(nb->memo[i].key, key, sizeof nb->memo[i].key)) {
            *prep = nb->memo[i].prep;
            memcpy(scratch, nb->memo[i].scratch, sizeof nb->memo[i].scratch);
            return;
        }
    if (key[2] >= 0) nb->model->mem->conv_memory(nb->model, key[0], key[1], key[2], key[3], prep, scratch);
    else nb->model->mem->gram_memory(nb->model, key[0], key[1], scratch);
    int i = nb->n_memo < 64 ? nb->n_memo++ : nb->next_memo++ % 64;
    memcpy(nb->memo[i].key, key, sizeof nb->memo[i].key);
    nb->memo[i].prep = *prep;
    memcpy(nb->memo[i].scratch, scratch, sizeof nb->memo[i].scratch);
}

/* Serves the forward and the backward convolution. A model may keep copies
 * of a convolution's weights (per direction, made at the first use and freed
 * with the weights): both directions are counted at the first use, as a
 * measured setup runs only the forward. */
static clstyle_status nb_conv(null_be *nb, cs_buf *w, int ci, int co, int h, int wd)
{
    size_t prep = 0, scratch[CS_SCRATCH_KINDS] = { 0 };
    nb->base.conv_flop += 2.0 * 9 * ci * co * h * wd;
    if (nb->model) nb->base.conv_seconds += nb->model->mem->conv_seconds(nb->model, ci, co, h, wd);
    ask_model(nb, (int[4]){ ci, co, h, wd }, &prep, scratch);
    if (prep && !w->prep) {
        w->prep = prep;
        grow(&nb->base, &(size_t){ 0 }, w->prep);
    }
    grow_all(nb, scratch);
    return CLSTYLE_OK;
}

static clstyle_status nb_conv_fwd(cs_backend *be, cs_buf *x, cs_buf *w, cs_buf *b, cs_buf *y, int ci, int co, int h, int wd, int relu)
{
    (void)x; (void)b; (void)y; (void)relu;
    return nb_conv((null_be *)be, w, ci, co, h, wd);
}

static clstyle_status nb_conv_bwd(cs_backend *be, cs_buf *dy, cs_buf *w, cs_buf *dx, int ci, int co, int h, int wd)
{
    (void)dy; (void)dx;
    return nb_conv((null_be *)be, w, ci, co, h, wd);
}

/* Also counts the scratch of the backward through this Gram (not run while sizing). */
static clstyle_status nb_gram(cs_backend *be, cs_buf *f, cs_buf *g, int c, int m)
{
    null_be *nb = (null_be *)be;
    size_t scratch[CS_SCRATCH_KINDS] = { 0 };
    (void)f; (void)g;
    ask_model(nb, (int[4]){ c, m, -1, -1 }, &(size_t){ 0 }, scratch);
    grow_all(nb, scratch);
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

static clstyle_status nb_masked_sqdiff(cs_backend *be, cs_buf *a, cs_buf *b, cs_buf *m, size_t hw, size_t n, float gs, cs_buf *g,
                                       double *sum)
{
    (void)m; (void)hw;
    return nb_sqdiff(be, a, b, n, gs, g, sum);
}

static clstyle_status nb_dot(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, double *out)
{
    (void)be; (void)a; (void)b; (void)n;
    *out = 0;
    return CLSTYLE_OK;
}

static clstyle_status nb_asum(cs_backend *be, cs_buf *a, size_t n, double *out) { return nb_dot(be, a, a, n, out); }

static clstyle_status nb_multi_dot(cs_backend *be, cs_buf *m, int rows, cs_buf *const *vs, int nv, size_t n, double *out)
{
    (void)be; (void)m; (void)vs; (void)n;
    memset(out, 0, (size_t)nv * rows * sizeof *out);
    return CLSTYLE_OK;
}

static clstyle_status nb_finish(cs_backend *be) { (void)be; return CLSTYLE_OK; }
static void nb_destroy(cs_backend *be) { free(be); }

static const cs_backend_ops null_ops = {
    .destroy = nb_destroy, .alloc = nb_alloc, .release = nb_release, .upload = nb_upload, .download = nb_download,
    .conv3x3 = nb_conv_fwd, .conv3x3_bwd = nb_conv_bwd, .bias_relu = nb_bias_relu, .relu_bwd = nb_relu_bwd, .pool = nb_pool,
    .pool_bwd = nb_pool_bwd, .gram = nb_gram, .gram_bwd = nb_gram_bwd, .sqdiff = nb_sqdiff, .tv = nb_tv, .masked_sqdiff = nb_masked_sqdiff, .affine = nb_affine, .mask_mul = nb_mask_mul,
    .dot = nb_dot, .asum = nb_asum, .axpy = nb_axpy, .scale = nb_scale, .copy = nb_copy, .copy_at = nb_copy_at,
    .multi_dot = nb_multi_dot, .combine = nb_combine, .fill = nb_fill, .clamp = nb_clamp, .bound_mask = nb_bound_mask, .adam = nb_adam, .finish = nb_finish,
    .crop = nb_window, .paste_add = nb_window, .upload_window = nb_upload_window, .download_window = nb_download_window,
};

clstyle_status cs_backend_null_create(cs_backend *model, cs_backend **out)
{
    null_be *nb = calloc(1, sizeof *nb);
    if (!nb) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    nb->base.ops = &null_ops;
    strcpy(nb->base.name, "measure");
    nb->model = model && model->mem ? model : NULL;
    *out = &nb->base;
    return CLSTYLE_OK;
}
