/* Winograd F(2x2, 3x3) convolution (cl/winograd.cl): 2.25x fewer
 * multiplications than the direct kernel, at the price of transforms that
 * pass over the data (tiles 4x the input's size) and of rounding in them.
 * The weights are transformed once per buffer and direction (cl_prepared);
 * the tiles run in bands of tile rows so scratch memory stays within the
 * im2col band cap. */
#include "cl_be.h"

enum { WOB = 16, TILE_VEC = 16 }; /* output channels and tiles per work-item of wino_gemm */

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

static size_t wino_prep(int n_in, int n_out) { return (size_t)16 * round_up((size_t)n_out, WOB) * n_in; }

/* Tile rows per band: input tiles and products of a band together stay
 * within the band cap. *tiles: the tiles of the largest band, rounded up. */
static size_t band_rows(const cl_be *c, int n_in, int op, int h, int w, size_t *tiles)
{
    size_t ntx = (size_t)(w + 1) / 2, nty = (size_t)(h + 1) / 2;
    size_t per_row = 16 * (n_in + (size_t)op) * ntx, rows = c->band_bytes / sizeof(float) / per_row;
    rows = rows < 1 ? 1 : rows > nty ? nty : rows;
    *tiles = round_up(rows * ntx, TILE_VEC);
    return rows;
}

void cl_wino_memory(cl_be *c, int ci, int co, int h, int w, size_t *prep, size_t *scratch)
{
    *prep = wino_prep(ci, co) + wino_prep(co, ci);
    for (int flip = 0; flip < 2; flip++) {
        int n_in = flip ? co : ci, op = (int)round_up((size_t)(flip ? ci : co), WOB);
        size_t tiles;
        band_rows(c, n_in, op, h, w, &tiles);
        cs_raise(&scratch[CS_SCRATCH_COL], 16 * n_in * tiles);
        cs_raise(&scratch[CS_SCRATCH_WINO], 16 * op * tiles);
    }
}

/* flip: the backward (transposed weights, no bias or ReLU). */
static clstyle_status wino(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int n_in, int n_out, int h, int w, int relu,
                           int flip)
{
    int op = (int)round_up((size_t)n_out, WOB), ntx = (w + 1) / 2, nty = (h + 1) / 2;
    cl_mem u;
    CS_TRY(cl_prepared(c, wt, PREP_WINO + flip, c->k.wino_wprep, n_in, n_out, WOB, wino_prep(n_in, n_out), (size_t)op * n_in, &u));
    size_t tp_max, rows = band_rows(c, n_in, op, h, w, &tp_max);
    CS_TRY(cl_scratch(c, &c->col, &c->col_n, (size_t)16 * n_in * tp_max, "Winograd input tiles"));
    CS_TRY(cl_scratch(c, &c->wino_m, &c->wino_m_n, (size_t)16 * op * tp_max, "Winograd products"));
    cl_mem b = bias ? bias->m : u;
    int epi = cl_epilogue(bias, relu);
    for (int ty0 = 0; ty0 < nty; ty0 += (int)rows) {
        int band = ty0 + (int)rows <= nty ? (int)rows : nty - ty0, tp = (int)round_up((size_t)band * ntx, TILE_VEC);
        size_t g_in[3] = { (size_t)(ntx + 7) / 8, (size_t)band, (size_t)n_in };
        ARGS(c->k.wino_in, A(x->m), A(c->col), A(n_in), A(h), A(w), A(ty0), A(band), A(tp));
        CS_TRY(cl_run(c, c->k.wino_in, "wino input", 3, g_in, NULL));
        size_t g_mm[3] = { (size_t)tp / TILE_VEC, (size_t)op / WOB, 16 };
        ARGS(c->k.wino_gemm, A(u), A(c->col), A(c->wino_m), A(n_in), A(op), A(tp));
        CS_TRY(cl_run(c, c->k.wino_gemm, "wino products", 3, g_mm, NULL));
        size_t g_out[3] = { (size_t)(ntx + 7) / 8, (size_t)band, (size_t)n_out };
        ARGS(c->k.wino_out, A(c->wino_m), A(y->m), A(n_out), A(h), A(w), A(ty0), A(band), A(op), A(tp), A(b), A(epi));
        CS_TRY(cl_run(c, c->k.wino_out, "wino output", 3, g_out, NULL));
    }
    return CLSTYLE_OK;
}

clstyle_status cl_wino_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    return wino(c, x, wt, bias, y, ci, co, h, w, relu, 0);
}

clstyle_status cl_wino_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return wino(c, dy, wt, NULL, dx, co, ci, h, w, 0, 1);
}

/* Winograd where it wins, the direct kernel elsewhere (CPU devices). With
 * few channels the transforms, passes over 4x the input's size, cost more
 * than the multiplications they save: clstyle-convbench --cpu-time on PoCL
 * (AVX-512, VGG-19 at 256 px) gave Winograd 0.5-0.9x the direct kernel's
 * speed up to 128x128 channels and 1.2-1.9x from 128x256 on. */
static int wino_wins(int ci, int co) { return (long)ci * co >= 128L * 256; }

void cl_hybrid_memory(cl_be *c, int ci, int co, int h, int w, size_t *prep, size_t *scratch)
{
    (wino_wins(ci, co) ? cl_wino_memory : cl_direct_memory)(c, ci, co, h, w, prep, scratch);
}

clstyle_status cl_hybrid_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    return (wino_wins(ci, co) ? cl_wino_fwd : cl_direct_fwd)(c, x, wt, bias, y, ci, co, h, w, relu);
}

clstyle_status cl_hybrid_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return wino_wins(ci, co) ? cl_wino_bwd(c, dy, wt, dx, ci, co, h, w) : cl_direct_bwd(c, dy, wt, dx, ci, co, h, w);
}
