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
 * The forward may also add the bias and apply the ReLU (cl_conv3x3_bias_relu).
 * The memory planner may ask for fewer weight copies (cs_backend.conv_lean,
 * algo_for) and asks what each algorithm keeps (cl_conv_memory). */
#include <string.h>
#include <strings.h>

#include "cl_be.h"

/* Rows per im2col band for k = ci*9 columns of width w (the planner may lower the cap). */
static size_t rows_for(const cl_be *c, int k, int h, int w)
{
    size_t r = c->base.band_bytes / 4 / ((size_t)k * w);
    return r < 1 ? 1 : r > (size_t)h ? (size_t)h : r;
}

static clstyle_status band_rows(cl_be *c, int k, int h, int w, int *rows)
{
    *rows = (int)rows_for(c, k, h, w);
    return cl_scratch(c, &c->col, &c->col_n, (size_t)*rows * k * w, "im2col band");
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

/* The band scratch and CLBlast's temporaries of gemm_fwd and gemm_bwd: the
 * first band and the last, shorter one (the products' shapes differ). */
static void gemm_memory(cl_be *c, int ci, int co, int h, int w, size_t *prep, size_t *scratch)
{
    size_t k = (size_t)ci * 9, R = rows_for(c, (int)k, h, w), hw = (size_t)h * w;
    *prep = 0;
    cs_raise(&scratch[CS_SCRATCH_COL], R * k * w);
    size_t last = h % R ? h % R : R, rows[2] = { R, last }, off[2] = { 0, (h - last) * (size_t)w };
    for (int i = 0; i < 2; i++) {
        size_t n = rows[i] * w;
        cl_gemm_memory(c, 0, 0, (size_t)co, n, k, k, n, hw, 0, 0, off[i], scratch);
        cl_gemm_memory(c, 1, 0, k, n, (size_t)co, k, hw, n, 0, off[i], 0, scratch);
    }
}

const cl_conv_algo cl_conv_algos[] = {
    { "gemm", gemm_fwd, gemm_bwd, 0, gemm_memory, 2 },
    { "direct", cl_direct_fwd, cl_direct_bwd, 0, cl_direct_memory, 1 },
    /* Plain Winograd only when forced: the measured choice times small shapes,
     * where it wins on every class, but at 256-512 px it loses 2x on the
     * shallow layers (clstyle-convbench) and its rounding there moved the
     * OpenCL-vs-reference L-BFGS run 3e-4 apart by iteration 2 (e2e-backends). */
    { "winograd", cl_wino_fwd, cl_wino_bwd, 1, cl_wino_memory, 0 },
    { "direct+winograd", cl_hybrid_fwd, cl_hybrid_bwd, 0, cl_hybrid_memory, 0 },
};
const int cl_n_conv_algos = (int)(sizeof cl_conv_algos / sizeof *cl_conv_algos);

int cl_conv_find(const char *name)
{
    for (int i = 0; i < cl_n_conv_algos; i++)
        if (!strcasecmp(cl_conv_algos[i].name, name)) return i;
    return -1;
}

/* The algorithm for ci input channels: the one chosen, unless the planner's
 * conv_lean asks for less memory (the fallbacks keep fewer copies: direct
 * 1x the weights per direction, im2col + GEMM none). */
static const cl_conv_algo *algo_for(const cs_backend *be, int ci)
{
    const cl_conv_algo *a = &cl_conv_algos[((const cl_be *)be)->conv_algo[cl_conv_class(ci)]];
    if (a->lean >= be->conv_lean) return a;
    return &cl_conv_algos[cl_conv_find(be->conv_lean >= 2 ? "gemm" : "direct")];
}

void cl_conv_memory(cs_backend *be, int ci, int co, int h, int w, size_t *prep, size_t *scratch)
{
    algo_for(be, ci)->memory(CB(be), ci, co, h, w, prep, scratch);
}

clstyle_status cl_conv3x3(cs_backend *be, cs_buf *x, cs_buf *wt, cs_buf *y, int ci, int co, int h, int w)
{
    CB(be)->conv_flop += 18.0 * ci * co * h * w;
    return algo_for(be, ci)->fwd(CB(be), x, wt, y, ci, co, h, w);
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
    return algo_for(be, ci)->bwd(CB(be), dy, wt, dx, ci, co, h, w);
}
