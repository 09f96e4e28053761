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

/* Gather form: each input pixel takes its window's gradient if it is the
 * window's first maximum (same tie rule as the reference), so no atomics. */
__kernel void pool2x2_bwd(__global const float *x, __global const float *dy, __global float *dx, int c, int h, int w, int avg)
{
    int oh = h / 2, ow = w / 2;
    size_t gid = get_global_id(0), plane = (size_t)h * w;
    if (gid >= (size_t)c * plane) return;
    size_t ch = gid / plane;
    int r = (int)(gid - ch * plane), p = r / w, q = r - (r / w) * w;
    int i = p / 2, j = q / 2;
    if (i >= oh || j >= ow) { dx[gid] = 0.0f; return; }
    float g = dy[((size_t)ch * oh + i) * ow + j];
    if (avg) { dx[gid] = 0.25f * g; return; }
    __global const float *t = x + ((size_t)ch * h + 2 * i) * w + 2 * j;
    int best = 0;
    float bv = t[0];
    for (int d = 1; d < 4; d++) {
        float v = t[(d / 2) * w + d % 2];
        if (v > bv) { bv = v; best = d; }
    }
    int mine = (p - 2 * i) * 2 + (q - 2 * j);
    dx[gid] = mine == best ? g : 0.0f;
}
