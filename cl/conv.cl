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
