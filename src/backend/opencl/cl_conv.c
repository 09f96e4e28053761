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
 * The forward also adds the bias and applies the ReLU: in its stores where
 * the algorithm can, else by the bias_relu kernel after.
 * The memory planner may ask for fewer weight copies (cs_mem_mode.lean:
 * one at a time in cl_prepared, or none in algo_for) and asks what each
 * algorithm keeps (cl_conv_memory). Which
 * algorithm serves which shape class is cl_choose.c's measured choice. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "cl_be.h"

/* Rows per im2col band for k = ci*9 columns of width w (the planner may lower the cap). */
static size_t rows_for(const cl_be *c, int k, int h, int w)
{
    size_t r = c->band_bytes / 4 / ((size_t)k * w);
    return r < 1 ? 1 : r > (size_t)h ? (size_t)h : r;
}

static clstyle_status band_rows(cl_be *c, int k, int h, int w, int *rows)
{
    *rows = (int)rows_for(c, k, h, w);
    return cl_scratch(c, &c->col, &c->col_n, (size_t)*rows * k * w, "im2col band");
}

static clstyle_status gemm_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
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
    return bias || relu ? cl_bias_relu(&c->base, y, bias, co, h * w, relu) : CLSTYLE_OK;
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
static void gemm_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch)
{
    size_t k = (size_t)ci * 9, R = rows_for(c, (int)k, h, w), hw = (size_t)h * w;
    prep[0] = prep[1] = 0;
    cs_raise(&scratch[CS_SCRATCH_COL], R * k * w);
    size_t last = h % R ? h % R : R, rows[2] = { R, last }, off[2] = { 0, (h - last) * (size_t)w };
    for (int i = 0; i < 2; i++) {
        size_t n = rows[i] * w;
        cl_gemm_memory(c, 0, 0, (size_t)co, n, k, k, n, hw, 0, 0, off[i], scratch);
        cl_gemm_memory(c, 1, 0, k, n, (size_t)co, k, hw, n, 0, off[i], 0, scratch);
    }
}

const cl_conv_algo cl_conv_algos[] = {
    { "gemm", gemm_fwd, gemm_bwd, 0, gemm_memory, 0, 0 },
    { "direct", cl_direct_fwd, cl_direct_bwd, 0, cl_direct_memory, 1, 1u << CL_DIRECT },
    /* Plain Winograd only when forced: the measured choice times small shapes,
     * where it wins on every class, but at 256-512 px it loses 2x on the
     * shallow layers (clstyle-convbench) and its rounding there moved the
     * OpenCL-vs-reference L-BFGS run 3e-4 apart by iteration 2 (e2e-backends). */
    { "winograd", cl_wino_fwd, cl_wino_bwd, 1, cl_wino_memory, 1, 1u << CL_WINO },
    { "direct+winograd", cl_hybrid_fwd, cl_hybrid_bwd, 0, cl_hybrid_memory, 1, 1u << CL_DIRECT | 1u << CL_WINO },
    { "winograd4", cl_wino4_fwd, cl_wino4_bwd, 1, cl_wino4_memory, 1, 1u << CL_WINO },
    { "direct+winograd4", cl_hybrid4_fwd, cl_hybrid4_bwd, 0, cl_hybrid4_memory, 1, 1u << CL_DIRECT | 1u << CL_WINO },
};
const int cl_n_conv_algos = (int)(sizeof cl_conv_algos / sizeof *cl_conv_algos);

/* One shape per class, as the VGG layers with that many input channels have
 * at small image sizes: each costs 10-600 MFLOP (fwd + bwd), so the whole
 * measurement takes 1-2 s on PoCL (2 cores) and ~5-10 s on rusticl/llvmpipe,
 * besides compiling CLBlast's kernels, which the job would compile anyway.
 * Widths of 16 or more, as the direct kernel works on 16 pixels. The deep
 * classes have at least 32 tiles of F(4x4, 3x3) (256 output pixels): on
 * smaller shapes its three launches per pass and tiles padded to blocks of
 * 16 cost more than its products save, and the choice mispredicted the
 * pictures (16x4 at 512 channels: 2.3x the direct kernel's time there, 0.7x
 * on a 256 px picture's layers). The classes of 64 and 128 channels are 128
 * and 64 px wide, rows of 16 tiles of F(4x4) or more, so that its transforms
 * run as in pictures (wino4_in16): at 32 px they took the slower kernels for
 * narrow rows, and at 64x48 the choice between F(4x4) and the direct kernel
 * at 64 channels went either way from one run to the next (2.0 vs 2.6 ms,
 * 2.1 vs 1.8), where on a 256 px picture F(4x4) is 1.5x faster. */
