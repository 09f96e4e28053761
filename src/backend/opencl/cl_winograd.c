/* Winograd convolution, F(2x2, 3x3) and F(4x4, 3x3) (both in
 * cl/winograd.cl): 2.25x and 4x fewer multiplications than the direct
 * kernel, at the price of transforms that pass over the data (tiles 4x and
 * 2.25x the input's size) and of rounding in them. The weights are
 * transformed once per buffer and direction (cl_prepared); the tiles run in
 * bands of tile rows so scratch memory stays within the im2col band cap. Both
 * share the product kernel (wino_gemm, one plane per point of the tile). */
#include "cl_be.h"

enum { TILE_VEC = 16 }; /* tiles per work-item of wino_gemm (its output channels: c->wob) */

/* One variant: output tile m x m from input patches (m + 2) x (m + 2);
 * its weight transform makes prep_lanes output channels per work-item. */
typedef struct {
    int m, tiles_per_item, prep_slot, prep_lanes;
} wino_variant;

static const wino_variant F2 = { 2, 8, PREP_WINO, 1 }, F4 = { 4, 4, PREP_WINO4, 16 };

/* Its weight (0), input (1) and output (2) transform kernels. */
static cl_kernel kernel(const cl_be *c, const wino_variant *v, int i)
{
    const cl_kernel f2[3] = { c->k.wino_wprep, c->k.wino_in, c->k.wino_out }, f4[3] = { c->k.wino4_wprep, c->k.wino4_in, c->k.wino4_out };
    return v->m == 2 ? f2[i] : f4[i];
}

static size_t points(const wino_variant *v) { return (size_t)(v->m + 2) * (v->m + 2); }

/* Output channels per work-item of the products: WOB float16 accumulators
 * must stay in registers. 16 suits GPUs and AVX-512 (32 registers of 16
 * floats); with AVX2 (16 registers of 8, PoCL's native width 8) they spill,
 * and 4 ran F(4x4, 3x3) 1.6x faster over VGG-19's layers (docs/benchmarks.md). */
int cl_wino_block(const cs_cl_device *d)
{
    return d->type & CL_DEVICE_TYPE_CPU && d->native_float > 0 && d->native_float <= 8 ? 4 : 16;
}

static size_t wino_prep(const cl_be *c, const wino_variant *v, int n_in, int n_out)
{
    return points(v) * cl_round_up((size_t)n_out, (size_t)c->wob) * n_in;
}

/* Tile rows per band: input tiles and products of a band together stay
 * within the band cap. *tiles: the tiles of the largest band, rounded up. */
static size_t band_rows(const cl_be *c, const wino_variant *v, int n_in, int op, int h, int w, size_t *tiles)
{
    size_t ntx = (size_t)(w + v->m - 1) / v->m, nty = (size_t)(h + v->m - 1) / v->m;
    size_t per_row = points(v) * (n_in + (size_t)op) * ntx, rows = c->band_bytes / sizeof(float) / per_row;
    rows = rows < 1 ? 1 : rows > nty ? nty : rows;
    *tiles = cl_round_up(rows * ntx, TILE_VEC);
    return rows;
}

static void memory(cl_be *c, const wino_variant *v, int ci, int co, int h, int w, size_t prep[2], size_t *scratch)
{
    prep[0] = wino_prep(c, v, ci, co);
    prep[1] = wino_prep(c, v, co, ci);
    for (int flip = 0; flip < 2; flip++) {
        int n_in = flip ? co : ci, op = (int)cl_round_up((size_t)(flip ? ci : co), (size_t)c->wob);
        size_t tiles;
        band_rows(c, v, n_in, op, h, w, &tiles);
        cs_raise(&scratch[CS_SCRATCH_COL], points(v) * n_in * tiles);
        cs_raise(&scratch[CS_SCRATCH_WINO], points(v) * op * tiles);
    }
}

