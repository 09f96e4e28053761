/* Global ids are 64-bit where channels times a plane may pass 2^31. */
/* Convolution helpers around CLBlast's GEMM: im2col for the forward pass and
 * col2im for the gradient to the input. Both work on a band of output rows
 * [row0, row0 + rows) so the column buffer stays bounded. */

/* col (ci*9, rows*w): col[c*9+ky*3+kx][(i-row0)*w + j] = x[c][i+ky-1][j+kx-1] (0 outside). */
__kernel void im2col3x3(__global const float *x, __global float *col, int ci, int h, int w, int row0, int rows)
{
    int n = rows * w;
    size_t gid = get_global_id(0);
    if (gid >= (size_t)ci * n) return;
    int c = (int)(gid / n), p = (int)(gid - (size_t)c * n);
    int i = row0 + p / w, j = p - (p / w) * w;
    __global const float *xc = x + (size_t)c * h * w;
    __global float *out = col + (size_t)c * 9 * n + p;
    for (int ky = 0; ky < 3; ky++) {
        int yy = i + ky - 1;
        for (int kx = 0; kx < 3; kx++) {
            int xx = j + kx - 1;
            float v = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? xc[yy * w + xx] : 0.0f;
            out[(size_t)(ky * 3 + kx) * n] = v;
        }
    }
}

/* dx[c][p][q] (+)= sum over taps of dcol[c*9+ky*3+kx][(i-row0)*w + j], with
 * i = p-ky+1, j = q-kx+1 inside the band; launched over the rows the band
 * touches. accum = 0 overwrites (a single band covers the whole image). */
__kernel void col2im3x3(__global const float *dcol, __global float *dx, int ci, int h, int w, int row0, int rows,
                        int prow0, int prows, int accum)
{
    int n = rows * w;
    size_t gid = get_global_id(0);
    if (gid >= (size_t)ci * prows * w) return;
    int c = (int)(gid / ((size_t)prows * w)), r = (int)(gid - (size_t)c * prows * w);
    int p = prow0 + r / w, q = r - (r / w) * w;
    float s = 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        int i = p - ky + 1;
        if (i < row0 || i >= row0 + rows) continue;
        for (int kx = 0; kx < 3; kx++) {
            int j = q - kx + 1;
            if (j < 0 || j >= w) continue;
            s += dcol[(size_t)(c * 9 + ky * 3 + kx) * n + (i - row0) * w + j];
        }
    }
    size_t o = ((size_t)c * h + p) * w + q;
    dx[o] = accum ? dx[o] + s : s;
}

/* Direct convolution for CPU devices, where it is several times faster than
 * im2col + GEMM: each work-item computes 16 consecutive pixels of one row
 * (one float16 vector, which the CPU compilers map onto SIMD registers) for
 * COB output channels, from an input padded by pad1 below. */
#ifndef COB
#define COB 16
#endif

/* xp (c, h+2, wp) = x (c, h, w) with a zero border; wp = 16*ceil(w/16) + 2. */
__kernel void pad1(__global const float *x, __global float *xp, int c, int h, int w, int wp)
{
    size_t gid = get_global_id(0), plane = (size_t)(h + 2) * wp;
    if (gid >= (size_t)c * plane) return;
    size_t ch = gid / plane;
    int r = (int)(gid - ch * plane), i = r / wp - 1, j = r - (r / wp) * wp - 1;
    xp[gid] = (i >= 0 && i < h && j >= 0 && j < w) ? x[((size_t)ch * h + i) * w + j] : 0.0f;
}

/* Weight of output channel o, input channel c, tap t. The gradient to the
 * input is the same convolution with the weights transposed and flipped. */
inline float wtap(__global const float *wt, int flip, int o, int c, int n_out, int n_in, int t)
{
    return flip ? wt[((size_t)c * n_out + o) * 9 + 8 - t] : wt[((size_t)o * n_in + c) * 9 + t];
}

/* y (co, h, w) = conv3x3(xp) with weights wt; flip: wt is (ci, co, 3, 3) used
 * transposed and flipped. flip is a constant in each kernel below, so the
 * compiler specializes this body (a run-time flag here costs 3x). */
inline void conv3x3_direct(__global const float *xp, __global const float *wt, __global float *y, int ci, int co, int h, int w,
                           int wp, const int flip)
{
    int j = get_global_id(0) * 16, i = get_global_id(1), ob = get_global_id(2) * COB;
    float16 acc[COB];
    for (int o = 0; o < COB; o++) acc[o] = (float16)(0.0f);
    for (int c = 0; c < ci; c++) {
        /* The 9 shifted input vectors, named (an indexed array is slower on PoCL). */
        __global const float *x0 = xp + ((size_t)c * (h + 2) + i) * wp + j, *x1 = x0 + wp, *x2 = x1 + wp;
        float16 a0 = vload16(0, x0), a1 = vload16(0, x0 + 1), a2 = vload16(0, x0 + 2);
        float16 b0 = vload16(0, x1), b1 = vload16(0, x1 + 1), b2 = vload16(0, x1 + 2);
        float16 d0 = vload16(0, x2), d1 = vload16(0, x2 + 1), d2 = vload16(0, x2 + 2);
        for (int o = 0; o < COB; o++) {
            int oo = min(ob + o, co - 1); /* past the last channel: computed, never stored */
            float16 s = acc[o];
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 0)), a0, s);
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 1)), a1, s);
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 2)), a2, s);
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 3)), b0, s);
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 4)), b1, s);
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 5)), b2, s);
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 6)), d0, s);
            s = fma((float16)(wtap(wt, flip, oo, c, co, ci, 7)), d1, s);
            acc[o] = fma((float16)(wtap(wt, flip, oo, c, co, ci, 8)), d2, s);
        }
    }
    for (int o = 0; o < COB && ob + o < co; o++) {
        __global float *yo = y + ((size_t)(ob + o) * h + i) * w + j;
        if (j + 16 <= w) {
            vstore16(acc[o], 0, yo);
        } else {
            float tmp[16];
            vstore16(acc[o], 0, tmp);
            for (int t = 0; t < w - j; t++) yo[t] = tmp[t];
        }
    }
}

__kernel void conv3x3_direct_fwd(__global const float *xp, __global const float *wt, __global float *y, int ci, int co, int h,
                                 int w, int wp)
{
    conv3x3_direct(xp, wt, y, ci, co, h, w, wp, 0);
}

__kernel void conv3x3_direct_bwd(__global const float *xp, __global const float *wt, __global float *y, int ci, int co, int h,
                                 int w, int wp)
{
    conv3x3_direct(xp, wt, y, ci, co, h, w, wp, 1);
}