const cl_conv_shape cl_conv_classes[CS_CONV_CLASSES] = {
    { "ci<=16", 16, 3, 64, 32, 32 },       { "ci<=64", 64, 64, 64, 64, 128 },    { "ci<=128", 128, 128, 128, 32, 64 },
    { "ci<=256", 256, 256, 256, 16, 32 },  { "ci>256", INT_MAX, 512, 512, 16, 16 },
};

int cl_conv_class(int ci)
{
    int k = 0;
    while (k + 1 < CS_CONV_CLASSES && ci > cl_conv_classes[k].max_ci) k++;
    return k;
}

const char *cl_conv_unusable(const cl_be *c, int a)
{
    for (int f = 0; f < CL_FAMILIES; f++)
        if ((cl_conv_algos[a].needs >> f & 1) && c->family_error[f][0]) return c->family_error[f];
    return NULL;
}

int cl_conv_find(const char *name)
{
    for (int i = 0; i < cl_n_conv_algos; i++)
        if (!strcasecmp(cl_conv_algos[i].name, name)) return i;
    return -1;
}

/* The algorithm for ci input channels: the one chosen, unless the planner's
 * level keeps smaller weight copies (direct-copy: the direct kernel's, the
 * weights' own size where Winograd's are 16/9 and 4 times it, wherever it
 * measured faster than im2col + GEMM) or none (gemm: im2col + GEMM, which
 * runs everywhere; on PoCL 10-30 times slower than the direct kernel). */
static const cl_conv_algo *algo_for(const cl_be *c, int ci)
{
    int cls = cl_conv_class(ci), gemm = cl_conv_find("gemm"), direct = cl_conv_find("direct");
    const cl_conv_algo *a = &cl_conv_algos[c->conv_algo[cls]];
    if (!a->copies || c->lean < 2) return a;
    int by_direct = c->lean == 2 && c->conv_rate[cls][direct] > c->conv_rate[cls][gemm];
    return &cl_conv_algos[by_direct ? direct : gemm];
}

/* Level chosen keeps both directions' copies with the weights (*prep); at
 * one copy at a time a layer raises the shared buffer to its larger direction. */
void cl_conv_memory(cs_backend *be, int ci, int co, int h, int w, size_t *prep, size_t *scratch)
{
    size_t two[2];
    algo_for(CB(be), ci)->memory(CB(be), ci, co, h, w, two, scratch);
    *prep = cl_one_copy(CB(be)) ? 0 : two[0] + two[1];
    if (cl_one_copy(CB(be))) cs_raise(&scratch[CS_SCRATCH_PREP], two[0] > two[1] ? two[0] : two[1]);
}

/* At the measured rate of the algorithm the mode uses on the shape's class;
 * one not timed there (skipped: predicted over 4x the best) at a quarter of
 * the best; 0 when nothing was timed (a forced algorithm). */
double cl_conv_seconds(cs_backend *be, int ci, int co, int h, int w)
{
    const double *rates = CB(be)->conv_rate[cl_conv_class(ci)];
    double rate = rates[algo_for(CB(be), ci) - cl_conv_algos], best = 0;
    for (int a = 0; a < cl_n_conv_algos; a++) best = rates[a] > best ? rates[a] : best;
    if (rate <= 0) rate = best / 4;
    return rate > 0 ? 18.0 * ci * co * h * w / (rate * 1e9) : 0;
}

clstyle_status cl_conv3x3(cs_backend *be, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    CB(be)->conv_flop += 18.0 * ci * co * h * w;
    return algo_for(CB(be), ci)->fwd(CB(be), x, wt, bias, y, ci, co, h, w, relu);
}

clstyle_status cl_conv3x3_bwd(cs_backend *be, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    CB(be)->conv_flop += 18.0 * ci * co * h * w;
    return algo_for(CB(be), ci)->bwd(CB(be), dy, wt, dx, ci, co, h, w);
}