/* The work-group of wino4_in16 and wino4_out16: along up to 16 channels (a
 * power of two dividing n). Left to PoCL, it took 4 x 48 x 16 work-items,
 * whose private rows overflowed its threads' stacks. */
static size_t *wide_group(size_t l[3], int n)
{
    size_t low = (size_t)(n & -n);
    l[0] = l[1] = 1;
    l[2] = low < 16 ? low : 16;
    return l;
}

/* flip: the backward (transposed weights, no bias or ReLU). */
static clstyle_status wino(cl_be *c, const wino_variant *v, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int n_in, int n_out,
                           int h, int w, int relu, int flip)
{
    int op = (int)cl_round_up((size_t)n_out, (size_t)c->wob), ntx = (w + v->m - 1) / v->m, nty = (h + v->m - 1) / v->m;
    size_t np = points(v), items = (size_t)(ntx + v->tiles_per_item - 1) / v->tiles_per_item;
    cl_kernel k_in = kernel(c, v, 1), k_out = kernel(c, v, 2);
    cl_mem u;
    size_t prep_items = (size_t)n_in * ((size_t)(op + v->prep_lanes - 1) / (size_t)v->prep_lanes);
    CS_TRY(cl_prepared(c, wt, v->prep_slot + flip, kernel(c, v, 0), n_in, n_out, c->wob, wino_prep(c, v, n_in, n_out), prep_items, &u));
    size_t tp_max, rows = band_rows(c, v, n_in, op, h, w, &tp_max);
    CS_TRY(cl_scratch(c, &c->col, &c->col_n, np * n_in * tp_max, "Winograd input tiles"));
    CS_TRY(cl_scratch(c, &c->wino_m, &c->wino_m_n, np * op * tp_max, "Winograd products"));
    cl_mem b = bias ? bias->m : u;
    int epi = cl_epilogue(bias, relu);
    int wide = v->m == 4 && ntx >= 16; /* whole blocks of 16 tiles per work-item */
    if (wide) k_in = c->k.wino4_in16, k_out = c->k.wino4_out16;
    size_t l_in[3], l_out[3], *loc_in = wide ? wide_group(l_in, n_in) : NULL, *loc_out = wide ? wide_group(l_out, n_out) : NULL;
    for (int ty0 = 0; ty0 < nty; ty0 += (int)rows) {
        int band = ty0 + (int)rows <= nty ? (int)rows : nty - ty0, tp = (int)cl_round_up((size_t)band * ntx, TILE_VEC);
        size_t g_in[3] = { wide ? (size_t)tp / 16 : items, wide ? 1 : (size_t)band, (size_t)n_in };
        ARGS(k_in, A(x->m), A(c->col), A(n_in), A(h), A(w), A(ty0), A(band), A(tp));
        CS_TRY(cl_run(c, k_in, "wino input", 3, g_in, loc_in));
        size_t g_mm[3] = { (size_t)tp / TILE_VEC, (size_t)op / (size_t)c->wob, np };
        ARGS(c->k.wino_gemm, A(u), A(c->col), A(c->wino_m), A(n_in), A(op), A(tp));
        CS_TRY(cl_run(c, c->k.wino_gemm, "wino products", 3, g_mm, NULL));
        size_t g_out[3] = { wide ? (size_t)tp / 16 : items, wide ? 1 : (size_t)band, (size_t)n_out };
        ARGS(k_out, A(c->wino_m), A(y->m), A(n_out), A(h), A(w), A(ty0), A(band), A(op), A(tp), A(b), A(epi));
        CS_TRY(cl_run(c, k_out, "wino output", 3, g_out, loc_out));
    }
    return CLSTYLE_OK;
}

clstyle_status cl_wino_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    return wino(c, &F2, x, wt, bias, y, ci, co, h, w, relu, 0);
}

clstyle_status cl_wino_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return wino(c, &F2, dy, wt, NULL, dx, co, ci, h, w, 0, 1);
}

