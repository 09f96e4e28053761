/* 3x3 convolutions (stride 1, zero pad 1), forward and backward to the input,
 * as a table of algorithms; the backend dispatches per shape class to the
 * one cl_choose.c picked (any number of entries; each must handle any shape).
 * - gemm: im2col in row bands (capped memory) + CLBlast SGEMM; col2im back.
 * - direct: one kernel on weights rearranged once (cl_direct.c), vectorized
 *   over 16 pixels and a block of output channels, the zero border folded into
 *   its loads (on PoCL ~10x faster than CLBlast; on Mesa's rusticl much slower).
 * - winograd: F(2x2, 3x3) (cl_winograd.c), 2.25x fewer multiplications.
 * - direct+winograd: Winograd on the layers with many channels, direct on the
 *   others (one entry, for devices where the measured choice per class of
 *   input channels cannot split what the channel product decides).
 * The forward may also add the bias and apply the ReLU (cl_conv3x3_bias_relu). */
#include <string.h>
#include <strings.h>

#include "cl_be.h"

/* Rows per im2col band for k = ci*9 columns of width w. */
static clstyle_status band_rows(cl_be *c, int k, int h, int w, int *rows)
{
    size_t per_row = (size_t)k * w, r = c->base.band_bytes / 4 / per_row; /* the planner may lower the cap */
    if (r < 1) r = 1;
    if (r > (size_t)h) r = (size_t)h;
    *rows = (int)r;
    return cl_scratch(c, &c->col, &c->col_n, r * per_row, "im2col band");
}

static clstyle_status gemm_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *y, int ci, int co, int h, int w)
{
    int k = ci * 9, R;
    CS_TRY(band_rows(c, k, h, w, &R));
    for (int row0 = 0; row0 < h; row0 += R) {
        int rows = row0 + R <= h ? R : h - row0;
        size_t n = (size_t)rows * w;
        ARGS(c->k.im2col, A(x->m), A(c->col), A(ci), A(h), A(w), A(row0), A(rows));
        CS_TRY(cl_run1d(c, c->k.im2col, "im2col3x3", (size_t)ci * n));
        CS_TRY(cl_gemm(c, 0, 0, (size_t)co, n, (size_t)k, 1.0f, wt->m, 0, (size_t)k, c->col, 0, n, 0.0f, y->m, (size_t)row0 * w,
                       (size_t)h * w, "gemm conv fwd"));
    }
    return CLSTYLE_OK;
}

static clstyle_status gemm_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    int k = ci * 9, R;
    CS_TRY(band_rows(c, k, h, w, &R));
    int accum = R < h; /* several bands add into dx */
    if (accum) CS_TRY(cl_fill(&c->base, dx, 0.0f, (size_t)ci * h * w));
    for (int row0 = 0; row0 < h; row0 += R) {
        int rows = row0 + R <= h ? R : h - row0;
        size_t n = (size_t)rows * w;
        /* dcol (k, n) = W^T (k, co) dy[:, band] (co, n) */
        CS_TRY(cl_gemm(c, 1, 0, (size_t)k, n, (size_t)co, 1.0f, wt->m, 0, (size_t)k, dy->m, (size_t)row0 * w, (size_t)h * w, 0.0f,
                       c->col, 0, n, "gemm conv bwd"));
        int p0 = row0 > 0 ? row0 - 1 : 0, p1 = row0 + rows + 1 < h ? row0 + rows + 1 : h, prows = p1 - p0;
        ARGS(c->k.col2im, A(c->col), A(dx->m), A(ci), A(h), A(w), A(row0), A(rows), A(p0), A(prows), A(accum));
        CS_TRY(cl_run1d(c, c->k.col2im, "col2im3x3", (size_t)ci * prows * w));
    }
    return CLSTYLE_OK;
}

const cl_conv_algo cl_conv_algos[] = {
    { "gemm", gemm_fwd, gemm_bwd, 0 },
    { "direct", cl_direct_fwd, cl_direct_bwd, 0 },
    /* Plain Winograd only when forced: the measured choice times small shapes,
     * where it wins on every class, but at 256-512 px it loses 2x on the
     * shallow layers (clstyle-convbench) and its rounding there moved the
     * OpenCL-vs-reference L-BFGS run 3e-4 apart by iteration 2 (e2e-backends). */
    { "winograd", cl_wino_fwd, cl_wino_bwd, 1 },
    { "direct+winograd", cl_hybrid_fwd, cl_hybrid_bwd, 0 },
};
const int cl_n_conv_algos = (int)(sizeof cl_conv_algos / sizeof *cl_conv_algos);

int cl_conv_find(const char *name)
{
    for (int i = 0; i < cl_n_conv_algos; i++)
        if (!strcasecmp(cl_conv_algos[i].name, name)) return i;
    return -1;
}

clstyle_status cl_conv3x3(cs_backend *be, cs_buf *x, cs_buf *wt, cs_buf *y, int ci, int co, int h, int w)
{
    CB(be)->conv_flop += 18.0 * ci * co * h * w;
    return cl_conv_algos[CB(be)->conv_algo[cl_conv_class(ci)]].fwd(CB(be), x, wt, y, ci, co, h, w);
}

void cl_epilogue(cl_be *c, int flip, cl_mem fallback, cl_mem *bias, int *flags)
{
    int on = !flip && (c->epi_bias || c->epi_relu);
    *bias = on && c->epi_bias ? c->epi_bias->m : fallback;
    *flags = on ? (c->epi_bias ? 1 : 0) | (c->epi_relu ? 2 : 0) : 0;
    if (on) c->epi_done = 1;
}

clstyle_status cl_conv3x3_bias_relu(cs_backend *be, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w,
                                    int relu)
{
    cl_be *c = CB(be);
    c->epi_bias = bias;
    c->epi_relu = relu;
    c->epi_done = 0;
    clstyle_status st = cl_conv3x3(be, x, wt, y, ci, co, h, w);
    int done = c->epi_done;
    c->epi_bias = NULL;
    c->epi_relu = c->epi_done = 0;
    CS_TRY(st);
    return done || (!bias && !relu) ? CLSTYLE_OK : cl_bias_relu(be, y, bias, co, h * w, relu);
}

clstyle_status cl_conv3x3_bwd(cs_backend *be, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    CB(be)->conv_flop += 18.0 * ci * co * h * w;
    return cl_conv_algos[CB(be)->conv_algo[cl_conv_class(ci)]].bwd(CB(be), dy, wt, dx, ci, co, h, w);
}
