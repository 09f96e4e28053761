/* Winograd convolution (Lavin and Gray, 2016), F(2x2, 3x3) first, F(4x4,
 * 3x3) at the end of the file. F(2x2, 3x3): each 2x2 output
 * tile costs 16 multiplications per input/output channel pair instead of 36.
 * Weights U = G g G^T (once per weight buffer), input tiles V = B^T d B, a
 * product per tile position xi (16 GEMMs summing over input channels), and
 * the output Y = A^T M A. Tiles run in bands of tile rows (scratch memory). */

/* u (16, op / ob, n_in, ob): u[xi][o / ob][c][o % ob] = (G g G^T)[xi] for the
 * weights from input channel c to output channel o (0 for o >= n_out; op =
 * n_out rounded up to ob), so a block of output channels reads one contiguous
 * run. flip: the gradient to the input (wt (n_in, n_out) transposed, flipped). */
__kernel void wino_wprep(__global const float *wt, __global float *u, int n_in, int n_out, int flip, int ob)
{
    /* remainders by subtraction: see conv_wprep */
    int op = (n_out + ob - 1) / ob * ob, c = get_global_id(0) / op, o = get_global_id(0) - c * op;
    if (c >= n_in) return;
    float g[9], t[12], r[16];
    /* Loads from a clamped channel, scaled by 0 past n_out: a CPU compiler may
     * load both sides of a select, so no address may leave the buffer. */
    int oc = min(o, n_out - 1);
    float keep = o < n_out ? 1.0f : 0.0f;
    for (int k = 0; k < 9; k++)
        g[k] = keep * (flip ? wt[((size_t)c * n_out + oc) * 9 + 8 - k] : wt[((size_t)oc * n_in + c) * 9 + k]);
    for (int j = 0; j < 3; j++) { /* t = G g: rows of G (1 0 0), (.5 .5 .5), (.5 -.5 .5), (0 0 1) */
        float a = g[j], b = g[3 + j], d = g[6 + j];
        t[j] = a;
        t[3 + j] = 0.5f * (a + b + d);
        t[6 + j] = 0.5f * (a - b + d);
        t[9 + j] = d;
    }
    for (int i = 0; i < 4; i++) { /* r = t G^T */
        float a = t[3 * i], b = t[3 * i + 1], d = t[3 * i + 2];
        r[4 * i] = a;
        r[4 * i + 1] = 0.5f * (a + b + d);
        r[4 * i + 2] = 0.5f * (a - b + d);
        r[4 * i + 3] = d;
    }
    int blk = o / ob;
    size_t at = ((size_t)blk * n_in + c) * ob + (o - blk * ob);
    for (int xi = 0; xi < 16; xi++) u[(size_t)xi * n_in * op + at] = r[xi];
}

/* Columns x0 .. x0 + 17 of row yy as a float16 and two scalars, zero outside the image. */
inline void cols18(__global const float *xc, int yy, int h, int w, int x0, float16 *v, float *e16, float *e17)
{
    if (yy < 0 || yy >= h) {
        *v = (float16)(0.0f);
        *e16 = *e17 = 0.0f;
        return;
    }
    __global const float *row = xc + (size_t)yy * w;
    if (x0 >= 0 && x0 + 18 <= w) {
        *v = vload16(0, row + x0);
        *e16 = row[x0 + 16];
        *e17 = row[x0 + 17];
        return;
    }
    float t[18];
    for (int k = 0; k < 18; k++) t[k] = x0 + k >= 0 && x0 + k < w ? row[x0 + k] : 0.0f;
    *v = vload16(0, t);
    *e16 = t[16];
    *e17 = t[17];
}

/* Offset of tile t of channel c in a (tp / 16, n, 16) plane of tiles. */
inline size_t tile_at(int t, int n, int c) { return ((size_t)(t / 16) * n + c) * 16 + t % 16; }

/* store8/load8 and store4/load4: tiles t0 .. t0 + n - 1 (n <= N) of channel
 * c, one vector access when they share a block of 16. */
