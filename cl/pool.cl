/* 2x2 stride-2 pooling; the odd last row/column is dropped (torchvision).
 * A plane (h*w) stays below 2^31; channels times a plane may not. */

__kernel void pool2x2(__global const float *x, __global float *y, int c, int h, int w, int avg)
{
    int oh = h / 2, ow = w / 2;
    size_t gid = get_global_id(0), plane = (size_t)oh * ow;
    if (gid >= (size_t)c * plane) return;
    size_t ch = gid / plane;
    int r = (int)(gid - ch * plane), i = r / ow, j = r - (r / ow) * ow;
    __global const float *t = x + ((size_t)ch * h + 2 * i) * w + 2 * j;
    float a = t[0], b = t[1], d = t[w], e = t[w + 1];
    y[gid] = avg ? 0.25f * (a + b + d + e) : fmax(fmax(a, b), fmax(d, e));
}

/* One work-item per 2x2 block of x (global: ceil(w/2), ceil(h/2), c): it
 * routes the window's gradient to its first maximum (same tie rule as the
 * reference) and writes the block's four dx, so no atomics and no index
 * divisions per pixel. Blocks cut by an odd last row/column get zeros. */
__kernel void pool2x2_bwd(__global const float *x, __global const float *dy, __global float *dx, int c, int h, int w, int avg)
{
    int j = get_global_id(0), i = get_global_id(1), ch = get_global_id(2);
    int oh = h / 2, ow = w / 2;
    if (j >= (w + 1) / 2 || i >= (h + 1) / 2) return;
    size_t o = ((size_t)ch * h + 2 * i) * w + 2 * j;
    __global float *d = dx + o;
    if (i >= oh || j >= ow) { /* the dropped row or column: whatever part of the block exists */
        d[0] = 0.0f;
        if (2 * j + 1 < w) d[1] = 0.0f;
        if (2 * i + 1 < h) {
            d[w] = 0.0f;
            if (2 * j + 1 < w) d[w + 1] = 0.0f;
        }
        return;
    }
    float g = dy[((size_t)ch * oh + i) * ow + j];
    if (avg) {
        g *= 0.25f;
        d[0] = d[1] = d[w] = d[w + 1] = g;
        return;
    }
    __global const float *t = x + o;
    float a = t[0], b = t[1], e = t[w], f = t[w + 1];
    int best = 0;
    float bv = a;
    if (b > bv) { bv = b; best = 1; }
    if (e > bv) { bv = e; best = 2; }
    if (f > bv) best = 3;
    d[0] = best == 0 ? g : 0.0f;
    d[1] = best == 1 ? g : 0.0f;
    d[w] = best == 2 ? g : 0.0f;
    d[w + 1] = best == 3 ? g : 0.0f;
}
