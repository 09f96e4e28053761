/* Winograd F(2x2, 3x3) convolution (Lavin and Gray, 2016): each 2x2 output
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
    int op = (n_out + ob - 1) / ob * ob, o = get_global_id(0) % op, c = get_global_id(0) / op;
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
    size_t at = ((size_t)(o / ob) * n_in + c) * ob + o % ob;
    for (int xi = 0; xi < 16; xi++) u[(size_t)xi * n_in * op + at] = r[xi];
}

/* v (16, tp / 16, n_in, 16): v[xi][t / 16][c][t % 16] for the input tiles of
 * the band of tile rows [ty0, ty0 + nty) (tile t = (ty - ty0) * ntx + x, ntx =
 * ceil(w / 2)), each B^T d B of the 4x4 input patch at (2 ty - 1, 2 x - 1),
 * zero outside the image. Blocks of 16 tiles keep the product's reads
 * contiguous (a stride of a whole plane per channel costs a TLB miss each). */
__kernel void wino_in(__global const float *x, __global float *v, int n_in, int h, int w, int ty0, int nty, int tp)
{
    int tx = get_global_id(0), ty = get_global_id(1), c = get_global_id(2), ntx = (w + 1) / 2;
    if (tx >= ntx || ty >= nty || c >= n_in) return;
    int y0 = 2 * (ty0 + ty) - 1, x0 = 2 * tx - 1;
    __global const float *xc = x + (size_t)c * h * w;
    float d[16], t[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int yy = y0 + i, xx = x0 + j;
            d[4 * i + j] = yy >= 0 && yy < h && xx >= 0 && xx < w ? xc[(size_t)yy * w + xx] : 0.0f;
        }
    for (int j = 0; j < 4; j++) { /* t = B^T d: rows (1 0 -1 0), (0 1 1 0), (0 -1 1 0), (0 1 0 -1) */
        t[j] = d[j] - d[8 + j];
        t[4 + j] = d[4 + j] + d[8 + j];
        t[8 + j] = d[8 + j] - d[4 + j];
        t[12 + j] = d[4 + j] - d[12 + j];
    }
    int tile = ty * ntx + tx;
    size_t at = ((size_t)(tile / 16) * n_in + c) * 16 + tile % 16;
    for (int i = 0; i < 4; i++) { /* t B */
        float a = t[4 * i], b = t[4 * i + 1], e = t[4 * i + 2], f = t[4 * i + 3];
        float r[4] = { a - e, b + e, e - b, b - f };
        for (int j = 0; j < 4; j++) v[(size_t)(4 * i + j) * n_in * tp + at] = r[j];
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

/* y (n_out, h, w) for the band's tiles from m (16, tp / 16, op, 16): A^T m A, A^T rows (1 1 1 0), (0 1 -1 -1). */
__kernel void wino_out(__global const float *m, __global float *y, int n_out, int h, int w, int ty0, int nty, int op, int tp)
{
    int tx = get_global_id(0), ty = get_global_id(1), o = get_global_id(2), ntx = (w + 1) / 2;
    if (tx >= ntx || ty >= nty || o >= n_out) return;
    int tile = ty * ntx + tx;
    float s[16], t[8];
    size_t at = ((size_t)(tile / 16) * op + o) * 16 + tile % 16;
    for (int xi = 0; xi < 16; xi++) s[xi] = m[(size_t)xi * op * tp + at];
    for (int j = 0; j < 4; j++) {
        t[j] = s[j] + s[4 + j] + s[8 + j];
        t[4 + j] = s[4 + j] - s[8 + j] - s[12 + j];
    }
    float r[4] = { t[0] + t[1] + t[2], t[1] - t[2] - t[3], t[4] + t[5] + t[6], t[5] - t[6] - t[7] };
    int y0 = 2 * (ty0 + ty), x0 = 2 * tx;
    __global float *yo = y + ((size_t)o * h + y0) * w + x0;
    for (int i = 0; i < 2 && y0 + i < h; i++)
        for (int j = 0; j < 2 && x0 + j < w; j++) yo[(size_t)i * w + j] = r[2 * i + j];
}