#define TILE_IO(N)                                                                                                               \
    inline void store##N(__global float *p, float##N r, int t0, int n, int nc, int c)                                            \
    {                                                                                                                            \
        if (n == N && t0 % 16 <= 16 - N) {                                                                                       \
            vstore##N(r, 0, p + tile_at(t0, nc, c));                                                                             \
            return;                                                                                                              \
        }                                                                                                                        \
        float t[N];                                                                                                              \
        vstore##N(r, 0, t);                                                                                                      \
        for (int k = 0; k < n; k++) p[tile_at(t0 + k, nc, c)] = t[k];                                                            \
    }                                                                                                                            \
    inline float##N load##N(__global const float *p, int t0, int n, int nc, int c)                                               \
    {                                                                                                                            \
        if (n == N && t0 % 16 <= 16 - N) return vload##N(0, p + tile_at(t0, nc, c));                                            \
        float t[N] = { 0 };                                                                                                      \
        for (int k = 0; k < n; k++) t[k] = p[tile_at(t0 + k, nc, c)];                                                            \
        return vload##N(0, t);                                                                                                   \
    }
TILE_IO(8)
TILE_IO(4)

/* v (16, tp / 16, n_in, 16): v[xi][t / 16][c][t % 16] for the input tiles of
 * the band of tile rows [ty0, ty0 + nty) (tile t = (ty - ty0) * ntx + x, ntx =
 * ceil(w / 2)), each B^T d B of the 4x4 input patch at (2 ty - 1, 2 x - 1),
 * zero outside the image. Blocks of 16 tiles keep the product's reads
 * contiguous (a stride of a whole plane per channel costs a TLB miss each).
 * Each work-item transforms 8 neighbouring tiles from four 18-column rows,
 * with vectors: B^T down the columns, then B along the rows through the even
 * and odd columns; global (ceil(ntx / 8), nty, n_in). */
__kernel void wino_in(__global const float *x, __global float *v, int n_in, int h, int w, int ty0, int nty, int tp)
{
    int tx0 = get_global_id(0) * 8, ty = get_global_id(1), c = get_global_id(2), ntx = (w + 1) / 2;
    if (tx0 >= ntx || ty >= nty || c >= n_in) return;
    int y0 = 2 * (ty0 + ty) - 1, x0 = 2 * tx0 - 1;
    __global const float *xc = x + (size_t)c * h * w;
    float16 d0, d1, d2, d3;
    float a0, a1, a2, a3, b0, b1, b2, b3;
    cols18(xc, y0, h, w, x0, &d0, &a0, &b0);
    cols18(xc, y0 + 1, h, w, x0, &d1, &a1, &b1);
    cols18(xc, y0 + 2, h, w, x0, &d2, &a2, &b2);
    cols18(xc, y0 + 3, h, w, x0, &d3, &a3, &b3);
    /* B^T rows (1 0 -1 0), (0 1 1 0), (0 -1 1 0), (0 1 0 -1) */
    float16 t[4] = { d0 - d2, d1 + d2, d2 - d1, d1 - d3 };
    float ea[4] = { a0 - a2, a1 + a2, a2 - a1, a1 - a3 }, eb[4] = { b0 - b2, b1 + b2, b2 - b1, b1 - b3 };
    int t0 = ty * ntx + tx0, n = min(8, ntx - tx0);
    size_t plane = (size_t)n_in * tp;
    for (int i = 0; i < 4; i++) {
        float8 e = t[i].even, o = t[i].odd; /* columns 2k and 2k + 1 of tile k */
#ifndef CS_OCLGRIND
        float8 e2 = (float8)(e.s1234, e.s567, ea[i]), o2 = (float8)(o.s1234, o.s567, eb[i]);
#else
        /* As in direct.cl's row3: the same shift through private rows of 9, since
         * clang builds the vectors above from shuffles with undef lanes. */
        float se[9], so[9];
        vstore8(e, 0, se);
        vstore8(o, 0, so);
        se[8] = ea[i];
        so[8] = eb[i];
        float8 e2 = vload8(0, se + 1), o2 = vload8(0, so + 1);
#endif
        store8(v + (4 * i + 0) * plane, e - e2, t0, n, n_in, c);
        store8(v + (4 * i + 1) * plane, o + e2, t0, n, n_in, c);
        store8(v + (4 * i + 2) * plane, e2 - o, t0, n, n_in, c);
        store8(v + (4 * i + 3) * plane, o - o2, t0, n, n_in, c);
    }
}