void cl_wino_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch)
{
    memory(c, &F2, ci, co, h, w, prep, scratch);
}

clstyle_status cl_wino4_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    return wino(c, &F4, x, wt, bias, y, ci, co, h, w, relu, 0);
}

clstyle_status cl_wino4_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return wino(c, &F4, dy, wt, NULL, dx, co, ci, h, w, 0, 1);
}

void cl_wino4_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch)
{
    memory(c, &F4, ci, co, h, w, prep, scratch);
}

/* Winograd where it wins, the direct kernel elsewhere (CPU devices). With
 * few channels the transforms, passes over 4x the input's size, cost more
 * than the multiplications they save: clstyle-convbench --cpu-time on PoCL
 * (AVX-512, VGG-19 at 256 px) gave Winograd 0.5-0.9x the direct kernel's
 * speed up to 128x128 channels and 1.2-1.9x from 128x256 on. */
static int wino_wins(int ci, int co) { return (long)ci * co >= 128L * 256; }

/* Whether a variant's prepared weights, one buffer per direction, fit in the
 * device's largest buffer (F(4x4, 3x3) at 512x512 channels: 36 MiB); where
 * they do not, the hybrids take the direct kernel for that layer. */
static int fits(const cl_be *c, const wino_variant *v, int ci, int co)
{
    size_t fwd = wino_prep(c, v, ci, co), bwd = wino_prep(c, v, co, ci), most = fwd > bwd ? fwd : bwd;
    return !c->base.max_alloc || most * sizeof(float) <= c->base.max_alloc;
}

static int hybrid_wino(const cl_be *c, int ci, int co) { return wino_wins(ci, co) && fits(c, &F2, ci, co); }

void cl_hybrid_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch)
{
    (hybrid_wino(c, ci, co) ? cl_wino_memory : cl_direct_memory)(c, ci, co, h, w, prep, scratch);
}

clstyle_status cl_hybrid_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    return (hybrid_wino(c, ci, co) ? cl_wino_fwd : cl_direct_fwd)(c, x, wt, bias, y, ci, co, h, w, relu);
}

clstyle_status cl_hybrid_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return hybrid_wino(c, ci, co) ? cl_wino_bwd(c, dy, wt, dx, ci, co, h, w) : cl_direct_bwd(c, dy, wt, dx, ci, co, h, w);
}

/* The same split with F(4x4, 3x3), from 64 channels on: with its transforms
 * 16 tiles per work-item it ran at 1.5x the direct kernel's speed at 64 -> 64
 * channels and 1.7x at 64 -> 128 (PoCL, AVX-512, clstyle-convbench --cpu-time
 * at 256 px), 2-3x from 128 on. Its rounding next to the pixels was feared:
 * with the 1/255 RMS first step the lock-step test measured loss terms 1.3e-6
 * and gradient 3.7e-5 apart (6.9e-7 and 4.0e-5 with the direct kernel at 64
 * channels). The 3 -> 64 layer (and its 64 -> 3 gradient) keeps the direct
 * kernel: with 3 channels the transforms cost more than they save. */
static int hybrid_wino4(const cl_be *c, int ci, int co) { return ci >= 64 && co >= 64 && fits(c, &F4, ci, co); }

void cl_hybrid4_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch)
{
    (hybrid_wino4(c, ci, co) ? cl_wino4_memory : cl_direct_memory)(c, ci, co, h, w, prep, scratch);
}

clstyle_status cl_hybrid4_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    return (hybrid_wino4(c, ci, co) ? cl_wino4_fwd : cl_direct_fwd)(c, x, wt, bias, y, ci, co, h, w, relu);
}

clstyle_status cl_hybrid4_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return hybrid_wino4(c, ci, co) ? cl_wino4_bwd(c, dy, wt, dx, ci, co, h, w) : cl_direct_bwd(c, dy, wt, dx, ci, co, h, w);
}