/* m[xi][t / 16][o][t % 16] = sum over c of u[xi][o][c] v[xi][c][t]: 16 tiles
 * (one float16) times WOB output channels per work-item; global (tp / 16,
 * op / WOB, 16): neighbouring work-items share their block of u. Both operands are read as one contiguous run each. */
#ifndef WOB
#define WOB 16
#endif
__kernel void wino_gemm(__global const float *u, __global const float *v, __global float *m, int n_in, int op, int tp)
{
    int tb = get_global_id(0), ob = get_global_id(1), xi = get_global_id(2);
    float16 acc[WOB];
    for (int k = 0; k < WOB; k++) acc[k] = (float16)(0.0f);
    __global const float *uc = u + (size_t)xi * n_in * op + (size_t)ob * n_in * WOB;
    __global const float *vc = v + (size_t)xi * n_in * tp + (size_t)tb * n_in * 16;
    for (int c = 0; c < n_in; c++, uc += WOB, vc += 16) {
        float16 b = vload16(0, vc);
#pragma unroll
        for (int k = 0; k < WOB; k++) acc[k] = fma((float16)(uc[k]), b, acc[k]);
    }
    __global float *mo = m + (size_t)xi * op * tp + ((size_t)tb * op + ob * WOB) * 16;
    for (int k = 0; k < WOB; k++) vstore16(acc[k], 0, mo + (size_t)k * 16);
}

/* 16 output pixels of a row from x (left: pixels to the row's end), + the
 * bias of channel o if epi & 1, ReLU if epi & 2; one vector store when whole. */
inline void store_row(float16 row, __global float *yo, int left, __global const float *bias, int o, int epi)
{
    if (epi & 1) row += bias[o];
    if (epi & 2) row = fmax(row, 0.0f);
    if (left >= 16) {
        vstore16(row, 0, yo);
        return;
    }
    float t[16];
    vstore16(row, 0, t);
    for (int k = 0; k < left; k++) yo[k] = t[k];
}

/* y (n_out, h, w) for the band's tiles from m (16, tp / 16, op, 16): A^T m A,
 * A^T rows (1 1 1 0), (0 1 -1 -1), then + bias[o] if epi & 1 and the ReLU if
 * epi & 2; 8 neighbouring tiles per work-item as vectors, global
 * (ceil(ntx / 8), nty, n_out). */
__kernel void wino_out(__global const float *m, __global float *y, int n_out, int h, int w, int ty0, int nty, int op, int tp,
                       __global const float *bias, int epi)
{
    int tx0 = get_global_id(0) * 8, ty = get_global_id(1), o = get_global_id(2), ntx = (w + 1) / 2;
    if (tx0 >= ntx || ty >= nty || o >= n_out) return;
    int t0 = ty * ntx + tx0, n = min(8, ntx - tx0);
    size_t plane = (size_t)op * tp;
    float8 s[16];
    for (int xi = 0; xi < 16; xi++) s[xi] = load8(m + xi * plane, t0, n, op, o);
    float8 r[2][2];
    for (int i = 0; i < 2; i++) {
        float8 c0, c1, c2, c3; /* row i of A^T m, columns 0 .. 3 */
        if (i == 0) { c0 = s[0] + s[4] + s[8]; c1 = s[1] + s[5] + s[9]; c2 = s[2] + s[6] + s[10]; c3 = s[3] + s[7] + s[11]; }
        else { c0 = s[4] - s[8] - s[12]; c1 = s[5] - s[9] - s[13]; c2 = s[6] - s[10] - s[14]; c3 = s[7] - s[11] - s[15]; }
        r[i][0] = c0 + c1 + c2;
        r[i][1] = c1 - c2 - c3;
    }
    int y0 = 2 * (ty0 + ty), x0 = 2 * tx0;
    for (int i = 0; i < 2 && y0 + i < h; i++) {
        float8 p = r[i][0], q = r[i][1];
        float16 row = (float16)(p.s0, q.s0, p.s1, q.s1, p.s2, q.s2, p.s3, q.s3, p.s4, q.s4, p.s5, q.s5, p.s6, q.s6, p.s7, q.s7);
        store_row(row, y + ((size_t)o * h + y0 + i) * w + x0, w - x0, bias, o, epi);
    }
}

/* ---- F(4x4, 3x3) ----
 * Interpolation points 0, 1, -1, 2, -2 and infinity: each 4x4 output tile
 * costs 36 multiplications per input/output channel pair instead of 144, 4x
 * fewer (F(2x2, 3x3): 2.25x). Same scheme and layouts as above, with the same
 * helpers (cols18, tile_at) and product kernel (wino_gemm, with 36 planes):
 * U = G g G^T, V = B^T d B over 6x6 input patches, Y = A^T M A. The larger
 * transforms round more (their entries reach 8 and 1/24): the error is
 * measured against the reference in docs/benchmarks.md. */

/* v = B^T d for the six rows (or columns) d0 .. d5 of a patch. */
#define WINO4_BT(T, d0, d1, d2, d3, d4, d5, v)                                                                                    \
    do {                                                                                                                         \
        T p_ = d4 - 4.0f * d2, q_ = d3 - 4.0f * d1, r_ = d4 - d2, s_ = 2.0f * (d3 - d1);                                        \
        v[0] = 4.0f * d0 - 5.0f * d2 + d4;                                                                                      \
        v[1] = p_ + q_;                                                                                                          \
        v[2] = p_ - q_;                                                                                                          \
        v[3] = r_ + s_;                                                                                                          \
        v[4] = r_ - s_;                                                                                                          \
        v[5] = 4.0f * d1 - 5.0f * d3 + d5;                                                                                      \
    } while (0)

/* The four rows of A^T m for the six values m0 .. m5 of one column (or row). */
#define WINO4_AT(T, m0, m1, m2, m3, m4, m5, r)                                                                                    \
    do {                                                                                                                         \
        T a_ = m1 + m2, b_ = m1 - m2, c_ = m3 + m4, d_ = m3 - m4;                                                               \
        r[0] = m0 + a_ + c_;                                                                                                     \
        r[1] = b_ + 2.0f * d_;                                                                                                   \
        r[2] = a_ + 4.0f * c_;                                                                                                   \
        r[3] = b_ + 8.0f * d_ + m5;                                                                                              \
    } while (0)

/* u (36, op / ob, n_in, ob) as wino_wprep's, with G's rows (1/4 0 0),
 * -(1 1 1)/6, (-1 1 -1)/6, (1/24 1/12 1/6), (1/24 -1/12 1/6), (0 0 1).
 * Sixteen output channels o0 .. o0 + 15 of one input channel per
 * work-item, one lane each, so that each of the 36 planes gets a whole block
 * where ob is 16. At level one-copy, bands remake every copy in every
 * evaluation: one channel pair per work-item, in scalars, took 3.9x as long
 * (PoCL, 1024 px in 400 MiB). Global n_in * ceil(op / 16). */
__kernel void wino4_wprep(__global const float *wt, __global float *u, int n_in, int n_out, int flip, int ob)
{
    int op = (n_out + ob - 1) / ob * ob, nb = (op + 15) / 16;
    int ob16 = get_global_id(0) / n_in, c = get_global_id(0) - ob16 * n_in, o0 = ob16 * 16; /* remainders by subtraction: see conv_wprep */
    if (ob16 >= nb) return;
    float gl[9][16];
    for (int j = 0; j < 16; j++) {
        int o = o0 + j, oc = min(o, n_out - 1); /* a clamped load, scaled by 0: see wino_wprep */
        float keep = o < n_out ? 1.0f : 0.0f;
        for (int k = 0; k < 9; k++)
            gl[k][j] = keep * (flip ? wt[((size_t)c * n_out + oc) * 9 + 8 - k] : wt[((size_t)oc * n_in + c) * 9 + k]);
    }
    float16 t[18], r[36];
    for (int j = 0; j < 3; j++) { /* t = G g, 6x3 */
        float16 a = vload16(0, gl[j]), b = vload16(0, gl[3 + j]), d = vload16(0, gl[6 + j]);
        t[j] = 0.25f * a;
        t[3 + j] = -(a + b + d) / 6.0f;
        t[6 + j] = -(a - b + d) / 6.0f;
        t[9 + j] = a / 24.0f + b / 12.0f + d / 6.0f;
        t[12 + j] = a / 24.0f - b / 12.0f + d / 6.0f;
        t[15 + j] = d;
    }
    for (int i = 0; i < 6; i++) { /* r = t G^T, 6x6 */
        float16 a = t[3 * i], b = t[3 * i + 1], d = t[3 * i + 2];
        r[6 * i] = 0.25f * a;
        r[6 * i + 1] = -(a + b + d) / 6.0f;
        r[6 * i + 2] = -(a - b + d) / 6.0f;
        r[6 * i + 3] = a / 24.0f + b / 12.0f + d / 6.0f;
        r[6 * i + 4] = a / 24.0f - b / 12.0f + d / 6.0f;
        r[6 * i + 5] = d;
    }
    size_t plane = (size_t)n_in * op;
    if (ob == 16) { /* o0 .. o0 + 15 are one block: contiguous in every plane */
        size_t at = ((size_t)(o0 / 16) * n_in + c) * 16;
        for (int xi = 0; xi < 36; xi++) vstore16(r[xi], 0, u + xi * plane + at);
        return;
    }
    for (int xi = 0; xi < 36; xi++) {
        float lane[16];
        vstore16(r[xi], 0, lane);
        for (int j = 0; j < 16 && o0 + j < op; j++) {
            int o = o0 + j, blk = o / ob;
            u[xi * plane + ((size_t)blk * n_in + c) * ob + (o - blk * ob)] = lane[j];
        }
    }
}

/* v (36, tp / 16, n_in, 16) for the band of tile rows [ty0, ty0 + nty)
 * (tile t = (ty - ty0) * ntx + x, ntx = ceil(w / 4)): B^T d B of the 6x6
 * input patch at (4 ty - 1, 4 x - 1), zero outside the image. Each
 * work-item transforms 4 neighbouring tiles from six 18-column rows: B^T down
 * the columns as float16, then B along the rows with one float4 per patch
 * column across the 4 tiles; global (ceil(ntx / 4), nty, n_in). */
__kernel void wino4_in(__global const float *x, __global float *v, int n_in, int h, int w, int ty0, int nty, int tp)
{
    int tx0 = get_global_id(0) * 4, ty = get_global_id(1), c = get_global_id(2), ntx = (w + 3) / 4;
    if (tx0 >= ntx || ty >= nty || c >= n_in) return;
    int y0 = 4 * (ty0 + ty) - 1, x0 = 4 * tx0 - 1;
    __global const float *xc = x + (size_t)c * h * w;
    float16 d[6];
    float a[6], b[6];
    for (int i = 0; i < 6; i++) cols18(xc, y0 + i, h, w, x0, &d[i], &a[i], &b[i]);
    float16 t[6];
    float ta[6], tb[6];
    WINO4_BT(float16, d[0], d[1], d[2], d[3], d[4], d[5], t);
    WINO4_BT(float, a[0], a[1], a[2], a[3], a[4], a[5], ta);
    WINO4_BT(float, b[0], b[1], b[2], b[3], b[4], b[5], tb);
    int t0 = ty * ntx + tx0, n = min(4, ntx - tx0);
    size_t plane = (size_t)n_in * tp;
    for (int i = 0; i < 6; i++) {
#ifndef CS_OCLGRIND
        /* column j of tile k is element 4k + j of the row (16 and 17: ta, tb) */
        float4 c0 = t[i].s048c, c1 = t[i].s159d, c2 = t[i].s26ae, c3 = t[i].s37bf;
        float4 c4 = (float4)(t[i].s4, t[i].s8, t[i].sc, ta[i]), c5 = (float4)(t[i].s5, t[i].s9, t[i].sd, tb[i]);
        float4 r[6];
        WINO4_BT(float4, c0, c1, c2, c3, c4, c5, r);
        for (int j = 0; j < 6; j++) store4(v + (6 * i + j) * plane, r[j], t0, n, n_in, c);
#else
        /* One tile at a time through a private row: the vectors above are
         * shuffles with undef lanes, which Oclgrind 21.10 reports (see wino_in). */
        float row[18], r[6];
        vstore16(t[i], 0, row);
        row[16] = ta[i];
        row[17] = tb[i];
        for (int k = 0; k < n; k++) {
            const float *e = row + 4 * k;
            WINO4_BT(float, e[0], e[1], e[2], e[3], e[4], e[5], r);
            for (int j = 0; j < 6; j++) v[(6 * i + j) * plane + tile_at(t0 + k, n_in, c)] = r[j];
        }
#endif
    }
}

/* y (n_out, h, w) for the band's tiles from m (36, tp / 16, op, 16): A^T m A,
 * A^T rows (1 1 1 1 1 0), (0 1 -1 2 -2 0), (0 1 1 4 4 0), (0 1 -1 8 -8 1),
 * then the bias and ReLU as wino_out's epi says; 4 neighbouring tiles per
 * work-item, global (ceil(ntx / 4), nty, n_out). */
__kernel void wino4_out(__global const float *m, __global float *y, int n_out, int h, int w, int ty0, int nty, int op, int tp,
                        __global const float *bias, int epi)
{
    int tx0 = get_global_id(0) * 4, ty = get_global_id(1), o = get_global_id(2), ntx = (w + 3) / 4;
    if (tx0 >= ntx || ty >= nty || o >= n_out) return;
    int t0 = ty * ntx + tx0, n = min(4, ntx - tx0);
    size_t plane = (size_t)op * tp;
    float4 cols[4][6]; /* cols[i][j]: row i of A^T m, column j, across the 4 tiles */
    for (int j = 0; j < 6; j++) {
        float4 s[6], r[4];
        for (int k = 0; k < 6; k++) s[k] = load4(m + (6 * k + j) * plane, t0, n, op, o);
        WINO4_AT(float4, s[0], s[1], s[2], s[3], s[4], s[5], r);
        for (int i = 0; i < 4; i++) cols[i][j] = r[i];
    }
    int y0 = 4 * (ty0 + ty), x0 = 4 * tx0;
    for (int i = 0; i < 4 && y0 + i < h; i++) {
        float4 q[4];
        WINO4_AT(float4, cols[i][0], cols[i][1], cols[i][2], cols[i][3], cols[i][4], cols[i][5], q);
        /* pixel 4k + j of the row is q[j] of tile k */
#ifndef CS_OCLGRIND
        float16 row = (float16)(q[0].s0, q[1].s0, q[2].s0, q[3].s0, q[0].s1, q[1].s1, q[2].s1, q[3].s1, q[0].s2, q[1].s2, q[2].s2,
                                q[3].s2, q[0].s3, q[1].s3, q[2].s3, q[3].s3);
#else
        float p[16], qs[4][4]; /* as in wino4_in: no vectors built from lanes */
        for (int j = 0; j < 4; j++) vstore4(q[j], 0, qs[j]);
        for (int k = 0; k < 16; k++) p[k] = qs[k % 4][k / 4];
        float16 row = vload16(0, p);
#endif
        store_row(row, y + ((size_t)o * h + y0 + i) * w + x0, w - x0, bias, o, epi);
    }
}

/* Columns x0 .. x0 + 65 of row yy (four float16 and two scalars), zero outside the image. */
inline void cols66(__global const float *xc, int yy, int h, int w, int x0, float16 *v, float *e)
{
    if (yy < 0 || yy >= h) {
        for (int q = 0; q < 4; q++) v[q] = (float16)(0.0f);
        e[0] = e[1] = 0.0f;
        return;
    }
    __global const float *row = xc + (size_t)yy * w;
    if (x0 >= 0 && x0 + 66 <= w) {
        for (int q = 0; q < 4; q++) v[q] = vload16(q, row + x0);
        e[0] = row[x0 + 64];
        e[1] = row[x0 + 65];
        return;
    }
    /* Zeros first, then the columns inside: a select between a load and 0
     * per column read wrongly under Oclgrind 21.10's uninitialized checker. */
    float t[66];
    for (int k = 0; k < 66; k++) t[k] = 0.0f;
    for (int k = max(0, -x0); k < 66 && x0 + k < w; k++) t[k] = row[x0 + k];
    for (int q = 0; q < 4; q++) v[q] = vload16(q, t);
    e[0] = t[64];
    e[1] = t[65];
}

/* r[6 i + j] = (B^T d B)[i][j] for 16 neighbouring tiles at once, one lane
 * each, from the patch rows y0 .. y0 + 5 and columns x0 .. x0 + 65: B^T down
 * the columns, then B along the rows through columns 4k + j of lane k. */
inline void wino4_in_lanes(__global const float *xc, int h, int w, int y0, int x0, float16 *r)
{
    float16 d[6][4], bt[6][4];
    float e[6][2], be[6][2];
    for (int i = 0; i < 6; i++) cols66(xc, y0 + i, h, w, x0, d[i], e[i]);
    for (int q = 0; q < 4; q++) {
        float16 c[6];
        WINO4_BT(float16, d[0][q], d[1][q], d[2][q], d[3][q], d[4][q], d[5][q], c);
        for (int i = 0; i < 6; i++) bt[i][q] = c[i];
    }
    for (int k = 0; k < 2; k++) {
        float c[6];
        WINO4_BT(float, e[0][k], e[1][k], e[2][k], e[3][k], e[4][k], e[5][k], c);
        for (int i = 0; i < 6; i++) be[i][k] = c[i];
    }
    for (int i = 0; i < 6; i++) {
        float16 *t = bt[i];
        /* column j of tile k is element 4k + j of the row (64 and 65: be[i]) */
#ifndef CS_OCLGRIND
        float16 c0 = (float16)(t[0].s048c, t[1].s048c, t[2].s048c, t[3].s048c);
        float16 c1 = (float16)(t[0].s159d, t[1].s159d, t[2].s159d, t[3].s159d);
        float16 c2 = (float16)(t[0].s26ae, t[1].s26ae, t[2].s26ae, t[3].s26ae);
        float16 c3 = (float16)(t[0].s37bf, t[1].s37bf, t[2].s37bf, t[3].s37bf);
        float16 c4 = (float16)(t[0].s48c, t[1].s048c, t[2].s048c, t[3].s048c, be[i][0]);
        float16 c5 = (float16)(t[0].s59d, t[1].s159d, t[2].s159d, t[3].s159d, be[i][1]);
#else
        /* through a private row, as in wino4_in */
        float row[66], cj[6][16];
        for (int q = 0; q < 4; q++) vstore16(t[q], q, row);
        row[64] = be[i][0];
        row[65] = be[i][1];
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 16; k++) cj[j][k] = row[4 * k + j];
        float16 c0 = vload16(0, cj[0]), c1 = vload16(0, cj[1]), c2 = vload16(0, cj[2]);
        float16 c3 = vload16(0, cj[3]), c4 = vload16(0, cj[4]), c5 = vload16(0, cj[5]);
#endif
        WINO4_BT(float16, c0, c1, c2, c3, c4, c5, (r + 6 * i));
    }
}

/* Lane k of a block of 16 tiles starting at tile tx0 of its row: whether it
 * lies in the next row of tiles (a block may cross one: rows of ntx >= 16). */
inline int16 next_row_lanes(int tx0, int ntx)
{
    return (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) >= (int16)(ntx - tx0);
}

/* wino4_in with 16 neighbouring tiles per work-item (rows of at least 16
 * tiles): each of the 36 planes gets one whole block (a cache line) per
 * work-item instead of a quarter of one, which neighbouring work-items, often
 * on another core, completed (2x faster over VGG-19's layers on PoCL,
 * clstyle-convbench). A block that crosses into the next row of tiles is
 * transformed twice, once per row, and its lanes merged; tiles past the
 * band's last get zeros. Global (tp / 16, 1, n_in). */
__kernel void wino4_in16(__global const float *x, __global float *v, int n_in, int h, int w, int ty0, int nty, int tp)
{
    int t0 = get_global_id(0) * 16, c = get_global_id(2), ntx = (w + 3) / 4;
    if (t0 >= tp || c >= n_in) return;
    int ty = t0 / ntx, tx0 = t0 - ty * ntx;
    __global const float *xc = x + (size_t)c * h * w;
    float16 r[36];
    wino4_in_lanes(xc, h, w, 4 * (ty0 + ty) - 1, 4 * tx0 - 1, r);
    if (tx0 + 16 > ntx) {
        float16 s[36];
        /* lane k of the next row is its tile k - (ntx - tx0) */
        if (ty + 1 < nty) wino4_in_lanes(xc, h, w, 4 * (ty0 + ty + 1) - 1, 4 * (tx0 - ntx) - 1, s);
        else
            for (int p = 0; p < 36; p++) s[p] = (float16)(0.0f);
        int16 next = next_row_lanes(tx0, ntx);
        for (int p = 0; p < 36; p++) r[p] = select(r[p], s[p], next);
    }
    size_t plane = (size_t)n_in * tp, at = tile_at(t0, n_in, c);
    for (int p = 0; p < 36; p++) vstore16(r[p], 0, v + p * plane + at);
}

/* One output value with the bias of channel o if epi & 1, the ReLU if epi & 2. */
inline float epilogue(float v, __global const float *bias, int o, int epi)
{
    if (epi & 1) v += bias[o];
    return epi & 2 ? fmax(v, 0.0f) : v;
}

/* wino4_out with 16 neighbouring tiles per work-item, as wino4_in16: each
 * reads one whole block of each plane and writes 64 pixels of 4 rows; where
 * the block crosses into the next row of tiles, its last lanes go there.
 * Global (tp / 16, 1, n_out). */
__kernel void wino4_out16(__global const float *m, __global float *y, int n_out, int h, int w, int ty0, int nty, int op, int tp,
                          __global const float *bias, int epi)
{
    int t0 = get_global_id(0) * 16, o = get_global_id(2), ntx = (w + 3) / 4;
    if (t0 >= tp || o >= n_out) return;
    int ty = t0 / ntx, tx0 = t0 - ty * ntx, n1 = min(16, ntx - tx0); /* lanes in row ty */
    size_t plane = (size_t)op * tp, at = tile_at(t0, op, o);
    float16 cols[4][6]; /* cols[i][j]: row i of A^T m, column j, across the 16 tiles */
    for (int j = 0; j < 6; j++) {
        float16 s[6], r[4];
        for (int k = 0; k < 6; k++) s[k] = vload16(0, m + (6 * k + j) * plane + at);
        WINO4_AT(float16, s[0], s[1], s[2], s[3], s[4], s[5], r);
        for (int i = 0; i < 4; i++) cols[i][j] = r[i];
    }
    int y0 = 4 * (ty0 + ty), x0 = 4 * tx0, left = min(w - x0, 4 * n1);
    __global float *yc = y + (size_t)o * h * w;
    for (int i = 0; i < 4; i++) {
        float16 q[4], px[4];
        WINO4_AT(float16, cols[i][0], cols[i][1], cols[i][2], cols[i][3], cols[i][4], cols[i][5], q);
        /* pixel 4k + j of the 64 is q[j].sk */
#ifndef CS_OCLGRIND
#define LANES4(q, k) q[0].s##k, q[1].s##k, q[2].s##k, q[3].s##k
        px[0] = (float16)(LANES4(q, 0), LANES4(q, 1), LANES4(q, 2), LANES4(q, 3));
        px[1] = (float16)(LANES4(q, 4), LANES4(q, 5), LANES4(q, 6), LANES4(q, 7));
        px[2] = (float16)(LANES4(q, 8), LANES4(q, 9), LANES4(q, a), LANES4(q, b));
        px[3] = (float16)(LANES4(q, c), LANES4(q, d), LANES4(q, e), LANES4(q, f));
#undef LANES4
#else
        float qs[4][16], pf[64]; /* as in wino4_in: no vectors built from lanes */
        for (int j = 0; j < 4; j++) vstore16(q[j], 0, qs[j]);
        for (int k = 0; k < 64; k++) pf[k] = qs[k % 4][k / 4];
        for (int p = 0; p < 4; p++) px[p] = vload16(p, pf);
#endif
        if (y0 + i < h)
            for (int p = 0; p < 4; p++) store_row(px[p], yc + (size_t)(y0 + i) * w + x0 + 16 * p, left - 16 * p, bias, o, epi);
        if (n1 < 16 && ty + 1 < nty && y0 + 4 + i < h) { /* lanes n1 .. 15: tiles 0 .. of the next row */
            float pf[64];
            for (int p = 0; p < 4; p++) vstore16(px[p], p, pf);
            __global float *yn = yc + (size_t)(y0 + 4 + i) * w - 4 * n1;
            for (int k = 4 * n1; k < 64 && k - 4 * n1 < w; k++) yn[k] = epilogue(pf[k], bias, o, epi);
        }
    }
}
